//! In-process ICMP echo ("ping") over raw sockets.
//!
//! The socket is created on a thread that has entered the target namespace and is then used
//! from the calling thread: a socket belongs to the namespace it was created in for its whole
//! life, whichever thread later reads or writes it.
//!
//! Raw sockets (rather than the unprivileged `SOCK_DGRAM` "ping sockets") are used because
//! netsh holds `CAP_NET_RAW` in its namespaces and `net.ipv4.ping_group_range` is "1 0" (no
//! one) by default in every new namespace. The price is that a raw ICMP socket is handed a copy
//! of *every* ICMP message the namespace receives, so replies are matched by hand.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvfrom, SockaddrStorage};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::kernel::netns::run_in;

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_TIME_EXCEEDED: u8 = 11;
const ICMP6_DEST_UNREACH: u8 = 1;
const ICMP6_TIME_EXCEEDED: u8 = 3;
const ICMP6_ECHO_REQUEST: u8 = 128;
const ICMP6_ECHO_REPLY: u8 = 129;

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;

const ICMP_HEADER_LEN: usize = 8;
const IPV4_MIN_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
/// Same payload size as ping(8): 56 bytes, 64 with the ICMP header.
const PAYLOAD_LEN: usize = 56;
/// Big enough for any ICMP error (RFC 1812 caps v4 errors at 576 bytes, RFC 4443 caps v6
/// errors at the 1280-byte minimum MTU); larger foreign packets are truncated by the kernel,
/// which is harmless because only their headers are looked at.
const RECV_BUF_LEN: usize = 2048;
/// Stand-in for "never" when a caller passes an absurd duration.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How many echo requests to send and how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingOptions {
    /// Number of echo requests.
    pub count: u32,
    /// How long to wait for outstanding replies after the last request was sent.
    pub timeout: Duration,
    /// Spacing between consecutive requests.
    pub interval: Duration,
    /// End the run when the first request cannot leave (no route, `lo` down), as iputils
    /// does when its `connect()` fails, instead of trying the others.
    pub fail_fast: bool,
}

impl Default for PingOptions {
    fn default() -> Self {
        PingOptions {
            count: 1,
            timeout: Duration::from_secs(1),
            interval: Duration::from_millis(200),
            fail_fast: false,
        }
    }
}

/// The outcome of one [`ping`] run.
#[derive(Debug, Clone)]
pub struct PingReport {
    pub target: IpAddr,
    /// Requests attempted, including those `sendto` refused.
    pub sent: u32,
    /// Distinct sequence numbers answered by `target`.
    pub received: u32,
    /// One per reply received, in arrival order.
    pub rtts: Vec<Duration>,
    /// The first problem seen: a `sendto` failure ("network is unreachable") or an ICMP error
    /// about one of our requests ("destination host unreachable (reported by 10.0.0.1)").
    pub error: Option<String>,
    /// One per reply received, in arrival order, with what ping(8) prints of it.
    pub replies: Vec<EchoReply>,
    /// One per ICMP error about one of our requests, in arrival order: (sequence, message
    /// as in [`PingReport::error`]).
    pub problems: Vec<(u16, String)>,
}

/// One echo reply as ping(8) prints it: `64 bytes from …: icmp_seq=1 ttl=64 time=0.045 ms`.
#[derive(Debug, Clone)]
pub struct EchoReply {
    pub seq: u16,
    /// ICMP bytes received (header and payload).
    pub bytes: usize,
    /// The IPv4 header's TTL; `None` for ICMPv6 (a raw ICMPv6 socket strips the header).
    pub ttl: Option<u8>,
    pub rtt: Duration,
}

impl PingReport {
    /// An empty report for `target`: nothing sent yet.
    pub fn new(target: IpAddr) -> Self {
        PingReport {
            target,
            sent: 0,
            received: 0,
            rtts: Vec::new(),
            error: None,
            replies: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// True when at least one reply came back.
    pub fn ok(&self) -> bool {
        self.received > 0
    }

    /// Percentage of requests left unanswered, 100 when nothing was sent.
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            return 100.0;
        }
        let lost = self.sent.saturating_sub(self.received);
        f64::from(lost) * 100.0 / f64::from(self.sent)
    }

    pub fn min(&self) -> Option<Duration> {
        self.rtts.iter().min().copied()
    }

    pub fn max(&self) -> Option<Duration> {
        self.rtts.iter().max().copied()
    }

    pub fn avg(&self) -> Option<Duration> {
        let n = u32::try_from(self.rtts.len()).ok().filter(|&n| n > 0)?;
        Some(self.rtts.iter().sum::<Duration>() / n)
    }

