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
        /// Its `lo` comes up as part of its creation (a container's namespace; a user's
        /// new namespace has it DOWN, as `ip netns add` leaves it).
        lo_up: bool,
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
        /// Both ends' transmit queue length (`txqueuelen N`); `None` leaves the kernel's
        /// default, 1000, as `ip link add` does. Docker's libnetwork creates its veths with
        /// 0, which `ip link` shows as no `qlen` at all.
        txqlen: Option<u32>,
        /// What the same request sets up at once (see [`VethSetup`]).
        with: VethSetup,
    },
    AddBridge {
        ns: String,
        name: String,
        /// A fixed MAC address (Docker gives its bridges 02:42:… addresses).
        mac: Option<String>,
        /// The transmit queue length (`txqueuelen N`); `None` leaves the kernel's default.
        /// Docker's bridges have 0 (libnetwork's zero `LinkAttrs.TxQLen`).
        txqlen: Option<u32>,
        /// Created UP (Docker's bridges, `ns.bridge()`); `ip link add` and `brctl addbr`
        /// leave it DOWN, as the kernel creates it (`qdisc noop`).
        up: bool,
        /// A fixed interface index (`index N`); `None` lets the kernel take the next one.
        /// (The default bridge, made when first needed, takes the index it holds.)
        index: Option<u32>,
    },
    SetMac {
        ns: String,
        dev: String,
        mac: String,
    },
    /// `ip link set dev DEV mtu N`.
    SetMtu {
        ns: String,
        dev: String,
        mtu: u32,
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
    /// `ip route replace`: add the route, or replace the one to the same destination
    /// (how a default route changes gateway without a moment without one).
    ReplaceRoute {
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
    /// Change part of an existing nftables table (chains, rules, set elements), atomically.
    NftChange {
        ns: String,
        change: super::nft::Change,
    },
}

/// What an `ip link add … type veth` request sets up besides the pair itself, all in the
/// one request (each option of `ip link add` goes into the same `RTM_NEWLINK`): the kernel
/// creates both ends, gives them their MTU and the peer its MAC, brings the first end up,
/// and only then enslaves it to `master` (`rtnl_newlink_create`); if any step fails it
/// unregisters both ends, so the request builds all or nothing. The peer cannot come up
/// in the same request: the kernel opens it before pairing it (`veth_newlink`), and a veth
/// without its peer refuses to (ENOTCONN). A Docker endpoint's host end is one such
/// request where it used to be four.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VethSetup {
    /// Both ends' MTU (`mtu N`).
    pub mtu: Option<u32>,
    /// Both ends' number of transmit and receive queues (`numtxqueues N numrxqueues N`).
    /// Without it the kernel makes a veth with one queue per possible CPU and then, under
    /// the rtnl lock, takes all but one away again (`veth_init_queues`), which waits for an
    /// RCU grace period per veth: most of the time a Docker endpoint took. With 1 the
    /// veth has the one queue it would have used anyway; only `ip -d link`'s
    /// `numtxqueues`/`numrxqueues` (the CPU count for Docker's) tell the difference.
    pub queues: Option<u32>,
    /// The bridge the first end joins (`master BR`).
    pub master: Option<String>,
    /// The peer's MAC address (`address MAC` after `peer name`).
    pub peer_mac: Option<String>,
    /// The first end comes up (`up`).
    pub up: bool,
    /// The first end's interface index (`index N`); `None` lets the kernel take the next.
    pub index: Option<u32>,
    /// The peer's interface index (`index N` after `peer name`); the kernel honours it only
    /// when `index` is given too (`veth_newlink`).
    pub peer_index: Option<u32>,
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
            write!(f, " dev {}", Q(dev))?;
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
            | Op::SetMtu { ns, .. }
            | Op::DelLink { ns, .. }
            | Op::MoveLink { ns, .. }
            | Op::SetUp { ns, .. }
            | Op::SetMaster { ns, .. }
            | Op::AddAddr { ns, .. }
            | Op::DelAddr { ns, .. }
            | Op::AddRoute { ns, .. }
            | Op::DelRoute { ns, .. }
            | Op::ReplaceRoute { ns, .. }
            | Op::Sysctl { ns, .. }
            | Op::Nft { ns, .. }
            | Op::NftChange { ns, .. } => ns,
        }
    }
}

