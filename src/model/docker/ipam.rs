//! Docker's default IPAM driver, as the bridge driver uses it: subnets from the default
//! pools, the gateway on `.1`, container addresses from `.2` upward (lowest free first).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::DockerError;

/// The default address pools of a Docker 20.10 engine, in the order they are tried:
/// 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/16 cut into /20 blocks.
pub fn default_pools() -> impl Iterator<Item = Ipv4Net> {
    let b = (17u8..=31).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16));
    let c = (0u8..16).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20));
    b.chain(c).filter_map(Result::ok)
}

/// Address blocks that can never hold a container, with the rule that says so.
const UNUSABLE: [(Ipv4Addr, u8, &str); 4] = [
    (
        Ipv4Addr::new(0, 0, 0, 0),
        8,
        "0.0.0.0/8 means \"this network\" and is never a host's address (RFC 1122 3.2.1.3)",
    ),
    (
        Ipv4Addr::new(127, 0, 0, 0),
        8,
        "127.0.0.0/8 is loopback: a packet to it never leaves a host (RFC 1122 3.2.1.3)",
    ),
    (
        Ipv4Addr::new(224, 0, 0, 0),
        4,
        "224.0.0.0/4 is multicast: no interface can have such an address (RFC 5771)",
    ),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "240.0.0.0/4 is reserved and holds the broadcast address 255.255.255.255 \
         (RFC 1112 4, RFC 919)",
    ),
];

/// Refuses a subnet that Docker 20.10 takes but that can never hold a container: one in
/// 0.0.0.0/8, 127.0.0.0/8, multicast or the reserved block (255.255.255.255/32 included).
/// Docker creates such networks and then fails every container (or worse, for 0.0.0.0/8,
/// builds one the kernel cannot route to). (A /31 or /32 Docker refuses itself: see
/// [`Pool::new`].)
pub fn check_usable(subnet: &Ipv4Net) -> Result<(), DockerError> {
    let unusable = |why: String| DockerError::UnusableSubnet {
        subnet: subnet.to_string(),
        why,
    };
    for (addr, len, why) in UNUSABLE {
        let block = Ipv4Net::new(addr, len).unwrap_or_default();
        if block.contains(&subnet.network()) && block.contains(&subnet.broadcast()) {
            return Err(unusable(why.to_string()));
        }
        if subnet.contains(&block.network()) {
            // A subnet around the block: its gateway (first host) may still be fine, but
            // addresses would be handed out inside the block.
            if block.contains(&first_host(subnet)) {
                return Err(unusable(format!("its gateway would be in {block}: {why}")));
            }
        }
    }
    Ok(())
}

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Where the next search of the default pools starts: Docker's IPAM hands the predefined
/// pools out round-robin (libnetwork's `addrSpace.predefinedStartIndex`), so a removed
/// network's pool is not handed out again until the search has gone round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolCursor(usize);

/// The next default pool for a network without a `subnet`: the first pool, searching from
/// `cursor` and wrapping round the list once, that overlaps none of `taken`. Returns it
/// and the cursor after it: the search index past the pool given, relative to the old
/// start, and back to 0 when that passes the end of the list (libnetwork 20.10's
/// `updatePredefinedStartIndex`, which does not take a modulo). `docker0`'s pool is chosen
/// by the daemon, not by this search, and does not move the cursor.
///
/// Errors: [`DockerError::PoolsExhausted`] when every default pool overlaps `taken`.
pub fn next_pool(
    taken: &[Ipv4Net],
    cursor: PoolCursor,
) -> Result<(Ipv4Net, PoolCursor), DockerError> {
    let pools: Vec<Ipv4Net> = default_pools().collect();
    let start = if cursor.0 >= pools.len() { 0 } else { cursor.0 };
    let rotated = pools[start..].iter().chain(&pools[..start]);
    for (i, p) in rotated.enumerate() {
        if !taken.iter().any(|t| overlaps(p, t)) {
            let next = start + i + 1;
            let next = if next >= pools.len() { 0 } else { next };
            return Ok((*p, PoolCursor(next)));
        }
    }
    Err(DockerError::PoolsExhausted)
}

/// One network's address space: its subnet, its gateway, the addresses in use.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    used: BTreeSet<Ipv4Addr>,
    /// `--ip-range`: where addresses without a preference come from (libnetwork's
    /// sub-pool); `None`: the whole subnet.
    pub range: Option<Ipv4Net>,
    /// `--aux-address` addresses (also in `used`), which no release frees.
    aux: BTreeSet<Ipv4Addr>,
}

