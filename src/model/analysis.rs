//! What rules ask of the model: which Convex functions exist and how they are
//! built, and, per function body, whether it authenticates its caller on every
//! path. Helper summaries are computed on demand and memoised, so each body is
//! evaluated once; a call cycle sees the conservative "proves nothing" summary.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::rc::Rc;

use swc_atoms::Atom;

use super::convex::{self, Kind, LibItem, Visibility};
use super::facts::{ArgList, FnRef, RouteHandler, Top};
use super::ir::*;
use super::project::{ModIx, Project, Target};

/// Custom builders may wrap custom builders; stop following past this depth.
const MAX_BUILDER_DEPTH: u32 = 16;

/// A Convex function the deployment exposes (or an internal one). Its spans
/// and builder name are read back from the registration or route it comes
/// from (`name_span`, `builder_span`, `builder_name`), not copied per function.
#[derive(Debug, Clone)]
pub struct ConvexFn {
    /// Its module (see `module`): 32 bits, as every index here.
    module: u32,
    /// Its registration in `module`, or (with `INLINE_ROUTE` set) the route
    /// in `module` whose inline handler it is.
    from: u32,
    /// What the id names in the module: `send` in `messages:send`, `POST
    /// /stripe` in `http:POST /stripe` (see `id`; the name is shared with
    /// the module's facts, where the id would be a string per function).
    pub name: Atom,
    pub kind: Kind,
    pub visibility: Visibility,
    pub builder: Builder,
    /// Its handler body as (module, body) in 32 bits each, the module
    /// `NONE` when it has none (see `handler`): 8 bytes, not an option's 12.
    handler_at: (u32, FnIx),
    /// `POST /stripe` when reached through an HTTP route.
    pub route: Option<Atom>,
}

/// No handler: the module half of `handler_at`.
const NONE: u32 = u32::MAX;
/// `ConvexFn::from` names a route, not a registration.
const INLINE_ROUTE: u32 = 1 << 31;

// The project holds one record per function (120,000 at 10,000 files).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<ConvexFn>() <= 40);

impl ConvexFn {
    pub fn module(&self) -> ModIx {
        self.module as ModIx
    }

    /// Its handler body (module, body).
    pub fn handler(&self) -> Option<(ModIx, FnIx)> {
        let (m, ix) = self.handler_at;
        (m != NONE).then_some((m as ModIx, ix))
    }

    /// Its registration in `module`, whose `args` the rules read through
    /// `Analysis::args` (None for a route).
    pub fn reg(&self) -> Option<usize> {
        (self.route.is_none() && self.from & INLINE_ROUTE == 0).then_some(self.from as usize)
    }

    /// Where it is declared: the registration or the inline route.
    fn source<'p>(&self, project: &'p Project) -> Option<Source<'p>> {
        let facts = &project.module(self.module())?.facts;
        if self.from & INLINE_ROUTE == 0 {
            return facts.registrations.get(self.from as usize).map(Source::Reg);
        }
        let route = facts.routes.get((self.from & !INLINE_ROUTE) as usize)?;
        match &route.handler {
            RouteHandler::Inline {
                builder,
                builder_span,
                ..
            } => Some(Source::Inline(route.span, builder, *builder_span)),
            RouteHandler::Ref(_) => None,
        }
    }

    /// The exported name (or the route), where findings point.
    pub fn name_span(&self, project: &Project) -> Sp {
        match self.source(project) {
            Some(Source::Reg(reg)) => reg.name_span,
            Some(Source::Inline(span, ..)) => span,
            None => Sp::default(),
        }
    }

    /// The builder call (`mutation`, `authedQuery`).
    pub fn builder_span(&self, project: &Project) -> Sp {
        match self.source(project) {
            Some(Source::Reg(reg)) => reg.builder_span,
            Some(Source::Inline(_, _, span)) => span,
            None => Sp::default(),
        }
    }

    /// The builder's name as written at the call (`authedQuery`).
    pub fn builder_name<'p>(&self, project: &'p Project) -> &'p str {
        match self.source(project) {
            Some(Source::Reg(reg)) => &reg.builder,
            Some(Source::Inline(_, builder, _)) => builder,
            None => "",
        }
    }

    /// A query, mutation or action any client can call by name (not an HTTP
    /// route, not internal).
    pub fn client_callable(&self) -> bool {
        self.visibility == Visibility::Public
            && self.route.is_none()
            && self.kind != Kind::HttpAction
    }

    /// The export part of the id: `remove` for `admin/users:remove`, or a
    /// route's label (`GET /users/:id`, whole: not cut at its last `:`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `messages:send`, `http:POST /stripe`: its module's id and its name.
    pub fn id<'a>(&'a self, project: &'a Project) -> FnId<'a> {
        FnId {
            module: project.module(self.module()).map_or("", |m| m.id.as_str()),
            name: &self.name,
        }
    }
}

/// Where a function is declared.
enum Source<'p> {
    Reg(&'p super::facts::Registration),
    /// An inline route handler: the route's span, its builder and that's span.
    Inline(Sp, &'p Atom, Sp),
}

/// A function's id, printed as `module:name` without building the string.
#[derive(Clone, Copy)]
pub struct FnId<'a> {
    module: &'a str,
    name: &'a str,
}

impl std::fmt::Display for FnId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.module, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct Builder {
    pub kind: Kind,
    pub visibility: Visibility,
    /// A custom builder's customisation authenticates the caller.
    pub authenticated: bool,
    /// A customisation wraps `ctx.db` with row-level security rules.
    pub row_level_security: bool,
    /// A customisation checks the caller's role (`adminMutation`).
    pub checks_role: bool,
    /// A customisation applies a rate limit.
    pub rate_limited: bool,
}

/// Something a body does without an authenticated caller.
#[derive(Debug, Clone)]
pub struct Event {
    pub span: Sp,
    pub what: String,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Returns normally only once the caller is authenticated.
    pub guarantee: bool,
    /// Never returns normally (every path throws).
    pub never_returns: bool,
    /// Returns something that is null for an anonymous caller and set otherwise.
    pub returns_identity: bool,
    /// Must be awaited for a rejection to reach the caller.
    pub is_async: bool,
    /// The first write reachable without authentication.
    pub unguarded_write: Option<Event>,
    /// The first read, returned to the caller, reachable without authentication.
    pub unguarded_return: Option<Event>,
    /// Returns a value derived from a server secret (an HMAC, an env var).
    pub returns_secret: bool,
    /// Guarantees authentication when its arguments are identities
    /// (`assertSignedIn(identity)` throws on null).
    pub guarantee_given_identity: bool,
    /// Some path becomes authenticated (a check exists, if not on every path).
    pub authenticates_somewhere: bool,
    /// Returns the content of this env var.
    pub returns_env: Option<Atom>,
    /// The first side effect reachable before any rate limit.
    pub unlimited_effect: Option<Event>,
    /// Every normal return is rate limited.
    pub limits: bool,
    /// Shaped like a hand-written rate limiter: compares a count read from
    /// the database with a limit, and records the request.
    pub rate_limiter: bool,
    /// Some path throws.
    pub throws: bool,
    /// Reads the database, itself or through helpers.
    pub reads_db: bool,
    /// Writes the database, itself or through helpers.
    pub writes_db: bool,
}

/// A document addressed by a client-supplied id, read and returned or written,
/// with nothing comparing it with the caller.
#[derive(Debug, Clone)]
pub struct Unowned {
    /// The read or write.
    pub span: Sp,
    pub op: String,
    pub write: bool,
    /// The `args` entry the id came from, and its validator's span.
    pub arg: Atom,
    pub arg_span: Sp,
    pub table: Atom,
}

/// A user id taken from the arguments and used as if it were the caller's.
#[derive(Debug, Clone)]
pub struct ClientUserId {
    pub arg: Atom,
    pub arg_span: Sp,
    /// The write or the scoped read.
    pub span: Sp,
    pub write: bool,
}

/// Raw error detail (a caught error, an external response body) sent back.
#[derive(Debug, Clone)]
pub struct DetailLeak {
    pub span: Sp,
    /// "the caught error", "the external response body".
    pub what: &'static str,
    /// "is returned to the caller", ...
    pub sink: &'static str,
}

/// An env var's content reaching somewhere it leaks.
#[derive(Debug, Clone)]
pub struct EnvLeak {
    pub span: Sp,
    pub var: Atom,
    /// "is returned to the caller", "is logged", ...
    pub sink: &'static str,
}

/// An identity whose null case is never handled.
#[derive(Debug, Clone)]
pub struct Unchecked {
    /// The call that fetched it.
    pub span: Sp,
    pub source: String,
    /// The binding, if any.
    pub name: Option<Atom>,
    /// Where it is dereferenced, if it is.
    pub deref: Option<Sp>,
    pub discarded: bool,
}

enum Slot {
    InProgress,
    Done(Rc<Summary>),
}

/// Per-body results, by (module, function).
type Memo<T> = HashMap<(ModIx, FnIx), T>;

pub struct Analysis<'p> {
    pub project: &'p Project,
    summaries: RefCell<Memo<Slot>>,
    /// Handlers evaluated as endpoints, and what rules asked of them: several
    /// rules ask the same questions of every handler.
    endpoints: RefCell<HashMap<(ModIx, FnIx, bool), Rc<Summary>>>,
    callers_checked: RefCell<Memo<bool>>,
    unchecked: RefCell<Memo<Rc<[Unchecked]>>>,
    /// What each call does, shared by the evaluations of one body: keyed by
    /// the body's address, the call, and `params_are_identities`.
    call_fx: RefCell<HashMap<(usize, CallIx, bool), Rc<CallFx>>>,
    /// Helper summaries being computed: while one is, a call's effect may
    /// reflect an unfinished summary (a cycle), so it is not shared.
    summarising: std::cell::Cell<u32>,
    /// Names resolved across modules, by (module, name): the same imports are
    /// looked up for every call.
    resolved: RefCell<HashMap<(ModIx, Atom), Target>>,
    /// Bodies decoded so far (the project holds them packed).
    decoded: elsa::FrozenMap<(ModIx, FnIx), Box<FnBody>, rustc_hash::FxBuildHasher>,
    known: Known,
}

/// Project-specific checks named in the configuration, for code the model
/// cannot see into (a package) or does not recognise: by bare name (`requireUser`)
/// or as `module:export` (`lib/auth:requireUser`).
#[derive(Debug, Default, Clone)]
pub struct Known {
    /// Return only for an authenticated caller.
    pub auth: Vec<String>,
    /// Check the caller's role.
    pub roles: Vec<String>,
    /// Apply a rate limit (throwing when over it).
    pub rate_limits: Vec<String>,
    /// Argument and field names that hold the owning user's id.
    pub owner_fields: Vec<String>,
}

impl<'p> Analysis<'p> {
    pub fn new(project: &'p Project) -> Self {
        Self::with_known(project, Known::default())
    }

    pub fn with_known(project: &'p Project, known: Known) -> Self {
        Analysis {
            project,
            summaries: RefCell::new(HashMap::default()),
            endpoints: RefCell::new(HashMap::default()),
            callers_checked: RefCell::new(HashMap::default()),
            unchecked: RefCell::new(HashMap::default()),
            call_fx: RefCell::new(HashMap::default()),
            summarising: std::cell::Cell::new(0),
            resolved: RefCell::new(HashMap::default()),
            decoded: elsa::FrozenMap::default(),
            known,
        }
    }

