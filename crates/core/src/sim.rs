//! Running a scenario: replay its operations on a booted machine, record every step's outcome
//! and events, and check its expectations. Everything else (time travel, sharing, golden traces)
//! is "replay to step N".

use crate::config::OsKind;
use crate::event::Event;
use crate::machine::{Machine, OpError, ProcState};
use crate::op::{Op, Outcome, Placement};
use crate::query::Value;
use crate::scenario::{
    Cmp, Diagnostic, Expect, ExpectValue, OutcomeSpec, PieceCheck, Pos, Scenario, StateSpec,
    StmtKind,
};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

/// The kernel log lines `expect kernel.log` searches: the newest this many, as the kernel's own
/// log is a ring buffer (kernel/printk: log_buf, 128 KiB by default) that drops the oldest
/// lines. It also keeps a run's memory bounded by the machine, not by the number of steps.
pub const KERNEL_LOG_LINES: usize = 4096;

/// The kernel log lines of a run so far, the newest [`KERNEL_LOG_LINES`] of them, each with its
/// runs of whitespace as one space.
#[derive(Clone, Debug, Default)]
struct KernelLog(VecDeque<String>);

impl KernelLog {
    fn record(&mut self, events: &[Event]) {
        for e in events {
            for line in e.log_lines() {
                if self.0.len() == KERNEL_LOG_LINES {
                    self.0.pop_front();
                }
                self.0
                    .push_back(line.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }

    fn find(&self, text: &str) -> Option<&str> {
        self.0.iter().find(|l| l.contains(text)).map(String::as_str)
    }
}

/// One applied operation.
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    /// 1-based step number (step 0 is the booted machine).
    pub step: u32,
    pub pos: Pos,
    pub text: String,
    pub op: Op,
    pub proc: Option<String>,
    pub pid: Option<u32>,
    pub outcome: Outcome,
    pub events: Vec<Event>,
    /// The commit charge and its limit after the step, kB ([`crate::machine::CommitSummary`];
    /// on Linux `Committed_AS` and `CommitLimit`, whose names these fields and the JSON keep).
    pub committed_as_kb: u64,
    pub commit_limit_kb: u64,
    pub mem_free_kb: u64,
}

/// One checked expectation.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub pos: Pos,
    pub text: String,
    /// The step it was checked after.
    pub after_step: u32,
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

/// A whole run, every step kept (the web app steps back and forth through them).
#[derive(Clone, Debug)]
pub struct Run {
    pub steps: Vec<StepRecord>,
    pub checks: Vec<CheckResult>,
    /// A scenario error met while running (an operation on a process that does not exist, …).
    pub error: Option<Diagnostic>,
    pub machine: Machine,
}

impl Run {
    pub fn all_passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.passed)
    }
}

/// A run whose steps were handed out one by one and not kept: what is left at the end.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// How many steps ran.
    pub steps: u32,
    /// Every checked expectation, in order (one per `expect` line, so bounded by the scenario).
    pub checks: Vec<CheckResult>,
    pub error: Option<Diagnostic>,
    pub machine: Machine,
}

impl RunSummary {
    pub fn all_passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.passed)
    }
}

/// What a [`Runner`] hands out next.
// One item is moved out per statement and never stored in bulk, so the size difference costs
// nothing that boxing every step would not cost more.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum RunItem {
    Step(StepRecord),
    Check(CheckResult),
}

/// The last step that an `expect [PROC [VERB]] OUTCOME` line could mean, without the step itself.
#[derive(Clone, Copy, Debug)]
struct LastStep {
    step: u32,
    /// Index of its statement in `Scenario::stmts` (for its text).
    stmt: usize,
    outcome: Outcome,
}

/// The newest step for "any verb" and for each verb.
#[derive(Clone, Debug, Default)]
struct ByVerb {
    any: Option<LastStep>,
    verb: BTreeMap<&'static str, LastStep>,
}

