//! A DNS client as a container's resolver is one: an A query over UDP to the server in its
//! resolv.conf, sent from inside its namespace, parsed with hickory-proto.

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

pub fn query_a(ns: BorrowedFd<'_>, server: SocketAddr, name: &str, timeout: Duration) -> Answer {
    match exchange(ns, server, name, timeout) {
        Ok(a) => a,
        Err(e) => Answer::Failed(e.to_string()),
    }
}

fn exchange(
    ns: BorrowedFd<'_>,
    server: SocketAddr,
    name: &str,
    timeout: Duration,
) -> io::Result<Answer> {
    let qname = Name::from_ascii(name).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad name {name:?}: {e}"),
        )
    })?;
    let mut query = Message::query();
    let id = (std::process::id() as u16) ^ (name.len() as u16).rotate_left(7);
    query.metadata.id = id;
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(qname, RecordType::A));
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
                let addrs: Vec<Ipv4Addr> = reply
                    .answers
                    .iter()
                    .filter_map(|r| match &r.data {
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
            ResponseCode::NXDomain => Answer::NotFound,
            other => Answer::Failed(format!("server answered {other}")),
        });
    }
}
