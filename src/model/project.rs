//! The project: every module's facts, and name resolution across modules
//! (relative imports, re-exports, namespaces, objects of methods).

use rustc_hash::FxHashMap as HashMap;
use std::path::PathBuf;

use swc_atoms::Atom;

use super::convex::{self, Kind, LibItem, Visibility};
use super::facts::{FileFacts, FnRef, ImportKind, Top};
use super::ir::FnIx;

/// Resolution gives up past this many hops (alias and re-export cycles).
const MAX_HOPS: u32 = 32;

pub type ModIx = usize;

pub struct Module {
    /// Path relative to the functions folder, without extension: `admin/users`.
    pub id: String,
    /// The path as the user would type it.
    pub display: PathBuf,
    pub facts: FileFacts,
}

/// What a name refers to, after following imports.
#[derive(Clone, Debug)]
pub enum Target {
    Fn(ModIx, FnIx),
    /// A top-level object literal of functions.
    Object(ModIx, Atom),
    Namespace(ModIx),
    Builder(Kind, Visibility),
    Custom(ModIx, Atom),
    Reg(ModIx, usize),
    /// A value made by calling or constructing something (resolved maker).
    Made(Box<Target>),
    Lib(LibItem),
    Unknown,
}

impl Target {
    /// A package that reaches an external service (`openai`, `resend`).
    pub fn is_service(&self) -> bool {
        matches!(self, Target::Lib(LibItem::Service(_)))
    }
}

pub struct Project {
    pub modules: Vec<Module>,
    by_id: HashMap<String, ModIx>,
    /// tsconfig path aliases into the functions folder: (prefix, module id prefix).
    aliases: Vec<(String, String)>,
}

impl Project {
    pub fn new(modules: Vec<Module>) -> Self {
        Self::with_aliases(modules, Vec::new())
    }

    pub fn with_aliases(mut modules: Vec<Module>, aliases: Vec<(String, String)>) -> Self {
        modules.sort_by(|a, b| a.id.cmp(&b.id));
        let by_id = modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        Project {
            modules,
            by_id,
            aliases,
        }
    }

    /// The modules whose bodies another module's analysis may read: those
    /// another imports or re-exports from, and those whose functions its
    /// bodies or cron jobs name through `api.…`/`internal.…`. Every path
    /// from one module to another goes through `resolve_module` or
    /// `module_ix`, so the others' bodies are read by their own scope only.
    pub fn read_elsewhere(&self) -> Vec<bool> {
        let mut read = vec![false; self.modules.len()];
        let mut mark = |from: ModIx, to: Option<ModIx>| {
            if let Some(slot) = to.filter(|&t| t != from).and_then(|t| read.get_mut(t)) {
                *slot = true;
            }
        };
        for (m, module) in self.modules.iter().enumerate() {
            let facts = &module.facts;
            for import in &facts.imports {
                mark(m, self.resolve_module(m, &import.source));
            }
            for (_, source, _) in &facts.reexports {
                mark(m, self.resolve_module(m, source));
            }
            for source in &facts.star_exports {
                mark(m, self.resolve_module(m, source));
            }
            for id in &facts.calls_into {
                mark(m, self.module_ix(id));
            }
            for cron in &facts.crons {
                if let Some((id, _)) = cron.target.module_and_name() {
                    mark(m, self.module_ix(&id));
                }
            }
        }
        read
    }

    /// Frees every module's packed bodies. Once the rules that read bodies
    /// have run, placing findings and suppressions need only the other facts,
    /// and the freed memory serves them.
    pub fn drop_bodies(&mut self) {
        for module in &mut self.modules {
            module.facts.bodies = Default::default();
        }
    }

    pub fn module(&self, m: ModIx) -> Option<&Module> {
        self.modules.get(m)
    }

    pub fn module_ix(&self, id: &str) -> Option<ModIx> {
        self.by_id.get(id).copied()
    }

    /// The module a relative import names, from module `from`.
    pub fn resolve_module(&self, from: ModIx, source: &str) -> Option<ModIx> {
        if !source.starts_with('.') {
            return self.aliases.iter().find_map(|(prefix, module_prefix)| {
                let rest = source.strip_prefix(prefix.as_str())?;
                self.lookup(&format!("{module_prefix}{rest}"))
            });
        }
        let from_id = &self.module(from)?.id;
        let mut parts: Vec<&str> = from_id.split('/').collect();
        parts.pop();
        for seg in source.split('/') {
            match seg {
                "." | "" => {}
                ".." => {
                    parts.pop()?;
                }
                s => parts.push(s),
            }
        }
        self.lookup(&parts.join("/"))
    }

    /// A module by path without or with extension, or its folder's `index`.
    fn lookup(&self, path: &str) -> Option<ModIx> {
        let base = strip_ext(path);
        self.by_id
            .get(base)
            .or_else(|| self.by_id.get(&format!("{base}/index")))
            .copied()
    }

