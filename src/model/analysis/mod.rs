//! What rules ask of the model: which Convex functions exist and how they are
//! built, and, per function body, whether it authenticates its caller on every
//! path. Helper summaries are computed on demand and memoised, so each body is
//! evaluated once; a call cycle sees the conservative "proves nothing" summary.
//!
//! Each concern is its own module: `functions` (what the project exposes),
//! `eval` (the walk over a body), `calls` (what one call does), `conditions`
//! (what a test proves), and the questions rules ask: `identity`, `roles`,
//! `ownership`, `limits`, `leaks`.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::rc::Rc;

use swc_atoms::Atom;

use super::convex::{self, CryptoCheck, DbOp, Kind, LibItem, LibMethod, LibObjectCall, Visibility};
use super::facts::{ArgList, FnRef, RouteHandler, Top};
use super::ir::*;
use super::project::{ModIx, Project, Target};

mod calls;
mod conditions;
mod eval;
mod functions;
mod identity;
mod leaks;
mod limits;
mod ownership;
mod roles;

use calls::*;
use conditions::*;
use eval::*;
use limits::*;

pub use functions::{Builder, ConvexFn, FnId};
pub use identity::Unchecked;
pub use leaks::{DetailLeak, EnvLeak};
pub use ownership::{Access, ClientUserId, Unowned};

/// Something a body does without an authenticated caller.
#[derive(Debug, Clone)]
pub struct Event {
    pub span: Sp,
    pub what: String,
}

/// A request to an external service made without an authenticated caller.
#[derive(Debug, Clone)]
pub struct ServiceCall {
    pub event: Event,
    /// What it lets anyone do, after "can": "call OpenAI at your expense".
    pub does: String,
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
    /// The first external service call reachable without authentication.
    pub unguarded_service: Option<ServiceCall>,
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
    /// `checks_role_depth`, by (module, function, caller_on_ctx, depth): a
    /// helper reached along many call paths is asked once per depth.
    roles_checked: RefCell<HashMap<(ModIx, FnIx, bool, u32), bool>>,
    unchecked: RefCell<Memo<Rc<[Unchecked]>>>,
    /// Bodies that spent their budget: (module, name).
    overruns: RefCell<Vec<(ModIx, Atom)>>,
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
            roles_checked: RefCell::new(HashMap::default()),
            unchecked: RefCell::new(HashMap::default()),
            overruns: RefCell::new(Vec::new()),
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

    /// Records that a body of module `m` spent its budget.
    pub(super) fn overran(&self, m: ModIx, f: &FnBody) {
        let mut overruns = self.overruns.borrow_mut();
        if !overruns.iter().any(|(om, n)| *om == m && *n == f.name) {
            overruns.push((m, f.name.clone()));
        }
    }

    /// The bodies, by (module, name), whose analysis spent its budget: what
    /// depends on them is reported as not proven.
    pub fn overruns(&self) -> Vec<(ModIx, Atom)> {
        self.overruns.borrow().clone()
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
}
