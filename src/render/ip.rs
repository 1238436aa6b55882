//! Renders kernel snapshots the way iproute2 prints them: `ip addr show`, `ip link show` and
//! `ip route show` (+ `ip -6 route show`).
//!
//! The output is byte-for-byte what iproute2 (checked against 6.1) prints, trailing blanks
//! included: `ipaddress.c` and `iproute.c` print most fields as `"%s "`, so a line that ends
//! on such a field (an IPv6 address, an IPv4 route, a header without `qlen`) ends in a space.

use std::net::IpAddr;

use crate::kernel::state::{
    AddrInfo, LinkInfo, RouteInfo, IFF_ALLMULTI, IFF_BROADCAST, IFF_DORMANT, IFF_LOOPBACK,
    IFF_LOWER_UP, IFF_MASTER, IFF_MULTICAST, IFF_NOARP, IFF_POINTOPOINT, IFF_PROMISC, IFF_RUNNING,
    IFF_SLAVE, IFF_UP,
};

// `IFF_*` bits `kernel::state` does not define (values from <linux/if.h>).
const IFF_DEBUG: u32 = 1 << 2;
const IFF_NOTRAILERS: u32 = 1 << 5;
const IFF_PORTSEL: u32 = 1 << 13;
const IFF_AUTOMEDIA: u32 = 1 << 14;
const IFF_DYNAMIC: u32 = 1 << 15;
const IFF_ECHO: u32 = 1 << 18;

/// iproute2's `print_link_flags` table, in print order.
const LINK_FLAGS: [(u32, &str); 18] = [
    (IFF_LOOPBACK, "LOOPBACK"),
    (IFF_BROADCAST, "BROADCAST"),
    (IFF_POINTOPOINT, "POINTOPOINT"),
    (IFF_MULTICAST, "MULTICAST"),
    (IFF_NOARP, "NOARP"),
    (IFF_ALLMULTI, "ALLMULTI"),
    (IFF_PROMISC, "PROMISC"),
    (IFF_MASTER, "MASTER"),
    (IFF_SLAVE, "SLAVE"),
    (IFF_DEBUG, "DEBUG"),
    (IFF_DYNAMIC, "DYNAMIC"),
    (IFF_AUTOMEDIA, "AUTOMEDIA"),
    (IFF_PORTSEL, "PORTSEL"),
    (IFF_NOTRAILERS, "NOTRAILERS"),
    (IFF_UP, "UP"),
    (IFF_LOWER_UP, "LOWER_UP"),
    (IFF_DORMANT, "DORMANT"),
    (IFF_ECHO, "ECHO"),
];

/// iproute2's `ifa_flag_names` table order. It prints `dynamic` in the slot of `permanent`
/// (when that flag is absent), hence e.g. `nodad dynamic noprefixroute`.
const ADDR_FLAG_ORDER: [&str; 13] = [
    "secondary",
    "temporary",
    "nodad",
    "optimistic",
    "dadfailed",
    "home",
    "deprecated",
    "tentative",
    "dynamic",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "stable-privacy",
];

/// `ip addr show`: every link with its addresses.
pub fn ip_addr(links: &[LinkInfo]) -> String {
    links
        .iter()
        .map(|link| {
            let addrs: String = link.addrs.iter().map(|a| addr_lines(a, link)).collect();
            [header_line(link, links, false), link_line(link), addrs].concat()
        })
        .collect()
}

/// `ip link show`.
pub fn ip_link(links: &[LinkInfo]) -> String {
    links
        .iter()
        .map(|link| [header_line(link, links, true), link_line(link)].concat())
        .collect()
}

/// `ip addr show dev DEV`: that link's block alone (peers and masters still named from the
/// whole list), `None` when `links` has no `dev`.
pub fn ip_addr_dev(links: &[LinkInfo], dev: &str) -> Option<String> {
    let link = links.iter().find(|l| l.name == dev)?;
    let addrs: String = link.addrs.iter().map(|a| addr_lines(a, link)).collect();
    Some([header_line(link, links, false), link_line(link), addrs].concat())
}

/// `ip link show dev DEV`, `None` when `links` has no `dev`.
pub fn ip_link_dev(links: &[LinkInfo], dev: &str) -> Option<String> {
    let link = links.iter().find(|l| l.name == dev)?;
    Some([header_line(link, links, true), link_line(link)].concat())
}

