//! The Linux machine: processes, address spaces, frames and the two ledgers (commit and
//! residency), driven by [`Op`] values. Rules follow model-spec Part L; each is cited where applied.

mod alloc;
mod commit;
mod fault;

pub mod k8s;
mod kubelet;
mod mapops;
pub mod memcg;
pub mod mm;
mod oom;
pub mod pages;
pub mod procfs;
mod query;
mod reclaim;
mod seam;
mod shmem;
mod snapshot;
mod swap;
pub mod vma;

use crate::config::LinuxConfig;
use crate::event::{Event, EventKind};
use crate::op::{Errno, Op, Outcome, Signal};
use crate::runmap::RunMap;
use mm::{Mm, MmId};
use pages::{Frame, FrameTally};
use std::collections::BTreeMap;
use vma::ObjId;

pub type Pid = u32;

/// Pages of one mm's PGD: one without page-table isolation (arch/x86/include/asm/pgalloc.h:
/// pgd_allocation_order is 1 only with X86_FEATURE_PTI, off on the measured 6.18 host, whose
/// CPU is not affected by Meltdown).
pub const PGD_PAGES: u64 = 1;

/// The first pid handed out. vmlab has no init (pid 1) and no kernel threads.
pub const FIRST_PID: Pid = 1000;

pub use crate::machine::{OpError, ProcState};

#[derive(Clone, Debug)]
pub struct Process {
    pub pid: Pid,
    pub name: String,
    pub ppid: Option<Pid>,
    pub mm: Option<MmId>,
    pub state: ProcState,
    pub oom_score_adj: i32,
    /// The floor an unprivileged write may not go below (fs/proc/base.c: __set_oom_adj).
    pub oom_score_adj_min: i32,
    /// CAP_SYS_ADMIN in the initial user namespace: the admin reserve of __vm_enough_memory
    /// (security/commoncap.c: cap_vm_enough_memory) and, up to 4.16, oom_badness's 3% bonus.
    pub cap_sys_admin: bool,
    /// CAP_SYS_RESOURCE, which fs/proc/base.c: __set_oom_adj checks. `spawn … admin` gives both;
    /// `drop cap_sys_admin` takes only CAP_SYS_ADMIN away.
    pub cap_sys_resource: bool,
    /// Set on a vfork child until it execs or exits; its parent is suspended meanwhile.
    pub vfork_parent: Option<Pid>,
    /// The memory cgroup the process is in (inherited at fork; `PROC cgroup PATH` moves it).
    pub memcg: memcg::MemcgId,
    /// Set while the process sleeps in a memcg charge (v1 oom_kill_disable, or nothing
    /// killable): the rest of its fault, retried when the cgroup has room.
    pub memcg_wait: Option<memcg::MemcgWait>,
    /// The other side of `vfork_parent`: the vfork child this process waits for.
    pub vfork_child: Option<Pid>,
}

/// A file, tmpfs file or shmem object (`struct file` / inode) whose pages live in the page cache.
#[derive(Clone, Debug)]
pub struct Obj {
    pub kind: ObjKind,
    pub size_pages: u64,
    /// VM_NORESERVE shmem: charged page by page as pages are allocated (tmpfs files always).
    pub noreserve: bool,
    /// Pages of Committed_AS this object holds now.
    pub charged: u64,
    pub cache: RunMap<pages::CachePage>,
    /// VMAs that map it.
    pub maps: u64,
    /// Still reachable by name: not unlinked / not IPC_RMID'd. A shared anonymous object is
    /// never reachable by name.
    pub linked: bool,
    pub ino: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjKind {
    File { path: String },
    Tmpfs { path: String },
    SharedAnon,
    Sysv { key: String },
}

impl ObjKind {
    pub fn is_shmem(&self) -> bool {
        !matches!(self, ObjKind::File { .. })
    }
}

/// Machine-wide page counters (frames in existence, by kind).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub anon: u64,
    /// Page-cache pages of regular files.
    pub file: u64,
    /// Shmem pages (tmpfs, SysV, shared anonymous).
    pub shmem: u64,
    pub swap_used: u64,
    /// Kernel pages the model allocates for objects a scenario creates (BPF maps).
    pub kernel: u64,
}

