//! Windows operations as values: each [`WinOp`] is one Win32 call with the arguments a real
//! program passes (process, address or NULL, size in bytes, `MEM_*`/`PAGE_*`/`SEC_*`/`FILE_MAP_*`
//! flags with their winnt.h values), and each failure is the Win32 error code `GetLastError`
//! returns ([`Win32Error`]). A real backend executes the same values (crates/os, windows-sys).
//!
//! Addresses are written against scenario names, as the Linux ops are: a region is named when
//! VirtualAlloc or MapViewOfFile returns its base, and a later call passes `base + offset`
//! ([`WinAddr::In`]); a backend keeps its own name → base table, as the simulator does.

use serde::{Deserialize, Serialize};

/// `MEM_COMMIT` (winnt.h).
pub const MEM_COMMIT: u32 = 0x0000_1000;
/// `MEM_RESERVE`.
pub const MEM_RESERVE: u32 = 0x0000_2000;
/// `MEM_DECOMMIT` (VirtualFree).
pub const MEM_DECOMMIT: u32 = 0x0000_4000;
/// `MEM_RELEASE` (VirtualFree).
pub const MEM_RELEASE: u32 = 0x0000_8000;
/// `MEM_FREE` (MEMORY_BASIC_INFORMATION.State of a free range).
pub const MEM_FREE: u32 = 0x0001_0000;
/// `MEM_PRIVATE` (MEMORY_BASIC_INFORMATION.Type).
pub const MEM_PRIVATE: u32 = 0x0002_0000;
/// `MEM_MAPPED` (a view of a section).
pub const MEM_MAPPED: u32 = 0x0004_0000;
/// `MEM_RESET`.
pub const MEM_RESET: u32 = 0x0008_0000;

pub const PAGE_NOACCESS: u32 = 0x01;
pub const PAGE_READONLY: u32 = 0x02;
pub const PAGE_READWRITE: u32 = 0x04;
pub const PAGE_WRITECOPY: u32 = 0x08;
pub const PAGE_EXECUTE_READWRITE: u32 = 0x40;

/// `SEC_COMMIT` (CreateFileMapping): the whole section is charged at creation.
pub const SEC_COMMIT: u32 = 0x0800_0000;
/// `SEC_RESERVE`: views are reserved; pages are committed later with VirtualAlloc.
pub const SEC_RESERVE: u32 = 0x0400_0000;

/// `FILE_MAP_WRITE` (MapViewOfFile).
pub const FILE_MAP_WRITE: u32 = 0x0002;
/// `FILE_MAP_READ`.
pub const FILE_MAP_READ: u32 = 0x0004;
/// `FILE_MAP_COPY`: a copy-on-write view, charged for the whole view when mapped (W7).
pub const FILE_MAP_COPY: u32 = 0x0001;

/// `JOB_OBJECT_LIMIT_WORKINGSET` (JOBOBJECT_BASIC_LIMIT_INFORMATION.LimitFlags).
pub const JOB_OBJECT_LIMIT_WORKINGSET: u32 = 0x0000_0001;
/// `JOB_OBJECT_LIMIT_PROCESS_MEMORY`: a per-process commit limit (W6).
pub const JOB_OBJECT_LIMIT_PROCESS_MEMORY: u32 = 0x0000_0100;
/// `JOB_OBJECT_LIMIT_JOB_MEMORY`: a job-wide commit limit (W6).
pub const JOB_OBJECT_LIMIT_JOB_MEMORY: u32 = 0x0000_0200;

/// An address argument: NULL (the system chooses), an absolute address, or `offset` bytes into
/// a region the scenario named when it was returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WinAddr {
    Null,
    At(u64),
    In { region: String, offset: u64 },
}

/// A container's isolation mode (Learn: "Isolation Modes"): a process-isolated container shares
/// the host's kernel, so the system-wide APIs report the host; a Hyper-V container runs in a
/// utility VM with memory of its own, so they report the VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Isolation {
    Process,
    HyperV,
}

impl Isolation {
    pub fn name(self) -> &'static str {
        match self {
            Isolation::Process => "process",
            Isolation::HyperV => "hyperv",
        }
    }
}

