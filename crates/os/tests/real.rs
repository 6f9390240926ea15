//! Real cases: the seed "Can it fork?" run on this host's kernel and on the simulator, compared
//! step by step. They need root (they skip, saying why, without it) and serialize on the backend's
//! lock. Nothing is touched, so they use almost no memory however large the mappings are.

use vmlab_core::config::MachineConfig;
use vmlab_core::op::{Errno, Outcome};
use vmlab_core::scenario::parse;
use vmlab_os::host::host_config;
use vmlab_os::{check_with, current_sysctls, Backend, RealMachine, RealOptions, Report};

mod common;
use common::*;

/// Four 30%ram anonymous private rw mappings, placed by `place` (below the previous one).
fn fork_case(place: &str, flags: &str) -> String {
    format!(
        "machine linux ram=24GiB overcommit=0\n\
         spawn app\n\
         app mmap a 30%ram rw private anon {flags}\n\
         app mmap b 30%ram rw private anon {flags} below=a {place}\n\
         app mmap c 30%ram rw private anon {flags} below=b {place}\n\
         app mmap d 30%ram rw private anon {flags} below=c {place}\n\
         app fork child\n"
    )
}

/// [`run`], printed, and asserted to agree.
fn run_agreeing(text: &str) -> Report {
    let r = run(text);
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    r
}

/// The simulator's and the kernel's outcome of step `i` (0-based).
fn both(r: &Report, i: usize) -> (Outcome, Outcome) {
    (r.steps[i].sim, r.steps[i].kernel)
}

fn outcomes(r: &Report) -> Vec<(String, Outcome, Outcome)> {
    r.steps
        .iter()
        .map(|s| (s.text.clone(), s.sim, s.kernel))
        .collect()
}

#[test]
fn merged_mappings_cannot_fork_on_either_side() {
    let Some(_serial) = root_or_skip("merged_mappings_cannot_fork_on_either_side") else {
        return;
    };
    let r = run(&fork_case("", ""));
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    let last = r.steps.last().unwrap();
    assert_eq!(last.kernel, Outcome::Err(Errno::ENOMEM));
    assert_eq!(last.sim, Outcome::Err(Errno::ENOMEM));
    // The four mmaps each charged 30 % of RAM on the kernel too.
    for s in &r.steps[1..5] {
        assert_eq!(s.kernel, Outcome::Ok);
        assert!(s.kernel_committed_delta_kb > 0, "{}", r.render());
    }
}

#[test]
fn scattered_or_noreserve_mappings_fork() {
    let Some(_serial) = root_or_skip("scattered_or_noreserve_mappings_fork") else {
        return;
    };
    for (place, flags) in [("gap=1MiB", ""), ("", "noreserve")] {
        let r = run(&format!(
            "{}child exit\napp exit\n",
            fork_case(place, flags)
        ));
        print!("{}", r.render());
        assert!(r.agrees(), "{}", r.render());
        let fork = &r.steps[5];
        assert_eq!(
            (fork.sim, fork.kernel),
            (Outcome::Ok, Outcome::Ok),
            "{:?}",
            outcomes(&r)
        );
    }
}

#[test]
fn the_harness_fails_when_the_simulator_is_wrong() {
    let Some(_serial) = root_or_skip("the_harness_fails_when_the_simulator_is_wrong") else {
        return;
    };
    let s = parse(&fork_case("", "")).unwrap();
    let before = host_sysctls();
    let MachineConfig::Linux(host) = host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    // A wrong host reading: swap of twice RAM (relative sizes use RAM only, so every mapping has
    // the same size on both sides), so the simulator lets the 120 %-of-RAM VMA fork.
    let mut wrong = host.clone();
    wrong.swap_bytes = host.ram_bytes * 2;
    let r = check_with(&s, MachineConfig::Linux(wrong), &helper()).unwrap();
    after_checks(&before);
    print!("{}", r.render());
    assert!(!r.agrees());
    let m: Vec<(u32, &str, &str, &str)> = r
        .mismatches
        .iter()
        .map(|m| (m.step, m.field.as_str(), m.sim.as_str(), m.kernel.as_str()))
        .collect();
    assert!(m.contains(&(6, "outcome", "ok", "ENOMEM")), "{m:?}");
    assert!(
        m.iter().any(|x| x.0 == 6 && x.1 == "Committed_AS Δ kB"),
        "{m:?}"
    );
    assert!(m.iter().any(|x| x.0 == 6 && x.1 == "child: state"), "{m:?}");
}

/// Every operation the backend implements, with faults, COW after fork, file mappings, shared
/// anonymous memory, mode 2 for one mmap, and a SIGSEGV at the end. About 2 MiB is touched.
/// `lid` fills the 2044 KiB between mmap_base and the 2 MiB boundary below it, where `a` (THP-
/// aligned) would leave a hole: a mapping placed there has free room above it in the simulator
/// and the helper's fence on the kernel (docs/known-differences.md), and `kid mremap w 4MiB`
/// must be refused on both sides.
const MANY_OPERATIONS: &str = r#"machine linux ram=24GiB overcommit=0
spawn app
app mmap lid 2044KiB r private anon
app mmap a 64MiB rw private anon
app mmap b 64MiB rw private anon below=a
app write a[0..1MiB]
app mprotect b[0..4KiB] r
app madvise a[0..512KiB] dontneed
app madvise a[512KiB..1MiB] free
app mmap w 1MiB rw private anon
app write w
app madvise w wipeonfork
app mmap nf 3MiB rw private anon
app madvise nf dontfork
app mmap f 1MiB rw private file data.bin
app write f[0..64KiB]
app mmap fs 1MiB rw shared file data2.bin
app write fs[0..64KiB]
app mmap s 1MiB rw shared anon
app write s[0..128KiB]
app fork kid
kid write a[0..256KiB]
kid read w
kid mremap s 512KiB
kid mremap w 4MiB
kid exit
app mremap w 512KiB
app mmap n 1MiB none private anon
app mprotect n rw
app munmap b[8KiB..16KiB]
sysctl vm.overcommit_memory=2
app mmap big 90%ram rw private anon
sysctl vm.overcommit_memory=0
app read b[0..4KiB]
app write b[0..4KiB]
"#;

