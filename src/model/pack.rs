//! Lowered bodies at rest. A module's function bodies are packed into one
//! byte buffer as each is lowered (integers as LEB128 varints, names as
//! indices into the module's table of distinct names), and decoded when the
//! analysis first asks for one. The project holds every module's bodies until
//! the rules have run, and packed they take a fraction of their decoded size.
//! At rest a module's bytes are one LZ4 block (`lz4_flex`), about a quarter
//! smaller. The first read decompresses the block in place; most modules are
//! read by their own scope only, which frees them after.
//!
//! The codec is written here rather than taken from a serde format because
//! names are written as indices into a table the module builds as it goes,
//! which a serde `Serialize` impl has no way to reach.

use std::hash::BuildHasher;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use swc_atoms::Atom;
use thin_vec::ThinVec;

use super::ir::{
    CallIx, CallSite, Callee, Cond, CondIx, Flow, FnArg, FnBody, FnIx, Head, If, IfIx, Node,
    ResultUse, Run, Sp, Try, TryIx, Use, UseKind, Val, ValIx,
};

/// A module's bodies, packed: the body store. Bodies are read by index
/// (`get`) and freed through a shared reference (`free`) once no scope left
/// to run reads them. A read after `free` is a bug, not an empty body: debug
/// builds (the tests) panic on it; a release build reads nothing.
#[derive(Default)]
pub struct Bodies(std::sync::Mutex<Packed>);

#[derive(Default, Clone)]
struct Packed {
    /// An LZ4 block of `raw_len` bytes while `raw_len` is not zero: the
    /// first read decompresses it in place.
    bytes: Box<[u8]>,
    raw_len: u32,
    /// Where each body starts in `bytes`, by `FnIx`.
    starts: Box<[u32]>,
    /// The distinct names the bodies mention.
    atoms: Box<[Atom]>,
    /// `free` has run.
    freed: bool,
}

impl Clone for Bodies {
    fn clone(&self) -> Self {
        Bodies(std::sync::Mutex::new(self.packed().clone()))
    }
}

impl Bodies {
    // A panic elsewhere while the lock was held leaves the bytes as they were.
    fn packed(&self) -> std::sync::MutexGuard<'_, Packed> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn len(&self) -> usize {
        self.packed().starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Body `ix`, decoded.
    pub fn get(&self, ix: FnIx) -> Option<FnBody> {
        let mut packed = self.packed();
        debug_assert!(
            !packed.freed,
            "body {ix} read after its module's bodies were freed"
        );
        if packed.raw_len != 0 {
            // Our own block, so it decompresses; were it damaged, the
            // bodies would read as empty rather than panic.
            packed.bytes = lz4_flex::block::decompress(&packed.bytes, packed.raw_len as usize)
                .unwrap_or_default()
                .into_boxed_slice();
            packed.raw_len = 0;
        }
        let start = *packed.starts.get(ix as usize)? as usize;
        let mut r = Reader {
            buf: packed.bytes.get(start..)?,
            at: 0,
            atoms: &packed.atoms,
            last_lo: 0,
            run_ends: [0; POOLS],
        };
        Some(FnBody::unpack(&mut r))
    }

    /// Frees the bytes: no body can be read after.
    pub fn free(&self) {
        *self.packed() = Packed {
            freed: true,
            ..Packed::default()
        };
    }

    pub fn is_freed(&self) -> bool {
        self.packed().freed
    }
}

impl std::fmt::Debug for Bodies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_freed() {
            return f.write_str("[freed]");
        }
        f.debug_list()
            .entries((0..self.len() as FnIx).map(|ix| self.get(ix)))
            .finish()
    }
}

/// Packs a module's bodies; lent from module to module (empty between them).
#[derive(Default)]
pub(super) struct Packer {
    bytes: Vec<u8>,
    starts: Vec<u32>,
    atoms: Vec<Atom>,
    atom_ix: HashMap<Atom, u32>,
    /// The names written lately and their indices, by hash (see `Writer::atom`).
    recent: Vec<(Atom, u32)>,
    /// Long names (not stored inline in an atom) as this thread has already
    /// tabled them, kept from module to module: a table holds this copy
    /// rather than its parser's, so the modules that mention a name share
    /// one allocation. The facts' names are replaced with these copies too.
    shared: HashSet<Atom>,
}

