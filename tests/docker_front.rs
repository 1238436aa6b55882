//! The docker front: `docker("…")` runs docker command lines against the lab. The tutorial's
//! commands, typed as printed, give what `../shared/docs/tutorial-on-real-docker.txt` (a
//! real Docker 20.10) shows — addresses, names, MACs, JSON fields, success or failure with
//! its exit status —, with real packets where reachability changes; and the everyday
//! commands around them, with their refusals in Docker's words.
//!
//! The programs run inside containers come from the machine: a `busybox` image runs
//! busybox's applets (`ping`, `ip`), as the transcript's containers did.

mod common;

use common::{netsh, users, DOCKER_PRELUDE};

/// Helpers every script here starts with.
const PRELUDE: &str = r#"
// A full ID and its newline, as `run -d`, `create` and `network create` print it.
fn full_id(out) {
    if out.len() != 65 || !out.ends_with("\n") { fail(`not a full ID: ${out}`); }
    let id = out;
    id.trim();
    id
}
"#;

/// `id`'s short form and a newline, as `docker ps -q` lists it.
const PRELUDE_IDS: &str = r#"
fn short_line(id) { id.sub_string(0, 12) + "\n" }
"#;

fn check(script: &str) {
    for user in users() {
        netsh()
            .user(user)
            // For `-e KEY`, which takes KEY's value from the CLI's own environment.
            .env("NETSH_FLAGS_FROM_ENV", "from netsh")
            .eval(&format!(
                "{DOCKER_PRELUDE}{PRELUDE}{PRELUDE_IDS}\n{script}\nprint(\"DONE\");"
            ))
            .run()
            .success()
            .stdout_has("DONE");
    }
}

