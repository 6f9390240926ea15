//! The CLI at scale (issue "The core at scale and under hostile input"): `--json` of 100,000
//! gapped mmaps, and the streamed trace of 10,000 fork+exit of a process with 1,000 VMAs, run
//! through the release `vmlab` binary as a child so its peak RSS is its own. Figures are
//! printed with their targets; nothing is asserted (the times depend on the machine).
//!
//! `cargo bench -p vmlab-cli --bench scale` (also part of `cargo xtask bench`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VMLAB: &str = env!("CARGO_BIN_EXE_vmlab");

/// 100,000 mappings of 4 KiB, each 4 KiB below the previous one: 100,000 VMAs that cannot merge.
fn gapped_mmaps(n: u32) -> String {
    let mut t = String::from("machine linux ram=64GiB overcommit=1 max_map_count=200000\n");
    t.push_str("spawn app\napp mmap m0 4KiB rw private anon\n");
    for i in 1..n {
        let _ = writeln!(
            t,
            "app mmap m{i} 4KiB rw private anon below=m{} gap=4KiB",
            i - 1
        );
    }
    let _ = writeln!(t, "expect app.vmas = {n}");
    t
}

/// A process with `vmas` separate VMAs forks and its child exits, `forks` times.
fn fork_exit(forks: u32, vmas: u32) -> String {
    let mut t = String::from("machine linux ram=64GiB overcommit=1\n");
    t.push_str("spawn app\napp mmap m0 64KiB rw private anon\n");
    for i in 1..vmas {
        let _ = writeln!(
            t,
            "app mmap m{i} 64KiB rw private anon below=m{} gap=4KiB",
            i - 1
        );
    }
    for i in 0..forks {
        let _ = writeln!(t, "app fork c{i}\nc{i} exit");
    }
    t.push_str("expect app fork ok\n");
    t
}

fn write_scenario(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vmlab-bench");
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the bench scenario");
    path
}

/// What one run of the binary cost.
struct Figures {
    wall: Duration,
    stdout_bytes: u64,
    peak_rss: String,
    exit: Option<i32>,
}

/// Run `vmlab ARGS`, reading all of stdout (or only its first line, then closing the pipe).
fn measure(args: &[&str], first_line_only: bool) -> Figures {
    let start = Instant::now();
    let mut child = Command::new(VMLAB)
        .args(args)
        .env("VMLAB_REPORT_PEAK_RSS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the vmlab binary");
    let stdout = child.stdout.take().expect("a stdout pipe");
    let mut reader = BufReader::with_capacity(1 << 20, stdout);
    let stdout_bytes = if first_line_only {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read the first line");
        drop(reader);
        n as u64
    } else {
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(e) => panic!("reading vmlab's stdout: {e}"),
            }
        }
        total
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().expect("vmlab ends");
    let wall = start.elapsed();
    let peak_rss = err
        .lines()
        .find_map(|l| l.strip_prefix("vmlab: peak RSS "))
        .unwrap_or("unknown (not Linux?)")
        .to_string();
    Figures {
        wall,
        stdout_bytes,
        peak_rss,
        exit: status.code(),
    }
}

fn report(what: &str, target: &str, f: &Figures) {
    println!(
        "{what}: {:.2} s, peak RSS {}, {:.1} MiB on stdout, exit {:?}   (target {target})",
        f.wall.as_secs_f64(),
        f.peak_rss,
        f.stdout_bytes as f64 / (1024.0 * 1024.0),
        f.exit
    );
}

/// The core alone, in this process: parse, then the streaming runner with a callback that
/// keeps nothing (no formatting, no output).
fn core_only(what: &str, text: &str) {
    let start = Instant::now();
    let scenario = match vmlab_core::scenario::parse(text) {
        Ok(s) => s,
        Err(d) => panic!("the generated scenario does not parse: {:?}", d.first()),
    };
    let parsed = start.elapsed();
    let mut events = 0u64;
    let summary = vmlab_core::sim::run_streaming(&scenario, None, |st| {
        events += st.events.len() as u64;
        true
    });
    println!(
        "{what}, core only: parse {:.2} s, run {:.2} s ({} steps, {events} events, passed {})",
        parsed.as_secs_f64(),
        (start.elapsed() - parsed).as_secs_f64(),
        summary.steps,
        summary.all_passed()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported here.
    println!("vmlab CLI at scale ({VMLAB})");

    let gapped = gapped_mmaps(100_000);
    let gapped_path = write_scenario("gapped-100k.vmlab", &gapped);
    let g = gapped_path.to_str().expect("a UTF-8 path");
    core_only("100,000 gapped mmaps", &gapped);
    report(
        "run --json, 100,000 gapped mmaps",
        "< 1 s",
        &measure(&["run", g, "--json"], false),
    );
    report(
        "run (trace), 100,000 gapped mmaps",
        "-",
        &measure(&["run", g], false),
    );

    let forks = fork_exit(10_000, 1_000);
    let forks_path = write_scenario("fork-exit-10k-1k.vmlab", &forks);
    let f = forks_path.to_str().expect("a UTF-8 path");
    core_only("10,000 fork+exit of 1,000 VMAs", &forks);
    report(
        "run (trace) | head -1, 10,000 fork+exit of 1,000 VMAs",
        "< 2 s, < 200 MiB",
        &measure(&["run", f], true),
    );
    report(
        "run (trace), 10,000 fork+exit of 1,000 VMAs, all of it",
        "< 2 s, < 200 MiB",
        &measure(&["run", f], false),
    );
    report(
        "run --json, 10,000 fork+exit of 1,000 VMAs, all of it",
        "< 200 MiB",
        &measure(&["run", f, "--json"], false),
    );
}
