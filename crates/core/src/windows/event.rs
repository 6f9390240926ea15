//! The Windows model's decisions as data ([`WinEvent`], carried by `EventKind::Win`): each with
//! a reason code, its numbers, the sentence, and the Learn page or model-spec W section it
//! follows. Sizes are pages unless a field says bytes.

use super::op::Win32Error;
use crate::units::human_pages;
use serde::Serialize;
use std::fmt;

/// Why a commit charge was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum CommitBlock {
    /// The system commit charge would pass the commit limit even after page-file growth.
    System { limit: u64, max_limit: u64 },
    /// A job's JOB_OBJECT_LIMIT_PROCESS_MEMORY: the process's PrivateUsage would pass it.
    ProcessLimit {
        job: String,
        usage: u64,
        limit_bytes: u64,
    },
    /// A job's JOB_OBJECT_LIMIT_JOB_MEMORY: the job's committed total would pass it.
    JobLimit {
        job: String,
        usage: u64,
        limit_bytes: u64,
    },
}

/// What a touch did to a run of pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum WinFault {
    /// First touch of a committed page: a zero-filled page joins the working set.
    DemandZero,
    /// A page in the page file is read back (a hard fault).
    FromPagefile,
    /// A resident section page joins this process's working set (a soft fault).
    SharedSoft,
    /// A write to a copy-on-write view's page: the process gets a private copy.
    CopyOnWrite,
}

/// Why pages left a working set for the page file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TrimWhy {
    /// RAM is short: the oldest faulted pages of the system go first.
    RamShort,
    /// The process is above its job's JOB_OBJECT_LIMIT_WORKINGSET maximum.
    WorkingSetMax,
}

/// Why the page file grew.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum GrowWhy {
    /// A commit would pass the limit: the file grows to cover it.
    Demand,
    /// The charge passed 90 % of the limit.
    Threshold,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum WinEvent {
    ProcessCreated {
        name: String,
        system: String,
    },
    ProcessExited {
        released_regions: u64,
        uncharged: u64,
    },
    /// The process died of an unhandled exception.
    ProcessCrashed {
        address: u64,
    },
    Reserved {
        base: u64,
        size_bytes: u64,
    },
    /// MEM_RESERVE|MEM_COMMIT whose commit failed: the reservation is undone.
    ReserveUndone {
        base: u64,
    },
    /// A call refused before it changed anything: the rule it broke.
    Refused {
        error: Win32Error,
        rule: &'static str,
        source: &'static str,
    },
    Committed {
        base: u64,
        new_pages: u64,
        already: u64,
        charge_before: u64,
        limit: u64,
        shared: bool,
    },
    CommitRefused {
        pages: u64,
        charge_before: u64,
        block: CommitBlock,
    },
    PagefileGrown {
        from: u64,
        to: u64,
        why: GrowWhy,
    },
    Decommitted {
        base: u64,
        pages: u64,
        uncharged: u64,
    },
    Released {
        base: u64,
        size_bytes: u64,
        uncharged: u64,
    },
    Reset {
        pages: u64,
    },
    Fault {
        pages: u64,
        kind: WinFault,
    },
    Trimmed {
        pages: u64,
        why: TrimWhy,
    },
    /// A process above its job's MaximumWorkingSetSize keeps `pages` in its working set: the
    /// page file has no room for them (`room` pages were free), so they cannot be paged out.
    WorkingSetKept {
        pages: u64,
        room: u64,
    },
    AccessViolation {
        address: u64,
    },
    SectionCreated {
        name: String,
        pages: u64,
        charged: u64,
    },
    ViewMapped {
        base: u64,
        pages: u64,
        charged: u64,
    },
    ViewUnmapped {
        base: u64,
        uncharged: u64,
    },
    JobCreated {
        name: String,
    },
    /// CreateFileMapping or CreateJobObject under a name that exists: the call succeeds with a
    /// handle to the existing object, GetLastError ERROR_ALREADY_EXISTS (183).
    OpenedExisting {
        what: &'static str,
        name: String,
        source: &'static str,
    },
    JobLimitsSet {
        name: String,
        limit_flags: u32,
    },
    JobAssigned {
        job: String,
        nested_under: Option<String>,
    },
    ContainerCreated {
        name: String,
        hyperv: bool,
    },
}

