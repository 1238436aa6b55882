//! Named tests, skips and golden outputs: `test`, `skip`, `assert_snapshot`.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext, Position};

use super::Res;
use crate::runner::snapshot::{self, Normalise};
use crate::script::diagnostic::{assertion, runtime};

/// How the running script's tests are run; set by the caller of the session.
#[derive(Debug, Default)]
pub struct TestContext {
    /// The script file (snapshots live beside it); `None` for `-e`, stdin and the REPL.
    pub script: RefCell<Option<PathBuf>>,
    /// Run only the test of this name (`netsh test` runs each in a lab of its own); `None`
    /// runs every test as it is reached.
    pub only: RefCell<Option<String>>,
    /// Rewrite snapshots instead of comparing (`netsh test --update`).
    pub update: Cell<bool>,
    /// Refuse to write a missing snapshot (on CI a missing snapshot is a failure).
    pub strict_snapshots: Cell<bool>,
    /// Whether the selected test was reached.
    pub reached: Cell<bool>,
}

/// A test skipped with `skip("reason")`: carried in a runtime error so the script stops there,
/// and told apart from failures by the runner.
#[derive(Debug, Clone)]
pub struct Skipped(pub String);

/// The skip reason, if `err` is a skip.
pub fn skipped(err: &EvalAltResult) -> Option<String> {
    match err.unwrap_inner() {
        EvalAltResult::ErrorRuntime(v, _) if v.is::<Skipped>() => Some(v.clone_cast::<Skipped>().0),
        _ => None,
    }
}

fn options(opts: &Map) -> Res<Normalise> {
    let mut n = Normalise::default();
    for (key, value) in opts {
        let on = value.as_bool().map_err(|t| {
            runtime(format!(
                "assert_snapshot option \"{key}\" must be a bool, got {t}"
            ))
        })?;
        match key.as_str() {
            "ids" => n.ids = on,
            "macs" => n.macs = on,
            "timestamps" => n.timestamps = on,
            other => {
                return Err(runtime(format!(
                    "unknown assert_snapshot option \"{other}\" (expected ids, macs, timestamps)"
                )))
            }
        }
    }
    Ok(n)
}

fn assert_snapshot(ctx: &TestContext, name: &str, text: &str, opts: Normalise) -> Res<()> {
    let script = ctx.script.borrow().clone().ok_or_else(|| {
        runtime("assert_snapshot needs a script file: snapshots live in snapshots/ beside it")
    })?;
    let path = snapshot::path(&script, name).map_err(runtime)?;
    let actual = snapshot::normalise(text, opts);
    let actual = if actual.ends_with('\n') {
        actual
    } else {
        format!("{actual}\n")
    };
    match std::fs::read_to_string(&path) {
        Ok(stored) if !ctx.update.get() => {
            if stored == actual {
                Ok(())
            } else {
                Err(assertion(format!(
                    "snapshot \"{name}\" differs from {} (run `netsh test --update` to accept \
                     the new output)\n{}",
                    path.display(),
                    snapshot::diff(&stored, &actual, &path)
                )))
            }
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound && !ctx.update.get() => Err(runtime(
            format!("cannot read snapshot {}: {}", path.display(), e.kind()),
        )),
        _ if ctx.strict_snapshots.get() && !ctx.update.get() => Err(assertion(format!(
            "snapshot \"{name}\" is missing ({}); on CI it is not written: run `netsh test` \
             (or `netsh test --update`) locally and commit it",
            path.display()
        ))),
        _ => {
            let write = || -> std::io::Result<()> {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&path, &actual)
            };
            write().map_err(|e| {
                runtime(format!(
                    "cannot write snapshot {}: {}",
                    path.display(),
                    e.kind()
                ))
            })?;
            eprintln!("snapshot written: {}", path.display());
            Ok(())
        }
    }
}

pub fn register(engine: &mut Engine, tests: &Rc<TestContext>) {
    let t = tests.clone();
    engine.register_fn(
        "test",
        move |ctx: NativeCallContext, name: &str, body: FnPtr| -> Res<()> {
            if name.is_empty() {
                return Err(runtime("test: the name must not be empty"));
            }
            let only = t.only.borrow().clone();
            if only.as_deref().is_some_and(|o| o != name) {
                return Ok(());
            }
            t.reached.set(true);
            body.call_within_context::<Dynamic>(&ctx, ()).map(|_| ())
        },
    );
    engine.register_fn("skip", |reason: &str| -> Res<()> {
        Err(
            EvalAltResult::ErrorRuntime(Dynamic::from(Skipped(reason.to_string())), Position::NONE)
                .into(),
        )
    });
    let t = tests.clone();
    engine.register_fn(
        "assert_snapshot",
        move |name: &str, text: &str| -> Res<()> {
            assert_snapshot(&t, name, text, Normalise::default())
        },
    );
    let t = tests.clone();
    engine.register_fn(
        "assert_snapshot",
        move |name: &str, text: &str, opts: Map| -> Res<()> {
            assert_snapshot(&t, name, text, options(&opts)?)
        },
    );
}
