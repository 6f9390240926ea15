//! Page-level state: page-table entries per mm and the physical frames they point at, both as
//! run maps. Residency (RSS, PSS) is derived from these; commit is kept elsewhere (model-spec L1).

use crate::runmap::{RunValue, Tally};
use serde::Serialize;

/// A page-table entry run: what the pages of `[vpn, vpn+len)` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pte {
    /// The shared zero page, after a read fault on private anonymous memory (no RSS).
    Zero,
    /// Physical frames; the run maps `pfn, pfn+1, …`. `dirty` is the ptes' own dirty bit, set
    /// by a write through them (the CPU sets it, or the fault handler with `pte_mkdirty`) and
    /// cleared by MADV_FREE (`clear_young_dirty_ptes`); a fork child's copy of a private pte
    /// keeps it (mm/memory.c: `copy_present_pte` cleans only VM_SHARED ptes, which dup_mmap
    /// never copies). smaps counts a page dirty when its pte or its frame is
    /// ([`Frame::dirty`]; fs/proc/task_mmu.c: `smaps_page_accumulate`).
    Present { pfn: u64, dirty: bool },
    /// Swap entries (swap itself arrives with a later issue; the state exists now).
    Swap { slot: u64 },
}

impl RunValue for Pte {
    fn advance(&self, by: u64) -> Self {
        match *self {
            Pte::Zero => Pte::Zero,
            Pte::Present { pfn, dirty } => Pte::Present {
                pfn: pfn + by,
                dirty,
            },
            Pte::Swap { slot } => Pte::Swap { slot: slot + by },
        }
    }
}

/// What kind of memory a frame holds, for the RssAnon/RssFile/RssShmem split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum FrameKind {
    Anon,
    File,
    Shmem,
}

/// The state of a run of physical frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// How many page-table entries map each frame (the kernel's mapcount).
    pub mapcount: u32,
    pub kind: FrameKind,
    /// The folio's own PG_dirty, not any pte's: set on a page-cache frame by a write fault on a
    /// shared mapping (`fault_dirty_shared_page`), by write(2) (`shmem_write_end`), and when a
    /// dirty pte mapping it is zapped (`zap_present_folio_ptes` → `folio_mark_dirty`). A shmem
    /// page written through a writable pte a read fault mapped (no write-notify on tmpfs) has a
    /// dirty pte and a clean frame, so another process's read of it is clean. Anonymous frames
    /// are never PG_dirty here (that needs swap or reclaim; the dirt is in their ptes).
    pub dirty: bool,
    /// MADV_FREE'd and not yet reclaimed or rewritten (the folio lost PG_swapbacked: mm/swap.c
    /// `lru_lazyfree`). smaps counts it as LazyFree only through a clean pte, so a frame a fork
    /// shares can be lazy-free in the process that freed it and dirty in the other.
    pub lazyfree: bool,
    /// The memory cgroup the frame is charged to: the one of the task that faulted it first.
    pub memcg: super::memcg::MemcgId,
}

impl RunValue for Frame {
    fn advance(&self, _by: u64) -> Self {
        *self
    }
}

/// Machine-wide frame counters that /proc/meminfo reads, kept as frames change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameTally {
    /// Anonymous frames marked MADV_FREE (LazyFree; they sit on the file LRU).
    pub lazyfree_anon: u64,
    /// Dirty page-cache frames of regular files (Dirty).
    pub dirty_file: u64,
    /// File and shmem frames mapped by at least one pte (Mapped).
    pub mapped_cache: u64,
}

impl Tally<Frame> for FrameTally {
    fn run(&mut self, _start: u64, len: u64, f: &Frame, add: bool) {
        let bump = |c: &mut u64, yes: bool| {
            if yes {
                if add {
                    *c += len;
                } else {
                    *c -= len;
                }
            }
        };
        bump(
            &mut self.lazyfree_anon,
            f.lazyfree && f.kind == FrameKind::Anon,
        );
        bump(&mut self.dirty_file, f.dirty && f.kind == FrameKind::File);
        bump(
            &mut self.mapped_cache,
            f.kind != FrameKind::Anon && f.mapcount > 0,
        );
    }
}

