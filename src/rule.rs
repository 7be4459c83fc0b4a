//! The rule interface, rule metadata, and the registry.

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;

use crate::finding::{Finding, Label};
use crate::model::{Analysis, ConvexFn, ModIx, Sp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

pub struct Meta {
    /// kebab-case, unique; also the doc's file name.
    pub id: &'static str,
    pub severity: Severity,
    /// One line, for `convex-audit rules`.
    pub summary: &'static str,
    /// `rules/<id>.md`, embedded: a rule without a doc does not compile.
    pub doc: &'static str,
}

impl Meta {
    /// The doc with the markdown marks that are noise on a terminal removed:
    /// headings become underlined lines, code blocks are indented.
    pub fn plain_doc(&self) -> String {
        let mut out = String::new();
        let mut in_code = false;
        for line in self.doc.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if in_code {
                out.push_str("    ");
                out.push_str(line);
            } else if let Some(title) = line.strip_prefix("# ") {
                out.push_str(&format!("{title}\n{}", "=".repeat(title.chars().count())));
            } else if let Some(section) = line.strip_prefix("## ") {
                out.push_str(&format!(
                    "{section}\n{}",
                    "-".repeat(section.chars().count())
                ));
            } else {
                out.push_str(&line.replace("**", ""));
            }
            out.push('\n');
        }
        out
    }

    /// The doc's first paragraph of prose (after the title and severity),
    /// joined into one line.
    pub fn description(&self) -> String {
        let mut para: Vec<&str> = Vec::new();
        for line in self.doc.lines().map(str::trim) {
            let skip = line.starts_with('#') || line.starts_with("**Severity");
            if line.is_empty() || skip {
                if !para.is_empty() {
                    break;
                }
                continue;
            }
            para.push(line);
        }
        para.join(" ")
    }

    /// The rule's documentation page.
    pub fn help_uri(&self) -> String {
        format!(
            "{}/blob/main/rules/{}.md",
            env!("CARGO_PKG_REPOSITORY"),
            self.id
        )
    }
}

pub trait Rule: Sync + Send {
    fn meta(&self) -> &'static Meta;
    fn run(&self, cx: &mut Context<'_, '_>);
    /// Runs after suppressions are applied (it sees which went unused).
    fn late(&self) -> bool {
        false
    }
}

/// Declares a rule type with its metadata and embedded doc.
#[macro_export]
macro_rules! declare_rule {
    ($ty:ident, $id:literal, $severity:ident, $summary:literal) => {
        pub struct $ty;
        impl $ty {
            pub const META: $crate::rule::Meta = $crate::rule::Meta {
                id: $id,
                severity: $crate::rule::Severity::$severity,
                summary: $summary,
                doc: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $id, ".md")),
            };
        }
    };
}

/// What a rule sees: the model, the part of the project it is asked about,
/// and a way to report. The context stamps the rule id and severity, so rules
/// cannot get them wrong.
///
/// The engine checks the project in scopes (a run of modules and the Convex
/// functions defined in them), in parallel; a rule reports only within its
/// scope, and may look anything up in the whole project.
pub struct Context<'a, 'p> {
    pub analysis: &'a Analysis<'p>,
    /// The Convex functions in scope.
    pub functions: &'a [ConvexFn],
    scope: Scope<'a>,
    meta: &'static Meta,
    findings: &'a mut Vec<Finding>,
    unused: &'a [(ModIx, usize)],
}

/// The whole project's function tables, shared by every scope.
pub struct Scope<'a> {
    /// Every Convex function, ordered by module.
    pub all: &'a [ConvexFn],
    pub by_handler: &'a HashMap<(ModIx, u32), usize>,
    pub by_id: &'a HashMap<&'a str, usize>,
    /// The modules in scope.
    pub modules: std::ops::Range<ModIx>,
}

/// Which Convex function each handler body belongs to.
pub fn handler_index(functions: &[ConvexFn]) -> HashMap<(ModIx, u32), usize> {
    let mut map = HashMap::default();
    for (i, f) in functions.iter().enumerate() {
        if let Some(h) = f.handler {
            map.entry(h).or_insert(i);
        }
    }
    map
}

