//! Puts the whole netsh process inside its own user and network namespace.
//!
//! This runs first thing in `main`, while the process still has a single thread: the kernel
//! refuses `unshare(CLONE_NEWUSER)` to a multi-threaded process. Afterwards every namespace,
//! interface, route and rule netsh makes is owned by this private user namespace, so
//! - no root is needed (we are uid 0 with every capability *inside* it), and
//! - nothing can reach the machine's own network: the process has left the machine's network
//!   namespace, and the new one ("the lab host") is freed by the kernel with everything in it
//!   once the last thread or file descriptor holding it is gone, however netsh exits.

use std::fs;
use std::io;

use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getegid, geteuid};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SandboxError {
    #[error(
        "cannot create the lab's user namespace: {0}\n\
         hint: netsh needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, \
         user.max_user_namespaces > 0)"
    )]
    Unshare(nix::Error),
    #[error("cannot write {path}: {source}")]
    Map {
        path: &'static str,
        source: io::Error,
    },
}

/// Moves the calling (single-threaded) process into a fresh user namespace where it is root,
/// and a fresh network namespace that becomes the lab's host.
pub fn enter() -> Result<(), SandboxError> {
    let uid = geteuid();
    let gid = getegid();
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(SandboxError::Unshare)?;
    // An unprivileged process must give up setgroups(2) before it may write a gid map
    // (user_namespaces(7), since Linux 3.19).
    write_map("/proc/self/setgroups", "deny")?;
    write_map("/proc/self/uid_map", &format!("0 {uid} 1"))?;
    write_map("/proc/self/gid_map", &format!("0 {gid} 1"))?;
    Ok(())
}

fn write_map(path: &'static str, content: &str) -> Result<(), SandboxError> {
    fs::write(path, content).map_err(|source| SandboxError::Map { path, source })
}
