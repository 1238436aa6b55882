//! `cargo bench --bench lab`: how long netsh takes to build labs, against the alternative a
//! user would pick — a shell script of `ip` commands — measured in the same run.
//!
//! The shell side runs inside `unshare --user --map-root-user --net --mount` with a private
//! tmpfs on /run, so it needs no root and never touches the machine's network either.
//! Each figure is the median wall-clock time of whole processes (start-up included).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;
/// The long cases (1000 containers, 100 labs): fewer repetitions.
const LONG_RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(make: impl FnMut() -> Command) -> Duration {
    time_n(RUNS, make)
}

/// Before each timed run, netsh's or the shell's: a pause, so the run does not start while
/// the kernel is still dismantling the previous run's namespaces in the background (that
/// work holds the rtnl lock every namespace creation and netlink request waits for, and
/// made the second of two back-to-back 1000-container runs up to 30 % slower). There is no
/// interface that says when the kernel's `cleanup_net` is done, hence a fixed pause.
fn quiesce() {
    std::thread::sleep(Duration::from_secs(2));
}

fn time_n(n: usize, mut make: impl FnMut() -> Command) -> Duration {
    let runs = (0..n)
        .map(|_| {
            quiesce();
            let mut cmd = make();
            let start = Instant::now();
            let out = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .expect("spawn");
            let took = start.elapsed();
            assert!(
                out.status.success(),
                "benchmark run failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
        .collect();
    median(runs)
}

/// Where the benchmark's scripts are written: cargo's scratch directory under target/, never
/// /tmp; removed at the end of `main`.
fn scratch_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("netsh-bench-{}", std::process::id()))
}

/// Runs `make()`'s command `n` times; each run prints `PHASE name seconds` lines on stdout
/// (netsh scripts with `timestamp().elapsed`, shell scripts with `date +%s%N`). Returns the
/// median of each phase, in the order first printed.
fn phases_n(n: usize, mut make: impl FnMut() -> Command) -> Vec<(String, Duration)> {
    let mut all: Vec<(String, Vec<Duration>)> = Vec::new();
    for _ in 0..n {
        quiesce();
        let out = make()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("spawn");
        assert!(
            out.status.success(),
            "benchmark run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut w = line.split_whitespace();
            if w.next() != Some("PHASE") {
                continue;
            }
            let (Some(name), Some(secs)) = (w.next(), w.next().and_then(|s| s.parse().ok())) else {
                continue;
            };
            let d = Duration::from_secs_f64(secs);
            match all.iter_mut().find(|(p, _)| p == name) {
                Some((_, v)) => v.push(d),
                None => all.push((name.to_string(), vec![d])),
            }
        }
    }
    all.into_iter().map(|(p, v)| (p, median(v))).collect()
}

/// Prints each phase of `netsh_script` beside the same phase of `ip_script` (both print
/// `PHASE name seconds`, see [`phases_n`]).
fn compare_phases(runs: usize, shell_runs: usize, what: &str, netsh_script: &str, ip_script: &str) {
    let ours = phases_n(runs, || netsh(netsh_script));
    let theirs = if have_ip() {
        phases_n(shell_runs, || shell(ip_script))
    } else {
        Vec::new()
    };
    for (phase, d) in ours {
        let label = format!("{what}: {phase}");
        match theirs.iter().find(|(p, _)| *p == phase) {
            Some((_, t)) => println!(
                "{label:<48} netsh {}   shell   {}   ratio {:5.1}x",
                ms(d),
                ms(*t),
                t.as_secs_f64() / d.as_secs_f64()
            ),
            None => println!("{label:<48} netsh {}   shell: skipped", ms(d)),
        }
    }
}

/// Shell helpers for `PHASE` lines: `t0=$(now)` … `phase NAME $t0`.
const SHELL_CLOCK: &str = r#"now() { date +%s%N; }
phase() { echo "PHASE $1 $(echo "$(now) $2" | awk '{ printf "%.6f", ($1 - $2) / 1e9 }')"; }
"#;

/// What Docker does for a network and a container, as shell functions of `ip` commands:
/// `bridge NAME CIDR`; `container NS` (namespace, IPv6 off, lo up); `attach NS BRIDGE
/// HOST_IF IFNAME ADDR MAC [GATEWAY]` (a veth pair, host end on the bridge and up, the
/// container end's MAC, address and link, the default route).
const SHELL_CONTAINER: &str = r#"container() {
  ip netns add "$1"
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link set lo up
}
# attach NS BRIDGE HOST_IF IFNAME ADDR MAC [GATEWAY]
attach() {
  ip link add "$3" type veth peer name "$4" netns "$1"
  ip link set "$3" master "$2"
  ip link set "$3" up
  ip -n "$1" link set "$4" address "$6"
  ip -n "$1" addr add "$5" brd + dev "$4"
  ip -n "$1" link set "$4" up
  if [ -n "$7" ]; then ip -n "$1" route add default via "$7"; fi
}
bridge() {
  ip link add "$1" type bridge
  ip addr add "$2" brd + dev "$1"
  ip link set "$1" up
}
"#;

