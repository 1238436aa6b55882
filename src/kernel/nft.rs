//! nftables rulesets: a small model of what netsh needs (filter and NAT base chains, regular
//! chains, named sets and verdict maps in one `ip` table), applied to a namespace as one
//! nfnetlink transaction, and printed as the `nft -f` script that means the same.
//!
//! nf_tables treats a batch (`NFNL_MSG_BATCH_BEGIN` … `NFNL_MSG_BATCH_END`) as one
//! transaction: every message is checked, and at the end either all of them take effect or
//! none does. [`apply_on`] uses the add/delete/add idiom (`table ip T`, `delete table ip T`,
//! `table ip T { … }`) inside one batch, so whatever version of the table was there is
//! replaced in the same transaction, and a ruleset the kernel refuses leaves the previous one
//! untouched. [`apply_change_on`] sends a [`Change`] — only the chains, rules and set
//! elements that differ — as one batch of its own, so what a change costs does not depend on
//! how large the table is, and a refused change leaves the table as it was.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;

use ipnet::Ipv4Net;
use netlink_packet_core::{
    DefaultNla, ErrorBuffer, NetlinkBuffer, NetlinkMessage, NetlinkPayload, NlasIterator,
    NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_netfilter::nftables::{
    Bitwise, ChainAttribute, ChainMessage, Cmp, DataAttribute, ExpressionAttribute, Expressions,
    Hook as NlHook, Immediate, InetHookNumber, ListAttribute, Lookup, Meta, MetaKey,
    NfTablesMessage, Operator, Payload, Register, RuleAttribute, RuleMessage, SetAttribute,
    SetElementAttribute, SetElementList, SetElementMessage, SetFlags, SetMessage, TableAttribute,
    TableMessage, Verdict, VerdictAttribute,
};
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};
use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

/// A whole `ip` (IPv4) table: applied and replaced as one unit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ruleset {
    /// Table name, e.g. `netsh`.
    pub table: String,
    /// Base chains, attached to hooks.
    pub chains: Vec<Chain>,
    /// Regular chains, reached only by `jump` (from rules or verdict maps).
    pub regular: Vec<RegularChain>,
    /// Named sets and verdict maps, with their elements.
    pub sets: Vec<Set>,
}

/// A chain without a hook: packets get there by a `jump` and come back at its end.
#[derive(Debug, Clone, PartialEq)]
pub struct RegularChain {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// A named set (`set NAME { type K; }`) or verdict map (`map NAME { type K : verdict; }`).
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    pub name: String,
    pub key: KeyType,
    /// A verdict map: each element carries the chain to jump to.
    pub map: bool,
    pub elements: Vec<Element>,
}

/// What a set's keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// An interface name (nft `ifname`: 16 bytes, NUL-padded).
    IfName,
    /// A transport port (nft `inet_service`: 2 bytes, network order).
    Port,
}

/// One key of a set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    IfName(String),
    Port(u16),
}

/// One element of a set or verdict map: the key, and for a map the chain it jumps to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Element {
    pub key: Key,
    pub jump: Option<String>,
}

/// What a verdict map is looked up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmapKey {
    IifName,
    OifName,
    /// `th dport`: needs a [`Match::Protocol`] in the rule.
    Dport,
}

/// A change to an existing table, sent as one transaction: only what changed, so its size
/// does not depend on how much the table holds. Steps run in order inside the batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    pub table: String,
    pub steps: Vec<Step>,
}

/// One statement of a [`Change`], as `nft` would take it.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `add chain ip T NAME` (a regular chain).
    AddChain(String),
    /// `delete chain ip T NAME` (it must be empty and unreferenced by then).
    DelChain(String),
    /// `flush chain ip T NAME`: every rule of the chain goes.
    FlushChain(String),
    /// `add rule ip T CHAIN …`: appended at the chain's end.
    AddRule { chain: String, rule: Rule },
    /// `add element ip T SET { KEY [: jump CHAIN] }`.
    AddElement { set: String, element: Element },
    /// `delete element ip T SET { KEY }`.
    DelElement { set: String, key: Key },
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// A base chain (attached to a hook) whose policy is `accept`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub name: String,
    pub hook: Hook,
    pub kind: ChainKind,
    /// Hook priority: lower runs first. `0` is nft's `filter`, `-100` `dstnat`, `100` `srcnat`.
    pub priority: i32,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Port publishing (DNAT from prerouting/output) uses the rest; the live tests
// exercise every variant.
#[allow(dead_code)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    Filter,
    Nat,
}

/// All `matches` must hold (in order) for `action` to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub matches: Vec<Match>,
    pub action: Action,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
// Port publishing (DNAT from prerouting/output) uses the rest; the live tests
// exercise every variant.
#[allow(dead_code)]
pub enum Match {
    IifName(String),
    NotIifName(String),
    OifName(String),
    NotOifName(String),
    Saddr(Ipv4Net),
    NotSaddr(Ipv4Net),
    Daddr(Ipv4Net),
    NotDaddr(Ipv4Net),
    Protocol(L4),
    /// Destination port; needs a [`Match::Protocol`] before it in the same rule.
    Dport(u16),
    /// `fib daddr type local`: the destination is an address of this namespace.
    DaddrLocal,
    /// `ct state established,related`.
    CtStateEstablishedRelated,
    /// `iifname @SET`: the input interface is in the named set.
    IifNameIn(String),
    /// `oifname @SET`.
    OifNameIn(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Port publishing (DNAT from prerouting/output) uses the rest; the live tests
// exercise every variant.
#[allow(dead_code)]
pub enum L4 {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq)]
// Port publishing (DNAT from prerouting/output) uses the rest; the live tests
// exercise every variant.
#[allow(dead_code)]
pub enum Action {
    Accept,
    Drop,
    Masquerade,
    /// `dnat to ADDR[:PORT]`; a port needs a [`Match::Protocol`] in the rule.
    Dnat {
        addr: Ipv4Addr,
        port: Option<u16>,
    },
    /// Count the packet and go on with the next rule (no verdict).
    Counter,
    /// `jump CHAIN`: run the regular chain, then come back.
    Jump(String),
    /// `return`: back to the chain that jumped here.
    Return,
    /// `iifname|oifname|th dport vmap @MAP`: jump where the map says, if it has the key.
    Vmap {
        on: VmapKey,
        map: String,
    },
}

/// A statement of a batch that the kernel refused. It travels inside the `io::Error` that
/// [`apply`] and [`delete`] return; [`errno`] reads its errno back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftError {
    /// What was refused, e.g. ``rule 3 of chain forward (`iifname "x" drop`)``.
    pub what: String,
    pub errno: i32,
    /// The kernel's own explanation (netlink extended ACK), when it gave one.
    pub detail: Option<String>,
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nft: {} rejected: {}",
            self.what,
            Errno::from_raw(self.errno).desc()
        )?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl Error for NftError {}

impl NftError {
    fn into_io(self) -> io::Error {
        io::Error::new(io::Error::from_raw_os_error(self.errno).kind(), self)
    }
}

/// The errno behind an error returned by this module: the one the kernel gave for a refused
/// statement, or the one of a failed system call.
pub fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<NftError>())
            .map(|n| n.errno)
    })
}

// ---------------------------------------------------------------------------------------
// Printing: the `nft -f` script
// ---------------------------------------------------------------------------------------

impl fmt::Display for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "table ip {} {{", self.table)?;
        for set in &self.sets {
            let (kind, data) = if set.map {
                ("map", " : verdict")
            } else {
                ("set", "")
            };
            writeln!(f, "\t{kind} {} {{", set.name)?;
            writeln!(f, "\t\ttype {}{data}", set.key)?;
            if !set.elements.is_empty() {
                let list: Vec<String> = set.elements.iter().map(|e| e.to_string()).collect();
                writeln!(f, "\t\telements = {{ {} }}", list.join(", "))?;
            }
            writeln!(f, "\t}}")?;
        }
        for chain in &self.regular {
            writeln!(f, "\tchain {} {{", chain.name)?;
            for rule in &chain.rules {
                writeln!(f, "\t\t{rule}")?;
            }
            writeln!(f, "\t}}")?;
        }
        for chain in &self.chains {
            writeln!(f, "\tchain {} {{", chain.name)?;
            write!(f, "\t\ttype {} hook {} priority ", chain.kind, chain.hook)?;
            // nft knows these names only for the hooks they are meant for (`dstnat` on
            // prerouting, `srcnat` on postrouting) and refuses them elsewhere.
            match (chain.priority, chain.hook) {
                (0, _) => f.write_str("filter")?,
                (-100, Hook::Prerouting) => f.write_str("dstnat")?,
                (100, Hook::Postrouting) => f.write_str("srcnat")?,
                (p, _) => write!(f, "{p}")?,
            }
            writeln!(f, "; policy accept;")?;
            for rule in &chain.rules {
                writeln!(f, "\t\t{rule}")?;
            }
            writeln!(f, "\t}}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::IfName => "ifname",
            KeyType::Port => "inet_service",
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::IfName(n) => write!(f, "\"{n}\""),
            Key::Port(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        if let Some(c) = &self.jump {
            write!(f, " : jump {c}")?;
        }
        Ok(())
    }
}

/// The change as an `nft -f` script: one command a line.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.table;
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            match step {
                Step::AddChain(c) => write!(f, "add chain ip {t} {c}")?,
                Step::DelChain(c) => write!(f, "delete chain ip {t} {c}")?,
                Step::FlushChain(c) => write!(f, "flush chain ip {t} {c}")?,
                Step::AddRule { chain, rule } => write!(f, "add rule ip {t} {chain} {rule}")?,
                Step::AddElement { set, element } => {
                    write!(f, "add element ip {t} {set} {{ {element} }}")?
                }
                Step::DelElement { set, key } => {
                    write!(f, "delete element ip {t} {set} {{ {key} }}")?
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        })
    }
}

