//! The real Linux backend: each scenario process is a helper process (crate::helper) driven over
//! pipes; `vm.*` sysctls the scenario sets are written only around each operation, by a guard
//! that restores the host's values (also on panic); every helper is killed when the machine is
//! dropped. Real machines serialize on one lock file, across threads and processes.

pub use crate::memcg::leftover_cgroups;
use crate::memcg::CgroupTree;
use crate::protocol::{FileArg, Reply, Request};
use crate::{BackendError, Death, HelperCommand, ProcObservation, RealOptions, ScenarioSysctls};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vmlab_core::config::Sysctl;
use vmlab_core::op::{Backing, BrkChange, Errno, ForkKind, Op, Outcome, Placement, Signal, Target};
use vmlab_core::procfs_parse::{self, KeyValues};

/// How long one operation may take before the helper is declared stuck.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
const PAGE: u64 = 4096;

/// The lock every real machine holds for its whole life (flock: per open file, so two machines in
/// one process exclude each other too).
pub struct RealLock {
    _file: File,
}

impl RealLock {
    pub fn acquire() -> Result<RealLock, BackendError> {
        let path = std::env::temp_dir().join("vmlab-os-real.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| BackendError::os("open", &path, e))?;
        loop {
            // SAFETY: flock on an fd this function owns.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                return Ok(RealLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(BackendError::os("flock", &path, e));
            }
        }
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn sysctl_path(s: Sysctl) -> PathBuf {
    Path::new("/proc/sys/vm").join(s.name())
}

pub fn read_sysctl(s: Sysctl) -> Result<u64, BackendError> {
    let p = sysctl_path(s);
    let t = std::fs::read_to_string(&p).map_err(|e| BackendError::os("read", &p, e))?;
    t.trim().parse().map_err(|_| {
        BackendError::Parse(format!("{}: `{}` is not a number", p.display(), t.trim()))
    })
}

fn write_sysctl(s: Sysctl, v: u64) -> Result<(), std::io::Error> {
    let p = sysctl_path(s);
    let mut f = std::fs::OpenOptions::new().write(true).open(p)?;
    f.write_all(format!("{v}\n").as_bytes())
}

/// The five sysctls a real case may change, in the order they are set (overcommit_memory last,
/// so mode 2 starts as late as possible) and restored (overcommit_memory first).
pub fn current_sysctls() -> Result<ScenarioSysctls, BackendError> {
    read_scenario_sysctls()
}

fn read_scenario_sysctls() -> Result<ScenarioSysctls, BackendError> {
    Ok(ScenarioSysctls {
        overcommit_memory: read_sysctl(Sysctl::OvercommitMemory)?,
        overcommit_ratio: read_sysctl(Sysctl::OvercommitRatio)?,
        overcommit_kbytes: read_sysctl(Sysctl::OvercommitKbytes)?,
        max_map_count: read_sysctl(Sysctl::MaxMapCount)?,
        admin_reserve_kbytes: read_sysctl(Sysctl::AdminReserveKbytes)?,
    })
}

fn write_all_sysctls(from: &ScenarioSysctls, to: &ScenarioSysctls) -> Result<(), std::io::Error> {
    // Writing overcommit_ratio zeroes overcommit_kbytes and the reverse (mm/util.c:
    // overcommit_ratio_handler, overcommit_kbytes_handler): write the non-zero one last.
    if from.overcommit_memory != to.overcommit_memory && to.overcommit_memory != 2 {
        write_sysctl(Sysctl::OvercommitMemory, to.overcommit_memory)?;
    }
    if from.overcommit_ratio != to.overcommit_ratio
        || from.overcommit_kbytes != to.overcommit_kbytes
    {
        write_sysctl(Sysctl::OvercommitRatio, to.overcommit_ratio)?;
        if to.overcommit_kbytes != 0 {
            write_sysctl(Sysctl::OvercommitKbytes, to.overcommit_kbytes)?;
        }
    }
    if from.max_map_count != to.max_map_count {
        write_sysctl(Sysctl::MaxMapCount, to.max_map_count)?;
    }
    if from.admin_reserve_kbytes != to.admin_reserve_kbytes {
        write_sysctl(Sysctl::AdminReserveKbytes, to.admin_reserve_kbytes)?;
    }
    if from.overcommit_memory != to.overcommit_memory && to.overcommit_memory == 2 {
        write_sysctl(Sysctl::OvercommitMemory, to.overcommit_memory)?;
    }
    Ok(())
}

/// Holds the scenario's sysctls for one operation; `Drop` (also during a panic) writes the host's
/// values back and checks that they read back.
pub struct SysctlGuard {
    host: ScenarioSysctls,
    /// Whether anything was written (a scenario that keeps the host's values writes nothing).
    active: bool,
}

impl SysctlGuard {
    pub fn set(
        host: &ScenarioSysctls,
        want: &ScenarioSysctls,
    ) -> Result<SysctlGuard, BackendError> {
        let g = SysctlGuard {
            host: host.clone(),
            active: host != want,
        };
        if !g.active {
            return Ok(g);
        }
        // On a failed write the guard's Drop still restores whatever was written.
        write_all_sysctls(host, want)
            .map_err(|e| BackendError::os("write", Path::new("/proc/sys/vm"), e))?;
        Ok(g)
    }
}

impl Drop for SysctlGuard {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        // overcommit_memory first: mode 2 ends before anything else is written. Write every value
        // (not only the differing ones): a write that failed half-way left unknown state.
        let _ = write_sysctl(Sysctl::OvercommitMemory, self.host.overcommit_memory);
        let _ = write_sysctl(Sysctl::OvercommitRatio, self.host.overcommit_ratio);
        if self.host.overcommit_kbytes != 0 {
            let _ = write_sysctl(Sysctl::OvercommitKbytes, self.host.overcommit_kbytes);
        }
        let _ = write_sysctl(Sysctl::MaxMapCount, self.host.max_map_count);
        let _ = write_sysctl(Sysctl::AdminReserveKbytes, self.host.admin_reserve_kbytes);
        if read_scenario_sysctls().ok().as_ref() != Some(&self.host) {
            // Nothing else can be done from a destructor; say so loudly.
            eprintln!(
                "vmlab-os: could not restore vm sysctls to {:?}; check /proc/sys/vm",
                self.host
            );
        }
    }
}

/// One scenario process: its helper, its pipes and its name → (address, length) table.
struct Proc {
    pid: i32,
    req: File,
    resp: OwnedFd,
    rbuf: Vec<u8>,
    /// The `Child` when the backend spawned it (fork children are the helpers' children).
    child: Option<Child>,
    /// Signals and waits go through a pidfd, so a pid reused after the helper died (a fork
    /// child is reaped by its parent helper or by init, not by us) is never signalled.
    pidfd: OwnedFd,
    names: BTreeMap<String, (u64, u64)>,
    alive: bool,
    /// The break when the scenario first moved it in this mm (the helper's own heap lies below:
    /// the model's start_brk). Read on first use; inherited by fork and vfork, reset by exec.
    brk_base: Option<u64>,
    /// Set on a vfork child until it execs: the process whose mm it shares.
    vfork_parent: Option<String>,
    /// It runs on the helper's one vfork stack: a vfork child, or a fork of one, until it
    /// execs. A vfork from it would run its child on the stack it stands on.
    on_vfork_stack: bool,
    /// How a spawned helper ended (`waitpid`), once it has.
    status: Option<std::process::ExitStatus>,
    /// The scenario ended it (`exit`, `kill`): not a death to report.
    asked_to_end: bool,
    /// Its death is in the machine's list already.
    death_reported: bool,
    /// A request was sent by `begin` and its reply not read yet.
    pending: bool,
}

impl Proc {
    /// A new Proc's bookkeeping fields: alive, nothing asked, nothing reported.
    fn fresh(
        pid: i32,
        pidfd: OwnedFd,
        req: File,
        resp: OwnedFd,
        child: Option<Child>,
        names: BTreeMap<String, (u64, u64)>,
    ) -> Proc {
        Proc {
            pid,
            req,
            resp,
            rbuf: Vec::new(),
            child,
            pidfd,
            names,
            alive: true,
            brk_base: None,
            vfork_parent: None,
            on_vfork_stack: false,
            status: None,
            asked_to_end: false,
            death_reported: false,
            pending: false,
        }
    }

