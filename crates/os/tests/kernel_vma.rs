//! The kernel's own VMA merge tests (tools/testing/vma/vma.c) as real cases: each test whose
//! situation userspace can produce is played here with mmap/mprotect/madvise/mremap on this
//! host's kernel and on the simulator, which must agree on every step (outcome, and the count,
//! sizes, permissions, `ac`/`nr`/`sh` flags and adjacency of the scenario's VMAs). The
//! `expect` lines say what the kernel test expects, in the simulator's words; since the two sides
//! agree step by step, the kernel shows the same.
//!
//! vma.c drives mm/vma.c directly with hand-made VMAs: one page is 0x1000, every VMA of a test
//! shares one `dummy_anon_vma`, and `vmg->anon_vma` is left NULL, so its "faulted" VMAs are not
//! what a page fault makes. Here a faulted VMA is one a `write` touched: each gets its own
//! anon_vma, and a range being changed carries its VMA's. Where the kernel test relies on two
//! VMAs sharing one anon_vma, the case below faults one of them only (and says so).
//!
//! Read from the stored `tools/testing/vma/vma.c` whose `main` runs simple_merge, simple_modify,
//! simple_expand, simple_shrink, merge_new, vma_merge_special_flags, vma_merge_with_close,
//! vma_merge_new_with_close, merge_existing, anon_vma_non_mergeable, dup_anon_vma,
//! vmi_prealloc_fail, merge_extend, copy_vma, expand_only_mode and mmap_region_basic (the one-file
//! layout the 6.1x kernels have, before the tests were split into tools/testing/vma/tests/).
//!
//! Not produced here, and why:
//! * `vma_merge_special_flags` (VM_IO, VM_DONTEXPAND, VM_PFNMAP, VM_MIXEDMAP never merge): only a
//!   driver's mmap sets them (/dev/mem, perf, io_uring rings…); the scenario language has no
//!   device mappings and the simulator none of these flags.
//! * `vma_merge_with_close`, `vma_merge_new_with_close` (a VMA with `vm_ops->close` is never
//!   removed by a merge, a partial merge still happens): userspace gets a close hook from SysV
//!   shm (`shm_close`) and hugetlb (`hugetlb_vm_op_close`); the real backend runs neither
//!   (docs/known-differences.md, "Not run on the real kernel yet"), and the simulator never merges
//!   SysV attaches at all (each attach is its own struct file).
//! * `vmi_prealloc_fail` (maple-tree preallocation failing with ENOMEM mid-merge): an allocation
//!   failure inside the kernel, not a situation a process can set up.
//! * `expand_only_mode` (`VMG_FLAG_JUST_EXPAND`): used by exec's stack relocation
//!   (relocate_vma_down) only.
//! * `copy_vma` with a chosen destination: mremap(MREMAP_FIXED) is now in the scenario language
//!   (`at=`/`below=`/`above=`, real.rs `mremap_fixed_dontunmap_and_sub_ranges_agree`), but the
//!   merge cases at a chosen destination are not played here yet; only the copy below that
//!   top-down placement makes adjacent is.

mod common;
use common::*;
use vmlab_core::scenario::parse;
use vmlab_core::sim;

/// Check `text` on both sides: the simulator meets its expectations (the kernel test's), and the
/// kernel agrees with it on every step.
fn case(test: &str, text: &str) {
    let Some(_serial) = root_or_skip(test) else {
        return;
    };
    let text = format!("machine linux measured\nspawn p\n{text}");
    let s = parse(&text).expect("the case parses");
    let simulated = sim::run(&s);
    let failed: Vec<String> = simulated
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: {}", c.text, c.detail))
        .collect();
    assert!(
        simulated.all_passed(),
        "{test}: the simulator misses the kernel test's expectation: {failed:?} {:?}",
        simulated.error
    );
    let r = run(&text);
    print!("{}", r.render());
    assert!(r.agrees(), "{test}:\n{}", r.render());
}

/// test_simple_merge: "0123 / A*B" — a new VMA in the one-page gap between two compatible VMAs
/// merges with both: `vma->vm_start == 0, vm_end == 0x3000, vm_pgoff == 0`.
#[test]
fn simple_merge() {
    case(
        "simple_merge",
        "p mmap right 4KiB rw private anon\n\
         p mmap left 4KiB rw private anon below=right gap=4KiB\n\
         expect p.vmas = 2\n\
         p mmap mid 4KiB rw private anon below=right\n\
         expect p.vmas = 1\n\
         expect p.smaps.left.Size = 12kB\n",
    );
}

