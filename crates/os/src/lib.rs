//! vmlab-os: the real-OS backend. The same `vmlab_core::op::Op` values the simulator applies are
//! executed by real processes (one helper process per scenario process, driven over pipes), the
//! kernel's /proc files are read back, and [`check`] compares the two step by step.
//!
//! One module per platform behind one API, picked by `cfg`: `linux` (real syscalls) and `stub`
//! (every call says [`BackendError::Unsupported`]); a `windows` module joins them later.
//! Parsing of /proc text is pure and lives in `vmlab_core::procfs_parse`, so it builds for wasm.
//!
//! This crate allows `unsafe` (the workspace denies it): syscalls live here, each `unsafe` block
//! says why it is sound in a `// SAFETY:` comment.

pub mod check;
pub mod host;
pub mod marker;
pub mod protocol;
pub mod wincheck;

#[cfg(target_os = "linux")]
pub mod helper;
#[cfg(target_os = "linux")]
pub mod helper_alloc;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub mod memcg;
#[cfg(target_os = "linux")]
mod sigguard;
#[cfg(target_os = "linux")]
use linux as imp;
/// The real-case lock and the sysctl guard, for tests that hold them directly.
#[cfg(target_os = "linux")]
pub use linux::{RealLock, SysctlGuard};
#[cfg(not(target_os = "linux"))]
mod stub;
#[cfg(not(target_os = "linux"))]
use stub as imp;

pub use check::{check, check_with, Mismatch, Report, StepResult};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use vmlab_core::op::{Op, Outcome};
use vmlab_core::procfs_parse::{KeyValues, MapsEntry, MemcgV1, OomKill, SmapsEntry};

/// What went wrong talking to the OS: the call, the path and what the OS said.
#[derive(Debug)]
pub enum BackendError {
    /// This platform, or this operation on a real machine, is not implemented.
    Unsupported(String),
    /// Real cases need root (sysctls, /proc of other processes, pidfd_getfd).
    NotRoot,
    Os {
        call: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    Parse(String),
    /// The helper said something unexpected, or nothing in time.
    Protocol(String),
    NoSuchProcess(String),
    NoSuchMapping(String, String),
}

impl BackendError {
    pub fn os(call: &'static str, path: &Path, error: std::io::Error) -> BackendError {
        BackendError::Os {
            call,
            path: path.to_path_buf(),
            error,
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Unsupported(what) => write!(f, "not supported: {what}"),
            BackendError::NotRoot => f.write_str(
                "real cases need root (they set vm.* sysctls for the length of one operation, \
                 read /proc of their helper processes and take fds with pidfd_getfd)",
            ),
            BackendError::Os { call, path, error } => {
                write!(f, "{call} {}: {error}", path.display())
            }
            BackendError::Parse(m) => write!(f, "cannot parse {m}"),
            BackendError::Protocol(m) => write!(f, "helper protocol: {m}"),
            BackendError::NoSuchProcess(p) => write!(f, "no live process named `{p}`"),
            BackendError::NoSuchMapping(p, m) => write!(f, "process `{p}` has no mapping `{m}`"),
        }
    }
}

impl std::error::Error for BackendError {}

/// How to start a helper: the program and the arguments before the backend's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl HelperCommand {
    /// The `vmlab` binary itself: `vmlab __helper` (the CLI's hidden subcommand).
    pub fn current_exe_subcommand(sub: &str) -> Result<HelperCommand, BackendError> {
        let program = std::env::current_exe()
            .map_err(|e| BackendError::os("current_exe", Path::new("/proc/self/exe"), e))?;
        Ok(HelperCommand {
            program,
            args: vec![sub.to_string()],
        })
    }
}

/// The sysctls a real case may set (held for one operation at a time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioSysctls {
    pub overcommit_memory: u64,
    pub overcommit_ratio: u64,
    pub overcommit_kbytes: u64,
    pub max_map_count: u64,
    /// The mode-2 reserve kept from tasks without CAP_SYS_ADMIN (mm/util.c: __vm_enough_memory).
    pub admin_reserve_kbytes: u64,
}

