//! The compact, AST-free summary of one function body that rules and the
//! project pass work on. Lowering (see `lower.rs`) keeps only what decides
//! authentication: control flow, calls, bindings and conditions.

use swc_atoms::Atom;
// Thin vectors (one pointer, no allocation when empty): the model holds one
// call site per call in the project and most of these lists are empty.
use thin_vec::ThinVec;

/// Byte range in a file, 0-based, end exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sp {
    pub lo: u32,
    pub hi: u32,
}

/// Index of a call in its function's call table.
pub type CallIx = u32;
/// Index of a function body in its file's function table.
pub type FnIx = u32;

/// Control flow of a body, as a tree. Loops and callbacks are approximated:
/// a loop body may run zero or more times, a callback runs in place but its
/// `return`s do not leave the enclosing function.
#[derive(Debug, Clone)]
///
/// Every variant is at most one pointer (16 bytes a node): a body holds
/// one node per statement and call, and the model holds every body.
pub enum Node {
    Seq(ThinVec<Node>),
    If(Box<If>),
    /// A call is evaluated here (its effect, its guarantee).
    Call(CallIx),
    Return(Option<Box<Val>>),
    Throw,
    Loop(Box<Node>),
    Try(Box<Try>),
    /// A nested function body (callback) evaluated in place.
    Nested(Box<Node>),
}

#[derive(Debug, Clone)]
pub struct If {
    pub cond: Cond,
    pub then: Node,
    pub els: Node,
}

#[derive(Debug, Clone)]
pub struct Try {
    pub body: Node,
    pub handler: Option<Node>,
    pub finalizer: Option<Node>,
}

impl Try {
    /// Body, handler and finalizer, in order, for walks that treat them alike.
    pub fn parts(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.body)
            .chain(self.handler.as_ref())
            .chain(self.finalizer.as_ref())
    }

    pub fn parts_mut(&mut self) -> impl Iterator<Item = &mut Node> {
        std::iter::once(&mut self.body)
            .chain(self.handler.as_mut())
            .chain(self.finalizer.as_mut())
    }
}

/// What an expression is, as far as authentication cares.
#[derive(Debug, Clone, Default)]
pub struct Val {
    pub head: Head,
    /// Local names referenced anywhere inside (callbacks included).
    pub refs: ThinVec<Atom>,
    /// Reads `process.env`.
    pub env: bool,
    /// Computes an HMAC or signature.
    pub hmac: bool,
    /// Contains a call other than `new X(...)` (its result may carry data).
    pub calls: bool,
    /// For `x.a.b`: the last property read, `b`.
    pub prop: Option<Atom>,
    /// A short string literal's text (`"public"`).
    pub lit: Option<Atom>,
    /// Whether an object literal has an `error` key (`{ error: ... }`).
    pub error_shaped: bool,
    /// Rows filtered on a public flag (`.filter(r => r.isPublic)`,
    /// `.withIndex("by_public", q => q.eq("isPublic", true))`).
    pub public: bool,
    /// Where the value's content comes from (for secrets that must not leak).
    pub flow: Flow,
    pub span: Sp,
}

#[derive(Debug, Clone, Default)]
pub enum Head {
    /// The (possibly awaited) result of a call.
    Call(CallIx),
    /// A local name, or a member path on it (`x`, `x.y`, `x?.y`, `x!`).
    Name(Atom),
    /// `null`, `undefined`, `false`, `void 0`, `0`, `""`.
    Nullish,
    /// A literal that is never nullish.
    Lit,
    /// A boolean-valued test (comparison, `!x`, `a && b`).
    Cond(Box<Cond>),
    /// `a ?? b` / `a || b` where `b` is not nullish: never nullish.
    Defaulted,
    #[default]
    Other,
}

/// The sources whose content a value carries: an env var, or local names.
/// Unlike `refs`, a call's result carries nothing of its arguments, except
/// for string transformations (`String(x)`, `x.slice(0, 4)`).
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// `process.env.NAME` (or `process.env` itself).
    pub env: Option<Atom>,
    pub names: ThinVec<Atom>,
    /// Call results built into the value (`{ error: await res.text() }`).
    pub calls: ThinVec<CallIx>,
}

/// `dst.extend(src)`, but a move when `dst` is empty: values are built by
/// absorbing their operands, and most absorb a single non-empty one.
pub fn append<T>(dst: &mut ThinVec<T>, src: ThinVec<T>) {
    if dst.is_empty() {
        *dst = src;
    } else {
        dst.extend(src);
    }
}

impl Flow {
    pub fn merge(&mut self, other: Flow) {
        if self.env.is_none() {
            self.env = other.env;
        }
        append(&mut self.names, other.names);
        append(&mut self.calls, other.calls);
    }

    /// `merge` of a copy, without building the copy first.
    pub fn merge_from(&mut self, other: &Flow) {
        if self.env.is_none() {
            self.env.clone_from(&other.env);
        }
        self.names.extend(other.names.iter().cloned());
        self.calls.extend(other.calls.iter().copied());
    }
}

