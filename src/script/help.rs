//! What netsh's bindings are, for `:help`, `:help NAME`, tab completion after a dot, the
//! "did you mean" hint and `netsh --help`'s epilogue: each entry has its signature, a
//! one-line description, an example and a topic; options of the bindings that take a map
//! are in [`OPTIONS`].
//!
//! Entries made with `b(…)` are functions a script calls (tests/bad_input.rs reads this file
//! and wants a bad-input case for each); `p(…)` are properties and methods of a value's
//! type, `m(…)` functions of a stdlib module.

/// What an entry is about; `:help` lists entries by topic, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Namespaces,
    NamespaceMethods,
    Links,
    Probes,
    Assertions,
    Tests,
    Docker,
    Containers,
    Networks,
    Programs,
    Modules,
}

impl Topic {
    /// Every topic, in `:help`'s order.
    pub const ALL: [Topic; 11] = [
        Topic::Namespaces,
        Topic::NamespaceMethods,
        Topic::Links,
        Topic::Probes,
        Topic::Assertions,
        Topic::Tests,
        Topic::Docker,
        Topic::Containers,
        Topic::Networks,
        Topic::Programs,
        Topic::Modules,
    ];

    /// The heading `:help` shows.
    pub fn title(self) -> &'static str {
        match self {
            Topic::Namespaces => {
                "Namespaces and links (a namespace argument may be a netns object or its name)"
            }
            Topic::NamespaceMethods => {
                "Methods of a namespace (ns = netns(\"a\"), host(), outside())"
            }
            Topic::Links => "Interfaces (a Link from ns.link(dev) or ns.links())",
            Topic::Probes => "Probes (real packets from inside a namespace or container)",
            Topic::Assertions => "Assertions and script helpers",
            Topic::Tests => "Tests (netsh test)",
            Topic::Docker => "Docker 20.10",
            Topic::Containers => "Containers (c = run(\"c1\"))",
            Topic::Networks => "Networks (n = network(\"n1\"))",
            Topic::Programs => "Programs, names and services",
            Topic::Modules => "Modules",
        }
    }
}

/// One binding, method, property or module function.
pub struct Binding {
    /// What it is called (a method's name without the value before the dot).
    pub name: &'static str,
    /// How it is called.
    pub usage: &'static str,
    /// One line on what it does.
    pub about: &'static str,
    /// A line of script that uses it.
    pub example: &'static str,
    pub topic: Topic,
    /// The type whose value comes before the dot (`Netns`, `Container`, …); `None` for a
    /// function, `Some("topo")` for a module's function.
    pub on: Option<&'static str>,
}

const fn b(
    name: &'static str,
    usage: &'static str,
    about: &'static str,
    example: &'static str,
    topic: Topic,
) -> Binding {
    let on = match topic {
        Topic::NamespaceMethods => Some("Netns"),
        _ => None,
    };
    Binding {
        name,
        usage,
        about,
        example,
        topic,
        on,
    }
}

/// A property or method of values of type `on`.
const fn p(
    on: &'static str,
    name: &'static str,
    usage: &'static str,
    about: &'static str,
    example: &'static str,
    topic: Topic,
) -> Binding {
    Binding {
        name,
        usage,
        about,
        example,
        topic,
        on: Some(on),
    }
}

/// A function of a stdlib module.
const fn m(
    module: &'static str,
    name: &'static str,
    usage: &'static str,
    about: &'static str,
    example: &'static str,
) -> Binding {
    Binding {
        name,
        usage,
        about,
        example,
        topic: Topic::Modules,
        on: Some(module),
    }
}

use Topic::*;

