//! Every binding given bad input — wrong types, empty and over-long names, bad CIDRs,
//! unknown objects, out-of-range ports and counts — fails with a clear error in the
//! script's terms, at the call's line and column, with exit code 1, no panic, and the lab
//! unchanged.
//!
//! The table is run twice: once case by case, uncaught (exit code, position, message), in a
//! few parallel workers; once as a single script that catches each case with try/catch and
//! compares the lab's views before and after all of them.

mod common;

use common::netsh;

/// What every case can use: a namespace `n`, a container `c`, a user network `n2`.
const SETUP: &str = "let n = netns(\"n1\"); let c = run(\"c1\"); network(\"n2\");";

/// (the failing call, where the caret must point — the first occurrence of this text —,
/// a piece of the message). Every binding of `:help` appears at least once.
const CASES: &[(&str, &str, &str)] = &[
    // Namespaces and links.
    ("netns(1)", "netns", "netns() cannot take (an integer); use netns(name)"),
    ("netns(\"\")", "netns", "a namespace name cannot be empty"),
    ("netns(\"n1\")", "netns", "network namespace \"n1\" already exists"),
    ("netns(\"c1\")", "netns", "a container is named \"c1\""),
    ("netns(\"host\")", "netns", "\"host\" is the lab's host namespace"),
    ("netns(\"a/b\")", "netns", "not a valid namespace name"),
    ("netns(\"a b\")", "netns", "cannot contain ' '"),
    ("netns(\"-n\")", "netns", "cannot start with '-'"),
    (
        "netns(\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\")",
        "netns",
        "at most 255 bytes",
    ),
    ("host(1)", "host", "host() cannot take (an integer); use host()"),
    ("namespaces(1)", "namespaces", "use namespaces()"),
    ("del_netns(1)", "del_netns", "expected a network namespace or a container (an object or its name), got an integer"),
    ("del_netns(\"nope\")", "del_netns", "network namespace \"nope\" does not exist, nor a container by that name (namespaces: host, n1; containers: c1)"),
    ("del_netns(c)", "del_netns", "remove the container with rm(\"c1\")"),
    ("del_netns(host())", "del_netns", "the lab's host namespace cannot be deleted"),
    ("veth(1, 2)", "veth", "veth() cannot take (an integer, an integer)"),
    ("veth(\"\", \"b\")", "veth", "an interface name cannot be empty"),
    ("veth(\"a\", \"a\")", "veth", "a veth pair needs two different names"),
    ("veth(\"sixteen-bytes-xx\", \"b\")", "veth", "at most 15 bytes (IFNAMSIZ)"),
    ("veth(\"lo\", \"b\")", "veth", "device \"lo\" already exists in the host"),
    ("move_link(\"nodev\", \"n1\")", "move_link", "no device \"nodev\" in the host"),
    ("move_link(\"lo\", 5)", "move_link", "got an integer"),
    ("move_link(\"lo\", \"nope\")", "move_link", "network namespace \"nope\" does not exist, nor a container"),
    ("ip_a(5)", "ip_a", "got an integer"),
    ("ip_a(\"nope\")", "ip_a", "network namespace \"nope\" does not exist, nor a container"),
    ("ip_addr(5)", "ip_addr", "got an integer"),
    ("ip_link([])", "ip_link", "got an array"),
    ("ip_route(#{})", "ip_route", "got a map"),
    ("links(5)", "links", "got an integer"),
    ("link(n, 5)", "link", "link() cannot take (a namespace, an integer)"),
    ("link(\"nope\", \"x\")", "link", "network namespace \"nope\" does not exist, nor a container"),
    ("link(c, \"eth9\")", "link", "no device \"eth9\" in container \"c1\" (it has: lo, eth0)"),
    // Tests.
    ("test(1, || {})", "test", "test() cannot take (an integer"),
    ("test(\"\", || {})", "test", "the name must not be empty"),
    ("skip(1)", "skip", "skip() cannot take (an integer)"),
    ("assert_snapshot(\"a\", \"x\")", "assert_snapshot", "needs a script file"),
    // Probes and assertions.
    ("ping(1, \"10.0.0.1\")", "ping", "got an integer"),
    ("ping(n, 5)", "ping", "ping() cannot take (a namespace, an integer)"),
    ("ping(n, \"10.0.0.1\", #{count: -1})", "ping", "ping option \"count\" must be positive, got -1"),
    ("ping(n, \"10.0.0.1\", #{count: 0})", "ping", "must be positive, got 0"),
    ("ping(n, \"10.0.0.1\", #{count: 100000})", "ping", "ping option \"count\" must be at most 1000"),
    ("ping(n, \"10.0.0.1\", #{timeout: \"a\"})", "ping", "must be an integer, got a string"),
    ("ping(n, \"10.0.0.1\", #{bogus: 1})", "ping", "unknown ping option \"bogus\""),
    ("ping(\"nope\", \"10.0.0.1\")", "ping", "network namespace \"nope\" does not exist, nor a container"),
    ("ping(\"-c 0 10.0.0.1\")", "ping", "ping: invalid argument: '0': out of range"),
    ("ping(\"\")", "ping", "ping: usage error: Destination address required"),
    ("ping(\"-c 1 nohost\")", "ping", "ping: nohost: Name or service not known"),
    ("ping(\"-z 10.0.0.1\")", "ping", "ping: invalid option -- 'z'"),
    // Command lines, in the real programs' words.
    ("ip(5)", "ip", "ip() cannot take (an integer)"),
    ("ip(\"\")", "ip", "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }"),
    ("ip(\"frob\")", "ip", "Object \"frob\" is unknown, try \"ip help\"."),
    ("ip(\"link frob\")", "ip", "Command \"frob\" is unknown, try \"ip link help\"."),
    ("ip(\"link set veth9 up\")", "ip", "Cannot find device \"veth9\""),
    ("ip(\"link add lo type veth peer name x9\")", "ip", "RTNETLINK answers: File exists"),
    ("ip(\"link add x9 type dummy\")", "ip", "type dummy\" is not supported"),
    ("ip(\"link set lo netns ghost\")", "ip", "Error: argument \"ghost\" is wrong: Invalid \"netns\" value"),
    ("ip(\"link set lo master ghost\")", "ip", "Error: argument \"ghost\" is wrong: Device does not exist"),
    ("ip(\"link set lo address zz\")", "ip", "\"zz\" is invalid lladdr."),
    ("ip(\"link del docker0\")", "ip", "cannot delete \"docker0\": it is the bridge of Docker network \"bridge\""),
    ("ip(\"netns add n1\")", "ip", "Cannot create namespace file \"/var/run/netns/n1\": File exists"),
    ("ip(\"netns add a/b\")", "ip", "Invalid netns name \"a/b\""),
    ("ip(\"netns del ghost\")", "ip", "Cannot remove namespace file \"/var/run/netns/ghost\": No such file or directory"),
    ("ip(\"netns exec ghost ip a\")", "ip", "Cannot open network namespace \"ghost\": No such file or directory"),
    ("ip(\"netns exec n1\")", "ip", "No command specified"),
    ("ip(\"netns exec n1 sh -c 'x\")", "ip", "cannot split"),
    ("ip(\"-n ghost link\")", "ip", "Cannot open network namespace \"ghost\": No such file or directory"),
    ("ip(\"-n n1 addr add 10.0.0.1/24\")", "ip", "Not enough information: \"dev\" argument is required."),
    ("ip(\"-n n1 addr add 300.0.0.1/24 dev lo\")", "ip", "Error: any valid prefix is expected rather than \"300.0.0.1/24\"."),
    ("ip(\"-n n1 addr del 10.0.0.9/24 dev lo\")", "ip", "Error: ipv4: Address not found."),
    ("ip(\"-n n1 addr show dev nodev\")", "ip", "Device \"nodev\" does not exist."),
    ("ip(\"-n n1 route add default via 10.9.9.9\")", "ip", "Error: Nexthop has invalid gateway."),
    ("ip(\"-n n1 route del 10.2.0.0/16\")", "ip", "RTNETLINK answers: No such process"),
    ("ip(\"-n n1 route add 10.5.0.0/16\")", "ip", "RTNETLINK answers: No such device"),
    ("ip(\"rule\")", "ip", "\"ip rule\" is not supported by the lab's ip front"),
    ("brctl(5)", "brctl", "brctl() cannot take (an integer)"),
    ("brctl(\"frob\")", "brctl", "never heard of command [frob]"),
    ("brctl(\"addif docker0\")", "brctl", "Incorrect number of arguments for command"),
    ("brctl(\"addbr docker0\")", "brctl", "device docker0 already exists; can't create bridge with the same name"),
    ("brctl(\"delbr ghost\")", "brctl", "bridge ghost doesn't exist; can't delete it"),
    ("brctl(\"delbr docker0\")", "brctl", "bridge docker0 is still up; can't delete it"),
    ("brctl(\"addif docker0 nodev\")", "brctl", "interface nodev does not exist!"),
    ("brctl(\"addif ghost lo\")", "brctl", "bridge ghost does not exist!"),
    ("brctl(\"delif docker0 lo\")", "brctl", "device lo is not a slave of docker0"),
    ("brctl(\"show ghost\")", "brctl", "bridge ghost does not exist!"),
    ("last_status(1)", "last_status", "last_status() cannot take (an integer)"),
    ("assert_reach(5, \"10.0.0.1\")", "assert_reach", "got an integer"),
    ("assert_no_reach(n, \"10.0.0.1\", #{interval: -3})", "assert_no_reach", "must be positive, got -3"),
    ("assert(5)", "assert", "assert() expects a bool or a ping result, got an integer"),
    ("assert_eq(1)", "assert_eq", "assert_eq() cannot take (an integer)"),
    ("assert_ne(1)", "assert_ne", "assert_ne() cannot take (an integer)"),
    ("fail(1)", "fail", "fail() cannot take (an integer); use fail(message)"),
    ("sleep(-1)", "sleep", "sleep() needs a non-negative number of ms, got -1"),
    ("sleep(\"x\")", "sleep", "sleep() cannot take (a string); use sleep(ms)"),
    ("print(1, 2)", "print", "print() cannot take (an integer, an integer); use print(value)"),
    // Docker.
    ("network(5)", "network", "network() cannot take (an integer)"),
    ("network(\"\")", "network", "a network needs a name"),
    ("network(\"bridge\")", "network", "operation is not permitted on predefined bridge network"),
    ("network(\"n2\")", "network", "network with name n2 already exists"),
    ("network(\"x1\", #{subnet: 5})", "network", "network option \"subnet\" must be a string, got an integer"),
    ("network(\"x1\", #{subnet: \"10.0.0.0/33\"})", "network", "Invalid subnet 10.0.0.0/33"),
    ("network(\"x1\", #{subnet: \"10.0.0.300/24\"})", "network", "Invalid subnet 10.0.0.300/24"),
    ("network(\"x1\", #{subnet: \"0.0.0.0/8\"})", "network", "cannot use subnet 0.0.0.0/8"),
    ("network(\"x1\", #{subnet: \"10.0.0.0/24\", gateway: \"10.0.1.1\"})", "network", "no matching subnet for gateway 10.0.1.1"),
    ("network(\"x1\", #{internal: \"yes\"})", "network", "network option \"internal\" must be a bool, got a string"),
    ("network(\"x1\", #{bogus: 1})", "network", "unknown network option \"bogus\""),
    ("network(\"x1\", #{driver: \"weave\"})", "network", "plugin \"weave\" not found"),
    ("network(\"x1\", #{driver: \"overlay\"})", "network", "the overlay driver is Docker's, but netsh models the bridge, host and null drivers only"),
    ("run(5)", "run", "run() cannot take (an integer)"),
    ("run(\"\")", "run", "Invalid container name ()"),
    ("run(\"c1\")", "run", "The container name \"/c1\" is already in use"),
    ("run(\"n1\")", "run", "a network namespace is named \"n1\""),
    ("run(\"c2\", 5)", "run", "expected a network (a network object or its name), got an integer"),
    ("run(\"c2\", \"nonet\")", "run", "network nonet not found"),
    ("run(\"c2\", #{network: \"n2\", ip: 5})", "run", "run option \"ip\" must be a string, got an integer"),
    ("run(\"c2\", #{network: \"n2\", ip: \"10.0.0.300\"})", "run", "invalid IPv4 address: 10.0.0.300"),
    ("run(\"c2\", #{network: \"n2\", ip: \"10.9.9.9\"})", "run", "user specified IP address is supported only when connecting to networks with user configured subnets"),
    ("run(\"c2\", #{network: \"bridge\", ip: \"172.17.0.9\"})", "run", "user specified IP address is supported on user defined networks only"),
    ("run(\"c2\", #{network: \"host\", aliases: [\"x\"]})", "run", "network-scoped aliases are only supported for user-defined networks"),
    ("run(\"c2\", #{aliases: 5})", "run", "option \"aliases\" must be an array of strings"),
    ("run(\"c2\", #{publish: [\"99999:80\"]})", "run", "invalid hostPort: 99999"),
    ("run(\"c2\", #{publish: [\"80:0\"]})", "run", "invalid"),
    ("run(\"c2\", #{publish: [\"abc\"]})", "run", "invalid containerPort: abc"),
    ("run(\"c2\", #{publish: [\"1:2:3:4\"]})", "run", "invalid IP address: 1:2"),
    ("run(\"c2\", #{link: [\"ghost\"]})", "run", "could not get container for ghost: No such container: ghost"),
    ("run(\"c2\", #{network: \"n2\", link: [\"a:b:c\"]})", "run", "invalid link \"a:b:c\": bad format for links: a:b:c (expected NAME or NAME:ALIAS)"),
    ("run(\"c2\", #{link: 5})", "run", "option \"link\" must be an array of strings"),
    ("run(\"c2\", #{bogus: 1})", "run", "unknown run option \"bogus\""),
    ("connect(5, \"n2\")", "connect", "expected a container (a container object or its name), got an integer"),
    ("connect(\"ghost\", \"n2\")", "connect", "No such container: ghost"),
    ("connect(c, \"nonet\")", "connect", "network nonet not found"),
    ("connect(c, \"bridge\")", "connect", "endpoint with name c1 already exists in network bridge"),
    ("connect(c, \"n2\", #{ip: \"1.2.3.4\"})", "connect", "user specified IP address is supported only when connecting to networks with user configured subnets"),
    ("connect(c, \"n2\", #{bogus: 1})", "connect", "unknown connect option \"bogus\""),
    ("connect(c, \"n2\", #{link: [\"a:b:c\"]})", "connect", "invalid link \"a:b:c\": bad format for links: a:b:c"),
    ("disconnect(c, \"n2\")", "disconnect", " is not connected to network n2"),
    ("disconnect(5, 5)", "disconnect", "got an integer"),
    ("rename(5, \"x2\")", "rename", "expected a container (a container object or its name), got an integer"),
    ("rename(c, 5)", "rename", "rename() cannot take (a container, an integer)"),
    ("rename(\"ghost\", \"x2\")", "rename", "No such container: ghost"),
    ("rename(c, \"\")", "rename", "Neither old nor new names may be empty"),
    ("rename(c, \"c1\")", "rename", "Renaming a container with the same name as its current name"),
    ("rename(c, \"bad!\")", "rename", "Error when allocating new name: Invalid container name (/bad!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
    ("rename(c, \"n1\")", "rename", "cannot rename container \"c1\" to \"n1\": a network namespace is named \"n1\""),
    ("rm(5)", "rm", "expected a container (a container object or its name), got an integer"),
    ("rm(\"ghost\")", "rm", "No such container: ghost"),
    ("network_rm(5)", "network_rm", "expected a network (a network object or its name), got an integer"),
    ("network_rm(\"ghost\")", "network_rm", "network ghost not found"),
    ("network_rm(\"bridge\")", "network_rm", "bridge is a pre-defined network and cannot be removed"),
    ("network_ls(5)", "network_ls", "use network_ls()"),
    ("network_inspect(\"ghost\")", "network_inspect", "network ghost not found"),
    ("docker_inspect(\"ghost\")", "docker_inspect", "No such container: ghost"),
    ("inspect(5)", "inspect", "got an integer"),
    ("inspect(\"ghost\")", "inspect", "No such object: ghost"),
    ("brctl_show(1)", "brctl_show", "use brctl_show()"),
    ("containers(1)", "containers", "use containers()"),
    ("nft_rules(1)", "nft_rules", "use nft_rules()"),
    ("networks(1)", "networks", "use networks()"),
    ("docker(\"network create\")", "docker", "\"docker network create\" requires exactly 1 argument.\nSee 'docker network create --help'."),
    ("docker(\"network create --bogus n3\")", "docker", "unknown flag: --bogus\nSee 'docker network create --help'."),
    ("docker(\"run --name c1 busybox\")", "docker", "docker: Error response from daemon: Conflict. The container name \"/c1\" is already in use"),
    ("docker(\"network create n2\")", "docker", "Error response from daemon: network with name n2 already exists"),
    ("docker(\"exec nope ls\")", "docker", "Error: No such container: nope"),
    ("docker(\"run 'busybox\")", "docker", "an unterminated quote"),
    ("docker(\"\")", "docker", "a docker command is missing"),
    ("docker(1)", "docker", "docker() cannot take (an integer)"),
    ("docker_status(1)", "docker_status", "use docker_status()"),
    ("port(\"ghost\")", "port", "No such container: ghost"),
    ("hosts_file(5)", "hosts_file", "got an integer"),
    // Programs and services.
    ("exec(5, \"true\")", "exec", "got an integer"),
    ("exec(c, 5)", "exec", "exec expects a command string or an array of words, got an integer"),
    ("exec(c, \"\")", "exec", "exec needs a program to run"),
    ("exec(c, [])", "exec", "exec needs a program to run, got an empty array"),
    ("exec(c, \"sh -c 'x\")", "exec", "unterminated quote"),
    ("exec(c, \"true\", #{timeout: -5})", "exec", "exec: invalid timeout -5 ms"),
    ("exec(c, \"true\", #{timeout: \"a\"})", "exec", "must be an integer (ms), got a string"),
    ("exec(c, \"true\", #{detach: 1})", "exec", "exec option \"detach\" must be a bool, got an integer"),
    ("exec(c, \"true\", #{bogus: 1})", "exec", "unknown exec option \"bogus\""),
    ("exec(\"ghost\", \"true\")", "exec", "network namespace \"ghost\" does not exist, nor a container"),
    ("resolve(5, \"x\")", "resolve", "got an integer"),
    ("resolve(c, 5)", "resolve", "resolve() cannot take (a container, an integer)"),
    ("resolve_ptr(5, \"10.0.0.1\")", "resolve_ptr", "got an integer"),
    ("resolve_ptr(c, \"c1\")", "resolve_ptr", "resolve_ptr: \"c1\" is not an IPv4 address"),
    ("resolve_ptr(c, \"fd00::2\")", "resolve_ptr", "is not an IPv4 address"),
    ("resolve_ptr(c, 5)", "resolve_ptr", "resolve_ptr() cannot take (a container, an integer)"),
    ("resolve_ptr(\"ghost\", \"10.0.0.1\")", "resolve_ptr", "network namespace \"ghost\" does not exist, nor a container"),
    ("serve(c, 0)", "serve", "serve: invalid port 0"),
    ("serve(c, 65536)", "serve", "serve: invalid port 65536"),
    ("serve(c, -1)", "serve", "serve: invalid port -1"),
    ("serve(c, \"80\")", "serve", "serve() cannot take (a container, a string)"),
    ("serve(c, 80, \"sctp\")", "serve", "serve: unknown protocol \"sctp\""),
    ("serve(\"ghost\", 80)", "serve", "network namespace \"ghost\" does not exist, nor a container"),
    ("tcp(c, \"10.0.0.1\")", "tcp", "expected ADDRESS:PORT"),
    ("tcp(c, \"10.0.0.1:65536\")", "tcp", "invalid port \"65536\""),
    ("tcp(c, \"10.0.0.1:-1\")", "tcp", "invalid port \"-1\""),
    ("tcp(c, 5)", "tcp", "tcp() cannot take (a container, an integer)"),
    ("udp(c, \"10.0.0.1:53\", 5)", "udp", "a payload is a string or an array of bytes, got an integer"),
    ("udp(c, \"10.0.0.1:53\", [300])", "udp", "payload bytes must be integers 0-255, got 300"),
    ("udp(c, \"nohost\")", "udp", "expected ADDRESS:PORT"),
    ("http_get(c, \"ftp://x\")", "http_get", "only http:// URLs are supported"),
    ("http_get(c, 5)", "http_get", "http_get() cannot take (a container, an integer)"),
    ("outside(1)", "outside", "use outside()"),
    // Methods of a namespace.
    ("n.addr(\"lo\", \"bad\")", "addr", "\"bad\" is not an IP address"),
    ("n.addr(\"lo\", \"10.0.0.1/33\")", "addr", "invalid prefix length \"33\""),
    ("n.addr(\"lo\", \"\")", "addr", "is not an IP address"),
    ("n.addr(\"nodev\", \"10.0.0.1/24\")", "addr", "no device \"nodev\" in netns \"n1\" (it has: lo)"),
    ("n.addr(5, 5)", "addr", "addr() cannot take (a namespace, an integer, an integer); use ns.addr(dev, cidr)"),
    ("n.del_addr(\"lo\", \"10.0.0.1/24\")", "del_addr", "address 10.0.0.1/24 is not on \"lo\" in netns \"n1\""),
    ("n.addrs(\"nodev\")", "addrs", "no device \"nodev\""),
    ("n.up(\"nodev\")", "up", "no device \"nodev\""),
    ("n.down(5)", "down", "down() cannot take (a namespace, an integer)"),
    ("n.links(5)", "links", "links() cannot take (a namespace, an integer)"),
    ("n.link(\"nodev\")", "link", "no device \"nodev\""),
    ("n.link_names(5)", "link_names", "link_names() cannot take (a namespace, an integer)"),
    ("n.has_link(5)", "has_link", "has_link() cannot take (a namespace, an integer)"),
    ("n.is_host(5)", "is_host", "is_host() cannot take (a namespace, an integer)"),
    ("n.route(\"default\", \"bad\")", "route", "\"bad\" is not an IP address"),
    ("n.route(\"10.0.0.0/33\", \"10.0.0.1\")", "route", "invalid prefix length \"33\""),
    ("n.route(\"default\", \"10.0.0.1\")", "route", "the gateway is not on a directly connected network"),
    ("n.route(#{to: 5})", "route", "route option \"to\" must be a string, got an integer"),
    ("n.route(#{bogus: 1})", "route", "unknown route option \"bogus\""),
    ("n.route(#{to: \"10.0.0.0/8\"})", "route", "a route needs a gateway (via) or an interface (dev)"),
    ("n.del_route(\"10.0.0.0/8\")", "del_route", "netns \"n1\" has no route to 10.0.0.0/8"),
    ("n.del_route(\"bad\")", "del_route", "\"bad\" is not an IP address"),
    ("n.bridge(\"\")", "bridge", "an interface name cannot be empty"),
    ("n.bridge(\"lo\")", "bridge", "device \"lo\" already exists in netns \"n1\""),
    ("n.bridge(\"br:0\")", "bridge", "an interface name cannot contain ':'"),
    ("n.master(\"lo\", \"nodev\")", "master", "no device \"nodev\""),
    ("n.master(\"lo\", \"lo\")", "master", "\"lo\" in netns \"n1\" is not a bridge (it is a plain device)"),
    ("n.nomaster(\"nodev\")", "nomaster", "no device \"nodev\""),
    ("n.del_link(\"nodev\")", "del_link", "no device \"nodev\""),
    ("host().del_link(\"docker0\")", "del_link", "cannot delete \"docker0\": it is the bridge of Docker network \"bridge\" (remove it with network_rm)"),
    ("host().nomaster(host().link_names()[3])", "nomaster", "cannot re-attach"),
    ("move_link(\"docker0\", n)", "move_link", "cannot move \"docker0\""),
    ("n.sysctl(\"a b\")", "sysctl", "\"a b\" is not a sysctl name"),
    ("n.sysctl(\"net.nope.x\", \"1\")", "sysctl", "no sysctl named \"net.nope.x\" in netns \"n1\""),
    ("n.sysctl(\"net.ipv4.ip_forward\", \"abc\")", "sysctl", "the kernel refused \"abc\" for sysctl net.ipv4.ip_forward"),
    ("n.veth(\"a\", \"ghost\", \"b\")", "veth", "network namespace \"ghost\" does not exist, nor a container"),
    ("n.veth(\"a\", 5, \"b\")", "veth", "got an integer"),
    ("n.move_link(\"lo\", host())", "move_link", "device \"lo\" already exists in the host"),
    ("n.move_link(\"nodev\", host())", "move_link", "no device \"nodev\""),
    ("c.ip_of(\"ghost\")", "ip_of", "network ghost not found"),
    ("c.ip_of(\"n2\")", "ip_of", "container c1 is not connected to network n2"),
];

/// What no message may show: Rust's names for types, raw errno text, panics.
const NEVER: &[&str] = &[
    "i64",
    "ImmutableString",
    "Dynamic",
    "os error",
    "EEXIST",
    "EINVAL",
    "ENOENT",
    "panicked",
    "Function not found",
];

/// Whether `text` holds a Rust path such as `netsh::lab::LabError` (IPv6 addresses such
/// as `fd00::1` are fine).
fn shows_rust_path(text: &str) -> bool {
    text.match_indices("::").any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + 2..].chars().next();
        before.is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && after.is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    })
}

