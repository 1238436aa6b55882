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
assert_eq(docker("ps --format '{{.Names}} {{.Image}} {{.Status}}'").sub_string(0, 19), "web2 busybox Up Les");
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
