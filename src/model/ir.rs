//! The compact, AST-free summary of one function body that rules and the
//! project pass work on. Lowering (see `lower/`) keeps only what decides
//! authentication: control flow, calls, bindings and conditions.

use std::marker::PhantomData;
use std::ops::Index;

use swc_atoms::Atom;
use thin_vec::ThinVec;

/// Byte range in a file, 0-based, end exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sp {
    pub lo: u32,
    pub hi: u32,
}

/// Index of a call in its function's call table.
pub type CallIx = u32;

/// A list held in its body's pools: `body[run]` is the slice. A body keeps
/// all its lists in a few pools instead of one allocation per list, so it is
/// built, kept and freed as a few blocks.
pub struct Run<T> {
    at: u32,
    len: u32,
    _of: PhantomData<fn() -> T>,
}

/// Names (value refs and flows, callee paths, a call's argument names).
pub type Names = Run<Atom>;
/// Call indices (calls whose results flow somewhere, calls given as arguments).
pub type Calls = Run<CallIx>;

impl<T> Run<T> {
    pub const EMPTY: Self = Run {
        at: 0,
        len: 0,
        _of: PhantomData,
    };

    pub fn len(self) -> usize {
        self.len as usize
    }

    /// Where the run starts in its pool, and its length (for packing).
    pub(super) fn raw(self) -> (u32, u32) {
        (self.at, self.len)
    }

    pub(super) fn from_raw(at: u32, len: u32) -> Self {
        Run {
            at,
            len,
            _of: PhantomData,
        }
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    fn end(self) -> usize {
        self.at as usize + self.len as usize
    }

    fn range(self) -> std::ops::Range<usize> {
        self.at as usize..self.end()
    }

    /// The entries of `pool` from `at` to its end, as a run.
    pub fn tail(pool: &[T], at: usize) -> Self {
        Run {
            at: at as u32,
            len: pool.len().saturating_sub(at) as u32,
            _of: PhantomData,
        }
    }

    pub fn of(self, pool: &[T]) -> &[T] {
        debug_assert!(self.end() <= pool.len(), "a run outside its pool");
        pool.get(self.range()).unwrap_or(&[])
    }

    /// Appends `item`; the run moves to the end of `pool` first unless it
    /// already ends there (pool entries are never changed, so a run shared
    /// by copies of a value stays what each copy saw).
    pub fn push(&mut self, pool: &mut Vec<T>, item: T)
    where
        T: Clone,
    {
        self.move_to_end(pool);
        pool.push(item);
        self.len += 1;
    }

    /// Appends `src`'s entries: a move when this run is empty, nothing to
    /// copy when `src` starts where this run ends (operands are lowered in
    /// order, so their lists are usually adjacent).
    pub fn append(&mut self, pool: &mut Vec<T>, src: Self)
    where
        T: Clone,
    {
        if src.len == 0 {
            return;
        }
        if self.len == 0 {
            *self = src;
            return;
        }
        if self.end() != src.at as usize {
            self.move_to_end(pool);
            pool.extend_from_within(src.range());
        }
        self.len += src.len;
    }

    fn move_to_end(&mut self, pool: &mut Vec<T>)
    where
        T: Clone,
    {
        if self.len == 0 {
            self.at = pool.len() as u32;
        } else if self.end() != pool.len() {
            let range = self.range();
            self.at = pool.len() as u32;
            pool.extend_from_within(range);
        }
    }
}

// Derived impls would ask `T` for the same traits.
impl<T> Clone for Run<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Run<T> {}
impl<T> Default for Run<T> {
    fn default() -> Self {
        Self::EMPTY
    }
}
impl<T> std::fmt::Debug for Run<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Where an empty run starts means nothing (nor is it kept when packed).
        if self.len == 0 {
            return write!(f, "..");
        }
        write!(f, "{}..{}", self.at, self.end())
    }
}

/// `v`'s entries moved to a block of their length, leaving `v` empty with
/// its capacity. (`shrink_to_fit` does not give memory back: mimalloc keeps
/// a block a shrinking `realloc` leaves at least half full, so a table that
/// grew by doubling would keep up to half its capacity.)
pub fn fitted<T>(v: &mut Vec<T>) -> Vec<T> {
    let mut exact = Vec::with_capacity(v.len());
    exact.append(v);
    exact
}
/// Index of a function body in its file's function table.
pub type FnIx = u32;

/// Index of a value in its body's `vals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValIx(pub u32);
/// Index of a condition in its body's `conds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CondIx(pub u32);
/// Index of an `if` in its body's `ifs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfIx(pub u32);
/// Index of a `try` in its body's `tries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TryIx(pub u32);

