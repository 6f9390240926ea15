//! Hostile input: sizes and addresses near 2^64 and TASK_SIZE, unaligned starts, zero lengths,
//! touches of unmapped memory. Each case runs scenario text through `sim::run` and checks the
//! errno the kernel gives, the event that explains it (with its source), and that Committed_AS
//! in the trace did not move on a refusal. One test per defect found by probing.

use vmlab_core::event::Event;
use vmlab_core::op::{Errno, Outcome, Signal};
use vmlab_core::scenario::parse;
use vmlab_core::sim::{self, Run, StepRecord};

const MODE0: &str = "machine linux ram=24GiB swap=0 overcommit=0 kernel=6.6\nspawn p\n";
const MODE1: &str = "machine linux ram=24GiB swap=0 overcommit=1 kernel=6.6\nspawn p\n";

/// 2^64 − 1 bytes, as a scenario writes it.
const MAX: &str = "18446744073709551615B";

fn run(text: &str) -> Run {
    let s = parse(text).unwrap_or_else(|d| panic!("does not parse: {d:?}\n{text}"));
    let r = sim::run(&s);
    assert!(r.error.is_none(), "scenario error {:?}\n{text}", r.error);
    if let Err(e) = r.machine.check_invariants() {
        panic!("invariant broken: {e}\n{text}");
    }
    r
}

fn last(r: &Run) -> &StepRecord {
    r.steps.last().expect("at least one step")
}

/// The last step's refusal event: (errno, sentence, source).
fn refusal(s: &StepRecord) -> (String, &'static str) {
    let e: &Event = s
        .events
        .iter()
        .find(|e| e.reason() == "op.refused")
        .unwrap_or_else(|| panic!("step {} `{}` has no op.refused event", s.step, s.text));
    (e.sentence(), e.source())
}

/// Run `ops` after the header; the last op must give `errno`, say `why` and cite `source`, and
/// leave Committed_AS as the step before it.
fn refused(header: &str, ops: &str, errno: Errno, why: &str, source: &str) -> Run {
    let r = run(&format!("{header}{ops}"));
    let s = last(&r);
    assert_eq!(s.outcome, Outcome::Err(errno), "`{}`", s.text);
    let (sentence, src) = refusal(s);
    assert!(
        sentence.contains(why),
        "`{}`: {sentence:?} lacks {why:?}",
        s.text
    );
    assert!(
        src.contains(source),
        "`{}`: source {src:?}, want {source:?}",
        s.text
    );
    let before = r.steps[r.steps.len() - 2].committed_as_kb;
    assert_eq!(s.committed_as_kb, before, "`{}` moved Committed_AS", s.text);
    r
}

fn ok(header: &str, ops: &str) -> Run {
    let r = run(&format!("{header}{ops}"));
    let s = last(&r);
    assert_eq!(s.outcome, Outcome::Ok, "`{}`: {:?}", s.text, s.events);
    r
}

// ---- mmap lengths ----------------------------------------------------------------------------

#[test]
fn mmap_length_that_page_aligns_to_zero_is_enomem() {
    for len in [MAX, "18446744073709547521B"] {
        refused(
            MODE1,
            &format!("p mmap a {len} rw private anon\n"),
            Errno::ENOMEM,
            "PAGE_ALIGN(len) wraps past 2^64 to 0",
            "mm/mmap.c: do_mmap",
        );
    }
}

#[test]
fn mmap_longer_than_task_size_is_enomem_before_any_charge() {
    // 2^64 − 4096 rounds to itself; TASK_SIZE + 1 page is just too long.
    for len in ["18446744073709547520B", "140737488355328B"] {
        refused(
            MODE1,
            &format!("p mmap a {len} rw private anon\n"),
            Errno::ENOMEM,
            "larger than TASK_SIZE",
            "mm/mmap.c: __get_unmapped_area (len > TASK_SIZE)",
        );
    }
    // Exactly TASK_SIZE passes that check but finds no room below mmap_base.
    refused(
        MODE1,
        "p mmap a 140737488351232B rw private anon\n",
        Errno::ENOMEM,
        "no free range",
        "arch_get_unmapped_area_topdown",
    );
}

