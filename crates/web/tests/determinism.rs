//! Determinism: vmlab-core gives the same output natively and under wasm32 in a real browser. The
//! same file runs as a native test and as a wasm-bindgen-test: every scenario's trace must equal
//! its checked-in golden file (written natively) byte for byte, and the fork-after-merge trace
//! must hash to the constant that crates/core/tests/trace_hash.rs asserts natively.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use std::fmt::Write;
use vmlab_core::scenario::parse;
use vmlab_core::sim::{self, Run};

mod golden {
    include!(concat!(env!("OUT_DIR"), "/library_golden.rs"));
}

/// The fork-after-merge trace hash; crates/core/tests/trace_hash.rs asserts the same constant.
const FORK_AFTER_MERGE_TRACE_HASH: u64 = 0x12a8_10a2_f425_9a18;

/// The golden text as crates/core/tests/golden.rs writes it: the trace, then the expectations.
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

fn run(src: &str) -> Run {
    match parse(src) {
        Ok(s) => sim::run(&s),
        Err(d) => panic!("a library scenario does not parse: {d:?}"),
    }
}

#[test]
fn fork_after_merge_hashes_to_the_native_constant() {
    let h = sim::trace_hash(&run(include_str!(
        "../../../scenarios/fork-after-merge.vmlab"
    )));
    println!("fork-after-merge trace hash: {h:#018x}");
    assert_eq!(h, FORK_AFTER_MERGE_TRACE_HASH, "trace hash {h:#018x}");
}

#[test]
fn every_library_scenario_reproduces_its_golden_trace() {
    let mut checked = 0;
    vmlab_web::library::install_embedded();
    for e in vmlab_web::library::entries() {
        let Some((_, golden)) = golden::GOLDEN.iter().find(|(f, _)| *f == e.file) else {
            continue;
        };
        let got = golden_text(&run(e.text));
        assert!(
            got == *golden,
            "{}: the trace differs from its golden file",
            e.file
        );
        checked += 1;
    }
    assert!(checked > 0, "no scenario with a golden trace was checked");
    println!("{checked} golden traces reproduced");
}
