//! GitHub Actions workflow commands: each finding becomes an annotation.

use crate::engine::Report;
use crate::rule::Severity;

/// Escapes a command's message (GitHub's `escapeData`).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (GitHub's `escapeProperty`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let mut props = format!("file={}", property(&e.file.display().to_string()));
        if let (Some(l), Some(c)) = (e.line, e.column) {
            props.push_str(&format!(",line={l},col={c}"));
        }
        out.push_str(&format!(
            "::error {props},title=convex-audit::{}\n",
            data(&e.message)
        ));
    }
    for f in &report.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        out.push_str(&format!(
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            property(&f.file.display().to_string()),
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            property(&format!("convex-audit({})", f.rule)),
            data(&format!("{} ({})", f.message, f.help)),
        ));
    }
    out
}
