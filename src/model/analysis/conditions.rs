//! The conditions a body tests: one walk over `!`, `&&` and `||`, and the
//! leaves (truth tests, comparisons) collected from them.

use super::*;

/// A literal that mentions no local name (`"admin"`, `42`).
pub(super) fn is_constant(v: &Val) -> bool {
    matches!(v.head, Head::Lit) && v.refs.is_empty()
}

/// Every condition a body tests (callbacks included): every `if` of the body
/// is in its table and every `return` among its nodes, so no walk is needed
/// (callers only ask whether some condition matches, so order is free).
pub(super) fn body_conds(f: &FnBody) -> Vec<&Cond> {
    let tested = f.ifs.iter().map(|i| &f[i.cond]);
    let returned = f.nodes.iter().chain(&f.body).filter_map(|n| match n {
        Node::Return(Some(v)) => match &f[*v].head {
            Head::Cond(c) => Some(&f[*c]),
            _ => None,
        },
        _ => None,
    });
    tested.chain(returned).collect()
}

/// How far `implies` follows nested `!`, `&&` and `||`.
const MAX_DEPTH: u32 = 32;

/// How `implies` combines what the leaves of `&&` and `||` say.
#[derive(Clone, Copy)]
pub(super) enum Reading {
    /// The branch proves it: every way of taking the branch does (`a && b`
    /// true proves what either proves; `a && b` false, only what both do).
    Proves,
    /// The branch may be one where it holds: a leaf saying so under either
    /// operand is enough. For failure paths, where a branch that might be the
    /// failing one is treated as failing (`if (!res.ok || data.error)`).
    Suggests,
}

/// Does the branch where `cond` is `truth` establish what `leaf` decides for
/// a single test (a truth test, an equality, an ordering)? This is the one
/// walk over `!`, `&&` and `||`; `leaf` is given the depth to recurse with.
pub(super) fn implies(
    f: &FnBody,
    cond: &Cond,
    truth: bool,
    reading: Reading,
    depth: u32,
    leaf: &mut dyn FnMut(&Cond, bool, u32) -> bool,
) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let sub = |c: CondIx, truth: bool, leaf: &mut dyn FnMut(&Cond, bool, u32) -> bool| {
        implies(f, &f[c], truth, reading, depth + 1, leaf)
    };
    match (cond, reading) {
        (Cond::Not(c), _) => sub(*c, !truth, leaf),
        (Cond::And(a, b) | Cond::Or(a, b), Reading::Suggests) => {
            sub(*a, truth, leaf) || sub(*b, truth, leaf)
        }
        // `a && b` true, `a || b` false: both operands hold that way, and
        // either proving it is enough.
        (Cond::And(a, b), Reading::Proves) if truth => sub(*a, true, leaf) || sub(*b, true, leaf),
        (Cond::Or(a, b), Reading::Proves) if !truth => sub(*a, false, leaf) || sub(*b, false, leaf),
        // `a && b` false, `a || b` true: one operand does, unknown which.
        (Cond::And(a, b) | Cond::Or(a, b), Reading::Proves) => {
            sub(*a, truth, leaf) && sub(*b, truth, leaf)
        }
        _ => leaf(cond, truth, depth),
    }
}

/// The tests (`Truthy`, `Eq`, `Compare`, `Unknown`) inside a condition.
fn each_leaf<'c>(f: &'c FnBody, c: &'c Cond, visit: &mut impl FnMut(&'c Cond)) {
    match c {
        Cond::Not(c) => each_leaf(f, &f[*c], visit),
        Cond::And(a, b) | Cond::Or(a, b) => {
            each_leaf(f, &f[*a], visit);
            each_leaf(f, &f[*b], visit);
        }
        _ => visit(c),
    }
}

/// The values tested for truth inside a condition.
pub(super) fn collect_truthy<'c>(f: &'c FnBody, c: &'c Cond, out: &mut Vec<&'c Val>) {
    each_leaf(f, c, &mut |leaf| {
        if let Cond::Truthy(v) = leaf {
            out.push(&f[*v]);
        }
    });
}

