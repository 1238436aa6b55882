//! The embedded DNS server fed a fixed corpus of malformed messages, over UDP and TCP, plus
//! seeded random mutations of valid queries on every run; afterwards (and between cases) it
//! still answers a real query correctly over UDP and TCP.
//!
//! The messages are sent from inside a container, where the server listens on
//! 127.0.0.11:53: netsh runs this very test binary there with `exec`, as a client
//! (`corpus_client_inside_the_lab`, which does nothing when run any other way). The seed is
//! printed; `NETSH_DNS_SEED=<seed>` repeats a run. Longer runs: `cargo fuzz run dns_message`
//! in fuzz/.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::{netsh, wait_for};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;

/// Set (to the seed) in the environment of the client that netsh runs inside the lab.
const CLIENT_ENV: &str = "NETSH_DNS_CORPUS_CLIENT";
/// The server, as a container sees it.
const SERVER: &str = "127.0.0.11:53";
/// The name the client asks for, and its address (the second container on n1).
const KNOWN: (&str, Ipv4Addr) = ("b1", Ipv4Addr::new(172, 18, 0, 3));
/// How many random mutations each run sends.
const MUTATIONS: usize = 600;
/// Bounds a hang only: every wait below ends as soon as its condition holds.
const PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn the_dns_server_survives_a_corpus_of_malformed_messages() {
    let seed = common::seed("NETSH_DNS_SEED");
    println!("seed {seed} (NETSH_DNS_SEED={seed} repeats it)");
    let exe = common::public_program(&std::env::current_exe().expect("this test binary"));
    let script = format!(
        "network(\"n1\"); let a = run(\"a1\", \"n1\"); run(\"b1\", #{{network: \"n1\", aliases: [\"db\"]}});\n\
         assert_eq(resolve(a, \"{name}\"), \"{addr}\");\n\
         let r = exec(a, [\"env\", \"{CLIENT_ENV}={seed}\", \"{exe}\", \"--exact\", \
             \"corpus_client_inside_the_lab\", \"--nocapture\", \"--test-threads=1\"], \
             #{{timeout: 600000}});\n\
         print(r.stdout); print(r.stderr);\n\
         assert_eq(r.code, 0, \"the client inside the lab failed\");\n\
         assert_eq(resolve(a, \"{name}\"), \"{addr}\", \"still answering\");\n\
         assert_eq(resolve(a, \"db\"), \"{addr}\", \"aliases still resolve\");\n\
         assert_eq(resolve(a, \"nope\"), ());",
        name = KNOWN.0,
        addr = KNOWN.1,
        exe = exe.display(),
    );
    let run = netsh().eval(&script).run();
    println!("{}\n{}", run.stdout, run.stderr);
    run.success()
        .stdout_has("corpus: every case sent, the server still answers")
        .stdout_has(&format!(
            "random: {MUTATIONS} mutations of seed {seed} sent"
        ));
}

/// The client: runs only inside the lab, where netsh starts it with `CLIENT_ENV` set.
#[test]
fn corpus_client_inside_the_lab() {
    let Some(seed) = std::env::var(CLIENT_ENV)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return;
    };
    let server: SocketAddr = SERVER.parse().expect("server address");
    assert_answers(server, "before anything");
    for case in corpus() {
        case.send(server);
        assert_answers(server, case.name);
    }
    println!("corpus: every case sent, the server still answers");
    random_mutations(server, seed);
    assert_answers(server, "after the random mutations");
    println!("random: {MUTATIONS} mutations of seed {seed} sent");
}

// ---- building messages ------------------------------------------------------------------

/// RD set, opcode QUERY.
const RD: u16 = 0x0100;

fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    [id, flags, qd, an, ns, ar]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

