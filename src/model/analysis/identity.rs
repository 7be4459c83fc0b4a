//! Who the caller is: identity sources, values derived from them, credential
//! lookups, server secrets, and identities whose null case is never handled.

use super::*;

/// An identity whose null case is never handled.
#[derive(Debug, Clone)]
pub struct Unchecked {
    /// The call that fetched it.
    pub span: Sp,
    pub source: String,
    /// The binding, if any.
    pub name: Option<Atom>,
    /// Where it is dereferenced, if it is.
    pub deref: Option<Sp>,
    pub discarded: bool,
}

/// What `FnEval::some_binding` asks of a name's bindings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum BindingTest {
    Caller { caller_on_ctx: bool },
    Secret,
    Credential,
}

/// `x.headers.get("Authorization")`, `"X-API-Key"`, a token or cookie header.
pub(super) fn is_credential_header(f: &FnBody, call: &CallSite) -> bool {
    let is_get = match &call.callee {
        Callee::Member(_, p) | Callee::Method(_, p) => convex::is_header_get(&f[*p]),
        _ => false,
    };
    is_get && convex::is_credential_header(call.first_str.as_deref().unwrap_or(""))
}

impl<'p> Analysis<'p> {
    /// Does the function check who calls it at all (however partially)?
    pub fn checks_caller(&self, f: &ConvexFn) -> bool {
        if f.builder.authenticated || f.builder.row_level_security {
            return true;
        }
        let Some((m, ix)) = f.handler() else {
            return true;
        };
        if let Some(&known) = self.callers_checked.borrow().get(&(m, ix)) {
            return known;
        }
        let checks = match self.body(m, ix) {
            None => true,
            Some(_) if self.endpoint(m, ix, false).authenticates_somewhere => true,
            Some(body) => {
                let mut eval = FnEval::new(self, m, body);
                (0..body.calls.len() as CallIx).any(|c| {
                    let fx = eval.fx(c);
                    fx.identity || fx.guarantee || fx.verifier
                })
            }
        };
        self.callers_checked.borrow_mut().insert((m, ix), checks);
        checks
    }

    /// Identities fetched in a body whose null case is never handled.
    pub fn unchecked(&self, m: ModIx, ix: FnIx) -> Rc<[Unchecked]> {
        if let Some(found) = self.unchecked.borrow().get(&(m, ix)) {
            return found.clone();
        }
        let found: Rc<[Unchecked]> = match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).unchecked().into(),
            None => Rc::new([]),
        };
        self.unchecked.borrow_mut().insert((m, ix), found.clone());
        found
    }
}

impl<'a, 'p> FnEval<'a, 'p> {
    /// Is this value the caller or derived from them: an identity, the result of
    /// an authenticating call (`const user = await requireUser(ctx)`), a lookup
    /// keyed by either, or (in a custom builder's handler) `ctx.user`?
    pub(super) fn is_caller(&mut self, v: &Val, caller_on_ctx: bool, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        if self.is_identity(v) {
            return true;
        }
        match &v.head {
            Head::Call(ix) => {
                let fx = self.fx(*ix);
                if fx.guarantee || fx.identity {
                    return true;
                }
            }
            Head::Name(n) if caller_on_ctx && self.f.ctx_names.contains(n) => return true,
            _ => {}
        }
        let f = self.f;
        if caller_on_ctx && f[v.refs].iter().any(|r| f.ctx_names.contains(r)) {
            return true;
        }
        f[v.refs]
            .iter()
            .any(|r| self.caller_binding(r, caller_on_ctx, depth + 1))
    }

    /// Is some binding of `name` the caller?
    pub(super) fn some_caller_binding(&mut self, name: &Atom, caller_on_ctx: bool) -> bool {
        self.caller_binding(name, caller_on_ctx, 0)
    }

    /// Is some binding of `name` the caller, at this depth?
    fn caller_binding(&mut self, name: &Atom, caller_on_ctx: bool, depth: u32) -> bool {
        self.some_binding(name, BindingTest::Caller { caller_on_ctx }, depth)
    }

