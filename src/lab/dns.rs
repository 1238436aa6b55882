//! Keeps the embedded DNS servers in step with the networks, and `docker rename`.
//!
//! Each user-defined network has one set of records (its members' names, aliases and short
//! IDs, and the PTR names of their addresses), shared by the servers of all its members, so
//! joining or leaving costs one insertion whatever the network's size. Each container's
//! server answers through a small [`Sandbox`] of its own: its networks' records in the order
//! Docker asks them, plus its `--link` aliases. Only that container's sandbox changes when it
//! connects or disconnects; the rules are in `model::docker::dns`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::docker::sandbox_ns;
use super::{Lab, LabError, Result};
use crate::model::docker::dns::{parse_link, DnsEntry};
use crate::model::docker::{Container, NetMode};
use crate::services::dns::{DnsServer, NetworkRecords, Records, Sandbox, SandboxNetwork, View};

/// A container's server and the sandbox it answers from.
///
/// The server itself starts on first need (see [`Lab::ensure_dns`]): only something inside
/// the container's namespace can reach 127.0.0.11, and everything that runs there — a
/// program started by `exec`, a lookup by netsh, a responder sharing port 53 — asks for it
/// first. A thousand containers nobody queries cost no thread, socket or task.
pub(super) struct Served {
    /// Held for its `Drop`, which stops the server; `None` until something needs it.
    server: Option<DnsServer>,
    view: View,
}

fn write(records: &NetworkRecords, f: impl FnOnce(&mut Records)) {
    // A writer that panicked left at worst a partly updated set: keep editing it.
    let mut r = records.write().unwrap_or_else(|e| e.into_inner());
    f(&mut r);
}

/// `--link` aliases of one endpoint: alias → target name (a later link with the same alias
/// wins, as in libnetwork's map).
fn link_aliases(links: &[String]) -> HashMap<String, String> {
    links
        .iter()
        .filter_map(|l| parse_link(l).ok())
        .map(|(name, alias)| (alias, name))
        .collect()
}

