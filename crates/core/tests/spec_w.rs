//! The Windows rules of model-spec Part W, one test per section: each rule's success and each
//! failure with the Win32 error it returns, through the scenario language.

use vmlab_core::op::Outcome;
use vmlab_core::scenario::parse;
use vmlab_core::sim::{self, Run};
use vmlab_core::windows::op::Win32Error;

fn run(text: &str) -> Run {
    let s = parse(text).unwrap_or_else(|d| panic!("parses: {d:?}"));
    let r = sim::run(&s);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(r.all_passed(), "{:#?}", r.checks);
    r.machine.check_invariants().expect("invariants hold");
    r
}

/// The outcome of every step, in order.
fn outcomes(r: &Run) -> Vec<Outcome> {
    r.steps.iter().map(|s| s.outcome).collect()
}

fn err(e: Win32Error) -> Outcome {
    Outcome::Win32(e)
}

const M: &str = "machine windows ram=1GiB pagefile=none\nspawn p\n";

#[test]
fn w1_reservations_are_64_kib_aligned_and_sizes_cover_every_touched_page() {
    let r = run(&format!(
        "{M}p reserve a 4KiB\np reserve b 4KiB\np reserve c 8KiB at=1193046B\n\
         expect p.VirtualQuery.c.BaseAddress = 1179648B\n\
         expect p.VirtualQuery.c.RegionSize = 24KiB\n"
    ));
    let o = outcomes(&r);
    // a at the lowest address; b at the next 64 KiB boundary, not a's next page.
    assert_eq!(o[1], Outcome::Base(0x10000));
    assert_eq!(o[2], Outcome::Base(0x20000));
    // at=0x123456 rounds down to 0x120000; [0x123456, 0x125456) touches pages to 0x126000.
    assert_eq!(o[3], Outcome::Base(0x120000));
}

#[test]
fn w2_virtualalloc_rules_and_their_errors() {
    let r = run(&format!(
        "{M}p reserve a 1MiB\n\
         p reserve b 64KiB at=64KiB\n\
         p commit a[0..64KiB]\np commit a[0..128KiB]\n\
         expect GetPerformanceInfo.CommitTotal = 32\n\
         p alloc big 2GiB\n\
         p reset a[0..64KiB]\n\
         expect GetPerformanceInfo.CommitTotal = 32\n"
    ));
    let o = outcomes(&r);
    assert_eq!(
        o[2],
        err(Win32Error::InvalidAddress),
        "cannot reserve a reserved page"
    );
    assert_eq!(o[3], Outcome::Base(0x10000));
    assert_eq!(
        o[4],
        Outcome::Base(0x10000),
        "committing committed pages is fine"
    );
    assert_eq!(o[5], err(Win32Error::CommitmentLimit), "RAM + no page file");
    // MEM_RESERVE|MEM_COMMIT that fails leaves nothing reserved.
    let m = r.machine.as_windows().expect("windows");
    assert_eq!(m.procs.values().next().expect("p").space.regions.len(), 1);
    assert_eq!(o[6], Outcome::Base(0x10000));
}

#[test]
fn w2_virtualfree_rules_and_their_errors() {
    let r = run(&format!(
        "{M}p alloc a 1MiB\np write a\n\
         p release a[64KiB..128KiB]\n\
         p decommit a[0..64KiB]\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 960KiB\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 960KiB\n\
         p decommit a[0..64KiB]\n\
         p release a\n\
         expect GetPerformanceInfo.CommitTotal = 0\n\
         expect GetPerformanceInfo.PhysicalAvailable = 262144\n"
    ));
    let o = outcomes(&r);
    assert_eq!(
        o[3],
        err(Win32Error::InvalidParameter),
        "MEM_RELEASE needs dwSize 0"
    );
    assert_eq!(o[4], Outcome::Ok);
    assert_eq!(
        o[5],
        Outcome::Ok,
        "decommitting decommitted pages is not an error"
    );
    assert_eq!(
        o[6],
        Outcome::Ok,
        "release with mixed reserved and committed pages"
    );
}

#[test]
fn w2_a_commit_outside_a_reservation_is_an_invalid_address() {
    let r = run(&format!(
        "{M}p reserve a 64KiB\np commit a[0..128KiB]\np release a\n"
    ));
    assert_eq!(outcomes(&r)[2], err(Win32Error::InvalidAddress));
    assert_eq!(outcomes(&r)[3], Outcome::Ok);
}

