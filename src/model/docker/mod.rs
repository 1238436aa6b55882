//! Docker's container network model (CNM), pure: networks, endpoints, containers
//! (sandboxes) and IPAM, with Docker's rules and Docker's error messages. The lab asks it
//! what to build and builds it; nothing here touches the kernel.

pub mod ids;
pub mod inspect;
pub mod ipam;
pub mod names;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use thiserror::Error;

use ids::{short, Ids};
use ipam::Pool;

/// Errors in Docker's own words (`Error response from daemon: …`).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DockerError {
    #[error("network with name {0} already exists")]
    NetworkExists(String),
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidContainerName(String),
    #[error("invalid network name \"{0}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidNetworkName(String),
    #[error("invalid pool request: Pool overlaps with other one on this address space")]
    PoolOverlap,
    #[error("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")]
    PoolsExhausted,
    /// A subnet that does not parse as a CIDR, in the daemon's words (Docker 20.10's
    /// `getIpamConfig`, after Go's `net.ParseCIDR`).
    #[error("Invalid subnet {0} : invalid CIDR address: {0}")]
    InvalidSubnet(String),
    /// A subnet Docker 20.10 takes but that can never hold a container (netsh's own
    /// refusal, not Docker's words: the lab says so plainly, without "Error response from
    /// daemon").
    #[error("cannot use subnet {subnet} for a bridge network: {why}")]
    UnusableSubnet { subnet: String, why: String },
    #[error("invalid gateway address {gateway}: it is not a host address of subnet {subnet}")]
    InvalidGateway { gateway: Ipv4Addr, subnet: Ipv4Net },
    #[error("cannot specify a gateway without a subnet")]
    GatewayWithoutSubnet,
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    NoAvailableAddress(Ipv4Net),
    #[error("no configured subnet or ip-range contain the IP address {0}")]
    IpOutsideSubnet(Ipv4Addr),
    #[error("Address already in use: {0}")]
    AddressInUse(Ipv4Addr),
    #[error("invalid IPv4 address: {0}")]
    InvalidIp(String),
    #[error("user specified IP address is supported on user defined networks only")]
    FixedIpOnDefaultNetwork,
    #[error("network-scoped alias is supported only for containers in user defined networks")]
    AliasOnDefaultNetwork,
    #[error("plugin \"{0}\" not found")]
    UnknownDriver(String),
    #[error("only one instance of \"{0}\" network is allowed")]
    SingleInstance(String),
    #[error("{0} is a pre-defined network and cannot be removed")]
    PredefinedNetwork(String),
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    ActiveEndpoints { name: String, id: String },
    #[error("endpoint with name {container} already exists in network {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
    #[error("container cannot be disconnected from host network or connected to host network")]
    HostNetwork,
    #[error("container cannot be connected to multiple networks with one of the networks in private (none) mode")]
    NoneNetwork,
    #[error("container sharing network namespace with another container or host cannot be connected to any other network")]
    SharedNamespace,
    #[error("cannot join the network namespace of container {0}: it shares another container's namespace")]
    NestedContainerMode(String),
    #[error("conflicting options: cannot remove container {name}: container {user} shares its network namespace (remove it first)")]
    NamespaceInUse { name: String, user: String },
    #[error("{0}")]
    InvalidPort(String),
    /// libnetwork's port allocator refuses a host port (and IP, and protocol) that another
    /// binding holds, in this `run` or another container (`portallocator.ErrPortAlreadyAllocated`,
    /// wrapped by the bridge driver's `ProgramExternalConnectivity` with the endpoint's name
    /// and ID).
    #[error("driver failed programming external connectivity on endpoint {container} ({endpoint}): Bind for {ip}:{port} failed: port is already allocated")]
    PortAllocated {
        container: String,
        endpoint: String,
        ip: String,
        port: u16,
    },
    /// No ephemeral port is left (`portallocator.ErrAllPortsAllocated`).
    #[error("driver failed programming external connectivity on endpoint {container} ({endpoint}): all ports are allocated")]
    PortsExhausted { container: String, endpoint: String },
    /// The userland proxy could not listen (the kernel refused the address, e.g. a
    /// specific address on a port another binding holds on 0.0.0.0): Go's `listen` error.
    #[error("driver failed programming external connectivity on endpoint {container} ({endpoint}): Error starting userland proxy: listen {network} {addr}: bind: {reason}")]
    ProxyFailed {
        container: String,
        endpoint: String,
        network: String,
        addr: String,
        reason: String,
    },
    #[error("could not get container for {0}")]
    NoLinkTarget(String),
    #[error("conflicting options: port publishing and the container type network mode")]
    PublishWithContainerMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Bridge,
    Host,
    Null,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Host => "host",
            Driver::Null => "null",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub driver: Driver,
    pub created: String,
    /// Bridge networks only.
    pub pool: Option<Pool>,
    /// The Linux bridge: `docker0` for the default network, `br-<short id>` otherwise.
    pub bridge: Option<String>,
    pub bridge_mac: Option<String>,
    pub internal: bool,
    /// The predefined `bridge` network (no name resolution, `--link` instead).
    pub default_bridge: bool,
}

