//! The ip, brctl and ping fronts: the tutorial's command lines typed as printed, run in
//! order through `ip("…")`, `brctl("…")` and `ping("…")` (what the REPL runs for a line
//! `ip …`), build the labs the chapter scripts build — checked against the kernel and with
//! real packets — and refusals come in iproute2's, bridge-utils' and iputils' words with
//! their exit statuses, changing nothing.

mod common;

use common::{netsh, users};

/// A command line as a Rhai call of its front: `ip netns add ns1` → `ip("netns add ns1")`.
fn call(line: &str) -> String {
    let (program, args) = line.split_once(' ').unwrap_or((line, ""));
    let args = args.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{program}(\"{args}\")")
}

/// The tutorial's first chapter, every command line of its code blocks in order.
const CHAPTER_1: &[&str] = &[
    "ip netns add ns1",
    "ip netns add ns2",
    "ip netns list",
    "ip netns exec ns1 ip a",
    "ip netns exec ns2 ip a",
    "ip link add veth-ns1 type veth peer name veth-ns2",
    "ip link",
    "ip link set veth-ns1 netns ns1",
    "ip link set veth-ns2 netns ns2",
    "ip netns exec ns1 ip link",
    "ip netns exec ns2 ip link",
    "ip link",
    "ip netns exec ns1 ip addr add 192.168.1.1/24 dev veth-ns1",
    "ip netns exec ns2 ip addr add 192.168.1.2/24 dev veth-ns2",
    "ip netns exec ns1 ip a",
    "ip netns exec ns2 ip a",
    "ip netns exec ns1 ip link set dev veth-ns1 up",
    "ip netns exec ns2 ip link set dev veth-ns2 up",
    "ip netns exec ns1 ip a",
    "ip netns exec ns2 ip a",
    "ip netns exec ns1 ping -c 2 -i 0.2 192.168.1.2",
    "ip netns exec ns2 ping -c 2 -i 0.2 192.168.1.1",
    "ip netns list",
];

/// Runs `lines` in order through the fronts, printing each output between markers.
fn typed(lines: &[&str]) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("print(`<<{i}>>${{{}}}<</{i}>>`);\n", call(line)))
        .collect()
}

/// The output of line `i` of a run of [`typed`].
fn output(stdout: &str, i: usize) -> &str {
    let start = format!("<<{i}>>");
    let from = stdout.find(&start).expect("the line ran") + start.len();
    let to = stdout[from..].find(&format!("<</{i}>>")).expect("end") + from;
    &stdout[from..to]
}

#[test]
fn chapter_1_typed_builds_the_lab_of_01_netns_veth() {
    for user in users() {
        let script = format!(
            "{}\n\
             // The same lab as scripts/01-netns-veth.rhai, read from the kernel.\n\
             assert_eq(namespaces(), [\"ns2\", \"ns1\"]);\n\
             assert_eq(links(\"ns1\").map(|l| l.name), [\"lo\", \"veth-ns1\"]);\n\
             assert_eq(links(\"ns2\").map(|l| l.name), [\"lo\", \"veth-ns2\"]);\n\
             assert(!host().has_link(\"veth-ns1\") && !host().has_link(\"veth-ns2\"));\n\
             let a = link(\"ns1\", \"veth-ns1\");\n\
             let b = link(\"ns2\", \"veth-ns2\");\n\
             assert_eq(a.peer_ifindex, b.ifindex);\n\
             assert_eq(b.peer_ifindex, a.ifindex);\n\
             assert_eq([a.state, b.state], [\"UP\", \"UP\"]);\n\
             assert(a.has_addr(\"192.168.1.1/24\") && b.has_addr(\"192.168.1.2/24\"));\n\
             assert_eq(ip_route(\"ns1\").split(\"\\n\")[0], \"192.168.1.0/24 dev veth-ns1 proto kernel scope link src 192.168.1.1 \");\n\
             assert_reach(\"ns1\", \"192.168.1.2\");\n\
             assert_reach(\"ns2\", \"192.168.1.1\");\n\
             assert_no_reach(host(), \"192.168.1.1\");\n\
             print(\"SAME LAB\");",
            typed(CHAPTER_1)
        );
        let run = netsh().user(user).eval(&script).run().success();
        let out = &run.stdout;
        assert!(out.contains("SAME LAB"), "{out}");
        // What each command printed, as iproute2 and iputils print it.
        assert_eq!(output(out, 0), "");
        assert_eq!(output(out, 2), "ns2\nns1\n");
        assert_eq!(
            output(out, 3),
            "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN group default qlen 1000\n    \
             link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
        );
        assert!(output(out, 6).contains("veth-ns1@veth-ns2: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n"));
        assert!(!output(out, 11).contains("veth-ns"), "{}", output(out, 11));
        assert!(output(out, 10).contains("veth-ns2@if"));
        assert!(output(out, 15).contains("    inet 192.168.1.2/24 scope global veth-ns2\n       valid_lft forever preferred_lft forever\n"));
        assert!(output(out, 18).contains("<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000"));
        let ping = output(out, 20);
        assert!(
            ping.starts_with("PING 192.168.1.2 (192.168.1.2) 56(84) bytes of data.\n64 bytes from 192.168.1.2: icmp_seq=1 ttl=64 time="),
            "{ping}"
        );
        assert!(ping.contains("64 bytes from 192.168.1.2: icmp_seq=2 ttl=64 time="));
        assert!(ping.contains("\n\n--- 192.168.1.2 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time "));
        assert!(ping.contains("\nrtt min/avg/max/mdev = "));
        assert!(output(out, 21).contains("2 packets transmitted, 2 received, 0% packet loss"));
        // After the veth, the host knows both namespaces by an ID (the uplink's namespace
        // beyond eth0 took the first).
        let list = output(out, 22);
        assert!(
            list.starts_with("ns2 (id: ") && list.contains("\nns1 (id: "),
            "{list}"
        );
    }
}

