//! Every decision the model makes is an [`Event`]: a machine-readable reason, the numbers it
//! used, and a sentence that names the rule and its source. Events are plain data; the sentence is
//! rendered on demand, so applying an operation costs no string formatting.

use crate::config::{OvercommitMode, Sysctl};
use crate::kernel::KernelVersion;
use crate::op::{Advice, Errno, ForkKind, Signal};
use crate::units::{human_pages, pages_to_kb};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a commit charge was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChargeFor {
    Mmap,
    Brk,
    StackGrowth,
    Mprotect,
    MremapGrow,
    /// fork's per-VMA check in dup_mmap, against the parent's mm.
    ForkVma,
    /// A shmem object sized up front: shared anonymous mapping or SysV segment.
    ShmemObject,
    /// One page of a VM_NORESERVE shmem object (tmpfs file, SHM_NORESERVE, shared anon + MAP_NORESERVE).
    ShmemPage,
}

impl ChargeFor {
    pub fn name(self) -> &'static str {
        match self {
            ChargeFor::Mmap => "mmap",
            ChargeFor::Brk => "brk",
            ChargeFor::StackGrowth => "stack growth",
            ChargeFor::Mprotect => "mprotect",
            ChargeFor::MremapGrow => "mremap",
            ChargeFor::ForkVma => "fork",
            ChargeFor::ShmemObject => "shmem object",
            ChargeFor::ShmemPage => "shmem page",
        }
    }
    /// Where the kernel makes this charge.
    pub fn source(self) -> &'static str {
        match self {
            ChargeFor::Mmap => "mm/mmap.c: mmap_region → accountable_mapping",
            ChargeFor::Brk => "mm/mmap.c: do_brk_flags",
            ChargeFor::StackGrowth => "mm/mmap.c: acct_stack_growth",
            ChargeFor::Mprotect => "mm/mprotect.c: mprotect_fixup",
            ChargeFor::MremapGrow => "mm/mremap.c: vma_to_resize",
            ChargeFor::ForkVma => "kernel/fork.c: dup_mmap",
            ChargeFor::ShmemObject => "mm/shmem.c: shmem_acct_size",
            ChargeFor::ShmemPage => "mm/shmem.c: shmem_acct_blocks",
        }
    }
}

/// The rule `__vm_enough_memory` applied, with its numbers (all in pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommitRule {
    /// Mode 1: always succeeds, the charge stays.
    Always,
    /// Mode 0 from 5.2: fail iff `pages > totalram + total_swap`.
    GuessTotal { totalram: u64, swap: u64 },
    /// Mode 0 before 5.2: an estimate of free memory (free + file − shmem + free swap + reclaimable slab),
    /// less `totalreserve_pages` and, for non-admin callers, the admin reserve; fail iff `free <= pages`.
    GuessFree {
        free: u64,
        file: u64,
        shmem: u64,
        swap_free: u64,
        admin_reserve: u64,
    },
    /// Mode 2: succeed iff `committed (with the request) < allowed`.
    Never {
        limit: u64,
        admin_reserve: u64,
        user_reserve: u64,
        allowed: u64,
    },
}

/// One `__vm_enough_memory` decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitDecision {
    pub for_what: ChargeFor,
    pub pages: u64,
    /// Committed_AS before the request.
    pub committed_before: u64,
    pub mode: OvercommitMode,
    pub kernel: KernelVersion,
    pub rule: CommitRule,
    pub granted: bool,
}

/// A half-open page range `[start, end)` as byte addresses, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / crate::units::PAGE_SIZE
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}-{:x}", self.start, self.end)
    }
}

/// Why two neighbouring VMAs did not merge (mm/vma.c: is_mergeable_vma, is_mergeable_anon_vma,
/// can_vma_merge_before/after, can_vma_merge_right).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoMerge {
    Flags,
    File,
    Pgoff,
    /// Both have an anon_vma and they differ (each was faulted on its own).
    AnonVma,
    /// One side has no anon_vma and the side that has one is a fork child (its anon_vma_chain
    /// also links a parent's): `vma_is_fork_child`.
    ForkChild,
    /// Before 6.16 a VMA with an anon_vma never merged into a neighbour without one: the old
    /// `is_mergeable_anon_vma` asked for the *neighbour's* anon_vma_chain to be singular.
    UnfaultedNeighbour,
    /// A three-way merge needs `prev->anon_vma == next->anon_vma`.
    ThreeWayAnonVma,
    /// The merge would remove a VMA that has a `vm_ops->close` hook (SysV shm, hugetlb).
    CloseHook,
}

impl NoMerge {
    pub fn text(self) -> &'static str {
        match self {
            NoMerge::Flags => "their vm_flags differ",
            NoMerge::File => "they map different files",
            NoMerge::Pgoff => "their page offsets are not contiguous",
            NoMerge::AnonVma => "they have different anon_vmas (each was faulted on its own)",
            NoMerge::ForkChild => {
                "one side has no anon_vma and the other is a fork child (its anon_vma_chain links its parent's)"
            }
            NoMerge::UnfaultedNeighbour => {
                "a faulted VMA does not merge into a neighbour without an anon_vma before Linux 6.16"
            }
            NoMerge::ThreeWayAnonVma => {
                "prev and next have different anon_vmas, so only one side merges"
            }
            NoMerge::CloseHook => {
                "the merge would remove a VMA with a vm_ops->close hook (SysV shm, hugetlb), which is never done"
            }
        }
    }

    /// The kernel function that makes this decision.
    pub fn source(self) -> &'static str {
        match self {
            NoMerge::Flags | NoMerge::File => "mm/vma.c: is_mergeable_vma",
            NoMerge::Pgoff => "mm/vma.c: can_vma_merge_before, can_vma_merge_after",
            NoMerge::AnonVma => "mm/vma.c: is_mergeable_anon_vma",
            NoMerge::ForkChild => "mm/vma.c: is_mergeable_anon_vma, vma_is_fork_child",
            NoMerge::UnfaultedNeighbour => "mm/vma.c: is_mergeable_anon_vma (before 6.16)",
            NoMerge::ThreeWayAnonVma => "mm/vma.c: can_vma_merge_right",
            NoMerge::CloseHook => "mm/vma.c: can_merge_remove_vma",
        }
    }
}

/// Which merge a VMA went through: the kernel has one entry point per kind of change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MergePath {
    /// A new range: mmap, brk.
    New,
    /// A range of an existing VMA whose flags changed: mprotect, madvise.
    Existing,
    /// A VMA grown in place by mremap.
    Extend,
    /// A VMA moved by mremap.
    Copied,
}

