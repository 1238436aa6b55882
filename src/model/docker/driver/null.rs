//! The null driver: the predefined `none` network. Its containers have a namespace of
//! their own with only `lo`, and may be on no other network.

use super::NetworkDriver;
use crate::model::docker::DockerError;

pub struct Null;

impl NetworkDriver for Null {
    fn name(&self) -> &'static str {
        "null"
    }

    fn check_create(&self) -> Result<(), DockerError> {
        Err(DockerError::SingleInstance(self.name().into()))
    }

    fn exclusive(&self) -> bool {
        true
    }
}
