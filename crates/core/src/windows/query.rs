//! The numbers `expect` reads from a Windows machine ([`WinQuery`]: any field of the reported
//! structures), the text views the CLI shows, and the invariant check run after every step in
//! tests: the commit charge is exactly private commit + sections + copy-on-write views + base,
//! RAM and page-file use add up, no page is both free and committed, peaks ≥ current.

use super::report::{text, Fields, MBI_HEX};
use super::space::PageTally;
use super::WindowsMachine;
use crate::machine::ProcState;
use crate::query::{QueryError, Value};
use crate::units::PAGE_SIZE;
use serde::{Deserialize, Serialize};

/// What binds a process's commit room (`commit_room`, docs/windows.md "What a process can really still commit").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CommitBound {
    /// The system's commit limit, with the page file at its maximum.
    System,
    /// This job's ProcessMemoryLimit less the process's PrivateUsage.
    ProcessLimit(String),
    /// This job's JobMemoryLimit less the usage of all its processes.
    JobLimit(String),
}

impl std::fmt::Display for CommitBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitBound::System => {
                write!(f, "the system's commit limit at the page file's maximum")
            }
            CommitBound::ProcessLimit(j) => {
                write!(f, "job `{j}`'s ProcessMemoryLimit less PrivateUsage")
            }
            CommitBound::JobLimit(j) => write!(
                f,
                "job `{j}`'s JobMemoryLimit less the job's usage (all its processes)"
            ),
        }
    }
}

/// A field of a reported structure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WinQuery {
    /// `[PROC.]GlobalMemoryStatusEx.FIELD`: as PROC calls it (else the host, outside any job).
    MemoryStatus { proc: Option<String>, field: String },
    /// `[PROC.]GetPerformanceInfo.FIELD` (pages): of PROC's system (else the host).
    PerformanceInfo { proc: Option<String>, field: String },
    /// `PROC.GetProcessMemoryInfo.FIELD` (PROCESS_MEMORY_COUNTERS_EX).
    ProcessMemory { proc: String, field: String },
    /// `PROC.VirtualQuery.REGION[OFFSET].FIELD` (MEMORY_BASIC_INFORMATION at that address).
    VirtualQuery {
        proc: String,
        region: String,
        offset: u64,
        field: String,
    },
    /// `job.JOB.FIELD` (JOBOBJECT_EXTENDED_LIMIT_INFORMATION).
    Job { job: String, field: String },
}

/// MEMORYSTATUSEX fields that are byte counts (the rest are numbers).
pub const MEMORY_STATUS_FIELDS: &[&str] = &[
    "dwLength",
    "dwMemoryLoad",
    "ullTotalPhys",
    "ullAvailPhys",
    "ullTotalPageFile",
    "ullAvailPageFile",
    "ullTotalVirtual",
    "ullAvailVirtual",
    "ullAvailExtendedVirtual",
];
pub const PERFORMANCE_FIELDS: &[&str] = &[
    "cb",
    "CommitTotal",
    "CommitLimit",
    "CommitPeak",
    "PhysicalTotal",
    "PhysicalAvailable",
    "SystemCache",
    "KernelTotal",
    "KernelPaged",
    "KernelNonpaged",
    "PageSize",
    "HandleCount",
    "ProcessCount",
    "ThreadCount",
];
pub const PROCESS_MEMORY_FIELDS: &[&str] = &[
    "cb",
    "PageFaultCount",
    "PeakWorkingSetSize",
    "WorkingSetSize",
    "QuotaPeakPagedPoolUsage",
    "QuotaPagedPoolUsage",
    "QuotaPeakNonPagedPoolUsage",
    "QuotaNonPagedPoolUsage",
    "PagefileUsage",
    "PeakPagefileUsage",
    "PrivateUsage",
];
pub const MBI_FIELDS: &[&str] = &[
    "BaseAddress",
    "AllocationBase",
    "AllocationProtect",
    "RegionSize",
    "State",
    "Protect",
    "Type",
];
pub const JOB_FIELDS: &[&str] = &[
    "LimitFlags",
    "MinimumWorkingSetSize",
    "MaximumWorkingSetSize",
    "ProcessMemoryLimit",
    "JobMemoryLimit",
    "PeakProcessMemoryUsed",
    "PeakJobMemoryUsed",
];

