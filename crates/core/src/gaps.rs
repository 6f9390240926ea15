//! The free gaps of an address space, indexed so that placement finds the highest gap that fits
//! (Linux's top-down mmap) or the lowest one (Windows' bottom-up VirtualAlloc) in O(log n): the
//! kernel keeps the largest gap below every node of its maple tree for the same reason
//! (mm/mmap.c: unmapped_area_topdown → mas_empty_area_rev). Used by both OS models.
//!
//! Linux:
//! Each gap is keyed by the start of the VMA above it (or [`TOP`] for the gap above the last
//! VMA) and stored already clipped to the window top-down placement searches,
//! `[MMAP_MIN_ADDR, MMAP_BASE)`. The tree is a treap ordered by key, whose priorities are a hash of
//! the key (deterministic: the same gaps always give the same tree), augmented with the largest
//! gap in every subtree.

/// The key of the gap above the highest VMA.
pub const TOP: u64 = u64::MAX;

/// A gap clipped to the search window: `[end - len, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    pub end: u64,
    pub len: u64,
}

#[derive(Clone, Debug)]
struct Node {
    key: u64,
    gap: Gap,
    prio: u64,
    /// The largest `gap.len` in this subtree.
    max: u64,
    left: Tree,
    right: Tree,
}

type Tree = Option<Box<Node>>;

fn max_of(t: &Tree) -> u64 {
    t.as_ref().map_or(0, |n| n.max)
}

impl Node {
    fn fix(&mut self) {
        self.max = self
            .gap
            .len
            .max(max_of(&self.left))
            .max(max_of(&self.right));
    }
}

