//! Secret-shaped string literals: well-known key formats anywhere, and long
//! random strings assigned to names like `apiKey`. Collected per file, with
//! the value already redacted: the facts never hold a secret whole.

use std::sync::LazyLock;

use regex::RegexSet;
use swc_atoms::Atom;
use swc_ecma_ast::{AssignExpr, AssignTarget, KeyValueProp, Module, Pat, Str, Tpl, VarDeclarator};
use swc_ecma_visit::{Visit, VisitWith};

use super::ir::Sp;
use super::lower::sp;

#[derive(Debug, Clone)]
pub struct SecretLit {
    /// What it looks like: "Stripe or Clerk live secret key".
    pub kind: &'static str,
    /// A few leading characters and the length, never the whole value.
    pub redacted: String,
    /// The name it is assigned to, if that is why it was flagged.
    pub name: Option<String>,
    pub span: Sp,
}

/// Well-known formats, in the order reported.
const FORMATS: &[(&str, &str)] = &[
    (
        "Stripe or Clerk live secret key",
        r"^(sk|rk)_live_[0-9A-Za-z]{20,}$",
    ),
    ("AWS access key id", r"^(AKIA|ASIA)[0-9A-Z]{16}$"),
    (
        "GitHub token",
        r"^(gh[pousr]_[0-9A-Za-z]{36,}|github_pat_[0-9A-Za-z_]{22,})$",
    ),
    ("Slack token", r"^xox[abprs]-[0-9A-Za-z-]{10,}$"),
    ("Anthropic API key", r"^sk-ant-[0-9A-Za-z_-]{20,}$"),
    (
        "OpenAI API key",
        r"^sk-(proj-|svcacct-)?[0-9A-Za-z_-]{20,}$",
    ),
    ("Google API key", r"^AIza[0-9A-Za-z_-]{35}$"),
    ("PEM private key", r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----"),
    (
        "signed JWT",
        r"^eyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{16,}$",
    ),
];

/// Strings shorter than this are not checked: real keys of every format are longer.
const MIN_LEN: usize = 16;

/// How every format's match begins (a PEM header may be anywhere): a string
/// with none of these cannot match. Compiling the set is 1.6 M instructions,
/// a quarter of checking a one-file project, and most projects hold no
/// string that gets past this.
const STARTS: &[&str] = &[
    "sk_live_",
    "rk_live_",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xox",
    "sk-",
    "AIza",
    "eyJ",
];
const PEM_HEADER: &str = "-----BEGIN ";

static FORMAT_SET: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(FORMATS.iter().map(|(_, re)| *re)).ok());

/// Parts of names whose values are secrets (`apiKey`, `client_secret`,
/// `authToken`, `password`), matched in ASCII lower case: a substring test,
/// where a regex cost 1.4 M instructions to compile on first use.
const SECRET_NAME_PARTS: &[&str] = &[
    "secret",
    "apikey",
    "api_key",
    "accesskey",
    "access_key",
    "privatekey",
    "private_key",
    "token",
    "password",
    "passwd",
    "credential",
];

fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| lower.contains(part))
}

pub fn collect(module: &Module) -> Vec<SecretLit> {
    let mut c = Collector {
        name: None,
        out: Vec::new(),
    };
    module.visit_with(&mut c);
    c.out
}

struct Collector {
    /// The name the current value is being assigned to (an atom: most
    /// values are not secrets, and copying every name would cost more).
    name: Option<Atom>,
    out: Vec<SecretLit>,
}

impl Collector {
    fn with_name(&mut self, name: Option<Atom>, f: impl FnOnce(&mut Self)) {
        let saved = std::mem::replace(&mut self.name, name);
        f(self);
        self.name = saved;
    }

    fn check(&mut self, value: &str, span: Sp) {
        // Cheap filters first: every format is 16+ characters with no spaces
        // (a PEM block has spaces only in its header).
        if value.len() < MIN_LEN || (value.contains(' ') && !value.contains("PRIVATE KEY")) {
            return;
        }
        if let Some(kind) = known_format(value) {
            if !is_placeholder(value) {
                self.out.push(SecretLit {
                    kind,
                    redacted: redact(value, kind),
                    name: None,
                    span,
                });
            }
            return;
        }
        let Some(name) = &self.name else {
            return;
        };
        if looks_random(value) && is_secret_name(name) && !is_placeholder(value) {
            self.out.push(SecretLit {
                kind: "high-entropy string",
                redacted: redact(value, ""),
                name: Some(name.to_string()),
                span,
            });
        }
    }
}

impl Visit for Collector {
    fn visit_var_declarator(&mut self, d: &VarDeclarator) {
        let name = match &d.name {
            Pat::Ident(i) => Some(i.id.sym.clone()),
            _ => None,
        };
        self.with_name(name, |c| d.init.visit_with(c));
    }

    fn visit_key_value_prop(&mut self, kv: &KeyValueProp) {
        let name = match &kv.key {
            swc_ecma_ast::PropName::Ident(i) => Some(i.sym.clone()),
            swc_ecma_ast::PropName::Str(s) => Some(Atom::from(s.value.to_string_lossy())),
            _ => None,
        };
        self.with_name(name, |c| kv.value.visit_with(c));
    }

