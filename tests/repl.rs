//! The REPL on a real terminal (a pseudo-terminal): one lab and one scope for the whole
//! session, multi-line input, errors with a caret, `:help`, Ctrl-D.

mod common;

use std::io::Write;

use common::pty::{descendants, leave, read_until, run, say, start_repl, start_repl_on, Repl};

#[test]
fn a_session_keeps_its_lab_and_scope() {
    let Repl {
        mut child,
        mut master,
        mut seen,
        state,
    } = start_repl(&[]);

    let say = |master: &mut std::fs::File, line: &str, want: &str, seen: &mut String| {
        master.write_all(line.as_bytes()).expect("type");
        master.write_all(b"\r").expect("enter");
        read_until(master, seen, want);
    };
    let m = &mut master;
    say(m, "let a = netns(\"a\");", "netsh> ", &mut seen);
    say(m, "a.links().len()", "1\r\n", &mut seen);
    // A function typed over three lines, used on the next entry.
    say(m, "fn twice(x) {", "  ...> ", &mut seen);
    seen.clear();
    say(m, "  x * 2", "  ...> ", &mut seen);
    say(m, "}", "netsh> ", &mut seen);
    say(m, "twice(21)", "42", &mut seen);
    // Saved as soon as it was entered, not only when the session ends.
    let history = std::fs::read_to_string(state.path().join("netsh/history"))
        .expect("the history is saved after each entry");
    assert!(history.contains("twice(21)"), "{history}");
    // The namespace made two entries ago is still there.
    say(m, "namespaces()", "[\"a\"]", &mut seen);
    say(
        m,
        "a.up(\"nope\")",
        "no device \"nope\" in netns \"a\"",
        &mut seen,
    );
    read_until(m, &mut seen, "^");
    say(m, ":help", "assert_reach", &mut seen);
    m.write_all(&[4]).expect("Ctrl-D");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}\n{seen}");
    let history = std::fs::read_to_string(state.path().join("netsh/history"))
        .expect("the history is saved in the state directory");
    assert!(history.contains("twice(21)"), "{history}");
}

#[test]
fn a_runaway_entry_stops_at_its_timeout_and_the_session_goes_on() {
    let Repl {
        mut child,
        mut master,
        mut seen,
        ..
    } = start_repl(&["--timeout", "3"]);
    let mut say = |line: &str, want: &str| {
        master.write_all(line.as_bytes()).expect("type");
        master.write_all(b"\r").expect("enter");
        read_until(&mut master, &mut seen, want);
    };
    say("let x = 20; let n = netns(\"n\");", "netsh> ");
    say(
        "loop {}",
        "the script ran longer than 3 s, its time limit; --timeout SECONDS raises it",
    );
    // The scope and the lab outlive the stopped entry, which had three seconds of its own.
    say("x + 22", "42");
    say("namespaces()", "[\"n\"]");
    say(
        ":help",
        "an entry that runs longer than 60 s stops with an error",
    );
    master.write_all(&[4]).expect("Ctrl-D");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}\n{seen}");
}

#[test]
fn ctrl_c_stops_the_entry_and_keeps_the_lab() {
    let mut r = start_repl(&[]);
    say(
        &mut r,
        "let x = 41; network(\"n\"); let c1 = run(\"c1\", \"n\"); run(\"c2\", \"n\");",
        "netsh> ",
    );
    let interrupted = "interrupted (Ctrl-C); the lab and the variables are kept";
    let cases = [
        (
            "print(\"pinging\"); ping(\"c1\", \"c2\", #{count: 20})",
            "pinging\r\n",
        ),
        (
            "print(\"execing\"); exec(c1, \"sleep 100\", #{timeout: 200000})",
            "execing\r\n",
        ),
        ("print(\"sleeping\"); sleep(100000)", "sleeping\r\n"),
        ("print(\"looping\"); loop {}", "looping\r\n"),
    ];
    for (entry, started) in cases {
        // What the REPL printed before does not count for this entry.
        r.seen.clear();
        say(&mut r, entry, started);
        r.master.write_all(&[3]).expect("Ctrl-C");
        read_until(&mut r.master, &mut r.seen, interrupted);
        read_until(&mut r.master, &mut r.seen, "netsh> ");
    }
    // The variables, the containers and the lab's network are all still there.
    say(&mut r, "x + 1", "42");
    say(&mut r, "containers()", "[\"c1\", \"c2\"]");
    say(&mut r, "ping(c1, \"c2\").ok", "true");
    // Ctrl-C at the prompt abandons the line being typed; netsh goes on.
    r.master.write_all(b"let y = ").expect("type");
    r.master.write_all(&[3]).expect("Ctrl-C");
    say(&mut r, "x", "41");
    leave(r);
}

