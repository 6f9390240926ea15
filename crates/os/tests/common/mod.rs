//! What the real-kernel test binaries share: the helper binary, the root check and serial lock,
//! a check that retries once when only Committed_AS differed, and the after-run leftovers check.
#![allow(dead_code)]

use vmlab_core::scenario::{parse, Scenario};
use vmlab_os::{
    check, current_sysctls, HelperCommand, RealMachine, RealOptions, Report, ScenarioSysctls,
};

pub fn helper() -> HelperCommand {
    HelperCommand {
        program: env!("CARGO_BIN_EXE_vmlab-os-helper").into(),
        args: Vec::new(),
    }
}

/// Real cases in one test binary run one at a time (machines in other processes serialize on
/// the backend's lock file).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn root_or_skip(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    if vmlab_os::is_root() {
        return Some(SERIAL.lock().unwrap_or_else(|e| e.into_inner()));
    }
    println!("SKIPPED {test}: real cases need root (sysctls, /proc of helpers, pidfd_getfd)");
    if SKIPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
        // SAFETY: registers a function that takes no arguments and touches only an atomic and
        // fd 2, to run when the test binary exits.
        unsafe { libc::atexit(say_how_many_were_skipped) };
    }
    None
}

/// Real cases this test binary skipped for want of root.
static SKIPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// At exit (after libtest's summary, which cannot count skips): how many real cases were
/// skipped, written straight to fd 2 (std's streams may be gone by then).
extern "C" fn say_how_many_were_skipped() {
    let n = SKIPPED.load(std::sync::atomic::Ordering::SeqCst);
    let msg = format!("{n} real case(s) skipped: not root\n");
    // SAFETY: writes `msg.len()` bytes from a live buffer to fd 2.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

/// Whether every mismatch is a Committed_AS row: other processes on the host change
/// Committed_AS now and then (docs/known-differences.md), and a real difference reproduces
/// where noise does not.
pub fn noise_only(r: &Report) -> bool {
    !r.mismatches.is_empty() && r.mismatches.iter().all(|m| m.field == "Committed_AS Δ kB")
}

/// Check a parsed scenario against the kernel with the host's configuration.
pub fn run_scenario(s: &Scenario) -> Report {
    retry_noise(|| check(s, &helper()).expect("the check runs"))
}

/// Run `once` (a check); when only Committed_AS differed, run it up to twice more and keep only
/// the steps that differed every time: other processes on this shared host move Committed_AS by
/// tens of MB now and then (docs/known-differences.md), and a real difference reproduces at its
/// step where noise does not. A clean rerun, or one with any other difference, is returned as it is.
pub fn retry_noise(mut once: impl FnMut() -> Report) -> Report {
    let before = host_sysctls();
    let mut run = || {
        let r = once();
        after_checks(&before);
        r
    };
    let mut r = run();
    for _ in 0..2 {
        if !noise_only(&r) {
            break;
        }
        println!("Committed_AS differed only; once more:\n{}", r.render());
        let again = run();
        // A clean rerun is the answer: its steps' deltas are the ones tests read, and the first
        // run's may hold the noise.
        if again.mismatches.is_empty() || !noise_only(&again) {
            return again;
        }
        r.mismatches
            .retain(|m| again.mismatches.iter().any(|n| n.step == m.step));
    }
    r
}

pub fn run(text: &str) -> Report {
    run_scenario(&parse(text).expect("the case parses"))
}

/// The host's sysctls, read under the real-case lock: another test process (other engineers run
/// real cases at the same time) may hold the lock and have one of them changed for a moment.
pub fn host_sysctls() -> ScenarioSysctls {
    let _lock = vmlab_os::RealLock::acquire().unwrap();
    current_sysctls().unwrap()
}

/// The sysctls are the host's again, no helper of this process is alive, and nothing of its
/// machines is left in /tmp, /dev/shm, SysV shm or the v1 memory cgroups (each check verified that itself too, before
/// it let the lock go: Report::left_behind).
pub fn after_checks(before: &ScenarioSysctls) {
    assert_eq!(&host_sysctls(), before, "sysctls restored");
    let me = format!("vmlab-os-{}-", std::process::id());
    let left = helpers_with_prefix(&me);
    assert!(left.is_empty(), "helpers still alive: {left:?}");
    for dir in [std::env::temp_dir(), "/dev/shm".into()] {
        let ours: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&me))
            .collect();
        assert!(ours.is_empty(), "left in {}: {ours:?}", dir.display());
    }
    assert_eq!(leftover_segments(), Vec::<i32>::new(), "SysV segments left");
    let cgroups = vmlab_os::leftover_cgroups(&me);
    assert!(cgroups.is_empty(), "memory cgroups left: {cgroups:?}");
}

/// The SysV segments in this process's key namespace that still exist.
pub fn leftover_segments() -> Vec<i32> {
    vmlab_os::leftover_shm_segments(std::process::id())
}

/// Live (not zombie) processes with a command-line argument starting with `prefix`.
fn helpers_with_prefix(prefix: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !cmd
            .split(|&b| b == 0)
            .any(|a| a.starts_with(prefix.as_bytes()))
        {
            continue;
        }
        // `pid (comm) S …`: the state follows the last `)`.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.trim_start().chars().next());
        if !matches!(state, None | Some('Z') | Some('X')) {
            out.push(pid);
        }
    }
    out
}

/// A run that agrees, or a panic with the whole table.
pub fn assert_agrees(r: &Report) {
    assert!(r.agrees(), "{}", r.render());
}

/// A real machine with the host's sizes and the given sysctls, and the default touch limit.
pub fn real_machine(
    host: &vmlab_core::config::LinuxConfig,
    sysctls: &vmlab_os::ScenarioSysctls,
) -> RealMachine {
    RealMachine::start(&RealOptions {
        helper: helper(),
        sysctls: sysctls.clone(),
        ram_bytes: host.ram_bytes,
        swap_bytes: host.swap_bytes,
        touch_limit_bytes: vmlab_os::DEFAULT_TOUCH_LIMIT_BYTES,
    })
    .unwrap()
}

/// The host as a machine configuration.
pub fn host() -> vmlab_core::config::LinuxConfig {
    let vmlab_core::config::MachineConfig::Linux(h) = vmlab_os::host::host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    h
}

/// `PROC mmap NAME BYTES rw private anon`.
pub fn mmap(proc: &str, name: &str, bytes: u64) -> vmlab_core::op::Op {
    use vmlab_core::op::{Backing, Op, Placement, Prot, Size};
    Op::Mmap {
        proc: proc.into(),
        name: name.into(),
        len: Size::Bytes(bytes),
        prot: Prot::RW,
        shared: false,
        backing: Backing::Anon,
        noreserve: false,
        populate: false,
        growsdown: false,
        locked: false,
        hugetlb: false,
        placement: Placement::Any,
    }
}
