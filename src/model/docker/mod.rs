//! Docker's container network model (CNM), pure: networks, endpoints, containers
//! (sandboxes) and IPAM, with Docker's rules and Docker's error messages. The lab asks it
//! what to build and builds it; nothing here touches the kernel.
//!
//! The engine here is generic: what depends on a network's driver (addresses, devices,
//! interfaces, name resolution, the kernel work) is asked of the driver, through the
//! [`driver::NetworkDriver`] interface.

pub mod dns;
pub mod driver;
pub mod ids;
pub mod ipam;
pub mod names;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use thiserror::Error;

pub use driver::DriverRef as Driver;
use ids::{short, Ids};
use ipam::{Pool, PoolCursor};

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
    /// An empty network name: Docker's API answers "network with name  already exists",
    /// which gives no reason; netsh says why, in its own words.
    #[error("invalid network name \"\": a network needs a name")]
    EmptyNetworkName,
    /// `docker network create` of a predefined network's name (Docker 20.10's
    /// `runconfig.IsPreDefinedNetwork`: bridge, host, none, default).
    #[error("operation is not permitted on predefined {0} network")]
    PredefinedNetworkCreate(String),
    /// Docker 20.10's daemon text (newer engines prefix "invalid pool request: ").
    #[error("Pool overlaps with other one on this address space")]
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
    /// A gateway outside every given subnet: the docker CLI's own check.
    #[error("no matching subnet for gateway {0}")]
    GatewayOutsideSubnet(Ipv4Addr),
    /// IPAM could not reserve the gateway: the network or broadcast address (`Address
    /// already in use`), or a subnet with no host address at all (`No available addresses
    /// on this pool`, with the gateway empty).
    #[error("failed to allocate gateway ({gateway}): {why}")]
    GatewayAllocation { gateway: String, why: &'static str },
    /// The docker CLI's own check (no "Error response from daemon").
    #[error("every ip-range or gateway must have a corresponding subnet")]
    GatewayWithoutSubnet,
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    NoAvailableAddress(Ipv4Net),
    /// `--ip` outside the network's subnet (libnetwork's endpoint address assignment).
    #[error("Invalid address {0}: It does not belong to any of this network's subnets")]
    IpOutsideSubnet(Ipv4Addr),
    /// `--ip` of an address the pool holds: a container's, the gateway, or the network
    /// and broadcast addresses (libnetwork reserves those). Docker prints no address.
    #[error("Address already in use")]
    AddressInUse(Ipv4Addr),
    #[error("invalid IPv4 address: {0}")]
    InvalidIp(String),
    #[error("user specified IP address is supported on user defined networks only")]
    FixedIpOnDefaultNetwork,
    /// `--ip` on a user-defined network whose subnet the engine chose (no `subnet` given).
    #[error("user specified IP address is supported only when connecting to networks with user configured subnets")]
    FixedIpWithoutSubnet,
    #[error("network-scoped alias is supported only for containers in user defined networks")]
    AliasOnDefaultNetwork,
    /// The docker CLI's check of `docker run --network-alias` (no "Error response from
    /// daemon").
    #[error("network-scoped aliases are only supported for user-defined networks")]
    RunAliasOnDefaultNetwork,
    /// `--link` with `--network host` or `container:…`.
    #[error("conflicting options: {0} can't be used with links. This would result in undefined behavior")]
    LinksWithMode(&'static str),
    #[error("plugin \"{0}\" not found")]
    UnknownDriver(String),
    /// A driver Docker has but netsh does not model (netsh's words).
    #[error("the {0} driver is Docker's, but netsh models the bridge, host and null drivers only")]
    DriverNotModelled(String),
    #[error("only one instance of \"{0}\" network is allowed")]
    SingleInstance(String),
    #[error("{0} is a pre-defined network and cannot be removed")]
    PredefinedNetwork(String),
    /// `id` is the network's full ID, as Docker prints it.
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    ActiveEndpoints { name: String, id: String },
    #[error("endpoint with name {container} already exists in network {network}")]
    AlreadyConnected { container: String, network: String },
    /// `container` is the container's full ID, as Docker prints it.
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
    /// `-p …/sctp`: Docker publishes SCTP ports, netsh does not (netsh's own refusal).
    #[error("cannot publish {0}: netsh publishes TCP and UDP ports only, not SCTP")]
    SctpPorts(String),
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
    #[error("could not get container for {0}: No such container: {0}")]
    NoLinkTarget(String),
    #[error("conflicting options: port publishing and the container type network mode")]
    PublishWithContainerMode,
    /// `--dns` with `--network container:…` (runconfig's `ErrConflictNetworkAndDNS`).
    #[error("conflicting options: dns and the network mode")]
    DnsWithContainerMode,
    /// `--add-host` with `--network container:…` (runconfig's `ErrConflictNetworkHosts`).
    #[error("conflicting options: custom host-to-IP mapping and the network mode")]
    HostsWithContainerMode,
    /// A `--link` the docker CLI refuses to parse (netsh's words around the CLI's reason).
    #[error("invalid link \"{link}\": {why} (expected NAME or NAME:ALIAS)")]
    InvalidLink { link: String, why: String },
    #[error("Neither old nor new names may be empty")]
    RenameEmpty,
    #[error("Renaming a container with the same name as its current name")]
    RenameSame,
    /// A default-bridge `--link` to a container that is not on the default bridge (Docker
    /// 20.10 says so when it starts the container, after creating it; netsh creates
    /// nothing).
    #[error("Cannot link to /{0}, as it does not belong to the default network")]
    LinkOffDefaultBridge(String),
    /// `docker start` of a `container:` container whose namespace owner does not run
    /// (the daemon's `getNetworkedContainer`; the ID is the owner's full one).
    #[error("cannot join network of a non running container: {0}")]
    OwnerNotRunning(String),
    /// `docker exec` into a container that does not run (the ID in full).
    #[error("Container {0} is not running")]
    NotRunning(String),
    /// A `--link` to a container that does not run (the daemon's `registerLinks`).
    #[error("Cannot link to a non running container: /{target} AS /{path}")]
    LinkToStopped { target: String, path: String },
    /// `docker rename` to a name that is invalid or taken.
    #[error("Error when allocating new name: {0}")]
    RenameAllocation(Box<DockerError>),
    /// `--ip-range` whose address is outside the subnet: the docker CLI's own check
    /// (`getIpamConfig`), without "Error response from daemon".
    #[error("no matching subnet for range {0}")]
    RangeOutsideSubnet(String),
    /// `--aux-address` outside the subnet (or without one): the docker CLI's check.
    #[error("no matching subnet for aux-address {0}")]
    AuxOutsideSubnet(String),
    /// An `--ip-range` that does not parse (Go's `net.ParseCIDR`, as the CLI reports it).
    #[error("invalid CIDR address: {0}")]
    InvalidRange(String),
    /// An `--aux-address` the pool already holds (the gateway, another auxiliary address,
    /// the network or broadcast address): libnetwork's `ipamAllocateVersion`.
    #[error("failed to allocate secondary ip address ({name}:{ip}): Address already in use")]
    AuxInUse { name: String, ip: String },
    /// A bridge driver option (`-o KEY=VALUE`) whose value does not parse (libnetwork's
    /// `parseErr`).
    #[error("failed to parse {label} value: {value} ({why})")]
    DriverOption {
        label: String,
        value: String,
        why: String,
    },
    /// `com.docker.network.driver.mtu` below zero (libnetwork's `ErrInvalidMtu`).
    #[error("invalid MTU number: {0}")]
    InvalidMtu(i64),
    /// An MTU the kernel refuses for a bridge or veth (netsh's own refusal: Docker would
    /// fail while building the bridge).
    #[error("invalid MTU {0} for a bridge network: the kernel takes 68 to 65535 bytes")]
    MtuOutOfRange(i64),
    /// `com.docker.network.bridge.name` that another network's bridge has (libnetwork's
    /// bridge driver, `networks have same bridge name`).
    #[error("cannot create network {id} ({bridge}): conflicts with network {other} ({bridge}): networks have same bridge name")]
    BridgeNameConflict {
        id: String,
        bridge: String,
        other: String,
    },
    /// `com.docker.network.bridge.name` that the kernel cannot take as an interface name
    /// (netsh's own refusal, with the kernel's rule).
    #[error("invalid bridge name {name:?} (com.docker.network.bridge.name): {why}")]
    InvalidBridgeName { name: String, why: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub driver: Driver,
    pub created: String,
    /// Networks of drivers that use IPAM only.
    pub pool: Option<Pool>,
    /// The kernel device the driver builds the network on (the bridge driver's Linux
    /// bridge: `docker0` for the default network, `br-<short id>` otherwise).
    pub bridge: Option<String>,
    pub bridge_mac: Option<String>,
    pub internal: bool,
    /// The predefined `bridge` network (no name resolution, `--link` instead).
    pub default_bridge: bool,
    /// What the user configured (`subnet`, `gateway`), as given; `None` when the subnet was
    /// drawn from the default pools. Only with a configured subnet does Docker take a fixed
    /// address (`ip`) on the network (the daemon's `validateNetworkingConfig` looks for a
    /// configured `PreferredPool`), and inspect's `IPAM.Config` shows this rather than the
    /// pool (libnetwork keeps the user's `IpamConf`: the subnet as written, host bits
    /// included, and a gateway only when one was given).
    pub user_config: Option<IpamConfig>,
    /// `--label KEY=VALUE`, a later key replacing an earlier one (inspect's `Labels`).
    pub labels: Vec<(String, String)>,
    /// `-o/--opt KEY=VALUE`, driver options as given, a later key replacing an earlier one
    /// (inspect's `Options`); the driver reads those it knows (see
    /// [`driver::NetworkDriver::check_options`]).
    pub options: Vec<(String, String)>,
}

/// A network's IPAM configuration as the user gave it (`docker network create --subnet
/// --gateway`).
#[derive(Debug, Clone, PartialEq)]
pub struct IpamConfig {
    /// The subnet as written (`10.42.0.5/24` stays so; the pool is `10.42.0.0/24`).
    pub subnet: String,
    pub gateway: Option<Ipv4Addr>,
    /// `--ip-range` as written (inspect's `IPRange`).
    pub ip_range: Option<String>,
    /// `--aux-address NAME=IP` as given, sorted by name (inspect's `AuxiliaryAddresses`).
    pub aux: Vec<(String, String)>,
}

impl Network {
    /// One of the three networks every engine starts with (`bridge`, `host`, `none`).
    pub fn predefined(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }
    /// Docker's `NetworkMode(name).IsUserDefined()`: any network but the predefined ones.
    /// Only these take fixed addresses and network-scoped aliases.
    pub fn user_defined(&self) -> bool {
        !self.predefined()
    }
    /// Whether containers on it get the embedded DNS server and network-scoped names
    /// (the driver decides: Docker's user-defined bridge networks).
    pub fn user_defined_bridge(&self) -> bool {
        self.driver.service_discovery(self)
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
    /// `--link` given on a user-defined network, as given (`lk3:dbl`): DNS aliases for this
    /// container only (see `dns.rs`), shown as `Networks.<net>.Links`.
    pub links: Vec<String>,
    /// Docker makes default-bridge endpoints anonymous (no name in the network's DNS
    /// records); `rename` names every endpoint the container has at that moment.
    pub anonymous: bool,
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
    /// In join order (its /etc/hosts lines follow it); the default route is chosen by
    /// [`Docker::gateway_endpoint`].
    pub endpoints: Vec<Endpoint>,
    /// The index of the next `ethN` inside its namespace: Docker's sandbox counts up and
    /// never reuses a name, even after a disconnect.
    pub next_ifindex: u32,
    /// `--link NAME[:ALIAS]` on the default bridge: (target container ID, alias, target's
    /// name when linked) — entries in its /etc/hosts, which Docker writes once, so a later
    /// `rename` of the target does not show there.
    pub links: Vec<(String, String, String)>,
    /// `-p [IP:]HOST:CONTAINER[/PROTO]`.
    pub ports: Vec<PortBinding>,
    /// The image it was created from (as named; empty from `run()`).
    pub image: String,
    /// Its command as given (`docker run IMAGE CMD…`); empty: none given.
    pub cmd: Vec<String>,
    /// Created, running or exited: Docker's container state machine (the parts netsh
    /// has: no pause, no restart policy).
    pub state: State,
    /// When it last started and last ended (RFC 3339; `None`: never), for `ps` and
    /// `inspect`'s `State.StartedAt`/`FinishedAt`.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Its networks while it does not run: endpoints holding only their configuration
    /// (network, fixed address, aliases asked for, links); [`Docker::start`] allocates them
    /// again in this order. Docker keeps them in `NetworkSettings.Networks` with the
    /// operational data cleaned (daemon's `releaseNetwork`, `cleanOperationalData`). Empty
    /// while the container runs: then `endpoints` holds them.
    pub idle_endpoints: Vec<Endpoint>,
    /// `--rm`: the daemon removes it when it stops, whatever stops it
    /// (`HostConfig.AutoRemove`).
    pub auto_remove: bool,
    /// `--hostname`; `None`: the short ID.
    pub hostname: Option<String>,
    /// `Config.Env`: the image's environment (`PATH`), then `-e` values, each `KEY=VALUE`
    /// (see [`container_env`]).
    pub env: Vec<String>,
    /// `--add-host NAME:IP`, as (name, address) in the order given.
    pub extra_hosts: Vec<(String, String)>,
    /// `--dns`, `--dns-search`, `--dns-option`.
    pub dns: DnsConfig,
}

/// A container's own DNS settings (`docker run --dns IP --dns-search DOMAIN --dns-option
/// OPT`, each repeatable): `HostConfig.Dns`, `DnsSearch`, `DnsOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl DnsConfig {
    /// No `--dns*` flag was given: resolv.conf is Docker's default for the network.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.search.is_empty() && self.options.is_empty()
    }
}

/// The environment an image brings (`Config.Env` of busybox and of the official images):
/// Docker's default `PATH`.
pub const IMAGE_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's `ReplaceOrAppendEnvValues`: each override `KEY=VALUE` replaces the default with
/// the same key in place, or is appended; an override `KEY` without `=` removes `KEY` (the
/// CLI passes `-e KEY` so when netsh's own environment has no `KEY`).
pub fn replace_or_append_env(defaults: &[String], overrides: &[String]) -> Vec<String> {
    let key = |e: &str| e.split('=').next().unwrap_or_default().to_string();
    let mut out: Vec<Option<String>> = defaults.iter().cloned().map(Some).collect();
    for o in overrides {
        let k = key(o);
        let at = out
            .iter()
            .position(|e| e.as_deref().is_some_and(|e| key(e) == k));
        if !o.contains('=') {
            if let Some(i) = at {
                out[i] = None;
            }
            continue;
        }
        match at {
            Some(i) => out[i] = Some(o.clone()),
            None => out.push(Some(o.clone())),
        }
    }
    out.into_iter().flatten().collect()
}

/// `Config.Env` of a new container: the image's environment ([`IMAGE_PATH`]) with the
/// `-e` values merged in (Docker's daemon merges them with [`replace_or_append_env`], so
/// `-e KEY` without a value leaves `KEY` out).
pub fn container_env(user: &[String]) -> Vec<String> {
    replace_or_append_env(&[IMAGE_PATH.to_string()], user)
}

/// Where a container is in its life (`State.Status` in `docker inspect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// `docker create`: configured, never started; no network.
    Created,
    /// Its networks are allocated and built; its command (if any) runs.
    Running,
    /// Stopped, or its command ended, with this exit code; its networks are released.
    Exited { code: i32 },
}

