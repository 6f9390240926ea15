//! The Windows model at scale (issue 10): a 1 TiB reservation, then 100,000 commits of 64 KiB
//! scattered through it (every other 64 KiB block, so the page runs stay distinct), a touch of
//! each, a trimming pass as RAM runs short, and VirtualQuery of the whole region list. The
//! figures (wall time per phase, time per operation, page runs) are printed; nothing asserts
//! time.
//!
//! `cargo bench -p vmlab-core --bench windows`.

use std::time::Instant;
use vmlab_core::config::{MachineConfig, PagefileConfig, WindowsConfig};
use vmlab_core::machine::Machine;
use vmlab_core::op::{Op, Outcome};
use vmlab_core::windows::op::*;

const KIB: u64 = 1 << 10;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

fn op(w: WinOp) -> Op {
    Op::Win(w)
}

fn main() {
    let mut c = WindowsConfig::new(4 * GIB);
    c.pagefile = PagefileConfig::Sized {
        initial_bytes: 4 * GIB,
        max_bytes: 16 * GIB,
    };
    c.disk_bytes = TIB;
    let mut m = Machine::boot(&MachineConfig::Windows(c));
    let p = "app".to_string();
    m.apply(&op(WinOp::Spawn {
        name: p.clone(),
        container: None,
    }))
    .expect("spawn");
    let t = Instant::now();
    let (o, _) = m
        .apply(&op(WinOp::VirtualAlloc {
            proc: p.clone(),
            name: Some("big".into()),
            address: WinAddr::Null,
            size: TIB,
            allocation_type: MEM_RESERVE,
            protect: PAGE_READWRITE,
        }))
        .expect("reserve");
    assert!(
        matches!(o, Outcome::Base(_)),
        "the 1 TiB reservation: {o:?}"
    );
    let reserve = t.elapsed();
    let n: u64 = 100_000;
    let at = |i: u64| WinAddr::In {
        region: "big".into(),
        offset: i * 128 * KIB,
    };
    let t = Instant::now();
    for i in 0..n {
        let (o, _) = m
            .apply(&op(WinOp::VirtualAlloc {
                proc: p.clone(),
                name: None,
                address: at(i),
                size: 64 * KIB,
                allocation_type: MEM_COMMIT,
                protect: PAGE_READWRITE,
            }))
            .expect("commit");
        assert!(matches!(o, Outcome::Base(_)), "commit {i}: {o:?}");
    }
    let commits = t.elapsed();
    let t = Instant::now();
    for i in 0..n {
        m.apply(&op(WinOp::Touch {
            proc: p.clone(),
            address: at(i),
            size: 64 * KIB,
            write: true,
        }))
        .expect("touch");
    }
    let touches = t.elapsed();
    let t = Instant::now();
    let text = m
        .windows_view("VirtualQuery", Some("app"))
        .expect("VirtualQuery");
    let query = t.elapsed();
    let w = m.as_windows().expect("a Windows machine");
    let proc = w.procs.values().next().expect("app");
    let runs = proc.space.pages.len();
    let s = &w.systems[0];
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "windows: 1 TiB MEM_RESERVE in {:.1} µs",
        reserve.as_secs_f64() * 1e6
    );
    println!(
        "windows: {n} MEM_COMMITs of 64 KiB in {:.3} s ({:.2} µs each)",
        commits.as_secs_f64(),
        per(commits)
    );
    println!(
        "windows: {n} touches of 64 KiB in {:.3} s ({:.2} µs each); {} MiB resident, {} MiB in the page file",
        touches.as_secs_f64(),
        per(touches),
        s.resident * 4 / 1024,
        s.paged * 4 / 1024
    );
    println!(
        "windows: VirtualQuery of {} regions in {:.3} s; {runs} page runs in the process",
        text.matches("region at").count(),
        query.as_secs_f64()
    );
}
