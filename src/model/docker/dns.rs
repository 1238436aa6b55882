//! Docker's embedded DNS and `docker rename`, the pure rules (Docker 20.10: libnetwork's
//! `network.go` `updateSvcRecord`/`ResolveName`/`ResolveIP`, `sandbox.go` `ResolveName`,
//! `endpoint.go` `rename`; the daemon's `rename.go` and `names.go`).
//!
//! - Each network has one set of records: every member's container name, its network
//!   aliases and its short ID (`Aliases` in inspect) → its address there, and its address →
//!   `<name>.<network>` for PTR questions (the name only, never an alias).
//! - A container asks the networks it is on, in the order libnetwork keeps a sandbox's
//!   endpoints; the first network that knows a name answers. `<name>.<network>` asks that
//!   network only. Networks it is not on answer nothing.
//! - `--link TARGET[:ALIAS]` on a user-defined network is a DNS alias of the new endpoint,
//!   seen only by the linking container, resolved by TARGET's *name* at the time of the
//!   question; it writes nothing into /etc/hosts and Docker does not check that TARGET
//!   exists. On the default bridge links stay /etc/hosts lines (see `Docker::hosts_file`).
//! - The default bridge's containers have no embedded DNS server, and Docker makes their
//!   endpoints there anonymous (no record). `docker rename` names every endpoint the
//!   container has at that moment (libnetwork's `endpoint.rename`), so a renamed
//!   container's name (and PTR `<name>.bridge`) is then answered on the default bridge to
//!   containers that are on it *and* on a user-defined network — a Docker 20.10 quirk,
//!   checked against the reference engine.

use std::net::Ipv4Addr;

use super::{names, Container, Docker, DockerError, Endpoint, NetMode};

/// What one container contributes to one network's records.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsEntry {
    /// Its container name, then its network aliases (the short ID among them).
    pub names: Vec<String>,
    /// Its address on that network.
    pub ip: Ipv4Addr,
    /// The PTR name of that address: `<container name>.<network name>`.
    pub pointer: String,
}

/// `--link` as Docker's `opts.ParseLink` reads it: `NAME` (the alias is the name),
/// `NAME:ALIAS`, or the `/NAME:/PARENT/ALIAS` form inspect shows. Returns (name, alias).
///
/// Errors: an empty link, or more than one `:` (the docker CLI's words,
/// `bad format for links: a:b:c`).
pub fn parse_link(text: &str) -> Result<(String, String), DockerError> {
    if text.is_empty() {
        return Err(DockerError::InvalidLink {
            link: text.into(),
            why: "empty string specified for links".into(),
        });
    }
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [name] => Ok((name.to_string(), name.to_string())),
        [name, alias] => match name.strip_prefix('/') {
            Some(name) => {
                let alias = alias.rsplit('/').next().unwrap_or(alias);
                Ok((name.to_string(), alias.to_string()))
            }
            None => Ok((name.to_string(), alias.to_string())),
        },
        _ => Err(DockerError::InvalidLink {
            link: text.into(),
            why: format!("bad format for links: {text}"),
        }),
    }
}

impl Docker {
    /// What `c` contributes to the records of network `network_id`: None when that network
    /// has no records (host, none), its endpoint there is anonymous (the default bridge,
    /// until a rename), or `c` has no address there.
    pub fn dns_entry(&self, c: &Container, network_id: &str) -> Option<DnsEntry> {
        let n = self.network_by_id(network_id)?;
        let e = c.endpoint(network_id)?;
        if !n.driver.endpoint_interface() || e.anonymous {
            return None;
        }
        let (ip, _) = e.ip?;
        let mut names = vec![c.name.clone()];
        names.extend(e.aliases.iter().cloned());
        Some(DnsEntry {
            names,
            ip,
            pointer: format!("{}.{}", c.name, n.name),
        })
    }

