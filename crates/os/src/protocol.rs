//! The backend ↔ helper protocol: one JSON line per request, one JSON line per reply. Addresses
//! are resolved by the backend (which keeps each process's name → address table), so the helper
//! only executes syscalls.

use serde::{Deserialize, Serialize};
use vmlab_core::op::{Advice, Prot, Signal};

/// A file to map: opened by the helper just before `mmap` and closed after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileArg {
    pub path: String,
    pub offset: u64,
    pub readonly_fd: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// `mmap`; `addr` set means `MAP_FIXED_NOREPLACE` there. Replies `Value(address)`.
    Mmap {
        addr: Option<u64>,
        len: u64,
        prot: Prot,
        shared: bool,
        file: Option<FileArg>,
        noreserve: bool,
        populate: bool,
        growsdown: bool,
        locked: bool,
    },
    Munmap {
        addr: u64,
        len: u64,
    },
    Mprotect {
        addr: u64,
        len: u64,
        prot: Prot,
    },
    Madvise {
        addr: u64,
        len: u64,
        advice: Advice,
    },
    /// Replies `Value(new address)`. `fixed` is MREMAP_FIXED's new address.
    Mremap {
        addr: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        #[serde(default)]
        dontunmap: bool,
        #[serde(default)]
        fixed: Option<u64>,
    },
    /// Touch every page of `[addr, addr+len)`: one byte written, or read, per page.
    Access {
        addr: u64,
        len: u64,
        write: bool,
    },
    /// `fork()`: replies `Forked`; the child serves the pipes named there, once the backend has
    /// taken its ends (`pidfd_getfd`) and sent `ForkDone` to the parent.
    Fork,
    /// The parent closes its copies of the child's pipe ends.
    ForkDone,
    /// `clone(CLONE_VM | CLONE_VFORK)`: the child shares the parent's mm and the parent is
    /// suspended until the child execs or exits. The *child* replies `Forked` on the parent's
    /// pipe (the parent is blocked in clone and cannot), with the new pipe ends in its own fd
    /// table; after the backend has taken them it sends `ForkDone`, which the child answers `Ok`
    /// on the parent's pipe before serving its own. The parent replies nothing to either.
    Vfork,
    /// `shmget(key, len, IPC_CREAT | 0600 [| SHM_NORESERVE])`. Replies `Value(shmid)`.
    Shmget {
        key: i32,
        len: u64,
        noreserve: bool,
    },
    /// `shmat(id, addr, SHM_RDONLY? | SHM_EXEC?)`; `addr` set means that address (the kernel
    /// uses MAP_FIXED, so the backend only names free ranges). Replies `Value(address)`.
    Shmat {
        id: i32,
        addr: Option<u64>,
        prot: Prot,
    },
    /// `shmctl(id, IPC_RMID)`.
    ShmRm {
        id: i32,
    },
    /// `pwrite` of `len` bytes at `offset` of the file at `path` (created 0600 if missing), in
    /// chunks, as a program writing a tmpfs file would.
    FileWrite {
        path: String,
        offset: u64,
        len: u64,
    },
    /// `ftruncate` the file at `path` (created 0600 if missing) to `len` bytes.
    FileTruncate {
        path: String,
        len: u64,
    },
    /// `unlink(path)`.
    Unlink {
        path: String,
    },
    /// `sbrk(±bytes)` on the raw `brk` syscall. Replies `Value(the new break)`, or `Errno(ENOMEM)`
    /// when the kernel left the break where it was.
    Brk {
        grow: bool,
        bytes: u64,
    },
    /// `execve` of the helper's own program with its own arguments; the reply is the new
    /// image's first line (`Ok` when it is ready), or `Errno` when execve failed.
    Exec,
    /// `_exit(0)`, no reply.
    Exit,
    /// `PROC drop cap_sys_admin`: prctl(PR_CAPBSET_DROP) and capset without CAP_SYS_ADMIN.
    DropCapSysAdmin,
    /// `bpf(BPF_MAP_CREATE)` of a BPF_MAP_TYPE_ARRAY (4-byte keys); the fd stays open until the
    /// helper exits. Replies `Value(fd)`.
    BpfMap {
        entries: u64,
        value_size: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Ok,
    Value(u64),
    Errno(i32),
    Forked {
        pid: i32,
        /// In the parent helper: the write end of the child's request pipe.
        req_w_fd: i32,
        /// In the parent helper: the read end of the child's reply pipe.
        resp_r_fd: i32,
    },
    /// Written by the helper's signal handler just before the signal kills it.
    Killed {
        signal: Signal,
    },
    /// The request could not be understood.
    Error(String),
}

/// What the helper's SIGSEGV and SIGBUS handlers write (preformatted: a handler cannot allocate).
pub const KILLED_SIGSEGV: &str = "{\"Killed\":{\"signal\":\"SIGSEGV\"}}\n";
pub const KILLED_SIGBUS: &str = "{\"Killed\":{\"signal\":\"SIGBUS\"}}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signal_handlers_lines_are_replies() {
        let r: Reply = serde_json::from_str(KILLED_SIGSEGV.trim()).unwrap();
        assert_eq!(
            r,
            Reply::Killed {
                signal: Signal::SIGSEGV
            }
        );
        let r: Reply = serde_json::from_str(KILLED_SIGBUS.trim()).unwrap();
        assert_eq!(
            r,
            Reply::Killed {
                signal: Signal::SIGBUS
            }
        );
    }
}
