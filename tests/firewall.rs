//! Docker's firewall at scale, with real packets and the rules read back from the kernel:
//! isolation between the 1st and the 200th network, members of one network still reaching
//! each other, internal networks sealed both ways, rules growing linearly, and each change
//! sending only what it concerns.

mod common;

use common::{netsh, users, As};

/// Rules with docker0 alone (see `firewall::FIXED_RULES` + `RULES_PER_NETWORK`).
const BASE_RULES: usize = 11;
const PER_NETWORK: usize = 3;

#[test]
fn two_hundred_networks_stay_isolated_and_rules_grow_linearly() {
    for user in users() {
        two_hundred(user);
    }
}

fn two_hundred(user: As) {
    // The default pools hold 31 networks (Docker 20.10): the others get subnets of their own.
    let run = netsh()
        .user(user)
        .eval(&format!(
            "let counts = [nft_rules().len()];\n\
             for i in 1..=200 {{\n\
               network(`n${{i}}`, #{{subnet: `10.${{i}}.0.0/24`}});\n\
               if i % 50 == 0 {{ counts.push(nft_rules().len()); }}\n\
             }}\n\
             print(`COUNTS ${{counts}}`);\n\
             let a = run(\"aa\", \"n1\");\n\
             let z = run(\"zz\", \"n200\");\n\
             let y = run(\"yy\", \"n200\");\n\
             assert_reach(y, z.ip);\n\
             assert_no_reach(a, z.ip, #{{timeout: 300}});\n\
             assert_no_reach(z, a.ip, #{{timeout: 300}});\n\
             assert_reach(a, \"10.1.0.1\");\n\
             network_rm(\"n100\");\n\
             assert_eq(nft_rules().len(), {} + {PER_NETWORK} * 199);\n\
             assert_no_reach(a, z.ip, #{{timeout: 300}});\n\
             print(\"DONE\");",
            BASE_RULES
        ))
        .run()
        .success()
        .stdout_has("DONE");
    let want: Vec<String> = [0, 50, 100, 150, 200]
        .iter()
        .map(|n| (BASE_RULES + PER_NETWORK * n).to_string())
        .collect();
    run.stdout_has(&format!("COUNTS [{}]", want.join(", ")));
}

/// The change `network()` makes is the same size for the 1st and the 100th network: two
/// chains with three rules, three set elements.
#[test]
fn each_network_sends_only_its_own_rules() {
    let run = netsh()
        .args(["--trace"])
        .eval(
            "for i in 1..=100 { network(`n${i}`, #{subnet: `10.${i}.0.0/24`}); }\n\
             network_rm(\"n50\");",
        )
        .run()
        .success();
    let changes: Vec<&str> = run
        .stderr
        .split("+ nft -f - <<'EOF'\n")
        .skip(2)
        .map(|s| s.split("\nEOF").next().unwrap_or(""))
        .collect();
    assert_eq!(changes.len(), 101, "{}", run.stderr);
    for (i, c) in changes[..100].iter().enumerate() {
        let lines: Vec<&str> = c.lines().collect();
        assert_eq!(lines.len(), 8, "network {}: {c}", i + 1);
        assert!(lines.iter().all(|l| l.starts_with("add ")), "{c}");
    }
    let rm = changes[100];
    assert_eq!(rm.lines().count(), 7, "{rm}");
    assert!(rm.starts_with("delete element ip docker "), "{rm}");
    assert!(rm.contains("delete chain ip docker nat-br-"), "{rm}");
}

#[test]
fn internal_networks_are_sealed_both_ways_members_still_talk() {
    netsh()
        .eval(
            "network(\"locked\", #{internal: true, subnet: \"10.77.0.0/24\"});\n\
             network(\"open\");\n\
             let a = run(\"la\", \"locked\"); let b = run(\"lb\", \"locked\");\n\
             let o = run(\"oo\", \"open\");\n\
             connect(o, \"locked\");\n\
             let out = outside();\n\
             assert_reach(a, b.ip);\n\
             assert_reach(a, o.ip_of(\"locked\"), #{timeout: 1000});\n\
             assert_no_reach(a, \"192.0.2.254\", #{timeout: 300});\n\
             assert_no_reach(a, o.ip_of(\"open\"), #{timeout: 300});\n\
             let c = run(\"cc\");\n\
             assert_no_reach(c, a.ip, #{timeout: 300});\n\
             assert_reach(c, \"192.0.2.254\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}