/// The orderings (`a < b`) inside a condition.
pub(super) fn collect_compares<'c>(f: &'c FnBody, c: &'c Cond, out: &mut Vec<(&'c Val, &'c Val)>) {
    each_leaf(f, c, &mut |leaf| {
        if let Cond::Compare(l, r) = leaf {
            out.push((&f[*l], &f[*r]));
        }
    });
}

/// The `a === b` comparisons inside a condition.
pub(super) fn collect_eqs<'c>(f: &'c FnBody, c: &'c Cond, out: &mut Vec<(&'c Val, &'c Val)>) {
    each_leaf(f, c, &mut |leaf| {
        if let Cond::Eq { l, r, .. } = leaf {
            out.push((&f[*l], &f[*r]));
        }
    });
}

impl<'a> FnEval<'a, '_> {
    /// `const ok = a === b; if (!ok)`: the condition a name holds.
    pub(super) fn cond_binding(&self, v: &Val) -> Option<&'a Cond> {
        let Head::Name(n) = &v.head else {
            return None;
        };
        if v.refs.len() != 1 {
            return None;
        }
        let f = self.f;
        let (_, b) = f.bindings.iter().rev().find(|(name, _)| name == n)?;
        match &b.head {
            Head::Cond(c) => Some(&f[*c]),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lower::lower_module;

    /// The first function body of `src` and its statement's condition: the
    /// last `if` in its table (a `&&` or `||` inside lowers to an `if` of its
    /// own first).
    fn lowered_if(src: &str) -> Result<(FnBody, CondIx), String> {
        let parsed = crate::parse::parse(src, false).map_err(|_| format!("{src}: no parse"))?;
        let f = lower_module(&parsed.module)
            .bodies
            .get(0)
            .ok_or(format!("{src} did not lower"))?;
        let cond = f
            .ifs
            .last()
            .map(|i| i.cond)
            .ok_or(format!("{src}: no if"))?;
        Ok((f, cond))
    }

    /// `means_failure` reads `&&` and `||` as `Suggests`: a branch that might
    /// be the failing one counts. `Proves` of the same leaves does not.
    #[test]
    fn failure_is_suggested_where_auth_must_be_proved() -> Result<(), String> {
        let cases = [
            (
                "function f(res) { if (!res.ok || res.status === 500) { g(); } }",
                true,
            ),
            (
                "function f(res, data) { if (res.ok && data) { g(); } }",
                false,
            ),
        ];
        for (src, truth) in cases {
            let (f, cond) = lowered_if(src)?;
            let cond = &f[cond];
            assert!(super::super::leaks::means_failure(&f, cond, truth), "{src}");
            let is = |v: ValIx, p: &str| f[v].prop.as_deref() == Some(p);
            let proved = implies(
                &f,
                cond,
                truth,
                Reading::Proves,
                0,
                &mut |leaf, t, _| match leaf {
                    Cond::Truthy(v) => !t && is(*v, "ok"),
                    Cond::Eq { l, r, negated } => {
                        t == *negated && (is(*l, "status") || is(*r, "status"))
                    }
                    _ => false,
                },
            );
            assert!(!proved, "{src}");
        }
        Ok(())
    }

    /// `Proves`: `a && b` true proves what either operand proves, `a || b`
    /// true only what both do; `!` swaps the branch.
    #[test]
    fn proof_follows_and_or_not() -> Result<(), String> {
        let cases = [
            ("function f(a, b) { if (a.ok && b) {} }", true, true),
            ("function f(a, b) { if (a.ok || b) {} }", true, false),
            ("function f(a, b) { if (a.ok || b.ok) {} }", true, true),
            ("function f(a, b) { if (!(!a.ok || b)) {} }", true, true),
            ("function f(a, b) { if (!a.ok) {} }", false, true),
            ("function f(a, b) { if (!a.ok) {} }", true, false),
        ];
        for (src, truth, expected) in cases {
            let (f, cond) = lowered_if(src)?;
            let cond = &f[cond];
            let ok = |leaf: &Cond, t: bool, _| matches!(leaf, Cond::Truthy(v) if t && f[*v].prop.as_deref() == Some("ok"));
            let proved = implies(&f, cond, truth, Reading::Proves, 0, &mut { ok });
            assert_eq!(proved, expected, "{src} ({truth})");
        }
        Ok(())
    }
}
