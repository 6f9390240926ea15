//! Model vs the Windows API under Wine, step by step: a Windows scenario's operations run on
//! `vmlab_core::sim` and, translated by [`translate`], on `vmlab-win-helper.exe` under Wine (one
//! helper per scenario process, plus a job holder for jobs made outside any process). After each
//! step the check compares what Wine follows from Windows (docs/known-differences.md, "Windows
//! backend under Wine 8.0"): the outcome (success, or the Win32 error code), the region list of
//! the reservations the step names (VirtualQuery: offset from the base, size, state, protect,
//! type), and the step process's working-set growth in pages; at the end, and before each exit,
//! the region list of every named reservation of every live process. What Wine does not follow
//! (the commit limit and charge, job limits, a 32-bit address space, trimming) is a known
//! difference: shown, never counted ([`KNOWN`]).
//!
//! [`translate`] is the one place a model op becomes protocol requests (ARCHITECTURE.md, "Glue
//! to the model"); an op the backend cannot run is [`Unsupported`], which stops the check at that
//! step with the reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use vmlab_core::config::MachineConfig;
use vmlab_core::event::EventKind;
use vmlab_core::machine::{Machine, ProcState};
use vmlab_core::op::{Op, Outcome};
use vmlab_core::scenario::Scenario;
use vmlab_core::sim::{RunItem, Runner};
use vmlab_core::windows::event::WinEvent;
use vmlab_core::windows::op::{
    Isolation, Win32Error, WinAddr, WinOp, JOB_OBJECT_LIMIT_JOB_MEMORY, SEC_COMMIT, SEC_RESERVE,
};
use vmlab_winos::protocol::{
    AllocType, At, FreeType, JobLimits, MapAccess, Request, Response, SectionKind, Value, UNNAMED,
};

/// Page size of both sides (W1).
const PAGE: u64 = 4096;

/// The fields of a step that are known differences (docs/known-differences.md lists each with
/// its reason, and the test `every_known_field_is_documented` holds the two lists together).
pub const KNOWN: &[(&str, &str)] = &[
    (
        "outcome: commit limit",
        "Wine does not enforce the modeled machine's commit limit (RAM + page file) or a job's \
         commit limit: the model's ERROR_COMMITMENT_LIMIT is Windows's",
    ),
    (
        "outcome: address space",
        "the helper is a 64-bit process: a 32-bit machine's address space (W8) runs out in the \
         model only",
    ),
    (
        "outcome: host commit",
        "the host's overcommit refused a commit the modeled machine allows (a Wine commit is \
         accountable on Linux)",
    ),
    (
        "regions after a commit difference",
        "the two sides diverged on this allocation at an earlier commit-limit step",
    ),
    (
        "regions: a written copy-on-write page",
        "Windows marks a FILE_MAP_COPY page PAGE_READWRITE once written (Learn, Memory \
         Protection Constants: \"The private page is marked as PAGE_READWRITE\"); Wine 8.0 keeps \
         reporting PAGE_WRITECOPY",
    ),
    (
        "outcome: a read of an uncommitted SEC_RESERVE view page",
        "Windows raises an access violation (the page is reserved, Learn CreateFileMapping \
         SEC_RESERVE); Wine 8.0 maps the whole view readable and the read returns zero",
    ),
    (
        "WorkingSetSize Δ pages: a read of new pages",
        "Windows adds a demand-zero page to the working set at the first read; Linux maps its \
         shared zero page, which is not in the Wine process's Rss",
    ),
    (
        "WorkingSetSize Δ pages: trimmed",
        "the modeled machine trimmed working sets (RAM short); the host has RAM to spare and \
         Wine never trims",
    ),
];

/// A model op the Windows backend cannot run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// Who runs a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The helper of this scenario process.
    Proc(String),
    /// The job holder: a helper that makes the scenario's jobs (a job exists before any
    /// process is assigned to it, as `CreateJobObject` from a parent does).
    Holder,
}

/// One thing the real side does for a model op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a helper for this process.
    Start(String),
    /// Send `Exit` and wait for the helper.
    Exit(String),
    /// Send a request. `aux` requests open what another helper made (a job or section by its
    /// Windows name: success with 183) and are not the step's outcome.
    Send { to: Target, req: Request, aux: bool },
}

/// What the translation remembers between ops: the Windows names, each section's creation
/// arguments (for a second process to open it), which helper holds which handle.
#[derive(Clone, Debug, Default)]
pub struct Glue {
    /// Prefix of every Windows object name, unique to this run.
    pub token: String,
    sections: BTreeMap<String, (u64, SectionKind, u32)>,
    /// (process, handle name) pairs a helper holds.
    opened: BTreeSet<(String, String)>,
}

impl Glue {
    pub fn new(token: &str) -> Glue {
        Glue {
            token: token.to_string(),
            ..Glue::default()
        }
    }

    fn os_name(&self, name: &str) -> Option<String> {
        Some(format!("{}-{name}", self.token))
    }
}

/// A model address as the protocol names it: NULL is `None`; `In { region, offset }` is the same
/// name and offset; an absolute address is the [`UNNAMED`] region (meaningful only for addresses
/// the helper reported).
pub fn at(a: &WinAddr) -> Option<At> {
    match a {
        WinAddr::Null => None,
        WinAddr::At(x) => Some(At::new(UNNAMED, *x)),
        WinAddr::In { region, offset } => Some(At::new(region, *offset)),
    }
}