#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b("netns", "netns(name)", "create a network namespace (ip netns add)", "let a = netns(\"a\");", Namespaces),
    b("host", "host()", "the lab's host namespace", "host().link_names()", Namespaces),
    b("namespaces", "namespaces()", "names of the lab's namespaces (ip netns list)", "namespaces()", Namespaces),
    b("del_netns", "del_netns(ns)", "delete a namespace and everything in it", "del_netns(\"a\")", Namespaces),
    b("veth", "veth(a, b)", "create a veth pair a <-> b on the host", "veth(\"veth0\", \"veth1\")", Namespaces),
    b("move_link", "move_link(dev, ns)", "move a host interface into ns (ip link set dev netns ns)", "move_link(\"veth1\", \"a\")", Namespaces),
    b("ip_a", "ip_a(ns)", "ns's interfaces and addresses, like `ip a`", "ip_a(\"a\")", Namespaces),
    b("ip_addr", "ip_addr(ns)", "the same as ip_a(ns), like `ip addr`", "ip_addr(\"a\")", Namespaces),
    b("ip_link", "ip_link(ns)", "ns's interfaces, like `ip link`", "ip_link(\"a\")", Namespaces),
    b("ip_route", "ip_route(ns)", "ns's main routing table, like `ip route` then `ip -6 route`", "ip_route(\"a\")", Namespaces),
    b("links", "links(ns)", "snapshots of a namespace's or container's interfaces", "links(\"a\").len()", Namespaces),
    b("link", "link(ns, dev)", "a snapshot of one interface of a namespace or container", "link(\"a\", \"lo\").up", Namespaces),
    b("outside", "outside()", "the namespace beyond the host's uplink eth0 (192.0.2.254; made anew in the next free RFC 5737 range if deleted)", "ping(\"c1\", outside())", Namespaces),
    // Methods of a namespace object.
    b("veth", "ns.veth(dev, peer_ns, peer_dev) / ns.veth(dev, peer_dev)", "create a veth pair from ns to peer_ns (or both ends in ns)", "a.veth(\"veth-a\", b, \"veth-b\")", NamespaceMethods),
    b("addr", "ns.addr(dev, cidr)", "add an address (ip addr add cidr dev dev)", "a.addr(\"veth-a\", \"10.0.0.1/24\")", NamespaceMethods),
    b("del_addr", "ns.del_addr(dev, cidr)", "remove an address", "a.del_addr(\"veth-a\", \"10.0.0.1/24\")", NamespaceMethods),
    b("addrs", "ns.addrs(dev)", "the addresses on dev, as cidr strings", "a.addrs(\"veth-a\")", NamespaceMethods),
    b("up", "ns.up(dev)", "bring an interface up", "a.up(\"veth-a\")", NamespaceMethods),
    b("down", "ns.down(dev)", "bring an interface down", "a.down(\"veth-a\")", NamespaceMethods),
    b("links", "ns.links()", "snapshots of every interface (Link: name, ifindex, peer_ifindex, mac, state, up, master, addrs, flags)", "a.links()", NamespaceMethods),
    b("link", "ns.link(dev)", "a snapshot of one interface", "a.link(\"veth-a\").mac", NamespaceMethods),
    b("link_names", "ns.link_names()", "the names of ns's interfaces", "a.link_names()", NamespaceMethods),
    b("has_link", "ns.has_link(dev)", "whether ns has an interface named dev", "a.has_link(\"veth-a\")", NamespaceMethods),
    b("route", "ns.route(dst, via) / ns.route(#{to, via, dev})", "add a route (\"default\" for the default route)", "a.route(\"default\", \"10.0.0.254\")", NamespaceMethods),
    b("del_route", "ns.del_route(dst)", "remove a route", "a.del_route(\"default\")", NamespaceMethods),
    b("bridge", "ns.bridge(name)", "create a Linux bridge in ns", "host().bridge(\"br0\")", NamespaceMethods),
    b("master", "ns.master(dev, bridge)", "enslave dev to a bridge", "host().master(\"veth0\", \"br0\")", NamespaceMethods),
    b("nomaster", "ns.nomaster(dev)", "release dev from its bridge", "host().nomaster(\"veth0\")", NamespaceMethods),
    b("del_link", "ns.del_link(dev)", "delete an interface (a veth takes its peer along)", "a.del_link(\"veth-a\")", NamespaceMethods),
    b("sysctl", "ns.sysctl(key [, value])", "read or write a sysctl inside ns", "a.sysctl(\"net.ipv4.ip_forward\", \"1\")", NamespaceMethods),
    b("is_host", "ns.is_host()", "whether ns is the lab's host namespace", "host().is_host()", NamespaceMethods),
    b("ip_a", "ns.ip_a()", "ns's interfaces and addresses, like `ip a` (also ns.ip_addr())", "a.ip_a()", NamespaceMethods),
    b("ip_link", "ns.ip_link()", "ns's interfaces, like `ip link`", "a.ip_link()", NamespaceMethods),
    b("ip_route", "ns.ip_route()", "ns's routing table, like `ip route`", "a.ip_route()", NamespaceMethods),
    p("Netns", "name", "ns.name", "the namespace's name", "a.name", NamespaceMethods),
    // A Link snapshot.
    p("Link", "name", "link.name", "the interface's name", "a.link(\"veth-a\").name", Links),
    p("Link", "ifindex", "link.ifindex", "its index in its namespace", "a.link(\"lo\").ifindex", Links),
    p("Link", "peer_ifindex", "link.peer_ifindex", "a veth's peer's index, or ()", "a.link(\"veth-a\").peer_ifindex", Links),
    p("Link", "mac", "link.mac", "its MAC address", "a.link(\"veth-a\").mac", Links),
    p("Link", "state", "link.state", "its operational state (UP, DOWN, LOWERLAYERDOWN, UNKNOWN)", "a.link(\"veth-a\").state", Links),
    p("Link", "up", "link.up", "whether it is administratively up", "a.link(\"veth-a\").up", Links),
    p("Link", "carrier", "link.carrier", "whether it has a carrier", "a.link(\"veth-a\").carrier", Links),
    p("Link", "mtu", "link.mtu", "its MTU", "a.link(\"veth-a\").mtu", Links),
    p("Link", "kind", "link.kind", "veth, bridge, … or ()", "a.link(\"veth-a\").kind", Links),
    p("Link", "qdisc", "link.qdisc", "its queueing discipline", "a.link(\"veth-a\").qdisc", Links),
    p("Link", "master", "link.master", "the bridge it is a port of, or ()", "host().link(\"veth0\").master", Links),
    p("Link", "flags", "link.flags", "its flags as `ip link` shows them", "a.link(\"veth-a\").flags", Links),
    p("Link", "addrs", "link.addrs", "its addresses, as cidr strings", "a.link(\"veth-a\").addrs", Links),
    p("Link", "has_addr", "link.has_addr(cidr)", "whether it holds that address", "a.link(\"veth-a\").has_addr(\"10.0.0.1/24\")", Links),
    // Probes.
    b("ping", "ping(from, to [, #{count, timeout, interval}]) / ping(\"-c N [-W S] [-i S] TARGET\")", "real ICMP echo from a namespace; returns a PingResult (.ok, .sent, .received, .loss, .rtts); with one string, iputils' ping from the lab host: its output, an error when no reply", "ping(\"a\", \"10.0.0.2\", #{count: 3})", Probes),
    b("docker", "docker(\"ARGS…\")", "a docker command line (network ls|create|inspect|connect|disconnect|rm|prune, run, create, start, stop, restart, kill, logs, rm, rename, exec, inspect, ps, port, pull): Docker's stdout, or an error with Docker's stderr", "docker(\"network create -d bridge bridge2\")", Programs),
    b("docker_status", "docker_status()", "the exit status of the last docker(…) call: 0, 125 (run/create and flag errors), 1 (daemon and argument errors), an exec'd program's code", "try { docker(\"network rm nosuch\"); } catch { assert_eq(docker_status(), 1); }", Programs),
    b("ip", "ip(\"ARGS…\")", "an ip command line (netns add|del|list|exec, link add|set|del|show, addr add|del|show, route add|del|show, neigh show; -n NS) run on the lab: iproute2's output, or its stderr as the error", "ip(\"netns add ns1\")", Programs),
    b("brctl", "brctl(\"ARGS…\")", "a brctl command line (show, addbr, delbr, addif, delif) on the lab host: bridge-utils' output or its error", "brctl(\"show\")", Programs),
    b("last_status", "last_status()", "the exit status of the last ip(), brctl() or ping(\"…\") line: 0, or the real program's (1, 2, 255)", "try { ip(\"link del nosuch\"); } catch { assert_eq(last_status(), 1); }", Programs),
    p("PingResult", "ok", "result.ok", "whether a reply came back", "ping(\"a\", \"10.0.0.2\").ok", Probes),
    p("PingResult", "sent", "result.sent", "echo requests sent", "ping(\"a\", \"10.0.0.2\").sent", Probes),
    p("PingResult", "received", "result.received", "replies received", "ping(\"a\", \"10.0.0.2\").received", Probes),
    p("PingResult", "loss", "result.loss", "packet loss in percent", "ping(\"a\", \"10.0.0.2\").loss", Probes),
    p("PingResult", "rtts", "result.rtts", "round-trip times in ms", "ping(\"a\", \"10.0.0.2\").rtts", Probes),
    p("PingResult", "min", "result.min / .avg / .max", "round-trip statistics in ms, or ()", "ping(\"a\", \"10.0.0.2\").avg", Probes),
    p("PingResult", "avg", "result.avg", "the average round-trip time in ms, or ()", "ping(\"a\", \"10.0.0.2\").avg", Probes),
    p("PingResult", "max", "result.max", "the longest round-trip time in ms, or ()", "ping(\"a\", \"10.0.0.2\").max", Probes),
    p("PingResult", "from", "result.from", "who pinged", "ping(\"a\", \"10.0.0.2\").from", Probes),
    p("PingResult", "to", "result.to", "the address pinged", "ping(\"a\", \"10.0.0.2\").to", Probes),
    b("tcp", "tcp(from, \"host:port\")", "connect from inside `from` and read the reply (at most 64 KiB): #{ok, reply, truncated, error}; IPv6 as \"[fd00::2]:80\"", "tcp(\"c1\", \"c2:8080\")", Probes),
    b("udp", "udp(from, \"host:port\" [, payload])", "send a datagram from inside `from`, wait for one back: #{ok, reply, truncated, error}", "udp(\"c1\", \"c2:53\", \"hi\")", Probes),
    b("http_get", "http_get(from, url)", "HTTP GET from inside `from` (reply read up to 64 KiB): #{ok, status, body, truncated, error}; IPv6 as http://[fd00::2]:8080/", "http_get(\"c1\", \"http://c2:8080/\")", Probes),
    // Assertions.
    b("assert_reach", "assert_reach(from, to [, opts])", "fail unless from gets an echo reply from to (opts as ping's)", "assert_reach(\"a\", \"10.0.0.2\")", Assertions),
    b("assert_no_reach", "assert_no_reach(from, to [, opts])", "fail if from gets an echo reply from to (opts as ping's)", "assert_no_reach(\"c1\", \"c3\")", Assertions),
    b("assert", "assert(cond [, message])", "fail unless cond (a bool or a PingResult) holds", "assert(ping(\"a\", \"10.0.0.2\"), \"a reaches b\")", Assertions),
    b("assert_eq", "assert_eq(left, right [, message])", "fail unless left == right", "assert_eq(namespaces(), [\"a\", \"b\"])", Assertions),
    b("assert_ne", "assert_ne(left, right)", "fail if left == right", "assert_ne(c1.ip, c2.ip)", Assertions),
    b("fail", "fail(message)", "fail the script with a message", "fail(\"unreachable\")", Assertions),
    b("sleep", "sleep(ms)", "pause for ms milliseconds (no later than the --timeout deadline; Ctrl-C ends it in the REPL)", "sleep(200)", Assertions),
    b("print", "print(value)", "print a value on stdout", "print(ip_a(\"a\"))", Assertions),
    // Tests (`netsh test` runs each in a lab of its own).
    b("test", "test(name, || { … })", "a named test: netsh test runs each in a fresh lab; a plain run runs them in order", "test(\"a reaches b\", || { assert_reach(\"a\", \"10.0.0.2\") });", Tests),
    b("skip", "skip(reason)", "end the test here and report it skipped", "skip(\"needs busybox\")", Tests),
    b("assert_snapshot", "assert_snapshot(name, text [, #{ids, macs, timestamps}])", "compare text with snapshots/<script>/<name>.txt (written when missing; netsh test --update rewrites)", "assert_snapshot(\"routes\", ip_route(\"a\"))", Tests),
    // Docker.
    b("network", "network(name [, #{driver, subnet, gateway, internal}])", "docker network create: a bridge network (br-<id>)", "let n = network(\"n1\", #{subnet: \"10.1.0.0/24\"});", Docker),
    b("run", "run(name [, network | #{network, ip, aliases, link, publish}])", "docker run: a container on a network (default: bridge; also host, none, container:NAME)", "let c1 = run(\"c1\", #{network: \"n1\", publish: [\"8081:8080\"]});", Docker),
    b("connect", "connect(container, network [, #{ip, aliases, link}])", "docker network connect: one more interface (the next ethN, never reused); the default route may move to it", "connect(\"c1\", \"n2\", #{aliases: [\"db\"]})", Docker),
    b("disconnect", "disconnect(container, network)", "docker network disconnect: the default route moves to the next gateway in Docker's order", "disconnect(\"c1\", \"n2\")", Docker),
    b("rename", "rename(container, new_name)", "docker rename: the new name resolves at once, the old one is free", "rename(\"c1\", \"web\")", Docker),
    b("rm", "rm(container)", "docker rm -f", "rm(\"c1\")", Docker),
    b("network_rm", "network_rm(network)", "docker network rm (refused while containers are attached)", "network_rm(\"n1\")", Docker),
    b("network_ls", "network_ls()", "docker network ls, as Docker prints it", "network_ls()", Docker),
    b("network_inspect", "network_inspect(network)", "docker network inspect, Docker's JSON", "network_inspect(\"n1\")", Docker),
    b("docker_inspect", "docker_inspect(container)", "docker inspect, Docker's JSON", "docker_inspect(\"c1\")", Docker),
    b("inspect", "inspect(name)", "the inspect document of a container (or network) as a map", "inspect(\"c1\").NetworkSettings.Networks", Docker),
    b("brctl_show", "brctl_show()", "the host's bridges and their ports, like brctl show", "brctl_show()", Docker),
    b("nft_rules", "nft_rules()", "Docker's firewall as the kernel holds it: one line per rule (chain: expressions  # comment)", "nft_rules()", Docker),
    b("containers", "containers()", "names of the containers", "containers()", Docker),
    b("networks", "networks()", "names of the Docker networks", "networks()", Docker),
    b("port", "port(container)", "docker port: the container's published ports", "port(\"c1\")", Docker),
    b("hosts_file", "hosts_file(container)", "the container's /etc/hosts", "hosts_file(\"c1\")", Docker),
    p("Container", "name", "c.name", "the container's name", "c1.name", Containers),
    p("Container", "id", "c.id", "its 64-digit ID", "c1.id", Containers),
    p("Container", "short_id", "c.short_id", "its ID's first 12 digits", "c1.short_id", Containers),
    p("Container", "hostname", "c.hostname", "its hostname", "c1.hostname", Containers),
    p("Container", "ip", "c.ip", "its first network's address", "c1.ip", Containers),
    p("Container", "mac", "c.mac", "its first network's MAC address", "c1.mac", Containers),
    p("Container", "networks", "c.networks", "the networks it is on, in Docker's order", "c1.networks", Containers),
    p("Container", "ip_of", "c.ip_of(network)", "its address on a network", "c1.ip_of(\"n1\")", Containers),
    p("Network", "name", "n.name", "the network's name", "n.name", Networks),
    p("Network", "id", "n.id", "its 64-digit ID", "n.id", Networks),
    p("Network", "short_id", "n.short_id", "its ID's first 12 digits", "n.short_id", Networks),
    p("Network", "driver", "n.driver", "bridge, host or null", "n.driver", Networks),
    p("Network", "bridge", "n.bridge", "its bridge device on the host (br-<id>, docker0)", "n.bridge", Networks),
    p("Network", "subnet", "n.subnet", "its subnet", "n.subnet", Networks),
    p("Network", "gateway", "n.gateway", "its gateway address", "n.gateway", Networks),
    p("Network", "internal", "n.internal", "whether it is internal (no way out)", "n.internal", Networks),
    // Names, programs, services.
    b("exec", "exec(container, cmd [, #{timeout, detach}])", "run a real program inside, as the container's root, on its own filesystem and namespaces: #{stdout, stderr, code, ok, timed_out, truncated} (each stream kept up to 16 MiB); detached: #{pid}", "exec(\"c1\", \"cat /etc/resolv.conf\")", Programs),
    b("resolve", "resolve(from, name)", "the address `from` resolves name to (hosts file, then its DNS server), or ()", "resolve(\"c1\", \"c2\")", Programs),
    b("resolve_ptr", "resolve_ptr(from, address)", "the name a PTR query for address answers in from's embedded DNS (\"rv1.rvn\"), or ()", "resolve_ptr(\"c1\", c2.ip)", Programs),
    b("serve", "serve(container, port [, \"tcp\"|\"http\"|\"udp\" | #{proto, reply}])", "answer on a port of every IPv4 and IPv6 address inside (a greeting, or `reply`; over HTTP as a 200 OK body)", "serve(\"c2\", 8080, \"http\")", Programs),
    // Modules.
    m("topo", "wire", "topo::wire(a, a_dev, a_cidr, b, b_dev, b_cidr)", "import \"topo\" as topo; — join two namespaces with a veth pair, address both ends, bring them up", "import \"topo\" as topo; topo::wire(a, \"veth-a\", \"10.0.0.1/24\", b, \"veth-b\", \"10.0.0.2/24\");"),
    m("topo", "namespaces", "topo::namespaces(prefix, n)", "build n namespaces named prefix0 … and return them", "let ns = topo::namespaces(\"n\", 3);"),
    m("topo", "assert_mesh", "topo::assert_mesh(from, to)", "assert that every namespace in from reaches every address in to", "topo::assert_mesh(ns, [\"10.0.0.1\"]);"),
];