/// Whether a field is a byte count (compared with sizes) rather than a number.
pub fn is_bytes(structure: &str, field: &str) -> bool {
    match structure {
        "GlobalMemoryStatusEx" => field.starts_with("ull"),
        "GetPerformanceInfo" => false,
        "GetProcessMemoryInfo" => !matches!(field, "cb" | "PageFaultCount"),
        "VirtualQuery" => matches!(field, "BaseAddress" | "AllocationBase" | "RegionSize"),
        "job" => field != "LimitFlags",
        _ => false,
    }
}

fn pick(fields: &Fields, structure: &str, field: &str) -> Result<Value, QueryError> {
    let v = fields
        .iter()
        .find(|(k, _)| *k == field)
        .map(|x| x.1)
        .ok_or_else(|| QueryError::NoSuchField(format!("{structure}.{field}")))?;
    Ok(if is_bytes(structure, field) {
        Value::Bytes(v)
    } else {
        Value::Number(i64::try_from(v).unwrap_or(i64::MAX))
    })
}

impl WindowsMachine {
    fn live_pid(&self, proc: &str) -> Result<u32, QueryError> {
        let pid = *self
            .by_name
            .get(proc)
            .ok_or_else(|| QueryError::NoSuchProcess(proc.into()))?;
        if self.procs[&pid].state != ProcState::Running {
            return Err(QueryError::ProcessGone(proc.into()));
        }
        Ok(pid)
    }

    pub fn query(&self, q: &WinQuery) -> Result<Value, QueryError> {
        match q {
            WinQuery::MemoryStatus { proc, field } => {
                let pid = proc.as_deref().map(|p| self.live_pid(p)).transpose()?;
                pick(&self.memory_status(pid), "GlobalMemoryStatusEx", field)
            }
            WinQuery::PerformanceInfo { proc, field } => {
                let pid = proc.as_deref().map(|p| self.live_pid(p)).transpose()?;
                pick(&self.performance_info(pid), "GetPerformanceInfo", field)
            }
            WinQuery::ProcessMemory { proc, field } => {
                let pid = self.live_pid(proc)?;
                pick(
                    &self.process_memory_counters(pid),
                    "GetProcessMemoryInfo",
                    field,
                )
            }
            WinQuery::VirtualQuery {
                proc,
                region,
                offset,
                field,
            } => {
                let pid = self.live_pid(proc)?;
                let base = *self.procs[&pid].space.names.get(region).ok_or_else(|| {
                    QueryError::NoSuchMapping {
                        proc: proc.clone(),
                        mapping: region.clone(),
                    }
                })?;
                pick(
                    &self.virtual_query(pid, base.saturating_add(*offset)),
                    "VirtualQuery",
                    field,
                )
            }
            WinQuery::Job { job, field } => {
                let f = self
                    .job_info(job)
                    .ok_or_else(|| QueryError::NoSuchField(format!("job {job}")))?;
                pick(&f, "job", field)
            }
        }
    }