#[test]
fn hugetlb_length_that_huge_aligns_to_zero_is_einval() {
    refused(
        "machine linux ram=24GiB swap=0 overcommit=0 kernel=6.6\nsysctl vm.nr_hugepages=8\nspawn p\n",
        &format!("p mmap h {MAX} rw private anon hugetlb\n"),
        Errno::EINVAL,
        "ALIGN(len, huge page size) wraps past 2^64",
        "ksys_mmap_pgoff",
    );
}

#[test]
fn mmap_small_lengths() {
    refused(
        MODE0,
        "p mmap a 0B rw private anon\n",
        Errno::EINVAL,
        "length 0",
        "mm/mmap.c: do_mmap (!len)",
    );
    for len in ["1B", "4095B", "4096B"] {
        let r = ok(MODE0, &format!("p mmap a {len} rw private anon\n"));
        assert_eq!(last(&r).committed_as_kb, 4, "{len} is one page");
    }
}

#[test]
fn mmap_at_near_task_size() {
    refused(
        MODE0,
        "p mmap a 8KiB rw private anon at=0x7fffffffe000\n",
        Errno::ENOMEM,
        "ends past TASK_SIZE",
        "mm/mmap.c: __get_unmapped_area (addr > TASK_SIZE - len)",
    );
    refused(
        MODE0,
        "p mmap a 8KiB rw private anon at=0xfffffffffffff000\n",
        Errno::ENOMEM,
        "ends past TASK_SIZE",
        "mm/mmap.c: __get_unmapped_area",
    );
    let r = ok(MODE0, "p mmap a 4KiB rw private anon at=0x7fffffffe000\n");
    assert_eq!(last(&r).committed_as_kb, 4);
    refused(
        MODE0,
        "p mmap a 4KiB rw private anon at=0x7f0000000100\n",
        Errno::EINVAL,
        "not page aligned",
        "offset_in_page(addr)",
    );
    refused(
        MODE0,
        "p mmap a 4KiB rw private anon at=0x1000\n",
        Errno::EPERM,
        "mmap_min_addr",
        "security/commoncap.c: cap_mmap_addr",
    );
}

#[test]
fn mmap_file_offset_past_the_largest_file_is_eoverflow() {
    refused(
        MODE0,
        "p mmap f 1MiB r private file /data offset=9223372036854771712B\n",
        Errno::EOVERFLOW,
        "MAX_LFS_FILESIZE",
        "mm/mmap.c: do_mmap → file_mmap_ok",
    );
    refused(
        MODE0,
        "p mmap f 1MiB rw shared tmpfs /dev/shm/x offset=9223372036854771712B\n",
        Errno::EOVERFLOW,
        "MAX_LFS_FILESIZE",
        "file_mmap_ok",
    );
    // A scenario can expect it by name.
    let r = run(&format!(
        "{MODE0}p mmap f 1MiB r private file /data offset=9223372036854771712B\nexpect p mmap EOVERFLOW\n"
    ));
    assert!(r.all_passed(), "{:?}", r.checks);
    // The last page below MAX_LFS_FILESIZE can be mapped.
    ok(
        MODE0,
        "p mmap f 4KiB r private file /data offset=9223372036854767616B\n",
    );
}

// ---- unaligned starts: EINVAL, never rounded down -------------------------------------------

const A16: &str = "p mmap a 16KiB rw private anon\n";

