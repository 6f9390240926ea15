//! The core at scale (issue "The core at scale and under hostile input"): the scenarios that
//! were quadratic or worse, parsed and run through `sim::Runner` (which keeps no steps), with
//! their targets, and the cost per operation from 10^3 to 10^5 operations for each shape.
//! Figures are printed; nothing here asserts time (it depends on the machine).
//!
//! `cargo bench -p vmlab-core --bench scale` (also part of `cargo xtask bench`).

use criterion::{criterion_group, criterion_main, Criterion};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};
use vmlab_core::scenario::parse;
use vmlab_core::sim::Runner;

/// `n` single-page writes scattered over a 64 GiB mapping (a fixed xorshift sequence).
fn scattered_writes(n: u64) -> String {
    let mut t =
        String::from("machine linux ram=128GiB\nspawn app\napp mmap big 64GiB rw private anon\n");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let page = x % (16 << 20);
        let _ = writeln!(t, "app write big[{}KiB..{}KiB]", page * 4, page * 4 + 4);
    }
    t
}

/// A fork chain `n` deep: each child forks the next and writes one page of its own.
fn fork_chain(n: u64) -> String {
    let mut t = String::from(
        "machine linux ram=64GiB overcommit=1\nspawn p0\np0 mmap m 1GiB rw private anon\np0 write m[0..4MiB]\n",
    );
    for i in 1..=n {
        let _ = writeln!(t, "p{} fork p{i}", i - 1);
        let _ = writeln!(t, "p{i} write m[{}KiB..{}KiB]", i * 4, i * 4 + 4);
    }
    t
}

/// `n` processes, each mapping and writing 1 MiB (on a machine large enough that no OOM kill
/// happens: the global OOM killer scans every process, as select_bad_process does).
fn many_processes(n: u64) -> String {
    let mut t = String::from("machine linux ram=256GiB overcommit=1\n");
    for i in 0..n {
        let _ = writeln!(
            t,
            "spawn p{i}\np{i} mmap m 1MiB rw private anon\np{i} write m"
        );
    }
    t
}

/// `n` one-page mmaps with default placement that do not merge (protections alternate).
fn unmerged_mmaps(n: u64) -> String {
    let mut t =
        String::from("machine linux ram=64GiB overcommit=1 max_map_count=1000000\nspawn app\n");
    for i in 0..n {
        let prot = if i % 2 == 0 { "rw" } else { "r" };
        let _ = writeln!(t, "app mmap m{i} 4KiB {prot} private anon");
    }
    t
}

/// A process with 1,000 VMAs forks and its child exits, `n` times.
fn fork_exit(n: u64) -> String {
    let mut t = String::from("machine linux ram=64GiB overcommit=1\nspawn app\n");
    for i in 0..1000 {
        let prot = if i % 2 == 0 { "rw" } else { "r" };
        let _ = writeln!(t, "app mmap m{i} 4KiB {prot} private anon");
    }
    for i in 0..n {
        let _ = writeln!(t, "app fork c{i}\nc{i} exit");
    }
    t
}

/// Parse and run a scenario to its end without keeping its steps; returns (parse, run) times
/// and the number of operations run.
fn parse_and_run(text: &str) -> (Duration, Duration, u32) {
    let t0 = Instant::now();
    let s = parse(text).expect("the generated scenario parses");
    let parsed = t0.elapsed();
    let mut r = Runner::new(&s, None);
    while let Some(item) = r.next_item() {
        black_box(item);
    }
    assert!(r.error().is_none(), "the generated scenario runs");
    let steps = r.steps();
    let ran = t0.elapsed() - parsed;
    // Tear-down is not part of a step.
    std::mem::forget(r);
    (parsed, ran, steps)
}

struct Shape {
    name: &'static str,
    make: fn(u64) -> String,
    /// The size the issue's table names, and its target for parse + run.
    size: u64,
    target: &'static str,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "scattered single-page writes in 64 GiB",
        make: scattered_writes,
        size: 40_000,
        target: "< 1 s",
    },
    Shape {
        name: "fork chain, each child writes a page",
        make: fork_chain,
        size: 2_000,
        target: "< 1 s",
    },
    Shape {
        name: "processes mapping and writing 1 MiB",
        make: many_processes,
        size: 20_000,
        target: "< 1 s",
    },
    Shape {
        name: "mmaps that do not merge, default placement",
        make: unmerged_mmaps,
        size: 100_000,
        target: "< 1 s",
    },
    Shape {
        name: "fork+exit of a process with 1,000 VMAs",
        make: fork_exit,
        size: 10_000,
        target: "< 2 s",
    },
];

/// The issue's table, row by row: the time of each scenario at the size it names.
fn table(_c: &mut Criterion) {
    println!("\nscale: the issue's scenarios, parse + run (no trace printed; the CLI's scale bench times the whole process)");
    println!(
        "{:<46} {:>8} {:>9} {:>9} {:>9}  target",
        "scenario", "size", "ops", "parse", "run"
    );
    for s in SHAPES {
        let text = (s.make)(s.size);
        let (p, r, ops) = parse_and_run(&text);
        println!(
            "{:<46} {:>8} {:>9} {:>7.0}ms {:>7.0}ms  {} (parse+run {:.2} s)",
            s.name,
            s.size,
            ops,
            p.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3,
            s.target,
            (p + r).as_secs_f64()
        );
    }
}

/// Cost per operation at 10^3, 10^4 and 10^5 operations: flat within 2× is the target. A fork
/// chain is the exception the model shares with the kernel: fork copies the mapcount of every
/// frame run the parent maps (copy_page_range is O(ptes)), and the parent at depth d maps d runs.
fn flatness(_c: &mut Criterion) {
    println!("\nscale: run time per operation (µs/op) by scenario size");
    println!(
        "{:<46} {:>9} {:>9} {:>9}  max/min",
        "scenario", "10^3", "10^4", "10^5"
    );
    for s in SHAPES {
        let sizes: &[u64] = match s.name {
            // Each step adds a process; depth 10^5 would map 5·10^9 frame runs in all.
            n if n.starts_with("fork chain") => &[250, 2_500],
            // The number of operations is 1,000 mmaps plus two per fork.
            n if n.starts_with("fork+exit") => &[500, 5_000, 50_000],
            _ => &[1_000, 10_000, 100_000],
        };
        let mut per_op = Vec::new();
        for &n in sizes {
            let (_, r, ops) = parse_and_run(&(s.make)(n));
            per_op.push(r.as_secs_f64() * 1e6 / ops as f64);
        }
        let max = per_op.iter().cloned().fold(0.0, f64::max);
        let min = per_op.iter().cloned().fold(f64::MAX, f64::min);
        let cells: Vec<String> = per_op.iter().map(|u| format!("{u:>9.2}")).collect();
        println!(
            "{:<46} {}  {:.1}×{}",
            s.name,
            cells.join(" "),
            max / min,
            if sizes.len() < 3 {
                " (10^3 → 10^4 ops)"
            } else {
                ""
            }
        );
    }
}

/// Criterion's own statistics for the two shapes that matter most to later issues.
fn criterion_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let writes = scattered_writes(40_000);
    g.bench_function("40k scattered writes, parse+run", |b| {
        b.iter(|| parse_and_run(&writes))
    });
    let mmaps = unmerged_mmaps(100_000);
    g.bench_function("100k unmerged mmaps, parse+run", |b| {
        b.iter(|| parse_and_run(&mmaps))
    });
    g.finish();
}

criterion_group!(benches, table, flatness, criterion_rows);
criterion_main!(benches);