    /// Whether the process has exited (its pidfd is readable), waiting up to `ms`.
    fn exited_within(&self, ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, valid for the call.
        unsafe { libc::poll(&mut pfd, 1, ms) == 1 }
    }

    fn send(&mut self, req: &Request) -> Result<(), BackendError> {
        let mut s =
            serde_json::to_string(req).map_err(|e| BackendError::Protocol(e.to_string()))?;
        s.push('\n');
        self.req
            .write_all(s.as_bytes())
            .map_err(|e| BackendError::Protocol(format!("helper {}: write: {e}", self.pid)))
    }

    /// The next reply, `None` at EOF (the helper died without a word: SIGKILL).
    fn recv(&mut self) -> Result<Option<Reply>, BackendError> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some(i) = self.rbuf.iter().position(|&b| b == b'\n') {
                let rest = self.rbuf.split_off(i + 1);
                let line = std::mem::replace(&mut self.rbuf, rest);
                return serde_json::from_slice(&line).map(Some).map_err(|e| {
                    BackendError::Protocol(format!(
                        "helper {}: bad reply {:?}: {e}",
                        self.pid,
                        String::from_utf8_lossy(&line)
                    ))
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BackendError::Protocol(format!(
                    "helper {} did not reply within {REPLY_TIMEOUT:?}",
                    self.pid
                )));
            }
            let mut pfd = libc::pollfd {
                fd: self.resp.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // In slices, so a helper asleep in a memcg OOM is told from a slow one.
            let slice = left.min(STUCK_CHECK_AFTER);
            // SAFETY: one pollfd, valid for the call.
            let r = unsafe { libc::poll(&mut pfd, 1, slice.as_millis() as i32) };
            if r == 0 {
                if let Some(cg) = waiting_in_memcg_oom(self.pid) {
                    // The reply comes when the cgroup has room again: `complete` reads it.
                    self.pending = true;
                    return Err(BackendError::Unsupported(format!(
                        "helper {} waits in memory cgroup {cg}'s OOM (oom_kill_disable 1, \
                         under_oom 1) until its limit rises or memory is freed: send such an \
                         operation with RealMachine::begin and read it with complete",
                        self.pid
                    )));
                }
            }
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(BackendError::Protocol(format!("poll: {e}")));
            }
            if r == 0 {
                continue;
            }
            let mut chunk = [0u8; 4096];
            // SAFETY: reading into a local array of its own length.
            let n = unsafe {
                libc::read(
                    self.resp.as_raw_fd(),
                    chunk.as_mut_ptr().cast(),
                    chunk.len(),
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(BackendError::Protocol(format!("read: {e}")));
            }
            if n == 0 {
                return Ok(None);
            }
            self.rbuf.extend_from_slice(&chunk[..n as usize]);
        }
    }

    fn call(&mut self, req: &Request) -> Result<Option<Reply>, BackendError> {
        self.send(req)?;
        self.recv()
    }

    /// Wait until the process is gone (reaped, or a zombie of a parent that will reap it).
    fn wait_gone(&mut self) {
        self.alive = false;
        crate::sigguard::remove_helper(self.pid);
        if let Some(c) = self.child.as_mut() {
            self.status = c.wait().ok();
            return;
        }
        // A pidfd becomes readable when its process exits.
        let mut pfd = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, valid for the call.
        unsafe { libc::poll(&mut pfd, 1, 5000) };
    }

