//! Everything people read: views of kernel state rendered like the real commands.

pub mod docker;
pub mod inspect;
pub mod ip;
pub mod overview;
pub mod ping;
