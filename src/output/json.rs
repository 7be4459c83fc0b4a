//! The JSON report: a stable contract (see the README).

use serde::Serialize;

use crate::engine::Report;
use crate::finding::{FileError, Located};
use crate::rule::Severity;

#[derive(Serialize)]
struct Json<'a> {
    version: u32,
    findings: &'a [Located],
    errors: &'a [FileError],
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    infos: usize,
    files_checked: usize,
    functions: usize,
    /// Files that could not be read or parsed.
    files_with_errors: usize,
    /// With `--baseline`: recorded findings that are gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_fixed: Option<usize>,
}

pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    match write(report, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}

/// Writes the report as it is serialised, rather than building its whole
/// text first (14 MB at 10,000 files, at the end of the run).
pub fn write(report: &Report, w: &mut impl std::io::Write) -> std::io::Result<()> {
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let json = Json {
        version: 1,
        findings: &report.findings,
        errors: &report.errors,
        summary: Summary {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            files_checked: report.files_checked,
            functions: report.functions,
            files_with_errors: report.errors.len(),
            baseline_fixed: report.baseline_fixed,
        },
    };
    serde_json::to_writer_pretty(&mut *w, &json)?;
    w.write_all(b"\n")
}