#[test]
fn many_operations_agree() {
    let Some(_serial) = root_or_skip("many_operations_agree") else {
        return;
    };
    let r = run(MANY_OPERATIONS);
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    assert_eq!(r.steps.len(), 34);
    let by_text = |t: &str| r.steps.iter().find(|s| s.text == t).unwrap();
    // Mode 2 refused 90 % of RAM on the kernel too, and the last write was a SIGSEGV.
    assert_eq!(
        by_text("app mmap big 90%ram rw private anon").kernel,
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(
        by_text("app write b[0..4KiB]").kernel,
        Outcome::Killed {
            signal: vmlab_core::op::Signal::SIGSEGV
        }
    );
    // Known differences (docs/known-differences.md), pinned: MADV_FREE makes the ptes old,
    // so the kernel's Referenced drops to 0 where the model keeps Rss; a fork child's ptes are
    // old too.
    let free = by_text("app madvise a[512KiB..1MiB] free").step;
    assert!(
        r.known.iter().any(|m| m.step == free
            && m.field.ends_with("Referenced kB")
            && m.sim == "512"
            && m.kernel == "0"),
        "{}",
        r.render()
    );
    let fork_step = by_text("app fork kid").step;
    assert!(r
        .known
        .iter()
        .any(|m| m.step == fork_step && m.field.starts_with("kid:") && m.kernel == "0"));
    // The fork charged the child's copies (not the MADV_DONTFORK one) on the kernel.
    let fork = by_text("app fork kid").kernel_committed_delta_kb;
    assert!(fork.abs_diff(133_120) <= r.committed_tolerance_kb, "{fork}");
}

/// Each named mapping's start, by name.
type Starts = Vec<(String, u64)>;

/// Where each named mapping of `proc` starts on the kernel (a fresh real machine) and in the
/// simulator given the host's configuration, after `text`'s operations.
fn starts(text: &str, proc: &str) -> (Starts, Starts) {
    let s = parse(text).expect("the case parses");
    let before = host_sysctls();
    let MachineConfig::Linux(host) = host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    let cfg = vmlab_os::check::sim_config_for(&s, &MachineConfig::Linux(host.clone()));
    let mut sim = vmlab_core::machine::Machine::boot(&cfg);
    let mut m = real_machine(&host, &before);
    for (_, op) in s.ops() {
        let k = m.apply(op).unwrap();
        let (o, _) = sim.apply(op).unwrap();
        assert_eq!(o, k, "{op:?}");
    }
    let kernel = m.observe(proc).unwrap().unwrap().names;
    drop(m);
    after_checks(&before);
    let sim_names = sim
        .mappings(proc)
        .into_iter()
        .map(|(k, a, _)| (k, a))
        .collect::<Vec<_>>();
    let kernel = kernel
        .iter()
        .map(|(k, &(a, _))| (k.clone(), a))
        .collect::<Vec<_>>();
    (kernel, sim_names)
}

const PMD: u64 = 2 << 20;

/// Since 6.7 the kernel places an anonymous mapping at a 2 MiB boundary (mm/mmap.c:
/// __get_unmapped_area → mm/huge_memory.c: __thp_get_unmapped_area), from 6.12 only when its
/// length is a multiple of 2 MiB; the simulator does the same, so the layouts agree: d (2 MiB)
/// cannot end where c (1028 KiB, below a 2 MiB-aligned a) starts.
#[test]
fn thp_alignment_agrees() {
    let Some(_serial) = root_or_skip("thp_alignment_agrees") else {
        return;
    };
    run_agreeing(
        "machine linux ram=1GiB\n\
         spawn app\n\
         app mmap a 2MiB rw private anon\n\
         app mmap c 1028KiB r private anon\n\
         app mmap d 2MiB rw private anon\n",
    );
}

/// (a) 3 MiB, then 4 MiB: the 4 MiB mapping is placed at a 2 MiB boundary below a gap and does
/// not merge, on the kernel and in the simulator; the 3 MiB one is not aligned.
#[test]
fn three_then_four_mib_are_not_merged_and_the_four_is_aligned() {
    let Some(_serial) = root_or_skip("three_then_four_mib_are_not_merged_and_the_four_is_aligned")
    else {
        return;
    };
    let text = "machine linux ram=1GiB\n\
         spawn app\n\
         app mmap a 3MiB rw private anon\n\
         app mmap b 4MiB rw private anon\n\
         expect app.vmas = 2\n";
    run_agreeing(text);
    let (kernel, sim) = starts(text, "app");
    println!("kernel {kernel:x?}\nsim    {sim:x?}");
    for side in [&kernel, &sim] {
        let (a, b) = (side[0].1, side[1].1);
        assert_ne!(a % PMD, 0, "{side:x?}");
        assert_eq!(b % PMD, 0, "{side:x?}");
        assert!(b + (4 << 20) < a, "a gap between b and a: {side:x?}");
    }
}

/// (b) On 6.18 a 2 MiB multiple (4 MiB) is aligned and a non-multiple (5 MiB) is not.
#[test]
fn only_pmd_multiples_are_aligned() {
    let Some(_serial) = root_or_skip("only_pmd_multiples_are_aligned") else {
        return;
    };
    let text = "machine linux ram=1GiB\n\
         spawn app\n\
         app mmap five 5MiB rw private anon\n\
         app mmap four 4MiB rw private anon\n\
         app mmap six 6MiB rw private anon\n";
    run_agreeing(text);
    let (kernel, sim) = starts(text, "app");
    println!("kernel {kernel:x?}\nsim    {sim:x?}");
    for side in [&kernel, &sim] {
        let at = |n: &str| side.iter().find(|(k, _)| k == n).unwrap().1;
        assert_ne!(at("five") % PMD, 0, "{side:x?}");
        assert_eq!(at("four") % PMD, 0, "{side:x?}");
        // six is a multiple too and four starts aligned: six ends where four starts.
        assert_eq!(at("six") + (6 << 20), at("four"), "{side:x?}");
    }
}

/// (c) The seed's "Can it fork?" shape with 2 MiB-multiple lengths: four 30%ram mappings,
/// placed by the kernel, alternately 1 MiB longer than a 2 MiB multiple (packed top-down) and
/// a 2 MiB multiple (aligned, so below a 1 MiB gap). They form three VMAs (a | b+c | d), none
/// larger than RAM, so fork succeeds on the kernel and in the simulator; the simulator told
/// the kernel is 6.6 packs all four into one VMA of 120 % of RAM and refuses the fork.
#[test]
fn the_fork_of_thp_aligned_mappings_agrees() {
    let Some(_serial) = root_or_skip("the_fork_of_thp_aligned_mappings_agrees") else {
        return;
    };
    let MachineConfig::Linux(host) = host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    let m = host.ram_bytes * 3 / 10 / PMD * PMD;
    let n = m + (1 << 20);
    // Four mappings of these lengths placed by the kernel, the VMA count expected, and a fork.
    let four = |[a, b, c, d]: [u64; 4], vmas: u32| {
        format!(
            "machine linux ram=24GiB overcommit=0\n\
             spawn app\n\
             app mmap a {a}B rw private anon\n\
             app mmap b {b}B rw private anon\n\
             app mmap c {c}B rw private anon\n\
             app mmap d {d}B rw private anon\n\
             expect app.vmas = {vmas}\n\
             app fork child\n"
        )
    };
    let text = format!("{}child exit\napp exit\n", four([n, m, n, m], 3));
    let r = run_agreeing(&text);
    assert_eq!(both(&r, 5), (Outcome::Ok, Outcome::Ok), "{}", r.render());
    // All four of one length (2 MiB multiples): each lands against the one above and they
    // merge into one VMA of 120 % of RAM; the fork is ENOMEM on both sides.
    let r = run_agreeing(&four([m; 4], 1));
    let enomem = Outcome::Err(Errno::ENOMEM);
    assert_eq!(both(&r, r.steps.len() - 1), (enomem, enomem));
    // Before 6.7 there is no alignment: the simulator configured as 6.6 merges the first
    // scenario's four mappings and refuses its fork, which this kernel grants.
    let s = parse(&text).unwrap();
    let before = host_sysctls();
    let mut old = vmlab_os::check::sim_config_for(&s, &MachineConfig::Linux(host));
    let MachineConfig::Linux(c) = &mut old else {
        unreachable!("a Linux machine")
    };
    c.kernel = vmlab_core::kernel::KernelVersion::new(6, 6);
    let r = check_with(&s, old, &helper()).unwrap();
    after_checks(&before);
    print!("{}", r.render());
    assert_eq!(
        both(&r, 5),
        (Outcome::Err(Errno::ENOMEM), Outcome::Ok),
        "{}",
        r.render()
    );
    assert!(
        r.mismatches
            .iter()
            .any(|m| m.step == 3 && m.field == "app: vmas"),
        "{}",
        r.render()
    );
}

/// Every madvise advice the model has is known to this 6.18 kernel (each was added by 4.14).
#[test]
fn this_kernel_accepts_every_modelled_advice() {
    let Some(_serial) = root_or_skip("this_kernel_accepts_every_modelled_advice") else {
        return;
    };
    let mut text =
        String::from("machine linux ram=1GiB\nspawn app\napp mmap a 1MiB rw private anon\n");
    for a in vmlab_core::op::Advice::ALL {
        text.push_str(&format!("app madvise a {}\n", a.name()));
    }
    let r = run_agreeing(&text);
    assert_eq!(r.steps.len(), 2 + vmlab_core::op::Advice::ALL.len());
    assert!(
        r.steps.iter().all(|s| s.kernel == Outcome::Ok),
        "{}",
        r.render()
    );
}

#[test]
fn helpers_are_visible_while_the_machine_lives_and_gone_after() {
    let Some(_serial) = root_or_skip("helpers_are_visible_while_the_machine_lives_and_gone_after")
    else {
        return;
    };
    let MachineConfig::Linux(host) = host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    let before = host_sysctls();
    let mut m = real_machine(&host, &before);
    let token = m.token().to_string();
    let s = parse("machine linux ram=1GiB\nspawn app\napp fork kid\nkid fork grandkid\napp exit\n")
        .unwrap();
    let ops: Vec<_> = s.ops().map(|(_, op)| op.clone()).collect();
    for op in &ops[..3] {
        assert_eq!(m.apply(op).unwrap(), Outcome::Ok);
    }
    assert_eq!(vmlab_os::leftover_helpers(&token).len(), 3);
    assert_eq!(m.live(), ["app", "grandkid", "kid"]);
    // app exits; its children live on (reparented), and are still the machine's to kill.
    assert_eq!(m.apply(&ops[3]).unwrap(), Outcome::Ok);
    assert_eq!(vmlab_os::leftover_helpers(&token).len(), 2);
    let kid = m.observe("kid").unwrap().unwrap();
    assert!(kid.status.number("VmRSS").is_some() && kid.oom_score >= 0);
    assert!(m.observe("app").unwrap().is_none());
    drop(m);
    assert_eq!(vmlab_os::leftover_helpers(&token), Vec::<u32>::new());
    assert_eq!(host_sysctls(), before);
}

#[cfg(target_os = "linux")]
#[test]
fn the_sysctl_guard_restores_on_panic() {
    let Some(_serial) = root_or_skip("the_sysctl_guard_restores_on_panic") else {
        return;
    };
    // max_map_count is harmless to change for a moment; take the real-case lock like a machine
    // (and read the sysctls under it directly: `host_sysctls` would take it a second time).
    let _lock = vmlab_os::RealLock::acquire().unwrap();
    let host = current_sysctls().unwrap();
    let mut want = host.clone();
    want.max_map_count = host.max_map_count + 1;
    let r = std::panic::catch_unwind(|| {
        let _g = vmlab_os::SysctlGuard::set(&host, &want).unwrap();
        assert_eq!(current_sysctls().unwrap(), want);
        panic!("a failing real case");
    });
    assert!(r.is_err());
    assert_eq!(current_sysctls().unwrap(), host);
}

#[test]
fn exec_kill_and_oom_score_adj_agree() {
    let Some(_serial) = root_or_skip("exec_kill_and_oom_score_adj_agree") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a mmap x 1GiB rw private anon\n\
         a write x[0..64KiB]\n\
         a fork b\n\
         b exec\n\
         b mmap y 2MiB rw private anon\n\
         b fork c\n\
         c exit\n\
         b oom_score_adj 500\n\
         kill b\n");
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    let exec = &r.steps[4];
    assert_eq!((exec.text.as_str(), exec.kernel), ("b exec", Outcome::Ok));
    assert!(exec.kernel_committed_delta_kb.abs_diff(-1_048_576) <= r.committed_tolerance_kb);
    // The kill released b's 2 MiB on the kernel too.
    let kill = r.steps.last().unwrap();
    assert!(kill.kernel_committed_delta_kb.abs_diff(-2048) <= r.committed_tolerance_kb);
}

#[test]
fn touching_more_than_the_limit_is_refused_before_it_runs() {
    let Some(_serial) = root_or_skip("touching_more_than_the_limit_is_refused_before_it_runs")
    else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a mmap x 4GiB rw private anon noreserve\n\
         a write x[0..8MiB]\n\
         a write x[8MiB..1032MiB]\n");
    print!("{}", r.render());
    assert_eq!(r.steps.len(), 3, "the 1 GiB write did not run");
    let why = r.stopped.as_deref().unwrap_or("");
    assert!(
        why.contains("step 4") && why.contains("would touch"),
        "{why}"
    );
}

/// (c) again, with the setting the issue names: a simulator told the kernel is 5.1, whose mode 0
/// compares each request with an estimate of free memory (commit 8c7829b04c52 replaced it with
/// RAM + swap in 5.2). A request of 99.9 % of RAM after 64 MiB are touched passes on 6.18 and
/// fails on "5.1". (The fork case alone agrees under 5.1: with nothing touched, free ≈ RAM.)
#[test]
fn the_harness_fails_with_a_pre_5_2_simulator() {
    let Some(_serial) = root_or_skip("the_harness_fails_with_a_pre_5_2_simulator") else {
        return;
    };
    let s = parse(
        "machine linux ram=1GiB\n\
         spawn app\n\
         app mmap t 64MiB rw private anon\n\
         app write t\n\
         app mmap big 99.9%ram rw private anon\n",
    )
    .unwrap();
    let before = host_sysctls();
    let MachineConfig::Linux(host) = host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    let mut old = vmlab_os::check::sim_config_for(&s, &MachineConfig::Linux(host));
    let MachineConfig::Linux(c) = &mut old else {
        unreachable!("a Linux machine")
    };
    c.kernel = vmlab_core::kernel::KernelVersion::new(5, 1);
    // Other processes move Committed_AS now and then (docs/known-differences.md): a mismatch
    // of that row alone before the request is noise, and a second run does not repeat it.
    let noise_before_request = |r: &Report| {
        r.mismatches
            .iter()
            .filter(|m| m.step != 4)
            .all(|m| m.field == "Committed_AS Δ kB")
            && r.mismatches.iter().any(|m| m.step != 4)
    };
    let mut r = check_with(&s, old.clone(), &helper()).unwrap();
    after_checks(&before);
    if noise_before_request(&r) {
        println!(
            "Committed_AS differed before the request only; once more:\n{}",
            r.render()
        );
        r = check_with(&s, old, &helper()).unwrap();
        after_checks(&before);
    }
    print!("{}", r.render());
    let last = r.steps.last().unwrap();
    assert_eq!(
        (last.sim, last.kernel),
        (Outcome::Err(Errno::ENOMEM), Outcome::Ok)
    );
    assert!(r
        .mismatches
        .iter()
        .any(|m| m.step == 4 && m.field == "outcome" && m.sim == "ENOMEM" && m.kernel == "ok"));
    assert!(r
        .mismatches
        .iter()
        .any(|m| m.step == 4 && m.field == "app: Σ ac kB"));
    // Up to the request, both sides agreed, but for oom_score: before 5.9 it was
    // badness × 1000 / totalpages, from 5.9 (1000 + that) × 2/3 (fs/proc/base.c:
    // proc_oom_score), so the "5.1" simulator says 0 where 6.18 says 666.
    assert!(r.mismatches.iter().any(|m| m.step == 1
        && m.field.starts_with("app: oom_score")
        && m.sim == "0"
        && m.kernel == "666"));
    // (A Committed_AS row elsewhere is other processes' noise: this check is not rerun.)
    assert!(
        r.mismatches.iter().all(|m| m.step == 4
            || m.field.starts_with("app: oom_score")
            || m.field == "Committed_AS Δ kB"),
        "{}",
        r.render()
    );
}

/// Mapping flags and placements: populate (6 MiB faulted at mmap), locked, growsdown, at= (and
/// EEXIST on an occupied address), above= with a gap, an unaligned mprotect (EINVAL), a hole
/// punched by munmap, and the madvise advices not used elsewhere.
#[test]
fn mapping_flags_and_placements_agree() {
    let Some(_serial) = root_or_skip("mapping_flags_and_placements_agree") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a mmap p 4MiB rw private anon populate\n\
         a mmap l 1MiB rw private anon locked\n\
         a mmap g 1MiB rw private anon growsdown\n\
         a mmap r 1MiB r private anon populate\n\
         a mmap s 1MiB rw shared anon populate\n\
         a madvise p dofork\n\
         a madvise p keeponfork\n\
         a mmap at1 1MiB rw private anon at=0x200000000000\n\
         a mmap at2 1MiB rw private anon at=0x200000000000\n\
         a mmap ab 1MiB rw private anon above=at1 gap=4KiB\n\
         a munmap at1[4KiB..8KiB]\n\
         a mprotect at1[1KiB..8KiB] r\n");
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    let kernel: Vec<&str> = r.steps.iter().map(|s| s.kernel.label()).collect();
    assert_eq!(kernel[9], "EEXIST");
    assert_eq!(kernel[12], "EINVAL");
}

#[test]
fn dropping_cap_sys_admin_takes_the_admin_reserve_away_on_both_sides() {
    let Some(_serial) =
        root_or_skip("dropping_cap_sys_admin_takes_the_admin_reserve_away_on_both_sides")
    else {
        return;
    };
    // Mode 2 with ratio 100 (CommitLimit = RAM) and an admin reserve of half of RAM, each held
    // for one operation: 75% of RAM fits an admin task, not one without CAP_SYS_ADMIN. Nothing
    // is touched; each big mapping goes before the next operation, so that the helpers' own
    // small allocations never meet the smaller allowance.
    let MachineConfig::Linux(h) = host_config().expect("the host's configuration") else {
        unreachable!("a Linux machine")
    };
    let half_kb = h.ram_bytes / 1024 / 2;
    let r = run(&format!(
        "machine linux ram=24GiB overcommit=2 ratio=100 admin_reserve_kbytes={half_kb}\n\
         spawn user admin\n\
         user mmap a 75%ram rw private anon\n\
         user munmap a\n\
         user drop cap_sys_admin\n\
         user mmap b 75%ram rw private anon\n\
         user mmap c 1MiB rw private anon\n\
         user fork kid\n\
         kid mmap d 75%ram rw private anon\n"
    ));
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    let got: Vec<(String, Outcome)> = r.steps.iter().map(|s| (s.text.clone(), s.kernel)).collect();
    let want = [
        Outcome::Ok,
        Outcome::Ok,
        Outcome::Ok,
        Outcome::Ok,
        Outcome::Err(Errno::ENOMEM),
        Outcome::Ok,
        Outcome::Ok,
        Outcome::Err(Errno::ENOMEM),
    ];
    assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), want, "{got:?}");
}