/// The x86-64 page-table levels below the PGD that a mapped pte needs, as the page-number shift
/// of the region one table of that level covers: a PTE page maps 2 MiB (2^9 pages), a PMD page
/// 1 GiB (2^18), a PUD page 512 GiB (2^27).
pub const PT_LEVEL_SHIFTS: [u32; 3] = [9, 18, 27];

/// How many page-table pages an mm's ptes need, kept as its page table changes. The regions of
/// one level that hold a pte are Σ over runs of the regions each run touches, less one for every
/// pair of neighbouring runs that share a region (runs are sorted and disjoint, so a region
/// shared by several runs is shared by each neighbouring pair among them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PtTally {
    /// Per level: Σ over runs of the regions the run touches.
    touched: [u64; 3],
    /// Per level: neighbouring pairs of runs whose facing ends lie in one region.
    shared: [u64; 3],
    runs: u64,
}

impl PtTally {
    /// Page-table pages below the PGD: one per region of each level holding a pte, as
    /// `mm_pgtables_bytes` counts them (include/linux/mm.h: mm_inc_nr_ptes / _pmds / _puds,
    /// called by __pte_alloc, __pmd_alloc and __pud_alloc; pgd_alloc counts nothing there).
    pub fn pages(&self) -> u64 {
        (0..3)
            .map(|i| self.touched[i] - self.shared[i])
            .sum::<u64>()
    }
}

impl Tally<Pte> for PtTally {
    const PAIRS: bool = true;

    fn run(&mut self, start: u64, len: u64, _: &Pte, add: bool) {
        let last = start + len - 1;
        for (i, sh) in PT_LEVEL_SHIFTS.iter().enumerate() {
            let n = (last >> sh) - (start >> sh) + 1;
            if add {
                self.touched[i] += n;
            } else {
                self.touched[i] -= n;
            }
        }
        if add {
            self.runs += 1;
        } else {
            self.runs -= 1;
        }
    }

    fn pair(&mut self, prev_end: u64, next_start: u64, add: bool) {
        for (i, sh) in PT_LEVEL_SHIFTS.iter().enumerate() {
            if (prev_end - 1) >> sh == next_start >> sh {
                if add {
                    self.shared[i] += 1;
                } else {
                    self.shared[i] -= 1;
                }
            }
        }
    }
}

/// A page-cache (file or shmem object) entry run: object page offset → frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachePage {
    pub pfn: u64,
}

impl RunValue for CachePage {
    fn advance(&self, by: u64) -> Self {
        CachePage { pfn: self.pfn + by }
    }
}

pub use crate::snapshot::PageState;

/// `PSS_SHIFT` (fs/proc/task_mmu.c): PSS is accumulated in fixed point with 12 extra bits.
pub const PSS_SHIFT: u32 = 12;

/// The PSS contribution of `pages` pages each mapped `mapcount` times, in bytes << PSS_SHIFT,
/// computed per page exactly as smaps_page_accumulate does.
pub fn pss_fixed(pages: u64, mapcount: u32) -> u128 {
    let per_page = ((crate::units::PAGE_SIZE as u128) << PSS_SHIFT) / mapcount.max(1) as u128;
    per_page * pages as u128
}

/// How many ptes of one mm map a frame: the per-mm reverse map, keyed by pfn. Fork adds one
/// mapping to every frame this map covers, so fork costs its runs, not the page table's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RCount(pub u32);

impl RunValue for RCount {
    fn advance(&self, _by: u64) -> Self {
        *self
    }
}

/// Add `delta` mappings to frames `[pfn, pfn+len)` in a reverse map, dropping runs that reach 0.
pub fn rmap_add(map: &mut crate::runmap::RunMap<RCount>, pfn: u64, len: u64, delta: i64) {
    if len == 0 {
        return;
    }
    let existing = map.remove(pfn, pfn + len);
    let mut cur = pfn;
    let mut out = Vec::new();
    for (s, l, c) in existing {
        if s > cur && delta > 0 {
            out.push((cur, s - cur, delta));
        }
        out.push((s, l, c.0 as i64 + delta));
        cur = s + l;
    }
    if cur < pfn + len && delta > 0 {
        out.push((cur, pfn + len - cur, delta));
    }
    for (s, l, c) in out {
        if c > 0 {
            map.set(s, l, RCount(c as u32));
        }
    }
}