#[test]
fn bridge_chapter_views_and_a_bridge_built_with_brctl() {
    // The bridge chapter's ip and brctl lines (docker's through the existing bindings):
    // docker0 in `ip a`, the container's veth as a port in `brctl show`.
    let script = r#"
        let a = ip("a");
        assert(a.contains("docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default \n"), a);
        assert(a.contains("    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\n"), a);
        let mytom = run("mytom");
        let port = host().links().filter(|l| l.master == "docker0")[0];
        let eth0 = link(mytom, "eth0");
        assert(ip("a").contains(`${port.ifindex}: ${port.name}@if${eth0.ifindex}: <BROADCAST,MULTICAST,UP,LOWER_UP>`), ip("a"));
        let id = host().link("docker0").mac;
        id.replace(":", "");
        assert_eq(brctl("show"), brctl_show());
        assert(brctl("show").contains("docker0\t\t8000." + id + "\tno\t\t" + port.name + "\n"), brctl("show"));
        assert_eq(brctl("show docker0"), brctl_show());

        // A bridge of one's own, typed: two namespaces through br0 on the host.
        brctl("addbr br0");
        ip("link set br0 up");
        for n in [1, 2] {
            ip(`netns add b${n}`);
            ip(`link add vb${n} type veth peer name eth0 netns b${n}`);
            brctl(`addif br0 vb${n}`);
            ip(`link set vb${n} up`);
            ip(`-n b${n} addr add 10.50.0.${n}/24 dev eth0`);
            ip(`-n b${n} link set eth0 up`);
            ip(`-n b${n} link set lo up`);
        }
        let shown = brctl("show br0");
        assert(shown.contains("br0\t\t8000.") && shown.contains("\tno\t\tvb1\n\t\t\t\t\t\t\tvb2\n"), shown);
        assert_eq(host().link("vb1").master, "br0");
        let p = ip("netns exec b1 ping -c 1 10.50.0.2");
        assert(p.contains("1 packets transmitted, 1 received, 0% packet loss"), p);
        assert(ip("-n b1 neigh").contains("10.50.0.2 dev eth0 lladdr "), ip("-n b1 neigh"));
        // Out of the bridge, vb2's namespace is cut off: a real ping that must fail.
        brctl("delif br0 vb2");
        assert_eq(host().link("vb2").master, ());
        try { ip("netns exec b1 ping -c 1 -W 0.3 10.50.0.2"); fail("a reply without the bridge"); }
        catch (e) { assert_eq(last_status(), 1); assert(e.contains("100% packet loss"), e); }
        ip("link set vb2 master br0");
        assert(ping("b1", "10.50.0.2").ok, "back on the bridge");
        ip("link set vb2 nomaster");
        ip("link set br0 down");
        ip("link set vb1 nomaster");
        brctl("delbr br0");
        assert(!host().has_link("br0"));
        print("BRIDGES OK");
    "#;
    netsh()
        .eval(script)
        .run()
        .success()
        .stdout_has("BRIDGES OK");
}

