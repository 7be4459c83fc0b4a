//! The Convex functions a project exposes, and what their builders do:
//! registrations, HTTP routes, custom builders followed to their base.

use super::*;

/// Custom builders may wrap custom builders; stop following past this depth.
pub(super) const MAX_BUILDER_DEPTH: u32 = 16;

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
pub(super) const NONE: u32 = u32::MAX;

/// `ConvexFn::from` names a route, not a registration.
pub(super) const INLINE_ROUTE: u32 = 1 << 31;

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
    pub(super) fn source<'p>(&self, project: &'p Project) -> Option<Source<'p>> {
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
pub(super) enum Source<'p> {
    Reg(&'p crate::model::facts::Registration),
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

impl<'p> Analysis<'p> {
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

    pub(super) fn route_fn(
        &self,
        m: ModIx,
        ix: usize,
        route: &crate::model::facts::Route,
    ) -> Option<ConvexFn> {
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
    pub(super) fn handler_at(&self, m: ModIx, r: Option<&FnRef>) -> (u32, FnIx) {
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

    pub(super) fn uses_row_level_security(&self, m: ModIx, ix: FnIx) -> bool {
        let Some(body) = self.body(m, ix) else {
            return false;
        };
        body.calls.iter().any(|c| match &c.callee {
            Callee::Name(n) => matches!(self.resolve(m, n), Target::Lib(LibItem::RowLevelSecurity)),
            _ => false,
        })
    }
}
