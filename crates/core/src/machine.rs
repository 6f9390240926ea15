//! The seam between OS models: a [`Machine`] is a Linux machine today, and a Windows machine
//! (reserve/commit, commit limit, page file, job objects) joins it behind the same calls.
//!
//! Everything outside `linux/` talks to `Machine` and to the OS-neutral types here: a process
//! by name ([`ProcInfo`], [`ProcState`]), the step's commit charge and limit ([`CommitSummary`]),
//! typed scenario errors ([`OpError`]). What only one OS has (meminfo, smaps, VmFlags) is a
//! per-OS part of [`Snapshot`] or a per-OS view ([`Machine::proc_view`]), never a field reached
//! through the OS model. This is the only file outside `linux/` that names `LinuxMachine`;
//! `Machine::Windows` holds the Windows model (`crate::windows`, model-spec Part W).

use crate::config::MachineConfig;
use crate::event::Event;
use crate::linux::LinuxMachine;
use crate::op::{Op, Outcome};
use crate::query::{Query, QueryError, Value};
use crate::snapshot::{FrameRun, PageState, Snapshot, VmaSnapshot};
use crate::windows::WindowsMachine;
use serde::Serialize;

/// Which OS model a machine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Os {
    Linux,
    Windows,
}

/// The configuration's name for the same OS.
impl From<Os> for crate::config::OsKind {
    fn from(os: Os) -> Self {
        match os {
            Os::Linux => crate::config::OsKind::Linux,
            Os::Windows => crate::config::OsKind::Windows,
        }
    }
}

impl Os {
    /// The name the scenario language and the CLI's JSON use (`machine linux …`, `"os": "linux"`).
    pub fn name(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
        }
    }
}

/// A process's life as every OS model has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProcState {
    Running,
    Exited,
    Killed,
}

/// A process as the seam shows it: what any OS model can say about a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcInfo<'m> {
    pub pid: u32,
    /// Its scenario name.
    pub name: &'m str,
    pub state: ProcState,
    /// The process that forked it (`None` for one the scenario spawned).
    pub parent: Option<u32>,
}

/// The step's commit charge against its limit, in kB, each O(1) to read (unlike the whole
/// meminfo view, which walks every frame run). On Linux the charge is `Committed_AS` and the
/// limit `CommitLimit` (fs/proc/meminfo.c prints the same page counts shifted to kB); on
/// Windows they will be the system commit charge and commit limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    /// The commit charge (Linux: `Committed_AS`).
    pub charge_kb: u64,
    /// The commit limit (Linux: `CommitLimit`, which only mode 2 enforces).
    pub limit_kb: u64,
    /// Free RAM (Linux: `MemFree`).
    pub mem_free_kb: u64,
    /// The rule that decides whether the next charge is granted.
    pub rule: CommitRuleSummary,
    /// The largest single charge the rule grants now (for the process the summary was asked
    /// for), kB; `None` when every charge is granted.
    pub max_request_kb: Option<u64>,
}

/// How a machine decides a commit charge now, with the number a gauge compares against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitRuleSummary {
    /// Every charge is granted (Linux `vm.overcommit_memory=1`).
    NoLimit,
    /// The total charge may not reach `allowed_kb` (Linux mode 2: `CommitLimit` less the admin
    /// reserve, without CAP_SYS_ADMIN, and the user reserve of the process asked for).
    Total { allowed_kb: u64 },
    /// Each request alone is compared with `per_request_kb` (Linux mode 0's heuristic: from
    /// 5.2 RAM + swap, before it free + page cache + free swap less the admin reserve).
    PerRequest { per_request_kb: u64 },
}