    fn kill(&mut self) {
        if self.alive {
            self.asked_to_end = true;
            // SAFETY: pidfd_send_signal on a pidfd this Proc owns; it can only reach the helper.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    self.pidfd.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            self.wait_gone();
        }
    }
}

/// Whether a pid exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            // The state follows the parenthesised command name.
            let state = s
                .rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

pub struct RealMachine {
    helper: HelperCommand,
    /// The host's values, restored after every operation.
    host_sysctls: ScenarioSysctls,
    /// What the scenario has set (the simulator's values).
    want_sysctls: ScenarioSysctls,
    ram_bytes: u64,
    swap_bytes: u64,
    /// Bytes that may still be touched (RealOptions::touch_limit_bytes less what was asked).
    touch_left_bytes: u64,
    procs: BTreeMap<String, Proc>,
    /// Helpers whose scenario name was taken again (the simulator freed it after a failure the
    /// kernel did not have); still killed at the end.
    orphans: Vec<Proc>,
    files_dir: PathBuf,
    shm: ShmKeys,
    tmpfs: TmpfsDir,
    /// The machine's memory cgroups (v1), removed by `cleanup`.
    cgroups: CgroupTree,
    /// Processes that died without the scenario ending them (OOM kills, fatal signals), in
    /// the order the backend saw them.
    deaths: Vec<Death>,
    /// Operations applied so far (a death's `after_op` counts them).
    ops_applied: usize,
    /// The kernel log since the machine started (`None`: /dev/kmsg could not be opened), and
    /// the messages read from it so far.
    kmsg: Option<crate::memcg::Kmsg>,
    kmsg_lines: Vec<String>,
    token: String,
    _lock: RealLock,
}

/// The SysV keys of one machine: the scenario's key names become real keys in a namespace of
/// this process's own (see [`shm_key`]), and every segment made is removed at the end.
#[derive(Default)]
struct ShmKeys {
    /// Scenario key → its index in the namespace (stable for the machine's life).
    index: BTreeMap<String, u32>,
    /// Scenario key → the id of its live segment (until `shmrm`).
    ids: BTreeMap<String, i32>,
    /// Every id a shmget returned.
    made: Vec<i32>,
}

/// The real key for index `n` of this process's namespace: bit 30, the pid's low 22 bits, then
/// `n` (at most 256 keys per machine). Real machines serialize on the lock, and a key names
/// its creator's process, so [`leftover_shm_segments`] can find what a test left.
pub fn shm_key(pid: u32, n: u32) -> i32 {
    (0x4000_0000 | ((pid & 0x3f_ffff) << 8) | (n & 0xff)) as i32
}

/// The backend's tmpfs directory, /dev/shm/TOKEN, made on first use (and checked to be tmpfs).
struct TmpfsDir {
    path: PathBuf,
    made: bool,
    /// The scenario paths used as tmpfs files, and those used as regular files (in files_dir).
    paths: std::collections::BTreeSet<String>,
    regular: std::collections::BTreeSet<String>,
}

/// The name-table entry of the scenario's part of `[heap]` (no scenario name has brackets).
const HEAP: &str = "[heap]";

/// A scenario path as one file name in a directory the backend owns.
fn safe_file_name(path: &str) -> String {
    path.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// TMPFS_MAGIC (include/uapi/linux/magic.h).
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// The kernel's errno as the model names it; one the model has no name for stops the check
/// (a clear error, never a substitute errno).
fn errno_of(e: i32) -> Result<Outcome, BackendError> {
    match Errno::ALL.into_iter().find(|&m| libc_errno(m) == e) {
        Some(m) => Ok(Outcome::Err(m)),
        None => Err(BackendError::Unsupported(format!(
            "the kernel returned errno {e} ({}), which vmlab's model has no name for",
            std::io::Error::from_raw_os_error(e)
        ))),
    }
}

/// The kernel's number for each errno the model names (exhaustive: a new `Errno` must say it).
fn libc_errno(e: Errno) -> i32 {
    match e {
        Errno::ENOMEM => libc::ENOMEM,
        Errno::EACCES => libc::EACCES,
        Errno::EINVAL => libc::EINVAL,
        Errno::EEXIST => libc::EEXIST,
        Errno::ENOSPC => libc::ENOSPC,
        Errno::EPERM => libc::EPERM,
        Errno::ENOENT => libc::ENOENT,
        Errno::EFAULT => libc::EFAULT,
        Errno::EAGAIN => libc::EAGAIN,
        Errno::EOVERFLOW => libc::EOVERFLOW,
        Errno::EBUSY => libc::EBUSY,
    }
}

impl RealMachine {
    pub fn start(opts: &RealOptions) -> Result<RealMachine, BackendError> {
        if !is_root() {
            return Err(BackendError::NotRoot);
        }
        let lock = RealLock::acquire()?;
        let host_sysctls = read_scenario_sysctls()?;
        // Ctrl-C or SIGTERM from now on restores these and kills the helpers (sigguard.rs).
        crate::sigguard::arm(&host_sysctls);
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("vmlab-os-{}-{n}", std::process::id());
        let files_dir = std::env::temp_dir().join(&token);
        std::fs::create_dir_all(&files_dir)
            .map_err(|e| BackendError::os("mkdir", &files_dir, e))?;
        let tmpfs = TmpfsDir {
            path: Path::new("/dev/shm").join(&token),
            made: false,
            paths: Default::default(),
            regular: Default::default(),
        };
        Ok(RealMachine {
            helper: opts.helper.clone(),
            host_sysctls,
            want_sysctls: opts.sysctls.clone(),
            ram_bytes: opts.ram_bytes,
            swap_bytes: opts.swap_bytes,
            touch_left_bytes: opts.touch_limit_bytes,
            procs: BTreeMap::new(),
            orphans: Vec::new(),
            files_dir,
            shm: ShmKeys::default(),
            tmpfs,
            cgroups: CgroupTree::new(&token),
            deaths: Vec::new(),
            ops_applied: 0,
            kmsg: crate::memcg::Kmsg::open_at_end().ok(),
            kmsg_lines: Vec::new(),
            token,
            _lock: lock,
        })
    }

    /// The marker on every helper's command line (tests look for leftovers with it).
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn host_sysctls(&self) -> &ScenarioSysctls {
        &self.host_sysctls
    }

    fn guard(&self) -> Result<SysctlGuard, BackendError> {
        SysctlGuard::set(&self.host_sysctls, &self.want_sysctls)
    }

    /// Take `bytes` from the touch budget, or refuse the operation before it runs.
    fn spend_touch(&mut self, bytes: u64, what: &str) -> Result<(), BackendError> {
        if bytes > self.touch_left_bytes {
            return Err(BackendError::Unsupported(format!(
                "{what} would touch {bytes} bytes of real memory; {} are left of this check's \
                 limit (real cases stay far below the host's RAM)",
                self.touch_left_bytes
            )));
        }
        self.touch_left_bytes -= bytes;
        Ok(())
    }

    fn size(&self, s: vmlab_core::op::Size) -> u64 {
        s.resolve(self.ram_bytes, self.swap_bytes)
    }

    fn proc_mut(&mut self, name: &str) -> Result<&mut Proc, BackendError> {
        self.procs
            .get_mut(name)
            .filter(|p| p.alive)
            .ok_or_else(|| BackendError::NoSuchProcess(name.to_string()))
    }

    /// `(address, length)` of a target, as a C program would pass them (unsigned arithmetic).
    fn target(&mut self, proc: &str, t: &Target) -> Result<(u64, u64), BackendError> {
        let range = t.range.map(|(a, b)| (self.size(a), self.size(b)));
        let p = self.proc_mut(proc)?;
        let &(base, len) = p
            .names
            .get(&t.mapping)
            .ok_or_else(|| BackendError::NoSuchMapping(proc.into(), t.mapping.clone()))?;
        Ok(match range {
            None => (base, len),
            Some((s, e)) => (base.wrapping_add(s), e.wrapping_sub(s)),
        })
    }

    /// MREMAP_FIXED's address for a placement, computed as the simulator does (the model's
    /// mremap in crates/core/src/linux/mapops.rs): below/above a named mapping, page-rounded
    /// gap, wrapping as a C program's arithmetic would (the kernel then says EINVAL).
    fn mremap_fixed(
        &mut self,
        proc: &str,
        to: &Placement,
        len: u64,
    ) -> Result<Option<u64>, BackendError> {
        let p = self.proc_mut(proc)?;
        let na = match to {
            Placement::Any => return Ok(None),
            Placement::At(a) => *a,
            Placement::Below { of, gap } | Placement::Above { of, gap } => {
                let &(s, l) = p
                    .names
                    .get(of)
                    .ok_or_else(|| BackendError::NoSuchMapping(proc.into(), of.clone()))?;
                let gap = gap.wrapping_add(PAGE - 1) & !(PAGE - 1);
                if matches!(to, Placement::Below { .. }) {
                    s.wrapping_sub(gap).wrapping_sub(len)
                } else {
                    s.wrapping_add(l).wrapping_add(gap)
                }
            }
        };
        // MREMAP_FIXED unmaps whatever is at the target: never let it take the helper's own
        // memory (its code, heap, stack, pipes' buffers or fence). Every VMA there must lie in
        // a scenario mapping's range; a target the kernel refuses first (unaligned, past
        // TASK_SIZE) passes through to get its errno.
        let path = PathBuf::from(format!("/proc/{}/maps", p.pid));
        let text =
            std::fs::read_to_string(&path).map_err(|e| BackendError::os("read", &path, e))?;
        let maps = procfs_parse::parse_maps(&text)
            .map_err(|e| BackendError::Parse(format!("{}: {e}", path.display())))?;
        let end = na.saturating_add(len);
        for m in maps.iter().filter(|m| m.start < end && na < m.end) {
            let (a, b) = (m.start.max(na), m.end.min(end));
            if !p
                .names
                .values()
                .any(|&(s, l)| s <= a && b <= s.saturating_add(l))
            {
                return Err(BackendError::Unsupported(format!(
                    "MREMAP_FIXED onto {a:#x}-{b:#x}, which the helper itself maps (not a scenario mapping)"
                )));
            }
        }
        Ok(Some(na))
    }

    fn spawn(&mut self, name: &str, admin: bool, adj: i32) -> Result<Outcome, BackendError> {
        let mut cmd = Command::new(&self.helper.program);
        cmd.args(&self.helper.args).arg(&self.token);
        if admin {
            cmd.arg("--admin");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| BackendError::os("spawn", &self.helper.program, e))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BackendError::Protocol("no pipes to the helper".into()));
        };
        // A child not yet waited for keeps its pid: this pidfd is the helper's.
        let pidfd = match pidfd_open(child.id() as i32) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let mut p = Proc::fresh(
            child.id() as i32,
            pidfd,
            File::from(OwnedFd::from(stdin)),
            OwnedFd::from(stdout),
            Some(child),
            BTreeMap::new(),
        );
        match p.recv() {
            Ok(Some(Reply::Ok)) => {}
            other => {
                p.kill();
                return Err(BackendError::Protocol(format!(
                    "the helper {} did not start: {other:?}",
                    self.helper.program.display()
                )));
            }
        }
        if adj != 0 {
            let path = format!("/proc/{}/oom_score_adj", p.pid);
            if let Err(e) = std::fs::write(&path, format!("{adj}\n")) {
                p.kill();
                return Err(BackendError::os("write", Path::new(&path), e));
            }
        }
        self.insert(name, p);
        Ok(Outcome::Ok)
    }

    fn insert(&mut self, name: &str, p: Proc) {
        crate::sigguard::add_helper(p.pid);
        if let Some(old) = self.procs.insert(name.to_string(), p) {
            self.orphans.push(old);
        }
    }

