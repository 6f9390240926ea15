//! Kernel-version behaviour (model-spec L2.3, L4, L8.4) and the mode-2 admission formula (L2.2),
//! which the spec gives from source rather than measurement.

mod common;
use common::*;
use vmlab_core::config::{LinuxConfig, Sysctl};
use vmlab_core::op::*;

fn box24() -> LinuxConfig {
    // A 24 GiB machine with no swap and round reserves.
    let mut c = LinuxConfig::new(24 * GB);
    c.sysctls.user_reserve_kbytes = 131_072;
    c.sysctls.admin_reserve_kbytes = 8192;
    c
}

/// The same requests on 4.19 and 6.6 in mode 0: the old heuristic compares with free memory,
/// the new one with RAM + swap.
#[test]
fn mode0_before_and_after_5_2() {
    let run = |kernel: &str| {
        let mut c = box24();
        c.kernel = kernel.parse().unwrap();
        let mut l = Lab::with(c);
        l.spawn("db");
        l.mmap("db", "cache", Map::anon(12 * GB));
        l.write("db", t("cache"));
        // 12 GiB resident: about 12 GiB free is left.
        l.mmap("db", "more", Map::anon(16 * GB).below("cache", GB))
    };
    assert_eq!(
        run("4.19"),
        Outcome::Err(Errno::ENOMEM),
        "4.19: 16 GiB > free (12 GiB − admin reserve)"
    );
    assert_eq!(run("6.6"), Outcome::Ok, "6.6: 16 GiB ≤ RAM + swap (24 GiB)");
}

#[test]
fn mode0_old_heuristic_counts_page_cache_as_free() {
    const PT_KB_16G: u64 = 8214 * 4;
    let mut c = box24();
    c.kernel = "4.19".parse().unwrap();
    let mut l = Lab::with(c);
    l.spawn("p");
    // 8 GiB of file pages are "free" for the estimate; 8 GiB of anonymous pages are not.
    l.mmap("p", "f", Map::anon(8 * GB).prot("r").file("/data", false));
    l.read("p", t("f"));
    l.mmap("p", "a", Map::anon(8 * GB).below("f", GB));
    l.write("p", t("a"));
    assert_eq!(l.meminfo_kb("Cached"), 8 * 1_048_576);
    // The page tables of the 16 GiB mapped take RAM: 8214 pages, 8192 PTE pages (one per
    // 2 MiB), 21 PMD and PUD pages for where the two ranges lie, and the PGD.
    let pt_kb = l.meminfo_kb("PageTables");
    assert_eq!(pt_kb, PT_KB_16G);
    // free = (8 GiB − PageTables) free + 8 GiB file − admin reserve 8 MiB: one page under
    // that passes, 16 GiB does not.
    let free_kb = 16 * 1_048_576 - pt_kb - 8192;
    assert_eq!(
        l.mmap("p", "x", Map::anon((free_kb - 4) * 1024).below("a", GB)),
        Outcome::Ok
    );
    l.munmap("p", t("x"));
    assert_eq!(
        l.mmap("p", "x", Map::anon(free_kb * 1024).below("a", GB)),
        Outcome::Err(Errno::ENOMEM)
    );
}

#[test]
fn mode0_root_gets_no_bonus_from_5_2_but_did_before() {
    for (kernel, admin_ok) in [("4.19", true), ("6.6", false)] {
        let mut c = box24();
        c.kernel = kernel.parse().unwrap();
        let mut l = Lab::with(c);
        l.spawn("user");
        l.spawn_admin("root");
        // On 4.19 free = 24 GiB; a non-admin loses the 8 MiB admin reserve.
        let req = 24 * GB - 4 * MB;
        let user = l.mmap("user", "a", Map::anon(req));
        let root = l.mmap("root", "a", Map::anon(req));
        if kernel == "6.6" {
            assert_eq!(
                (user, root),
                (Outcome::Ok, Outcome::Ok),
                "≤ RAM+swap for both"
            );
        } else {
            assert_eq!(user, Outcome::Err(Errno::ENOMEM));
            assert_eq!(root == Outcome::Ok, admin_ok);
        }
    }
}

