//! The scratch pools a body's values and lists are built in, and
//! compaction, which moves what the body keeps into its own tables. Scratch
//! and tables are lent from one body to the next, so they grow once per
//! thread; each finished body is packed (see `pack.rs`).

use swc_atoms::Atom;

use super::ir::{CallIx, Cond, CondIx, Flow, FnBody, Head, Names, Node, Run, Val, ValIx};
use super::pack::Packer;

/// Where a body's lists are built before compaction keeps some of them in
/// the body's own pools.
#[derive(Default)]
pub(super) struct Scratch {
    /// The statements of the sequences being lowered, innermost on top.
    pub(super) nodes: Vec<Node>,
    /// Values and conditions: an expression's test is built whether or not
    /// anything keeps it, so compaction copies those that are kept.
    pub(super) vals: Vec<Val>,
    pub(super) conds: Vec<Cond>,
    /// The body being lowered; once packed, emptied and lent to the next.
    pub(super) spare: FnBody,
    /// The module's bodies, packed as each is lowered.
    pub(super) pack: Packer,
    /// Where compaction moved each scratch value and condition (`u32::MAX`: not yet).
    pub(super) val_map: Vec<u32>,
    pub(super) cond_map: Vec<u32>,
    /// Values' names and flows: merging operands' lists leaves copies behind.
    pub(super) refs: Vec<Atom>,
    pub(super) flows: Vec<Atom>,
    pub(super) flow_calls: Vec<CallIx>,
    /// A call's argument lists while its arguments are lowered (a nested
    /// call's entries go above and are taken off first).
    pub(super) arg_names: Vec<Atom>,
    pub(super) arg_paths: Vec<(Atom, Option<Atom>)>,
    pub(super) arg_calls: Vec<CallIx>,
    /// Compaction: a list's names as places in the body's sorted bound names.
    pub(super) bound_ixs: Vec<usize>,
    /// A body's names for ctx and its parts, and the `x.y` reads seen (lent
    /// from body to body, empty between them).
    pub(super) ctx_aliases: Vec<(Atom, Vec<Atom>)>,
    pub(super) props_seen: Vec<(Atom, Atom)>,
    /// The module's top-level names for server secrets: (name, env var), the
    /// var being `process.env` for the app's env object itself.
    pub(super) module_secrets: Vec<(Atom, Atom)>,
}

