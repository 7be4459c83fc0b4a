//! What leaks to where: env var contents and raw error detail reaching a
//! caller, a log or an HTTP response.

use super::*;

/// Raw error detail (a caught error, an external response body) sent back.
#[derive(Debug, Clone)]
pub struct DetailLeak {
    pub span: Sp,
    /// "the caught error", "the external response body".
    pub what: &'static str,
    /// "is returned to the caller", ...
    pub sink: &'static str,
}

/// An env var's content reaching somewhere it leaks.
#[derive(Debug, Clone)]
pub struct EnvLeak {
    pub span: Sp,
    pub var: Atom,
    /// "is returned to the caller", "is logged", ...
    pub sink: &'static str,
}

/// Returns and calls, each with whether it is on a failure path: a `catch`,
/// or a branch where a response is not ok (`if (!res.ok)`, `res.status >= 400`).
pub(super) fn walk_failure<'n>(
    f: &'n FnBody,
    node: &Node,
    failing: bool,
    returns: &mut Vec<(&'n Val, bool)>,
    calls: &mut Vec<(CallIx, bool)>,
) {
    match node {
        Node::Seq(nodes) => {
            for n in &f[*nodes] {
                walk_failure(f, n, failing, returns, calls);
            }
        }
        Node::If(i) => {
            let If { cond, then, els } = &f[*i];
            let cond = &f[*cond];
            walk_failure(
                f,
                then,
                failing || means_failure(f, cond, true),
                returns,
                calls,
            );
            walk_failure(
                f,
                els,
                failing || means_failure(f, cond, false),
                returns,
                calls,
            );
        }
        Node::Call(ix) => calls.push((*ix, failing)),
        Node::Return(Some(v)) => returns.push((&f[*v], failing)),
        Node::Loop(b) => walk_failure(f, &Node::Seq(*b), failing, returns, calls),
        Node::Nested(b) => {
            // Callbacks' returns are not the function's.
            let mut ignored = Vec::new();
            walk_failure(f, &Node::Seq(*b), failing, &mut ignored, calls);
        }
        Node::Try(t) => {
            let t = &f[*t];
            walk_failure(f, &t.body, failing, returns, calls);
            // A catch block runs because something failed.
            if let Some(h) = &t.handler {
                walk_failure(f, h, true, returns, calls);
            }
            if let Some(fin) = &t.finalizer {
                walk_failure(f, fin, failing, returns, calls);
            }
        }
        Node::Return(None) | Node::Throw => {}
    }
}

/// Might the branch where `cond` is `truth` be one where a response failed?
/// `Suggests`, not `Proves`: a branch that may be the failing one counts, so
/// raw detail sent from `if (!res.ok || data.error)` is reported.
pub(super) fn means_failure(f: &FnBody, cond: &Cond, truth: bool) -> bool {
    let is = |v: ValIx, field: fn(&str) -> bool| f[v].prop.as_deref().is_some_and(field);
    let (ok, status) = (
        convex::is_response_ok_field,
        convex::is_response_status_field,
    );
    implies(
        f,
        cond,
        truth,
        Reading::Suggests,
        0,
        &mut |leaf, truth, _| match leaf {
            Cond::Truthy(v) => !truth && is(*v, ok),
            // `res.status !== 200`: the branch where the status differs.
            Cond::Eq { l, r, negated } => truth == *negated && (is(*l, status) || is(*r, status)),
            // `res.status >= 400`
            Cond::Compare(l, r) => truth && (is(*l, status) || is(*r, status)),
            _ => false,
        },
    )
}

/// Calls whose arguments end up in front of someone: logs, errors, responses.
pub(super) fn leak_sink(f: &FnBody, call: &CallSite) -> Option<&'static str> {
    let (root, path) = written(f, call)?;
    convex::leak_sink(root, path, call.is_new)
}

impl<'p> Analysis<'p> {
    /// Caught errors and external response bodies that reach the caller.
    pub fn detail_leaks(&self, m: ModIx, ix: FnIx, returns_to_client: bool) -> Vec<DetailLeak> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).detail_leaks(returns_to_client),
            None => Vec::new(),
        }
    }

    /// Env var contents that leak from a body (`returns_to_client`: it is a
    /// public function's handler, so its return value reaches the caller).
    pub fn env_leaks(&self, m: ModIx, ix: FnIx, returns_to_client: bool) -> Vec<EnvLeak> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).env_leaks(returns_to_client),
            None => Vec::new(),
        }
    }
}

/// What `FnEval::carries` follows through a value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Carry {
    Env,
    Detail,
}

/// What a value was found to carry: an env var's content, or raw detail.
#[derive(Clone)]
pub(super) enum Carried {
    Env(Atom),
    Detail(&'static str),
}

impl<'a, 'p> FnEval<'a, 'p> {
    /// The env var whose content this value carries, if any: directly, through
    /// local names, or returned by a helper.
    pub(super) fn carries_env(&mut self, flow: &Flow, head: &Head, depth: u32) -> Option<Atom> {
        match self.carries(flow, head, Carry::Env, depth)? {
            Carried::Env(var) => Some(var),
            Carried::Detail(_) => None,
        }
    }