impl State {
    /// Docker's name for it: `created`, `running`, `exited`.
    pub fn name(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Running => "running",
            State::Exited { .. } => "exited",
        }
    }
}

/// One published port: what `-p` asked, and what Docker bound for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    /// The host address asked (`127.0.0.1:…`, `[::1]:…`); none for all.
    pub host_ip: Option<std::net::IpAddr>,
    /// The host port asked; 0 for "any" (`-p 80`, `-p 127.0.0.1::80`).
    pub host_port: u16,
    /// The last port of a host port range (`-p 9090-9092:80`: any free port of it);
    /// `host_port` itself for one port, 0 when none was asked.
    pub host_port_end: u16,
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
    /// `[::1]:8081:8080`, without a host port (one is allocated): `80`, `127.0.0.1::80`,
    /// and with ranges (go-connections' `ParsePortSpec`): `9800-9803:80-83` is four
    /// bindings, `9090-9092:80` one binding on any free port of the host range, `80-83` four
    /// on allocated ports. Refusals in the docker CLI's words (`invalid IP address: 1:2`,
    /// `invalid containerPort: abc`, `invalid hostPort: 9090-9089`).
    pub fn parse(text: &str) -> Result<Vec<PortBinding>, DockerError> {
        let (spec, proto) = match text.rsplit_once('/') {
            Some((spec, "tcp")) => (spec, Proto::Tcp),
            Some((spec, "udp")) => (spec, Proto::Udp),
            // Docker publishes SCTP too; netsh's firewall and proxy know TCP and UDP only.
            Some((_, "sctp")) => return Err(DockerError::SctpPorts(text.to_string())),
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
        // `N` or `N-M` with N <= M (go-connections' `ParsePortRange`).
        let range = |p: &str, what: &str| {
            let bad = || DockerError::InvalidPort(format!("invalid {what}: {p}"));
            let one = |s: &str| s.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(bad);
            match p.split_once('-') {
                None => one(p).map(|n| (n, n)),
                Some((a, b)) => {
                    let (a, b) = (one(a)?, one(b)?);
                    if b < a {
                        Err(bad())
                    } else {
                        Ok((a, b))
                    }
                }
            }
        };
        let (start, end) = range(container, "containerPort")?;
        let (host_start, host_end) = if host.is_empty() {
            (0, 0)
        } else {
            range(host, "hostPort")?
        };
        // A host range with one container port is the range to pick a free port from;
        // otherwise the two ranges must be as long.
        if !host.is_empty() && end - start != host_end - host_start && end != start {
            return Err(DockerError::InvalidPort(format!(
                "invalid ranges specified for container and host Ports: {container} and {host}"
            )));
        }
        Ok((0..=end - start)
            .map(|i| {
                let (host_port, host_port_end) = match (host.is_empty(), start == end) {
                    (true, _) => (0, 0),
                    (false, true) => (host_start, host_end),
                    (false, false) => (host_start + i, host_start + i),
                };
                PortBinding {
                    host_ip,
                    host_port,
                    host_port_end,
                    container_port: start + i,
                    proto,
                    bound: Vec::new(),
                }
            })
            .collect())
    }

    /// Whether the host port is a range to pick from (`-p 9090-9092:80`).
    pub fn host_range(&self) -> bool {
        self.host_port != 0 && self.host_port_end != self.host_port
    }
}