/// Convex functions by id (`module:export`).
pub fn id_index(functions: &[ConvexFn]) -> HashMap<&str, usize> {
    let mut map = HashMap::default();
    for (i, f) in functions.iter().enumerate() {
        map.entry(f.id.as_str()).or_insert(i);
    }
    map
}

impl<'a, 'p> Context<'a, 'p> {
    pub fn new(
        analysis: &'a Analysis<'p>,
        functions: &'a [ConvexFn],
        scope: Scope<'a>,
        meta: &'static Meta,
        findings: &'a mut Vec<Finding>,
    ) -> Self {
        Context {
            analysis,
            functions,
            scope,
            meta,
            findings,
            unused: &[],
        }
    }

    /// The modules in scope, with their indices.
    pub fn modules(&self) -> impl Iterator<Item = (ModIx, &'p crate::model::Module)> + 'p {
        let project = self.analysis.project;
        self.scope
            .modules
            .clone()
            .filter_map(move |m| project.module(m).map(|module| (m, module)))
    }

    /// Any Convex function of the project, by id.
    pub fn function_by_id(&self, id: &str) -> Option<&'a ConvexFn> {
        self.scope
            .by_id
            .get(id)
            .and_then(|&i| self.scope.all.get(i))
    }

    /// For late rules: the suppression comments that silenced nothing, as
    /// (module, index into its directives).
    pub fn set_unused_suppressions(&mut self, unused: &'a [(ModIx, usize)]) {
        self.unused = unused;
    }

    pub fn unused_suppressions(&self) -> &'a [(ModIx, usize)] {
        self.unused
    }

    #[allow(clippy::too_many_arguments)]
    pub fn report(
        &mut self,
        module: ModIx,
        span: Sp,
        message: String,
        labels: Vec<Label>,
        function: Option<String>,
        help: String,
    ) {
        self.findings.push(Finding {
            rule: self.meta.id,
            severity: self.meta.severity,
            message,
            help,
            module,
            span,
            labels,
            function,
            sensitive: false,
        });
    }

    /// Like `report`, for findings whose code must not be echoed (secrets).
    pub fn report_sensitive(&mut self, module: ModIx, span: Sp, message: String, help: String) {
        self.report(module, span, message, Vec::new(), None, help);
        if let Some(f) = self.findings.last_mut() {
            f.sensitive = true;
        }
    }

    /// The Convex function whose handler is this body, if any.
    pub fn function_of(&self, m: ModIx, ix: u32) -> Option<&'a ConvexFn> {
        self.scope
            .by_handler
            .get(&(m, ix))
            .and_then(|&i| self.scope.all.get(i))
    }
}

/// Every rule, sorted by id.
pub fn registry() -> Vec<Box<dyn Rule>> {
    use crate::rules::*;
    vec![
        Box::new(client_supplied_user_id::ClientSuppliedUserId),
        Box::new(env_leak::EnvLeak),
        Box::new(error_detail_leak::ErrorDetailLeak),
        Box::new(hardcoded_secret::HardcodedSecret),
        Box::new(invalid_suppression::InvalidSuppression),
        Box::new(loose_arg_validator::LooseArgValidator),
        Box::new(missing_arg_validators::MissingArgValidators),
        Box::new(missing_auth::MissingAuth),
        Box::new(missing_ownership_check::MissingOwnershipCheck),
        Box::new(missing_rate_limit::MissingRateLimit),
        Box::new(server_calls_public_function::ServerCallsPublicFunction),
        Box::new(should_be_internal::ShouldBeInternal),
        Box::new(unchecked_identity::UncheckedIdentity),
        Box::new(unused_suppression::UnusedSuppression),
    ]
}

/// The known id nearest to a misspelt one (edit distance 3 or less).
pub fn closest<'a>(name: &str, ids: &[&'a str]) -> Option<&'a str> {
    ids.iter()
        .map(|id| (distance(name, id), *id))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, id)| id)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}
