//! The adversarial shapes (tests/common/shapes.rs) at k = 64: code with about
//! 2^64 paths or binding chains. Every walk the analysis makes is memoised,
//! so none may spend its step budget (which would be reported as an error
//! naming the function); `examples/shapes.rs` shows the time per k.

mod common;

use common::shapes::SHAPES;
use convex_audit::{check, Options};

#[test]
fn no_shape_spends_the_budget_at_k_64() -> Result<(), String> {
    for (name, shape) in SHAPES {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let convex = dir.path().join("convex");
        std::fs::create_dir_all(&convex).map_err(|e| e.to_string())?;
        for (path, text) in shape(64) {
            std::fs::write(convex.join(path), text).map_err(|e| e.to_string())?;
        }
        let report = check(&Options {
            paths: vec![convex],
            config: None,
            threads: 1,
            fast_exit: false,
            release_memory: None,
            keep_sources: false,
        })
        .map_err(|e| e.0)?;
        if let Some(e) = report.errors.first() {
            return Err(format!("{name}: {}", e.message));
        }
        if report.functions == 0 {
            return Err(format!("{name}: no function found"));
        }
    }
    Ok(())
}