/// A simulated Linux machine.
#[derive(Clone, Debug)]
pub struct LinuxMachine {
    pub cfg: LinuxConfig,
    committed: u64,
    /// Pages charged that no VMA or shmem object holds any more: the kernel's own leaks (a
    /// shrinking mremap move on 6.18, KernelVersion::mremap_shrink_move_charges_delta).
    pub leaked_pages: u64,
    pub procs: BTreeMap<Pid, Process>,
    /// Scenario names → the newest pid with that name.
    pub by_name: BTreeMap<String, Pid>,
    pub mms: BTreeMap<MmId, Mm>,
    pub frames: RunMap<Frame, FrameTally>,
    pub objs: BTreeMap<ObjId, Obj>,
    pub paths: BTreeMap<String, ObjId>,
    pub shm_keys: BTreeMap<String, ObjId>,
    pub stats: Stats,
    /// PageTables: Σ page-table pages of every mm, kept by [`LinuxMachine::edit_pt`].
    pub pgtable_pages_total: u64,
    pub huge_rsvd: u64,
    next_pfn: u64,
    next_pid: Pid,
    next_mm: MmId,
    next_obj: ObjId,
    next_anon_vma: u64,
    /// The panic message once the kernel has panicked: no later operation runs.
    pub panic: Option<String>,
    /// The kernel log (dmesg), the newest [`crate::sim::KERNEL_LOG_LINES`] lines.
    pub dmesg: std::collections::VecDeque<String>,
    /// Swap slots in use, with their use counts (mm/swapfile.c: swap_map).
    pub swap_map: RunMap<pages::RCount>,
    /// The memory cgroup each charged swap slot belongs to (mm/swap_cgroup.c).
    pub(crate) swap_owner: RunMap<swap::SwapOwner>,
    next_slot: u64,
    /// The model's LRU lists: what reclaim takes, oldest first.
    pub(crate) lru: reclaim::Lru,
    /// The event list of the operation being applied.
    ev: Vec<Event>,
    /// The pid the current operation is attributed to.
    cur_pid: Option<Pid>,
    /// The memory cgroups (linux/memcg.rs).
    pub memcgs: memcg::Memcgs,
    /// Page-table pages of each mm, by the cgroup they are charged to.
    pub pt_charges: BTreeMap<MmId, BTreeMap<memcg::MemcgId, u64>>,
    /// Each process's BPF maps: the cgroup charged (None before 5.11) and the pages.
    pub bpf_maps: BTreeMap<Pid, Vec<(Option<memcg::MemcgId>, u64)>>,
    /// The cgroup and reason of a charge that just put the faulting task to sleep.
    pending_wait: Option<(memcg::MemcgId, memcg::WaitReason)>,
}

impl LinuxMachine {
    pub fn new(mut cfg: LinuxConfig) -> Self {
        // `hugepages=N` at boot gets what RAM holds, as the sysctl does (config.rs: boot_hugepages).
        cfg.sysctls.nr_hugepages = cfg.boot_hugepages();
        LinuxMachine {
            cfg,
            committed: 0,
            leaked_pages: 0,
            procs: BTreeMap::new(),
            by_name: BTreeMap::new(),
            mms: BTreeMap::new(),
            frames: RunMap::default(),
            objs: BTreeMap::new(),
            paths: BTreeMap::new(),
            shm_keys: BTreeMap::new(),
            stats: Stats::default(),
            pgtable_pages_total: 0,
            huge_rsvd: 0,
            next_pfn: 0,
            next_pid: FIRST_PID,
            next_mm: 1,
            next_obj: 1,
            next_anon_vma: 1,
            panic: None,
            lru: reclaim::Lru::default(),
            swap_map: RunMap::new(),
            swap_owner: RunMap::new(),
            next_slot: 0,
            dmesg: std::collections::VecDeque::new(),
            ev: Vec::new(),
            cur_pid: None,
            memcgs: memcg::Memcgs::default(),
            pt_charges: BTreeMap::new(),
            bpf_maps: BTreeMap::new(),
            pending_wait: None,
        }
    }

