//! Memory cgroups (model-spec L9): the L9.2 victim choice with its exact numbers, charges that
//! stay after a move, hierarchical usage, the v1 view, BPF maps by kernel era, and the
//! language's errors for bad cgroup lines. Every run checks the invariants after every step.

use vmlab_core::event::{EventKind, MemcgEvent};
use vmlab_core::machine::Machine;
use vmlab_core::op::Outcome;
use vmlab_core::query::{Query, Value};
use vmlab_core::scenario::parse;
use vmlab_core::sim;

/// Run a scenario step by step with the invariants checked after each step; every `expect`
/// must hold. Returns the run.
fn run(text: &str) -> sim::Run {
    let s = parse(text).unwrap_or_else(|d| panic!("{d:?}"));
    let mut m = Machine::boot(&s.machine);
    for (stmt, op) in s.ops() {
        if m.apply(op).is_ok() {
            if let Err(e) = m.check_invariants() {
                panic!("after `{}`: {e}", stmt.text);
            }
        }
    }
    let r = sim::run(&s);
    for c in &r.checks {
        assert!(c.passed, "{}: {}", c.text, c.detail);
    }
    assert!(r.error.is_none(), "{:?}", r.error);
    r
}

/// The diagnostics of a scenario that must not parse, one per line.
fn err(text: &str) -> String {
    parse(text)
        .expect_err("must not parse")
        .into_iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn cg(m: &Machine, path: &str, file: &str, key: Option<&str>) -> Value {
    m.query(&Query::Cgroup {
        path: path.into(),
        file: file.into(),
        key: key.map(str::to_string),
    })
    .unwrap()
}

const L92: &str = "machine linux ram=8GiB cgroup=v1
cgroup create box
cgroup box set memory.limit_in_bytes 96MiB
spawn a
a cgroup box
spawn b adj=1000
b cgroup box
spawn c
c cgroup box
a mmap m 48MiB rw private anon
a write m
b mmap m 8MiB rw private anon
b write m
c mmap m 64MiB rw private anon
c write m
";

#[test]
fn l9_2_victim_choice_scales_adj_by_the_limit() {
    let r = run(L92);
    let last = r.steps.last().unwrap();
    assert_eq!(
        last.outcome,
        Outcome::Ok,
        "c survives and finishes its write"
    );
    let ooms: Vec<_> = last
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Memcg(MemcgEvent::Oom {
                totalpages,
                candidates,
                victim,
                ..
            }) => Some((*totalpages, candidates.clone(), *victim)),
            _ => None,
        })
        .collect();
    assert_eq!(ooms.len(), 2, "two memcg OOMs: B, then A");
    for (totalpages, cands, _) in &ooms {
        // totalpages = the limit: 96 MiB = 24,576 pages (no swap), so adj 1000 adds 24,000.
        assert_eq!(*totalpages, 24_576);
        for c in cands {
            let rss: u64 = c.rss.iter().sum();
            assert_eq!(
                c.points,
                Some(
                    (rss + c.swapents + c.pgtables_bytes / 4096) as i64
                        + c.oom_score_adj as i64 * (24_576 / 1000)
                ),
                "{c:?}"
            );
        }
    }
    let (_, first, v1) = &ooms[0];
    let by = |n: &str| first.iter().find(|c| c.name == n).unwrap().clone();
    let rss = |c: &vmlab_core::event::OomCandidate| c.rss.iter().sum::<u64>();
    let pt = |c: &vmlab_core::event::OomCandidate| c.pgtables_bytes / 4096;
    assert_eq!(rss(&by("a")), 12_288, "A: 48 MiB");
    assert_eq!(rss(&by("b")), 2_048, "B: 8 MiB");
    assert_eq!(by("b").points, Some(2_048 + pt(&by("b")) as i64 + 24_000));
    assert!(by("b").points > by("a").points);
    assert_eq!(*v1, Some(1001), "B (pid 1001) first");
    let (_, second, v2) = &ooms[1];
    assert_eq!(second.len(), 2, "A and C are left");
    assert_eq!(*v2, Some(1000), "then A (pid 1000)");
    let a = second.iter().find(|c| c.name == "a").unwrap();
    let c = second.iter().find(|c| c.name == "c").unwrap();
    // C has what is left under the limit after A and both page tables: strictly less.
    assert_eq!(
        rss(c) + pt(c) + rss(a) + pt(a),
        24_576,
        "usage is exactly the limit"
    );
    assert!(a.points > c.points);
    let m = &r.machine;
    assert_eq!(
        cg(m, "box", "memory.oom_control", Some("oom_kill")),
        Value::Number(2)
    );
    assert_eq!(
        cg(m, "box", "memory.max_usage_in_bytes", None),
        Value::Bytes(96 << 20)
    );
}

