//! Every Windows scenario of the library (`scenarios/*.vmlab` with `machine windows`) through
//! `vmlab_os::wincheck`: the model and the Windows API under Wine, step by step. A mismatch that
//! docs/known-differences.md does not list fails the test; so does a scenario that stops early
//! for a reason other than the one [`EXPECTED_STOPS`] gives it.
//!
//! `#[ignore]`d in a plain `cargo test` (it needs Wine, the exe and a prefix); `cargo xtask test`
//! runs it in its stage "Windows backend under Wine", where a missing piece is a failure.
#![cfg(target_os = "linux")]

use vmlab_core::config::MachineConfig;
use vmlab_core::scenario::parse;
use vmlab_os::wincheck;

const WHY: &str = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)";

/// Scenarios the real side cannot run to the end, and the words their stop reason contains
/// (docs/known-differences.md, "Windows scenarios under Wine", says why for each).
const EXPECTED_STOPS: &[(&str, &str)] = &[
    ("same-workload-windows.vmlab", "past the budget"),
    ("win-container-job-limit.vmlab", "Hyper-V isolation"),
    ("win-testlimit.vmlab", "past the budget"),
];

fn windows_scenarios() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("the scenarios directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "vmlab"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).expect("a scenario");
            let s = parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
            matches!(s.machine, MachineConfig::Windows(_))
                .then(|| (p.file_name().unwrap().to_string_lossy().into_owned(), text))
        })
        .collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn every_windows_scenario_agrees_with_wine_but_for_listed_differences() {
    let _ = WHY;
    let scenarios = windows_scenarios();
    assert!(
        scenarios.len() >= 6,
        "the library's Windows scenarios: {scenarios:?}"
    );
    let mut failures = Vec::new();
    for (name, text) in &scenarios {
        let s = parse(text).unwrap();
        let t0 = std::time::Instant::now();
        let r = wincheck::check_wine(&s).unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!(
            "== {name} ({:.1} s)\n{}",
            t0.elapsed().as_secs_f64(),
            r.render()
        );
        if !r.mismatches.is_empty() {
            failures.push(format!("{name}: {} mismatch(es)", r.mismatches.len()));
        }
        let expected = EXPECTED_STOPS.iter().find(|(n, _)| n == name).map(|x| x.1);
        match (&r.stopped, expected) {
            (None, None) => {}
            (Some(why), Some(words)) if why.contains(words) => {}
            (got, want) => failures.push(format!("{name}: stopped {got:?}, expected {want:?}")),
        }
        assert!(!r.steps.is_empty(), "{name}: no step was compared");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A small scenario agrees step by step, and the working set under Wine grows by the one page
/// written (the unit tests of `wincheck` show a side that differs is reported).
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn a_small_scenario_agrees_step_by_step() {
    let text = "machine windows ram=4GiB pagefile=none\nspawn a\na reserve r 1MiB\n\
                a commit r[0..4KiB]\na write r[0..4KiB]\na decommit r[1020KiB..1028KiB]\n";
    let s = parse(text).unwrap();
    let r = wincheck::check_wine(&s).unwrap();
    assert!(r.agrees(), "{}", r.render());
    assert_eq!(r.steps.len(), 5);
    // A decommit past the reservation's end: 87 on both (crates/core/tests/win_free_rules.rs).
    assert_eq!(
        r.steps[4].wine,
        "ERROR_INVALID_PARAMETER (87)",
        "{}",
        r.render()
    );
    assert_eq!(r.steps[3].wine_ws_delta, Some(1), "{}", r.render());
}