    /// A one-line summary in the style of ping(8)'s statistics.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} packets transmitted, {} received, {}% packet loss",
            self.sent,
            self.received,
            format_percent(self.loss_percent())
        );
        if let (Some(min), Some(avg), Some(max)) = (self.min(), self.avg(), self.max()) {
            s.push_str(&format!(
                ", rtt min/avg/max = {:.3}/{:.3}/{:.3} ms",
                millis(min),
                millis(avg),
                millis(max)
            ));
        }
        if let Some(err) = &self.error {
            s.push_str(", error: ");
            s.push_str(err);
        }
        s
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// "0", "100", "33.3": whole percentages without a fraction, others with one decimal.
fn format_percent(p: f64) -> String {
    let s = format!("{p:.1}");
    match s.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => s,
    }
}

/// `opts` shortened to end within `left` (a script's deadline): the requests that fit, then
/// what is left of the wait; `true` when it had to be shortened.
pub fn fit(opts: &PingOptions, left: Duration) -> (PingOptions, bool) {
    let sending = opts.interval.saturating_mul(opts.count.saturating_sub(1));
    if sending.saturating_add(opts.timeout) <= left {
        return (*opts, false);
    }
    let fits = match opts.interval.as_nanos() {
        0 => opts.count,
        step => u32::try_from(left.as_nanos() / step)
            .unwrap_or(u32::MAX)
            .saturating_add(1),
    };
    let count = fits.clamp(1, opts.count);
    let last = opts.interval.saturating_mul(count - 1);
    let cut = PingOptions {
        count,
        timeout: left.saturating_sub(last).min(opts.timeout),
        interval: opts.interval,
        fail_fast: opts.fail_fast,
    };
    (cut, true)
}

/// What happens during a run, as it happens (the REPL prints ping's lines as they come).
pub enum Event<'a> {
    /// An echo request left.
    Sent,
    Reply(&'a EchoReply),
    /// An ICMP error about request `seq`, in the words of [`PingReport::error`].
    Problem(u16, &'a str),
}

/// Pings `target` from inside the network namespace `ns`, telling `observe` of each request
/// sent and each answer as it comes.
///
/// Sends `opts.count` echo requests `opts.interval` apart, then waits at most `opts.timeout`
/// for the replies still outstanding, returning as soon as none are. Per-packet failures
/// (`sendto` errors, ICMP errors) end up in the report; only failing to create or configure
/// the socket is an `Err`.
pub fn ping_observed(
    ns: BorrowedFd<'_>,
    target: IpAddr,
    opts: &PingOptions,
    observe: &mut dyn FnMut(Event<'_>),
) -> io::Result<PingReport> {
    let (domain, protocol) = match target {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let socket = run_in(ns, move || Socket::new(domain, Type::RAW, Some(protocol)))?;
    // Readiness comes from poll(2); a non-blocking socket means a spurious wake-up (or a
    // packet another reader already took) cannot park us in recvfrom past the deadline.
    socket.set_nonblocking(true)?;
    let mut session = Session {
        dest: SockAddr::from(SocketAddr::new(target, 0)),
        socket,
        target,
        id: next_identifier(),
        in_flight: HashMap::new(),
        report: PingReport::new(target),
        observe,
    };
    session.run(opts);
    Ok(session.report)
}

/// A fresh ICMP identifier per call. Raw sockets, unlike ping sockets, do not get an
/// identifier from the kernel, and every raw ICMP socket in the namespace sees every reply, so
/// concurrent pings (in this process or another) must not share one. The per-process base is
/// mixed from the pid and the clock; the counter keeps calls within the process distinct.
fn next_identifier() -> u16 {
    static BASE: OnceLock<u16> = OnceLock::new();
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let base = *BASE.get_or_init(|| {
        let pid = std::process::id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mixed = pid.wrapping_mul(0x9E37_79B9) ^ nanos ^ (nanos >> 16) ^ (pid >> 16);
        (mixed ^ (mixed >> 16)) as u16
    });
    base.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed))
}

struct Session<'o> {
    observe: &'o mut dyn FnMut(Event<'_>),
    socket: Socket,
    target: IpAddr,
    dest: SockAddr,
    id: u16,
    /// Send time of every request that left and is still unanswered, by sequence number.
    in_flight: HashMap<u16, Instant>,
    report: PingReport,
}