    fn emit(&mut self, kind: EventKind) {
        let e = Event {
            pid: self.cur_pid,
            kind,
        };
        for line in e.log_lines() {
            if self.dmesg.len() == crate::sim::KERNEL_LOG_LINES {
                self.dmesg.pop_front();
            }
            self.dmesg.push_back(line);
        }
        self.ev.push(e);
    }

    /// The kernel log as `dmesg` prints it, one line each.
    pub fn dmesg_text(&self) -> String {
        let mut out = String::new();
        for l in &self.dmesg {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Pages of RAM not holding anything (MemFree): RAM less the data pages, the kernel's
    /// objects, the page tables and the persistent huge pages.
    pub fn free_pages(&self) -> u64 {
        let used = self.stats.anon
            + self.stats.file
            + self.stats.shmem
            + self.stats.kernel
            + self.pgtable_pages_total
            + self.hugetlb_total_pages();
        self.totalram_pages().checked_sub(used).unwrap_or_else(|| {
            panic!(
                "{used} pages in use on a machine of {} pages",
                self.totalram_pages()
            )
        })
    }

    /// Apply one operation: returns what the process sees, and the events of every decision.
    pub fn apply(&mut self, op: &Op) -> Result<(Outcome, Vec<Event>), OpError> {
        self.ev.clear();
        if self.panic.is_some() {
            // A panicked kernel runs nothing.
            return Ok((Outcome::Panic, Vec::new()));
        }
        self.cur_pid = op.proc().and_then(|n| self.by_name.get(n).copied());
        if let Some(p) = op.proc() {
            if !matches!(op, Op::Spawn { .. }) {
                self.check_can_act(p, op)?;
            }
        }
        self.memcgs.over_high.clear();
        let outcome = self.dispatch(op)?;
        if self.panic.is_none() {
            // The return to user space: memory.high's reclaim (mem_cgroup_handle_over_high).
            self.memcg_handle_over_high();
        }
        self.memcg_wake_waiters();
        Ok((outcome, std::mem::take(&mut self.ev)))
    }

    /// A process must exist and be running; a vfork parent is suspended until its child execs or exits.
    fn check_can_act(&self, name: &str, op: &Op) -> Result<(), OpError> {
        let pid = self.pid(name)?;
        let p = &self.procs[&pid];
        if p.state != ProcState::Running {
            if matches!(op, Op::Kill { .. }) {
                return Ok(());
            }
            return Err(OpError::ProcessEnded {
                name: name.to_string(),
                pid,
                state: p.state,
            });
        }
        if p.memcg_wait.is_some() && !matches!(op, Op::Kill { .. } | Op::CgroupMove { .. }) {
            return Err(OpError::AsleepInMemcg {
                name: name.to_string(),
            });
        }
        if let Some(child) = p.vfork_child.map(|c| &self.procs[&c]) {
            if !matches!(op, Op::Kill { .. }) {
                return Err(OpError::SuspendedInVfork {
                    name: name.to_string(),
                    child: child.name.clone(),
                });
            }
        }
        Ok(())
    }

    pub fn pid(&self, name: &str) -> Result<Pid, OpError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| OpError::NoSuchProcess {
                name: name.to_string(),
            })
    }

    pub fn mm_of(&self, pid: Pid) -> Option<MmId> {
        self.procs.get(&pid).and_then(|p| p.mm)
    }