/// One word of a printed command, quoted so that pasting the command into a POSIX shell
/// passes it as exactly that word (`a;id` prints as `'a;id'`). Quoting is left to the
/// `shlex` crate; a word it cannot express (one holding a NUL byte, which no name the lab
/// accepts does) prints as `'<invalid>'` rather than unquoted.
pub struct Q<'a>(pub &'a str);

impl fmt::Display for Q<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match shlex::try_quote(self.0) {
            Ok(q) => f.write_str(&q),
            Err(_) => f.write_str("'<invalid>'"),
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
            write!(f, "ip -n {}", Q(self.0))
        }
    }
}

/// `sysctl -w key=value` (or `-qw`), prefixed with `ip netns exec NS` outside the host.
struct Sysctl<'a> {
    ns: &'a str,
    flags: &'a str,
    key: &'a str,
    value: &'a str,
}

impl fmt::Display for Sysctl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ns != HOST {
            write!(f, "ip netns exec {} ", Q(self.ns))?;
        }
        // Two quoted halves make one shell word: `key='a;b'`.
        write!(f, "sysctl {} {}={}", self.flags, Q(self.key), Q(self.value))
    }
}

impl fmt::Display for Op {
    /// The equivalent shell command; every name and value in it is quoted for the shell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::AddNetns { ns, sysctls, lo_up } => {
                write!(f, "ip netns add {}", Q(ns))?;
                for (key, value) in sysctls {
                    let s = Sysctl {
                        ns,
                        flags: "-qw",
                        key,
                        value,
                    };
                    write!(f, " && {s}")?;
                }
                if *lo_up {
                    write!(f, " && ip -n {} link set dev lo up", Q(ns))?;
                }
                Ok(())
            }
            Op::DelNetns { ns } => write!(f, "ip netns del {}", Q(ns)),
            Op::AddVeth {
                ns,
                name,
                peer,
                peer_ns,
                txqlen,
                with,
            } => {
                let mut both = txqlen
                    .map(|n| format!(" txqueuelen {n}"))
                    .unwrap_or_default();
                if let Some(mtu) = with.mtu {
                    both.push_str(&format!(" mtu {mtu}"));
                }
                if let Some(n) = with.queues {
                    both.push_str(&format!(" numtxqueues {n} numrxqueues {n}"));
                }
                let up = if with.up { " up" } else { "" };
                let master = with
                    .master
                    .as_deref()
                    .map(|m| format!(" master {}", Q(m)))
                    .unwrap_or_default();
                let mut mac = with
                    .peer_index
                    .map(|i| format!(" index {i}"))
                    .unwrap_or_default();
                if let Some(m) = with.peer_mac.as_deref() {
                    mac.push_str(&format!(" address {}", Q(m)));
                }
                let index = with
                    .index
                    .map(|i| format!(" index {i}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "{} link add {}{index}{both}{master}{up} type veth peer name {}{both}{mac}",
                    Ip(ns),
                    Q(name),
                    Q(peer)
                )?;
                match peer_ns {
                    Some(p) if p != ns => write!(f, " netns {}", Q(p)),
                    _ => Ok(()),
                }
            }
            Op::AddBridge {
                ns,
                name,
                mac,
                txqlen,
                index,
                ..
            } => {
                write!(f, "{} link add {}", Ip(ns), Q(name))?;
                if let Some(i) = index {
                    write!(f, " index {i}")?;
                }
                if let Some(mac) = mac {
                    write!(f, " address {}", Q(mac))?;
                }
                if let Some(n) = txqlen {
                    write!(f, " txqueuelen {n}")?;
                }
                f.write_str(" type bridge")
            }
            Op::SetMac { ns, dev, mac } => {
                write!(f, "{} link set dev {} address {}", Ip(ns), Q(dev), Q(mac))
            }
            Op::SetMtu { ns, dev, mtu } => {
                write!(f, "{} link set dev {} mtu {mtu}", Ip(ns), Q(dev))
            }
            Op::DelLink { ns, dev } => write!(f, "{} link del {}", Ip(ns), Q(dev)),
            Op::MoveLink { ns, dev, to } => {
                write!(f, "{} link set {} netns {}", Ip(ns), Q(dev), Q(to))
            }
            Op::SetUp { ns, dev, up } => {
                let state = if *up { "up" } else { "down" };
                write!(f, "{} link set dev {} {state}", Ip(ns), Q(dev))
            }
            Op::SetMaster { ns, dev, master } => match master {
                Some(m) => write!(f, "{} link set dev {} master {}", Ip(ns), Q(dev), Q(m)),
                None => write!(f, "{} link set dev {} nomaster", Ip(ns), Q(dev)),
            },
            Op::AddAddr { ns, dev, addr, brd } => {
                let brd = if *brd && addr.addr().is_ipv4() {
                    " brd +"
                } else {
                    ""
                };
                write!(f, "{} addr add {addr}{brd} dev {}", Ip(ns), Q(dev))
            }
            Op::DelAddr { ns, dev, addr } => {
                write!(f, "{} addr del {addr} dev {}", Ip(ns), Q(dev))
            }
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
            Op::ReplaceRoute { ns, route } => {
                let six = if route.is_ipv6() && route.dst.is_none() {
                    " -6"
                } else {
                    ""
                };
                write!(f, "{}{six} route replace {route}", Ip(ns))
            }
            Op::Nft { ns, ruleset } => {
                // The heredoc's delimiter is quoted, so the shell expands nothing inside.
                if ns != HOST {
                    write!(f, "ip netns exec {} ", Q(ns))?;
                }
                write!(f, "nft -f - <<'EOF'\n{ruleset}\nEOF")
            }
            Op::NftChange { ns, change } => {
                if ns != HOST {
                    write!(f, "ip netns exec {} ", Q(ns))?;
                }
                write!(f, "nft -f - <<'EOF'\n{change}\nEOF")
            }
            Op::Sysctl { ns, key, value } => write!(
                f,
                "{}",
                Sysctl {
                    ns,
                    flags: "-w",
                    key,
                    value
                }
            ),
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
            txqlen: None,
            with: Default::default(),
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
            with: Default::default(),
            txqlen: None,
        };
        assert_eq!(
            op.to_string(),
            "ip link add veth1 type veth peer name eth0 netns c1"
        );
        // Docker's veths and bridges: no transmit queue on either end.
        let op = Op::AddVeth {
            ns: s(HOST),
            name: s("veth1"),
            peer: s("eth0"),
            with: Default::default(),
            peer_ns: Some(s("c1")),
            txqlen: Some(0),
        };
        assert_eq!(
            op.to_string(),
            "ip link add veth1 txqueuelen 0 type veth peer name eth0 txqueuelen 0 netns c1"
        );
        let op = Op::AddBridge {
            ns: s(HOST),
            name: s("docker0"),
            mac: Some(s("02:42:36:51:ba:1a")),
            txqlen: Some(0),
            up: true,
            index: None,
        };
        assert_eq!(
            op.to_string(),
            "ip link add docker0 address 02:42:36:51:ba:1a txqueuelen 0 type bridge"
        );
        let op = Op::AddBridge {
            ns: s(HOST),
            name: s("docker0"),
            mac: None,
            txqlen: None,
            up: true,
            index: Some(3),
        };
        assert_eq!(op.to_string(), "ip link add docker0 index 3 type bridge");
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

    /// Splits a printed command the way a POSIX shell would (no expansion happens inside
    /// the quotes `Q` writes).
    fn words(cmd: &str) -> Vec<String> {
        shlex::split(cmd).expect("the printed command parses as shell words")
    }

    const HOSTILE: &[&str] = &[
        "a;id",
        "a b",
        "$(id)",
        "`id`",
        "it's",
        "say \"hi\"",
        "line\nbreak",
        "ünï€",
        "-n",
        "a|b&c>d<e",
        "*",
        "~",
        "#x",
        "",
    ];

    #[test]
    fn hostile_names_print_as_single_shell_words() {
        for &name in HOSTILE {
            let op = Op::AddNetns {
                ns: s(name),
                sysctls: vec![(s("net.ipv6.conf.all.disable_ipv6"), s("1"))],
                lo_up: false,
            };
            let text = op.to_string();
            let w = words(&text);
            assert_eq!(&w[..4], ["ip", "netns", "add", name], "{text}");
            assert_eq!(&w[5..9], ["ip", "netns", "exec", name], "{text}");
            assert_eq!(w[10], "-qw");

            let op = Op::AddVeth {
                ns: s(name),
                name: s(name),
                with: Default::default(),
                peer: s(name),
                peer_ns: Some(s("other ns")),
                txqlen: None,
            };
            let text = op.to_string();
            assert_eq!(
                words(&text),
                [
                    "ip", "-n", name, "link", "add", name, "type", "veth", "peer", "name", name,
                    "netns", "other ns"
                ],
                "{text}"
            );

            let op = Op::SetMaster {
                ns: s(HOST),
                dev: s(name),
                master: Some(s(name)),
            };
            assert_eq!(
                words(&op.to_string()),
                ["ip", "link", "set", "dev", name, "master", name]
            );
            let op = Op::MoveLink {
                ns: s(HOST),
                dev: s(name),
                to: s(name),
            };
            assert_eq!(
                words(&op.to_string()),
                ["ip", "link", "set", name, "netns", name]
            );
            let op = Op::AddRoute {
                ns: s(name),
                route: Route {
                    dst: Some("10.0.0.0/8".parse().unwrap()),
                    via: None,
                    dev: Some(s(name)),
                    ipv6: false,
                },
            };
            assert_eq!(
                words(&op.to_string()),
                ["ip", "-n", name, "route", "add", "10.0.0.0/8", "dev", name]
            );
            let op = Op::Sysctl {
                ns: s(name),
                key: s("net.ipv4.ip_forward"),
                value: s(name),
            };
            let text = op.to_string();
            let w = words(&text);
            assert_eq!(&w[..4], ["ip", "netns", "exec", name]);
            assert_eq!(
                w[5..],
                ["-w".to_string(), format!("net.ipv4.ip_forward={name}")]
            );
            assert_eq!(
                words(&Op::DelNetns { ns: s(name) }.to_string()),
                ["ip", "netns", "del", name]
            );
            let op = Op::DelLink {
                ns: s(name),
                dev: s(name),
            };
            assert_eq!(
                words(&op.to_string()),
                ["ip", "-n", name, "link", "del", name]
            );
        }
    }

    #[test]
    fn plain_names_stay_unquoted() {
        let op = Op::AddNetns {
            ns: s("ns1"),
            sysctls: vec![(s("net.ipv6.conf.all.disable_ipv6"), s("1"))],
            lo_up: false,
        };
        assert_eq!(
            op.to_string(),
            "ip netns add ns1 && ip netns exec ns1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
        );
        let op = Op::AddNetns {
            ns: s("a;id"),
            sysctls: Vec::new(),
            lo_up: false,
        };
        assert_eq!(op.to_string(), "ip netns add 'a;id'");
    }

    #[test]
    fn nft_scripts_are_quoted_heredocs() {
        let op = Op::Nft {
            ns: s("a b"),
            ruleset: crate::kernel::nft::Ruleset {
                table: s("docker"),
                ..Default::default()
            },
        };
        let text = op.to_string();
        assert!(
            text.starts_with("ip netns exec 'a b' nft -f - <<'EOF'\n"),
            "{text}"
        );
        assert!(text.ends_with("\nEOF"));
    }

    #[test]
    fn nft_changes_print_as_commands_in_a_quoted_heredoc() {
        use crate::kernel::nft::{Change, Step};
        let op = Op::NftChange {
            ns: s(HOST),
            change: Change {
                table: s("docker"),
                steps: vec![Step::AddChain(s("fwd-docker0")), Step::DelChain(s("x"))],
            },
        };
        assert_eq!(
            op.to_string(),
            "nft -f - <<'EOF'\nadd chain ip docker fwd-docker0\ndelete chain ip docker x\nEOF"
        );
    }
}