/// The translation of one model op (ARCHITECTURE.md, "Glue to the model"), exhaustive over
/// [`WinOp`]. `VirtualAlloc`/`VirtualFree` pass their flags as the model carries them (raw
/// values too: the argument rules are compared); a touch is one byte per page (`Touch`), a
/// write writes 1 to every byte; `CreateContainer` is a named job with `JobMemoryLimit`
/// (process isolation), Hyper-V isolation is refused.
pub fn translate(op: &WinOp, g: &mut Glue) -> Result<Vec<Action>, Unsupported> {
    let send = |proc: &str, req: Request| Action::Send {
        to: Target::Proc(proc.to_string()),
        req,
        aux: false,
    };
    Ok(match op {
        WinOp::Spawn { name, container } => {
            let mut v = vec![Action::Start(name.clone())];
            if let Some(c) = container {
                v.push(Action::Send {
                    to: Target::Proc(name.clone()),
                    req: Request::CreateJob {
                        name: c.clone(),
                        os_name: g.os_name(c),
                    },
                    aux: true,
                });
                g.opened.insert((name.clone(), c.clone()));
                v.push(Action::Send {
                    to: Target::Proc(name.clone()),
                    req: Request::AssignToJob { job: c.clone() },
                    aux: true,
                });
            }
            v
        }
        WinOp::Exit { proc } => vec![Action::Exit(proc.clone())],
        WinOp::VirtualAlloc {
            proc,
            name,
            address,
            size,
            allocation_type,
            protect,
        } => vec![send(
            proc,
            Request::VirtualAlloc {
                name: name.clone(),
                addr: at(address),
                size: *size,
                kind: AllocType::from_bits(*allocation_type),
                protect: *protect,
            },
        )],
        WinOp::VirtualFree {
            proc,
            address,
            size,
            free_type,
        } => vec![send(
            proc,
            Request::VirtualFree {
                addr: at(address).unwrap_or_else(|| At::new(UNNAMED, 0)),
                size: *size,
                kind: FreeType::from_bits(*free_type),
            },
        )],
        WinOp::Touch {
            proc,
            address,
            size,
            write,
        } => {
            let addr = at(address).unwrap_or_else(|| At::new(UNNAMED, 0));
            let req = if *write {
                Request::Write {
                    addr,
                    len: *size,
                    byte: 1,
                }
            } else {
                Request::Touch { addr, len: *size }
            };
            vec![send(proc, req)]
        }
        WinOp::CreateFileMapping {
            proc,
            section,
            size,
            protect,
            attributes,
        } => {
            let kind = match *attributes {
                0 | SEC_COMMIT => SectionKind::Commit,
                SEC_RESERVE => SectionKind::Reserve,
                other => {
                    return Err(Unsupported(format!(
                        "CreateFileMapping attributes {other:#x}: the backend makes SEC_COMMIT \
                         or SEC_RESERVE sections"
                    )))
                }
            };
            g.sections.insert(section.clone(), (*size, kind, *protect));
            g.opened.insert((proc.clone(), section.clone()));
            vec![send(
                proc,
                Request::CreateSection {
                    name: section.clone(),
                    size: *size,
                    kind,
                    protect: *protect,
                    os_name: g.os_name(section),
                },
            )]
        }
        WinOp::MapViewOfFile {
            proc,
            name,
            section,
            desired_access,
            offset,
            size,
        } => {
            let access = MapAccess::from_bits(*desired_access).ok_or_else(|| {
                Unsupported(format!(
                    "MapViewOfFile access {desired_access:#x}: the backend maps FILE_MAP_READ, \
                     FILE_MAP_WRITE or FILE_MAP_COPY"
                ))
            })?;
            let mut v = Vec::new();
            if !g.opened.contains(&(proc.clone(), section.clone())) {
                let Some(&(size, kind, protect)) = g.sections.get(section) else {
                    return Err(Unsupported(format!(
                        "section `{section}` was never created by a process"
                    )));
                };
                v.push(Action::Send {
                    to: Target::Proc(proc.clone()),
                    req: Request::CreateSection {
                        name: section.clone(),
                        size,
                        kind,
                        protect,
                        os_name: g.os_name(section),
                    },
                    aux: true,
                });
                g.opened.insert((proc.clone(), section.clone()));
            }
            v.push(send(
                proc,
                Request::MapView {
                    section: section.clone(),
                    name: name.clone(),
                    access,
                    offset: *offset,
                    size: *size,
                },
            ));
            v
        }
        WinOp::UnmapViewOfFile { proc, address } => match address {
            WinAddr::In { region, offset: 0 } => {
                vec![send(
                    proc,
                    Request::UnmapView {
                        region: region.clone(),
                    },
                )]
            }
            other => {
                return Err(Unsupported(format!(
                    "UnmapViewOfFile at {other:?}: the backend unmaps a named view at its base"
                )))
            }
        },
        WinOp::CreateJobObject { job } => vec![Action::Send {
            to: Target::Holder,
            req: Request::CreateJob {
                name: job.clone(),
                os_name: g.os_name(job),
            },
            aux: false,
        }],
        WinOp::SetJobLimits {
            job,
            limit_flags,
            process_memory_limit,
            job_memory_limit,
            min_working_set,
            max_working_set,
        } => vec![Action::Send {
            to: Target::Holder,
            req: Request::SetJobLimits {
                job: job.clone(),
                limits: JobLimits {
                    limit_flags: *limit_flags,
                    minimum_working_set_size: *min_working_set,
                    maximum_working_set_size: *max_working_set,
                    process_memory_limit: *process_memory_limit,
                    job_memory_limit: *job_memory_limit,
                    peak_process_memory_used: 0,
                    peak_job_memory_used: 0,
                },
            },
            aux: false,
        }],
        WinOp::AssignProcessToJobObject { job, proc } => {
            let mut v = Vec::new();
            if g.opened.insert((proc.clone(), job.clone())) {
                v.push(Action::Send {
                    to: Target::Proc(proc.clone()),
                    req: Request::CreateJob {
                        name: job.clone(),
                        os_name: g.os_name(job),
                    },
                    aux: true,
                });
            }
            v.push(send(proc, Request::AssignToJob { job: job.clone() }));
            v
        }
        WinOp::CreateContainer {
            name,
            isolation,
            memory_bytes,
            ..
        } => match isolation {
            Isolation::HyperV => {
                return Err(Unsupported(format!(
                    "container `{name}`: Hyper-V isolation runs in a utility VM, which Wine has \
                     no equivalent of"
                )))
            }
            Isolation::Process => vec![
                Action::Send {
                    to: Target::Holder,
                    req: Request::CreateJob {
                        name: name.clone(),
                        os_name: g.os_name(name),
                    },
                    aux: true,
                },
                Action::Send {
                    to: Target::Holder,
                    req: Request::SetJobLimits {
                        job: name.clone(),
                        limits: JobLimits {
                            limit_flags: JOB_OBJECT_LIMIT_JOB_MEMORY,
                            job_memory_limit: *memory_bytes,
                            ..JobLimits::default()
                        },
                    },
                    aux: false,
                },
            ],
        },
    })
}