/// Control flow of a body, as a tree whose parts live in the body's tables
/// (a sequence is a run of consecutive nodes). Loops and callbacks are
/// approximated: a loop body may run zero or more times, a callback runs in
/// place but its `return`s do not leave the enclosing function.
#[derive(Debug, Clone, Copy)]
pub enum Node {
    Seq(Run<Node>),
    If(IfIx),
    /// A call is evaluated here (its effect, its guarantee).
    Call(CallIx),
    Return(Option<ValIx>),
    Throw,
    Loop(Run<Node>),
    Try(TryIx),
    /// A nested function body (callback) evaluated in place.
    Nested(Run<Node>),
}

#[derive(Debug, Clone)]
pub struct If {
    pub cond: CondIx,
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
}

/// What an expression is, as far as authentication cares.
#[derive(Debug, Clone, Default)]
pub struct Val {
    pub head: Head,
    /// Local names referenced anywhere inside (callbacks included).
    pub refs: Names,
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
    Cond(CondIx),
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
    pub names: Names,
    /// Call results built into the value (`{ error: await res.text() }`).
    pub calls: Calls,
}

#[derive(Debug, Clone, Copy)]
pub enum Cond {
    Truthy(ValIx),
    Not(CondIx),
    And(CondIx, CondIx),
    Or(CondIx, CondIx),
    /// `l == r`, `l === r` (negated: `!=`, `!==`).
    Eq {
        l: ValIx,
        r: ValIx,
        negated: bool,
    },
    /// `l < r`, `l >= r`, ...: an ordering (counts against limits).
    Compare(ValIx, ValIx),
    Unknown,
}

/// Who a call goes to, before resolution across modules.
#[derive(Debug, Clone)]
pub enum Callee {
    /// `ctx.a.b(...)`: the path after the Convex ctx.
    Ctx(Names),
    /// `f(...)`: a local, imported or global name.
    Name(Atom),
    /// `obj.a.b(...)` on a local, imported or global name.
    Member(Atom, Names),
    /// `call(...).a.b(...)`: a method on another call's result.
    Method(CallIx, Names),
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
    pub name_args: Names,
    /// An argument reads `process.env` or an HMAC (for `timingSafeEqual`).
    pub secret_arg: bool,
    /// First string-literal argument (`crypto.subtle.verify("HMAC", ..)`).
    pub first_str: Option<Atom>,
    /// `api.a.b` / `internal.a.b` given to `ctx.runQuery`, `ctx.scheduler.runAfter` & co.
    pub fn_arg: Option<Box<FnArg>>,
    /// What the arguments carry, merged (for sinks such as `console.log`).
    pub arg_flow: Flow,
    /// Arguments that are a name or one property of a name: `doc`, `args.id`.
    pub arg_paths: Run<(Atom, Option<Atom>)>,
    /// Arguments that are themselves calls: `check(await ctx.db.get(id))`.
    pub arg_calls: Calls,
    /// Every `x.y` mentioned anywhere in the arguments (callbacks included).
    pub arg_props: Run<(Atom, Atom)>,
    /// Every name mentioned anywhere in the arguments (callbacks included).
    pub arg_names: Names,
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

impl FnArg {
    /// The module it names, `admin/users` for `api.admin.users.remove`,
    /// and the function's name; None for an empty path.
    pub fn module_and_name(&self) -> Option<(String, &Atom)> {
        let (name, module) = self.path.split_last()?;
        let module = module
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("/");
        Some((module, name))
    }
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

/// One function-like definition, lowered. While it is lowered its tables
/// are lent from body to body (see `tables::Scratch`); at rest it is packed
/// (see `pack.rs`), and a decoded body's tables are of their length.
#[derive(Debug, Clone, Default)]
pub struct FnBody {
    /// Display name: `requireUser`, `Auth.requireUser`, `handler`.
    pub name: Atom,
    pub span: Sp,
    pub is_async: bool,
    /// The body's sequence of statements (`None` for a declaration without one).
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
    /// The tables every `Run` and index of this body points into.
    pub nodes: Vec<Node>,
    pub ifs: Vec<If>,
    pub tries: Vec<Try>,
    pub conds: Vec<Cond>,
    pub vals: Vec<Val>,
    pub names: Vec<Atom>,
    pub call_ixs: Vec<CallIx>,
    pub paths: Vec<(Atom, Option<Atom>)>,
    pub props: Vec<(Atom, Atom)>,
}

impl FnBody {
    pub fn call(&self, ix: CallIx) -> Option<&CallSite> {
        self.calls.get(ix as usize)
    }

