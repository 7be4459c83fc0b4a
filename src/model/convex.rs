//! The Convex vocabulary: builders, libraries and the APIs that decide
//! authentication. Everything the model knows about Convex by name lives here.

use std::fmt;

use swc_atoms::Atom;

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
    /// A client of a paid external service (`new OpenAI()`), or a function
    /// that calls one (`generateText` from `ai`).
    Service(Service),
    /// Any other import from a package.
    Other,
}

/// A package import: `name` is the imported name, `None` for a default or
/// namespace import.
pub fn lib_item(source: &str, name: Option<&str>) -> LibItem {
    if let Some(service) = service(source, name) {
        return LibItem::Service(service);
    }
    let Some(name) = name else {
        return LibItem::Other;
    };
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

/// An external service reached with the server's credentials: calling it
/// costs money or sends something in the deployment's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// As messages name it: "OpenAI", "Resend".
    pub name: &'static str,
    how: Cost,
    /// Its functions are the calls (`generateText(...)`), rather than the
    /// methods of a client constructed from it (`new OpenAI().chat...`).
    pub functions: bool,
}

/// What a call to a service costs the deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cost {
    /// Usage billed to the server's key.
    Billed,
    /// Email sent from the project's domain.
    Mail,
    /// Text messages billed to the account.
    Messages,
    /// Whatever the secret key allows (payments).
    SecretKey,
}

impl Service {
    /// What a call lets its caller do, after "can": "call OpenAI at your expense".
    pub fn does(&self) -> String {
        let name = self.name;
        match self.how {
            Cost::Billed => format!("call {name} at your expense"),
            Cost::Mail => format!("send email through {name} in your name"),
            Cost::Messages => format!("send messages through {name} at your expense"),
            Cost::SecretKey => format!("call {name} with your secret key"),
        }
    }
}

const fn billed(name: &'static str) -> Service {
    Service {
        name,
        how: Cost::Billed,
        functions: false,
    }
}

const fn mail(name: &'static str) -> Service {
    Service {
        how: Cost::Mail,
        ..billed(name)
    }
}

/// Packages whose clients call a paid or sending service: every method call
/// on a client they construct is a request to it.
const SERVICE_CLIENTS: &[(&str, Service)] = &[
    ("openai", billed("OpenAI")),
    ("@anthropic-ai/sdk", billed("Anthropic")),
    ("@google/generative-ai", billed("Google Gemini")),
    ("@google/genai", billed("Google Gemini")),
    ("groq-sdk", billed("Groq")),
    ("@mistralai/mistralai", billed("Mistral")),
    ("cohere-ai", billed("Cohere")),
    ("replicate", billed("Replicate")),
    ("together-ai", billed("Together AI")),
    ("@fal-ai/client", billed("fal")),
    ("elevenlabs", billed("ElevenLabs")),
    ("@elevenlabs/elevenlabs-js", billed("ElevenLabs")),
    ("@convex-dev/agent", AGENT),
    ("@convex-dev/action-cache", billed("a cached action")),
    ("stripe", STRIPE),
    ("resend", mail("Resend")),
    ("@convex-dev/resend", RESEND_COMPONENT),
    ("@sendgrid/mail", mail("SendGrid")),
    ("postmark", mail("Postmark")),
    ("nodemailer", mail("nodemailer")),
    ("twilio", TWILIO),
];

/// The `ai` SDK's functions that call a model.
const AI_SDK_CALLS: &[&str] = &[
    "generateText",
    "streamText",
    "generateObject",
    "streamObject",
    "embed",
    "embedMany",
    "generateImage",
    "experimental_generateImage",
    "generateSpeech",
    "experimental_generateSpeech",
    "transcribe",
    "experimental_transcribe",
];

const AI_SDK: Service = Service {
    functions: true,
    ..billed("an AI model")
};
const AGENT: Service = billed("an AI model through the Agent component");
const RESEND_COMPONENT: Service = mail("Resend");
const STRIPE: Service = Service {
    how: Cost::SecretKey,
    ..billed("Stripe")
};
const TWILIO: Service = Service {
    how: Cost::Messages,
    ..billed("Twilio")
};
const AWS: Service = Service {
    how: Cost::SecretKey,
    ..billed("AWS")
};

