//! rtnetlink traffic of one namespace: requests for each [`Op`](super::Op), and dumps
//! turned into the plain snapshots of [`super::state`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

use futures::{StreamExt, TryStreamExt};
use ipnet::IpNet;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, BridgeStpState, InfoBridge, InfoData, InfoKind, InfoVeth,
    LinkAttribute, LinkInfo as NlLinkInfo, LinkLayerType, LinkMessage, State,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RoutePreference,
    RouteProtocol, RouteType,
};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::{
    AddressMessageBuilder, Handle, LinkBridge, LinkGetRequest, LinkMessageBuilder, LinkUnspec,
    LinkVeth, RouteMessageBuilder,
};

use super::op::Route;
use super::state::{AddrInfo, BridgeInfo, LinkInfo, RouteInfo};
use super::Errno;

/// A NETLINK_ROUTE socket in the calling thread's namespace (call it from inside one).
pub fn open_socket() -> std::io::Result<OwnedFd> {
    let s = rtnetlink::sys::Socket::new(rtnetlink::sys::protocols::NETLINK_ROUTE)?;
    // Strict checking lets the kernel filter dumps by the header's fields (the addresses
    // of one link), so a lookup costs the same with 2 or 2000 interfaces.
    s.set_netlink_get_strict_chk(true)?;
    // SAFETY: we own the descriptor we just created and hand it over whole.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(s.into_raw_fd()) })
}

/// Starts driving `sock` on `rt`; requests go through the returned handle.
pub fn start(sock: OwnedFd, rt: &tokio::runtime::Handle) -> (Handle, tokio::task::JoinHandle<()>) {
    let _entered = rt.enter();
    // SAFETY: `sock` is a valid, owned netlink socket; TokioSocket takes ownership.
    let tokio_sock = unsafe {
        <rtnetlink::sys::TokioSocket as std::os::fd::FromRawFd>::from_raw_fd(sock.into_raw_fd())
    };
    let (conn, handle, _) = rtnetlink::from_socket(tokio_sock);
    let task = rt.spawn(conn);
    (handle, task)
}

/// Opens a NETLINK_ROUTE socket inside `ns` and starts its connection on `rt`.
pub fn connect(
    ns: BorrowedFd<'_>,
    rt: &tokio::runtime::Handle,
) -> std::io::Result<(Handle, tokio::task::JoinHandle<()>)> {
    let sock = super::netns::run_in(ns, open_socket)?;
    Ok(start(sock, rt))
}

pub fn errno_of(e: &rtnetlink::Error) -> Option<Errno> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => Some(Errno::from_raw(-msg.raw_code())),
        _ => None,
    }
}

pub type Result<T> = std::result::Result<T, rtnetlink::Error>;

