//! The seam between OS models: a [`Machine`] is a Linux machine today, and a Windows machine
//! (reserve/commit, commit limit, page file, job objects) joins it behind the same calls.

use crate::config::MachineConfig;
use crate::event::Event;
use crate::linux::{LinuxMachine, OpError, ProcState};
use crate::op::{Op, Outcome};
use crate::query::{Query, QueryError, Value};
use crate::snapshot::{Snapshot, VmaSnapshot};
use crate::units::pages_to_kb;

/// The three numbers every step records, in kB as `/proc/meminfo` prints them. Each is O(1) to
/// read, unlike the whole meminfo view (which walks every frame run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    /// `Committed_AS`.
    pub committed_as_kb: u64,
    /// `CommitLimit`.
    pub commit_limit_kb: u64,
    /// `MemFree`.
    pub mem_free_kb: u64,
}

#[derive(Clone, Debug)]
pub enum Machine {
    Linux(Box<LinuxMachine>),
}

impl Machine {
    pub fn boot(cfg: &MachineConfig) -> Machine {
        match cfg {
            MachineConfig::Linux(c) => Machine::Linux(Box::new(LinuxMachine::new(c.clone()))),
        }
    }

    /// Apply one operation. `Err` means the operation refers to something that does not exist
    /// (a scenario error); an errno the process would see is an `Ok(Outcome::Err(..))`.
    pub fn apply(&mut self, op: &Op) -> Result<(Outcome, Vec<Event>), OpError> {
        match self {
            Machine::Linux(m) => m.apply(op),
        }
    }

    /// `Committed_AS`, `CommitLimit` and `MemFree` now, in O(1) (fs/proc/meminfo.c prints the
    /// same page counts shifted to kB).
    pub fn commit_summary(&self) -> CommitSummary {
        match self {
            Machine::Linux(m) => CommitSummary {
                committed_as_kb: pages_to_kb(m.committed_pages()),
                commit_limit_kb: pages_to_kb(m.commit_limit_pages()),
                mem_free_kb: pages_to_kb(m.free_pages()),
            },
        }
    }

    /// Whether the kernel has panicked (then no later operation runs).
    pub fn panicked(&self) -> bool {
        match self {
            Machine::Linux(m) => m.panic.is_some(),
        }
    }

    /// The kernel log so far, as `dmesg` prints it (the newest lines the machine keeps).
    pub fn dmesg(&self) -> String {
        match self {
            Machine::Linux(m) => m.dmesg_text(),
        }
    }

    /// The pid of the newest process with this scenario name.
    pub fn pid_of(&self, name: &str) -> Option<u32> {
        match self {
            Machine::Linux(m) => m.by_name.get(name).copied(),
        }
    }

    /// The state of the newest process with this scenario name.
    pub fn proc_state(&self, name: &str) -> Option<ProcState> {
        match self {
            Machine::Linux(m) => {
                let pid = m.by_name.get(name)?;
                m.procs.get(pid).map(|p| p.state)
            }
        }
    }

    /// RAM and swap in bytes now (what relative sizes such as `50%ram` resolve against).
    pub fn ram_swap_bytes(&self) -> (u64, u64) {
        match self {
            Machine::Linux(m) => (m.cfg.ram_bytes, m.cfg.swap_bytes),
        }
    }

    pub fn linux(&self) -> Option<&LinuxMachine> {
        match self {
            Machine::Linux(m) => Some(m),
        }
    }

    pub fn query(&self, q: &Query) -> Result<Value, QueryError> {
        match self {
            Machine::Linux(m) => m.query(q),
        }
    }

    /// The VMA holding byte `at` of a named mapping (`expect PROC.vma.MAPPING[AT]…`).
    pub fn vma_piece(
        &self,
        proc: &str,
        mapping: &str,
        at: u64,
    ) -> Result<crate::query::VmaPiece, QueryError> {
        match self {
            Machine::Linux(m) => m.vma_piece(proc, mapping, at),
        }
    }

    pub fn meminfo_text(&self) -> String {
        match self {
            Machine::Linux(m) => m.meminfo_text(),
        }
    }

    /// A `/proc/PID/…` view of a named process: `maps`, `smaps`, `smaps_rollup`, `status`, `oom_score`.
    pub fn proc_view(&self, proc: &str, view: &str) -> Result<String, QueryError> {
        match self {
            Machine::Linux(m) => {
                let pid = *m
                    .by_name
                    .get(proc)
                    .ok_or_else(|| QueryError::NoSuchProcess(proc.into()))?;
                let text = match view {
                    "maps" => m.maps_text(pid),
                    "smaps" => m.smaps_text(pid),
                    "smaps_rollup" => m.smaps_rollup_text(pid),
                    "status" => m.status_text(pid),
                    "oom_score" => {
                        if m.procs[&pid].state != ProcState::Running {
                            None
                        } else {
                            Some(format!("{}\n", m.oom_score(pid)))
                        }
                    }
                    "oom_score_adj" => Some(format!("{}\n", m.procs[&pid].oom_score_adj)),
                    other => return Err(QueryError::NoSuchField(other.into())),
                };
                text.ok_or_else(|| QueryError::ProcessGone(proc.into()))
            }
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        match self {
            Machine::Linux(m) => Snapshot::of_linux(m),
        }
    }

    /// [`Machine::snapshot`] with every process's `vmas` empty; [`Machine::vma_snapshots`]
    /// yields them one at a time (the CLI streams a final machine of 100,000 VMAs this way).
    pub fn snapshot_without_vmas(&self) -> Snapshot {
        match self {
            Machine::Linux(m) => Snapshot::of_linux_without_vmas(m),
        }
    }

    /// The `vmas` of process `pid` in [`Machine::snapshot`], one at a time.
    pub fn vma_snapshots(&self, pid: u32) -> Box<dyn Iterator<Item = VmaSnapshot> + '_> {
        match self {
            Machine::Linux(m) => Box::new(Snapshot::linux_vmas(m, pid)),
        }
    }

    /// Check every model invariant; a violation is a model bug (used after every step in tests).
    pub fn check_invariants(&self) -> Result<(), String> {
        match self {
            Machine::Linux(m) => m.check_invariants(),
        }
    }
}