impl Network {
    pub fn predefined(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }
    pub fn user_defined_bridge(&self) -> bool {
        self.driver == Driver::Bridge && !self.default_bridge
    }
    pub fn subnet(&self) -> Option<Ipv4Net> {
        self.pool.as_ref().map(|p| p.subnet)
    }
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.pool.as_ref().map(|p| p.gateway)
    }
}

/// A container's attachment to one network.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub network_id: String,
    /// IPv4 address and prefix; `None` on the host and none networks.
    pub ip: Option<(Ipv4Addr, u8)>,
    pub gateway: Option<Ipv4Addr>,
    pub mac: Option<String>,
    /// `eth0`, `eth1` … inside the container.
    pub ifname: Option<String>,
    /// `vethXXXXXXX` on the host, enslaved to the bridge.
    pub host_ifname: Option<String>,
    /// Network-scoped aliases (the short ID first on user-defined networks).
    pub aliases: Vec<String>,
    /// The address was asked for (`ip`), not allocated.
    pub fixed_ip: Option<Ipv4Addr>,
    /// Joined by `run` (Docker shows IPAMConfig/DriverOpts null) rather than `connect`.
    pub at_run: bool,
}

/// How a container gets its network namespace.
#[derive(Debug, Clone, PartialEq)]
pub enum NetMode {
    /// Its own namespace, attached to bridge networks (or to none).
    Own,
    /// The host's namespace.
    Host,
    /// Another container's namespace (`container:NAME`), by that container's ID.
    Container(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub id: String,
    pub name: String,
    /// The sandbox (network namespace) Docker made for it.
    pub sandbox_id: String,
    pub created: String,
    pub mode: NetMode,
    /// What `docker run --network` said (HostConfig.NetworkMode).
    pub network_mode: String,
    /// In join order: the first one's gateway is the default route.
    pub endpoints: Vec<Endpoint>,
    /// `--link NAME[:ALIAS]`: (target container ID, alias) — entries in its /etc/hosts.
    pub links: Vec<(String, String)>,
    /// `-p [IP:]HOST:CONTAINER[/PROTO]`.
    pub ports: Vec<PortBinding>,
}

/// One published port: what `-p` asked, and what Docker bound for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    /// The host address asked (`127.0.0.1:…`, `[::1]:…`); none for all.
    pub host_ip: Option<std::net::IpAddr>,
    /// The host port asked; 0 for "any" (`-p 80`, `-p 127.0.0.1::80`).
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
    /// The host addresses and ports allocated for it, IPv4 first (`0.0.0.0` and `::` when
    /// no address was given); empty until the container is attached.
    pub bound: Vec<(std::net::IpAddr, u16)>,
}

/// The host ports Docker hands out when none is asked: the kernel's ephemeral range
/// (`net.ipv4.ip_local_port_range`, 32768–60999 by default, which the lab host keeps), as
/// libnetwork's port allocator reads it.
pub const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl PortBinding {
    /// Parses `-p` syntax: `8081:8080`, `53:53/udp`, `127.0.0.1:8081:8080/tcp`,
    /// `[::1]:8081:8080`, and without a host port (one is allocated): `80`, `127.0.0.1::80`.
    /// Refusals in the docker CLI's words (`invalid IP address: 1:2`, `invalid containerPort:
    /// abc`).
    pub fn parse(text: &str) -> Result<PortBinding, DockerError> {
        let (spec, proto) = match text.rsplit_once('/') {
            Some((spec, "tcp")) => (spec, Proto::Tcp),
            Some((spec, "udp")) => (spec, Proto::Udp),
            Some((_, other)) => {
                return Err(DockerError::InvalidPort(format!("invalid proto: {other}")))
            }
            None => (text, Proto::Tcp),
        };
        // go-connections' `splitParts`: the last part is the container port, the one
        // before it the host port, everything before those the host IP (so `[::1]:80:80`
        // and `1:2:3:4` both have an IP part: `[::1]`, `1:2`).
        let parts: Vec<&str> = spec.split(':').collect();
        let n = parts.len();
        let (raw_ip, host, container) = match n {
            1 => (String::new(), "", parts[0]),
            2 => (String::new(), parts[0], parts[1]),
            _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
        };
        let host_ip =
            if raw_ip.is_empty() {
                None
            } else {
                let trimmed = raw_ip.trim_start_matches('[').trim_end_matches(']');
                Some(trimmed.parse::<std::net::IpAddr>().map_err(|_| {
                    DockerError::InvalidPort(format!("invalid IP address: {raw_ip}"))
                })?)
            };
        let port = |p: &str, what: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| DockerError::InvalidPort(format!("invalid {what}: {p}")))
        };
        Ok(PortBinding {
            host_ip,
            host_port: if host.is_empty() {
                0
            } else {
                port(host, "hostPort")?
            },
            container_port: port(container, "containerPort")?,
            proto,
            bound: Vec::new(),
        })
    }
}