impl Session<'_> {
    fn run(&mut self, opts: &PingOptions) {
        let start = Instant::now();
        let mut last_send = start;
        for i in 0..opts.count {
            if i > 0 {
                // Scheduled from the start rather than from the previous send, so slow
                // sendto calls do not stretch the run.
                let at = after(start, opts.interval.saturating_mul(i));
                if !self.receive_until(at, false) {
                    return;
                }
                last_send = Instant::now();
            }
            // ping(8) numbers from 1; the field is 16 bits wide and simply wraps.
            if !self.send(i.wrapping_add(1) as u16) && i == 0 && opts.fail_fast {
                return;
            }
        }
        if opts.count > 0 {
            self.receive_until(after(last_send, opts.timeout), true);
        }
    }

    /// Sends request `seq`; false when the kernel refused it.
    fn send(&mut self, seq: u16) -> bool {
        let packet = echo_request(self.target.is_ipv6(), self.id, seq);
        self.report.sent += 1;
        loop {
            let sent_at = Instant::now();
            match self.socket.send_to(&packet, &self.dest) {
                Ok(_) => {
                    self.in_flight.insert(seq, sent_at);
                    (self.observe)(Event::Sent);
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.note_error(describe_io_error(&e));
                    return false;
                }
            }
        }
    }

    /// Handles incoming packets until `until`, or (with `stop_when_answered`) until nothing is
    /// in flight. Returns false when the socket failed and the run should end.
    fn receive_until(&mut self, until: Instant, stop_when_answered: bool) -> bool {
        let mut buf = [0u8; RECV_BUF_LEN];
        loop {
            if stop_when_answered && self.in_flight.is_empty() {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            // Ctrl-C in the REPL ends the run with what it has (see crate::interrupt).
            if crate::interrupt::requested() {
                return false;
            }
            // poll(2) takes whole milliseconds; rounding up overshoots the deadline by less
            // than 1 ms, rounding down would spin on a zero timeout for the last fraction.
            let wait_ms = (until - now)
                .min(crate::interrupt::SLICE)
                .as_nanos()
                .div_ceil(1_000_000);
            let timeout = PollTimeout::try_from(wait_ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => {
                    self.note_error(describe_errno(e));
                    return false;
                }
            }
            match recvfrom::<SockaddrStorage>(self.socket.as_raw_fd(), &mut buf) {
                Ok((len, from)) => {
                    let arrived = Instant::now();
                    let from = from.and_then(|a| sockaddr_ip(&a));
                    self.handle(&buf[..len.min(buf.len())], from, arrived);
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => {
                    self.note_error(describe_errno(e));
                    return false;
                }
            }
        }
    }

    fn handle(&mut self, packet: &[u8], from: Option<IpAddr>, arrived: Instant) {
        let reply = match self.target {
            IpAddr::V4(target) => parse_v4(packet, target, self.id),
            IpAddr::V6(target) => match from {
                Some(IpAddr::V6(from)) => parse_v6(packet, from, target, self.id),
                _ => None,
            },
        };
        let Some(reply) = reply else { return };
        let (Reply::Echo { seq } | Reply::Error { seq, .. }) = reply;
        // Duplicates, and answers to sequences already answered or reported, find nothing
        // in flight and are dropped.
        let Some(sent_at) = self.in_flight.remove(&seq) else {
            return;
        };
        match reply {
            Reply::Echo { seq } => {
                let rtt = arrived.saturating_duration_since(sent_at);
                self.report.received += 1;
                self.report.rtts.push(rtt);
                // A raw IPv4 socket delivers the IP header: TTL is its 9th byte.
                let (ttl, bytes) = match self.target {
                    IpAddr::V4(_) => {
                        let ihl = usize::from(packet[0] & 0x0f) * 4;
                        (packet.get(8).copied(), packet.len().saturating_sub(ihl))
                    }
                    IpAddr::V6(_) => (None, packet.len()),
                };
                let reply = EchoReply {
                    seq,
                    bytes,
                    ttl,
                    rtt,
                };
                (self.observe)(Event::Reply(&reply));
                self.report.replies.push(reply);
            }
            Reply::Error { seq, message } => {
                (self.observe)(Event::Problem(seq, &message));
                self.report.problems.push((seq, message.clone()));
                self.note_error(message)
            }
        }
    }

    fn note_error(&mut self, message: String) {
        if self.report.error.is_none() {
            self.report.error = Some(message);
        }
    }
}

fn after(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(FOREVER))
        .unwrap_or(t)
}

fn sockaddr_ip(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v6) = addr.as_sockaddr_in6() {
        return Some(IpAddr::V6(v6.ip()));
    }
    addr.as_sockaddr_in().map(|v4| IpAddr::V4(v4.ip()))
}

/// "network is unreachable" rather than "Network is unreachable (os error 101)".
fn describe_io_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => describe_errno(Errno::from_raw(code)),
        None => e.to_string(),
    }
}

fn describe_errno(e: Errno) -> String {
    e.desc().to_lowercase()
}