#[test]
fn help_for_a_name_and_hints_for_a_typo() {
    let mut r = start_repl(&[]);
    say(
        &mut r,
        ":help ping",
        "example: ping(\"a\", \"10.0.0.2\", #{count: 3})",
    );
    assert!(
        r.seen
            .contains("ping(from, to [, #{count, timeout, interval}])"),
        "{}",
        r.seen
    );
    read_until(&mut r.master, &mut r.seen, "interval   ms between requests");
    say(&mut r, ":help ns.veth", "ns.veth(dev, peer_ns, peer_dev)");
    say(&mut r, ":help run", "publish");
    say(&mut r, ":help", "Docker 20.10:");
    say(
        &mut r,
        ":help pnig",
        "no binding called pnig — did you mean ping?",
    );
    say(
        &mut r,
        ":hepl",
        "unknown command :hepl — did you mean :help?",
    );
    say(
        &mut r,
        "pnig(\"a\", \"b\")",
        "unknown function pnig — did you mean ping?",
    );
    read_until(&mut r.master, &mut r.seen, "^");
    assert!(!r.seen.contains("i64"), "{}", r.seen);
    leave(r);
}

/// Tab completes a container's name inside a string, and a method after a dot.
#[test]
fn tab_completes_live_names_and_methods() {
    let mut r = start_repl_on(&[], "xterm");
    // The line editor turns bracketed paste on each time it starts reading a line: text typed
    // before that may be dropped, so each step waits for it.
    const READING: &str = "\x1b[?2004h";
    let step = |r: &mut Repl, keys: &str, want: &str| {
        r.seen.clear();
        r.master.write_all(keys.as_bytes()).expect("type");
        read_until(&mut r.master, &mut r.seen, want);
    };
    step(
        &mut r,
        "run(\"webserver\"); let nsx = netns(\"nsx\");\r",
        READING,
    );
    // Completed from the lab: the only container starting with "webs".
    step(&mut r, "containers().contains(\"webs\t", "webserver");
    step(&mut r, "\")\r", "true");
    read_until(&mut r.master, &mut r.seen, READING);
    // After a dot, the methods of the variable's type.
    step(&mut r, "nsx.link_na\t", "link_names");
    step(&mut r, "()\r", "[\"lo\"]");
    read_until(&mut r.master, &mut r.seen, READING);
    leave(r);
}

/// Results print for people: a program's output, one line for a probe, a container with its
/// networks and addresses.
#[test]
fn values_print_for_people() {
    let mut r = start_repl(&[]);
    say(
        &mut r,
        "network(\"n1\", #{subnet: \"10.7.0.0/24\"}); let c = run(\"c1\", \"n1\"); run(\"c2\", \"n1\");",
        "netsh> ",
    );
    say(&mut r, "c", "container c1 (");
    read_until(&mut r.master, &mut r.seen, "): n1 10.7.0.2");
    say(
        &mut r,
        "exec(c, [\"sh\", \"-c\", \"echo one; echo two; exit 3\"])",
        "one\r\ntwo\r\nexit code 3",
    );
    say(&mut r, "serve(\"c2\", 8080, \"http\");", "netsh> ");
    say(&mut r, "http_get(c, \"http://c2:8080/\")", "HTTP 200: \"");
    say(&mut r, "tcp(c, \"c2:9\")", "failed: ");
    say(&mut r, "network(\"n2\")", "network n2 (");
    leave(r);
}