/// One VirtualQuery region of an allocation, relative to its base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionShape {
    pub offset: u64,
    pub size: u64,
    pub state: u32,
    pub protect: u32,
    pub kind: u32,
}

impl std::fmt::Display for RegionShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "+{:#x} {:#x} {} {:#x} {}",
            self.offset,
            self.size,
            state_name(self.state),
            self.protect,
            kind_name(self.kind)
        )
    }
}

fn state_name(s: u32) -> &'static str {
    match s {
        0x1000 => "COMMIT",
        0x2000 => "RESERVE",
        0x10000 => "FREE",
        _ => "?",
    }
}

fn kind_name(k: u32) -> &'static str {
    match k {
        0x20000 => "PRIVATE",
        0x40000 => "MAPPED",
        0x100_0000 => "IMAGE",
        0 => "-",
        _ => "?",
    }
}

fn shapes_text(v: &[RegionShape]) -> String {
    if v.is_empty() {
        return "(none)".into();
    }
    v.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A copy view's region list as Wine 8.0 reports it: a written page keeps PAGE_WRITECOPY, so
/// the model's PAGE_READWRITE pieces of a MAPPED view read as PAGE_WRITECOPY and merge with
/// their neighbours.
pub fn as_wine_reports_copy_views(v: &[RegionShape]) -> Vec<RegionShape> {
    let mut out: Vec<RegionShape> = Vec::new();
    for r in v {
        let mut r = r.clone();
        if r.kind == vmlab_winos::protocol::MEM_MAPPED
            && r.protect == vmlab_winos::protocol::PAGE_READWRITE
        {
            r.protect = vmlab_winos::protocol::PAGE_WRITECOPY;
        }
        match out.last_mut() {
            Some(l)
                if l.state == r.state
                    && l.protect == r.protect
                    && l.kind == r.kind
                    && l.offset + l.size == r.offset =>
            {
                l.size += r.size
            }
            _ => out.push(r),
        }
    }
    out
}

/// The model's region list of the allocation at `base` (its VirtualQuery walk).
pub fn model_regions(m: &Machine, pid: u32, base: u64, size: u64) -> Vec<RegionShape> {
    let mut out = Vec::new();
    let mut a = base;
    while a < base + size {
        let f = m
            .virtual_query(pid, a)
            .expect("a running Windows process's allocation");
        let get = |k: &str| f.iter().find(|(n, _)| *n == k).map_or(0, |x| x.1);
        let rs = get("RegionSize");
        assert!(rs > 0, "VirtualQuery in an allocation returns a region");
        out.push(RegionShape {
            offset: a - base,
            size: rs,
            state: get("State") as u32,
            protect: get("Protect") as u32,
            kind: get("Type") as u32,
        });
        a += rs;
    }
    out
}

/// Wine's region list of a named allocation (`QueryAllocation`), relative to its base.
pub fn real_regions(v: &Value, name: &str) -> Result<Vec<RegionShape>, String> {
    let Value::Regions(rs) = v else {
        return Err(format!("QueryAllocation answered {v:?}"));
    };
    rs.iter()
        .map(|r| {
            if r.base_address.region != name {
                return Err(format!("region {:?} outside `{name}`", r.base_address));
            }
            Ok(RegionShape {
                offset: r.base_address.offset,
                size: r.region_size,
                state: r.state,
                protect: r.protect,
                kind: r.kind,
            })
        })
        .collect()
}

/// An outcome as both sides print it: `ok`, or the code's name and number.
pub fn outcome_text(code: Option<u32>) -> String {
    match code {
        None => "ok".into(),
        Some(c) => match Win32Error::ALL.into_iter().find(|e| e.code() == c) {
            Some(e) => format!("{} ({c})", e.name()),
            None => format!("error {c}"),
        },
    }
}

/// The model's outcome as a code (`None`: success).
pub fn model_code(o: &Outcome) -> Result<Option<u32>, String> {
    match o {
        Outcome::Ok | Outcome::Base(_) => Ok(None),
        Outcome::Win32(e) => Ok(Some(e.code())),
        other => Err(format!("not a Windows outcome: {other:?}")),
    }
}

/// One difference, or one known difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub step: u32,
    pub line: u32,
    pub text: String,
    pub field: String,
    pub model: String,
    pub wine: String,
}

