//! Everything a script can call. Each submodule registers one family of bindings; the
//! one-line descriptions for `:help` and completion live in [`super::help`].

mod asserts;
mod docker;
mod docker_front;
mod front;
mod netns;
mod probe;
mod services;
pub mod testing;

use std::rc::Rc;

use rhai::{Dynamic, Engine, EvalAltResult, Map};

use super::diagnostic::runtime;
use crate::kernel::HOST;
use crate::lab::services::Who;
use crate::lab::{Lab, LabError};

pub use netns::Netns;

pub fn register(engine: &mut Engine, lab: &Rc<Lab>, tests: &Rc<testing::TestContext>) {
    testing::register(engine, tests);
    netns::register(engine, lab);
    docker::register(engine, lab);
    docker_front::register(engine, lab);
    services::register(engine, lab);
    probe::register(engine, lab);
    front::register(engine, lab);
    asserts::register(engine);
}

pub type Res<T> = Result<T, Box<EvalAltResult>>;

fn lab_err(e: LabError) -> Box<EvalAltResult> {
    runtime(e.to_string())
}

/// Wherever a namespace is expected, a `Netns` object, a container, or the name of either
/// works; a container stands for the namespace its processes see.
fn ns_name(lab: &Lab, value: &Dynamic) -> Res<String> {
    if let Some(ns) = value.read_lock::<Netns>() {
        return Ok(ns.name.clone());
    }
    if let Some(c) = value.read_lock::<docker::ContainerRef>() {
        return lab.container_ns(&c.id).map_err(lab_err);
    }
    if !value.is_string() {
        return Err(runtime(format!(
            "expected a network namespace or a container (an object or its name), got {}",
            crate::script::diagnostic::type_words(value.type_name())
        )));
    }
    let name = value.to_string();
    if lab.has_ns(&name) {
        return Ok(name);
    }
    if let Ok(ns) = lab.container_ns(&name) {
        return Ok(ns);
    }
    let mut known = vec!["host".to_string()];
    known.extend(lab.namespaces().into_iter().rev());
    let containers: Vec<String> = lab
        .docker()
        .containers()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let containers = if containers.is_empty() {
        String::new()
    } else {
        format!("; containers: {}", containers.join(", "))
    };
    Err(runtime(format!(
        "network namespace \"{name}\" does not exist, nor a container by that name \
         (namespaces: {}{containers})",
        known.join(", ")
    )))
}

/// A string option of a `#{…}` map; `()` counts as absent.
pub(super) fn str_opt(map: &Map, key: &str, what: &str) -> Res<Option<String>> {
    match map.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) if v.is_string() => Ok(Some(v.to_string())),
        Some(v) => Err(runtime(format!(
            "{what} option \"{key}\" must be a string, got {}",
            crate::script::diagnostic::type_words(v.type_name())
        ))),
    }
}

/// A sender argument (a container or namespace object, or the name of either) as the lab's
/// [`Who`]: a container stands for the namespace its processes see.
/// The interface names of the namespace or container `value` stands for (an object or its
/// name); none when it names nothing. For the REPL's completion.
pub fn interface_names(lab: &Lab, value: &Dynamic) -> Vec<String> {
    ns_name(lab, value)
        .and_then(|ns| lab.links(&ns).map_err(lab_err))
        .map(|links| links.into_iter().map(|l| l.name).collect())
        .unwrap_or_default()
}

fn who(lab: &Lab, value: &Dynamic) -> Res<Who> {
    let container = if let Some(c) = value.read_lock::<docker::ContainerRef>() {
        Some(c.id.clone())
    } else if value.is_string() && !lab.has_ns(&value.to_string()) {
        let key = value.to_string();
        lab.docker().container(&key).ok().map(|c| c.id.clone())
    } else {
        None
    };
    match container {
        Some(id) => lab.container_who(&id).map_err(lab_err),
        None => Ok(lab.netns_who(&ns_name(lab, value)?)),
    }
}

fn is_host(name: &str) -> bool {
    name == HOST
}
