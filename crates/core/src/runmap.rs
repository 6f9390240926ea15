//! Run maps: page state stored as extents `[start, start+len) → value`, never one entry per page,
//! so a 100 TiB address space costs as much as its number of distinct runs.

use std::collections::BTreeMap;

/// A value stored in a run. `advance(n)` is the value of the page `n` pages into the run, so
/// runs whose values continue each other (a pfn that counts up) coalesce into one.
pub trait RunValue: Clone + PartialEq {
    fn advance(&self, by: u64) -> Self;
}

/// A map of non-overlapping runs keyed by start (in pages). Adjacent runs that continue each
/// other are always coalesced, so the representation of a given state is unique.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMap<V: RunValue> {
    runs: BTreeMap<u64, (u64, V)>,
}

impl<V: RunValue> RunMap<V> {
    pub fn new() -> Self {
        RunMap { runs: BTreeMap::new() }
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The value at `key`, with the run's start and length.
    pub fn get(&self, key: u64) -> Option<(u64, u64, V)> {
        let (&s, (l, v)) = self.runs.range(..=key).next_back()?;
        if key < s + l {
            Some((key, s + l - key, v.advance(key - s)))
        } else {
            None
        }
    }

    /// Every run, clipped to `[start, end)`, in order: `(start, len, value at start)`.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64, V)> + '_ {
        let first = self
            .runs
            .range(..start)
            .next_back()
            .filter(|(&s, (l, _))| s + l > start)
            .map(|(&s, _)| s)
            .unwrap_or(start);
        self.runs.range(first..end).filter_map(move |(&s, (l, v))| {
            let a = s.max(start);
            let b = (s + l).min(end);
            (a < b).then(|| (a, b - a, v.advance(a - s)))
        })
    }

    /// Every run in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64, &V)> + '_ {
        self.runs.iter().map(|(&s, (l, v))| (s, *l, v))
    }

    /// Total pages covered inside `[start, end)`.
    pub fn covered(&self, start: u64, end: u64) -> u64 {
        self.range(start, end).map(|(_, l, _)| l).sum()
    }

    /// Make sure a run boundary exists at `key`.
    fn split_at(&mut self, key: u64) {
        let Some((&s, (l, v))) = self.runs.range(..key).next_back() else { return };
        let (l, v) = (*l, v.clone());
        if key < s + l && key > s {
            let tail = v.advance(key - s);
            self.runs.insert(s, (key - s, v));
            self.runs.insert(key, (s + l - key, tail));
        }
    }

    /// Remove `[start, end)` and return what was there, clipped, in order.
    pub fn remove(&mut self, start: u64, end: u64) -> Vec<(u64, u64, V)> {
        if start >= end {
            return Vec::new();
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.runs.range(start..end).map(|(&k, _)| k).collect();
        keys.into_iter()
            .filter_map(|k| self.runs.remove(&k).map(|(l, v)| (k, l, v)))
            .collect()
    }

    /// Set `[start, start+len)` to `value` (advancing along the run), replacing what was there.
    pub fn set(&mut self, start: u64, len: u64, value: V) {
        if len == 0 {
            return;
        }
        self.remove(start, start + len);
        self.runs.insert(start, (len, value));
        self.coalesce_around(start, start + len);
    }

    /// Merge runs that continue each other around `[start, end)`.
    fn coalesce_around(&mut self, start: u64, end: u64) {
        // Merge with the run ending at `start`.
        if let Some((&ps, (pl, pv))) = self.runs.range(..start).next_back() {
            let (pl, pv) = (*pl, pv.clone());
            if ps + pl == start {
                if let Some((l, v)) = self.runs.get(&start) {
                    if pv.advance(pl) == *v {
                        let l = *l;
                        self.runs.remove(&start);
                        self.runs.insert(ps, (pl + l, pv));
                    }
                }
            }
        }
        // Merge the run containing `end - 1` with the run starting at `end`.
        if let Some((&s, (l, v))) = self.runs.range(..end).next_back() {
            let (l, v) = (*l, v.clone());
            if s + l == end {
                if let Some((nl, nv)) = self.runs.get(&end) {
                    if v.advance(l) == *nv {
                        let nl = *nl;
                        self.runs.remove(&end);
                        self.runs.insert(s, (l + nl, v));
                    }
                }
            }
        }
    }

    /// Apply `f` to every value in `[start, end)` (splitting runs at the edges), then re-coalesce.
    pub fn update(&mut self, start: u64, end: u64, mut f: impl FnMut(u64, u64, &V) -> V) {
        let old = self.remove(start, end);
        for (s, l, v) in old {
            let nv = f(s, l, &v);
            self.runs.insert(s, (l, nv));
        }
        // Coalesce every boundary inside and at the edges.
        let keys: Vec<u64> = self.runs.range(start..=end).map(|(&k, _)| k).collect();
        for k in keys {
            if let Some(&(l, _)) = self.runs.get(&k) {
                self.coalesce_around(k, k + l);
            }
        }
    }

    /// Move every run in `[start, end)` by `delta` pages (for mremap), keeping values.
    pub fn shift(&mut self, start: u64, end: u64, new_start: u64) {
        let moved = self.remove(start, end);
        for (s, l, v) in moved {
            self.runs.insert(s - start + new_start, (l, v));
        }
        let new_end = new_start + (end - start);
        let keys: Vec<u64> = self.runs.range(new_start..=new_end).map(|(&k, _)| k).collect();
        for k in keys {
            if let Some(&(l, _)) = self.runs.get(&k) {
                self.coalesce_around(k, k + l);
            }
        }
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
        // Filling the hole with the continuing value coalesces back to one run.
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
}
