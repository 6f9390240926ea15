//! Simulator vs kernel, step by step: the same scenario's operations run on `vmlab_core::sim`
//! (with the host's machine configuration) and on the real backend, and after each step the
//! outcome, the layout of the scenario's own VMAs, each process's Σ of `ac` VMAs and RssAnon, and
//! the change of Committed_AS are compared. A difference is a [`Mismatch`] row.
//!
//! The comparison itself ([`compare_layouts`], [`scenario_vmas`]) is pure, so it is tested
//! without root.

use crate::host;
use crate::{Backend, BackendError, HelperCommand, RealMachine, RealOptions, ScenarioSysctls};
use std::fmt::Write as _;
use vmlab_core::config::MachineConfig;
use vmlab_core::event::{EventKind, MemcgEvent};
use vmlab_core::kernel::KernelVersion;
use vmlab_core::machine::{Machine, ProcState};
use vmlab_core::op::{Op, Outcome};
use vmlab_core::procfs_parse::{self, KeyValues, MemcgV1, SmapsEntry};
use vmlab_core::scenario::Scenario;
use vmlab_core::sim::{RunItem, Runner};

/// One difference between the simulator and the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub step: u32,
    pub line: u32,
    pub text: String,
    /// What differs: `outcome`, `app: vmas`, `app: vma[2].prot`, `app: Σ ac kB`, `Committed_AS Δ kB`.
    pub field: String,
    pub sim: String,
    pub kernel: String,
}

/// Each step's outcome on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepResult {
    pub step: u32,
    pub line: u32,
    pub text: String,
    pub sim: Outcome,
    pub kernel: Outcome,
    /// Change of Committed_AS in kB: the simulator's, and the kernel's less the helpers' own.
    pub sim_committed_delta_kb: i64,
    pub kernel_committed_delta_kb: i64,
    /// Every memory cgroup the real machine made, its v1 files read after the step (empty
    /// when the scenario made none): what the simulator's v1 view is compared with.
    pub kernel_cgroups: std::collections::BTreeMap<String, procfs_parse::MemcgV1>,
    /// The processes the kernel killed during the step without the scenario ending them (an
    /// OOM kill of any task of a cgroup, not only the one that faulted), by name.
    pub kernel_deaths: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub steps: Vec<StepResult>,
    pub mismatches: Vec<Mismatch>,
    /// Differences docs/known-differences.md lists and the model does not follow
    /// ([`KNOWN_DIFFERENCE_FIELDS`]): shown, but they do not make the sides disagree.
    pub known: Vec<Mismatch>,
    /// Why the comparison stopped before the end (an unsupported operation, a scenario error).
    pub stopped: Option<String>,
    /// What the real machine left behind (RealMachine::finish): a changed sysctl, a live
    /// helper, a file, directory or SysV segment of ours. Any makes the check fail.
    pub left_behind: Vec<String>,
    /// The spread of Committed_AS seen with nothing running, and the tolerance used, in kB.
    pub committed_noise_kb: u64,
    pub committed_tolerance_kb: u64,
    /// The simulator's configuration (the host's, plus the scenario's sysctls).
    pub sim_config: Option<MachineConfig>,
}

impl Report {
    /// Both sides agree on every compared field of every step, and every step ran.
    pub fn agrees(&self) -> bool {
        self.mismatches.is_empty() && self.stopped.is_none() && self.left_behind.is_empty()
    }

    /// The report as a fixed-width table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>4} {:>5}  {:<40} {:<10} {:<10} {:>14} {:>14}",
            "step", "line", "statement", "sim", "kernel", "sim ΔCommit", "kernel ΔCommit"
        );
        for s in &self.steps {
            let _ = writeln!(
                out,
                "{:>4} {:>5}  {:<40} {:<10} {:<10} {:>11} kB {:>11} kB",
                s.step,
                s.line,
                clip(&s.text, 40),
                s.sim.label(),
                s.kernel.label(),
                s.sim_committed_delta_kb,
                s.kernel_committed_delta_kb
            );
        }
        let _ = writeln!(
            out,
            "Committed_AS tolerance {} kB (noise measured at start: {} kB)",
            self.committed_tolerance_kb, self.committed_noise_kb
        );
        if self.mismatches.is_empty() {
            let _ = writeln!(out, "no mismatches");
        } else {
            let _ = writeln!(out, "{} mismatch(es):", self.mismatches.len());
            let _ = writeln!(
                out,
                "{:>4} {:>5}  {:<28} {:<24} {:<24}",
                "step", "line", "field", "simulator", "kernel"
            );
            for m in &self.mismatches {
                let _ = writeln!(
                    out,
                    "{:>4} {:>5}  {:<28} {:<24} {:<24}   # {}",
                    m.step, m.line, m.field, m.sim, m.kernel, m.text
                );
            }
        }
        if !self.known.is_empty() {
            let _ = writeln!(
                out,
                "{} known difference(s) (docs/known-differences.md), not counted:",
                self.known.len()
            );
            for m in &self.known {
                let _ = writeln!(
                    out,
                    "{:>4} {:>5}  {:<28} {:<24} {:<24}   # {}",
                    m.step, m.line, m.field, m.sim, m.kernel, m.text
                );
            }
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "stopped: {why}");
        }
        for l in &self.left_behind {
            let _ = writeln!(out, "left behind: {l}");
        }
        out
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The smaps fields compared per whole scenario VMA, first the list (Rss … Referenced,
/// in this order: [`VmaShape::residency`] is indexed by it), then every other field the model
/// prints but `Size` (compared as the shape's size) and `VmFlags` (compared as its modelled
/// codes): the `expect`-able kB fields (`scenario::fields::SMAPS_SIZE_FIELDS`), `KSM`, and the
/// plain numbers `THPeligible` and `ProtectionKey`. The model prints `Pss_Dirty`, the clean
/// counts and `Locked` as the kernel computes them, and 0 for KSM, transparent huge pages,
/// hugetlb residency, swap and protection keys (this host has THP `madvise` and the scenarios
/// never ask for it, so the kernel prints 0 too).
pub fn residency_fields() -> &'static [&'static str] {
    static FIELDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut v = vec![
            "Rss",
            "Pss",
            "Shared_Dirty",
            "Private_Dirty",
            "Anonymous",
            "LazyFree",
            "Referenced",
        ];
        for f in vmlab_core::scenario::fields::SMAPS_SIZE_FIELDS {
            if *f != "Size" && !v.contains(f) {
                v.push(f);
            }
        }
        v.extend(["KSM", "THPeligible", "ProtectionKey"]);
        v
    })
}

/// The [`residency_fields`] printed as plain numbers, not kB.
const NUMBER_FIELDS: [&str; 2] = ["THPeligible", "ProtectionKey"];

/// A residency field of an entry, whichever way it is printed.
fn residency_value(e: &SmapsEntry, field: &str) -> u64 {
    if NUMBER_FIELDS.contains(&field) {
        e.number(field)
    } else {
        e.kb(field)
    }
}

