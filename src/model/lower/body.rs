//! One function body: its parameters (which stand for ctx), its statements,
//! and the tables (calls, bindings, uses) the tree refers to.

use super::*;

/// Is a parameter's type a Convex context (`QueryCtx`, `GenericMutationCtx<DM>`, ...)?
pub(super) fn is_ctx_type(p: &Pat) -> bool {
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

pub(super) fn is_ctx_ts_type(t: &TsType) -> bool {
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
pub(super) fn ctx_path_in<'a>(aliases: &'a [(Atom, Vec<Atom>)], name: &str) -> Option<&'a [Atom]> {
    aliases
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.as_slice())
}

/// Lowers one function body: builds its call table, bindings, uses and tree.
pub(super) struct BodyLowerer {
    pub(super) out: FnBody,
    pub(super) s: Scratch,
    /// Names that stand for the Convex ctx or a part of it: (name, path in ctx).
    pub(super) ctx_aliases: Vec<(Atom, Vec<Atom>)>,
    pub(super) depth: u32,
    /// Public-flag tests seen so far (`row.isPublic`, `q.eq("isPublic", ..)`).
    pub(super) public_tests: u32,
    /// Every `x.y` read so far (for what a call's arguments mention).
    pub(super) props_seen: Vec<(Atom, Atom)>,
}

impl BodyLowerer {
    pub(super) fn lower(
        f: FnLike<'_>,
        name: &str,
        ctx_first: bool,
        mut scratch: Scratch,
    ) -> Scratch {
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

    pub(super) fn param(&mut self, p: &Pat, is_ctx: bool) {
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
    pub(super) fn destructure_ctx(&mut self, o: &ObjectPat, prefix: &[Atom]) {
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

    pub(super) fn ctx_path(&self, name: &str) -> Option<&[Atom]> {
        ctx_path_in(&self.ctx_aliases, name)
    }

    /// `x` is read: the value refers to it and carries its content.
    /// The env var a module-level name holds, if no name of this body (a
    /// parameter, or a binding so far) shadows it.
    pub(super) fn module_secret(&self, name: &Atom) -> Option<Atom> {
        let (_, var) = self.s.module_secrets.iter().find(|(n, _)| n == name)?;
        let f = &self.out;
        let shadowed = f.params.contains(name)
            || f.ctx_names.contains(name)
            || f.arg_locals.iter().any(|(_, l)| l == name)
            || f.bindings.iter().any(|(n, _)| n == name);
        (!shadowed).then(|| var.clone())
    }

    pub(super) fn name_ref(&mut self, v: &mut Val, name: &Atom) {
        v.refs.push(&mut self.s.refs, name.clone());
        v.flow.names.push(&mut self.s.flows, name.clone());
    }

    /// Merge what an operand contributes into the value of the whole expression.
    pub(super) fn absorb(&mut self, v: &mut Val, inner: Val) {
        v.public |= inner.public;
        self.merge_flow(&mut v.flow, inner.flow);
        v.refs.append(&mut self.s.refs, inner.refs);
        v.calls |= inner.calls;
        v.env |= inner.env;
        v.hmac |= inner.hmac;
    }

    pub(super) fn merge_flow(&mut self, dst: &mut Flow, src: Flow) {
        if dst.env.is_none() {
            dst.env = src.env;
        }
        dst.names.append(&mut self.s.flows, src.names);
        dst.calls.append(&mut self.s.flow_calls, src.calls);
    }

    /// Adds a statement to the sequence being lowered.
    pub(super) fn emit(&mut self, n: Node) {
        self.s.nodes.push(n);
    }

    /// The statements emitted since `base`, as a sequence of the body (empty
    /// sequences dropped: they do nothing).
    pub(super) fn seq(&mut self, base: usize) -> Run<Node> {
        let emitted = self.s.nodes.drain(base..);
        let kept = emitted.filter(|n| !matches!(n, Node::Seq(r) if r.is_empty()));
        run_of(&mut self.out.nodes, kept)
    }

    /// A node as a sequence (the lowering's bodies are sequences already).
    pub(super) fn as_seq(&mut self, n: Node) -> Run<Node> {
        match n {
            Node::Seq(run) => run,
            other => {
                self.out.nodes.push(other);
                Run::tail(&self.out.nodes, self.out.nodes.len() - 1)
            }
        }
    }

    /// A sequence of what `lower` emits.
    pub(super) fn seq_of(&mut self, lower: impl FnOnce(&mut Self)) -> Node {
        let base = self.s.nodes.len();
        lower(self);
        Node::Seq(self.seq(base))
    }

    pub(super) fn emit_if(&mut self, cond: CondIx, then: Node, els: Node) {
        let ix = IfIx(self.out.ifs.len() as u32);
        self.out.ifs.push(IrIf { cond, then, els });
        self.emit(Node::If(ix));
    }

    pub(super) fn val(&mut self, v: Val) -> ValIx {
        self.s.vals.push(v);
        ValIx(self.s.vals.len() as u32 - 1)
    }

    pub(super) fn cond(&mut self, c: Cond) -> CondIx {
        self.s.conds.push(c);
        CondIx(self.s.conds.len() as u32 - 1)
    }

    /// What a value means as a test.
    pub(super) fn cond_of(&mut self, v: Val) -> CondIx {
        match v.head {
            Head::Cond(c) => c,
            _ => {
                let v = self.val(v);
                self.cond(Cond::Truthy(v))
            }
        }
    }

    pub(super) fn arrow_body(&mut self, body: &ArrowFunctionBody) -> Node {
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
    pub(super) fn returned(&mut self, v: Option<&Val>) {
        if let Some(Head::Call(ix)) = v.map(|v| &v.head) {
            if let Some(c) = self.out.calls.get_mut(*ix as usize) {
                c.awaited = true;
                self.out.is_async = true;
            }
        }
    }

    pub(super) fn stmts(&mut self, stmts: &[Stmt]) -> Node {
        self.seq_of(|lw| {
            for s in stmts {
                lw.stmt(s);
            }
        })
    }

    pub(super) fn block(&mut self, s: &Stmt) -> Node {
        self.seq_of(|lw| lw.stmt(s))
    }

    pub(super) fn stmt(&mut self, s: &Stmt) {
        if self.depth > MAX_DEPTH {
            self.out.too_deep.get_or_insert(sp(s.span()).lo);
            return;
        }
        self.depth += 1;
        self.stmt_inner(s);
        self.depth -= 1;
    }

    pub(super) fn stmt_inner(&mut self, s: &Stmt) {
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

    pub(super) fn var_decl(&mut self, var: &VarDecl) {
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
    pub(super) fn test(&mut self, e: &Expr) -> CondIx {
        let v = self.expr(e, ResultUse::Handled);
        self.cond_of(v)
    }

    pub(super) fn record_use(&mut self, name: &Atom, mode: ResultUse, span: Span) {
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
}