/// One Windows call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WinOp {
    /// CreateProcess of a program with an empty address space; `container` starts it inside a
    /// container (in the container's job, and for Hyper-V isolation in its utility VM).
    Spawn {
        name: String,
        container: Option<String>,
    },
    /// ExitProcess: every region is released, every charge returned.
    Exit { proc: String },
    /// `VirtualAlloc(address, size, allocation_type, protect)`. `name` labels the returned
    /// region for later calls (a scenario name, not an argument).
    VirtualAlloc {
        proc: String,
        name: Option<String>,
        address: WinAddr,
        size: u64,
        allocation_type: u32,
        protect: u32,
    },
    /// `VirtualFree(address, size, free_type)`.
    VirtualFree {
        proc: String,
        address: WinAddr,
        size: u64,
        free_type: u32,
    },
    /// Touch every page of `[address, address + size)`: a read or a write of one byte per page.
    Touch {
        proc: String,
        address: WinAddr,
        size: u64,
        write: bool,
    },
    /// `CreateFileMapping(INVALID_HANDLE_VALUE, NULL, protect | attributes, size, name)`: a
    /// pagefile-backed section.
    CreateFileMapping {
        proc: String,
        section: String,
        size: u64,
        protect: u32,
        attributes: u32,
    },
    /// `MapViewOfFile(section, desired_access, offset, size)` (size 0: to the section's end).
    MapViewOfFile {
        proc: String,
        name: String,
        section: String,
        desired_access: u32,
        offset: u64,
        size: u64,
    },
    /// `UnmapViewOfFile(address)` of a view's base.
    UnmapViewOfFile { proc: String, address: WinAddr },
    /// `CreateJobObject(NULL, name)`.
    CreateJobObject { job: String },
    /// `SetInformationJobObject(job, JobObjectExtendedLimitInformation, …)` with these limits.
    SetJobLimits {
        job: String,
        limit_flags: u32,
        process_memory_limit: u64,
        job_memory_limit: u64,
        min_working_set: u64,
        max_working_set: u64,
    },
    /// `AssignProcessToJobObject(job, process)`. A process already in a job nests the new job
    /// under that one (Windows 8 and later).
    AssignProcessToJobObject { job: String, proc: String },
    /// A container (`docker run --isolation=… --memory=…`): a job whose JobMemoryLimit is
    /// `memory_bytes` (both isolation modes enforce the limit with a job object, as the seed
    /// says); for Hyper-V isolation also a utility VM with `memory_bytes` of RAM of which
    /// `base_bytes` its own system uses, and a page file of `pagefile_bytes`. Not one Win32
    /// call: a backend creates the job and refuses Hyper-V.
    CreateContainer {
        name: String,
        isolation: Isolation,
        memory_bytes: u64,
        base_bytes: u64,
        pagefile_bytes: u64,
    },
}

impl WinOp {
    /// The process that makes the call, if any.
    pub fn proc(&self) -> Option<&str> {
        match self {
            WinOp::Spawn { name, .. } => Some(name),
            WinOp::Exit { proc }
            | WinOp::VirtualAlloc { proc, .. }
            | WinOp::VirtualFree { proc, .. }
            | WinOp::Touch { proc, .. }
            | WinOp::CreateFileMapping { proc, .. }
            | WinOp::MapViewOfFile { proc, .. }
            | WinOp::UnmapViewOfFile { proc, .. }
            | WinOp::AssignProcessToJobObject { proc, .. } => Some(proc),
            WinOp::CreateJobObject { .. }
            | WinOp::SetJobLimits { .. }
            | WinOp::CreateContainer { .. } => None,
        }
    }

    /// The scenario verb, which `expect PROC VERB OUTCOME` matches.
    pub fn verb(&self) -> &'static str {
        match self {
            WinOp::Spawn { .. } => "spawn",
            WinOp::Exit { .. } => "exit",
            WinOp::VirtualAlloc {
                allocation_type, ..
            } => {
                let t = *allocation_type;
                if t & MEM_RESET != 0 {
                    "reset"
                } else if t & MEM_RESERVE != 0 && t & MEM_COMMIT != 0 {
                    "alloc"
                } else if t & MEM_RESERVE != 0 {
                    "reserve"
                } else {
                    "commit"
                }
            }
            WinOp::VirtualFree { free_type, .. } => {
                if *free_type == MEM_DECOMMIT {
                    "decommit"
                } else {
                    "release"
                }
            }
            WinOp::Touch { write: true, .. } => "write",
            WinOp::Touch { write: false, .. } => "read",
            WinOp::CreateFileMapping { .. } => "section",
            WinOp::MapViewOfFile { .. } => "map",
            WinOp::UnmapViewOfFile { .. } => "unmap",
            WinOp::CreateJobObject { .. }
            | WinOp::SetJobLimits { .. }
            | WinOp::AssignProcessToJobObject { .. } => "job",
            WinOp::CreateContainer { .. } => "container",
        }
    }
}

