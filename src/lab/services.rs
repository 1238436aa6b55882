//! What runs and probes inside the lab besides the kernel objects: responders started by
//! `serve`, TCP/UDP/HTTP probes, name resolution as a container does it, and the "outside"
//! network beyond the host's external interface.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::{LabError, Result};
use crate::kernel::process::{self, ExecOutput};
use crate::kernel::{Op, Route, HOST};
use crate::probe::{dns, tcp};
use crate::services::responder::{self, Kind};

use super::Lab;

/// The outside network: the host's `eth0` and a namespace beyond it standing for "the
/// internet", addressed from the documentation ranges of RFC 5737, which nothing real uses:
/// TEST-NET-1 (the host 192.0.2.1, outside 192.0.2.254) unless the lab already uses it,
/// then TEST-NET-2, then TEST-NET-3. The lab host has it from the start, like a Docker
/// host its uplink; `outside()` hands out the namespace beyond.
pub const OUTSIDE: &str = "outside";
/// The host's uplink, as on a Docker host.
pub const UPLINK: &str = "eth0";
pub const TEST_NETS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(192, 0, 2, 0),
    Ipv4Addr::new(198, 51, 100, 0),
    Ipv4Addr::new(203, 0, 113, 0),
];

/// How long probes wait for an answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl Lab {
    /// Starts a responder on `port` inside namespace `ns`, greeting with `greeting`.
    pub fn serve(&self, ns: &str, port: u16, kind: Kind, greeting: String) -> Result<()> {
        self.check_ns(ns)?;
        // Port 53 is shared with the embedded DNS server, which must hold 127.0.0.11 first.
        self.ensure_dns(ns);
        let r = self
            .kernel
            .with_fd(ns, |fd| {
                responder::start(self.services.handle(), fd, port, kind, greeting)
            })?
            .map_err(|e| {
                LabError::Invalid(format!(
                    "cannot serve {} port {port} in {}: {}",
                    match kind {
                        Kind::Tcp => "TCP",
                        Kind::Udp => "UDP",
                    },
                    self.describe_ns(ns),
                    super::io_words(&e)
                ))
            })?;
        self.running
            .responders
            .borrow_mut()
            .push((ns.to_string(), r));
        Ok(())
    }

    /// The init of the container (or namespace) `who`, made on first use: it holds the
    /// namespaces and the filesystem its programs share (see `kernel::process::Init`).
    fn ensure_init(
        &self,
        who: &Who,
        hostname: &str,
        files: &process::ContainerFiles,
    ) -> Result<()> {
        if self.running.inits.borrow().contains_key(&who.ns) {
            return Ok(());
        }
        let init = self
            .kernel
            .with_fd(&who.ns, |netns| {
                process::Init::start(&process::InitSpec {
                    netns,
                    hostname,
                    files: files.clone(),
                })
            })?
            .map_err(|e| {
                LabError::Invalid(format!("exec in {}: {}", who.label, super::io_words(&e)))
            })?;
        self.running.inits.borrow_mut().insert(who.ns.clone(), init);
        Ok(())
    }

    /// Stops whatever netsh serves or runs inside `ns` (its namespace is going away): each
    /// holds a socket or a process in the namespace, which would keep it alive.
    pub(super) fn stop_services(&self, ns: &str) {
        self.running.inits.borrow_mut().remove(ns);
        self.running
            .responders
            .borrow_mut()
            .retain(|(n, _)| n != ns);
        self.running.dns_servers.borrow_mut().remove(ns);
    }

    /// A probe's target `host:port` (`[v6addr]:port` for IPv6, see `tcp::parse_target`), the
    /// host resolved the way `resolver` would.
    pub fn socket_addr(
        &self,
        resolver: &Resolver,
        target: &str,
    ) -> Result<std::result::Result<SocketAddr, String>> {
        let (host, port) = tcp::parse_target(target).map_err(LabError::Invalid)?;
        Ok(self
            .resolve(resolver, &host)?
            .map(|ip| SocketAddr::new(ip, port))
            .ok_or_else(|| format!("bad address '{host}'")))
    }

    pub fn tcp_probe(&self, ns: &str, addr: SocketAddr) -> Result<tcp::Reply> {
        self.settle_for_probe(ns, addr.ip())?;
        Ok(self
            .kernel
            .with_fd(ns, |fd| tcp::tcp(fd, addr, b"", PROBE_TIMEOUT))?)
    }

    pub fn udp_probe(&self, ns: &str, addr: SocketAddr, payload: &[u8]) -> Result<tcp::Reply> {
        self.settle_for_probe(ns, addr.ip())?;
        Ok(self
            .kernel
            .with_fd(ns, |fd| tcp::udp(fd, addr, payload, PROBE_TIMEOUT))?)
    }

    pub fn http_probe(
        &self,
        ns: &str,
        addr: SocketAddr,
        host: &str,
        path: &str,
    ) -> Result<tcp::HttpReply> {
        self.settle_for_probe(ns, addr.ip())?;
        Ok(self
            .kernel
            .with_fd(ns, |fd| tcp::http_get(fd, addr, host, path, PROBE_TIMEOUT))?)
    }

    /// Resolves `name` as a process in `resolver` would: an address is itself; a container
    /// reads its /etc/hosts, then asks its embedded DNS server (user-defined networks only),
    /// over real sockets; a plain namespace knows only localhost.
    pub fn resolve(&self, resolver: &Resolver, name: &str) -> Result<Option<IpAddr>> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(Some(ip));
        }
        if name.eq_ignore_ascii_case("localhost") {
            return Ok(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        let Resolver::Container(key) = resolver else {
            return Ok(None);
        };
        let (hosts, dns_ns) = {
            let d = self.docker();
            let c = d.container(key)?;
            let dns_ns = d
                .has_embedded_dns(c)
                .then(|| self.container_ns(key))
                .transpose()?;
            (d.hosts_file(c), dns_ns)
        };
        if let Some(ip) = lookup_hosts(&hosts, name) {
            return Ok(Some(ip));
        }
        let Some(ns) = dns_ns else {
            return Ok(None);
        };
        self.settle_removals()?;
        self.ensure_dns(&ns);
        let server = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 11), 53));
        let answer = self
            .kernel
            .with_fd(&ns, |fd| dns::query_a(fd, server, name, PROBE_TIMEOUT))?;
        Ok(match answer {
            dns::Answer::Found(addrs) => addrs.first().map(|a| IpAddr::V4(*a)),
            dns::Answer::NotFound | dns::Answer::Failed(_) => None,
        })
    }

    /// The name a PTR query for `addr` answers, asked as `nslookup ADDRESS` does inside
    /// `resolver`: of its embedded DNS server (a container on a user-defined network), over
    /// a real socket; /etc/hosts is not read. None when nothing answers with a name: no
    /// embedded DNS server (the default bridge, a plain namespace), or an address no
    /// container on the asker's networks has (Docker would forward that question to the
    /// host's resolvers; the lab has none).
    pub fn resolve_ptr(&self, resolver: &Resolver, addr: Ipv4Addr) -> Result<Option<String>> {
        let Resolver::Container(key) = resolver else {
            return Ok(None);
        };
        let ns = {
            let d = self.docker();
            let c = d.container(key)?;
            if !d.has_embedded_dns(c) {
                return Ok(None);
            }
            self.container_ns(key)?
        };
        self.settle_removals()?;
        self.ensure_dns(&ns);
        let server = SocketAddr::from((crate::services::dns::DNS_ADDR, 53));
        let answer = self
            .kernel
            .with_fd(&ns, |fd| dns::query_ptr(fd, server, addr, PROBE_TIMEOUT))?;
        Ok(match answer {
            dns::PtrAnswer::Found(name) => Some(name),
            dns::PtrAnswer::NotFound | dns::PtrAnswer::Failed(_) => None,
        })
    }

    /// What a program started in `who` sees: hostname, /etc/hosts, /etc/resolv.conf — for a
    /// container its own, as `docker exec` shows them; otherwise the machine's, as
    /// `ip netns exec` leaves them — and its environment: a container's as Docker builds it
    /// (`Docker::process_env`, with `who.env` from `exec -e`), `None` elsewhere (netsh's
    /// own is inherited).
    fn exec_context(&self, who: &Who) -> Result<(String, String, String, Option<Vec<String>>)> {
        let machine = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let host_resolv = machine("/etc/resolv.conf");
        if let Resolver::Container(key) = &who.resolver {
            let d = self.docker();
            let c = d.container(key)?;
            let owner = d.namespace_owner(c);
            if owner.mode != crate::model::docker::NetMode::Host {
                let hostname = owner.hostname().to_string();
                let env = d.process_env(c, &hostname, &who.env);
                return Ok((
                    hostname,
                    d.hosts_file(c),
                    d.resolv_conf(c, &host_resolv),
                    Some(env),
                ));
            }
            // The host's namespace: the machine's files, unless `--add-host` or `--dns*`
            // made the container its own (libnetwork builds them then, as elsewhere).
            let hostname = machine_hostname();
            let env = d.process_env(c, &hostname, &who.env);
            let hosts = if owner.extra_hosts.is_empty() {
                machine("/etc/hosts")
            } else {
                d.hosts_file(c)
            };
            let resolv = d.resolv_conf(c, &host_resolv);
            return Ok((hostname, hosts, resolv, Some(env)));
        }
        Ok((machine_hostname(), machine("/etc/hosts"), host_resolv, None))
    }

    /// Runs `start` with the spec of a program in the namespace of `who`: its init (made on
    /// first use) and the current contents of its files.
    pub(super) fn with_exec_spec<T>(
        &self,
        who: &Who,
        argv: &[String],
        timeout: Duration,
        start: impl FnOnce(&process::ExecSpec<'_>) -> std::io::Result<T>,
    ) -> Result<T> {
        self.settle_removals()?;
        // The program may look names up: the container's DNS server answers from the start.
        self.ensure_dns(&who.ns);
        let (hostname, hosts, resolv, env) = self.exec_context(who)?;
        let files: process::ContainerFiles = [
            hosts.into_bytes(),
            resolv.into_bytes(),
            format!("{hostname}\n").into_bytes(),
        ];
        self.ensure_init(who, &hostname, &files)?;
        let inits = self.running.inits.borrow();
        let init = inits
            .get(&who.ns)
            .ok_or_else(|| LabError::Invalid(format!("exec in {}: no init", who.label)))?;
        start(&process::ExecSpec {
            init,
            files: &files,
            argv,
            timeout,
            stdin: None,
            env: env.as_deref(),
        })
        .map_err(|e| LabError::Invalid(format!("exec in {}: {}", who.label, super::io_words(&e))))
    }

    /// Runs a real program in the namespace of `who` and waits for it (at most `timeout`).
    pub fn exec(&self, who: &Who, argv: &[String], timeout: Duration) -> Result<ExecOutput> {
        self.with_exec_spec(who, argv, timeout, process::exec)
    }

    /// Starts a real program in the namespace of `who` and leaves it running (`docker exec
    /// -d`); it dies with its container or the lab. Returns its process ID.
    pub fn exec_detached(&self, who: &Who, argv: &[String]) -> Result<u32> {
        let (relay, pid) =
            self.with_exec_spec(who, argv, Duration::ZERO, process::spawn_background)?;
        self.running.background.borrow_mut().push(relay);
        Ok(pid)
    }

    /// Reaps the relays of background programs that have ended, so no zombie piles up
    /// (called on every settling of the lab, which every `exec` and every read does).
    pub(super) fn reap_background(&self) {
        self.running
            .background
            .borrow_mut()
            .retain_mut(|relay| matches!(relay.try_wait(), Ok(None)));
    }

    /// The lab host's uplink, built as the lab starts (before `docker0`, so it is
    /// interface 2 as on a Docker host): `eth0`, 192.0.2.1/24, a veth whose other end is
    /// `eth0` (192.0.2.254/24) of the namespace beyond, and the host's default route
    /// through it. The namespace stays hidden until `outside()` names it. Built with plain
    /// ops (no lookups: nothing else exists yet) and without waiting for the carrier: the
    /// first look at the lab does that (`settle_uplink`), by when the kernel has usually
    /// shown it. Waiting here made the lab's start 4–9 ms slower in `netsh test`, where the
    /// kernel's linkwatch work queue waits for the rtnl lock that the teardown of the
    /// previous labs holds.
    pub(super) fn start_uplink(&self) -> Result<()> {
        let ns = OUTSIDE.to_string();
        let [subnet, ..] = TEST_NETS;
        let base = u32::from(subnet);
        let (host_ip, outside_ip) = (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 254));
        let up = |ns: &str, dev: &str| Op::SetUp {
            ns: ns.into(),
            dev: dev.into(),
            up: true,
        };
        self.apply(Op::AddNetns {
            ns: ns.clone(),
            sysctls: Vec::new(),
            lo_up: true,
        })?;
        *self.topo.beyond.borrow_mut() = Some(ns.clone());
        for op in [
            Op::AddVeth {
                ns: HOST.into(),
                name: UPLINK.into(),
                peer: UPLINK.into(),
                peer_ns: Some(ns.clone()),
                txqlen: None,
                with: Default::default(),
            },
            uplink_addr(HOST, UPLINK, host_ip)?,
            uplink_addr(&ns, UPLINK, outside_ip)?,
            up(HOST, UPLINK),
            up(&ns, UPLINK),
            default_route_via(outside_ip),
        ] {
            self.apply(op)?;
        }
        let mut pairs = self.topo.veth_peers.borrow_mut();
        pairs.insert((HOST.into(), UPLINK.into()), (ns.clone(), UPLINK.into()));
        pairs.insert((ns, UPLINK.into()), (HOST.into(), UPLINK.into()));
        self.topo.uplink_unsettled.set(true);
        Ok(())
    }

    /// Waits until both ends of the uplink the lab started with show their carrier (see
    /// `Lab::settle`), unless a script has already changed them.
    pub(super) fn settle_uplink(&self) -> Result<()> {
        let Some(ns) = self.topo.beyond.borrow().clone() else {
            return Ok(());
        };
        for (ns, dev) in [(HOST, UPLINK), (ns.as_str(), UPLINK)] {
            if self.kernel.link_brief(ns, dev)?.is_some() {
                self.settle(ns, dev)?;
            }
        }
        Ok(())
    }

    /// Before the user's namespace `name` is made: if the hidden namespace beyond the
    /// host's `eth0` holds that name, it moves to a key nobody asks for (12 hex digits,
    /// like a container's sandbox key), so the name is the user's.
    pub(super) fn make_way_for(&self, name: &str) -> Result<()> {
        if self.topo.beyond.borrow().as_deref() != Some(name) {
            return Ok(());
        }
        let key = std::iter::repeat_with(|| format!("{:012x}", fastrand::u64(..1 << 48)))
            .find(|k| !self.kernel.has_ns(k))
            .unwrap_or_default();
        self.rename_ns(name, &key)?;
        *self.topo.beyond.borrow_mut() = Some(key);
        Ok(())
    }

    /// Whether the hidden namespace `key` is still joined to the host by the uplink the lab
    /// started with (a script may have deleted or moved the host's `eth0`), and if so the
    /// uplink's subnet.
    fn intact_uplink(&self, key: &str) -> Result<Option<ipnet::Ipv4Net>> {
        let (Some(host), Some(beyond)) = (
            self.kernel.link(HOST, UPLINK)?,
            self.kernel.link_brief(key, UPLINK)?,
        ) else {
            return Ok(None);
        };
        // Kernels before 5.8 leave IFLA_LINK out when the peer's index (in another
        // namespace) equals the link's own, as both ends' 2 do here.
        let paired = host.peer_ifindex.unwrap_or(host.ifindex) == beyond.ifindex
            && beyond.peer_ifindex.unwrap_or(beyond.ifindex) == host.ifindex
            && self
                .topo
                .veth_peers
                .borrow()
                .get(&(HOST.into(), UPLINK.into()))
                == Some(&(key.to_string(), UPLINK.to_string()));
        Ok(paired
            .then(|| {
                host.addrs.iter().find_map(|a| match a.addr {
                    IpAddr::V4(ip) => ipnet::Ipv4Net::new(ip, a.prefix).ok(),
                    IpAddr::V6(_) => None,
                })
            })
            .flatten()
            .map(|n| n.trunc()))
    }

    /// The subnets the lab uses: the host's addresses (but those on `except`) and Docker's
    /// networks.
    fn used_subnets(&self, except: Option<&str>) -> Result<Vec<ipnet::IpNet>> {
        let host_links = self.links(HOST)?;
        Ok(host_links
            .iter()
            .filter(|l| Some(l.name.as_str()) != except)
            .flat_map(|l| l.addrs.iter())
            .filter_map(|a| ipnet::IpNet::new(a.addr, a.prefix).ok())
            .chain(
                self.docker
                    .borrow()
                    .networks()
                    .iter()
                    .filter_map(|n| n.subnet().map(ipnet::IpNet::V4)),
            )
            .collect())
    }

    /// The namespace beyond the host's uplink `eth0`, as `outside` (or `outside2` … if a
    /// namespace or container has that name): the host reaches it directly and routes
    /// everything else there (its default route), as a real Docker host routes to its LAN
    /// and the internet. The lab starts with it (see `start_uplink`); the first call names
    /// it and lists it among the namespaces.
    ///
    /// Made anew when the script deleted it (with `del_netns`, which takes the host's `eth0`
    /// along), broke the uplink, or gave a Docker network or a host address the uplink's
    /// range: then the host's end is the next free `ethN`, the subnet the first RFC 5737
    /// range that no Docker network and no host address overlaps. That is refused, with
    /// nothing built, when all three ranges are taken or the host has a default route of
    /// the script's own (outside() would have to replace it). Returns the namespace's name.
    pub fn outside(&self) -> Result<String> {
        if let Some(name) = self.topo.outside.borrow().clone() {
            if self.has_ns(&name) {
                return Ok(name);
            }
        }
        self.settle_removals()?;
        let taken_name = |n: &str| {
            self.has_ns(n)
                || self
                    .docker
                    .borrow()
                    .containers()
                    .iter()
                    .any(|c| c.name == n)
        };
        let name = std::iter::once(OUTSIDE.to_string())
            .chain((2..).map(|i| format!("{OUTSIDE}{i}")))
            .find(|n| !taken_name(n))
            .unwrap_or_else(|| OUTSIDE.to_string());
        // The hidden namespace beyond the uplink the lab started with: named and kept when
        // intact and its range still free, else let go (its `eth0` and the host's default
        // route through it with it) once what replaces it is sure to be built.
        let beyond = self.topo.beyond.borrow().clone();
        let mut let_go = None;
        if let Some(key) = beyond {
            let ours = self.intact_uplink(&key)?;
            if let Some(subnet) = ours {
                if !overlaps(&self.used_subnets(Some(UPLINK))?, subnet) {
                    if key != name {
                        self.rename_ns(&key, &name)?;
                    }
                    *self.topo.beyond.borrow_mut() = None;
                    self.topo.netns.borrow_mut().push(name.clone());
                    *self.topo.outside.borrow_mut() = Some(name.clone());
                    return Ok(name);
                }
            }
            let_go = Some((key, ours.is_some()));
        }
        // What goes with the hidden namespace is free for the new one.
        let going = matches!(let_go, Some((_, true))).then_some(UPLINK);
        let host_links = self.links(HOST)?;
        let host_if = (0..)
            .map(|i| format!("eth{i}"))
            .find(|n| Some(n.as_str()) == going || !host_links.iter().any(|l| &l.name == n))
            .unwrap_or_else(|| UPLINK.to_string());
        let used = self.used_subnets(going)?;
        let Some(subnet) = TEST_NETS
            .iter()
            .filter_map(|a| ipnet::Ipv4Net::new(*a, 24).ok())
            .find(|t| !overlaps(&used, *t))
        else {
            return Err(LabError::Invalid(
                "outside(): the lab already uses all three documentation ranges it could \
                 take (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, RFC 5737); free one"
                    .into(),
            ));
        };
        if let Some(r) = self
            .routes(HOST)?
            .iter()
            .find(|r| r.dst.is_none() && !r.ipv6 && (going.is_none() || r.dev.as_deref() != going))
        {
            return Err(LabError::Invalid(format!(
                "outside(): the host already has a default route ({}); outside() routes \
                 everything else to its namespace — delete that route first \
                 (host().del_route(\"default\"))",
                crate::render::ip::ip_route(std::slice::from_ref(r)).trim()
            )));
        }
        let base = u32::from(subnet.network());
        let host_ip = Ipv4Addr::from(base + 1);
        let outside_ip = Ipv4Addr::from(base + 254);
        if let Some((key, _)) = let_go {
            self.apply(Op::DelNetns { ns: key.clone() })?;
            *self.topo.beyond.borrow_mut() = None;
            self.release_ns(&key);
            self.settle_removals()?;
        }
        self.add_netns(&name)?;
        let built = (|| -> Result<()> {
            self.set_up(&name, "lo", true)?;
            self.add_veth(HOST, &host_if, &name, UPLINK)?;
            // With their broadcast addresses, as the uplink the lab starts with.
            self.apply(uplink_addr(HOST, &host_if, host_ip)?)?;
            self.apply(uplink_addr(&name, UPLINK, outside_ip)?)?;
            self.set_up(HOST, &host_if, true)?;
            self.set_up(&name, UPLINK, true)?;
            self.apply(default_route_via(outside_ip))
        })();
        if let Err(e) = built {
            // Letting the namespace go takes the veth pair, its addresses and the route
            // through it along; nothing else was changed.
            self.undo(Op::DelNetns { ns: name.clone() });
            self.topo.netns.borrow_mut().retain(|n| n != &name);
            self.forget_ns(&name);
            self.settle_removals()?;
            return Err(e);
        }
        *self.topo.outside.borrow_mut() = Some(name.clone());
        Ok(name)
    }
}

