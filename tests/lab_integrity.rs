//! The lab never stays half-done: deleting a namespace deletes it for real, every Docker
//! operation that fails in the middle leaves the lab as it was (each step is broken in
//! turn with `NETSH_TEST_FAIL_OP`), names never mean two things, `outside()` works whatever
//! the lab already has, and `--trace` prints commands that are safe to paste.

mod common;

use common::{netsh, users};

/// Everything a script can see of the lab, as one value to compare before and after:
/// Docker's views, its firewall as the kernel holds it, and every namespace's links (name, kind, master, admin state, MAC,
/// addresses) and routes. Carrier, operational state and IPv6 link-local addresses (and their
/// `fe80::/64` routes) are left out: the kernel makes a link-local address when a link first
/// gets a carrier — a bridge its first port — and keeps it, as on any host; taking it away
/// would stop the kernel from making it again.
const VIEWS: &str = "fn ns_view(n) {\n\
    let v = [];\n\
    for l in links(n) {\n\
      let addrs = [];\n\
      for a in l.addrs { if !a.starts_with(\"fe80\") { addrs.push(a); } }\n\
      v.push([l.name, l.kind, l.master, l.up, l.mac, addrs]);\n\
    }\n\
    let routes = [];\n\
    for r in ip_route(n).split(\"\\n\") { if !r.starts_with(\"fe80\") { routes.push(r); } }\n\
    v.push(routes);\n\
    v\n\
}\n\
fn views() {\n\
    let v = [network_ls(), containers(), networks(), namespaces(), brctl_show(), nft_rules()];\n\
    v.push(ns_view(host()));\n\
    for n in networks() { v.push(network_inspect(n)); }\n\
    for c in containers() {\n\
      v.push(docker_inspect(c)); v.push(port(c));\n\
      if docker(`inspect -f {{.State.Running}} ${c}`) == \"true\\n\" {\n\
        v.push(ns_view(c)); v.push(hosts_file(c));\n\
      }\n\
    }\n\
    for n in namespaces() { v.push(ns_view(n)); }\n\
    v\n\
}\n";

#[test]
fn del_netns_stops_what_runs_there_and_the_namespace_really_goes() {
    for user in users() {
        del_netns_really_deletes(user);
    }
}

