//! The one pass over a module's AST: lowers every function-like definition to
//! the IR in `ir.rs` and records the module's imports, exports, Convex
//! registrations and HTTP routes. Nothing of the AST survives it.

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

struct ModuleLowerer {
    facts: FileFacts,
    /// Lent to each body's lowering in turn, so its pools grow once a thread.
    scratch: Scratch,
    /// Tests: each body as lowered, before it is packed.
    #[cfg(test)]
    lowered: Vec<FnBody>,
}

impl ModuleLowerer {
    fn import(&mut self, decl: &ImportDecl) {
        if decl.type_only {
            return;
        }
        let source = str_value(&decl.src);
        for spec in &decl.specifiers {
            let (local, kind) = match spec {
                ImportSpecifier::Named(n) => {
                    if n.is_type_only {
                        continue;
                    }
                    let imported = n
                        .imported
                        .as_ref()
                        .map(export_name)
                        .unwrap_or_else(|| n.local.sym.clone());
                    (n.local.sym.clone(), ImportKind::Named(imported))
                }
                ImportSpecifier::Default(d) => (d.local.sym.clone(), ImportKind::Default),
                ImportSpecifier::Namespace(n) => (n.local.sym.clone(), ImportKind::Namespace),
            };
            self.facts.imports.push(ImportFact {
                local,
                source: source.clone(),
                kind,
            });
        }
    }

    fn item(&mut self, item: &ModuleItem) {
        match item {
            ModuleItem::ModuleDecl(decl) => self.module_decl(decl),
            ModuleItem::Stmt(Stmt::Decl(decl)) => self.decl(decl, false),
            ModuleItem::Stmt(Stmt::Expr(e)) => self.top_expr_stmt(&e.expr),
            ModuleItem::Stmt(_) => {}
        }
    }

    fn module_decl(&mut self, decl: &ModuleDecl) {
        match decl {
            ModuleDecl::ExportDecl(e) => self.decl(&e.decl, true),
            ModuleDecl::ExportNamed(named) => {
                for spec in &named.specifiers {
                    let ExportSpecifier::Named(n) = spec else {
                        continue;
                    };
                    if n.is_type_only {
                        continue;
                    }
                    let orig = export_name(&n.orig);
                    let exported = n.exported.as_ref().map(export_name).unwrap_or(orig.clone());
                    match &named.src {
                        Some(src) => self.facts.reexports.push((exported, str_value(src), orig)),
                        None => self.facts.exports.push((exported, orig)),
                    }
                }
            }
            ModuleDecl::ExportAll(all) => self.facts.star_exports.push(str_value(&all.src)),
            ModuleDecl::ExportDefaultExpr(e) => {
                let name = atom("default");
                self.binding(&name, &e.expr, sp(e.span), true);
            }
            ModuleDecl::ExportDefaultDecl(d) => {
                if let DefaultDecl::Fn(f) = &d.decl {
                    let ix = self.lower_fn(FnLike::Function(&f.function), "default", false);
                    self.facts.top.push((atom("default"), Top::Fn(ix)));
                    self.facts.exports.push((atom("default"), atom("default")));
                }
            }
            _ => {}
        }
    }

