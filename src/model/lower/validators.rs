//! `args` validators: each argument's validator, and the `v.any()` inside them.

use super::*;

/// The validators of an `args` object: each argument's kind, and `v.any()`s.
pub(super) fn args_of(pool: &mut ArgPool, e: &Expr, key_span: Sp) -> Args {
    let mut args = pool.start(key_span);
    let Expr::Object(obj) = peel(e) else {
        return args;
    };
    for prop in &obj.props {
        let PropOrSpread::Prop(prop) = prop else {
            continue;
        };
        let Prop::KeyValue(kv) = &**prop else {
            continue;
        };
        let Some(name) = prop_name(&kv.key) else {
            continue;
        };
        let mut loose = Vec::new();
        collect_any(&kv.value, &mut loose, 0);
        pool.loose
            .extend(loose.into_iter().map(|s| (name.clone(), s)));
        if let Some(v) = validator_of(&kv.value, 0) {
            pool.validators.push((name, v, sp(kv.span())));
        }
    }
    pool.end(&mut args);
    args
}

/// `v.id("t")`, `v.optional(v.id("t"))`, `v.string()`; None for other kinds.
pub(super) fn validator_of(e: &Expr, depth: u32) -> Option<Validator> {
    let Expr::Call(c) = peel(e) else {
        return None;
    };
    let Callee::Expr(callee) = &c.callee else {
        return None;
    };
    let (_, path) = member_path(callee)?;
    let first = c.args.first().map(|a| peel(&a.expr));
    match path.last().map(|s| s.as_str()) {
        Some("id") => match first {
            Some(Expr::Lit(Lit::Str(s))) => Some(Validator::Id(str_value(s))),
            _ => None,
        },
        Some("string") => Some(Validator::String),
        Some("optional") if depth < 8 => validator_of(first?, depth + 1),
        _ => None,
    }
}

/// Spans of every `v.any()` inside a validator expression.
pub(super) fn collect_any(e: &Expr, out: &mut Vec<Sp>, depth: u32) {
    if depth > 32 {
        return;
    }
    match peel(e) {
        Expr::Call(c) => {
            if let Callee::Expr(callee) = &c.callee {
                if let Some((root, path)) = member_path(callee) {
                    if root == "v" && path.len() == 1 && path.first().is_some_and(|p| p == "any") {
                        out.push(sp(c.span));
                        return;
                    }
                }
            }
            for a in &c.args {
                collect_any(&a.expr, out, depth + 1);
            }
        }
        Expr::Object(o) => {
            for p in &o.props {
                if let PropOrSpread::Prop(p) = p {
                    if let Prop::KeyValue(kv) = &**p {
                        collect_any(&kv.value, out, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}
