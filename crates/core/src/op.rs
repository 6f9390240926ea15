//! Operations as values: what a scenario asks a machine to do. The simulator applies them, and a
//! real backend can execute the same values with syscalls (mappings are referred to by name, and
//! a backend keeps its own name → address table, as the simulator does).

use crate::config::Sysctl;
use serde::{Deserialize, Serialize};

/// A size as written in a scenario: absolute, or relative to the machine so that one scenario can
/// run on any host (`65%ram`). Resolved against the machine when the operation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Size {
    Bytes(u64),
    /// `per_mille`/1000 of a machine quantity, rounded down to whole pages.
    Fraction {
        per_mille: u64,
        of: SizeBase,
    },
}

/// What a relative size is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SizeBase {
    Ram,
    Swap,
    /// RAM + swap: mode 0's per-request threshold from 5.2.
    RamSwap,
}

impl Size {
    pub const fn bytes(b: u64) -> Size {
        Size::Bytes(b)
    }

    /// Resolve against a machine with `ram` and `swap` bytes. Relative sizes are rounded down to a
    /// whole page; absolute sizes are returned as written (the operation rounds them as the kernel does).
    pub fn resolve(self, ram: u64, swap: u64) -> u64 {
        match self {
            Size::Bytes(b) => b,
            Size::Fraction { per_mille, of } => {
                let base = match of {
                    SizeBase::Ram => ram,
                    SizeBase::Swap => swap,
                    SizeBase::RamSwap => ram.saturating_add(swap),
                } as u128;
                let v = base * per_mille as u128 / 1000;
                let v = (v / crate::units::PAGE_SIZE as u128) * crate::units::PAGE_SIZE as u128;
                u64::try_from(v).unwrap_or(u64::MAX)
            }
        }
    }
}

/// `PROT_*` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };
    pub const R: Prot = Prot {
        read: true,
        write: false,
        exec: false,
    };
    pub const RW: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };

    /// `rw`, `r`, `rx`, `rwx`, `none`, …
    pub fn parse(s: &str) -> Option<Prot> {
        if s == "none" || s == "---" {
            return Some(Prot::NONE);
        }
        let mut p = Prot::NONE;
        for c in s.chars() {
            match c {
                'r' if !p.read => p.read = true,
                'w' if !p.write => p.write = true,
                'x' if !p.exec => p.exec = true,
                '-' => {}
                _ => return None,
            }
        }
        Some(p)
    }
}

impl std::fmt::Display for Prot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Prot::NONE {
            return f.write_str("none");
        }
        let mut s = String::new();
        if self.read {
            s.push('r');
        }
        if self.write {
            s.push('w');
        }
        if self.exec {
            s.push('x');
        }
        f.write_str(&s)
    }
}

/// What backs a new mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backing {
    /// `MAP_ANONYMOUS`.
    Anon,
    /// A regular file (on a disk file system) at `path`, mapped from byte `offset`.
    /// `readonly_fd` models an fd opened `O_RDONLY`.
    File {
        path: String,
        offset: u64,
        readonly_fd: bool,
    },
    /// A file on tmpfs (`/dev/shm`): a shmem object whose pages are charged as they are written.
    Tmpfs { path: String, offset: u64 },
    /// A SysV shared-memory segment created by `shmget` (this is `shmat`).
    SysvShm { key: String },
}

/// Where to place a new mapping. The default is the kernel's top-down search below `mmap_base`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Placement {
    #[default]
    Any,
    /// `MAP_FIXED_NOREPLACE` at this address (page aligned).
    At(u64),
    /// Directly below the named mapping of the same process, leaving `gap` bytes between.
    Below { of: String, gap: u64 },
    /// Directly above the named mapping, leaving `gap` bytes between.
    Above { of: String, gap: u64 },
}

/// `madvise` advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Advice {
    DontNeed,
    Free,
    DontFork,
    DoFork,
    WipeOnFork,
    KeepOnFork,
}