fn name(labels: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

/// A question: name, type, class IN.
fn question(labels: &[&str], qtype: u16) -> Vec<u8> {
    let mut out = name(labels);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// An OPT pseudo-record (RFC 6891): owner, advertised payload size, version, options.
fn opt(owner: &[u8], payload: u16, version: u8, rdata: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.extend_from_slice(&[0, version, 0, 0]);
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

/// A valid query for `KNOWN`'s name, type A.
fn valid(id: u16) -> Vec<u8> {
    let mut q = header(id, RD, 1, 0, 0, 0);
    q.extend(question(&[KNOWN.0], 1));
    q
}

/// `valid(id)` with one OPT record built from `rr` in the additional section.
fn with_additional(id: u16, count: u16, rrs: &[u8]) -> Vec<u8> {
    let mut q = header(id, RD, 1, 0, 0, count);
    q.extend(question(&[KNOWN.0], 1));
    q.extend_from_slice(rrs);
    q
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut out = (message.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

// ---- the corpus -------------------------------------------------------------------------

/// How a case reaches the server.
enum Via {
    /// One datagram.
    Udp(Vec<u8>),
    /// Bytes written on a fresh TCP connection, whose write side is then closed.
    Tcp(Vec<u8>),
    /// Bytes written on `n` fresh TCP connections that are kept open while the server is
    /// asked something else, then dropped.
    TcpHeld(Vec<u8>, usize),
}

/// What the server must do with it.
enum Expect {
    /// Answer the ID with an error RCODE (FORMERR, NOTIMP …), once at least.
    Error(u16),
    /// Over TCP: close the connection (after any answers).
    Closed,
    /// Anything, as long as it keeps answering others.
    Survive,
}

struct Case {
    name: &'static str,
    via: Via,
    expect: Expect,
}

fn case(name: &'static str, via: Via, expect: Expect) -> Case {
    Case { name, via, expect }
}

/// A message: a header with RD set, `counts` (questions, answers, authority, additional) and
/// `id`, then `body` as it is.
fn msg(id: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
    let [qd, an, ns, ar] = counts;
    let mut q = header(id, RD, qd, an, ns, ar);
    q.extend_from_slice(body);
    q
}

/// The question for `KNOWN`'s name, type A.
fn b1() -> Vec<u8> {
    question(&[KNOWN.0], 1)
}

/// `bytes` with `f` applied.
fn edit(mut bytes: Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    f(&mut bytes);
    bytes
}

/// The malformed messages every run sends, each named for what is wrong with it.
fn corpus() -> Vec<Case> {
    use Expect::*;
    use Via::*;
    let long = "y".repeat(63);
    let half = edit(40u16.to_be_bytes().to_vec(), |q| {
        q.extend_from_slice(&valid(0x207)[..10])
    });
    let short_prefix = |q: Vec<u8>| {
        let mut out = ((q.len() - 4) as u16).to_be_bytes().to_vec();
        out.extend(q);
        out
    };
    let mut rr_cut = name(&["x"]);
    rr_cut.extend_from_slice(&[0, 1, 0, 1, 0, 0]);
    let mut rr_long = name(&["x"]);
    rr_long.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0xff, 0xff, 1, 2, 3, 4]);
    vec![
        case("empty datagram", Udp(vec![]), Survive),
        case("one byte", Udp(vec![0x12]), Survive),
        case(
            "a header cut short",
            Udp(msg(1, [1, 0, 0, 0], &[])[..11].to_vec()),
            Survive,
        ),
        case("no question", Udp(msg(0x101, [0; 4], &[])), Error(0x101)),
        case(
            "2 questions said, 1 sent",
            Udp(msg(0x102, [2, 0, 0, 0], &b1())),
            Error(0x102),
        ),
        case(
            "65535 questions said",
            Udp(msg(0x103, [0xffff, 0, 0, 0], &b1())),
            Error(0x103),
        ),
        case(
            "1 answer said, none sent",
            Udp(msg(0x104, [1, 1, 0, 0], &b1())),
            Error(0x104),
        ),
        case(
            "65535 additional said",
            Udp(msg(0x105, [1, 0, 0, 0xffff], &b1())),
            Error(0x105),
        ),
        case(
            "pointer to itself",
            Udp(msg(0x106, [1, 0, 0, 0], &[0xc0, 12, 0, 1, 0, 1])),
            Error(0x106),
        ),
        case(
            "pointers in a loop",
            Udp(msg(0x107, [1, 0, 0, 0], &[1, b'a', 0xc0, 14, 0, 1, 0, 1])),
            Error(0x107),
        ),
        case(
            "pointer forward",
            Udp(msg(
                0x108,
                [1, 0, 0, 0],
                &[0xc0, 18, 0, 1, 0, 1, 2, b'b', b'1', 0],
            )),
            Survive,
        ),
        case(
            "pointer beyond the end",
            Udp(msg(0x109, [1, 0, 0, 0], &[0xc0, 0xff, 0, 1, 0, 1])),
            Error(0x109),
        ),
        case(
            "label of 64 bytes",
            Udp(msg(
                0x10a,
                [1, 0, 0, 0],
                &[&[64][..], &[b'x'; 64], &[0, 0, 1, 0, 1]].concat(),
            )),
            Error(0x10a),
        ),
        case(
            "name over 255 bytes",
            Udp(msg(
                0x10b,
                [1, 0, 0, 0],
                &question(&[&long, &long, &long, &long, &long], 1),
            )),
            Error(0x10b),
        ),
        case(
            "label past the end",
            Udp(msg(0x10c, [1, 0, 0, 0], &[50, b'a', b'b', b'c'])),
            Error(0x10c),
        ),
        case(
            "name without its final zero",
            Udp(msg(0x10d, [1, 0, 0, 0], &[2, b'b', b'1'])),
            Error(0x10d),
        ),
        case(
            "question cut before its class",
            Udp(edit(valid(0x10e), |q| q.truncate(q.len() - 2))),
            Error(0x10e),
        ),
        case(
            "record cut in its TTL",
            Udp(with_additional(0x10f, 1, &rr_cut)),
            Error(0x10f),
        ),
        case(
            "RDLENGTH past the end",
            Udp(with_additional(0x110, 1, &rr_long)),
            Error(0x110),
        ),
        case(
            "EDNS: payload 65535",
            Udp(with_additional(0x111, 1, &opt(&[0], 65535, 0, &[]))),
            Survive,
        ),
        case(
            "EDNS: payload 0",
            Udp(with_additional(0x112, 1, &opt(&[0], 0, 0, &[]))),
            Survive,
        ),
        case(
            "EDNS: two OPT records",
            Udp(with_additional(
                0x113,
                2,
                &[opt(&[0], 1232, 0, &[]), opt(&[0], 4096, 0, &[])].concat(),
            )),
            Survive,
        ),
        case(
            "EDNS: OPT owned by a name",
            Udp(with_additional(
                0x114,
                1,
                &opt(&name(&["b1"]), 4096, 0, &[]),
            )),
            Survive,
        ),
        case(
            "EDNS: option past its record",
            Udp(with_additional(
                0x115,
                1,
                &opt(&[0], 4096, 0, &[0, 10, 0, 200, 1, 2]),
            )),
            Survive,
        ),
        case(
            "EDNS: version 1",
            Udp(with_additional(0x116, 1, &opt(&[0], 4096, 1, &[]))),
            Survive,
        ),
        case(
            "EDNS: OPT not counted",
            Udp(msg(
                0x117,
                [1, 0, 0, 0],
                &[b1(), opt(&[0], 4096, 0, &[])].concat(),
            )),
            Survive,
        ),
        case(
            "a response, not a query",
            Udp(edit(valid(0x118), |q| q[2] |= 0x80)),
            Survive,
        ),
        case(
            "opcode UPDATE",
            Udp(edit(valid(0x119), |q| q[2] = (q[2] & 0x87) | (5 << 3))),
            Error(0x119),
        ),
        case(
            "3000 bytes of garbage",
            Udp(edit(vec![0xa5; 3000], |q| {
                q[..4].copy_from_slice(&[1, 0x1a, 1, 0])
            })),
            Error(0x11a),
        ),
        case(
            "over the 4096-byte limit",
            Udp(edit(valid(0x11b), |q| q.resize(5000, 0))),
            Error(0x11b),
        ),
        case(
            "TCP: 65535 bytes of garbage",
            Tcp(framed(&edit(vec![0x5a; 65535], |q| {
                q[..4].copy_from_slice(&[2, 1, 1, 0])
            }))),
            Error(0x201),
        ),
        case(
            "TCP: 65535-byte padded query",
            Tcp(framed(&edit(valid(0x202), |q| q.resize(65535, 0)))),
            Survive,
        ),
        case("TCP: zero-length frame", Tcp(vec![0, 0]), Closed),
        case("TCP: half a length prefix", Tcp(vec![0]), Closed),
        case(
            "TCP: frame shorter than a header",
            Tcp(framed(&[1, 2, 3, 4, 5])),
            Closed,
        ),
        case(
            "TCP: 100 said, 20 sent",
            Tcp([&100u16.to_be_bytes()[..], &valid(0x203)[..20]].concat()),
            Closed,
        ),
        case(
            "TCP: prefix 4 bytes short",
            Tcp(short_prefix(valid(0x204))),
            Error(0x204),
        ),
        case(
            "TCP: good query, then bad",
            Tcp([
                framed(&valid(0x205)),
                framed(&msg(0x206, [3, 0, 0, 0], &[])),
            ]
            .concat()),
            Error(0x206),
        ),
        case(
            "TCP: half a message, then silence",
            TcpHeld(half.clone(), 1),
            Survive,
        ),
        case(
            "TCP: 200 connections, half a message each",
            TcpHeld(half, 200),
            Survive,
        ),
    ]
}

impl Case {
    /// Sends the case and checks what the server does with it.
    fn send(&self, server: SocketAddr) {
        let what = format!("case {:?}", self.name);
        match &self.via {
            Via::Udp(bytes) => {
                let sock = udp_socket();
                match self.expect {
                    Expect::Error(id) => {
                        let m = udp_exchange(&sock, server, bytes, id, &what);
                        assert_ne!(
                            m.metadata.response_code,
                            ResponseCode::NoError,
                            "{what}: answered without an error"
                        );
                    }
                    _ => {
                        sock.send_to(bytes, server)
                            .unwrap_or_else(|e| panic!("{what}: send: {e}"));
                    }
                }
            }
            Via::Tcp(bytes) => {
                let mut stream = tcp_connect(server, &what);
                // The server may close as soon as it has seen enough, before all is written.
                let _ = stream.write_all(bytes);
                let _ = stream.shutdown(Shutdown::Write);
                let responses = read_until_closed(&mut stream, &what);
                if let Expect::Error(id) = self.expect {
                    assert!(
                        responses.iter().any(|r| r.len() >= 12
                            && u16::from_be_bytes([r[0], r[1]]) == id
                            && r[3] & 0x0f != 0),
                        "{what}: no error answer to id {id:#x} among {} responses",
                        responses.len()
                    );
                }
                if let Expect::Closed = self.expect {
                    assert!(responses.is_empty(), "{what}: answered instead of closing");
                }
            }
            Via::TcpHeld(bytes, n) => {
                let held: Vec<TcpStream> = (0..*n)
                    .filter_map(|_| {
                        // Over the server's limit, a connection is closed at once; a write
                        // may then fail, which is the server's right.
                        let mut s = TcpStream::connect(server).ok()?;
                        let _ = s.write_all(bytes);
                        Some(s)
                    })
                    .collect();
                assert!(!held.is_empty(), "{what}: no connection accepted");
                // While they hang, the server answers over UDP.
                assert_answers_udp(server, &what);
                drop(held);
            }
        }
    }
}

// ---- talking to the server --------------------------------------------------------------

fn udp_socket() -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    sock
}

/// Sends `q` until a response with `id` comes back (asking again every 200 ms, as resolvers
/// do), skipping others; fails after `PATIENCE`.
fn udp_exchange(sock: &UdpSocket, server: SocketAddr, q: &[u8], id: u16, what: &str) -> Message {
    let mut buf = vec![0u8; 65536];
    wait_for(
        &format!("{what}: a response to id {id:#x}"),
        PATIENCE,
        || {
            sock.send_to(q, server).map_err(|e| e.to_string())?;
            loop {
                let (n, from) = sock.recv_from(&mut buf).map_err(|e| e.to_string())?;
                assert_eq!(from, server, "{what}: a datagram from elsewhere");
                let r = &buf[..n];
                assert!(
                    r.len() >= 12 && r[2] & 0x80 != 0,
                    "{what}: the server sent something that is not a response: {r:?}"
                );
                if u16::from_be_bytes([r[0], r[1]]) == id {
                    let m = Message::from_vec(r)
                        .unwrap_or_else(|e| panic!("{what}: the response does not parse: {e}"));
                    return Ok(m);
                }
            }
        },
    )
}

fn tcp_connect(server: SocketAddr, what: &str) -> TcpStream {
    // A connection over the server's limit is closed at once; a fresh one after the held
    // ones are gone may take the server a moment to count them closed.
    let stream = wait_for(&format!("{what}: a TCP connection"), PATIENCE, || {
        TcpStream::connect(server).map_err(|e| e.to_string())
    });
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    stream
}

/// Reads framed responses until the server closes the connection; fails if it neither
/// answers nor closes within `PATIENCE`.
fn read_until_closed(stream: &mut TcpStream, what: &str) -> Vec<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("{what}: the server neither answered nor closed: {e}"),
        }
    }
    let mut responses = Vec::new();
    let mut rest = &data[..];
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert!(rest.len() >= 2 + len, "{what}: a response cut short");
        let r = rest[2..2 + len].to_vec();
        assert!(
            r.len() >= 12 && r[2] & 0x80 != 0,
            "{what}: something that is not a response: {r:?}"
        );
        responses.push(r);
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty(), "{what}: a stray byte after the responses");
    responses
}

