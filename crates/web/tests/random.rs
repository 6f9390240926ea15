//! The app's random workloads in a real browser (wasm-bindgen-test + headless Chromium): seeds
//! 1 ..= 1000 at the app's length (`random::RANDOM_OPS`), each replayed by the wasm core as the
//! app replays it, run to their end — no scenario error, no line that did not run, no early stop.
//! The test yields to the browser between seeds (a minute of debug-build work in one task would
//! stall the runner's polling), and xtask's browser stage gives the runner time for it
//! (`WASM_BINDGEN_TEST_TIMEOUT`).
#![cfg(target_arch = "wasm32")]

use vmlab_web::random::seed_runs_to_its_end;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_thousand_random_seeds_run_to_their_end_in_the_browser() {
    let mut steps = 0u64;
    for seed in 1..=1000u64 {
        if seed % 10 == 0 {
            gloo_timers::future::TimeoutFuture::new(0).await;
        }
        let sim = seed_runs_to_its_end(seed).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            sim.run.stopped().is_none(),
            "seed {seed}: {:?}",
            sim.run.stopped()
        );
        steps += u64::from(sim.steps());
    }
    assert!(steps > 40 * 1000, "only {steps} steps in 1,000 seeds");
}
