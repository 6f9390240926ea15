//! OOM badness, `/proc/PID/oom_score` in both eras, and the OOM killer: one entry point,
//! [`LinuxMachine::out_of_memory`], for every constraint (model-spec L8; mm/oom_kill.c,
//! fs/proc/base.c).

use super::memcg::MemcgId;
use super::{LinuxMachine, Pid, ProcState};
use crate::event::{EventKind, OomCandidate, OomChoice, OomConstraintKind, OomReport};
use crate::units::PAGE_SIZE;

/// The constraint of an OOM (mm/oom_kill.c: constrained_alloc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OomConstraint {
    /// CONSTRAINT_NONE: every task is a candidate; `totalpages` = RAM + swap.
    Global,
    /// CONSTRAINT_MEMCG: a memory cgroup at its limit; the candidates are the tasks of its
    /// subtree (mem_cgroup_scan_tasks) and `totalpages` is mem_cgroup_get_max.
    Memcg(super::memcg::MemcgId),
}

/// What the allocator hands the OOM killer (the kernel's `struct oom_control`).
#[derive(Clone, Debug)]
pub(crate) struct OomControl {
    pub constraint: OomConstraint,
    /// The badness scale: RAM + swap for a global OOM, the limit for a memcg OOM.
    pub totalpages: u64,
    /// `current`: the task whose allocation failed.
    pub allocating: Pid,
    /// `gfp_mask` as dump_header prints it.
    pub gfp: &'static str,
}

/// How an OOM ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OomOutcome {
    /// A victim was killed (and every process sharing its mm) and reaped.
    Killed(Pid),
    /// Nothing killable inside a constraint that does not panic (a memcg).
    NoVictim,
    /// The kernel panicked: nothing killable in a global OOM, or vm.panic_on_oom.
    Panic,
}

/// The gfp mask of an anonymous page fault (GFP_HIGHUSER_MOVABLE | __GFP_ZERO, with __GFP_COMP
/// from the folio allocator), as 6.x OOM reports print it.
pub(crate) const GFP_ANON_FAULT: &str = "0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO)";
/// The gfp mask the memcg OOM reports of this host print (GFP_KERNEL: v1's
/// mem_cgroup_oom_synchronize and a limit write), kept for every memcg OOM.
pub(crate) const GFP_KERNEL: &str = "0xcc0(GFP_KERNEL)";
/// The gfp mask of a page-cache allocation (mapping_gfp_mask of a regular file).
pub(crate) const GFP_PAGECACHE: &str = "0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)";
/// The gfp mask of a user page-table page (include/asm-generic/pgalloc.h: GFP_PGTABLE_USER =
/// GFP_KERNEL_ACCOUNT | __GFP_ZERO).
pub(crate) const GFP_PGTABLE: &str = "0x400dc0(GFP_KERNEL_ACCOUNT|__GFP_ZERO)";

impl LinuxMachine {
    /// `totalpages` of a global OOM: RAM + swap.
    pub fn oom_totalpages(&self) -> u64 {
        (self.totalram_pages() + self.total_swap_pages()).max(1)
    }

    /// The points `oom_badness` gives a process (signed, from 5.9) against the global
    /// `totalpages`, or None when it is skipped (no mm, adj −1000, in vfork).
    pub fn badness(&self, pid: Pid) -> Option<i64> {
        self.badness_in(pid, self.oom_totalpages())
    }