/// What a received packet means to the ping identified by `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    /// An echo reply from the target for sequence `seq`.
    Echo { seq: u16 },
    /// An ICMP error quoting our echo request `seq`.
    Error { seq: u16, message: String },
}

/// RFC 1071 Internet checksum: ones' complement of the ones' complement sum of the data as
/// big-endian 16-bit words, an odd trailing byte padded with zero.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP (v4) or ICMPv6 echo request: type, code 0, checksum, identifier, sequence, then
/// 56 bytes of payload. For ICMPv6 the checksum stays zero: it covers a pseudo-header with
/// the source address, which only the kernel knows, and RFC 3542 §3.1 has the kernel fill it
/// in for raw ICMPv6 sockets.
fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![0u8; ICMP_HEADER_LEN + PAYLOAD_LEN];
    p[0] = if v6 {
        ICMP6_ECHO_REQUEST
    } else {
        ICMP_ECHO_REQUEST
    };
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    // ping(8)'s fill pattern: payload byte i is i, after 8 bytes that it uses for a timestamp.
    for (i, b) in p[ICMP_HEADER_LEN..].iter_mut().enumerate().skip(8) {
        *b = i as u8;
    }
    if !v6 {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// Splits an IPv4 packet carrying `protocol` into (source, destination, payload).
fn split_ipv4(packet: &[u8], protocol: u8) -> Option<(Ipv4Addr, Ipv4Addr, &[u8])> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    // IHL counts 32-bit words and may include options.
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < IPV4_MIN_HEADER_LEN || packet.len() < ihl || packet[9] != protocol {
        return None;
    }
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    Some((src, dst, &packet[ihl..]))
}

/// Identifier and sequence of an ICMP/ICMPv6 header (same layout in both).
fn id_seq(icmp: &[u8]) -> Option<(u16, u16)> {
    let b = icmp.get(4..8)?;
    Some((
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    ))
}

/// Interprets what a raw IPv4 ICMP socket delivered: the whole IP packet, header included.
fn parse_v4(packet: &[u8], target: Ipv4Addr, id: u16) -> Option<Reply> {
    let (src, _, icmp) = split_ipv4(packet, IPPROTO_ICMP)?;
    if icmp.len() < ICMP_HEADER_LEN {
        return None;
    }
    let (kind, code) = (icmp[0], icmp[1]);
    match kind {
        ICMP_ECHO_REPLY if code == 0 => {
            let (reply_id, seq) = id_seq(icmp)?;
            (src == target && reply_id == id).then_some(Reply::Echo { seq })
        }
        ICMP_DEST_UNREACH | ICMP_TIME_EXCEEDED => {
            // RFC 792: an error quotes the offending datagram's IP header plus at least its
            // first 64 bits of payload, which for our request is the whole ICMP header.
            let (_, orig_dst, orig) = split_ipv4(&icmp[ICMP_HEADER_LEN..], IPPROTO_ICMP)?;
            let (orig_id, seq) = id_seq(orig)?;
            if orig_dst != target || orig[0] != ICMP_ECHO_REQUEST || orig_id != id {
                return None;
            }
            let message = format!("{} (reported by {src})", icmp4_error_text(kind, code));
            Some(Reply::Error { seq, message })
        }
        // Our own requests show up here too when the target is a local address.
        _ => None,
    }
}

/// Interprets what a raw ICMPv6 socket delivered: the ICMPv6 message alone, the IPv6 header
/// stripped (RFC 3542 §3), so the sender comes from recvfrom's address.
fn parse_v6(msg: &[u8], from: Ipv6Addr, target: Ipv6Addr, id: u16) -> Option<Reply> {
    if msg.len() < ICMP_HEADER_LEN {
        return None;
    }
    let (kind, code) = (msg[0], msg[1]);
    match kind {
        ICMP6_ECHO_REPLY if code == 0 => {
            let (reply_id, seq) = id_seq(msg)?;
            (from == target && reply_id == id).then_some(Reply::Echo { seq })
        }
        ICMP6_DEST_UNREACH | ICMP6_TIME_EXCEEDED => {
            // RFC 4443: the error quotes as much of the offending packet as fits in 1280
            // bytes, starting with its fixed IPv6 header. Our requests carry no extension
            // headers, so the ICMPv6 header follows directly.
            let orig = &msg[ICMP_HEADER_LEN..];
            if orig.len() < IPV6_HEADER_LEN + ICMP_HEADER_LEN
                || orig[0] >> 4 != 6
                || orig[6] != IPPROTO_ICMPV6
            {
                return None;
            }
            let mut dst = [0u8; 16];
            dst.copy_from_slice(&orig[24..40]);
            let orig_icmp = &orig[IPV6_HEADER_LEN..];
            let (orig_id, seq) = id_seq(orig_icmp)?;
            if Ipv6Addr::from(dst) != target || orig_icmp[0] != ICMP6_ECHO_REQUEST || orig_id != id
            {
                return None;
            }
            let message = format!("{} (reported by {from})", icmp6_error_text(kind, code));
            Some(Reply::Error { seq, message })
        }
        _ => None,
    }
}