impl fmt::Display for ChainKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChainKind::Filter => "filter",
            ChainKind::Nat => "nat",
        })
    }
}

impl fmt::Display for L4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            L4::Tcp => "tcp",
            L4::Udp => "udp",
        })
    }
}

/// An address match as nft prints it: host bits cleared, no `/32`.
struct Net(Ipv4Net);

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let net = self.0.trunc();
        if net.prefix_len() == 32 {
            write!(f, "{}", net.addr())
        } else {
            write!(f, "{net}")
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        while i < self.matches.len() {
            match (&self.matches[i], self.matches.get(i + 1)) {
                (Match::Protocol(p), Some(Match::Dport(port))) => {
                    write!(f, "{p} dport {port} ")?;
                    i += 2;
                    continue;
                }
                (Match::IifName(n), _) => write!(f, "iifname \"{n}\" ")?,
                (Match::NotIifName(n), _) => write!(f, "iifname != \"{n}\" ")?,
                (Match::OifName(n), _) => write!(f, "oifname \"{n}\" ")?,
                (Match::NotOifName(n), _) => write!(f, "oifname != \"{n}\" ")?,
                (Match::Saddr(n), _) => write!(f, "ip saddr {} ", Net(*n))?,
                (Match::NotSaddr(n), _) => write!(f, "ip saddr != {} ", Net(*n))?,
                (Match::Daddr(n), _) => write!(f, "ip daddr {} ", Net(*n))?,
                (Match::NotDaddr(n), _) => write!(f, "ip daddr != {} ", Net(*n))?,
                (Match::Protocol(p), _) => write!(f, "meta l4proto {p} ")?,
                (Match::Dport(port), _) => write!(f, "th dport {port} ")?,
                (Match::DaddrLocal, _) => f.write_str("fib daddr type local ")?,
                (Match::CtStateEstablishedRelated, _) => {
                    f.write_str("ct state established,related ")?
                }
                (Match::IifNameIn(set), _) => write!(f, "iifname @{set} ")?,
                (Match::OifNameIn(set), _) => write!(f, "oifname @{set} ")?,
            }
            i += 1;
        }
        match &self.action {
            Action::Accept => f.write_str("accept")?,
            Action::Drop => f.write_str("drop")?,
            Action::Masquerade => f.write_str("masquerade")?,
            Action::Counter => f.write_str("counter")?,
            Action::Dnat { addr, port: None } => write!(f, "dnat to {addr}")?,
            Action::Dnat {
                addr,
                port: Some(p),
            } => write!(f, "dnat to {addr}:{p}")?,
            Action::Jump(c) => write!(f, "jump {c}")?,
            Action::Return => f.write_str("return")?,
            Action::Vmap { on, map } => {
                let on = match on {
                    VmapKey::IifName => "iifname",
                    VmapKey::OifName => "oifname",
                    VmapKey::Dport => "th dport",
                };
                write!(f, "{on} vmap @{map}")?
            }
        }
        if let Some(c) = &self.comment {
            write!(f, " comment \"{c}\"")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Checks that keep the encoding and the printed script meaning the same thing
// ---------------------------------------------------------------------------------------

/// Longest interface name: `IFNAMSIZ` (16) with its terminating NUL.
const IFNAMSIZ: usize = 16;
/// `NFT_NAME_MAXLEN` (table and chain names), with the terminating NUL.
const NFT_NAME_MAXLEN: usize = 256;
/// nft refuses longer comments (libnftnl `NFTNL_UDATA_COMMENT_MAXLEN`).
const COMMENT_MAXLEN: usize = 128;

impl Ruleset {
    /// Refuses what the kernel would read differently from the printed script (or `nft`
    /// would not parse): odd names, wildcard-looking interface names, quotes in comments, a
    /// port without a protocol. Whether a chain type fits its hook is the kernel's call.
    pub fn validate(&self) -> Result<(), String> {
        check_name("table", &self.table)?;
        let chains: Vec<(&str, &[Rule])> = self
            .chains
            .iter()
            .map(|c| (c.name.as_str(), c.rules.as_slice()))
            .chain(
                self.regular
                    .iter()
                    .map(|c| (c.name.as_str(), c.rules.as_slice())),
            )
            .collect();
        for (i, (name, rules)) in chains.iter().enumerate() {
            check_name("chain", name)?;
            if chains[..i].iter().any(|(c, _)| c == name) {
                return Err(format!("chain {name} appears twice"));
            }
            for (n, rule) in rules.iter().enumerate() {
                rule.validate()
                    .map_err(|e| format!("rule {} of chain {name}: {e}", n + 1))?;
            }
        }
        for (i, set) in self.sets.iter().enumerate() {
            check_name("set", &set.name)?;
            if self.sets[..i].iter().any(|s| s.name == set.name) {
                return Err(format!("set {} appears twice", set.name));
            }
            for e in &set.elements {
                e.validate(set)?;
            }
        }
        Ok(())
    }
}

impl Element {
    fn validate(&self, set: &Set) -> Result<(), String> {
        match (&self.key, set.key) {
            (Key::IfName(n), KeyType::IfName) => check_ifname(n)?,
            (Key::Port(_), KeyType::Port) => {}
            (k, t) => return Err(format!("element {k} does not fit set {} ({t})", set.name)),
        }
        match (&self.jump, set.map) {
            (Some(c), true) => check_name("chain", c),
            (None, false) => Ok(()),
            _ => Err(format!(
                "element {self} of {}: a verdict map's elements jump, a set's do not",
                set.name
            )),
        }
    }
}

impl Change {
    /// Refuses what the kernel would read differently from the printed script.
    pub fn validate(&self) -> Result<(), String> {
        check_name("table", &self.table)?;
        for (n, step) in self.steps.iter().enumerate() {
            let checked = match step {
                Step::AddChain(c) | Step::DelChain(c) | Step::FlushChain(c) => {
                    check_name("chain", c)
                }
                Step::AddRule { chain, rule } => {
                    check_name("chain", chain).and_then(|()| rule.validate())
                }
                Step::AddElement { set, element } => {
                    check_name("set", set).and_then(|()| match (&element.key, &element.jump) {
                        (Key::IfName(n), _) => check_ifname(n),
                        (_, Some(c)) => check_name("chain", c),
                        _ => Ok(()),
                    })
                }
                Step::DelElement { set, key } => check_name("set", set).and_then(|()| match key {
                    Key::IfName(n) => check_ifname(n),
                    Key::Port(_) => Ok(()),
                }),
            };
            checked.map_err(|e| format!("statement {} of the change: {e}", n + 1))?;
        }
        Ok(())
    }
}

impl Rule {
    fn validate(&self) -> Result<(), String> {
        let mut protocol = false;
        for m in &self.matches {
            match m {
                Match::IifName(n)
                | Match::NotIifName(n)
                | Match::OifName(n)
                | Match::NotOifName(n) => check_ifname(n)?,
                Match::Protocol(_) => protocol = true,
                Match::Dport(p) if !protocol => {
                    return Err(format!("dport {p} needs a protocol (tcp or udp) before it"))
                }
                Match::IifNameIn(set) | Match::OifNameIn(set) => check_name("set", set)?,
                _ => {}
            }
        }
        match &self.action {
            Action::Jump(c) => check_name("chain", c)?,
            Action::Vmap { on, map } => {
                check_name("set", map)?;
                if *on == VmapKey::Dport && !protocol {
                    return Err(format!(
                        "th dport vmap @{map} needs a protocol (tcp or udp) match"
                    ));
                }
            }
            _ => {}
        }
        if let Action::Dnat {
            port: Some(p),
            addr,
        } = &self.action
        {
            if !protocol {
                return Err(format!(
                    "dnat to {addr}:{p} needs a protocol (tcp or udp) match"
                ));
            }
        }
        if let Some(c) = &self.comment {
            if c.len() > COMMENT_MAXLEN {
                return Err(format!("comment longer than {COMMENT_MAXLEN} bytes"));
            }
            if c.chars().any(|ch| ch == '"' || ch.is_control()) {
                return Err(format!("comment {c:?} holds a quote or control character"));
            }
        }
        Ok(())
    }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok
        || name.len() >= NFT_NAME_MAXLEN
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!(
            "{what} name {name:?} must start with a letter or '_' and hold only letters, digits, \
             '_', '-' and '.'"
        ));
    }
    Ok(())
}