impl Lab {
    fn network_records(&self, network_id: &str) -> NetworkRecords {
        self.network_views
            .borrow_mut()
            .entry(network_id.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(Records::default())))
            .clone()
    }

    fn add_entry(&self, network_id: &str, e: &DnsEntry) {
        write(&self.network_records(network_id), |r| {
            for n in &e.names {
                r.insert(n, e.ip);
            }
            r.insert_pointer(e.ip, &e.pointer);
        });
    }

    fn remove_entry(&self, network_id: &str, e: &DnsEntry) {
        write(&self.network_records(network_id), |r| {
            for n in &e.names {
                r.remove(n, e.ip);
            }
            r.remove_pointer(e.ip, &e.pointer);
        });
    }

    /// `c` (already in the model) joined `network_id`.
    pub(super) fn dns_joined(&self, c: &Container, network_id: &str) -> Result<()> {
        let entry = self.docker.borrow().dns_entry(c, network_id);
        if let Some(e) = &entry {
            self.add_entry(network_id, e);
        }
        self.serve_dns(c)
    }

    /// `c` left `network_id`, where it had `entry` (read before it left, with
    /// [`Lab::dns_names_of`]).
    pub(super) fn dns_left(
        &self,
        c: &Container,
        network_id: &str,
        entry: Option<DnsEntry>,
    ) -> Result<()> {
        if let Some(e) = &entry {
            self.remove_entry(network_id, e);
        }
        if self.docker.borrow().container(&c.id).is_ok() {
            self.serve_dns(c)?;
        }
        Ok(())
    }

    /// What `c` has in the records of `network_id`, read before it leaves.
    pub(super) fn dns_names_of(&self, c: &Container, network_id: &str) -> Option<DnsEntry> {
        self.docker.borrow().dns_entry(c, network_id)
    }

    /// Points `c`'s server at its networks as they are now (in Docker's order, with its
    /// link aliases). The first time `c` has an embedded DNS server this only records it;
    /// the server starts when something needs it.
    fn serve_dns(&self, c: &Container) -> Result<()> {
        let (ns, networks, embedded, external) = {
            let d = self.docker.borrow();
            let c = d.container(&c.id)?;
            if c.mode != NetMode::Own {
                return Ok(());
            }
            let networks: Vec<_> = d
                .dns_endpoints(c)
                .into_iter()
                .filter_map(|e| {
                    let n = d.network_by_id(&e.network_id)?;
                    Some((e.network_id.clone(), n.name.clone(), link_aliases(&e.links)))
                })
                .collect();
            (
                sandbox_ns(c),
                networks,
                d.has_embedded_dns(c),
                d.external_dns(c),
            )
        };
        let sandbox = Sandbox {
            networks: networks
                .into_iter()
                .map(|(id, network, links)| SandboxNetwork {
                    network,
                    records: self.network_records(&id),
                    links,
                })
                .collect(),
            external,
        };
        let mut servers = self.running.dns_servers.borrow_mut();
        match servers.get(&ns) {
            // A container that left its last user-defined network keeps 127.0.0.11 in its
            // resolv.conf, as in Docker; its server then knows no names.
            Some(s) => *s.view.write().unwrap_or_else(|e| e.into_inner()) = sandbox,
            None if embedded => {
                servers.insert(
                    ns,
                    Served {
                        server: None,
                        view: Arc::new(RwLock::new(sandbox)),
                    },
                );
            }
            None => {}
        }
        Ok(())
    }

    /// `docker network connect [--link TARGET[:ALIAS]]… NETWORK CONTAINER`: [`Lab::connect`],
    /// then the endpoint's links, which become DNS aliases for `container` alone (Docker
    /// does this on the default bridge too; no /etc/hosts line). Links that do not parse
    /// are refused before anything is built.
    pub fn connect_linked(
        &self,
        container: &str,
        network: &str,
        attach: &crate::model::docker::AttachSpec,
        links: &[String],
    ) -> Result<()> {
        for l in links {
            parse_link(l)?;
        }
        let e = self.connect(container, network, attach)?;
        if links.is_empty() {
            return Ok(());
        }
        let c = {
            let mut d = self.docker.borrow_mut();
            d.set_endpoint_links(container, &e.network_id, links)?;
            d.container(container)?.clone()
        };
        self.serve_dns(&c)
    }

    /// `docker rename CONTAINER NEW_NAME`: the model's rules (`Docker::check_rename`), and a
    /// name no network namespace of the lab has (bindings take either by name). The new
    /// name is in the records of every network of the container at once, the old one gone
    /// (names and PTR alike), as libnetwork's `endpoint.rename` does; hostname, addresses,
    /// aliases and /etc/hosts files stay. Nothing in the kernel changes, so nothing can fail
    /// halfway.
    pub fn rename_container(&self, key: &str, new_name: &str) -> Result<()> {
        let (c, name) = {
            let d = self.docker.borrow();
            let (c, name) = d.check_rename(key, new_name)?;
            (c.clone(), name)
        };
        if self.topo.netns.borrow().iter().any(|n| n == &name) {
            return Err(LabError::Invalid(format!(
                "cannot rename container \"{}\" to \"{name}\": a network namespace is named \
                 \"{name}\" (bindings take either by name, so one name cannot mean both)",
                c.name
            )));
        }
        let before: Vec<_> = c
            .endpoints
            .iter()
            .map(|e| (e.network_id.clone(), self.dns_names_of(&c, &e.network_id)))
            .collect();
        let (_, after) = self.docker.borrow_mut().rename(&c.id, &name)?;
        for (network_id, old) in before {
            if let Some(old) = &old {
                self.remove_entry(&network_id, old);
            }
            if let Some(new) = self.dns_names_of(&after, &network_id) {
                self.add_entry(&network_id, &new);
            }
        }
        Ok(())
    }

    /// Starts the embedded DNS server of namespace `ns` if the namespace has one that is not
    /// running yet. Called before anything runs or looks up names inside `ns`. A server that
    /// cannot start (lo taken down by the script) is simply not there, as when it fails to
    /// answer; the next call tries again.
    pub(super) fn ensure_dns(&self, ns: &str) {
        let idle = self
            .running
            .dns_servers
            .borrow()
            .get(ns)
            .is_some_and(|s| s.server.is_none());
        if idle {
            let _ = self.start_dns(ns, ns);
        }
    }

    /// Starts the server of `ns` (named `who` in errors) on its sandbox.
    fn start_dns(&self, ns: &str, who: &str) -> Result<()> {
        let Some(view) = self
            .running
            .dns_servers
            .borrow()
            .get(ns)
            .map(|s| s.view.clone())
        else {
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
        if let Some(s) = self.running.dns_servers.borrow_mut().get_mut(ns) {
            s.server = Some(server);
        }
        Ok(())
    }
}