    fn decl(&mut self, decl: &Decl, exported: bool) {
        match decl {
            Decl::Fn(f) => {
                let name = f.ident.sym.clone();
                let ix = self.lower_fn(FnLike::Function(&f.function), &name, false);
                self.facts.top.push((name.clone(), Top::Fn(ix)));
                if exported {
                    self.facts.exports.push((name.clone(), name));
                }
            }
            Decl::Var(var) => {
                for d in &var.decls {
                    match &d.name {
                        Pat::Ident(id) => {
                            let name = id.id.sym.clone();
                            if let Some(init) = &d.init {
                                self.binding(&name, init, sp(id.id.span), false);
                            } else {
                                self.facts.top.push((name.clone(), Top::Other));
                            }
                            if exported {
                                self.facts.exports.push((name.clone(), name));
                            }
                        }
                        // `export const { auth, signIn, store } = convexAuth(...)`: library
                        // endpoints, not functions this project wrote; each part
                        // remembers what made it (`auth.getUserId(ctx)`).
                        other => {
                            let made = d.init.as_deref().and_then(|init| match peel(init) {
                                Expr::Call(c) => match &c.callee {
                                    Callee::Expr(e) => fn_ref(e),
                                    _ => None,
                                },
                                _ => None,
                            });
                            for name in pat_names(other) {
                                let top = match &made {
                                    Some(r) => Top::Made(r.clone()),
                                    None => Top::Other,
                                };
                                self.facts.top.push((name.clone(), top));
                                if exported {
                                    self.facts.exports.push((name.clone(), name));
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A top-level binding `name = init` (or `export default init`).
    fn binding(&mut self, name: &Atom, init: &Expr, name_span: Sp, is_default: bool) {
        let init = peel(init);
        let top = match init {
            Expr::Fn(_) | Expr::Arrow(_) => match FnLike::of(init) {
                Some(f) => Top::Fn(self.lower_fn(f, name, false)),
                None => Top::Other,
            },
            Expr::Object(obj) => self.object(name, obj),
            Expr::Call(call) => self.top_call(name, call, name_span),
            Expr::New(new) => match fn_ref(&new.callee) {
                Some(r) => Top::Made(r),
                None => Top::Other,
            },
            Expr::Ident(_) | Expr::Member(_) => match fn_ref(init) {
                Some(r) => Top::Alias(Box::new(r)),
                None => Top::Other,
            },
            _ => Top::Other,
        };
        self.facts.top.push((name.clone(), top));
        if is_default {
            self.facts.exports.push((name.clone(), name.clone()));
        }
    }

    fn object(&mut self, name: &Atom, obj: &ObjectLit) -> Top {
        let mut methods = Vec::new();
        for prop in &obj.props {
            let PropOrSpread::Prop(prop) = prop else {
                continue;
            };
            let (key, f) = match &**prop {
                Prop::Method(m) => (prop_name(&m.key), Some(FnLike::Function(&m.function))),
                Prop::KeyValue(kv) => (prop_name(&kv.key), FnLike::of(&kv.value)),
                _ => (None, None),
            };
            if let (Some(key), Some(f)) = (key, f) {
                let display = format!("{name}.{key}");
                let ix = self.lower_fn(f, &display, false);
                methods.push((key, ix));
            }
        }
        if methods.is_empty() {
            Top::Other
        } else {
            Top::Object(methods.into_iter().collect())
        }
    }

    fn is_custom_factory(&self, callee: &str) -> bool {
        self.facts.import(callee).is_some_and(|i| {
            convex::is_custom_functions_module(&i.source)
                && matches!(&i.kind, ImportKind::Named(n) if convex::is_custom_factory(n))
        })
    }

    fn is_helpers_import(&self, local: &str, name: &str) -> bool {
        self.facts.import(local).is_some_and(|i| {
            convex::is_custom_functions_module(&i.source)
                && matches!(&i.kind, ImportKind::Named(n) if n == name)
        })
    }

    fn top_call(&mut self, name: &Atom, call: &CallExpr, name_span: Sp) -> Top {
        let Callee::Expr(callee) = &call.callee else {
            return Top::Other;
        };
        let Some(callee_ref) = fn_ref(callee) else {
            return Top::Other;
        };
        if let FnRef::Name(f) = &callee_ref {
            if self.is_custom_factory(f) {
                return self.custom_def(call);
            }
            // `const authContext = customCtx(fn)`: the customisation, named.
            if self.is_helpers_import(f, "customCtx") {
                return match self.customisation_call(call) {
                    Some(FnRef::Inline(ix)) => Top::Fn(ix),
                    Some(r) => Top::Alias(Box::new(r)),
                    None => Top::Other,
                };
            }
            if let Some(arg) = call.args.first() {
                let arg = peel(&arg.expr);
                if matches!(arg, Expr::Object(_) | Expr::Fn(_) | Expr::Arrow(_))
                    || (call.args.len() == 1 && matches!(arg, Expr::Ident(_)))
                {
                    let (handler, args) = self.config(name, arg);
                    let reg = Registration {
                        local: name.clone(),
                        builder: f.clone(),
                        name_span,
                        builder_span: sp(callee.span()),
                        handler,
                        args,
                    };
                    self.facts.registrations.push(reg);
                    return Top::Reg(self.facts.registrations.len() - 1);
                }
            }
        }
        Top::Made(callee_ref)
    }

    /// The handler and `args` validators of a builder's argument.
    fn config(&mut self, name: &Atom, arg: &Expr) -> (Option<FnRef>, Option<Args>) {
        if let Some(f) = FnLike::of(arg) {
            return (Some(FnRef::Inline(self.lower_fn(f, name, true))), None);
        }
        let Expr::Object(obj) = arg else {
            return (fn_ref(arg), None);
        };
        let mut handler = None;
        let mut has_args = None;
        for prop in &obj.props {
            let PropOrSpread::Prop(prop) = prop else {
                continue;
            };
            match &**prop {
                Prop::KeyValue(kv) => match prop_name(&kv.key).as_deref() {
                    Some("handler") => {
                        handler = match FnLike::of(&kv.value) {
                            Some(f) => Some(FnRef::Inline(self.lower_fn(f, name, true))),
                            None => fn_ref(&kv.value),
                        }
                    }
                    Some("args") => {
                        has_args = Some(args_of(&mut self.facts.args, &kv.value, sp(kv.key.span())))
                    }
                    _ => {}
                },
                Prop::Method(m) if prop_name(&m.key).as_deref() == Some("handler") => {
                    let f = FnLike::Function(&m.function);
                    handler = Some(FnRef::Inline(self.lower_fn(f, name, true)));
                }
                Prop::Shorthand(id) if id.sym == "handler" => {
                    handler = Some(FnRef::Name(id.sym.clone()))
                }
                Prop::Shorthand(id) if id.sym == "args" => {
                    has_args = Some(self.facts.args.start(sp(id.span)))
                }
                _ => {}
            }
        }
        (handler, has_args)
    }

    /// `customQuery(base, customCtx(fn))` or `customQuery(base, { args, input })`.
    fn custom_def(&mut self, call: &CallExpr) -> Top {
        let Some(base) = call.args.first().and_then(|a| fn_ref(&a.expr)) else {
            return Top::Other;
        };
        let base = match base {
            FnRef::Name(n) => n,
            _ => return Top::Other,
        };
        let customisation = call
            .args
            .get(1)
            .and_then(|a| self.customisation(peel(&a.expr)));
        Top::Custom(Box::new(CustomDef {
            base,
            customisation,
            span: sp(call.span),
        }))
    }

    /// `customCtx(fn)`: the only argument is the customisation.
    fn customisation_call(&mut self, c: &CallExpr) -> Option<FnRef> {
        let arg = peel(&c.args.first()?.expr);
        match FnLike::of(arg) {
            Some(f) => Some(FnRef::Inline(self.lower_fn(f, "customCtx", true))),
            None => fn_ref(arg),
        }
    }

    fn customisation(&mut self, e: &Expr) -> Option<FnRef> {
        match e {
            Expr::Call(c) => self.customisation_call(c),
            Expr::Object(obj) => obj.props.iter().find_map(|p| {
                let PropOrSpread::Prop(prop) = p else {
                    return None;
                };
                match &**prop {
                    Prop::KeyValue(kv) if prop_name(&kv.key).as_deref() == Some("input") => {
                        match FnLike::of(&kv.value) {
                            Some(f) => Some(FnRef::Inline(self.lower_fn(f, "input", true))),
                            None => fn_ref(&kv.value),
                        }
                    }
                    Prop::Method(m) if prop_name(&m.key).as_deref() == Some("input") => Some(
                        FnRef::Inline(self.lower_fn(FnLike::Function(&m.function), "input", true)),
                    ),
                    Prop::Shorthand(id) if id.sym == "input" => Some(FnRef::Name(id.sym.clone())),
                    _ => None,
                }
            }),
            _ => fn_ref(e),
        }
    }

    /// Top-level statements: `http.route({ path, method, handler })`.
    fn top_expr_stmt(&mut self, e: &Expr) {
        let Expr::Call(call) = peel(e) else {
            return;
        };
        let Callee::Expr(callee) = &call.callee else {
            return;
        };
        let Some((router, path)) = member_path(callee) else {
            return;
        };
        if self.is_made_by(&router, "cronJobs") {
            if let (Some(method), Some(target)) = (
                path.first(),
                call.args.iter().find_map(|a| fn_arg_of(&a.expr)),
            ) {
                self.facts.crons.push(CronJob {
                    method: method.clone(),
                    target,
                });
            }
            return;
        }
        if path.len() != 1 || path.first().map(|p| p.as_str()) != Some("route") {
            return;
        }
        if !matches!(self.facts.top(&router), Some(Top::Made(FnRef::Name(n))) if self.is_http_router(n))
        {
            return;
        }
        let Some(Expr::Object(obj)) = call.args.first().map(|a| peel(&a.expr)) else {
            return;
        };
        let mut method = atom("?");
        let mut route_path = atom("?");
        let mut handler = None;
        for prop in &obj.props {
            let PropOrSpread::Prop(prop) = prop else {
                continue;
            };
            let Prop::KeyValue(kv) = &**prop else {
                if let Prop::Shorthand(id) = &**prop {
                    if id.sym == "handler" {
                        handler = Some(RouteHandler::Ref(FnRef::Name(id.sym.clone())));
                    }
                }
                continue;
            };
            let value = peel(&kv.value);
            match prop_name(&kv.key).as_deref() {
                Some("method") => {
                    if let Expr::Lit(Lit::Str(s)) = value {
                        method = str_value(s);
                    }
                }
                Some(k @ ("path" | "pathPrefix")) => {
                    route_path = match value {
                        Expr::Lit(Lit::Str(s)) => str_value(s),
                        Expr::Tpl(t) if t.exprs.is_empty() => t
                            .quasis
                            .first()
                            .map(|q| q.raw.clone())
                            .unwrap_or_else(|| atom("?")),
                        _ => atom("?"),
                    };
                    if k == "pathPrefix" {
                        route_path = atom(&format!("{route_path}*"));
                    }
                }
                Some("handler") => handler = self.route_handler(value, &method),
                _ => {}
            }
        }
        if let Some(handler) = handler {
            self.facts.routes.push(Route {
                method,
                path: route_path,
                span: sp(callee.span()),
                handler,
            });
        }
    }

    fn route_handler(&mut self, value: &Expr, method: &Atom) -> Option<RouteHandler> {
        if let Expr::Call(c) = value {
            let Callee::Expr(b) = &c.callee else {
                return None;
            };
            let Some(FnRef::Name(builder)) = fn_ref(b) else {
                return None;
            };
            let arg = c.args.first().map(|a| peel(&a.expr));
            let handler = match arg.and_then(FnLike::of) {
                Some(f) => Some(FnRef::Inline(self.lower_fn(f, method, true))),
                None => arg.and_then(fn_ref),
            };
            return Some(RouteHandler::Inline {
                builder,
                builder_span: sp(b.span()),
                handler,
            });
        }
        fn_ref(value).map(RouteHandler::Ref)
    }

    /// Is `name` bound to `maker()` imported from `convex/server`?
    fn is_made_by(&self, name: &str, maker: &str) -> bool {
        matches!(self.facts.top(name), Some(Top::Made(FnRef::Name(n))) if
        self.facts.import(n).is_some_and(|i| {
            i.source == "convex/server" && matches!(&i.kind, ImportKind::Named(x) if x == maker)
        }))
    }

    fn is_http_router(&self, maker: &str) -> bool {
        self.facts.import(maker).is_some_and(|i| {
            i.source == "convex/server"
                && matches!(&i.kind, ImportKind::Named(n) if n == "httpRouter")
        })
    }

    fn lower_fn(&mut self, f: FnLike<'_>, name: &str, ctx_first: bool) -> FnIx {
        let scratch = std::mem::take(&mut self.scratch);
        let mut scratch = BodyLowerer::lower(f, name, ctx_first, scratch);
        let body = &mut scratch.spare;
        if let Some(at) = body.too_deep {
            self.facts.too_deep.get_or_insert(at);
        }
        for call in &body.calls {
            let Some((module, _)) = call.fn_arg.as_ref().and_then(|a| a.module_and_name()) else {
                continue;
            };
            if !self.facts.calls_into.iter().any(|m| *m == *module) {
                self.facts.calls_into.push(Atom::from(module));
            }
        }
        let ix = scratch.pack.push(body);
        #[cfg(test)]
        self.lowered.push(body.clone());
        body.clear();
        self.scratch = scratch;
        ix
    }
}

/// The validators of an `args` object: each argument's kind, and `v.any()`s.
fn args_of(pool: &mut ArgPool, e: &Expr, key_span: Sp) -> Args {
    let mut args = pool.start(key_span);
    let Expr::Object(obj) = peel(e) else {
        return args;
    };
    for prop in &obj.props {
        let PropOrSpread::Prop(prop) = prop else {
            continue;
        };
        let Prop::KeyValue(kv) = &**prop else {
            continue;
        };
        let Some(name) = prop_name(&kv.key) else {
            continue;
        };
        let mut loose = Vec::new();
        collect_any(&kv.value, &mut loose, 0);
        pool.loose
            .extend(loose.into_iter().map(|s| (name.clone(), s)));
        if let Some(v) = validator_of(&kv.value, 0) {
            pool.validators.push((name, v, sp(kv.span())));
        }
    }
    pool.end(&mut args);
    args
}

/// `v.id("t")`, `v.optional(v.id("t"))`, `v.string()`; None for other kinds.
fn validator_of(e: &Expr, depth: u32) -> Option<Validator> {
    let Expr::Call(c) = peel(e) else {
        return None;
    };
    let Callee::Expr(callee) = &c.callee else {
        return None;
    };
    let (_, path) = member_path(callee)?;
    let first = c.args.first().map(|a| peel(&a.expr));
    match path.last().map(|s| s.as_str()) {
        Some("id") => match first {
            Some(Expr::Lit(Lit::Str(s))) => Some(Validator::Id(str_value(s))),
            _ => None,
        },
        Some("string") => Some(Validator::String),
        Some("optional") if depth < 8 => validator_of(first?, depth + 1),
        _ => None,
    }
}

/// Spans of every `v.any()` inside a validator expression.
fn collect_any(e: &Expr, out: &mut Vec<Sp>, depth: u32) {
    if depth > 32 {
        return;
    }
    match peel(e) {
        Expr::Call(c) => {
            if let Callee::Expr(callee) = &c.callee {
                if let Some((root, path)) = member_path(callee) {
                    if root == "v" && path.len() == 1 && path.first().is_some_and(|p| p == "any") {
                        out.push(sp(c.span));
                        return;
                    }
                }
            }
            for a in &c.args {
                collect_any(&a.expr, out, depth + 1);
            }
        }
        Expr::Object(o) => {
            for p in &o.props {
                if let PropOrSpread::Prop(p) = p {
                    if let Prop::KeyValue(kv) = &**p {
                        collect_any(&kv.value, out, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
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

/// Is a parameter's type a Convex context (`QueryCtx`, `GenericMutationCtx<DM>`, ...)?
fn is_ctx_type(p: &Pat) -> bool {
    let ann = match p {
        Pat::Ident(i) => i.type_ann.as_ref(),
        Pat::Object(o) => o.type_ann.as_ref(),
        _ => None,
    };
    let Some(ann) = ann else {
        return false;
    };
    is_ctx_ts_type(&ann.type_ann)
}

fn is_ctx_ts_type(t: &TsType) -> bool {
    match t {
        TsType::TsTypeRef(r) => {
            let name = match &r.type_name {
                TsEntityName::Ident(i) => i.sym.clone(),
                TsEntityName::TsQualifiedName(q) => q.right.sym.clone(),
            };
            name.ends_with("Ctx") || name.ends_with("Context")
        }
        // `QueryCtx | MutationCtx`
        TsType::TsUnionOrIntersectionType(TsUnionOrIntersectionType::TsUnionType(u)) => {
            u.types.iter().all(|t| is_ctx_ts_type(t))
        }
        _ => false,
    }
}

/// `ctx_path` on the aliases alone, so the body's pools can be written meanwhile.
fn ctx_path_in<'a>(aliases: &'a [(Atom, Vec<Atom>)], name: &str) -> Option<&'a [Atom]> {
    aliases
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.as_slice())
}

/// Lowers one function body: builds its call table, bindings, uses and tree.
struct BodyLowerer {
    out: FnBody,
    s: Scratch,
    /// Names that stand for the Convex ctx or a part of it: (name, path in ctx).
    ctx_aliases: Vec<(Atom, Vec<Atom>)>,
    depth: u32,
    /// Public-flag tests seen so far (`row.isPublic`, `q.eq("isPublic", ..)`).
    public_tests: u32,
    /// Every `x.y` read so far (for what a call's arguments mention).
    props_seen: Vec<(Atom, Atom)>,
}

impl BodyLowerer {
    fn lower(f: FnLike<'_>, name: &str, ctx_first: bool, mut scratch: Scratch) -> Scratch {
        // The spare body's tables are empty but keep the capacity earlier bodies gave them.
        let mut out = std::mem::take(&mut scratch.spare);
        out.name = atom(name);
        out.span = sp(f.span());
        out.is_async = f.is_async();
        let mut ctx_aliases = std::mem::take(&mut scratch.ctx_aliases);
        ctx_aliases.push((atom("ctx"), Vec::new()));
        let props_seen = std::mem::take(&mut scratch.props_seen);
        let mut lw = BodyLowerer {
            s: scratch,
            out,
            ctx_aliases,
            depth: 0,
            public_tests: 0,
            props_seen,
        };
        let params = f.params();
        lw.out.arity = u8::try_from(params.len()).unwrap_or(u8::MAX);
        for (i, p) in params.into_iter().enumerate() {
            let is_ctx = (i == 0 && ctx_first) || is_ctx_type(p);
            lw.param(p, is_ctx);
            if let Pat::Ident(id) = p {
                if !is_ctx && lw.ctx_path(&id.id.sym).is_none() {
                    lw.out.params.push(id.id.sym.clone());
                }
            }
            // The handler's arguments object, destructured: `{ id, body: text }`.
            if i == 1 && ctx_first {
                if let Pat::Object(o) = p {
                    for prop in &o.props {
                        match prop {
                            ObjectPatProp::Assign(a) => lw
                                .out
                                .arg_locals
                                .push((a.key.id.sym.clone(), a.key.id.sym.clone())),
                            ObjectPatProp::KeyValue(kv) => {
                                if let (Some(key), Pat::Ident(local)) =
                                    (prop_name(&kv.key), &*kv.value)
                                {
                                    lw.out.arg_locals.push((key, local.id.sym.clone()));
                                }
                            }
                            ObjectPatProp::Rest(_) => {}
                        }
                    }
                }
            }
        }
        lw.out.ctx_names = lw
            .ctx_aliases
            .iter()
            .filter(|(_, path)| path.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        let body = match f {
            FnLike::Function(func) => func.body.as_ref().map(|b| lw.stmts(&b.stmts)),
            FnLike::Arrow(a) => Some(lw.arrow_body(&a.body)),
        };
        lw.out.body = body;
        compact(&mut lw.out, &mut lw.s);
        lw.s.clear();
        lw.s.spare = lw.out;
        lw.ctx_aliases.clear();
        lw.props_seen.clear();
        lw.s.ctx_aliases = lw.ctx_aliases;
        lw.s.props_seen = lw.props_seen;
        lw.s
    }

    fn param(&mut self, p: &Pat, is_ctx: bool) {
        let p = match p {
            Pat::Assign(a) => &*a.left,
            p => p,
        };
        match p {
            Pat::Ident(i) if is_ctx || i.id.sym == "ctx" || i.id.sym == "context" => {
                self.ctx_aliases.push((i.id.sym.clone(), Vec::new()));
            }
            Pat::Object(o) if is_ctx => self.destructure_ctx(o, &[]),
            _ => {}
        }
    }

    /// `{ db, auth: a }` taken from ctx (or a part of it) become aliases.
    fn destructure_ctx(&mut self, o: &ObjectPat, prefix: &[Atom]) {
        for prop in &o.props {
            match prop {
                ObjectPatProp::Assign(a) => {
                    let mut path = prefix.to_vec();
                    path.push(a.key.id.sym.clone());
                    self.ctx_aliases.push((a.key.id.sym.clone(), path));
                }
                ObjectPatProp::KeyValue(kv) => {
                    let Some(key) = prop_name(&kv.key) else {
                        continue;
                    };
                    let mut path = prefix.to_vec();
                    path.push(key);
                    match &*kv.value {
                        Pat::Ident(i) => self.ctx_aliases.push((i.id.sym.clone(), path)),
                        Pat::Object(inner) => self.destructure_ctx(inner, &path),
                        _ => {}
                    }
                }
                ObjectPatProp::Rest(_) => {}
            }
        }
    }

    fn ctx_path(&self, name: &str) -> Option<&[Atom]> {
        ctx_path_in(&self.ctx_aliases, name)
    }

    /// `x` is read: the value refers to it and carries its content.
    fn name_ref(&mut self, v: &mut Val, name: &Atom) {
        v.refs.push(&mut self.s.refs, name.clone());
        v.flow.names.push(&mut self.s.flows, name.clone());
    }

    /// Merge what an operand contributes into the value of the whole expression.
    fn absorb(&mut self, v: &mut Val, inner: Val) {
        v.public |= inner.public;
        self.merge_flow(&mut v.flow, inner.flow);
        v.refs.append(&mut self.s.refs, inner.refs);
        v.calls |= inner.calls;
        v.env |= inner.env;
        v.hmac |= inner.hmac;
    }

    fn merge_flow(&mut self, dst: &mut Flow, src: Flow) {
        if dst.env.is_none() {
            dst.env = src.env;
        }
        dst.names.append(&mut self.s.flows, src.names);
        dst.calls.append(&mut self.s.flow_calls, src.calls);
    }

    /// Adds a statement to the sequence being lowered.
    fn emit(&mut self, n: Node) {
        self.s.nodes.push(n);
    }

    /// The statements emitted since `base`, as a sequence of the body (empty
    /// sequences dropped: they do nothing).
    fn seq(&mut self, base: usize) -> Run<Node> {
        let emitted = self.s.nodes.drain(base..);
        let kept = emitted.filter(|n| !matches!(n, Node::Seq(r) if r.is_empty()));
        run_of(&mut self.out.nodes, kept)
    }

    /// A node as a sequence (the lowering's bodies are sequences already).
    fn as_seq(&mut self, n: Node) -> Run<Node> {
        match n {
            Node::Seq(run) => run,
            other => {
                self.out.nodes.push(other);
                Run::tail(&self.out.nodes, self.out.nodes.len() - 1)
            }
        }
    }

    /// A sequence of what `lower` emits.
    fn seq_of(&mut self, lower: impl FnOnce(&mut Self)) -> Node {
        let base = self.s.nodes.len();
        lower(self);
        Node::Seq(self.seq(base))
    }

    fn emit_if(&mut self, cond: CondIx, then: Node, els: Node) {
        let ix = IfIx(self.out.ifs.len() as u32);
        self.out.ifs.push(IrIf { cond, then, els });
        self.emit(Node::If(ix));
    }

    fn val(&mut self, v: Val) -> ValIx {
        self.s.vals.push(v);
        ValIx(self.s.vals.len() as u32 - 1)
    }

    fn cond(&mut self, c: Cond) -> CondIx {
        self.s.conds.push(c);
        CondIx(self.s.conds.len() as u32 - 1)
    }

    /// What a value means as a test.
    fn cond_of(&mut self, v: Val) -> CondIx {
        match v.head {
            Head::Cond(c) => c,
            _ => {
                let v = self.val(v);
                self.cond(Cond::Truthy(v))
            }
        }
    }

    fn arrow_body(&mut self, body: &ArrowFunctionBody) -> Node {
        match body {
            ArrowFunctionBody::FunctionBody(b) => self.stmts(&b.stmts),
            ArrowFunctionBody::Expr(e) => self.seq_of(|lw| {
                let v = lw.expr(e, ResultUse::Handled);
                lw.returned(Some(&v));
                let v = lw.val(v);
                lw.emit(Node::Return(Some(v)));
            }),
        }
    }

    /// A returned promise rejects in the caller, as if awaited here.
    fn returned(&mut self, v: Option<&Val>) {
        if let Some(Head::Call(ix)) = v.map(|v| &v.head) {
            if let Some(c) = self.out.calls.get_mut(*ix as usize) {
                c.awaited = true;
                self.out.is_async = true;
            }
        }
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Node {
        self.seq_of(|lw| {
            for s in stmts {
                lw.stmt(s);
            }
        })
    }

    fn block(&mut self, s: &Stmt) -> Node {
        self.seq_of(|lw| lw.stmt(s))
    }

    fn stmt(&mut self, s: &Stmt) {
        if self.depth > MAX_DEPTH {
            self.out.too_deep.get_or_insert(sp(s.span()).lo);
            return;
        }
        self.depth += 1;
        self.stmt_inner(s);
        self.depth -= 1;
    }

    fn stmt_inner(&mut self, s: &Stmt) {
        match s {
            Stmt::Block(b) => {
                let n = self.stmts(&b.stmts);
                self.emit(n);
            }
            Stmt::Expr(e) => {
                self.expr(&e.expr, ResultUse::Discarded);
            }
            Stmt::Decl(Decl::Var(var)) => self.var_decl(var),
            Stmt::Decl(_) => {}
            Stmt::Return(r) => {
                let v = r.arg.as_ref().map(|a| self.expr(a, ResultUse::Handled));
                self.returned(v.as_ref());
                let v = v.map(|v| self.val(v));
                self.emit(Node::Return(v));
            }
            Stmt::Throw(t) => {
                self.expr(&t.arg, ResultUse::Other);
                self.emit(Node::Throw);
            }
            Stmt::If(i) => {
                let cond = self.test(&i.test);
                let then = self.block(&i.cons);
                let els = match &i.alt {
                    Some(alt) => self.block(alt),
                    None => Node::Seq(Run::EMPTY),
                };
                self.emit_if(cond, then, els);
            }
            Stmt::Try(t) => {
                let body = self.stmts(&t.block.stmts);
                if let Some(Pat::Ident(p)) = t.handler.as_ref().and_then(|h| h.param.as_ref()) {
                    self.out.catch_params.push(p.id.sym.clone());
                }
                let handler = t.handler.as_ref().map(|h| self.stmts(&h.body.stmts));
                let finalizer = t.finalizer.as_ref().map(|f| self.stmts(&f.stmts));
                let ix = TryIx(self.out.tries.len() as u32);
                self.out.tries.push(IrTry {
                    body,
                    handler,
                    finalizer,
                });
                self.emit(Node::Try(ix));
            }
            Stmt::While(w) => {
                self.test(&w.test);
                let base = self.s.nodes.len();
                self.stmt(&w.body);
                let body = self.seq(base);
                self.emit(Node::Loop(body));
            }
            Stmt::DoWhile(w) => {
                self.stmt(&w.body);
                self.test(&w.test);
            }
            Stmt::For(f) => {
                match &f.init {
                    Some(VarDeclOrExpr::VarDecl(v)) => self.var_decl(v),
                    Some(VarDeclOrExpr::Expr(e)) => {
                        self.expr(e, ResultUse::Other);
                    }
                    None => {}
                }
                let base = self.s.nodes.len();
                if let Some(t) = &f.test {
                    self.test(t);
                }
                self.stmt(&f.body);
                if let Some(u) = &f.update {
                    self.expr(u, ResultUse::Other);
                }
                let body = self.seq(base);
                self.emit(Node::Loop(body));
            }
            Stmt::ForOf(f) => {
                self.expr(&f.right, ResultUse::Other);
                let base = self.s.nodes.len();
                self.stmt(&f.body);
                let body = self.seq(base);
                self.emit(Node::Loop(body));
            }
            Stmt::ForIn(f) => {
                self.expr(&f.right, ResultUse::Other);
                let base = self.s.nodes.len();
                self.stmt(&f.body);
                let body = self.seq(base);
                self.emit(Node::Loop(body));
            }
            Stmt::Switch(sw) => {
                self.expr(&sw.discriminant, ResultUse::Handled);
                // Each case may be where control enters; fallthrough is ignored.
                for case in &sw.cases {
                    if let Some(t) = &case.test {
                        self.expr(t, ResultUse::Handled);
                    }
                    let body = self.stmts(&case.cons);
                    let unknown = self.cond(Cond::Unknown);
                    self.emit_if(unknown, body, Node::Seq(Run::EMPTY));
                }
            }
            Stmt::Labeled(l) => self.stmt(&l.body),
            Stmt::With(w) => {
                self.expr(&w.obj, ResultUse::Other);
                self.stmt(&w.body);
            }
            Stmt::Empty(_) | Stmt::Debugger(_) | Stmt::Break(_) | Stmt::Continue(_) => {}
        }
    }

    fn var_decl(&mut self, var: &VarDecl) {
        for d in &var.decls {
            let Some(init) = &d.init else {
                continue;
            };
            // `const { db } = ctx`: more ctx aliases, nothing else.
            if let (Pat::Object(o), Expr::Ident(i)) = (&d.name, peel(init)) {
                if let Some(prefix) = self.ctx_path(&i.sym).map(<[Atom]>::to_vec) {
                    self.destructure_ctx(o, &prefix);
                    continue;
                }
            }
            if let (Pat::Ident(id), Some((root, path))) = (&d.name, member_path(init)) {
                if let Some(prefix) = self.ctx_path(&root).map(<[Atom]>::to_vec) {
                    let mut full = prefix;
                    full.extend(path);
                    self.ctx_aliases.push((id.id.sym.clone(), full));
                    continue;
                }
            }
            let v = self.expr(init, ResultUse::Bound);
            // Each name bound gets the value; the last takes it.
            let mut names = pat_names(&d.name);
            if let Some(last) = names.pop() {
                for name in names {
                    self.out.bindings.push((name, v.clone()));
                }
                self.out.bindings.push((last, v));
            }
        }
    }

    /// Lowers a test expression: its effects are emitted, its meaning is returned.
    fn test(&mut self, e: &Expr) -> CondIx {
        let v = self.expr(e, ResultUse::Handled);
        self.cond_of(v)
    }

    fn record_use(&mut self, name: &Atom, mode: ResultUse, span: Span) {
        let kind = match mode {
            ResultUse::Handled => UseKind::Handled,
            ResultUse::Dereferenced => UseKind::Dereferenced,
            _ => UseKind::Plain,
        };
        self.out.uses.push(Use {
            name: name.clone(),
            kind,
            span: sp(span),
        });
    }

    fn expr(&mut self, e: &Expr, mode: ResultUse) -> Val {
        if self.depth > MAX_DEPTH {
            self.out.too_deep.get_or_insert(sp(e.span()).lo);
            return Val::default();
        }
        self.depth += 1;
        let v = self.expr_inner(e, mode);
        self.depth -= 1;
        v
    }

    fn expr_inner(&mut self, e: &Expr, mode: ResultUse) -> Val {
        let span = sp(e.span());
        let mut v = Val {
            span,
            ..Val::default()
        };
        match e {
            Expr::Paren(p) => return self.expr(&p.expr, mode),
            Expr::TsAs(a) => return self.expr(&a.expr, mode),
            Expr::TsSatisfies(a) => return self.expr(&a.expr, mode),
            Expr::TsConstAssertion(a) => return self.expr(&a.expr, mode),
            Expr::TsTypeAssertion(a) => return self.expr(&a.expr, mode),
            Expr::TsInstantiation(a) => return self.expr(&a.expr, mode),
            Expr::TsNonNull(n) => return self.expr(&n.expr, ResultUse::Dereferenced),
            Expr::Await(a) => {
                let inner = self.expr(&a.arg, mode);
                if let Head::Call(ix) = inner.head {
                    if let Some(c) = self.out.calls.get_mut(ix as usize) {
                        c.awaited = true;
                    }
                }
                return inner;
            }
            Expr::Ident(i) => {
                if i.sym == "undefined" {
                    v.head = Head::Nullish;
                } else {
                    self.record_use(&i.sym, mode, i.span);
                    v.head = Head::Name(i.sym.clone());
                    self.name_ref(&mut v, &i.sym);
                }
            }
            Expr::Lit(l) => {
                if let Lit::Str(s) = l {
                    if s.value.len() <= 32 {
                        v.lit = Some(str_value(s));
                    }
                }
                v.head = match l {
                    Lit::Null(_) => Head::Nullish,
                    Lit::Bool(b) if !b.value => Head::Nullish,
                    Lit::Num(n) if n.value == 0.0 => Head::Nullish,
                    Lit::Str(s) if s.value.is_empty() => Head::Nullish,
                    _ => Head::Lit,
                }
            }
            Expr::Tpl(t) => {
                for x in &t.exprs {
                    let inner = self.expr(x, ResultUse::Other);
                    self.absorb(&mut v, inner);
                }
                v.head = Head::Lit;
            }
            Expr::TaggedTpl(t) => {
                for x in &t.tpl.exprs {
                    let inner = self.expr(x, ResultUse::Other);
                    self.absorb(&mut v, inner);
                }
            }
            Expr::Member(m) => return self.member(m, false, mode),
            Expr::OptChain(o) => match &*o.base {
                OptChainBase::Member(m) => return self.member(m, true, mode),
                OptChainBase::Call(c) => {
                    return self.call(&c.callee, &c.args, false, span, mode);
                }
            },
            Expr::Call(c) => match &c.callee {
                Callee::Expr(callee) => {
                    // An immediately invoked function runs in place.
                    if let Some(f) = FnLike::of(callee) {
                        let nested = self.nested(f);
                        self.emit(nested);
                        return v;
                    }
                    return self.call(callee, &c.args, false, span, mode);
                }
                Callee::Import(_) | Callee::Super(_) => {
                    for a in &c.args {
                        self.expr(&a.expr, ResultUse::Other);
                    }
                }
            },
            Expr::New(n) => {
                let args = n.args.as_deref().unwrap_or(&[]);
                return self.call(&n.callee, args, true, span, mode);
            }
            Expr::Unary(u) => {
                let inner = self.expr(&u.arg, ResultUse::Handled);
                // What `absorb` takes, but not the flow: `!key`, `typeof key`
                // are a boolean or a type name, not the content.
                v.public |= inner.public;
                v.calls |= inner.calls;
                v.env |= inner.env;
                v.hmac |= inner.hmac;
                // `!x` keeps its operand whole, in the condition (a run is
                // shared by copies, not copied).
                v.refs.append(&mut self.s.refs, inner.refs);
                v.head = match u.op {
                    UnaryOp::Bang => {
                        let c = self.cond_of(inner);
                        Head::Cond(self.cond(Cond::Not(c)))
                    }
                    UnaryOp::Void => Head::Nullish,
                    _ => Head::Other,
                };
                v.flow = Flow::default();
            }
            Expr::Bin(b) => return self.binary(b, span, mode),
            Expr::Cond(c) => {
                let cond = self.test(&c.test);
                let base = self.s.nodes.len();
                let a = self.expr(&c.cons, mode);
                let then = Node::Seq(self.seq(base));
                let b = self.expr(&c.alt, mode);
                let els = Node::Seq(self.seq(base));
                self.emit_if(cond, then, els);
                self.absorb(&mut v, a);
                self.absorb(&mut v, b);
            }
            Expr::Assign(a) => {
                let value = self.expr(&a.right, ResultUse::Bound);
                match &a.left {
                    AssignTarget::Simple(SimpleAssignTarget::Ident(id)) => {
                        self.out.bindings.push((id.id.sym.clone(), value.clone()));
                    }
                    AssignTarget::Simple(SimpleAssignTarget::Member(m)) => {
                        self.expr(&m.obj, ResultUse::Other);
                    }
                    _ => {}
                }
                return value;
            }
            Expr::Seq(s) => {
                let mut last = Val::default();
                for x in &s.exprs {
                    last = self.expr(x, mode);
                }
                return last;
            }
            Expr::Array(a) => {
                for el in a.elems.iter().flatten() {
                    let inner = self.expr(&el.expr, ResultUse::Other);
                    self.absorb(&mut v, inner);
                }
                v.head = Head::Lit;
            }
            Expr::Object(o) => {
                // A returned `{ userId }` hands its parts to the caller too.
                let part_mode = if mode == ResultUse::Handled {
                    ResultUse::Handled
                } else {
                    ResultUse::Other
                };
                v.error_shaped = o.props.iter().any(|p| match p {
                    PropOrSpread::Prop(p) => match &**p {
                        Prop::KeyValue(kv) => {
                            matches!(prop_name(&kv.key).as_deref(), Some("error" | "err"))
                        }
                        Prop::Shorthand(id) => id.sym == "error" || id.sym == "err",
                        _ => false,
                    },
                    PropOrSpread::Spread(_) => false,
                });
                for p in &o.props {
                    match p {
                        PropOrSpread::Spread(s) => {
                            let inner = self.expr(&s.expr, ResultUse::Other);
                            self.absorb(&mut v, inner);
                        }
                        PropOrSpread::Prop(prop) => match &**prop {
                            Prop::KeyValue(kv) => {
                                let inner = self.expr(&kv.value, part_mode);
                                self.absorb(&mut v, inner);
                            }
                            Prop::Shorthand(id) => {
                                self.record_use(&id.sym, part_mode, id.span);
                                self.name_ref(&mut v, &id.sym);
                            }
                            _ => {}
                        },
                    }
                }
                v.head = Head::Lit;
            }
            Expr::Arrow(_) | Expr::Fn(_) => {
                // A callback refers to what its body uses: an index range keyed
                // by `identity.subject` derives from the identity.
                let uses_before = self.out.uses.len();
                if let Some(f) = FnLike::of(e) {
                    let nested = self.nested(f);
                    self.emit(nested);
                }
                for u in self.out.uses.get(uses_before..).unwrap_or(&[]) {
                    v.refs.push(&mut self.s.refs, u.name.clone());
                }
                v.head = Head::Lit;
            }
            Expr::Yield(y) => {
                if let Some(a) = &y.arg {
                    self.expr(a, ResultUse::Other);
                }
            }
            _ => {}
        }
        v
    }

    fn member(&mut self, m: &MemberExpr, optional: bool, _mode: ResultUse) -> Val {
        let span = sp(m.span);
        if let (Expr::Ident(root), MemberProp::Ident(p)) = (peel(&m.obj), &m.prop) {
            self.props_seen.push((root.sym.clone(), p.sym.clone()));
        }
        if let Expr::Ident(root) = peel(&m.obj) {
            if root.sym == "process" && matches!(&m.prop, MemberProp::Ident(p) if p.sym == "env") {
                return Val {
                    env: true,
                    span,
                    flow: Flow {
                        env: Some(atom("process.env")),
                        ..Flow::default()
                    },
                    ..Val::default()
                };
            }
        }
        // `x.y` dereferences x unless it is `x?.y`, which handles null.
        let obj_mode = if optional || is_opt_chain_obj(&m.obj) {
            ResultUse::Handled
        } else {
            ResultUse::Dereferenced
        };
        let mut v = self.expr(&m.obj, obj_mode);
        if let MemberProp::Computed(c) = &m.prop {
            let inner = self.expr(&c.expr, ResultUse::Other);
            v.refs.append(&mut self.s.refs, inner.refs);
            v.env |= inner.env;
        }
        v.span = span;
        v.prop = match &m.prop {
            MemberProp::Ident(p) => Some(p.sym.clone()),
            _ => None,
        };
        // `key.length` is a number, not the key.
        if v.prop.as_deref() == Some("length") {
            v.flow = Flow::default();
        }
        // `process.env.NAME`: name the variable.
        if v.flow.env.as_deref() == Some("process.env") {
            if let Some(p) = &v.prop {
                v.flow.env = Some(p.clone());
            }
        }
        if v.prop.as_deref().is_some_and(convex::is_public_flag) {
            self.public_tests += 1;
        }
        // A property of a call result or name keeps its head: `(await f()).user`.
        if matches!(
            v.head,
            Head::Lit | Head::Nullish | Head::Cond(_) | Head::Defaulted
        ) {
            v.head = Head::Other;
        }
        v
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        callee: &Expr,
        args: &[ExprOrSpread],
        is_new: bool,
        span: Sp,
        mode: ResultUse,
    ) -> Val {
        let mut v = Val {
            span,
            ..Val::default()
        };
        let callee = peel(callee);
        let resolved = match member_path(callee) {
            Some((root, path)) => {
                if let Some(prefix) = ctx_path_in(&self.ctx_aliases, &root) {
                    let full = prefix.iter().cloned().chain(path);
                    IrCallee::Ctx(run_of(&mut self.out.names, full))
                } else if path.is_empty() {
                    IrCallee::Name(root)
                } else {
                    // A method on a local value: `identity.email.toLowerCase()`.
                    self.record_use(&root, ResultUse::Dereferenced, callee.span());
                    self.name_ref(&mut v, &root);
                    IrCallee::Member(root, run_of(&mut self.out.names, path))
                }
            }
            None => self.method_callee(callee, &mut v),
        };
        let public_before = self.public_tests;
        let mut arg_flow = Flow::default();
        let paths_base = self.s.arg_paths.len();
        let calls_base = self.s.arg_calls.len();
        let props_before = self.props_seen.len();
        let throws_true = args.iter().any(|a| has_throws_true(&a.expr));
        let uses_before = self.out.uses.len();
        let mut passes_ctx = false;
        let mut secret_arg = false;
        let names_base = self.s.arg_names.len();
        let mut first_str = None;
        let mut fn_arg = None;
        for (i, a) in args.iter().enumerate() {
            let arg = peel(&a.expr);
            if let Expr::Ident(id) = arg {
                if self.ctx_path(&id.sym).is_some_and(<[Atom]>::is_empty) {
                    passes_ctx = true;
                    continue;
                }
                self.s.arg_names.push(id.sym.clone());
            }
            if i == 0 {
                if let Expr::Lit(Lit::Str(s)) = arg {
                    first_str = Some(str_value(s));
                }
            }
            match member_path(arg) {
                Some((root, path)) if path.len() <= 1 => {
                    self.s.arg_paths.push((root, path.into_iter().next()));
                }
                _ => {}
            }
            if fn_arg.is_none() && matches!(resolved, IrCallee::Ctx(_)) {
                fn_arg = fn_arg_of(arg);
            }
            // A value passed whole to a plain function is that function's to
            // check; passed to a method (`q.eq`, `ctx.db.insert`) it is just used.
            let arg_mode = if matches!(resolved, IrCallee::Name(_)) {
                ResultUse::Handled
            } else {
                ResultUse::Other
            };
            let inner = self.expr(arg, arg_mode);
            secret_arg |= inner.env || inner.hmac;
            self.merge_flow(&mut arg_flow, inner.flow.clone());
            if let Head::Call(c) = inner.head {
                self.s.arg_calls.push(c);
            }
            self.absorb(&mut v, inner);
        }
        // A call's result carries its receiver's and arguments' content only
        // for string transformations (`String(key)`, `key.slice(0, 4)`).
        v.flow = if carries_content(&resolved, &self.out.names) {
            let mut f = std::mem::take(&mut v.flow);
            self.merge_flow(&mut f, arg_flow.clone());
            f
        } else {
            Flow::default()
        };
        if is_hmac_callee(&resolved, &self.out.names) {
            v.hmac = true;
        }
        let method = match &resolved {
            IrCallee::Member(_, p) | IrCallee::Method(_, p) | IrCallee::Ctx(p) => {
                p.of(&self.out.names).last().cloned()
            }
            _ => None,
        };
        // `q.eq("isPublic", true)`, `q.field("isPublic")`
        if matches!(method.as_deref(), Some("eq" | "field"))
            && first_str.as_deref().is_some_and(convex::is_public_flag)
        {
            self.public_tests += 1;
        }
        // Rows kept by a callback that tests a public flag are public rows.
        if matches!(
            method.as_deref(),
            Some("filter" | "withIndex" | "withSearchIndex")
        ) && self.public_tests > public_before
        {
            v.public = true;
        }
        let ix = self.out.calls.len() as CallIx;
        let name_args = run_of(&mut self.out.names, self.s.arg_names.drain(names_base..));
        let arg_paths = run_of(&mut self.out.paths, self.s.arg_paths.drain(paths_base..));
        let arg_calls = run_of(&mut self.out.call_ixs, self.s.arg_calls.drain(calls_base..));
        let at = self.out.props.len();
        let seen = self.props_seen.get(props_before..).unwrap_or(&[]);
        self.out.props.extend(seen.iter().cloned());
        let arg_props = sorted_run(&mut self.out.props, at);
        let at = self.out.names.len();
        let used = self.out.uses.get(uses_before..).unwrap_or(&[]);
        self.out.names.extend(used.iter().map(|u| u.name.clone()));
        let arg_names = sorted_run(&mut self.out.names, at);
        self.out.calls.push(CallSite {
            callee: resolved,
            span,
            callee_span: sp(callee.span()),
            is_new,
            awaited: false,
            passes_ctx,
            name_args,
            secret_arg,
            first_str,
            fn_arg: fn_arg.map(Box::new),
            arg_flow,
            arg_paths,
            arg_calls,
            throws_true,
            arg_props,
            arg_names,
            result: mode,
        });
        self.emit(Node::Call(ix));
        v.head = Head::Call(ix);
        v.calls |= !is_new;
        v.flow.calls.push(&mut self.s.flow_calls, ix);
        v
    }

    /// `f().g()`, `new X().verify()`: a method on another call's result.
    fn method_callee(&mut self, callee: &Expr, v: &mut Val) -> IrCallee {
        let mut path = MemberPath::new();
        let mut cur = callee;
        loop {
            match peel(cur) {
                Expr::Member(m) => {
                    match &m.prop {
                        MemberProp::Ident(p) => path.push(p.sym.clone()),
                        _ => return self.dynamic(callee, v),
                    }
                    cur = &m.obj;
                }
                Expr::OptChain(o) => match &*o.base {
                    OptChainBase::Member(m) => {
                        match &m.prop {
                            MemberProp::Ident(p) => path.push(p.sym.clone()),
                            _ => return self.dynamic(callee, v),
                        }
                        cur = &m.obj;
                    }
                    OptChainBase::Call(_) => break,
                },
                _ => break,
            }
        }
        path.reverse();
        let base = self.expr(cur, ResultUse::Other);
        let method = match base.head {
            Head::Call(ix) if !path.is_empty() => {
                IrCallee::Method(ix, run_of(&mut self.out.names, path))
            }
            _ => IrCallee::Dynamic,
        };
        self.absorb(v, base);
        method
    }

    fn dynamic(&mut self, callee: &Expr, v: &mut Val) -> IrCallee {
        let inner = self.expr(callee, ResultUse::Other);
        self.absorb(v, inner);
        IrCallee::Dynamic
    }

    fn binary(&mut self, b: &BinExpr, span: Sp, mode: ResultUse) -> Val {
        let mut v = Val {
            span,
            ..Val::default()
        };
        match b.op {
            BinaryOp::LogicalAnd => {
                let l = self.expr(&b.left, ResultUse::Handled);
                let base = self.s.nodes.len();
                let r = self.expr(&b.right, mode);
                let rhs = Node::Seq(self.seq(base));
                let lc = self.cond_of(l.clone());
                self.emit_if(lc, rhs, Node::Seq(Run::EMPTY));
                let rc = self.cond_of(r.clone());
                v.head = Head::Cond(self.cond(Cond::And(lc, rc)));
                self.absorb(&mut v, l);
                self.absorb(&mut v, r);
            }
            BinaryOp::LogicalOr | BinaryOp::NullishCoalescing => {
                let l = self.expr(&b.left, ResultUse::Handled);
                let base = self.s.nodes.len();
                let r = self.expr(&b.right, mode);
                let rhs = Node::Seq(self.seq(base));
                let lc = if b.op == BinaryOp::LogicalOr {
                    self.cond_of(l.clone())
                } else {
                    self.cond(Cond::Unknown)
                };
                self.emit_if(lc, Node::Seq(Run::EMPTY), rhs);
                v.head = if matches!(r.head, Head::Lit | Head::Defaulted) {
                    Head::Defaulted
                } else if b.op == BinaryOp::LogicalOr {
                    let rc = self.cond_of(r.clone());
                    Head::Cond(self.cond(Cond::Or(lc, rc)))
                } else {
                    Head::Other
                };
                self.absorb(&mut v, l);
                self.absorb(&mut v, r);
            }
            // `"error" in result`: tested like `result.error`.
            BinaryOp::In => {
                let l = self.expr(&b.left, ResultUse::Handled);
                let mut r = self.expr(&b.right, ResultUse::Handled);
                r.prop = l.lit.clone();
                r.span = span;
                let rv = self.val(r.clone());
                v.head = Head::Cond(self.cond(Cond::Truthy(rv)));
                self.absorb(&mut v, r);
                v.flow = Flow::default();
            }
            BinaryOp::EqEq | BinaryOp::EqEqEq | BinaryOp::NotEq | BinaryOp::NotEqEq => {
                let l = self.expr(&b.left, ResultUse::Handled);
                let r = self.expr(&b.right, ResultUse::Handled);
                let negated = matches!(b.op, BinaryOp::NotEq | BinaryOp::NotEqEq);
                let (lv, rv) = (self.val(l.clone()), self.val(r.clone()));
                v.head = Head::Cond(self.cond(Cond::Eq {
                    l: lv,
                    r: rv,
                    negated,
                }));
                self.absorb(&mut v, l);
                self.absorb(&mut v, r);
                v.flow = Flow::default();
            }
            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => {
                let l = self.expr(&b.left, ResultUse::Handled);
                let r = self.expr(&b.right, ResultUse::Handled);
                let (lv, rv) = (self.val(l.clone()), self.val(r.clone()));
                v.head = Head::Cond(self.cond(Cond::Compare(lv, rv)));
                self.absorb(&mut v, l);
                self.absorb(&mut v, r);
                v.flow = Flow::default();
            }
            _ => {
                let l = self.expr(&b.left, ResultUse::Handled);
                let r = self.expr(&b.right, ResultUse::Handled);
                self.absorb(&mut v, l);
                self.absorb(&mut v, r);
                v.head = Head::Other;
                // Only `+` builds a value out of its operands' content.
                if b.op != BinaryOp::Add {
                    v.flow = Flow::default();
                }
            }
        }
        v
    }

    /// A callback's body: evaluated where it is written; its `return`s stay inside.
    fn nested(&mut self, f: FnLike<'_>) -> Node {
        for p in f.params() {
            if is_ctx_type(p) {
                self.param(p, true);
            }
        }
        let body = match f {
            FnLike::Function(func) => match &func.body {
                Some(b) => self.stmts(&b.stmts),
                None => Node::Seq(Run::EMPTY),
            },
            FnLike::Arrow(a) => self.arrow_body(&a.body),
        };
        Node::Nested(self.as_seq(body))
    }
}

fn is_opt_chain_obj(e: &Expr) -> bool {
    matches!(peel(e), Expr::OptChain(_))
}

/// `{ key, throws: true }`: a rate limiter told to throw when over the limit.
fn has_throws_true(e: &Expr) -> bool {
    let Expr::Object(o) = peel(e) else {
        return false;
    };
    o.props.iter().any(|p| match p {
        PropOrSpread::Prop(p) => matches!(&**p, Prop::KeyValue(kv)
            if prop_name(&kv.key).as_deref() == Some("throws")
                && matches!(peel(&kv.value), Expr::Lit(Lit::Bool(b)) if b.value)),
        PropOrSpread::Spread(_) => false,
    })
}

/// Calls whose result is a transformation of their receiver or arguments.
fn carries_content(c: &IrCallee, names: &[Atom]) -> bool {
    let last = match c {
        IrCallee::Name(n) => n.as_str(),
        IrCallee::Member(_, p) | IrCallee::Method(_, p) => {
            p.of(names).last().map_or("", |s| s.as_str())
        }
        _ => return false,
    };
    matches!(
        last,
        "String"
            | "stringify"
            | "encodeURIComponent"
            | "encodeURI"
            | "btoa"
            | "from"
            | "toString"
            | "slice"
            | "substring"
            | "substr"
            | "trim"
            | "toUpperCase"
            | "toLowerCase"
            | "split"
            | "replace"
            | "replaceAll"
            | "concat"
            | "padStart"
            | "padEnd"
            | "join"
    )
}

/// `createHmac(...)`, `crypto.subtle.sign(...)`: the value is a signature.
fn is_hmac_callee(c: &IrCallee, names: &[Atom]) -> bool {
    let last = match c {
        IrCallee::Name(n) => Some(n),
        IrCallee::Member(_, p) | IrCallee::Method(_, p) => p.of(names).last(),
        _ => None,
    };
    let Some(last) = last else {
        return false;
    };
    match last.as_str() {
        "createHmac" => true,
        "sign" => {
            matches!(c, IrCallee::Member(_, p) if p.of(names).iter().any(|s| s == "subtle"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::lower_module;
    use crate::model::facts::FileFacts;

    const SMALL: &str = r#"
import { query } from "./_generated/server";
export const get = query({
  args: {},
  handler: async (ctx, { id }) => {
    const me = await ctx.auth.getUserIdentity();
    if (!me) throw new Error("signed out");
    return await ctx.db.get(id);
  },
});
"#;

    const LARGER: &str = r#"
import { mutation, internalQuery } from "./_generated/server";
import { requireUser } from "./lib/auth";
async function owned(ctx, id) {
  const user = await requireUser(ctx);
  const doc = await ctx.db.get(id);
  if (!doc || doc.ownerId !== user._id) throw new Error("not yours");
  return doc;
}
export const rename = mutation({
  args: {},
  handler: async (ctx, { id, title }) => {
    const doc = await owned(ctx, id);
    const rows = await ctx.db.query("items").withIndex("by_owner", (q) => q.eq("ownerId", doc.ownerId)).take(10);
    for (const row of rows) {
      if (row.title === title) return null;
    }
    try {
      await ctx.db.patch(id, { title: title.trim(), at: Date.now() });
    } catch (err) {
      console.error(err, process.env.SECRET_KEY);
    }
    return rows.map((r) => r.title).filter((t) => t.length > 0);
  },
});
export const list = internalQuery({
  args: {},
  handler: async (ctx) => ctx.db.query("items").collect(),
});
"#;

    /// Modules lowered on one thread hold one copy of each long name, in
    /// their facts and in their bodies' tables, not each its parser's.
    #[test]
    fn modules_share_their_long_names() -> Result<(), String> {
        const SRC: &str = r#"
import { internalMutation } from "./_generated/server";
export const recordConversation = internalMutation({
  args: { conversationIdentifier: v.id("conversations") },
  handler: async (ctx) => {
    const conversationIdentifier = 1;
    return conversationIdentifier;
  },
});
"#;
        let lowered = (0..2)
            .map(|_| {
                let parsed = crate::parse::parse(SRC, false).map_err(|e| e.message)?;
                Ok(lower_module(&parsed.module))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let [a, b] = lowered.as_slice() else {
            return Err("two modules".into());
        };
        fn at(n: Option<&swc_atoms::Atom>) -> Option<*const u8> {
            n.map(|n| n.as_str().as_ptr())
        }
        let import = |f: &FileFacts| at(f.imports.first().map(|i| &i.source));
        let builder = |f: &FileFacts| at(f.registrations.first().map(|r| &r.builder));
        let export = |f: &FileFacts| at(f.exports.first().map(|e| &e.0));
        let arg = |f: &FileFacts| {
            let args = f.registrations.first().and_then(|r| r.args.as_ref());
            at(args
                .map(|a| f.args.get(a))
                .and_then(|a| a.validators.first())
                .map(|v| &v.0))
        };
        let local = |f: &FileFacts| {
            let body = f.bodies.get(0);
            at(body
                .as_ref()
                .and_then(|b| b.bindings.first())
                .map(|(n, _)| n))
        };
        for (what, of) in [
            (
                "import source",
                import as fn(&FileFacts) -> Option<*const u8>,
            ),
            ("builder", builder),
            ("export", export),
            ("argument", arg),
            ("body binding", local),
        ] {
            assert!(of(a).is_some(), "{what}");
            assert_eq!(of(a), of(b), "{what}");
        }
        Ok(())
    }

    /// Every body of every fixture decodes to what lowering built.
    #[test]
    fn packed_bodies_decode_to_what_was_lowered() {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")) {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|e| e == "ts" || e == "tsx" || e == "js")
            {
                files.push(path.to_path_buf());
            }
        }
        files.sort();
        let mut bodies = 0;
        for path in &files {
            let src = std::fs::read_to_string(path).unwrap_or_default();
            let tsx = path.extension().is_some_and(|e| e == "tsx");
            let Ok(parsed) = crate::parse::parse(&src, tsx) else {
                continue;
            };
            let (facts, lowered) = super::lower(&parsed.module);
            assert_eq!(facts.bodies.len(), lowered.len(), "{}", path.display());
            for (ix, body) in lowered.iter().enumerate() {
                let decoded = facts.bodies.get(ix as u32);
                assert_eq!(
                    format!("{:?}", decoded),
                    format!("{:?}", Some(body)),
                    "{} body {ix}",
                    path.display()
                );
            }
            bodies += lowered.len();
        }
        assert!(
            files.len() > 100 && bodies > 200,
            "{} files, {bodies} bodies",
            files.len()
        );
    }

    /// The module's facts, printed (empty if the fixture does not parse).
    fn lowered(src: &str) -> String {
        crate::parse::parse(src, false)
            .map(|parsed| format!("{:?}", lower_module(&parsed.module)))
            .unwrap_or_default()
    }

    /// A module's facts do not depend on what its thread lowered before: the
    /// pools and fact lists lent from module to module carry nothing over.
    #[test]
    fn lent_pools_carry_nothing_between_modules() {
        // Each on a thread of its own, whose pools start empty.
        let fresh = |src: &'static str| {
            std::thread::spawn(move || lowered(src))
                .join()
                .unwrap_or_default()
        };
        let (small, larger) = (fresh(SMALL), fresh(LARGER));
        assert!(!small.is_empty() && !larger.is_empty());
        assert_eq!(lowered(LARGER), larger);
        assert_eq!(lowered(SMALL), small);
        assert_eq!(lowered(LARGER), larger);
        assert_eq!(lowered(SMALL), small);
    }
}
