//! Swap: slots with use counts (mm/swapfile.c: swap_map), anonymous pages written out by
//! reclaim, and read back by a major fault (mm/memory.c: do_swap_page).

use super::memcg::MemcgId;
use super::mm::MmId;
use super::oom::GFP_ANON_FAULT;
use super::pages::{rmap_add, FrameKind, Pte, RCount};
use super::{LinuxMachine, Pid};
use crate::config::CgroupVersion;
use crate::op::Outcome;
use crate::runmap::RunValue;

/// The memory cgroup a swap slot's charge belongs to (mm/swap_cgroup.c: swap_cgroup_record):
/// set at swap-out to the page's cgroup, cleared when the charge goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapOwner(pub MemcgId);

impl RunValue for SwapOwner {
    fn advance(&self, _by: u64) -> Self {
        *self
    }
}

impl LinuxMachine {
    /// Add `delta` uses to swap slots `[slot, slot+n)` (swap_duplicate / swap_free); a slot whose
    /// count reaches 0 is free again.
    pub(crate) fn swap_ref(&mut self, slot: u64, n: u64, delta: i64) {
        if delta < 0 {
            // Slots whose last use goes are freed, and their swap charge with them
            // (swap_entries_free → mem_cgroup_uncharge_swap).
            let dying: Vec<(u64, u64)> = self
                .swap_map
                .range(slot, slot + n)
                .filter(|(_, _, c)| i64::from(c.0) + delta <= 0)
                .map(|(s, l, _)| (s, l))
                .collect();
            for (s, l) in dying {
                self.swap_uncharge_slots(s, l);
            }
        }
        let before = self.swap_map.covered(slot, slot + n);
        rmap_add(&mut self.swap_map, slot, n, delta);
        let after = self.swap_map.covered(slot, slot + n);
        self.stats.swap_used = self.stats.swap_used - before + after;
    }

    /// Swap slots free now.
    pub fn swap_free_pages(&self) -> u64 {
        self.total_swap_pages() - self.stats.swap_used
    }

    /// Write `n` anonymous pages of an mm at `vpn` (frames `pfn…`, each mapped once) to swap:
    /// the ptes become swap entries, the frames are freed (shrink_folio_list: add_to_swap,
    /// try_to_unmap, pageout).
    pub(crate) fn swap_out(&mut self, mm_id: MmId, vpn: u64, pfn: u64, n: u64) {
        let slot = self.next_slot;
        self.next_slot += n;
        let owners: Vec<(u64, u64, MemcgId)> = self
            .frames
            .range(pfn, pfn + n)
            .map(|(fp, l, f)| (fp - pfn, l, f.memcg))
            .collect();
        self.edit_pt(mm_id, |m| m.pt.set(vpn, n, Pte::Swap { slot }));
        let m = self.mms.get_mut(&mm_id).expect("mm exists");
        rmap_add(&mut m.rmap, pfn, n, -1);
        m.rss[0] -= n;
        m.swap_ents += n;
        self.free_frames(pfn, n);
        self.swap_ref(slot, n, 1);
        for (off, l, cg) in owners {
            self.swap_owner.set(slot + off, l, SwapOwner(cg));
            self.memcg_swap_charge(cg, l);
        }
    }

    /// Drop the swap charges of slots `[slot, slot+n)` that still hold one.
    fn swap_uncharge_slots(&mut self, slot: u64, n: u64) {
        for (_, l, SwapOwner(cg)) in self.swap_owner.remove(slot, slot + n) {
            self.memcg_swap_uncharge(cg, l);
        }
    }