#[test]
fn every_case_fails_at_its_call_with_exit_1_and_a_clear_message() {
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = CASES
            .chunks(CASES.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || {
                    let mut failures = Vec::new();
                    for &(code, at, message) in chunk {
                        let run = netsh().eval(&format!("{SETUP}\n{code}")).run();
                        let col = code.find(at).expect("the caret's text is in the case") + 1;
                        let place = format!("<expr>:2:{col}");
                        let mut wrong = Vec::new();
                        if run.code != 1 {
                            wrong.push(format!("exit code {}", run.code));
                        }
                        if !run.stderr.contains(&place) {
                            wrong.push(format!("no {place}"));
                        }
                        if !run.stderr.contains(message) {
                            wrong.push(format!("no {message:?}"));
                        }
                        for never in NEVER {
                            if run.stderr.contains(never) {
                                wrong.push(format!("shows {never:?}"));
                            }
                        }
                        if shows_rust_path(&run.stderr) {
                            wrong.push("shows a Rust path".into());
                        }
                        if !wrong.is_empty() {
                            failures.push(format!("{code}: {}\n{}", wrong.join(", "), run.stderr));
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn no_case_changes_the_lab() {
    let calls: String = CASES
        .iter()
        .map(|(code, ..)| format!("    || {code},\n"))
        .collect();
    let script = format!(
        "{SETUP}\n\
         fn link_view(l) {{\n\
           let addrs = [];\n\
           for a in l.addrs {{ if !a.starts_with(\"fe80\") {{ addrs.push(a); }} }}\n\
           [l.name, l.kind, l.master, l.up, l.mac, addrs]\n\
         }}\n\
         fn views(n, c) {{\n\
           let v = [network_ls(), containers(), networks(), namespaces(), brctl_show(), nft_rules()];\n\
           for x in [host(), n, c] {{ v.push(links(x).map(Fn(\"link_view\"))); v.push(ip_route(x)); }}\n\
           for x in networks() {{ v.push(network_inspect(x)); }}\n\
           v.push(docker_inspect(c));\n\
           v\n\
         }}\n\
         let before = views(n, c);\n\
         let cases = [\n{calls}];\n\
         let accepted = [];\n\
         let i = 0;\n\
         for f in cases {{\n\
           let ok = true;\n\
           try {{ f.call(); }} catch {{ ok = false; }}\n\
           if ok {{ accepted.push(i); }}\n\
           i += 1;\n\
         }}\n\
         assert_eq(accepted, [], \"cases that did not fail\");\n\
         assert_eq(views(n, c), before, \"the lab changed\");\n\
         print(`${{i}} cases refused`);"
    );
    netsh()
        .eval(&script)
        .run()
        .success()
        .stdout_has(&format!("{} cases refused", CASES.len()));
}

/// The table calls every binding listed for `:help` in src/script/help.rs (a binding added
/// without a bad-input case fails here).
#[test]
fn the_table_covers_every_binding() {
    let help = include_str!("../src/script/help.rs");
    let names: Vec<&str> = help
        .split("b(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(
        names.len() > 40,
        "read {} bindings from help.rs",
        names.len()
    );
    let missing: Vec<&str> = names
        .into_iter()
        .filter(|name| {
            !CASES
                .iter()
                .any(|(code, ..)| code.contains(&format!("{name}(")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "bindings without a bad-input case: {missing:?}"
    );
}
