//! `vmlab`: parse flags, run the scenario, print. Exit codes: 0 every expectation held,
//! 1 an expectation failed, 2 the scenario (or the command line) is invalid.

mod json;

use std::io::Write;
use std::process::ExitCode;
use vmlab_core::scenario::{parse, Diagnostic, Scenario};
use vmlab_core::sim::{self, Run};

const USAGE: &str = "usage:
  vmlab run FILE [--json]              run a scenario: trace, then every expectation
  vmlab show FILE --at STEP VIEW       a kernel view after STEP operations:
                                       meminfo | maps PROC | smaps PROC | smaps_rollup PROC
                                       | status PROC | oom_score PROC
  vmlab explain FILE --at STEP         the reasoning behind one step: rules, numbers, sources
exit codes: 0 all expectations hold, 1 an expectation failed, 2 invalid scenario or usage";

enum Cmd {
    Run {
        file: String,
        json: bool,
    },
    Show {
        file: String,
        at: u32,
        view: String,
        proc: Option<String>,
    },
    Explain {
        file: String,
        at: u32,
    },
}

fn parse_args(args: &[String]) -> Result<Cmd, String> {
    let mut it = args.iter().skip(1);
    let verb = it.next().ok_or("missing command")?;
    let rest: Vec<&String> = it.collect();
    let mut at = None;
    let mut json = false;
    let mut pos = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        match rest[i].as_str() {
            "--json" => json = true,
            "--at" => {
                let v = rest.get(i + 1).ok_or("--at needs a step number")?;
                at = Some(
                    v.parse::<u32>()
                        .map_err(|_| format!("--at takes a step number, not `{v}`"))?,
                );
                i += 1;
            }
            s if s.starts_with("--at=") => {
                let v = &s[5..];
                at = Some(
                    v.parse::<u32>()
                        .map_err(|_| format!("--at takes a step number, not `{v}`"))?,
                );
            }
            s if s.starts_with("--") => return Err(format!("unknown flag `{s}`")),
            s => pos.push(s.to_string()),
        }
        i += 1;
    }
    let file = pos.first().cloned().ok_or("missing FILE")?;
    match verb.as_str() {
        "run" if pos.len() == 1 => Ok(Cmd::Run { file, json }),
        "show" => {
            let at = at.ok_or("show needs --at STEP")?;
            let view = pos.get(1).cloned().ok_or("show needs a VIEW")?;
            Ok(Cmd::Show {
                file,
                at,
                view,
                proc: pos.get(2).cloned(),
            })
        }
        "explain" if pos.len() == 1 => Ok(Cmd::Explain {
            file,
            at: at.ok_or("explain needs --at STEP")?,
        }),
        "run" | "explain" => Err("too many arguments".into()),
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Output that treats a closed pipe as the end, not an error (`vmlab run x | head`).
struct Out(std::io::Stdout);
impl Out {
    fn print(&mut self, s: &str) -> bool {
        match self.0.lock().write_all(s.as_bytes()) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => false,
            Err(_) => false,
        }
    }
}

fn print_diags(file: &str, diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{file}:{}:{}: error: {}", d.pos.line, d.pos.col, d.message);
    }
}

fn load(file: &str) -> Result<Scenario, ExitCode> {
    let text = match std::fs::read(file) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("vmlab: cannot read {file}: {e}");
            return Err(ExitCode::from(2));
        }
    };
    parse(&text).map_err(|d| {
        print_diags(file, &d);
        ExitCode::from(2)
    })
}

