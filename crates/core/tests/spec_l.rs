//! Every "[confirmed 6.18]" case of model-spec Part L (L1–L8), with its exact numbers, on the
//! measured machine (24,684,092 kB RAM = 6,171,023 pages, no swap, Linux 6.18).

mod common;
use common::*;
use vmlab_core::config::{LinuxConfig, Sysctl};
use vmlab_core::op::*;
use vmlab_core::query::Query;
use vmlab_core::units::KIB;

const Q256: u64 = 262_144; // 256 MiB in kB

// ---- L1: the two ledgers -----------------------------------------------------------------

#[test]
fn l1_mmap_raises_commit_not_rss_and_touching_raises_rss() {
    let mut l = Lab::measured();
    l.spawn("p");
    let c0 = l.committed_kb();
    assert_eq!(l.mmap("p", "a", Map::anon(GB)), Outcome::Ok);
    assert_eq!(l.committed_kb() - c0, 1_048_576);
    assert_eq!(l.status_kb("p", "VmRSS"), 0);
    l.write("p", sub("a", 0, 32 * MB));
    assert_eq!(l.status_kb("p", "VmRSS"), 32_768);
    assert_eq!(
        l.committed_kb() - c0,
        1_048_576,
        "touching does not move the commit ledger"
    );
}

// ---- L2: overcommit policy ----------------------------------------------------------------

#[test]
fn l2_1_mode1_charges_1tib() {
    let mut l = Lab::measured_mode(1);
    l.spawn("p");
    assert_eq!(l.mmap("p", "a", Map::anon(1 << 40)), Outcome::Ok);
    assert_eq!(l.committed_kb(), 1_073_741_824);
}

#[test]
fn l2_1_mode2_refusal_logs_the_6_12_line() {
    let mut l = Lab::measured_mode(2);
    l.spawn("mode2");
    assert_eq!(
        l.mmap("mode2", "a", Map::anon(64 * GB)),
        Outcome::Err(Errno::ENOMEM)
    );
    let pid = l.m.linux().unwrap().by_name["mode2"];
    let log: Vec<String> = l
        .last_events
        .iter()
        .filter(|e| e.reason() == "kernel.log")
        .map(|e| e.sentence())
        .collect();
    assert_eq!(
        log,
        vec![format!(
            "kernel: __vm_enough_memory: pid: {pid}, comm: mode2, bytes: 68719476736 not enough memory for the allocation"
        )]
    );
    assert_eq!(l.committed_kb(), 0, "a refused request is subtracted again");
}

#[test]
fn l2_3_mode0_is_per_request_only() {
    let mut l = Lab::measured();
    l.spawn("p");
    assert_eq!(l.mmap("p", "a23", Map::anon(23 * GB)), Outcome::Ok);
    l.munmap("p", t("a23"));
    assert_eq!(
        l.mmap("p", "a24", Map::anon(24 * GB)),
        Outcome::Err(Errno::ENOMEM)
    );
    assert!(l.reasons().contains(&"commit.guess.exceeds_total"));
    for i in 0..4 {
        // Scattered with gaps so they stay four VMAs.
        let m = if i == 0 {
            Map::anon(20 * GB)
        } else {
            Map::anon(20 * GB).below(&format!("b{}", i - 1), MB)
        };
        assert_eq!(l.mmap("p", &format!("b{i}"), m), Outcome::Ok);
    }
    assert_eq!(l.committed_kb(), 80 * 1_048_576);
    assert_eq!(l.meminfo_kb("CommitLimit"), 12_342_044);
    assert_eq!(l.vmas("p"), 4);
}

#[test]
fn l2_3_mode0_30gib_log_line_bytes() {
    let mut l = Lab::measured();
    l.spawn("p");
    assert_eq!(
        l.mmap("p", "a", Map::anon(30 * GB)),
        Outcome::Err(Errno::ENOMEM)
    );
    assert!(l.last_events.iter().any(|e| e
        .sentence()
        .contains("bytes: 32212254720 not enough memory")));
}