/// `ip addr add IP/24 brd + dev DEV` in `ns`: an address of the uplink.
fn uplink_addr(ns: &str, dev: &str, ip: Ipv4Addr) -> Result<Op> {
    let addr = ipnet::Ipv4Net::new(ip, 24).map_err(|e| LabError::Invalid(e.to_string()))?;
    Ok(Op::AddAddr {
        ns: ns.into(),
        dev: dev.into(),
        addr: addr.into(),
        brd: true,
    })
}

/// `ip route add default via GW` on the host.
fn default_route_via(gw: Ipv4Addr) -> Op {
    Op::AddRoute {
        ns: HOST.into(),
        route: Route {
            dst: None,
            via: Some(IpAddr::V4(gw)),
            dev: None,
            ipv6: false,
        },
    }
}

/// Whether IPv4 subnet `net` overlaps any of `used` (one contains the other's network).
fn overlaps(used: &[ipnet::IpNet], net: ipnet::Ipv4Net) -> bool {
    used.iter().any(|u| match u {
        ipnet::IpNet::V4(u) => u.contains(&net.network()) || net.contains(&u.network()),
        ipnet::IpNet::V6(_) => false,
    })
}

fn machine_hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Who sends a probe, runs a program or resolves a name: its namespace, how to name it in
/// messages, and how it resolves names (a container reads its /etc/hosts and asks its DNS
/// server). Made with [`Lab::container_who`] or [`Lab::netns_who`].
pub struct Who {
    pub ns: String,
    /// The container's or namespace's own name.
    pub name: String,
    /// How messages name it: `container "bb"`, `netns "ns1"`, `the host`.
    pub label: String,
    pub resolver: Resolver,
    /// `docker exec -e KEY=VALUE`: merged over a container's environment (ignored outside
    /// containers, whose programs keep netsh's environment, as `ip netns exec` does).
    pub env: Vec<String>,
}