/// vfork: the child shares the parent's mm (nothing is charged, its mappings are the parent's),
/// the parent waits until the child execs or exits; a vfork child can fork (the grandchild
/// copies the shared mm, charged); exec gives the child a fresh mm.
#[test]
fn vfork_and_exec_agree() {
    let Some(_serial) = root_or_skip("vfork_and_exec_agree") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a mmap x 64MiB rw private anon\n\
         a write x[0..256KiB]\n\
         a vfork b\n\
         b mmap y 2MiB rw private anon\n\
         b write x[0..8KiB]\n\
         b fork d\n\
         d write y[0..4KiB]\n\
         d exit\n\
         b exit\n\
         a mmap z 1MiB rw private anon\n\
         a vfork c\n\
         c exec\n\
         c mmap w 4MiB rw private anon\n\
         a write z\n\
         c exit\n\
         a exit\n");
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    let vfork = &r.steps[3];
    assert_eq!(
        (vfork.text.as_str(), vfork.kernel),
        ("a vfork b", Outcome::Ok)
    );
    assert!(vfork.kernel_committed_delta_kb.abs() <= r.committed_tolerance_kb as i64);
    // The child's 2 MiB mmap was charged to the shared mm.
    assert!(r.steps[4].kernel_committed_delta_kb.abs_diff(2048) <= r.committed_tolerance_kb);
}

