//! `cargo xtask bench`: the core's benchmarks (criterion, in crates/core/benches), the CLI's
//! scale benchmark (crates/cli/benches/scale.rs), the real kernel against the simulator
//! (crates/os/benches/real_vs_sim.rs) and the web performance benchmark (bundle
//! size, time to interactive, ms per step and per redraw). It prints figures and asserts no
//! timings: they depend on the machine.

use crate::util::{run_cmd, Ctx};

pub fn bench(ctx: &Ctx) -> Result<(), String> {
    let mut problems = Vec::new();
    if ctx.root.join("crates/core/benches").is_dir() {
        if let Err(e) = ctx.run("cargo", &["bench", "-p", "vmlab-core"]) {
            problems.push(e);
        }
        // The CLI at scale: --json of 100,000 VMAs, the streamed trace of 10,000 forks.
        if let Err(e) = ctx.run("cargo", &["bench", "-p", "vmlab-cli", "--bench", "scale"]) {
            problems.push(e);
        }
        // The real kernel against the simulator (wall times and their ratio; root for the
        // real side).
        if let Err(e) = ctx.run(
            "cargo",
            &["bench", "-p", "vmlab-os", "--bench", "real_vs_sim"],
        ) {
            problems.push(e);
        }
    } else {
        println!(
            "bench: crates/core/benches does not exist in this tree; no core benchmarks to run"
        );
    }
    crate::setup::setup(ctx)?;
    crate::dist(ctx)?;
    let mut c = ctx.cmd("node", &["crates/web/e2e/bench.cjs"]);
    c.env("NODE_PATH", ctx.root.join(".tools/node_modules"));
    if let Err(e) = run_cmd(&mut c) {
        problems.push(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
