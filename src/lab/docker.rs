//! The Docker engine of the lab: the pure model (`model::docker`) decides what exists; this
//! file builds it with kernel operations — the bridge driver for real — and keeps the
//! firewall in step. Every request is checked by the model first, so a refused one changes
//! nothing; a kernel failure halfway is rolled back.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use super::{clock, Lab, LabError, Result};
use crate::kernel::nft::{Action, Chain, ChainKind, Hook, Match, Rule, Ruleset, L4};
use crate::kernel::{Op, Route, HOST};
use crate::model::docker::ids::short;
use crate::model::docker::{
    AttachSpec, Container, Docker, DockerError, Driver, Endpoint, NetMode, Network, NetworkSpec,
    Proto, RunExtras,
};

/// The nftables table that holds Docker's rules in the lab host.
pub const TABLE: &str = "docker";

impl From<DockerError> for LabError {
    fn from(e: DockerError) -> Self {
        LabError::Docker(e.to_string())
    }
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
        // DNAT of 127.0.0.1 to a container (published ports reached from the host itself)
        // needs loopback-sourced packets to be routable.
        self.apply(Op::Sysctl {
            ns: HOST.into(),
            key: "net.ipv4.conf.all.route_localnet".into(),
            value: "1".into(),
        })?;
        let bridge = self.docker.borrow().network("bridge")?.clone();
        self.build_bridge(&bridge)?;
        self.refresh_firewall()
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

    /// Best-effort rollback of a half-done request; the original error is what matters.
    fn undo(&self, op: Op) {
        if let Err(e) = self.apply(op) {
            eprintln!("netsh: warning: rollback failed: {e}");
        }
    }

    /// `docker network create`.
    pub fn create_network(&self, name: &str, spec: &NetworkSpec) -> Result<Network> {
        let n = self
            .docker
            .borrow_mut()
            .create_network(name, spec, &clock::now_rfc3339())?;
        let built = self.build_bridge(&n).and_then(|()| self.refresh_firewall());
        if let Err(e) = built {
            let _ = self.docker.borrow_mut().remove_network(&n.id);
            self.undo(Op::DelLink {
                ns: HOST.into(),
                dev: n.bridge.clone().unwrap_or_default(),
            });
            return Err(e);
        }
        Ok(n)
    }

    /// `docker network rm`.
    pub fn remove_network(&self, key: &str) -> Result<()> {
        self.settle_removals()?;
        let n = self.docker.borrow_mut().remove_network(key)?;
        if let Some(br) = n.bridge {
            self.apply(Op::DelLink {
                ns: HOST.into(),
                dev: br,
            })?;
        }
        self.refresh_firewall()
    }

    /// `docker run --name NAME --network NETWORK`.
    pub fn run_container(
        &self,
        name: &str,
        network: &str,
        attach: &AttachSpec,
        extras: &RunExtras,
    ) -> Result<Container> {
        let (c, warnings) = self.docker.borrow_mut().run_with(
            name,
            network,
            attach,
            extras,
            &clock::now_rfc3339(),
        )?;
        for w in warnings {
            eprintln!("{w}");
        }
        let built = self.build_container(&c).and_then(|()| {
            if c.ports.is_empty() {
                Ok(())
            } else {
                self.refresh_firewall()
            }
        });
        if let Err(e) = built {
            let _ = self.docker.borrow_mut().remove_container(&c.id);
            if c.mode == NetMode::Own && self.has_ns(&sandbox_ns(&c)) {
                self.undo(Op::DelNetns { ns: sandbox_ns(&c) });
            }
            return Err(e);
        }
        for e in &c.endpoints {
            self.dns_joined(&c, &e.network_id)?;
        }
        Ok(c)
    }

    fn build_container(&self, c: &Container) -> Result<()> {
        if c.mode != NetMode::Own {
            return Ok(());
        }
        let ns = sandbox_ns(c);
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
            // The host end's operational state follows the container end's carrier.
            self.settle(HOST, host_if)?;
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
        self.apply(Op::AddRoute {
            ns: ns.into(),
            route: Route {
                dst: None,
                via: Some(gw.into()),
                dev: None,
                ipv6: false,
            },
        })
    }

    /// Whether the container's namespace has a default route now.
    fn has_default_route(&self, ns: &str) -> Result<bool> {
        Ok(self.routes(ns)?.iter().any(|r| r.dst.is_none() && !r.ipv6))
    }

    /// `docker network connect`.
    pub fn connect(&self, container: &str, network: &str, attach: &AttachSpec) -> Result<Endpoint> {
        let (c, e) = self
            .docker
            .borrow_mut()
            .connect(container, network, attach)?;
        let routed = match c.mode {
            NetMode::Own => self.has_default_route(&sandbox_ns(&c))?,
            _ => true,
        };
        if let Err(err) = self.build_endpoint(&c, &e, !routed) {
            let _ = self.docker.borrow_mut().disconnect(&c.id, &e.network_id);
            return Err(err);
        }
        self.dns_joined(&c, &e.network_id)?;
        Ok(e)
    }

    /// `docker network disconnect`. If the container loses the network its default route
    /// went through, the next routed network takes over, as in Docker.
    pub fn disconnect(&self, container: &str, network: &str) -> Result<()> {
        let names = {
            let d = self.docker.borrow();
            let c = d.container(container)?;
            let n = d.network(network)?;
            self.dns_names_of(c, &n.id)
        };
        let e = self.docker.borrow_mut().disconnect(container, network)?;
        let c = self.docker.borrow().container(container)?.clone();
        self.dns_left(&c, &e.network_id, names)?;
        if let Some(host_if) = &e.host_ifname {
            // Deleting one end of a veth pair deletes the other.
            self.apply(Op::DelLink {
                ns: HOST.into(),
                dev: host_if.clone(),
            })?;
        }
        if c.mode == NetMode::Own && !self.has_default_route(&sandbox_ns(&c))? {
            let d = self.docker.borrow();
            let next = c.endpoints.iter().find_map(|e| {
                let n = d.network_by_id(&e.network_id)?;
                (!n.internal).then_some(e.gateway).flatten()
            });
            drop(d);
            if let Some(gw) = next {
                self.set_default_route(&sandbox_ns(&c), gw)?;
            }
        }
        Ok(())
    }