/// Values are boxed: a condition is 24 bytes, and most are a single test.
#[derive(Debug, Clone)]
pub enum Cond {
    Truthy(Box<Val>),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    /// `l == r`, `l === r` (negated: `!=`, `!==`).
    Eq {
        l: Box<Val>,
        r: Box<Val>,
        negated: bool,
    },
    /// `l < r`, `l >= r`, ...: an ordering (counts against limits).
    Compare(Box<Val>, Box<Val>),
    Unknown,
}

/// Who a call goes to, before resolution across modules.
#[derive(Debug, Clone)]
pub enum Callee {
    /// `ctx.a.b(...)`: the path after the Convex ctx.
    Ctx(ThinVec<Atom>),
    /// `f(...)`: a local, imported or global name.
    Name(Atom),
    /// `obj.a.b(...)` on a local, imported or global name.
    Member(Atom, ThinVec<Atom>),
    /// `call(...).a.b(...)`: a method on another call's result.
    Method(CallIx, ThinVec<Atom>),
    Dynamic,
}

/// How a call's result is used where the call is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultUse {
    /// An expression statement: the value is thrown away.
    Discarded,
    /// Assigned to a name (see the function's bindings).
    Bound,
    /// Tested by a condition, returned, defaulted or passed on whole.
    Handled,
    /// Dereferenced with `!` or `.` without a null check.
    Dereferenced,
    Other,
}

#[derive(Debug, Clone)]
pub struct CallSite {
    pub callee: Callee,
    pub span: Sp,
    /// The callee expression's span (for labels).
    pub callee_span: Sp,
    pub is_new: bool,
    /// `await`ed, or returned from an async function, so a rejection propagates.
    pub awaited: bool,
    /// Some argument is the Convex ctx.
    pub passes_ctx: bool,
    /// Arguments that are whole local names.
    pub name_args: ThinVec<Atom>,
    /// An argument reads `process.env` or an HMAC (for `timingSafeEqual`).
    pub secret_arg: bool,
    /// First string-literal argument (`crypto.subtle.verify("HMAC", ..)`).
    pub first_str: Option<Atom>,
    /// `api.a.b` / `internal.a.b` given to `ctx.runQuery`, `ctx.scheduler.runAfter` & co.
    pub fn_arg: Option<Box<FnArg>>,
    /// What the arguments carry, merged (for sinks such as `console.log`).
    pub arg_flow: Flow,
    /// Arguments that are a name or one property of a name: `doc`, `args.id`.
    pub arg_paths: ThinVec<(Atom, Option<Atom>)>,
    /// Arguments that are themselves calls: `check(await ctx.db.get(id))`.
    pub arg_calls: ThinVec<CallIx>,
    /// Every `x.y` mentioned anywhere in the arguments (callbacks included).
    pub arg_props: ThinVec<(Atom, Atom)>,
    /// Every name mentioned anywhere in the arguments (callbacks included).
    pub arg_names: ThinVec<Atom>,
    /// An options object argument has `throws: true` (rate limiters).
    pub throws_true: bool,
    pub result: ResultUse,
}

/// A reference to a Convex function through the generated `api` or `internal` object.
#[derive(Debug, Clone)]
pub struct FnArg {
    /// `api.…` (the public surface) rather than `internal.…`.
    pub public: bool,
    /// `["messages", "send"]` for `api.messages.send`.
    pub path: ThinVec<Atom>,
    pub span: Sp,
}

/// How a local name is used (for null-check tracking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseKind {
    /// Appears in a test, `?.`, `??`, returned, or passed on whole.
    Handled,
    /// `x!` or `x.y` without a preceding check.
    Dereferenced,
    Plain,
}

#[derive(Debug, Clone)]
pub struct Use {
    pub name: Atom,
    pub kind: UseKind,
    pub span: Sp,
}

/// One function-like definition, lowered.
#[derive(Debug, Clone, Default)]
pub struct FnBody {
    /// Display name: `requireUser`, `Auth.requireUser`, `handler`.
    pub name: Atom,
    pub span: Sp,
    pub is_async: bool,
    pub body: Option<Node>,
    pub calls: Vec<CallSite>,
    /// `const x = v` and `x = v` (a name may be bound more than once).
    pub bindings: Vec<(Atom, Val)>,
    pub uses: Vec<Use>,
    /// Plain named parameters other than ctx, in order.
    pub params: Vec<Atom>,
    /// How many parameters it declares (ctx included).
    pub arity: u8,
    /// Names that stand for the Convex ctx itself.
    pub ctx_names: Vec<Atom>,
    /// For a handler `(ctx, { id, body: text })`: (argument, local name).
    pub arg_locals: Vec<(Atom, Atom)>,
    /// `catch (err)`: names holding a caught error.
    pub catch_params: Vec<Atom>,
    /// Where lowering stopped because the body nests too deeply.
    pub too_deep: Option<u32>,
}

impl FnBody {
    pub fn call(&self, ix: CallIx) -> Option<&CallSite> {
        self.calls.get(ix as usize)
    }
}