impl MergePath {
    pub fn source(self) -> &'static str {
        match self {
            MergePath::New => "mm/vma.c: vma_merge_new_range, vma_expand (vma_merge before 6.12)",
            MergePath::Existing => {
                "mm/vma.c: vma_merge_existing_range, dup_anon_vma (vma_merge before 6.12)"
            }
            MergePath::Extend => "mm/vma.c: vma_merge_extend → vma_merge_new_range",
            MergePath::Copied => {
                "mm/vma.c: copy_vma → vma_merge_copied_range (vma_merge_new_range before 6.18)"
            }
        }
    }
}

/// How a page fault was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// First write to a private anonymous page: a new zeroed page.
    AnonNew,
    /// Read of an untouched private anonymous page: the shared zero page, no RSS.
    ZeroPage,
    /// Write to a page shared copy-on-write: copied into a new private page.
    CowCopy,
    /// Write to a COW page nobody else maps any more: reused in place.
    CowReuse,
    /// A page-cache page of a file mapped in.
    FileMap,
    /// A shmem page (shared anonymous, SysV, tmpfs) allocated or mapped.
    Shmem,
    /// A major fault: a swapped-out page read back from swap.
    SwapIn,
}

impl FaultKind {
    pub fn text(self) -> &'static str {
        match self {
            FaultKind::AnonNew => "new anonymous pages (RssAnon)",
            FaultKind::ZeroPage => "the shared zero page (no RSS)",
            FaultKind::CowCopy => "copy-on-write copies (RssAnon; the originals' mapcount drops)",
            FaultKind::CowReuse => "reused in place (no longer shared)",
            FaultKind::FileMap => "page-cache pages mapped (RssFile)",
            FaultKind::Shmem => "shmem pages (RssShmem)",
            FaultKind::SwapIn => "major faults, pages read back from swap (RssAnon; VmSwap falls)",
        }
    }
    pub fn source(self) -> &'static str {
        match self {
            FaultKind::AnonNew | FaultKind::ZeroPage => "mm/memory.c: do_anonymous_page",
            FaultKind::CowCopy | FaultKind::CowReuse => "mm/memory.c: do_wp_page",
            FaultKind::FileMap => "mm/memory.c: do_read_fault / do_cow_fault",
            FaultKind::Shmem => "mm/shmem.c: shmem_fault",
            FaultKind::SwapIn => "mm/memory.c: do_swap_page",
        }
    }
}

/// The constraint an OOM ran under (mm/oom_kill.c: constrained_alloc).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum OomConstraintKind {
    /// CONSTRAINT_NONE: the whole machine; `totalpages` = RAM + swap.
    Global,
    /// CONSTRAINT_MEMCG: inside one memory cgroup (its path); `totalpages` from its limit.
    Memcg(String),
}

impl OomConstraintKind {
    pub fn kernel_name(&self) -> &'static str {
        match self {
            OomConstraintKind::Global => "CONSTRAINT_NONE",
            OomConstraintKind::Memcg(_) => "CONSTRAINT_MEMCG",
        }
    }
}

/// One row of the OOM killer's task table (mm/oom_kill.c: dump_task), with the badness
/// `oom_evaluate_task` gave it (`None`: skipped, LONG_MIN: adj −1000 or in vfork).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OomCandidate {
    pub pid: u32,
    pub name: String,
    pub total_vm: u64,
    /// RssAnon, RssFile, RssShmem in pages.
    pub rss: [u64; 3],
    pub pgtables_bytes: u64,
    pub swapents: u64,
    pub oom_score_adj: i32,
    pub points: Option<i64>,
}

/// How the victim was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OomChoice {
    /// select_bad_process: the highest badness, ties to the task scanned later.
    Badness,
    /// vm.oom_kill_allocating_task: the task that allocated.
    AllocatingTask,
    /// Nothing killable.
    NoVictim,
    /// vm.panic_on_oom: the machine panicked before choosing (1: system-wide only, 2: any).
    PanicOnOom(u8),
}

/// One invocation of the OOM killer: the constraint, the whole task table, the choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OomReport {
    /// The task that allocated (`current`), and its oom_score_adj.
    pub current: (u32, String, i32),
    /// `gfp_mask` as the header prints it.
    pub gfp: &'static str,
    pub constraint: OomConstraintKind,
    pub totalpages: u64,
    pub table: Vec<OomCandidate>,
    pub choice: OomChoice,
    pub victim: Option<u32>,
    /// The panic message when the OOM ended the machine.
    pub panic: Option<String>,
}

/// mm/oom_kill.c: dump_tasks, the task table of every OOM report (global or memcg), as 6.18
/// prints it.
pub fn dump_tasks(table: &[OomCandidate]) -> Vec<String> {
    let mut out = vec![
        "Tasks state (memory values in pages):".to_string(),
        "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name".to_string(),
    ];
    for c in table {
        out.push(format!(
            "[{:>7}] {:>5} {:>5} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8}         {:>5} {}",
            c.pid,
            0,
            c.pid,
            c.total_vm,
            c.rss.iter().sum::<u64>(),
            c.rss[0],
            c.rss[1],
            c.rss[2],
            c.pgtables_bytes,
            c.swapents,
            c.oom_score_adj,
            c.name
        ));
    }
    out
}

impl OomReport {
    fn victim_row(&self) -> Option<&OomCandidate> {
        self.table.iter().find(|c| Some(c.pid) == self.victim)
    }

    /// The kernel log lines of this OOM, as dmesg shows them (mm/oom_kill.c: dump_header,
    /// dump_tasks, dump_oom_summary, __oom_kill_process, panic). The Mem-Info block that
    /// __show_mem prints between the header and the task table is not modelled.
    pub fn log_lines(&self) -> Vec<String> {
        let (_, comm, adj) = &self.current;
        let mut out = vec![format!(
            "{comm} invoked oom-killer: gfp_mask={}, order=0, oom_score_adj={adj}",
            self.gfp
        )];
        out.extend(dump_tasks(&self.table));
        if let Some(v) = self.victim_row() {
            let ctx = match &self.constraint {
                OomConstraintKind::Global => ",global_oom,task_memcg=/".to_string(),
                OomConstraintKind::Memcg(p) => format!(",oom_memcg=/{p},task_memcg=/{p}"),
            };
            out.push(format!(
                "oom-kill:constraint={},nodemask=(null),cpuset=/,mems_allowed=0{ctx},task={},pid={},uid=0",
                self.constraint.kernel_name(),
                v.name,
                v.pid
            ));
            let msg = match (&self.constraint, self.choice) {
                (_, OomChoice::AllocatingTask) => "Out of memory (oom_kill_allocating_task)",
                (OomConstraintKind::Global, _) => "Out of memory",
                (OomConstraintKind::Memcg(_), _) => "Memory cgroup out of memory",
            };
            out.push(format!(
                "{msg}: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:{}kB, UID:0 pgtables:{}kB oom_score_adj:{}",
                v.pid,
                v.name,
                pages_to_kb(v.total_vm),
                pages_to_kb(v.rss[0]),
                pages_to_kb(v.rss[1]),
                pages_to_kb(v.rss[2]),
                v.pgtables_bytes >> 10,
                v.oom_score_adj
            ));
        }
        if self.choice == OomChoice::NoVictim {
            out.push("Out of memory and no killable processes...".into());
        }
        if let Some(p) = &self.panic {
            out.push(format!("Kernel panic - not syncing: {p}"));
        }
        out
    }
}

