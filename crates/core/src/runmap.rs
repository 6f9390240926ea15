//! Run maps: page state stored as extents `[start, start+len) → value`, never one entry per page,
//! so a 100 TiB address space costs as much as its number of distinct runs.
//!
//! Runs live in chunks of at most [`CHUNK_MAX`] runs behind `Arc`s, so cloning a map (fork)
//! costs one pointer per chunk, and a later change copies only the chunk it touches.
//!
//! A map can keep a [`Tally`]: sums over its runs (and over pairs of neighbouring runs) that
//! are updated as runs come and go, so a counter such as "pages lazily freed" or "page-table
//! pages needed" is read in O(1) instead of by walking every run.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A value stored in a run. `advance(n)` is the value of the page `n` pages into the run, so
/// runs whose values continue each other (a pfn that counts up) coalesce into one.
pub trait RunValue: Clone + PartialEq {
    fn advance(&self, by: u64) -> Self;
}

/// Sums kept over a map's runs. Every change to a map removes whole runs and puts runs back
/// (`take`/`put`), and each of those tells the tally, so it always equals a fresh sum over
/// [`RunMap::iter`]. A tally that also needs neighbouring pairs (two runs with no run between
/// them, however far apart) sets `PAIRS`: the map then reports each pair that forms or breaks.
pub trait Tally<V>: Clone + Default + std::fmt::Debug + PartialEq {
    /// Whether [`Tally::pair`] is wanted (it costs two neighbour look-ups per changed run).
    const PAIRS: bool = false;
    /// Count (`add`) or uncount a run `[start, start+len)` holding `v` at `start`.
    fn run(&mut self, start: u64, len: u64, v: &V, add: bool);
    /// Count or uncount a pair of neighbouring runs: the first ends at `prev_end` (exclusive),
    /// the next starts at `next_start`.
    fn pair(&mut self, _prev_end: u64, _next_start: u64, _add: bool) {}
}

/// The tally of a map that keeps none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoTally;

impl<V> Tally<V> for NoTally {
    fn run(&mut self, _: u64, _: u64, _: &V, _: bool) {}
}

/// Most runs one chunk holds before it is split.
pub const CHUNK_MAX: usize = 256;

type Chunk<V> = BTreeMap<u64, (u64, V)>;
/// Runs as `(start, len, value)`.
type Runs<V> = Vec<(u64, u64, V)>;

/// A map of non-overlapping runs keyed by start (in pages). Adjacent runs that continue each
/// other are always coalesced, so the representation of a given state is unique.
#[derive(Clone, Debug)]
pub struct RunMap<V: RunValue, T: Tally<V> = NoTally> {
    /// Chunks keyed by their first run's start. A run belongs to the chunk with the greatest
    /// key ≤ its start, and never reaches past the next chunk's key.
    chunks: BTreeMap<u64, Arc<Chunk<V>>>,
    runs: usize,
    tally: T,
}

impl<V: RunValue, T: Tally<V>> Default for RunMap<V, T> {
    fn default() -> Self {
        RunMap {
            chunks: BTreeMap::new(),
            runs: 0,
            tally: T::default(),
        }
    }
}

impl<V: RunValue, T: Tally<V>> PartialEq for RunMap<V, T> {
    fn eq(&self, other: &Self) -> bool {
        self.runs == other.runs && self.iter().eq(other.iter())
    }
}

impl<V: RunValue> RunMap<V> {
    /// An empty map without a tally (a tallied map starts from `RunMap::default()`).
    pub fn new() -> Self {
        Self::default()
    }
}

impl<V: RunValue, T: Tally<V>> RunMap<V, T> {
    /// Number of runs.
    pub fn len(&self) -> usize {
        self.runs
    }

    pub fn is_empty(&self) -> bool {
        self.runs == 0
    }

    /// The sums kept over the runs.
    pub fn tally(&self) -> &T {
        &self.tally
    }

    /// The tally recomputed from scratch (for invariant checks).
    pub fn recount(&self) -> T {
        let mut t = T::default();
        let mut prev_end: Option<u64> = None;
        for (s, l, v) in self.iter() {
            t.run(s, l, v, true);
            if T::PAIRS {
                if let Some(pe) = prev_end {
                    t.pair(pe, s, true);
                }
            }
            prev_end = Some(s + l);
        }
        t
    }

    /// The run starting last before `key` (strictly), as (start, len).
    fn run_before(&self, key: u64) -> Option<(u64, u64)> {
        self.chunks
            .range(..key)
            .rev()
            .find_map(|(_, c)| c.range(..key).next_back().map(|(&s, &(l, _))| (s, l)))
    }

