//! Docker 20.10's rules for network names, the predefined networks, the network modes
//! (`none`, `host`, `container:`) with connect, disconnect, links, aliases and published
//! ports, and the order of inspect's lists — each text exactly as the reference Docker
//! 20.10.24 prints it, and each refusal leaving the lab as it was.

mod common;

use common::{netsh, refused};

const DAEMON: &str = "Error response from daemon: ";

fn daemon(text: &str) -> String {
    format!("{DAEMON}{text}")
}

#[test]
fn network_names_are_any_but_the_predefined_ones() {
    netsh()
        .eval(
            "for name in [\"my net\", \"a/b\", \"é\", \"x!\", \"x:y\", \"ingress\", \"container:x\"] {\n\
               let n = network(name);\n\
               assert_eq(n.name, name);\n\
               assert(host().has_link(n.bridge), \"its bridge is br-<id>, whatever the name\");\n\
               // `container:x` as a run's network means x's namespace, in Docker too.\n\
               if !name.starts_with(\"container:\") {\n\
                 let c = run(`c${n.short_id}`, name);\n\
                 assert_eq(inspect(c).NetworkSettings.Networks[name].IPAddress, c.ip);\n\
                 rm(c);\n\
               }\n\
               network_rm(name);\n\
             }\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
    let mut cases: Vec<(String, String)> = ["bridge", "host", "none", "default"]
        .iter()
        .map(|n| {
            (
                format!("network(\"{n}\")"),
                daemon(&format!(
                    "operation is not permitted on predefined {n} network"
                )),
            )
        })
        .collect();
    for n in ["bridge", "host", "none"] {
        cases.push((
            format!("network_rm(\"{n}\")"),
            daemon(&format!(
                "{n} is a pre-defined network and cannot be removed"
            )),
        ));
    }
    cases.push((
        "network(\"taken\")".into(),
        daemon("network with name taken already exists"),
    ));
    cases.push((
        "network(\"n\", #{driver: \"host\"})".into(),
        daemon("only one instance of \"host\" network is allowed"),
    ));
    cases.push((
        "network(\"n\", #{driver: \"null\"})".into(),
        daemon("only one instance of \"null\" network is allowed"),
    ));
    cases.push((
        "network(\"n\", #{driver: \"foo\"})".into(),
        daemon("plugin \"foo\" not found"),
    ));
    let cases: Vec<(&str, &str)> = cases
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    refused("network(\"taken\");", &cases);
}

#[test]
fn network_rm_with_endpoints_names_the_full_id() {
    netsh()
        .eval(
            "let n = network(\"busy\"); run(\"c1\", n);\n\
             try { network_rm(n); } catch (e) { print(`REFUSED: ${e}|`); }\n\
             print(`ID: ${n.id}`);",
        )
        .run()
        .success()
        .stdout_has(
            "REFUSED: Error response from daemon: error while removing network: network busy id ",
        )
        .stdout_has(" has active endpoints|");
}

const MODES: &str = "network(\"s\"); run(\"b1\"); run(\"s1\", \"s\");\n\
    run(\"none1\", \"none\"); run(\"host1\", \"host\"); run(\"ctr1\", \"container:b1\");";

#[test]
fn connect_in_every_network_mode() {
    let shared = daemon("container sharing network namespace with another container or host cannot be connected to any other network");
    let private = daemon("container cannot be connected to multiple networks with one of the networks in private (none) mode");
    let host =
        daemon("container cannot be disconnected from host network or connected to host network");
    refused(
        MODES,
        &[
            ("connect(\"none1\", \"s\")", &private),
            ("connect(\"b1\", \"none\")", &private),
            ("connect(\"b1\", \"host\")", &host),
            ("connect(\"host1\", \"s\")", &shared),
            ("connect(\"host1\", \"bridge\")", &shared),
            ("connect(\"ctr1\", \"s\")", &shared),
            ("connect(\"ctr1\", \"host\")", &shared),
            (
                "connect(\"none1\", \"none\")",
                &daemon("endpoint with name none1 already exists in network none"),
            ),
            (
                "connect(\"host1\", \"host\")",
                &daemon("endpoint with name host1 already exists in network host"),
            ),
            (
                "connect(\"s1\", \"bridge\", #{aliases: [\"foo\"]})",
                &daemon("network-scoped alias is supported only for containers in user defined networks"),
            ),
        ],
    );
}

#[test]
fn disconnect_in_every_network_mode() {
    netsh()
        .eval(&format!(
            "{MODES}\n\
             for pair in [[\"host1\", \"host\"], [\"ctr1\", \"bridge\"], [\"ctr1\", \"s\"], [\"b1\", \"none\"], [\"b1\", \"host\"], [\"s1\", \"bridge\"]] {{\n\
               let c = pair[0]; let n = pair[1];\n\
               try {{ disconnect(c, n); }} catch (e) {{ print(`REFUSED ${{c}} ${{n}}: ${{e}}|`); }}\n\
               print(`ID ${{c}}: ${{inspect(c).Id}}`);\n\
             }}\n\
             // A container may leave none, and then join a network.\n\
             disconnect(\"none1\", \"none\");\n\
             assert_eq(inspect(\"none1\").NetworkSettings.Networks.len(), 0);\n\
             connect(\"none1\", \"s\");\n\
             assert_eq(links(\"none1\").map(|l| l.name), [\"lo\", \"eth0\"]);\n\
             assert_reach(\"none1\", inspect(\"s1\").NetworkSettings.Networks.s.IPAddress);\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("REFUSED host1 host: Error response from daemon: container cannot be disconnected from host network or connected to host network|")
        .stdout_has("DONE");
    // Not connected: Docker names the container by its full ID.
    netsh()
        .eval(&format!(
            "{MODES}\n\
             for pair in [[\"ctr1\", \"bridge\"], [\"ctr1\", \"s\"], [\"b1\", \"none\"], [\"b1\", \"host\"], [\"s1\", \"bridge\"]] {{\n\
               let c = pair[0]; let n = pair[1];\n\
               let msg = \"\";\n\
               try {{ disconnect(c, n); }} catch (e) {{ msg = `${{e}}`; }}\n\
               assert_eq(msg, `Error response from daemon: container ${{inspect(c).Id}} is not connected to network ${{n}}`);\n\
             }}\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn run_options_that_the_modes_refuse() {
    let aliases = "network-scoped aliases are only supported for user-defined networks";
    refused(
        MODES,
        &[
            (
                "run(\"p1\", #{network: \"container:b1\", publish: [\"8099:80\"]})",
                &daemon("conflicting options: port publishing and the container type network mode"),
            ),
            (
                "run(\"p12\", #{network: \"container:b1\", link: [\"s1:x\"]})",
                &daemon("conflicting options: container type network can't be used with links. This would result in undefined behavior"),
            ),
            (
                "run(\"p13\", #{network: \"host\", link: [\"s1:x\"]})",
                &daemon("conflicting options: host type networking can't be used with links. This would result in undefined behavior"),
            ),
            // The mode is checked when the container is created, before its links are
            // looked up: a missing link target does not change the answer.
            (
                "run(\"p14\", #{network: \"host\", link: [\"nosuch:x\"]})",
                &daemon("conflicting options: host type networking can't be used with links. This would result in undefined behavior"),
            ),
            (
                "run(\"p15\", #{network: \"container:b1\", link: [\"nosuch:x\"], publish: [\"8099:80\"]})",
                &daemon("conflicting options: container type network can't be used with links. This would result in undefined behavior"),
            ),
            ("run(\"p9\", #{network: \"host\", aliases: [\"x\"]})", aliases),
            ("run(\"p10\", #{network: \"none\", aliases: [\"x\"]})", aliases),
            ("run(\"p11\", #{network: \"container:b1\", aliases: [\"x\"]})", aliases),
            ("run(\"q1\", #{aliases: [\"x\"]})", aliases),
            (
                "run(\"p5\", \"container:nosuch\")",
                &daemon("No such container: nosuch"),
            ),
        ],
    );
    // Accepted: published ports on host are dropped with a warning, --ip with container:
    // is ignored.
    netsh()
        .eval(&format!(
            "{MODES}\n\
             run(\"p2\", #{{network: \"host\", publish: [\"8099:80\"]}});\n\
             assert_eq(port(\"p2\"), \"\");\n\
             assert_eq(inspect(\"p2\").NetworkSettings.Ports.len(), 0);\n\
             assert_eq(inspect(\"p2\").HostConfig.PortBindings[\"80/tcp\"], [#{{HostIp: \"\", HostPort: \"8099\"}}]);\n\
             // On none, Docker takes them without a word and maps nothing.\n\
             run(\"p3\", #{{network: \"none\", publish: [\"8099:80\"]}});\n\
             assert_eq(port(\"p3\"), \"\");\n\
             assert_eq(inspect(\"p3\").NetworkSettings.Ports.len(), 0);\n\
             assert_eq(inspect(\"p3\").HostConfig.PortBindings[\"80/tcp\"][0].HostPort, \"8099\");\n\
             // Neither holds the host port.\n\
             let web = run(\"web\", #{{network: \"s\", publish: [\"8099:80\"]}});\n\
             assert_eq(port(web), \"80/tcp -> 0.0.0.0:8099\\n80/tcp -> [::]:8099\\n\");\n\
             run(\"p6\", #{{network: \"container:b1\", ip: \"1.2.3.4\"}});\n\
             // A none container's links write nothing into its /etc/hosts (Docker 20.10.24:\n\
             // the localhost lines only), while a bridge container's do.\n\
             run(\"p7\", #{{network: \"none\", link: [\"b1:x\"]}});\n\
             assert_eq(hosts_file(\"p7\"), hosts_file(\"none1\"));\n\
             assert(!hosts_file(\"p7\").contains(\"\\tx \"), hosts_file(\"p7\"));\n\
             run(\"p8\", #{{link: [\"b1:x\"]}});\n\
             assert(hosts_file(\"p8\").contains(\"\\tx \"), hosts_file(\"p8\"));\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stderr_has("WARNING: Published ports are discarded when using host network mode")
        .stdout_has("DONE");
}

#[test]
fn inspect_lists_in_dockers_order() {
    netsh()
        .eval(
            "network(\"s\"); network(\"sub\", #{subnet: \"10.77.0.0/16\"});\n\
             let c = run(\"al\", #{network: \"s\", aliases: [\"zz\", \"aa\"]});\n\
             connect(c, \"sub\", #{aliases: [\"yy\", \"bb\"]});\n\
             connect(c, \"bridge\");\n\
             let nets = inspect(c).NetworkSettings.Networks;\n\
             assert_eq(nets.s.Aliases, [\"zz\", \"aa\", c.short_id]);\n\
             assert_eq(nets.sub.Aliases, [\"yy\", \"bb\", c.short_id]);\n\
             // Networks is a Go map: sorted by name, whatever the join order.\n\
             assert_eq(nets.keys(), [\"bridge\", \"s\", \"sub\"]);\n\
             let d = docker_inspect(c);\n\
             assert(d.index_of(\"\\\"bridge\\\": {\") < d.index_of(\"\\\"s\\\": {\"), d);\n\
             assert(d.index_of(\"\\\"s\\\": {\") < d.index_of(\"\\\"sub\\\": {\"), d);\n\
             // Links in the order given; hosts lines likewise.\n\
             run(\"b1\"); run(\"dc\"); run(\"db\");\n\
             let lk = run(\"lk\", #{link: [\"b1:zzz\", \"dc\", \"db:aaa\"]});\n\
             assert_eq(inspect(lk).HostConfig.Links, [\"/b1:/lk/zzz\", \"/dc:/lk/dc\", \"/db:/lk/aaa\"]);\n\
             let h = hosts_file(lk).split(\"\\n\");\n\
             assert(h[6].starts_with(\"172.17.0.3\\tzzz \"), h[6]);\n\
             assert(h[7].starts_with(\"172.17.0.4\\tdc \"), h[7]);\n\
             assert(h[8].starts_with(\"172.17.0.5\\taaa \"), h[8]);\n\
             // Containers of a network: a Go map, sorted by container ID.\n\
             for i in 0..6 { run(`m${i}`, \"s\"); }\n\
             let ids = inspect(\"s\").Containers.keys();\n\
             let sorted = ids; sorted.sort();\n\
             assert_eq(ids, sorted);\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}