    fn fork(&mut self, parent: &str, child: &str) -> Result<Outcome, BackendError> {
        let g = self.guard()?;
        let p = self.proc_mut(parent)?;
        let r = p.call(&Request::Fork)?;
        drop(g);
        let (pid, req_w, resp_r) = match r {
            Some(Reply::Forked {
                pid,
                req_w_fd,
                resp_r_fd,
            }) => (pid, req_w_fd, resp_r_fd),
            Some(Reply::Errno(e)) => return errno_of(e),
            Some(other) => return Err(BackendError::Protocol(format!("fork: {other:?}"))),
            None => {
                p.wait_gone();
                return Ok(Outcome::Killed {
                    signal: Signal::SIGKILL,
                });
            }
        };
        let parent_pid = p.pid;
        let names = p.names.clone();
        let brk_base = p.brk_base;
        let on_vfork_stack = p.on_vfork_stack;
        // The child is alive (blocked reading its pipe), so its pid is still its own.
        let child_pidfd = pidfd_open(pid);
        let taken = take_fds(parent_pid, req_w, resp_r);
        // The parent closes its copies whether or not they were taken; without its pipe ends
        // the child then reads EOF and exits.
        let done = p.call(&Request::ForkDone)?;
        let child_pidfd = child_pidfd?;
        let (req, resp) = taken?;
        if done != Some(Reply::Ok) {
            return Err(BackendError::Protocol(format!("fork done: {done:?}")));
        }
        self.insert(
            child,
            Proc {
                brk_base,
                on_vfork_stack,
                ..Proc::fresh(pid, child_pidfd, File::from(req), resp, None, names)
            },
        );
        Ok(Outcome::Ok)
    }

    /// Execute one operation on the real kernel, with the scenario's sysctls held around it.
    pub fn apply(&mut self, op: &Op) -> Result<Outcome, BackendError> {
        let by_vfork_child = op
            .proc()
            .and_then(|p| self.procs.get(p))
            .and_then(|p| p.vfork_parent.clone().map(|q| (p.names.clone(), q)));
        if let Some(p) = op.proc().and_then(|p| self.procs.get(p)) {
            if p.pending {
                return Err(BackendError::Protocol(format!(
                    "`{}`: its reply to an earlier request is still outstanding (begin without \
                     complete)",
                    op.proc().unwrap_or_default()
                )));
            }
        }
        let r = self.apply_op(op);
        if let (Some((before, parent)), Some(child)) = (by_vfork_child, op.proc()) {
            self.share_vfork_names(child, &parent, &before);
        }
        self.ops_applied += 1;
        self.reap();
        r
    }

    /// Notice every helper that died without the scenario ending it: the one whose pipe closed
    /// during the operation, and any other (the memcg OOM killer picks any task of the
    /// cgroup, not the one that faulted). While the machine has a cgroup, a helper with
    /// SIGKILL pending is awaited (up to 5 s) first, so a victim killed during the operation
    /// is seen dead after it (and its commitments gone), not one operation later; without
    /// one (no OOM kill of a bystander can happen: real cases never cause a global OOM) only
    /// the pidfds are polled, which keeps the Committed_AS window of `check` as short as it was.
    fn reap(&mut self) {
        let may_oom = !self.cgroups.paths().is_empty();
        for p in self.procs.values_mut().chain(self.orphans.iter_mut()) {
            if p.alive
                && (may_oom && sigkill_pending(p.pid) && p.exited_within(5000)
                    || p.exited_within(0))
            {
                p.wait_gone();
            }
        }
        let n = self.ops_applied;
        for (name, p) in self.procs.iter_mut() {
            if !p.alive && !p.asked_to_end && !p.death_reported {
                p.death_reported = true;
                use std::os::unix::process::ExitStatusExt;
                self.deaths.push(Death {
                    proc: name.clone(),
                    pid: p.pid as u32,
                    signal: p.status.and_then(|s| s.signal()),
                    exit_code: p.status.and_then(|s| s.code()),
                    after_op: n,
                });
            }
        }
    }

    /// The processes that died without the scenario ending them, so far.
    pub fn deaths(&self) -> &[Death] {
        &self.deaths
    }

    /// Every OOM kill of one of the machine's helpers that the kernel logged since the machine
    /// started, in the kernel's order, each with its candidate table; `Err` when /dev/kmsg
    /// cannot be read.
    pub fn oom_kills(
        &mut self,
    ) -> Result<Vec<(String, vmlab_core::procfs_parse::OomKill)>, BackendError> {
        let Some(k) = self.kmsg.as_mut() else {
            return Err(BackendError::Unsupported(
                "reading the kernel log: /dev/kmsg could not be opened".into(),
            ));
        };
        self.kmsg_lines.extend(k.read_new());
        let by_pid: BTreeMap<u64, String> = self
            .procs
            .iter()
            .map(|(n, p)| (p.pid as u64, n.clone()))
            .collect();
        Ok(
            procfs_parse::parse_oom_kills(self.kmsg_lines.iter().map(String::as_str))
                .into_iter()
                .filter_map(|k| by_pid.get(&k.pid).map(|n| (n.clone(), k)))
                .collect(),
        )
    }

    /// The pid of a scenario process (alive or not).
    pub fn pid_of(&self, proc: &str) -> Option<u32> {
        self.procs.get(proc).map(|p| p.pid as u32)
    }

    /// Send `op` (a write or read of a range) without waiting for its reply: the process may
    /// block in the kernel (a memcg at its limit with `oom_kill_disable 1` puts it to sleep
    /// until the limit rises). [`RealMachine::complete`] reads the reply.
    pub fn begin(&mut self, op: &Op) -> Result<(), BackendError> {
        let Op::Access {
            proc,
            target,
            write,
        } = op
        else {
            return Err(BackendError::Unsupported(format!(
                "`{}` without waiting for its reply (only writes and reads)",
                op.verb()
            )));
        };
        let (addr, len) = self.target(proc, target)?;
        self.spend_touch(len, if *write { "write" } else { "read" })?;
        let p = self.proc_mut(proc)?;
        if p.pending {
            return Err(BackendError::Protocol(format!("`{proc}` is busy")));
        }
        p.send(&Request::Access {
            addr,
            len,
            write: *write,
        })?;
        p.pending = true;
        Ok(())
    }