/// test_simple_modify: changing the flags of the middle page of a three-page VMA splits it in
/// three: [0, 0x1000) pgoff 0, [0x1000, 0x2000) pgoff 1, [0x2000, 0x3000) pgoff 2.
#[test]
fn simple_modify() {
    case(
        "simple_modify",
        "p mmap a 12KiB rw private anon\n\
         p mprotect a[4KiB..8KiB] r\n\
         expect p.vmas = 3\n\
         expect p.smaps.a.Size = 4kB\n",
    );
}

/// test_simple_expand: vma_expand of [0, 0x1000) to [0, 0x3000): one VMA, pgoff 0. Userspace
/// expands a VMA in place with mremap (vma_merge_extend → vma_expand); the space above it is left
/// free by a gap, so nothing else merges.
#[test]
fn simple_expand() {
    case(
        "simple_expand",
        "p mmap top 4KiB rw private anon\n\
         p mmap a 4KiB rw private anon below=top gap=1MiB\n\
         p mremap a 12KiB\n\
         expect p mremap ok\n\
         expect p.vmas = 2\n\
         expect p.smaps.a.Size = 12kB\n",
    );
}

/// test_simple_shrink: vma_shrink of [0, 0x3000) to [0, 0x1000). Userspace shrinks a VMA with
/// mremap to a smaller size.
#[test]
fn simple_shrink() {
    case(
        "simple_shrink",
        "p mmap a 12KiB rw private anon\n\
         p mremap a 4KiB\n\
         expect p.vmas = 1\n\
         expect p.smaps.a.Size = 4kB\n",
    );
}

/// test_merge_new: "AA B       CC", then D at 7–8 ("NO merge", map_count 4), then new pages at
/// 2 ("Merge BOTH sides", A takes B), 4 ("Merge to PREVIOUS VMA"), 6 ("Merge to NEXT VMA", D is
/// prepended), 5 (both sides: A takes D), 0xa (prepend C) and 9 (both: A takes C): "Should only
/// have one VMA left", [0, 0xc000), with B's anon_vma. Only B is faulted here (the kernel test's
/// VMAs all share one anon_vma; two separately faulted VMAs would not three-way merge).
#[test]
fn merge_new() {
    case(
        "merge_new",
        "p mmap c 4KiB rw private anon\n\
         p mmap d 8KiB rw private anon below=c gap=8KiB\n\
         p mmap b 4KiB rw private anon below=d gap=12KiB\n\
         p mmap a 8KiB rw private anon below=b gap=4KiB\n\
         expect p.vmas = 4\n\
         p write b\n\
         p mmap n2 4KiB rw private anon below=b\n\
         expect p.vmas = 3\n\
         p mmap n4 4KiB rw private anon above=b\n\
         expect p.vmas = 3\n\
         p mmap n6 4KiB rw private anon below=d\n\
         expect p.vmas = 3\n\
         p mmap n5 4KiB rw private anon below=n6\n\
         expect p.vmas = 2\n\
         p mmap na 4KiB rw private anon below=c\n\
         expect p.vmas = 2\n\
         p mmap n9 4KiB rw private anon below=na\n\
         expect p.vmas = 1\n\
         expect p.smaps.a.Size = 48kB\n\
         expect p.smaps.a.Rss = 4kB\n",
    );
}

/// test_merge_existing, with the middle VMA V faulted (`vma->anon_vma = &dummy_anon_vma`) and its
/// neighbours not, each neighbour made different by `dontfork` and V changed to match:
/// * "Merge right case - partial span": VVVVNNN, change [3, 6) → V [2, 3), N [3, 9) "with
///   vma_next->anon_vma == &dummy_anon_vma";
/// * "Merge right case - full span": → one VMA [2, 9);
/// * "Merge left case - partial span": PPPVVVV, change [3, 6) → P [0, 6), V [6, 7);
/// * "Merge left case - full span": → one VMA [0, 7);
/// * "Merge both case": PPPVVVVNNN → one VMA [0, 9).
///
/// Before 6.16 a real kernel merges none of these (a faulted range never went into an unfaulted
/// neighbour); 6.18 merges all, as the kernel test expects.
#[test]
fn merge_existing() {
    // Merge right, partial and full span.
    for (range, vmas, v_kb) in [("v[4KiB..16KiB]", 2, 4), ("v", 1, 28)] {
        case(
            "merge_existing",
            &format!(
                "p mmap n 12KiB rw private anon\n\
                 p madvise n dontfork\n\
                 p mmap v 16KiB rw private anon below=n\n\
                 p write v\n\
                 p madvise {range} dontfork\n\
                 expect p.vmas = {vmas}\n\
                 expect p.smaps.v.Size = {v_kb}kB\n"
            ),
        );
    }
    // Merge left, partial and full span.
    for (range, vmas, p_kb) in [("v[0KiB..12KiB]", 2, 24), ("v", 1, 28)] {
        case(
            "merge_existing",
            &format!(
                "p mmap v 16KiB rw private anon\n\
                 p mmap prev 12KiB rw private anon below=v\n\
                 p madvise prev dontfork\n\
                 p write v\n\
                 p madvise {range} dontfork\n\
                 expect p.vmas = {vmas}\n\
                 expect p.smaps.prev.Size = {p_kb}kB\n"
            ),
        );
    }
    // Merge both.
    case(
        "merge_existing",
        "p mmap n 8KiB rw private anon\n\
         p madvise n dontfork\n\
         p mmap v 16KiB rw private anon below=n\n\
         p mmap prev 12KiB rw private anon below=v\n\
         p madvise prev dontfork\n\
         p write v\n\
         p madvise v dontfork\n\
         expect p.vmas = 1\n\
         expect p.smaps.prev.Size = 36kB\n",
    );
}