    /// A fault on swap entries `[vpn, vpn+n)` (slots `slot…`): each page is read back into a
    /// new frame (a major fault) and its slot use dropped. The model frees the swap copy at
    /// once (no swap cache: SwapCached stays 0). Returns the pages read, or the outcome that
    /// ended the fault (the allocation may reclaim or OOM-kill).
    pub(crate) fn swap_in(
        &mut self,
        pid: Pid,
        mm_id: MmId,
        vpn: u64,
        n: u64,
        slot: u64,
        write: bool,
    ) -> Result<u64, (u64, Outcome)> {
        let mut at = 0;
        while at < n {
            // The page read back is charged to the faulting task's cgroup (mem_cgroup_swapin_charge_folio).
            let (cg, g) = self
                .alloc_grant(pid, n - at, GFP_ANON_FAULT, &|_, _| 0)
                .map_err(|o| (at, o))?;
            // do_swap_page: the pte is dirty after a write fault (pte_mkdirty), clean after a
            // read; the folio is not PG_dirty.
            let pfn = self.new_frames(g, FrameKind::Anon, 1, false, cg);
            self.edit_pt(mm_id, |m| {
                m.pt.set(vpn + at, g, Pte::Present { pfn, dirty: write })
            });
            let m = self.mms.get_mut(&mm_id).expect("mm exists");
            rmap_add(&mut m.rmap, pfn, g, 1);
            m.rss[0] += g;
            m.hiwater_rss = m.hiwater_rss.max(m.rss_total());
            m.swap_ents -= g;
            if self.cfg.cgroup == CgroupVersion::V1 {
                // v1's memory+swap counter was charged again with the new page: the slot's
                // charge goes now, though the slot may live on (mem_cgroup_swapin_uncharge_swap).
                self.swap_uncharge_slots(slot + at, g);
            }
            self.swap_ref(slot + at, g, -1);
            self.note_anon_pages(mm_id, vpn + at, g);
            at += g;
        }
        Ok(n)
    }

    /// A child's page table copied at fork holds the parent's swap entries: each gains a use
    /// (copy_nonpresent_pte → swap_duplicate). Returns the entries.
    pub(crate) fn swap_dup_all(
        &mut self,
        pt: &crate::runmap::RunMap<Pte, super::pages::PtTally>,
    ) -> u64 {
        let runs: Vec<(u64, u64)> = pt
            .iter()
            .filter_map(|(_, l, p)| match *p {
                Pte::Swap { slot } => Some((slot, l)),
                _ => None,
            })
            .collect();
        let mut n = 0;
        for (slot, l) in runs {
            self.swap_ref(slot, l, 1);
            n += l;
        }
        n
    }

    /// The swap invariants: every mm's count of swap entries matches its page table, every slot
    /// use is a swap entry, and swap used ≤ SwapTotal.
    pub(crate) fn check_swap(&self) -> Result<(), String> {
        let mut uses: crate::runmap::RunMap<RCount> = crate::runmap::RunMap::new();
        for (id, mm) in &self.mms {
            let mut ents = 0;
            for (_, l, p) in mm.pt.iter() {
                if let Pte::Swap { slot } = *p {
                    rmap_add(&mut uses, slot, l, 1);
                    ents += l;
                }
            }
            if ents != mm.swap_ents {
                return Err(format!(
                    "mm {id}: {ents} swap entries in the page table, swap_ents {}",
                    mm.swap_ents
                ));
            }
        }
        if uses != self.swap_map {
            return Err("swap slot use counts out of step with the swap entries".into());
        }
        for (s, l, o) in self.swap_owner.iter() {
            if self.swap_map.covered(s, s + l) != l {
                return Err(format!(
                    "swap slots {s}+{l} charged to memcg {} are not in use",
                    o.0
                ));
            }
        }
        let used = self.swap_map.covered(0, u64::MAX);
        if used != self.stats.swap_used {
            return Err(format!(
                "swap used {} != slots in use {used}",
                self.stats.swap_used
            ));
        }
        if used > self.total_swap_pages() {
            return Err(format!(
                "swap used {used} > SwapTotal {}",
                self.total_swap_pages()
            ));
        }
        Ok(())
    }
}