/// The run of a scenario up to step `at`, or the exit code after printing why it is invalid.
fn replay(file: &str, at: u32) -> Result<Run, ExitCode> {
    let s = load(file)?;
    let run = sim::run_until(&s, Some(at));
    if let Some(e) = &run.error {
        print_diags(file, std::slice::from_ref(e));
        return Err(ExitCode::from(2));
    }
    Ok(run)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cmd = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vmlab: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut out = Out(std::io::stdout());
    match cmd {
        Cmd::Run { file, json } => {
            let s = match load(&file) {
                Ok(s) => s,
                Err(c) => return c,
            };
            let run = sim::run(&s);
            if json {
                let doc = json::document(&file, &s, &run);
                out.print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                ));
            } else {
                print_run(&mut out, &file, &run);
            }
            exit_code(&file, &run, !json)
        }
        Cmd::Show {
            file,
            at,
            view,
            proc,
        } => {
            let run = match replay(&file, at) {
                Ok(r) => r,
                Err(c) => return c,
            };
            if (at as usize) > run.steps.len() {
                eprintln!(
                    "vmlab: {file} has {} steps; --at {at} is past the end",
                    run.steps.len()
                );
                return ExitCode::from(2);
            }
            let text = match (view.as_str(), proc) {
                ("meminfo", None) => Ok(run.machine.meminfo_text()),
                ("meminfo", Some(_)) => Err("meminfo takes no process".to_string()),
                (
                    v @ ("maps" | "smaps" | "smaps_rollup" | "status" | "oom_score"
                    | "oom_score_adj"),
                    Some(p),
                ) => run.machine.proc_view(&p, v).map_err(|e| e.to_string()),
                (
                    v @ ("maps" | "smaps" | "smaps_rollup" | "status" | "oom_score"
                    | "oom_score_adj"),
                    None,
                ) => Err(format!("{v} needs a process name")),
                (other, _) => Err(format!("unknown view `{other}`")),
            };
            match text {
                Ok(t) => {
                    out.print(&t);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("vmlab: {e}\n{USAGE}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Explain { file, at } => {
            let run = match replay(&file, at) {
                Ok(r) => r,
                Err(c) => return c,
            };
            if at == 0 {
                out.print(&format!(
                    "step 0: the machine as booted\n{}",
                    run.machine.meminfo_text()
                ));
                return ExitCode::SUCCESS;
            }
            let Some(step) = run.steps.get(at as usize - 1) else {
                eprintln!(
                    "vmlab: {file} has {} steps; --at {at} is past the end",
                    run.steps.len()
                );
                return ExitCode::from(2);
            };
            let before = if at >= 2 {
                run.steps[at as usize - 2].committed_as_kb
            } else {
                0
            };
            out.print(&explain(&file, step, before));
            ExitCode::SUCCESS
        }
    }
}

fn explain(file: &str, s: &sim::StepRecord, committed_before_kb: u64) -> String {
    let mut t = format!(
        "step {} ({file}:{}:{}): {}\n",
        s.step, s.pos.line, s.pos.col, s.text
    );
    t.push_str(&format!("outcome: {}\n", s.outcome));
    t.push_str(&format!(
        "Committed_AS: {committed_before_kb} kB → {} kB   CommitLimit: {} kB   MemFree: {} kB\n",
        s.committed_as_kb, s.commit_limit_kb, s.mem_free_kb
    ));
    if s.events.is_empty() {
        t.push_str("no decision was needed\n");
    }
    for (i, e) in s.events.iter().enumerate() {
        t.push_str(&format!(
            "\n{}. [{}] {}\n   rule/source: {}\n",
            i + 1,
            e.reason(),
            e.sentence(),
            e.source()
        ));
    }
    t
}

fn print_run(out: &mut Out, file: &str, run: &Run) {
    if !out.print(&sim::trace_text(run)) {
        return;
    }
    if !run.checks.is_empty() {
        out.print("\n");
    }
    for c in &run.checks {
        let tag = if c.passed { "PASS" } else { "FAIL" };
        if !out.print(&format!(
            "{tag} {file}:{}:{}: {} — {}\n",
            c.pos.line, c.pos.col, c.text, c.detail
        )) {
            return;
        }
    }
}

fn exit_code(file: &str, run: &Run, summary: bool) -> ExitCode {
    if let Some(e) = &run.error {
        print_diags(file, std::slice::from_ref(e));
        return ExitCode::from(2);
    }
    let failed = run.checks.iter().filter(|c| !c.passed).count();
    if summary {
        eprintln!(
            "{}: {} steps, {} expectations, {} failed",
            file,
            run.steps.len(),
            run.checks.len(),
            failed
        );
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
