//! The one pass over a module's AST: lowers every function-like definition to
//! the IR in `ir.rs` and records the module's imports, exports, Convex
//! registrations and HTTP routes. Nothing of the AST survives it.
//!
//! `module` walks the top level, `body` a function's statements, `expr` its
//! expressions and calls, `validators` the `args` of a registration.

use smallvec::SmallVec;
use swc_atoms::Atom;
use swc_common::{Span, Spanned};
use swc_ecma_ast::*;

use super::convex;
use super::facts::{
    ArgPool, Args, CronJob, CustomDef, FileFacts, FnRef, Import as ImportFact, ImportKind,
    Registration, Route, RouteHandler, Top, Validator,
};
use super::ir::{
    CallIx, CallSite, Callee as IrCallee, Cond, CondIx, Flow, FnArg, FnBody, FnIx, Head,
    If as IrIf, IfIx, Node, ResultUse, Run, Sp, Try as IrTry, TryIx, Use, UseKind, Val, ValIx,
};
use super::tables::{compact, run_of, sorted_run, Scratch};

mod body;
mod expr;
mod module;
#[cfg(test)]
mod tests;
mod validators;

use body::*;
use module::*;
use validators::*;

/// Statements and expressions nested deeper than this are not lowered (the
/// body records where), so hostile input cannot exhaust the stack; the
/// engine reports the file instead of analysing a partial body.
const MAX_DEPTH: u32 = crate::nesting::LIMIT as u32;

pub fn sp(span: Span) -> Sp {
    // swc positions start at 1; 0 is its "dummy" position.
    Sp {
        lo: span.lo.0.saturating_sub(1),
        hi: span.hi.0.saturating_sub(1),
    }
}

fn atom(s: &str) -> Atom {
    Atom::from(s)
}

fn str_value(s: &Str) -> Atom {
    s.value.to_atom_lossy().into_owned()
}

fn export_name(n: &ModuleExportName) -> Atom {
    match n {
        ModuleExportName::Ident(i) => i.sym.clone(),
        ModuleExportName::Str(s) => str_value(s),
    }
}

fn prop_name(p: &PropName) -> Option<Atom> {
    match p {
        PropName::Ident(i) => Some(i.sym.clone()),
        PropName::Str(s) => Some(str_value(s)),
        _ => None,
    }
}

/// Strip wrappers that do not change a value: parens and type assertions.
fn peel(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => peel(&p.expr),
        Expr::TsAs(a) => peel(&a.expr),
        Expr::TsSatisfies(a) => peel(&a.expr),
        Expr::TsConstAssertion(a) => peel(&a.expr),
        Expr::TsTypeAssertion(a) => peel(&a.expr),
        Expr::TsInstantiation(a) => peel(&a.expr),
        _ => e,
    }
}

/// A member path's properties: inline, as most paths are short and most are
/// read once (a callee, an argument) and dropped.
type MemberPath = SmallVec<[Atom; 4]>;

/// `a.b.c` as (root name, [b, c]); None for anything else.
fn member_path(e: &Expr) -> Option<(Atom, MemberPath)> {
    match peel(e) {
        Expr::Ident(i) => Some((i.sym.clone(), MemberPath::new())),
        Expr::Member(m) => member_expr_path(m),
        Expr::OptChain(o) => match &*o.base {
            OptChainBase::Member(m) => member_expr_path(m),
            OptChainBase::Call(_) => None,
        },
        _ => None,
    }
}

fn member_expr_path(m: &MemberExpr) -> Option<(Atom, MemberPath)> {
    let (root, mut path) = member_path(&m.obj)?;
    match &m.prop {
        MemberProp::Ident(p) => path.push(p.sym.clone()),
        MemberProp::Computed(c) => match peel(&c.expr) {
            Expr::Lit(Lit::Str(s)) => path.push(str_value(s)),
            _ => return None,
        },
        MemberProp::PrivateName(_) => return None,
    }
    Some((root, path))
}

/// `api.a.b` or `internal.a.b`.
fn fn_arg_of(e: &Expr) -> Option<FnArg> {
    let (root, path) = member_path(e)?;
    let public = match root.as_str() {
        "api" => true,
        "internal" => false,
        _ => return None,
    };
    if path.is_empty() {
        return None;
    }
    Some(FnArg {
        public,
        path: path.into_iter().collect(),
        span: sp(e.span()),
    })
}

