//! The walkthrough under stress: many at once, and killed at random moments.
//!
//! The two tests take turns (each already loads the machine on its own).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use common::leftovers::{Lab, Machine};
use common::{netsh, public_script, repo, users, As};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

static TAKE_TURNS: Mutex<()> = Mutex::new(());

/// How many walkthroughs are killed, and how many of them run at once.
const KILLS: usize = 30;
const AT_ONCE: usize = 3;

fn walkthrough() -> PathBuf {
    public_script(&repo().join("scripts/walkthrough.rhai"))
}

/// Runs as the current user and (when root) as `nobody` by turns.
fn user_for(i: usize) -> As {
    let users = users();
    users[i % users.len()]
}

#[test]
fn eight_walkthroughs_at_once_all_pass() {
    let _turn = TAKE_TURNS.lock().unwrap_or_else(|p| p.into_inner());
    let script = walkthrough();
    let runs: Vec<_> = std::thread::scope(|s| {
        (0..8)
            .map(|i| {
                let script = &script;
                s.spawn(move || {
                    let user = user_for(i);
                    let run = netsh()
                        .user(user)
                        .args(["--color", "never"])
                        .arg(script.to_string_lossy())
                        .run();
                    (i, user, run)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("runner thread"))
            .collect()
    });
    let failed: Vec<String> = runs
        .iter()
        .filter(|(_, _, run)| run.code != 0 || !run.stdout.contains("every claim checked"))
        .map(|(i, user, run)| {
            format!(
                "walkthrough #{i} as {user:?}: exit {}\n{}\n{}",
                run.code, run.stdout, run.stderr
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 8 failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// The names of the links a `--trace` shows being made (`ip link add NAME …`, `peer name
/// NAME`, `ip link set NAME …`): if one of them turned up in the machine's own network
/// namespace, it would be the lab's.
fn traced_links(trace: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in trace.lines().filter(|l| l.starts_with("+ ip ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if matches!(pair[0], "add" | "name" | "dev" | "set") && pair[0] != pair[1] {
                names.insert(pair[1].trim_matches('\'').to_string());
            }
        }
    }
    names.remove("lo");
    names
}

/// What one killed run came to.
/// When a run is killed: after a while, or a while after netsh's first child process (a
/// container's relay and init, or a program) appeared.
#[derive(Debug, Clone, Copy)]
enum Moment {
    After(Duration),
    WithPrograms(Duration),
}

/// Whether process `pid` has a child, whichever of its threads started it.
fn has_children(pid: i32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|t| {
            std::fs::read_to_string(t.path().join("children")).is_ok_and(|c| !c.trim().is_empty())
        })
}

/// Whether process `pid` has ended (a zombie not reaped yet, or gone).
fn has_ended(pid: i32) -> bool {
    common::leftovers::stat_fields(pid)
        .and_then(|f| f.first().map(|state| state == "Z"))
        .unwrap_or(true)
}

enum Outcome {
    /// Killed halfway, with a lab of this many namespaces and processes.
    Killed { namespaces: usize, processes: usize },
    /// The walkthrough was over before its moment came.
    Finished,
}

/// Starts the walkthrough as `user`, kills it `moment` after the start, and waits until
/// nothing of its lab is left.
fn kill_at(user: As, moment: Moment, links: &BTreeSet<String>, before: &Machine) -> Outcome {
    let started = SystemTime::now();
    let child = netsh()
        .user(user)
        .args(["--color", "never"])
        .arg(walkthrough().to_string_lossy())
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn netsh");
    let pid = Pid::from_raw(child.id() as i32);
    // This wait is the experiment: it picks the moment of the kill.
    match moment {
        Moment::After(d) => std::thread::sleep(d),
        Moment::WithPrograms(d) => {
            while !has_children(pid.as_raw()) && !has_ended(pid.as_raw()) {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(d);
        }
    }
    // Stopped, netsh cannot make or drop anything while its lab is noted; SIGKILL then ends
    // it exactly there.
    kill(pid, Signal::SIGSTOP).expect("stop netsh");
    let lab = Lab::record(pid.as_raw(), started, links);
    kill(pid, Signal::SIGKILL).expect("kill netsh");
    let output = child.wait_with_output().expect("wait for netsh");
    match lab {
        Some(lab) => {
            lab.wait_gone(before);
            Outcome::Killed {
                namespaces: lab.namespaces.len(),
                processes: lab.processes.len(),
            }
        }
        None => {
            // It had ended on its own: then it must have passed.
            assert!(
                output.status.success(),
                "the walkthrough as {user:?} failed (or its lab could not be noted): {:?}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            Outcome::Finished
        }
    }
}

#[test]
fn sigkill_at_random_moments_leaves_nothing() {
    let _turn = TAKE_TURNS.lock().unwrap_or_else(|p| p.into_inner());
    let before = Machine::now();
    // One full run first, as the current user: how long the walkthrough takes here and now,
    // and the names of the links it makes.
    let start = Instant::now();
    let full = netsh()
        .args(["--color", "never", "--trace"])
        .arg(walkthrough().to_string_lossy())
        .run()
        .success();
    let length = start.elapsed();
    let links = traced_links(&full.stderr);
    assert!(
        links.contains("docker0") && links.contains("veth-ns1"),
        "the trace names the walkthrough's links: {links:?}"
    );
    let seed = common::seed("NETSH_KILL_SEED");
    let mut rng = fastrand::Rng::with_seed(seed);
    // A third spread over the whole run (three at once run slower than the measuring run),
    // a third over its second half, and a third the moment the lab's first program runs
    // (a container's init, late in the walkthrough, which takes a fifth of a second: kills
    // at random moments alone could all miss that window).
    let moments: Vec<Moment> = (0..KILLS)
        .map(|i| {
            let r = rng.f64();
            match i % 3 {
                0 => Moment::After(length.mul_f64(1.2 * r)),
                1 => Moment::After(length.mul_f64(0.5 + 0.7 * r)),
                _ => Moment::WithPrograms(Duration::from_millis(20).mul_f64(r)),
            }
        })
        .collect();
    println!(
        "seed {seed} (NETSH_KILL_SEED={seed} repeats it); the walkthrough took {length:?}; \
         kills at: {moments:?}"
    );
    let jobs = Mutex::new((0..KILLS).rev().collect::<Vec<usize>>());
    let outcomes: Vec<(usize, Outcome)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let Some(i) = jobs.lock().expect("jobs").pop() else {
                            return done;
                        };
                        let user = user_for(i);
                        println!("kill #{i} as {user:?} at {:?}", moments[i]);
                        done.push((i, kill_at(user, moments[i], &links, &before)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a kill failed; see its message above"))
            .collect()
    });
    let killed = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Killed { .. }))
        .count();
    let with_containers = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Killed { processes, namespaces } if *processes > 0 && *namespaces > 3))
        .count();
    println!(
        "{killed} of {KILLS} runs killed halfway ({with_containers} with programs running in \
         the lab), the others had finished"
    );
    // Killed at random moments over its measured length, nearly every run dies halfway
    // (three at once run slower than the measuring run), many of them with containers and
    // their programs up; none would mean the test lost its point.
    assert!(
        with_containers > 0,
        "no run was killed with its lab up (seed {seed})"
    );
}