/// L2.2: allowed = CommitLimit − admin_reserve (non-admin) − min(total_vm/32, user_reserve);
/// success iff Committed_AS + request < allowed.
#[test]
fn mode2_admission_boundary() {
    let mut l = Lab::with(box24());
    l.sysctl(Sysctl::OvercommitMemory, 2);
    l.spawn("p");
    let limit = l.meminfo_kb("CommitLimit") / 4; // pages
    assert_eq!(limit, 24 * 262_144 / 2);
    let admin = 8192 / 4;
    // total_vm is 0: the user reserve term is 0. The largest grant is allowed − 1 pages.
    let max = limit - admin - 1;
    assert_eq!(
        l.mmap("p", "big", Map::anon((max + 1) * 4096)),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(l.mmap("p", "big", Map::anon(max * 4096)), Outcome::Ok);
    assert_eq!(
        l.mmap("p", "one", Map::anon(4096).below("big", MB)),
        Outcome::Err(Errno::ENOMEM),
        "strict <"
    );
}

#[test]
fn mode2_user_reserve_scales_with_total_vm_and_admin_skips_admin_reserve() {
    let mut l = Lab::with(box24());
    l.sysctl(Sysctl::OvercommitMemory, 2);
    l.spawn("p");
    l.spawn_admin("root");
    // Inflate p's total_vm with a PROT_NONE area (not accountable): 64 GiB / 32 = 2 GiB > 128 MiB cap.
    l.mmap("p", "none", Map::anon(64 * GB).prot("none"));
    let limit = l.meminfo_kb("CommitLimit") / 4;
    let user_cap = 131_072 / 4;
    let admin = 8192 / 4;
    let max_p = limit - admin - user_cap - 1;
    assert_eq!(
        l.mmap("p", "a", Map::anon((max_p + 1) * 4096).below("none", MB)),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(
        l.mmap("p", "a", Map::anon(max_p * 4096).below("none", MB)),
        Outcome::Ok
    );
    // root has total_vm 0 and no admin reserve: admin_reserve + user_cap pages are still free to it.
    assert_eq!(
        l.mmap("root", "r", Map::anon((admin + user_cap) * 4096)),
        Outcome::Ok
    );
}

#[test]
fn mode2_fork_judges_each_vma_against_the_parent_cumulatively() {
    let mut l = Lab::with(box24());
    l.sysctl(Sysctl::OvercommitMemory, 2);
    l.spawn("redis");
    // 7 GiB of accounted data; CommitLimit is 12 GiB: the child would need 7 more.
    l.mmap("redis", "data", Map::anon(7 * GB));
    assert_eq!(l.fork("redis", "bgsave"), Outcome::Err(Errno::ENOMEM));
    assert_eq!(
        l.committed_kb(),
        7 * 1_048_576,
        "everything charged so far is unwound"
    );
    assert!(l.reasons().contains(&"fork.refused"));
    l.sysctl(Sysctl::OvercommitMemory, 1);
    assert_eq!(l.fork("redis", "bgsave"), Outcome::Ok);
    assert_eq!(l.committed_kb(), 14 * 1_048_576);
}

#[test]
fn mprotect_unaccounting_is_6_7_and_later() {
    for (kernel, after) in [("6.1", 262_144), ("6.6", 262_144), ("6.7", 0), ("6.12", 0)] {
        let mut c = box24();
        c.kernel = kernel.parse().unwrap();
        let mut l = Lab::with(c);
        l.spawn("p");
        l.mmap("p", "a", Map::anon(256 * MB));
        l.mprotect("p", t("a"), "r");
        assert_eq!(l.committed_kb(), after, "{kernel}");
    }
}

#[test]
fn log_line_text_by_version() {
    for (kernel, text) in [
        ("5.4", None),
        ("6.1", Some("no enough memory")),
        ("6.12", Some("bytes: ")),
    ] {
        let mut c = box24();
        c.kernel = kernel.parse().unwrap();
        let mut l = Lab::with(c);
        l.spawn("p");
        l.mmap("p", "a", Map::anon(30 * GB));
        let log = l
            .last_events
            .iter()
            .find(|e| e.reason() == "kernel.log")
            .map(|e| e.sentence());
        match text {
            None => assert!(log.is_none(), "{kernel}"),
            Some(t) => assert!(log.unwrap().contains(t), "{kernel}"),
        }
    }
}

/// The `why` of every `vma.not_merged` event of the last step.
fn no_merge_reasons(l: &Lab) -> Vec<vmlab_core::event::NoMerge> {
    l.last_events
        .iter()
        .filter_map(|e| match &e.kind {
            vmlab_core::event::EventKind::VmaNotMerged { why, .. } => Some(*why),
            _ => None,
        })
        .collect()
}

/// `a` (dontfork, unfaulted) and `b` below it, written; `madvise(b, DONTFORK)` makes their flags
/// equal. From 6.16 the faulted `b` merges into `a`, which takes its anon_vma (commit
/// 879bca0a2c4f, mm/vma.c: is_mergeable_anon_vma); before, the old is_mergeable_anon_vma wanted
/// `a`'s anon_vma_chain to be singular and it is empty. Measured on 6.18: one VMA.
#[test]
fn faulted_merges_into_unfaulted_neighbour_from_6_16() {
    for (kernel, vmas) in [("6.12", 2), ("6.15", 2), ("6.16", 1), ("6.18", 1)] {
        let mut l = Lab::measured().kernel(kernel);
        l.spawn("p");
        l.mmap("p", "a", Map::anon(MB));
        l.madvise("p", t("a"), Advice::DontFork);
        l.mmap("p", "b", Map::anon(MB).below("a", 0));
        l.write("p", t("b"));
        l.madvise("p", t("b"), Advice::DontFork);
        assert_eq!(l.vmas("p"), vmas, "{kernel}");
        let why = no_merge_reasons(&l);
        if vmas == 2 {
            assert_eq!(
                why,
                [vmlab_core::event::NoMerge::UnfaultedNeighbour],
                "{kernel}"
            );
        } else {
            assert!(why.is_empty(), "{kernel}: {why:?}");
            assert!(l.reasons().contains(&"vma.merged"), "{kernel}");
            // The survivor holds b's pages: the anon_vma moved with them (dup_anon_vma).
            assert_eq!(l.smaps_kb("p", "b", "Rss"), 1024, "{kernel}");
        }
    }
}

/// Both neighbours unfaulted, the middle faulted: 6.18 merges all three (measured), and a faulted
/// `c` above keeps `mprotect`'s three-way merge to one side (prev and next differ).
#[test]
fn existing_range_merges_both_unfaulted_neighbours_from_6_16() {
    for (kernel, fault_c, vmas) in [
        ("6.15", false, 3),
        ("6.18", false, 1),
        ("6.15", true, 3),
        ("6.18", true, 2),
    ] {
        let mut l = Lab::measured().kernel(kernel);
        l.spawn("p");
        l.mmap("p", "c", Map::anon(MB));
        l.madvise("p", t("c"), Advice::DontFork);
        l.mmap("p", "a", Map::anon(MB).below("c", 0));
        l.mmap("p", "b", Map::anon(MB).below("a", 0));
        l.madvise("p", t("b"), Advice::DontFork);
        assert_eq!(l.vmas("p"), 3);
        l.write("p", t("a"));
        if fault_c {
            l.write("p", t("c"));
        }
        l.madvise("p", t("a"), Advice::DontFork);
        assert_eq!(l.vmas("p"), vmas, "{kernel}, c faulted: {fault_c}");
    }
}

/// mremap growing a faulted VMA in place up to an unfaulted one: vma_merge_extend merges them
/// from 6.16 (measured on 6.18: one VMA), not before.
#[test]
fn mremap_extend_merges_into_unfaulted_next_from_6_16() {
    for (kernel, vmas) in [("6.15", 2), ("6.18", 1)] {
        let mut l = Lab::measured().kernel(kernel);
        l.spawn("p");
        l.mmap("p", "b", Map::anon(MB));
        l.mmap("p", "a", Map::anon(MB).below("b", MB));
        l.write("p", t("a"));
        let o = l.op(Op::Mremap {
            proc: "p".into(),
            mapping: "a".into(),
            new_len: Size::Bytes(2 * MB),
            may_move: false,
            range: None,
            to: Default::default(),
            dontunmap: false,
            rename: None,
        });
        assert_eq!(o, Outcome::Ok);
        assert_eq!(l.vmas("p"), vmas, "{kernel}");
    }
}

/// A fork child's faulted VMA (its anon_vma_chain links the parent's) merges with no unfaulted
/// neighbour in either era, whichever side changes (measured on 6.18: two VMAs stay).
#[test]
fn fork_child_never_merges_with_an_unfaulted_neighbour() {
    use vmlab_core::event::NoMerge;
    for (kernel, change_b, why) in [
        ("6.15", true, NoMerge::ForkChild),
        ("6.18", true, NoMerge::ForkChild),
        ("6.15", false, NoMerge::UnfaultedNeighbour),
        ("6.18", false, NoMerge::ForkChild),
    ] {
        let mut l = Lab::measured().kernel(kernel);
        l.spawn("p");
        l.mmap("p", "a", Map::anon(MB));
        l.mmap("p", "b", Map::anon(MB).below("a", 0));
        l.madvise("p", t("b"), Advice::WipeOnFork);
        l.write("p", t("a"));
        l.fork("p", "c");
        assert_eq!(l.vmas("c"), 2);
        if change_b {
            // The unfaulted b (wiped at fork, no anon_vma) takes a's flags.
            l.madvise("c", t("b"), Advice::KeepOnFork);
        } else {
            // The faulted clone a takes b's flags.
            l.madvise("c", t("a"), Advice::WipeOnFork);
        }
        assert_eq!(l.vmas("c"), 2, "{kernel}, b changes: {change_b}");
        assert_eq!(
            no_merge_reasons(&l),
            [why],
            "{kernel}, b changes: {change_b}"
        );
    }
}

/// The `vma.placed` event of the last operation: (how, source).
fn placed(l: &Lab) -> (String, &'static str) {
    l.last_events
        .iter()
        .find_map(|e| match &e.kind {
            vmlab_core::event::EventKind::Placed { how, source, .. } => {
                Some((how.clone(), *source))
            }
            _ => None,
        })
        .expect("a vma.placed event")
}

const PMD: u64 = 2 * MB;
/// The simulator's mmap_base (TASK_SIZE − 128 MiB, no ASLR): not 2 MiB aligned.
const BASE: u64 = 0x7fff_f7ff_f000;

/// A 3 MiB mmap, then a 4 MiB one, in every THP era (mm/huge_memory.c: __thp_get_unmapped_area):
/// (start of a, start of b, VMA count).
fn three_then_four(kernel: &str) -> (u64, u64, u64) {
    let mut l = Lab::measured().kernel(kernel);
    l.spawn("p");
    assert_eq!(l.mmap("p", "a", Map::anon(3 * MB)), Outcome::Ok);
    assert_eq!(l.mmap("p", "b", Map::anon(4 * MB)), Outcome::Ok);
    (l.addr("p", "a"), l.addr("p", "b"), l.vmas("p"))
}

#[test]
fn thp_alignment_before_6_7_packs_mappings() {
    // No THP rule: b directly below a, and they merge.
    assert_eq!(three_then_four("6.6"), (BASE - 3 * MB, BASE - 7 * MB, 1));
    let mut l = Lab::measured().kernel("6.6");
    l.spawn("p");
    l.mmap("p", "a", Map::anon(4 * MB));
    assert_eq!(l.addr("p", "a"), BASE - 4 * MB);
    assert_eq!(placed(&l).1, "mm/mmap.c: arch_get_unmapped_area_topdown");
}

#[test]
fn thp_alignment_in_6_7_rounds_up_from_the_bottom_of_the_padded_range() {
    // a (3 MiB ≥ PMD) is searched for as 5 MiB at BASE − 5 MiB and rounded up to a PMD
    // boundary; b's padded range (6 MiB below a) is already aligned, so 6.7 keeps its bottom
    // and leaves 2 MiB free between b and a: two VMAs.
    let a = (BASE - 5 * MB).next_multiple_of(PMD);
    assert_eq!(a, 0x7fff_f7c0_0000);
    assert_eq!(three_then_four("6.7"), (a, a - 6 * MB, 2));
}

#[test]
fn thp_alignment_6_8_to_6_11_aligns_every_mapping_of_a_pmd_or_more() {
    // From 6.8 an aligned result moves up to the top of the padded range: b ends where a
    // starts, and the two merge.
    for k in ["6.8", "6.11"] {
        let a = 0x7fff_f7c0_0000;
        assert_eq!(three_then_four(k), (a, a - 4 * MB, 1), "{k}");
    }
    // A mapping shorter than a PMD is never aligned.
    let mut l = Lab::measured().kernel("6.11");
    l.spawn("p");
    l.mmap("p", "small", Map::anon(2 * MB - 4 * 1024));
    assert_eq!(l.addr("p", "small"), BASE - (2 * MB - 4 * 1024));
}

#[test]
fn thp_alignment_from_6_12_only_for_pmd_multiples() {
    // a (3 MiB) is not a multiple: packed against mmap_base. b (4 MiB) is: aligned below a,
    // leaving a gap of 1020 KiB (a starts 1020 KiB above a PMD boundary): no merge.
    for k in ["6.12", "6.18"] {
        let (a, b, vmas) = three_then_four(k);
        assert_eq!((a, vmas), (BASE - 3 * MB, 2), "{k}");
        assert_eq!(b % PMD, 0, "{k}");
        assert_eq!(a - (b + 4 * MB), 1020 * 1024, "{k}");
    }
    // 5 MiB vs 4 MiB on 6.18: only the multiple is aligned, and the events say why.
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "five", Map::anon(5 * MB));
    assert_eq!(l.addr("p", "five"), BASE - 5 * MB);
    let (how, source) = placed(&l);
    assert!(how.contains("not a multiple of 2 MiB"), "{how}");
    assert_eq!(
        source,
        "mm/mmap.c: __get_unmapped_area (IS_ALIGNED(len, PMD_SIZE))"
    );
    l.mmap("p", "four", Map::anon(4 * MB));
    assert_eq!(l.addr("p", "four"), (BASE - 5 * MB - 4 * MB) / PMD * PMD);
    let (how, source) = placed(&l);
    assert!(how.contains("THP-aligned (Linux 6.18)"), "{how}");
    assert!(source.starts_with("mm/huge_memory.c: __thp_get_unmapped_area"));
    assert_eq!(l.vmas("p"), 2);
}

#[test]
fn thp_alignment_applies_to_anonymous_private_mappings_without_an_address_only() {
    let mut l = Lab::measured();
    l.spawn("p");
    // Shared anonymous memory takes shmem's get_unmapped_area: no alignment (shmem_enabled
    // never); nor does a file mapping (its own get_unmapped_area, not modelled).
    l.mmap("p", "sh", Map::anon(4 * MB).shared());
    assert_eq!(l.addr("p", "sh"), BASE - 4 * MB);
    l.mmap("p", "f", Map::anon(4 * MB).file("/data", false));
    assert_eq!(l.addr("p", "f"), BASE - 8 * MB);
    // MAP_FIXED_NOREPLACE (below=) is never moved: it lands against `f` and is not aligned.
    l.mmap("p", "x", Map::anon(4 * MB).below("f", 0));
    assert_eq!(l.addr("p", "x"), BASE - 12 * MB);
    assert_eq!(placed(&l).1, "mm/mmap.c: __get_unmapped_area (MAP_FIXED)");
}

#[test]
fn thp_alignment_falls_back_when_the_padded_search_finds_nothing() {
    // The whole window below mmap_base, rounded down to a PMD: it fits, with 2 MiB more it
    // does not, so __thp_get_unmapped_area returns 0 and the plain search places it.
    let window = BASE - 0x1_0000;
    let len = window / PMD * PMD;
    let mut l = Lab::measured();
    l.spawn("p");
    assert_eq!(l.mmap("p", "huge", Map::anon(len).noreserve()), Outcome::Ok);
    assert_eq!(l.addr("p", "huge"), BASE - len);
    let (how, source) = placed(&l);
    assert!(how.contains("without the padding"), "{how}");
    assert!(source.starts_with("mm/huge_memory.c: __thp_get_unmapped_area"));
}

#[test]
fn thp_alignment_applies_to_a_mremap_move() {
    // mremap_to → get_unmapped_area(NULL, 0, new_len, …): a private anonymous VMA moved by
    // MREMAP_MAYMOVE takes the THP path like an mmap.
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "a", Map::anon(MB));
    l.mmap("p", "lid", Map::anon(MB).prot("r").above("a", 0));
    let o = l.op(Op::Mremap {
        proc: "p".into(),
        mapping: "a".into(),
        new_len: Size::Bytes(4 * MB),
        may_move: true,
        range: None,
        to: Default::default(),
        dontunmap: false,
        rename: None,
    });
    assert_eq!(o, Outcome::Ok);
    assert_eq!(l.addr("p", "a") % PMD, 0);
    assert!(placed(&l).0.contains("THP-aligned"));
}