/// A vfork child's brk moves its parent's break (one mm): the parent then shrinks the heap the
/// child grew. Before the backend shared the heap with the parent, the parent's shrink looked
/// below its start and did nothing (found by the sweep, seed 0 of its first brk/vfork run).
#[test]
fn vfork_child_brk_moves_the_parents_break() {
    let Some(_serial) = root_or_skip("vfork_child_brk_moves_the_parents_break") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a vfork b\n\
         b brk +1MiB\n\
         b exit\n\
         a brk -12KiB\n\
         a exit\n");
    print!("{}", r.render());
    // The heap VMA (1012 kB after the shrink, on both sides) is compared at every step.
    assert!(r.agrees(), "{}", r.render());
}

/// A fork of a vfork child runs on its copy of the helper's one vfork stack, so a vfork from
/// it is refused as not supported (it ran its child on the stack the parent stood on, and the
/// parent died: found by the sweep, seed 29), and everything is cleaned up.
#[test]
fn vfork_from_a_fork_of_a_vfork_child_is_refused() {
    let Some(_serial) = root_or_skip("vfork_from_a_fork_of_a_vfork_child_is_refused") else {
        return;
    };
    let before = host_sysctls();
    let s =
        parse("machine linux ram=1GiB\nspawn a\na vfork b\nb fork c\nb exit\nc vfork d\nd exit\n")
            .unwrap();
    let r = vmlab_os::check(&s, &helper()).expect("the check runs");
    let stopped = r.stopped.as_deref().unwrap_or_default();
    assert!(
        stopped.starts_with("step 5 ") && stopped.contains("or from a fork of one"),
        "{}",
        r.render()
    );
    assert!(r.left_behind.is_empty(), "{:?}", r.left_behind);
    after_checks(&before);
}