#[test]
fn routes_addresses_and_macs_typed() {
    let script = r#"
        ip("netns add r1");
        ip("netns add r2");
        ip("link add va type veth peer name vb");
        ip("link set va netns r1 up");
        ip("link set vb netns r2");
        ip("-n r2 link set dev vb address 02:00:00:00:00:0b up");
        assert_eq(link("r2", "vb").mac, "02:00:00:00:00:0b");
        ip("-n r1 addr add 10.60.0.1/24 brd + dev va");
        ip("-n r2 a add 10.60.0.2/24 dev vb");
        assert(ip("-n r1 a show va").contains("inet 10.60.0.1/24 brd 10.60.0.255 scope global va"), ip("-n r1 a show va"));
        ip("-n r2 addr add 10.70.0.2/32 dev vb");
        // A route typed with via, one with dev, and the default route.
        ip("-n r1 route add 10.70.0.0/24 via 10.60.0.2");
        ip("-n r1 r add 10.80.0.0/16 dev va");
        ip("-n r2 route add default via 10.60.0.1");
        let r = ip("-n r1 route");
        assert(r.contains("10.70.0.0/24 via 10.60.0.2 dev va \n"), r);
        assert(r.contains("10.80.0.0/16 dev va scope link \n"), r);
        assert_eq(ip("-n r2 route show").split("\n")[0], "default via 10.60.0.1 dev vb ");
        // `ip route` is IPv4 only; ip_route() adds `ip -6 route` after it.
        assert(ip_route("r1").starts_with(ip("-n r1 route")), ip_route("r1"));
        assert(ip("-6 -n r1 route").contains("fe80::/64 dev va proto kernel metric 256 pref medium"), ip("-6 -n r1 route"));
        let p = ip("netns exec r1 ping -c 1 10.70.0.2");
        assert(p.contains("1 received"), p);
        ip("-n r1 route del 10.70.0.0/24");
        try { ip("netns exec r1 ping -c 1 -W 0.3 10.70.0.2"); fail("routed without a route"); }
        catch (e) { assert_eq(last_status(), 2, e); assert_eq(e, "ping: connect: Network is unreachable"); }
        ip("-n r1 addr del 10.60.0.1/24 dev va");
        assert(!link("r1", "va").has_addr("10.60.0.1/24"));
        // IPv6: `default` follows the gateway's family, or -6.
        ip("-n r1 addr add fd00:60::1/64 dev va");
        ip("-n r2 addr add fd00:60::2/64 dev vb");
        ip("-n r2 route add default via fd00:60::1");
        assert(ip("-6 -n r2 route").contains("default via fd00:60::1 dev vb metric 1024 pref medium"), ip("-6 -n r2 route"));
        assert(!ip("-n r2 route").contains("fd00"), "ip route is IPv4 only");
        ip("-6 -n r2 route del default");
        assert(!ip("-6 -n r2 route").contains("default"));
        ip("-n r2 link del vb");
        print("ROUTES OK");
    "#;
    netsh().eval(script).run().success().stdout_has("ROUTES OK");
}

