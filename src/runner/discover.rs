//! Finding tests: `*.rhai` files under the given paths, and the named tests in each.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rhai::{ASTNode, Engine, Expr, OptimizationLevel};

/// One test to run: a whole file, or one `test("name", || …)` in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestId {
    pub file: PathBuf,
    /// `None` for a file without `test(...)` calls, which is one test.
    pub name: Option<String>,
}

impl TestId {
    /// `file` or `file::name`: what `--filter` matches and reports print.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{}::{n}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

/// What discovery found in one file.
#[derive(Debug)]
pub enum Found {
    Tests(Vec<TestId>),
    /// The file cannot be read or parsed: one test that is reported as broken.
    Broken(TestId, String),
}

/// Whether a file or folder name is left out of discovery: helpers (`_name`), hidden ones
/// (`.name`) and snapshot folders.
fn excluded(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.') || name == "snapshots"
}

/// The `*.rhai` files under `paths` (a file given by name is taken as it is), sorted and
/// without duplicates. Errors name a path that does not exist or cannot be read.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = BTreeSet::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()))?;
        if meta.is_file() {
            found.insert(path.clone());
        } else {
            walk(path, &mut found)?;
        }
    }
    Ok(found.into_iter().collect())
}

fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read folder {}: {}", dir.display(), e.kind()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if excluded(&name) {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, found)?,
            Ok(t) if t.is_file() && name.ends_with(".rhai") => {
                found.insert(path);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The tests in `file`: each `test("name", …)` call whose name is a string literal, in the
/// order they appear; none means the file is one test.
pub fn tests_in(file: &Path) -> Found {
    let whole = TestId {
        file: file.to_path_buf(),
        name: None,
    };
    let source = match std::fs::read_to_string(file) {
        Ok(s) => s,
        Err(e) => return Found::Broken(whole, format!("cannot read {}: {e}", file.display())),
    };
    match test_names(&source) {
        Ok(names) if names.is_empty() => Found::Tests(vec![whole]),
        // A file that does not parse is one test, which its run reports as broken with the
        // position and a caret, as any script error is shown.
        Err(Listing::Syntax) => Found::Tests(vec![whole]),
        Ok(names) => Found::Tests(
            names
                .into_iter()
                .map(|name| TestId {
                    file: file.to_path_buf(),
                    name: Some(name),
                })
                .collect(),
        ),
        Err(Listing::Refused(msg)) => Found::Broken(whole, msg),
    }
}

/// Why a file's tests cannot be listed.
#[derive(Debug, PartialEq)]
pub enum Listing {
    /// It does not parse.
    Syntax,
    /// A test name that is not a literal, or is used twice.
    Refused(String),
}

/// Names of the `test(...)` calls in `source`. Errors: a syntax error, a test whose name is
/// not a string literal, a name used twice.
pub fn test_names(source: &str) -> Result<Vec<String>, Listing> {
    let mut engine = Engine::new_raw();
    engine.set_optimization_level(OptimizationLevel::None);
    let ast = engine.compile(source).map_err(|_| Listing::Syntax)?;
    let mut names: Vec<String> = Vec::new();
    let mut problem = None;
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(Expr::FnCall(call, pos))) = path.last() {
            if call.name == "test" && call.args.len() == 2 && call.namespace.is_empty() {
                match &call.args[0] {
                    Expr::StringConstant(s, _) => {
                        if names.iter().any(|n| n == s.as_str()) {
                            problem.get_or_insert(format!(
                                "test \"{s}\" is defined twice (line {})",
                                pos.line().unwrap_or(0)
                            ));
                        }
                        names.push(s.to_string());
                    }
                    _ => {
                        problem.get_or_insert(format!(
                            "the name of the test at line {} must be a string literal, so \
                             `netsh test` can list it without running the file",
                            pos.line().unwrap_or(0)
                        ));
                    }
                }
            }
        }
        true
    });
    match problem {
        Some(p) => Err(Listing::Refused(p)),
        None => Ok(names),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_order() {
        let src = r#"
            let a = 1;
            test("first one", || { assert(true); });
            fn helper() { 2 }
            test("second", || { helper(); });
        "#;
        assert_eq!(test_names(src).unwrap(), ["first one", "second"]);
        assert_eq!(
            test_names("let x = 1; print(x);").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn refusals() {
        let refused = |src: &str| match test_names(src) {
            Err(Listing::Refused(e)) => e,
            other => panic!("{other:?}"),
        };
        let e = refused("let n = \"x\"; test(n, || {});");
        assert!(e.contains("string literal") && e.contains("line 1"), "{e}");
        let e = refused("test(\"a\", || {}); test(\"a\", || {});");
        assert!(e.contains("defined twice"), "{e}");
        assert_eq!(test_names("let = ;"), Err(Listing::Syntax));
    }

    #[test]
    fn discovery_skips_helpers_and_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        for f in [
            "a.rhai",
            "_helper.rhai",
            "notes.txt",
            "sub/b.rhai",
            "_lib/c.rhai",
            "snapshots/a/x.rhai",
        ] {
            let path = p.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let found = files(&[p.to_path_buf()]).unwrap();
        let rel: Vec<_> = found
            .iter()
            .map(|f| f.strip_prefix(p).unwrap().to_path_buf())
            .collect();
        assert_eq!(rel, [PathBuf::from("a.rhai"), PathBuf::from("sub/b.rhai")]);
        assert!(files(&[p.join("missing")]).unwrap_err().contains("missing"));
    }
}
