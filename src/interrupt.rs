//! Ctrl-C in the REPL: a request to stop the entry under way, never the lab.
//!
//! The REPL installs a SIGINT handler ([`install`]) that only sets a flag. Rhai's
//! `on_progress` callback (script::limits) turns the flag into an error between operations,
//! and the waits that can block for long (a ping's echo exchange, an `exec`'s program,
//! `sleep`) look at it at least every [`SLICE`], so they return early and the entry unwinds
//! like one that reached its `--timeout`. Scripts keep SIGINT's default: it ends netsh and the
//! kernel frees the lab.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How long a blocking wait may go without looking at the flag.
pub const SLICE: Duration = Duration::from_millis(100);

static REQUESTED: AtomicBool = AtomicBool::new(false);
static PRESSES: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigint(_: nix::libc::c_int) {
    // Atomic stores are async-signal-safe.
    REQUESTED.store(true, Ordering::SeqCst);
    PRESSES.fetch_add(1, Ordering::SeqCst);
}

/// Makes SIGINT set the flag instead of ending the process. `SA_RESTART`, so a system call
/// on another thread (a tokio worker, a DNS server) is restarted rather than failing.
pub fn install() -> nix::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic.
    unsafe { sigaction(Signal::SIGINT, &action) }.map(|_| ())
}

/// Whether Ctrl-C was pressed since the last [`clear`].
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Forgets an earlier Ctrl-C (called as each evaluation starts).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// How many times Ctrl-C was pressed since netsh started (a command that handled its Ctrl-C
/// itself clears [`requested`], not this).
pub fn presses() -> u64 {
    PRESSES.load(Ordering::SeqCst)
}
