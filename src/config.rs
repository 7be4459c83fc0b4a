//! `convex-audit.toml`: per-rule severity, files to include or exclude, and
//! functions that are public on purpose. Found by walking up from the checked
//! folder, or named with `--config`. Mistakes are errors that name the file
//! and line, with a suggestion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::rule::{closest, registry, Severity};

pub const FILE_NAME: &str = "convex-audit.toml";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    rules: BTreeMap<String, String>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    public: Vec<RawPublic>,
    #[serde(default)]
    auth: RawFunctions,
    #[serde(default)]
    roles: RawFunctions,
    #[serde(default)]
    rate_limit: RawFunctions,
    #[serde(default)]
    ownership: RawOwnership,
    max_file_size: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOwnership {
    /// Field names that hold the owning user's id, beyond the built-in ones.
    #[serde(default)]
    fields: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFunctions {
    #[serde(default)]
    functions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublic {
    function: String,
    reason: Option<String>,
}

/// A rule's configured level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Off,
    On(Severity),
}

#[derive(Debug)]
pub struct Config {
    /// Where it was read from (None: defaults).
    pub path: Option<PathBuf>,
    pub levels: BTreeMap<String, Level>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// Functions public on purpose: (id glob, reason).
    public: Vec<(globset::GlobMatcher, String)>,
    /// Project-specific checks: auth, role and rate-limit functions.
    pub known: crate::model::Known,
    /// Files larger than this many bytes are reported, not analysed.
    pub max_file_size: u64,
}

/// 8 MiB: far beyond hand-written modules (the largest Convex source files
/// in public apps are a few hundred KiB), and a bound on parse time and memory.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            levels: BTreeMap::new(),
            include: None,
            exclude: None,
            public: Vec::new(),
            known: crate::model::Known::default(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// A configuration mistake: the file, the line, and what to do.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl Config {
    /// The nearest `convex-audit.toml` at or above `start`, or `explicit`.
    pub fn load(explicit: Option<&Path>, start: &Path) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => find(start),
        };
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError(format!(
                "{}: {}",
                path.display(),
                crate::walk::io_message(&e)
            ))
        })?;
        parse(&text, &path)
    }

    /// Is a file (path relative to the functions folder) to be checked?
    pub fn includes(&self, rel: &str) -> bool {
        let included = self.include.as_ref().is_none_or(|g| g.is_match(rel));
        let excluded = self.exclude.as_ref().is_some_and(|g| g.is_match(rel));
        included && !excluded
    }

    pub fn level(&self, rule: &str) -> Option<Level> {
        self.levels.get(rule).copied()
    }

    /// Is this function declared public on purpose?
    pub fn intended_public(&self, id: &str) -> bool {
        self.public.iter().any(|(g, _)| g.is_match(id))
    }
}

fn find(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// The 1-based line where `needle` first appears, for error messages.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(1, |i| {
        text.get(..i).map_or(1, |t| t.matches('\n').count() + 1)
    })
}

fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let at = |line: usize| format!("{}:{line}", path.display());
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| {
            text.get(..s.start)
                .map_or(1, |t| t.matches('\n').count() + 1)
        });
        // `include = [...]` written after `[rules]` lands in that table.
        let key = text
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|l| l.split('=').next())
            .map(str::trim)
            .unwrap_or("");
        let hint = if ["include", "exclude", "max_file_size"].contains(&key) {
            format!(" (`{key}` is a top-level key: move it above the first [table])")
        } else {
            String::new()
        };
        ConfigError(format!("{}: {}{hint}", at(line), e.message().trim()))
    })?;
    let ids: Vec<&'static str> = registry().iter().map(|r| r.meta().id).collect();
    let mut levels = BTreeMap::new();
    for (rule, level) in raw.rules {
        if !ids.contains(&rule.as_str()) {
            let hint = closest(&rule, &ids)
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            return Err(ConfigError(format!(
                "{}: unknown rule `{rule}`{hint}",
                at(line_of(text, &rule))
            )));
        }
        let parsed = match level.as_str() {
            "off" => Level::Off,
            "error" => Level::On(Severity::Error),
            "warning" | "warn" => Level::On(Severity::Warning),
            "info" => Level::On(Severity::Info),
            other => {
                return Err(ConfigError(format!(
                "{}: `{rule}` is set to `{other}`; use \"error\", \"warning\", \"info\" or \"off\"",
                at(line_of(text, &rule))
            )))
            }
        };
        levels.insert(rule, parsed);
    }
    let globs = |patterns: &[String], key: &str| -> Result<Option<GlobSet>, ConfigError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let g = Glob::new(p).map_err(|e| {
                ConfigError(format!(
                    "{}: bad `{key}` pattern `{p}`: {e}",
                    at(line_of(text, p))
                ))
            })?;
            b.add(g);
        }
        b.build()
            .map(Some)
            .map_err(|e| ConfigError(format!("{}: {e}", at(line_of(text, key)))))
    };
    let include = globs(&raw.include, "include")?;
    let exclude = globs(&raw.exclude, "exclude")?;
    let mut public = Vec::new();
    for p in raw.public {
        let line = line_of(text, &p.function);
        let Some(reason) = p.reason.filter(|r| !r.trim().is_empty()) else {
            return Err(ConfigError(format!(
                "{}: `{}` is declared public without a `reason`; say why it is meant to be open",
                at(line),
                p.function
            )));
        };
        let g = Glob::new(&p.function)
            .map_err(|e| ConfigError(format!("{}: bad function pattern: {e}", at(line))))?;
        public.push((g.compile_matcher(), reason));
    }
    Ok(Config {
        path: Some(path.to_path_buf()),
        levels,
        include,
        exclude,
        public,
        known: crate::model::Known {
            auth: raw.auth.functions,
            roles: raw.roles.functions,
            rate_limits: raw.rate_limit.functions,
            owner_fields: raw.ownership.fields,
        },
        max_file_size: raw.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
    })
}