    /// A function's `args` validators (None: legacy form, no `args` key, or a route).
    pub fn args(&self, f: &ConvexFn) -> Option<ArgList<'p>> {
        let module = self.project.module(f.module())?;
        let args = module.facts.registrations.get(f.reg()?)?.args.as_ref()?;
        Some(module.facts.args.get(args))
    }

    /// What the configuration declares about the project.
    pub fn known(&self) -> &Known {
        &self.known
    }

    /// Does a configured entry name this call (by its callee name, or as the
    /// `module:export` it resolves to)?
    fn known_as(&self, list: &[String], m: ModIx, f: &FnBody, call: &CallSite) -> bool {
        if list.is_empty() {
            return false;
        }
        let name = match &call.callee {
            Callee::Name(n) => Some(n.as_str()),
            Callee::Member(_, p) | Callee::Method(_, p) => f[*p].last().map(|s| s.as_str()),
            _ => None,
        };
        if name.is_some_and(|n| list.iter().any(|k| k == n)) {
            return true;
        }
        let Target::Fn(tm, tix) = self.call_target(m, f, call) else {
            return false;
        };
        let Some(module) = self.project.module(tm) else {
            return false;
        };
        module.facts.exports.iter().any(|(exported, local)| {
            matches!(module.facts.top(local), Some(Top::Fn(ix)) if *ix == tix)
                && list
                    .iter()
                    .any(|k| *k == format!("{}:{exported}", module.id))
        })
    }

    /// `Project::resolve_name`, memoised.
    pub fn resolve(&self, m: ModIx, name: &Atom) -> Target {
        let key = (m, name.clone());
        if let Some(t) = self.resolved.borrow().get(&key) {
            return t.clone();
        }
        let t = self.project.resolve_name(m, name);
        self.resolved.borrow_mut().insert(key, t.clone());
        t
    }

    /// What a call in module `m` calls: `f(...)` or `obj.a.b(...)`.
    pub fn call_target(&self, m: ModIx, f: &FnBody, call: &CallSite) -> Target {
        match &call.callee {
            Callee::Name(n) => self.resolve(m, n),
            Callee::Member(root, path) => {
                let base = self.resolve(m, root);
                self.project.resolve_path(base, &f[*path], 0)
            }
            _ => Target::Unknown,
        }
    }

    /// Body `ix` of module `m`, decoded the first time it is asked for.
    pub fn body(&self, m: ModIx, ix: FnIx) -> Option<&FnBody> {
        if let Some(body) = self.decoded.get(&(m, ix)) {
            return Some(body);
        }
        let body = self.project.module(m)?.facts.bodies.get(ix)?;
        Some(self.decoded.insert((m, ix), Box::new(body)))
    }

    /// How many bodies module `m` has.
    pub fn body_count(&self, m: ModIx) -> u32 {
        self.project
            .module(m)
            .map_or(0, |module| module.facts.bodies.len() as u32)
    }

    pub fn summary(&self, m: ModIx, ix: FnIx) -> Rc<Summary> {
        if let Some(slot) = self.summaries.borrow().get(&(m, ix)) {
            return match slot {
                Slot::Done(s) => s.clone(),
                // A recursive call: assume it proves nothing.
                Slot::InProgress => Rc::new(Summary::default()),
            };
        }
        self.summaries
            .borrow_mut()
            .insert((m, ix), Slot::InProgress);
        self.summarising.set(self.summarising.get() + 1);
        let summary = match self.body(m, ix) {
            Some(body) => {
                let mut s = FnEval::new(self, m, body).summarise(false);
                if !body.params.is_empty() && !s.guarantee {
                    let mut given = FnEval::new(self, m, body);
                    given.params_are_identities = true;
                    s.guarantee_given_identity = given.summarise(false).guarantee;
                }
                Rc::new(s)
            }
            None => Rc::new(Summary::default()),
        };
        self.summarising.set(self.summarising.get() - 1);
        self.summaries
            .borrow_mut()
            .insert((m, ix), Slot::Done(summary.clone()));
        summary
    }

    /// The Convex functions in a run of modules: exported registrations, and
    /// HTTP routes (by the module that declares the route).
    pub fn functions_in(&self, modules: std::ops::Range<ModIx>) -> Vec<ConvexFn> {
        let mut out = Vec::new();
        let project = self.project;
        for (m, module) in project
            .modules
            .iter()
            .enumerate()
            .skip(modules.start)
            .take(modules.len())
        {
            let facts = &module.facts;
            for (exported, local) in &facts.exports {
                let Some(Top::Reg(r)) = facts.top(local) else {
                    continue;
                };
                let Some(reg) = facts.registrations.get(*r) else {
                    continue;
                };
                let Some(builder) = self.builder(m, &reg.builder, 0) else {
                    continue;
                };
                // An HTTP action is reachable only through a route.
                if builder.kind == Kind::HttpAction {
                    continue;
                }
                let (Ok(module), Ok(from)) = (u32::try_from(m), u32::try_from(*r)) else {
                    continue;
                };
                if from & INLINE_ROUTE != 0 {
                    continue;
                }
                out.push(ConvexFn {
                    module,
                    from,
                    name: exported.clone(),
                    kind: builder.kind,
                    visibility: builder.visibility,
                    handler_at: self.handler_at(m, reg.handler.as_ref()),
                    builder,
                    route: None,
                });
            }
            for (ix, route) in facts.routes.iter().enumerate() {
                if let Some(f) = self.route_fn(m, ix, route) {
                    out.push(f);
                }
            }
        }
        out
    }

    fn route_fn(&self, m: ModIx, ix: usize, route: &super::facts::Route) -> Option<ConvexFn> {
        self.project.module(m)?;
        let label = format!("{} {}", route.method, route.path);
        match &route.handler {
            RouteHandler::Inline {
                builder, handler, ..
            } => {
                let b = self.builder(m, builder, 0)?;
                let label = Atom::from(label);
                let from = u32::try_from(ix).ok().filter(|ix| ix & INLINE_ROUTE == 0)?;
                Some(ConvexFn {
                    module: u32::try_from(m).ok()?,
                    from: from | INLINE_ROUTE,
                    name: label.clone(),
                    kind: b.kind,
                    visibility: Visibility::Public,
                    handler_at: self.handler_at(m, handler.as_ref()),
                    builder: b,
                    route: Some(label),
                })
            }
            RouteHandler::Ref(r) => {
                let Target::Reg(t, ri) = self.project.resolve_ref(m, r) else {
                    return None;
                };
                let target = self.project.module(t)?;
                let reg = target.facts.registrations.get(ri)?;
                let b = self.builder(t, &reg.builder, 0)?;
                let name = target
                    .facts
                    .exports
                    .iter()
                    .find(|(_, l)| *l == reg.local)
                    .map(|(e, _)| e.clone())
                    .unwrap_or_else(|| reg.local.clone());
                Some(ConvexFn {
                    module: u32::try_from(t).ok()?,
                    from: u32::try_from(ri).ok().filter(|ri| ri & INLINE_ROUTE == 0)?,
                    name,
                    kind: b.kind,
                    visibility: Visibility::Public,
                    handler_at: self.handler_at(t, reg.handler.as_ref()),
                    builder: b,
                    route: Some(Atom::from(label)),
                })
            }
        }
    }

    /// The handler body a reference resolves to, as `ConvexFn::handler_at` holds it.
    fn handler_at(&self, m: ModIx, r: Option<&FnRef>) -> (u32, FnIx) {
        match r.map(|r| self.project.resolve_ref(m, r)) {
            Some(Target::Fn(t, ix)) => match u32::try_from(t) {
                Ok(t) if t != NONE => (t, ix),
                _ => (NONE, 0),
            },
            _ => (NONE, 0),
        }
    }

    /// What a builder name in module `m` builds, following custom builders.
    pub fn builder(&self, m: ModIx, name: &Atom, depth: u32) -> Option<Builder> {
        if depth > MAX_BUILDER_DEPTH {
            return None;
        }
        match self.resolve(m, name) {
            Target::Builder(kind, visibility) => Some(Builder {
                kind,
                visibility,
                authenticated: false,
                row_level_security: false,
                checks_role: false,
                rate_limited: false,
            }),
            Target::Custom(t, cname) => {
                let Some(Top::Custom(def)) = self.project.module(t)?.facts.top(&cname) else {
                    return None;
                };
                let mut b = self.builder(t, &def.base, depth + 1)?;
                if let Some(custom) = &def.customisation {
                    if let Target::Fn(cm, cix) = self.project.resolve_ref(t, custom) {
                        let on_ctx = b.authenticated;
                        if !on_ctx {
                            b.authenticated = self.summary(cm, cix).guarantee;
                        }
                        b.checks_role |= self.checks_role_depth(cm, cix, on_ctx, 0);
                        b.rate_limited |= self.summary(cm, cix).limits;
                        b.row_level_security |= self.uses_row_level_security(cm, cix);
                    }
                }
                Some(b)
            }
            _ => None,
        }
    }

    fn uses_row_level_security(&self, m: ModIx, ix: FnIx) -> bool {
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        body.calls.iter().any(|c| match &c.callee {
            Callee::Name(n) => matches!(self.resolve(m, n), Target::Lib(LibItem::RowLevelSecurity)),
            _ => false,
        })
    }

    /// Does the handler call a helper that checks the caller's role?
    pub fn handler_checks_role(&self, m: ModIx, ix: FnIx) -> bool {
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        let eval = FnEval::new(self, m, body);
        body.calls.iter().any(|c| eval.calls_role_check(c))
    }

    /// The first side effect of a handler reachable before any rate limit.
    pub fn unlimited_effect(&self, m: ModIx, ix: FnIx) -> Option<Event> {
        self.endpoint(m, ix, false).unlimited_effect.clone()
    }

    /// Evaluates a handler as an endpoint, starting authenticated or not.
    pub fn endpoint(&self, m: ModIx, ix: FnIx, authenticated: bool) -> Rc<Summary> {
        let key = (m, ix, authenticated);
        if let Some(s) = self.endpoints.borrow().get(&key) {
            return s.clone();
        }
        let summary = Rc::new(match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).summarise(authenticated),
            None => Summary::default(),
        });
        self.endpoints.borrow_mut().insert(key, summary.clone());
        summary
    }

    /// A client-callable function that checks its caller but leaves access to
    /// each document to its own code: no row-level security, no admin-only
    /// builder. Where ownership and claimed identities matter; a function that
    /// checks no caller at all is `missing-auth`'s.
    pub fn decides_access_per_document(&self, f: &ConvexFn) -> bool {
        f.client_callable()
            && !f.builder.row_level_security
            && !f.builder.checks_role
            && self.checks_caller(f)
    }

    /// Does the function check who calls it at all (however partially)?
    pub fn checks_caller(&self, f: &ConvexFn) -> bool {
        if f.builder.authenticated || f.builder.row_level_security {
            return true;
        }
        let Some((m, ix)) = f.handler() else {
            return true;
        };
        if let Some(&known) = self.callers_checked.borrow().get(&(m, ix)) {
            return known;
        }
        let checks = match self.body(m, ix) {
            None => true,
            Some(_) if self.endpoint(m, ix, false).authenticates_somewhere => true,
            Some(body) => {
                let mut eval = FnEval::new(self, m, body);
                (0..body.calls.len() as CallIx).any(|c| {
                    let fx = eval.fx(c);
                    fx.identity || fx.guarantee || fx.verifier
                })
            }
        };
        self.callers_checked.borrow_mut().insert((m, ix), checks);
        checks
    }

    /// Does a helper compare the caller with a constant (`user.role === "admin"`),
    /// itself or through the helpers it calls?
    pub fn checks_role(&self, m: ModIx, ix: FnIx) -> bool {
        self.checks_role_depth(m, ix, false, 0)
    }

    /// `caller_on_ctx`: the body is a customisation on an authenticating
    /// builder, so `ctx.user` is the caller.
    fn checks_role_depth(&self, m: ModIx, ix: FnIx, caller_on_ctx: bool, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        let mut eval = FnEval::new(self, m, body);
        let conds = body_conds(body);
        // `RANK[user.role] < RANK[role]`: a computed test on the caller.
        let mut truthy = Vec::new();
        for c in &conds {
            collect_truthy(body, c, &mut truthy);
        }
        if truthy.iter().any(|v| {
            matches!(v.head, Head::Other) && body[v.refs].iter().any(|r| eval.is_caller_name(r))
        }) {
            return true;
        }
        let mut compares = Vec::new();
        for c in &conds {
            collect_compares(body, c, &mut compares);
        }
        if compares.iter().any(|(l, r)| {
            body[l.refs]
                .iter()
                .chain(&body[r.refs])
                .any(|n| eval.is_caller_name(n))
        }) {
            return true;
        }
        // `if (!isAdmin(user)) throw`: a predicate helper given the caller.
        for v in &truthy {
            let Head::Call(cix) = v.head else {
                continue;
            };
            let Some(call) = body.call(cix) else {
                continue;
            };
            if let Target::Fn(tm, tix) = self.call_target(m, body, call) {
                if self.is_param_predicate(tm, tix)
                    && body[call.name_args].iter().any(|n| eval.is_caller_name(n))
                {
                    return true;
                }
            }
        }
        let on_ctx = |v: &Val| {
            caller_on_ctx && matches!(&v.head, Head::Name(n) if body.ctx_names.contains(n))
        };
        let mut eqs = Vec::new();
        for c in conds {
            collect_eqs(body, c, &mut eqs);
        }
        // A constant (`"admin"`), or a parameter (`requireRole(ctx, "admin")`).
        let constant = |v: &Val| {
            (matches!(v.head, Head::Lit) && v.refs.is_empty())
                || matches!(&v.head, Head::Name(n) if body.params.contains(n))
        };
        if eqs.iter().any(|(l, r)| {
            (constant(r) && (on_ctx(l) || eval.is_caller(l, false, 0)))
                || (constant(l) && (on_ctx(r) || eval.is_caller(r, false, 0)))
        }) {
            return true;
        }
        body.calls.iter().any(|call| {
            matches!(self.call_target(m, body, call),
                Target::Fn(tm, tix) if self.checks_role_depth(tm, tix, false, depth + 1))
        })
    }

    /// Does a helper return a comparison of its parameter with a constant
    /// (`return user.role === "admin"`)?
    fn is_param_predicate(&self, m: ModIx, ix: FnIx) -> bool {
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        let Some(tree) = &body.body else {
            return false;
        };
        let mut returns = Vec::new();
        collect_returns(body, tree, &mut returns);
        let constant = is_constant;
        returns.iter().any(|v| {
            let Head::Cond(c) = &v.head else {
                return false;
            };
            let mut eqs = Vec::new();
            collect_eqs(body, &body[*c], &mut eqs);
            eqs.iter().any(|(a, b)| {
                (body[a.refs].iter().any(|r| body.params.contains(r)) && constant(b))
                    || (body[b.refs].iter().any(|r| body.params.contains(r)) && constant(a))
            })
        })
    }

    /// Documents addressed by id arguments and touched without an ownership,
    /// membership or role check (`caller_on_ctx`: a custom builder put the
    /// authenticated user on ctx, as `ctx.user`).
    pub fn unowned(
        &self,
        m: ModIx,
        ix: FnIx,
        id_args: &[(Atom, Atom, Sp)],
        caller_on_ctx: bool,
    ) -> Vec<Unowned> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).unowned(id_args, caller_on_ctx),
            None => Vec::new(),
        }
    }

    /// User ids from `args` that scope writes or reads without being compared
    /// with the caller.
    pub fn client_user_ids(
        &self,
        m: ModIx,
        ix: FnIx,
        candidates: &[(Atom, Sp)],
        caller_on_ctx: bool,
    ) -> Vec<ClientUserId> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).client_user_ids(candidates, caller_on_ctx),
            None => Vec::new(),
        }
    }

    /// Caught errors and external response bodies that reach the caller.
    pub fn detail_leaks(&self, m: ModIx, ix: FnIx, returns_to_client: bool) -> Vec<DetailLeak> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).detail_leaks(returns_to_client),
            None => Vec::new(),
        }
    }

    /// Env var contents that leak from a body (`returns_to_client`: it is a
    /// public function's handler, so its return value reaches the caller).
    pub fn env_leaks(&self, m: ModIx, ix: FnIx, returns_to_client: bool) -> Vec<EnvLeak> {
        match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).env_leaks(returns_to_client),
            None => Vec::new(),
        }
    }

    /// Identities fetched in a body whose null case is never handled.
    pub fn unchecked(&self, m: ModIx, ix: FnIx) -> Rc<[Unchecked]> {
        if let Some(found) = self.unchecked.borrow().get(&(m, ix)) {
            return found.clone();
        }
        let found: Rc<[Unchecked]> = match self.body(m, ix) {
            Some(body) => FnEval::new(self, m, body).unchecked().into(),
            None => Rc::new([]),
        };
        self.unchecked.borrow_mut().insert((m, ix), found.clone());
        found
    }
}

