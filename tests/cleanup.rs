//! The cleanup promise: whatever way netsh ends — success, script error, SIGTERM, SIGINT or
//! SIGKILL halfway — no namespace, interface, mount, file or process it made survives.
//!
//! What is checked is what this lab could have made (see `common::leftovers`), not the
//! whole machine: another netsh, a Docker engine or a compiler may add links, mounts and
//! files meanwhile, and the checks may run in parallel.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::time::{Duration, SystemTime};

use common::leftovers::{Lab, Machine, Proc};
use common::{netsh, temp_script, users, wait_for, As};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Starts a script that builds a lab, prints READY, then waits; ends it by `end`; checks
/// that nothing remains.
fn check_cleanup(user: As, end: Option<Signal>, tail: &str) {
    // The script lives a moment after READY so that the test can stop it and note its lab
    // first (the pause is the lab's lifetime, not a wait for something). On a machine so
    // loaded that the script ended before the stop, try again with a longer life.
    for linger in [500, 2000, 8000, 30000] {
        if try_cleanup(user, end, tail, linger) {
            return;
        }
        eprintln!("netsh ended before it could be stopped; again with {linger} ms more");
    }
    panic!("netsh always ended before the test could stop it");
}

/// One attempt of [`check_cleanup`]; false when netsh ended before it could be recorded.
fn try_cleanup(user: As, end: Option<Signal>, tail: &str, linger: u32) -> bool {
    let before = Machine::now();
    let name = format!(
        "cleanup-{}-{:?}-{}-{linger}.rhai",
        std::process::id(),
        end.map(|s| s as i32),
        tail.len()
    );
    let script = temp_script(
        &name,
        &format!(
            "let a = netns(\"a\"); let b = netns(\"b\");\n\
             a.veth(\"va\", b, \"vb\"); a.addr(\"va\", \"10.0.0.1/24\"); a.up(\"va\"); b.up(\"vb\");\n\
             host().bridge(\"br0\"); veth(\"h1\", \"h2\");\n\
             network(\"n1\"); let c = run(\"c1\", #{{network: \"n1\", publish: \"8081:80\"}}); serve(c, 80);\n\
             let bg = exec(c, \"sleep 600\", #{{detach: true}});\n\
             exec(c, \"sh -c 'setsid -f sleep 601 >/dev/null 2>&1'\");\n\
             print(`READY ${{bg.pid}}`);\nsleep({linger});\n{tail}"
        ),
    );
    let started = SystemTime::now();
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
    let program = Proc::of(program).expect("the program started in the container is running");
    // Freeze netsh while we note what it holds: a script that ends right after READY would
    // otherwise race us. (It sleeps a little first, so the stop lands before the end.)
    kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("stop netsh");
    let known: BTreeSet<String> = ["va", "vb", "br0", "h1", "h2", "docker0"]
        .into_iter()
        .map(String::from)
        .collect();
    let lab = Lab::record(pid, started, &known);
    kill(Pid::from_raw(pid), Signal::SIGCONT).expect("continue netsh");
    let Some(lab) = lab else {
        let _ = child.wait();
        return false;
    };
    assert!(
        lab.namespaces
            .iter()
            .filter(|n| n.starts_with("net:"))
            .count()
            >= 3,
        "netsh should hold the host and two namespaces: {:?}",
        lab.namespaces
    );
    assert!(
        lab.processes.contains(&program),
        "the program started in the container descends from netsh: {:?}",
        lab.processes
    );
    // The checks below see this lab while it runs: they cannot pass for want of looking.
    let seen = lab.leftovers(&before);
    assert!(
        seen.iter()
            .any(|l| l.starts_with(&format!("process {} ", program.pid))),
        "the running lab's program is not seen: {seen:?}"
    );
    if let Some(sig) = end {
        kill(Pid::from_raw(pid), sig).expect("signal netsh");
    }
    let status = wait_for("netsh exits", Duration::from_secs(60), || {
        child
            .try_wait()
            .expect("wait")
            .ok_or_else(|| "still running".to_string())
    });
    if end.is_none() && tail.is_empty() {
        assert!(status.success(), "{status:?}");
    }
    if end.is_none() {
        // Ending by itself, netsh ends and reaps every process it made, the containers'
        // inits and what runs in them included, before it exits: none is left for the
        // machine's reaper (which may come seconds later), nor keeps a namespace alive.
        let left: Vec<&Proc> = lab.processes.iter().filter(|p| p.alive()).collect();
        assert!(left.is_empty(), "still there as netsh exited: {left:?}");
    }
    // The kernel frees namespaces and the init reaps in their own time: wait for it.
    lab.wait_gone(&before);
    assert!(!program.alive(), "the program started in the container");
    true
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

/// `exec` of a program that does not exist, in 200 labs one after the other (four at a
/// time) on a machine loaded by two walkthroughs: every netsh ends with the error and leaves
/// nothing that holds its output (issue 7: the container's init could outlive netsh, holding
/// its pipes, so that whoever read them hung).
#[test]
fn exec_of_a_missing_program_200_times_leaves_nothing() {
    let walkthrough = common::public_script(&common::repo().join("scripts/walkthrough.rhai"));
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let load: Vec<_> = (0..2)
            .map(|_| s.spawn(|| netsh().arg(walkthrough.to_string_lossy()).run()))
            .collect();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 200 {
                        // run() fails, naming the leftover, when a pipe outlives netsh.
                        netsh()
                            .eval("let c = run(\"c1\"); exec(c, \"no-such-program-here\")")
                            .run()
                            .code(1)
                            .stderr_has("no-such-program-here");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("a run failed; see its message above");
        }
        for run in load {
            run.join().expect("walkthrough").success();
        }
    });
}
