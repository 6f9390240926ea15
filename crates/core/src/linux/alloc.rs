//! The allocation pipeline: a fault (or a page-cache insertion) takes free pages run by run;
//! when none are left it reclaims, then invokes the OOM killer, then retries
//! (mm/page_alloc.c: __alloc_pages_slowpath, __alloc_pages_may_oom; model-spec L8, S "fault").
//! A run is granted in part: the faulting process keeps every page it took before the shortage.
//! Each grant is then charged to the task's memory cgroup, which may cut it further
//! (linux/memcg.rs).

use super::memcg::{MemcgFail, MemcgId};
use super::oom::{OomConstraint, OomControl, OomOutcome, GFP_PGTABLE};
use super::{LinuxMachine, Pid};
use crate::op::{Outcome, Signal};

/// What the slow path achieved.
enum Slow {
    /// Reclaim or a kill freed memory (or killed someone): try again.
    Retry,
    /// The allocating task was killed (it was the victim, or shares the victim's mm).
    Dead,
    /// The kernel panicked.
    Panic,
}

impl LinuxMachine {
    /// How many of `want` pages (want ≥ 1) the allocating task may take now, and the memory
    /// cgroup they are charged to: at least one, after reclaim and OOM kills if no page is free
    /// or the cgroup is at its limit. `pt_for(m, k)` is the page-table pages the first `k`
    /// pages need, charged to the cgroup with them. `Err` is what the operation returns when the
    /// task died on the way, sleeps in the memcg charge ([`Outcome::Blocked`]) or the kernel
    /// panicked. The caller takes the pages it is granted, then asks again for the rest.
    ///
    /// The order is the kernel's: the folio is allocated first (free pages, with global reclaim
    /// and the global OOM killer on a shortage), then charged (mm/memory.c: alloc_anon_folio →
    /// vma_alloc_folio, then mem_cgroup_charge; mm/filemap.c: filemap_alloc_folio, then
    /// filemap_add_folio → mem_cgroup_charge), so a run is first cut to the free pages and then
    /// to what the cgroup's limits let through (linux/memcg.rs: memcg_charge_fault, which
    /// reclaims inside the cgroup and then calls the memcg OOM killer).
    pub(crate) fn alloc_grant(
        &mut self,
        pid: Pid,
        want: u64,
        gfp: &'static str,
        pt_for: &dyn Fn(&LinuxMachine, u64) -> u64,
    ) -> Result<(MemcgId, u64), Outcome> {
        debug_assert!(want > 0);
        let mm = self.mm_of(pid);
        loop {
            let free = self.free_pages();
            // The page tables the pages need come out of the same free pages (mm/memory.c:
            // __pte_alloc → pte_alloc_one before the folio is allocated), so k pages cost
            // k + pt_for(k) and the grant leaves room for its own tables.
            let k = Self::fit_with_tables(self, want.min(free), free, pt_for);
            if k > 0 {
                return self.charge_or_fail(pid, k, pt_for);
            }
            // Short even of one page and its tables: reclaim at least what that lacks.
            let short = 1 + pt_for(self, 1) - free;
            match self.alloc_slowpath(pid, mm, want.max(short), gfp) {
                Slow::Retry => continue,
                Slow::Dead => {
                    return Err(Outcome::Killed {
                        signal: Signal::SIGKILL,
                    })
                }
                Slow::Panic => return Err(Outcome::Panic),
            }
        }
    }

    /// The largest k ≤ `hi` whose pages and page tables fit in `free` (k + pt_for(k) ≤ free;
    /// pt_for grows with k, so a binary search over O(log n) table counts).
    fn fit_with_tables(
        &self,
        hi: u64,
        free: u64,
        pt_for: &dyn Fn(&LinuxMachine, u64) -> u64,
    ) -> u64 {
        let fits = |k: u64| k + pt_for(self, k) <= free;
        if fits(hi) {
            return hi;
        }
        // fits(lo) and !fits(hi_bad).
        let (mut lo, mut bad) = (0, hi);
        while bad - lo > 1 {
            let mid = lo + (bad - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                bad = mid;
            }
        }
        lo
    }

    /// Make `need` free pages for page tables a task is about to build outside a data-page
    /// fault (a read fault mapping the zero page or page-cache pages, fork's copy of the page
    /// table, mremap's move): the page allocator's slow path, reclaim and then the OOM killer,
    /// as for any GFP_PGTABLE_USER allocation (mm/memory.c: __pte_alloc; kernel/fork.c:
    /// copy_page_range). `Err` is the outcome when the task died or the kernel panicked.
    pub(crate) fn pt_room(&mut self, pid: Pid, need: u64) -> Result<(), Outcome> {
        let mm = self.mm_of(pid);
        loop {
            let free = self.free_pages();
            if free >= need {
                return Ok(());
            }
            match self.alloc_slowpath(pid, mm, need - free, GFP_PGTABLE) {
                Slow::Retry => continue,
                Slow::Dead => {
                    return Err(Outcome::Killed {
                        signal: Signal::SIGKILL,
                    })
                }
                Slow::Panic => return Err(Outcome::Panic),
            }
        }
    }

    /// The memcg charge of an allocation: the pages that fit, or the outcome that ends it (the
    /// task was the memcg OOM victim, or it sleeps: the cgroup and reason are kept for
    /// fault_range).
    fn charge_or_fail(
        &mut self,
        pid: Pid,
        n: u64,
        pt_for: &dyn Fn(&LinuxMachine, u64) -> u64,
    ) -> Result<(MemcgId, u64), Outcome> {
        self.memcg_charge_fault(pid, n, pt_for).map_err(|e| {
            if let MemcgFail::Wait(cg, why) = e {
                self.pending_wait = Some((cg, why));
            }
            e.outcome()
        })
    }

    /// No page is free: direct reclaim, then the OOM killer (__alloc_pages_slowpath →
    /// __alloc_pages_direct_reclaim → __alloc_pages_may_oom → out_of_memory).
    fn alloc_slowpath(
        &mut self,
        pid: Pid,
        mm: Option<super::mm::MmId>,
        want: u64,
        gfp: &'static str,
    ) -> Slow {
        if self.reclaim(want, None) > 0 {
            return Slow::Retry;
        }
        let oc = OomControl {
            constraint: OomConstraint::Global,
            totalpages: self.oom_totalpages(),
            allocating: pid,
            gfp,
        };
        match self.out_of_memory(&oc) {
            OomOutcome::Killed(_) => {
                let alive = self.procs[&pid].state == super::ProcState::Running
                    && self.mm_of(pid) == mm
                    && mm.is_none_or(|m| self.mms.contains_key(&m));
                if alive {
                    Slow::Retry
                } else {
                    Slow::Dead
                }
            }
            // A memcg OOM with nothing to kill leaves the charge failing: the fault ends.
            OomOutcome::NoVictim => Slow::Dead,
            OomOutcome::Panic => Slow::Panic,
        }
    }
}
