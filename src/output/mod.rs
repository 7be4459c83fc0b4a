//! Output formats.

pub mod compact;
pub mod github;
pub mod json;
pub mod pretty;
pub mod sarif;