impl Scratch {
    /// The most entries any of the larger pools has room for.
    pub(super) fn largest(&self) -> usize {
        let t = &self.spare;
        [
            self.nodes.capacity(),
            self.vals.capacity(),
            self.conds.capacity(),
            self.refs.capacity(),
            self.flows.capacity(),
            t.calls.capacity(),
            t.nodes.capacity(),
            t.vals.capacity(),
            t.names.capacity(),
            t.uses.capacity(),
            self.pack.largest(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    pub(super) fn clear(&mut self) {
        self.nodes.clear();
        self.vals.clear();
        self.conds.clear();
        self.refs.clear();
        self.flows.clear();
        self.flow_calls.clear();
        self.arg_names.clear();
        self.arg_paths.clear();
        self.arg_calls.clear();
    }
}

/// Pushes `items` onto `pool`, as a run.
pub(super) fn run_of<T>(pool: &mut Vec<T>, items: impl IntoIterator<Item = T>) -> Run<T> {
    let at = pool.len();
    pool.extend(items);
    Run::tail(pool, at)
}

/// Sorts the entries of `pool` from `at` and drops repeats, as a run.
pub(super) fn sorted_run<T: Ord>(pool: &mut Vec<T>, at: usize) -> Run<T> {
    if let Some(tail) = pool.get_mut(at..).filter(|t| t.len() > 1) {
        tail.sort();
        let mut kept = 1;
        for i in 1..tail.len() {
            if tail.get(i) != tail.get(kept - 1) {
                tail.swap(i, kept);
                kept += 1;
            }
        }
        pool.truncate(at + kept);
    }
    Run::tail(pool, at)
}

/// Only names bound in the body can carry an identity or a secret: drop the
/// rest from `refs` and `uses`, so facts stay small. The values and
/// conditions something keeps, and their lists, move from the scratch pools
/// into the body's own.
pub(super) fn compact(f: &mut FnBody, s: &mut Scratch) {
    let mut bound: Vec<Atom> = f.bindings.iter().map(|(n, _)| n.clone()).collect();
    bound.extend(f.params.iter().cloned());
    bound.extend(f.arg_locals.iter().map(|(_, l)| l.clone()));
    bound.extend(f.catch_params.iter().cloned());
    // `ctx.user` from an authenticating custom builder is the caller.
    bound.extend(f.ctx_names.iter().cloned());
    bound.sort();
    bound.dedup();
    s.val_map.clear();
    s.val_map.resize(s.vals.len(), u32::MAX);
    s.cond_map.clear();
    s.cond_map.resize(s.conds.len(), u32::MAX);
    let mut c = Compactor {
        bound,
        s,
        names: std::mem::take(&mut f.names),
        call_ixs: std::mem::take(&mut f.call_ixs),
        vals: std::mem::take(&mut f.vals),
        conds: std::mem::take(&mut f.conds),
    };
    for (_, v) in &mut f.bindings {
        c.val(v);
    }
    for call in &mut f.calls {
        c.flow(&mut call.arg_flow);
    }
    f.uses.retain(|u| c.is_bound(&u.name));
    for n in &mut f.nodes {
        if let Node::Return(Some(v)) = n {
            *v = c.val_ix(*v);
        }
    }
    for i in &mut f.ifs {
        i.cond = c.cond_ix(i.cond);
    }
    f.names = c.names;
    f.call_ixs = c.call_ixs;
    f.vals = c.vals;
    f.conds = c.conds;
}

/// Where scratch entry `i` went, if it was moved already (an index outside
/// the scratch table reads as nothing: `u32::MAX`).
fn moved(map: &[u32], i: usize) -> Option<u32> {
    match map.get(i) {
        Some(&done) if done != u32::MAX => Some(done),
        Some(_) => None,
        None => Some(u32::MAX),
    }
}

/// Notes that scratch entry `i` became the last of `len` kept ones; its index.
fn record(map: &mut [u32], i: usize, len: usize) -> u32 {
    let new = len as u32 - 1;
    if let Some(slot) = map.get_mut(i) {
        *slot = new;
    }
    new
}

struct Compactor<'s> {
    /// Sorted.
    bound: Vec<Atom>,
    s: &'s mut Scratch,
    names: Vec<Atom>,
    call_ixs: Vec<CallIx>,
    vals: Vec<Val>,
    conds: Vec<Cond>,
}

impl Compactor<'_> {
    /// Where a name is in `bound`, if the body binds it.
    fn bound_ix(&self, r: &Atom) -> Option<usize> {
        // Atoms compare by pointer first: a scan beats a search by string
        // order over the few names most bodies bind.
        match self.bound.len() {
            0..=16 => self.bound.iter().position(|b| b == r),
            _ => self.bound.binary_search(r).ok(),
        }
    }

    fn is_bound(&self, r: &Atom) -> bool {
        self.bound_ix(r).is_some()
    }

    /// The bound names of a scratch list, sorted, without repeats: sorted as
    /// their places in `bound` (which is in name order), so no two names'
    /// texts are compared.
    fn keep(&mut self, run: Names, flows: bool) -> Names {
        let from = if flows { &self.s.flows } else { &self.s.refs };
        let mut ixs = std::mem::take(&mut self.s.bound_ixs);
        ixs.clear();
        ixs.extend(run.of(from).iter().filter_map(|r| self.bound_ix(r)));
        ixs.sort_unstable();
        ixs.dedup();
        let bound = &self.bound;
        let kept = run_of(
            &mut self.names,
            ixs.iter().filter_map(|&i| bound.get(i).cloned()),
        );
        self.s.bound_ixs = ixs;
        kept
    }

    fn flow(&mut self, f: &mut Flow) {
        f.names = self.keep(f.names, true);
        f.calls = run_of(
            &mut self.call_ixs,
            f.calls.of(&self.s.flow_calls).iter().copied(),
        );
    }

    fn val(&mut self, v: &mut Val) {
        v.refs = self.keep(v.refs, false);
        self.flow(&mut v.flow);
        if let Head::Cond(c) = &mut v.head {
            *c = self.cond_ix(*c);
        }
    }

    /// A scratch value's place in the body (moved there the first time).
    fn val_ix(&mut self, ix: ValIx) -> ValIx {
        let i = ix.0 as usize;
        if let Some(done) = moved(&self.s.val_map, i) {
            return ValIx(done);
        }
        let mut v = self
            .s
            .vals
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default();
        self.val(&mut v);
        self.vals.push(v);
        ValIx(record(&mut self.s.val_map, i, self.vals.len()))
    }

    fn cond_ix(&mut self, ix: CondIx) -> CondIx {
        let i = ix.0 as usize;
        if let Some(done) = moved(&self.s.cond_map, i) {
            return CondIx(done);
        }
        let c = match self.s.conds.get(i).copied().unwrap_or(Cond::Unknown) {
            Cond::Truthy(v) => Cond::Truthy(self.val_ix(v)),
            Cond::Not(c) => Cond::Not(self.cond_ix(c)),
            Cond::And(a, b) => Cond::And(self.cond_ix(a), self.cond_ix(b)),
            Cond::Or(a, b) => Cond::Or(self.cond_ix(a), self.cond_ix(b)),
            Cond::Eq { l, r, negated } => Cond::Eq {
                l: self.val_ix(l),
                r: self.val_ix(r),
                negated,
            },
            Cond::Compare(l, r) => Cond::Compare(self.val_ix(l), self.val_ix(r)),
            Cond::Unknown => Cond::Unknown,
        };
        self.conds.push(c);
        CondIx(record(&mut self.s.cond_map, i, self.conds.len()))
    }
}
