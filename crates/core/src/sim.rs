//! Running a scenario: replay its operations on a booted machine, record every step's outcome
//! and events, and check its expectations. Everything else (time travel, sharing, golden traces)
//! is "replay to step N".

use crate::event::Event;
use crate::machine::Machine;
use crate::op::{Op, Outcome};
use crate::query::Value;
use crate::scenario::{
    Cmp, Diagnostic, Expect, ExpectValue, OutcomeSpec, Pos, Scenario, StateSpec, StmtKind,
};
use serde::Serialize;
use std::fmt::Write;

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
    /// Committed_AS and CommitLimit after the step, kB.
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

/// A whole run.
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

fn meminfo_kb(m: &Machine, field: &str) -> u64 {
    match m.query(&crate::query::Query::Meminfo {
        field: field.into(),
    }) {
        Ok(Value::Bytes(b)) => b / 1024,
        _ => 0,
    }
}

/// Run a scenario to its end (or to `stop_after` steps), checking expectations on the way.
pub fn run_until(s: &Scenario, stop_after: Option<u32>) -> Run {
    let mut machine = Machine::boot(&s.machine);
    let mut steps: Vec<StepRecord> = Vec::new();
    let mut checks = Vec::new();
    let mut error = None;
    for stmt in &s.stmts {
        match &stmt.kind {
            StmtKind::Op(op) => {
                if stop_after.is_some_and(|n| steps.len() as u32 >= n) {
                    break;
                }
                let pid_before = machine
                    .linux()
                    .and_then(|m| op.proc().and_then(|p| m.by_name.get(p).copied()));
                match machine.apply(op) {
                    Ok((outcome, events)) => {
                        let pid = machine
                            .linux()
                            .and_then(|m| op.proc().and_then(|p| m.by_name.get(p).copied()))
                            .or(pid_before);
                        steps.push(StepRecord {
                            step: steps.len() as u32 + 1,
                            pos: stmt.pos,
                            text: stmt.text.clone(),
                            op: op.clone(),
                            proc: op.proc().map(str::to_string),
                            pid,
                            outcome,
                            events,
                            // Read in pages: past 2^54 kB the byte-valued query saturates.
                            committed_as_kb: machine.linux().map_or_else(
                                || meminfo_kb(&machine, "Committed_AS"),
                                |l| crate::units::pages_to_kb(l.committed_pages()),
                            ),
                            commit_limit_kb: meminfo_kb(&machine, "CommitLimit"),
                            mem_free_kb: meminfo_kb(&machine, "MemFree"),
                        });
                    }
                    Err(e) => {
                        error = Some(Diagnostic {
                            pos: stmt.pos,
                            message: e.0,
                        });
                        break;
                    }
                }
            }
            StmtKind::Expect(ex) => {
                if stop_after.is_some_and(|n| steps.len() as u32 > n) {
                    break;
                }
                let (passed, detail) = check(&machine, &steps, ex);
                checks.push(CheckResult {
                    pos: stmt.pos,
                    text: stmt.text.clone(),
                    after_step: steps.len() as u32,
                    passed,
                    detail,
                });
            }
        }
    }
    Run {
        steps,
        checks,
        error,
        machine,
    }
}

pub fn run(s: &Scenario) -> Run {
    run_until(s, None)
}

/// The machine after `step` operations (deterministic replay).
pub fn machine_at(s: &Scenario, step: u32) -> Machine {
    run_until(s, Some(step)).machine
}

fn outcome_matches(o: &Outcome, spec: OutcomeSpec) -> bool {
    match (o, spec) {
        (Outcome::Ok, OutcomeSpec::Ok) => true,
        (Outcome::Err(e), OutcomeSpec::Err(x)) => *e == x,
        (Outcome::Killed { .. }, OutcomeSpec::Killed) => true,
        _ => false,
    }
}

fn spec_label(s: OutcomeSpec) -> &'static str {
    match s {
        OutcomeSpec::Ok => "ok",
        OutcomeSpec::Err(e) => e.name(),
        OutcomeSpec::Killed => "killed",
    }
}

fn verb_matches(op: &Op, verb: &str) -> bool {
    op.verb() == verb || (verb == "tmpfs" && op.verb().starts_with("tmpfs"))
}

fn check(m: &Machine, steps: &[StepRecord], ex: &Expect) -> (bool, String) {
    match ex {
        Expect::Outcome {
            proc,
            verb,
            outcome,
        } => {
            let found = steps.iter().rev().find(|s| {
                proc.as_deref().is_none_or(|p| s.proc.as_deref() == Some(p))
                    && verb.as_deref().is_none_or(|v| verb_matches(&s.op, v))
            });
            match found {
                None => (false, "no earlier operation matches".into()),
                Some(s) => (
                    outcome_matches(&s.outcome, *outcome),
                    format!(
                        "step {} (`{}`) gave {}, expected {}",
                        s.step,
                        s.text,
                        s.outcome,
                        spec_label(*outcome)
                    ),
                ),
            }
        }
        Expect::State { proc, state } => {
            let Some(lm) = m.linux() else {
                return (false, "not a Linux machine".into());
            };
            let Some(pid) = lm.by_name.get(proc) else {
                return (false, format!("no process `{proc}`"));
            };
            let actual = lm.procs[pid].state;
            let want = match state {
                StateSpec::Running => crate::linux::ProcState::Running,
                StateSpec::Exited => crate::linux::ProcState::Exited,
                StateSpec::Killed => crate::linux::ProcState::Killed,
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
            let (ram, swap) = m
                .linux()
                .map_or((0, 0), |l| (l.cfg.ram_bytes, l.cfg.swap_bytes));
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

/// The trace: a header, then one fixed-width line per event (a step without events gets one line).
pub fn trace_text(run: &Run) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>4} {:>5} {:<10} {:<10} {:<8} {:>14}  {:<28} EXPLANATION",
        "STEP", "PID", "PROCESS", "OP", "OUTCOME", "COMMITTED_AS", "REASON"
    );
    for s in &run.steps {
        let pid = s.pid.map_or("-".to_string(), |p| p.to_string());
        let proc = s.proc.clone().unwrap_or_else(|| "-".into());
        let cas = format!("{} kB", s.committed_as_kb);
        let head = format!(
            "{:>4} {:>5} {:<10} {:<10} {:<8} {:>14}",
            s.step,
            pid,
            trunc(&proc, 10),
            s.op.verb(),
            s.outcome.label(),
            cas
        );
        if s.events.is_empty() {
            let _ = writeln!(out, "{head}  {:<28} {}", "-", s.text);
        }
        for e in &s.events {
            let _ = writeln!(
                out,
                "{head}  {:<28} {} ({})",
                e.reason(),
                e.sentence(),
                e.source()
            );
        }
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
