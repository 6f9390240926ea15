//! The helper's Windows side: each [`Request`] executed with the Win32 call it names, its result
//! and `GetLastError()` put in a [`Response`]. One request at a time, on the main thread.

// A failure is the reply itself (`Err(Response)`), built once per request and written out: its
// size does not matter, and boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use crate::names::Names;
use crate::protocol::*;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, SetLastError, EXCEPTION_ACCESS_VIOLATION, HANDLE,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::System::Diagnostics::Debug::{
    AddVectoredExceptionHandler, EXCEPTION_CONTINUE_SEARCH, EXCEPTION_POINTERS,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    QueryInformationJobObject, SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, MapViewOfFile, UnmapViewOfFile, VirtualAlloc, VirtualFree, VirtualQuery,
    MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS,
};
use windows_sys::Win32::System::ProcessStatus::{
    K32GetPerformanceInfo, K32GetProcessMemoryInfo, PERFORMANCE_INFORMATION,
    PROCESS_MEMORY_COUNTERS, PROCESS_MEMORY_COUNTERS_EX,
};
use windows_sys::Win32::System::SystemInformation::{
    GetSystemInfo, GlobalMemoryStatusEx, MEMORYSTATUSEX, SYSTEM_INFO,
};
use windows_sys::Win32::System::Threading::{ExitProcess, GetCurrentProcess};

/// Set while a `Touch`, `Write` or `Read` runs: an access violation then is the scenario's (a
/// touch of reserved or free memory), reported and fatal, as on Windows.
static IN_ACCESS: AtomicBool = AtomicBool::new(false);

unsafe extern "system" fn on_exception(info: *mut EXCEPTION_POINTERS) -> i32 {
    // SAFETY: the system passes valid exception pointers to a vectored handler.
    let code = unsafe { (*(*info).ExceptionRecord).ExceptionCode };
    if code == EXCEPTION_ACCESS_VIOLATION && IN_ACCESS.load(Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = out.write_all(KILLED_ACCESS_VIOLATION.as_bytes());
        let _ = out.flush();
        // SAFETY: ends the process; nothing runs after it.
        unsafe { ExitProcess(ACCESS_VIOLATION_EXIT) }
    }
    EXCEPTION_CONTINUE_SEARCH
}

/// Read requests from stdin until `Exit` or end of input; one response line each.
pub fn main() {
    // SAFETY: registers a handler with the right signature; it lives for the whole process.
    unsafe { AddVectoredExceptionHandler(1, Some(on_exception)) };
    let mut helper = Helper::default();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let (resp, exit) = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Exit) => (Response::ok(Value::None), true),
            Ok(req) => (helper.run(&req), false),
            Err(e) => (Response::helper(format!("bad request: {e}")), false),
        };
        let mut text = serde_json::to_string(&resp).expect("a response serialises");
        text.push('\n');
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
            || exit
        {
            break;
        }
    }
}

#[derive(Default)]
struct Helper {
    names: Names,
    handles: BTreeMap<String, HANDLE>,
}

fn last_error() -> Response {
    // SAFETY: reads the thread's last-error value.
    Response::win32_error(unsafe { GetLastError() })
}

fn bool_result(ok: i32) -> Response {
    if ok != 0 {
        Response::ok(Value::None)
    } else {
        last_error()
    }
}

