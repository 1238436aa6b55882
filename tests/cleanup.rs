//! The cleanup promise: whatever way netsh ends — success, script error, SIGTERM, SIGINT or
//! SIGKILL halfway — no namespace, interface, mount or process it made survives.
//!
//! The checks run one at a time (this binary holds a lock): namespace inode numbers are
//! recycled by the kernel, so no other lab may be created while we look for leftovers.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{netsh, temp_script, users, As};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What the machine looks like from outside any lab.
#[derive(Debug, PartialEq)]
struct MachineState {
    links: BTreeSet<String>,
    run_netns: BTreeSet<String>,
    mounts: String,
}

fn machine_state() -> MachineState {
    let names = |dir: &str| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    MachineState {
        links: names("/sys/class/net"),
        run_netns: names("/run/netns"),
        mounts: std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
    }
}

/// `net:[N]`, `user:[N]` … targets of the namespace links and descriptors of `pid`.
fn namespaces_of(pid: i32) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut look = |dir: &Path| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if let Ok(t) = std::fs::read_link(e.path()) {
                    let t = t.to_string_lossy().into_owned();
                    if t.starts_with("net:[") || t.starts_with("user:[") {
                        out.insert(t);
                    }
                }
            }
        }
    };
    look(Path::new(&format!("/proc/{pid}/fd")));
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            look(&t.path().join("ns"));
        }
    }
    out
}

/// Every process on the machine that still holds one of `inodes`, or whose parent is `pid`.
fn survivors(inodes: &BTreeSet<String>, pid: i32) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(other) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // A zombie has ended; it only waits for its new parent (init) to reap it, which
        // may take a while, and its /proc entry still names its old namespaces.
        if !alive(other) {
            continue;
        }
        let held = namespaces_of(other);
        for ns in inodes.intersection(&held) {
            found.push(format!("pid {other} holds {ns}"));
        }
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{other}/stat")) {
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(pid) {
                found.push(format!("pid {other} is a child of netsh"));
            }
        }
    }
    found
}

/// Whether `pid` still runs: a zombie has ended and only waits for its new parent to reap it.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// Starts a script that builds a lab, prints READY, then waits; ends it by `end`; checks
/// that nothing remains.
fn check_cleanup(user: As, end: Option<Signal>, tail: &str) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let before = machine_state();
    let script = temp_script(
        &format!("cleanup-{}.rhai", std::process::id()),
        &format!(
            "let a = netns(\"a\"); let b = netns(\"b\");\n\
             a.veth(\"va\", b, \"vb\"); a.addr(\"va\", \"10.0.0.1/24\"); a.up(\"va\"); b.up(\"vb\");\n\
             host().bridge(\"br0\"); veth(\"h1\", \"h2\");\n\
             network(\"n1\"); let c = run(\"c1\", #{{network: \"n1\", publish: \"8081:80\"}}); serve(c, 80);\n\
             let bg = exec(c, \"sleep 600\", #{{detach: true}});\n\
             exec(c, \"sh -c 'setsid -f sleep 601 >/dev/null 2>&1'\");\n\
             print(`READY ${{bg.pid}}`);\nsleep(500);\n{tail}"
        ),
    );
    let mut child = netsh()
        .user(user)
        .arg(script.to_string_lossy())
        .command()
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn netsh");
    let pid = child.id() as i32;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let program: i32 = ready
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the lab did not come up: {ready:?}"));
    assert!(
        Path::new(&format!("/proc/{program}")).exists(),
        "the program started in the container is running"
    );
    // Freeze netsh while we note what it holds: a script that ends right after READY would
    // otherwise race us. (It sleeps a little first, so the stop lands before the end.)
    kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("stop netsh");
    let held = namespaces_of(pid);
    kill(Pid::from_raw(pid), Signal::SIGCONT).expect("continue netsh");
    assert!(
        held.iter().filter(|n| n.starts_with("net:")).count() >= 3,
        "netsh should hold the host and two namespaces: {held:?}"
    );
    if let Some(sig) = end {
        kill(Pid::from_raw(pid), sig).expect("signal netsh");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "netsh did not exit");
        std::thread::sleep(Duration::from_millis(5));
    };
    if end.is_none() && tail.is_empty() {
        assert!(status.success(), "{status:?}");
    }
    // The kernel frees namespaces asynchronously after the last reference goes; give it a
    // moment before declaring a leak.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut left = survivors(&held, pid);
        if alive(program) {
            left.push(format!(
                "the program started in the container (pid {program})"
            ));
        }
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        machine_state(),
        before,
        "the machine's own network or mounts changed"
    );
}

#[test]
fn nothing_survives_a_normal_exit() {
    for user in users() {
        check_cleanup(user, None, "");
    }
}

#[test]
fn nothing_survives_a_script_error() {
    for user in users() {
        check_cleanup(user, None, "fail(\"on purpose\");");
    }
}

#[test]
fn nothing_survives_sigkill_halfway() {
    for user in users() {
        check_cleanup(
            user,
            Some(Signal::SIGKILL),
            "sleep(60000);\nnetns(\"never\");",
        );
    }
}

#[test]
fn nothing_survives_sigterm_or_sigint() {
    for user in users() {
        check_cleanup(user, Some(Signal::SIGTERM), "sleep(60000);");
        check_cleanup(user, Some(Signal::SIGINT), "sleep(60000);");
    }
}
