//! The driver ↔ Windows helper protocol: one JSON line per request on the helper's stdin, one JSON
//! line per response on its stdout. Plain values that a Windows model operation maps to 1:1.
//!
//! **Naming.** The model cannot know where the OS puts a reservation (ASLR), so no absolute
//! address crosses the protocol in either direction except through [`Request::Locate`], which is
//! for the Linux-side harness only (it reads the Wine process's smaps). A reservation, a view or
//! a free range gets a scenario name when it is made (`VirtualAlloc`'s `name`, `MapView`'s
//! `name`); an address is an [`At`]: a name and a byte offset from that reservation's base. An
//! offset may pass the end of its reservation (to name the range just after it). Every address in
//! a response is made relative again: to the named reservation whose base equals the region's
//! `AllocationBase`, otherwise to the named base nearest below it; an address below every named
//! base is reported with the region [`UNNAMED`] and its absolute value (only ever for ranges the
//! scenario did not make).
//!
//! **Results.** Every response carries whether the call succeeded, the returned value, and on
//! failure `GetLastError()`'s code, exactly as the Win32 call left it.

use serde::{Deserialize, Serialize};

/// The region name of an address no scenario name covers; its offset is then absolute.
pub const UNNAMED: &str = "";

/// An address as a scenario names it: `offset` bytes from the base of the reservation (or view)
/// named `region`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct At {
    pub region: String,
    pub offset: u64,
}

impl At {
    pub fn new(region: &str, offset: u64) -> At {
        At {
            region: region.to_string(),
            offset,
        }
    }
}

/// `VirtualAlloc`'s `flAllocationType`. `Raw` passes any value (argument-rule tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllocType {
    Reserve,
    Commit,
    ReserveCommit,
    Reset,
    Raw(u32),
}

pub const MEM_COMMIT: u32 = 0x1000;
pub const MEM_RESERVE: u32 = 0x2000;
pub const MEM_DECOMMIT: u32 = 0x4000;
pub const MEM_RELEASE: u32 = 0x8000;
pub const MEM_FREE: u32 = 0x10000;
pub const MEM_PRIVATE: u32 = 0x20000;
pub const MEM_MAPPED: u32 = 0x40000;
pub const MEM_RESET: u32 = 0x80000;
pub const MEM_IMAGE: u32 = 0x100_0000;

impl AllocType {
    /// The value a model op carries (its raw `flAllocationType`), as the protocol names it.
    pub fn from_bits(v: u32) -> AllocType {
        match v {
            MEM_RESERVE => AllocType::Reserve,
            MEM_COMMIT => AllocType::Commit,
            x if x == MEM_RESERVE | MEM_COMMIT => AllocType::ReserveCommit,
            MEM_RESET => AllocType::Reset,
            other => AllocType::Raw(other),
        }
    }

    /// The flag value (winnt.h).
    pub fn bits(self) -> u32 {
        match self {
            AllocType::Reserve => MEM_RESERVE,
            AllocType::Commit => MEM_COMMIT,
            AllocType::ReserveCommit => MEM_RESERVE | MEM_COMMIT,
            AllocType::Reset => MEM_RESET,
            AllocType::Raw(v) => v,
        }
    }
}

/// `VirtualFree`'s `dwFreeType`. `Raw` passes any value (argument-rule tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FreeType {
    Decommit,
    Release,
    Raw(u32),
}

impl FreeType {
    pub fn from_bits(v: u32) -> FreeType {
        match v {
            MEM_DECOMMIT => FreeType::Decommit,
            MEM_RELEASE => FreeType::Release,
            other => FreeType::Raw(other),
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            FreeType::Decommit => MEM_DECOMMIT,
            FreeType::Release => MEM_RELEASE,
            FreeType::Raw(v) => v,
        }
    }
}

