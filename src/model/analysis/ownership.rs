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
    pub access: Access,
    /// The `args` entry the id came from, and its validator's span.
    pub arg: Atom,
    pub arg_span: Sp,
    pub table: Atom,
}

/// What a function does with the document a client-supplied id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Reads it and returns it.
    Returns,
    /// Patches, replaces or deletes it.
    Changes,
    /// Returns rows of this table selected by the id (the document's
    /// children, or the document itself through `_id`).
    Lists(Atom),
    /// Inserts a row of this table that records the file whose storage id
    /// the caller supplied.
    Adds(Atom),
}

impl Access {
    pub fn writes(&self) -> bool {
        matches!(self, Access::Changes | Access::Adds(_))
    }
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

/// Does a call's arguments (callbacks included) mention the `args` entry
/// `arg`, as `args.arg` or through the local it was destructured to?
fn mentions_arg(
    f: &FnBody,
    call: &CallSite,
    args_param: Option<&Atom>,
    arg: &Atom,
    local: Option<&Atom>,
) -> bool {
    args_param.is_some_and(|p| f[call.arg_props].iter().any(|(r, k)| r == p && k == arg))
        || local.is_some_and(|l| f[call.arg_names].contains(l))
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
            let mentions =
                |call: &CallSite| mentions_arg(f, call, args_param.as_ref(), arg, local.as_ref());
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
            let local = f
                .arg_locals
                .iter()
                .find(|(a, _)| a == arg)
                .map(|(_, l)| l.clone());
            // The id anywhere in a call's arguments (callbacks included):
            // `q.eq("threadId", args.threadId)`, `{ threadId }`.
            let mentions =
                |call: &CallSite| mentions_arg(f, call, args_param.as_ref(), arg, local.as_ref());
            // A user id scoping rows is `client-supplied-user-id`'s question.
            let parent = table.as_str() != "users";
            let mut reads = Vec::new();
            let mut writes = Vec::new();
            let mut scopes = Vec::new();
            let mut adds = Vec::new();
            for (ix, call) in f.calls.iter().enumerate() {
                let ix = ix as CallIx;
                match &call.callee {
                    Callee::Ctx(path) => {
                        let Some(op) = convex::db_call(&f[*path]) else {
                            continue;
                        };
                        let first_is_arg =
                            f[call.arg_paths].first().is_some_and(|p| is_arg(p, arg));
                        match op {
                            DbOp::Get if first_is_arg => reads.push(ix),
                            DbOp::Patch | DbOp::Replace | DbOp::Delete if first_is_arg => {
                                writes.push(ix)
                            }
                            // A file id recorded as the caller's: only the
                            // uploader may claim it. (Other ids carried into a
                            // new row may be references to shared rows.)
                            DbOp::Insert if table.as_str() == "_storage" && mentions(call) => {
                                adds.push(ix)
                            }
                            _ => {}
                        }
                    }
                    // `.withIndex("by_thread", (q) => q.eq("threadId", threadId))`
                    Callee::Method(_, p)
                        if parent
                            && f[*p]
                                .last()
                                .is_some_and(|m| convex::is_query_scope_method(m))
                            && mentions(call)
                            && self.is_db_read_chain(ix) =>
                    {
                        scopes.push(ix)
                    }
                    _ => {}
                }
            }
            // Every call of a chain past a scoped step reads the scoped rows:
            // `.withIndex(...).order("desc").collect()`.
            let listed: Vec<CallIx> = (0..f.calls.len() as CallIx)
                .filter(|ix| self.chain_contains(*ix, &scopes))
                .collect();
            if reads.is_empty() && writes.is_empty() && listed.is_empty() && adds.is_empty() {
                continue;
            }
            let mut reads_all = reads.clone();
            reads_all.extend(&listed);
            // The documents read: `const doc = await ctx.db.get(args.id)`,
            // and the rows selected by it.
            let docs: Vec<Atom> = f
                .bindings
                .iter()
                .filter(|(_, v)| matches!(v.head, Head::Call(c) if reads_all.contains(&c)))
                .map(|(n, _)| n.clone())
                .collect();
            if self.checks_access(&docs, &reads_all, arg, &is_arg, caller_on_ctx) {
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
            let returns_any = |calls: &[CallIx], docs: &[Atom]| {
                !public_gate
                    && returns.iter().any(|v| {
                        matches!(v.head, Head::Call(c) if calls.contains(&c))
                            || f[v.refs]
                                .iter()
                                .chain(&f[v.flow.names])
                                .any(|r| docs.contains(r))
                    })
            };
            let docs_of = |calls: &[CallIx]| -> Vec<Atom> {
                docs.iter()
                    .filter(|n| {
                        f.bindings.iter().any(|(b, v)| {
                            b == *n && matches!(v.head, Head::Call(c) if calls.contains(&c))
                        })
                    })
                    .cloned()
                    .collect()
            };
            let mut touched: Vec<(CallIx, Access)> =
                writes.iter().map(|w| (*w, Access::Changes)).collect();
            if returns_any(&reads, &docs_of(&reads)) {
                touched.extend(reads.iter().map(|r| (*r, Access::Returns)));
            }
            if returns_any(&listed, &docs_of(&listed)) {
                for ix in &scopes {
                    touched.push((*ix, Access::Lists(self.chain_table(*ix))));
                }
            }
            for ix in &adds {
                let child = f
                    .call(*ix)
                    .and_then(|c| c.first_str.clone())
                    .unwrap_or_default();
                touched.push((*ix, Access::Adds(child)));
            }
            touched.sort_by_key(|(ix, _)| f.call(*ix).map(|c| c.span));
            if let Some((ix, access)) = touched.first() {
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
                let op = match &call.callee {
                    Callee::Method(_, p) => {
                        format!("{}()", f[*p].last().map(|s| s.as_str()).unwrap_or_default())
                    }
                    _ => op,
                };
                out.push(Unowned {
                    span: call.span,
                    op,
                    access: access.clone(),
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
        // The caller's role flag tested: `if (!user.isAdmin) throw`.
        let mut truthy = Vec::new();
        for c in body_conds(f) {
            collect_truthy(f, c, &mut truthy);
        }
        if truthy
            .iter()
            .any(|v| self.is_caller_role_flag(v, caller_on_ctx))
        {
            return true;
        }
        // The caller in a list the document holds: `doc.members.includes(me)`.
        for call in &f.calls {
            let on_doc = match &call.callee {
                Callee::Member(root, p) => {
                    docs.contains(root)
                        && f[*p].last().is_some_and(|m| convex::is_membership_test(m))
                }
                _ => false,
            };
            if on_doc
                && f[call.arg_paths].iter().any(|(root, _)| {
                    (caller_on_ctx && f.ctx_names.contains(root))
                        || self.some_caller_binding(root, caller_on_ctx)
                })
            {
                return true;
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

    /// Is one of `calls` on the method chain that ends at `ix`?
    fn chain_contains(&self, mut ix: CallIx, calls: &[CallIx]) -> bool {
        for _ in 0..32 {
            if calls.contains(&ix) {
                return true;
            }
            match self.f.call(ix).map(|c| &c.callee) {
                Some(Callee::Method(base, _)) => ix = *base,
                _ => return false,
            }
        }
        false
    }

    /// The table a query chain reads: `ctx.db.query("messages")` at its root.
    fn chain_table(&self, mut ix: CallIx) -> Atom {
        for _ in 0..32 {
            let Some(call) = self.f.call(ix) else {
                break;
            };
            match &call.callee {
                Callee::Method(base, _) => ix = *base,
                _ => return call.first_str.clone().unwrap_or_default(),
            }
        }
        Atom::default()
    }

    pub(super) fn calls_project_function(&self, call: &CallSite) -> bool {
        matches!(self.an.call_target(self.m, self.f, call), Target::Fn(..))
    }
}