/// Each step on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepResult {
    pub step: u32,
    pub line: u32,
    pub text: String,
    pub model: String,
    pub wine: String,
    /// The step process's WorkingSetSize change in pages, when both sides have it.
    pub model_ws_delta: Option<i64>,
    pub wine_ws_delta: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub steps: Vec<StepResult>,
    pub mismatches: Vec<Mismatch>,
    pub known: Vec<Mismatch>,
    /// Why the comparison stopped before the end (an [`Unsupported`] op, the touch budget).
    pub stopped: Option<String>,
    /// Wine's version.
    pub wine_version: Option<String>,
}

impl Report {
    pub fn agrees(&self) -> bool {
        self.mismatches.is_empty() && self.stopped.is_none()
    }

    /// The side-by-side table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "model vs Windows API under Wine {}",
            self.wine_version.as_deref().unwrap_or("?")
        );
        let _ = writeln!(
            out,
            "{:>4} {:>5}  {:<40} {:<30} {:<30} {:>9} {:>9}",
            "step", "line", "statement", "model", "wine", "model ΔWS", "wine ΔWS"
        );
        let ws = |d: Option<i64>| d.map_or("-".to_string(), |d| format!("{d} p"));
        for s in &self.steps {
            let _ = writeln!(
                out,
                "{:>4} {:>5}  {:<40} {:<30} {:<30} {:>9} {:>9}",
                s.step,
                s.line,
                clip(&s.text, 40),
                s.model,
                s.wine,
                ws(s.model_ws_delta),
                ws(s.wine_ws_delta)
            );
        }
        let rows = |out: &mut String, v: &[Mismatch]| {
            for m in v {
                let _ = writeln!(
                    out,
                    "{:>4} {:>5}  {:<34} model: {}\n{:>47} wine:  {}   # {}",
                    m.step, m.line, m.field, m.model, "", m.wine, m.text
                );
            }
        };
        if self.mismatches.is_empty() {
            let _ = writeln!(out, "no mismatches");
        } else {
            let _ = writeln!(out, "{} mismatch(es):", self.mismatches.len());
            rows(&mut out, &self.mismatches);
        }
        if !self.known.is_empty() {
            let _ = writeln!(
                out,
                "{} known difference(s) (docs/known-differences.md), not counted:",
                self.known.len()
            );
            rows(&mut out, &self.known);
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

/// The real side: a way to start a helper, and the helpers. A trait so that the check is driven
/// by `WineHelper`s here and could be driven by anything that answers [`Request`]s.
pub trait Helpers {
    type H;
    fn start(&mut self) -> Result<Self::H, String>;
    fn call(h: &mut Self::H, req: &Request) -> Result<Response, String>;
    /// Send `Exit` and wait; or, after an access violation, wait.
    fn finish(h: Self::H, exited_by_itself: bool) -> Result<(), String>;
}

/// Bytes the real side may touch in one check (the house rule: < 2 GiB of real memory).
pub const TOUCH_BUDGET_BYTES: u64 = crate::DEFAULT_TOUCH_LIMIT_BYTES;

fn ws_pages(v: &Value) -> Result<u64, String> {
    match v {
        Value::Counters(c) => Ok(c.working_set_size / PAGE),
        other => Err(format!("ProcessMemoryInfo answered {other:?}")),
    }
}

struct Run<'a, S: Helpers> {
    side: &'a mut S,
    helpers: BTreeMap<String, S::H>,
    holder: Option<S::H>,
    report: Report,
    /// (process, allocation name) pairs whose regions diverged at a known difference.
    diverged: BTreeSet<(String, String)>,
    /// The model has trimmed a working set: working-set growth is no longer comparable.
    trimmed: bool,
    /// (process, view name) of every FILE_MAP_COPY view, and of every view of a SEC_RESERVE
    /// section.
    copy_views: BTreeSet<(String, String)>,
    reserve_views: BTreeSet<(String, String)>,
}