fn netsh(script: &str) -> Command {
    let dir = scratch_dir();
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join("bench.rhai");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(script.as_bytes()))
        .expect("write bench script");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsh"));
    cmd.arg(path);
    cmd
}

fn shell(script: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--net", "--mount", "sh", "-ec"])
        .arg(format!(
            "mount -t tmpfs tmpfs /run && mkdir -p /run/netns\n{script}"
        ));
    cmd
}

fn have_ip() -> bool {
    Command::new("ip")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1000.0)
}

fn compare(what: &str, netsh_script: &str, ip_script: &str) {
    compare_n(RUNS, what, netsh_script, ip_script)
}

fn compare_n(runs: usize, what: &str, netsh_script: &str, ip_script: &str) {
    let ours = time_n(runs, || netsh(netsh_script));
    if have_ip() {
        let theirs = time_n(runs, || shell(ip_script));
        println!(
            "{what:<48} netsh {}   ip script {}   ratio {:5.1}x",
            ms(ours),
            ms(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    } else {
        println!(
            "{what:<48} netsh {}   ip script: skipped (iproute2 not installed)",
            ms(ours)
        );
    }
}

fn main() {
    // `cargo bench --bench lab -- networks` runs that case alone (cargo passes `--bench`).
    if std::env::args().skip(1).any(|a| a == "networks") {
        networks();
        let _ = std::fs::remove_dir_all(scratch_dir());
        return;
    }
    if std::env::args().skip(1).any(|a| a == "labs") {
        walkthrough_and_small_labs();
        let _ = std::fs::remove_dir_all(scratch_dir());
        return;
    }
    let n = 200;
    println!("median of {RUNS} runs, whole processes, {n} namespaces where it says n");

    let chapter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/01-netns-veth.rhai"
    ))
    .expect("read chapter script");
    let took = time(|| netsh(&chapter));
    println!(
        "{:<48} netsh {}   (0.3 s of it is a ping that must time out)",
        "scripts/01-netns-veth.rhai",
        ms(took)
    );

    compare(
        "n namespaces, a veth pair each (one end in it)",
        &format!(
            "let h = host();\nfor i in 0..{n} {{ let ns = netns(`n${{i}}`); h.veth(`v${{i}}`, ns, \"eth0\"); }}"
        ),
        &format!(
            "for i in $(seq 1 {n}); do\n  ip netns add n$i\n  ip link add v$i type veth peer name eth0 netns n$i\ndone"
        ),
    );

    compare(
        "n namespaces, veth, address, both ends up",
        &format!(
            "let h = host();\nfor i in 0..{n} {{\n  let ns = netns(`n${{i}}`);\n  h.veth(`v${{i}}`, ns, \"eth0\");\n  ns.addr(\"eth0\", `10.${{i / 250}}.${{i % 250}}.2/24`);\n  ns.up(\"eth0\"); h.up(`v${{i}}`);\n}}"
        ),
        &format!(
            "i=0; while [ $i -lt {n} ]; do\n  ip netns add n$i\n  ip link add v$i type veth peer name eth0 netns n$i\n  ip -n n$i addr add 10.$((i / 250)).$((i % 250)).2/24 dev eth0\n  ip -n n$i link set dev eth0 up\n  ip link set dev v$i up\n  i=$((i + 1))\ndone"
        ),
    );

    let containers = 1000;
    println!(
        "{containers} containers on one user-defined network: median of {LONG_RUNS} netsh runs, \
         1 shell run (a minute each)"
    );
    compare_phases(
        LONG_RUNS,
        1,
        "1000 containers",
        &format!(
            "network(\"n1\");\n\
             let t = timestamp();\n\
             for i in 0..{containers} {{ run(`c${{i}}`, \"n1\"); }}\n\
             print(`PHASE create ${{t.elapsed}}`);\n\
             let t = timestamp();\n\
             for i in 0..{containers} {{ rm(`c${{i}}`); }}\n\
             network_rm(\"n1\");\n\
             print(`PHASE remove ${{t.elapsed}}`);"
        ),
        &docker_script(containers),
    );

    networks();

    let probes = 1000;
    println!("{probes} TCP probes from one container to a responder in another, median of {RUNS}");
    compare_phases(
        RUNS,
        1,
        "1000 TCP probes",
        &format!(
            "let n = network(\"n1\");\n\
             let srv = run(\"srv\", n);\n\
             let cli = run(\"cli\", n);\n\
             serve(srv, 8080);\n\
             let to = `${{srv.ip}}:8080`;\n\
             let t = timestamp();\n\
             for i in 0..{probes} {{ if !tcp(cli, to).ok {{ throw \"probe failed\"; }} }}\n\
             print(`PHASE probes ${{t.elapsed}}`);"
        ),
        &tcp_script(probes),
    );

    walkthrough_and_small_labs();
    let _ = std::fs::remove_dir_all(scratch_dir());
}

