//! convex-audit: a static security linter for Convex backends.
//!
//! `engine::check` walks, parses and lowers every module once (in parallel),
//! links them into a project model, and runs the rules over it. Nothing here
//! prints; `main.rs` renders the report and maps it to an exit code.

pub mod baseline;
pub mod cli;
pub mod config;
pub mod engine;
pub mod finding;
pub mod model;
pub mod nesting;
pub mod output;
pub mod parse;
pub mod rule;
pub mod rules;
pub mod suppress;
pub mod walk;

pub use engine::{check, Options, Report};

/// Asks mimalloc (the binaries' global allocator) to return what the
/// calling thread has freed to the OS, including the blocks other threads
/// freed into its pages, which otherwise wait for it to allocate again.
/// For `Options::release_memory`.
pub fn mimalloc_collect() {
    // SAFETY: `mi_collect` takes no pointers and only tidies the calling
    // thread's heap; with another global allocator that heap is empty.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
