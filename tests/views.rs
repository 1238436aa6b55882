//! What netsh prints of the lab is what iproute2 prints for the same kernel state, and the
//! kernel state is what Docker 20.10 builds: the kernel's connected routes in `ip_route`,
//! routes as `ip route add` (and libnetwork) make them — `proto boot`, which `ip route`
//! leaves unprinted —, Docker's veths and bridges without a transmit queue (no `qlen`), and a
//! lab host that has its uplink `eth0` from the start, with `outside()` beyond it.

mod common;

use common::{netsh, users};

/// The IPv4 lines of an `ip_route` view (`ip route`; `ip -6 route`'s lines end in `pref`).
const V4: &str =
    "fn v4(routes) { routes.split(\"\\n\").filter(|l| l != \"\" && !l.contains(\" pref \")) }\n";

/// A container on two networks lists its default route, then the kernel's connected route
/// of each interface, in the kernel's order and iproute2's words (`docker exec bb1 ip route`
/// on Docker 20.10 prints the same three lines).
#[test]
fn container_routes_are_what_ip_route_prints() {
    for user in users() {
        netsh()
            .user(user)
            .eval(
                "let c = run(\"c1\");\n\
                 assert_eq(ip_route(c), \"default via 172.17.0.1 dev eth0 \\n\
                 172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \\n\");\n\
                 let n = network(\"n1\");\n\
                 run(\"c2\", n);\n\
                 connect(c, n);\n\
                 assert_eq(ip_route(c), \"default via 172.17.0.1 dev eth0 \\n\
                 172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \\n\
                 172.18.0.0/16 dev eth1 proto kernel scope link src 172.18.0.3 \\n\");\n\
                 // A container on an internal network has its connected route all the same.\n\
                 network(\"locked\", #{internal: true});\n\
                 let e = run(\"e1\", \"locked\");\n\
                 assert(ip_route(e).contains(\"172.19.0.0/16 dev eth0 proto kernel scope link src 172.19.0.2 \\n\"), ip_route(e));\n\
                 assert(!ip_route(c).contains(\"proto static\"));\n\
                 print(\"DONE\");",
            )
            .run()
            .success()
            .stdout_has("DONE");
    }
}

