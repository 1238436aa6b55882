//! The Rhai side: one engine with netsh's bindings, one scope, error rendering.

pub mod bindings;
pub mod diagnostic;
pub mod help;
pub mod limits;
pub mod stdlib;

use std::path::PathBuf;
use std::rc::Rc;

use rhai::{Dynamic, Engine, Scope, AST};

use crate::lab::Lab;
use limits::Limits;

/// Why a piece of script failed, already rendered for a terminal.
pub struct Failure {
    pub rendered: String,
    pub kind: FailureKind,
}

/// What kind of failure: it decides the exit code (`netsh SCRIPT`: 1 failed, 3 broken) and
/// how `netsh test` reports the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// An assertion or a runtime error: the lab did not behave as the script says.
    Failed,
    /// The script cannot run: a syntax error (in it or in a module it imports).
    Broken,
    /// `skip("reason")`.
    Skipped(String),
}

fn kind_of(err: &rhai::EvalAltResult) -> FailureKind {
    if let Some(reason) = bindings::testing::skipped(err) {
        return FailureKind::Skipped(reason);
    }
    let mut e = err;
    loop {
        match e {
            rhai::EvalAltResult::ErrorParsing(..) => return FailureKind::Broken,
            rhai::EvalAltResult::ErrorInModule(_, inner, _)
            | rhai::EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => e = inner,
            _ => return FailureKind::Failed,
        }
    }
}

/// An engine bound to one lab, with a scope that outlives each evaluation (the REPL keeps
/// variables and functions between lines).
pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    /// Functions defined so far, merged into every later evaluation.
    functions: AST,
    tests: Rc<bindings::testing::TestContext>,
    /// What each evaluation may consume (time, operations, nesting, sizes).
    limits: Limits,
    /// The lab the bindings act on (the REPL's `:ls` and `:trace` read it too).
    lab: Rc<Lab>,
    /// The script's arguments, `ARGS` in every fresh scope.
    args: rhai::Array,
    /// Where relative `import`s are looked up (kept for [`Session::renew`]).
    base: Option<PathBuf>,
}

impl Session {
    /// `base` is where relative `import`s are looked up (the script's directory); `limits`
    /// apply to each call of [`Session::eval`] on its own (a script, or one REPL entry).
    pub fn new(lab: &Rc<Lab>, base: Option<PathBuf>, args: &[String], limits: Limits) -> Session {
        let mut engine = Engine::new();
        limits.apply(&mut engine);
        engine.set_strict_variables(true);
        engine.set_fail_on_invalid_map_property(true);
        engine.set_module_resolver(stdlib::Resolver::new(base.clone()));
        engine.on_print(|s| println!("{s}"));
        engine.on_debug(|s, src, pos| match (src, pos.line()) {
            (Some(src), Some(line)) => eprintln!("{src}:{line}: {s}"),
            _ => eprintln!("{s}"),
        });
        let tests = Rc::new(bindings::testing::TestContext::default());
        bindings::register(&mut engine, lab, &tests);
        let argv: rhai::Array = args.iter().cloned().map(Dynamic::from).collect();
        let mut scope = Scope::new();
        scope.push_constant("ARGS", argv.clone());
        Session {
            engine,
            scope,
            functions: AST::empty(),
            tests,
            limits,
            lab: Rc::clone(lab),
            args: argv,
            base,
        }
    }

    /// The same session started afresh on `lab` (the REPL's `:reset`): no variables or
    /// functions, the same arguments, module folder and limits. The old lab is dropped with
    /// the old engine, unless something else still holds it.
    pub fn renew(&mut self, lab: &Rc<Lab>) {
        let args: Vec<String> = self.args.iter().map(|a| a.to_string()).collect();
        *self = Session::new(lab, self.base.clone(), &args, self.limits.clone());
    }

