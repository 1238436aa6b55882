//! `ip` command lines parsed into [`IpLine`] values, as iproute2 (6.1) reads them: objects
//! and commands by prefix in iproute2's table order (`ip a` is `ip address show`, `ip l s`
//! is `ip link set`, `ip r` is `ip route show`, `ip n` is `ip neighbor show`), global
//! options before the object (`-n NS`, `-4`, `-6`), and iproute2's own words and exit
//! statuses for what it refuses while parsing (`Object "foo" is unknown, try "ip help".`,
//! status 1; `Command line is not complete. Try option "help"`, status 255 — ip's `exit(-1)`).
//!
//! Pure: no lab, no I/O. What the lab refuses (a missing device, an existing address) is
//! decided when the command runs (`run.rs`).

use std::net::IpAddr;

use ipnet::IpNet;

use super::{matches, Failure};

/// One `ip` command line: the namespace it addresses (`-n NS`, or the one `ip netns exec`
/// runs it in), the address family (`-4`, `-6`; only `route show` filters by it), and the
/// command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpLine {
    pub netns: Option<String>,
    pub family: Option<Family>,
    pub cmd: IpCmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpCmd {
    /// `ip netns [list]`: the user's namespaces, newest first.
    NetnsList,
    NetnsAdd(String),
    NetnsDel(String),
    /// `ip netns exec NS CMD…`.
    NetnsExec {
        ns: String,
        argv: Vec<String>,
    },
    /// `ip link [show [dev] DEV]`.
    LinkShow {
        dev: Option<String>,
    },
    LinkAdd {
        name: String,
        kind: LinkKind,
    },
    /// `ip link set [dev] DEV CHANGE…`, the changes in the order given.
    LinkSet {
        dev: String,
        changes: Vec<LinkChange>,
    },
    LinkDel {
        dev: String,
    },
    /// `ip addr [show [dev] DEV]`.
    AddrShow {
        dev: Option<String>,
    },
    AddrAdd {
        addr: IpNet,
        dev: String,
        brd: bool,
    },
    AddrDel {
        addr: IpNet,
        dev: String,
    },
    RouteShow,
    RouteAdd(RouteSpec),
    RouteDel(RouteSpec),
    /// `ip neigh [show]`.
    NeighShow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    Veth {
        peer: String,
        peer_netns: Option<String>,
    },
    Bridge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkChange {
    Up,
    Down,
    Netns(String),
    Master(String),
    NoMaster,
    Address(String),
}

/// `default` or a prefix, with a gateway and/or a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// `default` or the prefix as typed (`10.1.0.0/16`; a bare address is a host route).
    pub dst: String,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
}

/// iproute2's refusals while parsing.
fn incomplete() -> Failure {
    Failure::new(255, "Command line is not complete. Try option \"help\"")
}

fn need_dev(status: i32) -> Failure {
    Failure::new(
        status,
        "Not enough information: \"dev\" argument is required.",
    )
}

fn garbage(key: &str, arg: &str) -> Failure {
    Failure::new(
        255,
        format!("Error: either \"{key}\" is duplicate, or \"{arg}\" is a garbage."),
    )
}

fn unknown_command(cmd: &str, object: &str) -> Failure {
    Failure::new(
        255,
        format!("Command \"{cmd}\" is unknown, try \"ip {object} help\"."),
    )
}

/// What iproute2 has but the lab's front does not carry out: said plainly, status 1.
fn unsupported(what: &str) -> Failure {
    Failure::new(
        1,
        format!("netsh: {what} is not supported by the lab's ip front"),
    )
}

/// The value after a keyword, or iproute2's `NEXT_ARG` failure.
fn next<'a>(args: &mut impl Iterator<Item = &'a String>) -> Result<&'a String, Failure> {
    args.next().ok_or_else(incomplete)
}

