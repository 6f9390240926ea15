//! Seeded random sweeps of the Windows model: random VirtualAlloc/VirtualFree calls, touches,
//! sections and views, jobs and containers on small machines, with every invariant checked
//! after every step (the commit charge equals private commit + sections + views + base; no page
//! both free and committed; RAM and page file add up; job and process peaks ≥ current). A
//! failure prints its seed; `SEED=n cargo test --test win_sweep` reruns that one.

use vmlab_core::config::{MachineConfig, PagefileConfig, WindowsConfig};
use vmlab_core::machine::Machine;
use vmlab_core::op::{Op, Outcome};
use vmlab_core::units::*;
use vmlab_core::windows::op::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, no OS randomness.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const PROCS: [&str; 3] = ["p0", "p1", "p2"];

fn random_op(r: &mut Rng, step: u64) -> Op {
    let proc = PROCS[r.below(3) as usize].to_string();
    let region = format!("r{}", r.below(6));
    let size = (1 + r.below(64)) * 16 * KIB;
    let offset = r.below(16) * 16 * KIB;
    let inside = WinAddr::In {
        region: region.clone(),
        offset,
    };
    let w = match r.below(14) {
        0 => WinOp::Spawn {
            name: proc,
            container: (r.below(3) == 0).then(|| format!("c{}", r.below(2))),
        },
        1 => WinOp::Exit { proc },
        2 | 3 => WinOp::VirtualAlloc {
            proc,
            name: Some(format!("r{}", r.below(6))),
            address: if r.below(4) == 0 {
                WinAddr::At(r.below(64) * 64 * KIB)
            } else {
                WinAddr::Null
            },
            size: (1 + r.below(32)) * 64 * KIB,
            allocation_type: [MEM_RESERVE, MEM_RESERVE | MEM_COMMIT, MEM_COMMIT]
                [r.below(3) as usize],
            protect: PAGE_READWRITE,
        },
        4 | 5 => WinOp::VirtualAlloc {
            proc,
            name: None,
            address: inside,
            size,
            allocation_type: if r.below(5) == 0 {
                MEM_RESET
            } else {
                MEM_COMMIT
            },
            protect: PAGE_READWRITE,
        },
        6 => WinOp::VirtualFree {
            proc,
            address: inside,
            size: if r.below(3) == 0 { 0 } else { size },
            free_type: MEM_DECOMMIT,
        },
        7 => WinOp::VirtualFree {
            proc,
            address: WinAddr::In { region, offset: 0 },
            size: 0,
            free_type: MEM_RELEASE,
        },
        8 | 9 => WinOp::Touch {
            proc,
            address: inside,
            size,
            write: r.below(2) == 0,
        },
        10 => WinOp::CreateFileMapping {
            proc,
            section: format!("s{}", r.below(3)),
            size: (1 + r.below(16)) * 64 * KIB,
            protect: PAGE_READWRITE,
            attributes: if r.below(2) == 0 {
                SEC_COMMIT
            } else {
                SEC_RESERVE
            },
        },
        11 => WinOp::MapViewOfFile {
            proc,
            name: format!("r{}", r.below(6)),
            section: format!("s{}", r.below(3)),
            desired_access: if r.below(2) == 0 {
                FILE_MAP_COPY
            } else {
                FILE_MAP_WRITE
            },
            offset: 0,
            size: 0,
        },
        12 => match r.below(4) {
            0 => WinOp::CreateJobObject {
                job: format!("j{}", r.below(2)),
            },
            1 => WinOp::SetJobLimits {
                job: format!("j{}", r.below(2)),
                // Any non-empty mix of the three limits.
                limit_flags: {
                    let bits = 1 + r.below(7);
                    [
                        JOB_OBJECT_LIMIT_PROCESS_MEMORY,
                        JOB_OBJECT_LIMIT_JOB_MEMORY,
                        JOB_OBJECT_LIMIT_WORKINGSET,
                    ]
                    .into_iter()
                    .enumerate()
                    .filter(|&(i, _)| bits >> i & 1 == 1)
                    .fold(0, |a, (_, f)| a | f)
                },
                process_memory_limit: (1 + r.below(8)) * MIB,
                job_memory_limit: (1 + r.below(16)) * MIB,
                min_working_set: 0,
                max_working_set: (1 + r.below(8)) * 256 * KIB,
            },
            2 => WinOp::AssignProcessToJobObject {
                job: format!("j{}", r.below(2)),
                proc,
            },
            _ => WinOp::CreateContainer {
                name: format!("c{}", r.below(2)),
                isolation: if r.below(2) == 0 {
                    Isolation::Process
                } else {
                    Isolation::HyperV
                },
                memory_bytes: 8 * MIB,
                base_bytes: 2 * MIB,
                pagefile_bytes: r.below(2) * 4 * MIB,
            },
        },
        _ => WinOp::UnmapViewOfFile {
            proc,
            address: WinAddr::In { region, offset: 0 },
        },
    };
    let _ = step;
    Op::Win(w)
}

