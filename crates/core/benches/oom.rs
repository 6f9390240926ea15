//! Running out of memory at scale (issue 9): 100 processes write 16 GiB in all, in 4 MiB
//! steps, on an 8 GiB machine with 4 GiB of swap, while a reader streams files through the
//! page cache and every process MADV_FREEs a part of what it wrote. Thousands of reclaim and
//! OOM decisions; the figure (wall time, decisions, time per operation) is printed. A second
//! run puts the same processes in 20 memory cgroups (5 each, limits from 256 MiB to 1.2 GiB, in
//! all more than RAM), so memcg reclaim and memcg OOM kills mix with the global ones.
//!
//! `cargo bench -p vmlab-core --bench oom`.

use std::fmt::Write as _;
use std::time::Instant;
use vmlab_core::machine::Machine;
use vmlab_core::scenario::{parse, StmtKind};

/// The workload as scenario text (parsed, not run by `sim`: a process the OOM killer took
/// cannot act again, which `sim` would report as a scenario error).
fn workload(cgroups: u64) -> String {
    let procs = 100u64;
    let each_mib = 16 * 1024 / procs / 4 * 4; // 16 GiB in all, in 4 MiB steps
    let mut t = String::from("machine linux ram=8GiB swap=4GiB overcommit=1\n");
    if cgroups > 0 {
        t.push_str("cgroup create node\n");
    }
    for g in 0..cgroups {
        let _ = writeln!(
            t,
            "cgroup create node/g{g}\ncgroup node/g{g} set memory.max {}MiB",
            256 + g * 52
        );
    }
    for i in 0..procs {
        let adj = (i % 7) as i64 * 100 - 300;
        let _ = writeln!(
            t,
            "spawn p{i} admin adj={adj}\np{i} mmap m {each_mib}MiB rw private anon"
        );
        if cgroups > 0 {
            let _ = writeln!(t, "p{i} cgroup node/g{}", i % cgroups);
        }
    }
    t.push_str("spawn reader\n");
    for s in 0..each_mib / 4 {
        for i in 0..procs {
            let _ = writeln!(t, "p{i} write m[{}MiB..{}MiB]", s * 4, s * 4 + 4);
            if s % 8 == 7 {
                let _ = writeln!(t, "p{i} madvise m[{}MiB..{}MiB] free", s * 4 - 4, s * 4);
            }
        }
        let verb = if s % 2 == 0 { "write" } else { "read" };
        let _ = writeln!(
            t,
            "reader file {verb} /data/log{} 64MiB offset={}MiB",
            s % 4,
            s * 64
        );
    }
    t
}

/// One run: (operations applied, reclaim events, OOM kills, seconds).
fn run(cgroups: u64) -> (u64, u64, u64, f64) {
    let sc = parse(&workload(cgroups))
        .unwrap_or_else(|e| panic!("the workload parses: {:?}", e.first()));
    let mut m = Machine::boot(&sc.machine);
    let ops: Vec<_> = sc
        .stmts
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Op(op) => Some(op.clone()),
            StmtKind::Expect(_) => None,
        })
        .collect();
    let t = Instant::now();
    let (mut applied, mut reclaims, mut kills) = (0, 0, 0);
    for op in &ops {
        // A process the OOM killer took cannot act any more: the machine says so (an OpError).
        if let Ok((_, events)) = m.apply(op) {
            applied += 1;
            for e in &events {
                let r = e.reason();
                if r.starts_with("reclaim.") {
                    reclaims += 1;
                } else if r.starts_with("oom.kill") || r == "memcg.oom_kill" {
                    kills += 1;
                }
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    m.check_invariants().expect("invariants hold at the end");
    (applied, reclaims, kills, secs)
}

fn main() {
    for cgroups in [0, 20] {
        // Once to warm up, then the measured run.
        run(cgroups);
        let (applied, reclaims, kills, secs) = run(cgroups);
        let place = if cgroups == 0 {
            String::new()
        } else {
            format!(" in {cgroups} cgroups")
        };
        println!(
            "oom: 100 processes{place} writing 16 GiB on 8 GiB RAM + 4 GiB swap: {applied} \
             operations, {reclaims} reclaim decisions, {kills} OOM kills (global and memcg) in {:.1} ms ({:.1} µs \
             per operation)",
            secs * 1e3,
            secs * 1e6 / applied as f64
        );
    }
}
