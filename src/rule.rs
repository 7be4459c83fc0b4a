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
    /// `rules/<id>.md`, embedded: a rule without a doc does not compile. It
    /// does not repeat the severity, which is written once, here.
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
                // The severity is the rule's, not written again in its doc.
                out.push_str(&format!(
                    "\n\nSeverity: {} (change it under [rules] in convex-audit.toml)",
                    self.severity.as_str()
                ));
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

    /// The doc's first paragraph of prose (after the title), joined into one line.
    pub fn description(&self) -> String {
        let mut para: Vec<&str> = Vec::new();
        for line in self.doc.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
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

/// What a rule sees of the project beyond its scope.
pub struct Scope<'a> {
    /// Every Convex function.
    pub all: &'a Functions,
    /// The modules in scope.
    pub modules: std::ops::Range<ModIx>,
}

/// Every Convex function of the project, in one list per run of `per`
/// modules (the engine's scopes), each ordered by module. Kept as the lists
/// the scopes built, in parallel, rather than copied into one: the copy was
/// the size of the lists again at the peak.
pub struct Functions {
    lists: Vec<Vec<ConvexFn>>,
    per: usize,
    /// The functions with a handler, as (list, position), sorted by handler
    /// and searched by bisection. A hash map of them was 6.5 MB at 10,000
    /// files; lookups are few.
    by_handler: Vec<(u32, u32)>,
}

impl Functions {
    /// `lists[k]` holds what modules `k * per ..` define, in module order,
    /// except that a route's function belongs to its handler's module,
    /// which may be another list's: those move there. The result is the
    /// order one list stably sorted by module would have.
    pub fn new(mut lists: Vec<Vec<ConvexFn>>, per: usize) -> Self {
        let per = per.max(1);
        let home = |f: &ConvexFn| f.module() / per;
        let mut moved: Vec<(usize, usize, ConvexFn)> = Vec::new();
        for (k, list) in lists.iter_mut().enumerate() {
            if list.iter().all(|f| home(f) == k) {
                continue;
            }
            for f in std::mem::take(list) {
                if home(&f) == k {
                    list.push(f);
                } else {
                    moved.push((home(&f), k, f));
                }
            }
        }
        // Stable: in each list, the functions from lists before it, its
        // own, then those from lists after it, each in their order.
        moved.sort_by_key(|(to, from, _)| (*to, *from));
        let mut moved = moved.into_iter().peekable();
        while let Some((to, _, _)) = moved.peek() {
            let to = *to;
            if lists.len() <= to {
                lists.resize_with(to + 1, Vec::new);
            }
            let Some(list) = lists.get_mut(to) else {
                break;
            };
            let own = std::mem::take(list);
            let mut after = Vec::new();
            while let Some((_, from, f)) = moved.next_if(|(t, _, _)| *t == to) {
                if from < to {
                    list.push(f);
                } else {
                    after.push(f);
                }
            }
            list.extend(own);
            list.extend(after);
        }
        // A route in a list's own range may still be out of module order.
        for list in &mut lists {
            if !list.is_sorted_by_key(|f| f.module()) {
                list.sort_by_key(|f| f.module());
            }
        }
        let mut by_handler: Vec<(u32, u32)> = Vec::new();
        for (k, list) in lists.iter().enumerate() {
            for (i, f) in list.iter().enumerate() {
                if f.handler().is_some() {
                    by_handler.push((k as u32, i as u32));
                }
            }
        }
        let mut functions = Functions {
            lists,
            per,
            by_handler: Vec::new(),
        };
        // Stable: a handler shared by two functions finds the first.
        by_handler.sort_by_key(|&at| functions.at(at).and_then(|f| f.handler()));
        functions.by_handler = by_handler;
        functions
    }

    pub fn len(&self) -> usize {
        self.lists.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.iter().all(Vec::is_empty)
    }

    /// The functions of list `k` (scope `k`'s modules).
    pub fn list(&self, k: usize) -> &[ConvexFn] {
        self.lists.get(k).map_or(&[], Vec::as_slice)
    }

    fn at(&self, (k, i): (u32, u32)) -> Option<&ConvexFn> {
        self.lists.get(k as usize)?.get(i as usize)
    }

    /// The Convex function whose handler is this body: the first, if several.
    pub fn by_handler(&self, h: (ModIx, u32)) -> Option<&ConvexFn> {
        let key = |at: &(u32, u32)| self.at(*at).and_then(|f| f.handler());
        let at = self.by_handler.partition_point(|i| key(i) < Some(h));
        let found = self.by_handler.get(at)?;
        (key(found) == Some(h)).then(|| self.at(*found)).flatten()
    }

    /// The first function with this id (`module:name`): the module is found
    /// by name, then the name within its run of its list. No index is kept
    /// (a map of every id was 12 MB at 10,000 files).
    pub fn by_id(&self, project: &Project, id: &str) -> Option<&ConvexFn> {
        // A module name may itself hold a `:`; try each split.
        id.match_indices(':').find_map(|(at, _)| {
            let m = project.module_ix(id.get(..at)?)?;
            let name = id.get(at + 1..)?;
            let list = self.list(m / self.per);
            let lo = list.partition_point(|f| f.module() < m);
            list.get(lo..)?
                .iter()
                .take_while(|f| f.module() == m)
                .find(|f| f.name == name)
        })
    }
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
        self.scope.all.by_id(self.analysis.project, id)
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
        function: Option<&ConvexFn>,
        help: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        let help = help.into();
        let function = function.map(crate::finding::FnName::of);
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