    /// The outcome of the request `begin` sent to `proc`, waiting up to `timeout`; `None` while
    /// the process is still inside it.
    pub fn complete(
        &mut self,
        proc: &str,
        timeout: Duration,
    ) -> Result<Option<Outcome>, BackendError> {
        let p = self
            .procs
            .get_mut(proc)
            .ok_or_else(|| BackendError::NoSuchProcess(proc.to_string()))?;
        if !p.pending {
            return Err(BackendError::Protocol(format!(
                "`{proc}` has no request outstanding"
            )));
        }
        let mut pfd = libc::pollfd {
            fd: p.resp.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, valid for the call.
        let r = unsafe {
            libc::poll(
                &mut pfd,
                1,
                timeout.as_millis().min(i32::MAX as u128) as i32,
            )
        };
        if r == 0 && !p.rbuf.contains(&b'\n') {
            return Ok(None);
        }
        p.pending = false;
        let o = match p.recv()? {
            Some(Reply::Ok) => Outcome::Ok,
            Some(Reply::Errno(e)) => errno_of(e)?,
            Some(Reply::Killed { signal }) => {
                let _ = p.recv();
                p.wait_gone();
                Outcome::Killed { signal }
            }
            None => {
                p.wait_gone();
                Outcome::Killed {
                    signal: Signal::SIGKILL,
                }
            }
            Some(other) => return Err(BackendError::Protocol(format!("access: {other:?}"))),
        };
        self.reap();
        Ok(Some(o))
    }

    /// The memory cgroup `proc`'s outstanding request sleeps in (v1 `oom_kill_disable`, the
    /// cgroup's `under_oom` reads 1), or `None` when it is not asleep there.
    pub fn waits_in_memcg_oom(&self, proc: &str) -> Option<String> {
        let p = self.procs.get(proc).filter(|p| p.alive && p.pending)?;
        waiting_in_memcg_oom(p.pid)
    }

    /// The process's scheduler state letter (`R`, `S`, `D`, …) from /proc/PID/stat, `None` when
    /// it is gone.
    pub fn sched_state(&self, proc: &str) -> Option<char> {
        let p = self.procs.get(proc).filter(|p| p.alive)?;
        let s = std::fs::read_to_string(format!("/proc/{}/stat", p.pid)).ok()?;
        s.rsplit_once(')')
            .and_then(|(_, r)| r.trim_start().chars().next())
    }

    /// Every cgroup of the machine (made and not removed) with its v1 files read now, by
    /// scenario path.
    pub fn cgroups(
        &self,
    ) -> Result<BTreeMap<String, vmlab_core::procfs_parse::MemcgV1>, BackendError> {
        self.cgroups
            .paths()
            .iter()
            .map(|p| Ok((p.clone(), self.cgroups.observe(p)?)))
            .collect()
    }

    /// One cgroup's v1 files now (`""`: the machine's own directory, the parent of the
    /// scenario's top-level cgroups).
    pub fn cgroup(&self, path: &str) -> Result<vmlab_core::procfs_parse::MemcgV1, BackendError> {
        self.cgroups.observe(path)
    }

    /// The real directory of the machine's cgroups (`/sys/fs/cgroup/memory/TOKEN`).
    pub fn cgroup_dir(&self) -> &Path {
        self.cgroups.dir()
    }

    /// A vfork child maps into its parent's mm: the parent's table gets the child's new ranges
    /// (as `CHILD:NAME`, which no scenario can name), so the parent's comparison covers them.
    fn share_vfork_names(
        &mut self,
        child: &str,
        parent: &str,
        before: &BTreeMap<String, (u64, u64)>,
    ) {
        let Some(c) = self.procs.get(child) else {
            return;
        };
        let new: Vec<(String, (u64, u64))> = c
            .names
            .iter()
            .filter(|(n, r)| n.as_str() != HEAP && before.get(*n) != Some(*r))
            .map(|(n, r)| (format!("{child}:{n}"), *r))
            .collect();
        // The heap is the mm's, not a name: the parent's break is where the child left it
        // (unless the child has just exec'd, leaving the mm and its names).
        let heap = c.vfork_parent.is_some().then(|| c.names.get(HEAP).copied());
        if let Some(p) = self.procs.get_mut(parent) {
            p.names.extend(new);
            match heap {
                Some(Some(r)) => p.names.insert(HEAP.to_string(), r),
                Some(None) => p.names.remove(HEAP),
                None => None,
            };
        }
    }

    fn apply_op(&mut self, op: &Op) -> Result<Outcome, BackendError> {
        match op {
            Op::Sysctl { sysctl, value } => {
                let mut want = self.want_sysctls.clone();
                match sysctl {
                    Sysctl::OvercommitMemory => want.overcommit_memory = *value,
                    Sysctl::OvercommitRatio => {
                        want.overcommit_ratio = *value;
                        want.overcommit_kbytes = 0;
                    }
                    Sysctl::OvercommitKbytes => {
                        want.overcommit_kbytes = *value;
                        want.overcommit_ratio = 0;
                    }
                    Sysctl::MaxMapCount => want.max_map_count = *value,
                    Sysctl::AdminReserveKbytes => want.admin_reserve_kbytes = *value,
                    other => {
                        return Err(BackendError::Unsupported(format!(
                        "sysctl vm.{} on the real machine (it would change the host for everyone)",
                        other.name()
                    )))
                    }
                }
                // The kernel's answer to the write, held for no longer than the write.
                match SysctlGuard::set(&self.host_sysctls, &want) {
                    Ok(g) => {
                        drop(g);
                        self.want_sysctls = want;
                        Ok(Outcome::Ok)
                    }
                    Err(BackendError::Os { error, .. }) => {
                        errno_of(error.raw_os_error().unwrap_or(libc::EINVAL))
                    }
                    Err(e) => Err(e),
                }
            }
            Op::Spawn {
                name,
                cap_sys_admin,
                oom_score_adj,
            } => self.spawn(name, *cap_sys_admin, *oom_score_adj),
            Op::Fork {
                parent,
                child,
                kind: ForkKind::Fork,
            } => self.fork(parent, child),
            Op::Exit { proc } => {
                let p = self.proc_mut(proc)?;
                p.asked_to_end = true;
                p.send(&Request::Exit)?;
                // EOF, then gone.
                let _ = p.recv()?;
                p.wait_gone();
                Ok(Outcome::Ok)
            }
            Op::Exec { proc } => {
                // The helper re-executes itself: a fresh image and an empty scenario name table;
                // its first line after the exec is the new image's "ready".
                let g = self.guard()?;
                let p = self.proc_mut(proc)?;
                let r = p.call(&Request::Exec);
                drop(g);
                match r? {
                    Some(Reply::Ok) => {
                        p.names.clear();
                        p.brk_base = None;
                        p.vfork_parent = None;
                        p.on_vfork_stack = false;
                        Ok(Outcome::Ok)
                    }
                    Some(Reply::Errno(e)) => errno_of(e),
                    None => {
                        p.wait_gone();
                        Ok(Outcome::Killed {
                            signal: Signal::SIGKILL,
                        })
                    }
                    Some(other) => Err(BackendError::Protocol(format!("exec: {other:?}"))),
                }
            }
            Op::Kill { proc } => {
                self.proc_mut(proc)?.kill();
                Ok(Outcome::Ok)
            }
            Op::OomScoreAdj {
                proc,
                value,
                legacy,
            } => {
                let pid = self.proc_mut(proc)?.pid;
                let file = if *legacy { "oom_adj" } else { "oom_score_adj" };
                let path = format!("/proc/{pid}/{file}");
                match std::fs::write(&path, format!("{value}\n")) {
                    Ok(()) => Ok(Outcome::Ok),
                    Err(e) => errno_of(e.raw_os_error().unwrap_or(libc::EINVAL)),
                }
            }
            Op::Mmap {
                proc,
                name,
                len,
                prot,
                shared,
                backing,
                noreserve,
                populate,
                growsdown,
                locked,
                hugetlb,
                placement,
            } => {
                if *hugetlb {
                    return Err(BackendError::Unsupported(
                        "mmap hugetlb on the real machine (it needs reserved huge pages)".into(),
                    ));
                }
                let len = self.size(*len);
                let file = match backing {
                    Backing::Anon => None,
                    Backing::File {
                        path,
                        offset,
                        readonly_fd,
                    } => Some(self.backing_file(path, *offset, len, *readonly_fd)?),
                    Backing::Tmpfs { path, offset } => {
                        let real = self.tmpfs_path(path)?;
                        Some(self.sized_file(Path::new(&real), *offset, len, false)?)
                    }
                    Backing::SysvShm { key } => {
                        return self.shmat(proc, name, key, *prot, *shared, placement)
                    }
                };
                let rounded = len.checked_next_multiple_of(PAGE).unwrap_or(u64::MAX);
                if *populate || *locked {
                    self.spend_touch(rounded, "mmap populate/locked")?;
                }
                let addr = match self.place(proc, placement, rounded)? {
                    Ok(a) => a,
                    Err(o) => return Ok(o),
                };
                let req = Request::Mmap {
                    addr,
                    len,
                    prot: *prot,
                    shared: *shared,
                    file,
                    noreserve: *noreserve,
                    populate: *populate,
                    growsdown: *growsdown,
                    locked: *locked,
                };
                let name = name.clone();
                let proc = proc.clone();
                self.call_op(&proc, &req, |p, v| {
                    p.names.insert(name, (v, rounded));
                })
            }
            Op::Munmap { proc, target } => {
                let (addr, len) = self.target(proc, target)?;
                self.call_op(proc, &Request::Munmap { addr, len }, |_, _| {})
            }
            Op::Mprotect { proc, target, prot } => {
                let (addr, len) = self.target(proc, target)?;
                let req = Request::Mprotect {
                    addr,
                    len,
                    prot: *prot,
                };
                self.call_op(proc, &req, |_, _| {})
            }
            Op::Madvise {
                proc,
                target,
                advice,
            } => {
                let (addr, len) = self.target(proc, target)?;
                let req = Request::Madvise {
                    addr,
                    len,
                    advice: *advice,
                };
                self.call_op(proc, &req, |_, _| {})
            }
            Op::Access {
                proc,
                target,
                write,
            } => {
                let (addr, len) = self.target(proc, target)?;
                // A read of untouched private anonymous memory maps the zero page, but a read of
                // shared or file memory allocates: count both.
                self.spend_touch(len, if *write { "write" } else { "read" })?;
                let req = Request::Access {
                    addr,
                    len,
                    write: *write,
                };
                self.call_op(proc, &req, |_, _| {})
            }
            Op::Mremap {
                proc,
                mapping,
                range,
                new_len,
                may_move,
                to,
                dontunmap,
                rename,
            } => {
                let new_len = self.size(*new_len);
                let target = Target {
                    mapping: mapping.clone(),
                    range: *range,
                };
                let (addr, old_len) = self.target(proc, &target)?;
                let rounded = new_len.checked_next_multiple_of(PAGE).unwrap_or(u64::MAX);
                let fixed = self.mremap_fixed(proc, to, rounded)?;
                let req = Request::Mremap {
                    addr,
                    old_len,
                    new_len,
                    may_move: *may_move,
                    dontunmap: *dontunmap,
                    fixed,
                };
                // The name follows the whole mapping; `as=NAME` names the result instead.
                let name = match (rename, range) {
                    (Some(n), _) => Some(n.clone()),
                    (None, None) => Some(mapping.clone()),
                    (None, Some(_)) => None,
                };
                self.call_op(proc, &req, |p, v| {
                    if let Some(name) = name {
                        p.names.insert(name, (v, rounded));
                    }
                })
            }
            Op::DropCap {
                proc,
                cap: vmlab_core::op::Capability::SysAdmin,
            } => self.call_op(proc, &Request::DropCapSysAdmin, |_, _| {}),
            Op::Fork {
                parent,
                child,
                kind: ForkKind::Vfork,
            } => self.vfork(parent, child),
            Op::Fork {
                kind: ForkKind::CloneVm,
                ..
            } => Err(BackendError::Unsupported(
                "clone(CLONE_VM) on the real machine (a second thread of control in one helper \
                 would need a helper of its own that shares the mm and outlives nothing)"
                    .into(),
            )),
            Op::Brk { proc, change } => self.brk(proc, *change),
            Op::Shmget {
                proc,
                key,
                len,
                noreserve,
            } => {
                let len = self.size(*len);
                let real_key = self.shm_key_of(key)?;
                let req = Request::Shmget {
                    key: real_key,
                    len,
                    noreserve: *noreserve,
                };
                let (key, proc) = (key.clone(), proc.clone());
                let mut id = None;
                let r = self.call_op(&proc, &req, |_, v| id = Some(v as i32))?;
                if let Some(id) = id {
                    self.shm.ids.insert(key, id);
                    if !self.shm.made.contains(&id) {
                        self.shm.made.push(id);
                    }
                }
                Ok(r)
            }
            Op::ShmRm { proc, key } => {
                // An unknown key is the id -1, which the kernel answers EINVAL as the model does.
                let id = self.shm.ids.get(key).copied().unwrap_or(-1);
                let r = self.call_op(proc, &Request::ShmRm { id }, |_, _| {})?;
                if r == Outcome::Ok {
                    self.shm.ids.remove(key);
                }
                Ok(r)
            }
            Op::TmpfsWrite {
                proc,
                path,
                offset,
                len,
            } => {
                let (offset, len) = (self.size(*offset), self.size(*len));
                self.spend_touch(len, "tmpfs write")?;
                let path = self.tmpfs_path(path)?;
                self.call_op(proc, &Request::FileWrite { path, offset, len }, |_, _| {})
            }
            Op::TmpfsTruncate { proc, path, len } => {
                let len = self.size(*len);
                let path = self.tmpfs_path(path)?;
                self.call_op(proc, &Request::FileTruncate { path, len }, |_, _| {})
            }
            Op::Unlink { proc, path } => {
                // A path used as a regular file lives in files_dir; any other in the tmpfs dir
                // (where an unknown path is ENOENT, as in the model).
                let real = if self.tmpfs.paths.contains(path) || !self.is_regular_path(path) {
                    self.tmpfs_path(path)?
                } else {
                    self.files_dir
                        .join(safe_file_name(path))
                        .to_string_lossy()
                        .into_owned()
                };
                self.call_op(proc, &Request::Unlink { path: real }, |_, _| {})
            }
            Op::CgroupCreate { path } => Ok(errno_or_ok(self.cgroups.create(path)?)?),
            Op::CgroupWrite { path, file, value } => {
                Ok(errno_or_ok(self.cgroups.write(path, file, value)?)?)
            }
            Op::CgroupMove { proc, path } => {
                let pid = self.proc_mut(proc)?.pid;
                Ok(errno_or_ok(self.cgroups.move_pid(pid, path)?)?)
            }
            Op::CgroupRemove { path } => Ok(errno_or_ok(self.cgroups.remove(path)?)?),
            Op::BpfMap {
                proc,
                entries,
                value_size,
            } => {
                // An array map allocates and zeroes all of its values at creation.
                self.spend_touch(entries.saturating_mul(*value_size), "bpf map")?;
                let req = Request::BpfMap {
                    entries: *entries,
                    value_size: *value_size,
                };
                self.call_op(proc, &req, |_, _| {})
            }
            other => Err(BackendError::Unsupported(format!(
                "`{}` on the real machine",
                other.verb()
            ))),
        }
    }

    /// The address a placement names for `rounded` bytes (`None`: the kernel's choice), or the
    /// outcome when no address can be named (ENOMEM, as the model says).
    fn place(
        &mut self,
        proc: &str,
        placement: &Placement,
        rounded: u64,
    ) -> Result<Result<Option<u64>, Outcome>, BackendError> {
        let p = self.proc_mut(proc)?;
        Ok(match placement {
            Placement::Any => Ok(None),
            Placement::At(a) => Ok(Some(*a)),
            Placement::Below { of, gap } | Placement::Above { of, gap } => {
                let &(s, l) = p
                    .names
                    .get(of)
                    .ok_or_else(|| BackendError::NoSuchMapping(proc.to_string(), of.clone()))?;
                let a = gap.checked_next_multiple_of(PAGE).and_then(|gap| {
                    if matches!(placement, Placement::Below { .. }) {
                        s.checked_sub(gap).and_then(|x| x.checked_sub(rounded))
                    } else {
                        (s + l).checked_add(gap)
                    }
                });
                a.map(Some).ok_or(Outcome::Err(Errno::ENOMEM))
            }
        })
    }

    /// Send one request with the sysctls held; `on_value` records an address the call returned.
    fn call_op(
        &mut self,
        proc: &str,
        req: &Request,
        on_value: impl FnOnce(&mut Proc, u64),
    ) -> Result<Outcome, BackendError> {
        let g = self.guard()?;
        let p = self.proc_mut(proc)?;
        let r = p.call(req);
        drop(g);
        match r? {
            Some(Reply::Ok) => Ok(Outcome::Ok),
            Some(Reply::Value(v)) => {
                on_value(p, v);
                Ok(Outcome::Ok)
            }
            Some(Reply::Errno(e)) => errno_of(e),
            Some(Reply::Killed { signal }) => {
                // The handler wrote this just before the signal's default action.
                let _ = p.recv();
                p.wait_gone();
                Ok(Outcome::Killed { signal })
            }
            None => {
                p.wait_gone();
                Ok(Outcome::Killed {
                    signal: Signal::SIGKILL,
                })
            }
            Some(other) => Err(BackendError::Protocol(format!("{req:?}: {other:?}"))),
        }
    }

    /// A file in the backend's own directory, at least `offset + len` bytes long (sparse).
    fn backing_file(
        &mut self,
        path: &str,
        offset: u64,
        len: u64,
        readonly_fd: bool,
    ) -> Result<FileArg, BackendError> {
        self.tmpfs.regular.insert(path.to_string());
        let p = self.files_dir.join(safe_file_name(path));
        self.sized_file(&p, offset, len, readonly_fd)
    }

    /// Create `p` if needed and extend it (sparse: ftruncate allocates and charges nothing, also
    /// on tmpfs) to cover `[offset, offset + len)`, so the mapping has no page past EOF.
    fn sized_file(
        &self,
        p: &Path,
        offset: u64,
        len: u64,
        readonly_fd: bool,
    ) -> Result<FileArg, BackendError> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(p)
            .map_err(|e| BackendError::os("open", p, e))?;
        let want = offset.saturating_add(len);
        let have = f.metadata().map(|m| m.len()).unwrap_or(0);
        if want > have {
            f.set_len(want)
                .map_err(|e| BackendError::os("ftruncate", p, e))?;
        }
        Ok(FileArg {
            path: p.to_string_lossy().into_owned(),
            offset,
            readonly_fd,
        })
    }

