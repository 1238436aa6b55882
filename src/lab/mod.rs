//! One lab: the simulated host and every namespace and interface in it.
//!
//! The lab checks each request against what exists (so a refused request changes nothing
//! and says why in words), turns it into kernel [`Op`]s, prints them under `--trace`, and
//! applies them. It is the only owner of kernel objects; dropping it (or the process dying)
//! releases them all.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use colored::Colorize;
use ipnet::IpNet;
use thiserror::Error;

pub mod clock;
mod dns;
pub mod docker;
mod fault;
mod firewall;
pub mod lifecycle;
pub mod services;

use crate::kernel::{Errno, Kernel, KernelError, LinkInfo, Op, Route, RouteInfo, HOST};
use crate::model::docker::Docker;
use crate::model::{addr, names};
use crate::probe::ping::{self, PingOptions, PingReport};

/// How long the lab waits for a link's state to follow its carrier, or an address to
/// leave `tentative`, before it looks anyway. The kernel runs non-urgent link events (a
/// bridge's carrier) at most once a second, machine-wide (`linkwatch_nextevent`), so one may
/// wait a full second behind another lab's, and longer on a loaded machine: the deadline
/// only guards against a state that never follows.
const SETTLE_DEADLINE: Duration = Duration::from_secs(3);

#[derive(Debug, Error)]
pub enum LabError {
    #[error("network namespace \"{0}\" already exists")]
    NetnsExists(String),
    #[error("network namespace \"{name}\" does not exist{known}")]
    NoSuchNetns { name: String, known: String },
    #[error("invalid name: {0}")]
    InvalidName(String),
    #[error("no device \"{dev}\" in {ns} (it has: {has})")]
    NoSuchDevice {
        ns: String,
        dev: String,
        has: String,
    },
    #[error("device \"{dev}\" already exists in {ns}")]
    DeviceExists { ns: String, dev: String },
    #[error("{0}")]
    Invalid(String),
    #[error("address {addr} is already on \"{dev}\" in {ns}")]
    AddrExists {
        ns: String,
        dev: String,
        addr: IpNet,
    },
    #[error("address {addr} is not on \"{dev}\" in {ns}")]
    AddrMissing {
        ns: String,
        dev: String,
        addr: IpNet,
    },
    #[error("{ns} already has a route to {dst}")]
    RouteExists { ns: String, dst: String },
    #[error(
        "cannot add route in {ns}: the gateway is not on a directly connected network (give \
         the interface an address in the gateway's subnet first)"
    )]
    GatewayUnreachable { ns: String },
    #[error("{ns} has no route to {dst}")]
    NoRoute { ns: String, dst: String },
    /// A request Docker itself would refuse, in Docker's words.
    #[error("Error response from daemon: {0}")]
    Docker(String),
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

pub type Result<T> = std::result::Result<T, LabError>;

pub struct LabOptions {
    /// Print every kernel operation as the equivalent `ip` command.
    pub trace: bool,
}

pub struct Lab {
    kernel: Kernel,
    /// `--trace`, or the REPL's `:trace on|off`.
    trace: Cell<bool>,
    /// The lab's own objects beside the kernel's: names, veth ends, the uplink.
    topo: Topology,
    /// The Docker engine's state; containers' namespaces are in `kernel` under their
    /// sandbox keys but not in `topo.netns` (`ip netns list` does not show Docker's either).
    docker: RefCell<Docker>,
    /// The names of each user-defined network's members, by network ID (the embedded DNS
    /// servers' records, see `lab/dns.rs`).
    network_views: RefCell<HashMap<String, crate::services::dns::NetworkRecords>>,
    /// Runs servers in the background (responders, DNS, proxies): unlike netlink requests,
    /// they must answer while the script thread is busy elsewhere.
    services: tokio::runtime::Runtime,
    /// What runs inside the lab on its behalf.
    running: Running,
}

/// What the lab knows of its namespaces and links beyond what the kernel says.
#[derive(Default)]
struct Topology {
    /// User namespaces in creation order (`ip netns list` order is newest first).
    netns: RefCell<Vec<String>>,
    /// Where the other end of each veth made through the lab is: (ns, dev) → (ns, dev).
    veth_peers: RefCell<HashMap<(String, String), (String, String)>>,
    /// Links (namespace, device) whose namespace was let go — the host ends of removed
    /// containers' veths, the peers of a deleted namespace's veths — still being
    /// dismantled by the kernel.
    vanishing: RefCell<Vec<(String, String)>>,
    /// The namespace `outside()` made, once made.
    outside: RefCell<Option<String>>,
    /// The namespace beyond the host's `eth0` as the lab starts, before any script asked
    /// for it with `outside()` (which then gives it its name): registered in `kernel`
    /// under this key, but hidden from every binding — `has_ns` and `check_ns` do not
    /// know it and `namespaces()` does not list it.
    beyond: RefCell<Option<String>>,
    /// The uplink's ends came up but nobody has waited for the kernel to show it yet (see
    /// `settle_uplink`): the first look at the lab does.
    uplink_unsettled: std::cell::Cell<bool>,
    /// `docker0` is not made yet: the interface index kept for it until something needs
    /// it (see `Lab::need_default_bridge`).
    default_bridge_held: std::cell::Cell<Option<u32>>,
    /// From docker0's turn on: the index the kernel would give the next device made in
    /// the host, given explicitly to each one netsh makes there (see
    /// `Lab::number_host_devices`); 0 before.
    next_host_index: std::cell::Cell<u32>,
    /// A device may have come into the host with an index the kernel chose (the script's
    /// own, a link moved in) since Docker last numbered one (see `Lab::apply_numbered`).
    host_numbered_by_kernel: std::cell::Cell<bool>,
    /// Links (namespace, device) whose carrier changed as netsh built something (a Docker
    /// endpoint's veth ends and its bridge) but whose operational state nobody has waited
    /// for yet (see `Lab::settle`): the next look at the lab does, once for all of them,
    /// so building a thousand containers in a row does not wait a thousand times.
    unsettled: RefCell<std::collections::HashSet<(String, String)>>,
}

