//! The one seam between the app and vmlab-core: parse and run a scenario, replay the machine to a
//! step, and copy what the view needs into `views`. Nothing else in the app names a core type.
//!
//! Going back is exact because it is replay: a run keeps a checkpoint (a clone of the machine)
//! every `CHECKPOINT_EVERY` steps, and the machine at step N is the nearest checkpoint at or before
//! N with the remaining operations applied again. So a step costs at most that many operations.

use crate::views::{
    CgroupView, CheckView, CommitRoomView, CommitRuleView, DiagView, EventView, FrameRunView,
    JobView, MemView, OomRowView, OomView, PageRun, PageState, ProcTexts, ProcView, RunView,
    Series, SnapshotView, StepView, SystemView, VmaView, WindowsView,
};
use std::cell::RefCell;
use vmlab_core::event::{
    Event, EventKind, FaultKind, MemcgEvent, OomCandidate, OomChoice, OomConstraintKind,
};
use vmlab_core::machine::{CommitRuleSummary, Machine, Os, ProcState};
use vmlab_core::op::{Op, Outcome};
use vmlab_core::scenario::{self, Diagnostic, Scenario, StmtKind};
use vmlab_core::sim;
use vmlab_core::snapshot::{OsProcessSnapshot, OsSnapshot, PageState as CoreState};

const CHECKPOINT_EVERY: u32 = 16;
const KB: u64 = 1024;

/// A parsed scenario, its run, and the machine at the last step asked for.
pub struct Sim {
    ops: Vec<Op>,
    checkpoints: Vec<Machine>,
    /// Shared with the components, which compare it by pointer.
    pub run: std::rc::Rc<RunView>,
    pub series: Series,
    /// The last machine replayed, and its step: stepping forward from it costs one operation.
    cache: RefCell<Option<(u32, Machine)>>,
}

fn diag(d: &Diagnostic) -> DiagView {
    DiagView {
        line: d.pos.line,
        col: d.pos.col,
        message: d.message.clone(),
    }
}

/// Parses and runs a scenario. Errors are the parser's diagnostics, sorted by position.
pub fn load(text: &str) -> Result<Sim, Vec<DiagView>> {
    let scenario = scenario::parse(text).map_err(|ds| {
        let mut v: Vec<DiagView> = ds.iter().map(diag).collect();
        v.sort_by_key(|d| (d.line, d.col));
        v
    })?;
    Ok(Sim::new(&scenario))
}

fn span_of(e: &Event) -> Option<(u64, u64)> {
    match &e.kind {
        EventKind::VmaCreated { span, .. }
        | EventKind::VmaMerged { span, .. }
        | EventKind::VmaSplit { span, .. }
        | EventKind::VmaRemoved { span }
        | EventKind::VmaFlagsChanged { span, .. }
        | EventKind::Fault { span, .. }
        | EventKind::PagesDropped { span, .. }
        | EventKind::PagesLazyFree { span, .. }
        | EventKind::Placed { span, .. } => Some((span.start, span.end)),
        EventKind::VmaNotMerged { span, .. } => Some((span.start, span.end)),
        EventKind::ForkRefused { vma, .. } => Some((vma.start, vma.end)),
        _ => None,
    }
}

fn oom_rows(table: &[OomCandidate]) -> Vec<OomRowView> {
    table
        .iter()
        .map(|c| OomRowView {
            pid: c.pid,
            name: c.name.clone(),
            rss_pages: c.rss.iter().sum(),
            swap_pages: c.swapents,
            pgtables_bytes: c.pgtables_bytes,
            oom_score_adj: c.oom_score_adj,
            points: c.points,
        })
        .collect()
}

