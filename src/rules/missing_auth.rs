//! `missing-auth`: a public endpoint that writes, or returns data it read,
//! on a path where nothing has authenticated the caller.

use crate::declare_rule;
use crate::finding::Label;
use crate::model::convex::{Kind, Visibility};
use crate::model::ConvexFn;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    MissingAuth,
    "missing-auth",
    Error,
    "Public function can write or return data without authenticating its caller"
);

impl Rule for MissingAuth {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for f in cx.functions {
            check(cx, f);
        }
    }
}

/// What an unauthenticated caller can do, gravest first.
#[derive(Clone, Copy)]
enum Exposure<'a> {
    Write,
    /// What the service call lets anyone do ("call OpenAI at your expense").
    Service(&'a str),
    Return,
}

fn check(cx: &mut Context<'_, '_>, f: &ConvexFn) {
    if f.visibility != Visibility::Public || f.builder.authenticated || f.builder.row_level_security
    {
        return;
    }
    // A handler the model cannot see (from a package) is not guessed at.
    let Some((hm, hix)) = f.handler() else {
        return;
    };
    let summary = cx.analysis.endpoint(hm, hix, false);
    // A write is the graver exposure, then a paid or sending service, then
    // data returned: report the gravest there is.
    let (event, exposure) = match (
        &summary.unguarded_write,
        &summary.unguarded_service,
        &summary.unguarded_return,
    ) {
        (Some(w), _, _) => (w, Exposure::Write),
        (None, Some(c), _) => (&c.event, Exposure::Service(&c.does)),
        (None, None, Some(r)) => (r, Exposure::Return),
        (None, None, None) => return,
    };
    // A fetched but unchecked identity is reported once, by `unchecked-identity`.
    if !cx.analysis.unchecked(hm, hix).is_empty() {
        return;
    }
    let what = match exposure {
        Exposure::Write => "can write".to_string(),
        Exposure::Service(does) => format!("can {does}"),
        Exposure::Return => "can return data".to_string(),
    };
    let subject = match &f.route {
        Some(route) => format!("HTTP route `{route}`"),
        None => format!("public {} `{}`", f.kind, f.id(cx.analysis.project)),
    };
    let message = format!("{subject} {what} without authenticating the caller");
    let mut labels = vec![Label {
        span: f.builder_span(cx.analysis.project),
        message: format!(
            "`{}` does not authenticate",
            f.builder_name(cx.analysis.project)
        )
        .into(),
    }];
    let evidence = match exposure {
        Exposure::Write | Exposure::Service(_) => format!("reached by anyone: {}", event.what),
        Exposure::Return => format!("read by anyone and returned: {}", event.what),
    };
    if hm == f.module() {
        labels.push(Label {
            span: event.span,
            message: evidence.into(),
        });
    }
    let help = match (f.kind, &f.route) {
        (Kind::HttpAction, _) | (_, Some(_)) => {
            "verify the request first (a webhook signature, or a bearer token compared with a secret) and return a 401 response when it fails".to_string()
        }
        (kind, None) => format!(
            "check `await ctx.auth.getUserIdentity()` and throw when it is null, build it with an authenticating custom builder, or make it `{}` if only the server calls it",
            kind.internal_builder()
        ),
    };
    cx.report_function(f, message, labels, help);
}