/// iproute2's object table (ip.c), in its order: the first whose name starts with the
/// word wins, so `n` is `neighbor` and `net` is `netns`.
const OBJECTS: &[&str] = &[
    "address",
    "addrlabel",
    "maddress",
    "route",
    "rule",
    "neighbor",
    "neighbour",
    "ntable",
    "ntbl",
    "link",
    "l2tp",
    "fou",
    "ila",
    "macsec",
    "tunnel",
    "tunl",
    "tuntap",
    "tap",
    "token",
    "tcpmetrics",
    "tcp_metrics",
    "monitor",
    "xfrm",
    "mroute",
    "mrule",
    "netns",
    "netconf",
    "vrf",
    "sr",
    "nexthop",
    "mptcp",
    "ioam",
    "stats",
    "help",
];

/// Parses the words after `ip`.
///
/// Errors: iproute2's message and status for what it refuses while parsing (unknown
/// object 1, unknown command or option 255, a missing value 255), and `netsh: … is not
/// supported by the lab's ip front` (status 1) for iproute2 features the lab does not
/// carry out.
pub fn parse(words: &[String]) -> Result<IpLine, Failure> {
    let mut netns = None;
    let mut family = None;
    let mut rest = words;
    while let Some(opt) = rest.first().filter(|w| w.starts_with('-') && w.len() > 1) {
        if matches(opt, "-netns") {
            let ns = rest.get(1).ok_or_else(incomplete)?;
            netns = Some(ns.clone());
            rest = &rest[2..];
            continue;
        }
        match opt.as_str() {
            "-4" => family = Some(Family::V4),
            "-6" => family = Some(Family::V6),
            _ => {
                return Err(Failure::new(
                    255,
                    format!("Option \"{opt}\" is unknown, try \"ip -help\"."),
                ))
            }
        }
        rest = &rest[1..];
    }
    let Some((object, args)) = rest.split_first() else {
        return Err(Failure::new(
            255,
            "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }",
        ));
    };
    let Some(object) = OBJECTS.iter().find(|o| matches(object, o)) else {
        return Err(Failure::new(
            1,
            format!("Object \"{object}\" is unknown, try \"ip help\"."),
        ));
    };
    let cmd = match *object {
        "address" => address(args)?,
        "route" => route(args)?,
        "neighbor" | "neighbour" => neigh(args)?,
        "link" => link(args)?,
        "netns" => netns_cmd(args)?,
        other => return Err(unsupported(&format!("\"ip {other}\""))),
    };
    Ok(IpLine { netns, family, cmd })
}

fn netns_cmd(args: &[String]) -> Result<IpCmd, Failure> {
    let Some((cmd, args)) = args.split_first() else {
        return Ok(IpCmd::NetnsList);
    };
    let c = cmd.as_str();
    if matches(c, "list") || matches(c, "show") || matches(c, "lst") {
        return Ok(IpCmd::NetnsList);
    }
    let name = || {
        args.first()
            .cloned()
            .ok_or_else(|| Failure::new(255, "No netns name specified"))
    };
    if matches(c, "list-id") || matches(c, "help") {
        return Err(unsupported(&format!("\"ip netns {c}\"")));
    }
    if matches(c, "add") {
        return Ok(IpCmd::NetnsAdd(name()?));
    }
    if matches(c, "set") {
        return Err(unsupported("\"ip netns set\""));
    }
    if matches(c, "delete") {
        return Ok(IpCmd::NetnsDel(name()?));
    }
    if matches(c, "identify") || matches(c, "pids") {
        return Err(unsupported(&format!("\"ip netns {c}\"")));
    }
    if matches(c, "exec") {
        let ns = name()?;
        if args.len() < 2 {
            return Err(Failure::new(255, "No command specified"));
        }
        return Ok(IpCmd::NetnsExec {
            ns,
            argv: args[1..].to_vec(),
        });
    }
    Err(unknown_command(c, "netns"))
}

/// `show [dev] DEV` of `ip link` and `ip addr`: the device, if one is named.
fn show_dev(args: &[String]) -> Result<Option<String>, Failure> {
    let mut dev = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = if a == "dev" { next(&mut it)? } else { a };
        if dev.is_some() {
            return Err(garbage("dev", name));
        }
        dev = Some(name.clone());
    }
    Ok(dev)
}