    fn dispatch(&mut self, op: &Op) -> Result<Outcome, OpError> {
        let (ram, swap) = (self.cfg.ram_bytes, self.cfg.swap_bytes);
        let size = |s: &crate::op::Size| s.resolve(ram, swap);
        Ok(match op {
            Op::Win(w) => {
                return Err(OpError::NotModelled {
                    what: format!(
                        "`{}` is a Windows call; a Linux machine runs Linux operations",
                        w.verb()
                    ),
                })
            }
            Op::Sysctl { sysctl, value } => self.set_sysctl(*sysctl, *value),
            Op::SetSwap { bytes }
                if size(bytes) / crate::units::PAGE_SIZE < self.stats.swap_used =>
            {
                self.emit(EventKind::Refused {
                    errno: Errno::ENOMEM,
                    why: format!(
                        "swapoff: {} pages are in swap, more than the new SwapTotal holds; the model does not read them back (try_to_unuse)",
                        self.stats.swap_used
                    ),
                    source: "mm/swapfile.c: swapoff → try_to_unuse",
                });
                Outcome::Err(Errno::ENOMEM)
            }
            Op::SetSwap { bytes } => {
                let old = self.total_swap_pages();
                self.cfg.swap_bytes =
                    size(bytes) / crate::units::PAGE_SIZE * crate::units::PAGE_SIZE;
                let new = self.total_swap_pages();
                self.emit(EventKind::SwapSet {
                    old_pages: old,
                    new_pages: new,
                });
                Outcome::Ok
            }
            Op::Spawn {
                name,
                cap_sys_admin,
                oom_score_adj,
            } => match self.spawn(name, *cap_sys_admin, *oom_score_adj)? {
                Some(_) => Outcome::Ok,
                None => Outcome::Err(crate::op::Errno::ENOMEM),
            },
            Op::Fork {
                parent,
                child,
                kind,
            } => self.fork(parent, child, *kind)?,
            Op::Exec { proc } => self.exec(proc)?,
            Op::Exit { proc } => {
                let pid = self.pid(proc)?;
                self.end_process(pid, None);
                Outcome::Ok
            }
            Op::Kill { proc } => {
                let pid = self.pid(proc)?;
                if self.procs[&pid].state == ProcState::Running {
                    self.end_process(pid, Some(Signal::SIGKILL));
                }
                Outcome::Ok
            }
            Op::Mmap { .. } => self.mmap(op)?,
            Op::Munmap { proc, target } => self.munmap_target(proc, target)?,
            Op::Mprotect { proc, target, prot } => self.mprotect(proc, target, *prot)?,
            Op::Mremap { .. } => self.mremap(op)?,
            Op::Madvise {
                proc,
                target,
                advice,
            } => self.madvise(proc, target, *advice)?,
            Op::Access {
                proc,
                target,
                write,
            } => self.access(proc, target, *write)?,
            Op::Brk { proc, change } => self.brk(proc, *change)?,
            Op::StackGrow { proc, new_size } => self.stack_grow(proc, size(new_size))?,
            Op::Shmget {
                proc,
                key,
                len,
                noreserve,
            } => self.shmget(proc, key, size(len), *noreserve)?,
            Op::ShmRm { proc: _, key } => self.shmrm(key)?,
            Op::TmpfsWrite {
                proc,
                path,
                offset,
                len,
            } => self.tmpfs_write(proc, path, size(offset), size(len))?,
            Op::TmpfsTruncate { proc: _, path, len } => self.tmpfs_truncate(path, size(len))?,
            Op::FileIo {
                proc,
                path,
                offset,
                len,
                write,
            } => self.file_io(proc, path, size(offset), size(len), *write)?,
            Op::Unlink { proc: _, path } => self.unlink(path)?,
            Op::OomScoreAdj {
                proc,
                value,
                legacy,
            } => self.set_oom_score_adj(proc, *value, *legacy)?,
            Op::DropCap { proc, cap } => self.drop_cap(proc, *cap)?,
            Op::CgroupCreate { path } => self.cgroup_create(path),
            Op::CgroupWrite { path, file, value } => self.cgroup_write(path, file, value),
            Op::CgroupMove { proc, path } => self.cgroup_move(proc, path)?,
            Op::CgroupRemove { path } => self.cgroup_remove(path),
            Op::BpfMap {
                proc,
                entries,
                value_size,
            } => self.bpf_map_create(proc, *entries, *value_size)?,
            Op::KubeletEvict { threshold, pods } => self.kubelet_evict(*threshold, pods),
        })
    }