/// The answer to a real query names `KNOWN`'s address, and only it.
fn check_answer(m: &Message, what: &str) {
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{what}");
    let answers: Vec<&RData> = m.answers.iter().map(|r| &r.data).collect();
    assert_eq!(answers, [&RData::A(KNOWN.1.into())], "{what}: the answer");
}

fn assert_answers_udp(server: SocketAddr, after: &str) {
    let what = format!("a real query over UDP after {after}");
    let m = udp_exchange(&udp_socket(), server, &valid(0x7001), 0x7001, &what);
    check_answer(&m, &what);
}

/// The server answers a real query correctly, over UDP and over TCP.
fn assert_answers(server: SocketAddr, after: &str) {
    assert_answers_udp(server, after);
    let what = format!("a real query over TCP after {after}");
    let responses = wait_for(&what, PATIENCE, || {
        let mut stream = tcp_connect(server, &what);
        stream
            .write_all(&framed(&valid(0x7002)))
            .map_err(|e| e.to_string())?;
        let _ = stream.shutdown(Shutdown::Write);
        let responses = read_until_closed(&mut stream, &what);
        // Closed unanswered: still counting the held connections as open.
        if responses.is_empty() {
            Err("closed without an answer".to_string())
        } else {
            Ok(responses)
        }
    });
    assert_eq!(responses.len(), 1, "{what}");
    let m = Message::from_vec(&responses[0]).expect("the TCP answer parses");
    assert_eq!(m.metadata.id, 0x7002, "{what}");
    check_answer(&m, &what);
}

