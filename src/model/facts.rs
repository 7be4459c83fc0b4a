//! Per-file facts: everything the project model needs from one module, kept
//! after its AST is dropped.

use swc_atoms::Atom;

use super::ir::{FnArg, FnIx, Sp};
use super::pack::Bodies;

#[derive(Debug, Clone)]
pub enum ImportKind {
    Named(Atom),
    Default,
    Namespace,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub local: Atom,
    pub source: Atom,
    pub kind: ImportKind,
}

/// A reference to a function-like definition.
#[derive(Debug, Clone)]
pub enum FnRef {
    Inline(FnIx),
    Name(Atom),
    /// `obj.a.b`: the root name, then the path (one list, so a reference
    /// is 16 bytes, not 24).
    Member(thin_vec::ThinVec<Atom>),
}

impl FnRef {
    fn each_atom_mut(&mut self, f: &mut impl FnMut(&mut Atom)) {
        match self {
            FnRef::Inline(_) => {}
            FnRef::Name(n) => f(n),
            FnRef::Member(names) => names.iter_mut().for_each(f),
        }
    }
}

/// A top-level binding and what it holds.
#[derive(Debug, Clone)]
pub enum Top {
    Fn(FnIx),
    /// An object literal whose properties are functions (a thin vector:
    /// a binding is 16 bytes, not 32; see the check below).
    Object(thin_vec::ThinVec<(Atom, FnIx)>),
    /// `builder({...})`: a Convex function if the builder resolves to one.
    Reg(usize),
    /// `customQuery(base, customisation)` from convex-helpers (boxed: rare,
    /// and the largest variant).
    Custom(Box<CustomDef>),
    /// `callee(...)` or `new callee(...)`: a library object, by its maker.
    Made(FnRef),
    /// `const a = b` or `const a = b.c` (boxed: rarer than `Made`, and
    /// with one reference inline the binding is 16 bytes, not 24).
    Alias(Box<FnRef>),
    Other,
}

// Every top-level binding of every module is held for the whole check.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Top>() <= 16);

#[derive(Debug, Clone)]
pub struct CustomDef {
    pub base: Atom,
    pub customisation: Option<FnRef>,
    pub span: Sp,
}

/// A call of a would-be builder, `NAME = builder(...)` or `export default builder(...)`.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The binding name, or `default`.
    pub local: Atom,
    pub builder: Atom,
    /// The span users point at: the binding name, or `export default`.
    pub name_span: Sp,
    pub builder_span: Sp,
    pub handler: Option<FnRef>,
    /// The `args` validators; None for the legacy form or an object without `args`.
    pub args: Option<Args>,
}

/// Where a registration's `args` are in its module's lists (`ArgPool::get`
/// reads them): one list per module rather than one allocation per
/// registration. Lengths past `u16::MAX` are cut there.
#[derive(Debug, Clone, Copy, Default)]
pub struct Args {
    /// The `args` key.
    pub span: Sp,
    validators_at: u32,
    loose_at: u32,
    validators_len: u16,
    loose_len: u16,
}

/// A registration's `args`, as the rules read them.
#[derive(Debug, Clone, Copy)]
pub struct ArgList<'a> {
    /// The `args` key.
    pub span: Sp,
    /// Each argument whose validator the rules read (an id or a string),
    /// that validator, and its span.
    pub validators: &'a [(Atom, Validator, Sp)],
    /// Every `v.any()` inside, with the argument it is in (usually none).
    pub loose: &'a [(Atom, Sp)],
}

/// The `args` of a module's registrations, each registration's a run.
#[derive(Debug, Clone, Default)]
pub struct ArgPool {
    pub validators: Vec<(Atom, Validator, Sp)>,
    pub loose: Vec<(Atom, Sp)>,
}

impl ArgPool {
    /// Begins a registration's `args`; `end` closes them.
    pub fn start(&self, span: Sp) -> Args {
        Args {
            span,
            validators_at: u32::try_from(self.validators.len()).unwrap_or(u32::MAX),
            loose_at: u32::try_from(self.loose.len()).unwrap_or(u32::MAX),
            validators_len: 0,
            loose_len: 0,
        }
    }

    /// Closes `args`: what was pushed since `start` is theirs.
    pub fn end(&self, args: &mut Args) {
        let len = |now: usize, at: u32| {
            u16::try_from(now.saturating_sub(at as usize)).unwrap_or(u16::MAX)
        };
        args.validators_len = len(self.validators.len(), args.validators_at);
        args.loose_len = len(self.loose.len(), args.loose_at);
    }

    pub fn get(&self, args: &Args) -> ArgList<'_> {
        let run = |at: u32, len: u16| at as usize..(at as usize).saturating_add(len as usize);
        ArgList {
            span: args.span,
            validators: self
                .validators
                .get(run(args.validators_at, args.validators_len))
                .unwrap_or_default(),
            loose: self
                .loose
                .get(run(args.loose_at, args.loose_len))
                .unwrap_or_default(),
        }
    }
}

/// The validators the rules ask about. Arguments of other kinds are not
/// kept (four in ten at 10,000 files), and `v.any()` is in `loose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validator {
    Id(Atom),
    String,
}

// `String` takes the atom's niche: an argument is 24 bytes, not 32.
const _: () = assert!(std::mem::size_of::<(Atom, Validator, Sp)>() <= 24);

