//! The Windows model (model-spec Part W): reservations and commit, the system commit charge
//! and its limit (RAM + page file, with page-file growth), working sets and the page file,
//! pagefile-backed sections and views, job objects and containers.
//!
//! - `op.rs` — the calls as values ([`op::WinOp`]) and their Win32 errors.
//! - `space.rs` — one process's address space: reservations 64 KiB aligned, page states as
//!   runs, the free gaps for bottom-up placement.
//! - `system.rs` — a system's RAM, page file and commit ledger (the host, or a Hyper-V
//!   container's utility VM).
//! - `alloc.rs` — VirtualAlloc and VirtualFree; `fault.rs` — touches, working sets, trimming;
//!   `section.rs` — sections and views; `job.rs` — jobs and containers.
//! - `report.rs` — the structures the APIs fill (W4, W5) and their text; `query.rs` — the
//!   numbers `expect` reads and the invariant check; `event.rs` — the decisions.

pub mod alloc;
pub mod event;
pub mod fault;
pub mod job;
pub mod op;
pub mod query;
pub mod report;
pub mod section;
pub mod space;
pub mod system;

use crate::config::WindowsConfig;
use crate::event::{Event, EventKind};
use crate::machine::{OpError, ProcInfo, ProcState};
use crate::op::Outcome;
use event::WinEvent;
use op::{Win32Error, WinAddr, WinOp};
use space::AddressSpace;
use std::collections::{BTreeMap, BTreeSet};
use system::System;

/// Who owns a run of faulted pages in a system's trim order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    Proc(u32),
    Section(String),
}

/// One Windows process.
#[derive(Clone, Debug)]
pub struct WinProcess {
    pub pid: u32,
    pub name: String,
    pub state: ProcState,
    /// Index into [`WindowsMachine::systems`]: the host (0) or a Hyper-V container's VM.
    pub system: usize,
    /// The innermost job it is in.
    pub job: Option<String>,
    pub space: AddressSpace,
    /// PrivateUsage in pages: private committed pages plus copy-on-write views (W4, W7).
    pub private_pages: u64,
    pub peak_private_pages: u64,
    pub peak_ws_pages: u64,
    pub page_faults: u64,
}

impl WinProcess {
    /// WorkingSetSize in pages: its resident private pages and the resident section pages it
    /// has touched (W4).
    pub fn ws_pages(&self) -> u64 {
        let t = self.space.pages.tally();
        t.resident + t.mapped_ws
    }
}

/// The Windows machine.
#[derive(Clone, Debug)]
pub struct WindowsMachine {
    pub cfg: WindowsConfig,
    pub systems: Vec<System>,
    pub procs: BTreeMap<u32, WinProcess>,
    /// Scenario name → newest pid.
    pub by_name: BTreeMap<String, u32>,
    pub next_pid: u32,
    pub sections: BTreeMap<String, section::Section>,
    pub jobs: BTreeMap<String, job::Job>,
    pub containers: BTreeMap<String, job::Container>,
    /// Every owner's faulted runs by sequence number, for trimming one owner's oldest first.
    pub owner_runs: BTreeSet<(Owner, u64)>,
    pub next_seq: u64,
}

/// What one call produced: its outcome and its events.
pub(crate) struct Step {
    pub outcome: Outcome,
    pub events: Vec<Event>,
    pub pid: Option<u32>,
}

impl Step {
    fn new(pid: Option<u32>) -> Self {
        Step {
            outcome: Outcome::Ok,
            events: Vec::new(),
            pid,
        }
    }
    pub(crate) fn ev(&mut self, e: WinEvent) {
        self.events.push(Event {
            pid: self.pid,
            kind: EventKind::Win(e),
        });
    }
    /// Fail with `error`, saying which rule.
    pub(crate) fn refuse(&mut self, error: Win32Error, rule: &'static str, source: &'static str) {
        self.ev(WinEvent::Refused {
            error,
            rule,
            source,
        });
        self.outcome = Outcome::Win32(error);
    }
}