// ---- seeded random mutations ------------------------------------------------------------

/// `MUTATIONS` valid queries (A, AAAA, with EDNS), each changed in one to four random ways,
/// most over UDP, every tenth over TCP; whatever comes back must be a DNS response, and every
/// hundred the server must still answer.
fn random_mutations(server: SocketAddr, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let sock = udp_socket();
    sock.set_nonblocking(true).expect("nonblocking");
    let mut buf = vec![0u8; 65536];
    for i in 0..MUTATIONS {
        let id = rng.u16(..);
        let mut q = match rng.u8(..3) {
            0 => valid(id),
            1 => {
                let mut q = header(id, RD, 1, 0, 0, 0);
                q.extend(question(&["db", "n1"], 28));
                q
            }
            _ => with_additional(id, 1, &opt(&[0], rng.u16(..), 0, &[])),
        };
        for _ in 0..rng.usize(1..=4) {
            mutate(&mut rng, &mut q);
        }
        let what = format!("mutation #{i} of seed {seed}: {q:?}");
        if i % 10 == 9 {
            let mut stream = tcp_connect(server, &what);
            let _ = stream.write_all(&framed(&q));
            let _ = stream.shutdown(Shutdown::Write);
            read_until_closed(&mut stream, &what);
        } else {
            let _ = sock.send_to(&q, server);
        }
        // Whatever has come back must be a response (the socket is drained as we go).
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            assert!(
                n >= 12 && buf[2] & 0x80 != 0,
                "{what}: the server sent something that is not a response"
            );
        }
        if i % 100 == 99 {
            assert_answers(server, &what);
        }
    }
}