/// What happened. Each variant carries the numbers its sentence needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum EventKind {
    /// A Windows machine's decision.
    Win(crate::windows::event::WinEvent),
    Commit(CommitDecision),
    /// Pages given back to Committed_AS.
    Uncharge {
        pages: u64,
        why: &'static str,
        source: &'static str,
    },
    VmaCreated {
        span: Span,
        flags: String,
    },
    VmaMerged {
        span: Span,
        with_prev: bool,
        with_next: bool,
        path: MergePath,
    },
    VmaNotMerged {
        span: Span,
        neighbour: Span,
        why: NoMerge,
    },
    VmaSplit {
        span: Span,
        at: u64,
    },
    VmaRemoved {
        span: Span,
    },
    VmaFlagsChanged {
        span: Span,
        flags: String,
    },
    MapCountLimit {
        map_count: u64,
        max: u64,
        split: bool,
    },
    Fault {
        span: Span,
        pages: u64,
        kind: FaultKind,
    },
    PagesDropped {
        span: Span,
        pages: u64,
        advice: Advice,
    },
    PagesLazyFree {
        span: Span,
        pages: u64,
    },
    ProcessCreated {
        pid: u32,
        name: String,
        kind: Option<ForkKind>,
        parent: Option<u32>,
    },
    /// The process ended: by exit (`signal` None) or by a fatal signal.
    ProcessExited {
        pid: u32,
        signal: Option<Signal>,
    },
    /// The call returns 0 without doing anything (a zero length, a break below its floor).
    NothingToDo {
        why: &'static str,
        source: &'static str,
    },
    /// The process took a fatal signal: what it did, and the kernel check that sent it.
    FatalSignal {
        signal: Signal,
        why: String,
        source: &'static str,
    },
    MmReleased {
        pages_unaccounted: u64,
    },
    ForkRefused {
        vma: Span,
        vma_pages: u64,
        acct: bool,
    },
    /// Every VM_ACCOUNT VMA passed its own check against the parent's mm.
    ForkCharged {
        vmas: u64,
        total_pages: u64,
        largest_pages: u64,
        mode: OvercommitMode,
        committed_after: u64,
    },
    /// execve replaced the address space.
    Exec {
        pid: u32,
        name: String,
    },
    StackGrown {
        span: Span,
        grown_pages: u64,
    },
    SysctlSet {
        sysctl: Sysctl,
        old: u64,
        new: u64,
        zeroed: Option<Sysctl>,
    },
    SwapSet {
        old_pages: u64,
        new_pages: u64,
    },
    /// The kernel's own log line (dmesg), printed verbatim, with the function that prints it.
    KernelLog {
        line: String,
        source: &'static str,
    },
    Refused {
        errno: Errno,
        why: String,
        source: &'static str,
    },
    OomScoreAdjSet {
        old: i32,
        new: i32,
    },
    /// A capability left the process's sets; `had` says whether it held it.
    CapDropped {
        cap: &'static str,
        had: bool,
    },
    ShmemObjectCreated {
        what: String,
        pages: u64,
        charged: bool,
    },
    ShmemObjectDestroyed {
        what: String,
        pages: u64,
    },
    Placed {
        span: Span,
        how: String,
        /// The kernel function whose rule chose the address.
        source: &'static str,
    },
    /// A memory-cgroup decision (linux/memcg.rs).
    Memcg(MemcgEvent),
    /// The OOM killer killed a Kubernetes container's process: the container's status.
    KubeOomKilled {
        pid: u32,
        pod: String,
        container: String,
    },
    /// One pass of the kubelet's eviction manager: the signal, the threshold, the ranking and
    /// the pod it evicted (None: no pressure).
    Kubelet {
        available: u64,
        threshold: u64,
        ranking: Vec<EvictRank>,
        evicted: Option<String>,
    },
    /// Free pages ran short for an allocation (or, with `memcg`, that cgroup reached its limit)
    /// and reclaim freed `pages` pages of `what` (inside the cgroup's subtree for a memcg).
    Reclaimed {
        what: ReclaimKind,
        pages: u64,
        wanted: u64,
        memcg: Option<String>,
        /// The memcg reclaim is memory.high's (reclaim_high on return to user space), not a
        /// charge at the limit.
        over_high: bool,
    },
    /// write(2)/read(2) of a regular file: `new_pages` entered the page cache.
    FileIo {
        path: String,
        span: Span,
        new_pages: u64,
        write: bool,
    },
    /// The OOM killer ran: its whole report (the task table, the constraint, the victim).
    Oom(Box<OomReport>),
    /// The machine panicked: no later operation runs.
    Panic {
        message: String,
    },
}

