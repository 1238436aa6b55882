//! Docker's network drivers, as an interface: what a driver decides for its networks and
//! endpoints (whether they have addresses, a kernel device, an interface inside the
//! container, name resolution, inspect's `Options`) and the kernel work that builds and
//! removes them, as plans of [`Op`]s the lab carries out. The generic engine
//! (`model::docker`: containers, endpoints, IPAM bookkeeping, refusals) asks the driver
//! and never matches on its name.
//!
//! Drivers: [`bridge`] (Linux bridges and veth pairs — the one with kernel work), [`host`]
//! (the host's own namespace) and [`null`] (`none`: no interface at all). A new driver
//! (macvlan, ipvlan …) is a new file here implementing [`NetworkDriver`], and one entry in
//! [`DRIVERS`].

pub mod bridge;
pub mod host;
pub mod null;

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Deref;

use crate::kernel::Op;

use super::ids::Ids;
use super::{DockerError, Endpoint, Network};

/// Kernel work of one driver step, carried out by the lab in this order: `create` makes
/// the one object whose removal (`undo`) takes back everything the step made; `configure`
/// follows; then the lab waits for the carrier of each `(namespace, device)` in `settle`
/// (the kernel reports it a moment after a link comes up). If any step after `create`
/// fails, the lab applies `undo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub create: Op,
    pub configure: Vec<Op>,
    pub settle: Vec<(String, String)>,
    pub undo: Op,
}

/// One network driver: Docker's decisions for its networks and endpoints. Every method
/// has the answer of a driver without kernel objects (`null`), so a driver states only
/// what it does.
pub trait NetworkDriver: Send + Sync {
    /// Docker's name for it (`docker network create -d NAME`, inspect's `Driver`).
    fn name(&self) -> &'static str;

    /// Whether `docker network create -d NAME` may make a network of this driver; the
    /// refusal in Docker's words otherwise (host and null: one instance only).
    fn check_create(&self) -> Result<(), DockerError> {
        Ok(())
    }

    /// Whether its networks have an IPAM pool (subnet, gateway) and its endpoints
    /// addresses from it.
    fn uses_ipam(&self) -> bool {
        false
    }

    /// The kernel device a network of this driver is built on, if any: for the bridge
    /// driver `docker0` for the default network, `br-<12 hex of the ID>` otherwise, or the
    /// name its `options` ask for (`com.docker.network.bridge.name`).
    fn device_name(
        &self,
        _network_id: &str,
        _default: bool,
        _options: &[(String, String)],
    ) -> Option<String> {
        None
    }

    /// Checks a new network's driver options (`docker network create -o KEY=VALUE`):
    /// Docker's refusal of a value the driver cannot read. Options it does not know are
    /// kept and shown, as Docker does.
    fn check_options(&self, _options: &[(String, String)]) -> Result<(), DockerError> {
        Ok(())
    }

    /// The MTU of network `n`'s device and of its endpoints' interfaces, when its options
    /// set one other than the kernel's default (1500).
    fn mtu(&self, _n: &Network) -> Option<u32> {
        None
    }

    /// Whether containers on network `n` may reach each other (the bridge driver's
    /// `com.docker.network.bridge.enable_icc`, true unless set false).
    fn inter_container(&self, _n: &Network) -> bool {
        true
    }

    /// Whether traffic leaving network `n` for elsewhere is masqueraded behind the host
    /// (the bridge driver's `com.docker.network.bridge.enable_ip_masquerade`, true unless
    /// set false; internal networks send nothing out either way).
    fn masquerade(&self, _n: &Network) -> bool {
        true
    }

    /// A MAC for the network's device (the bridge driver: `02:42:` and four random
    /// bytes), drawn from `ids`.
    fn device_mac(&self, _ids: &mut Ids) -> Option<String> {
        None
    }

    /// The MAC of an endpoint with address `ip` (the bridge driver: `02:42:` and the
    /// address's four bytes).
    fn endpoint_mac(&self, _ip: Ipv4Addr) -> Option<String> {
        None
    }

    /// A name for an endpoint's host-side peer, drawn from `ids` (the bridge driver:
    /// `veth` and 7 hex digits); the engine draws again until no endpoint and no host
    /// link has it. `None`: the driver's endpoints have no host-side peer.
    fn host_peer_name(&self, _ids: &mut Ids) -> Option<String> {
        None
    }

    /// Whether an endpoint is an interface inside the container (`ethN` with a MAC and an
    /// address, and a host-side peer): only then does it take an `ethN` index.
    fn endpoint_interface(&self) -> bool {
        false
    }

