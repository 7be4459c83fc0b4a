//! The Convex vocabulary: builders, libraries and the APIs that decide
//! authentication. Everything the model knows about Convex by name lives here.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Query,
    Mutation,
    Action,
    HttpAction,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Query => "query",
            Kind::Mutation => "mutation",
            Kind::Action => "action",
            Kind::HttpAction => "HTTP action",
        })
    }
}

impl Kind {
    /// The builder that makes this kind of function internal.
    pub fn internal_builder(self) -> &'static str {
        match self {
            Kind::Query => "internalQuery",
            Kind::Mutation => "internalMutation",
            Kind::Action | Kind::HttpAction => "internalAction",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Internal,
}

/// A builder exported by `_generated/server`.
pub fn base_builder(name: &str) -> Option<(Kind, Visibility)> {
    Some(match name {
        "query" => (Kind::Query, Visibility::Public),
        "mutation" => (Kind::Mutation, Visibility::Public),
        "action" => (Kind::Action, Visibility::Public),
        "httpAction" => (Kind::HttpAction, Visibility::Public),
        "internalQuery" => (Kind::Query, Visibility::Internal),
        "internalMutation" => (Kind::Mutation, Visibility::Internal),
        "internalAction" => (Kind::Action, Visibility::Internal),
        _ => return None,
    })
}

/// `./_generated/server`, `../../_generated/server.js`, `@/convex/_generated/server`.
pub fn is_generated_server(source: &str) -> bool {
    matches!(
        strip_all(strip_all(source, ".js"), ".ts").rsplit_once('/'),
        Some((dir, "server")) if dir.ends_with("_generated")
    )
}

/// `s` without every trailing `suffix` (as `trim_end_matches`, without its
/// string searcher: this runs for every name resolved through an import).
fn strip_all<'a>(mut s: &'a str, suffix: &str) -> &'a str {
    while let Some(rest) = s.strip_suffix(suffix) {
        s = rest;
    }
    s
}

/// `queryGeneric` & co. from `convex/server`: the untyped builders.
pub fn generic_builder(name: &str) -> Option<(Kind, Visibility)> {
    base_builder(name.strip_suffix("Generic")?)
}

/// Modules whose `customQuery` & co. build custom functions.
pub fn is_custom_functions_module(source: &str) -> bool {
    source.starts_with("convex-helpers/server")
}

pub fn is_custom_factory(name: &str) -> bool {
    matches!(
        name,
        "customQuery"
            | "customMutation"
            | "customAction"
            | "zCustomQuery"
            | "zCustomMutation"
            | "zCustomAction"
    )
}

/// What a library import is, when it matters for authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibItem {
    /// `getAuthUserId(ctx)`: the caller's id or null.
    NullableIdentity,
    /// Convex Auth's `convexAuth(...)`: its `auth.getUserId(ctx)` may be null.
    ConvexAuth,
    /// Better Auth `createClient(...)`: its `getAuthUser` throws.
    BetterAuthClient,
    /// svix `Webhook`: `new Webhook(secret).verify(...)` throws on a bad signature.
    SvixWebhook,
    /// A function that verifies a webhook request and throws when it fails.
    WebhookVerifier,
    /// `@convex-dev/rate-limiter`'s `RateLimiter`: its calls guard, not touch data.
    RateLimiter,
    /// `wrapDatabaseReader/Writer`: row-level security.
    RowLevelSecurity,
    /// Any other import from a package.
    Other,
}

pub fn lib_item(source: &str, name: &str) -> LibItem {
    match (source, name) {
        ("@convex-dev/auth/server", "getAuthUserId" | "getAuthSessionId") => {
            LibItem::NullableIdentity
        }
        ("@convex-dev/auth/server", "convexAuth") => LibItem::ConvexAuth,
        ("@convex-dev/better-auth", "createClient") => LibItem::BetterAuthClient,
        ("svix", "Webhook") => LibItem::SvixWebhook,
        (s, "verifyWebhook") if s.starts_with("@clerk/") => LibItem::WebhookVerifier,
        ("@convex-dev/rate-limiter", "RateLimiter") => LibItem::RateLimiter,
        ("convex-helpers/server/rateLimit", "rateLimit" | "checkRateLimit") => LibItem::RateLimiter,
        ("convex-helpers/server/rowLevelSecurity", "wrapDatabaseReader" | "wrapDatabaseWriter") => {
            LibItem::RowLevelSecurity
        }
        _ => LibItem::Other,
    }
}

/// `ctx.<path>(...)` calls that reach data or other functions.
pub fn is_protected_ctx_call(path: &[swc_atoms::Atom]) -> bool {
    match path.first().map(|s| s.as_str()) {
        Some("db" | "storage" | "scheduler") => true,
        Some("runQuery" | "runMutation" | "runAction") => path.len() == 1,
        _ => false,
    }
}

pub fn is_ctx_identity_call(path: &[swc_atoms::Atom]) -> bool {
    matches!(path, [a, b] if a == "auth" && b == "getUserIdentity")
}

/// Document fields that, by near-universal convention, mark a row as meant
/// for everyone: a read gated on one returns public data.
pub fn is_public_flag(field: &str) -> bool {
    matches!(field, "isPublic" | "public" | "published" | "isPublished")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_server_paths() {
        assert!(is_generated_server("./_generated/server"));
        assert!(is_generated_server("../../_generated/server.js"));
        assert!(is_generated_server("@/convex/_generated/server"));
        assert!(!is_generated_server("./_generated/api"));
        assert!(!is_generated_server("./server"));
    }

    #[test]
    fn builders() {
        assert_eq!(
            base_builder("internalMutation"),
            Some((Kind::Mutation, Visibility::Internal))
        );
        assert_eq!(
            generic_builder("queryGeneric"),
            Some((Kind::Query, Visibility::Public))
        );
        assert_eq!(generic_builder("query"), None);
    }
}
