//! Assertions that fail the script with its file, line and column.

use std::time::Duration;

use rhai::{Dynamic, Engine, NativeCallContext};

use super::probe::PingResult;
use super::Res;
use crate::script::diagnostic::{assertion, runtime};
use crate::script::limits;

/// `assert` accepts a bool, or a ping result (true when the target answered).
fn truthy(value: &Dynamic) -> Res<bool> {
    if let Ok(b) = value.as_bool() {
        return Ok(b);
    }
    if let Some(p) = value.read_lock::<PingResult>() {
        return Ok(p.report.ok());
    }
    Err(runtime(format!(
        "assert() expects a bool or a ping result, got {}",
        crate::script::diagnostic::type_words(value.type_name())
    )))
}

fn show(v: &Dynamic) -> String {
    if v.is_string() {
        format!("{:?}", v.to_string())
    } else {
        v.to_string()
    }
}

fn equal(ctx: &NativeCallContext, a: &Dynamic, b: &Dynamic) -> Res<bool> {
    if a.type_name() != b.type_name() {
        return Ok(false);
    }
    ctx.call_native_fn::<bool>("==", (a.clone(), b.clone()))
}

pub fn register(engine: &mut Engine) {
    engine
        .register_fn("assert", |cond: Dynamic| -> Res<()> {
            if truthy(&cond)? {
                return Ok(());
            }
            let detail = cond
                .read_lock::<PingResult>()
                .map(|p| format!("\n  got: {}", p.report.summary()))
                .unwrap_or_default();
            Err(assertion(format!("condition is false{detail}")))
        })
        .register_fn("assert", |cond: Dynamic, msg: &str| -> Res<()> {
            if truthy(&cond)? {
                Ok(())
            } else {
                Err(assertion(msg))
            }
        })
        .register_fn(
            "assert_eq",
            |ctx: NativeCallContext, a: Dynamic, b: Dynamic| -> Res<()> {
                if equal(&ctx, &a, &b)? {
                    return Ok(());
                }
                Err(assertion(format!(
                    "values differ\n   left: {}\n  right: {}",
                    show(&a),
                    show(&b)
                )))
            },
        )
        .register_fn(
            "assert_eq",
            |ctx: NativeCallContext, a: Dynamic, b: Dynamic, msg: &str| -> Res<()> {
                if equal(&ctx, &a, &b)? {
                    return Ok(());
                }
                Err(assertion(format!(
                    "{msg}\n   left: {}\n  right: {}",
                    show(&a),
                    show(&b)
                )))
            },
        )
        .register_fn(
            "assert_ne",
            |ctx: NativeCallContext, a: Dynamic, b: Dynamic| -> Res<()> {
                if !equal(&ctx, &a, &b)? {
                    return Ok(());
                }
                Err(assertion(format!(
                    "values are equal, expected them to differ\n  both: {}",
                    show(&a)
                )))
            },
        )
        .register_fn("fail", |msg: &str| -> Res<()> { Err(assertion(msg)) })
        .register_fn("sleep", |ms: i64| -> Res<()> {
            let ms = u64::try_from(ms).map_err(|_| {
                runtime(format!(
                    "sleep() needs a non-negative number of ms, got {ms}"
                ))
            })?;
            // The script's deadline comes first (see script::limits), and Ctrl-C in the
            // REPL ends the wait (see crate::interrupt).
            let wait = Duration::from_millis(ms);
            let (wait, cut) = match limits::remaining() {
                Some(left) if left < wait => (left, true),
                _ => (wait, false),
            };
            let start = std::time::Instant::now();
            loop {
                if let Some(stop) = limits::interrupted() {
                    return Err(stop);
                }
                let left = wait.saturating_sub(start.elapsed());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(crate::interrupt::SLICE));
            }
            if cut {
                Err(limits::timed_out())
            } else {
                Ok(())
            }
        });
}