impl WindowsMachine {
    pub fn new(cfg: WindowsConfig) -> Self {
        let host = System::host(&cfg);
        WindowsMachine {
            cfg,
            systems: vec![host],
            procs: BTreeMap::new(),
            by_name: BTreeMap::new(),
            next_pid: 4,
            sections: BTreeMap::new(),
            jobs: BTreeMap::new(),
            containers: BTreeMap::new(),
            owner_runs: BTreeSet::new(),
            next_seq: 0,
        }
    }

    /// The running process of this scenario name, or the scenario error.
    pub(crate) fn running(&self, name: &str) -> Result<u32, OpError> {
        let pid = *self
            .by_name
            .get(name)
            .ok_or_else(|| OpError::NoSuchProcess { name: name.into() })?;
        let p = &self.procs[&pid];
        if p.state != ProcState::Running {
            return Err(OpError::ProcessEnded {
                name: name.into(),
                pid,
                state: p.state,
            });
        }
        Ok(pid)
    }

    /// An address argument as a number (a named region's base plus the offset).
    pub(crate) fn resolve(&self, pid: u32, a: &WinAddr) -> Result<Option<u64>, OpError> {
        match a {
            WinAddr::Null => Ok(None),
            WinAddr::At(x) => Ok(Some(*x)),
            WinAddr::In { region, offset } => {
                let p = &self.procs[&pid];
                let base =
                    p.space
                        .names
                        .get(region)
                        .copied()
                        .ok_or_else(|| OpError::NoSuchMapping {
                            proc: p.name.clone(),
                            mapping: region.clone(),
                        })?;
                Ok(Some(base.wrapping_add(*offset)))
            }
        }
    }

    pub fn apply(&mut self, op: &WinOp) -> Result<(Outcome, Vec<Event>), OpError> {
        let pid = match op {
            WinOp::Spawn { .. } => None,
            _ => match op.proc() {
                Some(p) => Some(self.running(p)?),
                None => None,
            },
        };
        let mut st = Step::new(pid);
        match op {
            WinOp::Spawn { name, container } => self.spawn(name, container.as_deref(), &mut st)?,
            WinOp::Exit { .. } => {
                let pid = pid.expect("a process op has a pid");
                self.exit(pid, ProcState::Exited, &mut st);
            }
            WinOp::VirtualAlloc {
                name,
                address,
                size,
                allocation_type,
                protect,
                ..
            } => {
                let pid = pid.expect("a process op has a pid");
                let at = self.resolve(pid, address)?;
                if let Some(n) = name {
                    if self.procs[&pid].space.names.contains_key(n) {
                        return Err(OpError::MappingExists {
                            proc: self.procs[&pid].name.clone(),
                            mapping: n.clone(),
                        });
                    }
                }
                self.virtual_alloc(
                    pid,
                    name.as_deref(),
                    at,
                    *size,
                    *allocation_type,
                    *protect,
                    &mut st,
                );
            }
            WinOp::VirtualFree {
                address,
                size,
                free_type,
                ..
            } => {
                let pid = pid.expect("a process op has a pid");
                let at = self.resolve(pid, address)?.unwrap_or(0);
                self.virtual_free(pid, at, *size, *free_type, &mut st);
            }
            WinOp::Touch {
                address,
                size,
                write,
                ..
            } => {
                let pid = pid.expect("a process op has a pid");
                let at = self.resolve(pid, address)?.unwrap_or(0);
                self.touch(pid, at, *size, *write, &mut st);
            }
            WinOp::CreateFileMapping {
                section,
                size,
                protect,
                attributes,
                ..
            } => {
                let pid = pid.expect("a process op has a pid");
                self.create_section(pid, section, *size, *protect, *attributes, &mut st);
            }
            WinOp::MapViewOfFile {
                name,
                section,
                desired_access,
                offset,
                size,
                ..
            } => {
                let pid = pid.expect("a process op has a pid");
                if !self.sections.contains_key(section) {
                    return Err(OpError::NotModelled {
                        what: format!("no section named `{section}` (create it first)"),
                    });
                }
                if self.procs[&pid].space.names.contains_key(name) {
                    return Err(OpError::MappingExists {
                        proc: self.procs[&pid].name.clone(),
                        mapping: name.clone(),
                    });
                }
                self.map_view(pid, name, section, *desired_access, *offset, *size, &mut st);
            }
            WinOp::UnmapViewOfFile { address, .. } => {
                let pid = pid.expect("a process op has a pid");
                let at = self.resolve(pid, address)?.unwrap_or(0);
                self.unmap_view(pid, at, &mut st);
            }
            WinOp::CreateJobObject { job } => self.create_job(job, &mut st),
            WinOp::SetJobLimits {
                job,
                limit_flags,
                process_memory_limit,
                job_memory_limit,
                min_working_set,
                max_working_set,
            } => {
                self.job_exists(job)?;
                self.set_job_limits(
                    job,
                    *limit_flags,
                    *process_memory_limit,
                    *job_memory_limit,
                    *min_working_set,
                    *max_working_set,
                    &mut st,
                );
            }
            WinOp::AssignProcessToJobObject { job, .. } => {
                self.job_exists(job)?;
                let pid = pid.expect("a process op has a pid");
                self.assign(job, pid, &mut st);
            }
            WinOp::CreateContainer {
                name,
                isolation,
                memory_bytes,
                base_bytes,
                pagefile_bytes,
            } => self.create_container(
                name,
                *isolation,
                *memory_bytes,
                *base_bytes,
                *pagefile_bytes,
                &mut st,
            ),
        }
        // Debug builds check every invariant after every step (tests, goldens, sweeps).
        #[cfg(debug_assertions)]
        if let Err(e) = self.check_invariants() {
            panic!("Windows model invariant broken after {op:?}: {e}");
        }
        Ok((st.outcome, st.events))
    }