/// Page protection constants (winnt.h, Learn "Memory Protection Constants"). The protocol carries
/// protections as these raw values, as `VirtualQuery` reports them (they may carry PAGE_GUARD).
pub const PAGE_NOACCESS: u32 = 0x01;
pub const PAGE_READONLY: u32 = 0x02;
pub const PAGE_READWRITE: u32 = 0x04;
pub const PAGE_WRITECOPY: u32 = 0x08;
pub const PAGE_EXECUTE: u32 = 0x10;
pub const PAGE_EXECUTE_READ: u32 = 0x20;
pub const PAGE_EXECUTE_READWRITE: u32 = 0x40;
pub const PAGE_GUARD: u32 = 0x100;

/// `CreateFileMapping`'s section attribute for a pagefile-backed section (W7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SectionKind {
    /// `SEC_COMMIT` (the default): charged for the whole size at creation.
    Commit,
    /// `SEC_RESERVE`: views are reserved; pages are committed later with `VirtualAlloc`.
    Reserve,
}

pub const SEC_COMMIT: u32 = 0x800_0000;
pub const SEC_RESERVE: u32 = 0x400_0000;

/// `MapViewOfFile`'s `dwDesiredAccess`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapAccess {
    Read,
    Write,
    /// `FILE_MAP_COPY`: a copy-on-write view, charged for the whole view when mapped (W7).
    Copy,
}

pub const FILE_MAP_COPY: u32 = 0x1;
pub const FILE_MAP_WRITE: u32 = 0x2;
pub const FILE_MAP_READ: u32 = 0x4;

impl MapAccess {
    /// `None` for an access the protocol does not name (FILE_MAP_ALL_ACCESS, …).
    pub fn from_bits(v: u32) -> Option<MapAccess> {
        match v {
            FILE_MAP_READ => Some(MapAccess::Read),
            FILE_MAP_WRITE => Some(MapAccess::Write),
            FILE_MAP_COPY => Some(MapAccess::Copy),
            _ => None,
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            MapAccess::Read => FILE_MAP_READ,
            MapAccess::Write => FILE_MAP_WRITE,
            MapAccess::Copy => FILE_MAP_COPY,
        }
    }
}

/// The limits of `JOBOBJECT_EXTENDED_LIMIT_INFORMATION` the model knows (W6), as set and as read
/// back; `peak_*` are read-only (ignored by `SetJobLimits`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLimits {
    /// `BasicLimitInformation.LimitFlags` (JOB_OBJECT_LIMIT_*).
    pub limit_flags: u32,
    pub minimum_working_set_size: u64,
    pub maximum_working_set_size: u64,
    pub process_memory_limit: u64,
    pub job_memory_limit: u64,
    pub peak_process_memory_used: u64,
    pub peak_job_memory_used: u64,
}

