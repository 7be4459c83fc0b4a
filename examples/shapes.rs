//! How the analysis grows on adversarial shapes of code (tests/common/shapes.rs):
//! for each shape, `check` at k = 1, 2, 4, ... 64, in this process, the best
//! of `--runs` wall times. Linear growth doubles the time with k; the last
//! column is t(k) / t(k/2), measured in the same run.
//!
//! ```text
//! cargo run --release --example shapes -- [--max-k 64] [--runs 5]
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/common/shapes.rs"]
mod shapes;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use convex_audit::{check, Options};

fn main() -> ExitCode {
    let mut max_k = 64usize;
    let mut runs = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (a.as_str(), value) {
            ("--max-k", Some(v)) => max_k = v,
            ("--runs", Some(v)) if v > 0 => runs = v,
            _ => {
                eprintln!("usage: shapes [--max-k 64] [--runs 5]");
                return ExitCode::from(2);
            }
        }
    }
    match run(max_k, runs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shapes: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(max_k: usize, runs: usize) -> Result<(), String> {
    println!(
        "{:<18} {:>4} {:>8} {:>10} {:>8}",
        "shape", "k", "lines", "best ms", "x prev"
    );
    for (name, shape) in shapes::SHAPES {
        let mut prev: Option<f64> = None;
        let mut k = 1;
        while k <= max_k {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let convex = dir.path().join("convex");
            std::fs::create_dir_all(&convex).map_err(|e| e.to_string())?;
            let mut lines = 0;
            for (path, text) in shape(k) {
                lines += text.lines().count();
                std::fs::write(convex.join(path), text).map_err(|e| e.to_string())?;
            }
            let opts = Options {
                paths: vec![PathBuf::from(&convex)],
                config: None,
                threads: 1,
                fast_exit: false,
                release_memory: None,
                keep_sources: false,
            };
            let mut best = f64::INFINITY;
            for _ in 0..runs {
                let start = Instant::now();
                let report = check(&opts).map_err(|e| e.0)?;
                best = best.min(start.elapsed().as_secs_f64() * 1e3);
                if let Some(e) = report.errors.first() {
                    println!("{name:<18} {k:>4}: {}", e.message);
                }
            }
            let ratio = prev.map_or(String::new(), |p| format!("{:.2}", best / p));
            println!("{name:<18} {k:>4} {lines:>8} {best:>10.3} {ratio:>8}");
            prev = Some(best);
            k *= 2;
        }
    }
    Ok(())
}