/// SysV shm: shmget charges the segment (unless SHM_NORESERVE outside mode 2), shmat maps it
/// shared, IPC_RMID destroys it once the last attachment goes; shmat of a removed key fails.
#[test]
fn sysv_shm_agrees() {
    let Some(_serial) = root_or_skip("sysv_shm_agrees") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a shmget k1 64MiB\n\
         a shmget k2 32MiB noreserve\n\
         a shmget k1 16MiB\n\
         a shmget k1 128MiB\n\
         a mmap s1 0 rw shared shm k1\n\
         a mmap s2 0 r shared shm k2\n\
         a write s1[0..1MiB]\n\
         a read s2[0..64KiB]\n\
         a fork b\n\
         b write s1[1MiB..2MiB]\n\
         a shmrm k1\n\
         a munmap s1\n\
         b exit\n\
         a shmrm k2\n\
         a shmrm k2\n\
         a mmap s3 0 rw shared shm k1\n");
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    let k: Vec<&str> = r.steps.iter().map(|s| s.kernel.label()).collect();
    assert_eq!(k[4], "EINVAL", "a bigger shmget of an existing key");
    assert_eq!(k[15], "EINVAL", "IPC_RMID twice");
    assert_eq!(k[16], "EINVAL", "shmat of a removed key");
    assert!(r.steps[1].kernel_committed_delta_kb.abs_diff(65536) <= r.committed_tolerance_kb);
    assert_eq!(leftover_segments(), Vec::<i32>::new());
}

