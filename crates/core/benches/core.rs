//! The core's speed and memory figures (issue #2): a mixed workload of 1M operations over 100
//! processes, fork of a process with 10,000 VMAs and 1,000,000 resident runs, and the memory a
//! 1 TiB-RAM, 100 TiB-of-mappings machine uses. Figures are printed; nothing here asserts time.

// The counting allocator below is the only unsafe code, and only in this benchmark.
#![allow(unsafe_code)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use vmlab_core::config::{LinuxConfig, MachineConfig, OvercommitMode};
use vmlab_core::machine::Machine;
use vmlab_core::op::*;

/// Counts live heap bytes so the memory benchmark can report them.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let n = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(n, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: p was allocated by System with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const PAGE: u64 = 4096;
const MIB: u64 = 1 << 20;

fn linux(ram: u64) -> Machine {
    let mut c = LinuxConfig::new(ram);
    c.sysctls.overcommit_memory = OvercommitMode::Always;
    Machine::boot(&MachineConfig::Linux(c))
}

fn apply(m: &mut Machine, op: &Op) {
    let _ = black_box(m.apply(op));
}

fn mmap(proc: &str, name: &str, len: u64, placement: Placement) -> Op {
    Op::Mmap {
        proc: proc.into(),
        name: name.into(),
        len: Size::Bytes(len),
        prot: Prot::RW,
        shared: false,
        backing: Backing::Anon,
        noreserve: false,
        populate: false,
        growsdown: false,
        locked: false,
        hugetlb: false,
        placement,
    }
}

fn range(name: &str, a: u64, b: u64) -> Target {
    Target {
        mapping: name.into(),
        range: Some((Size::Bytes(a), Size::Bytes(b))),
    }
}

/// 1M operations over 100 processes: page writes and reads, DONTNEED, mprotect, and mmap/munmap
/// of short-lived mappings, from a fixed xorshift stream.
fn mixed_ops() -> (Machine, Vec<Op>) {
    let mut m = linux(64 << 30);
    for p in 0..100 {
        let name = format!("p{p}");
        apply(
            &mut m,
            &Op::Spawn {
                name: name.clone(),
                cap_sys_admin: false,
                oom_score_adj: 0,
            },
        );
        for k in 0..8 {
            apply(
                &mut m,
                &mmap(&name, &format!("m{k}"), 4 * MIB, Placement::Any),
            );
        }
    }
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut ops = Vec::with_capacity(1_000_000);
    let mut temp = 0u64;
    let mut temps: Vec<Vec<String>> = vec![Vec::new(); 100];
    while ops.len() < 1_000_000 {
        let pi = next(100) as usize;
        let proc = format!("p{pi}");
        let map = format!("m{}", next(8));
        let page = next(1024);
        let len = 1 + next(16);
        let (a, b) = (page * PAGE, ((page + len).min(1024)) * PAGE);
        let op = match next(20) {
            0..=9 => Op::Access {
                proc,
                target: range(&map, a, b),
                write: true,
            },
            10..=13 => Op::Access {
                proc,
                target: range(&map, a, b),
                write: false,
            },
            14 => Op::Madvise {
                proc,
                target: range(&map, a, b),
                advice: Advice::DontNeed,
            },
            15 => Op::Mprotect {
                proc,
                target: range(&map, a, b),
                prot: if next(2) == 0 { Prot::R } else { Prot::RW },
            },
            16..=17 => {
                temp += 1;
                let n = format!("t{temp}");
                ops.push(mmap(&proc, &n, (1 + next(8)) * PAGE, Placement::Any));
                temps[pi].push(n.clone());
                Op::Access {
                    proc: proc.clone(),
                    target: Target::whole(&n),
                    write: true,
                }
            }
            _ => match temps[pi].pop() {
                Some(n) => Op::Munmap {
                    proc,
                    target: Target::whole(&n),
                },
                None => continue,
            },
        };
        ops.push(op);
    }
    ops.truncate(1_000_000);
    (m, ops)
}

