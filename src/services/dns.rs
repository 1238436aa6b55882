//! Docker's embedded DNS server: `127.0.0.11:53` inside a container's network namespace.
//!
//! Docker writes `nameserver 127.0.0.11` into every container on a user-defined network and
//! answers there with the names it knows (container names, network aliases, …). Docker reaches
//! that address with iptables DNAT to a random port; in the lab nothing else listens in the
//! container, so the server binds `127.0.0.11:53` itself, over UDP and TCP. `127.0.0.0/8` is
//! local in its entirety (the kernel's `local` table routes all of it to `lo`), so the bind
//! works as soon as `lo` is up, without adding the address.
//!
//! Names Docker does not know it forwards to the container's external servers (libnetwork's
//! `extDNS`), from inside the container's namespace. In the lab those are the `--dns`
//! servers a container was given ([`Names::external`]): the question goes out over UDP from
//! a socket made in the container's namespace, so it reaches only what the container could
//! reach, and the first server that answers is relayed (SERVFAIL when none answers within
//! [`FORWARD_TIMEOUT`] each). Without such servers — the host's resolvers are outside the
//! sealed lab — those names are answered NXDOMAIN at once, flagged like all of Docker's
//! answers: not authoritative, recursion available.
//!
//! Every packet goes through [`answer`], a pure function of the query bytes and the names
//! known at that moment ([`Names`]), so the DNS rules are tested without sockets. A network's
//! names are one [`Records`]; a container asks through a [`Sandbox`], its networks' records in
//! Docker's order plus its `--link` aliases, resolved the way libnetwork's
//! `sandbox.ResolveName` and `sandbox.ResolveIP` do (Docker 20.10). The lab edits both as
//! containers come and go; each query reads them as they are then.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::BorrowedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

use crate::kernel::netns;

/// The address Docker's embedded DNS server answers on.
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// The DNS port, over UDP and TCP.
pub const DNS_PORT: u16 = 53;
/// The TTL Docker gives its answers.
pub const TTL: u32 = 600;

/// Every DNS message starts with a 12-byte header (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// The classic UDP payload limit (RFC 1035 §2.3.4), what a client gets without EDNS(0).
const UDP_MIN_PAYLOAD: usize = 512;
/// The largest UDP payload sent or accepted, whatever a client advertises. A query larger than
/// this cannot be a sensible question; an answer larger goes over TCP.
const UDP_MAX_PAYLOAD: usize = 4096;
/// A TCP frame's length prefix is 16 bits (RFC 1035 §4.2.2).
const TCP_MAX_MESSAGE: usize = u16::MAX as usize;
/// How long a TCP connection may sit without delivering a complete query, or refuse to take
/// an answer, before it is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Connections over this many are closed on accept; the client falls back or retries.
const TCP_MAX_CONNECTIONS: usize = 64;
/// How long a forwarded question waits for each external server (Docker waits 4 s; the lab
/// answers from inside itself or not at all).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);
/// Forwarded questions in flight at once; more are answered SERVFAIL.
const MAX_FORWARDS: usize = 64;

/// Header bits (RFC 1035 §4.1.1): byte 2 holds QR, OPCODE, AA, TC, RD; byte 3 RA, Z, AD, CD,
/// RCODE.
const FLAG_QR: u8 = 0x80;
const MASK_OPCODE: u8 = 0x78;
const FLAG_TC: u8 = 0x02;
const FLAG_RD: u8 = 0x01;
const FLAG_RA: u8 = 0x80;

/// The names one network answers for, each with its IPv4 addresses, and the reverse (PTR)
/// names of its members' addresses: libnetwork's `svcRecords` of a network (Docker 20.10's
/// `network.go`: `svcMap` and `ipMap`).
///
/// Names compare case-insensitively in ASCII only, as DNS does (RFC 4343), and without a
/// trailing dot: `Web.` and `web` are the same name.
#[derive(Clone, Default, Debug)]
pub struct Records {
    names: HashMap<String, Vec<Ipv4Addr>>,
    /// Each address's PTR names in the order they were added; the first one answers (as in
    /// libnetwork, whose `ipMap` set answers with its first element).
    pointers: HashMap<Ipv4Addr, Vec<String>>,
}

/// What a server answers from: a [`Records`] alone, or a container's [`Sandbox`].
pub trait Names {
    /// The IPv4 addresses `name` resolves to (any case, with or without the final dot);
    /// empty when the name is unknown.
    fn addresses(&self, name: &str) -> Vec<Ipv4Addr>;
    /// The name a PTR query for `addr` answers (`rv1.rvn`, without the final dot), if any.
    fn pointer(&self, addr: Ipv4Addr) -> Option<String>;
    /// The servers a question nobody here can answer is forwarded to (a container's
    /// `--dns` servers, port 53), in order; none by default.
    fn external(&self) -> Vec<SocketAddr> {
        Vec::new()
    }
}

/// One network's records, shared by the servers of every container on it: the lab edits
/// them as members come and go, and every server sees the change at its next query.
pub type NetworkRecords = Arc<RwLock<Records>>;

/// The names a container's server answers from; the lab edits it when the container joins
/// or leaves a network, and every query reads it as it is then.
pub type View = Arc<RwLock<Sandbox>>;

fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl Records {
    /// Adds `addr` to `name` (a name may have several addresses, e.g. a network alias shared
    /// by several containers). Adding an address the name already has changes nothing.
    pub fn insert(&mut self, name: &str, addr: Ipv4Addr) {
        let addrs = self.names.entry(normalize(name)).or_default();
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }

    /// Takes `addr` away from `name` (a container left the network); the name goes when it
    /// has no address left.
    pub fn remove(&mut self, name: &str, addr: Ipv4Addr) {
        let key = normalize(name);
        if let Some(addrs) = self.names.get_mut(&key) {
            addrs.retain(|a| *a != addr);
            if addrs.is_empty() {
                self.names.remove(&key);
            }
        }
    }

    /// The addresses of `name`, in the order they were inserted; empty for an unknown name.
    pub fn lookup(&self, name: &str) -> Vec<Ipv4Addr> {
        self.names
            .get(&normalize(name))
            .cloned()
            .unwrap_or_default()
    }

    /// Makes `name` (`<container>.<network>`, kept as given) a PTR name of `addr`, after any
    /// it already has.
    pub fn insert_pointer(&mut self, addr: Ipv4Addr, name: &str) {
        let names = self.pointers.entry(addr).or_default();
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }

    /// Takes the PTR name `name` away from `addr`.
    pub fn remove_pointer(&mut self, addr: Ipv4Addr, name: &str) {
        if let Some(names) = self.pointers.get_mut(&addr) {
            names.retain(|n| n != name);
            if names.is_empty() {
                self.pointers.remove(&addr);
            }
        }
    }
}

impl Names for Records {
    fn addresses(&self, name: &str) -> Vec<Ipv4Addr> {
        self.lookup(name)
    }
    fn pointer(&self, addr: Ipv4Addr) -> Option<String> {
        self.pointers.get(&addr)?.first().cloned()
    }
}

/// A container's attachment to one network, as its DNS server sees it.
#[derive(Clone, Debug)]
pub struct SandboxNetwork {
    /// The network's name, for `<name>.<network>` questions (matched case-sensitively, as
    /// libnetwork compares it).
    pub network: String,
    pub records: NetworkRecords,
    /// `--link TARGET:ALIAS` given on this network (`ALIAS` → `TARGET`, a container name):
    /// the alias resolves to whatever `TARGET` names on this network at the time of the
    /// question, for this container only. Matched case-sensitively, as libnetwork does.
    pub links: HashMap<String, String>,
}