    fn visit_assign_expr(&mut self, a: &AssignExpr) {
        let name = match &a.left {
            AssignTarget::Simple(swc_ecma_ast::SimpleAssignTarget::Ident(i)) => {
                Some(i.id.sym.clone())
            }
            AssignTarget::Simple(swc_ecma_ast::SimpleAssignTarget::Member(m)) => match &m.prop {
                swc_ecma_ast::MemberProp::Ident(p) => Some(p.sym.clone()),
                _ => None,
            },
            _ => None,
        };
        self.with_name(name, |c| a.right.visit_with(c));
    }

    fn visit_str(&mut self, s: &Str) {
        // Most strings are short: skip them before decoding (a lossy decode
        // keeps the byte length, so `check`'s length filter agrees).
        if s.value.as_bytes().len() < MIN_LEN {
            return;
        }
        let value = s.value.to_string_lossy();
        self.check(&value, sp(s.span));
    }

    fn visit_tpl(&mut self, t: &Tpl) {
        for q in &t.quasis {
            if let Some(cooked) = &q.cooked {
                let value = cooked.to_string_lossy();
                self.check(&value, sp(q.span));
            }
        }
        t.visit_children_with(self);
    }
}

fn known_format(value: &str) -> Option<&'static str> {
    if !STARTS.iter().any(|p| value.starts_with(p)) && !value.contains(PEM_HEADER) {
        return None;
    }
    let set = FORMAT_SET.as_ref()?;
    // Almost no string matches: the first-match test is far cheaper than
    // the overlapping search that names the format.
    if !set.is_match(value) {
        return None;
    }
    let first = set.matches(value).into_iter().next()?;
    FORMATS.get(first).map(|(kind, _)| *kind)
}

/// `YOUR_API_KEY`, `sk_live_xxxxxxxx...`, `<token>`, `changeme`.
fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "your",
        "xxxx",
        "example",
        "placeholder",
        "changeme",
        "dummy",
        "sample",
        "replace",
        "<",
        "${",
        "...",
        "fake",
        "redacted",
    ];
    if WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // A long run of one character: `sk_live_0000000000000000`.
    let bytes = value.as_bytes();
    bytes
        .windows(8)
        .any(|w| w.iter().all(|b| Some(b) == w.first()))
}

/// Random-looking: long, no spaces, mixed classes, high Shannon entropy.
fn looks_random(value: &str) -> bool {
    if value.len() < 20 || value.chars().any(char::is_whitespace) {
        return false;
    }
    // Generated keys mix letters and digits; identifiers and words do not.
    let letters = value.chars().any(|c| c.is_ascii_alphabetic());
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if !letters || digits < 2 {
        return false;
    }
    entropy(value) >= 3.5
}

fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        if let Some(c) = counts.get_mut(b as usize) {
            *c += 1;
        }
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// `sk_live_…(107 chars)`: the format's prefix only, or three characters.
fn redact(value: &str, kind: &str) -> String {
    let keep = match kind {
        "PEM private key" => return "-----BEGIN … PRIVATE KEY----- (redacted)".into(),
        "" => 3,
        _ => value.find(['_', '-']).map_or(4, |i| i + 1).min(8),
    };
    let prefix: String = value.chars().take(keep).collect();
    format!("{prefix}…({} chars)", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_placeholders() {
        let stripe = format!("sk_live_{}", "4eC39HqLyjWDarjtT1zdp7dc9x");
        assert_eq!(
            known_format(&stripe),
            Some("Stripe or Clerk live secret key")
        );
        assert_eq!(known_format("sk_test_4eC39HqLyjWDarjtT1zdp7dc"), None);
        assert_eq!(
            known_format("AKIAIOSFODNN7EXAMPLE"),
            Some("AWS access key id")
        );
        assert!(is_placeholder("AKIAIOSFODNN7EXAMPLE"));
        assert!(is_placeholder("YOUR_API_KEY_GOES_HERE"));
        assert!(is_placeholder("sk_live_00000000000000000000"));
        assert!(!redact(&stripe, "Stripe or Clerk live secret key").contains("4eC39"));
        assert!(looks_random("q8Zr2Lx9Vt4Nw7Kp3Jm6Hs1Gd5Fb"));
        assert!(!looks_random("hello-world-this-is-a-test"));
        assert!(!looks_random("refreshTokensByUserAndDevice"));
    }

    /// One value of each format, in `FORMATS`' order: each gets past the
    /// `STARTS` gate to its own format (a new format needs its example here,
    /// and its beginning in `STARTS`).
    #[test]
    fn every_format_passes_the_gate() {
        let examples = [
            "rk_live_4eC39HqLyjWDarjtT1zdp7dc9x",
            "ASIAIOSFODNN7EXAMPL3",
            "github_pat_11ABCDEFG0123456789abcdefghij",
            "xoxb-1234567890-abcdefghij",
            "sk-ant-api03-abcdefghij0123456789",
            "sk-proj-abcdefghij0123456789ABCD",
            "AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "-----BEGIN RSA PRIVATE KEY-----",
            "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.abcdefghij0123456789",
        ];
        assert_eq!(examples.len(), FORMATS.len());
        for (example, (kind, _)) in examples.iter().zip(FORMATS) {
            assert_eq!(known_format(example), Some(*kind), "{example}");
        }
        assert_eq!(
            known_format("ghp_abcdefghij0123456789abcdefghij012345"),
            Some("GitHub token")
        );
    }

    #[test]
    fn secret_names_in_any_case() {
        for name in [
            "apiKey",
            "CLIENT_SECRET",
            "authToken",
            "dbPassword",
            "API_KEY",
            "passwd",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["apiUrl", "keyName", "userId", "passage"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
