//! files -> parallel read, parse and lower -> project -> rules -> sorted report.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use swc_atoms::Atom;

use crate::config::{Config, Level};
use crate::finding::{FileError, Finding, Located};
use crate::model::facts::FileFacts;
use crate::model::ir::fitted;
use crate::model::{lower, secrets, Analysis, ConvexFn, Module, Project};
use crate::model::{ModIx, Sp};
use crate::parse::{self, line_col};
use crate::rule::{self, Context};
use crate::suppress;
use crate::walk::{self, SourceFile, Target};

const WORKER_STACK: usize = 512 * 1024 * 1024;

#[derive(Debug, Default, Clone)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    /// `--config`: this file instead of the nearest `convex-audit.toml`.
    pub config: Option<PathBuf>,
    /// 0: rayon's default (all cores).
    pub threads: usize,
    /// The caller exits right after (the CLI): leave the project model to the
    /// OS instead of freeing its many small allocations one by one, which
    /// costs about a tenth of a run on large projects.
    pub fast_exit: bool,
    /// Keep the text of files with findings in the report (for rendering
    /// source snippets); other formats do not need it.
    pub keep_sources: bool,
    /// Returns the calling thread's freed memory to the OS; run in every
    /// worker once the bodies are freed (`crate::mimalloc_collect` in the
    /// CLI). mimalloc holds a freed block for the thread that made it, and
    /// the workers are idle while findings are placed and printed, so what
    /// they freed would otherwise stay resident until the end.
    pub release_memory: Option<fn()>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Located>,
    pub errors: Vec<FileError>,
    pub files_checked: usize,
    pub functions: usize,
    pub elapsed: Duration,
    /// Text of the files with findings, for rendering snippets.
    pub sources: BTreeMap<PathBuf, String>,
    /// With `--baseline`: recorded findings that are gone.
    pub baseline_fixed: Option<usize>,
}

/// The check could not start: a path is missing, or no functions folder.
#[derive(Debug)]
pub struct UsageError(pub String);

/// The projects to check and the worker pool, as `check` and the floor share them.
fn start(opts: &Options) -> Result<(Vec<Target>, rayon::ThreadPool), UsageError> {
    let targets = walk::targets(&opts.paths)
        .map_err(|e| UsageError(format!("{}: {}", e.path.display(), e.message)))?;
    // swc parses and drops trees recursively: give workers room for deeply
    // nested input (the memory is reserved, and only touched when needed).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .stack_size(WORKER_STACK)
        .build()
        .map_err(|e| UsageError(format!("cannot start worker threads: {e}")))?;
    Ok((targets, pool))
}

pub fn check(opts: &Options) -> Result<Report, UsageError> {
    let start_time = Instant::now();
    let (targets, pool) = start(opts)?;
    let mut report = Report::default();
    for target in &targets {
        let config =
            Config::load(opts.config.as_deref(), &target.root).map_err(|e| UsageError(e.0))?;
        pool.install(|| check_target(target, &config, opts, &mut report));
    }
    sort_findings(&mut report.findings);
    report.findings.dedup_by(|a, b| {
        a.file == b.file && a.span == b.span && a.rule == b.rule && a.message == b.message
    });
    report
        .errors
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    report.elapsed = start_time.elapsed();
    Ok(report)
}

/// Sorts by file, position, rule and message, stably. The positions are
/// sorted and the findings moved into place by swaps: a stable sort of the
/// findings themselves takes scratch space as large as the list (4.6 MB for
/// 21,000 findings, at the end of the run).
fn sort_findings(findings: &mut [Located]) {
    let Ok(len) = u32::try_from(findings.len()) else {
        findings.sort_by(report_order);
        return;
    };
    let mut order: Vec<u32> = (0..len).collect();
    order.sort_by(
        |&a, &b| match (findings.get(a as usize), findings.get(b as usize)) {
            (Some(a), Some(b)) => report_order(a, b),
            _ => std::cmp::Ordering::Equal,
        },
    );
    // Each cycle of the permutation in turn; a visited slot is `u32::MAX`.
    for start in 0..order.len() {
        let mut at = start;
        while let Some(from) = order.get_mut(at).map(|o| std::mem::replace(o, u32::MAX)) {
            if from == u32::MAX || from as usize == start {
                break;
            }
            findings.swap(at, from as usize);
            at = from as usize;
        }
    }
}