    fn is_regular_path(&self, path: &str) -> bool {
        self.tmpfs.regular.contains(path)
    }

    /// The real path of a scenario tmpfs file, in /dev/shm/TOKEN (made, and checked to be a
    /// tmpfs, on first use).
    fn tmpfs_path(&mut self, path: &str) -> Result<String, BackendError> {
        if !self.tmpfs.made {
            let d = self.tmpfs.path.clone();
            std::fs::create_dir(&d).map_err(|e| BackendError::os("mkdir", &d, e))?;
            self.tmpfs.made = true;
            let c = std::ffi::CString::new(d.to_string_lossy().into_owned())
                .map_err(|_| BackendError::Parse(format!("path {}", d.display())))?;
            // SAFETY: statfs writes one struct statfs into `st`.
            let mut st: libc::statfs = unsafe { std::mem::zeroed() };
            // SAFETY: a NUL-terminated path and a valid out-pointer.
            if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
                return Err(BackendError::os(
                    "statfs",
                    &d,
                    std::io::Error::last_os_error(),
                ));
            }
            if st.f_type as i64 != TMPFS_MAGIC {
                return Err(BackendError::Unsupported(format!(
                    "{} is not on tmpfs (f_type {:#x}): tmpfs files need a tmpfs /dev/shm",
                    d.display(),
                    st.f_type
                )));
            }
        }
        self.tmpfs.paths.insert(path.to_string());
        Ok(self
            .tmpfs
            .path
            .join(safe_file_name(path))
            .to_string_lossy()
            .into_owned())
    }

    /// The real key of a scenario key (a new index on first use).
    fn shm_key_of(&mut self, key: &str) -> Result<i32, BackendError> {
        let n = self.shm.index.len() as u32;
        let n = *self.shm.index.entry(key.to_string()).or_insert(n);
        if n > 0xff {
            return Err(BackendError::Unsupported(
                "more than 256 SysV keys in one real check".into(),
            ));
        }
        Ok(shm_key(std::process::id(), n))
    }

    /// `shmat` of the segment `key` as mapping `name`: its length is the segment's size.
    fn shmat(
        &mut self,
        proc: &str,
        name: &str,
        key: &str,
        prot: vmlab_core::op::Prot,
        shared: bool,
        placement: &Placement,
    ) -> Result<Outcome, BackendError> {
        if !shared {
            // shmat has no private attach; the language refuses `private shm` as the model's
            // do_shmat does, so no syscall can be made for it.
            return Ok(Outcome::Err(Errno::EINVAL));
        }
        // An unknown key is the id -1, which shmat answers EINVAL, as the model does.
        let id = self.shm.ids.get(key).copied().unwrap_or(-1);
        let len = if id >= 0 {
            // SAFETY: IPC_STAT writes one shmid_ds into `ds`.
            let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
            // SAFETY: a valid out-pointer.
            if unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) } != 0 {
                return Err(BackendError::os(
                    "shmctl IPC_STAT",
                    Path::new("/proc/sysvipc/shm"),
                    std::io::Error::last_os_error(),
                ));
            }
            (ds.shm_segsz as u64).next_multiple_of(PAGE)
        } else {
            PAGE
        };
        let addr = match self.place(proc, placement, len)? {
            Ok(a) => a,
            Err(o) => return Ok(o),
        };
        let name = name.to_string();
        let proc = proc.to_string();
        self.call_op(&proc, &Request::Shmat { id, addr, prot }, |p, v| {
            p.names.insert(name, (v, len));
        })
    }

    /// The break of the scenario's heap in `proc`'s mm (read from the helper on first use).
    fn brk_base(&mut self, proc: &str) -> Result<u64, BackendError> {
        let p = self.proc_mut(proc)?;
        if let Some(b) = p.brk_base {
            return Ok(b);
        }
        match p.call(&Request::Brk {
            grow: true,
            bytes: 0,
        })? {
            Some(Reply::Value(b)) => {
                p.brk_base = Some(b);
                Ok(b)
            }
            other => Err(BackendError::Protocol(format!("brk(0): {other:?}"))),
        }
    }

    /// `sbrk(±n)`. The helper's own heap (glibc's start-up allocations) lies below the break the
    /// scenario starts from, which plays the model's start_brk: a shrink below it does nothing
    /// and succeeds, as the kernel's `brk < min_brk` does, without the syscall (which would
    /// free the helper's heap).
    fn brk(&mut self, proc: &str, change: BrkChange) -> Result<Outcome, BackendError> {
        let base = self.brk_base(proc)?;
        let (grow, bytes) = match change {
            BrkChange::Grow(s) => (true, self.size(s)),
            BrkChange::Shrink(s) => (false, self.size(s)),
        };
        let p = self.proc_mut(proc)?;
        let cur = p.names.get(HEAP).map_or(base, |&(s, l)| s + l);
        if !grow {
            match cur.checked_sub(bytes) {
                // glibc's sbrk refuses a decrement larger than the break.
                None => return Ok(Outcome::Err(Errno::ENOMEM)),
                // Below the scenario's start: the kernel would leave the break and return it,
                // which glibc's brk() takes as success (mm/mmap.c: brk, `brk < min_brk`).
                Some(b) if b < base => return Ok(Outcome::Ok),
                Some(_) => {}
            }
        }
        self.call_op(proc, &Request::Brk { grow, bytes }, |p, v| {
            let end = v.next_multiple_of(PAGE);
            if end > base {
                p.names.insert(HEAP.to_string(), (base, end - base));
            } else {
                p.names.remove(HEAP);
            }
        })
    }

    fn vfork(&mut self, parent: &str, child: &str) -> Result<Outcome, BackendError> {
        if self.proc_mut(parent)?.on_vfork_stack {
            return Err(BackendError::Unsupported(
                "a vfork from a vfork child, or from a fork of one, on the real machine (the \
                 helper has one vfork stack, and it stands on it)"
                    .into(),
            ));
        }
        // Both share the mm, so they share its heap base: know it before either moves it.
        let brk_base = self.brk_base(parent)?;
        let g = self.guard()?;
        let p = self.proc_mut(parent)?;
        // The child, not the suspended parent, answers on the parent's pipe.
        let r = p.call(&Request::Vfork)?;
        drop(g);
        let (pid, req_w, resp_r) = match r {
            Some(Reply::Forked {
                pid,
                req_w_fd,
                resp_r_fd,
            }) => (pid, req_w_fd, resp_r_fd),
            Some(Reply::Errno(e)) => return errno_of(e),
            Some(other) => return Err(BackendError::Protocol(format!("vfork: {other:?}"))),
            None => {
                p.wait_gone();
                return Ok(Outcome::Killed {
                    signal: Signal::SIGKILL,
                });
            }
        };
        let names = p.names.clone();
        let child_pidfd = pidfd_open(pid);
        // The pipe ends are in the child's fd table.
        let taken = take_fds(pid, req_w, resp_r);
        let done = p.call(&Request::ForkDone)?;
        let child_pidfd = child_pidfd?;
        let (req, resp) = taken?;
        if done != Some(Reply::Ok) {
            return Err(BackendError::Protocol(format!("vfork done: {done:?}")));
        }
        self.insert(
            child,
            Proc {
                brk_base: Some(brk_base),
                vfork_parent: Some(parent.to_string()),
                on_vfork_stack: true,
                ..Proc::fresh(pid, child_pidfd, File::from(req), resp, None, names)
            },
        );
        Ok(Outcome::Ok)
    }

    /// `/proc/meminfo` now.
    pub fn meminfo(&self) -> Result<KeyValues, BackendError> {
        let p = Path::new("/proc/meminfo");
        let t = std::fs::read_to_string(p).map_err(|e| BackendError::os("read", p, e))?;
        procfs_parse::parse_meminfo(&t)
            .map_err(|e| BackendError::Parse(format!("/proc/meminfo: {e}")))
    }

    /// The names of the scenario processes whose helpers are alive.
    pub fn live(&self) -> Vec<String> {
        self.procs
            .iter()
            .filter(|(_, p)| p.alive)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A live process's /proc views and its name table; `None` when it is not alive.
    pub fn observe(&self, proc: &str) -> Result<Option<ProcObservation>, BackendError> {
        let Some(p) = self.procs.get(proc).filter(|p| p.alive) else {
            return Ok(None);
        };
        // A helper that died without the backend seeing it (its /proc directory is gone) is
        // reported as not alive, so the check shows a `state` row instead of stopping. (Seen
        // once in a sweep of 30 seeds: `read /proc/PID/smaps: No such file or directory`.)
        let read = |file: &str| -> Result<Option<String>, BackendError> {
            let path = PathBuf::from(format!("/proc/{}/{file}", p.pid));
            match std::fs::read_to_string(&path) {
                Ok(t) => Ok(Some(t)),
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ESRCH) =>
                {
                    Ok(None)
                }
                Err(e) => Err(BackendError::os("read", &path, e)),
            }
        };
        let parse_err = |file: &str, e: procfs_parse::ParseError| {
            BackendError::Parse(format!("/proc/{}/{file}: {e}", p.pid))
        };
        let (Some(smaps), Some(maps), Some(status), Some(oom_score)) = (
            read("smaps")?,
            read("maps")?,
            read("status")?,
            read("oom_score")?,
        ) else {
            return Ok(None);
        };
        let smaps = procfs_parse::parse_smaps(&smaps).map_err(|e| parse_err("smaps", e))?;
        let maps = procfs_parse::parse_maps(&maps).map_err(|e| parse_err("maps", e))?;
        let status = procfs_parse::parse_status(&status).map_err(|e| parse_err("status", e))?;
        let oom_score =
            procfs_parse::parse_oom_score(&oom_score).map_err(|e| parse_err("oom_score", e))?;
        Ok(Some(ProcObservation {
            pid: p.pid as u32,
            maps,
            smaps,
            status,
            oom_score,
            names: p.names.clone(),
            shares_mm_with: p
                .vfork_parent
                .clone()
                .filter(|q| self.procs.get(q).is_some_and(|q| q.alive)),
        }))
    }
}

