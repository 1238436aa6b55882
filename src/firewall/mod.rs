//! Docker's firewall, derived from the model: which chains, rules and set elements each
//! network and each published port needs, and what changes between two states of the
//! model. Pure (no I/O, unit-tested unprivileged); `lab/firewall.rs` applies it.
//!
//! Docker 20.10 (libnetwork `drivers/bridge/setup_ip_tables.go`, `port_mapping.go`) keeps
//! its rules in iptables; this is the same policy in one nftables table, `ip docker`, shaped
//! so that rules grow linearly with the number of networks and a change touches only what
//! it concerns:
//!
//! ```text
//! forward     (filter)  iifname vmap @forward-from       → fwd-<bridge>
//!                       oifname vmap @forward-to         → to-<bridge>   (internal networks)
//! prerouting  (dstnat)  fib daddr type local jump publish
//! output      (dstnat)  ip daddr != 127.0.0.0/8 fib daddr type local jump publish
//! postrouting (srcnat)  iifname vmap @masquerade-from    → nat-<bridge>  (non-internal)
//! publish               iifname @bridges return
//!                       meta l4proto tcp th dport vmap @tcp-published → publish-tcp-<port>
//!                       meta l4proto udp th dport vmap @udp-published → publish-udp-<port>
//! ```
//!
//! - `fwd-<bridge>` is Docker's two-stage isolation for one network (DOCKER-ISOLATION-STAGE-1
//!   `-i B ! -o B -j STAGE-2`, STAGE-2 `-o B -j DROP` for every other bridge): traffic that
//!   stays on the bridge is accepted (dropped on a network with
//!   `com.docker.network.bridge.enable_icc=false`, Docker's `-i B -o B -j DROP`), traffic to
//!   any other Docker bridge (`@bridges`) is dropped. An internal network instead drops whatever leaves for another subnet
//!   (`-i B ! -d SUBNET -j DROP`), and `to-<bridge>` drops whatever enters from another
//!   subnet (`-o B ! -s SUBNET -j DROP`).
//! - `nat-<bridge>` masquerades what leaves a non-internal network (`-s SUBNET ! -o B -j
//!   MASQUERADE`), unless its `com.docker.network.bridge.enable_ip_masquerade` is false.
//! - `publish` is Docker's nat `DOCKER` chain: traffic from any Docker bridge returns
//!   (`-i B -j RETURN`) — it reaches the userland proxy listening on the host instead, which is
//!   how a container reaches a published port through its gateway or another network's
//!   gateway; traffic from elsewhere to a published port is DNATed to the container
//!   (`! -i B -p tcp --dport HOST -j DNAT --to-destination IP:PORT`). The host's own
//!   127.0.0.0/8 is left out (Docker's OUTPUT rule `! -d 127.0.0.0/8`), so `localhost:PORT`
//!   reaches the proxy too.
//!
//! Rules: [`FIXED_RULES`] plus [`RULES_PER_NETWORK`] per bridge network, plus one per
//! published binding. Adding a network is "add two chains, their rules, and an element to
//! three sets"; nothing else moves.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::kernel::nft::{
    Action, Chain, ChainKind, Change, Element, Hook, Key, KeyType, Match, RegularChain, Rule,
    Ruleset, Set, Step, VmapKey, L4,
};
use crate::model::docker::driver::BRIDGE;
use crate::model::docker::{Docker, Proto};

/// The nftables table that holds Docker's rules in the lab host.
pub const TABLE: &str = "docker";

/// Every Docker bridge (`docker0`, `br-…`).
pub const BRIDGES: &str = "bridges";
/// Bridge → its `fwd-` chain (traffic leaving that network).
pub const FORWARD_FROM: &str = "forward-from";
/// Internal bridge → its `to-` chain (traffic entering that network).
pub const FORWARD_TO: &str = "forward-to";
/// Non-internal bridge → its `nat-` chain.
pub const MASQUERADE_FROM: &str = "masquerade-from";
/// Host port → its `publish-tcp-` / `publish-udp-` chain.
pub const TCP_PUBLISHED: &str = "tcp-published";
pub const UDP_PUBLISHED: &str = "udp-published";
/// The regular chain both DNAT hooks jump to (Docker's nat `DOCKER` chain).
pub const PUBLISH: &str = "publish";