impl Advice {
    /// Every advice vmlab models, in the order the language lists them.
    pub const ALL: [Advice; 6] = [
        Advice::DontNeed,
        Advice::Free,
        Advice::DontFork,
        Advice::DoFork,
        Advice::WipeOnFork,
        Advice::KeepOnFork,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Advice::DontNeed => "dontneed",
            Advice::Free => "free",
            Advice::DontFork => "dontfork",
            Advice::DoFork => "dofork",
            Advice::WipeOnFork => "wipeonfork",
            Advice::KeepOnFork => "keeponfork",
        }
    }
    pub fn kernel_name(self) -> &'static str {
        match self {
            Advice::DontNeed => "MADV_DONTNEED",
            Advice::Free => "MADV_FREE",
            Advice::DontFork => "MADV_DONTFORK",
            Advice::DoFork => "MADV_DOFORK",
            Advice::WipeOnFork => "MADV_WIPEONFORK",
            Advice::KeepOnFork => "MADV_KEEPONFORK",
        }
    }
    pub fn parse(s: &str) -> Option<Advice> {
        Advice::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// A named mapping of a process, or a byte sub-range of it (`a[16MiB..32MiB]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub mapping: String,
    /// Byte offsets from the start of the mapping, `start..end`; `None` is the whole mapping.
    /// A call receives `(mapping + start, end − start)` in unsigned long arithmetic, as a C
    /// program would pass them, so an unaligned start or a backwards range meets the kernel's own
    /// checks (docs/model.md, "Hostile input").
    pub range: Option<(Size, Size)>,
}

impl Target {
    pub fn whole(mapping: &str) -> Target {
        Target {
            mapping: mapping.to_string(),
            range: None,
        }
    }
}

/// How a child is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForkKind {
    /// `fork()`: a copy of the address space, every VM_ACCOUNT VMA charged again (L6).
    Fork,
    /// `vfork()`: the child borrows the parent's mm; nothing is charged.
    Vfork,
    /// `clone(CLONE_VM)`: a thread-like child sharing the mm; nothing is charged.
    CloneVm,
}

impl ForkKind {
    pub fn name(self) -> &'static str {
        match self {
            ForkKind::Fork => "fork",
            ForkKind::Vfork => "vfork",
            ForkKind::CloneVm => "clone",
        }
    }
}

/// A capability a process can drop (`PROC drop cap_sys_admin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Capability {
    /// CAP_SYS_ADMIN: what security/commoncap.c: cap_vm_enough_memory checks for the admin
    /// reserve, and (up to 4.16) oom_badness's 3% bonus.
    SysAdmin,
}

impl Capability {
    /// Every capability the language can drop, as written.
    pub const ALL: [Capability; 1] = [Capability::SysAdmin];

    /// As the language writes it: `cap_sys_admin`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::SysAdmin => "cap_sys_admin",
        }
    }
    /// As the kernel names it: `CAP_SYS_ADMIN`.
    pub fn kernel_name(self) -> &'static str {
        match self {
            Capability::SysAdmin => "CAP_SYS_ADMIN",
        }
    }
    pub fn parse(s: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// How `brk` moves the break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrkChange {
    Grow(Size),
    Shrink(Size),
}