pub const JOB_OBJECT_LIMIT_WORKINGSET: u32 = 0x1;
pub const JOB_OBJECT_LIMIT_PROCESS_MEMORY: u32 = 0x100;
pub const JOB_OBJECT_LIMIT_JOB_MEMORY: u32 = 0x200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// `GetSystemInfo`: page size, allocation granularity.
    SystemInfo,
    /// Wine's `ntdll!wine_get_version`, or `None` on Windows.
    WineVersion,
    /// The absolute base of a named region: **for the harness only** (to find it in smaps); a
    /// scenario never compares it.
    Locate { region: String },
    /// `VirtualAlloc(addr or NULL, size, kind, protect)`; on success the returned address is
    /// `Value::Addr`, and when `name` is given that address gets the name (a reservation's, or a
    /// commit's at NULL: `MEM_RESERVE|MEM_COMMIT`).
    VirtualAlloc {
        name: Option<String>,
        addr: Option<At>,
        size: u64,
        kind: AllocType,
        protect: u32,
    },
    /// `VirtualFree(addr, size, kind)`.
    VirtualFree { addr: At, size: u64, kind: FreeType },
    /// `VirtualQuery(addr)`: one `Value::Region`.
    VirtualQuery { addr: At },
    /// `VirtualQuery` from the base of the named allocation, region after region, while the
    /// `AllocationBase` stays that allocation's: its region list (`Value::Regions`).
    QueryAllocation { region: String },
    /// Read one byte of every page of `[addr, addr+len)` (demand-zero faults; nothing written).
    Touch { addr: At, len: u64 },
    /// Write `byte` to every byte of `[addr, addr+len)`.
    Write { addr: At, len: u64, byte: u8 },
    /// Read every byte of `[addr, addr+len)`; `Value::Number` is how many are not zero.
    Read { addr: At, len: u64 },
    /// `GetProcessMemoryInfo(GetCurrentProcess())` with `PROCESS_MEMORY_COUNTERS_EX`.
    ProcessMemoryInfo,
    /// `GetPerformanceInfo`.
    PerformanceInfo,
    /// `GlobalMemoryStatusEx`.
    MemoryStatus,
    /// `CreateJobObjectW(NULL, os_name)`, the handle kept under `name`. With an `os_name`, the
    /// helper of another process that asks for the same `os_name` opens the same job (the call
    /// then succeeds with GetLastError 183, ERROR_ALREADY_EXISTS, reported in `error`): how a
    /// scenario's job spans processes, one helper each.
    CreateJob {
        name: String,
        #[serde(default)]
        os_name: Option<String>,
    },
    /// `SetInformationJobObject(JobObjectExtendedLimitInformation)` with these limits.
    SetJobLimits { job: String, limits: JobLimits },
    /// `AssignProcessToJobObject(job, GetCurrentProcess())`.
    AssignToJob { job: String },
    /// `QueryInformationJobObject(JobObjectExtendedLimitInformation)`: `Value::Job`.
    QueryJob { job: String },
    /// `CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, protect | kind, size, os_name)`: a
    /// pagefile-backed section, the handle kept under `name`; `os_name` shares it between
    /// processes as for `CreateJob`.
    CreateSection {
        name: String,
        size: u64,
        kind: SectionKind,
        protect: u32,
        #[serde(default)]
        os_name: Option<String>,
    },
    /// `MapViewOfFile(section, access, offset, size)`; the view's base gets the name `name`.
    MapView {
        section: String,
        name: String,
        access: MapAccess,
        offset: u64,
        size: u64,
    },
    /// `UnmapViewOfFile` of the named view.
    UnmapView { region: String },
    /// `CloseHandle` of a section or a job.
    Close { handle: String },
    /// Exit the helper (status 0), after replying `Value::None`.
    Exit,
}

/// `MEMORY_BASIC_INFORMATION`, addresses relative (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub base_address: At,
    /// `None` for a free region (its `AllocationBase` is NULL).
    pub allocation_base: Option<At>,
    pub allocation_protect: u32,
    pub region_size: u64,
    /// `MEM_COMMIT`, `MEM_RESERVE` or `MEM_FREE`.
    pub state: u32,
    pub protect: u32,
    /// `MEM_PRIVATE`, `MEM_MAPPED`, `MEM_IMAGE`, or 0 for a free region.
    pub kind: u32,
}

/// `PROCESS_MEMORY_COUNTERS_EX` (W4), bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMemoryCounters {
    pub page_fault_count: u32,
    pub peak_working_set_size: u64,
    pub working_set_size: u64,
    pub quota_peak_paged_pool_usage: u64,
    pub quota_paged_pool_usage: u64,
    pub quota_peak_non_paged_pool_usage: u64,
    pub quota_non_paged_pool_usage: u64,
    pub pagefile_usage: u64,
    pub peak_pagefile_usage: u64,
    pub private_usage: u64,
}

/// `PERFORMANCE_INFORMATION` (W5), in pages except `page_size`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerformanceInformation {
    pub commit_total: u64,
    pub commit_limit: u64,
    pub commit_peak: u64,
    pub physical_total: u64,
    pub physical_available: u64,
    pub system_cache: u64,
    pub kernel_total: u64,
    pub kernel_paged: u64,
    pub kernel_nonpaged: u64,
    pub page_size: u64,
    pub handle_count: u32,
    pub process_count: u32,
    pub thread_count: u32,
}

/// `MEMORYSTATUSEX` (W5), bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStatusEx {
    pub memory_load: u32,
    pub total_phys: u64,
    pub avail_phys: u64,
    pub total_page_file: u64,
    pub avail_page_file: u64,
    pub total_virtual: u64,
    pub avail_virtual: u64,
    pub avail_extended_virtual: u64,
}

