//! Real cases: the seed "Can it fork?" run on this host's kernel and on the simulator, compared
//! step by step. They need root (they skip, saying why, without it) and serialize on the backend's
//! lock. Nothing is touched, so they use almost no memory however large the mappings are.

use vmlab_core::config::MachineConfig;
use vmlab_core::op::{Errno, Outcome};
use vmlab_core::scenario::parse;
use vmlab_os::host::host_config;
use vmlab_os::{check, check_with, current_sysctls, HelperCommand, Report};

fn helper() -> HelperCommand {
    HelperCommand {
        program: env!("CARGO_BIN_EXE_vmlab-os-helper").into(),
        args: Vec::new(),
    }
}

fn root_or_skip(test: &str) -> bool {
    if vmlab_os::is_root() {
        return true;
    }
    println!("SKIPPED {test}: real cases need root (sysctls, /proc of helpers, pidfd_getfd)");
    false
}

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

fn run(text: &str) -> Report {
    let s = parse(text).expect("the case parses");
    let before = current_sysctls().unwrap();
    let r = check(&s, &helper()).expect("the check runs");
    after_checks(&before);
    r
}

/// (d): the sysctls are the host's again and no helper of this process is alive.
fn after_checks(before: &vmlab_os::ScenarioSysctls) {
    assert_eq!(&current_sysctls().unwrap(), before, "sysctls restored");
    let me = format!("vmlab-os-{}-", std::process::id());
    let left: Vec<u32> = leftovers(&me);
    assert!(left.is_empty(), "helpers still alive: {left:?}");
}

fn leftovers(prefix: &str) -> Vec<u32> {
    // Every token this test process could have used.
    (0..64)
        .flat_map(|n| vmlab_os::leftover_helpers(&format!("{prefix}{n}")))
        .collect()
}

fn outcomes(r: &Report) -> Vec<(String, Outcome, Outcome)> {
    r.steps
        .iter()
        .map(|s| (s.text.clone(), s.sim, s.kernel))
        .collect()
}

#[test]
fn merged_mappings_cannot_fork_on_either_side() {
    if !root_or_skip("merged_mappings_cannot_fork_on_either_side") {
        return;
    }
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
    if !root_or_skip("scattered_or_noreserve_mappings_fork") {
        return;
    }
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
    if !root_or_skip("the_harness_fails_when_the_simulator_is_wrong") {
        return;
    }
    let s = parse(&fork_case("", "")).unwrap();
    let before = current_sysctls().unwrap();
    let MachineConfig::Linux(host) = host_config().unwrap();
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