/// Each advice is EINVAL on the release before the one that added it, with the reason and
/// its source (mm/madvise.c: madvise_behavior_valid), and accepted from that release on.
#[test]
fn madvise_advices_exist_from_their_release() {
    for (advice, before, since) in [
        (Advice::Free, "4.4", "4.5"),
        (Advice::WipeOnFork, "4.13", "4.14"),
        (Advice::KeepOnFork, "4.13", "4.14"),
        (Advice::DontFork, "2.4", "2.6"),
        (Advice::DoFork, "2.4", "2.6"),
    ] {
        let run = |k: &str| {
            let mut l = Lab::measured().kernel(k);
            l.spawn("p");
            l.mmap("p", "a", Map::anon(MB));
            let o = l.madvise("p", t("a"), advice);
            (o, l)
        };
        let (o, l) = run(before);
        assert_eq!(o, Outcome::Err(Errno::EINVAL), "{advice:?} on {before}");
        let refused = l.last_events.iter().find_map(|e| match &e.kind {
            vmlab_core::event::EventKind::Refused { why, source, .. } => {
                Some((why.clone(), *source))
            }
            _ => None,
        });
        let (why, source) = refused.expect("a refusal event");
        assert!(
            why.contains(advice.kernel_name()) && why.contains(since),
            "{why}"
        );
        assert_eq!(
            source,
            "mm/madvise.c: madvise_behavior_valid (via is_valid_madvise)"
        );
        assert_eq!(l.vmas("p"), 1, "nothing changed");
        assert_eq!(run(since).0, Outcome::Ok, "{advice:?} on {since}");
    }
    // MADV_DONTNEED is as old as madvise, and the advice is checked before the range: an
    // unaligned start on 4.4 still says MADV_FREE is unknown.
    assert_eq!(
        {
            let mut l = Lab::measured().kernel("2.4");
            l.spawn("p");
            l.mmap("p", "a", Map::anon(MB));
            l.madvise("p", t("a"), Advice::DontNeed)
        },
        Outcome::Ok
    );
    let mut l = Lab::measured().kernel("4.4");
    l.spawn("p");
    l.mmap("p", "a", Map::anon(MB));
    assert_eq!(
        l.madvise("p", sub("a", 1, 4096), Advice::Free),
        Outcome::Err(Errno::EINVAL)
    );
    assert!(l
        .last_events
        .iter()
        .any(|e| e.reason() == "op.refused" && e.sentence().contains("MADV_FREE is unknown")));
}

