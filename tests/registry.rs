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
