//! Plain snapshots of kernel state, read back over netlink. No netlink types leak out of
//! `kernel/`: renderers and script bindings work on these.

use std::net::IpAddr;

/// One interface as `ip link` / `ip addr` sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    /// `IFLA_LINK`: for a veth, the peer's ifindex (in the peer's namespace).
    pub peer_ifindex: Option<u32>,
    /// `IFLA_LINK_NETNSID`: set when the peer lives in another namespace.
    pub link_netnsid: Option<i32>,
    /// Raw `IFF_*` flags.
    pub flags: u32,
    pub mtu: u32,
    pub qdisc: String,
    /// Kernel operational state, as `ip` prints it (UP, DOWN, LOWERLAYERDOWN, UNKNOWN …).
    pub operstate: String,
    pub mac: String,
    pub broadcast: String,
    /// `link/ether`, `link/loopback` …
    pub link_type: String,
    /// `veth`, `bridge` … (`IFLA_INFO_KIND`), empty for devices without one (`lo`).
    pub kind: String,
    pub master_ifindex: Option<u32>,
    pub master: Option<String>,
    pub group: u32,
    pub txqlen: u32,
    pub addrs: Vec<AddrInfo>,
    /// IPv6 runs on the link (its `net.ipv6.conf.DEV.disable_ipv6` is 0, as the link's
    /// `IFLA_INET6_CONF` says): it gets a link-local address as its carrier comes up.
    pub ipv6: bool,
    /// Bridge devices only: whether STP runs, and the bridge priority (the first half of
    /// the bridge id `8000.0242…`).
    pub bridge: Option<BridgeInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BridgeInfo {
    pub stp: bool,
    pub priority: u16,
}

impl Default for BridgeInfo {
    /// The kernel's defaults for a new bridge: STP off, priority 0x8000.
    fn default() -> Self {
        BridgeInfo {
            stp: false,
            priority: 0x8000,
        }
    }
}

/// One address on an interface.
#[derive(Debug, Clone, PartialEq)]
pub struct AddrInfo {
    pub addr: IpAddr,
    pub prefix: u8,
    pub broadcast: Option<IpAddr>,
    pub scope: String,
    /// `IFA_F_*` flags that `ip` prints (tentative, dadfailed, nodad, …).
    pub flags: Vec<String>,
    pub label: Option<String>,
    /// Seconds, or `None` for "forever".
    pub valid_lft: Option<u32>,
    pub preferred_lft: Option<u32>,
}

impl AddrInfo {
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.addr, self.prefix)
    }
}

/// One entry of the neighbour (ARP / NDP) table.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighInfo {
    pub dst: std::net::IpAddr,
    /// The interface's name (its ifindex when the link list does not know it).
    pub dev: String,
    /// The link-layer address, `aa:bb:…`, when the entry has one.
    pub lladdr: Option<String>,
    /// `NUD_*` bits (`NUD_REACHABLE` 0x02 …).
    pub state: u16,
    /// `NTF_ROUTER`: the neighbour said it is a router (IPv6).
    pub router: bool,
}

/// One route of the main table.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteInfo {
    /// `rtm_type` as iproute2 names it (`unicast`, `unreachable`, `blackhole`, `local` …).
    pub kind: String,
    /// `None` is the default route.
    pub dst: Option<(IpAddr, u8)>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub proto: String,
    pub scope: String,
    pub src: Option<IpAddr>,
    pub metric: Option<u32>,
    /// `rtm_flags` (`RTNH_F_*`, `RTM_F_*` bits): `linkdown` on a route whose device has no
    /// carrier, and the rest iproute2's `print_rt_flags` names.
    pub flags: u32,
    /// RTA_PREF of an IPv6 route (`medium`, `low`, `high`), when the kernel sends it.
    pub pref: Option<String>,
    pub ipv6: bool,
}

pub const IFF_UP: u32 = 1 << 0;
pub const IFF_BROADCAST: u32 = 1 << 1;
pub const IFF_LOOPBACK: u32 = 1 << 3;
pub const IFF_POINTOPOINT: u32 = 1 << 4;
pub const IFF_RUNNING: u32 = 1 << 6;
pub const IFF_NOARP: u32 = 1 << 7;
pub const IFF_PROMISC: u32 = 1 << 8;
pub const IFF_ALLMULTI: u32 = 1 << 9;
pub const IFF_MASTER: u32 = 1 << 10;
pub const IFF_SLAVE: u32 = 1 << 11;
pub const IFF_MULTICAST: u32 = 1 << 12;
pub const IFF_LOWER_UP: u32 = 1 << 16;
pub const IFF_DORMANT: u32 = 1 << 17;

impl LinkInfo {
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
    pub fn has_carrier(&self) -> bool {
        self.flags & IFF_LOWER_UP != 0
    }
    /// `IFF_RUNNING`: up, and its operational state says it can carry traffic.
    pub fn is_running(&self) -> bool {
        self.flags & IFF_RUNNING != 0
    }
}
