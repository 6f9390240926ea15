//! SIGINT and SIGTERM while a real machine lives: the handler writes the host's vm sysctls back
//! and SIGKILLs every helper still alive, then lets the signal's own action end the process
//! (issue 7: the guard restores "even on panic, on a failed assertion and on Ctrl-C"). A panic
//! and a failed assertion unwind through `SysctlGuard` and `RealMachine`'s `Drop`; a signal does
//! not unwind, so this handler does the two things that must not be left: a host in the
//! scenario's overcommit mode, and helpers holding memory. Everything it touches is an atomic
//! or a static, and it calls only async-signal-safe functions (open, write, close, kill,
//! sigaction, raise: signal-safety(7)). The backend's temporary directories and SysV segments
//! (named by the run's token and pid) are not removed here; `RealMachine::finish` of the next run
//! in the same process cannot see them either (docs/known-differences.md).

use crate::ScenarioSysctls;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};
use std::sync::Once;

/// The sysctl files in the order the handler writes them: overcommit_memory first, so mode 2
/// ends before anything else is written (as `SysctlGuard`'s `Drop`); overcommit_kbytes only when
/// it is not 0 (writing it zeroes overcommit_ratio: mm/util.c `overcommit_kbytes_handler`).
const PATHS: [&[u8]; 5] = [
    b"/proc/sys/vm/overcommit_memory\0",
    b"/proc/sys/vm/overcommit_ratio\0",
    b"/proc/sys/vm/overcommit_kbytes\0",
    b"/proc/sys/vm/max_map_count\0",
    b"/proc/sys/vm/admin_reserve_kbytes\0",
];

/// Whether a real machine lives (its host values are in [`HOST`]).
static ARMED: AtomicBool = AtomicBool::new(false);
/// The host's values, in [`PATHS`] order.
static HOST: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
/// Pids of live helpers (0 = a free slot). More helpers than slots are still killed by
/// `RealMachine`'s cleanup, only not by the handler.
static HELPERS: [AtomicI32; 256] = [const { AtomicI32::new(0) }; 256];
static INSTALL: Once = Once::new();

/// A real machine starts: remember the host's values and install the handler (once, and only
/// for a signal that is not ignored: `nohup` keeps its meaning).
pub fn arm(host: &ScenarioSysctls) {
    let values = [
        host.overcommit_memory,
        host.overcommit_ratio,
        host.overcommit_kbytes,
        host.max_map_count,
        host.admin_reserve_kbytes,
    ];
    for (slot, v) in HOST.iter().zip(values) {
        slot.store(v, SeqCst);
    }
    ARMED.store(true, SeqCst);
    INSTALL.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: sigaction with a zeroed struct whose handler is an extern "C" fn of the
            // right signature; `old` is a valid out-pointer.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old);
                if old.sa_sigaction == libc::SIG_IGN {
                    continue;
                }
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut sa.sa_mask);
                sa.sa_flags = libc::SA_RESETHAND;
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    });
}

/// The machine is cleaned up: the handler has nothing to restore or kill.
pub fn disarm() {
    ARMED.store(false, SeqCst);
    for slot in &HELPERS {
        slot.store(0, SeqCst);
    }
}

/// A helper was started (spawned, or forked by a helper).
pub fn add_helper(pid: i32) {
    let _ = HELPERS
        .iter()
        .find(|s| s.compare_exchange(0, pid, SeqCst, SeqCst).is_ok());
}

/// A helper is gone (killed and awaited, or exited): its pid may be reused.
pub fn remove_helper(pid: i32) {
    for slot in &HELPERS {
        let _ = slot.compare_exchange(pid, 0, SeqCst, SeqCst);
    }
}

/// `v` in decimal with a newline, into `buf`; the length used.
fn decimal(mut v: u64, buf: &mut [u8; 24]) -> usize {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        buf[i] = tmp[n - 1 - i];
    }
    buf[n] = b'\n';
    n + 1
}

extern "C" fn on_signal(sig: libc::c_int) {
    if ARMED.load(SeqCst) {
        for (i, path) in PATHS.iter().enumerate() {
            let v = HOST[i].load(SeqCst);
            if i == 2 && v == 0 {
                continue;
            }
            let mut buf = [0u8; 24];
            let n = decimal(v, &mut buf);
            // SAFETY: a NUL-terminated static path; a stack buffer of `n` bytes.
            unsafe {
                let fd = libc::open(path.as_ptr().cast(), libc::O_WRONLY);
                if fd >= 0 {
                    libc::write(fd, buf.as_ptr().cast(), n);
                    libc::close(fd);
                }
            }
        }
        for slot in &HELPERS {
            let pid = slot.load(SeqCst);
            if pid > 0 {
                // SAFETY: kill takes plain integers.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    // SA_RESETHAND put the default action back: raise the signal again to take it.
    // SAFETY: raise takes a signal number.
    unsafe { libc::raise(sig) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writes_the_number_and_a_newline() {
        let mut b = [0u8; 24];
        let n = decimal(0, &mut b);
        assert_eq!(&b[..n], b"0\n");
        let n = decimal(18_446_744_073_709_551_615, &mut b);
        assert_eq!(&b[..n], b"18446744073709551615\n");
        let n = decimal(65530, &mut b);
        assert_eq!(&b[..n], b"65530\n");
    }

    #[test]
    fn helper_slots_are_taken_and_freed() {
        // A pid above any pid_max (2^22), so a stray signal could reach no process.
        add_helper(i32::MAX);
        assert!(HELPERS.iter().any(|s| s.load(SeqCst) == i32::MAX));
        remove_helper(i32::MAX);
        assert!(!HELPERS.iter().any(|s| s.load(SeqCst) == i32::MAX));
    }
}