/// `ip neigh show` (ipneigh.c's `print_neigh`): `DST dev DEV lladdr MAC STATE ` — each
/// field followed by a space —, entries in `NOARP` or no state left out as iproute2 does.
pub fn ip_neigh(entries: &[crate::kernel::NeighInfo]) -> String {
    const STATES: [(u16, &str); 8] = [
        (0x01, "INCOMPLETE"),
        (0x02, "REACHABLE"),
        (0x04, "STALE"),
        (0x08, "DELAY"),
        (0x10, "PROBE"),
        (0x20, "FAILED"),
        (0x40, "NOARP"),
        (0x80, "PERMANENT"),
    ];
    let mut out = String::new();
    for n in entries {
        if n.state == 0 || n.state & 0x40 != 0 {
            continue;
        }
        out.push_str(&format!("{} dev {} ", n.dst, n.dev));
        if let Some(mac) = &n.lladdr {
            out.push_str(&format!("lladdr {mac} "));
        }
        if n.router {
            out.push_str("router ");
        }
        for (bit, name) in STATES {
            if n.state & bit != 0 {
                out.push_str(name);
                out.push(' ');
            }
        }
        out.push('\n');
    }
    out
}

/// `ip route show` then `ip -6 route show`, main table.
pub fn ip_route(routes: &[RouteInfo]) -> String {
    let v4 = routes.iter().filter(|r| !r.ipv6);
    let v6 = routes.iter().filter(|r| r.ipv6 && !is_multicast(r));
    v4.chain(v6).map(route_line).collect()
}

/// The words between `<` and `>` of the header, in iproute2's order. `M-DOWN` is not among
/// them: it describes the peer, which only the whole link list knows (see [`ip_link`]).
pub fn link_flags(link: &LinkInfo) -> Vec<String> {
    let mut flags = link.flags;
    let mut words = Vec::new();
    if flags & IFF_UP != 0 && flags & IFF_RUNNING == 0 {
        words.push("NO-CARRIER".to_string());
    }
    flags &= !IFF_RUNNING;
    for (bit, name) in LINK_FLAGS {
        if flags & bit != 0 {
            words.push(name.to_string());
            flags &= !bit;
        }
    }
    // Bits without a name are printed as one hex number.
    if flags != 0 {
        words.push(format!("{flags:x}"));
    }
    words
}

/// `31: veth-ns1@if30: <…> mtu 1500 qdisc noqueue state UP group default qlen 1000`.
fn header_line(link: &LinkInfo, links: &[LinkInfo], link_mode: bool) -> String {
    let (peer, peer_down) = peer_suffix(link, links);
    // iproute2 always appends ",M-DOWN", even to an empty flag list.
    let m_down = if peer_down { ",M-DOWN" } else { "" };
    let qdisc = if link.qdisc.is_empty() {
        "noop"
    } else {
        &link.qdisc
    };
    let master = master_name(link, links)
        .map(|m| format!("master {m} "))
        .unwrap_or_default();
    let state = if link.operstate.is_empty() {
        String::new()
    } else {
        format!("state {} ", link.operstate)
    };
    // `mode` is IFLA_LINKMODE, which only `ip link` prints; snapshots do not carry it.
    let mode = if link_mode { "mode DEFAULT " } else { "" };
    let qlen = if link.txqlen > 0 {
        format!("qlen {}", link.txqlen)
    } else {
        String::new()
    };
    format!(
        "{}: {}{peer}: <{}{m_down}> mtu {} qdisc {qdisc} {master}{state}{mode}group {} {qlen}\n",
        link.ifindex,
        link.name,
        link_flags(link).join(","),
        link.mtu,
        group_name(link.group),
    )
}

/// The `@…` after the name, and whether the peer is down (iproute2's `m_flag`).
fn peer_suffix(link: &LinkInfo, links: &[LinkInfo]) -> (String, bool) {
    match link.peer_ifindex {
        None => (String::new(), false),
        Some(0) => ("@NONE".to_string(), false),
        // The peer's ifindex is only meaningful in its own namespace: no name, no flags.
        Some(n) if link.link_netnsid.is_some() => (format!("@if{n}"), false),
        Some(n) => match links.iter().find(|l| l.ifindex == n) {
            Some(peer) => (format!("@{}", peer.name), !peer.is_up()),
            // `ll_index_to_flags` yields 0 for an unknown index, which reads as "down".
            None => (format!("@if{n}"), true),
        },
    }
}