fn check_ifname(name: &str) -> Result<(), String> {
    // The kernel's dev_valid_name() rules, plus what nft reads specially inside quotes
    // (`*` makes a wildcard).
    if name.is_empty()
        || name.len() >= IFNAMSIZ
        || name == "."
        || name == ".."
        || name.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '/' | ':' | '"' | '*' | '\\')
        })
    {
        return Err(format!("{name:?} is not a valid interface name"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Encoding: expressions (linux/netfilter/nf_tables.h)
// ---------------------------------------------------------------------------------------

type Expr = ListAttribute<ExpressionAttribute>;

/// `NFNL_SUBSYS_NFTABLES` (linux/netfilter/nfnetlink.h), the batch's resource id.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
/// Verdict codes (linux/netfilter.h).
const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
/// `enum nft_payload_bases`.
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
/// `enum nft_ct_attributes`, `enum nft_ct_keys`.
const NFTA_CT_DREG: u16 = 1;
const NFTA_CT_KEY: u16 = 2;
const NFT_CT_STATE: u32 = 0;
/// `NF_CT_STATE_BIT()` of IP_CT_ESTABLISHED and IP_CT_RELATED: the ct expression loads
/// `1 << (ctinfo + 1)` as a host-order u32.
const NF_CT_STATE_ESTABLISHED_BIT: u32 = 1 << 1;
const NF_CT_STATE_RELATED_BIT: u32 = 1 << 2;
/// `enum nft_fib_attributes`, `enum nft_fib_result`, `enum nft_fib_flags`.
const NFTA_FIB_DREG: u16 = 1;
const NFTA_FIB_RESULT: u16 = 2;
const NFTA_FIB_FLAGS: u16 = 3;
const NFT_FIB_RESULT_ADDRTYPE: u32 = 3;
const NFTA_FIB_F_DADDR: u32 = 1 << 1;
/// `RTN_LOCAL` (linux/rtnetlink.h): fib's addrtype result, a host-order u32.
const RTN_LOCAL: u32 = 2;
/// `enum nft_nat_attributes`, `enum nft_nat_types`, `NFPROTO_IPV4`.
const NFTA_NAT_TYPE: u16 = 1;
const NFTA_NAT_FAMILY: u16 = 2;
const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
const NFT_NAT_DNAT: u32 = 1;
const NFPROTO_IPV4: u32 = 2;
/// libnftnl's user data TLV type for a rule comment, which `nft list` prints back.
const NFTNL_UDATA_RULE_COMMENT: u8 = 0;
/// Chain policy: the kernel takes a netfilter verdict.
const POLICY_ACCEPT: u32 = NF_ACCEPT;

/// An attribute holding a u32: nf_tables reads every one in network byte order.
fn be32(kind: u16, value: u32) -> DefaultNla {
    DefaultNla::new(kind, value.to_be_bytes().to_vec())
}

/// An expression the crate has no type for. One without attributes is sent as its name
/// alone, as nft does: `NFTA_EXPR_DATA` is optional for the kernel.
fn other(name: &str, attributes: Vec<DefaultNla>) -> Expr {
    if attributes.is_empty() {
        ListAttribute::Element(vec![ExpressionAttribute::Name(name.to_string())])
    } else {
        Expressions::Other {
            expression_type: name.to_string(),
            attributes,
        }
        .into()
    }
}

fn meta(key: MetaKey) -> Expr {
    Expressions::Meta(vec![
        Meta::Key(key),
        Meta::DestinationRegister(Register::Reg1),
    ])
    .into()
}

fn cmp(op: Operator, data: Vec<u8>) -> Expr {
    Expressions::Cmp(vec![
        Cmp::SourceRegister(Register::Reg1),
        Cmp::Op(op),
        Cmp::Data(DataAttribute::Value(data)),
    ])
    .into()
}

fn payload(base: u32, offset: u32, len: u32) -> Expr {
    Expressions::Payload(vec![
        Payload::DestinationRegister(Register::Reg1),
        Payload::Base(base),
        Payload::Offset(offset),
        Payload::Len(len),
    ])
    .into()
}

/// `reg1 = (reg1 & mask) ^ 0`.
fn mask(mask: Vec<u8>) -> Expr {
    let len = mask.len();
    Expressions::Bitwise(vec![
        Bitwise::SourceRegister(Register::Reg1),
        Bitwise::DestinationRegister(Register::Reg1),
        Bitwise::Length(len as u32),
        Bitwise::Mask(DataAttribute::Value(mask)),
        Bitwise::Xor(DataAttribute::Value(vec![0; len])),
    ])
    .into()
}

fn immediate(reg: Register, data: Vec<u8>) -> Expr {
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(reg),
        Immediate::Data(DataAttribute::Value(data)),
    ])
    .into()
}

fn verdict(code: u32) -> Expr {
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(Register::Verdict),
        Immediate::Data(DataAttribute::Verdict(vec![VerdictAttribute::Code(
            Verdict::Other(code),
        )])),
    ])
    .into()
}

fn op(negated: bool) -> Operator {
    if negated {
        Operator::NotEqual
    } else {
        Operator::Equal
    }
}

/// The kernel compares interface names over the whole 16-byte register, NUL-padded.
fn ifname(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.resize(IFNAMSIZ, 0);
    v
}

/// `ip saddr`/`ip daddr` (offset 12/16 in the IPv4 header), masked unless it is a /32.
fn ipv4(out: &mut Vec<Expr>, offset: u32, net: &Ipv4Net, negated: bool) {
    let net = net.trunc();
    out.push(payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4));
    if net.prefix_len() < 32 {
        out.push(mask(net.netmask().octets().to_vec()));
    }
    out.push(cmp(op(negated), net.network().octets().to_vec()));
}

fn l4proto(p: L4) -> u8 {
    match p {
        L4::Tcp => libc::IPPROTO_TCP as u8,
        L4::Udp => libc::IPPROTO_UDP as u8,
    }
}

/// `lookup` of register 1 in set `set`; into the verdict register for a verdict map.
fn lookup(set: &str, verdict: bool) -> Expr {
    let mut attrs = vec![
        Lookup::Set(set.to_string()),
        Lookup::SourceRegister(Register::Reg1),
    ];
    if verdict {
        attrs.push(Lookup::DestinationRegister(Register::Verdict));
    }
    Expressions::Lookup(attrs).into()
}

fn jump_verdict(code: Verdict, chain: Option<&str>) -> DataAttribute {
    let mut v = vec![VerdictAttribute::Code(code)];
    if let Some(c) = chain {
        v.push(VerdictAttribute::Chain(c.to_string()));
    }
    DataAttribute::Verdict(v)
}

/// The bytes of a key as the kernel compares them.
fn key_bytes(key: &Key) -> Vec<u8> {
    match key {
        Key::IfName(n) => ifname(n),
        Key::Port(p) => p.to_be_bytes().to_vec(),
    }
}

fn rule_expressions(rule: &Rule) -> Vec<Expr> {
    let mut e = Vec::new();
    for m in &rule.matches {
        match m {
            Match::IifName(n) | Match::NotIifName(n) => {
                e.push(meta(MetaKey::Iifname));
                e.push(cmp(op(matches!(m, Match::NotIifName(_))), ifname(n)));
            }
            Match::OifName(n) | Match::NotOifName(n) => {
                e.push(meta(MetaKey::Oifname));
                e.push(cmp(op(matches!(m, Match::NotOifName(_))), ifname(n)));
            }
            Match::Saddr(n) => ipv4(&mut e, 12, n, false),
            Match::NotSaddr(n) => ipv4(&mut e, 12, n, true),
            Match::Daddr(n) => ipv4(&mut e, 16, n, false),
            Match::NotDaddr(n) => ipv4(&mut e, 16, n, true),
            Match::Protocol(p) => {
                e.push(meta(MetaKey::L4Proto));
                e.push(cmp(Operator::Equal, vec![l4proto(*p)]));
            }
            Match::Dport(port) => {
                e.push(payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));
                e.push(cmp(Operator::Equal, port.to_be_bytes().to_vec()));
            }
            Match::DaddrLocal => {
                e.push(other(
                    "fib",
                    vec![
                        be32(NFTA_FIB_DREG, Register::Reg1.into()),
                        be32(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE),
                        be32(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR),
                    ],
                ));
                e.push(cmp(Operator::Equal, RTN_LOCAL.to_ne_bytes().to_vec()));
            }
            Match::CtStateEstablishedRelated => {
                e.push(other(
                    "ct",
                    vec![
                        be32(NFTA_CT_DREG, Register::Reg1.into()),
                        be32(NFTA_CT_KEY, NFT_CT_STATE),
                    ],
                ));
                let bits = NF_CT_STATE_ESTABLISHED_BIT | NF_CT_STATE_RELATED_BIT;
                e.push(mask(bits.to_ne_bytes().to_vec()));
                e.push(cmp(Operator::NotEqual, vec![0; 4]));
            }
            Match::IifNameIn(set) => {
                e.push(meta(MetaKey::Iifname));
                e.push(lookup(set, false));
            }
            Match::OifNameIn(set) => {
                e.push(meta(MetaKey::Oifname));
                e.push(lookup(set, false));
            }
        }
    }
    match &rule.action {
        Action::Accept => e.push(verdict(NF_ACCEPT)),
        Action::Drop => e.push(verdict(NF_DROP)),
        Action::Masquerade => e.push(other("masq", vec![])),
        Action::Counter => e.push(other("counter", vec![])),
        Action::Dnat { addr, port } => {
            e.push(immediate(Register::Reg1, addr.octets().to_vec()));
            let mut nat = vec![
                be32(NFTA_NAT_TYPE, NFT_NAT_DNAT),
                be32(NFTA_NAT_FAMILY, NFPROTO_IPV4),
                be32(NFTA_NAT_REG_ADDR_MIN, Register::Reg1.into()),
            ];
            if let Some(p) = port {
                // The nat expression reads the port as a network-order u16 from the register.
                e.push(immediate(Register::Reg2, p.to_be_bytes().to_vec()));
                nat.push(be32(NFTA_NAT_REG_PROTO_MIN, Register::Reg2.into()));
            }
            e.push(other("nat", nat));
        }
        Action::Jump(c) => e.push(
            Expressions::Immediate(vec![
                Immediate::DestinationRegister(Register::Verdict),
                Immediate::Data(jump_verdict(Verdict::Jump, Some(c))),
            ])
            .into(),
        ),
        Action::Return => e.push(
            Expressions::Immediate(vec![
                Immediate::DestinationRegister(Register::Verdict),
                Immediate::Data(jump_verdict(Verdict::Return, None)),
            ])
            .into(),
        ),
        Action::Vmap { on, map } => {
            match on {
                VmapKey::IifName => e.push(meta(MetaKey::Iifname)),
                VmapKey::OifName => e.push(meta(MetaKey::Oifname)),
                VmapKey::Dport => e.push(payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2)),
            }
            e.push(lookup(map, true));
        }
    }
    e
}

