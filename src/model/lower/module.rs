//! The module level: imports, exports, Convex registrations, custom builders,
//! HTTP routes and cron jobs, each function-like definition handed to `body`.

use super::*;

pub(super) struct ModuleLowerer {
    pub(super) facts: FileFacts,
    /// Lent to each body's lowering in turn, so its pools grow once a thread.
    pub(super) scratch: Scratch,
    /// Tests: each body as lowered, before it is packed.
    #[cfg(test)]
    pub(super) lowered: Vec<FnBody>,
}

impl ModuleLowerer {
    /// The module's names for server secrets, known before any body is
    /// lowered: the env object imported (`import { env } from "~/env"`), and
    /// top-level `const TOKEN = process.env.TOKEN` (or `= env.TOKEN`).
    pub(super) fn module_secrets(&mut self, module: &Module) {
        let secrets = &mut self.scratch.module_secrets;
        secrets.clear();
        for i in &self.facts.imports {
            let imported = match &i.kind {
                ImportKind::Named(n) => Some(n.as_str()),
                _ => None,
            };
            if convex::is_env_import(&i.source, imported) {
                secrets.push((i.local.clone(), atom("process.env")));
            }
        }
        for item in &module.body {
            let decl = match item {
                ModuleItem::Stmt(Stmt::Decl(Decl::Var(v))) => v,
                ModuleItem::ModuleDecl(ModuleDecl::ExportDecl(ExportDecl {
                    decl: Decl::Var(v),
                    ..
                })) => v,
                _ => continue,
            };
            for d in &decl.decls {
                let (Pat::Ident(name), Some(init)) = (&d.name, &d.init) else {
                    continue;
                };
                let Expr::Member(m) = peel(init) else {
                    continue;
                };
                let MemberProp::Ident(var) = &m.prop else {
                    continue;
                };
                let env_object = match peel(&m.obj) {
                    Expr::Member(inner) => matches!(
                        (peel(&inner.obj), &inner.prop),
                        (Expr::Ident(root), MemberProp::Ident(p)) if root.sym == "process" && p.sym == "env"
                    ),
                    Expr::Ident(root) => secrets
                        .iter()
                        .any(|(n, v)| *n == root.sym && v == "process.env"),
                    _ => false,
                };
                if env_object {
                    secrets.push((name.id.sym.clone(), var.sym.clone()));
                }
            }
        }
    }

