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
            QueryError::ProcessGone(p) => {
                write!(f, "process `{p}` has exited; its /proc files are gone")
            }
            QueryError::Failed(e) => write!(f, "{}", e.name()),
        }
    }
}