#[test]
fn l2_3_mode2_ro_ok_then_mprotect_rw_fails() {
    let mut l = Lab::measured_mode(2);
    l.spawn("p");
    assert_eq!(
        l.mmap("p", "rw", Map::anon(64 * GB)),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(l.mmap("p", "ro", Map::anon(64 * GB).prot("r")), Outcome::Ok);
    assert_eq!(l.committed_kb(), 0);
    assert_eq!(l.mprotect("p", t("ro"), "rw"), Outcome::Err(Errno::ENOMEM));
    assert_eq!(l.committed_kb(), 0);
}

#[test]
fn l2_4_reserve_defaults_and_ratio_kbytes_zero_each_other() {
    let l = Lab::measured();
    assert_eq!(
        l.number(Query::Sysctl {
            name: "user_reserve_kbytes".into()
        }),
        100_407
    );
    assert_eq!(
        l.number(Query::Sysctl {
            name: "admin_reserve_kbytes".into()
        }),
        8192
    );
    assert_eq!(
        l.number(Query::Sysctl {
            name: "max_map_count".into()
        }),
        65530
    );
    let mut l = Lab::measured();
    l.sysctl(Sysctl::OvercommitKbytes, 1_048_576);
    assert_eq!(
        l.number(Query::Sysctl {
            name: "overcommit_ratio".into()
        }),
        0
    );
    l.sysctl(Sysctl::OvercommitRatio, 50);
    assert_eq!(
        l.number(Query::Sysctl {
            name: "overcommit_kbytes".into()
        }),
        0
    );
}

// ---- L3: CommitLimit ----------------------------------------------------------------------

#[test]
fn l3_commit_limit_ratios_kbytes_hugetlb() {
    let mut l = Lab::measured();
    for (ratio, kb) in [
        (50, 12_342_044),
        (30, 7_405_224),
        (100, 24_684_092),
        (150, 37_026_136),
    ] {
        l.sysctl(Sysctl::OvercommitRatio, ratio);
        assert_eq!(l.meminfo_kb("CommitLimit"), kb, "ratio {ratio}");
    }
    l.sysctl(Sysctl::OvercommitKbytes, 1_048_576);
    assert_eq!(l.meminfo_kb("CommitLimit"), 1_048_576);
    l.sysctl(Sysctl::OvercommitKbytes, 1_000_001);
    assert_eq!(
        l.meminfo_kb("CommitLimit"),
        1_000_000,
        "truncated to whole pages"
    );
    l.sysctl(Sysctl::OvercommitRatio, 50);
    l.sysctl(Sysctl::NrHugepages, 16);
    assert_eq!(l.meminfo_kb("CommitLimit"), 12_342_044 - 16_384);
}

#[test]
fn l3_swap_is_added_at_100_percent() {
    let mut cfg = LinuxConfig::measured();
    cfg.swap_bytes = 4 * GB;
    let l = Lab::with(cfg);
    assert_eq!(l.meminfo_kb("CommitLimit"), 12_342_044 + 4_194_304);
}

// ---- L4: what is accountable --------------------------------------------------------------

fn delta(mode: u64, f: impl FnOnce(&mut Lab) -> Outcome) -> (Outcome, u64, Lab) {
    let mut l = Lab::measured_mode(mode);
    l.spawn("p");
    let c0 = l.committed_kb();
    let o = f(&mut l);
    let d = l.committed_kb() - c0;
    (o, d, l)
}

#[test]
fn l4_private_anon() {
    let (o, d, mut l) = delta(0, |l| l.mmap("p", "a", Map::anon(256 * MB)));
    assert_eq!((o, d), (Outcome::Ok, Q256));
    assert_eq!(l.flags("p", "a"), "rd wr mr mw me ac");
    l.munmap("p", t("a"));
    assert_eq!(l.committed_kb(), 0);
    for prot in ["r", "none"] {
        let (o, d, _) = delta(0, |l| l.mmap("p", "a", Map::anon(256 * MB).prot(prot)));
        assert_eq!((o, d), (Outcome::Ok, 0), "{prot}");
    }
}

#[test]
fn l4_noreserve_honoured_outside_mode2() {
    for mode in [0, 1] {
        let (_, d, l) = delta(mode, |l| l.mmap("p", "a", Map::anon(256 * MB).noreserve()));
        assert_eq!(d, 0);
        assert_eq!(l.flags("p", "a"), "rd wr mr mw me nr");
    }
    let (_, d, l) = delta(2, |l| l.mmap("p", "a", Map::anon(256 * MB).noreserve()));
    assert_eq!(d, Q256);
    assert_eq!(l.flags("p", "a"), "rd wr mr mw me ac");
}

#[test]
fn l4_file_mappings() {
    for ro_fd in [false, true] {
        let (o, d, l) = delta(0, |l| {
            l.mmap("p", "f", Map::anon(256 * MB).file("/data/f", ro_fd))
        });
        assert_eq!(
            (o, d),
            (Outcome::Ok, Q256),
            "private RW file, O_RDONLY={ro_fd}"
        );
        assert_eq!(l.flags("p", "f"), "rd wr mr mw me ac");
    }
    let (o, d, _) = delta(0, |l| {
        l.mmap("p", "f", Map::anon(256 * MB).file("/data/f", true).shared())
    });
    assert_eq!((o, d), (Outcome::Err(Errno::EACCES), 0));
    let (o, d, _) = delta(0, |l| {
        l.mmap(
            "p",
            "f",
            Map::anon(256 * MB).prot("r").file("/data/f", false),
        )
    });
    assert_eq!((o, d), (Outcome::Ok, 0));
    let (o, d, l) = delta(0, |l| {
        l.mmap(
            "p",
            "f",
            Map::anon(256 * MB).file("/data/f", false).noreserve(),
        )
    });
    assert_eq!((o, d), (Outcome::Ok, 0));
    assert_eq!(l.flags("p", "f"), "rd wr mr mw me nr");
    for prot in ["rw", "r"] {
        let (o, d, l) = delta(0, |l| {
            l.mmap(
                "p",
                "f",
                Map::anon(256 * MB)
                    .prot(prot)
                    .file("/data/f", false)
                    .shared(),
            )
        });
        assert_eq!((o, d), (Outcome::Ok, 0));
        assert!(l.flags("p", "f").contains("sh") || prot == "r");
        assert!(l.flags("p", "f").contains("ms"));
    }
}

#[test]
fn l4_shared_anonymous_charged_whatever_prot() {
    for prot in ["rw", "r", "none"] {
        let (o, d, l) = delta(0, |l| {
            l.mmap("p", "s", Map::anon(256 * MB).prot(prot).shared())
        });
        assert_eq!((o, d), (Outcome::Ok, Q256), "{prot}");
        let f = l.flags("p", "s");
        assert!(
            f.contains("sh") && f.contains("ms") && !f.contains("ac"),
            "{f}"
        );
    }
    for mode in [0, 1] {
        let (_, d, _) = delta(mode, |l| {
            l.mmap("p", "s", Map::anon(256 * MB).shared().noreserve())
        });
        assert_eq!(d, 0);
    }
    let (_, d, mut l) = delta(2, |l| {
        l.mmap("p", "s", Map::anon(256 * MB).shared().noreserve())
    });
    assert_eq!(d, Q256);
    l.munmap("p", t("s"));
    assert_eq!(
        l.committed_kb(),
        0,
        "the object is uncharged when its last mapping goes"
    );
}

#[test]
fn l4_sysv_shm_charged_at_shmget() {
    let (o, d, mut l) = delta(0, |l| {
        l.op(Op::Shmget {
            proc: "p".into(),
            key: "k".into(),
            len: Size::Bytes(64 * MB),
            noreserve: false,
        })
    });
    assert_eq!((o, d), (Outcome::Ok, 65_536));
    let c = l.committed_kb();
    assert_eq!(l.mmap("p", "seg", Map::anon(64 * MB).shm("k")), Outcome::Ok);
    assert_eq!(l.committed_kb(), c, "0 at shmat");
    for (mode, want) in [(0, 0), (2, 65_536)] {
        let (_, d, _) = delta(mode, |l| {
            l.op(Op::Shmget {
                proc: "p".into(),
                key: "k".into(),
                len: Size::Bytes(64 * MB),
                noreserve: true,
            })
        });
        assert_eq!(d, want, "SHM_NORESERVE in mode {mode}");
    }
}

#[test]
fn l4_tmpfs_charged_per_written_page() {
    let mut l = Lab::measured();
    l.spawn("p");
    l.op(Op::TmpfsTruncate {
        proc: "p".into(),
        path: "/dev/shm/x".into(),
        len: Size::Bytes(256 * MB),
    });
    assert_eq!(l.committed_kb(), 0);
    l.op(Op::TmpfsWrite {
        proc: "p".into(),
        path: "/dev/shm/x".into(),
        offset: Size::Bytes(0),
        len: Size::Bytes(16 * MB),
    });
    assert_eq!(l.committed_kb(), 16_384);
    assert_eq!(l.meminfo_kb("Shmem"), 16_384);
    l.op(Op::Unlink {
        proc: "p".into(),
        path: "/dev/shm/x".into(),
    });
    assert_eq!(l.committed_kb(), 0);
    assert_eq!(l.meminfo_kb("Shmem"), 0);
}

/// A program opens a tmpfs file (O_CREAT) before it calls mmap: a refused mmap still created
/// the file, which `unlink` then finds (real-kernel sweep, seed 361).
#[test]
fn l4_a_refused_tmpfs_mmap_still_creates_the_file() {
    let mut l = Lab::measured();
    l.spawn("p");
    assert_eq!(
        l.mmap("p", "m", Map::anon(0).shared().tmpfs("/dev/shm/t")),
        Outcome::Err(Errno::EINVAL)
    );
    let unlink = Op::Unlink {
        proc: "p".into(),
        path: "/dev/shm/t".into(),
    };
    assert_eq!(l.op(unlink.clone()), Outcome::Ok);
    assert_eq!(l.op(unlink), Outcome::Err(Errno::ENOENT));
}

#[test]
fn l4_hugetlb_reserves_pool_not_commit() {
    let mut l = Lab::measured();
    l.sysctl(Sysctl::NrHugepages, 16);
    l.spawn("p");
    assert_eq!(l.mmap("p", "h", Map::anon(16 * MB).hugetlb()), Outcome::Ok);
    assert_eq!(l.committed_kb(), 0);
    assert_eq!(l.meminfo_kb("HugePages_Rsvd"), 8);
    assert!(l.flags("p", "h").contains("ht"));
    assert_eq!(
        l.mmap("p", "h2", Map::anon(32 * MB).hugetlb()),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(
        l.mmap("p", "h3", Map::anon(32 * MB).hugetlb().noreserve()),
        Outcome::Ok
    );
}

#[test]
fn l4_brk_and_stack_growth() {
    let mut l = Lab::measured();
    l.spawn("p");
    l.op(Op::Brk {
        proc: "p".into(),
        change: BrkChange::Grow(Size::Bytes(64 * MB)),
    });
    assert_eq!(l.committed_kb(), 65_536);
    assert!(l.m.proc_view("p", "maps").unwrap().contains("[heap]"));
    l.op(Op::Brk {
        proc: "p".into(),
        change: BrkChange::Shrink(Size::Bytes(64 * MB)),
    });
    assert_eq!(l.committed_kb(), 0);
    l.op(Op::StackGrow {
        proc: "p".into(),
        new_size: Size::Bytes(132 * 1024),
    });
    let c = l.committed_kb();
    assert_eq!(c, 132);
    assert_eq!(l.status_kb("p", "VmStk"), 132);
    l.op(Op::StackGrow {
        proc: "p".into(),
        new_size: Size::Bytes(4104 * 1024),
    });
    // The spec measured "≈ +3976 kB" (a live probe); the rule gives exactly the grown size.
    assert_eq!(l.committed_kb() - c, 4104 - 132);
    assert!(l.flags("p", "stack").contains("gd") && l.flags("p", "stack").contains("ac"));
}

#[test]
fn l4_mprotect_charging_and_6_7_unaccounting() {
    let (_, d, _) = delta(0, |l| {
        l.mmap("p", "a", Map::anon(256 * MB).prot("r"));
        l.mprotect("p", t("a"), "rw")
    });
    assert_eq!(d, Q256);
    // RW → RO, never faulted: −size from 6.7.
    let (_, d, l) = delta(0, |l| {
        l.mmap("p", "a", Map::anon(256 * MB));
        l.mprotect("p", t("a"), "r")
    });
    assert_eq!(d, 0);
    assert!(!l.flags("p", "a").contains("ac"));
    // The same on 6.6 keeps the charge.
    let mut l = Lab::measured().kernel("6.6");
    l.spawn("p");
    l.mmap("p", "a", Map::anon(256 * MB));
    l.mprotect("p", t("a"), "r");
    assert_eq!(l.committed_kb(), Q256);
    assert!(l.flags("p", "a").contains("ac"));
    // After one faulted page: 0 and ac kept.
    let (_, d, l) = delta(0, |l| {
        l.mmap("p", "a", Map::anon(256 * MB));
        l.write("p", sub("a", 0, 4096));
        l.mprotect("p", t("a"), "r")
    });
    assert_eq!(d, Q256);
    assert!(l.flags("p", "a").contains("ac"));
    // A middle mprotect splits into three.
    let (_, _, l) = delta(0, |l| {
        l.mmap("p", "a", Map::anon(256 * MB));
        l.mprotect("p", sub("a", 64 * MB, 128 * MB), "r")
    });
    assert_eq!(l.vmas("p"), 3);
}

#[test]
fn l4_mremap_grow_and_shrink() {
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "a", Map::anon(256 * MB));
    let c = l.committed_kb();
    assert_eq!(
        l.op(Op::Mremap {
            proc: "p".into(),
            mapping: "a".into(),
            new_len: Size::Bytes(512 * MB),
            may_move: true,
            range: None,
            to: Default::default(),
            dontunmap: false,
            rename: None,
        }),
        Outcome::Ok
    );
    assert_eq!(l.committed_kb() - c, Q256);
    assert_eq!(
        l.op(Op::Mremap {
            proc: "p".into(),
            mapping: "a".into(),
            new_len: Size::Bytes(128 * MB),
            may_move: true,
            range: None,
            to: Default::default(),
            dontunmap: false,
            rename: None,
        }),
        Outcome::Ok
    );
    assert_eq!(l.committed_kb(), 131_072, "−393216 kB");
}

#[test]
fn l4_munmap_and_exit_reverse_exactly() {
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "a", Map::anon(256 * MB));
    l.mmap("p", "s", Map::anon(256 * MB).shared());
    l.mmap("p", "f", Map::anon(256 * MB).file("/f", false));
    l.op(Op::Brk {
        proc: "p".into(),
        change: BrkChange::Grow(Size::Bytes(64 * MB)),
    });
    assert_eq!(l.committed_kb(), 3 * Q256 + 65_536);
    l.exit("p");
    assert_eq!(l.committed_kb(), 0);
}

