//! What one evaluation may consume: wall-clock time, Rhai operations, nesting, and the size
//! of strings, arrays and maps. Every limit has a default that keeps a runaway script from
//! hanging or exhausting the machine, and a command-line flag that raises it (0 = none).
//!
//! Time is checked by Rhai's `on_progress` callback, which the engine calls before every
//! operation: no other thread is involved, so a script stopped by its deadline unwinds like
//! any other error and the lab is freed as on every exit. Bindings that block (`sleep`,
//! `exec`, `ping`) shorten their own waits to the time left ([`remaining`]). The same checks
//! stop a REPL entry on Ctrl-C: a flag the SIGINT handler sets ([`crate::interrupt`]).
//!
//! The same callback guards netsh's own stack: Rhai evaluates nested calls, imports and
//! expressions by recursion on the main thread, so with a high or no `--max-call-depth` a
//! deep recursion would overflow the stack and abort the process. The callback stops the
//! evaluation with an error while a safety margin is left ([`Stop::Stack`]); the parser gets
//! the same check through `on_parse_token`. It also watches netsh's heap, which its
//! allocator counts ([`Counting`]), against `--max-memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, EvalAltResult, ParseErrorType, Position};

/// Default time limit of a script or `-e` (`--timeout` raises it, `--timeout 0` removes it).
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);
/// Default time limit of one REPL entry: what hands the prompt back after a runaway entry
/// nobody stops with Ctrl-C.
pub const REPL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default Rhai operations per evaluation (about a minute of a debug build's time, seconds in
/// a release build; the walkthrough needs well under a million).
pub const MAX_OPERATIONS: u64 = 100_000_000;
/// Default depth of nested script function calls.
pub const MAX_CALL_DEPTH: usize = 64;
/// Default nesting depth of expressions and statements, at top level and in functions (Rhai's
/// own default for release builds).
pub const MAX_EXPR_DEPTH: usize = 64;
/// The highest `--max-expr-depth`: Rhai's optimizer walks the parsed script by recursion
/// without any check (a debug build overflows 8 MiB of stack near 800 levels), so this limit
/// cannot be lifted.
pub const MAX_EXPR_DEPTH_CEILING: usize = 256;
/// Default longest string, in bytes. Above twice `exec`'s 16 MiB per stream, so a program's
/// whole captured output always fits in one result.
pub const MAX_STRING_SIZE: usize = 64 << 20;
/// Default most elements in one array (nested arrays count all their elements).
pub const MAX_ARRAY_SIZE: usize = 1_000_000;
/// Default most properties in one object map (nested maps count all their properties).
pub const MAX_MAP_SIZE: usize = 100_000;
/// Default most heap memory netsh may hold, in MiB (a lab of 1000 containers needs far less
/// than 100). A safety net for growth Rhai does not count: it checks a map's size when the
/// map is used, not when `m[k] = v` adds a key, so such a loop would otherwise grow until
/// the operations limit, by gigabytes.
pub const MAX_MEMORY_MIB: usize = 1024;

/// The limits of a session; 0 in a count means "no limit", `None` for the timeout likewise.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock time of one evaluation: a whole script, `-e`, or one REPL entry.
    pub timeout: Option<Duration>,
    pub max_operations: u64,
    pub max_call_depth: usize,
    /// 1 to [`MAX_EXPR_DEPTH_CEILING`].
    pub max_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Heap memory netsh holds (counted by its allocator, [`Counting`]), in MiB.
    pub max_memory_mib: usize,
}

impl Default for Limits {
    /// The defaults of a script run.
    fn default() -> Limits {
        Limits {
            timeout: Some(SCRIPT_TIMEOUT),
            max_operations: MAX_OPERATIONS,
            max_call_depth: MAX_CALL_DEPTH,
            max_expr_depth: MAX_EXPR_DEPTH,
            max_string_size: MAX_STRING_SIZE,
            max_array_size: MAX_ARRAY_SIZE,
            max_map_size: MAX_MAP_SIZE,
            max_memory_mib: MAX_MEMORY_MIB,
        }
    }
}

/// Why an evaluation was stopped from outside Rhai's own limits; carried as the token of
/// Rhai's `ErrorTerminated`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// The evaluation ran past its deadline; the timeout it had.
    Timeout(Duration),
    /// Nesting came within the safety margin of the end of the main thread's stack.
    Stack,
    /// netsh's heap memory passed the limit (in MiB).
    Memory(usize),
    /// Ctrl-C in the REPL (see [`crate::interrupt`]).
    Interrupted,
}