/// `docker run` options beyond the network attachment.
#[derive(Debug, Clone, Default)]
pub struct RunExtras {
    /// `--link NAME[:ALIAS]`.
    pub links: Vec<String>,
    /// `-p` specifications.
    pub publish: Vec<String>,
    /// The image named on the command line (accepted, never pulled); empty from `run()`.
    pub image: String,
    /// The container's command (`IMAGE [CMD…]`); empty when none was given.
    pub cmd: Vec<String>,
    /// `docker create`: built but not started (`docker ps` shows it only with `-a`).
    pub create_only: bool,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `-e KEY=VALUE` (or `KEY` alone: left out), as the CLI passes them.
    pub env: Vec<String>,
    /// `--add-host NAME:IP`, checked by the CLI.
    pub extra_hosts: Vec<String>,
    /// `--dns`, `--dns-search`, `--dns-option`.
    pub dns: DnsConfig,
    /// `--rm`: removed as soon as it stops (`HostConfig.AutoRemove`).
    pub auto_remove: bool,
}

impl Container {
    pub fn short_id(&self) -> &str {
        short(&self.id)
    }
    /// `--hostname` when given, else the short ID (Docker's default).
    pub fn hostname(&self) -> &str {
        self.hostname.as_deref().unwrap_or_else(|| self.short_id())
    }
    /// The image as Docker's views name it: as given, or `busybox` for a container made by
    /// `run()` (netsh's bindings run no image of their own).
    pub fn image_name(&self) -> &str {
        if self.image.is_empty() {
            "busybox"
        } else {
            &self.image
        }
    }

    /// Its command as Docker's views show it (`Config.Cmd`, `Path` and `Args`, `ps`'s
    /// COMMAND): as given, or the shell the container idles in when none was; never empty.
    pub fn command(&self) -> Vec<&str> {
        if self.cmd.is_empty() {
            vec!["/bin/sh"]
        } else {
            self.cmd.iter().map(String::as_str).collect()
        }
    }

    /// Every network it is on, running or not: its live endpoints, or while it does not
    /// run the configured ones (`idle_endpoints`), in join order.
    pub fn networks(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().chain(&self.idle_endpoints)
    }

    pub fn endpoint(&self, network_id: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.network_id == network_id)
    }
    /// Records a new endpoint (last in join order); one with an interface uses up the
    /// next `ethN` index for good.
    pub fn add_endpoint(&mut self, e: Endpoint) {
        if e.ifname.is_some() {
            self.next_ifindex += 1;
        }
        self.endpoints.push(e);
    }
}

impl Endpoint {
    /// An endpoint `id` on `net` as configured, nothing allocated yet: the address asked
    /// for (`fixed`), whether `run` made it (`at_run`); anonymous on the default bridge.
    fn configured(id: String, net: &Network, fixed: Option<Ipv4Addr>, at_run: bool) -> Endpoint {
        Endpoint {
            id,
            network_id: net.id.clone(),
            ip: None,
            gateway: None,
            mac: None,
            ifname: None,
            host_ifname: None,
            aliases: Vec::new(),
            fixed_ip: fixed,
            at_run,
            links: Vec::new(),
            anonymous: net.default_bridge,
        }
    }

    /// What stays of an endpoint while its container does not run: its configuration
    /// (network, asked address, aliases, links); no ID, address, MAC or interfaces.
    fn idle(self) -> Endpoint {
        Endpoint {
            id: String::new(),
            ip: None,
            gateway: None,
            mac: None,
            ifname: None,
            host_ifname: None,
            ..self
        }
    }
}

/// The port allocator's refusal in the bridge driver's words, for endpoint `endpoint` of
/// container `name`.
fn port_refusal(err: Refused, name: &str, endpoint: &str) -> DockerError {
    match err {
        Refused::Taken(ip, port) => DockerError::PortAllocated {
            container: name.to_string(),
            endpoint: endpoint.to_string(),
            ip: ip.to_string(),
            port,
        },
        Refused::Exhausted => DockerError::PortsExhausted {
            container: name.to_string(),
            endpoint: endpoint.to_string(),
        },
    }
}

