//! The REPL's `:ls`: what the lab holds, in a few lines — the user's namespaces with their
//! interfaces and addresses, Docker's networks with subnet and bridge, the containers with
//! their networks and addresses.

use crate::kernel::state::LinkInfo;
use crate::model::docker::Docker;

/// One namespace of the user's, as `:ls` lists it.
pub struct NamespaceView {
    pub name: String,
    /// Its interfaces, or why they could not be read.
    pub links: Result<Vec<LinkInfo>, String>,
}

/// The `:ls` text: namespaces, networks, containers (each section only when not empty).
pub fn overview(namespaces: &[NamespaceView], docker: &Docker) -> String {
    let mut out = String::new();
    if namespaces.is_empty() {
        out.push_str("namespaces: none\n");
    } else {
        out.push_str("namespaces:\n");
        for ns in namespaces {
            out.push_str(&format!("  {}", ns.name));
            match &ns.links {
                Ok(links) => {
                    let shown: Vec<String> = links
                        .iter()
                        .filter(|l| l.name != "lo")
                        .map(link_words)
                        .collect();
                    if !shown.is_empty() {
                        out.push_str(&format!("  {}", shown.join(", ")));
                    }
                }
                Err(e) => out.push_str(&format!("  ({e})")),
            }
            out.push('\n');
        }
    }
    out.push_str("networks:\n");
    for n in docker.networks() {
        let mut words = vec![format!("  {}", n.name), n.driver.name().to_string()];
        if let Some(pool) = &n.pool {
            words.push(format!("{} gw {}", pool.subnet, pool.gateway));
        }
        if let Some(bridge) = &n.bridge {
            words.push(format!("on {bridge}"));
        }
        if n.internal {
            words.push("internal".to_string());
        }
        out.push_str(&words.join("  "));
        out.push('\n');
    }
    if docker.containers().is_empty() {
        out.push_str("containers: none\n");
    } else {
        out.push_str("containers:\n");
        for c in docker.containers() {
            let joined: Vec<String> = c
                .endpoints
                .iter()
                .map(|e| {
                    let net = docker
                        .network_by_id(&e.network_id)
                        .map_or("?", |n| n.name.as_str());
                    match e.ip {
                        Some((ip, prefix)) => format!("{net} {ip}/{prefix}"),
                        None => net.to_string(),
                    }
                })
                .collect();
            let joined = if joined.is_empty() {
                c.network_mode.clone()
            } else {
                joined.join(", ")
            };
            out.push_str(&format!("  {}  {}\n", c.name, joined));
        }
    }
    out
}

/// `veth-a UP 10.0.0.1/24` — an interface's name, state when not up, and addresses.
fn link_words(l: &LinkInfo) -> String {
    let mut words = vec![l.name.clone()];
    if l.operstate != "UP" && l.operstate != "UNKNOWN" {
        words.push(l.operstate.to_lowercase());
    }
    words.extend(l.addrs.iter().map(|a| format!("{}/{}", a.addr, a.prefix)));
    words.join(" ")
}
