//! Keeps each container's embedded DNS server in step with the networks it shares: when a
//! container joins or leaves a user-defined network, the views of that network's members
//! change by its names — one network's worth of work, not the whole lab's.

use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};

use super::docker::sandbox_ns;
use super::{Lab, LabError, Result};
use crate::model::docker::{Container, Docker, NetMode};
use crate::services::dns::{DnsServer, Records, View};

/// The names `c` answers to on one network, and its address there.
fn names_on(d: &Docker, c: &Container, network_id: &str) -> Option<(Vec<String>, Ipv4Addr)> {
    let n = d.network_by_id(network_id)?;
    if !n.user_defined_bridge() {
        return None;
    }
    let e = c.endpoint(network_id)?;
    let (ip, _) = e.ip?;
    let mut names = vec![c.name.clone()];
    names.extend(e.aliases.iter().cloned());
    Some((names, ip))
}

/// Everything container `c` can resolve: every member of every user-defined network it is on.
fn full_view(d: &Docker, c: &Container) -> Records {
    let mut r = Records::default();
    for e in &c.endpoints {
        for (name, ip) in d.dns_names(&e.network_id) {
            r.insert(&name, ip);
        }
    }
    r
}

impl Lab {
    /// `c` (already in the model) joined network `network_id`: start its DNS server if it
    /// has none, give it a fresh view, and teach the other members its names.
    pub(super) fn dns_joined(&self, c: &Container, network_id: &str) -> Result<()> {
        let d = self.docker.borrow();
        if c.mode != NetMode::Own || !d.has_embedded_dns(c) {
            return Ok(());
        }
        let ns = sandbox_ns(c);
        let view = full_view(&d, c);
        self.set_view(&ns, view)?;
        if let Some((names, ip)) = names_on(&d, c, network_id) {
            for (m, _) in d.members(network_id) {
                if m.id != c.id {
                    self.edit_view(&sandbox_ns(m), |r| {
                        for n in &names {
                            r.insert(n, ip);
                        }
                    });
                }
            }
        }
        Ok(())
    }

    /// `c` left network `network_id` (`gone`: its endpoint there, already out of the model).
    pub(super) fn dns_left(
        &self,
        c: &Container,
        network_id: &str,
        names: Option<(Vec<String>, Ipv4Addr)>,
    ) {
        let d = self.docker.borrow();
        if let Some((names, ip)) = names {
            for (m, _) in d.members(network_id) {
                self.edit_view(&sandbox_ns(m), |r| {
                    for n in &names {
                        r.remove(n, ip);
                    }
                });
            }
        }
        if c.mode == NetMode::Own {
            let view = full_view(&d, c);
            self.edit_view(&sandbox_ns(c), |r| *r = view);
        }
    }

    /// The names `c` has on `network_id`, read before it leaves.
    pub(super) fn dns_names_of(
        &self,
        c: &Container,
        network_id: &str,
    ) -> Option<(Vec<String>, Ipv4Addr)> {
        names_on(&self.docker.borrow(), c, network_id)
    }

    fn set_view(&self, ns: &str, records: Records) -> Result<()> {
        if let Some(server) = self.dns_servers.borrow().get(ns) {
            if let Ok(mut r) = server.1.write() {
                *r = records;
            }
            return Ok(());
        }
        let view: View = Arc::new(RwLock::new(records));
        let server = self
            .kernel
            .with_fd(ns, |fd| {
                DnsServer::start(self.services.handle(), fd, view.clone())
            })?
            .map_err(|e| {
                LabError::Invalid(format!("cannot start the embedded DNS server in {ns}: {e}"))
            })?;
        self.dns_servers
            .borrow_mut()
            .insert(ns.to_string(), (server, view));
        Ok(())
    }

    fn edit_view(&self, ns: &str, f: impl FnOnce(&mut Records)) {
        if let Some((_, view)) = self.dns_servers.borrow().get(ns) {
            if let Ok(mut r) = view.write() {
                f(&mut r);
            }
        }
    }
}
