//! The command line: modes, exit codes and error messages, and the bindings' refusals.

mod common;

use common::{netsh, temp_script, users};

#[test]
fn version_and_help() {
    netsh()
        .arg("--version")
        .run()
        .success()
        .stdout_has(env!("CARGO_PKG_VERSION"));
    netsh()
        .arg("--help")
        .run()
        .success()
        .stdout_has("--trace")
        .stdout_has("--color");
}

#[test]
fn usage_errors_exit_2() {
    netsh()
        .arg("--no-such-flag")
        .run()
        .code(2)
        .stderr_has("--no-such-flag");
    netsh()
        .args(["--color", "sometimes", "-e", "1"])
        .run()
        .code(2);
    netsh()
        .arg("/nonexistent/script.rhai")
        .run()
        .code(2)
        .stderr_has("cannot read script /nonexistent/script.rhai");
}

#[test]
fn eval_prints_the_value() {
    for user in users() {
        netsh()
            .user(user)
            .eval("40 + 2")
            .run()
            .success()
            .stdout_has("42");
    }
}

#[test]
fn script_from_stdin_and_args() {
    netsh()
        .stdin("let ns = netns(\"from-stdin\"); print(ns.name);")
        .run()
        .success()
        .stdout_has("from-stdin");
    netsh()
        .arg("-")
        .stdin("print(1 + 1);")
        .run()
        .success()
        .stdout_has("2");
    let path = temp_script("args.rhai", "print(ARGS);");
    netsh()
        .arg(path.to_string_lossy())
        .args(["one", "--two"])
        .run()
        .success()
        .stdout_has("[\"one\", \"--two\"]");
}

#[test]
fn syntax_errors_point_at_the_position() {
    // A script that cannot run exits 3, told apart from one that fails (1).
    netsh()
        .eval("let x = ;")
        .run()
        .code(3)
        .stderr_has("<expr>:1:9")
        .stderr_has("let x = ;")
        .stderr_has("        ^");
}

/// A mistyped name gets the nearest binding or property, in netsh's words; no Rust type
/// names (`i64`, `Netns [i64]`) reach the user.
#[test]
fn mistyped_names_get_a_hint() {
    let cases = [
        (
            "pnig(\"a\", \"b\")",
            "unknown function pnig — did you mean ping?",
        ),
        (
            "netsn(\"a\")",
            "unknown function netsn — did you mean netns?",
        ),
        (
            "let x = nettns;",
            "unknown variable nettns — did you mean netns?",
        ),
        (
            "let a = netns(\"a\"); a.nmae",
            "a namespace has no property nmae — did you mean name?",
        ),
        ("let x = 1; x.foo", "an integer has no property foo"),
        (
            "let a = netns(\"a\"); a[0]",
            "a namespace cannot be indexed with [an integer]",
        ),
        (
            "let a = netns(\"a\"); a.name = \"b\"",
            "the name of a namespace cannot be changed",
        ),
        // A REPL command line in a script: the binding's call is what works there.
        (
            "ping 10.0.0.1",
            "ping is a function, not a variable: call it as ping(",
        ),
    ];
    for (code, says) in cases {
        let run = netsh().eval(code).run();
        assert!(run.code != 0, "{code}");
        assert!(run.stderr.contains(says), "{code}: {}", run.stderr);
        assert!(!run.stderr.contains("i64"), "{code}: {}", run.stderr);
    }
}

#[test]
fn runtime_errors_name_the_object_and_the_reason() {
    let cases = [
        (
            "let a = netns(\"a\");\na.up(\"nope\");",
            "no device \"nope\" in netns \"a\" (it has: lo)",
            "<expr>:2:3",
        ),
        (
            "netns(\"a\");\nnetns(\"a\");",
            "network namespace \"a\" already exists",
            "<expr>:2:1",
        ),
        (
            "ping(\"ghost\", \"10.0.0.1\")",
            "network namespace \"ghost\" does not exist",
            "<expr>:1:1",
        ),
        (
            "let a = netns(\"a\"); a.addr(\"lo\", \"10.0.0.300/8\")",
            "\"10.0.0.300/8\" is not an IP address",
            "<expr>:1:23",
        ),
        (
            "veth(\"this-name-is-too-long\", \"b\")",
            "at most 15 bytes",
            "<expr>:1:1",
        ),
        (
            "netns(\"host\")",
            "\"host\" is the lab's host namespace",
            "<expr>:1:1",
        ),
        (
            "host().sysctl(\"../../etc/passwd\", 1)",
            "is not a sysctl name",
            "<expr>:1:8",
        ),
        (
            "exec(host(), \"  \")",
            "exec needs a program to run",
            "<expr>:1:1",
        ),
        (
            "ping(host(), \"127.0.0.1\", #{count: 0})",
            "ping option \"count\" must be positive",
            "<expr>:1:1",
        ),
        (
            "let a = netns(\"a\"); a.route(\"default\", \"10.9.9.9\")",
            "the gateway is not on a directly connected network",
            "<expr>:1:23",
        ),
        (
            "if ping(host(), \"127.0.0.1\") { 1 }",
            "test a ping with `.ok`",
            "<expr>:1:4",
        ),
    ];
    for (script, message, at) in cases {
        netsh()
            .eval(script)
            .run()
            .code(1)
            .stderr_has(message)
            .stderr_has(at);
    }
}

#[test]
fn errors_inside_functions_show_the_call() {
    netsh()
        .eval("fn wire(ns) {\n  ns.up(\"eth9\");\n}\nlet a = netns(\"a\");\nwire(a);")
        .run()
        .code(1)
        .stderr_has("no device \"eth9\"")
        .stderr_has("<expr>:2:6")
        .stderr_has("in call to wire() at <expr>:5:1");
}

