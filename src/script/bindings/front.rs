//! The command-line fronts as bindings: `ip("netns add ns1")`, `brctl("show")`,
//! `ping("-c 1 192.168.1.2")`, and `last_status()`, the exit status of the last of them.
//!
//! Each takes the command line without the program's name, split into words as a shell
//! splits them, runs it against the lab (see `crate::front`), and returns what the real
//! program prints on stdout. On failure it raises an error whose message is the program's
//! stderr (iproute2's `Cannot find device "veth9"`, bridge-utils' `bridge br0 doesn't
//! exist; can't delete it`) — for a ping that got no reply, which prints nothing on stderr,
//! its statistics — and `last_status()` then returns the program's exit status (0 after a
//! success): `try { ip("link del veth9") } catch (e) { print(last_status()) }` prints 1.

use std::cell::Cell;
use std::rc::Rc;

use rhai::Engine;

use super::Res;
use crate::front::{self, Env, Outcome};
use crate::lab::Lab;
use crate::script::diagnostic::runtime;
use crate::script::limits;

type Front = fn(&Env<'_>, &str) -> Outcome;

pub fn register(engine: &mut Engine, lab: &Rc<Lab>) {
    let status = Rc::new(Cell::new(0i64));
    let fronts: [(&str, Front); 3] = [
        ("ip", front::ip),
        ("brctl", front::brctl),
        ("ping", front::ping),
    ];
    for (name, run) in fronts {
        let l = lab.clone();
        let s = status.clone();
        engine.register_fn(name, move |line: &str| -> Res<String> {
            let env = Env::host(&l, limits::remaining());
            finish(&s, run(&env, line))
        });
    }
    engine.register_fn("last_status", move || status.get());
}

/// The outcome as a script sees it: stdout, or the program's words as an error; the exit
/// status kept for `last_status()`. A line the script's deadline stopped raises the
/// deadline's error, as every blocking binding does.
fn finish(status: &Cell<i64>, outcome: Outcome) -> Res<String> {
    match outcome {
        Ok(out) => {
            status.set(0);
            Ok(out)
        }
        Err(f) if f.deadline => Err(limits::timed_out()),
        Err(f) => {
            status.set(i64::from(f.status));
            let words = if f.stderr.is_empty() {
                f.stdout.trim_end().to_string()
            } else {
                f.stderr
            };
            // On the REPL's terminal the words print as the program prints them (or
            // streamed already; see crate::live).
            crate::live::failed(&words);
            Err(runtime(words))
        }
    }
}