// ---- L5: faults, RSS, PSS -----------------------------------------------------------------

#[test]
fn l5_read_fault_maps_zero_page_and_populate_dontneed_free() {
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "a", Map::anon(32 * MB));
    assert_eq!(l.smaps_kb("p", "a", "Rss"), 0);
    l.read("p", t("a"));
    assert_eq!(l.smaps_kb("p", "a", "Rss"), 0);
    assert_eq!(l.status_kb("p", "RssAnon"), 0);
    l.mmap("p", "pop", Map::anon(64 * MB).populate());
    assert_eq!(l.status_kb("p", "RssAnon"), 65_536);
    assert_eq!(
        l.committed_kb(),
        32_768 + 65_536,
        "commit as for a normal mapping"
    );
    let c = l.committed_kb();
    l.madvise("p", sub("pop", 0, 32 * MB), Advice::DontNeed);
    assert_eq!(l.status_kb("p", "RssAnon"), 32_768);
    assert_eq!(l.committed_kb(), c);
    l.madvise("p", sub("pop", 32 * MB, 64 * MB), Advice::Free);
    assert_eq!(l.status_kb("p", "RssAnon"), 32_768);
    // The spec measured LazyFree 32736 of 32768 kB ("might be lower than the real value");
    // the model reports the exact count.
    assert_eq!(l.smaps_kb("p", "pop", "LazyFree"), 32_768);
    // A write cancels lazy-free.
    l.write("p", sub("pop", 32 * MB, 48 * MB));
    assert_eq!(l.smaps_kb("p", "pop", "LazyFree"), 16_384);
}