impl Pool {
    /// A pool for `subnet`; the gateway defaults to the first host address.
    pub fn new(subnet: Ipv4Net, gateway: Option<Ipv4Addr>) -> Result<Pool, DockerError> {
        Pool::with_range(subnet, gateway, None)
    }

    /// A pool for `subnet` whose addresses without a preference come from `range`
    /// (`--ip-range`, libnetwork's sub-pool): only the subnet's network and broadcast
    /// addresses are held, so the range's own first and last addresses are handed out too
    /// (Docker 20.10 gives a container `10.243.3.0` from range 10.243.3.0/24 in a /16).
    /// Without a `gateway` the gateway is the range's first free address, as libnetwork
    /// asks the sub-pool for it; a fixed address (`--ip`) may be anywhere in the subnet.
    /// A range wider than the subnet is the subnet.
    ///
    /// Errors: as [`Pool::new`]; a range with no free address gives the gateway's
    /// `No available addresses on this pool`.
    pub fn with_range(
        subnet: Ipv4Net,
        gateway: Option<Ipv4Addr>,
        range: Option<Ipv4Net>,
    ) -> Result<Pool, DockerError> {
        let range = range.filter(|r| r.prefix_len() > subnet.trunc().prefix_len());
        let Some(range) = range else {
            return Pool::plain(subnet, gateway);
        };
        let mut pool = Pool::plain(subnet, gateway.or(Some(first_host(&subnet))))?;
        pool.range = Some(range);
        if gateway.is_none() {
            let first = pool.free_in(&range).ok_or(DockerError::GatewayAllocation {
                gateway: String::new(),
                why: "No available addresses on this pool",
            })?;
            pool.gateway = first;
        }
        Ok(pool)
    }

    /// The lowest address of `within` that is a host of the subnet and held by nobody.
    fn free_in(&self, within: &Ipv4Net) -> Option<Ipv4Addr> {
        let lo = u32::from(within.network()).max(u32::from(first_host(&self.subnet)));
        let hi = u32::from(within.broadcast()).min(u32::from(self.subnet.broadcast()) - 1);
        // One walk along the held addresses in order (a thousand held ones: one pass, not a
        // thousand lookups).
        let mut held = self
            .used
            .range(Ipv4Addr::from(lo)..)
            .map(|a| u32::from(*a))
            .peekable();
        let gateway = u32::from(self.gateway);
        let mut candidate = lo;
        while candidate <= hi {
            while held.next_if(|&h| h < candidate).is_some() {}
            if candidate == gateway || held.peek() == Some(&candidate) {
                candidate += 1;
                continue;
            }
            return Some(Ipv4Addr::from(candidate));
        }
        None
    }

    fn plain(subnet: Ipv4Net, gateway: Option<Ipv4Addr>) -> Result<Pool, DockerError> {
        check_usable(&subnet)?;
        let subnet = subnet.trunc();
        let in_use = |g: Ipv4Addr| DockerError::GatewayAllocation {
            gateway: g.to_string(),
            why: "Address already in use",
        };
        let gateway = match gateway {
            Some(g) if !subnet.contains(&g) => return Err(DockerError::GatewayOutsideSubnet(g)),
            // IPAM holds a subnet's network and broadcast addresses; a /31 or /32 has
            // nothing else.
            Some(g) if g == subnet.network() || g == subnet.broadcast() => return Err(in_use(g)),
            Some(g) => g,
            None if subnet.prefix_len() > 30 => {
                return Err(DockerError::GatewayAllocation {
                    gateway: String::new(),
                    why: "No available addresses on this pool",
                })
            }
            None => first_host(&subnet),
        };
        Ok(Pool {
            subnet,
            gateway,
            used: BTreeSet::new(),
            range: None,
            aux: BTreeSet::new(),
        })
    }

    /// The lowest free host address (never the network, gateway or broadcast address),
    /// inside the `--ip-range` when there is one.
    pub fn allocate(&mut self) -> Result<Ipv4Addr, DockerError> {
        let within = self.range.unwrap_or(self.subnet);
        let ip = self
            .free_in(&within)
            .ok_or(DockerError::NoAvailableAddress(within))?;
        self.used.insert(ip);
        Ok(ip)
    }

    /// Holds an auxiliary address (`--aux-address`) for good: never handed out, never
    /// released. Errors ([`DockerError::AddressInUse`], [`DockerError::IpOutsideSubnet`])
    /// as [`Pool::reserve`].
    pub fn reserve_aux(&mut self, ip: Ipv4Addr) -> Result<(), DockerError> {
        self.reserve(ip)?;
        self.aux.insert(ip);
        Ok(())
    }