/// `docker run` options beyond the network attachment.
#[derive(Debug, Clone, Default)]
pub struct RunExtras {
    /// `--link NAME[:ALIAS]`.
    pub links: Vec<String>,
    /// `-p` specifications.
    pub publish: Vec<String>,
}

impl Container {
    pub fn short_id(&self) -> &str {
        short(&self.id)
    }
    pub fn hostname(&self) -> &str {
        self.short_id()
    }
    pub fn endpoint(&self, network_id: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.network_id == network_id)
    }
}

/// `docker network create` options.
#[derive(Debug, Clone, Default)]
pub struct NetworkSpec {
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
}

/// `docker run` / `docker network connect` options that concern the network.
#[derive(Debug, Clone, Default)]
pub struct AttachSpec {
    pub ip: Option<String>,
    pub aliases: Vec<String>,
}

/// The whole engine state.
#[derive(Debug, Clone)]
pub struct Docker {
    networks: Vec<Network>,
    containers: Vec<Container>,
    ids: Ids,
    /// The port allocator's last ephemeral port per host address and protocol: the next
    /// search starts after it (libnetwork `portallocator`), removals notwithstanding.
    last_port: std::collections::HashMap<(std::net::IpAddr, Proto), u16>,
}

impl Docker {
    /// A fresh engine with the three predefined networks.
    pub fn new(seed: u64, created: &str) -> Docker {
        let mut d = Docker {
            networks: Vec::new(),
            containers: Vec::new(),
            ids: Ids::with_seed(seed),
            last_port: std::collections::HashMap::new(),
        };
        let subnet = ipam::default_pools().next();
        let pool = subnet.and_then(|s| Pool::new(s, None).ok());
        let bridge = Network {
            id: d.ids.id(),
            name: "bridge".into(),
            driver: Driver::Bridge,
            created: created.into(),
            pool,
            bridge: Some("docker0".into()),
            bridge_mac: Some(d.ids.bridge_mac()),
            internal: false,
            default_bridge: true,
        };
        d.networks.push(bridge);
        for (name, driver) in [("host", Driver::Host), ("none", Driver::Null)] {
            let id = d.ids.id();
            d.networks.push(Network {
                id,
                name: name.into(),
                driver,
                created: created.into(),
                pool: None,
                bridge: None,
                bridge_mac: None,
                internal: false,
                default_bridge: false,
            });
        }
        d
    }

    pub fn networks(&self) -> &[Network] {
        &self.networks
    }

    pub fn containers(&self) -> &[Container] {
        &self.containers
    }

    /// By name, full ID or unique ID prefix, as the docker CLI resolves it.
    pub fn network(&self, key: &str) -> Result<&Network, DockerError> {
        find(&self.networks, key, |n| (&n.name, &n.id))
            .ok_or_else(|| DockerError::NoSuchNetwork(key.to_string()))
    }

