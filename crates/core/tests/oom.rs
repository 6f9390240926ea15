//! The allocation pipeline and the global OOM killer (model-spec L8; mm/oom_kill.c,
//! mm/page_alloc.c): partial grants, the victim choice, ties, sharers, panics and the sysctls.

use vmlab_core::event::{Event, EventKind, OomChoice, OomReport};
use vmlab_core::op::Outcome;
use vmlab_core::scenario::parse;
use vmlab_core::sim::{self, Run};

fn run(src: &str) -> Run {
    let s = parse(src).unwrap_or_else(|d| panic!("{d:?}"));
    let r = sim::run(&s);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(r.all_passed(), "{:#?}", r.checks);
    r.machine.check_invariants().expect("invariants hold");
    r
}

fn ooms(r: &Run) -> Vec<OomReport> {
    r.steps
        .iter()
        .flat_map(|s| s.events.iter())
        .filter_map(|e: &Event| match &e.kind {
            EventKind::Oom(o) => Some((**o).clone()),
            _ => None,
        })
        .collect()
}

const MIB: u64 = 256; // pages

#[test]
fn the_faulting_process_keeps_what_it_faulted_and_dies_as_the_largest() {
    let r = run("machine linux ram=1GiB swap=0 overcommit=1\n\
         spawn small\nsmall mmap buf 200MiB rw private anon\nsmall write buf\n\
         spawn big\nbig mmap buf 900MiB rw private anon\nbig write buf\n\
         expect big killed\nexpect small running\n");
    let o = ooms(&r);
    assert_eq!(o.len(), 1);
    let o = &o[0];
    assert_eq!(o.totalpages, 262_144);
    assert_eq!(o.choice, OomChoice::Badness);
    assert_eq!(o.victim, Some(1001));
    // big held every page small did not when it ran short: granted in part, not all or nothing.
    // Page tables take RAM too: small's 200 MiB (2 MiB-aligned, in one 1 GiB region) need 100
    // PTE pages, a PMD and a PUD (its VmPTE, 102 pages), and each mm has its PGD from spawn
    // (in PageTables, not in VmPTE or the badness). That leaves 262144 − 51200 − 102 − 1 − 1
    // = 210840 pages, and big's grant left room for its own tables: 210426 pages in 411 PTE
    // pages (⌈210426/512⌉), 2 PMD pages (its range crosses a 1 GiB boundary) and a PUD:
    // 210426 + 414 = 210840, every page of RAM.
    let big = o.table.iter().find(|c| c.pid == 1001).unwrap();
    assert_eq!(big.rss, [210_426, 0, 0]);
    assert_eq!(big.pgtables_bytes, 414 * 4096);
    let small = o.table.iter().find(|c| c.pid == 1000).unwrap();
    assert_eq!(small.rss[0], 200 * MIB);
    assert_eq!(small.pgtables_bytes, 102 * 4096);
    assert_eq!(
        small.rss[0] + small.pgtables_bytes / 4096 + big.rss[0] + big.pgtables_bytes / 4096 + 2,
        262_144
    );
    // After the kill MemFree is RAM less small's pages, its page tables and its PGD.
    let free = format!(
        "MemFree:        {:>8} kB\n",
        (262_144 - 51_200 - 102 - 1) * 4
    );
    assert!(
        r.machine.meminfo_text().contains(&free),
        "{}",
        r.machine.meminfo_text()
    );
    // points = rss + swap + page-table pages (adj 0).
    assert_eq!(
        big.points,
        Some((big.rss[0] + big.pgtables_bytes / 4096) as i64)
    );
    // The step costs runs, not pages: one fault event for the 824 MiB.
    let faults = r.steps[5]
        .events
        .iter()
        .filter(|e| e.reason() == "page.fault")
        .count();
    assert_eq!(faults, 1);
}

