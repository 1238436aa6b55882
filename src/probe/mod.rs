//! Real packets sent from inside namespaces.

pub mod ping;
