//! Fuzz target: arbitrary bytes (as lossy UTF-8) into the scenario parser, and every scenario that
//! parses into the simulator. Neither may panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmlab_core::scenario::{parse, Scenario};

/// Run a parsed scenario through the simulator, with the model's invariants checked at the end.
fn run(scenario: &Scenario) {
    let run = vmlab_core::sim::run(scenario);
    if let Err(e) = run.machine.check_invariants() {
        panic!("invariant broken: {e}");
    }
}

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    match parse(&src) {
        Ok(scenario) => run(&scenario),
        Err(diags) => {
            // A diagnostic always points into the text: lines and columns are 1-based.
            for d in &diags {
                assert!(d.pos.line >= 1 && d.pos.col >= 1, "bad position {d}");
            }
            assert!(!diags.is_empty(), "an Err carries at least one diagnostic");
        }
    }
});
