//! The Docker engine of the lab: the pure model (`model::docker`) decides what exists; this
//! file builds it with kernel operations — the bridge driver for real — and keeps the
//! firewall in step.
//!
//! Every operation is all or nothing, for the model and the kernel alike. The model is
//! asked first, so a refused request changes nothing. Operations that take things away
//! (`rm`, `disconnect`, `network_rm`) only ask whether the model would agree, do the
//! kernel work, and commit the model last. Operations that add (`run`, `connect`,
//! `network`) need the model's choices (IDs, addresses, interface names) before building,
//! so they record them, build, and on a kernel failure undo what they built and roll the
//! model back. A rollback step that itself fails says so, and what it left.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use super::{clock, Lab, LabError, Result};
use crate::firewall;
use crate::kernel::nft::Change;
use crate::kernel::{Op, Route, HOST};
use crate::model::docker::ids::short;
use crate::model::docker::{
    AttachSpec, Container, Docker, DockerError, Endpoint, NetMode, Network, NetworkSpec, RunExtras,
};

impl From<DockerError> for LabError {
    /// Docker's refusals keep Docker's words (`Error response from daemon: …`); netsh's
    /// own refusals of what Docker would take are plain errors.
    fn from(e: DockerError) -> Self {
        match e {
            DockerError::UnusableSubnet { .. } => LabError::Invalid(e.to_string()),
            _ => LabError::Docker(e.to_string()),
        }
    }
}

/// What a `run` has built so far, so that a failure can take exactly that back.
#[derive(Default)]
struct Built {
    /// The container's namespace exists (with whatever is inside it).
    namespace: bool,
    /// The firewall change that published the container's ports, to take back.
    firewall: Option<Change>,
    /// The userland proxies of its ports run.
    proxies: bool,
    /// Networks whose DNS records have the container's names.
    dns: Vec<String>,
}

/// The namespace (kernel registry key) of a container's sandbox: like Docker's
/// /var/run/docker/netns/<12 hex>.
pub fn sandbox_ns(c: &Container) -> String {
    short(&c.sandbox_id).to_string()
}

impl Lab {
    /// What Docker's daemon does at start: forwarding on, `docker0` up with its address,
    /// the firewall in place.
    pub(super) fn start_docker(&self) -> Result<()> {
        self.apply(Op::Sysctl {
            ns: HOST.into(),
            key: "net.ipv4.ip_forward".into(),
            value: "1".into(),
        })?;
        let bridge = self.docker.borrow().network("bridge")?.clone();
        self.build_bridge(&bridge)?;
        let ruleset = firewall::ruleset(&self.docker.borrow());
        self.apply(Op::Nft {
            ns: HOST.into(),
            ruleset,
        })
    }