fn link(args: &[String]) -> Result<IpCmd, Failure> {
    let Some((cmd, args)) = args.split_first() else {
        return Ok(IpCmd::LinkShow { dev: None });
    };
    let c = cmd.as_str();
    if matches(c, "add") {
        return link_add(args);
    }
    if matches(c, "set") || matches(c, "change") {
        return link_set(args);
    }
    if matches(c, "replace") {
        return Err(unsupported("\"ip link replace\""));
    }
    if matches(c, "delete") {
        let dev = show_dev(args)?.ok_or_else(|| need_dev(255))?;
        return Ok(IpCmd::LinkDel { dev });
    }
    if matches(c, "show") || matches(c, "lst") || matches(c, "list") {
        return Ok(IpCmd::LinkShow {
            dev: show_dev(args)?,
        });
    }
    Err(unknown_command(c, "link"))
}

/// Kinds the kernel has but the lab does not build.
const OTHER_KINDS: &[&str] = &[
    "dummy",
    "vlan",
    "macvlan",
    "macvtap",
    "ipvlan",
    "ipvtap",
    "vxlan",
    "bond",
    "team",
    "vrf",
    "gre",
    "gretap",
    "ipip",
    "sit",
    "geneve",
    "wireguard",
    "tun",
    "tap",
    "ifb",
    "nlmon",
    "netkit",
    "bareudp",
    "can",
    "vcan",
    "vxcan",
    "xfrm",
    "macsec",
    "hsr",
    "ip6tnl",
];

fn link_add(args: &[String]) -> Result<IpCmd, Failure> {
    let mut name: Option<String> = None;
    let mut it = args.iter();
    let mut kind = None;
    while let Some(a) = it.next() {
        match a.as_str() {
            "type" => {
                let t = next(&mut it)?;
                kind = Some(match t.as_str() {
                    "veth" => veth_args(it.as_slice())?,
                    "bridge" => {
                        if let Some(extra) = it.as_slice().first() {
                            return Err(unsupported(&format!(
                                "bridge option \"{extra}\" of \"ip link add\""
                            )));
                        }
                        LinkKind::Bridge
                    }
                    other if OTHER_KINDS.contains(&other) => {
                        return Err(Failure::new(
                            2,
                            format!(
                                "netsh: \"ip link add … type {other}\" is not supported by the \
                                 lab's ip front (it builds veth and bridge links)"
                            ),
                        ))
                    }
                    _ => return Err(Failure::new(2, "Error: Unknown device type.")),
                });
                break;
            }
            "name" | "dev" => {
                let n = next(&mut it)?;
                if name.is_some() {
                    return Err(garbage(a, n));
                }
                name = Some(n.clone());
            }
            "address" | "mtu" | "txqueuelen" | "netns" | "link" | "group" | "alias" | "up" => {
                return Err(unsupported(&format!("\"{a}\" in \"ip link add\"")))
            }
            _ => {
                if name.is_some() {
                    return Err(garbage("dev", a));
                }
                name = Some(a.clone());
            }
        }
    }
    let name = name.ok_or_else(|| need_dev(255))?;
    match kind {
        Some(kind) => Ok(IpCmd::LinkAdd { name, kind }),
        // iproute2 sends the request without a kind; the kernel refuses it.
        None => Err(Failure::new(
            2,
            "RTNETLINK answers: Operation not supported",
        )),
    }
}

/// `peer [name] PEER [netns NS]` after `type veth`.
fn veth_args(args: &[String]) -> Result<LinkKind, Failure> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("peer") => {}
        Some(other) => return Err(garbage("peer", other)),
        None => {
            return Err(Failure::new(
                2,
                "netsh: \"ip link add NAME type veth\" needs \"peer name PEER\" in the lab \
                 (the kernel would pick a vethN name for the other end)",
            ))
        }
    }
    let mut peer = None;
    let mut peer_netns = None;
    while let Some(a) = it.next() {
        match a.as_str() {
            "name" | "dev" => {
                let n = next(&mut it)?;
                if peer.is_some() {
                    return Err(garbage(a, n));
                }
                peer = Some(n.clone());
            }
            "netns" => peer_netns = Some(next(&mut it)?.clone()),
            "address" | "mtu" | "txqueuelen" | "type" => {
                return Err(unsupported(&format!("\"{a}\" for a veth peer")))
            }
            _ => {
                if peer.is_some() {
                    return Err(garbage("dev", a));
                }
                peer = Some(a.clone());
            }
        }
    }
    let peer = peer.ok_or_else(incomplete)?;
    Ok(LinkKind::Veth { peer, peer_netns })
}