/// The names a container resolves: its networks' records, in the order libnetwork keeps a
/// sandbox's endpoints (non-internal networks first, then by name), and its link aliases.
#[derive(Clone, Debug, Default)]
pub struct Sandbox {
    pub networks: Vec<SandboxNetwork>,
    /// The container's external servers (`--dns`), see [`Names::external`].
    pub external: Vec<SocketAddr>,
}

fn read(records: &NetworkRecords) -> std::sync::RwLockReadGuard<'_, Records> {
    // A writer that panicked left at worst a partly updated set of names: still better
    // answered from than not at all.
    records.read().unwrap_or_else(|e| e.into_inner())
}

impl Names for Sandbox {
    /// libnetwork's `sandbox.ResolveName`: the name as asked, then `a.b.c` as `a.b` on
    /// network `c` and `a` on network `b.c`; for each, link aliases first, then the names on
    /// each network in turn — the first network that knows the name answers, alone. A link
    /// alias hides a container of the same name on the network where it was given.
    fn addresses(&self, name: &str) -> Vec<Ipv4Addr> {
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut candidates = vec![(name, "")];
        let mut rest = name;
        while let Some(i) = rest.rfind('.') {
            candidates.push((&name[..i], &name[i + 1..]));
            rest = &rest[..i];
        }
        for (req, network) in candidates {
            let on = |n: &&SandboxNetwork| network.is_empty() || n.network == network;
            for n in self.networks.iter().filter(on) {
                if let Some(target) = n.links.get(req) {
                    let found = read(&n.records).lookup(target);
                    if !found.is_empty() {
                        return found;
                    }
                }
            }
            for n in self.networks.iter().filter(on) {
                if n.links.contains_key(req) {
                    continue;
                }
                let found = read(&n.records).lookup(req);
                if !found.is_empty() {
                    return found;
                }
            }
        }
        Vec::new()
    }

    /// libnetwork's `sandbox.ResolveIP`: the first of the container's networks that has a
    /// PTR name for the address answers.
    fn pointer(&self, addr: Ipv4Addr) -> Option<String> {
        self.networks
            .iter()
            .find_map(|n| read(&n.records).pointer(addr))
    }

    fn external(&self) -> Vec<SocketAddr> {
        self.external.clone()
    }
}

/// Answers one DNS query message with the response to send back, as over TCP (no 512-byte
/// limit; an answer that does not fit the 64 KiB of a DNS message is truncated). Both
/// transports answer with it; UDP then cuts the response to the datagram size.
///
/// `None` means "send nothing": fewer than 12 bytes (not even an ID to answer to) or a
/// message that is itself a response. A message with a readable header that does not parse
/// gets FORMERR with its ID.
pub fn answer<N: Names + ?Sized>(query: &[u8], records: &N) -> Option<Vec<u8>> {
    let header = query.get(..HEADER_LEN)?;
    // Answering a response would let two servers (or a spoofed source) bounce packets at each
    // other forever.
    if header[2] & FLAG_QR != 0 {
        return None;
    }
    let request = match Message::from_vec(query) {
        Ok(m) => m,
        Err(_) => return Some(bare_reply(header, ResponseCode::FormErr)),
    };
    let mut response = respond(&request, records);
    Some(encode_within(&mut response, TCP_MAX_MESSAGE, header))
}

/// [`answer`] as sent over UDP: cut to what the client takes in one datagram (512 bytes, or
/// the size it advertises with EDNS(0), at most 4096). Pure, like `answer`: the fuzz target
/// (fuzz/) drives the server's message handling through these two.
pub fn answer_udp<N: Names + ?Sized>(query: &[u8], records: &N) -> Option<Vec<u8>> {
    answer(query, records).map(|response| fit_for_udp(response, query))
}

/// `response`, the answer to `query`, cut to what this client takes in one UDP datagram.
fn fit_for_udp(response: Vec<u8>, query: &[u8]) -> Vec<u8> {
    // Nearly every answer fits; only the others pay for parsing the query again.
    if response.len() <= UDP_MIN_PAYLOAD {
        return response;
    }
    let limit = Message::from_vec(query).map_or(UDP_MIN_PAYLOAD, |q| udp_limit(&q));
    if response.len() <= limit {
        return response;
    }
    match Message::from_vec(&response) {
        Ok(mut m) => encode_within(&mut m, limit, &response),
        Err(_) => {
            let mut bytes = bare_reply(&response, ResponseCode::ServFail);
            bytes[2] |= FLAG_TC;
            bytes
        }
    }
}

/// The response to a parsed query, before any size limit.
fn respond<N: Names + ?Sized>(request: &Message, records: &N) -> Message {
    let mut response = Message::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    // ID, opcode, RD and CD come from the query (RFC 6895 §2); RA is set like Docker's server
    // does, because to the container it stands for a recursive resolver.
    response.metadata = Metadata::response_from_request(&request.metadata);
    response.metadata.recursion_available = true;
    response.add_queries(request.queries.iter().cloned());

    if request.metadata.op_code != OpCode::Query {
        // NOTIFY, UPDATE and friends are for zone servers, which this is not.
        response.metadata.response_code = ResponseCode::NotImp;
        return response;
    }
    if request.queries.is_empty() {
        // A query without a question asks nothing; BIND and Unbound answer FORMERR too.
        response.metadata.response_code = ResponseCode::FormErr;
        return response;
    }

    for question in &request.queries {
        if question.query_type() == RecordType::PTR {
            if let Some(addr) = reverse_address(question.name()) {
                // An address nobody on the asker's networks has: Docker forwards the
                // question to the host's resolvers; the lab has none, so it does not exist.
                match records
                    .pointer(addr)
                    .map(|n| Name::from_ascii(format!("{n}.")))
                {
                    Some(Ok(target)) if question.query_class() == DNSClass::IN => {
                        response.add_answer(Record::from_rdata(
                            question.name().clone(),
                            TTL,
                            RData::PTR(PTR(target)),
                        ));
                    }
                    Some(Ok(_)) => {}
                    _ => response.metadata.response_code = ResponseCode::NXDomain,
                }
                continue;
            }
        }
        let addrs = lookup_key(question.name())
            .map(|key| records.addresses(&key))
            .unwrap_or_default();
        if addrs.is_empty() {
            response.metadata.response_code = ResponseCode::NXDomain;
            continue;
        }
        // A known name without records of the asked type (AAAA: the lab's containers have
        // no IPv6 here) is NOERROR with no answers ("NODATA"), never NXDOMAIN: NXDOMAIN
        // would tell caches the name does not exist for any type.
        if question.query_class() == DNSClass::IN && question.query_type() == RecordType::A {
            // The owner name is the question's name byte for byte: resolvers that randomise
            // the case of their questions (DNS 0x20) check that it comes back unchanged.
            let owner = question.name().clone();
            response.add_answers(
                addrs
                    .into_iter()
                    .map(|addr| Record::from_rdata(owner.clone(), TTL, RData::A(A(addr)))),
            );
        }
    }
    response
}