#[test]
fn a_tie_goes_to_the_task_scanned_later_and_the_next_shortage_takes_the_next() {
    // a and b hold the same; c (adj −1000) allocates: b (scanned later) dies first, then a.
    let r = run("machine linux ram=256MiB swap=0 overcommit=1\n\
         spawn a\na mmap buf 64MiB rw private anon\na write buf\n\
         spawn b\nb mmap buf 64MiB rw private anon\nb write buf\n\
         spawn c admin adj=-1000\nc mmap buf 200MiB rw private anon\nc write buf\n\
         expect a killed\nexpect b killed\nexpect c running\nexpect c.VmRSS = 200MiB\n");
    let o = ooms(&r);
    assert_eq!(o.len(), 2);
    let pa = o[0].table.iter().find(|x| x.pid == 1000).unwrap().points;
    let pb = o[0].table.iter().find(|x| x.pid == 1001).unwrap().points;
    assert_eq!(pa, pb, "the two are tied");
    assert_eq!(o[0].victim, Some(1001));
    assert_eq!(o[1].victim, Some(1000));
    // The −1000 task is listed (dump_tasks) but not a candidate.
    assert_eq!(
        o[0].table.iter().find(|x| x.pid == 1002).unwrap().points,
        None
    );
}

#[test]
fn every_process_sharing_the_victims_mm_dies_with_it() {
    let r = run("machine linux ram=256MiB swap=0 overcommit=1\n\
         spawn a\na mmap buf 150MiB rw private anon\na write buf\na clone t\n\
         spawn b\nb mmap buf 200MiB rw private anon\nb write buf\n\
         expect a killed\nexpect t killed\nexpect b running\n");
    let o = ooms(&r);
    assert_eq!(o.len(), 1);
    // a and its CLONE_VM child t score the same mm: t, scanned later, is chosen, and a dies too.
    assert_eq!(o[0].victim, Some(1001));
    let log = r.machine.dmesg();
    assert!(
        log.contains("Out of memory: Killed process 1001 (t)"),
        "{log}"
    );
}

#[test]
fn panic_on_oom_1_and_2_panic_a_global_oom_before_choosing() {
    for (v, word) in [(1, "system-wide"), (2, "compulsory")] {
        let r = run(&format!(
            "machine linux ram=64MiB swap=0 overcommit=1\nsysctl vm.panic_on_oom={v}\n\
             spawn a\na mmap buf 100MiB rw private anon\na write buf\nexpect a write panic\n\
             expect kernel.log has Kernel panic - not syncing: Out of memory: {word} panic_on_oom is enabled\n\
             a exit\nexpect a running\n"
        ));
        let o = ooms(&r);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].choice, OomChoice::PanicOnOom(v));
        assert_eq!(o[0].victim, None);
        assert!(r.machine.panicked());
        // The `a exit` after the panic did not run.
        assert_eq!(r.steps.len(), 4);
        assert_eq!(r.steps[3].outcome, Outcome::Panic);
    }
}

#[test]
fn oom_kill_allocating_task_kills_the_allocator_not_the_largest() {
    let r = run("machine linux ram=256MiB swap=0 overcommit=1\n\
         sysctl vm.oom_kill_allocating_task=1\n\
         spawn big\nbig mmap buf 200MiB rw private anon\nbig write buf\n\
         spawn small\nsmall mmap buf 100MiB rw private anon\nsmall write buf\n\
         expect small killed\nexpect big running\n\
         expect kernel.log has Out of memory (oom_kill_allocating_task): Killed process 1001 (small)\n");
    assert_eq!(ooms(&r)[0].choice, OomChoice::AllocatingTask);
    // An allocator at −1000 is not taken: the scan picks the largest instead.
    let r = run("machine linux ram=256MiB swap=0 overcommit=1\n\
         sysctl vm.oom_kill_allocating_task=1\n\
         spawn big\nbig mmap buf 200MiB rw private anon\nbig write buf\n\
         spawn small admin adj=-1000\nsmall mmap buf 100MiB rw private anon\nsmall write buf\n\
         expect big killed\nexpect small running\n");
    assert_eq!(ooms(&r)[0].choice, OomChoice::Badness);
}

#[test]
fn the_dmesg_report_prints_the_task_table_then_the_kill() {
    let r = run("machine linux ram=1GiB swap=0 overcommit=1\n\
         spawn small\nsmall mmap buf 200MiB rw private anon\nsmall write buf\n\
         spawn big\nbig mmap buf 900MiB rw private anon\nbig write buf\n");
    let log = r.machine.dmesg();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines[0],
        "big invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0"
    );
    assert_eq!(lines[1], "Tasks state (memory values in pages):");
    assert_eq!(lines[2], "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name");
    assert_eq!(lines[3], "[   1000]     0  1000    51200    51200    51200        0         0   417792        0             0 small");
    assert!(lines[5].starts_with("oom-kill:constraint=CONSTRAINT_NONE,"));
    assert!(lines[6].starts_with("Out of memory: Killed process 1001 (big) total-vm:921600kB, anon-rss:841704kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1656kB oom_score_adj:0"));
    assert_eq!(
        lines[7],
        "oom_reaper: reaped process 1001 (big), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"
    );
}

