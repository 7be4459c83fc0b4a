//! `error-detail-leak`: a public action or HTTP route hands the caller the raw
//! text of a caught error or of an external service's response.

use crate::declare_rule;
use crate::model::convex::{Kind, Visibility};
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    ErrorDetailLeak,
    "error-detail-leak",
    Warning,
    "Caught error or external response text is sent back to the caller"
);

impl Rule for ErrorDetailLeak {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for f in cx.functions {
            if f.visibility != Visibility::Public {
                continue;
            }
            let is_route = f.route.is_some();
            if !is_route && f.kind != Kind::Action {
                continue;
            }
            let Some((hm, hix)) = f.handler() else {
                continue;
            };
            for leak in cx.analysis.detail_leaks(hm, hix, !is_route) {
                let subject = match &f.route {
                    Some(route) => format!("HTTP route `{route}`"),
                    None => format!("public action `{}`", f.id(cx.analysis.project)),
                };
                let message = format!("in {subject}, {} {}", leak.what, leak.sink);
                let help = "log the detail on the server (`console.error`) and send the caller a fixed, generic message (`throw new ConvexError(\"Payment failed\")`)";
                cx.report(hm, leak.span, message, Vec::new(), Some(f), help);
            }
        }
    }
}
