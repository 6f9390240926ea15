//! One process's address space (model-spec W1, W2): reservations ("allocations") whose bases are
//! 64 KiB aligned, each page reserved or committed, as runs keyed by page number; free pages are
//! simply absent. The free gaps are indexed for bottom-up placement in O(log n)
//! ([`crate::gaps::GapIndex::lowest_fitting`]): a gap starts at the 64 KiB boundary after the
//! allocation below it, since the rest of a partly used 64 KiB block is unusable (W1).
//!
//! User space is `[0x10000, va − 0x10000)`: the first and last 64 KiB are never allocatable
//! (SYSTEM_INFO.lpMinimumApplicationAddress 0x10000; lpMaximumApplicationAddress
//! 0x7FFFFFFEFFFF on x64), so `ullTotalVirtual` is 128 TiB − 128 KiB.

use crate::gaps::{Gap, GapIndex};
use crate::runmap::{RunMap, RunValue, Tally};
use crate::units::PAGE_SIZE;
use std::collections::BTreeMap;

/// The allocation granularity (SYSTEM_INFO.dwAllocationGranularity).
pub const GRANULARITY: u64 = 64 * 1024;
/// The lowest allocatable address.
pub const MIN_ADDRESS: u64 = GRANULARITY;

/// Where a committed page's contents are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Res {
    /// Never touched: no physical page yet (demand-zero on first touch).
    Untouched,
    /// In RAM, in the working set; the number is the fault that brought it in (its place in
    /// the system's trim order).
    Resident(u64),
    /// Trimmed and written to the page file.
    PagedOut,
}

/// One virtual page of an allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Reserved,
    /// A committed private page, charged to the process.
    Committed {
        res: Res,
        protect: u32,
    },
    /// A page of a view: its contents are the section's page. `in_ws`: this process has it in
    /// its working set (it touched it and the section page has stayed resident since).
    Mapped {
        in_ws: bool,
    },
    /// A copy-on-write view's page after a write: private, covered by the view's charge.
    Copied {
        res: Res,
    },
}

impl RunValue for Page {
    fn advance(&self, _: u64) -> Self {
        *self
    }
}

/// Counts kept over a process's page runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageTally {
    pub reserved: u64,
    /// Committed private pages (PrivateUsage less the copy-on-write views).
    pub committed: u64,
    /// Resident private pages (committed or copied).
    pub resident: u64,
    /// Private pages in the page file.
    pub paged: u64,
    /// View pages in the working set.
    pub mapped_ws: u64,
    pub mapped: u64,
    pub copied: u64,
}

impl Tally<Page> for PageTally {
    fn run(&mut self, _start: u64, len: u64, v: &Page, add: bool) {
        let apply = |f: &mut u64| {
            if add {
                *f += len
            } else {
                *f -= len
            }
        };
        match *v {
            Page::Reserved => apply(&mut self.reserved),
            Page::Committed { res, .. } => {
                apply(&mut self.committed);
                match res {
                    Res::Resident(_) => apply(&mut self.resident),
                    Res::PagedOut => apply(&mut self.paged),
                    Res::Untouched => {}
                }
            }
            Page::Mapped { in_ws } => {
                apply(&mut self.mapped);
                if in_ws {
                    apply(&mut self.mapped_ws);
                }
            }
            Page::Copied { res } => {
                apply(&mut self.copied);
                match res {
                    Res::Resident(_) => apply(&mut self.resident),
                    Res::PagedOut => apply(&mut self.paged),
                    Res::Untouched => {}
                }
            }
        }
    }
}

/// A view's link to its section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewOf {
    pub section: String,
    /// Byte offset into the section.
    pub offset: u64,
    /// FILE_MAP_COPY.
    pub copy: bool,
}

