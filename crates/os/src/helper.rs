//! The helper process: one scenario process, driven over its stdin/stdout pipes by the backend,
//! one request and one reply per operation (crate::protocol). It is single-threaded, so `fork`
//! may keep running Rust code in the child; the child serves a new pipe pair on fds 0 and 1.

use crate::protocol::{Reply, Request, KILLED_SIGBUS, KILLED_SIGSEGV};
use vmlab_core::op::{Advice, Prot};

const PAGE: u64 = 4096;
/// PMD_SIZE on x86-64.
const THP_ALIGN: u64 = 2 * 1024 * 1024;
/// CAP_SYS_ADMIN (include/uapi/linux/capability.h).
const CAP_SYS_ADMIN: u32 = 21;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn prot_bits(p: Prot) -> i32 {
    let mut b = libc::PROT_NONE;
    if p.read {
        b |= libc::PROT_READ;
    }
    if p.write {
        b |= libc::PROT_WRITE;
    }
    if p.exec {
        b |= libc::PROT_EXEC;
    }
    b
}

fn write_all(fd: i32, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: `buf` is a live slice; write reads at most buf.len() bytes from it.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

extern "C" fn on_fatal(sig: libc::c_int) {
    let msg = if sig == libc::SIGBUS {
        KILLED_SIGBUS
    } else {
        KILLED_SIGSEGV
    };
    // SAFETY: write(2) is async-signal-safe and the message is a static string. SA_RESETHAND
    // restored the default action, so returning re-runs the faulting access and the signal
    // kills the process, as it would kill any program.
    unsafe {
        libc::write(1, msg.as_ptr().cast(), msg.len());
    }
}

fn install_fatal_handlers() {
    for sig in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a zeroed sigaction is valid; the handler only calls write(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fatal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    // Children of a helper are reaped by the kernel (a forked helper's exit leaves no zombie).
    // SAFETY: setting a standard disposition.
    unsafe {
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drop CAP_SYS_ADMIN (the simulator's `spawn` without `admin`): it decides the admin reserve of
/// mode 2 (mm/util.c: __vm_enough_memory) and, before 4.17, an OOM bonus.
fn drop_cap_sys_admin() -> Result<(), i32> {
    let mut hdr = CapHeader {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget writes two CapData structs (version 3) into `data`.
    if unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) } != 0 {
        return Err(errno());
    }
    let bit = 1u32 << CAP_SYS_ADMIN;
    data[0].effective &= !bit;
    data[0].permitted &= !bit;
    data[0].inheritable &= !bit;
    // SAFETY: capset reads the header and two CapData structs.
    if unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) } != 0 {
        return Err(errno());
    }
    Ok(())
}

/// `PROC drop cap_sys_admin`: out of the bounding set first (prctl(PR_CAPBSET_DROP), which
/// needs CAP_SETPCAP, not CAP_SYS_ADMIN), so that a later exec as root does not get it back
/// (security/commoncap.c: cap_bprm_creds_from_file bounds the new permitted set by it), then
/// out of the effective and permitted sets, which capable() reads
/// (security/commoncap.c: cap_capable, from cap_vm_enough_memory).
fn drop_cap_sys_admin_for_good() -> Reply {
    // SAFETY: prctl(PR_CAPBSET_DROP, cap) takes a capability number and no pointers.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAPBSET_DROP,
            CAP_SYS_ADMIN as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return Reply::Errno(errno());
    }
    match drop_cap_sys_admin() {
        Ok(()) => Reply::Ok,
        Err(e) => Reply::Errno(e),
    }
}

/// The helper's entry point (`vmlab __helper` and the `vmlab-os-helper` binary). `args` are
/// the arguments after the program name; `--admin` keeps CAP_SYS_ADMIN.
pub fn main(args: &[String]) -> ! {
    install_fatal_handlers();
    if !args.iter().any(|a| a == "--admin") {
        if let Err(e) = drop_cap_sys_admin() {
            reply(&Reply::Error(format!(
                "capset: {}",
                std::io::Error::from_raw_os_error(e)
            )));
            // SAFETY: exit without unwinding; the backend reports the error.
            unsafe { libc::_exit(1) }
        }
    }
    if let Err(e) = fence() {
        reply(&Reply::Error(format!(
            "fence: {}",
            std::io::Error::from_raw_os_error(e)
        )));
        // SAFETY: exit without unwinding; the backend reports the error.
        unsafe { libc::_exit(1) }
    }
    // The first reply: ready (so the backend can measure the baseline after start-up).
    let _ = write_all(1, b"\"Ok\"\n");
    serve(Vec::new())
}

/// Serve requests on fds 0 and 1 until `Exit`, EOF or `exec`.
fn serve(mut buf: Vec<u8>) -> ! {
    // The child's pipe ends the parent keeps until ForkDone.
    let mut pending_fork: Option<(i32, i32)> = None;
    loop {
        let line = match read_line(&mut buf) {
            Some(l) => l,
            // EOF: the backend is gone; so is this process.
            // SAFETY: _exit never returns and runs no destructors, which is what a helper wants.
            None => unsafe { libc::_exit(0) },
        };
        let req: Request = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => {
                reply(&Reply::Error(format!("bad request: {e}")));
                continue;
            }
        };
        let r = match req {
            Request::Exit => {
                // SAFETY: as above.
                unsafe { libc::_exit(0) }
            }
            Request::Exec => exec_self(),
            Request::ForkDone => {
                if let Some((a, b)) = pending_fork.take() {
                    // SAFETY: closing fds this process owns.
                    unsafe {
                        libc::close(a);
                        libc::close(b);
                    }
                }
                Reply::Ok
            }
            Request::Fork => match fork_helper(&mut buf) {
                ForkResult::Parent(r, fds) => {
                    pending_fork = fds;
                    r
                }
                // The child replies nothing now: its first request arrives on the new pipes.
                ForkResult::Child => continue,
            },
            Request::Vfork => match vfork::run() {
                // The child has replied for both and has exec'd or exited: nothing to say.
                Ok(()) => continue,
                Err(e) => Reply::Errno(e),
            },
            other => execute(&other),
        };
        reply(&r);
    }
}

