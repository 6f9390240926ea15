//! Golden traces: every `scenarios/*.vmlab` runs through the parser and the simulator, must pass
//! every `expect`, and must reproduce its checked-in `scenarios/<name>.trace` byte for byte.
//!
//! Refresh the traces after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p vmlab-core --test golden`, then review them in the diff.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use vmlab_core::scenario::parse;
use vmlab_core::sim::{self, Run};

const UPDATE_HINT: &str = "UPDATE_GOLDEN=1 cargo test -p vmlab-core --test golden";

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The file stems (without extension) of the files in `dir` ending in `.ext`, sorted.
fn stems(dir: &Path, ext: &str) -> BTreeSet<String> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    entries
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| {
            p.file_stem()
                .expect("a file with an extension has a stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// The golden text of a run: the trace, then one line per expectation.
fn golden_text(run: &Run) -> String {
    let mut out = sim::trace_text(run);
    let _ = writeln!(out, "\nEXPECTATIONS");
    for c in &run.checks {
        let tag = if c.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "{tag} {}:{} after step {}: {} — {}",
            c.pos.line, c.pos.col, c.after_step, c.text, c.detail
        );
    }
    out
}

/// Run one scenario; on any problem, the message to report.
fn run_scenario(name: &str, src: &str) -> Result<String, String> {
    let scenario = parse(src).map_err(|diags| {
        let mut m = format!("{name}.vmlab does not parse:\n");
        for d in diags {
            let _ = writeln!(
                m,
                "  {name}.vmlab:{}:{}: {}",
                d.pos.line, d.pos.col, d.message
            );
        }
        m
    })?;
    let run = sim::run(&scenario);
    let mut problems = String::new();
    if let Some(e) = &run.error {
        let _ = writeln!(
            problems,
            "  {name}.vmlab:{}:{}: run error: {}",
            e.pos.line, e.pos.col, e.message
        );
    }
    for c in run.checks.iter().filter(|c| !c.passed) {
        let _ = writeln!(
            problems,
            "  FAIL {name}.vmlab:{}:{}: {} — {}",
            c.pos.line, c.pos.col, c.text, c.detail
        );
    }
    if run.checks.is_empty() {
        let _ = writeln!(problems, "  {name}.vmlab has no `expect` lines");
    }
    if !problems.is_empty() {
        return Err(format!("{name}.vmlab does not pass:\n{problems}"));
    }
    let text = golden_text(&run);
    // Determinism: a second replay of the same input gives the same bytes.
    let again = golden_text(&sim::run(&scenario));
    if again != text {
        return Err(format!(
            "{name}.vmlab: two runs gave different traces (non-determinism)\n{}",
            first_difference(&text, &again)
        ));
    }
    Ok(text)
}

/// A readable pointer at the first line where two texts differ.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let n = w.len().max(g.len());
    for i in 0..n {
        let (a, b) = (w.get(i).copied(), g.get(i).copied());
        if a != b {
            return format!(
                "  first difference at line {}:\n  - golden: {}\n  + actual: {}\n  ({} golden lines, {} actual lines)",
                i + 1,
                a.unwrap_or("<end of file>"),
                b.unwrap_or("<end of file>"),
                w.len(),
                g.len()
            );
        }
    }
    "  the texts differ only in line endings or a final newline".to_string()
}

#[test]
fn every_scenario_passes_and_matches_its_golden_trace() {
    let dir = scenarios_dir();
    let scenarios = stems(&dir, "vmlab");
    let traces = stems(&dir, "trace");
    let update = updating();
    assert!(
        !scenarios.is_empty(),
        "no scenarios found in {}",
        dir.display()
    );

    let mut failures = Vec::new();
    for orphan in traces.difference(&scenarios) {
        let path = dir.join(format!("{orphan}.trace"));
        if update {
            std::fs::remove_file(&path)
                .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
            eprintln!("removed {} (its scenario is gone)", path.display());
        } else {
            failures.push(format!(
                "{orphan}.trace has no {orphan}.vmlab: delete it, or run {UPDATE_HINT}"
            ));
        }
    }

    for name in &scenarios {
        let src_path = dir.join(format!("{name}.vmlab"));
        let src = std::fs::read_to_string(&src_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", src_path.display()));
        let text = match run_scenario(name, &src) {
            Ok(t) => t,
            Err(msg) => {
                failures.push(msg);
                continue;
            }
        };
        let trace_path = dir.join(format!("{name}.trace"));
        if update {
            std::fs::write(&trace_path, &text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", trace_path.display()));
            continue;
        }
        match std::fs::read_to_string(&trace_path) {
            Err(_) => failures.push(format!(
                "{name}.vmlab has no golden trace {name}.trace: run {UPDATE_HINT}"
            )),
            Ok(golden) if golden != text => failures.push(format!(
                "{name}.trace differs from the run of {name}.vmlab:\n{}\n  if the change is intended, run {UPDATE_HINT} and review the diff",
                first_difference(&golden, &text)
            )),
            Ok(_) => {}
        }
    }

    assert!(
        failures.is_empty(),
        "{} golden problem(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The golden checker itself: a failing expectation and a changed trace are both reported.
#[test]
fn the_checker_reports_failures_and_differences() {
    let src = "machine linux ram=1GiB\nspawn a\na mmap m 1MiB rw private anon\nexpect meminfo.Committed_AS = 2MiB\n";
    let err = run_scenario("t", src).expect_err("a wrong expectation must fail");
    assert!(err.contains("FAIL t.vmlab:4:1:"), "{err}");

    let ok = run_scenario("t", &src.replace("2MiB", "1MiB")).expect("the scenario passes");
    assert!(
        ok.contains("\nEXPECTATIONS\nPASS 4:1 after step 2: "),
        "{ok}"
    );
    let changed = ok.replacen("1024 kB", "2048 kB", 1);
    let hint = first_difference(&ok, &changed);
    assert!(hint.contains("first difference at line"), "{hint}");

    let err = run_scenario("t", "machine linux\n").expect_err("a parse error must fail");
    assert!(err.contains("t.vmlab:1:"), "{err}");
}