/// The servers and programs running in the lab, each stopped when what it serves goes and
/// all of them when the lab ends.
#[derive(Default)]
struct Running {
    /// `serve()`'s responders, by namespace.
    responders: RefCell<Vec<(String, crate::services::responder::Responder)>>,
    /// Embedded DNS servers by container namespace.
    dns_servers: RefCell<HashMap<String, dns::Served>>,
    /// Relays of programs started with `exec(…, #{detach: true})`: netsh's children until
    /// their program ends (reaped by `reap_background`); they die with netsh.
    background: RefCell<Vec<std::process::Child>>,
    /// The init of each container (and namespace) programs ran in: it holds the
    /// container's namespaces and filesystem, and reaps what its programs leave behind.
    inits: RefCell<HashMap<String, crate::kernel::process::Init>>,
    /// Containers' main programs, by container ID (see `lifecycle.rs`).
    mains: RefCell<HashMap<String, lifecycle::MainProgram>>,
    /// Containers' logs, by container ID, kept across restarts until `rm`.
    logs: RefCell<HashMap<String, crate::kernel::process::SharedLog>>,
    /// `reap_mains` is at work (it looks at the lab, which would call it again).
    reaping: Cell<bool>,
    /// Docker's userland proxies, by container ID (see `lab/firewall.rs`).
    proxies: RefCell<HashMap<String, crate::services::proxy::Proxies>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // The containers' inits first: everything in a container dies with its init, and
        // the relays of the programs netsh started there, still waiting for them, reap
        // them at once (a program whose relay was gone would be left to the machine's
        // reaper, and its init would wait for that). Then those relays end and are
        // reaped: a lab dropped while netsh goes on (the REPL's `:reset`) leaves nothing.
        self.inits.get_mut().clear();
        for relay in self.background.get_mut().iter_mut() {
            let _ = relay.kill();
            let _ = relay.wait();
        }
        // Containers' main programs too (their process groups, reaped).
        for (_, main) in self.mains.get_mut().drain() {
            main.end();
        }
    }
}

/// How a namespace is named in messages, when no lab is at hand to tell a container's
/// namespace from a user's (see [`Lab::describe_ns`]).
pub fn describe_ns(ns: &str) -> String {
    if ns == HOST {
        "the host".to_string()
    } else {
        format!("netns \"{ns}\"")
    }
}

impl Lab {
    /// Builds a lab whose host is the calling thread's (already private) network namespace.
    pub fn new(opts: LabOptions) -> Result<Lab> {
        // Netlink requests are only ever made by blocking on them from the script thread, so
        // their connections are driven right there: no hand-off to worker threads and back
        // for each of the dozen requests a container costs.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LabError::Invalid(format!("cannot start the I/O runtime: {e}")))?;
        let lab = Lab {
            kernel: Kernel::new(rt)?,
            trace: Cell::new(opts.trace),
            topo: Topology::default(),
            docker: RefCell::new(Docker::new(clock::random_seed(), &clock::now_rfc3339())),
            network_views: RefCell::new(HashMap::new()),
            services: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("netsh-services")
                .enable_all()
                .build()
                .map_err(|e| {
                    LabError::Invalid(format!("cannot start the services runtime: {e}"))
                })?,
            running: Running::default(),
        };
        // A real host has its loopback up, and its uplink before Docker's daemon starts.
        lab.set_up(HOST, "lo", true)?;
        lab.start_uplink()?;
        lab.start_docker()?;
        Ok(lab)
    }

    /// Whether every kernel operation is printed as the equivalent command (`--trace`).
    pub fn tracing(&self) -> bool {
        self.trace.get()
    }

    /// Turns the trace on or off from now on (the REPL's `:trace on|off`).
    pub fn set_trace(&self, on: bool) {
        self.trace.set(on);
    }

    /// [`Lab::apply`] for an operation of Docker's that may make a device in the host,
    /// numbered by `number_host_devices`. After a device the kernel numbered itself came
    /// into the host (the script's, a link moved in), the numbering first goes on after the
    /// highest index there is; a collision the lab could not see (a program's device: the
    /// kernel refuses with EEXIST, as the request names that device) does the same and the
    /// request is made once more.
    pub(super) fn apply_numbered(&self, op: Op) -> Result<()> {
        if self.topo.host_numbered_by_kernel.replace(false) {
            self.number_after_highest()?;
        }
        let numbered = self
            .number_host_devices(&mut op.clone(), self.topo.next_host_index.get())
            .is_some();
        match self.apply_numbered_once(op.clone()) {
            Err(LabError::Kernel(e))
                if numbered
                    && matches!(e.errno, Some(Errno::EEXIST) | Some(Errno::EBUSY))
                    && self.number_after_highest()? =>
            {
                self.apply_numbered_once(op)
            }
            done => done,
        }
    }

    /// `op` numbered from the lab's next host index, applied, and the index moved past
    /// what it took.
    fn apply_numbered_once(&self, mut op: Op) -> Result<()> {
        let next = self.topo.next_host_index.get();
        let taken = self.number_host_devices(&mut op, next);
        self.apply(op)?;
        if let Some(taken) = taken {
            self.topo.next_host_index.set(next + taken);
        }
        Ok(())
    }

    /// Moves the lab's next host index past the highest index the host has, if the
    /// lab numbers host devices and it is not past it yet; whether it moved.
    fn number_after_highest(&self) -> Result<bool> {
        let next = self.topo.next_host_index.get();
        let after = self.next_free_host_index()?;
        let moved = next > 0 && after > next;
        if moved {
            self.topo.next_host_index.set(after);
        }
        Ok(moved)
    }