#[cfg_attr(not(test), allow(dead_code))]
/// Rules that exist whatever the model holds (the base chains and `publish`).
pub const FIXED_RULES: usize = 8;
#[cfg_attr(not(test), allow(dead_code))]
/// Rules each bridge network adds (internal or not).
pub const RULES_PER_NETWORK: usize = 3;

/// Which part of the table a state covers. A change is the difference of two states of
/// the same scope, so it touches nothing outside it — and deriving a scope costs what is in
/// it, not what the whole model holds (a network's part does not look at the other 199).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Everything (the table at the engine's start).
    #[default]
    All,
    /// Every published port's chain and map elements.
    Ports,
    /// One bridge network's chains and elements, by bridge name.
    Network(String),
}

/// The part of the table that follows the model, within a [`Scope`]: regular chains by name
/// (rules in order) and each set's elements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Firewall {
    pub scope: Scope,
    pub chains: BTreeMap<String, Vec<Rule>>,
    pub elements: BTreeMap<&'static str, BTreeSet<Element>>,
}

impl Firewall {
    /// The state of `scope` where the model has nothing in it (a network about to exist).
    pub fn empty(scope: Scope) -> Firewall {
        Firewall {
            scope,
            ..Default::default()
        }
    }

    #[cfg_attr(not(test), allow(dead_code))]
    /// How many rules the whole table holds with this state (fixed ones included).
    pub fn rule_count(&self) -> usize {
        FIXED_RULES - 3 + self.chains.values().map(Vec::len).sum::<usize>()
    }

    fn element(&mut self, set: &'static str, key: Key, jump: Option<String>) {
        self.elements
            .entry(set)
            .or_default()
            .insert(Element { key, jump });
    }
}

fn rule(matches: Vec<Match>, action: Action, comment: Option<String>) -> Rule {
    Rule {
        matches,
        action,
        comment,
    }
}

fn l4(p: Proto) -> L4 {
    match p {
        Proto::Tcp => L4::Tcp,
        Proto::Udp => L4::Udp,
    }
}

/// The address a container's published ports lead to: that of its gateway endpoint
/// ([`Docker::gateway_endpoint`]: libnetwork's endpoint order, non-internal networks first,
/// then by name), else its first address. Docker programs the port mapping on the endpoint
/// that gives the sandbox external connectivity and moves it when that endpoint changes
/// (`docker network disconnect` of that network re-points docker-proxy at the next one;
/// checked on Docker 20.10.24).
pub fn target_ip(d: &Docker, c: &crate::model::docker::Container) -> Option<Ipv4Addr> {
    d.gateway_endpoint(c)
        .and_then(|e| e.ip)
        .map(|(ip, _)| ip)
        .or_else(|| d.primary_ip(c))
}

/// The chain that holds the DNAT rules of host port `port` over `proto`.
pub fn publish_chain(proto: Proto, port: u16) -> String {
    format!("publish-{}-{port}", proto.name())
}

/// The state of the table's model-driven part for `d`: per bridge network its chains and
/// elements, per published host port (and protocol) a chain with one DNAT rule per binding.
/// Bindings of containers without an IPv4 address (host, none) are left out: Docker
/// discards them.
pub fn derive(d: &Docker) -> Firewall {
    derive_in(d, Scope::All)
}

/// [`derive`] limited to `scope`.
pub fn derive_in(d: &Docker, scope: Scope) -> Firewall {
    let mut fw = Firewall::empty(scope.clone());
    if scope == Scope::All {
        fixed(&mut fw);
    }
    for n in d.networks().iter().filter(|n| n.driver == BRIDGE) {
        let (Some(br), Some(subnet)) = (n.bridge.as_deref(), n.subnet()) else {
            continue;
        };
        let wanted = match &scope {
            Scope::All => true,
            Scope::Ports => false,
            Scope::Network(b) => b == br,
        };
        if wanted {
            network(
                &mut fw,
                &comment_label(&n.name, &n.id),
                br,
                subnet,
                n.internal,
                Policy {
                    icc: n.driver.inter_container(n),
                    masquerade: n.driver.masquerade(n),
                },
            );
        }
    }
    if matches!(scope, Scope::All | Scope::Ports) {
        published(d, &mut fw);
    }
    fw
}