/// `:ls` shows the lab, `:save` writes a script that runs, `:reset` empties the lab and the
/// scope, `:trace` prints the kernel's operations.
#[test]
fn ls_save_reset_and_trace() {
    let mut r = start_repl(&[]);
    say(
        &mut r,
        "let a = netns(\"a\"); let b = netns(\"b\");",
        "netsh> ",
    );
    say(
        &mut r,
        "a.veth(\"va\", b, \"vb\"); a.addr(\"va\", \"10.0.0.1/24\");",
        "netsh> ",
    );
    say(
        &mut r,
        "b.addr(\"vb\", \"10.0.0.2/24\"); a.up(\"va\"); b.up(\"vb\");",
        "netsh> ",
    );
    say(&mut r, "this_fails()", "no function this_fails()");
    say(&mut r, "fn both(x, y) {", "");
    say(&mut r, "  assert_reach(x, \"10.0.0.2\"); y", "");
    say(&mut r, "}", "netsh> ");
    say(
        &mut r,
        "network(\"n1\"); let c1 = run(\"c1\", \"n1\");",
        "netsh> ",
    );
    say(&mut r, "both(a, 7)", "7");
    say(&mut r, ":ls", "c1  n1 ");
    read_until(&mut r.master, &mut r.seen, "va 10.0.0.1/24");
    let file = r.state.path().join("saved.rhai");
    let file = file.to_str().expect("utf-8 path");
    say(&mut r, &format!(":save {file}"), "saved 6 entries");
    let saved = std::fs::read_to_string(file).expect("the saved script");
    assert!(!saved.contains("this_fails"), "{saved}");
    // The saved session runs as a script, in a lab of its own.
    common::netsh()
        .args(["--color", "never", file])
        .run()
        .success();

    say(&mut r, ":reset", "a fresh lab");
    say(
        &mut r,
        "[namespaces(), containers(), networks()]",
        "[[], [], [\"bridge\", \"host\", \"none\"]]",
    );
    say(&mut r, "a", "unknown variable a");
    say(&mut r, ":ls", "containers: none");
    // The fresh lab works: the same names can be made again.
    say(&mut r, "let c = run(\"c1\"); netns(\"a\"); c.name", "c1");
    say(&mut r, ":trace on", "netsh> ");
    say(
        &mut r,
        "netns(\"t\").bridge(\"br9\")",
        "ip -n t link add br9 type bridge",
    );
    say(&mut r, ":trace off", "netsh> ");
    leave(r);
}

/// A line that starts with `docker`, `ip`, `brctl` or `ping` and is not Rhai runs as that
/// binding with the rest of the line as one string; Rhai that uses those words stays Rhai.
#[test]
fn command_lines_go_to_their_binding() {
    let mut r = start_repl(&[]);
    // A docker line goes to the docker front and prints Docker's table.
    say(
        &mut r,
        "docker network ls",
        "NETWORK ID     NAME      DRIVER    SCOPE",
    );
    // ip, brctl and ping lines run through their fronts, as typed in the tutorial. (What is
    // awaited is output only: the terminal echoes what is typed, so `seen` is emptied first
    // and each awaited text is one the typed line does not hold.)
    let type_line = |r: &mut Repl, line: &str| {
        r.master.write_all(line.as_bytes()).expect("type");
        r.master.write_all(b"\r").expect("enter");
    };
    type_line(&mut r, "ip netns add ns1");
    r.seen.clear();
    say(&mut r, "ip netns list", "ns1");
    type_line(&mut r, "ip link add veth-a type veth peer name veth-b");
    r.seen.clear();
    say(&mut r, "ip l", "veth-a@veth-b");
    type_line(&mut r, "brctl addbr br0");
    r.seen.clear();
    say(&mut r, "brctl show", "8000.");
    r.seen.clear();
    say(
        &mut r,
        "ip link set nosuch up",
        "Cannot find device \"nosuch\"",
    );
    // Rhai that starts with those words is still Rhai.
    say(&mut r, "let ip = 40; ip + 2", "42");
    say(&mut r, "ip_a(\"host\").contains(\"lo\")", "true");
    say(
        &mut r,
        "let n = netns(\"n\"); n.up(\"lo\"); ping(n, \"127.0.0.1\").ok",
        "true",
    );
    leave(r);
}

