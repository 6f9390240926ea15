//! The `--json` document (schema in docs/json-schema.md). Field names are stable; new fields may
//! be added, none are renamed or removed without bumping `schema`.

use serde_json::{json, Map, Value};
use vmlab_core::scenario::Scenario;
use vmlab_core::sim::Run;

pub const SCHEMA_VERSION: u32 = 1;

pub fn document(file: &str, s: &Scenario, run: &Run) -> Value {
    let steps: Vec<Value> = run
        .steps
        .iter()
        .map(|st| {
            json!({
                "step": st.step,
                "line": st.pos.line,
                "col": st.pos.col,
                "text": st.text,
                "process": st.proc,
                "pid": st.pid,
                "op": st.op.verb(),
                "outcome": st.outcome.label(),
                "committed_as_kb": st.committed_as_kb,
                "commit_limit_kb": st.commit_limit_kb,
                "mem_free_kb": st.mem_free_kb,
                "events": st.events.iter().map(|e| json!({
                    "reason": e.reason(),
                    "pid": e.pid,
                    "text": e.sentence(),
                    "source": e.source(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let checks: Vec<Value> = run
        .checks
        .iter()
        .map(|c| json!({"line": c.pos.line, "col": c.pos.col, "text": c.text, "after_step": c.after_step, "passed": c.passed, "detail": c.detail}))
        .collect();
    let snap = run.machine.snapshot();
    let mut meminfo = Map::new();
    for (k, v) in &snap.meminfo {
        meminfo.insert(k.clone(), json!(v));
    }
    let processes: Vec<Value> = snap
        .processes
        .iter()
        .map(|p| {
            let status = |f: &str| p.status.iter().find(|(k, _)| k == f).map(|(_, v)| *v);
            json!({
                "pid": p.pid,
                "name": p.name,
                "ppid": p.ppid,
                "state": format!("{:?}", p.state).to_lowercase(),
                "VmSize": status("VmSize"),
                "VmRSS": status("VmRSS"),
                "RssAnon": status("RssAnon"),
                "RssFile": status("RssFile"),
                "RssShmem": status("RssShmem"),
                "VmSwap": status("VmSwap"),
                "VmData": status("VmData"),
                "VmStk": status("VmStk"),
                "VmPTE": status("VmPTE"),
                "Pss": p.pss_kb,
                "oom_score": p.oom_score,
                "oom_score_adj": p.oom_score_adj,
                "vmas": p.vmas.iter().map(|v| json!({
                    "start": format!("{:x}", v.start),
                    "end": format!("{:x}", v.end),
                    "perms": v.perms,
                    "flags": v.flags,
                    "name": v.name,
                    "mappings": v.labels,
                    "Rss": v.rss_kb,
                    "Pss": v.pss_kb,
                    "Shared_Clean": v.shared_clean_kb,
                    "Shared_Dirty": v.shared_dirty_kb,
                    "Private_Clean": v.private_clean_kb,
                    "Private_Dirty": v.private_dirty_kb,
                    "Anonymous": v.anonymous_kb,
                    "LazyFree": v.lazyfree_kb,
                    "Swap": v.swap_kb,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "schema": SCHEMA_VERSION,
        "vmlab": env!("CARGO_PKG_VERSION"),
        "file": file,
        "machine": {
            "os": snap.os,
            "kernel": snap.kernel,
            "ram_kb": s.machine.ram_bytes() / 1024,
            "swap_kb": s.machine.swap_bytes() / 1024,
        },
        "passed": run.all_passed(),
        "error": run.error.as_ref().map(|e| json!({"line": e.pos.line, "col": e.pos.col, "message": e.message})),
        "steps": steps,
        "expectations": checks,
        "final": {
            "overcommit_memory": snap.overcommit_memory,
            "meminfo_kb": meminfo,
            "processes": processes,
        },
    })
}
