//! The native side of the wasm determinism check: the fork-after-merge trace hashes to this
//! constant here, and crates/web/tests/determinism.rs asserts the same constant in a browser.

use vmlab_core::scenario::parse;
use vmlab_core::sim;

/// Keep in step with `FORK_AFTER_MERGE_TRACE_HASH` in crates/web/tests/determinism.rs.
const FORK_AFTER_MERGE_TRACE_HASH: u64 = 0xb727_3bb0_95ee_02e6;

#[test]
fn fork_after_merge_trace_hash() {
    let scenario = match parse(include_str!("../../../scenarios/fork-after-merge.vmlab")) {
        Ok(s) => s,
        Err(d) => panic!("fork-after-merge.vmlab does not parse: {d:?}"),
    };
    let h = sim::trace_hash(&sim::run(&scenario));
    println!("fork-after-merge trace hash: {h:#018x}");
    assert_eq!(h, FORK_AFTER_MERGE_TRACE_HASH, "trace hash {h:#018x}");
}