#[test]
fn failcnt_counts_the_kernels_failed_charges() {
    // Measured on this host (6.18 v1, the realmemcg branch's real_memcg cases): 19 failed
    // page_counter_try_charge calls before the OOM killer (or the oom_kill_disable sleep),
    // 36 when the charging task is itself the victim; max_usage_in_bytes is the limit.
    run("machine linux ram=8GiB cgroup=v1
cgroup create box
cgroup box set memory.limit_in_bytes 64MiB
spawn app
app cgroup box
app mmap buf 128MiB rw private anon
app write buf
expect app killed
expect cgroup box memory.failcnt = 36
expect cgroup box memory.max_usage_in_bytes = 64MiB
expect cgroup box memory.oom_control oom_kill = 1
");
    run("machine linux ram=8GiB cgroup=v1
cgroup create box
cgroup box set memory.limit_in_bytes 64MiB
cgroup box set memory.oom_control 1
spawn app
app cgroup box
app mmap buf 128MiB rw private anon
app write buf
expect app write blocked
expect cgroup box memory.failcnt = 19
");
}

#[test]
fn charges_stay_with_the_cgroup_that_faulted_them() {
    let r = run("machine linux ram=1GiB
cgroup create a
cgroup create b
spawn p
p cgroup a
p mmap m 8MiB rw private anon
p write m[0..4MiB]
p cgroup b
p write m[4MiB..8MiB]
expect cgroup a memory.stat anon = 4MiB
expect cgroup b memory.stat anon = 4MiB
p munmap m
expect cgroup a memory.stat anon = 0
expect cgroup b memory.stat anon = 0
");
    // Page tables were charged to `a` (the first fault) and freed at munmap or left: usage
    // is what the invariant says; nothing is below zero.
    let m = &r.machine;
    assert_eq!(
        cg(m, "", "memory.stat", Some("anon")),
        Value::Bytes(0),
        "the root's stat is the sum of its subtree"
    );
}

#[test]
fn hierarchical_usage_is_own_plus_children_and_limits_nest() {
    let r = run("machine linux ram=1GiB
cgroup create kubepods
cgroup create kubepods/pod1
cgroup create kubepods/pod1/c1
cgroup create kubepods/pod1/c2
cgroup kubepods/pod1 set memory.max 64MiB
spawn x
x cgroup kubepods/pod1/c1
spawn y
y cgroup kubepods/pod1/c2
x mmap m 40MiB rw private anon
x write m
y mmap m 40MiB rw private anon
y write m
expect x killed
expect y running
expect cgroup kubepods/pod1 memory.events oom_kill = 1
expect cgroup kubepods/pod1/c1 memory.events.local oom_kill = 1
expect cgroup kubepods/pod1 memory.events.local oom = 1
expect cgroup kubepods memory.events oom = 1
");
    let m = &r.machine;
    let used = |p: &str| match cg(m, p, "memory.current", None) {
        Value::Bytes(b) => b,
        v => panic!("{v:?}"),
    };
    assert_eq!(
        used("kubepods"),
        used("kubepods/pod1/c1") + used("kubepods/pod1/c2")
    );
    assert!(used("kubepods/pod1") <= 64 << 20);
}

#[test]
fn bpf_maps_are_charged_from_5_11_in_both_hierarchies() {
    let usage = |header: &str, file: &str| {
        let r = run(&format!(
            "{header}
cgroup create agent
spawn t
t cgroup agent
t bpf map 1000000 64B
"
        ));
        match cg(&r.machine, "agent", file, None) {
            Value::Bytes(b) => b,
            v => panic!("{v:?}"),
        }
    };
    // 1,000,000 × round_up(64, 8) = 64,000,000 B = 15,625 pages.
    let map = 15_625 * 4096;
    assert_eq!(
        usage(
            "machine linux ram=1GiB kernel=5.10 cgroup=v1",
            "memory.usage_in_bytes"
        ),
        0
    );
    assert_eq!(
        usage("machine linux ram=1GiB kernel=5.10", "memory.current"),
        0
    );
    assert_eq!(
        usage(
            "machine linux ram=1GiB kernel=5.11 cgroup=v1",
            "memory.usage_in_bytes"
        ),
        map
    );
    assert_eq!(
        usage(
            "machine linux ram=1GiB cgroup=v1",
            "memory.kmem.usage_in_bytes"
        ),
        map
    );
    assert_eq!(usage("machine linux ram=1GiB", "memory.current"), map);
}

#[test]
fn a_limit_below_usage_kills_on_v2_and_is_ebusy_on_v1() {
    let body = "cgroup create g
spawn p
p cgroup g
p mmap m 32MiB rw private anon
p write m
";
    let r = run(&format!(
        "machine linux ram=1GiB\n{body}cgroup g set memory.max 16MiB\nexpect ok\nexpect p killed\n"
    ));
    assert_eq!(
        cg(&r.machine, "g", "memory.events", Some("oom_kill")),
        Value::Number(1)
    );
    run(&format!(
        "machine linux ram=1GiB cgroup=v1\n{body}cgroup g set memory.limit_in_bytes 16MiB\nexpect EBUSY\nexpect p running\n"
    ));
}

#[test]
fn nothing_killable_leaves_the_fault_waiting() {
    run("machine linux ram=1GiB
cgroup create g
cgroup g set memory.max 16MiB
spawn p adj=-1000
p cgroup g
p mmap m 32MiB rw private anon
p write m
expect p write blocked
expect cgroup g memory.events oom = 1
expect kernel.log has Out of memory and no killable processes...
cgroup g set memory.max max
expect p.VmRSS = 32MiB
");
}

#[test]
fn cgroup_lines_with_bad_values_are_errors_at_their_column() {
    let m = "machine linux ram=1GiB\ncgroup create g\n";
    assert_eq!(
        err(&format!("{m}cgroup g set memory.max -1\n")),
        "3:25: `memory.max` takes a size or `max`, not -1 (-1 is cgroup v1's way to write unlimited)"
    );
    assert_eq!(
        err(&format!("{m}cgroup g set memory.mx 1MiB\n")),
        "3:14: unknown cgroup v2 file \"memory.mx\"; did you mean `memory.max`? (files: memory.min memory.low memory.high memory.max memory.swap.max memory.oom.group)"
    );
    assert_eq!(
        err(&format!("{m}cgroup g set memory.limit_in_bytes 1MiB\n")),
        "3:14: `memory.limit_in_bytes` is a cgroup v1 file, and this machine's memory controller is on cgroup v2 (machine option `cgroup=`)"
    );
    assert_eq!(
        err(&format!("{m}cgroup h set memory.max 1MiB\n")),
        "3:8: no cgroup `h` (create it first with `cgroup create h`)"
    );
    assert_eq!(
        err(&format!("{m}expect cgroup g memory.events oom_kil = 1\n")),
        "3:31: `memory.events` has no key \"oom_kil\"; did you mean `oom_kill`? (keys: low high max oom oom_kill oom_group_kill)"
    );
    assert_eq!(
        err(&format!("{m}cgroup g set memory.current 1MiB\n")),
        "3:14: `memory.current` is read-only"
    );
    assert_eq!(
        err("machine linux ram=1GiB\nexpect cgroup / memory.current = 0\n"),
        "2:17: the root cgroup has no `memory.current` on cgroup v2 (only memory.stat)"
    );
    assert_eq!(
        err("machine linux ram=1GiB cgroup=v3\n"),
        "1:31: expected the memory cgroup hierarchy, v1 or v2, found \"v3\""
    );
    assert_eq!(
        err(&format!("{m}cgroup create x/y\n")),
        "3:15: the parent cgroup `x` does not exist (create it first)"
    );
}

#[test]
fn kube_lines_expand_into_the_kubelets_cgroups_and_adj() {
    let r = run("machine linux ram=16GiB cgroup=v1
kube pod web container app request=4GiB limit=8GiB container side limit=1GiB
kube pod be container c
kube run a web/app
kube run s web/side
kube run b be/c
expect a.oom_score_adj = 750
expect s.oom_score_adj = 938
expect b.oom_score_adj = 1000
expect cgroup kubepods/burstable/podweb memory.limit_in_bytes = 9GiB
expect cgroup kubepods/burstable/podweb/side memory.limit_in_bytes = 1GiB
expect cgroup kubepods/besteffort/podbe memory.limit_in_bytes = 9223372036854771712B
");
    assert!(r.all_passed());
    assert_eq!(
        err("machine linux ram=1GiB\nkube pod empty\n"),
        "2:15: a pod needs at least one `container NAME`"
    );
    assert_eq!(
        err("machine linux ram=1GiB\nkube pod p container c\nkube run x p/d\n"),
        "3:12: pod `p` has no container `d`"
    );
    assert_eq!(
        err("machine linux ram=1GiB\nkube pod p request=1GiB\n"),
        "2:12: a pod's resources follow `container NAME`"
    );
}

/// At its limit a cgroup reclaims inside itself before its OOM killer runs (try_charge_memcg →
/// try_to_free_mem_cgroup_pages): clean page cache charged to it goes first, and only its own
/// (another cgroup's cache is left alone); with nothing left to reclaim it OOM-kills.
#[test]
fn a_memcg_at_its_limit_reclaims_its_own_page_cache_before_the_oom_killer() {
    let r = run("machine linux ram=1GiB swap=0\n\
         cgroup create box\n\
         cgroup box set memory.max 64MiB\n\
         spawn other\n\
         other file read /data/other 32MiB\n\
         spawn app\n\
         app cgroup box\n\
         app file read /data/mine 48MiB\n\
         expect cgroup box memory.stat file = 48MiB\n\
         app mmap heap 40MiB rw private anon\n\
         app write heap\n\
         expect app write ok\n\
         expect app running\n\
         expect cgroup box memory.events oom_kill = 0\n\
         expect cgroup box memory.current <= 64MiB\n\
         expect meminfo.Cached >= 32MiB\n");
    let reclaimed: Vec<(u64, Option<String>)> = r
        .steps
        .iter()
        .flat_map(|s| s.events.iter())
        .filter_map(|e| match &e.kind {
            EventKind::Reclaimed { pages, memcg, .. } => Some((*pages, memcg.clone())),
            _ => None,
        })
        .collect();
    assert!(!reclaimed.is_empty(), "the write reclaimed");
    assert!(
        reclaimed.iter().all(|(_, m)| m.as_deref() == Some("box")),
        "only inside the cgroup: {reclaimed:?}"
    );
    // The other process's 32 MiB of cache (the root's own, outside box) is untouched; box
    // kept part of its own.
    let m = &r.machine;
    let bytes = |v: Value| match v {
        Value::Bytes(b) => b,
        other => panic!("{other:?}"),
    };
    let all = bytes(cg(m, "", "memory.stat", Some("file")));
    let boxed = bytes(cg(m, "box", "memory.stat", Some("file")));
    assert_eq!(all - boxed, 32 << 20);
    assert!(
        boxed > 0 && boxed < 48 << 20,
        "box kept {boxed} B of its cache"
    );
    // Nothing reclaimable left: a second write over the limit is the memcg OOM's.
    let r = run("machine linux ram=1GiB swap=0\n\
         cgroup create box\n\
         cgroup box set memory.max 64MiB\n\
         spawn app\n\
         app cgroup box\n\
         app mmap heap 80MiB rw private anon\n\
         app write heap\n\
         expect app write killed\n\
         expect cgroup box memory.events oom_kill = 1\n");
    assert!(r
        .steps
        .iter()
        .flat_map(|s| s.events.iter())
        .all(|e| !matches!(e.kind, EventKind::Reclaimed { .. })));
}

/// A memcg OOM's dmesg report has the same task table as a global one (dump_tasks), between
/// its `invoked oom-killer` header and its `oom-kill:constraint=CONSTRAINT_MEMCG` summary.
#[test]
fn a_memcg_oom_report_prints_the_task_table() {
    let r = run(L92);
    let log = r.machine.dmesg();
    let lines: Vec<&str> = log.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in\n{log}"))
    };
    let (head, table, summary) = (
        at("c invoked oom-killer"),
        at("Tasks state (memory values in pages):"),
        at("oom-kill:constraint=CONSTRAINT_MEMCG"),
    );
    assert!(head < table && table < summary, "{log}");
    // a, b and c are the box's tasks: three rows, b with adj 1000.
    let rows: Vec<&&str> = lines[table + 2..summary].iter().collect();
    assert_eq!(rows.len(), 3, "{log}");
    assert!(rows[1].ends_with(" 1000 b"), "{}", rows[1]);
}

/// A BPF map takes its pages before its charge (__alloc_pages charges a __GFP_ACCOUNT page after
/// allocating it) and may reclaim for them, but never calls the OOM killer: a map larger than
/// RAM after reclaim is ENOMEM with nothing charged, kernel memory unchanged and nobody killed.
#[test]
fn a_bpf_map_larger_than_free_ram_is_enomem_and_charges_nothing() {
    let r = run("machine linux ram=64MiB swap=0
cgroup create agent
spawn hog
hog mmap h 40MiB rw private anon
hog write h
spawn t
t cgroup agent
t bpf map 1000000 64B
expect t bpf ENOMEM
expect hog running
expect cgroup agent memory.current = 0
");
    let last = r.steps.last().unwrap();
    assert_eq!(last.outcome, Outcome::Err(vmlab_core::op::Errno::ENOMEM));
}

/// With clean page cache to drop, the same map fits: global reclaim runs first, then the
/// charge, and only the reclaimed pages leave the cache.
#[test]
fn a_bpf_map_reclaims_page_cache_before_it_fails() {
    run("machine linux ram=96MiB swap=0
spawn reader
reader file read /data/log 60MiB
cgroup create agent
spawn t
t cgroup agent
t bpf map 1000000 64B
expect t bpf ok
expect cgroup agent memory.current = 62500KiB
expect meminfo.MemFree = 0
expect meminfo.Cached = 35796KiB
");
}

/// The swap a cgroup may use: on v2 memory.swap.max limits the swap counter, on v1
/// memory.memsw.limit_in_bytes limits memory + swap together. The same 64 MiB + 32 MiB limits
/// give the same victim numbers: 16,334 resident + 8,192 swapped + 50 page-table pages =
/// totalpages (64 + 32 MiB); the PGD, charged to the root at spawn, is in neither the charge
/// nor the badness (mm_pgtables_bytes leaves it out).
#[test]
fn swap_limits_bound_a_cgroup_on_v1_and_v2_alike() {
    let body = |limits: &str| {
        format!(
            "cgroup create box
{limits}
spawn app
app cgroup box
app mmap buf 80MiB rw private anon
app write buf
expect app running
expect cgroup box {{used}} = 64MiB
app mmap more 40MiB rw private anon
app write more
expect app killed
expect kernel.log has Killed process 1000 (app) total-vm:122880kB, anon-rss:65336kB
"
        )
    };
    let v2 = body("cgroup box set memory.max 64MiB\ncgroup box set memory.swap.max 32MiB")
        .replace("{used}", "memory.current");
    let r = run(&format!("machine linux ram=8GiB swap=1GiB\n{v2}"));
    assert_eq!(
        cg(&r.machine, "box", "memory.swap.current", None),
        Value::Bytes(0)
    );
    let v1 = body(
        "cgroup box set memory.limit_in_bytes 64MiB\ncgroup box set memory.memsw.limit_in_bytes 96MiB",
    )
    .replace("{used}", "memory.usage_in_bytes");
    let r = run(&format!("machine linux ram=8GiB swap=1GiB cgroup=v1\n{v1}"));
    // memsw stopped the second write: its failures are memsw's, and it peaked at its limit.
    assert!(matches!(
        cg(&r.machine, "box", "memory.memsw.failcnt", None),
        Value::Number(n) if n > 0
    ));
    assert_eq!(
        cg(&r.machine, "box", "memory.memsw.max_usage_in_bytes", None),
        Value::Bytes(96 << 20)
    );
}

/// v1 keeps a swapped page in memsw: after the first write memsw holds the 80 MiB and the page
/// tables, memory only 64 MiB, and memory.stat `swap` the rest; reading pages back moves them
/// from swap to memory without changing memsw.
#[test]
fn v1_memsw_holds_memory_and_swap_together() {
    let r = run("machine linux ram=8GiB swap=1GiB cgroup=v1
cgroup create box
cgroup box set memory.limit_in_bytes 64MiB
spawn app
app cgroup box
app mmap buf 80MiB rw private anon
app write buf
expect cgroup box memory.usage_in_bytes = 64MiB
expect cgroup box memory.memsw.usage_in_bytes = 82088KiB
expect cgroup box memory.stat swap = 16552KiB
app read buf[0..8MiB]
expect cgroup box memory.memsw.usage_in_bytes = 82088KiB
expect cgroup box memory.stat swap = 16552KiB
expect cgroup box memory.stat pgmajfault = 2048
app exit
expect cgroup box memory.memsw.usage_in_bytes = 0
expect cgroup box memory.stat swap = 0
");
    let _ = r;
}

/// With memory.swap.max 0 a cgroup's pages never go to swap: at its limit it goes to the
/// memcg OOM killer though the machine has swap, and global reclaim passes it by.
#[test]
fn swap_max_zero_keeps_a_cgroup_out_of_swap() {
    run("machine linux ram=8GiB swap=1GiB
cgroup create box
cgroup box set memory.max 64MiB
cgroup box set memory.swap.max 0
spawn app
app cgroup box
app mmap buf 80MiB rw private anon
app write buf
expect app killed
expect meminfo.SwapFree = 1GiB
");
    run("machine linux ram=256MiB swap=1GiB overcommit=1
cgroup create pinned
cgroup pinned set memory.swap.max 0
spawn p
p cgroup pinned
p mmap m 128MiB rw private anon
p write m
spawn hog
hog mmap h 160MiB rw private anon
hog write h
expect p running
expect hog running
expect p.VmSwap = 0
expect hog.VmSwap > 0
expect cgroup pinned memory.swap.current = 0
");
}

/// A swap slot's charge belongs to the cgroup of the page written to it and stays there: after
/// a fork the slot has two users and stays charged (v2) until the last one goes, and a move
/// to another cgroup leaves it behind.
#[test]
fn swap_charges_stay_with_the_slot_until_its_last_user_goes() {
    run("machine linux ram=8GiB swap=1GiB
cgroup create box
cgroup box set memory.max 64MiB
cgroup create other
spawn app
app cgroup box
app mmap buf 80MiB rw private anon
app write buf
expect cgroup box memory.swap.current = 16552KiB
app fork child
child cgroup other
app exit
expect cgroup box memory.swap.current = 16552KiB
expect cgroup other memory.swap.current = 0
expect child.VmSwap = 16552KiB
child exit
expect cgroup box memory.swap.current = 0
expect meminfo.SwapFree = 1GiB
");
}

/// The kubelet's working set is usage less inactive file pages (cAdvisor), and its eviction
/// ranking puts pods over their request first, then the furthest above it: here the
/// Burstable pod 44 MiB over its 16 MiB request goes before the BestEffort pod with 40 MiB,
/// and the Guaranteed pod is last though it uses the most (100 MiB, under its 128 MiB request).
#[test]
fn kubelet_ranks_pods_over_their_request_first_and_evicts_one() {
    let r = run("machine linux ram=512MiB
kube pod g container c request=128MiB limit=128MiB
kube pod b container c request=16MiB limit=256MiB
kube pod e container c
kube run pg g/c
kube run pb b/c
kube run pe e/c
pg mmap m 100MiB rw private anon
pg write m
pb mmap m 60MiB rw private anon
pb write m
pe mmap m 40MiB rw private anon
pe write m
pe file read /data/f 50MiB
expect kube working_set e < 41MiB
expect kube working_set e/c < 41MiB
kube eviction threshold=400MiB
expect pb killed
expect pe running
expect pg running
");
    let last = r.steps.last().unwrap();
    let ranking = last
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Kubelet {
                ranking, evicted, ..
            } => Some((ranking.clone(), evicted.clone())),
            _ => None,
        })
        .expect("the pass is an event");
    let order: Vec<&str> = ranking.0.iter().map(|r| r.pod.as_str()).collect();
    assert_eq!(order, ["b", "e", "g"]);
    assert_eq!(ranking.1.as_deref(), Some("b"));
    // The working set is the cgroup's usage less inactive_file, read from the same files.
    let m = &r.machine;
    let bytes = |v: Value| match v {
        Value::Bytes(b) => b,
        v => panic!("{v:?}"),
    };
    let usage = bytes(cg(m, "kubepods/besteffort/pode", "memory.current", None));
    let inactive = bytes(cg(
        m,
        "kubepods/besteffort/pode",
        "memory.stat",
        Some("inactive_file"),
    ));
    let ws = bytes(
        m.query(&Query::WorkingSet {
            path: "kubepods/besteffort/pode".into(),
        })
        .unwrap(),
    );
    assert_eq!(ws, usage - inactive);
    assert!(inactive >= 50 << 20);
}

#[test]
fn kube_eviction_and_expect_kube_lines_with_errors_are_refused_at_their_column() {
    let e = err("machine linux ram=1GiB\nkube eviction limit=5MiB\n");
    assert!(e.contains("2:15") && e.contains("threshold=SIZE"), "{e}");
    let e = err("machine linux ram=1GiB\nexpect kube working_set nopod = 0\n");
    assert!(e.contains("2:25") && e.contains("no pod `nopod`"), "{e}");
    let e = err("machine linux ram=1GiB\nexpect kube memory.free = 0\n");
    assert!(e.contains("2:13") && e.contains("memory.available"), "{e}");
}

/// A reclaim inside a cgroup at its limit does not honour that cgroup's own memory.min (the
/// target is never protected from itself), but does honour its children's: the child's
/// protected cache stays, the unprotected sibling's goes, and then the OOM killer runs.
#[test]
fn a_memcg_reclaim_honours_its_childrens_min_but_not_its_own() {
    run("machine linux ram=8GiB swap=0
cgroup create box
cgroup box set memory.min 64MiB
cgroup create box/keep
cgroup box/keep set memory.min 32MiB
cgroup create box/free
spawn k
k cgroup box/keep
k file read /data/k 32MiB
spawn f
f cgroup box/free
f file read /data/f 32MiB
cgroup box set memory.max 80MiB
spawn w
w cgroup box/free
w mmap m 40MiB rw private anon
w write m
expect cgroup box/keep memory.current = 32MiB
expect cgroup box/free memory.current < 49MiB
expect w running
");
}

/// An OOM-killed container's process: the container's status is OOMKilled with exit code 137
/// (128 + SIGKILL), as an event at the step of the kill; a process outside kubepods gets none.
#[test]
fn an_oom_killed_container_is_reported_oomkilled_with_exit_code_137() {
    let r = run("machine linux ram=8GiB
kube pod web container app limit=64MiB
kube run app web/app
app mmap m 128MiB rw private anon
app write m
expect app killed
cgroup create plain
cgroup plain set memory.max 64MiB
spawn p
p cgroup plain
p mmap m 128MiB rw private anon
p write m
expect p killed
");
    let reports: Vec<(usize, String)> = r
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.events.iter().map(move |e| (i, e)))
        .filter(|(_, e)| e.reason() == "kube.oom_killed")
        .map(|(i, e)| (i, e.sentence()))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0]
            .1
            .contains("container app of pod web (pid 1000): status Terminated, reason OOMKilled, exit code 137"),
        "{reports:?}"
    );
}

/// VmPTE counts the PTE, PMD and PUD tables only (include/linux/mm.h: mm_pgtables_bytes, kept
/// by mm_inc_nr_ptes / _pmds / _puds; measured on the 6.18 host: one page faulted in a new
/// 512 GiB region adds 12 kB). The PGD comes with the mm (pgd_alloc at fork or exec): it is in
/// PageTables and charged to the cgroup of the task that made the mm, where it stays when the
/// task moves; a fork's PGD and table copy are charged to the parent's cgroup.
#[test]
fn the_pgd_is_made_with_the_mm_and_counted_only_in_pagetables() {
    run("machine linux ram=1GiB
cgroup create box
spawn a
expect meminfo.PageTables = 4kB
expect cgroup box memory.current = 0
a cgroup box
a mmap x 4KiB rw private anon
a write x
expect a.VmPTE = 12kB
expect meminfo.PageTables = 16kB
expect cgroup box memory.current = 16KiB
expect cgroup box memory.stat pagetables = 12KiB
a fork b
expect b.VmPTE = 12kB
expect meminfo.PageTables = 32kB
expect cgroup box memory.current = 32KiB
expect cgroup box memory.stat pagetables = 28KiB
b exit
a exit
expect meminfo.PageTables = 0
expect cgroup box memory.current = 0
");
}

/// memory.high reclaims (mm/memcontrol.c: mem_cgroup_handle_over_high → reclaim_high): a
/// 128 MiB file read in a cgroup with high = 64 MiB charges its page cache, and on return to
/// user space reclaim inside the cgroup drops the oldest clean cache until usage is back at
/// high, with a `high_reclaim` event and the reclaim's own; nothing is killed and `max` is
/// never counted.
#[test]
fn memory_high_reclaims_the_cgroup_back_to_high() {
    let r = run("machine linux ram=1GiB
cgroup create web
cgroup web set memory.high 64MiB
spawn app
app cgroup web
app file read /data/log 128MiB
expect app running
expect cgroup web memory.current = 64MiB
expect cgroup web memory.stat file = 64MiB
expect cgroup web memory.events high > 0
expect cgroup web memory.events max = 0
expect meminfo.Cached = 64MiB
");
    let reasons: Vec<&str> = r.steps[4].events.iter().map(|e| e.reason()).collect();
    assert!(reasons.contains(&"memcg.high_reclaim"), "{reasons:?}");
    let cache: u64 = r.steps[4]
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Reclaimed {
                pages,
                over_high: true,
                ..
            } if e.reason() == "reclaim.clean_cache" => Some(*pages),
            _ => None,
        })
        .sum();
    assert_eq!(cache, 64 * 256, "the 64 MiB over high, as clean page cache");
}

/// Every LRU, mapping and page-table field of meminfo and memory.stat, pinned exactly after a
/// mixed workload, on v2 and on v1 (issue 9). The numbers, by hand (pages of 4 kB):
/// - heap: 20 MiB = 5120 anonymous pages written under a 16 MiB (4096-page) limit with swap.
///   The first mmap ends at 0x7ffff7e00000 (2 MiB-aligned), so the heap's 5120 pages take 10
///   PTE pages, a PMD and a PUD: 12 table pages charged with them. The charge stops at the
///   limit: 4096 − 12 = 4084 pages stay resident and the oldest 5120 − 4084 = 1036 go to swap.
/// - the limit is lifted; then `log` (8 MiB read: 2048 clean unmapped file pages), `f`
///   (4 MiB file mapping read in: 1024 mapped file pages, 2 PTE pages), `s` (4 MiB shared
///   anonymous mapping written: 1024 shmem pages, mapped, 2 PTE pages), `w` (2 MiB written:
///   512 dirty file pages), and MADV_FREE on the heap's last 4 MiB (1024 resident pages, now
///   lazy-free: on the inactive file LRU, still anon-mapped).
/// - anon 4084; file 2048 + 1024 + 512 + 1024 shmem = 4608; mapped 1024 + 1024 = 2048; dirty
///   512; page tables 12 + 2 + 2 = 16 (the PGD, charged to the root at spawn, adds 1 to
///   meminfo's PageTables only); swap 1036.
/// - LRUs (6.18: new anonymous pages start inactive, nothing is ever activated in the model):
///   inactive anon = anon − lazy-free + shmem = 4084 − 1024 + 1024 = 4084, active anon 0;
///   inactive file = 3584 file + 1024 lazy-free = 4608, active file 0.
/// - pgfault: the model counts one fault per page (no fault-around): 5120 + 1024 + 1024 = 7168.
/// - SwapCached 0 (a page read back leaves swap), Buffers 0 (no block-device metadata).
#[test]
fn a_mixed_workload_pins_every_lru_and_table_field_on_v1_and_v2() {
    for v1 in [false, true] {
        let (machine, limit, unlimit) = if v1 {
            (
                "machine linux ram=1GiB swap=1GiB cgroup=v1",
                "cgroup box set memory.limit_in_bytes 16MiB",
                "cgroup box set memory.limit_in_bytes 1GiB",
            )
        } else {
            (
                "machine linux ram=1GiB swap=1GiB",
                "cgroup box set memory.max 16MiB",
                "cgroup box set memory.max max",
            )
        };
        let r = run(&format!(
            "{machine}
cgroup create box
{limit}
spawn app
app cgroup box
app mmap heap 20MiB rw private anon
app write heap
{unlimit}
app file read /data/log 8MiB
app mmap f 4MiB r private file /data/f
app read f
app mmap s 4MiB rw shared anon
app write s
app file write /data/w 2MiB
app madvise heap[16MiB..20MiB] free
expect app.VmSwap = 4144kB
expect app.VmPTE = 64kB
"
        ));
        let hier = if v1 { "v1" } else { "v2" };
        let mi = r.machine.meminfo_text();
        let field = |k: &str| -> u64 {
            mi.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}:")))
                .unwrap_or_else(|| panic!("{hier}: no {k} in meminfo"))
                .trim()
                .trim_end_matches(" kB")
                .parse()
                .unwrap()
        };
        for (k, pages) in [
            ("Active(anon)", 0),
            ("Inactive(anon)", 4084),
            ("Active(file)", 0),
            ("Inactive(file)", 4608),
            ("AnonPages", 4084),
            ("Mapped", 2048),
            ("Shmem", 1024),
            ("Dirty", 512),
            ("PageTables", 17),
            ("SwapCached", 0),
            ("Buffers", 0),
            ("Cached", 4608),
        ] {
            assert_eq!(field(k), pages * 4, "{hier}: meminfo {k}");
        }
        let stat = |k: &str| cg(&r.machine, "box", "memory.stat", Some(k));
        let pages = |n: u64| Value::Bytes(n * 4096);
        let keys: Vec<(&str, Value)> = if v1 {
            let mut v = vec![];
            for pre in ["", "total_"] {
                for (k, val) in [
                    ("cache", pages(4608)),
                    ("rss", pages(4084)),
                    ("shmem", pages(1024)),
                    ("mapped_file", pages(2048)),
                    ("dirty", pages(512)),
                    ("swap", pages(1036)),
                    ("pgfault", Value::Number(7168)),
                    ("inactive_anon", pages(4084)),
                    ("active_anon", pages(0)),
                    ("inactive_file", pages(4608)),
                    ("active_file", pages(0)),
                ] {
                    v.push((if pre.is_empty() { k } else { leak(pre, k) }, val));
                }
            }
            v
        } else {
            vec![
                ("anon", pages(4084)),
                ("file", pages(4608)),
                ("kernel", pages(16)),
                ("pagetables", pages(16)),
                ("shmem", pages(1024)),
                ("file_mapped", pages(2048)),
                ("file_dirty", pages(512)),
                ("inactive_anon", pages(4084)),
                ("active_anon", pages(0)),
                ("inactive_file", pages(4608)),
                ("active_file", pages(0)),
                ("pgfault", Value::Number(7168)),
            ]
        };
        for (k, want) in keys {
            assert_eq!(stat(k), want, "{hier}: memory.stat {k}");
        }
    }
}

fn leak(pre: &str, k: &str) -> &'static str {
    Box::leak(format!("{pre}{k}").into_boxed_str())
}

/// vm.panic_on_oom against a memcg OOM (mm/oom_kill.c: check_panic_on_oom): 1 panics only a
/// CONSTRAINT_NONE OOM, so the cgroup's OOM kills its task and the machine runs on; 2 panics
/// any OOM ("compulsory"), a memcg OOM too, before a victim is chosen.
#[test]
fn panic_on_oom_1_spares_a_memcg_oom_and_2_panics_it() {
    let body = |v: u32| {
        format!(
            "machine linux ram=1GiB
sysctl vm.panic_on_oom={v}
cgroup create box
cgroup box set memory.max 32MiB
spawn app
app cgroup box
app mmap buf 64MiB rw private anon
app write buf
"
        )
    };
    let one = run(&format!(
        "{}expect app write killed\nexpect app killed\nexpect cgroup box memory.events oom_kill = 1\n\
         spawn after\nexpect after running\n",
        body(1)
    ));
    assert!(!one.machine.panicked(), "panic_on_oom=1 spares a memcg OOM");
    let two = run(&format!(
        "{}expect app write panic\n\
         expect kernel.log has Kernel panic - not syncing: Out of memory: compulsory panic_on_oom is enabled\n\
         expect cgroup box memory.events oom_kill = 0\n",
        body(2)
    ));
    assert!(two.machine.panicked(), "panic_on_oom=2 panics a memcg OOM");
}
/// v1 oom_kill_disable: a task asleep at the limit is woken when memory in the cgroup is
/// freed, not only when the limit rises (mm/memcontrol-v1.c: memcg_oom_recover, called from
/// the uncharge path when the cgroup is under OOM), and its fault is retried. `a` holds
/// 40 MiB, `b` sleeps part way through its 40 MiB; `a` exits, and `b` finishes its write.
#[test]
fn a_v1_oom_kill_disable_sleeper_wakes_when_memory_is_freed() {
    let r = run("machine linux ram=1GiB cgroup=v1
cgroup create box
cgroup box set memory.limit_in_bytes 64MiB
cgroup box set memory.oom_control 1
spawn a
a cgroup box
a mmap buf 40MiB rw private anon
a write buf
spawn b
b cgroup box
b mmap buf 40MiB rw private anon
b write buf
expect b write blocked
expect cgroup box memory.oom_control under_oom = 1
expect a running
expect b running
a exit
expect cgroup box memory.oom_control under_oom = 0
expect cgroup box memory.oom_control oom_kill = 0
expect b running
expect b.VmRSS = 40MiB
b exit
expect cgroup box memory.usage_in_bytes = 0
");
    let woken = r.steps[11].events.iter().any(|e| {
        matches!(
            &e.kind,
            EventKind::Memcg(MemcgEvent::Woken { pid: 1001, .. })
        )
    });
    assert!(woken, "a's exit wakes b: {:?}", r.steps[11].events);
}