/// The `publish` chain, the same whatever the model holds.
fn fixed(fw: &mut Firewall) {
    fw.chains.insert(
        PUBLISH.into(),
        vec![
            rule(
                vec![Match::IifNameIn(BRIDGES.into())],
                Action::Return,
                Some("from a Docker network: the userland proxy answers".into()),
            ),
            rule(
                vec![Match::Protocol(L4::Tcp)],
                Action::Vmap {
                    on: VmapKey::Dport,
                    map: TCP_PUBLISHED.into(),
                },
                None,
            ),
            rule(
                vec![Match::Protocol(L4::Udp)],
                Action::Vmap {
                    on: VmapKey::Dport,
                    map: UDP_PUBLISHED.into(),
                },
                None,
            ),
        ],
    );
}

/// Every published binding's DNAT rule and map element.
fn published(d: &Docker, fw: &mut Firewall) {
    for c in d.containers() {
        if c.ports.is_empty() {
            continue;
        }
        let Some(ip) = target_ip(d, c) else {
            continue;
        };
        for p in d.published_ports(c) {
            // The IPv6 bindings are the proxy's alone (Docker 20.10 leaves ip6tables be).
            for (addr, port) in &p.bound {
                let std::net::IpAddr::V4(addr) = addr else {
                    continue;
                };
                let chain = publish_chain(p.proto, *port);
                let set = match p.proto {
                    Proto::Tcp => TCP_PUBLISHED,
                    Proto::Udp => UDP_PUBLISHED,
                };
                fw.element(set, Key::Port(*port), Some(chain.clone()));
                let mut matches = vec![Match::Protocol(l4(p.proto))];
                if !addr.is_unspecified() {
                    matches.push(Match::Daddr(Ipv4Net::from(*addr)));
                }
                fw.chains.entry(chain).or_default().push(rule(
                    matches,
                    Action::Dnat {
                        addr: ip,
                        port: Some(p.container_port),
                    },
                    Some(format!(
                        "container {} port {}/{}",
                        c.short_id(),
                        p.container_port,
                        p.proto.name()
                    )),
                ));
            }
        }
    }
}

/// How a rule's comment names a network: by its name when that is a plain word that fits
/// (Docker's own name characters, at most 64 bytes), otherwise by its short ID. Docker takes
/// any network name — quotes, tabs, newlines, hundreds of bytes — while an nftables
/// comment holds at most 128 bytes and `nft` could not read a quote back.
fn comment_label(name: &str, id: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if plain {
        name.to_string()
    } else {
        crate::model::docker::ids::short(id).to_string()
    }
}

/// What a bridge network's driver options ask of the firewall.
struct Policy {
    /// `com.docker.network.bridge.enable_icc`: false drops traffic that stays on the bridge
    /// instead of accepting it (Docker's `-i B -o B -j DROP`): containers on it cannot reach
    /// each other, while the gateway (the host itself) still answers them.
    icc: bool,
    /// `com.docker.network.bridge.enable_ip_masquerade`: false leaves out the `nat-` chain,
    /// so what leaves the network keeps its container address (as Docker then adds no
    /// MASQUERADE rule).
    masquerade: bool,
}

/// One bridge network's chains and elements.
fn network(
    fw: &mut Firewall,
    name: &str,
    br: &str,
    subnet: Ipv4Net,
    internal: bool,
    policy: Policy,
) {
    let fwd = format!("fwd-{br}");
    let mut rules = vec![if policy.icc {
        rule(
            vec![Match::OifName(br.into())],
            Action::Accept,
            Some(format!("within network {name}")),
        )
    } else {
        rule(
            vec![Match::OifName(br.into())],
            Action::Drop,
            Some(format!(
                "no traffic between containers of network {name} (enable_icc=false)"
            )),
        )
    }];
    fw.element(BRIDGES, Key::IfName(br.into()), None);
    fw.element(FORWARD_FROM, Key::IfName(br.into()), Some(fwd.clone()));
    if internal {
        rules.push(rule(
            vec![Match::NotDaddr(subnet)],
            Action::Drop,
            Some(format!("internal network {name}: nothing leaves")),
        ));
        let to = format!("to-{br}");
        fw.chains.insert(
            to.clone(),
            vec![rule(
                vec![Match::NotSaddr(subnet)],
                Action::Drop,
                Some(format!("internal network {name}: nothing enters")),
            )],
        );
        fw.element(FORWARD_TO, Key::IfName(br.into()), Some(to));
    } else {
        rules.push(rule(
            vec![Match::OifNameIn(BRIDGES.into())],
            Action::Drop,
            Some(format!("isolate network {name}")),
        ));
        if !policy.masquerade {
            fw.chains.insert(fwd, rules);
            return;
        }
        let nat = format!("nat-{br}");
        fw.chains.insert(
            nat.clone(),
            vec![rule(
                vec![Match::Saddr(subnet), Match::NotOifName(br.into())],
                Action::Masquerade,
                None,
            )],
        );
        fw.element(MASQUERADE_FROM, Key::IfName(br.into()), Some(nat));
    }
    fw.chains.insert(fwd, rules);
}