/// test_merge_existing, "Non-merge ranges": a change that touches neither end of V (PPPVVVVVNNN,
/// ranges [4, 5), [5, 6), [6, 7), [4, 7), [4, 6)) merges with nothing; userspace then sees the
/// split into three.
#[test]
fn merge_existing_non_merge_ranges() {
    for range in [
        "v[4KiB..8KiB]",
        "v[8KiB..12KiB]",
        "v[12KiB..16KiB]",
        "v[4KiB..16KiB]",
        "v[4KiB..12KiB]",
    ] {
        case(
            "merge_existing_non_merge_ranges",
            &format!(
                "p mmap n 8KiB rw private anon\n\
                 p madvise n dontfork\n\
                 p mmap v 20KiB rw private anon below=n\n\
                 p mmap prev 12KiB rw private anon below=v\n\
                 p madvise prev dontfork\n\
                 p madvise {range} dontfork\n\
                 expect p.vmas = 5\n"
            ),
        );
    }
}

/// test_anon_vma_non_mergeable: prev and next each have an anon_vma, different ones, and the
/// unfaulted V between them is changed ("we revert to a merge of prev and VMA": PPPPPPPNNN); then
/// "the new VMA case" — a new VMA in that gap merges with prev only too.
#[test]
fn anon_vma_non_mergeable() {
    case(
        "anon_vma_non_mergeable",
        "p mmap n 8KiB rw private anon\n\
         p madvise n dontfork\n\
         p mmap v 16KiB rw private anon below=n\n\
         p mmap prev 12KiB rw private anon below=v\n\
         p madvise prev dontfork\n\
         p write prev\n\
         p write n\n\
         p madvise v dontfork\n\
         expect p.vmas = 2\n\
         expect p.smaps.prev.Size = 28kB\n",
    );
    case(
        "anon_vma_non_mergeable",
        "p mmap n 8KiB rw private anon\n\
         p mmap prev 12KiB rw private anon below=n gap=16KiB\n\
         p write prev\n\
         p write n\n\
         p mmap v 16KiB rw private anon below=n\n\
         expect p.vmas = 2\n\
         expect p.smaps.prev.Size = 28kB\n",
    );
}

/// test_dup_anon_vma: whenever a merge removes or shrinks a VMA with an anon_vma into one without,
/// the survivor takes it (`dup_anon_vma`, "was_cloned"), so its pages stay reachable:
/// * a new VMA between an unfaulted prev and a faulted next: prev takes next's;
/// * "modified VMA merging with both neighbours", only the middle faulted: prev takes middle's;
/// * the same with only next faulted: prev takes next's;
/// * "modify middle, merge with prev only", the middle faulted, shrinking it: prev takes it.
///
/// RssAnon of the scenario's VMAs is compared, so losing the pages would show.
#[test]
fn dup_anon_vma() {
    case(
        "dup_anon_vma",
        "p mmap n 8KiB rw private anon\n\
         p mmap prev 8KiB rw private anon below=n gap=4KiB\n\
         p write n\n\
         p mmap mid 4KiB rw private anon below=n\n\
         expect p.vmas = 1\n\
         expect p.smaps.prev.Rss = 8kB\n",
    );
    for faulted in ["v", "n"] {
        case(
            "dup_anon_vma",
            &format!(
                "p mmap n 8KiB rw private anon\n\
                 p madvise n dontfork\n\
                 p mmap v 8KiB rw private anon below=n\n\
                 p mmap prev 8KiB rw private anon below=v\n\
                 p madvise prev dontfork\n\
                 p write {faulted}\n\
                 p madvise v dontfork\n\
                 expect p.vmas = 1\n\
                 expect p.smaps.prev.Rss = 8kB\n"
            ),
        );
    }
    case(
        "dup_anon_vma",
        "p mmap v 16KiB rw private anon\n\
         p mmap prev 8KiB rw private anon below=v\n\
         p madvise prev dontfork\n\
         p write v\n\
         p madvise v[0KiB..8KiB] dontfork\n\
         expect p.vmas = 2\n\
         expect p.smaps.prev.Size = 16kB\n\
         expect p.smaps.prev.Rss = 8kB\n",
    );
}

