//! Docker 20.10's sandbox rules, checked on the real kernel: the default route is re-chosen
//! on every connect and disconnect (non-internal networks before internal ones, then by
//! network name), interface names count up and are never reused, and the container's own
//! /etc/hosts lines follow its networks. Every expected value below was read from a real
//! Docker 20.10.24 doing the same steps.

mod common;

use common::netsh;

/// Script helpers: the default route line of a container (wt-views may add `proto` or
/// connected routes to `ip_route`; only the default line's start is compared), its
/// interfaces, and its own lines of /etc/hosts, read inside it and from the binding.
const HELPERS: &str = "fn dflt(c) {\n\
    let d = ip_route(c).split(\"\\n\").filter(|l| l.starts_with(\"default\"));\n\
    if d.len() == 0 { return \"\"; }\n\
    assert_eq(d.len(), 1, \"one default route\");\n\
    let w = d[0].split(\" \");\n\
    `${w[0]} ${w[1]} ${w[2]} ${w[3]} ${w[4]}`\n\
}\n\
fn ifs(c) { links(c).map(|l| l.name).filter(|n| n != \"lo\") }\n\
fn own_hosts(c) {\n\
    let inside = exec(c, \"cat /etc/hosts\").stdout;\n\
    assert_eq(inside, hosts_file(c), \"hosts_file() is what the container reads\");\n\
    inside.split(\"\\n\").filter(|l| l.ends_with(c.short_id))\n\
}\n";

fn script(body: &str) -> String {
    format!("{HELPERS}{body}\nprint(\"DONE\");")
}