    fn spawn(&mut self, name: &str, container: Option<&str>, st: &mut Step) -> Result<(), OpError> {
        if self
            .by_name
            .get(name)
            .is_some_and(|p| self.procs[p].state == ProcState::Running)
        {
            return Err(OpError::NameInUse { name: name.into() });
        }
        let (system, job) = match container {
            None => (0, None),
            Some(c) => {
                let k = self.containers.get(c).ok_or_else(|| OpError::NotModelled {
                    what: format!("no container named `{c}` (create it first)"),
                })?;
                (k.system, Some(k.job.clone()))
            }
        };
        let pid = self.next_pid;
        self.next_pid += 4;
        st.pid = Some(pid);
        let p = WinProcess {
            pid,
            name: name.into(),
            state: ProcState::Running,
            system,
            job: None,
            space: AddressSpace::new(self.cfg.va_bytes),
            private_pages: 0,
            peak_private_pages: 0,
            peak_ws_pages: 0,
            page_faults: 0,
        };
        self.procs.insert(pid, p);
        self.by_name.insert(name.into(), pid);
        st.ev(WinEvent::ProcessCreated {
            name: name.into(),
            system: self.systems[system].label.clone(),
        });
        if let Some(j) = job {
            self.assign(&j, pid, st);
        }
        Ok(())
    }

    /// The process ends: every view unmapped, every region released, its faulted runs
    /// forgotten, its jobs no longer count it.
    pub(crate) fn exit(&mut self, pid: u32, how: ProcState, st: &mut Step) {
        let before = self.systems[self.procs[&pid].system].charge;
        let bases: Vec<(u64, bool)> = self.procs[&pid]
            .space
            .regions
            .iter()
            .map(|(b, r)| (*b, r.view.is_some()))
            .collect();
        let n = bases.len() as u64;
        for (base, view) in bases {
            if view {
                self.drop_view(pid, base);
            } else {
                self.drop_region(pid, base);
            }
        }
        let runs: Vec<(Owner, u64)> = self
            .owner_runs
            .range((Owner::Proc(pid), 0)..=(Owner::Proc(pid), u64::MAX))
            .cloned()
            .collect();
        for (o, seq) in runs {
            self.owner_runs.remove(&(o, seq));
            let sys = self.procs[&pid].system;
            self.systems[sys].fifo.remove(&seq);
        }
        if let Some(j) = self.procs[&pid].job.clone() {
            if let Some(job) = self.jobs.get_mut(&j) {
                job.procs.remove(&pid);
            }
        }
        let p = self.procs.get_mut(&pid).expect("the process exists");
        assert_eq!(p.private_pages, 0, "an exited process has no PrivateUsage");
        p.state = how;
        let after = self.systems[p.system].charge;
        st.ev(WinEvent::ProcessExited {
            released_regions: n,
            uncharged: before - after,
        });
    }

