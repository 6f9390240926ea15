//! An address space (`struct mm_struct`): the VMA tree, the page table, the counters that
//! /proc/PID/status shows, the names a scenario gave its mappings, and placement.

use super::pages::{PtTally, Pte};
use super::vma::*;
use crate::gaps::{Gap, GapIndex, TOP};
use crate::kernel::ThpAnonAlign;
use crate::runmap::RunMap;
use crate::units::{PAGE_SHIFT, PAGE_SIZE};
use std::collections::BTreeMap;

/// x86-64 `TASK_SIZE` with 4-level paging: the top of user space.
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// `STACK_TOP` without randomization.
pub const STACK_TOP: u64 = TASK_SIZE;
/// arch/x86/mm/mmap.c: mmap_base() with randomization off: `TASK_SIZE - max(8 MiB stack rlimit +
/// stack_guard_gap, 128 MiB)`.
pub const MMAP_BASE: u64 = TASK_SIZE - (128 << 20);
/// x86-64 `PMD_SIZE` (2 MiB): what one page-table page maps, and a THP's size.
pub const PMD_SIZE: u64 = 2 << 20;
/// `mmap_min_addr` default (64 KiB): nothing is placed below it.
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;
/// Where `[heap]` starts. vmlab processes have no program image, so this is the non-randomized
/// PIE heap start of a small program (`ELF_ET_DYN_BASE` 0x555555554000 + a few image pages).
pub const START_BRK: u64 = 0x5555_5555_9000;
/// `stack_guard_gap` = 256 pages: the gap kept below a VM_GROWSDOWN VMA.
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;
/// The initial `[stack]` VMA of a fresh exec (model-spec L4 measured 132 KiB).
pub const INITIAL_STACK: u64 = 132 * 1024;
/// `RLIMIT_STACK` default soft limit (8 MiB).
pub const RLIMIT_STACK: u64 = 8 << 20;

pub type MmId = u32;

/// Where [`Mm::get_unmapped_area`] placed a mapping (`None`: no gap fits), and by which rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub addr: Option<u64>,
    pub rule: AreaRule,
}

/// The rule behind an [`Area`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AreaRule {
    /// Plain top-down first fit (no THP rule in this kernel, or not an anonymous private map).
    TopDown,
    /// 6.12+: the length is not a multiple of PMD_SIZE.
    NotPmdMultiple,
    /// The mapping's range holds no whole aligned PMD (shorter than PMD_SIZE).
    TooShortForPmd,
    /// No gap fits `len + PMD_SIZE` (or it overflows): placed without the padding.
    PaddedSearchFailed,
    /// Searched for `len_pad` = `len + PMD_SIZE` and aligned to a PMD boundary.
    ThpAligned { len_pad: u64 },
}

/// A value shared between an mm and its fork children until one of them changes it: reading
/// is a plain deref, and the first write through one copy clones it (`Arc::make_mut`), so
/// fork costs a pointer per field and only what a process changes is copied.
#[derive(Debug, Default)]
pub struct Shared<T: Clone>(std::sync::Arc<T>);

impl<T: Clone> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T: Clone> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> std::ops::DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

impl<'a, T: Clone> IntoIterator for &'a Shared<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        (&*self.0).into_iter()
    }
}

impl<T: Clone> Shared<T> {
    pub fn new(v: T) -> Self {
        Shared(std::sync::Arc::new(v))
    }
}

#[derive(Clone, Debug)]
pub struct Mm {
    /// The VMAs by start. Change their ranges only through [`Mm::insert`], [`Mm::remove`] and
    /// [`Mm::split`], which keep the gap and special-VMA indexes in step.
    pub vmas: Shared<BTreeMap<u64, Vma>>,
    /// The free gaps between VMAs, for O(log n) placement.
    gaps: Shared<GapIndex>,
    /// `[heap]` and `[stack]` VMAs (and their split pieces) by kind, then start.
    specials: Shared<std::collections::BTreeSet<(Special, u64)>>,
    pub pt: RunMap<Pte, PtTally>,
    /// Reverse map: pfn → how many of this mm's ptes map it.
    pub rmap: RunMap<super::pages::RCount>,
    /// Scenario names → the byte range the mapping was created with (updated by mremap).
    pub names: Shared<BTreeMap<String, (u64, u64)>>,
    pub total_vm: u64,
    pub start_brk: u64,
    pub brk: u64,
    /// Live processes using this mm (fork gives a new mm; vfork and CLONE_VM share it).
    pub users: u32,
    /// MMF_MULTIPROCESS: a clone(CLONE_VM) without CLONE_VFORK shares it (kernel/fork.c:
    /// copy_oom_score_adj), so an oom_score_adj write goes to every process sharing it.
    pub multiprocess: bool,
    /// RssAnon, RssFile, RssShmem in pages.
    pub rss: [u64; 3],
    pub hiwater_rss: u64,
    pub hiwater_vm: u64,
    /// Swap entries in this mm's page table (MM_SWAPENTS: VmSwap, oom_badness).
    pub swap_ents: u64,
    /// Huge pages reserved by this mm's hugetlb mappings.
    pub huge_rsvd: u64,
    /// Boundaries where a flag change split a VMA and then failed its second split: the kernel
    /// leaves the two identical halves apart (vma_modify returns after the first split_vma).
    pub left_apart: Shared<std::collections::BTreeSet<u64>>,
}

