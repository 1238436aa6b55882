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
use crate::script::bindings::Who;

/// The outside network: the host's `eth0` and a namespace beyond it standing for "the
/// internet" (addresses from TEST-NET-1, RFC 5737, which nothing real uses).
pub const OUTSIDE: &str = "outside";
pub const HOST_EXTERNAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const OUTSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);

/// How long probes wait for an answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl Lab {
    /// Starts a responder on `port` inside namespace `ns`, greeting with `greeting`.
    pub fn serve(&self, ns: &str, port: u16, kind: Kind, greeting: String) -> Result<()> {
        self.check_ns(ns)?;
        let r = self
            .kernel
            .with_fd(ns, |fd| {
                responder::start(self.services.handle(), fd, port, kind, greeting)
            })?
            .map_err(|e| {
                LabError::Invalid(format!(
                    "cannot serve {} port {port} in {}: {e}",
                    match kind {
                        Kind::Tcp => "TCP",
                        Kind::Udp => "UDP",
                    },
                    super::describe_ns(ns)
                ))
            })?;
        self.responders.borrow_mut().push((ns.to_string(), r));
        Ok(())
    }

    /// The init of the PID namespace programs started in `ns` live in, made on first use.
    fn ensure_init(&self, ns: &str) -> Result<()> {
        if self.inits.borrow().contains_key(ns) {
            return Ok(());
        }
        let init = process::Init::start().map_err(|e| {
            LabError::Invalid(format!(
                "cannot start the init of {}: {e}",
                super::describe_ns(ns)
            ))
        })?;
        self.inits.borrow_mut().insert(ns.to_string(), init);
        Ok(())
    }

    /// Stops whatever netsh serves or runs inside `ns` (its namespace is going away).
    pub(super) fn stop_services(&self, ns: &str) {
        self.inits.borrow_mut().remove(ns);
        self.responders.borrow_mut().retain(|(n, _)| n != ns);
        self.dns_servers.borrow_mut().remove(ns);
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
        self.settle_removals()?;
        Ok(self
            .kernel
            .with_fd(ns, |fd| tcp::tcp(fd, addr, b"", PROBE_TIMEOUT))?)
    }

    pub fn udp_probe(&self, ns: &str, addr: SocketAddr, payload: &[u8]) -> Result<tcp::Reply> {
        self.settle_removals()?;
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
        self.settle_removals()?;
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
        let server = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 11), 53));
        let answer = self
            .kernel
            .with_fd(&ns, |fd| dns::query_a(fd, server, name, PROBE_TIMEOUT))?;
        Ok(match answer {
            dns::Answer::Found(addrs) => addrs.first().map(|a| IpAddr::V4(*a)),
            dns::Answer::NotFound | dns::Answer::Failed(_) => None,
        })
    }

    /// What a program started in `who` sees: hostname, /etc/hosts, /etc/resolv.conf — for a
    /// container its own, as `docker exec` shows them; otherwise the machine's, as
    /// `ip netns exec` leaves them.
    fn exec_context(&self, who: &Who) -> Result<(String, String, String)> {
        let machine = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let host_resolv = machine("/etc/resolv.conf");
        if let Resolver::Container(key) = &who.resolver {
            let d = self.docker();
            let c = d.container(key)?;
            let owner = d.namespace_owner(c);
            if owner.mode != crate::model::docker::NetMode::Host {
                return Ok((
                    owner.hostname().to_string(),
                    d.hosts_file(c),
                    d.resolv_conf(c, &host_resolv),
                ));
            }
        }
        Ok((machine_hostname(), machine("/etc/hosts"), host_resolv))
    }

    /// Runs `start` with the spec of a program in the namespace of `who`: its namespace,
    /// files and hostname, and the PID namespace of its init (made on first use).
    fn with_exec_spec<T>(
        &self,
        who: &Who,
        argv: &[String],
        timeout: Duration,
        start: impl FnOnce(&process::ExecSpec<'_>) -> std::io::Result<T>,
    ) -> Result<T> {
        self.settle_removals()?;
        let (hostname, hosts, resolv) = self.exec_context(who)?;
        self.ensure_init(&who.ns)?;
        let inits = self.inits.borrow();
        let started = self.kernel.with_fd(&who.ns, |fd| {
            start(&process::ExecSpec {
                netns: fd,
                hostname: &hostname,
                hosts: &hosts,
                resolv_conf: &resolv,
                argv,
                timeout,
                stdin: None,
                pidns: inits.get(&who.ns).map(process::Init::pidns),
            })
        })?;
        started.map_err(|e| LabError::Invalid(format!("exec in {}: {e}", who.label)))
    }

    /// Runs a real program in the namespace of `who` and waits for it (at most `timeout`).
    pub fn exec(&self, who: &Who, argv: &[String], timeout: Duration) -> Result<ExecOutput> {
        self.with_exec_spec(who, argv, timeout, process::exec)
    }

    /// Starts a real program in the namespace of `who` and leaves it running (`docker exec
    /// -d`); it dies with its container or the lab. Returns its process ID.
    pub fn exec_detached(&self, who: &Who, argv: &[String]) -> Result<u32> {
        let child = self.with_exec_spec(who, argv, Duration::ZERO, process::spawn_background)?;
        let pid = child.id();
        self.background.borrow_mut().push(child);
        Ok(pid)
    }

    /// The namespace beyond the host's external interface `eth0`, made on first use: the
    /// host reaches it directly and routes everything else there (its default route), as a
    /// real Docker host routes to its LAN and the internet.
    pub fn outside(&self) -> Result<String> {
        if self.outside_made.get() {
            return Ok(OUTSIDE.to_string());
        }
        self.add_netns(OUTSIDE)?;
        self.set_up(OUTSIDE, "lo", true)?;
        self.add_veth(HOST, "eth0", OUTSIDE, "eth0")?;
        self.add_addr(HOST, "eth0", &format!("{HOST_EXTERNAL}/24"))?;
        self.add_addr(OUTSIDE, "eth0", &format!("{OUTSIDE_ADDR}/24"))?;
        self.set_up(HOST, "eth0", true)?;
        self.set_up(OUTSIDE, "eth0", true)?;
        self.apply(Op::AddRoute {
            ns: HOST.into(),
            route: Route {
                dst: None,
                via: Some(IpAddr::V4(OUTSIDE_ADDR)),
                dev: None,
                ipv6: false,
            },
        })?;
        self.outside_made.set(true);
        Ok(OUTSIDE.to_string())
    }
}

fn machine_hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into())
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
