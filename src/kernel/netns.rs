//! Network namespaces held by file descriptors, and running code inside them.
//!
//! `setns(2)` and `unshare(2)` change only the calling thread, so every excursion into a
//! namespace happens on a short-lived thread of its own: the thread that called us, and the
//! tokio workers, never change namespace. A socket keeps the namespace it was created in, so
//! the usual pattern is "create the socket inside, use it from anywhere".

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::mpsc;
use std::thread;

use nix::sched::{setns, unshare, CloneFlags};

/// `/proc/self` is the main thread; a thread that moved must look at itself.
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// The network namespace of the calling thread, as a file descriptor that keeps it alive.
pub fn current() -> io::Result<OwnedFd> {
    Ok(File::open(THREAD_NETNS)?.into())
}

/// Creates a new, empty network namespace (only `lo`, DOWN) with the lab's defaults, and
/// runs `f` inside it on the same thread (one thread, not two, for "create it and open a
/// socket in it"). Returns a descriptor that keeps the namespace alive, and what `f`
/// returned. (The lab itself makes its namespaces with a [`Factory`].)
#[cfg(test)]
pub fn create_with<T, F>(f: F) -> io::Result<(OwnedFd, T)>
where
    T: Send,
    F: FnOnce() -> io::Result<T> + Send,
{
    on_own_thread(|| {
        unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        write_own_sysctls(&defaults())?;
        Ok((current()?, f()?))
    })
}

/// What a new namespace gets as it is made: its sysctls (after the lab's defaults), and
/// whether its `lo` comes up.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kind {
    pub sysctls: Vec<(String, String)>,
    pub lo_up: bool,
}

/// Makes network namespaces on a thread of its own, and, once asked for several alike in a
/// row, the next one ahead of time.
///
/// A namespace costs the kernel about a third of a Docker container's set-up (`setup_net`
/// builds every protocol's state; the first look at the new `/proc/sys/net` compares
/// against every other namespace's), and none of that needs the netlink work the caller
/// does next. So after [`Factory::AHEAD_AFTER`] namespaces with the same settings in a
/// row, the factory makes the next one while the caller wires the last: on a machine with
/// a second core the two run at once. At most one namespace is made ahead; one nobody
/// asks for is let go with the factory.
///
/// The worker returns to the namespace it started in after each one: a thread inside a
/// namespace keeps it alive, and a namespace the lab deletes must go.
pub struct Factory {
    requests: Option<mpsc::Sender<Kind>>,
    made: mpsc::Receiver<io::Result<(OwnedFd, OwnedFd)>>,
    worker: Option<thread::JoinHandle<()>>,
    /// The kind of the namespace being made ahead, if one is.
    ahead: Option<Kind>,
    /// The kind asked for last, and how many times in a row.
    streak: (Kind, usize),
}

impl Factory {
    /// How many namespaces alike in a row before the factory makes the next one ahead (a
    /// lab of a few containers wastes none).
    pub const AHEAD_AFTER: usize = 3;

