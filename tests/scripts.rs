//! Every script under scripts/ is a test: it must pass as the current user and, when the
//! suite runs as root, as an unprivileged user too.

mod common;

use common::{netsh, public_script, scripts, temp_script, users, As};

#[test]
fn every_script_passes_for_every_user() {
    let scripts = scripts();
    assert!(!scripts.is_empty(), "no scripts under scripts/");
    // All at once: each run is its own lab, so they must not collide.
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = scripts
            .iter()
            .flat_map(|script| users().into_iter().map(move |u| (script, u)))
            .map(|(script, user)| {
                s.spawn(move || {
                    let run = netsh()
                        .user(user)
                        .args(["--color", "never"])
                        .arg(public_script(script).to_string_lossy())
                        .run();
                    (script.clone(), user, run)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("runner thread"))
            .collect()
    });
    let failed: Vec<String> = runs
        .iter()
        .filter(|(_, _, run)| run.code != 0)
        .map(|(script, user, run)| {
            format!(
                "{} as {user:?}: exit {}\n{}\n{}",
                script.display(),
                run.code,
                run.stdout,
                run.stderr
            )
        })
        .collect();
    assert!(failed.is_empty(), "scripts failed:\n{}", failed.join("\n"));
}

#[test]
fn two_labs_at_once_do_not_collide() {
    let script = public_script(&common::repo().join("scripts/01-netns-veth.rhai"));
    let runs: Vec<_> = std::thread::scope(|s| {
        (0..3)
            .map(|_| s.spawn(|| netsh().arg(script.to_string_lossy()).run()))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("runner"))
            .collect()
    });
    for run in runs {
        run.success();
    }
}

fn chapter_one() -> String {
    std::fs::read_to_string(common::repo().join("scripts/01-netns-veth.rhai"))
        .expect("read chapter script")
}

/// The 1-based line of `text` that is exactly `statement`.
fn line_of(text: &str, statement: &str) -> usize {
    text.lines()
        .position(|l| l.trim() == statement)
        .unwrap_or_else(|| panic!("the chapter script has no line {statement:?}"))
        + 1
}

/// One assertion of the chapter script flipped: the run fails with exit 1 and points at
/// the flipped line.
#[test]
fn a_flipped_assertion_fails_at_its_line() {
    let original = chapter_one();
    let needle = "assert_reach(ns1, \"192.168.1.2\");";
    let line = line_of(&original, needle);
    let flipped = original.replacen(needle, "assert_no_reach(ns1, \"192.168.1.2\");", 1);
    let path = temp_script("01-flipped.rhai", &flipped);
    for user in users() {
        netsh()
            .user(user)
            .args(["--color", "never"])
            .arg(path.to_string_lossy())
            .run()
            .code(1)
            .stderr_has("assertion failed: expected netns \"ns1\" not to reach 192.168.1.2")
            .stderr_has(&format!("01-flipped.rhai:{line}:1"))
            .stderr_has("1 packets transmitted, 1 received");
    }
}

/// The walkthrough imports the chapter scripts: a failure inside one points at the
/// chapter's own file and line, and says where it was imported.
#[test]
fn a_failure_inside_an_imported_chapter_points_into_it() {
    let repo = common::repo();
    let chapter = chapter_one();
    let needle = "assert_reach(ns2, \"192.168.1.1\");";
    let line = line_of(&chapter, needle);
    temp_script(
        "01-netns-veth.rhai",
        &chapter.replacen(needle, "assert_no_reach(ns2, \"192.168.1.1\");", 1),
    );
    let walkthrough =
        std::fs::read_to_string(repo.join("scripts/walkthrough.rhai")).expect("read walkthrough");
    let path = temp_script("walkthrough.rhai", &walkthrough);
    let dir = path.parent().expect("temp dir").display().to_string();
    netsh()
        .args(["--color", "never"])
        .arg(path.to_string_lossy())
        .run()
        .code(1)
        .stderr_has("expected netns \"ns2\" not to reach 192.168.1.1")
        .stderr_has(&format!("{dir}/01-netns-veth.rhai:{line}:1"))
        .stderr_has("in module \"01-netns-veth\" imported at");
}

#[test]
fn trace_prints_ip_commands_for_every_change() {
    let script = public_script(&common::repo().join("scripts/01-netns-veth.rhai"));
    let run = netsh()
        .user(if common::is_root() {
            As::Nobody
        } else {
            As::Me
        })
        .args(["--color", "never", "--trace"])
        .arg(script.to_string_lossy())
        .run()
        .success();
    for cmd in [
        "+ ip link set dev lo up",
        "+ ip netns add ns1",
        "+ ip netns add ns2",
        "+ ip link add veth-ns1 type veth peer name veth-ns2",
        "+ ip link set veth-ns1 netns ns1",
        "+ ip link set veth-ns2 netns ns2",
        "+ ip -n ns1 addr add 192.168.1.1/24 dev veth-ns1",
        "+ ip -n ns2 addr add 192.168.1.2/24 dev veth-ns2",
        "+ ip -n ns1 link set dev veth-ns1 up",
        "+ ip -n ns2 link set dev veth-ns2 up",
    ] {
        assert!(
            run.stderr.lines().any(|l| l == cmd),
            "trace lacks {cmd:?}:\n{}",
            run.stderr
        );
    }
    // Without --trace, nothing of the sort.
    let quiet = netsh().arg(script.to_string_lossy()).run().success();
    assert!(!quiet.stderr.contains("+ ip "), "{}", quiet.stderr);
}