/// Memory-cgroup decisions (model-spec L9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum MemcgEvent {
    Created {
        cgroup: String,
    },
    Removed {
        cgroup: String,
    },
    Moved {
        from: String,
        to: String,
    },
    FileWritten {
        cgroup: String,
        file: String,
        value: String,
        /// The old value: pages for a limit, 0/1 for a switch.
        old: u64,
    },
    /// The memcg OOM killer ran: its totalpages (the limit), the candidate table, the victim
    /// (None: nothing killable) and the other tasks oom.group kills with it.
    Oom {
        cgroup: String,
        totalpages: u64,
        candidates: Vec<OomCandidate>,
        victim: Option<u32>,
        group: Vec<u32>,
    },
    /// The charge sleeps: v1 oom_kill_disable (`disabled`), or nothing killable.
    OomWait {
        cgroup: String,
        usage: u64,
        max: u64,
        disabled: bool,
    },
    /// A task sleeping in the charge path woke up and retries its fault.
    Woken {
        pid: u32,
        cgroup: String,
    },
    /// On return to user space a cgroup was over memory.high: reclaim inside it took
    /// `reclaimed` pages of the `usage − high` it was over (reclaim_high).
    HighReclaim {
        cgroup: String,
        usage: u64,
        high: u64,
        reclaimed: u64,
    },
    /// Usage passed memory.high: the task is throttled on return to user space.
    HighThrottle {
        cgroup: String,
        usage: u64,
        high: u64,
        pages: u64,
        /// Charge batches (of 64 pages) that ended over high: one return to user space each.
        batches: u64,
        /// The penalty of the last of them.
        delay_ms: u64,
        slept: bool,
    },
    /// A BPF map: charged to `cgroup` (from 5.11), or to RLIMIT_MEMLOCK only (None).
    BpfMap {
        pages: u64,
        cgroup: Option<String>,
    },
}

/// One pod of the kubelet's memory-pressure ranking, in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvictRank {
    pub pod: String,
    /// The pod cgroup's working set (usage − inactive_file).
    pub usage: u64,
    pub request: u64,
}

fn cg_name(path: &str) -> String {
    format!("/{path}")
}

impl MemcgEvent {
    pub fn reason(&self) -> &'static str {
        match self {
            MemcgEvent::Created { .. } => "memcg.created",
            MemcgEvent::Removed { .. } => "memcg.removed",
            MemcgEvent::Moved { .. } => "memcg.moved",
            MemcgEvent::FileWritten { .. } => "memcg.write",
            MemcgEvent::Oom {
                victim: Some(_), ..
            } => "memcg.oom_kill",
            MemcgEvent::Oom { victim: None, .. } => "memcg.oom_no_victim",
            MemcgEvent::OomWait { .. } => "memcg.oom_wait",
            MemcgEvent::Woken { .. } => "memcg.woken",
            MemcgEvent::HighThrottle { .. } => "memcg.high_throttle",
            MemcgEvent::HighReclaim { .. } => "memcg.high_reclaim",
            MemcgEvent::BpfMap { .. } => "memcg.bpf_map",
        }
    }
    pub fn source(&self) -> &'static str {
        match self {
            MemcgEvent::Created { .. } | MemcgEvent::Removed { .. } => {
                "kernel/cgroup/cgroup.c: cgroup_mkdir, cgroup_rmdir"
            }
            MemcgEvent::Moved { .. } => {
                "kernel/cgroup/cgroup.c: cgroup_procs_write (charges stay: Doc/admin-guide/cgroup-v2.rst \"Memory Ownership\")"
            }
            MemcgEvent::FileWritten { .. } => "mm/memcontrol.c: memory_*_write; mm/memcontrol-v1.c",
            MemcgEvent::Oom { .. } => {
                "mm/oom_kill.c: out_of_memory, select_bad_process (mem_cgroup_scan_tasks); mm/memcontrol.c: mem_cgroup_get_max, mem_cgroup_get_oom_group"
            }
            MemcgEvent::OomWait { disabled: true, .. } => {
                "mm/memcontrol-v1.c: memcg1_oom_prepare, mem_cgroup_oom_synchronize"
            }
            MemcgEvent::OomWait { disabled: false, .. } => {
                "mm/memcontrol.c: try_charge_memcg → -ENOMEM; mm/oom_kill.c: pagefault_out_of_memory"
            }
            MemcgEvent::Woken { .. } => "mm/memcontrol-v1.c: memcg_oom_recover",
            MemcgEvent::HighThrottle { .. } => {
                "mm/memcontrol.c: mem_cgroup_handle_over_high, calculate_high_delay"
            }
            MemcgEvent::HighReclaim { .. } => {
                "mm/memcontrol.c: mem_cgroup_handle_over_high → reclaim_high → try_to_free_mem_cgroup_pages"
            }
            MemcgEvent::BpfMap { .. } => "kernel/bpf/syscall.c: __bpf_map_area_alloc; kernel/bpf/arraymap.c",
        }
    }
}

impl fmt::Display for MemcgEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemcgEvent::Created { cgroup } => write!(f, "cgroup {} created", cg_name(cgroup)),
            MemcgEvent::Removed { cgroup } => write!(f, "cgroup {} removed", cg_name(cgroup)),
            MemcgEvent::Moved { from, to } => write!(
                f,
                "moved from {} to {}: pages already charged stay with {}",
                cg_name(from),
                cg_name(to),
                cg_name(from)
            ),
            MemcgEvent::FileWritten { cgroup, file, value, .. } => {
                write!(f, "{}/{file} ← {value}", cg_name(cgroup))
            }
            MemcgEvent::Oom { cgroup, totalpages, candidates, victim, group } => {
                write!(
                    f,
                    "memcg OOM in {} (totalpages {} from its limit): ",
                    cg_name(cgroup),
                    totalpages
                )?;
                // The eligible rows (dump_tasks also lists the ones at −1000 or in vfork).
                let eligible = candidates.iter().filter_map(|c| c.points.map(|p| (c, p)));
                for (i, (c, points)) in eligible.enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(
                        f,
                        "{sep}{} {} rss {} + swap {} + pt {} adj {} → {points}",
                        c.pid,
                        c.name,
                        c.rss.iter().sum::<u64>(),
                        c.swapents,
                        c.pgtables_bytes / crate::units::PAGE_SIZE,
                        c.oom_score_adj
                    )?;
                }
                match victim {
                    Some(v) => write!(f, "; victim {v} (highest points, ties to the later)")?,
                    None => write!(f, "; no killable task: the charge fails")?,
                }
                if !group.is_empty() {
                    write!(f, "; memory.oom.group kills {group:?} too")?;
                }
                Ok(())
            }
            MemcgEvent::OomWait { cgroup, usage, max, disabled: true } => write!(
                f,
                "{} at its limit ({usage} of {max} pages) with oom_kill_disable: the task sleeps until memory is freed or the limit rises (under_oom 1)",
                cg_name(cgroup)
            ),
            MemcgEvent::OomWait { cgroup, usage, max, disabled: false } => write!(
                f,
                "{} at its limit ({usage} of {max} pages) and nothing killable: the fault returns VM_FAULT_OOM and is retried until memory is freed or the limit rises",
                cg_name(cgroup)
            ),
            MemcgEvent::Woken { pid, cgroup } => {
                write!(f, "{pid} wakes: {} has room again; its fault is retried", cg_name(cgroup))
            }
            MemcgEvent::HighReclaim { cgroup, usage, high, reclaimed } => write!(
                f,
                "{} over memory.high on return to user space ({usage} > {high} pages): reclaim inside it freed {reclaimed} of the {} pages over",
                cg_name(cgroup),
                usage - high
            ),
            MemcgEvent::HighThrottle { cgroup, usage, high, pages, batches, delay_ms, slept } => {
                write!(
                    f,
                    "{} over memory.high ({usage} > {high} pages) after charging {pages}: {batches} `high` event(s), one per 64-page batch; the last return to user space is delayed {delay_ms} ms",
                    cg_name(cgroup)
                )?;
                if !slept {
                    write!(f, " (at most HZ/100: not slept)")?;
                }
                Ok(())
            }
            MemcgEvent::BpfMap { pages, cgroup: Some(c) } => write!(
                f,
                "BPF array map: {pages} pages of kernel memory charged to {} (memcg accounting, 5.11+)",
                cg_name(c)
            ),
            MemcgEvent::BpfMap { pages, cgroup: None } => write!(
                f,
                "BPF array map: {pages} pages charged to RLIMIT_MEMLOCK, not to any memory cgroup (before 5.11)"
            ),
        }
    }
}

