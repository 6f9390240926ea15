//! The parsed form of a scenario: a machine, then statements (operations and expectations).

use crate::config::{LinuxConfig, MachineConfig, OvercommitMode, Sysctl};
use crate::kernel::KernelVersion;
use crate::op::{Errno, Op};
use crate::query::Query;
use crate::units::{pages_up, PAGE_SIZE};
use serde::{Deserialize, Serialize};

/// A position in the scenario text: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// An error in a scenario, at a position, saying what was expected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.pos.line, self.pos.col, self.message)
    }
}

/// The outcome an `expect` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutcomeSpec {
    Ok,
    Err(Errno),
    Killed,
    /// The call sleeps in the kernel (a memcg charge that waits).
    Blocked,
    /// The kernel panicked (`expect panic`).
    Panic,
    /// A Windows call failed with this error (`expect fails ERROR_COMMITMENT_LIMIT`).
    Win32(crate::windows::op::Win32Error),
}

/// A process state an `expect` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateSpec {
    Running,
    Exited,
    Killed,
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// The right-hand side of a value expectation: a size (bytes, possibly relative to the machine) or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectValue {
    Size(crate::op::Size),
    Number(i64),
}

/// What `expect PROC.vma.MAPPING[AT].VmFlags …` or `….perms …` checks of a VMA piece.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PieceCheck {
    /// `VmFlags has CODE…` (every code is set) or `VmFlags lacks CODE…` (none is).
    Flags { codes: Vec<String>, present: bool },
    /// `perms = rw-p` or `perms != rw-p` (maps' permission column).
    Perms { perms: String, equal: bool },
}

/// What an `expect` line checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// `expect [PROC [VERB]] OUTCOME`: the outcome of the most recent operation (by that process,
    /// with that verb, when given).
    Outcome {
        proc: Option<String>,
        verb: Option<String>,
        outcome: OutcomeSpec,
    },
    /// `expect PROC running|exited|killed`.
    State { proc: String, state: StateSpec },
    /// `expect PROC.vma.MAPPING[AT].VmFlags has|lacks CODE…` and `….perms =|!= PERMS`: the
    /// VMA holding byte AT of the mapping.
    Piece {
        proc: String,
        mapping: String,
        at: crate::op::Size,
        check: PieceCheck,
    },
    /// `expect kernel.log has|lacks TEXT…`: whether a kernel log line logged so far contains
    /// TEXT (words compared with runs of whitespace as one space).
    KernelLog { text: String, present: bool },
    /// `expect QUERY CMP VALUE [± TOLERANCE]`.
    Value {
        query: Query,
        cmp: Cmp,
        value: ExpectValue,
        tolerance: Option<ExpectValue>,
    },
}

/// One statement with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StmtKind {
    Op(Op),
    Expect(Expect),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stmt {
    pub pos: Pos,
    pub kind: StmtKind,
    /// The statement's source text without its comment, for traces and errors.
    pub text: String,
}

/// One option of the first `machine` line, checked and resolved: what it sets on the machine the
/// line starts from (the defaults for `ram=`, `measured`, or the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BootSetting {
    /// `ram=`: MemTotal, rounded up to whole pages; the reserves stay as the base machine has them.
    Ram(u64),
    Swap(u64),
    Kernel(KernelVersion),
    Cpus(u32),
    Sysctl(Sysctl, u64),
    /// `cgroup=v1|v2`: the memory controller's hierarchy.
    Cgroup(crate::config::CgroupVersion),
}

impl BootSetting {
    /// Set this on `c`. A sysctl value has been checked by the parser (`overcommit_memory` is
    /// 0, 1 or 2).
    pub fn apply(self, c: &mut LinuxConfig) {
        match self {
            BootSetting::Ram(b) => c.ram_bytes = pages_up(b) * PAGE_SIZE,
            BootSetting::Swap(b) => c.swap_bytes = b,
            BootSetting::Kernel(k) => c.kernel = k,
            BootSetting::Cpus(n) => c.cpus = n,
            BootSetting::Cgroup(v) => c.cgroup = v,
            BootSetting::Sysctl(sysctl, v) => {
                let s = &mut c.sysctls;
                match sysctl {
                    Sysctl::OvercommitMemory => {
                        s.overcommit_memory =
                            OvercommitMode::from_sysctl(v).unwrap_or(OvercommitMode::Guess)
                    }
                    Sysctl::OvercommitRatio => s.overcommit_ratio = v,
                    Sysctl::OvercommitKbytes => s.overcommit_kbytes = v,
                    Sysctl::AdminReserveKbytes => s.admin_reserve_kbytes = v,
                    Sysctl::UserReserveKbytes => s.user_reserve_kbytes = v,
                    Sysctl::MaxMapCount => s.max_map_count = v,
                    Sysctl::NrHugepages => s.nr_hugepages = v,
                    Sysctl::PanicOnOom => s.panic_on_oom = v,
                    Sysctl::OomKillAllocatingTask => s.oom_kill_allocating_task = v,
                }
            }
        }
    }
}

/// `machine linux host [options…]`: the machine is the host the scenario runs on. The core cannot
/// read the host, so `Scenario::machine` holds the reference machine (`measured`) with the
/// options applied; a front end that can read the host (the CLI on Linux) calls
/// [`Scenario::boot_on_host`], which starts from the host's configuration and applies the same
/// options over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMachine {
    /// The options written after `host`, in order: they override the host's values.
    pub settings: Vec<BootSetting>,
}

/// A parsed scenario: the machine it boots, then its statements in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub machine: MachineConfig,
    /// Set by `machine linux host`: `machine` is then the reference machine until a front end
    /// replaces it with the host's (see [`HostMachine`]).
    #[serde(default)]
    pub host: Option<HostMachine>,
    pub stmts: Vec<Stmt>,
}

impl Scenario {
    /// For `machine linux host`: boot on `host` (the host's configuration, as vmlab-os reads it)
    /// with the scenario's own options over it. Does nothing for any other machine line, and
    /// returns whether it replaced the machine.
    pub fn boot_on_host(&mut self, host: &MachineConfig) -> bool {
        let Some(h) = &self.host else {
            return false;
        };
        let (MachineConfig::Linux(base), MachineConfig::Linux(_)) = (host, &self.machine) else {
            return false;
        };
        let mut c = base.clone();
        for s in &h.settings {
            s.apply(&mut c);
        }
        self.machine = MachineConfig::Linux(c);
        true
    }

    /// The operations in order (the scenario's steps), with their statement positions.
    pub fn ops(&self) -> impl Iterator<Item = (&Stmt, &Op)> {
        self.stmts.iter().filter_map(|s| match &s.kind {
            StmtKind::Op(op) => Some((s, op)),
            StmtKind::Expect(_) => None,
        })
    }
}
