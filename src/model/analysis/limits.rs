//! Rate limits: a library limiter, a hand-written one, and the first effect
//! a caller can repeat before any limit.

use super::*;

/// A rate limiter's call: with `throws: true` (awaited) it limits; otherwise
/// its verdict must be acted on.
pub(super) fn lib_limiter_fx(call: &CallSite, fx: &mut CallFx) {
    if call.throws_true && call.awaited {
        fx.limits = true;
    } else {
        fx.limit_result = true;
    }
}

/// Calling a project function that rate-limits.
pub(super) fn limiter_fx(s: &Summary, call: &CallSite, fx: &mut CallFx) {
    let settled = call.awaited || !s.is_async;
    if s.limits && settled {
        fx.limits = true;
    } else if s.rate_limiter {
        if s.throws && settled {
            fx.limits = true;
        } else {
            fx.limit_result = true;
        }
    }
}

impl<'p> Analysis<'p> {
    /// The first side effect of a handler reachable before any rate limit.
    pub fn unlimited_effect(&self, m: ModIx, ix: FnIx) -> Option<Event> {
        self.endpoint(m, ix, false).unlimited_effect.clone()
    }
}

impl<'a, 'p> FnEval<'a, 'p> {
    /// Does the branch prove a rate-limit verdict was "allowed" (`if (!ok) throw`)?
    pub(super) fn implies_limited(&mut self, cond: &Cond, truth: bool) -> bool {
        let f = self.f;
        implies(
            f,
            cond,
            truth,
            Reading::Proves,
            0,
            &mut |leaf, truth, _| match leaf {
                Cond::Truthy(v) => truth && self.is_limit_result(&f[*v]),
                _ => false,
            },
        )
    }

    /// `ok`, `status.ok`, `rateCheck.allowed`: a limiter's verdict.
    pub(super) fn is_limit_result(&mut self, v: &Val) -> bool {
        self.result_of(v, |fx| fx.limit_result)
    }

    /// A body that compares a count read from the database with a limit and
    /// records the request: the hand-written rate limiter of the audit guide.
    pub(super) fn looks_like_rate_limiter(&mut self) -> bool {
        let f = self.f;
        // Records the request: writes, itself or through a helper.
        let writes = (0..f.calls.len() as CallIx).any(|ix| self.fx(ix).writes_db);
        if !writes {
            return false;
        }
        let conds = body_conds(f);
        let mut compares = Vec::new();
        for c in &conds {
            collect_compares(f, c, &mut compares);
        }
        // Compares something read from the database (a count, a window row).
        let mut read_names: Vec<Atom> = Vec::new();
        for (n, v) in &f.bindings {
            if let Head::Call(ix) = v.head {
                if self.is_db_read_chain(ix) || self.fx(ix).reads_db {
                    read_names.push(n.clone());
                }
            }
        }
        compares.iter().any(|(l, r)| {
            f[l.refs]
                .iter()
                .chain(&f[r.refs])
                .any(|n| read_names.contains(n))
        })
    }
}