/// The four smaps dirt/sharing fields of one mapping, in kB: Shared_Clean, Shared_Dirty,
/// Private_Clean, Private_Dirty, and LazyFree.
fn dirt(l: &Lab, proc: &str, mapping: &str) -> [u64; 5] {
    [
        "Shared_Clean",
        "Shared_Dirty",
        "Private_Clean",
        "Private_Dirty",
        "LazyFree",
    ]
    .map(|f| l.smaps_kb(proc, mapping, f))
}

/// smaps counts a page dirty when its pte or its folio is (fs/proc/task_mmu.c:
/// smaps_page_accumulate, `dirty || folio_test_dirty(folio)`). A shmem page that a read fault
/// (here MAP_POPULATE of a shared mapping, which does not write-fault) mapped writable and the
/// process then wrote has a dirty pte and a clean folio: a fork child that reads it sees it
/// clean. A write fault dirties the folio (do_shared_fault → fault_dirty_shared_page), and so
/// does zapping a dirty pte (zap_present_folio_ptes → folio_mark_dirty), and write(2)
/// (shmem_write_end). Found by the real-kernel sweep (crates/os/tests/sweep.rs, seed 145);
/// `dirty_bits_agree` in crates/os/tests/real.rs runs the same steps on the kernel.
#[test]
fn l5_shmem_dirt_is_the_ptes_or_the_folios() {
    let mut l = Lab::measured();
    l.spawn("app");
    l.mmap("app", "pop", Map::anon(8 * KIB).shared().populate());
    l.mmap("app", "wf", Map::anon(8 * KIB).shared());
    assert_eq!(
        dirt(&l, "app", "pop"),
        [0, 0, 8, 0, 0],
        "populate read-faults it"
    );
    l.write("app", t("pop"));
    l.write("app", t("wf"));
    assert_eq!(dirt(&l, "app", "pop"), [0, 0, 0, 8, 0]);
    assert_eq!(dirt(&l, "app", "wf"), [0, 0, 0, 8, 0]);
    l.fork("app", "c");
    l.read("c", t("pop"));
    l.read("c", t("wf"));
    assert_eq!(
        dirt(&l, "c", "pop"),
        [8, 0, 0, 0, 0],
        "a clean pte, a clean folio"
    );
    assert_eq!(
        dirt(&l, "app", "pop"),
        [0, 8, 0, 0, 0],
        "the writer's pte is dirty"
    );
    assert_eq!(
        dirt(&l, "c", "wf"),
        [0, 8, 0, 0, 0],
        "the write fault dirtied the folio"
    );
    l.munmap("app", t("pop"));
    assert_eq!(
        dirt(&l, "c", "pop"),
        [0, 0, 0, 8, 0],
        "the zapped dirty pte dirtied the folio"
    );
    // write(2) to a tmpfs file dirties the pages a mapping faulted in clean.
    l.mmap("c", "f", Map::anon(8 * KIB).shared().tmpfs("/dev/shm/f"));
    l.op(Op::TmpfsWrite {
        proc: "c".into(),
        path: "/dev/shm/f".into(),
        offset: Size::Bytes(0),
        len: Size::Bytes(8 * KIB),
    });
    l.read("c", t("f"));
    assert_eq!(dirt(&l, "c", "f"), [0, 0, 0, 8, 0]);
    l.mmap("c", "g", Map::anon(8 * KIB).shared().tmpfs("/dev/shm/g"));
    l.read("c", t("g"));
    assert_eq!(dirt(&l, "c", "g"), [0, 0, 8, 0, 0]);
    l.op(Op::TmpfsWrite {
        proc: "c".into(),
        path: "/dev/shm/g".into(),
        offset: Size::Bytes(0),
        len: Size::Bytes(4 * KIB),
    });
    assert_eq!(dirt(&l, "c", "g"), [0, 0, 4, 4, 0]);
}

