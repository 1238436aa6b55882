//! The lab's side of the firewall and the published ports: applies what `crate::firewall`
//! derives from the model as small nftables changes (each one atomic, each with its exact
//! inverse for rollbacks), and runs Docker's userland proxy for each container's bindings.
//!
//! The engine (`lab/docker.rs`) calls four things: [`Lab::firewall_state`] before it changes
//! the model, [`Lab::firewall_follow`] after (which returns the change that undoes it), and
//! [`Lab::start_proxies`] / [`Lab::stop_proxies`] for a container's published ports.

use std::net::SocketAddr;

use super::{Lab, LabError, Result};
use crate::firewall::{self, Firewall, Scope};
use crate::kernel::nft::Change;
use crate::kernel::{Op, HOST};
use crate::model::docker::{Container, DockerError};
use crate::services::proxy;

impl Lab {
    /// The part `scope` of the firewall as the model stands now (to compare with after a
    /// change): `Scope::Network(bridge)` for a network, `Scope::Ports` for published ports.
    pub(super) fn firewall_state(&self, scope: Scope) -> Firewall {
        firewall::derive_in(&self.docker.borrow(), scope)
    }

    /// Brings the kernel's table from `before` to what the model says now within the same
    /// scope, sending only the difference (one atomic batch, printed by `--trace` as an
    /// `nft -f` script). Returns the change that takes it back (none if nothing changed),
    /// for a rollback.
    pub(super) fn firewall_follow(&self, before: &Firewall) -> Result<Option<Change>> {
        self.firewall_between(before, &self.firewall_state(before.scope.clone()))
    }

    /// Like [`Lab::firewall_follow`], towards the state `after` of a model not yet
    /// committed.
    pub(super) fn firewall_between(
        &self,
        before: &Firewall,
        after: &Firewall,
    ) -> Result<Option<Change>> {
        let change = firewall::diff(before, after);
        if change.is_empty() {
            return Ok(None);
        }
        self.apply(Op::NftChange {
            ns: HOST.into(),
            change,
        })?;
        Ok(Some(firewall::diff(after, before)))
    }

    /// Rolls back a change made by [`Lab::firewall_follow`].
    pub(super) fn firewall_undo(&self, undo: Option<Change>) {
        if let Some(change) = undo {
            self.undo(Op::NftChange {
                ns: HOST.into(),
                change,
            });
        }
    }

    /// Starts Docker's userland proxy for each published port of `c` (container port on
    /// its gateway endpoint's address, see `firewall::target_ip`): listeners on the host address given, or on `0.0.0.0` and `[::]`.
    /// All or nothing; a listener the kernel refuses (the port taken on that address)
    /// fails the whole with Docker's words: `Error starting userland proxy: listen tcp4
    /// 0.0.0.0:8082: bind: address already in use`.
    pub(super) fn start_proxies(&self, c: &Container) -> Result<()> {
        let (bindings, endpoint, ip) = {
            let d = self.docker.borrow();
            let ports = d.published_ports(c);
            let Some(ip) = firewall::target_ip(&d, c) else {
                return Ok(());
            };
            if ports.is_empty() {
                return Ok(());
            }
            let bindings: Vec<proxy::Binding> = crate::model::docker::allocation_order(ports)
                .into_iter()
                .flat_map(|p| {
                    p.bound.iter().map(move |(a, n)| proxy::Binding {
                        proto: p.proto,
                        listen: SocketAddr::new(*a, *n),
                        container_port: p.container_port,
                    })
                })
                .collect();
            let endpoint = c
                .endpoints
                .first()
                .map(|e| e.id.clone())
                .unwrap_or_default();
            (bindings, endpoint, ip)
        };
        let started = self.kernel.with_fd(HOST, |fd| {
            proxy::start(self.services.handle(), fd, &bindings, ip.into())
        })?;
        match started {
            Ok(p) => {
                self.running.proxies.borrow_mut().insert(c.id.clone(), p);
                Ok(())
            }
            Err((b, e)) => Err(LabError::from(DockerError::ProxyFailed {
                container: c.name.clone(),
                endpoint,
                network: b.network(),
                addr: b.listen.to_string(),
                reason: go_words(&e),
            })),
        }
    }

    /// Points the proxies of container `id` at its gateway endpoint's address as the model
    /// now has it (after `connect` or `disconnect` moved it).
    pub(super) fn retarget_proxies(&self, id: &str) {
        let d = self.docker.borrow();
        let Ok(c) = d.container(id) else { return };
        if let (Some(p), Some(ip)) = (
            self.running.proxies.borrow().get(id),
            firewall::target_ip(&d, c),
        ) {
            p.retarget(ip.into());
        }
    }

    /// Stops `c`'s proxies and waits until their ports are free again.
    pub(super) fn stop_proxies(&self, c: &Container) {
        let p = self.running.proxies.borrow_mut().remove(&c.id);
        if let Some(p) = p {
            p.stop(&self.services);
        }
    }
}

/// An errno as Go's `syscall.Errno` prints it (what docker-proxy's error shows).
fn go_words(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => crate::kernel::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}
