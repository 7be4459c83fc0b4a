//! miette's graphical report, one diagnostic per finding, then a summary line.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan,
};

use crate::engine::Report;
use crate::finding::Located;
use crate::rule::Severity;

pub struct Style {
    pub color: bool,
    pub quiet: bool,
    /// Print the time taken (off for snapshots).
    pub timing: bool,
}

#[derive(Debug)]
struct Diag {
    message: String,
    code: &'static str,
    severity: Severity,
    help: String,
    labels: Vec<LabeledSpan>,
    /// None for findings whose code must not be echoed (secrets).
    source: Option<NamedSource<String>>,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        Some(Box::new(self.labels.iter().cloned()))
    }
}

fn span(lo: u32, hi: u32, len: usize) -> SourceSpan {
    let lo = (lo as usize).min(len);
    let hi = (hi as usize).clamp(lo, len);
    SourceSpan::new(lo.into(), hi - lo)
}

fn diag(f: &Located, text: &str) -> Diag {
    if f.sensitive {
        return Diag {
            message: format!(
                "{} ({}:{}:{})",
                f.message,
                f.file.display(),
                f.line,
                f.column
            ),
            code: f.rule,
            severity: f.severity,
            help: f.help.to_string(),
            labels: Vec::new(),
            source: None,
        };
    }
    let len = text.len();
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        Some(match &f.function {
            Some(id) => format!("`{id}`"),
            None => "here".to_string(),
        }),
        span(f.span.lo, f.span.hi, len),
    )];
    for l in &f.labels {
        labels.push(LabeledSpan::new_with_span(
            Some(l.message.to_string()),
            span(l.span.lo, l.span.hi, len),
        ));
    }
    Diag {
        message: f.message.clone(),
        code: f.rule,
        severity: f.severity,
        help: f.help.to_string(),
        labels,
        source: Some(NamedSource::new(
            f.file.display().to_string(),
            text.to_string(),
        )),
    }
}

pub fn render(report: &Report, style: &Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for e in &report.errors {
        let pos = match (e.line, e.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "error: {}{pos}: {}\n",
            e.file.display(),
            e.message
        ));
    }
    if !report.errors.is_empty() {
        out.push('\n');
    }
    for f in &report.findings {
        let text = report
            .sources
            .get(&f.file)
            .map(String::as_str)
            .unwrap_or("");
        let d = diag(f, text);
        if handler.render_report(&mut out, &d).is_err() {
            out.push_str(&format!(
                "{}:{}:{}: {} {}\n",
                f.file.display(),
                f.line,
                f.column,
                f.rule,
                f.message
            ));
        }
        out.push('\n');
    }
    if !style.quiet {
        out.push_str(&summary(report, style));
        out.push('\n');
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary(report: &Report, style: &Style) -> String {
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let total = errors + warnings + infos;
    let files = plural(report.files_checked, "file");
    let timing = if style.timing {
        format!(" in {}ms", report.elapsed.as_millis())
    } else {
        String::new()
    };
    let mut line = if total == 0 {
        format!("✔ No problems found: {files} checked{timing}")
    } else {
        format!(
            "✖ {} ({}, {}, {}): {files} checked{timing}",
            plural(total, "problem"),
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(infos, "info")
        )
    };
    if let Some(fixed) = report.baseline_fixed {
        line.push_str(&format!("; {fixed} fixed since the baseline"));
    }
    if !report.errors.is_empty() {
        line.push_str(&format!(
            "; {} could not be checked",
            plural(report.errors.len(), "file")
        ));
    }
    line
}