/// The service an import reaches, if it is one.
pub fn service(source: &str, name: Option<&str>) -> Option<Service> {
    if source == "ai" {
        return name.filter(|n| AI_SDK_CALLS.contains(n)).map(|_| AI_SDK);
    }
    if source.starts_with("@aws-sdk/client-") {
        return Some(AWS);
    }
    SERVICE_CLIENTS
        .iter()
        .find(|(package, _)| *package == source)
        .map(|(_, s)| *s)
}

/// Methods of a service client that do not call the service: they check
/// what it sent (`handleResendEventWebhook` verifies the signature).
pub fn service_method(service: Service, method: &str) -> LibObjectCall {
    if service == RESEND_COMPONENT && method == "handleResendEventWebhook" {
        return LibObjectCall::VerifiesWebhook;
    }
    // The Agent's threads and messages are component data; only its
    // generating calls reach a model.
    if service == AGENT && !AI_SDK_CALLS.contains(&method) {
        return LibObjectCall::Opaque;
    }
    LibObjectCall::CallsService(service)
}

/// What `fetch(url)` does, by its literal URL when it has one.
pub fn fetch_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then_some(host)
}

/// `ctx.<path>(...)` calls that reach data or other functions.
pub fn is_protected_ctx_call(path: &[Atom]) -> bool {
    match path.first().map(|s| s.as_str()) {
        Some("db" | "storage" | "scheduler") => true,
        Some("runQuery" | "runMutation" | "runAction") => path.len() == 1,
        _ => false,
    }
}

pub fn is_ctx_identity_call(path: &[Atom]) -> bool {
    matches!(path, [a, b] if a == "auth" && b == "getUserIdentity")
}

/// Document fields that, by near-universal convention, mark a row as meant
/// for everyone: a read gated on one returns public data.
pub fn is_public_flag(field: &str) -> bool {
    matches!(field, "isPublic" | "public" | "published" | "isPublished")
}

/// A `ctx.db` method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbOp {
    Get,
    Query,
    Insert,
    Patch,
    Replace,
    Delete,
    /// `normalizeId`, `system`, ...: neither reads a document nor writes one.
    Other,
}

impl DbOp {
    pub fn reads(self) -> bool {
        matches!(self, DbOp::Get | DbOp::Query)
    }

    pub fn writes(self) -> bool {
        matches!(
            self,
            DbOp::Insert | DbOp::Patch | DbOp::Replace | DbOp::Delete
        )
    }
}

/// The `ctx.db` operation a ctx path starts with: `db.query` in
/// `ctx.db.query("t").withIndex(...)`.
pub fn db_op(path: &[Atom]) -> Option<DbOp> {
    let [db, op, ..] = path else {
        return None;
    };
    if db != "db" {
        return None;
    }
    Some(match op.as_str() {
        "get" => DbOp::Get,
        "query" => DbOp::Query,
        "insert" => DbOp::Insert,
        "patch" => DbOp::Patch,
        "replace" => DbOp::Replace,
        "delete" => DbOp::Delete,
        _ => DbOp::Other,
    })
}

/// A call of a `ctx.db` method itself (`ctx.db.get(id)`), not of a chain on it.
pub fn db_call(path: &[Atom]) -> Option<DbOp> {
    if path.len() == 2 {
        db_op(path)
    } else {
        None
    }
}

/// `ctx.runQuery`, `ctx.runMutation`, `ctx.runAction`: runs another Convex
/// function as the same caller.
pub fn is_run_function(path: &[Atom]) -> bool {
    matches!(path, [p] if p == "runQuery" || p == "runMutation" || p == "runAction")
}

/// A `ctx` call that changes something: a document, a file, scheduled work,
/// another mutation or action run. Reads (`db.get`, `runQuery`) do not.
pub fn is_ctx_write(path: &[Atom]) -> bool {
    let first = path.first().map(|s| s.as_str());
    let second = path.get(1).map(|s| s.as_str());
    match (first, second) {
        (Some("db"), Some("insert" | "patch" | "replace" | "delete")) => true,
        (Some("db"), _) => false,
        (Some("storage"), Some("generateUploadUrl" | "store" | "delete")) => true,
        (Some("storage"), _) => false,
        (Some("runQuery"), _) => false,
        _ => true,
    }
}