    /// Read access to the model (for views and bindings).
    pub fn docker(&self) -> std::cell::Ref<'_, Docker> {
        self.docker.borrow()
    }

    /// The namespace a container's processes see: its own, its target's for
    /// `container:`, or the host's for `host`.
    pub fn container_ns(&self, key: &str) -> Result<String> {
        let d = self.docker.borrow();
        let c = d.container(key)?;
        let owner = d.namespace_owner(c);
        Ok(match owner.mode {
            NetMode::Host => HOST.to_string(),
            _ => sandbox_ns(owner),
        })
    }

    fn build_bridge(&self, n: &Network) -> Result<()> {
        let (Some(br), Some(pool)) = (&n.bridge, &n.pool) else {
            return Ok(());
        };
        self.apply(Op::AddBridge {
            ns: HOST.into(),
            name: br.clone(),
            mac: n.bridge_mac.clone(),
        })?;
        let gateway = IpNet::V4(
            Ipv4Net::new(pool.gateway, pool.subnet.prefix_len())
                .map_err(|e| LabError::Invalid(e.to_string()))?,
        );
        let configured = self
            .apply(Op::AddAddr {
                ns: HOST.into(),
                dev: br.clone(),
                addr: gateway,
                brd: true,
            })
            .and_then(|()| {
                self.apply(Op::SetUp {
                    ns: HOST.into(),
                    dev: br.clone(),
                    up: true,
                })
            });
        if let Err(e) = configured {
            self.undo(Op::DelLink {
                ns: HOST.into(),
                dev: br.clone(),
            });
            return Err(e);
        }
        Ok(())
    }

    /// One step of rolling back a request that failed halfway; the original error is what
    /// the user gets. Only if this step fails too does a warning say so — and what it left
    /// behind.
    pub(super) fn undo(&self, op: Op) {
        let left = match &op {
            Op::DelLink { ns, dev } => {
                format!("interface \"{dev}\" is left in {}", self.describe_ns(ns))
            }
            Op::DelNetns { ns } => format!("{} is left", self.describe_ns(ns)),
            Op::Nft { .. } | Op::NftChange { .. } => {
                "the firewall may not match the lab's networks until the next change".into()
            }
            other => format!("`{other}` was not undone"),
        };
        if let Err(e) = self.apply(op) {
            eprintln!("netsh: warning: rollback failed: {e}; {left}");
        }
    }

    /// Whether a host interface named `name` exists (or is still being dismantled).
    fn host_name_taken(&self, name: &str) -> Result<bool> {
        Ok(self.is_vanishing(HOST, name) || self.kernel.link_brief(HOST, name)?.is_some())
    }

    /// Makes sure the host-side veth name the model chose for `c`'s endpoint on
    /// `network_id` is free on the host, drawing a new one (recorded in the model) until it
    /// is. Returns the container as the model now has it.
    fn claim_host_name(&self, container_id: &str, network_id: &str) -> Result<Container> {
        let current =
            || -> Result<Container> { Ok(self.docker.borrow().container(container_id)?.clone()) };
        let c = current()?;
        let name = c.endpoint(network_id).and_then(|e| e.host_ifname.clone());
        if let Some(name) = name {
            if self.host_name_taken(&name)? {
                let taken = |n: &str| self.host_name_taken(n).unwrap_or(false);
                self.docker
                    .borrow_mut()
                    .renew_host_ifname(container_id, network_id, &taken);
                return current();
            }
        }
        Ok(c)
    }

    /// `docker network create`: the model's network, its `br-<short id>` bridge with the
    /// gateway address, the firewall. A bridge name that a host interface already has is
    /// never used: the network is drawn again (a new ID, so a new name). A failure halfway
    /// takes the bridge and the model's network back.
    pub fn create_network(&self, name: &str, spec: &NetworkSpec) -> Result<Network> {
        let create = || {
            self.docker
                .borrow_mut()
                .create_network(name, spec, &clock::now_rfc3339())
        };
        let mut n = create()?;
        while let Some(br) = n.bridge.clone() {
            match self.host_name_taken(&br) {
                Ok(false) => break,
                Ok(true) => {
                    let _ = self.docker.borrow_mut().remove_network(&n.id);
                    n = create()?;
                }
                Err(e) => {
                    let _ = self.docker.borrow_mut().remove_network(&n.id);
                    return Err(e);
                }
            }
        }
        // build_bridge takes its own bridge back if it fails.
        if let Err(e) = self.build_bridge(&n) {
            let _ = self.docker.borrow_mut().remove_network(&n.id);
            return Err(e);
        }
        // The network's part of the firewall: nothing before, its chains and elements now.
        let scope = firewall::Scope::Network(n.bridge.clone().unwrap_or_default());
        if let Err(e) = self.firewall_follow(&firewall::Firewall::empty(scope)) {
            // The firewall changes atomically: a failed change left it as it was.
            if let Some(br) = &n.bridge {
                self.undo(Op::DelLink {
                    ns: HOST.into(),
                    dev: br.clone(),
                });
            }
            let _ = self.docker.borrow_mut().remove_network(&n.id);
            return Err(e);
        }
        Ok(n)
    }

    /// `docker network rm`: the firewall without the network first (rules that name a
    /// missing bridge match nothing), then the bridge, then the model.
    pub fn remove_network(&self, key: &str) -> Result<()> {
        self.settle_removals()?;
        let (n, next) = {
            let d = self.docker.borrow();
            let n = d.check_remove_network(key)?.clone();
            let mut next = d.clone();
            next.remove_network(&n.id)?;
            (n, next)
        };
        let scope = firewall::Scope::Network(n.bridge.clone().unwrap_or_default());
        let undo = self.firewall_between(
            &self.firewall_state(scope.clone()),
            &firewall::derive_in(&next, scope),
        )?;
        if let Some(br) = &n.bridge {
            if let Err(e) = self.apply(Op::DelLink {
                ns: HOST.into(),
                dev: br.clone(),
            }) {
                self.firewall_undo(undo);
                return Err(e);
            }
        }
        *self.docker.borrow_mut() = next;
        self.network_views.borrow_mut().remove(&n.id);
        Ok(())
    }

    /// `docker run --name NAME --network NETWORK`: the model's container, its namespace
    /// and veth pairs, its published ports, its DNS names. A container may not take the
    /// name of a network namespace of the lab (bindings take either by name, so one name
    /// must never mean both; `netns()` refuses the converse). A failure at any step takes
    /// back everything built and removes the container from the model again.
    pub fn run_container(
        &self,
        name: &str,
        network: &str,
        attach: &AttachSpec,
        extras: &RunExtras,
    ) -> Result<Container> {
        if self.netns.borrow().iter().any(|n| n == name) {
            return Err(LabError::Invalid(format!(
                "cannot create container \"{name}\": a network namespace is named \"{name}\" \
                 (bindings take either by name, so one name cannot mean both)"
            )));
        }
        // Only published ports change the firewall on `run`.
        let fw_before = if extras.publish.is_empty() {
            None
        } else {
            Some(self.firewall_state(firewall::Scope::Ports))
        };
        let (c, warnings) = self.docker.borrow_mut().run_with(
            name,
            network,
            attach,
            extras,
            &clock::now_rfc3339(),
        )?;
        let mut built = Built::default();
        match self.build_run(&c.id, fw_before.as_ref(), &mut built) {
            Ok(c) => {
                for w in warnings {
                    eprintln!("{w}");
                }
                Ok(c)
            }
            Err(e) => {
                self.unbuild_run(&c, built);
                Err(e)
            }
        }
    }

    /// The kernel side of `run` for the container `id` (already in the model), noting in
    /// `built` what exists so far.
    fn build_run(
        &self,
        id: &str,
        fw_before: Option<&firewall::Firewall>,
        built: &mut Built,
    ) -> Result<Container> {
        let mut c = self.docker.borrow().container(id)?.clone();
        for network_id in c
            .endpoints
            .iter()
            .map(|e| e.network_id.clone())
            .collect::<Vec<_>>()
        {
            c = self.claim_host_name(id, &network_id)?;
        }
        self.build_container(&c, built)?;
        if let Some(before) = fw_before {
            built.firewall = self.firewall_follow(before)?;
            self.start_proxies(&c)?;
            built.proxies = true;
        }
        for e in &c.endpoints {
            built.dns.push(e.network_id.clone());
            self.dns_joined(&c, &e.network_id)?;
        }
        Ok(c)
    }

    /// Takes back what a failed `run` built, and the container out of the model.
    fn unbuild_run(&self, c: &Container, built: Built) {
        let names: Vec<_> = built
            .dns
            .iter()
            .map(|n| (n.clone(), self.dns_names_of(c, n)))
            .collect();
        let _ = self.docker.borrow_mut().remove_container(&c.id);
        for (network_id, names) in names {
            // The container is out of the model, so this only edits records.
            let _ = self.dns_left(c, &network_id, names);
        }
        if built.proxies {
            self.stop_proxies(c);
        }
        self.firewall_undo(built.firewall);
        if built.namespace {
            self.undo(Op::DelNetns { ns: sandbox_ns(c) });
            self.release_sandbox(c);
        }
    }

    fn build_container(&self, c: &Container, built: &mut Built) -> Result<()> {
        if c.mode != NetMode::Own {
            return Ok(());
        }
        let ns = sandbox_ns(c);
        if self.has_ns(&ns) {
            // 48 random bits made a sandbox key that a user's namespace already has.
            return Err(LabError::Invalid(format!(
                "cannot create the namespace of container \"{}\": the lab has a namespace \
                 named \"{ns}\" already; run it again",
                c.name
            )));
        }
        // Docker turns IPv6 off inside containers whose networks are IPv4-only: their `ip a`
        // shows no inet6 lines, not even on lo.
        let sysctls = ["all", "default"]
            .iter()
            .map(|k| (format!("net.ipv6.conf.{k}.disable_ipv6"), "1".to_string()))
            .collect();
        self.apply(Op::AddNetns {
            ns: ns.clone(),
            sysctls,
        })?;
        built.namespace = true;
        self.apply(Op::SetUp {
            ns: ns.clone(),
            dev: "lo".into(),
            up: true,
        })?;
        for e in &c.endpoints {
            self.build_endpoint(c, e, true)?;
        }
        Ok(())
    }

    /// The veth pair of one endpoint: host end on the bridge, container end `ethN` with its
    /// MAC and address, and — for the container's first routed network — the default route.
    /// After `c`'s namespace was let go: what netsh runs there stops, veths made into it by
    /// hand (`veth(…, c, …)`) and the host ends of its endpoints vanish with it, and
    /// `settle_removals` waits for them.
    fn release_sandbox(&self, c: &Container) {
        self.release_ns(&sandbox_ns(c));
        self.vanishing.borrow_mut().extend(
            c.endpoints
                .iter()
                .filter_map(|e| Some((HOST.to_string(), e.host_ifname.clone()?))),
        );
    }

    fn build_endpoint(&self, c: &Container, e: &Endpoint, default_route: bool) -> Result<()> {
        let (Some(ifname), Some(host_if), Some((ip, len))) = (&e.ifname, &e.host_ifname, e.ip)
        else {
            return Ok(());
        };
        let net = self
            .docker
            .borrow()
            .network_by_id(&e.network_id)
            .cloned()
            .ok_or_else(|| LabError::Invalid(format!("network {} vanished", e.network_id)))?;
        let ns = sandbox_ns(c);
        self.apply(Op::AddVeth {
            ns: HOST.into(),
            name: host_if.clone(),
            peer: ifname.clone(),
            peer_ns: Some(ns.clone()),
        })?;
        let rest = || -> Result<()> {
            self.apply(Op::SetMaster {
                ns: HOST.into(),
                dev: host_if.clone(),
                master: net.bridge.clone(),
            })?;
            self.apply(Op::SetUp {
                ns: HOST.into(),
                dev: host_if.clone(),
                up: true,
            })?;
            if let Some(mac) = &e.mac {
                self.apply(Op::SetMac {
                    ns: ns.clone(),
                    dev: ifname.clone(),
                    mac: mac.clone(),
                })?;
            }
            let addr = Ipv4Net::new(ip, len).map_err(|e| LabError::Invalid(e.to_string()))?;
            self.apply(Op::AddAddr {
                ns: ns.clone(),
                dev: ifname.clone(),
                addr: IpNet::V4(addr),
                brd: true,
            })?;
            self.apply(Op::SetUp {
                ns: ns.clone(),
                dev: ifname.clone(),
                up: true,
            })?;
            // Both ends' operational state follows the carrier, which the kernel reports a
            // moment later (linkwatch): wait, so every view of the lab shows them UP.
            self.settle(HOST, host_if)?;
            self.settle(&ns, ifname)?;
            // A bridge's first port gives it carrier, and until linkwatch has caught up the
            // bridge drops what the host sends through it (a reply to the container's first
            // connection to a published port, say): wait for it too.
            if let Some(br) = &net.bridge {
                self.settle(HOST, br)?;
            }
            if default_route && !net.internal {
                if let Some(gw) = e.gateway {
                    self.set_default_route(&ns, gw)?;
                }
            }
            Ok(())
        };
        rest().inspect_err(|_| {
            self.undo(Op::DelLink {
                ns: HOST.into(),
                dev: host_if.clone(),
            })
        })
    }

    fn set_default_route(&self, ns: &str, gw: Ipv4Addr) -> Result<()> {
        self.apply(default_route(ns, gw, false))
    }

    /// Whether the container's namespace has a default route now.
    fn has_default_route(&self, ns: &str) -> Result<bool> {
        Ok(self.routes(ns)?.iter().any(|r| r.dst.is_none() && !r.ipv6))
    }

    /// `docker network connect`: the model's endpoint, then its veth pair, then its DNS
    /// names; a failure takes back what was built and the endpoint out of the model. An
    /// interface name the container already has inside (made with `veth`/`move_link`) is
    /// refused before anything is built.
    pub fn connect(&self, container: &str, network: &str, attach: &AttachSpec) -> Result<Endpoint> {
        let fw_before = self.firewall_state(firewall::Scope::Ports);
        let (c, e) = self
            .docker
            .borrow_mut()
            .connect(container, network, attach)?;
        let forget = || {
            let _ = self.docker.borrow_mut().disconnect(&c.id, &e.network_id);
        };
        let ns = match c.mode {
            NetMode::Own => Some(sandbox_ns(&c)),
            _ => None,
        };
        let prepared = (|| -> Result<(Container, Endpoint, bool)> {
            if let (Some(ns), Some(ifname)) = (&ns, &e.ifname) {
                if self.kernel.link(ns, ifname)?.is_some() {
                    let net = self.docker.borrow().network(&e.network_id)?.name.clone();
                    return Err(LabError::Invalid(format!(
                        "cannot connect container \"{}\" to network \"{net}\": the container \
                         already has an interface named \"{ifname}\", the name Docker gives \
                         this endpoint",
                        c.name
                    )));
                }
            }
            let c = self.claim_host_name(&c.id, &e.network_id)?;
            let e = c
                .endpoint(&e.network_id)
                .cloned()
                .ok_or_else(|| LabError::Invalid("the new endpoint vanished".into()))?;
            let routed = match &ns {
                Some(ns) => self.has_default_route(ns)?,
                None => true,
            };
            Ok((c, e, routed))
        })();
        let (c, e, routed) = match prepared {
            Ok(x) => x,
            Err(err) => {
                forget();
                return Err(err);
            }
        };
        // build_endpoint takes its own veth pair back if it fails.
        if let Err(err) = self.build_endpoint(&c, &e, !routed) {
            forget();
            return Err(err);
        }
        // Published ports follow the container's gateway endpoint (Docker moves them).
        let joined = self
            .dns_joined(&c, &e.network_id)
            .and_then(|()| self.firewall_follow(&fw_before).map(|_| ()));
        if let Err(err) = joined {
            let names = self.dns_names_of(&c, &e.network_id);
            forget();
            let _ = self.dns_left(&c, &e.network_id, names);
            if let Some(host_if) = &e.host_ifname {
                self.undo(Op::DelLink {
                    ns: HOST.into(),
                    dev: host_if.clone(),
                });
            }
            return Err(err);
        }
        self.retarget_proxies(&c.id);
        Ok(e)
    }

    /// `docker network disconnect`. If the container loses the network its default route
    /// went through, the next routed network takes over, as in Docker. The kernel work
    /// comes first, the model last: the default route moves to the next gateway (`ip route
    /// replace`, so there is no moment without one), then the veth pair goes; if that
    /// fails, the route moves back.
    pub fn disconnect(&self, container: &str, network: &str) -> Result<()> {
        let (c, e, names) = {
            let d = self.docker.borrow();
            let e = d.check_disconnect(container, network)?.clone();
            let c = d.container(container)?.clone();
            let names = self.dns_names_of(&c, &e.network_id);
            (c, e, names)
        };
        // Published ports move with the gateway endpoint: the firewall first (atomic, and
        // undone if a later step fails), the proxies once the model says where.
        let fw_undo = if c.ports.is_empty() {
            None
        } else {
            let mut next = self.docker.borrow().clone();
            next.disconnect(&c.id, &e.network_id)?;
            self.firewall_between(
                &self.firewall_state(firewall::Scope::Ports),
                &firewall::derive_in(&next, firewall::Scope::Ports),
            )?
        };
        let mut moved = None;
        if let (NetMode::Own, Some(gw)) = (&c.mode, e.gateway) {
            let ns = sandbox_ns(&c);
            let carries = self
                .routes(&ns)?
                .iter()
                .any(|r| r.dst.is_none() && !r.ipv6 && r.via == Some(std::net::IpAddr::V4(gw)));
            let next = {
                let d = self.docker.borrow();
                c.endpoints
                    .iter()
                    .filter(|x| x.network_id != e.network_id)
                    .find_map(|x| {
                        let n = d.network_by_id(&x.network_id)?;
                        (!n.internal).then_some(x.gateway).flatten()
                    })
            };
            if let (true, Some(next)) = (carries, next) {
                if let Err(err) = self.apply(default_route(&ns, next, true)) {
                    self.firewall_undo(fw_undo);
                    return Err(err);
                }
                moved = Some((ns, gw));
            }
        }
        if let Some(host_if) = &e.host_ifname {
            // Deleting one end of a veth pair deletes the other, and the routes through it.
            if let Err(err) = self.apply(Op::DelLink {
                ns: HOST.into(),
                dev: host_if.clone(),
            }) {
                if let Some((ns, gw)) = moved {
                    self.undo(default_route(&ns, gw, true));
                }
                self.firewall_undo(fw_undo);
                return Err(err);
            }
        }
        self.docker.borrow_mut().disconnect(&c.id, &e.network_id)?;
        self.retarget_proxies(&c.id);
        let c = self.docker.borrow().container(&c.id)?.clone();
        self.dns_left(&c, &e.network_id, names)
    }

    /// `docker rm -f`: the container's namespace goes, and the kernel takes its veth pairs
    /// with it. That happens in the background (see `settle_removals`): the next look at the
    /// lab waits for it, and many removals in a row are dismantled in batches. The firewall
    /// (when the container published ports) changes first, then the namespace, and the
    /// model last.
    pub fn remove_container(&self, key: &str) -> Result<()> {
        let (c, names) = {
            let d = self.docker.borrow();
            let c = d.check_remove_container(key)?.clone();
            let names: Vec<_> = c
                .endpoints
                .iter()
                .map(|e| (e.network_id.clone(), self.dns_names_of(&c, &e.network_id)))
                .collect();
            (c, names)
        };
        let undo = if c.ports.is_empty() {
            None
        } else {
            let mut next = self.docker.borrow().clone();
            next.remove_container(&c.id)?;
            self.firewall_between(
                &self.firewall_state(firewall::Scope::Ports),
                &firewall::derive_in(&next, firewall::Scope::Ports),
            )?
        };
        if c.mode == NetMode::Own {
            if let Err(e) = self.apply(Op::DelNetns { ns: sandbox_ns(&c) }) {
                self.firewall_undo(undo);
                return Err(e);
            }
            self.stop_proxies(&c);
            self.release_sandbox(&c);
        }
        self.docker.borrow_mut().remove_container(&c.id)?;
        for (network_id, n) in names {
            self.dns_left(&c, &network_id, n)?;
        }
        Ok(())
    }

    /// Docker's firewall in the lab host as the kernel holds it (read back from the
    /// kernel, not from the model), one entry per rule: chains in name order (where a
    /// chain sits in the table's list means nothing to nftables — only rule order within a
    /// chain does, and that is kept).
    pub fn firewall_rules(&self) -> Result<Vec<crate::kernel::nft::ListedRule>> {
        let mut rules = self.kernel.nft_rules(HOST, firewall::TABLE)?;
        rules.sort_by(|a, b| a.chain.cmp(&b.chain));
        Ok(rules)
    }
}

/// `ip route add|replace default via GW` in `ns`.
fn default_route(ns: &str, gw: Ipv4Addr, replace: bool) -> Op {
    let route = Route {
        dst: None,
        via: Some(gw.into()),
        dev: None,
        ipv6: false,
    };
    if replace {
        Op::ReplaceRoute {
            ns: ns.into(),
            route,
        }
    } else {
        Op::AddRoute {
            ns: ns.into(),
            route,
        }
    }
}