/// By file, position, rule and message.
fn report_order(a: &Located, b: &Located) -> std::cmp::Ordering {
    (&a.file, a.line, a.column, a.rule, &a.message)
        .cmp(&(&b.file, b.line, b.column, b.rule, &b.message))
}

/// What the parse-only floor did: for the benchmark.
#[derive(Debug, Default, Clone, Copy)]
pub struct FloorTally {
    pub files: usize,
    pub bytes: usize,
    pub failed: usize,
}

/// The least work `check` must do, on its own code path: find the targets,
/// walk them, then read and parse every file on the same worker pool, and
/// drop the trees. The benchmark measures `check` against this.
pub fn parse_only(opts: &Options) -> Result<FloorTally, UsageError> {
    let (targets, pool) = start(opts)?;
    let mut tally = FloorTally::default();
    for target in &targets {
        let (files, _) = walk::files(&target.root);
        let per_file: Vec<(usize, bool)> = pool.install(|| {
            files
                .par_iter()
                .map(|f| match std::fs::read(&f.path).map(String::from_utf8) {
                    Ok(Ok(src)) => (src.len(), parse::parse(&src, f.tsx).is_ok()),
                    _ => (0, false),
                })
                .collect()
        });
        tally.files += files.len();
        for (bytes, ok) in per_file {
            tally.bytes += bytes;
            tally.failed += usize::from(!ok);
        }
    }
    Ok(tally)
}

// Outcomes are built once per file and moved straight into the module list:
// boxing the facts would add an allocation per file to save a copy.
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Facts(FileFacts),
    Error(FileError),
}

