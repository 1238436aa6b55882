//! A DNS client as a container's resolver is one: an A query (or a PTR query, as `nslookup
//! ADDRESS` asks) over UDP to the server in its resolv.conf, sent from inside its namespace,
//! parsed with hickory-proto.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use socket2::{Domain, Protocol, Socket, Type};

use crate::kernel::netns;

#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Found(Vec<Ipv4Addr>),
    /// NXDOMAIN, or no A record.
    NotFound,
    /// No usable answer (no server, timeout, garbage).
    Failed(String),
}

/// Asks `server` (from inside the namespace `ns`) for the A records of `name`, waiting at
/// most `timeout` for the answer.
pub fn query_a(ns: BorrowedFd<'_>, server: SocketAddr, name: &str, timeout: Duration) -> Answer {
    let reply = Name::from_ascii(name)
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad name {name:?}: {e}"),
            )
        })
        .and_then(|qname| exchange(ns, server, qname, RecordType::A, timeout));
    match reply {
        Ok(Reply::Records(answers)) => {
            let addrs: Vec<Ipv4Addr> = answers
                .iter()
                .filter_map(|r| match r {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect();
            if addrs.is_empty() {
                Answer::NotFound
            } else {
                Answer::Found(addrs)
            }
        }
        Ok(Reply::NotFound) => Answer::NotFound,
        Ok(Reply::Failed(why)) => Answer::Failed(why),
        Err(e) => Answer::Failed(e.to_string()),
    }
}

/// What a PTR query answered.
#[derive(Debug, Clone, PartialEq)]
pub enum PtrAnswer {
    /// The name, without the final dot (`rv1.rvn`), as `nslookup` prints it.
    Found(String),
    /// NXDOMAIN, or no PTR record.
    NotFound,
    /// No usable answer (no server, timeout, garbage).
    Failed(String),
}

/// Asks `server` (from inside the namespace `ns`) for the PTR record of `addr`
/// (`2.0.33.10.in-addr.arpa.`, RFC 1035 §3.5), waiting at most `timeout`; the first PTR
/// record answers.
pub fn query_ptr(
    ns: BorrowedFd<'_>,
    server: SocketAddr,
    addr: Ipv4Addr,
    timeout: Duration,
) -> PtrAnswer {
    let qname = match Name::from_ascii(crate::services::dns::reverse_name(addr)) {
        Ok(n) => n,
        Err(e) => return PtrAnswer::Failed(e.to_string()),
    };
    match exchange(ns, server, qname, RecordType::PTR, timeout) {
        Ok(Reply::Records(answers)) => answers
            .iter()
            .find_map(|r| match r {
                RData::PTR(p) => {
                    let text = p.0.to_ascii();
                    Some(text.strip_suffix('.').unwrap_or(&text).to_string())
                }
                _ => None,
            })
            .map_or(PtrAnswer::NotFound, PtrAnswer::Found),
        Ok(Reply::NotFound) => PtrAnswer::NotFound,
        Ok(Reply::Failed(why)) => PtrAnswer::Failed(why),
        Err(e) => PtrAnswer::Failed(e.to_string()),
    }
}

/// A reply's gist: its answers' data (NOERROR), NXDOMAIN, or another response code.
enum Reply {
    Records(Vec<RData>),
    NotFound,
    Failed(String),
}

fn exchange(
    ns: BorrowedFd<'_>,
    server: SocketAddr,
    qname: Name,
    rtype: RecordType,
    timeout: Duration,
) -> io::Result<Reply> {
    let mut query = Message::query();
    let id = (std::process::id() as u16) ^ (qname.len() as u16).rotate_left(7);
    query.metadata.id = id;
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(qname, rtype));
    let bytes = query
        .to_vec()
        .map_err(|e| io::Error::other(format!("cannot encode the query: {e}")))?;
    let sock = UdpSocket::from(netns::run_in(ns, || {
        Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
    })?);
    sock.connect(server)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.send(&bytes)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = sock.recv(&mut buf)?;
        let Ok(reply) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if reply.metadata.id != id {
            continue;
        }
        return Ok(match reply.metadata.response_code {
            ResponseCode::NoError => {
                Reply::Records(reply.answers.iter().map(|r| r.data.clone()).collect())
            }
            ResponseCode::NXDomain => Reply::NotFound,
            other => Reply::Failed(format!("server answered {other}")),
        });
    }
}