#[test]
fn unaligned_start_is_einval_for_munmap_mprotect_madvise() {
    let h = format!("{MODE0}{A16}");
    refused(
        &h,
        "p munmap a[100B..8KiB]\n",
        Errno::EINVAL,
        "not page aligned",
        "mm/vma.c: do_vmi_munmap",
    );
    refused(
        &h,
        "p mprotect a[100B..8KiB] r\n",
        Errno::EINVAL,
        "not page aligned",
        "mm/mprotect.c: do_mprotect_pkey",
    );
    refused(
        &h,
        "p madvise a[100B..8KiB] dontneed\n",
        Errno::EINVAL,
        "not page aligned",
        "mm/madvise.c: is_valid_madvise",
    );
    // Nothing was changed: still one 16 KiB VMA.
    let r = run(&format!(
        "{h}p munmap a[4095B..8KiB]\np mprotect a[1B..4KiB] r\n"
    ));
    let vmas = r
        .machine
        .query(&vmlab_core::query::Query::VmaCount { proc: "p".into() });
    assert!(
        matches!(vmas, Ok(vmlab_core::query::Value::Number(1))),
        "{vmas:?}"
    );
    // A touch may start anywhere: it faults the pages holding those bytes.
    let r = ok(&h, "p write a[100B..200B]\n");
    assert!(last(&r)
        .events
        .iter()
        .any(|e| e.sentence().starts_with("4 KiB faulted")));
}

#[test]
fn mremap_of_a_mapping_starts_aligned_and_a_wrapping_length_is_einval() {
    // mremap names a whole mapping, whose start is always page aligned; its new length is checked.
    refused(
        &format!("{MODE0}{A16}"),
        &format!("p mremap a {MAX} maymove\n"),
        Errno::EINVAL,
        "PAGE_ALIGN(new_len) is 0",
        "mm/mremap.c: check_mremap_params",
    );
    refused(
        &format!("{MODE0}{A16}"),
        "p mremap a 140737488355328B maymove\n",
        Errno::ENOMEM,
        "no free range",
        "mm/mremap.c",
    );
}

// ---- zero lengths ----------------------------------------------------------------------------

// `0%ram` resolves to 0 bytes when the operation runs, so `a[0%ram..0B]` is an empty range the
// parser cannot see as one.

#[test]
fn zero_length_munmap_is_einval() {
    refused(
        &format!("{MODE0}{A16}"),
        "p munmap a[0%ram..0B]\n",
        Errno::EINVAL,
        "length 0",
        "mm/vma.c: do_vmi_munmap",
    );
}

#[test]
fn zero_length_mprotect_madvise_and_touch_are_ok_and_do_nothing() {
    let h = format!("{MODE0}{A16}");
    for (op, source) in [
        (
            "p mprotect a[0%ram..0B] r\n",
            "mm/mprotect.c: do_mprotect_pkey",
        ),
        (
            "p madvise a[0%ram..0B] dontneed\n",
            "mm/madvise.c: madvise_should_skip",
        ),
    ] {
        let r = ok(&h, op);
        let s = last(&r);
        let e = s
            .events
            .iter()
            .find(|e| e.reason() == "op.nothing")
            .expect("op.nothing");
        assert_eq!(e.source(), source);
        assert_eq!(s.committed_as_kb, 16);
    }
    let r = ok(&h, "p write a[0%ram..0B]\n");
    assert!(
        last(&r).events.is_empty(),
        "a touch of no byte takes no fault"
    );
}

// ---- ranges that end below their start or past 2^64 -------------------------------------------

#[test]
fn ranges_that_wrap_get_each_calls_errno() {
    let h = format!("{MODE0}{A16}");
    // End below start: len = end − start wraps to nearly 2^64.
    refused(
        &h,
        "p munmap a[8KiB..0%ram]\n",
        Errno::EINVAL,
        "runs past TASK_SIZE",
        "do_vmi_munmap",
    );
    refused(
        &h,
        "p mprotect a[8KiB..0%ram] r\n",
        Errno::ENOMEM,
        "end <= start",
        "do_mprotect_pkey",
    );
    refused(
        &h,
        "p madvise a[8KiB..0%ram] free\n",
        Errno::EINVAL,
        "wraps past 2^64",
        "is_valid_madvise",
    );
    // A length PAGE_ALIGN rounds to 0.
    refused(
        &h,
        &format!("p munmap a[0..{MAX}]\n"),
        Errno::EINVAL,
        "runs past TASK_SIZE",
        "do_vmi_munmap",
    );
    refused(
        &h,
        &format!("p mprotect a[0..{MAX}] r\n"),
        Errno::ENOMEM,
        "end <= start",
        "do_mprotect_pkey",
    );
    refused(
        &h,
        &format!("p madvise a[0..{MAX}] dontneed\n"),
        Errno::EINVAL,
        "rounds it to 0",
        "is_valid_madvise",
    );
}

