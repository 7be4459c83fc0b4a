//! Expressions in a body: values with their names and flows, calls with what
//! their arguments carry, and the tests short-circuits make.

use super::*;

pub(super) fn is_opt_chain_obj(e: &Expr) -> bool {
    matches!(peel(e), Expr::OptChain(_))
}

/// `{ key, throws: true }`: a rate limiter told to throw when over the limit.
pub(super) fn has_throws_true(e: &Expr) -> bool {
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
pub(super) fn carries_content(c: &IrCallee, names: &[Atom]) -> bool {
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
pub(super) fn is_hmac_callee(c: &IrCallee, names: &[Atom]) -> bool {
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

impl BodyLowerer {
    pub(super) fn expr(&mut self, e: &Expr, mode: ResultUse) -> Val {
        if self.depth > MAX_DEPTH {
            self.out.too_deep.get_or_insert(sp(e.span()).lo);
            return Val::default();
        }
        self.depth += 1;
        let v = self.expr_inner(e, mode);
        self.depth -= 1;
        v
    }

    pub(super) fn expr_inner(&mut self, e: &Expr, mode: ResultUse) -> Val {
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
                    // A module-level secret (`TOKEN`, or the env object
                    // `env`), unless a name in this body shadows it.
                    if let Some(var) = self.module_secret(&i.sym) {
                        v.env = true;
                        v.flow.env = Some(var);
                    }
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

    pub(super) fn member(&mut self, m: &MemberExpr, optional: bool, _mode: ResultUse) -> Val {
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
    pub(super) fn call(
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
    pub(super) fn method_callee(&mut self, callee: &Expr, v: &mut Val) -> IrCallee {
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

    pub(super) fn dynamic(&mut self, callee: &Expr, v: &mut Val) -> IrCallee {
        let inner = self.expr(callee, ResultUse::Other);
        self.absorb(v, inner);
        IrCallee::Dynamic
    }

    pub(super) fn binary(&mut self, b: &BinExpr, span: Sp, mode: ResultUse) -> Val {
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
    pub(super) fn nested(&mut self, f: FnLike<'_>) -> Node {
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