/// The REPL's own commands: (usage, what it does).
pub const COMMANDS: &[(&str, &str)] = &[
    (
        ":help [NAME]",
        "this list, or one binding's signature, example and options",
    ),
    (
        ":ls",
        "what the lab holds: namespaces, networks, containers with their addresses",
    ),
    (
        ":reset",
        "a fresh lab (new Docker IDs, pools at their start) and a fresh scope",
    ),
    (
        ":save FILE",
        "write the entries that succeeded as a script netsh FILE runs",
    ),
    (
        ":trace on|off",
        "print every kernel operation as the equivalent ip/nft command",
    ),
    (":quit", "leave (Ctrl-D works too)"),
];

/// The keys of the maps bindings take: (binding, key, what it means).
#[rustfmt::skip]
pub const OPTIONS: &[(&str, &str, &str)] = &[
    ("ping", "count", "echo requests to send (default 1, at most 1000)"),
    ("ping", "timeout", "ms to wait for the last reply (default 1000)"),
    ("ping", "interval", "ms between requests (default 1000)"),
    ("assert_reach", "count, timeout, interval", "as ping's"),
    ("assert_no_reach", "count, timeout, interval", "as ping's"),
    ("network", "driver", "\"bridge\" (default)"),
    ("network", "subnet", "the subnet, e.g. \"10.1.0.0/24\" (default: Docker's next pool)"),
    ("network", "gateway", "the gateway address (default: the subnet's first)"),
    ("network", "internal", "true: no route out, no masquerading (docker network create --internal)"),
    ("run", "network", "the network to join (also \"host\", \"none\", \"container:NAME\")"),
    ("run", "ip", "a fixed address on that network (needs a configured subnet)"),
    ("run", "aliases", "more names on that network, e.g. [\"db\"] (--network-alias)"),
    ("run", "link", "legacy links, e.g. [\"bb1\", \"bb1:alias\"] (--link)"),
    ("run", "publish", "published ports, e.g. [\"8081:8080\", \"127.0.0.1:53:53/udp\"] (-p)"),
    ("connect", "ip", "a fixed address on the network"),
    ("connect", "aliases", "more names on the network"),
    ("connect", "link", "legacy links, e.g. [\"db\", \"db:alias\"]"),
    ("exec", "timeout", "ms before the program is killed (default 10000)"),
    ("exec", "detach", "true: leave it running and return #{pid} (docker exec -d)"),
    ("serve", "proto", "\"tcp\" (default), \"http\" or \"udp\""),
    ("serve", "reply", "what to answer instead of the greeting"),
    ("assert_snapshot", "ids, macs, timestamps", "true: replace such values with placeholders before comparing"),
];

