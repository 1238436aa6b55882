//! TCP, UDP and HTTP probes with real packets: replies capped at 64 KiB with a `truncated`
//! flag (and `exec`'s output at 16 MiB per stream), and IPv6 targets written in brackets.

mod common;

use common::{netsh, users};

/// Two namespaces joined by a veth, with IPv4 and IPv6 addresses, waiting (without a timer:
/// netsh's own --timeout bounds the wait) until no address is tentative any more.
const LAB: &str = "let a = netns(\"a\"); let b = netns(\"b\");\n\
     a.veth(\"va\", b, \"vb\");\n\
     a.addr(\"va\", \"10.0.0.1/24\"); b.addr(\"vb\", \"10.0.0.2/24\");\n\
     a.addr(\"va\", \"fd00::1/64\"); b.addr(\"vb\", \"fd00::2/64\");\n\
     a.up(\"va\"); b.up(\"vb\");\n\
     while ip_a(a).contains(\"tentative\") || ip_a(b).contains(\"tentative\") {}\n";

fn lab(script: &str) -> String {
    format!("{LAB}{script}")
}

#[test]
fn probe_replies_are_capped_and_say_so() {
    for user in users() {
        netsh()
            .user(user)
            .eval(&lab("let big = \"\"; big.pad(100000, \"x\");\n\
                 serve(b, 8080, #{proto: \"http\", reply: big});\n\
                 serve(b, 8081, #{reply: big});\n\
                 let exact = \"\"; exact.pad(65536, \"y\");\n\
                 serve(b, 8082, #{reply: exact});\n\
                 serve(b, 8083);\n\
                 let h = http_get(a, \"http://10.0.0.2:8080/\");\n\
                 assert(h.ok, `${h}`); assert_eq(h.status, 200);\n\
                 assert_eq(h.truncated, true);\n\
                 assert(h.body.len() > 60000 && h.body.len() < 65536, `${h.body.len()}`);\n\
                 let t = tcp(a, \"10.0.0.2:8081\");\n\
                 assert(t.ok, `${t.error}`); assert_eq(t.truncated, true);\n\
                 assert_eq(t.reply.len(), 65536); assert_eq(t.reply, big.sub_string(0, 65536));\n\
                 let t = tcp(a, \"[fd00::2]:8081\");\n\
                 assert_eq(t.truncated, true); assert_eq(t.reply.len(), 65536);\n\
                 // Exactly the limit, then the end: whole, not cut.\n\
                 let t = tcp(a, \"10.0.0.2:8082\");\n\
                 assert_eq(t.truncated, false); assert_eq(t.reply, exact);\n\
                 let t = tcp(a, \"10.0.0.2:8083\");\n\
                 assert_eq(t.truncated, false); assert_eq(t.reply, \"hello from b\\n\");\n\
                 let h = http_get(a, \"http://10.0.0.2:8083/\");\n\
                 assert_eq(h.truncated, false); assert_eq(h.body, \"hello from b\\n\");\n\
                 serve(b, 5353, \"udp\");\n\
                 let u = udp(a, \"10.0.0.2:5353\");\n\
                 assert(u.ok, `${u.error}`); assert_eq(u.truncated, false);\n\
                 // exec keeps 16 MiB of each stream.\n\
                 let e = exec(a, \"head -c 17000000 /dev/zero\");\n\
                 assert(e.ok, e.stderr); assert_eq(e.truncated, true);\n\
                 assert_eq(e.stdout.len(), 16777216);\n\
                 let e = exec(a, \"echo hi\");\n\
                 assert_eq(e.truncated, false); assert_eq(e.stdout, \"hi\\n\");\n\
                 print(\"capped\");"))
            .run()
            .success()
            .stdout_has("capped");
    }
}

