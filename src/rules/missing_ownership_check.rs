//! `missing-ownership-check`: an authenticated function that reads and returns,
//! or changes, the document whose id the caller supplied, without checking the
//! caller may touch it (an IDOR).

use crate::declare_rule;
use crate::finding::Label;
use crate::model::facts::Validator;
use crate::model::Access;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    MissingOwnershipCheck,
    "missing-ownership-check",
    Error,
    "Document addressed by a client-supplied id is read or changed without an ownership check"
);

impl Rule for MissingOwnershipCheck {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for f in cx.functions {
            if !cx.analysis.decides_access_per_document(f) {
                continue;
            }
            let (Some(args), Some((hm, hix))) = (cx.analysis.args(f), f.handler()) else {
                continue;
            };
            let id_args: Vec<_> = args
                .validators
                .iter()
                .filter_map(|(name, v, span)| match v {
                    Validator::Id(table) => Some((name.clone(), table.clone(), *span)),
                    _ => None,
                })
                .collect();
            if id_args.is_empty() {
                continue;
            }
            let caller_on_ctx = f.builder.authenticated;
            for u in cx.analysis.unowned(hm, hix, &id_args, caller_on_ctx) {
                let (table, op, arg) = (&u.table, &u.op, &u.arg);
                let subject = format!("public {} `{}`", f.kind, f.id(cx.analysis.project));
                let unchecked = "without checking that the caller may access it";
                let message = match &u.access {
                    Access::Changes => format!("{subject} changes the `{table}` document (`{op}`) whose id the caller supplies in `{arg}`, {unchecked}"),
                    Access::Returns => format!("{subject} returns the `{table}` document it reads (`{op}`) whose id the caller supplies in `{arg}`, {unchecked}"),
                    Access::Lists(rows) => format!("{subject} returns rows of `{rows}` (`{op}`) selected by the `{table}` id the caller supplies in `{arg}`, {unchecked}"),
                    Access::Adds(rows) => format!("{subject} records the file whose storage id the caller supplies in `{arg}` in a row of `{rows}` (`{op}`), without checking that the caller uploaded it"),
                };
                let mut labels = Vec::new();
                if hm == f.module() {
                    labels.push(Label {
                        span: u.arg_span,
                        message: "any id a caller chooses".into(),
                    });
                }
                let help = "load the document and compare its owner field with the caller (`if (doc.userId !== user._id) throw ...`), check a membership row keyed by the caller, or query through an index scoped to the caller";
                if hm == f.module() {
                    cx.report(hm, u.span, message, labels, Some(f), help);
                } else {
                    cx.report_function(f, message, labels, help);
                }
            }
        }
    }
}
