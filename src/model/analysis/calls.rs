//! What one call does to the caller's state: the Convex API, a helper's
//! summary, a library's known behaviour (`CallFx`).

use super::*;

/// The effect of one call on the caller's state.
#[derive(Clone, Debug, Default)]
pub(super) struct CallFx {
    pub(super) guarantee: bool,
    pub(super) never_returns: bool,
    /// Null for an anonymous caller, set otherwise.
    pub(super) identity: bool,
    /// A boolean that is true only for a verified request.
    pub(super) verifier: bool,
    /// Returns a value derived from a server secret.
    pub(super) secret: bool,
    /// Returns the content of this env var.
    pub(super) env: Option<Atom>,
    /// Applies a rate limit that throws when over (`{ throws: true }`).
    pub(super) limits: bool,
    /// Returns a rate-limit verdict the caller must act on (`{ ok }`).
    pub(super) limit_result: bool,
    /// A side effect (write, schedule, external request) anyone could repeat.
    pub(super) effect: Option<What>,
    pub(super) reads_db: bool,
    pub(super) writes_db: bool,
    pub(super) write: Option<What>,
    pub(super) read: Option<What>,
    /// A request to an external service, and what it lets the caller do.
    pub(super) service: Option<(What, String)>,
    /// The call's name in messages.
    pub(super) label: Label,
}

/// The name messages give a call, rendered only when one is built: every
/// call is classified, few are ever named.
#[derive(Clone, Debug, Default)]
pub(super) enum Label {
    /// As written: `ctx.db.insert()`, `sendEmail()`, `auth.check()`.
    #[default]
    Written,
    /// The helper it resolves to: `requireUser()`.
    Helper(Atom),
    /// A Convex function it runs: `ctx.runQuery() (users:get)`.
    Runs(String),
}