    /// One past the highest interface index in the host.
    pub(super) fn next_free_host_index(&self) -> Result<u32> {
        let highest = self.kernel.links(HOST)?.iter().map(|l| l.ifindex).max();
        Ok(highest.unwrap_or(0) + 1)
    }

    /// Gives the devices `op` makes in the host the indexes the kernel would have given
    /// them had docker0 been made as the lab started, from `next` on, and returns how many
    /// it took; `None` when `op` makes none there or the lab does not number them yet.
    ///
    /// docker0 is made late (see `need_default_bridge`) at the index kept for it; the
    /// kernel's own counter (`net->ifindex`) moves only when the kernel picks an index, so
    /// left to itself it would hand out docker0's index, and later any index a removed
    /// device freed, where a Docker host's kernel numbers on. So every device Docker makes
    /// in the host is numbered here, as the kernel would: a veth's peer is registered first
    /// (`veth_newlink`), then the veth itself.
    fn number_host_devices(&self, op: &mut Op, next: u32) -> Option<u32> {
        if next == 0 {
            return None;
        }
        match op {
            Op::AddBridge { ns, index, .. } if ns == HOST && index.is_none() => {
                *index = Some(next);
                Some(1)
            }
            Op::AddVeth {
                ns, peer_ns, with, ..
            } if ns == HOST && with.index.is_none() => {
                if peer_ns.as_deref().is_none_or(|p| p == HOST) {
                    with.peer_index = Some(next);
                    with.index = Some(next + 1);
                    Some(2)
                } else {
                    with.index = Some(next);
                    Some(1)
                }
            }
            _ => None,
        }
    }

    fn apply(&self, op: Op) -> Result<()> {
        // A device the kernel numbers itself in the host (see `apply_numbered`).
        let into_host = match &op {
            Op::AddBridge { ns, index, .. } => ns == HOST && index.is_none(),
            Op::AddVeth {
                ns, peer_ns, with, ..
            } => {
                (ns == HOST && with.index.is_none())
                    || (peer_ns.as_deref() == Some(HOST) && with.peer_index.is_none())
            }
            Op::MoveLink { to, .. } => to == HOST,
            _ => false,
        };
        if into_host {
            self.topo.host_numbered_by_kernel.set(true);
        }
        if self.trace.get() {
            eprintln!("{}", format!("+ {op}").cyan());
        }
        fault::check(&op)?;
        self.kernel
            .apply(&op)
            .map_err(|e| LabError::Kernel(self.in_user_terms(e)))
    }

    /// A kernel error as the user should read it: containers' namespaces by the
    /// container's name, not by their hex sandbox key.
    fn in_user_terms(&self, mut e: KernelError) -> KernelError {
        let d = self.docker.borrow();
        for c in d.containers() {
            let key = docker::sandbox_ns(c);
            if e.what.contains(&key) {
                e.what = e.what.replace(&key, &c.name);
            }
        }
        e
    }

    /// How messages name a namespace: `the host`, `container "c1"` for a container's
    /// namespace (never its hex sandbox key), `netns "ns1"` otherwise.
    pub fn describe_ns(&self, ns: &str) -> String {
        if let Some(c) = self.sandbox_owner(ns) {
            return format!("container \"{c}\"");
        }
        describe_ns(ns)
    }

    /// The name of the container whose own namespace is registered under `ns`, if any.
    fn sandbox_owner(&self, ns: &str) -> Option<String> {
        if ns == HOST || self.topo.netns.borrow().iter().any(|n| n == ns) {
            return None;
        }
        let d = self.docker.borrow();
        d.containers()
            .iter()
            .find(|c| c.mode == crate::model::docker::NetMode::Own && docker::sandbox_ns(c) == ns)
            .map(|c| c.name.clone())
    }

    /// Resolves a namespace name, with a helpful error listing the known ones.
    pub fn check_ns(&self, ns: &str) -> Result<()> {
        if ns == HOST {
            // Whatever a binding does in the host may meet docker0.
            self.need_default_bridge()?;
        }
        if self.has_ns(ns) {
            return Ok(());
        }
        let known = self.topo.netns.borrow();
        let known = if known.is_empty() {
            " (the lab has no namespaces yet; create one with netns(name))".to_string()
        } else {
            format!(" (known: host, {})", known.join(", "))
        };
        Err(LabError::NoSuchNetns {
            name: ns.to_string(),
            known,
        })
    }

    /// Whether a script may use namespace `ns`: the host, the user's namespaces,
    /// containers' (by sandbox key) and `outside()`'s once made — not the namespace beyond
    /// the host's `eth0` before `outside()` names it.
    pub fn has_ns(&self, ns: &str) -> bool {
        self.kernel.has_ns(ns) && self.topo.beyond.borrow().as_deref() != Some(ns)
    }

    /// Gives namespace `from` the name `to`, in the kernel's registry and in everything
    /// the lab keeps by namespace name (veth pairs, links being dismantled, inits,
    /// responders, DNS servers).
    fn rename_ns(&self, from: &str, to: &str) -> Result<()> {
        self.kernel.rename_ns(from, to)?;
        let rename = |n: &mut String| {
            if n == from {
                *n = to.to_string();
            }
        };
        let pairs: HashMap<_, _> = self.topo.veth_peers.borrow_mut().drain().collect();
        *self.topo.veth_peers.borrow_mut() = pairs
            .into_iter()
            .map(|((mut n, d), (mut pn, pd))| {
                rename(&mut n);
                rename(&mut pn);
                ((n, d), (pn, pd))
            })
            .collect();
        for (n, _) in self.topo.vanishing.borrow_mut().iter_mut() {
            rename(n);
        }
        let unsettled: Vec<_> = self.topo.unsettled.borrow_mut().drain().collect();
        self.topo
            .unsettled
            .borrow_mut()
            .extend(unsettled.into_iter().map(|(mut n, d)| {
                rename(&mut n);
                (n, d)
            }));
        for (n, _) in self.running.responders.borrow_mut().iter_mut() {
            rename(n);
        }
        // (Each `remove` in its own statement: a borrow in an `if let` lasts its block.)
        let init = self.running.inits.borrow_mut().remove(from);
        if let Some(init) = init {
            self.running.inits.borrow_mut().insert(to.to_string(), init);
        }
        let dns = self.running.dns_servers.borrow_mut().remove(from);
        if let Some(dns) = dns {
            self.running
                .dns_servers
                .borrow_mut()
                .insert(to.to_string(), dns);
        }
        Ok(())
    }

