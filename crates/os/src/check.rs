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
use vmlab_core::kernel::KernelVersion;
use vmlab_core::machine::Machine;
use vmlab_core::op::{Op, Outcome};
use vmlab_core::procfs_parse::{self, SmapsEntry};
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
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub steps: Vec<StepResult>,
    pub mismatches: Vec<Mismatch>,
    /// Why the comparison stopped before the end (an unsupported operation, a scenario error).
    pub stopped: Option<String>,
    /// The spread of Committed_AS seen with nothing running, and the tolerance used, in kB.
    pub committed_noise_kb: u64,
    pub committed_tolerance_kb: u64,
    /// The simulator's configuration (the host's, plus the scenario's sysctls).
    pub sim_config: Option<MachineConfig>,
}

impl Report {
    /// Both sides agree on every compared field of every step, and every step ran.
    pub fn agrees(&self) -> bool {
        self.mismatches.is_empty() && self.stopped.is_none()
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
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "stopped: {why}");
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

/// The shape of one scenario VMA: what is compared (not its address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaShape {
    pub size_kb: u64,
    pub perms: String,
    pub ac: bool,
    pub nr: bool,
    pub sh: bool,
    /// Starts where the previous scenario VMA ends.
    pub adjacent: bool,
    /// `Anonymous:` of the VMA (the part of RssAnon it holds).
    pub anon_kb: u64,
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
}

/// The scenario's own VMAs: every entry when `ranges` is `None` (the simulator, whose processes
/// hold nothing else), otherwise the parts of entries inside the union of the named ranges (a
/// helper also holds its program, libc, heap and stack, which are not compared).
pub fn scenario_vmas(smaps: &[SmapsEntry], ranges: Option<&[(u64, u64)]>) -> Vec<VmaShape> {
    let union = ranges.map(|r| {
        let mut r: Vec<(u64, u64)> = r
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
    });
    let mut out = Vec::new();
    let mut prev_end: Option<u64> = None;
    for e in smaps {
        let pieces: Vec<(u64, u64)> = match &union {
            None => vec![(e.map.start, e.map.end)],
            Some(u) => u
                .iter()
                .filter_map(|&(s, t)| {
                    let (a, b) = (s.max(e.map.start), t.min(e.map.end));
                    (a < b).then_some((a, b))
                })
                .collect(),
        };
        for (a, b) in pieces {
            out.push(VmaShape {
                size_kb: (b - a) / 1024,
                perms: e.map.perms(),
                ac: e.has_flag("ac"),
                nr: e.has_flag("nr"),
                sh: e.has_flag("sh"),
                adjacent: prev_end == Some(a),
                anon_kb: e.kb("Anonymous"),
            });
            prev_end = Some(b);
        }
    }
    out
}

/// Rows for every difference between two processes' scenario VMAs: count and list when the
/// counts differ, else each differing field; then Σ of `ac` VMAs and RssAnon.
pub fn compare_layouts(
    proc: &str,
    sim: &[VmaShape],
    kernel: &[VmaShape],
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
            field("flags", s.flags(), k.flags());
            field("adjacent", s.adjacent.to_string(), k.adjacent.to_string());
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
    let anon = |v: &[VmaShape]| v.iter().map(|x| x.anon_kb).sum::<u64>();
    if anon(sim) != anon(kernel) {
        rows.push((
            format!("{proc}: RssAnon kB"),
            anon(sim).to_string(),
            anon(kernel).to_string(),
        ));
    }
    rows
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
    let (MachineConfig::Linux(h), MachineConfig::Linux(s)) = (host, &scenario.machine);
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
    let MachineConfig::Linux(scenario_cfg) = &scenario.machine;
    // The real side resolves relative sizes against the host, whatever the simulator is told.
    let MachineConfig::Linux(real_cfg) = host::host_config()?;
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

    let mut sim_scenario = scenario.clone();
    sim_scenario.machine = sim_config;
    let mut runner = Runner::new(&sim_scenario, None);
    let mut sim_committed = runner.machine().commit_summary().committed_as_kb as i64;
    let mut procs: Vec<String> = Vec::new();
    while let Some(item) = runner.next_item() {
        let RunItem::Step(rec) = item else { continue };
        // The simulator has run the step; the kernel has not yet. Committed_AS is read right
        // before and right after the operation (the helpers' smaps outside that window), so
        // other processes' changes fall into the window as rarely as possible.
        let own_before = helper_own_ac_kb(&real)? as i64;
        let before = committed_kb(&real)? as i64 - own_before;
        let kernel = match real.apply(&rec.op) {
            Ok(o) => o,
            Err(e) => {
                report.stopped = Some(format!("step {} (line {}): {e}", rec.step, rec.pos.line));
                return Ok(report);
            }
        };
        let after_total = committed_kb(&real)? as i64;
        let after = after_total - helper_own_ac_kb(&real)? as i64;
        let sim_delta = rec.committed_as_kb as i64 - sim_committed;
        sim_committed = rec.committed_as_kb as i64;
        let kernel_delta = after - before;
        let mut row = |field: String, sim: String, kernel: String| {
            report.mismatches.push(Mismatch {
                step: rec.step,
                line: rec.pos.line,
                text: rec.text.clone(),
                field,
                sim,
                kernel,
            });
        };
        if rec.outcome != kernel {
            row(
                "outcome".into(),
                rec.outcome.to_string(),
                kernel.to_string(),
            );
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
                    for (f, a, b) in compare_layouts(p, &sim_v, &ker_v) {
                        row(f, a, b);
                    }
                }
            }
        }
        report.steps.push(StepResult {
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
    Ok(report)
}

/// A process's smaps in the simulator, parsed by the same parser as the kernel's; `None` when it
/// is not running.
fn sim_smaps(m: &Machine, proc: &str) -> Result<Option<Vec<SmapsEntry>>, BackendError> {
    if m.proc_state(proc) != Some(vmlab_core::linux::ProcState::Running) {
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
        assert!(compare_layouts("app", &a, &a).is_empty());
        let rows = compare_layouts("app", &a, &b);
        assert_eq!(rows[0].0, "app: vmas");
        assert!(rows.iter().any(|r| r.0 == "app: RssAnon kB"));
        assert!(!rows.iter().any(|r| r.0 == "app: Σ ac kB"));
        let c = scenario_vmas(&[entry(0x10000, 0x30000, "r--p", "nr", 0)], None);
        let rows = compare_layouts("app", &a, &c);
        let fields: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            fields,
            ["app: vma[0].perms", "app: vma[0].flags", "app: Σ ac kB"]
        );
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