/// Atoms of up to this many bytes are stored inline, with no allocation to share.
const INLINE: usize = std::mem::size_of::<Atom>() - 1;

/// Past this many shared names the set starts again: it bounds what a thread
/// holds on to, and real projects have far fewer.
const SHARED_MAX: usize = 1 << 16;

impl Packer {
    /// Packs `body` as the module's next one; its index.
    pub(super) fn push(&mut self, body: &FnBody) -> FnIx {
        self.starts.push(self.bytes.len() as u32);
        if self.recent.len() != RECENT {
            self.recent = vec![(Atom::default(), NO_IX); RECENT];
        }
        body.pack(&mut Writer {
            out: &mut self.bytes,
            atoms: &mut self.atoms,
            atom_ix: &mut self.atom_ix,
            recent: &mut self.recent,
            shared: &mut self.shared,
            last_lo: 0,
            run_ends: [0; POOLS],
        });
        (self.starts.len() - 1) as FnIx
    }

    /// Replaces a name with the thread's copy, as the bodies' tables hold
    /// it: for the names the module's other facts keep.
    pub(super) fn share(&mut self, a: &mut Atom) {
        *a = shared_copy(&mut self.shared, a);
    }

    /// The module's bodies, each list copied to a block of its length,
    /// leaving this packer empty with its capacity.
    pub(super) fn take(&mut self) -> Bodies {
        self.atom_ix.clear();
        self.recent.iter_mut().for_each(|(_, ix)| *ix = NO_IX);
        // Most modules' bytes are read once, by their own scope, a while
        // after they are packed; small ones are not worth a block.
        let block = (self.bytes.len() >= MIN_BLOCK)
            .then(|| lz4_flex::block::compress(&self.bytes))
            .filter(|b| b.len() < self.bytes.len() - self.bytes.len() / 8);
        let (bytes, raw_len) = match block {
            Some(mut b) => {
                let raw_len = self.bytes.len() as u32;
                self.bytes.clear();
                (super::ir::fitted(&mut b), raw_len)
            }
            None => (super::ir::fitted(&mut self.bytes), 0),
        };
        Bodies(std::sync::Mutex::new(Packed {
            bytes: bytes.into_boxed_slice(),
            raw_len,
            starts: super::ir::fitted(&mut self.starts).into_boxed_slice(),
            atoms: super::ir::fitted(&mut self.atoms).into_boxed_slice(),
            freed: false,
        }))
    }

    /// Its largest pool, in entries of about a table row's size.
    pub(super) fn largest(&self) -> usize {
        (self.bytes.capacity() / 32)
            .max(self.starts.capacity())
            .max(self.atoms.capacity())
    }
}

/// Bodies of fewer bytes are kept as they are.
const MIN_BLOCK: usize = 256;

/// Slots in `Packer::recent`; `NO_IX` marks an empty one.
const RECENT: usize = 256;
const NO_IX: u32 = u32::MAX;

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    atoms: &'a mut Vec<Atom>,
    atom_ix: &'a mut HashMap<Atom, u32>,
    recent: &'a mut [(Atom, u32)],
    shared: &'a mut HashSet<Atom>,
    /// The start of the span written last: spans are written as the
    /// distance from it (most are near, so one byte rather than two).
    last_lo: u32,
    /// Where the run written last into each pool ends (see `Run`'s `Pack`).
    run_ends: [u32; POOLS],
}

impl Writer<'_> {
    fn u32(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.out.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    /// A name, as its index in the module's table. Most names repeat
    /// within a body, and one slot per hash remembers the last name seen
    /// there: a hit skips the table's map (1,000 files: 730,000 names
    /// written, of about 95 distinct ones per module).
    fn atom(&mut self, a: &Atom) {
        let h = rustc_hash::FxBuildHasher.hash_one(a);
        let slot = ((h ^ (h >> 32)) as usize) & (RECENT - 1);
        if let Some((seen, ix)) = self.recent.get(slot) {
            if *ix != NO_IX && seen == a {
                let ix = *ix;
                self.u32(ix);
                return;
            }
        }
        let ix = match self.atom_ix.get(a) {
            Some(&ix) => ix,
            None => {
                let ix = self.atoms.len() as u32;
                let a = shared_copy(self.shared, a);
                self.atoms.push(a.clone());
                self.atom_ix.insert(a, ix);
                ix
            }
        };
        if let Some(entry) = self.recent.get_mut(slot) {
            *entry = (a.clone(), ix);
        }
        self.u32(ix);
    }
}

