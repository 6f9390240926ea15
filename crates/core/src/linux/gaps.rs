//! The free gaps of an address space, indexed so that top-down placement finds the highest gap
//! that fits in O(log n): the kernel keeps the largest gap below every node of its maple tree for
//! the same reason (mm/mmap.c: unmapped_area_topdown → mas_empty_area_rev).
//!
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

/// The gap index of one mm. Empty gaps are not stored.
#[derive(Clone, Debug, Default)]
pub struct GapIndex {
    root: Tree,
    count: u64,
}

impl GapIndex {
    /// Set the gap under `key` (removing it if `gap.len` is 0).
    pub fn set(&mut self, key: u64, gap: Gap) {
        self.remove(key);
        if gap.len == 0 {
            return;
        }
        let (l, r) = split(self.root.take(), key);
        let node = Box::new(Node {
            key,
            gap,
            prio: prio(key),
            max: gap.len,
            left: None,
            right: None,
        });
        self.root = merge(merge(l, Some(node)), r);
        self.count += 1;
    }

    /// Drop the gap under `key`, if any.
    pub fn remove(&mut self, key: u64) {
        let (l, r) = split(self.root.take(), key);
        // What is left at or above `key`: keys == key, then keys above (none above u64::MAX).
        let (mid, r) = match key.checked_add(1) {
            Some(next) => split(r, next),
            None => (r, None),
        };
        if mid.is_some() {
            self.count -= 1;
        }
        self.root = merge(l, r);
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
            assert_eq!(idx.len(), plain.len() as u64);
        }
        let entries: Vec<(u64, Gap)> = plain.into_iter().collect();
        assert_eq!(idx.entries(), entries);
    }
}