#[test]
fn ranges_ending_past_the_mapping() {
    let h = format!("{MODE0}{A16}");
    // munmap unmaps whatever lies there (here nothing more); mprotect and madvise meet the hole.
    let r = ok(&h, "p munmap a[8KiB..64MiB]\n");
    assert_eq!(last(&r).committed_as_kb, 8);
    refused(
        &h,
        "p mprotect a[0..64MiB] r\n",
        Errno::ENOMEM,
        "is not mapped",
        "do_mprotect_pkey",
    );
    refused(
        &h,
        "p madvise a[0..64MiB] dontneed\n",
        Errno::ENOMEM,
        "not mapped",
        "madvise_walk_vmas",
    );
    // `a` sits just below mmap_base, 128 MiB under TASK_SIZE: 1 TiB from it leaves user space.
    refused(
        &h,
        "p munmap a[8KiB..1TiB]\n",
        Errno::EINVAL,
        "runs past TASK_SIZE",
        "do_vmi_munmap",
    );
}

// ---- touching unmapped memory is SIGSEGV, traced as SIGSEGV ----------------------------------

fn assert_sigsegv(r: &Run) {
    let s = last(r);
    assert_eq!(
        s.outcome,
        Outcome::Killed {
            signal: Signal::SIGSEGV
        }
    );
    let reasons: Vec<&str> = s.events.iter().map(|e| e.reason()).collect();
    assert!(reasons.contains(&"process.signal"), "{reasons:?}");
    assert!(reasons.contains(&"process.killed"), "{reasons:?}");
    assert!(
        !reasons.contains(&"op.refused"),
        "a signal is not an errno: {reasons:?}"
    );
    let text = sim::trace_text(r);
    assert!(text.contains("killed by SIGSEGV"), "{text}");
    assert!(!text.contains("SIGKILL"), "{text}");
    assert_eq!(s.committed_as_kb, 0, "the dead process's mm is released");
}

#[test]
fn touching_a_hole_left_by_munmap_is_sigsegv() {
    let r = run(&format!(
        "{MODE0}{A16}p munmap a[4KiB..8KiB]\np write a\nexpect p write killed\nexpect p killed\n"
    ));
    assert!(r.all_passed(), "{:?}", r.checks);
    assert_sigsegv(&r);
    let signal = last(&r)
        .events
        .iter()
        .find(|e| e.reason() == "process.signal")
        .unwrap();
    assert!(
        signal.sentence().contains("no VMA maps it"),
        "{}",
        signal.sentence()
    );
    assert!(signal.source().contains("bad_area"));
}

#[test]
fn touching_past_the_mapping_or_past_2_64_is_sigsegv() {
    assert_sigsegv(&run(&format!("{MODE0}{A16}p read a[0..1TiB]\n")));
    assert_sigsegv(&run(&format!("{MODE0}{A16}p write a[8KiB..{MAX}]\n")));
    assert_sigsegv(&run(&format!("{MODE0}{A16}p write a[8KiB..0%ram]\n")));
}

#[test]
fn writing_a_read_only_mapping_is_sigsegv() {
    assert_sigsegv(&run(&format!(
        "{MODE0}p mmap a 16KiB r private anon\np write a\n"
    )));
}

