//! Memory cgroups (model-spec L9; mm/memcontrol.c, mm/memcontrol-v1.c, mm/page_counter.c): the
//! hierarchy, charges at fault time walking the ancestors' page counters, the v2 files and the
//! v1 view of the same state, memory.events, memory.high throttling, the memcg OOM killer with
//! `oom.group`, and v1's `oom_kill_disable` wait.
//!
//! Ownership: a frame is charged to the cgroup of the process that faulted it first and stays
//! there when the process moves (the v2 rule; v1 without `move_charge_at_immigrate`). Every
//! cgroup keeps its hierarchical usage in its page counter, so a charge costs O(depth) and no
//! step scans processes. Local statistics (anon, file, shmem, page tables, BPF maps, faults)
//! are per cgroup; a hierarchical read sums the subtree.

use super::oom::{OomConstraint, OomControl, OomOutcome};
use super::pages::FrameKind;
use super::{LinuxMachine, Pid, ProcState};
use crate::config::CgroupVersion;
use crate::event::{EventKind, MemcgEvent, OomCandidate};
use crate::kernel::KernelVersion;
use crate::op::{Errno, Outcome, Signal};
use crate::query::{QueryError, Value};
use crate::units::{PAGE_SHIFT, PAGE_SIZE};
use std::collections::BTreeMap;

pub type MemcgId = u32;
/// The root cgroup: every process starts there; it has no limit.
pub const ROOT_MEMCG: MemcgId = 0;
/// `PAGE_COUNTER_MAX` (include/linux/page_counter.h: LONG_MAX / PAGE_SIZE on 64-bit): "max".
/// v1 prints it in bytes, 9223372036854771712.
pub const PAGE_COUNTER_MAX: u64 = (i64::MAX as u64) / PAGE_SIZE;
/// MEMCG_CHARGE_BATCH, the unit of the memory.high delay scaling (mm/memcontrol.c).
const MEMCG_CHARGE_BATCH: u64 = 64;
/// MEMCG_MAX_HIGH_DELAY_JIFFIES = 2 * HZ; the model uses HZ = 1000 (jiffies are milliseconds).
const HZ: u64 = 1000;
const MAX_HIGH_DELAY_MS: u64 = 2 * HZ;
/// Failed page_counter_try_charge calls of one fault before the memcg OOM killer runs, with
/// nothing reclaimable: the batch, the single page, the retry after drain_all_stock, and
/// MAX_RECLAIM_RETRIES = 16 (mm/memcontrol.c: try_charge_memcg; 19 measured on 6.18).
const FAILS_BEFORE_OOM: u64 = 19;
/// More failures when the charging task was itself the victim: 1 + 16 (36 measured in all).
const FAILS_AFTER_SELF_KILL: u64 = 17;
/// kmalloc serves a BPF map area of at most PAGE_SIZE << PAGE_ALLOC_COSTLY_ORDER (32 KiB);
/// larger areas are vmalloc'd (kernel/bpf/syscall.c: __bpf_map_area_alloc).
const BPF_KMALLOC_MAX: u64 = PAGE_SIZE << 3;

/// One page counter (mm/page_counter.c): usage of this cgroup and its descendants, in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCounter {
    pub usage: u64,
    pub max: u64,
    /// The highest usage seen (memory.peak, v1 max_usage_in_bytes).
    pub watermark: u64,
    /// How many charges this counter refused (v1 failcnt).
    pub failcnt: u64,
}

impl PageCounter {
    fn new() -> Self {
        PageCounter {
            usage: 0,
            max: PAGE_COUNTER_MAX,
            watermark: 0,
            failcnt: 0,
        }
    }
    fn margin(&self) -> u64 {
        self.max.saturating_sub(self.usage)
    }
}

/// The memory.events keys, in the kernel's order.
pub const EVENT_KEYS: [&str; 6] = ["low", "high", "max", "oom", "oom_kill", "oom_group_kill"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemcgEventKey {
    Low = 0,
    High = 1,
    Max = 2,
    Oom = 3,
    OomKill = 4,
    OomGroupKill = 5,
}

/// Per-cgroup (local) statistics, in pages unless named otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemcgStat {
    pub anon: u64,
    pub file: u64,
    pub shmem: u64,
    pub pagetables: u64,
    /// BPF map areas served by vmalloc (memory.stat `vmalloc`).
    pub vmalloc: u64,
    /// BPF map areas served by kmalloc (memory.stat `slab_unreclaimable`), in whole pages.
    pub slab_unreclaimable: u64,
    pub pgfault: u64,
    pub pgmajfault: u64,
    /// Swap slots whose swap charge this cgroup holds (MEMCG_SWAP: v1 memory.stat `swap`).
    pub swap: u64,
}

/// A memory cgroup.
#[derive(Clone, Debug)]
pub struct Memcg {
    /// Relative to the root, '/'-separated; "" is the root.
    pub path: String,
    pub parent: Option<MemcgId>,
    pub children: u32,
    pub memory: PageCounter,
    /// v1: memory + swap (memory.memsw.*). Without swap it follows `memory`.
    pub memsw: PageCounter,
    pub high: u64,
    pub low: u64,
    pub min: u64,
    /// v2 swap counter (memory.swap.current, its limit memory.swap.max): the slots of pages
    /// this cgroup's pages were written to (mem_cgroup_try_charge_swap at swap-out). On v1 a
    /// swapped page stays in `memsw` instead.
    pub swap: PageCounter,
    pub oom_group: bool,
    /// v1 memory.oom_control: the OOM killer is disabled; chargers sleep.
    pub oom_kill_disable: bool,
    pub events: [u64; 6],
    pub events_local: [u64; 6],
    pub stat: MemcgStat,
    /// Running processes in this cgroup (not descendants).
    pub nr_procs: u64,
    /// v1 memory.oom_control `oom_kill` (local count of OOM kills in this cgroup).
    pub v1_oom_kill: u64,
}

impl Memcg {
    fn new(path: String, parent: Option<MemcgId>) -> Self {
        Memcg {
            path,
            parent,
            children: 0,
            memory: PageCounter::new(),
            memsw: PageCounter::new(),
            high: PAGE_COUNTER_MAX,
            low: 0,
            min: 0,
            swap: PageCounter::new(),
            oom_group: false,
            oom_kill_disable: false,
            events: [0; 6],
            events_local: [0; 6],
            stat: MemcgStat::default(),
            nr_procs: 0,
            v1_oom_kill: 0,
        }
    }
}

/// The cgroup tree of a machine.
#[derive(Clone, Debug)]
pub struct Memcgs {
    pub groups: BTreeMap<MemcgId, Memcg>,
    pub by_path: BTreeMap<String, MemcgId>,
    next: MemcgId,
    /// The cgroups whose charges this operation left some cgroup over memory.high
    /// (current->memcg_nr_pages_over_high set): reclaim_high runs for them when the
    /// operation returns to user space.
    pub(crate) over_high: std::collections::BTreeSet<MemcgId>,
    /// A memory.high reclaim is running (its reclaim events say so).
    pub(crate) reclaiming_high: bool,
}

impl Default for Memcgs {
    fn default() -> Self {
        let mut groups = BTreeMap::new();
        groups.insert(ROOT_MEMCG, Memcg::new(String::new(), None));
        let mut by_path = BTreeMap::new();
        by_path.insert(String::new(), ROOT_MEMCG);
        Memcgs {
            groups,
            by_path,
            next: 1,
            over_high: Default::default(),
            reclaiming_high: false,
        }
    }
}

/// Why a charge did not fit: the cgroup whose limit it met and how many pages still fit under
/// every ancestor (page_counter_try_charge's `fail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemcgShortage {
    pub over: MemcgId,
    pub fits: u64,
    /// v1: the memory+swap counter was the one at its limit, so reclaim must not swap
    /// (try_charge_memcg clears MEMCG_RECLAIM_MAY_SWAP when memsw fails).
    pub memsw: bool,
    /// v1: how many pages fit under every memsw limit (u64::MAX on v2). Reclaim that swaps
    /// frees memory but not memsw, so it is worth only up to this.
    pub memsw_fits: u64,
}

/// What memory.min and memory.low leave one reclaim to take from a cgroup, in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Protection {
    /// Usage above the effective min: all a reclaim may take.
    pub min_room: u64,
    /// Usage above the effective min and low: all a reclaim that honours low may take.
    pub low_room: u64,
}

/// effective_protection (mm/page_counter.c; mm/memcontrol.c before 6.11) without the
/// `memory_recursiveprot` mount option: a child's protection is its setting up to its usage,
/// scaled down when its siblings together claim more than the parent's effective protection.
fn effective_protection(usage: u64, setting: u64, parent_effective: u64, siblings: u64) -> u64 {
    let protected = usage.min(setting);
    if siblings > parent_effective {
        // protected × parent_effective / siblings_protected, in the kernel's unsigned long.
        (protected as u128 * parent_effective as u128 / siblings as u128) as u64
    } else {
        protected
    }
}

/// Why a process sleeps in the memcg charge path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// v1 `oom_kill_disable`: mem_cgroup_oom_synchronize puts the task to sleep.
    OomKillDisabled,
    /// Nothing in the cgroup is killable: the charge fails with VM_FAULT_OOM and
    /// pagefault_out_of_memory retries the fault.
    NoVictim,
}