    fn set_sysctl(&mut self, sysctl: crate::config::Sysctl, value: u64) -> Outcome {
        use crate::config::{OvercommitMode, Sysctl};
        let s = &mut self.cfg.sysctls;
        let (old, zeroed) = match sysctl {
            Sysctl::OvercommitMemory => {
                let Some(mode) = OvercommitMode::from_sysctl(value) else {
                    self.emit(EventKind::Refused {
                        errno: Errno::EINVAL,
                        why: format!("vm.overcommit_memory accepts 0, 1 or 2, not {value}"),
                        source: "mm/util.c: overcommit_policy_handler",
                    });
                    return Outcome::Err(Errno::EINVAL);
                };
                let old = s.overcommit_memory.sysctl_value();
                s.overcommit_memory = mode;
                (old, None)
            }
            // Writing one of ratio/kbytes zeroes the other (mm/util.c: overcommit_ratio_handler,
            // overcommit_kbytes_handler) [confirmed 6.18].
            Sysctl::OvercommitRatio => {
                let old = std::mem::replace(&mut s.overcommit_ratio, value);
                let z = (s.overcommit_kbytes != 0).then_some(Sysctl::OvercommitKbytes);
                s.overcommit_kbytes = 0;
                (old, z)
            }
            Sysctl::OvercommitKbytes => {
                let old = std::mem::replace(&mut s.overcommit_kbytes, value);
                let z = (s.overcommit_ratio != 0).then_some(Sysctl::OvercommitRatio);
                s.overcommit_ratio = 0;
                (old, z)
            }
            Sysctl::AdminReserveKbytes => {
                (std::mem::replace(&mut s.admin_reserve_kbytes, value), None)
            }
            Sysctl::UserReserveKbytes => {
                (std::mem::replace(&mut s.user_reserve_kbytes, value), None)
            }
            Sysctl::MaxMapCount => (std::mem::replace(&mut s.max_map_count, value), None),
            Sysctl::PanicOnOom => (std::mem::replace(&mut s.panic_on_oom, value), None),
            Sysctl::OomKillAllocatingTask => (
                std::mem::replace(&mut s.oom_kill_allocating_task, value),
                None,
            ),
            Sysctl::NrHugepages => {
                // The pool takes free RAM; the kernel allocates as many huge pages as it can, and
                // never shrinks below the pages reserved by mappings (mm/hugetlb.c: set_max_huge_pages).
                let per = (self.cfg.hugepage_bytes >> crate::units::PAGE_SHIFT).max(1);
                let old = s.nr_hugepages;
                let free_with_pool = self.free_pages() + old * per;
                self.cfg.sysctls.nr_hugepages = value.min(free_with_pool / per).max(self.huge_rsvd);
                (old, None)
            }
        };
        let new = match sysctl {
            Sysctl::OvercommitMemory => self.cfg.sysctls.overcommit_memory.sysctl_value(),
            Sysctl::OvercommitRatio => self.cfg.sysctls.overcommit_ratio,
            Sysctl::OvercommitKbytes => self.cfg.sysctls.overcommit_kbytes,
            Sysctl::AdminReserveKbytes => self.cfg.sysctls.admin_reserve_kbytes,
            Sysctl::UserReserveKbytes => self.cfg.sysctls.user_reserve_kbytes,
            Sysctl::MaxMapCount => self.cfg.sysctls.max_map_count,
            Sysctl::NrHugepages => self.cfg.sysctls.nr_hugepages,
            Sysctl::PanicOnOom => self.cfg.sysctls.panic_on_oom,
            Sysctl::OomKillAllocatingTask => self.cfg.sysctls.oom_kill_allocating_task,
        };
        self.emit(EventKind::SysctlSet {
            sysctl,
            old,
            new,
            zeroed,
        });
        Outcome::Ok
    }