#[test]
fn stack_beyond_rlimit_or_near_2_64_is_sigsegv() {
    for size in ["9MiB", MAX] {
        assert_sigsegv(&run(&format!("{MODE0}p stack {size}\n")));
    }
}

// ---- brk, shmget, tmpfs extremes -------------------------------------------------------------

#[test]
fn brk_extremes() {
    refused(
        MODE1,
        &format!("p brk +{MAX}\n"),
        Errno::ENOMEM,
        "wraps past 2^64",
        "glibc misc/sbrk.c",
    );
    refused(
        MODE1,
        "p brk +140737488355328B\n",
        Errno::ENOMEM,
        "past TASK_SIZE",
        "check_brk_limits",
    );
    refused(
        MODE1,
        &format!("p brk -{MAX}\n"),
        Errno::ENOMEM,
        "larger than the break",
        "glibc misc/sbrk.c",
    );
    // Shrinking below start_brk leaves the break alone.
    let r = ok(MODE1, "p brk +8KiB\np brk -16KiB\n");
    assert_eq!(last(&r).committed_as_kb, 8);
    let r = ok(MODE1, "p brk +1B\n");
    assert_eq!(last(&r).committed_as_kb, 4);
}

#[test]
fn shmget_extremes() {
    refused(
        MODE1,
        &format!("p shmget k {MAX}\n"),
        Errno::EINVAL,
        "SHMMAX",
        "ipc/shm.c: newseg",
    );
    refused(
        MODE1,
        "p shmget k 9223372036854775808B\n",
        Errno::EINVAL,
        "MAX_LFS_FILESIZE",
        "mm/shmem.c: __shmem_file_setup",
    );
    refused(
        MODE1,
        "p shmget k 0B\n",
        Errno::EINVAL,
        "SHMMIN",
        "ipc/shm.c: newseg",
    );
    // The largest segment is charged in full in mode 1 (2^51 pages), and the numbers still add up.
    let r = ok(MODE1, "p shmget k 9223372036854775807B\n");
    assert_eq!(last(&r).committed_as_kb, 1 << 53);
    let r = run(&format!("{MODE0}p shmget k 9223372036854775807B\n"));
    assert_eq!(last(&r).outcome, Outcome::Err(Errno::ENOMEM));
    assert_eq!(last(&r).committed_as_kb, 0);
    // Attaching it cannot fit in user space.
    let r = run(&format!(
        "{MODE1}p shmget k 9223372036854775807B\np mmap s 4KiB rw shared shm k\n"
    ));
    assert_eq!(last(&r).outcome, Outcome::Err(Errno::ENOMEM));
}

#[test]
fn shmget_past_shmmni_is_enospc() {
    let mut text = MODE1.to_string();
    for i in 0..4096 {
        text.push_str(&format!("p shmget k{i} 4KiB\n"));
    }
    let r = refused(
        &text,
        "p shmget last 4KiB\n",
        Errno::ENOSPC,
        "SHMMNI is 4096",
        "ipc/util.c: ipc_addid",
    );
    assert_eq!(last(&r).committed_as_kb, 4096 * 4);
}

#[test]
fn tmpfs_offsets_and_counts_past_2_63_are_einval() {
    for op in [
        "p tmpfs write /dev/shm/f 4KiB offset=9223372036854775808B\n",
        &format!("p tmpfs write /dev/shm/f {MAX}\n"),
        "p tmpfs write /dev/shm/f 8KiB offset=9223372036854771712B\n",
        &format!("p tmpfs truncate /dev/shm/f {MAX}\n"),
    ] {
        refused(MODE0, op, Errno::EINVAL, "negative as loff_t", "fs/");
    }
    // A sparse page far out costs one page.
    let r = ok(
        MODE0,
        "p tmpfs write /dev/shm/f 1B offset=9223372036854771712B\n",
    );
    assert_eq!(last(&r).committed_as_kb, 4);
}

// ---- each kernel log line cites its own source; mremap's EFAULT says what it found -----------

