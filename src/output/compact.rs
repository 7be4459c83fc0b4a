//! One line per finding, for editors and grep: `file:line:col: severity rule message`.

use crate::engine::Report;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let pos = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{l}:{c}"),
            _ => "1:1".to_string(),
        };
        out.push_str(&format!(
            "{}:{pos}: error {}\n",
            e.file.display(),
            e.message
        ));
    }
    for f in &report.findings {
        out.push_str(&format!(
            "{}:{}:{}: {} {} {}\n",
            f.file.display(),
            f.line,
            f.column,
            f.severity.as_str(),
            f.rule,
            f.message
        ));
    }
    out
}