fn link_set(args: &[String]) -> Result<IpCmd, Failure> {
    let mut dev: Option<String> = None;
    let mut changes = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "up" => changes.push(LinkChange::Up),
            "down" => changes.push(LinkChange::Down),
            "netns" => changes.push(LinkChange::Netns(next(&mut it)?.clone())),
            "master" => changes.push(LinkChange::Master(next(&mut it)?.clone())),
            "nomaster" => changes.push(LinkChange::NoMaster),
            w if matches(w, "address") => changes.push(LinkChange::Address(next(&mut it)?.clone())),
            "name" | "mtu" | "txqueuelen" | "qlen" | "txqlen" | "promisc" | "arp" | "multicast"
            | "allmulticast" | "alias" | "group" | "vrf" | "type" | "index" | "link"
            | "broadcast" | "brd" => {
                return Err(unsupported(&format!("\"{a}\" in \"ip link set\"")))
            }
            _ => {
                let name = if a == "dev" { next(&mut it)? } else { a };
                if dev.is_some() {
                    return Err(garbage("dev", name));
                }
                dev = Some(name.clone());
            }
        }
    }
    let dev = dev.ok_or_else(|| need_dev(255))?;
    Ok(IpCmd::LinkSet { dev, changes })
}

/// iproute2's `get_prefix`: `ADDR[/LEN]`, a bare address being a host prefix.
fn prefix(text: &str) -> Result<IpNet, Failure> {
    let bad = || {
        Failure::new(
            1,
            format!("Error: any valid prefix is expected rather than \"{text}\"."),
        )
    };
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    let ip: IpAddr = text.parse().map_err(|_| bad())?;
    Ok(IpNet::from(ip))
}

fn address(args: &[String]) -> Result<IpCmd, Failure> {
    let Some((cmd, args)) = args.split_first() else {
        return Ok(IpCmd::AddrShow { dev: None });
    };
    let c = cmd.as_str();
    let add = matches(c, "add");
    if add || matches(c, "delete") {
        let mut local = None;
        let mut dev = None;
        let mut brd = false;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "dev" => dev = Some(next(&mut it)?.clone()),
                "broadcast" | "brd" => {
                    let v = next(&mut it)?;
                    if v != "+" {
                        return Err(unsupported("a broadcast address other than \"+\""));
                    }
                    brd = true;
                }
                "peer" | "remote" | "anycast" | "scope" | "label" | "valid_lft"
                | "preferred_lft" | "metric" | "home" | "nodad" | "noprefixroute"
                | "mngtmpaddr" | "autojoin" => {
                    return Err(unsupported(&format!("\"{a}\" in \"ip addr {c}\"")))
                }
                w => {
                    let w = if w == "local" { next(&mut it)? } else { a };
                    if local.is_some() {
                        return Err(garbage("local", w));
                    }
                    local = Some(prefix(w)?);
                }
            }
        }
        let dev = dev.ok_or_else(|| need_dev(1))?;
        let Some(addr) = local else {
            return Err(incomplete());
        };
        return Ok(if add {
            IpCmd::AddrAdd { addr, dev, brd }
        } else {
            IpCmd::AddrDel { addr, dev }
        });
    }
    if matches(c, "change") || matches(c, "chg") || matches(c, "replace") {
        return Err(unsupported(&format!("\"ip addr {c}\"")));
    }
    if matches(c, "list") || matches(c, "show") || matches(c, "lst") {
        return Ok(IpCmd::AddrShow {
            dev: show_dev(args)?,
        });
    }
    if matches(c, "flush") || matches(c, "save") || matches(c, "restore") {
        return Err(unsupported(&format!("\"ip addr {c}\"")));
    }
    Err(unknown_command(c, "address"))
}

