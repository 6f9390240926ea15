//! The `--json` document (schema in docs/json-schema.md). Field names are stable; new fields may
//! be added, none are renamed or removed without bumping `schema`.
//!
//! The document is written as the run goes (the run on a thread of its own, see
//! `pipeline`): the header, then each step as it happens, then the
//! expectations, the verdict and the final machine, process by process and VMA by VMA. Nothing
//! is kept that grows with the number of steps, and nothing is serialized at once that is
//! larger than one step or one VMA. The output is pretty-printed like `serde_json::to_string_pretty` (two-space indent).
//! Top-level keys come in the order they are known (docs/json-schema.md); every other object
//! has its keys in sorted order.

use crate::pipeline::run_steps;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{self, Write};
use vmlab_core::machine::Machine;
use vmlab_core::scenario::Scenario;
use vmlab_core::sim::{CheckResult, RunSummary, Runner, StepRecord};
use vmlab_core::snapshot::{OsProcessSnapshot, OsSnapshot, ProcessSnapshot, VmaSnapshot};

pub const SCHEMA_VERSION: u32 = 1;

/// Run the scenario and write its document to `w`; the summary says how it ended.
pub fn write_document<W: Write>(w: &mut W, file: &str, s: &Scenario) -> io::Result<RunSummary> {
    w.write_all(b"{\n")?;
    field(w, 1, "schema", &json!(SCHEMA_VERSION))?;
    field(w, 1, "vmlab", &json!(env!("CARGO_PKG_VERSION")))?;
    field(w, 1, "file", &json!(file))?;
    // The booted machine: no process yet, so this snapshot is small.
    let booted = Runner::new(s, None).machine().snapshot();
    let machine = match &booted.os {
        OsSnapshot::Linux(linux) => json!({
            "os": booted.os_kind().name(),
            "kernel": linux.kernel,
            "ram_kb": s.machine.ram_bytes() / 1024,
            "swap_kb": s.machine.swap_bytes() / 1024,
        }),
        // A Windows machine describes itself with its own keys: RAM and the page file at boot.
        OsSnapshot::Windows(_) => json!({
            "os": booted.os_kind().name(),
            "ram_kb": s.machine.ram_bytes() / 1024,
            "pagefile_kb": s.machine.swap_bytes() / 1024,
        }),
    };
    field(w, 1, "machine", &machine)?;

    key(w, 1, "steps")?;
    let mut first = true;
    let summary = run_steps(s, |st| element(w, 2, &mut first, &step(&st)))?;
    end_array(w, 1, first, ",")?;

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
    write_final(w, 1, &summary.machine)?;
    w.write_all(b"\n}\n")?;
    Ok(summary)
}

// The document's objects as borrowed structs: serialized straight to text, with no `Value` map
// built per object. Fields are declared in sorted (byte) order, the order the document's
// keys have always had (a `serde_json::Value` map sorts them); a test checks it.

#[derive(Serialize)]
struct StepJson<'a> {
    col: u32,
    commit_limit_kb: u64,
    committed_as_kb: u64,
    events: Vec<EventJson<'a>>,
    line: u32,
    mem_free_kb: u64,
    op: &'static str,
    outcome: &'static str,
    pid: Option<u32>,
    process: Option<&'a str>,
    step: u32,
    text: &'a str,
}

#[derive(Serialize)]
struct EventJson<'a> {
    pid: Option<u32>,
    reason: &'static str,
    source: &'static str,
    /// Written straight from the event's `Display`, escaped as it goes: no `String` per event.
    #[serde(serialize_with = "display")]
    text: vmlab_core::event::Sentence<'a>,
}

fn display<S: serde::Serializer>(v: &impl std::fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn step(st: &StepRecord) -> StepJson<'_> {
    StepJson {
        col: st.pos.col,
        commit_limit_kb: st.commit_limit_kb,
        committed_as_kb: st.committed_as_kb,
        events: st
            .events
            .iter()
            .map(|e| EventJson {
                pid: e.pid,
                reason: e.reason(),
                source: e.source(),
                text: e.text(),
            })
            .collect(),
        line: st.pos.line,
        mem_free_kb: st.mem_free_kb,
        op: st.op.verb(),
        outcome: st.outcome.label(),
        pid: st.pid,
        process: st.proc.as_deref(),
        step: st.step,
        text: &st.text,
    }
}

#[derive(Serialize)]
struct CheckJson<'a> {
    after_step: u32,
    col: u32,
    detail: &'a str,
    line: u32,
    passed: bool,
    text: &'a str,
}