/// A fault that has not finished: the rest of the range to retry when the task wakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemcgWait {
    pub memcg: MemcgId,
    pub reason: WaitReason,
    pub start: u64,
    pub end: u64,
    pub write: bool,
}

/// A cgroup file and how its value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A number of bytes ("max" for an unlimited v2 limit).
    Bytes,
    /// A plain count or a 0/1 switch.
    Number,
    /// `key value` lines (memory.stat, memory.events, oom_control).
    Keyed,
}

/// The v2 memory files vmlab models, with their kind and whether root may write them.
pub const V2_FILES: &[(&str, FileKind, bool)] = &[
    ("memory.current", FileKind::Bytes, false),
    ("memory.min", FileKind::Bytes, true),
    ("memory.low", FileKind::Bytes, true),
    ("memory.high", FileKind::Bytes, true),
    ("memory.max", FileKind::Bytes, true),
    ("memory.peak", FileKind::Bytes, false),
    ("memory.swap.current", FileKind::Bytes, false),
    ("memory.swap.max", FileKind::Bytes, true),
    ("memory.oom.group", FileKind::Number, true),
    ("memory.events", FileKind::Keyed, false),
    ("memory.events.local", FileKind::Keyed, false),
    ("memory.stat", FileKind::Keyed, false),
];

/// The v1 memory files vmlab models.
pub const V1_FILES: &[(&str, FileKind, bool)] = &[
    ("memory.usage_in_bytes", FileKind::Bytes, false),
    ("memory.limit_in_bytes", FileKind::Bytes, true),
    ("memory.max_usage_in_bytes", FileKind::Bytes, false),
    ("memory.failcnt", FileKind::Number, false),
    ("memory.memsw.usage_in_bytes", FileKind::Bytes, false),
    ("memory.memsw.limit_in_bytes", FileKind::Bytes, true),
    ("memory.memsw.max_usage_in_bytes", FileKind::Bytes, false),
    ("memory.memsw.failcnt", FileKind::Number, false),
    ("memory.kmem.usage_in_bytes", FileKind::Bytes, false),
    ("memory.oom_control", FileKind::Keyed, true),
    ("memory.stat", FileKind::Keyed, false),
];

/// The files of one hierarchy.
pub fn files(v: CgroupVersion) -> &'static [(&'static str, FileKind, bool)] {
    match v {
        CgroupVersion::V1 => V1_FILES,
        CgroupVersion::V2 => V2_FILES,
    }
}

/// The kind of a file of hierarchy `v`, if vmlab models it.
pub fn file_kind(v: CgroupVersion, file: &str) -> Option<(FileKind, bool)> {
    files(v)
        .iter()
        .find(|(n, _, _)| *n == file)
        .map(|&(_, k, w)| (k, w))
}

/// The keys a keyed file prints, in the kernel's order.
pub fn file_keys(v: CgroupVersion, file: &str) -> &'static [&'static str] {
    match (v, file) {
        (_, "memory.events" | "memory.events.local") => &EVENT_KEYS,
        (CgroupVersion::V2, "memory.stat") => &V2_STAT_KEYS,
        (CgroupVersion::V1, "memory.stat") => &V1_STAT_KEYS,
        (CgroupVersion::V1, "memory.oom_control") => &["oom_kill_disable", "under_oom", "oom_kill"],
        _ => &[],
    }
}

/// memory.stat keys of v2 that the model knows (mm/memcontrol.c: memory_stats, vm_event order).
pub const V2_STAT_KEYS: [&str; 19] = [
    "anon",
    "file",
    "kernel",
    "kernel_stack",
    "pagetables",
    "sec_pagetables",
    "percpu",
    "sock",
    "vmalloc",
    "shmem",
    "file_mapped",
    "file_dirty",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
];

/// v1 memory.stat keys (mm/memcontrol-v1.c: memcg1_stat_format): local ones, then
/// `hierarchical_memory_limit`, then the `total_` versions.
pub const V1_STAT_KEYS: [&str; 26] = [
    "cache",
    "rss",
    "shmem",
    "mapped_file",
    "dirty",
    "swap",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_shmem",
    "total_mapped_file",
    "total_dirty",
    "total_swap",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
];

/// Whether BPF map memory is charged to the creating task's memcg: from 5.11 ("bpf: memcg-based
/// memory accounting for bpf maps", Roman Gushchin: __bpf_map_area_alloc gains __GFP_ACCOUNT;
/// the same series drops the RLIMIT_MEMLOCK charge, bpf_map_charge_init). Before, the map's
/// pages are charged to the user's RLIMIT_MEMLOCK only, in either hierarchy. From 5.11 the
/// kmem charge goes through try_charge_memcg, which charges `memory` on v1 as on v2 (v1 adds
/// the `kmem` counter on top), so the hierarchy does not change what is charged.
pub fn bpf_charged_to_memcg(k: KernelVersion) -> bool {
    k.bpf_memcg_accounting()
}

/// Pages a BPF_MAP_TYPE_ARRAY of `entries` × `value_size` takes: `round_up(value_size, 8)` per
/// element (kernel/bpf/arraymap.c: array_map_alloc), rounded up to whole pages. The
/// `struct bpf_array` header is left out (docs/known-differences.md).
pub fn bpf_array_pages(entries: u64, value_size: u64) -> Option<u64> {
    let elem = value_size.checked_next_multiple_of(8)?;
    let bytes = entries.checked_mul(elem)?;
    Some(bytes.div_ceil(PAGE_SIZE))
}

/// memory.high's penalty (mm/memcontrol.c: calculate_overage, calculate_high_delay), in
/// milliseconds (HZ = 1000), for `nr_pages` charged at `usage` pages over `high`.
pub fn high_delay_ms(usage: u64, high: u64, nr_pages: u64) -> u64 {
    if usage <= high || high == 0 {
        return 0;
    }
    // overage = ((usage - high) << MEMCG_DELAY_PRECISION_SHIFT) / high, shift 20.
    let overage = (((usage - high) as u128) << 20) / high as u128;
    // penalty_jiffies = max_overage² * HZ >> 20 >> MEMCG_DELAY_SCALING_SHIFT (14).
    let penalty = (overage * overage * HZ as u128) >> 20 >> 14;
    // scaled by nr_pages / MEMCG_CHARGE_BATCH, capped at 2 s.
    let scaled = penalty * nr_pages as u128 / MEMCG_CHARGE_BATCH as u128;
    (scaled.min(MAX_HIGH_DELAY_MS as u128)) as u64
}

/// On v2 the root cgroup has no memory.current, limits or events: of the files vmlab models
/// only memory.stat (Doc/admin-guide/cgroup-v2.rst: "exists on non-root cgroups"). v1's root
/// has them all.
pub fn root_has_file(v: CgroupVersion, id: MemcgId, file: &str) -> bool {
    id != ROOT_MEMCG || v == CgroupVersion::V1 || file == "memory.stat"
}

/// A value as written to a cgroup file, in pages (limits) or as a switch.
fn parse_limit(v: CgroupVersion, file: &str, value: &str) -> Option<u64> {
    if value == "max" && v == CgroupVersion::V2 {
        return Some(PAGE_COUNTER_MAX);
    }
    if value == "-1" && v == CgroupVersion::V1 && file.ends_with("limit_in_bytes") {
        return Some(PAGE_COUNTER_MAX);
    }
    let bytes: u64 = value.parse().ok()?;
    // page_counter_memparse: bytes / PAGE_SIZE, at most PAGE_COUNTER_MAX. v1's
    // mem_cgroup_write rounds down too (memparse, then >> PAGE_SHIFT).
    Some((bytes >> PAGE_SHIFT).min(PAGE_COUNTER_MAX))
}

/// A limit in bytes: "max" reads as PAGE_COUNTER_MAX pages (v1 prints that number; v2's text
/// prints `max`, see [`LinuxMachine::cgroup_file_text`]).
fn limit_bytes(pages: u64) -> Value {
    Value::Bytes(pages * PAGE_SIZE)
}

impl LinuxMachine {
    /// The cgroup a process is charged to now.
    pub fn memcg_of(&self, pid: Pid) -> super::memcg::MemcgId {
        self.procs.get(&pid).map_or(ROOT_MEMCG, |p| p.memcg)
    }

    /// The cgroup at `path` ("" is the root).
    pub fn memcg_by_path(&self, path: &str) -> Option<MemcgId> {
        self.memcgs.by_path.get(path).copied()
    }

    /// `id` and its ancestors, nearest first.
    fn memcg_ancestors(&self, id: MemcgId) -> Vec<MemcgId> {
        let mut v = vec![id];
        let mut cur = self.memcgs.groups[&id].parent;
        while let Some(p) = cur {
            v.push(p);
            cur = self.memcgs.groups[&p].parent;
        }
        v
    }

    fn cg(&mut self, id: MemcgId) -> &mut Memcg {
        self.memcgs.groups.get_mut(&id).expect("memcg exists")
    }

