//! End-to-end tests of the `vmlab` binary: exit codes, the trace, the kernel-formatted views,
//! `explain`, the `--json` document, usage errors and help, standard input, a closed stdout
//! pipe and a failing stdout, the diagnostics cap, and the streamed output against the core's.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const VMLAB: &str = env!("CARGO_BIN_EXE_vmlab");

/// The scenario library at the top of the workspace.
fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

/// Write a fixture scenario into this test binary's scratch directory.
fn fixture(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vmlab-cli-tests");
    std::fs::create_dir_all(&dir).expect("create the fixture directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a fixture");
    path
}

fn vmlab(args: &[&str]) -> Output {
    Command::new(VMLAB)
        .args(args)
        .output()
        .expect("run the vmlab binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

fn code(o: &Output) -> i32 {
    o.status
        .code()
        .expect("vmlab exits with a code, not a signal")
}

const PASSING: &str = "\
# A fork after a merge, small enough to read.
machine linux ram=24GiB swap=0 overcommit=0 kernel=6.6
spawn app
app mmap a 15GiB rw private anon
app mmap b 15GiB rw private anon below=a
app fork child
expect app fork ENOMEM
app write a[0..64MiB]
expect app.VmRSS = 64MiB
";

#[test]
fn run_fork_after_merge_prints_enomem_with_its_explanation() {
    let path = scenario("fork-after-merge.vmlab");
    let o = vmlab(&["run", path.to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "stdout:\n{out}\nstderr:\n{}", stderr(&o));
    let fork_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" fork ") && l.contains("ENOMEM"))
        .collect();
    assert!(!fork_lines.is_empty(), "no fork ENOMEM line in:\n{out}");
    assert!(
        fork_lines
            .iter()
            .any(|l| l.contains("larger than RAM+swap") && l.contains("mm/util.c")),
        "the ENOMEM is not explained:\n{}",
        fork_lines.join("\n")
    );
    assert!(
        fork_lines
            .iter()
            .any(|l| l.contains("kernel/fork.c: dup_mmap")),
        "the fork's per-VMA check is not named:\n{}",
        fork_lines.join("\n")
    );
    assert!(out.contains("PASS "), "{out}");
    assert!(!out.contains("FAIL "), "{out}");
}

#[test]
fn run_header_and_lines_are_fixed_width() {
    let path = fixture("passing.vmlab", PASSING);
    let o = vmlab(&["run", path.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let header = out.lines().next().expect("a header line");
    assert!(header.starts_with("STEP   PID PROCESS"), "{header}");
    let explanation_col = header.find("EXPLANATION").expect("an EXPLANATION column");
    for line in out.lines().skip(1).take_while(|l| !l.is_empty()) {
        assert!(
            line.chars().count() > explanation_col,
            "a short trace line: {line}"
        );
    }
    assert!(stderr(&o).contains("0 failed"), "{}", stderr(&o));
}

#[test]
fn a_failing_expect_exits_1_and_names_its_position() {
    let text = PASSING.replace("expect app.VmRSS = 64MiB", "expect app.VmRSS = 32MiB");
    let path = fixture("failing.vmlab", &text);
    let file = path.to_str().unwrap();
    let o = vmlab(&["run", file]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("FAIL {file}:9:1:")),
        "no `FAIL {file}:9:1:` in:\n{out}"
    );
    assert!(out.contains(&format!("PASS {file}:7:1:")), "{out}");
    assert!(stderr(&o).contains("1 failed"), "{}", stderr(&o));
}

#[test]
fn an_invalid_scenario_exits_2_with_file_line_col() {
    let path = fixture(
        "invalid.vmlab",
        "machine linux ram=24GiB\nspawn app\napp mmap a 15Gb rw private anon\n",
    );
    let file = path.to_str().unwrap();
    for args in [
        vec!["run", file],
        vec!["run", file, "--json"],
        vec!["show", file, "--at", "1", "meminfo"],
        vec!["explain", file, "--at", "1"],
    ] {
        let o = vmlab(&args);
        assert_eq!(code(&o), 2, "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{file}:3:12: error: ")),
            "{args:?}: no `{file}:3:12: error:` in:\n{err}"
        );
    }
}

