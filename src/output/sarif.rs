//! SARIF 2.1.0, for GitHub code scanning and other dashboards. Every rule is
//! described in the driver (so a dashboard can show its help without us), and
//! each result carries a fingerprint that survives line moves, as the
//! baseline's does.

use std::path::Path;

use serde_json::{json, Value};

use crate::baseline;
use crate::engine::Report;
use crate::finding::Located;
use crate::rule::{registry, Meta, Severity};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// GitHub ranks security alerts by this score (critical >= 9, high >= 7,
/// medium >= 4): our errors are open endpoints, warnings hardening.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "8.0",
        Severity::Warning => "5.0",
        Severity::Info => "2.0",
    }
}

/// `missing-auth` -> `MissingAuth`: SARIF's `name` is an identifier.
fn pascal(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule_descriptor(m: &Meta) -> Value {
    json!({
        "id": m.id,
        "name": pascal(m.id),
        "shortDescription": { "text": m.summary },
        "fullDescription": { "text": m.description() },
        "help": { "text": m.plain_doc(), "markdown": m.doc },
        "helpUri": m.help_uri(),
        "defaultConfiguration": { "level": level(m.severity) },
        "properties": {
            "tags": ["security", "convex"],
            "precision": "high",
            "problem.severity": match m.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "recommendation",
            },
            "security-severity": security_severity(m.severity),
        },
    })
}

/// A path as a URI reference: relative paths stay relative (to the checkout
/// root, %SRCROOT%), absolute ones become `file://` URIs. Characters that are
/// not allowed unescaped in a URI are percent-encoded.
fn artifact(path: &Path) -> Value {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.strip_prefix("./").unwrap_or(&text);
    let mut uri = String::with_capacity(text.len());
    for b in text.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b);
        if keep {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    if text.starts_with('/') {
        json!({ "uri": format!("file://{uri}") })
    } else {
        json!({ "uri": uri, "uriBaseId": "%SRCROOT%" })
    }
}

fn region(start: (usize, usize), end: (usize, usize)) -> Value {
    json!({
        "startLine": start.0,
        "startColumn": start.1,
        "endLine": end.0,
        "endColumn": end.1,
    })
}

fn result(f: &Located, rule_index: Option<usize>) -> Value {
    let fp = baseline::fingerprint(f);
    let related: Vec<Value> = f
        .labels
        .iter()
        .zip(&f.label_at)
        .enumerate()
        .map(|(i, (l, &(line, col, end_line, end_col)))| {
            json!({
                "id": i,
                "message": { "text": l.message },
                "physicalLocation": {
                    "artifactLocation": artifact(&f.file),
                    "region": region((line, col), (end_line, end_col)),
                },
            })
        })
        .collect();
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": artifact(&f.file),
            "region": region((f.line, f.column), (f.end_line, f.end_column)),
        },
    });
    if let (Some(function), Some(obj)) = (&f.function, location.as_object_mut()) {
        obj.insert(
            "logicalLocations".into(),
            json!([{ "fullyQualifiedName": function, "kind": "function" }]),
        );
    }
    let mut out = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": format!("{} ({})", f.message, f.help) },
        "locations": [location],
        "partialFingerprints": { "convexAudit/v1": baseline::digest(&fp) },
    });
    if let Some(obj) = out.as_object_mut() {
        if let Some(ix) = rule_index {
            obj.insert("ruleIndex".into(), json!(ix));
        }
        if !related.is_empty() {
            obj.insert("relatedLocations".into(), Value::Array(related));
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    let rules = registry();
    let metas: Vec<&Meta> = rules.iter().map(|r| r.meta()).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let ix = metas.iter().position(|m| m.id == f.rule);
            result(f, ix)
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut location = json!({ "artifactLocation": artifact(&e.file) });
            if let (Some(l), Some(c), Some(obj)) = (e.line, e.column, location.as_object_mut()) {
                obj.insert("region".into(), json!({ "startLine": l, "startColumn": c }));
            }
            json!({
                "level": "error",
                "message": { "text": e.message },
                "locations": [{ "physicalLocation": location }],
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "convex-audit",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": metas.iter().map(|m| rule_descriptor(m)).collect::<Vec<_>>(),
                },
            },
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut out =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_are_pascal_case() {
        assert_eq!(pascal("missing-auth"), "MissingAuth");
        assert_eq!(pascal("env-leak"), "EnvLeak");
    }

    #[test]
    fn uris_are_escaped_and_relative_paths_stay_relative() {
        let v = artifact(Path::new("./convex/my file#1.ts"));
        assert_eq!(v["uri"], "convex/my%20file%231.ts");
        assert_eq!(v["uriBaseId"], "%SRCROOT%");
        let v = artifact(Path::new("/tmp/x/convex/a.ts"));
        assert_eq!(v["uri"], "file:///tmp/x/convex/a.ts");
        assert!(v.get("uriBaseId").is_none());
    }
}