fn route(args: &[String]) -> Result<IpCmd, Failure> {
    let Some((cmd, args)) = args.split_first() else {
        return Ok(IpCmd::RouteShow);
    };
    let c = cmd.as_str();
    if matches(c, "add") {
        return Ok(IpCmd::RouteAdd(route_spec(args, true)?));
    }
    for other in ["change", "chg", "replace", "prepend", "append", "test"] {
        if matches(c, other) {
            return Err(unsupported(&format!("\"ip route {other}\"")));
        }
    }
    if matches(c, "delete") {
        return Ok(IpCmd::RouteDel(route_spec(args, false)?));
    }
    if matches(c, "list") || matches(c, "show") || matches(c, "lst") {
        return match args.first() {
            None => Ok(IpCmd::RouteShow),
            Some(_) if args == ["table", "main"] => Ok(IpCmd::RouteShow),
            Some(a) => Err(unsupported(&format!("\"{a}\" in \"ip route show\""))),
        };
    }
    for other in ["get", "flush", "save", "restore", "showdump"] {
        if matches(c, other) {
            return Err(unsupported(&format!("\"ip route {other}\"")));
        }
    }
    Err(unknown_command(c, "route"))
}

fn route_spec(args: &[String], add: bool) -> Result<RouteSpec, Failure> {
    let mut dst: Option<String> = None;
    let mut via = None;
    let mut dev = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "via" => {
                let gw = next(&mut it)?;
                via = Some(gw.parse::<IpAddr>().map_err(|_| {
                    Failure::new(
                        1,
                        format!("Error: any valid address is expected rather than \"{gw}\"."),
                    )
                })?);
            }
            "dev" | "oif" => dev = Some(next(&mut it)?.clone()),
            "src" | "from" | "metric" | "preference" | "priority" | "scope" | "table" | "proto"
            | "protocol" | "mtu" | "onlink" | "nexthop" | "realm" | "tos" | "dsfield" | "type" => {
                return Err(unsupported(&format!(
                    "\"{a}\" in \"ip route {}\"",
                    if add { "add" } else { "del" }
                )))
            }
            w => {
                let w = if w == "to" { next(&mut it)? } else { a };
                if dst.is_some() {
                    return Err(garbage("to", w));
                }
                if w != "default" {
                    prefix(w)?;
                }
                dst = Some(w.clone());
            }
        }
    }
    let dst = dst.ok_or_else(incomplete)?;
    if add && via.is_none() && dev.is_none() {
        // iproute2 sends it; the kernel finds no device for the nexthop.
        return Err(Failure::new(2, "RTNETLINK answers: No such device"));
    }
    Ok(RouteSpec { dst, via, dev })
}

