//! `unused-suppression`: a suppression comment that silences nothing, so stale
//! ones do not pile up (ruff's RUF100).

use crate::declare_rule;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    UnusedSuppression,
    "unused-suppression",
    Warning,
    "Suppression comment that suppresses no finding"
);

impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn late(&self) -> bool {
        true
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        let project = cx.analysis.project;
        for &(m, i) in cx.unused_suppressions() {
            let Some(d) = project
                .module(m)
                .and_then(|module| module.facts.directives.get(i))
            else {
                continue;
            };
            let what = if d.rules.is_empty() {
                "any rule".to_string()
            } else {
                d.rules
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            cx.report(
                m,
                d.span,
                format!("`{}` for {what} suppresses nothing", d.kind.as_str()),
                Vec::new(),
                None,
                "remove it: the finding it was for is gone (or it is on the wrong line)",
            );
        }
    }
}
