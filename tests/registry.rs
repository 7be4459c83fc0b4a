//! Meta-tests: every rule is well-formed, documented, has fixtures, and its
//! doc's bad example fires while its good example does not.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;

use convex_audit::rule::registry;

#[test]
fn ids_are_unique_kebab_case_and_sorted() {
    let ids: Vec<&str> = registry().iter().map(|r| r.meta().id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        ids, sorted,
        "rule ids must be unique and sorted in the registry"
    );
    for id in ids {
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !id.starts_with('-'),
            "{id} is not kebab-case"
        );
    }
}

#[test]
fn every_rule_has_a_doc_file_fixtures_and_a_source_file() {
    for rule in registry() {
        let m = rule.meta();
        assert!(
            m.doc.starts_with(&format!("# {}", m.id)),
            "{}: doc must start with its id",
            m.id
        );
        for section in ["## Why", "## Bad", "## Good", "## How to fix"] {
            assert!(m.doc.contains(section), "{}: doc lacks {section}", m.id);
        }
        for kind in ["fail", "pass"] {
            let dir = Path::new("fixtures").join(m.id).join(kind);
            let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
            assert!(n > 0, "{}: no fixtures in {}", m.id, dir.display());
        }
        let src = Path::new("src/rules").join(format!("{}.rs", m.id.replace('-', "_")));
        assert!(src.is_file(), "{}: expected {}", m.id, src.display());
        assert!(
            !m.summary.ends_with('.'),
            "{}: summary ends with a period",
            m.id
        );
    }
}

/// The first ```ts block after a heading.
fn example<'a>(doc: &'a str, heading: &str) -> &'a str {
    let after = doc.split_once(heading).map(|(_, r)| r).unwrap_or("");
    let code = after.split_once("```ts\n").map(|(_, r)| r).unwrap_or("");
    code.split_once("```").map(|(c, _)| c).unwrap_or("")
}

#[test]
fn doc_examples_behave_as_documented() {
    for rule in registry() {
        let m = rule.meta();
        for (heading, should_fire) in [("## Bad", true), ("## Good", false)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let convex = dir.path().join("convex");
            std::fs::create_dir_all(&convex).expect("mkdir");
            std::fs::write(convex.join("example.ts"), example(m.doc, heading)).expect("write");
            let report = common::run(&[convex]);
            assert!(
                report.errors.is_empty(),
                "{}: {heading} example does not parse: {:?}",
                m.id,
                report.errors
            );
            let fired = report.findings.iter().any(|f| f.rule == m.id);
            assert_eq!(fired, should_fire, "{}: {heading} example", m.id);
        }
    }
}

/// The names in a folder (files or folders), sorted.
fn names(dir: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// A rule is its source file, its doc, its fixtures and their snapshots, all
/// named by its id: none may be missing, and none may outlive the rule.
#[test]
fn nothing_is_missing_or_orphaned() {
    let ids: Vec<&str> = registry().iter().map(|r| r.meta().id).collect();
    let known = |id: &str| ids.contains(&id);
    for file in names("src/rules") {
        let Some(stem) = file.strip_suffix(".rs").filter(|s| *s != "mod") else {
            continue;
        };
        assert!(
            known(&stem.replace('_', "-")),
            "src/rules/{file}: no such rule registered"
        );
    }
    for file in names("rules") {
        let id = file.strip_suffix(".md").unwrap_or(&file);
        assert!(known(id), "rules/{file}: a doc for no rule");
    }
    // `_interactions` and `_pending` hold cases of several rules or none yet.
    for dir in names("fixtures") {
        if dir.starts_with('_') || dir == "README.md" {
            continue;
        }
        assert!(known(&dir), "fixtures/{dir}: fixtures for no rule");
    }
    for dir in names("fixtures/_pending") {
        assert!(
            known(&dir),
            "fixtures/_pending/{dir}: pending cases for no rule"
        );
    }
    // Every fixture case has its snapshot, and every snapshot its case.
    let mut cases = Vec::new();
    for id in &ids {
        for kind in ["fail", "pass"] {
            for case in names(&format!("fixtures/{id}/{kind}")) {
                cases.push(format!("fixtures__{id}__{kind}__{case}.snap"));
            }
        }
    }
    let snapshots: Vec<String> = names("tests/snapshots")
        .into_iter()
        .filter(|s| s.starts_with("fixtures__"))
        .collect();
    for snap in &snapshots {
        assert!(
            cases.contains(snap),
            "tests/snapshots/{snap}: a snapshot of no fixture case"
        );
    }
    for case in &cases {
        assert!(
            snapshots.contains(case),
            "{case}: a fixture case without a snapshot"
        );
    }
}

/// The README's rules table lists every rule once, with the severity the
/// rule declares (it is written once, in the rule).
#[test]
fn readme_rules_table_matches_the_registry() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let mut rows: Vec<(String, String)> = readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let id = cells.get(1)?.strip_prefix("[`")?.split_once('`')?.0;
            Some((id.to_owned(), (*cells.get(2)?).to_owned()))
        })
        .collect();
    rows.sort();
    let mut expected: Vec<(String, String)> = registry()
        .iter()
        .map(|r| {
            (
                r.meta().id.to_owned(),
                r.meta().severity.as_str().to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(rows, expected);
}