/// The effect of one call on the caller's state.
#[derive(Clone, Debug, Default)]
struct CallFx {
    guarantee: bool,
    never_returns: bool,
    /// Null for an anonymous caller, set otherwise.
    identity: bool,
    /// A boolean that is true only for a verified request.
    verifier: bool,
    /// Returns a value derived from a server secret.
    secret: bool,
    /// Returns the content of this env var.
    env: Option<Atom>,
    /// Applies a rate limit that throws when over (`{ throws: true }`).
    limits: bool,
    /// Returns a rate-limit verdict the caller must act on (`{ ok }`).
    limit_result: bool,
    /// A side effect (write, schedule, external request) anyone could repeat.
    effect: Option<What>,
    reads_db: bool,
    writes_db: bool,
    write: Option<What>,
    read: Option<What>,
    /// The call's name in messages.
    label: Label,
}

/// The name messages give a call, rendered only when one is built: every
/// call is classified, few are ever named.
#[derive(Clone, Debug, Default)]
enum Label {
    /// As written: `ctx.db.insert()`, `sendEmail()`, `auth.check()`.
    #[default]
    Written,
    /// The helper it resolves to: `requireUser()`.
    Helper(Atom),
    /// A Convex function it runs: `ctx.runQuery() (users:get)`.
    Runs(String),
}

impl Label {
    fn render(&self, f: &FnBody, call: &CallSite) -> String {
        match self {
            Label::Written => match &call.callee {
                Callee::Ctx(path) => format!("{}()", dotted(&Atom::from("ctx"), &f[*path])),
                Callee::Name(n) => format!("{n}()"),
                Callee::Member(root, path) => format!("{}()", dotted(root, &f[*path])),
                Callee::Method(_, path) => {
                    format!("{}()", f[*path].last().map(|s| s.as_str()).unwrap_or("?"))
                }
                Callee::Dynamic => String::new(),
            },
            Label::Helper(name) => format!("{name}()"),
            Label::Runs(text) => text.clone(),
        }
    }
}

