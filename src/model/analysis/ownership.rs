//! Whether a function ties the documents it touches to its caller: ids from
//! `args` with no ownership check, and user ids claimed by the client.

use super::*;

/// A document addressed by a client-supplied id, read and returned or written,
/// with nothing comparing it with the caller.
#[derive(Debug, Clone)]
pub struct Unowned {
    /// The read or write.
    pub span: Sp,
    pub op: String,
    pub write: bool,
    /// The `args` entry the id came from, and its validator's span.
    pub arg: Atom,
    pub arg_span: Sp,
    pub table: Atom,
}

/// A user id taken from the arguments and used as if it were the caller's.
#[derive(Debug, Clone)]
pub struct ClientUserId {
    pub arg: Atom,
    pub arg_span: Sp,
    /// The write or the scoped read.
    pub span: Sp,
    pub write: bool,
}

/// Does a call argument (`args.id`, `id`) stand for the named `args` entry?
pub(super) type ArgMatcher<'a> = dyn Fn(&(Atom, Option<Atom>), &Atom) -> bool + 'a;

impl<'p> Analysis<'p> {
    /// A client-callable function that checks its caller but leaves access to
    /// each document to its own code: no row-level security, no admin-only
    /// builder. Where ownership and claimed identities matter; a function that
    /// checks no caller at all is `missing-auth`'s.
    pub fn decides_access_per_document(&self, f: &ConvexFn) -> bool {
        f.client_callable()
            && !f.builder.row_level_security
            && !f.builder.checks_role
            && self.checks_caller(f)
    }

    /// Documents addressed by id arguments and touched without an ownership,
    /// membership or role check (`caller_on_ctx`: a custom builder put the
    /// authenticated user on ctx, as `ctx.user`).
    pub fn unowned(
        &self,
        m: ModIx,
        ix: FnIx,
        id_args: &[(Atom, Atom, Sp)],
        caller_on_ctx: bool,
    ) -> Vec<Unowned> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).unowned(id_args, caller_on_ctx),
            None => Vec::new(),
        }
    }

    /// User ids from `args` that scope writes or reads without being compared
    /// with the caller.
    pub fn client_user_ids(
        &self,
        m: ModIx,
        ix: FnIx,
        candidates: &[(Atom, Sp)],
        caller_on_ctx: bool,
    ) -> Vec<ClientUserId> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).client_user_ids(candidates, caller_on_ctx),
            None => Vec::new(),
        }
    }
}