/// What reclaim took, in the model's order (docs/model.md, "Reclaim").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ReclaimKind {
    /// Clean page cache not mapped by any process: dropped.
    CleanCache,
    /// Dirty page cache not mapped: written back, then dropped.
    DirtyCache,
    /// MADV_FREE pages not written since: dropped without swap.
    LazyFree,
    /// Anonymous pages written to swap.
    SwapOut,
}

impl ReclaimKind {
    pub fn text(self) -> &'static str {
        match self {
            ReclaimKind::CleanCache => "clean page cache dropped",
            ReclaimKind::DirtyCache => "dirty page cache written back and dropped",
            ReclaimKind::LazyFree => "MADV_FREE pages dropped (clean, so no swap is needed)",
            ReclaimKind::SwapOut => "anonymous pages written to swap",
        }
    }
    pub fn source(self) -> &'static str {
        match self {
            ReclaimKind::CleanCache | ReclaimKind::DirtyCache => {
                "mm/vmscan.c: shrink_folio_list (file LRU)"
            }
            ReclaimKind::LazyFree => {
                "mm/vmscan.c: shrink_folio_list → mm/rmap.c: try_to_unmap_one (lazyfree)"
            }
            ReclaimKind::SwapOut => "mm/vmscan.c: shrink_folio_list → add_to_swap, pageout",
        }
    }
    /// The source of a reclaim inside a memory cgroup at its limit.
    pub fn memcg_source(self) -> &'static str {
        match self {
            ReclaimKind::CleanCache | ReclaimKind::DirtyCache => {
                "mm/memcontrol.c: try_charge_memcg → mm/vmscan.c: try_to_free_mem_cgroup_pages (file LRU)"
            }
            ReclaimKind::LazyFree => {
                "mm/memcontrol.c: try_charge_memcg → mm/vmscan.c: try_to_free_mem_cgroup_pages (lazyfree)"
            }
            ReclaimKind::SwapOut => {
                "mm/memcontrol.c: try_charge_memcg → mm/vmscan.c: try_to_free_mem_cgroup_pages (anon)"
            }
        }
    }
}

/// One event, attributed to a process when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub pid: Option<u32>,
    pub kind: EventKind,
}

fn gib_kb(pages: u64) -> String {
    format!("{} ({} kB)", human_pages(pages), pages_to_kb(pages))
}