/// What a message says a call does, after its label.
#[derive(Clone, Debug)]
enum What {
    /// The label alone.
    Call,
    /// Fixed text instead of the label.
    Fixed(&'static str),
    /// The label and a note in parentheses.
    Noted(&'static str),
    /// The label, then what the function it calls does (`which calls`, the event).
    Via(&'static str, String),
}

impl What {
    fn render(&self, label: &Label, f: &FnBody, call: &CallSite) -> String {
        match self {
            What::Call => label.render(f, call),
            What::Fixed(text) => (*text).to_string(),
            What::Noted(note) => format!("{} {note}", label.render(f, call)),
            What::Via(how, what) => format!("{}, {how} {what}", label.render(f, call)),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct St {
    alive: bool,
    authed: bool,
    /// A rate limit has been applied on this path.
    limited: bool,
    /// The first unauthenticated read on this path (index into `reads`).
    read: Option<usize>,
}

fn join(a: St, b: St) -> St {
    if !a.alive {
        return b;
    }
    if !b.alive {
        return a;
    }
    St {
        alive: true,
        authed: a.authed && b.authed,
        limited: a.limited && b.limited,
        read: a.read.or(b.read),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    /// `null`, `undefined`, `false`, or no value.
    Nullish,
    /// A constant that is not nullish (`[]`, `{ ok: true }`).
    Constant,
    Identity,
    /// `{ error: ... }`: a failure result the caller tests.
    ErrorShaped,
    Data,
}

struct FnEval<'a, 'p> {
    an: &'a Analysis<'p>,
    m: ModIx,
    f: &'a FnBody,
    fx: Vec<Option<Rc<CallFx>>>,
    writes: Vec<Event>,
    reads: Vec<Event>,
    leaks: Vec<Event>,
    returns: Vec<(bool, Ret)>,
    returns_secret: bool,
    witness_memo: HashMap<Atom, bool>,
    /// Evaluate as if every plain parameter were a nullable identity.
    params_are_identities: bool,
    ever_authed: bool,
    returns_env: Option<Atom>,
    effects: Vec<Event>,
    /// Every normal return so far was rate limited.
    returns_limited: bool,
    throws: bool,
}

impl<'a, 'p> FnEval<'a, 'p> {
    fn new(an: &'a Analysis<'p>, m: ModIx, f: &'a FnBody) -> Self {
        FnEval {
            an,
            m,
            f,
            fx: vec![None; f.calls.len()],
            writes: Vec::new(),
            reads: Vec::new(),
            leaks: Vec::new(),
            returns: Vec::new(),
            returns_secret: false,
            witness_memo: HashMap::default(),
            params_are_identities: false,
            ever_authed: false,
            returns_env: None,
            effects: Vec::new(),
            returns_limited: true,
            throws: false,
        }
    }

    fn summarise(mut self, authenticated: bool) -> Summary {
        let start = St {
            alive: true,
            authed: authenticated,
            limited: false,
            read: None,
        };
        let end = match self.f.body.as_ref() {
            Some(body) => self.eval(body, start, false),
            None => start,
        };
        if end.alive {
            self.returns.push((end.authed, Ret::Nullish));
            self.returns_limited &= end.limited;
        }
        let guarantee = !self.returns.is_empty() && self.returns.iter().all(|(a, _)| *a);
        let rate_limiter = self.looks_like_rate_limiter();
        let (mut reads_db, mut writes_db) = (false, false);
        for ix in 0..self.f.calls.len() as CallIx {
            let fx = self.fx(ix);
            reads_db |= fx.reads_db;
            writes_db |= fx.writes_db;
        }
        let returns_identity = !guarantee
            && self.returns.iter().all(|(a, r)| *a || *r != Ret::Data)
            && self
                .returns
                .iter()
                .any(|(a, r)| *r == Ret::Identity || (*a && *r == Ret::Data));
        Summary {
            guarantee,
            never_returns: self.returns.is_empty() && self.f.body.is_some(),
            returns_identity,
            is_async: self.f.is_async,
            unguarded_write: self.writes.into_iter().min_by_key(|e| e.span),
            unguarded_return: self.leaks.into_iter().min_by_key(|e| e.span),
            returns_secret: self.returns_secret,
            guarantee_given_identity: false,
            authenticates_somewhere: self.ever_authed,
            returns_env: self.returns_env.clone(),
            unlimited_effect: self.effects.into_iter().min_by_key(|e| e.span),
            limits: !self.returns.is_empty() && self.returns_limited,
            rate_limiter,
            throws: self.throws,
            reads_db,
            writes_db,
        }
    }

    fn eval(&mut self, node: &Node, st: St, nested: bool) -> St {
        if !st.alive {
            return st;
        }
        let f = self.f;
        match node {
            Node::Seq(nodes) => self.eval_seq(*nodes, st, nested),
            Node::If(i) => {
                let If { cond, then, els } = &f[*i];
                let cond = &f[*cond];
                let t = self.refine(st, cond, true);
                let e = self.refine(st, cond, false);
                let t = self.eval(then, t, nested);
                let e = self.eval(els, e, nested);
                join(t, e)
            }
            Node::Call(ix) => self.call(*ix, st),
            Node::Return(v) => {
                if !nested {
                    let v = v.map(|v| &f[v]);
                    let ret = v.map_or(Ret::Nullish, |v| self.ret_kind(v));
                    if let Some(v) = v {
                        if !self.returns_secret && self.is_secret(v, 0) {
                            self.returns_secret = true;
                        }
                        if self.returns_env.is_none() {
                            self.returns_env = self.carries_env(&v.flow, &v.head, 0);
                        }
                    }
                    if !st.authed && ret == Ret::Data {
                        if let Some(r) = st.read.and_then(|i| self.reads.get(i)) {
                            self.leaks.push(r.clone());
                        }
                    }
                    self.returns.push((st.authed, ret));
                    self.returns_limited &= st.limited;
                }
                St { alive: false, ..st }
            }
            Node::Throw => {
                if !nested {
                    self.throws = true;
                }
                St { alive: false, ..st }
            }
            Node::Loop(body) => {
                let after = self.eval_seq(*body, st, nested);
                join(st, after)
            }
            Node::Try(t) => {
                let Try {
                    body,
                    handler,
                    finalizer,
                } = &f[*t];
                let b = self.eval(body, st, nested);
                // The handler may run after any prefix of the body: start from the entry.
                let mut out = match handler {
                    Some(h) => {
                        let h = self.eval(h, st, nested);
                        join(b, h)
                    }
                    None => b,
                };
                if let Some(fin) = finalizer {
                    let entry = if out.alive { out } else { st };
                    let after = self.eval(fin, entry, nested);
                    if out.alive {
                        out = after;
                    }
                }
                out
            }
            Node::Nested(body) => {
                self.eval_seq(*body, st, true);
                st
            }
        }
    }

    fn eval_seq(&mut self, nodes: Run<Node>, mut st: St, nested: bool) -> St {
        for n in &self.f[nodes] {
            if !st.alive {
                break;
            }
            st = self.eval(n, st, nested);
        }
        st
    }

    fn call(&mut self, ix: CallIx, mut st: St) -> St {
        let fx = self.fx(ix);
        // Every `What` is set from a call site: without one there is none.
        if let Some(call) = self.f.call(ix) {
            let event = |what: &What| Event {
                span: call.span,
                what: what.render(&fx.label, self.f, call),
            };
            if !st.authed {
                if let Some(what) = &fx.write {
                    self.writes.push(event(what));
                }
                if let Some(what) = &fx.read {
                    if st.read.is_none() {
                        self.reads.push(event(what));
                        st.read = Some(self.reads.len() - 1);
                    }
                }
            }
            if !st.limited {
                if let Some(what) = &fx.effect {
                    self.effects.push(event(what));
                }
            }
        }
        if fx.limits {
            st.limited = true;
        }
        if fx.never_returns {
            st.alive = false;
        }
        if fx.guarantee {
            st.authed = true;
            self.ever_authed = true;
        }
        st
    }

    fn fx(&mut self, ix: CallIx) -> Rc<CallFx> {
        if let Some(Some(fx)) = self.fx.get(ix as usize) {
            return fx.clone();
        }
        let key = (
            std::ptr::from_ref(self.f) as usize,
            ix,
            self.params_are_identities,
        );
        let shared = self.an.call_fx.borrow().get(&key).cloned();
        let fx = match shared {
            Some(fx) => fx,
            None => {
                let fx = Rc::new(self.classify(ix));
                if self.an.summarising.get() == 0 {
                    self.an.call_fx.borrow_mut().insert(key, fx.clone());
                }
                fx
            }
        };
        if let Some(slot) = self.fx.get_mut(ix as usize) {
            *slot = Some(fx.clone());
        }
        fx
    }

    fn classify(&mut self, ix: CallIx) -> CallFx {
        let Some(call) = self.f.call(ix) else {
            return CallFx::default();
        };
        let project = self.an.project;
        let f = self.f;
        let mut fx = CallFx::default();
        match &call.callee {
            Callee::Ctx(path) => {
                let path = &f[*path];
                if let [db, op, ..] = path {
                    if db == "db" {
                        fx.reads_db = matches!(op.as_str(), "get" | "query");
                        fx.writes_db =
                            matches!(op.as_str(), "insert" | "patch" | "replace" | "delete");
                    }
                }
                if convex::is_ctx_identity_call(path) {
                    fx.identity = true;
                } else if let Some(target) = self.called_function(path, call) {
                    // `ctx.runQuery(api.users.current)`: the called function runs
                    // as the same caller, so its own checks count here.
                    fx.label =
                        Label::Runs(format!("{} ({})", Label::Written.render(f, call), target.0));
                    let s = &target.1;
                    fx.guarantee = s.guarantee && call.awaited;
                    fx.identity = s.returns_identity;
                    limiter_fx(s, call, &mut fx);
                    fx.reads_db |= s.reads_db;
                    fx.writes_db |= s.writes_db;
                    // A limiter records the request: that is the limit, not an effect.
                    if let (Some(e), false) = (&s.unlimited_effect, fx.limits || fx.limit_result) {
                        fx.effect = Some(What::Via("which calls", e.what.clone()));
                    }
                    // What the called function does unauthenticated is the exposure;
                    // one that verifies its own input (a webhook payload) exposes nothing.
                    if !s.guarantee {
                        if let Some(w) = &s.unguarded_write {
                            fx.write = Some(What::Via("which calls", w.what.clone()));
                        }
                        if let Some(r) = &s.unguarded_return {
                            fx.read = Some(What::Via("which returns", r.what.clone()));
                        }
                    }
                } else if convex::is_protected_ctx_call(path) {
                    if is_ctx_write(path) {
                        fx.write = Some(What::Call);
                        // An audit-log row records another action; it is not one.
                        let log_table = call.first_str.as_deref().is_some_and(|t| {
                            let t = t.to_ascii_lowercase();
                            t.contains("audit") || t.ends_with("log") || t.ends_with("logs")
                        });
                        if is_unbounded_effect(path) && !log_table {
                            fx.effect = Some(What::Call);
                        }
                    } else {
                        fx.read = Some(What::Call);
                    }
                }
            }
            Callee::Name(n) => {
                let target = self.an.resolve(self.m, n);
                self.target_fx(&target, call, &mut fx, &[]);
                if matches!(target, Target::Unknown) {
                    match n.as_str() {
                        "fetch" => {
                            fx.write = Some(What::Fixed("fetch()"));
                            fx.effect = Some(What::Fixed("fetch()"));
                        }
                        "timingSafeEqual" if call.secret_arg => fx.verifier = true,
                        _ => {}
                    }
                }
            }
            Callee::Member(root, path) => {
                let path = &f[*path];
                if let Some(lib) = lib_method(path) {
                    apply_lib_method(lib, call, &mut fx);
                } else if let Some(made) = self.local_made(root) {
                    self.made_method(&made, path, call, &mut fx);
                } else {
                    let base = self.an.resolve(self.m, root);
                    match base {
                        Target::Made(maker) => self.made_method(&maker, path, call, &mut fx),
                        Target::Namespace(_) | Target::Object(..) => {
                            let t = project.resolve_path(base, path, 0);
                            self.target_fx(&t, call, &mut fx, path);
                        }
                        Target::Unknown if root == "crypto" || root == "subtle" => {
                            crypto_fx(path, call, &mut fx)
                        }
                        _ => {
                            if call.passes_ctx {
                                fx.write = Some(What::Noted("(not visible to this check)"));
                            }
                        }
                    }
                }
            }
            Callee::Method(base, path) => {
                let path = &f[*path];
                if let Some(lib) = lib_method(path) {
                    apply_lib_method(lib, call, &mut fx);
                } else if let Some(maker) = self.call_maker(*base) {
                    self.made_method(&maker, path, call, &mut fx);
                }
            }
            Callee::Dynamic => {
                if call.passes_ctx {
                    fx.write = Some(What::Fixed("a dynamic call given ctx"));
                }
            }
        }
        // Checks the configuration names, where the model cannot see them.
        let known = &self.an.known;
        if self.an.known_as(&known.auth, self.m, self.f, call) {
            fx.guarantee = true;
            fx.write = None;
            fx.effect = None;
        }
        if self.an.known_as(&known.rate_limits, self.m, self.f, call) {
            fx.limits = true;
            fx.effect = None;
        }
        fx
    }

    /// The Convex function `ctx.runQuery(api.a.b)` & co. call, and its summary.
    fn called_function(&self, path: &[Atom], call: &CallSite) -> Option<(String, Rc<Summary>)> {
        if !matches!(path, [p] if p == "runQuery" || p == "runMutation" || p == "runAction") {
            return None;
        }
        let (module_id, name) = call.fn_arg.as_ref()?.module_and_name()?;
        let project = self.an.project;
        let m = project.module_ix(&module_id)?;
        let local = project.module(m)?.facts.export_local(name)?;
        let Target::Reg(rm, r) = project.resolve_name(m, local) else {
            return None;
        };
        let reg = project.module(rm)?.facts.registrations.get(r)?;
        let builder = self.an.builder(rm, &reg.builder, 0)?;
        let (hm, hix) = match project.resolve_ref(rm, reg.handler.as_ref()?) {
            Target::Fn(hm, hix) => (hm, hix),
            _ => return None,
        };
        let mut summary = (*self.an.summary(hm, hix)).clone();
        if builder.authenticated {
            summary.guarantee = true;
            summary.unguarded_write = None;
            summary.unguarded_return = None;
        }
        Some((format!("{module_id}:{name}"), Rc::new(summary)))
    }

    /// The effect of calling a resolved target.
    fn target_fx(&mut self, target: &Target, call: &CallSite, fx: &mut CallFx, _path: &[Atom]) {
        match target {
            Target::Fn(tm, tix) => {
                let s = self.an.summary(*tm, *tix);
                let settled = call.awaited || !s.is_async;
                let f = self.f;
                let given = s.guarantee_given_identity
                    && f[call.name_args].iter().any(|n| self.is_identity_name(n));
                fx.guarantee = (s.guarantee || given) && settled;
                fx.never_returns = s.never_returns && settled;
                fx.identity = s.returns_identity;
                fx.secret = s.returns_secret;
                fx.env = s.returns_env.clone();
                limiter_fx(&s, call, fx);
                fx.reads_db = s.reads_db;
                fx.writes_db = s.writes_db;
                let name = self.an.body(*tm, *tix).map(|b| b.name.clone());
                fx.label = Label::Helper(name.unwrap_or_default());
                if let Some(w) = &s.unguarded_write {
                    fx.write = Some(What::Via("which calls", w.what.clone()));
                }
                if let Some(r) = &s.unguarded_return {
                    fx.read = Some(What::Via("which returns", r.what.clone()));
                }
                if let (Some(e), false) = (&s.unlimited_effect, fx.limits || fx.limit_result) {
                    fx.effect = Some(What::Via("which calls", e.what.clone()));
                }
            }
            Target::Lib(LibItem::NullableIdentity) => fx.identity = true,
            // convex-helpers `rateLimit(ctx, { name, key, throws: true })`
            Target::Lib(LibItem::RateLimiter) => lib_limiter_fx(call, fx),
            Target::Lib(LibItem::WebhookVerifier) => fx.guarantee = call.awaited,
            // A package function given ctx can read and write as it likes.
            Target::Lib(LibItem::Other) if call.passes_ctx => {
                fx.write = Some(What::Noted("(a library call given ctx)"));
                fx.effect = fx.write.clone();
            }
            Target::Lib(_) | Target::Builder(..) | Target::Custom(..) | Target::Reg(..) => {}
            Target::Made(_) | Target::Namespace(_) | Target::Object(..) => {}
            Target::Unknown => {
                if call.passes_ctx {
                    fx.write = Some(What::Noted("(not visible to this check)"));
                    fx.effect = fx.write.clone();
                }
            }
        }
    }

    /// A method on a library object: `authComponent.getAuthUser(ctx)`.
    fn made_method(&mut self, maker: &Target, path: &[Atom], call: &CallSite, fx: &mut CallFx) {
        let method = path.last().map(|s| s.as_str()).unwrap_or("");
        match maker {
            Target::Lib(LibItem::BetterAuthClient) => match method {
                "getAuthUser" => fx.guarantee = call.awaited,
                "safeGetAuthUser" | "getAuthUserId" => fx.identity = true,
                _ => {}
            },
            Target::Lib(LibItem::ConvexAuth) => {
                if matches!(method, "getUserId" | "getSessionId") {
                    fx.identity = true;
                }
            }
            Target::Lib(LibItem::SvixWebhook) if method == "verify" => fx.guarantee = true,
            Target::Lib(LibItem::RateLimiter) => {
                if matches!(method, "limit" | "check") {
                    lib_limiter_fx(call, fx);
                }
            }
            Target::Lib(_) => {
                if call.passes_ctx {
                    fx.write = Some(What::Noted("(a library call given ctx)"));
                    fx.effect = fx.write.clone();
                }
            }
            _ => {
                if call.passes_ctx {
                    fx.write = Some(What::Noted("(not visible to this check)"));
                    fx.effect = fx.write.clone();
                }
            }
        }
    }

    /// `const wh = new Webhook(secret)` in this body: what made `wh`.
    fn local_made(&self, name: &Atom) -> Option<Target> {
        let (_, v) = self.f.bindings.iter().rev().find(|(n, _)| n == name)?;
        match v.head {
            Head::Call(ix) => self.call_maker(ix),
            _ => None,
        }
    }

    fn call_maker(&self, ix: CallIx) -> Option<Target> {
        let call = self.f.call(ix)?;
        let target = match &call.callee {
            Callee::Name(n) => self.an.resolve(self.m, n),
            _ => return None,
        };
        match target {
            Target::Lib(_) => Some(target),
            _ => None,
        }
    }

    fn ret_kind(&mut self, v: &Val) -> Ret {
        if self.is_identity(v) {
            return Ret::Identity;
        }
        if v.error_shaped {
            return Ret::ErrorShaped;
        }
        if self.is_public(v) {
            return Ret::Constant;
        }
        match v.head {
            Head::Nullish => Ret::Nullish,
            Head::Lit | Head::Cond(_) | Head::Defaulted if v.refs.is_empty() && !v.calls => {
                Ret::Constant
            }
            Head::Call(ix) if v.refs.is_empty() && !v.calls => {
                // `new Response("ok")`: constructed from constants only.
                if self.f.call(ix).is_some_and(|c| c.is_new) {
                    Ret::Constant
                } else {
                    Ret::Data
                }
            }
            _ => Ret::Data,
        }
    }

    /// Is this value the caller or derived from them: an identity, the result of
    /// an authenticating call (`const user = await requireUser(ctx)`), a lookup
    /// keyed by either, or (in a custom builder's handler) `ctx.user`?
    fn is_caller(&mut self, v: &Val, caller_on_ctx: bool, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        if self.is_identity(v) {
            return true;
        }
        match &v.head {
            Head::Call(ix) => {
                let fx = self.fx(*ix);
                if fx.guarantee || fx.identity {
                    return true;
                }
            }
            Head::Name(n) if caller_on_ctx && self.f.ctx_names.contains(n) => return true,
            _ => {}
        }
        let f = self.f;
        if caller_on_ctx && f[v.refs].iter().any(|r| f.ctx_names.contains(r)) {
            return true;
        }
        f[v.refs].iter().any(|r| {
            f.bindings
                .iter()
                .filter(|(name, _)| name == r)
                .any(|(_, b)| self.is_caller(b, caller_on_ctx, depth + 1))
        })
    }

    fn client_user_ids(
        &mut self,
        candidates: &[(Atom, Sp)],
        caller_on_ctx: bool,
    ) -> Vec<ClientUserId> {
        let f = self.f;
        let args_param = if f.arity >= 2 {
            f.params.first().cloned()
        } else {
            None
        };
        let mut out = Vec::new();
        for (arg, arg_span) in candidates {
            let local = f
                .arg_locals
                .iter()
                .find(|(a, _)| a == arg)
                .map(|(_, l)| l.clone());
            let mentions = |call: &CallSite| {
                args_param
                    .as_ref()
                    .is_some_and(|p| f[call.arg_props].iter().any(|(r, k)| r == p && k == arg))
                    || local
                        .as_ref()
                        .is_some_and(|l| f[call.arg_names].contains(l))
            };
            let refers = |v: &Val| {
                (matches!(&v.head, Head::Name(n) if Some(n) == args_param.as_ref())
                    && v.prop.as_ref() == Some(arg))
                    || local.as_ref().is_some_and(|l| f[v.refs].contains(l))
            };
            // Compared with the caller, or the caller's role checked: fine.
            let conds = body_conds(f);
            let mut eqs = Vec::new();
            for c in &conds {
                collect_eqs(f, c, &mut eqs);
            }
            let constant = is_constant;
            let mut checked = false;
            for (l, r) in eqs {
                for (a, b) in [(l, r), (r, l)] {
                    if self.is_caller(a, caller_on_ctx, 0) && (refers(b) || constant(b)) {
                        checked = true;
                    }
                }
            }
            if checked || f.calls.iter().any(|c| self.calls_role_check(c)) {
                continue;
            }
            let mut first_write: Option<Sp> = None;
            let mut first_read: Option<Sp> = None;
            for call in &f.calls {
                if !mentions(call) {
                    continue;
                }
                // `patch(args.userId, ...)` addresses that user's document (an
                // ownership question); writing the id into a document, or
                // scoping a query by it, treats it as the caller.
                let addresses = f[call.arg_paths].first().is_some_and(|(root, prop)| {
                    (Some(root) == args_param.as_ref() && prop.as_ref() == Some(arg))
                        || (prop.is_none() && Some(root) == local.as_ref())
                });
                let write = match &call.callee {
                    Callee::Ctx(p) => match &f[*p] {
                        [db, op] if db == "db" => match op.as_str() {
                            "insert" => true,
                            "patch" | "replace" => !addresses,
                            _ => false,
                        },
                        _ => false,
                    },
                    _ => false,
                };
                let read = match &call.callee {
                    Callee::Member(_, p) | Callee::Method(_, p) => f[*p]
                        .last()
                        .is_some_and(|m| matches!(m.as_str(), "withIndex" | "filter" | "eq")),
                    _ => false,
                };
                let slot = if write {
                    &mut first_write
                } else if read {
                    &mut first_read
                } else {
                    continue;
                };
                if slot.is_none_or(|s| call.span < s) {
                    *slot = Some(call.span);
                }
            }
            // A write is the graver misuse: report it when there is one.
            let first = first_write
                .map(|s| (s, true))
                .or(first_read.map(|s| (s, false)));
            if let Some((span, write)) = first {
                out.push(ClientUserId {
                    arg: arg.clone(),
                    arg_span: *arg_span,
                    span,
                    write,
                });
            }
        }
        out
    }

    fn is_caller_name(&mut self, n: &Atom) -> bool {
        let f = self.f;
        f.bindings
            .iter()
            .filter(|(name, _)| name == n)
            .any(|(_, b)| self.is_caller(b, false, 0))
    }

    fn unowned(&mut self, id_args: &[(Atom, Atom, Sp)], caller_on_ctx: bool) -> Vec<Unowned> {
        let f = self.f;
        let args_param = if f.arity >= 2 {
            f.params.first().cloned()
        } else {
            None
        };
        // Which call argument is the id argument `arg`?
        let is_arg = |path: &(Atom, Option<Atom>), arg: &Atom| match path {
            (root, Some(prop)) => Some(root) == args_param.as_ref() && prop == arg,
            (local, None) => f.arg_locals.iter().any(|(a, l)| a == arg && l == local),
        };
        let mut out = Vec::new();
        for (arg, table, arg_span) in id_args {
            let mut reads = Vec::new();
            let mut writes = Vec::new();
            for (ix, call) in f.calls.iter().enumerate() {
                let Callee::Ctx(path) = &call.callee else {
                    continue;
                };
                let op = match &f[*path] {
                    [db, op] if db == "db" => op.as_str(),
                    _ => continue,
                };
                if !f[call.arg_paths].first().is_some_and(|p| is_arg(p, arg)) {
                    continue;
                }
                match op {
                    "get" => reads.push(ix as CallIx),
                    "patch" | "replace" | "delete" => writes.push(ix as CallIx),
                    _ => {}
                }
            }
            if reads.is_empty() && writes.is_empty() {
                continue;
            }
            // The documents read: `const doc = await ctx.db.get(args.id)`.
            let docs: Vec<Atom> = f
                .bindings
                .iter()
                .filter(|(_, v)| matches!(v.head, Head::Call(c) if reads.contains(&c)))
                .map(|(n, _)| n.clone())
                .collect();
            if self.checks_access(&docs, &reads, arg, &is_arg, caller_on_ctx) {
                continue;
            }
            let mut returns = Vec::new();
            if let Some(body) = &f.body {
                collect_returns(f, body, &mut returns);
            }
            // `if (!doc.isPublic) return null`: what is returned is public.
            let conds = body_conds(f);
            let mut tested = Vec::new();
            for c in &conds {
                collect_truthy(f, c, &mut tested);
            }
            let public_gate = tested.iter().any(|v| {
                v.prop.as_deref().is_some_and(convex::is_public_flag)
                    && f[v.refs].iter().any(|r| docs.contains(r))
            });
            let returned = !public_gate
                && returns.iter().any(|v| {
                    matches!(v.head, Head::Call(c) if reads.contains(&c))
                        || f[v.refs]
                            .iter()
                            .chain(&f[v.flow.names])
                            .any(|r| docs.contains(r))
                });
            let mut touched: Vec<(CallIx, bool)> = writes.iter().map(|w| (*w, true)).collect();
            if returned {
                touched.extend(reads.iter().map(|r| (*r, false)));
            }
            touched.sort_by_key(|(ix, _)| f.call(*ix).map(|c| c.span));
            if let Some((ix, write)) = touched.first() {
                let Some(call) = f.call(*ix) else {
                    continue;
                };
                let op = match &call.callee {
                    Callee::Ctx(p) => format!(
                        "ctx.{}",
                        f[*p]
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(".")
                    ),
                    _ => String::new(),
                };
                out.push(Unowned {
                    span: call.span,
                    op,
                    write: *write,
                    arg: arg.clone(),
                    arg_span: *arg_span,
                    table: table.clone(),
                });
            }
        }
        out
    }

    /// Is there any check tying the document (or its id) to the caller: an
    /// owner comparison, a role comparison, a lookup keyed by both, or a
    /// project helper given the document or id?
    fn checks_access(
        &mut self,
        docs: &[Atom],
        reads: &[CallIx],
        arg: &Atom,
        is_arg: &ArgMatcher<'_>,
        caller_on_ctx: bool,
    ) -> bool {
        let f = self.f;
        let touches_doc = |v: &Val| f[v.refs].iter().any(|r| docs.contains(r));
        let mut conds = body_conds(f);
        for (_, b) in &f.bindings {
            if let Head::Cond(c) = &b.head {
                conds.push(&f[*c]);
            }
        }
        let mut eqs = Vec::new();
        for c in conds {
            collect_eqs(f, c, &mut eqs);
        }
        for (l, r) in eqs {
            let constant = is_constant;
            for (a, b) in [(l, r), (r, l)] {
                if self.is_caller(a, caller_on_ctx, 0) && (touches_doc(b) || constant(b)) {
                    return true;
                }
            }
        }
        // A lookup keyed by the caller and the document: a membership row.
        for (_, b) in &f.bindings {
            let keyed_by_doc = touches_doc(b)
                || f[b.refs]
                    .iter()
                    .any(|r| f.arg_locals.iter().any(|(a, l)| a == arg && l == r))
                || f[b.refs].iter().any(|r| Some(r) == f.params.first());
            if matches!(b.head, Head::Call(_))
                && keyed_by_doc
                && self.is_caller(b, caller_on_ctx, 0)
            {
                return true;
            }
        }
        // A project helper handed the document or its id decides access itself.
        for ix in 0..f.calls.len() as CallIx {
            let Some(call) = f.call(ix) else {
                continue;
            };
            let given = f[call.arg_paths]
                .iter()
                .any(|p| is_arg(p, arg) || (p.1.is_none() && docs.contains(&p.0)))
                || f[call.arg_calls].iter().any(|c| reads.contains(c));
            if given && self.calls_project_function(call) {
                return true;
            }
            // A helper that checks the caller's role (`requireAdmin(ctx)`).
            if self.calls_role_check(call) {
                return true;
            }
        }
        false
    }

    fn calls_project_function(&self, call: &CallSite) -> bool {
        matches!(self.an.call_target(self.m, self.f, call), Target::Fn(..))
    }

    fn calls_role_check(&self, call: &CallSite) -> bool {
        if self.an.known_as(&self.an.known.roles, self.m, self.f, call) {
            return true;
        }
        match self.an.call_target(self.m, self.f, call) {
            Target::Fn(m, ix) => self.an.checks_role(m, ix),
            _ => false,
        }
    }

    /// The env var whose content this value carries, if any: directly, through
    /// local names, or returned by a helper.
    fn carries_env(&mut self, flow: &Flow, head: &Head, depth: u32) -> Option<Atom> {
        if let Some(env) = &flow.env {
            return Some(env.clone());
        }
        if depth > 8 {
            return None;
        }
        let head_call = match head {
            Head::Call(ix) => Some(*ix),
            _ => None,
        };
        let f = self.f;
        for ix in f[flow.calls].iter().copied().chain(head_call) {
            if let Some(env) = self.fx(ix).env.clone() {
                return Some(env);
            }
        }
        for n in &f[flow.names] {
            for (name, b) in &f.bindings {
                if name == n {
                    if let Some(env) = self.carries_env(&b.flow, &b.head, depth + 1) {
                        return Some(env);
                    }
                }
            }
        }
        None
    }

    /// What raw detail a value carries: a caught error, or an external
    /// response's body (`await res.text()` where `res` came from `fetch`).
    fn carries_detail(&mut self, flow: &Flow, head: &Head, depth: u32) -> Option<&'static str> {
        if depth > 8 {
            return None;
        }
        let head_call = match head {
            Head::Call(ix) => Some(*ix),
            _ => None,
        };
        let f = self.f;
        for ix in f[flow.calls].iter().copied().chain(head_call) {
            if self.is_response_body(ix) {
                return Some("the external response body");
            }
        }
        for n in &f[flow.names] {
            if f.catch_params.contains(n) {
                return Some("the caught error");
            }
            for (name, b) in &f.bindings {
                if name == n {
                    if let Some(what) = self.carries_detail(&b.flow, &b.head, depth + 1) {
                        return Some(what);
                    }
                }
            }
        }
        None
    }

    /// `res.text()` on a `fetch` response: the raw body. (A parsed `res.json()`
    /// is usually the very data the action exists to return.)
    fn is_response_body(&self, ix: CallIx) -> bool {
        let Some(call) = self.f.call(ix) else {
            return false;
        };
        let from_fetch = |c: Option<&CallSite>| {
            c.is_some_and(|c| matches!(&c.callee, Callee::Name(n) if n == "fetch"))
        };
        match &call.callee {
            Callee::Member(root, path) if matches!(&self.f[*path], [m] if m == "text") => {
                self.f.bindings.iter().any(|(n, b)| {
                    n == root && matches!(b.head, Head::Call(c) if from_fetch(self.f.call(c)))
                })
            }
            Callee::Method(base, path) if matches!(&self.f[*path], [m] if m == "text") => {
                from_fetch(self.f.call(*base))
            }
            _ => false,
        }
    }

    fn detail_leaks(&mut self, returns_to_client: bool) -> Vec<DetailLeak> {
        let mut returns = Vec::new();
        let mut calls = Vec::new();
        if let Some(body) = &self.f.body {
            walk_failure(self.f, body, false, &mut returns, &mut calls);
        }
        let mut out = Vec::new();
        for (ix, failing) in calls {
            let Some(call) = self.f.call(ix) else {
                continue;
            };
            let sink = match &call.callee {
                Callee::Name(n) if n == "ConvexError" => "is sent to the caller in a ConvexError",
                Callee::Name(n) if call.is_new && n == "Response" => "is sent in the HTTP response",
                Callee::Member(root, path)
                    if root == "Response" && self.f[*path].first().is_some_and(|p| p == "json") =>
                {
                    "is sent in the HTTP response"
                }
                _ => continue,
            };
            if let Some(what) = self.carries_detail(&call.arg_flow, &Head::Other, 0) {
                // A response body is error detail only on a failure path.
                if failing || what == "the caught error" {
                    out.push(DetailLeak {
                        span: call.span,
                        what,
                        sink,
                    });
                }
            }
        }
        if returns_to_client {
            for (v, failing) in returns {
                if let Some(what) = self.carries_detail(&v.flow, &v.head, 0) {
                    if failing || what == "the caught error" {
                        out.push(DetailLeak {
                            span: v.span,
                            what,
                            sink: "is returned to the caller",
                        });
                    }
                }
            }
        }
        out
    }

    /// Env content reaching logs, errors, responses, and (for a public
    /// function's handler) its return value.
    fn env_leaks(&mut self, returns_to_client: bool) -> Vec<EnvLeak> {
        let mut out = Vec::new();
        for ix in 0..self.f.calls.len() as CallIx {
            let Some(call) = self.f.call(ix) else {
                continue;
            };
            let Some(sink) = leak_sink(self.f, call) else {
                continue;
            };
            if let Some(var) = self.carries_env(&call.arg_flow, &Head::Other, 0) {
                out.push(EnvLeak {
                    span: call.span,
                    var,
                    sink,
                });
            }
        }
        if returns_to_client {
            let mut returns = Vec::new();
            if let Some(body) = &self.f.body {
                collect_returns(self.f, body, &mut returns);
            }
            for v in returns {
                if let Some(var) = self.carries_env(&v.flow, &v.head, 0) {
                    out.push(EnvLeak {
                        span: v.span,
                        var,
                        sink: "is returned to the caller",
                    });
                }
            }
        }
        out
    }

    /// Rows filtered on a public flag, directly or through local names
    /// (`rows.sort(...).slice(0, 25)` where `rows` holds public rows).
    fn is_public(&self, v: &Val) -> bool {
        if v.public {
            return true;
        }
        if !matches!(v.head, Head::Name(_) | Head::Call(_)) || v.refs.is_empty() {
            return false;
        }
        self.f[v.refs].iter().all(|n| {
            let mut bound = self
                .f
                .bindings
                .iter()
                .filter(|(name, _)| name == n)
                .peekable();
            bound.peek().is_some() && bound.all(|(_, b)| b.public)
        })
    }

    /// Does the branch where `cond` is `truth` prove an authenticated caller?
    fn refine(&mut self, mut st: St, cond: &Cond, truth: bool) -> St {
        if !st.authed && self.implies_auth(cond, truth, 0) {
            st.authed = true;
            self.ever_authed = true;
        }
        if !st.limited && self.implies_limited(cond, truth, 0) {
            st.limited = true;
        }
        // `if (!doc.isPublic) return null`, or `if (doc.visibility === "private"
        // && doc.userId !== userId) return null`: what was read is public, or
        // the caller's own, past here.
        if st.read.is_some() && self.implies_gated(cond, truth, 0) {
            st.read = None;
        }
        st
    }

    /// Does the branch prove the documents read are public or the caller's?
    fn implies_gated(&mut self, cond: &Cond, truth: bool, depth: u32) -> bool {
        if depth > 32 {
            return false;
        }
        let f = self.f;
        match cond {
            Cond::Truthy(_) => implies_public(f, cond, truth, depth),
            Cond::Not(c) => self.implies_gated(&f[*c], !truth, depth + 1),
            Cond::And(a, b) => {
                if truth {
                    self.implies_gated(&f[*a], true, depth + 1)
                        || self.implies_gated(&f[*b], true, depth + 1)
                } else {
                    self.implies_gated(&f[*a], false, depth + 1)
                        && self.implies_gated(&f[*b], false, depth + 1)
                }
            }
            Cond::Or(a, b) => {
                if truth {
                    self.implies_gated(&f[*a], true, depth + 1)
                        && self.implies_gated(&f[*b], true, depth + 1)
                } else {
                    self.implies_gated(&f[*a], false, depth + 1)
                        || self.implies_gated(&f[*b], false, depth + 1)
                }
            }
            Cond::Eq { l, r, negated } => {
                let (l, r) = (&f[*l], &f[*r]);
                let equal = truth != *negated;
                // `doc.visibility === "public"` / `doc.visibility !== "private"`
                let visibility = |v: &Val| {
                    v.prop
                        .as_deref()
                        .is_some_and(|p| matches!(p, "visibility" | "privacy" | "access"))
                };
                let literal = |v: &Val| matches!(v.head, Head::Lit) && v.refs.is_empty();
                if (visibility(l) && literal(r)) || (visibility(r) && literal(l)) {
                    let text = l.lit.as_deref().or(r.lit.as_deref()).unwrap_or("");
                    return (equal && text == "public") || (!equal && text == "private");
                }
                // `doc.userId === userId`: the caller's own document.
                equal
                    && ((self.is_caller(l, false, 0) && !literal(r) && !r.refs.is_empty())
                        || (self.is_caller(r, false, 0) && !literal(l) && !l.refs.is_empty()))
            }
            Cond::Compare(..) | Cond::Unknown => false,
        }
    }

    fn implies_auth(&mut self, cond: &Cond, truth: bool, depth: u32) -> bool {
        if depth > 32 {
            return false;
        }
        let f = self.f;
        match cond {
            Cond::Truthy(v) => {
                let v = &f[*v];
                let error_prop = matches!(v.prop.as_deref(), Some("error" | "err"));
                if truth && !error_prop && (self.is_identity(v) || self.is_verifier(v)) {
                    return true;
                }
                // `if ("error" in auth) return auth.error`: no error, a caller.
                if !truth && error_prop && self.is_identity(v) {
                    return true;
                }
                match self.cond_binding(v) {
                    Some(c) => self.implies_auth(c, truth, depth + 1),
                    None => false,
                }
            }
            Cond::Not(c) => self.implies_auth(&f[*c], !truth, depth + 1),
            Cond::And(a, b) => {
                if truth {
                    self.implies_auth(&f[*a], true, depth + 1)
                        || self.implies_auth(&f[*b], true, depth + 1)
                } else {
                    self.implies_auth(&f[*a], false, depth + 1)
                        && self.implies_auth(&f[*b], false, depth + 1)
                }
            }
            Cond::Or(a, b) => {
                if truth {
                    self.implies_auth(&f[*a], true, depth + 1)
                        && self.implies_auth(&f[*b], true, depth + 1)
                } else {
                    self.implies_auth(&f[*a], false, depth + 1)
                        || self.implies_auth(&f[*b], false, depth + 1)
                }
            }
            Cond::Eq { l, r, negated } => {
                let (l, r) = (&f[*l], &f[*r]);
                let equal = truth != *negated;
                let nullish = |v: &Val| matches!(v.head, Head::Nullish);
                let constant =
                    |v: &Val| matches!(v.head, Head::Lit) && v.refs.is_empty() && !v.env && !v.hmac;
                if equal {
                    // `user?.role === "admin"`: only a present user can match.
                    if (self.is_identity(l) && constant(r)) || (self.is_identity(r) && constant(l))
                    {
                        return true;
                    }
                    // A value compared with a server secret (env var, HMAC).
                    let secret_l = self.is_secret(l, 0);
                    let secret_r = self.is_secret(r, 0);
                    (secret_l || secret_r)
                        && !nullish(l)
                        && !nullish(r)
                        && !constant(l)
                        && !constant(r)
                } else {
                    (nullish(r) && self.is_identity(l)) || (nullish(l) && self.is_identity(r))
                }
            }
            Cond::Compare(..) | Cond::Unknown => false,
        }
    }

    /// Does the branch prove a rate-limit verdict was "allowed" (`if (!ok) throw`)?
    fn implies_limited(&mut self, cond: &Cond, truth: bool, depth: u32) -> bool {
        if depth > 32 {
            return false;
        }
        let f = self.f;
        match cond {
            Cond::Truthy(v) => truth && self.is_limit_result(&f[*v]),
            Cond::Not(c) => self.implies_limited(&f[*c], !truth, depth + 1),
            Cond::And(a, b) => {
                if truth {
                    self.implies_limited(&f[*a], true, depth + 1)
                        || self.implies_limited(&f[*b], true, depth + 1)
                } else {
                    self.implies_limited(&f[*a], false, depth + 1)
                        && self.implies_limited(&f[*b], false, depth + 1)
                }
            }
            Cond::Or(a, b) => {
                if truth {
                    self.implies_limited(&f[*a], true, depth + 1)
                        && self.implies_limited(&f[*b], true, depth + 1)
                } else {
                    self.implies_limited(&f[*a], false, depth + 1)
                        || self.implies_limited(&f[*b], false, depth + 1)
                }
            }
            Cond::Eq { .. } | Cond::Compare(..) | Cond::Unknown => false,
        }
    }

    /// `ok`, `status.ok`, `rateCheck.allowed`: a limiter's verdict.
    fn is_limit_result(&mut self, v: &Val) -> bool {
        self.result_of(v, |fx| fx.limit_result)
    }

    /// Is the value (or the name it is read from) the result of a call with `what`?
    fn result_of(&mut self, v: &Val, what: impl Fn(&CallFx) -> bool) -> bool {
        match &v.head {
            Head::Call(ix) => what(&self.fx(*ix)),
            Head::Name(n) => {
                let f = self.f;
                f.bindings
                    .iter()
                    .filter(|(name, _)| name == n)
                    .any(|(_, b)| matches!(b.head, Head::Call(ix) if what(&self.fx(ix))))
            }
            _ => false,
        }
    }

    /// A body that compares a count read from the database with a limit and
    /// records the request: the hand-written rate limiter of the audit guide.
    fn looks_like_rate_limiter(&mut self) -> bool {
        let f = self.f;
        // Records the request: writes, itself or through a helper.
        let writes = (0..f.calls.len() as CallIx).any(|ix| self.fx(ix).writes_db);
        if !writes {
            return false;
        }
        let conds = body_conds(f);
        let mut compares = Vec::new();
        for c in &conds {
            collect_compares(f, c, &mut compares);
        }
        // Compares something read from the database (a count, a window row).
        let mut read_names: Vec<Atom> = Vec::new();
        for (n, v) in &f.bindings {
            if let Head::Call(ix) = v.head {
                if self.is_db_read_chain(ix) || self.fx(ix).reads_db {
                    read_names.push(n.clone());
                }
            }
        }
        compares.iter().any(|(l, r)| {
            f[l.refs]
                .iter()
                .chain(&f[r.refs])
                .any(|n| read_names.contains(n))
        })
    }

    /// `ctx.db.query(...).withIndex(...).collect()`: a chain rooted in a read.
    fn is_db_read_chain(&self, mut ix: CallIx) -> bool {
        for _ in 0..32 {
            let Some(call) = self.f.call(ix) else {
                return false;
            };
            match &call.callee {
                Callee::Ctx(p) => {
                    return matches!(&self.f[*p], [db, op, ..] if db == "db" && matches!(op.as_str(), "get" | "query"))
                }
                Callee::Method(base, _) => ix = *base,
                _ => return false,
            }
        }
        false
    }

    /// `const ok = a === b; if (!ok)`: the condition a name holds.
    fn cond_binding(&self, v: &Val) -> Option<&'a Cond> {
        let Head::Name(n) = &v.head else {
            return None;
        };
        if v.refs.len() != 1 {
            return None;
        }
        let f = self.f;
        let (_, b) = f.bindings.iter().rev().find(|(name, _)| name == n)?;
        match &b.head {
            Head::Cond(c) => Some(&f[*c]),
            _ => None,
        }
    }

    /// Is this value null exactly when the caller is anonymous?
    fn is_identity(&mut self, v: &Val) -> bool {
        match &v.head {
            Head::Call(ix) => {
                self.fx(*ix).identity || self.derived_call(*ix, v) || self.credential_lookup(*ix, v)
            }
            Head::Name(n) => self.is_identity_name(n),
            _ => false,
        }
    }

    /// A database lookup keyed by a credential from the request (an API key
    /// or bearer token header, usually hashed): present only for a valid one.
    fn credential_lookup(&mut self, ix: CallIx, v: &Val) -> bool {
        let reads = self.is_db_read_chain(ix) || self.fx(ix).reads_db;
        let f = self.f;
        reads && f[v.refs].iter().any(|r| self.is_credential_name(r, 0))
    }

    /// Derived from a credential header: `req.headers.get("Authorization")`.
    fn is_credential_name(&self, n: &Atom, depth: u32) -> bool {
        if depth > 12 {
            return false;
        }
        let f = self.f;
        f.bindings
            .iter()
            .filter(|(name, _)| name == n)
            .any(|(_, b)| {
                let head_call = match b.head {
                    Head::Call(c) => Some(c),
                    _ => None,
                };
                let from_header = f[b.flow.calls]
                    .iter()
                    .copied()
                    .chain(head_call)
                    .any(|c| f.call(c).is_some_and(|c| is_credential_header(f, c)));
                from_header
                    || f[b.refs]
                        .iter()
                        .any(|r| r != n && self.is_credential_name(r, depth + 1))
            })
    }

    /// A lookup keyed by an identity (`ctx.db.get(userId)`) is present only for it.
    fn derived_call(&mut self, _ix: CallIx, v: &Val) -> bool {
        let f = self.f;
        f[v.refs].iter().any(|r| self.is_identity_name(r))
    }

    fn is_identity_name(&mut self, n: &Atom) -> bool {
        if let Some(&known) = self.witness_memo.get(n) {
            return known;
        }
        self.witness_memo.insert(n.clone(), false);
        let f = self.f;
        if self.params_are_identities && f.params.contains(n) {
            self.witness_memo.insert(n.clone(), true);
            return true;
        }
        let found = f
            .bindings
            .iter()
            .filter(|(name, _)| name == n)
            .any(|(_, v)| match &v.head {
                Head::Call(_) | Head::Name(_) => self.is_identity(v),
                _ => false,
            });
        self.witness_memo.insert(n.clone(), found);
        found
    }

    fn is_verifier(&mut self, v: &Val) -> bool {
        self.result_of(v, |fx| fx.verifier)
    }

    /// Derived from a server secret: an env var, an HMAC, or a helper returning one.
    fn is_secret(&mut self, v: &Val, depth: u32) -> bool {
        if v.env || v.hmac {
            return true;
        }
        if depth > 8 {
            return false;
        }
        if let Head::Call(ix) = v.head {
            if self.fx(ix).secret {
                return true;
            }
        }
        let f = self.f;
        f[v.refs].iter().any(|r| {
            f.bindings
                .iter()
                .filter(|(name, _)| name == r)
                .any(|(_, b)| self.is_secret(b, depth + 1))
        })
    }

    fn unchecked(mut self) -> Vec<Unchecked> {
        let mut out = Vec::new();
        for ix in 0..self.f.calls.len() as CallIx {
            let fx = self.fx(ix);
            if !fx.identity {
                continue;
            }
            let Some(call) = self.f.call(ix) else {
                continue;
            };
            let mut u = Unchecked {
                span: call.span,
                source: fx.label.render(self.f, call),
                name: None,
                deref: None,
                discarded: false,
            };
            match call.result {
                ResultUse::Discarded => {
                    u.discarded = true;
                    out.push(u);
                }
                ResultUse::Dereferenced => out.push(u),
                ResultUse::Bound => {
                    let names: Vec<Atom> = self
                        .f
                        .bindings
                        .iter()
                        .filter(|(_, v)| matches!(v.head, Head::Call(c) if c == ix))
                        .map(|(n, _)| n.clone())
                        .collect();
                    if let Some(name) = names.iter().find(|n| !self.handled(n)) {
                        u.deref = self
                            .f
                            .uses
                            .iter()
                            .find(|x| x.name == *name && x.kind == UseKind::Dereferenced)
                            .map(|x| x.span);
                        u.name = Some(name.clone());
                        out.push(u);
                    }
                }
                ResultUse::Handled | ResultUse::Other => {}
            }
        }
        out
    }

    /// Is a name's null case handled, directly or through names derived from it?
    fn handled(&self, name: &Atom) -> bool {
        let mut seen = vec![name.clone()];
        let mut i = 0;
        while let Some(n) = seen.get(i).cloned() {
            i += 1;
            if self
                .f
                .uses
                .iter()
                .any(|u| u.name == n && u.kind == UseKind::Handled)
            {
                return true;
            }
            for (b, v) in &self.f.bindings {
                if self.f[v.refs].contains(&n) && !seen.contains(b) && seen.len() < 64 {
                    seen.push(b.clone());
                }
            }
        }
        false
    }
}

/// Does a call argument (`args.id`, `id`) stand for the named `args` entry?
type ArgMatcher<'a> = dyn Fn(&(Atom, Option<Atom>), &Atom) -> bool + 'a;

/// A literal that mentions no local name (`"admin"`, `42`).
fn is_constant(v: &Val) -> bool {
    matches!(v.head, Head::Lit) && v.refs.is_empty()
}

/// Every condition a body tests (callbacks included): every `if` of the body
/// is in its table and every `return` among its nodes, so no walk is needed
/// (callers only ask whether some condition matches, so order is free).
fn body_conds(f: &FnBody) -> Vec<&Cond> {
    let tested = f.ifs.iter().map(|i| &f[i.cond]);
    let returned = f.nodes.iter().chain(&f.body).filter_map(|n| match n {
        Node::Return(Some(v)) => match &f[*v].head {
            Head::Cond(c) => Some(&f[*c]),
            _ => None,
        },
        _ => None,
    });
    tested.chain(returned).collect()
}

/// The values tested for truth inside a condition.
fn collect_truthy<'c>(f: &'c FnBody, c: &Cond, out: &mut Vec<&'c Val>) {
    match c {
        Cond::Truthy(v) => out.push(&f[*v]),
        Cond::Not(c) => collect_truthy(f, &f[*c], out),
        Cond::And(a, b) | Cond::Or(a, b) => {
            collect_truthy(f, &f[*a], out);
            collect_truthy(f, &f[*b], out);
        }
        Cond::Eq { .. } | Cond::Compare(..) | Cond::Unknown => {}
    }
}

/// The orderings (`a < b`) inside a condition.
fn collect_compares<'c>(f: &'c FnBody, c: &Cond, out: &mut Vec<(&'c Val, &'c Val)>) {
    match c {
        Cond::Compare(l, r) => out.push((&f[*l], &f[*r])),
        Cond::Not(c) => collect_compares(f, &f[*c], out),
        Cond::And(a, b) | Cond::Or(a, b) => {
            collect_compares(f, &f[*a], out);
            collect_compares(f, &f[*b], out);
        }
        Cond::Truthy(_) | Cond::Eq { .. } | Cond::Unknown => {}
    }
}

/// The `a === b` comparisons inside a condition.
fn collect_eqs<'c>(f: &'c FnBody, c: &Cond, out: &mut Vec<(&'c Val, &'c Val)>) {
    match c {
        Cond::Eq { l, r, .. } => out.push((&f[*l], &f[*r])),
        Cond::Not(c) => collect_eqs(f, &f[*c], out),
        Cond::And(a, b) | Cond::Or(a, b) => {
            collect_eqs(f, &f[*a], out);
            collect_eqs(f, &f[*b], out);
        }
        Cond::Truthy(_) | Cond::Compare(..) | Cond::Unknown => {}
    }
}

/// Returns and calls, each with whether it is on a failure path: a `catch`,
/// or a branch where a response is not ok (`if (!res.ok)`, `res.status >= 400`).
fn walk_failure<'n>(
    f: &'n FnBody,
    node: &Node,
    failing: bool,
    returns: &mut Vec<(&'n Val, bool)>,
    calls: &mut Vec<(CallIx, bool)>,
) {
    match node {
        Node::Seq(nodes) => {
            for n in &f[*nodes] {
                walk_failure(f, n, failing, returns, calls);
            }
        }
        Node::If(i) => {
            let If { cond, then, els } = &f[*i];
            let cond = &f[*cond];
            walk_failure(
                f,
                then,
                failing || means_failure(f, cond, true, 0),
                returns,
                calls,
            );
            walk_failure(
                f,
                els,
                failing || means_failure(f, cond, false, 0),
                returns,
                calls,
            );
        }
        Node::Call(ix) => calls.push((*ix, failing)),
        Node::Return(Some(v)) => returns.push((&f[*v], failing)),
        Node::Loop(b) => walk_failure(f, &Node::Seq(*b), failing, returns, calls),
        Node::Nested(b) => {
            // Callbacks' returns are not the function's.
            let mut ignored = Vec::new();
            walk_failure(f, &Node::Seq(*b), failing, &mut ignored, calls);
        }
        Node::Try(t) => {
            let t = &f[*t];
            walk_failure(f, &t.body, failing, returns, calls);
            // A catch block runs because something failed.
            if let Some(h) = &t.handler {
                walk_failure(f, h, true, returns, calls);
            }
            if let Some(fin) = &t.finalizer {
                walk_failure(f, fin, failing, returns, calls);
            }
        }
        Node::Return(None) | Node::Throw => {}
    }
}

/// Does the branch where `cond` is `truth` mean a response failed?
fn means_failure(f: &FnBody, cond: &Cond, truth: bool, depth: u32) -> bool {
    if depth > 16 {
        return false;
    }
    let is = |v: ValIx, p: &str| f[v].prop.as_deref() == Some(p);
    match cond {
        Cond::Truthy(v) => !truth && is(*v, "ok"),
        Cond::Not(c) => means_failure(f, &f[*c], !truth, depth + 1),
        Cond::And(a, b) | Cond::Or(a, b) => {
            means_failure(f, &f[*a], truth, depth + 1) || means_failure(f, &f[*b], truth, depth + 1)
        }
        // `res.status !== 200`: the branch where the status differs.
        Cond::Eq { l, r, negated } => truth == *negated && (is(*l, "status") || is(*r, "status")),
        // `res.status >= 400`
        Cond::Compare(l, r) => truth && (is(*l, "status") || is(*r, "status")),
        Cond::Unknown => false,
    }
}

/// The function's own `return` values (not those of callbacks).
fn collect_returns<'n>(f: &'n FnBody, node: &Node, out: &mut Vec<&'n Val>) {
    match node {
        Node::Seq(nodes) | Node::Loop(nodes) => {
            f[*nodes].iter().for_each(|n| collect_returns(f, n, out))
        }
        Node::If(i) => {
            let If { then, els, .. } = &f[*i];
            collect_returns(f, then, out);
            collect_returns(f, els, out);
        }
        Node::Return(Some(v)) => out.push(&f[*v]),
        Node::Try(t) => f[*t].parts().for_each(|n| collect_returns(f, n, out)),
        Node::Return(None) | Node::Call(_) | Node::Throw | Node::Nested(_) => {}
    }
}

/// Calls whose arguments end up in front of someone: logs, errors, responses.
fn leak_sink(f: &FnBody, call: &CallSite) -> Option<&'static str> {
    match &call.callee {
        Callee::Member(root, path) if root == "console" && path.len() == 1 => Some("is logged"),
        Callee::Name(n) if call.is_new && n == "Response" => Some("is sent in an HTTP response"),
        Callee::Member(root, path)
            if root == "Response" && f[*path].first().is_some_and(|p| p == "json") =>
        {
            Some("is sent in an HTTP response")
        }
        Callee::Name(n) if n.ends_with("Error") => Some("is put in an error message"),
        _ => None,
    }
}

