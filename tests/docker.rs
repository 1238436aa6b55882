//! Docker's network model on real kernel objects: every refused operation fails with
//! Docker's words and leaves the lab exactly as it was.

mod common;

use common::netsh;

/// Runs `setup`, then `refused` (which must fail with `message`), then checks that the
/// networks, containers and host links are what they were before `refused`.
fn refused(setup: &str, refused: &str, message: &str) {
    let script = format!(
        "{setup}\n\
         let before = [network_ls(), containers(), host().link_names(), brctl_show()];\n\
         let failed = false;\n\
         try {{ {refused}; }} catch (e) {{ print(`REFUSED: ${{e}}`); failed = true; }}\n\
         assert(failed, \"the operation was accepted\");\n\
         assert_eq([network_ls(), containers(), host().link_names(), brctl_show()], before, \"the lab changed\");"
    );
    netsh()
        .eval(&script)
        .run()
        .success()
        .stdout_has("REFUSED: Error response from daemon: ")
        .stdout_has(message);
}

#[test]
fn duplicate_network_name() {
    refused(
        "network(\"bridge2\");",
        "network(\"bridge2\")",
        "network with name bridge2 already exists",
    );
}

#[test]
fn unknown_network_and_container() {
    refused("", "run(\"bb\", \"bridge3\")", "network bridge3 not found");
    refused("", "connect(\"bb9\", \"bridge\")", "No such container: bb9");
    refused(
        "run(\"bb\");",
        "connect(\"bb\", \"nonet\")",
        "network nonet not found",
    );
    refused("", "rm(\"ghost\")", "No such container: ghost");
    refused("", "network_rm(\"ghost\")", "network ghost not found");
}

#[test]
fn overlapping_subnet() {
    refused(
        "network(\"n1\", #{subnet: \"10.1.0.0/16\"});",
        "network(\"n2\", #{subnet: \"10.1.128.0/17\"})",
        "Error response from daemon: Pool overlaps with other one on this address space",
    );
    refused(
        "",
        "network(\"n2\", #{subnet: \"172.17.0.0/24\"})",
        "Error response from daemon: Pool overlaps with other one on this address space",
    );
}

#[test]
fn removing_a_network_with_endpoints() {
    refused(
        "let n = network(\"bridge2\"); run(\"bb\", n);",
        "network_rm(\"bridge2\")",
        "has active endpoints",
    );
    refused(
        "",
        "network_rm(\"bridge\")",
        "bridge is a pre-defined network and cannot be removed",
    );
}

#[test]
fn connecting_twice_and_disconnecting_what_is_not_connected() {
    refused(
        "network(\"bridge2\"); run(\"bb1\"); connect(\"bb1\", \"bridge2\");",
        "connect(\"bb1\", \"bridge2\")",
        "endpoint with name bb1 already exists in network bridge2",
    );
    refused(
        "network(\"bridge2\"); run(\"bb1\");",
        "disconnect(\"bb1\", \"bridge2\")",
        // Docker names the container by its full ID here.
        " is not connected to network bridge2",
    );
}

#[test]
fn invalid_and_taken_names() {
    refused(
        "",
        "run(\"bb!\")",
        "Invalid container name (bb!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
    );
    refused(
        "run(\"bb\");",
        "run(\"bb\")",
        "Conflict. The container name \"/bb\" is already in use by container",
    );
    // Docker 20.10 takes any network name but the predefined ones.
    refused(
        "",
        "network(\"bridge\")",
        "operation is not permitted on predefined bridge network",
    );
}

#[test]
fn fixed_addresses() {
    refused(
        "network(\"n1\", #{subnet: \"10.5.0.0/24\"}); run(\"a1\", #{network: \"n1\", ip: \"10.5.0.9\"});",
        "run(\"a2\", #{network: \"n1\", ip: \"10.5.0.9\"})",
        "Address already in use",
    );
    refused(
        "",
        "run(\"a3\", #{ip: \"172.17.0.9\"})",
        "user specified IP address is supported on user defined networks only",
    );
}