/// The one link a `RTM_GETLINK` request by name or index answers; `None` if there is none.
async fn one_link(req: LinkGetRequest) -> Result<Option<LinkMessage>> {
    match req.execute().try_next().await {
        Ok(msg) => Ok(msg),
        Err(e) if errno_of(&e) == Some(Errno::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn link_index(h: &Handle, name: &str) -> Result<Option<u32>> {
    let msg = one_link(h.link().get().match_name(name.to_string())).await?;
    Ok(msg.map(|m| m.header.index))
}

/// One link by name as a single request answers it: flags, state, kind — no addresses, no
/// master's name. `None` if there is none.
pub async fn get_link_brief(h: &Handle, name: &str) -> Result<Option<LinkInfo>> {
    let msg = one_link(h.link().get().match_name(name.to_string())).await?;
    Ok(msg.as_ref().map(link_info))
}

/// [`get_link_brief`] by interface index.
pub async fn get_link_brief_by_index(h: &Handle, index: u32) -> Result<Option<LinkInfo>> {
    let msg = one_link(h.link().get().match_index(index)).await?;
    Ok(msg.as_ref().map(link_info))
}

/// Whether an IPv6 address on one of the links `indexes` is still tentative
/// (`IFA_F_TENTATIVE` without `IFA_F_DADFAILED`): one `RTM_GETADDR` dump of the IPv6 family.
pub async fn any_tentative(h: &Handle, indexes: &[u32]) -> Result<bool> {
    let mut req = h.address().get();
    req.message_mut().header.family = netlink_packet_route::AddressFamily::Inet6;
    let addrs: Vec<AddressMessage> = req.execute().try_collect().await?;
    Ok(addrs
        .iter()
        .filter(|a| indexes.contains(&a.header.index))
        .map(addr_flags)
        .any(|f| f.contains(AddressFlags::Tentative) && !f.contains(AddressFlags::Dadfailed)))
}

/// One link by name, with its addresses and its master's name; `None` if there is none.
pub async fn get_link(h: &Handle, name: &str) -> Result<Option<LinkInfo>> {
    let Some(msg) = one_link(h.link().get().match_name(name.to_string())).await? else {
        return Ok(None);
    };
    let mut info = link_info(&msg);
    if let Some(m) = info.master_ifindex {
        let mut req = h.link().get().match_index(m).execute();
        if let Some(master) = req.try_next().await? {
            info.master = Some(link_info(&master).name);
        }
    }
    let mut req = h.address().get().set_link_index_filter(info.ifindex);
    req.message_mut().header.index = info.ifindex;
    let addrs: Vec<AddressMessage> = req.execute().try_collect().await?;
    info.addrs = addrs.iter().filter_map(addr_info).collect();
    info.addrs.sort_by_key(|a| a.addr.is_ipv6());
    Ok(Some(info))
}

/// A veth pair to create, with what the same `RTM_NEWLINK` sets up (see
/// [`super::op::VethSetup`]).
pub struct Veth<'a> {
    pub name: &'a str,
    pub peer: &'a str,
    /// Where the peer is created (`IFLA_NET_NS_FD` in the peer's message); `None`: beside
    /// the first end.
    pub peer_ns: Option<&'a OwnedFd>,
    /// Both ends' transmit queue length; `None` leaves the kernel's default (1000).
    pub txqlen: Option<u32>,
    /// Both ends' MTU; `None` leaves the kernel's default (1500).
    pub mtu: Option<u32>,
    /// Both ends' number of transmit and receive queues; `None` leaves the kernel's
    /// default (see [`super::op::VethSetup::queues`]).
    pub queues: Option<u32>,
    /// The ifindex of the bridge the first end joins (`IFLA_MASTER`).
    pub master: Option<u32>,
    /// The peer's MAC; `None` lets the kernel pick a random one.
    pub peer_mac: Option<[u8; 6]>,
    /// The first end up (`IFF_UP` in its header).
    pub up: bool,
    /// The first end's interface index (in its header); `None`: the kernel's next.
    pub index: Option<u32>,
    /// The peer's interface index (in its header), honoured with `index` only.
    pub peer_index: Option<u32>,
}

/// `ip link add NAME [txqueuelen N] [mtu N] [numtxqueues N numrxqueues N] [master BR] [up]
/// type veth peer name PEER [txqueuelen N] [mtu N] [numtxqueues N numrxqueues N]
/// [address MAC] [netns NS]`, in one request. The kernel
/// gives each end the default queue length (1000) unless its own message carries
/// IFLA_TXQLEN, so `txqlen` is set in both, as vishvananda/netlink does for Docker; the
/// peer's flags, MTU and MAC come from its own message too (`veth_newlink`).
///
/// Returns the peer's ifindex, in its own namespace, as the kernel echoes the new link
/// (`NLM_F_ECHO`, honoured for new links since Linux 6.3; `IFLA_LINK` of a veth is its
/// peer's index); `None` from a kernel that does not echo.
pub async fn add_veth(h: &Handle, v: &Veth<'_>) -> Result<Option<u32>> {
    let mut builder = LinkVeth::new(v.name, v.peer);
    let mut peer_msg = LinkMessageBuilder::<LinkUnspec>::new().name(v.peer.to_string());
    if let Some(fd) = v.peer_ns {
        peer_msg = peer_msg.setns_by_fd(fd.as_raw_fd());
    }
    if let Some(n) = v.txqlen {
        peer_msg = peer_msg.txqueuelen(n);
        builder = builder.txqueuelen(n);
    }
    if let Some(mtu) = v.mtu {
        peer_msg = peer_msg.mtu(mtu);
        builder = builder.mtu(mtu);
    }
    if let Some(n) = v.queues {
        for q in [LinkAttribute::NumTxQueues(n), LinkAttribute::NumRxQueues(n)] {
            peer_msg = peer_msg.append_extra_attribute(q.clone());
            builder = builder.append_extra_attribute(q);
        }
    }
    if let Some(mac) = v.peer_mac {
        peer_msg = peer_msg.address(mac.to_vec());
    }
    if let Some(m) = v.master {
        builder = builder.controller(m);
    }
    if let Some(i) = v.index {
        builder = builder.index(i);
    }
    if let Some(i) = v.peer_index {
        peer_msg = peer_msg.index(i);
    }
    if v.up {
        // Not the peer: the kernel brings it up before pairing it (`veth_newlink`), and a
        // veth without its peer refuses to open (ENOTCONN).
        builder = builder.up();
    }
    builder = builder.set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg.build())));
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewLink(builder.build()));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
    let mut replies = h.clone().request(req)?;
    let mut peer = None;
    while let Some(reply) = replies.next().await {
        match reply.payload {
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(rtnetlink::Error::NetlinkError(e))
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                peer = link.attributes.iter().find_map(|a| match a {
                    LinkAttribute::Link(i) => Some(*i),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    Ok(peer)
}

/// `ip link add NAME [index N] [address MAC] [txqueuelen N] type bridge`.
pub async fn add_bridge(
    h: &Handle,
    name: &str,
    index: Option<u32>,
    mac: Option<[u8; 6]>,
    txqlen: Option<u32>,
    up: bool,
) -> Result<()> {
    // LinkBridge::new asks for IFF_UP; the kernel itself creates a bridge down.
    let mut b = LinkMessageBuilder::<LinkBridge>::new(name);
    if let Some(i) = index {
        b = b.index(i);
    }
    if up {
        b = b.up();
    }
    if let Some(mac) = mac {
        b = b.address(mac.to_vec());
    }
    if let Some(n) = txqlen {
        b = b.txqueuelen(n);
    }
    h.link().add(b.build()).execute().await
}

/// `ip link set dev DEV address MAC`. Like the other setters it names the device and lets
/// the kernel find it (`IFLA_IFNAME`, `ENODEV` when there is none): one round trip, not two.
pub async fn set_mac(h: &Handle, dev: &str, mac: [u8; 6]) -> Result<()> {
    let msg = LinkUnspec::new_with_name(dev).address(mac.to_vec()).build();
    h.link().set(msg).execute().await
}

/// `ip link set dev DEV mtu N` (by name, like the other setters).
pub async fn set_mtu(h: &Handle, dev: &str, mtu: u32) -> Result<()> {
    let msg = LinkUnspec::new_with_name(dev).mtu(mtu).build();
    h.link().set(msg).execute().await
}

/// `aa:bb:cc:dd:ee:ff` as bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

pub async fn del_link(h: &Handle, index: u32) -> Result<()> {
    h.link().del(index).execute().await
}

pub async fn move_link(h: &Handle, index: u32, to: &OwnedFd) -> Result<()> {
    let msg = LinkUnspec::new_with_index(index)
        .setns_by_fd(to.as_raw_fd())
        .build();
    h.link().set(msg).execute().await
}

pub async fn set_up(h: &Handle, dev: &str, up: bool) -> Result<()> {
    let b = LinkUnspec::new_with_name(dev);
    let msg = if up { b.up() } else { b.down() }.build();
    h.link().set(msg).execute().await
}

pub async fn set_master(h: &Handle, dev: &str, master: Option<u32>) -> Result<()> {
    let b = LinkUnspec::new_with_name(dev);
    let msg = match master {
        Some(m) => b.controller(m),
        None => b.nocontroller(),
    }
    .build();
    h.link().set(msg).execute().await
}

pub async fn add_addr(h: &Handle, index: u32, addr: IpNet, brd: bool) -> Result<()> {
    let mut req = h.address().add(index, addr.addr(), addr.prefix_len());
    if !brd {
        // rtnetlink always sets IFA_BROADCAST for IPv4; `ip addr add` without `brd` does not.
        req.message_mut()
            .attributes
            .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
    }
    req.execute().await
}

pub async fn del_addr(h: &Handle, index: u32, addr: IpNet) -> Result<()> {
    let msg = match addr.addr() {
        IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new()
            .index(index)
            .address(a, addr.prefix_len())
            .build(),
        IpAddr::V6(a) => AddressMessageBuilder::<Ipv6Addr>::new()
            .index(index)
            .address(a, addr.prefix_len())
            .build(),
    };
    h.address().del(msg).execute().await
}

/// The request for adding (or replacing, or deleting) `route` through interface `oif`, with
/// the header `ip route add|replace|del` sends (iproute2's `iproute_modify`): a new route is
/// `proto boot`, `scope global` (`scope link` for a route through a device without a
/// gateway), `type unicast` — libnetwork's routes come out the same, since vishvananda/netlink
/// also sends `RTPROT_BOOT`, which `ip route` leaves unprinted. A deletion leaves protocol,
/// type and scope unset (scope `nowhere`), so it matches the route whoever added it.
pub fn route_message(route: &Route, oif: Option<u32>, delete: bool) -> RouteMessage {
    let mut b = RouteMessageBuilder::<IpAddr>::new();
    let v6 = route.is_ipv6();
    if let Some(dst) = route.dst {
        b = match b.destination_prefix(dst.network(), dst.prefix_len()) {
            Ok(b) => b,
            Err(_) => unreachable!("prefix lengths come from a parsed IpNet"),
        };
    }
    let mut msg = b.build();
    msg.header.address_family = if v6 {
        netlink_packet_route::AddressFamily::Inet6
    } else {
        netlink_packet_route::AddressFamily::Inet
    };
    msg.header.protocol = RouteProtocol::Boot;
    if let Some(via) = route.via {
        msg.attributes.push(RouteAttribute::Gateway(match via {
            IpAddr::V4(a) => RouteAddress::Inet(a),
            IpAddr::V6(a) => RouteAddress::Inet6(a),
        }));
    } else if oif.is_some() && route.dst.is_some() {
        // `ip route add 10.0.0.0/8 dev eth0` installs a link-scope route.
        msg.header.scope = netlink_packet_route::route::RouteScope::Link;
    }
    if delete {
        msg.header.protocol = RouteProtocol::Unspec;
        msg.header.scope = netlink_packet_route::route::RouteScope::NoWhere;
        msg.header.kind = RouteType::Unspec;
    }
    if let Some(oif) = oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    msg
}

pub async fn add_route(h: &Handle, msg: RouteMessage) -> Result<()> {
    h.route().add(msg).execute().await
}

/// `ip route replace`: adds the route or replaces the one with the same destination.
pub async fn replace_route(h: &Handle, msg: RouteMessage) -> Result<()> {
    h.route().add(msg).replace().execute().await
}

pub async fn del_route(h: &Handle, msg: RouteMessage) -> Result<()> {
    h.route().del(msg).execute().await
}

/// Every link of the namespace with its addresses, in ifindex order.
pub async fn dump_links(h: &Handle) -> Result<Vec<LinkInfo>> {
    let msgs: Vec<LinkMessage> = h.link().get().execute().try_collect().await?;
    let mut links: Vec<LinkInfo> = msgs.iter().map(link_info).collect();
    links.sort_by_key(|l| l.ifindex);
    let names: Vec<(u32, String)> = links.iter().map(|l| (l.ifindex, l.name.clone())).collect();
    for l in &mut links {
        if let Some(m) = l.master_ifindex {
            l.master = names.iter().find(|(i, _)| *i == m).map(|(_, n)| n.clone());
        }
    }
    let addrs: Vec<AddressMessage> = h.address().get().execute().try_collect().await?;
    for a in &addrs {
        if let Some(link) = links.iter_mut().find(|l| l.ifindex == a.header.index) {
            if let Some(info) = addr_info(a) {
                link.addrs.push(info);
            }
        }
    }
    // `ip addr` lists IPv4 before IPv6 on each link.
    for l in &mut links {
        l.addrs.sort_by_key(|a| a.addr.is_ipv6());
    }
    Ok(links)
}

fn link_info(m: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        ifindex: m.header.index,
        name: String::new(),
        peer_ifindex: None,
        link_netnsid: None,
        flags: m.header.flags.bits(),
        mtu: 0,
        qdisc: String::new(),
        operstate: "UNKNOWN".into(),
        mac: String::new(),
        broadcast: String::new(),
        link_type: link_type_name(m.header.link_layer_type),
        kind: String::new(),
        master_ifindex: None,
        master: None,
        group: 0,
        txqlen: 0,
        addrs: Vec::new(),
        ipv6: false,
        bridge: None,
    };
    for attr in &m.attributes {
        match attr {
            LinkAttribute::IfName(n) => info.name = n.clone(),
            // Whatever the kernel sends, iproute2 prints (`@NONE` for 0). It leaves IFLA_LINK
            // out when the link is its own parent, but sends it for a peer in another
            // namespace even when that peer's index equals the link's own ("rtnetlink:
            // always put IFLA_LINK for links with a link-netnsid", Linux 5.8): `eth0@if2`.
            LinkAttribute::Link(i) => info.peer_ifindex = Some(*i),
            LinkAttribute::LinkNetNsId(id) => info.link_netnsid = Some(*id),
            LinkAttribute::Mtu(v) => info.mtu = *v,
            LinkAttribute::Qdisc(q) => info.qdisc = q.clone(),
            LinkAttribute::OperState(s) => info.operstate = state_name(*s),
            LinkAttribute::Address(a) => info.mac = mac(a),
            LinkAttribute::Broadcast(a) => info.broadcast = mac(a),
            LinkAttribute::Controller(i) => info.master_ifindex = Some(*i),
            LinkAttribute::Group(g) => info.group = *g,
            LinkAttribute::TxQueueLen(q) => info.txqlen = *q,
            LinkAttribute::AfSpecUnspec(specs) => {
                for spec in specs {
                    if let AfSpecUnspec::Inet6(attrs) = spec {
                        for a in attrs {
                            if let AfSpecInet6::DevConf(conf) = a {
                                info.ipv6 = conf.disable_ipv6 == 0;
                            }
                        }
                    }
                }
            }
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        NlLinkInfo::Kind(k) => info.kind = kind_name(k),
                        NlLinkInfo::Data(InfoData::Bridge(attrs)) => {
                            info.bridge = Some(bridge_info(attrs))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    info
}

fn bridge_info(attrs: &[InfoBridge]) -> BridgeInfo {
    // The kernel's defaults when an attribute is missing.
    let mut b = BridgeInfo::default();
    for a in attrs {
        match a {
            InfoBridge::StpState(s) => b.stp = !matches!(s, BridgeStpState::Disabled),
            InfoBridge::Priority(p) => b.priority = *p,
            _ => {}
        }
    }
    b
}

fn kind_name(k: &InfoKind) -> String {
    k.to_string()
}

fn link_type_name(t: LinkLayerType) -> String {
    match t {
        LinkLayerType::Ether => "ether".into(),
        LinkLayerType::Loopback => "loopback".into(),
        LinkLayerType::None => "none".into(),
        other => other.to_string().to_lowercase(),
    }
}

fn state_name(s: State) -> String {
    match s {
        State::Unknown => "UNKNOWN".into(),
        State::NotPresent => "NOTPRESENT".into(),
        State::Down => "DOWN".into(),
        State::LowerLayerDown => "LOWERLAYERDOWN".into(),
        State::Testing => "TESTING".into(),
        State::Dormant => "DORMANT".into(),
        State::Up => "UP".into(),
        State::Other(n) => format!("STATE{n}"),
        _ => "UNKNOWN".into(),
    }
}

fn mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An address's `IFA_F_*` flags: the 32-bit `IFA_FLAGS` attribute when the kernel sends
/// it, else the header's 8 bits.
fn addr_flags(a: &AddressMessage) -> AddressFlags {
    a.attributes
        .iter()
        .rev()
        .find_map(|attr| match attr {
            AddressAttribute::Flags(f) => Some(*f),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_truncate(u32::from(a.header.flags.bits())))
}

fn addr_info(a: &AddressMessage) -> Option<AddrInfo> {
    let mut address = None;
    let mut local = None;
    let mut broadcast = None;
    let mut label = None;
    let flags = addr_flags(a);
    let mut lifetimes = None;
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Broadcast(b) => broadcast = Some(IpAddr::V4(*b)),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::CacheInfo(c) => lifetimes = Some((c.ifa_valid, c.ifa_preferred)),
            _ => {}
        }
    }
    let addr = local.or(address)?;
    let mut flag_names = Vec::new();
    if !flags.contains(AddressFlags::Permanent) {
        flag_names.push("dynamic".to_string());
    }
    for (f, name) in [
        (AddressFlags::Nodad, "nodad"),
        (AddressFlags::Tentative, "tentative"),
        (AddressFlags::Dadfailed, "dadfailed"),
        (AddressFlags::Noprefixroute, "noprefixroute"),
    ] {
        if flags.contains(f) {
            flag_names.push(name.to_string());
        }
    }
    let forever = |v: u32| if v == u32::MAX { None } else { Some(v) };
    let (valid, preferred) = lifetimes.unwrap_or((u32::MAX, u32::MAX));
    Some(AddrInfo {
        addr,
        prefix: a.header.prefix_len,
        broadcast,
        scope: scope_name(a.header.scope),
        flags: flag_names,
        label,
        valid_lft: forever(valid),
        preferred_lft: forever(preferred),
    })
}

fn scope_name(s: AddressScope) -> String {
    match s {
        AddressScope::Universe => "global".into(),
        AddressScope::Site => "site".into(),
        AddressScope::Link => "link".into(),
        AddressScope::Host => "host".into(),
        AddressScope::Nowhere => "nowhere".into(),
        AddressScope::Other(n) => n.to_string(),
        _ => "global".into(),
    }
}

/// The main routing table, IPv4 then IPv6, as `ip route` / `ip -6 route` list it: every
/// route of table main, of any protocol and type, in the order the kernel dumps them (the
/// FIB's own order, which `ip` prints unsorted).
///
/// The request's header is a filter: with `NETLINK_GET_STRICT_CHK` on (see
/// [`open_socket`]) the kernel keeps only the routes whose table, protocol and type match the
/// header's non-zero fields (`ip_valid_fib_dump_req`, `inet6_dump_fib`). rtnetlink's
/// `RouteMessageBuilder` fills in `protocol static` and `type unicast` for new routes, which
/// as a dump filter hid the kernel's own connected routes (`proto kernel`); the header here
/// asks for table main only, as iproute2's `ip route show` does. Cached clones
/// (`RTM_F_CLONED`) are not asked for, as `ip route show` does not list them.
pub async fn dump_routes(h: &Handle, links: &[LinkInfo]) -> Result<Vec<RouteInfo>> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        let mut query = RouteMessage::default();
        query.header.address_family = if v6 {
            netlink_packet_route::AddressFamily::Inet6
        } else {
            netlink_packet_route::AddressFamily::Inet
        };
        query.header.table = RouteHeader::RT_TABLE_MAIN;
        let msgs: Vec<RouteMessage> = h.route().get(query).execute().try_collect().await?;
        for m in msgs {
            if m.header.table != RouteHeader::RT_TABLE_MAIN
                || m.header.flags.contains(RouteFlags::Cloned)
            {
                continue;
            }
            out.push(route_info(&m, links, v6));
        }
    }
    Ok(out)
}

/// The ID the namespace of `h` knows the namespace open as `fd` by (`RTM_GETNSID` with
/// `NETNSA_FD`, as iproute2's `ip netns list` asks), `None` when none is assigned: asking
/// does not assign one.
pub async fn get_nsid(h: &Handle, fd: i32) -> Result<Option<i32>> {
    use futures::StreamExt;
    use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
    use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
    use netlink_packet_route::RouteNetlinkMessage;
    let mut msg = NsidMessage::default();
    msg.attributes.push(NsidAttribute::Fd(fd as u32));
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::GetNsId(msg));
    req.header.flags = NLM_F_REQUEST;
    let mut replies = h.clone().request(req)?;
    while let Some(m) = replies.next().await {
        match m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNsId(m)) => {
                let id = m.attributes.iter().find_map(|a| match a {
                    NsidAttribute::Id(id) => Some(*id),
                    _ => None,
                });
                return Ok(id.filter(|id| *id >= 0));
            }
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(rtnetlink::Error::NetlinkError(e))
            }
            _ => {}
        }
    }
    Ok(None)
}