    /// A new process in the root cgroup with an empty mm. `None`: no page was left for its
    /// PGD after reclaim (the spawning shell outside the scenario is the allocator, so the
    /// model does not call the OOM killer for it; fork fails with ENOMEM).
    fn spawn(&mut self, name: &str, cap_sys_admin: bool, adj: i32) -> Result<Option<Pid>, OpError> {
        if self
            .by_name
            .get(name)
            .is_some_and(|p| self.procs[p].state == ProcState::Running)
        {
            return Err(OpError::NameInUse {
                name: name.to_string(),
            });
        }
        if self.free_pages() < PGD_PAGES && {
            self.reclaim(PGD_PAGES, None);
            self.free_pages() < PGD_PAGES
        } {
            self.emit(EventKind::Refused {
                errno: crate::op::Errno::ENOMEM,
                why: "no free page for the new mm's PGD, even after reclaim".into(),
                source: "kernel/fork.c: mm_alloc_pgd → pgd_alloc",
            });
            return Ok(None);
        }
        let mm = self.new_mm(memcg::ROOT_MEMCG);
        let pid = self.new_process(name, None, Some(mm), cap_sys_admin);
        let p = self.procs.get_mut(&pid).expect("just inserted");
        p.oom_score_adj = adj;
        p.oom_score_adj_min = if cap_sys_admin { adj } else { adj.min(0) };
        self.cur_pid = Some(pid);
        self.emit(EventKind::ProcessCreated {
            pid,
            name: name.to_string(),
            kind: None,
            parent: None,
        });
        Ok(Some(pid))
    }

    /// A new mm with its PGD (kernel/fork.c: mm_init → mm_alloc_pgd → pgd_alloc), charged to
    /// `cg`, the cgroup of the task that creates it (GFP_PGTABLE_USER has __GFP_ACCOUNT, so
    /// the page is charged to current's memcg at fork or exec and stays there when the task
    /// moves). The caller has made room for the page.
    fn new_mm(&mut self, cg: memcg::MemcgId) -> MmId {
        let id = self.next_mm;
        self.next_mm += 1;
        self.mms.insert(id, Mm::new());
        self.pgtable_pages_total += PGD_PAGES;
        self.memcg_pagetables_in(id, cg, 0, PGD_PAGES);
        id
    }

    fn new_process(&mut self, name: &str, ppid: Option<Pid>, mm: Option<MmId>, cap: bool) -> Pid {
        let pid = self.next_pid;
        self.next_pid += 1;
        // A child starts in its parent's cgroup (cgroup_post_fork); a spawned process in the root.
        let cg = ppid.map_or(memcg::ROOT_MEMCG, |p| self.memcg_of(p));
        self.procs.insert(
            pid,
            Process {
                pid,
                name: name.to_string(),
                ppid,
                mm,
                state: ProcState::Running,
                oom_score_adj: 0,
                oom_score_adj_min: 0,
                cap_sys_admin: cap,
                cap_sys_resource: cap,
                vfork_parent: None,
                vfork_child: None,
                memcg: cg,
                memcg_wait: None,
            },
        );
        self.memcg_attach(pid, cg);
        self.by_name.insert(name.to_string(), pid);
        pid
    }

    /// Change an mm's page table through `f`, keeping the machine's PageTables total in step.
    /// Every change to a page table goes through here (the invariant check recounts it).
    pub(crate) fn edit_pt<R>(&mut self, mm_id: MmId, f: impl FnOnce(&mut Mm) -> R) -> R {
        let mm = self.mms.get_mut(&mm_id).expect("mm exists");
        let before = mm.pgtable_pages();
        let r = f(mm);
        let after = mm.pgtable_pages();
        self.pgtable_pages_total = self.pgtable_pages_total - before + after;
        self.memcg_pagetables(mm_id, before, after);
        r
    }

    pub(crate) fn new_anon_vma(&mut self) -> u64 {
        let id = self.next_anon_vma;
        self.next_anon_vma += 1;
        id
    }

    pub(crate) fn new_obj(&mut self, kind: ObjKind, size_pages: u64, noreserve: bool) -> ObjId {
        let id = self.next_obj;
        self.next_obj += 1;
        self.objs.insert(
            id,
            Obj {
                kind,
                size_pages,
                noreserve,
                charged: 0,
                cache: RunMap::new(),
                maps: 0,
                linked: true,
                ino: 1000 + id as u64,
            },
        );
        id
    }