fn neigh(args: &[String]) -> Result<IpCmd, Failure> {
    let Some((cmd, args)) = args.split_first() else {
        return Ok(IpCmd::NeighShow);
    };
    let c = cmd.as_str();
    for other in ["add", "change", "chg", "replace", "delete", "get"] {
        if matches(c, other) {
            return Err(unsupported(&format!("\"ip neigh {other}\"")));
        }
    }
    if matches(c, "show") || matches(c, "list") || matches(c, "lst") {
        if let Some(a) = args.first() {
            return Err(unsupported(&format!("\"{a}\" in \"ip neigh show\"")));
        }
        return Ok(IpCmd::NeighShow);
    }
    if matches(c, "flush") {
        return Err(unsupported("\"ip neigh flush\""));
    }
    Err(unknown_command(c, "neigh"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<IpLine, Failure> {
        parse(&crate::front::words(line).unwrap())
    }

    fn cmd(line: &str) -> IpCmd {
        p(line).unwrap().cmd
    }

    fn err(line: &str) -> (i32, String) {
        let f = p(line).unwrap_err();
        (f.status, f.stderr)
    }

    #[test]
    fn objects_and_commands_by_prefix() {
        for line in ["a", "addr", "address", "addr show", "a s", "address list"] {
            assert_eq!(cmd(line), IpCmd::AddrShow { dev: None }, "{line}");
        }
        for line in ["l", "link", "link show", "l list"] {
            assert_eq!(cmd(line), IpCmd::LinkShow { dev: None }, "{line}");
        }
        for line in [
            "r",
            "route",
            "ro show",
            "route list",
            "route show table main",
        ] {
            assert_eq!(cmd(line), IpCmd::RouteShow, "{line}");
        }
        for line in ["n", "neigh", "neighbour show", "neighbor list"] {
            assert_eq!(cmd(line), IpCmd::NeighShow, "{line}");
        }
        for line in ["netns", "netns list", "net ls", "netns show"] {
            assert_eq!(cmd(line), IpCmd::NetnsList, "{line}");
        }
    }

    #[test]
    fn netns_commands() {
        assert_eq!(cmd("netns add ns1"), IpCmd::NetnsAdd("ns1".into()));
        assert_eq!(cmd("netns del ns1"), IpCmd::NetnsDel("ns1".into()));
        assert_eq!(cmd("netns delete ns1"), IpCmd::NetnsDel("ns1".into()));
        assert_eq!(
            cmd("netns exec ns1 ip a"),
            IpCmd::NetnsExec {
                ns: "ns1".into(),
                argv: vec!["ip".into(), "a".into()]
            }
        );
        assert_eq!(err("netns add"), (255, "No netns name specified".into()));
        assert_eq!(err("netns exec ns1"), (255, "No command specified".into()));
        assert_eq!(
            err("netns frob"),
            (
                255,
                "Command \"frob\" is unknown, try \"ip netns help\".".into()
            )
        );
    }

    #[test]
    fn global_options() {
        let l = p("-n ns1 addr add 10.0.0.1/24 dev veth0").unwrap();
        assert_eq!(l.netns.as_deref(), Some("ns1"));
        assert_eq!(
            l.cmd,
            IpCmd::AddrAdd {
                addr: "10.0.0.1/24".parse().unwrap(),
                dev: "veth0".into(),
                brd: false
            }
        );
        assert_eq!(p("-netns x r").unwrap().netns.as_deref(), Some("x"));
        assert_eq!(p("-6 r").unwrap().family, Some(Family::V6));
        assert_eq!(
            err("-x link"),
            (255, "Option \"-x\" is unknown, try \"ip -help\".".into())
        );
        assert_eq!(err("-n").0, 255);
        assert_eq!(err("").0, 255);
    }

    #[test]
    fn links() {
        assert_eq!(
            cmd("link add veth-ns1 type veth peer name veth-ns2"),
            IpCmd::LinkAdd {
                name: "veth-ns1".into(),
                kind: LinkKind::Veth {
                    peer: "veth-ns2".into(),
                    peer_netns: None
                }
            }
        );
        assert_eq!(
            cmd("link add name v1 type veth peer v2 netns ns2"),
            IpCmd::LinkAdd {
                name: "v1".into(),
                kind: LinkKind::Veth {
                    peer: "v2".into(),
                    peer_netns: Some("ns2".into())
                }
            }
        );
        assert_eq!(
            cmd("link add br0 type bridge"),
            IpCmd::LinkAdd {
                name: "br0".into(),
                kind: LinkKind::Bridge
            }
        );
        assert_eq!(
            cmd("link set dev veth-ns1 up"),
            IpCmd::LinkSet {
                dev: "veth-ns1".into(),
                changes: vec![LinkChange::Up]
            }
        );
        assert_eq!(
            cmd("link set veth-ns1 netns ns1"),
            IpCmd::LinkSet {
                dev: "veth-ns1".into(),
                changes: vec![LinkChange::Netns("ns1".into())]
            }
        );
        assert_eq!(
            cmd("l s v master br0 down nomaster address 02:00:00:00:00:01"),
            IpCmd::LinkSet {
                dev: "v".into(),
                changes: vec![
                    LinkChange::Master("br0".into()),
                    LinkChange::Down,
                    LinkChange::NoMaster,
                    LinkChange::Address("02:00:00:00:00:01".into())
                ]
            }
        );
        assert_eq!(
            cmd("link del veth0"),
            IpCmd::LinkDel {
                dev: "veth0".into()
            }
        );
        assert_eq!(
            cmd("link delete dev veth0"),
            IpCmd::LinkDel {
                dev: "veth0".into()
            }
        );
        assert_eq!(
            cmd("link show dev lo"),
            IpCmd::LinkShow {
                dev: Some("lo".into())
            }
        );
        assert_eq!(
            err("link del"),
            (
                255,
                "Not enough information: \"dev\" argument is required.".into()
            )
        );
        assert_eq!(
            err("link set v netns"),
            (
                255,
                "Command line is not complete. Try option \"help\"".into()
            )
        );
        assert_eq!(
            err("link add x type frob"),
            (2, "Error: Unknown device type.".into())
        );
        assert_eq!(
            err("link add x").1,
            "RTNETLINK answers: Operation not supported"
        );
        assert_eq!(
            err("link frob"),
            (
                255,
                "Command \"frob\" is unknown, try \"ip link help\".".into()
            )
        );
        assert_eq!(
            err("link set v1 v2"),
            (
                255,
                "Error: either \"dev\" is duplicate, or \"v2\" is a garbage.".into()
            )
        );
        // As in iproute2, a prefix of "address" is that keyword: `a b` sets address b.
        assert_eq!(err("link set a b"), (255, need_dev(255).stderr));
        assert!(err("link add d type dummy").1.contains("not supported"));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            cmd("addr add 10.0.0.1 dev v brd +"),
            IpCmd::AddrAdd {
                addr: "10.0.0.1/32".parse().unwrap(),
                dev: "v".into(),
                brd: true
            }
        );
        assert_eq!(
            cmd("a del local fd00::1/64 dev v"),
            IpCmd::AddrDel {
                addr: "fd00::1/64".parse().unwrap(),
                dev: "v".into()
            }
        );
        assert_eq!(
            cmd("a show veth0"),
            IpCmd::AddrShow {
                dev: Some("veth0".into())
            }
        );
        assert_eq!(
            err("addr add 10.0.0.1/24"),
            (
                1,
                "Not enough information: \"dev\" argument is required.".into()
            )
        );
        assert_eq!(
            err("addr add 300.0.0.1/24 dev v"),
            (
                1,
                "Error: any valid prefix is expected rather than \"300.0.0.1/24\".".into()
            )
        );
        assert_eq!(
            err("addr frob"),
            (
                255,
                "Command \"frob\" is unknown, try \"ip address help\".".into()
            )
        );
    }

    #[test]
    fn routes() {
        assert_eq!(
            cmd("route add default via 10.0.0.1"),
            IpCmd::RouteAdd(RouteSpec {
                dst: "default".into(),
                via: Some("10.0.0.1".parse().unwrap()),
                dev: None
            })
        );
        assert_eq!(
            cmd("r add 10.1.0.0/16 dev veth0"),
            IpCmd::RouteAdd(RouteSpec {
                dst: "10.1.0.0/16".into(),
                via: None,
                dev: Some("veth0".into())
            })
        );
        assert_eq!(
            cmd("route del to 10.1.0.0/16"),
            IpCmd::RouteDel(RouteSpec {
                dst: "10.1.0.0/16".into(),
                via: None,
                dev: None
            })
        );
        assert_eq!(
            err("route add 10.5.0.0/16"),
            (2, "RTNETLINK answers: No such device".into())
        );
        assert_eq!(
            err("route add 10.3.0.0/99 dev v"),
            (
                1,
                "Error: any valid prefix is expected rather than \"10.3.0.0/99\".".into()
            )
        );
        assert_eq!(
            err("route add 10.0.0.0/8 10.1.0.0/16 dev v"),
            (
                255,
                "Error: either \"to\" is duplicate, or \"10.1.0.0/16\" is a garbage.".into()
            )
        );
    }

    #[test]
    fn unknown_and_unsupported() {
        assert_eq!(
            err("foo"),
            (1, "Object \"foo\" is unknown, try \"ip help\".".into())
        );
        assert_eq!(err("rule").0, 1);
        assert!(err("rule").1.contains("not supported"));
    }
}