    /// What raw detail a value carries: a caught error, or an external
    /// response's body (`await res.text()` where `res` came from `fetch`).
    pub(super) fn carries_detail(
        &mut self,
        flow: &Flow,
        head: &Head,
        depth: u32,
    ) -> Option<&'static str> {
        match self.carries(flow, head, Carry::Detail, depth)? {
            Carried::Detail(what) => Some(what),
            Carried::Env(_) => None,
        }
    }

    fn carries(&mut self, flow: &Flow, head: &Head, what: Carry, depth: u32) -> Option<Carried> {
        if let (Carry::Env, Some(env)) = (what, &flow.env) {
            return Some(Carried::Env(env.clone()));
        }
        if depth > 8 {
            return None;
        }
        let head_call = match head {
            Head::Call(ix) => Some(*ix),
            _ => None,
        };
        let f = self.f;
        for ix in f[flow.calls].iter().copied().chain(head_call) {
            let found = match what {
                Carry::Env => self.fx(ix).env.clone().map(Carried::Env),
                Carry::Detail => self
                    .is_response_body(ix)
                    .then_some(Carried::Detail("the external response body")),
            };
            if found.is_some() {
                return found;
            }
        }
        for n in &f[flow.names] {
            if what == Carry::Detail && f.catch_params.contains(n) {
                return Some(Carried::Detail("the caught error"));
            }
            if let Some(found) = self.name_carries(n, what, depth + 1) {
                return Some(found);
            }
        }
        None
    }

    /// What some binding of `name` carries, at this depth. Memoised like
    /// `some_binding`: `e = e + x` in k branches is k bindings of one name.
    fn name_carries(&mut self, name: &Atom, what: Carry, depth: u32) -> Option<Carried> {
        let key = (name.clone(), what, depth);
        if let Some(known) = self.carry_memo.get(&key) {
            return known.clone();
        }
        if !self.spend() {
            return None;
        }
        let f = self.f;
        let found = f
            .bindings
            .iter()
            .filter(|(n, _)| n == name)
            .find_map(|(_, b)| self.carries(&b.flow, &b.head, what, depth));
        self.carry_memo.insert(key, found.clone());
        found
    }

    /// `res.text()` on a `fetch` response: the raw body. (A parsed `res.json()`
    /// is usually the very data the action exists to return.)
    pub(super) fn is_response_body(&self, ix: CallIx) -> bool {
        let Some(call) = self.f.call(ix) else {
            return false;
        };
        let from_fetch = |c: Option<&CallSite>| {
            c.is_some_and(|c| matches!(&c.callee, Callee::Name(n) if convex::is_fetch(n)))
        };
        match &call.callee {
            Callee::Member(root, path) if matches!(&self.f[*path], [m] if convex::is_raw_body_method(m)) => {
                self.f.bindings.iter().any(|(n, b)| {
                    n == root && matches!(b.head, Head::Call(c) if from_fetch(self.f.call(c)))
                })
            }
            Callee::Method(base, path) if matches!(&self.f[*path], [m] if convex::is_raw_body_method(m)) => {
                from_fetch(self.f.call(*base))
            }
            _ => false,
        }
    }

    pub(super) fn detail_leaks(&mut self, returns_to_client: bool) -> Vec<DetailLeak> {
        let mut returns = Vec::new();
        let mut calls = Vec::new();
        if let Some(body) = &self.f.body {
            walk_failure(self.f, body, false, &mut returns, &mut calls);
        }
        let mut out = Vec::new();
        for (ix, failing) in calls {
            let Some(call) = self.f.call(ix) else {
                continue;
            };
            let Some(sink) = written(self.f, call)
                .and_then(|(root, path)| convex::detail_sink(root, path, call.is_new))
            else {
                continue;
            };
            if let Some(what) = self.carries_detail(&call.arg_flow, &Head::Other, 0) {
                // A response body is error detail only on a failure path.
                if failing || what == "the caught error" {
                    out.push(DetailLeak {
                        span: call.span,
                        what,
                        sink,
                    });
                }
            }
        }
        if returns_to_client {
            for (v, failing) in returns {
                if let Some(what) = self.carries_detail(&v.flow, &v.head, 0) {
                    if failing || what == "the caught error" {
                        out.push(DetailLeak {
                            span: v.span,
                            what,
                            sink: "is returned to the caller",
                        });
                    }
                }
            }
        }
        out
    }

    /// Env content reaching logs, errors, responses, and (for a public
    /// function's handler) its return value.
    pub(super) fn env_leaks(&mut self, returns_to_client: bool) -> Vec<EnvLeak> {
        let mut out = Vec::new();
        for ix in 0..self.f.calls.len() as CallIx {
            let Some(call) = self.f.call(ix) else {
                continue;
            };
            let Some(sink) = leak_sink(self.f, call) else {
                continue;
            };
            if let Some(var) = self.carries_env(&call.arg_flow, &Head::Other, 0) {
                out.push(EnvLeak {
                    span: call.span,
                    var,
                    sink,
                });
            }
        }
        if returns_to_client {
            let mut returns = Vec::new();
            if let Some(body) = &self.f.body {
                collect_returns(self.f, body, &mut returns);
            }
            for v in returns {
                if let Some(var) = self.carries_env(&v.flow, &v.head, 0) {
                    out.push(EnvLeak {
                        span: v.span,
                        var,
                        sink: "is returned to the caller",
                    });
                }
            }
        }
        out
    }
}