    pub(crate) fn alloc_pfns(&mut self, n: u64) -> u64 {
        let p = self.next_pfn;
        self.next_pfn += n;
        p
    }

    fn exec(&mut self, name: &str) -> Result<Outcome, OpError> {
        let pid = self.pid(name)?;
        // bprm_mm_init → mm_alloc: the new mm's PGD comes before the old mm is dropped.
        if let Err(o) = self.pt_room(pid, PGD_PAGES) {
            return Ok(o);
        }
        let cg = self.memcg_of(pid);
        self.detach_mm(pid);
        let mm = self.new_mm(cg);
        self.procs.get_mut(&pid).expect("pid exists").mm = Some(mm);
        self.release_vfork_parent(pid);
        self.emit(EventKind::ProcessCreated {
            pid,
            name: name.to_string(),
            kind: None,
            parent: None,
        });
        Ok(Outcome::Ok)
    }

    /// exit (`signal` None) or death by a fatal signal: drop the mm, mark the process.
    pub(crate) fn end_process(&mut self, pid: Pid, signal: Option<Signal>) {
        self.detach_mm(pid);
        self.bpf_maps_release(pid);
        if self
            .procs
            .get(&pid)
            .is_some_and(|p| p.state == ProcState::Running)
        {
            self.memcg_detach(pid);
        }
        if let Some(p) = self.procs.get_mut(&pid) {
            p.memcg_wait = None;
            p.state = if signal.is_some() {
                ProcState::Killed
            } else {
                ProcState::Exited
            };
        }
        self.release_vfork_parent(pid);
        self.emit(EventKind::ProcessExited { pid, signal });
    }

    /// A vfork child that execs or exits lets its parent run again (mm_release → complete_vfork_done).
    fn release_vfork_parent(&mut self, child: Pid) {
        let Some(parent) = self
            .procs
            .get_mut(&child)
            .and_then(|c| c.vfork_parent.take())
        else {
            return;
        };
        let p = self
            .procs
            .get_mut(&parent)
            .expect("a vfork parent outlives its wait");
        assert_eq!(p.vfork_child, Some(child), "vfork links are two-sided");
        p.vfork_child = None;
    }

    /// `mmput`: the last user of an mm tears it down (exit_mmap), unaccounting every VM_ACCOUNT VMA.
    fn detach_mm(&mut self, pid: Pid) {
        let Some(mm_id) = self.procs.get_mut(&pid).and_then(|p| p.mm.take()) else {
            return;
        };
        let mm = self.mms.get_mut(&mm_id).expect("process mm exists");
        mm.users -= 1;
        if mm.users > 0 {
            return;
        }
        // exit_mmap tears the whole mm down at once: unmap every pte (frames lose a mapping;
        // anonymous ones nobody maps are freed), then release every VMA's charge and object.
        let mm = self.mms.remove(&mm_id).expect("process mm exists");
        // free_pgtables, then pgd_free (mm/mmap.c: exit_mmap; kernel/fork.c: __mmdrop).
        self.pgtable_pages_total -= mm.pgtable_pages() + PGD_PAGES;
        self.memcg_pagetables(mm_id, mm.pgtable_pages() + PGD_PAGES, 0);
        for (_, l, pte) in mm.pt.iter() {
            match *pte {
                pages::Pte::Present { pfn, dirty } => {
                    if dirty {
                        self.dirty_pte_leaves(pfn, l);
                    }
                    self.frames_unmap(pfn, l);
                }
                pages::Pte::Swap { slot } => self.swap_ref(slot, l, -1),
                pages::Pte::Zero => {}
            }
        }
        let mut unaccounted = 0;
        for v in mm.vmas.values() {
            if v.has(vma::VM_ACCOUNT) {
                unaccounted += v.pages();
            }
            self.release_vma_resources(v);
        }
        self.unacct(unaccounted);
        self.emit(EventKind::MmReleased {
            pages_unaccounted: unaccounted,
        });
    }