/// Fill every gap between the helper's own mappings in the mmap area, and one page below the
/// lowest, with read-only private mappings of the helper's own file. A file VMA never merges
/// with an anonymous one, so the scenario's anonymous mappings, placed top-down below these, can
/// neither merge with the helper's libc bss, TLS or guard pages nor fall into the holes between
/// libraries. They are not writable, so they charge nothing.
fn fence() -> Result<(), i32> {
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(|_| libc::EIO)?;
    let maps = vmlab_core::procfs_parse::parse_maps(&maps).map_err(|_| libc::EIO)?;
    let heap_end = maps
        .iter()
        .filter(|m| m.name == "[heap]")
        .map(|m| m.end)
        .max()
        .unwrap_or(0);
    let stack_start = maps
        .iter()
        .find(|m| m.name == "[stack]")
        .map(|m| m.start)
        .ok_or(libc::EIO)?;
    // The executable sits below the heap; the mmap area lies between the heap and the stack.
    let area: Vec<_> = maps
        .iter()
        .filter(|m| m.start >= heap_end && m.end <= stack_start)
        .filter(|m| m.start >= 0x1000_0000_0000)
        .collect();
    let Some(lowest) = area.first() else {
        return Ok(());
    };
    // Down to an address 2 MiB-congruent with the simulator's mmap_base (0x7ffff7fff000, which
    // is 2044 KiB above a 2 MiB boundary): the kernel aligns anonymous mappings whose length is a
    // multiple of 2 MiB (mm/huge_memory.c: __thp_get_unmapped_area), so every gap such a
    // placement leaves — above the first one, between a packed and an aligned one — then has
    // the simulator's size, whatever ASLR chose, and a later small mapping falls into the same
    // holes on both sides.
    let phase = vmlab_core::linux::mm::MMAP_BASE % THP_ALIGN;
    let fence_start = ((lowest.start - PAGE - phase) & !(THP_ALIGN - 1)) + phase;
    let mut gaps = vec![(fence_start, lowest.start - fence_start)];
    for w in area.windows(2) {
        if w[1].start > w[0].end {
            gaps.push((w[0].end, w[1].start - w[0].end));
        }
    }
    let exe = std::ffi::CString::new("/proc/self/exe").map_err(|_| libc::EINVAL)?;
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(exe.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    let mut result = Ok(());
    for (addr, len) in gaps {
        // SAFETY: MAP_FIXED_NOREPLACE only fills a free range; it never replaces a mapping.
        let p = unsafe {
            libc::mmap(
                addr as usize as *mut libc::c_void,
                len as usize,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_FIXED_NOREPLACE,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            result = Err(errno());
            break;
        }
    }
    // SAFETY: closing the fd opened above; the mappings hold their own references.
    unsafe { libc::close(fd) };
    result
}

fn reply(r: &Reply) {
    let mut s = serde_json::to_string(r).unwrap_or_else(|_| "\"Ok\"".into());
    s.push('\n');
    if !write_all(1, s.as_bytes()) {
        // SAFETY: the backend is gone; exit without unwinding.
        unsafe { libc::_exit(0) }
    }
}

/// One line from fd 0 (without the newline), or `None` at EOF.
fn read_line(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let rest = buf.split_off(i + 1);
            let mut line = std::mem::replace(buf, rest);
            line.pop();
            return Some(line);
        }
        let mut chunk = [0u8; 4096];
        // SAFETY: reading into a local array of its own length.
        let n = unsafe { libc::read(0, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n as usize]);
    }
}