impl<S: Helpers> Run<'_, S> {
    fn helper(&mut self, to: &Target) -> Result<&mut S::H, String> {
        match to {
            Target::Proc(p) => self
                .helpers
                .get_mut(p)
                .ok_or_else(|| format!("no helper runs process `{p}`")),
            Target::Holder => {
                if self.holder.is_none() {
                    self.holder = Some(self.side.start()?);
                }
                Ok(self.holder.as_mut().expect("just started"))
            }
        }
    }

    fn call(&mut self, to: &Target, req: &Request) -> Result<Response, String> {
        let h = self.helper(to)?;
        S::call(h, req)
    }

    fn ws(&mut self, proc: &str) -> Result<Option<u64>, String> {
        let Some(h) = self.helpers.get_mut(proc) else {
            return Ok(None);
        };
        let r = S::call(h, &Request::ProcessMemoryInfo)?;
        Ok(Some(ws_pages(&r.value)?))
    }

    /// Compare one named allocation's region list.
    fn compare_regions(
        &mut self,
        w: &Machine,
        proc: &str,
        name: &str,
        row: &Mismatch,
    ) -> Result<(), String> {
        let copy_view = self
            .copy_views
            .contains(&(proc.to_string(), name.to_string()));
        let Some((base, size)) = w.mapping(proc, name) else {
            return Ok(());
        };
        let Some(pid) = w.pid_of(proc) else {
            return Ok(());
        };
        let model = model_regions(w, pid, base, size);
        let Some(h) = self.helpers.get_mut(proc) else {
            return Ok(());
        };
        let r = S::call(
            h,
            &Request::QueryAllocation {
                region: name.to_string(),
            },
        )?;
        let wine = real_regions(&r.value, name)?;
        if model != wine {
            let m = Mismatch {
                field: format!("{proc}: {name} regions"),
                model: shapes_text(&model),
                wine: shapes_text(&wine),
                ..row.clone()
            };
            if self
                .diverged
                .contains(&(proc.to_string(), name.to_string()))
            {
                self.report.known.push(Mismatch {
                    field: format!("{} ({name})", KNOWN[3].0),
                    ..m
                });
            } else if copy_view && as_wine_reports_copy_views(&model) == wine {
                self.report.known.push(Mismatch {
                    field: format!("{proc}: {} ({name})", KNOWN[4].0),
                    ..m
                });
            } else {
                self.report.mismatches.push(m);
            }
        }
        Ok(())
    }

    fn compare_all(&mut self, w: &Machine, row: &Mismatch) -> Result<(), String> {
        let procs: Vec<String> = self.helpers.keys().cloned().collect();
        for p in procs {
            for (name, _, _) in w.mappings(&p) {
                self.compare_regions(w, &p, &name, row)?;
            }
        }
        Ok(())
    }
}

/// The names an op addresses or makes.
fn op_regions(op: &WinOp) -> Vec<String> {
    let mut v = Vec::new();
    let mut add = |a: &WinAddr| {
        if let WinAddr::In { region, .. } = a {
            v.push(region.clone());
        }
    };
    match op {
        WinOp::VirtualAlloc { address, .. }
        | WinOp::VirtualFree { address, .. }
        | WinOp::Touch { address, .. }
        | WinOp::UnmapViewOfFile { address, .. } => add(address),
        _ => {}
    }
    match op {
        WinOp::VirtualAlloc { name: Some(n), .. } | WinOp::MapViewOfFile { name: n, .. } => {
            v.push(n.clone())
        }
        _ => {}
    }
    v.sort();
    v.dedup();
    v
}