    pub fn network_by_id(&self, id: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.id == id)
    }

    pub fn container(&self, key: &str) -> Result<&Container, DockerError> {
        find(&self.containers, key, |c| (&c.name, &c.id))
            .ok_or_else(|| DockerError::NoSuchContainer(key.to_string()))
    }

    fn container_index(&self, key: &str) -> Result<usize, DockerError> {
        let id = self.container(key)?.id.clone();
        Ok(self
            .containers
            .iter()
            .position(|c| c.id == id)
            .unwrap_or_default())
    }

    fn network_index(&self, key: &str) -> Result<usize, DockerError> {
        let id = self.network(key)?.id.clone();
        Ok(self
            .networks
            .iter()
            .position(|n| n.id == id)
            .unwrap_or_default())
    }

    /// Containers attached to a network, in the order they joined it.
    pub fn members(&self, network_id: &str) -> Vec<(&Container, &Endpoint)> {
        self.containers
            .iter()
            .filter_map(|c| c.endpoint(network_id).map(|e| (c, e)))
            .collect()
    }

    /// `docker network create`.
    pub fn create_network(
        &mut self,
        name: &str,
        spec: &NetworkSpec,
        created: &str,
    ) -> Result<Network, DockerError> {
        if !names::valid(name) {
            return Err(DockerError::InvalidNetworkName(name.to_string()));
        }
        if self.networks.iter().any(|n| n.name == name) {
            return Err(DockerError::NetworkExists(name.to_string()));
        }
        match spec.driver.as_deref().unwrap_or("bridge") {
            "bridge" => {}
            d @ ("host" | "null") => return Err(DockerError::SingleInstance(d.to_string())),
            other => return Err(DockerError::UnknownDriver(other.to_string())),
        }
        let taken: Vec<Ipv4Net> = self.networks.iter().filter_map(Network::subnet).collect();
        let subnet = match &spec.subnet {
            Some(s) => {
                let s: Ipv4Net = s
                    .trim()
                    .parse()
                    .map_err(|_| DockerError::InvalidSubnet(s.clone()))?;
                ipam::check_usable(&s)?;
                if taken.iter().any(|t| ipam::overlaps(t, &s)) {
                    return Err(DockerError::PoolOverlap);
                }
                s
            }
            None => {
                if spec.gateway.is_some() {
                    return Err(DockerError::GatewayWithoutSubnet);
                }
                ipam::next_pool(&taken)?
            }
        };
        let gateway = spec.gateway.as_deref().map(parse_ip).transpose()?;
        let pool = Pool::new(subnet, gateway)?;
        let id = self.ids.id();
        let network = Network {
            bridge: Some(ids::bridge_name(&id)),
            bridge_mac: Some(self.ids.bridge_mac()),
            id,
            name: name.to_string(),
            driver: Driver::Bridge,
            created: created.to_string(),
            pool: Some(pool),
            internal: spec.internal,
            default_bridge: false,
        };
        self.networks.push(network.clone());
        Ok(network)
    }

    /// `docker network rm`.
    pub fn remove_network(&mut self, key: &str) -> Result<Network, DockerError> {
        self.check_remove_network(key)?;
        let i = self.network_index(key)?;
        Ok(self.networks.remove(i))
    }

    /// Whether `docker network rm` would succeed, changing nothing: the network it would
    /// remove, or Docker's refusal.
    pub fn check_remove_network(&self, key: &str) -> Result<&Network, DockerError> {
        let n = self.network(key)?;
        if n.predefined() {
            return Err(DockerError::PredefinedNetwork(n.name.clone()));
        }
        if !self.members(&n.id).is_empty() {
            return Err(DockerError::ActiveEndpoints {
                name: n.name.clone(),
                id: short(&n.id).to_string(),
            });
        }
        Ok(n)
    }

    /// `docker run --name NAME --network NETWORK`: the container and its first endpoint.
    /// `network` is a network name or ID, `host`, `none` or `container:NAME`.
    #[cfg(test)]
    pub fn run(
        &mut self,
        name: &str,
        network: &str,
        attach: &AttachSpec,
        created: &str,
    ) -> Result<Container, DockerError> {
        self.run_with(name, network, attach, &RunExtras::default(), created)
            .map(|(c, _)| c)
    }

    /// `run` with links and published ports; also returns Docker's warnings.
    pub fn run_with(
        &mut self,
        name: &str,
        network: &str,
        attach: &AttachSpec,
        extras: &RunExtras,
        created: &str,
    ) -> Result<(Container, Vec<String>), DockerError> {
        let mut warnings = Vec::new();
        let mut ports = extras
            .publish
            .iter()
            .map(|p| PortBinding::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        let links = extras
            .links
            .iter()
            .map(|l| {
                let (target, alias) = l.split_once(':').unwrap_or((l, l));
                let t = self
                    .container(target)
                    .map_err(|_| DockerError::NoLinkTarget(target.to_string()))?;
                Ok((t.id.clone(), alias.to_string()))
            })
            .collect::<Result<Vec<_>, DockerError>>()?;
        if network.starts_with("container:") && !ports.is_empty() {
            return Err(DockerError::PublishWithContainerMode);
        }
        if network == "host" && !ports.is_empty() {
            warnings
                .push("WARNING: Published ports are discarded when using host network mode".into());
            ports.clear();
        }
        let mut c = self.run_plain(name, network, attach, created)?;
        // Ports are allocated when the endpoint joins (libnetwork's bridge driver), in the
        // order Docker sorts them; a refusal takes the container back out.
        if let Some(e) = c.endpoints.first().filter(|e| e.ip.is_some()) {
            if let Err(err) = self.allocate_ports(&mut ports) {
                let err = match err {
                    Refused::Taken(ip, port) => DockerError::PortAllocated {
                        container: c.name.clone(),
                        endpoint: e.id.clone(),
                        ip: ip.to_string(),
                        port,
                    },
                    Refused::Exhausted => DockerError::PortsExhausted {
                        container: c.name.clone(),
                        endpoint: e.id.clone(),
                    },
                };
                let _ = self.remove_container(&c.id);
                return Err(err);
            }
        }
        c.links = links;
        c.ports = ports;
        if let Some(stored) = self.containers.iter_mut().find(|x| x.id == c.id) {
            stored.links = c.links.clone();
            stored.ports = c.ports.clone();
        }
        Ok((c, warnings))
    }

    /// Allocates every binding of `ports` (filling `bound`), in Docker's order: for each,
    /// an IPv4 mapping and (no address given) an IPv6 one on `::`. An asked port must be
    /// free on that address and protocol — held by no container and no earlier binding of
    /// the same list; Docker's allocator keeps ports per address, so `0.0.0.0:8080` and
    /// `127.0.0.1:8080` are two (the kernel then refuses the second listener, see
    /// `ProxyFailed`). An unasked one is the next free port of [`EPHEMERAL_PORTS`] after
    /// the last one handed out on that address, wrapping around — so IPv4 and IPv6 can get
    /// different ones, as in Docker 20.10. All or nothing: on a refusal nothing is kept.
    fn allocate_ports(&mut self, ports: &mut [PortBinding]) -> Result<(), Refused> {
        let mut held: Vec<(std::net::IpAddr, Proto, u16)> = self
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .flat_map(|p| p.bound.iter().map(move |(a, n)| (*a, p.proto, *n)))
            .collect();
        let mut last = self.last_port.clone();
        let order: Vec<usize> = {
            let refs = allocation_order(ports);
            refs.iter()
                .filter_map(|r| ports.iter().position(|p| std::ptr::eq(p, *r)))
                .collect()
        };
        for i in order {
            let p = &mut ports[i];
            let addrs: Vec<std::net::IpAddr> = match p.host_ip {
                Some(ip) => vec![ip],
                None => vec![
                    Ipv4Addr::UNSPECIFIED.into(),
                    std::net::Ipv6Addr::UNSPECIFIED.into(),
                ],
            };
            p.bound.clear();
            for a in addrs {
                let taken = |n: u16| held.contains(&(a, p.proto, n));
                let n = if p.host_port != 0 {
                    if taken(p.host_port) {
                        return Err(Refused::Taken(a, p.host_port));
                    }
                    p.host_port
                } else {
                    let (lo, hi) = (*EPHEMERAL_PORTS.start(), *EPHEMERAL_PORTS.end());
                    let from =
                        last.get(&(a, p.proto))
                            .map_or(lo, |l| if *l >= hi { lo } else { l + 1 });
                    let n = (from..=hi)
                        .chain(lo..from)
                        .find(|n| !taken(*n))
                        .ok_or(Refused::Exhausted)?;
                    last.insert((a, p.proto), n);
                    n
                };
                held.push((a, p.proto, n));
                p.bound.push((a, n));
            }
        }
        self.last_port = last;
        Ok(())
    }

    fn run_plain(
        &mut self,
        name: &str,
        network: &str,
        attach: &AttachSpec,
        created: &str,
    ) -> Result<Container, DockerError> {
        if !names::valid(name) {
            return Err(DockerError::InvalidContainerName(name.to_string()));
        }
        if let Some(c) = self.containers.iter().find(|c| c.name == name) {
            return Err(DockerError::NameInUse {
                name: name.to_string(),
                id: c.id.clone(),
            });
        }
        let mut container = Container {
            id: self.ids.id(),
            sandbox_id: self.ids.id(),
            name: name.to_string(),
            created: created.to_string(),
            mode: NetMode::Own,
            network_mode: network.to_string(),
            endpoints: Vec::new(),
            links: Vec::new(),
            ports: Vec::new(),
        };
        if let Some(target) = network.strip_prefix("container:") {
            let t = self.container(target)?;
            if let NetMode::Container(_) = t.mode {
                return Err(DockerError::NestedContainerMode(target.to_string()));
            }
            container.network_mode = format!("container:{}", t.id);
            container.mode = if t.mode == NetMode::Host {
                NetMode::Host
            } else {
                NetMode::Container(t.id.clone())
            };
            self.containers.push(container.clone());
            return Ok(container);
        }
        let net = self.network(network)?.clone();
        if network == "bridge" {
            // `docker run` without --network says "default".
            container.network_mode = "default".into();
        }
        if net.driver == Driver::Host {
            container.mode = NetMode::Host;
        }
        let endpoint = self.attach(&container, &net, attach, true)?;
        container.endpoints.push(endpoint);
        self.containers.push(container.clone());
        Ok(container)
    }

    /// Allocates an endpoint of `container` on `net` (not yet recorded anywhere).
    fn attach(
        &mut self,
        container: &Container,
        net: &Network,
        attach: &AttachSpec,
        at_run: bool,
    ) -> Result<Endpoint, DockerError> {
        let fixed = attach.ip.as_deref().map(parse_ip).transpose()?;
        if net.driver != Driver::Bridge || net.default_bridge {
            if fixed.is_some() {
                return Err(DockerError::FixedIpOnDefaultNetwork);
            }
            if !attach.aliases.is_empty() {
                return Err(DockerError::AliasOnDefaultNetwork);
            }
        }
        let mut endpoint = Endpoint {
            id: self.ids.id(),
            network_id: net.id.clone(),
            ip: None,
            gateway: None,
            mac: None,
            ifname: None,
            host_ifname: None,
            aliases: Vec::new(),
            fixed_ip: fixed,
            at_run,
        };
        if net.driver != Driver::Bridge {
            return Ok(endpoint);
        }
        let i = self.network_index(&net.id)?;
        let Some(pool) = self.networks[i].pool.as_mut() else {
            return Ok(endpoint);
        };
        let ip = match fixed {
            Some(ip) => {
                pool.reserve(ip)?;
                ip
            }
            None => pool.allocate()?,
        };
        endpoint.ip = Some((ip, pool.subnet.prefix_len()));
        endpoint.gateway = Some(pool.gateway);
        endpoint.mac = Some(ids::mac_for(ip));
        endpoint.ifname = Some(next_ifname(container));
        endpoint.host_ifname = Some(self.fresh_veth_name(&|_| false));
        if net.user_defined_bridge() {
            endpoint.aliases.push(short(&container.id).to_string());
            endpoint.aliases.extend(attach.aliases.iter().cloned());
        }
        Ok(endpoint)
    }

    /// `docker network connect NETWORK CONTAINER`.
    pub fn connect(
        &mut self,
        container: &str,
        network: &str,
        attach: &AttachSpec,
    ) -> Result<(Container, Endpoint), DockerError> {
        let ci = self.container_index(container)?;
        let net = self.network(network)?.clone();
        let c = self.containers[ci].clone();
        match c.mode {
            NetMode::Host => return Err(DockerError::HostNetwork),
            NetMode::Container(_) => return Err(DockerError::SharedNamespace),
            NetMode::Own => {}
        }
        if net.driver == Driver::Host {
            return Err(DockerError::HostNetwork);
        }
        let on_none = |c: &Container, docker: &Docker| {
            c.endpoints.iter().any(|e| {
                docker
                    .network_by_id(&e.network_id)
                    .is_some_and(|n| n.driver == Driver::Null)
            })
        };
        if (net.driver == Driver::Null || on_none(&c, self)) && c.endpoint(&net.id).is_none() {
            return Err(DockerError::NoneNetwork);
        }
        if c.endpoint(&net.id).is_some() {
            return Err(DockerError::AlreadyConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            });
        }
        let endpoint = self.attach(&c, &net, attach, false)?;
        self.containers[ci].endpoints.push(endpoint.clone());
        Ok((self.containers[ci].clone(), endpoint))
    }

    /// `docker network disconnect NETWORK CONTAINER`: the endpoint, its address released.
    pub fn disconnect(&mut self, container: &str, network: &str) -> Result<Endpoint, DockerError> {
        let ci = self.container_index(container)?;
        let net = self.network(network)?.clone();
        let c = &self.containers[ci];
        if c.mode == NetMode::Host || net.driver == Driver::Host {
            return Err(DockerError::HostNetwork);
        }
        let Some(pos) = c.endpoints.iter().position(|e| e.network_id == net.id) else {
            return Err(DockerError::NotConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            });
        };
        let endpoint = self.containers[ci].endpoints.remove(pos);
        self.release(&endpoint);
        Ok(endpoint)
    }

    /// `docker rm -f`: the container, its endpoints released.
    pub fn remove_container(&mut self, key: &str) -> Result<Container, DockerError> {
        self.check_remove_container(key)?;
        let ci = self.container_index(key)?;
        let c = self.containers.remove(ci);
        for e in &c.endpoints {
            self.release(e);
        }
        Ok(c)
    }

    /// Whether `docker rm -f` would succeed, changing nothing: the container it would
    /// remove, or Docker's refusal.
    pub fn check_remove_container(&self, key: &str) -> Result<&Container, DockerError> {
        let c = self.container(key)?;
        if let Some(user) = self
            .containers
            .iter()
            .find(|o| o.mode == NetMode::Container(c.id.clone()))
        {
            return Err(DockerError::NamespaceInUse {
                name: c.name.clone(),
                user: user.name.clone(),
            });
        }
        Ok(c)
    }

    /// Whether `docker network disconnect` would succeed, changing nothing: the endpoint
    /// it would remove, or Docker's refusal.
    pub fn check_disconnect(
        &self,
        container: &str,
        network: &str,
    ) -> Result<&Endpoint, DockerError> {
        let c = self.container(container)?;
        let net = self.network(network)?;
        if c.mode == NetMode::Host || net.driver == Driver::Host {
            return Err(DockerError::HostNetwork);
        }
        c.endpoint(&net.id)
            .ok_or_else(|| DockerError::NotConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            })
    }

    /// Gives the endpoint of `container_id` on `network_id` a new host-side veth name,
    /// one that no endpoint has and `taken` (what the host already has) does not refuse.
    /// The lab calls this when the name the model drew clashes with a host link.
    pub fn renew_host_ifname(
        &mut self,
        container_id: &str,
        network_id: &str,
        taken: &dyn Fn(&str) -> bool,
    ) -> Option<String> {
        let name = self.fresh_veth_name(taken);
        let e = self
            .containers
            .iter_mut()
            .find(|c| c.id == container_id)?
            .endpoints
            .iter_mut()
            .find(|e| e.network_id == network_id)?;
        e.host_ifname = Some(name.clone());
        Some(name)
    }

    /// A `veth<7 hex>` name that no endpoint uses and `taken` does not refuse (Docker draws
    /// them at random too; checking makes a clash impossible rather than unlikely).
    fn fresh_veth_name(&mut self, taken: &dyn Fn(&str) -> bool) -> String {
        loop {
            let name = self.ids.veth_name();
            let used = self
                .containers
                .iter()
                .flat_map(|c| &c.endpoints)
                .any(|e| e.host_ifname.as_deref() == Some(name.as_str()));
            if !used && !taken(&name) {
                return name;
            }
        }
    }

    fn release(&mut self, endpoint: &Endpoint) {
        if let (Some((ip, _)), Some(net)) = (
            endpoint.ip,
            self.networks
                .iter_mut()
                .find(|n| n.id == endpoint.network_id),
        ) {
            if let Some(pool) = net.pool.as_mut() {
                pool.release(ip);
            }
        }
    }

    /// The container whose namespace `c` uses (itself, unless `container:` mode).
    pub fn namespace_owner<'a>(&'a self, c: &'a Container) -> &'a Container {
        match &c.mode {
            NetMode::Container(id) => self.containers.iter().find(|o| &o.id == id).unwrap_or(c),
            _ => c,
        }
    }
}

