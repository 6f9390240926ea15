//! The `--json` document (schema in docs/json-schema.md). Field names are stable; new fields may
//! be added, none are renamed or removed without bumping `schema`.
//!
//! The document is written as the run goes: the header, then each step as it happens, then the
//! expectations, the verdict and the final machine, process by process and VMA by VMA. Nothing
//! is kept that grows with the number of steps, and no `Value` holds more than one step or one
//! VMA. The output is pretty-printed like `serde_json::to_string_pretty` (two-space indent).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};
use vmlab_core::scenario::Scenario;
use vmlab_core::sim::{CheckResult, RunItem, RunSummary, Runner, StepRecord};
use vmlab_core::snapshot::{ProcessSnapshot, Snapshot, VmaSnapshot};

pub const SCHEMA_VERSION: u32 = 1;

/// Run the scenario and write its document to `w`; the summary says how it ended.
pub fn write_document<W: Write>(w: &mut W, file: &str, s: &Scenario) -> io::Result<RunSummary> {
    w.write_all(b"{\n")?;
    field(w, 1, "schema", &json!(SCHEMA_VERSION))?;
    field(w, 1, "vmlab", &json!(env!("CARGO_PKG_VERSION")))?;
    field(w, 1, "file", &json!(file))?;
    let mut runner = Runner::new(s, None);
    // The booted machine: no process yet, so this snapshot is small.
    let booted = runner.machine().snapshot();
    let machine = json!({
        "os": booted.os,
        "kernel": booted.kernel,
        "ram_kb": s.machine.ram_bytes() / 1024,
        "swap_kb": s.machine.swap_bytes() / 1024,
    });
    field(w, 1, "machine", &machine)?;

    key(w, 1, "steps")?;
    let mut first = true;
    while let Some(item) = runner.next_item() {
        if let RunItem::Step(st) = item {
            element(w, 2, &mut first, &step(&st))?;
        }
    }
    end_array(w, 1, first, ",")?;
    let summary = runner.finish();

    key(w, 1, "expectations")?;
    let mut first = true;
    for c in &summary.checks {
        element(w, 2, &mut first, &check(c))?;
    }
    end_array(w, 1, first, ",")?;
    field(w, 1, "passed", &json!(summary.all_passed()))?;
    let error = summary
        .error
        .as_ref()
        .map(|e| json!({"line": e.pos.line, "col": e.pos.col, "message": e.message}));
    field(w, 1, "error", &json!(error))?;

    key(w, 1, "final")?;
    write_final(w, 1, &summary.machine.snapshot())?;
    w.write_all(b"\n}\n")?;
    Ok(summary)
}

fn step(st: &StepRecord) -> Value {
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
}

fn check(c: &CheckResult) -> Value {
    json!({
        "line": c.pos.line,
        "col": c.pos.col,
        "text": c.text,
        "after_step": c.after_step,
        "passed": c.passed,
        "detail": c.detail,
    })
}

/// `final`: its last key, `processes`, is written one process at a time.
fn write_final<W: Write>(w: &mut W, indent: usize, snap: &Snapshot) -> io::Result<()> {
    let meminfo: Map<String, Value> = snap
        .meminfo
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    w.write_all(b"{\n")?;
    field(w, indent + 1, "meminfo_kb", &Value::Object(meminfo))?;
    field(
        w,
        indent + 1,
        "overcommit_memory",
        &json!(snap.overcommit_memory),
    )?;
    key(w, indent + 1, "processes")?;
    let mut first = true;
    for p in &snap.processes {
        start_element(w, indent + 2, &mut first)?;
        write_process(w, indent + 2, p)?;
    }
    end_array(w, indent + 1, first, "")?;
    write!(w, "\n{}}}", pad(indent))
}

/// The `/proc/PID/status` fields the document carries, by their kernel names.
const STATUS_FIELDS: [&str; 9] = [
    "VmSize", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmSwap", "VmData", "VmStk", "VmPTE",
];

/// One process; its keys in sorted order, the last of which, `vmas`, is written VMA by VMA.
fn write_process<W: Write>(w: &mut W, indent: usize, p: &ProcessSnapshot) -> io::Result<()> {
    let status: BTreeMap<&str, u64> = p.status.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut obj = Map::new();
    for f in STATUS_FIELDS {
        obj.insert(f.into(), json!(status.get(f)));
    }
    obj.insert("pid".into(), json!(p.pid));
    obj.insert("name".into(), json!(p.name));
    obj.insert("ppid".into(), json!(p.ppid));
    obj.insert(
        "state".into(),
        json!(format!("{:?}", p.state).to_lowercase()),
    );
    obj.insert("Pss".into(), json!(p.pss_kb));
    obj.insert("oom_score".into(), json!(p.oom_score));
    obj.insert("oom_score_adj".into(), json!(p.oom_score_adj));
    // Sorted explicitly, so the order does not depend on serde_json's map features.
    let mut entries: Vec<(&String, &Value)> = obj.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    w.write_all(b"{\n")?;
    for (k, v) in entries {
        field(w, indent + 1, k, v)?;
    }
    key(w, indent + 1, "vmas")?;
    let mut first = true;
    for v in &p.vmas {
        element(w, indent + 2, &mut first, &vma(v))?;
    }
    end_array(w, indent + 1, first, "")?;
    write!(w, "\n{}}}", pad(indent))
}