/// The size as the 32-bit halves `CreateFileMapping` and `MapViewOfFile` take.
fn halves(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

impl Helper {
    fn addr(&self, at: &At) -> Result<u64, Response> {
        self.names
            .resolve(at)
            .ok_or_else(|| Response::helper(format!("unknown region `{}`", at.region)))
    }

    fn handle(&self, name: &str) -> Result<HANDLE, Response> {
        self.handles
            .get(name)
            .copied()
            .ok_or_else(|| Response::helper(format!("unknown handle `{name}`")))
    }

    fn run(&mut self, req: &Request) -> Response {
        match self.try_run(req) {
            Ok(r) | Err(r) => r,
        }
    }

    fn region(&self, m: &MEMORY_BASIC_INFORMATION) -> Region {
        let alloc = (!m.AllocationBase.is_null()).then_some(m.AllocationBase as u64);
        Region {
            base_address: self.names.relative(m.BaseAddress as u64, alloc),
            allocation_base: alloc.map(|a| self.names.relative(a, Some(a))),
            allocation_protect: m.AllocationProtect,
            region_size: m.RegionSize as u64,
            state: m.State,
            protect: m.Protect,
            kind: m.Type,
        }
    }

    fn query(addr: u64) -> Option<MEMORY_BASIC_INFORMATION> {
        // SAFETY: VirtualQuery writes at most the given length into the zeroed struct.
        let mut m: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
        let n = unsafe {
            VirtualQuery(
                addr as *const c_void,
                &mut m,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            )
        };
        (n != 0).then_some(m)
    }

    fn try_run(&mut self, req: &Request) -> Result<Response, Response> {
        // SAFETY: clears the thread's last-error value, so that a create-or-open call's
        // ERROR_ALREADY_EXISTS is its own.
        unsafe { SetLastError(0) };
        Ok(match req {
            Request::SystemInfo => {
                // SAFETY: GetSystemInfo fills the zeroed struct.
                let mut si: SYSTEM_INFO = unsafe { std::mem::zeroed() };
                unsafe { GetSystemInfo(&mut si) };
                Response::ok(Value::SystemInfo(SystemInfo {
                    page_size: si.dwPageSize,
                    allocation_granularity: si.dwAllocationGranularity,
                    minimum_application_address: si.lpMinimumApplicationAddress as u64,
                    maximum_application_address: si.lpMaximumApplicationAddress as u64,
                }))
            }
            Request::WineVersion => Response::ok(Value::Text(wine_version())),
            Request::Locate { region } => {
                let base = self.addr(&At::new(region, 0))?;
                Response::ok(Value::Number(base))
            }
            Request::VirtualAlloc {
                name,
                addr,
                size,
                kind,
                protect,
            } => {
                let a = match addr {
                    Some(at) => self.addr(at)?,
                    None => 0,
                };
                // SAFETY: VirtualAlloc only changes this process's address space; a bad
                // argument is an error return, not undefined behaviour.
                let p = unsafe {
                    VirtualAlloc(a as *const c_void, *size as usize, kind.bits(), *protect)
                };
                if p.is_null() {
                    return Err(last_error());
                }
                let p = p as u64;
                if let Some(n) = name {
                    self.names.insert(n, p);
                }
                let alloc = Self::query(p).map(|m| m.AllocationBase as u64);
                Response::ok(Value::Addr(self.names.relative(p, alloc)))
            }
            Request::VirtualFree { addr, size, kind } => {
                let a = self.addr(addr)?;
                // SAFETY: as VirtualAlloc; the scenario never frees memory Rust code uses.
                bool_result(unsafe { VirtualFree(a as *mut c_void, *size as usize, kind.bits()) })
            }
            Request::VirtualQuery { addr } => {
                let a = self.addr(addr)?;
                match Self::query(a) {
                    Some(m) => Response::ok(Value::Region(self.region(&m))),
                    None => last_error(),
                }
            }
            Request::QueryAllocation { region } => {
                let base = self.addr(&At::new(region, 0))?;
                let mut out = Vec::new();
                let mut a = base;
                while let Some(m) = Self::query(a) {
                    if m.AllocationBase as u64 != base || m.State == MEM_FREE {
                        break;
                    }
                    out.push(self.region(&m));
                    a += m.RegionSize as u64;
                }
                Response::ok(Value::Regions(out))
            }
            Request::Touch { addr, len } => {
                let a = self.addr(addr)?;
                access(a, *len, |p| {
                    let mut q = p;
                    let end = p + *len;
                    while q < end {
                        // SAFETY: a read of the scenario's memory; an access violation is
                        // caught by on_exception and ends the process, as on Windows.
                        unsafe { std::ptr::read_volatile(q as *const u8) };
                        q = (q & !0xfff) + 0x1000;
                    }
                    0
                });
                Response::ok(Value::None)
            }
            Request::Write { addr, len, byte } => {
                let a = self.addr(addr)?;
                access(a, *len, |p| {
                    // SAFETY: as Touch.
                    unsafe { std::ptr::write_bytes(p as *mut u8, *byte, *len as usize) };
                    0
                });
                Response::ok(Value::None)
            }
            Request::Read { addr, len } => {
                let a = self.addr(addr)?;
                let n = access(a, *len, |p| {
                    (0..*len)
                        // SAFETY: as Touch.
                        .filter(|i| unsafe { std::ptr::read_volatile((p + i) as *const u8) } != 0)
                        .count() as u64
                });
                Response::ok(Value::Number(n))
            }
            Request::ProcessMemoryInfo => {
                // SAFETY: the struct is zeroed and its size passed; GetCurrentProcess is a
                // pseudo-handle.
                let mut c: PROCESS_MEMORY_COUNTERS_EX = unsafe { std::mem::zeroed() };
                c.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS_EX>() as u32;
                let ok = unsafe {
                    K32GetProcessMemoryInfo(
                        GetCurrentProcess(),
                        &mut c as *mut PROCESS_MEMORY_COUNTERS_EX as *mut PROCESS_MEMORY_COUNTERS,
                        c.cb,
                    )
                };
                if ok == 0 {
                    return Err(last_error());
                }
                Response::ok(Value::Counters(ProcessMemoryCounters {
                    page_fault_count: c.PageFaultCount,
                    peak_working_set_size: c.PeakWorkingSetSize as u64,
                    working_set_size: c.WorkingSetSize as u64,
                    quota_peak_paged_pool_usage: c.QuotaPeakPagedPoolUsage as u64,
                    quota_paged_pool_usage: c.QuotaPagedPoolUsage as u64,
                    quota_peak_non_paged_pool_usage: c.QuotaPeakNonPagedPoolUsage as u64,
                    quota_non_paged_pool_usage: c.QuotaNonPagedPoolUsage as u64,
                    pagefile_usage: c.PagefileUsage as u64,
                    peak_pagefile_usage: c.PeakPagefileUsage as u64,
                    private_usage: c.PrivateUsage as u64,
                }))
            }
            Request::PerformanceInfo => {
                // SAFETY: the struct is zeroed and its size passed.
                let mut p: PERFORMANCE_INFORMATION = unsafe { std::mem::zeroed() };
                p.cb = std::mem::size_of::<PERFORMANCE_INFORMATION>() as u32;
                if unsafe { K32GetPerformanceInfo(&mut p, p.cb) } == 0 {
                    return Err(last_error());
                }
                Response::ok(Value::Performance(PerformanceInformation {
                    commit_total: p.CommitTotal as u64,
                    commit_limit: p.CommitLimit as u64,
                    commit_peak: p.CommitPeak as u64,
                    physical_total: p.PhysicalTotal as u64,
                    physical_available: p.PhysicalAvailable as u64,
                    system_cache: p.SystemCache as u64,
                    kernel_total: p.KernelTotal as u64,
                    kernel_paged: p.KernelPaged as u64,
                    kernel_nonpaged: p.KernelNonpaged as u64,
                    page_size: p.PageSize as u64,
                    handle_count: p.HandleCount,
                    process_count: p.ProcessCount,
                    thread_count: p.ThreadCount,
                }))
            }
            Request::MemoryStatus => {
                // SAFETY: dwLength set as the call requires.
                let mut m: MEMORYSTATUSEX = unsafe { std::mem::zeroed() };
                m.dwLength = std::mem::size_of::<MEMORYSTATUSEX>() as u32;
                if unsafe { GlobalMemoryStatusEx(&mut m) } == 0 {
                    return Err(last_error());
                }
                Response::ok(Value::MemoryStatus(MemoryStatusEx {
                    memory_load: m.dwMemoryLoad,
                    total_phys: m.ullTotalPhys,
                    avail_phys: m.ullAvailPhys,
                    total_page_file: m.ullTotalPageFile,
                    avail_page_file: m.ullAvailPageFile,
                    total_virtual: m.ullTotalVirtual,
                    avail_virtual: m.ullAvailVirtual,
                    avail_extended_virtual: m.ullAvailExtendedVirtual,
                }))
            }
            Request::CreateJob { name, os_name } => {
                let wide = os_name.as_deref().map(wide);
                // SAFETY: default security; the name, when given, is NUL-terminated UTF-16 that
                // outlives the call.
                let h = unsafe {
                    CreateJobObjectW(
                        std::ptr::null(),
                        wide.as_ref().map_or(std::ptr::null(), |w| w.as_ptr()),
                    )
                };
                if h.is_null() {
                    return Err(last_error());
                }
                self.handles.insert(name.clone(), h);
                opened()
            }
            Request::SetJobLimits { job, limits } => {
                let h = self.handle(job)?;
                // SAFETY: a zeroed extended-limit struct with the fields the model knows set,
                // its exact size passed.
                let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
                info.BasicLimitInformation.LimitFlags = limits.limit_flags;
                info.BasicLimitInformation.MinimumWorkingSetSize =
                    limits.minimum_working_set_size as usize;
                info.BasicLimitInformation.MaximumWorkingSetSize =
                    limits.maximum_working_set_size as usize;
                info.ProcessMemoryLimit = limits.process_memory_limit as usize;
                info.JobMemoryLimit = limits.job_memory_limit as usize;
                bool_result(unsafe {
                    SetInformationJobObject(
                        h,
                        JobObjectExtendedLimitInformation,
                        &info as *const _ as *const c_void,
                        std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                    )
                })
            }
            Request::AssignToJob { job } => {
                let h = self.handle(job)?;
                // SAFETY: a job handle we created and the pseudo-handle of this process.
                bool_result(unsafe { AssignProcessToJobObject(h, GetCurrentProcess()) })
            }
            Request::QueryJob { job } => {
                let h = self.handle(job)?;
                // SAFETY: the zeroed struct and its size; the returned length is not needed.
                let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
                let ok = unsafe {
                    QueryInformationJobObject(
                        h,
                        JobObjectExtendedLimitInformation,
                        &mut info as *mut _ as *mut c_void,
                        std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                        std::ptr::null_mut(),
                    )
                };
                if ok == 0 {
                    return Err(last_error());
                }
                Response::ok(Value::Job(JobLimits {
                    limit_flags: info.BasicLimitInformation.LimitFlags,
                    minimum_working_set_size: info.BasicLimitInformation.MinimumWorkingSetSize
                        as u64,
                    maximum_working_set_size: info.BasicLimitInformation.MaximumWorkingSetSize
                        as u64,
                    process_memory_limit: info.ProcessMemoryLimit as u64,
                    job_memory_limit: info.JobMemoryLimit as u64,
                    peak_process_memory_used: info.PeakProcessMemoryUsed as u64,
                    peak_job_memory_used: info.PeakJobMemoryUsed as u64,
                }))
            }
            Request::CreateSection {
                name,
                size,
                kind,
                protect,
                os_name,
            } => {
                let wide = os_name.as_deref().map(wide);
                let sec = match kind {
                    SectionKind::Commit => SEC_COMMIT,
                    SectionKind::Reserve => SEC_RESERVE,
                };
                let (hi, lo) = halves(*size);
                // SAFETY: a pagefile-backed section (INVALID_HANDLE_VALUE); the name as for
                // CreateJob.
                let h = unsafe {
                    CreateFileMappingW(
                        INVALID_HANDLE_VALUE,
                        std::ptr::null(),
                        *protect | sec,
                        hi,
                        lo,
                        wide.as_ref().map_or(std::ptr::null(), |w| w.as_ptr()),
                    )
                };
                if h.is_null() {
                    return Err(last_error());
                }
                self.handles.insert(name.clone(), h);
                opened()
            }
            Request::MapView {
                section,
                name,
                access,
                offset,
                size,
            } => {
                let h = self.handle(section)?;
                let (hi, lo) = halves(*offset);
                // SAFETY: a section handle we created; the view is new address space.
                let v = unsafe { MapViewOfFile(h, access.bits(), hi, lo, *size as usize) };
                if v.Value.is_null() {
                    return Err(last_error());
                }
                let p = v.Value as u64;
                self.names.insert(name, p);
                Response::ok(Value::Addr(self.names.relative(p, Some(p))))
            }
            Request::UnmapView { region } => {
                let a = self.addr(&At::new(region, 0))?;
                // SAFETY: unmapping a view of ours that no Rust reference points into.
                bool_result(unsafe {
                    UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                        Value: a as *mut c_void,
                    })
                })
            }
            Request::Close { handle } => {
                let h = self.handle(handle)?;
                self.handles.remove(handle);
                // SAFETY: a handle we created, closed once (removed from the table first).
                bool_result(unsafe { CloseHandle(h) })
            }
            Request::Exit => Response::ok(Value::None),
        })
    }
}