/// Every docker command of the tutorial, in the transcript's order and words.
#[test]
fn the_tutorial_as_typed() {
    check(
        r#"
let ls = docker("network ls");
assert(ls.starts_with("NETWORK ID     NAME      DRIVER    SCOPE\n"), ls);
assert(ls.contains("   bridge    bridge    local\n"), ls);
assert(ls.contains("   host      host      local\n"), ls);
assert(ls.contains("   none      null      local\n"), ls);
assert_eq(ls.split("\n").len(), 5);

let mytom = full_id(docker("run -d --name mytom busybox /bin/sh -c \"while true; do sleep 3600; done\""));
let bridge2 = full_id(docker("network create -d bridge bridge2"));
let bb = full_id(docker("run -d --name bb --network bridge2 busybox /bin/sh -c \"while true; do sleep 3600; done\""));
let bb1 = full_id(docker("run -d --name bb1 --network bridge busybox /bin/sh -c \"while true; do sleep 3600; done\""));
assert_eq(docker("network connect bridge2 bb1"), "");
assert_eq(docker_status(), 0);

let a = docker("exec bb1 ip a");
assert(a.contains("link/ether 02:42:ac:11:00:03 brd ff:ff:ff:ff:ff:ff"), a);
assert(a.contains("inet 172.17.0.3/16 brd 172.17.255.255 scope global eth0"), a);
assert(a.contains("link/ether 02:42:ac:12:00:03 brd ff:ff:ff:ff:ff:ff"), a);
assert(a.contains("inet 172.18.0.3/16 brd 172.18.255.255 scope global eth1"), a);

// Real pings from inside the containers.
let p = docker("exec bb ping -c1 -W1 172.18.0.3");
assert(p.contains("1 packets transmitted, 1 packets received, 0% packet loss"), p);
assert(docker("exec bb1 ping -c1 -W1 172.18.0.2").contains("1 packets received"));
let e = refused("exec bb ping -c1 -W1 172.17.0.3", 1, "1 packets transmitted, 0 packets received, 100% packet loss");
assert(docker("exec bb ping -c1 -W1 bb1").contains("PING bb1 (172.18.0.3)"));
assert(docker("exec bb1 ping -c1 -W1 bb").contains("PING bb (172.18.0.2)"));
refused("exec mytom ping -c1 -W1 bb1", 1, "ping: bad address 'bb1'");
assert(docker("exec mytom ping -c1 -W1 172.17.0.3").contains("1 packets received"));

let bb2 = full_id(docker("run -d --name bb2 --link bb1 busybox /bin/sh -c \"while true; do sleep 3600; done\""));
assert(docker("exec bb2 ping -c1 -W1 bb1").contains("PING bb1 (172.17.0.3)"));
refused("exec bb2 ping -c1 -W1 bb", 1, "ping: bad address 'bb'");
refused("exec bb1 ping -c1 -W1 bb2", 1, "ping: bad address 'bb2'");
let hosts = docker("exec bb2 cat /etc/hosts");
assert(hosts.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"), hosts);
assert(hosts.contains("172.17.0.3\tbb1 " + bb1.sub_string(0, 12) + "\n"), hosts);
assert(hosts.ends_with("172.17.0.4\t" + bb2.sub_string(0, 12) + "\n"), hosts);

full_id(docker("run -d --name bb1-1 --network container:bb1 busybox /bin/sh -c \"while true; do sleep 3600; done\""));
let a11 = docker("exec bb1-1 ip a");
assert(a11.contains("inet 172.17.0.3/16") && a11.contains("inet 172.18.0.3/16"), a11);
assert_eq(docker("inspect -f '{{json .NetworkSettings}}' bb1-1"),
    `{"Bridge":"","SandboxID":"","SandboxKey":"","Ports":{},"HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","MacAddress":"","Networks":{}}` + "\n");

full_id(docker("run -d --name bb3 --network none busybox /bin/sh -c \"while true; do sleep 3600; done\""));
let a3 = docker("exec bb3 ip a");
assert(a3.contains("1: lo:") && !a3.contains("eth0"), a3);
let none_id = docker("network inspect -f {{.Id}} none");
none_id.trim();
let n3 = docker("inspect -f '{{json .NetworkSettings.Networks}}' bb3");
assert(n3.starts_with(`{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"${none_id}","EndpointID":"`), n3);
assert(n3.ends_with(`"Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}` + "\n"), n3);

let bb4 = full_id(docker("run -d --name bb4 --network host busybox /bin/sh -c \"while true; do sleep 3600; done\""));
let host = docker("network inspect host");
assert(host.starts_with("[\n    {\n        \"Name\": \"host\",\n"), host);
assert(host.contains(`"${bb4}": {
                "Name": "bb4",`), host);
assert(host.contains("\"MacAddress\": \"\",\n                \"IPv4Address\": \"\","), host);

full_id(docker("run -d --name web --network host -p 8081:8080 busybox /bin/sh -c \"while true; do sleep 3600; done\""));

let b2 = docker("network inspect bridge2");
assert(b2.contains(`"Id": "${bridge2}"`), b2);
assert(b2.contains("\"Subnet\": \"172.18.0.0/16\",\n                    \"Gateway\": \"172.18.0.1\""), b2);
assert(b2.contains(`"${bb}": {
                "Name": "bb",`), b2);
assert(b2.contains("\"MacAddress\": \"02:42:ac:12:00:02\",\n                \"IPv4Address\": \"172.18.0.2/16\","), b2);
assert(b2.contains("\"MacAddress\": \"02:42:ac:12:00:03\",\n                \"IPv4Address\": \"172.18.0.3/16\","), b2);

let n1 = docker("inspect -f '{{json .NetworkSettings.Networks}}' bb1");
assert(n1.starts_with(`{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"02:42:ac:11:00:03",`), n1);
assert(n1.contains(`"Gateway":"172.17.0.1","IPAddress":"172.17.0.3","IPPrefixLen":16,`), n1);
assert(n1.contains(`"bridge2":{"IPAMConfig":{},"Links":null,"Aliases":["${bb1.sub_string(0, 12)}"],"MacAddress":"02:42:ac:12:00:03","DriverOpts":{},`), n1);
assert(n1.contains(`"NetworkID":"${bridge2}"`), n1);
assert(n1.contains(`"Gateway":"172.18.0.1","IPAddress":"172.18.0.3","IPPrefixLen":16,`), n1);

assert_eq(docker("exec bb cat /etc/resolv.conf"), "nameserver 127.0.0.11\noptions ndots:0\n");
assert(!docker("exec mytom cat /etc/resolv.conf").contains("127.0.0.11"));
"#,
    );
}

/// The tutorial's own spellings beside the transcript's: `-dp`, a command's flags after
/// its arguments, `docker inspect NAME` as JSON.
#[test]
fn the_tutorials_other_spellings() {
    check(
        r#"
let id = full_id(docker("run --name mytomcat --network host -dp 8081:8080 tomcat:8.5.49"));
let doc = docker("inspect mytomcat");
assert(doc.starts_with("[\n    {\n        \"Id\": \"" + id + "\""), doc);
docker("run -d --name bb busybox /bin/sh -c \"while true; do sleep 3600; done\"");
docker("run -d --name bb1 busybox /bin/sh -c \"while true; do sleep 3600; done\"");
assert(docker("exec bb ping 172.17.0.3 -c 1").contains("1 packets received"));
let j = docker("inspect bb1");
assert(j.contains("\"Gateway\": \"172.17.0.1\""), j);
assert(docker("network inspect bridge").contains("\"Name\": \"bb1\""));
"#,
    );
}

#[test]
fn network_commands() {
    check(
        r#"
let n1 = full_id(docker("network create --subnet 10.33.0.0/24 --gateway 10.33.0.254 n1"));
let n2 = full_id(docker("network create --internal n2"));
full_id(docker("network create -d bridge n10"));
assert_eq(docker("network ls -q --no-trunc --filter name=n1"), n1 + "\n" + docker("network ls -q --no-trunc -f name=n10"));
let custom = docker("network ls --filter type=custom");
assert(custom.contains(" n1 ") && custom.contains(" n2 ") && !custom.contains("   host "), custom);
assert_eq(custom.split("\n").len(), 5, custom);
// Natural order: n1, n2, n10.
assert(custom.index_of(" n2 ") < custom.index_of(" n10 "), custom);
let builtin = docker("network ls -f type=builtin -f driver=bridge");
assert(builtin.contains(" bridge ") && !builtin.contains(" host "), builtin);
assert_eq(docker("network ls -q").split("\n").len(), 7);
assert_eq(docker("network ls --filter type=custom --format '{{.Name}} {{.Driver}} {{.Internal}}'"), "n1 bridge false\nn2 bridge true\nn10 bridge false\n");
assert_eq(docker("network ls -f name=n2 --format 'table {{.Name}}\\t{{.Internal}}'"), "NAME      INTERNAL\nn2        true\n");
refused("network ls --format '{{.Name'", 1, "template: ");
refused("network ls --frob x", 125, "unknown flag: --frob");
"#,
    );
    check(
        r#"
docker("network create --subnet 10.33.0.0/24 n1");
docker("network create n2");
docker("run -d --name ca --network n1 --ip 10.33.0.9 busybox /bin/sh -c \"sleep 3600\"");
docker("run -d --name cb --network n2 busybox /bin/sh -c \"sleep 3600\"");
// Different networks: isolated, with real packets.
refused("exec cb ping -c1 -W1 10.33.0.9", 1, "100% packet loss");
assert_eq(docker("network connect --ip 10.33.0.20 --alias bee n1 cb"), "");
assert(docker("exec ca ping -c1 -W1 bee").contains("PING bee (10.33.0.20)"));
assert(docker("exec cb ping -c1 -W1 10.33.0.9").contains("1 packets received"));
let both = docker("network inspect -f {{.Name}} n1 n2");
assert_eq(both, "n1\nn2\n");
assert_eq(docker("inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' cb"), "10.33.0.20 172.18.0.2 \n");
assert_eq(docker("network disconnect n1 cb"), "");
refused("exec cb ping -c1 -W1 10.33.0.9", 1, "100% packet loss");
refused("network rm n1 nope n2", 1, "Error response from daemon: error while removing network: network n1 id");
let e = refused("network rm nope", 1, "Error: No such network: nope");
docker("rm -f ca cb");
assert_eq(docker("network rm n1 n2"), "n1\nn2\n");
assert_eq(docker("network ls -q").split("\n").len(), 4);
// prune: asks first (no answer: nothing removed), -f removes the unused user networks.
docker("network create p1");
docker("network create p2");
docker("network create p3");
docker("run -d --name user --network p2 busybox");
assert(docker("network prune").ends_with("Are you sure you want to continue? [y/N] "));
assert_eq(docker("network ls -q").split("\n").len(), 7);
assert_eq(docker("network prune -f"), "Deleted Networks:\np1\np3\n\n");
assert_eq(docker("network prune -f"), "");
assert_eq(docker("network ls --format {{.Name}} -f type=custom"), "p2\n");
"#,
    );
}

/// Docker's own integration cases for networks (`../shared/docs/peer-cases.md` C01–C05,
/// C08, C09), through the front, with Docker 20.10's texts.
#[test]
fn peer_cases_for_networks() {
    check(
        r#"
// C01 create then remove.
let id = full_id(docker("network create test"));
assert(docker("network ls").contains(" test "));
assert_eq(docker("network rm test"), "test\n");
assert(!docker("network ls").contains(" test "));
// C02 removing an unknown network (20.10 has no --force for network rm).
refused("network rm test", 1, "Error: No such network: test");
// C03 bulk remove with one network in use: the others go, it stays.
docker("network create t1"); docker("network create t2"); docker("network create t3");
docker("run -d --name user --network t3 busybox");
refused("network rm t1 t2 t3", 1, "has active endpoints");
assert_eq(docker("network ls -f type=custom --format {{.Name}}"), "t3\n");
// C04 predefined networks.
for n in ["bridge", "host", "none"] {
    refused("network create " + n, 1, "operation is not permitted on predefined " + n + " network");
    refused("network rm " + n, 1, n + " is a pre-defined network and cannot be removed");
    assert_eq(docker("network inspect -f {{.Name}} " + n), n + "\n");
}
// C05 duplicate names.
refused("network create t3", 1, "network with name t3 already exists");
// C08 inspect one and several; .Id and .ID.
assert(docker("network inspect host").starts_with("[\n    {\n        \"Name\": \"host\","));
assert_eq(docker("network inspect --format '{{ .Name }}' host"), "host\n");
let two = docker("network inspect host none");
assert(two.contains("\"Name\": \"host\"") && two.contains("\"Name\": \"none\""), two);
let t2 = full_id(docker("network create test2"));
assert_eq(docker("network inspect -f '{{ .Id }}' test2"), t2 + "\n");
assert_eq(docker("network inspect -f '{{ .ID }}' test2"), t2 + "\n");
// C09 a missing network in the list: status 1, no fail-fast.
refused("network inspect host nonexistent", 1, "Error: No such network: nonexistent");
refused("network inspect nonexistent host", 1, "Error: No such network: nonexistent");
"#,
    );
}

/// Docker's cases C26 (aliases and the short ID as names, per network, with real pings)
/// and C27 (aliases refused on predefined networks).
#[test]
fn peer_cases_for_aliases() {
    check(
        r#"
docker("network create net1");
docker("network create net2");
let first = full_id(docker("run -d --name first --net net1 --net-alias=foo busybox /bin/sh -c \"sleep 3600\""));
docker("run -d --name second --network net1 busybox /bin/sh -c \"sleep 3600\"");
let short = first.sub_string(0, 12);
for name in ["first", "foo", short] {
    assert(docker("exec second ping -c1 -W1 " + name).contains("1 packets received"), name);
}
docker("network connect --alias=bar net2 first");
docker("network connect net2 second");
docker("network disconnect net1 first");
refused("exec second ping -c1 -W1 foo", 1, "ping: bad address 'foo'");
for name in ["bar", short] {
    assert(docker("exec second ping -c1 -W1 " + name).contains("1 packets received"), name);
}
// C27
docker("run -d --name lonely --net=none busybox");
docker("network disconnect none lonely");
for n in ["bridge", "host", "none"] {
    // Docker 20.10's daemon words (newer engines say "network-scoped aliases are only supported …").
    refused("network connect --alias x " + n + " lonely", 1, "network-scoped alias is supported only for containers in user defined networks");
}
refused("run -d --net-alias y busybox", 125, "network-scoped aliases are only supported for user-defined networks");
"#,
    );
}

#[test]
fn network_refusals_in_dockers_words() {
    check(
        r#"
refused("network create", 1, "\"docker network create\" requires exactly 1 argument.\nSee 'docker network create --help'.\n\nUsage:  docker network create [OPTIONS] NETWORK\n\nCreate a network");
refused("network create a b", 1, "\"docker network create\" requires exactly 1 argument.");
refused("network create --frob a", 125, "unknown flag: --frob\nSee 'docker network create --help'.");
refused("network create -x a", 125, "unknown shorthand flag: 'x' in -x");
refused("network create --subnet", 125, "flag needs an argument: --subnet");
refused("network create bridge", 1, "Error response from daemon: operation is not permitted on predefined bridge network");
docker("network create n1");
refused("network create n1", 1, "Error response from daemon: network with name n1 already exists");
refused("network create --subnet 172.17.0.0/24 n2", 1, "Error response from daemon: Pool overlaps with other one on this address space");
refused("network connect nope bb", 1, "Error response from daemon: ");
refused("network connect n1", 1, "\"docker network connect\" requires exactly 2 arguments.");
refused("network inspect nope", 1, "Error: No such network: nope");
refused("network ls -f bogus=1", 1, "Error response from daemon: Invalid filter 'bogus'");
refused("network ls -f type=odd", 1, "Error response from daemon: Invalid filter: 'type'='odd'");
refused("network ls -f name", 125, "bad format of filter (expected name=value)");
refused("network ls x", 1, "\"docker network ls\" accepts no arguments.");
refused("network frob", 1, "docker: 'network frob' is not a docker command.");
refused("frob", 1, "docker: 'frob' is not a docker command.\nSee 'docker --help'");
assert(docker("network connect --help").starts_with("\nUsage:  docker network connect [OPTIONS] NETWORK CONTAINER\n"));
assert_eq(docker_status(), 0);
// Nothing was built by the refusals.
assert_eq(docker("network ls -q").split("\n").len(), 5);
"#,
    );
}

#[test]
fn containers_run_ps_port_rename_rm() {
    check(
        r#"
docker("network create n1");
let web = full_id(docker("run -d --name web --network n1 --network-alias www -p 8081:8080 -p 127.0.0.1::9090 busybox /bin/sh -c \"sleep 3600\""));
assert_eq(docker("port web 8080"), "0.0.0.0:8081\n[::]:8081\n");
assert(docker("port web").starts_with("8080/tcp -> 0.0.0.0:8081\n8080/tcp -> [::]:8081\n9090/tcp -> 127.0.0.1:"));
refused("port web 53/udp", 1, "Error: No public port '53/udp' published for web");
let ps = docker("ps");
assert(ps.starts_with("CONTAINER ID   IMAGE     COMMAND                  CREATED"), ps);
assert(ps.contains(`${web.sub_string(0, 12)}   busybox   "/bin/sh -c 'sleep 3…"   `), ps);
assert(ps.contains("0.0.0.0:8081->8080/tcp, :::8081->8080/tcp, 127.0.0.1:"), ps);
assert(ps.contains("Up "), ps);
assert(ps.ends_with("   web\n"), ps);
let created = full_id(docker("create --name later busybox"));
assert(!docker("ps").contains("later"));
assert(docker("ps -a").contains("   Created   "));
assert_eq(docker("ps -aq --no-trunc"), created + "\n" + web + "\n");
assert_eq(docker("ps -q --no-trunc -f status=created"), created + "\n");
assert_eq(docker("ps -a --format {{.Names}} --filter name=e"), "later\nweb\n");
assert_eq(docker("ps --format {{.Names}} -f network=n1 -f ancestor=busybox"), "web\n");
assert_eq(docker("ps -aq -f network=bridge"), short_line(created));
refused("ps -f frob=1", 1, "Error response from daemon: Invalid filter 'frob'");
refused("ps -f status=sleepy", 1, "Error response from daemon: Invalid filter 'status=sleepy'");
assert_eq(docker("inspect --type network -f {{.Name}} n1"), "n1\n");
refused("inspect --type network web", 1, "Error: No such network: web");
refused("inspect --type image web", 1, "\"image\" is not a valid value for --type");
assert_eq(docker("rename web site"), "");
assert_eq(docker("inspect -f {{.Name}} site"), "/site\n");
// Without -d, run waits for the program and prints what it printed.
assert_eq(docker("run --rm --name once busybox echo hello"), "hello\n");
assert(!docker("ps -a").contains("once"));
assert_eq(docker("run --rm --name quiet busybox"), "");
assert(!docker("ps -a").contains("quiet"));
refused("run --name bad busybox sh -c 'exit 3'", 3, "");
refused("rm site", 1, "Error response from daemon: You cannot remove a running container");
assert_eq(docker("rm -f site later bad"), "site\nlater\nbad\n");
assert_eq(docker("ps -aq"), "");
// --hostname: the container's own name for itself, in /etc/hostname, /etc/hosts, inspect.
docker("run -d -h fred --name fh busybox /bin/sh -c \"sleep 3600\"");
assert_eq(docker("exec fh hostname"), "fred\n");
assert(docker("exec fh cat /etc/hosts").ends_with("\tfred\n"));
assert_eq(docker("inspect -f {{.Config.Hostname}} fh"), "fred\n");
refused("run --hostname 'a b' busybox", 125, "docker: invalid hostname \"a b\": ");
refused("run --network container:fh --hostname x busybox", 125, "docker: Error response from daemon: conflicting options: hostname and the network mode.");
docker("rm -f fh");
// -P publishes what --expose names, on a port the allocator picks; a real connection.
docker("run -d -P --expose 8080 --expose 53/udp --name pub busybox");
let lines = docker("port pub").split("\n");
assert(lines[0].starts_with("53/udp -> 0.0.0.0:") && lines[2].starts_with("8080/tcp -> 0.0.0.0:"), `${lines}`);
serve("pub", 8080);
let host_port = docker("port pub 8080/tcp").split("\n")[0].split(":")[1];
assert(tcp(host(), "127.0.0.1:" + host_port).ok, host_port);
assert_eq(docker("run -d --expose 9999 --name quiet2 busybox").len(), 65);
assert_eq(docker("port quiet2"), "");
docker("rm -f pub quiet2");
// The port is free again.
full_id(docker("run -d --name web2 -p 8081:8080 busybox"));
assert(docker("ps --format '{{.Names}} {{.Image}} {{.Status}}'").starts_with("web2 busybox Up "));
let t = docker("ps --format 'table {{.Names}}\\t{{.Ports}}'");
assert(t.starts_with("NAMES     PORTS\nweb2      0.0.0.0:8081->8080/tcp, :::8081->8080/tcp\n"), t);
// Images are never pulled; a reference is checked and is always "up to date".
assert_eq(docker("pull busybox"), "Using default tag: latest\nStatus: Image is up to date for busybox:latest\ndocker.io/library/busybox:latest\n");
assert(docker("pull tomcat:8.5.49").ends_with("docker.io/library/tomcat:8.5.49\n"));
refused("pull busybox[:tag]", 1, "invalid reference format");
refused("pull BusyBox", 1, "invalid reference format: repository name must be lowercase");
"#,
    );
}

#[test]
fn container_refusals_with_their_statuses() {
    check(
        r#"
docker("run -d --name bb busybox /bin/sh -c \"sleep 3600\"");
refused("run -d --name bb busybox", 125, "docker: Error response from daemon: Conflict. The container name \"/bb\" is already in use by container");
refused("run -d --name bb busybox", 125, "You have to remove (or rename) that container to be able to reuse that name.\nSee 'docker run --help'.");
refused("create --name xx --network nope busybox", 125, "docker: Error response from daemon: network nope not found.\nSee 'docker create --help'.");
refused("run --ip 172.17.0.9 busybox", 125, "user specified IP address is supported on user defined networks only");
refused("run -p 99999:80 busybox", 125, "docker: ");
refused("run", 1, "\"docker run\" requires at least 1 argument.\nSee 'docker run --help'.\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]");
refused("run --bogus busybox", 125, "unknown flag: --bogus\nSee 'docker run --help'.");
refused("exec nope ls", 1, "Error: No such container: nope");
refused("exec bb", 1, "\"docker exec\" requires at least 2 arguments.");
refused("inspect nope", 1, "Error: No such object: nope");
refused("inspect -f '{{.Name' bb", 1, "template: ");
refused("rm nope", 1, "Error: No such container: nope");
refused("rename bb bb", 1, "Error response from daemon: ");
refused("rename nope x", 1, "Error response from daemon: No such container: nope");
refused("ps -x", 125, "unknown shorthand flag: 'x' in -x");
// A program that is not there: Docker 20.10's runtime words and statuses; nothing stays.
refused("run -d --name zz alpine nosuchprog", 127, "docker: Error response from daemon: OCI runtime create failed: container_linux.go:380: starting container process caused: exec: \"nosuchprog\": executable file not found in $PATH: unknown.");
refused("run --name zz alpine /no/such", 127, "exec: \"/no/such\": stat /no/such: no such file or directory: unknown.");
assert(!docker("ps -a").contains("zz"));
docker("run -d --name alp alpine /bin/sh -c \"sleep 3600\"");
refused("exec alp nosuchprog", 126, "OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: exec: \"nosuchprog\": executable file not found in $PATH: unknown");
docker("rm -f alp");
// create, then start: the command runs only once started.
let made = full_id(docker("create --name made busybox /bin/sh -c \"echo started > /tmp/mark; sleep 3600\""));
refused("exec made true", 1, "Error response from daemon: Container " + made + " is not running");
assert_eq(docker("start made"), "made\n");
assert(docker("ps --format {{.Names}}").contains("made"));
let mark = "";
for i in 0..200 { try { mark = docker("exec made cat /tmp/mark"); break; } catch { sleep(25); } }
assert_eq(mark, "started\n");
refused("start nope made", 1, "Error response from daemon: No such container: nope\nError: failed to start containers: nope");
docker("rm -f made");
refused("port nope", 1, "Error: No such container: nope");
refused("run \"busybox", 1, "unterminated quote");
assert_eq(docker("ps -aq").split("\n").len(), 2);
"#,
    );
}

/// `run -e`, `exec -e`: what the container's programs see in their environment, and
/// `Config.Env` (the image's `PATH` first, as Docker 20.10 shows for busybox).
#[test]
fn env_flags_reach_the_containers_programs() {
    check(
        r#"
let id = full_id(docker("run -d --name e1 -e FOO=bar -e 'SPACED=a b' -e NETSH_FLAGS_FROM_ENV -e NETSH_FLAGS_UNSET_XYZ --env=LAST=1 busybox sleep 600"));
assert_eq(docker("exec e1 sh -c 'echo $FOO'"), "bar\n");
assert_eq(docker("exec e1 sh -c 'echo \"$SPACED\"'"), "a b\n");
assert_eq(docker("exec e1 sh -c 'echo $NETSH_FLAGS_FROM_ENV'"), "from netsh\n");
// `-e KEY` without a value anywhere is left out, as the daemon merges it.
assert_eq(docker("exec e1 sh -c 'echo ${NETSH_FLAGS_UNSET_XYZ-absent}'"), "absent\n");
// Docker's own variables: PATH, HOSTNAME (the short ID), HOME; nothing of netsh's.
assert_eq(docker("exec e1 sh -c 'echo $HOSTNAME $HOME'"), id.sub_string(0, 12) + " /root\n");
assert_eq(docker("exec e1 sh -c 'echo ${NETSH_TEST_OUTSIDE_ONLY-clean}'"), "clean\n");
assert_eq(docker("inspect -f '{{json .Config.Env}}' e1"),
    `["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","FOO=bar","SPACED=a b","NETSH_FLAGS_FROM_ENV=from netsh","LAST=1"]` + "\n");
// exec -e adds to (and overrides) the container's environment for that program only.
assert_eq(docker("exec -e X=1 -e FOO=baz e1 sh -c 'echo $X $FOO'"), "1 baz\n");
assert_eq(docker("exec e1 sh -c 'echo ${X-none} $FOO'"), "none bar\n");
// The container's own command sees them too (attached run, and a detached one's output).
assert_eq(docker("run --rm -e GREETING=hi busybox sh -c 'echo $GREETING'"), "hi\n");
// -e PATH replaces the image's PATH in place.
assert_eq(docker("run --rm -e PATH=/bin:/usr/bin busybox sh -c 'echo $PATH'"), "/bin:/usr/bin\n");
assert_eq(docker("inspect -f '{{json .Config.Env}}' e1").starts_with(`["PATH=`), true);
let plain = docker("run -d --name e2 busybox sleep 600");
assert_eq(docker("inspect -f '{{json .Config.Env}}' e2"), `["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]` + "\n");
// The CLI's refusal, before anything is built.
let before = docker("ps -aq");
refused("run -d --name e3 -e =x busybox sleep 600", 125, "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x\nSee 'docker run --help'.");
refused("exec -e =y e1 true", 125, "invalid argument \"=y\" for \"-e, --env\" flag: invalid environment variable: =y\nSee 'docker exec --help'.");
assert_eq(docker("ps -aq"), before);
"#,
    );
}

/// `--add-host NAME:IP`: `IP\tNAME` lines in /etc/hosts after Docker's localhost lines
/// and before the link and own-address lines (Docker 20.10's `buildSandboxOptions` hands
/// them to libnetwork's `etchosts.Build` first), names that resolve, `HostConfig.ExtraHosts`,
/// and the CLI's refusals.
#[test]
fn add_host_lines_resolve() {
    check(
        r#"
let t = full_id(docker("run -d --name target busybox sleep 600"));
let id = full_id(docker("run -d --name h1 --add-host peer:172.17.0.2 --add-host db.example:10.1.2.3 --add-host=six:::1 --link target busybox sleep 600"));
let hosts = docker("exec h1 cat /etc/hosts");
assert_eq(hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
    + "172.17.0.2\tpeer\n10.1.2.3\tdb.example\n::1\tsix\n"
    + "172.17.0.2\ttarget " + t.sub_string(0, 12) + "\n"
    + "172.17.0.3\t" + id.sub_string(0, 12) + "\n");
// The name resolves through /etc/hosts, and a real ping to it passes.
let p = docker("exec h1 ping -c1 -W1 peer");
assert(p.contains("PING peer (172.17.0.2)") && p.contains("1 packets received"), p);
refused("exec h1 ping -c1 -W1 db.example", 1, "PING db.example (10.1.2.3)");
assert_eq(docker("inspect -f '{{json .HostConfig.ExtraHosts}}' h1"), `["peer:172.17.0.2","db.example:10.1.2.3","six:::1"]` + "\n");
assert_eq(docker("inspect -f '{{json .HostConfig.ExtraHosts}}' target"), "null\n");
// On a user-defined network too (the embedded DNS server is asked only after /etc/hosts).
docker("network create hn");
docker("run -d --name h2 --network hn --add-host gw:172.17.0.1 busybox sleep 600");
assert(docker("exec h2 cat /etc/hosts").contains("ff02::2\tip6-allrouters\n172.17.0.1\tgw\n"), "h2 hosts");
assert(docker("exec h2 ping -c1 -W1 gw").contains("PING gw (172.17.0.1)"), "gw");
// host-gateway is the default bridge's gateway.
docker("run -d --name h3 --add-host host.docker.internal:host-gateway busybox sleep 600");
assert(docker("exec h3 cat /etc/hosts").contains("172.17.0.1\thost.docker.internal\n"), "host-gateway");
assert_eq(docker("inspect -f '{{json .HostConfig.ExtraHosts}}' h3"), `["host.docker.internal:host-gateway"]` + "\n");
// A container sharing h1's namespace sees h1's lines; its own are refused (runconfig).
docker("run -d --name h4 --network container:h1 busybox sleep 600");
assert_eq(docker("exec h4 cat /etc/hosts"), hosts);
refused("run -d --network container:h1 --add-host x:1.2.3.4 busybox sleep 600", 125, "docker: Error response from daemon: conflicting options: custom host-to-IP mapping and the network mode.");
refused("run -d --network container:h1 --dns 1.2.3.4 busybox sleep 600", 125, "docker: Error response from daemon: conflicting options: dns and the network mode.");
// On the host's network Docker writes the container's own file once there are extra hosts.
docker("run -d --name h5 --network host --add-host hh:10.4.4.4 busybox sleep 600");
assert_eq(docker("exec h5 cat /etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n10.4.4.4\thh\n");
let before = docker("ps -aq");
refused("run -d --add-host x busybox", 125, "invalid argument \"x\" for \"--add-host\" flag: bad format for add-host: \"x\"\nSee 'docker run --help'.");
refused("run -d --add-host :1.2.3.4 busybox", 125, "bad format for add-host: \":1.2.3.4\"");
refused("create --add-host db:10.1.2 busybox", 125, "invalid argument \"db:10.1.2\" for \"--add-host\" flag: invalid IP address in add-host: \"10.1.2\"\nSee 'docker create --help'.");
assert_eq(docker("ps -aq"), before);
"#,
    );
}

/// `--dns`, `--dns-search`, `--dns-option`: /etc/resolv.conf as libnetwork 20.10 writes it
/// (the servers themselves on the default bridge; the embedded server and `ndots:0` on
/// user-defined networks), `HostConfig.Dns*`, the CLI's refusals.
#[test]
fn dns_flags_write_resolv_conf() {
    check(
        r#"
docker("run -d --name d1 --dns 10.9.9.9 --dns=10.9.9.8 --dns-search example.org --dns-search corp.example. --dns-option rotate --dns-opt timeout:2 busybox sleep 600");
assert_eq(docker("exec d1 cat /etc/resolv.conf"), "search example.org corp.example\nnameserver 10.9.9.9\nnameserver 10.9.9.8\noptions rotate timeout:2\n");
assert_eq(docker("inspect -f '{{json .HostConfig.Dns}} {{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}}' d1"),
    `["10.9.9.9","10.9.9.8"] ["example.org","corp.example"] ["rotate","timeout:2"]` + "\n");
docker("run -d --name d0 busybox sleep 600");
assert_eq(docker("inspect -f '{{json .HostConfig.Dns}} {{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}}' d0"), "[] [] []\n");
// User-defined network: the embedded server stays the only nameserver; ndots:0 follows the
// user's options unless they set ndots.
docker("network create dn");
docker("run -d --name d2 --network dn --dns 10.9.9.9 --dns-search example.org --dns-option rotate busybox sleep 600");
assert_eq(docker("exec d2 cat /etc/resolv.conf"), "search example.org\nnameserver 127.0.0.11\noptions rotate ndots:0\n");
docker("run -d --name d3 --network dn --dns-search corp.example --dns-option ndots:2 busybox sleep 600");
assert_eq(docker("exec d3 cat /etc/resolv.conf"), "search corp.example\nnameserver 127.0.0.11\noptions ndots:2\n");
docker("run -d --name d4 --network dn busybox sleep 600");
assert_eq(docker("exec d4 cat /etc/resolv.conf"), "nameserver 127.0.0.11\noptions ndots:0\n");
let before = docker("ps -aq");
refused("run -d --dns nope busybox", 125, "invalid argument \"nope\" for \"--dns\" flag: nope is not an ip address\nSee 'docker run --help'.");
refused("run -d --dns-search -bad.example busybox", 125, "invalid argument \"-bad.example\" for \"--dns-search\" flag: -bad.example is not a valid domain");
refused("run -d --dns-search 123 busybox", 125, "123 is not a valid domain");
assert_eq(docker("ps -aq"), before);
"#,
    );
}

/// `network create --ip-range --aux-address --label -o`: where addresses come from, what is
/// never handed out, `IPAM.Config`, `Labels`, `Options`, `network ls --filter label=`, and the
/// CLI's IPAM refusals in its words.
#[test]
fn network_create_ipam_and_metadata_flags() {
    check(
        r#"
docker("network create --subnet 10.50.0.0/16 --gateway 10.50.0.1 --ip-range 10.50.3.0/24 --aux-address res1=10.50.3.0 --aux-address res2=10.50.3.2 --label team=red --label tier=back -o foo=bar rn");
assert_eq(docker("network inspect -f '{{json .IPAM.Config}}' rn"),
    `[{"Subnet":"10.50.0.0/16","IPRange":"10.50.3.0/24","Gateway":"10.50.0.1","AuxiliaryAddresses":{"res1":"10.50.3.0","res2":"10.50.3.2"}}]` + "\n");
assert_eq(docker("network inspect -f '{{json .Labels}} {{json .Options}}' rn"), `{"team":"red","tier":"back"} {"foo":"bar"}` + "\n");
// Addresses come from the range only, never an auxiliary one.
docker("run -d --name r1 --network rn busybox sleep 600");
docker("run -d --name r2 --network rn busybox sleep 600");
assert_eq(docker("inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}/{{.IPPrefixLen}}{{end}}' r1"), "10.50.3.1/16\n");
assert_eq(docker("inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' r2"), "10.50.3.3\n");
assert(docker("exec r1 ip a").contains("inet 10.50.3.1/16"), "kernel address");
assert(docker("exec r1 ping -c1 -W1 r2").contains("1 packets received"), "r1 -> r2");
// A fixed address may be anywhere in the subnet; an auxiliary one is held.
docker("run -d --name r3 --network rn --ip 10.50.9.9 busybox sleep 600");
refused("run -d --name r4 --network rn --ip 10.50.3.2 busybox sleep 600", 125, "Address already in use");
// Without a gateway, the gateway is the range's first free address (libnetwork asks the
// sub-pool for it).
docker("network create --subnet 10.51.0.0/24 --ip-range 10.51.0.128/25 rg");
assert_eq(docker("network inspect -f '{{json .IPAM.Config}}' rg"), `[{"Subnet":"10.51.0.0/24","IPRange":"10.51.0.128/25"}]` + "\n");
docker("run -d --name g1 --network rg busybox sleep 600");
assert(docker("exec g1 ip route").contains("default via 10.51.0.128"), "gateway from the range");
assert(docker("exec g1 ip a").contains("inet 10.51.0.129/24"), "first address after the gateway");
// Labels filter.
assert_eq(docker("network ls -q --filter label=team"), docker("network inspect -f '{{.Id}}' rn").sub_string(0, 12) + "\n");
assert_eq(docker("network ls -q --filter label=team=red --filter label=tier"), docker("network inspect -f '{{.Id}}' rn").sub_string(0, 12) + "\n");
assert_eq(docker("network ls -q --filter label=team=blue"), "");
assert_eq(docker("network inspect -f '{{json .Labels}} {{json .Options}}' rg"), "{} {}\n");
// The CLI's refusals, nothing built.
let before = docker("network ls -q");
// The CLI's own checks print without the daemon's prefix.
for c in [
    ["--ip-range 10.52.0.0/24", "every ip-range or gateway must have a corresponding subnet"],
    ["--subnet 10.52.0.0/24 --ip-range 10.53.0.0/24", "no matching subnet for range 10.53.0.0/24"],
    ["--subnet 10.52.0.0/24 --ip-range 10.52.0.0/25 --ip-range 10.52.0.128/25", "every ip-range or gateway must have a corresponding subnet"],
    ["--subnet 10.52.0.0/24 --ip-range 10.52.0.0/33", "invalid CIDR address: 10.52.0.0/33"],
    ["--subnet 10.52.0.0/24 --aux-address a=10.53.0.1", "no matching subnet for aux-address 10.53.0.1"],
    ["--aux-address a=10.53.0.1", "no matching subnet for aux-address 10.53.0.1"],
] {
    assert_eq(refused(`network create ${c[0]} x1`, 1, c[1]), c[1]);
}
refused("network create --subnet 10.52.0.0/24 --gateway 10.52.0.1 --aux-address gw=10.52.0.1 x1", 1, "Error response from daemon: failed to allocate secondary ip address (gw:10.52.0.1): Address already in use");
refused("network create --subnet 10.52.0.0/24 --subnet 10.54.0.0/24 x1", 1, "netsh holds one subnet per network");
refused("network create --label nokey x1", 125, "invalid argument \"nokey\" for \"--label\" flag: bad attribute format: nokey\nSee 'docker network create --help'.");
assert_eq(docker("network ls -q"), before);
"#,
    );
}

/// The bridge driver's options, checked in the kernel: `com.docker.network.bridge.name` (the
/// bridge's device), `com.docker.network.driver.mtu` (bridge and both veth ends),
/// `com.docker.network.bridge.enable_icc=false` (containers cannot reach each other, the
/// gateway still answers: a drop rule in the firewall), `enable_ip_masquerade=false` (no
/// masquerading: replies from beyond the host never come back); Docker's refusals.
#[test]
fn bridge_driver_options_for_real() {
    check(
        r#"
docker("network create -o com.docker.network.bridge.name=labbr0 -o com.docker.network.driver.mtu=1400 --subnet 10.61.0.0/24 mt");
assert_eq(docker("network inspect -f '{{json .Options}}' mt"), `{"com.docker.network.bridge.name":"labbr0","com.docker.network.driver.mtu":"1400"}` + "\n");
let br = ip("link show labbr0");
assert(br.contains("labbr0: <") && br.contains(" mtu 1400 "), br);
assert(ip("addr show labbr0").contains("inet 10.61.0.1/24"), "gateway on the named bridge");
docker("run -d --name m1 --network mt busybox sleep 600");
docker("run -d --name m2 --network mt busybox sleep 600");
assert(docker("exec m1 ip link show eth0").contains(" mtu 1400 "), "container end");
let ports = ip("link show").split("\n").filter(|l| l.contains("master labbr0"));
assert_eq(ports.len(), 2, `${ports}`);
assert_eq(ports.filter(|l| l.contains(" mtu 1400 ")).len(), 2, `${ports}`);
// 1372 bytes of ICMP payload fill a 1400-byte packet exactly; one byte more does not fit
// unfragmented (busybox ping sets no DF, so only the kernel's state says it; the pings pass).
assert(docker("exec m1 ping -c1 -W1 -s 1372 m2").contains("1 packets received"), "full-size packet");
// enable_icc=false: a real drop rule; member to member fails, the gateway answers.
docker("network create -o com.docker.network.bridge.enable_icc=false --subnet 10.62.0.0/24 quiet");
docker("run -d --name q1 --network quiet busybox sleep 600");
docker("run -d --name q2 --network quiet busybox sleep 600");
assert(docker("exec q1 ping -c1 -W1 10.62.0.1").contains("1 packets received"), "gateway");
refused("exec q1 ping -c1 -W1 q2", 1, "1 packets transmitted, 0 packets received");
refused("exec q2 ping -c1 -W1 10.62.0.2", 1, "0 packets received");
assert(docker("exec m1 ping -c1 -W1 m2").contains("1 packets received"), "icc on by default");
let quiet_br = "br-" + docker("network inspect -f '{{.Id}}' quiet").sub_string(0, 12);
let drops = nft_rules().filter(|r| r.starts_with("fwd-" + quiet_br + ": ") && r.contains("no traffic between containers of network quiet (enable_icc=false)"));
assert_eq(drops.len(), 1, `${nft_rules()}`);
// enable_ip_masquerade=false: what leaves keeps its container address, so the namespace
// beyond the host's uplink (no route back to 10.64.0.0/24) never answers; masqueraded, it does.
outside();
docker("network create -o com.docker.network.bridge.enable_ip_masquerade=false --subnet 10.64.0.0/24 nomasq");
docker("run -d --name x1 --network nomasq busybox sleep 600");
refused("exec x1 ping -c1 -W1 192.0.2.254", 1, "0 packets received");
assert(docker("exec x1 ping -c1 -W1 10.64.0.1").contains("1 packets received"), "nomasq gateway");
assert(docker("exec m1 ping -c1 -W1 192.0.2.254").contains("1 packets received"), "masqueraded");
let nomasq_br = "br-" + docker("network inspect -f '{{.Id}}' nomasq").sub_string(0, 12);
assert_eq(nft_rules().filter(|r| r.starts_with("nat-" + nomasq_br)).len(), 0, `${nft_rules()}`);
// Docker's refusals of bad values, and a bridge name already taken; nothing built.
let nets = docker("network ls -q");
let links = ip("link show");
refused("network create -o com.docker.network.driver.mtu=abc x1", 1, "Error response from daemon: failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing \"abc\": invalid syntax)");
refused("network create -o com.docker.network.driver.mtu=-5 x1", 1, "Error response from daemon: invalid MTU number: -5");
refused("network create -o com.docker.network.driver.mtu=70000 x1", 1, "the kernel takes 68 to 65535 bytes");
refused("network create -o com.docker.network.bridge.enable_icc=maybe x1", 1, "Error response from daemon: failed to parse com.docker.network.bridge.enable_icc value: maybe (strconv.ParseBool: parsing \"maybe\": invalid syntax)");
let mt_id = docker("network inspect -f '{{.Id}}' mt");
mt_id.trim();
refused("network create -o com.docker.network.bridge.name=labbr0 x1", 1, "conflicts with network " + mt_id + " (labbr0): networks have same bridge name");
refused("network create -o com.docker.network.bridge.name=eth0 x1", 1, "the lab host already has an interface named \"eth0\"");
refused("network create -o com.docker.network.bridge.name=much-too-long-name x1", 1, "at most 15 bytes");
assert_eq(docker("network ls -q"), nets);
assert_eq(ip("link show"), links);
"#,
    );
}

/// On a user-defined network the embedded DNS server forwards names it does not know to the
/// container's `--dns` servers, from inside the container's namespace (libnetwork's extDNS):
/// a DNS responder in another container of the lab (perl, from the machine) answers each
/// question with the address it came from, which must be the asking container's own. Without
/// `--dns` such names stay NXDOMAIN (the host's resolvers are outside the sealed lab).
#[test]
fn embedded_dns_forwards_to_dns_servers_inside_the_lab() {
    if !std::path::Path::new("/usr/bin/perl").exists() {
        eprintln!("skipped: the DNS responder runs /usr/bin/perl, which this machine lacks");
        return;
    }
    check(
        r#"
let responder = `use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => "10.63.0.53", LocalPort => 53, Proto => "udp") or die "bind: $!"; while (1) { my $q; $s->recv($q, 512) or next; my $ip = $s->peerhost; my $i = 12; $i += ord(substr($q, $i, 1)) + 1 while ord(substr($q, $i, 1)); my $qt = unpack("n", substr($q, $i + 1, 2)); my $qs = substr($q, 12, $i + 5 - 12); my $an = $qt == 1 ? pack("nnnNnC4", 0xc00c, 1, 1, 60, 4, split(/\./, $ip)) : ""; $s->send(pack("nnnnnn", unpack("n", $q), 0x8180, 1, ($qt == 1 ? 1 : 0), 0, 0) . $qs . $an); }`;
docker("network create --subnet 10.63.0.0/24 dn");
docker("run -d --name resolver --network dn --ip 10.63.0.53 perl perl -e '" + responder + "'");
docker("run -d --name client --network dn --dns 10.63.0.53 busybox sleep 600");
docker("run -d --name plain --network dn busybox sleep 600");
// (search and options lines come from the machine's resolv.conf when only --dns is given)
let rc = docker("exec client cat /etc/resolv.conf");
assert(rc.contains("nameserver 127.0.0.11\n") && !rc.contains("10.63.0.53") && rc.contains("ndots:0"), rc);
// The responder may still be starting: ask until it answers (at most ~5 s).
let answer = "";
for i in 0..20 {
    try { answer = docker("exec client nslookup ext.example"); } catch (e) { answer = e; }
    if answer.contains("Address: 10.63.0.2") { break; }
    sleep(0.25);
}
assert(answer.contains("Name:\text.example\nAddress: 10.63.0.2"), answer);
let p = docker("exec client ping -c1 -W1 ext.example");
assert(p.contains("PING ext.example (10.63.0.2)") && p.contains("1 packets received"), p);
// Names the network knows are answered by the embedded server itself.
assert(docker("exec client ping -c1 -W1 plain").contains("PING plain (10.63.0.3)"), "local name");
// Without --dns nothing is forwarded.
refused("exec plain ping -c1 -W1 ext.example", 1, "ping: bad address 'ext.example'");
"#,
    );
}

/// What netsh does not model is refused in netsh's words, never as if Docker did not know
/// it; what it models keeps Docker's words: an image reference checked as `run` checks it,
/// a program that is not in a busybox container not found as the runtime says it.
#[test]
fn refusals_say_what_netsh_models() {
    check(
        r#"
refused("run UPPER true", 125, "docker: invalid reference format: repository name must be lowercase.\nSee 'docker run --help'.");
refused("create bad//name", 125, "invalid reference format");
refused("run -it busybox sh", 125, "netsh: an interactive shell needs a terminal");
refused("run -it --name x1 busybox", 125, "netsh: an interactive shell needs a terminal");
docker("run -itd --name it busybox");
refused("exec -it it sh", 1, "netsh: an interactive shell needs a terminal");
assert_eq(docker("exec -it it echo fine"), "fine\n", "-it with a command runs it");
for cmd in ["version", "info", "images", "volume ls", "system prune -f"] {
    refused(cmd, 1, "netsh models Docker's networking only");
}
refused("frob", 1, "docker: 'frob' is not a docker command.");
refused("network create -d macvlan mv", 1, "the macvlan driver is Docker's, but netsh models the bridge, host and null drivers only");
refused("network create -d nosuch mv", 1, "plugin \"nosuch\" not found");
refused("run busybox nosuchprog", 127, "exec: \"nosuchprog\": executable file not found in $PATH");
refused("exec it nosuchprog", 126, "exec: \"nosuchprog\": executable file not found in $PATH");
refused("exec it /bin/nosuch", 126, "stat /bin/nosuch: no such file or directory");
docker("run -d --name withcmd busybox sleep 600");
assert_eq(docker("inspect -f '{{.Path}} {{json .Args}} {{.Config.Image}} {{json .Config.Cmd}}' withcmd"),
    "sleep [\"600\"] busybox [\"sleep\",\"600\"]\n");
"#,
    );
}
