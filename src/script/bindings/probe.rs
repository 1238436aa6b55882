//! Real packets: `ping(from, to)` and the reachability assertions built on it.

use std::rc::Rc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, Map};

use std::net::{IpAddr, Ipv4Addr};

use super::{lab_err, who, Res};
use crate::lab::Lab;
use crate::probe::ping::{PingOptions, PingReport};
use crate::script::diagnostic::{assertion, runtime};
use crate::script::limits;

/// What `ping()` returns: the report and who sent it.
#[derive(Clone)]
pub struct PingResult {
    /// The sender, as messages name it.
    pub from: String,
    /// The target as the script gave it (an address or a name).
    pub to: String,
    pub report: PingReport,
}

impl PingResult {
    fn describe(&self) -> String {
        if self.report.sent == 0 {
            if let Some(e) = &self.report.error {
                return format!("{} → {}: ping: {e}", self.from, self.to);
            }
        }
        let to = if self.to == self.report.target.to_string() {
            self.to.clone()
        } else {
            format!("{} ({})", self.to, self.report.target)
        };
        format!("{} → {to}: {}", self.from, self.report.summary())
    }
}

fn ms(d: Option<Duration>) -> Dynamic {
    d.map(|d| Dynamic::from(d.as_secs_f64() * 1000.0))
        .unwrap_or(Dynamic::UNIT)
}

fn options(map: &Map) -> Res<PingOptions> {
    let mut opts = PingOptions::default();
    for (key, value) in map {
        let n = value.as_int().map_err(|t| {
            runtime(format!(
                "ping option \"{key}\" must be an integer, got {}",
                crate::script::diagnostic::type_words(t)
            ))
        })?;
        let positive = |what: &str| -> Res<u64> {
            u64::try_from(n)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| runtime(format!("ping option \"{what}\" must be positive, got {n}")))
        };
        match key.as_str() {
            "count" => {
                opts.count = u32::try_from(positive("count")?)
                    .ok()
                    .filter(|c| *c <= 1000)
                    .ok_or_else(|| runtime("ping option \"count\" must be at most 1000"))?
            }
            "timeout" => opts.timeout = Duration::from_millis(positive("timeout")?),
            "interval" => opts.interval = Duration::from_millis(positive("interval")?),
            other => {
                return Err(runtime(format!(
                "unknown ping option \"{other}\" (expected count, timeout, interval; times in ms)"
            )))
            }
        }
    }
    Ok(opts)
}

/// `opts` shortened to end by the script's deadline (see script::limits and
/// [`crate::probe::ping::fit`]); `true` when it had to be shortened.
fn within_deadline(opts: &PingOptions) -> (PingOptions, bool) {
    match limits::remaining() {
        Some(left) => crate::probe::ping::fit(opts, left),
        None => (*opts, false),
    }
}

/// Pings `to` — an address, or a name resolved the way the sender would — from `from`.
/// A name the sender cannot resolve fails like busybox: `ping: bad address 'bb1'`. A ping
/// that would outlast the script's deadline stops there, and so does the script.
fn do_ping(lab: &Lab, from: &Dynamic, to: &str, opts: &PingOptions) -> Res<PingResult> {
    let who = who(lab, from)?;
    let Some(ip) = lab.resolve(&who.resolver, to.trim()).map_err(lab_err)? else {
        return Ok(PingResult {
            from: who.label,
            to: to.to_string(),
            report: PingReport {
                error: Some(format!("bad address '{to}'")),
                ..PingReport::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            },
        });
    };
    let (opts, cut) = within_deadline(opts);
    let report = lab.ping(&who.ns, &ip.to_string(), &opts).map_err(lab_err)?;
    if let Some(stop) = limits::interrupted() {
        return Err(stop);
    }
    if cut {
        return Err(limits::timed_out());
    }
    Ok(PingResult {
        from: who.label,
        to: to.to_string(),
        report,
    })
}

pub fn register(engine: &mut Engine, lab: &Rc<Lab>) {
    engine
        .register_type_with_name::<PingResult>("PingResult")
        .register_get("ok", |p: &mut PingResult| p.report.ok())
        .register_get("sent", |p: &mut PingResult| i64::from(p.report.sent))
        .register_get("received", |p: &mut PingResult| {
            i64::from(p.report.received)
        })
        .register_get("loss", |p: &mut PingResult| p.report.loss_percent())
        .register_get("rtts", |p: &mut PingResult| -> Array {
            p.report
                .rtts
                .iter()
                .map(|d| Dynamic::from(d.as_secs_f64() * 1000.0))
                .collect()
        })
        .register_get("min", |p: &mut PingResult| ms(p.report.min()))
        .register_get("avg", |p: &mut PingResult| ms(p.report.avg()))
        .register_get("max", |p: &mut PingResult| ms(p.report.max()))
        .register_get("from", |p: &mut PingResult| p.from.clone())
        .register_get("to", |p: &mut PingResult| p.report.target.to_string())
        .register_get("error", |p: &mut PingResult| {
            p.report
                .error
                .clone()
                .map(Dynamic::from)
                .unwrap_or(Dynamic::UNIT)
        })
        .register_fn("to_string", |p: &mut PingResult| p.describe())
        .register_fn("to_debug", |p: &mut PingResult| p.describe())
        .register_fn("!", |p: PingResult| !p.report.ok());

    let l = lab.clone();
    engine.register_fn("ping", move |from: Dynamic, to: &str| {
        do_ping(&l, &from, to, &PingOptions::default())
    });
    let l = lab.clone();
    engine.register_fn("ping", move |from: Dynamic, to: &str, opts: Map| {
        do_ping(&l, &from, to, &options(&opts)?)
    });

    for (name, want) in [("assert_reach", true), ("assert_no_reach", false)] {
        let l = lab.clone();
        let check = move |from: Dynamic, to: &str, opts: &PingOptions| -> Res<PingResult> {
            let p = do_ping(&l, &from, to, opts)?;
            if p.report.ok() == want {
                return Ok(p);
            }
            let expected = if want { "to reach" } else { "not to reach" };
            Err(assertion(format!(
                "expected {} {expected} {to}\n  got: {}",
                p.from,
                p.describe()
            )))
        };
        let c = check.clone();
        engine.register_fn(name, move |from: Dynamic, to: &str| {
            c(from, to, &PingOptions::default())
        });
        engine.register_fn(name, move |from: Dynamic, to: &str, opts: Map| {
            check(from, to, &options(&opts)?)
        });
    }
}
