//! mremap of a sub-range, MREMAP_FIXED and MREMAP_DONTUNMAP (mm/mremap.c): each check's errno,
//! the VMA split, the pages that move, and the Committed_AS figures, on 6.18 and the older eras.

mod common;
use common::*;
use vmlab_core::config::MachineConfig;
use vmlab_core::op::*;
use vmlab_core::scenario::parse;
use vmlab_core::scenario::StmtKind;

/// The lines of `body` after `spawn p` and a 4 MiB private anonymous `m` at 0x300000000000, run
/// on `kernel`; the outcome of each line of `body`.
fn run(kernel: &str, body: &str) -> (Lab, Vec<Outcome>) {
    let text = format!(
        "machine linux ram=8GiB kernel={kernel}\nspawn p\np mmap m 4MiB rw private anon at=0x300000000000\n{body}"
    );
    let s = parse(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    let MachineConfig::Linux(cfg) = s.machine else {
        unreachable!("a Linux machine")
    };
    let mut lab = Lab::with(cfg);
    let mut out = vec![];
    for st in s.stmts {
        if let StmtKind::Op(op) = st.kind {
            out.push(lab.op(op));
        }
    }
    (lab, out.split_off(2))
}

fn sources(l: &Lab) -> Vec<&'static str> {
    l.last_events.iter().map(|e| e.source()).collect()
}

const M: u64 = 0x3000_0000_0000;
const EINVAL: Outcome = Outcome::Err(Errno::EINVAL);
const EFAULT: Outcome = Outcome::Err(Errno::EFAULT);

#[test]
fn each_flag_rule_is_einval_in_check_mremap_params() {
    let (l, o) = run(
        "6.18",
        "p mremap m[1MiB..2MiB] 1MiB at=0x300010000000\n\
         p mremap m[1MiB..2MiB] 1MiB dontunmap\n\
         p mremap m[1MiB..2MiB] 2MiB maymove dontunmap\n\
         p mremap m[1MiB..2MiB] 1MiB maymove at=0x300000180000\n\
         p mremap m[1MiB..2MiB] 1MiB maymove at=0x300010000800\n\
         p mremap m[1KiB..2MiB] 1MiB maymove\n\
         p mremap m[1MiB..2MiB] 1MiB maymove below=m gap=100TiB\n",
    );
    assert_eq!(o, vec![EINVAL; 7]);
    // Nothing was split, moved or charged.
    assert_eq!(l.vmas("p"), 1);
    assert!(sources(&l).contains(&"mm/mremap.c: check_mremap_params"));
}

#[test]
fn a_fixed_move_of_a_sub_range_splits_and_carries_its_pages() {
    let (mut l, o) = run(
        "6.18",
        "p write m\n\
         p mremap m[1MiB..2MiB] 1MiB maymove above=m gap=1MiB as=piece\n",
    );
    assert_eq!(o, vec![Outcome::Ok; 2]);
    assert_eq!(l.addr("p", "piece"), M + 5 * MB);
    // m is now [0, 1MiB) and [2MiB, 4MiB); the piece holds its 1 MiB of pages.
    assert_eq!(l.vmas("p"), 3);
    assert_eq!(l.smaps_kb("p", "piece", "Rss"), 1024);
    assert_eq!(l.status_kb("p", "RssAnon"), 4096);
    let c = l.committed_kb();
    // Growing the piece in place charges the growth only.
    assert_eq!(
        l.op(remap("piece", None, 2 * MB, true, None, false)),
        Outcome::Ok
    );
    assert_eq!(l.committed_kb(), c + 1024);
}

fn remap(
    mapping: &str,
    range: Option<(u64, u64)>,
    new_len: u64,
    may_move: bool,
    at: Option<u64>,
    dontunmap: bool,
) -> Op {
    Op::Mremap {
        proc: "p".into(),
        mapping: mapping.into(),
        range: range.map(|(a, b)| (Size::Bytes(a), Size::Bytes(b))),
        new_len: Size::Bytes(new_len),
        may_move,
        to: at.map_or(Placement::Any, Placement::At),
        dontunmap,
        rename: None,
    }
}

#[test]
fn mremap_fixed_unmaps_the_target_and_gives_its_charge_back() {
    let (mut l, o) = run(
        "6.18",
        "p mmap t 2MiB rw private anon at=0x300001000000\n\
         p write t\n\
         p write m[0..1MiB]\n",
    );
    assert_eq!(o, vec![Outcome::Ok; 3]);
    let c = l.committed_kb();
    let mut op = remap("m", Some((0, MB)), 2 * MB, true, Some(M + 16 * MB), false);
    if let Op::Mremap { rename, .. } = &mut op {
        *rename = Some("grown".into());
    }
    assert_eq!(l.op(op), Outcome::Ok);
    // t's 2 MiB are uncharged and its pages freed; the growth (1 MiB) is charged.
    assert_eq!(l.committed_kb(), c - 2048 + 1024);
    assert!(sources(&l).contains(&"mm/vma.c: vms_complete_munmap_vmas → vm_unacct_memory"));
    assert_eq!(l.addr("p", "grown"), M + 16 * MB);
    assert_eq!(l.smaps_kb("p", "grown", "Rss"), 1024);
    assert_eq!(l.status_kb("p", "RssAnon"), 1024);
}