    fn set_oom_score_adj(
        &mut self,
        name: &str,
        value: i32,
        legacy: bool,
    ) -> Result<Outcome, OpError> {
        let pid = self.pid(name)?;
        let p = self.procs.get_mut(&pid).expect("pid exists");
        // fs/proc/base.c: oom_adj_write scales the legacy value; __set_oom_adj checks privileges.
        let (ok_range, scaled) = if legacy {
            (
                (-17..=15).contains(&value),
                if value == 15 { 1000 } else { value * 1000 / 17 },
            )
        } else {
            ((-1000..=1000).contains(&value), value)
        };
        if !ok_range {
            self.emit(EventKind::Refused {
                errno: Errno::EINVAL,
                why: format!("{value} is out of range"),
                source: "fs/proc/base.c: oom_score_adj_write",
            });
            return Ok(Outcome::Err(Errno::EINVAL));
        }
        let floor = if legacy {
            p.oom_score_adj
        } else {
            p.oom_score_adj_min
        };
        if scaled < floor && !p.cap_sys_resource {
            let why = if legacy {
                format!("oom_adj {value} (= oom_score_adj {scaled}) is below the current {floor} and the process lacks CAP_SYS_RESOURCE")
            } else {
                format!("oom_score_adj {scaled} is below oom_score_adj_min {floor} and the process lacks CAP_SYS_RESOURCE")
            };
            self.emit(EventKind::Refused {
                errno: Errno::EACCES,
                why,
                source: "fs/proc/base.c: __set_oom_adj",
            });
            return Ok(Outcome::Err(Errno::EACCES));
        }
        // __set_oom_adj: only an oom_score_adj write by a CAP_SYS_RESOURCE writer moves the
        // floor (`!legacy && has_capability_noaudit(current, CAP_SYS_RESOURCE)`); the writer
        // is the process itself here.
        let set_min = !legacy && p.cap_sys_resource;
        let old = p.oom_score_adj;
        // Every other process sharing the mm gets the value too, when a clone(CLONE_VM) made it
        // MMF_MULTIPROCESS and neither side is a vfork child (`!task->vfork_done`,
        // process_shares_mm).
        let vfork_child = p.vfork_parent.is_some();
        let mm = p.mm.filter(|m| !vfork_child && self.mms[m].multiprocess);
        let targets: Vec<Pid> = self
            .procs
            .values()
            .filter(|q| {
                q.pid == pid
                    || (mm.is_some()
                        && q.mm == mm
                        && q.state == ProcState::Running
                        && q.vfork_parent.is_none())
            })
            .map(|q| q.pid)
            .collect();
        for t in targets {
            let q = self.procs.get_mut(&t).expect("listed");
            q.oom_score_adj = scaled;
            if set_min {
                q.oom_score_adj_min = scaled;
            }
        }
        self.emit(EventKind::OomScoreAdjSet { old, new: scaled });
        Ok(Outcome::Ok)
    }

    /// `PROC drop cap_sys_admin`: capset(2) without the capability in the effective and
    /// permitted sets, and prctl(PR_CAPBSET_DROP) so that no exec brings it back. From then on
    /// security/commoncap.c: cap_vm_enough_memory finds the task unprivileged (the admin reserve
    /// is kept from it in modes 0 and 2), and before 4.17 oom_badness gives it no 3% bonus.
    /// Its children inherit the smaller sets. CAP_SYS_RESOURCE (oom_score_adj) is untouched.
    fn drop_cap(&mut self, name: &str, cap: crate::op::Capability) -> Result<Outcome, OpError> {
        let pid = self.pid(name)?;
        let p = self.procs.get_mut(&pid).expect("pid exists");
        let had = match cap {
            crate::op::Capability::SysAdmin => std::mem::replace(&mut p.cap_sys_admin, false),
        };
        self.emit(EventKind::CapDropped {
            cap: cap.kernel_name(),
            had,
        });
        Ok(Outcome::Ok)
    }

    pub(crate) fn killed(signal: Signal) -> Outcome {
        Outcome::Killed { signal }
    }
}