#[test]
fn w2_touching_a_reserved_page_is_an_access_violation_that_ends_the_process() {
    let r = run(&format!(
        "{M}p reserve a 64KiB\np read a[0..4KiB]\nexpect p read STATUS_ACCESS_VIOLATION\nexpect p killed\n"
    ));
    assert_eq!(outcomes(&r)[2], err(Win32Error::AccessViolation));
}

#[test]
fn w3_the_commit_limit_is_ram_plus_the_page_file_and_the_file_grows_to_its_maximum() {
    let r = run(
        "machine windows ram=1GiB pagefile=256MiB..512MiB\nspawn p\n\
         expect GetPerformanceInfo.CommitLimit = 327680\n\
         p alloc a 1280MiB\n\
         expect GetPerformanceInfo.CommitLimit > 327680\n\
         p alloc b 256MiB\n\
         expect GetPerformanceInfo.CommitLimit = 393216\n\
         p alloc c 4KiB\n",
    );
    let o = outcomes(&r);
    assert_eq!(o[1], Outcome::Base(0x10000));
    assert!(matches!(o[2], Outcome::Base(_)));
    assert_eq!(o[3], err(Win32Error::CommitmentLimit));
}

#[test]
fn w4_private_usage_and_the_working_set() {
    run(&format!(
        "{M}p alloc a 64MiB\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 64MiB\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 0B\n\
         p write a[0..16MiB]\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 16MiB\n\
         expect p.GetProcessMemoryInfo.PageFaultCount = 4096\n\
         p decommit a[0..16MiB]\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 0B\n\
         expect p.GetProcessMemoryInfo.PeakWorkingSetSize = 16MiB\n\
         expect p.GetProcessMemoryInfo.PeakPagefileUsage = 64MiB\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 48MiB\n"
    ));
}

#[test]
fn w5_ulltotalpagefile_is_the_smaller_of_the_system_and_the_process_limit() {
    run(
        "machine windows ram=4GiB pagefile=1GiB..1GiB\nspawn p\nspawn q\n\
         expect p.GlobalMemoryStatusEx.ullTotalPageFile = 5GiB\n\
         job create j\njob j limits process=1GiB\njob j assign p\n\
         expect p.GlobalMemoryStatusEx.ullTotalPageFile = 1GiB\n\
         expect q.GlobalMemoryStatusEx.ullTotalPageFile = 5GiB\n\
         p alloc a 256MiB\n\
         expect p.GlobalMemoryStatusEx.ullAvailPageFile = 768MiB\n\
         expect q.GlobalMemoryStatusEx.ullAvailPageFile = 4864MiB\n\
         expect GlobalMemoryStatusEx.ullTotalVirtual = 140737488224256B\n",
    );
}

#[test]
fn w6_process_and_job_limits_are_independent_and_the_most_restrictive_wins() {
    let r = run("machine windows ram=4GiB pagefile=none\nspawn p\nspawn q\n\
         job create j\njob j limits process=10MiB job=16MiB\njob j assign p\njob j assign q\n\
         p alloc a 10MiB\np alloc b 4KiB\nq alloc a 8MiB\n\
         expect job.j.PeakJobMemoryUsed = 10MiB\n\
         expect job.j.PeakProcessMemoryUsed = 10MiB\n\
         expect job.j.LimitFlags = 768\n");
    let o = outcomes(&r);
    assert!(matches!(o[6], Outcome::Base(_)));
    assert_eq!(
        o[7],
        err(Win32Error::CommitmentLimit),
        "the per-process limit"
    );
    assert_eq!(
        o[8],
        err(Win32Error::CommitmentLimit),
        "the job limit: 10 + 8 > 16 MiB"
    );
    let ev = &r.steps[8].events;
    assert!(
        ev.iter().any(|e| e.reason() == "win.commit.job_limit"),
        "{ev:?}"
    );
    let r = run("machine windows ram=4GiB pagefile=none\nspawn p\n\
         job create outer\njob outer limits job=64MiB\njob outer assign p\n\
         job create inner\njob inner limits job=1GiB\njob inner assign p\n\
         p alloc a 65MiB\n");
    // Nested: the outer job's 64 MiB binds although the inner job allows 1 GiB.
    assert_eq!(outcomes(&r)[7], err(Win32Error::CommitmentLimit));
    assert!(r.steps[7]
        .events
        .iter()
        .any(|e| e.sentence().contains("job `outer`")));
}