impl ByVerb {
    fn record(&mut self, verb: &'static str, last: LastStep) {
        self.any = Some(last);
        self.verb.insert(verb, last);
        // `expect P tmpfs OUTCOME` matches both tmpfs verbs (see `verb_matches`).
        if verb.starts_with("tmpfs") {
            self.verb.insert("tmpfs", last);
        }
    }

    fn get(&self, verb: Option<&str>) -> Option<LastStep> {
        match verb {
            None => self.any,
            Some(v) => self.verb.get(v).copied(),
        }
    }
}

/// The index `Expect::Outcome` reads: O(log n) per check, and no step needs to be kept.
/// Its size grows with the number of distinct process names, not with the number of steps.
#[derive(Clone, Debug, Default)]
struct OutcomeIndex {
    any_proc: ByVerb,
    by_proc: BTreeMap<String, ByVerb>,
}

impl OutcomeIndex {
    fn record(&mut self, proc: Option<&str>, verb: &'static str, last: LastStep) {
        self.any_proc.record(verb, last);
        if let Some(p) = proc {
            match self.by_proc.get_mut(p) {
                Some(b) => b.record(verb, last),
                None => {
                    let mut b = ByVerb::default();
                    b.record(verb, last);
                    self.by_proc.insert(p.to_string(), b);
                }
            }
        }
    }

    fn last(&self, proc: Option<&str>, verb: Option<&str>) -> Option<LastStep> {
        match proc {
            None => self.any_proc.get(verb),
            Some(p) => self.by_proc.get(p)?.get(verb),
        }
    }
}

/// An `mmap` (or an `mremap … as=NAME`) that returned an errno, so its name never came to
/// exist.
#[derive(Clone, Debug)]
struct FailedMmap {
    line: u32,
    /// `mmap` or `mremap`.
    verb: &'static str,
    errno: &'static str,
    /// The process that issued it (a child inherits its parent's failures at fork).
    by: String,
}

/// `(process, mapping name)` → the newest failed mmap of that name not since mmapped again.
/// Only failures are kept, so it stays as small as the scenario's failed mmaps.
#[derive(Clone, Debug, Default)]
struct FailedMmaps(BTreeMap<(String, String), FailedMmap>);

impl FailedMmaps {
    fn after_step(&mut self, op: &Op, outcome: Outcome, line: u32) {
        match (op, outcome) {
            (
                Op::Mmap { proc, name, .. }
                | Op::Mremap {
                    proc,
                    rename: Some(name),
                    ..
                },
                Outcome::Err(e),
            ) => {
                let failed = FailedMmap {
                    line,
                    verb: op.verb(),
                    errno: e.name(),
                    by: proc.clone(),
                };
                self.0.insert((proc.clone(), name.clone()), failed);
            }
            (
                Op::Mmap { proc, name, .. }
                | Op::Mremap {
                    proc,
                    rename: Some(name),
                    ..
                },
                _,
            ) => {
                self.0.remove(&(proc.clone(), name.clone()));
            }
            // A new process of an old name, or a fresh address space: old names are gone.
            (Op::Spawn { name: proc, .. } | Op::Exec { proc }, Outcome::Ok) => self.forget(proc),
            (Op::Fork { parent, child, .. }, Outcome::Ok) => {
                self.forget(child);
                let inherited: Vec<(String, FailedMmap)> = self
                    .of(parent)
                    .map(|((_, n), f)| (n.clone(), f.clone()))
                    .collect();
                for (n, f) in inherited {
                    self.0.insert((child.clone(), n), f);
                }
            }
            _ => {}
        }
    }