/// The base chains and set declarations, which never change.
fn base() -> (Vec<Chain>, Vec<Set>) {
    let chain = |name: &str, hook, kind, priority, rules| Chain {
        name: name.into(),
        hook,
        kind,
        priority,
        rules,
    };
    let vmap = |on, map: &str| {
        rule(
            vec![],
            Action::Vmap {
                on,
                map: map.into(),
            },
            None,
        )
    };
    let to_publish = |extra: Vec<Match>| {
        let mut m = extra;
        m.push(Match::DaddrLocal);
        rule(m, Action::Jump(PUBLISH.into()), None)
    };
    let loopback = Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).unwrap_or_default();
    let chains = vec![
        chain(
            "forward",
            Hook::Forward,
            ChainKind::Filter,
            0,
            vec![
                vmap(VmapKey::IifName, FORWARD_FROM),
                vmap(VmapKey::OifName, FORWARD_TO),
            ],
        ),
        chain(
            "prerouting",
            Hook::Prerouting,
            ChainKind::Nat,
            -100,
            vec![to_publish(vec![])],
        ),
        chain(
            "output",
            Hook::Output,
            ChainKind::Nat,
            -100,
            vec![to_publish(vec![Match::NotDaddr(loopback)])],
        ),
        chain(
            "postrouting",
            Hook::Postrouting,
            ChainKind::Nat,
            100,
            vec![vmap(VmapKey::IifName, MASQUERADE_FROM)],
        ),
    ];
    let set = |name: &str, key, map| Set {
        name: name.into(),
        key,
        map,
        elements: Vec::new(),
    };
    let sets = vec![
        set(BRIDGES, KeyType::IfName, false),
        set(FORWARD_FROM, KeyType::IfName, true),
        set(FORWARD_TO, KeyType::IfName, true),
        set(MASQUERADE_FROM, KeyType::IfName, true),
        set(TCP_PUBLISHED, KeyType::Port, true),
        set(UDP_PUBLISHED, KeyType::Port, true),
    ];
    (chains, sets)
}

/// The whole table for `d`, to create it at the engine's start.
pub fn ruleset(d: &Docker) -> Ruleset {
    let fw = derive(d);
    let (chains, mut sets) = base();
    for s in &mut sets {
        if let Some(e) = fw.elements.get(s.name.as_str()) {
            s.elements = e.iter().cloned().collect();
        }
    }
    Ruleset {
        table: TABLE.into(),
        chains,
        regular: fw
            .chains
            .into_iter()
            .map(|(name, rules)| RegularChain { name, rules })
            .collect(),
        sets,
    }
}