    /// The lab this session's bindings act on.
    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The same lab, shared (the REPL's completion reads it while the editor runs).
    pub fn lab_rc(&self) -> Rc<Lab> {
        Rc::clone(&self.lab)
    }

    /// The variables in scope with (a copy of) their values, for completion.
    pub fn variable_values(&self) -> Vec<(String, Dynamic)> {
        self.scope
            .iter_raw()
            .map(|(n, _, v)| (n.to_string(), v.clone()))
            .collect()
    }

    /// How this session runs named tests and snapshots (see `bindings::testing`).
    pub fn tests(&self) -> &bindings::testing::TestContext {
        &self.tests
    }

    /// Names of the variables and constants in scope (for completion).
    pub fn variables(&self) -> Vec<String> {
        self.scope.iter_raw().map(|(n, ..)| n.to_string()).collect()
    }

    /// Names of the script-defined functions so far.
    pub fn functions(&self) -> Vec<String> {
        self.functions
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect()
    }

    /// Whether `source` compiles in this session (its variables in scope, undefined ones
    /// refused): the REPL's test for "this line is Rhai".
    pub fn compiles(&self, source: &str) -> bool {
        self.engine.compile_with_scope(&self.scope, source).is_ok()
    }

    /// The text of `expr` evaluated with the value bound to `v`, in a scope of its own
    /// (the REPL describes containers and networks with their own properties); `None` when
    /// it fails.
    pub fn eval_on(&self, value: &Dynamic, expr: &str) -> Option<String> {
        let mut scope = Scope::new();
        scope.push_dynamic("v", value.clone());
        self.engine
            .eval_with_scope::<Dynamic>(&mut scope, expr)
            .ok()
            .map(|d| d.to_string())
    }

    /// The text a value shows in the REPL and in `-e`'s output (see [`display`]).
    pub fn display(&self, value: Dynamic) -> String {
        display(&self.engine, value)
    }

    /// Compiles and runs `source`, keeping its variables and functions for later calls.
    /// A reached limit (time, operations, nesting, size) is an error like any other: it names
    /// the limit and the flag that raises it.
    pub fn eval(&mut self, name: &str, source: &str) -> Result<Dynamic, Failure> {
        self.eval_shown(name, source, source)
    }

    /// Like [`Session::eval`], but errors quote `shown` instead of `source`: the line the
    /// user typed when the REPL ran a translation of it (`docker ps` as `docker("ps")`).
    pub fn eval_shown(
        &mut self,
        name: &str,
        source: &str,
        shown: &str,
    ) -> Result<Dynamic, Failure> {
        let _running = self.limits.start();
        let limits = &self.limits;
        let render = |e: Box<rhai::EvalAltResult>| {
            let e = limits.explain(*e);
            Failure {
                rendered: diagnostic::render(&e, name, shown),
                kind: kind_of(&e),
            }
        };
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, source)
            .map_err(|e| render(e.into()))?;
        ast.set_source(name);
        let combined = self.functions.merge(&ast);
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &combined)
            .map_err(render);
        self.functions += ast.clone_functions_only();
        result
    }
}

/// The text `print` would show for a value: the engine's `to_string`, because netsh's own
/// types (Netns, Link, PingResult) register one, while Dynamic's Display only knows their
/// Rust type name. Views such as `ip_a(ns)` end with a newline; the caller adds its own.
pub fn display(engine: &Engine, value: Dynamic) -> String {
    let text = if value.is_string() {
        value.to_string()
    } else {
        let fallback = value.to_string();
        let mut scope = Scope::new();
        scope.push_dynamic("value", value);
        engine
            .eval_expression_with_scope::<String>(&mut scope, "to_string(value)")
            .unwrap_or(fallback)
    };
    text.strip_suffix('\n').map(str::to_string).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_show_as_print_shows_them() {
        #[derive(Clone)]
        struct Thing;
        let mut engine = Engine::new();
        engine.register_fn("to_string", |_: &mut Thing| "a thing".to_string());
        engine.register_fn("to_debug", |_: &mut Thing| "a thing".to_string());
        assert_eq!(display(&engine, Dynamic::from("as-is")), "as-is");
        assert_eq!(display(&engine, Dynamic::from(42_i64)), "42");
        assert_eq!(display(&engine, Dynamic::from(Thing)), "a thing");
        let things: rhai::Array = vec![Dynamic::from(Thing), Dynamic::from("s")];
        assert_eq!(display(&engine, Dynamic::from(things)), "[a thing, \"s\"]");
    }
}