#[test]
fn swap_entries_count_in_the_badness_and_come_back_as_major_faults() {
    let r = run("machine linux ram=1GiB swap=512MiB overcommit=1\n\
         spawn app\napp mmap heap 800MiB rw private anon\napp write heap\n\
         spawn job\njob mmap buf 600MiB rw private anon\njob write buf\n\
         expect app.VmSwap = 387848kB\nexpect app.smaps.heap.Swap = 387848kB\n\
         app read heap[0..100MiB]\n\
         spawn late\nlate mmap buf 300MiB rw private anon\nlate write buf\n\
         expect app killed\nexpect meminfo.SwapFree = 512MiB\n");
    let majors: u64 = r.steps[6]
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Fault {
                pages,
                kind: vmlab_core::event::FaultKind::SwapIn,
                ..
            } => Some(*pages),
            _ => None,
        })
        .sum();
    assert_eq!(majors, 100 * MIB, "the 100 MiB read back are major faults");
    let o = ooms(&r);
    assert_eq!(o.len(), 1);
    let app = o[0].table.iter().find(|c| c.pid == 1000).unwrap();
    assert_eq!(app.rss[0] + app.swapents, 800 * MIB);
    assert!(app.swapents > 0);
    assert_eq!(
        app.points,
        Some((app.rss[0] + app.swapents + app.pgtables_bytes / 4096) as i64)
    );
    assert_eq!(o[0].totalpages, (1024 + 512) * MIB, "RAM + swap");
}

#[test]
fn madvise_free_marks_pages_a_fork_shares_and_cleans_only_the_callers_pte() {
    // mm/madvise.c: madvise_free_pte_range checks exclusivity only for a dirty or swap-cache
    // folio; a faulted anonymous folio is not PG_dirty. Real-kernel sweep seeds 203 and 270.
    let r = run("machine linux ram=1GiB swap=0 overcommit=1\n\
         spawn app\napp mmap m 1MiB rw private anon populate\napp fork child\n\
         app madvise m free\n\
         expect app.smaps.m.LazyFree = 1MiB\nexpect app.smaps.m.Shared_Clean = 1MiB\n\
         expect app.smaps.m.Shared_Dirty = 0\n\
         expect child.smaps.m.LazyFree = 0\nexpect child.smaps.m.Shared_Dirty = 1MiB\n\
         child write m[0..4KiB]\n\
         expect app.smaps.m.Private_Clean = 4KiB\nexpect app.smaps.m.LazyFree = 1MiB\n\
         app write m[0..4KiB]\n\
         expect app.smaps.m.LazyFree = 1020KiB\nexpect app.smaps.m.Private_Dirty = 4KiB\n");
    let _ = r;
    // Under pressure the pages only the caller maps, clean, are dropped; the shared ones stay.
    let r = run("machine linux ram=4MiB swap=0 overcommit=1\n\
         spawn app\napp mmap m 2MiB rw private anon populate\napp fork child\n\
         child write m[0..1MiB]\napp madvise m free\n\
         spawn big\nbig mmap b 1600KiB rw private anon\nbig write b\n\
         expect app running\nexpect child running\nexpect big running\n");
    let lazy: u64 = r
        .steps
        .iter()
        .flat_map(|s| s.events.iter())
        .filter_map(|e| match &e.kind {
            EventKind::Reclaimed { pages, .. } if e.reason() == "reclaim.lazyfree" => Some(*pages),
            _ => None,
        })
        .sum();
    assert!(lazy > 0 && lazy <= 256, "{lazy} lazy-free pages reclaimed");
    assert!(ooms(&r).is_empty());
    let app = r.machine.as_linux().unwrap().by_name["app"];
    let l = r.machine.as_linux().unwrap();
    let mm = &l.mms[&l.procs[&app].mm.unwrap()];
    assert_eq!(mm.rss[0], 512 - lazy, "only app's exclusive pages went");
}

