//! `should-be-internal`: a public function that checks no caller and whose
//! name, or module, says only the server should call it.

use crate::declare_rule;
use crate::finding::Label;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    ShouldBeInternal,
    "should-be-internal",
    Warning,
    "Unauthenticated public function is named or placed as server-only"
);

impl Rule for ShouldBeInternal {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        for f in cx.functions {
            if !f.client_callable() {
                continue;
            }
            let Some(module) = cx.analysis.project.module(f.module()) else {
                continue;
            };
            let name = f.name();
            let file = module.id.rsplit('/').next().unwrap_or("");
            let why = match (server_only_name(name), server_only_module(file)) {
                (Some(word), _) => format!("its name (`{word}`) marks it as server-only"),
                (None, true) => format!(
                    "it lives in `{}`, a server-only module",
                    module.display.display()
                ),
                (None, false) => continue,
            };
            if cx.analysis.checks_caller(f) {
                continue;
            }
            let internal = f.kind.internal_builder();
            let message = format!(
                "public {} `{}` checks no caller, and {why}",
                f.kind,
                f.id(cx.analysis.project)
            );
            let labels = vec![Label {
                span: f.builder_span(cx.analysis.project),
                message: format!("callable by anyone; `{internal}` would not be").into(),
            }];
            let help = format!(
                "build it with `{internal}` and call it through `internal.{}`",
                f.id(cx.analysis.project)
                    .to_string()
                    .replace([':', '/'], ".")
            );
            cx.report_function(f, message, labels, help);
        }
    }
}

/// A leading `_`, or a word such as `internal`, `cron`, `webhook`, `migrate`.
fn server_only_name(name: &str) -> Option<String> {
    if name.starts_with('_') {
        return Some("_".into());
    }
    if !name.is_ascii() {
        return server_only_word(name);
    }
    // ASCII names (nearly all): the same words, as slices, compared without
    // lower-casing copies of them.
    let mut words = ascii_words(name);
    let first = words.next()?;
    let crud = CRUD.iter().any(|c| first.eq_ignore_ascii_case(c));
    std::iter::once(first)
        .chain(words)
        .find(|w| {
            SERVER_WORDS
                .iter()
                .any(|(s, always)| (*always || !crud) && w.eq_ignore_ascii_case(s))
        })
        .map(str::to_ascii_lowercase)
}

/// The words of an ASCII name, as `words` splits them (in their own case).
fn ascii_words(name: &str) -> impl Iterator<Item = &str> {
    let bytes = name.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let b = bytes.get(i).copied().unwrap_or(b'_');
            let at = i;
            i += 1;
            if b == b'_' || b == b'-' || b.is_ascii_digit() {
                let word = name.get(start..at);
                start = i;
                if let Some(w) = word.filter(|w| !w.is_empty()) {
                    return Some(w);
                }
            } else if b.is_ascii_uppercase() && at > start {
                let word = name.get(start..at);
                start = at;
                if word.is_some() {
                    return word;
                }
            }
        }
        let word = name.get(start..).filter(|w| !w.is_empty());
        start = bytes.len();
        word
    })
}

/// The word of `server_only_name`, by splitting the name into lower-case words.
fn server_only_word(name: &str) -> Option<String> {
    let words = words(name);
    let crud = words.first().is_some_and(|w| CRUD.iter().any(|c| w == c));
    words.into_iter().find(|w| is_server_word(w, crud))
}

/// `getWebhookById`, `listAdminUsers`: a CRUD verb first makes the word the
/// object (a `webhooks` table), not the caller.
const CRUD: &[&str] = &[
    "get", "list", "fetch", "find", "view", "count", "create", "update", "delete", "remove", "set",
    "add", "bump", "ping", "sync", "track", "record", "mark", "peek", "search", "explore", "load",
    "read", "toggle", "rename", "edit",
];

/// Words that mark a function as server-only: always, or unless a CRUD verb
/// comes first.
const SERVER_WORDS: &[(&str, bool)] = &[
    ("internal", true),
    ("migrate", true),
    ("migration", true),
    ("backfill", true),
    ("cron", false),
    ("webhook", false),
    ("seed", false),
    ("admin", false),
];

fn is_server_word(word: &str, crud: bool) -> bool {
    SERVER_WORDS
        .iter()
        .any(|(s, always)| (*always || !crud) && word == *s)
}

/// `testUtils.ts`, `debug*.ts`, `seed*.ts`, `dev*.ts` (not `devices.ts`).
fn server_only_module(file: &str) -> bool {
    if matches!(file, "testUtils" | "test_utils" | "testHelpers" | "testing") {
        return true;
    }
    ["debug", "seed", "dev"].iter().any(|prefix| {
        file.strip_prefix(prefix).is_some_and(|rest| {
            rest.is_empty()
                || rest == "s"
                || rest.starts_with(|c: char| {
                    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-'
                })
        })
    })
}

/// `runBackfillJob` -> run, backfill, job; `seed_users` -> seed, users.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in name.chars() {
        if c == '_' || c == '-' || c.is_ascii_digit() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_modules() {
        assert_eq!(server_only_name("_processPayment").as_deref(), Some("_"));
        assert_eq!(
            server_only_name("runBackfillJob").as_deref(),
            Some("backfill")
        );
        assert_eq!(
            server_only_name("stripeWebhook").as_deref(),
            Some("webhook")
        );
        assert_eq!(server_only_name("listAdmins"), None);
        assert_eq!(server_only_name("getWebhookById"), None);
        assert_eq!(
            server_only_name("handleClerkWebhook").as_deref(),
            Some("webhook")
        );
        assert_eq!(
            server_only_name("updateInternalNotes").as_deref(),
            Some("internal")
        );
        assert_eq!(server_only_name("send"), None);
        assert!(server_only_module("seed"));
        assert!(server_only_module("seedData"));
        assert!(server_only_module("devTools"));
        assert!(server_only_module("testUtils"));
        assert!(!server_only_module("devices"));
        assert!(!server_only_module("seeder"));
        assert!(!server_only_module("debugger"));
    }

    /// The slice-based split of ASCII names gives what the general one gives.
    #[test]
    fn the_ascii_split_agrees_with_the_general_one() {
        let parts = [
            "",
            "x",
            "Cron",
            "CRON",
            "cron",
            "seed",
            "Seed",
            "reseed",
            "admin",
            "ADMIN",
            "Admins",
            "internal",
            "Internal",
            "migrate",
            "Migration",
            "backfill",
            "BackFill",
            "web",
            "Hook",
            "webhook",
            "Webhook",
            "get",
            "list",
            "_",
            "-",
            "1",
            "run",
            "job",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    let name = format!("{a}{b}{c}");
                    if name.starts_with('_') {
                        continue;
                    }
                    assert_eq!(server_only_name(&name), server_only_word(&name), "{name}");
                }
            }
        }
    }
}