impl Event {
    /// A stable, machine-readable reason code.
    pub fn reason(&self) -> &'static str {
        match &self.kind {
            EventKind::Win(w) => w.reason(),
            EventKind::Commit(d) => match (d.rule, d.granted) {
                (CommitRule::Always, _) => "commit.always",
                (CommitRule::GuessTotal { .. }, true) => "commit.guess.within_total",
                (CommitRule::GuessTotal { .. }, false) => "commit.guess.exceeds_total",
                (CommitRule::GuessFree { .. }, true) => "commit.guess.within_free",
                (CommitRule::GuessFree { .. }, false) => "commit.guess.exceeds_free",
                (CommitRule::Never { .. }, true) => "commit.never.below_limit",
                (CommitRule::Never { .. }, false) => "commit.never.over_limit",
            },
            EventKind::Uncharge { .. } => "commit.uncharge",
            EventKind::VmaCreated { .. } => "vma.created",
            EventKind::VmaMerged { .. } => "vma.merged",
            EventKind::VmaNotMerged { .. } => "vma.not_merged",
            EventKind::VmaSplit { .. } => "vma.split",
            EventKind::VmaRemoved { .. } => "vma.removed",
            EventKind::VmaFlagsChanged { .. } => "vma.flags",
            EventKind::MapCountLimit { .. } => "vma.max_map_count",
            EventKind::Fault { .. } => "page.fault",
            EventKind::PagesDropped { .. } => "page.dropped",
            EventKind::PagesLazyFree { .. } => "page.lazyfree",
            EventKind::ProcessCreated { .. } => "process.created",
            EventKind::ProcessExited { signal: None, .. } => "process.exited",
            EventKind::ProcessExited {
                signal: Some(_), ..
            } => "process.killed",
            EventKind::FatalSignal { .. } => "process.signal",
            EventKind::NothingToDo { .. } => "op.nothing",
            EventKind::MmReleased { .. } => "mm.released",
            EventKind::ForkRefused { .. } => "fork.refused",
            EventKind::ForkCharged { .. } => "fork.charged",
            EventKind::Exec { .. } => "process.exec",
            EventKind::StackGrown { .. } => "vma.stack_grown",
            EventKind::SysctlSet { .. } => "sysctl.set",
            EventKind::SwapSet { .. } => "swap.set",
            EventKind::KernelLog { .. } => "kernel.log",
            EventKind::Refused { .. } => "op.refused",
            EventKind::OomScoreAdjSet { .. } => "oom.score_adj",
            EventKind::CapDropped { .. } => "process.cap_dropped",
            EventKind::ShmemObjectCreated { .. } => "shmem.created",
            EventKind::ShmemObjectDestroyed { .. } => "shmem.destroyed",
            EventKind::Placed { .. } => "vma.placed",
            EventKind::Memcg(m) => m.reason(),
            EventKind::KubeOomKilled { .. } => "kube.oom_killed",
            EventKind::Kubelet {
                evicted: Some(_), ..
            } => "kubelet.evict",
            EventKind::Kubelet { evicted: None, .. } => "kubelet.no_pressure",
            EventKind::Reclaimed { what, .. } => match what {
                ReclaimKind::CleanCache => "reclaim.clean_cache",
                ReclaimKind::DirtyCache => "reclaim.dirty_cache",
                ReclaimKind::LazyFree => "reclaim.lazyfree",
                ReclaimKind::SwapOut => "reclaim.swap_out",
            },
            EventKind::Oom(r) => match r.choice {
                OomChoice::Badness => "oom.kill",
                OomChoice::AllocatingTask => "oom.kill_allocating_task",
                OomChoice::NoVictim => "oom.no_victim",
                OomChoice::PanicOnOom(_) => "oom.panic_on_oom",
            },
            EventKind::Panic { .. } => "kernel.panic",
            EventKind::FileIo { write: true, .. } => "file.write",
            EventKind::FileIo { write: false, .. } => "file.read",
        }
    }

    /// The kernel source (file: function) or document the rule comes from.
    pub fn source(&self) -> &'static str {
        match &self.kind {
            EventKind::Win(w) => w.source(),
            EventKind::Commit(d) => match d.rule {
                CommitRule::Never { .. } => "mm/util.c: __vm_enough_memory, vm_commit_limit",
                _ => "mm/util.c: __vm_enough_memory",
            },
            EventKind::Uncharge { source, .. } => source,
            EventKind::VmaCreated { .. } => "mm/vma.c: __mmap_region (mm/mmap.c before 6.11)",
            EventKind::VmaMerged { path, .. } => path.source(),
            EventKind::VmaNotMerged { why, .. } => why.source(),
            EventKind::VmaSplit { .. } => "mm/vma.c: __split_vma (mm/mmap.c before 6.11)",
            EventKind::VmaRemoved { .. } => {
                "mm/vma.c: vms_gather_munmap_vmas (mm/mmap.c: do_munmap before 6.11)"
            }
            EventKind::VmaFlagsChanged { .. } => "mm/mprotect.c: mprotect_fixup; mm/madvise.c",
            EventKind::MapCountLimit { split: false, .. } => {
                "mm/mmap.c: do_mmap (map_count > sysctl_max_map_count)"
            }
            EventKind::MapCountLimit { split: true, .. } => {
                "mm/vma.c: split_vma (map_count >= sysctl_max_map_count)"
            }
            EventKind::Fault { kind, .. } => kind.source(),
            EventKind::PagesDropped { .. } => "mm/madvise.c: madvise_dontneed_free",
            EventKind::PagesLazyFree { .. } => "mm/madvise.c: madvise_free_single_vma",
            EventKind::ProcessCreated { .. } => "kernel/fork.c: copy_process, copy_mm",
            EventKind::ProcessExited { .. } => "kernel/exit.c: do_exit",
            EventKind::MmReleased { .. } => "mm/mmap.c: exit_mmap",
            EventKind::ForkRefused { .. } | EventKind::ForkCharged { .. } => {
                "kernel/fork.c: dup_mmap"
            }
            EventKind::Exec { .. } => "fs/exec.c: begin_new_exec → exec_mmap",
            EventKind::StackGrown { .. } => "mm/mmap.c: expand_downwards → acct_stack_growth",
            EventKind::SysctlSet { .. } => {
                "mm/util.c: overcommit_*_handler; Documentation/admin-guide/sysctl/vm.rst"
            }
            EventKind::SwapSet { .. } => "mm/swapfile.c: swapon/swapoff",
            EventKind::KernelLog { source, .. } => source,
            EventKind::FatalSignal { source, .. } => source,
            EventKind::NothingToDo { source, .. } => source,
            EventKind::Refused { source, .. } => source,
            EventKind::OomScoreAdjSet { .. } => "fs/proc/base.c: __set_oom_adj",
            EventKind::CapDropped { .. } => {
                "kernel/capability.c: capset; security/commoncap.c: cap_vm_enough_memory"
            }
            EventKind::ShmemObjectCreated { .. } | EventKind::ShmemObjectDestroyed { .. } => {
                "mm/shmem.c: shmem_acct_size; ipc/shm.c: newseg"
            }
            EventKind::Placed { source, .. } => source,
            EventKind::Memcg(m) => m.source(),
            EventKind::KubeOomKilled { .. } => {
                "the container runtime's status for a container whose cgroup saw an OOM kill (CRI ContainerStatus reason OOMKilled; exit code 128 + SIGKILL = 137); model-spec L10"
            }
            EventKind::Kubelet { .. } => {
                "pkg/kubelet/eviction/eviction_manager.go: synchronize; helpers.go: rankMemoryPressure (exceedMemoryRequests, priority, memory); model-spec L10"
            }
            EventKind::Reclaimed {
                what, memcg: None, ..
            } => what.source(),
            EventKind::Reclaimed {
                what,
                memcg: Some(_),
                ..
            } => what.memcg_source(),
            EventKind::Oom(r) => match r.choice {
                OomChoice::PanicOnOom(_) => "mm/oom_kill.c: out_of_memory → check_panic_on_oom",
                OomChoice::NoVictim => "mm/oom_kill.c: out_of_memory → select_bad_process",
                _ => "mm/oom_kill.c: out_of_memory → select_bad_process, oom_kill_process",
            },
            EventKind::Panic { .. } => "kernel/panic.c: panic",
            EventKind::FileIo { write: true, .. } => {
                "mm/filemap.c: generic_perform_write (→ __filemap_get_folio)"
            }
            EventKind::FileIo { write: false, .. } => "mm/filemap.c: filemap_read",
        }
    }

    /// One sentence for a human: the decision, its numbers, the rule.
    pub fn sentence(&self) -> String {
        self.text().to_string()
    }

    /// [`Event::sentence`] as a `Display`, for writers that stream it without a `String`.
    pub fn text(&self) -> Sentence<'_> {
        Sentence(self)
    }
}

/// An event's sentence, written on demand (see [`Event::text`]).
pub struct Sentence<'a>(&'a Event);