/// The evaluation under way on this thread (the engine runs on the main thread only).
#[derive(Clone, Copy)]
struct Run {
    deadline: Option<Instant>,
    timeout: Duration,
    /// The lowest stack address evaluation may reach (the stack grows down).
    stack_floor: usize,
    /// Most heap memory, in MiB; 0 for no limit.
    max_memory_mib: usize,
}

thread_local! {
    static RUN: Cell<Option<Run>> = const { Cell::new(None) };
}

/// Ends the evaluation's limits when dropped (whatever way the evaluation ends).
pub struct Running {
    previous: Option<Run>,
}

impl Drop for Running {
    fn drop(&mut self) {
        RUN.with(|r| r.set(self.previous));
    }
}

impl Limits {
    /// Installs the limits on `engine`: Rhai's own, and the callbacks that watch the clock and
    /// the stack during evaluations started with [`Limits::start`].
    pub fn apply(&self, engine: &mut Engine) {
        let unlimited = |n: usize| if n == 0 { usize::MAX } else { n };
        engine
            .set_max_operations(self.max_operations)
            // Rhai takes 0 call levels as "no function calls at all".
            .set_max_call_levels(unlimited(self.max_call_depth))
            .set_max_expr_depths(
                self.max_expr_depth.clamp(1, MAX_EXPR_DEPTH_CEILING),
                self.max_expr_depth.clamp(1, MAX_EXPR_DEPTH_CEILING),
            )
            .set_max_string_size(self.max_string_size)
            .set_max_array_size(self.max_array_size)
            .set_max_map_size(self.max_map_size);
        engine.on_progress(|_| check().err().map(Dynamic::from));
        #[allow(deprecated)] // "volatile", not deprecated: the parser's only hook
        engine.on_parse_token(|token, _, _| match check_stack() {
            Ok(()) => token,
            Err(_) => rhai::Token::LexError(Box::new(rhai::LexError::Runtime(STACK.into()))),
        });
    }

    /// Starts the clock and the stack watch of one evaluation; they end when the returned
    /// guard is dropped. Must be called on the thread that evaluates, above the evaluation.
    pub fn start(&self) -> Running {
        crate::interrupt::clear();
        let now = Instant::now();
        let timeout = self.timeout.unwrap_or(Duration::ZERO);
        let run = Run {
            deadline: self.timeout.and_then(|t| now.checked_add(t)),
            timeout,
            stack_floor: stack_floor(),
            max_memory_mib: self.max_memory_mib,
        };
        Running {
            previous: RUN.with(|r| r.replace(Some(run))),
        }
    }

    /// Rewrites the errors of a reached limit into what to do about it, keeping their
    /// position (and the calls and imports that led there).
    pub fn explain(&self, err: EvalAltResult) -> Box<EvalAltResult> {
        use EvalAltResult as E;
        let at = |msg: String, pos: Position| -> Box<EvalAltResult> {
            E::ErrorRuntime(msg.into(), pos).into()
        };
        match err {
            E::ErrorInFunctionCall(f, src, inner, pos) => {
                E::ErrorInFunctionCall(f, src, self.explain(*inner), pos).into()
            }
            E::ErrorInModule(path, inner, pos) => {
                E::ErrorInModule(path, self.explain(*inner), pos).into()
            }
            E::ErrorTooManyOperations(pos) => at(
                format!(
                    "the script ran more than {} operations, its limit (an endless loop?); \
                     --max-operations N raises it, 0 removes it",
                    self.max_operations
                ),
                pos,
            ),
            E::ErrorStackOverflow(pos) => at(
                format!(
                    "function calls nest deeper than {} levels, the limit (endless recursion?); \
                     --max-call-depth N raises it, 0 removes it",
                    self.max_call_depth
                ),
                pos,
            ),
            E::ErrorDataTooLarge(what, pos) => {
                let (thing, limit, unit, flag) = match what.as_str() {
                    "Length of string" => (
                        "a string",
                        self.max_string_size,
                        "bytes",
                        "--max-string-size BYTES",
                    ),
                    "Size of object map" => (
                        "an object map",
                        self.max_map_size,
                        "properties",
                        "--max-map-size N",
                    ),
                    _ => (
                        "an array",
                        self.max_array_size,
                        "elements",
                        "--max-array-size N",
                    ),
                };
                at(
                    format!(
                        "{thing} grew beyond {limit} {unit}, the limit; {flag} raises it, 0 removes it"
                    ),
                    pos,
                )
            }
            E::ErrorTerminated(token, pos) if token.is::<Stop>() => {
                at(stop_message(token.cast::<Stop>()), pos)
            }
            E::ErrorParsing(ParseErrorType::BadInput(rhai::LexError::Runtime(m)), pos)
                if m == STACK =>
            {
                at(m, pos)
            }
            E::ErrorParsing(ParseErrorType::ExprTooDeep, pos) => at(
                format!(
                    "expressions or blocks nest deeper than {} levels, the limit; \
                     --max-expr-depth N raises it (up to {MAX_EXPR_DEPTH_CEILING})",
                    self.max_expr_depth
                ),
                pos,
            ),
            E::ErrorParsing(ParseErrorType::LiteralTooLarge(what, max), pos)
                if what.contains("string") =>
            {
                at(
                    format!(
                        "a string literal is longer than {max} bytes, the limit; \
                         --max-string-size BYTES raises it, 0 removes it"
                    ),
                    pos,
                )
            }
            other => other.into(),
        }
    }
}