/// One allocation: a reservation made by VirtualAlloc, or a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub size: u64,
    /// AllocationProtect.
    pub protect: u32,
    pub view: Option<ViewOf>,
    pub name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AddressSpace {
    /// The end of allocatable space (va − 64 KiB).
    pub top: u64,
    /// Allocation base → region.
    pub regions: BTreeMap<u64, Region>,
    /// Page number → page state (free pages absent).
    pub pages: RunMap<Page, PageTally>,
    /// Free gaps keyed by their end (the base above them, or `top`).
    pub gaps: GapIndex,
    /// Scenario name → allocation base.
    pub names: BTreeMap<String, u64>,
    /// Bytes reserved or committed (Process Explorer's "Virtual Size").
    pub used_bytes: u64,
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

impl AddressSpace {
    pub fn new(va_bytes: u64) -> Self {
        let top = va_bytes - GRANULARITY;
        let mut gaps = GapIndex::default();
        gaps.set(
            top,
            Gap {
                end: top,
                len: top - MIN_ADDRESS,
            },
        );
        AddressSpace {
            top,
            regions: BTreeMap::new(),
            pages: RunMap::default(),
            gaps,
            names: BTreeMap::new(),
            used_bytes: 0,
        }
    }

    /// ullTotalVirtual: the allocatable user space in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.top - MIN_ADDRESS
    }

    /// The allocation holding byte `addr`: `(base, region)`.
    pub fn region_at(&self, addr: u64) -> Option<(u64, &Region)> {
        let (&b, r) = self.regions.range(..=addr).next_back()?;
        (addr < b + r.size).then_some((b, r))
    }

    /// The end of the allocation below `addr` (or MIN_ADDRESS), rounded up to 64 KiB: where a
    /// gap ending at `addr` starts.
    fn gap_start_below(&self, addr: u64) -> u64 {
        match self.regions.range(..addr).next_back() {
            Some((&b, r)) => align_up(b + r.size, GRANULARITY),
            None => MIN_ADDRESS,
        }
    }

    fn gap_end_above(&self, addr: u64) -> u64 {
        self.regions
            .range(addr..)
            .next()
            .map_or(self.top, |(&b, _)| b)
    }

    fn set_gap(&mut self, end: u64) {
        let start = self.gap_start_below(end).min(end);
        self.gaps.set(
            end,
            Gap {
                end,
                len: end - start,
            },
        );
    }

    /// Where a reservation of `size` bytes goes with no address given: the lowest fitting gap.
    pub fn find_free(&self, size: u64) -> Option<u64> {
        self.gaps.lowest_fitting(size).map(|g| g.end - g.len)
    }

    /// Whether `[base, base + size)` is free and allocatable (`base` 64 KiB aligned).
    pub fn is_free(&self, base: u64, size: u64) -> bool {
        let Some(end) = base.checked_add(size) else {
            return false;
        };
        if base < MIN_ADDRESS || end > self.top {
            return false;
        }
        // Nothing may start inside, and the allocation below must end at or before `base`.
        self.regions.range(base..end).next().is_none()
            && self
                .regions
                .range(..base)
                .next_back()
                .is_none_or(|(&b, r)| b + r.size <= base)
    }

    /// Insert a reservation (the caller checked [`AddressSpace::is_free`]).
    pub fn insert(&mut self, base: u64, region: Region, fill: Page) {
        let size = region.size;
        let gap_end = self.gap_end_above(base);
        self.regions.insert(base, region);
        self.pages.set(base / PAGE_SIZE, size / PAGE_SIZE, fill);
        self.used_bytes += size;
        // The gap that held it is now two: below it (ending at base) and above it.
        self.set_gap(base);
        self.set_gap(gap_end);
    }

    /// Remove an allocation, returning its page runs.
    pub fn remove(&mut self, base: u64) -> (Region, Vec<(u64, u64, Page)>) {
        let r = self.regions.remove(&base).expect("the region exists");
        let runs = self
            .pages
            .remove(base / PAGE_SIZE, (base + r.size) / PAGE_SIZE);
        self.used_bytes -= r.size;
        if let Some(n) = &r.name {
            self.names.remove(n);
        }
        self.gaps.remove(base);
        let end = self.gap_end_above(base);
        self.set_gap(end);
        (r, runs)
    }

    /// The gaps the regions imply, for the invariant check.
    pub fn check_gaps(&self) -> Result<(), String> {
        let mut want = Vec::new();
        let mut start = MIN_ADDRESS;
        for (&b, r) in &self.regions {
            if b % GRANULARITY != 0 {
                return Err(format!("allocation base {b:#x} is not 64 KiB aligned"));
            }
            if b < start {
                return Err(format!("allocation at {b:#x} overlaps the one below"));
            }
            if b > start {
                want.push((
                    b,
                    Gap {
                        end: b,
                        len: b - start,
                    },
                ));
            }
            start = align_up(b + r.size, GRANULARITY);
        }
        if self.top > start {
            want.push((
                self.top,
                Gap {
                    end: self.top,
                    len: self.top - start,
                },
            ));
        }
        if want != self.gaps.entries() {
            return Err(format!(
                "gap index {:?} != the gaps between allocations {:?}",
                self.gaps.entries(),
                want
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(size: u64) -> Region {
        Region {
            size,
            protect: 4,
            view: None,
            name: None,
        }
    }

    #[test]
    fn placement_is_bottom_up_on_64_kib_boundaries() {
        let mut s = AddressSpace::new(2 << 30);
        let a = s.find_free(4096).expect("room");
        assert_eq!(a, MIN_ADDRESS);
        s.insert(a, region(4096), Page::Reserved);
        // The rest of a's 64 KiB block is unusable: the next one starts at 0x20000.
        let b = s.find_free(4096).expect("room");
        assert_eq!(b, 0x20000);
        s.insert(b, region(4096), Page::Reserved);
        assert!(!s.is_free(0x10000, 0x10000));
        assert!(s.is_free(0x30000, 0x10000));
        s.check_gaps().expect("gaps agree");
        s.remove(a);
        assert_eq!(s.find_free(0x10000), Some(MIN_ADDRESS));
        s.check_gaps().expect("gaps agree");
        assert_eq!(s.total_bytes(), (2 << 30) - 0x20000);
    }
}