/// The walkthrough's lab and 100 small labs under `netsh test`, each beside its shell
/// script (`cargo bench --bench lab -- labs` runs these alone).
fn walkthrough_and_small_labs() {
    let walkthrough = walkthrough_without_failing_probes();
    let took = time(|| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsh"));
        cmd.arg(&walkthrough);
        cmd
    });
    let theirs = time(|| shell(&[SHELL_CONTAINER, TUTORIAL_SHELL].concat()));
    println!(
        "{:<48} netsh {}   ip script {}   ratio {:5.1}x   (the script builds the same kernel \
         objects and makes the same passing probes; netsh also checks names, exec and JSON)",
        "walkthrough without its failing probes",
        ms(took),
        ms(theirs),
        theirs.as_secs_f64() / took.as_secs_f64()
    );

    let labs = 100;
    let dir = small_labs(labs);
    let took = time_n(LONG_RUNS, || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsh"));
        cmd.arg("test").arg(&dir);
        cmd
    });
    let theirs = time_n(LONG_RUNS, || small_labs_shell(labs));
    println!(
        "{:<48} netsh {}   ip scripts {}   ratio {:5.1}x   (each lab a process of its own, 2 at a time)",
        format!("netsh test: {labs} labs, 2 containers + a ping"),
        ms(took),
        ms(theirs),
        theirs.as_secs_f64() / took.as_secs_f64()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_netsh"))
        .arg("test")
        .arg(&dir)
        .output()
        .expect("netsh test");
    if let Some(line) = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("lab start-up"))
    {
        println!("{:<48} {line}", "");
    }
}

/// The n-th Docker network, netsh beside the same `ip` and `nft` commands.
fn networks() {
    println!(
        "the n-th Docker network (bridge, address, firewall): 5 networks ending at the n-th, \
         median of {RUNS} netsh runs, 3 shell runs"
    );
    compare_phases(RUNS, 3, "networks", &networks_script(), &networks_shell());
}

/// Phases of the network benchmark: the 5 networks ending at each n, and the first 100.
const NETWORK_MARKS: [usize; 4] = [10, 50, 100, 200];