/// How long a helper may be silent before the backend looks whether it sleeps in a memcg OOM.
const STUCK_CHECK_AFTER: Duration = Duration::from_millis(500);

/// The v1 memory cgroup `pid` is in, when that cgroup has `oom_kill_disable 1` and reads
/// `under_oom 1` (its tasks at the limit sleep in memcg1_oom_synchronize).
fn waiting_in_memcg_oom(pid: i32) -> Option<String> {
    let t = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let cg = crate::memcg::memory_cgroup_of(&t)?;
    if cg.is_empty() {
        return None;
    }
    let d = Path::new(crate::memcg::V1_ROOT).join(&cg);
    let oc = std::fs::read_to_string(d.join("memory.oom_control")).ok()?;
    let oc = procfs_parse::parse_oom_control(&oc).ok()?;
    (oc.oom_kill_disable && oc.under_oom).then_some(cg)
}

/// Whether SIGKILL is pending for `pid` (the OOM killer sends it to the thread group:
/// `ShdPnd`), from /proc/PID/status.
fn sigkill_pending(pid: i32) -> bool {
    let Ok(t) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let Ok(kv) = procfs_parse::parse_status(&t) else {
        return false;
    };
    ["ShdPnd", "SigPnd"].iter().any(|k| {
        kv.text(k)
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .is_some_and(|m| m & (1 << (libc::SIGKILL - 1)) != 0)
    })
}