#[test]
fn oom_report_cites_oom_kill_c() {
    let r = run(
        "machine linux ram=64MiB swap=0 overcommit=1 kernel=6.6\nspawn p\np mmap a 128MiB rw private anon\np write a\n",
    );
    let oom: Vec<&Event> = last(&r)
        .events
        .iter()
        .filter(|e| e.reason() == "oom.kill")
        .collect();
    assert_eq!(oom.len(), 1, "{:?}", last(&r).events);
    let lines = oom[0].log_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Out of memory: Killed process 1000 (p)")),
        "{lines:?}"
    );
    assert!(oom[0].source().starts_with("mm/oom_kill.c: out_of_memory"));
    let reaper = last(&r)
        .events
        .iter()
        .find(|e| e.reason() == "kernel.log")
        .expect("the oom_reaper logs");
    assert_eq!(reaper.source(), "mm/oom_kill.c: oom_reap_task_mm");
    assert!(sim::trace_text(&r).contains("killed by SIGKILL"));
}

#[test]
fn vm_enough_memory_log_cites_util_c() {
    let r = run(
        "machine linux ram=24GiB swap=0 overcommit=2 kernel=6.12\nspawn p\np mmap a 64GiB rw private anon\n",
    );
    let e = last(&r)
        .events
        .iter()
        .find(|e| e.reason() == "kernel.log")
        .unwrap();
    assert_eq!(
        e.source(),
        "mm/util.c: __vm_enough_memory (pr_warn_ratelimited)"
    );
}

#[test]
fn mremap_efault_says_what_the_check_found() {
    let h = format!("{MODE0}{A16}");
    refused(
        &h,
        "p munmap a[0..4KiB]\np mremap a 32KiB maymove\n",
        Errno::EFAULT,
        "vma_lookup finds no VMA at the old address",
        "mm/mremap.c: do_mremap (vma_lookup)",
    );
    let r = refused(
        &h,
        "p munmap a[8KiB..12KiB]\np mremap a 32KiB maymove\n",
        Errno::EFAULT,
        "runs past the end of its VMA",
        "mm/mremap.c: remap_is_valid",
    );
    assert!(refusal(last(&r)).0.contains("unmapped space follows it"));
    let r = refused(
        &h,
        "p mprotect a[8KiB..16KiB] r\np mremap a 32KiB maymove\n",
        Errno::EFAULT,
        "runs past the end of its VMA",
        "remap_is_valid",
    );
    assert!(refusal(last(&r)).0.contains("the next VMA"));
    // A shrink unmaps the tail whatever lies there (shrink_vma), so it does not fail.
    let r = ok(&h, "p munmap a[8KiB..12KiB]\np mremap a 4KiB\n");
    assert_eq!(last(&r).committed_as_kb, 4);
}

#[test]
fn committed_as_past_2_64_bytes_still_matches_the_trace() {
    // Two of the largest segments are 2^52 pages, 2^54 kB: more bytes than a u64 holds.
    let r = ok(
        MODE1,
        "p shmget k 9223372036854775807B\np shmget j 9223372036854775807B\n",
    );
    let pages = r.machine.as_linux().unwrap().committed_pages();
    assert_eq!(pages, 1 << 52);
    assert_eq!(last(&r).committed_as_kb, pages * 4);
}

// ---- every operation at every extreme ---------------------------------------------------------

mod grid {
    use vmlab_core::config::{LinuxConfig, MachineConfig, Sysctl};
    use vmlab_core::event::EventKind;
    use vmlab_core::machine::Machine;
    use vmlab_core::op::*;

    const PAGE: u64 = 4096;
    const TASK_SIZE: u64 = 0x7fff_ffff_f000;
    const SIZES: [u64; 14] = [
        0,
        1,
        PAGE - 1,
        PAGE,
        PAGE + 1,
        1 << 20,
        TASK_SIZE,
        TASK_SIZE + PAGE,
        (1 << 63) - PAGE,
        i64::MAX as u64,
        1 << 63,
        u64::MAX - PAGE + 1,
        u64::MAX - PAGE + 2,
        u64::MAX,
    ];

