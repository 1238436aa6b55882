//! Docker's userland proxy (`docker-proxy`, on by default in Docker 20.10): for each published
//! port a listener in the lab host on the host address and port (`0.0.0.0` and `[::]` when
//! none was given), forwarding every TCP connection and every UDP exchange to the container's
//! address and port. It is what answers a published port from the host's own loopback, from
//! IPv6 clients, and from containers (whose traffic the firewall leaves un-DNATed), as
//! libnetwork's `portmapper` does with one `docker-proxy` process per binding.
//!
//! Listening sockets are opened inside the host namespace; the connections towards the
//! container are opened from the services runtime's worker threads, which live in the lab
//! host (no thread of netsh ever changes namespace, see ARCHITECTURE.md).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

use crate::kernel::netns;
use crate::model::docker::Proto;

/// How long a UDP exchange lives without traffic (docker-proxy's `UDPConnTrackTimeout`).
const UDP_IDLE: Duration = Duration::from_secs(90);

/// One listener: where it listens and which port of the container it forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub proto: Proto,
    pub listen: SocketAddr,
    pub container_port: u16,
}

/// The container's address the proxies forward to; it changes when the container's gateway
/// endpoint does.
type Target = Arc<RwLock<IpAddr>>;

impl Binding {
    /// Go's name of the listening network, as Docker's errors print it: `tcp4`, `udp6` …
    pub fn network(&self) -> String {
        let family = if self.listen.is_ipv4() { "4" } else { "6" };
        format!("{}{family}", self.proto.name())
    }
}

/// The running proxies of one container. [`Proxies::stop`] closes them and waits until the
/// ports are free; dropping them stops them without waiting.
pub struct Proxies {
    tasks: Vec<JoinHandle<()>>,
    target: Target,
}

impl Drop for Proxies {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Proxies {
    /// Forwards new connections and exchanges to `ip` from now on (Docker re-points its
    /// proxies when the container's gateway endpoint changes).
    pub fn retarget(&self, ip: IpAddr) {
        if let Ok(mut t) = self.target.write() {
            *t = ip;
        }
    }

    /// Stops every listener and every connection it carries, and returns once their
    /// sockets are closed (so the port can be bound again at once).
    pub fn stop(mut self, rt: &tokio::runtime::Runtime) {
        let tasks = std::mem::take(&mut self.tasks);
        for t in &tasks {
            t.abort();
        }
        rt.block_on(async {
            for t in tasks {
                let _ = t.await;
            }
        });
    }
}

/// A listening socket for `b` in namespace `ns`: TCP with `SO_REUSEADDR` (as Go's
/// `net.Listen` sets it), IPv6 ones IPv6-only (Go's `tcp6`/`udp6`), so `0.0.0.0` and `[::]`
/// are two sockets, as Docker makes them.
fn listener(b: &Binding) -> io::Result<Socket> {
    let domain = if b.listen.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let (ty, proto) = match b.proto {
        Proto::Tcp => (Type::STREAM, Protocol::TCP),
        Proto::Udp => (Type::DGRAM, Protocol::UDP),
    };
    let s = Socket::new(domain, ty, Some(proto))?;
    if domain == Domain::IPV6 {
        s.set_only_v6(true)?;
    }
    if b.proto == Proto::Tcp {
        s.set_reuse_address(true)?;
    }
    s.bind(&b.listen.into())?;
    if b.proto == Proto::Tcp {
        s.listen(128)?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Starts a proxy for each binding, listening in namespace `ns` and forwarding to `target`.
/// All or nothing: if one listener cannot be had, none is kept, and the error names the
/// binding that failed.
pub fn start(
    rt: &tokio::runtime::Handle,
    ns: BorrowedFd<'_>,
    bindings: &[Binding],
    target: IpAddr,
) -> Result<Proxies, (Binding, io::Error)> {
    let bindings = bindings.to_vec();
    let sockets = netns::run_in(ns, move || {
        let mut out = Vec::new();
        for b in bindings {
            match listener(&b) {
                Ok(s) => out.push((b, s)),
                Err(e) => return Ok(Err((b, e))),
            }
        }
        Ok(Ok(out))
    });
    let sockets = match sockets {
        Ok(Ok(s)) => s,
        Ok(Err(failed)) => return Err(failed),
        Err(e) => {
            return Err((
                Binding {
                    proto: Proto::Tcp,
                    listen: SocketAddr::from(([0, 0, 0, 0], 0)),
                    container_port: 0,
                },
                e,
            ))
        }
    };
    let _entered = rt.enter();
    let mut proxies = Proxies {
        tasks: Vec::new(),
        target: Arc::new(RwLock::new(target)),
    };
    for (b, s) in sockets {
        let to = (proxies.target.clone(), b.container_port);
        let task = match b.proto {
            Proto::Tcp => match TcpListener::from_std(s.into()) {
                Ok(l) => rt.spawn(proxy_tcp(l, to)),
                Err(e) => return Err((b, e)),
            },
            Proto::Udp => match UdpSocket::from_std(s.into()) {
                Ok(u) => rt.spawn(proxy_udp(Arc::new(u), to)),
                Err(e) => return Err((b, e)),
            },
        };
        proxies.tasks.push(task);
    }
    Ok(proxies)
}

/// Where to forward now.
fn current((ip, port): &(Target, u16)) -> SocketAddr {
    let ip = ip
        .read()
        .map(|g| *g)
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    SocketAddr::new(ip, *port)
}

/// Accepts connections and joins each to a new connection to the target; a connection the
/// target refuses is closed. The connections belong to this task and end with it.
async fn proxy_tcp(listener: TcpListener, to: (Target, u16)) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut client, _)) = accepted else { continue };
                let target = current(&to);
                conns.spawn(async move {
                    let Ok(mut upstream) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Relays datagrams: each client gets a socket of its own towards the target (so replies
/// find their way back), kept while the exchange is alive.
async fn proxy_udp(sock: Arc<UdpSocket>, to: (Target, u16)) {
    let clients: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut relays = JoinSet::new();
    let mut buf = vec![0u8; 65535];
    loop {
        tokio::select! {
            got = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                let known = clients.lock().ok().and_then(|m| m.get(&from).cloned());
                let upstream = match known {
                    Some(u) => u,
                    None => {
                        let target = current(&to);
                        let local: SocketAddr = if target.is_ipv4() {
                            ([0, 0, 0, 0], 0).into()
                        } else {
                            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                        };
                        let Ok(u) = UdpSocket::bind(local).await else { continue };
                        if u.connect(target).await.is_err() {
                            continue;
                        }
                        let u = Arc::new(u);
                        if let Ok(mut m) = clients.lock() {
                            m.insert(from, u.clone());
                        }
                        relays.spawn(relay_back(u.clone(), sock.clone(), from, clients.clone()));
                        u
                    }
                };
                let _ = upstream.send(&buf[..n]).await;
            }
            Some(_) = relays.join_next(), if !relays.is_empty() => {}
        }
    }
}

/// Sends what the container answers back to `client`, until the exchange goes idle.
async fn relay_back(
    upstream: Arc<UdpSocket>,
    sock: Arc<UdpSocket>,
    client: SocketAddr,
    clients: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>>,
) {
    let mut buf = vec![0u8; 65535];
    while let Ok(Ok(n)) = tokio::time::timeout(UDP_IDLE, upstream.recv(&mut buf)).await {
        if sock.send_to(&buf[..n], client).await.is_err() {
            break;
        }
    }
    if let Ok(mut m) = clients.lock() {
        m.remove(&client);
    }
}