/// netsh: 200 `network()` calls (the default pools hold 31 networks, so each gets a subnet
/// of its own), timing the 5 calls that end at each mark, and the first 100 in all (from
/// the script's start); then, untimed, the networks go again.
fn networks_script() -> String {
    let starts: Vec<String> = NETWORK_MARKS.iter().map(|m| (m - 4).to_string()).collect();
    let ends: Vec<String> = NETWORK_MARKS.iter().map(|m| m.to_string()).collect();
    format!(
        "let all = timestamp();\n\
         let t = timestamp();\n\
         let starts = [{}]; let ends = [{}];\n\
         for i in 1..=200 {{\n\
           if starts.contains(i) {{ t = timestamp(); }}\n\
           network(`n${{i}}`, #{{subnet: `10.${{i}}.0.0/24`}});\n\
           if ends.contains(i) {{ print(`PHASE n=${{i}} ${{t.elapsed}}`); }}\n\
           if i == 100 {{ print(`PHASE first-100 ${{all.elapsed}}`); }}\n\
         }}\n\
         // Untimed: take the networks down here, so the kernel is not still dismantling\n\
         // 200 bridges (under its global rtnl lock) while the next run starts.\n\
         for i in 1..=200 {{ network_rm(`n${{i}}`); }}",
        starts.join(", "),
        ends.join(", ")
    )
}

/// The same with `ip` and `nft`, run by [`shell`] inside its own user and network namespace:
/// each network a bridge with its gateway address, up, and one `nft -f` with the statements
/// netsh sends (two chains, three rules, three elements) into the same table.
fn networks_shell() -> String {
    let marks: Vec<String> = NETWORK_MARKS.iter().map(|m| m.to_string()).collect();
    let starts: Vec<String> = NETWORK_MARKS.iter().map(|m| (m - 4).to_string()).collect();
    format!(
        r#"{SHELL_CLOCK}nft -f - <<'TABLE'
table ip docker {{
	set bridges {{ type ifname; }}
	map forward-from {{ type ifname : verdict; }}
	map forward-to {{ type ifname : verdict; }}
	map masquerade-from {{ type ifname : verdict; }}
	map tcp-published {{ type inet_service : verdict; }}
	map udp-published {{ type inet_service : verdict; }}
	chain publish {{
		iifname @bridges return
		meta l4proto tcp th dport vmap @tcp-published
		meta l4proto udp th dport vmap @udp-published
	}}
	chain forward {{ type filter hook forward priority 0; policy accept;
		iifname vmap @forward-from
		oifname vmap @forward-to
	}}
	chain prerouting {{ type nat hook prerouting priority -100; policy accept;
		fib daddr type local jump publish
	}}
	chain output {{ type nat hook output priority -100; policy accept;
		ip daddr != 127.0.0.0/8 fib daddr type local jump publish
	}}
	chain postrouting {{ type nat hook postrouting priority 100; policy accept;
		iifname vmap @masquerade-from
	}}
}}
TABLE
all=$(now)
i=1
while [ $i -le 200 ]; do
  case " {starts} " in *" $i "*) t0=$(now) ;; esac
  br=br-$i
  ip link add $br type bridge
  ip addr add 10.$i.0.1/24 brd + dev $br
  ip link set dev $br up
  nft -f - <<NET
add chain ip docker fwd-$br
add rule ip docker fwd-$br oifname "$br" accept
add rule ip docker fwd-$br oifname @bridges drop
add chain ip docker nat-$br
add rule ip docker nat-$br ip saddr 10.$i.0.0/24 oifname != "$br" masquerade
add element ip docker bridges {{ "$br" }}
add element ip docker forward-from {{ "$br" : jump fwd-$br }}
add element ip docker masquerade-from {{ "$br" : jump nat-$br }}
NET
  case " {marks} " in *" $i "*) phase n=$i $t0 ;; esac
  if [ $i -eq 100 ]; then phase first-100 $all; fi
  i=$((i + 1))
done
i=1
while [ $i -le 200 ]; do ip link del br-$i; i=$((i + 1)); done
"#,
        starts = starts.join(" "),
        marks = marks.join(" "),
    )
}