    /// Does some binding of `name` pass `test` at this depth? Memoised by
    /// (name, test, depth): a name bound many times (`s = s.min(..)` in each
    /// branch) would otherwise be re-walked once per binding at every level.
    fn some_binding(&mut self, name: &Atom, test: BindingTest, depth: u32) -> bool {
        let key = (name.clone(), test, depth);
        if let Some(&known) = self.binding_memo.get(&key) {
            return known;
        }
        if !self.spend() {
            return false;
        }
        let f = self.f;
        let found = f
            .bindings
            .iter()
            .filter(|(n, _)| n == name)
            .any(|(_, b)| match test {
                BindingTest::Caller { caller_on_ctx } => self.is_caller(b, caller_on_ctx, depth),
                BindingTest::Secret => self.is_secret(b, depth),
                BindingTest::Credential => self.is_credential(b, name, depth),
            });
        self.binding_memo.insert(key, found);
        found
    }

    pub(super) fn is_caller_name(&mut self, n: &Atom) -> bool {
        let f = self.f;
        f.bindings
            .iter()
            .filter(|(name, _)| name == n)
            .any(|(_, b)| self.is_caller(b, false, 0))
    }

    /// Does the branch where `cond` is `truth` prove an authenticated caller?
    pub(super) fn implies_auth(&mut self, cond: &Cond, truth: bool, depth: u32) -> bool {
        let f = self.f;
        implies(
            f,
            cond,
            truth,
            Reading::Proves,
            depth,
            &mut |leaf, truth, depth| self.proves_auth(leaf, truth, depth),
        )
    }

    /// A single test that proves a caller: an identity present, a verified
    /// request, an identity equal to a constant, a value equal to a secret.
    fn proves_auth(&mut self, leaf: &Cond, truth: bool, depth: u32) -> bool {
        let f = self.f;
        match leaf {
            Cond::Truthy(v) => {
                let v = &f[*v];
                let error_prop = v.prop.as_deref().is_some_and(convex::is_error_field);
                if truth && !error_prop && (self.is_identity(v) || self.is_verifier(v)) {
                    return true;
                }
                // `if ("error" in auth) return auth.error`: no error, a caller.
                if !truth && error_prop && self.is_identity(v) {
                    return true;
                }
                match self.cond_binding(v) {
                    Some(c) => self.implies_auth(c, truth, depth + 1),
                    None => false,
                }
            }
            Cond::Eq { l, r, negated } => {
                let (l, r) = (&f[*l], &f[*r]);
                let equal = truth != *negated;
                let nullish = |v: &Val| matches!(v.head, Head::Nullish);
                let constant =
                    |v: &Val| matches!(v.head, Head::Lit) && v.refs.is_empty() && !v.env && !v.hmac;
                if equal {
                    // `user?.role === "admin"`: only a present user can match.
                    if (self.is_identity(l) && constant(r)) || (self.is_identity(r) && constant(l))
                    {
                        return true;
                    }
                    // A value compared with a server secret (env var, HMAC).
                    let secret_l = self.is_secret(l, 0);
                    let secret_r = self.is_secret(r, 0);
                    (secret_l || secret_r)
                        && !nullish(l)
                        && !nullish(r)
                        && !constant(l)
                        && !constant(r)
                } else {
                    (nullish(r) && self.is_identity(l)) || (nullish(l) && self.is_identity(r))
                }
            }
            _ => false,
        }
    }

    /// Is this value null exactly when the caller is anonymous?
    pub(super) fn is_identity(&mut self, v: &Val) -> bool {
        match &v.head {
            Head::Call(ix) => {
                self.fx(*ix).identity || self.derived_call(*ix, v) || self.credential_lookup(*ix, v)
            }
            Head::Name(n) => self.is_identity_name(n),
            _ => false,
        }
    }

    /// A database lookup keyed by a credential from the request (an API key
    /// or bearer token header, usually hashed): present only for a valid one.
    pub(super) fn credential_lookup(&mut self, ix: CallIx, v: &Val) -> bool {
        let reads = self.is_db_read_chain(ix) || self.fx(ix).reads_db;
        let f = self.f;
        reads && f[v.refs].iter().any(|r| self.is_credential_name(r, 0))
    }

    /// Derived from a credential header: `req.headers.get("Authorization")`.
    pub(super) fn is_credential_name(&mut self, n: &Atom, depth: u32) -> bool {
        self.some_binding(n, BindingTest::Credential, depth)
    }

