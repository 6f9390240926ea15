//! The seam between OS models: a [`Machine`] is a Linux machine today, and a Windows machine
//! (reserve/commit, commit limit, page file, job objects) joins it behind the same calls.

use crate::config::MachineConfig;
use crate::event::Event;
use crate::linux::{LinuxMachine, OpError, ProcState};
use crate::op::{Op, Outcome};
use crate::query::{Query, QueryError, Value};
use crate::snapshot::Snapshot;

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

    /// Check every model invariant; a violation is a model bug (used after every step in tests).
    pub fn check_invariants(&self) -> Result<(), String> {
        match self {
            Machine::Linux(m) => m.check_invariants(),
        }
    }
}