/// test_merge_extend: "0123456789 / VVVNNN" — vma_merge_extend grows V by two pages up to N and
/// merges: `vma->vm_start == 0, vm_end == 0x4000`, map_count 1. Played unfaulted (as in the
/// kernel test) and with V faulted, which merges into the unfaulted N from 6.16.
#[test]
fn merge_extend() {
    for fault in ["", "p write v\n"] {
        case(
            "merge_extend",
            &format!(
                "p mmap n 4KiB rw private anon\n\
                 p mmap v 4KiB rw private anon below=n gap=8KiB\n\
                 {fault}\
                 p mremap v 12KiB\n\
                 expect p mremap ok\n\
                 expect p.vmas = 1\n\
                 expect p.smaps.v.Size = 16kB\n"
            ),
        );
    }
}

/// test_copy_vma: copy_vma of an unfaulted VMA to where it cannot merge gives a new VMA; to right
/// after a compatible VMA it merges ("vma_new == vma_next"). Userspace copies with mremap
/// MREMAP_MAYMOVE: X cannot grow in place (M is above it), so it moves to the highest gap that
/// fits — exactly the one below T — and merges with T; M (dontfork) stays apart. An unfaulted
/// VMA is re-based at its new address (copy_vma), so the offsets are contiguous.
#[test]
fn copy_vma() {
    case(
        "copy_vma",
        "p mmap t 4KiB rw private anon\n\
         p mmap m 4KiB rw private anon below=t gap=16KiB\n\
         p madvise m dontfork\n\
         p mmap x 4KiB rw private anon below=m\n\
         p mremap x 16KiB maymove\n\
         expect p mremap ok\n\
         expect p.vmas = 2\n\
         expect p.smaps.t.Size = 20kB\n",
    );
}

/// test_mmap_region_basic: __mmap_region at 0x300000 (3 pages), 0x303000 (merges: 0x300000–
/// 0x306000), 0x250000 and 0x24d000 (merges: 0x24d000–0x253000): map_count 2.
#[test]
fn mmap_region_basic() {
    case(
        "mmap_region_basic",
        "p mmap a 12KiB rw private anon\n\
         p mmap b 12KiB rw private anon below=a\n\
         p mmap c 12KiB rw private anon below=b gap=708KiB\n\
         p mmap d 12KiB rw private anon below=c\n\
         expect p.vmas = 2\n\
         expect p.smaps.b.Size = 24kB\n\
         expect p.smaps.d.Size = 24kB\n",
    );
}

/// The cases above can fail: the simulator told the kernel is 6.15 keeps the old
/// is_mergeable_anon_vma, leaves merge_existing's "merge both" case in three VMAs, and the
/// harness reports it against this 6.18 kernel's one.
#[test]
fn the_harness_fails_with_a_pre_6_16_simulator() {
    use vmlab_core::config::MachineConfig;
    let Some(_serial) = root_or_skip("the_harness_fails_with_a_pre_6_16_simulator") else {
        return;
    };
    let s = parse(
        "machine linux measured\n\
         spawn p\n\
         p mmap n 8KiB rw private anon\n\
         p madvise n dontfork\n\
         p mmap v 16KiB rw private anon below=n\n\
         p mmap prev 12KiB rw private anon below=v\n\
         p madvise prev dontfork\n\
         p write v\n\
         p madvise v dontfork\n",
    )
    .unwrap();
    let before = vmlab_os::current_sysctls().unwrap();
    let MachineConfig::Linux(host) = vmlab_os::host::host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    let mut old = vmlab_os::check::sim_config_for(&s, &MachineConfig::Linux(host));
    let MachineConfig::Linux(c) = &mut old else {
        unreachable!("a Linux machine")
    };
    c.kernel = vmlab_core::kernel::KernelVersion::new(6, 15);
    let r = vmlab_os::check_with(&s, old, &helper()).unwrap();
    after_checks(&before);
    print!("{}", r.render());
    assert_eq!(r.mismatches.len(), 1, "{}", r.render());
    let m = &r.mismatches[0];
    assert_eq!((m.step, m.field.as_str()), (8, "p: vmas"), "{}", r.render());
    assert!(
        m.sim.starts_with("3:") && m.kernel.starts_with("1:"),
        "{m:?}"
    );
}
