//! Every change netsh makes to the kernel is one `Op` value. Applying it is
//! [`super::Kernel::apply`]; printing it is `Display`, which writes the `ip` command a user
//! would type for the same change. `--trace` prints each one as it runs.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// The name of the lab's host namespace. Commands there carry no `-n` flag, just as `ip`
/// typed on a real host.
pub const HOST: &str = "host";

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    AddNetns {
        ns: String,
        /// Sysctls written inside the new namespace as part of its creation.
        sysctls: Vec<(String, String)>,
    },
    DelNetns {
        ns: String,
    },
    AddVeth {
        ns: String,
        name: String,
        peer: String,
        /// Create the peer directly in this namespace (`peer name X netns NS`).
        peer_ns: Option<String>,
    },
    AddBridge {
        ns: String,
        name: String,
        /// A fixed MAC address (Docker gives its bridges 02:42:… addresses).
        mac: Option<String>,
    },
    SetMac {
        ns: String,
        dev: String,
        mac: String,
    },
    DelLink {
        ns: String,
        dev: String,
    },
    MoveLink {
        ns: String,
        dev: String,
        to: String,
    },
    SetUp {
        ns: String,
        dev: String,
        up: bool,
    },
    SetMaster {
        ns: String,
        dev: String,
        master: Option<String>,
    },
    AddAddr {
        ns: String,
        dev: String,
        addr: IpNet,
        /// Set the IPv4 broadcast address (`brd +`).
        brd: bool,
    },
    DelAddr {
        ns: String,
        dev: String,
        addr: IpNet,
    },
    AddRoute {
        ns: String,
        route: Route,
    },
    DelRoute {
        ns: String,
        route: Route,
    },
    Sysctl {
        ns: String,
        key: String,
        value: String,
    },
    /// Replace a whole nftables table, atomically.
    Nft {
        ns: String,
        ruleset: super::nft::Ruleset,
    },
}

/// A route to add or remove: `dst` `None` is the default route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub dst: Option<IpNet>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// For a default route without a gateway, whether it is IPv6 (`ip -6 route`).
    pub ipv6: bool,
}

impl Route {
    pub fn is_ipv6(&self) -> bool {
        match (self.dst, self.via) {
            (Some(d), _) => d.addr().is_ipv6(),
            (None, Some(v)) => v.is_ipv6(),
            (None, None) => self.ipv6,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dst {
            Some(d) => write!(f, "{d}")?,
            None => f.write_str("default")?,
        }
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        Ok(())
    }
}

impl Op {
    /// The namespace the operation is issued in.
    pub fn ns(&self) -> &str {
        match self {
            Op::AddNetns { ns, .. }
            | Op::DelNetns { ns }
            | Op::AddVeth { ns, .. }
            | Op::AddBridge { ns, .. }
            | Op::SetMac { ns, .. }
            | Op::DelLink { ns, .. }
            | Op::MoveLink { ns, .. }
            | Op::SetUp { ns, .. }
            | Op::SetMaster { ns, .. }
            | Op::AddAddr { ns, .. }
            | Op::DelAddr { ns, .. }
            | Op::AddRoute { ns, .. }
            | Op::DelRoute { ns, .. }
            | Op::Sysctl { ns, .. }
            | Op::Nft { ns, .. } => ns,
        }
    }
}

/// `ip` or `ip -n NS`, as the command would be typed on the lab host.
struct Ip<'a>(&'a str);