    /// `ip netns add`. Besides `ip`'s rules (see [`names::check_netns_name`]), a namespace
    /// may not take a container's name: every binding that takes a namespace also takes a
    /// container by name, so one name must never mean both. (`run` refuses the converse.)
    pub fn add_netns(&self, name: &str) -> Result<()> {
        names::check_netns_name(name).map_err(LabError::InvalidName)?;
        if let Some(c) = self.sandbox_owner(name) {
            return Err(LabError::Invalid(format!(
                "cannot create network namespace \"{name}\": the lab uses that name for the \
                 namespace of container \"{c}\""
            )));
        }
        self.make_way_for(name)?;
        if self.kernel.has_ns(name) {
            return Err(LabError::NetnsExists(name.to_string()));
        }
        if self
            .docker
            .borrow()
            .containers()
            .iter()
            .any(|c| c.name == name)
        {
            return Err(LabError::Invalid(format!(
                "cannot create network namespace \"{name}\": a container is named \"{name}\" \
                 (bindings take either by name, so one name cannot mean both)"
            )));
        }
        self.apply(Op::AddNetns {
            ns: name.to_string(),
            sysctls: Vec::new(),
            lo_up: false,
        })?;
        self.topo.netns.borrow_mut().push(name.to_string());
        Ok(())
    }

    /// `ip netns del`: the namespace and every interface in it disappear. Everything netsh
    /// runs there goes first — responders started by `serve`, programs started by `exec`
    /// (their PID namespace's init is killed, and the kernel kills the rest) — since any of
    /// them would keep the namespace alive. Then netsh drops its own descriptors and waits
    /// until the kernel has dismantled the namespace's veth pairs (their other ends vanish),
    /// so the namespace is really gone when this returns. The lab host and containers'
    /// namespaces are refused: a container goes with `rm`.
    pub fn del_netns(&self, name: &str) -> Result<()> {
        if name == HOST {
            return Err(LabError::Invalid(
                "the lab's host namespace cannot be deleted".into(),
            ));
        }
        if let Some(c) = self.sandbox_owner(name) {
            return Err(LabError::Invalid(format!(
                "del_netns: that is the network namespace of container \"{c}\"; remove the \
                 container with rm(\"{c}\")"
            )));
        }
        self.check_ns(name)?;
        self.apply(Op::DelNetns {
            ns: name.to_string(),
        })?;
        self.release_ns(name);
        self.topo.netns.borrow_mut().retain(|n| n != name);
        self.settle_removals()
    }

    /// After `ns`'s namespace was let go: stops whatever netsh runs there (it would keep the
    /// namespace alive) and forgets its veth pairs, whose other ends vanish with it.
    fn release_ns(&self, ns: &str) {
        self.stop_services(ns);
        self.forget_ns(ns);
    }

    /// Forgets the veth pairs with an end in `ns` (whose namespace was let go); their other
    /// ends vanish with it, and `settle_removals` waits for that.
    fn forget_ns(&self, ns: &str) {
        let mut pairs = self.topo.veth_peers.borrow_mut();
        let gone: Vec<(String, String)> = pairs
            .iter()
            .filter(|((n, _), _)| n == ns)
            .map(|(_, peer)| peer.clone())
            .collect();
        pairs.retain(|(n, _), (pn, _)| n != ns && pn != ns);
        self.topo
            .vanishing
            .borrow_mut()
            .extend(gone.into_iter().filter(|(n, _)| n != ns));
    }

    /// `ip netns list`: the user's namespaces, newest first, each with the ID the lab host
    /// knows it by when the kernel assigned one (a veth between them does): `ns2 (id: 1)`.
    pub fn netns_list(&self) -> Result<Vec<(String, Option<i32>)>> {
        self.settle_removals()?;
        self.namespaces()
            .into_iter()
            .map(|n| {
                let id = self.kernel.nsid(HOST, &n)?;
                Ok((n, id))
            })
            .collect()
    }

    /// The user's namespaces, like `ip netns list` (newest first).
    pub fn namespaces(&self) -> Vec<String> {
        self.topo.netns.borrow().iter().rev().cloned().collect()
    }

    /// Makes the lab ready to be looked at: `docker0` exists (see `need_default_bridge`),
    /// and what was removed or built has settled (see `settle_lab`).
    fn settle_removals(&self) -> Result<()> {
        self.need_default_bridge()?;
        self.settle_lab()
    }

    /// [`Lab::settle_removals`] before a probe from namespace `ns` to `dst`: the default
    /// bridge is made only if the probe could meet it — it starts in the host (whose
    /// routes and addresses include docker0's) or goes to the default bridge's subnet.
    /// A probe between containers of user-defined networks cannot tell whether docker0
    /// exists, so a lab that only has those never makes it.
    pub(super) fn settle_for_probe(&self, ns: &str, dst: IpAddr) -> Result<()> {
        let default_subnet = self
            .docker
            .borrow()
            .network("bridge")
            .ok()
            .and_then(|n| n.subnet());
        let meets = ns == HOST
            || match (dst, default_subnet) {
                (IpAddr::V4(d), Some(s)) => s.contains(&d),
                _ => false,
            };
        if meets {
            self.need_default_bridge()?;
        }
        self.settle_lab()
    }