/// The thread's copy of a long name (this one, if it is the first).
fn shared_copy(shared: &mut HashSet<Atom>, a: &Atom) -> Atom {
    if a.len() <= INLINE {
        return a.clone();
    }
    if let Some(copy) = shared.get(a) {
        return copy.clone();
    }
    if shared.len() >= SHARED_MAX {
        shared.clear();
    }
    shared.insert(a.clone());
    a.clone()
}

/// Reads what a `Writer` wrote. Past the end it reads zeros, and a list
/// is never longer than the bytes left, so a damaged buffer decodes to
/// something rather than panicking or looping.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    atoms: &'a [Atom],
    last_lo: u32,
    run_ends: [u32; POOLS],
}

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.buf.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn u32(&mut self) -> u32 {
        let mut v = 0u32;
        for shift in [0, 7, 14, 21, 28] {
            let b = self.u8();
            v |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }

    fn atom(&mut self) -> Atom {
        let ix = self.u32() as usize;
        self.atoms.get(ix).cloned().unwrap_or_default()
    }

    fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.at)
    }
}

trait Pack: Sized {
    fn pack(&self, w: &mut Writer);
    fn unpack(r: &mut Reader) -> Self;
}

impl Pack for u32 {
    fn pack(&self, w: &mut Writer) {
        w.u32(*self);
    }
    fn unpack(r: &mut Reader) -> Self {
        r.u32()
    }
}

impl Pack for u8 {
    fn pack(&self, w: &mut Writer) {
        w.out.push(*self);
    }
    fn unpack(r: &mut Reader) -> Self {
        r.u8()
    }
}

impl Pack for bool {
    fn pack(&self, w: &mut Writer) {
        w.out.push(u8::from(*self));
    }
    fn unpack(r: &mut Reader) -> Self {
        r.u8() != 0
    }
}

impl Pack for Atom {
    fn pack(&self, w: &mut Writer) {
        w.atom(self);
    }
    fn unpack(r: &mut Reader) -> Self {
        r.atom()
    }
}