    fn of<'a>(
        &'a self,
        proc: &str,
    ) -> impl Iterator<Item = (&'a (String, String), &'a FailedMmap)> + 'a {
        let proc = proc.to_string();
        self.0
            .range((proc.clone(), String::new())..)
            .take_while(move |((p, _), _)| *p == proc)
    }

    fn forget(&mut self, proc: &str) {
        let names: Vec<(String, String)> = self.of(proc).map(|(k, _)| k.clone()).collect();
        for k in names {
            self.0.remove(&k);
        }
    }

    /// The scenario error of an operation, with the failed mmap behind it when there is one:
    /// "process `p` has no mapping named `b`" says what, the failed mmap says why.
    fn explain(&self, op: &Op, e: &OpError) -> String {
        let message = e.to_string();
        let Some(proc) = op.proc() else {
            return message;
        };
        for name in mapping_refs(op) {
            if !matches!(e, OpError::NoSuchMapping { mapping, .. } if mapping == name) {
                continue;
            }
            if let Some(f) = self.0.get(&(proc.to_string(), name.to_string())) {
                let by = if f.by == proc {
                    String::new()
                } else {
                    format!(" (by `{}`, before it forked)", f.by)
                };
                return format!(
                    "{message}: its {} at line {}{by} failed with {}",
                    f.verb, f.line, f.errno
                );
            }
        }
        message
    }
}

/// The mapping names an operation refers to (and needs to exist).
fn mapping_refs(op: &Op) -> Vec<&str> {
    match op {
        Op::Munmap { target, .. }
        | Op::Mprotect { target, .. }
        | Op::Madvise { target, .. }
        | Op::Access { target, .. } => vec![target.mapping.as_str()],
        Op::Mremap { mapping, to, .. } => match to {
            Placement::Below { of, .. } | Placement::Above { of, .. } => {
                vec![mapping.as_str(), of.as_str()]
            }
            _ => vec![mapping.as_str()],
        },
        Op::Mmap {
            placement: Placement::Below { of, .. } | Placement::Above { of, .. },
            ..
        } => vec![of.as_str()],
        _ => Vec::new(),
    }
}

/// A scenario run one statement at a time: each step and each checked expectation is handed out
/// as it happens and then forgotten, so memory is bounded by the machine's state, not by the
/// length of the run. [`run`] and [`run_until`] collect the same items.
#[derive(Clone, Debug)]
pub struct Runner<'s> {
    scenario: &'s Scenario,
    stop_after: Option<u32>,
    next_stmt: usize,
    machine: Machine,
    steps: u32,
    checks: Vec<CheckResult>,
    outcomes: OutcomeIndex,
    failed_mmaps: FailedMmaps,
    kernel_log: KernelLog,
    error: Option<Diagnostic>,
    done: bool,
}

impl<'s> Runner<'s> {
    /// Boot the scenario's machine; nothing has run yet. `stop_after` stops after that many steps
    /// (the expectations right after the last step are still checked).
    pub fn new(scenario: &'s Scenario, stop_after: Option<u32>) -> Self {
        Runner {
            scenario,
            stop_after,
            next_stmt: 0,
            machine: Machine::boot(&scenario.machine),
            steps: 0,
            checks: Vec::new(),
            outcomes: OutcomeIndex::default(),
            failed_mmaps: FailedMmaps::default(),
            kernel_log: KernelLog::default(),
            error: None,
            done: false,
        }
    }