/// Effects a caller can multiply by calling again: new rows, new files,
/// scheduled work, other functions run. Rewriting an existing document
/// (`patch`, `replace`, `delete`) is bounded and not counted.
pub fn is_unbounded_effect(path: &[Atom]) -> bool {
    let first = path.first().map(|s| s.as_str());
    let second = path.get(1).map(|s| s.as_str());
    match (first, second) {
        (Some("db"), Some("insert")) => true,
        (Some("db"), _) => false,
        (Some("storage"), Some("generateUploadUrl" | "store")) => true,
        (Some("storage"), _) => false,
        (Some("scheduler"), _) => true,
        (Some("runAction"), _) => true,
        _ => false,
    }
}

/// A table that records other actions (an audit log): a row in it is not an
/// action of its own.
pub fn is_log_table(table: &str) -> bool {
    let t = table.to_ascii_lowercase();
    t.contains("audit") || t.ends_with("log") || t.ends_with("logs")
}

/// Query methods that scope what is read by a value: `withIndex`, `filter`, `q.eq`.
pub fn is_query_scope_method(method: &str) -> bool {
    matches!(method, "withIndex" | "filter" | "eq")
}

/// Fields of a user document that grant a role: `if (!user.isAdmin) throw`
/// checks the caller's role as `user.role === "admin"` does.
pub fn is_role_flag(field: &str) -> bool {
    let f = field
        .strip_prefix("is")
        .unwrap_or(field)
        .to_ascii_lowercase();
    matches!(
        f.as_str(),
        "admin" | "superadmin" | "staff" | "moderator" | "mod" | "owner" | "manager"
    )
}

/// Methods that test membership of a list: `doc.members.includes(me)`.
pub fn is_membership_test(method: &str) -> bool {
    method == "includes"
}

/// Document fields that say who may see a row (`visibility: "public"`).
pub fn is_visibility_field(field: &str) -> bool {
    matches!(field, "visibility" | "privacy" | "access")
}

/// What a visibility value says: `Some(true)` for `"public"`, `Some(false)`
/// for `"private"`.
pub fn visibility_is_public(value: &str) -> Option<bool> {
    match value {
        "public" => Some(true),
        "private" => Some(false),
        _ => None,
    }
}

/// Library APIs recognised by the shape of the call alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibMethod {
    /// Better Auth `auth.api.getSession({ headers })`: the session or null.
    GetSession,
    /// Stripe `stripe.webhooks.constructEvent(...)`: throws on a bad signature.
    StripeConstructEvent { is_async: bool },
}

pub fn lib_method(path: &[Atom]) -> Option<LibMethod> {
    match path {
        [.., a, b] if a == "api" && b == "getSession" => Some(LibMethod::GetSession),
        [.., a, b] if a == "webhooks" && b == "constructEvent" => {
            Some(LibMethod::StripeConstructEvent { is_async: false })
        }
        [.., a, b] if a == "webhooks" && b == "constructEventAsync" => {
            Some(LibMethod::StripeConstructEvent { is_async: true })
        }
        _ => None,
    }
}

/// What a method of a library object does (`authComponent.getAuthUser(ctx)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibObjectCall {
    /// Throws unless the caller is signed in (once awaited).
    RequiresCaller,
    /// The caller's identity, or null.
    NullableIdentity,
    /// Throws unless a webhook's signature is valid.
    VerifiesWebhook,
    /// A rate limiter's `limit` or `check`.
    RateLimit,
    /// A request to an external service.
    CallsService(Service),
    /// Touches neither identity nor data.
    Inert,
    /// Unknown: given ctx, it may read and write as it likes.
    Opaque,
}

pub fn lib_object_call(item: LibItem, method: &str) -> LibObjectCall {
    match (item, method) {
        (LibItem::BetterAuthClient, "getAuthUser") => LibObjectCall::RequiresCaller,
        (LibItem::BetterAuthClient, "safeGetAuthUser" | "getAuthUserId") => {
            LibObjectCall::NullableIdentity
        }
        (LibItem::ConvexAuth, "getUserId" | "getSessionId") => LibObjectCall::NullableIdentity,
        (LibItem::BetterAuthClient | LibItem::ConvexAuth, _) => LibObjectCall::Inert,
        (LibItem::SvixWebhook, "verify") => LibObjectCall::VerifiesWebhook,
        (LibItem::RateLimiter, "limit" | "check") => LibObjectCall::RateLimit,
        (LibItem::RateLimiter, _) => LibObjectCall::Inert,
        (LibItem::Service(service), method) => service_method(service, method),
        _ => LibObjectCall::Opaque,
    }
}