#[test]
fn ipv6_targets_reach_real_servers() {
    for user in users() {
        netsh()
            .user(user)
            .eval(&lab(
                "serve(b, 7070); serve(b, 8080, \"http\"); serve(b, 9090, \"udp\");\n\
                 let t = tcp(a, \"[fd00::2]:7070\");\n\
                 assert(t.ok, `${t.error}`); assert_eq(t.reply, \"hello from b\\n\");\n\
                 let u = udp(a, \"[fd00::2]:9090\");\n\
                 assert(u.ok, `${u.error}`); assert_eq(u.reply, \"hello from b\\n\");\n\
                 let h = http_get(a, \"http://[fd00::2]:8080/index.html\");\n\
                 assert(h.ok, `${h.error}`); assert_eq(h.status, 200);\n\
                 assert_eq(h.body, \"hello from b\\n\");\n\
                 // The same responders answer over IPv4 (one dual-stack socket each).\n\
                 assert(tcp(a, \"10.0.0.2:7070\").ok); assert(udp(a, \"10.0.0.2:9090\").ok);\n\
                 // Nobody listens on these ports.\n\
                 let t = tcp(a, \"[fd00::2]:7071\");\n\
                 assert(!t.ok); assert_eq(t.error, \"connection refused\");\n\
                 let u = udp(a, \"[fd00::2]:9091\");\n\
                 assert(!u.ok); assert_eq(u.error, \"connection refused\");\n\
                 let h = http_get(a, \"http://[fd00::2]:8081/\");\n\
                 assert(!h.ok); assert_eq(h.error, \"connection refused\");\n\
                 // An address nobody has: no answer at all.\n\
                 let t = tcp(a, \"[fd00::99]:7070\");\n\
                 assert(!t.ok, `${t}`);\n\
                 print(\"v6 ok\");",
            ))
            .run()
            .success()
            .stdout_has("v6 ok");
    }
}

#[test]
fn malformed_targets_are_refused_with_a_position() {
    let cases = [
        (
            "tcp(a, \"[fd00::2:80\")",
            "missing ']' after the IPv6 address",
        ),
        ("tcp(a, \"[fd00::2]80\")", "expected ':PORT' after ']'"),
        (
            "udp(a, \"[fd00::zz]:53\")",
            "\\\"fd00::zz\\\" in brackets is not an IPv6 address",
        ),
        (
            "tcp(a, \"fd00::2:80\")",
            "an IPv6 address with a port goes in brackets",
        ),
        (
            "tcp(a, \"[fd00::2]:99999\")",
            "invalid port \\\"99999\\\" (expected 1-65535)",
        ),
        ("tcp(a, \"10.0.0.2:0\")", "invalid port \\\"0\\\""),
        ("tcp(a, \"10.0.0.2\")", "expected ADDRESS:PORT"),
        ("http_get(a, \"http://[fd00::2:8080/\")", "missing ']'"),
        (
            "http_get(a, \"http://[fd00::2]:x/\")",
            "invalid port \\\"x\\\"",
        ),
    ];
    // Each refusal is a script error with its position; checked in one lab with try/catch …
    let mut script = String::from("let a = netns(\"a\");\n");
    for (call, says) in cases {
        script.push_str(&format!(
            "try {{ {call}; fail(\"accepted: {}\"); }} catch (e) {{ \
             assert(`${{e}}`.contains(\"{says}\"), `${{e}}`); }}\n",
            call.replace('"', "\\\"")
        ));
    }
    script.push_str("print(\"all refused\");");
    for user in users() {
        netsh()
            .user(user)
            .eval(&script)
            .run()
            .success()
            .stdout_has("all refused");
        // … and once uncaught: exit 1, file:line:col and a caret.
        netsh()
            .user(user)
            .eval("let a = netns(\"a\");\ntcp(a, \"[fd00::2:80\")")
            .run()
            .code(1)
            .stderr_has("\"[fd00::2:80\": missing ']' after the IPv6 address")
            .stderr_has("<expr>:2:1")
            .stderr_has("^");
    }
}