    /// The machine after the steps run so far.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// How many steps have run.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The next step or checked expectation; `None` at the end, at `stop_after`, or at a
    /// scenario error (then in [`Runner::error`]).
    pub fn next_item(&mut self) -> Option<RunItem> {
        if self.done {
            return None;
        }
        let scenario = self.scenario;
        let Some(stmt) = scenario.stmts.get(self.next_stmt) else {
            self.done = true;
            return None;
        };
        let index = self.next_stmt;
        match &stmt.kind {
            StmtKind::Op(op) => {
                if self.stop_after.is_some_and(|n| self.steps >= n) {
                    self.done = true;
                    return None;
                }
                if self.machine.panicked() {
                    // A panicked kernel runs nothing more; later `expect` lines still check
                    // the state it stopped in.
                    self.next_stmt += 1;
                    return self.next_item();
                }
                let pid_before = op.proc().and_then(|p| self.machine.pid_of(p));
                match self.machine.apply(op) {
                    Ok((outcome, events)) => {
                        self.next_stmt += 1;
                        self.steps += 1;
                        let pid = op
                            .proc()
                            .and_then(|p| self.machine.pid_of(p))
                            .or(pid_before);
                        let last = LastStep {
                            step: self.steps,
                            stmt: index,
                            outcome,
                        };
                        self.outcomes.record(op.proc(), op.verb(), last);
                        self.failed_mmaps.after_step(op, outcome, stmt.pos.line);
                        self.kernel_log.record(&events);
                        let c = self.machine.commit_summary();
                        Some(RunItem::Step(StepRecord {
                            step: self.steps,
                            pos: stmt.pos,
                            text: stmt.text.clone(),
                            op: op.clone(),
                            proc: op.proc().map(str::to_string),
                            pid,
                            outcome,
                            events,
                            committed_as_kb: c.charge_kb,
                            commit_limit_kb: c.limit_kb,
                            mem_free_kb: c.mem_free_kb,
                        }))
                    }
                    Err(e) => {
                        self.error = Some(Diagnostic {
                            pos: stmt.pos,
                            message: self.failed_mmaps.explain(op, &e),
                        });
                        self.done = true;
                        None
                    }
                }
            }
            StmtKind::Expect(ex) => {
                self.next_stmt += 1;
                let (passed, detail) = check(
                    &self.machine,
                    &self.outcomes,
                    &self.kernel_log,
                    scenario,
                    ex,
                );
                let result = CheckResult {
                    pos: stmt.pos,
                    text: stmt.text.clone(),
                    after_step: self.steps,
                    passed,
                    detail,
                };
                self.checks.push(result.clone());
                Some(RunItem::Check(result))
            }
        }
    }

    /// The scenario error that stopped the run, if one did.
    pub fn error(&self) -> Option<&Diagnostic> {
        self.error.as_ref()
    }

    /// Run what is left without handing it out, and return the summary.
    pub fn finish(mut self) -> RunSummary {
        while self.next_item().is_some() {}
        RunSummary {
            steps: self.steps,
            checks: self.checks,
            error: self.error,
            machine: self.machine,
        }
    }
}

/// Run a scenario (to its end, or to `stop_after` steps), handing each step to `on_step` and
/// keeping none; `on_step` returns false to stop early (e.g. when stdout is a closed pipe).
pub fn run_streaming(
    s: &Scenario,
    stop_after: Option<u32>,
    mut on_step: impl FnMut(&StepRecord) -> bool,
) -> RunSummary {
    let mut runner = Runner::new(s, stop_after);
    while let Some(item) = runner.next_item() {
        if let RunItem::Step(step) = item {
            if !on_step(&step) {
                break;
            }
        }
    }
    RunSummary {
        steps: runner.steps,
        checks: runner.checks,
        error: runner.error,
        machine: runner.machine,
    }
}

/// Run a scenario to its end (or to `stop_after` steps), checking expectations on the way, and
/// keep every step.
pub fn run_until(s: &Scenario, stop_after: Option<u32>) -> Run {
    let mut steps = Vec::new();
    let summary = run_streaming(s, stop_after, |st| {
        steps.push(st.clone());
        true
    });
    Run {
        steps,
        checks: summary.checks,
        error: summary.error,
        machine: summary.machine,
    }
}

pub fn run(s: &Scenario) -> Run {
    run_until(s, None)
}

/// The machine after `step` operations (deterministic replay; no step is kept).
pub fn machine_at(s: &Scenario, step: u32) -> Machine {
    Runner::new(s, Some(step)).finish().machine
}

fn outcome_matches(o: &Outcome, spec: OutcomeSpec) -> bool {
    match (o, spec) {
        (Outcome::Ok | Outcome::Base(_), OutcomeSpec::Ok) => true,
        (Outcome::Win32(e), OutcomeSpec::Win32(x)) => *e == x,
        (Outcome::Err(e), OutcomeSpec::Err(x)) => *e == x,
        (Outcome::Killed { .. }, OutcomeSpec::Killed) => true,
        (Outcome::Blocked, OutcomeSpec::Blocked) => true,
        (Outcome::Panic, OutcomeSpec::Panic) => true,
        _ => false,
    }
}

