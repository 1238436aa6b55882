//! The bridge driver: a Linux bridge per network (`docker0` for the default one,
//! `br-<short id>` for the others) holding the gateway address, and per endpoint a veth
//! pair whose host end is a port of the bridge and whose container end is `ethN` with its
//! `02:42:…` MAC and address. User-defined bridge networks get the embedded DNS server.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use super::{NetworkDriver, Plan};
use crate::kernel::{Op, VethSetup, HOST};
use crate::model::docker::ids::{bridge_name, mac_for, Ids};
use crate::model::docker::{DockerError, Endpoint, Network};

pub struct Bridge;

/// The bridge driver's options (libnetwork `drivers/bridge/labels.go`, `netlabel`).
pub const BRIDGE_NAME: &str = "com.docker.network.bridge.name";
pub const ENABLE_ICC: &str = "com.docker.network.bridge.enable_icc";
pub const ENABLE_IP_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
pub const HOST_BINDING_IPV4: &str = "com.docker.network.bridge.host_binding_ipv4";
pub const MTU: &str = "com.docker.network.driver.mtu";

/// The value of option `key`, if given.
fn option<'a>(options: &'a [(String, String)], key: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

impl NetworkDriver for Bridge {
    fn name(&self) -> &'static str {
        "bridge"
    }

    fn uses_ipam(&self) -> bool {
        true
    }

    fn device_name(
        &self,
        network_id: &str,
        default: bool,
        options: &[(String, String)],
    ) -> Option<String> {
        if let Some(name) = option(options, BRIDGE_NAME).filter(|n| !n.is_empty()) {
            return Some(name.to_string());
        }
        Some(if default {
            "docker0".to_string()
        } else {
            bridge_name(network_id)
        })
    }

    /// libnetwork's `networkConfiguration.fromLabels`: the MTU an integer (at least 0; netsh
    /// also wants one the kernel takes, 68 to 65535, or 0 for the default), `enable_icc`
    /// and `enable_ip_masquerade` booleans (Go's `strconv.ParseBool`), `host_binding_ipv4`
    /// an address; the bridge's name one the kernel takes.
    fn check_options(&self, options: &[(String, String)]) -> Result<(), DockerError> {
        let bad = |label: &str, value: &str, why: String| DockerError::DriverOption {
            label: label.to_string(),
            value: value.to_string(),
            why,
        };
        for (label, value) in options {
            match label.as_str() {
                MTU => {
                    let n: i64 = value.parse().map_err(|_| {
                        bad(
                            label,
                            value,
                            format!("strconv.Atoi: parsing {value:?}: invalid syntax"),
                        )
                    })?;
                    if n < 0 {
                        return Err(DockerError::InvalidMtu(n));
                    }
                    if n != 0 && !(68..=65535).contains(&n) {
                        return Err(DockerError::MtuOutOfRange(n));
                    }
                }
                ENABLE_ICC | ENABLE_IP_MASQUERADE => {
                    parse_bool(value).ok_or_else(|| {
                        bad(
                            label,
                            value,
                            format!("strconv.ParseBool: parsing {value:?}: invalid syntax"),
                        )
                    })?;
                }
                HOST_BINDING_IPV4 => {
                    value
                        .parse::<std::net::IpAddr>()
                        .map_err(|_| bad(label, value, "nil ip".into()))?;
                }
                BRIDGE_NAME if !value.is_empty() => {
                    crate::model::names::check_ifname(value).map_err(|why| {
                        DockerError::InvalidBridgeName {
                            name: value.clone(),
                            why,
                        }
                    })?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn mtu(&self, n: &Network) -> Option<u32> {
        option(&n.options, MTU)
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|m| *m != 0 && *m != 1500)
    }

    fn inter_container(&self, n: &Network) -> bool {
        option(&n.options, ENABLE_ICC)
            .and_then(parse_bool)
            .unwrap_or(true)
    }

    fn masquerade(&self, n: &Network) -> bool {
        option(&n.options, ENABLE_IP_MASQUERADE)
            .and_then(parse_bool)
            .unwrap_or(true)
    }

    fn endpoint_interface(&self) -> bool {
        true
    }

    fn device_mac(&self, ids: &mut Ids) -> Option<String> {
        Some(ids.bridge_mac())
    }

    fn endpoint_mac(&self, ip: Ipv4Addr) -> Option<String> {
        Some(mac_for(ip))
    }

    fn host_peer_name(&self, ids: &mut Ids) -> Option<String> {
        Some(ids.veth_name())
    }

    fn provides_gateway(&self, _n: &Network) -> bool {
        true
    }

    fn service_discovery(&self, n: &Network) -> bool {
        !n.default_bridge
    }

    fn inspect_options(&self, n: &Network) -> Vec<(&'static str, String)> {
        if !n.default_bridge {
            // A user-defined network shows the options as given (`n.options`), which the
            // inspect renderer adds.
            return Vec::new();
        }
        [
            ("com.docker.network.bridge.default_bridge", "true"),
            ("com.docker.network.bridge.enable_icc", "true"),
            ("com.docker.network.bridge.enable_ip_masquerade", "true"),
            ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
            (
                "com.docker.network.bridge.name",
                n.bridge.as_deref().unwrap_or("docker0"),
            ),
            ("com.docker.network.driver.mtu", "1500"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    /// `ip link add BRIDGE type bridge` (with its MAC), its MTU when the options set one,
    /// the gateway address with its broadcast, up.
    fn network_plan(&self, n: &Network) -> Option<Plan> {
        let (br, pool) = (n.bridge.clone()?, n.pool.as_ref()?);
        let gateway = Ipv4Net::new(pool.gateway, pool.subnet.prefix_len()).ok()?;
        let mtu = self.mtu(n).map(|mtu| Op::SetMtu {
            ns: HOST.into(),
            dev: br.clone(),
            mtu,
        });
        Some(Plan {
            create: Op::AddBridge {
                ns: HOST.into(),
                name: br.clone(),
                mac: n.bridge_mac.clone(),
                // libnetwork's bridges and veths have no transmit queue (TxQLen 0).
                txqlen: Some(0),
                up: true,
                index: None,
            },
            configure: mtu
                .into_iter()
                .chain([
                    Op::AddAddr {
                        ns: HOST.into(),
                        dev: br.clone(),
                        addr: IpNet::V4(gateway),
                        brd: true,
                    },
                    Op::SetUp {
                        ns: HOST.into(),
                        dev: br.clone(),
                        up: true,
                    },
                ])
                .collect(),
            settle: Vec::new(),
            undo: self.network_teardown(n)?,
        })
    }

    fn network_teardown(&self, n: &Network) -> Option<Op> {
        Some(Op::DelLink {
            ns: HOST.into(),
            dev: n.bridge.clone()?,
        })
    }

    /// The veth pair, made with its container end already in `ns`, in one request: both
    /// ends get the network's MTU when its options set one (libnetwork sets the veth's
    /// MTU) and a single queue (see `VethSetup::queues`), the container end its MAC, the host end comes up and joins the bridge; then
    /// the container end gets its address and comes up. Both ends' carrier, and the
    /// bridge's, are for the lab to wait for before anything looks at them.
    fn endpoint_plan(&self, n: &Network, ns: &str, e: &Endpoint) -> Option<Plan> {
        let (ifname, host_if, (ip, len)) = (e.ifname.clone()?, e.host_ifname.clone()?, e.ip?);
        let br = n.bridge.clone()?;
        let addr = Ipv4Net::new(ip, len).ok()?;
        Some(Plan {
            create: Op::AddVeth {
                ns: HOST.into(),
                name: host_if.clone(),
                peer: ifname.clone(),
                peer_ns: Some(ns.into()),
                txqlen: Some(0),
                with: VethSetup {
                    mtu: self.mtu(n),
                    queues: Some(1),
                    master: Some(br.clone()),
                    peer_mac: e.mac.clone(),
                    up: true,
                    index: None,
                    peer_index: None,
                },
            },
            configure: vec![
                Op::AddAddr {
                    ns: ns.into(),
                    dev: ifname.clone(),
                    addr: IpNet::V4(addr),
                    brd: true,
                },
                Op::SetUp {
                    ns: ns.into(),
                    dev: ifname.clone(),
                    up: true,
                },
            ],
            // Both ends' carrier, and the bridge's when this is its first port: until then
            // the bridge shows NO-CARRIER and drops what the host sends through it.
            settle: vec![
                (HOST.into(), host_if),
                (ns.into(), ifname),
                (HOST.into(), br.clone()),
            ],
            undo: self.endpoint_teardown(e)?,
        })
    }

    /// Deleting the host end of the pair deletes the container end, and the routes
    /// through it.
    fn endpoint_teardown(&self, e: &Endpoint) -> Option<Op> {
        Some(Op::DelLink {
            ns: HOST.into(),
            dev: e.host_ifname.clone()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::docker::{AttachSpec, Docker, NetworkSpec};

    fn commands(plan: &Plan) -> Vec<String> {
        std::iter::once(&plan.create)
            .chain(&plan.configure)
            .chain(std::iter::once(&plan.undo))
            .map(|op| op.to_string())
            .collect()
    }

    #[test]
    fn a_network_is_a_bridge_with_the_gateway_address() {
        let mut d = Docker::new(7, "now");
        let n = d
            .create_network("n1", &NetworkSpec::default(), "now")
            .unwrap();
        let br = n.bridge.clone().unwrap();
        assert_eq!(br, format!("br-{}", &n.id[..12]));
        let plan = Bridge.network_plan(&n).unwrap();
        let cmds = commands(&plan);
        assert_eq!(cmds.len(), 4, "{cmds:?}");
        assert!(
            cmds[0].starts_with(&format!("ip link add {br} ")),
            "{cmds:?}"
        );
        assert!(cmds[0].contains("type bridge"), "{cmds:?}");
        assert!(cmds[1].contains("addr add 172.18.0.1/16"), "{cmds:?}");
        assert!(cmds[2].contains(&format!("set dev {br} up")), "{cmds:?}");
        assert_eq!(cmds[3], format!("ip link del {br}"));
        assert_eq!(
            Bridge.device_name("x", true, &[]).as_deref(),
            Some("docker0")
        );
    }

    #[test]
    fn an_endpoint_is_a_veth_pair_on_the_bridge() {
        let mut d = Docker::new(7, "now");
        d.create_network("n1", &NetworkSpec::default(), "now")
            .unwrap();
        let c = d.run("c1", "n1", &AttachSpec::default(), "now").unwrap();
        let e = &c.endpoints[0];
        let n = d.network("n1").unwrap();
        let host_if = e.host_ifname.clone().unwrap();
        let plan = Bridge.endpoint_plan(n, "sb1", e).unwrap();
        let cmds = commands(&plan);
        let br = n.bridge.clone().unwrap();
        assert_eq!(
            cmds[0],
            format!(
                "ip link add {host_if} txqueuelen 0 numtxqueues 1 numrxqueues 1 master {br} up \
                 type veth peer name eth0 txqueuelen 0 numtxqueues 1 numrxqueues 1 \
                 address 02:42:ac:12:00:02 netns sb1"
            ),
            "one request makes the pair, its MAC, its bridge port and the host end up"
        );
        assert_eq!(cmds[1], "ip -n sb1 addr add 172.18.0.2/16 brd + dev eth0");
        assert_eq!(cmds[2], "ip -n sb1 link set dev eth0 up");
        assert_eq!(cmds.len(), 4, "{cmds:?}");
        assert_eq!(cmds.last().unwrap(), &format!("ip link del {host_if}"));
        assert_eq!(plan.settle.len(), 3);
        assert!(
            !cmds.iter().any(|c| c.contains("route")),
            "the default route is the engine's"
        );
    }

    #[test]
    fn only_user_defined_bridges_resolve_names() {
        let d = Docker::new(7, "now");
        let bridge = d.network("bridge").unwrap();
        assert!(!Bridge.service_discovery(bridge));
        assert_eq!(Bridge.inspect_options(bridge).len(), 6);
    }
}