/// tmpfs: each written page is charged, truncate and unlink give it back (unlink only once no
/// mapping holds the file); a shared tmpfs mapping's writes are charged as the file's.
#[test]
fn tmpfs_agrees() {
    let Some(_serial) = root_or_skip("tmpfs_agrees") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a tmpfs write f 16MiB\n\
         a tmpfs write f 4MiB offset=32MiB\n\
         a tmpfs truncate f 8MiB\n\
         a mmap m 8MiB rw shared tmpfs f\n\
         a write m[8KiB..1MiB]\n\
         a mmap p 4MiB rw private tmpfs g\n\
         a write p[0..64KiB]\n\
         a unlink f\n\
         a munmap m\n\
         a unlink f\n\
         a unlink g\n\
         a mmap x 64KiB rw private anon at=0x100000000000\n\
         a mmap n 64KiB rw shared tmpfs h at=0x100000000000\n\
         a unlink h\n\
         a unlink h\n\
         a exit\n");
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    assert!(r.steps[1].kernel_committed_delta_kb.abs_diff(16384) <= r.committed_tolerance_kb);
    assert!(r.steps[3].kernel_committed_delta_kb.abs_diff(-12288) <= r.committed_tolerance_kb);
    assert_eq!(r.steps[10].kernel, Outcome::Err(Errno::ENOENT));
    // A refused `mmap … tmpfs h` still created h: the program opens the file (O_CREAT) before
    // it calls mmap (found by the sweep, seed 361; fixed in the model, mapops.rs `mmap`).
    let refused: Vec<Outcome> = r.steps[13..16].iter().map(|s| s.kernel).collect();
    assert_eq!(
        refused,
        [
            Outcome::Err(Errno::EEXIST),
            Outcome::Ok,
            Outcome::Err(Errno::ENOENT)
        ]
    );
}

/// brk: the heap grows and shrinks on the raw syscall, each page charged (mm/mmap.c: brk →
/// do_brk_flags, VM_ACCOUNT); a shrink past the start leaves the break (ok, as glibc says).
#[test]
fn brk_agrees() {
    let Some(_serial) = root_or_skip("brk_agrees") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn a\n\
         a brk +8MiB\n\
         a brk +4MiB\n\
         a brk -2MiB\n\
         a fork b\n\
         b brk -16MiB\n\
         b exit\n\
         a brk -10MiB\n\
         a exit\n");
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    assert!(r.steps[1].kernel_committed_delta_kb.abs_diff(8192) <= r.committed_tolerance_kb);
    // Below the start: the break stays and glibc's brk() says ok; nothing is uncharged.
    assert_eq!(r.steps[5].kernel, Outcome::Ok);
    assert!(r.steps[5].kernel_committed_delta_kb.abs() <= r.committed_tolerance_kb as i64);
    assert!(r.steps[7].kernel_committed_delta_kb.abs_diff(-10240) <= r.committed_tolerance_kb);
}

/// The end-of-check verification can fail: a process carrying the machine's token that the
/// machine did not start (so cannot kill) is reported, and a clean machine reports nothing.
/// SIGTERM (and SIGINT, the same handler) while a machine lives: the host's sysctls are
/// written back and every helper is killed, though nothing unwinds. The test runs itself
/// again as a child (`SIGTERM_CHILD`), which starts a machine, spawns and forks helpers, writes
/// a scenario value into max_map_count as an operation does, and sends itself SIGTERM.
#[test]
fn sigterm_restores_the_sysctls_and_kills_the_helpers() {
    const TEST: &str = "sigterm_restores_the_sysctls_and_kills_the_helpers";
    if std::env::var_os("SIGTERM_CHILD").is_some() {
        let MachineConfig::Linux(host) = host_config().unwrap() else {
            unreachable!("a Linux machine")
        };
        let mut m = real_machine(&host, &current_sysctls().unwrap());
        let s = parse("machine linux ram=1GiB\nspawn a\na fork b\n").unwrap();
        for (_, op) in s.ops() {
            assert_eq!(m.apply(op).unwrap(), Outcome::Ok);
        }
        let max = current_sysctls().unwrap().max_map_count;
        std::fs::write("/proc/sys/vm/max_map_count", format!("{}\n", max + 1)).unwrap();
        println!("TOKEN {}", m.token());
        // SAFETY: kill takes plain integers; the signal is this process's own.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        std::thread::sleep(std::time::Duration::from_secs(10));
        panic!("SIGTERM did not end the process");
    }
    let Some(_serial) = root_or_skip(TEST) else {
        return;
    };
    let before = host_sysctls();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env("SIGTERM_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{stdout}");
    let token = stdout
        .lines()
        .find_map(|l| l.split_once("TOKEN ").map(|(_, t)| t.trim()))
        .unwrap_or_else(|| panic!("no token in {stdout}"))
        .to_string();
    let after = host_sysctls();
    if after.max_map_count != before.max_map_count {
        // Put the host back before failing.
        let _ = std::fs::write(
            "/proc/sys/vm/max_map_count",
            format!("{}\n", before.max_map_count),
        );
    }
    assert_eq!(after, before, "the handler restored the sysctls");
    // SIGKILL is sent before the test process dies; the helpers are gone a moment later.
    let t0 = std::time::Instant::now();
    while !vmlab_os::leftover_helpers(&token).is_empty()
        && t0.elapsed() < std::time::Duration::from_secs(5)
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(vmlab_os::leftover_helpers(&token), Vec::<u32>::new());
    // The handler leaves the machine's directory (docs/known-differences.md): remove it here.
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(&token));
    let _ = std::fs::remove_dir_all(std::path::Path::new("/dev/shm").join(&token));
}