    /// The endpoints whose networks `c`'s embedded DNS server asks, in the order it asks
    /// them: libnetwork keeps a sandbox's endpoints sorted by `epHeap.Less` — non-internal
    /// networks before internal ones, then by network name, bytewise — and resolves names
    /// and addresses through them in that order. (libnetwork iterates its heap's array,
    /// which is that order for up to two networks; netsh keeps it sorted for any number.)
    /// The default bridge is among them: it answers only for renamed containers (see the
    /// module's notes). Empty for a container without its own namespace.
    pub fn dns_endpoints<'a>(&'a self, c: &'a Container) -> Vec<&'a Endpoint> {
        if c.mode != NetMode::Own {
            return Vec::new();
        }
        let mut eps: Vec<_> = c
            .endpoints
            .iter()
            .filter_map(|e| {
                let n = self.network_by_id(&e.network_id)?;
                n.driver.endpoint_interface().then_some((n, e))
            })
            .collect();
        eps.sort_by(|(a, _), (b, _)| (a.internal, &a.name).cmp(&(b.internal, &b.name)));
        eps.into_iter().map(|(_, e)| e).collect()
    }

    /// `--link` on a user-defined network: the links of the endpoint `run` makes on
    /// `network` (as given, for `NetworkSettings.Networks.<net>.Links`), or None when
    /// `network` is not a user-defined bridge (the links then are the legacy /etc/hosts
    /// kind). Every link is checked for its form first, whichever the network.
    pub fn endpoint_links(
        &self,
        network: &str,
        links: &[String],
    ) -> Result<Option<Vec<String>>, DockerError> {
        for l in links {
            parse_link(l)?;
        }
        let user_defined = !network.starts_with("container:")
            && self.network(network).is_ok_and(|n| n.user_defined_bridge());
        Ok((user_defined && !links.is_empty()).then(|| links.to_vec()))
    }

    /// `docker network connect --link`: the links of `container`'s endpoint on `network_id`
    /// (checked with [`parse_link`] first; the endpoint must exist). DNS aliases for that
    /// container, on any bridge network, the default one included; never /etc/hosts lines.
    pub fn set_endpoint_links(
        &mut self,
        container: &str,
        network_id: &str,
        links: &[String],
    ) -> Result<(), DockerError> {
        for l in links {
            parse_link(l)?;
        }
        let id = self.container(container)?.id.clone();
        if let Some(e) = self
            .containers
            .iter_mut()
            .find(|c| c.id == id)
            .and_then(|c| c.endpoints.iter_mut().find(|e| e.network_id == network_id))
        {
            e.links = links.to_vec();
        }
        Ok(())
    }

    /// Whether `c` has an endpoint on the default bridge (what a legacy `--link` needs of
    /// its target: the daemon's `isLinkable`).
    pub fn on_default_bridge(&self, c: &Container) -> bool {
        c.endpoints.iter().any(|e| {
            self.network_by_id(&e.network_id)
                .is_some_and(|n| n.default_bridge)
        })
    }

    /// Whether `docker rename CONTAINER NEW_NAME` would succeed, changing nothing: the
    /// container and the new name (surrounding whitespace trimmed and a leading `/`
    /// dropped, as the CLI and the daemon do).
    ///
    /// Errors, in the daemon's order and words: an empty name; an unknown container; the
    /// container's own name (`Renaming a container with the same name as its current
    /// name`); a name outside `[a-zA-Z0-9][a-zA-Z0-9_.-]+` or taken by another container
    /// (both prefixed `Error when allocating new name: `).
    pub fn check_rename(
        &self,
        key: &str,
        new_name: &str,
    ) -> Result<(&Container, String), DockerError> {
        let new_name = new_name.trim();
        if key.trim().is_empty() || new_name.is_empty() {
            return Err(DockerError::RenameEmpty);
        }
        let c = self.container(key)?;
        let bare = new_name.strip_prefix('/').unwrap_or(new_name);
        if bare == c.name {
            return Err(DockerError::RenameSame);
        }
        if !names::valid(bare) {
            return Err(DockerError::RenameAllocation(Box::new(
                DockerError::InvalidContainerName(format!("/{bare}")),
            )));
        }
        if let Some(other) = self.containers.iter().find(|o| o.name == bare) {
            return Err(DockerError::RenameAllocation(Box::new(
                DockerError::NameInUse {
                    name: bare.to_string(),
                    id: other.id.clone(),
                },
            )));
        }
        Ok((c, bare.to_string()))
    }