fn del_netns_really_deletes(user: common::As) {
    netsh()
        .user(user)
        .eval(
            "let a = netns(\"a\"); let b = netns(\"b\");\n\
             a.veth(\"va\", b, \"vb\");\n\
             a.addr(\"va\", \"10.9.0.1/24\"); b.addr(\"vb\", \"10.9.0.2/24\");\n\
             a.up(\"va\"); b.up(\"vb\"); b.up(\"lo\");\n\
             serve(b, 80); serve(b, 53, \"udp\");\n\
             exec(b, \"sleep 1000\", #{detach: true});\n\
             assert(tcp(a, \"10.9.0.2:80\").ok, \"the responder answers before\");\n\
             assert_reach(a, \"10.9.0.2\");\n\
             del_netns(b);\n\
             assert_eq(namespaces(), [\"a\"]);\n\
             assert_eq(a.link_names(), [\"lo\"], \"the peer of vb went with b\");\n\
             assert_no_reach(a, \"10.9.0.2\", #{timeout: 300});\n\
             // The name is free again, for a new, empty namespace.\n\
             let b2 = netns(\"b\");\n\
             assert_eq(b2.link_names(), [\"lo\"]);\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn del_netns_refuses_containers_and_the_host() {
    netsh()
        .eval(&format!(
            "{VIEWS}\
             network(\"n2\"); let c = run(\"c1\", \"n2\"); serve(c, 80);\n\
             let before = views();\n\
             for x in [c, \"c1\", host(), \"host\"] {{\n\
               let refused = false;\n\
               try {{ del_netns(x); }} catch (e) {{ print(`REFUSED: ${{e}}`); refused = true; }}\n\
               assert(refused, `del_netns(${{x}}) was accepted`);\n\
             }}\n\
             assert_eq(views(), before, \"the lab changed\");\n\
             let out = netns(\"o\"); out.veth(\"x\", host(), \"y\");\n\
             assert(resolve(c, \"c1\") != (), \"the container's DNS still answers\");"
        ))
        .run()
        .success()
        .stdout_has("REFUSED: del_netns: that is the network namespace of container \"c1\"; remove the container with rm(\"c1\")")
        .stdout_has("REFUSED: the lab's host namespace cannot be deleted");
}

#[test]
fn a_name_means_a_namespace_or_a_container_never_both() {
    let run = netsh()
        .eval(&format!(
            "{VIEWS}\
             run(\"c1\"); netns(\"n1\");\n\
             let before = views();\n\
             for f in [|| netns(\"c1\"), || run(\"n1\"), || run(\"n1\", \"none\")] {{\n\
               let refused = false;\n\
               try {{ f.call(); }} catch (e) {{ print(`REFUSED: ${{e}}`); refused = true; }}\n\
               assert(refused, \"accepted\");\n\
             }}\n\
             assert_eq(views(), before, \"the lab changed\");\n\
             // Names resolve without doubt: \"c1\" is the container, \"n1\" the namespace.\n\
             assert_eq(links(\"c1\").map(|l| l.name), [\"lo\", \"eth0\"]);\n\
             assert_eq(links(\"n1\").map(|l| l.name), [\"lo\"]);\n\
             // Once the container is gone its name is free for a namespace, and back.\n\
             rm(\"c1\"); netns(\"c1\"); del_netns(\"n1\"); run(\"n1\");\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("DONE");
    assert!(
        run.stdout.contains(
            "REFUSED: cannot create network namespace \"c1\": a container is named \"c1\""
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "REFUSED: cannot create container \"n1\": a network namespace is named \"n1\""
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn outside_takes_what_is_free() {
    netsh()
        .eval(
            "network(\"testnet\", #{subnet: \"192.0.2.0/24\"});\n\
             netns(\"outside\");\n\
             let c = run(\"c1\", \"testnet\");\n\
             let out = outside();\n\
             assert(out.name != \"outside\", `outside() reused the user's namespace: ${out.name}`);\n\
             assert_eq(out.addrs(\"eth0\")[0], \"198.51.100.254/24\");\n\
             assert_eq(host().addrs(\"eth0\")[0], \"198.51.100.1/24\");\n\
             // Containers reach it through the host (masqueraded), as they would the internet.\n\
             assert_reach(c, \"198.51.100.254\");\n\
             assert_eq(outside().name, out.name, \"made once\");\n\
             assert_eq(links(\"outside\").map(|l| l.name), [\"lo\"], \"the user's namespace is untouched\");\n\
             // Deleted, it is made again on the next call, with its route.\n\
             del_netns(out);\n\
             assert_no_reach(c, \"198.51.100.254\", #{timeout: 300});\n\
             let again = outside();\n\
             assert_reach(c, \"198.51.100.254\");\n\
             assert_eq(ip_route(host()).split(\"\\n\")[0], \"default via 198.51.100.254 dev eth0 \");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn outside_refuses_clearly_and_builds_nothing() {
    netsh()
        .eval(&format!(
            "{VIEWS}\
             let o = netns(\"o\"); o.veth(\"v\", host(), \"to-o\");\n\
             o.addr(\"v\", \"10.7.0.2/24\"); host().addr(\"to-o\", \"10.7.0.1/24\");\n\
             o.up(\"v\"); host().up(\"to-o\");\n\
             // The uplink the lab started with goes, and the host's default route with it.\n\
             del_netns(outside());\n\
             assert(!host().has_link(\"eth0\"));\n\
             host().route(\"default\", \"10.7.0.2\");\n\
             let before = views();\n\
             let refused = false;\n\
             try {{ outside(); }} catch (e) {{ print(`REFUSED: ${{e}}`); refused = true; }}\n\
             assert(refused, \"accepted\");\n\
             assert_eq(views(), before, \"the lab changed\");\n\
             host().del_route(\"default\");\n\
             let out = outside();\n\
             assert_reach(host(), \"192.0.2.254\");\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("REFUSED: outside(): the host already has a default route")
        .stdout_has("DONE");
}

#[test]
fn subnets_that_can_never_hold_a_container_are_refused() {
    let run = netsh()
        .eval(&format!(
            "{VIEWS}\
             let before = views();\n\
             for s in [\"0.0.0.0/8\", \"127.0.0.0/8\", \"224.0.0.0/4\", \"239.255.0.0/16\",\n\
                       \"255.255.255.255/32\", \"10.0.0.0/31\", \"10.0.0.0/32\", \"nonsense\",\n\
                       \"10.0.0.0/33\"] {{\n\
               let refused = false;\n\
               try {{ network(\"bad\", #{{subnet: s}}); }}\n\
               catch (e) {{ print(`REFUSED ${{s}}: ${{e}}`); refused = true; }}\n\
               assert(refused, `${{s}} was accepted`);\n\
             }}\n\
             assert_eq(views(), before, \"the lab changed\");\n\
             let n = network(\"good\", #{{subnet: \"10.0.0.0/30\"}});\n\
             let c = run(\"c1\", n);\n\
             assert_eq(c.ip, \"10.0.0.2\");"
        ))
        .run()
        .success();
    for (subnet, why) in [
        (
            "0.0.0.0/8",
            "cannot use subnet 0.0.0.0/8 for a bridge network: 0.0.0.0/8 means \"this network\"",
        ),
        ("127.0.0.0/8", "127.0.0.0/8 is loopback"),
        ("224.0.0.0/4", "224.0.0.0/4 is multicast"),
        ("239.255.0.0/16", "224.0.0.0/4 is multicast"),
        ("255.255.255.255/32", "255.255.255.255"),
        (
            "10.0.0.0/31",
            "Error response from daemon: failed to allocate gateway (): No available addresses on this pool",
        ),
        (
            "10.0.0.0/32",
            "Error response from daemon: failed to allocate gateway (): No available addresses on this pool",
        ),
        (
            "nonsense",
            "Error response from daemon: Invalid subnet nonsense : invalid CIDR address: nonsense",
        ),
        ("10.0.0.0/33", "Invalid subnet 10.0.0.0/33"),
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("REFUSED {subnet}: ")))
            .unwrap_or_else(|| panic!("no refusal for {subnet}:\n{}", run.stdout));
        assert!(line.contains(why), "{line}");
        if !why.starts_with("Error response") && !subnet.contains("/33") {
            assert!(
                !line.contains("Error response from daemon"),
                "netsh's own refusal dressed as Docker's: {line}"
            );
        }
    }
}

#[test]
fn trace_prints_commands_safe_to_paste() {
    let run = netsh()
        .args(["--trace"])
        .eval(
            "let n = netns(\"a;id\"); n.veth(\"x$(id)\", \"it's\");\n\
             n.sysctl(\"net.ipv4.ip_forward\", \"1\");\n\
             let m = netns(\"ünï`id`\"); n.move_link(\"it's\", m);",
        )
        .run()
        .success();
    for cmd in [
        "+ ip netns add 'a;id'\n",
        "+ ip -n 'a;id' link add 'x$(id)' type veth peer name \"it's\"\n",
        "+ ip netns exec 'a;id' sysctl -w net.ipv4.ip_forward=1\n",
        "+ ip -n 'a;id' link set \"it's\" netns 'ünï`id`'\n",
    ] {
        assert!(
            run.stderr.contains(cmd),
            "trace lacks {cmd:?}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn names_that_no_shell_word_or_kernel_takes_are_refused() {
    let run = netsh()
        .eval(
            "for name in [\"a b\", \"a\\nb\", \"\", \"-n\", \".\", \"a/b\"] {\n\
               try { netns(name); print(`ACCEPTED ${name}`); } catch (e) { print(`REFUSED: ${e}`); }\n\
             }\n\
             let n = netns(\"n\");\n\
             for dev in [\"a b\", \"a\\tb\", \"\", \"-x\", \"..\", \"a:b\", \"sixteen-bytes-xx\", \"a\\u0000b\"] {\n\
               try { n.veth(dev, \"p\"); print(`ACCEPTED ${dev}`); } catch (e) { print(`REFUSED: ${e}`); }\n\
             }\n\
             assert_eq(namespaces(), [\"n\"]);\n\
             assert_eq(n.link_names(), [\"lo\"]);",
        )
        .run()
        .success();
    assert!(!run.stdout.contains("ACCEPTED"), "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("REFUSED: invalid name: ").count(),
        14,
        "{}",
        run.stdout
    );
}

/// The number of kernel operations a script makes, from its `--trace`.
fn op_count(script: &str) -> usize {
    let run = netsh().args(["--trace"]).eval(script).run().success();
    run.stderr.lines().filter(|l| l.starts_with("+ ")).count()
}

/// Breaks each kernel step of `op` in turn (after `setup`) and checks that the failed
/// operation left every view of the lab as it was, and that it then works.
fn every_step_rolls_back(setup: &str, op: &str) {
    // Counted after a look at the lab, as in the script below: the first look makes
    // docker0 (see `Lab::need_default_bridge`).
    let before = op_count(&format!("{VIEWS}{setup}\nviews();"));
    let after = op_count(&format!("{VIEWS}{setup}\nviews();\n{op};"));
    assert!(after > before, "{op} makes no kernel operation");
    let steps: Vec<usize> = (before + 1..=after).collect();
    let script = format!(
        "{VIEWS}{setup}\n\
         let before = views();\n\
         let failed = false;\n\
         try {{ {op}; }} catch (e) {{ print(`FAILED: ${{e}}`); failed = true; }}\n\
         assert(failed, \"the injected failure did not fail the operation\");\n\
         assert_eq(views(), before, \"the failed operation changed the lab\");\n\
         {op};\n\
         print(\"RETRIED\");"
    );
    std::thread::scope(|s| {
        let handles: Vec<_> = steps
            .chunks(steps.len().div_ceil(3))
            .map(|chunk| {
                let script = &script;
                s.spawn(move || {
                    for &k in chunk {
                        let mut cmd = netsh().eval(script).command();
                        cmd.env("NETSH_TEST_FAIL_OP", k.to_string());
                        let out = cmd.output().expect("run netsh");
                        let stdout = String::from_utf8_lossy(&out.stdout);
                        let stderr = String::from_utf8_lossy(&out.stderr);
                        assert!(
                            out.status.success() && stdout.contains("RETRIED"),
                            "{op} with step {k} of {before}..{after} broken:\n{stdout}\n{stderr}"
                        );
                        assert!(
                            stdout.contains("failure injected by NETSH_TEST_FAIL_OP"),
                            "{stdout}"
                        );
                        assert!(!stderr.contains("rollback failed"), "{stderr}");
                        assert!(!stderr.contains("panicked"), "{stderr}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("a rollback check failed");
        }
    });
}

#[test]
fn a_failed_run_leaves_the_lab_as_it_was() {
    every_step_rolls_back(
        "network(\"n2\"); run(\"c1\", \"n2\");",
        "run(\"c2\", #{network: \"n2\", publish: [\"8080:80\"], aliases: [\"web\"]})",
    );
}

#[test]
fn a_failed_connect_or_disconnect_leaves_the_lab_as_it_was() {
    every_step_rolls_back(
        "network(\"n2\"); run(\"c1\"); run(\"c2\", \"n2\");",
        "connect(\"c1\", \"n2\")",
    );
    every_step_rolls_back(
        "network(\"n2\"); network(\"n3\"); run(\"c1\", \"n2\"); connect(\"c1\", \"n3\");",
        "disconnect(\"c1\", \"n2\")",
    );
    // The default route moves to the new network ("a2" sorts before "n2"), and back on
    // disconnect; the retried connect gets the same eth1 (a failed one uses no index).
    every_step_rolls_back(
        "network(\"n2\"); network(\"a2\"); run(\"c1\", \"n2\");",
        "connect(\"c1\", \"a2\"); assert_eq(links(\"c1\").map(|l| l.name), [\"lo\", \"eth0\", \"eth1\"])",
    );
    every_step_rolls_back(
        "network(\"n2\"); network(\"a2\"); run(\"c1\", \"n2\"); connect(\"c1\", \"a2\");",
        "disconnect(\"c1\", \"a2\")",
    );
}

/// Published ports follow the gateway endpoint: the firewall changes with the connect or
/// disconnect, and is taken back with it.
#[test]
fn a_failed_connect_or_disconnect_that_moves_published_ports_leaves_the_lab_as_it_was() {
    every_step_rolls_back(
        "network(\"n2\"); run(\"c1\", #{publish: [\"8080:80\"]}); connect(\"c1\", \"n2\");",
        "disconnect(\"c1\", \"bridge\")",
    );
    every_step_rolls_back(
        "network(\"lk\", #{internal: true}); network(\"n2\");\n\
         run(\"c1\", #{network: \"lk\", publish: [\"8080:80\"]});",
        "connect(\"c1\", \"n2\")",
    );
}

#[test]
fn a_failed_rm_leaves_the_lab_as_it_was() {
    every_step_rolls_back(
        "network(\"n2\"); run(\"c1\", #{publish: [\"8080:80\"]}); connect(\"c1\", \"n2\"); run(\"c2\", \"n2\");",
        "rm(\"c1\")",
    );
}

/// `docker stop` releases what `run` built, `docker start` builds it again: both are all
/// or nothing.
#[test]
fn a_failed_stop_or_start_leaves_the_lab_as_it_was() {
    every_step_rolls_back(
        "network(\"n2\"); docker(\"run -d --name c1 -p 8080:80 busybox sleep 600\");\n\
         connect(\"c1\", \"n2\"); run(\"c2\", \"n2\");",
        "docker(\"stop -t 0 c1\")",
    );
    every_step_rolls_back(
        "network(\"n2\"); docker(\"run -d --name c1 -p 8080:80 busybox sleep 600\");\n\
         connect(\"c1\", \"n2\", #{aliases: [\"web\"]}); run(\"c2\", \"n2\"); docker(\"stop -t 0 c1\");",
        "docker(\"start c1\"); assert(resolve(\"c2\", \"web\") != (), \"web resolves once c1 runs again\")",
    );
}

#[test]
fn a_failed_network_or_network_rm_leaves_the_lab_as_it_was() {
    every_step_rolls_back(
        "run(\"c1\");",
        "network(\"n2\", #{subnet: \"10.5.0.0/24\"})",
    );
    every_step_rolls_back("network(\"n2\"); run(\"c1\");", "network_rm(\"n2\")");
    // A failed network gives its default pool back to IPAM's round-robin: the retry gets
    // the same one.
    every_step_rolls_back(
        "run(\"c1\");",
        "assert_eq(network(\"n3\").subnet, \"172.18.0.0/16\")",
    );
}

#[test]
fn a_failed_outside_leaves_the_lab_as_it_was() {
    // Deleted first, so that outside() builds the uplink anew rather than name the one the
    // lab started with (which costs no kernel operation).
    every_step_rolls_back(
        "run(\"c1\"); netns(\"n1\"); del_netns(outside());",
        "outside()",
    );
}

/// Failures that need no injection: an interface name taken inside the container, a full
/// subnet. Refused before anything is built, the lab unchanged, and the next try works.
#[test]
fn natural_failures_in_the_middle_leave_the_lab_as_it_was() {
    for user in users() {
        natural_failures(user);
    }
}

fn natural_failures(user: common::As) {
    netsh()
        .user(user)
        .eval(&format!(
            "{VIEWS}\
             network(\"n2\"); network(\"small\", #{{subnet: \"10.3.0.0/30\"}});\n\
             let c = run(\"c1\"); run(\"c2\", \"small\");\n\
             host().veth(\"squat\", c, \"eth1\");\n\
             let before = views();\n\
             let refused = false;\n\
             try {{ connect(c, \"n2\"); }} catch (e) {{ print(`REFUSED: ${{e}}`); refused = true; }}\n\
             assert(refused, \"connect over a taken eth1 was accepted\");\n\
             assert_eq(views(), before, \"the lab changed\");\n\
             let refused = false;\n\
             try {{ run(\"c3\", \"small\"); }} catch (e) {{ print(`REFUSED: ${{e}}`); refused = true; }}\n\
             assert(refused, \"a full subnet took one more\");\n\
             assert_eq(views(), before, \"the lab changed\");\n\
             host().del_link(\"squat\");\n\
             connect(c, \"n2\");\n\
             assert_eq(c.ip_of(\"n2\"), \"172.18.0.2\", \"the address was not used up by the failure\");\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("REFUSED: cannot connect container \"c1\" to network \"n2\": the container already has an interface named \"eth1\"")
        .stdout_has("REFUSED: Error response from daemon: no available IPv4 addresses")
        .stdout_has("DONE");
}

/// Removing a container (or deleting a namespace) takes veths made into it by hand along,
/// and the next look at the lab already shows them gone.
#[test]
fn removals_take_hand_made_veths_along() {
    netsh()
        .eval(
            "let c = run(\"c1\"); let n = netns(\"n1\");\n\
             host().veth(\"to-c\", c, \"eth1\"); host().veth(\"to-n\", n, \"x\");\n\
             rm(c);\n\
             assert(!host().has_link(\"to-c\"), \"to-c outlived its container\");\n\
             del_netns(n);\n\
             assert(!host().has_link(\"to-n\"), \"to-n outlived its namespace\");\n\
             host().veth(\"to-c\", \"to-n\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}