/// `x.headers.get("Authorization")`, `"X-API-Key"`, a token or cookie header.
fn is_credential_header(f: &FnBody, call: &CallSite) -> bool {
    let is_get = match &call.callee {
        Callee::Member(_, p) | Callee::Method(_, p) => {
            matches!(&f[*p], [.., h, g] if h == "headers" && g == "get")
        }
        _ => false,
    };
    let name = call.first_str.as_deref().unwrap_or("").to_ascii_lowercase();
    is_get
        && (name == "authorization"
            || name == "cookie"
            || name.contains("token")
            || name.contains("api-key")
            || name.contains("apikey")
            || name.contains("secret"))
}

/// A rate limiter's call: with `throws: true` (awaited) it limits; otherwise
/// its verdict must be acted on.
fn lib_limiter_fx(call: &CallSite, fx: &mut CallFx) {
    if call.throws_true && call.awaited {
        fx.limits = true;
    } else {
        fx.limit_result = true;
    }
}

/// Calling a project function that rate-limits.
fn limiter_fx(s: &Summary, call: &CallSite, fx: &mut CallFx) {
    let settled = call.awaited || !s.is_async;
    if s.limits && settled {
        fx.limits = true;
    } else if s.rate_limiter {
        if s.throws && settled {
            fx.limits = true;
        } else {
            fx.limit_result = true;
        }
    }
}