impl<'a, 'p> FnEval<'a, 'p> {
    pub(super) fn client_user_ids(
        &mut self,
        candidates: &[(Atom, Sp)],
        caller_on_ctx: bool,
    ) -> Vec<ClientUserId> {
        let f = self.f;
        let args_param = if f.arity >= 2 {
            f.params.first().cloned()
        } else {
            None
        };
        let mut out = Vec::new();
        for (arg, arg_span) in candidates {
            let local = f
                .arg_locals
                .iter()
                .find(|(a, _)| a == arg)
                .map(|(_, l)| l.clone());
            let mentions = |call: &CallSite| {
                args_param
                    .as_ref()
                    .is_some_and(|p| f[call.arg_props].iter().any(|(r, k)| r == p && k == arg))
                    || local
                        .as_ref()
                        .is_some_and(|l| f[call.arg_names].contains(l))
            };
            let refers = |v: &Val| {
                (matches!(&v.head, Head::Name(n) if Some(n) == args_param.as_ref())
                    && v.prop.as_ref() == Some(arg))
                    || local.as_ref().is_some_and(|l| f[v.refs].contains(l))
            };
            // Compared with the caller, or the caller's role checked: fine.
            let conds = body_conds(f);
            let mut eqs = Vec::new();
            for c in &conds {
                collect_eqs(f, c, &mut eqs);
            }
            let constant = is_constant;
            let mut checked = false;
            for (l, r) in eqs {
                for (a, b) in [(l, r), (r, l)] {
                    if self.is_caller(a, caller_on_ctx, 0) && (refers(b) || constant(b)) {
                        checked = true;
                    }
                }
            }
            if checked || f.calls.iter().any(|c| self.calls_role_check(c)) {
                continue;
            }
            let mut first_write: Option<Sp> = None;
            let mut first_read: Option<Sp> = None;
            for call in &f.calls {
                if !mentions(call) {
                    continue;
                }
                // `patch(args.userId, ...)` addresses that user's document (an
                // ownership question); writing the id into a document, or
                // scoping a query by it, treats it as the caller.
                let addresses = f[call.arg_paths].first().is_some_and(|(root, prop)| {
                    (Some(root) == args_param.as_ref() && prop.as_ref() == Some(arg))
                        || (prop.is_none() && Some(root) == local.as_ref())
                });
                let write = match &call.callee {
                    Callee::Ctx(p) => match convex::db_call(&f[*p]) {
                        Some(DbOp::Insert) => true,
                        Some(DbOp::Patch | DbOp::Replace) => !addresses,
                        _ => false,
                    },
                    _ => false,
                };
                let read = match &call.callee {
                    Callee::Member(_, p) | Callee::Method(_, p) => f[*p]
                        .last()
                        .is_some_and(|m| convex::is_query_scope_method(m)),
                    _ => false,
                };
                let slot = if write {
                    &mut first_write
                } else if read {
                    &mut first_read
                } else {
                    continue;
                };
                if slot.is_none_or(|s| call.span < s) {
                    *slot = Some(call.span);
                }
            }
            // A write is the graver misuse: report it when there is one.
            let first = first_write
                .map(|s| (s, true))
                .or(first_read.map(|s| (s, false)));
            if let Some((span, write)) = first {
                out.push(ClientUserId {
                    arg: arg.clone(),
                    arg_span: *arg_span,
                    span,
                    write,
                });
            }
        }
        out
    }

    pub(super) fn unowned(
        &mut self,
        id_args: &[(Atom, Atom, Sp)],
        caller_on_ctx: bool,
    ) -> Vec<Unowned> {
        let f = self.f;
        let args_param = if f.arity >= 2 {
            f.params.first().cloned()
        } else {
            None
        };
        // Which call argument is the id argument `arg`?
        let is_arg = |path: &(Atom, Option<Atom>), arg: &Atom| match path {
            (root, Some(prop)) => Some(root) == args_param.as_ref() && prop == arg,
            (local, None) => f.arg_locals.iter().any(|(a, l)| a == arg && l == local),
        };
        let mut out = Vec::new();
        for (arg, table, arg_span) in id_args {
            let mut reads = Vec::new();
            let mut writes = Vec::new();
            for (ix, call) in f.calls.iter().enumerate() {
                let Callee::Ctx(path) = &call.callee else {
                    continue;
                };
                let Some(op) = convex::db_call(&f[*path]) else {
                    continue;
                };
                if !f[call.arg_paths].first().is_some_and(|p| is_arg(p, arg)) {
                    continue;
                }
                match op {
                    DbOp::Get => reads.push(ix as CallIx),
                    DbOp::Patch | DbOp::Replace | DbOp::Delete => writes.push(ix as CallIx),
                    _ => {}
                }
            }
            if reads.is_empty() && writes.is_empty() {
                continue;
            }
            // The documents read: `const doc = await ctx.db.get(args.id)`.
            let docs: Vec<Atom> = f
                .bindings
                .iter()
                .filter(|(_, v)| matches!(v.head, Head::Call(c) if reads.contains(&c)))
                .map(|(n, _)| n.clone())
                .collect();
            if self.checks_access(&docs, &reads, arg, &is_arg, caller_on_ctx) {
                continue;
            }
            let mut returns = Vec::new();
            if let Some(body) = &f.body {
                collect_returns(f, body, &mut returns);
            }
            // `if (!doc.isPublic) return null`: what is returned is public.
            let conds = body_conds(f);
            let mut tested = Vec::new();
            for c in &conds {
                collect_truthy(f, c, &mut tested);
            }
            let public_gate = tested.iter().any(|v| {
                v.prop.as_deref().is_some_and(convex::is_public_flag)
                    && f[v.refs].iter().any(|r| docs.contains(r))
            });
            let returned = !public_gate
                && returns.iter().any(|v| {
                    matches!(v.head, Head::Call(c) if reads.contains(&c))
                        || f[v.refs]
                            .iter()
                            .chain(&f[v.flow.names])
                            .any(|r| docs.contains(r))
                });
            let mut touched: Vec<(CallIx, bool)> = writes.iter().map(|w| (*w, true)).collect();
            if returned {
                touched.extend(reads.iter().map(|r| (*r, false)));
            }
            touched.sort_by_key(|(ix, _)| f.call(*ix).map(|c| c.span));
            if let Some((ix, write)) = touched.first() {
                let Some(call) = f.call(*ix) else {
                    continue;
                };
                let op = match &call.callee {
                    Callee::Ctx(p) => format!(
                        "ctx.{}",
                        f[*p]
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(".")
                    ),
                    _ => String::new(),
                };
                out.push(Unowned {
                    span: call.span,
                    op,
                    write: *write,
                    arg: arg.clone(),
                    arg_span: *arg_span,
                    table: table.clone(),
                });
            }
        }
        out
    }