/// An operation that refers to something that does not exist or that the model does not cover:
/// a scenario error, not an errno (an errno the process would see is an `Ok(Outcome::Err(..))`).
/// Each variant prints the sentence the run's diagnostic shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum OpError {
    /// No process was ever given this name.
    NoSuchProcess { name: String },
    /// The process exited or was killed (`state` is never `Running`).
    ProcessEnded {
        name: String,
        pid: u32,
        state: ProcState,
    },
    /// A vfork parent waits until its child execs or exits.
    SuspendedInVfork { name: String, child: String },
    /// The process sleeps in its memory cgroup's charge path (v1 `oom_kill_disable`, or nothing
    /// killable in the cgroup) until the limit rises or memory in the cgroup is freed.
    AsleepInMemcg { name: String },
    /// `spawn` or `fork` with the name of a running process.
    NameInUse { name: String },
    /// The process has no address space.
    NoAddressSpace { proc: String },
    /// The process has no mapping of this scenario name.
    NoSuchMapping { proc: String, mapping: String },
    /// A new mapping with the name of one the process already has.
    MappingExists { proc: String, mapping: String },
    /// `file write|read` of a path the scenario made a tmpfs file (a path is one or the other).
    TmpfsPath { path: String },
    /// A case the model does not cover; `what` says which, and why.
    NotModelled { what: String },
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::NoSuchProcess { name } => write!(f, "no process named `{name}`"),
            OpError::ProcessEnded { name, pid, state } => write!(
                f,
                "process `{name}` (pid {pid}) has {}",
                match state {
                    ProcState::Exited => "exited",
                    _ => "been killed",
                }
            ),
            OpError::SuspendedInVfork { name, child } => write!(
                f,
                "process `{name}` is suspended in vfork until its child `{child}` calls exec or exits"
            ),
            OpError::AsleepInMemcg { name } => write!(
                f,
                "process `{name}` is asleep in its memory cgroup's charge path (its last access is blocked) until the limit rises or memory in the cgroup is freed"
            ),
            OpError::NameInUse { name } => {
                write!(f, "a running process is already named `{name}`")
            }
            OpError::NoAddressSpace { proc } => {
                write!(f, "process `{proc}` has no address space")
            }
            OpError::NoSuchMapping { proc, mapping } => {
                write!(f, "process `{proc}` has no mapping named `{mapping}`")
            }
            OpError::TmpfsPath { path } => write!(
                f,
                "`{path}` is a tmpfs file: use `tmpfs write` (a path is a regular file or a tmpfs file, not both)"
            ),
            OpError::MappingExists { proc, mapping } => {
                write!(f, "process `{proc}` already has a mapping named `{mapping}`")
            }
            OpError::NotModelled { what } => f.write_str(what),
        }
    }
}

impl std::error::Error for OpError {}

#[derive(Clone, Debug)]
pub enum Machine {
    Linux(Box<LinuxMachine>),
    Windows(Box<WindowsMachine>),
}

impl Machine {
    pub fn boot(cfg: &MachineConfig) -> Machine {
        match cfg {
            MachineConfig::Linux(c) => Machine::Linux(Box::new(LinuxMachine::new(c.clone()))),
            MachineConfig::Windows(c) => Machine::Windows(Box::new(WindowsMachine::new(c.clone()))),
        }
    }

    pub fn os(&self) -> Os {
        match self {
            Machine::Linux(_) => Os::Linux,
            Machine::Windows(_) => Os::Windows,
        }
    }

    /// The machine's configuration now: the booted one with every runtime change since (a
    /// sysctl write, `swap=`).
    pub fn config(&self) -> MachineConfig {
        match self {
            Machine::Linux(m) => MachineConfig::Linux(m.cfg.clone()),
            Machine::Windows(m) => MachineConfig::Windows(m.cfg.clone()),
        }
    }

    /// Apply one operation. `Err` means the operation refers to something that does not exist
    /// (a scenario error); an errno the process would see is an `Ok(Outcome::Err(..))`.
    pub fn apply(&mut self, op: &Op) -> Result<(Outcome, Vec<Event>), OpError> {
        match self {
            Machine::Linux(m) => m.apply(op),
            Machine::Windows(m) => match op {
                Op::Win(w) => m.apply(w),
                other => Err(OpError::NotModelled {
                    what: format!(
                        "`{}` is a Linux operation; a Windows machine runs Windows calls",
                        other.verb()
                    ),
                }),
            },
        }
    }

    /// The commit charge, its limit, free RAM and the rule in force, in O(1).
    pub fn commit_summary(&self) -> CommitSummary {
        self.commit_summary_for(None)
    }

    /// The commit summary with the rule's numbers for one process (Linux: its total_vm and
    /// CAP_SYS_ADMIN enter `__vm_enough_memory`; `None` is an unprivileged task with an empty
    /// address space). Windows' rule is the same for every process.
    pub fn commit_summary_for(&self, pid: Option<u32>) -> CommitSummary {
        match self {
            Machine::Linux(m) => m.commit_summary_for(pid),
            Machine::Windows(m) => {
                let s = &m.systems[0];
                CommitSummary {
                    charge_kb: s.charge * 4,
                    limit_kb: s.limit() * 4,
                    mem_free_kb: s.free_ram() * 4,
                    // The charge may not pass the limit the page file can still grow to (W3).
                    rule: CommitRuleSummary::Total {
                        allowed_kb: s.max_limit() * 4,
                    },
                    max_request_kb: Some((s.max_limit() - s.charge) * 4),
                }
            }
        }
    }