fn bench_mixed(c: &mut Criterion) {
    let (m0, ops) = mixed_ops();
    // One timed pass first, for the printed figure.
    let mut m = m0.clone();
    let t = Instant::now();
    for op in &ops {
        apply(&mut m, op);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "FIGURE mixed workload: {} ops over 100 processes in {:.3} s = {:.0} ops/s",
        ops.len(),
        secs,
        ops.len() as f64 / secs
    );
    let mut g = c.benchmark_group("mixed");
    g.sample_size(10);
    g.bench_function("1M ops / 100 processes", |b| {
        b.iter_batched(
            || m0.clone(),
            |mut m| {
                for op in &ops {
                    apply(&mut m, op);
                }
                m
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A process with 10,000 VMAs and 1,000,000 resident runs (every other page written).
fn big_process() -> Machine {
    let mut m = linux(256 << 30);
    apply(
        &mut m,
        &Op::Spawn {
            name: "big".into(),
            cap_sys_admin: false,
            oom_score_adj: 0,
        },
    );
    for v in 0..10_000u64 {
        let placement = if v == 0 {
            Placement::Any
        } else {
            Placement::Below {
                of: format!("v{}", v - 1),
                gap: PAGE,
            }
        };
        apply(
            &mut m,
            &mmap("big", &format!("v{v}"), 200 * PAGE, placement),
        );
        let name = format!("v{v}");
        for k in 0..100u64 {
            apply(
                &mut m,
                &Op::Access {
                    proc: "big".into(),
                    target: range(&name, 2 * k * PAGE, (2 * k + 1) * PAGE),
                    write: true,
                },
            );
        }
    }
    m
}

fn bench_fork(c: &mut Criterion) {
    let t = Instant::now();
    let m0 = big_process();
    let lm = m0.as_linux().unwrap();
    let mm = &lm.mms[&lm.procs[&lm.by_name["big"]].mm.unwrap()];
    println!(
        "FIGURE fork setup: {} VMAs, {} page-table runs, built in {:.1} s",
        mm.vmas.len(),
        mm.pt.len(),
        t.elapsed().as_secs_f64()
    );
    let fork = Op::Fork {
        parent: "big".into(),
        child: "child".into(),
        kind: ForkKind::Fork,
    };
    let mut times = Vec::new();
    for _ in 0..20 {
        let mut m = m0.clone();
        let t = Instant::now();
        apply(&mut m, &fork);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("FIGURE fork of 10,000 VMAs / 1,000,000 resident runs: median {:.3} ms (min {:.3}, max {:.3})", times[10], times[0], times[19]);
    // The first COW write after the fork copies one chunk, not the page table.
    let mut m = m0.clone();
    apply(&mut m, &fork);
    let t = Instant::now();
    apply(
        &mut m,
        &Op::Access {
            proc: "child".into(),
            target: range("v5000", 0, PAGE),
            write: true,
        },
    );
    println!(
        "FIGURE first COW write in the child after that fork: {:.3} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut g = c.benchmark_group("fork");
    g.sample_size(20);
    g.bench_function("10k VMAs, 1M resident runs", |b| {
        b.iter_batched(
            || m0.clone(),
            |mut m| {
                apply(&mut m, &fork);
                m
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Memory of a 1 TiB-RAM machine with 100 TiB of mappings, against one with 10 TiB: the same
/// number of VMAs and runs costs the same, whatever the size in pages.
fn bench_memory(_c: &mut Criterion) {
    for (label, each) in [("10 TiB", 1u64 << 40 >> 3), ("100 TiB", 1u64 << 40)] {
        let before = LIVE.load(Ordering::Relaxed);
        let mut m = linux(1 << 40);
        apply(
            &mut m,
            &Op::Spawn {
                name: "p".into(),
                cap_sys_admin: false,
                oom_score_adj: 0,
            },
        );
        let n = if label == "100 TiB" { 100 } else { 80 };
        for k in 0..n {
            let placement = if k == 0 {
                Placement::At(0x1000_0000)
            } else {
                Placement::Above {
                    of: format!("m{}", k - 1),
                    gap: PAGE,
                }
            };
            apply(&mut m, &mmap("p", &format!("m{k}"), each, placement));
            // A few touched stretches per mapping: 1,000 runs each.
            for r in 0..1000u64 {
                let a = r * (each / 1000) / PAGE * PAGE;
                apply(
                    &mut m,
                    &Op::Access {
                        proc: "p".into(),
                        target: range(&format!("m{k}"), a, a + 16 * PAGE),
                        write: r % 2 == 0,
                    },
                );
            }
        }
        let live = LIVE.load(Ordering::Relaxed) - before;
        let lm = m.as_linux().unwrap();
        let mm = &lm.mms[&lm.procs[&lm.by_name["p"]].mm.unwrap()];
        println!(
            "FIGURE memory, 1 TiB RAM, {} mappings of {} GiB each ({} TiB mapped): {} VMAs, {} page-table runs, {:.1} MiB of heap",
            n,
            each >> 30,
            (n as u64 * each) >> 40,
            mm.vmas.len(),
            mm.pt.len(),
            live as f64 / MIB as f64
        );
        drop(m);
    }
}

criterion_group!(benches, bench_memory, bench_fork, bench_mixed);
criterion_main!(benches);
