//! Servers netsh runs inside the lab: the embedded DNS server, test responders.

pub mod dns;
pub mod proxy;
pub mod responder;