/// One operation. `proc` fields name a process (spawned or forked earlier in the scenario).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Set a `vm.*` sysctl (as root writing `/proc/sys/vm/NAME`).
    Sysctl {
        sysctl: Sysctl,
        value: u64,
    },
    /// Add swap (`swapon`) or remove it (`swapoff`), in bytes; the new SwapTotal.
    SetSwap {
        bytes: Size,
    },
    /// Start a new process with an empty address space (see docs/model.md: no program image).
    Spawn {
        name: String,
        cap_sys_admin: bool,
        oom_score_adj: i32,
    },
    Fork {
        parent: String,
        child: String,
        kind: ForkKind,
    },
    /// `execve`: a fresh, empty address space; the old mm is released.
    Exec {
        proc: String,
    },
    /// The process exits normally.
    Exit {
        proc: String,
    },
    /// SIGKILL from outside.
    Kill {
        proc: String,
    },
    Mmap {
        proc: String,
        name: String,
        len: Size,
        prot: Prot,
        shared: bool,
        backing: Backing,
        noreserve: bool,
        populate: bool,
        growsdown: bool,
        locked: bool,
        hugetlb: bool,
        placement: Placement,
    },
    Munmap {
        proc: String,
        target: Target,
    },
    Mprotect {
        proc: String,
        target: Target,
        prot: Prot,
    },
    /// `mremap(old, old_len, new_len, flags, new_addr)` of a named mapping or a byte sub-range
    /// of it (`range`, as in [`Target`]). `to` is `MREMAP_FIXED` at an address, or below/above a
    /// named mapping as mmap places one ([`Placement::Any`]: no MREMAP_FIXED); `dontunmap` is
    /// `MREMAP_DONTUNMAP`; `rename` names the resulting range (`as=NAME`).
    Mremap {
        proc: String,
        mapping: String,
        #[serde(default)]
        range: Option<(Size, Size)>,
        new_len: Size,
        may_move: bool,
        #[serde(default)]
        to: Placement,
        #[serde(default)]
        dontunmap: bool,
        #[serde(default)]
        rename: Option<String>,
    },
    Madvise {
        proc: String,
        target: Target,
        advice: Advice,
    },
    /// Touch every page of the range: a write fault or a read fault per page.
    Access {
        proc: String,
        target: Target,
        write: bool,
    },
    Brk {
        proc: String,
        change: BrkChange,
    },
    /// Grow the `[stack]` VMA down to `new_size` (creating a 132 KiB stack first if there is none).
    StackGrow {
        proc: String,
        new_size: Size,
    },
    /// `shmget(key, size, IPC_CREAT [| SHM_NORESERVE])`.
    Shmget {
        proc: String,
        key: String,
        len: Size,
        noreserve: bool,
    },
    /// `shmctl(IPC_RMID)`: destroyed when the last attachment goes.
    ShmRm {
        proc: String,
        key: String,
    },
    /// Write `len` bytes at `offset` of a tmpfs file (creating it): each newly allocated page is charged.
    TmpfsWrite {
        proc: String,
        path: String,
        offset: Size,
        len: Size,
    },
    /// write(2) (`write`) or read(2) of `len` bytes at `offset` of a regular file on a disk file
    /// system, through the page cache: written pages are dirty, read pages clean. The file is
    /// taken to exist on disk, as large as the access needs.
    FileIo {
        proc: String,
        path: String,
        offset: Size,
        len: Size,
        write: bool,
    },
    /// `ftruncate` a tmpfs file: growing costs nothing (sparse); shrinking frees pages and charge.
    TmpfsTruncate {
        proc: String,
        path: String,
        len: Size,
    },
    /// `unlink` a tmpfs file: its pages and charge go when no mapping holds it.
    Unlink {
        proc: String,
        path: String,
    },
    /// Write `/proc/PID/oom_score_adj` (or the legacy `oom_adj`, which is scaled).
    OomScoreAdj {
        proc: String,
        value: i32,
        legacy: bool,
    },
    /// Drop a capability from the process's effective, permitted and bounding sets (capset and
    /// prctl(PR_CAPBSET_DROP)): later `capable()` checks fail, in it and in its later children.
    DropCap {
        proc: String,
        cap: Capability,
    },
    /// mkdir of a memory cgroup; `path` is relative to the root, '/'-separated ("kubepods/pod1/c1").
    CgroupCreate {
        path: String,
    },
    /// Write a cgroup file as root would: `file` is the kernel's file name, v2 ("memory.max") or
    /// v1 ("memory.limit_in_bytes"); `value` is the text written ("96M" is parsed by the
    /// language into bytes; "max").
    CgroupWrite {
        path: String,
        file: String,
        value: String,
    },
    /// Move a process into a cgroup (write its pid to cgroup.procs / tasks). Its old charges
    /// stay where they were.
    CgroupMove {
        proc: String,
        path: String,
    },
    /// rmdir.
    CgroupRemove {
        path: String,
    },
    /// `bpf(BPF_MAP_CREATE)` of a BPF_MAP_TYPE_ARRAY with `entries` elements of `value_size`
    /// bytes, held by the process until it exits (no pinning).
    BpfMap {
        proc: String,
        entries: u64,
        value_size: u64,
    },
    /// One pass of the kubelet's eviction manager (pkg/kubelet/eviction/eviction_manager.go:
    /// synchronize) over the node's pods: when `memory.available` is below `threshold` bytes,
    /// the first pod of the memory-pressure ranking is evicted (every process in its cgroup
    /// killed). The pods are the scenario's, in declaration order.
    KubeletEvict {
        threshold: u64,
        pods: Vec<EvictPod>,
    },
    /// A Windows call (a Windows machine's only operations).
    Win(crate::windows::op::WinOp),
}