/// The entries called `name` (a bare name, `ns.name`, `topo::name` or a signature's first
/// word), bindings first.
pub fn lookup(name: &str) -> Vec<&'static Binding> {
    let name = name.trim().trim_end_matches("()");
    let name = name.rsplit(['.', ':']).next().unwrap_or(name);
    BINDINGS.iter().filter(|b| b.name == name).collect()
}

/// The `:help NAME` text: each entry's signature, description and example, then its options;
/// `None` when nothing is called `name`.
pub fn about(name: &str) -> Option<String> {
    let found = lookup(name);
    if found.is_empty() {
        return None;
    }
    let mut out = String::new();
    for b in &found {
        out.push_str(&format!(
            "{}\n  {}\n  example: {}\n",
            b.usage, b.about, b.example
        ));
        let opts: Vec<_> = OPTIONS
            .iter()
            .filter(|(f, ..)| b.on.is_none() && *f == b.name)
            .collect();
        if !opts.is_empty() {
            out.push_str("  options:\n");
            for (_, key, what) in opts {
                out.push_str(&format!("    {key:10} {what}\n"));
            }
        }
    }
    Some(out)
}

/// The names an entry could have meant when `name` is not one: the closest by edit distance
/// (one edit or swap of neighbours for names of up to 4 characters, two for longer ones),
/// all those equally close.
pub fn similar(name: &str, candidates: impl IntoIterator<Item = String>) -> Vec<String> {
    let most = if name.chars().count() <= 4 { 1 } else { 2 };
    let mut scored: Vec<(usize, String)> = candidates
        .into_iter()
        .filter(|c| c != name)
        .map(|c| (distance(name, &c), c))
        .filter(|(d, _)| *d <= most)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    let best = scored.first().map(|(d, _)| *d);
    scored
        .into_iter()
        .filter(|(d, _)| Some(*d) == best)
        .map(|(_, c)| c)
        .collect()
}

