//! miette's graphical report, one diagnostic per finding, then a summary line.
//!
//! Shaped as oxlint's: the rule id heads the message, each label shows its
//! own line and no lines around it (a label spanning lines is cut to its
//! first), labels on adjacent lines share a snippet and others get their own.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
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
    /// `rule-id: message`: the id heads the line, not a line of its own.
    message: String,
    severity: Severity,
    help: String,
    labels: Vec<LabeledSpan>,
    /// None for findings whose code must not be echoed (secrets).
    source: Option<LabelLines>,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
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

/// A label's span in `text`, cut at the end of its first line: a label on a
/// ten-line `insert` call shows the line the call starts on.
fn span(lo: u32, hi: u32, text: &str) -> SourceSpan {
    let len = text.len();
    let lo = (lo as usize).min(len);
    let hi = (hi as usize).clamp(lo, len);
    let first_line = text
        .get(lo..hi)
        .and_then(|s| s.find('\n'))
        .map_or(hi, |nl| lo + nl);
    let shown = text.get(lo..first_line).map_or(0, |s| s.trim_end().len());
    SourceSpan::new(lo.into(), shown)
}

fn diag(f: &Located, text: &str) -> Diag {
    if f.sensitive {
        return Diag {
            message: format!(
                "{}: {} ({}:{}:{})",
                f.rule,
                f.message,
                f.file.display(),
                f.line,
                f.column
            ),
            severity: f.severity,
            help: f.help.to_string(),
            labels: Vec::new(),
            source: None,
        };
    }
    // The primary span is the function's name (or the flagged token), which
    // the message already names: underlined, not labelled again.
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        None,
        span(f.span.lo, f.span.hi, text),
    )];
    for l in &f.labels {
        labels.push(LabeledSpan::new_with_span(
            Some(l.message.to_string()),
            span(l.span.lo, l.span.hi, text),
        ));
    }
    Diag {
        message: format!("{}: {}", f.rule, f.message),
        severity: f.severity,
        help: f.help.to_string(),
        labels,
        source: Some(LabelLines {
            name: f.file.display().to_string(),
            text: text.to_string(),
        }),
    }
}

/// Messages and help are not wrapped, as ESLint, ruff and rustc do not wrap
/// theirs: the terminal wraps a long line to its own width, and a CI log or a
/// file keeps it whole. (miette's `with_wrap_lines(false)` drops a snippet
/// whose only label has no text, so the width is set past any line instead.)
const NO_WRAP: usize = 1 << 16;

/// miette asks for this much context around each label; `LabelLines`
/// answers with the label's own lines, so labels on adjacent lines share a
/// snippet and others get snippets of their own.
const CONTEXT_LINES: usize = 1;

/// A file's text that shows a label's whole lines and no lines around them:
/// miette shows every line between labels it merges, and with no context at
/// all only the label's own text.
#[derive(Debug)]
struct LabelLines {
    name: String,
    text: String,
}

impl LabelLines {
    /// The span widened to the lines it is on.
    fn whole_lines(&self, span: &SourceSpan) -> SourceSpan {
        let text = self.text.as_bytes();
        let lo = span.offset().min(text.len());
        let hi = (lo + span.len()).min(text.len());
        let start = text
            .get(..lo)
            .and_then(|t| t.iter().rposition(|&b| b == b'\n'))
            .map_or(0, |nl| nl + 1);
        let mut end = text
            .get(hi..)
            .and_then(|t| t.iter().position(|&b| b == b'\n'))
            .map_or(text.len(), |nl| hi + nl);
        if end > hi && text.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        SourceSpan::new(start.into(), end - start)
    }
}

impl SourceCode for LabelLines {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // No context asked: the span itself (miette reads a label's line and
        // column this way for the snippet's header).
        let span = if context_lines_before == 0 && context_lines_after == 0 {
            *span
        } else {
            self.whole_lines(span)
        };
        let inner = self.text.read_span(&span, 0, 0)?;
        // The lines it holds: miette merges two labels' snippets when the
        // first's line plus this reaches the second's (its own `str` answer
        // counts every line from the top of the file, so it merged labels
        // hundreds of lines apart).
        let lines = inner.data().iter().filter(|&&b| b == b'\n').count() + 1;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            lines,
        )))
    }
}

pub fn render(report: &Report, style: &Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(NO_WRAP)
        .with_context_lines(CONTEXT_LINES);
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
    let unchecked = report.errors.len();
    // ✔ only when everything asked for was checked and nothing was found.
    let mut line = if total == 0 && unchecked == 0 {
        format!("✔ No problems found: {files} checked{timing}")
    } else if total == 0 && report.files_checked == 0 {
        return format!(
            "✖ Nothing was checked{timing}: {} above",
            plural(unchecked, "error")
        );
    } else if total == 0 {
        // The walk counts a file that failed among those it read.
        format!("✖ No problems found in {files}{timing}")
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
    if unchecked > 0 {
        line.push_str(&format!(
            "; {} could not be checked (see above)",
            plural(unchecked, "file")
        ));
    }
    line
}
