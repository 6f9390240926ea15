//! The real kernel against the simulator, in wall time (issue 7, "Benchmark"): the seed's fork
//! scenario (scenarios/fork-after-merge.vmlab) and a scenario that touches 1 GiB, forks and
//! rewrites half of it, each run on this host through the real backend and in the simulator
//! (booted with the host's configuration, as `vmlab check` does). Figures are printed with
//! their targets (the simulator ≥ 100× and ≥ 1000× faster); nothing is asserted.
//!
//! `cargo bench -p vmlab-os --bench real_vs_sim` (also part of `cargo xtask bench`). The real
//! side needs root; without it the bench says so and prints the simulator's times only.

use std::time::{Duration, Instant};
use vmlab_core::op::Op;
use vmlab_core::scenario::{parse, Scenario};
use vmlab_core::sim::{RunItem, Runner};
use vmlab_os::{Backend, HelperCommand, RealMachine, RealOptions, ScenarioSysctls};

/// 1 GiB written, a fork, the child rewrites half of it (1.5 GiB of real memory at the peak).
const TOUCH_FORK_REWRITE: &str = "machine linux ram=24GiB overcommit=0\n\
    spawn app\n\
    app mmap m 1GiB rw private anon\n\
    app write m\n\
    app fork child\n\
    child write m[0..512MiB]\n\
    child exit\n\
    app exit\n";

/// One simulated run of every step, with the host's machine configuration.
fn simulate(s: &Scenario) -> Duration {
    let t = Instant::now();
    let mut runner = Runner::new(s, None);
    let mut steps = 0u32;
    while let Some(item) = runner.next_item() {
        if let RunItem::Step(_) = item {
            steps += 1;
        }
    }
    assert!(runner.error().is_none() && steps > 0, "the scenario runs");
    t.elapsed()
}

/// The median of `simulate` over enough runs to last ~200 ms.
fn simulate_median(s: &Scenario) -> Duration {
    let once = simulate(s);
    let n = (Duration::from_millis(200).as_nanos() / once.as_nanos().max(1)).clamp(5, 10_000);
    let mut v: Vec<Duration> = (0..n).map(|_| simulate(s)).collect();
    v.sort();
    v[v.len() / 2]
}

/// Every operation applied to the real machine, from the first spawn to the last exit.
fn real(s: &Scenario, touch_limit_bytes: u64) -> Result<Duration, String> {
    let vmlab_core::config::MachineConfig::Linux(host) =
        vmlab_os::host::host_config().map_err(|e| e.to_string())?
    else {
        unreachable!("a Linux machine")
    };
    let vmlab_core::config::MachineConfig::Linux(cfg) = &s.machine else {
        unreachable!("a Linux machine")
    };
    let mut m = RealMachine::start(&RealOptions {
        helper: HelperCommand {
            program: env!("CARGO_BIN_EXE_vmlab-os-helper").into(),
            args: Vec::new(),
        },
        sysctls: ScenarioSysctls::of(cfg),
        ram_bytes: host.ram_bytes,
        swap_bytes: host.swap_bytes,
        touch_limit_bytes,
    })
    .map_err(|e| e.to_string())?;
    let ops: Vec<Op> = s.ops().map(|(_, op)| op.clone()).collect();
    let t = Instant::now();
    for op in &ops {
        m.apply(op).map_err(|e| e.to_string())?;
    }
    let d = t.elapsed();
    drop(m);
    Ok(d)
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios/fork-after-merge.vmlab"),
    )
    .expect("scenarios/fork-after-merge.vmlab");
    let host = vmlab_os::host::host_config().expect("the host's configuration");
    for (name, text, target, touch) in [
        ("fork-after-merge.vmlab", seed.as_str(), 100.0, 0u64),
        (
            "touch 1 GiB, fork, rewrite half",
            TOUCH_FORK_REWRITE,
            1000.0,
            3 << 29,
        ),
    ] {
        let s = parse(text).expect("the scenario parses");
        let mut sim_s = s.clone();
        sim_s.machine = vmlab_os::check::sim_config_for(&s, &host);
        let sim = simulate_median(&sim_s);
        print!("{name:<34} simulated {:>10.3} ms", sim.as_secs_f64() * 1e3);
        if !vmlab_os::is_root() {
            println!("   real: SKIPPED (needs root)");
            continue;
        }
        match real(&s, touch) {
            Ok(r) => println!(
                "   real {:>10.3} ms   ratio {:>9.0}×   (target ≥ {target}×)",
                r.as_secs_f64() * 1e3,
                r.as_secs_f64() / sim.as_secs_f64().max(1e-9)
            ),
            Err(e) => println!("   real: could not run: {e}"),
        }
    }
}
