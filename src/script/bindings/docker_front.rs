//! `docker("network create -d bridge bridge2")`: a docker command line run against the lab
//! (see `front::docker` for the parsing, `front::docker_exec` for the execution), and
//! `docker_status()`, the exit status of the last one.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use rhai::Engine;

use super::Res;
use crate::front::docker_exec::{run_line, Context};
use crate::lab::Lab;
use crate::script::diagnostic::runtime;
use crate::script::limits;

/// How long `docker exec` (and `docker run` without `-d`) lets a program run when the
/// script has no deadline of its own.
const EXEC_TIMEOUT: Duration = Duration::from_secs(600);

pub fn register(engine: &mut Engine, lab: &Rc<Lab>) {
    let status = Rc::new(Cell::new(0_i64));

    // docker(line) -> String: `line` is a docker command line without the leading
    // `docker`, split into words as a shell splits them. Returns exactly what Docker prints
    // on stdout (final newline included: the full ID on `run -d`/`create`/`network create`,
    // tables, JSON, a program's output for `exec`; "" when Docker prints nothing). On failure
    // raises an error whose text is what Docker prints on stderr (`Error response from
    // daemon: …`; `docker: … See 'docker run --help'.` for `run`/`create`; the CLI's own
    // words for argument errors), and `docker_status()` then returns Docker's exit status:
    // 125 for `run`/`create` errors and for flag errors, 1 for daemon and argument errors,
    // the program's exit code for `exec` and attached `run` (whose error text is the
    // program's stderr, or its stdout when stderr is empty), 127 for a `run` and 126 for an
    // `exec` whose program is not there (Docker 20.10's runtime). After a success
    // `docker_status()` is 0.
    let l = lab.clone();
    let st = status.clone();
    engine.register_fn("docker", move |line: &str| -> Res<String> {
        let exec_timeout = match limits::remaining() {
            Some(left) if left.is_zero() => return Err(limits::timed_out()),
            Some(left) => left.min(EXEC_TIMEOUT),
            None => EXEC_TIMEOUT,
        };
        match run_line(&l, line, &Context { exec_timeout }) {
            Ok(out) => {
                st.set(0);
                Ok(out)
            }
            Err(f) => {
                st.set(i64::from(f.status));
                let text = if f.stderr.is_empty() {
                    f.stdout.trim_end_matches('\n').to_string()
                } else {
                    f.stderr
                };
                // On the REPL's terminal the words print as Docker prints them (or
                // streamed already; see crate::live).
                crate::live::failed(&text);
                Err(runtime(text))
            }
        }
    });
    // docker_status() -> int: the exit status of the last docker(…) call (0: success;
    // 125: a `run`/`create` or flag error; 1: a daemon or argument error; for `exec` and
    // attached `run`, the program's exit code; 126/127: `exec`/`run` of a program that is
    // not there); 0 before any call.
    engine.register_fn("docker_status", move || status.get());
}