    /// Reports a function itself: at its exported name (or route), in its module.
    pub fn report_function(
        &mut self,
        f: &ConvexFn,
        message: String,
        labels: Vec<Label>,
        help: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        let span = f.name_span(self.analysis.project);
        self.report(f.module(), span, message, labels, Some(f), help);
    }

    /// Like `report`, for findings whose code must not be echoed (secrets).
    pub fn report_sensitive(
        &mut self,
        module: ModIx,
        span: Sp,
        message: String,
        help: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        self.report(module, span, message, Vec::new(), None, help);
        if let Some(f) = self.findings.last_mut() {
            f.sensitive = true;
        }
    }

    /// The Convex function whose handler is this body, if any.
    pub fn function_of(&self, m: ModIx, ix: u32) -> Option<&'a ConvexFn> {
        self.scope.all.by_handler((m, ix))
    }
}

/// Every rule, sorted by id.
pub fn registry() -> Vec<Box<dyn Rule>> {
    crate::rules::all()
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

    const HOOK: &str = r#"
import { query, httpAction } from "./_generated/server";
export const list = query({ args: {}, handler: async () => 1 });
export const hook = httpAction(async () => new Response("ok"));
"#;

    const ROUTES: &str = r#"
import { httpRouter } from "convex/server";
import { hook } from "./hooks";
const http = httpRouter();
http.route({ path: "/hook", method: "POST", handler: hook });
export default http;
"#;

    /// Every function's id, in the lists' order.
    fn ids(functions: &Functions, project: &Project) -> Vec<String> {
        let all = functions.lists.iter().flatten();
        all.map(|f| f.id(project).to_string()).collect()
    }

    /// Ids are found through their module, including a module name with a
    /// `:` in it; a handler shared by two functions finds the first. The
    /// same with a list per module and one list for all.
    #[test]
    fn functions_are_found_by_id_and_by_handler() -> Result<(), String> {
        let project = Project::new(vec![module("a", TWO)?, module("b:c", TWO)?]);
        let analysis = Analysis::new(&project);
        for per in [1, 8] {
            let lists = (0..project.modules.len())
                .step_by(per)
                .map(|m| analysis.functions_in(m..(m + per).min(project.modules.len())))
                .collect();
            let functions = Functions::new(lists, per);
            assert_eq!(
                ids(&functions, &project),
                [
                    "a:list",
                    "a:get",
                    "a:alsoGet",
                    "b:c:list",
                    "b:c:get",
                    "b:c:alsoGet"
                ]
            );
            for id in ids(&functions, &project) {
                let found = functions
                    .by_id(&project, &id)
                    .map(|f| f.id(&project).to_string());
                assert_eq!(found.as_deref(), Some(id.as_str()));
            }
            assert!(functions.by_id(&project, "a:missing").is_none());
            assert!(functions.by_id(&project, "b:list").is_none());
            assert!(functions.by_id(&project, "nocolon").is_none());
            let found: Vec<Option<String>> = functions
                .lists
                .iter()
                .flatten()
                .map(|f| {
                    let h = f.handler()?;
                    functions.by_handler(h).map(|g| g.id(&project).to_string())
                })
                .collect();
            // `get` and `alsoGet` share a handler: both find `get`.
            let expect = ["a:list", "a:get", "a:get", "b:c:list", "b:c:get", "b:c:get"];
            assert_eq!(found, expect.map(|id| Some(id.to_string())));
            assert!(functions.by_handler((7, 0)).is_none());
        }
        Ok(())
    }

    /// A route's function belongs to its handler's module: it moves to that
    /// module's list, where one list stably sorted by module would put it
    /// (before the module's own functions when its router sorts first, after
    /// them otherwise).
    #[test]
    fn routed_functions_join_their_handlers_module() -> Result<(), String> {
        let cases = [
            ("0http", ["hooks:hook", "hooks:list"]),
            ("zhttp", ["hooks:list", "hooks:hook"]),
        ];
        for (router, order) in cases {
            let project = Project::new(vec![module("hooks", HOOK)?, module(router, ROUTES)?]);
            let analysis = Analysis::new(&project);
            let hooks = project.module_ix("hooks").ok_or("hooks")?;
            let per_module: Vec<Vec<ConvexFn>> = (0..project.modules.len())
                .map(|m| analysis.functions_in(m..m + 1))
                .collect();
            // What one list sorted by module gives.
            let mut one: Vec<ConvexFn> = per_module.iter().flatten().cloned().collect();
            one.sort_by_key(|f| f.module());
            let expect: Vec<String> = one.iter().map(|f| f.id(&project).to_string()).collect();
            let functions = Functions::new(per_module, 1);
            assert_eq!(ids(&functions, &project), expect, "router {router}");
            assert_eq!(ids(&functions, &project), order, "router {router}");
            assert_eq!(functions.list(hooks).len(), 2, "router {router}");
            assert!(functions.list(1 - hooks).is_empty(), "router {router}");
            let route = functions.list(hooks).iter().find(|f| f.route.is_some());
            assert_eq!(route.map(|f| f.module()), Some(hooks), "router {router}");
        }
        Ok(())
    }
}