/// libnftnl's user data layout (`type`, `len`, value with its NUL), so `nft list` shows it.
fn comment_udata(comment: &str) -> Vec<u8> {
    let mut v = vec![NFTNL_UDATA_RULE_COMMENT, (comment.len() + 1) as u8];
    v.extend_from_slice(comment.as_bytes());
    v.push(0);
    v
}

// ---------------------------------------------------------------------------------------
// Encoding: the batch
// ---------------------------------------------------------------------------------------

/// One nfnetlink batch: the nf_tables messages, each with what it stands for.
struct Batch {
    table: String,
    messages: Vec<(NfTablesMessage, u16, String)>,
}

/// A batch ready to send: the bytes, and the statement behind each sequence number.
struct Framed {
    buf: Vec<u8>,
    table: String,
    last_seq: u32,
    statements: Vec<(u32, String)>,
}

impl Batch {
    /// A batch that starts with `table ip T` and `delete table ip T`: after these the table
    /// is gone whether or not it existed, and a `NEWTABLE` that follows starts it afresh,
    /// all in one transaction.
    fn reset(table: &str) -> Self {
        let name = || TableMessage {
            attributes: vec![TableAttribute::Name(table.to_string())],
        };
        let mut b = Batch {
            table: table.to_string(),
            messages: Vec::new(),
        };
        b.push(
            NfTablesMessage::NewTable(name()),
            NLM_F_CREATE,
            format!("table ip {table}"),
        );
        b.push(
            NfTablesMessage::DeleteTable(name()),
            0,
            format!("delete table ip {table}"),
        );
        b
    }

    fn push(&mut self, msg: NfTablesMessage, flags: u16, what: String) {
        self.messages.push((msg, flags, what));
    }

    /// BATCH_BEGIN, the messages, BATCH_END, numbered from 1.
    ///
    /// Only the last message asks for an ACK. nfnetlink reports every message that fails
    /// whether or not it asked (`NLM_F_ACK || err`), and answers only after the whole batch
    /// is processed, so that last ACK says the batch was read to its end. An ACK for every
    /// message would queue one reply per statement inside the single `sendmsg()`, and a few
    /// hundred of them overflow the socket's receive buffer (ENOBUFS) even when the batch
    /// was committed.
    fn frame(self) -> Framed {
        let mut f = Framed {
            buf: Vec::new(),
            table: self.table,
            last_seq: 0,
            statements: Vec::new(),
        };
        let control = |m: ControlMessage| {
            NetfilterMessage::new(
                NetfilterHeader::new(NetfilterProtoFamily::Unspec, 0, NFNL_SUBSYS_NFTABLES),
                m,
            )
        };
        f.emit(control(ControlMessage::BatchBegin), NLM_F_REQUEST, 1);
        let n = self.messages.len();
        for (i, (msg, flags, what)) in self.messages.into_iter().enumerate() {
            let seq = i as u32 + 2;
            let ack = if i + 1 == n { NLM_F_ACK } else { 0 };
            f.emit(
                NetfilterMessage::new(NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0), msg),
                NLM_F_REQUEST | ack | flags,
                seq,
            );
            f.statements.push((seq, what));
            f.last_seq = seq;
        }
        f.emit(
            control(ControlMessage::BatchEnd),
            NLM_F_REQUEST,
            n as u32 + 2,
        );
        f
    }
}

impl Framed {
    fn emit(&mut self, msg: NetfilterMessage, flags: u16, seq: u32) {
        let mut m = NetlinkMessage::from(msg);
        m.header.flags = flags;
        m.header.sequence_number = seq;
        m.finalize();
        let start = self.buf.len();
        self.buf.resize(start + m.buffer_len(), 0);
        m.serialize(&mut self.buf[start..]);
        // The kernel steps from message to message by NLMSG_ALIGN(nlmsg_len).
        self.buf.resize(self.buf.len().next_multiple_of(4), 0);
    }
}

/// nft's datatype numbers (`enum datatypes` in nftables' datatype.h), which the kernel keeps
/// for `nft list` to print keys back: `TYPE_INET_SERVICE`, `TYPE_IFNAME`.
const TYPE_INET_SERVICE: u32 = 13;
const TYPE_IFNAME: u32 = 41;
/// `NFT_DATA_VERDICT`: a map's data are verdicts.
const NFT_DATA_VERDICT: u32 = 0xffff_ff00;

impl Batch {
    fn table_attr(&self) -> String {
        self.table.clone()
    }

    fn add_regular_chain(&mut self, name: &str) {
        self.push(
            NfTablesMessage::NewChain(ChainMessage {
                attributes: vec![
                    ChainAttribute::Table(self.table_attr()),
                    ChainAttribute::Name(name.to_string()),
                ],
            }),
            NLM_F_CREATE,
            format!("chain {name}"),
        );
    }

    fn add_set(&mut self, set: &Set) {
        let (key_type, key_len) = match set.key {
            KeyType::IfName => (TYPE_IFNAME, IFNAMSIZ as u32),
            KeyType::Port => (TYPE_INET_SERVICE, 2),
        };
        let mut attributes = vec![
            SetAttribute::Table(self.table_attr()),
            SetAttribute::Name(set.name.clone()),
            SetAttribute::Flags(if set.map {
                SetFlags::Map
            } else {
                SetFlags::empty()
            }),
            SetAttribute::KeyType(key_type),
            SetAttribute::KeyLen(key_len),
            // The kernel requires an ID that names the set within the transaction.
            SetAttribute::Id(self.messages.len() as u32 + 1),
        ];
        if set.map {
            attributes.push(SetAttribute::DataType(NFT_DATA_VERDICT));
        }
        let kind = if set.map { "map" } else { "set" };
        self.push(
            NfTablesMessage::NewSet(SetMessage { attributes }),
            NLM_F_CREATE,
            format!("{kind} {}", set.name),
        );
    }

    fn element(&mut self, set: &str, element: &Element, add: bool) {
        let mut attrs = vec![SetElementAttribute::Key(DataAttribute::Value(key_bytes(
            &element.key,
        )))];
        if let (true, Some(c)) = (add, &element.jump) {
            attrs.push(SetElementAttribute::Data(jump_verdict(
                Verdict::Jump,
                Some(c),
            )));
        }
        let msg = SetElementMessage {
            attributes: vec![
                SetElementList::Table(self.table_attr()),
                SetElementList::Set(set.to_string()),
                SetElementList::Elements(vec![ListAttribute::Element(attrs)]),
            ],
        };
        if add {
            self.push(
                NfTablesMessage::NewSetElement(msg),
                NLM_F_CREATE,
                format!("element {element} of {set}"),
            );
        } else {
            self.push(
                NfTablesMessage::DeleteSetElement(msg),
                0,
                format!("deleting element {} of {set}", element.key),
            );
        }
    }

    fn add_rule(&mut self, chain: &str, n: usize, rule: &Rule) {
        let mut attributes = vec![
            RuleAttribute::Table(self.table_attr()),
            RuleAttribute::Chain(chain.to_string()),
            RuleAttribute::Expressions(rule_expressions(rule)),
        ];
        if let Some(c) = &rule.comment {
            attributes.push(RuleAttribute::UserData(comment_udata(c)));
        }
        let what = match n {
            0 => format!("rule of chain {chain} (`{rule}`)"),
            n => format!("rule {n} of chain {chain} (`{rule}`)"),
        };
        self.push(
            NfTablesMessage::NewRule(RuleMessage { attributes }),
            NLM_F_CREATE | NLM_F_APPEND,
            what,
        );
    }

