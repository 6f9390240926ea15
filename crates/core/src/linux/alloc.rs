//! The allocation pipeline: a fault (or a page-cache insertion) takes free pages run by run;
//! when none are left it reclaims, then invokes the OOM killer, then retries
//! (mm/page_alloc.c: __alloc_pages_slowpath, __alloc_pages_may_oom; model-spec L8, S "fault").
//! A run is granted in part: the faulting process keeps every page it took before the shortage.

use super::oom::{OomConstraint, OomControl, OomOutcome};
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
    /// How many of `want` pages (want ≥ 1) the allocating task may take now: at least one, after
    /// reclaim and OOM kills if no page is free. `Err` is what the operation returns when the
    /// task died on the way or the kernel panicked. The caller takes the pages it is granted,
    /// then asks again for the rest.
    pub(crate) fn alloc_grant(
        &mut self,
        pid: Pid,
        want: u64,
        gfp: &'static str,
    ) -> Result<u64, Outcome> {
        debug_assert!(want > 0);
        let mm = self.mm_of(pid);
        loop {
            // The memory cgroup charge joins here, before the free-page check
            // (mm/memcontrol.c: try_charge_memcg; linux/memcg.rs).
            let g = want.min(self.free_pages());
            if g > 0 {
                return Ok(g);
            }
            match self.alloc_slowpath(pid, mm, want, gfp) {
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

    /// No page is free: direct reclaim, then the OOM killer (__alloc_pages_slowpath →
    /// __alloc_pages_direct_reclaim → __alloc_pages_may_oom → out_of_memory).
    fn alloc_slowpath(
        &mut self,
        pid: Pid,
        mm: Option<super::mm::MmId>,
        want: u64,
        gfp: &'static str,
    ) -> Slow {
        if self.reclaim(want) > 0 {
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