fn spec_label(s: OutcomeSpec) -> &'static str {
    match s {
        OutcomeSpec::Ok => "ok",
        OutcomeSpec::Err(e) => e.name(),
        OutcomeSpec::Killed => "killed",
        OutcomeSpec::Blocked => "blocked",
        OutcomeSpec::Panic => "panic",
        OutcomeSpec::Win32(e) => e.name(),
    }
}

/// Whether a step's operation matches an `expect` line's verb: the rule [`OutcomeIndex`]
/// implements, kept as a predicate for the test that checks the index against a scan.
#[cfg(test)]
fn verb_matches(op: &Op, verb: &str) -> bool {
    op.verb() == verb || (verb == "tmpfs" && op.verb().starts_with("tmpfs"))
}

fn check_log(log: &KernelLog, text: &str, present: bool) -> (bool, String) {
    match (log.find(text), present) {
        (Some(line), true) => (true, format!("logged: {line}")),
        (Some(line), false) => (false, format!("logged: {line}")),
        (None, true) => (
            false,
            format!(
                "no kernel log line contains {text:?} ({} lines so far)",
                log.0.len()
            ),
        ),
        (None, false) => (true, format!("no kernel log line contains {text:?}")),
    }
}

fn check_piece(m: &Machine, proc: &str, mapping: &str, at: u64, c: &PieceCheck) -> (bool, String) {
    let p = match m.vma_piece(proc, mapping, at) {
        Ok(p) => p,
        Err(e) => return (false, e.to_string()),
    };
    let which = format!(
        "the VMA at {mapping}[{}..{}]",
        crate::units::human(p.start),
        crate::units::human(p.end)
    );
    match c {
        PieceCheck::Perms { perms, equal } => (
            (p.perms == *perms) == *equal,
            format!(
                "{which} is {}, expected {}{perms}",
                p.perms,
                if *equal { "" } else { "not " }
            ),
        ),
        PieceCheck::Flags { codes, present } => {
            let wrong: Vec<&str> = codes
                .iter()
                .map(String::as_str)
                .filter(|c| p.flags.contains(c) != *present)
                .collect();
            let flags = p.flags.join(" ");
            if wrong.is_empty() {
                (true, format!("{which} has VmFlags: {flags}"))
            } else {
                let verb = if *present { "lacks" } else { "has" };
                (
                    false,
                    format!("{which} {verb} {} (VmFlags: {flags})", wrong.join(" ")),
                )
            }
        }
    }
}

