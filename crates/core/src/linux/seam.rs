//! What the Linux model answers through the OS seam ([`crate::machine::Machine`]): processes by
//! name and pid, named mappings, the step's commit summary and the `/proc/PID/…` views.

use super::{LinuxMachine, Pid, ProcState};
use crate::config::OvercommitMode;
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
    /// same page counts shifted to kB), and the overcommit rule in force.
    pub fn commit_summary(&self) -> CommitSummary {
        let limit_kb = pages_to_kb(self.commit_limit_pages());
        let mem_free_kb = pages_to_kb(self.free_pages());
        let s = &self.cfg.sysctls;
        // mm/util.c: __vm_enough_memory, for an unprivileged process whose user reserve is
        // at its cap (see commit.rs: vm_enough_memory for each era's exact reserves).
        let rule = match s.overcommit_memory {
            OvercommitMode::Always => CommitRuleSummary::NoLimit,
            OvercommitMode::Never => CommitRuleSummary::Total {
                allowed_kb: limit_kb
                    .saturating_sub(s.admin_reserve_kbytes.saturating_add(s.user_reserve_kbytes)),
            },
            OvercommitMode::Guess if self.cfg.kernel.guess_is_total_ram_swap() => {
                CommitRuleSummary::PerRequest {
                    per_request_kb: pages_to_kb(self.totalram_pages() + self.total_swap_pages()),
                }
            }
            // Before 5.2 the estimate itself (commit.rs: guess_free, for an unprivileged
            // request as large as can be, so that ≤ 3.9 adds the free pages too).
            OvercommitMode::Guess => match self.guess_free(u64::MAX, false).1 {
                CommitRule::GuessFree { free, .. } => CommitRuleSummary::PerRequest {
                    per_request_kb: pages_to_kb(free),
                },
                r => unreachable!("guess_free returns its own rule, not {r:?}"),
            },
        };
        CommitSummary {
            charge_kb: pages_to_kb(self.committed_pages()),
            limit_kb,
            mem_free_kb,
            rule,
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