/// RFC 792 / RFC 1812 names for ICMP destination-unreachable and time-exceeded codes.
fn icmp4_error_text(kind: u8, code: u8) -> String {
    let text = match (kind, code) {
        (ICMP_DEST_UNREACH, 0) => "destination net unreachable",
        (ICMP_DEST_UNREACH, 1) => "destination host unreachable",
        (ICMP_DEST_UNREACH, 2) => "destination protocol unreachable",
        (ICMP_DEST_UNREACH, 3) => "destination port unreachable",
        (ICMP_DEST_UNREACH, 4) => "fragmentation needed",
        (ICMP_DEST_UNREACH, 5) => "source route failed",
        (ICMP_DEST_UNREACH, 6) => "destination net unknown",
        (ICMP_DEST_UNREACH, 7) => "destination host unknown",
        (ICMP_DEST_UNREACH, 8) => "source host isolated",
        (ICMP_DEST_UNREACH, 9) => "destination net prohibited",
        (ICMP_DEST_UNREACH, 10) => "destination host prohibited",
        (ICMP_DEST_UNREACH, 11) => "destination net unreachable for type of service",
        (ICMP_DEST_UNREACH, 12) => "destination host unreachable for type of service",
        (ICMP_DEST_UNREACH, 13) => "communication administratively prohibited",
        (ICMP_DEST_UNREACH, 14) => "host precedence violation",
        (ICMP_DEST_UNREACH, 15) => "precedence cutoff in effect",
        (ICMP_DEST_UNREACH, _) => return format!("destination unreachable (code {code})"),
        (ICMP_TIME_EXCEEDED, 0) => "time to live exceeded",
        (ICMP_TIME_EXCEEDED, 1) => "fragment reassembly time exceeded",
        _ => return format!("icmp error type {kind} code {code}"),
    };
    text.to_string()
}

