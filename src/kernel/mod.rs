//! The only code that makes syscalls: network namespaces, rtnetlink (links, addresses,
//! routes) and sysctls. Everything above works with names and plain values; this layer turns
//! them into kernel requests and turns errno into words.

pub mod netns;
pub mod nft;
pub mod op;
pub mod process;
pub mod rootfs;
pub mod rtnl;
pub mod state;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

pub use nix::errno::Errno;
use rtnetlink::Handle;
use thiserror::Error;

pub use op::{Op, Route, VethSetup, HOST};
pub use state::{LinkInfo, NeighInfo, RouteInfo};

/// A kernel request that failed: what was attempted (as the equivalent command) and why.
#[derive(Debug, Error)]
pub struct KernelError {
    pub what: String,
    pub errno: Option<Errno>,
    pub reason: String,
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed: {}", self.what, self.reason)
    }
}

impl KernelError {
    pub fn new(what: impl fmt::Display, reason: impl Into<String>) -> Self {
        KernelError {
            what: what.to_string(),
            errno: None,
            reason: reason.into(),
        }
    }

    fn io(what: impl fmt::Display, e: std::io::Error) -> Self {
        let errno = e.raw_os_error().map(Errno::from_raw);
        KernelError {
            what: what.to_string(),
            errno,
            reason: errno.map(describe).unwrap_or_else(|| e.to_string()),
        }
    }

    fn rtnl(what: impl fmt::Display, e: rtnetlink::Error) -> Self {
        let errno = rtnl::errno_of(&e);
        KernelError {
            what: what.to_string(),
            errno,
            reason: errno.map(describe).unwrap_or_else(|| e.to_string()),
        }
    }
}

fn mac_bytes(text: &str) -> Result<[u8; 6]> {
    rtnl::parse_mac(text).ok_or_else(|| {
        KernelError::new(
            format!("use MAC address {text}"),
            "not a MAC address (expected six hex bytes such as 02:42:ac:11:00:02)",
        )
    })
}

/// errno in the words a network user expects.
pub fn describe(e: Errno) -> String {
    match e {
        Errno::EEXIST => "it already exists".into(),
        Errno::ENODEV => "no such device".into(),
        Errno::ENETUNREACH => "network is unreachable".into(),
        Errno::EADDRNOTAVAIL => "address not available (not assigned here)".into(),
        Errno::EPERM | Errno::EACCES => "permission denied".into(),
        Errno::EBUSY => "device or resource busy".into(),
        Errno::ESRCH => "no such route or object".into(),
        Errno::EINVAL => "invalid argument (the kernel refused the request)".into(),
        other => other.desc().to_lowercase(),
    }
}

/// `op` failed because `dev` does not exist in its namespace.
fn no_device(op: &Op, dev: &str) -> KernelError {
    KernelError {
        what: op.to_string(),
        errno: Some(Errno::ENODEV),
        reason: format!("no device named \"{dev}\" in {}", op.ns()),
    }
}

struct Namespace {
    fd: OwnedFd,
    rtnl: RefCell<Option<(Handle, tokio::task::JoinHandle<()>)>>,
    /// Opened on first use and kept (see `nft::NftSocket`).
    nft: RefCell<Option<nft::NftSocket>>,
    /// The ifindex of each bridge a veth was made a port of here, by name, so that the
    /// next endpoint on it needs no lookup. A stale entry (the bridge deleted and made
    /// again, by netsh or by a program in the lab) names an index nothing has any more —
    /// the kernel allocates indexes upwards and does not reuse them until they wrap at
    /// 2^31 — and the request fails; it is then looked up afresh and tried once more.
    masters: RefCell<HashMap<String, u32>>,
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // The connection task owns the netlink socket, which pins the namespace.
        if let Some((_, task)) = self.rtnl.get_mut().take() {
            task.abort();
        }
    }
}