    /// Whether a container on it lives in the host's namespace (Docker's `IsHost`; such
    /// networks are not "private" and a container on them joins no other).
    fn shares_host_namespace(&self) -> bool {
        false
    }

    /// Whether a container on it may be on no other network (Docker's `none`).
    fn exclusive(&self) -> bool {
        false
    }

    /// Whether an endpoint on network `n` offers its gateway as a default route (libnetwork:
    /// the driver's `Join` sets it). The engine then picks one among all the container's
    /// endpoints (see `Docker::gateway_endpoint`). The bridge driver offers it on internal
    /// networks too, as Docker 20.10 does.
    fn provides_gateway(&self, _n: &Network) -> bool {
        false
    }

    /// Whether containers on network `n` get the embedded DNS server (127.0.0.11) and
    /// network-scoped names (their name, aliases and short ID). Docker: user-defined
    /// bridge networks only.
    fn service_discovery(&self, _n: &Network) -> bool {
        false
    }

    /// `Options` of `docker network inspect`, as (key, value) pairs (sorted by the
    /// inspect renderer, as Go marshals a map).
    fn inspect_options(&self, _n: &Network) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The kernel work that builds network `n` (none for drivers without devices).
    fn network_plan(&self, _n: &Network) -> Option<Plan> {
        None
    }

    /// The operation that removes what [`NetworkDriver::network_plan`] built.
    fn network_teardown(&self, _n: &Network) -> Option<Op> {
        None
    }

    /// The kernel work that builds endpoint `e` of network `n` for the container whose
    /// namespace is `ns` (the default route is the engine's, not the driver's: it depends
    /// on all the container's endpoints).
    fn endpoint_plan(&self, _n: &Network, _ns: &str, _e: &Endpoint) -> Option<Plan> {
        None
    }

    /// The operation that removes endpoint `e` from the kernel (and the routes through
    /// it) while its container lives on.
    fn endpoint_teardown(&self, _e: &Endpoint) -> Option<Op> {
        None
    }
}

/// A network's driver: a shared reference to one of [`DRIVERS`]. Compared and printed by
/// name.
#[derive(Clone, Copy)]
pub struct DriverRef(&'static dyn NetworkDriver);

impl Deref for DriverRef {
    type Target = dyn NetworkDriver;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl PartialEq for DriverRef {
    fn eq(&self, other: &Self) -> bool {
        self.0.name() == other.0.name()
    }
}

impl Eq for DriverRef {}

impl fmt::Debug for DriverRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Driver({})", self.0.name())
    }
}

/// The bridge driver.
pub const BRIDGE: DriverRef = DriverRef(&bridge::Bridge);
/// The host driver (the predefined `host` network).
pub const HOST: DriverRef = DriverRef(&host::Host);
/// The null driver (the predefined `none` network).
pub const NULL: DriverRef = DriverRef(&null::Null);

/// Every driver the engine knows, as `docker network create -d` finds them.
pub const DRIVERS: [DriverRef; 3] = [BRIDGE, HOST, NULL];

/// Docker's own drivers that netsh does not model: refused in netsh's words, not as
/// unknown plugins.
const NOT_MODELLED: [&str; 3] = ["macvlan", "ipvlan", "overlay"];

/// The driver called `name`, or the refusal: netsh's for a Docker driver it does not
/// model, Docker's (`plugin "NAME" not found`) for any other name.
pub fn by_name(name: &str) -> Result<DriverRef, DockerError> {
    DRIVERS
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or_else(|| {
            if NOT_MODELLED.contains(&name) {
                DockerError::DriverNotModelled(name.to_string())
            } else {
                DockerError::UnknownDriver(name.to_string())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_are_found_by_name_and_compared_by_name() {
        assert_eq!(by_name("bridge").unwrap(), BRIDGE);
        assert_eq!(by_name("null").unwrap(), NULL);
        assert_ne!(HOST, NULL);
        assert_eq!(
            by_name("weave").unwrap_err().to_string(),
            "plugin \"weave\" not found"
        );
        assert_eq!(
            by_name("macvlan").unwrap_err(),
            DockerError::DriverNotModelled("macvlan".into())
        );
        assert_eq!(format!("{HOST:?}"), "Driver(host)");
    }

    #[test]
    fn only_bridge_networks_can_be_created() {
        assert!(BRIDGE.check_create().is_ok());
        for d in [HOST, NULL] {
            assert_eq!(
                d.check_create().unwrap_err().to_string(),
                format!("only one instance of \"{}\" network is allowed", d.name())
            );
        }
    }
}