/// MADV_FREE marks every folio that is not PG_dirty lazy-free, also one a fork shares, and
/// makes only the caller's ptes clean (mm/madvise.c: madvise_free_pte_range checks the mapcount
/// only of a PG_dirty or swap-cache folio; clear_young_dirty_ptes). The caller sees the pages
/// clean and LazyFree; the child, whose ptes stay dirty, sees them dirty and not lazy. Found by
/// the real-kernel sweep (seeds 203 and 270); `dirty_bits_agree` runs it on the kernel.
#[test]
fn l5_madv_free_of_pages_a_fork_shares() {
    let mut l = Lab::measured();
    l.spawn("app");
    l.mmap("app", "m", Map::anon(16 * KIB).populate());
    l.fork("app", "c");
    assert_eq!(dirt(&l, "app", "m"), [0, 16, 0, 0, 0]);
    assert_eq!(l.madvise("app", t("m"), Advice::Free), Outcome::Ok);
    assert_eq!(dirt(&l, "app", "m"), [16, 0, 0, 0, 16]);
    assert_eq!(dirt(&l, "c", "m"), [0, 16, 0, 0, 0]);
    assert_eq!(l.status_kb("app", "RssAnon"), 16, "nothing is freed yet");
    // The child's write copies its page; the original is the caller's alone, still lazy.
    l.write("c", sub("m", 0, 4 * KIB));
    assert_eq!(dirt(&l, "c", "m"), [0, 12, 0, 4, 0]);
    assert_eq!(dirt(&l, "app", "m"), [12, 0, 4, 0, 16]);
    // The caller's write copies too (the page is shared): the child keeps the lazy-free frame,
    // dirty through its pte, so not lazy for it.
    l.write("app", sub("m", 4 * KIB, 8 * KIB));
    assert_eq!(dirt(&l, "app", "m"), [8, 0, 4, 4, 12]);
    assert_eq!(dirt(&l, "c", "m"), [0, 8, 0, 8, 0]);
    // madvise_dontneed_free_valid_vma: MADV_FREE of a VM_LOCKED VMA is EINVAL, as DONTNEED is.
    l.op(Op::Mmap {
        proc: "app".into(),
        name: "lk".into(),
        len: Size::Bytes(16 * KIB),
        prot: Prot::parse("rw").unwrap(),
        shared: false,
        backing: Backing::Anon,
        noreserve: false,
        populate: false,
        growsdown: false,
        locked: true,
        hugetlb: false,
        placement: Placement::Any,
    });
    assert_eq!(
        l.madvise("app", t("lk"), Advice::Free),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(dirt(&l, "app", "lk"), [0, 0, 0, 16, 0]);
}

#[test]
fn l5_4_cow_and_pss_walkthrough() {
    let mut l = Lab::measured();
    l.spawn("parent");
    l.mmap("parent", "a", Map::anon(64 * MB));
    l.write("parent", t("a"));
    l.fork("parent", "child");
    for p in ["parent", "child"] {
        assert_eq!(l.smaps_kb(p, "a", "Rss"), 65_536);
        assert_eq!(l.smaps_kb(p, "a", "Pss"), 32_768);
        assert_eq!(l.smaps_kb(p, "a", "Shared_Dirty"), 65_536);
        assert_eq!(l.smaps_kb(p, "a", "Private_Dirty"), 0);
    }
    l.write("child", sub("a", 0, 16 * MB));
    for p in ["parent", "child"] {
        assert_eq!(l.smaps_kb(p, "a", "Rss"), 65_536, "{p}");
        assert_eq!(l.smaps_kb(p, "a", "Pss"), 40_960, "{p}");
        assert_eq!(l.smaps_kb(p, "a", "Shared_Dirty"), 49_152, "{p}");
        assert_eq!(l.smaps_kb(p, "a", "Private_Dirty"), 16_384, "{p}");
    }
    l.exit("child");
    for f in ["Pss", "Rss", "Private_Dirty"] {
        assert_eq!(l.smaps_kb("parent", "a", f), 65_536, "{f}");
    }
}

// ---- L6: fork ----------------------------------------------------------------------------

#[test]
fn l6_fork_charges_sum_of_ac_vmas_and_dontfork_vfork_clone() {
    let mut l = Lab::measured();
    l.spawn("p");
    // The probe had 384 kB of accountable VMAs of its own (libc data, heap, stack).
    l.mmap("p", "own", Map::anon(384 * 1024));
    l.mmap("p", "area", Map::anon(512 * MB).below("own", MB));
    let c = l.committed_kb();
    l.fork("p", "c");
    assert_eq!(l.committed_kb() - c, 524_672);
    l.exit("c");
    assert_eq!(l.committed_kb(), c);
    l.madvise("p", sub("area", 0, 256 * MB), Advice::DontFork);
    assert!(l.flags("p", "area").contains("dc"));
    l.fork("p", "c2");
    assert_eq!(l.committed_kb() - c, 524_672 - Q256);
    l.exit("c2");
    for kind in [ForkKind::Vfork, ForkKind::CloneVm] {
        let c = l.committed_kb();
        l.op(Op::Fork {
            parent: "p".into(),
            child: "v".into(),
            kind,
        });
        assert_eq!(l.committed_kb(), c, "{kind:?}");
        l.exit("v");
    }
}

// ---- L7: merging, splitting, max_map_count --------------------------------------------------

#[test]
fn l7_merges() {
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "a", Map::anon(MB));
    l.mmap("p", "b", Map::anon(MB).below("a", 0));
    assert_eq!(l.vmas("p"), 1, "adjacent RW anon merge");
    l.mmap("p", "ro", Map::anon(MB).prot("r").below("b", 0));
    assert_eq!(l.vmas("p"), 2, "a read-only neighbour does not");
    l.mprotect("p", t("ro"), "rw");
    assert_eq!(l.vmas("p"), 1, "mprotect makes it merge");
    l.mmap("p", "nr", Map::anon(MB).noreserve().below("ro", 0));
    assert_eq!(l.vmas("p"), 2, "NORESERVE neighbour stays apart");

    // Filling the gap between two unfaulted VMAs merges all three.
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "hi", Map::anon(MB));
    l.mmap("p", "lo", Map::anon(MB).below("hi", MB));
    assert_eq!(l.vmas("p"), 2);
    l.mmap("p", "mid", Map::anon(MB).below("hi", 0));
    assert_eq!(l.vmas("p"), 1);

    // Between two separately faulted VMAs: merges with one side only.
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "hi", Map::anon(MB));
    l.mmap("p", "lo", Map::anon(MB).below("hi", MB));
    l.write("p", t("hi"));
    l.write("p", t("lo"));
    l.mmap("p", "mid", Map::anon(MB).below("hi", 0));
    assert_eq!(l.vmas("p"), 2);

    // A new unfaulted VMA next to a faulted one merges.
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "a", Map::anon(MB));
    l.write("p", t("a"));
    l.mmap("p", "b", Map::anon(MB).below("a", 0));
    assert_eq!(l.vmas("p"), 1);

    // File views of the same file merge only at contiguous offsets.
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap(
        "p",
        "f0",
        Map::anon(MB).prot("r").file("/f", false).offset(MB),
    );
    l.mmap(
        "p",
        "f1",
        Map::anon(MB)
            .prot("r")
            .file("/f", false)
            .offset(0)
            .below("f0", 0),
    );
    assert_eq!(l.vmas("p"), 1, "offsets 0 and 1 MiB, adjacent: merge");
    l.mmap(
        "p",
        "f2",
        Map::anon(MB)
            .prot("r")
            .file("/f", false)
            .offset(8 * MB)
            .below("f1", 0),
    );
    assert_eq!(l.vmas("p"), 2, "offset 8 MiB below offset 0: no merge");
}

