//! Arbitrary bytes split into several modules (on lines `//@@ name.ts`), so
//! imports, re-exports and helpers resolve across files, cycles included.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    convex_audit_fuzz_support::check(&convex_audit_fuzz_support::split(data));
});

#[path = "../support.rs"]
mod convex_audit_fuzz_support;
