//! What every real-case binary shares: the helper binary, the serializing lock, the root check,
//! and `run`, which checks a scenario on both sides and then that the host is as it was.
#![allow(dead_code)] // each test binary uses its own part

use vmlab_core::scenario::parse;
use vmlab_os::{check, current_sysctls, HelperCommand, Report};

pub fn helper() -> HelperCommand {
    HelperCommand {
        program: env!("CARGO_BIN_EXE_vmlab-os-helper").into(),
        args: Vec::new(),
    }
}

/// Real cases in this binary run one at a time: each reads the host's sysctls before and after
/// its check, and one of them changes max_map_count for a moment. (Machines in other processes
/// serialize on the backend's lock file.)
pub static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn root_or_skip(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    if vmlab_os::is_root() {
        return Some(SERIAL.lock().unwrap_or_else(|e| e.into_inner()));
    }
    println!("SKIPPED {test}: real cases need root (sysctls, /proc of helpers, pidfd_getfd)");
    None
}

/// Run a case; when the only differences are Committed_AS rows, run it once more: other
/// processes on the host change Committed_AS now and then (docs/known-differences.md, bursts of
/// ~27 MB seen in 0.6 % of 5 ms windows), and a real difference reproduces where noise does not.
pub fn run(text: &str) -> Report {
    let s = parse(text).expect("the case parses");
    let before = sysctls_now();
    let mut r = check(&s, &helper()).expect("the check runs");
    after_checks(&before);
    let noise_only =
        !r.mismatches.is_empty() && r.mismatches.iter().all(|m| m.field == "Committed_AS Δ kB");
    if noise_only {
        println!("Committed_AS differed only; once more:\n{}", r.render());
        r = check(&s, &helper()).expect("the check runs");
        after_checks(&before);
    }
    r
}

/// The host's sysctls, read under the real-case lock: a machine of another process (other
/// engineers run real cases too) holds a scenario's values for the length of one operation.
pub fn sysctls_now() -> vmlab_os::ScenarioSysctls {
    let _lock = vmlab_os::RealLock::acquire().unwrap();
    current_sysctls().unwrap()
}

/// (d): the sysctls are the host's again, no helper of this process is alive, and nothing of
/// its machines is left in /tmp, /dev/shm or SysV shm (each check verified that itself too,
/// before it let the lock go: Report::left_behind).
pub fn after_checks(before: &vmlab_os::ScenarioSysctls) {
    assert_eq!(&sysctls_now(), before, "sysctls restored");
    let me = format!("vmlab-os-{}-", std::process::id());
    let left: Vec<u32> = leftovers(&me);
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
}

/// The SysV segments in this process's key namespace that still exist.
pub fn leftover_segments() -> Vec<i32> {
    vmlab_os::leftover_shm_segments(std::process::id())
}

pub fn leftovers(prefix: &str) -> Vec<u32> {
    // Every token this test process could have used.
    (0..64)
        .flat_map(|n| vmlab_os::leftover_helpers(&format!("{prefix}{n}")))
        .collect()
}
