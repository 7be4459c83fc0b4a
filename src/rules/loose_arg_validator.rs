//! `loose-arg-validator`: `v.any()` in a public function's `args`, which
//! validates nothing.

use crate::declare_rule;
use crate::finding::Label;
use crate::model::convex::Visibility;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    LooseArgValidator,
    "loose-arg-validator",
    Warning,
    "Public function accepts `v.any()` arguments"
);

impl Rule for LooseArgValidator {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for f in cx.functions {
            if f.visibility != Visibility::Public {
                continue;
            }
            let Some(args) = cx.analysis.args(f) else {
                continue;
            };
            for (name, span) in args.loose {
                let message = format!(
                    "argument `{name}` of public {} `{}` is `v.any()`: any value a caller sends is accepted",
                    f.kind, f.id(cx.analysis.project)
                );
                let labels = vec![Label {
                    span: f.name_span(cx.analysis.project),
                    message: format!("`{}`", f.id(cx.analysis.project)).into(),
                }];
                let help = "replace `v.any()` with the exact shape (`v.object({ ... })`, `v.union(...)`, `v.id(\"table\")`)";
                cx.report(f.module(), *span, message, labels, Some(f), help);
            }
        }
    }
}