    /// `oom_badness(p, totalpages)`: rss + swap entries + page-table pages, plus
    /// `oom_score_adj × (totalpages / 1000)` (integer division first). A memcg OOM passes its
    /// limit (mem_cgroup_get_max).
    pub fn badness_in(&self, pid: Pid, totalpages: u64) -> Option<i64> {
        let p = self.procs.get(&pid)?;
        if p.state != ProcState::Running || p.oom_score_adj == -1000 || p.vfork_parent.is_some() {
            return None;
        }
        let mm_id = p.mm?;
        let mm = &self.mms[&mm_id];
        let total = totalpages as i64;
        let mut points = (mm.rss_total() + self.swap_entries(mm_id) + mm.pgtable_pages()) as i64;
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

    /// Swap entries of an mm (VmSwap in pages, MM_SWAPENTS).
    pub fn swap_entries(&self, mm: u32) -> u64 {
        self.mms.get(&mm).map_or(0, |m| m.swap_ents)
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

    /// Whether a task is a candidate of this OOM at all (dump_task / oom_evaluate_task: not
    /// unkillable, and inside the constraint). vmlab has no init and no kernel threads.
    fn oom_in_scope(&self, pid: Pid, oc: &OomControl) -> bool {
        let p = &self.procs[&pid];
        p.state == ProcState::Running
            && p.mm.is_some()
            && match oc.constraint {
                OomConstraint::Global => true,
                OomConstraint::Memcg(cg) => self.memcg_in_subtree(p.memcg, cg),
            }
    }

    /// The task table dump_tasks prints, in task-list order (creation order), with each task's
    /// badness.
    pub(crate) fn oom_table(&self, oc: &OomControl) -> Vec<OomCandidate> {
        self.procs
            .keys()
            .filter(|&&pid| self.oom_in_scope(pid, oc))
            .map(|&pid| {
                let p = &self.procs[&pid];
                let mm_id = p.mm.expect("in scope");
                let mm = &self.mms[&mm_id];
                OomCandidate {
                    pid,
                    name: p.name.clone(),
                    total_vm: mm.total_vm,
                    rss: mm.rss,
                    pgtables_bytes: mm.pgtable_pages() * PAGE_SIZE,
                    swapents: self.swap_entries(mm_id),
                    oom_score_adj: p.oom_score_adj,
                    points: self.badness_in(pid, oc.totalpages),
                }
            })
            .collect()
    }

    /// mm/oom_kill.c: out_of_memory, the one entry point of the global and the memcg OOM
    /// killer. check_panic_on_oom (1 panics a global OOM only, 2 a memcg OOM too), then
    /// oom_kill_allocating_task (global only), then select_bad_process (the highest badness;
    /// `points < chosen` skips, so a tie goes to the task scanned later), then
    /// oom_kill_process; nothing killable panics a global OOM and leaves a memcg charge
    /// failing. A global OOM emits one [`EventKind::Oom`] with the whole table (and
    /// [`EventKind::Panic`] on a panic); a memcg OOM that does not panic continues in
    /// linux/memcg.rs (`memcg_select_and_kill`: the same table, then memory.oom.group).
    pub(crate) fn out_of_memory(&mut self, oc: &OomControl) -> OomOutcome {
        let table = self.oom_table(oc);
        let current = match self.procs.get(&oc.allocating) {
            Some(cur) => (cur.pid, cur.name.clone(), cur.oom_score_adj),
            // A limit lowered by a write from outside any scenario process.
            None => (0, "sh".to_string(), 0),
        };
        let constraint = match oc.constraint {
            OomConstraint::Global => OomConstraintKind::Global,
            OomConstraint::Memcg(cg) => {
                OomConstraintKind::Memcg(self.memcgs.groups[&cg].path.clone())
            }
        };
        let mut report = OomReport {
            current,
            gfp: oc.gfp,
            constraint,
            totalpages: oc.totalpages,
            table,
            choice: OomChoice::Badness,
            victim: None,
            panic: None,
        };
        // check_panic_on_oom: 1 panics only a CONSTRAINT_NONE OOM, 2 any (a memcg OOM too).
        let pan = self.cfg.sysctls.panic_on_oom;
        let global = oc.constraint == OomConstraint::Global;
        if pan != 0 && (pan == 2 || global) {
            report.choice = OomChoice::PanicOnOom(pan as u8);
            let msg = format!(
                "Out of memory: {} panic_on_oom is enabled",
                if pan == 2 {
                    "compulsory"
                } else {
                    "system-wide"
                }
            );
            report.panic = Some(msg.clone());
            return self.oom_panic(report, msg);
        }
        if let OomConstraint::Memcg(cg) = oc.constraint {
            return match self.memcg_select_and_kill(cg, oc, report.table) {
                Some(victim) => OomOutcome::Killed(victim),
                None => OomOutcome::NoVictim,
            };
        }
        // vm.oom_kill_allocating_task (not for a memcg OOM): the allocating task, if it has an
        // mm and is not at −1000.
        let cur = &self.procs[&oc.allocating];
        let chosen = if global
            && self.cfg.sysctls.oom_kill_allocating_task != 0
            && cur.mm.is_some()
            && cur.oom_score_adj != -1000
        {
            report.choice = OomChoice::AllocatingTask;
            Some(oc.allocating)
        } else {
            let mut best: Option<(Pid, i64)> = None;
            for c in &report.table {
                if let Some(points) = c.points {
                    if best.is_none_or(|(_, b)| points >= b) {
                        best = Some((c.pid, points));
                    }
                }
            }
            best.map(|(pid, _)| pid)
        };
        let Some(victim) = chosen else {
            report.choice = OomChoice::NoVictim;
            if global {
                let msg = "System is deadlocked on memory".to_string();
                report.panic = Some(msg.clone());
                return self.oom_panic(report, msg);
            }
            self.emit(EventKind::Oom(Box::new(report)));
            return OomOutcome::NoVictim;
        };
        report.victim = Some(victim);
        self.emit(EventKind::Oom(Box::new(report)));
        // The report's own rendering prints the victim's `Killed process` line.
        self.oom_kill_process(victim, None, "Out of memory", false);
        OomOutcome::Killed(victim)
    }

    /// mm/oom_kill.c: oom_kill_process, for a global OOM (`domain` None: the root is the OOM
    /// domain) and a memcg OOM alike. mem_cgroup_get_oom_group picks the group before the
    /// victim dies (the highest cgroup with memory.oom.group = 1 from the victim's up to the
    /// domain; v2 only), then __oom_kill_process kills the victim, and with a group
    /// `oom_group_kill` counts in it, mem_cgroup_print_oom_group logs it and every other task
    /// in it not at −1000 is killed (mem_cgroup_scan_tasks → oom_kill_memcg_member).
    /// `log_victim`: print the victim's `Killed process` line here (a global OOM's report
    /// prints it itself). Returns the group's cgroup and the other tasks it killed.
    pub(crate) fn oom_kill_process(
        &mut self,
        victim: Pid,
        domain: Option<MemcgId>,
        message: &str,
        log_victim: bool,
    ) -> Option<(MemcgId, Vec<Pid>)> {
        let group = self.oom_group_members(victim, domain);
        if domain.is_none() {
            self.oom_reap_line(victim);
        }
        self.oom_kill_task(victim, message, log_victim);
        if let Some((gc, members)) = &group {
            self.memcg_event(*gc, super::memcg::MemcgEventKey::OomGroupKill, 1);
            self.emit(EventKind::KernelLog {
                line: format!(
                    "Tasks in /{} are going to be killed due to memory.oom.group set",
                    self.memcgs.groups[gc].path
                ),
                source: "mm/memcontrol.c: mem_cgroup_print_oom_group",
            });
            for &pid in members {
                // A sharer of an earlier victim's mm is dead already.
                if self.procs[&pid].state == ProcState::Running {
                    self.oom_kill_task(pid, message, true);
                }
            }
        }
        group
    }

    /// The victim's oom.group (memcg_oom_group) and the tasks in it that the group kill takes
    /// besides the victim: running, not at −1000 (oom_kill_memcg_member skips
    /// OOM_SCORE_ADJ_MIN), in the group's subtree.
    pub(crate) fn oom_group_members(
        &self,
        victim: Pid,
        domain: Option<MemcgId>,
    ) -> Option<(MemcgId, Vec<Pid>)> {
        let gc = self.memcg_oom_group(victim, domain)?;
        let members = self
            .procs
            .iter()
            .filter(|(&pid, p)| {
                p.state == ProcState::Running
                    && pid != victim
                    && p.oom_score_adj != -1000
                    && self.memcg_in_subtree(p.memcg, gc)
            })
            .map(|(&pid, _)| pid)
            .collect();
        Some((gc, members))
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

    fn oom_panic(&mut self, report: OomReport, msg: String) -> OomOutcome {
        self.emit(EventKind::Oom(Box::new(report)));
        self.emit(EventKind::Panic {
            message: msg.clone(),
        });
        self.panic = Some(msg);
        OomOutcome::Panic
    }

    /// The oom_reaper's line for a global OOM's victim: __oom_reap_task_mm unmaps every VMA
    /// that is anonymous or not VM_SHARED; what a shared file or shmem mapping holds stays
    /// until exit. (The model logs it for a global OOM's victim only; a memcg victim's exit
    /// usually frees its memory before the reaper's 2 s delay, OOM_REAPER_DELAY.)
    fn oom_reap_line(&mut self, victim: Pid) {
        let mm_id = self.procs[&victim].mm.expect("victim has an mm");
        let (file, shmem) = self.shared_mapping_rss(mm_id);
        let name = self.procs[&victim].name.clone();
        self.emit(EventKind::KernelLog {
            line: format!(
                "oom_reaper: reaped process {victim} ({name}), now anon-rss:0kB, file-rss:{}kB, shmem-rss:{}kB",
                file * 4,
                shmem * 4
            ),
            source: "mm/oom_kill.c: oom_reap_task_mm",
        });
    }

    /// __oom_kill_process: the `MESSAGE: Killed process …` line (when `log`), `oom_kill` in the
    /// task's cgroup (memcg_memory_event_mm), and SIGKILL to the task and every other process
    /// sharing its mm; exit frees the memory.
    fn oom_kill_task(&mut self, victim: Pid, message: &str, log: bool) {
        if log {
            let line = self.oom_kill_line(victim, message);
            self.emit(EventKind::KernelLog {
                line,
                source: "mm/oom_kill.c: __oom_kill_process (pr_err)",
            });
        }
        self.memcg_note_oom_kill(victim);
        let mm_id = self.procs[&victim].mm.expect("victim has an mm");
        let sharers: Vec<Pid> = self
            .procs
            .values()
            .filter(|q| q.mm == Some(mm_id) && q.state == ProcState::Running)
            .map(|q| q.pid)
            .collect();
        for pid in sharers {
            self.end_process(pid, Some(crate::op::Signal::SIGKILL));
            self.report_oom_killed_container(pid);
        }
    }

    /// RssFile and RssShmem of an mm's VM_SHARED mappings.
    fn shared_mapping_rss(&self, mm_id: super::mm::MmId) -> (u64, u64) {
        let mm = &self.mms[&mm_id];
        let (mut file, mut shmem) = (0, 0);
        for v in mm.vmas.values().filter(|v| v.has(super::vma::VM_SHARED)) {
            let (a, b) = (v.start_page(), v.end >> crate::units::PAGE_SHIFT);
            for (_, l, pte) in mm.pt.range(a, b) {
                if let super::pages::Pte::Present { pfn, .. } = pte {
                    for (_, fl, f) in self.frames.range(pfn, pfn + l) {
                        match f.kind {
                            super::pages::FrameKind::File => file += fl,
                            super::pages::FrameKind::Shmem => shmem += fl,
                            super::pages::FrameKind::Anon => {}
                        }
                    }
                }
            }
        }
        (file, shmem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine_with(procs: &[(&str, u64, i32)]) -> LinuxMachine {
        let mut src = String::from("machine linux ram=8GiB\n");
        for &(name, mib, adj) in procs {
            src += &format!(
                "spawn {name} admin adj={adj}\n{name} mmap buf {mib}MiB rw private anon\n{name} write buf\n"
            );
        }
        let sc = crate::scenario::parse(&src).unwrap();
        let crate::config::MachineConfig::Linux(cfg) = sc.machine.clone() else {
            unreachable!("a Linux machine")
        };
        let mut m = LinuxMachine::new(cfg);
        for st in &sc.stmts {
            if let crate::scenario::StmtKind::Op(op) = &st.kind {
                m.apply(op).unwrap();
            }
        }
        m
    }

    /// L9.2's victim choice with `totalpages` a parameter (a 96 MiB limit): A = 48 MiB at
    /// adj 0, B = 8 MiB at adj 1000 → B first (2048 + 1000 × 24 pages against 12288).
    #[test]
    fn badness_takes_totalpages_as_a_parameter() {
        let m = machine_with(&[("a", 48, 0), ("b", 8, 1000)]);
        let limit = 96 * 256;
        let a = m.badness_in(FIRST, limit).unwrap();
        let b = m.badness_in(FIRST + 1, limit).unwrap();
        let pt = |pid| m.mms[&m.procs[&pid].mm.unwrap()].pgtable_pages() as i64;
        assert_eq!(a, 12_288 + pt(FIRST));
        assert_eq!(b, 2_048 + pt(FIRST + 1) + 1000 * (limit as i64 / 1000));
        assert!(b > a);
        // Against the machine's own totalpages (8 GiB), the same B scores far more.
        assert_eq!(
            m.badness_in(FIRST + 1, m.oom_totalpages()).unwrap(),
            2_048 + pt(FIRST + 1) + 1000 * 2097
        );
    }

    const FIRST: Pid = super::super::FIRST_PID;
}