/// `did you mean ping?` for the names nearest `name` (see [`similar`]), if any is near.
pub fn did_you_mean(name: &str, candidates: impl IntoIterator<Item = String>) -> Option<String> {
    let near = similar(name, candidates);
    (!near.is_empty()).then(|| format!("did you mean {}?", near.join(" or ")))
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours each count one.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The `:help` text: every entry by topic, then the REPL's commands.
pub fn text() -> String {
    let width = BINDINGS
        .iter()
        .map(|b| b.usage.len())
        .max()
        .unwrap_or(0)
        .min(44);
    let mut out = String::new();
    for topic in Topic::ALL {
        out.push_str(&format!("{}:\n", topic.title()));
        for b in BINDINGS.iter().filter(|b| b.topic == topic) {
            out.push_str(&format!("  {:width$}  {}\n", b.usage, b.about));
        }
        out.push('\n');
    }
    out.push_str("REPL commands:\n");
    for (usage, what) in COMMANDS {
        out.push_str(&format!("  {usage:14}  {what}\n"));
    }
    out.push_str(&format!(
        "\n`:help NAME` shows a binding's signature, an example and its options. By default an \
         entry that runs longer than {} s stops with an error (start netsh with --timeout \
         SECONDS to change that, 0 for no limit); Ctrl-C stops it sooner. `netsh --help` lists \
         every limit.\n",
        super::limits::REPL_TIMEOUT.as_secs()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_an_example_and_every_option_a_binding() {
        for b in BINDINGS {
            assert!(!b.example.is_empty() && !b.about.is_empty(), "{}", b.usage);
        }
        for (f, key, _) in OPTIONS {
            assert!(
                BINDINGS.iter().any(|b| b.name == *f && b.on.is_none()),
                "option {key} of unknown {f}"
            );
        }
    }

    #[test]
    fn help_for_a_name_has_signature_example_and_options() {
        let run = about("run").unwrap();
        assert!(run.contains("run(name [, network"), "{run}");
        assert!(run.contains("example: let c1 = run("), "{run}");
        assert!(run.contains("publish") && run.contains("link"), "{run}");
        let veth = about("ns.veth").unwrap();
        assert!(veth.contains("ns.veth(dev, peer_ns, peer_dev)"), "{veth}");
        assert!(about("topo::wire").unwrap().contains("import \"topo\""));
        assert!(about("nope").is_none());
    }

    #[test]
    fn near_names_are_suggested() {
        let names = || BINDINGS.iter().map(|b| b.name.to_string());
        assert_eq!(similar("pnig", names()), ["ping"]);
        assert_eq!(similar("netsn", names()), ["netns"]);
        assert!(similar("zzzzzzzz", names()).is_empty());
    }
}