/// The OOM killer's table of an event that has one: the global report, or the memcg OOM.
fn oom_view(e: &Event) -> Option<OomView> {
    match &e.kind {
        EventKind::Oom(r) => Some(OomView {
            memcg: match &r.constraint {
                OomConstraintKind::Global => None,
                OomConstraintKind::Memcg(p) => Some(p.clone()),
            },
            constraint: r.constraint.kernel_name().to_string(),
            totalpages: r.totalpages,
            rows: oom_rows(&r.table),
            victim: r.victim,
            choice: match r.choice {
                OomChoice::Badness => {
                    "the highest points (a tie goes to the task scanned later)".into()
                }
                OomChoice::AllocatingTask => {
                    "vm.oom_kill_allocating_task: the task that allocated".into()
                }
                OomChoice::NoVictim => "nothing killable: the kernel panics".into(),
                OomChoice::PanicOnOom(n) => {
                    format!("vm.panic_on_oom={n}: the kernel panics before choosing")
                }
            },
        }),
        EventKind::Memcg(MemcgEvent::Oom {
            cgroup,
            totalpages,
            candidates,
            victim,
            group,
        }) => Some(OomView {
            memcg: Some(cgroup.clone()),
            constraint: "CONSTRAINT_MEMCG".into(),
            totalpages: *totalpages,
            rows: oom_rows(candidates),
            victim: *victim,
            choice: match (victim, group.is_empty()) {
                (None, _) => "nothing killable: the charge fails and the task waits".into(),
                (Some(_), true) => {
                    "the highest points (a tie goes to the task scanned later)".into()
                }
                (Some(_), false) => format!(
                    "the highest points; memory.oom.group kills {} too",
                    group
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        }),
        _ => None,
    }
}

fn event_view(e: &Event) -> EventView {
    EventView {
        reason: e.reason().to_string(),
        source: e.source().to_string(),
        sentence: e.sentence(),
        pid: e.pid,
        span: span_of(e),
        cow_break: matches!(
            e.kind,
            EventKind::Fault {
                kind: FaultKind::CowCopy,
                ..
            }
        ),
        oom: oom_view(e).map(std::rc::Rc::new),
    }
}

fn run_view(scenario: &Scenario, run: &sim::Run) -> RunView {
    let expects_total = scenario
        .stmts
        .iter()
        .filter(|s| matches!(s.kind, StmtKind::Expect(_)))
        .count() as u32;
    let steps: Vec<StepView> = run
        .steps
        .iter()
        .map(|s| StepView {
            step: s.step,
            line: s.pos.line,
            text: s.text.clone(),
            outcome: s.outcome.to_string(),
            // A Windows allocation's success carries its base address.
            ok: matches!(s.outcome, Outcome::Ok | Outcome::Base(_)),
            events: s.events.iter().map(event_view).collect(),
        })
        .collect();
    let oom_steps = steps
        .iter()
        .filter(|s| s.events.iter().any(|e| e.oom.is_some()))
        .map(|s| s.step)
        .collect();
    RunView {
        ops_total: scenario.ops().count() as u32,
        expects_total,
        oom_steps,
        steps,
        checks: run
            .checks
            .iter()
            .map(|c| CheckView {
                line: c.pos.line,
                text: c.text.clone(),
                passed: c.passed,
                detail: c.detail.clone(),
            })
            .collect(),
        error: run.error.as_ref().map(diag),
    }
}

impl Sim {
    fn new(scenario: &Scenario) -> Sim {
        let run = sim::run(scenario);
        let view = run_view(scenario, &run);
        let steps = view.steps.len();
        let ops: Vec<Op> = scenario
            .ops()
            .map(|(_, op)| op.clone())
            .take(steps)
            .collect();
        // One replay pass for the checkpoints and the per-process RSS series.
        let mut m = Machine::boot(&scenario.machine);
        let mut checkpoints = vec![m.clone()];
        let mut series = Series {
            windows: m.os() == Os::Windows,
            ..Series::default()
        };
        let mut rss: Vec<(u32, String, Vec<u64>)> = Vec::new();
        record_series(&m, 0, &mut series, &mut rss);
        record_cgroups(&m, 0, &mut series.cgroups);
        for (i, op) in ops.iter().enumerate() {
            // The run already applied these operations without a scenario error, so this cannot fail;
            // if it somehow does, the series simply stop there.
            if m.apply(op).is_err() {
                break;
            }
            let step = i as u32 + 1;
            if step.is_multiple_of(CHECKPOINT_EVERY) {
                checkpoints.push(m.clone());
            }
            record_series(&m, step, &mut series, &mut rss);
            record_cgroups(&m, step, &mut series.cgroups);
        }
        leaves_only(&mut series.cgroups);
        series.rss = rss
            .into_iter()
            .map(|(pid, name, v)| (format!("{name} ({pid})"), v))
            .collect();
        Sim {
            ops,
            checkpoints,
            run: std::rc::Rc::new(view),
            series,
            cache: RefCell::new(None),
        }
    }

    pub fn steps(&self) -> u32 {
        self.run.steps.len() as u32
    }

    /// Runs `f` on the machine after `step` operations, replaying from the cached machine or the
    /// nearest checkpoint.
    fn with_machine<R>(&self, step: u32, f: impl FnOnce(&Machine) -> R) -> R {
        let step = step.min(self.steps());
        let mut cache = self.cache.borrow_mut();
        let reuse = matches!(&*cache, Some((s, _)) if *s <= step && step - *s < CHECKPOINT_EVERY);
        if !reuse {
            let ci =
                ((step / CHECKPOINT_EVERY) as usize).min(self.checkpoints.len().saturating_sub(1));
            *cache = self
                .checkpoints
                .get(ci)
                .map(|m| (ci as u32 * CHECKPOINT_EVERY, m.clone()));
        }
        let Some((at, m)) = cache.as_mut() else {
            unreachable!("Sim::new always stores the booted machine as checkpoint 0")
        };
        while *at < step {
            // Replaying an operation the run applied cleanly cannot fail; stop if it does.
            if m.apply(&self.ops[*at as usize]).is_err() {
                break;
            }
            *at += 1;
        }
        f(m)
    }

    /// The machine after `step` operations, by deterministic replay, with the page runs of the
    /// process `pick` chooses from the running pids (see `views::focus`).
    pub fn snapshot(
        &self,
        step: u32,
        pick: impl FnOnce(&[u32]) -> Option<u32>,
    ) -> Option<SnapshotView> {
        Some(self.with_machine(step, |m| snapshot_view(m, step, pick)))
    }

    /// /proc/PID/maps, smaps and status of one process after `step` operations.
    pub fn proc_texts(&self, step: u32, pid: u32) -> Option<ProcTexts> {
        self.with_machine(step, |m| {
            let view = |v: &str| m.proc_view_of(pid, v).ok();
            Some(ProcTexts {
                maps: view("maps")
                    .unwrap_or_else(|| "(the process has exited: /proc/PID is gone)\n".into()),
                smaps: view("smaps").unwrap_or_default(),
                status: view("status").unwrap_or_default(),
            })
        })
    }
}

fn meminfo_bytes(mi: &[(String, u64)], field: &str) -> u64 {
    mi.iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v * KB)
        .unwrap_or(0)
}

fn record_series(m: &Machine, step: u32, s: &mut Series, rss: &mut Vec<(u32, String, Vec<u64>)>) {
    let c = m.commit_summary();
    s.committed_as.push(c.charge_kb * KB);
    s.commit_limit.push(c.limit_kb * KB);
    s.mem_free.push(c.mem_free_kb * KB);
    for p in m.processes() {
        let v = if p.state == ProcState::Running {
            m.resident_kb(p.pid).unwrap_or(0)
        } else {
            0
        };
        // Series are added as processes first appear, and pids only grow: `rss` is sorted.
        let i = match rss.binary_search_by_key(&p.pid, |(pid, _, _)| *pid) {
            Ok(i) => i,
            Err(i) => {
                rss.insert(i, (p.pid, p.name.to_string(), vec![0; step as usize]));
                i
            }
        };
        rss[i].2.push(v);
    }
    // A process that no longer exists at all still needs a point per step.
    let len = step as usize + 1;
    for (_, _, v) in rss.iter_mut() {
        v.resize(len, 0);
    }
}

/// memory.current of every cgroup but the root at `step` (the core's numbers), one point per
/// step; a cgroup's series starts with zeros before it exists and goes on at 0 once removed.
fn record_cgroups(m: &Machine, step: u32, series: &mut Vec<(String, Vec<u64>)>) {
    for c in m.cgroups().into_iter().filter(|c| !c.path.is_empty()) {
        // Kept sorted by path, so each lookup is a bisection.
        let i = match series.binary_search_by(|(p, _)| p.as_str().cmp(&c.path)) {
            Ok(i) => i,
            Err(i) => {
                series.insert(i, (c.path.clone(), vec![0; step as usize]));
                i
            }
        };
        series[i].1.push(c.current_bytes);
    }
    let len = step as usize + 1;
    for (_, v) in series.iter_mut() {
        v.resize(len, 0);
    }
}

/// Keeps the cgroups that never had a child in the run: a parent's line would lie on its only
/// child's (a pod and its one container) and hide it. `series` is sorted by path, so a
/// cgroup's descendants are found by one bisection. O(n log n).
fn leaves_only(series: &mut Vec<(String, Vec<u64>)>) {
    let paths: Vec<String> = series.iter().map(|(p, _)| format!("{p}/")).collect();
    let has_child = |prefix: &String| {
        let i = series.partition_point(|(p, _)| p.as_str() < prefix.as_str());
        series
            .get(i)
            .is_some_and(|(p, _)| p.starts_with(prefix.as_str()))
    };
    let keep: Vec<bool> = paths.iter().map(|p| !has_child(p)).collect();
    let mut k = keep.iter();
    series.retain(|_| *k.next().unwrap_or(&true));
}

fn page_state(s: CoreState) -> PageState {
    match s {
        CoreState::Untouched => PageState::Untouched,
        CoreState::Zero => PageState::ZeroPage,
        CoreState::Private => PageState::Private,
        CoreState::Shared { mapcount } => PageState::Shared(mapcount),
        CoreState::Swapped => PageState::Swapped,
        CoreState::LazyFree => PageState::LazyFree,
        CoreState::PageCache => PageState::PageCache,
        CoreState::Reserved => PageState::Reserved,
        CoreState::Committed => PageState::Committed,
        CoreState::WorkingSet => PageState::WorkingSet,
        CoreState::PageFile => PageState::PageFile,
        CoreState::View => PageState::View,
    }
}

/// VmFlags codes worth showing on a VMA (the rest, rd wr mr mw me, repeat the permissions).
fn short_flags(codes: &str) -> Vec<String> {
    codes
        .split_whitespace()
        .filter(|c| !matches!(*c, "rd" | "wr" | "ex" | "mr" | "mw" | "me"))
        .map(str::to_string)
        .collect()
}

/// The VMAs with their names and page-state counts; `runs` (the core's page runs, in address
/// order) and `names` (sorted by start) are walked once alongside them: O(VMAs + runs + names).
fn vma_views(
    vmas: &[vmlab_core::snapshot::VmaSnapshot],
    runs: &[(u64, u64, CoreState)],
    names: &[(String, u64, u64)],
) -> Vec<VmaView> {
    let mut ri = 0usize;
    let mut ni = 0usize;
    let mut active: Vec<&(String, u64, u64)> = Vec::new();
    vmas.iter()
        .map(|v| {
            while ni < names.len() && names[ni].1 < v.end {
                active.push(&names[ni]);
                ni += 1;
            }
            // VMAs come in address order: a name that ends before this one overlaps no later one.
            active.retain(|(_, _, e)| *e > v.start);
            let (vs, ve) = (v.start >> 12, v.end >> 12);
            let mut counts: Vec<(PageState, u64)> = Vec::new();
            while ri < runs.len() && runs[ri].0 + runs[ri].1 <= vs {
                ri += 1;
            }
            let mut j = ri;
            while j < runs.len() && runs[j].0 < ve {
                let (s, n, st) = runs[j];
                let len = (s + n).min(ve) - s.max(vs);
                let st = page_state(st);
                // Kept in order by insertion (a handful of states; no sort instantiated for it).
                match counts.binary_search_by(|(k, _)| k.cmp(&st)) {
                    Ok(i) => counts[i].1 += len,
                    Err(i) => counts.insert(i, (st, len)),
                }
                j += 1;
            }
            VmaView {
                start: v.start,
                end: v.end,
                perms: v.perms.clone(),
                flags: short_flags(&v.flags),
                name: crate::views::piece_name(v.start, v.end, &active).unwrap_or_else(|| {
                    if v.name.is_empty() {
                        "anon".into()
                    } else {
                        v.name.clone()
                    }
                }),
                rss_bytes: v.rss_kb * KB,
                state_pages: counts,
            }
        })
        .collect()
}

/// A Windows process's allocations as the rows the process columns and the page view draw (a
/// Windows process has no VMAs): each region with the core's page-state counts inside it and its
/// working-set bytes. `regions` and `runs` are in address order and walked once: O(regions + runs).
fn region_views(regions: &[(u64, u64, String)], runs: &[(u64, u64, CoreState)]) -> Vec<VmaView> {
    let mut ri = 0usize;
    regions
        .iter()
        .map(|(base, len, name)| {
            let (vs, ve) = (base >> 12, (base + len) >> 12);
            while ri < runs.len() && runs[ri].0 + runs[ri].1 <= vs {
                ri += 1;
            }
            let mut counts: Vec<(PageState, u64)> = Vec::new();
            let mut j = ri;
            while j < runs.len() && runs[j].0 < ve {
                let (s, n, st) = runs[j];
                let len = (s + n).min(ve) - s.max(vs);
                let st = page_state(st);
                match counts.binary_search_by(|(k, _)| k.cmp(&st)) {
                    Ok(i) => counts[i].1 += len,
                    Err(i) => counts.insert(i, (st, len)),
                }
                j += 1;
            }
            let pages_in =
                |st: PageState| counts.iter().find(|(k, _)| *k == st).map_or(0, |(_, n)| *n);
            let view = pages_in(PageState::View) > 0;
            VmaView {
                start: *base,
                end: base + len,
                perms: if view { "view" } else { "private" }.into(),
                flags: Vec::new(),
                name: if name.is_empty() {
                    format!("{base:#x}")
                } else {
                    name.clone()
                },
                rss_bytes: pages_in(PageState::WorkingSet) * 4096,
                state_pages: counts,
            }
        })
        .collect()
}

fn snapshot_view(m: &Machine, step: u32, pick: impl FnOnce(&[u32]) -> Option<u32>) -> SnapshotView {
    let snap = m.snapshot();
    let running: Vec<u32> = snap
        .processes
        .iter()
        .filter(|p| p.state == ProcState::Running)
        .map(|p| p.pid)
        .collect();
    let owner = pick(&running).filter(|p| running.contains(p));
    let mem = match &snap.os {
        OsSnapshot::Linux(linux) => {
            let mi = &linux.meminfo;
            MemView {
                mem_total: meminfo_bytes(mi, "MemTotal"),
                mem_free: meminfo_bytes(mi, "MemFree"),
                cached: meminfo_bytes(mi, "Cached"),
                swap_total: meminfo_bytes(mi, "SwapTotal"),
                swap_free: meminfo_bytes(mi, "SwapFree"),
                committed_as: meminfo_bytes(mi, "Committed_AS"),
                commit_limit: meminfo_bytes(mi, "CommitLimit"),
            }
        }
        // The minimal arm that keeps a Windows machine showing: PERFORMANCE_INFORMATION's
        // numbers as the core reports them (the page file in the swap slots).
        OsSnapshot::Windows(w) => MemView {
            mem_total: w.physical_total_pages * 4 * KB,
            mem_free: w.physical_available_pages * 4 * KB,
            cached: 0,
            swap_total: w.pagefile_pages * 4 * KB,
            swap_free: w.pagefile_pages * 4 * KB,
            committed_as: w.commit_total_pages * 4 * KB,
            commit_limit: w.commit_limit_pages * 4 * KB,
        },
    };
    // The core decides the rule and its number; the gauge only draws it.
    let rule = match m.commit_summary_for(owner).rule {
        CommitRuleSummary::NoLimit => CommitRuleView::Always,
        CommitRuleSummary::Total { allowed_kb } => CommitRuleView::Never {
            allowed_bytes: allowed_kb * KB,
        },
        CommitRuleSummary::PerRequest { per_request_kb } => CommitRuleView::Guess {
            per_request_bytes: per_request_kb * KB,
        },
    };
    let processes = snap
        .processes
        .iter()
        .map(|p| {
            let (rss_bytes, pss_bytes, vm_size_bytes, oom_score, vmas, regions) = match &p.os {
                OsProcessSnapshot::Linux(lp) => {
                    let status = |f: &str| {
                        lp.status
                            .iter()
                            .find(|(k, _)| k == f)
                            .map(|(_, v)| v * KB)
                            .unwrap_or(0)
                    };
                    (
                        status("VmRSS"),
                        lp.pss_kb * KB,
                        status("VmSize"),
                        lp.oom_score,
                        Some(&lp.vmas),
                        None,
                    )
                }
                // A Windows process: its WorkingSetSize and Virtual Size; its allocations
                // stand where a Linux process's VMAs do.
                OsProcessSnapshot::Windows(w) => (
                    w.working_set_bytes,
                    w.working_set_bytes,
                    w.virtual_size_bytes,
                    0,
                    None,
                    Some(&w.regions),
                ),
            };
            let running = p.state == ProcState::Running;
            // Every running process's page and frame runs: O(runs) each, for the side-by-side
            // picture and the physical strip.
            let (runs, frames, names) = if running {
                (
                    m.page_runs(p.pid, 0, u64::MAX),
                    m.frame_runs(p.pid),
                    m.mapping_names(p.pid),
                )
            } else {
                (Vec::new(), Vec::new(), Vec::new())
            };
            ProcView {
                pid: p.pid,
                name: p.name.clone(),
                state: format!("{:?}", p.state).to_lowercase(),
                rss_bytes,
                pss_bytes,
                vm_size_bytes,
                oom_score,
                vmas: match regions {
                    Some(r) if running => region_views(r, &runs),
                    Some(_) => Vec::new(),
                    None => vma_views(vmas.map_or(&[][..], |v| &v[..]), &runs, &names),
                },
                frames: std::rc::Rc::new(
                    frames
                        .iter()
                        .map(|f| FrameRunView {
                            vpage: f.vpage,
                            pages: f.pages,
                            pfn: f.pfn,
                            mapcount: f.mapcount,
                        })
                        .collect(),
                ),
            }
        })
        .collect();
    // Page runs cost O(runs): only the process the page view shows gets them.
    let pages: Vec<PageRun> = match owner {
        Some(pid) => m
            .page_runs(pid, 0, u64::MAX)
            .into_iter()
            .map(|(s, n, st)| PageRun {
                start: s << 12,
                pages: n,
                state: page_state(st),
            })
            .collect(),
        None => Vec::new(),
    };
    // The snapshot's processes are in pid order (the machine keeps them by pid).
    let name_of = |pid: u32| {
        snap.processes
            .binary_search_by_key(&pid, |p| p.pid)
            .map(|i| snap.processes[i].name.clone())
            .unwrap_or_default()
    };
    // Memory cgroups are Linux's; a Windows machine shows none.
    let (linux_cgroups, cgroup_version) = match &snap.os {
        OsSnapshot::Linux(l) => (&l.cgroups[..], l.cgroup_version.clone()),
        OsSnapshot::Windows(_) => (&[][..], String::new()),
    };
    let cgroups = linux_cgroups
        .iter()
        .map(|c| CgroupView {
            path: c.path.clone(),
            depth: c.depth,
            current: c.current_bytes,
            peak: c.peak_bytes,
            high: c.high_bytes,
            max: c.max_bytes,
            oom_events: c.oom_events,
            oom_kills: c.oom_kills,
            swap: c.swap_bytes,
            procs: c.pids.iter().map(|&p| (p, name_of(p))).collect(),
            pod: c
                .pod
                .as_ref()
                .map(|p| (p.qos.clone(), p.pod.clone(), p.container.clone())),
        })
        .collect();
    let windows = match &snap.os {
        OsSnapshot::Linux(_) => None,
        OsSnapshot::Windows(w) => Some(std::rc::Rc::new(WindowsView {
            commit_total: w.commit_total_pages * 4 * KB,
            commit_limit: w.commit_limit_pages * 4 * KB,
            commit_peak: w.commit_peak_pages * 4 * KB,
            commit_max_limit: match m.commit_summary().rule {
                CommitRuleSummary::Total { allowed_kb } => allowed_kb * KB,
                _ => w.commit_limit_pages * 4 * KB,
            },
            pagefile: w.pagefile_pages * 4 * KB,
            pagefile_max: w.pagefile_max_pages * 4 * KB,
            physical_total: w.physical_total_pages * 4 * KB,
            physical_available: w.physical_available_pages * 4 * KB,
            jobs: w
                .jobs
                .iter()
                .map(|j| JobView {
                    name: j.name.clone(),
                    parent: j.parent.clone(),
                    job_memory_limit: j.job_memory_limit_bytes,
                    process_memory_limit: j.process_memory_limit_bytes,
                    peak_job_memory: j.peak_job_memory_bytes,
                    peak_process_memory: j.peak_process_memory_bytes,
                    procs: j.pids.iter().map(|&p| (p, name_of(p))).collect(),
                    container: j.container.clone(),
                })
                .collect(),
            systems: w
                .systems
                .iter()
                .map(|s| SystemView {
                    label: s.label.clone(),
                    container: s.container.clone(),
                    commit_total: s.commit_total_pages * 4 * KB,
                    commit_limit: s.commit_limit_pages * 4 * KB,
                    commit_max_limit: s.commit_max_limit_pages * 4 * KB,
                    physical_total: s.physical_total_pages * 4 * KB,
                    physical_available: s.physical_available_pages * 4 * KB,
                    pagefile: s.pagefile_pages * 4 * KB,
                    base: s.base_pages * 4 * KB,
                })
                .collect(),
            commit_room: w
                .commit_room
                .iter()
                .filter(|r| w.jobs.iter().any(|j| j.pids.contains(&r.pid)))
                .map(|r| CommitRoomView {
                    pid: r.pid,
                    name: name_of(r.pid),
                    room: r.room_bytes,
                    bound: r.bound.clone(),
                    avail_page_file: r.avail_page_file_bytes,
                })
                .collect(),
        })),
    };
    SnapshotView {
        step,
        mem,
        windows,
        rule,
        processes,
        meminfo_text: m.meminfo_text(),
        page_owner: owner,
        pages: std::rc::Rc::new(pages),
        cgroup_version,
        cgroups: std::rc::Rc::new(cgroups),
    }
}

/// What one line did when a generator tried it on the machine so far (see [`LineRunner`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineResult {
    /// Applied, and the operation succeeded.
    Ok,
    /// Applied, and the process saw an errno (a refused fork, an ENOMEM mmap).
    Errno,
    /// Applied, and the process was killed doing it.
    Killed,
    /// Not applied: the line does not parse or names something that does not exist (the scenario
    /// error that would stop a run). The machine is as it was.
    Refused,
}

