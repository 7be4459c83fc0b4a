//! One file per rule; the file name is the rule id in snake_case. A rule is
//! registered by its line below, which declares its module and puts it in the
//! registry (sorted by id; `tests/registry.rs` checks the order, and that every
//! rule has its doc, fixtures and snapshots, and nothing is left over).

macro_rules! rules {
    ($($module:ident::$rule:ident,)*) => {
        $(pub mod $module;)*

        /// Every rule, sorted by id.
        pub fn all() -> Vec<Box<dyn crate::rule::Rule>> {
            vec![$(Box::new($module::$rule)),*]
        }
    };
}

rules! {
    client_supplied_user_id::ClientSuppliedUserId,
    env_leak::EnvLeak,
    error_detail_leak::ErrorDetailLeak,
    hardcoded_secret::HardcodedSecret,
    invalid_suppression::InvalidSuppression,
    loose_arg_validator::LooseArgValidator,
    missing_arg_validators::MissingArgValidators,
    missing_auth::MissingAuth,
    missing_ownership_check::MissingOwnershipCheck,
    missing_rate_limit::MissingRateLimit,
    server_calls_public_function::ServerCallsPublicFunction,
    should_be_internal::ShouldBeInternal,
    unchecked_identity::UncheckedIdentity,
    unused_suppression::UnusedSuppression,
}
