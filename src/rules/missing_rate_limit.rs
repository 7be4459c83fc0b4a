//! `missing-rate-limit`: a public mutation or action with side effects that
//! anyone (or any account) can repeat as fast as they like.

use crate::declare_rule;
use crate::finding::Label;
use crate::model::convex::{Kind, Visibility};
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    MissingRateLimit,
    "missing-rate-limit",
    Warning,
    "Public mutation or action with side effects has no rate limit"
);

impl Rule for MissingRateLimit {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for f in cx.functions {
            if f.visibility != Visibility::Public || f.route.is_some() {
                continue;
            }
            if !matches!(f.kind, Kind::Mutation | Kind::Action) || f.builder.rate_limited {
                continue;
            }
            let Some((hm, hix)) = f.handler() else {
                continue;
            };
            // Admin tools are not an abuse surface.
            if f.builder.checks_role || cx.analysis.handler_checks_role(hm, hix) {
                continue;
            }
            let Some(effect) = cx.analysis.unlimited_effect(hm, hix) else {
                continue;
            };
            let message = format!(
                "public {} `{}` has side effects and no rate limit: a caller can repeat it as often as they like",
                f.kind, f.id(cx.analysis.project)
            );
            let mut labels = Vec::new();
            if hm == f.module() {
                labels.push(Label {
                    span: effect.span,
                    message: format!("repeatable without limit: {}", effect.what).into(),
                });
            }
            let help = "limit it per user or per key before the side effect: `await rateLimiter.limit(ctx, \"name\", { key: userId, throws: true })` with @convex-dev/rate-limiter, or build it with a rate-limiting custom builder";
            cx.report_function(f, message, labels, help);
        }
    }
}