    /// page_counter_try_charge of `n` pages against `id` and every ancestor: all or nothing.
    /// On a shortage the lowest cgroup at its limit gets a failcnt and the charge is undone.
    pub(crate) fn memcg_try_charge(&mut self, id: MemcgId, n: u64) -> Result<(), MemcgShortage> {
        let chain = self.memcg_ancestors(id);
        let mut fits = n;
        let mut over = None;
        let v1 = self.cfg.cgroup == CgroupVersion::V1;
        let mut memsw_fits = u64::MAX;
        for &c in &chain {
            let g = &self.memcgs.groups[&c];
            // v1 charges memsw first, then memory (try_charge_memcg: do_memsw_account()).
            let memsw = if v1 { g.memsw.margin() } else { u64::MAX };
            memsw_fits = memsw_fits.min(memsw);
            let m = g.memory.margin().min(memsw);
            if m < n && over.is_none() {
                // The counter with less room is the one a 64-page batch meets first; memsw is
                // charged first, so a tie is memsw's.
                over = Some((c, memsw <= g.memory.margin()));
            }
            fits = fits.min(m);
        }
        if let Some((over, memsw)) = over {
            // A refused charge of pages that partly fit is granted in part (the caller
            // charges `fits` next) and not counted: the kernel charges 64-page batches, which
            // under a limit that is a multiple of 64 pages fill the counter exactly, so its
            // first failure is the one that finds the counter full (failcnt 19 measured
            // before an OOM; the partly-fitting case of other limits is not modelled).
            if fits == 0 {
                let g = self.cg(over);
                if memsw {
                    g.memsw.failcnt += 1;
                } else {
                    g.memory.failcnt += 1;
                }
            }
            return Err(MemcgShortage {
                over,
                fits,
                memsw,
                memsw_fits,
            });
        }
        self.memcg_charge_force(id, n);
        Ok(())
    }

    /// Charge without a limit check (page tables, which the model does not fail).
    pub(crate) fn memcg_charge_force(&mut self, id: MemcgId, n: u64) {
        for c in self.memcg_ancestors(id) {
            let g = self.cg(c);
            for pc in [&mut g.memory, &mut g.memsw] {
                pc.usage += n;
                pc.watermark = pc.watermark.max(pc.usage);
            }
        }
    }

    /// page_counter_uncharge along the ancestors.
    pub(crate) fn memcg_uncharge(&mut self, id: MemcgId, n: u64) {
        for c in self.memcg_ancestors(id) {
            let g = self.cg(c);
            assert!(g.memory.usage >= n, "memcg {c} uncharged below zero");
            g.memory.usage -= n;
            g.memsw.usage -= n;
        }
    }

    /// The cgroups a reclaim rooted at `target` (None: the root, a global reclaim) must pass by
    /// (mem_cgroup_calculate_protection for each cgroup below the target): the root and the
    /// target itself are never protected; a child of the target gets its own min and low; a
    /// cgroup further down its effective_protection of them against its parent's. What lies
    /// above the protection is what the reclaim may take (the saturating subtractions: a usage
    /// within its protection leaves nothing).
    pub(crate) fn memcg_protection(
        &self,
        target: Option<MemcgId>,
    ) -> BTreeMap<MemcgId, Protection> {
        let target = target.unwrap_or(ROOT_MEMCG);
        // Children are made after their parents, so id order visits parents first.
        let mut eff: BTreeMap<MemcgId, (u64, u64)> = BTreeMap::new();
        let mut out = BTreeMap::new();
        let mut children_usage: BTreeMap<MemcgId, (u64, u64)> = BTreeMap::new();
        for g in self.memcgs.groups.values() {
            if let Some(p) = g.parent {
                let e = children_usage.entry(p).or_default();
                e.0 += g.memory.usage.min(g.min);
                e.1 += g.memory.usage.min(g.low);
            }
        }
        for (&id, g) in &self.memcgs.groups {
            if id == target || id == ROOT_MEMCG || !self.memcg_in_subtree(id, target) {
                continue;
            }
            let usage = g.memory.usage;
            let parent = g.parent.expect("only the root has no parent");
            let (emin, elow) = if usage == 0 {
                (0, 0)
            } else if parent == target {
                (g.min, g.low)
            } else {
                let (pmin, plow) = eff.get(&parent).copied().unwrap_or((0, 0));
                let (smin, slow) = children_usage.get(&parent).copied().unwrap_or((0, 0));
                (
                    effective_protection(usage, g.min, pmin, smin),
                    effective_protection(usage, g.low, plow, slow),
                )
            };
            eff.insert(id, (emin, elow));
            if emin > 0 || elow > 0 {
                let min_room = usage.saturating_sub(emin);
                out.insert(
                    id,
                    Protection {
                        min_room,
                        low_room: usage.saturating_sub(emin.max(elow)).min(min_room),
                    },
                );
            }
        }
        out
    }

    /// A page of `id` written to swap keeps a swap charge: v2's swap counter
    /// (__mem_cgroup_try_charge_swap), v1's memsw (mem_cgroup_swapout leaves memsw charged
    /// while memory is uncharged), along the ancestors.
    pub(crate) fn memcg_swap_charge(&mut self, id: MemcgId, n: u64) {
        let v1 = self.cfg.cgroup == CgroupVersion::V1;
        for c in self.memcg_ancestors(id) {
            let g = self.cg(c);
            let pc = if v1 { &mut g.memsw } else { &mut g.swap };
            pc.usage += n;
            pc.watermark = pc.watermark.max(pc.usage);
        }
        self.cg(id).stat.swap += n;
    }

    /// A swap charge goes (the slot is freed, or on v1 the page is read back:
    /// mem_cgroup_uncharge_swap).
    pub(crate) fn memcg_swap_uncharge(&mut self, id: MemcgId, n: u64) {
        let v1 = self.cfg.cgroup == CgroupVersion::V1;
        for c in self.memcg_ancestors(id) {
            let g = self.cg(c);
            let pc = if v1 { &mut g.memsw } else { &mut g.swap };
            assert!(pc.usage >= n, "memcg {c}: swap uncharged below zero");
            pc.usage -= n;
        }
        let s = &mut self.cg(id).stat;
        assert!(s.swap >= n, "memcg {id}: swap stat below zero");
        s.swap -= n;
    }

