//! `hardcoded-secret`: a secret written into Convex code instead of an
//! environment variable.

use crate::declare_rule;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    HardcodedSecret,
    "hardcoded-secret",
    Error,
    "Secret key or token written as a string literal in Convex code"
);

impl Rule for HardcodedSecret {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for (m, module) in cx.modules() {
            // Keys in test modules (`x.test.ts`, `test.helpers.ts`) are test keys.
            if is_test_module(&module.id) {
                continue;
            }
            for s in &module.facts.secrets {
                let message = match &s.name {
                    Some(name) => format!(
                        "`{name}` is set to a hardcoded secret-like string `{}`",
                        s.redacted
                    ),
                    None => format!("hardcoded {} `{}`", s.kind, s.redacted),
                };
                let help = "move it to an environment variable (`npx convex env set NAME value`), read it with `process.env.NAME`, and rotate the exposed key";
                cx.report_sensitive(m, s.span, message, help);
            }
        }
    }
}

/// `notes.test`, `auth.spec`, `test.helpers`: a dot-separated `test`/`spec` part.
fn is_test_module(id: &str) -> bool {
    let file = id.rsplit('/').next().unwrap_or(id);
    file.split('.').count() > 1 && file.split('.').any(|p| p == "test" || p == "spec")
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_modules() {
        assert!(super::is_test_module("auth/test.helpers"));
        assert!(super::is_test_module("notes.test"));
        assert!(!super::is_test_module("testUtils"));
        assert!(!super::is_test_module("latest"));
    }
}
