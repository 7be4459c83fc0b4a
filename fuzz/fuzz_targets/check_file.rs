//! Arbitrary bytes as one module of a Convex functions folder, through the
//! whole check: walk, read, the nesting guard, parse, lowering, the project
//! model, every rule, suppressions, and every output format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    convex_audit_fuzz_support::check(&[(String::from("a.ts"), data.to_vec())]);
});

#[path = "../support.rs"]
mod convex_audit_fuzz_support;