    fn flush_chain(&mut self, chain: &str) {
        self.push(
            NfTablesMessage::DeleteRule(RuleMessage {
                attributes: vec![
                    RuleAttribute::Table(self.table_attr()),
                    RuleAttribute::Chain(chain.to_string()),
                ],
            }),
            0,
            format!("flush chain {chain}"),
        );
    }

    fn delete_chain(&mut self, chain: &str) {
        self.push(
            NfTablesMessage::DeleteChain(ChainMessage {
                attributes: vec![
                    ChainAttribute::Table(self.table_attr()),
                    ChainAttribute::Name(chain.to_string()),
                ],
            }),
            0,
            format!("delete chain {chain}"),
        );
    }
}

/// The whole table in one batch: reset, table, base and regular chains, sets (chains first,
/// since map elements jump to them), their elements, then every rule.
fn ruleset_batch(rs: &Ruleset) -> Framed {
    let mut b = Batch::reset(&rs.table);
    b.push(
        NfTablesMessage::NewTable(TableMessage {
            attributes: vec![TableAttribute::Name(rs.table.clone())],
        }),
        NLM_F_CREATE,
        format!("table ip {}", rs.table),
    );
    for chain in &rs.chains {
        let hook = match chain.hook {
            Hook::Prerouting => InetHookNumber::PreRouting,
            Hook::Input => InetHookNumber::LocalIn,
            Hook::Forward => InetHookNumber::Forward,
            Hook::Output => InetHookNumber::LocalOut,
            Hook::Postrouting => InetHookNumber::PostRouting,
        };
        b.push(
            NfTablesMessage::NewChain(ChainMessage {
                attributes: vec![
                    ChainAttribute::Table(rs.table.clone()),
                    ChainAttribute::Name(chain.name.clone()),
                    ChainAttribute::Hook(vec![
                        NlHook::Number(hook.into()),
                        // The kernel reads the priority as a signed 32-bit value.
                        NlHook::Priority(chain.priority as u32),
                    ]),
                    ChainAttribute::Policy(POLICY_ACCEPT),
                    ChainAttribute::Type(chain.kind.to_string()),
                ],
            }),
            NLM_F_CREATE,
            format!(
                "chain {} (type {} hook {} priority {})",
                chain.name, chain.kind, chain.hook, chain.priority
            ),
        );
    }
    for chain in &rs.regular {
        b.add_regular_chain(&chain.name);
    }
    for set in &rs.sets {
        b.add_set(set);
    }
    for set in &rs.sets {
        for e in &set.elements {
            b.element(&set.name, e, true);
        }
    }
    for chain in &rs.chains {
        for (n, rule) in chain.rules.iter().enumerate() {
            b.add_rule(&chain.name, n + 1, rule);
        }
    }
    for chain in &rs.regular {
        for (n, rule) in chain.rules.iter().enumerate() {
            b.add_rule(&chain.name, n + 1, rule);
        }
    }
    b.frame()
}

/// A change in one batch, its statements in order (no reset: the table stays).
fn change_batch(change: &Change) -> Framed {
    let mut b = Batch {
        table: change.table.clone(),
        messages: Vec::new(),
    };
    for step in &change.steps {
        match step {
            Step::AddChain(c) => b.add_regular_chain(c),
            Step::DelChain(c) => b.delete_chain(c),
            Step::FlushChain(c) => b.flush_chain(c),
            Step::AddRule { chain, rule } => b.add_rule(chain, 0, rule),
            Step::AddElement { set, element } => b.element(set, element, true),
            Step::DelElement { set, key } => b.element(
                set,
                &Element {
                    key: key.clone(),
                    jump: None,
                },
                false,
            ),
        }
    }
    b.frame()
}

// ---------------------------------------------------------------------------------------
// Talking to the kernel
// ---------------------------------------------------------------------------------------

/// Room for one datagram from the kernel: dumps fill at most 32 KiB per datagram, acks
/// are tiny.
const RECV_BUF: usize = 64 * 1024;
/// `NLM_F_CAPPED` / `NLM_F_ACK_TLVS` on an NLMSG_ERROR (linux/netlink.h), and the
/// extended-ACK attribute that carries the kernel's message.
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSG_HDRLEN: usize = 16;

/// A NETLINK_NETFILTER socket of namespace `ns` (a socket stays in the namespace it was
/// created in, so it is opened on a thread inside it and used from here).
fn open(ns: BorrowedFd<'_>) -> io::Result<Socket> {
    crate::kernel::netns::run_in(ns, || {
        let mut sock = Socket::new(NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        // Both only shape error replies (just the failed message's header; the kernel's
        // explanation as text); a kernel without them still answers, so failure is fine.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        Ok(sock)
    })
}

/// One datagram, or `None` once nothing is queued (with `MSG_DONTWAIT`).
fn recv(sock: &Socket, buf: &mut Vec<u8>, dontwait: bool) -> io::Result<Option<()>> {
    buf.clear();
    let flags = libc::MSG_TRUNC | if dontwait { libc::MSG_DONTWAIT } else { 0 };
    match sock.recv(buf, flags) {
        Ok(n) if n > buf.len() => Err(io::Error::other(format!(
            "nft: a {n}-byte netlink reply did not fit in {} bytes",
            buf.len()
        ))),
        Ok(_) => Ok(Some(())),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// The netlink messages of one datagram.
fn messages(buf: &[u8]) -> io::Result<Vec<NetlinkBuffer<&[u8]>>> {
    let mut out = Vec::new();
    let mut off = 0;
    while buf.len() - off >= NLMSG_HDRLEN {
        let m = NetlinkBuffer::new_checked(&buf[off..])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let len = m.length() as usize;
        out.push(NetlinkBuffer::new(&buf[off..off + len]));
        off += len.next_multiple_of(4);
        if off > buf.len() {
            break;
        }
    }
    Ok(out)
}

/// An NLMSG_ERROR: (sequence number of the request, errno or 0, the kernel's text).
fn error_reply(m: &NetlinkBuffer<&[u8]>) -> io::Result<(u32, i32, Option<String>)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "nft: malformed netlink error");
    let payload = m.payload();
    let err = ErrorBuffer::new_checked(payload).map_err(|_| bad())?;
    let code = err.code().map_or(0, |c| c.get());
    let orig = err.payload();
    if orig.len() < NLMSG_HDRLEN {
        return Err(bad());
    }
    let seq = u32::from_ne_bytes([orig[8], orig[9], orig[10], orig[11]]);
    let mut detail = None;
    if m.flags() & NLM_F_ACK_TLVS != 0 {
        // The attributes follow the echoed request: its header alone when capped.
        let echoed = if m.flags() & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            (u32::from_ne_bytes([orig[0], orig[1], orig[2], orig[3]]) as usize).next_multiple_of(4)
        };
        if let Some(tlvs) = orig.get(echoed..) {
            for nla in NlasIterator::new(tlvs).flatten() {
                if nla.kind() == NLMSGERR_ATTR_MSG {
                    let text = String::from_utf8_lossy(nla.value());
                    detail = Some(text.trim_end_matches('\0').to_string());
                }
            }
        }
    }
    Ok((seq, -code, detail))
}

/// Sends the batch in one datagram and reads every answer. nfnetlink runs a batch inside
/// the `sendmsg()` call and queues all its answers before returning: a commit failure as an
/// error for BATCH_BEGIN, then an error for each refused message and the requested ACK, in
/// batch order. So everything there is to read is queued when `send` returns.
fn transact(sock: &Socket, batch: Framed) -> io::Result<()> {
    // netlink refuses a datagram larger than the socket's send buffer (EMSGSIZE); the
    // kernel caps the request at net.core.wmem_max.
    if batch.buf.len() + 4096 > sock_sndbuf(sock)? {
        setsockopt(sock, sockopt::SndBuf, &(batch.buf.len() + 4096)).map_err(io::Error::from)?;
    }
    match sock.send(&batch.buf, 0) {
        Ok(n) if n == batch.buf.len() => {}
        Ok(n) => {
            return Err(io::Error::other(format!(
                "nft: sent {n} of {} bytes of the batch",
                batch.buf.len()
            )))
        }
        Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "nft: the {}-byte transaction for table ip {} does not fit in one netlink \
                     message (net.core.wmem_max)",
                    batch.buf.len(),
                    batch.table
                ),
            ))
        }
        Err(e) => return Err(e),
    }
    let mut acked = false;
    let mut lost = false;
    let mut first: Option<(u32, i32, Option<String>)> = None;
    let mut buf = Vec::with_capacity(RECV_BUF);
    loop {
        match recv(sock, &mut buf, true) {
            Ok(Some(())) => {}
            Ok(None) => break,
            // Replies that found the receive buffer full were dropped; the kernel says so
            // once (ENOBUFS) and keeps what it had queued, earliest first. Only errors can
            // be that many, and the first of them is among those kept.
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                lost = true;
                continue;
            }
            Err(e) => return Err(e),
        }
        for m in messages(&buf)? {
            if m.message_type() != NLMSG_ERROR {
                continue;
            }
            let (seq, errno, detail) = error_reply(&m)?;
            if seq == batch.last_seq {
                acked = true;
            }
            if errno != 0 && first.as_ref().is_none_or(|(s, ..)| seq < *s) {
                first = Some((seq, errno, detail));
            }
        }
    }
    if let Some((seq, errno, detail)) = first {
        let what = batch
            .statements
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| format!("the transaction for table ip {}", batch.table));
        return Err(NftError {
            what,
            errno,
            detail,
        }
        .into_io());
    }
    if lost {
        return Err(io::Error::other(format!(
            "nft: answers to the transaction for table ip {} were lost",
            batch.table
        )));
    }
    if !acked {
        return Err(io::Error::other(format!(
            "nft: the kernel did not answer the transaction for table ip {}",
            batch.table
        )));
    }
    Ok(())
}