/// A copy of scripts/ in a scratch folder with the probes that must fail (and wait for
/// their timeouts) taken out; returns the copy of walkthrough.rhai.
fn walkthrough_without_failing_probes() -> std::path::PathBuf {
    let dir = scratch_dir().join("walk");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    for entry in std::fs::read_dir(&scripts).expect("read scripts/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rhai") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read script");
        let kept: String = text
            .lines()
            .filter(|l| {
                !(l.contains("assert_no_reach(")
                    || l.contains("assert(!tcp(")
                    || l.contains("assert(!p.ok)"))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join(path.file_name().expect("name")), kept).expect("write copy");
    }
    dir.join("walkthrough.rhai")
}

/// `n` lab scripts, each two containers on a network and a ping between them.
fn small_labs(n: usize) -> std::path::PathBuf {
    let dir = scratch_dir().join("labs");
    std::fs::create_dir_all(&dir).expect("bench dir");
    for i in 0..n {
        std::fs::write(
            dir.join(format!("lab{i:03}.rhai")),
            "let n = network(\"n1\");\n\
             let web = run(\"web\", n);\n\
             let db = run(\"db\", n);\n\
             assert_reach(web, db.ip);\n",
        )
        .expect("write lab");
    }
    dir
}

/// Two namespaces joined by a veth pair, a TCP server in one (python3, accepting and
/// closing), and `n` probes from the other as a shell user writes them: one `ip netns exec`
/// of bash's `/dev/tcp` each.
fn tcp_script(n: usize) -> String {
    format!(
        r#"{SHELL_CLOCK}ip netns add srv
ip netns add cli
ip link add v0 netns srv type veth peer name v1 netns cli
ip -n srv addr add 10.0.0.1/24 dev v0
ip -n cli addr add 10.0.0.2/24 dev v1
ip -n srv link set lo up
ip -n srv link set v0 up
ip -n cli link set v1 up
ip netns exec srv python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.1", 8080)); s.listen(128)
while True:
    c, _ = s.accept(); c.close()
' >/dev/null 2>&1 &
server=$!
until ip netns exec cli bash -c 'echo > /dev/tcp/10.0.0.1/8080' 2>/dev/null; do sleep 0.01; done
t0=$(now)
i=0
while [ $i -lt {n} ]; do
  ip netns exec cli bash -c 'echo > /dev/tcp/10.0.0.1/8080'
  i=$((i + 1))
done
phase probes $t0
kill $server
"#
    )
}

/// What `network()` + `run()` do for each container, as `ip` commands: a namespace with lo
/// up and IPv6 off, a veth pair with one end on the bridge, the container end's MAC,
/// address and link, the default route; then removal, waiting until the kernel has
/// dismantled every veth (netsh's `network_rm` waits for that too).
fn docker_script(n: usize) -> String {
    format!(
        r#"{SHELL_CLOCK}{SHELL_CONTAINER}bridge br0 172.18.0.1/16
t0=$(now)
i=2
while [ $i -lt {end} ]; do
  a=$((i / 256)); b=$((i % 256))
  container c$i
  attach c$i br0 veth$i eth0 172.18.$a.$b/16 02:42:ac:12:$(printf %02x $a):$(printf %02x $b) 172.18.0.1
  i=$((i + 1))
done
phase create $t0
t0=$(now)
i=2
while [ $i -lt {end} ]; do
  ip netns del c$i
  i=$((i + 1))
done
while [ -n "$(ip -o link show type veth)" ]; do sleep 0.01; done
ip link del br0
phase remove $t0
"#,
        end = n + 2
    )
}

/// One small lab as a shell script (after [`SHELL_CONTAINER`]): a bridge, two containers on
/// it, a ping from one to the other.
const SMALL_LAB_SHELL: &str = r#"bridge br0 172.18.0.1/16
for i in 2 3; do
  container c$i
  attach c$i br0 veth$i eth0 172.18.0.$i/16 02:42:ac:12:00:0$i 172.18.0.1
done
ip netns exec c2 busybox ping -c1 -W1 172.18.0.3 >/dev/null
"#;