    /// `docker rename`: the container's name, nothing else — its ID, hostname (its short
    /// ID), addresses and aliases stay. What the name is seen by changes with it: the DNS
    /// records of its networks (the lab updates them), network inspect's `Name`, and
    /// `HostConfig.Links` of containers linked to it; the /etc/hosts lines a default-bridge
    /// link wrote keep the old name, as Docker writes them once. Returns the container as
    /// it was and as it is now.
    pub fn rename(
        &mut self,
        key: &str,
        new_name: &str,
    ) -> Result<(Container, Container), DockerError> {
        let (c, new_name) = self.check_rename(key, new_name)?;
        let before = c.clone();
        let Some(stored) = self.containers.iter_mut().find(|x| x.id == before.id) else {
            return Err(DockerError::NoSuchContainer(key.to_string()));
        };
        stored.name = new_name;
        for e in &mut stored.endpoints {
            e.anonymous = false;
        }
        Ok((before, stored.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AttachSpec, NetworkSpec, RunExtras};
    use super::*;

    fn lab() -> Docker {
        Docker::new(7, "t")
    }

    fn net(d: &mut Docker, name: &str, internal: bool) {
        let spec = NetworkSpec {
            internal,
            ..NetworkSpec::default()
        };
        d.create_network(name, &spec, "t").expect("network");
    }

    fn run(
        d: &mut Docker,
        name: &str,
        network: &str,
        aliases: &[&str],
        links: &[&str],
    ) -> Container {
        let attach = AttachSpec {
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            ..AttachSpec::default()
        };
        let extras = RunExtras {
            links: links.iter().map(|s| s.to_string()).collect(),
            ..RunExtras::default()
        };
        d.run_with(name, network, &attach, &extras, "t")
            .expect("run")
            .0
    }

    /// `run` with one link, which must be refused: the refusal's text.
    fn refused(d: &mut Docker, name: &str, network: &str, link: &str) -> String {
        let extras = RunExtras {
            links: vec![link.into()],
            ..RunExtras::default()
        };
        d.run_with(name, network, &AttachSpec::default(), &extras, "t")
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn links_parse_like_dockers_parse_link() {
        let p = |s: &str| parse_link(s).map_err(|e| e.to_string());
        assert_eq!(p("db"), Ok(("db".into(), "db".into())));
        assert_eq!(p("db:dbl"), Ok(("db".into(), "dbl".into())));
        assert_eq!(p("/db:/web/dbl"), Ok(("db".into(), "dbl".into())));
        assert_eq!(
            p("a:b:c"),
            Err(
                "invalid link \"a:b:c\": bad format for links: a:b:c (expected NAME or NAME:ALIAS)"
                    .into()
            )
        );
        assert_eq!(
            p(""),
            Err(
                "invalid link \"\": empty string specified for links (expected NAME or NAME:ALIAS)"
                    .into()
            )
        );
    }

    #[test]
    fn records_hold_name_aliases_short_id_and_the_pointer_name() {
        let mut d = lab();
        net(&mut d, "rvn", false);
        let c = run(&mut d, "rv1", "rvn", &["www"], &[]);
        let n = d.network("rvn").expect("rvn").id.clone();
        let e = d.dns_entry(&c, &n).expect("an entry");
        assert_eq!(e.names[0], "rv1");
        assert!(e.names.contains(&"www".to_string()));
        assert!(e.names.contains(&c.short_id().to_string()));
        assert_eq!(e.pointer, "rv1.rvn");
        // The default bridge has no records.
        let b = run(&mut d, "b1", "bridge", &[], &[]);
        let bridge = d.network("bridge").expect("bridge").id.clone();
        assert_eq!(d.dns_entry(&b, &bridge), None, "anonymous there");
        let (_, b) = d.rename("b1", "b1r").expect("renamed");
        assert_eq!(
            d.dns_entry(&b, &bridge).map(|e| (e.names, e.pointer)),
            Some((vec!["b1r".to_string()], "b1r.bridge".to_string())),
            "a rename names the endpoint"
        );
        let again = d
            .connect("rv1", "bridge", &AttachSpec::default())
            .expect("connect")
            .0;
        assert_eq!(
            d.dns_entry(&again, &bridge),
            None,
            "new bridge endpoints are anonymous"
        );
    }

    #[test]
    fn networks_are_asked_non_internal_first_then_by_name() {
        let mut d = lab();
        for (name, internal) in [("zeta", false), ("alpha", true), ("mid", false)] {
            net(&mut d, name, internal);
        }
        run(&mut d, "mm", "alpha", &[], &[]);
        for n in ["zeta", "mid", "bridge"] {
            d.connect("mm", n, &AttachSpec::default()).expect("connect");
        }
        let c = d.container("mm").expect("mm").clone();
        let order: Vec<String> = d
            .dns_endpoints(&c)
            .iter()
            .map(|e| d.network_by_id(&e.network_id).expect("net").name.clone())
            .collect();
        assert_eq!(order, ["bridge", "mid", "zeta", "alpha"]);
    }

    #[test]
    fn links_on_a_user_network_belong_to_the_endpoint() {
        let mut d = lab();
        net(&mut d, "lkn", false);
        run(&mut d, "lk3", "lkn", &[], &[]);
        // Docker does not check the target: a missing one is taken, and resolves nothing.
        let lk4 = run(&mut d, "lk4", "lkn", &[], &["lk3:dbl", "ghost:gg"]);
        assert!(lk4.links.is_empty(), "no /etc/hosts lines");
        assert_eq!(lk4.endpoints[0].links, ["lk3:dbl", "ghost:gg"]);
        assert!(!d.hosts_file(&lk4).contains("dbl"));
        let err = refused(&mut d, "lk5", "lkn", "a:b:c");
        assert!(err.contains("bad format for links: a:b:c"), "{err}");
        assert!(d.container("lk5").is_err(), "nothing was made");
        // On the default bridge links stay /etc/hosts lines, and the target must exist.
        run(&mut d, "b1", "bridge", &[], &[]);
        let b2 = run(&mut d, "b2", "bridge", &[], &["b1:bal"]);
        assert_eq!(b2.links.len(), 1);
        assert!(b2.endpoints[0].links.is_empty());
        assert_eq!(
            refused(&mut d, "b3", "bridge", "lk3:x"),
            "Cannot link to /lk3, as it does not belong to the default network"
        );
    }

    #[test]
    fn rename_rules_and_refusals() {
        let mut d = lab();
        net(&mut d, "nn", false);
        let a = run(&mut d, "a1", "nn", &[], &[]);
        let b = run(&mut d, "b1", "nn", &[], &[]);
        let err =
            |d: &mut Docker, k: &str, n: &str| d.rename(k, n).expect_err("refused").to_string();
        assert_eq!(
            err(&mut d, "a1", "a1"),
            "Renaming a container with the same name as its current name"
        );
        assert_eq!(
            err(&mut d, "a1", "b1"),
            format!(
                "Error when allocating new name: Conflict. The container name \"/b1\" is \
                 already in use by container \"{}\". You have to remove (or rename) that \
                 container to be able to reuse that name.",
                b.id
            )
        );
        assert_eq!(
            err(&mut d, "a1", "bad!"),
            "Error when allocating new name: Invalid container name (/bad!), only \
             [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        );
        assert_eq!(
            err(&mut d, "a1", "x"),
            "Error when allocating new name: Invalid container name (/x), only \
             [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        );
        assert_eq!(
            err(&mut d, "a1", " "),
            "Neither old nor new names may be empty"
        );
        assert_eq!(err(&mut d, "ghost", "g2"), "No such container: ghost");
        assert_eq!(d.container("a1").expect("unchanged").name, "a1");

        let (before, after) = d.rename("a1", "/a2").expect("renamed");
        assert_eq!((before.name.as_str(), after.name.as_str()), ("a1", "a2"));
        assert_eq!(after.id, a.id);
        assert_eq!(
            after.hostname(),
            a.hostname(),
            "the hostname stays the short ID"
        );
        assert_eq!(after.endpoints.len(), a.endpoints.len());
        assert_eq!(after.endpoints[0].ip, a.endpoints[0].ip);
        assert_eq!(after.endpoints[0].aliases, a.endpoints[0].aliases);
        let n = d.network("nn").expect("nn").id.clone();
        assert_eq!(d.dns_entry(&after, &n).expect("entry").pointer, "a2.nn");
        // The old name is free again.
        run(&mut d, "a1", "nn", &[], &[]);
    }
}