const STACK: &str = "the script nests calls, imports or expressions too deeply for netsh's stack \
                     (endless recursion?)";

fn stop_message(stop: Stop) -> String {
    match stop {
        Stop::Timeout(t) => format!(
            "the script ran longer than {} s, its time limit; --timeout SECONDS raises it, \
             --timeout 0 removes it",
            t.as_secs_f64()
        ),
        Stop::Stack => STACK.to_string(),
        Stop::Interrupted => "interrupted (Ctrl-C); the lab and the variables are kept".to_string(),
        Stop::Memory(mib) => format!(
            "netsh's memory grew beyond {mib} MiB, the limit (data growing without end?); \
             --max-memory MIB raises it, 0 removes it"
        ),
    }
}

/// Whether the evaluation under way may go on: its deadline has not passed and its stack
/// has room. Outside an evaluation, always.
pub fn check() -> Result<(), Stop> {
    check_stack()?;
    check_memory()?;
    if crate::interrupt::requested() {
        return Err(Stop::Interrupted);
    }
    match RUN.with(Cell::get) {
        Some(Run {
            deadline: Some(deadline),
            timeout,
            ..
        }) if Instant::now() >= deadline => Err(Stop::Timeout(timeout)),
        _ => Ok(()),
    }
}

/// Whether netsh's heap memory is within the evaluation's limit.
fn check_memory() -> Result<(), Stop> {
    match RUN.with(Cell::get) {
        Some(run)
            if run.max_memory_mib > 0
                && HELD.load(Ordering::Relaxed) > run.max_memory_mib.saturating_mul(1 << 20) =>
        {
            Err(Stop::Memory(run.max_memory_mib))
        }
        _ => Ok(()),
    }
}

/// Bytes allocated and not yet freed, process-wide.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// netsh's allocator: the system's, counting the bytes it holds so the memory limit costs
/// one atomic load per Rhai operation.
pub struct Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// SAFETY: every call is passed on to the system allocator unchanged; the counter is only
// bookkeeping (updated after a successful allocation, before or after a free).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            HELD.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            HELD.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            HELD.fetch_add(new_size, Ordering::Relaxed);
            HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

fn check_stack() -> Result<(), Stop> {
    match RUN.with(Cell::get) {
        Some(run) if stack_here() < run.stack_floor => Err(Stop::Stack),
        _ => Ok(()),
    }
}

/// The time the evaluation under way has left; `None` when it has no deadline (or none is
/// under way). Bindings that wait cap their waits with it.
pub fn remaining() -> Option<Duration> {
    RUN.with(Cell::get)
        .and_then(|r| r.deadline)
        .map(|d| d.saturating_duration_since(Instant::now()))
}

