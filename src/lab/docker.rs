//! The Docker engine of the lab: the pure model (`model::docker`) decides what exists and
//! its drivers (`model::docker::driver`) plan the kernel work; this file carries the plans
//! out, keeps each container's default route on the gateway the model chose, and keeps the
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

use super::{clock, Lab, LabError, Result};
use crate::firewall;
use crate::kernel::nft::Change;
use crate::kernel::{Op, Route, HOST};
use crate::model::docker::driver::Plan;
use crate::model::docker::ids::short;
use crate::model::docker::{
    AttachSpec, Container, Docker, DockerError, Endpoint, NetMode, Network, NetworkSpec, RunExtras,
    State,
};

impl From<DockerError> for LabError {
    /// Docker's refusals keep Docker's words (`Error response from daemon: …`); netsh's
    /// own refusals of what Docker would take are plain errors.
    fn from(e: DockerError) -> Self {
        match e {
            DockerError::UnusableSubnet { .. }
            | DockerError::EmptyNetworkName
            | DockerError::SctpPorts(_)
            | DockerError::DriverNotModelled(_)
            | DockerError::InvalidLink { .. }
            | DockerError::MtuOutOfRange(_)
            | DockerError::InvalidBridgeName { .. } => LabError::Invalid(e.to_string()),
            // The docker CLI's own checks: Docker prints them without the daemon's prefix.
            DockerError::GatewayWithoutSubnet
            | DockerError::GatewayOutsideSubnet(_)
            | DockerError::InvalidPort(_)
            | DockerError::RangeOutsideSubnet(_)
            | DockerError::AuxOutsideSubnet(_)
            | DockerError::InvalidRange(_)
            | DockerError::RunAliasOnDefaultNetwork => LabError::Invalid(e.to_string()),
            _ => LabError::Docker(e.to_string()),
        }
    }
}