/// A process with a 3-page SysV segment attached as `s`.
fn sysv_attach() -> Lab {
    let mut l = Lab::measured();
    l.spawn("p");
    l.op(Op::Shmget {
        proc: "p".into(),
        key: "k".into(),
        len: Size::Bytes(12 * 1024),
        noreserve: false,
    });
    l.mmap("p", "s", Map::anon(12 * 1024).shm("k"));
    l
}

/// `can_merge_remove_vma` (mm/vma.c): a merge never removes a VMA with a `vm_ops->close` hook.
/// Measured on 6.18 with a 3-page SysV attach (shm_close): mprotect of the middle page to r and
/// back leaves 3 VMAs (rejoining would remove the middle one); after [1, 3) → r, making [1, 2)
/// rw again moves the boundary (prev grows, the r piece shrinks, nothing is removed): 2 VMAs.
#[test]
fn l7_close_hook_blocks_only_merges_that_remove_it() {
    let mut l = sysv_attach();
    l.mprotect("p", sub("s", 4096, 8192), "r");
    assert_eq!(l.vmas("p"), 3);
    l.mprotect("p", sub("s", 4096, 8192), "rw");
    assert_eq!(l.vmas("p"), 3, "rejoining would remove the middle VMA");
    assert!(l
        .last_events
        .iter()
        .any(|e| e.source() == "mm/vma.c: can_merge_remove_vma"));

    // A fresh attach: [1, 3) → r splits it in two; [1, 2) → rw moves the boundary up (prev grows
    // over it) and [1, 2) → r moves it back (next grows down); nothing is removed, so both merge.
    let mut l = sysv_attach();
    l.mprotect("p", sub("s", 4096, 12288), "r");
    assert_eq!(l.vmas("p"), 2);
    l.mprotect("p", sub("s", 4096, 8192), "rw");
    assert_eq!(l.vmas("p"), 2);
    assert_eq!(l.smaps_kb("p", "s", "Size"), 8, "prev took the page");
    l.mprotect("p", sub("s", 4096, 8192), "r");
    assert_eq!(l.vmas("p"), 2);
    assert_eq!(l.smaps_kb("p", "s", "Size"), 4, "next took it back");
}