#[test]
fn bad_oom_and_file_lines_are_errors_at_their_column() {
    let e = parse("machine linux ram=1GiB\nsysctl vm.panic_on_oom=3\n").unwrap_err();
    assert_eq!(e[0].pos.line, 2, "{e:?}");
    assert!(e[0].message.contains("0, 1 or 2"), "{e:?}");
    let e = parse("machine linux ram=1GiB\nspawn p\np file wirte /f 1MiB\n").unwrap_err();
    assert_eq!((e[0].pos.line, e[0].pos.col), (3, 8), "{e:?}");
    assert!(e[0].message.contains("did you mean `write`"), "{e:?}");
    let e = parse("machine linux ram=1GiB\nspawn p\np file read /f\n").unwrap_err();
    assert_eq!(e[0].pos.line, 3, "{e:?}");
    // A path is a regular file or a tmpfs file, not both: a scenario error when it runs.
    let s = parse("machine linux ram=1GiB\nspawn p\np tmpfs write /x 4KiB\np file read /x 4KiB\n")
        .unwrap();
    let r = sim::run(&s);
    assert!(r
        .error
        .as_ref()
        .expect("a scenario error")
        .message
        .contains("is a tmpfs file"));
}

/// A global OOM honours memory.oom.group too: oom_kill_process calls
/// mem_cgroup_get_oom_group(victim, oc->memcg) for every OOM, with the root as the domain of
/// a global one (mm/oom_kill.c, mm/memcontrol.c). `a` is chosen (the largest), and `b`, in
/// the same group, dies with it; `outside` does not; oom_group_kill counts once and oom_kill
/// once per task in the cgroup.
#[test]
fn a_global_oom_kills_the_victims_whole_oom_group() {
    let r = run("machine linux ram=1GiB swap=0 overcommit=1
cgroup create box
cgroup box set memory.oom.group 1
spawn outside
outside mmap buf 100MiB rw private anon
outside write buf
spawn a
a cgroup box
a mmap buf 600MiB rw private anon
a write buf
spawn b
b cgroup box
b mmap buf 200MiB rw private anon
b write buf
spawn c
c mmap buf 300MiB rw private anon
c write buf
expect a killed
expect b killed
expect outside running
expect c running
expect cgroup box memory.events oom_group_kill = 1
expect cgroup box memory.events oom_kill = 2
expect kernel.log has Tasks in /box are going to be killed due to memory.oom.group set
expect kernel.log has Out of memory: Killed process 1002 (b)
");
    let o = ooms(&r);
    assert_eq!(o.len(), 1, "one OOM, one choice");
    assert_eq!(o[0].victim, Some(1001));
}

/// fs/proc/base.c __set_oom_adj: a write reaches every other process sharing the mm once a
/// clone(CLONE_VM) made it MMF_MULTIPROCESS (kernel/fork.c: copy_oom_score_adj), not a fork
/// child with its own mm; and only an oom_score_adj write by a CAP_SYS_RESOURCE writer moves
/// oom_score_adj_min (`!legacy && has_capability_noaudit(…)`): a legacy oom_adj write leaves
/// it.
#[test]
fn oom_adj_writes_reach_mm_sharers_and_legacy_writes_leave_the_floor() {
    let r = run("machine linux ram=1GiB
spawn r admin
r mmap buf 1MiB rw private anon
r clone t
r fork f
r oom_score_adj -500
expect t.oom_score_adj = -500
expect f.oom_score_adj = 0
r oom_adj 0
expect r.oom_score_adj = 0
expect t.oom_score_adj = 0
r oom_adj -17
expect r.oom_score_adj = -1000
expect t.oom_score_adj = -1000
expect f.oom_score_adj = 0
");
    let m = r.machine.as_linux().unwrap();
    let floor = |n: &str| m.procs[&r.machine.pid_of(n).unwrap()].oom_score_adj_min;
    // The oom_score_adj write set the floor of r and of t, which shares its mm; the oom_adj
    // writes did not move it; f's is its own (0, copied at fork).
    assert_eq!((floor("r"), floor("t"), floor("f")), (-500, -500, 0));
}