#[test]
fn w6_the_working_set_limit_trims_the_process_not_its_commit() {
    run("machine windows ram=4GiB pagefile=1GiB..1GiB\nspawn p\n\
         job create j\njob j limits workingset=1MiB..8MiB\njob j assign p\n\
         p alloc a 32MiB\np write a\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 8MiB\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 32MiB\n\
         expect GetPerformanceInfo.PhysicalAvailable = 1046528\n");
}

#[test]
fn w7_sec_commit_is_charged_at_creation_and_copy_views_when_mapped() {
    run("machine windows ram=4GiB pagefile=none\nspawn p\n\
         p section create s 64MiB commit\n\
         expect GetPerformanceInfo.CommitTotal = 16384\n\
         p map v s\np map w s copy\n\
         expect GetPerformanceInfo.CommitTotal = 32768\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 64MiB\n\
         p section create r 64MiB reserve\n\
         expect GetPerformanceInfo.CommitTotal = 32768\n");
}

#[test]
fn w8_the_address_space_of_a_32_bit_process() {
    for (va, total) in [("2GiB", 2097024u64), ("3GiB", 3145600), ("4GiB", 4194176)] {
        run(&format!(
            "machine windows ram=1GiB bits=32 va={va}\nspawn p\n\
             expect p.GlobalMemoryStatusEx.ullTotalVirtual = {total}KiB\n"
        ));
    }
    let e = parse("machine windows ram=1GiB bits=32 va=5GiB\n").expect_err("W8");
    assert_eq!((e[0].pos.line, e[0].pos.col), (1, 37));
}

#[test]
fn bad_windows_input_is_an_error_at_its_line_and_column() {
    for (text, at, msg) in [
        ("machine windows\n", (1, 1), "needs `ram=SIZE`"),
        (
            "machine windows ram=1GiB pagefile=2GiB..1GiB\n",
            (1, 35),
            "larger",
        ),
        (
            "machine windows ram=1GiB\nspawn p\np reserve a 1MiB\np commit b\n",
            (4, 10),
            "no mapping named `b`",
        ),
        (
            "machine windows ram=1GiB\nspawn p\np frobnicate\n",
            (3, 3),
            "unknown Windows verb",
        ),
        (
            "machine windows ram=1GiB\nspawn p\nexpect fails ERROR_NOPE\n",
            (3, 14),
            "expected ok or an error",
        ),
        (
            "machine windows ram=1GiB\nspawn p\nexpect p.GetProcessMemoryInfo.Nope = 1\n",
            (3, 8),
            "no field",
        ),
        (
            "machine windows ram=1GiB\ncontainer c isolation=hyperv memory=1GiB\n",
            (2, 1),
            "base=",
        ),
    ] {
        let d = parse(text).expect_err(text);
        assert_eq!(
            (d[0].pos.line, d[0].pos.col),
            at,
            "{text}: {}",
            d[0].message
        );
        assert!(d[0].message.contains(msg), "{text}: {}", d[0].message);
    }
}

#[test]
fn w7_a_copy_view_write_to_an_uncommitted_sec_reserve_page_is_an_access_violation() {
    // Writing a page the section has not committed is an access violation, not a private copy.
    let r = run("machine windows ram=4GiB pagefile=none\nspawn p\n\
         p section create r 64MiB reserve\np map c r copy\np write c[0..4KiB]\nexpect p killed\n");
    assert_eq!(outcomes(&r)[3], err(Win32Error::AccessViolation));
    let r = run("machine windows ram=4GiB pagefile=none\nspawn p\n\
         p section create r 64MiB reserve\np map c r copy\np map v r\np commit v[0..4KiB]\n\
         p write c[0..8KiB]\nexpect p killed\n");
    // The first page is committed (copied), the second is not.
    assert_eq!(outcomes(&r)[5], err(Win32Error::AccessViolation));
    assert!(r.steps[5]
        .events
        .iter()
        .any(|e| e.reason() == "win.fault.copy_on_write"));
}