#[test]
fn fixed_ip_custom_gateway_internal_network_and_removal() {
    netsh()
        .eval(
            "let n = network(\"n1\", #{subnet: \"10.5.0.0/24\", gateway: \"10.5.0.254\", internal: true});\n\
             let a = run(\"a1\", #{network: \"n1\", ip: \"10.5.0.9\"});\n\
             let b = run(\"b1\", n);\n\
             assert_eq(a.ip, \"10.5.0.9\"); assert_eq(b.ip, \"10.5.0.1\");\n\
             assert_eq(host().link(n.bridge).addrs[0], \"10.5.0.254/24\");\n\
             assert_eq(inspect(\"a1\").NetworkSettings.Networks.n1.IPAMConfig.IPv4Address, \"10.5.0.9\");\n\
             assert_reach(a, \"10.5.0.1\");\n\
             // Docker routes through an internal network's gateway too; the firewall stops\n\
             // what would leave.\n\
             assert(ip_route(a).contains(\"default via 10.5.0.254 dev eth0\"), ip_route(a));\n\
             let c = run(\"c1\");\n\
             assert_no_reach(c, \"10.5.0.9\");\n\
             rm(a); rm(b);\n\
             assert_eq(host().links().filter(|l| l.master == n.bridge), [], \"the veths went with the containers\");\n\
             let br = n.bridge;\n\
             network_rm(n);\n\
             assert(!host().has_link(br), \"the bridge went with the network\");\n\
             let again = run(\"a1\", #{network: \"bridge\"});\n\
             assert_eq(again.ip, \"172.17.0.3\");",
        )
        .run()
        .success();
}

#[test]
fn disconnect_moves_the_default_route() {
    netsh()
        .eval(
            "network(\"n1\"); let c = run(\"c1\"); connect(c, \"n1\");\n\
             assert(ip_route(c).contains(\"default via 172.17.0.1 dev eth0\"));\n\
             disconnect(c, \"bridge\");\n\
             assert_eq(links(c).map(|l| l.name), [\"lo\", \"eth1\"]);\n\
             assert(ip_route(c).contains(\"default via 172.18.0.1 dev eth1\"), ip_route(c));\n\
             connect(c, \"bridge\");\n\
             assert_eq(links(c).map(|l| l.name), [\"lo\", \"eth1\", \"eth2\"], \"Docker never reuses eth0\");\n\
             assert(ip_route(c).contains(\"default via 172.17.0.1 dev eth2\"), \"bridge sorts before n1\");\n\
             assert_reach(c, \"172.17.0.1\");",
        )
        .run()
        .success();
}

#[test]
fn docker_inspect_prints_dockers_json() {
    netsh()
        .eval("network(\"bridge2\"); run(\"bb\", \"bridge2\"); print(network_inspect(\"bridge2\")); print(docker_inspect(\"bb\"));")
        .run()
        .success()
        .stdout_has("[\n    {\n        \"Name\": \"bridge2\",\n        \"Id\": ")
        .stdout_has("\"IPAM\": {\n            \"Driver\": \"default\",\n            \"Options\": {},\n            \"Config\": [\n                {\n                    \"Subnet\": \"172.18.0.0/16\",\n                    \"Gateway\": \"172.18.0.1\"\n")
        .stdout_has("\"Name\": \"/bb\"")
        .stdout_has("\"MacAddress\": \"02:42:ac:12:00:02\"");
}

/// An "outside" namespace beyond the host knows no route to the containers' subnets, so a
/// reply can only come back if the host masqueraded the request; internal networks get
/// nothing out at all.
#[test]
fn traffic_leaving_the_host_is_masqueraded() {
    netsh()
        .eval(
            "let out = netns(\"outside\");\n\
             host().veth(\"ext0\", out, \"eth0\");\n\
             host().addr(\"ext0\", \"10.99.0.1/24\"); host().up(\"ext0\");\n\
             out.addr(\"eth0\", \"10.99.0.2/24\"); out.up(\"eth0\");\n\
             let c = run(\"c1\");\n\
             network(\"n1\"); let d = run(\"d1\", \"n1\");\n\
             assert_reach(c, \"10.99.0.2\");\n\
             assert_reach(d, \"10.99.0.2\");\n\
             network(\"locked\", #{internal: true}); let e = run(\"e1\", \"locked\");\n\
             assert_no_reach(e, \"10.99.0.2\");\n\
             assert_no_reach(out, \"172.17.0.2\");",
        )
        .run()
        .success();
}

/// The scale the issue promises: 1000 containers on one network, reachable end to end,
/// then all removed with nothing left on the host.
#[test]
fn a_thousand_containers_build_and_tear_down() {
    netsh()
        .eval(
            "let n = network(\"big\");\n\
             for i in 0..1000 { run(`c${i}`, n); }\n\
             assert_eq(host().links().filter(|l| l.master == n.bridge).len(), 1000);\n\
             assert_eq(inspect(\"c999\").NetworkSettings.Networks.big.IPAddress, \"172.18.3.233\");\n\
             assert_reach(\"c0\", \"172.18.3.233\", #{count: 3, interval: 100, timeout: 2000});\n\
             for i in 0..1000 { rm(`c${i}`); }\n\
             network_rm(n);\n\
             assert_eq(host().link_names(), [\"lo\", \"eth0\", \"docker0\"]);\n\
             assert_eq(containers(), []);",
        )
        .run()
        .success();
}
