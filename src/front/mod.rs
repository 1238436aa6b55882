//! Command-line fronts: a typed command line (`docker network create bridge2`) parsed into a
//! command value (pure, unit-tested without privileges) and carried out through the same
//! lab code as the bindings.

pub mod docker;
pub mod docker_exec;
pub mod gotmpl;