/// A machine that takes a scenario one line at a time, so a generator can write only lines the
/// core accepts: each line is parsed after the lines accepted so far (the parser knows which
/// processes and mappings they name) and applied, and the core's outcome decides what may follow.
pub struct LineRunner {
    text: String,
    machine: Machine,
}

impl LineRunner {
    /// Boots the machine of `header` (the comment and `machine` lines).
    pub fn new(header: &str) -> Result<LineRunner, Vec<DiagView>> {
        let s = scenario::parse(header).map_err(|ds| ds.iter().map(diag).collect::<Vec<_>>())?;
        Ok(LineRunner {
            text: header.to_string(),
            machine: Machine::boot(&s.machine),
        })
    }

    /// Parses one operation line after the accepted ones and applies it; a refused line is not
    /// kept and leaves the machine unchanged.
    pub fn try_line(&mut self, line: &str) -> LineResult {
        let len = self.text.len();
        self.text.push_str(line);
        self.text.push('\n');
        let result = self.apply_last();
        if result == LineResult::Refused {
            self.text.truncate(len);
        }
        result
    }

    fn apply_last(&mut self) -> LineResult {
        let Ok(s) = scenario::parse(&self.text) else {
            return LineResult::Refused;
        };
        let Some((_, op)) = s.ops().last() else {
            return LineResult::Refused;
        };
        match self.machine.apply(op) {
            Ok((Outcome::Ok | Outcome::Blocked | Outcome::Base(_), _)) => LineResult::Ok,
            Ok((Outcome::Err(_) | Outcome::Win32(_), _)) => LineResult::Errno,
            // A kernel panic ends the machine: the line ran, and its process is gone with it.
            Ok((Outcome::Killed { .. } | Outcome::Panic, _)) => LineResult::Killed,
            Err(_) => {
                // Rare (the parser already checked the names): rebuild the machine from the
                // accepted lines, so a refused line leaves nothing behind whatever apply touched.
                let len = self
                    .text
                    .trim_end_matches('\n')
                    .rfind('\n')
                    .map_or(0, |i| i + 1);
                if let Ok(prev) = scenario::parse(&self.text[..len]) {
                    self.machine = sim::machine_at(&prev, u32::MAX);
                }
                LineResult::Refused
            }
        }
    }