/// A NUL-terminated UTF-16 copy of `s`, for the `W` calls.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Success of a create-or-open call: `error` carries ERROR_ALREADY_EXISTS when an object of
/// that name was opened rather than made (GetLastError is set on success there).
fn opened() -> Response {
    // SAFETY: reads the thread's last-error value.
    let code = unsafe { GetLastError() };
    Response {
        error: (code == ERROR_ALREADY_EXISTS).then_some(code),
        ..Response::ok(Value::None)
    }
}

/// Run `f` on `[addr, addr+len)` with access violations reported as the scenario's.
fn access(addr: u64, len: u64, f: impl FnOnce(u64) -> u64) -> u64 {
    if len == 0 {
        return 0;
    }
    IN_ACCESS.store(true, Ordering::SeqCst);
    let r = f(addr);
    IN_ACCESS.store(false, Ordering::SeqCst);
    r
}

/// `ntdll!wine_get_version`, present only under Wine (shared/toolchain.md).
fn wine_version() -> Option<String> {
    // SAFETY: looks up an export by name; when present it is `const char *(void)` returning a
    // static NUL-terminated string.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr() as *const u8);
        if ntdll.is_null() {
            return None;
        }
        let f = GetProcAddress(ntdll, c"wine_get_version".as_ptr() as *const u8)?;
        let f: unsafe extern "C" fn() -> *const std::ffi::c_char = std::mem::transmute(f);
        let s = f();
        (!s.is_null()).then(|| std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned())
    }
}