/// The IPv4 address a reverse name stands for: `2.0.33.10.in-addr.arpa` → 10.33.0.2
/// (RFC 1035 §3.5), the suffix in any case (RFC 4343). Four decimal labels exactly, each
/// 0–255 without leading zeros (libnetwork compares the name with the address's own
/// reversed text, so `02.0.33.10` names nothing); anything else is None.
pub fn reverse_address(name: &Name) -> Option<Ipv4Addr> {
    let labels: Vec<&[u8]> = name.iter().collect();
    let [d, c, b, a, arpa1, arpa2] = labels.as_slice() else {
        return None;
    };
    if !arpa1.eq_ignore_ascii_case(b"in-addr") || !arpa2.eq_ignore_ascii_case(b"arpa") {
        return None;
    }
    let octet = |label: &[u8]| -> Option<u8> {
        let text = std::str::from_utf8(label).ok()?;
        if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
            return None;
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    Some(Ipv4Addr::new(octet(a)?, octet(b)?, octet(c)?, octet(d)?))
}

/// `10.33.0.2` → `2.0.33.10.in-addr.arpa.`, the name a PTR question for it asks.
pub fn reverse_name(addr: Ipv4Addr) -> String {
    let [a, b, c, d] = addr.octets();
    format!("{d}.{c}.{b}.{a}.in-addr.arpa.")
}

/// The key `Records` knows a question's name by, or None if no record can have that name.
///
/// Built from the raw labels rather than a presentation form: a label may hold any byte, and
/// a label containing a dot (`a\.b`) is not the two labels `a.b`.
fn lookup_key(name: &Name) -> Option<String> {
    let mut key = String::with_capacity(name.len());
    for (i, label) in name.iter().enumerate() {
        if label.contains(&b'.') {
            return None;
        }
        if i > 0 {
            key.push('.');
        }
        key.push_str(std::str::from_utf8(label).ok()?);
    }
    Some(key)
}

/// How large a UDP response may be: 512 bytes, or what the client advertised in an EDNS(0)
/// OPT record (RFC 6891 §6.2.3), at most 4096. Docker's server honours the advertised size
/// the same way.
fn udp_limit(request: &Message) -> usize {
    request
        .edns
        .as_ref()
        .map_or(UDP_MIN_PAYLOAD, |edns| usize::from(edns.max_payload()))
        .clamp(UDP_MIN_PAYLOAD, UDP_MAX_PAYLOAD)
}

/// Encodes `response` in at most `limit` bytes.
///
/// A response that does not fit goes out with TC set and without its records (RFC 1035
/// §4.2.1, RFC 2181 §9): the client then asks again over TCP, which fits 64 KiB. Over TCP
/// itself the encoder already drops the records beyond 64 KiB and sets TC.
fn encode_within(response: &mut Message, limit: usize, header: &[u8]) -> Vec<u8> {
    if let Ok(bytes) = response.to_vec() {
        if bytes.len() <= limit {
            return bytes;
        }
    }
    // Encoding fails only when even the questions exceed the 64 KiB of a message; that too
    // ends here.
    response.answers.clear();
    response.authorities.clear();
    response.additionals.clear();
    response.metadata.truncation = true;
    if let Ok(bytes) = response.to_vec() {
        if bytes.len() <= limit {
            return bytes;
        }
    }
    // Questions alone too long for the transport (many of them in one UDP query).
    let mut bytes = bare_reply(header, response.metadata.response_code);
    bytes[2] |= FLAG_TC;
    bytes
}

/// A header-only response to the query whose header is `header` (at least 12 bytes): same ID
/// and opcode, RD copied, RA set, no sections. Written by hand because it must work for
/// messages the parser refused.
fn bare_reply(header: &[u8], code: ResponseCode) -> Vec<u8> {
    let mut bytes = vec![0; HEADER_LEN];
    bytes[..2].copy_from_slice(&header[..2]);
    bytes[2] = FLAG_QR | (header[2] & (MASK_OPCODE | FLAG_RD));
    bytes[3] = FLAG_RA | (code.low() & 0x0f);
    bytes
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// [`answer`] with the current records, fitted to the transport and shielded from panics: a
/// decoder bug triggered by one packet must not stop the server for everyone (SERVFAIL
/// instead).
fn reply<N: Names>(query: &[u8], view: &RwLock<N>, transport: Transport) -> Option<Vec<u8>> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // A writer that panicked left at worst a partly updated set of names: still better
        // answered from than not at all.
        let records = view.read().unwrap_or_else(|e| e.into_inner());
        match transport {
            Transport::Udp => answer_udp(query, &*records),
            Transport::Tcp => answer(query, &*records),
        }
    }));
    match result {
        Ok(response) => response,
        Err(_) => match query.get(..HEADER_LEN) {
            Some(header) if header[2] & FLAG_QR == 0 => {
                Some(bare_reply(header, ResponseCode::ServFail))
            }
            _ => None,
        },
    }
}

/// A running embedded DNS server; dropping it stops it.
pub struct DnsServer {
    tasks: Vec<JoinHandle<()>>,
    /// A second descriptor of the listening socket, see `Drop`.
    listener: std::net::TcpListener,
    queries: Arc<AtomicU64>,
}

impl DnsServer {
    /// Starts answering on `127.0.0.11:53` (UDP and TCP) inside the network namespace `ns`,
    /// from `view` (a container's [`Sandbox`], or plain [`Records`]), with tasks on `rt`.
    /// `lo` must be up in `ns`.
    pub fn start<N: Names + Send + Sync + 'static>(
        rt: &tokio::runtime::Handle,
        ns: BorrowedFd<'_>,
        view: Arc<RwLock<N>>,
    ) -> io::Result<DnsServer> {
        // A socket belongs to the namespace it was created in, wherever it is used later:
        // the forwarding socket too, so forwarded questions leave from the container.
        let (udp, tcp, fwd) = netns::run_in(ns, bind_sockets)?;
        let listener = tcp.try_clone()?;
        let _entered = rt.enter();
        let udp = UdpSocket::from_std(udp)?;
        let tcp = TcpListener::from_std(tcp)?;
        let fwd = Arc::new(tokio::sync::Mutex::new(UdpSocket::from_std(fwd)?));
        let queries = Arc::new(AtomicU64::new(0));
        let tasks = vec![
            rt.spawn(serve_udp(udp, view.clone(), queries.clone(), fwd.clone())),
            rt.spawn(serve_tcp(tcp, view, queries.clone(), fwd)),
        ];
        Ok(DnsServer {
            tasks,
            listener,
            queries,
        })
    }

    /// How many responses the server has sent (answers, NXDOMAIN, FORMERR … alike), counted
    /// just before each is sent.
    #[allow(dead_code)] // for tests and diagnostics; the lab does not read it (yet)
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        // An aborted task drops its sockets a moment later, on a worker thread. Until then a
        // new server in the same namespace could not listen on 127.0.0.11:53: SO_REUSEADDR
        // never lets two sockets listen on one TCP address. shutdown(2) of a listening socket
        // takes it out of LISTEN at once (Linux disconnects it and drops its pending
        // connections), which frees the address now. The UDP socket needs nothing: both
        // sides set SO_REUSEADDR, so the new one binds beside the dying one.
        let _ = SockRef::from(&self.listener).shutdown(std::net::Shutdown::Both);
    }
}

fn dns_socket_addr() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(DNS_ADDR, DNS_PORT))
}

/// Runs inside the namespace: the server's UDP and TCP sockets, and the UDP socket that
/// forwards questions (any address, a port the kernel picks).
fn bind_sockets() -> io::Result<(
    std::net::UdpSocket,
    std::net::TcpListener,
    std::net::UdpSocket,
)> {
    let addr = dns_socket_addr().into();
    let bind_error =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot bind {DNS_ADDR}:{DNS_PORT}: {e}"));

    // The bind alone does not prove the address usable. In a namespace whose lo was never up
    // there is no local routing table yet, and the kernel's address-type check then lets the
    // bind through as if 127.0.0.11 were a broadcast address: the socket gets no source
    // address of its own, and its replies leave from 127.0.0.1, which resolvers discard. A
    // route lookup (connecting a UDP socket sends nothing) fails in that state.
    let probe = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    probe.connect(&addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{DNS_ADDR} is not reachable in this namespace (is lo up?): {e}"),
        )
    })?;
    drop(probe);

    let udp = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    udp.set_reuse_address(true)?;
    udp.set_nonblocking(true)?;
    udp.bind(&addr).map_err(bind_error)?;

    let tcp = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted server bind while connections of the previous one sit in TIME_WAIT.
    tcp.set_reuse_address(true)?;
    tcp.set_nonblocking(true)?;
    tcp.bind(&addr).map_err(bind_error)?;
    tcp.listen(128)?;

    let fwd = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    fwd.set_nonblocking(true)?;

    Ok((udp.into(), tcp.into(), fwd))
}

