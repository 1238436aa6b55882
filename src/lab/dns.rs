//! Keeps the embedded DNS servers in step with the networks. Each user-defined network has
//! one set of records (its members' names); a container on a single such network is served
//! straight from that set, so joining or leaving costs one insertion whatever the network's
//! size. Only a container on several networks gets a merged copy of its own, kept up to date.

use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};

use super::docker::sandbox_ns;
use super::{Lab, LabError, Result};
use crate::model::docker::{Container, Docker, NetMode};
use crate::services::dns::{DnsServer, Records, View};

/// A container's server, and whether its records are a private merge of several networks.
///
/// The server itself starts on first need (see [`Lab::ensure_dns`]): only something inside
/// the container's namespace can reach 127.0.0.11, and everything that runs there — a
/// program started by `exec`, a lookup by netsh, a responder sharing port 53 — asks for it
/// first. A thousand containers nobody queries cost no thread, socket or task.
pub(super) struct Served {
    /// Held for its `Drop`, which stops the server; `None` until something needs it.
    server: Option<DnsServer>,
    view: View,
    private: bool,
}

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

/// The user-defined networks `c` is on.
fn dns_networks(d: &Docker, c: &Container) -> Vec<String> {
    c.endpoints
        .iter()
        .filter(|e| {
            d.network_by_id(&e.network_id)
                .is_some_and(|n| n.user_defined_bridge())
        })
        .map(|e| e.network_id.clone())
        .collect()
}

fn edit(view: &View, f: impl FnOnce(&mut Records)) {
    if let Ok(mut r) = view.write() {
        f(&mut r);
    }
}

impl Lab {
    fn network_view(&self, network_id: &str) -> View {
        self.network_views
            .borrow_mut()
            .entry(network_id.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(Records::default())))
            .clone()
    }

    /// `c` (already in the model) joined `network_id`.
    pub(super) fn dns_joined(&self, c: &Container, network_id: &str) -> Result<()> {
        let names = names_on(&self.docker.borrow(), c, network_id);
        if let Some((names, ip)) = &names {
            self.edit_network_names(network_id, &c.id, |r| {
                for n in names {
                    r.insert(n, *ip);
                }
            });
        }
        self.serve_dns(c)
    }

    /// `c` left `network_id`, where it answered to `names`.
    pub(super) fn dns_left(
        &self,
        c: &Container,
        network_id: &str,
        names: Option<(Vec<String>, Ipv4Addr)>,
    ) -> Result<()> {
        if let Some((names, ip)) = &names {
            self.edit_network_names(network_id, &c.id, |r| {
                for n in names {
                    r.remove(n, *ip);
                }
            });
        }
        if self.docker.borrow().container(&c.id).is_ok() {
            self.serve_dns(c)?;
        }
        Ok(())
    }

    /// The names `c` has on `network_id`, read before it leaves.
    pub(super) fn dns_names_of(
        &self,
        c: &Container,
        network_id: &str,
    ) -> Option<(Vec<String>, Ipv4Addr)> {
        names_on(&self.docker.borrow(), c, network_id)
    }

    /// Applies `f` to a network's records and to every merged copy that includes them
    /// (the other multi-network members', `except` excluded).
    fn edit_network_names(&self, network_id: &str, except: &str, f: impl Fn(&mut Records)) {
        edit(&self.network_view(network_id), &f);
        self.edit_private_views(network_id, except, f);
    }

    /// Applies `f` to the merged records of the other multi-network members of a network.
    fn edit_private_views(&self, network_id: &str, except: &str, f: impl Fn(&mut Records)) {
        let d = self.docker.borrow();
        let servers = self.dns_servers.borrow();
        for (m, _) in d.members(network_id) {
            if m.id == except {
                continue;
            }
            if let Some(s) = servers.get(&sandbox_ns(m)) {
                if s.private {
                    edit(&s.view, &f);
                }
            }
        }
    }

    /// Makes `c`'s server (starting it if needed) answer from the right records: its
    /// network's own on one network, a merged copy on several.
    fn serve_dns(&self, c: &Container) -> Result<()> {
        let c = self.docker.borrow().container(&c.id)?.clone();
        if c.mode != NetMode::Own || !self.docker.borrow().has_embedded_dns(&c) {
            return Ok(());
        }
        let ns = sandbox_ns(&c);
        let nets = dns_networks(&self.docker.borrow(), &c);
        let (view, private) = match nets.as_slice() {
            [one] => (self.network_view(one), false),
            many => {
                let mut merged = Records::default();
                let d = self.docker.borrow();
                for n in many {
                    for (name, ip) in d.dns_names(n) {
                        merged.insert(&name, ip);
                    }
                }
                (Arc::new(RwLock::new(merged)), true)
            }
        };
        if let Some(s) = self.dns_servers.borrow_mut().get_mut(&ns) {
            if Arc::ptr_eq(&s.view, &view) {
                return Ok(());
            }
            if s.private && private {
                if let (Ok(mut old), Ok(new)) = (s.view.write(), view.read()) {
                    *old = new.clone();
                }
                return Ok(());
            }
        }
        // A different set of records: restart the server on it (the old one lets go of
        // 127.0.0.11:53 as it stops) if it was running; otherwise it starts when needed.
        let running = self
            .dns_servers
            .borrow_mut()
            .remove(&ns)
            .is_some_and(|s| s.server.is_some());
        self.dns_servers.borrow_mut().insert(
            ns.clone(),
            Served {
                server: None,
                view,
                private,
            },
        );
        if running {
            self.start_dns(&ns, &c.name)?;
        }
        Ok(())
    }

    /// Starts the embedded DNS server of namespace `ns` if the namespace has one that is not
    /// running yet. Called before anything runs or looks up names inside `ns`. A server that
    /// cannot start (lo taken down by the script) is simply not there, as when it fails to
    /// answer; the next call tries again.
    pub(super) fn ensure_dns(&self, ns: &str) {
        let idle = self
            .dns_servers
            .borrow()
            .get(ns)
            .is_some_and(|s| s.server.is_none());
        if idle {
            let _ = self.start_dns(ns, ns);
        }
    }

    /// Starts the server of `ns` (named `who` in errors) on its current records.
    fn start_dns(&self, ns: &str, who: &str) -> Result<()> {
        let Some(view) = self.dns_servers.borrow().get(ns).map(|s| s.view.clone()) else {
            return Ok(());
        };
        let server = self
            .kernel
            .with_fd(ns, |fd| DnsServer::start(self.services.handle(), fd, view))?
            .map_err(|e| {
                LabError::Invalid(format!(
                    "cannot start the embedded DNS server of {who}: {e}"
                ))
            })?;
        if let Some(s) = self.dns_servers.borrow_mut().get_mut(ns) {
            s.server = Some(server);
        }
        Ok(())
    }
}