    /// Takes a fixed address (`--ip`).
    ///
    /// Errors, in Docker's words: [`DockerError::IpOutsideSubnet`] for an address outside
    /// the subnet; [`DockerError::AddressInUse`] for one a container holds, the gateway,
    /// and the network and broadcast addresses, which libnetwork's bitmask reserves.
    pub fn reserve(&mut self, ip: Ipv4Addr) -> Result<(), DockerError> {
        if !self.subnet.contains(&ip) {
            return Err(DockerError::IpOutsideSubnet(ip));
        }
        if ip == self.subnet.network()
            || ip == self.subnet.broadcast()
            || ip == self.gateway
            || self.used.contains(&ip)
        {
            return Err(DockerError::AddressInUse(ip));
        }
        self.used.insert(ip);
        Ok(())
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        if !self.aux.contains(&ip) {
            self.used.remove(&ip);
        }
    }
}

fn first_host(subnet: &Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn default_pools_start_at_172_17_then_192_168_blocks() {
        let pools: Vec<_> = default_pools().collect();
        assert_eq!(pools[0], net("172.17.0.0/16"));
        assert_eq!(pools[14], net("172.31.0.0/16"));
        assert_eq!(pools[15], net("192.168.0.0/20"));
        assert_eq!(pools[16], net("192.168.16.0/20"));
        assert_eq!(pools.len(), 15 + 16);
    }

    fn first(taken: &[Ipv4Net]) -> Ipv4Net {
        next_pool(taken, PoolCursor::default()).unwrap().0
    }

    #[test]
    fn next_pool_skips_taken_and_overlapping_ones() {
        assert_eq!(first(&[]), net("172.17.0.0/16"));
        assert_eq!(first(&[net("172.17.0.0/16")]), net("172.18.0.0/16"));
        // A user subnet inside 172.18/16 makes that whole pool unavailable.
        assert_eq!(
            first(&[net("172.17.0.0/16"), net("172.18.5.0/24")]),
            net("172.19.0.0/16")
        );
        let all: Vec<_> = default_pools().collect();
        assert!(matches!(
            next_pool(&all, PoolCursor::default()),
            Err(DockerError::PoolsExhausted)
        ));
    }

    #[test]
    fn pools_are_handed_out_round_robin() {
        let docker0 = net("172.17.0.0/16");
        let (a, c) = next_pool(&[docker0], PoolCursor::default()).unwrap();
        assert_eq!((a, c), (net("172.18.0.0/16"), PoolCursor(2)));
        let (b, c) = next_pool(&[docker0, a], c).unwrap();
        assert_eq!((b, c), (net("172.19.0.0/16"), PoolCursor(3)));
        // a is released, but the search goes on from 172.20.
        let (d, c) = next_pool(&[docker0, b], c).unwrap();
        assert_eq!((d, c), (net("172.20.0.0/16"), PoolCursor(4)));
        // At the end of the list the search wraps round to the freed pools.
        let pools: Vec<_> = default_pools().collect();
        let last = pools.len() - 1;
        let (e, c) = next_pool(&[docker0], PoolCursor(last)).unwrap();
        assert_eq!((e, c), (pools[last], PoolCursor(0)));
        let (f, c) = next_pool(&[docker0, pools[last]], PoolCursor(last)).unwrap();
        // Passing the end resets the start to 0, not to the index after the pool given.
        assert_eq!((f, c), (net("172.18.0.0/16"), PoolCursor(0)));
    }

    #[test]
    fn gateway_is_first_host_and_containers_start_at_2() {
        let mut p = Pool::new(net("172.18.0.0/16"), None).unwrap();
        assert_eq!(p.gateway, Ipv4Addr::new(172, 18, 0, 1));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(172, 18, 0, 2));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(172, 18, 0, 3));
    }

    #[test]
    fn released_addresses_are_reused_lowest_first() {
        let mut p = Pool::new(net("10.0.0.0/24"), None).unwrap();
        let a = p.allocate().unwrap();
        let b = p.allocate().unwrap();
        p.allocate().unwrap();
        p.release(a);
        p.release(b);
        assert_eq!(p.allocate().unwrap(), a);
        assert_eq!(p.allocate().unwrap(), b);
    }

    #[test]
    fn fixed_addresses_and_custom_gateway() {
        let mut p = Pool::new(net("10.1.0.0/24"), Some(Ipv4Addr::new(10, 1, 0, 254))).unwrap();
        p.reserve(Ipv4Addr::new(10, 1, 0, 2)).unwrap();
        // With the gateway elsewhere, .1 is an ordinary free address.
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 1, 0, 1));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 1, 0, 3));
        assert!(matches!(
            p.reserve(Ipv4Addr::new(10, 1, 0, 2)),
            Err(DockerError::AddressInUse(_))
        ));
        assert!(matches!(
            p.reserve(Ipv4Addr::new(10, 1, 0, 254)),
            Err(DockerError::AddressInUse(_))
        ));
        assert!(matches!(
            p.reserve(Ipv4Addr::new(10, 2, 0, 2)),
            Err(DockerError::IpOutsideSubnet(_))
        ));
        // The network and broadcast addresses are held by the pool, as in libnetwork.
        for held in [Ipv4Addr::new(10, 1, 0, 0), Ipv4Addr::new(10, 1, 0, 255)] {
            assert!(matches!(p.reserve(held), Err(DockerError::AddressInUse(_))));
        }
    }

    #[test]
    fn bad_subnets_and_gateways_are_refused() {
        let refusal = |subnet: &str, gw: Option<Ipv4Addr>| {
            Pool::new(net(subnet), gw).unwrap_err().to_string()
        };
        // Docker 20.10.24's words for each.
        assert_eq!(
            refusal("10.0.0.0/31", None),
            "failed to allocate gateway (): No available addresses on this pool"
        );
        assert_eq!(
            refusal("10.0.0.0/24", Some(Ipv4Addr::new(10, 0, 1, 1))),
            "no matching subnet for gateway 10.0.1.1"
        );
        for gw in [Ipv4Addr::new(10, 0, 0, 255), Ipv4Addr::new(10, 0, 0, 0)] {
            assert_eq!(
                refusal("10.0.0.0/24", Some(gw)),
                format!("failed to allocate gateway ({gw}): Address already in use")
            );
        }
        // Host bits name the network they are in, as Go's ParseCIDR reads them.
        let p = Pool::new(net("10.0.0.5/24"), None).unwrap();
        assert_eq!(p.subnet, net("10.0.0.0/24"));
        assert_eq!(p.gateway, Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn subnets_that_can_never_hold_a_container_are_refused() {
        for bad in [
            "0.0.0.0/8",
            "0.1.0.0/16",
            "127.0.0.0/8",
            "127.5.0.0/24",
            "224.0.0.0/4",
            "239.1.0.0/16",
            "240.0.0.0/4",
            "255.255.255.255/32",
            "255.255.255.0/24",
            "0.0.0.0/1",
        ] {
            let e = check_usable(&net(bad)).unwrap_err();
            assert!(
                matches!(e, DockerError::UnusableSubnet { .. }),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains(bad), "{e}");
        }
        for good in ["10.0.0.0/30", "10.0.0.0/8", "128.0.0.0/2", "192.0.2.0/24"] {
            assert!(check_usable(&net(good)).is_ok(), "{good}");
        }
    }

    #[test]
    fn ranges_hand_out_only_their_addresses_and_aux_ones_are_held() {
        // The gateway comes from the range when not given; the range's first address is a
        // host of the subnet, so it is handed out (Docker 20.10 does).
        let mut p = Pool::with_range(net("10.0.0.0/16"), None, Some(net("10.0.3.0/24"))).unwrap();
        assert_eq!(p.gateway, Ipv4Addr::new(10, 0, 3, 0));
        p.reserve_aux(Ipv4Addr::new(10, 0, 3, 1)).unwrap();
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 0, 3, 2));
        // A fixed address anywhere in the subnet; an auxiliary one is never released.
        p.reserve(Ipv4Addr::new(10, 0, 9, 9)).unwrap();
        p.release(Ipv4Addr::new(10, 0, 3, 1));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 0, 3, 3));
        assert!(matches!(
            p.reserve(Ipv4Addr::new(10, 0, 3, 1)),
            Err(DockerError::AddressInUse(_))
        ));
        // A full range says so with the range.
        let mut small = Pool::with_range(
            net("10.1.0.0/24"),
            Some(Ipv4Addr::new(10, 1, 0, 1)),
            Some(net("10.1.0.8/31")),
        )
        .unwrap();
        small.allocate().unwrap();
        small.allocate().unwrap();
        assert!(matches!(
            small.allocate(),
            Err(DockerError::NoAvailableAddress(r)) if r == net("10.1.0.8/31")
        ));
    }

    #[test]
    fn a_full_subnet_says_so() {
        let mut p = Pool::new(net("10.0.0.0/30"), None).unwrap();
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 0, 0, 2));
        assert!(matches!(
            p.allocate(),
            Err(DockerError::NoAvailableAddress(_))
        ));
    }

    #[test]
    fn overlap() {
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.1.0.0/16")));
        assert!(overlaps(&net("10.1.0.0/16"), &net("10.0.0.0/8")));
        assert!(!overlaps(&net("10.0.0.0/16"), &net("10.1.0.0/16")));
    }
}