/// The error a binding returns when it gave up waiting because the deadline came. What
/// is left of the deadline passes first (Ctrl-C ends that wait): a binding that shortened
/// its work to fit it may end a little early (a ping's last request that fits can be
/// answered before the deadline), and the script stops at its deadline, as the message
/// says, not before.
pub fn timed_out() -> Box<EvalAltResult> {
    while let Some(left) = remaining().filter(|l| !l.is_zero()) {
        if crate::interrupt::requested() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
    let timeout = RUN.with(Cell::get).map(|r| r.timeout).unwrap_or_default();
    EvalAltResult::ErrorTerminated(Dynamic::from(Stop::Timeout(timeout)), Position::NONE).into()
}

/// The error a binding returns when it gave up waiting because of Ctrl-C; `None` when
/// nobody pressed it.
pub fn interrupted() -> Option<Box<EvalAltResult>> {
    crate::interrupt::requested().then(|| {
        EvalAltResult::ErrorTerminated(Dynamic::from(Stop::Interrupted), Position::NONE).into()
    })
}

/// Roughly where the stack is now.
#[inline(never)]
fn stack_here() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// The most stack one evaluation may use, whatever the stack limit: with `ulimit -s
/// unlimited` the main thread's stack can grow over gigabytes of memory.
const MAX_STACK_USE: usize = 256 << 20;

/// The lowest address evaluation may bring the stack to: the bottom of the calling thread's
/// stack (for the main thread, as `RLIMIT_STACK` lets it grow) plus a margin for what runs
/// between two checks (a binding, one step of the parser), and no more than
/// [`MAX_STACK_USE`] below here. When the stack's bounds cannot be read, 6 MiB below here.
fn stack_floor() -> usize {
    let here = stack_here();
    let floor = match thread_stack() {
        Some((bottom, size)) => {
            let margin = (size / 8).max(512 << 10).min(size / 2);
            bottom.saturating_add(margin)
        }
        None => here.saturating_sub(6 << 20),
    };
    floor.max(here.saturating_sub(MAX_STACK_USE))
}

/// (lowest address, size) of the calling thread's stack, as glibc reports them.
fn thread_stack() -> Option<(usize, usize)> {
    use nix::libc;
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read and destroyed
    // after; pthread_attr_getstack only writes the two out-parameters.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut bottom: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut bottom, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then_some((bottom as usize, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(limits: &Limits, source: &str) -> Result<Dynamic, String> {
        let mut engine = Engine::new();
        limits.apply(&mut engine);
        let _run = limits.start();
        engine
            .compile(source)
            .map_err(|e| e.into())
            .and_then(|ast| engine.eval_ast::<Dynamic>(&ast))
            .map_err(|e| limits.explain(*e).to_string())
    }

    #[test]
    fn each_limit_names_its_flag() {
        let d = Limits::default;
        let cases = [
            (
                Limits {
                    max_operations: 1000,
                    ..d()
                },
                "loop {}",
                "1000 operations",
                "--max-operations",
            ),
            (
                Limits {
                    max_string_size: 1000,
                    ..d()
                },
                r#"let s = "x"; for i in 0..40 { s += s; }"#,
                "1000 bytes",
                "--max-string-size",
            ),
            (
                Limits {
                    max_array_size: 10,
                    ..d()
                },
                "let a = []; for i in 0..20 { a.push(i) }",
                "10 elements",
                "--max-array-size",
            ),
            // Rhai checks a map when it is used, not when `m[k] = v` adds a key.
            (
                Limits {
                    max_map_size: 3,
                    ..d()
                },
                "let m = #{}; for i in 0..5 { m[`k${i}`] = i } m.len()",
                "3 properties",
                "--max-map-size",
            ),
            (
                Limits {
                    max_call_depth: 5,
                    ..d()
                },
                "fn f(x) { f(x + 1) } f(0)",
                "5 levels",
                "--max-call-depth",
            ),
            (
                Limits {
                    max_expr_depth: 5,
                    ..d()
                },
                "((((((((((1))))))))))",
                "5 levels",
                "--max-expr-depth",
            ),
        ];
        for (limits, source, says, flag) in cases {
            let e = eval(&limits, source).unwrap_err();
            assert!(e.contains(says) && e.contains(flag), "{source}: {e}");
        }
    }

    #[test]
    fn the_clock_stops_a_loop() {
        let l = Limits {
            timeout: Some(Duration::from_millis(50)),
            max_operations: 0,
            ..Limits::default()
        };
        let e = eval(&l, "loop {}").unwrap_err();
        assert!(e.contains("0.05 s") && e.contains("--timeout"), "{e}");
    }

    #[test]
    fn ctrl_c_is_explained_in_its_own_words() {
        // The flag itself is process-wide (a signal sets it), so this test leaves it alone:
        // other tests evaluate in parallel.
        let stop = EvalAltResult::ErrorTerminated(Dynamic::from(Stop::Interrupted), Position::NONE);
        let e = Limits::default().explain(stop).to_string();
        assert!(e.contains("interrupted (Ctrl-C)"), "{e}");
    }

    #[test]
    fn no_limit_means_none() {
        let l = Limits {
            max_call_depth: 0,
            ..Limits::default()
        };
        let count = "fn f(x) { if x == 0 { 0 } else { 1 + f(x - 1) } }";
        assert_eq!(
            eval(&l, &format!("{count} f(10)")).unwrap().as_int(),
            Ok(10)
        );
        // The test thread's stack is small: the guard stops the recursion, no overflow.
        let e = eval(&l, &format!("{count} f(1000000)")).unwrap_err();
        assert!(e.contains("too deeply for netsh's stack"), "{e}");
        assert!(remaining().is_none(), "no evaluation under way");
    }
}
