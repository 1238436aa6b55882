//! Network namespaces held by file descriptors, and running code inside them.
//!
//! `setns(2)` and `unshare(2)` change only the calling thread, so every excursion into a
//! namespace happens on a short-lived thread of its own: the thread that called us, and the
//! tokio workers, never change namespace. A socket keeps the namespace it was created in, so
//! the usual pattern is "create the socket inside, use it from anywhere".

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::thread;

use nix::sched::{setns, unshare, CloneFlags};

/// `/proc/self` is the main thread; a thread that moved must look at itself.
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// The network namespace of the calling thread, as a file descriptor that keeps it alive.
pub fn current() -> io::Result<OwnedFd> {
    Ok(File::open(THREAD_NETNS)?.into())
}

/// Creates a new, empty network namespace (only `lo`, DOWN) and runs `f` inside it on the
/// same thread (one thread, not two, for "create it and open a socket in it"). Returns a
/// descriptor that keeps the namespace alive, and what `f` returned.
#[cfg(test)]
pub fn create_with<T, F>(f: F) -> io::Result<(OwnedFd, T)>
where
    T: Send,
    F: FnOnce() -> io::Result<T> + Send,
{
    create_with_sysctls(&[], f)
}

/// [`create_with`], writing `sysctls` (`net.…` keys) in the new namespace after the lab's
/// defaults and before `f` runs.
pub fn create_with_sysctls<T, F>(sysctls: &[(String, String)], f: F) -> io::Result<(OwnedFd, T)>
where
    T: Send,
    F: FnOnce() -> io::Result<T> + Send,
{
    on_own_thread(|| {
        unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        let mut all = defaults();
        all.extend(sysctls.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        write_own_sysctls(&all)?;
        Ok((current()?, f()?))
    })
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
    use std::os::fd::{AsRawFd, BorrowedFd};

    use socket2::{Domain, Socket, Type};

    /// Sets IFF_UP on `lo` with SIOCSIFFLAGS, the ioctl ifconfig(8) uses, so the test needs
    /// neither ip(8) nor netlink.
    pub fn test_loopback_up(ns: BorrowedFd<'_>) -> io::Result<()> {
        use nix::libc;
        super::run_in(ns, || {
            let sock = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
            // SAFETY: ifreq is plain old data for which all-zero bytes are valid.
            let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
            for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
                *dst = *src as libc::c_char;
            }
            // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write a `struct ifreq`, which `req`
            // is, and it outlives both calls; the flags member is the one these ioctls use.
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
        })
    }
}