/// `execve("/proc/self/exe", argv)`: on success this never returns (the new image says "Ok").
fn exec_self() -> Reply {
    let args: Vec<std::ffi::CString> = match std::env::args()
        .map(std::ffi::CString::new)
        .collect::<Result<_, _>>()
    {
        Ok(a) => a,
        Err(_) => return Reply::Errno(libc::EINVAL),
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let exe = c"/proc/self/exe";
    // SAFETY: a NUL-terminated path and a NULL-terminated argv of live CStrings; fds 0 and 1
    // (the pipes) have no FD_CLOEXEC and survive.
    unsafe { libc::execv(exe.as_ptr(), argv.as_ptr()) };
    Reply::Errno(errno())
}

/// vfork as `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)` (what vfork(2) is): the child runs on a
/// stack in the helper's own .bss (so making it maps nothing among the scenario's VMAs), in the
/// parent's mm, with a copy of its fd table; the parent is suspended in clone until the child
/// execs or exits (kernel/fork.c: wait_for_vfork_done). While it waits, the child uses the
/// parent's heap and thread-local state, which is sound because the parent runs no code then.
mod vfork {
    use super::{errno, read_line, reply, serve, write_all};
    use crate::protocol::{Reply, Request};
    use std::cell::UnsafeCell;

    const STACK_BYTES: usize = 1 << 20;

    #[repr(C, align(16))]
    struct Stack(UnsafeCell<[u8; STACK_BYTES]>);
    // SAFETY: only the one vfork child runs on it (the backend refuses a vfork from a vfork
    // child, which would need a second stack while the first is in use, and from a fork of one,
    // whose own stack is its copy of this one).
    unsafe impl Sync for Stack {}
    static STACK: Stack = Stack(UnsafeCell::new([0; STACK_BYTES]));

    /// Ok once the child has exec'd or exited; the errno of a failed clone.
    pub fn run() -> Result<(), i32> {
        let top = STACK.0.get() as usize + STACK_BYTES;
        // SAFETY: `top` is the 16-byte-aligned end of a static stack no one else uses; the child
        // never returns into the parent's frames (it execs or _exits).
        let pid = unsafe {
            libc::clone(
                child,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                std::ptr::null_mut(),
            )
        };
        if pid < 0 {
            return Err(errno());
        }
        Ok(())
    }

    extern "C" fn child(_: *mut libc::c_void) -> libc::c_int {
        let mut req = [0i32; 2];
        let mut resp = [0i32; 2];
        // SAFETY: pipe2 writes two fds into each array (in this child's own fd table).
        let ok = unsafe {
            libc::pipe2(req.as_mut_ptr(), libc::O_CLOEXEC) == 0
                && libc::pipe2(resp.as_mut_ptr(), libc::O_CLOEXEC) == 0
        };
        if !ok {
            reply(&Reply::Errno(errno()));
            // SAFETY: leaving the shared mm without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        // SAFETY: getpid has no preconditions (glibc no longer caches it).
        let pid = unsafe { libc::getpid() };
        reply(&Reply::Forked {
            pid,
            req_w_fd: req[1],
            resp_r_fd: resp[0],
        });
        // The backend takes its ends, then says ForkDone on the parent's request pipe.
        let mut buf = Vec::new();
        let done = read_line(&mut buf).and_then(|l| serde_json::from_slice::<Request>(&l).ok())
            == Some(Request::ForkDone);
        // SAFETY: closing the ends the backend took copies of.
        unsafe {
            libc::close(req[1]);
            libc::close(resp[0]);
        }
        if !done {
            // SAFETY: as above.
            unsafe { libc::_exit(1) }
        }
        let _ = write_all(1, b"\"Ok\"\n");
        // SAFETY: this child serves its own pipes on fds 0 and 1 from now on.
        unsafe {
            libc::dup2(req[0], 0);
            libc::dup2(resp[1], 1);
            libc::close(req[0]);
            libc::close(resp[1]);
        }
        serve(Vec::new())
    }
}

enum ForkResult {
    Parent(Reply, Option<(i32, i32)>),
    Child,
}

fn fork_helper(buf: &mut Vec<u8>) -> ForkResult {
    let mut req = [0i32; 2];
    let mut resp = [0i32; 2];
    // SAFETY: pipe2 writes two fds into each array.
    unsafe {
        if libc::pipe2(req.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return ForkResult::Parent(Reply::Errno(errno()), None);
        }
        if libc::pipe2(resp.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            let e = errno();
            libc::close(req[0]);
            libc::close(req[1]);
            return ForkResult::Parent(Reply::Errno(e), None);
        }
    }
    // SAFETY: this process is single-threaded, so the child may go on running Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = errno();
        // SAFETY: closing the four fds created above.
        unsafe {
            for fd in [req[0], req[1], resp[0], resp[1]] {
                libc::close(fd);
            }
        }
        return ForkResult::Parent(Reply::Errno(e), None);
    }
    if pid == 0 {
        // SAFETY: the child serves its own pipes on fds 0 and 1 and keeps no other end, so the
        // backend sees EOF when either side goes.
        unsafe {
            libc::dup2(req[0], 0);
            libc::dup2(resp[1], 1);
            for fd in [req[0], req[1], resp[0], resp[1]] {
                libc::close(fd);
            }
        }
        buf.clear();
        return ForkResult::Child;
    }
    // SAFETY: the parent keeps only the ends the backend will take.
    unsafe {
        libc::close(req[0]);
        libc::close(resp[1]);
    }
    ForkResult::Parent(
        Reply::Forked {
            pid,
            req_w_fd: req[1],
            resp_r_fd: resp[0],
        },
        Some((req[1], resp[0])),
    )
}

fn execute(req: &Request) -> Reply {
    match req {
        Request::Mmap {
            addr,
            len,
            prot,
            shared,
            file,
            noreserve,
            populate,
            growsdown,
            locked,
        } => {
            let mut flags = if *shared {
                libc::MAP_SHARED
            } else {
                libc::MAP_PRIVATE
            };
            if file.is_none() {
                flags |= libc::MAP_ANONYMOUS;
            }
            for (on, f) in [
                (*noreserve, libc::MAP_NORESERVE),
                (*populate, libc::MAP_POPULATE),
                (*growsdown, libc::MAP_GROWSDOWN),
                (*locked, libc::MAP_LOCKED),
                (addr.is_some(), libc::MAP_FIXED_NOREPLACE),
            ] {
                if on {
                    flags |= f;
                }
            }
            let (fd, offset) = match file {
                None => (-1, 0),
                Some(f) => {
                    let Ok(c) = std::ffi::CString::new(f.path.as_str()) else {
                        return Reply::Errno(libc::EINVAL);
                    };
                    let mode = if f.readonly_fd {
                        libc::O_RDONLY
                    } else {
                        libc::O_RDWR
                    };
                    // SAFETY: `c` is a NUL-terminated path.
                    let fd = unsafe { libc::open(c.as_ptr(), mode | libc::O_CLOEXEC) };
                    if fd < 0 {
                        return Reply::Errno(errno());
                    }
                    (fd, f.offset)
                }
            };
            let want = addr.unwrap_or(0);
            // SAFETY: mmap with a hint (or MAP_FIXED_NOREPLACE, which never replaces a mapping)
            // cannot disturb memory this program uses.
            let p = unsafe {
                libc::mmap(
                    want as usize as *mut libc::c_void,
                    *len as usize,
                    prot_bits(*prot),
                    flags,
                    fd,
                    offset as libc::off_t,
                )
            };
            let e = errno();
            if fd >= 0 {
                // SAFETY: the fd opened above; the mapping keeps its own reference.
                unsafe { libc::close(fd) };
            }
            if p == libc::MAP_FAILED {
                return Reply::Errno(e);
            }
            if addr.is_some() && p as u64 != want {
                // A kernel before 4.17 ignores MAP_FIXED_NOREPLACE: treat as occupied.
                // SAFETY: unmapping the mapping just made.
                unsafe { libc::munmap(p, *len as usize) };
                return Reply::Errno(libc::EEXIST);
            }
            Reply::Value(p as u64)
        }
        Request::Munmap { addr, len } => {
            // SAFETY: the backend only names ranges of the scenario's own mappings.
            let r = unsafe { libc::munmap(*addr as usize as *mut _, *len as usize) };
            ok_or_errno(r)
        }
        Request::Mprotect { addr, len, prot } => {
            // SAFETY: as for munmap.
            let r = unsafe {
                libc::mprotect(*addr as usize as *mut _, *len as usize, prot_bits(*prot))
            };
            ok_or_errno(r)
        }
        Request::Madvise { addr, len, advice } => {
            let a = match advice {
                Advice::DontNeed => libc::MADV_DONTNEED,
                Advice::Free => libc::MADV_FREE,
                Advice::DontFork => libc::MADV_DONTFORK,
                Advice::DoFork => libc::MADV_DOFORK,
                Advice::WipeOnFork => libc::MADV_WIPEONFORK,
                Advice::KeepOnFork => libc::MADV_KEEPONFORK,
            };
            // SAFETY: as for munmap.
            let r = unsafe { libc::madvise(*addr as usize as *mut _, *len as usize, a) };
            ok_or_errno(r)
        }
        Request::Mremap {
            addr,
            old_len,
            new_len,
            may_move,
            dontunmap,
            fixed,
        } => {
            let flags = if *may_move { libc::MREMAP_MAYMOVE } else { 0 }
                | if *dontunmap {
                    libc::MREMAP_DONTUNMAP
                } else {
                    0
                }
                | if fixed.is_some() {
                    libc::MREMAP_FIXED
                } else {
                    0
                };
            // SAFETY: as for munmap; the backend records the new address. The fifth argument
            // is read only with MREMAP_FIXED or MREMAP_DONTUNMAP (0: no hint).
            let p = unsafe {
                libc::mremap(
                    *addr as usize as *mut _,
                    *old_len as usize,
                    *new_len as usize,
                    flags,
                    fixed.unwrap_or(0) as usize as *mut libc::c_void,
                )
            };
            if p == libc::MAP_FAILED {
                Reply::Errno(errno())
            } else {
                Reply::Value(p as u64)
            }
        }
        Request::Access { addr, len, write } => {
            let end = addr.saturating_add(*len);
            let mut a = addr - addr % PAGE;
            while a < end {
                let p = a as usize as *mut u8;
                // SAFETY: a touch of a scenario mapping, exactly what the scenario asks; an
                // unmapped or protected page raises SIGSEGV, which reports and kills the helper.
                unsafe {
                    if *write {
                        std::ptr::write_volatile(p, 1);
                    } else {
                        std::ptr::read_volatile(p);
                    }
                }
                a += PAGE;
            }
            Reply::Ok
        }
        Request::DropCapSysAdmin => drop_cap_sys_admin_for_good(),
        Request::BpfMap {
            entries,
            value_size,
        } => {
            let (Ok(entries), Ok(value_size)) =
                (u32::try_from(*entries), u32::try_from(*value_size))
            else {
                return Reply::Errno(libc::E2BIG);
            };
            // union bpf_attr, BPF_MAP_CREATE's head: map_type, key_size, value_size,
            // max_entries (include/uapi/linux/bpf.h); the rest zero. 128 bytes: a kernel whose
            // bpf_attr is shorter checks that the tail is zero (bpf_check_uarg_tail_zero).
            const BPF_MAP_CREATE: libc::c_long = 0;
            const BPF_MAP_TYPE_ARRAY: u32 = 2;
            let mut attr = [0u32; 32];
            attr[..4].copy_from_slice(&[BPF_MAP_TYPE_ARRAY, 4, value_size, entries]);
            // SAFETY: bpf(2) reads `size_of_val(&attr)` bytes of `attr`, which lives across the
            // call; it returns a new fd (never closed: the map lives as long as the helper).
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_bpf,
                    BPF_MAP_CREATE,
                    attr.as_mut_ptr(),
                    std::mem::size_of_val(&attr),
                )
            };
            if fd < 0 {
                Reply::Errno(errno())
            } else {
                Reply::Value(fd as u64)
            }
        }
        Request::Shmget {
            key,
            len,
            noreserve,
        } => {
            let mut flags = libc::IPC_CREAT | 0o600;
            if *noreserve {
                flags |= SHM_NORESERVE;
            }
            // SAFETY: shmget has no memory arguments.
            let id = unsafe { libc::shmget(*key, *len as usize, flags) };
            if id < 0 {
                Reply::Errno(errno())
            } else {
                Reply::Value(id as u64)
            }
        }
        Request::Shmat { id, addr, prot } => {
            let mut flags = 0;
            if !prot.write {
                flags |= libc::SHM_RDONLY;
            }
            if prot.exec {
                flags |= libc::SHM_EXEC;
            }
            let want = addr.unwrap_or(0);
            // SAFETY: without SHM_REMAP shmat refuses (EINVAL) an address range in use, so it
            // cannot disturb memory this program uses.
            let p = unsafe { libc::shmat(*id, want as usize as *const libc::c_void, flags) };
            if p as isize == -1 {
                Reply::Errno(errno())
            } else {
                Reply::Value(p as u64)
            }
        }
        Request::ShmRm { id } => {
            // SAFETY: IPC_RMID takes no buffer.
            let r = unsafe { libc::shmctl(*id, libc::IPC_RMID, std::ptr::null_mut()) };
            ok_or_errno(r)
        }
        Request::FileWrite { path, offset, len } => file_write(path, *offset, *len),
        Request::FileTruncate { path, len } => match open_rw(path) {
            Err(e) => Reply::Errno(e),
            Ok(fd) => {
                // SAFETY: ftruncate and close on the fd just opened.
                let r = unsafe { libc::ftruncate(fd, *len as libc::off_t) };
                let reply = ok_or_errno(r);
                // SAFETY: as above.
                unsafe { libc::close(fd) };
                reply
            }
        },
        Request::Unlink { path } => match std::ffi::CString::new(path.as_str()) {
            Err(_) => Reply::Errno(libc::EINVAL),
            // SAFETY: a NUL-terminated path.
            Ok(c) => ok_or_errno(unsafe { libc::unlink(c.as_ptr()) }),
        },
        Request::Brk { grow, bytes } => brk(*grow, *bytes),
        Request::Fork | Request::ForkDone | Request::Vfork | Request::Exec | Request::Exit => {
            Reply::Error("handled by the loop".into())
        }
    }
}