fn mutate(rng: &mut fastrand::Rng, q: &mut Vec<u8>) {
    let len = q.len();
    match rng.u8(..8) {
        0 if len > 0 => q[rng.usize(..len)] ^= 1 << rng.u8(..8),
        1 if len > 0 => q[rng.usize(..len)] = rng.u8(..),
        2 => {
            let at = rng.usize(..=len);
            let extra: Vec<u8> = (0..rng.usize(1..16)).map(|_| rng.u8(..)).collect();
            q.splice(at..at, extra);
        }
        3 if len > 0 => {
            let from = rng.usize(..len);
            let to = (from + rng.usize(1..16)).min(len);
            q.drain(from..to);
        }
        4 => q.truncate(rng.usize(..=len)),
        5 if len >= 12 => {
            // A count in the header that lies.
            let field = 4 + 2 * rng.usize(..4);
            q[field..field + 2].copy_from_slice(&rng.u16(..).to_be_bytes());
        }
        6 if len > 12 => {
            // A compression pointer somewhere in the body.
            let at = rng.usize(12..len);
            q[at] = 0xc0 | rng.u8(..0x40);
            if at + 1 < len {
                q[at + 1] = rng.u8(..);
            }
        }
        _ => {
            // The message repeated after itself.
            let copy = q.clone();
            q.extend_from_slice(&copy);
        }
    }
}
