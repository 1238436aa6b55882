//! Fault injection for the tests of rollback: with `NETSH_TEST_FAIL_OP=N` in the
//! environment, the N-th kernel operation of the run (counted from 1, in `--trace` order,
//! rollback operations included) fails before it reaches the kernel, as a refused request
//! would. Without the variable nothing is counted and nothing fails. It lets a test break
//! every step of a Docker operation in turn and check that the lab is left as it was.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::{LabError, Result};
use crate::kernel::{Errno, KernelError, Op};

/// The variable's name.
pub const VAR: &str = "NETSH_TEST_FAIL_OP";

fn target() -> Option<usize> {
    static TARGET: OnceLock<Option<usize>> = OnceLock::new();
    *TARGET.get_or_init(|| std::env::var(VAR).ok()?.trim().parse().ok())
}

/// Counts `op` and fails it if it is the one `NETSH_TEST_FAIL_OP` names.
pub fn check(op: &Op) -> Result<()> {
    let Some(n) = target() else {
        return Ok(());
    };
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    if COUNT.fetch_add(1, Ordering::Relaxed) + 1 == n {
        return Err(LabError::Kernel(KernelError {
            what: op.to_string(),
            errno: Some(Errno::EIO),
            reason: format!("failure injected by {VAR}={n}"),
        }));
    }
    Ok(())
}