#[test]
fn extreme_windows_input_is_an_error_or_a_run_never_a_panic() {
    let bodies = [
        "p reserve a 18446744073709551615B\n",
        "p reserve a 127TiB\np reserve b 1TiB\np reserve c 1TiB\n",
        "p alloc a 1GiB at=140737488289792B\n",
        "p reserve a 64KiB\np commit a[0..18446744073709551615B]\n",
        "p reserve a 64KiB\np write a[0..18446744073709551615B]\n",
        "p section create s 18446744073709551615B commit\n",
        "p section create s 1GiB reserve\np map v s offset=18446744073709486080B\n",
        "p section create s 1GiB reserve\np map v s size=18446744073709551615B\n",
        "job create j\njob j limits workingset=0B..0B\n",
        "job create j\njob j limits process=0B job=0B\njob j assign p\np alloc a 4KiB\n",
        "container c isolation=hyperv memory=16MiB base=16380KiB\nspawn q in c\nq alloc a 4KiB\nq write a\n",
        "container c isolation=process memory=0B\nspawn q in c\nq alloc a 4KiB\n",
    ];
    let mut ran = 0;
    for b in bodies {
        for m in [
            "machine windows ram=16MiB pagefile=0B..18446744073709551615B disk=18446744073709551615B\nspawn p\n",
            "machine windows ram=4PiB pagefile=system\nspawn p\n",
            "machine windows ram=16MiB bits=32 va=4GiB\nspawn p\n",
        ] {
            let text = format!("{m}{b}");
            let Ok(s) = parse(&text) else { continue };
            let r = sim::run(&s);
            r.machine
                .check_invariants()
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            ran += 1;
        }
    }
    // Most of them parse: the model, not the parser, meets the extremes.
    assert!(ran >= 24, "only {ran} of 36 ran");
}

#[test]
fn an_expected_failure_frees_the_region_name_it_would_have_introduced() {
    // Testlimit's loop: the failed allocation's name can be used again, as after a failed mmap.
    let r = run("machine windows ram=1GiB pagefile=none\nspawn p\n\
         p alloc a 2GiB\nexpect p alloc fails ERROR_COMMITMENT_LIMIT\n\
         p alloc a 512MiB\nexpect ok\np write a\n");
    assert!(matches!(outcomes(&r)[2], Outcome::Base(_)));
    let e = parse("machine windows ram=1GiB\nspawn p\np alloc a 2GiB\np alloc a 1MiB\n")
        .expect_err("the name is still taken without the expect");
    assert_eq!((e[0].pos.line, e[0].pos.col), (4, 9));
    let e = parse("machine windows ram=1GiB\nspawn p\nexpect p alloc ok\n")
        .expect_err("nothing to check");
    assert_eq!(e[0].pos.line, 3);
}

#[test]
fn w4_trimming_takes_the_oldest_faults_first_and_a_refault_is_young_again() {
    // a's pages were faulted first, decommitted, committed and faulted again after b's: when
    // RAM runs short, b's older pages go to the page file, not a's.
    run(
        "machine windows ram=16MiB pagefile=64MiB..64MiB\nspawn a\nspawn b\nspawn c\n\
         a alloc x 6MiB\na write x\nb alloc x 6MiB\nb write x\n\
         a decommit x\na commit x\na write x\n\
         c alloc x 6MiB\nc write x\n\
         expect b.GetProcessMemoryInfo.WorkingSetSize = 4MiB\n\
         expect a.GetProcessMemoryInfo.WorkingSetSize = 6MiB\n\
         expect c.GetProcessMemoryInfo.WorkingSetSize = 6MiB\n\
         b read x\n\
         expect b.GetProcessMemoryInfo.WorkingSetSize = 6MiB\n\
         expect a.GetProcessMemoryInfo.WorkingSetSize = 4MiB\n",
    );
}