fn master_name(link: &LinkInfo, links: &[LinkInfo]) -> Option<String> {
    if let Some(name) = &link.master {
        return Some(name.clone());
    }
    let index = link.master_ifindex?;
    let name = links
        .iter()
        .find(|l| l.ifindex == index)
        .map(|l| l.name.clone());
    Some(name.unwrap_or_else(|| format!("if{index}")))
}

/// `/etc/iproute2/group` names only group 0.
fn group_name(group: u32) -> String {
    if group == 0 {
        "default".to_string()
    } else {
        group.to_string()
    }
}

/// `    link/ether 02:d6:f5:5a:68:aa brd ff:ff:ff:ff:ff:ff link-netnsid 1`.
fn link_line(link: &LinkInfo) -> String {
    let mut line = format!("    link/{} {}", link.link_type, link.mac);
    if !link.broadcast.is_empty() {
        // On point-to-point devices IFLA_BROADCAST holds the remote end.
        let word = if link.flags & IFF_POINTOPOINT != 0 {
            "peer"
        } else {
            "brd"
        };
        line += &format!(" {word} {}", link.broadcast);
    }
    match link.link_netnsid {
        Some(id) if id >= 0 => line += &format!(" link-netnsid {id}"),
        Some(_) => line += " link-netnsid unknown",
        None => {}
    }
    line + "\n"
}

/// The two lines of one address.
fn addr_lines(addr: &AddrInfo, link: &LinkInfo) -> String {
    let family = if addr.addr.is_ipv6() { "inet6" } else { "inet" };
    let mut line = format!("    {family} {} ", addr.cidr());
    if let Some(brd) = addr.broadcast {
        line += &format!("brd {brd} ");
    }
    line += &format!("scope {} ", addr.scope);
    for flag in addr_flags_in_order(&addr.flags) {
        line += &format!("{flag} ");
    }
    // Only IPv4 addresses carry IFA_LABEL; it defaults to the link name.
    if !addr.addr.is_ipv6() {
        line += addr.label.as_deref().unwrap_or(&link.name);
    }
    format!(
        "{line}\n       valid_lft {} preferred_lft {}\n",
        lifetime(addr.valid_lft),
        lifetime(addr.preferred_lft),
    )
}

/// Known flags in iproute2's order, unknown ones after them as given.
fn addr_flags_in_order(flags: &[String]) -> Vec<&str> {
    let mut sorted: Vec<&str> = flags.iter().map(String::as_str).collect();
    sorted.sort_by_key(|f| {
        ADDR_FLAG_ORDER
            .iter()
            .position(|known| known == f)
            .unwrap_or(ADDR_FLAG_ORDER.len())
    });
    sorted
}

fn lifetime(seconds: Option<u32>) -> String {
    seconds.map_or_else(|| "forever".to_string(), |s| format!("{s}sec"))
}

/// The per-device ff00::/8 routes belong to the local table, which `ip -6 route` does not
/// list; drop them should a snapshot include them.
fn is_multicast(route: &RouteInfo) -> bool {
    matches!(route.dst, Some((IpAddr::V6(a), _)) if a.is_multicast())
}

/// `172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 `: iproute2's
/// `print_route` (ip/iproute.c) field by field — the type unless it is `unicast`, the
/// destination, `via`, `dev`, `proto` unless it is `boot` (what `ip route add` and Docker's
/// libnetwork send), `scope` unless `global`, `src`, `metric`, the flags (`linkdown` …), and
/// for IPv6 `pref` last, each `"%s "` but `pref`.
fn route_line(route: &RouteInfo) -> String {
    let mut line = String::new();
    if route.kind != "unicast" {
        line += &format!("{} ", route.kind);
    }
    line += &format!("{} ", destination(route));
    if let Some(via) = route.via {
        line += &format!("via {via} ");
    }
    if let Some(dev) = &route.dev {
        line += &format!("dev {dev} ");
    }
    let proto = iproute2_name(&route.proto);
    if proto != "boot" {
        line += &format!("proto {proto} ");
    }
    let scope = iproute2_name(&route.scope);
    if scope != "global" {
        line += &format!("scope {scope} ");
    }
    if let Some(src) = route.src {
        line += &format!("src {src} ");
    }
    // The kernel leaves RTA_PRIORITY out of IPv4 routes with metric 0.
    match route.metric {
        Some(0) if !route.ipv6 => {}
        Some(metric) => line += &format!("metric {metric} "),
        None => {}
    }
    for word in route_flags(route.flags) {
        line += &format!("{word} ");
    }
    // RTA_PREF, which the kernel sends with every IPv6 route, printed without a blank.
    if let Some(pref) = &route.pref {
        line += &format!("pref {pref}");
    }
    line + "\n"
}