    /// Waits until the host interfaces of removed containers are gone. `rm` releases a
    /// container's namespace and the kernel dismantles it, veth pairs included, in the
    /// background — in batches, which makes removing many containers fast. Anything that
    /// looks at the lab waits for that first, so it never sees a half-removed container.
    pub(super) fn settle_lab(&self) -> Result<()> {
        self.reap_background();
        self.reap_mains();
        if self.topo.uplink_unsettled.replace(false) {
            self.settle_uplink()?;
        }
        let pending: Vec<(String, String)> = self.topo.vanishing.borrow_mut().drain(..).collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        for (ns, dev) in &pending {
            let (ns, dev) = (ns.as_str(), dev.as_str());
            while self.kernel.has_ns(ns) && self.kernel.link_brief(ns, dev)?.is_some() {
                if Instant::now() >= deadline {
                    return Err(LabError::Invalid(format!(
                        "interface \"{dev}\" in {}, whose other end was removed, is still \
                         there after 10 s",
                        self.describe_ns(ns)
                    )));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        // What was built and has not settled yet, except what has gone since.
        let gone: std::collections::HashSet<&(String, String)> = pending.iter().collect();
        let unsettled: Vec<(String, String)> = self
            .topo
            .unsettled
            .borrow_mut()
            .drain()
            .filter(|link| !gone.contains(link))
            .collect();
        self.settle_links(&unsettled)?;
        Ok(())
    }

    /// Whether `dev` in `ns` is being dismantled (see `settle_removals`).
    fn is_vanishing(&self, ns: &str, dev: &str) -> bool {
        self.topo
            .vanishing
            .borrow()
            .iter()
            .any(|(n, d)| n == ns && d == dev)
    }

    pub fn links(&self, ns: &str) -> Result<Vec<LinkInfo>> {
        self.settle_removals()?;
        self.check_ns(ns)?;
        Ok(self.kernel.links(ns)?)
    }

    pub fn link(&self, ns: &str, dev: &str) -> Result<LinkInfo> {
        self.settle_removals()?;
        self.check_ns(ns)?;
        match self.kernel.link(ns, dev)? {
            Some(l) => Ok(l),
            None => Err(no_such_device(&self.describe_ns(ns), dev, &self.links(ns)?)),
        }
    }

    pub fn has_link(&self, ns: &str, dev: &str) -> Result<bool> {
        self.settle_removals()?;
        self.check_ns(ns)?;
        Ok(self.kernel.link(ns, dev)?.is_some())
    }

    /// `ip neigh show`: the namespace's neighbour table.
    pub fn neighbours(&self, ns: &str) -> Result<Vec<crate::kernel::NeighInfo>> {
        self.settle_removals()?;
        self.check_ns(ns)?;
        Ok(self.kernel.neighbours(ns)?)
    }

    pub fn routes(&self, ns: &str) -> Result<Vec<RouteInfo>> {
        self.settle_removals()?;
        self.check_ns(ns)?;
        Ok(self.kernel.routes(ns)?)
    }

    /// Refuses to `verb` an interface the Docker engine manages — a network's bridge, either
    /// end of a container's veth pair — saying whose it is and what to use instead.
    fn not_dockers(&self, ns: &str, dev: &str, verb: &str) -> Result<()> {
        let d = self.docker.borrow();
        let owner = if ns == HOST {
            if let Some(n) = d
                .networks()
                .iter()
                .find(|n| n.bridge.as_deref() == Some(dev))
            {
                Some(format!(
                    "the bridge of Docker network \"{}\" (remove it with network_rm)",
                    n.name
                ))
            } else {
                d.containers().iter().find_map(|c| {
                    let e = c
                        .endpoints
                        .iter()
                        .find(|e| e.host_ifname.as_deref() == Some(dev))?;
                    let net = d.network_by_id(&e.network_id)?;
                    Some(format!(
                        "the host end of container \"{}\"'s interface on network \"{}\" \
                         (use disconnect or rm)",
                        c.name, net.name
                    ))
                })
            }
        } else {
            d.containers()
                .iter()
                .filter(|c| c.mode == crate::model::docker::NetMode::Own)
                .find(|c| docker::sandbox_ns(c) == ns)
                .and_then(|c| {
                    let e = c
                        .endpoints
                        .iter()
                        .find(|e| e.ifname.as_deref() == Some(dev))?;
                    let net = d.network_by_id(&e.network_id)?;
                    Some(format!(
                        "container \"{}\"'s interface on network \"{}\" (use disconnect or rm)",
                        c.name, net.name
                    ))
                })
        };
        match owner {
            Some(owner) => Err(LabError::Invalid(format!(
                "cannot {verb} \"{dev}\": it is {owner}"
            ))),
            None => Ok(()),
        }
    }

    /// Fails unless `dev` exists in `ns`.
    fn need_dev(&self, ns: &str, dev: &str) -> Result<LinkInfo> {
        self.link(ns, dev)
    }

    fn need_free_name(&self, ns: &str, dev: &str) -> Result<()> {
        names::check_ifname(dev).map_err(LabError::InvalidName)?;
        if self.has_link(ns, dev)? {
            return Err(LabError::DeviceExists {
                ns: self.describe_ns(ns),
                dev: dev.to_string(),
            });
        }
        Ok(())
    }

    /// `ip link add NAME type veth peer name PEER [netns PEER_NS]`, issued in `ns`.
    pub fn add_veth(&self, ns: &str, name: &str, peer_ns: &str, peer: &str) -> Result<()> {
        self.check_ns(ns)?;
        self.check_ns(peer_ns)?;
        if name == peer && ns == peer_ns {
            return Err(LabError::Invalid(format!(
                "a veth pair needs two different names, got \"{name}\" twice"
            )));
        }
        self.need_free_name(ns, name)?;
        self.need_free_name(peer_ns, peer)?;
        self.apply(Op::AddVeth {
            ns: ns.to_string(),
            name: name.to_string(),
            peer: peer.to_string(),
            peer_ns: (peer_ns != ns).then(|| peer_ns.to_string()),
            txqlen: None,
            with: Default::default(),
        })?;
        let mut pairs = self.topo.veth_peers.borrow_mut();
        pairs.insert((ns.into(), name.into()), (peer_ns.into(), peer.into()));
        pairs.insert((peer_ns.into(), peer.into()), (ns.into(), name.into()));
        Ok(())
    }

    /// `ip link add NAME type bridge` (`up` false, as the kernel creates it), or a bridge
    /// brought up at once (`up`, `ns.bridge(name)`).
    pub fn add_bridge(&self, ns: &str, name: &str, up: bool) -> Result<()> {
        self.check_ns(ns)?;
        self.need_free_name(ns, name)?;
        self.apply(Op::AddBridge {
            ns: ns.to_string(),
            name: name.to_string(),
            mac: None,
            txqlen: None,
            up,
            index: None,
        })
    }

    /// `ip link del DEV`. Interfaces the Docker engine manages are refused: removing one
    /// by hand would leave Docker's model describing what is gone.
    pub fn del_link(&self, ns: &str, dev: &str) -> Result<()> {
        self.need_dev(ns, dev)?;
        self.not_dockers(ns, dev, "delete")?;
        self.apply(Op::DelLink {
            ns: ns.to_string(),
            dev: dev.to_string(),
        })
    }

    /// `ip link set DEV netns TO`. The kernel drops the link's addresses on the way.
    pub fn move_link(&self, ns: &str, dev: &str, to: &str) -> Result<()> {
        self.need_dev(ns, dev)?;
        self.not_dockers(ns, dev, "move")?;
        self.check_ns(to)?;
        if ns == to {
            return Err(LabError::Invalid(format!(
                "\"{dev}\" is already in {}",
                self.describe_ns(ns)
            )));
        }
        self.need_free_name(to, dev)?;
        self.apply(Op::MoveLink {
            ns: ns.to_string(),
            dev: dev.to_string(),
            to: to.to_string(),
        })?;
        let mut pairs = self.topo.veth_peers.borrow_mut();
        if let Some(peer) = pairs.remove(&(ns.into(), dev.into())) {
            pairs.insert(peer.clone(), (to.into(), dev.into()));
            pairs.insert((to.into(), dev.into()), peer);
        }
        Ok(())
    }

    /// `ip link set dev DEV up|down`.
    pub fn set_up(&self, ns: &str, dev: &str, up: bool) -> Result<()> {
        self.need_dev(ns, dev)?;
        self.apply(Op::SetUp {
            ns: ns.to_string(),
            dev: dev.to_string(),
            up,
        })?;
        if up {
            self.settle(ns, dev)?;
            // Bringing up the second end of a veth gives both ends carrier; the other end's
            // queueing discipline is only attached once the kernel has processed that, and
            // until then it drops what is sent. Wait for it too.
            let peer = self
                .topo
                .veth_peers
                .borrow()
                .get(&(ns.into(), dev.into()))
                .cloned();
            if let Some((peer_ns, peer)) = peer {
                if self.has_link(&peer_ns, &peer).unwrap_or(false) {
                    self.settle(&peer_ns, &peer)?;
                }
            }
        }
        Ok(())
    }

    /// The carrier flag changes at once, but the operational state (and IFF_RUNNING)
    /// follows through the kernel's linkwatch work queue a moment later. Wait for it, so
    /// that a script reading the state right after `up` sees what `ip` would show.
    fn settle(&self, ns: &str, dev: &str) -> Result<()> {
        if !self.settle_links(&[(ns.to_string(), dev.to_string())])? {
            self.need_dev(ns, dev)?;
        }
        Ok(())
    }

    /// Has the next look at the lab wait for `dev` in `ns` to settle (see `settle_lab`).
    fn settle_later(&self, ns: &str, dev: &str) {
        self.topo
            .unsettled
            .borrow_mut()
            .insert((ns.to_string(), dev.to_string()));
    }

    /// Waits until `links` (namespace, name) show what `ip` would show of them a moment
    /// later, in three steps:
    /// 1. each link's operational state follows its carrier (see [`Lab::settle_state`]);
    /// 2. then the bridge each of them is a port of: the kernel changes a bridge's carrier
    ///    only as it processes its ports' (`br_port_carrier_check`, from the same linkwatch
    ///    work), so a bridge looked at before its ports have settled can look settled
    ///    (no carrier, DOWN) and still be about to come up — with its queueing discipline
    ///    not yet attached, dropping what the host sends through it;
    /// 3. then no IPv6 address on those links, if they run IPv6, is tentative: a link gets its
    ///    link-local address as its carrier comes up, and although the lab turns duplicate
    ///    address detection off (`accept_dad` 0), the kernel clears the flag from a work
    ///    queue, so a view could show `tentative` one moment and not the next.
    ///
    /// Links that have gone meanwhile are skipped. Returns whether all of them were there.
    fn settle_links(&self, links: &[(String, String)]) -> Result<bool> {
        let mut all_there = true;
        // Per namespace: the links (by index) whose addresses to wait for.
        let mut running: HashMap<&str, Vec<u32>> = HashMap::new();
        let mut masters: Vec<(&str, u32)> = Vec::new();
        for (ns, dev) in links {
            if !self.kernel.has_ns(ns) {
                all_there = false;
                continue;
            }
            let Some(link) = self.settle_state(|| Ok(self.kernel.link_brief(ns, dev)?))? else {
                all_there = false;
                continue;
            };
            if let Some(m) = link.master_ifindex {
                if !masters.contains(&(ns.as_str(), m)) {
                    masters.push((ns.as_str(), m));
                }
            }
            if link.is_running() && link.ipv6 {
                running.entry(ns.as_str()).or_default().push(link.ifindex);
            }
        }
        for (ns, index) in masters {
            let master = self.settle_state(|| Ok(self.kernel.link_brief_by_index(ns, index)?))?;
            if let Some(link) = master.filter(|l| l.is_running() && l.ipv6) {
                running.entry(ns).or_default().push(link.ifindex);
            }
        }
        for (ns, indexes) in running {
            let deadline = Instant::now() + SETTLE_DEADLINE;
            while self.kernel.any_tentative(ns, &indexes)? && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        Ok(all_there)
    }

    /// Waits until the link `lookup` reads has an operational state that agrees with its
    /// carrier: the carrier flag changes at once, the state (and IFF_RUNNING) follows
    /// through the kernel's linkwatch work. Both ways: a carrier that came (a first port, a
    /// peer up) and one that went (a bridge's last port removed), so the `linkdown` flag
    /// of its routes is set. Returns the link as last read, `None` if it is gone.
    fn settle_state(
        &self,
        lookup: impl Fn() -> Result<Option<LinkInfo>>,
    ) -> Result<Option<LinkInfo>> {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            let Some(link) = lookup()? else {
                return Ok(None);
            };
            let lagging = if link.has_carrier() {
                link.operstate != "UP" && link.operstate != "UNKNOWN"
            } else {
                link.operstate == "UP"
            };
            if !lagging || Instant::now() >= deadline {
                return Ok(Some(link));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// `ip link set dev DEV master BRIDGE` / `nomaster`. A port of a Docker network's
    /// bridge is Docker's and stays where it is.
    pub fn set_master(&self, ns: &str, dev: &str, master: Option<&str>) -> Result<()> {
        let port = self.need_dev(ns, dev)?;
        self.not_dockers(ns, dev, "re-attach")?;
        if let Some(m) = master {
            let link = self.need_dev(ns, m)?;
            if link.kind != "bridge" {
                return Err(LabError::Invalid(format!(
                    "\"{m}\" in {} is not a bridge (it is a {} device)",
                    self.describe_ns(ns),
                    if link.kind.is_empty() {
                        "plain"
                    } else {
                        &link.kind
                    }
                )));
            }
        }
        self.apply(Op::SetMaster {
            ns: ns.to_string(),
            dev: dev.to_string(),
            master: master.map(str::to_string),
        })?;
        // A bridge's carrier follows its ports: the one joined and the one left settle
        // at the next look (see `settle_links`).
        self.settle_later(ns, dev);
        for bridge in port.master.iter().map(String::as_str).chain(master) {
            self.settle_later(ns, bridge);
        }
        Ok(())
    }

    /// Parses `cidr` and says whether `dev` in `ns` already has it.
    fn addr_on(&self, ns: &str, dev: &str, cidr: &str) -> Result<(IpNet, bool)> {
        let net = addr::parse_cidr(cidr).map_err(LabError::Invalid)?;
        let link = self.need_dev(ns, dev)?;
        let present = link
            .addrs
            .iter()
            .any(|a| a.addr == net.addr() && a.prefix == net.prefix_len());
        Ok((net, present))
    }

    /// `ip addr add CIDR dev DEV`.
    pub fn add_addr(&self, ns: &str, dev: &str, cidr: &str) -> Result<()> {
        self.add_addr_brd(ns, dev, cidr, false)
    }

    /// `ip addr add CIDR [brd +] dev DEV`: with `brd`, an IPv4 address gets its subnet's
    /// broadcast address (iproute2's `brd +`). Refused with [`LabError::AddrExists`] when
    /// `dev` already has it.
    pub fn add_addr_brd(&self, ns: &str, dev: &str, cidr: &str, brd: bool) -> Result<()> {
        let (net, present) = self.addr_on(ns, dev, cidr)?;
        if present {
            return Err(LabError::AddrExists {
                ns: self.describe_ns(ns),
                dev: dev.to_string(),
                addr: net,
            });
        }
        self.apply(Op::AddAddr {
            ns: ns.to_string(),
            dev: dev.to_string(),
            addr: net,
            brd,
        })?;
        if net.addr().is_ipv6() {
            // Tentative until the kernel's DAD work has run (see `settle_links`).
            self.settle_later(ns, dev);
        }
        Ok(())
    }

    /// `ip link set dev DEV address MAC`: `mac` is six hex pairs joined by `:` (what
    /// iproute2's `ll_addr_a2n` takes for Ethernet); the kernel refuses a multicast one.
    /// Interfaces Docker manages are refused, as for `master`.
    pub fn set_mac(&self, ns: &str, dev: &str, mac: &str) -> Result<()> {
        if !addr::is_mac(mac) {
            return Err(LabError::Invalid(format!(
                "\"{mac}\" is not a MAC address (expected six hex pairs, 02:00:00:00:00:01)"
            )));
        }
        self.need_dev(ns, dev)?;
        self.not_dockers(ns, dev, "change the address of")?;
        self.apply(Op::SetMac {
            ns: ns.to_string(),
            dev: dev.to_string(),
            mac: mac.to_ascii_lowercase(),
        })
    }

    /// `ip addr del CIDR dev DEV`.
    pub fn del_addr(&self, ns: &str, dev: &str, cidr: &str) -> Result<()> {
        let (net, present) = self.addr_on(ns, dev, cidr)?;
        if !present {
            return Err(LabError::AddrMissing {
                ns: self.describe_ns(ns),
                dev: dev.to_string(),
                addr: net,
            });
        }
        self.apply(Op::DelAddr {
            ns: ns.to_string(),
            dev: dev.to_string(),
            addr: net,
        })
    }

    /// `ip route add DST [via GW] [dev DEV]`.
    pub fn add_route(
        &self,
        ns: &str,
        dst: &str,
        via: Option<&str>,
        dev: Option<&str>,
    ) -> Result<()> {
        let route = self.route(ns, dst, via, dev)?;
        let op = Op::AddRoute {
            ns: ns.to_string(),
            route,
        };
        self.apply(op).map_err(|e| match e {
            LabError::Kernel(k) if k.errno == Some(Errno::ENETUNREACH) => {
                LabError::GatewayUnreachable {
                    ns: self.describe_ns(ns),
                }
            }
            LabError::Kernel(k) if k.errno == Some(Errno::EEXIST) => LabError::RouteExists {
                ns: self.describe_ns(ns),
                dst: dst.to_string(),
            },
            other => other,
        })
    }

    pub fn del_route(&self, ns: &str, dst: &str) -> Result<()> {
        let route = self.route(ns, dst, None, None)?;
        self.apply(Op::DelRoute {
            ns: ns.to_string(),
            route,
        })
        .map_err(|e| match e {
            LabError::Kernel(k) if k.errno == Some(Errno::ESRCH) => LabError::NoRoute {
                ns: self.describe_ns(ns),
                dst: dst.to_string(),
            },
            other => other,
        })
    }

    fn route(&self, ns: &str, dst: &str, via: Option<&str>, dev: Option<&str>) -> Result<Route> {
        self.check_ns(ns)?;
        let dst_net = addr::parse_route_dst(dst).map_err(LabError::Invalid)?;
        let via = via
            .map(addr::parse_ip)
            .transpose()
            .map_err(LabError::Invalid)?;
        if let Some(d) = dev {
            self.need_dev(ns, d)?;
        }
        if let (Some(d), Some(v)) = (dst_net, via) {
            if d.addr().is_ipv4() != v.is_ipv4() {
                return Err(LabError::Invalid(format!(
                    "route {dst} via {v}: destination and gateway are of different IP families"
                )));
            }
        }
        Ok(Route {
            dst: dst_net,
            via,
            dev: dev.map(str::to_string),
            ipv6: dst.contains(':'),
        })
    }

    /// Writes a sysctl inside `ns` (`sysctl -w key=value`).
    pub fn sysctl(&self, ns: &str, key: &str, value: &str) -> Result<()> {
        self.check_ns(ns)?;
        check_sysctl_key(key)?;
        self.apply(Op::Sysctl {
            ns: ns.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        })
        .map_err(|e| match e {
            LabError::Kernel(k) if k.errno == Some(Errno::ENOENT) => LabError::Invalid(format!(
                "no sysctl named \"{key}\" in {}",
                self.describe_ns(ns)
            )),
            LabError::Kernel(k) if k.errno == Some(Errno::EINVAL) => LabError::Invalid(format!(
                "the kernel refused {value:?} for sysctl {key} in {} (not a value it takes)",
                self.describe_ns(ns)
            )),
            other => other,
        })
    }

    pub fn read_sysctl(&self, ns: &str, key: &str) -> Result<String> {
        self.check_ns(ns)?;
        check_sysctl_key(key)?;
        self.kernel.read_sysctl(ns, key).map_err(|k| {
            if k.errno == Some(Errno::ENOENT) {
                LabError::Invalid(format!(
                    "no sysctl named \"{key}\" in {}",
                    self.describe_ns(ns)
                ))
            } else {
                k.into()
            }
        })
    }

    /// Real ICMP echo requests from inside `ns` to `target`.
    pub fn ping(&self, ns: &str, target: &str, opts: &PingOptions) -> Result<PingReport> {
        self.ping_observed(ns, target, opts, &mut |_| {})
    }

    /// Like [`Lab::ping`], telling `observe` of each request and answer as it happens.
    pub fn ping_observed(
        &self,
        ns: &str,
        target: &str,
        opts: &PingOptions,
        observe: &mut dyn FnMut(ping::Event<'_>),
    ) -> Result<PingReport> {
        let ip: IpAddr = target
            .trim()
            .parse()
            .map_err(|_| LabError::Invalid(format!("ping: bad address '{target}'")))?;
        self.settle_for_probe(ns, ip)?;
        self.check_ns(ns)?;
        let report = self
            .kernel
            .with_fd(ns, |fd| ping::ping_observed(fd, ip, opts, observe))?
            .map_err(|e| {
                LabError::Invalid(format!(
                    "ping from {}: cannot open an ICMP socket: {}",
                    self.describe_ns(ns),
                    io_words(&e)
                ))
            })?;
        Ok(report)
    }
}

/// A sysctl name as `sysctl` takes it (`net.ipv4.ip_forward`): dotted words only, so it can
/// only ever name a file under /proc/sys.
fn check_sysctl_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if !ok {
        return Err(LabError::Invalid(format!(
            "\"{key}\" is not a sysctl name (expected dotted words such as net.ipv4.ip_forward)"
        )));
    }
    // Only `net.*` settings belong to a network namespace (the kernel keeps one set per
    // namespace); every other key — kernel.*, vm.*, fs.*, user.* — is the machine's own,
    // shared by everything on it, and a lab must never change it.
    if key.split('.').next() != Some("net") {
        return Err(LabError::Invalid(format!(
            "sysctl \"{key}\" is refused: only net.* settings belong to a network namespace; \
             the others are the machine's own, which a lab never changes"
        )));
    }
    Ok(())
}

/// An I/O error in words: errno as [`crate::kernel::describe`] says it, never `os error N`.
pub fn io_words(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => crate::kernel::describe(Errno::from_raw(n)),
        None => e.to_string(),
    }
}

fn no_such_device(ns: &str, dev: &str, links: &[LinkInfo]) -> LabError {
    LabError::NoSuchDevice {
        ns: ns.to_string(),
        dev: dev.to_string(),
        has: links
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}