    /// Whether a process of this name exists and is running.
    pub fn running(&self, name: &str) -> bool {
        self.machine.proc_state(name) == Some(ProcState::Running)
    }

    /// The scenario so far: the header and every accepted line.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Every VmFlags code the core prints (`flags.rs` explains each; its test checks that none is missing).
pub fn flag_codes() -> Vec<&'static str> {
    vmlab_core::linux::vma::flag_code_names().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cgroups_without_a_child_are_charted() {
        let mut s: Vec<(String, Vec<u64>)> = ["a", "a-b", "a/c", "a/c/d", "e"]
            .iter()
            .map(|p| (p.to_string(), vec![0]))
            .collect();
        leaves_only(&mut s);
        let kept: Vec<&str> = s.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(kept, vec!["a-b", "a/c/d", "e"]);
    }

    /// A Hyper-V container's utility VM reaches the web: the snapshot lists the host and the
    /// VM, and the VM's numbers are the ones GetPerformanceInfo gives a process inside it.
    #[test]
    fn a_hyperv_container_s_vm_is_its_own_system_in_the_snapshot() {
        let text = include_str!("../../../scenarios/win-container-job-limit.vmlab");
        let Ok(sim) = load(text) else {
            panic!("the scenario loads");
        };
        let last = sim.run.steps.len() as u32;
        let snap = sim.snapshot(last, |_| None).expect("a snapshot");
        let w = snap.windows.as_ref().expect("a Windows machine");
        assert_eq!(w.systems.len(), 2, "{:?}", w.systems);
        assert_eq!(w.systems[0].container, None);
        assert_eq!(w.systems[0].commit_total, w.commit_total);
        let vm = &w.systems[1];
        assert_eq!(vm.container.as_deref(), Some("vm"));
        assert_eq!((vm.physical_total, vm.base), (2 << 30, 512 << 20));
        let m = sim::machine_at(&scenario::parse(text).expect("parses"), last);
        let perf = m
            .windows_view("GetPerformanceInfo", Some("svc"))
            .expect("svc runs");
        let field = |name: &str| {
            perf.lines()
                .find_map(|l| {
                    let mut f = l.split_whitespace();
                    (f.next() == Some(name)).then(|| f.next().expect("a value").parse::<u64>())
                })
                .expect("the field")
                .expect("a number")
        };
        assert_eq!(vm.commit_total, field("CommitTotal") * 4096);
        assert_eq!(vm.commit_limit, field("CommitLimit") * 4096);
        // Full: the base and the container's 1.5 GiB fill the VM's 2 GiB.
        assert_eq!(vm.commit_total, vm.commit_limit);
    }