    /// The run starting first after `key` (strictly), as (start, len).
    fn run_after(&self, key: u64) -> Option<(u64, u64)> {
        let from = self
            .chunks
            .range(..=key)
            .next_back()
            .map(|(&k, _)| k)
            .unwrap_or(key);
        self.chunks.range(from..).find_map(|(_, c)| {
            c.range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
                .next()
                .map(|(&s, &(l, _))| (s, l))
        })
    }

    /// Number of chunks (for the memory benchmark).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The value at `key`, with the rest of its run: `(key, pages left in the run, value at key)`.
    pub fn get(&self, key: u64) -> Option<(u64, u64, V)> {
        let (_, c) = self.chunks.range(..=key).next_back()?;
        let (&s, (l, v)) = c.range(..=key).next_back()?;
        (key < s + l).then(|| (key, s + l - key, v.advance(key - s)))
    }

    /// Every run, clipped to `[start, end)`, in order: `(start, len, value at start)`.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64, V)> + '_ {
        let first = self
            .chunks
            .range(..=start)
            .next_back()
            .map(|(&k, _)| k)
            .unwrap_or(start);
        self.chunks
            .range(first..end.max(first))
            .flat_map(move |(_, c)| {
                let from = c
                    .range(..=start)
                    .next_back()
                    .map(|(&k, _)| k)
                    .unwrap_or(start);
                c.range(from..end.max(from))
            })
            .filter_map(move |(&s, (l, v))| {
                let a = s.max(start);
                let b = (s + l).min(end);
                (a < b).then(|| (a, b - a, v.advance(a - s)))
            })
    }

    /// Every run in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64, &V)> + '_ {
        self.chunks
            .values()
            .flat_map(|c| c.iter().map(|(&s, (l, v))| (s, *l, v)))
    }

    /// Total pages covered inside `[start, end)`.
    pub fn covered(&self, start: u64, end: u64) -> u64 {
        self.range(start, end).map(|(_, l, _)| l).sum()
    }

    /// Take out every run that overlaps `[lo, hi)` (whole, unclipped), in order.
    fn take(&mut self, lo: u64, hi: u64) -> Vec<(u64, u64, V)> {
        let first = self
            .chunks
            .range(..=lo)
            .next_back()
            .map(|(&k, _)| k)
            .unwrap_or(lo);
        let keys: Vec<u64> = self
            .chunks
            .range(first..hi.max(first))
            .map(|(&k, _)| k)
            .collect();
        let mut out = Vec::new();
        for k in keys {
            let c = Arc::make_mut(self.chunks.get_mut(&k).expect("chunk key"));
            let from = c.range(..=lo).next_back().map(|(&s, _)| s).unwrap_or(lo);
            let hit: Vec<u64> = c
                .range(from..hi.max(from))
                .filter(|(&s, (l, _))| s + l > lo && s < hi)
                .map(|(&s, _)| s)
                .collect();
            for s in hit {
                let (l, v) = c.remove(&s).expect("run");
                out.push((s, l, v));
            }
            if c.is_empty() {
                self.chunks.remove(&k);
            } else if c.keys().next() != Some(&k) {
                // The chunk lost its first run: re-key it.
                let c = self.chunks.remove(&k).expect("chunk");
                let nk = *c.keys().next().expect("non-empty");
                self.chunks.insert(nk, c);
            }
        }
        self.runs -= out.len();
        for (s, l, v) in &out {
            self.tally.run(*s, *l, v, false);
        }
        if T::PAIRS && !out.is_empty() {
            // The taken runs were neighbours of each other, the first of the run before them
            // and the last of the run after; now those two outer runs are neighbours.
            let first = out[0].0;
            let last = out[out.len() - 1].0;
            let before = self.run_before(first);
            let after = self.run_after(last);
            if let Some((ps, pl)) = before {
                self.tally.pair(ps + pl, first, false);
            }
            for w in out.windows(2) {
                self.tally.pair(w[0].0 + w[0].1, w[1].0, false);
            }
            if let Some((ns, _)) = after {
                self.tally
                    .pair(out[out.len() - 1].0 + out[out.len() - 1].1, ns, false);
            }
            if let (Some((ps, pl)), Some((ns, _))) = (before, after) {
                self.tally.pair(ps + pl, ns, true);
            }
        }
        out
    }

    /// Put back runs (sorted, disjoint), coalescing those that continue each other.
    fn put(&mut self, mut runs: Vec<(u64, u64, V)>) {
        runs.sort_by_key(|r| r.0);
        let mut merged: Vec<(u64, u64, V)> = Vec::with_capacity(runs.len());
        for (s, l, v) in runs {
            if l == 0 {
                continue;
            }
            if let Some(last) = merged.last_mut() {
                if last.0 + last.1 == s && last.2.advance(last.1) == v {
                    last.1 += l;
                    continue;
                }
            }
            merged.push((s, l, v));
        }
        self.runs += merged.len();
        for (s, l, v) in merged {
            self.tally.run(s, l, &v, true);
            if T::PAIRS {
                let before = self.run_before(s);
                let after = self.run_after(s);
                if let (Some((ps, pl)), Some((ns, _))) = (before, after) {
                    self.tally.pair(ps + pl, ns, false);
                }
                if let Some((ps, pl)) = before {
                    self.tally.pair(ps + pl, s, true);
                }
                if let Some((ns, _)) = after {
                    self.tally.pair(s + l, ns, true);
                }
            }
            let key = match self.chunks.range(..=s).next_back() {
                Some((&k, _)) => k,
                None => match self.chunks.keys().next().copied() {
                    // Before the first chunk: that chunk now starts here.
                    Some(k) => {
                        let c = self.chunks.remove(&k).expect("chunk");
                        self.chunks.insert(s, c);
                        s
                    }
                    None => {
                        self.chunks.insert(s, Arc::new(BTreeMap::new()));
                        s
                    }
                },
            };
            let c = Arc::make_mut(self.chunks.get_mut(&key).expect("chunk"));
            c.insert(s, (l, v));
            if c.len() > CHUNK_MAX {
                let mid = *c.keys().nth(c.len() / 2).expect("middle");
                let hi = c.split_off(&mid);
                self.chunks.insert(mid, Arc::new(hi));
            }
        }
    }

    /// Split runs at `start` and `end`: returns (inside, outside) pieces of the taken window.
    fn window(&mut self, start: u64, end: u64) -> (Runs<V>, Runs<V>) {
        let taken = self.take(start.saturating_sub(1), end.saturating_add(1));
        let mut inside = Vec::new();
        let mut outside = Vec::new();
        for (s, l, v) in taken {
            let e = s + l;
            if s < start {
                let cut = e.min(start);
                outside.push((s, cut - s, v.clone()));
            }
            let (a, b) = (s.max(start), e.min(end));
            if a < b {
                inside.push((a, b - a, v.advance(a - s)));
            }
            if e > end {
                let from = s.max(end);
                outside.push((from, e - from, v.advance(from - s)));
            }
        }
        (inside, outside)
    }

    /// Remove `[start, end)` and return what was there, clipped, in order.
    pub fn remove(&mut self, start: u64, end: u64) -> Vec<(u64, u64, V)> {
        if start >= end || self.range(start, end).next().is_none() {
            return Vec::new();
        }
        let (inside, outside) = self.window(start, end);
        self.put(outside);
        inside
    }

    /// Set `[start, start+len)` to `value` (advancing along the run), replacing what was there.
    pub fn set(&mut self, start: u64, len: u64, value: V) {
        if len == 0 {
            return;
        }
        let (_, mut outside) = self.window(start, start + len);
        outside.push((start, len, value));
        self.put(outside);
    }

    /// Replace every value in `[start, end)` with `f(start, len, value)`, then re-coalesce.
    pub fn update(&mut self, start: u64, end: u64, mut f: impl FnMut(u64, u64, &V) -> V) {
        if start >= end {
            return;
        }
        let (inside, mut outside) = self.window(start, end);
        for (s, l, v) in inside {
            let nv = f(s, l, &v);
            outside.push((s, l, nv));
        }
        self.put(outside);
    }

    /// Move the runs of `[start, end)` to start at `new_start` (mremap), keeping their values.
    /// The destination must be empty.
    pub fn shift(&mut self, start: u64, end: u64, new_start: u64) {
        let moved = self.remove(start, end);
        let new_end = new_start + (end - start);
        let (_, mut outside) = self.window(new_start, new_end);
        outside.extend(
            moved
                .into_iter()
                .map(|(s, l, v)| (s - start + new_start, l, v)),
        );
        self.put(outside);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Pfn(u64);
    impl RunValue for Pfn {
        fn advance(&self, by: u64) -> Self {
            Pfn(self.0 + by)
        }
    }

    #[test]
    fn set_coalesces_continuing_runs() {
        let mut m = RunMap::new();
        m.set(0, 10, Pfn(100));
        m.set(10, 5, Pfn(110));
        assert_eq!(m.len(), 1);
        m.set(15, 5, Pfn(500));
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(12), Some((12, 3, Pfn(112))));
        assert_eq!(m.get(20), None);
    }

    #[test]
    fn remove_splits_and_returns_clipped_runs() {
        let mut m = RunMap::new();
        m.set(0, 100, Pfn(0));
        let r = m.remove(10, 20);
        assert_eq!(r, vec![(10, 10, Pfn(10))]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.covered(0, 100), 90);
        m.set(10, 10, Pfn(10));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn range_clips() {
        let mut m = RunMap::new();
        m.set(5, 10, Pfn(0));
        let v: Vec<_> = m.range(7, 9).collect();
        assert_eq!(v, vec![(7, 2, Pfn(2))]);
        assert_eq!(m.range(0, 5).count(), 0);
        assert_eq!(m.range(15, 20).count(), 0);
    }

    #[test]
    fn shift_moves_runs() {
        let mut m = RunMap::new();
        m.set(0, 4, Pfn(40));
        m.shift(0, 4, 100);
        assert_eq!(m.get(101), Some((101, 3, Pfn(41))));
        assert_eq!(m.get(0), None);
    }

    /// Pages covered, and neighbouring pairs weighted by the gap between them (so a pair
    /// counted with the wrong neighbour shows).
    #[derive(Clone, Copy, Debug, Default, PartialEq)]
    struct TestTally {
        pages: u64,
        pairs: u64,
        gap_sum: u64,
    }
    impl Tally<Pfn> for TestTally {
        const PAIRS: bool = true;
        fn run(&mut self, _: u64, len: u64, _: &Pfn, add: bool) {
            if add {
                self.pages += len
            } else {
                self.pages -= len
            }
        }
        fn pair(&mut self, prev_end: u64, next_start: u64, add: bool) {
            let g = next_start - prev_end;
            if add {
                self.pairs += 1;
                self.gap_sum += g;
            } else {
                self.pairs -= 1;
                self.gap_sum -= g;
            }
        }
    }

    /// Against a plain per-page model, across many chunks and clones.
    #[test]
    fn matches_a_page_array_across_chunks_and_clones() {
        let mut seed = 7u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let size = 4000u64;
        let mut m: RunMap<Pfn, TestTally> = RunMap::default();
        let mut pages: Vec<Option<u64>> = vec![None; size as usize];
        type Saved = (RunMap<Pfn, TestTally>, Vec<Option<u64>>);
        let mut saved: Vec<Saved> = Vec::new();
        for i in 0..3000 {
            let a = rnd(size);
            let b = (a + 1 + rnd(40)).min(size);
            match rnd(4) {
                0 | 1 => {
                    let base = rnd(1_000_000);
                    m.set(a, b - a, Pfn(base));
                    for p in a..b {
                        pages[p as usize] = Some(base + p - a);
                    }
                }
                2 => {
                    m.remove(a, b);
                    for p in a..b {
                        pages[p as usize] = None;
                    }
                }
                _ => {
                    m.update(a, b, |_, _, v| Pfn(v.0 + 7));
                    for p in a..b {
                        if let Some(x) = &mut pages[p as usize] {
                            *x += 7;
                        }
                    }
                }
            }
            assert_eq!(*m.tally(), m.recount(), "tally after op {i}");
            assert_eq!(m.tally().pages, m.covered(0, size));
            assert_eq!(m.tally().pairs, m.len().saturating_sub(1) as u64);
            if i % 500 == 0 {
                saved.push((m.clone(), pages.clone()));
            }
        }
        assert!(m.chunk_count() > 1, "the test must cross chunk boundaries");
        saved.push((m, pages));
        // A clone changed afterwards leaves the original's tally alone.
        let mut c = saved[1].0.clone();
        let before = *saved[1].0.tally();
        c.remove(0, size / 2);
        assert_eq!(*saved[1].0.tally(), before);
        assert_eq!(*c.tally(), c.recount());
        for (m, pages) in saved {
            for p in 0..size {
                assert_eq!(m.get(p).map(|(_, _, v)| v.0), pages[p as usize], "page {p}");
            }
            let covered = pages.iter().filter(|p| p.is_some()).count() as u64;
            assert_eq!(m.covered(0, size), covered);
            // Coalesced: no two adjacent runs continue each other.
            let runs: Vec<_> = m.iter().map(|(s, l, v)| (s, l, v.clone())).collect();
            assert_eq!(runs.len(), m.len());
            for w in runs.windows(2) {
                assert!(!(w[0].0 + w[0].1 == w[1].0 && w[0].2.advance(w[0].1) == w[1].2));
            }
        }
    }
}