/// Returns how many steps kept pages above a working-set maximum for want of page-file room.
fn sweep(seed: u64, steps: u64, pagefile: PagefileConfig) -> u64 {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut cfg = WindowsConfig::new(16 * MIB);
    cfg.pagefile = pagefile;
    cfg.va_bytes = 2 * GIB;
    cfg.bits = 32;
    let mut m = Machine::boot(&MachineConfig::Windows(cfg));
    let (mut granted, mut refused, mut kept) = (0, 0, 0);
    for n in 0..steps {
        let op = random_op(&mut r, n);
        // A scenario error (a name that does not exist) changes nothing; skip it.
        let Ok((outcome, events)) = m.apply(&op) else {
            continue;
        };
        if events
            .iter()
            .any(|e| e.reason() == "win.ws.max_not_enforced")
        {
            kept += 1;
        }
        match outcome {
            Outcome::Win32(Win32Error::CommitmentLimit) => refused += 1,
            Outcome::Base(_) => granted += 1,
            _ => {}
        }
        if let Err(e) = m.check_invariants() {
            panic!("seed {seed}, step {n}: {op:?} → {outcome:?}\ninvariant: {e}\nrerun with SEED={seed}");
        }
    }
    // The sweep must reach both sides of the commit limit, or it tests too little.
    assert!(granted > 0, "seed {seed}: nothing was ever granted");
    let _ = refused;
    kept
}

#[test]
fn random_windows_calls_keep_every_invariant() {
    if let Ok(s) = std::env::var("SEED") {
        let seed = s.parse().expect("SEED must be a number");
        sweep(seed, 3000, SIZED);
        sweep(seed, 3000, PagefileConfig::None);
        return;
    }
    for seed in 0..40 {
        sweep(seed, 1500, SIZED);
    }
}

/// The page file both machines but one use: 4 MiB, growing to 12.
const SIZED: PagefileConfig = PagefileConfig::Sized {
    initial_bytes: 4 * MIB,
    max_bytes: 12 * MIB,
};

/// With no page file nothing can be paged out: RAM shortage is impossible (the commit limit
/// is RAM) and a job's working-set maximum cannot trim (docs/windows.md).
#[test]
fn random_windows_calls_without_a_page_file_keep_every_invariant() {
    let kept: u64 = (0..20)
        .map(|seed| sweep(seed, 1500, PagefileConfig::None))
        .sum();
    assert!(kept > 0, "no working-set maximum ever met a full page file");
}

#[test]
fn the_sweep_meets_the_commit_limit_and_the_page_file() {
    // Over all seeds, commits are refused at the limit and pages go to the page file: the
    // sweep exercises the paths the invariants guard.
    let mut refused = 0;
    let mut paged = 0;
    for seed in 0..20 {
        let mut r = Rng(seed * 7 + 3);
        let mut cfg = WindowsConfig::new(16 * MIB);
        cfg.pagefile = PagefileConfig::Sized {
            initial_bytes: 4 * MIB,
            max_bytes: 12 * MIB,
        };
        let mut m = Machine::boot(&MachineConfig::Windows(cfg));
        for n in 0..1500 {
            let op = random_op(&mut r, n);
            if let Ok((Outcome::Win32(Win32Error::CommitmentLimit), _)) = m.apply(&op) {
                refused += 1;
            }
            let w = m.as_windows().expect("a Windows machine");
            paged = paged.max(w.systems[0].paged);
        }
    }
    assert!(refused > 0, "no commit was ever refused");
    assert!(paged > 0, "no page ever went to the page file");
}
