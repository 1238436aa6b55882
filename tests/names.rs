//! Names and programs inside containers: the embedded DNS server (and its robustness),
//! exec, resolve against real resolvers, publishing errors.

mod common;

use common::netsh;

#[test]
fn the_dns_server_survives_garbage_and_keeps_answering() {
    netsh()
        .eval(
            "network(\"n1\"); let a = run(\"a1\", \"n1\"); run(\"b1\", #{network: \"n1\", aliases: [\"db\"]});\n\
             assert_eq(resolve(a, \"b1\"), \"172.18.0.3\");\n\
             // Short, random, truncated and oversized datagrams, and a query cut mid-question.\n\
             for junk in [[1, 2, 3], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255],\n\
                          [18, 52, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 119]] {\n\
                 udp(a, \"127.0.0.11:53\", junk);\n\
             }\n\
             let big = []; for i in 0..3000 { big.push(i % 256); }\n\
             udp(a, \"127.0.0.11:53\", big);\n\
             for i in 0..50 { udp(a, \"127.0.0.11:53\", `garbage ${i} garbage garbage`); }\n\
             // A malformed query with a readable header gets FORMERR back (RCODE 1).\n\
             let r = udp(a, \"127.0.0.11:53\", [18, 52, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 119]);\n\
             assert(r.ok, `no answer to a truncated query: ${r.error}`);\n\
             assert_eq(resolve(a, \"b1\"), \"172.18.0.3\", \"still answering\");\n\
             assert_eq(resolve(a, \"db\"), \"172.18.0.3\", \"aliases resolve\");\n\
             assert_eq(resolve(a, \"nope\"), ());\n\
             let g = exec(a, \"getent hosts db\");\n\
             assert_eq(g.code, 0); assert(g.stdout.starts_with(\"172.18.0.3 \"), g.stdout);",
        )
        .run()
        .success();
}

#[test]
fn names_follow_containers_coming_and_going() {
    netsh()
        .eval(
            "network(\"n1\"); network(\"n2\");\n\
             let a = run(\"a1\", \"n1\"); run(\"b1\", \"n1\"); run(\"c1\", \"n2\");\n\
             assert_eq(resolve(a, \"b1\"), \"172.18.0.3\");\n\
             assert_eq(resolve(a, \"c1\"), (), \"no name across networks\");\n\
             connect(\"c1\", \"n1\");\n\
             assert_eq(resolve(a, \"c1\"), \"172.18.0.4\", \"c1 joined n1\");\n\
             assert_eq(resolve(\"c1\", \"a1\"), \"172.18.0.2\", \"and c1 learned n1's names\");\n\
             disconnect(\"c1\", \"n1\");\n\
             assert_eq(resolve(a, \"c1\"), (), \"c1 left n1\");\n\
             rm(\"b1\");\n\
             assert_eq(resolve(a, \"b1\"), (), \"b1 is gone\");\n\
             let default_bridge = run(\"d1\");\n\
             assert_eq(resolve(default_bridge, \"a1\"), (), \"no names on the default bridge\");\n\
             assert_eq(resolve(host(), \"a1\"), ());\n\
             assert_eq(resolve(a, \"localhost\"), \"127.0.0.1\");",
        )
        .run()
        .success();
}

#[test]
fn exec_runs_real_programs_inside() {
    netsh()
        .eval(
            "let c = run(\"c1\");\n\
             let r = exec(c, \"sh -c 'echo out; echo err >&2; exit 3'\");\n\
             assert_eq(r.stdout, \"out\\n\"); assert_eq(r.stderr, \"err\\n\"); assert_eq(r.code, 3); assert(!r.ok);\n\
             assert_eq(exec(c, [\"printf\", \"%s\", \"a b\"]).stdout, \"a b\");\n\
             assert_eq(exec(c, \"cat /etc/hostname\").stdout, c.short_id + \"\\n\");\n\
             assert_eq(exec(c, \"readlink /proc/self/ns/net\").stdout == exec(host(), \"readlink /proc/self/ns/net\").stdout, false);\n\
             let t = exec(c, \"sleep 5\", #{timeout: 200});\n\
             assert(t.timed_out); assert_eq(t.code, 137);\n\
             exec(c, \"sh -c 'sleep 30 >/dev/null 2>&1 &'\");\n\
             let procs = exec(c, \"sh -c 'cat /proc/[0-9]*/comm'\").stdout;\n\
             assert(procs.contains(\"sleep\"), `a background job outlives its shell, as in Docker: ${procs}`);\n\
             assert(procs.split(\"\\n\").len() < 10, `/proc is the container's own: ${procs}`);\n\
             let ns = netns(\"plain\");\n\
             assert_eq(exec(ns, \"cat /proc/net/dev\").stdout.split(\"\\n\").filter(|l| l.contains(\":\")).len(), 1, \"only lo\");",
        )
        .run()
        .success();
    netsh()
        .eval("let c = run(\"c1\"); exec(c, \"no-such-program-here\")")
        .run()
        .code(1)
        .stderr_has("cannot run \"no-such-program-here\": not found in PATH");
}

#[test]
fn publishing_errors_in_dockers_words() {
    netsh()
        .eval(
            "network(\"n1\"); run(\"web\", #{network: \"n1\", publish: [\"8081:8080\"]});\n\
             try { run(\"web2\", #{network: \"n1\", publish: [\"8081:80\"]}); fail(\"accepted\"); }\n\
             catch (e) { print(e); }\n\
             assert_eq(containers(), [\"web\"]);\n\
             try { run(\"web3\", #{publish: [\"x:80\"]}); } catch (e) { print(e); }",
        )
        .run()
        .success()
        .stdout_has("Bind for 0.0.0.0:8081 failed: port is already allocated")
        .stdout_has("invalid hostPort: x");
}