impl Mm {
    pub fn new() -> Self {
        let mut mm = Mm {
            vmas: Shared::default(),
            gaps: Shared::default(),
            specials: Shared::default(),
            pt: RunMap::default(),
            rmap: RunMap::new(),
            names: Shared::default(),
            total_vm: 0,
            start_brk: START_BRK,
            brk: START_BRK,
            users: 1,
            multiprocess: false,
            rss: [0; 3],
            hiwater_rss: 0,
            hiwater_vm: 0,
            swap_ents: 0,
            huge_rsvd: 0,
            left_apart: Shared::default(),
        };
        // An empty address space is one gap.
        mm.refresh_gap(TOP);
        mm
    }

    /// dup_mmap's starting point: a new mm with this one's VMAs (and their indexes), page
    /// table, reverse map, RSS, names and break; one user, high-water marks to be set.
    pub fn fork_copy(&self) -> Mm {
        // Every large field is `Shared` or chunk-shared, so the clone is a pointer per field.
        Mm {
            users: 1,
            multiprocess: false,
            hiwater_rss: 0,
            hiwater_vm: 0,
            huge_rsvd: 0,
            ..self.clone()
        }
    }

    pub fn map_count(&self) -> u64 {
        self.vmas.len() as u64
    }

    pub fn rss_total(&self) -> u64 {
        self.rss.iter().sum()
    }

    pub fn insert(&mut self, v: Vma) {
        self.total_vm += v.pages();
        self.hiwater_vm = self.hiwater_vm.max(self.total_vm);
        let (start, end) = (v.start, v.end);
        if let Some(k) = v.special {
            self.specials.insert((k, start));
        }
        let old = self.vmas.insert(start, v);
        assert!(old.is_none(), "a VMA already starts at {start:#x}");
        self.refresh_gap(start);
        self.refresh_gap(self.key_above(end));
    }

    pub fn remove(&mut self, start: u64) -> Option<Vma> {
        let v = self.vmas.remove(&start)?;
        self.total_vm -= v.pages();
        if let Some(k) = v.special {
            self.specials.remove(&(k, start));
        }
        self.gaps.remove(start);
        self.refresh_gap(self.key_above(v.end));
        Some(v)
    }

    /// The gap key of the first VMA at or above `addr` (or [`TOP`]).
    fn key_above(&self, addr: u64) -> u64 {
        self.vmas.range(addr..).next().map_or(TOP, |(&s, _)| s)
    }

    /// The free gap under `key` (a VMA's start, or [`TOP`]), recomputed from its two
    /// neighbours and clipped to the top-down search window `[MMAP_MIN_ADDR, MMAP_BASE)`.
    fn gap_at(&self, key: u64) -> Gap {
        let below = self.vmas.range(..key).next_back().map_or(0, |(_, v)| v.end);
        let above = if key == TOP {
            TASK_SIZE
        } else {
            Self::start_gap(&self.vmas[&key])
        };
        let lo = below.max(MMAP_MIN_ADDR);
        let hi = above.min(MMAP_BASE);
        // A gap outside the window, or eaten by a stack guard gap, is empty: clipping to 0 is
        // the rule here, not a hidden invariant.
        Gap {
            end: hi,
            len: hi.saturating_sub(lo),
        }
    }

    fn refresh_gap(&mut self, key: u64) {
        let g = self.gap_at(key);
        self.gaps.set(key, g);
    }

