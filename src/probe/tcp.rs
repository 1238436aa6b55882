//! TCP, UDP and HTTP probes from inside a namespace: connect, send, read what comes back.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::kernel::netns;

/// What a probe got: the reply, or why there was none.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub ok: bool,
    pub data: String,
    pub error: Option<String>,
}

impl Reply {
    fn from_result(result: io::Result<Vec<u8>>) -> Reply {
        match result {
            Ok(data) => Reply {
                ok: true,
                data: String::from_utf8_lossy(&data).into_owned(),
                error: None,
            },
            Err(e) => Reply::failed(&e),
        }
    }

    fn failed(e: &io::Error) -> Reply {
        Reply {
            ok: false,
            data: String::new(),
            error: Some(words(e)),
        }
    }
}

/// io errors as people say them: "connection refused", "timed out".
fn words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".into(),
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => {
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            text.to_lowercase()
        }
    }
}

fn socket_in(
    ns: BorrowedFd<'_>,
    addr: &SocketAddr,
    ty: Type,
    proto: Protocol,
) -> io::Result<Socket> {
    let domain = Domain::for_address(*addr);
    netns::run_in(ns, move || Socket::new(domain, ty, Some(proto)))
}

/// Connects to `addr` from inside `ns`, sends `send`, and reads until the peer closes or
/// `timeout` passes.
pub fn tcp(ns: BorrowedFd<'_>, addr: SocketAddr, send: &[u8], timeout: Duration) -> Reply {
    let stream = match socket_in(ns, &addr, Type::STREAM, Protocol::TCP)
        .and_then(|s| s.connect_timeout(&addr.into(), timeout).map(|()| s))
    {
        Ok(s) => TcpStream::from(s),
        Err(e) => return Reply::failed(&e),
    };
    let deadline = Instant::now() + timeout;
    let result = (|| -> io::Result<Vec<u8>> {
        let mut stream = stream;
        if !send.is_empty() {
            stream.write_all(send)?;
        }
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        Ok(data)
    })();
    Reply::from_result(result)
}

/// Sends one datagram to `addr` from inside `ns` and waits for one back.
pub fn udp(ns: BorrowedFd<'_>, addr: SocketAddr, send: &[u8], timeout: Duration) -> Reply {
    let result = (|| -> io::Result<Vec<u8>> {
        let sock = UdpSocket::from(socket_in(ns, &addr, Type::DGRAM, Protocol::UDP)?);
        sock.connect(addr)?;
        sock.set_read_timeout(Some(timeout))?;
        sock.send(send)?;
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf)?;
        Ok(buf[..n].to_vec())
    })();
    Reply::from_result(result)
}

/// An HTTP/1.0 GET; `ok` when the status is 2xx or 3xx.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReply {
    pub ok: bool,
    pub status: u16,
    pub body: String,
    pub error: Option<String>,
}

pub fn http_get(
    ns: BorrowedFd<'_>,
    addr: SocketAddr,
    host: &str,
    path: &str,
    timeout: Duration,
) -> HttpReply {
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: netsh\r\n\r\n");
    let reply = tcp(ns, addr, request.as_bytes(), timeout);
    if !reply.ok {
        return HttpReply {
            ok: false,
            status: 0,
            body: String::new(),
            error: reply.error,
        };
    }
    let (head, body) = reply
        .data
        .split_once("\r\n\r\n")
        .unwrap_or((reply.data.as_str(), ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(status) => HttpReply {
            ok: (200..400).contains(&status),
            status,
            body: body.to_string(),
            error: None,
        },
        None => HttpReply {
            ok: false,
            status: 0,
            body: String::new(),
            error: Some("the reply is not HTTP".into()),
        },
    }
}

/// `http://host[:port][/path]` → (host, port, path).
pub fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("\"{url}\": only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("\"{url}\": invalid port \"{p}\""))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("\"{url}\": no host"));
    }
    Ok((host.to_string(), port, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://172.18.0.2:8080/x?y").unwrap(),
            ("172.18.0.2".into(), 8080, "/x?y".into())
        );
        assert_eq!(
            parse_url("http://web").unwrap(),
            ("web".into(), 80, "/".into())
        );
        assert!(parse_url("https://web").is_err());
        assert!(parse_url("http://web:x/").is_err());
        assert!(parse_url("http://:80/").is_err());
    }
}
