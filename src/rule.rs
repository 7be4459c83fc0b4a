//! The rule interface, rule metadata, and the registry.

use serde::Serialize;

use crate::finding::{Finding, Label};
use crate::model::{Analysis, ConvexFn, ModIx, Project, Sp};

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
    /// Runs after suppressions are applied (it sees which went unused), on
    /// the module facts only: function bodies are freed by then.
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
    pub index: &'a FnIndex,
    /// The modules in scope.
    pub modules: std::ops::Range<ModIx>,
}

/// The Convex function of each handler body: the list's positions with a
/// handler, sorted by it and searched by bisection. A hash map of them was
/// 6.5 MB at 10,000 files; lookups are few.
pub struct FnIndex {
    by_handler: Vec<u32>,
}

impl FnIndex {
    pub fn new(functions: &[ConvexFn]) -> Self {
        let at = |i: u32| functions.get(i as usize);
        let n = u32::try_from(functions.len()).unwrap_or(u32::MAX);
        let mut by_handler: Vec<u32> = (0..n)
            .filter(|&i| at(i).is_some_and(|f| f.handler.is_some()))
            .collect();
        // Stable: a handler shared by two functions finds the first.
        by_handler.sort_by_key(|&i| at(i).and_then(|f| f.handler));
        FnIndex { by_handler }
    }

    fn handler(&self, all: &[ConvexFn], h: (ModIx, u32)) -> Option<usize> {
        let key = |i: &u32| all.get(*i as usize).and_then(|f| f.handler);
        let at = self.by_handler.partition_point(|i| key(i) < Some(h));
        let i = *self.by_handler.get(at)?;
        (key(&i) == Some(h)).then_some(i as usize)
    }
}

/// The first function with this id (`module:name`) in a list ordered by
/// module: the module is found by name, then the name within its run. No
/// index is kept (a map of every id was 12 MB at 10,000 files).
fn by_id(all: &[ConvexFn], project: &Project, id: &str) -> Option<usize> {
    // A module name may itself hold a `:`; try each split.
    id.match_indices(':').find_map(|(at, _)| {
        let m = project.module_ix(id.get(..at)?)?;
        let lo = all.partition_point(|f| f.module < m);
        let hi = all.partition_point(|f| f.module <= m);
        (lo..hi).find(|&i| all.get(i).is_some_and(|f| &*f.id == id))
    })
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
        let i = by_id(self.scope.all, self.analysis.project, id)?;
        self.scope.all.get(i)
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
        let i = self.scope.index.handler(self.scope.all, (m, ix))?;
        self.scope.all.get(i)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{lower::lower_module, Module};

    fn module(id: &str, src: &str) -> Result<Module, String> {
        let parsed = crate::parse::parse(src, false).map_err(|e| e.message)?;
        Ok(Module {
            id: id.into(),
            display: format!("{id}.ts").into(),
            facts: lower_module(&parsed.module),
        })
    }

    const TWO: &str = r#"
import { query, mutation } from "./_generated/server";
const shared = async () => 1;
export const list = query({ args: {}, handler: async () => 2 });
export const get = query({ args: {}, handler: shared });
export const alsoGet = mutation({ args: {}, handler: shared });
"#;

    /// Ids are found through their module, including a module name with a
    /// `:` in it; a handler shared by two functions finds the first.
    #[test]
    fn functions_are_found_by_id_and_by_handler() -> Result<(), String> {
        let project = Project::new(vec![module("a", TWO)?, module("b:c", TWO)?]);
        let analysis = Analysis::new(&project);
        let all = analysis.functions_in(0..project.modules.len());
        let ids: Vec<&str> = all.iter().map(|f| &*f.id).collect();
        assert_eq!(
            ids,
            [
                "a:list",
                "a:get",
                "a:alsoGet",
                "b:c:list",
                "b:c:get",
                "b:c:alsoGet"
            ]
        );
        for (i, f) in all.iter().enumerate() {
            assert_eq!(by_id(&all, &project, &f.id), Some(i), "{}", f.id);
        }
        assert_eq!(by_id(&all, &project, "a:missing"), None);
        assert_eq!(by_id(&all, &project, "b:list"), None);
        assert_eq!(by_id(&all, &project, "nocolon"), None);

        let index = FnIndex::new(&all);
        let found: Vec<Option<usize>> = all
            .iter()
            .map(|f| f.handler.and_then(|h| index.handler(&all, h)))
            .collect();
        // `get` and `alsoGet` share a handler: both find `get`.
        assert_eq!(
            found,
            [Some(0), Some(1), Some(1), Some(3), Some(4), Some(4)]
        );
        assert_eq!(index.handler(&all, (7, 0)), None);
        Ok(())
    }
}