    /// How many more pages of `id` may go to swap: v2's swap.max along the ancestors
    /// (mem_cgroup_get_nr_swap_pages); on v1 a swap-out changes no counter (memsw already
    /// holds the page), so only free swap limits it.
    pub(crate) fn memcg_swap_margin(&self, id: MemcgId) -> u64 {
        if self.cfg.cgroup == CgroupVersion::V1 {
            return u64::MAX;
        }
        self.memcg_ancestors(id)
            .into_iter()
            .map(|c| self.memcgs.groups[&c].swap.margin())
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Local statistics of frames coming (`add`) or going.
    pub(crate) fn memcg_frames_stat(&mut self, id: MemcgId, kind: FrameKind, n: u64, add: bool) {
        let s = &mut self.cg(id).stat;
        let c = match kind {
            FrameKind::Anon => &mut s.anon,
            FrameKind::File => &mut s.file,
            FrameKind::Shmem => &mut s.shmem,
        };
        if add {
            *c += n;
        } else {
            assert!(*c >= n, "memcg {id} stat below zero");
            *c -= n;
        }
    }

    /// memcg_memory_event: the local count of `id`, and the hierarchical count of `id` and
    /// every ancestor below the root.
    pub(crate) fn memcg_event(&mut self, id: MemcgId, key: MemcgEventKey, n: u64) {
        self.cg(id).events_local[key as usize] += n;
        for c in self.memcg_ancestors(id) {
            if c == ROOT_MEMCG {
                break;
            }
            self.cg(c).events[key as usize] += n;
        }
    }

    /// Page-table pages of an mm changed by `delta`: charged to the memcg of the current task
    /// (GFP_PGTABLE_USER has __GFP_ACCOUNT), uncharged from the cgroups that hold them, the
    /// current one first.
    pub(crate) fn memcg_pagetables(&mut self, mm: super::mm::MmId, before: u64, after: u64) {
        let cg = self.cur_pid.map_or(ROOT_MEMCG, |p| self.memcg_of(p));
        self.memcg_pagetables_in(mm, cg, before, after)
    }

    /// [`Self::memcg_pagetables`] with the cgroup a growth is charged to given (a new mm's PGD
    /// is charged to its creator's cgroup, which need not be the acting process's); a
    /// shrink is taken from that cgroup first, then from the others holding the mm's tables.
    pub(crate) fn memcg_pagetables_in(
        &mut self,
        mm: super::mm::MmId,
        cg: MemcgId,
        before: u64,
        after: u64,
    ) {
        if after > before {
            let n = after - before;
            self.memcg_charge_force(cg, n);
            self.cg(cg).stat.pagetables += n;
            *self
                .pt_charges
                .entry(mm)
                .or_default()
                .entry(cg)
                .or_default() += n;
        } else if before > after {
            let mut n = before - after;
            let cur = cg;
            let held = self.pt_charges.get(&mm).cloned().unwrap_or_default();
            let order = std::iter::once(cur).chain(held.keys().copied().filter(|&c| c != cur));
            let mut plan = Vec::new();
            for c in order {
                let have = held.get(&c).copied().unwrap_or(0);
                let take = have.min(n);
                if take > 0 {
                    plan.push((c, take));
                    n -= take;
                }
            }
            assert_eq!(n, 0, "mm {mm}: page tables freed that no memcg holds");
            for (c, take) in plan {
                self.memcg_uncharge(c, take);
                self.cg(c).stat.pagetables -= take;
                let e = self.pt_charges.get_mut(&mm).expect("held");
                let v = e.get_mut(&c).expect("held");
                *v -= take;
                if *v == 0 {
                    e.remove(&c);
                }
            }
            if self.pt_charges.get(&mm).is_some_and(|e| e.is_empty()) {
                self.pt_charges.remove(&mm);
            }
        }
    }

    /// Charge `n` pages for a fault by `pid`: the pages that fit under every limit now, at
    /// least one, after reclaim inside the cgroup (linux/reclaim.rs, scoped to the cgroup at
    /// its limit) and then the memcg OOM killer when none fits (try_charge_memcg).
    /// Err: the faulting task was killed, or it sleeps (v1 oom_kill_disable, or nothing
    /// killable) — the caller records the rest of its fault.
    pub(crate) fn memcg_charge_fault(
        &mut self,
        pid: Pid,
        n: u64,
        pt_for: &dyn Fn(&LinuxMachine, u64) -> u64,
    ) -> Result<(MemcgId, u64), MemcgFail> {
        let cg = self.memcg_of(pid);
        loop {
            // The page-table pages the first k pages need are charged before them (pte_alloc
            // comes before the data page's charge in the fault), so k pages cost k + pt(k).
            let need = n + pt_for(self, n);
            match self.memcg_try_charge(cg, need) {
                Ok(()) => {
                    // The page tables are charged as they are made (memcg_pagetables).
                    self.memcg_uncharge(cg, need - n);
                    self.memcg_after_charge(cg, n);
                    return Ok((cg, n));
                }
                Err(s) if s.fits > pt_for(self, s.fits.min(n)) => {
                    let k = s.fits - pt_for(self, s.fits.min(n));
                    self.memcg_try_charge(cg, k)
                        .expect("the pages that fit are charged");
                    self.memcg_after_charge(cg, k);
                    return Ok((cg, k));
                }
                Err(s)
                    if self.reclaim_with(
                        if s.memsw {
                            need
                        } else {
                            need.min(s.memsw_fits)
                        } - s.fits,
                        Some(s.over),
                        !s.memsw,
                    ) > 0 =>
                {
                    // try_charge_memcg: the charge failed (counted by memcg_try_charge), a
                    // `max` event, then try_to_free_mem_cgroup_pages inside the cgroup over its
                    // limit freed what the charge lacks (page cache, MADV_FREE pages), and the
                    // charge is retried. The model reclaims what the whole run lacks in one
                    // round, so a long run counts one failcnt and one `max` where the kernel,
                    // charging 64-page batches, counts one per batch (docs/known-differences.md).
                    self.memcg_event(s.over, MemcgEventKey::Max, 1);
                    continue;
                }
                Err(s) => {
                    // try_charge_memcg with nothing reclaimable (no page cache or MADV_FREE pages
                    // left in the cgroup, and no swap it may use):
                    // the 64-page batch fails (counted by memcg_try_charge above), then the
                    // single page, once more after drain_all_stock, and on each of the
                    // MAX_RECLAIM_RETRIES (16) rounds: failcnt +19 in all, and a `max` event
                    // on each pass after the first, 18. Measured on this host (6.18 v1, the
                    // realmemcg branch: failcnt 19 every run before the OOM / the sleep).
                    let fails = FAILS_BEFORE_OOM - u64::from(s.fits == 0);
                    let g = self.cg(s.over);
                    if s.memsw {
                        g.memsw.failcnt += fails;
                    } else {
                        g.memory.failcnt += fails;
                    }
                    self.memcg_event(s.over, MemcgEventKey::Max, FAILS_BEFORE_OOM - 1);
                    let g = &self.memcgs.groups[&s.over];
                    let (usage, max) = (g.memory.usage, g.memory.max);
                    if self.cfg.cgroup == CgroupVersion::V1 && g.oom_kill_disable {
                        self.memcg_event(s.over, MemcgEventKey::Oom, 1);
                        self.emit(EventKind::Memcg(MemcgEvent::OomWait {
                            cgroup: self.memcgs.groups[&s.over].path.clone(),
                            usage,
                            max,
                            disabled: true,
                        }));
                        return Err(MemcgFail::Wait(s.over, WaitReason::OomKillDisabled));
                    }
                    self.memcg_event(s.over, MemcgEventKey::Oom, 1);
                    match self.memcg_out_of_memory(s.over, pid) {
                        // vm.panic_on_oom = 2 panics a memcg OOM too.
                        OomOutcome::Panic => return Err(MemcgFail::Panic),
                        OomOutcome::Killed(_) if self.procs[&pid].state != ProcState::Running => {
                            // The charger was the victim: the retries start over (OOM_SUCCESS
                            // resets them) and all 1 + 16 fail before the dying task gives up
                            // (passed_oom && task_is_dying): 36 in all, as measured.
                            if let Some(g) = self.memcgs.groups.get_mut(&s.over) {
                                g.memory.failcnt += FAILS_AFTER_SELF_KILL;
                            }
                            self.memcg_event(s.over, MemcgEventKey::Max, FAILS_AFTER_SELF_KILL);
                            return Err(MemcgFail::Killed);
                        }
                        OomOutcome::Killed(_) => continue,
                        OomOutcome::NoVictim => {
                            self.emit(EventKind::Memcg(MemcgEvent::OomWait {
                                cgroup: self.memcgs.groups[&s.over].path.clone(),
                                usage,
                                max,
                                disabled: false,
                            }));
                            return Err(MemcgFail::Wait(s.over, WaitReason::NoVictim));
                        }
                    }
                }
            }
        }
    }

    /// After a charge: memory.high (mem_cgroup_handle_over_high on return to user space). The
    /// kernel charges a fault's page from a per-CPU stock refilled MEMCG_CHARGE_BATCH (64)
    /// pages at a time; each refill that leaves usage over high flags the task, which on its
    /// return to user space reclaims (a `high` event in each cgroup over its high) and sleeps
    /// for the penalty. So a charge of `n` pages makes one event per batch charged above high.
    fn memcg_after_charge(&mut self, cg: MemcgId, n: u64) {
        let mut worst: Option<(MemcgId, u64)> = None;
        let mut worst_batches = 0;
        for c in self.memcg_ancestors(cg) {
            let g = &self.memcgs.groups[&c];
            if c == ROOT_MEMCG || g.memory.usage <= g.high {
                continue;
            }
            let before = g.memory.usage - n;
            let above = g.memory.usage - before.max(g.high);
            let batches = above.div_ceil(MEMCG_CHARGE_BATCH);
            let overage = ((g.memory.usage - g.high) << 20) / g.high.max(1);
            self.memcg_event(c, MemcgEventKey::High, batches);
            if worst.is_none_or(|(_, o)| overage > o) {
                worst = Some((c, overage));
                worst_batches = batches;
            }
        }
        if worst.is_some() {
            self.memcgs.over_high.insert(cg);
        }
        if let Some((c, _)) = worst {
            // The penalty of the last batch (the worst overage over the ancestors); a penalty
            // of HZ/100 or less is not slept.
            let g = &self.memcgs.groups[&c];
            let delay_ms = high_delay_ms(g.memory.usage, g.high, MEMCG_CHARGE_BATCH);
            self.emit(EventKind::Memcg(MemcgEvent::HighThrottle {
                cgroup: g.path.clone(),
                usage: g.memory.usage,
                high: g.high,
                pages: n,
                batches: worst_batches,
                delay_ms,
                slept: delay_ms > HZ / 100,
            }));
        }
    }

    /// mem_cgroup_handle_over_high on return to user space: reclaim_high walks from each
    /// flagged task's cgroup up to (not including) the root and, in every cgroup whose usage
    /// is over its memory.high, reclaims inside it (try_to_free_mem_cgroup_pages, linux/
    /// reclaim.rs). The kernel reclaims the pages charged over high and retries while reclaim
    /// makes progress and the penalty is worth sleeping, which brings usage back to high when
    /// enough is reclaimable; the model reclaims usage − high at once.
    pub(crate) fn memcg_handle_over_high(&mut self) {
        let flagged = std::mem::take(&mut self.memcgs.over_high);
        for cg in flagged {
            for c in self.memcg_ancestors(cg) {
                let Some(g) = self.memcgs.groups.get(&c) else {
                    continue;
                };
                if c == ROOT_MEMCG || g.memory.usage <= g.high {
                    continue;
                }
                let (usage, high) = (g.memory.usage, g.high);
                self.memcgs.reclaiming_high = true;
                let got = self.reclaim(usage - high, Some(c));
                self.memcgs.reclaiming_high = false;
                self.emit(EventKind::Memcg(MemcgEvent::HighReclaim {
                    cgroup: self.memcgs.groups[&c].path.clone(),
                    usage,
                    high,
                    reclaimed: got,
                }));
            }
        }
    }

    /// The memcg OOM killer: mm/oom_kill.c's out_of_memory (linux/oom.rs) with the memcg
    /// constraint, `totalpages` from mem_cgroup_get_max. Returns how it ended.
    pub(crate) fn memcg_out_of_memory(&mut self, oom_cg: MemcgId, allocating: Pid) -> OomOutcome {
        let oc = OomControl {
            constraint: OomConstraint::Memcg(oom_cg),
            totalpages: self.memcg_get_max(oom_cg).max(1),
            allocating,
            gfp: super::oom::GFP_KERNEL,
        };
        self.out_of_memory(&oc)
    }

    /// The rest of out_of_memory for a memcg constraint once panic_on_oom has not panicked:
    /// select_bad_process over `table` (linux/oom.rs's oom_table: the tasks of the subtree,
    /// mem_cgroup_scan_tasks, with their badness against the limit), then oom_kill_process and
    /// oom.group (mem_cgroup_get_oom_group, v2 only). Returns the victim, or None when nothing
    /// is killable ("Out of memory and no killable processes...": the charge fails).
    pub(crate) fn memcg_select_and_kill(
        &mut self,
        oom_cg: MemcgId,
        oc: &OomControl,
        table: Vec<OomCandidate>,
    ) -> Option<Pid> {
        let totalpages = oc.totalpages;
        if let Some(p) = self.procs.get(&oc.allocating) {
            // The first line of the kernel's report (dump_header).
            self.emit(EventKind::KernelLog {
                line: format!(
                    "{} invoked oom-killer: gfp_mask={}, order=0, oom_score_adj={}",
                    p.name, oc.gfp, p.oom_score_adj
                ),
                source: "mm/oom_kill.c: dump_header",
            });
        }
        // Ties go to the task scanned later (oom_evaluate_task: `points < chosen` skips).
        let mut chosen: Option<(Pid, i64)> = None;
        for c in &table {
            if let Some(points) = c.points {
                if chosen.is_none_or(|(_, b)| points >= b) {
                    chosen = Some((c.pid, points));
                }
            }
        }
        let cgroup = self.memcgs.groups[&oom_cg].path.clone();
        let Some((victim, _)) = chosen else {
            self.emit(EventKind::Memcg(MemcgEvent::Oom {
                cgroup,
                totalpages,
                candidates: table,
                victim: None,
                group: Vec::new(),
            }));
            self.emit(EventKind::KernelLog {
                line: "Out of memory and no killable processes...".into(),
                source: "mm/oom_kill.c: out_of_memory",
            });
            return None;
        };
        // oom.group: the same choice oom_kill_process makes (linux/oom.rs), shown in the event.
        let group = self
            .oom_group_members(victim, Some(oom_cg))
            .map(|(_, members)| members)
            .unwrap_or_default();
        self.emit(EventKind::Memcg(MemcgEvent::Oom {
            cgroup: cgroup.clone(),
            totalpages,
            candidates: table,
            victim: Some(victim),
            group,
        }));
        self.emit(EventKind::KernelLog {
            line: format!(
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/{cgroup},task_memcg=/{},task={},pid={victim},uid=0",
                self.memcgs.groups[&self.procs[&victim].memcg].path,
                self.procs[&victim].name
            ),
            source: "mm/oom_kill.c: dump_oom_victim",
        });
        self.oom_kill_process(victim, Some(oom_cg), "Memory cgroup out of memory", true);
        Some(victim)
    }

    /// mem_cgroup_get_oom_group(victim, oom_domain): the highest cgroup with memory.oom.group
    /// = 1 on the way from the victim's cgroup up to the OOM domain (`None`: a global OOM,
    /// whose domain is the root), or None; v1 has no oom.group.
    pub(crate) fn memcg_oom_group(&self, victim: Pid, domain: Option<MemcgId>) -> Option<MemcgId> {
        if self.cfg.cgroup != CgroupVersion::V2 {
            return None;
        }
        let domain = domain.unwrap_or(ROOT_MEMCG);
        let mut found = None;
        for c in self.memcg_ancestors(self.procs[&victim].memcg) {
            if self.memcgs.groups[&c].oom_group {
                found = Some(c);
            }
            if c == domain {
                break;
            }
        }
        found
    }

    /// A global OOM kill counts `oom_kill` in the victim's cgroup too (memcg_memory_event_mm
    /// in __oom_kill_process).
    pub(crate) fn memcg_note_oom_kill(&mut self, victim: Pid) {
        let cg = self.memcg_of(victim);
        self.memcg_event(cg, MemcgEventKey::OomKill, 1);
        self.cg(cg).v1_oom_kill += 1;
    }

    /// mem_cgroup_get_max: memory.max, plus swap the cgroup may use when there is swap.
    pub fn memcg_get_max(&self, id: MemcgId) -> u64 {
        let g = &self.memcgs.groups[&id];
        let max = g.memory.max;
        let total_swap = self.total_swap_pages();
        if total_swap == 0 {
            return max;
        }
        match self.cfg.cgroup {
            CgroupVersion::V2 => max.saturating_add(g.swap.max.min(total_swap)),
            CgroupVersion::V1 => {
                let memsw = g.memsw.max;
                if memsw == PAGE_COUNTER_MAX {
                    max.saturating_add(total_swap)
                } else {
                    max.max(max.saturating_add(memsw.saturating_sub(max).min(total_swap)))
                }
            }
        }
    }

    /// Whether `c` is `root` or below it.
    pub fn memcg_in_subtree(&self, c: MemcgId, root: MemcgId) -> bool {
        let mut cur = Some(c);
        while let Some(x) = cur {
            if x == root {
                return true;
            }
            cur = self.memcgs.groups[&x].parent;
        }
        false
    }

    /// A process joins a cgroup at spawn or fork; leaves at exit.
    pub(crate) fn memcg_attach(&mut self, pid: Pid, id: MemcgId) {
        self.procs.get_mut(&pid).expect("pid").memcg = id;
        self.cg(id).nr_procs += 1;
    }

    pub(crate) fn memcg_detach(&mut self, pid: Pid) {
        let id = self.memcg_of(pid);
        self.cg(id).nr_procs -= 1;
    }

    /// `cgroup create PATH`: mkdir. The parent must exist; the name must be new.
    pub(crate) fn cgroup_create(&mut self, path: &str) -> Outcome {
        if self.memcgs.by_path.contains_key(path) {
            return self.cg_refuse(Errno::EEXIST, format!("cgroup /{path} exists"));
        }
        let parent_path = path.rsplit_once('/').map_or("", |(p, _)| p);
        let Some(parent) = self.memcg_by_path(parent_path) else {
            return self.cg_refuse(Errno::ENOENT, format!("no parent cgroup /{parent_path}"));
        };
        let id = self.memcgs.next;
        self.memcgs.next += 1;
        self.memcgs
            .groups
            .insert(id, Memcg::new(path.to_string(), Some(parent)));
        self.memcgs.by_path.insert(path.to_string(), id);
        self.cg(parent).children += 1;
        self.emit(EventKind::Memcg(MemcgEvent::Created {
            cgroup: path.to_string(),
        }));
        Outcome::Ok
    }

    /// `cgroup remove PATH`: rmdir, refused with EBUSY while it has tasks or children. Its
    /// remaining charges stay on the (now offline) cgroup's ancestors, as the kernel keeps a
    /// dying memcg until its last page goes; the model reparents them to the parent.
    pub(crate) fn cgroup_remove(&mut self, path: &str) -> Outcome {
        let Some(id) = self.memcg_by_path(path).filter(|&i| i != ROOT_MEMCG) else {
            return self.cg_refuse(Errno::ENOENT, format!("no cgroup /{path}"));
        };
        let g = &self.memcgs.groups[&id];
        if g.nr_procs > 0 || g.children > 0 {
            return self.cg_refuse(
                Errno::EBUSY,
                format!("cgroup /{path} still has tasks or child cgroups"),
            );
        }
        if g.memory.usage > 0 || g.stat.swap > 0 {
            return self.cg_refuse(
                Errno::EBUSY,
                format!(
                    "cgroup /{path} still holds {} charged pages and {} swap slots (vmlab keeps \
                     no dying cgroups)",
                    g.memory.usage, g.stat.swap
                ),
            );
        }
        let parent = g.parent.expect("not the root");
        self.memcgs.groups.remove(&id);
        self.memcgs.by_path.remove(path);
        self.cg(parent).children -= 1;
        self.emit(EventKind::Memcg(MemcgEvent::Removed {
            cgroup: path.to_string(),
        }));
        Outcome::Ok
    }

    fn cg_refuse(&mut self, errno: Errno, why: String) -> Outcome {
        self.emit(EventKind::Refused {
            errno,
            why,
            source: "kernel/cgroup/cgroup.c; mm/memcontrol.c",
        });
        Outcome::Err(errno)
    }

    /// `PROC cgroup PATH`: write the pid to cgroup.procs. Charges stay where they are.
    pub(crate) fn cgroup_move(
        &mut self,
        proc: &str,
        path: &str,
    ) -> Result<Outcome, super::OpError> {
        let pid = self.pid(proc)?;
        let Some(to) = self.memcg_by_path(path) else {
            return Ok(self.cg_refuse(Errno::ENOENT, format!("no cgroup /{path}")));
        };
        let from = self.memcg_of(pid);
        self.memcg_detach(pid);
        self.memcg_attach(pid, to);
        self.emit(EventKind::Memcg(MemcgEvent::Moved {
            from: self.memcgs.groups[&from].path.clone(),
            to: path.to_string(),
        }));
        Ok(Outcome::Ok)
    }

    /// `cgroup PATH set FILE VALUE`.
    pub(crate) fn cgroup_write(&mut self, path: &str, file: &str, value: &str) -> Outcome {
        let v = self.cfg.cgroup;
        let Some(id) = self.memcg_by_path(path) else {
            return self.cg_refuse(Errno::ENOENT, format!("no cgroup /{path}"));
        };
        let Some((kind, writable)) = file_kind(v, file) else {
            return self.cg_refuse(
                Errno::ENOENT,
                format!("cgroup {} has no file {file}", v.name()),
            );
        };
        if !writable || id == ROOT_MEMCG {
            return self.cg_refuse(Errno::EACCES, format!("{file} is not writable here"));
        }
        let old;
        match (kind, file) {
            (FileKind::Number, "memory.oom.group") | (FileKind::Keyed, "memory.oom_control") => {
                let on = match value {
                    "0" => false,
                    "1" => true,
                    _ => return self.cg_refuse(Errno::EINVAL, format!("{file} takes 0 or 1")),
                };
                let g = self.cg(id);
                if file == "memory.oom.group" {
                    old = g.oom_group as u64;
                    g.oom_group = on;
                } else {
                    old = g.oom_kill_disable as u64;
                    g.oom_kill_disable = on;
                }
            }
            _ => {
                let Some(pages) = parse_limit(v, file, value) else {
                    return self.cg_refuse(
                        Errno::EINVAL,
                        format!("{value:?} is not a value for {file}"),
                    );
                };
                match file {
                    "memory.max" | "memory.limit_in_bytes" => {
                        old = self.memcgs.groups[&id].memory.max;
                        if v == CgroupVersion::V1 {
                            // mem_cgroup_resize_max: below usage, reclaim inside the cgroup
                            // (try_to_free_mem_cgroup_pages); what cannot be reclaimed makes
                            // the write EBUSY. memsw must stay >= memory.
                            let g = &self.memcgs.groups[&id];
                            if pages > g.memsw.max {
                                return self.cg_refuse(
                                    Errno::EINVAL,
                                    "memory.limit_in_bytes above memory.memsw.limit_in_bytes"
                                        .into(),
                                );
                            }
                            let usage = g.memory.usage;
                            if usage > pages {
                                self.reclaim(usage - pages, Some(id));
                            }
                            let g = &self.memcgs.groups[&id];
                            if g.memory.usage > pages {
                                return self.cg_refuse(
                                    Errno::EBUSY,
                                    format!(
                                        "usage {} pages is above the new limit and nothing can be reclaimed",
                                        g.memory.usage
                                    ),
                                );
                            }
                        }
                        self.cg(id).memory.max = pages;
                        if v == CgroupVersion::V2 {
                            // memory_max_write: reclaim inside the cgroup, then OOM-kill in
                            // the cgroup until usage fits.
                            let usage = self.memcgs.groups[&id].memory.usage;
                            if usage > pages {
                                self.reclaim(usage - pages, Some(id));
                            }
                            while self.memcgs.groups[&id].memory.usage > pages {
                                self.memcg_event(id, MemcgEventKey::Oom, 1);
                                match self.memcg_out_of_memory(id, 0) {
                                    OomOutcome::Killed(_) => {}
                                    OomOutcome::NoVictim => break,
                                    OomOutcome::Panic => return Outcome::Panic,
                                }
                            }
                        }
                    }
                    "memory.memsw.limit_in_bytes" => {
                        let g = &self.memcgs.groups[&id];
                        old = g.memsw.max;
                        if pages < g.memory.max {
                            return self.cg_refuse(
                                Errno::EINVAL,
                                "memory.memsw.limit_in_bytes below memory.limit_in_bytes".into(),
                            );
                        }
                        self.cg(id).memsw.max = pages;
                    }
                    "memory.high" => {
                        old = std::mem::replace(&mut self.cg(id).high, pages);
                    }
                    "memory.low" => old = std::mem::replace(&mut self.cg(id).low, pages),
                    "memory.min" => old = std::mem::replace(&mut self.cg(id).min, pages),
                    "memory.swap.max" => old = std::mem::replace(&mut self.cg(id).swap.max, pages),
                    _ => unreachable!("every writable file is handled"),
                }
            }
        }
        self.emit(EventKind::Memcg(MemcgEvent::FileWritten {
            cgroup: path.to_string(),
            file: file.to_string(),
            value: value.to_string(),
            old,
        }));
        Outcome::Ok
    }

    /// `PROC bpf map N SIZE`: an array map charged (from 5.11) to the task's memcg as kernel
    /// memory, refused with ENOMEM when it does not fit (__GFP_NORETRY / __GFP_RETRY_MAYFAIL:
    /// no OOM kill for it).
    pub(crate) fn bpf_map_create(
        &mut self,
        proc: &str,
        entries: u64,
        value_size: u64,
    ) -> Result<Outcome, super::OpError> {
        let pid = self.pid(proc)?;
        let (Some(pages), true) = (
            bpf_array_pages(entries, value_size),
            entries > 0 && value_size > 0,
        ) else {
            self.emit(EventKind::Refused {
                errno: Errno::EINVAL,
                why: "a BPF array needs max_entries > 0 and value_size > 0 that fit".into(),
                source: "kernel/bpf/arraymap.c: array_map_alloc_check",
            });
            return Ok(Outcome::Err(Errno::EINVAL));
        };
        let cg = self.memcg_of(pid);
        let memcg = bpf_charged_to_memcg(self.cfg.kernel);
        // The pages come first, then the charge (mm/page_alloc.c: __alloc_pages charges a
        // __GFP_ACCOUNT page after allocating it; mm/vmalloc.c likewise page by page). Both
        // may reclaim, neither may invoke the OOM killer: __GFP_NORETRY (kmalloc) and
        // __GFP_RETRY_MAYFAIL (vmalloc) end in ENOMEM where other faults go to out_of_memory.
        let free = self.free_pages();
        if free < pages && {
            self.reclaim(pages - free, None);
            self.free_pages() < pages
        } {
            self.emit(EventKind::Refused {
                errno: Errno::ENOMEM,
                why: format!(
                    "the map's {pages} pages are more than free RAM after reclaim, and a \
                     __GFP_NORETRY / __GFP_RETRY_MAYFAIL allocation never calls the OOM killer"
                ),
                source: "mm/page_alloc.c: __alloc_pages_slowpath; kernel/bpf/syscall.c: __bpf_map_area_alloc",
            });
            return Ok(Outcome::Err(Errno::ENOMEM));
        }
        if memcg {
            let charged = match self.memcg_try_charge(cg, pages) {
                Ok(()) => true,
                // try_charge_memcg reclaims inside the cgroup once, then gives up for these
                // gfp flags (`if (gfp_mask & (__GFP_NORETRY | __GFP_RETRY_MAYFAIL)) goto nomem`
                // comes before mem_cgroup_oom).
                Err(s) => {
                    self.reclaim(pages - s.fits, Some(s.over)) > 0
                        && self.memcg_try_charge(cg, pages).is_ok()
                }
            };
            if !charged {
                self.emit(EventKind::Refused {
                    errno: Errno::ENOMEM,
                    why: format!("the map's {pages} pages do not fit under the cgroup's limit"),
                    source: "kernel/bpf/syscall.c: __bpf_map_area_alloc (__GFP_ACCOUNT); mm/memcontrol.c: try_charge_memcg",
                });
                return Ok(Outcome::Err(Errno::ENOMEM));
            }
            let s = &mut self.cg(cg).stat;
            if pages * PAGE_SIZE <= BPF_KMALLOC_MAX {
                s.slab_unreclaimable += pages;
            } else {
                s.vmalloc += pages;
            }
        }
        self.stats.kernel += pages;
        self.bpf_maps
            .entry(pid)
            .or_default()
            .push((if memcg { Some(cg) } else { None }, pages));
        self.emit(EventKind::Memcg(MemcgEvent::BpfMap {
            pages,
            cgroup: memcg.then(|| self.memcgs.groups[&cg].path.clone()),
        }));
        Ok(Outcome::Ok)
    }

    /// A process's BPF maps go with its last fd at exit.
    pub(crate) fn bpf_maps_release(&mut self, pid: Pid) {
        for (cg, pages) in self.bpf_maps.remove(&pid).unwrap_or_default() {
            self.stats.kernel -= pages;
            if let Some(cg) = cg {
                self.memcg_uncharge(cg, pages);
                let s = &mut self.cg(cg).stat;
                if pages * PAGE_SIZE <= BPF_KMALLOC_MAX {
                    s.slab_unreclaimable -= pages;
                } else {
                    s.vmalloc -= pages;
                }
            }
        }
    }

    /// Wake the tasks sleeping in a memcg charge whose cgroup has room again (v1
    /// memcg_oom_recover on uncharge or a limit change), and retry their faults.
    pub(crate) fn memcg_wake_waiters(&mut self) {
        loop {
            let ready: Option<(Pid, MemcgWait)> = self.procs.values().find_map(|p| {
                let w = p.memcg_wait?;
                // Room again under every limit, or (v1) the OOM killer switched back on:
                // mem_cgroup_oom_control_write calls memcg1_oom_recover, and the retried
                // charge then meets the kernel's OOM killer.
                let reenabled = w.reason == WaitReason::OomKillDisabled
                    && self
                        .memcgs
                        .groups
                        .get(&w.memcg)
                        .is_some_and(|g| !g.oom_kill_disable);
                (p.state == ProcState::Running
                    && self.memcgs.groups.contains_key(&w.memcg)
                    && (reenabled
                        || (self.memcg_margin(p.memcg) > 0 && self.memcg_margin(w.memcg) > 0)))
                    .then_some((p.pid, w))
            });
            let Some((pid, w)) = ready else { return };
            self.procs.get_mut(&pid).expect("pid").memcg_wait = None;
            let saved = self.cur_pid.replace(pid);
            self.emit(EventKind::Memcg(MemcgEvent::Woken {
                pid,
                cgroup: self.memcgs.groups[&w.memcg].path.clone(),
            }));
            let mm = self.mm_of(pid).expect("a waiting task has an mm");
            let _ = self.fault_range(pid, mm, w.start, w.end, w.write);
            self.cur_pid = saved;
            if self.procs[&pid].memcg_wait.is_some() {
                // Asleep again at the same limit: wait for the next change.
                return;
            }
        }
    }

    /// The room left under every limit from `id` up.
    fn memcg_margin(&self, id: MemcgId) -> u64 {
        self.memcg_ancestors(id)
            .into_iter()
            .map(|c| self.memcgs.groups[&c].memory.margin())
            .min()
            .unwrap_or(0)
    }

    /// Whether any task of the cgroup (or below) sleeps in the charge path: v1 `under_oom`.
    fn memcg_under_oom(&self, id: MemcgId) -> bool {
        self.procs.values().any(|p| {
            p.memcg_wait
                .is_some_and(|w| w.reason == WaitReason::OomKillDisabled && w.memcg == id)
        })
    }

    /// Local stats summed over the subtree of `id` (hierarchical).
    fn memcg_stat_total(&self, id: MemcgId) -> MemcgStat {
        let mut t = MemcgStat::default();
        for (&c, g) in &self.memcgs.groups {
            if self.memcg_in_subtree(c, id) {
                let s = g.stat;
                t.anon += s.anon;
                t.file += s.file;
                t.shmem += s.shmem;
                t.pagetables += s.pagetables;
                t.vmalloc += s.vmalloc;
                t.slab_unreclaimable += s.slab_unreclaimable;
                t.pgfault += s.pgfault;
                t.pgmajfault += s.pgmajfault;
                t.swap += s.swap;
            }
        }
        t
    }

    /// Mapped and dirty page-cache pages and lazy-free anonymous pages charged to cgroups of
    /// the subtree (or to `id` alone), read from the frames: (file_mapped, file_dirty,
    /// lazyfree). A lazy-free page has moved to the inactive file LRU (mm/swap.c:
    /// lru_lazyfree, folio_clear_swapbacked), so the memcg's LRU counts take it from the anon
    /// lists to the file one, as meminfo's do; it stays in `anon` (NR_ANON_MAPPED).
    fn memcg_cache_state(&self, id: MemcgId, hierarchical: bool) -> (u64, u64, u64) {
        let (mut mapped, mut dirty, mut lazy) = (0, 0, 0);
        for (_, l, f) in self.frames.iter() {
            let inside = if hierarchical {
                self.memcg_in_subtree(f.memcg, id)
            } else {
                f.memcg == id
            };
            if !inside {
                continue;
            }
            if f.kind == FrameKind::Anon {
                if f.lazyfree {
                    lazy += l;
                }
                continue;
            }
            if f.mapcount > 0 {
                mapped += l;
            }
            if f.dirty && f.kind == FrameKind::File {
                dirty += l;
            }
        }
        (mapped, dirty, lazy)
    }

    /// New anonymous pages start on the inactive list from 5.9 ("mm: workingset: age
    /// nonresident information alongside anonymous pages" and lru_cache_add_inactive_or_unevictable),
    /// on the active list before; file pages start inactive. Without reclaim nothing moves.
    fn anon_starts_active(&self) -> bool {
        !self.cfg.kernel.anon_starts_inactive()
    }

    /// A value of a keyed file, in bytes or as a count.
    fn memcg_key(&self, id: MemcgId, file: &str, key: &str) -> Option<Value> {
        let v = self.cfg.cgroup;
        let g = &self.memcgs.groups[&id];
        let pg = |n: u64| Value::Bytes(n * PAGE_SIZE);
        if file == "memory.events" || file == "memory.events.local" {
            let i = EVENT_KEYS.iter().position(|k| *k == key)?;
            let arr = if file == "memory.events" {
                g.events
            } else {
                g.events_local
            };
            return Some(Value::Number(arr[i] as i64));
        }
        if file == "memory.oom_control" {
            return Some(Value::Number(match key {
                "oom_kill_disable" => g.oom_kill_disable as i64,
                "under_oom" => self.memcg_under_oom(id) as i64,
                "oom_kill" => g.v1_oom_kill as i64,
                _ => return None,
            }));
        }
        if file != "memory.stat" {
            return None;
        }
        let active = self.anon_starts_active();
        if v == CgroupVersion::V2 {
            let s = self.memcg_stat_total(id);
            let (mapped, dirty, lazy) = self.memcg_cache_state(id, true);
            let anon_lru = s.anon - lazy + s.shmem;
            return Some(match key {
                "anon" => pg(s.anon),
                "file" => pg(s.file + s.shmem),
                "kernel" => pg(s.pagetables + s.vmalloc + s.slab_unreclaimable),
                "kernel_stack" | "sec_pagetables" | "percpu" | "sock" => pg(0),
                "pagetables" => pg(s.pagetables),
                "vmalloc" => pg(s.vmalloc),
                "slab_unreclaimable" => pg(s.slab_unreclaimable),
                "shmem" => pg(s.shmem),
                "file_mapped" => pg(mapped),
                "file_dirty" => pg(dirty),
                "inactive_anon" => pg(if active { 0 } else { anon_lru }),
                "active_anon" => pg(if active { anon_lru } else { 0 }),
                "inactive_file" => pg(s.file + lazy),
                "active_file" => pg(0),
                "pgfault" => Value::Number(s.pgfault as i64),
                "pgmajfault" => Value::Number(s.pgmajfault as i64),
                _ => return None,
            });
        }
        // v1: local keys, then total_* over the subtree.
        let (total, k) = match key.strip_prefix("total_") {
            Some(k) => (true, k),
            None => (false, key),
        };
        let s = if total {
            self.memcg_stat_total(id)
        } else {
            g.stat
        };
        let (mapped, dirty, lazy) = self.memcg_cache_state(id, total);
        let anon_lru = s.anon - lazy + s.shmem;
        Some(match k {
            // cache = file + shmem pages (NR_FILE_PAGES), rss = anon (NR_ANON_MAPPED).
            "cache" => pg(s.file + s.shmem),
            "rss" => pg(s.anon),
            "shmem" => pg(s.shmem),
            "mapped_file" => pg(mapped),
            "dirty" => pg(dirty),
            "swap" => pg(s.swap),
            "pgfault" => Value::Number(s.pgfault as i64),
            "pgmajfault" => Value::Number(s.pgmajfault as i64),
            "inactive_anon" => pg(if active { 0 } else { anon_lru }),
            "active_anon" => pg(if active { anon_lru } else { 0 }),
            "inactive_file" => pg(s.file + lazy),
            "active_file" => pg(0),
            "hierarchical_memory_limit" if !total => {
                let m = self
                    .memcg_ancestors(id)
                    .into_iter()
                    .map(|c| self.memcgs.groups[&c].memory.max)
                    .min()
                    .unwrap_or(PAGE_COUNTER_MAX);
                pg(m)
            }
            "hierarchical_memsw_limit" if !total => {
                let m = self
                    .memcg_ancestors(id)
                    .into_iter()
                    .map(|c| self.memcgs.groups[&c].memsw.max)
                    .min()
                    .unwrap_or(PAGE_COUNTER_MAX);
                pg(m)
            }
            _ => return None,
        })
    }

    /// Read a cgroup file (`key` for a keyed one), as `expect cgroup …` does.
    pub fn cgroup_query(
        &self,
        path: &str,
        file: &str,
        key: Option<&str>,
    ) -> Result<Value, QueryError> {
        let v = self.cfg.cgroup;
        let id = self
            .memcg_by_path(path)
            .ok_or_else(|| QueryError::NoSuchField(format!("cgroup /{path}")))?;
        let (kind, _) = file_kind(v, file)
            .ok_or_else(|| QueryError::NoSuchField(format!("{file} (cgroup {})", v.name())))?;
        if !root_has_file(v, id, file) {
            return Err(QueryError::NoSuchField(format!(
                "{file} of the root cgroup (cgroup v2 has only memory.stat there)"
            )));
        }
        if kind == FileKind::Keyed {
            let key = key.ok_or_else(|| QueryError::NoSuchField(format!("{file} needs a key")))?;
            return self
                .memcg_key(id, file, key)
                .ok_or_else(|| QueryError::NoSuchField(format!("{file} {key}")));
        }
        let g = &self.memcgs.groups[&id];
        Ok(match file {
            "memory.current" | "memory.usage_in_bytes" => Value::Bytes(g.memory.usage * PAGE_SIZE),
            "memory.memsw.usage_in_bytes" => Value::Bytes(g.memsw.usage * PAGE_SIZE),
            "memory.kmem.usage_in_bytes" => {
                let s = self.memcg_stat_total(id);
                Value::Bytes((s.pagetables + s.vmalloc + s.slab_unreclaimable) * PAGE_SIZE)
            }
            "memory.peak" | "memory.max_usage_in_bytes" => {
                Value::Bytes(g.memory.watermark * PAGE_SIZE)
            }
            "memory.memsw.max_usage_in_bytes" => Value::Bytes(g.memsw.watermark * PAGE_SIZE),
            "memory.max" | "memory.limit_in_bytes" => limit_bytes(g.memory.max),
            "memory.memsw.limit_in_bytes" => limit_bytes(g.memsw.max),
            "memory.high" => limit_bytes(g.high),
            "memory.low" => Value::Bytes(g.low * PAGE_SIZE),
            "memory.min" => Value::Bytes(g.min * PAGE_SIZE),
            "memory.swap.max" => limit_bytes(g.swap.max),
            "memory.swap.current" => Value::Bytes(g.swap.usage * PAGE_SIZE),
            "memory.failcnt" => Value::Number(g.memory.failcnt as i64),
            "memory.memsw.failcnt" => Value::Number(g.memsw.failcnt as i64),
            "memory.oom.group" => Value::Number(g.oom_group as i64),
            _ => return Err(QueryError::NoSuchField(file.to_string())),
        })
    }

    /// A cgroup file as the kernel prints it.
    pub fn cgroup_file_text(&self, path: &str, file: &str) -> Result<String, QueryError> {
        let v = self.cfg.cgroup;
        let (kind, _) = file_kind(v, file)
            .ok_or_else(|| QueryError::NoSuchField(format!("{file} (cgroup {})", v.name())))?;
        let show = |val: Value| match val {
            Value::Bytes(b) if v == CgroupVersion::V2 && b == PAGE_COUNTER_MAX * PAGE_SIZE => {
                "max".to_string()
            }
            Value::Bytes(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
        };
        if kind != FileKind::Keyed {
            return Ok(format!("{}\n", show(self.cgroup_query(path, file, None)?)));
        }
        let mut out = String::new();
        for key in file_keys(v, file) {
            let val = self.cgroup_query(path, file, Some(key))?;
            out.push_str(&format!("{key} {}\n", show(val)));
        }
        Ok(out)
    }

    /// The memcg invariants: each cgroup's usage = its own charges (frames, page tables, BPF
    /// maps) + its children's usage, and the frames charged to it are its stat counters.
    pub(crate) fn check_memcg_invariants(&self) -> Result<(), String> {
        let mut own: BTreeMap<MemcgId, [u64; 3]> = BTreeMap::new();
        for (_, l, f) in self.frames.iter() {
            let e = own.entry(f.memcg).or_default();
            e[match f.kind {
                FrameKind::Anon => 0,
                FrameKind::File => 1,
                FrameKind::Shmem => 2,
            }] += l;
        }
        let mut children: BTreeMap<MemcgId, u64> = BTreeMap::new();
        for g in self.memcgs.groups.values() {
            if let Some(p) = g.parent {
                *children.entry(p).or_default() += g.memory.usage;
            }
        }
        let mut pt: BTreeMap<MemcgId, u64> = BTreeMap::new();
        for e in self.pt_charges.values() {
            for (&c, &n) in e {
                *pt.entry(c).or_default() += n;
            }
        }
        let mut bpf: BTreeMap<MemcgId, u64> = BTreeMap::new();
        for maps in self.bpf_maps.values() {
            for &(c, n) in maps {
                if let Some(c) = c {
                    *bpf.entry(c).or_default() += n;
                }
            }
        }
        let mut swap: BTreeMap<MemcgId, u64> = BTreeMap::new();
        for (_, l, o) in self.swap_owner.iter() {
            *swap.entry(o.0).or_default() += l;
        }
        let mut swap_children_v2: BTreeMap<MemcgId, u64> = BTreeMap::new();
        let mut swap_children_v1: BTreeMap<MemcgId, u64> = BTreeMap::new();
        for g in self.memcgs.groups.values() {
            if let Some(p) = g.parent {
                *swap_children_v2.entry(p).or_default() += g.swap.usage;
                *swap_children_v1.entry(p).or_default() += g.memsw.usage - g.memory.usage;
            }
        }
        for (&id, g) in &self.memcgs.groups {
            let f = own.get(&id).copied().unwrap_or_default();
            let s = g.stat;
            if [s.anon, s.file, s.shmem] != f {
                return Err(format!(
                    "memcg /{}: stat anon/file/shmem {:?} != frames charged to it {:?}",
                    g.path,
                    [s.anon, s.file, s.shmem],
                    f
                ));
            }
            let p = pt.get(&id).copied().unwrap_or(0);
            if s.pagetables != p {
                return Err(format!(
                    "memcg /{}: pagetables {} != page-table charges {p}",
                    g.path, s.pagetables
                ));
            }
            let b = bpf.get(&id).copied().unwrap_or(0);
            if s.vmalloc + s.slab_unreclaimable != b {
                return Err(format!("memcg /{}: BPF stat != maps {b}", g.path));
            }
            let expect = f.iter().sum::<u64>() + p + b + children.get(&id).copied().unwrap_or(0);
            if g.memory.usage != expect {
                return Err(format!(
                    "memcg /{}: usage {} != own {} + page tables {p} + bpf {b} + children {}",
                    g.path,
                    g.memory.usage,
                    f.iter().sum::<u64>(),
                    children.get(&id).copied().unwrap_or(0)
                ));
            }
            // Swap charges: the slots recorded for this cgroup, plus its children's, in v2's
            // swap counter or in what v1's memsw holds above memory.
            let own_swap = swap.get(&id).copied().unwrap_or(0);
            if s.swap != own_swap {
                return Err(format!(
                    "memcg /{}: stat swap {} != swap slots charged to it {own_swap}",
                    g.path, s.swap
                ));
            }
            let (held, kids) = match self.cfg.cgroup {
                CgroupVersion::V2 => (g.swap.usage, swap_children_v2.get(&id)),
                CgroupVersion::V1 => (g.memsw.usage - g.memory.usage, swap_children_v1.get(&id)),
            };
            let want = own_swap + kids.copied().unwrap_or(0);
            if held != want {
                return Err(format!(
                    "memcg /{}: swap charge {held} != own slots {own_swap} + children's",
                    g.path
                ));
            }
            let procs = self
                .procs
                .values()
                .filter(|q| q.state == ProcState::Running && q.memcg == id)
                .count() as u64;
            if procs != g.nr_procs {
                return Err(format!(
                    "memcg /{}: nr_procs {} != running processes in it {procs}",
                    g.path, g.nr_procs
                ));
            }
        }
        Ok(())
    }
}

/// Why a memcg charge for a fault did not grant a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemcgFail {
    /// The faulting task was the OOM victim (or shares its mm).
    Killed,
    /// The task sleeps in the charge path of this cgroup.
    Wait(MemcgId, WaitReason),
    /// The memcg OOM panicked the kernel (vm.panic_on_oom = 2).
    Panic,
}

impl MemcgFail {
    pub(crate) fn outcome(self) -> Outcome {
        match self {
            MemcgFail::Killed => Outcome::Killed {
                signal: Signal::SIGKILL,
            },
            MemcgFail::Wait(..) => Outcome::Blocked,
            MemcgFail::Panic => Outcome::Panic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_delay_matches_the_kernel_table() {
        // mm/memcontrol.c's comment for memory.high = 100 MiB (256 × 100 pages), charging a batch:
        // 101 MiB → 6 ms, 105 → 159 ms, 110 → 639 ms, 118 MiB and more → 2000 ms.
        let mib = 256;
        let d = |u: u64| high_delay_ms(u * mib, 100 * mib, MEMCG_CHARGE_BATCH);
        assert_eq!(d(101), 6);
        assert_eq!(d(105), 159);
        assert_eq!(d(110), 639);
        assert_eq!(d(118), 2000);
        assert_eq!(d(100), 0);
    }

    /// effective_protection: a child's setting up to its usage, scaled when the siblings claim
    /// more than the parent's effective protection (the kernel's integer division).
    #[test]
    fn effective_protection_scales_overcommitted_siblings() {
        // Within the parent's protection: the setting, capped by usage.
        assert_eq!(effective_protection(100, 300, 1000, 400), 100);
        assert_eq!(effective_protection(500, 300, 1000, 400), 300);
        // Siblings claim 400 of a parent's 200: each gets its share, 300 × 200 / 400.
        assert_eq!(effective_protection(500, 300, 200, 400), 150);
        assert_eq!(effective_protection(500, 0, 200, 400), 0);
    }

    #[test]
    fn bpf_array_pages_round_values_to_8_and_bytes_to_pages() {
        assert_eq!(bpf_array_pages(1, 1), Some(1));
        assert_eq!(bpf_array_pages(512, 8), Some(1));
        assert_eq!(bpf_array_pages(513, 8), Some(2));
        assert_eq!(bpf_array_pages(1024, 1020), Some(256));
        assert_eq!(bpf_array_pages(u64::MAX, 16), None);
    }

    #[test]
    fn limits_parse_as_the_kernel_writes_them() {
        assert_eq!(
            parse_limit(CgroupVersion::V2, "memory.max", "max"),
            Some(PAGE_COUNTER_MAX)
        );
        assert_eq!(parse_limit(CgroupVersion::V2, "memory.max", "-1"), None);
        assert_eq!(
            parse_limit(CgroupVersion::V1, "memory.limit_in_bytes", "-1"),
            Some(PAGE_COUNTER_MAX)
        );
        assert_eq!(
            parse_limit(CgroupVersion::V2, "memory.max", "100663296"),
            Some(24576)
        );
        assert_eq!(
            parse_limit(CgroupVersion::V2, "memory.max", "4097"),
            Some(1)
        );
        assert_eq!(PAGE_COUNTER_MAX * PAGE_SIZE, 9_223_372_036_854_771_712);
    }
}
