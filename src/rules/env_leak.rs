//! `env-leak`: the content of a `process.env` value reaching a return value,
//! an error message, a log line or an HTTP response.

use crate::declare_rule;
use crate::model::convex::{Kind, Visibility};
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    EnvLeak,
    "env-leak",
    Error,
    "Environment variable value reaches a return value, error, log or HTTP response"
);

impl Rule for EnvLeak {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for (m, _) in cx.modules() {
            for ix in 0..cx.analysis.body_count(m) {
                let function = cx.function_of(m, ix);
                // A public function's return value goes to whoever called it.
                let returns_to_client = function.is_some_and(|f| {
                    f.visibility == Visibility::Public
                        && f.route.is_none()
                        && f.kind != Kind::HttpAction
                });
                for leak in cx.analysis.env_leaks(m, ix, returns_to_client) {
                    if is_public_var(&leak.var) {
                        continue;
                    }
                    let var = if leak.var == "process.env" {
                        "`process.env`".to_string()
                    } else {
                        format!("`process.env.{}`", leak.var)
                    };
                    let message = match (leak.sink, function) {
                        ("is returned to the caller", Some(f)) => {
                            format!(
                                "{var} is returned to the caller of public {} `{}`",
                                f.kind,
                                f.id(cx.analysis.project)
                            )
                        }
                        (sink, _) => format!("{var} {sink}"),
                    };
                    let help = "use the value only where it is needed (an outgoing request's headers); return or log at most whether it is set, never its content";
                    cx.report(m, leak.span, message, Vec::new(), function, help);
                }
            }
        }
    }
}

/// Convex's own deployment URLs, variables public by naming convention, and
/// configuration whose name says nothing secret (`SITE_URL`, `DIGEST_INTERVAL`).
/// `process.env` as a whole always counts.
fn is_public_var(name: &str) -> bool {
    if name == "process.env" {
        return false;
    }
    if matches!(name, "CONVEX_SITE_URL" | "CONVEX_CLOUD_URL")
        || ["NEXT_PUBLIC_", "VITE_", "PUBLIC_", "EXPO_PUBLIC_"]
            .iter()
            .any(|p| name.starts_with(p))
    {
        return true;
    }
    let upper = name.to_ascii_uppercase();
    const SECRET_WORDS: &[&str] = &[
        "KEY",
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PRIVATE",
        "CREDENTIAL",
        "AUTH",
        "SIGNING",
        "DSN",
        "DATABASE_URL",
        "CONNECTION",
        "SALT",
        "COOKIE",
        "SESSION",
    ];
    !SECRET_WORDS.iter().any(|w| upper.contains(w))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_names() {
        assert!(!super::is_public_var("OPENAI_API_KEY"));
        assert!(!super::is_public_var("TWILIO_AUTH_TOKEN"));
        assert!(!super::is_public_var("DATABASE_URL"));
        assert!(!super::is_public_var("process.env"));
        assert!(super::is_public_var("SITE_URL"));
        assert!(super::is_public_var("NOVU_DIGEST_INTERVAL"));
        assert!(super::is_public_var("NEXT_PUBLIC_STRIPE_KEY"));
    }
}