/// Fields whose differences are known and listed in docs/known-differences.md: the model has
/// no accessed bit (its `Referenced` is its `Rss`), while the kernel makes a fork child's ptes
/// old (mm/memory.c: copy_present_pte, pte_mkold) and MADV_FREE makes them old
/// (mm/madvise.c: madvise_free_pte_range).
///
/// And fault-around: a read fault on a VMA with a page cache behind it (a file, tmpfs, SysV
/// shm, shared anonymous memory) also maps the neighbouring pages already in that cache, up to
/// `fault_around_bytes` (64 KiB) aligned around the fault (mm/memory.c: do_read_fault →
/// do_fault_around → filemap_map_pages); the model maps the pages touched only. Its rows are
/// named `… (fault-around)` and are kept only while the kernel shows more, never less.
pub const KNOWN_DIFFERENCE_FIELDS: [&str; 2] = ["Referenced kB", "(fault-around)"];

/// Residency fields that fault-around can raise on the kernel: clean pages mapped from the page
/// cache count in Rss, Pss and the clean counts only (dirty, anonymous and lazy-free counts
/// are the model's). A clean count is a fault-around row only while the VMA's Rss is higher on
/// the kernel (the extra pages are there), and may then be lower too (a page another process
/// maps is shared, no longer private, once fault-around maps it here as well).
const FAULT_AROUND_FIELDS: [&str; 4] = ["Rss", "Pss", "Shared_Clean", "Private_Clean"];

/// Whether a row's field is a known difference.
pub fn is_known_difference(field: &str) -> bool {
    KNOWN_DIFFERENCE_FIELDS.iter().any(|k| field.ends_with(k))
}

/// How many kB of `LazyFree` the kernel may not show yet: MADV_FREE moves each folio to the
/// lazyfree LRU through a per-CPU batch of FOLIO_BATCH_SIZE (31) folios (mm/swap.c:
/// folio_mark_lazyfree, lru_lazyfree), and a folio leaves `swapbacked` (which smaps counts)
/// only when its batch drains; up to 30 pages per CPU can wait. Measured on 6.18: 128 pages
/// freed showed 124 (4 × 31) in LazyFree.
pub fn lazyfree_lag_kb(cpus: u32) -> u64 {
    30 * 4 * cpus.max(1) as u64
}

/// The shape of one scenario VMA: what is compared (not its address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaShape {
    pub size_kb: u64,
    pub perms: String,
    pub ac: bool,
    pub nr: bool,
    pub sh: bool,
    /// The VmFlags codes the model knows (vmlab_core::linux::vma::flag_code_names), in the
    /// kernel's order; the kernel's others are left out.
    pub vm_flags: String,
    /// Starts where the previous scenario VMA ends.
    pub adjacent: bool,
    /// The names of the smaps lines printed for it, in order (`Size … THPeligible
    /// ProtectionKey VmFlags` on 6.18): the model must print the lines this kernel prints.
    pub lines: String,
    /// A page cache is behind it (a file, tmpfs, SysV shm, shared anonymous memory: maps shows
    /// an inode or a path), so read faults fault around ([`KNOWN_DIFFERENCE_FIELDS`]).
    pub cached: bool,
    /// [`residency_fields`] of the VMA, or `None` when only part of the kernel's VMA is the
    /// scenario's (the scenario's heap shares `[heap]` with the helper's start-up allocations):
    /// its numbers are then the helper's too and are not compared.
    pub residency: Option<Vec<u64>>,
}

impl VmaShape {
    fn flags(&self) -> String {
        let mut f = Vec::new();
        for (on, n) in [(self.ac, "ac"), (self.nr, "nr"), (self.sh, "sh")] {
            if on {
                f.push(n);
            }
        }
        f.join(" ")
    }
    fn short(&self) -> String {
        format!(
            "{}{}kB {} [{}]",
            if self.adjacent { "+" } else { "" },
            self.size_kb,
            self.perms,
            self.flags()
        )
    }
    /// `Anonymous:` of the VMA when it is compared (the part of RssAnon it holds).
    pub fn anon_kb(&self) -> Option<u64> {
        self.residency.as_ref().map(|r| r[4])
    }
}

/// The modelled VmFlags codes of an entry, space separated.
fn modelled_flags(e: &SmapsEntry) -> String {
    let known: Vec<&str> = vmlab_core::linux::vma::flag_code_names().collect();
    e.vm_flags
        .iter()
        .filter(|f| known.contains(&f.as_str()))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The union of `(start, len)` ranges as sorted, disjoint `[start, end)` pairs.
fn union_of(ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut r: Vec<(u64, u64)> = ranges
        .iter()
        .map(|&(s, l)| (s, s.saturating_add(l)))
        .filter(|(s, e)| e > s)
        .collect();
    r.sort_unstable();
    let mut u: Vec<(u64, u64)> = Vec::new();
    for (s, e) in r {
        match u.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => u.push((s, e)),
        }
    }
    u
}

/// The parts of an entry inside the union `u` (the whole entry when `u` is `None`).
fn pieces(e: &SmapsEntry, u: Option<&[(u64, u64)]>) -> Vec<(u64, u64)> {
    match u {
        None => vec![(e.map.start, e.map.end)],
        Some(u) => u
            .iter()
            .filter_map(|&(s, t)| {
                let (a, b) = (s.max(e.map.start), t.min(e.map.end));
                (a < b).then_some((a, b))
            })
            .collect(),
    }
}

/// The scenario's own VMAs: every entry when `ranges` is `None` (the simulator, whose processes
/// hold nothing else), otherwise the parts of entries inside the union of the named ranges (a
/// helper also holds its program, libc, heap and stack, which are not compared).
pub fn scenario_vmas(smaps: &[SmapsEntry], ranges: Option<&[(u64, u64)]>) -> Vec<VmaShape> {
    let union = ranges.map(union_of);
    let mut out = Vec::new();
    let mut prev_end: Option<u64> = None;
    for e in smaps {
        for (a, b) in pieces(e, union.as_deref()) {
            let whole = (a, b) == (e.map.start, e.map.end);
            out.push(VmaShape {
                size_kb: (b - a) / 1024,
                perms: e.map.perms(),
                ac: e.has_flag("ac"),
                nr: e.has_flag("nr"),
                sh: e.has_flag("sh"),
                vm_flags: modelled_flags(e),
                adjacent: prev_end == Some(a),
                lines: e.field_names.join(" "),
                cached: e.map.inode != 0 || e.map.name.starts_with('/'),
                residency: whole.then(|| {
                    residency_fields()
                        .iter()
                        .map(|f| residency_value(e, f))
                        .collect()
                }),
            });
            prev_end = Some(b);
        }
    }
    out
}