/// `:reset` starts a fresh lab: a new lab host, so a new Docker engine (new network IDs,
/// address pools at their start) and nothing of the old lab left — no namespace, no
/// container, no process.
#[test]
fn reset_starts_a_fresh_lab() {
    let mut r = start_repl(&[]);
    let netsh = r.child.id();
    run(&mut r, "docker network ls -q");
    let old_ids: Vec<String> = r
        .seen
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 12 && l.chars().all(|c| c.is_ascii_hexdigit()))
        .map(String::from)
        .collect();
    assert_eq!(old_ids.len(), 3, "{}", r.seen);
    run(
        &mut r,
        "docker run -d --name c1 busybox /bin/sh -c \"sleep 3600\"",
    );
    run(&mut r, "docker exec -d c1 sleep 1000");
    // A variable holding the old lab's container does not keep that lab alive.
    run(&mut r, "let c0 = run(\"c0\"); exec(c0, \"true\").code");
    run(&mut r, "docker network create n1");
    run(&mut r, "ip netns add ns1");
    r.seen.clear();
    say(
        &mut r,
        "[namespaces(), containers()]",
        "[[\"ns1\"], [\"c1\", \"c0\"]]",
    );
    assert!(!descendants(netsh).is_empty(), "c1 runs programs");

    run(&mut r, ":reset");
    assert!(r.seen.contains("a fresh lab"), "{}", r.seen);
    // The old lab's container, its init and its programs are gone.
    common::wait_until(
        "the old lab's processes end",
        std::time::Duration::from_secs(60),
        || descendants(netsh).is_empty(),
    );
    r.seen.clear();
    say(&mut r, "[namespaces(), containers()]", "[[], []]");
    run(&mut r, "docker network ls");
    let table = r.seen.replace("\r\n", "\n");
    for row in [
        "   bridge    bridge    local\n",
        "   host      host      local\n",
        "   none      null      local\n",
    ] {
        assert!(table.contains(row), "{table}");
    }
    assert!(!table.contains(" n1 "), "{table}");
    for old in &old_ids {
        assert!(!table.contains(old.as_str()), "{old} is back:\n{table}");
    }
    // The pools start again: the first container gets 172.17.0.2, the first network
    // 172.18.0.0/16 (in the old lab, n1 had taken it).
    run(
        &mut r,
        "docker run -d --name c2 busybox /bin/sh -c \"sleep 3600\"",
    );
    run(
        &mut r,
        "docker inspect -f '{{.NetworkSettings.IPAddress}}' c2",
    );
    assert!(r.seen.contains("\r\n172.17.0.2\r\n"), "{}", r.seen);
    run(&mut r, "docker network create n2");
    run(&mut r, "docker network inspect n2");
    assert!(
        r.seen.contains("\"Subnet\": \"172.18.0.0/16\""),
        "{}",
        r.seen
    );
    run(&mut r, "docker exec c2 ping -c 1 172.17.0.1");
    assert!(r.seen.contains("1 packets received"), "{}", r.seen);
    leave(r);
}

/// A ping typed as a command line shows each reply as it comes; Ctrl-C ends it with its
/// statistics, as iputils and busybox print them, and the prompt comes back with the lab.
#[test]
fn ctrl_c_ends_a_command_line_ping_with_its_statistics() {
    let mut r = start_repl(&[]);
    run(
        &mut r,
        "docker run -d --name c1 busybox /bin/sh -c \"sleep 3600\"",
    );
    // The lab's own ping (iputils) from the lab host, 20 requests.
    r.seen.clear();
    say(&mut r, "ping -c 20 172.17.0.2", "icmp_seq=2 ");
    r.master.write_all(&[3]).expect("Ctrl-C");
    read_until(&mut r.master, &mut r.seen, "netsh> ");
    assert!(
        r.seen
            .contains("^C\r\n--- 172.17.0.2 ping statistics ---\r\n"),
        "{}",
        r.seen
    );
    assert!(r.seen.contains("rtt min/avg/max/mdev = "), "{}", r.seen);
    assert!(!r.seen.contains("interrupted"), "{}", r.seen);
    // busybox's ping in the container, 20 requests.
    r.seen.clear();
    say(&mut r, "docker exec c1 ping -c 20 172.17.0.1", "seq=1 ");
    r.master.write_all(&[3]).expect("Ctrl-C");
    read_until(&mut r.master, &mut r.seen, "netsh> ");
    assert!(
        r.seen
            .contains("\r\n--- 172.17.0.1 ping statistics ---\r\n"),
        "{}",
        r.seen
    );
    assert!(r.seen.contains("round-trip min/avg/max = "), "{}", r.seen);
    run(&mut r, "docker_status()");
    assert!(r.seen.contains("\r\n0\r\n"), "{}", r.seen);
    // The lab is all there.
    say(&mut r, "containers()", "[\"c1\"]");
    run(&mut r, "docker exec c1 ping -c 1 172.17.0.1");
    assert!(r.seen.contains("1 packets received"), "{}", r.seen);
    leave(r);
}

