//! `missing-arg-validators`: a public function that declares no `args`
//! validator, so the server accepts whatever a caller sends.

use crate::declare_rule;
use crate::finding::Label;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    MissingArgValidators,
    "missing-arg-validators",
    Error,
    "Public function has no `args` validator"
);

impl Rule for MissingArgValidators {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for f in cx.functions {
            // HTTP actions take a Request, not validated arguments.
            if !f.client_callable() {
                continue;
            }
            if cx.analysis.args(f).is_some() {
                continue;
            }
            // A handler that declares no arguments parameter reads none: whatever a
            // caller sends is ignored (ESLint's `ignoreUnusedArguments`).
            let reads_args = f
                .handler()
                .and_then(|(m, ix)| cx.analysis.body(m, ix))
                .is_none_or(|b| b.arity >= 2);
            if !reads_args {
                continue;
            }
            let message = format!(
                "public {} `{}` has no `args` validator, so it accepts any arguments from any caller",
                f.kind, f.id(cx.analysis.project)
            );
            let labels = vec![Label {
                span: f.builder_span(cx.analysis.project),
                message: "declared without `args`".into(),
            }];
            let help = "declare `args: { ... }` with a validator for each argument (`args: {}` if it takes none), using the object form `{ args, handler }`";
            cx.report_function(f, message, labels, help);
        }
    }
}