/// The localhost lines every container's /etc/hosts starts with.
const HOSTS_HEADER: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

impl Docker {
    /// A container's first IPv4 address (the one its own /etc/hosts line and links use).
    pub fn primary_ip(&self, c: &Container) -> Option<Ipv4Addr> {
        self.namespace_owner(c)
            .endpoints
            .iter()
            .find_map(|e| e.ip.map(|(ip, _)| ip))
    }

    /// `/etc/hosts` inside the container: localhost lines, `--link` entries, its own line.
    pub fn hosts_file(&self, c: &Container) -> String {
        let mut out = String::from(HOSTS_HEADER);
        for (target, alias) in &c.links {
            let Some(t) = self.containers.iter().find(|x| &x.id == target) else {
                continue;
            };
            let Some(ip) = self.primary_ip(t) else {
                continue;
            };
            if alias == &t.name {
                out.push_str(&format!("{ip}\t{} {}\n", t.name, t.short_id()));
            } else {
                out.push_str(&format!("{ip}\t{alias} {} {}\n", t.short_id(), t.name));
            }
        }
        let owner = self.namespace_owner(c);
        if let Some(ip) = self.primary_ip(owner) {
            out.push_str(&format!("{ip}\t{}\n", owner.hostname()));
        }
        out
    }

