//! Determinism: vmlab-core's output hashes to the same constant natively and under wasm32 in a real
//! browser (the same file runs as a native test and as a wasm-bindgen-test), so a trace a student
//! sees in the browser is byte for byte the trace the CLI prints.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use vmlab_core::config::OvercommitMode;
use vmlab_core::event::{ChargeFor, CommitDecision, CommitRule, Event, EventKind, Span};
use vmlab_core::kernel::KernelVersion;
use vmlab_core::units::{human, GIB, KIB, MIB, TIB};

fn fnv(h: &mut u64, s: &str) {
    for b in s.bytes().chain([b'\n']) {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// Sentences and sizes from the core over values that stress 32-bit `usize` and float formatting.
fn core_text_hash() -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in [
        0,
        1,
        4095,
        4096,
        24_684_092 * KIB,
        1536 * MIB,
        15 * GIB,
        100 * TIB + 1,
        u64::MAX / 4096,
    ] {
        fnv(&mut h, &human(b));
    }
    let kernel = KernelVersion { major: 6, minor: 6 };
    for (pages, rule, granted) in [
        (
            30 * GIB / 4096,
            CommitRule::GuessTotal {
                totalram: 24 * GIB / 4096,
                swap: 0,
            },
            false,
        ),
        (
            15 * GIB / 4096,
            CommitRule::GuessTotal {
                totalram: 24 * GIB / 4096,
                swap: 0,
            },
            true,
        ),
        (
            1 << 20,
            CommitRule::Never {
                limit: 3 << 20,
                admin_reserve: 2048,
                user_reserve: 32768,
                allowed: (3 << 20) - 34816,
            },
            true,
        ),
    ] {
        let d = CommitDecision {
            for_what: ChargeFor::ForkVma,
            pages,
            committed_before: 123_456,
            mode: OvercommitMode::Guess,
            kernel,
            rule,
            granted,
        };
        let e = Event {
            pid: Some(1),
            kind: EventKind::Commit(d),
        };
        fnv(&mut h, e.reason());
        fnv(&mut h, e.source());
        fnv(&mut h, &e.sentence());
    }
    let e = Event {
        pid: Some(2),
        kind: EventKind::ForkRefused {
            vma: Span {
                start: 0x7f00_0000_0000,
                end: 0x7f07_8000_0000,
            },
            vma_pages: 30 * GIB / 4096,
            acct: true,
        },
    };
    fnv(&mut h, &e.sentence());
    h
}

/// The constant both targets must produce. If a deliberate change to the core's wording moves it,
/// update it here after checking that native and wasm still agree.
const EXPECTED: u64 = 0x5e60_5554_febc_b5d2;

#[test]
fn core_text_hashes_the_same_on_every_target() {
    let h = core_text_hash();
    println!("core text hash: {h:#018x}");
    assert_eq!(h, EXPECTED, "core text hash {h:#018x}");
}
