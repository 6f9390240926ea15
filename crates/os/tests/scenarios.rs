//! The library's real-runnable scenarios (`# real: yes` in their header, docs/scenario-language.md)
//! on this host's kernel: each must ask for nothing the host cannot be (`marker::real_runnable`),
//! its `expect` lines must hold on the simulator configured as the host (so what it teaches holds
//! on any machine, not only on its reference one), and the check must find no difference.

mod common;

use std::path::PathBuf;
use vmlab_core::scenario::parse;
use vmlab_core::sim::{RunItem, Runner};
use vmlab_os::check::sim_config_for;
use vmlab_os::marker::{is_marked, real_runnable};

fn library() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "vmlab"))
        .map(|p| {
            let t = std::fs::read_to_string(&p).unwrap();
            (p, t)
        })
        .collect();
    out.sort();
    out
}

fn marked() -> Vec<(PathBuf, String)> {
    library()
        .into_iter()
        .filter(|(_, t)| is_marked(t))
        .collect()
}

/// Without root too: every marked scenario parses and asks only for what a host can be.
#[test]
fn marked_scenarios_ask_for_nothing_a_host_cannot_be() {
    let m = marked();
    assert!(m.len() >= 4, "only {} marked scenarios", m.len());
    for (path, text) in &m {
        let s = parse(text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let errs = real_runnable(text, &s);
        assert!(errs.is_empty(), "{}: {errs:?}", path.display());
    }
}

/// Without root too: the teaching claims (`expect` lines) hold on the simulator configured as
/// this host, so they are claims about any machine, not only the reference one.
#[test]
fn marked_scenarios_expectations_hold_on_this_hosts_configuration() {
    let host = vmlab_os::host::host_config().unwrap();
    let mut failed = Vec::new();
    for (path, text) in marked() {
        let s = parse(&text).unwrap();
        let mut on_host = s.clone();
        on_host.machine = sim_config_for(&s, &host);
        let mut runner = Runner::new(&on_host, None);
        while let Some(item) = runner.next_item() {
            if let RunItem::Check(c) = item {
                if !c.passed {
                    failed.push(format!(
                        "{}:{}: `{}`: {}",
                        path.display(),
                        c.pos.line,
                        c.text,
                        c.detail
                    ));
                }
            }
        }
        if let Some(e) = runner.error() {
            failed.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn marked_scenarios_agree_with_the_kernel() {
    let Some(_serial) = common::root_or_skip("marked_scenarios_agree_with_the_kernel") else {
        return;
    };
    let mut failed = Vec::new();
    for (path, text) in marked() {
        let r = common::run_scenario(&parse(&text).unwrap());
        println!("{}\n{}", path.display(), r.render());
        if !r.agrees() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "disagree: {failed:?}");
}