/// Routes a script adds are what `ip route add` makes (proto boot, unprinted); `del_route`
/// removes a route whoever added it, the kernel's connected route included, as `ip route
/// del` does; `--trace` prints the commands without a protocol.
#[test]
fn routes_added_by_hand_are_ip_route_adds() {
    netsh()
        .arg("--trace")
        .eval(&format!(
            "{V4}\
             let n = netns(\"n\");\n\
             n.veth(\"a\", host(), \"b\");\n\
             n.addr(\"a\", \"10.1.0.2/24\"); n.up(\"a\"); host().up(\"b\");\n\
             n.route(\"default\", \"10.1.0.1\");\n\
             n.route(#{{to: \"10.9.0.0/16\", dev: \"a\"}});\n\
             n.route(\"10.8.0.0/16\", \"10.1.0.254\");\n\
             assert_eq(v4(ip_route(n)), [\n\
               \"default via 10.1.0.1 dev a \",\n\
               \"10.1.0.0/24 dev a proto kernel scope link src 10.1.0.2 \",\n\
               \"10.8.0.0/16 via 10.1.0.254 dev a \",\n\
               \"10.9.0.0/16 dev a scope link \",\n\
             ]);\n\
             n.del_route(\"10.9.0.0/16\");\n\
             n.del_route(\"default\");\n\
             n.del_route(\"10.1.0.0/24\");\n\
             assert_eq(v4(ip_route(n)), [\"10.8.0.0/16 via 10.1.0.254 dev a \"]);\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("DONE")
        .stderr_has("+ ip -n n route add default via 10.1.0.1\n")
        .stderr_has("+ ip -n n route add 10.9.0.0/16 dev a\n")
        .stderr_has("+ ip -n n route del 10.1.0.0/24\n");
}

/// libnetwork creates Docker's bridges and both ends of its veths with no transmit queue:
/// `ip link` prints no `qlen` for docker0, br-*, the host's vethXXX or the container's
/// eth0 (the tutorial's `docker exec bb1 ip a` shows `eth0@if17: … qdisc noqueue ` and no
/// more). The user's own veths and bridges, the host's uplink and every lo keep the
/// kernel's 1000, as `ip link add` leaves them.
#[test]
fn dockers_links_have_no_queue() {
    netsh()
        .arg("--trace")
        .eval(
            "let c = run(\"c1\");\n\
             let n = network(\"n1\");\n\
             let eth0 = link(c, \"eth0\");\n\
             let port = host().link(host().links().filter(|l| l.master == \"docker0\")[0].name);\n\
             fn header(text, name) { text.split(\"\\n\").filter(|l| l.contains(`: ${name}`))[0] }\n\
             assert_eq(header(ip_link(c), \"eth0\"),\n\
               `${eth0.ifindex}: eth0@if${port.ifindex}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default `);\n\
             assert_eq(header(ip_a(c), \"eth0\"),\n\
               `${eth0.ifindex}: eth0@if${port.ifindex}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default `);\n\
             assert(header(ip_a(host()), port.name).starts_with(`${port.ifindex}: ${port.name}@if${eth0.ifindex}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP group default `));\n\
             assert(header(ip_a(host()), port.name).ends_with(\"group default \"));\n\
             for br in [\"docker0\", n.bridge] {\n\
               let h = header(ip_link(host()), br);\n\
               assert(h.ends_with(\"mode DEFAULT group default \") && !h.contains(\"qlen\"), h);\n\
             }\n\
             assert(header(ip_a(c), \"lo\").ends_with(\"group default qlen 1000\"));\n\
             assert(header(ip_a(host()), \"eth0\").ends_with(\"group default qlen 1000\"));\n\
             let ns = netns(\"ns1\");\n\
             ns.veth(\"v1\", host(), \"v2\");\n\
             host().bridge(\"br0\");\n\
             assert(header(ip_link(ns), \"v1\").ends_with(\"qlen 1000\"));\n\
             assert(header(ip_link(host()), \"br0\").ends_with(\"qlen 1000\"));\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE")
        .stderr_has(" txqueuelen 0 type bridge\n")
        .stderr_has(" type veth peer name eth0 txqueuelen 0 numtxqueues 1 numrxqueues 1 address ")
        .stderr_has("+ ip -n ns1 link add v1 type veth peer name v2 netns ");
}

/// A fresh lab host is a Docker host: lo, its uplink eth0 (interface 2, with its address,
/// connected route and the default route), then docker0, whose connected route the kernel
/// marks `linkdown` while no container has joined it — as `ip route` shows on a Docker host
/// without containers.
#[test]
fn the_host_starts_with_its_uplink() {
    for user in users() {
        netsh()
            .user(user)
            .eval(&format!(
                "{V4}\
                 assert_eq(host().link_names(), [\"lo\", \"eth0\", \"docker0\"]);\n\
                 assert_eq(namespaces(), []);\n\
                 let eth0 = host().link(\"eth0\");\n\
                 assert_eq([eth0.ifindex, eth0.state, eth0.addrs[0]], [2, \"UP\", \"192.0.2.1/24\"]);\n\
                 assert(ip_a(host()).contains(\"2: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\\n\"), ip_a(host()));\n\
                 assert(ip_a(host()).contains(\"    inet 192.0.2.1/24 brd 192.0.2.255 scope global eth0\\n\"));\n\
                 assert_eq(v4(ip_route(host())), [\n\
                   \"default via 192.0.2.254 dev eth0 \",\n\
                   \"172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown \",\n\
                   \"192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.1 \",\n\
                 ]);\n\
                 // A container on docker0 gives it carrier, and its route loses `linkdown` once\n\
                 // the kernel has processed that (linkwatch, in the background): wait for it.\n\
                 run(\"c1\");\n\
                 let route = \"172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 \";\n\
                 let t = timestamp();\n\
                 while !v4(ip_route(host())).contains(route) && t.elapsed < 10.0 {{ sleep(5); }}\n\
                 assert(v4(ip_route(host())).contains(route), ip_route(host()));\n\
                 // The namespace beyond is no binding's until outside() names it.\n\
                 let hidden = false;\n\
                 try {{ links(\"outside\"); }} catch (e) {{ hidden = true; }}\n\
                 assert(hidden, \"the namespace beyond eth0 answered before outside()\");\n\
                 print(\"DONE\");"
            ))
            .run()
            .success()
            .stdout_has("DONE");
    }
}

/// `outside()` names the namespace beyond the uplink the lab started with (same eth0, no
/// kernel work), and real packets go where they should: containers reach it through the
/// host (masqueraded), an internal network's containers do not, and the outside cannot
/// reach a container, which it has no route to.
#[test]
fn outside_lies_beyond_the_uplink_and_packets_tell() {
    for user in users() {
        netsh()
            .user(user)
            .eval(
                "let c = run(\"c1\");\n\
                 network(\"locked\", #{internal: true});\n\
                 let e = run(\"e1\", \"locked\");\n\
                 let uplink = host().link(\"eth0\").ifindex;\n\
                 // Before outside() is called, the world beyond already answers.\n\
                 assert_reach(c, \"192.0.2.254\", #{count: 3, interval: 500, timeout: 3000});\n\
                 let out = outside();\n\
                 assert_eq(out.name, \"outside\");\n\
                 assert_eq(namespaces(), [\"outside\"]);\n\
                 assert_eq(host().link(\"eth0\").ifindex, uplink, \"outside() kept the uplink\");\n\
                 assert_eq(out.link_names(), [\"lo\", \"eth0\"]);\n\
                 assert_eq(out.addrs(\"eth0\")[0], \"192.0.2.254/24\");\n\
                 assert_reach(out, \"192.0.2.1\");\n\
                 assert_reach(c, \"192.0.2.254\", #{count: 3, interval: 500, timeout: 3000});\n\
                 assert_no_reach(e, \"192.0.2.254\", #{timeout: 300});\n\
                 assert_no_reach(out, c.ip, #{timeout: 300});\n\
                 assert_eq(outside().name, \"outside\", \"named once\");\n\
                 print(\"DONE\");",
            )
            .run()
            .success()
            .stdout_has("DONE");
    }
}

/// A script's own namespace may be called `outside` before `outside()` was asked for: the
/// hidden one moves aside, and `outside()` then names it `outside2` — still the uplink the
/// lab started with.
#[test]
fn a_users_outside_keeps_its_name() {
    netsh()
        .eval(
            "let mine = netns(\"outside\");\n\
             assert_eq(mine.link_names(), [\"lo\"]);\n\
             let uplink = host().link(\"eth0\").ifindex;\n\
             let out = outside();\n\
             assert_eq(out.name, \"outside2\");\n\
             assert_eq(host().link(\"eth0\").ifindex, uplink);\n\
             assert_eq(namespaces(), [\"outside2\", \"outside\"]);\n\
             assert_reach(out, \"192.0.2.1\");\n\
             assert_eq(mine.link_names(), [\"lo\"], \"the user's namespace is untouched\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

/// The real iproute2, run inside the lab (`exec`), prints byte for byte what netsh's views
/// print, for the host, a container on two networks and a namespace of the script's own
/// (IPv6 and a route of its own included). The kernel settles links in the background
/// (carrier, operational state), so the two are compared until they agree; `ip` itself is
/// the machine's, and the test says so and passes when there is none.
#[test]
fn views_are_what_the_real_ip_prints() {
    for user in users() {
        netsh()
            .user(user)
            .eval(
                "if exec(host(), \"ip -V\").code != 0 { print(\"SKIP: no ip on this machine\"); return; }\n\
                 let c = run(\"c1\");\n\
                 connect(c, network(\"n1\"));\n\
                 let ns = netns(\"ns1\");\n\
                 ns.veth(\"v1\", host(), \"v2\");\n\
                 ns.addr(\"v1\", \"10.1.0.2/24\"); ns.addr(\"v1\", \"2001:db8::2/64\");\n\
                 ns.up(\"v1\"); host().up(\"v2\");\n\
                 ns.route(\"default\", \"10.1.0.1\");\n\
                 host().bridge(\"br0\");\n\
                 fn differences(who) {\n\
                   let out = [];\n\
                   for pair in [[\"ip a\", ip_a(who)], [\"ip link\", ip_link(who)], [\"ip route\", ip_route(who)]] {\n\
                     let real = exec(who, pair[0]).stdout;\n\
                     if pair[0] == \"ip route\" { real += exec(who, \"ip -6 route\").stdout; }\n\
                     if real != pair[1] { out.push(`${pair[0]}:\\n--- ip\\n${real}--- netsh\\n${pair[1]}`); }\n\
                   }\n\
                   out\n\
                 }\n\
                 for who in [host(), c, ns] {\n\
                   let t = timestamp();\n\
                   let d = differences(who);\n\
                   while d.len() > 0 && t.elapsed < 10.0 { sleep(20); d = differences(who); }\n\
                   assert_eq(d, []);\n\
                 }\n\
                 print(\"DONE\");",
            )
            .run()
            .success()
            .stdout_has("DONE");
    }
}
