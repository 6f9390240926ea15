//! `cargo xtask test`: the README's test command. Runs every stage even when one fails (so a CI
//! log shows all problems at once), then prints a summary and the plain line `N passed, N failed`.

use crate::util::{run_cmd, Ctx};
use std::process::ExitCode;
use std::time::Instant;

struct Stage {
    name: &'static str,
    run: fn(&Ctx) -> Result<(), String>,
}

const STAGES: &[Stage] = &[
    Stage {
        name: "fmt",
        run: |c| c.run("cargo", &["fmt", "--all", "--check"]),
    },
    Stage {
        name: "clippy",
        run: |c| {
            c.run(
                "cargo",
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
            )
        },
    },
    Stage {
        name: "native tests",
        run: |c| c.run("cargo", &["test", "--workspace"]),
    },
    Stage {
        name: "core builds for wasm32",
        run: |c| {
            c.run(
                "cargo",
                &[
                    "build",
                    "-p",
                    "vmlab-core",
                    "--target",
                    "wasm32-unknown-unknown",
                ],
            )
        },
    },
    Stage {
        name: "browser tests (wasm-bindgen-test, headless Chromium)",
        run: wasm_tests,
    },
    Stage {
        name: "Windows backend under Wine (vmlab-win-helper.exe, crates/winos/tests/wine.rs)",
        run: crate::wine::test,
    },
    Stage {
        name: "tidy",
        run: |c| {
            crate::tidy::tidy(&c.root).map(|n| {
                eprintln!("tidy: {n} .rs files open with //!; vmlab-core depends on serde only")
            })
        },
    },
    Stage {
        name: "dist (trunk build --release)",
        run: crate::dist,
    },
    Stage {
        name: "end-to-end (playwright-core, headless Chromium, dist/)",
        run: e2e,
    },
];

pub fn test(ctx: &Ctx) -> ExitCode {
    let t0 = Instant::now();
    let mut results: Vec<(&str, Result<(), String>, f64)> = Vec::new();
    let t = Instant::now();
    let setup = crate::setup::setup(ctx);
    let setup_ok = setup.is_ok();
    results.push(("setup", setup, t.elapsed().as_secs_f64()));
    for stage in STAGES {
        eprintln!("\n=== {} ===", stage.name);
        let t = Instant::now();
        // Without the tools, the later stages cannot run; say so instead of failing obscurely.
        let r = if setup_ok || matches!(stage.name, "fmt" | "tidy" | "native tests") {
            (stage.run)(ctx)
        } else {
            Err("not run: setup failed".to_string())
        };
        if let Err(e) = &r {
            eprintln!("--- {} FAILED: {e}", stage.name);
        }
        results.push((stage.name, r, t.elapsed().as_secs_f64()));
    }
    let passed = results.iter().filter(|r| r.1.is_ok()).count();
    let failed = results.len() - passed;
    println!(
        "\nvmlab test summary ({:.0} s):",
        t0.elapsed().as_secs_f64()
    );
    for (name, r, secs) in &results {
        match r {
            Ok(()) => println!("  ok    {name} ({secs:.1} s)"),
            Err(e) => println!(
                "  FAIL  {name} ({secs:.1} s): {}",
                e.lines().next().unwrap_or("")
            ),
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// wasm-bindgen-test in headless Chromium through chromedriver; `crates/web/webdriver.json` adds
/// the flags a closed network and a root user need.
fn wasm_tests(ctx: &Ctx) -> Result<(), String> {
    let mut c = ctx.cmd(
        "cargo",
        &[
            "test",
            "-p",
            "vmlab-web",
            "--target",
            "wasm32-unknown-unknown",
        ],
    );
    c.current_dir(ctx.root.join("crates/web"))
        .env("CHROMEDRIVER", "/usr/bin/chromedriver");
    // The runner's default is 20 s per test binary; tests/random.rs replays 1,000 random
    // workloads in a debug build (about a minute on 2 cores).
    if std::env::var_os("WASM_BINDGEN_TEST_TIMEOUT").is_none() {
        c.env("WASM_BINDGEN_TEST_TIMEOUT", "600");
    }
    run_cmd(&mut c)
}

/// The end-to-end test: node serves dist/ on 127.0.0.1 and drives Debian's Chromium.
fn e2e(ctx: &Ctx) -> Result<(), String> {
    let mut c = ctx.cmd("node", &["crates/web/e2e/e2e.cjs"]);
    c.env("NODE_PATH", ctx.root.join(".tools/node_modules"));
    run_cmd(&mut c)
}