    /// The gap index rebuilt from the VMAs must equal the one kept (for the invariant check).
    pub fn check_gaps(&self) -> Result<(), String> {
        let want: Vec<(u64, Gap)> = self
            .vmas
            .keys()
            .copied()
            .chain(std::iter::once(TOP))
            .map(|k| (k, self.gap_at(k)))
            .filter(|(_, g)| g.len > 0)
            .collect();
        if want != self.gaps.entries() {
            return Err(format!(
                "gap index {:?} != gaps of the VMAs {:?}",
                self.gaps.entries(),
                want
            ));
        }
        let specials: std::collections::BTreeSet<(Special, u64)> = self
            .vmas
            .values()
            .filter_map(|v| v.special.map(|k| (k, v.start)))
            .collect();
        if specials != *self.specials {
            return Err("special-VMA index out of step with the VMAs".into());
        }
        Ok(())
    }

    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
    }

    /// The VMA that ends exactly at `addr`.
    pub fn ending_at(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end == addr)
    }

    /// The VMA that starts exactly at `addr`.
    pub fn starting_at(&self, addr: u64) -> Option<&Vma> {
        self.vmas.get(&addr)
    }

    /// VMAs intersecting `[start, end)`, as (start, end) pairs.
    pub fn overlapping(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let first = self
            .vmas
            .range(..start)
            .next_back()
            .filter(|(_, v)| v.end > start)
            .map(|(&s, _)| s)
            .unwrap_or(start);
        self.vmas
            .range(first..end)
            .map(|(_, v)| (v.start, v.end))
            .filter(|&(s, e)| e > start && s < end)
            .collect()
    }

    pub fn is_free(&self, start: u64, end: u64) -> bool {
        self.overlapping(start, end).is_empty()
    }

    /// Split the VMA containing `at` into `[start, at)` and `[at, end)`. The caller has checked
    /// map_count. Both halves keep flags, file, anon_vma.
    pub fn split(&mut self, at: u64) {
        let Some(v) = self.find(at).cloned() else {
            return;
        };
        if v.start == at {
            return;
        }
        let mut hi = v.clone();
        hi.start = at;
        hi.pgoff = v.pgoff_at(at);
        let mut lo = v;
        lo.end = at;
        // total_vm is unchanged by a split.
        if let Some(k) = hi.special {
            self.specials.insert((k, at));
        }
        self.vmas.insert(lo.start, lo);
        self.vmas.insert(hi.start, hi);
        self.refresh_gap(at);
    }

    /// Where a VMA's free gap ends below it: `vm_start_gap` keeps stack_guard_gap below a stack.
    fn start_gap(v: &Vma) -> u64 {
        if v.has(VM_GROWSDOWN) {
            v.start.saturating_sub(STACK_GUARD_GAP)
        } else {
            v.start
        }
    }

    /// arch_get_unmapped_area_topdown: the highest free range of `len` bytes below mmap_base,
    /// from the gap index in O(log n). A gap ends where the VMA above it starts, less that
    /// VMA's stack guard gap (`vm_start_gap`, checked against the next VMA only, as
    /// unmapped_area_topdown does).
    pub fn unmapped_area_topdown(&self, len: u64) -> Option<u64> {
        if len == 0 {
            return None;
        }
        self.gaps.highest_fitting(len).map(|g| g.end - len)
    }

    /// `__get_unmapped_area` with no address for a mapping of `len` bytes: the THP alignment of
    /// an anonymous private mapping (`thp` is the kernel's era and the mapping's `pgoff`; `None`
    /// for file, shared and hugetlb mappings, which take other paths), else plain top-down.
    /// Still one O(log n) search, or two when the padded one finds no gap.
    pub fn get_unmapped_area(&self, len: u64, thp: Option<(ThpAnonAlign, u64)>) -> Area {
        let plain = |rule| Area {
            addr: self.unmapped_area_topdown(len),
            rule,
        };
        let Some((era, pgoff)) = thp else {
            return plain(AreaRule::TopDown);
        };
        // mm/mmap.c: __get_unmapped_area sends only PMD-multiple lengths there from 6.12, and
        // from 6.8 treats pgoff as zero for anonymous memory.
        let off = match era {
            ThpAnonAlign::None => return plain(AreaRule::TopDown),
            ThpAnonAlign::PmdMultiple if !len.is_multiple_of(PMD_SIZE) => {
                return plain(AreaRule::NotPmdMultiple)
            }
            ThpAnonAlign::AtLeastPmd => pgoff << PAGE_SHIFT,
            ThpAnonAlign::AtLeastPmdTopDown | ThpAnonAlign::PmdMultiple => 0,
        };
        // mm/huge_memory.c: __thp_get_unmapped_area. The file range must hold one whole
        // aligned PMD: `off_end <= off_align || off_end - off_align < size` returns 0.
        let (Some(off_end), Some(off_align)) =
            (off.checked_add(len), off.checked_next_multiple_of(PMD_SIZE))
        else {
            return plain(AreaRule::TooShortForPmd);
        };
        if off_end <= off_align || off_end - off_align < PMD_SIZE {
            return plain(AreaRule::TooShortForPmd);
        }
        // `len_pad < len || off + len_pad < off` return 0, and so does a failed padded search:
        // "The caller will retry without the padding."
        let Some(len_pad) = len
            .checked_add(PMD_SIZE)
            .filter(|&p| off.checked_add(p).is_some())
        else {
            return plain(AreaRule::PaddedSearchFailed);
        };
        let Some(ret) = self.unmapped_area_topdown(len_pad) else {
            return plain(AreaRule::PaddedSearchFailed);
        };
        let off_sub = off.wrapping_sub(ret) & (PMD_SIZE - 1);
        // 6.8's fix: top-down, an already aligned `ret` moves up a whole PMD, so the mapping
        // ends at the top of the padded range instead of leaving PMD_SIZE free above it.
        let addr = if era != ThpAnonAlign::AtLeastPmd && off_sub == 0 {
            ret + PMD_SIZE
        } else {
            ret + off_sub
        };
        Area {
            addr: Some(addr),
            rule: AreaRule::ThpAligned { len_pad },
        }
    }

    /// `[heap]`'s VMA, if the break has moved.
    pub fn heap(&self) -> Option<&Vma> {
        self.special(Special::Heap)
    }

    pub fn stack(&self) -> Option<&Vma> {
        self.special(Special::Stack)
    }

    /// The lowest VMA of a special kind.
    fn special(&self, k: Special) -> Option<&Vma> {
        self.specials
            .range((k, 0)..=(k, u64::MAX))
            .next()
            .map(|&(_, s)| &self.vmas[&s])
    }

    /// VmData: private writable non-stack pages (`is_data_mapping`).
    pub fn data_vm(&self) -> u64 {
        self.vmas
            .values()
            .filter(|v| v.flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN) == VM_WRITE)
            .map(|v| v.pages())
            .sum()
    }

    /// VmStk.
    pub fn stack_vm(&self) -> u64 {
        self.vmas
            .values()
            .filter(|v| v.has(VM_GROWSDOWN))
            .map(|v| v.pages())
            .sum()
    }

    /// VmExe: executable, non-writable, non-stack.
    pub fn exec_vm(&self) -> u64 {
        self.vmas
            .values()
            .filter(|v| v.flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN) == VM_EXEC)
            .map(|v| v.pages())
            .sum()
    }

    /// VmLck.
    pub fn locked_vm(&self) -> u64 {
        self.vmas
            .values()
            .filter(|v| v.has(VM_LOCKED))
            .map(|v| v.pages())
            .sum()
    }

    /// Page-table pages needed for what is mapped now: one PTE page per 2 MiB region, one PMD
    /// page per 1 GiB region and one PUD page per 512 GiB region that holds a mapped entry
    /// (x86-64 4-level paging): VmPTE and the OOM badness's page tables (mm_pgtables_bytes).
    /// The PGD is not among them: it is allocated with the mm (LinuxMachine::pgd_alloc) and
    /// counted only in PageTables and the memcg's `pagetables`.
    pub fn pgtable_pages(&self) -> u64 {
        self.pt.tally().pages()
    }

    /// The page-table pages that mapping ptes into the empty range `[a, a + n)` (pages) would
    /// add: at each level, the regions the range touches that hold no pte yet. O(log n): only the range's first and last region can
    /// already hold ptes, since the range itself holds none.
    pub fn pt_pages_for_gap(&self, a: u64, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let b = a + n - 1;
        let mut total = 0;
        for sh in super::pages::PT_LEVEL_SHIFTS {
            let (ra, rb) = (a >> sh, b >> sh);
            let occupied = |r: u64| self.pt.range(r << sh, (r + 1) << sh).next().is_some();
            let mut new = rb - ra + 1;
            if occupied(ra) {
                new -= 1;
            }
            if rb != ra && occupied(rb) {
                new -= 1;
            }
            total += new;
        }
        total
    }

    /// [`Mm::pgtable_pages`] counted by walking every run (for the invariant check).
    pub fn pgtable_pages_walked(&self) -> u64 {
        let mut total = 0;
        if self.pt.is_empty() {
            return 0;
        }
        for shift in super::pages::PT_LEVEL_SHIFTS {
            let mut last: Option<u64> = None;
            for (s, l, _) in self.pt.iter() {
                let a = s >> shift;
                let b = (s + l - 1) >> shift;
                let first_new = match last {
                    Some(x) if x >= a => x + 1,
                    _ => a,
                };
                if b >= first_new {
                    total += b - first_new + 1;
                }
                last = Some(last.map_or(b, |x| x.max(b)));
            }
        }
        total
    }

    /// The page number of a byte address.
    pub fn vpn(addr: u64) -> u64 {
        addr >> PAGE_SHIFT
    }
}

impl Default for Mm {
    fn default() -> Self {
        Self::new()
    }
}