impl fmt::Display for Sentence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.kind {
            EventKind::Win(w) => write!(f, "{w}"),
            EventKind::Commit(d) => commit_sentence(f, d),
            EventKind::Uncharge { pages, why, .. } => {
                write!(f, "Committed_AS −{}: {why}", gib_kb(*pages))
            }
            EventKind::VmaCreated { span, flags } => {
                write!(f, "new VMA {span} ({}) [{flags}]", human_pages(span.pages()))
            }
            EventKind::VmaMerged { span, with_next, path: MergePath::Extend, .. } => {
                let also = if *with_next { ", and merged with the VMA above" } else { "" };
                write!(f, "grown in place into VMA {span} ({}){also}", human_pages(span.pages()))
            }
            EventKind::VmaMerged { span, with_prev, with_next, .. } => {
                let side = match (with_prev, with_next) {
                    (true, true) => "both neighbours",
                    (true, false) => "the VMA below",
                    (false, true) => "the VMA above",
                    (false, false) => "nothing",
                };
                write!(
                f,
                    "merged with {side} into one VMA {span} ({}): same flags, same file, contiguous pgoff, compatible anon_vma",
                    human_pages(span.pages())
                )
            }
            EventKind::VmaNotMerged { span, neighbour, why } => {
                write!(f, "VMA {span} not merged with its neighbour {neighbour}: {}", why.text())
            }
            EventKind::VmaSplit { span, at } => write!(f, "VMA {span} split at {at:x}"),
            EventKind::VmaRemoved { span } => {
                write!(f, "VMA {span} ({}) unmapped", human_pages(span.pages()))
            }
            EventKind::VmaFlagsChanged { span, flags } => write!(f, "VMA {span} now [{flags}]"),
            EventKind::MapCountLimit { map_count, max, split } => {
                if *split {
                    write!(f, "splitting needs a new VMA but map_count {map_count} >= max_map_count {max}: the split fails with -ENOMEM")
                } else {
                    write!(f, "map_count {map_count} > max_map_count {max} before the call → ENOMEM")
                }
            }
            EventKind::Fault { span, pages, kind } => {
                write!(f, "{} faulted in {span}: {}", human_pages(*pages), kind.text())
            }
            EventKind::PagesDropped { span, pages, advice } => write!(
                f,
                "{}: {} dropped from {span}; RSS falls, commit is unchanged",
                advice.kernel_name(),
                human_pages(*pages)
            ),
            EventKind::PagesLazyFree { span, pages } => write!(
                f,
                "MADV_FREE: {} in {span} marked lazy-free; still resident and in Rss until reclaim",
                human_pages(*pages)
            ),
            EventKind::ProcessCreated { pid, name, kind, parent } => match (kind, parent) {
                (Some(k), Some(p)) => write!(f, "{} created {name} (pid {pid}) from pid {p}", k.name()),
                _ => write!(f, "spawned {name} (pid {pid}) with an empty address space"),
            },
            EventKind::ProcessExited { pid, signal } => match signal {
                Some(sig) => write!(f, "pid {pid} killed by {}", sig.name()),
                None => write!(f, "pid {pid} exited"),
            },
            EventKind::FatalSignal { signal, why, .. } => write!(f, "{why} → {}", signal.name()),
            EventKind::NothingToDo { why, .. } => f.write_str(why),
            EventKind::MmReleased { pages_unaccounted } => write!(
                f,
                "address space torn down: every VMA unmapped, Committed_AS −{}",
                gib_kb(*pages_unaccounted)
            ),
            EventKind::ForkCharged { vmas, total_pages, largest_pages, mode, committed_after } => {
                let which = if *vmas == 1 {
                    "the parent's one VM_ACCOUNT VMA passed its check".to_string()
                } else {
                    format!("each of the parent's {vmas} VM_ACCOUNT VMAs passed its own check (the largest is {})", gib_kb(*largest_pages))
                };
                write!(
                f,
                    "fork: {which} against the parent's mm under overcommit_memory={}; {} charged in all, Committed_AS now {} kB",
                    mode.sysctl_value(),
                    gib_kb(*total_pages),
                    pages_to_kb(*committed_after)
                )
            }
            EventKind::Exec { pid, name } => write!(f, "{name} (pid {pid}) called execve: the old address space is released and a fresh, empty one begins"),
            EventKind::StackGrown { span, grown_pages } => write!(
                f,
                "[stack] grew down by {} to {span}; the growth is charged like any VM_ACCOUNT memory",
                gib_kb(*grown_pages)
            ),
            EventKind::ForkRefused { vma, vma_pages, acct: _ } => write!(
                f,
                "fork: VMA {vma} ({}, ac) refused by the overcommit check against the parent's mm → ENOMEM; what was charged so far is unwound",
                human_pages(*vma_pages)
            ),
            EventKind::SysctlSet { sysctl, old, new, zeroed } => {
                write!(f, "vm.{} {old} → {new}", sysctl.name())?;
                if let Some(z) = zeroed {
                    write!(f, " (writing it zeroes vm.{})", z.name())?;
                }
                Ok(())
            }
            EventKind::SwapSet { old_pages, new_pages } => write!(
                f,
                "SwapTotal {} → {} (CommitLimit and mode 0's threshold include swap)",
                gib_kb(*old_pages),
                gib_kb(*new_pages)
            ),
            EventKind::KernelLog { line, .. } => write!(f, "kernel: {line}"),
            EventKind::Refused { errno, why, .. } => write!(f, "{why} → {}", errno.name()),
            EventKind::OomScoreAdjSet { old, new } => write!(f, "oom_score_adj {old} → {new}"),
            EventKind::CapDropped { cap, had: true } => write!(
                f,
                "{cap} dropped: later charges keep the admin reserve out of its reach"
            ),
            EventKind::CapDropped { cap, had: false } => {
                write!(f, "{cap} dropped (the process did not hold it)")
            }
            EventKind::ShmemObjectCreated { what, pages, charged } => {
                if *charged {
                    write!(f, "{what} created ({}), charged in full up front", human_pages(*pages))
                } else {
                    write!(f, "{what} created ({}), VM_NORESERVE: charged page by page as pages are allocated", human_pages(*pages))
                }
            }
            EventKind::ShmemObjectDestroyed { what, pages } => {
                write!(f, "{what} destroyed, {} of pages freed", human_pages(*pages))
            }
            EventKind::Placed { span, how, .. } => write!(f, "placed at {span} ({how})"),
            EventKind::Memcg(m) => write!(f, "{m}"),
            EventKind::KubeOomKilled {
                pid,
                pod,
                container,
            } => write!(
                f,
                "container {container} of pod {pod} (pid {pid}): status Terminated, reason \
                 OOMKilled, exit code 137"
            ),
            EventKind::Kubelet {
                available,
                threshold,
                ranking,
                evicted,
            } => {
                let avail = crate::units::human(*available);
                let thr = crate::units::human(*threshold);
                match evicted {
                    None => write!(
                        f,
                        "kubelet: memory.available {avail} is not below the eviction threshold \
                         {thr}: no eviction"
                    ),
                    Some(pod) => {
                        write!(
                            f,
                            "kubelet: memory.available {avail} < {thr}: evicted pod {pod} \
                             (phase Failed, reason Evicted); ranking, pods over their request \
                             first, then by usage − request:"
                        )?;
                        for r in ranking {
                            write!(
                                f,
                                " {} {} (request {})",
                                r.pod,
                                crate::units::human(r.usage),
                                crate::units::human(r.request)
                            )?;
                        }
                        Ok(())
                    }
                }
            }
            EventKind::Reclaimed {
                what,
                pages,
                wanted,
                memcg: Some(cg),
                over_high: true,
            } => write!(
                f,
                "cgroup /{cg} over memory.high ({} over): reclaim inside it freed {}, {}",
                human_pages(*wanted),
                human_pages(*pages),
                what.text()
            ),
            EventKind::Reclaimed {
                what,
                pages,
                wanted,
                memcg: Some(cg),
                ..
            } => write!(
                f,
                "cgroup /{cg} at its limit ({} wanted): reclaim inside it freed {}, {}",
                human_pages(*wanted),
                human_pages(*pages),
                what.text()
            ),
            EventKind::Reclaimed {
                what,
                pages,
                wanted,
                memcg: None,
                ..
            } => write!(
                f,
                "free pages ran short ({} wanted): reclaim freed {}, {}",
                human_pages(*wanted),
                human_pages(*pages),
                what.text()
            ),
            EventKind::Oom(r) => oom_sentence(f, r),
            EventKind::Panic { message } => write!(f, "Kernel panic - not syncing: {message}; the machine stops"),
            EventKind::FileIo { path, span, new_pages, write } => write!(
                f,
                "{} {} of {path} at offset {:#x}: {} entered the page cache{}",
                if *write { "write of" } else { "read of" },
                human_pages(span.pages()),
                span.start,
                human_pages(*new_pages),
                if *write {
                    ", dirty until written back (Dirty, then Cached)"
                } else {
                    ", clean (Cached; reclaim drops it first)"
                }
            ),
        }
    }
}

