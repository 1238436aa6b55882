//! Everything a script can call. Each submodule registers one family of bindings; the
//! one-line descriptions for `:help` and completion live in [`super::help`].

mod asserts;
mod netns;
mod probe;

use std::rc::Rc;

use rhai::{Dynamic, Engine, EvalAltResult};

use super::diagnostic::runtime;
use crate::kernel::HOST;
use crate::lab::{Lab, LabError};

pub use netns::Netns;

pub fn register(engine: &mut Engine, lab: &Rc<Lab>) {
    netns::register(engine, lab);
    probe::register(engine, lab);
    asserts::register(engine);
}

pub type Res<T> = Result<T, Box<EvalAltResult>>;

fn lab_err(e: LabError) -> Box<EvalAltResult> {
    runtime(e.to_string())
}

/// Wherever a namespace is expected, a `Netns` object or its name (a string) works.
fn ns_name(lab: &Lab, value: &Dynamic) -> Res<String> {
    let name = if let Some(ns) = value.read_lock::<Netns>() {
        ns.name.clone()
    } else if value.is_string() {
        value.to_string()
    } else {
        return Err(runtime(format!(
            "expected a network namespace (a netns object or its name), got {}",
            value.type_name()
        )));
    };
    lab.check_ns(&name).map_err(lab_err)?;
    Ok(name)
}

fn is_host(name: &str) -> bool {
    name == HOST
}
