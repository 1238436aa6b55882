//! One line per binding, for `:help`, tab completion and `netsh --help`'s epilogue.

pub struct Binding {
    pub name: &'static str,
    pub usage: &'static str,
    pub about: &'static str,
}

const fn b(name: &'static str, usage: &'static str, about: &'static str) -> Binding {
    Binding { name, usage, about }
}

pub const BINDINGS: &[Binding] = &[
    b("netns", "netns(name)", "create a network namespace (ip netns add)"),
    b("host", "host()", "the lab's host namespace"),
    b("namespaces", "namespaces()", "names of the lab's namespaces (ip netns list)"),
    b("del_netns", "del_netns(ns)", "delete a namespace and everything in it"),
    b("veth", "veth(a, b)", "create a veth pair a <-> b on the host"),
    b("move_link", "move_link(dev, ns)", "move a host interface into ns (ip link set dev netns ns)"),
    b("ip_a", "ip_a(ns)", "ns's interfaces and addresses, like `ip a`"),
    b("ip_link", "ip_link(ns)", "ns's interfaces, like `ip link`"),
    b("ip_route", "ip_route(ns)", "ns's main routing table, like `ip route` then `ip -6 route`"),
    b("ping", "ping(from, to [, #{count, timeout, interval}])", "real ICMP echo from a namespace; returns a PingResult (.ok, .sent, .received, .loss, .rtts)"),
    b("assert_reach", "assert_reach(from, to [, opts])", "fail unless from gets an echo reply from to"),
    b("assert_no_reach", "assert_no_reach(from, to [, opts])", "fail if from gets an echo reply from to"),
    b("assert", "assert(cond [, message])", "fail unless cond (a bool or a PingResult) holds"),
    b("assert_eq", "assert_eq(left, right [, message])", "fail unless left == right"),
    b("assert_ne", "assert_ne(left, right)", "fail if left == right"),
    b("fail", "fail(message)", "fail the script with a message"),
    // Tests (`netsh test` runs each in a lab of its own).
    b("test", "test(name, || { … })", "a named test: netsh test runs each in a fresh lab; a plain run runs them in order"),
    b("skip", "skip(reason)", "end the test here and report it skipped"),
    b("assert_snapshot", "assert_snapshot(name, text [, #{ids, macs, timestamps}])", "compare text with snapshots/<script>/<name>.txt (written when missing; netsh test --update rewrites)"),
    b("sleep", "sleep(ms)", "pause for ms milliseconds (no later than the --timeout deadline)"),
    b("print", "print(value)", "print a value on stdout"),
    b("links", "links(ns)", "snapshots of a namespace's or container's interfaces"),
    b("link", "link(ns, dev)", "a snapshot of one interface of a namespace or container"),
    // Docker.
    b("network", "network(name [, #{driver, subnet, gateway, internal}])", "docker network create: a bridge network (br-<id>)"),
    b("run", "run(name [, network | #{network, ip, aliases, link, publish}])", "docker run: a container on a network (default: bridge; also host, none, container:NAME)"),
    b("connect", "connect(container, network [, #{ip, aliases, link}])", "docker network connect: one more interface (the next ethN, never reused); the default route may move to it"),
    b("disconnect", "disconnect(container, network)", "docker network disconnect: the default route moves to the next gateway in Docker's order"),
    b("rename", "rename(container, new_name)", "docker rename: the new name resolves at once, the old one is free"),
    b("rm", "rm(container)", "docker rm -f"),
    b("network_rm", "network_rm(network)", "docker network rm (refused while containers are attached)"),
    b("network_ls", "network_ls()", "docker network ls, as Docker prints it"),
    b("network_inspect", "network_inspect(network)", "docker network inspect, Docker's JSON"),
    b("docker_inspect", "docker_inspect(container)", "docker inspect, Docker's JSON"),
    b("inspect", "inspect(name)", "the inspect document of a container (or network) as a map"),
    b("brctl_show", "brctl_show()", "the host's bridges and their ports, like brctl show"),
    b("nft_rules", "nft_rules()", "Docker's firewall as the kernel holds it: one line per rule (chain: expressions  # comment)"),
    b("containers", "containers()", "names of the containers"),
    b("networks", "networks()", "names of the Docker networks"),
    b("docker", "docker(\"network create -d bridge bridge2\")", "a docker command line (network ls|create|inspect|connect|disconnect|rm|prune, run, create, start, rm, rename, exec, inspect, ps, port, pull): Docker's stdout, or an error with Docker's stderr"),
    b("docker_status", "docker_status()", "the exit status of the last docker(…) call: 0, 125 (run/create and flag errors), 1 (daemon and argument errors), an exec'd program's code"),
    b("port", "port(container)", "docker port: the container's published ports"),
    b("hosts_file", "hosts_file(container)", "the container's /etc/hosts"),
    // Names, programs, services.
    b("exec", "exec(container, cmd [, #{timeout, detach}])", "run a real program inside, as the container's root, on its own filesystem and namespaces: #{stdout, stderr, code, ok, timed_out, truncated} (each stream kept up to 16 MiB); detached: #{pid}"),
    b("resolve", "resolve(from, name)", "the address `from` resolves name to (hosts file, then its DNS server), or ()"),
    b("resolve_ptr", "resolve_ptr(from, address)", "the name a PTR query for address answers in from's embedded DNS (\"rv1.rvn\"), or ()"),
    b("serve", "serve(container, port [, \"tcp\"|\"http\"|\"udp\" | #{proto, reply}])", "answer on a port of every IPv4 and IPv6 address inside (a greeting, or `reply`; over HTTP as a 200 OK body)"),
    b("tcp", "tcp(from, \"host:port\")", "connect from inside `from` and read the reply (at most 64 KiB): #{ok, reply, truncated, error}; IPv6 as \"[fd00::2]:80\""),
    b("udp", "udp(from, \"host:port\" [, payload])", "send a datagram from inside `from`, wait for one back: #{ok, reply, truncated, error}"),
    b("http_get", "http_get(from, url)", "HTTP GET from inside `from` (reply read up to 64 KiB): #{ok, status, body, truncated, error}; IPv6 as http://[fd00::2]:8080/"),
    b("outside", "outside()", "the namespace beyond the host's uplink eth0 (192.0.2.254; made anew in the next free RFC 5737 range if deleted)"),
    // Methods of a namespace object.
    b("addr", "ns.addr(dev, cidr)", "add an address (ip addr add cidr dev dev)"),
    b("del_addr", "ns.del_addr(dev, cidr)", "remove an address"),
    b("addrs", "ns.addrs(dev)", "the addresses on dev, as cidr strings"),
    b("up", "ns.up(dev)", "bring an interface up"),
    b("down", "ns.down(dev)", "bring an interface down"),
    b("links", "ns.links()", "snapshots of every interface (Link: name, ifindex, peer_ifindex, mac, state, up, master, addrs, flags)"),
    b("link", "ns.link(dev)", "a snapshot of one interface"),
    b("link_names", "ns.link_names()", "the names of ns's interfaces"),
    b("has_link", "ns.has_link(dev)", "whether ns has an interface named dev"),
    b("route", "ns.route(dst, via) / ns.route(#{to, via, dev})", "add a route (\"default\" for the default route)"),
    b("del_route", "ns.del_route(dst)", "remove a route"),
    b("bridge", "ns.bridge(name)", "create a Linux bridge in ns"),
    b("master", "ns.master(dev, bridge)", "enslave dev to a bridge"),
    b("nomaster", "ns.nomaster(dev)", "release dev from its bridge"),
    b("del_link", "ns.del_link(dev)", "delete an interface (a veth takes its peer along)"),
    b("sysctl", "ns.sysctl(key [, value])", "read or write a sysctl inside ns"),
];

/// The `:help` text.
pub fn text() -> String {
    let width = BINDINGS
        .iter()
        .map(|b| b.usage.len())
        .max()
        .unwrap_or(0)
        .min(44);
    let mut out =
        String::from("Bindings (a namespace argument may be a netns object or its name):\n");
    for b in BINDINGS {
        out.push_str(&format!("  {:width$}  {}\n", b.usage, b.about));
    }
    out.push_str(
        "\nREPL commands:\n  :help        this list\n  :quit        leave (Ctrl-D works too)\n",
    );
    out.push_str(&format!(
        "\nBy default an entry that runs longer than {} s stops with an error (start netsh with \
         --timeout SECONDS to change that, 0 for no limit); `netsh --help` lists every limit.\n",
        super::limits::REPL_TIMEOUT.as_secs()
    ));
    out
}