/// The commit gauge's number in mode 0 before 5.2 is the rule's own estimate: a request one page
/// below it is granted and one of exactly it is refused, in each era, with tmpfs pages (which the
/// estimate takes out of the page cache), file cache and swap present.
#[test]
fn mode0_summary_is_the_boundary_the_old_heuristic_applies() {
    use vmlab_core::machine::CommitRuleSummary;
    for kernel in ["3.9", "4.19", "5.1"] {
        let mut c = box24();
        c.kernel = kernel.parse().unwrap();
        c.swap_bytes = 2 * GB;
        let mut l = Lab::with(c);
        l.spawn("p");
        l.mmap("p", "f", Map::anon(4 * GB).prot("r").file("/data", false));
        l.read("p", t("f"));
        l.mmap("p", "s", Map::anon(3 * GB).shared().tmpfs("/dev/shm/s"));
        l.write("p", t("s"));
        assert_eq!(l.meminfo_kb("Shmem"), 3 * 1_048_576, "{kernel}");
        let CommitRuleSummary::PerRequest { per_request_kb } = l.m.commit_summary().rule else {
            panic!("{kernel}: mode 0 before 5.2 compares each request")
        };
        let pages = per_request_kb / 4;
        let mut at = |name: &str, n: u64| {
            let o = l.mmap("p", name, Map::anon(n * 4096).below("f", 64 * GB));
            if o == Outcome::Ok {
                l.munmap("p", t(name));
            }
            o
        };
        assert_eq!(at("ok", pages - 1), Outcome::Ok, "{kernel}: one page below");
        assert_eq!(
            at("no", pages),
            Outcome::Err(Errno::ENOMEM),
            "{kernel}: at the estimate"
        );
    }
}