    /// Whether the kernel has panicked (then no later operation runs).
    pub fn panicked(&self) -> bool {
        match self {
            Machine::Linux(m) => m.panic.is_some(),
            Machine::Windows(_) => false,
        }
    }

    /// The kernel log so far, as `dmesg` prints it (the newest lines the machine keeps).
    /// A `top`-like table of the live processes (largest resident set first), or `None` on an
    /// OS whose model has no such view.
    pub fn top_text(&self) -> Option<String> {
        match self {
            Machine::Linux(m) => Some(m.top_text()),
            Machine::Windows(_) => None,
        }
    }

    pub fn dmesg(&self) -> String {
        match self {
            Machine::Linux(m) => m.dmesg_text(),
            Machine::Windows(_) => String::new(),
        }
    }

    /// The pid of the newest process with this scenario name.
    pub fn pid_of(&self, name: &str) -> Option<u32> {
        self.process(name).map(|p| p.pid)
    }

    /// The state of the newest process with this scenario name.
    pub fn proc_state(&self, name: &str) -> Option<ProcState> {
        self.process(name).map(|p| p.state)
    }

    /// The newest process with this scenario name.
    pub fn process(&self, name: &str) -> Option<ProcInfo<'_>> {
        match self {
            Machine::Linux(m) => m.process_by_name(name),
            Machine::Windows(m) => m.process_by_name(name),
        }
    }

    /// The process with this pid, whatever its state.
    pub fn process_by_pid(&self, pid: u32) -> Option<ProcInfo<'_>> {
        match self {
            Machine::Linux(m) => m.process_info(pid),
            Machine::Windows(m) => m.process_info(pid),
        }
    }

    /// Every process the machine has had, running or not, in pid order.
    pub fn processes(&self) -> Box<dyn Iterator<Item = ProcInfo<'_>> + '_> {
        match self {
            Machine::Linux(m) => Box::new(m.process_infos()),
            Machine::Windows(m) => Box::new(m.process_infos()),
        }
    }

    /// The running processes, in pid order.
    pub fn live_processes(&self) -> impl Iterator<Item = ProcInfo<'_>> + '_ {
        self.processes().filter(|p| p.state == ProcState::Running)
    }

    /// Where a running process's mapping of this scenario name is: `(start, length)` in bytes.
    pub fn mapping(&self, proc: &str, mapping: &str) -> Option<(u64, u64)> {
        match self {
            Machine::Linux(m) => m.mapping_range(proc, mapping),
            Machine::Windows(m) => m.region_range(proc, mapping),
        }
    }

    /// Every named mapping of a running process, in name order, as `(name, start, length)`.
    pub fn mappings(&self, proc: &str) -> Vec<(String, u64, u64)> {
        match self {
            Machine::Linux(m) => m.mapping_ranges(proc),
            Machine::Windows(m) => m.region_ranges(proc),
        }
    }

    /// The resident memory of a running process in kB (Linux: `VmRSS`).
    pub fn resident_kb(&self, pid: u32) -> Option<u64> {
        match self {
            Machine::Linux(m) => m.vm_rss_kb(pid),
            Machine::Windows(m) => m
                .procs
                .get(&pid)
                .filter(|p| p.state == ProcState::Running)
                .map(|p| p.ws_pages() * 4),
        }
    }

    /// Windows: `VirtualQuery(address)` in a running process, its MEMORY_BASIC_INFORMATION
    /// fields by name (what `vmlab check --wine` compares with the real call); `None` on Linux.
    pub fn virtual_query(&self, pid: u32, address: u64) -> Option<Vec<(&'static str, u64)>> {
        match self {
            Machine::Linux(_) => None,
            Machine::Windows(m) => m
                .procs
                .get(&pid)
                .filter(|p| p.state == ProcState::Running)
                .map(|_| m.virtual_query(pid, address)),
        }
    }

    /// RAM and swap in bytes now (what relative sizes such as `50%ram` resolve against).
    pub fn ram_swap_bytes(&self) -> (u64, u64) {
        match self {
            Machine::Linux(m) => (m.cfg.ram_bytes, m.cfg.swap_bytes),
            Machine::Windows(m) => (
                m.cfg.ram_bytes,
                m.systems[0].pagefile_pages * crate::units::PAGE_SIZE,
            ),
        }
    }

    /// The Windows model itself, for white-box tests, benches and the CLI's Windows views.
    pub fn as_windows(&self) -> Option<&WindowsMachine> {
        match self {
            Machine::Windows(m) => Some(m),
            Machine::Linux(_) => None,
        }
    }

    /// The Linux model itself, for white-box tests and benches of it (its ledgers, mms and
    /// indexes). Nothing else may use it: `xtask tidy` allows it only under `crates/core/tests`
    /// and `crates/core/benches`.
    pub fn as_linux(&self) -> Option<&LinuxMachine> {
        match self {
            Machine::Linux(m) => Some(m),
            Machine::Windows(_) => None,
        }
    }

    pub fn query(&self, q: &Query) -> Result<Value, QueryError> {
        match self {
            Machine::Linux(m) => m.query(q),
            Machine::Windows(m) => match q {
                Query::Win(w) => m.query(w),
                _ => Err(QueryError::NoSuchField(
                    "a Linux file on a Windows machine".into(),
                )),
            },
        }
    }

    /// The VMA holding byte `at` of a named mapping (`expect PROC.vma.MAPPING[AT]…`).
    pub fn vma_piece(
        &self,
        proc: &str,
        mapping: &str,
        at: u64,
    ) -> Result<crate::query::VmaPiece, QueryError> {
        match self {
            Machine::Linux(m) => m.vma_piece(proc, mapping, at),
            Machine::Windows(_) => {
                Err(QueryError::NoSuchField("a VMA on a Windows machine".into()))
            }
        }
    }

    /// The machine-wide memory text (Linux: `/proc/meminfo`).
    pub fn meminfo_text(&self) -> String {
        match self {
            Machine::Linux(m) => m.meminfo_text(),
            Machine::Windows(m) => m
                .view_text("GlobalMemoryStatusEx", None)
                .unwrap_or_default(),
        }
    }

    /// A per-process view of a named process. Linux: the `/proc/PID/…` files `maps`, `smaps`,
    /// `smaps_rollup`, `status`, `oom_score`, `oom_score_adj`.
    pub fn proc_view(&self, proc: &str, view: &str) -> Result<String, QueryError> {
        let pid = self
            .pid_of(proc)
            .ok_or_else(|| QueryError::NoSuchProcess(proc.into()))?;
        self.proc_view_of(pid, view)
    }

    /// [`Machine::proc_view`] of the process with this pid.
    pub fn proc_view_of(&self, pid: u32, view: &str) -> Result<String, QueryError> {
        match self {
            Machine::Linux(m) => m.proc_view(pid, view),
            Machine::Windows(m) => m.view_text(view, Some(pid)),
        }
    }

    /// A structure a Windows API reports, as text (docs/windows.md): `GlobalMemoryStatusEx`
    /// and `GetPerformanceInfo` (as `proc` calls them, or the host's), `GetProcessMemoryInfo`
    /// and `VirtualQuery` (of `proc`), `job` (QueryInformationJobObject of the job `proc`).
    pub fn windows_view(&self, view: &str, proc: Option<&str>) -> Result<String, QueryError> {
        let Machine::Windows(m) = self else {
            return Err(QueryError::NoSuchField(format!(
                "{view} is a Windows structure; this is a Linux machine"
            )));
        };
        if view == "job" {
            let job = proc.ok_or_else(|| QueryError::NoSuchField("job needs a job name".into()))?;
            return m.job_text(job);
        }
        let pid = match proc {
            Some(p) => Some(
                self.process(p)
                    .filter(|i| i.state == ProcState::Running)
                    .ok_or_else(|| QueryError::NoSuchProcess(p.into()))?
                    .pid,
            ),
            None => None,
        };
        m.view_text(view, pid)
    }

    /// A memory cgroup file as the kernel prints it (`memory.stat`, `memory.events`,
    /// `memory.current`, v1 `memory.limit_in_bytes`, …) of the cgroup at `path` ("" is the root).
    pub fn cgroup_view(&self, path: &str, file: &str) -> Result<String, QueryError> {
        match self {
            Machine::Linux(m) => m.cgroup_file_text(path, file),
            Machine::Windows(_) => Err(QueryError::NoSuchField(
                "a cgroup on a Windows machine".into(),
            )),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        match self {
            Machine::Linux(m) => m.snapshot(true),
            Machine::Windows(m) => m.snapshot(),
        }
    }

    /// [`Machine::snapshot`] with every process's `vmas` empty; [`Machine::vma_snapshots`]
    /// yields them one at a time (the CLI streams a final machine of 100,000 VMAs this way).
    pub fn snapshot_without_vmas(&self) -> Snapshot {
        match self {
            Machine::Linux(m) => m.snapshot(false),
            Machine::Windows(m) => m.snapshot(),
        }
    }

    /// The `vmas` of process `pid` in [`Machine::snapshot`], one at a time.
    pub fn vma_snapshots(&self, pid: u32) -> Box<dyn Iterator<Item = VmaSnapshot> + '_> {
        match self {
            Machine::Linux(m) => Box::new(m.vma_snapshots(pid)),
            Machine::Windows(_) => Box::new(std::iter::empty()),
        }
    }

    /// The page states of `[start, end)` (byte addresses) of a process, as runs
    /// `(start_page, pages, state)`; pages outside any mapping are skipped.
    pub fn page_runs(&self, pid: u32, start: u64, end: u64) -> Vec<(u64, u64, PageState)> {
        match self {
            Machine::Linux(m) => m.page_runs(pid, start, end),
            Machine::Windows(m) => m.page_runs(pid, start, end),
        }
    }

    /// Every memory cgroup with its files' numbers at this step, parent before children (the
    /// web app's cgroup tree and its memory.current chart); empty on an OS without cgroups.
    pub fn cgroups(&self) -> Vec<crate::snapshot::CgroupSnapshot> {
        match self {
            Machine::Linux(m) => m.cgroup_snapshots(),
            Machine::Windows(_) => Vec::new(),
        }
    }

    /// The physical frames a process maps, as runs in virtual address order (what the web app's
    /// physical-memory strip draws); pages that map no frame are left out.
    pub fn frame_runs(&self, pid: u32) -> Vec<FrameRun> {
        match self {
            Machine::Linux(m) => m.frame_runs(pid),
            Machine::Windows(_) => Vec::new(),
        }
    }

    /// The names a scenario gave a running process's mappings, with the byte range each was
    /// created with, in order of start address.
    pub fn mapping_names(&self, pid: u32) -> Vec<(String, u64, u64)> {
        match self {
            Machine::Linux(m) => m.mapping_names(pid),
            Machine::Windows(m) => m.region_names_by_pid(pid),
        }
    }

    /// Check every model invariant; a violation is a model bug (used after every step in tests).
    pub fn check_invariants(&self) -> Result<(), String> {
        match self {
            Machine::Linux(m) => m.check_invariants(),
            Machine::Windows(m) => m.check_invariants(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::Target;
    use crate::scenario::parse;
    use crate::sim;

    fn machine(text: &str) -> Machine {
        let s = parse(text).expect("the test scenario parses");
        let run = sim::run(&s);
        assert!(run.error.is_none(), "{:?}", run.error);
        run.machine
    }

    #[test]
    fn the_seam_answers_processes_and_named_mappings() {
        let m = machine(
            "machine linux ram=1GiB\nspawn a\na mmap x 1MiB rw private anon\na fork b\n\
             spawn c\nc exit\n",
        );
        let b = m.process("b").expect("b exists");
        assert_eq!(
            (b.name, b.state, b.parent),
            ("b", ProcState::Running, m.pid_of("a"))
        );
        assert_eq!(m.process_by_pid(b.pid), Some(b));
        assert_eq!(m.proc_state("c"), Some(ProcState::Exited));
        assert_eq!(m.process("zz"), None);
        let all: Vec<&str> = m.processes().map(|p| p.name).collect();
        assert_eq!(all, ["a", "b", "c"]);
        let live: Vec<&str> = m.live_processes().map(|p| p.name).collect();
        assert_eq!(live, ["a", "b"]);
        let (start, len) = m.mapping("a", "x").expect("a has x");
        assert_eq!(len, 1 << 20);
        // The child's copy of the address space has the mapping at the same address.
        assert_eq!(m.mappings("b"), vec![("x".to_string(), start, len)]);
        assert_eq!(m.mapping("c", "x"), None);
        assert!(m.resident_kb(b.pid).is_some() && m.resident_kb(m.pid_of("c").unwrap()).is_none());
        assert_eq!(m.os().name(), "linux");
    }

    #[test]
    fn each_op_error_prints_the_sentence_the_run_reports() {
        let mut m = machine(
            "machine linux ram=1GiB\nspawn a\na mmap x 1MiB rw private anon\nspawn d\nd exit\n\
             spawn p\np vfork c\n",
        );
        let target = |mapping: &str| Target {
            mapping: mapping.into(),
            range: None,
        };
        let munmap = |proc: &str, mapping: &str| Op::Munmap {
            proc: proc.into(),
            target: target(mapping),
        };
        let spawn = Op::Spawn {
            name: "c".into(),
            cap_sys_admin: false,
            oom_score_adj: 0,
        };
        let mmap_again = parse("machine linux ram=1GiB\nspawn a\na mmap x 1MiB rw private anon\n")
            .expect("parses")
            .ops()
            .last()
            .map(|(_, op)| op.clone())
            .expect("an mmap");
        let d = m.pid_of("d").unwrap();
        let cases = [
            (munmap("zz", "x"), "no process named `zz`".to_string()),
            (
                munmap("d", "x"),
                format!("process `d` (pid {d}) has exited"),
            ),
            (
                munmap("p", "x"),
                "process `p` is suspended in vfork until its child `c` calls exec or exits".into(),
            ),
            (spawn, "a running process is already named `c`".into()),
            (
                munmap("a", "y"),
                "process `a` has no mapping named `y`".into(),
            ),
            (
                mmap_again,
                "process `a` already has a mapping named `x`".into(),
            ),
        ];
        for (op, want) in cases {
            let e = m.apply(&op).expect_err("a scenario error");
            assert_eq!(e.to_string(), want, "{op:?} gave {e:?}");
        }
        let killed = OpError::ProcessEnded {
            name: "k".into(),
            pid: 7,
            state: ProcState::Killed,
        };
        assert_eq!(killed.to_string(), "process `k` (pid 7) has been killed");
    }

    #[test]
    fn the_commit_rule_is_the_overcommit_modes_test() {
        let rule = |options: &str| {
            machine(&format!(
                "machine linux ram=1GiB swap=1GiB admin_reserve_kbytes=8192 \
                 user_reserve_kbytes=131072 {options}\n"
            ))
            .commit_summary()
        };
        // Mode 2: CommitLimit = 50% of RAM + swap = 1,572,864 kB. A task with an empty address
        // space has no user reserve (min(0/32, …)), only the admin reserve.
        let never = rule("overcommit=2");
        assert_eq!((never.charge_kb, never.limit_kb), (0, 1_572_864));
        assert_eq!(
            never.rule,
            CommitRuleSummary::Total {
                allowed_kb: 1_572_864 - 8192
            }
        );
        // Committed_AS + pages < allowed: the largest request is one page short of it.
        assert_eq!(never.max_request_kb, Some(1_572_864 - 8192 - 4));
        // Per process: `a` maps 4 GiB read-only (total_vm = 2^20 pages, no charge), so its user
        // reserve is min(2^20/32, 131072 kB / 4) = 32768 pages = the cap; `r` has
        // CAP_SYS_ADMIN and an empty mm, so neither reserve applies to it.
        let m = machine(
            "machine linux ram=1GiB swap=1GiB admin_reserve_kbytes=8192 \
             user_reserve_kbytes=131072 overcommit=2\nspawn a\na mmap big 4GiB r private anon\n\
             spawn r admin\n",
        );
        let for_ = |n: &str| m.commit_summary_for(m.pid_of(n)).rule;
        assert_eq!(
            for_("a"),
            CommitRuleSummary::Total {
                allowed_kb: 1_572_864 - 8192 - 131_072
            }
        );
        assert_eq!(
            for_("r"),
            CommitRuleSummary::Total {
                allowed_kb: 1_572_864
            }
        );
        assert_eq!(rule("overcommit=1").rule, CommitRuleSummary::NoLimit);
        // Mode 0 from 5.2: one request may be up to RAM + swap.
        assert_eq!(
            rule("overcommit=0 kernel=6.6").rule,
            CommitRuleSummary::PerRequest {
                per_request_kb: 2 << 20
            }
        );
        // Before 5.2: free + page cache + free swap, less the admin reserve.
        let old = rule("overcommit=0 kernel=4.19");
        assert_eq!(old.mem_free_kb, 1 << 20);
        assert_eq!(
            old.rule,
            CommitRuleSummary::PerRequest {
                per_request_kb: (2 << 20) - 8192
            }
        );
    }
}
