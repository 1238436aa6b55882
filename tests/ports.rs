//! Published ports as Docker 20.10 makes them (userland proxy on): with real packets from
//! the host, from containers on the same and on other networks, from outside the host, over
//! IPv4 and IPv6, TCP and UDP; Docker's refusals with the endpoint's ID, nothing half-built;
//! and a port that answers nowhere once its container is gone.

mod common;

use common::{netsh, users, As};

/// Everything a refusal must leave as it was.
const VIEWS: &str = "fn views() {\n\
    let v = [network_ls(), containers(), host().link_names(), brctl_show(), nft_rules()];\n\
    for c in containers() { v.push(port(c)); v.push(docker_inspect(c)); }\n\
    v\n\
}\n";

#[test]
fn published_ports_answer_from_everywhere_docker_answers() {
    for user in users() {
        everywhere(user);
    }
}

fn everywhere(user: As) {
    netsh()
        .user(user)
        .eval(
            "let n = network(\"n1\");\n\
             let web = run(\"web\", #{network: n, publish: [\"8085:8080\", \"5353:53/udp\"]});\n\
             serve(web, 8080); serve(web, 53, \"udp\");\n\
             // The host itself, over loopback of both families (the proxy listens on\n\
             // 0.0.0.0 and [::]) and over a bridge's address.\n\
             assert(tcp(host(), \"127.0.0.1:8085\").ok, \"127.0.0.1\");\n\
             assert(tcp(host(), \"[::1]:8085\").ok, \"[::1]\");\n\
             assert(tcp(host(), \"172.17.0.1:8085\").ok, \"docker0's address\");\n\
             assert_eq(udp(host(), \"127.0.0.1:5353\").reply, \"hello from web\\n\");\n\
             assert_eq(udp(host(), \"[::1]:5353\").reply, \"hello from web\\n\");\n\
             // The container itself, through its own gateway; another on its network.\n\
             assert(tcp(web, \"172.18.0.1:8085\").ok, \"web through its gateway\");\n\
             let peer = run(\"peer\", n);\n\
             assert(tcp(peer, \"172.18.0.1:8085\").ok, \"peer through the gateway\");\n\
             // A container on another network, through its own gateway and the other's.\n\
             let other = run(\"other\");\n\
             assert(tcp(other, \"172.17.0.1:8085\").ok, \"other network, own gateway\");\n\
             assert(tcp(other, \"172.18.0.1:8085\").ok, \"other network, web's gateway\");\n\
             assert_eq(udp(other, \"172.17.0.1:5353\").reply, \"hello from web\\n\");\n\
             assert_no_reach(other, web.ip, #{timeout: 300});\n\
             // From beyond the host: DNAT straight to the container.\n\
             let out = outside();\n\
             assert_eq(http_get(out, \"http://192.0.2.1:8085/\").status, 200);\n\
             assert(!tcp(out, \"192.0.2.1:8080\").ok, \"only the published port\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn a_port_bound_to_one_address_answers_there_only() {
    netsh()
        .eval(
            "let web = run(\"web\", #{publish: [\"127.0.0.1:8086:8080\"]});\n\
             serve(web, 8080);\n\
             assert_eq(port(web), \"8080/tcp -> 127.0.0.1:8086\\n\");\n\
             assert(tcp(host(), \"127.0.0.1:8086\").ok);\n\
             assert(!tcp(host(), \"[::1]:8086\").ok, \"no IPv6 listener for an IPv4 address\");\n\
             assert(!tcp(host(), \"172.17.0.1:8086\").ok);\n\
             let six = run(\"six\", #{publish: [\"[::1]:8087:8080\"]});\n\
             serve(six, 8080);\n\
             assert_eq(port(six), \"8080/tcp -> [::1]:8087\\n\");\n\
             assert(tcp(host(), \"[::1]:8087\").ok, \"[::1]\");\n\
             assert(!tcp(host(), \"127.0.0.1:8087\").ok, \"no IPv4 for an IPv6 address\");\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

/// `-p 8080` (no host port): the allocator picks one from the ephemeral range, per address;
/// it answers like any other.
#[test]
fn an_unasked_host_port_comes_from_the_ephemeral_range_and_answers() {
    netsh()
        .eval(
            "let web = run(\"web\", #{publish: [\"8080\", \"53/udp\"]});\n\
             serve(web, 8080);\n\
             print(port(web));\n\
             assert_eq(inspect(web).HostConfig.PortBindings[\"8080/tcp\"][0].HostPort, \"\");\n\
             assert(tcp(host(), \"127.0.0.1:32768\").ok);\n\
             assert(tcp(host(), \"[::1]:32768\").ok);\n\
             let out = outside();\n\
             assert(tcp(out, \"192.0.2.1:32768\").ok);\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has(
            "53/udp -> 0.0.0.0:32768\n53/udp -> [::]:32768\n8080/tcp -> 0.0.0.0:32768\n8080/tcp -> [::]:32768\n",
        )
        .stdout_has("DONE");
}

/// `docker port` and inspect on Docker 20.10.24 (`-p 8192:80 -p 8191:9 -p 8190:80 -p
/// 127.0.0.2:8193:80`).
#[test]
fn port_and_inspect_list_both_families_in_dockers_order() {
    netsh()
        .eval(
            "let c = run(\"pa2\", #{publish: [\"8192:80\", \"8191:9\", \"8190:80\", \"127.0.0.2:8193:80\"]});\n\
             print(port(c));\n\
             let i = inspect(c);\n\
             print(`PORTS ${i.NetworkSettings.Ports[\"80/tcp\"].map(|b| b.HostIp + \":\" + b.HostPort)}`);\n\
             print(`ASKED ${i.HostConfig.PortBindings[\"80/tcp\"].map(|b| b.HostIp + \":\" + b.HostPort)}`);",
        )
        .run()
        .success()
        .stdout_has(
            "9/tcp -> 0.0.0.0:8191\n9/tcp -> [::]:8191\n80/tcp -> 0.0.0.0:8190\n\
             80/tcp -> 0.0.0.0:8192\n80/tcp -> 127.0.0.2:8193\n80/tcp -> [::]:8190\n\
             80/tcp -> [::]:8192\n",
        )
        .stdout_has(
            "PORTS [\"127.0.0.2:8193\", \"0.0.0.0:8190\", \":::8190\", \"0.0.0.0:8192\", \":::8192\"]",
        )
        .stdout_has("ASKED [\":8192\", \":8190\", \"127.0.0.2:8193\"]");
}

/// Runs `setup`, then each refused `run` (each must fail and change nothing), printing
/// `REFUSED: <error>` lines.
fn refusals(setup: &str, attempts: &[&str]) -> String {
    let tries: String = attempts
        .iter()
        .map(|a| {
            format!(
                "{{ let failed = false;\n\
                 try {{ {a}; }} catch (e) {{ print(`REFUSED: ${{e}}`); failed = true; }}\n\
                 assert(failed, \"accepted: {}\");\n\
                 assert_eq(views(), before, \"the lab changed\"); }}\n",
                a.replace('"', "'")
            )
        })
        .collect();
    netsh()
        .eval(&format!(
            "{VIEWS}{setup}\nlet before = views();\n{tries}print(\"DONE\");"
        ))
        .run()
        .success()
        .stdout_has("DONE")
        .stdout
}

#[test]
fn port_conflicts_are_refused_with_the_endpoint_id_and_build_nothing() {
    let out = refusals(
        "let n = network(\"n1\"); let held = run(\"held\", #{network: n, publish: [\"8085:8080\"]});\n\
         serve(held, 8080);",
        &[
            "run(\"pa3\", #{publish: [\"8082:8080\", \"8082:8090\"]})",
            "run(\"pa4\", #{network: \"n1\", publish: [\"8085:80\"]})",
            "run(\"pa5\", #{publish: [\"9000:80\", \"8085:81\"]})",
            "run(\"pa6\", #{publish: [\"127.0.0.1:8085:80\"]})",
        ],
    );
    let pattern = |name: &str, rest: &str| {
        regex::Regex::new(&format!(
            "REFUSED: Error response from daemon: driver failed programming external \
             connectivity on endpoint {name} \\([0-9a-f]{{64}}\\): {}\n",
            regex::escape(rest)
        ))
        .unwrap()
    };
    for (name, rest) in [
        ("pa3", "Bind for 0.0.0.0:8082 failed: port is already allocated"),
        ("pa4", "Bind for 0.0.0.0:8085 failed: port is already allocated"),
        ("pa5", "Bind for 0.0.0.0:8085 failed: port is already allocated"),
        // Docker's allocator keeps ports per address; the kernel refuses the listener.
        (
            "pa6",
            "Error starting userland proxy: listen tcp4 127.0.0.1:8085: bind: address already in use",
        ),
    ] {
        assert!(pattern(name, rest).is_match(&out), "{name}: {out}");
    }
}

/// Docker 20.10.24, by hand: after `docker network disconnect bridge web`, docker-proxy
/// forwards to web's address on the network that now carries its default route.
#[test]
fn ports_follow_the_gateway_endpoint_when_it_moves() {
    netsh()
        .eval(
            "let web = run(\"web\", #{publish: [\"8085:8080\"]});\n\
             serve(web, 8080);\n\
             network(\"n1\"); connect(web, \"n1\");\n\
             let out = outside();\n\
             let cl = run(\"cl\");\n\
             assert(tcp(cl, \"172.17.0.1:8085\").ok, \"before\");\n\
             disconnect(web, \"bridge\");\n\
             assert_eq(port(web), \"8080/tcp -> 0.0.0.0:8085\\n8080/tcp -> [::]:8085\\n\");\n\
             assert(tcp(cl, \"172.17.0.1:8085\").ok, \"the proxy follows web to n1\");\n\
             assert(tcp(host(), \"127.0.0.1:8085\").ok);\n\
             assert(tcp(out, \"192.0.2.1:8085\").ok, \"DNAT follows web to n1\");\n\
             print(nft_rules().filter(|r| r.contains(\"publish-tcp\")));\n\
             print(\"DONE\");",
        )
        .run()
        .success()
        .stdout_has("DONE");
}

#[test]
fn after_rm_the_port_answers_nowhere_and_can_be_taken_again() {
    for user in users() {
        netsh()
            .user(user)
            .eval(
                "let web = run(\"web\", #{publish: [\"8085:8080\", \"5353:53/udp\"]});\n\
                 serve(web, 8080); serve(web, 53, \"udp\");\n\
                 let out = outside();\n\
                 let c = run(\"cc\");\n\
                 assert(tcp(host(), \"127.0.0.1:8085\").ok);\n\
                 let rules = nft_rules().len();\n\
                 rm(web);\n\
                 assert_eq(nft_rules().len(), rules - 2, \"its two DNAT rules went\");\n\
                 for to in [\"127.0.0.1:8085\", \"[::1]:8085\", \"172.17.0.1:8085\"] {\n\
                   assert(!tcp(host(), to).ok, `${to} still answers`);\n\
                 }\n\
                 assert(!tcp(c, \"172.17.0.1:8085\").ok);\n\
                 assert(!tcp(out, \"192.0.2.1:8085\").ok);\n\
                 assert(!udp(host(), \"127.0.0.1:5353\").ok);\n\
                 let again = run(\"again\", #{publish: [\"8085:9000\", \"5353:53/udp\"]});\n\
                 serve(again, 9000);\n\
                 assert(tcp(host(), \"127.0.0.1:8085\").ok, \"the port was free again\");\n\
                 assert(tcp(out, \"192.0.2.1:8085\").ok);\n\
                 print(\"DONE\");",
            )
            .run()
            .success()
            .stdout_has("DONE");
    }
}