/// Rows for every difference between two processes' scenario VMAs: count and list when the
/// counts differ, else each differing field; then Σ of `ac` VMAs and Σ Anonymous.
pub fn compare_layouts(
    proc: &str,
    sim: &[VmaShape],
    kernel: &[VmaShape],
    lazyfree_lag_kb: u64,
) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    if sim.len() != kernel.len() {
        let list = |v: &[VmaShape]| {
            let s: Vec<String> = v.iter().map(VmaShape::short).collect();
            format!("{}: {}", v.len(), s.join(", "))
        };
        rows.push((format!("{proc}: vmas"), list(sim), list(kernel)));
    } else {
        for (i, (s, k)) in sim.iter().zip(kernel).enumerate() {
            let mut field = |name: &str, a: String, b: String| {
                if a != b {
                    rows.push((format!("{proc}: vma[{i}].{name}"), a, b));
                }
            };
            field("size kB", s.size_kb.to_string(), k.size_kb.to_string());
            field("perms", s.perms.clone(), k.perms.clone());
            field("VmFlags", s.vm_flags.clone(), k.vm_flags.clone());
            field("adjacent", s.adjacent.to_string(), k.adjacent.to_string());
            field("smaps lines", s.lines.clone(), k.lines.clone());
            if let (Some(a), Some(b)) = (&s.residency, &k.residency) {
                // Rss is residency_fields()[0]: more on the kernel is fault-around's mark.
                let more_rss = b[0] > a[0];
                for (n, f) in residency_fields().iter().enumerate() {
                    // The kernel's LazyFree may lag the model's by the per-CPU batch.
                    let lagging =
                        *f == "LazyFree" && b[n] <= a[n] && a[n] - b[n] <= lazyfree_lag_kb;
                    // A cached VMA's clean pages may be more on the kernel by fault-around.
                    let around = (s.cached || k.cached)
                        && FAULT_AROUND_FIELDS.contains(f)
                        && (b[n] > a[n] || (f.ends_with("_Clean") && more_rss));
                    let unit = if NUMBER_FIELDS.contains(f) { "" } else { " kB" };
                    if around {
                        field(
                            &format!("{f}{unit} (fault-around)"),
                            a[n].to_string(),
                            b[n].to_string(),
                        );
                    } else if !lagging {
                        field(&format!("{f}{unit}"), a[n].to_string(), b[n].to_string());
                    }
                }
            }
        }
    }
    let ac = |v: &[VmaShape]| v.iter().filter(|x| x.ac).map(|x| x.size_kb).sum::<u64>();
    if ac(sim) != ac(kernel) {
        rows.push((
            format!("{proc}: Σ ac kB"),
            ac(sim).to_string(),
            ac(kernel).to_string(),
        ));
    }
    let anon = |v: &[VmaShape]| v.iter().filter_map(VmaShape::anon_kb).sum::<u64>();
    if anon(sim) != anon(kernel) {
        rows.push((
            format!("{proc}: Σ Anonymous kB"),
            anon(sim).to_string(),
            anon(kernel).to_string(),
        ));
    }
    rows
}

/// A process's status numbers that are compared, in kB: RssAnon, VmSize, VmData.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusNumbers {
    pub rss_anon_kb: u64,
    pub vm_size_kb: u64,
    pub vm_data_kb: u64,
}

impl StatusNumbers {
    pub fn of(status: &KeyValues) -> Result<StatusNumbers, BackendError> {
        let n = |k: &str| {
            status
                .number(k)
                .ok_or_else(|| BackendError::Parse(format!("status: no `{k}`")))
        };
        Ok(StatusNumbers {
            rss_anon_kb: n("RssAnon")?,
            vm_size_kb: n("VmSize")?,
            vm_data_kb: n("VmData")?,
        })
    }
}

/// What the helper itself holds, in the status numbers' terms, read from the same smaps: each
/// entry's part outside the scenario's ranges (its size; its `Anonymous` when none of it is the
/// scenario's, or when part of it is, as its residency is not the scenario's: [`VmaShape`]).
/// `[vsyscall]` is not a VMA of the mm (the gate area) and counts in neither.
pub fn helper_own(smaps: &[SmapsEntry], ranges: &[(u64, u64)]) -> StatusNumbers {
    let u = union_of(ranges);
    let mut own = StatusNumbers {
        rss_anon_kb: 0,
        vm_size_kb: 0,
        vm_data_kb: 0,
    };
    for e in smaps.iter().filter(|e| e.map.name != "[vsyscall]") {
        let ours: u64 = pieces(e, Some(&u)).iter().map(|(a, b)| b - a).sum();
        let outside_kb = (e.map.len_bytes() - ours) / 1024;
        if outside_kb == 0 {
            continue;
        }
        own.vm_size_kb += outside_kb;
        // data_vm: VM_WRITE without VM_SHARED or VM_STACK (include/linux/mm.h: is_data_mapping).
        if e.has_flag("wr") && !e.has_flag("sh") && !e.has_flag("gd") {
            own.vm_data_kb += outside_kb;
        }
        own.rss_anon_kb += e.kb("Anonymous");
    }
    own
}

/// Rows for the status numbers: the simulator's against the kernel's less the helper's own.
pub fn compare_status(
    proc: &str,
    sim: StatusNumbers,
    kernel: StatusNumbers,
    own: StatusNumbers,
) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for (name, s, k, o) in [
        (
            "RssAnon",
            sim.rss_anon_kb,
            kernel.rss_anon_kb,
            own.rss_anon_kb,
        ),
        ("VmSize", sim.vm_size_kb, kernel.vm_size_kb, own.vm_size_kb),
        ("VmData", sim.vm_data_kb, kernel.vm_data_kb, own.vm_data_kb),
    ] {
        let k = k as i64 - o as i64;
        if s as i64 != k {
            rows.push((
                format!("{proc}: {name} kB (less the helper's)"),
                s.to_string(),
                k.to_string(),
            ));
        }
    }
    rows
}

/// How far the kernel's `oom_score` may be from the simulator's because the helper's own pages
/// count in it: the helper's points (its resident pages and all page-table pages, which cannot
/// be split) in the 5.9+ formula's units, `(points × 1000 / totalpages) × 2 / 3`, rounded up,
/// plus one for the two integer divisions (fs/proc/base.c: proc_oom_score).
pub fn oom_score_slack(helper_points: u64, total_pages: u64) -> i64 {
    let total = total_pages.max(1);
    ((helper_points * 1000).div_ceil(total) * 2).div_ceil(3) as i64 + 1
}

/// `vm_committed_as_batch` in pages (mm/util.c: mm_compute_batch): how far one CPU's share of
/// Committed_AS may lag the total when it is read without summing.
pub fn committed_batch_pages(ram_pages: u64, cpus: u32, overcommit_memory: u64) -> u64 {
    let nr = cpus.max(1) as u64;
    let floor = (nr * 2).max(32);
    let sized = if overcommit_memory == 2 {
        ram_pages / nr / 256
    } else {
        ram_pages / nr / 4
    };
    sized.min(i32::MAX as u64).max(floor)
}

/// The Committed_AS tolerance in kB: from 5.8 /proc/meminfo sums the per-CPU counters
/// (percpu_counter_sum_positive), so only other processes' noise remains (four times the spread
/// seen with nothing running, at least 8 MiB); before, a read may lag by cpus × batch.
pub fn committed_tolerance_kb(
    kernel: KernelVersion,
    noise_kb: u64,
    batch_pages: u64,
    cpus: u32,
) -> u64 {
    let noise = (noise_kb * 4).max(8 * 1024);
    if kernel >= KernelVersion::new(5, 8) {
        noise
    } else {
        noise.max(batch_pages * 4 * cpus as u64)
    }
}