    /// Empties every table, keeping its capacity (for the next body lowered).
    pub(super) fn clear(&mut self) {
        let FnBody {
            name,
            span,
            is_async,
            body,
            calls,
            bindings,
            uses,
            params,
            arity,
            ctx_names,
            arg_locals,
            catch_params,
            too_deep,
            nodes,
            ifs,
            tries,
            conds,
            vals,
            names,
            call_ixs,
            paths,
            props,
        } = self;
        *name = Atom::default();
        *span = Sp::default();
        *is_async = false;
        *body = None;
        *arity = 0;
        *too_deep = None;
        calls.clear();
        bindings.clear();
        uses.clear();
        params.clear();
        ctx_names.clear();
        arg_locals.clear();
        catch_params.clear();
        nodes.clear();
        ifs.clear();
        tries.clear();
        conds.clear();
        vals.clear();
        names.clear();
        call_ixs.clear();
        paths.clear();
        props.clear();
    }
}

macro_rules! pool {
    ($t:ty, $field:ident) => {
        impl Index<Run<$t>> for FnBody {
            type Output = [$t];
            fn index(&self, run: Run<$t>) -> &[$t] {
                run.of(&self.$field)
            }
        }
    };
}
pool!(Node, nodes);
pool!(Atom, names);
pool!(CallIx, call_ixs);
pool!((Atom, Option<Atom>), paths);
pool!((Atom, Atom), props);

/// What an out-of-range index reads (never, for a body lowering built).
static NO_VAL: Val = Val {
    head: Head::Other,
    refs: Run::EMPTY,
    env: false,
    hmac: false,
    calls: false,
    prop: None,
    lit: None,
    error_shaped: false,
    public: false,
    flow: Flow {
        env: None,
        names: Run::EMPTY,
        calls: Run::EMPTY,
    },
    span: Sp { lo: 0, hi: 0 },
};
static NO_IF: If = If {
    cond: CondIx(u32::MAX),
    then: Node::Seq(Run::EMPTY),
    els: Node::Seq(Run::EMPTY),
};
static NO_TRY: Try = Try {
    body: Node::Seq(Run::EMPTY),
    handler: None,
    finalizer: None,
};

macro_rules! table {
    ($ix:ty, $t:ty, $field:ident, $none:expr) => {
        impl Index<$ix> for FnBody {
            type Output = $t;
            fn index(&self, ix: $ix) -> &$t {
                debug_assert!(
                    (ix.0 as usize) < self.$field.len(),
                    "an index outside its table"
                );
                self.$field.get(ix.0 as usize).unwrap_or($none)
            }
        }
    };
}
table!(ValIx, Val, vals, &NO_VAL);
table!(CondIx, Cond, conds, &Cond::Unknown);
table!(IfIx, If, ifs, &NO_IF);
table!(TryIx, Try, tries, &NO_TRY);

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs built the ways lowering builds them read back as the lists they
    /// stand for, however they share or interleave in the pool.
    #[test]
    fn runs_read_back_as_their_lists() {
        let mut pool: Vec<u32> = Vec::new();
        let mut a = Run::EMPTY;
        a.push(&mut pool, 1);
        a.push(&mut pool, 2);
        // A copy shares the entries; each then grows on its own.
        let mut b = a;
        a.push(&mut pool, 3);
        b.push(&mut pool, 4);
        assert_eq!(a.of(&pool), [1, 2, 3]);
        assert_eq!(b.of(&pool), [1, 2, 4]);
        // Adjacent runs merge in place; others are copied to the end.
        let mut c = Run::EMPTY;
        c.push(&mut pool, 5);
        let mut d = Run::EMPTY;
        d.push(&mut pool, 6);
        let before = pool.len();
        c.append(&mut pool, d);
        assert_eq!(pool.len(), before);
        assert_eq!(c.of(&pool), [5, 6]);
        a.append(&mut pool, c);
        assert_eq!(a.of(&pool), [1, 2, 3, 5, 6]);
        assert_eq!(b.of(&pool), [1, 2, 4]);
        // Appending to or from an empty run copies nothing.
        let mut e = Run::EMPTY;
        let before = pool.len();
        e.append(&mut pool, b);
        b.append(&mut pool, Run::EMPTY);
        assert_eq!(pool.len(), before);
        assert_eq!(e.of(&pool), [1, 2, 4]);
        assert_eq!(Run::<u32>::EMPTY.of(&pool), [] as [u32; 0]);
        assert_eq!(Run::tail(&pool, pool.len() - 2).of(&pool), [5, 6]);
    }
}
