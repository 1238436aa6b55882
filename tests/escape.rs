//! The lab is sealed, whoever starts netsh: a script that tries every way out — the
//! machine's kernel settings, its files, `ip netns add`, its unix sockets, PID 1's
//! namespaces — and a check from outside that the machine is unchanged afterwards.

mod common;

use std::io::ErrorKind;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::Path;

use common::{netsh, users, As};

/// Bait outside /tmp (which containers see fresh), where every user can reach it:
/// a world-writable file, a world-connectable socket.
struct Bait {
    dir: tempfile::TempDir,
    listener: UnixListener,
    abstract_listener: UnixListener,
    abstract_name: String,
}

impl Bait {
    fn new() -> Bait {
        let dir = tempfile::Builder::new()
            .prefix("netsh-escape-")
            .tempdir_in("/var/tmp")
            .expect("a folder under /var/tmp");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod bait folder");
        let file = dir.path().join("file");
        std::fs::write(&file, "original\n").expect("write bait file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let sock = dir.path().join("sock");
        let listener = UnixListener::bind(&sock).expect("bind bait socket");
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        listener.set_nonblocking(true).expect("nonblocking");
        let abstract_name = format!("netsh-escape-{}-{}", std::process::id(), fastrand());
        let addr = SocketAddr::from_abstract_name(abstract_name.as_bytes()).expect("abstract");
        let abstract_listener = UnixListener::bind_addr(&addr).expect("bind abstract socket");
        abstract_listener
            .set_nonblocking(true)
            .expect("nonblocking");
        Bait {
            dir,
            listener,
            abstract_listener,
            abstract_name,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Nobody connected to either socket.
    fn untouched(&self) {
        for l in [&self.listener, &self.abstract_listener] {
            match l.accept() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                other => panic!("a program in the lab reached a machine's socket: {other:?}"),
            }
        }
        assert_eq!(
            std::fs::read_to_string(self.path("file")).expect("bait file"),
            "original\n",
            "a program in the lab wrote a machine's file"
        );
    }
}

fn fastrand() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// What of the machine a lab could try to change.
#[derive(Debug, PartialEq)]
struct Machine {
    domainname: String,
    hostname: String,
    ip_forward: String,
    netns: Vec<String>,
}

fn machine() -> Machine {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let mut netns: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    netns.sort();
    Machine {
        domainname: read("/proc/sys/kernel/domainname"),
        hostname: read("/proc/sys/kernel/hostname"),
        ip_forward: read("/proc/sys/net/ipv4/ip_forward"),
        netns,
    }
}

fn escape_script(bait: &Bait, tag: &str) -> String {
    let file = bait.path("file");
    let sock = bait.path("sock");
    let abs = &bait.abstract_name;
    let python = Path::new("/usr/bin/python3").exists();
    let nsenter = has("nsenter");
    let ip = has("ip");
    format!(
        r#"
let c = run("esc1");
let h = host();
// 1. The machine's kernel settings.
for key in ["kernel.domainname", "kernel.hostname", "vm.swappiness", "fs.file-max"] {{
    let refused = false;
    try {{ h.sysctl(key, "1"); }} catch (e) {{ refused = `${{e}}`.contains("only net.*"); }}
    assert(refused, `sysctl ${{key}} must be refused`);
}}
for who in [c, h] {{
    for f in ["/proc/sys/kernel/domainname", "/proc/sys/kernel/hostname", "/proc/sys/vm/swappiness"] {{
        let w = exec(who, `sh -c 'echo 1 > ${{f}}'`);
        assert(w.code != 0, `a program wrote ${{f}}`);
    }}
}}
// 2. The machine's files: a world-writable one, /tmp, /run/netns.
for who in [c, h] {{
    exec(who, "sh -c 'echo escaped > {file}'");
    exec(who, "sh -c 'echo escaped >> {file}'");
    assert_eq(exec(who, "touch /tmp/{tag}").code, 0, "a container has a /tmp of its own");
    assert_eq(exec(who, "cat /tmp/{tag}").code, 0, "and keeps what it wrote there");
}}
if {ip} {{
    let add = exec(h, "ip netns add {tag}");
    assert_eq(add.code, 0, `ip netns add works inside: ${{add.stderr}}`);
    assert(exec(h, "ip netns list").stdout.contains("{tag}"));
    assert_eq(exec(c, "ip netns add {tag}").code, 0);
}}
// 3. PID 1 is the container's own init: its namespaces are the container's.
let mine = exec(c, "readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/uts").stdout;
assert_eq(exec(c, "readlink /proc/1/ns/net /proc/1/ns/mnt /proc/1/ns/uts").stdout, mine);
assert(exec(h, "readlink /proc/self/ns/net").stdout != exec(c, "readlink /proc/self/ns/net").stdout);
if {nsenter} {{
    let n = exec(c, "nsenter -t 1 -n -m -u -i readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/uts");
    assert_eq(n.stdout, mine, `nsenter -t 1 leads only into the container: ${{n.stderr}}`);
}}
// The container sees only its own processes.
let pids = exec(c, "sh -c 'ls /proc | grep -c \"^[0-9]*$\"'");
let count = pids.stdout; count.trim();
assert(parse_int(count) < 10, `container sees ${{count}} processes`);
// 4. The machine's unix sockets, by path and abstract.
if {python} {{
    for target in ["{sock}", "@{abs}"] {{
        // "@name" is an abstract socket, as ss prints them.
        let py = `/usr/bin/python3 -c 'import socket,sys; a=sys.argv[1]; a=chr(0)+a[1:] if a[0]=="@" else a; socket.socket(socket.AF_UNIX).connect(a)' '${{target}}'`;
        for who in [c, h] {{
            let r = exec(who, py);
            assert(r.code != 0, `connected to ${{target}}`);
            assert(r.stderr.contains("ConnectionRefusedError"), `${{target}}: ${{r.stderr}}`);
        }}
    }}
}}
print(exec(c, "cat /proc/self/uid_map").stdout);
"#
    )
}

#[test]
fn every_way_out_is_closed() {
    for user in users() {
        let bait = Bait::new();
        let tag = format!("netsh-escape-{}-{}", std::process::id(), fastrand());
        let before = machine();
        let run = netsh()
            .user(user)
            .args(["--color", "never", "-"])
            .stdin(&escape_script(&bait, &tag))
            .run()
            .success();
        // Root inside is an unprivileged identity outside: `nobody` when root started it,
        // the user otherwise.
        let map: Vec<&str> = run.stdout.split_whitespace().collect();
        let outside = match (user, common::is_root()) {
            (As::Me, true) | (As::Nobody, _) => "65534".to_string(),
            (As::Me, false) => nix::unistd::geteuid().to_string(),
        };
        assert_eq!(
            map,
            ["0", outside.as_str(), "1"],
            "uid_map inside: {}",
            run.stdout
        );
        assert_eq!(machine(), before, "the machine changed");
        assert!(
            !Path::new(&format!("/tmp/{tag}")).exists(),
            "/tmp/{tag} on the machine"
        );
        assert!(!Path::new(&format!("/run/netns/{tag}")).exists());
        bait.untouched();
    }
}