#[test]
fn show_meminfo_has_the_kernel_format() {
    let path = scenario("fork-after-merge.vmlab");
    let o = vmlab(&["show", path.to_str().unwrap(), "--at", "3", "meminfo"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let first = out.lines().next().expect("a first line");
    // fs/proc/meminfo.c: seq_printf("%s%8lu kB\n") with the name padded to 16 columns.
    assert_eq!(first, format!("{:<16}{:>8} kB", "MemTotal:", 24_684_092));
    assert_eq!(first, "MemTotal:       24684092 kB");
    assert!(
        out.lines()
            .any(|l| l == format!("{:<16}{:>8} kB", "Committed_AS:", 14_810_448)),
        "Committed_AS after step 3 is 14810448 kB:\n{out}"
    );
    for line in out.lines() {
        let (name, rest) = line.split_at(line.find(':').expect("`Name:` on every line") + 1);
        assert!(line.len() >= 16 + 8, "short line `{line}`");
        assert!(
            name.len() <= 16 && line[name.len()..16].chars().all(|c| c == ' '),
            "name not padded to 16 columns: `{line}`"
        );
        let number = rest.trim().trim_end_matches(" kB");
        assert!(
            number.chars().all(|c| c.is_ascii_digit()),
            "not a number in `{line}`"
        );
        if line.ends_with(" kB") {
            assert!(
                line.len() >= 16 + 8 + 3,
                "number narrower than 8 columns: `{line}`"
            );
        }
    }
}

#[test]
fn show_dmesg_prints_the_oom_report() {
    let path = scenario("oom-highest-badness.vmlab");
    let file = path.to_str().unwrap();
    let before = vmlab(&["show", file, "--at", "5", "dmesg"]);
    assert_eq!(code(&before), 0, "{}", stderr(&before));
    assert_eq!(stdout(&before), "", "nothing logged before the OOM");
    let o = vmlab(&["show", file, "--at", "6", "dmesg"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("big invoked oom-killer: gfp_mask="),
        "{out}"
    );
    assert_eq!(lines[1], "Tasks state (memory values in pages):");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Out of memory: Killed process 1001 (big) total-vm:921600kB")),
        "{out}"
    );
    let bad = vmlab(&["show", file, "--at", "6", "dmesg", "big"]);
    assert_eq!(code(&bad), 2, "dmesg takes no process");
}

/// `show top`: the live processes, the largest resident set first, with the status sizes,
/// %MEM, oom_score, oom_score_adj and cgroup the other views give.
#[test]
fn show_top_lists_processes_by_resident_set() {
    let path = scenario("kube-node-pressure.vmlab");
    let file = path.to_str().unwrap();
    let o = vmlab(&["show", file, "--at", "26", "top"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    // pg (900 MiB resident) before app (600 MiB); job was killed at step 25.
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(&rows[0][..4], ["1000", "pg", "921600", "921600"], "{out}");
    assert_eq!(&rows[1][..4], ["1001", "app", "921600", "614400"], "{out}");
    // %MEM = 921600 / 1572864 kB = 58.5 %; the adj and cgroup as the kubelet set them.
    assert_eq!(rows[0][6], "58.5");
    assert_eq!(rows[0][8], "-997");
    assert_eq!(rows[1][9], "/kubepods/burstable/podapi/app");
    // The score is /proc/PID/oom_score's.
    let score = vmlab(&["show", file, "--at", "26", "oom_score", "app"]);
    assert_eq!(stdout(&score).trim(), rows[1][7]);
    let bad = vmlab(&["show", file, "--at", "26", "top", "pg"]);
    assert_eq!(code(&bad), 2, "top takes no process");
}

#[test]
fn show_process_views_work() {
    let path = scenario("cow-pss.vmlab");
    let file = path.to_str().unwrap();
    // After step 5 (`child write buf[0..16MiB]`), the numbers of model-spec L5.4.
    let maps = vmlab(&["show", file, "--at", "5", "maps", "child"]);
    assert_eq!(code(&maps), 0, "{}", stderr(&maps));
    let maps = stdout(&maps);
    assert_eq!(maps.lines().count(), 1, "{maps}");
    assert!(maps.contains(" rw-p 00000000 00:00 0"), "{maps}");

    let smaps = vmlab(&["show", file, "--at", "5", "smaps", "child"]);
    assert_eq!(code(&smaps), 0, "{}", stderr(&smaps));
    let smaps = stdout(&smaps);
    for want in [
        "Rss:               65536 kB",
        "Pss:               40960 kB",
        "Shared_Dirty:      49152 kB",
        "Private_Dirty:     16384 kB",
    ] {
        assert!(smaps.lines().any(|l| l == want), "no `{want}` in:\n{smaps}");
    }
    assert!(
        smaps
            .lines()
            .any(|l| l.starts_with("VmFlags: ") && l.contains(" ac")),
        "{smaps}"
    );

    let status = vmlab(&["show", file, "--at", "5", "status", "child"]);
    assert_eq!(code(&status), 0, "{}", stderr(&status));
    let status = stdout(&status);
    assert!(status.lines().any(|l| l == "Name:\tchild"), "{status}");
    assert!(
        status.lines().any(|l| l == "VmRSS:\t   65536 kB"),
        "{status}"
    );

    let score = vmlab(&["show", file, "--at", "5", "oom_score", "child"]);
    assert_eq!(code(&score), 0, "{}", stderr(&score));
    let score = stdout(&score);
    let n: i64 = score.trim().parse().expect("oom_score is a number");
    assert!((666..=2000).contains(&n), "{n}");

    let unknown = vmlab(&["show", file, "--at", "5", "status", "nobody"]);
    assert_eq!(code(&unknown), 2);
}

#[test]
fn explain_names_the_rule_numbers_and_source() {
    let path = scenario("fork-after-merge.vmlab");
    let o = vmlab(&["explain", path.to_str().unwrap(), "--at", "8"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("step 8 ("), "{out}");
    assert!(out.contains("outcome: ENOMEM"), "{out}");
    assert!(out.contains("[commit.guess.exceeds_total]"), "{out}");
    assert!(
        out.contains("rule/source: mm/util.c: __vm_enough_memory"),
        "{out}"
    );
    assert!(out.contains("kernel/fork.c: dup_mmap"), "{out}");
    assert!(out.contains("29620896 kB"), "{out}");

    let booted = vmlab(&["explain", path.to_str().unwrap(), "--at", "0"]);
    assert_eq!(code(&booted), 0);
    assert!(stdout(&booted).starts_with("step 0: the machine as booted"));

    let past = vmlab(&["explain", path.to_str().unwrap(), "--at", "99"]);
    assert_eq!(code(&past), 2);
    assert!(stderr(&past).contains("past the end"), "{}", stderr(&past));
}

#[test]
fn json_has_the_documented_keys() {
    let path = scenario("fork-after-merge.vmlab");
    let file = path.to_str().unwrap();
    let o = vmlab(&["run", file, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    let top: Vec<&str> = doc
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "schema",
        "vmlab",
        "file",
        "machine",
        "passed",
        "error",
        "steps",
        "expectations",
        "final",
    ] {
        assert!(top.contains(&key), "no `{key}` in {top:?}");
    }
    // The documented top-level order (docs/json-schema.md), which lets the document stream.
    let text = stdout(&o);
    let at: Vec<usize> = [
        "schema",
        "vmlab",
        "file",
        "machine",
        "steps",
        "expectations",
        "passed",
        "error",
        "final",
    ]
    .iter()
    .map(|k| {
        text.find(&format!("\n  \"{k}\": "))
            .unwrap_or_else(|| panic!("no top-level `{k}`"))
    })
    .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["file"], file);
    assert_eq!(doc["passed"], true);
    assert!(doc["error"].is_null());
    assert_eq!(doc["machine"]["os"], "linux");
    assert_eq!(doc["machine"]["ram_kb"], 24_684_092);

    let steps = doc["steps"].as_array().expect("steps is an array");
    let fork = &steps[7];
    assert_eq!(fork["step"], 8);
    assert_eq!(fork["op"], "fork");
    assert_eq!(fork["outcome"], "ENOMEM");
    assert_eq!(fork["committed_as_kb"], 29_620_896);
    let reasons: Vec<&str> = fork["events"]
        .as_array()
        .expect("events is an array")
        .iter()
        .map(|e| e["reason"].as_str().expect("a reason string"))
        .collect();
    assert!(
        reasons.contains(&"commit.guess.exceeds_total"),
        "{reasons:?}"
    );

    let checks = doc["expectations"].as_array().expect("an array");
    assert!(checks.iter().all(|c| c["passed"] == true));
    assert!(checks[0]["line"].is_u64() && checks[0]["after_step"].is_u64());

    let fin = &doc["final"];
    assert_eq!(fin["overcommit_memory"], 0);
    assert_eq!(fin["meminfo_kb"]["Committed_AS"], 29_620_896);
    assert_eq!(fin["meminfo_kb"]["CommitLimit"], 12_342_044);
    let procs = fin["processes"].as_array().expect("an array");
    let dockerd = procs
        .iter()
        .find(|p| p["name"] == "dockerd")
        .expect("dockerd in final.processes");
    assert_eq!(dockerd["state"], "running");
    assert_eq!(dockerd["VmSize"], 29_620_896);
    assert_eq!(dockerd["VmRSS"], 0);
    let vmas = dockerd["vmas"].as_array().expect("an array");
    assert_eq!(vmas.len(), 1);
    assert_eq!(vmas[0]["perms"], "rw-p");
    assert!(vmas[0]["flags"].as_str().unwrap().contains("ac"));
}

#[test]
fn json_of_a_failing_scenario_exits_1() {
    let text = PASSING.replace("= 64MiB", "= 1MiB");
    let path = fixture("failing-json.vmlab", &text);
    let o = vmlab(&["run", path.to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 1);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(doc["passed"], false);
    let failed: Vec<_> = doc["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["line"], 9);
}

#[test]
fn usage_errors_exit_2() {
    let file = fixture("usage.vmlab", PASSING);
    let file = file.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["frobnicate", file],
        vec!["run"],
        vec!["run", file, "extra"],
        vec!["run", file, "--bogus"],
        vec!["show", file, "meminfo"],
        vec!["show", file, "--at", "x", "meminfo"],
        vec!["show", file, "--at", "1"],
        vec!["show", file, "--at", "1", "maps"],
        vec!["show", file, "--at", "1", "meminfo", "app"],
        vec!["show", file, "--at", "1", "pagemap", "app"],
        vec!["show", file, "--at", "99", "meminfo"],
        vec!["explain", file],
        vec!["run", "/nonexistent/vmlab/scenario.vmlab"],
    ];
    for args in cases {
        let o = vmlab(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?} printed on stdout");
        // clap's usage errors start `error: `; the ones found later (a missing file, a step
        // past the end) start `vmlab: `.
        let err = stderr(&o);
        if args.is_empty() {
            // No command at all: the help, on stderr.
            assert!(err.contains("Usage: vmlab <COMMAND>"), "{err}");
            continue;
        }
        assert!(
            err.starts_with("vmlab: ") || err.starts_with("error: "),
            "{args:?}: {err}"
        );
        if err.starts_with("error: ") {
            assert!(err.contains("try '--help'"), "{args:?}: {err}");
        }
    }
    let o = vmlab(&[]);
    assert!(stderr(&o).contains("Usage: vmlab"), "{}", stderr(&o));
}

#[test]
fn a_closed_stdout_pipe_is_not_an_error() {
    // Enough output to fill a pipe buffer many times over.
    let mut text = String::from("machine linux ram=64GiB\nspawn app\n");
    for i in 0..3000 {
        text.push_str(&format!("app mmap m{i} 1MiB rw private anon\n"));
    }
    text.push_str("expect app.vmas = 1\n");
    let path = fixture("long.vmlab", &text);
    for args in [
        vec!["run", path.to_str().unwrap()],
        vec!["run", path.to_str().unwrap(), "--json"],
    ] {
        let mut child = Command::new(VMLAB)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vmlab");
        // Read a little, then close our end, as `vmlab run x | head -1` would.
        let mut out = child.stdout.take().expect("a stdout pipe");
        let mut first = [0u8; 64];
        out.read_exact(&mut first).expect("some output");
        drop(out);
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("a stderr pipe")
            .read_to_string(&mut err)
            .expect("read stderr");
        let status = child.wait().expect("vmlab ends");
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

/// Run vmlab with `input` on its standard input.
fn vmlab_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(VMLAB)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vmlab");
    let mut stdin = child.stdin.take().expect("a stdin pipe");
    stdin
        .write_all(input.as_bytes())
        .expect("write the scenario to vmlab's stdin");
    drop(stdin);
    child.wait_with_output().expect("vmlab ends")
}

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    for args in [
        vec!["--help"],
        vec!["-h"],
        vec!["help"],
        vec!["help", "run"],
        vec!["run", "--help"],
        vec!["show", "-h"],
        vec!["help", "explain"],
    ] {
        let o = vmlab(&args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("Usage: vmlab"), "{args:?}: {out}");
        assert!(out.contains("Exit codes: 0"), "{args:?}: {out}");
    }
    let run_help = stdout(&vmlab(&["help", "run"]));
    assert!(run_help.contains("--json"), "{run_help}");
    assert!(run_help.contains("`-` for standard input"), "{run_help}");
    let show_help = stdout(&vmlab(&["help", "show"]));
    assert!(show_help.contains("--at <STEP>"), "{show_help}");
    assert!(show_help.contains("smaps_rollup"), "{show_help}");

    for args in [vec!["--version"], vec!["-V"]] {
        let o = vmlab(&args);
        assert_eq!(code(&o), 0, "{args:?}");
        assert_eq!(stdout(&o), "vmlab 0.1.0\n", "{args:?}");
    }
}

#[test]
fn extra_arguments_are_usage_errors() {
    let file = fixture("extra.vmlab", PASSING);
    let file = file.to_str().unwrap();
    for args in [
        vec!["run", file, "extra"],
        vec!["run", file, "--json", "extra"],
        vec!["explain", file, "--at", "1", "extra"],
        vec!["show", file, "--at", "1", "status", "app", "extra"],
        vec!["run", file, "--at", "1"],
        vec!["completions", "bash", "zsh"],
    ] {
        let o = vmlab(&args);
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}");
        assert!(
            stderr(&o).contains("unexpected argument"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn completions_are_printed() {
    let o = vmlab(&["completions", "bash"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("vmlab"), "{}", stdout(&o));
}

#[test]
fn a_dash_reads_the_scenario_from_stdin() {
    let file = fixture("stdin.vmlab", PASSING);
    let from_file = vmlab(&["run", file.to_str().unwrap()]);
    let from_stdin = vmlab_stdin(&["run", "-"], PASSING);
    assert_eq!(code(&from_stdin), 0, "{}", stderr(&from_stdin));
    let want = stdout(&from_file).replace(file.to_str().unwrap(), "<stdin>");
    assert_eq!(stdout(&from_stdin), want);
    assert!(
        stderr(&from_stdin).starts_with("<stdin>: 5 steps"),
        "{}",
        stderr(&from_stdin)
    );

    let json = vmlab_stdin(&["run", "-", "--json"], PASSING);
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(doc["file"], "<stdin>");

    let show = vmlab_stdin(&["show", "-", "--at", "3", "maps", "app"], PASSING);
    assert_eq!(code(&show), 0, "{}", stderr(&show));
    assert_eq!(stdout(&show).lines().count(), 1, "{}", stdout(&show));
    let explain = vmlab_stdin(&["explain", "-", "--at", "4"], PASSING);
    assert_eq!(code(&explain), 0, "{}", stderr(&explain));
    assert!(
        stdout(&explain).starts_with("step 4 (<stdin>:6:1): app fork child"),
        "{}",
        stdout(&explain)
    );

    let invalid = vmlab_stdin(
        &["run", "-"],
        "machine linux ram=24GiB\nspawn app\napp mmap a 15Gb rw private anon\n",
    );
    assert_eq!(code(&invalid), 2);
    assert!(
        stderr(&invalid).starts_with("<stdin>:3:12: error: "),
        "{}",
        stderr(&invalid)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_failing_stdout_is_an_error() {
    let file = fixture("full.vmlab", PASSING);
    let file = file.to_str().unwrap();
    for args in [
        vec!["run", file],
        vec!["run", file, "--json"],
        vec!["show", file, "--at", "3", "meminfo"],
        vec!["explain", file, "--at", "4"],
        vec!["--help"],
    ] {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full exists on Linux");
        let o = Command::new(VMLAB)
            .args(&args)
            .stdout(full)
            .output()
            .expect("run vmlab");
        let err = stderr(&o);
        assert_ne!(o.status.code(), Some(0), "{args:?}: {err}");
        if args[0] != "--help" {
            assert_eq!(code(&o), 2, "{args:?}: {err}");
            assert!(
                err.contains("vmlab: cannot write to standard output: "),
                "{args:?}: {err}"
            );
        }
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// A scenario with 50 errors, one per line (`15Gb` is not a size).
fn fifty_bad_sizes() -> String {
    let mut text = String::from("machine linux ram=1GiB\nspawn app\n");
    for i in 0..50 {
        let _ = writeln!(text, "app mmap a{i:02} 15Gb rw private anon");
    }
    text
}

#[test]
fn diagnostics_are_capped_at_20() {
    let text = fifty_bad_sizes();
    let path = fixture("many-errors.vmlab", &text);
    let file = path.to_str().unwrap();
    let o = vmlab(&["run", file]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 21, "{err}");
    for (i, l) in lines[..20].iter().enumerate() {
        let want = format!("{file}:{}:14: error: ", i + 3);
        assert!(l.starts_with(&want), "line {i}: `{l}`, want `{want}…`");
    }
    assert_eq!(lines[20], format!("{file}: … and 30 more errors"));

    // Exactly 20 are all printed, without a summary line.
    let text: String = text.lines().take(22).map(|l| format!("{l}\n")).collect();
    let path = fixture("twenty-errors.vmlab", &text);
    let o = vmlab(&["run", path.to_str().unwrap()]);
    assert_eq!(stderr(&o).lines().count(), 20, "{}", stderr(&o));
}

#[test]
fn an_error_on_a_mapping_names_the_mmap_that_failed() {
    let text = "\
machine linux ram=1GiB swap=0 overcommit=2 kernel=6.6
spawn app
app mmap small 1MiB rw private anon
# Far more than CommitLimit under overcommit=2: ENOMEM, so `big` never exists.
app mmap big 100GiB rw private anon

app write big[0..1MiB]
";
    let path = fixture("failed-mmap.vmlab", text);
    let file = path.to_str().unwrap();
    let o = vmlab(&["run", file]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "{file}:7:1: error: process `app` has no mapping named `big`: its mmap at line 5 \
             failed with ENOMEM\n"
        )),
        "{err}"
    );
    // The same in the JSON document's error.
    let o = vmlab(&["run", file, "--json"]);
    assert_eq!(code(&o), 2);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(doc["error"]["line"], 7);
    let message = doc["error"]["message"].as_str().expect("a message");
    assert!(
        message.contains("its mmap at line 5 failed with ENOMEM"),
        "{message}"
    );

    // A child inherits the cause; a mapping that never had an mmap keeps the plain message
    // (the parser rejects that one, so use a name the child lost at exec instead).
    let text = "\
machine linux ram=1GiB swap=0 overcommit=2 kernel=6.6
spawn app
app mmap big 100GiB rw private anon
app fork child
child write big[0..1MiB]
";
    let path = fixture("failed-mmap-child.vmlab", text);
    let o = vmlab(&["run", path.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("its mmap at line 3 (by `app`, before it forked) failed with ENOMEM"),
        "{}",
        stderr(&o)
    );
}

/// 300 fork+exit of a process with 200 VMAs: many steps, each with events.
fn fork_exit_scenario(forks: u32, vmas: u32) -> String {
    let mut t = String::from("machine linux ram=64GiB overcommit=1\nspawn app\n");
    for i in 0..vmas {
        // A 4 KiB gap after each mapping keeps the VMAs apart.
        let place = if i == 0 {
            String::new()
        } else {
            format!(" below=m{} gap=4KiB", i - 1)
        };
        let _ = writeln!(t, "app mmap m{i} 64KiB rw private anon{place}");
    }
    for i in 0..forks {
        let _ = writeln!(t, "app fork c{i}");
        let _ = writeln!(t, "c{i} exit");
    }
    t.push_str("expect app fork ok\nexpect app.vmas = ");
    let _ = writeln!(t, "{vmas}");
    t
}

/// Many short steps that each print several lines and name nothing new: one page of one
/// mapping made read-only (a split) and writable again (a merge), `n` times.
fn split_merge_scenario(n: u32) -> String {
    let mut t = String::from(
        "machine linux ram=64GiB overcommit=1\nspawn app\napp mmap m 64KiB rw private anon\n",
    );
    for _ in 0..n {
        t.push_str("app mprotect m[0..4KiB] r\napp mprotect m[0..4KiB] rw\n");
    }
    t.push_str("expect app mprotect ok\nexpect app.vmas = 1\n");
    t
}

#[test]
fn the_streamed_trace_and_json_match_the_core() {
    let text = fork_exit_scenario(300, 200);
    let path = fixture("fork-exit.vmlab", &text);
    let file = path.to_str().unwrap();
    let scenario = vmlab_core::scenario::parse(&text).expect("the generated scenario parses");
    let run = vmlab_core::sim::run(&scenario);
    assert!(run.all_passed(), "{:?} {:?}", run.error, run.checks);

    let mut want = vmlab_core::sim::trace_text(&run);
    want.push('\n');
    for c in &run.checks {
        let tag = if c.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            want,
            "{tag} {file}:{}:{}: {} — {}",
            c.pos.line, c.pos.col, c.text, c.detail
        );
    }
    let o = vmlab(&["run", file]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o) == want,
        "the streamed trace differs from sim::trace_text"
    );

    let o = vmlab(&["run", file, "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    let steps = doc["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), run.steps.len());
    for (j, s) in steps.iter().zip(&run.steps) {
        assert_eq!(j["step"], s.step);
        assert_eq!(j["text"], s.text.as_str());
        assert_eq!(j["outcome"], s.outcome.label());
        assert_eq!(j["committed_as_kb"], s.committed_as_kb);
        assert_eq!(j["mem_free_kb"], s.mem_free_kb);
        assert_eq!(j["events"].as_array().map(Vec::len), Some(s.events.len()));
    }
    let app = &doc["final"]["processes"][0];
    assert_eq!(app["vmas"].as_array().map(Vec::len), Some(200));
    assert_eq!(app["vmas"][199]["mappings"], serde_json::json!(["m0"]));
}

/// The trace of every library scenario, streamed by the CLI, is its golden trace.
#[test]
fn the_streamed_trace_of_every_scenario_is_its_golden_trace() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the scenarios directory") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|x| x != "vmlab") {
            continue;
        }
        let golden = std::fs::read_to_string(path.with_extension("trace")).expect("a .trace");
        let trace = golden
            .split("\nEXPECTATIONS\n")
            .next()
            .expect("split yields at least one part");
        let o = vmlab(&["run", path.to_str().unwrap()]);
        let out = stdout(&o);
        assert!(
            out.starts_with(trace),
            "{}: the streamed trace differs from the golden one",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} scenarios found");
}

/// Run vmlab, read stdout as it comes (all of it, or only its first line and then close the
/// pipe); (stdout bytes read, peak RSS in bytes, stderr).
#[cfg(target_os = "linux")]
fn output_size_and_peak_rss(args: &[&str], first_line_only: bool) -> (u64, u64, String) {
    let mut child = Command::new(VMLAB)
        .args(args)
        .env("VMLAB_REPORT_PEAK_RSS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vmlab");
    let mut out = child.stdout.take().expect("a stdout pipe");
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if first_line_only && buf[..n].contains(&b'\n') {
                    break;
                }
            }
            Err(e) => panic!("reading vmlab's stdout: {e}"),
        }
    }
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("a stderr pipe")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert_eq!(child.wait().expect("vmlab ends").code(), Some(0), "{err}");
    let kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("vmlab: peak RSS "))
        .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS line in {err}"));
    (total, kb * 1024, err)
}

/// The trace and the JSON document are streamed: the process never holds its output. A run
/// stopped after its first line (`| head -1`) shows what the parsed scenario and the booted
/// machine cost; running all 80,000 steps may add to that only a small part of the output
/// (a run that kept its trace or its steps would add at least all of it).
#[cfg(target_os = "linux")]
#[test]
fn a_long_run_streams_in_memory_much_smaller_than_its_output() {
    let text = split_merge_scenario(40_000);
    let path = fixture("split-merge-long.vmlab", &text);
    let file = path.to_str().unwrap();
    for args in [vec!["run", file], vec!["run", file, "--json"]] {
        let (_, early, _) = output_size_and_peak_rss(&args, true);
        let (bytes, peak, err) = output_size_and_peak_rss(&args, false);
        assert!(bytes > 20 << 20, "{args:?}: only {bytes} bytes of output");
        assert!(
            peak < early + bytes / 4,
            "{args:?}: peak RSS {peak} bytes, {early} after the first line, for {bytes} bytes of output\n{err}"
        );
    }
}

#[test]
fn a_closed_stderr_pipe_does_not_panic() {
    let text = fifty_bad_sizes();
    let path = fixture("closed-stderr.vmlab", &text);
    let mut child = Command::new(VMLAB)
        .args(["run", path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vmlab");
    // Close the read end before vmlab (most likely) writes its diagnostics.
    drop(child.stderr.take());
    let status = child.wait().expect("vmlab ends");
    // A panic would exit 101.
    assert_eq!(status.code(), Some(2));
}

#[test]
fn check_without_real_is_a_usage_error() {
    let f = fixture("check-usage.vmlab", "machine linux ram=1GiB\nspawn a\n");
    let o = vmlab(&["check", f.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--real"), "{}", stderr(&o));
}

#[test]
fn check_real_refuses_a_marked_scenario_that_asks_for_another_kernel() {
    let f = fixture(
        "check-marked.vmlab",
        "# real: yes\nmachine linux ram=1GiB kernel=4.19\nspawn a adj=-5\n",
    );
    let o = vmlab(&["check", f.to_str().unwrap(), "--real"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("check-marked.vmlab:2:24: error:") && err.contains("kernel version"),
        "{err}"
    );
    assert!(
        err.contains(":3:1: error:") && err.contains("CAP_SYS_RESOURCE"),
        "{err}"
    );
    // Unmarked, the same file is checked (and stops at what the host cannot do).
    let g = fixture(
        "check-unmarked.vmlab",
        "machine linux ram=1GiB kernel=4.19\nspawn a\n",
    );
    let o = vmlab(&["check", g.to_str().unwrap(), "--real"]);
    assert!(!stderr(&o).contains("error:"), "{}", stderr(&o));
}

#[test]
fn check_real_runs_the_vmlab_binary_as_its_helper_and_agrees() {
    // Touches 64 KiB and maps 1 GiB: harmless on any host.
    let f = fixture(
        "check-real.vmlab",
        "machine linux ram=1GiB\nspawn a\na mmap x 1GiB rw private anon\na write x[0..64KiB]\n\
         a mprotect x[0..1MiB] r\na fork b\nb exit\na read x[1MiB..1028KiB]\na write x[0..4KiB]\n",
    );
    let mut o = vmlab(&["check", f.to_str().unwrap(), "--real"]);
    // Other processes move Committed_AS now and then (docs/known-differences.md): when that is
    // the only difference, once more.
    let noise_only = |o: &Output| {
        code(o) == 1
            && stdout(o)
                .lines()
                .skip_while(|l| !l.contains("mismatch(es):"))
                .skip(2)
                .all(|l| l.contains("Committed_AS"))
    };
    if noise_only(&o) {
        o = vmlab(&["check", f.to_str().unwrap(), "--real"]);
    }
    if !vmlab_os::is_root() {
        println!("SKIPPED check_real…: needs root; checks the message instead");
        assert_eq!(code(&o), 2);
        assert!(stderr(&o).contains("need root"), "{}", stderr(&o));
        return;
    }
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("no mismatches"), "{out}");
    // The last write hits the read-only first MiB: SIGSEGV on both sides.
    let last = out
        .lines()
        .find(|l| l.contains("a write x[0..4KiB]"))
        .unwrap();
    assert_eq!(last.matches("killed").count(), 2, "{last}");
}

#[test]
fn machine_host_runs_on_this_machine_and_says_so() {
    // The host's MemTotal, as /proc/meminfo says it, is what the run sees.
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("a Linux host");
    let total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("MemTotal");
    let f = fixture(
        "host.vmlab",
        &format!(
            "machine linux host overcommit=1\nexpect meminfo.MemTotal = {total_kb}kB\nexpect vm.overcommit_memory = 1\n"
        ),
    );
    let o = vmlab(&["run", f.to_str().expect("utf-8 path")]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "note: `machine linux host` is this machine: MemTotal {total_kb} kB"
        )),
        "{err}"
    );
    assert!(err.contains("vm.overcommit_memory=1"), "{err}");
    // `show` reads the same host.
    let o = vmlab(&[
        "show",
        f.to_str().expect("utf-8 path"),
        "--at",
        "0",
        "meminfo",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("MemTotal:       {total_kb} kB")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn show_prints_memory_cgroup_files() {
    let path = scenario("memcg-oom-group.vmlab");
    let file = path.to_str().unwrap();
    // After the last write (step 13): two kills, one of them by memory.oom.group; `max` is
    // 18 (the passes of try_charge_memcg before the OOM) + 17 (the writer was the victim).
    let ev = vmlab(&["show", file, "--at", "13", "memory.events", "pod/app"]);
    assert_eq!(code(&ev), 0, "{}", stderr(&ev));
    assert_eq!(
        stdout(&ev),
        "low 0\nhigh 0\nmax 35\noom 1\noom_kill 2\noom_group_kill 1\n"
    );
    let max = vmlab(&["show", file, "--at", "13", "memory.max", "/pod"]);
    assert_eq!(stdout(&max), "max\n", "{}", stderr(&max));
    let stat = vmlab(&["show", file, "--at", "13", "memory.stat", "pod"]);
    assert!(stdout(&stat).starts_with("anon "), "{}", stdout(&stat));
    // A v1 file on a v2 machine, and a cgroup file without its cgroup.
    let v1 = vmlab(&["show", file, "--at", "13", "memory.limit_in_bytes", "pod"]);
    assert_eq!(code(&v1), 2);
    let none = vmlab(&["show", file, "--at", "13", "memory.stat"]);
    assert_eq!(code(&none), 2);
    assert!(
        stderr(&none).contains("needs a cgroup path"),
        "{}",
        stderr(&none)
    );
}

const WINDOWS: &str = "\
machine windows ram=16GiB pagefile=4GiB..4GiB
spawn app
app reserve big 1TiB
app commit big[0..1GiB]
container web isolation=process memory=2GiB
spawn svc in web
svc alloc heap 512MiB
expect svc.GlobalMemoryStatusEx.ullTotalPageFile = 2GiB
";

/// Under Hyper-V isolation the APIs inside the container report the utility VM: its 2 GiB of
/// RAM, not the host's 16, and its own commit charge (the VM's base included).
#[test]
fn show_prints_what_a_hyperv_container_s_process_sees() {
    let f = fixture(
        "windows-hyperv.vmlab",
        "machine windows ram=16GiB pagefile=4GiB..4GiB
         container vm isolation=hyperv memory=2GiB base=512MiB
         spawn svc in vm
         svc alloc heap 256MiB
         spawn app
",
    );
    let f = f.to_str().unwrap();
    let show = |view: &str, proc: Option<&str>| {
        let mut args = vec!["show", "--at", "4", f, view];
        args.extend(proc);
        let o = vmlab(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        stdout(&o)
    };
    let svc = show("GlobalMemoryStatusEx", Some("svc"));
    assert!(
        svc.contains("ullTotalPhys                 2147483648"),
        "{svc}"
    );
    assert!(
        svc.contains("ullAvailPhys                 1610612736"),
        "{svc}"
    );
    let app = show("GlobalMemoryStatusEx", Some("app"));
    assert!(
        app.contains("ullTotalPhys                 17179869184"),
        "{app}"
    );
    // The VM's CommitTotal: its 512 MiB base and svc's 256 MiB, in pages; the host's is 0.
    let perf = show("GetPerformanceInfo", Some("svc"));
    assert!(
        perf.contains("CommitTotal                  196608"),
        "{perf}"
    );
    let host = show("GetPerformanceInfo", None);
    assert!(host.contains("CommitTotal                  0"), "{host}");
}

/// Beside the structure, the process's real commit room: two processes share a job with 100
/// MiB, each has 40 MiB, so 20 MiB are left, though ullAvailPageFile says 60.
#[test]
fn show_prints_what_a_process_can_really_still_commit() {
    let f = fixture(
        "windows-room.vmlab",
        "machine windows ram=4GiB pagefile=none
         job create j
job j limits job=100MiB
spawn p
spawn q
         job j assign p
job j assign q
p alloc a 40MiB
q alloc a 40MiB
",
    );
    let o = vmlab(&[
        "show",
        "--at",
        "8",
        f.to_str().unwrap(),
        "GlobalMemoryStatusEx",
        "p",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("ullAvailPageFile             62914560"),
        "{out}"
    );
    assert!(
        out.contains("really still commit 20971520 bytes (20 MiB): job `j`'s JobMemoryLimit"),
        "{out}"
    );
    assert!(out.contains("ullAvailPageFile overstates it"), "{out}");
}

#[test]
fn show_prints_the_windows_structures() {
    let f = fixture("windows.vmlab", WINDOWS);
    let f = f.to_str().unwrap();
    let show = |at: &str, view: &str, proc: Option<&str>| {
        let mut args = vec!["show", "--at", at, f, view];
        args.extend(proc);
        vmlab(&args)
    };
    let o = show("6", "GlobalMemoryStatusEx", Some("svc"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Inside the container: the host's RAM, the job's commit limit.
    assert!(
        stdout(&o).contains("ullTotalPhys                 17179869184"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("ullTotalPageFile             2147483648"),
        "{}",
        stdout(&o)
    );
    let o = show("3", "GetPerformanceInfo", None);
    assert!(
        stdout(&o).contains("CommitTotal                  262144"),
        "{}",
        stdout(&o)
    );
    let o = show("3", "GetProcessMemoryInfo", Some("app"));
    assert!(
        stdout(&o).contains("PrivateUsage                 1073741824"),
        "{}",
        stdout(&o)
    );
    let o = show("3", "VirtualQuery", Some("app"));
    let out = stdout(&o);
    assert!(out.contains("State                        0x1000"), "{out}");
    assert!(out.contains("State                        0x2000"), "{out}");
    assert!(
        out.contains("State                        0x10000"),
        "{out}"
    );
    let o = show("6", "job", Some("web"));
    let out = stdout(&o);
    assert!(
        out.contains("JobMemoryLimit               2147483648"),
        "{out}"
    );
    assert!(out.contains("not reported"), "{out}");
    // Usage errors: a process view without a process; a Windows view of a Linux machine.
    let o = show("3", "VirtualQuery", None);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("needs a process name"),
        "{}",
        stderr(&o)
    );
    let linux = fixture(
        "linux-for-windows-view.vmlab",
        "machine linux ram=1GiB\nspawn a\n",
    );
    let o = vmlab(&[
        "show",
        "--at",
        "1",
        linux.to_str().unwrap(),
        "GetPerformanceInfo",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("Linux machine"), "{}", stderr(&o));
    // run passes, and explain names the Windows counters.
    let o = vmlab(&["run", f]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = vmlab(&["explain", "--at", "3", f]);
    assert!(
        stdout(&o).contains("CommitTotal: 0 kB → 1048576 kB"),
        "{}",
        stdout(&o)
    );
}

/// The v1 files of a v1 machine, exactly: memcg-v1-oom-kill-disable after its write slept at
/// the 64 MiB limit (step 7). The task holds 16,350 pages; with its 32 PTE pages, a PMD and a
/// PUD the cgroup is at 16,384 pages = 67,108,864 bytes; failcnt 19 (measured on the host);
/// memsw has no limit of its own (PAGE_COUNTER_MAX pages, printed in bytes).
#[test]
fn show_prints_the_v1_files_of_a_v1_machine() {
    let path = scenario("memcg-v1-oom-kill-disable.vmlab");
    let file = path.to_str().unwrap();
    let show = |view: &str| {
        let o = vmlab(&["show", file, "--at", "7", view, "box"]);
        assert_eq!(code(&o), 0, "{view}: {}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(
        show("memory.oom_control"),
        "oom_kill_disable 1\nunder_oom 1\noom_kill 0\n"
    );
    for (view, want) in [
        ("memory.limit_in_bytes", "67108864\n"),
        ("memory.usage_in_bytes", "67108864\n"),
        ("memory.max_usage_in_bytes", "67108864\n"),
        ("memory.failcnt", "19\n"),
        ("memory.memsw.usage_in_bytes", "67108864\n"),
    ] {
        assert_eq!(show(view), want, "{view}");
    }
    let rss = 16_350 * 4096;
    let mut want = String::new();
    for pre in ["", "total_"] {
        for (k, v) in [
            ("cache", 0),
            ("rss", rss),
            ("shmem", 0),
            ("mapped_file", 0),
            ("dirty", 0),
            ("swap", 0),
            ("pgfault", 16_350),
            ("pgmajfault", 0),
            ("inactive_anon", rss),
            ("active_anon", 0),
            ("inactive_file", 0),
            ("active_file", 0),
        ] {
            want.push_str(&format!("{pre}{k} {v}\n"));
        }
        if pre.is_empty() {
            want.push_str("hierarchical_memory_limit 67108864\n");
            want.push_str("hierarchical_memsw_limit 9223372036854771712\n");
        }
    }
    assert_eq!(show("memory.stat"), want);
}

/// A whole v2 memory.stat, exactly, after the mixed workload of the core's memcg test
/// (a_mixed_workload_pins_every_lru_and_table_field_on_v1_and_v2, where each number is
/// computed): anon 4084 pages, file 4608 (1024 of them shmem), 16 page-table pages, 2048
/// mapped, 512 dirty, 1024 lazy-free pages on the inactive file LRU, 7168 faults.
#[test]
fn show_prints_a_whole_memory_stat() {
    let path = fixture(
        "mixed.vmlab",
        "machine linux ram=1GiB swap=1GiB
cgroup create box
cgroup box set memory.max 16MiB
spawn app
app cgroup box
app mmap heap 20MiB rw private anon
app write heap
cgroup box set memory.max max
app file read /data/log 8MiB
app mmap f 4MiB r private file /data/f
app read f
app mmap s 4MiB rw shared anon
app write s
app file write /data/w 2MiB
app madvise heap[16MiB..20MiB] free
",
    );
    let o = vmlab(&[
        "show",
        path.to_str().unwrap(),
        "--at",
        "14",
        "memory.stat",
        "box",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let p = |n: u64| n * 4096;
    let want = format!(
        "anon {}\nfile {}\nkernel {}\nkernel_stack 0\npagetables {}\nsec_pagetables 0\npercpu 0\n\
         sock 0\nvmalloc 0\nshmem {}\nfile_mapped {}\nfile_dirty {}\ninactive_anon {}\n\
         active_anon 0\ninactive_file {}\nactive_file 0\nslab_unreclaimable 0\npgfault 7168\n\
         pgmajfault 0\n",
        p(4084),
        p(4608),
        p(16),
        p(16),
        p(1024),
        p(2048),
        p(512),
        p(4084),
        p(4608)
    );
    assert_eq!(stdout(&o), want);
}