/// The simulator's configuration for a real check: the host's machine (RAM, swap, kernel, CPUs,
/// user reserve, huge pages) with the scenario's overcommit sysctls, admin reserve and max_map_count, which are the
/// experiment and are written on the host around each operation.
pub fn sim_config_for(scenario: &Scenario, host: &MachineConfig) -> MachineConfig {
    let (MachineConfig::Linux(h), MachineConfig::Linux(s)) = (host, &scenario.machine) else {
        // Not a Linux scenario on a Linux host: nothing of the host applies.
        return scenario.machine.clone();
    };
    let mut c = h.clone();
    c.sysctls.overcommit_memory = s.sysctls.overcommit_memory;
    c.sysctls.overcommit_ratio = s.sysctls.overcommit_ratio;
    c.sysctls.overcommit_kbytes = s.sysctls.overcommit_kbytes;
    c.sysctls.max_map_count = s.sysctls.max_map_count;
    c.sysctls.admin_reserve_kbytes = s.sysctls.admin_reserve_kbytes;
    MachineConfig::Linux(c)
}

/// Run `scenario` on both sides with the host's configuration (see [`sim_config_for`]).
pub fn check(scenario: &Scenario, helper: &HelperCommand) -> Result<Report, BackendError> {
    let host = host::host_config()?;
    check_with(scenario, sim_config_for(scenario, &host), helper)
}

fn committed_kb(m: &impl Backend) -> Result<u64, BackendError> {
    m.meminfo()?
        .number("Committed_AS")
        .ok_or_else(|| BackendError::Parse("/proc/meminfo: no Committed_AS".into()))
}

/// Σ kB of the helpers' own `ac` VMAs (outside their scenario ranges): subtracted from the
/// kernel's Committed_AS so that a spawn or fork of a helper is not counted as the scenario's.
fn helper_own_ac_kb(m: &impl Backend) -> Result<u64, BackendError> {
    let mut total = 0;
    for name in m.live() {
        let Some(o) = m.observe(&name)? else { continue };
        if o.shares_mm_with.is_some() {
            // A vfork child's mm is its parent's, counted there.
            continue;
        }
        let ranges: Vec<(u64, u64)> = o.names.values().copied().collect();
        let all: u64 = o
            .smaps
            .iter()
            .filter(|e| e.has_flag("ac"))
            .map(|e| e.map.len_bytes() / 1024)
            .sum();
        let ours: u64 = scenario_vmas(&o.smaps, Some(&ranges))
            .iter()
            .filter(|v| v.ac)
            .map(|v| v.size_kb)
            .sum();
        total += all - ours.min(all);
    }
    Ok(total)
}

