//! `vmlab`: parse flags, run the scenario, print. Exit codes: 0 every expectation held,
//! 1 an expectation failed, 2 the scenario (or the command line) is invalid, or stdout failed.

mod json;
mod out;
mod pipeline;

/// mimalloc, as ripgrep uses jemalloc: a run allocates and frees many small strings (names,
/// sentences, JSON fields), and glibc's malloc spent a fifth of `run --json`'s time on them
/// (the CLI's scale bench prints the figures).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use out::{Out, OutError};
use std::io::Read;
use std::process::ExitCode;
use vmlab_core::config::MachineConfig;
use vmlab_core::scenario::{parse, Diagnostic, Scenario};
use vmlab_core::sim::{self, RunItem, RunSummary, Runner, StepRecord};

/// `eprintln!` that cannot panic: with stderr a closed pipe (`vmlab run x 2>&1 | head -1`) the
/// message is lost, which is all that can happen to it.
macro_rules! eprint_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// At most this many diagnostics are printed; the rest are counted (a 100,000-line scenario
/// with one mistake repeated should not scroll the first one away).
const MAX_DIAGNOSTICS: usize = 20;

/// The hidden subcommand that turns this binary into a real-case helper process.
const HELPER_SUBCOMMAND: &str = "__helper";

const EXIT_CODES: &str = "Exit codes: 0 all expectations hold, 1 an expectation failed, \
2 invalid scenario or usage, or standard output could not be written.";

const CHECK_EXIT_CODES: &str = "Exit codes: 0 the simulator and the kernel (or Wine) agree on \
every step but for the known differences, 1 they differ, 2 invalid scenario or usage, or the \
check could not run to the end (not root, not Linux, no Wine setup, an operation the real \
backend does not support).";