    /// A machine with a process `p` holding a written 64 KiB mapping `a`, a file view `f`, a
    /// tmpfs view `t`, a heap and a stack, in `mode`.
    fn machine(mode: u64) -> Machine {
        let mut cfg = LinuxConfig::new(256 << 20);
        cfg.swap_bytes = 16 << 20;
        let mut m = Machine::boot(&MachineConfig::Linux(cfg));
        let p = || "p".to_string();
        let map = |name: &str, backing: Backing, shared: bool| Op::Mmap {
            proc: p(),
            name: name.into(),
            len: Size::Bytes(64 << 10),
            prot: Prot::RW,
            shared,
            backing,
            noreserve: false,
            populate: true,
            growsdown: false,
            locked: false,
            hugetlb: false,
            placement: Placement::Any,
        };
        for op in [
            Op::Sysctl {
                sysctl: Sysctl::OvercommitMemory,
                value: mode,
            },
            Op::Spawn {
                name: p(),
                cap_sys_admin: false,
                oom_score_adj: 0,
            },
            map("a", Backing::Anon, false),
            map(
                "f",
                Backing::File {
                    path: "/data".into(),
                    offset: 0,
                    readonly_fd: false,
                },
                false,
            ),
            map(
                "t",
                Backing::Tmpfs {
                    path: "/dev/shm/t".into(),
                    offset: 0,
                },
                true,
            ),
            Op::Brk {
                proc: p(),
                change: BrkChange::Grow(Size::Bytes(64 << 10)),
            },
            Op::StackGrow {
                proc: p(),
                new_size: Size::Bytes(256 << 10),
            },
        ] {
            let (o, _) = m.apply(&op).expect("setup");
            assert!(!matches!(o, Outcome::Killed { .. }), "{op:?}");
        }
        m
    }

    fn ops() -> Vec<Op> {
        let p = || "p".to_string();
        let mut v = Vec::new();
        for &x in &SIZES {
            for placement in [
                Placement::Any,
                Placement::At(x),
                Placement::At(TASK_SIZE - PAGE),
                Placement::Below {
                    of: "a".into(),
                    gap: x,
                },
                Placement::Above {
                    of: "a".into(),
                    gap: x,
                },
            ] {
                for (backing, shared, hugetlb) in [
                    (Backing::Anon, false, false),
                    (Backing::Anon, true, false),
                    (Backing::Anon, false, true),
                    (
                        Backing::File {
                            path: "/data".into(),
                            offset: x & !(PAGE - 1),
                            readonly_fd: false,
                        },
                        false,
                        false,
                    ),
                    (
                        Backing::Tmpfs {
                            path: "/dev/shm/t".into(),
                            offset: x & !(PAGE - 1),
                        },
                        true,
                        false,
                    ),
                ] {
                    for len in [x, PAGE] {
                        v.push(Op::Mmap {
                            proc: p(),
                            name: "n".into(),
                            len: Size::Bytes(len),
                            prot: Prot::RW,
                            shared,
                            backing: backing.clone(),
                            noreserve: false,
                            populate: true,
                            growsdown: false,
                            locked: false,
                            hugetlb,
                            placement: placement.clone(),
                        });
                    }
                }
            }
            for &y in &SIZES {
                for mapping in ["a", "t"] {
                    let target = Target {
                        mapping: mapping.into(),
                        range: Some((Size::Bytes(x), Size::Bytes(y))),
                    };
                    v.push(Op::Munmap {
                        proc: p(),
                        target: target.clone(),
                    });
                    v.push(Op::Mprotect {
                        proc: p(),
                        target: target.clone(),
                        prot: Prot::RW,
                    });
                    v.push(Op::Mprotect {
                        proc: p(),
                        target: target.clone(),
                        prot: Prot::R,
                    });
                    for advice in [Advice::DontNeed, Advice::Free, Advice::DontFork] {
                        v.push(Op::Madvise {
                            proc: p(),
                            target: target.clone(),
                            advice,
                        });
                    }
                    for write in [false, true] {
                        v.push(Op::Access {
                            proc: p(),
                            target: target.clone(),
                            write,
                        });
                    }
                }
                v.push(Op::TmpfsWrite {
                    proc: p(),
                    path: "/dev/shm/t".into(),
                    offset: Size::Bytes(x),
                    len: Size::Bytes(y.min(1 << 20)),
                });
                v.push(Op::TmpfsWrite {
                    proc: p(),
                    path: "/dev/shm/u".into(),
                    offset: Size::Bytes(y),
                    len: Size::Bytes(x),
                });
            }
            for mapping in ["a", "f", "t", "heap", "stack"] {
                for may_move in [false, true] {
                    v.push(Op::Mremap {
                        proc: p(),
                        mapping: mapping.into(),
                        new_len: Size::Bytes(x),
                        may_move,
                        range: None,
                        to: Default::default(),
                        dontunmap: false,
                        rename: None,
                    });
                }
            }
            v.push(Op::Brk {
                proc: p(),
                change: BrkChange::Grow(Size::Bytes(x)),
            });
            v.push(Op::Brk {
                proc: p(),
                change: BrkChange::Shrink(Size::Bytes(x)),
            });
            v.push(Op::StackGrow {
                proc: p(),
                new_size: Size::Bytes(x),
            });
            for noreserve in [false, true] {
                v.push(Op::Shmget {
                    proc: p(),
                    key: "k".into(),
                    len: Size::Bytes(x),
                    noreserve,
                });
            }
            v.push(Op::TmpfsTruncate {
                proc: p(),
                path: "/dev/shm/t".into(),
                len: Size::Bytes(x),
            });
            v.push(Op::SetSwap {
                bytes: Size::Bytes(x),
            });
            for sysctl in Sysctl::ALL {
                v.push(Op::Sysctl { sysctl, value: x });
            }
        }
        v
    }