    /// Whether the container's namespace is on a user-defined network (and so has the
    /// embedded DNS server at 127.0.0.11).
    pub fn has_embedded_dns(&self, c: &Container) -> bool {
        self.namespace_owner(c).endpoints.iter().any(|e| {
            self.network_by_id(&e.network_id)
                .is_some_and(Network::user_defined_bridge)
        })
    }

    /// `/etc/resolv.conf` inside the container: the embedded DNS server on user-defined
    /// networks, otherwise a copy of the host's.
    pub fn resolv_conf(&self, c: &Container, host_resolv: &str) -> String {
        if self.has_embedded_dns(c) {
            "nameserver 127.0.0.11\noptions ndots:0\n".to_string()
        } else {
            host_resolv.to_string()
        }
    }

    /// The names the embedded DNS server answers on network `network_id`: each member's
    /// name, aliases (its short ID among them) → its address there.
    pub fn dns_names(&self, network_id: &str) -> Vec<(String, Ipv4Addr)> {
        let mut out = Vec::new();
        let Some(n) = self.network_by_id(network_id) else {
            return out;
        };
        if !n.user_defined_bridge() {
            return out;
        }
        for (c, e) in self.members(network_id) {
            if let Some((ip, _)) = e.ip {
                out.push((c.name.clone(), ip));
                for a in &e.aliases {
                    out.push((a.clone(), ip));
                }
            }
        }
        out
    }