/// `ip neigh show`: every neighbour entry of both families (`RTM_GETNEIGH`, family
/// unspecified, as iproute2 asks), in the kernel's order.
pub async fn dump_neighbours(h: &Handle, links: &[LinkInfo]) -> Result<Vec<super::NeighInfo>> {
    use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourFlags};
    let msgs: Vec<_> = h.neighbours().get().execute().try_collect().await?;
    let mut out = Vec::new();
    for m in msgs {
        let mut dst = None;
        let mut lladdr = None;
        for a in &m.attributes {
            match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                    dst = Some(IpAddr::V4(*v4))
                }
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                    dst = Some(IpAddr::V6(*v6))
                }
                NeighbourAttribute::LinkLayerAddress(bytes) => {
                    lladdr = Some(
                        bytes
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                    )
                }
                _ => {}
            }
        }
        let Some(dst) = dst else { continue };
        let ifindex = m.header.ifindex;
        let dev = links
            .iter()
            .find(|l| l.ifindex == ifindex)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("if{ifindex}"));
        out.push(super::NeighInfo {
            dst,
            dev,
            lladdr,
            state: u16::from(m.header.state),
            router: m.header.flags.contains(NeighbourFlags::Router),
        });
    }
    Ok(out)
}

fn route_info(m: &RouteMessage, links: &[LinkInfo], v6: bool) -> RouteInfo {
    let ip = |a: &RouteAddress| match a {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    };
    let mut r = RouteInfo {
        kind: route_type_name(m.header.kind),
        dst: None,
        via: None,
        dev: None,
        proto: m.header.protocol.to_string(),
        scope: match m.header.scope {
            netlink_packet_route::route::RouteScope::Universe => "global".into(),
            other => other.to_string(),
        },
        src: None,
        metric: None,
        flags: m.header.flags.bits(),
        pref: None,
        ipv6: v6,
    };
    for attr in &m.attributes {
        match attr {
            RouteAttribute::Destination(a) => {
                r.dst = ip(a).map(|a| (a, m.header.destination_prefix_length))
            }
            RouteAttribute::Gateway(a) => r.via = ip(a),
            RouteAttribute::PrefSource(a) => r.src = ip(a),
            RouteAttribute::Oif(i) => {
                r.dev = links
                    .iter()
                    .find(|l| l.ifindex == *i)
                    .map(|l| l.name.clone())
            }
            RouteAttribute::Priority(p) => r.metric = Some(*p),
            RouteAttribute::Preference(p) => r.pref = Some(pref_name(*p)),
            _ => {}
        }
    }
    r
}

/// iproute2's `rtnl_rtntype_n2a` names.
fn route_type_name(t: RouteType) -> String {
    match t {
        RouteType::Unspec => "none".into(),
        RouteType::Unicast => "unicast".into(),
        RouteType::Local => "local".into(),
        RouteType::Broadcast => "broadcast".into(),
        RouteType::Anycast => "anycast".into(),
        RouteType::Multicast => "multicast".into(),
        RouteType::BlackHole => "blackhole".into(),
        RouteType::Unreachable => "unreachable".into(),
        RouteType::Prohibit => "prohibit".into(),
        RouteType::Throw => "throw".into(),
        RouteType::Nat => "nat".into(),
        RouteType::ExternalResolve => "xresolve".into(),
        other => u8::from(other).to_string(),
    }
}

/// iproute2 prints RTA_PREF as `low`, `medium`, `high`, or the number.
fn pref_name(p: RoutePreference) -> String {
    match p {
        RoutePreference::Low => "low".into(),
        RoutePreference::Medium => "medium".into(),
        RoutePreference::High => "high".into(),
        other => u8::from(other).to_string(),
    }
}