/// A touch larger than the RAM left (here 96 MiB on a 64 MiB machine with 4 MiB already in a
/// working set) runs: the oldest pages, then the touch's own first pages, go to the page file
/// as the rest come in, and the working set ends at what RAM holds. (Faulting the whole touch
/// at once found nothing to trim and panicked.)
#[test]
fn w4_a_touch_larger_than_ram_trims_its_own_first_pages() {
    let r = run("machine windows ram=64MiB pagefile=128MiB..128MiB
spawn a
a reserve r 16MiB
a commit r[0..8MiB]
a write r[0..4MiB]
a alloc x 96MiB
a write x
expect a running
expect a.GetProcessMemoryInfo.WorkingSetSize = 64MiB
");
    let trimmed: u64 = r.steps[5]
        .events
        .iter()
        .filter(|e| e.reason() == "win.ws.trimmed")
        .count() as u64;
    assert!(trimmed >= 2, "the old pages, then the touch's own");
}

/// JOB_OBJECT_LIMIT_WORKINGSET with no page file: a private page trimmed from a working set has
/// nowhere to be written, so it stays resident (model decision, docs/windows.md "The
/// working-set limit without page-file room"); the charge is what limits the process.
#[test]
fn w6_the_working_set_limit_cannot_trim_past_the_page_file() {
    let r = run("machine windows ram=4GiB pagefile=none\nspawn p\n\
         job create j\njob j limits workingset=1MiB..8MiB\njob j assign p\n\
         p alloc a 32MiB\np write a\n\
         expect p running\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 32MiB\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 32MiB\n");
    assert!(
        !r.steps[5]
            .events
            .iter()
            .any(|e| e.reason() == "win.ws.trimmed"),
        "nothing can be trimmed to a page file of 0 bytes"
    );
    assert!(r.steps[5]
        .events
        .iter()
        .any(|e| e.reason() == "win.ws.max_not_enforced"));
    // A 16 MiB page file takes 16 MiB of the 24 over the maximum; the rest stays.
    let r = run("machine windows ram=4GiB pagefile=16MiB..16MiB\nspawn p\n\
         job create j\njob j limits workingset=1MiB..8MiB\njob j assign p\n\
         p alloc a 32MiB\np write a\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 16MiB\n\
         expect GetPerformanceInfo.PhysicalAvailable = 1044480\n");
    let said: Vec<String> = r.steps[5]
        .events
        .iter()
        .filter(|e| e.reason().starts_with("win.ws."))
        .map(|e| e.sentence())
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].starts_with("16 MiB trimmed"), "{said:?}");
    assert!(
        said[1].starts_with("8 MiB stay in the working set"),
        "{said:?}"
    );
}

/// Two processes in one job: ullAvailPageFile weighs the job's limit against the asking
/// process's own PrivateUsage (60 MiB left), but the job has only 20 MiB left. The model's
/// commit room says 20 MiB, and a commit of 24 MiB fails where 20 MiB succeeds.
#[test]
fn w6_the_commit_room_is_what_the_job_really_has_left_not_ullavailpagefile() {
    use vmlab_core::windows::query::CommitBound;
    let base = "machine windows ram=4GiB pagefile=none\n\
         job create j\njob j limits job=100MiB\nspawn p\nspawn q\n\
         job j assign p\njob j assign q\n\
         p alloc a 40MiB\nq alloc a 40MiB\n\
         expect p.GlobalMemoryStatusEx.ullAvailPageFile = 60MiB\n";
    let r = run(base);
    let w = r.machine.as_windows().expect("windows");
    let pid = r.machine.pid_of("p").expect("p");
    assert_eq!(
        w.commit_room(pid),
        (20 << 20 >> 12, CommitBound::JobLimit("j".into()))
    );
    let text = w
        .view_text("GlobalMemoryStatusEx", Some(pid))
        .expect("a view");
    assert!(
        text.contains("really still commit 20971520 bytes")
            && text.contains("ullAvailPageFile overstates it"),
        "{text}"
    );
    let r = run(&format!(
        "{base}p alloc b 24MiB\nexpect fails ERROR_COMMITMENT_LIMIT\np alloc c 20MiB\nexpect ok\n"
    ));
    let w = r.machine.as_windows().expect("windows");
    assert_eq!(w.commit_room(pid).0, 0);
    // Outside any job the room is the system's, page-file growth included: more than
    // ullAvailPageFile, which counts the page file at its current size.
    let r = run(
        "machine windows ram=1GiB pagefile=256MiB..1GiB\nspawn p\np alloc a 512MiB\n\
         expect p.GlobalMemoryStatusEx.ullAvailPageFile = 768MiB\n",
    );
    let w = r.machine.as_windows().expect("windows");
    let pid = r.machine.pid_of("p").expect("p");
    assert_eq!(w.commit_room(pid), (1536 << 20 >> 12, CommitBound::System));
}