/// splitmix64: a fixed bijection, so priorities are pseudo-random but the same on every run.
fn prio(key: u64) -> u64 {
    let mut z = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Split into keys `< key` and keys `>= key`.
fn split(t: Tree, key: u64) -> (Tree, Tree) {
    match t {
        None => (None, None),
        Some(mut n) => {
            if n.key < key {
                let (l, r) = split(n.right.take(), key);
                n.right = l;
                n.fix();
                (Some(n), r)
            } else {
                let (l, r) = split(n.left.take(), key);
                n.left = r;
                n.fix();
                (l, Some(n))
            }
        }
    }
}

/// Join two trees whose keys are all ordered (`a` below `b`).
fn merge(a: Tree, b: Tree) -> Tree {
    match (a, b) {
        (None, t) | (t, None) => t,
        (Some(mut x), Some(mut y)) => {
            if x.prio >= y.prio {
                x.right = merge(x.right.take(), Some(y));
                x.fix();
                Some(x)
            } else {
                y.left = merge(Some(x), y.left.take());
                y.fix();
                Some(y)
            }
        }
    }
}

/// Replace the gap of an existing `key`, fixing the maxima on the path back up; false if
/// `key` is not in the tree.
fn update(t: &mut Tree, key: u64, gap: Gap) -> bool {
    let Some(n) = t else {
        return false;
    };
    let found = if key == n.key {
        n.gap = gap;
        true
    } else if key < n.key {
        update(&mut n.left, key, gap)
    } else {
        update(&mut n.right, key, gap)
    };
    if found {
        n.fix();
    }
    found
}

/// Insert a node whose key is not in the tree: down the path while the priorities above are
/// higher, then split what is below by its key. The treap's shape depends only on its keys
/// (priorities are distinct), so this gives the tree a split and two merges would.
fn insert(t: Tree, mut node: Box<Node>) -> Tree {
    match t {
        Some(mut n) if n.prio >= node.prio => {
            if node.key < n.key {
                n.left = insert(n.left.take(), node);
            } else {
                n.right = insert(n.right.take(), node);
            }
            n.fix();
            Some(n)
        }
        t => {
            let (l, r) = split(t, node.key);
            node.left = l;
            node.right = r;
            node.fix();
            Some(node)
        }
    }
}

/// Remove `key`'s node, joining its two subtrees in its place; false if it is not there.
fn remove(t: &mut Tree, key: u64) -> bool {
    let Some(at) = t.as_ref().map(|n| n.key) else {
        return false;
    };
    if at == key {
        let n = t.take().expect("checked above");
        let Node { left, right, .. } = *n;
        *t = merge(left, right);
        return true;
    }
    let n = t.as_mut().expect("checked above");
    let found = if key < at {
        remove(&mut n.left, key)
    } else {
        remove(&mut n.right, key)
    };
    if found {
        n.fix();
    }
    found
}

/// The gap index of one mm. Empty gaps are not stored.
#[derive(Clone, Debug, Default)]
pub struct GapIndex {
    root: Tree,
    count: u64,
}

impl GapIndex {
    /// Set the gap under `key` (removing it if `gap.len` is 0). One path down the tree: a
    /// placement changes one or two gaps, and 100,000 mmaps should not cost six passes each.
    pub fn set(&mut self, key: u64, gap: Gap) {
        if gap.len == 0 {
            self.remove(key);
        } else if !update(&mut self.root, key, gap) {
            let node = Box::new(Node {
                key,
                gap,
                prio: prio(key),
                max: gap.len,
                left: None,
                right: None,
            });
            self.root = insert(self.root.take(), node);
            self.count += 1;
        }
    }

    /// Drop the gap under `key`, if any.
    pub fn remove(&mut self, key: u64) {
        if remove(&mut self.root, key) {
            self.count -= 1;
        }
    }

    /// The highest gap at least `len` long: the one top-down placement takes.
    pub fn highest_fitting(&self, len: u64) -> Option<Gap> {
        let mut t = &self.root;
        while let Some(n) = t {
            if n.max < len {
                return None;
            }
            if n.right.is_some() && max_of(&n.right) >= len {
                t = &n.right;
            } else if n.gap.len >= len {
                return Some(n.gap);
            } else {
                t = &n.left;
            }
        }
        None
    }

    /// The lowest gap (smallest key) at least `len` long: the one bottom-up placement takes.
    pub fn lowest_fitting(&self, len: u64) -> Option<Gap> {
        let mut t = &self.root;
        while let Some(n) = t {
            if n.max < len {
                return None;
            }
            if n.left.is_some() && max_of(&n.left) >= len {
                t = &n.left;
            } else if n.gap.len >= len {
                return Some(n.gap);
            } else {
                t = &n.right;
            }
        }
        None
    }

    /// Every stored gap in key order (for the invariant check).
    pub fn entries(&self) -> Vec<(u64, Gap)> {
        fn walk(t: &Tree, out: &mut Vec<(u64, Gap)>) {
            if let Some(n) = t {
                walk(&n.left, out);
                out.push((n.key, n.gap));
                walk(&n.right, out);
            }
        }
        let mut out = Vec::with_capacity(self.count as usize);
        walk(&self.root, &mut out);
        out
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys in order within `(lo, hi]`-style bounds, each priority at most its parent's, every
    /// `max` the largest gap of its subtree: the treap that `set` and `remove` must keep.
    fn check_shape(t: &Tree, lo: u64, hi: u64, parent_prio: u64) -> u64 {
        let Some(n) = t else { return 0 };
        assert!(
            n.key >= lo && n.key <= hi,
            "key {} outside [{lo}, {hi}]",
            n.key
        );
        assert!(n.prio <= parent_prio, "heap order broken at {}", n.key);
        assert_eq!(n.prio, prio(n.key));
        let l = check_shape(&n.left, lo, n.key.saturating_sub(1), n.prio);
        let r = check_shape(&n.right, n.key.saturating_add(1), hi, n.prio);
        let max = n.gap.len.max(l).max(r);
        assert_eq!(n.max, max, "stale max at {}", n.key);
        max
    }

    /// Against a plain list, through inserts, replacements and removals.
    #[test]
    fn matches_a_linear_search() {
        let mut seed = 11u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut idx = GapIndex::default();
        let mut plain: std::collections::BTreeMap<u64, Gap> = Default::default();
        for i in 0..5000 {
            let key = if rnd(50) == 0 { TOP } else { rnd(2000) };
            if rnd(3) == 0 {
                idx.remove(key);
                plain.remove(&key);
            } else {
                let g = Gap {
                    end: key,
                    len: rnd(64),
                };
                idx.set(key, g);
                if g.len == 0 {
                    plain.remove(&key);
                } else {
                    plain.insert(key, g);
                }
            }
            let want = 1 + rnd(70);
            let linear = plain.values().rev().find(|g| g.len >= want).copied();
            assert_eq!(idx.highest_fitting(want), linear, "op {i}, len {want}");
            let lowest = plain.values().find(|g| g.len >= want).copied();
            assert_eq!(idx.lowest_fitting(want), lowest, "op {i}, len {want}");
            assert_eq!(idx.len(), plain.len() as u64);
            check_shape(&idx.root, 0, u64::MAX, u64::MAX);
        }
        let entries: Vec<(u64, Gap)> = plain.into_iter().collect();
        assert_eq!(idx.entries(), entries);
    }
}