    /// Add `delta` pages to a process's PrivateUsage (negative: remove), with its jobs' totals
    /// and every peak.
    pub(crate) fn private_delta(&mut self, pid: u32, add: u64, sub: u64) {
        let p = self.procs.get_mut(&pid).expect("the process exists");
        assert!(
            p.private_pages + add >= sub,
            "PrivateUsage cannot go below zero"
        );
        p.private_pages = p.private_pages + add - sub;
        p.peak_private_pages = p.peak_private_pages.max(p.private_pages);
        let usage = p.private_pages;
        let mut j = p.job.clone();
        while let Some(name) = j {
            let job = self.jobs.get_mut(&name).expect("a process's job exists");
            assert!(
                job.usage_pages + add >= sub,
                "a job's usage cannot go below zero"
            );
            job.usage_pages = job.usage_pages + add - sub;
            job.peak_job_pages = job.peak_job_pages.max(job.usage_pages);
            job.peak_process_pages = job.peak_process_pages.max(usage);
            j = job.parent.clone();
        }
    }

    /// The jobs a process is in, innermost first.
    pub fn job_chain(&self, pid: u32) -> Vec<&job::Job> {
        let mut out = Vec::new();
        let mut j = self.procs[&pid].job.as_deref();
        while let Some(name) = j {
            let job = &self.jobs[name];
            out.push(job);
            j = job.parent.as_deref();
        }
        out
    }

    // ---- the seam's answers ----

    pub fn process_info(&self, pid: u32) -> Option<ProcInfo<'_>> {
        self.procs.get(&pid).map(|p| ProcInfo {
            pid,
            name: &p.name,
            state: p.state,
            parent: None,
        })
    }

    pub fn process_by_name(&self, name: &str) -> Option<ProcInfo<'_>> {
        self.by_name.get(name).and_then(|&p| self.process_info(p))
    }

    pub fn process_infos(&self) -> impl Iterator<Item = ProcInfo<'_>> + '_ {
        self.procs.keys().filter_map(|&p| self.process_info(p))
    }

    /// A named region of a running process: `(base, size)` in bytes.
    pub fn region_range(&self, proc: &str, name: &str) -> Option<(u64, u64)> {
        let p = self.procs.get(self.by_name.get(proc)?)?;
        if p.state != ProcState::Running {
            return None;
        }
        let base = *p.space.names.get(name)?;
        p.space.regions.get(&base).map(|r| (base, r.size))
    }

    pub fn region_ranges(&self, proc: &str) -> Vec<(String, u64, u64)> {
        let Some(p) = self.by_name.get(proc).and_then(|x| self.procs.get(x)) else {
            return Vec::new();
        };
        if p.state != ProcState::Running {
            return Vec::new();
        }
        p.space
            .names
            .iter()
            .filter_map(|(n, b)| p.space.regions.get(b).map(|r| (n.clone(), *b, r.size)))
            .collect()
    }

    pub fn region_names_by_pid(&self, pid: u32) -> Vec<(String, u64, u64)> {
        let Some(p) = self.procs.get(&pid) else {
            return Vec::new();
        };
        let mut v: Vec<(String, u64, u64)> = p
            .space
            .names
            .iter()
            .filter_map(|(n, b)| p.space.regions.get(b).map(|r| (n.clone(), *b, *b + r.size)))
            .collect();
        v.sort_by_key(|(_, s, _)| *s);
        v
    }
}
