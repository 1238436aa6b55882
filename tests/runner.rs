//! `netsh test`: discovery, named tests in labs of their own, outcomes and exit codes,
//! formats (TAP, JUnit XML that parses), shards, filters, snapshots.

mod common;

use std::path::Path;

use common::{netsh, Run};

/// A suite folder with the given files (world-readable, removed afterwards).
fn suite(files: &[(&str, &str)]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("netsh-runner-")
        .tempdir()
        .expect("a temporary folder");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write test file");
    }
    dir
}

fn test(dir: &Path, args: &[&str]) -> Run {
    netsh()
        .args(["test", "--color", "never"])
        .args(args)
        .arg(dir.display().to_string())
        .run()
}

const MIXED: &str = r#"
let a = netns("a");
let b = netns("b");
a.veth("va", b, "vb");
a.addr("va", "10.9.0.1/24"); a.up("va");
b.addr("vb", "10.9.0.2/24"); b.up("vb");
test("reaches across the veth", || { assert_reach(a, "10.9.0.2"); });
test("fails on purpose", || { assert_no_reach(a, "10.9.0.2", #{timeout: 300}); });
test("skipped for now", || { skip("waiting for IPv6"); });
"#;

#[test]
fn a_failing_a_skipped_and_a_broken_test() {
    let dir = suite(&[
        ("mixed.rhai", MIXED),
        ("broken.rhai", "let x = ;\n"),
        ("_helper.rhai", "this is not a test and is never run ("),
    ]);
    let out = test(dir.path(), &["-j", "2"]).code(1);
    let line = |prefix: &str, name: &str| {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(prefix) && l.contains(name)),
            "no `{prefix} … {name}` line:\n{}",
            out.stdout
        );
    };
    line("ok", "mixed.rhai::reaches across the veth");
    line("FAILED", "mixed.rhai::fails on purpose");
    line("skipped", "mixed.rhai::skipped for now (waiting for IPv6)");
    line("BROKEN", "broken.rhai");
    assert!(!out.stdout.contains("_helper"), "{}", out.stdout);
    // The failure with its file, line and column, and the assertion's message.
    assert!(out.stdout.contains("mixed.rhai:8:"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("expected netns \"a\" not to reach 10.9.0.2"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("broken.rhai:1:9"), "{}", out.stdout);
    assert_eq!(
        out.stdout.lines().last(),
        Some("1 passed, 2 failed, 1 skipped")
    );

    // Only a broken test: exit 3.
    let only_broken = suite(&[("broken.rhai", "let x = ;\n")]);
    test(only_broken.path(), &[]).code(3);
    // `netsh SCRIPT` says the same: 3 for a script that cannot run, 1 for one that fails.
    netsh()
        .arg(only_broken.path().join("broken.rhai").display().to_string())
        .run()
        .code(3);
    netsh().eval("assert_eq(1, 2);").run().code(1);
}

/// A test's name is the child's `--run-test` value, whatever it starts with.
#[test]
fn a_test_name_that_looks_like_a_flag() {
    let dir = suite(&[(
        "flags.rhai",
        "test(\"-P picks a port\", || { assert(true); });\ntest(\"--x\", || { fail(\"ran\"); });\n",
    )]);
    let out = test(dir.path(), &[]).code(1);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("ok ") && l.contains("flags.rhai::-P picks a port")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("FAILED ") && l.contains("flags.rhai::--x")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("ran"), "{}", out.stdout);
}

#[test]
fn junit_tap_list_filter_and_shards() {
    let dir = suite(&[
        ("mixed.rhai", MIXED),
        (
            "sub/whole.rhai",
            "print(\"hello from whole\"); assert_eq(1, 1);\n",
        ),
    ]);
    let xml = test(dir.path(), &["--format", "junit"]).code(1).stdout;
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.attribute("skipped"), Some("1"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 4);
    for case in &cases {
        assert!(case.attribute("name").is_some() && case.attribute("classname").is_some());
        assert!(case
            .attribute("time")
            .is_some_and(|t| t.parse::<f64>().is_ok()));
    }
    let failed = cases
        .iter()
        .find(|c| c.attribute("name") == Some("fails on purpose"))
        .expect("the failing case");
    assert!(failed.children().any(|n| n.has_tag_name("failure")));
    let whole = cases
        .iter()
        .find(|c| {
            c.attribute("name")
                .is_some_and(|n| n.ends_with("whole.rhai"))
        })
        .expect("the whole-file case");
    let out = whole
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(out.contains("hello from whole"), "{xml}");

    let tap = test(dir.path(), &["--format", "tap"]).code(1).stdout;
    assert!(tap.starts_with("TAP version 13\n1..4\n"), "{tap}");
    assert!(tap.contains("# SKIP waiting for IPv6"), "{tap}");
    assert_eq!(tap.matches("\nnot ok ").count(), 1, "{tap}");

    let list = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--list"];
        all.extend_from_slice(args);
        test(dir.path(), &all)
            .success()
            .stdout
            .lines()
            .map(str::to_string)
            .collect()
    };
    let everything = list(&[]);
    assert_eq!(everything.len(), 4, "{everything:?}");
    let mut halves = list(&["--shard", "1/2"]);
    let second = list(&["--shard", "2/2"]);
    assert!(halves.iter().all(|t| !second.contains(t)), "shards overlap");
    halves.extend(second);
    halves.sort();
    let mut sorted = everything.clone();
    sorted.sort();
    assert_eq!(halves, sorted, "the shards together run every test once");
    assert_eq!(list(&["--filter", "veth"]).len(), 1);
    // The filtered run runs only that test.
    let one = test(dir.path(), &["--filter", "veth"]).success().stdout;
    assert!(one.ends_with("1 passed, 0 failed\n"), "{one}");
    test(dir.path(), &["--shard", "3/2"]).code(2);
}

#[test]
fn fail_fast_and_timeouts() {
    let dir = suite(&[
        ("a.rhai", "assert_eq(1, 2, \"first\");\n"),
        ("b.rhai", "assert_eq(1, 1);\n"),
        ("c.rhai", "assert_eq(1, 1);\n"),
    ]);
    let out = test(dir.path(), &["-j", "1", "--fail-fast"]).code(1).stdout;
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");

    let slow = suite(&[(
        "slow.rhai",
        "let c = run(\"slow1\"); exec(c, \"sleep 60\", #{timeout: 120000});\n",
    )]);
    let out = test(slow.path(), &["--timeout", "1"]).code(1).stdout;
    assert!(out.contains("TIMEOUT"), "{out}");
    assert!(out.contains("timed out after 1.0 s"), "{out}");
}

#[test]
fn snapshots_are_written_compared_and_updated() {
    let script = "let n = netns(\"n1\");\n\
                  n.veth(\"v0\", host(), \"v1\");\n\
                  n.addr(\"v0\", ARGS_ADDR);\n\
                  assert_snapshot(\"ip-a\", ip_a(n));\n";
    let with = |addr: &str| script.replace("ARGS_ADDR", &format!("\"{addr}\""));
    let dir = suite(&[("snap.rhai", &with("10.1.0.1/24"))]);
    let stored = dir.path().join("snapshots/snap/ip-a.txt");
    // Missing on CI: a failure, nothing written.
    let ci = netsh()
        .args(["test", "--color", "never"])
        .arg(dir.path().display().to_string())
        .env("CI", "true")
        .run()
        .code(1);
    assert!(ci.stdout.contains("is missing"), "{}", ci.stdout);
    assert!(!stored.exists());
    // Missing elsewhere: written, and the test passes.
    test(dir.path(), &[]).success();
    let text = std::fs::read_to_string(&stored).expect("snapshot written");
    assert!(text.contains("inet 10.1.0.1/24"), "{text}");
    // MACs of non-Docker links are random: normalised, so the same lab passes again.
    assert!(text.contains("link/ether <mac>"), "{text}");
    test(dir.path(), &[]).success();
    // A different view: a failure with a diff.
    std::fs::write(dir.path().join("snap.rhai"), with("10.1.0.7/24")).expect("rewrite");
    let out = test(dir.path(), &[]).code(1).stdout;
    assert!(out.contains("-    inet 10.1.0.1/24"), "{out}");
    assert!(out.contains("+    inet 10.1.0.7/24"), "{out}");
    // --update accepts it.
    test(dir.path(), &["--update"]).success();
    assert!(std::fs::read_to_string(&stored)
        .expect("snapshot")
        .contains("inet 10.1.0.7/24"));
    test(dir.path(), &[]).success();
}