impl Lab {
    /// The container `key` (name or ID) as a sender: the namespace its processes see.
    pub fn container_who(&self, key: &str) -> Result<Who> {
        let (id, name) = {
            let d = self.docker();
            let c = d.container(key)?;
            (c.id.clone(), c.name.clone())
        };
        Ok(Who {
            ns: self.container_ns(&id)?,
            label: format!("container \"{name}\""),
            name,
            resolver: Resolver::Container(id),
            env: Vec::new(),
        })
    }

    /// The namespace `ns` (a lab namespace or the host, already checked) as a sender.
    pub fn netns_who(&self, ns: &str) -> Who {
        Who {
            label: super::describe_ns(ns),
            name: ns.to_string(),
            ns: ns.to_string(),
            resolver: Resolver::Netns,
            env: Vec::new(),
        }
    }
}

/// Who resolves a name.
pub enum Resolver {
    /// A container, by name or ID.
    Container(String),
    /// A plain namespace.
    Netns,
}

/// The address of `name` in an /etc/hosts text (first match, case-insensitive).
pub fn lookup_hosts(hosts: &str, name: &str) -> Option<IpAddr> {
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let ip: IpAddr = fields.next()?.parse().ok()?;
        fields.any(|n| n.eq_ignore_ascii_case(name)).then_some(ip)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lookup() {
        let hosts =
            "127.0.0.1\tlocalhost\n# c\n172.17.0.3\tbb1 e40a58ad05ac\n172.17.0.4\tb5e50fb45293\n";
        assert_eq!(
            lookup_hosts(hosts, "bb1"),
            Some("172.17.0.3".parse().unwrap())
        );
        assert_eq!(
            lookup_hosts(hosts, "BB1"),
            Some("172.17.0.3".parse().unwrap())
        );
        assert_eq!(
            lookup_hosts(hosts, "e40a58ad05ac"),
            Some("172.17.0.3".parse().unwrap())
        );
        assert_eq!(lookup_hosts(hosts, "bb"), None);
    }
}
