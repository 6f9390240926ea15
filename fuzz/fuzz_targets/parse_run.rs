//! Fuzz target: arbitrary bytes (as lossy UTF-8) into the scenario parser, and every scenario that
//! parses into the simulator. Neither may panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmlab_core::scenario::{parse, Scenario};

/// Run a parsed scenario. The simulator's entry point arrives on another branch: build with
/// `--features sim` once `vmlab_core::sim::run` exists.
fn run(scenario: &Scenario) {
    #[cfg(feature = "sim")]
    {
        let _ = vmlab_core::sim::run(scenario);
    }
    #[cfg(not(feature = "sim"))]
    {
        let _ = scenario;
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