#[test]
fn the_gateway_moves_with_every_connect_and_disconnect() {
    netsh()
        .eval(&script(
            "let f = network(\"front\"); let b = network(\"back\");\n\
             let c = run(\"gw1\", f);\n\
             assert_eq(dflt(c), \"default via 172.18.0.1 dev eth0\");\n\
             connect(c, b);\n\
             // \"back\" sorts before \"front\".\n\
             assert_eq(dflt(c), \"default via 172.19.0.1 dev eth1\");\n\
             disconnect(c, b);\n\
             assert_eq(dflt(c), \"default via 172.18.0.1 dev eth0\");\n\
             // An internal network comes after every other, whatever its name.\n\
             let i = network(\"aint\", #{internal: true});\n\
             connect(c, i);\n\
             assert_eq(dflt(c), \"default via 172.18.0.1 dev eth0\");\n\
             connect(c, b);\n\
             assert_eq(dflt(c), \"default via 172.19.0.1 dev eth3\");\n\
             disconnect(c, b); disconnect(c, f);\n\
             // Only the internal network is left: its gateway is the default route.\n\
             assert_eq(dflt(c), \"default via 172.20.0.1 dev eth2\");\n\
             disconnect(c, i);\n\
             assert_eq(dflt(c), \"\");\n\
             assert_eq(ifs(c), []);\n\
             connect(c, f);\n\
             assert_eq(dflt(c), \"default via 172.18.0.1 dev eth4\");",
        ))
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn a_container_on_an_internal_network_only_has_its_gateway_as_default_route() {
    netsh()
        .eval(&script(
            "let i = network(\"locked\", #{internal: true});\n\
             let c = run(\"in1\", i);\n\
             assert_eq(dflt(c), \"default via 172.18.0.1 dev eth0\");\n\
             assert_eq(inspect(c).NetworkSettings.Networks.locked.Gateway, \"172.18.0.1\");\n\
             // Its gateway answers; nothing beyond the bridge does.\n\
             assert_reach(c, \"172.18.0.1\");\n\
             outside();\n\
             assert_no_reach(c, \"192.0.2.254\", #{timeout: 300});\n\
             let g = network(\"n1\", #{subnet: \"10.5.0.0/24\", gateway: \"10.5.0.254\", internal: true});\n\
             let d = run(\"in2\", g);\n\
             assert_eq(dflt(d), \"default via 10.5.0.254 dev eth0\");",
        ))
        .run()
        .success()
        .stdout_has("DONE");
}

/// The case: names are never reused, and the default route follows the gateway
/// rule as networks come and go.
#[test]
fn interface_names_are_never_reused() {
    netsh()
        .eval(&script(
            "network(\"rn1\"); network(\"rn2\"); network(\"rn3\");\n\
             let c = run(\"rc1\", \"rn1\");\n\
             connect(\"rc1\", \"rn2\");\n\
             assert_eq(ifs(c), [\"eth0\", \"eth1\"]);\n\
             assert_eq(dflt(c), \"default via 172.18.0.1 dev eth0\");\n\
             disconnect(\"rc1\", \"rn1\");\n\
             assert_eq(dflt(c), \"default via 172.19.0.1 dev eth1\");\n\
             connect(\"rc1\", \"rn3\");\n\
             assert_eq(ifs(c), [\"eth1\", \"eth2\"]);\n\
             assert_eq(dflt(c), \"default via 172.19.0.1 dev eth1\");\n\
             connect(\"rc1\", \"rn1\");\n\
             assert_eq(ifs(c), [\"eth1\", \"eth2\", \"eth3\"]);\n\
             assert_eq(dflt(c), \"default via 172.18.0.1 dev eth3\");\n\
             assert_eq(inspect(c).NetworkSettings.Networks.rn1.IPAddress, \"172.18.0.2\");\n\
             // The default bridge too.\n\
             let d = run(\"rc2\");\n\
             disconnect(d, \"bridge\"); connect(d, \"bridge\");\n\
             assert_eq(ifs(d), [\"eth1\"]);\n\
             assert_eq(dflt(d), \"default via 172.17.0.1 dev eth1\");",
        ))
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn the_containers_own_hosts_lines_follow_its_networks() {
    netsh()
        .eval(&script(
            "network(\"h1\"); network(\"h2\");\n\
             let c = run(\"hc\", \"h1\");\n\
             let id = c.short_id;\n\
             assert_eq(own_hosts(c), [`172.18.0.2\t${id}`]);\n\
             connect(c, \"h2\");\n\
             assert_eq(own_hosts(c), [`172.18.0.2\t${id}`, `172.19.0.2\t${id}`]);\n\
             // Docker 20.10 drops every line of the container here (a known bug); netsh\n\
             // drops h1's only.\n\
             disconnect(c, \"h1\");\n\
             assert_eq(own_hosts(c), [`172.19.0.2\t${id}`]);\n\
             connect(c, \"bridge\");\n\
             assert_eq(own_hosts(c), [`172.19.0.2\t${id}`, `172.17.0.2\t${id}`]);\n\
             // What resolves the container's own name follows too.\n\
             assert_eq(exec(c, `getent hosts ${id}`).stdout.split(\" \")[0], \"172.19.0.2\");",
        ))
        .run()
        .success()
        .stdout_has("DONE");
}

/// Real packets take the chosen route: with the front network's bridge down, only a
/// default route through the back network reaches the outside; when it moves back to
/// front, the same ping fails.
#[test]
fn packets_follow_the_moved_default_route() {
    netsh()
        .eval(&script(
            "outside();\n\
             let f = network(\"front\"); let b = network(\"back\");\n\
             let c = run(\"gw1\", f);\n\
             assert_reach(c, \"192.0.2.254\");\n\
             host().down(f.bridge);\n\
             assert_no_reach(c, \"192.0.2.254\", #{timeout: 300});\n\
             connect(c, b);\n\
             assert_eq(dflt(c), \"default via 172.19.0.1 dev eth1\");\n\
             assert_reach(c, \"192.0.2.254\");\n\
             disconnect(c, b);\n\
             assert_no_reach(c, \"192.0.2.254\", #{timeout: 300});\n\
             host().up(f.bridge);\n\
             // The bridge's carrier comes back a moment after it is up: allow a few tries.\n\
             assert_reach(c, \"192.0.2.254\", #{count: 3, interval: 100, timeout: 2000});",
        ))
        .run()
        .success()
        .stdout_has("DONE");
}