/// The commented starter file `convex-audit init` writes.
pub const STARTER: &str = r#"# convex-audit configuration (the README's Configuration section lists every key)
# Top-level keys come first: in TOML, a key after a [table] header belongs to that table.

# Files to check, as globs relative to the functions folder (default: all).
# include = ["**/*.ts"]
# exclude = ["seed.ts", "testing/**"]

# Larger files are reported, not analysed (default 8 MiB).
# max_file_size = 8388608

# Per-rule level: "error", "warning", "info" or "off". `convex-audit rules` lists the ids.
[rules]
# missing-rate-limit = "off"

# Project-specific checks the analysis cannot see into (from a package outside the
# functions folder, say), by name or as "module:export".
# [auth]
# functions = ["requireSession", "lib/auth:requireUser"]   # return only for a signed-in caller
# [roles]
# functions = ["requireAdmin"]                             # check the caller's role
# [rate_limit]
# functions = ["throttle"]                                 # throw when over a limit

# Fields that hold the owning user's id, beyond userId, ownerId, authorId, createdBy and
# the like: an argument with one of these names that a function trusts as the caller is
# reported by client-supplied-user-id.
# [ownership]
# fields = ["landlordId", "teacherId"]

# Functions that are public on purpose; each needs a reason. Ids as Convex names them
# (`module:export`, globs allowed). They are not reported by missing-auth or should-be-internal.
# [[public]]
# function = "landing:stats"
# reason = "public counts shown on the landing page"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("convex-audit.toml"))
    }

    #[test]
    fn errors_name_the_line_and_suggest() {
        let e = p("[rules]\nmissing-auht = \"off\"\n")
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert_eq!(
            e,
            "convex-audit.toml:2: unknown rule `missing-auht` (did you mean `missing-auth`?)"
        );
        let e = p("colour = true\n").err().map(|e| e.0).unwrap_or_default();
        assert!(
            e.starts_with("convex-audit.toml:1: unknown field `colour`"),
            "{e}"
        );
        let e = p("[rules]\nenv-leak = \"loud\"\n")
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(
            e.starts_with("convex-audit.toml:2: `env-leak` is set to `loud`"),
            "{e}"
        );
        let e = p("include = \"x\"\n")
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(e.starts_with("convex-audit.toml:1:"), "{e}");
        let e = p("[[public]]\nfunction = \"a:b\"\n")
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(e.contains("without a `reason`"), "{e}");
    }

    #[test]
    fn starter_parses_with_every_example_uncommented() {
        let uncommented: String = STARTER
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(uncommented.contains("\ninclude = "), "{uncommented}");
        let parsed = p(&uncommented).map(|_| ()).map_err(|e| e.0);
        assert_eq!(parsed, Ok(()), "{uncommented}");
        let e = p("[rules]\ninclude = [\"a\"]\n")
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(e.contains("top-level key"), "{e}");
    }

    #[test]
    fn starter_parses_and_globs_match() {
        assert!(p(STARTER).is_ok());
        let c =
            p("exclude = [\"seed*.ts\"]\n[[public]]\nfunction = \"landing:*\"\nreason = \"x\"\n")
                .unwrap_or_default();
        assert!(!c.includes("seed.ts") && c.includes("notes.ts"));
        assert!(c.intended_public("landing:stats") && !c.intended_public("notes:list"));
        assert_eq!(
            p("[rules]\nenv-leak = \"off\"\n")
                .unwrap_or_default()
                .level("env-leak"),
            Some(Level::Off)
        );
    }
}