    /// `docker rm -f`: the container's namespace goes, and the kernel takes its veth pairs
    /// with it. That happens in the background (see `settle_removals`): the next look at the
    /// lab waits for it, and many removals in a row are dismantled in batches.
    pub fn remove_container(&self, key: &str) -> Result<()> {
        let names: Vec<_> = {
            let d = self.docker.borrow();
            let c = d.container(key)?;
            c.endpoints
                .iter()
                .map(|e| (e.network_id.clone(), self.dns_names_of(c, &e.network_id)))
                .collect()
        };
        let c = self.docker.borrow_mut().remove_container(key)?;
        if !c.ports.is_empty() {
            self.refresh_firewall()?;
        }
        if c.mode == NetMode::Own {
            self.stop_services(&sandbox_ns(&c));
        }
        for (network_id, n) in names {
            self.dns_left(&c, &network_id, n)?;
        }
        if c.mode == NetMode::Own {
            self.apply(Op::DelNetns { ns: sandbox_ns(&c) })?;
            self.vanishing
                .borrow_mut()
                .extend(c.endpoints.iter().filter_map(|e| e.host_ifname.clone()));
        }
        Ok(())
    }

    /// The firewall Docker keeps for its bridge networks, applied as one atomic batch:
    /// traffic between two bridge networks is dropped (DOCKER-ISOLATION), internal networks
    /// reach nothing beyond their bridge, and traffic leaving a non-internal network for
    /// anywhere else is masqueraded.
    pub(super) fn refresh_firewall(&self) -> Result<()> {
        let ruleset = firewall(&self.docker.borrow());
        self.apply(Op::Nft {
            ns: HOST.into(),
            ruleset,
        })
    }
}

/// DNAT rules for published ports: traffic to a host address (`fib daddr type local`) on a
/// published port goes to the container's address and port.
fn published(d: &Docker) -> Vec<Rule> {
    let mut rules = Vec::new();
    for c in d.containers() {
        let Some(ip) = d.primary_ip(c) else {
            continue;
        };
        for p in &c.ports {
            let mut matches = vec![Match::DaddrLocal];
            if let Some(host_ip) = p.host_ip {
                matches.push(Match::Daddr(Ipv4Net::from(host_ip)));
            }
            matches.push(Match::Protocol(match p.proto {
                Proto::Tcp => L4::Tcp,
                Proto::Udp => L4::Udp,
            }));
            matches.push(Match::Dport(p.host_port));
            rules.push(Rule {
                matches,
                action: Action::Dnat {
                    addr: ip,
                    port: Some(p.container_port),
                },
                comment: Some(format!("published by {}", c.name)),
            });
        }
    }
    rules
}

/// The ruleset for the current networks.
pub fn firewall(d: &Docker) -> Ruleset {
    let bridges: Vec<(&str, Ipv4Net, bool)> = d
        .networks()
        .iter()
        .filter(|n| n.driver == Driver::Bridge)
        .filter_map(|n| Some((n.bridge.as_deref()?, n.subnet()?, n.internal)))
        .collect();
    let mut forward = Vec::new();
    let mut postrouting = Vec::new();
    for &(br, subnet, internal) in &bridges {
        // Connections from the host's own 127.0.0.1 to a published port leave with a
        // loopback source, which the container could not answer: rewrite it.
        postrouting.push(Rule {
            matches: vec![
                Match::Saddr(Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).unwrap_or_default()),
                Match::OifName(br.into()),
            ],
            action: Action::Masquerade,
            comment: None,
        });
        if internal {
            forward.push(Rule {
                matches: vec![Match::IifName(br.into()), Match::NotOifName(br.into())],
                action: Action::Drop,
                comment: Some("internal network: nothing leaves".into()),
            });
            forward.push(Rule {
                matches: vec![Match::OifName(br.into()), Match::NotIifName(br.into())],
                action: Action::Drop,
                comment: Some("internal network: nothing enters".into()),
            });
        } else {
            postrouting.push(Rule {
                matches: vec![Match::Saddr(subnet), Match::NotOifName(br.into())],
                action: Action::Masquerade,
                comment: None,
            });
        }
        for &(other, ..) in &bridges {
            if other != br {
                forward.push(Rule {
                    matches: vec![Match::IifName(br.into()), Match::OifName(other.into())],
                    action: Action::Drop,
                    comment: Some("isolate bridge networks".into()),
                });
            }
        }
    }
    let dnat = published(d);
    Ruleset {
        table: TABLE.into(),
        chains: vec![
            Chain {
                name: "prerouting".into(),
                hook: Hook::Prerouting,
                kind: ChainKind::Nat,
                priority: -100,
                rules: dnat.clone(),
            },
            Chain {
                name: "output".into(),
                hook: Hook::Output,
                kind: ChainKind::Nat,
                priority: -100,
                rules: dnat,
            },
            Chain {
                name: "forward".into(),
                hook: Hook::Forward,
                kind: ChainKind::Filter,
                priority: 0,
                rules: forward,
            },
            Chain {
                name: "postrouting".into(),
                hook: Hook::Postrouting,
                kind: ChainKind::Nat,
                priority: 100,
                rules: postrouting,
            },
        ],
    }
}
