//! What the Windows APIs report (model-spec W4, W5), field by field as the structures name them
//! (docs/windows.md): GlobalMemoryStatusEx (MEMORYSTATUSEX), GetPerformanceInfo
//! (PERFORMANCE_INFORMATION, in pages), GetProcessMemoryInfo (PROCESS_MEMORY_COUNTERS_EX),
//! VirtualQuery (MEMORY_BASIC_INFORMATION), QueryInformationJobObject
//! (JobObjectExtendedLimitInformation). The job's current usage is not among them: Windows does
//! not expose it (the seed's complaint), so no view prints it.

use super::op::*;
use super::query::CommitBound;
use super::section::SPage;
use super::space::{AddressSpace, Page, MIN_ADDRESS};
use super::WindowsMachine;
use crate::units::PAGE_SIZE;

/// One structure as (field, value) pairs, in declaration order.
pub type Fields = Vec<(&'static str, u64)>;

pub fn text(title: &str, fields: &Fields, hex: &[&str]) -> String {
    let mut s = format!("{title}\n");
    for (k, v) in fields {
        if hex.contains(k) {
            s.push_str(&format!("  {k:<28} {v:#x}\n"));
        } else {
            s.push_str(&format!("  {k:<28} {v}\n"));
        }
    }
    s
}

impl WindowsMachine {
    /// The commit limit that applies to a process (W5, W6): the smallest ProcessMemoryLimit or
    /// JobMemoryLimit of its jobs, in bytes.
    pub fn process_commit_limit_bytes(&self, pid: u32) -> Option<u64> {
        self.job_chain(pid)
            .iter()
            .flat_map(|j| {
                let p = (j.limit_flags & JOB_OBJECT_LIMIT_PROCESS_MEMORY != 0)
                    .then_some(j.process_memory_limit);
                let t = (j.limit_flags & JOB_OBJECT_LIMIT_JOB_MEMORY != 0)
                    .then_some(j.job_memory_limit);
                [p, t]
            })
            .flatten()
            .min()
    }

    /// What process `pid` can really still commit, in pages, and what binds it: the least of
    /// its system's room (the limit with the page file at its maximum, less the charge: a
    /// commit past the current limit grows the file, W3), and for every job from the innermost
    /// out its JobMemoryLimit less the job's usage and its ProcessMemoryLimit less the
    /// process's PrivateUsage (W6), exactly the checks a commit meets (`job_block`,
    /// `System::try_charge`). No API reports it: `ullAvailPageFile` weighs the smallest limit
    /// against the process's own PrivateUsage only, so it overstates this when other processes
    /// share the job, and it ignores page-file growth (docs/windows.md, "What a process can
    /// really still commit").
    pub fn commit_room(&self, pid: u32) -> (u64, CommitBound) {
        let p = &self.procs[&pid];
        let sys = &self.systems[p.system];
        let mut best = (sys.max_limit() - sys.charge, CommitBound::System);
        // A limit set below the usage already leaves no room (SetInformationJobObject does
        // not check the usage): 0, not an underflow.
        let left = |limit_bytes: u64, used: u64| (limit_bytes / PAGE_SIZE).max(used) - used;
        for j in self.job_chain(pid) {
            if j.limit_flags & JOB_OBJECT_LIMIT_PROCESS_MEMORY != 0 {
                let r = left(j.process_memory_limit, p.private_pages);
                if r < best.0 {
                    best = (r, CommitBound::ProcessLimit(j.name.clone()));
                }
            }
            if j.limit_flags & JOB_OBJECT_LIMIT_JOB_MEMORY != 0 {
                let r = left(j.job_memory_limit, j.usage_pages);
                if r < best.0 {
                    best = (r, CommitBound::JobLimit(j.name.clone()));
                }
            }
        }
        best
    }

    /// GlobalMemoryStatusEx as process `pid` calls it (None: a process in no job on the host).
    pub fn memory_status(&self, pid: Option<u32>) -> Fields {
        let sys = &self.systems[pid.map_or(0, |p| self.procs[&p].system)];
        let total = sys.ram_pages * PAGE_SIZE;
        let avail = sys.free_ram() * PAGE_SIZE;
        let sys_limit = sys.limit() * PAGE_SIZE;
        let sys_avail = (sys.limit() - sys.charge.min(sys.limit())) * PAGE_SIZE;
        let (total_pf, avail_pf) = match pid.and_then(|p| self.process_commit_limit_bytes(p)) {
            Some(l) => {
                let used = self.procs[&pid.expect("with a limit")].private_pages * PAGE_SIZE;
                // A limit lowered below the usage reports 0 left, as the call would.
                (sys_limit.min(l), sys_avail.min(l.saturating_sub(used)))
            }
            None => (sys_limit, sys_avail),
        };
        let space = pid.map(|p| &self.procs[&p].space);
        let total_va = space.map_or(
            self.cfg.va_bytes - 2 * super::space::GRANULARITY,
            AddressSpace::total_bytes,
        );
        let avail_va = total_va - space.map_or(0, |s| s.used_bytes);
        vec![
            ("dwLength", 64),
            ("dwMemoryLoad", (total - avail) * 100 / total.max(1)),
            ("ullTotalPhys", total),
            ("ullAvailPhys", avail),
            ("ullTotalPageFile", total_pf),
            ("ullAvailPageFile", avail_pf),
            ("ullTotalVirtual", total_va),
            ("ullAvailVirtual", avail_va),
            ("ullAvailExtendedVirtual", 0),
        ]
    }

    /// GetPerformanceInfo, in pages, of the system process `pid` runs on (None: the host).
    pub fn performance_info(&self, pid: Option<u32>) -> Fields {
        let si = pid.map_or(0, |p| self.procs[&p].system);
        let sys = &self.systems[si];
        let procs = self
            .procs
            .values()
            .filter(|p| p.system == si && p.state == crate::machine::ProcState::Running)
            .count() as u64;
        vec![
            ("cb", 104),
            ("CommitTotal", sys.charge),
            ("CommitLimit", sys.limit()),
            ("CommitPeak", sys.peak),
            ("PhysicalTotal", sys.ram_pages),
            ("PhysicalAvailable", sys.free_ram()),
            ("SystemCache", 0),
            ("KernelTotal", 0),
            ("KernelPaged", 0),
            ("KernelNonpaged", 0),
            ("PageSize", PAGE_SIZE),
            ("HandleCount", 0),
            ("ProcessCount", procs),
            ("ThreadCount", procs),
        ]
    }

    /// GetProcessMemoryInfo as PROCESS_MEMORY_COUNTERS_EX (bytes).
    pub fn process_memory_counters(&self, pid: u32) -> Fields {
        let p = &self.procs[&pid];
        let private = p.private_pages * PAGE_SIZE;
        vec![
            ("cb", 80),
            ("PageFaultCount", p.page_faults),
            ("PeakWorkingSetSize", p.peak_ws_pages * PAGE_SIZE),
            ("WorkingSetSize", p.ws_pages() * PAGE_SIZE),
            ("QuotaPeakPagedPoolUsage", 0),
            ("QuotaPagedPoolUsage", 0),
            ("QuotaPeakNonPagedPoolUsage", 0),
            ("QuotaNonPagedPoolUsage", 0),
            ("PagefileUsage", private),
            ("PeakPagefileUsage", p.peak_private_pages * PAGE_SIZE),
            ("PrivateUsage", private),
        ]
    }

    /// QueryInformationJobObject(JobObjectExtendedLimitInformation): the fields the model keeps.
    pub fn job_info(&self, job: &str) -> Option<Fields> {
        let j = self.jobs.get(job)?;
        Some(vec![
            ("LimitFlags", j.limit_flags as u64),
            ("MinimumWorkingSetSize", j.min_working_set),
            ("MaximumWorkingSetSize", j.max_working_set),
            ("ProcessMemoryLimit", j.process_memory_limit),
            ("JobMemoryLimit", j.job_memory_limit),
            ("PeakProcessMemoryUsed", j.peak_process_pages * PAGE_SIZE),
            ("PeakJobMemoryUsed", j.peak_job_pages * PAGE_SIZE),
        ])
    }

    /// The state and protection of one page of an allocation, as VirtualQuery reports it.
    fn page_attrs(&self, pid: u32, base: u64, page: u64, v: Page) -> (u32, u32) {
        let r = &self.procs[&pid].space.regions[&base];
        match v {
            Page::Reserved => (MEM_RESERVE, 0),
            Page::Committed { protect, .. } => (MEM_COMMIT, protect),
            Page::Copied { .. } => (MEM_COMMIT, PAGE_READWRITE),
            Page::Mapped { .. } => {
                let view = r.view.as_ref().expect("a view");
                let sp = (view.offset + page * PAGE_SIZE - base) / PAGE_SIZE;
                match self.sections[&view.section].pages.get(sp) {
                    Some((_, _, SPage::Committed(_))) => (MEM_COMMIT, r.protect),
                    _ => (MEM_RESERVE, 0),
                }
            }
        }
    }

    /// VirtualQuery(address): the run of pages from `address`'s page with the same attributes.
    pub fn virtual_query(&self, pid: u32, address: u64) -> Fields {
        let space = &self.procs[&pid].space;
        let at = address / PAGE_SIZE * PAGE_SIZE;
        let Some((base, r)) = space.region_at(at) else {
            // A free range: up to the next allocation.
            let end = space
                .regions
                .range(at..)
                .next()
                .map_or(space.top, |(&b, _)| b);
            let start = at.max(MIN_ADDRESS.min(at));
            return mbi(
                start,
                0,
                0,
                end.saturating_sub(start),
                MEM_FREE,
                PAGE_NOACCESS,
                0,
            );
        };
        let end = base + r.size;
        let first = self.page_attrs(
            pid,
            base,
            at / PAGE_SIZE,
            space.pages.get(at / PAGE_SIZE).expect("in a region").2,
        );
        let mut stop = at / PAGE_SIZE;
        // Walk forward while the attributes stay the same. Views ask the section per run.
        while stop < end / PAGE_SIZE {
            let (_, left, v) = space.pages.get(stop).expect("in a region");
            let left = left.min(end / PAGE_SIZE - stop);
            let attrs = self.page_attrs(pid, base, stop, v);
            if attrs != first {
                break;
            }
            let step = match v {
                Page::Mapped { .. } => {
                    let view = r.view.as_ref().expect("a view");
                    let sp = (view.offset + stop * PAGE_SIZE - base) / PAGE_SIZE;
                    let (_, sl, _) = self.sections[&view.section]
                        .pages
                        .get(sp)
                        .expect("a view's page is in its section");
                    left.min(sl)
                }
                _ => left,
            };
            stop += step;
        }
        let ty = if r.view.is_some() {
            MEM_MAPPED
        } else {
            MEM_PRIVATE
        };
        mbi(
            at,
            base,
            r.protect,
            stop * PAGE_SIZE - at,
            first.0,
            first.1,
            ty,
        )
    }

    /// Every region VirtualQuery walks from the lowest address to the top, free ones included.
    pub fn virtual_query_all(&self, pid: u32) -> Vec<Fields> {
        let space = &self.procs[&pid].space;
        let mut out = Vec::new();
        let mut at = MIN_ADDRESS;
        while at < space.top {
            let f = self.virtual_query(pid, at);
            let size = f
                .iter()
                .find(|(k, _)| *k == "RegionSize")
                .map_or(0, |x| x.1);
            if size == 0 {
                break;
            }
            out.push(f);
            at += size;
        }
        out
    }
}

fn mbi(base: u64, alloc: u64, aprot: u32, size: u64, state: u32, prot: u32, ty: u32) -> Fields {
    vec![
        ("BaseAddress", base),
        ("AllocationBase", alloc),
        ("AllocationProtect", aprot as u64),
        ("RegionSize", size),
        ("State", state as u64),
        ("Protect", prot as u64),
        ("Type", ty as u64),
    ]
}

/// The fields of MEMORY_BASIC_INFORMATION printed in hex.
pub const MBI_HEX: &[&str] = &[
    "BaseAddress",
    "AllocationBase",
    "AllocationProtect",
    "RegionSize",
    "State",
    "Protect",
    "Type",
];
