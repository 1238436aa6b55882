//! Real packets sent from inside namespaces.

pub mod dns;
pub mod ping;
pub mod tcp;