#[test]
fn finish_reports_what_is_left_behind() {
    let Some(_serial) = root_or_skip("finish_reports_what_is_left_behind") else {
        return;
    };
    let MachineConfig::Linux(host) = host_config().unwrap() else {
        unreachable!("a Linux machine")
    };
    let opts = RealOptions {
        helper: helper(),
        sysctls: host_sysctls(),
        ram_bytes: host.ram_bytes,
        swap_bytes: host.swap_bytes,
        touch_limit_bytes: vmlab_os::DEFAULT_TOUCH_LIMIT_BYTES,
    };
    let mut m = RealMachine::start(&opts).unwrap();
    let s =
        parse("machine linux ram=1GiB\nspawn a\na shmget k 1MiB\na tmpfs write f 8KiB\n").unwrap();
    for (_, op) in s.ops() {
        assert_eq!(m.apply(op).unwrap(), Outcome::Ok);
    }
    assert_eq!(leftover_segments().len(), 1);
    assert!(m.finish().is_empty());
    assert_eq!(leftover_segments(), Vec::<i32>::new());

    let m = RealMachine::start(&opts).unwrap();
    let mut stranger = std::process::Command::new("sh")
        .args(["-c", "sleep 10", m.token()])
        .spawn()
        .unwrap();
    // Until sh has exec'd, its command line may not carry the token yet.
    let t0 = std::time::Instant::now();
    while vmlab_os::leftover_helpers(m.token()).is_empty()
        && t0.elapsed() < std::time::Duration::from_secs(2)
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let left = m.finish();
    let _ = stranger.kill();
    let _ = stranger.wait();
    assert!(
        left.len() == 1 && left[0].starts_with("helpers still alive"),
        "{left:?}"
    );
}

/// COW with several children (issue 7, case 6): a parent writes 4 MiB, forks three children,
/// each rewrites a different part; every process's Rss, Pss, Shared_Dirty and Private_Dirty per
/// VMA agree (the check compares them after every step).
#[test]
fn cow_with_several_children_agrees() {
    let Some(_serial) = root_or_skip("cow_with_several_children_agrees") else {
        return;
    };
    let r = run("machine linux ram=1GiB\n\
         spawn p\n\
         p mmap m 4MiB rw private anon\n\
         p write m\n\
         p fork c1\n\
         p fork c2\n\
         p fork c3\n\
         c1 write m[0..1MiB]\n\
         c2 write m[1MiB..3MiB]\n\
         c3 read m\n\
         p write m[3MiB..3200KiB]\n\
         c2 exit\n");
    print!("{}", r.render());
    assert!(r.agrees(), "{}", r.render());
    assert_eq!(r.steps.len(), 11);
}

/// The pte's dirty bit and the folio's (fs/proc/task_mmu.c: smaps_page_accumulate counts
/// `pte_dirty || folio_test_dirty`), reduced from the sweep's seeds 145, 203 and 270 and its
/// `write_mapped_tmpfs` shape: a shared anonymous page populated (a read fault) and then written
/// is clean for a fork child that reads it, one written by a write fault is dirty for it, and
/// one whose dirty pte was unmapped becomes dirty; write(2) to tmpfs dirties mapped pages;
/// MADV_FREE of pages a fork shares makes them clean and LazyFree for the caller only; MADV_FREE
/// of a locked mapping is EINVAL. The `expect` lines hold on the simulator configured as the
/// host, and the check compares every one of these fields with the kernel's after every step.
const DIRTY_BITS: &str = "machine linux ram=1GiB\n\
spawn app\n\
app mmap pop 8KiB rw shared anon populate\n\
app mmap wf 8KiB rw shared anon\n\
app write pop\n\
app write wf\n\
app fork c\n\
c read pop\n\
c read wf\n\
expect c.smaps.pop.Shared_Clean = 8kB\n\
expect app.smaps.pop.Shared_Dirty = 8kB\n\
expect c.smaps.wf.Shared_Dirty = 8kB\n\
app munmap pop\n\
expect c.smaps.pop.Private_Dirty = 8kB\n\
c mmap f 8KiB rw shared tmpfs t1\n\
c read f\n\
expect c.smaps.f.Private_Clean = 8kB\n\
c tmpfs write t1 4096B\n\
expect c.smaps.f.Private_Dirty = 4kB\n\
app mmap m 16KiB rw private anon populate\n\
app fork d\n\
app madvise m free\n\
expect app.smaps.m.Shared_Clean = 16kB\n\
expect app.smaps.m.LazyFree = 16kB\n\
expect d.smaps.m.Shared_Dirty = 16kB\n\
d write m[0KiB..4KiB]\n\
app write m[4KiB..8KiB]\n\
expect app.smaps.m.Private_Clean = 4kB\n\
expect app.smaps.m.Private_Dirty = 4kB\n\
expect d.smaps.m.Private_Dirty = 8kB\n\
app mmap lk 16KiB rw private anon locked\n\
app madvise lk free\n\
expect app madvise EINVAL\n\
c unlink t1\n\
d exit\n\
c exit\n\
app exit\n";

#[test]
fn dirty_bits_agree() {
    let s = parse(DIRTY_BITS).unwrap();
    let host = host_config().unwrap();
    let mut on_host = s.clone();
    on_host.machine = vmlab_os::check::sim_config_for(&s, &host);
    let mut runner = vmlab_core::sim::Runner::new(&on_host, None);
    let mut checks = 0;
    while let Some(item) = runner.next_item() {
        if let vmlab_core::sim::RunItem::Check(c) = item {
            assert!(c.passed, "line {}: `{}`: {}", c.pos.line, c.text, c.detail);
            checks += 1;
        }
    }
    assert!(runner.error().is_none(), "{:?}", runner.error());
    assert_eq!(checks, 13);
    let Some(_serial) = root_or_skip("dirty_bits_agree") else {
        return;
    };
    run_agreeing(DIRTY_BITS);
}