    pub(super) fn import(&mut self, decl: &ImportDecl) {
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

    pub(super) fn item(&mut self, item: &ModuleItem) {
        match item {
            ModuleItem::ModuleDecl(decl) => self.module_decl(decl),
            ModuleItem::Stmt(Stmt::Decl(decl)) => self.decl(decl, false),
            ModuleItem::Stmt(Stmt::Expr(e)) => self.top_expr_stmt(&e.expr),
            ModuleItem::Stmt(_) => {}
        }
    }

    pub(super) fn module_decl(&mut self, decl: &ModuleDecl) {
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

    pub(super) fn decl(&mut self, decl: &Decl, exported: bool) {
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
    pub(super) fn binding(&mut self, name: &Atom, init: &Expr, name_span: Sp, is_default: bool) {
        let init = peel(init);
        let top = match init {
            Expr::Fn(_) | Expr::Arrow(_) => match (factory_product(init), FnLike::of(init)) {
                // `const authedQuery = (opts = {}) => customQuery(query, ...)`:
                // what it returns is the builder.
                (Some(call), _) if self.is_factory_call(call) => self.custom_def(call),
                (_, Some(f)) => Top::Fn(self.lower_fn(f, name, false)),
                _ => Top::Other,
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

    pub(super) fn object(&mut self, name: &Atom, obj: &ObjectLit) -> Top {
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

    pub(super) fn is_custom_factory(&self, callee: &str) -> bool {
        self.facts.import(callee).is_some_and(|i| {
            convex::is_custom_functions_module(&i.source)
                && matches!(&i.kind, ImportKind::Named(n) if convex::is_custom_factory(n))
        })
    }

    pub(super) fn is_helpers_import(&self, local: &str, name: &str) -> bool {
        self.facts.import(local).is_some_and(|i| {
            convex::is_custom_functions_module(&i.source)
                && matches!(&i.kind, ImportKind::Named(n) if n == name)
        })
    }

    fn is_factory_call(&self, call: &CallExpr) -> bool {
        match &call.callee {
            Callee::Expr(c) => {
                matches!(fn_ref(c), Some(FnRef::Name(f)) if self.is_custom_factory(&f))
            }
            _ => false,
        }
    }

    pub(super) fn top_call(&mut self, name: &Atom, call: &CallExpr, name_span: Sp) -> Top {
        let Callee::Expr(callee) = &call.callee else {
            return Top::Other;
        };
        // `authedQuery()({ ... })`: the builder a factory returns, named by it.
        let callee = match peel(callee) {
            Expr::Call(CallExpr {
                callee: Callee::Expr(inner),
                ..
            }) if matches!(fn_ref(inner), Some(FnRef::Name(_))) => inner,
            _ => callee,
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
    pub(super) fn config(&mut self, name: &Atom, arg: &Expr) -> (Option<FnRef>, Option<Args>) {
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
    pub(super) fn custom_def(&mut self, call: &CallExpr) -> Top {
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
    pub(super) fn customisation_call(&mut self, c: &CallExpr) -> Option<FnRef> {
        let arg = peel(&c.args.first()?.expr);
        match FnLike::of(arg) {
            Some(f) => Some(FnRef::Inline(self.lower_fn(f, "customCtx", true))),
            None => fn_ref(arg),
        }
    }

    pub(super) fn customisation(&mut self, e: &Expr) -> Option<FnRef> {
        match e {
            // `customCtxAndArgs({ args, input })`: the object is the customisation.
            Expr::Call(c)
                if c.args
                    .first()
                    .is_some_and(|a| matches!(peel(&a.expr), Expr::Object(_))) =>
            {
                self.customisation(peel(&c.args.first()?.expr))
            }
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
    pub(super) fn top_expr_stmt(&mut self, e: &Expr) {
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

    pub(super) fn route_handler(&mut self, value: &Expr, method: &Atom) -> Option<RouteHandler> {
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
    pub(super) fn is_made_by(&self, name: &str, maker: &str) -> bool {
        matches!(self.facts.top(name), Some(Top::Made(FnRef::Name(n))) if
        self.facts.import(n).is_some_and(|i| {
            i.source == "convex/server" && matches!(&i.kind, ImportKind::Named(x) if x == maker)
        }))
    }

    pub(super) fn is_http_router(&self, maker: &str) -> bool {
        self.facts.import(maker).is_some_and(|i| {
            i.source == "convex/server"
                && matches!(&i.kind, ImportKind::Named(n) if n == "httpRouter")
        })
    }

    pub(super) fn lower_fn(&mut self, f: FnLike<'_>, name: &str, ctx_first: bool) -> FnIx {
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

/// The call a function returns when that is all it does in the end: the
/// expression of an arrow, or its body's last `return`.
fn factory_product(init: &Expr) -> Option<&CallExpr> {
    let returned = match init {
        Expr::Arrow(a) => match &*a.body {
            ArrowFunctionBody::Expr(e) => Some(&**e),
            ArrowFunctionBody::FunctionBody(b) => last_return(&b.stmts),
        },
        Expr::Fn(f) => f.function.body.as_ref().and_then(|b| last_return(&b.stmts)),
        _ => None,
    }?;
    match peel(returned) {
        Expr::Call(c) => Some(c),
        _ => None,
    }
}

fn last_return(stmts: &[Stmt]) -> Option<&Expr> {
    match stmts.last()? {
        Stmt::Return(r) => r.arg.as_deref(),
        _ => None,
    }
}
