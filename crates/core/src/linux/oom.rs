//! OOM badness, `/proc/PID/oom_score` in both eras, and the global OOM killer's victim choice
//! (model-spec L8; mm/oom_kill.c, fs/proc/base.c).

use super::{LinuxMachine, Pid, ProcState};
use crate::event::EventKind;

/// Which tasks an OOM may kill and what `totalpages` is (mm/oom_kill.c: constrained_alloc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OomConstraint {
    Global,
    /// A memory cgroup at its limit: candidates are the tasks of its subtree.
    Memcg(super::memcg::MemcgId),
}

/// struct oom_control, as far as the model needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OomControl {
    pub constraint: OomConstraint,
    pub totalpages: u64,
    pub allocating: Pid,
}

impl LinuxMachine {
    /// `totalpages` of a global OOM: RAM + swap.
    pub fn oom_totalpages(&self) -> u64 {
        (self.totalram_pages() + self.total_swap_pages()).max(1)
    }

    /// The points `oom_badness` gives a process (signed, from 5.9), or None when it is skipped
    /// (no mm, adj −1000, in vfork).
    pub fn badness(&self, pid: Pid) -> Option<i64> {
        self.badness_in(pid, self.oom_totalpages())
    }

    /// oom_badness against `totalpages` (a memcg OOM passes its limit: mem_cgroup_get_max).
    pub fn badness_in(&self, pid: Pid, totalpages: u64) -> Option<i64> {
        let p = self.procs.get(&pid)?;
        if p.state != ProcState::Running || p.oom_score_adj == -1000 || p.vfork_parent.is_some() {
            return None;
        }
        let mm = &self.mms[&p.mm?];
        let total = totalpages as i64;
        // rss + swap entries + page-table pages.
        let mut points = (mm.rss_total() + self.swap_entries(p.mm?) + mm.pgtable_pages()) as i64;
        if self.cfg.kernel.oom_admin_bonus() && p.cap_sys_admin {
            points -= points * 3 / 100;
        }
        points += p.oom_score_adj as i64 * (total / 1000);
        if !self.cfg.kernel.oom_score_signed() {
            // ≈3.8–5.8: clamped to at least 1.
            points = points.max(1);
        }
        Some(points)
    }

    /// Swap entries of an mm (VmSwap in pages). Swap arrives with a later issue: always 0 now.
    pub fn swap_entries(&self, _mm: u32) -> u64 {
        0
    }

    /// `/proc/PID/oom_score` (fs/proc/base.c: proc_oom_score).
    pub fn oom_score(&self, pid: Pid) -> i64 {
        let total = self.oom_totalpages() as i64;
        match self.badness(pid) {
            None => 0,
            Some(b) if self.cfg.kernel.oom_score_signed() => (1000 + b * 1000 / total) * 2 / 3,
            Some(b) => b * 1000 / total,
        }
    }

    /// `/proc/PID/oom_adj` as read: `oom_score_adj * 17 / 1000`, with 1000 shown as 15.
    pub fn oom_adj(&self, pid: Pid) -> i64 {
        let adj = self.procs.get(&pid).map_or(0, |p| p.oom_score_adj) as i64;
        if adj == 1000 {
            15
        } else {
            (adj * 17 / 1000).min(15)
        }
    }

    /// __oom_kill_process's line: `MESSAGE: Killed process PID (comm) total-vm:…` (message
    /// "Out of memory" or "Memory cgroup out of memory").
    pub(crate) fn oom_kill_line(&self, victim: Pid, message: &str) -> String {
        let p = &self.procs[&victim];
        let mm = &self.mms[&p.mm.expect("an OOM victim has an mm")];
        format!(
            "{message}: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:{}kB, UID:0 pgtables:{}kB oom_score_adj:{}",
            victim,
            p.name,
            mm.total_vm * 4,
            mm.rss[0] * 4,
            mm.rss[1] * 4,
            mm.rss[2] * 4,
            mm.pgtable_pages() * 4,
            p.oom_score_adj
        )
    }

    /// select_bad_process + oom_kill_process for a global OOM: the highest badness wins, ties go to
    /// the later-scanned task. Returns the victim, or None ("no killable processes").
    pub(crate) fn oom_kill(&mut self, allocating: Pid) -> Option<Pid> {
        let oc = OomControl {
            constraint: OomConstraint::Global,
            totalpages: self.oom_totalpages(),
            allocating,
        };
        let mut chosen: Option<(Pid, i64)> = None;
        for &pid in self.procs.keys() {
            if let Some(b) = self.badness_in(pid, oc.totalpages) {
                if chosen.is_none_or(|(_, c)| b >= c) {
                    chosen = Some((pid, b));
                }
            }
        }
        let Some((victim, points)) = chosen else {
            self.emit(EventKind::Refused {
                errno: crate::op::Errno::ENOMEM,
                why: "Out of memory and no killable processes".into(),
                source: "mm/oom_kill.c: out_of_memory",
            });
            return None;
        };
        let line = self.oom_kill_line(victim, "Out of memory");
        let p = &self.procs[&victim];
        let _ = (oc.allocating, points);
        let mm_id = p.mm;
        self.memcg_note_oom_kill(victim);
        self.emit(EventKind::KernelLog {
            line,
            source: "mm/oom_kill.c: __oom_kill_process (pr_err)",
        });
        // Every process sharing the victim's mm dies with it (__oom_kill_process).
        let sharers: Vec<Pid> = self
            .procs
            .values()
            .filter(|q| q.mm == mm_id && q.state == ProcState::Running)
            .map(|q| q.pid)
            .collect();
        for pid in sharers {
            self.end_process(pid, Some(crate::op::Signal::SIGKILL));
        }
        Some(victim)
    }
}
