//! `invalid-suppression`: a suppression comment without a reason, or naming a
//! rule that does not exist.

use crate::declare_rule;
use crate::rule::{closest, registry, Context, Meta, Rule};

declare_rule!(
    InvalidSuppression,
    "invalid-suppression",
    Warning,
    "Suppression comment without a reason, or naming an unknown rule"
);

impl Rule for InvalidSuppression {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        let ids: Vec<&'static str> = registry().iter().map(|r| r.meta().id).collect();
        for (m, module) in cx.modules() {
            for d in &module.facts.directives {
                let directive = d.kind.as_str();
                for rule in &d.rules {
                    if ids.contains(&rule.as_str()) {
                        continue;
                    }
                    let hint = closest(rule, &ids)
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default();
                    cx.report(
                        m,
                        d.span,
                        format!("`{directive}` names an unknown rule `{rule}`{hint}"),
                        Vec::new(),
                        None,
                        "name rules by their ids, as `convex-audit rules` lists them",
                    );
                }
                if d.reason.is_none() && d.kind != crate::suppress::Kind::Enable {
                    cx.report(
                        m,
                        d.span,
                        format!("`{directive}` gives no reason"),
                        Vec::new(),
                        None,
                        format!("say why after ` -- `: `// {directive} missing-auth -- public landing page data`"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_the_nearest_id() {
        let ids = ["missing-auth", "env-leak"];
        assert_eq!(
            crate::rule::closest("missing-auht", &ids),
            Some("missing-auth")
        );
        assert_eq!(crate::rule::closest("something-else", &ids), None);
    }
}