/// `SYSTEM_INFO`'s memory fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemInfo {
    pub page_size: u32,
    pub allocation_granularity: u32,
    pub minimum_application_address: u64,
    pub maximum_application_address: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    None,
    Addr(At),
    Region(Region),
    Regions(Vec<Region>),
    Counters(ProcessMemoryCounters),
    Performance(PerformanceInformation),
    MemoryStatus(MemoryStatusEx),
    Job(JobLimits),
    SystemInfo(SystemInfo),
    Number(u64),
    Text(Option<String>),
}

/// One reply. `error` is `GetLastError()` when `ok` is false (Win32 failures), or a helper-side
/// `None` with `helper_error` set when the request itself was wrong (an unknown name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    pub value: Value,
    pub error: Option<u32>,
    /// What went wrong on the helper's side (bad JSON, an unknown name), never a Win32 result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_error: Option<String>,
}

impl Response {
    pub fn ok(value: Value) -> Response {
        Response {
            ok: true,
            value,
            error: None,
            helper_error: None,
        }
    }
    pub fn win32_error(code: u32) -> Response {
        Response {
            ok: false,
            value: Value::None,
            error: Some(code),
            helper_error: None,
        }
    }
    pub fn helper(message: String) -> Response {
        Response {
            ok: false,
            value: Value::None,
            error: None,
            helper_error: Some(message),
        }
    }
}

/// The helper's vectored exception handler writes this line (an access violation on `Touch`,
/// `Write` or `Read`: a touch of reserved or free memory) and exits with
/// [`ACCESS_VIOLATION_EXIT`].
pub const KILLED_ACCESS_VIOLATION: &str =
    "{\"ok\":false,\"value\":\"None\",\"error\":3221225477,\"helper_error\":\"access violation\"}\n";
/// `STATUS_ACCESS_VIOLATION` (0xC0000005), as the exit code too.
pub const STATUS_ACCESS_VIOLATION: u32 = 0xC000_0005;
pub const ACCESS_VIOLATION_EXIT: u32 = STATUS_ACCESS_VIOLATION;

/// Win32 error codes the model returns (winerror.h).
pub const ERROR_INVALID_HANDLE: u32 = 6;
pub const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
pub const ERROR_INVALID_PARAMETER: u32 = 87;
pub const ERROR_INVALID_ADDRESS: u32 = 487;
pub const ERROR_COMMITMENT_LIMIT: u32 = 1455;
pub const ERROR_ALREADY_EXISTS: u32 = 183;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_violation_line_is_a_response() {
        let r: Response = serde_json::from_str(KILLED_ACCESS_VIOLATION.trim()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.error, Some(STATUS_ACCESS_VIOLATION));
        assert_eq!(r.helper_error.as_deref(), Some("access violation"));
    }

    #[test]
    fn flags_have_winnt_values() {
        assert_eq!(AllocType::ReserveCommit.bits(), 0x3000);
        assert_eq!(AllocType::Reset.bits(), 0x80000);
        assert_eq!(FreeType::Release.bits(), 0x8000);
        assert_eq!(MapAccess::Copy.bits(), 1);
    }

    #[test]
    fn raw_flags_map_back_to_the_names() {
        for t in [
            AllocType::Reserve,
            AllocType::Commit,
            AllocType::ReserveCommit,
            AllocType::Reset,
            AllocType::Raw(0x81000),
        ] {
            assert_eq!(AllocType::from_bits(t.bits()), t);
        }
        for t in [FreeType::Decommit, FreeType::Release, FreeType::Raw(0xC000)] {
            assert_eq!(FreeType::from_bits(t.bits()), t);
        }
        for a in [MapAccess::Read, MapAccess::Write, MapAccess::Copy] {
            assert_eq!(MapAccess::from_bits(a.bits()), Some(a));
        }
        assert_eq!(MapAccess::from_bits(0xF001F), None);
    }

    #[test]
    fn a_request_round_trips() {
        let r = Request::VirtualAlloc {
            name: Some("r".into()),
            addr: Some(At::new("r", 0x1000)),
            size: 4096,
            kind: AllocType::Raw(0x1234),
            protect: PAGE_READWRITE,
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), r);
    }
}