    /// A structure as text: `GlobalMemoryStatusEx`, `GetPerformanceInfo` (either optionally
    /// as process `pid` sees it), `GetProcessMemoryInfo`, `VirtualQuery` (need `pid`).
    pub fn view_text(&self, view: &str, pid: Option<u32>) -> Result<String, QueryError> {
        match view {
            "GlobalMemoryStatusEx" => {
                let f = self.memory_status(pid);
                let mut s = text("MEMORYSTATUSEX (GlobalMemoryStatusEx)", &f, &[]);
                if let Some(pid) = pid {
                    // The model's answer beside the API's (docs/windows.md, "What a process
                    // can really still commit").
                    let (room, bound) = self.commit_room(pid);
                    let avail = f
                        .iter()
                        .find(|(k, _)| *k == "ullAvailPageFile")
                        .map_or(0, |x| x.1);
                    let bytes = room * PAGE_SIZE;
                    s.push_str(&format!(
                        "  (not in the structure) the process can really still commit {bytes} bytes ({}): {bound}{}\n",
                        crate::units::human_pages(room),
                        if bytes < avail {
                            "; ullAvailPageFile overstates it"
                        } else {
                            ""
                        }
                    ));
                }
                Ok(s)
            }
            "GetPerformanceInfo" => Ok(text(
                "PERFORMANCE_INFORMATION (GetPerformanceInfo; counts in pages)",
                &self.performance_info(pid),
                &[],
            )),
            "GetProcessMemoryInfo" => {
                let pid = pid.ok_or_else(|| QueryError::NoSuchField("a process".into()))?;
                Ok(text(
                    "PROCESS_MEMORY_COUNTERS_EX (GetProcessMemoryInfo)",
                    &self.process_memory_counters(pid),
                    &[],
                ))
            }
            "VirtualQuery" => {
                let pid = pid.ok_or_else(|| QueryError::NoSuchField("a process".into()))?;
                let mut s = String::from(
                    "MEMORY_BASIC_INFORMATION (VirtualQuery), every region from the lowest address\n",
                );
                for f in self.virtual_query_all(pid) {
                    let base = f.first().map_or(0, |x| x.1);
                    s.push_str(&text(&format!("region at {base:#x}"), &f, MBI_HEX));
                }
                Ok(s)
            }
            other => Err(QueryError::NoSuchField(other.into())),
        }
    }

    /// QueryInformationJobObject(JobObjectExtendedLimitInformation) as text.
    pub fn job_text(&self, job: &str) -> Result<String, QueryError> {
        let f = self
            .job_info(job)
            .ok_or_else(|| QueryError::NoSuchField(format!("job {job}")))?;
        let mut s = text(
            &format!(
                "JOBOBJECT_EXTENDED_LIMIT_INFORMATION of job `{job}` (QueryInformationJobObject)"
            ),
            &f,
            &["LimitFlags"],
        );
        s.push_str(
            "  (the job's current commit is not reported: JobObjectMemoryUsageInformation is not a documented class)\n",
        );
        Ok(s)
    }

