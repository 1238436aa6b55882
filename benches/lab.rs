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
/// The 1000-container case takes a minute per shell run: fewer repetitions.
const LONG_RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(make: impl FnMut() -> Command) -> Duration {
    time_n(RUNS, make)
}

fn time_n(n: usize, mut make: impl FnMut() -> Command) -> Duration {
    let runs = (0..n)
        .map(|_| {
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
    println!("median of {LONG_RUNS} runs for {containers} containers on one user-defined network");
    compare_n(
        LONG_RUNS,
        "1000 containers: build, then remove all",
        &format!(
            "network(\"n1\");\n\
             for i in 0..{containers} {{ run(`c${{i}}`, \"n1\"); }}\n\
             for i in 0..{containers} {{ rm(`c${{i}}`); }}\n\
             network_rm(\"n1\");"
        ),
        &docker_script(containers),
    );
    let _ = std::fs::remove_dir_all(scratch_dir());
}

/// What `network()` + `run()` do for each container, as `ip` commands: a namespace with lo
/// up and IPv6 off, a veth pair with one end on the bridge, the container end's MAC,
/// address and link, the default route; then removal, waiting until the kernel has
/// dismantled every veth (netsh's `network_rm` waits for that too).
fn docker_script(n: usize) -> String {
    format!(
        r#"ip link add br0 type bridge
ip addr add 172.18.0.1/16 brd + dev br0
ip link set br0 up
i=2
while [ $i -lt {end} ]; do
  a=$((i / 256)); b=$((i % 256))
  ip netns add c$i
  ip netns exec c$i sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n c$i link set lo up
  ip link add veth$i type veth peer name eth0 netns c$i
  ip link set veth$i master br0
  ip link set veth$i up
  ip -n c$i link set eth0 address 02:42:ac:12:$(printf %02x $a):$(printf %02x $b)
  ip -n c$i addr add 172.18.$a.$b/16 brd + dev eth0
  ip -n c$i link set eth0 up
  ip -n c$i route add default via 172.18.0.1
  i=$((i + 1))
done
i=2
while [ $i -lt {end} ]; do
  ip netns del c$i
  i=$((i + 1))
done
while [ -n "$(ip -o link show type veth)" ]; do sleep 0.01; done
ip link del br0
"#,
        end = n + 2
    )
}
