//! Runs every fixture project and checks that its findings match its
//! `// expect:` markers one to one, then snapshots what the user sees.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};

use convex_audit::rule::registry;

fn cases(rule: &str, kind: &str) -> Vec<PathBuf> {
    let dir = Path::new("fixtures").join(rule).join(kind);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn check_case(
    rule: &str,
    case: &Path,
    expect_findings: bool,
) -> Result<Option<(String, String)>, String> {
    let convex = case.join("convex");
    let report = common::run(std::slice::from_ref(&convex));
    if !report.errors.is_empty() {
        return Err(format!(
            "{}: files could not be checked: {:?}",
            case.display(),
            report.errors
        ));
    }
    let expected = common::markers(&convex);
    let mut actual: Vec<(PathBuf, usize, String)> = report
        .findings
        .iter()
        .map(|f| (f.file.clone(), f.line, f.rule.to_string()))
        .collect();
    actual.sort();
    // A fail case shows its rule firing; a pass case shows it not firing. Both
    // may show other rules, whose markers are checked all the same.
    let own = expected.iter().filter(|(_, _, r)| r == rule).count();
    if expect_findings && own == 0 {
        return Err(format!(
            "{}: a fail case without a `// expect: {rule}` marker",
            case.display()
        ));
    }
    if !expect_findings && own > 0 {
        return Err(format!(
            "{}: a pass case with a `// expect: {rule}` marker",
            case.display()
        ));
    }
    if expected != actual {
        let missing: Vec<_> = expected.iter().filter(|e| !actual.contains(e)).collect();
        let extra: Vec<_> = actual.iter().filter(|a| !expected.contains(a)).collect();
        let messages: Vec<String> = report
            .findings
            .iter()
            .map(|f| format!("  {}:{} {} {}", f.file.display(), f.line, f.rule, f.message))
            .collect();
        return Err(format!(
            "{}:\n missing (expected, not found): {missing:?}\n unexpected (found, not marked): {extra:?}\n findings:\n{}",
            case.display(),
            messages.join("\n")
        ));
    }
    let name = case
        .strip_prefix("fixtures")
        .unwrap_or(case)
        .to_string_lossy()
        .replace(['/', '\\'], "__");
    Ok(Some((name, common::rendered(&report))))
}

#[test]
fn fixtures_match_their_markers() {
    let mut failures = Vec::new();
    let mut snapshots = Vec::new();
    let mut count = 0;
    for rule in registry() {
        let id = rule.meta().id;
        for (kind, fails) in [("fail", true), ("pass", false)] {
            for case in cases(id, kind) {
                count += 1;
                match check_case(id, &case, fails) {
                    Ok(Some(snap)) => snapshots.push(snap),
                    Ok(None) => {}
                    Err(e) => failures.push(e),
                }
            }
        }
    }
    assert!(count > 0, "no fixtures found");
    assert!(
        failures.is_empty(),
        "{} of {count} fixtures failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Markers first (they say what is right); then what the user sees.
    for (name, text) in snapshots {
        insta::assert_snapshot!(name, text);
    }
}

/// Cases written to the intended semantics that the linter does not yet
/// meet: each must still fail its markers. One that starts passing fails this
/// test, so it is moved into `fixtures/<rule>/` with its snapshot.
#[test]
fn pending_fixtures_still_fail() {
    let root = Path::new("fixtures/_pending");
    let mut count = 0;
    let mut passing = Vec::new();
    for rule in registry() {
        let id = rule.meta().id;
        for (kind, fails) in [("fail", true), ("pass", false)] {
            let dir = root.join(id).join(kind);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut cases: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            cases.sort();
            for case in cases {
                count += 1;
                if check_case(id, &case, fails).is_ok() {
                    passing.push(case.display().to_string());
                }
            }
        }
    }
    assert!(
        count > 0,
        "no pending fixtures: delete this test with the folder"
    );
    assert!(
        passing.is_empty(),
        "pending cases that now pass (move each into fixtures/<rule>/ and accept its snapshot):\n{}",
        passing.join("\n")
    );
}