/// A Win32 error a call returns (GetLastError), or the exception an access raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Win32Error {
    /// 5: a job assignment the job hierarchy does not allow.
    AccessDenied,
    /// 8: "Not enough memory resources are available": no free address range is large enough
    /// (W2 failure (c), what `Testlimit -r` meets).
    NotEnoughMemory,
    /// 87: invalid flags or sizes (W2 failure (d)).
    InvalidParameter,
    /// 487: "Attempt to access invalid address" (W2 failure (d)).
    InvalidAddress,
    /// 1455: "The paging file is too small for this operation to complete" (W2 failure (a),
    /// and the model's code for a job's limit, (b)).
    CommitmentLimit,
    /// 183: a section or job of this name exists.
    AlreadyExists,
    /// 0xC0000005 STATUS_ACCESS_VIOLATION: a touch of a page that is not committed; the
    /// process dies of the unhandled exception.
    AccessViolation,
}

impl Win32Error {
    pub const ALL: [Win32Error; 7] = [
        Win32Error::AccessDenied,
        Win32Error::NotEnoughMemory,
        Win32Error::InvalidParameter,
        Win32Error::InvalidAddress,
        Win32Error::CommitmentLimit,
        Win32Error::AlreadyExists,
        Win32Error::AccessViolation,
    ];

    /// The value GetLastError returns (the exception code for an access violation).
    pub fn code(self) -> u32 {
        match self {
            Win32Error::AccessDenied => 5,
            Win32Error::NotEnoughMemory => 8,
            Win32Error::InvalidParameter => 87,
            Win32Error::AlreadyExists => 183,
            Win32Error::InvalidAddress => 487,
            Win32Error::CommitmentLimit => 1455,
            Win32Error::AccessViolation => 0xC000_0005,
        }
    }

    /// The winerror.h name.
    pub fn name(self) -> &'static str {
        match self {
            Win32Error::AccessDenied => "ERROR_ACCESS_DENIED",
            Win32Error::NotEnoughMemory => "ERROR_NOT_ENOUGH_MEMORY",
            Win32Error::InvalidParameter => "ERROR_INVALID_PARAMETER",
            Win32Error::AlreadyExists => "ERROR_ALREADY_EXISTS",
            Win32Error::InvalidAddress => "ERROR_INVALID_ADDRESS",
            Win32Error::CommitmentLimit => "ERROR_COMMITMENT_LIMIT",
            Win32Error::AccessViolation => "STATUS_ACCESS_VIOLATION",
        }
    }

    /// By name, or by its decimal code.
    pub fn parse(s: &str) -> Option<Win32Error> {
        Win32Error::ALL
            .into_iter()
            .find(|e| e.name() == s || s.parse::<u32>().ok() == Some(e.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_parses_back_by_name_and_code() {
        for e in Win32Error::ALL {
            assert_eq!(Win32Error::parse(e.name()), Some(e));
            assert_eq!(Win32Error::parse(&e.code().to_string()), Some(e));
        }
        assert_eq!(Win32Error::CommitmentLimit.code(), 1455);
        assert_eq!(Win32Error::parse("ERROR_NOPE"), None);
    }

    #[test]
    fn verbs_follow_the_flags() {
        let va = |t: u32| WinOp::VirtualAlloc {
            proc: "p".into(),
            name: None,
            address: WinAddr::Null,
            size: 4096,
            allocation_type: t,
            protect: PAGE_READWRITE,
        };
        assert_eq!(va(MEM_RESERVE).verb(), "reserve");
        assert_eq!(va(MEM_COMMIT).verb(), "commit");
        assert_eq!(va(MEM_RESERVE | MEM_COMMIT).verb(), "alloc");
        assert_eq!(va(MEM_RESET).verb(), "reset");
    }
}