/// `crons.interval("name", { minutes: 5 }, internal.jobs.run)` in crons.ts.
#[derive(Debug, Clone)]
pub struct CronJob {
    pub method: Atom,
    pub target: FnArg,
}

#[derive(Debug, Clone)]
pub enum RouteHandler {
    /// `handler: httpAction(async (ctx, req) => ...)` written in the route.
    Inline {
        builder: Atom,
        builder_span: Sp,
        handler: Option<FnRef>,
    },
    Ref(FnRef),
}

#[derive(Debug, Clone)]
pub struct Route {
    pub method: Atom,
    pub path: Atom,
    /// The `http.route` callee: the line a suppression comment points at.
    pub span: Sp,
    pub handler: RouteHandler,
}

#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    pub imports: Vec<Import>,
    /// (exported name, local name)
    pub exports: Vec<(Atom, Atom)>,
    /// `export { a as b } from "./x"`: (exported, source, imported)
    pub reexports: Vec<(Atom, Atom, Atom)>,
    /// `export * from "./x"`
    pub star_exports: Vec<Atom>,
    /// The module's function bodies, packed (decoded by `Analysis::body`).
    pub bodies: Bodies,
    /// Where lowering stopped in some body because it nests too deeply.
    pub too_deep: Option<u32>,
    pub top: Vec<(Atom, Top)>,
    pub registrations: Vec<Registration>,
    pub routes: Vec<Route>,
    pub crons: Vec<CronJob>,
    /// The registrations' `args`.
    pub args: ArgPool,
    /// The modules (`admin/users`) its bodies name through `api.…` or
    /// `internal.…`, whose functions' summaries the analysis reads.
    pub calls_into: Vec<Atom>,
    pub secrets: Vec<super::secrets::SecretLit>,
    /// Suppression comments, in source order.
    pub directives: Vec<crate::suppress::Directive>,
}

impl FileFacts {
    /// These facts with each list copied to a block of its length (the
    /// project keeps every module's facts), leaving these lists empty with
    /// their capacity, for the next module.
    pub fn take_fitted(&mut self) -> FileFacts {
        use super::ir::fitted;
        FileFacts {
            imports: fitted(&mut self.imports),
            exports: fitted(&mut self.exports),
            reexports: fitted(&mut self.reexports),
            star_exports: fitted(&mut self.star_exports),
            bodies: std::mem::take(&mut self.bodies),
            too_deep: self.too_deep.take(),
            top: fitted(&mut self.top),
            registrations: fitted(&mut self.registrations),
            routes: fitted(&mut self.routes),
            crons: fitted(&mut self.crons),
            calls_into: fitted(&mut self.calls_into),
            args: ArgPool {
                validators: fitted(&mut self.args.validators),
                loose: fitted(&mut self.args.loose),
            },
            secrets: fitted(&mut self.secrets),
            directives: fitted(&mut self.directives),
        }
    }

    /// Calls `f` on every name these facts hold (not the packed bodies').
    pub fn each_atom_mut(&mut self, f: &mut impl FnMut(&mut Atom)) {
        for i in &mut self.imports {
            f(&mut i.local);
            f(&mut i.source);
            if let ImportKind::Named(n) = &mut i.kind {
                f(n);
            }
        }
        for (a, b) in &mut self.exports {
            f(a);
            f(b);
        }
        for (a, b, c) in &mut self.reexports {
            f(a);
            f(b);
            f(c);
        }
        self.star_exports.iter_mut().for_each(&mut *f);
        for (name, top) in &mut self.top {
            f(name);
            match top {
                Top::Object(props) => props.iter_mut().for_each(|(p, _)| f(p)),
                Top::Custom(def) => {
                    f(&mut def.base);
                    if let Some(r) = &mut def.customisation {
                        r.each_atom_mut(f);
                    }
                }
                Top::Made(r) => r.each_atom_mut(f),
                Top::Alias(r) => r.each_atom_mut(f),
                Top::Fn(_) | Top::Reg(_) | Top::Other => {}
            }
        }
        for reg in &mut self.registrations {
            f(&mut reg.local);
            f(&mut reg.builder);
            if let Some(r) = &mut reg.handler {
                r.each_atom_mut(f);
            }
        }
        for (name, validator, _) in &mut self.args.validators {
            f(name);
            if let Validator::Id(table) = validator {
                f(table);
            }
        }
        self.args.loose.iter_mut().for_each(|(name, _)| f(name));
        self.calls_into.iter_mut().for_each(&mut *f);
        for route in &mut self.routes {
            f(&mut route.method);
            f(&mut route.path);
            match &mut route.handler {
                RouteHandler::Inline {
                    builder, handler, ..
                } => {
                    f(builder);
                    if let Some(r) = handler {
                        r.each_atom_mut(f);
                    }
                }
                RouteHandler::Ref(r) => r.each_atom_mut(f),
            }
        }
        for cron in &mut self.crons {
            f(&mut cron.method);
            cron.target.path.iter_mut().for_each(&mut *f);
        }
    }

    pub fn top(&self, name: &str) -> Option<&Top> {
        self.top
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }

    pub fn import(&self, name: &str) -> Option<&Import> {
        self.imports.iter().find(|i| i.local == name)
    }

    /// The local name behind an exported name.
    pub fn export_local(&self, exported: &str) -> Option<&Atom> {
        self.exports
            .iter()
            .find(|(e, _)| e == exported)
            .map(|(_, l)| l)
    }
}
