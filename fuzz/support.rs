//! Shared by the fuzz targets: write the modules to a scratch functions
//! folder and run the whole check and every renderer on it. Any panic or
//! abort is a bug (the engine catches panics per file, so a panic that
//! escapes it is one too).

#![allow(dead_code)] // each target uses part of it

use std::path::PathBuf;

use convex_audit::output::{compact, github, json, pretty, sarif};
use convex_audit::{check as run, Options};

/// `//@@ name.ts` lines start a new module; bytes before the first are `a.ts`.
pub fn split(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = vec![("a.ts".into(), Vec::new())];
    for line in data.split_inclusive(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"//@@ ") {
            let name: String = String::from_utf8_lossy(rest)
                .trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
                .collect();
            let name = name.trim_start_matches('/').replace("..", "");
            if !name.is_empty() && out.len() < 16 {
                out.push((name, Vec::new()));
                continue;
            }
        }
        if let Some((_, text)) = out.last_mut() {
            text.extend_from_slice(line);
        }
    }
    out
}

pub fn check(files: &[(String, Vec<u8>)]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let root: PathBuf = dir.path().join("convex");
    for (name, text) in files {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                return;
            }
        }
        // A name that is also a folder, and so on: not this target's concern.
        let _ = std::fs::write(&path, text);
    }
    let opts = Options {
        paths: vec![root],
        config: None,
        threads: 1,
        fast_exit: false,
        release_memory: Some(convex_audit::mimalloc_collect),
        keep_sources: true,
    };
    let Ok(report) = run(&opts) else { return };
    let _ = json::render(&report);
    let _ = sarif::render(&report);
    let _ = compact::render(&report);
    let _ = github::render(&report);
    let _ = pretty::render(
        &report,
        &pretty::Style {
            color: false,
            quiet: false,
            timing: false,
        },
    );
}