#[test]
fn a_refused_operation_leaves_nothing_behind() {
    // The second name is taken, so the pair must not be created at all.
    netsh()
        .eval(
            "veth(\"keep\", \"other\");\n\
             try { veth(\"half\", \"keep\"); fail(\"accepted a taken name\"); } catch (e) { print(e); }\n\
             assert(!host().has_link(\"half\"), \"nothing half-built\");\n\
             assert_eq(host().link_names(), [\"lo\", \"eth0\", \"docker0\", \"other\", \"keep\"]);",
        )
        .run()
        .success()
        .stdout_has("device \"keep\" already exists in the host");
}

#[test]
fn ping_fails_fast_and_reports_why() {
    // lo is up in `a`; nothing routes to 10.1.2.3 there (the host would: its default
    // route leads beyond its uplink).
    netsh()
        .eval(
            "let a = netns(\"a\"); a.up(\"lo\");\n\
             let p = ping(a, \"10.1.2.3\");\n\
             assert(!p.ok); assert_eq(p.received, 0);\n\
             print(p.error);\n\
             let named = ping(host(), \"not-a-host\");\n\
             assert(!named.ok); assert_eq(named.error, \"bad address 'not-a-host'\");\n\
             let q = ping(host(), \"127.0.0.1\", #{count: 2, interval: 10});\n\
             assert(q.ok); assert_eq(q.received, 2); assert_eq(q.loss, 0.0);\n\
             assert_eq(q.rtts.len(), 2);",
        )
        .run()
        .success()
        .stdout_has("network is unreachable");
}

#[test]
fn failed_assertions_exit_1_with_expected_and_actual() {
    netsh()
        .eval("let a = netns(\"a\");\nassert_reach(a, \"127.0.0.1\");")
        .run()
        .code(1)
        .stderr_has("assertion failed: expected netns \"a\" to reach 127.0.0.1")
        .stderr_has("<expr>:2:1");
    netsh()
        .eval("assert_eq(host().link_names(), [\"eth0\"]);")
        .run()
        .code(1)
        .stderr_has("left: [\"lo\", \"eth0\", \"docker0\"]")
        .stderr_has("right: [\"eth0\"]");
}

#[test]
fn stdlib_modules_are_importable() {
    netsh()
        .eval(
            "import \"topo\" as topo;\n\
             let a = netns(\"a\"); let b = netns(\"b\");\n\
             topo::wire(a, \"va\", \"10.0.0.1/24\", b, \"vb\", \"10.0.0.2/24\");\n\
             assert_reach(a, \"10.0.0.2\"); assert_reach(b, \"10.0.0.1\");\n\
             assert_no_reach(a, \"10.0.0.3\");",
        )
        .run()
        .success();
}

#[test]
fn ipv6_addresses_routes_and_pings() {
    netsh()
        .eval(
            "let a = netns(\"a\"); let b = netns(\"b\");\n\
             a.veth(\"va\", b, \"vb\");\n\
             a.addr(\"va\", \"fd00::1/64\"); b.addr(\"vb\", \"fd00::2/64\");\n\
             b.addr(\"vb\", \"10.0.0.2/24\"); a.addr(\"va\", \"10.0.0.1/24\");\n\
             a.up(\"va\"); b.up(\"vb\");\n\
             b.route(\"default\", \"10.0.0.1\");\n\
             assert(ip_route(b).contains(\"default via 10.0.0.1 dev vb\"), ip_route(b));\n\
             assert(ip_a(a).contains(\"inet6 fd00::1/64 scope global\"), ip_a(a));\n\
             let p = ping(a, \"fd00::2\", #{timeout: 3000});\n\
             assert(p, `v6 ping: ${p}`);\n\
             b.del_route(\"default\");\n\
             assert(!ip_route(b).contains(\"default\"));\n\
             a.del_addr(\"va\", \"10.0.0.1/24\");\n\
             assert_no_reach(b, \"10.0.0.1\");",
        )
        .run()
        .success();
}

#[test]
fn bridges_and_masters() {
    netsh()
        .eval(
            "let h = host(); h.bridge(\"br0\"); h.addr(\"br0\", \"10.0.0.1/24\"); h.up(\"br0\");\n\
             let c = netns(\"c\");\n\
             h.veth(\"vc\", c, \"eth0\"); h.master(\"vc\", \"br0\"); h.up(\"vc\");\n\
             c.addr(\"eth0\", \"10.0.0.2/24\"); c.up(\"eth0\");\n\
             assert_eq(h.link(\"vc\").master, \"br0\");\n\
             assert_reach(c, \"10.0.0.1\");\n\
             h.nomaster(\"vc\");\n\
             assert_no_reach(c, \"10.0.0.1\");\n\
             try { h.master(\"lo\", \"vc\"); } catch (e) { print(e); }",
        )
        .run()
        .success()
        .stdout_has("\"vc\" in the host is not a bridge");
}

/// Every Rhai example in the README is a script too; they must keep working.
#[test]
fn the_readme_examples_run() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).expect("README");
    let blocks: Vec<&str> = readme
        .split("```rhai\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 3, "the README's examples went missing");
    for (i, block) in blocks.iter().enumerate() {
        let path = temp_script(&format!("readme-{i}.rhai"), block);
        netsh().arg(path.to_string_lossy()).run().success();
    }
}

/// `netsh … | head` must end quietly when the reader goes away, not panic.
#[test]
fn a_closed_pipe_ends_netsh_quietly() {
    let mut child = netsh()
        .eval("for i in 0..200000 { print(`line ${i}`); }")
        .command()
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.status.success(), "it cannot have printed everything");
}