fn fn_ref(e: &Expr) -> Option<FnRef> {
    let (root, path) = member_path(e)?;
    Some(if path.is_empty() {
        FnRef::Name(root)
    } else {
        FnRef::Member(std::iter::once(root).chain(path).collect())
    })
}

/// A function-like node, borrowed.
#[derive(Clone, Copy)]
enum FnLike<'a> {
    Function(&'a Function),
    Arrow(&'a ArrowExpr),
}

impl<'a> FnLike<'a> {
    fn of(e: &'a Expr) -> Option<Self> {
        match peel(e) {
            Expr::Fn(f) => Some(FnLike::Function(&f.function)),
            Expr::Arrow(a) => Some(FnLike::Arrow(a)),
            _ => None,
        }
    }

    fn span(self) -> Span {
        match self {
            FnLike::Function(f) => f.span,
            FnLike::Arrow(a) => a.span,
        }
    }

    fn is_async(self) -> bool {
        match self {
            FnLike::Function(f) => f.is_async,
            FnLike::Arrow(a) => a.is_async,
        }
    }

    fn params(self) -> Vec<&'a Pat> {
        match self {
            FnLike::Function(f) => f.params.iter().map(|p| &p.pat).collect(),
            FnLike::Arrow(a) => a.params.iter().collect(),
        }
    }
}

thread_local! {
    /// Each thread's scratch pools, lent from module to module (empty
    /// between them) so they grow once a thread, not once a module.
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
    /// The fact lists a module is lowered into, lent the same way (each
    /// module's own are copies of their length).
    static FACTS: std::cell::Cell<Option<FileFacts>> = const { std::cell::Cell::new(None) };
}

/// Pools grown past this many entries by one odd file are not kept for the next.
const SCRATCH_KEPT: usize = 1 << 12;

/// The same for a module's fact lists.
const FACTS_KEPT: usize = 1 << 10;

/// A module's facts, each list of its length.
pub fn lower_module(module: &Module) -> FileFacts {
    lower(module).0
}

/// A module's facts, and (in tests) its bodies as lowered, before packing.
fn lower(module: &Module) -> (FileFacts, Vec<FnBody>) {
    let mut lw = ModuleLowerer {
        facts: FACTS.take().unwrap_or_default(),
        scratch: SCRATCH.take().unwrap_or_default(),
        #[cfg(test)]
        lowered: Vec::new(),
    };
    for item in &module.body {
        if let ModuleItem::ModuleDecl(ModuleDecl::Import(decl)) = item {
            lw.import(decl);
        }
    }
    lw.module_secrets(module);
    for item in &module.body {
        lw.item(item);
    }
    // The facts keep the names the bodies' tables share, not the parser's.
    let pack = &mut lw.scratch.pack;
    lw.facts.each_atom_mut(&mut |a| pack.share(a));
    lw.facts.bodies = lw.scratch.pack.take();
    if lw.scratch.largest() <= SCRATCH_KEPT {
        SCRATCH.set(Some(lw.scratch));
    }
    let facts = lw.facts.take_fitted();
    let f = &lw.facts;
    if [f.top.capacity(), f.registrations.capacity()]
        .iter()
        .all(|&c| c <= FACTS_KEPT)
    {
        FACTS.set(Some(lw.facts));
    }
    #[cfg(test)]
    return (facts, lw.lowered);
    #[cfg(not(test))]
    (facts, Vec::new())
}

/// Every name a pattern binds (inline: most patterns bind one).
fn pat_names(p: &Pat) -> SmallVec<[Atom; 4]> {
    let mut out = SmallVec::new();
    collect_pat_names(p, &mut out);
    out
}

fn collect_pat_names(p: &Pat, out: &mut SmallVec<[Atom; 4]>) {
    match p {
        Pat::Ident(i) => out.push(i.id.sym.clone()),
        Pat::Array(a) => a
            .elems
            .iter()
            .flatten()
            .for_each(|e| collect_pat_names(e, out)),
        Pat::Rest(r) => collect_pat_names(&r.arg, out),
        Pat::Object(o) => {
            for prop in &o.props {
                match prop {
                    ObjectPatProp::KeyValue(kv) => collect_pat_names(&kv.value, out),
                    ObjectPatProp::Assign(a) => out.push(a.key.id.sym.clone()),
                    ObjectPatProp::Rest(r) => collect_pat_names(&r.arg, out),
                }
            }
        }
        Pat::Assign(a) => collect_pat_names(&a.left, out),
        Pat::Invalid(_) | Pat::Expr(_) => {}
    }
}
