//! Findings, as rules report them and as they are printed.

use std::borrow::Cow;
use std::path::PathBuf;

use serde::Serialize;

use crate::model::{ModIx, Sp};
use crate::rule::Severity;

#[derive(Debug, Clone)]
pub struct Label {
    pub span: Sp,
    pub message: Cow<'static, str>,
}

/// A finding in model terms: a module and byte spans.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Mostly fixed text, so borrowed rather than copied per finding.
    pub help: Cow<'static, str>,
    pub module: ModIx,
    /// Narrow (the exported name), so a suppression on the line above matches it.
    pub span: Sp,
    /// Evidence, in the same file.
    pub labels: Vec<Label>,
    pub function: Option<FnName>,
    /// The flagged code is itself secret: never print the source around it.
    pub sensitive: bool,
}

/// The function a finding is in, printed (`module:name`) only once placed:
/// a name the module's facts already hold, not a string per finding.
#[derive(Debug, Clone)]
pub struct FnName {
    pub module: ModIx,
    pub name: swc_atoms::Atom,
}

impl FnName {
    pub fn of(f: &crate::model::ConvexFn) -> Self {
        FnName {
            module: f.module(),
            name: f.name.clone(),
        }
    }

    /// `messages:send`.
    pub fn render(&self, project: &crate::model::Project) -> String {
        let module = project.module(self.module).map_or("", |m| m.id.as_str());
        let mut id = String::with_capacity(module.len() + 1 + self.name.len());
        id.push_str(module);
        id.push(':');
        id.push_str(&self.name);
        id
    }
}

/// A finding placed in a file: what every output format prints.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub function: Option<String>,
    pub help: Cow<'static, str>,
    #[serde(skip)]
    pub span: Sp,
    #[serde(skip)]
    pub labels: Vec<Label>,
    #[serde(skip)]
    pub sensitive: bool,
    /// FNV-1a of the flagged code and the message: the baseline's and
    /// SARIF's fingerprint, computed while the file's text is at hand.
    #[serde(skip)]
    pub code_hash: u64,
    /// Each label's (line, column, end line, end column).
    #[serde(skip)]
    pub label_at: Vec<(usize, usize, usize, usize)>,
}

/// A file that could not be checked as asked.
#[derive(Debug, Clone, Serialize)]
pub struct FileError {
    pub file: PathBuf,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}