/// Does the branch where `cond` is `truth` prove a document's public flag set?
fn implies_public(f: &FnBody, cond: &Cond, truth: bool, depth: u32) -> bool {
    if depth > 32 {
        return false;
    }
    match cond {
        Cond::Truthy(v) => truth && f[*v].prop.as_deref().is_some_and(convex::is_public_flag),
        Cond::Not(c) => implies_public(f, &f[*c], !truth, depth + 1),
        Cond::And(a, b) if truth => {
            implies_public(f, &f[*a], true, depth + 1) || implies_public(f, &f[*b], true, depth + 1)
        }
        Cond::Or(a, b) if !truth => {
            implies_public(f, &f[*a], false, depth + 1)
                || implies_public(f, &f[*b], false, depth + 1)
        }
        _ => false,
    }
}

fn dotted(root: &Atom, path: &[Atom]) -> String {
    let mut s = root.to_string();
    for p in path {
        s.push('.');
        s.push_str(p);
    }
    s
}

/// Effects a caller can multiply by calling again: new rows, new files,
/// scheduled work, other functions run. Rewriting an existing document
/// (`patch`, `replace`, `delete`) is bounded and not counted.
fn is_unbounded_effect(path: &[Atom]) -> bool {
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

fn is_ctx_write(path: &[Atom]) -> bool {
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

/// Library APIs recognised by the shape of the call alone.
#[derive(Clone, Copy)]
enum LibMethod {
    /// Better Auth `auth.api.getSession({ headers })`.
    GetSession,
    /// Stripe `stripe.webhooks.constructEvent(...)`.
    StripeConstructEvent { is_async: bool },
}

fn lib_method(path: &[Atom]) -> Option<LibMethod> {
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

fn apply_lib_method(lib: LibMethod, call: &CallSite, fx: &mut CallFx) {
    match lib {
        LibMethod::GetSession => fx.identity = true,
        LibMethod::StripeConstructEvent { is_async } => fx.guarantee = !is_async || call.awaited,
    }
}

fn crypto_fx(path: &[Atom], call: &CallSite, fx: &mut CallFx) {
    match path.last().map(|s| s.as_str()) {
        Some("verify") => fx.verifier = true,
        Some("timingSafeEqual") if call.secret_arg || !call.name_args.is_empty() => {
            fx.verifier = true
        }
        _ => {}
    }
}