/// Replay memory-accounting scenarios on a simulated Linux machine.
#[derive(Debug, Parser)]
#[command(
    name = "vmlab",
    version,
    arg_required_else_help = true,
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a scenario: the trace, then every expectation.
    #[command(after_help = EXIT_CODES)]
    Run {
        /// The scenario file, or `-` for standard input.
        file: String,
        /// Print one JSON document (docs/json-schema.md) instead of the trace.
        #[arg(long)]
        json: bool,
    },
    /// A kernel view after STEP operations.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// The scenario file, or `-` for standard input.
        file: String,
        /// The number of operations to run first (0 = the booted machine).
        #[arg(long, value_name = "STEP")]
        at: u32,
        /// The view: meminfo, dmesg and top take no process; maps, smaps, smaps_rollup, status, oom_score and
        /// oom_score_adj need one; a memory cgroup file (memory.stat, memory.events,
        /// memory.current, v1 memory.limit_in_bytes, …) needs a cgroup path (`/` is the root).
        /// On a Windows machine: GlobalMemoryStatusEx and GetPerformanceInfo (optionally as a
        /// process calls them), GetProcessMemoryInfo PROC, VirtualQuery PROC, job JOB.
        #[arg(value_parser = parse_view)]
        view: ShowView,
        /// The process whose /proc/PID view to print, or the cgroup of a cgroup file.
        proc: Option<String>,
    },
    /// The reasoning behind one step: rules, numbers, sources.
    #[command(after_help = EXIT_CODES)]
    Explain {
        /// The scenario file, or `-` for standard input.
        file: String,
        /// The step to explain (0 = the booted machine).
        #[arg(long, value_name = "STEP")]
        at: u32,
    },
    /// Compare the simulator with this machine's kernel (Linux, root), or a Windows scenario
    /// with the Windows API under Wine, step by step.
    #[command(after_help = CHECK_EXIT_CODES)]
    Check {
        /// The scenario file, or `-` for standard input.
        file: String,
        /// Run every operation on the real kernel too (helper processes, vm.* sysctls set for
        /// the length of each operation and restored) and print where the two differ.
        #[arg(long)]
        real: bool,
        /// Run a Windows scenario on the Windows API under Wine too (vmlab-win-helper.exe, one
        /// per scenario process; the environment `cargo xtask wine` sets) and print both sides
        /// step by step.
        #[arg(long, conflicts_with = "real")]
        wine: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum View {
    /// /proc/meminfo
    #[value(name = "meminfo")]
    Meminfo,
    /// The kernel log so far, as dmesg prints it (OOM reports, warnings)
    #[value(name = "dmesg")]
    Dmesg,
    /// A top-like table of the live processes, the largest resident set first
    #[value(name = "top")]
    Top,
    /// /proc/PID/maps
    #[value(name = "maps")]
    Maps,
    /// /proc/PID/smaps
    #[value(name = "smaps")]
    Smaps,
    /// /proc/PID/smaps_rollup
    #[value(name = "smaps_rollup")]
    SmapsRollup,
    /// /proc/PID/status
    #[value(name = "status")]
    Status,
    /// /proc/PID/oom_score
    #[value(name = "oom_score")]
    OomScore,
    /// /proc/PID/oom_score_adj
    #[value(name = "oom_score_adj")]
    OomScoreAdj,
}

/// What `show` prints: a /proc view, or a memory cgroup file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ShowView {
    Proc(View),
    Cgroup(String),
    /// A Windows structure: GlobalMemoryStatusEx, GetPerformanceInfo, GetProcessMemoryInfo,
    /// VirtualQuery, job.
    Windows(&'static str),
}

/// The Windows views `show` prints, and whether each needs a process (or, for `job`, a job).
const WINDOWS_VIEWS: &[(&str, bool)] = &[
    ("GlobalMemoryStatusEx", false),
    ("GetPerformanceInfo", false),
    ("GetProcessMemoryInfo", true),
    ("VirtualQuery", true),
    ("job", true),
];

/// A /proc view name, or any `memory.*` cgroup file name (checked against the machine's
/// hierarchy when the scenario has run).
fn parse_view(s: &str) -> Result<ShowView, String> {
    if s.starts_with("memory.") {
        return Ok(ShowView::Cgroup(s.to_string()));
    }
    if let Some((name, _)) = WINDOWS_VIEWS.iter().find(|(n, _)| *n == s) {
        return Ok(ShowView::Windows(name));
    }
    View::from_str(s, false).map(ShowView::Proc).map_err(|_| {
        format!(
            "unknown view {s:?}: meminfo, dmesg, top, maps, smaps, smaps_rollup, status, oom_score, oom_score_adj, a memory cgroup file such as memory.stat, or on Windows GlobalMemoryStatusEx, GetPerformanceInfo, GetProcessMemoryInfo, VirtualQuery, job"
        )
    })
}

impl View {
    fn name(self) -> &'static str {
        match self {
            View::Meminfo => "meminfo",
            View::Dmesg => "dmesg",
            View::Top => "top",
            View::Maps => "maps",
            View::Smaps => "smaps",
            View::SmapsRollup => "smaps_rollup",
            View::Status => "status",
            View::OomScore => "oom_score",
            View::OomScoreAdj => "oom_score_adj",
        }
    }
}

fn main() -> ExitCode {
    // `vmlab __helper TOKEN`: one scenario process of `vmlab check --real` (crates/os/src/helper.rs),
    // driven over its stdin and stdout. Hidden: not a command for people.
    #[cfg(target_os = "linux")]
    {
        let args: Vec<String> = std::env::args().collect();
        if args.get(1).map(String::as_str) == Some(HELPER_SUBCOMMAND) {
            vmlab_os::helper::main(&args[2..]);
        }
    }
    let code = vmlab();
    // For the benchmarks (crates/cli/benches/scale.rs): the process's own peak RSS, read where
    // it is exact, at the very end. Linux only; elsewhere it prints nothing.
    if std::env::var_os("VMLAB_REPORT_PEAK_RSS").is_some() {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                eprint_line!(
                    "vmlab: peak RSS {}",
                    hwm.trim_start_matches("VmHWM:").trim()
                );
            }
        }
    }
    code
}