/// MEM_RESET discards the contents (W2: "keeps commit but discards contents"): the model frees
/// the frames and the page-file slots at once, so the working set is empty, the charge and
/// PrivateUsage stay, the pages stay MEM_COMMIT, and the next touch is a demand-zero fault,
/// not a read from the page file.
#[test]
fn w2_mem_reset_discards_the_pages_and_keeps_the_commit() {
    let r = run("machine windows ram=16MiB pagefile=64MiB..64MiB\nspawn p\n\
         p alloc a 24MiB\np write a\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 16MiB\n\
         expect GetPerformanceInfo.CommitTotal = 6144\n\
         p reset a\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 0B\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 24MiB\n\
         expect GetPerformanceInfo.CommitTotal = 6144\n\
         expect GetPerformanceInfo.PhysicalAvailable = 4096\n\
         expect p.VirtualQuery.a.State = MEM_COMMIT\n\
         p read a[0..4MiB]\n\
         expect p.GetProcessMemoryInfo.WorkingSetSize = 4MiB\n");
    let ev = &r.steps[3].events;
    assert!(ev.iter().any(|e| e.reason() == "win.reset"), "{ev:?}");
    let w = r.machine.as_windows().expect("windows");
    assert_eq!(w.systems[0].paged, 0, "the page-file slots are freed too");
    let faults: Vec<&str> = r.steps[4].events.iter().map(|e| e.reason()).collect();
    assert!(faults.contains(&"win.fault.demand_zero"), "{faults:?}");
    assert!(!faults.contains(&"win.fault.pagefile"), "{faults:?}");
}

/// AssignProcessToJobObject with nested jobs (W6; Learn: AssignProcessToJobObject, "the job …
/// must be empty or it must be in the hierarchy of nested jobs to which the process already
/// belongs"): an empty job nests under the process's job; a process moves down into a job
/// already under its own and keeps its charge in every job above; a job outside its
/// hierarchy that is not empty refuses it with ERROR_ACCESS_DENIED; and ullTotalPageFile is
/// then the smaller of the nested limits.
#[test]
fn w6_nested_job_assignment_rules() {
    let r = run(
        "machine windows ram=4GiB pagefile=none\nspawn p\nspawn q\nspawn r\n\
         job create outer\njob outer limits job=256MiB\njob outer assign p\njob outer assign q\n\
         p alloc a 64MiB\nq alloc a 32MiB\n\
         job create inner\njob inner limits process=128MiB\njob inner assign q\n\
         expect q.GlobalMemoryStatusEx.ullTotalPageFile = 128MiB\n\
         expect p.GlobalMemoryStatusEx.ullTotalPageFile = 256MiB\n\
         job inner assign p\n\
         expect p.GlobalMemoryStatusEx.ullTotalPageFile = 128MiB\n\
         expect p.GetProcessMemoryInfo.PrivateUsage = 64MiB\n\
         expect job.inner.PeakJobMemoryUsed = 96MiB\n\
         expect job.outer.PeakJobMemoryUsed = 96MiB\n\
         expect GetPerformanceInfo.CommitTotal = 24576\n\
         job create other\njob other assign r\n\
         job other assign p\n\
         expect p.GlobalMemoryStatusEx.ullTotalPageFile = 128MiB\n",
    );
    let o = outcomes(&r);
    assert_eq!(o[11], Outcome::Ok, "an empty job nests under q's");
    assert_eq!(o[12], Outcome::Ok, "p moves down into inner");
    assert_eq!(
        o[15],
        err(Win32Error::AccessDenied),
        "other is outside p's hierarchy and not empty"
    );
    let w = r.machine.as_windows().expect("windows");
    assert_eq!(w.jobs["inner"].parent.as_deref(), Some("outer"));
    // The move kept the charge: outer still counts p's 64 MiB and q's 32, now through inner.
    assert_eq!(w.jobs["outer"].usage_pages, 96 << 20 >> 12);
    assert_eq!(w.jobs["inner"].usage_pages, 96 << 20 >> 12);
    assert_eq!(w.jobs["other"].usage_pages, 0);
    let pid = r.machine.pid_of("p").expect("p");
    assert_eq!(w.procs[&pid].job.as_deref(), Some("inner"));
    assert!(w.jobs["outer"].procs.is_empty());
    // The smaller limit binds: inner's 128 MiB per process before outer's 256 for the job.
    let r = run("machine windows ram=4GiB pagefile=none\nspawn p\n\
         job create outer\njob outer limits job=256MiB\njob outer assign p\n\
         job create inner\njob inner limits job=1GiB\njob inner assign p\n\
         expect p.GlobalMemoryStatusEx.ullTotalPageFile = 256MiB\n");
    assert_eq!(outcomes(&r)[6], Outcome::Ok);
}