const VA: &str = "Learn: VirtualAlloc function; model-spec W1, W2";
const VF: &str = "Learn: VirtualFree function; model-spec W2";
const LIMIT: &str = "Learn: PERFORMANCE_INFORMATION (CommitLimit); Windows Internals 6th ed. ch. 10 \"Commit Charge and the System Commit Limit\"; model-spec W3";
const GROW: &str = "Learn: How to determine the appropriate page file size for 64-bit versions of Windows; model-spec W3";
const JOB: &str = "Learn: JOBOBJECT_EXTENDED_LIMIT_INFORMATION; model-spec W6";
const WS: &str = "Learn: Working Set; model-spec W2, W4";

impl WinEvent {
    pub fn reason(&self) -> &'static str {
        match self {
            WinEvent::ProcessCreated { .. } => "win.process.created",
            WinEvent::ProcessExited { .. } => "win.process.exited",
            WinEvent::ProcessCrashed { .. } => "win.process.crashed",
            WinEvent::Reserved { .. } => "win.reserve",
            WinEvent::ReserveUndone { .. } => "win.reserve.undone",
            WinEvent::Refused { .. } => "win.refused",
            WinEvent::Committed { .. } => "win.commit.granted",
            WinEvent::CommitRefused {
                block: CommitBlock::System { .. },
                ..
            } => "win.commit.over_limit",
            WinEvent::CommitRefused {
                block: CommitBlock::ProcessLimit { .. },
                ..
            } => "win.commit.process_limit",
            WinEvent::CommitRefused {
                block: CommitBlock::JobLimit { .. },
                ..
            } => "win.commit.job_limit",
            WinEvent::PagefileGrown { .. } => "win.pagefile.grown",
            WinEvent::Decommitted { .. } => "win.decommit",
            WinEvent::Released { .. } => "win.release",
            WinEvent::Reset { .. } => "win.reset",
            WinEvent::Fault { kind, .. } => match kind {
                WinFault::DemandZero => "win.fault.demand_zero",
                WinFault::FromPagefile => "win.fault.pagefile",
                WinFault::SharedSoft => "win.fault.shared",
                WinFault::CopyOnWrite => "win.fault.copy_on_write",
            },
            WinEvent::Trimmed { .. } => "win.ws.trimmed",
            WinEvent::WorkingSetKept { .. } => "win.ws.max_not_enforced",
            WinEvent::AccessViolation { .. } => "win.access_violation",
            WinEvent::SectionCreated { .. } => "win.section.created",
            WinEvent::ViewMapped { .. } => "win.view.mapped",
            WinEvent::ViewUnmapped { .. } => "win.view.unmapped",
            WinEvent::JobCreated { .. } => "win.job.created",
            WinEvent::OpenedExisting { .. } => "win.opened.existing",
            WinEvent::JobLimitsSet { .. } => "win.job.limits",
            WinEvent::JobAssigned { .. } => "win.job.assigned",
            WinEvent::ContainerCreated { .. } => "win.container.created",
        }
    }

    pub fn source(&self) -> &'static str {
        match self {
            WinEvent::ProcessCreated { .. } => "Learn: CreateProcess function",
            WinEvent::ProcessExited { .. } => "Learn: ExitProcess function; Terminating a Process",
            WinEvent::ProcessCrashed { .. } | WinEvent::AccessViolation { .. } => {
                "Learn: Page State (\"an access violation\" on reserved or free pages); model-spec W2"
            }
            WinEvent::Reserved { .. } | WinEvent::ReserveUndone { .. } => VA,
            WinEvent::Refused { source, .. } | WinEvent::OpenedExisting { source, .. } => source,
            WinEvent::Committed { .. } => LIMIT,
            WinEvent::CommitRefused {
                block: CommitBlock::System { .. },
                ..
            } => LIMIT,
            WinEvent::CommitRefused { .. } => JOB,
            WinEvent::PagefileGrown { .. } => GROW,
            WinEvent::Decommitted { .. } | WinEvent::Released { .. } => VF,
            WinEvent::Reset { .. } => VA,
            WinEvent::Fault { .. } | WinEvent::Trimmed { .. } => WS,
            WinEvent::WorkingSetKept { .. } => {
                "Learn: Working Set (a trimmed dirty page \"must be written to its backing store\" \
                 before reuse); docs/windows.md \"The working-set limit without page-file room\"; \
                 model-spec W4, W6"
            }
            WinEvent::SectionCreated { .. } => "Learn: CreateFileMapping function; model-spec W7",
            WinEvent::ViewMapped { .. } => "Learn: MapViewOfFile function; model-spec W7",
            WinEvent::ViewUnmapped { .. } => "Learn: UnmapViewOfFile function; model-spec W7",
            WinEvent::JobCreated { .. }
            | WinEvent::JobLimitsSet { .. }
            | WinEvent::JobAssigned { .. } => {
                "Learn: Job Objects; AssignProcessToJobObject; JOBOBJECT_EXTENDED_LIMIT_INFORMATION; model-spec W6"
            }
            WinEvent::ContainerCreated { .. } => {
                "Learn: Isolation Modes (Windows containers); the seed \"Running out of memory\"; model-spec W5, W6"
            }
        }
    }
}

