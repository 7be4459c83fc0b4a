//! The semantic model rules query: per-file facts lowered from the AST once,
//! the project that links them, and the analyses over it.

pub mod analysis;
pub mod convex;
pub mod facts;
pub mod ir;
pub mod lower;
mod pack;
pub mod project;
pub mod secrets;
mod tables;

pub use analysis::{Access, Analysis, ConvexFn, Known, Unchecked};
pub use ir::Sp;
pub use project::{ModIx, Module, Project};