/// What a `run` has built so far, so that a failure can take exactly that back.
#[derive(Default)]
pub(super) struct Built {
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
        self.hold_default_bridge(&bridge)?;
        let ruleset = firewall::ruleset(&self.docker.borrow());
        self.apply(Op::Nft {
            ns: HOST.into(),
            ruleset,
        })
    }

    /// `docker0` costs a lab little to make but a lot to end: the kernel waits for every
    /// pending RCU callback when it dismantles a bridge (`br_multicast_dev_del`), with the
    /// rtnl lock held, so every other lab on the machine waits too — in `netsh test`, two
    /// fifths of a small lab's time. So it is made when something first needs it (see
    /// `need_default_bridge`), with the interface index the kernel would have given it as
    /// the daemon starts (3 on a Docker host, after lo and the uplink): the lab keeps that
    /// index free by numbering every device it makes in the host itself, as the kernel
    /// would have (see `Lab::number_host_devices`).
    fn hold_default_bridge(&self, bridge: &Network) -> Result<()> {
        if bridge.bridge.is_none() {
            return self.build_network(bridge);
        }
        let next = self.next_free_host_index()?;
        self.topo.default_bridge_held.set(Some(next));
        self.topo.next_host_index.set(next + 1);
        Ok(())
    }

    /// Makes `docker0`, at the index kept for it (see `hold_default_bridge`), before
    /// anything that could meet it: every view, `exec` and binding in the host
    /// (`check_ns(HOST)`, `settle_removals`), a container joining the default bridge, a
    /// probe from the host or to the default bridge's subnet (`settle_for_probe`).
    pub(super) fn need_default_bridge(&self) -> Result<()> {
        let Some(kept) = self.topo.default_bridge_held.take() else {
            return Ok(());
        };
        let bridge = self.docker.borrow().network("bridge")?.clone();
        let Some(mut plan) = bridge.driver.network_plan(&bridge) else {
            return Ok(());
        };
        if let Op::AddBridge { index, .. } = &mut plan.create {
            *index = Some(kept);
        }
        self.carry_out(plan)
            .inspect_err(|_| self.topo.default_bridge_held.set(Some(kept)))
    }

    /// Read access to the model (for views and bindings).
    pub fn docker(&self) -> std::cell::Ref<'_, Docker> {
        self.docker.borrow()
    }

    /// The namespace a container's processes see: its own, its target's for
    /// `container:`, or the host's for `host`. A container that does not run has none:
    /// Docker's `Container … is not running`.
    pub fn container_ns(&self, key: &str) -> Result<String> {
        let d = self.docker.borrow();
        let c = d.container(key)?;
        let owner = d.namespace_owner(c);
        if c.state != State::Running || owner.state != State::Running {
            return Err(DockerError::NotRunning(c.id.clone()).into());
        }
        Ok(match owner.mode {
            NetMode::Host => HOST.to_string(),
            _ => sandbox_ns(owner),
        })
    }

    /// Carries out a driver's plan: its `create` step, then the rest; if a later step
    /// fails, its `undo` takes the whole step back and the error is returned.
    fn carry_out(&self, plan: Plan) -> Result<()> {
        self.apply_numbered(plan.create)?;
        // A link's operational state follows its carrier, which the kernel reports a
        // moment later (linkwatch): the next look at the lab waits for it (see
        // `settle_removals`), so every view shows it UP — and, if a later step fails, what
        // the undo left (a bridge that lost its only port) as it was.
        self.topo.unsettled.borrow_mut().extend(plan.settle);
        let rest = || -> Result<()> {
            for op in plan.configure {
                self.apply(op)?;
            }
            Ok(())
        };
        rest().inspect_err(|_| self.undo(plan.undo))
    }

    /// After an endpoint of network `network_id` went: its device (a bridge that may have
    /// lost its last port, and with it its carrier) settles at the next look, after the
    /// removed containers' host ends have gone (see `settle_lab`), so its routes read
    /// `linkdown` as `ip route` would show them.
    pub(super) fn settle_network_device(&self, network_id: &str) {
        let device = self
            .docker
            .borrow()
            .network_by_id(network_id)
            .and_then(|n| n.bridge.clone());
        if let Some(dev) = device {
            self.settle_later(HOST, &dev);
        }
    }

    /// The kernel side of network `n`, as its driver plans it (a bridge with the gateway
    /// address for the bridge driver; nothing for host and null). A failure takes back
    /// what was built.
    fn build_network(&self, n: &Network) -> Result<()> {
        match n.driver.network_plan(n) {
            Some(plan) => self.carry_out(plan),
            None => Ok(()),
        }
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
        // IPAM's round-robin cursor moves with every pool handed out: a network taken
        // back must put it back too.
        let cursor = self.docker.borrow().pool_cursor();
        let forget = |id: &str| {
            let mut d = self.docker.borrow_mut();
            let _ = d.remove_network(id);
            d.restore_pool_cursor(cursor);
        };
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
                    forget(&n.id);
                    n = create()?;
                    if n.bridge.as_ref() == Some(&br) {
                        // Not drawn but asked for (`com.docker.network.bridge.name`).
                        forget(&n.id);
                        return Err(LabError::Invalid(format!(
                            "cannot create network \"{name}\": the lab host already has an \
                             interface named \"{br}\" (com.docker.network.bridge.name)"
                        )));
                    }
                }
                Err(e) => {
                    forget(&n.id);
                    return Err(e);
                }
            }
        }
        // build_network takes its own device back if it fails.
        if let Err(e) = self.build_network(&n) {
            forget(&n.id);
            return Err(e);
        }
        // The network's part of the firewall: nothing before, its chains and elements now.
        let scope = firewall::Scope::Network(n.bridge.clone().unwrap_or_default());
        if let Err(e) = self.firewall_follow(&firewall::Firewall::empty(scope)) {
            // The firewall changes atomically: a failed change left it as it was.
            if let Some(op) = n.driver.network_teardown(&n) {
                self.undo(op);
            }
            forget(&n.id);
            return Err(e);
        }
        Ok(n)
    }

    /// `docker network rm`: the firewall without the network first (rules that name a
    /// missing bridge match nothing), then the bridge, then the model.
    pub fn remove_network(&self, key: &str) -> Result<()> {
        let (n, next) = {
            let d = self.docker.borrow();
            let n = d.check_remove_network(key)?.clone();
            let mut next = d.clone();
            next.remove_network(&n.id)?;
            (n, next)
        };
        // Wait for the removed containers' ports to go (a user-defined network's removal
        // cannot meet docker0, which is not made for it), but not for the bridge's own
        // state after losing them: it goes too (the kernel reports a lost carrier up to a
        // second late, see `SETTLE_DEADLINE`).
        if let Some(bridge) = &n.bridge {
            self.topo
                .unsettled
                .borrow_mut()
                .remove(&(HOST.to_string(), bridge.clone()));
        }
        self.settle_lab()?;
        let scope = firewall::Scope::Network(n.bridge.clone().unwrap_or_default());
        let undo = self.firewall_between(
            &self.firewall_state(scope.clone()),
            &firewall::derive_in(&next, scope),
        )?;
        if let Some(teardown) = n.driver.network_teardown(&n) {
            if let Err(e) = self.apply(teardown) {
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
        if self.topo.netns.borrow().iter().any(|n| n == name) {
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
        if c.state != State::Running {
            // `docker create`: nothing is built until it starts.
            return Ok(c);
        }
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
    pub(super) fn build_run(
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
        self.unbuild(c, built, |d| {
            let _ = d.remove_container(&c.id);
        });
    }

    /// Takes back what a failed `start` built, and the model as it was before (`saved`).
    pub(super) fn unbuild_start(&self, c: &Container, built: Built, saved: Docker) {
        self.unbuild(c, built, |d| *d = saved);
    }

    /// Takes back what `built` says was built for `c`; `restore` puts the model back.
    fn unbuild(&self, c: &Container, built: Built, restore: impl FnOnce(&mut Docker)) {
        let names: Vec<_> = built
            .dns
            .iter()
            .map(|n| (n.clone(), self.dns_names_of(c, n)))
            .collect();
        restore(&mut self.docker.borrow_mut());
        for (network_id, names) in names {
            // The container is off those networks in the model: this only edits records.
            let _ = self.dns_left(c, &network_id, names);
        }
        if built.proxies {
            self.stop_proxies(c);
        }
        self.firewall_undo(built.firewall);
        if built.namespace {
            self.undo(Op::DelNetns { ns: sandbox_ns(c) });
            self.release_sandbox(c);
            // A bridge that lost its only port loses its carrier once the kernel has
            // dismantled the veth: wait, so the lab reads as it was.
            for e in &c.endpoints {
                self.settle_network_device(&e.network_id);
            }
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
            lo_up: true,
        })?;
        built.namespace = true;
        for e in &c.endpoints {
            self.build_endpoint(c, e)?;
        }
        let gateway = self
            .docker
            .borrow()
            .gateway_endpoint(c)
            .and_then(|e| e.gateway);
        self.move_default_route(&ns, None, gateway)
    }

    /// After `c`'s namespace was let go: what netsh runs there stops, veths made into it by
    /// hand (`veth(…, c, …)`) and the host ends of its endpoints vanish with it, and
    /// `settle_removals` waits for them.
    pub(super) fn release_sandbox(&self, c: &Container) {
        self.release_ns(&sandbox_ns(c));
        self.topo.vanishing.borrow_mut().extend(
            c.endpoints
                .iter()
                .filter_map(|e| Some((HOST.to_string(), e.host_ifname.clone()?))),
        );
    }

    /// The kernel side of one endpoint, as its network's driver plans it (the bridge
    /// driver: a veth pair, host end on the bridge, container end `ethN` with its MAC and
    /// address). The default route is the caller's: it depends on all endpoints. A failure
    /// takes back what was built.
    fn build_endpoint(&self, c: &Container, e: &Endpoint) -> Result<()> {
        if self
            .docker
            .borrow()
            .network("bridge")
            .is_ok_and(|n| n.id == e.network_id)
        {
            self.need_default_bridge()?;
        }
        let net = self
            .docker
            .borrow()
            .network_by_id(&e.network_id)
            .cloned()
            .ok_or_else(|| LabError::Invalid(format!("network {} vanished", e.network_id)))?;
        match net.driver.endpoint_plan(&net, &sandbox_ns(c), e) {
            Some(plan) => self.carry_out(plan),
            None => Ok(()),
        }
    }

    /// Moves the default route of `ns` from gateway `from` to gateway `to` (see
    /// `route_move`).
    fn move_default_route(
        &self,
        ns: &str,
        from: Option<Ipv4Addr>,
        to: Option<Ipv4Addr>,
    ) -> Result<()> {
        match route_move(ns, from, to) {
            Some(op) => self.apply(op),
            None => Ok(()),
        }
    }

    /// One step of a rollback that moves the default route back (see `undo`).
    fn undo_route(&self, ns: &str, from: Option<Ipv4Addr>, to: Option<Ipv4Addr>) {
        if let Some(op) = route_move(ns, from, to) {
            self.undo(op);
        }
    }

    /// The gateway of `container_id`'s default route as the model has it now (Docker's
    /// choice: see `Docker::gateway_endpoint`).
    fn model_gateway(&self, container_id: &str) -> Result<Option<Ipv4Addr>> {
        let d = self.docker.borrow();
        let c = d.container(container_id)?;
        Ok(d.gateway_endpoint(c).and_then(|e| e.gateway))
    }

    /// `docker network connect`: the model's endpoint, then its veth pair, then the default
    /// route (Docker re-chooses the gateway on every connect: it may move to the new
    /// network), then its DNS names; a failure takes back what was built, in reverse, and
    /// the model as it was. An interface name the container already has inside (made with
    /// `veth`/`move_link`) is refused before anything is built.
    pub fn connect(&self, container: &str, network: &str, attach: &AttachSpec) -> Result<Endpoint> {
        let before = {
            let d = self.docker.borrow();
            let c = d.container(container)?;
            d.gateway_endpoint(c).and_then(|e| e.gateway)
        };
        let fw_before = self.firewall_state(firewall::Scope::Ports);
        let (c, e) = self
            .docker
            .borrow_mut()
            .connect(container, network, attach)?;
        if c.state != State::Running {
            // Only its configuration changed: the network is built when it starts.
            return Ok(e);
        }
        let forget = || {
            self.docker.borrow_mut().undo_connect(&c.id, &e.network_id);
        };
        let ns = match c.mode {
            NetMode::Own => Some(sandbox_ns(&c)),
            _ => None,
        };
        let prepared = (|| -> Result<(Container, Endpoint)> {
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
            Ok((c, e))
        })();
        let (c, e) = match prepared {
            Ok(x) => x,
            Err(err) => {
                forget();
                return Err(err);
            }
        };
        let teardown = self
            .docker
            .borrow()
            .network_by_id(&e.network_id)
            .and_then(|n| n.driver.endpoint_teardown(&e));
        let del_veth = || {
            if let Some(op) = teardown.clone() {
                self.undo(op);
                self.settle_network_device(&e.network_id);
            }
        };
        // build_endpoint takes its own veth pair back if it fails.
        if let Err(err) = self.build_endpoint(&c, &e) {
            forget();
            return Err(err);
        }
        let after = match self.model_gateway(&c.id) {
            Ok(g) => g,
            Err(err) => {
                del_veth();
                forget();
                return Err(err);
            }
        };
        if let Some(ns) = &ns {
            if let Err(err) = self.move_default_route(ns, before, after) {
                del_veth();
                forget();
                return Err(err);
            }
        }
        // Published ports follow the container's gateway endpoint (Docker moves them), and
        // come to life when it gains external connectivity (its first ordinary network
        // after internal ones).
        let joined = self.dns_joined(&c, &e.network_id).and_then(|()| {
            let fw_undo = self.firewall_follow(&fw_before)?;
            let newly = self.docker.borrow().external(&c)
                && !self.running.proxies.borrow().contains_key(&c.id);
            if newly {
                if let Err(err) = self.start_proxies(&c) {
                    self.firewall_undo(fw_undo);
                    return Err(err);
                }
            }
            Ok(())
        });
        if let Err(err) = joined {
            let names = self.dns_names_of(&c, &e.network_id);
            if let Some(ns) = &ns {
                self.undo_route(ns, after, before);
            }
            del_veth();
            forget();
            let _ = self.dns_left(&c, &e.network_id, names);
            return Err(err);
        }
        self.retarget_proxies(&c.id);
        Ok(e)
    }

    /// `docker network disconnect`. Docker re-chooses the gateway: if the endpoint leaving
    /// carried the default route, the next one in libnetwork's order takes it over. The
    /// kernel work comes first, the model last: the default route moves to the new gateway
    /// (`ip route replace`, so there is no moment without one), then the veth pair goes;
    /// if that fails, the route moves back.
    pub fn disconnect(&self, container: &str, network: &str) -> Result<()> {
        let running = self.docker.borrow().container(container)?.state == State::Running;
        if !running {
            // Only its configuration changes.
            self.docker.borrow_mut().disconnect(container, network)?;
            return Ok(());
        }
        // The model as it will be (committed once the kernel work is done): where the
        // default route and the published ports go next.
        let (c, e, names, before, after, next) = {
            let d = self.docker.borrow();
            let e = d.check_disconnect(container, network)?.clone();
            let c = d.container(container)?.clone();
            let names = self.dns_names_of(&c, &e.network_id);
            let before = d.gateway_endpoint(&c).and_then(|x| x.gateway);
            let mut next = d.clone();
            next.disconnect(&c.id, &e.network_id)?;
            let after = next
                .gateway_endpoint(next.container(&c.id)?)
                .and_then(|x| x.gateway);
            (c, e, names, before, after, next)
        };
        // Published ports move with the gateway endpoint: the firewall first (atomic, and
        // undone if a later step fails), the proxies once the model says where.
        let fw_undo = if c.ports.is_empty() {
            None
        } else {
            self.firewall_between(
                &self.firewall_state(firewall::Scope::Ports),
                &firewall::derive_in(&next, firewall::Scope::Ports),
            )?
        };
        let ns = (c.mode == NetMode::Own).then(|| sandbox_ns(&c));
        // The route through the leaving endpoint goes with its veth; only a move to another
        // gateway is ours to make (and to take back).
        let moved = match (&ns, after) {
            (Some(ns), Some(_)) if before != after => {
                if let Err(err) = self.move_default_route(ns, before, after) {
                    self.firewall_undo(fw_undo);
                    return Err(err);
                }
                true
            }
            _ => false,
        };
        let teardown = self
            .docker
            .borrow()
            .network_by_id(&e.network_id)
            .and_then(|n| n.driver.endpoint_teardown(&e));
        if let Some(teardown) = teardown {
            if let Err(err) = self.apply(teardown) {
                if let (true, Some(ns)) = (moved, &ns) {
                    self.undo_route(ns, after, before);
                }
                self.firewall_undo(fw_undo);
                return Err(err);
            }
            self.settle_network_device(&e.network_id);
        }
        *self.docker.borrow_mut() = next;
        let external = {
            let d = self.docker.borrow();
            d.container(&c.id).is_ok_and(|c| d.external(c))
        };
        if external {
            self.retarget_proxies(&c.id);
        } else {
            self.stop_proxies(&c);
        }
        let c = self.docker.borrow().container(&c.id)?.clone();
        self.dns_left(&c, &e.network_id, names)
    }

    /// `docker rm -f`: a running container stops first (see `take_down`: its namespace
    /// goes, and the kernel takes its veth pairs with it — in the background, see
    /// `settle_removals`: the next look at the lab waits for it, and many removals in a row
    /// are dismantled in batches); then the model forgets it, and its log goes.
    pub fn remove_container(&self, key: &str) -> Result<()> {
        let id = self.docker.borrow().check_remove_container(key)?.id.clone();
        // Many removals in a row are dismantled in batches: nothing waits for the kernel.
        self.take_down(&id, State::Exited { code: 137 })?;
        self.docker.borrow_mut().remove_container(&id)?;
        self.running.logs.borrow_mut().remove(&id);
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

/// The operation that moves the default route of `ns` from gateway `from` to gateway `to`
/// (either may be none): `ip route add`, `replace` (no moment without a route) or `del`;
/// none when nothing changes. Moving it back is the same call with the two swapped.
fn route_move(ns: &str, from: Option<Ipv4Addr>, to: Option<Ipv4Addr>) -> Option<Op> {
    match (from, to) {
        (_, Some(to)) if from == Some(to) => None,
        (None, Some(to)) => Some(default_route(ns, to, RouteChange::Add)),
        (Some(_), Some(to)) => Some(default_route(ns, to, RouteChange::Replace)),
        (Some(from), None) => Some(default_route(ns, from, RouteChange::Del)),
        (None, None) => None,
    }
}

/// What to do with a default route.
#[derive(Clone, Copy)]
enum RouteChange {
    Add,
    Replace,
    Del,
}

/// `ip route add|replace|del default via GW` in `ns`.
fn default_route(ns: &str, gw: Ipv4Addr, change: RouteChange) -> Op {
    let route = Route {
        dst: None,
        via: Some(gw.into()),
        dev: None,
        ipv6: false,
    };
    let ns = ns.into();
    match change {
        RouteChange::Add => Op::AddRoute { ns, route },
        RouteChange::Replace => Op::ReplaceRoute { ns, route },
        RouteChange::Del => Op::DelRoute { ns, route },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_moves_with_one_command_and_back_with_the_reverse() {
        let g = |s: &str| Some(s.parse::<Ipv4Addr>().unwrap());
        let cmd = |from, to| route_move("sb", from, to).map(|op| op.to_string());
        let add = cmd(None, g("172.18.0.1")).unwrap();
        assert!(add.ends_with("route add default via 172.18.0.1"), "{add}");
        let replace = cmd(g("172.18.0.1"), g("172.19.0.1")).unwrap();
        assert!(
            replace.ends_with("route replace default via 172.19.0.1"),
            "{replace}"
        );
        let back = cmd(g("172.19.0.1"), g("172.18.0.1")).unwrap();
        assert!(
            back.ends_with("route replace default via 172.18.0.1"),
            "{back}"
        );
        let del = cmd(g("172.18.0.1"), None).unwrap();
        assert!(del.ends_with("route del default via 172.18.0.1"), "{del}");
        assert_eq!(cmd(g("172.18.0.1"), g("172.18.0.1")), None);
        assert_eq!(cmd(None, None), None);
    }
}
