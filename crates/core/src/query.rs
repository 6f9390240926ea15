//! Queries: the numbers an `expect` line (or a UI, or a real backend) can read from a machine.

use crate::op::Errno;
use serde::{Deserialize, Serialize};

/// A value a machine reports. Sizes are bytes; counts and scores are plain numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    Bytes(u64),
    Number(i64),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bytes(b) => write!(f, "{} kB ({})", b / 1024, crate::units::human(*b)),
            Value::Number(n) => write!(f, "{n}"),
        }
    }
}

/// A number to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// `meminfo.FIELD`: a `/proc/meminfo` field (kB fields are returned as bytes; HugePages_* as numbers).
    Meminfo { field: String },
    /// `PROC.FIELD` or `PROC.status.FIELD`: a `/proc/PID/status` field such as VmRSS, RssAnon, VmSize.
    Status { proc: String, field: String },
    /// `PROC.smaps.MAPPING.FIELD`: a field of the smaps entry of the VMA that holds the first page
    /// of the named mapping (Rss, Pss, Shared_Dirty, Private_Dirty, Anonymous, LazyFree, Swap, Size, …).
    Smaps {
        proc: String,
        mapping: String,
        field: String,
    },
    /// `PROC.vma.MAPPING[AT].FIELD` (or `PROC.smaps.MAPPING[AT].FIELD`): the VMA that holds byte
    /// `at` of the named mapping, such as one piece of a mapping that a partial mprotect split.
    /// FIELD is an smaps field of that VMA, or one of [`PIECE_FIELDS`]. `VmFlags` and `perms`
    /// are read by [`crate::machine::Machine::vma_piece`], not as values.
    Piece {
        proc: String,
        mapping: String,
        at: crate::op::Size,
        field: String,
    },
    /// `PROC.rollup.FIELD`: a `/proc/PID/smaps_rollup` field (Rss, Pss, Pss_Anon, …).
    Rollup { proc: String, field: String },
    /// `PROC.vmas`: the number of VMAs (lines of /proc/PID/maps).
    VmaCount { proc: String },
    /// `PROC.oom_score`.
    OomScore { proc: String },
    /// `PROC.oom_score_adj`.
    OomScoreAdj { proc: String },
    /// `PROC.oom_adj` (legacy, scaled).
    OomAdj { proc: String },
    /// `sysctl.vm.NAME`.
    Sysctl { name: String },
    /// `cgroup PATH FILE [KEY]`: a memory cgroup file (v2 or v1 by the machine's `cgroup=`),
    /// or one key of a keyed file (memory.stat, memory.events, memory.oom_control).
    Cgroup {
        path: String,
        file: String,
        key: Option<String>,
    },
    /// `kube working_set POD[/CONTAINER]` (cAdvisor's container_memory_working_set_bytes: the
    /// cgroup's usage less its inactive file pages, never below 0), or the node's with `path`
    /// empty (`kube working_set node`).
    WorkingSet { path: String },
    /// `kube memory.available`: the node's capacity (MemTotal) less its working set, the
    /// kubelet's eviction signal.
    MemoryAvailable,
    /// A field of a structure a Windows API reports.
    Win(crate::windows::query::WinQuery),
}

/// The fields of a VMA piece besides its smaps fields: `start` and `end` (the piece's range
/// within the mapping, as offsets from the mapping's start), `pgoff` (the file offset of the
/// VMA's start in bytes, as maps prints it: 0 for anonymous memory), and the two that are not
/// numbers, `VmFlags` and `perms`.
pub const PIECE_FIELDS: &[&str] = &["start", "end", "pgoff", "VmFlags", "perms"];

/// The VMA that holds one byte of a named mapping, as `/proc/PID/maps` and smaps show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VmaPiece {
    /// The part of the mapping this VMA covers, as offsets from the mapping's start: a VMA that
    /// merged with a neighbour is cut to the mapping's own range.
    pub start: u64,
    pub end: u64,
    /// maps' offset column: the file offset of the VMA's start, in bytes.
    pub pgoff_bytes: u64,
    /// maps' permission column, as `rw-p`.
    pub perms: String,
    /// smaps' VmFlags codes, in the kernel's order.
    pub flags: Vec<&'static str>,
}

/// Why a query could not be answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryError {
    NoSuchProcess(String),
    NoSuchMapping {
        proc: String,
        mapping: String,
    },
    /// The mapping's first page is no longer mapped.
    Unmapped {
        proc: String,
        mapping: String,
    },
    NoSuchField(String),
    /// The byte a piece query names is outside the mapping (`at` bytes into `len`).
    OutsideMapping {
        mapping: String,
        at: u64,
        len: u64,
    },
    /// The process has exited: its /proc files are gone.
    ProcessGone(String),
    Failed(Errno),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::NoSuchProcess(p) => write!(f, "no process named `{p}`"),
            QueryError::NoSuchMapping { proc, mapping } => {
                write!(f, "process `{proc}` has no mapping named `{mapping}`")
            }
            QueryError::Unmapped { proc, mapping } => {
                write!(f, "mapping `{mapping}` of `{proc}` is no longer mapped")
            }
            QueryError::NoSuchField(s) => write!(f, "no field `{s}`"),
            QueryError::OutsideMapping { mapping, at, len } => write!(
                f,
                "byte {at} is past the end of mapping `{mapping}` ({len} bytes)"
            ),
            QueryError::ProcessGone(p) => {
                write!(f, "process `{p}` has exited; its /proc files are gone")
            }
            QueryError::Failed(e) => write!(f, "{}", e.name()),
        }
    }
}