fn sock_sndbuf(sock: &Socket) -> io::Result<usize> {
    getsockopt(sock, sockopt::SndBuf).map_err(io::Error::from)
}

/// Replaces table `ip ruleset.table` of namespace `ns` with `ruleset`, in one transaction:
/// afterwards the kernel holds either exactly `ruleset` or, if it refused any part of it,
/// whatever it held before.
#[cfg(test)]
pub fn apply(ns: BorrowedFd<'_>, ruleset: &Ruleset) -> io::Result<()> {
    apply_on(&NftSocket::open(ns)?, ruleset)
}

/// [`apply`] over a socket kept for the namespace (see [`NftSocket`]).
pub fn apply_on(sock: &NftSocket, ruleset: &Ruleset) -> io::Result<()> {
    ruleset
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("nft: {e}")))?;
    drain(&sock.0)?;
    transact(&sock.0, ruleset_batch(ruleset))
}

/// Applies `change` to its table in namespace `sock`'s namespace as one transaction: all of
/// its statements take effect or none does. The table must exist (see [`apply_on`]).
pub fn apply_change_on(sock: &NftSocket, change: &Change) -> io::Result<()> {
    change
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("nft: {e}")))?;
    if change.is_empty() {
        return Ok(());
    }
    drain(&sock.0)?;
    transact(&sock.0, change_batch(change))
}

/// A NETLINK_NETFILTER socket of one namespace, kept open for the namespace's life.
///
/// Closing such a socket waits (`nft_rcv_nl_event` flushes the commit's destroy work) until
/// an RCU grace period has passed since the namespace's last nftables commit — 10 to 30 ms.
/// A socket per transaction paid that on every `network()`; one socket per namespace pays
/// it at most once, when the namespace goes.
pub struct NftSocket(Socket);

impl NftSocket {
    /// Opens the socket inside namespace `ns`.
    pub fn open(ns: BorrowedFd<'_>) -> io::Result<NftSocket> {
        open(ns).map(NftSocket)
    }
}