/// A pod as the kubelet's eviction ranking sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvictPod {
    pub name: String,
    /// The pod's cgroup (`kubepods/burstable/podNAME`).
    pub cgroup: String,
    /// The sum of its containers' memory requests, bytes (0 for BestEffort).
    pub request: u64,
}

impl Op {
    /// The process the operation is issued by, if any.
    pub fn proc(&self) -> Option<&str> {
        match self {
            Op::Sysctl { .. }
            | Op::SetSwap { .. }
            | Op::CgroupCreate { .. }
            | Op::CgroupWrite { .. }
            | Op::CgroupRemove { .. }
            | Op::KubeletEvict { .. } => None,
            Op::Spawn { name, .. } => Some(name),
            Op::Fork { parent, .. } => Some(parent),
            Op::Exec { proc }
            | Op::Exit { proc }
            | Op::Kill { proc }
            | Op::Mmap { proc, .. }
            | Op::Munmap { proc, .. }
            | Op::Mprotect { proc, .. }
            | Op::Mremap { proc, .. }
            | Op::Madvise { proc, .. }
            | Op::Access { proc, .. }
            | Op::Brk { proc, .. }
            | Op::StackGrow { proc, .. }
            | Op::Shmget { proc, .. }
            | Op::ShmRm { proc, .. }
            | Op::TmpfsWrite { proc, .. }
            | Op::FileIo { proc, .. }
            | Op::TmpfsTruncate { proc, .. }
            | Op::Unlink { proc, .. }
            | Op::OomScoreAdj { proc, .. }
            | Op::DropCap { proc, .. }
            | Op::CgroupMove { proc, .. }
            | Op::BpfMap { proc, .. } => Some(proc),
            Op::Win(w) => w.proc(),
        }
    }

    /// The scenario verb (`mmap`, `fork`, …), which `expect PROC VERB OUTCOME` matches.
    pub fn verb(&self) -> &'static str {
        match self {
            Op::Sysctl { .. } => "sysctl",
            Op::SetSwap { .. } => "swap",
            Op::Spawn { .. } => "spawn",
            Op::Fork { kind, .. } => kind.name(),
            Op::Exec { .. } => "exec",
            Op::Exit { .. } => "exit",
            Op::Kill { .. } => "kill",
            Op::Mmap { .. } => "mmap",
            Op::Munmap { .. } => "munmap",
            Op::Mprotect { .. } => "mprotect",
            Op::Mremap { .. } => "mremap",
            Op::Madvise { .. } => "madvise",
            Op::Access { write: true, .. } => "write",
            Op::Access { write: false, .. } => "read",
            Op::Brk { .. } => "brk",
            Op::StackGrow { .. } => "stack",
            Op::Shmget { .. } => "shmget",
            Op::ShmRm { .. } => "shmrm",
            Op::TmpfsWrite { .. } => "tmpfs-write",
            Op::FileIo { write: true, .. } => "file-write",
            Op::FileIo { write: false, .. } => "file-read",
            Op::TmpfsTruncate { .. } => "tmpfs-truncate",
            Op::Unlink { .. } => "unlink",
            Op::OomScoreAdj { .. } => "oom_score_adj",
            Op::DropCap { .. } => "drop",
            Op::CgroupCreate { .. }
            | Op::CgroupWrite { .. }
            | Op::CgroupMove { .. }
            | Op::CgroupRemove { .. } => "cgroup",
            Op::BpfMap { .. } => "bpf",
            Op::KubeletEvict { .. } => "kubelet",
            Op::Win(w) => w.verb(),
        }
    }
}