    /// Starts the worker thread, in the calling thread's namespace. `make` runs inside
    /// each new namespace after its settings are written, and returns a descriptor made
    /// there (a netlink socket); it runs on the worker, so it must be a plain function.
    pub fn start(make: fn() -> io::Result<OwnedFd>) -> io::Result<Factory> {
        let home = current()?;
        let (req_tx, req_rx) = mpsc::channel::<Kind>();
        let (made_tx, made_rx) = mpsc::channel();
        let worker = thread::Builder::new()
            .name("netns-factory".into())
            .spawn(move || {
                for kind in req_rx {
                    let made = make_one(&kind, make);
                    // Back home, so that this thread keeps no namespace alive; a worker
                    // that cannot go back stops.
                    if let Err(e) = setns(home.as_fd(), CloneFlags::CLONE_NEWNET) {
                        let _ = made_tx.send(Err(e.into()));
                        return;
                    }
                    if made_tx.send(made).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Factory {
            requests: Some(req_tx),
            made: made_rx,
            worker: Some(worker),
            ahead: None,
            streak: (Kind::default(), 0),
        })
    }

    /// A new namespace of `kind` (the lab's defaults and its sysctls written, its `lo` up
    /// if asked), with what `make` returned in it: (namespace, descriptor).
    pub fn create(&mut self, kind: &Kind) -> io::Result<(OwnedFd, OwnedFd)> {
        if self.streak.0 == *kind {
            self.streak.1 += 1;
        } else {
            self.streak = (kind.clone(), 1);
        }
        let made = match self.ahead.take() {
            Some(ahead) if ahead == *kind => self.receive(),
            Some(_) => {
                // Made ahead as another kind: let it go.
                let _ = self.receive();
                self.ask(kind)?;
                self.receive()
            }
            None => {
                self.ask(kind)?;
                self.receive()
            }
        };
        if made.is_ok() && self.streak.1 >= Self::AHEAD_AFTER && self.ask(kind).is_ok() {
            self.ahead = Some(kind.clone());
        }
        made
    }

    fn ask(&self, kind: &Kind) -> io::Result<()> {
        self.requests
            .as_ref()
            .and_then(|r| r.send(kind.clone()).ok())
            .ok_or_else(|| io::Error::other("the namespace factory thread has stopped"))
    }

    fn receive(&self) -> io::Result<(OwnedFd, OwnedFd)> {
        self.made
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the namespace factory thread has stopped")))
    }
}

impl Drop for Factory {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// On the calling thread: a new namespace of `kind`, and `make`'s descriptor in it.
fn make_one(kind: &Kind, make: fn() -> io::Result<OwnedFd>) -> io::Result<(OwnedFd, OwnedFd)> {
    unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    let mut all = defaults();
    all.extend(kind.sysctls.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    write_own_sysctls(&all)?;
    if kind.lo_up {
        own_loopback_up()?;
    }
    Ok((current()?, make()?))
}

/// Sets IFF_UP on the calling thread's `lo` with `SIOCSIFFLAGS` (what `ifconfig lo up`
/// does; the kernel runs the same `dev_change_flags` as for `ip link set dev lo up`).
fn own_loopback_up() -> io::Result<()> {
    use nix::libc;
    use std::os::fd::AsRawFd;
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // SAFETY: ifreq is plain old data for which all-zero bytes are valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write a `struct ifreq`, which `req` is,
    // and it outlives both calls; the flags member is the one these ioctls use.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The settings of [`lab_defaults`], as (key, value).
fn defaults() -> Vec<(&'static str, &'static str)> {
    vec![
        ("net.ipv6.conf.all.accept_dad", "0"),
        ("net.ipv6.conf.default.accept_dad", "0"),
    ]
}

/// Settings every lab namespace gets, written from a thread inside it (`/proc/sys/net`
/// shows the calling thread's namespace).
///
/// IPv6 duplicate address detection keeps a new address "tentative" (unusable) for about a
/// second. Every address in a lab is assigned by the lab itself, so there is nothing to
/// detect, and scripts can use an address the moment they add it.
pub fn lab_defaults() -> io::Result<()> {
    write_own_sysctls(&defaults())
}

/// Runs `f` on a fresh thread that has entered the namespace `ns`.
pub fn run_in<T, F>(ns: BorrowedFd<'_>, f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> io::Result<T> + Send,
{
    on_own_thread(move || {
        setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        f()
    })
}

fn on_own_thread<T, F>(f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> io::Result<T> + Send,
{
    thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace worker thread panicked")))
    })
}

/// Writes a sysctl of the namespace `ns` (`/proc/sys/net` shows the reading thread's
/// namespace, so the write happens from inside it).
pub fn write_sysctl(ns: BorrowedFd<'_>, key: &str, value: &str) -> io::Result<()> {
    run_in(ns, move || write_own_sysctl(key, value))
}

/// Writes a sysctl of the calling thread's namespace.
pub fn write_own_sysctl(key: &str, value: &str) -> io::Result<()> {
    std::fs::write(format!("/proc/sys/{}", key.replace('.', "/")), value)
}

/// Writes several sysctls of the calling thread's namespace, in order.
///
/// Every name under `/proc/sys/net` is there once per namespace, and the kernel looks a path
/// up component by component among all of them (telling them apart one by one), so with a
/// thousand namespaces the lookup costs more than the write. Keys are therefore written
/// relative to their grandparent folder (`net/ipv6/conf` for `net.ipv6.conf.all.x`), opened
/// once for all the keys under it.
pub fn write_own_sysctls(entries: &[(&str, &str)]) -> io::Result<()> {
    use nix::fcntl::{openat, OFlag};
    use nix::sys::stat::Mode;
    use std::io::Write;

    let mut dirs: Vec<(String, OwnedFd)> = Vec::new();
    for (key, value) in entries {
        let parts: Vec<&str> = key.split('.').collect();
        let split = parts.len().saturating_sub(2);
        let dir = format!("/proc/sys/{}", parts[..split].join("/"));
        let leaf = parts[split..].join("/");
        let at = match dirs.iter().position(|(d, _)| *d == dir) {
            Some(i) => i,
            None => {
                let fd = nix::fcntl::open(
                    dir.as_str(),
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(io::Error::from)?;
                dirs.push((dir, fd));
                dirs.len() - 1
            }
        };
        let fd = openat(
            dirs[at].1.as_fd(),
            leaf.as_str(),
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)?;
        File::from(fd).write_all(value.as_bytes())?;
    }
    Ok(())
}

/// Reads a sysctl of the namespace `ns`.
pub fn read_sysctl(ns: BorrowedFd<'_>, key: &str) -> io::Result<String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    run_in(ns, move || {
        Ok(std::fs::read_to_string(&path)?.trim().to_string())
    })
}

#[cfg(test)]
pub use test_support::test_loopback_up;

/// Test support shared by the modules whose live tests need a namespace with `lo` up.
#[cfg(test)]
mod test_support {
    use std::io;
    use std::os::fd::BorrowedFd;

    /// Sets IFF_UP on `lo` with SIOCSIFFLAGS, the ioctl ifconfig(8) uses, so the test needs
    /// neither ip(8) nor netlink.
    pub fn test_loopback_up(ns: BorrowedFd<'_>) -> io::Result<()> {
        super::run_in(ns, super::own_loopback_up)
    }
}
