//! Rhai modules shipped inside the netsh binary (`stdlib/*.rhai`), importable by name, with
//! scripts' own relative imports resolved from files as usual.

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};

/// (import path, source) of every shipped module.
pub const MODULES: &[(&str, &str)] = &[("topo", include_str!("../../stdlib/topo.rhai"))];

pub struct Resolver {
    files: FileModuleResolver,
}

impl Resolver {
    pub fn new(base: Option<std::path::PathBuf>) -> Self {
        let files = match base {
            Some(dir) => FileModuleResolver::new_with_path(dir),
            None => FileModuleResolver::new(),
        };
        Resolver { files }
    }
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if let Some((_, text)) = MODULES.iter().find(|(name, _)| *name == path) {
            let mut ast = engine.compile(text).map_err(|e| {
                Box::new(EvalAltResult::ErrorInModule(
                    path.to_string(),
                    e.into(),
                    pos,
                ))
            })?;
            ast.set_source(format!("stdlib/{path}.rhai"));
            let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
                .map_err(|e| Box::new(EvalAltResult::ErrorInModule(path.to_string(), e, pos)))?;
            return Ok(module.into());
        }
        self.files.resolve(engine, source, path, pos)
    }
}