/// Each refused line: its front's call, the program's stderr and exit status, and the lab
/// (namespaces, links, addresses, routes) unchanged after it.
#[test]
fn refusals_in_the_programs_words_with_their_statuses() {
    let cases: &[(&str, &str, i64)] = &[
        ("ip link set veth9 up", "Cannot find device \"veth9\"", 1),
        (
            "ip netns add ns1",
            "Cannot create namespace file \"/var/run/netns/ns1\": File exists",
            1,
        ),
        (
            "ip netns del ghost",
            "Cannot remove namespace file \"/var/run/netns/ghost\": No such file or directory",
            1,
        ),
        (
            "ip -n ghost a",
            "Cannot open network namespace \"ghost\": No such file or directory",
            255,
        ),
        (
            "ip netns exec ghost ip a",
            "Cannot open network namespace \"ghost\": No such file or directory",
            255,
        ),
        (
            "ip link add v1 type veth peer name v2",
            "RTNETLINK answers: File exists",
            2,
        ),
        (
            "ip -n ns1 addr add 192.168.1.1/24 dev veth-ns1",
            "Error: ipv4: Address already assigned.",
            2,
        ),
        (
            "ip -n ns1 addr del 192.168.1.9/24 dev veth-ns1",
            "Error: ipv4: Address not found.",
            2,
        ),
        (
            "ip -n ns1 route add 192.168.1.0/24 dev veth-ns1",
            "RTNETLINK answers: File exists",
            2,
        ),
        (
            "ip -n ns1 route add default via 10.9.9.9",
            "Error: Nexthop has invalid gateway.",
            2,
        ),
        (
            "ip -n ns1 route del 10.2.0.0/16",
            "RTNETLINK answers: No such process",
            2,
        ),
        (
            "ip link set v1 master v2",
            "RTNETLINK answers: Operation not supported",
            2,
        ),
        (
            "ip link set v1 netns ghost",
            "Error: argument \"ghost\" is wrong: Invalid \"netns\" value",
            255,
        ),
        ("ip link set v1 address zz", "\"zz\" is invalid lladdr.", 1),
        ("ip link add x9 type frob", "Error: Unknown device type.", 2),
        (
            "ip link frob",
            "Command \"frob\" is unknown, try \"ip link help\".",
            255,
        ),
        ("ip frob", "Object \"frob\" is unknown, try \"ip help\".", 1),
        (
            "ip addr add 10.0.0.1/24",
            "Not enough information: \"dev\" argument is required.",
            1,
        ),
        ("ip link show nodev", "Device \"nodev\" does not exist.", 1),
        (
            "brctl addbr docker0",
            "device docker0 already exists; can't create bridge with the same name",
            1,
        ),
        (
            "brctl delbr docker0",
            "bridge docker0 is still up; can't delete it",
            1,
        ),
        (
            "brctl addif docker0 veth9",
            "interface veth9 does not exist!",
            1,
        ),
        ("brctl frob", "never heard of command [frob]", 1),
        (
            "ping -c 1 nohost",
            "ping: nohost: Name or service not known",
            2,
        ),
        ("ping -c x 10.0.0.1", "ping: invalid argument: 'x'", 1),
        ("ping -c 1 -W 0 10.0.0.1", "ping: bad linger time: 0", 2),
        (
            "ip link del lo",
            "RTNETLINK answers: Operation not supported",
            2,
        ),
        (
            "ip netns exec ns1 nosuch-program-xyz",
            "exec of \"nosuch-program-xyz\" failed: exec in netns \"ns1\": cannot run \"nosuch-program-xyz\": not found in PATH",
            255,
        ),
        (
            "ip netns exec ns1 ping -c 1 10.9.9.9",
            "ping: connect: Network is unreachable",
            2,
        ),
    ];
    let mut script = String::from(
        "ip(\"netns add ns1\");\n\
         ip(\"link add veth-ns1 type veth peer name peer1 netns ns1\");\n\
         ip(\"link set veth-ns1 netns ns1\");\n\
         ip(\"-n ns1 addr add 192.168.1.1/24 dev veth-ns1\");\n\
         ip(\"-n ns1 link set veth-ns1 up\");\n\
         ip(\"link add v1 type veth peer name v2\");\n\
         fn views() {\n\
           let v = [namespaces(), brctl_show()];\n\
           v += [ip(\"a\"), ip(\"-n ns1 a\"), ip_route(\"host\"), ip_route(\"ns1\")];\n\
           v\n\
         }\n\
         let before = views();\n",
    );
    for (i, (line, _, _)) in cases.iter().enumerate() {
        script.push_str(&format!(
            "try {{ {}; print(`ACCEPTED {i}`); }} catch (e) {{ print(`REFUSED {i} ${{last_status()}}: ${{e}}|`); }}\n\
             assert_eq(views(), before, \"the lab changed after case {i}\");\n",
            call(line)
        ));
    }
    for user in users() {
        let run = netsh().user(user).eval(&script).run().success();
        for (i, (line, message, status)) in cases.iter().enumerate() {
            let want = format!("REFUSED {i} {status}: {message}|");
            assert!(
                run.stdout.contains(&want),
                "{line}: expected {want:?} in\n{}",
                run.stdout
            );
        }
        run.stdout_has("REFUSED 0 ");
    }
}