    /// The meter's "can really still commit": two processes share a job with 100 MiB and hold
    /// 40 MiB each, so each has 20 MiB left, while ullAvailPageFile tells each 60 MiB.
    #[test]
    fn the_commit_room_of_two_processes_in_one_job_is_the_job_s_not_ullavailpagefile() {
        let Ok(sim) = load(
            "machine windows ram=4GiB pagefile=none\njob create j\njob j limits job=100MiB\n\
             spawn p\nspawn q\njob j assign p\njob j assign q\np alloc a 40MiB\nq alloc a 40MiB\n",
        ) else {
            panic!("the scenario loads");
        };
        let snap = sim.snapshot(8, |_| None).expect("a snapshot");
        let w = snap.windows.as_ref().expect("a Windows machine");
        let rooms: Vec<(&str, u64, u64)> = w
            .commit_room
            .iter()
            .map(|r| (r.name.as_str(), r.room, r.avail_page_file))
            .collect();
        assert_eq!(
            rooms,
            vec![("p", 20 << 20, 60 << 20), ("q", 20 << 20, 60 << 20)]
        );
        assert!(w.commit_room[0].bound.contains("JobMemoryLimit"));
    }

    /// The kube node: the OOM views carry the core's tables, the chart has the three
    /// containers, and the tree names each pod's QoS class.
    #[test]
    fn the_kube_node_shows_its_ooms_pods_and_containers() {
        let Ok(sim) = load(include_str!("../../../scenarios/kube-node-pressure.vmlab")) else {
            panic!("the scenario loads");
        };
        assert_eq!(sim.run.oom_steps, vec![26, 27]);
        let (ooms, own) = sim.run.ooms_at(26);
        assert!(own && ooms.len() == 1);
        let o = &ooms[0].1;
        assert_eq!((o.memcg.as_deref(), o.victim), (None, Some(1002)));
        assert_eq!(o.constraint, "CONSTRAINT_NONE");
        let job = o.rows.iter().find(|r| r.pid == 1002).expect("job's row");
        assert_eq!((job.points, job.oom_score_adj), (Some(444_302), 1000));
        let paths: Vec<&str> = sim.series.cgroups.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "kubepods/besteffort/podbatch/job",
                "kubepods/burstable/podapi/app",
                "kubepods/poddb/pg"
            ]
        );
        let snap = sim.snapshot(25, |_| None).expect("a snapshot");
        let app = snap
            .cgroups
            .iter()
            .find(|c| c.path == "kubepods/burstable/podapi/app")
            .expect("app");
        assert_eq!(app.pod.as_ref().map(|p| p.0.as_str()), Some("Burstable"));
        // The core's memory.current file (600 MiB of anon and the page tables charged with it).
        let text = include_str!("../../../scenarios/kube-node-pressure.vmlab");
        let m = sim::machine_at(&scenario::parse(text).expect("parses"), 25);
        let file = m
            .cgroup_view(&app.path, "memory.current")
            .expect("the file");
        assert_eq!(app.current.to_string(), file.trim());
        assert!(app.current > 600 << 20);
        assert_eq!(app.procs, vec![(1001, "app".to_string())]);
        // memory.current per step is the snapshot's at that step.
        let i = paths.iter().position(|p| *p == app.path).expect("charted");
        assert_eq!(sim.series.cgroups[i].1[25], app.current);
    }
}
