//! Docker 20.10's IPAM on the real kernel: which default pool each network gets over the
//! whole life of a lab (round-robin, removals included), which address each container
//! gets (the lowest free one), and every refusal of a fixed address, for `run` and
//! `connect` alike, in Docker's words. Expected values were read from a real Docker
//! 20.10.24 doing the same steps.

mod common;

use common::netsh;

/// `setup`, then `op`, which must fail with exactly `message` and change nothing.
fn refused(setup: &str, op: &str, message: &str) {
    common::refused(setup, &[(op, message)]);
}

#[test]
fn default_pools_go_round_robin_across_removals() {
    netsh()
        .eval(
            "fn sub(n) { n.subnet }\n\
             let p1 = network(\"p1\"); let p2 = network(\"p2\"); let p3 = network(\"p3\");\n\
             assert_eq([sub(p1), sub(p2), sub(p3)], [\"172.18.0.0/16\", \"172.19.0.0/16\", \"172.20.0.0/16\"]);\n\
             network_rm(p2);\n\
             // p2's pool is not handed out again at once: the search goes on from 172.21.\n\
             let p4 = network(\"p4\"); let p5 = network(\"p5\");\n\
             assert_eq([sub(p4), sub(p5)], [\"172.21.0.0/16\", \"172.22.0.0/16\"]);\n\
             // A subnet given by the user does not move the search.\n\
             network(\"given\", #{subnet: \"172.23.0.0/16\"});\n\
             assert_eq(sub(network(\"p6\")), \"172.24.0.0/16\");\n\
             for i in 0..7 { network(`q${i}`); }\n\
             assert_eq(sub(network(\"q7\")), \"192.168.0.0/20\");\n\
             for i in 1..16 { network(`r${i}`); }\n\
             // The end of the list: round again, to the first free pool, p2's.\n\
             assert_eq(sub(network(\"round\")), \"172.19.0.0/16\");\n\
             let failed = false;\n\
             try { network(\"full\"); } catch (e) { print(`REFUSED: ${e}`); failed = true; }\n\
             assert(failed, \"no pool is left\");\n\
             network_rm(\"p1\");\n\
             assert_eq(sub(network(\"p1again\")), \"172.18.0.0/16\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("REFUSED: Error response from daemon: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
        .stdout_has("DONE");
}

#[test]
fn addresses_are_the_lowest_free_ones() {
    netsh()
        .eval(
            "network(\"s\");\n\
             run(\"sa\", \"s\"); let b = run(\"sb\", \"s\"); rm(\"sa\");\n\
             let c = run(\"sc\", \"s\"); let d = run(\"sd\", \"s\");\n\
             assert_eq([b.ip, c.ip, d.ip], [\"172.18.0.3\", \"172.18.0.2\", \"172.18.0.4\"]);\n\
             rm(b); rm(c); rm(d);\n\
             assert_eq(run(\"se\", \"s\").ip, \"172.18.0.2\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn fixed_addresses_need_a_configured_subnet() {
    let msg = "Error response from daemon: user specified IP address is supported only when connecting to networks with user configured subnets";
    refused(
        "network(\"auto\");",
        "run(\"i1\", #{network: \"auto\", ip: \"172.18.0.50\"})",
        msg,
    );
    refused(
        "network(\"auto\"); run(\"b1\");",
        "connect(\"b1\", \"auto\", #{ip: \"172.18.0.50\"})",
        msg,
    );
    let msg = "Error response from daemon: user specified IP address is supported on user defined networks only";
    for net in ["bridge", "host", "none"] {
        refused(
            "",
            &format!("run(\"i2\", #{{network: \"{net}\", ip: \"172.17.0.50\"}})"),
            msg,
        );
    }
    refused(
        "network(\"n\", #{subnet: \"10.77.0.0/16\"}); run(\"s1\", \"n\");",
        "connect(\"s1\", \"bridge\", #{ip: \"172.17.0.77\"})",
        msg,
    );
    // The CLI refuses a gateway without a subnet (no daemon prefix).
    refused(
        "",
        "network(\"g\", #{gateway: \"10.77.0.1\"})",
        "every ip-range or gateway must have a corresponding subnet",
    );
}

#[test]
fn fixed_addresses_outside_or_in_use() {
    let setup = "network(\"sub\", #{subnet: \"10.77.0.0/16\"}); run(\"i5\", #{network: \"sub\", ip: \"10.77.0.9\"}); run(\"s1\");";
    let outside = "Error response from daemon: Invalid address 10.99.0.5: It does not belong to any of this network's subnets";
    refused(
        setup,
        "run(\"i3\", #{network: \"sub\", ip: \"10.99.0.5\"})",
        outside,
    );
    refused(
        setup,
        "connect(\"s1\", \"sub\", #{ip: \"10.99.0.5\"})",
        outside,
    );
    // The gateway, a container's address, the network and broadcast addresses.
    for held in ["10.77.0.1", "10.77.0.9", "10.77.0.0", "10.77.255.255"] {
        refused(
            setup,
            &format!("run(\"i4\", #{{network: \"sub\", ip: \"{held}\"}})"),
            "Error response from daemon: Address already in use",
        );
        refused(
            setup,
            &format!("connect(\"s1\", \"sub\", #{{ip: \"{held}\"}})"),
            "Error response from daemon: Address already in use",
        );
    }
    refused(
        setup,
        "run(\"i9\", #{network: \"sub\", ip: \"bogus\"})",
        "Error response from daemon: invalid IPv4 address: bogus",
    );
    netsh()
        .eval(&format!(
            "{setup}\n\
             connect(\"s1\", \"sub\", #{{ip: \"10.77.0.10\"}});\n\
             assert_eq(inspect(\"s1\").NetworkSettings.Networks.sub.IPAddress, \"10.77.0.10\");\n\
             assert_reach(\"s1\", \"10.77.0.9\");\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("DONE");
}
