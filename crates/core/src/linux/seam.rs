//! What the Linux model answers through the OS seam ([`crate::machine::Machine`]): processes by
//! name and pid, named mappings, the step's commit summary and the `/proc/PID/…` views.

use super::{LinuxMachine, Pid, ProcState};
use crate::event::CommitRule;
use crate::machine::{CommitRuleSummary, CommitSummary, ProcInfo};
use crate::query::QueryError;
use crate::units::pages_to_kb;

impl LinuxMachine {
    pub fn process_info(&self, pid: Pid) -> Option<ProcInfo<'_>> {
        self.procs.get(&pid).map(|p| ProcInfo {
            pid: p.pid,
            name: &p.name,
            state: p.state,
            parent: p.ppid,
        })
    }

    /// The newest process with this scenario name.
    pub fn process_by_name(&self, name: &str) -> Option<ProcInfo<'_>> {
        self.process_info(*self.by_name.get(name)?)
    }

    /// Every process, running or not, in pid order.
    pub fn process_infos(&self) -> impl Iterator<Item = ProcInfo<'_>> + '_ {
        self.procs.keys().filter_map(|&pid| self.process_info(pid))
    }

    /// `(start, length)` of a named mapping of a process that has an address space.
    pub fn mapping_range(&self, proc: &str, mapping: &str) -> Option<(u64, u64)> {
        let mm = self.mm_of(*self.by_name.get(proc)?)?;
        self.mms[&mm].names.get(mapping).copied()
    }

    /// Every named mapping of a process that has an address space, in name order.
    pub fn mapping_ranges(&self, proc: &str) -> Vec<(String, u64, u64)> {
        let Some(mm) = self.by_name.get(proc).and_then(|&pid| self.mm_of(pid)) else {
            return Vec::new();
        };
        self.mms[&mm]
            .names
            .iter()
            .map(|(n, &(s, l))| (n.clone(), s, l))
            .collect()
    }

    /// `Committed_AS`, `CommitLimit` and `MemFree` now, in O(1) (fs/proc/meminfo.c prints the
    /// same page counts shifted to kB), and the overcommit rule in force for a task with an
    /// empty address space and without CAP_SYS_ADMIN ([`Self::commit_summary_for`] with `None`).
    pub fn commit_summary(&self) -> CommitSummary {
        self.commit_summary_for(None)
    }

    /// The commit summary for one process: the rule's numbers are `__vm_enough_memory`'s own
    /// for that task now (commit.rs: enough_memory_rule, with its mm's total_vm and its
    /// CAP_SYS_ADMIN), so the gauge and the charge can never disagree. `None`, or a pid with no
    /// process, is a task with an empty address space and without CAP_SYS_ADMIN; a process
    /// without an mm (a zombie) is asked with no mm, as the kernel would.
    pub fn commit_summary_for(&self, pid: Option<Pid>) -> CommitSummary {
        let limit_kb = pages_to_kb(self.commit_limit_pages());
        let mem_free_kb = pages_to_kb(self.free_pages());
        let (total_vm, cap) = match pid.and_then(|p| self.procs.get(&p)) {
            Some(p) => (
                self.mm_of(p.pid).map(|mm| self.mms[&mm].total_vm),
                p.cap_sys_admin,
            ),
            None => (Some(0), false),
        };
        // The rule for the largest request there could be: its numbers do not depend on the
        // request's size except in ≤ 3.9's estimate, which adds the free pages for a request
        // the page cache and swap alone cannot cover (commit.rs: guess_free).
        let (_, r) = self.enough_memory_rule(u64::MAX, total_vm, cap);
        // A bound of 0 pages is a real answer (not even one page is granted), not a clamp
        // hiding a bug: the counters are below the rule's allowance or at it.
        let (rule, max_request) = match r {
            CommitRule::Always => (CommitRuleSummary::NoLimit, None),
            // pages ≤ totalram + swap.
            CommitRule::GuessTotal { totalram, swap } => (
                CommitRuleSummary::PerRequest {
                    per_request_kb: pages_to_kb(totalram + swap),
                },
                Some(totalram + swap),
            ),
            // free > pages.
            CommitRule::GuessFree { free, .. } => (
                CommitRuleSummary::PerRequest {
                    per_request_kb: pages_to_kb(free),
                },
                Some(free.saturating_sub(1)),
            ),
            // Committed_AS + pages < allowed.
            CommitRule::Never { allowed, .. } => (
                CommitRuleSummary::Total {
                    allowed_kb: pages_to_kb(allowed),
                },
                Some(
                    allowed
                        .saturating_sub(self.committed_pages())
                        .saturating_sub(1),
                ),
            ),
        };
        CommitSummary {
            charge_kb: pages_to_kb(self.committed_pages()),
            limit_kb,
            mem_free_kb,
            rule,
            max_request_kb: max_request.map(pages_to_kb),
        }
    }

    /// A `/proc/PID/…` view: `maps`, `smaps`, `smaps_rollup`, `status`, `oom_score`,
    /// `oom_score_adj`.
    pub fn proc_view(&self, pid: Pid, view: &str) -> Result<String, QueryError> {
        let p = self
            .procs
            .get(&pid)
            .ok_or_else(|| QueryError::NoSuchProcess(pid.to_string()))?;
        let text = match view {
            "maps" => self.maps_text(pid),
            "smaps" => self.smaps_text(pid),
            "smaps_rollup" => self.smaps_rollup_text(pid),
            "status" => self.status_text(pid),
            "oom_score" => {
                if p.state != ProcState::Running {
                    None
                } else {
                    Some(format!("{}\n", self.oom_score(pid)))
                }
            }
            "oom_score_adj" => Some(format!("{}\n", p.oom_score_adj)),
            other => return Err(QueryError::NoSuchField(other.into())),
        };
        text.ok_or_else(|| QueryError::ProcessGone(p.name.clone()))
    }
}