/// The forwarding socket, one question at a time (its answers are told apart by server
/// and ID only while nothing else is in flight).
type Forwarder = Arc<tokio::sync::Mutex<UdpSocket>>;

/// Whether `response` says the name is unknown here (NXDOMAIN), so that it is to be asked
/// of the external servers.
fn unknown_here(response: &[u8]) -> bool {
    response
        .get(3)
        .is_some_and(|b| b & 0x0f == ResponseCode::NXDomain.low())
}

/// Asks `servers` in turn, from the container's namespace, the question `query` (as the
/// client sent it), and returns the first answer that carries the question's ID; SERVFAIL
/// when none answers within [`FORWARD_TIMEOUT`] each (libnetwork's `forwardExtDNS`).
async fn forward(fwd: &Forwarder, query: &[u8], servers: &[SocketAddr]) -> Option<Vec<u8>> {
    let header = query.get(..HEADER_LEN)?;
    let sock = fwd.lock().await;
    let mut buf = vec![0u8; UDP_MAX_PAYLOAD];
    for server in servers {
        // Connected to the server it asks: only its datagrams arrive, and an ICMP error
        // (port unreachable: no server there) ends the wait at once.
        if sock.connect(server).await.is_err() || sock.send(query).await.is_err() {
            continue;
        }
        let deadline = tokio::time::Instant::now() + FORWARD_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Ok(Ok(n)) if n >= HEADER_LEN => {
                    if buf[..2] == header[..2] && buf[2] & FLAG_QR != 0 {
                        return Some(buf[..n].to_vec());
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
    }
    Some(bare_reply(header, ResponseCode::ServFail))
}

/// The external servers to ask when `response` (to `query`) says the name is unknown here.
fn forward_to<N: Names>(response: &[u8], view: &RwLock<N>) -> Vec<SocketAddr> {
    if !unknown_here(response) {
        return Vec::new();
    }
    view.read().unwrap_or_else(|e| e.into_inner()).external()
}

async fn serve_udp<N: Names + Send + Sync + 'static>(
    sock: UdpSocket,
    view: Arc<RwLock<N>>,
    queries: Arc<AtomicU64>,
    fwd: Forwarder,
) {
    let sock = Arc::new(sock);
    // Forwarded questions wait for their servers here, so the next question is answered
    // meanwhile; owned by this task, so stopping the server stops them too.
    let mut forwards = JoinSet::new();
    // One byte more than the largest query accepted: the kernel cuts a longer datagram to the
    // buffer without saying so, so a full buffer means "too long".
    let mut buf = vec![0u8; UDP_MAX_PAYLOAD + 1];
    loop {
        while forwards.try_join_next().is_some() {}
        let (len, peer) = match sock.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(_) => {
                // An unconnected UDP socket gets no ICMP errors (no IP_RECVERR), so an error
                // here is a resource shortage; pause rather than spin on it.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let datagram = &buf[..len];
        let response = if len > UDP_MAX_PAYLOAD {
            // Cut short by the kernel: whatever was read cannot be trusted to be the message.
            match datagram.get(..HEADER_LEN) {
                Some(header) if header[2] & FLAG_QR == 0 => {
                    Some(bare_reply(header, ResponseCode::FormErr))
                }
                _ => None,
            }
        } else {
            reply(datagram, &view, Transport::Udp)
        };
        let Some(bytes) = response else { continue };
        let servers = forward_to(&bytes, &view);
        if !servers.is_empty() && forwards.len() < MAX_FORWARDS {
            let (query, sock, fwd, queries) = (
                datagram.to_vec(),
                sock.clone(),
                fwd.clone(),
                queries.clone(),
            );
            forwards.spawn(async move {
                if let Some(answer) = forward(&fwd, &query, &servers).await {
                    let answer = fit_for_udp(answer, &query);
                    queries.fetch_add(1, Ordering::Relaxed);
                    let _ = sock.send_to(&answer, peer).await;
                }
            });
            continue;
        }
        // Counted before sending, so whoever holds the reply sees it counted. A lost reply is
        // DNS as usual over UDP: the client asks again.
        queries.fetch_add(1, Ordering::Relaxed);
        let _ = sock.send_to(&bytes, peer).await;
    }
}

async fn serve_tcp<N: Names + Send + Sync + 'static>(
    listener: TcpListener,
    view: Arc<RwLock<N>>,
    queries: Arc<AtomicU64>,
    fwd: Forwarder,
) {
    // Owned by this task: when it is aborted, dropping the set aborts every connection too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(_) => {
                        // Out of descriptors (EMFILE/ENFILE) lasts until some close: pause
                        // instead of spinning; a connection aborted before accept is gone.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                while connections.try_join_next().is_some() {}
                if connections.len() >= TCP_MAX_CONNECTIONS {
                    drop(stream);
                    continue;
                }
                connections.spawn(serve_connection(
                    stream,
                    view.clone(),
                    queries.clone(),
                    fwd.clone(),
                ));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One TCP connection: length-prefixed messages (RFC 1035 §4.2.2), answered in order, as many
/// as the client sends (RFC 7766 §6.2.1). A name unknown here is forwarded as over UDP.
async fn serve_connection<N: Names>(
    mut stream: TcpStream,
    view: Arc<RwLock<N>>,
    queries: Arc<AtomicU64>,
    fwd: Forwarder,
) {
    // Pipelined answers are small writes in a row; Nagle would hold the second one back until
    // the client acknowledges the first, which a delayed ACK can stretch to 40 ms.
    let _ = stream.set_nodelay(true);
    let mut frame = Vec::new();
    loop {
        match tokio::time::timeout(TCP_IDLE, read_frame(&mut stream, &mut frame)).await {
            Ok(Ok(())) => {}
            // Idle too long, closed, reset.
            _ => return,
        }
        // A frame too short for a header means the client is not speaking DNS, and nothing
        // after it can be trusted to be framed right.
        if frame.len() < HEADER_LEN {
            return;
        }
        let Some(mut bytes) = reply(&frame, &view, Transport::Tcp) else {
            continue;
        };
        let servers = forward_to(&bytes, &view);
        if !servers.is_empty() {
            if let Some(answer) = forward(&fwd, &frame, &servers).await {
                bytes = answer;
            }
        }
        // After FORMERR the client has been told why; then close, since a peer that sends
        // what does not parse cannot be trusted to frame what follows right.
        let last = bytes
            .get(3)
            .is_some_and(|b| b & 0x0f == ResponseCode::FormErr.low());
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut out = Vec::with_capacity(2 + bytes.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&bytes);
        queries.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(TCP_IDLE, stream.write_all(&out)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
        if last {
            return;
        }
    }
}

async fn read_frame(stream: &mut TcpStream, frame: &mut Vec<u8>) -> io::Result<()> {
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).await?;
    frame.clear();
    frame.resize(usize::from(u16::from_be_bytes(prefix)), 0);
    stream.read_exact(frame).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::time::Instant;

    use hickory_proto::op::{Edns, Query};

    fn records() -> Records {
        let mut r = Records::default();
        r.insert("web", Ipv4Addr::new(172, 18, 0, 2));
        r.insert("Web.", Ipv4Addr::new(172, 18, 0, 3));
        r.insert("web", Ipv4Addr::new(172, 18, 0, 2));
        r.insert("db", Ipv4Addr::new(172, 18, 0, 4));
        r
    }

    fn query_msg(id: u16, name: &str, rtype: RecordType) -> Message {
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(
            Name::from_ascii(name).expect("test name"),
            rtype,
        ));
        m
    }

    fn query(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
        query_msg(id, name, rtype).to_vec().expect("encode query")
    }

    fn a_addrs(m: &Message) -> Vec<Ipv4Addr> {
        m.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect()
    }

    fn ask(q: &[u8], r: &Records) -> Message {
        let bytes = answer(q, r).expect("a response");
        Message::from_vec(&bytes).expect("response parses")
    }

    #[test]
    fn records_are_case_insensitive_and_deduplicated() {
        let r = records();
        let web = vec![Ipv4Addr::new(172, 18, 0, 2), Ipv4Addr::new(172, 18, 0, 3)];
        assert_eq!(r.lookup("web"), web);
        assert_eq!(r.lookup("WEB."), web);
        assert_eq!(r.lookup("nope"), Vec::<Ipv4Addr>::new());
    }

    #[test]
    fn remove_takes_one_address_and_then_the_name() {
        let mut r = records();
        r.remove("WEB.", Ipv4Addr::new(172, 18, 0, 2));
        assert_eq!(r.lookup("web"), [Ipv4Addr::new(172, 18, 0, 3)]);
        r.remove("web", Ipv4Addr::new(172, 18, 0, 9));
        assert_eq!(r.lookup("web"), [Ipv4Addr::new(172, 18, 0, 3)]);
        r.remove("web", Ipv4Addr::new(172, 18, 0, 3));
        assert!(r.lookup("web").is_empty());
        assert!(!r.names.contains_key("web"));
        let m = ask(&query(8, "web", RecordType::AAAA), &r);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    }

    #[test]
    fn a_for_a_known_name_has_every_address() {
        let m = ask(&query(0x1234, "web.", RecordType::A), &records());
        assert_eq!(m.metadata.id, 0x1234);
        assert_eq!(m.metadata.message_type, MessageType::Response);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.recursion_desired && m.metadata.recursion_available);
        assert!(!m.metadata.authoritative && !m.metadata.truncation);
        assert_eq!(m.queries.len(), 1);
        assert_eq!(m.queries[0].name().to_ascii(), "web.");
        assert_eq!(m.queries[0].query_type(), RecordType::A);
        assert_eq!(
            a_addrs(&m),
            [Ipv4Addr::new(172, 18, 0, 2), Ipv4Addr::new(172, 18, 0, 3)]
        );
        assert!(m.answers.iter().all(|r| r.ttl == TTL));
    }

    #[test]
    fn names_match_case_insensitively_with_or_without_the_dot() {
        for name in ["WeB", "wEb.", "DB."] {
            let m = ask(&query(7, name, RecordType::A), &records());
            assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{name}");
            assert!(!a_addrs(&m).is_empty(), "{name}");
            // The owner name echoes the question's spelling (DNS 0x20).
            assert_eq!(m.answers[0].name.to_ascii(), m.queries[0].name().to_ascii());
            assert!(m.answers[0]
                .name
                .to_ascii()
                .starts_with(name.trim_end_matches('.')));
        }
    }

    #[test]
    fn unknown_names_are_nxdomain() {
        for rtype in [RecordType::A, RecordType::AAAA, RecordType::MX] {
            let m = ask(&query(9, "nope.", rtype), &records());
            assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
            assert!(m.answers.is_empty());
            assert!(!m.metadata.authoritative && m.metadata.recursion_available);
            assert_eq!(m.queries.len(), 1);
        }
        // A subdomain of a known name is another name.
        let m = ask(&query(9, "x.web.", RecordType::A), &records());
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    }

    #[test]
    fn other_types_for_a_known_name_are_empty_noerror() {
        for rtype in [RecordType::AAAA, RecordType::TXT, RecordType::MX] {
            let m = ask(&query(11, "web", rtype), &records());
            assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{rtype}");
            assert!(m.answers.is_empty(), "{rtype}");
            assert_eq!(m.queries[0].query_type(), rtype);
        }
    }

    #[test]
    fn malformed_messages_get_formerr_with_their_id() {
        let garbage = [
            0xbe, 0xef, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 7,
        ];
        let bytes = answer(&garbage, &records()).expect("a response");
        assert_eq!(&bytes[..2], &[0xbe, 0xef]);
        assert_eq!(bytes.len(), HEADER_LEN);
        let m = Message::from_vec(&bytes).expect("FORMERR parses");
        assert_eq!(m.metadata.id, 0xbeef);
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
        assert!(m.metadata.recursion_desired && m.metadata.message_type == MessageType::Response);
        assert!(m.queries.is_empty());
    }

    #[test]
    fn truncated_question_is_formerr() {
        let full = query(0x4242, "web.", RecordType::A);
        for cut in HEADER_LEN..full.len() {
            let m = ask(&full[..cut], &records());
            assert_eq!(m.metadata.id, 0x4242, "cut at {cut}");
            assert_eq!(
                m.metadata.response_code,
                ResponseCode::FormErr,
                "cut at {cut}"
            );
            assert!(m.queries.is_empty());
        }
        // The header alone, claiming one question.
        let mut header = [0u8; HEADER_LEN];
        header[..2].copy_from_slice(&[0, 1]);
        header[5] = 1;
        assert_eq!(
            ask(&header, &records()).metadata.response_code,
            ResponseCode::FormErr
        );
    }

    #[test]
    fn short_messages_and_responses_get_nothing() {
        for len in 0..HEADER_LEN {
            assert_eq!(answer(&vec![0; len], &records()), None, "{len} bytes");
        }
        let response = answer(&query(1, "web", RecordType::A), &records()).expect("response");
        assert_eq!(answer(&response, &records()), None);
    }

    #[test]
    fn no_question_is_formerr_and_other_opcodes_notimp() {
        let m = Message::new(5, MessageType::Query, OpCode::Query);
        let r = ask(&m.to_vec().expect("encode"), &records());
        assert_eq!(r.metadata.response_code, ResponseCode::FormErr);

        let mut m = query_msg(6, "web", RecordType::A);
        m.metadata.op_code = OpCode::Status;
        let r = ask(&m.to_vec().expect("encode"), &records());
        assert_eq!(r.metadata.response_code, ResponseCode::NotImp);
        assert_eq!(r.metadata.op_code, OpCode::Status);
        assert!(r.answers.is_empty());
    }

    fn udp_answer(q: &[u8], r: &Records) -> Vec<u8> {
        fit_for_udp(answer(q, r).expect("a response"), q)
    }

    fn big_records(n: u32) -> Records {
        let mut r = Records::default();
        for i in 0..n {
            r.insert("many", Ipv4Addr::from(0x0a00_0000 + i));
        }
        r
    }

    #[test]
    fn long_udp_answers_are_truncated_to_the_question() {
        let r = big_records(100);
        let q = query(77, "many", RecordType::A);

        let full = Message::from_vec(&answer(&q, &r).expect("tcp")).expect("parses");
        assert_eq!(a_addrs(&full).len(), 100);
        assert!(!full.metadata.truncation);

        let bytes = udp_answer(&q, &r);
        assert!(bytes.len() <= UDP_MIN_PAYLOAD);
        let m = Message::from_vec(&bytes).expect("parses");
        assert!(m.metadata.truncation);
        assert!(m.answers.is_empty());
        assert_eq!(m.queries.len(), 1);
        assert_eq!(m.metadata.id, 77);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);

        // Twenty addresses fit in 512 bytes.
        let bytes = udp_answer(&q, &big_records(20));
        let m = Message::from_vec(&bytes).expect("parses");
        assert!(!m.metadata.truncation);
        assert_eq!(a_addrs(&m).len(), 20);
    }

    #[test]
    fn edns_clients_get_the_size_they_advertise() {
        let r = big_records(100);
        let mut m = query_msg(78, "many", RecordType::A);
        let mut edns = Edns::new();
        edns.set_max_payload(4096);
        m.set_edns(edns);
        let bytes = udp_answer(&m.to_vec().expect("encode"), &r);
        assert!(bytes.len() > UDP_MIN_PAYLOAD && bytes.len() <= UDP_MAX_PAYLOAD);
        let m = Message::from_vec(&bytes).expect("parses");
        assert!(!m.metadata.truncation);
        assert_eq!(a_addrs(&m).len(), 100);
    }

    #[test]
    fn answers_beyond_64k_are_truncated_over_tcp() {
        let r = big_records(5000);
        let bytes = answer(&query(79, "many", RecordType::A), &r).expect("response");
        assert!(bytes.len() <= TCP_MAX_MESSAGE);
        let m = Message::from_vec(&bytes).expect("parses");
        assert!(m.metadata.truncation);
        assert!(m.answers.len() < 5000);
    }

    fn shared(r: Records) -> NetworkRecords {
        Arc::new(RwLock::new(r))
    }

    fn on(network: &str, records: &NetworkRecords, links: &[(&str, &str)]) -> SandboxNetwork {
        SandboxNetwork {
            network: network.into(),
            records: records.clone(),
            links: links
                .iter()
                .map(|(a, t)| (a.to_string(), t.to_string()))
                .collect(),
        }
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("test address")
    }

    /// Two networks as Docker 20.10 answered them (checked against the reference engine):
    /// `multi` is on both, `rv1` on rvn only, `o1` on other only.
    fn two_networks() -> (NetworkRecords, NetworkRecords) {
        let mut rvn = Records::default();
        for (name, addr) in [
            ("rv1", "10.33.0.2"),
            ("www", "10.33.0.2"),
            ("multi", "10.33.0.4"),
        ] {
            rvn.insert(name, ip(addr));
        }
        rvn.insert_pointer(ip("10.33.0.2"), "rv1.rvn");
        rvn.insert_pointer(ip("10.33.0.4"), "multi.rvn");
        let mut other = Records::default();
        other.insert("o1", ip("192.168.0.2"));
        other.insert("multi", ip("192.168.0.3"));
        other.insert_pointer(ip("192.168.0.2"), "o1.other");
        other.insert_pointer(ip("192.168.0.3"), "multi.other");
        (shared(rvn), shared(other))
    }

    #[test]
    fn a_sandbox_asks_its_networks_in_order_and_the_first_answers_alone() {
        let (rvn, other) = two_networks();
        let multi = Sandbox {
            networks: vec![on("other", &other, &[]), on("rvn", &rvn, &[])],
            ..Sandbox::default()
        };
        assert_eq!(multi.addresses("multi"), [ip("192.168.0.3")]);
        assert_eq!(multi.addresses("multi.rvn"), [ip("10.33.0.4")]);
        assert_eq!(multi.addresses("rv1"), [ip("10.33.0.2")]);
        assert_eq!(multi.addresses("www.rvn."), [ip("10.33.0.2")]);
        assert_eq!(
            multi.addresses("RV1.rvn"),
            [ip("10.33.0.2")],
            "names in any case"
        );
        assert!(
            multi.addresses("rv1.RVN").is_empty(),
            "network names as Docker has them"
        );
        assert!(multi.addresses("rv1.other").is_empty());
        assert!(multi.addresses("rv1.rvn.example").is_empty());
        // Dots in container and network names (moby's TestUserDefinedNetworkConnectivity):
        // `c1.net1.br.net1` is c1.net1 on network br.net1; a further suffix is nothing.
        let mut r = Records::default();
        r.insert("c1.net1", ip("10.9.0.2"));
        let br = shared(r);
        let dotted = Sandbox {
            networks: vec![on("br.net1", &br, &[])],
            ..Sandbox::default()
        };
        assert_eq!(dotted.addresses("c1.net1"), [ip("10.9.0.2")]);
        assert_eq!(dotted.addresses("c1.net1.br.net1"), [ip("10.9.0.2")]);
        assert!(dotted.addresses("c1.net1.br.net1.google.com").is_empty());
        assert_eq!(multi.pointer(ip("10.33.0.2")).as_deref(), Some("rv1.rvn"));
        assert_eq!(
            multi.pointer(ip("192.168.0.3")).as_deref(),
            Some("multi.other")
        );

        let rv2 = Sandbox {
            networks: vec![on("rvn", &rvn, &[])],
            ..Sandbox::default()
        };
        assert!(rv2.addresses("o1").is_empty(), "a network rv2 is not on");
        assert!(rv2.addresses("o1.other").is_empty());
        assert_eq!(rv2.pointer(ip("192.168.0.2")), None);
        assert_eq!(rv2.addresses("multi"), [ip("10.33.0.4")]);
    }

    #[test]
    fn link_aliases_belong_to_the_linking_container() {
        let mut r = Records::default();
        r.insert("lk3", ip("172.18.0.2"));
        r.insert("dbl", ip("172.18.0.9"));
        let lkn = shared(r);
        let lk4 = Sandbox {
            networks: vec![on("lkn", &lkn, &[("dbl", "lk3"), ("gg", "ghost")])],
            ..Sandbox::default()
        };
        let lk5 = Sandbox {
            networks: vec![on("lkn", &lkn, &[])],
            ..Sandbox::default()
        };
        assert_eq!(
            lk4.addresses("dbl"),
            [ip("172.18.0.2")],
            "the alias hides dbl"
        );
        assert_eq!(lk4.addresses("dbl.lkn"), [ip("172.18.0.2")]);
        assert_eq!(lk5.addresses("dbl"), [ip("172.18.0.9")]);
        assert!(
            lk4.addresses("gg").is_empty(),
            "a missing target resolves nothing"
        );
        // Aliases match as given, as in libnetwork: DBL is the container's name in capitals.
        assert_eq!(lk4.addresses("DBL"), [ip("172.18.0.9")]);
        // Renamed target: the alias follows the name, not the container.
        lkn.write()
            .expect("records")
            .remove("lk3", ip("172.18.0.2"));
        assert!(lk4.addresses("dbl").is_empty());
        // The PTR names are the containers', never an alias.
        assert_eq!(lk4.pointer(ip("172.18.0.2")), None);
    }

    #[test]
    fn ptr_questions_are_answered_with_the_name_dot_network() {
        let (rvn, _) = two_networks();
        let sb = Sandbox {
            networks: vec![on("rvn", &rvn, &[])],
            ..Sandbox::default()
        };
        let m = Message::from_vec(
            &answer(&query(21, "2.0.33.10.in-addr.arpa.", RecordType::PTR), &sb).expect("reply"),
        )
        .expect("parses");
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].ttl, TTL);
        assert_eq!(m.answers[0].name.to_ascii(), "2.0.33.10.in-addr.arpa.");
        match &m.answers[0].data {
            RData::PTR(p) => assert_eq!(p.0.to_ascii(), "rv1.rvn."),
            other => panic!("not a PTR: {other:?}"),
        }
        for unknown in [
            "9.0.33.10.in-addr.arpa.",
            "02.0.33.10.in-addr.arpa.",
            "0.33.10.in-addr.arpa.",
            "x.0.33.10.in-addr.arpa.",
        ] {
            let m = ask(
                &query(22, unknown, RecordType::PTR),
                &rvn.read().expect("r"),
            );
            assert_eq!(
                m.metadata.response_code,
                ResponseCode::NXDomain,
                "{unknown}"
            );
        }
        let m = ask(
            &query(23, "2.0.33.10.IN-ADDR.ARPA.", RecordType::PTR),
            &rvn.read().expect("r"),
        );
        assert_eq!(m.answers.len(), 1, "the suffix in any case");
        // A PTR question for a container's name is a known name without PTR data.
        let m = ask(&query(24, "rv1", RecordType::PTR), &rvn.read().expect("r"));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.answers.is_empty());
    }

    #[test]
    fn reverse_names_round_trip() {
        let a = ip("10.33.0.2");
        assert_eq!(reverse_name(a), "2.0.33.10.in-addr.arpa.");
        let name = Name::from_ascii(reverse_name(a)).expect("name");
        assert_eq!(reverse_address(&name), Some(a));
        let bad = Name::from_ascii("256.0.33.10.in-addr.arpa.").expect("name");
        assert_eq!(reverse_address(&bad), None);
    }

    #[test]
    fn pointers_keep_their_first_name_and_go_with_it() {
        let mut r = Records::default();
        r.insert_pointer(ip("10.0.0.2"), "a.n");
        r.insert_pointer(ip("10.0.0.2"), "b.n");
        assert_eq!(r.pointer(ip("10.0.0.2")).as_deref(), Some("a.n"));
        r.remove_pointer(ip("10.0.0.2"), "a.n");
        assert_eq!(r.pointer(ip("10.0.0.2")).as_deref(), Some("b.n"));
        r.remove_pointer(ip("10.0.0.2"), "b.n");
        assert_eq!(r.pointer(ip("10.0.0.2")), None);
    }

    #[test]
    fn random_garbage_never_panics() {
        let r = records();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let valid = query(3, "web", RecordType::A);
        for _ in 0..20_000 {
            let len = (rng.next() % 300) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = answer(&bytes, &r);
            // Valid messages with a few bytes flipped reach deeper into the parser.
            bytes = valid.clone();
            for _ in 0..3 {
                let i = (rng.next() as usize) % bytes.len();
                bytes[i] = rng.next() as u8;
            }
            let _ = answer(&bytes, &r);
        }
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    // ---- live: a real server in a fresh namespace ------------------------------------------

    /// A namespace fresh from `netns::create_with`, or None when this test process may not
    /// make one (not root, or root without CAP_SYS_ADMIN in a container).
    /// The runtime a live server runs on, and records to serve.
    fn runtime_and_view() -> (tokio::runtime::Runtime, Arc<RwLock<Records>>) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        (rt, Arc::new(RwLock::new(records())))
    }

    fn fresh_namespace() -> Option<std::os::fd::OwnedFd> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping live DNS test: not running as root");
            return None;
        }
        match netns::create_with(|| Ok(())) {
            Ok((ns, ())) => Some(ns),
            Err(e) => {
                eprintln!("skipping live DNS test: cannot create a network namespace: {e}");
                None
            }
        }
    }

    fn udp_client(ns: BorrowedFd<'_>) -> std::net::UdpSocket {
        let sock = netns::run_in(ns, || std::net::UdpSocket::bind("127.0.0.1:0"))
            .expect("client socket in the namespace");
        sock.set_read_timeout(Some(Duration::from_secs(1)))
            .expect("timeout");
        sock
    }

    fn tcp_client(ns: BorrowedFd<'_>) -> std::net::TcpStream {
        let stream = netns::run_in(ns, || std::net::TcpStream::connect(dns_socket_addr()))
            .expect("connect inside the namespace");
        // Generous: it only bounds a hang (a server that neither answers nor closes).
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        stream
    }

    /// Sends `q` and waits for the response with `id`, skipping responses to earlier junk.
    /// Asks again every 200 ms, as resolvers do: a datagram sent while a stopped server's
    /// socket is still being dropped may land in that socket.
    fn udp_exchange(sock: &std::net::UdpSocket, q: &[u8], id: u16) -> Message {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        // Generous: the deadline only bounds a hang on a loaded machine.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            sock.send_to(q, dns_socket_addr()).expect("send");
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            assert_eq!(from, dns_socket_addr());
            let Ok(m) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            if m.metadata.id == id {
                return m;
            }
        }
        panic!("no response with id {id}");
    }

    fn tcp_send(stream: &mut std::net::TcpStream, q: &[u8]) {
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(q);
        stream.write_all(&framed).expect("tcp write");
    }

    fn tcp_receive(stream: &mut std::net::TcpStream) -> Message {
        let mut prefix = [0u8; 2];
        stream.read_exact(&mut prefix).expect("length prefix");
        let mut body = vec![0; usize::from(u16::from_be_bytes(prefix))];
        stream.read_exact(&mut body).expect("message");
        Message::from_vec(&body).expect("response parses")
    }

    /// True once the server has closed `stream` (EOF or reset), false on a timeout.
    fn closed_by_server(stream: &mut std::net::TcpStream) -> bool {
        let mut buf = [0u8; 512];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }

    #[test]
    fn live_forwarding_to_an_upstream_in_the_namespace() {
        let Some(ns) = fresh_namespace() else { return };
        crate::kernel::netns::test_loopback_up(ns.as_fd()).expect("bring lo up");
        // An upstream server in the same namespace: answers every question with 10.7.7.7.
        let upstream = netns::run_in(ns.as_fd(), || std::net::UdpSocket::bind("127.0.0.1:0"))
            .expect("upstream socket");
        let up_addr = upstream.local_addr().expect("addr");
        let (rt, _) = runtime_and_view();
        let view = Arc::new(RwLock::new(Sandbox {
            external: vec![up_addr],
            ..Sandbox::default()
        }));
        let server = DnsServer::start(rt.handle(), ns.as_fd(), view.clone()).expect("start");
        let answering = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, from) = upstream.recv_from(&mut buf).expect("question");
            let q = Message::from_vec(&buf[..n]).expect("question parses");
            let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            r.add_queries(q.queries.iter().cloned());
            r.add_answer(Record::from_rdata(
                q.queries[0].name().clone(),
                60,
                RData::A(A(Ipv4Addr::new(10, 7, 7, 7))),
            ));
            upstream
                .send_to(&r.to_vec().expect("encode"), from)
                .expect("answer");
            // The question left from the namespace: its source is one of its addresses.
            from
        });
        let udp = udp_client(ns.as_fd());
        let m = udp_exchange(&udp, &query(300, "elsewhere.example", RecordType::A), 300);
        assert_eq!(a_addrs(&m), [Ipv4Addr::new(10, 7, 7, 7)]);
        assert!(answering.join().expect("upstream").ip().is_loopback());
        // The upstream is gone (its port closed): SERVFAIL, at once.
        let started = Instant::now();
        let m = udp_exchange(&udp, &query(301, "elsewhere.example", RecordType::A), 301);
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
        assert!(
            started.elapsed() < FORWARD_TIMEOUT,
            "an ICMP error ends the wait"
        );
        drop(server);
    }

    #[test]
    fn live_server_in_a_namespace() {
        let Some(ns) = fresh_namespace() else { return };
        crate::kernel::netns::test_loopback_up(ns.as_fd()).expect("bring lo up");
        let (rt, view) = runtime_and_view();
        let server = DnsServer::start(rt.handle(), ns.as_fd(), view.clone()).expect("start");

        let udp = udp_client(ns.as_fd());
        let m = udp_exchange(&udp, &query(100, "web", RecordType::A), 100);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(
            a_addrs(&m),
            [Ipv4Addr::new(172, 18, 0, 2), Ipv4Addr::new(172, 18, 0, 3)]
        );

        // NXDOMAIN at once (nothing is forwarded): the answer to the first ask, id 101.
        let m = udp_exchange(&udp, &query(101, "nope", RecordType::A), 101);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);

        // Junk: 50 random datagrams, one too short for a header, one over 512 bytes, one
        // over the 4096-byte buffer.
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        for _ in 0..50 {
            let len = 1 + (rng.next() % 600) as usize;
            let junk: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            udp.send_to(&junk, dns_socket_addr()).expect("send junk");
        }
        udp.send_to(&[1, 2, 3], dns_socket_addr())
            .expect("send 3 bytes");
        let mut big = vec![0xa5u8; 3000];
        big[..4].copy_from_slice(&[0x77, 0x77, 0x01, 0x00]);
        let m = udp_exchange(&udp, &big, 0x7777);
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
        let mut huge = query(0x7778, "web", RecordType::A);
        huge.resize(5000, 0);
        let m = udp_exchange(&udp, &huge, 0x7778);
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);

        let m = udp_exchange(&udp, &query(102, "db", RecordType::A), 102);
        assert_eq!(a_addrs(&m), [Ipv4Addr::new(172, 18, 0, 4)]);

        // TCP: two queries on one connection, written back to back.
        let mut tcp = tcp_client(ns.as_fd());
        let mut both = Vec::new();
        for (id, name) in [(200u16, "web"), (201, "nope")] {
            let q = query(id, name, RecordType::A);
            both.extend_from_slice(&(q.len() as u16).to_be_bytes());
            both.extend_from_slice(&q);
        }
        tcp.write_all(&both).expect("tcp write");
        let m = tcp_receive(&mut tcp);
        assert_eq!((m.metadata.id, a_addrs(&m).len()), (200, 2));
        let m = tcp_receive(&mut tcp);
        assert_eq!(m.metadata.id, 201);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        // Over UDP this would be truncated; TCP carries it whole.
        view.write()
            .expect("view")
            .names
            .extend(big_records(100).names);
        tcp_send(&mut tcp, &query(202, "many", RecordType::A));
        let m = tcp_receive(&mut tcp);
        assert_eq!(a_addrs(&m).len(), 100);
        let m = udp_exchange(&udp, &query(103, "many", RecordType::A), 103);
        assert!(m.metadata.truncation && m.answers.is_empty());

        // Garbage on TCP closes that connection only: a frame too short for a header, and a
        // frame that does not parse (FORMERR first).
        let mut bad = tcp_client(ns.as_fd());
        tcp_send(&mut bad, &[1, 2, 3]);
        assert!(closed_by_server(&mut bad));
        let mut bad = tcp_client(ns.as_fd());
        let mut junk = vec![0x55u8; 40];
        junk[..4].copy_from_slice(&[0x12, 0x34, 0x00, 0x00]);
        tcp_send(&mut bad, &junk);
        let m = tcp_receive(&mut bad);
        assert_eq!(
            (m.metadata.id, m.metadata.response_code),
            (0x1234, ResponseCode::FormErr)
        );
        assert!(closed_by_server(&mut bad));
        tcp_send(&mut tcp, &query(203, "db", RecordType::A));
        assert_eq!(a_addrs(&tcp_receive(&mut tcp)).len(), 1);
        let mut fresh = tcp_client(ns.as_fd());
        tcp_send(&mut fresh, &query(204, "web", RecordType::A));
        assert_eq!(a_addrs(&tcp_receive(&mut fresh)).len(), 2);

        // The lab replaces the records; the next query sees them.
        let mut next = records();
        next.insert("cache", Ipv4Addr::new(172, 18, 0, 9));
        *view.write().expect("view") = next;
        let m = udp_exchange(&udp, &query(104, "CACHE.", RecordType::A), 104);
        assert_eq!(a_addrs(&m), [Ipv4Addr::new(172, 18, 0, 9)]);
        let m = udp_exchange(&udp, &query(105, "many", RecordType::A), 105);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);

        assert!(server.queries() >= 15, "{}", server.queries());

        // Connections over the cap are closed at once; the others keep working. `tcp` and
        // `fresh` are two of them (dropping them instead would race the server noticing).
        let mut held = vec![tcp, fresh];
        held.extend((2..TCP_MAX_CONNECTIONS).map(|_| tcp_client(ns.as_fd())));
        let last = held.last_mut().expect("held connections");
        // The accept loop has seen every held connection once this one is answered.
        tcp_send(last, &query(300, "web", RecordType::A));
        assert_eq!(tcp_receive(last).metadata.id, 300);
        let mut over = tcp_client(ns.as_fd());
        assert!(closed_by_server(&mut over));

        // Stopping and starting again in the same namespace works at once, UDP and TCP, and
        // the old server's connections are gone with it.
        drop(server);
        for stream in &mut held {
            assert!(closed_by_server(stream));
        }
        let server = DnsServer::start(rt.handle(), ns.as_fd(), view.clone()).expect("restart");
        let mut tcp = tcp_client(ns.as_fd());
        tcp_send(&mut tcp, &query(400, "cache", RecordType::A));
        assert_eq!(a_addrs(&tcp_receive(&mut tcp)).len(), 1);
        let m = udp_exchange(&udp, &query(401, "cache", RecordType::A), 401);
        assert_eq!(a_addrs(&m).len(), 1);
        assert!(server.queries() >= 2, "{}", server.queries());
    }

    #[test]
    fn live_start_needs_lo_up() {
        let Some(ns) = fresh_namespace() else { return };
        let (rt, view) = runtime_and_view();
        let err = DnsServer::start(rt.handle(), ns.as_fd(), view.clone())
            .err()
            .expect("lo is down");
        assert!(err.to_string().contains("is lo up?"), "{err}");

        crate::kernel::netns::test_loopback_up(ns.as_fd()).expect("bring lo up");
        let server = DnsServer::start(rt.handle(), ns.as_fd(), view).expect("start");
        let udp = udp_client(ns.as_fd());
        let m = udp_exchange(&udp, &query(1, "db", RecordType::A), 1);
        assert_eq!(a_addrs(&m), [Ipv4Addr::new(172, 18, 0, 4)]);
        assert_eq!(server.queries(), 1);
    }

    #[test]
    fn live_restart_at_once() {
        let Some(ns) = fresh_namespace() else { return };
        crate::kernel::netns::test_loopback_up(ns.as_fd()).expect("bring lo up");
        let (rt, view) = runtime_and_view();
        for round in 0..50 {
            let server = DnsServer::start(rt.handle(), ns.as_fd(), view.clone())
                .unwrap_or_else(|e| panic!("start #{round}: {e}"));
            drop(server);
        }
        let _server = DnsServer::start(rt.handle(), ns.as_fd(), view).expect("last start");
        let mut tcp = tcp_client(ns.as_fd());
        tcp_send(&mut tcp, &query(1, "web", RecordType::A));
        assert_eq!(a_addrs(&tcp_receive(&mut tcp)).len(), 2);
        let udp = udp_client(ns.as_fd());
        let m = udp_exchange(&udp, &query(2, "web", RecordType::A), 2);
        assert_eq!(a_addrs(&m).len(), 2);
    }
}
