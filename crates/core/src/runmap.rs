//! Run maps: page state stored as extents `[start, start+len) → value`, never one entry per page,
//! so a 100 TiB address space costs as much as its number of distinct runs.
//!
//! Runs live in chunks of at most [`CHUNK_MAX`] runs behind `Arc`s, so cloning a map (fork)
//! costs one pointer per chunk, and a later change copies only the chunk it touches.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A value stored in a run. `advance(n)` is the value of the page `n` pages into the run, so
/// runs whose values continue each other (a pfn that counts up) coalesce into one.
pub trait RunValue: Clone + PartialEq {
    fn advance(&self, by: u64) -> Self;
}

/// Most runs one chunk holds before it is split.
pub const CHUNK_MAX: usize = 256;

type Chunk<V> = BTreeMap<u64, (u64, V)>;
/// Runs as `(start, len, value)`.
type Runs<V> = Vec<(u64, u64, V)>;

/// A map of non-overlapping runs keyed by start (in pages). Adjacent runs that continue each
/// other are always coalesced, so the representation of a given state is unique.
#[derive(Clone, Debug)]
pub struct RunMap<V: RunValue> {
    /// Chunks keyed by their first run's start. A run belongs to the chunk with the greatest
    /// key ≤ its start, and never reaches past the next chunk's key.
    chunks: BTreeMap<u64, Arc<Chunk<V>>>,
    runs: usize,
}

impl<V: RunValue> Default for RunMap<V> {
    fn default() -> Self {
        RunMap {
            chunks: BTreeMap::new(),
            runs: 0,
        }
    }
}

impl<V: RunValue> PartialEq for RunMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.runs == other.runs && self.iter().eq(other.iter())
    }
}

impl<V: RunValue> RunMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.runs
    }

    pub fn is_empty(&self) -> bool {
        self.runs == 0
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
        if start >= end {
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
        let mut m: RunMap<Pfn> = RunMap::new();
        let mut pages: Vec<Option<u64>> = vec![None; size as usize];
        let mut saved: Vec<(RunMap<Pfn>, Vec<Option<u64>>)> = Vec::new();
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
            if i % 500 == 0 {
                saved.push((m.clone(), pages.clone()));
            }
        }
        assert!(m.chunk_count() > 1, "the test must cross chunk boundaries");
        saved.push((m, pages));
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