/// iproute2's `print_rt_flags`, in its order: `RTNH_F_DEAD`, `RTNH_F_ONLINK`,
/// `RTNH_F_PERVASIVE`, `RTNH_F_OFFLOAD`, `RTNH_F_TRAP`, `RTM_F_NOTIFY`, `RTNH_F_LINKDOWN`
/// (a route whose device has no carrier), `RTNH_F_UNRESOLVED`, `RTM_F_OFFLOAD`,
/// `RTM_F_TRAP`, `RTM_F_OFFLOAD_FAILED` (values from <linux/rtnetlink.h>).
fn route_flags(flags: u32) -> Vec<&'static str> {
    const NAMES: [(u32, &str); 11] = [
        (0x1, "dead"),
        (0x4, "onlink"),
        (0x2, "pervasive"),
        (0x8, "offload"),
        (0x40, "trap"),
        (0x100, "notify"),
        (0x10, "linkdown"),
        (0x20, "unresolved"),
        (0x4000, "rt_offload"),
        (0x8000, "rt_trap"),
        (0x2000_0000, "rt_offload_failed"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|&(_, name)| name)
        .collect()
}

/// `default`, `10.0.0.0/8`, or a bare address for a host route.
fn destination(route: &RouteInfo) -> String {
    match route.dst {
        None => "default".to_string(),
        Some((addr, prefix)) if prefix == host_prefix(addr) => addr.to_string(),
        Some((addr, prefix)) => format!("{addr}/{prefix}"),
    }
}

fn host_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv6() {
        128
    } else {
        32
    }
}