fn check(c: &CheckResult) -> CheckJson<'_> {
    CheckJson {
        after_step: c.after_step,
        col: c.pos.col,
        detail: &c.detail,
        line: c.pos.line,
        passed: c.passed,
        text: &c.text,
    }
}

/// `final`: its last key, `processes`, is written one process at a time, and each process's
/// VMAs one at a time, so a machine of 100,000 VMAs is never held as snapshots all at once.
fn write_final<W: Write>(w: &mut W, indent: usize, machine: &Machine) -> io::Result<()> {
    let snap = machine.snapshot_without_vmas();
    let linux = match &snap.os {
        OsSnapshot::Linux(linux) => linux,
        OsSnapshot::Windows(win) => {
            // A Windows machine's final state: PERFORMANCE_INFORMATION's numbers and the
            // processes with their counters and allocations, as the core's snapshot has them.
            w.write_all(b"{\n")?;
            field(w, indent + 1, "system", &json!(win))?;
            key(w, indent + 1, "processes")?;
            write_pretty(w, &json!(snap.processes), indent + 1)?;
            return write!(w, "\n{}}}", pad(indent));
        }
    };
    let meminfo: BTreeMap<&str, u64> = linux
        .meminfo
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    w.write_all(b"{\n")?;
    field(w, indent + 1, "meminfo_kb", &meminfo)?;
    field(w, indent + 1, "overcommit_memory", &linux.overcommit_memory)?;
    key(w, indent + 1, "processes")?;
    let mut first = true;
    for p in &snap.processes {
        start_element(w, indent + 2, &mut first)?;
        write_process(w, indent + 2, p, machine.vma_snapshots(p.pid))?;
    }
    end_array(w, indent + 1, first, "")?;
    write!(w, "\n{}}}", pad(indent))
}

/// A process without its VMAs.
#[derive(Serialize)]
struct ProcessJson<'a> {
    #[serde(rename = "Pss")]
    pss: u64,
    #[serde(rename = "RssAnon")]
    rss_anon: Option<u64>,
    #[serde(rename = "RssFile")]
    rss_file: Option<u64>,
    #[serde(rename = "RssShmem")]
    rss_shmem: Option<u64>,
    #[serde(rename = "VmData")]
    vm_data: Option<u64>,
    #[serde(rename = "VmPTE")]
    vm_pte: Option<u64>,
    #[serde(rename = "VmRSS")]
    vm_rss: Option<u64>,
    #[serde(rename = "VmSize")]
    vm_size: Option<u64>,
    #[serde(rename = "VmStk")]
    vm_stk: Option<u64>,
    #[serde(rename = "VmSwap")]
    vm_swap: Option<u64>,
    name: &'a str,
    oom_score: i64,
    oom_score_adj: i32,
    pid: u32,
    ppid: Option<u32>,
    state: String,
}

/// One process; its keys in sorted order, the last of which, `vmas`, is written VMA by VMA.
fn write_process<W: Write>(
    w: &mut W,
    indent: usize,
    p: &ProcessSnapshot,
    vmas: impl Iterator<Item = VmaSnapshot>,
) -> io::Result<()> {
    let OsProcessSnapshot::Linux(lp) = &p.os else {
        unreachable!("write_final writes a Windows machine's processes itself")
    };
    let status: BTreeMap<&str, u64> = lp.status.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let f = |name: &str| status.get(name).copied();
    let head = ProcessJson {
        pss: lp.pss_kb,
        rss_anon: f("RssAnon"),
        rss_file: f("RssFile"),
        rss_shmem: f("RssShmem"),
        vm_data: f("VmData"),
        vm_pte: f("VmPTE"),
        vm_rss: f("VmRSS"),
        vm_size: f("VmSize"),
        vm_stk: f("VmStk"),
        vm_swap: f("VmSwap"),
        name: &p.name,
        oom_score: lp.oom_score,
        oom_score_adj: lp.oom_score_adj,
        pid: p.pid,
        ppid: p.ppid,
        state: format!("{:?}", p.state).to_lowercase(),
    };
    // The head object without its closing brace, then `vmas` as its last key.
    let head = pretty(&head, indent);
    let open = head.strip_suffix('}').map_or(head.as_str(), str::trim_end);
    writeln!(w, "{open},")?;
    key(w, indent + 1, "vmas")?;
    let mut first = true;
    for v in vmas {
        element(w, indent + 2, &mut first, &vma(&v))?;
    }
    end_array(w, indent + 1, first, "")?;
    write!(w, "\n{}}}", pad(indent))
}