#[test]
fn l7_splits() {
    let mut l = Lab::measured();
    l.spawn("p");
    l.mmap("p", "a", Map::anon(256 * MB));
    l.mprotect("p", sub("a", 64 * MB, 128 * MB), "r");
    assert_eq!(l.vmas("p"), 3);
    l.mmap("p", "b", Map::anon(64 * MB).below("a", 16 * MB));
    let n = l.vmas("p");
    l.munmap("p", sub("b", 16 * MB, 17 * MB));
    assert_eq!(l.vmas("p"), n + 1);
}

#[test]
fn l7_max_map_count_off_by_one() {
    let mut l = Lab::measured();
    l.check_every = 20_000;
    l.spawn("p");
    // One big VMA, then alternating-protection splits until the kernel refuses.
    l.mmap("p", "big", Map::anon(70_000 * 4096 * 2));
    let mut i = 1;
    loop {
        let off = i * 2 * 4096;
        let o = l.op(Op::Mprotect {
            proc: "p".into(),
            target: sub("big", off, off + 4096),
            prot: Prot::R,
        });
        if o != Outcome::Ok {
            assert_eq!(o, Outcome::Err(Errno::ENOMEM));
            break;
        }
        i += 1;
    }
    assert_eq!(l.vmas("p"), 65_530, "splits stop at map_count 65530");
    // Punching a one-page hole needs a split: refused.
    assert_eq!(
        l.munmap(
            "p",
            sub("big", 2 * 4096 + 4096 * 100_000, 2 * 4096 + 4096 * 100_001)
        ),
        Outcome::Err(Errno::ENOMEM)
    );
    // An isolated new mmap is still allowed (map_count > max is checked before the call) …
    assert_eq!(
        l.mmap("p", "x", Map::anon(4096).prot("x").at(0x1000_0000)),
        Outcome::Ok
    );
    assert_eq!(l.vmas("p"), 65_531);
    // … and the next one is refused.
    assert_eq!(
        l.mmap("p", "y", Map::anon(4096).prot("x").at(0x2000_0000)),
        Outcome::Err(Errno::ENOMEM)
    );
    l.check();
}