/// The commit gauge's allowance is the process's own (issue 9): for an unprivileged process and
/// one with CAP_SYS_ADMIN, each with its own total_vm, a request of exactly the summary's
/// `max_request_kb` is granted and one page more is refused, in mode 2 and mode 0, in the
/// three eras of `__vm_enough_memory` (≤ 3.9 without the reserve knobs, 3.10 – 5.1 with them
/// and the free estimate, 5.2 on with RAM + swap). mm/util.c: __vm_enough_memory.
#[test]
fn the_commit_summary_is_each_processs_own_boundary() {
    use vmlab_core::machine::CommitRuleSummary;
    for mode in [2, 0] {
        for kernel in ["3.9", "4.19", "6.6"] {
            let mut c = LinuxConfig::new(4 * GB);
            c.swap_bytes = 2 * GB;
            c.sysctls.user_reserve_kbytes = 131_072;
            c.sysctls.admin_reserve_kbytes = 8192;
            c.kernel = kernel.parse().unwrap();
            let mut l = Lab::with(c);
            l.sysctl(Sysctl::OvercommitMemory, mode);
            // `u`: 1 GiB read-only (uncharged) + 64 MiB written: total_vm = 278,528 pages, a
            // user reserve of total_vm/32 = 8704 pages, under the 32768-page cap.
            l.spawn("u");
            l.mmap("u", "ro", Map::anon(GB).prot("r"));
            l.mmap("u", "w", Map::anon(64 * MB));
            l.write("u", t("w"));
            // `a`: CAP_SYS_ADMIN and 8 GiB read-only: its user reserve is at the cap (from
            // 3.10), total_vm/32 = 65536 pages before.
            l.spawn_admin("a");
            l.mmap("a", "ro", Map::anon(8 * GB).prot("r"));
            for p in ["u", "a"] {
                let s = l.m.commit_summary_for(l.m.pid_of(p));
                let what = format!("mode {mode}, {kernel}, {p}: {:?}", s.rule);
                match (mode, &s.rule) {
                    (2, CommitRuleSummary::Total { .. })
                    | (0, CommitRuleSummary::PerRequest { .. }) => {}
                    _ => panic!("{what}: not the mode's rule"),
                }
                let pages = s.max_request_kb.expect("a bounded mode") / 4;
                assert!(pages > 0, "{what}");
                assert_eq!(
                    l.mmap(p, "ok", Map::anon(pages * 4096)),
                    Outcome::Ok,
                    "{what}: the allowance"
                );
                l.munmap(p, t("ok"));
                assert_eq!(
                    l.mmap(p, "no", Map::anon((pages + 1) * 4096)),
                    Outcome::Err(Errno::ENOMEM),
                    "{what}: one page more"
                );
            }
            // The two processes' numbers differ where the kernel's reserves do: mode 2 always
            // (admin reserve and user reserve), mode 0 only before 5.2 (the admin reserve).
            let allow = |p: &str| l.m.commit_summary_for(l.m.pid_of(p)).max_request_kb;
            assert_eq!(
                allow("u") != allow("a"),
                mode == 2 || kernel != "6.6",
                "mode {mode}, {kernel}"
            );
        }
    }
}
