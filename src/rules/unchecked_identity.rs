//! `unchecked-identity`: an identity or user id is fetched and then used (or
//! dropped) without handling the null an anonymous caller gets.

use crate::declare_rule;
use crate::finding::Label;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    UncheckedIdentity,
    "unchecked-identity",
    Error,
    "Identity or user id is fetched but its null case is never handled"
);

impl Rule for UncheckedIdentity {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for (m, _) in cx.modules() {
            for ix in 0..cx.analysis.body_count(m) {
                for u in cx.analysis.unchecked(m, ix).iter() {
                    let function = cx.function_of(m, ix);
                    let source = &u.source;
                    let (message, mut labels) = if u.discarded {
                        (
                            format!("the result of `{source}` is discarded, so it checks nothing"),
                            Vec::new(),
                        )
                    } else {
                        let what = match &u.name {
                            Some(n) => format!("`{n}` from `{source}`"),
                            None => format!("the result of `{source}`"),
                        };
                        (
                            format!("{what} is used without checking for null, so anonymous callers get through"),
                            Vec::new(),
                        )
                    };
                    if let Some(d) = u.deref {
                        labels.push(Label {
                            span: d,
                            message: "used here as if it were never null".into(),
                        });
                    }
                    let help = if u.discarded {
                        format!("keep the result and reject anonymous callers: `const identity = await {source}; if (!identity) throw new ConvexError(\"Not authenticated\")`")
                    } else {
                        "throw (or return early) when it is null before using it: `if (!identity) throw new ConvexError(\"Not authenticated\")`".to_string()
                    };
                    cx.report(m, u.span, message, labels, function, help);
                }
            }
        }
    }
}