/// `docker network create` options.
#[derive(Debug, Clone, Default)]
pub struct NetworkSpec {
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    /// `--ip-range CIDR`: where containers' addresses come from (inside the subnet).
    pub ip_range: Option<String>,
    /// `--aux-address NAME=IP`: addresses IPAM never hands out.
    pub aux: Vec<(String, String)>,
    /// `--label KEY=VALUE`.
    pub labels: Vec<(String, String)>,
    /// `-o/--opt KEY=VALUE`: driver options.
    pub options: Vec<(String, String)>,
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
    /// Where IPAM's next search of the default pools starts (round-robin).
    pool_cursor: PoolCursor,
    /// The port allocator's last port handed out per host address, protocol and range
    /// (the ephemeral one, or a `-p 9090-9092:80` host range): the next search of that
    /// range starts after it (libnetwork `portallocator`), removals notwithstanding.
    last_port: std::collections::HashMap<(std::net::IpAddr, Proto, u16, u16), u16>,
}

impl Docker {
    /// A fresh engine with the three predefined networks.
    pub fn new(seed: u64, created: &str) -> Docker {
        let mut d = Docker {
            networks: Vec::new(),
            containers: Vec::new(),
            ids: Ids::with_seed(seed),
            pool_cursor: PoolCursor::default(),
            last_port: std::collections::HashMap::new(),
        };
        let subnet = ipam::default_pools().next();
        let pool = subnet.and_then(|s| Pool::new(s, None).ok());
        let id = d.ids.id();
        let bridge = Network {
            bridge: driver::BRIDGE.device_name(&id, true, &[]),
            id,
            name: "bridge".into(),
            driver: driver::BRIDGE,
            created: created.into(),
            pool,
            bridge_mac: driver::BRIDGE.device_mac(&mut d.ids),
            internal: false,
            default_bridge: true,
            user_config: None,
            labels: Vec::new(),
            options: Vec::new(),
        };
        d.networks.push(bridge);
        for (name, driver) in [("host", driver::HOST), ("none", driver::NULL)] {
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
                user_config: None,
                labels: Vec::new(),
                options: Vec::new(),
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

    /// `docker network create`: a bridge network, its subnet given or the next default
    /// pool (round-robin, see [`ipam::next_pool`]).
    ///
    /// Names: Docker 20.10 takes any name (spaces, `/`, `:`, non-ASCII) except the
    /// predefined ones (`bridge`, `host`, `none`, `default`: [`DockerError::
    /// PredefinedNetworkCreate`]) and one a network has ([`DockerError::NetworkExists`]);
    /// the empty name is refused in netsh's words ([`DockerError::EmptyNetworkName`]). Errors also for an unknown or
    /// single-instance driver, a subnet that does not parse, overlaps or cannot hold a
    /// container, a gateway outside it or without one, and exhausted default pools.
    pub fn create_network(
        &mut self,
        name: &str,
        spec: &NetworkSpec,
        created: &str,
    ) -> Result<Network, DockerError> {
        if matches!(name, "bridge" | "host" | "none" | "default") {
            return Err(DockerError::PredefinedNetworkCreate(name.to_string()));
        }
        if name.is_empty() {
            return Err(DockerError::EmptyNetworkName);
        }
        if self.networks.iter().any(|n| n.name == name) {
            return Err(DockerError::NetworkExists(name.to_string()));
        }
        let driver = driver::by_name(spec.driver.as_deref().unwrap_or("bridge"))?;
        driver.check_create()?;
        let taken: Vec<Ipv4Net> = self.networks.iter().filter_map(Network::subnet).collect();
        let mut cursor = self.pool_cursor;
        // The docker CLI's `getIpamConfig` first: every range and gateway needs a subnet,
        // then each range, gateway and auxiliary address must fall inside it.
        if spec.subnet.is_none() && (spec.gateway.is_some() || spec.ip_range.is_some()) {
            return Err(DockerError::GatewayWithoutSubnet);
        }
        let gateway = spec.gateway.as_deref().map(parse_ip).transpose()?;
        let mut range = None;
        let subnet = match &spec.subnet {
            Some(s) => {
                // Go's net.ParseCIDR takes host bits and gives the network: Docker keeps
                // the text and uses the network it names.
                let s: Ipv4Net = s
                    .trim()
                    .parse::<Ipv4Net>()
                    .map_err(|_| DockerError::InvalidSubnet(s.clone()))?
                    .trunc();
                if let Some(r) = &spec.ip_range {
                    let parsed: Ipv4Net = r
                        .trim()
                        .parse()
                        .map_err(|_| DockerError::InvalidRange(r.clone()))?;
                    // The CLI only asks whether the range's address is in the subnet.
                    if !s.contains(&parsed.addr()) {
                        return Err(DockerError::RangeOutsideSubnet(r.clone()));
                    }
                    range = Some(parsed.trunc());
                }
                // The docker CLI matches each gateway to a subnet before the daemon sees
                // the request.
                if let Some(g) = gateway.filter(|g| !s.contains(g)) {
                    return Err(DockerError::GatewayOutsideSubnet(g));
                }
                for (_, a) in &spec.aux {
                    if !a.trim().parse::<Ipv4Addr>().is_ok_and(|ip| s.contains(&ip)) {
                        return Err(DockerError::AuxOutsideSubnet(a.clone()));
                    }
                }
                ipam::check_usable(&s)?;
                if taken.iter().any(|t| ipam::overlaps(t, &s)) {
                    return Err(DockerError::PoolOverlap);
                }
                s
            }
            None => {
                if let Some((_, a)) = spec.aux.first() {
                    return Err(DockerError::AuxOutsideSubnet(a.clone()));
                }
                let (subnet, next) = ipam::next_pool(&taken, cursor)?;
                cursor = next;
                subnet
            }
        };
        let options = last_wins(&spec.options);
        driver.check_options(&options)?;
        let mut pool = Pool::with_range(subnet, gateway, range)?;
        let mut aux = last_wins(&spec.aux);
        aux.sort();
        for (name, a) in &aux {
            let ip = parse_ip(a)?;
            pool.reserve_aux(ip).map_err(|_| DockerError::AuxInUse {
                name: name.clone(),
                ip: a.clone(),
            })?;
        }
        let id = self.ids.id();
        let bridge = driver.device_name(&id, false, &options);
        if let Some(br) = &bridge {
            if let Some(other) = self.networks.iter().find(|n| n.bridge.as_ref() == Some(br)) {
                return Err(DockerError::BridgeNameConflict {
                    id,
                    bridge: br.clone(),
                    other: other.id.clone(),
                });
            }
        }
        let network = Network {
            bridge_mac: driver.device_mac(&mut self.ids),
            bridge,
            id,
            name: name.to_string(),
            driver,
            created: created.to_string(),
            pool: driver.uses_ipam().then_some(pool),
            internal: spec.internal,
            default_bridge: false,
            user_config: spec.subnet.as_ref().map(|s| IpamConfig {
                subnet: s.trim().to_string(),
                gateway,
                ip_range: spec.ip_range.as_ref().map(|r| r.trim().to_string()),
                aux,
            }),
            labels: last_wins(&spec.labels),
            options,
        };
        self.networks.push(network.clone());
        self.pool_cursor = cursor;
        Ok(network)
    }

    /// Where IPAM's next search of the default pools starts; the lab saves it before a
    /// `network create` it may have to take back, and restores it with
    /// [`Docker::restore_pool_cursor`], so a failed create changes nothing.
    pub fn pool_cursor(&self) -> PoolCursor {
        self.pool_cursor
    }

    /// See [`Docker::pool_cursor`].
    pub fn restore_pool_cursor(&mut self, cursor: PoolCursor) {
        self.pool_cursor = cursor;
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
                id: n.id.clone(),
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

    /// `run` with links and published ports: the container (recorded) and Docker's
    /// warnings (published ports on `host`).
    ///
    /// Refusals in Docker's order: a bad `-p` or `--link` target; the CLI's check of
    /// aliases off user-defined networks (judged by the name given); a malformed `--ip`;
    /// links with `host` or `container:` and published ports with `container:`
    /// (runconfig's `validateNetMode`); a host port another container publishes; then the
    /// name, the network or target container, and the endpoint's own refusals (see
    /// [`Docker::connect`]). A `container:` container ignores `--ip`, as Docker does.
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
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        // The docker CLI refuses aliases off user-defined networks before anything else,
        // judging by the name it was given (`NetworkMode.IsUserDefined`): an unknown
        // network is left to the daemon's "not found".
        let user_defined = !network.starts_with("container:")
            && !matches!(network, "bridge" | "host" | "none" | "default");
        if !attach.aliases.is_empty() && !user_defined {
            return Err(DockerError::RunAliasOnDefaultNetwork);
        }
        // runconfig's validateNetMode runs when the container is created, before any link
        // is looked up (that happens when it starts): links, then published ports.
        if !extras.links.is_empty() {
            if network.starts_with("container:") {
                return Err(DockerError::LinksWithMode("container type network"));
            }
            if network == "host" {
                return Err(DockerError::LinksWithMode("host type networking"));
            }
        }
        // Then (runconfig's order) --dns and --add-host, which belong to the namespace's
        // owner.
        if network.starts_with("container:") {
            if !extras.dns.servers.is_empty() {
                return Err(DockerError::DnsWithContainerMode);
            }
            if !extras.extra_hosts.is_empty() {
                return Err(DockerError::HostsWithContainerMode);
            }
        }
        if network.starts_with("container:") && !ports.is_empty() {
            return Err(DockerError::PublishWithContainerMode);
        }
        // On a user-defined network `--link` is a DNS alias of the new endpoint (dns.rs).
        let endpoint_links = self.endpoint_links(network, &extras.links)?;
        let legacy = if endpoint_links.is_some() {
            &[][..]
        } else {
            &extras.links[..]
        };
        // The daemon checks where a link's target is only when it joins the default bridge.
        let joins_bridge = self.network(network).is_ok_and(|n| n.default_bridge);
        let links = legacy
            .iter()
            .map(|l| {
                let (target, alias) = dns::parse_link(l)?;
                let t = self
                    .container(&target)
                    .map_err(|_| DockerError::NoLinkTarget(target.to_string()))?;
                // The daemon's registerLinks, when the container is created: a target in
                // the host's namespace (itself, or through `container:` modes) conflicts.
                if self.namespace_owner(t).mode == NetMode::Host {
                    return Err(DockerError::LinksWithMode("host type networking"));
                }
                if t.state != State::Running {
                    return Err(DockerError::LinkToStopped {
                        target: t.name.clone(),
                        path: format!("{name}/{alias}"),
                    });
                }
                if joins_bridge && !self.on_default_bridge(t) {
                    return Err(DockerError::LinkOffDefaultBridge(t.name.clone()));
                }
                Ok((t.id.clone(), alias, t.name.clone()))
            })
            .collect::<Result<Vec<_>, DockerError>>()?;
        if let Some(ip) = &attach.ip {
            parse_ip(ip)?;
        }
        if network == "host" && !ports.is_empty() {
            // Docker keeps them in HostConfig.PortBindings, and publishes nothing.
            warnings
                .push("WARNING: Published ports are discarded when using host network mode".into());
        }
        let mut c = self.run_plain(name, network, attach, created)?;
        // Ports are allocated when the endpoint joins (libnetwork's bridge driver), in the
        // order Docker sorts them, unless its network is internal; a refusal takes the
        // container back out.
        if let Some(e) = c.endpoints.first().filter(|_| self.external(&c)) {
            if let Err(err) = self.allocate_ports(&mut ports) {
                let err = port_refusal(err, &c.name, &e.id);
                let _ = self.remove_container(&c.id);
                return Err(err);
            }
        }
        c.links = links;
        c.ports = ports;
        c.image = extras.image.clone();
        c.cmd = extras.cmd.clone();
        c.started_at = (!extras.create_only).then(|| created.to_string());
        c.hostname = extras.hostname.clone();
        c.env = container_env(&extras.env);
        c.extra_hosts = extras
            .extra_hosts
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(n, ip)| (n.to_string(), ip.to_string()))
            .collect();
        c.dns = extras.dns.clone();
        if let (Some(links), Some(e)) = (endpoint_links, c.endpoints.first_mut()) {
            e.links = links;
        }
        c.auto_remove = extras.auto_remove;
        if let Some(stored) = self.containers.iter_mut().find(|x| x.id == c.id) {
            *stored = c.clone();
        }
        if extras.create_only {
            // `docker create` allocates nothing: the networks are configured, and
            // allocated when it starts.
            self.release_networks(&c.id, State::Created, created)?;
            let ci = self.container_index(&c.id)?;
            self.containers[ci].finished_at = None;
            c = self.containers[ci].clone();
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
                let n = if p.host_port != 0 && !p.host_range() {
                    if taken(p.host_port) {
                        return Err(Refused::Taken(a, p.host_port));
                    }
                    p.host_port
                } else {
                    let (lo, hi) = if p.host_range() {
                        (p.host_port, p.host_port_end)
                    } else {
                        (*EPHEMERAL_PORTS.start(), *EPHEMERAL_PORTS.end())
                    };
                    let key = (a, p.proto, lo, hi);
                    let from = last
                        .get(&key)
                        .map_or(lo, |l| if *l >= hi { lo } else { l + 1 });
                    let n = (from..=hi)
                        .chain(lo..from)
                        .find(|n| !taken(*n))
                        .ok_or(Refused::Exhausted)?;
                    last.insert(key, n);
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
            next_ifindex: 0,
            links: Vec::new(),
            ports: Vec::new(),
            image: String::new(),
            cmd: Vec::new(),
            state: State::Running,
            started_at: None,
            finished_at: None,
            idle_endpoints: Vec::new(),
            auto_remove: false,
            hostname: None,
            env: Vec::new(),
            extra_hosts: Vec::new(),
            dns: DnsConfig::default(),
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
        if net.driver.shares_host_namespace() {
            container.mode = NetMode::Host;
        }
        let endpoint = self.attach(&container, &net, attach, true)?;
        container.add_endpoint(endpoint);
        self.containers.push(container.clone());
        Ok(container)
    }

    /// Docker's `validateNetworkingConfig`: a fixed address or aliases only on user-defined
    /// networks, and a fixed address only where the subnet was given.
    fn check_attach(net: &Network, attach: &AttachSpec) -> Result<(), DockerError> {
        let fixed = attach.ip.as_deref().map(parse_ip).transpose()?;
        if !net.user_defined() {
            if fixed.is_some() {
                return Err(DockerError::FixedIpOnDefaultNetwork);
            }
            if !attach.aliases.is_empty() {
                return Err(DockerError::AliasOnDefaultNetwork);
            }
        } else if fixed.is_some() && net.user_config.is_none() {
            return Err(DockerError::FixedIpWithoutSubnet);
        }
        Ok(())
    }

    /// Allocates an endpoint of `container` on `net` (not yet recorded anywhere; the
    /// caller adds it with [`Container::add_endpoint`]).
    fn attach(
        &mut self,
        container: &Container,
        net: &Network,
        attach: &AttachSpec,
        at_run: bool,
    ) -> Result<Endpoint, DockerError> {
        Self::check_attach(net, attach)?;
        let fixed = attach.ip.as_deref().map(parse_ip).transpose()?;
        let mut endpoint = Endpoint::configured(self.ids.id(), net, fixed, at_run);
        if !net.driver.endpoint_interface() {
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
        endpoint.gateway = net.driver.provides_gateway(net).then_some(pool.gateway);
        endpoint.mac = net.driver.endpoint_mac(ip);
        endpoint.ifname = Some(format!("eth{}", container.next_ifindex));
        endpoint.host_ifname = self.fresh_peer_name(net.driver, &|_| false);
        if net.user_defined_bridge() {
            // Docker lists the aliases asked for, then the short ID.
            endpoint.aliases.extend(attach.aliases.iter().cloned());
            endpoint.aliases.push(short(&container.id).to_string());
        }
        Ok(endpoint)
    }

    /// `docker network connect NETWORK CONTAINER`: the new endpoint (recorded), and the
    /// container as it is now.
    ///
    /// Refusals in the daemon's order (20.10's `connectToNetwork`,
    /// `updateNetworkConfig`, `updateNetworkSettings`, then libnetwork's
    /// `CreateEndpoint`): a `container:` container cannot join anything; a fixed address or
    /// aliases off user-defined networks, a fixed address without a configured subnet; the
    /// host network for any container not in host mode; for each network the container is
    /// on already — the same one skips to "endpoint … already exists", a host one refuses
    /// sharing, `none` on either side refuses private mode; then the address (outside the
    /// subnet, or in use).
    pub fn connect(
        &mut self,
        container: &str,
        network: &str,
        attach: &AttachSpec,
    ) -> Result<(Container, Endpoint), DockerError> {
        let ci = self.container_index(container)?;
        let c = self.containers[ci].clone();
        if c.network_mode.starts_with("container:") {
            return Err(DockerError::SharedNamespace);
        }
        let net = self.network(network)?.clone();
        Self::check_attach(&net, attach)?;
        if c.network_mode != "host" && net.driver.shares_host_namespace() {
            return Err(DockerError::HostNetwork);
        }
        for e in c.networks() {
            let Some(sn) = self.network_by_id(&e.network_id) else {
                continue;
            };
            if sn.id == net.id {
                break;
            }
            if sn.driver.shares_host_namespace() || net.driver.shares_host_namespace() {
                return Err(DockerError::SharedNamespace);
            }
            if sn.driver.exclusive() || net.driver.exclusive() {
                return Err(DockerError::NoneNetwork);
            }
        }
        if c.networks().any(|e| e.network_id == net.id) {
            return Err(DockerError::AlreadyConnected {
                container: c.name.clone(),
                network: net.name.clone(),
            });
        }
        if c.state != State::Running {
            // Docker records the network in the container's configuration (the asked
            // address checked for its form only); it is allocated when the container starts.
            let fixed = attach.ip.as_deref().map(parse_ip).transpose()?;
            let mut endpoint = Endpoint::configured(String::new(), &net, fixed, false);
            endpoint.aliases.extend(attach.aliases.iter().cloned());
            if net.user_defined_bridge() {
                endpoint.aliases.push(short(&c.id).to_string());
            }
            self.containers[ci].idle_endpoints.push(endpoint.clone());
            return Ok((self.containers[ci].clone(), endpoint));
        }
        let endpoint = self.attach(&c, &net, attach, false)?;
        let was = self.external(&c);
        self.containers[ci].add_endpoint(endpoint.clone());
        if let Err(e) = self.follow_external(ci, was) {
            self.undo_connect(&c.id, &net.id);
            return Err(e);
        }
        Ok((self.containers[ci].clone(), endpoint))
    }

    /// Takes back a `connect` whose kernel side failed: the endpoint goes, its address is
    /// released, and the interface index it took is given back, so the model is as before.
    pub fn undo_connect(&mut self, container_id: &str, network_id: &str) {
        let Some(ci) = self.containers.iter().position(|c| c.id == container_id) else {
            return;
        };
        let was = self.external(&self.containers[ci]);
        let c = &mut self.containers[ci];
        let Some(pos) = c.endpoints.iter().position(|e| e.network_id == network_id) else {
            return;
        };
        let e = c.endpoints.remove(pos);
        if e.ifname.is_some() {
            c.next_ifindex = c.next_ifindex.saturating_sub(1);
        }
        self.release(&e);
        // Ports the connect allocated go back (releasing cannot fail).
        let _ = self.follow_external(ci, was);
    }

    /// `docker network disconnect NETWORK CONTAINER`: the endpoint, its address released.
    /// Errors as [`Docker::check_disconnect`].
    pub fn disconnect(&mut self, container: &str, network: &str) -> Result<Endpoint, DockerError> {
        let network_id = self
            .check_disconnect(container, network)?
            .network_id
            .clone();
        let ci = self.container_index(container)?;
        let was = self.external(&self.containers[ci]);
        let c = &mut self.containers[ci];
        if let Some(pos) = c
            .idle_endpoints
            .iter()
            .position(|e| e.network_id == network_id)
        {
            // Not running: only its configuration changes.
            return Ok(c.idle_endpoints.remove(pos));
        }
        let pos = c
            .endpoints
            .iter()
            .position(|e| e.network_id == network_id)
            .unwrap_or_default();
        let endpoint = c.endpoints.remove(pos);
        self.release(&endpoint);
        // Losing external connectivity only releases ports: it cannot fail.
        self.follow_external(ci, was)?;
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

    /// The container `key` stops (`to` exited, with its code), or, made by `create`, never
    /// starts (`to` created): its endpoints give their addresses back and keep only their
    /// configuration, in `idle_endpoints`, and its published ports their host ports; its
    /// next interface is `eth0` again (a new sandbox counts afresh). Docker: the daemon's
    /// `releaseNetwork` and `cleanOperationalData` (the network's ID, asked address and
    /// aliases stay). A container that does not run only changes state. Returns the
    /// container as it was, for the lab to take down what it had built.
    pub fn release_networks(
        &mut self,
        key: &str,
        to: State,
        at: &str,
    ) -> Result<Container, DockerError> {
        let ci = self.container_index(key)?;
        let before = self.containers[ci].clone();
        if before.state == State::Running {
            let endpoints = std::mem::take(&mut self.containers[ci].endpoints);
            for e in &endpoints {
                self.release(e);
            }
            let c = &mut self.containers[ci];
            c.idle_endpoints = endpoints.into_iter().map(Endpoint::idle).collect();
            c.next_ifindex = 0;
            for p in &mut c.ports {
                p.bound.clear();
            }
            c.finished_at = Some(at.to_string());
        }
        self.containers[ci].state = to;
        Ok(before)
    }

    /// `docker start` of a created or exited container: a new sandbox, its networks
    /// allocated again in the order it joined them, with the addresses and host ports it
    /// asked for (Docker: the daemon's `allocateNetwork`, which connects each network in
    /// turn, then libnetwork's port allocation). All or nothing: a refusal — an asked
    /// address taken meanwhile, a network removed, a host port taken, the owner of a
    /// `container:` namespace not running — leaves the model as it was. A running
    /// container is returned as it is. Returns the container and whether it was started.
    pub fn start(&mut self, key: &str, at: &str) -> Result<(Container, bool), DockerError> {
        let ci = self.container_index(key)?;
        if self.containers[ci].state == State::Running {
            return Ok((self.containers[ci].clone(), false));
        }
        let saved = self.clone();
        match self.start_at(ci, at) {
            Ok(c) => Ok((c, true)),
            Err(e) => {
                *self = saved;
                Err(e)
            }
        }
    }

    fn start_at(&mut self, ci: usize, at: &str) -> Result<Container, DockerError> {
        if let NetMode::Container(owner) = &self.containers[ci].mode {
            let running = self
                .containers
                .iter()
                .any(|o| &o.id == owner && o.state == State::Running);
            if !running {
                return Err(DockerError::OwnerNotRunning(owner.clone()));
            }
        }
        let sandbox_id = self.ids.id();
        let idle = std::mem::take(&mut self.containers[ci].idle_endpoints);
        self.containers[ci].sandbox_id = sandbox_id;
        self.containers[ci].next_ifindex = 0;
        let short_id = short(&self.containers[ci].id).to_string();
        for config in idle {
            let net = self
                .network_by_id(&config.network_id)
                .cloned()
                .ok_or_else(|| DockerError::NoSuchNetwork(config.network_id.clone()))?;
            let attach = AttachSpec {
                ip: config.fixed_ip.map(|ip| ip.to_string()),
                aliases: config
                    .aliases
                    .iter()
                    .filter(|a| **a != short_id)
                    .cloned()
                    .collect(),
            };
            let c = self.containers[ci].clone();
            let mut e = self.attach(&c, &net, &attach, config.at_run)?;
            e.links = config.links;
            e.anonymous = config.anonymous;
            self.containers[ci].add_endpoint(e);
        }
        let mut ports = std::mem::take(&mut self.containers[ci].ports);
        // Not on internal networks only: see `Docker::external`.
        let first = self.containers[ci]
            .endpoints
            .first()
            .filter(|_| self.external(&self.containers[ci]))
            .cloned();
        if let Some(e) = first {
            let name = self.containers[ci].name.clone();
            self.allocate_ports(&mut ports)
                .map_err(|err| port_refusal(err, &name, &e.id))?;
        }
        let c = &mut self.containers[ci];
        c.ports = ports;
        c.state = State::Running;
        c.started_at = Some(at.to_string());
        Ok(c.clone())
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
    /// it would remove, or Docker's refusal (20.10's `DisconnectFromNetwork`): unknown
    /// container or network; a host-mode container and the host network
    /// ([`DockerError::HostNetwork`]); a network the container is not on
    /// ([`DockerError::NotConnected`], with the container's full ID) — `container:`
    /// containers are on none. A container on `none` may leave it.
    pub fn check_disconnect(
        &self,
        container: &str,
        network: &str,
    ) -> Result<&Endpoint, DockerError> {
        let c = self.container(container)?;
        let net = self.network(network)?;
        if c.network_mode == "host" && net.driver.shares_host_namespace() {
            return Err(DockerError::HostNetwork);
        }
        c.networks()
            .find(|e| e.network_id == net.id)
            .ok_or_else(|| DockerError::NotConnected {
                container: c.id.clone(),
                network: net.name.clone(),
            })
    }

    /// Gives the endpoint of `container_id` on `network_id` a new host-side peer name,
    /// one that no endpoint has and `taken` (what the host already has) does not refuse.
    /// The lab calls this when the name the model drew clashes with a host link. `None`
    /// for an unknown endpoint or one without a host-side peer.
    pub fn renew_host_ifname(
        &mut self,
        container_id: &str,
        network_id: &str,
        taken: &dyn Fn(&str) -> bool,
    ) -> Option<String> {
        let driver = self.network_by_id(network_id)?.driver;
        let name = self.fresh_peer_name(driver, taken)?;
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

    /// A host-side peer name from `driver` (the bridge's `veth<7 hex>`) that no endpoint
    /// uses and `taken` does not refuse (Docker draws them at random too; checking makes a
    /// clash impossible rather than unlikely). `None` if the driver's endpoints have no
    /// host-side peer.
    fn fresh_peer_name(&mut self, driver: Driver, taken: &dyn Fn(&str) -> bool) -> Option<String> {
        loop {
            let name = driver.host_peer_name(&mut self.ids)?;
            let used = self
                .containers
                .iter()
                .flat_map(|c| &c.endpoints)
                .any(|e| e.host_ifname.as_deref() == Some(name.as_str()));
            if !used && !taken(&name) {
                return Some(name);
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

    /// A container's address on the default bridge (what a `--link` to it points at).
    pub fn default_bridge_ip(&self, c: &Container) -> Option<Ipv4Addr> {
        self.namespace_owner(c).endpoints.iter().find_map(|e| {
            self.network_by_id(&e.network_id)
                .filter(|n| n.default_bridge)
                .and(e.ip.map(|(ip, _)| ip))
        })
    }

    /// `/etc/hosts` inside the container (a `container:` container: its owner's): localhost
    /// lines, `--add-host` entries (`IP\tNAME`, in the order given), `--link` entries, then one
    /// `<address>\t<short id>` line per network it is on, in the order it joined them
    /// (Docker appends a line on connect and removes that network's line on disconnect;
    /// Docker 20.10 then also drops the container's other lines — a known bug netsh does
    /// not copy).
    pub fn hosts_file(&self, c: &Container) -> String {
        let mut out = String::from(HOSTS_HEADER);
        // Docker 20.10's `buildSandboxOptions` passes the extra hosts to the sandbox before
        // the link lines, and libnetwork's `etchosts.Build` writes them after its default
        // lines; the container's own lines are appended when it joins a network.
        // `host-gateway` is the daemon's host gateway address: the default bridge's gateway.
        let host_gateway = || {
            self.networks
                .iter()
                .find(|n| n.default_bridge)
                .and_then(Network::gateway)
                .map(|g| g.to_string())
                .unwrap_or_default()
        };
        for (name, ip) in &self.namespace_owner(c).extra_hosts {
            let ip = if ip == "host-gateway" {
                host_gateway()
            } else {
                ip.clone()
            };
            out.push_str(&format!("{ip}\t{name}\n"));
        }
        // Docker writes link lines into the sandbox of a container on the default bridge
        // only (`buildSandboxOptions`); a `none` container gets none.
        // A `container:` container has its owner's file (Docker points its HostsPath there).
        let linked = if self.on_default_bridge(self.namespace_owner(c)) {
            &self.namespace_owner(c).links[..]
        } else {
            &[][..]
        };
        // Docker's `buildSandboxOptions`: the alias, the target's hostname, and its name
        // when that is not the alias, at its address on the default bridge.
        for (target, alias, name) in linked {
            let Some(t) = self.containers.iter().find(|x| &x.id == target) else {
                continue;
            };
            let Some(ip) = self.default_bridge_ip(t) else {
                continue;
            };
            if alias == name {
                out.push_str(&format!("{ip}\t{name} {}\n", t.hostname()));
            } else {
                out.push_str(&format!("{ip}\t{alias} {} {name}\n", t.hostname()));
            }
        }
        let owner = self.namespace_owner(c);
        for (ip, _) in owner.endpoints.iter().filter_map(|e| e.ip) {
            out.push_str(&format!("{ip}\t{}\n", owner.hostname()));
        }
        out
    }

    /// The endpoint whose gateway is the default route of `c`'s namespace, if any:
    /// libnetwork keeps a sandbox's endpoints sorted (`Endpoint.Less`: non-internal
    /// networks before internal ones, then by network name, bytewise) and routes through
    /// the first one with a gateway. So the choice moves on every connect and disconnect,
    /// and a container whose only network is internal still has a default route.
    pub fn gateway_endpoint<'a>(&'a self, c: &'a Container) -> Option<&'a Endpoint> {
        self.namespace_owner(c)
            .endpoints
            .iter()
            .filter(|e| e.gateway.is_some())
            .filter_map(|e| Some((self.network_by_id(&e.network_id)?, e)))
            .min_by(|(a, _), (b, _)| (a.internal, &a.name).cmp(&(b.internal, &b.name)))
            .map(|(_, e)| e)
    }

    /// Whether the container's namespace is on a user-defined network (and so has the
    /// embedded DNS server at 127.0.0.11).
    pub fn has_embedded_dns(&self, c: &Container) -> bool {
        self.namespace_owner(c).endpoints.iter().any(|e| {
            self.network_by_id(&e.network_id)
                .is_some_and(Network::user_defined_bridge)
        })
    }

    /// `/etc/resolv.conf` inside the container (libnetwork 20.10's `setupDNS` and
    /// `rebuildDNS`). Without `--dns*` flags: the embedded DNS server on user-defined
    /// networks (`nameserver 127.0.0.11`, `options ndots:0`), otherwise a copy of the
    /// host's. With them, each list given replaces the host's (`--dns` its nameservers,
    /// `--dns-search` its search line, `--dns-option` its options), written as
    /// `resolvconf.Build` writes: `search …`, `nameserver …` lines, `options …`; on
    /// user-defined networks the nameservers are then the embedded server alone (it
    /// forwards to the others) and `ndots:0` is appended unless an option sets `ndots`.
    pub fn resolv_conf(&self, c: &Container, host_resolv: &str) -> String {
        let dns = &self.namespace_owner(c).dns;
        let embedded = self.has_embedded_dns(c);
        if dns.is_empty() {
            return if embedded {
                "nameserver 127.0.0.11\noptions ndots:0\n".to_string()
            } else {
                host_resolv.to_string()
            };
        }
        let from_host = |key: &str| -> Vec<String> {
            host_resolv
                .lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    (w.next() == Some(key)).then(|| w.map(str::to_string).collect::<Vec<_>>())
                })
                .flatten()
                .collect()
        };
        let pick = |own: &[String], key: &str| {
            if own.is_empty() {
                from_host(key)
            } else {
                own.to_vec()
            }
        };
        let search = pick(&dns.search, "search");
        let mut servers = pick(&dns.servers, "nameserver");
        let mut options = pick(&dns.options, "options");
        if embedded {
            servers = vec![crate::services::dns::DNS_ADDR.to_string()];
            if !options.iter().any(|o| o.contains("ndots")) {
                options.push("ndots:0".into());
            }
        }
        let mut out = String::new();
        let search = search.join(" ");
        if !search.is_empty() && search.trim() != "." {
            out.push_str(&format!("search {search}\n"));
        }
        for s in servers {
            out.push_str(&format!("nameserver {s}\n"));
        }
        let options = options.join(" ");
        if !options.trim().is_empty() {
            out.push_str(&format!("options {options}\n"));
        }
        out
    }

    /// The servers the embedded DNS server of `c` forwards names it does not know to
    /// (libnetwork's `extDNS`): its `--dns` servers, port 53, but the embedded server's
    /// own address (asking itself would go round for ever). Empty when none were given:
    /// the host's resolvers are outside the sealed lab, so such names get NXDOMAIN.
    pub fn external_dns(&self, c: &Container) -> Vec<std::net::SocketAddr> {
        self.namespace_owner(c)
            .dns
            .servers
            .iter()
            .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
            .filter(|ip| *ip != std::net::IpAddr::V4(crate::services::dns::DNS_ADDR))
            .map(|ip| std::net::SocketAddr::new(ip, 53))
            .collect()
    }

    /// The environment of a program started in `c` (`docker exec`, or its command):
    /// Docker's `CreateDaemonEnvironment` — `PATH`, `HOSTNAME=<hostname>` — with
    /// `Config.Env` merged in, then `exec -e` values (`extra`), then `HOME=/root` unless
    /// set (runc adds it), each merged with [`replace_or_append_env`].
    pub fn process_env(&self, c: &Container, hostname: &str, extra: &[String]) -> Vec<String> {
        let base = vec![IMAGE_PATH.to_string(), format!("HOSTNAME={hostname}")];
        let mut env = replace_or_append_env(&replace_or_append_env(&base, &c.env), extra);
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push("HOME=/root".into());
        }
        env
    }

    /// The bindings Docker made for `c` (`NetworkSettings.Ports`): those it asked for
    /// (`HostConfig.PortBindings`) when it has external connectivity (see
    /// [`Docker::external`]); none on `host` (Docker warns and discards them), `none`
    /// (Docker takes them silently and maps nothing), `container:`, or internal networks
    /// only.
    pub fn published_ports<'a>(&self, c: &'a Container) -> &'a [PortBinding] {
        if self.external(c) {
            &c.ports
        } else {
            &[]
        }
    }

    /// Whether `c`'s ports are programmed: libnetwork's `sbJoin` calls the driver's
    /// `ProgramExternalConnectivity` on the sandbox's gateway endpoint unless that
    /// endpoint's network is internal (and revokes it when the gateway endpoint moves), so
    /// a container whose networks are all internal publishes nothing until it joins an
    /// ordinary one.
    pub fn external(&self, c: &Container) -> bool {
        c.endpoints.iter().any(|e| e.ip.is_some())
            && self
                .gateway_endpoint(c)
                .and_then(|e| self.network_by_id(&e.network_id))
                .is_some_and(|n| !n.internal)
    }

    /// Allocates the ports of container `ci` when it has just gained external connectivity
    /// (its new gateway endpoint `e` is on an ordinary network), or releases them when it
    /// has just lost it. `was` is [`Docker::external`] before the change. A refusal is
    /// Docker's (`driver failed programming external connectivity on endpoint …`).
    fn follow_external(&mut self, ci: usize, was: bool) -> Result<(), DockerError> {
        let now = self.external(&self.containers[ci]);
        if was == now || self.containers[ci].ports.is_empty() {
            return Ok(());
        }
        let mut ports = self.containers[ci].ports.clone();
        if now {
            let c = &self.containers[ci];
            let endpoint = self
                .gateway_endpoint(c)
                .map(|e| e.id.clone())
                .unwrap_or_default();
            let name = c.name.clone();
            self.allocate_ports(&mut ports)
                .map_err(|r| port_refusal(r, &name, &endpoint))?;
        } else {
            for p in &mut ports {
                p.bound.clear();
            }
        }
        self.containers[ci].ports = ports;
        Ok(())
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

/// `KEY=VALUE` pairs as Docker's CLI turns them into a map: a later key replaces an
/// earlier one, which keeps its place.
fn last_wins(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(x, _)| x == k) {
            Some(e) => e.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

fn parse_ip(text: &str) -> Result<Ipv4Addr, DockerError> {
    text.trim()
        .parse()
        .map_err(|_| DockerError::InvalidIp(text.to_string()))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod env_tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn env_values_replace_in_place_append_and_unset() {
        assert_eq!(
            replace_or_append_env(&v(&["PATH=/bin", "A=1"]), &v(&["B=2", "PATH=/x", "A"])),
            v(&["PATH=/x", "B=2"])
        );
        assert_eq!(container_env(&v(&["NOPE"])), v(&[IMAGE_PATH]));
        let mut d = Docker::new(1, "t");
        let extras = RunExtras {
            env: v(&["FOO=bar", "HOME=/srv"]),
            ..RunExtras::default()
        };
        let (c, _) = d
            .run_with("e1", "bridge", &AttachSpec::default(), &extras, "t")
            .unwrap();
        assert_eq!(c.env, v(&[IMAGE_PATH, "FOO=bar", "HOME=/srv"]));
        assert_eq!(
            d.process_env(&c, "h", &v(&["X=1"])),
            v(&[IMAGE_PATH, "HOSTNAME=h", "FOO=bar", "HOME=/srv", "X=1"])
        );
    }
}