/// The namespaces of one lab, by name, and the means to talk to each.
pub struct Kernel {
    rt: tokio::runtime::Runtime,
    namespaces: RefCell<HashMap<String, Rc<Namespace>>>,
    /// The ifindex of the peer the last operation created, as the kernel echoed it
    /// (namespace, name, index): good for the very next operation only, which then needs
    /// no lookup (a Docker endpoint's address goes on the veth end made just before).
    fresh_peer: RefCell<Option<(String, String, u32)>>,
    /// Makes the lab's namespaces (started on first use).
    factory: RefCell<Option<netns::Factory>>,
}

pub type Result<T> = std::result::Result<T, KernelError>;

impl Kernel {
    /// Adopts the calling thread's network namespace as the lab host, `HOST`.
    pub fn new(rt: tokio::runtime::Runtime) -> Result<Self> {
        netns::lab_defaults().map_err(|e| KernelError::io("configure the lab host", e))?;
        let host = netns::current().map_err(|e| KernelError::io("open host namespace", e))?;
        let k = Kernel {
            rt,
            namespaces: RefCell::new(HashMap::new()),
            fresh_peer: RefCell::new(None),
            factory: RefCell::new(None),
        };
        k.insert(HOST, host);
        Ok(k)
    }

    fn insert(&self, name: &str, fd: OwnedFd) {
        self.namespaces.borrow_mut().insert(
            name.to_string(),
            Rc::new(Namespace {
                fd,
                rtnl: RefCell::new(None),
                nft: RefCell::new(None),
                masters: RefCell::new(HashMap::new()),
            }),
        );
    }

    fn ns(&self, name: &str) -> Result<Rc<Namespace>> {
        self.namespaces
            .borrow()
            .get(name)
            .cloned()
            .ok_or_else(|| KernelError::new(format!("use namespace {name}"), "no such namespace"))
    }

    pub fn has_ns(&self, name: &str) -> bool {
        self.namespaces.borrow().contains_key(name)
    }

    /// Registers namespace `from` under the name `to` instead. Namespaces are descriptors
    /// netsh holds, named only in this registry, so nothing changes in the kernel (there
    /// is no `ip netns rename`: the command equivalent would move a mount under
    /// /run/netns). Refused when `from` does not exist or `to` is taken.
    pub fn rename_ns(&self, from: &str, to: &str) -> Result<()> {
        let mut namespaces = self.namespaces.borrow_mut();
        if namespaces.contains_key(to) {
            return Err(KernelError::new(
                format!("name namespace {from} {to}"),
                "a namespace has that name already",
            ));
        }
        let ns = namespaces.remove(from).ok_or_else(|| {
            KernelError::new(format!("use namespace {from}"), "no such namespace")
        })?;
        namespaces.insert(to.to_string(), ns);
        Ok(())
    }