/// The platform's `fetch`: a request to another service.
pub fn is_fetch(name: &str) -> bool {
    name == "fetch"
}

/// `crypto.subtle.verify(...)`, `crypto.timingSafeEqual(a, b)` on the Web
/// Crypto or Node `crypto` object: a signature or secret checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoCheck {
    Verify,
    TimingSafeEqual,
}

/// A check made through `crypto` or `subtle` (`root`), by its last method.
pub fn crypto_check(root: &str, path: &[Atom]) -> Option<CryptoCheck> {
    if root != "crypto" && root != "subtle" {
        return None;
    }
    match path.last().map(|s| s.as_str()) {
        Some("verify") => Some(CryptoCheck::Verify),
        Some(name) if is_timing_safe_equal(name) => Some(CryptoCheck::TimingSafeEqual),
        _ => None,
    }
}

/// `timingSafeEqual`, imported bare or called on `crypto`.
pub fn is_timing_safe_equal(name: &str) -> bool {
    name == "timingSafeEqual"
}

/// Fields of a fetch `Response` that say whether it failed.
pub fn is_response_ok_field(field: &str) -> bool {
    field == "ok"
}

pub fn is_response_status_field(field: &str) -> bool {
    field == "status"
}

/// `res.text()`: a fetch response's raw body.
pub fn is_raw_body_method(method: &str) -> bool {
    method == "text"
}

/// Where a call sends its arguments for people to read: a log, an HTTP
/// response, an error message. `root` and `path` are the callee as written
/// (`console`, `[log]`; a bare name has no path).
pub fn leak_sink(root: &str, path: &[Atom], is_new: bool) -> Option<&'static str> {
    match (root, path) {
        ("console", [_]) => Some("is logged"),
        ("Response", []) if is_new => Some("is sent in an HTTP response"),
        ("Response", [json, ..]) if json == "json" => Some("is sent in an HTTP response"),
        (name, []) if name.ends_with("Error") => Some("is put in an error message"),
        _ => None,
    }
}

/// Where a call sends raw error detail to the caller: a `ConvexError`'s data
/// reaches the client as is, and so does an HTTP response's body.
pub fn detail_sink(root: &str, path: &[Atom], is_new: bool) -> Option<&'static str> {
    match (root, path) {
        ("ConvexError", []) => Some("is sent to the caller in a ConvexError"),
        ("Response", []) if is_new => Some("is sent in the HTTP response"),
        ("Response", [json, ..]) if json == "json" => Some("is sent in the HTTP response"),
        _ => None,
    }
}

/// `req.headers.get(...)`: a request header read.
pub fn is_header_get(path: &[Atom]) -> bool {
    matches!(path, [.., h, g] if h == "headers" && g == "get")
}

/// Request headers that carry a credential: `Authorization`, a cookie, an
/// API key or token header.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization"
        || name == "cookie"
        || name.contains("token")
        || name.contains("api-key")
        || name.contains("apikey")
        || name.contains("secret")
}

/// The field a failure result is tested by (`if ("error" in auth)`).
pub fn is_error_field(field: &str) -> bool {
    matches!(field, "error" | "err")
}

/// An import of the app's validated environment object: `import { env } from
/// "~/env"` (t3-env, workspace env packages), or the default or namespace
/// import of a module whose path has a segment `env` (`@acme/env/backend`).
pub fn is_env_import(source: &str, imported: Option<&str>) -> bool {
    match imported {
        Some(name) => name == "env",
        None => source
            .split('/')
            .any(|seg| seg.split('.').next() == Some("env")),
    }
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

    #[test]
    fn services() {
        assert_eq!(service("openai", None).map(|s| s.name), Some("OpenAI"));
        assert_eq!(
            service("ai", Some("generateText")).map(|s| s.name),
            Some("an AI model")
        );
        assert_eq!(service("ai", Some("tool")), None);
        assert_eq!(service("@ai-sdk/openai", Some("openai")), None);
        assert_eq!(
            service("@aws-sdk/client-s3", Some("S3Client")).map(|s| s.name),
            Some("AWS")
        );
        assert_eq!(
            fetch_host("https://api.example.com/v1?x=1"),
            Some("api.example.com")
        );
        assert_eq!(fetch_host("/relative"), None);
    }
}
