//! `serve(container, port)`: a small responder inside a container, so scripts can check
//! that a published port, a name or a route really leads there. Over TCP it answers HTTP
//! requests with `200 OK` and anything else with a greeting line; over UDP it answers every
//! datagram with the greeting. It listens on IPv4 and IPv6 alike (one dual-stack socket).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::kernel::netns;

/// A running responder; dropping it stops it.
pub struct Responder {
    task: JoinHandle<()>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Udp,
}

/// A socket on `port` of every address of `ns`: `[::]` with `IPV6_V6ONLY` off, which takes
/// IPv4 too (as v4-mapped addresses, RFC 4291 §2.5.5.2). This works where IPv6 is disabled
/// on every interface (a container, as in Docker) — it just never sees IPv6 there; only a
/// kernel without IPv6 at all refuses it, and then the socket is `0.0.0.0` alone.
fn bound_socket(ns: BorrowedFd<'_>, port: u16, kind: Kind) -> io::Result<Socket> {
    netns::run_in(ns, move || {
        let (ty, proto) = match kind {
            Kind::Tcp => (Type::STREAM, Protocol::TCP),
            Kind::Udp => (Type::DGRAM, Protocol::UDP),
        };
        let bind = |domain: Domain, addr: SocketAddr| -> io::Result<Socket> {
            let s = Socket::new(domain, ty, Some(proto))?;
            if domain == Domain::IPV6 {
                s.set_only_v6(false)?;
            }
            s.set_reuse_address(true)?;
            s.bind(&addr.into())?;
            Ok(s)
        };
        let s = match bind(
            Domain::IPV6,
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
        ) {
            Ok(s) => s,
            // EADDRINUSE is the port's answer for both families; anything else means no IPv6.
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
            Err(_) => bind(
                Domain::IPV4,
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
            )?,
        };
        if kind == Kind::Tcp {
            s.listen(128)?;
        }
        s.set_nonblocking(true)?;
        Ok(s)
    })
}

/// Starts answering on `port` of every IPv4 and IPv6 address inside `ns` with `greeting`
/// (over HTTP, the body of a `200 OK`).
pub fn start(
    rt: &tokio::runtime::Handle,
    ns: BorrowedFd<'_>,
    port: u16,
    kind: Kind,
    greeting: String,
) -> io::Result<Responder> {
    let sock = bound_socket(ns, port, kind)?;
    let _entered = rt.enter();
    let task = match kind {
        Kind::Tcp => {
            let listener = tokio::net::TcpListener::from_std(sock.into())?;
            rt.spawn(serve_tcp(listener, greeting))
        }
        Kind::Udp => {
            let udp = tokio::net::UdpSocket::from_std(sock.into())?;
            rt.spawn(serve_udp(udp, greeting))
        }
    };
    Ok(Responder { task })
}

async fn serve_tcp(listener: tokio::net::TcpListener, greeting: String) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(answer_tcp(stream, greeting.clone()));
    }
}

/// Waits briefly for a request: an HTTP one gets an HTTP answer, silence or anything else
/// the greeting line.
async fn answer_tcp(mut stream: tokio::net::TcpStream, greeting: String) {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let wait = tokio::time::timeout(Duration::from_millis(200), async {
        while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 64 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    let _ = wait.await;
    let is_http = ["GET ", "HEAD ", "POST ", "PUT "]
        .iter()
        .any(|m| got.starts_with(m.as_bytes()));
    let reply = if is_http {
        format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{greeting}",
            greeting.len()
        )
    } else {
        greeting
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn serve_udp(sock: tokio::net::UdpSocket, greeting: String) {
    let mut buf = vec![0u8; 2048];
    loop {
        if let Ok((_, from)) = sock.recv_from(&mut buf).await {
            let _ = sock.send_to(greeting.as_bytes(), from).await;
        }
    }
}