    /// Runs `f` with the descriptor of namespace `name` (to open sockets inside it).
    pub fn with_fd<T>(&self, name: &str, f: impl FnOnce(BorrowedFd<'_>) -> T) -> Result<T> {
        let ns = self.ns(name)?;
        Ok(f(ns.fd.as_fd()))
    }

    /// Runs `f` with the nftables socket of namespace `name`, opening it on first use.
    fn with_nft<T>(
        &self,
        name: &str,
        f: impl FnOnce(&nft::NftSocket) -> std::io::Result<T>,
    ) -> Result<std::io::Result<T>> {
        let ns = self.ns(name)?;
        if ns.nft.borrow().is_none() {
            match nft::NftSocket::open(ns.fd.as_fd()) {
                Ok(sock) => *ns.nft.borrow_mut() = Some(sock),
                Err(e) => return Ok(Err(e)),
            }
        }
        let sock = ns.nft.borrow();
        Ok(f(sock.as_ref().expect("opened above")))
    }

    fn handle(&self, name: &str) -> Result<Handle> {
        let ns = self.ns(name)?;
        if let Some((h, _)) = ns.rtnl.borrow().as_ref() {
            return Ok(h.clone());
        }
        let (h, task) = rtnl::connect(ns.fd.as_fd(), self.rt.handle())
            .map_err(|e| KernelError::io(format!("open netlink socket in {name}"), e))?;
        *ns.rtnl.borrow_mut() = Some((h.clone(), task));
        Ok(h)
    }

    async fn index(h: &Handle, op: &Op, dev: &str) -> Result<u32> {
        match rtnl::link_index(h, dev).await {
            Ok(Some(i)) => Ok(i),
            Ok(None) => Err(no_device(op, dev)),
            Err(e) => Err(KernelError::rtnl(op, e)),
        }
    }

    /// Applies one operation.
    pub fn apply(&self, op: &Op) -> Result<()> {
        let fresh_peer = self.fresh_peer.borrow_mut().take();
        match op {
            Op::AddNetns { ns, sysctls, lo_up } => {
                let (fd, sock) = self
                    .new_netns(sysctls, *lo_up)
                    .map_err(|e| KernelError::io(op, e))?;
                self.insert(ns, fd);
                let rtnl = rtnl::start(sock, self.rt.handle());
                *self.ns(ns)?.rtnl.borrow_mut() = Some(rtnl);
                Ok(())
            }
            Op::DelNetns { ns } => {
                self.namespaces.borrow_mut().remove(ns);
                Ok(())
            }
            Op::Nft { ns, ruleset } => self
                .with_nft(ns, |sock| nft::apply_on(sock, ruleset))?
                .map_err(|e| KernelError {
                    what: format!("nft -f (table ip {})", ruleset.table),
                    errno: nft::errno(&e).map(Errno::from_raw),
                    reason: e.to_string(),
                }),
            Op::NftChange { ns, change } => self
                .with_nft(ns, |sock| nft::apply_change_on(sock, change))?
                .map_err(|e| KernelError {
                    what: format!("nft -f (change to table ip {})", change.table),
                    errno: nft::errno(&e).map(Errno::from_raw),
                    reason: e.to_string(),
                }),
            Op::Sysctl { ns, key, value } => self
                .with_fd(ns, |fd| netns::write_sysctl(fd, key, value))?
                .map_err(|e| KernelError::io(op, e)),
            _ => {
                let h = self.handle(op.ns())?;
                self.rt.block_on(self.apply_rtnl(&h, op, fresh_peer))
            }
        }
    }

    /// A new namespace with the lab's defaults and `sysctls` written, and a netlink socket
    /// in it, from the factory (started here on first use).
    fn new_netns(
        &self,
        sysctls: &[(String, String)],
        lo_up: bool,
    ) -> std::io::Result<(OwnedFd, OwnedFd)> {
        let mut factory = self.factory.borrow_mut();
        if factory.is_none() {
            *factory = Some(netns::Factory::start(rtnl::open_socket)?);
        }
        factory
            .as_mut()
            .expect("started above")
            .create(&netns::Kind {
                sysctls: sysctls.to_vec(),
                lo_up,
            })
    }

    /// The ifindex of bridge `name` in namespace `ns`, and whether it came from the cache
    /// (see `Namespace::masters`); looked up afresh when `fresh`.
    async fn master_index(
        &self,
        h: &Handle,
        op: &Op,
        ns: &str,
        name: &str,
        fresh: bool,
    ) -> Result<(u32, bool)> {
        let space = self.ns(ns)?;
        if !fresh {
            if let Some(&i) = space.masters.borrow().get(name) {
                return Ok((i, true));
            }
        }
        let i = Self::index(h, op, name).await?;
        space.masters.borrow_mut().insert(name.to_string(), i);
        Ok((i, false))
    }

    async fn apply_rtnl(
        &self,
        h: &Handle,
        op: &Op,
        fresh_peer: Option<(String, String, u32)>,
    ) -> Result<()> {
        let res = match op {
            Op::AddVeth {
                name,
                peer,
                peer_ns,
                ns,
                txqlen,
                with,
            } => {
                let peer_space = match peer_ns {
                    Some(p) if p != ns => Some(self.ns(p)?),
                    _ => None,
                };
                let mut veth = rtnl::Veth {
                    name,
                    peer,
                    peer_ns: peer_space.as_ref().map(|n| &n.fd),
                    txqlen: *txqlen,
                    mtu: with.mtu,
                    queues: with.queues,
                    master: None,
                    peer_mac: with.peer_mac.as_deref().map(mac_bytes).transpose()?,
                    up: with.up,
                    index: with.index,
                    peer_index: with.peer_index,
                };
                let made = match &with.master {
                    Some(m) => {
                        let (index, cached) = self.master_index(h, op, ns, m, false).await?;
                        veth.master = Some(index);
                        match rtnl::add_veth(h, &veth).await {
                            Err(_) if cached => {
                                let (index, _) = self.master_index(h, op, ns, m, true).await?;
                                veth.master = Some(index);
                                rtnl::add_veth(h, &veth).await
                            }
                            made => made,
                        }
                    }
                    None => rtnl::add_veth(h, &veth).await,
                };
                if let Ok(Some(index)) = made {
                    let at = peer_ns.clone().unwrap_or_else(|| ns.clone());
                    *self.fresh_peer.borrow_mut() = Some((at, peer.clone(), index));
                }
                made.map(|_| ())
            }
            Op::AddBridge {
                name,
                mac,
                txqlen,
                up,
                index,
                ..
            } => {
                let mac = mac.as_deref().map(mac_bytes).transpose()?;
                rtnl::add_bridge(h, name, *index, mac, *txqlen, *up).await
            }
            Op::SetMac { dev, mac, .. } => {
                let mac = mac_bytes(mac)?;
                rtnl::set_mac(h, dev, mac).await
            }
            Op::SetMtu { dev, mtu, .. } => rtnl::set_mtu(h, dev, *mtu).await,
            Op::DelLink { dev, .. } => rtnl::del_link(h, Self::index(h, op, dev).await?).await,
            Op::MoveLink { dev, to, .. } => {
                let to = self.ns(to)?;
                rtnl::move_link(h, Self::index(h, op, dev).await?, &to.fd).await
            }
            Op::SetUp { dev, up, .. } => rtnl::set_up(h, dev, *up).await,
            Op::SetMaster { dev, master, .. } => {
                let m = match master {
                    Some(m) => Some(Self::index(h, op, m).await?),
                    None => None,
                };
                rtnl::set_master(h, dev, m).await
            }
            Op::AddAddr { ns, dev, addr, brd } => {
                let index = match fresh_peer {
                    Some((n, d, i)) if n == *ns && d == *dev => i,
                    _ => Self::index(h, op, dev).await?,
                };
                rtnl::add_addr(h, index, *addr, *brd).await
            }
            Op::DelAddr { dev, addr, .. } => {
                rtnl::del_addr(h, Self::index(h, op, dev).await?, *addr).await
            }
            Op::AddRoute { route, .. }
            | Op::DelRoute { route, .. }
            | Op::ReplaceRoute { route, .. } => {
                let oif = match &route.dev {
                    Some(d) => Some(Self::index(h, op, d).await?),
                    None => None,
                };
                let msg = rtnl::route_message(route, oif, matches!(op, Op::DelRoute { .. }));
                match op {
                    Op::AddRoute { .. } => rtnl::add_route(h, msg).await,
                    Op::ReplaceRoute { .. } => rtnl::replace_route(h, msg).await,
                    _ => rtnl::del_route(h, msg).await,
                }
            }
            Op::AddNetns { .. }
            | Op::DelNetns { .. }
            | Op::Sysctl { .. }
            | Op::Nft { .. }
            | Op::NftChange { .. } => Ok(()),
        };
        res.map_err(|e| match (op, rtnl::errno_of(&e)) {
            // The setters name their device; the kernel's ENODEV says it was not there.
            (
                Op::SetMac { dev, .. }
                | Op::SetMtu { dev, .. }
                | Op::SetUp { dev, .. }
                | Op::SetMaster { dev, .. },
                Some(Errno::ENODEV),
            ) => no_device(op, dev),
            _ => KernelError::rtnl(op, e),
        })
    }

    /// Every link of namespace `ns`, with addresses.
    pub fn links(&self, ns: &str) -> Result<Vec<LinkInfo>> {
        let h = self.handle(ns)?;
        self.rt
            .block_on(rtnl::dump_links(&h))
            .map_err(|e| KernelError::rtnl(format!("ip -n {ns} addr show"), e))
    }

    /// One link of namespace `ns` by name, with its addresses.
    pub fn link(&self, ns: &str, dev: &str) -> Result<Option<LinkInfo>> {
        let h = self.handle(ns)?;
        self.rt
            .block_on(rtnl::get_link(&h, dev))
            .map_err(|e| KernelError::rtnl(format!("ip -n {ns} addr show dev {dev}"), e))
    }

    /// One link of namespace `ns` by name, flags and state only (one request; no
    /// addresses, no master's name).
    pub fn link_brief(&self, ns: &str, dev: &str) -> Result<Option<LinkInfo>> {
        let h = self.handle(ns)?;
        self.rt
            .block_on(rtnl::get_link_brief(&h, dev))
            .map_err(|e| KernelError::rtnl(format!("ip -n {ns} link show dev {dev}"), e))
    }

    /// [`Kernel::link_brief`] by interface index.
    pub fn link_brief_by_index(&self, ns: &str, index: u32) -> Result<Option<LinkInfo>> {
        let h = self.handle(ns)?;
        self.rt
            .block_on(rtnl::get_link_brief_by_index(&h, index))
            .map_err(|e| KernelError::rtnl(format!("ip -n {ns} link show (index {index})"), e))
    }

    /// Whether an IPv6 address on one of the links `indexes` of namespace `ns` is still
    /// tentative: its duplicate address detection has not run yet (`ip -n NS -6 addr show
    /// tentative` would list it).
    pub fn any_tentative(&self, ns: &str, indexes: &[u32]) -> Result<bool> {
        let h = self.handle(ns)?;
        self.rt
            .block_on(rtnl::any_tentative(&h, indexes))
            .map_err(|e| KernelError::rtnl(format!("ip -n {ns} -6 addr show tentative"), e))
    }

    /// The ID namespace `from` knows namespace `of` by, if it assigned one (the `(id: N)`
    /// of `ip netns list`, the `link-netnsid` of a veth whose peer is there).
    pub fn nsid(&self, from: &str, of: &str) -> Result<Option<i32>> {
        let h = self.handle(from)?;
        let fd = self.ns(of)?.fd.as_raw_fd();
        self.rt
            .block_on(rtnl::get_nsid(&h, fd))
            .map_err(|e| KernelError::rtnl(format!("ip -n {from} netns list-id"), e))
    }

    /// The neighbour table of namespace `ns` (IPv4 and IPv6), in the kernel's order.
    pub fn neighbours(&self, ns: &str) -> Result<Vec<NeighInfo>> {
        let h = self.handle(ns)?;
        let links = self.links(ns)?;
        self.rt
            .block_on(rtnl::dump_neighbours(&h, &links))
            .map_err(|e| KernelError::rtnl(format!("ip -n {ns} neigh show"), e))
    }

    /// The main routing table of namespace `ns`.
    pub fn routes(&self, ns: &str) -> Result<Vec<RouteInfo>> {
        let h = self.handle(ns)?;
        let links = self.links(ns)?;
        self.rt
            .block_on(rtnl::dump_routes(&h, &links))
            .map_err(|e| KernelError::rtnl(format!("ip -n {ns} route show"), e))
    }

    /// The rules of nftables table `ip table` in `ns` as the kernel holds them, in order:
    /// (chain, expression names, comment). None when the table does not exist.
    pub fn nft_rules(&self, ns: &str, table: &str) -> Result<Vec<nft::ListedRule>> {
        self.with_nft(ns, |sock| nft::dump_on(sock, table))?
            .map(|rules| {
                rules
                    .into_iter()
                    .map(|(chain, exprs, udata)| nft::ListedRule {
                        chain,
                        exprs,
                        comment: nft::udata_comment(&udata),
                    })
                    .collect()
            })
            .map_err(|e| KernelError::io(format!("nft list table ip {table}"), e))
    }

    pub fn read_sysctl(&self, ns: &str, key: &str) -> Result<String> {
        self.with_fd(ns, |fd| netns::read_sysctl(fd, key))?
            .map_err(|e| KernelError::io(format!("sysctl {key}"), e))
    }
}
