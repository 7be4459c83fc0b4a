//! One file per rule; the file name is the rule id in snake_case.

pub mod missing_auth;
pub mod unchecked_identity;
