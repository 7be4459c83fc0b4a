//! `server-calls-public-function`: server code (`ctx.runQuery`, the scheduler,
//! crons) calling a function through `api.…`, which forces it to be public.

use crate::declare_rule;
use crate::finding::Label;
use crate::model::ir::{Callee, FnArg};
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    ServerCallsPublicFunction,
    "server-calls-public-function",
    Warning,
    "Server code calls a public function through `api` instead of an internal one"
);

impl Rule for ServerCallsPublicFunction {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for (m, module) in cx.modules() {
            for ix in 0..cx.analysis.body_count(m) {
                let Some(body) = cx.analysis.body(m, ix) else {
                    continue;
                };
                for call in &body.calls {
                    let Callee::Ctx(path) = &call.callee else {
                        continue;
                    };
                    let Some(target) = call.fn_arg.as_ref().filter(|t| t.public) else {
                        continue;
                    };
                    let Some(how) = server_call(&body[*path]) else {
                        continue;
                    };
                    let caller = cx.function_of(m, ix);
                    // `ctx.runQuery(api.users.current)` runs the target as the same
                    // caller; a target that checks that caller is client-facing anyway
                    // and exposes nothing new. Scheduled work has no caller: always report.
                    let runs_as_caller = path.len() == 1;
                    if runs_as_caller
                        && cx
                            .function_by_id(&target_id(target))
                            .is_some_and(|t| cx.analysis.checks_caller(t))
                    {
                        continue;
                    }
                    report(cx, m, target, format!("`{how}`"), call.callee_span, caller);
                }
            }
            for cron in &module.facts.crons {
                if cron.target.public {
                    let how = format!("the cron job `crons.{}`", cron.method);
                    report(cx, m, &cron.target, how, cron.target.span, None);
                }
            }
        }
    }
}

/// `api.admin.users.remove` -> `admin/users:remove`.
fn target_id(target: &FnArg) -> String {
    let dotted: Vec<&str> = target.path.iter().map(|s| s.as_str()).collect();
    match dotted.split_last() {
        Some((name, module)) => format!("{}:{}", module.join("/"), name),
        None => String::new(),
    }
}

/// `runQuery`, `scheduler.runAfter`, ...: calls made by the server.
fn server_call(path: &[swc_atoms::Atom]) -> Option<String> {
    match path {
        [p] if matches!(p.as_str(), "runQuery" | "runMutation" | "runAction") => {
            Some(format!("ctx.{p}"))
        }
        [s, p] if s == "scheduler" && matches!(p.as_str(), "runAfter" | "runAt") => {
            Some(format!("ctx.scheduler.{p}"))
        }
        _ => None,
    }
}

fn report(
    cx: &mut Context<'_, '_>,
    m: usize,
    target: &FnArg,
    how: String,
    how_span: crate::model::Sp,
    function: Option<&crate::model::ConvexFn>,
) {
    let dotted: Vec<&str> = target.path.iter().map(|s| s.as_str()).collect();
    let id = target_id(target);
    let message = format!(
        "{how} calls `api.{}`, so `{id}` must stay public for server code to reach it",
        dotted.join(".")
    );
    let mut labels = Vec::new();
    if how_span != target.span {
        labels.push(Label {
            span: how_span,
            message: "a call made by the server".into(),
        });
    }
    let help = format!(
        "make `{id}` an internal function (`internalQuery`/`internalMutation`/`internalAction`) and call it as `internal.{}`",
        dotted.join(".")
    );
    cx.report(m, target.span, message, labels, function, help);
}
