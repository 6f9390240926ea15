//! The one seam between the app and vmlab-core: parse and run a scenario, replay the machine to a
//! step, and copy what the view needs into `views`. Nothing else in the app names a core type.

use crate::views::{DiagView, ProcTexts, RunView, Series, SnapshotView};
use vmlab_core::scenario::{self, Diagnostic, Scenario};

/// A parsed scenario and its run.
pub struct Sim {
    scenario: Scenario,
    pub run: RunView,
    pub series: Series,
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
    let run = run(&scenario);
    Ok(Sim {
        scenario,
        run,
        series: Series::default(),
    })
}

/// Runs a parsed scenario. This build's vmlab-core has the scenario vocabulary but not yet the
/// simulator, so the run is empty and says so.
fn run(scenario: &Scenario) -> RunView {
    let _ = scenario.ops().count();
    RunView {
        steps: Vec::new(),
        checks: Vec::new(),
        error: Some(DiagView {
            line: 1,
            col: 1,
            message: "this build of vmlab-core parses scenarios but has no simulator yet".into(),
        }),
    }
}

impl Sim {
    pub fn steps(&self) -> u32 {
        self.run.steps.len() as u32
    }

    /// The machine after `step` operations, by deterministic replay.
    pub fn snapshot(&self, step: u32) -> Option<SnapshotView> {
        let _ = (&self.scenario, step);
        None
    }

    /// /proc/PID/maps, smaps and status of one process after `step` operations.
    pub fn proc_texts(&self, step: u32, pid: u32) -> Option<ProcTexts> {
        let _ = (step, pid);
        None
    }
}

/// A stable hash of a run's trace (FNV-1a 64 over every step's line, outcome and event sentences),
/// so that a native test and a browser test can assert that the core computes the same thing.
pub fn trace_hash(run: &RunView) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain([b'\n']) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for s in &run.steps {
        eat(&format!("{} {} {}", s.step, s.line, s.outcome));
        for e in &s.events {
            eat(&e.reason);
            eat(&e.sentence);
        }
    }
    for c in &run.checks {
        eat(&format!("{} {} {}", c.line, c.passed, c.detail));
    }
    h
}