impl<T: Pack> Pack for Option<T> {
    fn pack(&self, w: &mut Writer) {
        match self {
            None => w.out.push(0),
            Some(v) => {
                w.out.push(1);
                v.pack(w);
            }
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        (r.u8() != 0).then(|| T::unpack(r))
    }
}

impl<T: Pack> Pack for Box<T> {
    fn pack(&self, w: &mut Writer) {
        (**self).pack(w);
    }
    fn unpack(r: &mut Reader) -> Self {
        Box::new(T::unpack(r))
    }
}

impl<A: Pack, B: Pack> Pack for (A, B) {
    fn pack(&self, w: &mut Writer) {
        self.0.pack(w);
        self.1.pack(w);
    }
    fn unpack(r: &mut Reader) -> Self {
        let a = A::unpack(r);
        (a, B::unpack(r))
    }
}

/// Every element takes at least one byte, so a list is never longer than
/// the bytes left.
fn list_len(r: &mut Reader) -> usize {
    (r.u32() as usize).min(r.left())
}

impl<T: Pack> Pack for Vec<T> {
    fn pack(&self, w: &mut Writer) {
        w.u32(self.len() as u32);
        for v in self {
            v.pack(w);
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        let n = list_len(r);
        (0..n).map(|_| T::unpack(r)).collect()
    }
}

impl Pack for ThinVec<Atom> {
    fn pack(&self, w: &mut Writer) {
        w.u32(self.len() as u32);
        for a in self {
            w.atom(a);
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        let n = list_len(r);
        (0..n).map(|_| r.atom()).collect()
    }
}

/// A body's pools, for `Run`'s codec: each remembers where its last run ended.
const POOLS: usize = 5;

/// The pool a run's entries live in.
trait Pooled {
    const POOL: usize;
}
impl Pooled for Node {
    const POOL: usize = 0;
}
impl Pooled for Atom {
    const POOL: usize = 1;
}
impl Pooled for CallIx {
    const POOL: usize = 2;
}
impl Pooled for (Atom, Option<Atom>) {
    const POOL: usize = 3;
}
impl Pooled for (Atom, Atom) {
    const POOL: usize = 4;
}

/// Runs as one varint, `len << 1`, when empty (six in ten) or when the run
/// starts where the last run into its pool ended (lists are mostly built in
/// the order they are written); otherwise with the low bit set and the
/// start after it. An empty run reads back as `Run::EMPTY` (where an empty
/// run starts means nothing).
impl<T: Pooled> Pack for Run<T> {
    fn pack(&self, w: &mut Writer) {
        let (at, len) = self.raw();
        if len == 0 {
            w.out.push(0);
            return;
        }
        let next = w.run_ends.get(T::POOL).copied().unwrap_or(0);
        if let Some(end) = w.run_ends.get_mut(T::POOL) {
            *end = at.wrapping_add(len);
        }
        if at == next {
            w.u32(len << 1);
        } else {
            w.u32(len << 1 | 1);
            w.u32(at);
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        let v = r.u32();
        let len = v >> 1;
        let at = if v & 1 == 1 {
            r.u32()
        } else {
            r.run_ends.get(T::POOL).copied().unwrap_or(0)
        };
        if len == 0 {
            return Run::EMPTY;
        }
        if let Some(end) = r.run_ends.get_mut(T::POOL) {
            *end = at.wrapping_add(len);
        }
        Run::from_raw(at, len)
    }
}

/// Spans as start and length (lengths are short), the start as a zigzag
/// varint of its distance from the last span's start (either way). The
/// arithmetic wraps: any bytes decode to some span.
impl Pack for Sp {
    fn pack(&self, w: &mut Writer) {
        let d = self.lo.wrapping_sub(w.last_lo) as i32;
        w.u32(((d << 1) ^ (d >> 31)) as u32);
        w.u32(self.hi.wrapping_sub(self.lo));
        w.last_lo = self.lo;
    }
    fn unpack(r: &mut Reader) -> Self {
        let z = r.u32();
        let d = ((z >> 1) as i32) ^ -((z & 1) as i32);
        let lo = r.last_lo.wrapping_add(d as u32);
        r.last_lo = lo;
        Sp {
            lo,
            hi: lo.wrapping_add(r.u32()),
        }
    }
}

macro_rules! index {
    ($($t:ident),*) => {$(
        impl Pack for $t {
            fn pack(&self, w: &mut Writer) {
                w.u32(self.0);
            }
            fn unpack(r: &mut Reader) -> Self {
                $t(r.u32())
            }
        }
    )*};
}
index!(ValIx, CondIx, IfIx, TryIx);

/// A struct, field by field in the order written (struct expressions
/// evaluate their fields in that order).
macro_rules! fields {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Pack for $t {
            fn pack(&self, w: &mut Writer) {
                $(self.$f.pack(w);)*
            }
            fn unpack(r: &mut Reader) -> Self {
                $t { $($f: Pack::unpack(r)),* }
            }
        }
    };
}

fields!(If { cond, then, els });
fields!(Try {
    body,
    handler,
    finalizer
});
fields!(FnArg { public, path, span });
fields!(Use { name, kind, span });
fields!(FnBody {
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
});

/// Up to eight flags in a byte.
fn flags<const N: usize>(w: &mut Writer, bits: [bool; N]) {
    let byte = bits
        .iter()
        .enumerate()
        .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i));
    w.out.push(byte);
}

fn unflags<const N: usize>(r: &mut Reader) -> [bool; N] {
    let byte = r.u8();
    std::array::from_fn(|i| byte & (1 << i) != 0)
}

/// `v`'s value, if any: whether there is one is a flag written before.
fn some<T: Pack>(w: &mut Writer, v: &Option<T>) {
    if let Some(v) = v {
        v.pack(w);
    }
}

/// What `some` wrote, given its flag.
fn read_some<T: Pack>(r: &mut Reader, there: bool) -> Option<T> {
    there.then(|| T::unpack(r))
}

/// A run whose emptiness is a flag written before: nothing when empty.
fn run_if<T: Pooled>(w: &mut Writer, run: Run<T>) {
    if !run.is_empty() {
        run.pack(w);
    }
}

/// What `run_if` wrote, given its flag.
fn read_run<T: Pooled>(r: &mut Reader, there: bool) -> Run<T> {
    if there {
        Run::unpack(r)
    } else {
        Run::EMPTY
    }
}

/// A value's flags, then which of its optional parts are there (most are
/// absent), then those parts.
impl Pack for Val {
    fn pack(&self, w: &mut Writer) {
        self.head.pack(w);
        self.refs.pack(w);
        flags(
            w,
            [
                self.env,
                self.hmac,
                self.calls,
                self.error_shaped,
                self.public,
                self.prop.is_some(),
                self.lit.is_some(),
                self.flow.env.is_some(),
            ],
        );
        some(w, &self.prop);
        some(w, &self.lit);
        some(w, &self.flow.env);
        self.flow.names.pack(w);
        self.flow.calls.pack(w);
        self.span.pack(w);
    }
    fn unpack(r: &mut Reader) -> Self {
        let head = Head::unpack(r);
        let refs = Run::unpack(r);
        let [env, hmac, calls, error_shaped, public, prop, lit, flow_env] = unflags(r);
        Val {
            head,
            refs,
            env,
            hmac,
            calls,
            prop: read_some(r, prop),
            lit: read_some(r, lit),
            error_shaped,
            public,
            flow: Flow {
                env: read_some(r, flow_env),
                names: Pack::unpack(r),
                calls: Pack::unpack(r),
            },
            span: Pack::unpack(r),
        }
    }
}

/// A call's flags and which optional parts are there, then which of its
/// argument lists are not empty (most are) and whether the callee starts
/// the call, then the callee's span, those parts and lists.
impl Pack for CallSite {
    fn pack(&self, w: &mut Writer) {
        self.callee.pack(w);
        self.span.pack(w);
        // The callee mostly starts the call: then only its length is written.
        let callee_first = self.callee_span.lo == self.span.lo;
        flags(
            w,
            [
                self.is_new,
                self.awaited,
                self.passes_ctx,
                self.secret_arg,
                self.throws_true,
                self.first_str.is_some(),
                self.fn_arg.is_some(),
                self.arg_flow.env.is_some(),
            ],
        );
        flags(
            w,
            [
                !self.name_args.is_empty(),
                !self.arg_flow.names.is_empty(),
                !self.arg_flow.calls.is_empty(),
                !self.arg_paths.is_empty(),
                !self.arg_calls.is_empty(),
                !self.arg_props.is_empty(),
                !self.arg_names.is_empty(),
                callee_first,
            ],
        );
        if callee_first {
            w.u32(self.callee_span.hi.wrapping_sub(self.callee_span.lo));
        } else {
            self.callee_span.pack(w);
        }
        some(w, &self.first_str);
        some(w, &self.fn_arg);
        some(w, &self.arg_flow.env);
        run_if(w, self.name_args);
        run_if(w, self.arg_flow.names);
        run_if(w, self.arg_flow.calls);
        run_if(w, self.arg_paths);
        run_if(w, self.arg_calls);
        run_if(w, self.arg_props);
        run_if(w, self.arg_names);
        self.result.pack(w);
    }
    fn unpack(r: &mut Reader) -> Self {
        let callee = Callee::unpack(r);
        let span = Sp::unpack(r);
        let [is_new, awaited, passes_ctx, secret_arg, throws_true, first_str, fn_arg, flow_env] =
            unflags(r);
        let [name_args, flow_names, flow_calls, arg_paths, arg_calls, arg_props, arg_names, callee_first] =
            unflags(r);
        let callee_span = if callee_first {
            Sp {
                lo: span.lo,
                hi: span.lo.wrapping_add(r.u32()),
            }
        } else {
            Sp::unpack(r)
        };
        // Read in the order written.
        let first_str = read_some(r, first_str);
        let fn_arg = read_some(r, fn_arg);
        let env = read_some(r, flow_env);
        let name_args = read_run(r, name_args);
        let arg_flow = Flow {
            env,
            names: read_run(r, flow_names),
            calls: read_run(r, flow_calls),
        };
        CallSite {
            callee,
            span,
            callee_span,
            is_new,
            awaited,
            passes_ctx,
            name_args,
            secret_arg,
            first_str,
            fn_arg,
            arg_flow,
            arg_paths: read_run(r, arg_paths),
            arg_calls: read_run(r, arg_calls),
            arg_props: read_run(r, arg_props),
            arg_names: read_run(r, arg_names),
            throws_true,
            result: Pack::unpack(r),
        }
    }
}

impl Pack for Node {
    fn pack(&self, w: &mut Writer) {
        match self {
            Node::Seq(run) => {
                w.out.push(0);
                run.pack(w);
            }
            Node::If(ix) => {
                w.out.push(1);
                ix.pack(w);
            }
            Node::Call(ix) => {
                w.out.push(2);
                ix.pack(w);
            }
            Node::Return(v) => {
                w.out.push(3);
                v.pack(w);
            }
            Node::Throw => w.out.push(4),
            Node::Loop(run) => {
                w.out.push(5);
                run.pack(w);
            }
            Node::Try(ix) => {
                w.out.push(6);
                ix.pack(w);
            }
            Node::Nested(run) => {
                w.out.push(7);
                run.pack(w);
            }
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        match r.u8() {
            1 => Node::If(Pack::unpack(r)),
            2 => Node::Call(Pack::unpack(r)),
            3 => Node::Return(Pack::unpack(r)),
            4 => Node::Throw,
            5 => Node::Loop(Pack::unpack(r)),
            6 => Node::Try(Pack::unpack(r)),
            7 => Node::Nested(Pack::unpack(r)),
            _ => Node::Seq(Pack::unpack(r)),
        }
    }
}

impl Pack for Head {
    fn pack(&self, w: &mut Writer) {
        match self {
            Head::Call(ix) => {
                w.out.push(0);
                ix.pack(w);
            }
            Head::Name(n) => {
                w.out.push(1);
                n.pack(w);
            }
            Head::Nullish => w.out.push(2),
            Head::Lit => w.out.push(3),
            Head::Cond(ix) => {
                w.out.push(4);
                ix.pack(w);
            }
            Head::Defaulted => w.out.push(5),
            Head::Other => w.out.push(6),
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        match r.u8() {
            0 => Head::Call(Pack::unpack(r)),
            1 => Head::Name(Pack::unpack(r)),
            2 => Head::Nullish,
            3 => Head::Lit,
            4 => Head::Cond(Pack::unpack(r)),
            5 => Head::Defaulted,
            _ => Head::Other,
        }
    }
}

impl Pack for Cond {
    fn pack(&self, w: &mut Writer) {
        match *self {
            Cond::Truthy(v) => {
                w.out.push(0);
                v.pack(w);
            }
            Cond::Not(c) => {
                w.out.push(1);
                c.pack(w);
            }
            Cond::And(a, b) => {
                w.out.push(2);
                (a, b).pack(w);
            }
            Cond::Or(a, b) => {
                w.out.push(3);
                (a, b).pack(w);
            }
            Cond::Eq { l, r, negated } => {
                w.out.push(4 + u8::from(negated));
                (l, r).pack(w);
            }
            Cond::Compare(l, r) => {
                w.out.push(6);
                (l, r).pack(w);
            }
            Cond::Unknown => w.out.push(7),
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        match r.u8() {
            0 => Cond::Truthy(Pack::unpack(r)),
            1 => Cond::Not(Pack::unpack(r)),
            2 => {
                let (a, b) = Pack::unpack(r);
                Cond::And(a, b)
            }
            3 => {
                let (a, b) = Pack::unpack(r);
                Cond::Or(a, b)
            }
            tag @ (4 | 5) => {
                let (l, rr) = Pack::unpack(r);
                Cond::Eq {
                    l,
                    r: rr,
                    negated: tag == 5,
                }
            }
            6 => {
                let (l, rr) = Pack::unpack(r);
                Cond::Compare(l, rr)
            }
            _ => Cond::Unknown,
        }
    }
}

impl Pack for Callee {
    fn pack(&self, w: &mut Writer) {
        match self {
            Callee::Ctx(path) => {
                w.out.push(0);
                path.pack(w);
            }
            Callee::Name(n) => {
                w.out.push(1);
                n.pack(w);
            }
            Callee::Member(root, path) => {
                w.out.push(2);
                root.pack(w);
                path.pack(w);
            }
            Callee::Method(ix, path) => {
                w.out.push(3);
                ix.pack(w);
                path.pack(w);
            }
            Callee::Dynamic => w.out.push(4),
        }
    }
    fn unpack(r: &mut Reader) -> Self {
        match r.u8() {
            0 => Callee::Ctx(Pack::unpack(r)),
            1 => Callee::Name(Pack::unpack(r)),
            2 => {
                let root = Atom::unpack(r);
                Callee::Member(root, Pack::unpack(r))
            }
            3 => {
                let ix = u32::unpack(r);
                Callee::Method(ix, Pack::unpack(r))
            }
            _ => Callee::Dynamic,
        }
    }
}

impl Pack for ResultUse {
    fn pack(&self, w: &mut Writer) {
        w.out.push(match self {
            ResultUse::Discarded => 0,
            ResultUse::Bound => 1,
            ResultUse::Handled => 2,
            ResultUse::Dereferenced => 3,
            ResultUse::Other => 4,
        });
    }
    fn unpack(r: &mut Reader) -> Self {
        match r.u8() {
            0 => ResultUse::Discarded,
            1 => ResultUse::Bound,
            2 => ResultUse::Handled,
            3 => ResultUse::Dereferenced,
            _ => ResultUse::Other,
        }
    }
}

impl Pack for UseKind {
    fn pack(&self, w: &mut Writer) {
        w.out.push(match self {
            UseKind::Handled => 0,
            UseKind::Dereferenced => 1,
            UseKind::Plain => 2,
        });
    }
    fn unpack(r: &mut Reader) -> Self {
        match r.u8() {
            0 => UseKind::Handled,
            1 => UseKind::Dereferenced,
            _ => UseKind::Plain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Damaged bytes decode to something, without panicking or looping: a
    /// read past the end is a zero, and no list outgrows the bytes left.
    #[test]
    fn damaged_bytes_decode_without_panic() {
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            vec![0xff; 64],
            // A name and then a list claiming four billion entries.
            vec![0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in [3usize, 40, 400, 4000] {
            inputs.push(
                (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect(),
            );
        }
        // Each also read as if it were an LZ4 block.
        for (bytes, raw_len) in inputs.into_iter().flat_map(|b| {
            let as_block = 3 * b.len() as u32 + 1;
            [(b.clone(), 0), (b, as_block)]
        }) {
            let len = bytes.len() as u32;
            let bodies = Bodies(std::sync::Mutex::new(Packed {
                bytes: bytes.into_boxed_slice(),
                raw_len,
                starts: vec![0, len / 2, len, len + 7].into_boxed_slice(),
                atoms: vec![Atom::from("x")].into_boxed_slice(),
                freed: false,
            }));
            for ix in 0..4 {
                let _ = bodies.get(ix);
            }
            assert!(bodies.get(4).is_none());
            bodies.free();
            assert!(bodies.is_freed() && bodies.is_empty());
        }
    }

    /// A read of a freed body is a failure in tests, not a silent empty
    /// body that would make every summary "proves nothing".
    #[test]
    #[should_panic(expected = "read after its module's bodies were freed")]
    fn reading_a_freed_body_fails() {
        let bodies = Bodies(std::sync::Mutex::new(Packed {
            starts: vec![0].into_boxed_slice(),
            ..Packed::default()
        }));
        bodies.free();
        let _ = bodies.get(0);
    }
}