impl fmt::Display for Ip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == HOST {
            f.write_str("ip")
        } else {
            write!(f, "ip -n {}", self.0)
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::AddNetns { ns, sysctls } => {
                write!(f, "ip netns add {ns}")?;
                for (key, value) in sysctls {
                    write!(f, " && ip netns exec {ns} sysctl -qw {key}={value}")?;
                }
                Ok(())
            }
            Op::DelNetns { ns } => write!(f, "ip netns del {ns}"),
            Op::AddVeth {
                ns,
                name,
                peer,
                peer_ns,
            } => {
                write!(f, "{} link add {name} type veth peer name {peer}", Ip(ns))?;
                match peer_ns {
                    Some(p) if p != ns => write!(f, " netns {p}"),
                    _ => Ok(()),
                }
            }
            Op::AddBridge { ns, name, mac } => {
                write!(f, "{} link add {name}", Ip(ns))?;
                if let Some(mac) = mac {
                    write!(f, " address {mac}")?;
                }
                f.write_str(" type bridge")
            }
            Op::SetMac { ns, dev, mac } => {
                write!(f, "{} link set dev {dev} address {mac}", Ip(ns))
            }
            Op::DelLink { ns, dev } => write!(f, "{} link del {dev}", Ip(ns)),
            Op::MoveLink { ns, dev, to } => write!(f, "{} link set {dev} netns {to}", Ip(ns)),
            Op::SetUp { ns, dev, up } => {
                let state = if *up { "up" } else { "down" };
                write!(f, "{} link set dev {dev} {state}", Ip(ns))
            }
            Op::SetMaster { ns, dev, master } => match master {
                Some(m) => write!(f, "{} link set dev {dev} master {m}", Ip(ns)),
                None => write!(f, "{} link set dev {dev} nomaster", Ip(ns)),
            },
            Op::AddAddr { ns, dev, addr, brd } => {
                let brd = if *brd && addr.addr().is_ipv4() {
                    " brd +"
                } else {
                    ""
                };
                write!(f, "{} addr add {addr}{brd} dev {dev}", Ip(ns))
            }
            Op::DelAddr { ns, dev, addr } => write!(f, "{} addr del {addr} dev {dev}", Ip(ns)),
            Op::AddRoute { ns, route } => {
                let six = if route.is_ipv6() && route.dst.is_none() {
                    " -6"
                } else {
                    ""
                };
                write!(f, "{}{six} route add {route}", Ip(ns))
            }
            Op::DelRoute { ns, route } => {
                let six = if route.is_ipv6() && route.dst.is_none() {
                    " -6"
                } else {
                    ""
                };
                write!(f, "{}{six} route del {route}", Ip(ns))
            }
            Op::Nft { ns, ruleset } => {
                let nft = if ns == HOST {
                    "nft".to_string()
                } else {
                    format!("ip netns exec {ns} nft")
                };
                write!(f, "{nft} -f - <<'EOF'\n{ruleset}\nEOF")
            }
            Op::Sysctl { ns, key, value } => {
                if ns == HOST {
                    write!(f, "sysctl -w {key}={value}")
                } else {
                    write!(f, "ip netns exec {ns} sysctl -w {key}={value}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn host_commands_have_no_namespace_flag() {
        let op = Op::AddVeth {
            ns: s(HOST),
            name: s("veth-ns1"),
            peer: s("veth-ns2"),
            peer_ns: None,
        };
        assert_eq!(
            op.to_string(),
            "ip link add veth-ns1 type veth peer name veth-ns2"
        );
        let op = Op::MoveLink {
            ns: s(HOST),
            dev: s("veth-ns1"),
            to: s("ns1"),
        };
        assert_eq!(op.to_string(), "ip link set veth-ns1 netns ns1");
    }

    #[test]
    fn namespaced_commands_use_dash_n() {
        let op = Op::AddAddr {
            ns: s("ns1"),
            dev: s("veth-ns1"),
            addr: "192.168.1.1/24".parse().unwrap(),
            brd: false,
        };
        assert_eq!(
            op.to_string(),
            "ip -n ns1 addr add 192.168.1.1/24 dev veth-ns1"
        );
        let op = Op::SetUp {
            ns: s("ns1"),
            dev: s("veth-ns1"),
            up: true,
        };
        assert_eq!(op.to_string(), "ip -n ns1 link set dev veth-ns1 up");
        let op = Op::AddVeth {
            ns: s(HOST),
            name: s("veth1"),
            peer: s("eth0"),
            peer_ns: Some(s("c1")),
        };
        assert_eq!(
            op.to_string(),
            "ip link add veth1 type veth peer name eth0 netns c1"
        );
    }

    #[test]
    fn routes_render_like_ip_route() {
        let op = Op::AddRoute {
            ns: s("ns1"),
            route: Route {
                dst: None,
                via: Some("192.168.1.254".parse().unwrap()),
                dev: None,
                ipv6: false,
            },
        };
        assert_eq!(
            op.to_string(),
            "ip -n ns1 route add default via 192.168.1.254"
        );
        let op = Op::DelRoute {
            ns: s(HOST),
            route: Route {
                dst: Some("10.0.0.0/8".parse().unwrap()),
                via: None,
                dev: Some(s("eth0")),
                ipv6: false,
            },
        };
        assert_eq!(op.to_string(), "ip route del 10.0.0.0/8 dev eth0");
        let op = Op::Sysctl {
            ns: s("ns1"),
            key: s("net.ipv4.ip_forward"),
            value: s("1"),
        };
        assert_eq!(
            op.to_string(),
            "ip netns exec ns1 sysctl -w net.ipv4.ip_forward=1"
        );
    }
}