    /// The bindings Docker made for `c`: none for a container without an address of its
    /// own network (host, none, `container:`), where Docker programs no port mapping.
    pub fn active_ports<'a>(&self, c: &'a Container) -> &'a [PortBinding] {
        if c.endpoints.iter().any(|e| e.ip.is_some()) {
            &c.ports
        } else {
            &[]
        }
    }

    /// `docker port`: `8080/tcp -> 0.0.0.0:8081` and `8080/tcp -> [::]:8081` lines (Go's
    /// `net.JoinHostPort`), in the docker CLI's natural order (`sortorder.NaturalLess`:
    /// digit runs compared as numbers, so `9/tcp` before `80/tcp`).
    pub fn port_lines(&self, c: &Container) -> String {
        let mut lines: Vec<String> = self
            .active_ports(c)
            .iter()
            .flat_map(|p| {
                p.bound.iter().map(move |(a, n)| {
                    let addr = std::net::SocketAddr::new(*a, *n);
                    format!("{}/{} -> {addr}", p.container_port, p.proto.name())
                })
            })
            .collect();
        lines.sort_by(|a, b| natural_cmp(a, b));
        lines.into_iter().map(|l| l + "\n").collect()
    }
}

/// The order Docker allocates a container's bindings in (`nat.SortPortMap`): by container
/// port, and among the bindings of one container port the last asked first (observed on
/// Docker 20.10.24 for up to 7 bindings of one port).
pub fn allocation_order(ports: &[PortBinding]) -> Vec<&PortBinding> {
    let mut v: Vec<(usize, &PortBinding)> = ports.iter().enumerate().collect();
    v.sort_by(|(i, a), (j, b)| {
        (a.container_port, a.proto.name())
            .cmp(&(b.container_port, b.proto.name()))
            .then(j.cmp(i))
    });
    v.into_iter().map(|(_, p)| p).collect()
}