#[test]
fn dontunmap_charges_the_whole_length_again_and_leaves_the_old_range_empty() {
    let (mut l, o) = run(
        "6.18",
        "p write m\n\
         p mremap m[2MiB..3MiB] 1MiB maymove dontunmap at=0x300002000000 as=copy\n",
    );
    assert_eq!(o, vec![Outcome::Ok; 2]);
    assert_eq!(l.smaps_kb("p", "copy", "Rss"), 1024);
    // m is one VMA still (nothing unmapped, nothing split), with `ac` and its 4 MiB charge;
    // 3 MiB of its pages are left.
    assert_eq!(l.vmas("p"), 2);
    assert!(l.flags("p", "m").contains("ac"));
    assert_eq!(l.smaps_kb("p", "m", "Rss"), 3072);
    // A fault in the old range is a fresh zero-fill: a write there is new RSS.
    assert_eq!(l.write("p", sub("m", 2 * MB, 3 * MB)), Outcome::Ok);
    assert_eq!(l.status_kb("p", "RssAnon"), 5120);
    // Unmapping the old range gives its 1 MiB back (and its new pages).
    let c = l.committed_kb();
    assert_eq!(l.munmap("p", sub("m", 2 * MB, 3 * MB)), Outcome::Ok);
    assert_eq!(l.committed_kb(), c - 1024);
    assert_eq!(l.status_kb("p", "RssAnon"), 4096);
}

#[test]
fn dontunmap_commit_figures_by_era() {
    // The whole new length is charged again; before 5.7 the flag is unknown.
    let delta = |kernel: &str| {
        let (mut l, o) = run(kernel, "");
        assert!(o.is_empty());
        let c = l.committed_kb();
        let r = l.op(remap("m", Some((0, MB)), MB, true, Some(M + 16 * MB), true));
        (r, l.committed_kb() as i64 - c as i64)
    };
    assert_eq!(delta("6.18"), (Outcome::Ok, 1024));
    assert_eq!(delta("5.11"), (Outcome::Ok, 1024));
    assert_eq!(delta("5.7"), (Outcome::Ok, 1024));
    assert_eq!(delta("5.6"), (EINVAL, 0));
}

#[test]
fn dontunmap_of_shared_memory_needs_5_13() {
    let body = "p mmap s 1MiB rw shared anon at=0x300004000000\n\
                p mremap s 1MiB maymove dontunmap at=0x300005000000\n";
    assert_eq!(run("6.18", body).1[1], Outcome::Ok);
    assert_eq!(run("5.13", body).1[1], Outcome::Ok);
    let (l, o) = run("5.12", body);
    assert_eq!(o[1], EINVAL);
    assert!(sources(&l).iter().any(|s| s.contains("vma_to_resize")));
}

#[test]
fn a_range_past_its_vma_is_efault_and_the_target_stays() {
    let (l, o) = run(
        "6.18",
        "p mmap t 1MiB rw private anon at=0x300001000000\n\
         p munmap m[1MiB..2MiB]\n\
         p mremap m[0..2MiB] 3MiB maymove at=0x300001000000\n\
         p mremap m[1MiB..2MiB] 1MiB maymove at=0x300001000000\n",
    );
    assert_eq!(o[2], EFAULT);
    assert_eq!(o[3], EFAULT);
    // vma_lookup and remap_is_valid come before mremap_to's do_munmap: t is still mapped.
    assert_eq!(l.vmas("p"), 3);
}

#[test]
fn a_shrinking_fixed_move_unmaps_the_tail_first() {
    let (mut l, o) = run(
        "6.18",
        "p write m\n\
         p mremap m 1MiB maymove at=0x300010000000\n",
    );
    assert_eq!(o, vec![Outcome::Ok; 2]);
    // The whole mapping's name follows it; 3 MiB were unmapped and uncharged.
    assert_eq!(l.addr("p", "m"), 0x3000_1000_0000);
    assert_eq!(l.smaps_kb("p", "m", "Rss"), 1024);
    assert_eq!(l.vmas("p"), 1);
    // 6.18 charges the 3 MiB it shrank by again (vrm->delta): Committed_AS stays at 4 MiB, and
    // unmapping the 1 MiB result leaves 3 MiB charged for good (measured: real.rs).
    assert_eq!(l.committed_kb(), 4096);
    assert_eq!(l.munmap("p", t("m")), Outcome::Ok);
    assert_eq!(l.committed_kb(), 3072);
    // 6.6 charged nothing for a shrinking move.
    let (l, _) = run("6.6", "p mremap m 1MiB maymove at=0x300010000000\n");
    assert_eq!(l.committed_kb(), 1024);
}