impl Label {
    pub(super) fn render(&self, f: &FnBody, call: &CallSite) -> String {
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
pub(super) enum What {
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
    pub(super) fn render(&self, label: &Label, f: &FnBody, call: &CallSite) -> String {
        match self {
            What::Call => label.render(f, call),
            What::Fixed(text) => (*text).to_string(),
            What::Noted(note) => format!("{} {note}", label.render(f, call)),
            What::Via(how, what) => format!("{}, {how} {what}", label.render(f, call)),
        }
    }
}

pub(super) fn dotted(root: &Atom, path: &[Atom]) -> String {
    let mut s = root.to_string();
    for p in path {
        s.push('.');
        s.push_str(p);
    }
    s
}

/// A call that reaches an external service: an exposure of its own, and an
/// effect a caller can repeat.
fn calls_service(fx: &mut CallFx, what: What, does: String) {
    fx.effect = Some(what.clone());
    fx.service = Some((what, does));
}

/// What `fetch(url)` lets a caller do.
fn fetch_does(call: &CallSite) -> String {
    match call.first_str.as_deref().and_then(convex::fetch_host) {
        Some(host) => format!("send requests to `{host}`"),
        None => "send requests to other services (fetch)".to_string(),
    }
}

pub(super) fn apply_lib_method(lib: LibMethod, call: &CallSite, fx: &mut CallFx) {
    match lib {
        LibMethod::GetSession => fx.identity = true,
        LibMethod::StripeConstructEvent { is_async } => fx.guarantee = !is_async || call.awaited,
    }
}

pub(super) fn crypto_fx(check: CryptoCheck, call: &CallSite, fx: &mut CallFx) {
    match check {
        CryptoCheck::Verify => fx.verifier = true,
        CryptoCheck::TimingSafeEqual if call.secret_arg || !call.name_args.is_empty() => {
            fx.verifier = true
        }
        CryptoCheck::TimingSafeEqual => {}
    }
}

/// A call's callee as written, for the vocabulary's questions: a bare name
/// (no path) or a root and the member path called on it.
pub(super) fn written<'f>(f: &'f FnBody, call: &'f CallSite) -> Option<(&'f str, &'f [Atom])> {
    match &call.callee {
        Callee::Name(n) => Some((n.as_str(), &[])),
        Callee::Member(root, path) => Some((root.as_str(), &f[*path])),
        _ => None,
    }
}

impl<'a, 'p> FnEval<'a, 'p> {
    pub(super) fn fx(&mut self, ix: CallIx) -> Rc<CallFx> {
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

    pub(super) fn classify(&mut self, ix: CallIx) -> CallFx {
        let Some(call) = self.f.call(ix) else {
            return CallFx::default();
        };
        let project = self.an.project;
        let f = self.f;
        let mut fx = CallFx::default();
        match &call.callee {
            Callee::Ctx(path) => {
                let path = &f[*path];
                if let Some(op) = convex::db_op(path) {
                    fx.reads_db = op.reads();
                    fx.writes_db = op.writes();
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
                        if let Some(c) = &s.unguarded_service {
                            let what = What::Via("which calls", c.event.what.clone());
                            fx.service = Some((what, c.does.clone()));
                        }
                        if let Some(r) = &s.unguarded_return {
                            fx.read = Some(What::Via("which returns", r.what.clone()));
                        }
                    }
                } else if convex::is_protected_ctx_call(path) {
                    if convex::is_ctx_write(path) {
                        fx.write = Some(What::Call);
                        // An audit-log row records another action; it is not one.
                        let log_table = call.first_str.as_deref().is_some_and(convex::is_log_table);
                        if convex::is_unbounded_effect(path) && !log_table {
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
                    if convex::is_fetch(n) {
                        calls_service(&mut fx, What::Call, fetch_does(call));
                    } else if convex::is_timing_safe_equal(n) && call.secret_arg {
                        fx.verifier = true;
                    }
                }
            }
            Callee::Member(root, path) => {
                let path = &f[*path];
                if let Some(lib) = convex::lib_method(path) {
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
                        Target::Unknown if convex::crypto_check(root, path).is_some() => {
                            if let Some(check) = convex::crypto_check(root, path) {
                                crypto_fx(check, call, &mut fx);
                            }
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
                if let Some(lib) = convex::lib_method(path) {
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
            fx.service = None;
        }
        if self.an.known_as(&known.rate_limits, self.m, self.f, call) {
            fx.limits = true;
            fx.effect = None;
        }
        fx
    }

    /// The Convex function `ctx.runQuery(api.a.b)` & co. call, and its summary.
    pub(super) fn called_function(
        &self,
        path: &[Atom],
        call: &CallSite,
    ) -> Option<(String, Rc<Summary>)> {
        if !convex::is_run_function(path) {
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
            summary.unguarded_service = None;
        }
        Some((format!("{module_id}:{name}"), Rc::new(summary)))
    }

    /// The effect of calling a resolved target.
    pub(super) fn target_fx(
        &mut self,
        target: &Target,
        call: &CallSite,
        fx: &mut CallFx,
        _path: &[Atom],
    ) {
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
                if let Some(c) = &s.unguarded_service {
                    let what = What::Via("which calls", c.event.what.clone());
                    fx.service = Some((what, c.does.clone()));
                }
                if let (Some(e), false) = (&s.unlimited_effect, fx.limits || fx.limit_result) {
                    fx.effect = Some(What::Via("which calls", e.what.clone()));
                }
            }
            Target::Lib(LibItem::NullableIdentity) => fx.identity = true,
            // `generateText({ model, prompt })` from `ai`; a client class
            // constructed (`new OpenAI()`) calls nothing yet.
            Target::Lib(LibItem::Service(service)) if service.functions && !call.is_new => {
                calls_service(fx, What::Call, service.does())
            }
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
    pub(super) fn made_method(
        &mut self,
        maker: &Target,
        path: &[Atom],
        call: &CallSite,
        fx: &mut CallFx,
    ) {
        let method = path.last().map(|s| s.as_str()).unwrap_or("");
        let Target::Lib(item) = maker else {
            if call.passes_ctx {
                fx.write = Some(What::Noted("(not visible to this check)"));
                fx.effect = fx.write.clone();
            }
            return;
        };
        match convex::lib_object_call(*item, method) {
            LibObjectCall::RequiresCaller => fx.guarantee = call.awaited,
            LibObjectCall::NullableIdentity => fx.identity = true,
            LibObjectCall::VerifiesWebhook => fx.guarantee = true,
            LibObjectCall::RateLimit => lib_limiter_fx(call, fx),
            LibObjectCall::CallsService(service) => calls_service(fx, What::Call, service.does()),
            LibObjectCall::Inert => {}
            LibObjectCall::Opaque => {
                if call.passes_ctx {
                    fx.write = Some(What::Noted("(a library call given ctx)"));
                    fx.effect = fx.write.clone();
                }
            }
        }
    }

    /// `const wh = new Webhook(secret)` in this body: what made `wh`.
    pub(super) fn local_made(&self, name: &Atom) -> Option<Target> {
        self.local_made_depth(name, 0)
    }

    fn local_made_depth(&self, name: &Atom, depth: u32) -> Option<Target> {
        let (_, v) = self.f.bindings.iter().rev().find(|(n, _)| n == name)?;
        match v.head {
            Head::Call(ix) => self.call_maker_depth(ix, depth),
            _ => None,
        }
    }

    pub(super) fn call_maker(&self, ix: CallIx) -> Option<Target> {
        self.call_maker_depth(ix, 0)
    }

    /// What made a call's result: a library function or class, or, for a
    /// method of a service client (`genAI.getGenerativeModel()`), the service.
    fn call_maker_depth(&self, ix: CallIx, depth: u32) -> Option<Target> {
        if depth > 8 {
            return None;
        }
        let call = self.f.call(ix)?;
        let target = match &call.callee {
            Callee::Name(n) => self.an.resolve(self.m, n),
            Callee::Member(root, _) => {
                let made = match self.local_made_depth(root, depth + 1) {
                    Some(made) => made,
                    None => match self.an.resolve(self.m, root) {
                        Target::Made(maker) => *maker,
                        _ => return None,
                    },
                };
                return made.is_service().then_some(made);
            }
            Callee::Method(base, _) => {
                return self
                    .call_maker_depth(*base, depth + 1)
                    .filter(Target::is_service)
            }
            _ => return None,
        };
        match target {
            Target::Lib(_) => Some(target),
            _ => None,
        }
    }

    /// Is the value (or the name it is read from) the result of a call with `what`?
    pub(super) fn result_of(&mut self, v: &Val, what: impl Fn(&CallFx) -> bool) -> bool {
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

    /// `ctx.db.query(...).withIndex(...).collect()`: a chain rooted in a read.
    pub(super) fn is_db_read_chain(&self, mut ix: CallIx) -> bool {
        for _ in 0..32 {
            let Some(call) = self.f.call(ix) else {
                return false;
            };
            match &call.callee {
                Callee::Ctx(p) => return convex::db_op(&self.f[*p]).is_some_and(DbOp::reads),
                Callee::Method(base, _) => ix = *base,
                _ => return false,
            }
        }
        false
    }
}
