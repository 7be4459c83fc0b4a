//! The evaluator: walks a body's statements with an abstract state (alive,
//! authenticated, rate limited, what was read unauthenticated) and sums them up.

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) struct St {
    pub(super) alive: bool,
    pub(super) authed: bool,
    /// A rate limit has been applied on this path.
    pub(super) limited: bool,
    /// The first unauthenticated read on this path (index into `reads`).
    pub(super) read: Option<usize>,
}

pub(super) fn join(a: St, b: St) -> St {
    if !a.alive {
        return b;
    }
    if !b.alive {
        return a;
    }
    St {
        alive: true,
        authed: a.authed && b.authed,
        limited: a.limited && b.limited,
        read: a.read.or(b.read),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ret {
    /// `null`, `undefined`, `false`, or no value.
    Nullish,
    /// A constant that is not nullish (`[]`, `{ ok: true }`).
    Constant,
    Identity,
    /// `{ error: ... }`: a failure result the caller tests.
    ErrorShaped,
    Data,
}

pub(super) struct FnEval<'a, 'p> {
    pub(super) an: &'a Analysis<'p>,
    pub(super) m: ModIx,
    pub(super) f: &'a FnBody,
    pub(super) fx: Vec<Option<Rc<CallFx>>>,
    pub(super) writes: Vec<Event>,
    pub(super) reads: Vec<Event>,
    pub(super) leaks: Vec<Event>,
    pub(super) services: Vec<ServiceCall>,
    pub(super) returns: Vec<(bool, Ret)>,
    pub(super) returns_secret: bool,
    pub(super) witness_memo: HashMap<Atom, bool>,
    /// `some_binding`, by (name, test, depth).
    pub(super) binding_memo: HashMap<(Atom, super::identity::BindingTest, u32), bool>,
    /// `name_carries`, by (name, what, depth).
    pub(super) carry_memo: HashMap<(Atom, super::leaks::Carry, u32), Option<super::leaks::Carried>>,
    /// Walks done so far, and how many this body may do (`Budget`).
    pub(super) steps: u32,
    pub(super) budget: u32,
    /// Evaluate as if every plain parameter were a nullable identity.
    pub(super) params_are_identities: bool,
    pub(super) ever_authed: bool,
    pub(super) returns_env: Option<Atom>,
    pub(super) effects: Vec<Event>,
    /// Every normal return so far was rate limited.
    pub(super) returns_limited: bool,
    pub(super) throws: bool,
}

/// The function's own `return` values (not those of callbacks).
pub(super) fn collect_returns<'n>(f: &'n FnBody, node: &Node, out: &mut Vec<&'n Val>) {
    match node {
        Node::Seq(nodes) | Node::Loop(nodes) => {
            f[*nodes].iter().for_each(|n| collect_returns(f, n, out))
        }
        Node::If(i) => {
            let If { then, els, .. } = &f[*i];
            collect_returns(f, then, out);
            collect_returns(f, els, out);
        }
        Node::Return(Some(v)) => out.push(&f[*v]),
        Node::Try(t) => f[*t].parts().for_each(|n| collect_returns(f, n, out)),
        Node::Return(None) | Node::Call(_) | Node::Throw | Node::Nested(_) => {}
    }
}

/// How many walks through bindings a body may take: a fixed allowance and a
/// share per item of the body. Every walk is memoised, so the work is about
/// linear in the body; the budget only bounds a shape nobody foresaw. A body
/// that spends it is reported (`Analysis::overruns`), and the walks it has
/// left answer "not proven": no check is credited, so findings are kept.
const BUDGET_BASE: u32 = 10_000;
const BUDGET_PER_ITEM: u32 = 100;

fn budget_for(f: &FnBody) -> u32 {
    let items = f.nodes.len() + f.calls.len() + f.bindings.len() + f.conds.len() + f.vals.len();
    BUDGET_PER_ITEM
        .saturating_mul(u32::try_from(items).unwrap_or(u32::MAX))
        .saturating_add(BUDGET_BASE)
}

impl<'a, 'p> FnEval<'a, 'p> {
    /// Spends one step of the budget; false once it is spent (the first time,
    /// the body is recorded as overrun).
    pub(super) fn spend(&mut self) -> bool {
        if self.steps >= self.budget {
            return false;
        }
        self.steps += 1;
        if self.steps == self.budget {
            self.an.overran(self.m, self.f);
        }
        self.steps < self.budget
    }

    pub(super) fn new(an: &'a Analysis<'p>, m: ModIx, f: &'a FnBody) -> Self {
        FnEval {
            an,
            m,
            f,
            fx: vec![None; f.calls.len()],
            writes: Vec::new(),
            reads: Vec::new(),
            leaks: Vec::new(),
            services: Vec::new(),
            returns: Vec::new(),
            returns_secret: false,
            witness_memo: HashMap::default(),
            binding_memo: HashMap::default(),
            carry_memo: HashMap::default(),
            steps: 0,
            budget: budget_for(f),
            params_are_identities: false,
            ever_authed: false,
            returns_env: None,
            effects: Vec::new(),
            returns_limited: true,
            throws: false,
        }
    }

    pub(super) fn summarise(mut self, authenticated: bool) -> Summary {
        let start = St {
            alive: true,
            authed: authenticated,
            limited: false,
            read: None,
        };
        let end = match self.f.body.as_ref() {
            Some(body) => self.eval(body, start, false),
            None => start,
        };
        if end.alive {
            self.returns.push((end.authed, Ret::Nullish));
            self.returns_limited &= end.limited;
        }
        let guarantee = !self.returns.is_empty() && self.returns.iter().all(|(a, _)| *a);
        let rate_limiter = self.looks_like_rate_limiter();
        let (mut reads_db, mut writes_db) = (false, false);
        for ix in 0..self.f.calls.len() as CallIx {
            let fx = self.fx(ix);
            reads_db |= fx.reads_db;
            writes_db |= fx.writes_db;
        }
        let returns_identity = !guarantee
            && self.returns.iter().all(|(a, r)| *a || *r != Ret::Data)
            && self
                .returns
                .iter()
                .any(|(a, r)| *r == Ret::Identity || (*a && *r == Ret::Data));
        Summary {
            guarantee,
            never_returns: self.returns.is_empty() && self.f.body.is_some(),
            returns_identity,
            is_async: self.f.is_async,
            unguarded_write: self.writes.into_iter().min_by_key(|e| e.span),
            unguarded_return: self.leaks.into_iter().min_by_key(|e| e.span),
            unguarded_service: self.services.into_iter().min_by_key(|s| s.event.span),
            returns_secret: self.returns_secret,
            guarantee_given_identity: false,
            authenticates_somewhere: self.ever_authed,
            returns_env: self.returns_env.clone(),
            unlimited_effect: self.effects.into_iter().min_by_key(|e| e.span),
            limits: !self.returns.is_empty() && self.returns_limited,
            rate_limiter,
            throws: self.throws,
            reads_db,
            writes_db,
        }
    }

    pub(super) fn eval(&mut self, node: &Node, st: St, nested: bool) -> St {
        if !st.alive {
            return st;
        }
        let f = self.f;
        match node {
            Node::Seq(nodes) => self.eval_seq(*nodes, st, nested),
            Node::If(i) => {
                let If { cond, then, els } = &f[*i];
                let cond = &f[*cond];
                let t = self.refine(st, cond, true);
                let e = self.refine(st, cond, false);
                let t = self.eval(then, t, nested);
                let e = self.eval(els, e, nested);
                join(t, e)
            }
            Node::Call(ix) => self.call(*ix, st),
            Node::Return(v) => {
                if !nested {
                    let v = v.map(|v| &f[v]);
                    let ret = v.map_or(Ret::Nullish, |v| self.ret_kind(v));
                    if let Some(v) = v {
                        if !self.returns_secret && self.is_secret(v, 0) {
                            self.returns_secret = true;
                        }
                        if self.returns_env.is_none() {
                            self.returns_env = self.carries_env(&v.flow, &v.head, 0);
                        }
                    }
                    if !st.authed && ret == Ret::Data {
                        if let Some(r) = st.read.and_then(|i| self.reads.get(i)) {
                            self.leaks.push(r.clone());
                        }
                    }
                    self.returns.push((st.authed, ret));
                    self.returns_limited &= st.limited;
                }
                St { alive: false, ..st }
            }
            Node::Throw => {
                if !nested {
                    self.throws = true;
                }
                St { alive: false, ..st }
            }
            Node::Loop(body) => {
                let after = self.eval_seq(*body, st, nested);
                join(st, after)
            }
            Node::Try(t) => {
                let Try {
                    body,
                    handler,
                    finalizer,
                } = &f[*t];
                let b = self.eval(body, st, nested);
                // The handler may run after any prefix of the body: start from the entry.
                let mut out = match handler {
                    Some(h) => {
                        let h = self.eval(h, st, nested);
                        join(b, h)
                    }
                    None => b,
                };
                if let Some(fin) = finalizer {
                    let entry = if out.alive { out } else { st };
                    let after = self.eval(fin, entry, nested);
                    if out.alive {
                        out = after;
                    }
                }
                out
            }
            Node::Nested(body) => {
                self.eval_seq(*body, st, true);
                st
            }
        }
    }

    pub(super) fn eval_seq(&mut self, nodes: Run<Node>, mut st: St, nested: bool) -> St {
        for n in &self.f[nodes] {
            if !st.alive {
                break;
            }
            st = self.eval(n, st, nested);
        }
        st
    }

    pub(super) fn call(&mut self, ix: CallIx, mut st: St) -> St {
        let fx = self.fx(ix);
        // Every `What` is set from a call site: without one there is none.
        if let Some(call) = self.f.call(ix) {
            let event = |what: &What| Event {
                span: call.span,
                what: what.render(&fx.label, self.f, call),
            };
            if !st.authed {
                if let Some(what) = &fx.write {
                    self.writes.push(event(what));
                }
                if let Some((what, does)) = &fx.service {
                    self.services.push(ServiceCall {
                        event: event(what),
                        does: does.clone(),
                    });
                }
                if let Some(what) = &fx.read {
                    if st.read.is_none() {
                        self.reads.push(event(what));
                        st.read = Some(self.reads.len() - 1);
                    }
                }
            }
            if !st.limited {
                if let Some(what) = &fx.effect {
                    self.effects.push(event(what));
                }
            }
        }
        if fx.limits {
            st.limited = true;
        }
        if fx.never_returns {
            st.alive = false;
        }
        if fx.guarantee {
            st.authed = true;
            self.ever_authed = true;
        }
        st
    }

    pub(super) fn ret_kind(&mut self, v: &Val) -> Ret {
        if self.is_identity(v) {
            return Ret::Identity;
        }
        if v.error_shaped {
            return Ret::ErrorShaped;
        }
        if self.is_public(v) {
            return Ret::Constant;
        }
        match v.head {
            Head::Nullish => Ret::Nullish,
            Head::Lit | Head::Cond(_) | Head::Defaulted if v.refs.is_empty() && !v.calls => {
                Ret::Constant
            }
            Head::Call(ix) if v.refs.is_empty() && !v.calls => {
                // `new Response("ok")`: constructed from constants only.
                if self.f.call(ix).is_some_and(|c| c.is_new) {
                    Ret::Constant
                } else {
                    Ret::Data
                }
            }
            _ => Ret::Data,
        }
    }

    /// Rows filtered on a public flag, directly or through local names
    /// (`rows.sort(...).slice(0, 25)` where `rows` holds public rows).
    pub(super) fn is_public(&self, v: &Val) -> bool {
        if v.public {
            return true;
        }
        if !matches!(v.head, Head::Name(_) | Head::Call(_)) || v.refs.is_empty() {
            return false;
        }
        self.f[v.refs].iter().all(|n| {
            let mut bound = self
                .f
                .bindings
                .iter()
                .filter(|(name, _)| name == n)
                .peekable();
            bound.peek().is_some() && bound.all(|(_, b)| b.public)
        })
    }

    /// Does the branch where `cond` is `truth` prove an authenticated caller?
    pub(super) fn refine(&mut self, mut st: St, cond: &Cond, truth: bool) -> St {
        if !st.authed && self.implies_auth(cond, truth, 0) {
            st.authed = true;
            self.ever_authed = true;
        }
        if !st.limited && self.implies_limited(cond, truth) {
            st.limited = true;
        }
        // `if (!doc.isPublic) return null`, or `if (doc.visibility === "private"
        // && doc.userId !== userId) return null`: what was read is public, or
        // the caller's own, past here.
        if st.read.is_some() && self.implies_gated(cond, truth) {
            st.read = None;
        }
        st
    }

    /// Does the branch prove the documents read are public or the caller's?
    pub(super) fn implies_gated(&mut self, cond: &Cond, truth: bool) -> bool {
        let f = self.f;
        implies(f, cond, truth, Reading::Proves, 0, &mut |leaf, truth, _| {
            self.gates_read(leaf, truth)
        })
    }

    /// A single test that proves a read public (`doc.isPublic`,
    /// `doc.visibility === "public"`) or the caller's (`doc.userId === userId`).
    fn gates_read(&mut self, leaf: &Cond, truth: bool) -> bool {
        let f = self.f;
        match leaf {
            Cond::Truthy(v) => truth && f[*v].prop.as_deref().is_some_and(convex::is_public_flag),
            Cond::Eq { l, r, negated } => {
                let (l, r) = (&f[*l], &f[*r]);
                let equal = truth != *negated;
                // `doc.visibility === "public"` / `doc.visibility !== "private"`
                let visibility =
                    |v: &Val| v.prop.as_deref().is_some_and(convex::is_visibility_field);
                let literal = |v: &Val| matches!(v.head, Head::Lit) && v.refs.is_empty();
                if (visibility(l) && literal(r)) || (visibility(r) && literal(l)) {
                    let text = l.lit.as_deref().or(r.lit.as_deref()).unwrap_or("");
                    return convex::visibility_is_public(text) == Some(equal);
                }
                // `doc.userId === userId`: the caller's own document.
                equal
                    && ((self.is_caller(l, false, 0) && !literal(r) && !r.refs.is_empty())
                        || (self.is_caller(r, false, 0) && !literal(l) && !l.refs.is_empty()))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lower::lower_module;
    use crate::model::project::Module;

    /// A body that spends its budget is recorded, and what is left unwalked
    /// is not followed: the secret is not found through its names.
    #[test]
    fn a_spent_budget_is_reported_and_proves_nothing() -> Result<(), String> {
        let src = "function f() { const a = process.env.KEY; const b = a; const c = b; return c; }";
        let parsed = crate::parse::parse(src, false).map_err(|_| "no parse".to_string())?;
        let project = Project::new(vec![Module {
            id: "m".into(),
            display: "m.ts".into(),
            facts: lower_module(&parsed.module),
        }]);
        let an = Analysis::new(&project);
        let body = an.body(0, 0).ok_or("no body")?;
        let returned = |body: &FnBody| {
            let mut returns = Vec::new();
            if let Some(tree) = &body.body {
                collect_returns(body, tree, &mut returns);
            }
            returns
                .first()
                .map(|v| (*v).clone())
                .ok_or("no return".to_string())
        };
        let c = returned(body)?;

        let mut eval = FnEval::new(&an, 0, body);
        assert!(eval.is_secret(&c, 0), "followed to the env var");
        assert!(an.overruns().is_empty());

        let mut eval = FnEval::new(&an, 0, body);
        eval.budget = 1;
        assert!(!eval.is_secret(&c, 0), "not followed past the budget");
        let names: Vec<String> = an.overruns().iter().map(|(_, n)| n.to_string()).collect();
        assert_eq!(names, ["f"]);
        Ok(())
    }
}
