//! One file per rule; the file name is the rule id in snake_case.

pub mod client_supplied_user_id;
pub mod env_leak;
pub mod error_detail_leak;
pub mod hardcoded_secret;
pub mod invalid_suppression;
pub mod loose_arg_validator;
pub mod missing_arg_validators;
pub mod missing_auth;
pub mod missing_ownership_check;
pub mod missing_rate_limit;
pub mod server_calls_public_function;
pub mod should_be_internal;
pub mod unchecked_identity;
pub mod unused_suppression;