/// Run a Windows scenario on the model and on `side`, step by step.
pub fn check_with<S: Helpers>(scenario: &Scenario, side: &mut S) -> Result<Report, String> {
    let MachineConfig::Windows(cfg) = &scenario.machine else {
        return Err("`check --wine` runs Windows scenarios (`machine windows …`)".into());
    };
    let bits32 = cfg.bits == 32;
    let mut glue = Glue::new(&format!("vmlab-{}", std::process::id()));
    let mut run = Run {
        side,
        helpers: BTreeMap::new(),
        holder: None,
        report: Report::default(),
        diverged: BTreeSet::new(),
        trimmed: false,
        copy_views: BTreeSet::new(),
        reserve_views: BTreeSet::new(),
    };
    let mut reserve_sections: BTreeSet<String> = BTreeSet::new();
    let mut runner = Runner::new(scenario, None);
    let mut touched: u64 = 0;
    let mut model_ws: BTreeMap<String, u64> = BTreeMap::new();
    let mut wine_ws: BTreeMap<String, u64> = BTreeMap::new();
    let result = (|| -> Result<(), String> {
        while let Some(item) = runner.next_item() {
            let RunItem::Step(rec) = item else { continue };
            let Op::Win(op) = &rec.op else {
                return Err(format!("step {}: not a Windows op", rec.step));
            };
            let row = Mismatch {
                step: rec.step,
                line: rec.pos.line,
                text: rec.text.clone(),
                field: String::new(),
                model: String::new(),
                wine: String::new(),
            };
            match op {
                WinOp::CreateFileMapping {
                    section,
                    attributes,
                    ..
                } if *attributes == SEC_RESERVE => {
                    reserve_sections.insert(section.clone());
                }
                WinOp::MapViewOfFile {
                    proc,
                    name,
                    section,
                    desired_access,
                    ..
                } => {
                    if *desired_access == vmlab_core::windows::op::FILE_MAP_COPY {
                        run.copy_views.insert((proc.clone(), name.clone()));
                    }
                    if reserve_sections.contains(section) {
                        run.reserve_views.insert((proc.clone(), name.clone()));
                    }
                }
                _ => {}
            }
            let actions = match translate(op, &mut glue) {
                Ok(a) => a,
                Err(Unsupported(why)) => {
                    run.report.stopped = Some(format!(
                        "step {} (line {}): unsupported: {why}",
                        rec.step, rec.pos.line
                    ));
                    return Ok(());
                }
            };
            if let WinOp::Touch { size, .. } = op {
                touched += size;
                if touched > TOUCH_BUDGET_BYTES {
                    run.report.stopped = Some(format!(
                        "step {} (line {}): the real side would touch {} MiB in all, past the \
                         budget of {} MiB",
                        rec.step,
                        rec.pos.line,
                        touched >> 20,
                        TOUCH_BUDGET_BYTES >> 20
                    ));
                    return Ok(());
                }
            }
            // The real side.
            let mut wine_code: Option<u32> = None;
            let mut real_killed = false;
            for a in actions {
                match a {
                    Action::Start(p) => {
                        let h = run.side.start()?;
                        run.helpers.insert(p.clone(), h);
                        wine_ws.remove(&p);
                    }
                    Action::Exit(p) => {
                        let h = run
                            .helpers
                            .remove(&p)
                            .ok_or_else(|| format!("no helper runs process `{p}`"))?;
                        S::finish(h, false)?;
                    }
                    Action::Send { to, req, aux } => {
                        let r = run.call(&to, &req)?;
                        if aux {
                            if !r.ok && r.error != Some(vmlab_winos::protocol::ERROR_ALREADY_EXISTS)
                            {
                                return Err(format!(
                                    "step {}: {req:?} failed with {:?}",
                                    rec.step, r.error
                                ));
                            }
                            continue;
                        }
                        wine_code = if r.ok { None } else { r.error };
                        if r.error == Some(vmlab_winos::protocol::STATUS_ACCESS_VIOLATION) {
                            real_killed = true;
                        }
                    }
                }
            }
            let proc = op.proc().map(str::to_string);
            if real_killed {
                if let Some(p) = &proc {
                    if let Some(h) = run.helpers.remove(p) {
                        S::finish(h, true)?;
                    }
                }
            }
            let model = model_code(&rec.outcome)?;
            run.report.steps.push(StepResult {
                step: rec.step,
                line: rec.pos.line,
                text: rec.text.clone(),
                model: outcome_text(model),
                wine: outcome_text(wine_code),
                model_ws_delta: None,
                wine_ws_delta: None,
            });
            if rec
                .events
                .iter()
                .any(|e| matches!(e.kind, EventKind::Win(WinEvent::Trimmed { .. })))
            {
                run.trimmed = true;
            }
            if model != wine_code {
                let commit = model == Some(Win32Error::CommitmentLimit.code());
                let space = bits32 && model == Some(Win32Error::NotEnoughMemory.code());
                let host = model.is_none() && matches!(wine_code, Some(8) | Some(1455));
                let reserve_read = model == Some(Win32Error::AccessViolation.code())
                    && wine_code.is_none()
                    && matches!(op, WinOp::Touch { proc, address: WinAddr::In { region, .. }, write: false, .. }
                        if run.reserve_views.contains(&(proc.clone(), region.clone())));
                let known = if reserve_read {
                    Some(KNOWN[5].0)
                } else if commit {
                    Some(KNOWN[0].0)
                } else if space {
                    Some(KNOWN[1].0)
                } else if host {
                    Some(KNOWN[2].0)
                } else {
                    None
                };
                let m = Mismatch {
                    field: "outcome".into(),
                    model: outcome_text(model),
                    wine: outcome_text(wine_code),
                    ..row.clone()
                };
                match known {
                    Some(k) => {
                        run.report.known.push(Mismatch {
                            field: k.into(),
                            ..m
                        });
                        // Keep the sides in step: the process the model killed ends on the real
                        // side too; a fresh named allocation Wine made and the model refused is
                        // released; any other allocation is marked diverged.
                        if reserve_read {
                            if let Some(h) = proc.as_ref().and_then(|p| run.helpers.remove(p)) {
                                S::finish(h, false)?;
                            }
                        } else if let (
                            WinOp::VirtualAlloc {
                                proc,
                                name: Some(n),
                                address: WinAddr::Null,
                                ..
                            },
                            None,
                        ) = (op, wine_code)
                        {
                            let r = run.call(
                                &Target::Proc(proc.clone()),
                                &Request::VirtualFree {
                                    addr: At::new(n, 0),
                                    size: 0,
                                    kind: FreeType::Release,
                                },
                            )?;
                            if !r.ok {
                                return Err(format!("releasing `{n}` again failed: {:?}", r.error));
                            }
                        } else if let Some(p) = &proc {
                            for n in op_regions(op) {
                                run.diverged.insert((p.clone(), n));
                            }
                        }
                    }
                    None => run.report.mismatches.push(m),
                }
            }
            let w = runner.machine();
            // The step process's regions and working-set growth.
            if let Some(p) = &proc {
                for n in op_regions(op) {
                    run.compare_regions(w, p, &n, &row)?;
                }
                // WorkingSetSize in pages (Machine::resident_kb is it, in kB).
                let model_now = w
                    .pid_of(p)
                    .filter(|_| w.proc_state(p) == Some(ProcState::Running))
                    .and_then(|pid| w.resident_kb(pid))
                    .map(|kb| kb * 1024 / PAGE);
                let wine_now = run.ws(p)?;
                if let (Some(m), Some(r)) = (model_now, wine_now) {
                    let md = m as i64 - model_ws.get(p).copied().unwrap_or(0) as i64;
                    let rd = r as i64 - wine_ws.get(p).copied().unwrap_or(r) as i64;
                    model_ws.insert(p.clone(), m);
                    wine_ws.insert(p.clone(), r);
                    let s = run.report.steps.last_mut().expect("pushed");
                    s.model_ws_delta = Some(md);
                    s.wine_ws_delta = Some(rd);
                    let compared = matches!(
                        op,
                        WinOp::Touch { .. }
                            | WinOp::VirtualFree { .. }
                            | WinOp::UnmapViewOfFile { .. }
                    );
                    if compared && md != rd {
                        let mm = Mismatch {
                            field: format!("{p}: WorkingSetSize Δ pages"),
                            model: md.to_string(),
                            wine: rd.to_string(),
                            ..row.clone()
                        };
                        let read = matches!(op, WinOp::Touch { write: false, .. }) && rd == 0;
                        if read {
                            run.report.known.push(Mismatch {
                                field: format!("{p}: {}", KNOWN[6].0),
                                ..mm
                            });
                        } else if run.trimmed {
                            run.report.known.push(Mismatch {
                                field: format!("{p}: {}", KNOWN[7].0),
                                ..mm
                            });
                        } else {
                            run.report.mismatches.push(mm);
                        }
                    }
                }
            }
        }
        Ok(())
    })();
    // The end: every named allocation of every live process.
    if result.is_ok() && run.report.stopped.is_none() {
        let w = runner.machine().clone();
        let row = Mismatch {
            step: runner.steps(),
            line: 0,
            text: "(end of scenario)".into(),
            field: String::new(),
            model: String::new(),
            wine: String::new(),
        };
        run.compare_all(&w, &row)?;
    }
    if let Some(e) = runner.error() {
        run.report.stopped = Some(format!("the scenario: {}", e.message));
    }
    for (_, h) in std::mem::take(&mut run.helpers) {
        S::finish(h, false)?;
    }
    if let Some(h) = run.holder.take() {
        S::finish(h, false)?;
    }
    result?;
    Ok(run.report)
}

