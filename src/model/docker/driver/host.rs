//! The host driver: the predefined `host` network. Its containers live in the host's own
//! namespace; there is nothing to build and no address to hand out.

use super::NetworkDriver;
use crate::model::docker::DockerError;

pub struct Host;

impl NetworkDriver for Host {
    fn name(&self) -> &'static str {
        "host"
    }

    fn check_create(&self) -> Result<(), DockerError> {
        Err(DockerError::SingleInstance(self.name().into()))
    }

    fn shares_host_namespace(&self) -> bool {
        true
    }
}