    /// Is `b`, a binding of `name`, a credential header or derived from one?
    fn is_credential(&mut self, b: &Val, name: &Atom, depth: u32) -> bool {
        if depth > 12 {
            return false;
        }
        let f = self.f;
        let head_call = match b.head {
            Head::Call(c) => Some(c),
            _ => None,
        };
        let from_header = f[b.flow.calls]
            .iter()
            .copied()
            .chain(head_call)
            .any(|c| f.call(c).is_some_and(|c| is_credential_header(f, c)));
        from_header
            || f[b.refs]
                .iter()
                .any(|r| r != name && self.is_credential_name(r, depth + 1))
    }

    /// A lookup keyed by an identity (`ctx.db.get(userId)`) is present only for it.
    pub(super) fn derived_call(&mut self, _ix: CallIx, v: &Val) -> bool {
        let f = self.f;
        f[v.refs].iter().any(|r| self.is_identity_name(r))
    }

    pub(super) fn is_identity_name(&mut self, n: &Atom) -> bool {
        if let Some(&known) = self.witness_memo.get(n) {
            return known;
        }
        self.witness_memo.insert(n.clone(), false);
        let f = self.f;
        if self.params_are_identities && f.params.contains(n) {
            self.witness_memo.insert(n.clone(), true);
            return true;
        }
        let found = f
            .bindings
            .iter()
            .filter(|(name, _)| name == n)
            .any(|(_, v)| match &v.head {
                Head::Call(_) | Head::Name(_) => self.is_identity(v),
                _ => false,
            });
        self.witness_memo.insert(n.clone(), found);
        found
    }

    pub(super) fn is_verifier(&mut self, v: &Val) -> bool {
        self.result_of(v, |fx| fx.verifier)
    }

    /// Derived from a server secret: an env var, an HMAC, or a helper returning one.
    pub(super) fn is_secret(&mut self, v: &Val, depth: u32) -> bool {
        if v.env || v.hmac {
            return true;
        }
        if depth > 8 {
            return false;
        }
        if let Head::Call(ix) = v.head {
            if self.fx(ix).secret {
                return true;
            }
        }
        let f = self.f;
        f[v.refs]
            .iter()
            .any(|r| self.some_binding(r, BindingTest::Secret, depth + 1))
    }

    pub(super) fn unchecked(mut self) -> Vec<Unchecked> {
        let mut out = Vec::new();
        for ix in 0..self.f.calls.len() as CallIx {
            let fx = self.fx(ix);
            if !fx.identity {
                continue;
            }
            let Some(call) = self.f.call(ix) else {
                continue;
            };
            let mut u = Unchecked {
                span: call.span,
                source: fx.label.render(self.f, call),
                name: None,
                deref: None,
                discarded: false,
            };
            match call.result {
                ResultUse::Discarded => {
                    u.discarded = true;
                    out.push(u);
                }
                ResultUse::Dereferenced => out.push(u),
                ResultUse::Bound => {
                    let names: Vec<Atom> = self
                        .f
                        .bindings
                        .iter()
                        .filter(|(_, v)| matches!(v.head, Head::Call(c) if c == ix))
                        .map(|(n, _)| n.clone())
                        .collect();
                    if let Some(name) = names.iter().find(|n| !self.handled(n)) {
                        u.deref = self
                            .f
                            .uses
                            .iter()
                            .find(|x| x.name == *name && x.kind == UseKind::Dereferenced)
                            .map(|x| x.span);
                        u.name = Some(name.clone());
                        out.push(u);
                    }
                }
                ResultUse::Handled | ResultUse::Other => {}
            }
        }
        out
    }

    /// Is a name's null case handled, directly or through names derived from it?
    pub(super) fn handled(&self, name: &Atom) -> bool {
        let mut seen = vec![name.clone()];
        let mut i = 0;
        while let Some(n) = seen.get(i).cloned() {
            i += 1;
            if self
                .f
                .uses
                .iter()
                .any(|u| u.name == n && u.kind == UseKind::Handled)
            {
                return true;
            }
            for (b, v) in &self.f.bindings {
                if self.f[v.refs].contains(&n) && !seen.contains(b) && seen.len() < 64 {
                    seen.push(b.clone());
                }
            }
        }
        false
    }
}