// ---- L8.4: oom_score ------------------------------------------------------------------------

fn oom_case(rss_mib: u64, adj: i32) -> i64 {
    let mut l = Lab::measured();
    l.spawn_admin("p");
    // The probe's own pages (libc, stack): 1 MiB resident, placed away from the test area.
    l.mmap("p", "base", Map::anon(MB));
    l.write("p", t("base"));
    if rss_mib > 0 {
        l.mmap("p", "a", Map::anon(rss_mib * MB).below("base", 64 * MB));
        l.write("p", t("a"));
    }
    l.op(Op::OomScoreAdj {
        proc: "p".into(),
        value: adj,
        legacy: false,
    });
    l.number(Query::OomScore { proc: "p".into() })
}

#[test]
fn l8_4_oom_score_eight_cases() {
    assert_eq!(oom_case(0, 0), 666);
    assert_eq!(oom_case(100, 0), 669);
    assert_eq!(oom_case(100, 250), 836);
    assert_eq!(oom_case(100, 500), 1002);
    assert_eq!(oom_case(200, 0), 672);
    assert_eq!(oom_case(200, 1000), 1338);
    assert_eq!(oom_case(50, 999), 1334);
    assert_eq!(oom_case(0, 1), 667);
}

#[test]
fn l8_4_oom_score_adj_and_legacy_oom_adj_permissions() {
    let mut l = Lab::measured();
    l.spawn("p");
    let adj = |l: &mut Lab, v: i32, legacy: bool| {
        l.op(Op::OomScoreAdj {
            proc: "p".into(),
            value: v,
            legacy,
        })
    };
    assert_eq!(adj(&mut l, -500, false), Outcome::Err(Errno::EACCES));
    assert_eq!(adj(&mut l, 300, false), Outcome::Ok);
    assert_eq!(adj(&mut l, 100, false), Outcome::Ok);
    for (write, score_adj, reads) in [(5, 294, 4), (14, 823, 13), (15, 1000, 15)] {
        assert_eq!(adj(&mut l, write, true), Outcome::Ok);
        assert_eq!(l.number(Query::OomScoreAdj { proc: "p".into() }), score_adj);
        assert_eq!(l.number(Query::OomAdj { proc: "p".into() }), reads);
    }
    for w in [1, 0, -17] {
        assert_eq!(
            adj(&mut l, w, true),
            Outcome::Err(Errno::EACCES),
            "oom_adj {w}"
        );
    }
}

#[test]
fn l8_4_pre_5_9_formula() {
    let mut l = Lab::measured().kernel("5.8");
    l.spawn("p");
    l.mmap("p", "a", Map::anon(100 * MB));
    l.write("p", t("a"));
    // badness*1000/totalpages with badness ≥ 1.
    assert_eq!(l.number(Query::OomScore { proc: "p".into() }), 4);
}