fn check(
    m: &Machine,
    index: &OutcomeIndex,
    log: &KernelLog,
    s: &Scenario,
    ex: &Expect,
) -> (bool, String) {
    match ex {
        Expect::KernelLog { text, present } => check_log(log, text, *present),
        Expect::Piece {
            proc,
            mapping,
            at,
            check,
        } => {
            let (ram, swap) = m.ram_swap_bytes();
            check_piece(m, proc, mapping, at.resolve(ram, swap), check)
        }
        Expect::Outcome {
            proc,
            verb,
            outcome,
        } => match index.last(proc.as_deref(), verb.as_deref()) {
            None => (false, "no earlier operation matches".into()),
            Some(last) => {
                let text = s.stmts.get(last.stmt).map_or("", |st| st.text.as_str());
                (
                    outcome_matches(&last.outcome, *outcome),
                    format!(
                        "step {} (`{text}`) gave {}, expected {}",
                        last.step,
                        last.outcome,
                        spec_label(*outcome)
                    ),
                )
            }
        },
        Expect::State { proc, state } => {
            let Some(actual) = m.proc_state(proc) else {
                return (false, format!("no process `{proc}`"));
            };
            let want = match state {
                StateSpec::Running => ProcState::Running,
                StateSpec::Exited => ProcState::Exited,
                StateSpec::Killed => ProcState::Killed,
            };
            (actual == want, format!("`{proc}` is {actual:?}"))
        }
        Expect::Value {
            query,
            cmp,
            value,
            tolerance,
        } => {
            let actual = match m.query(query) {
                Ok(v) => v,
                Err(e) => return (false, e.to_string()),
            };
            let (ram, swap) = m.ram_swap_bytes();
            let num = |v: &ExpectValue| -> i128 {
                match v {
                    ExpectValue::Size(s) => s.resolve(ram, swap) as i128,
                    ExpectValue::Number(n) => *n as i128,
                }
            };
            let (a, kind_ok) = match (actual, value) {
                (Value::Bytes(b), ExpectValue::Size(_)) => (b as i128, true),
                (Value::Number(n), ExpectValue::Number(_)) => (n as i128, true),
                (Value::Bytes(b), _) => (b as i128, false),
                (Value::Number(n), _) => (n as i128, false),
            };
            if !kind_ok {
                return (
                    false,
                    format!(
                        "found {actual}, which is not comparable with the expected kind of value"
                    ),
                );
            }
            let want = num(value);
            let tol = tolerance.as_ref().map_or(0, num);
            let ok = match cmp {
                Cmp::Eq => (a - want).abs() <= tol,
                Cmp::Ne => (a - want).abs() > tol,
                Cmp::Lt => a < want + tol,
                Cmp::Le => a <= want + tol,
                Cmp::Gt => a > want - tol,
                Cmp::Ge => a >= want - tol,
            };
            let want_txt = match value {
                ExpectValue::Size(_) => Value::Bytes(want.max(0) as u64).to_string(),
                ExpectValue::Number(n) => n.to_string(),
            };
            (
                ok,
                format!("found {actual}, expected {} {want_txt}", cmp.symbol()),
            )
        }
    }
}

/// The trace's header line (with its newline). Its charge column is the system's commit
/// charge in each OS's own word: `Committed_AS` (/proc/meminfo) on Linux, `CommitTotal`
/// (GetPerformanceInfo; shown in kB like the Linux one) on Windows.
pub fn trace_header(os: OsKind) -> String {
    let charge = match os {
        OsKind::Linux => "COMMITTED_AS",
        OsKind::Windows => "COMMIT_TOTAL",
    };
    format!(
        "{:>4} {:>5} {:<10} {:<10} {:<8} {:>14}  {:<28} EXPLANATION\n",
        "STEP", "PID", "PROCESS", "OP", "OUTCOME", charge, "REASON"
    )
}

/// Append one step's trace lines: one fixed-width line per event, or one line for a step
/// without events. [`trace_text`] and the CLI's streaming trace both use it.
pub fn write_trace_lines(out: &mut String, s: &StepRecord) {
    let pid = s.pid.map_or("-".to_string(), |p| p.to_string());
    let proc = s.proc.as_deref().unwrap_or("-");
    let cas = format!("{} kB", s.committed_as_kb);
    let head = format!(
        "{:>4} {:>5} {:<10} {:<10} {:<8} {:>14}",
        s.step,
        pid,
        trunc(proc, 10),
        s.op.verb(),
        s.outcome.label(),
        cas
    );
    if s.events.is_empty() {
        let _ = writeln!(out, "{head}  {:<28} {}", "-", s.text);
    }
    for e in &s.events {
        // The same bytes as `writeln!("{head}  {:<28} {} ({})")`, without the formatting
        // machinery for the plain pieces: a fork of a process with 1,000 VMAs prints 1,000.
        let reason = e.reason();
        out.push_str(&head);
        out.push_str("  ");
        out.push_str(reason);
        for _ in reason.chars().count()..28 {
            out.push(' ');
        }
        out.push(' ');
        out.push_str(&e.sentence());
        out.push_str(" (");
        out.push_str(e.source());
        out.push_str(")\n");
    }
}