fn vmlab() -> ExitCode {
    let mut out = Out::stdout();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            // A usage error: clap's message and usage on stderr, exit 2.
            let _ = e.print();
            return ExitCode::from(2);
        }
        // --help and --version: stdout, exit 0, and a write error is still an error.
        Err(e) => {
            let text = if out.is_terminal() {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            let written = out.write(&text).map(|()| ExitCode::SUCCESS);
            return finish(&mut out, written);
        }
    };
    let result = match cli.cmd {
        Cmd::Run { file, json } => cmd_run(&mut out, &file, json),
        Cmd::Show {
            file,
            at,
            view,
            proc,
        } => cmd_show(&mut out, &file, at, view, proc.as_deref()),
        Cmd::Explain { file, at } => cmd_explain(&mut out, &file, at),
        Cmd::Check { file, real, wine } => {
            if wine {
                cmd_check_wine(&mut out, &file)
            } else {
                cmd_check(&mut out, &file, real)
            }
        }
        Cmd::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "vmlab", &mut script);
            out.write_bytes(&script).map(|()| ExitCode::SUCCESS)
        }
    };
    finish(&mut out, result)
}

/// Flush stdout and turn the command's result into the exit code.
fn finish(out: &mut Out, result: Result<ExitCode, OutError>) -> ExitCode {
    match result.and_then(|code| out.finish().map(|()| code)) {
        Ok(code) => code,
        // `vmlab run x | head -1`: the reader has all it wanted; that is not a failure.
        Err(OutError::Closed) => ExitCode::SUCCESS,
        Err(OutError::Io(e)) => {
            let e = anyhow::Error::new(e).context("cannot write to standard output");
            eprint_line!("vmlab: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A loaded scenario and the name diagnostics use for it (`<stdin>` for `-`).
struct Source {
    name: String,
    text: String,
    scenario: Scenario,
}

/// Read and parse `file` (`-` is standard input), or print why not and give the exit code.
fn load(file: &str) -> Result<Source, ExitCode> {
    let (name, bytes) = if file == "-" {
        let mut b = Vec::new();
        match std::io::stdin().lock().read_to_end(&mut b) {
            Ok(_) => ("<stdin>".to_string(), b),
            Err(e) => {
                eprint_line!("vmlab: cannot read standard input: {e}");
                return Err(ExitCode::from(2));
            }
        }
    } else {
        match std::fs::read(file) {
            Ok(b) => (file.to_string(), b),
            Err(e) => {
                eprint_line!("vmlab: cannot read {file}: {e}");
                return Err(ExitCode::from(2));
            }
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    match parse(&text) {
        Ok(mut scenario) => {
            boot_on_host(&name, &mut scenario);
            Ok(Source {
                name,
                text,
                scenario,
            })
        }
        Err(d) => {
            print_diags(&name, &d);
            Err(ExitCode::from(2))
        }
    }
}

/// `machine linux host`: boot on this host's configuration (read by vmlab-os) with the
/// scenario's options over it, and say on stderr which machine that is; where the host cannot be
/// read (not Linux, an unreadable /proc), say so and keep the reference machine `measured`.
fn boot_on_host(name: &str, scenario: &mut Scenario) {
    if scenario.host.is_none() {
        return;
    }
    match vmlab_os::host::host_config() {
        Ok(host) => {
            scenario.boot_on_host(&host);
            let MachineConfig::Linux(c) = &scenario.machine else {
                unreachable!("a Linux machine")
            };
            eprint_line!(
                "{name}: note: `machine linux host` is this machine: MemTotal {} kB, SwapTotal {} kB, Linux {}, {} CPUs, vm.overcommit_memory={}, vm.overcommit_ratio={}, vm.admin_reserve_kbytes={}, vm.user_reserve_kbytes={} (with the scenario's options over it)",
                c.ram_bytes / 1024,
                c.swap_bytes / 1024,
                c.kernel,
                c.cpus,
                c.sysctls.overcommit_memory.sysctl_value(),
                c.sysctls.overcommit_ratio,
                c.sysctls.admin_reserve_kbytes,
                c.sysctls.user_reserve_kbytes,
            );
        }
        Err(e) => eprint_line!(
            "{name}: note: `machine linux host`: cannot read this machine ({e}); running on the reference machine `measured` instead"
        ),
    }
}

/// Every diagnostic as `file:line:col: error: …`, the first [`MAX_DIAGNOSTICS`] of them.
fn print_diags(file: &str, diags: &[Diagnostic]) {
    for d in diags.iter().take(MAX_DIAGNOSTICS) {
        eprint_line!("{file}:{}:{}: error: {}", d.pos.line, d.pos.col, d.message);
    }
    if diags.len() > MAX_DIAGNOSTICS {
        let more = diags.len() - MAX_DIAGNOSTICS;
        let s = if more == 1 { "" } else { "s" };
        eprint_line!("{file}: … and {more} more error{s}");
    }
}

fn cmd_run(out: &mut Out, file: &str, json: bool) -> Result<ExitCode, OutError> {
    let src = match load(file) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if json {
        let summary = json::write_document(out.writer(), &src.name, &src.scenario)?;
        return Ok(exit_code(&src.name, &summary, false));
    }
    out.write(&sim::trace_header(src.scenario.machine.os()))?;
    let mut lines = String::new();
    let summary = pipeline::run_steps(&src.scenario, |step| {
        lines.clear();
        sim::write_trace_lines(&mut lines, &step);
        out.write(&lines)?;
        out.step_done()
    })?;
    if !summary.checks.is_empty() {
        out.write("\n")?;
    }
    for c in &summary.checks {
        let tag = if c.passed { "PASS" } else { "FAIL" };
        out.write(&format!(
            "{tag} {}:{}:{}: {} — {}\n",
            src.name, c.pos.line, c.pos.col, c.text, c.detail
        ))?;
    }
    // What was printed is complete before the summary goes to stderr.
    out.flush()?;
    Ok(exit_code(&src.name, &summary, true))
}

fn cmd_check(out: &mut Out, file: &str, real: bool) -> Result<ExitCode, OutError> {
    if !real {
        eprint_line!(
            "vmlab check: say --real (against this machine's kernel) or --wine (a Windows scenario against the Windows API under Wine)"
        );
        return Ok(ExitCode::from(2));
    }
    let src = match load(file) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // A `# real: yes` scenario that asks for what no host can be made to be is refused before
    // anything runs (docs/scenario-language.md, "Real-runnable scenarios").
    if vmlab_os::marker::is_marked(&src.text) {
        let diags = vmlab_os::marker::real_runnable(&src.text, &src.scenario);
        if !diags.is_empty() {
            print_diags(&src.name, &diags);
            return Ok(ExitCode::from(2));
        }
    }
    if !vmlab_os::is_root() {
        eprint_line!(
            "vmlab check --real: {}; nothing was run on the kernel",
            vmlab_os::BackendError::NotRoot
        );
        return Ok(ExitCode::from(2));
    }
    let report = vmlab_os::HelperCommand::current_exe_subcommand(HELPER_SUBCOMMAND)
        .and_then(|helper| vmlab_os::check(&src.scenario, &helper));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprint_line!("vmlab check --real: {}: {e}", src.name);
            return Ok(ExitCode::from(2));
        }
    };
    out.write(&report.render())?;
    out.flush()?;
    // Something the real machine left behind (a sysctl, a helper, a file, a SysV segment)
    // fails the check as a difference does.
    let differs = !report.mismatches.is_empty() || !report.left_behind.is_empty();
    Ok(if differs {
        ExitCode::from(1)
    } else if let Some(why) = &report.stopped {
        eprint_line!(
            "vmlab check --real: {}: not compared to the end: {why}",
            src.name
        );
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `vmlab check --wine FILE`: the model and the Windows API under Wine, side by side
/// (crates/os/src/wincheck.rs). Exit 0 when they agree but for known differences, 1 on a
/// mismatch, 2 when the check could not run or stopped early.
fn cmd_check_wine(out: &mut Out, file: &str) -> Result<ExitCode, OutError> {
    let src = match load(file) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    #[cfg(target_os = "linux")]
    let report = vmlab_os::wincheck::check_wine(&src.scenario);
    #[cfg(not(target_os = "linux"))]
    let report: Result<vmlab_os::wincheck::Report, String> =
        Err("the Wine check runs on Linux".to_string());
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprint_line!("vmlab check --wine: {}: {e}", src.name);
            return Ok(ExitCode::from(2));
        }
    };
    out.write(&report.render())?;
    out.flush()?;
    Ok(if !report.mismatches.is_empty() {
        ExitCode::from(1)
    } else if let Some(why) = &report.stopped {
        eprint_line!(
            "vmlab check --wine: {}: not compared to the end: {why}",
            src.name
        );
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn exit_code(file: &str, run: &RunSummary, summary: bool) -> ExitCode {
    if let Some(e) = &run.error {
        print_diags(file, std::slice::from_ref(e));
        return ExitCode::from(2);
    }
    let failed = run.checks.iter().filter(|c| !c.passed).count();
    if summary {
        eprint_line!(
            "{}: {} steps, {} expectations, {} failed",
            file,
            run.steps,
            run.checks.len(),
            failed
        );
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The state after `at` steps: the machine, and the last two steps (for `explain`'s "before").
struct Replayed {
    name: String,
    summary: RunSummary,
    last: Option<StepRecord>,
    before_last: Option<StepRecord>,
}

/// Replay up to step `at`, keeping only the last two steps, or print why not.
fn replay(file: &str, at: u32) -> Result<Replayed, ExitCode> {
    let src = load(file)?;
    let mut runner = Runner::new(&src.scenario, Some(at));
    let (mut last, mut before_last) = (None, None);
    while let Some(item) = runner.next_item() {
        if let RunItem::Step(step) = item {
            before_last = last.replace(step);
        }
    }
    let summary = runner.finish();
    if let Some(e) = &summary.error {
        print_diags(&src.name, std::slice::from_ref(e));
        return Err(ExitCode::from(2));
    }
    if at > summary.steps {
        eprint_line!(
            "vmlab: {} has {} steps; --at {at} is past the end",
            src.name,
            summary.steps
        );
        return Err(ExitCode::from(2));
    }
    Ok(Replayed {
        name: src.name,
        summary,
        last,
        before_last,
    })
}

/// A usage error found after parsing (a view without its process, …): clap's format, exit 2.
fn usage_error(subcommand: &str, message: String) -> ExitCode {
    let mut cmd = Cli::command();
    // Building propagates the binary's name, so the usage line reads `vmlab show …`.
    cmd.build();
    let err = match cmd.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(clap::error::ErrorKind::InvalidValue, message),
        None => cmd.error(clap::error::ErrorKind::InvalidValue, message),
    };
    let _ = err.print();
    ExitCode::from(2)
}

fn cmd_show(
    out: &mut Out,
    file: &str,
    at: u32,
    view: ShowView,
    proc: Option<&str>,
) -> Result<ExitCode, OutError> {
    let view = match view {
        ShowView::Proc(v) => v,
        ShowView::Windows(name) => {
            let needs = WINDOWS_VIEWS.iter().any(|(n, p)| *n == name && *p);
            if needs && proc.is_none() {
                let what = if name == "job" {
                    "a job name"
                } else {
                    "a process name"
                };
                return Ok(usage_error("show", format!("{name} needs {what}")));
            }
            let r = match replay(file, at) {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            return match r.summary.machine.windows_view(name, proc) {
                Ok(text) => {
                    out.write(&text)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprint_line!("vmlab: {e}");
                    Ok(ExitCode::from(2))
                }
            };
        }
        ShowView::Cgroup(cgfile) => {
            let Some(cg) = proc else {
                return Ok(usage_error(
                    "show",
                    format!("{cgfile} needs a cgroup path (`/` is the root)"),
                ));
            };
            let r = match replay(file, at) {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            let path = cg.strip_prefix('/').unwrap_or(cg);
            return match r.summary.machine.cgroup_view(path, &cgfile) {
                Ok(text) => {
                    out.write(&text)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprint_line!("vmlab: {e}");
                    Ok(ExitCode::from(2))
                }
            };
        }
    };
    // Check the command line before running anything.
    match (view, proc) {
        (View::Meminfo | View::Dmesg | View::Top, Some(_)) => {
            return Ok(usage_error(
                "show",
                format!("{} takes no process", view.name()),
            ));
        }
        (v, None) if v != View::Meminfo && v != View::Dmesg && v != View::Top => {
            return Ok(usage_error(
                "show",
                format!("{} needs a process name", v.name()),
            ));
        }
        _ => {}
    }
    let r = match replay(file, at) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let machine = &r.summary.machine;
    let text = match proc {
        None if view == View::Dmesg => Ok(machine.dmesg()),
        None if view == View::Top => machine.top_text().ok_or_else(|| {
            "top is a Linux view: on Windows use GetProcessMemoryInfo PROC".to_string()
        }),
        None => Ok(machine.meminfo_text()),
        Some(p) => machine.proc_view(p, view.name()).map_err(|e| e.to_string()),
    };
    match text {
        Ok(t) => {
            out.write(&t)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprint_line!("vmlab: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

fn cmd_explain(out: &mut Out, file: &str, at: u32) -> Result<ExitCode, OutError> {
    let r = match replay(file, at) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if at == 0 {
        out.write(&format!(
            "step 0: the machine as booted\n{}",
            r.summary.machine.meminfo_text()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(step) = &r.last else {
        // `replay` checked that step `at` ran, so there is a last step.
        eprint_line!("vmlab: {} has no step {at}", r.name);
        return Ok(ExitCode::from(2));
    };
    let before = r.before_last.as_ref().map_or(0, |s| s.committed_as_kb);
    let windows = r.summary.machine.os() == vmlab_core::machine::Os::Windows;
    out.write(&explain(&r.name, step, before, windows))?;
    Ok(ExitCode::SUCCESS)
}

fn explain(file: &str, s: &StepRecord, committed_before_kb: u64, windows: bool) -> String {
    let mut t = format!(
        "step {} ({file}:{}:{}): {}\n",
        s.step, s.pos.line, s.pos.col, s.text
    );
    t.push_str(&format!("outcome: {}\n", s.outcome));
    // The same three numbers under each OS's names (CommitSummary).
    let (charge, limit, free) = if windows {
        ("CommitTotal", "CommitLimit", "PhysicalAvailable")
    } else {
        ("Committed_AS", "CommitLimit", "MemFree")
    };
    t.push_str(&format!(
        "{charge}: {committed_before_kb} kB → {} kB   {limit}: {} kB   {free}: {} kB\n",
        s.committed_as_kb, s.commit_limit_kb, s.mem_free_kb
    ));
    if s.events.is_empty() {
        t.push_str("no decision was needed\n");
    }
    for (i, e) in s.events.iter().enumerate() {
        t.push_str(&format!(
            "\n{}. [{}] {}\n   rule/source: {}\n",
            i + 1,
            e.reason(),
            e.sentence(),
            e.source()
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