/// The real side under Wine: one `vmlab-win-helper.exe` per helper, all under vmlab-os's
/// real-case lock (a Wine commit is accountable on Linux, so it must not meet a real-kernel
/// case that set vm.overcommit_memory=2).
#[cfg(target_os = "linux")]
pub struct Wine {
    pub setup: vmlab_winos::wine::WineSetup,
    pub version: Option<String>,
    _lock: crate::RealLock,
}

#[cfg(target_os = "linux")]
impl Wine {
    /// From the environment `cargo xtask test` sets (`WineSetup::from_env`).
    pub fn from_env() -> Result<Wine, String> {
        let setup = vmlab_winos::wine::WineSetup::from_env()?;
        let lock = crate::RealLock::acquire().map_err(|e| e.to_string())?;
        Ok(Wine {
            setup,
            version: None,
            _lock: lock,
        })
    }
}

#[cfg(target_os = "linux")]
impl Helpers for Wine {
    type H = vmlab_winos::wine::WineHelper;
    fn start(&mut self) -> Result<Self::H, String> {
        let mut h = vmlab_winos::wine::WineHelper::start(&self.setup)?;
        if self.version.is_none() {
            if let Value::Text(v) = h.call(&Request::WineVersion)?.value {
                self.version = v;
            }
        }
        Ok(h)
    }
    fn call(h: &mut Self::H, req: &Request) -> Result<Response, String> {
        h.call(req)
    }
    fn finish(h: Self::H, exited_by_itself: bool) -> Result<(), String> {
        let status = if exited_by_itself {
            h.wait()?
        } else {
            h.finish()?
        };
        let _ = status;
        Ok(())
    }
}