/// Natural string order (`github.com/fvbommel/sortorder`'s `NaturalLess`, which the docker
/// CLI sorts `docker port` with): runs of digits compare as numbers, the rest byte by byte.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (x, y) = (&a[si..i], &b[sj..j]);
            let strip = |d: &[u8]| {
                let k = d.iter().position(|c| *c != b'0').unwrap_or(d.len());
                d[k..].to_vec()
            };
            let (tx, ty) = (strip(x), strip(y));
            let o = tx
                .len()
                .cmp(&ty.len())
                .then(tx.cmp(&ty))
                .then(x.len().cmp(&y.len()));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// Why the port allocator refused a binding.
enum Refused {
    /// This address, protocol and port are held (Go prints the address with `%s`: `::`).
    Taken(std::net::IpAddr, u16),
    /// No port of the ephemeral range is free on that address.
    Exhausted,
}

fn find<'a, T>(
    items: &'a [T],
    key: &str,
    name_id: impl Fn(&T) -> (&String, &String),
) -> Option<&'a T> {
    if let Some(x) = items.iter().find(|x| name_id(x).0 == key) {
        return Some(x);
    }
    if key.is_empty() {
        return None;
    }
    let mut by_prefix = items.iter().filter(|x| name_id(x).1.starts_with(key));
    match (by_prefix.next(), by_prefix.next()) {
        (Some(x), None) => Some(x),
        _ => None,
    }
}

fn parse_ip(text: &str) -> Result<Ipv4Addr, DockerError> {
    text.trim()
        .parse()
        .map_err(|_| DockerError::InvalidIp(text.to_string()))
}

/// `eth0`, `eth1` …: the lowest index the container does not use.
fn next_ifname(c: &Container) -> String {
    (0..)
        .map(|i| format!("eth{i}"))
        .find(|n| !c.endpoints.iter().any(|e| e.ifname.as_deref() == Some(n)))
        .unwrap_or_else(|| "eth0".into())
}

#[cfg(test)]
mod tests;
