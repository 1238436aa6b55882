//! Pure rules, no I/O: what names and addresses netsh accepts, and why not.
//! Unit-tested without privileges.

pub mod addr;
pub mod docker;
pub mod names;