/// W3: the disk caps the page file. `pagefile=INIT..MAX` with MAX above `disk=`: the maximum is
/// the disk, and an initial size above that starts at it; a system-managed file's maximum
/// max(3 × RAM, 4 GB) is capped at volume size ÷ 8.
#[test]
fn w3_the_disk_caps_the_page_file() {
    // 4 GiB asked, 1 GiB of disk: the limit can reach RAM + 1 GiB = 2 GiB (524288 pages), not 5.
    let r = run(
        "machine windows ram=1GiB pagefile=256MiB..4GiB disk=1GiB\nspawn p\n\
         expect GetPerformanceInfo.CommitLimit = 327680\n\
         p alloc a 2GiB\n\
         expect GetPerformanceInfo.CommitLimit = 524288\n\
         p alloc b 4KiB\n",
    );
    let o = outcomes(&r);
    assert!(matches!(o[1], Outcome::Base(_)), "up to RAM + the disk");
    assert_eq!(o[2], err(Win32Error::CommitmentLimit), "past the disk");
    let w = r.machine.as_windows().expect("windows");
    assert_eq!(w.systems[0].pagefile_pages, (1 << 30) >> 12);
    // The initial size is capped too.
    run("machine windows ram=1GiB pagefile=2GiB..4GiB disk=1GiB\n\
         expect GetPerformanceInfo.CommitLimit = 524288\n");
    // System-managed on 4 GiB of RAM: max(12 GiB, 4 GB), but a 64 GiB volume allows 8 GiB.
    let r = run(
        "machine windows ram=4GiB pagefile=system disk=64GiB\nspawn p\n\
         p alloc a 12GiB\n\
         expect GetPerformanceInfo.CommitLimit = 3145728\n\
         p alloc b 4KiB\n",
    );
    let o = outcomes(&r);
    assert!(matches!(o[1], Outcome::Base(_)));
    assert_eq!(o[2], err(Win32Error::CommitmentLimit));
}

/// W3, system-managed: the file starts at RAM ÷ 8; a charge above 90 % of the limit grows it
/// until the charge is at 90 % again (threshold growth); a commit past the limit grows it to
/// cover the commit (demand growth), never past max(3 × RAM, 4 GB); at the maximum a commit
/// fails with ERROR_COMMITMENT_LIMIT.
#[test]
fn w3_a_system_managed_page_file_grows_at_90_percent_and_on_demand_to_its_maximum() {
    let r = run(
        "machine windows ram=4GiB pagefile=system disk=256GiB\nspawn p\n\
         expect GetPerformanceInfo.CommitLimit = 1179648\n\
         p alloc a 4GiB\n\
         expect GetPerformanceInfo.CommitLimit = 1179648\n\
         p alloc b 256MiB\n\
         expect GetPerformanceInfo.CommitLimit = 1237903\n\
         p alloc c 11GiB\n\
         expect GetPerformanceInfo.CommitLimit = 4194304\n\
         expect GetPerformanceInfo.CommitTotal = 3997696\n\
         p alloc d 1GiB\n\
         expect GetPerformanceInfo.CommitTotal = 3997696\n",
    );
    let grown = |step: usize| -> Vec<String> {
        r.steps[step]
            .events
            .iter()
            .filter(|e| e.reason() == "win.pagefile.grown")
            .map(|e| e.sentence())
            .collect()
    };
    // 4 GiB of 4.5: 88.9 %, no growth; 4.25 GiB: 94 %, the file grows to put it at 90 %.
    assert!(grown(1).is_empty(), "{:?}", grown(1));
    assert_eq!(grown(2).len(), 1, "{:?}", grown(2));
    // 15.25 GiB: past the limit, so on demand, and past 90 % of it, capped at 12 GiB.
    assert_eq!(grown(3).len(), 2, "{:?}", grown(3));
    let o = outcomes(&r);
    assert_eq!(o[4], err(Win32Error::CommitmentLimit), "at the maximum");
    let w = r.machine.as_windows().expect("windows");
    assert_eq!(w.systems[0].pagefile_pages, (12u64 << 30) >> 12);
}