    pub fn check_invariants(&self) -> Result<(), String> {
        let mut charge = vec![0u64; self.systems.len()];
        let mut resident = vec![0u64; self.systems.len()];
        let mut paged = vec![0u64; self.systems.len()];
        for (i, s) in self.systems.iter().enumerate() {
            charge[i] += s.base;
            resident[i] += s.base;
        }
        for p in self.procs.values() {
            let t: PageTally = p.space.pages.recount();
            if t != *p.space.pages.tally() {
                return Err(format!(
                    "pid {}: page tally {:?} != recount {t:?}",
                    p.pid,
                    p.space.pages.tally()
                ));
            }
            p.space
                .check_gaps()
                .map_err(|e| format!("pid {}: {e}", p.pid))?;
            let cow: u64 = p
                .space
                .regions
                .values()
                .filter(|r| r.view.as_ref().is_some_and(|v| v.copy))
                .map(|r| r.size / PAGE_SIZE)
                .sum();
            if p.private_pages != t.committed + cow {
                return Err(format!(
                    "pid {}: PrivateUsage {} != committed private pages {} + copy-on-write views {cow}",
                    p.pid, p.private_pages, t.committed
                ));
            }
            if p.peak_private_pages < p.private_pages || p.peak_ws_pages < p.ws_pages() {
                return Err(format!("pid {}: a peak is below its current value", p.pid));
            }
            // Every page of an allocation has a state; no page outside one does.
            let in_regions: u64 = p.space.regions.values().map(|r| r.size / PAGE_SIZE).sum();
            let covered = p.space.pages.iter().map(|(_, l, _)| l).sum::<u64>();
            if in_regions != covered {
                return Err(format!(
                    "pid {}: {covered} pages have a state but allocations hold {in_regions}: a free page is committed or reserved",
                    p.pid
                ));
            }
            if p.state != ProcState::Running && (in_regions != 0 || p.private_pages != 0) {
                return Err(format!("pid {}: an ended process holds memory", p.pid));
            }
            charge[p.system] += p.private_pages;
            resident[p.system] += t.resident;
            paged[p.system] += t.paged;
        }
        for s in self.sections.values() {
            let committed: u64 = s
                .pages
                .iter()
                .filter(|(_, _, v)| matches!(v, super::section::SPage::Committed(_)))
                .map(|(_, l, _)| l)
                .sum();
            if s.charged != committed {
                return Err(format!(
                    "section `{}`: charged {} != committed pages {committed}",
                    s.name, s.charged
                ));
            }
            charge[s.system] += s.charged;
            for (_, l, v) in s.pages.iter() {
                match v {
                    super::section::SPage::Committed(super::space::Res::Resident(_)) => {
                        resident[s.system] += l
                    }
                    super::section::SPage::Committed(super::space::Res::PagedOut) => {
                        paged[s.system] += l
                    }
                    _ => {}
                }
            }
        }
        for (i, s) in self.systems.iter().enumerate() {
            if s.charge != charge[i] {
                return Err(format!(
                    "{}: commit charge {} != private commit + sections + views + base = {}",
                    s.label, s.charge, charge[i]
                ));
            }
            if s.resident != resident[i] || s.paged != paged[i] {
                return Err(format!(
                    "{}: resident {} / paged {} != the pages' {} / {}",
                    s.label, s.resident, s.paged, resident[i], paged[i]
                ));
            }
            if s.charge > s.limit() || s.resident > s.ram_pages || s.paged > s.pagefile_pages {
                return Err(format!(
                    "{}: charge {} / limit {}, resident {} / RAM {}, paged {} / page file {}",
                    s.label,
                    s.charge,
                    s.limit(),
                    s.resident,
                    s.ram_pages,
                    s.paged,
                    s.pagefile_pages
                ));
            }
            if s.peak < s.charge || s.pagefile_pages > s.pagefile_max_pages.max(s.pagefile_pages) {
                return Err(format!("{}: CommitPeak below CommitTotal", s.label));
            }
        }
        for j in self.jobs.values() {
            let direct: u64 = j.procs.iter().map(|p| self.procs[p].private_pages).sum();
            let children: u64 = self
                .jobs
                .values()
                .filter(|c| c.parent.as_deref() == Some(&j.name))
                .map(|c| c.usage_pages)
                .sum();
            if j.usage_pages != direct + children {
                return Err(format!(
                    "job `{}`: usage {} != its processes {direct} + child jobs {children}",
                    j.name, j.usage_pages
                ));
            }
            if j.peak_job_pages < j.usage_pages {
                return Err(format!(
                    "job `{}`: PeakJobMemoryUsed below its usage",
                    j.name
                ));
            }
            for p in &j.procs {
                if j.peak_process_pages < self.procs[p].private_pages {
                    return Err(format!(
                        "job `{}`: PeakProcessMemoryUsed below a process",
                        j.name
                    ));
                }
            }
        }
        Ok(())
    }
}