/// What turns the table of state `from` into that of `to`, as one change: new chains with
/// their rules, chains whose rules differ flushed and refilled, elements removed then added,
/// chains no longer needed flushed and deleted (after the elements that jumped there went).
/// Its size depends on what differs, not on how much either state holds. `diff(to, from)`
/// undoes it.
pub fn diff(from: &Firewall, to: &Firewall) -> Change {
    let mut steps = Vec::new();
    let fill = |steps: &mut Vec<Step>, chain: &str, rules: &[Rule]| {
        for r in rules {
            steps.push(Step::AddRule {
                chain: chain.into(),
                rule: r.clone(),
            });
        }
    };
    for (name, rules) in &to.chains {
        match from.chains.get(name) {
            None => {
                steps.push(Step::AddChain(name.clone()));
                fill(&mut steps, name, rules);
            }
            Some(old) if old != rules => {
                steps.push(Step::FlushChain(name.clone()));
                fill(&mut steps, name, rules);
            }
            Some(_) => {}
        }
    }
    let empty = BTreeSet::new();
    let sets: BTreeSet<&'static str> = from
        .elements
        .keys()
        .chain(to.elements.keys())
        .copied()
        .collect();
    for set in &sets {
        let old = from.elements.get(set).unwrap_or(&empty);
        let new = to.elements.get(set).unwrap_or(&empty);
        for e in old.difference(new) {
            steps.push(Step::DelElement {
                set: (*set).into(),
                key: e.key.clone(),
            });
        }
    }
    for set in &sets {
        let old = from.elements.get(set).unwrap_or(&empty);
        let new = to.elements.get(set).unwrap_or(&empty);
        for e in new.difference(old) {
            steps.push(Step::AddElement {
                set: (*set).into(),
                element: e.clone(),
            });
        }
    }
    for name in from.chains.keys() {
        if !to.chains.contains_key(name) {
            steps.push(Step::FlushChain(name.clone()));
            steps.push(Step::DelChain(name.clone()));
        }
    }
    Change {
        table: TABLE.into(),
        steps,
    }
}