/// `n` small labs as shell scripts, two at a time (as `netsh test -j 2` on this machine),
/// each in a user and network namespace of its own.
fn small_labs_shell(n: usize) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-ec").arg(format!(
        "seq {n} | xargs -P 2 -I{{}} unshare --user --map-root-user --net --mount sh -ec \
         'mount -t tmpfs tmpfs /run && mkdir -p /run/netns\n{}'",
        [SHELL_CONTAINER, SMALL_LAB_SHELL]
            .concat()
            .replace('\'', "'\\''")
    ));
    cmd
}

/// The tutorial's lab as a shell script of `ip`, `nft` and busybox commands: the same
/// namespaces, veths, bridges, containers (namespace, lo up, IPv6 off, veth on a bridge,
/// MAC, address, default route), Docker's isolation between bridges and a published port,
/// and the walkthrough's passing probes (pings, an HTTP GET through the published port).
/// Names, `/etc/hosts`, DNS and Docker's JSON have no shell equivalent and are left out.
const TUTORIAL_SHELL: &str = r#"ping1() { ip netns exec "$1" busybox ping -c1 -W1 "$2" >/dev/null; }
# Network namespaces and veth pairs
ip netns add ns1
ip netns add ns2
ip link add veth-ns1 type veth peer name veth-ns2
ip link set veth-ns1 netns ns1
ip link set veth-ns2 netns ns2
ip -n ns1 addr add 192.168.1.1/24 dev veth-ns1
ip -n ns2 addr add 192.168.1.2/24 dev veth-ns2
ip -n ns1 link set veth-ns1 up
ip -n ns2 link set veth-ns2 up
ping1 ns1 192.168.1.2
ping1 ns2 192.168.1.1
# docker0, the default bridge, Docker's firewall
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1
bridge docker0 172.17.0.1/16
nft -f - <<'TABLE'
table ip docker {
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname "docker0" oifname "br-bridge2" drop
    iifname "br-bridge2" oifname "docker0" drop
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    fib daddr type local tcp dport 8081 dnat to 172.17.0.5:8080
  }
  chain output {
    type nat hook output priority -100; policy accept;
    fib daddr type local tcp dport 8081 dnat to 172.17.0.5:8080
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip saddr 172.17.0.0/16 oifname != "docker0" masquerade
    ip saddr 172.18.0.0/16 oifname != "br-bridge2" masquerade
  }
}
TABLE
container mytom
attach mytom docker0 veth0001 eth0 172.17.0.2/16 02:42:ac:11:00:02 172.17.0.1
ping1 mytom 172.17.0.1
busybox ping -c1 -W1 172.17.0.2 >/dev/null
# User-defined bridge networks, multi-network containers
bridge br-bridge2 172.18.0.1/16
container bb
attach bb br-bridge2 veth0002 eth0 172.18.0.2/16 02:42:ac:12:00:02 172.18.0.1
container bb1
attach bb1 docker0 veth0003 eth0 172.17.0.3/16 02:42:ac:11:00:03 172.17.0.1
attach bb1 br-bridge2 veth0004 eth1 172.18.0.3/16 02:42:ac:12:00:03
ping1 bb 172.18.0.3
ping1 bb1 172.18.0.2
ping1 bb1 172.17.0.2
# --link, container:, none, host
container bb2
attach bb2 docker0 veth0005 eth0 172.17.0.4/16 02:42:ac:11:00:04 172.17.0.1
ping1 bb2 172.17.0.3
ping1 bb1 172.17.0.4
container bb3
# Publishing ports
container web
attach web docker0 veth0006 eth0 172.17.0.5/16 02:42:ac:11:00:05 172.17.0.1
mkdir -p /run/www && echo hello > /run/www/index.html
ip netns exec web busybox httpd -f -p 8080 -h /run/www &
server=$!
tries=0
until busybox wget -q -O /dev/null http://172.17.0.1:8081/ 2>/dev/null; do
  tries=$((tries + 1)); [ $tries -lt 1000 ]; sleep 0.01
done
busybox wget -q -O /dev/null http://172.17.0.5:8080/
kill $server
"#;