/// SHM_NORESERVE (include/uapi/linux/shm.h), which the libc crate does not export.
const SHM_NORESERVE: i32 = 0o10000;

fn open_rw(path: &str) -> Result<i32, i32> {
    let c = std::ffi::CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: a NUL-terminated path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(fd)
    }
}

/// `pwrite` every byte of `[offset, offset + len)`, in chunks (each write allocates and
/// charges the tmpfs pages it reaches: mm/shmem.c: shmem_write_begin).
fn file_write(path: &str, offset: u64, len: u64) -> Reply {
    const CHUNK: usize = 64 << 10;
    static ONES: [u8; CHUNK] = [1; CHUNK];
    let fd = match open_rw(path) {
        Ok(fd) => fd,
        Err(e) => return Reply::Errno(e),
    };
    let mut done = 0u64;
    let mut result = Reply::Ok;
    while done < len {
        let n = (len - done).min(CHUNK as u64) as usize;
        // SAFETY: writing from a static buffer of at least n bytes.
        let w =
            unsafe { libc::pwrite(fd, ONES.as_ptr().cast(), n, (offset + done) as libc::off_t) };
        if w < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            result = Reply::Errno(errno());
            break;
        }
        done += w as u64;
    }
    // SAFETY: the fd opened above.
    unsafe { libc::close(fd) };
    result
}

/// `sbrk(±bytes)` as glibc does it on the raw syscall: brk(0) reads the break, brk(new) asks
/// for the new one and returns the break it left (the old one on failure: mm/mmap.c: brk).
/// Replies the break now.
fn brk(grow: bool, bytes: u64) -> Reply {
    // SAFETY: brk(0) only reads the break.
    let cur = unsafe { libc::syscall(libc::SYS_brk, 0usize) } as u64;
    let want = if grow {
        cur.checked_add(bytes)
    } else {
        cur.checked_sub(bytes)
    };
    let Some(want) = want else {
        return Reply::Errno(libc::ENOMEM);
    };
    // SAFETY: the helper's allocator never uses the heap (crate::helper_alloc; the CLI's
    // mimalloc neither), so moving the break frees or maps nothing the helper holds.
    let got = unsafe { libc::syscall(libc::SYS_brk, want as usize) } as u64;
    // glibc's brk(): only a break left below the request is a failure (misc/brk.c).
    if got < want {
        Reply::Errno(libc::ENOMEM)
    } else {
        Reply::Value(got)
    }
}

fn ok_or_errno(r: i32) -> Reply {
    if r == 0 {
        Reply::Ok
    } else {
        Reply::Errno(errno())
    }
}