#[cfg_attr(not(test), allow(dead_code))]
/// The change from model state `before` to `after` (see [`diff`]), over the whole table.
pub fn change(before: &Docker, after: &Docker) -> Change {
    diff(&derive(before), &derive(after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::docker::{AttachSpec, NetworkSpec, RunExtras};

    const NOW: &str = "2026-11-30T18:00:00Z";

    #[test]
    fn comments_name_a_network_by_a_name_nft_can_hold_or_by_its_short_id() {
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(comment_label("web-1.a_b", &id), "web-1.a_b");
        for odd in ["a\"b", "e\nf", "g\tz", "my net", "ä", "", &"x".repeat(65)] {
            assert_eq!(comment_label(odd, &id), "0123456789ab", "{odd:?}");
        }
    }

    fn docker() -> Docker {
        Docker::new(7, NOW)
    }

    /// A network on 10.N.0.0/16 (the default pools hold only 31).
    fn net(d: &mut Docker, name: &str, internal: bool) {
        let n = d.networks().len();
        d.create_network(
            name,
            &NetworkSpec {
                internal,
                subnet: Some(format!("10.{n}.0.0/16")),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    }

    fn run(d: &mut Docker, name: &str, network: &str, publish: &[&str]) {
        d.run_with(
            name,
            network,
            &AttachSpec::default(),
            &RunExtras {
                publish: publish.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    }

    fn total_rules(rs: &Ruleset) -> usize {
        rs.chains.iter().map(|c| c.rules.len()).sum::<usize>()
            + rs.regular.iter().map(|c| c.rules.len()).sum::<usize>()
    }

    #[test]
    fn rules_grow_linearly_with_networks() {
        let mut d = docker();
        // docker0 alone.
        assert_eq!(total_rules(&ruleset(&d)), FIXED_RULES + RULES_PER_NETWORK);
        for n in 1..=200 {
            net(&mut d, &format!("n{n}"), n % 10 == 0);
            let rs = ruleset(&d);
            let want = FIXED_RULES + RULES_PER_NETWORK * (n + 1);
            assert_eq!(total_rules(&rs), want, "with {n} user networks");
            assert_eq!(derive(&d).rule_count(), want);
            assert!(rs.validate().is_ok(), "{:?}", rs.validate());
        }
        let fw = derive(&d);
        assert_eq!(fw.elements[BRIDGES].len(), 201);
        assert_eq!(fw.elements[FORWARD_FROM].len(), 201);
        assert_eq!(fw.elements[FORWARD_TO].len(), 20);
        assert_eq!(fw.elements[MASQUERADE_FROM].len(), 181);
    }

    #[test]
    fn adding_a_network_is_two_chains_and_three_elements_whatever_exists() {
        let mut d = docker();
        for n in 0..150 {
            net(&mut d, &format!("n{n}"), false);
        }
        let before = d.clone();
        net(&mut d, "new", false);
        let br = d.network("new").unwrap().bridge.clone().unwrap();
        let c = change(&before, &d);
        let text = c.to_string();
        assert_eq!(c.steps.len(), 2 + 3 + 3, "{text}");
        assert!(
            text.contains(&format!("add chain ip docker fwd-{br}\n")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "add rule ip docker fwd-{br} oifname @bridges drop comment \"isolate network new\""
        )));
        assert!(text.contains(&format!(
            "add element ip docker forward-from {{ \"{br}\" : jump fwd-{br} }}"
        )));
        assert!(
            text.contains(&format!(
            "add rule ip docker nat-{br} ip saddr 172.18.150.0/24 oifname != \"{br}\" masquerade"
        )) || text.contains(&format!("add chain ip docker nat-{br}"))
        );
        // Removing it is the exact inverse, elements before chains.
        let back = change(&d, &before);
        let text = back.to_string();
        let el = text.find("delete element ip docker forward-from").unwrap();
        let ch = text
            .find(&format!("delete chain ip docker fwd-{br}"))
            .unwrap();
        assert!(el < ch, "{text}");
        assert_eq!(back.steps.len(), 3 + 4);
        // Nothing changed, nothing sent.
        assert!(change(&d, &d).is_empty());
    }

    /// A network's scope or the ports' scope gives the same change as the whole table
    /// when that is all that changed.
    #[test]
    fn scoped_changes_are_the_whole_changes() {
        let mut d = docker();
        for n in 0..20 {
            net(&mut d, &format!("n{n}"), n % 3 == 0);
        }
        let before = d.clone();
        net(&mut d, "new", true);
        let br = d.network("new").unwrap().bridge.clone().unwrap();
        let scope = Scope::Network(br);
        let scoped = diff(
            &Firewall::empty(scope.clone()),
            &derive_in(&d, scope.clone()),
        );
        assert_eq!(scoped, change(&before, &d));
        assert_eq!(derive_in(&before, scope.clone()), Firewall::empty(scope));
        let before = d.clone();
        run(&mut d, "web", "n1", &["8081:80", "53/udp"]);
        let scoped = diff(
            &derive_in(&before, Scope::Ports),
            &derive_in(&d, Scope::Ports),
        );
        assert_eq!(scoped, change(&before, &d));
        assert!(!scoped.is_empty());
    }

    #[test]
    fn internal_networks_drop_both_ways_and_are_not_masqueraded() {
        let mut d = docker();
        net(&mut d, "locked", true);
        let n = d.network("locked").unwrap().clone();
        let br = n.bridge.clone().unwrap();
        let fw = derive(&d);
        let fwd: Vec<String> = fw.chains[&format!("fwd-{br}")]
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            fwd,
            [
                format!("oifname \"{br}\" accept comment \"within network locked\""),
                format!(
                    "ip daddr != {} drop comment \"internal network locked: nothing leaves\"",
                    n.subnet().unwrap()
                ),
            ]
        );
        assert!(fw.chains.contains_key(&format!("to-{br}")));
        assert!(!fw.chains.contains_key(&format!("nat-{br}")));
        assert!(!fw.elements[MASQUERADE_FROM].contains(&Element {
            key: Key::IfName(br.clone()),
            jump: Some(format!("nat-{br}")),
        }));
    }

    #[test]
    fn published_ports_get_a_chain_per_host_port() {
        let mut d = docker();
        net(&mut d, "n1", false);
        let before = d.clone();
        run(
            &mut d,
            "web",
            "n1",
            &["8081:8080", "53:53/udp", "127.0.0.1:8082:80"],
        );
        let c = change(&before, &d);
        let text = c.to_string();
        assert!(
            text.contains("add chain ip docker publish-tcp-8081\n"),
            "{text}"
        );
        assert!(text.contains(
            "add rule ip docker publish-tcp-8081 meta l4proto tcp dnat to 10.3.0.2:8080"
        ));
        assert!(
            text.contains("add element ip docker tcp-published { 8081 : jump publish-tcp-8081 }")
        );
        assert!(text.contains("add element ip docker udp-published { 53 : jump publish-udp-53 }"));
        assert!(text
            .contains("publish-tcp-8082 meta l4proto tcp ip daddr 127.0.0.1 dnat to 10.3.0.2:80"));
        // Another container on the same port of another address shares the chain, which
        // is refilled rather than re-created.
        let mid = d.clone();
        run(&mut d, "web2", "n1", &["127.0.0.2:8082:80"]);
        let text = change(&mid, &d).to_string();
        assert!(
            text.starts_with("flush chain ip docker publish-tcp-8082\n"),
            "{text}"
        );
        assert_eq!(text.matches("add rule").count(), 2, "{text}");
        // Host-mode containers publish nothing.
        let mid = d.clone();
        run(&mut d, "hw", "host", &["9090:9090"]);
        assert!(change(&mid, &d).is_empty());
    }

    /// Each chain's rules as the kernel holds them: (chain, comments in order), chains
    /// sorted by name.
    fn held(sock: &crate::kernel::nft::NftSocket) -> Vec<(String, Vec<Option<String>>)> {
        let mut out: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        for (chain, _, udata) in crate::kernel::nft::dump_on(sock, TABLE).unwrap() {
            out.entry(chain)
                .or_default()
                .push(crate::kernel::nft::udata_comment(&udata));
        }
        out.into_iter().collect()
    }

    fn wanted(rs: &Ruleset) -> Vec<(String, Vec<Option<String>>)> {
        let mut out: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        let all = rs
            .chains
            .iter()
            .map(|c| (&c.name, &c.rules))
            .chain(rs.regular.iter().map(|c| (&c.name, &c.rules)));
        for (name, rules) in all {
            if !rules.is_empty() {
                out.insert(
                    name.clone(),
                    rules.iter().map(|r| r.comment.clone()).collect(),
                );
            }
        }
        out.into_iter().collect()
    }

    /// In a private namespace (root only, never the machine's): the table built whole for
    /// one state, then changed to another and back, holds exactly what each state derives;
    /// taking a change back twice fails (what it removes is really gone).
    #[test]
    fn live_changes_reach_exactly_the_derived_table() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: nftables tests need root (they use a private namespace)");
            return;
        }
        let (fd, ()) = crate::kernel::netns::create_with(|| Ok(())).unwrap();
        let sock = crate::kernel::nft::NftSocket::open(std::os::fd::AsFd::as_fd(&fd)).unwrap();
        let mut d0 = docker();
        net(&mut d0, "n1", false);
        run(&mut d0, "web", "n1", &["8081:8080"]);
        let mut d1 = d0.clone();
        net(&mut d1, "locked", true);
        net(&mut d1, "n2", false);
        run(&mut d1, "web2", "n2", &["53:53/udp", "127.0.0.1:8082:80"]);
        d1.remove_container("web").unwrap();
        crate::kernel::nft::apply_on(&sock, &ruleset(&d0)).unwrap();
        assert_eq!(held(&sock), wanted(&ruleset(&d0)));
        crate::kernel::nft::apply_change_on(&sock, &change(&d0, &d1)).unwrap();
        assert_eq!(held(&sock), wanted(&ruleset(&d1)));
        let back = change(&d1, &d0);
        crate::kernel::nft::apply_change_on(&sock, &back).unwrap();
        assert_eq!(held(&sock), wanted(&ruleset(&d0)));
        let again = crate::kernel::nft::apply_change_on(&sock, &back).unwrap_err();
        assert!(again.to_string().contains("rejected"), "{again}");
        assert_eq!(
            held(&sock),
            wanted(&ruleset(&d0)),
            "a refused change changes nothing"
        );
    }

    #[test]
    fn the_whole_table_prints_and_validates() {
        let mut d = docker();
        net(&mut d, "n1", false);
        run(&mut d, "web", "n1", &["8081:8080"]);
        let rs = ruleset(&d);
        assert!(rs.validate().is_ok(), "{:?}", rs.validate());
        let text = rs.to_string();
        assert!(
            text.contains("\tmap forward-from {\n\t\ttype ifname : verdict\n"),
            "{text}"
        );
        assert!(text.contains("\"docker0\" : jump fwd-docker0"), "{text}");
        assert!(text.contains("\t\tiifname vmap @forward-from\n"), "{text}");
        assert!(text.contains("\t\tip daddr != 127.0.0.0/8 fib daddr type local jump publish\n"));
        assert!(text.contains("\t\tmeta l4proto tcp th dport vmap @tcp-published\n"));
    }
}