/// Run `scenario` on both sides, the simulator booted with `sim_config` (which a test may set
/// deliberately wrong to see the harness fail).
pub fn check_with(
    scenario: &Scenario,
    sim_config: MachineConfig,
    helper: &HelperCommand,
) -> Result<Report, BackendError> {
    let MachineConfig::Linux(scenario_cfg) = &scenario.machine else {
        return Err(BackendError::Unsupported(
            "the real check runs Linux scenarios only (a Windows machine's backend is crates/os/src/windows.rs)".into(),
        ));
    };
    // The real side resolves relative sizes against the host, whatever the simulator is told.
    let MachineConfig::Linux(real_cfg) = host::host_config()? else {
        return Err(BackendError::Unsupported("the host is not Linux".into()));
    };
    let mut real = RealMachine::start(&RealOptions {
        helper: helper.clone(),
        sysctls: ScenarioSysctls::of(scenario_cfg),
        ram_bytes: real_cfg.ram_bytes,
        swap_bytes: real_cfg.swap_bytes,
        touch_limit_bytes: crate::DEFAULT_TOUCH_LIMIT_BYTES,
    })?;
    let mut report = Report {
        sim_config: Some(sim_config.clone()),
        ..Report::default()
    };
    let uses_cgroups = scenario.ops().any(|(_, op)| {
        matches!(
            op,
            Op::CgroupCreate { .. }
                | Op::CgroupWrite { .. }
                | Op::CgroupMove { .. }
                | Op::CgroupRemove { .. }
        )
    });
    if uses_cgroups && scenario_cfg.cgroup != real_cfg.cgroup {
        report.stopped = Some(format!(
            "the scenario's cgroups are {:?} files and this host's memory controller is on {:?}: \
             write the scenario for the host's hierarchy (`machine linux cgroup=…`)",
            scenario_cfg.cgroup, real_cfg.cgroup
        ));
        report.left_behind = real.finish();
        return Ok(report);
    }
    // The noise: Committed_AS read repeatedly with nothing of ours running.
    let mut lo = u64::MAX;
    let mut hi = 0;
    for _ in 0..20 {
        let c = committed_kb(&real)?;
        lo = lo.min(c);
        hi = hi.max(c);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    report.committed_noise_kb = hi - lo;
    let batch = committed_batch_pages(
        real_cfg.ram_bytes / 4096,
        real_cfg.cpus,
        real_cfg.sysctls.overcommit_memory.sysctl_value(),
    );
    report.committed_tolerance_kb = committed_tolerance_kb(
        real_cfg.kernel,
        report.committed_noise_kb,
        batch,
        real_cfg.cpus,
    );

    let oom_total_pages = (real_cfg.ram_bytes + real_cfg.swap_bytes) / 4096;
    let lazyfree_lag = lazyfree_lag_kb(real_cfg.cpus);
    let mut sim_scenario = scenario.clone();
    sim_scenario.machine = sim_config;
    let mut runner = Runner::new(&sim_scenario, None);
    let mut sim_committed = runner.machine().commit_summary().charge_kb as i64;
    let mut procs: Vec<String> = Vec::new();
    let mut deaths_seen = 0;
    // The processes whose access sleeps in a memcg OOM on both sides.
    let mut asleep: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    while let Some(item) = runner.next_item() {
        let RunItem::Step(rec) = item else { continue };
        // The simulator has run the step; the kernel has not yet. Committed_AS is read right
        // before and right after the operation (the helpers' smaps outside that window), so
        // other processes' changes fall into the window as rarely as possible.
        let own_before = helper_own_ac_kb(&real)? as i64;
        let before = committed_kb(&real)? as i64 - own_before;
        let applied = match (&rec.outcome, &rec.proc) {
            // The simulator's task sleeps in a memcg charge (v1 oom_kill_disable): the kernel's
            // request is sent and left outstanding once the task is seen asleep there.
            (Outcome::Blocked, Some(proc)) => begin_blocked(&mut real, &rec.op, proc),
            _ => real.apply(&rec.op),
        };
        let kernel = match applied {
            Ok(o) => o,
            Err(e) => {
                report.stopped = Some(format!("step {} (line {}): {e}", rec.step, rec.pos.line));
                report.left_behind = real.finish();
                return Ok(report);
            }
        };
        if kernel == Outcome::Blocked {
            asleep.extend(rec.proc.clone());
        }
        let after_total = committed_kb(&real)? as i64;
        let after = after_total - helper_own_ac_kb(&real)? as i64;
        let sim_delta = rec.committed_as_kb as i64 - sim_committed;
        sim_committed = rec.committed_as_kb as i64;
        let kernel_delta = after - before;
        let mut row = |field: String, sim: String, kernel: String| {
            let m = Mismatch {
                step: rec.step,
                line: rec.pos.line,
                text: rec.text.clone(),
                field,
                sim,
                kernel,
            };
            if is_known_difference(&m.field) {
                report.known.push(m);
            } else {
                report.mismatches.push(m);
            }
        };
        if rec.outcome != kernel {
            row(
                "outcome".into(),
                rec.outcome.to_string(),
                kernel.to_string(),
            );
        }
        // A task the step woke in the simulator (memcg_oom_recover after a limit change or an
        // uncharge) finishes its fault in the kernel too, or sleeps again in both.
        for (i, ev) in rec.events.iter().enumerate() {
            let EventKind::Memcg(MemcgEvent::Woken { pid, .. }) = ev.kind else {
                continue;
            };
            let Some(name) = runner
                .machine()
                .process_by_pid(pid)
                .map(|p| p.name.to_string())
            else {
                continue;
            };
            if !asleep.remove(&name) {
                continue;
            }
            let again = rec.events[i + 1..].iter().any(|e| {
                e.pid == Some(pid) && matches!(e.kind, EventKind::Memcg(MemcgEvent::OomWait { .. }))
            });
            let sim_end = if again {
                asleep.insert(name.clone());
                None
            } else if runner.machine().proc_state(&name) == Some(ProcState::Killed) {
                Some(Outcome::Killed {
                    signal: vmlab_core::op::Signal::SIGKILL,
                })
            } else {
                Some(Outcome::Ok)
            };
            let wait = if again {
                std::time::Duration::from_millis(300)
            } else {
                WAKE_TIMEOUT
            };
            let kernel_end = match real.complete(&name, wait) {
                Ok(o) => o,
                Err(e) => {
                    report.stopped =
                        Some(format!("step {} (line {}): {e}", rec.step, rec.pos.line));
                    report.left_behind = real.finish();
                    return Ok(report);
                }
            };
            if kernel_end.is_none() && again {
                // Asleep again on both sides.
            } else if kernel_end != sim_end {
                let show = |o: Option<Outcome>| o.map_or("still asleep".into(), |o| o.to_string());
                row(
                    format!("{name}: woken access"),
                    show(sim_end),
                    show(kernel_end),
                );
            }
        }
        if sim_delta.abs_diff(kernel_delta) > report.committed_tolerance_kb {
            row(
                "Committed_AS Δ kB".into(),
                sim_delta.to_string(),
                kernel_delta.to_string(),
            );
        }
        match &rec.op {
            Op::Spawn { name, .. } => procs.push(name.clone()),
            Op::Fork { child, .. } => procs.push(child.clone()),
            _ => {}
        }
        for p in &procs {
            let sim_smaps = sim_smaps(runner.machine(), p)?;
            let obs = real.observe(p)?;
            match (sim_smaps, obs) {
                (None, None) => {}
                (Some(_), None) => row(format!("{p}: state"), "running".into(), "gone".into()),
                (None, Some(_)) => row(format!("{p}: state"), "gone".into(), "running".into()),
                (Some(s), Some(o)) => {
                    let ranges: Vec<(u64, u64)> = o.names.values().copied().collect();
                    let sim_v = scenario_vmas(&s, None);
                    let ker_v = scenario_vmas(&o.smaps, Some(&ranges));
                    for (f, a, b) in compare_layouts(p, &sim_v, &ker_v, lazyfree_lag) {
                        row(f, a, b);
                    }
                    let (sim_status, sim_oom) = sim_status(runner.machine(), p)?;
                    let own = helper_own(&o.smaps, &ranges);
                    for (f, a, b) in
                        compare_status(p, sim_status, StatusNumbers::of(&o.status)?, own)
                    {
                        row(f, a, b);
                    }
                    // oom_score: the helper's resident pages and page tables count in the
                    // kernel's (docs/known-differences.md), so it may differ by their points.
                    let scenario_rss_kb: u64 = ker_v
                        .iter()
                        .filter_map(|v| v.residency.as_ref().map(|r| r[0]))
                        .sum();
                    let kb = |k: &str| o.status.number(k).unwrap_or(0);
                    let helper_points =
                        (kb("VmRSS").saturating_sub(scenario_rss_kb) + kb("VmPTE")) / 4;
                    let slack = oom_score_slack(helper_points, oom_total_pages);
                    if sim_oom.abs_diff(o.oom_score) as i64 > slack {
                        row(
                            format!("{p}: oom_score (±{slack})"),
                            sim_oom.to_string(),
                            o.oom_score.to_string(),
                        );
                    }
                }
            }
        }
        let kernel_cgroups = real.cgroups()?;
        for (path, k) in &kernel_cgroups {
            let sim = MemcgV1::from_files(|f| runner.machine().cgroup_view(path, f).ok())
                .map_err(|e| BackendError::Parse(format!("simulated cgroup {path}: {e}")))?;
            for (f, a, b) in compare_memcg_v1(path, &sim, k, real_cfg.cpus) {
                row(f, a, b);
            }
        }
        // The list only grows: what was added during this step is this step's.
        let kernel_deaths: Vec<String> = real.deaths()[deaths_seen..]
            .iter()
            .map(|d| d.proc.clone())
            .collect();
        deaths_seen = real.deaths().len();
        report.steps.push(StepResult {
            kernel_cgroups,
            kernel_deaths,
            step: rec.step,
            line: rec.pos.line,
            text: rec.text.clone(),
            sim: rec.outcome,
            kernel,
            sim_committed_delta_kb: sim_delta,
            kernel_committed_delta_kb: kernel_delta,
        });
    }
    if let Some(e) = runner.error() {
        report.stopped = Some(format!("line {}:{}: {}", e.pos.line, e.pos.col, e.message));
    }
    report.left_behind = real.finish();
    Ok(report)
}

/// MEMCG_CHARGE_BATCH (include/linux/memcontrol.h): a charge takes 64 pages from the page
/// counter at once and keeps the surplus in a per-CPU stock; memory.stat is flushed once the
/// pending updates pass 64 × CPUs (mm/memcontrol.c: memcg_vmstats_needs_flush).
pub const MEMCG_CHARGE_BATCH_PAGES: u64 = 64;

/// The simulator's v1 view of one cgroup against the kernel's files after the same step: each
/// pair that differs by more than the kernel's batching allows, as (field, sim, kernel).
///
/// - `limit_in_bytes`, `oom_kill`, `under_oom`, `oom_kill_disable`: exact.
/// - `usage_in_bytes` and `max_usage_in_bytes`: within the per-CPU charge stock (64 pages per
///   CPU) plus the kernel memory the kernel charged (`memory.kmem.usage_in_bytes`: slab, stacks,
///   which vmlab does not model; docs/known-differences.md, "usage_in_bytes"); the kernel never
///   holds less than vmlab beyond the stock.
/// - `failcnt`: the kernel's count is at least vmlab's (a reclaim pass that makes progress
///   restarts try_charge_memcg's retries; docs/known-differences.md, "failcnt at an OOM").
/// - `memory.stat` `rss` (anonymous pages): within the stat flush threshold, 64 pages per CPU.
pub fn compare_memcg_v1(
    path: &str,
    sim: &MemcgV1,
    kernel: &MemcgV1,
    cpus: u32,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let stock = MEMCG_CHARGE_BATCH_PAGES * cpus as u64 * 4096;
    let kmem = kernel.kmem.map_or(0, |k| k.usage_in_bytes);
    let mut exact = |f: &str, a: String, b: String| {
        if a != b {
            out.push((format!("cgroup {path}: {f}"), a, b));
        }
    };
    exact(
        "memory.limit_in_bytes",
        sim.memory.limit_in_bytes.to_string(),
        kernel.memory.limit_in_bytes.to_string(),
    );
    let (so, ko) = (&sim.oom_control, &kernel.oom_control);
    exact(
        "oom_control oom_kill_disable",
        u8::from(so.oom_kill_disable).to_string(),
        u8::from(ko.oom_kill_disable).to_string(),
    );
    exact(
        "oom_control under_oom",
        u8::from(so.under_oom).to_string(),
        u8::from(ko.under_oom).to_string(),
    );
    if let (Some(a), Some(b)) = (so.oom_kill, ko.oom_kill) {
        exact("oom_control oom_kill", a.to_string(), b.to_string());
    }
    for (f, a, b) in [
        (
            "memory.usage_in_bytes",
            sim.memory.usage_in_bytes,
            kernel.memory.usage_in_bytes,
        ),
        (
            "memory.max_usage_in_bytes",
            sim.memory.max_usage_in_bytes,
            kernel.memory.max_usage_in_bytes,
        ),
    ] {
        // The kernel may hold the stock less than vmlab (uncharges are batched too) and up to
        // the stock plus its own kernel memory more.
        if b + stock < a || b > a + stock + kmem {
            out.push((
                format!("cgroup {path}: {f} (−{stock}, +{stock}+{kmem} B)"),
                a.to_string(),
                b.to_string(),
            ));
        }
    }
    if kernel.memory.failcnt < sim.memory.failcnt {
        out.push((
            format!("cgroup {path}: memory.failcnt (kernel ≥ vmlab)"),
            sim.memory.failcnt.to_string(),
            kernel.memory.failcnt.to_string(),
        ));
    }
    let flush = MEMCG_CHARGE_BATCH_PAGES * cpus as u64 * 4096;
    if let (Some(a), Some(b)) = (sim.stat.get("rss"), kernel.stat.get("rss")) {
        if a.abs_diff(b) > flush {
            out.push((
                format!("cgroup {path}: memory.stat rss (±{flush} B)"),
                a.to_string(),
                b.to_string(),
            ));
        }
    }
    out
}

/// How long a task asleep in a memcg OOM may take to be seen there, or to finish once woken.
const WAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Send an access the simulator says sleeps in a memcg charge, and wait until the kernel's task
/// is asleep there too (`Outcome::Blocked`, the request left outstanding) or finishes it (its
/// outcome, which the comparison then shows).
fn begin_blocked(real: &mut RealMachine, op: &Op, proc: &str) -> Result<Outcome, BackendError> {
    real.begin(op)?;
    let deadline = std::time::Instant::now() + WAKE_TIMEOUT;
    loop {
        if let Some(o) = real.complete(proc, std::time::Duration::from_millis(50))? {
            return Ok(o);
        }
        if real.waits_in_memcg_oom(proc).is_some() {
            return Ok(Outcome::Blocked);
        }
        if std::time::Instant::now() > deadline {
            return Err(BackendError::Protocol(format!(
                "`{proc}` is still inside its access after {WAKE_TIMEOUT:?} and not asleep in a \
                 memory cgroup's OOM"
            )));
        }
    }
}

/// A running process's status numbers and oom_score in the simulator.
fn sim_status(m: &Machine, proc: &str) -> Result<(StatusNumbers, i64), BackendError> {
    let view = |v: &str| {
        m.proc_view(proc, v)
            .map_err(|e| BackendError::Parse(format!("simulated {v} of {proc}: {e:?}")))
    };
    let status = procfs_parse::parse_status(&view("status")?)
        .map_err(|e| BackendError::Parse(format!("simulated status of {proc}: {e}")))?;
    let oom = procfs_parse::parse_oom_score(&view("oom_score")?)
        .map_err(|e| BackendError::Parse(format!("simulated oom_score of {proc}: {e}")))?;
    Ok((StatusNumbers::of(&status)?, oom))
}

/// A process's smaps in the simulator, parsed by the same parser as the kernel's; `None` when it
/// is not running.
fn sim_smaps(m: &Machine, proc: &str) -> Result<Option<Vec<SmapsEntry>>, BackendError> {
    if m.proc_state(proc) != Some(ProcState::Running) {
        return Ok(None);
    }
    let text = m
        .proc_view(proc, "smaps")
        .map_err(|e| BackendError::Parse(format!("simulated smaps of {proc}: {e:?}")))?;
    procfs_parse::parse_smaps(&text)
        .map(Some)
        .map_err(|e| BackendError::Parse(format!("simulated smaps of {proc}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1(usage: u64, max: u64, limit: u64, failcnt: u64, rss: u64, kmem: u64) -> MemcgV1 {
        let counter = |usage, max_usage_in_bytes| procfs_parse::PageCounterV1 {
            usage_in_bytes: usage,
            max_usage_in_bytes,
            limit_in_bytes: limit,
            failcnt,
        };
        MemcgV1 {
            memory: counter(usage, max),
            kmem: Some(counter(kmem, kmem)),
            stat: procfs_parse::parse_flat_keyed(&format!("rss {rss}\n")).unwrap(),
            ..MemcgV1::default()
        }
    }

    /// The v1 comparison: what agrees within the kernel's batching, and each field that does not.
    #[test]
    fn memcg_v1_fields_agree_within_the_charge_stock_and_no_further() {
        const M: u64 = 1 << 20;
        let stock = 64 * 2 * 4096;
        let sim = v1(96 * M, 96 * M, 96 * M, 19, 95 * M, 0);
        // The kernel holds its stock and 1.7 MB of kernel memory more, and failed more charges.
        let k = v1(
            96 * M + stock,
            96 * M + stock,
            96 * M,
            60,
            95 * M + 4096,
            1_700_000,
        );
        assert_eq!(compare_memcg_v1("box", &sim, &k, 2), vec![]);
        let fields = |k: &MemcgV1| -> Vec<String> {
            compare_memcg_v1("box", &sim, k, 2)
                .into_iter()
                .map(|(f, _, _)| f)
                .collect()
        };
        // A different limit, fewer failures than vmlab counted, usage off by more than the
        // stock, and rss off by more than the flush threshold are each one row.
        let k = v1(96 * M, 96 * M, 64 * M, 19, 95 * M, 0);
        assert_eq!(fields(&k), vec!["cgroup box: memory.limit_in_bytes"]);
        let k = v1(96 * M, 96 * M, 96 * M, 18, 95 * M, 0);
        assert_eq!(
            fields(&k),
            vec!["cgroup box: memory.failcnt (kernel ≥ vmlab)"]
        );
        let k = v1(96 * M - stock - 4096, 96 * M, 96 * M, 19, 95 * M, 0);
        assert_eq!(fields(&k).len(), 1, "{:?}", fields(&k));
        assert!(fields(&k)[0].starts_with("cgroup box: memory.usage_in_bytes"));
        let k = v1(96 * M + stock + 4096, 96 * M, 96 * M, 19, 95 * M, 0);
        assert!(fields(&k)[0].starts_with("cgroup box: memory.usage_in_bytes"));
        let k = v1(96 * M, 96 * M, 96 * M, 19, 95 * M + stock + 4096, 0);
        assert_eq!(
            fields(&k),
            vec![format!("cgroup box: memory.stat rss (±{stock} B)")]
        );
        let mut k = v1(96 * M, 96 * M, 96 * M, 19, 95 * M, 0);
        k.oom_control.under_oom = true;
        k.oom_control.oom_kill = Some(2);
        let mut s2 = sim.clone();
        s2.oom_control.oom_kill = Some(1);
        let rows: Vec<String> = compare_memcg_v1("box", &s2, &k, 2)
            .into_iter()
            .map(|(f, _, _)| f)
            .collect();
        assert_eq!(
            rows,
            vec![
                "cgroup box: oom_control under_oom",
                "cgroup box: oom_control oom_kill"
            ]
        );
    }

    fn entry(start: u64, end: u64, perms: &str, flags: &str, anon_kb: u64) -> SmapsEntry {
        let text = format!(
            "{start:x}-{end:x} {perms} 00000000 00:00 0 \nAnonymous: {anon_kb} kB\nVmFlags: {flags} \n"
        );
        procfs_parse::parse_smaps(&text).unwrap().remove(0)
    }

    #[test]
    fn helper_vmas_are_clipped_away_and_adjacency_kept() {
        let smaps = vec![
            entry(0x1000, 0x2000, "rw-p", "rd wr ac", 4), // the helper's own
            entry(0x10000, 0x30000, "rw-p", "rd wr mr mw me ac", 8),
            entry(0x30000, 0x31000, "r--p", "rd mr mw me", 0),
        ];
        let ranges = [(0x10000, 0x10000), (0x20000, 0x11000)];
        let v = scenario_vmas(&smaps, Some(&ranges));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].size_kb, 128);
        assert!(v[0].ac && !v[0].adjacent);
        assert!(v[1].adjacent && !v[1].ac);
        assert_eq!(scenario_vmas(&smaps, None).len(), 3);
    }

    #[test]
    fn layouts_that_differ_give_rows_and_equal_ones_none() {
        let a = scenario_vmas(&[entry(0x10000, 0x30000, "rw-p", "ac", 0)], None);
        let b = scenario_vmas(
            &[
                entry(0x10000, 0x20000, "rw-p", "ac", 0),
                entry(0x20000, 0x30000, "rw-p", "ac", 4),
            ],
            None,
        );
        assert!(compare_layouts("app", &a, &a, 0).is_empty());
        let rows = compare_layouts("app", &a, &b, 0);
        assert_eq!(rows[0].0, "app: vmas");
        assert!(rows.iter().any(|r| r.0 == "app: Σ Anonymous kB"));
        assert!(!rows.iter().any(|r| r.0 == "app: Σ ac kB"));
        let c = scenario_vmas(&[entry(0x10000, 0x30000, "r--p", "nr", 0)], None);
        let rows = compare_layouts("app", &a, &c, 0);
        let fields: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            fields,
            ["app: vma[0].perms", "app: vma[0].VmFlags", "app: Σ ac kB"]
        );
    }

    #[test]
    fn residency_is_compared_for_whole_vmas_only() {
        let text = "10000-30000 rw-p 00000000 00:00 0 \nRss: 8 kB\nAnonymous: 8 kB\nLazyFree: 4 kB\nVmFlags: rd wr mr mw me ac mg \n";
        let e = procfs_parse::parse_smaps(text).unwrap();
        let whole = scenario_vmas(&e, Some(&[(0x10000, 0x20000)]));
        assert_eq!(whole[0].residency.as_ref().unwrap()[0], 8);
        assert_eq!(
            whole[0].vm_flags, "rd wr mr mw me ac",
            "`mg` is not modelled"
        );
        let part = scenario_vmas(&e, Some(&[(0x20000, 0x10000)]));
        assert_eq!(part[0].residency, None);
        // LazyFree 4 on the kernel against 8 in the model: within a lag of 4, not of 3.
        let mut sim = whole.clone();
        sim[0].residency.as_mut().unwrap()[5] = 8;
        assert!(compare_layouts("p", &sim, &whole, 4).is_empty());
        let rows = compare_layouts("p", &sim, &whole, 3);
        assert_eq!(rows[0].0, "p: vma[0].LazyFree kB");
        assert!(is_known_difference("p: vma[3].Referenced kB"));
        assert!(!is_known_difference("p: vma[3].Rss kB"));
    }

    /// The smaps lines printed for a VMA are compared: a kernel that prints a line the model
    /// does not (or in another order) is a row.
    #[test]
    fn the_smaps_lines_printed_are_compared() {
        let shape = |fields: &str| {
            let t = format!("10000-20000 rw-p 00000000 00:00 0 \n{fields}VmFlags: rd wr \n");
            scenario_vmas(&procfs_parse::parse_smaps(&t).unwrap(), None)
        };
        let model = shape("Size: 64 kB\nRss: 0 kB\nTHPeligible: 0\n");
        assert_eq!(model[0].lines, "Size Rss THPeligible VmFlags");
        assert!(compare_layouts("p", &model, &model, 0).is_empty());
        let kernel = shape("Size: 64 kB\nRss: 0 kB\nTHPeligible: 0\nProtectionKey: 0\n");
        let rows = compare_layouts("p", &model, &kernel, 0);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "p: vma[0].smaps lines");
        assert!(!is_known_difference(&rows[0].0));
    }

    /// A file VMA's Rss and Pss may be more on the kernel (fault-around): a known row. Less is a
    /// real difference, and so is any difference of an anonymous VMA.
    #[test]
    fn fault_around_is_known_for_cached_vmas_only_and_only_upwards() {
        let text = |name: &str, inode: u64, rss: u64| {
            format!("10000-30000 r--p 00000000 fe:00 {inode} {name}\nRss: {rss} kB\nPss: {rss} kB\nVmFlags: rd mr mw me \n")
        };
        let shape = |t: String| scenario_vmas(&procfs_parse::parse_smaps(&t).unwrap(), None);
        let (sim, kernel) = (shape(text("/tmp/f", 7, 232)), shape(text("/tmp/f", 7, 316)));
        assert!(sim[0].cached);
        let rows = compare_layouts("p", &sim, &kernel, 0);
        let fields: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            fields,
            [
                "p: vma[0].Rss kB (fault-around)",
                "p: vma[0].Pss kB (fault-around)"
            ]
        );
        assert!(rows.iter().all(|r| is_known_difference(&r.0)));
        // The kernel with fewer pages than the model: not fault-around.
        let rows = compare_layouts("p", &kernel, &sim, 0);
        assert!(rows.iter().all(|r| !is_known_difference(&r.0)), "{rows:?}");
        // Anonymous memory has no page cache to fault around in.
        let (a, b) = (shape(text("", 0, 232)), shape(text("", 0, 316)));
        assert!(!a[0].cached);
        let rows = compare_layouts("p", &a, &b, 0);
        assert!(!rows.is_empty() && rows.iter().all(|r| !is_known_difference(&r.0)));
    }

    /// The list cannot fall behind the model: every line the simulator's smaps prints for a VMA
    /// but `Size` and `VmFlags` is a compared field.
    #[test]
    fn every_line_the_model_prints_is_in_the_compared_fields() {
        let s = vmlab_core::scenario::parse(
            "machine linux measured\nspawn p\np mmap a 8KiB rw private anon\np write a\n",
        )
        .unwrap();
        let mut r = Runner::new(&s, None);
        while r.next_item().is_some() {}
        let smaps = sim_smaps(r.machine(), "p").unwrap().unwrap();
        let printed: Vec<&String> = smaps[0]
            .field_names
            .iter()
            .filter(|f| *f != "Size" && *f != "VmFlags")
            .collect();
        assert_eq!(printed.len(), residency_fields().len(), "{printed:?}");
        for f in printed {
            assert!(
                residency_fields().contains(&f.as_str()),
                "{f} is not compared"
            );
        }
    }

    /// Every field the model prints is compared: the clean counts (fault-around rows only while
    /// the kernel's Rss is higher), Locked, Pss_Dirty, and the plain numbers THPeligible and
    /// ProtectionKey.
    #[test]
    fn every_printed_field_is_compared() {
        let text =
            |inode: u64, rss: u64, shared_clean: u64, private_clean: u64, locked: u64, thp: u64| {
                format!(
                "10000-30000 r--p 00000000 fe:00 {inode} /tmp/f\nRss: {rss} kB\nPss: {rss} kB\n\
                 Shared_Clean: {shared_clean} kB\nPrivate_Clean: {private_clean} kB\n\
                 Locked: {locked} kB\nTHPeligible: {thp}\nVmFlags: rd mr mw me \n"
            )
            };
        let shape = |t: String| scenario_vmas(&procfs_parse::parse_smaps(&t).unwrap(), None);
        let fields = |sim: String, kernel: String| -> Vec<(String, bool)> {
            compare_layouts("p", &shape(sim), &shape(kernel), 0)
                .into_iter()
                .map(|r| (r.0.clone(), is_known_difference(&r.0)))
                .collect()
        };
        // Fault-around mapped 8 kB more, one page of it shared with another process.
        assert_eq!(
            fields(text(7, 8, 0, 8, 0, 0), text(7, 16, 4, 12, 0, 0)),
            [
                ("p: vma[0].Rss kB (fault-around)".to_string(), true),
                ("p: vma[0].Pss kB (fault-around)".to_string(), true),
                ("p: vma[0].Shared_Clean kB (fault-around)".to_string(), true),
                (
                    "p: vma[0].Private_Clean kB (fault-around)".to_string(),
                    true
                ),
            ]
        );
        // The same Rss: a page shared by another process's fault-around may raise Shared_Clean,
        // but a lower Private_Clean without more Rss here is a real difference.
        assert_eq!(
            fields(text(7, 8, 0, 8, 0, 0), text(7, 8, 4, 4, 0, 0)),
            [
                ("p: vma[0].Shared_Clean kB (fault-around)".to_string(), true),
                ("p: vma[0].Private_Clean kB".to_string(), false),
            ]
        );
        assert_eq!(
            fields(text(7, 8, 0, 8, 8, 1), text(7, 8, 0, 8, 0, 0)),
            [
                ("p: vma[0].Locked kB".to_string(), false),
                ("p: vma[0].THPeligible".to_string(), false),
            ]
        );
    }

    #[test]
    fn the_helpers_own_part_is_taken_from_the_same_smaps() {
        let text = "1000-3000 rw-p 00000000 00:00 0 [heap]\nAnonymous: 4 kB\nVmFlags: rd wr ac \n\
                    10000-20000 rw-p 00000000 00:00 0 \nAnonymous: 64 kB\nVmFlags: rd wr ac \n\
                    7fff0000-7fff1000 rw-p 00000000 00:00 0 [stack]\nAnonymous: 4 kB\nVmFlags: rd wr gd ac \n\
                    ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\nVmFlags: ex \n";
        let e = procfs_parse::parse_smaps(text).unwrap();
        // The scenario owns the second page of [heap] and the whole anonymous VMA.
        let own = helper_own(&e, &[(0x2000, 0x1000), (0x10000, 0x10000)]);
        assert_eq!(
            own,
            StatusNumbers {
                rss_anon_kb: 8,
                vm_size_kb: 8,
                vm_data_kb: 4
            }
        );
        let kernel = StatusNumbers {
            rss_anon_kb: 72,
            vm_size_kb: 76,
            vm_data_kb: 72,
        };
        let sim = StatusNumbers {
            rss_anon_kb: 64,
            vm_size_kb: 68,
            vm_data_kb: 68,
        };
        assert!(compare_status("p", sim, kernel, own).is_empty());
        let rows = compare_status(
            "p",
            StatusNumbers {
                vm_data_kb: 64,
                ..sim
            },
            kernel,
            own,
        );
        assert_eq!(
            rows,
            [(
                "p: VmData kB (less the helper's)".to_string(),
                "64".into(),
                "68".into()
            )]
        );
    }

    #[test]
    fn the_oom_score_slack_covers_the_helpers_points() {
        // 3 MiB of helper on 24 GiB: 768 × 1000 / 6291456 rounds up to 1, × 2/3 up to 1, + 1.
        assert_eq!(oom_score_slack(768, 6_291_456), 2);
        assert_eq!(oom_score_slack(0, 6_291_456), 1);
        // Half of the pages: 500 points, 334 in the 5.9+ units, + 1.
        assert_eq!(oom_score_slack(500, 1000), 335);
    }

    #[test]
    fn the_batch_and_the_tolerance() {
        // 24 GiB, 2 CPUs: a quarter of RAM per CPU in modes 0/1, 0.4 % in mode 2.
        let ram = 24 * 1024 * 1024 / 4;
        assert_eq!(committed_batch_pages(ram, 2, 0), ram / 8);
        assert_eq!(committed_batch_pages(ram, 2, 2), ram / 512);
        assert_eq!(committed_batch_pages(100, 2, 0), 32);
        assert_eq!(
            committed_tolerance_kb(KernelVersion::new(6, 18), 100, 1000, 2),
            8192
        );
        assert_eq!(
            committed_tolerance_kb(KernelVersion::new(6, 18), 4096, 1000, 2),
            16384
        );
        assert_eq!(
            committed_tolerance_kb(KernelVersion::new(5, 4), 0, 1_000_000, 2),
            8_000_000
        );
    }
}