/// Reads away anything a failed exchange left queued, so the next one reads its own replies.
fn drain(sock: &Socket) -> io::Result<()> {
    let mut buf = Vec::with_capacity(RECV_BUF);
    loop {
        match recv(sock, &mut buf, true) {
            Ok(Some(())) => {}
            Ok(None) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Removes table `ip table` of namespace `ns`, if it is there.
#[cfg_attr(not(test), allow(dead_code))]
pub fn delete(ns: BorrowedFd<'_>, table: &str) -> io::Result<()> {
    check_name("table", table)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("nft: {e}")))?;
    let sock = open(ns)?;
    transact(&sock, Batch::reset(table).frame())
}

/// The expression names of a rule (`meta`, `cmp`, `nat` …), as `nft --debug` lists them.
fn names(exprs: &[Expr]) -> Vec<String> {
    exprs
        .iter()
        .map(|e| match e {
            ListAttribute::Element(attrs) => attrs
                .iter()
                .find_map(|a| match a {
                    ExpressionAttribute::Name(n) => Some(n.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
            _ => String::new(),
        })
        .collect()
}

/// A rule as the kernel lists it: chain, expression names, user data.
pub type DumpedRule = (String, Vec<String>, Vec<u8>);

/// Every rule of `ip table` in namespace `ns` as the kernel holds it, by a GETRULE dump;
/// none if there is no such table.
#[cfg(test)]
pub fn dump(ns: BorrowedFd<'_>, table: &str) -> io::Result<Vec<DumpedRule>> {
    dump_on(&NftSocket::open(ns)?, table)
}

/// [`dump`] over a socket kept for the namespace (see [`NftSocket`]).
pub fn dump_on(sock: &NftSocket, table: &str) -> io::Result<Vec<DumpedRule>> {
    let sock = &sock.0;
    drain(sock)?;
    let mut m = NetlinkMessage::from(NetfilterMessage::new(
        NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0),
        NfTablesMessage::GetRule(RuleMessage {
            attributes: vec![RuleAttribute::Table(table.to_string())],
        }),
    ));
    m.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    m.header.sequence_number = 1;
    m.finalize();
    let mut req = vec![0; m.buffer_len()];
    m.serialize(&mut req);
    sock.send(&req, 0)?;

    let mut rules = Vec::new();
    let mut buf = Vec::with_capacity(RECV_BUF);
    loop {
        // The kernel fills the next part of a dump when it is read, and always ends it
        // with NLMSG_DONE (or an error), so a blocking read cannot wait forever.
        recv(sock, &mut buf, false)?;
        for raw in messages(&buf)? {
            if raw.message_type() == NLMSG_DONE {
                return Ok(rules);
            }
            if raw.message_type() == NLMSG_ERROR {
                let (_, errno, _) = error_reply(&raw)?;
                return Err(io::Error::from_raw_os_error(errno));
            }
            let msg = NetlinkMessage::<NetfilterMessage>::deserialize(raw.into_inner())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let NetlinkPayload::InnerMessage(NetfilterMessage {
                inner:
                    netlink_packet_netfilter::NetfilterMessageInner::NfTables(NfTablesMessage::NewRule(
                        RuleMessage { attributes },
                    )),
                ..
            }) = msg.payload
            else {
                continue;
            };
            let mut chain = String::new();
            let mut exprs = Vec::new();
            let mut udata = Vec::new();
            for a in attributes {
                match a {
                    RuleAttribute::Chain(c) => chain = c,
                    RuleAttribute::Expressions(e) => exprs = names(&e),
                    RuleAttribute::UserData(u) => udata = u,
                    _ => {}
                }
            }
            rules.push((chain, exprs, udata));
        }
    }
}

/// A rule as the kernel lists it, in plain values (see `Kernel::nft_rules`).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRule {
    pub chain: String,
    /// The names of its expressions in order (`meta`, `cmp`, `nat` …).
    pub exprs: Vec<String>,
    pub comment: Option<String>,
}

/// The comment stored in a rule's user data (`NFTNL_UDATA_RULE_COMMENT`, NUL-terminated).
pub fn udata_comment(udata: &[u8]) -> Option<String> {
    let (&kind, rest) = udata.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if kind != NFTNL_UDATA_RULE_COMMENT {
        return None;
    }
    let text = rest.get(..usize::from(len))?;
    let text = text.strip_suffix(&[0]).unwrap_or(text);
    Some(String::from_utf8_lossy(text).into_owned())
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd, OwnedFd};

    use super::*;
    use crate::kernel::netns;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn rule(matches: Vec<Match>, action: Action) -> Rule {
        Rule {
            matches,
            action,
            comment: None,
        }
    }

    /// Every match and every action, in chains where the kernel accepts them.
    fn everything() -> Ruleset {
        Ruleset {
            table: "netsh".into(),
            chains: vec![
                Chain {
                    name: "forward".into(),
                    hook: Hook::Forward,
                    kind: ChainKind::Filter,
                    priority: 0,
                    rules: vec![
                        rule(vec![Match::CtStateEstablishedRelated], Action::Accept),
                        rule(
                            vec![
                                Match::IifName("br-8034bac3c933".into()),
                                Match::OifName("docker0".into()),
                            ],
                            Action::Drop,
                        ),
                        rule(
                            vec![
                                Match::NotIifName("eth0".into()),
                                Match::NotOifName("eth1".into()),
                                Match::Saddr(net("10.0.0.0/8")),
                                Match::NotSaddr(net("10.1.2.3/32")),
                                Match::Daddr(net("192.168.7.9/23")),
                                Match::NotDaddr(net("0.0.0.0/0")),
                            ],
                            Action::Counter,
                        ),
                        Rule {
                            matches: vec![Match::Protocol(L4::Udp), Match::Dport(53)],
                            action: Action::Accept,
                            comment: Some("dns for the lab".into()),
                        },
                    ],
                },
                Chain {
                    name: "prerouting".into(),
                    hook: Hook::Prerouting,
                    kind: ChainKind::Nat,
                    priority: -100,
                    rules: vec![
                        rule(
                            vec![
                                Match::DaddrLocal,
                                Match::Protocol(L4::Tcp),
                                Match::Dport(8081),
                            ],
                            Action::Dnat {
                                addr: "172.18.0.2".parse().unwrap(),
                                port: Some(8080),
                            },
                        ),
                        rule(
                            vec![Match::Daddr(net("10.9.9.9/32"))],
                            Action::Dnat {
                                addr: "172.18.0.3".parse().unwrap(),
                                port: None,
                            },
                        ),
                    ],
                },
                Chain {
                    name: "output".into(),
                    hook: Hook::Output,
                    kind: ChainKind::Nat,
                    priority: -100,
                    rules: vec![rule(
                        vec![
                            Match::Protocol(L4::Tcp),
                            Match::DaddrLocal,
                            Match::Dport(8081),
                        ],
                        Action::Dnat {
                            addr: "172.18.0.2".parse().unwrap(),
                            port: Some(8080),
                        },
                    )],
                },
                Chain {
                    name: "postrouting".into(),
                    hook: Hook::Postrouting,
                    kind: ChainKind::Nat,
                    priority: 100,
                    rules: vec![rule(
                        vec![
                            Match::Saddr(net("172.18.0.0/16")),
                            Match::NotOifName("br-8034bac3c933".into()),
                        ],
                        Action::Masquerade,
                    )],
                },
            ],
            ..Default::default()
        }
    }

    /// Something else: one chain gone, one new, different rule counts.
    fn other_ruleset() -> Ruleset {
        Ruleset {
            table: "netsh".into(),
            chains: vec![
                Chain {
                    name: "input".into(),
                    hook: Hook::Input,
                    kind: ChainKind::Filter,
                    priority: 10,
                    rules: vec![
                        rule(vec![Match::IifName("lo".into())], Action::Accept),
                        rule(vec![], Action::Counter),
                        rule(vec![Match::Protocol(L4::Tcp)], Action::Drop),
                    ],
                },
                Chain {
                    name: "forward".into(),
                    hook: Hook::Forward,
                    kind: ChainKind::Filter,
                    priority: 0,
                    rules: vec![rule(vec![], Action::Accept)],
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn prints_an_nft_script() {
        let expected = "\
table ip netsh {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state established,related accept
\t\tiifname \"br-8034bac3c933\" oifname \"docker0\" drop
\t\tiifname != \"eth0\" oifname != \"eth1\" ip saddr 10.0.0.0/8 ip saddr != 10.1.2.3 \
ip daddr 192.168.6.0/23 ip daddr != 0.0.0.0/0 counter
\t\tudp dport 53 accept comment \"dns for the lab\"
\t}
\tchain prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tfib daddr type local tcp dport 8081 dnat to 172.18.0.2:8080
\t\tip daddr 10.9.9.9 dnat to 172.18.0.3
\t}
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tmeta l4proto tcp fib daddr type local th dport 8081 dnat to 172.18.0.2:8080
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 172.18.0.0/16 oifname != \"br-8034bac3c933\" masquerade
\t}
}";
        assert_eq!(everything().to_string(), expected);
        let other = "\
table ip netsh {
\tchain input {
\t\ttype filter hook input priority 10; policy accept;
\t\tiifname \"lo\" accept
\t\tcounter
\t\tmeta l4proto tcp drop
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\taccept
\t}
}";
        assert_eq!(other_ruleset().to_string(), other);
    }

    #[test]
    fn refuses_what_would_not_mean_the_same() {
        let mut rs = everything();
        rs.chains[0].rules[0].matches = vec![Match::Dport(80)];
        assert!(rs
            .validate()
            .unwrap_err()
            .contains("rule 1 of chain forward"));

        let mut rs = everything();
        rs.chains[0].rules[0].matches = vec![Match::IifName("veth*".into())];
        assert!(rs.validate().is_err());
        rs.chains[0].rules[0].matches = vec![Match::IifName("a-very-long-name".into())];
        assert!(rs.validate().is_err());

        let mut rs = everything();
        rs.chains[0].rules[0].comment = Some("say \"hi\"".into());
        assert!(rs.validate().is_err());

        let mut rs = everything();
        rs.chains[1].rules[1].matches.clear();
        rs.chains[1].rules[1].action = Action::Dnat {
            addr: "1.2.3.4".parse().unwrap(),
            port: Some(80),
        };
        assert!(rs.validate().unwrap_err().contains("needs a protocol"));

        let mut rs = everything();
        rs.chains[1].name = "forward".into();
        assert!(rs.validate().unwrap_err().contains("twice"));

        let mut rs = everything();
        rs.table = "no spaces".into();
        assert!(rs.validate().is_err());
        assert!(everything().validate().is_ok());
    }

    #[test]
    fn encodes_matches_as_nft_does() {
        let r = rule(
            vec![
                Match::IifName("eth0".into()),
                Match::Saddr(net("10.0.0.0/8")),
            ],
            Action::Drop,
        );
        let e = rule_expressions(&r);
        assert_eq!(
            names(&e),
            ["meta", "cmp", "payload", "bitwise", "cmp", "immediate"]
        );
        let mut name = b"eth0".to_vec();
        name.resize(16, 0);
        assert_eq!(e[1], cmp(Operator::Equal, name));
        assert_eq!(e[3], mask(vec![255, 0, 0, 0]));
        assert_eq!(e[4], cmp(Operator::Equal, vec![10, 0, 0, 0]));

        let r = rule(
            vec![Match::Protocol(L4::Tcp), Match::Dport(8081)],
            Action::Dnat {
                addr: "172.18.0.2".parse().unwrap(),
                port: Some(8080),
            },
        );
        let e = rule_expressions(&r);
        assert_eq!(
            names(&e),
            [
                "meta",
                "cmp",
                "payload",
                "cmp",
                "immediate",
                "immediate",
                "nat"
            ]
        );
        assert_eq!(e[1], cmp(Operator::Equal, vec![6]));
        assert_eq!(e[3], cmp(Operator::Equal, vec![0x1f, 0x91]));
        assert_eq!(e[5], immediate(Register::Reg2, vec![0x1f, 0x90]));

        let r = rule(vec![Match::CtStateEstablishedRelated], Action::Masquerade);
        assert_eq!(
            names(&rule_expressions(&r)),
            ["ct", "bitwise", "cmp", "masq"]
        );
        assert_eq!(comment_udata("hi"), [0, 3, b'h', b'i', 0]);
        assert_eq!(udata_comment(&comment_udata("hi")).as_deref(), Some("hi"));
        assert_eq!(udata_comment(&[]), None);
        assert_eq!(udata_comment(&[0, 9, b'x']), None, "a length past the end");
    }

    fn a_change() -> Change {
        Change {
            table: "docker".into(),
            steps: vec![
                Step::AddChain("fwd-br-1".into()),
                Step::AddRule {
                    chain: "fwd-br-1".into(),
                    rule: rule(vec![Match::OifNameIn("bridges".into())], Action::Drop),
                },
                Step::AddElement {
                    set: "forward-from".into(),
                    element: Element {
                        key: Key::IfName("br-1".into()),
                        jump: Some("fwd-br-1".into()),
                    },
                },
                Step::DelElement {
                    set: "tcp-published".into(),
                    key: Key::Port(8081),
                },
                Step::FlushChain("publish-tcp-8081".into()),
                Step::DelChain("publish-tcp-8081".into()),
            ],
        }
    }

    #[test]
    fn a_change_prints_as_nft_commands_and_is_framed_alone() {
        assert_eq!(
            a_change().to_string(),
            "add chain ip docker fwd-br-1\n\
             add rule ip docker fwd-br-1 oifname @bridges drop\n\
             add element ip docker forward-from { \"br-1\" : jump fwd-br-1 }\n\
             delete element ip docker tcp-published { 8081 }\n\
             flush chain ip docker publish-tcp-8081\n\
             delete chain ip docker publish-tcp-8081"
        );
        let b = change_batch(&a_change());
        let msgs = messages(&b.buf).unwrap();
        // begin, the six statements (no table reset), end
        assert_eq!(msgs.len(), 8);
        let types: Vec<u16> = msgs[1..7].iter().map(|m| m.message_type()).collect();
        // NEWCHAIN, NEWRULE, NEWSETELEM, DELSETELEM, DELRULE (flush), DELCHAIN
        assert_eq!(types, [0xa03, 0xa06, 0xa0c, 0xa0e, 0xa08, 0xa05]);
        assert!(a_change().validate().is_ok());
        let mut bad = a_change();
        bad.steps.push(Step::AddElement {
            set: "forward-from".into(),
            element: Element {
                key: Key::IfName("br*".into()),
                jump: Some("x".into()),
            },
        });
        assert!(bad.validate().unwrap_err().contains("statement 7"));
        let mut bad = a_change();
        bad.steps.push(Step::AddChain("no spaces".into()));
        assert!(bad.validate().is_err());
        assert!(Change::default().is_empty());
    }

    #[test]
    fn batch_is_framed_for_nfnetlink() {
        let b = ruleset_batch(&other_ruleset());
        let msgs = messages(&b.buf).unwrap();
        // begin, table, delete, table, 2 chains, 4 rules, end
        assert_eq!(msgs.len(), 11);
        assert_eq!(b.statements.len(), 9);
        // NFNL_MSG_BATCH_BEGIN with res_id NFNL_SUBSYS_NFTABLES in network order
        assert_eq!(msgs[0].message_type(), 16);
        assert_eq!(&msgs[0].payload()[2..4], &[0, 10]);
        assert_eq!(msgs[10].message_type(), 17);
        // (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE / DELTABLE / NEWCHAIN / NEWRULE
        let types: Vec<u16> = msgs[1..10].iter().map(|m| m.message_type()).collect();
        assert_eq!(
            types,
            [0xa00, 0xa02, 0xa00, 0xa03, 0xa03, 0xa06, 0xa06, 0xa06, 0xa06]
        );
        for m in &msgs[1..10] {
            assert_ne!(m.flags() & NLM_F_REQUEST, 0);
            // nfgenmsg family NFPROTO_IPV4
            assert_eq!(m.payload()[0], 2);
        }
        // Only the last statement asks for an ACK (failures are reported regardless).
        assert!(msgs[1..9].iter().all(|m| m.flags() & NLM_F_ACK == 0));
        assert_ne!(msgs[9].flags() & NLM_F_ACK, 0);
        assert_eq!(b.last_seq, msgs[9].sequence_number());
        assert_eq!(msgs.last().unwrap().sequence_number(), 11);
        assert!(b.statements[8]
            .1
            .starts_with("rule 1 of chain forward (`accept`)"));
    }

    // ---- live tests: only in namespaces created here, never the machine's own ----

    /// A fresh, empty network namespace, or `None` (with a note) when not root.
    fn scratch_ns() -> Option<OwnedFd> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: nftables tests need root (they use a private namespace)");
            return None;
        }
        let (fd, ()) = netns::create_with(|| Ok(())).expect("create a network namespace");
        Some(fd)
    }

    /// Whether namespace `ns` has table `ip table` (GETTABLE answers ENOENT if not).
    fn table_exists(ns: BorrowedFd<'_>, table: &str) -> io::Result<bool> {
        let sock = open(ns)?;
        let mut m = NetlinkMessage::from(NetfilterMessage::new(
            NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0),
            NfTablesMessage::GetTable(TableMessage {
                attributes: vec![TableAttribute::Name(table.to_string())],
            }),
        ));
        m.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        m.header.sequence_number = 1;
        m.finalize();
        let mut req = vec![0; m.buffer_len()];
        m.serialize(&mut req);
        sock.send(&req, 0)?;
        let mut buf = Vec::with_capacity(RECV_BUF);
        loop {
            // The table (if any) comes first, then the ACK or the error.
            recv(&sock, &mut buf, false)?;
            for raw in messages(&buf)? {
                if raw.message_type() == NLMSG_ERROR {
                    return match error_reply(&raw)? {
                        (_, 0, _) => Ok(true),
                        (_, libc::ENOENT, _) => Ok(false),
                        (_, errno, _) => Err(io::Error::from_raw_os_error(errno)),
                    };
                }
            }
        }
    }

    /// Asserts that the kernel holds exactly `rs`: same chains, same rule counts, each rule
    /// with the expressions sent and its comment.
    fn assert_holds(ns: BorrowedFd<'_>, rs: &Ruleset) {
        let got = dump(ns, &rs.table).expect("dump rules");
        let want: Vec<DumpedRule> = rs
            .chains
            .iter()
            .flat_map(|c| {
                c.rules.iter().map(|r| {
                    (
                        c.name.clone(),
                        names(&rule_expressions(r)),
                        r.comment.as_deref().map(comment_udata).unwrap_or_default(),
                    )
                })
            })
            .collect();
        for c in &rs.chains {
            let n = got.iter().filter(|(chain, ..)| chain == &c.name).count();
            assert_eq!(n, c.rules.len(), "rules in chain {}", c.name);
        }
        assert_eq!(got, want);
    }

    #[test]
    fn live_apply_replaces_the_whole_table() {
        let Some(ns) = scratch_ns() else { return };
        let ns = ns.as_fd();
        let a = everything();
        apply(ns, &a).expect("apply the full ruleset");
        assert_holds(ns, &a);
        apply(ns, &a).expect("apply the same ruleset again");
        assert_holds(ns, &a);

        let b = other_ruleset();
        apply(ns, &b).expect("apply a different ruleset");
        assert_holds(ns, &b);
        // Chains of the old version are gone, not merged.
        let got = dump(ns, "netsh").unwrap();
        assert!(got.iter().all(|(c, ..)| c == "input" || c == "forward"));

        assert!(table_exists(ns, "netsh").unwrap());
        delete(ns, "netsh").expect("delete the table");
        assert!(!table_exists(ns, "netsh").unwrap());
        delete(ns, "netsh").expect("deleting an absent table is fine");
        assert!(!table_exists(ns, "netsh").unwrap());
    }

    #[test]
    fn live_refused_ruleset_changes_nothing() {
        let Some(ns) = scratch_ns() else { return };
        let ns = ns.as_fd();
        let good = everything();
        apply(ns, &good).unwrap();

        // Valid chains and rules first, then a chain the kernel refuses: nat chains exist
        // for prerouting, input, output and postrouting only.
        let mut bad = other_ruleset();
        bad.chains.push(Chain {
            name: "natfwd".into(),
            hook: Hook::Forward,
            kind: ChainKind::Nat,
            priority: 0,
            rules: vec![rule(vec![], Action::Accept)],
        });
        let e = apply(ns, &bad).unwrap_err();
        assert_eq!(errno(&e), Some(libc::EOPNOTSUPP), "{e}");
        assert!(e.to_string().starts_with("nft: chain natfwd"), "{e}");
        assert_holds(ns, &good);

        // A rule refused deep inside the batch: masquerade belongs in nat chains.
        let mut bad = good.clone();
        bad.chains[0].rules.push(rule(vec![], Action::Masquerade));
        let e = apply(ns, &bad).unwrap_err();
        assert!(errno(&e).is_some(), "{e}");
        assert!(
            e.to_string()
                .starts_with("nft: rule 5 of chain forward (`masquerade`) rejected: "),
            "{e}"
        );
        assert_holds(ns, &good);

        // Refused before anything is sent.
        let mut bad = good.clone();
        bad.chains[0].rules[0].matches = vec![Match::Dport(1)];
        assert_eq!(
            apply(ns, &bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_holds(ns, &good);
    }

    #[test]
    fn live_large_ruleset_is_one_transaction() {
        let Some(ns) = scratch_ns() else { return };
        let ns = ns.as_fd();
        let mut rs = other_ruleset();
        rs.chains[1].rules = (0..1000)
            .map(|i| Rule {
                matches: vec![
                    Match::IifName(format!("veth{i}")),
                    Match::Protocol(L4::Tcp),
                    Match::Dport(i),
                ],
                action: Action::Accept,
                comment: Some(format!("rule {i}")),
            })
            .collect();
        // Small enough for the default net.core.wmem_max (a 425984-byte send buffer), large
        // enough that one ACK per statement would overflow the receive buffer.
        assert!(ruleset_batch(&rs).buf.len() < 400_000);
        apply(ns, &rs).expect("apply 1000 rules");
        assert_holds(ns, &rs);

        // One bad rule at the very end: every one before it is refused with it.
        rs.chains[1].rules.push(rule(vec![], Action::Masquerade));
        let e = apply(ns, &rs).unwrap_err();
        assert!(e.to_string().contains("rule 1001 of chain forward"), "{e}");
        rs.chains[1].rules.pop();
        assert_holds(ns, &rs);

        // A refused chain makes each of its 1000 rules fail too: far more errors than the
        // socket can queue, and still the first one is the one reported.
        let mut bad = rs.clone();
        bad.chains[1].kind = ChainKind::Nat;
        let e = apply(ns, &bad).unwrap_err();
        assert_eq!(errno(&e), Some(libc::EOPNOTSUPP), "{e}");
        assert!(e.to_string().starts_with("nft: chain forward"), "{e}");
        assert_holds(ns, &rs);
    }

    /// With `nft` installed, the kernel's own reading of what `apply` sent, as `nft` lists
    /// it, is the printed script (nft adds blank lines between chains and counter values).
    #[test]
    fn live_nft_lists_what_display_prints() {
        let has_nft = std::process::Command::new("nft")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_nft {
            eprintln!("skipped: nft is not installed");
            return;
        }
        let Some(ns) = scratch_ns() else { return };
        for rs in [everything(), other_ruleset()] {
            apply(ns.as_fd(), &rs).unwrap();
            // A child starts in the namespace of the thread that spawns it.
            let out = netns::run_in(ns.as_fd(), || {
                std::process::Command::new("nft")
                    .args(["list", "table", "ip", &rs.table])
                    .output()
            })
            .unwrap();
            assert!(out.status.success(), "{out:?}");
            let listed = String::from_utf8(out.stdout).unwrap();
            let listed: Vec<&str> = listed
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.trim_end())
                .collect();
            let listed = listed
                .join("\n")
                .replace(" counter packets 0 bytes 0", " counter");
            let listed = listed.replace("\tcounter packets 0 bytes 0", "\tcounter");
            // nft lists priorities relative to a standard one (`filter + 10`), and a
            // protocol match with a later port match as one `tcp dport`.
            let listed = listed.replace("priority filter + 10;", "priority 10;");
            let printed = rs.to_string().replace(
                "meta l4proto tcp fib daddr type local th dport 8081",
                "fib daddr type local tcp dport 8081",
            );
            assert_eq!(listed, printed);
        }
    }
}