fn vma(v: &VmaSnapshot) -> Value {
    json!({
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
    })
}

fn pad(indent: usize) -> String {
    "  ".repeat(indent)
}

/// `v` pretty-printed for a place `indent` levels deep: its first line follows a key or the
/// indent already written, its other lines are indented. JSON strings never hold a raw
/// newline, so every newline in the pretty text is between tokens.
fn pretty(v: &Value, indent: usize) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    text.replace('\n', &format!("\n{}", pad(indent)))
}

/// `"key": ` at the start of a line.
fn key<W: Write>(w: &mut W, indent: usize, k: &str) -> io::Result<()> {
    let k = serde_json::to_string(k).unwrap_or_else(|_| "\"\"".into());
    write!(w, "{}{k}: ", pad(indent))
}

/// `"key": value,` and a newline: every key but an object's last.
fn field<W: Write>(w: &mut W, indent: usize, k: &str, v: &Value) -> io::Result<()> {
    key(w, indent, k)?;
    writeln!(w, "{},", pretty(v, indent))
}

/// Open the array on its first element, or separate the element from the previous one.
fn start_element<W: Write>(w: &mut W, indent: usize, first: &mut bool) -> io::Result<()> {
    let sep = if *first { "[\n" } else { ",\n" };
    *first = false;
    write!(w, "{sep}{}", pad(indent))
}

fn element<W: Write>(w: &mut W, indent: usize, first: &mut bool, v: &Value) -> io::Result<()> {
    start_element(w, indent, first)?;
    w.write_all(pretty(v, indent).as_bytes())
}

/// Close an array (`[]` if it stayed empty) and write what follows it (`,` or nothing).
fn end_array<W: Write>(w: &mut W, indent: usize, empty: bool, after: &str) -> io::Result<()> {
    if empty {
        write!(w, "[]{after}")?;
    } else {
        write!(w, "\n{}]{after}", pad(indent))?;
    }
    if !after.is_empty() {
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmlab_core::scenario::parse;

    const SCENARIO: &str = "\
machine linux ram=8GiB swap=1GiB kernel=6.6
spawn app
app mmap buf 64MiB rw private anon
app mmap b2 1MiB rw private anon below=buf
app write buf[0..1MiB]
app fork child
child exit
expect meminfo.Committed_AS = 65MiB
expect app mmap ok
";

    fn document(text: &str) -> (String, RunSummary) {
        let s = parse(text).expect("the test scenario parses");
        let mut out = Vec::new();
        let summary = write_document(&mut out, "t.vmlab", &s).expect("writing to a Vec");
        (String::from_utf8(out).expect("UTF-8"), summary)
    }

    #[test]
    fn the_streamed_document_is_pretty_json_with_every_key() {
        let (text, summary) = document(SCENARIO);
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        // The same bytes as serde_json's own pretty printer, once keys are sorted.
        assert_eq!(
            format!("{}\n", serde_json::to_string_pretty(&doc).unwrap()).len(),
            text.len(),
            "{text}"
        );
        assert!(summary.all_passed());
        let top: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = vec![
            "error",
            "expectations",
            "file",
            "final",
            "machine",
            "passed",
            "schema",
            "steps",
            "vmlab",
        ];
        want.sort();
        let mut top_sorted = top.clone();
        top_sorted.sort();
        assert_eq!(top_sorted, want);
        assert_eq!(doc["steps"].as_array().unwrap().len(), 6);
        assert_eq!(doc["steps"][4]["op"], "fork");
        assert_eq!(doc["expectations"].as_array().unwrap().len(), 2);
        assert_eq!(doc["passed"], true);
        let app = &doc["final"]["processes"][0];
        assert_eq!(app["name"], "app");
        assert_eq!(app["VmSize"], 65 * 1024);
        assert_eq!(app["vmas"].as_array().unwrap().len(), 1);
        assert_eq!(app["vmas"][0]["mappings"], json!(["b2", "buf"]));
        let child = &doc["final"]["processes"][1];
        assert!(child["VmRSS"].is_null());
        assert_eq!(child["vmas"], json!([]));
    }

    #[test]
    fn an_empty_run_and_an_error_are_valid_json() {
        let (text, _) = document("machine linux ram=1GiB\n");
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(doc["steps"], json!([]));
        assert_eq!(doc["expectations"], json!([]));
        assert_eq!(doc["final"]["processes"], json!([]));

        let (text, summary) =
            document("machine linux ram=1GiB\nspawn a\na vfork c\na mmap x 1MiB rw private anon\n");
        let doc: Value = serde_json::from_str(&text).expect("valid JSON");
        assert!(summary.error.is_some());
        assert_eq!(doc["error"]["line"], 4, "{text}");
        assert_eq!(doc["passed"], false);
    }
}