    pub fn resolve_name(&self, m: ModIx, name: &str) -> Target {
        self.resolve_name_hops(m, name, 0)
    }

    fn resolve_name_hops(&self, m: ModIx, name: &str, hops: u32) -> Target {
        if hops > MAX_HOPS {
            return Target::Unknown;
        }
        let Some(module) = self.module(m) else {
            return Target::Unknown;
        };
        let facts = &module.facts;
        if let Some(top) = facts.top(name) {
            return match top {
                Top::Fn(ix) => Target::Fn(m, *ix),
                Top::Object(_) => Target::Object(m, Atom::from(name)),
                Top::Reg(r) => Target::Reg(m, *r),
                Top::Custom(_) => Target::Custom(m, Atom::from(name)),
                Top::Made(maker) => match self.resolve_ref_hops(m, maker, hops + 1) {
                    // `genAI.getGenerativeModel(...)`: made by a service client's
                    // method, and a client of the same service.
                    made @ Target::Made(_) => made,
                    maker => Target::Made(Box::new(maker)),
                },
                Top::Alias(r) => self.resolve_ref_hops(m, r, hops + 1),
                Top::Other => Target::Unknown,
            };
        }
        let Some(import) = facts.import(name) else {
            return Target::Unknown;
        };
        if convex::is_generated_server(&import.source) {
            return match &import.kind {
                ImportKind::Named(n) => match convex::base_builder(n) {
                    Some((k, v)) => Target::Builder(k, v),
                    None => Target::Unknown,
                },
                _ => Target::Unknown,
            };
        }
        if import.source == "convex/server" {
            if let ImportKind::Named(n) = &import.kind {
                if let Some((k, v)) = convex::generic_builder(n) {
                    return Target::Builder(k, v);
                }
            }
        }
        let Some(t) = self.resolve_module(m, &import.source) else {
            if import.source.starts_with('.') {
                return Target::Unknown;
            }
            return match &import.kind {
                ImportKind::Named(n) => Target::Lib(convex::lib_item(&import.source, Some(n))),
                _ => Target::Lib(convex::lib_item(&import.source, None)),
            };
        };
        match &import.kind {
            ImportKind::Named(n) => self.resolve_export(t, n, hops + 1),
            ImportKind::Default => self.resolve_export(t, "default", hops + 1),
            ImportKind::Namespace => Target::Namespace(t),
        }
    }

    fn resolve_export(&self, m: ModIx, name: &str, hops: u32) -> Target {
        if hops > MAX_HOPS {
            return Target::Unknown;
        }
        let Some(module) = self.module(m) else {
            return Target::Unknown;
        };
        let facts = &module.facts;
        if let Some(local) = facts.export_local(name) {
            return self.resolve_name_hops(m, local, hops + 1);
        }
        for (exported, source, imported) in &facts.reexports {
            if exported == name {
                return match self.resolve_module(m, source) {
                    Some(t) => self.resolve_export(t, imported, hops + 1),
                    None => Target::Unknown,
                };
            }
        }
        for source in &facts.star_exports {
            if let Some(t) = self.resolve_module(m, source) {
                let found = self.resolve_export(t, name, hops + 1);
                if !matches!(found, Target::Unknown) {
                    return found;
                }
            }
        }
        Target::Unknown
    }

    pub fn resolve_ref(&self, m: ModIx, r: &FnRef) -> Target {
        self.resolve_ref_hops(m, r, 0)
    }

    fn resolve_ref_hops(&self, m: ModIx, r: &FnRef, hops: u32) -> Target {
        match r {
            FnRef::Inline(ix) => Target::Fn(m, *ix),
            FnRef::Name(n) => self.resolve_name_hops(m, n, hops),
            FnRef::Member(names) => match names.split_first() {
                Some((root, path)) => {
                    let base = self.resolve_name_hops(m, root, hops);
                    self.resolve_path(base, path, hops)
                }
                None => Target::Unknown,
            },
        }
    }

    /// `base.a.b`: through namespaces and objects of methods.
    pub fn resolve_path(&self, mut base: Target, path: &[Atom], hops: u32) -> Target {
        for seg in path {
            base = match base {
                Target::Namespace(t) => self.resolve_export(t, seg, hops + 1),
                Target::Object(t, ref name) => match self.module(t).and_then(|m| m.facts.top(name))
                {
                    Some(Top::Object(methods)) => methods
                        .iter()
                        .find(|(k, _)| k == seg)
                        .map(|(_, ix)| Target::Fn(t, *ix))
                        .unwrap_or(Target::Unknown),
                    _ => Target::Unknown,
                },
                // `openai.chat.completions`: still the service's client.
                Target::Made(ref maker) if maker.is_service() => base,
                _ => return Target::Unknown,
            };
        }
        base
    }
}

fn strip_ext(s: &str) -> &str {
    for ext in [".js", ".ts", ".mjs", ".cjs", ".jsx", ".tsx"] {
        if let Some(stripped) = s.strip_suffix(ext) {
            return stripped;
        }
    }
    s
}