/// The trace: a header, then one fixed-width line per event (a step without events gets one line).
pub fn trace_text(run: &Run) -> String {
    let mut out = trace_header(run.machine.os().into());
    for s in &run.steps {
        write_trace_lines(&mut out, s);
    }
    out
}

fn trunc(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// A stable 64-bit FNV-1a hash of a run's trace: the same on every platform.
pub fn trace_hash(run: &Run) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in trace_text(run).bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Every scenario of the library, parsed: (file name, scenario).
    fn library() -> Vec<(String, Scenario)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the scenarios directory") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|x| x == "vmlab") {
                let text = std::fs::read_to_string(&path).expect("a readable scenario");
                let s = parse(&text).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
                out.push((path.display().to_string(), s));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(out.len() >= 5, "only {} scenarios", out.len());
        out
    }

    /// The step the old backwards scan finds for `expect [PROC [VERB]] …`.
    fn scan(steps: &[StepRecord], proc: Option<&str>, verb: Option<&str>) -> Option<u32> {
        steps
            .iter()
            .rev()
            .find(|s| {
                proc.is_none_or(|p| s.proc.as_deref() == Some(p))
                    && verb.is_none_or(|v| verb_matches(&s.op, v))
            })
            .map(|s| s.step)
    }

    #[test]
    fn indexed_outcome_lookups_agree_with_a_backwards_scan_on_every_scenario() {
        for (name, s) in library() {
            let mut procs: BTreeSet<Option<String>> = BTreeSet::from([None]);
            let mut verbs: BTreeSet<Option<String>> =
                BTreeSet::from([None, Some("tmpfs".into()), Some("nonsense".into())]);
            for stmt in &s.stmts {
                if let StmtKind::Op(op) = &stmt.kind {
                    procs.insert(op.proc().map(str::to_string));
                    verbs.insert(Some(op.verb().to_string()));
                }
            }
            procs.insert(Some("nobody".into()));
            let mut runner = Runner::new(&s, None);
            let mut steps = Vec::new();
            while let Some(item) = runner.next_item() {
                if let RunItem::Step(st) = item {
                    steps.push(st);
                }
                for p in &procs {
                    for v in &verbs {
                        let (p, v) = (p.as_deref(), v.as_deref());
                        let indexed = runner.outcomes.last(p, v).map(|l| l.step);
                        assert_eq!(
                            indexed,
                            scan(&steps, p, v),
                            "{name} after step {}: expect {p:?} {v:?}",
                            steps.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_streaming_runner_gives_what_run_keeps() {
        for (name, s) in library() {
            let run = run(&s);
            let mut trace = trace_header(run.machine.os().into());
            let mut checks = Vec::new();
            let mut runner = Runner::new(&s, None);
            while let Some(item) = runner.next_item() {
                match item {
                    RunItem::Step(st) => write_trace_lines(&mut trace, &st),
                    RunItem::Check(c) => checks.push((c.after_step, c.passed, c.detail)),
                }
            }
            assert!(trace == trace_text(&run), "{name}: the traces differ");
            let kept: Vec<_> = run
                .checks
                .iter()
                .map(|c| (c.after_step, c.passed, c.detail.clone()))
                .collect();
            assert_eq!(checks, kept, "{name}");
            let summary = runner.finish();
            assert_eq!(summary.steps as usize, run.steps.len(), "{name}");
            assert_eq!(summary.all_passed(), run.all_passed(), "{name}");

            // Stopping early hands out the same first steps.
            let mut first = Vec::new();
            let stopped = run_streaming(&s, Some(3), |st| {
                first.push(st.step);
                true
            });
            assert_eq!(stopped.steps as usize, run.steps.len().min(3), "{name}");
            assert_eq!(first, (1..=stopped.steps).collect::<Vec<_>>(), "{name}");
        }
    }

    #[test]
    fn on_step_false_stops_the_run() {
        let s = parse("machine linux ram=1GiB\nspawn a\nspawn b\nspawn c\nexpect c running\n")
            .expect("parses");
        let mut seen = 0;
        let summary = run_streaming(&s, None, |_| {
            seen += 1;
            false
        });
        assert_eq!((seen, summary.steps), (1, 1));
        assert!(summary.checks.is_empty());
    }

    #[test]
    fn the_commit_summary_is_what_meminfo_prints() {
        for (name, s) in library() {
            let mut runner = Runner::new(&s, None);
            while let Some(item) = runner.next_item() {
                let RunItem::Step(st) = item else { continue };
                if runner.machine().os() == crate::machine::Os::Windows {
                    // Windows: GetPerformanceInfo's CommitTotal, CommitLimit and
                    // PhysicalAvailable of the host, in pages.
                    let kb = |field: &str| {
                        let q = crate::query::Query::Win(
                            crate::windows::query::WinQuery::PerformanceInfo {
                                proc: None,
                                field: field.into(),
                            },
                        );
                        match runner.machine().query(&q) {
                            Ok(Value::Number(n)) => n as u64 * 4,
                            other => panic!("{name}: GetPerformanceInfo.{field} is {other:?}"),
                        }
                    };
                    assert_eq!(st.committed_as_kb, kb("CommitTotal"), "{name} {}", st.step);
                    assert_eq!(st.commit_limit_kb, kb("CommitLimit"), "{name} {}", st.step);
                    assert_eq!(
                        st.mem_free_kb,
                        kb("PhysicalAvailable"),
                        "{name} {}",
                        st.step
                    );
                    continue;
                }
                let kb = |field: &str| {
                    let q = crate::query::Query::Meminfo {
                        field: field.into(),
                    };
                    match runner.machine().query(&q) {
                        Ok(Value::Bytes(b)) => b / 1024,
                        other => panic!("{name}: meminfo.{field} is {other:?}"),
                    }
                };
                assert_eq!(st.committed_as_kb, kb("Committed_AS"), "{name} {}", st.step);
                assert_eq!(st.commit_limit_kb, kb("CommitLimit"), "{name} {}", st.step);
                assert_eq!(st.mem_free_kb, kb("MemFree"), "{name} {}", st.step);
            }
        }
    }

    fn error_of(text: &str) -> String {
        let s = parse(text).expect("the test scenario parses");
        run(&s).error.expect("a scenario error").message
    }

    #[test]
    fn an_error_on_a_never_created_mapping_names_the_failed_mmap() {
        let m = error_of(
            "machine linux ram=1GiB swap=0 overcommit=2\nspawn p\n\
             p mmap a 1MiB rw private anon\np mmap b 100GiB rw private anon\n\
             p mprotect b r\n",
        );
        assert_eq!(
            m,
            "process `p` has no mapping named `b`: its mmap at line 4 failed with ENOMEM"
        );
        // Placement next to the failed mapping, and a child that inherited the failure.
        let m = error_of(
            "machine linux ram=1GiB swap=0 overcommit=2\nspawn p\n\
             p mmap b 100GiB rw private anon\np fork q\nq mmap c 1MiB rw private anon below=b\n",
        );
        assert!(
            m.ends_with("its mmap at line 3 (by `p`, before it forked) failed with ENOMEM"),
            "{m}"
        );
        // Other scenario errors keep their own message.
        let m = error_of(
            "machine linux ram=1GiB\nspawn p\np mmap a 1MiB rw private anon\np vfork c\n\
             p write a[0..4KiB]\n",
        );
        assert!(!m.contains("its mmap"), "{m}");
        // A failed `mremap … as=NAME` never creates NAME; a placement next to it says so.
        let m = error_of(
            "machine linux ram=1GiB\nspawn p\np mmap a 1MiB rw private anon\n\
             p mremap a 1MiB at=0x300000000000 as=moved\n\
             p mremap a 1MiB maymove above=moved\n",
        );
        assert_eq!(
            m,
            "process `p` has no mapping named `moved`: its mremap at line 4 failed with EINVAL"
        );
    }
}
