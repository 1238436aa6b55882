//! TCP, UDP and HTTP probes from inside a namespace: connect, send, read what comes back.
//! A probe keeps at most [`REPLY_LIMIT`] bytes of a reply and says when it cut one.

use std::io::{self, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::kernel::netns;

/// The most a probe keeps of a reply, in bytes (64 KiB): a TCP or HTTP probe stops reading
/// there and closes the connection. A UDP datagram (at most 65,527 bytes of payload) always
/// fits.
pub const REPLY_LIMIT: usize = 64 * 1024;

/// What a probe got: the reply, or why there was none.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub ok: bool,
    /// The reply (at most [`REPLY_LIMIT`] bytes), decoded lossily as UTF-8.
    pub data: String,
    /// The peer sent more than [`REPLY_LIMIT`] bytes; `data` holds the first ones.
    pub truncated: bool,
    pub error: Option<String>,
}

impl Reply {
    fn from_result(result: io::Result<(Vec<u8>, bool)>) -> Reply {
        match result {
            Ok((data, truncated)) => Reply {
                ok: true,
                data: String::from_utf8_lossy(&data).into_owned(),
                truncated,
                error: None,
            },
            Err(e) => Reply::failed(&e),
        }
    }

    fn failed(e: &io::Error) -> Reply {
        Reply {
            ok: false,
            data: String::new(),
            truncated: false,
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

/// Connects to `addr` from inside `ns`, sends `send` (or, when it is empty, closes its own
/// sending side), and reads until the peer closes, `timeout` passes or [`REPLY_LIMIT`] bytes have come (then `truncated` says whether the
/// peer had more to send).
pub fn tcp(ns: BorrowedFd<'_>, addr: SocketAddr, send: &[u8], timeout: Duration) -> Reply {
    let stream = match socket_in(ns, &addr, Type::STREAM, Protocol::TCP)
        .and_then(|s| s.connect_timeout(&addr.into(), timeout).map(|()| s))
    {
        Ok(s) => TcpStream::from(s),
        Err(e) => return Reply::failed(&e),
    };
    let deadline = Instant::now() + timeout;
    let result = (|| -> io::Result<(Vec<u8>, bool)> {
        let mut stream = stream;
        if send.is_empty() {
            // Nothing to say: half-close, so a server that waits for a request (as the
            // responder does, to tell HTTP from anything else) sees the end at once and
            // answers, instead of waiting for a request that never comes.
            let _ = stream.shutdown(std::net::Shutdown::Write);
        } else {
            stream.write_all(send)?;
        }
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if data.len() == REPLY_LIMIT {
                // One more read tells "exactly the limit, then the end" from "more".
                stream.set_read_timeout(Some(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1)),
                ))?;
                let more = matches!(stream.read(&mut buf[..1]), Ok(n) if n > 0);
                return Ok((data, more));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            stream.set_read_timeout(Some(left))?;
            let room = (REPLY_LIMIT - data.len()).min(buf.len());
            match stream.read(&mut buf[..room]) {
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
        Ok((data, false))
    })();
    Reply::from_result(result)
}

/// Sends one datagram to `addr` from inside `ns` and waits for one back (kept whole: the
/// largest datagram fits in [`REPLY_LIMIT`]).
pub fn udp(ns: BorrowedFd<'_>, addr: SocketAddr, send: &[u8], timeout: Duration) -> Reply {
    let result = (|| -> io::Result<(Vec<u8>, bool)> {
        let sock = UdpSocket::from(socket_in(ns, &addr, Type::DGRAM, Protocol::UDP)?);
        sock.connect(addr)?;
        sock.set_read_timeout(Some(timeout))?;
        sock.send(send)?;
        let mut buf = vec![0u8; REPLY_LIMIT];
        let n = sock.recv(&mut buf)?;
        buf.truncate(n);
        Ok((buf, false))
    })();
    Reply::from_result(result)
}

/// An HTTP/1.0 GET; `ok` when the status is 2xx or 3xx.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReply {
    pub ok: bool,
    pub status: u16,
    pub body: String,
    /// The reply (head and body) was longer than [`REPLY_LIMIT`]; `body` is its beginning.
    pub truncated: bool,
    pub error: Option<String>,
}

/// Sends a GET for `path` to `addr` (naming `host` in the `Host` header, bracketed when it is
/// an IPv6 address, RFC 7230 §5.4) and reads at most [`REPLY_LIMIT`] bytes of the reply.
pub fn http_get(
    ns: BorrowedFd<'_>,
    addr: SocketAddr,
    host: &str,
    path: &str,
    timeout: Duration,
) -> HttpReply {
    let host = join_host_port(host, None);
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: netsh\r\n\r\n");
    let reply = tcp(ns, addr, request.as_bytes(), timeout);
    if !reply.ok {
        return HttpReply {
            ok: false,
            status: 0,
            body: String::new(),
            truncated: false,
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
            truncated: reply.truncated,
            error: None,
        },
        None => HttpReply {
            ok: false,
            status: 0,
            body: String::new(),
            truncated: reply.truncated,
            error: Some("the reply is not HTTP".into()),
        },
    }
}

/// `http://host[:port][/path]` → (host, port, path); an IPv6 host is written in brackets
/// (`http://[fd00::2]:8080/`, RFC 3986 §3.2.2) and comes back without them.
pub fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("\"{url}\": only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) =
        split_host_port(authority, Some(80)).map_err(|e| format!("\"{url}\": {e}"))?;
    Ok((host, port, path.to_string()))
}

/// A probe's target `HOST:PORT` → (host, port), where HOST is a name, an IPv4 address or an
/// IPv6 address in brackets (`[fd00::2]:80`, as in URLs, RFC 3986 §3.2.2).
pub fn parse_target(target: &str) -> Result<(String, u16), String> {
    split_host_port(target, None).map_err(|e| format!("\"{target}\": {e}"))
}

/// `host` (and `port`) as written in a target or a `Host` header: IPv6 addresses bracketed.
pub fn join_host_port(host: &str, port: Option<u16>) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// Splits `host[:port]`; without a port, `default` (or an error when there is none).
fn split_host_port(text: &str, default: Option<u16>) -> Result<(String, u16), String> {
    const EXAMPLE: &str = "e.g. 172.18.0.2:8080, web:80 or [fd00::2]:80";
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("missing ']' after the IPv6 address ({EXAMPLE})"))?;
        addr.parse::<Ipv6Addr>()
            .map_err(|_| format!("\"{addr}\" in brackets is not an IPv6 address"))?;
        let port =
            match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| {
                    format!("expected ':PORT' after ']', got \"{p}\" ({EXAMPLE})")
                })?),
            };
        (addr, port)
    } else if text.matches(':').count() > 1 {
        return Err(format!(
            "an IPv6 address with a port goes in brackets, as in [fd00::2]:80 ({EXAMPLE})"
        ));
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host ({EXAMPLE})"));
    }
    let port = match (port, default) {
        (Some(p), _) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("invalid port \"{p}\" (expected 1-65535)"))?,
        (None, Some(d)) => d,
        (None, None) => return Err(format!("expected ADDRESS:PORT ({EXAMPLE})")),
    };
    Ok((host.to_string(), port))
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
        assert_eq!(
            parse_url("http://[fd00::2]:8080/x").unwrap(),
            ("fd00::2".into(), 8080, "/x".into())
        );
        assert_eq!(
            parse_url("http://[fd00::2]").unwrap(),
            ("fd00::2".into(), 80, "/".into())
        );
        assert!(parse_url("http://[fd00::2:8080/").is_err());
        assert!(parse_url("http://fd00::2:8080/").is_err());
    }

    #[test]
    fn targets() {
        let ok = |t: &str| parse_target(t).unwrap();
        let err = |t: &str| parse_target(t).unwrap_err();
        assert_eq!(ok("172.18.0.2:8080"), ("172.18.0.2".into(), 8080));
        assert_eq!(ok("web:80"), ("web".into(), 80));
        assert_eq!(ok("[fd00::2]:80"), ("fd00::2".into(), 80));
        assert_eq!(ok("[::1]:65535"), ("::1".into(), 65535));
        assert!(
            err("[fd00::2:80").contains("missing ']'"),
            "{}",
            err("[fd00::2:80")
        );
        assert!(err("[fd00::2]80").contains("expected ':PORT'"));
        assert!(err("[fd00::2]").contains("ADDRESS:PORT"));
        assert!(err("[fd00::zz]:80").contains("not an IPv6 address"));
        assert!(err("[10.0.0.1]:80").contains("not an IPv6 address"));
        assert!(err("fd00::2:80").contains("in brackets"));
        assert!(err("[fd00::2]:65536").contains("invalid port \"65536\""));
        assert!(err("10.0.0.1:0").contains("invalid port \"0\""));
        assert!(err("10.0.0.1:").contains("invalid port"));
        assert!(err("10.0.0.1").contains("ADDRESS:PORT"));
        assert!(err(":80").contains("no host"));
        assert!(err("[]:80").contains("not an IPv6 address"));
    }

    #[test]
    fn hosts_in_headers() {
        assert_eq!(join_host_port("fd00::2", Some(80)), "[fd00::2]:80");
        assert_eq!(join_host_port("web", Some(80)), "web:80");
        assert_eq!(join_host_port("fd00::2", None), "[fd00::2]");
    }
}