fn hp(pages: u64) -> String {
    human_pages(pages)
}

impl fmt::Display for WinEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WinEvent::ProcessCreated { name, system } => {
                write!(f, "process `{name}` created on {system}")
            }
            WinEvent::ProcessExited {
                released_regions,
                uncharged,
            } => write!(
                f,
                "exit: {released_regions} {} released, commit charge −{}",
                if *released_regions == 1 { "region" } else { "regions" },
                hp(*uncharged)
            ),
            WinEvent::ProcessCrashed { address } => write!(
                f,
                "unhandled STATUS_ACCESS_VIOLATION at {address:#x}: the process terminates and its memory is released"
            ),
            WinEvent::Reserved { base, size_bytes } => write!(
                f,
                "MEM_RESERVE {} at {base:#x} (64 KiB aligned): address space only, no commit charge",
                crate::units::human(*size_bytes)
            ),
            WinEvent::ReserveUndone { base } => write!(
                f,
                "the commit failed, so the reservation at {base:#x} is undone: nothing is allocated"
            ),
            WinEvent::Refused { error, rule, .. } => {
                write!(f, "{rule} → {} ({})", error.name(), error.code())
            }
            WinEvent::Committed {
                base,
                new_pages,
                already,
                charge_before,
                limit,
                shared,
            } => write!(
                f,
                "MEM_COMMIT at {base:#x}: {} newly committed ({} already committed, not charged again); commit charge {} + {} ≤ limit {}{}",
                hp(*new_pages),
                hp(*already),
                hp(*charge_before),
                hp(*new_pages),
                hp(*limit),
                if *shared { " (charged to the section, not PrivateUsage)" } else { "" }
            ),
            WinEvent::CommitRefused {
                pages,
                charge_before,
                block,
            } => match block {
                CommitBlock::System { limit, max_limit } => write!(
                    f,
                    "commit of {}: charge {} + {} > limit {} (at most {} with the page file at its maximum) → ERROR_COMMITMENT_LIMIT",
                    hp(*pages),
                    hp(*charge_before),
                    hp(*pages),
                    hp(*limit),
                    hp(*max_limit)
                ),
                CommitBlock::ProcessLimit {
                    job,
                    usage,
                    limit_bytes,
                } => write!(
                    f,
                    "commit of {}: the process's PrivateUsage {} + {} > job `{job}` ProcessMemoryLimit {} → ERROR_COMMITMENT_LIMIT",
                    hp(*pages),
                    hp(*usage),
                    hp(*pages),
                    crate::units::human(*limit_bytes)
                ),
                CommitBlock::JobLimit {
                    job,
                    usage,
                    limit_bytes,
                } => write!(
                    f,
                    "commit of {}: job `{job}` commits {} + {} > JobMemoryLimit {} → ERROR_COMMITMENT_LIMIT",
                    hp(*pages),
                    hp(*usage),
                    hp(*pages),
                    crate::units::human(*limit_bytes)
                ),
            },
            WinEvent::PagefileGrown { from, to, why } => write!(
                f,
                "the page file grows {} → {} ({})",
                hp(*from),
                hp(*to),
                match why {
                    GrowWhy::Demand => "a commit would pass the limit",
                    GrowWhy::Threshold => "the commit charge passed 90% of the limit",
                }
            ),
            WinEvent::Decommitted {
                base,
                pages,
                uncharged,
            } => write!(
                f,
                "MEM_DECOMMIT of {} at {base:#x}: pages are reserved again, commit charge −{}",
                hp(*pages),
                hp(*uncharged)
            ),
            WinEvent::Released {
                base,
                size_bytes,
                uncharged,
            } => write!(
                f,
                "MEM_RELEASE of the whole reservation at {base:#x} ({}): pages are free, commit charge −{}",
                crate::units::human(*size_bytes),
                hp(*uncharged)
            ),
            WinEvent::Reset { pages } => write!(
                f,
                "MEM_RESET: the contents of {} are discarded; they stay committed and charged",
                hp(*pages)
            ),
            WinEvent::Fault { pages, kind } => write!(
                f,
                "{} {}",
                hp(*pages),
                match kind {
                    WinFault::DemandZero => "demand-zero faulted into the working set",
                    WinFault::FromPagefile => "read back from the page file (hard fault)",
                    WinFault::SharedSoft => "of a section soft-faulted into the working set",
                    WinFault::CopyOnWrite => "copied on write: private pages of the view",
                }
            ),
            WinEvent::Trimmed { pages, why } => write!(
                f,
                "{} trimmed from working sets to the page file, oldest first ({})",
                hp(*pages),
                match why {
                    TrimWhy::RamShort => "RAM is short",
                    TrimWhy::WorkingSetMax => "above the job's MaximumWorkingSetSize",
                }
            ),
            WinEvent::WorkingSetKept { pages, room } => write!(
                f,
                "{} stay in the working set above the job's MaximumWorkingSetSize: the page file \
                 has room for {} only, and a committed private page has nowhere else to go",
                hp(*pages),
                hp(*room)
            ),
            WinEvent::AccessViolation { address } => write!(
                f,
                "access at {address:#x}: the page is not committed → STATUS_ACCESS_VIOLATION"
            ),
            WinEvent::SectionCreated {
                name,
                pages,
                charged,
            } => write!(
                f,
                "pagefile-backed section `{name}` of {}: {} charged now",
                hp(*pages),
                hp(*charged)
            ),
            WinEvent::ViewMapped {
                base,
                pages,
                charged,
            } => write!(
                f,
                "view of {} at {base:#x}: {} charged{}",
                hp(*pages),
                hp(*charged),
                if *charged > 0 {
                    " (FILE_MAP_COPY: the whole view, since every page may be written)"
                } else {
                    " (the section carries its own charge)"
                }
            ),
            WinEvent::ViewUnmapped { base, uncharged } => {
                write!(f, "view at {base:#x} unmapped, commit charge −{}", hp(*uncharged))
            }
            WinEvent::JobCreated { name } => write!(f, "job `{name}` created"),
            WinEvent::OpenedExisting { what, name, .. } => write!(
                f,
                "a {what} named `{name}` exists: the call opens it (GetLastError \
                 ERROR_ALREADY_EXISTS, 183)"
            ),
            WinEvent::JobLimitsSet { name, limit_flags } => {
                write!(f, "job `{name}` LimitFlags = {limit_flags:#x}")
            }
            WinEvent::JobAssigned { job, nested_under } => match nested_under {
                Some(p) => write!(
                    f,
                    "assigned to job `{job}`, which nests under `{p}` (the process was already in it)"
                ),
                None => write!(f, "assigned to job `{job}`"),
            },
            WinEvent::ContainerCreated { name, hyperv } => {
                if *hyperv {
                    write!(f, "Hyper-V container `{name}`: a utility VM with its own RAM and page file, and a job with its memory limit")
                } else {
                    write!(f, "process-isolated container `{name}`: the host's kernel, and a job with its memory limit")
                }
            }
        }
    }
}