/// Maps netlink-packet-route's `Display` spellings of route protocols and scopes to the
/// names of iproute2's rt_protos / rt_scopes tables (numbers when iproute2 has no name).
fn iproute2_name(word: &str) -> &str {
    match word {
        "icmp_redirect" => "redirect",
        "merit_mrt" => "mrt",
        "decnet_routing_daemon" => "dnrouted",
        "netsukuku" => "ntk",
        "Dhcp" => "dhcp",
        "multicast_daemon" => "17",
        "keepalived_daemon" => "keepalived",
        "universe" => "global",
        "no_where" => "nowhere",
        _ => word
            .strip_prefix("other(")
            .and_then(|n| n.strip_suffix(')'))
            .unwrap_or(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETHER_BRD: &str = "ff:ff:ff:ff:ff:ff";

    fn link(ifindex: u32, name: &str, flags: u32, mac: &str) -> LinkInfo {
        LinkInfo {
            ipv6: false,
            ifindex,
            name: name.to_string(),
            peer_ifindex: None,
            link_netnsid: None,
            flags,
            mtu: 1500,
            qdisc: "noqueue".to_string(),
            operstate: "UP".to_string(),
            mac: mac.to_string(),
            broadcast: ETHER_BRD.to_string(),
            link_type: "ether".to_string(),
            kind: "veth".to_string(),
            master_ifindex: None,
            master: None,
            group: 0,
            txqlen: 1000,
            addrs: Vec::new(),
            bridge: None,
        }
    }

    fn addr(cidr: &str, scope: &str) -> AddrInfo {
        let (ip, prefix) = cidr.split_once('/').expect("test cidr has a prefix");
        AddrInfo {
            addr: ip.parse().expect("test address parses"),
            prefix: prefix.parse().expect("test prefix parses"),
            broadcast: None,
            scope: scope.to_string(),
            flags: Vec::new(),
            label: None,
            valid_lft: None,
            preferred_lft: None,
        }
    }

    fn route(dst: Option<&str>, dev: &str, proto: &str, scope: &str) -> RouteInfo {
        let dst = dst.map(|d| {
            let (ip, prefix) = d.split_once('/').expect("test dst has a prefix");
            let ip: IpAddr = ip.parse().expect("test dst parses");
            (ip, prefix.parse().expect("test prefix parses"))
        });
        let ipv6 = matches!(dst, Some((IpAddr::V6(_), _)));
        RouteInfo {
            kind: "unicast".to_string(),
            ipv6,
            dst,
            via: None,
            dev: Some(dev.to_string()),
            proto: proto.to_string(),
            scope: scope.to_string(),
            src: None,
            metric: None,
            flags: 0,
            // The kernel sends RTA_PREF with every IPv6 route.
            pref: ipv6.then(|| "medium".to_string()),
        }
    }

    const UP_RUNNING: u32 = IFF_BROADCAST | IFF_MULTICAST | IFF_UP | IFF_RUNNING | IFF_LOWER_UP;

    #[test]
    fn loopback_down() {
        let lo = [LinkInfo {
            ipv6: false,
            mtu: 65536,
            qdisc: "noop".to_string(),
            operstate: "DOWN".to_string(),
            broadcast: "00:00:00:00:00:00".to_string(),
            link_type: "loopback".to_string(),
            kind: String::new(),
            ..link(1, "lo", IFF_LOOPBACK, "00:00:00:00:00:00")
        }];
        assert_eq!(
            ip_addr(&lo),
            "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN group default qlen 1000\n\
             \x20   link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
        );
        assert_eq!(
            ip_link(&lo),
            "1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n\
             \x20   link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
        );
    }

    #[test]
    fn veth_with_peer_in_another_namespace() {
        let veth = LinkInfo {
            ipv6: false,
            peer_ifindex: Some(30),
            link_netnsid: Some(1),
            addrs: vec![
                addr("192.168.1.1/24", "global"),
                addr("fe80::d6:f5ff:fe5a:68aa/64", "link"),
            ],
            ..link(31, "veth-ns1", UP_RUNNING, "02:d6:f5:5a:68:aa")
        };
        assert_eq!(
            ip_addr(&[veth]),
            "31: veth-ns1@if30: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n\
             \x20   link/ether 02:d6:f5:5a:68:aa brd ff:ff:ff:ff:ff:ff link-netnsid 1\n\
             \x20   inet 192.168.1.1/24 scope global veth-ns1\n\
             \x20      valid_lft forever preferred_lft forever\n\
             \x20   inet6 fe80::d6:f5ff:fe5a:68aa/64 scope link \n\
             \x20      valid_lft forever preferred_lft forever\n"
        );
    }

    #[test]
    fn peer_down_in_another_namespace_is_not_m_down() {
        let veth = LinkInfo {
            ipv6: false,
            peer_ifindex: Some(7),
            link_netnsid: Some(0),
            ..link(8, "x1", IFF_BROADCAST | IFF_MULTICAST, "1e:eb:fb:d6:18:52")
        };
        assert!(ip_link(&[veth]).starts_with("8: x1@if7: <BROADCAST,MULTICAST> mtu"));
    }

    #[test]
    fn veth_pair_down_in_one_namespace() {
        let down = |ifindex, name: &str, peer, mac: &str| LinkInfo {
            ipv6: false,
            peer_ifindex: Some(peer),
            qdisc: "noop".to_string(),
            operstate: "DOWN".to_string(),
            ..link(ifindex, name, IFF_BROADCAST | IFF_MULTICAST, mac)
        };
        let links = [
            down(30, "veth-ns2", 31, "ea:3b:5f:08:37:5d"),
            down(31, "veth-ns1", 30, "3e:c1:45:cc:92:5e"),
        ];
        assert_eq!(
            ip_addr(&links),
            "30: veth-ns2@veth-ns1: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN group default qlen 1000\n\
             \x20   link/ether ea:3b:5f:08:37:5d brd ff:ff:ff:ff:ff:ff\n\
             31: veth-ns1@veth-ns2: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN group default qlen 1000\n\
             \x20   link/ether 3e:c1:45:cc:92:5e brd ff:ff:ff:ff:ff:ff\n"
        );
    }

    #[test]
    fn m_down_follows_the_peer_not_the_link() {
        let links = [
            LinkInfo {
                ipv6: false,
                peer_ifindex: Some(3),
                operstate: "DOWN".to_string(),
                ..link(2, "a", IFF_BROADCAST | IFF_MULTICAST, "ba:b8:0a:d1:12:37")
            },
            LinkInfo {
                ipv6: false,
                peer_ifindex: Some(2),
                operstate: "LOWERLAYERDOWN".to_string(),
                ..link(
                    3,
                    "b",
                    IFF_BROADCAST | IFF_MULTICAST | IFF_UP,
                    "96:a9:b4:ae:56:63",
                )
            },
        ];
        let out = ip_link(&links);
        assert!(out.contains("2: a@b: <BROADCAST,MULTICAST> mtu"));
        assert!(out.contains("3: b@a: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu"));
    }

    #[test]
    fn bridge_port_names_its_master() {
        let mut bridge_addr = addr("172.17.0.1/16", "global");
        bridge_addr.broadcast = Some("172.17.255.255".parse().expect("test address parses"));
        let bridge = LinkInfo {
            ipv6: false,
            kind: "bridge".to_string(),
            addrs: vec![bridge_addr],
            ..link(3, "docker0", UP_RUNNING, "02:42:8a:bf:39:c1")
        };
        // Bridge ports are not IFF_SLAVE (that is bonding); only IFLA_MASTER marks them.
        let port = LinkInfo {
            ipv6: false,
            peer_ifindex: Some(18),
            link_netnsid: Some(0),
            master_ifindex: Some(3),
            ..link(19, "vethf6a7340", UP_RUNNING, "1e:4b:5a:91:c3:07")
        };
        let by_index = ip_addr(&[bridge.clone(), port.clone()]);
        assert_eq!(
            by_index,
            "3: docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n\
             \x20   link/ether 02:42:8a:bf:39:c1 brd ff:ff:ff:ff:ff:ff\n\
             \x20   inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\n\
             \x20      valid_lft forever preferred_lft forever\n\
             19: vethf6a7340@if18: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP group default qlen 1000\n\
             \x20   link/ether 1e:4b:5a:91:c3:07 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n"
        );
        let named = LinkInfo {
            ipv6: false,
            master: Some("docker0".to_string()),
            master_ifindex: Some(99),
            ..port
        };
        assert_eq!(ip_addr(&[bridge, named]), by_index);
    }

    #[test]
    fn bridge_up_without_carrier() {
        let mut ll = addr("fe80::b8c3:efff:feaf:5c62/64", "link");
        ll.flags = vec!["tentative".to_string()];
        let bridge = LinkInfo {
            ipv6: false,
            operstate: "DOWN".to_string(),
            kind: "bridge".to_string(),
            addrs: vec![ll],
            ..link(
                4,
                "br0",
                IFF_BROADCAST | IFF_MULTICAST | IFF_UP,
                "ba:c3:ef:af:5c:62",
            )
        };
        assert_eq!(
            ip_addr(&[bridge]),
            "4: br0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default qlen 1000\n\
             \x20   link/ether ba:c3:ef:af:5c:62 brd ff:ff:ff:ff:ff:ff\n\
             \x20   inet6 fe80::b8c3:efff:feaf:5c62/64 scope link tentative \n\
             \x20      valid_lft forever preferred_lft forever\n"
        );
    }

    #[test]
    fn addresses_flags_labels_and_lifetimes() {
        let mut secondary = addr("10.0.0.2/24", "global");
        secondary.label = Some("a1:1".to_string());
        secondary.flags = vec!["secondary".to_string()];
        let mut temp = addr("10.1.0.1/16", "global");
        temp.flags = vec!["dynamic".to_string()];
        (temp.valid_lft, temp.preferred_lft) = (Some(100), Some(50));
        let mut v6 = addr("2001:db8::5/64", "global");
        // Given in the order kernel/rtnl.rs builds them; iproute2 prints its own order.
        v6.flags = ["dynamic", "nodad", "noprefixroute"]
            .map(String::from)
            .to_vec();
        let a1 = LinkInfo {
            ipv6: false,
            addrs: vec![secondary, temp, v6],
            ..link(3, "a1", UP_RUNNING, "fa:b1:c6:4b:51:e6")
        };
        let out = ip_addr(&[a1]);
        let addr_lines: Vec<&str> = out.lines().skip(2).collect();
        assert_eq!(
            addr_lines,
            [
                "    inet 10.0.0.2/24 scope global secondary a1:1",
                "       valid_lft forever preferred_lft forever",
                "    inet 10.1.0.1/16 scope global dynamic a1",
                "       valid_lft 100sec preferred_lft 50sec",
                "    inet6 2001:db8::5/64 scope global nodad dynamic noprefixroute ",
                "       valid_lft forever preferred_lft forever",
            ]
        );
    }

    #[test]
    fn header_without_qlen_keeps_the_blank_after_group() {
        let a1 = LinkInfo {
            ipv6: false,
            group: 5,
            txqlen: 0,
            flags: UP_RUNNING | IFF_PROMISC | IFF_ALLMULTI,
            ..link(3, "a1", 0, "fa:b1:c6:4b:51:e6")
        };
        assert_eq!(
            ip_link(&[a1]).lines().next(),
            Some("3: a1: <BROADCAST,MULTICAST,ALLMULTI,PROMISC,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group 5 ")
        );
    }

    #[test]
    fn tun_without_hardware_address() {
        let tun = LinkInfo {
            ipv6: false,
            qdisc: "pfifo_fast".to_string(),
            operstate: "DOWN".to_string(),
            broadcast: String::new(),
            link_type: "none".to_string(),
            txqlen: 500,
            ..link(
                4,
                "t0",
                IFF_POINTOPOINT | IFF_MULTICAST | IFF_NOARP | IFF_UP,
                "",
            )
        };
        assert_eq!(
            ip_link(&[tun]),
            "4: t0: <NO-CARRIER,POINTOPOINT,MULTICAST,NOARP,UP> mtu 1500 qdisc pfifo_fast state DOWN mode DEFAULT group default qlen 500\n\
             \x20   link/none \n"
        );
    }

    #[test]
    fn link_flags_follow_iproute2_table() {
        let all = link(1, "x", 0x7fff_ffff, "");
        assert_eq!(
            link_flags(&all).join(","),
            "LOOPBACK,BROADCAST,POINTOPOINT,MULTICAST,NOARP,ALLMULTI,PROMISC,MASTER,SLAVE,\
             DEBUG,DYNAMIC,AUTOMEDIA,PORTSEL,NOTRAILERS,UP,LOWER_UP,DORMANT,ECHO,7ff80000"
        );
        let carrierless = link(1, "x", IFF_UP | IFF_BROADCAST, "");
        assert_eq!(link_flags(&carrierless), ["NO-CARRIER", "BROADCAST", "UP"]);
        let running = link(1, "x", IFF_UP | IFF_RUNNING, "");
        assert_eq!(link_flags(&running), ["UP"]);
    }

    #[test]
    fn missing_peer_and_unset_link() {
        let orphan = LinkInfo {
            ipv6: false,
            peer_ifindex: Some(9),
            ..link(2, "v", IFF_BROADCAST, "")
        };
        let tunnel = LinkInfo {
            ipv6: false,
            peer_ifindex: Some(0),
            ..link(3, "tunl0", IFF_NOARP, "")
        };
        let out = ip_link(&[orphan, tunnel]);
        assert!(out.contains("2: v@if9: <BROADCAST,M-DOWN> mtu"));
        assert!(out.contains("3: tunl0@NONE: <NOARP> mtu"));
    }

    #[test]
    fn routes_v4_then_v6() {
        let default6 = RouteInfo {
            via: Some("fd00::1".parse().expect("test address parses")),
            metric: Some(1024),
            ipv6: true,
            pref: Some("medium".to_string()),
            ..route(None, "eth0", "boot", "global")
        };
        let default4 = RouteInfo {
            via: Some("172.17.0.1".parse().expect("test address parses")),
            ..route(None, "eth0", "boot", "global")
        };
        let connected = RouteInfo {
            src: Some("172.17.0.2".parse().expect("test address parses")),
            ..route(Some("172.17.0.0/16"), "eth0", "kernel", "link")
        };
        let static_gw = RouteInfo {
            via: Some("172.17.0.9".parse().expect("test address parses")),
            metric: Some(5),
            ..route(Some("10.0.0.0/8"), "eth0", "static", "universe")
        };
        let host = route(Some("10.9.9.9/32"), "eth0", "boot", "link");
        let link_local = RouteInfo {
            metric: Some(256),
            ..route(Some("fe80::/64"), "eth0", "kernel", "global")
        };
        let multicast = RouteInfo {
            metric: Some(256),
            ..route(Some("ff00::/8"), "eth0", "kernel", "global")
        };
        let dhcp = RouteInfo {
            metric: Some(100),
            ..route(Some("192.0.2.0/24"), "eth1", "Dhcp", "link")
        };
        let routes = [
            default6, default4, link_local, connected, multicast, static_gw, host, dhcp,
        ];
        assert_eq!(
            ip_route(&routes),
            "default via 172.17.0.1 dev eth0 \n\
             172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \n\
             10.0.0.0/8 via 172.17.0.9 dev eth0 proto static metric 5 \n\
             10.9.9.9 dev eth0 scope link \n\
             192.0.2.0/24 dev eth1 proto dhcp scope link metric 100 \n\
             default via fd00::1 dev eth0 metric 1024 pref medium\n\
             fe80::/64 dev eth0 proto kernel metric 256 pref medium\n"
        );
    }

    /// A container on the default bridge, as `docker exec c ip route` prints it on Docker
    /// 20.10: the default route libnetwork adds (`proto boot`, unprinted) first, then the
    /// kernel's connected route, in the order the kernel dumps them.
    #[test]
    fn container_routes_as_docker_shows_them() {
        let default = RouteInfo {
            via: Some("172.17.0.1".parse().expect("test address parses")),
            ..route(None, "eth0", "boot", "global")
        };
        let connected = RouteInfo {
            src: Some("172.17.0.2".parse().expect("test address parses")),
            ..route(Some("172.17.0.0/16"), "eth0", "kernel", "link")
        };
        assert_eq!(
            ip_route(&[default, connected]),
            "default via 172.17.0.1 dev eth0 \n\
             172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \n"
        );
    }

    /// A Docker host's table: docker0 without a port has no carrier, and the kernel marks
    /// its connected route `linkdown` (RTNH_F_LINKDOWN), printed after the source.
    #[test]
    fn linkdown_and_other_flags_follow_the_source() {
        let docker0 = RouteInfo {
            src: Some("172.17.0.1".parse().expect("test address parses")),
            flags: 0x10,
            ..route(Some("172.17.0.0/16"), "docker0", "kernel", "link")
        };
        let link_local = RouteInfo {
            metric: Some(256),
            flags: 0x10,
            ..route(Some("fe80::/64"), "docker0", "kernel", "global")
        };
        let onlink = RouteInfo {
            via: Some("10.0.0.1".parse().expect("test address parses")),
            flags: 0x4 | 0x1,
            ..route(Some("10.1.0.0/16"), "eth0", "boot", "global")
        };
        assert_eq!(
            ip_route(&[docker0, onlink, link_local]),
            "172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown \n\
             10.1.0.0/16 via 10.0.0.1 dev eth0 dead onlink \n\
             fe80::/64 dev docker0 proto kernel metric 256 linkdown pref medium\n"
        );
        assert_eq!(
            route_flags(0x2000_0000 | 0x10 | 0x100),
            ["notify", "linkdown", "rt_offload_failed"]
        );
    }

    /// Routes of other types lead with the type, as `ip route add unreachable 10.2.0.0/16`
    /// shows (`print_route` prints `rtnl_rtntype_n2a` unless the type is unicast); IPv6
    /// preferences other than medium print as their names.
    #[test]
    fn route_types_and_preferences() {
        let unreachable = RouteInfo {
            kind: "unreachable".to_string(),
            dev: None,
            ..route(Some("10.2.0.0/16"), "", "boot", "global")
        };
        let blackhole = RouteInfo {
            kind: "blackhole".to_string(),
            dev: None,
            ..route(Some("10.3.0.1/32"), "", "static", "global")
        };
        let high = RouteInfo {
            via: Some("fe80::1".parse().expect("test address parses")),
            metric: Some(1024),
            pref: Some("high".to_string()),
            ..route(None, "eth0", "ra", "global")
        };
        let high = RouteInfo { ipv6: true, ..high };
        assert_eq!(
            ip_route(&[unreachable, blackhole, high]),
            "unreachable 10.2.0.0/16 \n\
             blackhole 10.3.0.1 proto static \n\
             default via fe80::1 dev eth0 proto ra metric 1024 pref high\n"
        );
    }

    /// Docker's veths and bridges have no transmit queue (libnetwork creates them with
    /// TxQLen 0): `ip link` then prints no `qlen`, and the header ends in `group default `.
    #[test]
    fn dockers_links_without_a_queue() {
        let port = LinkInfo {
            ipv6: false,
            peer_ifindex: Some(16),
            link_netnsid: Some(0),
            master_ifindex: Some(3),
            txqlen: 0,
            ..link(17, "veth5807a9c", UP_RUNNING, "56:07:d9:2f:99:34")
        };
        let docker0 = LinkInfo {
            ipv6: false,
            kind: "bridge".to_string(),
            txqlen: 0,
            ..link(3, "docker0", UP_RUNNING, "02:42:36:51:ba:1a")
        };
        assert_eq!(
            ip_link(&[docker0, port]),
            "3: docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \n\
             \x20   link/ether 02:42:36:51:ba:1a brd ff:ff:ff:ff:ff:ff\n\
             17: veth5807a9c@if16: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP mode DEFAULT group default \n\
             \x20   link/ether 56:07:d9:2f:99:34 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n"
        );
    }

    #[test]
    fn route_names_from_netlink_crate() {
        assert_eq!(iproute2_name("other(99)"), "99");
        assert_eq!(iproute2_name("no_where"), "nowhere");
        assert_eq!(iproute2_name("kernel"), "kernel");
    }
}
