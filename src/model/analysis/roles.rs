//! Role checks: a caller compared with a constant, or a predicate helper
//! given the caller.

use super::*;

impl<'p> Analysis<'p> {
    /// Does the handler call a helper that checks the caller's role?
    pub fn handler_checks_role(&self, m: ModIx, ix: FnIx) -> bool {
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        let eval = FnEval::new(self, m, body);
        body.calls.iter().any(|c| eval.calls_role_check(c))
    }

    /// Does a helper compare the caller with a constant (`user.role === "admin"`),
    /// itself or through the helpers it calls?
    pub fn checks_role(&self, m: ModIx, ix: FnIx) -> bool {
        self.checks_role_depth(m, ix, false, 0)
    }

    /// `caller_on_ctx`: the body is a customisation on an authenticating
    /// builder, so `ctx.user` is the caller.
    pub(super) fn checks_role_depth(
        &self,
        m: ModIx,
        ix: FnIx,
        caller_on_ctx: bool,
        depth: u32,
    ) -> bool {
        if depth > 8 {
            return false;
        }
        let key = (m, ix, caller_on_ctx, depth);
        if let Some(&known) = self.roles_checked.borrow().get(&key) {
            return known;
        }
        let checks = self.helper_checks_role(m, ix, caller_on_ctx, depth);
        self.roles_checked.borrow_mut().insert(key, checks);
        checks
    }

    fn helper_checks_role(&self, m: ModIx, ix: FnIx, caller_on_ctx: bool, depth: u32) -> bool {
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        let mut eval = FnEval::new(self, m, body);
        let conds = body_conds(body);
        // `RANK[user.role] < RANK[role]`: a computed test on the caller.
        let mut truthy = Vec::new();
        for c in &conds {
            collect_truthy(body, c, &mut truthy);
        }
        if truthy.iter().any(|v| {
            matches!(v.head, Head::Other) && body[v.refs].iter().any(|r| eval.is_caller_name(r))
        }) {
            return true;
        }
        // `if (!user.isAdmin) throw`
        if truthy
            .iter()
            .any(|v| eval.is_caller_role_flag(v, caller_on_ctx))
        {
            return true;
        }
        let mut compares = Vec::new();
        for c in &conds {
            collect_compares(body, c, &mut compares);
        }
        if compares.iter().any(|(l, r)| {
            body[l.refs]
                .iter()
                .chain(&body[r.refs])
                .any(|n| eval.is_caller_name(n))
        }) {
            return true;
        }
        // `if (!isAdmin(user)) throw`: a predicate helper given the caller.
        for v in &truthy {
            let Head::Call(cix) = v.head else {
                continue;
            };
            let Some(call) = body.call(cix) else {
                continue;
            };
            if let Target::Fn(tm, tix) = self.call_target(m, body, call) {
                if self.is_param_predicate(tm, tix)
                    && body[call.name_args].iter().any(|n| eval.is_caller_name(n))
                {
                    return true;
                }
            }
        }
        let on_ctx = |v: &Val| {
            caller_on_ctx && matches!(&v.head, Head::Name(n) if body.ctx_names.contains(n))
        };
        let mut eqs = Vec::new();
        for c in conds {
            collect_eqs(body, c, &mut eqs);
        }
        // A constant (`"admin"`), or a parameter (`requireRole(ctx, "admin")`).
        let constant = |v: &Val| {
            (matches!(v.head, Head::Lit) && v.refs.is_empty())
                || matches!(&v.head, Head::Name(n) if body.params.contains(n))
        };
        if eqs.iter().any(|(l, r)| {
            (constant(r) && (on_ctx(l) || eval.is_caller(l, false, 0)))
                || (constant(l) && (on_ctx(r) || eval.is_caller(r, false, 0)))
        }) {
            return true;
        }
        body.calls.iter().any(|call| {
            matches!(self.call_target(m, body, call),
                Target::Fn(tm, tix) if self.checks_role_depth(tm, tix, false, depth + 1))
        })
    }

    /// Does a helper return a comparison of its parameter with a constant
    /// (`return user.role === "admin"`)?
    pub(super) fn is_param_predicate(&self, m: ModIx, ix: FnIx) -> bool {
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        let Some(tree) = &body.body else {
            return false;
        };
        let mut returns = Vec::new();
        collect_returns(body, tree, &mut returns);
        let constant = is_constant;
        returns.iter().any(|v| {
            let Head::Cond(c) = &v.head else {
                return false;
            };
            let mut eqs = Vec::new();
            collect_eqs(body, &body[*c], &mut eqs);
            eqs.iter().any(|(a, b)| {
                (body[a.refs].iter().any(|r| body.params.contains(r)) && constant(b))
                    || (body[b.refs].iter().any(|r| body.params.contains(r)) && constant(a))
            })
        })
    }
}

impl<'a, 'p> FnEval<'a, 'p> {
    /// A role flag of the caller's own document tested: `user.isAdmin`.
    pub(super) fn is_caller_role_flag(&mut self, v: &Val, caller_on_ctx: bool) -> bool {
        v.prop.as_deref().is_some_and(convex::is_role_flag) && self.is_caller(v, caller_on_ctx, 0)
    }

    pub(super) fn calls_role_check(&self, call: &CallSite) -> bool {
        if self.an.known_as(&self.an.known.roles, self.m, self.f, call) {
            return true;
        }
        match self.an.call_target(self.m, self.f, call) {
            Target::Fn(m, ix) => self.an.checks_role(m, ix),
            _ => false,
        }
    }
}
