//! docker0 is made when something first needs it (`Lab::need_default_bridge`), at the
//! interface index it would have had (Docker's own devices in the host are numbered past it
//! until then), so a lab of user-defined networks never pays for the bridge (whose
//! dismantling makes every other lab on the machine wait). These tests check that nothing
//! can tell: docker0 is there, at index 3, for every look.

mod common;
use common::netsh;

/// Two containers on a user-defined network, and a ping between them.
const TWO_ON_N1: &str = "let n = network(\"n1\");\n\
                         let a = run(\"c1\", n);\n\
                         let b = run(\"c2\", n);\n\
                         assert_reach(a, b.ip);\n";

/// A network made before the first look still comes after docker0, as on a Docker host,
/// whose daemon made docker0 at start; so do the containers' veths.
#[test]
fn docker0_is_interface_3_whenever_it_is_first_seen() {
    netsh()
        .eval(
            "let n = network(\"n1\");\n\
             let c = run(\"c1\", n);\n\
             let d = host().link(\"docker0\");\n\
             assert_eq(d.ifindex, 3);\n\
             assert_eq(d.kind, \"bridge\");\n\
             assert_eq(host().addrs(\"docker0\"), [\"172.17.0.1/16\"]);\n\
             let b = host().link(n.bridge);\n\
             assert_eq(b.ifindex, 4, \"n1's bridge follows docker0\");\n\
             let v = host().links().filter(|l| l.master == n.bridge);\n\
             assert_eq(v.len(), 1);\n\
             assert_eq(v[0].ifindex, 5, \"c1's veth follows n1's bridge\");\n\
             let d = run(\"d1\");\n\
             let w = host().links().filter(|l| l.master == \"docker0\");\n\
             assert_eq(w[0].ifindex, 6, \"the kernel numbers on after them\");\n\
             let names = host().links().map(|l| l.name);\n\
             assert_eq(names.filter(|x| x == \"docker0\").len(), 1);\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

/// Probes between containers of a user-defined network leave docker0 unmade; a probe to
/// the default bridge's subnet makes it first, so it gets the answer a Docker host gives
/// (172.17.0.1 is the host's own address: a container reaches it).
#[test]
fn a_probe_that_could_meet_docker0_makes_it_first() {
    let run = netsh()
        .arg("--trace")
        .eval(&format!(
            "{TWO_ON_N1}\
             let t = tcp(a, `${{b.ip}}:9`);\n\
             assert(!t.ok && t.error.contains(\"refused\"), `nobody listens on port 9: ${{t}}`);\n\
             print(\"BETWEEN CONTAINERS\");\n\
             assert_reach(a, \"172.17.0.1\");\n\
             print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("DONE");
    let stderr = run.stderr.clone();
    let stdout = run.stdout.clone();
    // The bridge is made after the probes between containers, at the stand-in's index.
    let made = stderr
        .find("+ ip link add docker0 index 3 ")
        .expect("docker0 is made, at index 3");
    assert!(
        stderr[..made].matches("+ ip link add ").count() >= 3,
        "n1's bridge and both containers' veths come before docker0:\n{stderr}"
    );
    assert!(stdout.contains("BETWEEN CONTAINERS"));
}

/// A lab whose probes never meet the default bridge never makes it.
#[test]
fn a_lab_of_user_defined_networks_never_makes_docker0() {
    let run = netsh()
        .arg("--trace")
        .eval(&format!("{TWO_ON_N1}print(\"DONE\");"))
        .run()
        .success()
        .stdout_has("DONE");
    assert!(
        !run.stderr.contains("+ ip link add docker0 index"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(" index 4 "),
        "n1's bridge skips docker0's index"
    );
}

/// Anything done in the host makes docker0 first: a name the host already has is refused
/// as on a Docker host, and a container on the default bridge gets its port on docker0.
#[test]
fn the_host_and_the_default_bridge_make_docker0_first() {
    netsh()
        .eval(
            "let refused = false;\n\
             try { host().bridge(\"docker0\"); } catch (e) { refused = true; print(e); }\n\
             assert(refused, \"docker0 exists for the host's bindings\");\n\
             let c = run(\"c1\");\n\
             assert_reach(c, \"172.17.0.1\");\n\
             assert_eq(host().link(\"docker0\").kind, \"bridge\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

/// docker0's name is taken before docker0 is made: a network cannot have its bridge called
/// so (the daemon's refusal, as on a Docker host), and docker0 still comes.
#[test]
fn docker0s_name_is_taken_before_it_is_made() {
    netsh()
        .eval(
            "let refused = false;\n\
             try {\n\
               docker(\"network create -o com.docker.network.bridge.name=docker0 x\");\n\
             } catch (e) { refused = true; print(e); }\n\
             assert(refused, \"a network's bridge cannot take docker0's name\");\n\
             let d = host().link(\"docker0\");\n\
             assert_eq([d.ifindex, d.kind], [3, \"bridge\"]);\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("networks have same bridge name")
        .stdout_has("DONE");
}

/// A removed device's index is not handed out again to Docker's devices, before or after
/// docker0 is made: they number on after the highest, as a Docker host's kernel does.
#[test]
fn indexes_freed_by_removed_devices_are_not_reused() {
    netsh()
        .eval(
            "let n = network(\"n1\");\n\
             let cs = [];\n\
             for i in 0..6 { cs.push(run(`c${i}`, n)); }\n\
             for i in 0..3 { rm(cs[i]); }\n\
             assert_eq(host().link(\"docker0\").ifindex, 3);\n\
             let d = run(\"late\", n);\n\
             assert_eq(d.link(\"eth0\").peer_ifindex, 11, \"after n1 (4) and six veths (5..10)\");\n\
             rm(cs[3]);\n\
             assert(host().links().len() > 0);\n\
             let e = run(\"later\", n);\n\
             assert_eq(e.link(\"eth0\").peer_ifindex, 12);\n\
             host().bridge(\"br0\");\n\
             let m = network(\"n2\");\n\
             assert(host().link(m.bridge).ifindex > host().link(\"br0\").ifindex,\n\
                    \"Docker numbers on after the script's own devices\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}