/// RFC 4443 names for ICMPv6 destination-unreachable and time-exceeded codes.
fn icmp6_error_text(kind: u8, code: u8) -> String {
    let text = match (kind, code) {
        (ICMP6_DEST_UNREACH, 0) => "no route to destination",
        (ICMP6_DEST_UNREACH, 1) => "communication with destination administratively prohibited",
        (ICMP6_DEST_UNREACH, 2) => "beyond scope of source address",
        (ICMP6_DEST_UNREACH, 3) => "address unreachable",
        (ICMP6_DEST_UNREACH, 4) => "port unreachable",
        (ICMP6_DEST_UNREACH, 5) => "source address failed ingress/egress policy",
        (ICMP6_DEST_UNREACH, 6) => "reject route to destination",
        (ICMP6_DEST_UNREACH, _) => return format!("destination unreachable (code {code})"),
        (ICMP6_TIME_EXCEEDED, 0) => "hop limit exceeded in transit",
        (ICMP6_TIME_EXCEEDED, 1) => "fragment reassembly time exceeded",
        _ => return format!("icmpv6 error type {kind} code {code}"),
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: u16 = 0xbeef;

    fn ping(ns: BorrowedFd<'_>, target: IpAddr, opts: &PingOptions) -> io::Result<PingReport> {
        ping_observed(ns, target, opts, &mut |_| {})
    }

    /// A minimal IPv4 header (IHL 5, or more with `options` words) around `payload`.
    fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, options: usize, payload: &[u8]) -> Vec<u8> {
        let ihl = 5 + options;
        let mut p = vec![0u8; ihl * 4];
        p[0] = 0x40 | ihl as u8;
        let total = (p.len() + payload.len()) as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p[8] = 64;
        p[9] = IPPROTO_ICMP;
        p[12..16].copy_from_slice(&src.octets());
        p[16..20].copy_from_slice(&dst.octets());
        let sum = checksum(&p);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, payload_len: usize) -> Vec<u8> {
        let mut p = vec![0u8; IPV6_HEADER_LEN];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
        p[6] = IPPROTO_ICMPV6;
        p[7] = 64;
        p[8..24].copy_from_slice(&src.octets());
        p[24..40].copy_from_slice(&dst.octets());
        p
    }

    /// The echo reply a kernel would send for `request`.
    fn v4_reply_to(request: &[u8]) -> Vec<u8> {
        let mut r = request.to_vec();
        r[0] = ICMP_ECHO_REPLY;
        r[2..4].fill(0);
        let sum = checksum(&r);
        r[2..4].copy_from_slice(&sum.to_be_bytes());
        r
    }

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3 worked example: the sum is 0xddf2, so the checksum is its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn checksum_pads_odd_length_and_verifies_to_zero() {
        assert_eq!(checksum(&[0xab]), !0xab00);
        assert_eq!(checksum(&[]), 0xffff);
        let mut packet = vec![0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01, 0x99];
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
        // A packet carrying its own checksum sums to all ones, i.e. checksums to zero.
        assert_eq!(checksum(&packet), 0);
    }

    #[test]
    fn checksum_folds_carries() {
        assert_eq!(checksum(&[0xff, 0xff, 0xff, 0xff, 0x00, 0x02]), !0x0002);
    }

    #[test]
    fn v4_echo_request_bytes() {
        let p = echo_request(false, 0x1234, 0x0102);
        assert_eq!(p.len(), 64);
        assert_eq!(&p[..2], &[ICMP_ECHO_REQUEST, 0]);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0x01, 0x02]);
        assert_eq!(&p[8..16], &[0; 8]);
        // Payload byte i is i from the 9th payload byte on.
        assert_eq!(p[16], 8);
        assert_eq!(p[63], 55);
        assert_eq!(
            checksum(&p),
            0,
            "checksum field must make the packet verify"
        );
        let mut zeroed = p.clone();
        zeroed[2..4].fill(0);
        assert_eq!(u16::from_be_bytes([p[2], p[3]]), checksum(&zeroed));
    }

    #[test]
    fn v6_echo_request_leaves_checksum_to_kernel() {
        let p = echo_request(true, 0x1234, 7);
        assert_eq!(p.len(), 64);
        assert_eq!(&p[..4], &[ICMP6_ECHO_REQUEST, 0, 0, 0]);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0x00, 0x07]);
    }

    #[test]
    fn parses_v4_echo_reply_with_ip_header() {
        let target = Ipv4Addr::new(10, 0, 0, 2);
        let me = Ipv4Addr::new(10, 0, 0, 1);
        let reply = v4_reply_to(&echo_request(false, ID, 3));
        let packet = ipv4(target, me, 0, &reply);
        assert_eq!(parse_v4(&packet, target, ID), Some(Reply::Echo { seq: 3 }));
        // IP options move the ICMP header; IHL says where.
        let with_options = ipv4(target, me, 2, &reply);
        assert_eq!(
            parse_v4(&with_options, target, ID),
            Some(Reply::Echo { seq: 3 })
        );
    }

    #[test]
    fn ignores_foreign_v4_packets() {
        let target = Ipv4Addr::new(10, 0, 0, 2);
        let me = Ipv4Addr::new(10, 0, 0, 1);
        let reply = v4_reply_to(&echo_request(false, ID, 1));
        // Someone else's identifier.
        let foreign = v4_reply_to(&echo_request(false, ID ^ 1, 1));
        assert_eq!(parse_v4(&ipv4(target, me, 0, &foreign), target, ID), None);
        // The right identifier from the wrong host.
        let other = Ipv4Addr::new(10, 0, 0, 3);
        assert_eq!(parse_v4(&ipv4(other, me, 0, &reply), target, ID), None);
        // Our own request, as seen when pinging a local address.
        let request = echo_request(false, ID, 1);
        assert_eq!(parse_v4(&ipv4(me, target, 0, &request), target, ID), None);
        // Truncated and malformed input.
        let packet = ipv4(target, me, 0, &reply);
        assert_eq!(parse_v4(&packet[..24], target, ID), None);
        assert_eq!(parse_v4(&packet[..10], target, ID), None);
        assert_eq!(parse_v4(&[], target, ID), None);
        let mut bad_ihl = packet.clone();
        bad_ihl[0] = 0x44;
        assert_eq!(parse_v4(&bad_ihl, target, ID), None);
    }

    #[test]
    fn parses_v4_error_quoting_our_request() {
        let me = Ipv4Addr::new(10, 0, 0, 1);
        let router = Ipv4Addr::new(10, 0, 0, 254);
        let target = Ipv4Addr::new(10, 9, 0, 2);
        let original = ipv4(me, target, 0, &echo_request(false, ID, 5));
        let mut error = vec![ICMP_DEST_UNREACH, 1, 0, 0, 0, 0, 0, 0];
        // Routers quote only the IP header and 8 bytes.
        error.extend_from_slice(&original[..28]);
        let sum = checksum(&error);
        error[2..4].copy_from_slice(&sum.to_be_bytes());
        let packet = ipv4(router, me, 0, &error);
        assert_eq!(
            parse_v4(&packet, target, ID),
            Some(Reply::Error {
                seq: 5,
                message: "destination host unreachable (reported by 10.0.0.254)".into()
            })
        );
        // The same error about another process's ping, or another destination, is not ours.
        assert_eq!(parse_v4(&packet, target, ID ^ 1), None);
        assert_eq!(parse_v4(&packet, Ipv4Addr::new(10, 9, 0, 3), ID), None);

        let mut ttl = error.clone();
        ttl[0] = ICMP_TIME_EXCEEDED;
        ttl[1] = 0;
        match parse_v4(&ipv4(router, me, 0, &ttl), target, ID) {
            Some(Reply::Error { seq: 5, message }) => {
                assert_eq!(message, "time to live exceeded (reported by 10.0.0.254)")
            }
            other => panic!("unexpected {other:?}"),
        }
        // A quote cut short before our identifier is ignored.
        let short = ipv4(router, me, 0, &error[..8 + 20 + 4]);
        assert_eq!(parse_v4(&short, target, ID), None);
    }

    #[test]
    fn parses_v6_reply_and_error() {
        let me: Ipv6Addr = "fd00::1".parse().unwrap();
        let target: Ipv6Addr = "fd00::2".parse().unwrap();
        let router: Ipv6Addr = "fd00::fe".parse().unwrap();

        let mut reply = echo_request(true, ID, 9);
        reply[0] = ICMP6_ECHO_REPLY;
        assert_eq!(
            parse_v6(&reply, target, target, ID),
            Some(Reply::Echo { seq: 9 })
        );
        assert_eq!(parse_v6(&reply, router, target, ID), None);
        assert_eq!(parse_v6(&reply, target, target, ID ^ 1), None);
        // Our own request looped back.
        let request = echo_request(true, ID, 9);
        assert_eq!(parse_v6(&request, me, target, ID), None);

        let mut error = vec![ICMP6_DEST_UNREACH, 3, 0, 0, 0, 0, 0, 0];
        error.extend_from_slice(&ipv6_header(me, target, request.len()));
        error.extend_from_slice(&request);
        assert_eq!(
            parse_v6(&error, router, target, ID),
            Some(Reply::Error {
                seq: 9,
                message: "address unreachable (reported by fd00::fe)".into()
            })
        );
        assert_eq!(parse_v6(&error, router, target, ID ^ 1), None);
        assert_eq!(parse_v6(&error, router, me, ID), None);
        assert_eq!(parse_v6(&error[..8 + 40 + 4], router, target, ID), None);
    }

    fn report(sent: u32, rtts_us: &[u64], error: Option<&str>) -> PingReport {
        PingReport {
            target: IpAddr::V4(Ipv4Addr::LOCALHOST),
            sent,
            received: rtts_us.len() as u32,
            rtts: rtts_us
                .iter()
                .map(|&us| Duration::from_micros(us))
                .collect(),
            error: error.map(str::to_string),
            replies: Vec::new(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn report_math() {
        let r = report(3, &[41, 70, 45], None);
        assert!(r.ok());
        assert_eq!(r.loss_percent(), 0.0);
        assert_eq!(r.min(), Some(Duration::from_micros(41)));
        assert_eq!(r.max(), Some(Duration::from_micros(70)));
        assert_eq!(r.avg(), Some(Duration::from_nanos(52_000)));

        let none = report(0, &[], None);
        assert!(!none.ok());
        assert_eq!(none.loss_percent(), 100.0);
        assert_eq!((none.min(), none.avg(), none.max()), (None, None, None));

        let partial = report(3, &[100], None);
        assert!((partial.loss_percent() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(report(4, &[1, 2, 3], None).loss_percent(), 25.0);
    }

    #[test]
    fn report_summary() {
        assert_eq!(
            report(3, &[41, 70, 45], None).summary(),
            "3 packets transmitted, 3 received, 0% packet loss, \
             rtt min/avg/max = 0.041/0.052/0.070 ms"
        );
        assert_eq!(
            report(1, &[], Some("network is unreachable")).summary(),
            "1 packets transmitted, 0 received, 100% packet loss, error: network is unreachable"
        );
        assert_eq!(
            report(3, &[1500], Some("x")).summary(),
            "3 packets transmitted, 1 received, 66.7% packet loss, \
             rtt min/avg/max = 1.500/1.500/1.500 ms, error: x"
        );
    }

    #[test]
    fn default_options() {
        let o = PingOptions::default();
        assert_eq!(o.count, 1);
        assert_eq!(o.timeout, Duration::from_secs(1));
        assert_eq!(o.interval, Duration::from_millis(200));
    }

    #[test]
    fn identifiers_differ_between_calls() {
        assert_ne!(next_identifier(), next_identifier());
    }

    /// A namespace fresh from `netns::create_with`, or None when this test process may not make
    /// one (not root, or root without CAP_SYS_ADMIN in a container).
    fn fresh_namespace() -> Option<std::os::fd::OwnedFd> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping live ping test: not running as root");
            return None;
        }
        match crate::kernel::netns::create_with(|| Ok(())) {
            Ok((ns, ())) => Some(ns),
            Err(e) => {
                eprintln!("skipping live ping test: cannot create a network namespace: {e}");
                None
            }
        }
    }

    #[test]
    fn live_ping_with_loopback_down_fails_fast() {
        let Some(ns) = fresh_namespace() else { return };
        // A new namespace's lo is DOWN, so 127.0.0.1 has no local route and sendto fails.
        let start = Instant::now();
        let r = ping(
            ns.as_fd(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &PingOptions::default(),
        )
        .expect("raw socket inside the namespace");
        let elapsed = start.elapsed();
        assert!(elapsed < Duration::from_millis(1200), "took {elapsed:?}");
        assert_eq!((r.sent, r.received), (1, 0), "{r:?}");
        assert!(!r.ok());
        assert_eq!(r.error.as_deref(), Some("network is unreachable"), "{r:?}");
        assert_eq!(r.loss_percent(), 100.0);
    }

    #[test]
    fn live_ping_over_loopback() {
        let Some(ns) = fresh_namespace() else { return };
        crate::kernel::netns::test_loopback_up(ns.as_fd()).expect("bring lo up");

        // All replies in: returns right away instead of waiting out the timeout.
        let start = Instant::now();
        let r = ping(
            ns.as_fd(),
            "127.0.0.1".parse().unwrap(),
            &PingOptions::default(),
        )
        .expect("raw socket");
        let elapsed = start.elapsed();
        assert_eq!((r.sent, r.received, r.rtts.len()), (1, 1, 1), "{r:?}");
        assert!(r.ok() && r.error.is_none(), "{r:?}");
        assert!(elapsed < Duration::from_millis(100), "took {elapsed:?}");

        let opts = PingOptions {
            count: 3,
            timeout: Duration::from_secs(1),
            interval: Duration::from_millis(20),
            fail_fast: false,
        };
        let start = Instant::now();
        let r = ping(ns.as_fd(), "::1".parse().unwrap(), &opts).expect("raw socket");
        let elapsed = start.elapsed();
        assert_eq!((r.sent, r.received), (3, 3), "{r:?}");
        assert!(r.error.is_none(), "{r:?}");
        assert!(
            elapsed >= Duration::from_millis(40),
            "interval not honoured: {elapsed:?}"
        );
        assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");

        // No route at all: every sendto fails, nothing is in flight, nothing to wait for.
        let start = Instant::now();
        let r = ping(ns.as_fd(), "192.0.2.1".parse().unwrap(), &opts).expect("raw socket");
        assert_eq!((r.sent, r.received), (3, 0), "{r:?}");
        assert_eq!(r.error.as_deref(), Some("network is unreachable"));
        assert!(start.elapsed() < Duration::from_millis(500));

        // fail_fast: the first refused request ends the run, however many were asked for.
        let opts = PingOptions {
            count: u32::MAX,
            fail_fast: true,
            ..opts
        };
        let r = ping(ns.as_fd(), "192.0.2.1".parse().unwrap(), &opts).expect("raw socket");
        assert_eq!((r.sent, r.received), (1, 0), "{r:?}");
        assert_eq!(r.error.as_deref(), Some("network is unreachable"));

        // A reachable address that never answers: with icmp_echo_ignore_all the kernel
        // drops echo requests, so the run must last timeout + (count-1)*interval, no more.
        crate::kernel::netns::write_sysctl(ns.as_fd(), "net.ipv4.icmp_echo_ignore_all", "1")
            .expect("sysctl");
        let opts = PingOptions {
            count: 2,
            timeout: Duration::from_millis(300),
            interval: Duration::from_millis(50),
            fail_fast: false,
        };
        let start = Instant::now();
        let r = ping(ns.as_fd(), "127.0.0.1".parse().unwrap(), &opts).expect("raw socket");
        let elapsed = start.elapsed();
        assert_eq!((r.sent, r.received), (2, 0), "{r:?}");
        assert!(r.error.is_none(), "{r:?}");
        assert!(
            elapsed >= Duration::from_millis(350),
            "gave up early: {elapsed:?}"
        );
        assert!(elapsed < Duration::from_millis(450), "overran: {elapsed:?}");
    }
}