fn oom_sentence(f: &mut fmt::Formatter<'_>, r: &OomReport) -> fmt::Result {
    let eligible = r.table.iter().filter(|c| c.points.is_some()).count();
    write!(
        f,
        "out of memory ({}, totalpages {}): {} tasks in the table, {eligible} eligible; ",
        r.constraint.kernel_name(),
        r.totalpages,
        r.table.len()
    )?;
    match (r.choice, r.victim_row()) {
        (OomChoice::PanicOnOom(n), _) => write!(
            f,
            "vm.panic_on_oom={n}: the kernel panics instead of killing"
        ),
        (OomChoice::NoVictim, _) => write!(f, "no killable process"),
        (OomChoice::AllocatingTask, Some(v)) => write!(
            f,
            "vm.oom_kill_allocating_task: the allocating task {} (pid {}) is killed",
            v.name, v.pid
        ),
        (_, Some(v)) => write!(
            f,
            "killed {} (pid {}) with the highest badness, {} points (rss {} + swap {} + page tables {} + adj {} × totalpages/1000)",
            v.name,
            v.pid,
            v.points.unwrap_or(i64::MIN),
            v.rss.iter().sum::<u64>(),
            v.swapents,
            v.pgtables_bytes / crate::units::PAGE_SIZE,
            v.oom_score_adj
        ),
        (_, None) => write!(f, "no victim"),
    }
}

impl Event {
    /// The kernel log lines this event printed (dmesg), in order.
    pub fn log_lines(&self) -> Vec<String> {
        match &self.kind {
            EventKind::KernelLog { line, .. } => vec![line.clone()],
            EventKind::Oom(r) => r.log_lines(),
            // A memcg OOM's header and kill lines are KernelLog events around this one; its
            // task table is printed here, between them, as dump_header does.
            EventKind::Memcg(MemcgEvent::Oom { candidates, .. }) => dump_tasks(candidates),
            _ => Vec::new(),
        }
    }
}

fn mode_label(d: &CommitDecision) -> String {
    format!("overcommit_memory={}", d.mode.sysctl_value())
}

fn commit_sentence(f: &mut fmt::Formatter<'_>, d: &CommitDecision) -> fmt::Result {
    let what = d.for_what.name();
    let req = gib_kb(d.pages);
    match d.rule {
        CommitRule::Always => write!(
            f,
            "{what}: {req} charged; {} never refuses (Committed_AS {} → {})",
            mode_label(d),
            pages_to_kb(d.committed_before),
            pages_to_kb(d.committed_before.saturating_add(d.pages))
        ),
        CommitRule::GuessTotal { totalram, swap } => {
            let total = totalram + swap;
            if d.granted {
                write!(
                f,
                    "{what}: {req} ≤ RAM+swap ({}) under {}, Linux ≥ 5.2: this request alone is compared, so it is granted",
                    human_pages(total),
                    mode_label(d)
                )
            } else {
                write!(
                    f,
                    "{what}: {req} is larger than RAM+swap ({}) under {}, Linux ≥ 5.2 → ENOMEM",
                    human_pages(total),
                    mode_label(d)
                )
            }
        }
        CommitRule::GuessFree {
            free,
            file,
            shmem,
            swap_free,
            admin_reserve,
        } => {
            let verdict = if d.granted { "granted" } else { "→ ENOMEM" };
            write!(
                f,
                "{what}: {req} against Linux {}'s estimate of free memory {} (free pages + file {} − shmem {} + free swap {}, less admin reserve {}) under {}: {verdict}",
                d.kernel,
                human_pages(free),
                human_pages(file),
                human_pages(shmem),
                human_pages(swap_free),
                human_pages(admin_reserve),
                mode_label(d)
            )
        }
        CommitRule::Never {
            limit,
            admin_reserve,
            user_reserve,
            allowed,
        } => {
            let after = d.committed_before.saturating_add(d.pages);
            let cmp = if d.granted { "<" } else { "≥" };
            let verdict = if d.granted { "granted" } else { "→ ENOMEM" };
            write!(
                f,
                "{what}: Committed_AS {} kB + {req} = {} kB {cmp} allowed {} kB (CommitLimit {} kB − admin reserve {} kB − user reserve {} kB) under {}: {verdict}",
                pages_to_kb(d.committed_before),
                pages_to_kb(after),
                pages_to_kb(allowed),
                pages_to_kb(limit),
                pages_to_kb(admin_reserve),
                pages_to_kb(user_reserve),
                mode_label(d)
            )
        }
    }
}