/// Run `scenario` on the model and under Wine.
#[cfg(target_os = "linux")]
pub fn check_wine(scenario: &Scenario) -> Result<Report, String> {
    let mut wine = Wine::from_env()?;
    let mut r = check_with(scenario, &mut wine)?;
    r.wine_version = wine.version.clone();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmlab_core::windows::op::{FILE_MAP_COPY, MEM_COMMIT, MEM_RESERVE, PAGE_READWRITE};

    #[test]
    fn every_known_field_is_documented() {
        let doc = include_str!("../../../docs/known-differences.md");
        for (field, _) in KNOWN {
            assert!(
                doc.contains(&format!("`{field}`")),
                "docs/known-differences.md does not list `{field}`"
            );
        }
    }

    #[test]
    fn alloc_passes_its_flags_and_name() {
        let mut g = Glue::new("t");
        let a = translate(
            &WinOp::VirtualAlloc {
                proc: "p".into(),
                name: Some("r".into()),
                address: WinAddr::In {
                    region: "q".into(),
                    offset: 0x10000,
                },
                size: 4096,
                allocation_type: MEM_RESERVE | MEM_COMMIT,
                protect: PAGE_READWRITE,
            },
            &mut g,
        )
        .unwrap();
        assert_eq!(
            a,
            vec![Action::Send {
                to: Target::Proc("p".into()),
                req: Request::VirtualAlloc {
                    name: Some("r".into()),
                    addr: Some(At::new("q", 0x10000)),
                    size: 4096,
                    kind: AllocType::ReserveCommit,
                    protect: PAGE_READWRITE,
                },
                aux: false,
            }]
        );
    }

    #[test]
    fn a_second_process_opens_the_section_before_mapping() {
        let mut g = Glue::new("t");
        translate(
            &WinOp::CreateFileMapping {
                proc: "a".into(),
                section: "s".into(),
                size: 1 << 20,
                protect: PAGE_READWRITE,
                attributes: SEC_RESERVE,
            },
            &mut g,
        )
        .unwrap();
        let map = |p: &str| WinOp::MapViewOfFile {
            proc: p.into(),
            name: "v".into(),
            section: "s".into(),
            desired_access: FILE_MAP_COPY,
            offset: 0,
            size: 0,
        };
        assert_eq!(translate(&map("a"), &mut g).unwrap().len(), 1);
        let b = translate(&map("b"), &mut g).unwrap();
        assert_eq!(b.len(), 2);
        assert!(matches!(
            &b[0],
            Action::Send { req: Request::CreateSection { os_name: Some(n), kind: SectionKind::Reserve, .. }, aux: true, .. } if n == "t-s"
        ));
        // Once opened, b maps without opening again.
        assert_eq!(translate(&map("b"), &mut g).unwrap().len(), 1);
    }

    #[test]
    fn hyperv_and_unknown_flags_are_unsupported() {
        let mut g = Glue::new("t");
        let hv = WinOp::CreateContainer {
            name: "c".into(),
            isolation: Isolation::HyperV,
            memory_bytes: 1 << 30,
            base_bytes: 0,
            pagefile_bytes: 0,
        };
        assert!(translate(&hv, &mut g).is_err());
        let m = WinOp::MapViewOfFile {
            proc: "a".into(),
            name: "v".into(),
            section: "s".into(),
            desired_access: 0xF001F,
            offset: 0,
            size: 0,
        };
        assert!(translate(&m, &mut g).is_err());
        let pc = WinOp::CreateContainer {
            name: "c".into(),
            isolation: Isolation::Process,
            memory_bytes: 1 << 30,
            base_bytes: 0,
            pagefile_bytes: 0,
        };
        let a = translate(&pc, &mut g).unwrap();
        assert!(matches!(
            &a[1],
            Action::Send { to: Target::Holder, req: Request::SetJobLimits { limits, .. }, .. }
                if limits.job_memory_limit == 1 << 30 && limits.limit_flags == JOB_OBJECT_LIMIT_JOB_MEMORY
        ));
    }

    /// A real side that answers every call with success and an allocation with no regions.
    struct Liar(u32);
    impl Helpers for Liar {
        type H = ();
        fn start(&mut self) -> Result<(), String> {
            self.0 += 1;
            Ok(())
        }
        fn call(_: &mut (), req: &Request) -> Result<Response, String> {
            Ok(Response::ok(match req {
                Request::QueryAllocation { .. } => Value::Regions(Vec::new()),
                Request::ProcessMemoryInfo => {
                    Value::Counters(vmlab_winos::protocol::ProcessMemoryCounters {
                        page_fault_count: 0,
                        peak_working_set_size: 0,
                        working_set_size: 0,
                        quota_peak_paged_pool_usage: 0,
                        quota_paged_pool_usage: 0,
                        quota_peak_non_paged_pool_usage: 0,
                        quota_non_paged_pool_usage: 0,
                        pagefile_usage: 0,
                        peak_pagefile_usage: 0,
                        private_usage: 0,
                    })
                }
                _ => Value::None,
            }))
        }
        fn finish(_: (), _: bool) -> Result<(), String> {
            Ok(())
        }
    }

    fn scenario(text: &str) -> Scenario {
        vmlab_core::scenario::parse(text).unwrap()
    }

    #[test]
    fn a_side_that_differs_is_reported_field_by_field() {
        let s = scenario(
            "machine windows ram=4GiB pagefile=none\nspawn a\na reserve r 1MiB\n\
             a alloc big 8GiB\na write r[0..4KiB]\n",
        );
        let r = check_with(&s, &mut Liar(0)).unwrap();
        assert_eq!(r.steps.len(), 4);
        let fields: Vec<&str> = r.mismatches.iter().map(|m| m.field.as_str()).collect();
        // The reservation has no regions on the liar's side; the write of reserved memory is an
        // access violation in the model and a success there.
        assert!(fields.contains(&"a: r regions"), "{}", r.render());
        assert!(fields.contains(&"outcome"), "{}", r.render());
        // 8 GiB on a 4 GiB machine with no page file: the model's 1455 is a known difference.
        assert_eq!(r.known.len(), 1, "{}", r.render());
        assert_eq!(r.known[0].field, KNOWN[0].0);
        assert!(!r.agrees());
    }

    #[test]
    fn hyperv_stops_the_check_with_the_reason() {
        let s = scenario(
            "machine windows ram=4GiB pagefile=none\n\
             container vm isolation=hyperv memory=2GiB base=512MiB\nspawn a in vm\n",
        );
        let r = check_with(&s, &mut Liar(0)).unwrap();
        assert!(r.stopped.as_deref().unwrap().contains("Hyper-V"), "{r:?}");
        assert!(r.steps.is_empty());
    }

    #[test]
    fn outcomes_print_with_their_names() {
        assert_eq!(outcome_text(None), "ok");
        assert_eq!(outcome_text(Some(487)), "ERROR_INVALID_ADDRESS (487)");
        assert_eq!(outcome_text(Some(1)), "error 1");
    }
}