/// What one rule scope yields: its findings, the rules that crashed in it,
/// and the bodies whose analysis spent its budget.
type ScopeOutcome = (Vec<Finding>, Vec<&'static str>, Vec<(ModIx, Atom)>);

fn check_target(target: &Target, config: &Config, opts: &Options, report: &mut Report) {
    let (mut files, walk_errors) = walk::files(&target.root);
    files.retain(|f| config.includes(&f.rel));
    if files.is_empty() && walk_errors.is_empty() && target.only.is_none() {
        report.errors.push(FileError {
            file: target.root.clone(),
            message: "no TypeScript or JavaScript files to check here".into(),
            line: None,
            column: None,
        });
    }
    for e in walk_errors {
        report.errors.push(FileError {
            file: e.path,
            message: e.message,
            line: None,
            column: None,
        });
    }
    let max_size = config.max_file_size;
    let outcomes: Vec<Outcome> = files
        .par_iter()
        .map(|f| analyse_file(f, max_size))
        .collect();
    report.files_checked += files.len();
    let mut modules = Vec::with_capacity(files.len());
    for (file, outcome) in files.into_iter().zip(outcomes) {
        match outcome {
            Outcome::Facts(facts) => modules.push(Module {
                id: file.module,
                display: file.path,
                facts,
            }),
            Outcome::Error(e) => report.errors.push(e),
        }
    }
    let mut project = Project::with_aliases(modules, walk::path_aliases(&target.root));
    // Found in parallel, a list per scope (as the rule scopes below), each
    // scope with its own memo of builder summaries.
    let scopes = scopes(project.modules.len());
    let mut overruns = Vec::new();
    let lists: Vec<Vec<ConvexFn>> = scopes
        .par_iter()
        .map(|mods| {
            let analysis = Analysis::with_known(&project, config.known.clone());
            let found = analysis.functions_in(mods.clone());
            (found.clone(), analysis.overruns())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(found, over)| {
            overruns.extend(over);
            // Copied to a block of its length once the analysis is freed, for
            // the reason the findings are below.
            found
        })
        .collect();
    let functions = rule::Functions::new(lists, SCOPE_MODULES);
    report.functions += functions.len();
    let rules: Vec<_> = rule::registry()
        .into_iter()
        .filter(|r| config.level(r.meta().id) != Some(Level::Off))
        .collect();
    let (early, late): (Vec<_>, Vec<_>) = rules.into_iter().partition(|r| !r.late());
    let read_elsewhere = project.read_elsewhere();
    // Rules run per scope, scopes in parallel, each with its own memo of
    // helper summaries. Scopes are cut by module count, never by thread
    // count, so the findings are the same at any -j.
    let per_scope: Vec<ScopeOutcome> = scopes
        .par_iter()
        .enumerate()
        .map(|(k, mods)| {
            let analysis = Analysis::with_known(&project, config.known.clone());
            let mut out = Vec::new();
            let mut crashed = Vec::new();
            for rule in &early {
                let scope = rule::Scope {
                    all: &functions,
                    modules: mods.clone(),
                };
                // A bug in one rule must not take the others down with it.
                let mut found = Vec::new();
                let ran = catch_unwind(AssertUnwindSafe(|| {
                    let mut cx =
                        Context::new(&analysis, functions.list(k), scope, rule.meta(), &mut found);
                    rule.run(&mut cx);
                }));
                match ran {
                    Ok(()) => out.extend(found),
                    Err(_) => crashed.push(rule.meta().id),
                }
            }
            // Bodies no other scope reads are freed as soon as this one is done.
            for m in mods.clone() {
                if !read_elsewhere.get(m).copied().unwrap_or(true) {
                    if let Some(module) = project.module(m) {
                        module.facts.bodies.free();
                    }
                }
            }
            // Held until every scope is done, so copied to fresh blocks of
            // their lengths once the scope's analysis is freed: made while it
            // allocated, the findings' texts would pin its freed pages for the
            // rest of the run.
            let over = analysis.overruns();
            drop(analysis);
            let kept = out.clone();
            drop(out);
            (kept, crashed, over)
        })
        .collect();
    project.drop_bodies();
    // This runs on a worker too (`check` installs the pool): one call each.
    if let Some(release) = opts.release_memory {
        rayon::broadcast(|_| release());
    }
    let analysis = Analysis::with_known(&project, config.known.clone());
    // Functions declared public on purpose, with a reason, in the config.
    let intended = |f: &Finding| {
        matches!(f.rule, "missing-auth" | "should-be-internal")
            && f.function
                .as_ref()
                .is_some_and(|n| config.intended_public(&n.render(&project)))
    };
    // Kept per scope, not merged into one list: placing them groups them by file anyway.
    let mut findings: Vec<Vec<Finding>> = Vec::with_capacity(per_scope.len());
    let mut crashed: Vec<&str> = Vec::new();
    for (mut found, failed, over) in per_scope {
        found.retain(|f| !intended(f));
        findings.push(found);
        crashed.extend(failed);
        overruns.extend(over);
    }
    overruns.sort_unstable();
    overruns.dedup();
    for (m, name) in overruns {
        let Some(module) = project.module(m) else {
            continue;
        };
        report.errors.push(FileError {
            file: module.display.clone(),
            message: format!(
                "the analysis of `{name}` stopped at its step budget (please report this \
                 code shape): checks past that point are not credited and values are not \
                 followed further, so findings that depend on it may be spurious or missing"
            ),
            line: None,
            column: None,
        });
    }
    crashed.sort_unstable();
    crashed.dedup();
    for id in crashed {
        report.errors.push(FileError {
            file: target.root.clone(),
            message: format!(
                "internal error in rule `{id}` (please report it): its findings here are incomplete"
            ),
            line: None,
            column: None,
        });
    }
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut located = locate(&project, findings, &mut texts, opts.keep_sources);
    // Suppressions apply to rule findings; what they leave unused is a finding too.
    let unused = suppress::apply(&project, &mut located);
    let mut late_findings: Vec<Finding> = Vec::new();
    for rule in late {
        for (k, mods) in scopes.iter().enumerate() {
            let scope = rule::Scope {
                all: &functions,
                modules: mods.clone(),
            };
            // `unused` is in module order: the scope's entries are one slice.
            let lo = unused.partition_point(|(m, _)| *m < mods.start);
            let hi = unused.partition_point(|(m, _)| *m < mods.end);
            let in_scope = unused.get(lo..hi).unwrap_or_default();
            let mut cx = Context::new(
                &analysis,
                functions.list(k),
                scope,
                rule.meta(),
                &mut late_findings,
            );
            cx.set_unused_suppressions(in_scope);
            rule.run(&mut cx);
        }
    }
    let late_located = locate(&project, vec![late_findings], &mut texts, opts.keep_sources);
    let reported = |(_, mut f): (ModIx, Located)| {
        if let Some(Level::On(severity)) = config.level(f.rule) {
            f.severity = severity;
        }
        let wanted = target
            .only
            .as_ref()
            .is_none_or(|only| only.contains(&f.file));
        wanted.then_some(f)
    };
    // Collected in place, into `located`'s own block, and the late ones
    // appended to an exact fit: pushed one by one, the report's list grew by
    // doubling beside it.
    let mut kept: Vec<Located> = located.into_iter().filter_map(reported).collect();
    let late_kept: Vec<Located> = late_located.into_iter().filter_map(reported).collect();
    kept.reserve_exact(late_kept.len());
    kept.extend(late_kept);
    if report.findings.is_empty() {
        report.findings = kept;
    } else {
        report.findings.extend(kept);
    }
    if opts.keep_sources {
        report.sources.extend(texts);
    }
    if opts.fast_exit {
        std::mem::forget(analysis);
        std::mem::forget(project);
    }
}

/// Modules per scope: enough work to amortise a scope's own summaries of the
/// helpers it shares with others, small enough to spread over the threads.
const SCOPE_MODULES: usize = 8;

/// The modules of each scope, in order.
fn scopes(modules: usize) -> Vec<std::ops::Range<ModIx>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < modules.max(1) {
        let end = (start + SCOPE_MODULES).min(modules);
        out.push(start..end);
        start = end.max(start + 1);
    }
    out
}

/// Read, parse and lower one file; a panic is caught and reported for the file.
/// The file's bytes, or None when it is larger than `max` (checked on the
/// open handle, before reading).
fn read_limited(path: &std::path::Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len > max {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take`: a file that grows while we read still stops at the limit.
    f.by_ref().take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

fn analyse_file(file: &SourceFile, max_size: u64) -> Outcome {
    let error = |message: String, pos: Option<(usize, usize)>| {
        Outcome::Error(FileError {
            file: file.path.clone(),
            message,
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
        })
    };
    let bytes = match read_limited(&file.path, max_size) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return error(
                format!(
                    "larger than {max_size} bytes: not analysed (generated or bundled code? exclude it, or raise max_file_size in convex-audit.toml)"
                ),
                None,
            )
        }
        Err(e) => return error(format!("cannot read: {}", walk::io_message(&e)), None),
    };
    let src = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let bytes = e.as_bytes();
            let message = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
                "UTF-16 encoded: save it as UTF-8 (as Convex's bundler expects)"
            } else {
                "not valid UTF-8 (a binary file, or another encoding): cannot be parsed as TypeScript"
            };
            let at = line_col(
                &String::from_utf8_lossy(bytes),
                e.utf8_error().valid_up_to() as u32,
            );
            return error(message.into(), Some(at));
        }
    };
    let result = catch_unwind(AssertUnwindSafe(|| match parse::parse(&src, file.tsx) {
        Ok(parsed) => {
            let mut facts = lower::lower_module(&parsed.module);
            facts.secrets = secrets::collect(&parsed.module);
            facts.directives = directives(&src, parsed.directives);
            facts.secrets = fitted(&mut facts.secrets);
            facts.directives = fitted(&mut facts.directives);
            Ok(facts)
        }
        Err(e) => Err(e),
    }));
    match result {
        Ok(Ok(facts)) => match facts.too_deep {
            Some(at) => error(
                format!(
                    "nested more than {} levels deep: not analysed",
                    crate::nesting::LIMIT
                ),
                Some(line_col(&src, at)),
            ),
            None => Outcome::Facts(facts),
        },
        Ok(Err(e)) => error(e.message, Some(line_col(&src, e.offset))),
        Err(_) => error(
            "internal error while analysing this file (please report it)".into(),
            None,
        ),
    }
}

/// Suppression comments with their lines.
fn directives(src: &str, comments: Vec<((u32, u32), String)>) -> Vec<suppress::Directive> {
    comments
        .into_iter()
        .filter_map(|((lo, hi), text)| {
            let (kind, rules, reason) = suppress::parse(&text)?;
            Some(suppress::Directive {
                kind,
                rules,
                reason,
                span: Sp { lo, hi },
                line: line_col(src, lo).0,
                end_line: line_col(src, hi).0,
            })
        })
        .collect()
}

/// Turns model findings (lists in order) into file positions, reading each
/// file once; files are read, indexed and hashed in parallel, and the order
/// is kept (module, then the lists' order).
fn locate(
    project: &Project,
    findings: Vec<Vec<Finding>>,
    texts: &mut BTreeMap<PathBuf, String>,
    keep: bool,
) -> Vec<(ModIx, Located)> {
    let mut by_module: BTreeMap<ModIx, Vec<Finding>> = BTreeMap::new();
    for list in findings {
        for f in list {
            by_module.entry(f.module).or_default().push(f);
        }
    }
    let groups: Vec<Vec<Finding>> = by_module.into_values().collect();
    let known: &BTreeMap<PathBuf, String> = texts;
    let done: Vec<FileLocated> = groups
        .into_par_iter()
        .map(|group| locate_file(project, group, known, keep))
        .collect();
    let mut out = Vec::with_capacity(done.iter().map(|(l, _)| l.len()).sum());
    for (located, text) in done {
        if let (true, Some(text), Some((_, first))) = (keep, text, located.first()) {
            texts.insert(first.file.clone(), text);
        }
        out.extend(located);
    }
    out
}

/// One file's placed findings, and its text when it was read here and is kept.
type FileLocated = (Vec<(ModIx, Located)>, Option<String>);

/// One file's findings; the text comes back when it was read here and is kept.
fn locate_file(
    project: &Project,
    group: Vec<Finding>,
    known: &BTreeMap<PathBuf, String>,
    keep: bool,
) -> FileLocated {
    let Some(m) = group.first().map(|f| f.module) else {
        return (Vec::new(), None);
    };
    let Some(module) = project.module(m) else {
        return (Vec::new(), None);
    };
    let file = &module.display;
    let read = match known.get(file) {
        Some(_) => None,
        None => match std::fs::read_to_string(file) {
            Ok(t) => Some(t),
            Err(_) => return (Vec::new(), None),
        },
    };
    let Some(text) = read.as_deref().or(known.get(file).map(String::as_str)) else {
        return (Vec::new(), None);
    };
    let index = parse::Lines::new(text);
    let out = group
        .into_iter()
        .map(|f| {
            let (line, column) = index.line_col(text, f.span.lo);
            let (end_line, end_column) = index.line_col(text, f.span.hi);
            let code = text
                .get(f.span.lo as usize..f.span.hi as usize)
                .unwrap_or("");
            let code_hash = crate::baseline::code_hash(code, &f.message);
            let label_at = f
                .labels
                .iter()
                .map(|l| {
                    let (a, b) = index.line_col(text, l.span.lo);
                    let (c, d) = index.line_col(text, l.span.hi);
                    (a, b, c, d)
                })
                .collect();
            (
                f.module,
                Located {
                    rule: f.rule,
                    severity: f.severity,
                    message: f.message,
                    file: file.clone(),
                    line,
                    column,
                    end_line,
                    end_column,
                    function: f.function.map(|n| n.render(project)),
                    help: f.help,
                    span: f.span,
                    labels: f.labels,
                    sensitive: f.sensitive,
                    code_hash,
                    label_at,
                },
            )
        })
        .collect();
    // Unless kept, each text is dropped here: only the files being placed are held.
    (out, read.filter(|_| keep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Severity;

    /// The swaps put the findings where a stable sort of them would.
    #[test]
    fn findings_sort_as_a_stable_sort_would() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed % n
        };
        let findings: Vec<Located> = (0..300)
            .map(|i| Located {
                rule: if next(2) == 0 {
                    "missing-auth"
                } else {
                    "env-leak"
                },
                severity: Severity::Warning,
                message: format!("m{}", next(3)),
                file: PathBuf::from(format!("f{}.ts", next(4))),
                line: next(5) as usize,
                column: next(2) as usize,
                end_line: 0,
                end_column: 0,
                // Tells apart findings the sort key does not.
                function: Some(i.to_string()),
                help: "".into(),
                span: Default::default(),
                labels: Vec::new(),
                sensitive: false,
                code_hash: 0,
                label_at: Vec::new(),
            })
            .collect();
        let mut expected = findings.clone();
        expected.sort_by(report_order);
        let mut sorted = findings;
        sort_findings(&mut sorted);
        let functions = |v: &[Located]| v.iter().map(|f| f.function.clone()).collect::<Vec<_>>();
        assert_eq!(functions(&sorted), functions(&expected));
    }

    #[test]
    fn scopes_cover_every_module_once() {
        assert_eq!(scopes(20), vec![0..8, 8..16, 16..20]);
        assert_eq!(scopes(16), vec![0..8, 8..16]);
        assert_eq!(scopes(0), vec![0..0]);
        assert_eq!(scopes(3), vec![0..3]);
    }
}