#[derive(Serialize)]
struct VmaJson<'a> {
    #[serde(rename = "Anonymous")]
    anonymous: u64,
    #[serde(rename = "LazyFree")]
    lazy_free: u64,
    #[serde(rename = "Private_Clean")]
    private_clean: u64,
    #[serde(rename = "Private_Dirty")]
    private_dirty: u64,
    #[serde(rename = "Pss")]
    pss: u64,
    #[serde(rename = "Rss")]
    rss: u64,
    #[serde(rename = "Shared_Clean")]
    shared_clean: u64,
    #[serde(rename = "Shared_Dirty")]
    shared_dirty: u64,
    #[serde(rename = "Swap")]
    swap: u64,
    end: String,
    flags: &'a str,
    mappings: &'a [String],
    name: &'a str,
    perms: &'a str,
    start: String,
}

fn vma(v: &VmaSnapshot) -> VmaJson<'_> {
    VmaJson {
        anonymous: v.anonymous_kb,
        lazy_free: v.lazyfree_kb,
        private_clean: v.private_clean_kb,
        private_dirty: v.private_dirty_kb,
        pss: v.pss_kb,
        rss: v.rss_kb,
        shared_clean: v.shared_clean_kb,
        shared_dirty: v.shared_dirty_kb,
        swap: v.swap_kb,
        end: format!("{:x}", v.end),
        flags: &v.flags,
        mappings: &v.labels,
        name: &v.name,
        perms: &v.perms,
        start: format!("{:x}", v.start),
    }
}

/// Two spaces per level. Borrowed from a fixed string for the depths the document has.
fn pad(indent: usize) -> std::borrow::Cow<'static, str> {
    const SPACES: &str = "                                ";
    match SPACES.get(..2 * indent) {
        Some(s) => s.into(),
        None => "  ".repeat(indent).into(),
    }
}

/// `v` pretty-printed for a place `indent` levels deep: its first line follows a key or the
/// indent already written, its other lines are indented. JSON strings never hold a raw
/// newline, so every newline in the pretty text is between tokens.
fn pretty(v: &impl Serialize, indent: usize) -> String {
    let mut out = Vec::new();
    write_pretty(&mut out, v, indent).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// [`pretty`] straight into `w`, without an intermediate string.
fn write_pretty<W: Write>(w: &mut W, v: &impl Serialize, indent: usize) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, Pretty::at(indent));
    v.serialize(&mut ser).map_err(io::Error::from)
}

/// `serde_json::ser::PrettyFormatter` (two-space indent, the same bytes) starting `level`
/// levels deep, so a value can be written in place inside the streamed document.
struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    fn at(level: usize) -> Pretty {
        Pretty {
            level,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        w.write_all(pad(self.level).as_bytes())
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            w.write_all(pad(self.level).as_bytes())?;
        }
        w.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `"key": ` at the start of a line.
fn key<W: Write>(w: &mut W, indent: usize, k: &str) -> io::Result<()> {
    let k = serde_json::to_string(k).unwrap_or_else(|_| "\"\"".into());
    write!(w, "{}{k}: ", pad(indent))
}

/// `"key": value,` and a newline: every key but an object's last.
fn field<W: Write>(w: &mut W, indent: usize, k: &str, v: &impl Serialize) -> io::Result<()> {
    key(w, indent, k)?;
    write_pretty(w, v, indent)?;
    w.write_all(b",\n")
}

/// Open the array on its first element, or separate the element from the previous one.
fn start_element<W: Write>(w: &mut W, indent: usize, first: &mut bool) -> io::Result<()> {
    let sep = if *first { "[\n" } else { ",\n" };
    *first = false;
    write!(w, "{sep}{}", pad(indent))
}

fn element<W: Write>(
    w: &mut W,
    indent: usize,
    first: &mut bool,
    v: &impl Serialize,
) -> io::Result<()> {
    start_element(w, indent, first)?;
    write_pretty(w, v, indent)
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
    use serde_json::Value;
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
        // Every top-level value is exactly serde_json's own pretty print of it, keys sorted:
        // the same bytes the document had when it was one `Value`.
        for (k, v) in doc.as_object().expect("an object") {
            let want = format!("\n  \"{k}\": {}", pretty(v, 1));
            assert!(text.contains(&want), "no {want} in\n{text}");
        }
        assert!(text.starts_with("{\n  \"schema\": 1,\n") && text.ends_with("\n}\n"));
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