/// A command-line ping (without `-c`, so it would run until Ctrl-C) whose first request
/// cannot leave ends at once with iputils' words and status 2, as iputils' failed
/// `connect()` does, instead of trying quietly until Ctrl-C.
#[test]
fn a_command_line_ping_that_cannot_send_ends_at_once() {
    let mut r = start_repl(&[]);
    run(&mut r, "ip netns add n1");
    for line in [
        "ip netns exec n1 ping 127.0.0.1",
        "ip netns exec n1 ping 10.9.9.9",
    ] {
        let out = run(&mut r, line);
        assert_eq!(out, "ping: connect: Network is unreachable\r\n", "{line}");
        assert_eq!(run(&mut r, "last_status()"), "2\r\n", "{line}");
    }
    leave(r);
}

/// Lines typed ahead in one burst (no bracketed paste), while the first still runs, all
/// run in turn, as a shell keeps typed-ahead input — on a dumb terminal and a real one.
#[test]
fn typed_ahead_lines_all_run() {
    for term in ["dumb", "xterm"] {
        let mut r = start_repl_on(&[], term);
        let burst: String = ["p1", "p2", "p3"]
            .iter()
            .map(|name| format!("docker run -d --name {name} busybox sleep 600\r"))
            .chain(["print(\"count:\" + containers().len())\r".to_string()])
            .collect();
        r.master.write_all(burst.as_bytes()).expect("type ahead");
        // The count comes after the echo of the line that prints it.
        let echo = "containers().len())";
        read_until(&mut r.master, &mut r.seen, echo);
        let from = r.seen.find(echo).expect("the echo") + echo.len();
        common::pty::read_until_from(&mut r.master, &mut r.seen, from, "count:");
        let at = from + r.seen[from..].find("count:").expect("the count") + "count:".len();
        common::pty::read_until_from(&mut r.master, &mut r.seen, at, "\r\n");
        let count = r.seen[at..].split("\r\n").next().unwrap_or_default();
        assert_eq!(count, "3", "{term}: {}", r.seen);
        r.seen.clear();
        let all = "[\"p1\", \"p2\", \"p3\"]";
        say(&mut r, "containers()", all);
        // Ctrl-D only once the editor reads again (see a_pasted_block_runs_line_by_line).
        let after = r.seen.find(all).expect("the names") + all.len();
        common::pty::read_until_from(&mut r.master, &mut r.seen, after, "netsh> ");
        leave(r);
    }
}

/// The tutorial's shell commands that are not the lab's get a hint, not Rhai's complaint;
/// Rhai that uses those words stays Rhai.
#[test]
fn shell_commands_outside_the_lab_get_a_hint() {
    let mut r = start_repl(&[]);
    say(
        &mut r,
        "ifconfig",
        "ifconfig is not part of the lab: `ip a` shows",
    );
    say(
        &mut r,
        "yum -y install bridge-utils",
        "nothing to install: brctl is built into the lab",
    );
    say(&mut r, "apt-get install nginx", "nothing to install");
    assert!(!r.seen.contains("unknown variable"), "{}", r.seen);
    say(&mut r, "let ifconfig = 41; ifconfig + 1", "42");
    leave(r);
}

/// A block pasted from the tutorial (bracketed paste makes it one entry of several lines)
/// runs line by line, as a shell runs it: `#` comments and blank lines left out, a `\`
/// continuation joined.
#[test]
fn a_pasted_block_runs_line_by_line() {
    let mut r = start_repl_on(&[], "xterm");
    // The line editor turns bracketed paste on each time it starts reading a line.
    const READING: &str = "\x1b[?2004h";
    read_until(&mut r.master, &mut r.seen, READING);
    r.seen.clear();
    let block = "#ns1 created\nip netns add ns1\n#ns2 created\nip netns add ns2\n\n#check list\nip netns \\\nlist\n";
    r.master
        .write_all(format!("\x1b[200~{block}\x1b[201~").as_bytes())
        .expect("paste");
    r.master.write_all(b"\r").expect("enter");
    read_until(&mut r.master, &mut r.seen, "ns2\r\nns1\r\n");
    read_until(&mut r.master, &mut r.seen, READING);
    assert!(!r.seen.contains("error"), "{}", r.seen);
    r.seen.clear();
    r.master.write_all(b"namespaces()\r").expect("type");
    read_until(&mut r.master, &mut r.seen, "[\"ns2\", \"ns1\"]");
    // Ctrl-D only once the editor reads again: typed earlier, the terminal's own line
    // discipline would take it, and the editor would never see the end of input.
    read_until(&mut r.master, &mut r.seen, READING);
    leave(r);
}