    /// Is there any check tying the document (or its id) to the caller: an
    /// owner comparison, a role comparison, a lookup keyed by both, or a
    /// project helper given the document or id?
    pub(super) fn checks_access(
        &mut self,
        docs: &[Atom],
        reads: &[CallIx],
        arg: &Atom,
        is_arg: &ArgMatcher<'_>,
        caller_on_ctx: bool,
    ) -> bool {
        let f = self.f;
        let touches_doc = |v: &Val| f[v.refs].iter().any(|r| docs.contains(r));
        let mut conds = body_conds(f);
        for (_, b) in &f.bindings {
            if let Head::Cond(c) = &b.head {
                conds.push(&f[*c]);
            }
        }
        let mut eqs = Vec::new();
        for c in conds {
            collect_eqs(f, c, &mut eqs);
        }
        for (l, r) in eqs {
            let constant = is_constant;
            for (a, b) in [(l, r), (r, l)] {
                if self.is_caller(a, caller_on_ctx, 0) && (touches_doc(b) || constant(b)) {
                    return true;
                }
            }
        }
        // A lookup keyed by the caller and the document: a membership row.
        for (_, b) in &f.bindings {
            let keyed_by_doc = touches_doc(b)
                || f[b.refs]
                    .iter()
                    .any(|r| f.arg_locals.iter().any(|(a, l)| a == arg && l == r))
                || f[b.refs].iter().any(|r| Some(r) == f.params.first());
            if matches!(b.head, Head::Call(_))
                && keyed_by_doc
                && self.is_caller(b, caller_on_ctx, 0)
            {
                return true;
            }
        }
        // A project helper handed the document or its id decides access itself.
        for ix in 0..f.calls.len() as CallIx {
            let Some(call) = f.call(ix) else {
                continue;
            };
            let given = f[call.arg_paths]
                .iter()
                .any(|p| is_arg(p, arg) || (p.1.is_none() && docs.contains(&p.0)))
                || f[call.arg_calls].iter().any(|c| reads.contains(c));
            if given && self.calls_project_function(call) {
                return true;
            }
            // A helper that checks the caller's role (`requireAdmin(ctx)`).
            if self.calls_role_check(call) {
                return true;
            }
        }
        false
    }

    pub(super) fn calls_project_function(&self, call: &CallSite) -> bool {
        matches!(self.an.call_target(self.m, self.f, call), Target::Fn(..))
    }
}