/// A cgroup call's answer as an outcome (the errno the kernel gave, or ok).
fn errno_or_ok(r: Result<(), i32>) -> Result<Outcome, BackendError> {
    match r {
        Ok(()) => Ok(Outcome::Ok),
        Err(e) => errno_of(e),
    }
}

/// `pidfd_open` (Linux 5.3).
fn pidfd_open(pid: i32) -> Result<OwnedFd, BackendError> {
    // SAFETY: pidfd_open returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return Err(BackendError::os(
            "pidfd_open",
            Path::new(&format!("/proc/{pid}")),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: a new fd this process owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Take the parent helper's ends of the child's pipes (pidfd_getfd, Linux 5.6; the flag
/// FD_CLOEXEC is set on the copies).
fn take_fds(pid: i32, req_w: i32, resp_r: i32) -> Result<(OwnedFd, OwnedFd), BackendError> {
    let pidfd = pidfd_open(pid)?;
    let get = |fd: i32| -> Result<OwnedFd, BackendError> {
        // SAFETY: pidfd_getfd returns a new fd in this process or -1.
        let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) } as i32;
        if r < 0 {
            return Err(BackendError::os(
                "pidfd_getfd",
                Path::new(&format!("/proc/{pid}/fd/{fd}")),
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: a new fd this process owns.
        Ok(unsafe { OwnedFd::from_raw_fd(r) })
    };
    Ok((get(req_w)?, get(resp_r)?))
}

impl RealMachine {
    /// Kill and await every helper, remove the backend's directories and every SysV segment in
    /// this process's key namespace. Idempotent (Drop runs it again).
    fn cleanup(&mut self) {
        // Children before parents does not matter: every helper is killed by pid and awaited.
        for p in self.procs.values_mut().chain(self.orphans.iter_mut()) {
            p.kill();
        }
        // With the helpers gone, anything still in a cgroup of ours is killed and the cgroups
        // removed (a memcg with tasks cannot be removed).
        for e in self.cgroups.cleanup() {
            eprintln!("vmlab-os: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.files_dir);
        if self.tmpfs.made {
            let _ = std::fs::remove_dir_all(&self.tmpfs.path);
        }
        // The helpers are gone, so nothing is attached: IPC_RMID destroys each segment now.
        // The namespace is this process's, and this machine holds the real-case lock, so
        // every segment in it is this machine's.
        for id in shm_segments_of(std::process::id()) {
            // SAFETY: IPC_RMID takes no buffer.
            unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        }
        crate::sigguard::disarm();
    }

    /// Clean up, then check, still holding the lock, that nothing is left: the host's sysctls,
    /// no helper alive, no directory of ours in /tmp or /dev/shm, no segment of ours. Each
    /// leftover is one sentence.
    pub fn finish(mut self) -> Vec<String> {
        self.cleanup();
        let mut left = Vec::new();
        match read_scenario_sysctls() {
            Ok(now) if now == self.host_sysctls => {}
            Ok(now) => left.push(format!(
                "vm sysctls are {now:?}, not the host's {:?}",
                self.host_sysctls
            )),
            Err(e) => left.push(format!("cannot read the vm sysctls: {e}")),
        }
        let pids = processes_with_token(&self.token);
        if !pids.is_empty() {
            left.push(format!("helpers still alive: {pids:?}"));
        }
        for d in [&self.files_dir, &self.tmpfs.path] {
            if d.exists() {
                left.push(format!("{} is still there", d.display()));
            }
        }
        let ids = shm_segments_of(std::process::id());
        if !ids.is_empty() {
            left.push(format!("SysV segments still there: {ids:?}"));
        }
        if self.cgroups.dir().exists() {
            left.push(format!(
                "memory cgroup {} is still there",
                self.cgroups.dir().display()
            ));
        }
        left
    }
}

impl Drop for RealMachine {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Pids of live processes whose command line carries `token` (leftover helpers).
pub fn processes_with_token(token: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let hit = cmd.split(|&b| b == 0).any(|a| a == token.as_bytes());
            if hit && pid_alive(pid as i32) {
                out.push(pid);
            }
        }
    }
    out
}

/// Ids of the SysV segments whose key lies in process `pid`'s namespace ([`shm_key`]).
pub fn shm_segments_of(pid: u32) -> Vec<i32> {
    let Ok(t) = std::fs::read_to_string("/proc/sysvipc/shm") else {
        return Vec::new();
    };
    let first = shm_key(pid, 0) as i64;
    procfs_parse::parse_sysvipc_shm(&t)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| (first..first + 256).contains(&s.key))
        .map(|s| s.shmid as i32)
        .collect()
}