impl ScenarioSysctls {
    pub fn of(cfg: &vmlab_core::config::LinuxConfig) -> ScenarioSysctls {
        ScenarioSysctls {
            overcommit_memory: cfg.sysctls.overcommit_memory.sysctl_value(),
            overcommit_ratio: cfg.sysctls.overcommit_ratio,
            overcommit_kbytes: cfg.sysctls.overcommit_kbytes,
            max_map_count: cfg.sysctls.max_map_count,
            admin_reserve_kbytes: cfg.sysctls.admin_reserve_kbytes,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RealOptions {
    pub helper: HelperCommand,
    /// What the scenario's machine line asks for; written around each operation.
    pub sysctls: ScenarioSysctls,
    /// What relative sizes (`30%ram`) resolve against: the host's.
    pub ram_bytes: u64,
    pub swap_bytes: u64,
    /// At most this many bytes may be touched (written, read or populated) over the machine's
    /// life; an operation that would pass it is refused as unsupported before it runs, so a
    /// scenario written for a simulated terabyte cannot fill the host's RAM.
    pub touch_limit_bytes: u64,
}

/// The default touch limit: 1 GiB, well under what a shared host can spare.
pub const DEFAULT_TOUCH_LIMIT_BYTES: u64 = 1 << 30;

/// One live process as the kernel shows it, with the backend's name table.
#[derive(Clone, Debug)]
pub struct ProcObservation {
    pub pid: u32,
    pub maps: Vec<MapsEntry>,
    pub smaps: Vec<SmapsEntry>,
    pub status: KeyValues,
    pub oom_score: i64,
    /// Scenario mapping name → (address, length in bytes) as last mapped or remapped; the
    /// scenario's part of `[heap]` is the entry `[heap]`.
    pub names: BTreeMap<String, (u64, u64)>,
    /// A vfork child that has not exec'd: the process whose mm it shares (so the mm's numbers
    /// are counted once).
    pub shares_mm_with: Option<String>,
}

/// A scenario process that died without the scenario ending it: an OOM kill (its reply pipe
/// closed; `waitpid` says SIGKILL) or a fatal signal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Death {
    pub proc: String,
    pub pid: u32,
    /// The signal that ended it, when the backend could `waitpid` it (helpers it spawned; a
    /// fork child is its parent helper's to reap).
    pub signal: Option<i32>,
    pub exit_code: Option<i32>,
    /// How many operations had been applied when the backend saw it dead.
    pub after_op: usize,
}

/// The backend API, in core's vocabulary: an `Op` in, an `Outcome` out; observations on demand.
pub trait Backend {
    fn apply(&mut self, op: &Op) -> Result<Outcome, BackendError>;
    /// `None` when the process is not alive.
    fn observe(&self, proc: &str) -> Result<Option<ProcObservation>, BackendError>;
    fn meminfo(&self) -> Result<KeyValues, BackendError>;
    /// The scenario processes that are alive.
    fn live(&self) -> Vec<String>;
}

/// A real machine: this host, driven through helper processes. Holds the global real-case lock
/// for its whole life; dropping it kills every helper and restores nothing else, because the
/// sysctls are restored after every operation.
pub struct RealMachine(imp::RealMachine);

impl RealMachine {
    pub fn start(opts: &RealOptions) -> Result<RealMachine, BackendError> {
        imp::RealMachine::start(opts).map(RealMachine)
    }
    /// The marker on every helper's command line.
    pub fn token(&self) -> &str {
        self.0.token()
    }
    /// The host's sysctl values, read at start (and restored after every operation).
    pub fn host_sysctls(&self) -> &ScenarioSysctls {
        self.0.host_sysctls()
    }
    /// Kill every helper and remove every file, directory and SysV segment of the machine,
    /// then check (before the lock is released) that nothing is left: the host's sysctls, no
    /// helper alive, nothing of ours in /tmp, /dev/shm or SysV shm. One sentence per leftover.
    pub fn finish(self) -> Vec<String> {
        self.0.finish()
    }
    /// The processes that died without the scenario ending them (OOM kills), so far.
    pub fn deaths(&self) -> &[Death] {
        self.0.deaths()
    }
    /// Every memory cgroup the machine made (and has not removed), its v1 files read now.
    pub fn cgroups(&self) -> Result<BTreeMap<String, MemcgV1>, BackendError> {
        self.0.cgroups()
    }
    /// One cgroup's v1 files now; `""` is the machine's own directory.
    pub fn cgroup(&self, path: &str) -> Result<MemcgV1, BackendError> {
        self.0.cgroup(path)
    }
    /// The real directory of the machine's cgroups.
    pub fn cgroup_dir(&self) -> &Path {
        self.0.cgroup_dir()
    }
    /// Send a write or read without waiting: the process may sleep in the kernel (a v1 memcg
    /// with `oom_kill_disable 1` at its limit). [`RealMachine::complete`] reads the outcome.
    pub fn begin(&mut self, op: &Op) -> Result<(), BackendError> {
        self.0.begin(op)
    }
    /// The outcome of what `begin` sent, waiting up to `timeout`; `None` while it is blocked.
    pub fn complete(
        &mut self,
        proc: &str,
        timeout: std::time::Duration,
    ) -> Result<Option<Outcome>, BackendError> {
        self.0.complete(proc, timeout)
    }
    /// Every OOM kill of one of the machine's processes that the kernel logged since the
    /// machine started (scenario name, the parsed report), in the kernel's order.
    pub fn oom_kills(&mut self) -> Result<Vec<(String, OomKill)>, BackendError> {
        self.0.oom_kills()
    }
    /// The pid of a scenario process (alive or not).
    pub fn pid_of(&self, proc: &str) -> Option<u32> {
        self.0.pid_of(proc)
    }
    /// The process's scheduler state (`R`, `S`, `D`, …), `None` when it is gone.
    pub fn sched_state(&self, proc: &str) -> Option<char> {
        self.0.sched_state(proc)
    }
    /// The memory cgroup whose OOM `proc`'s outstanding request sleeps in, if it does.
    pub fn waits_in_memcg_oom(&self, proc: &str) -> Option<String> {
        self.0.waits_in_memcg_oom(proc)
    }
}

impl Backend for RealMachine {
    fn apply(&mut self, op: &Op) -> Result<Outcome, BackendError> {
        self.0.apply(op)
    }
    fn observe(&self, proc: &str) -> Result<Option<ProcObservation>, BackendError> {
        self.0.observe(proc)
    }
    fn meminfo(&self) -> Result<KeyValues, BackendError> {
        self.0.meminfo()
    }
    fn live(&self) -> Vec<String> {
        self.0.live()
    }
}

/// Whether this process runs as root (real cases need it).
pub fn is_root() -> bool {
    imp::is_root()
}

/// Live processes whose command line carries `token` (helpers that outlived their machine).
pub fn leftover_helpers(token: &str) -> Vec<u32> {
    imp::processes_with_token(token)
}

/// The SysV segments that still exist in the key namespace of process `pid` (a machine's keys,
/// see `linux::shm_key`); empty once every machine of that process is dropped.
pub fn leftover_shm_segments(pid: u32) -> Vec<i32> {
    imp::shm_segments_of(pid)
}

/// Memory cgroups under the host's v1 root whose names start with `prefix` (a machine's
/// directory is named after its token, `vmlab-os-PID-N`): what a test process left behind.
pub fn leftover_cgroups(prefix: &str) -> Vec<PathBuf> {
    imp::leftover_cgroups(prefix)
}

/// The current values of the four sysctls a real case may set.
pub fn current_sysctls() -> Result<ScenarioSysctls, BackendError> {
    imp::current_sysctls()
}