/// An `errno` an operation can fail with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Errno {
    ENOMEM,
    EACCES,
    EINVAL,
    EEXIST,
    ENOSPC,
    EPERM,
    ENOENT,
    EFAULT,
    EAGAIN,
    /// A file mapping whose offset + length passes the file system's largest file (mm/mmap.c:
    /// file_mmap_ok).
    EOVERFLOW,
    /// A cgroup that still has tasks or children (rmdir), or a v1 limit below usage that
    /// reclaim cannot reach (mm/memcontrol-v1.c: mem_cgroup_resize_max).
    EBUSY,
}

impl Errno {
    pub fn name(self) -> &'static str {
        match self {
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EINVAL => "EINVAL",
            Errno::EEXIST => "EEXIST",
            Errno::ENOSPC => "ENOSPC",
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::EFAULT => "EFAULT",
            Errno::EAGAIN => "EAGAIN",
            Errno::EOVERFLOW => "EOVERFLOW",
            Errno::EBUSY => "EBUSY",
        }
    }
    /// Every errno the model returns.
    pub const ALL: [Errno; 11] = [
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EINVAL,
        Errno::EEXIST,
        Errno::ENOSPC,
        Errno::EPERM,
        Errno::ENOENT,
        Errno::EFAULT,
        Errno::EAGAIN,
        Errno::EOVERFLOW,
        Errno::EBUSY,
    ];

    pub fn parse(s: &str) -> Option<Errno> {
        Errno::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// The result of one operation, as the process would see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    Err(Errno),
    /// The process received a fatal signal doing it (SIGSEGV on an unmapped access, SIGBUS, an OOM kill).
    Killed {
        signal: Signal,
    },
    /// The process sleeps in the kernel and the call has not returned: a v1 memcg with
    /// `oom_kill_disable` (mem_cgroup_oom_synchronize), or a memcg with nothing killable whose
    /// fault is retried (pagefault_out_of_memory). It resumes when the limit rises or memory
    /// in the cgroup is freed.
    Blocked,
    /// The kernel panicked during the operation (an OOM with nothing killable, or
    /// vm.panic_on_oom): the machine stops and no later operation runs.
    Panic,
    /// A Windows call succeeded and returned this base address (VirtualAlloc, MapViewOfFile).
    Base(u64),
    /// A Windows call failed with this error (GetLastError), or an access raised an exception.
    Win32(crate::windows::op::Win32Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    SIGKILL,
    SIGSEGV,
    SIGBUS,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::SIGKILL => "SIGKILL",
            Signal::SIGSEGV => "SIGSEGV",
            Signal::SIGBUS => "SIGBUS",
        }
    }
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Err(e) => e.name(),
            Outcome::Killed { .. } => "killed",
            Outcome::Blocked => "blocked",
            Outcome::Panic => "panic",
            Outcome::Base(_) => "ok",
            Outcome::Win32(e) => e.name(),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Killed { signal } => write!(f, "killed ({})", signal.name()),
            Outcome::Base(b) => write!(f, "ok ({b:#x})"),
            Outcome::Win32(e) => write!(f, "{} ({})", e.name(), e.code()),
            other => f.write_str(other.label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prot_parse_and_print() {
        assert_eq!(Prot::parse("rw"), Some(Prot::RW));
        assert_eq!(Prot::parse("none"), Some(Prot::NONE));
        assert_eq!(Prot::parse("rr"), None);
        assert_eq!(Prot::parse("q"), None);
        assert_eq!(Prot::RW.to_string(), "rw");
    }

    #[test]
    fn every_errno_parses_back_and_killed_names_its_signal() {
        for e in [Errno::EAGAIN, Errno::EOVERFLOW, Errno::EFAULT] {
            assert_eq!(Errno::parse(e.name()), Some(e));
        }
        let o = Outcome::Killed {
            signal: Signal::SIGSEGV,
        };
        assert_eq!(o.to_string(), "killed (SIGSEGV)");
    }

    #[test]
    fn relative_sizes_round_down_to_pages() {
        let s = Size::Fraction {
            per_mille: 650,
            of: SizeBase::Ram,
        };
        assert_eq!(s.resolve(10_000_000, 0), 6_500_000 / 4096 * 4096);
    }
}