/// The library's L4 table (`scenarios/commit-costs.vmlab`: private, read-only, PROT_NONE and
/// noreserve anonymous memory in modes 0 and 2, private/shared/read-only files, shared
/// anonymous memory, SysV shm, tmpfs …) up to its first `hugetlb` line, which the backend does
/// not run (docs/known-differences.md, "Not run on the real kernel yet"); its machine line asks
/// for a huge-page pool, which a host check leaves alone, so it is run on `measured` as the host.
#[test]
fn commit_costs_scenario_agrees_up_to_hugetlb() {
    let Some(_serial) = root_or_skip("commit_costs_scenario_agrees_up_to_hugetlb") else {
        return;
    };
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/commit-costs.vmlab"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<&str> = Vec::new();
    for l in text.lines() {
        if l.starts_with("machine ") {
            lines.push("machine linux measured");
        } else if l.contains(" hugetlb") && !l.starts_with('#') {
            break;
        } else {
            lines.push(l);
        }
    }
    let r = run_agreeing(&(lines.join("\n") + "\n"));
    assert!(r.steps.len() > 40, "{} steps", r.steps.len());
}

/// mremap of sub-ranges, MREMAP_FIXED (at an address and above a mapping, onto another mapping)
/// and MREMAP_DONTUNMAP (private and shared anonymous), with each EINVAL and EFAULT rule of
/// mm/mremap.c; 6 MiB is touched. Fixed addresses keep the kernel's own placement out of it.
const MREMAP_FORMS: &str = "machine linux ram=1GiB\n\
spawn a\n\
a mmap m 4MiB rw private anon at=0x300000000000\n\
a write m\n\
a mremap m[1MiB..2MiB] 1MiB maymove above=m gap=1MiB as=piece\n\
a mmap t 2MiB rw private anon at=0x300001000000\n\
a write t\n\
a mremap m[0..1MiB] 2MiB maymove at=0x300001000000 as=grown\n\
a mremap m[2MiB..3MiB] 1MiB maymove dontunmap at=0x300002000000 as=copy\n\
a write m[2MiB..3MiB]\n\
a munmap m[2MiB..3MiB]\n\
a mremap m[3MiB..4MiB] 1MiB at=0x300003000000\n\
a mremap m[3MiB..4MiB] 1MiB dontunmap\n\
a mremap m[3MiB..4MiB] 2MiB maymove dontunmap\n\
a mremap m[3MiB..4MiB] 1MiB maymove at=0x300000380000\n\
a mremap m[3MiB..4MiB] 1MiB maymove at=0x300003000800\n\
a mremap m[3MiB..4MiB] 1MiB maymove below=m gap=100TiB\n\
a mremap m 8MiB maymove at=0x300002000000\n\
a mremap piece[0..2MiB] 3MiB maymove at=0x300002000000\n\
a mmap s 1MiB rw shared anon at=0x300004000000\n\
a write s\n\
a mremap s 1MiB maymove dontunmap at=0x300005000000 as=s2\n\
a mremap grown 1MiB maymove at=0x300006000000\n\
a read copy\n\
a munmap grown\n";

#[test]
fn mremap_fixed_dontunmap_and_sub_ranges_agree() {
    let Some(_serial) = root_or_skip("mremap_fixed_dontunmap_and_sub_ranges_agree") else {
        return;
    };
    let r = run_agreeing(MREMAP_FORMS);
    let kernel: Vec<&str> = r.steps.iter().map(|s| s.kernel.label()).collect();
    // (Indices from 0 = `spawn a`.) The flag and address rules (10–15) are EINVAL on the
    // kernel, the ranges past a VMA (16–17) EFAULT; the shared DONTUNMAP (20) is accepted.
    assert_eq!(
        kernel[10..22],
        [
            "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EFAULT", "EFAULT", "ok",
            "ok", "ok", "ok"
        ],
        "{kernel:?}"
    );
    // DONTUNMAP charged the whole 1 MiB again; the FIXED move onto t gave t's 2 MiB back and
    // charged the 1 MiB growth.
    let delta = |i: usize| r.steps[i].kernel_committed_delta_kb;
    assert!(
        delta(7).abs_diff(1024) <= r.committed_tolerance_kb,
        "{}",
        delta(7)
    );
    assert!(
        delta(6).abs_diff(-1024) <= r.committed_tolerance_kb,
        "{}",
        delta(6)
    );
    // The shrinking FIXED move of `grown` (2 → 1 MiB) left Committed_AS where it was (shrink_vma
    // gave 1 MiB back, vrm->delta charged it again), and unmapping the 1 MiB result gives back
    // 1 MiB only.
    assert!(
        delta(21).abs_diff(0) <= r.committed_tolerance_kb,
        "{}",
        delta(21)
    );
    assert!(
        delta(23).abs_diff(-1024) <= r.committed_tolerance_kb,
        "{}",
        delta(23)
    );
}

/// mremap moves whose address the kernel picks: a range grown with `maymove`, a DONTUNMAP
/// without MREMAP_FIXED (the old range faults afresh), and a DONTUNMAP of a locked mapping. The
/// harness compares shapes, not addresses, so only adjacency depends on the placement. About
/// 5 MiB is touched.
#[test]
fn mremap_moves_placed_by_the_kernel_agree() {
    let Some(_serial) = root_or_skip("mremap_moves_placed_by_the_kernel_agree") else {
        return;
    };
    let r = run_agreeing(
        "machine linux ram=1GiB\n\
         spawn a\n\
         a mmap m 2MiB rw private anon at=0x300000000000\n\
         a write m\n\
         a mremap m[0..1MiB] 1536KiB maymove as=grown\n\
         a mremap m[1MiB..2MiB] 1MiB maymove dontunmap as=copy\n\
         a write m[1MiB..2MiB]\n\
         a mmap l 1MiB rw private anon locked at=0x300010000000\n\
         a mremap l 1MiB maymove dontunmap as=l2\n\
         a write l\n",
    );
    assert!(
        r.steps.iter().all(|s| s.kernel == Outcome::Ok),
        "{}",
        r.render()
    );
}