#[test]
fn netns_exec_runs_real_programs_and_trace_shows_the_commands() {
    // A program other than ip/ping/brctl runs for real inside the namespace; its exit
    // status and stderr come back.
    netsh()
        .args(["--trace"])
        .eval(
            "ip(\"netns add ns1\");\n\
             ip(\"link add v1 type veth peer name v2 netns ns1\");\n\
             print(ip(\"netns exec ns1 sh -c 'echo inside; cat /proc/net/dev | grep -c v2'\"));\n\
             try { ip(\"netns exec ns1 sh -c 'echo oops >&2; exit 3'\"); } catch (e) { print(`STATUS ${last_status()}: ${e}`); }\n\
             ip(\"-n ns1 link set v2 up\");",
        )
        .run()
        .success()
        .stdout_has("inside\n1\n")
        .stdout_has("STATUS 3: oops")
        .stderr_has("+ ip netns add ns1")
        .stderr_has("+ ip link add v1 type veth peer name v2 netns ns1")
        .stderr_has("+ ip -n ns1 link set dev v2 up");
}

#[test]
fn a_long_ping_stops_at_the_scripts_deadline() {
    // Seconds to spare for the first two lines on a loaded machine (`link set lo up`
    // waits for the kernel's linkwatch work, which waits for the rtnl lock: CI once saw
    // both lines outlast 3 s); the ping takes 20. It stops at the deadline, not at its last
    // request that fits before it.
    let start = std::time::Instant::now();
    netsh()
        .args(["--timeout", "10"])
        .eval(
            "ip(\"netns add a\");\n\
             ip(\"-n a link set lo up\");\n\
             ip(\"netns exec a ping -c 100 -i 0.2 127.0.0.1\");",
        )
        .run()
        .code(1)
        .stderr_has("the script ran longer than 10 s, its time limit")
        .stderr_has("<expr>:3:1");
    let took = start.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(10),
        "stopped after {took:?}"
    );
}

/// `brctl addbr` and `ip link add … type bridge` create a bridge DOWN, as the kernel does
/// (`qdisc noop state DOWN`), so `brctl delbr` deletes it at once.
#[test]
fn new_bridges_from_the_fronts_start_down() {
    netsh()
        .eval(
            "brctl(\"addbr br1\");\n\
             ip(\"link add br2 type bridge\");\n\
             for br in [\"br1\", \"br2\"] {\n\
               let s = ip(`link show ${br}`);\n\
               assert(s.contains(\"<BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN\"), s);\n\
             }\n\
             brctl(\"delbr br1\");\n\
             assert_eq(last_status(), 0);\n\
             assert(!ip(\"link\").contains(\"br1\"), ip(\"link\"));\n\
             print(\"DOWN OK\");",
        )
        .run()
        .success()
        .stdout_has("DOWN OK");
}

/// A ping whose first request cannot leave ends at once, as iputils' failed `connect()`
/// does, whatever the count: it must not go on trying until the script's deadline (these
/// pings would otherwise run forever, or 250 s).
#[test]
fn a_ping_that_cannot_send_ends_at_once_with_iputils_words() {
    netsh()
        .args(["--timeout", "120"])
        .eval(
            "ip(\"netns add n1\");\n\
             for line in [\"netns exec n1 ping 127.0.0.1\", \"netns exec n1 ping -i 5 10.9.9.9\",\n\
                          \"netns exec n1 ping -c 50 -i 5 127.0.0.1\"] {\n\
               try { ip(line); fail(`${line}: pinged with lo down`); }\n\
               catch (e) {\n\
                 assert_eq(last_status(), 2, `${line}: ${e}`);\n\
                 assert_eq(e, \"ping: connect: Network is unreachable\", line);\n\
               }\n\
             }\n\
             print(\"FAST OK\");",
        )
        .run()
        .success()
        .stdout_has("FAST OK");
}

#[test]
fn a_bad_line_points_at_its_call() {
    netsh()
        .eval("let x = 1;\nip(\"link set veth9 up\");")
        .run()
        .code(1)
        .stderr_has("Cannot find device \"veth9\"")
        .stderr_has("<expr>:2:1");
}
