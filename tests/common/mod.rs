//! Shared by the integration tests.
#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod shapes;

use std::path::{Path, PathBuf};

use convex_audit::output::{json, pretty};
use convex_audit::{check, Options, Report};

/// A public mutation that deletes every note, with no check at all.
pub const OPEN: &str = r#"import { mutation } from "./_generated/server";
export const wipe = mutation({
  args: {},
  handler: async (ctx) => {
    for (const doc of await ctx.db.query("notes").collect()) await ctx.db.delete(doc._id);
  },
});
"#;

pub fn run(paths: &[PathBuf]) -> Report {
    let opts = Options {
        paths: paths.to_vec(),
        config: None,
        threads: 2,
        fast_exit: false,
        release_memory: Some(convex_audit::mimalloc_collect),
        keep_sources: true,
    };
    match check(&opts) {
        Ok(r) => r,
        Err(e) => panic!("check failed: {}", e.0),
    }
}

/// The JSON and the colourless pretty report, without timing.
pub fn rendered(report: &Report) -> String {
    let pretty = pretty::render(
        report,
        &pretty::Style {
            color: false,
            quiet: false,
            timing: false,
        },
    );
    format!("{}\n{}", json::render(report), pretty)
}

/// Every `.ts`/`.tsx` file under a directory, sorted.
pub fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "ts" || x == "tsx"))
        .collect();
    out.sort();
    out
}

/// `// expect: rule-a, rule-b` markers: (file, line, rule).
pub fn markers(dir: &Path) -> Vec<(PathBuf, usize, String)> {
    let mut out = Vec::new();
    for file in source_files(dir) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            let Some((_, rest)) = line.split_once("// expect:") else {
                continue;
            };
            for rule in rest.split(',') {
                let rule = rule.trim();
                if !rule.is_empty() {
                    out.push((file.clone(), i + 1, rule.to_string()));
                }
            }
        }
    }
    out.sort();
    out
}