impl WindowsMachine {
    /// The plain-data picture of the machine (every system, the host first, and every process).
    pub fn snapshot(&self) -> crate::snapshot::Snapshot {
        use super::op::{JOB_OBJECT_LIMIT_JOB_MEMORY, JOB_OBJECT_LIMIT_PROCESS_MEMORY};
        use crate::snapshot::*;
        let s = &self.systems[0];
        Snapshot {
            processes: self
                .procs
                .values()
                .map(|p| ProcessSnapshot {
                    pid: p.pid,
                    name: p.name.clone(),
                    ppid: None,
                    state: p.state,
                    os: OsProcessSnapshot::Windows(WindowsProcessSnapshot {
                        private_usage_bytes: p.private_pages * PAGE_SIZE,
                        working_set_bytes: p.ws_pages() * PAGE_SIZE,
                        virtual_size_bytes: p.space.used_bytes,
                        regions: p
                            .space
                            .regions
                            .iter()
                            .map(|(b, r)| (*b, r.size, r.name.clone().unwrap_or_default()))
                            .collect(),
                    }),
                })
                .collect(),
            os: OsSnapshot::Windows(WindowsSnapshot {
                commit_total_pages: s.charge,
                commit_limit_pages: s.limit(),
                commit_peak_pages: s.peak,
                physical_total_pages: s.ram_pages,
                physical_available_pages: s.free_ram(),
                pagefile_pages: s.pagefile_pages,
                pagefile_max_pages: s.pagefile_max_pages,
                jobs: self
                    .jobs
                    .values()
                    .map(|j| {
                        let flag = |f: u32, v: u64| (j.limit_flags & f != 0).then_some(v);
                        JobSnapshot {
                            name: j.name.clone(),
                            parent: j.parent.clone(),
                            job_memory_limit_bytes: flag(
                                JOB_OBJECT_LIMIT_JOB_MEMORY,
                                j.job_memory_limit,
                            ),
                            process_memory_limit_bytes: flag(
                                JOB_OBJECT_LIMIT_PROCESS_MEMORY,
                                j.process_memory_limit,
                            ),
                            peak_job_memory_bytes: j.peak_job_pages * PAGE_SIZE,
                            peak_process_memory_bytes: j.peak_process_pages * PAGE_SIZE,
                            pids: j.procs.iter().copied().collect(),
                            container: self
                                .containers
                                .iter()
                                .find(|(_, c)| c.job == j.name)
                                .map(|(n, c)| (n.clone(), c.isolation.name().to_string())),
                        }
                    })
                    .collect(),
                systems: self
                    .systems
                    .iter()
                    .enumerate()
                    .map(|(i, s)| SystemSnapshot {
                        label: s.label.clone(),
                        container: self
                            .containers
                            .iter()
                            .find(|(_, c)| i > 0 && c.system == i)
                            .map(|(n, _)| n.clone()),
                        commit_total_pages: s.charge,
                        commit_limit_pages: s.limit(),
                        commit_max_limit_pages: s.max_limit(),
                        commit_peak_pages: s.peak,
                        physical_total_pages: s.ram_pages,
                        physical_available_pages: s.free_ram(),
                        pagefile_pages: s.pagefile_pages,
                        pagefile_max_pages: s.pagefile_max_pages,
                        base_pages: s.base,
                    })
                    .collect(),
                commit_room: self
                    .procs
                    .values()
                    .filter(|p| p.state == ProcState::Running)
                    .map(|p| {
                        let (room, bound) = self.commit_room(p.pid);
                        CommitRoomSnapshot {
                            pid: p.pid,
                            room_bytes: room * PAGE_SIZE,
                            bound: bound.to_string(),
                            avail_page_file_bytes: self
                                .memory_status(Some(p.pid))
                                .iter()
                                .find(|(k, _)| *k == "ullAvailPageFile")
                                .map_or(0, |x| x.1),
                        }
                    })
                    .collect(),
            }),
        }
    }

    /// Every page of the allocations as the page view's Windows states (model-spec W2–W4, W7):
    /// reserved, committed (never touched), in the working set, in the page file; a view's
    /// pages are a mapped view.
    pub fn page_runs(
        &self,
        pid: u32,
        start: u64,
        end: u64,
    ) -> Vec<(u64, u64, crate::snapshot::PageState)> {
        use super::space::{Page, Res};
        use crate::snapshot::PageState;
        let Some(p) = self.procs.get(&pid) else {
            return Vec::new();
        };
        p.space
            .pages
            .range(start / PAGE_SIZE, end.div_ceil(PAGE_SIZE))
            .map(|(s, l, v)| {
                let st = match v {
                    Page::Reserved => PageState::Reserved,
                    Page::Committed { res, .. } | Page::Copied { res } => match res {
                        Res::Untouched => PageState::Committed,
                        Res::Resident(_) => PageState::WorkingSet,
                        Res::PagedOut => PageState::PageFile,
                    },
                    Page::Mapped { .. } => PageState::View,
                };
                (s, l, st)
            })
            .collect()
    }
}