    /// Every operation at every extreme, each on a fresh machine in two overcommit modes, then a
    /// fork and an exit: no panic (tests build with overflow checks), every invariant holds, and
    /// the events account for every page Committed_AS moved by.
    #[test]
    fn every_operation_at_every_extreme_keeps_the_invariants() {
        let ops = ops();
        // Modes 1 and 2: one grants every charge, the other refuses at the limit.
        for mode in 1..=2 {
            let base = machine(mode);
            for op in &ops {
                let mut m = base.clone();
                for step in [
                    op.clone(),
                    Op::Fork {
                        parent: "p".into(),
                        child: "c".into(),
                        kind: ForkKind::Fork,
                    },
                    Op::Exit { proc: "c".into() },
                    Op::Exit { proc: "p".into() },
                ] {
                    let before = m.as_linux().unwrap().committed_pages();
                    let Ok((outcome, events)) = m.apply(&step) else {
                        continue; // the process died in `op`: later steps are scenario errors
                    };
                    if let Err(e) = m.check_invariants() {
                        panic!("mode {mode}: {op:?}, then {step:?} → {outcome:?}: {e}");
                    }
                    let moved: i128 = events
                        .iter()
                        .map(|e| match &e.kind {
                            EventKind::Commit(d) if d.granted => d.pages as i128,
                            EventKind::ForkCharged { total_pages, .. } => *total_pages as i128,
                            EventKind::Uncharge { pages, .. } => -(*pages as i128),
                            EventKind::MmReleased { pages_unaccounted } => {
                                -(*pages_unaccounted as i128)
                            }
                            _ => 0,
                        })
                        .sum();
                    let after = m.as_linux().unwrap().committed_pages();
                    assert_eq!(
                        before as i128 + moved,
                        after as i128,
                        "mode {mode}: {op:?}, then {step:?} → {outcome:?}: events {events:#?}"
                    );
                }
            }
        }
    }
}
