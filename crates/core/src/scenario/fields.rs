//! The field names an `expect` may read, spelled as the kernel prints them, and whether each is a
//! size (printed in kB; compared in bytes) or a plain number.

use crate::query::Query;

/// `/proc/meminfo` fields printed in kB (fs/proc/meminfo.c: meminfo_proc_show).
pub const MEMINFO_SIZE_FIELDS: &[&str] = &[
    "MemTotal",
    "MemFree",
    "MemAvailable",
    "Buffers",
    "Cached",
    "SwapCached",
    "Active",
    "Inactive",
    "Active(anon)",
    "Inactive(anon)",
    "Active(file)",
    "Inactive(file)",
    "Unevictable",
    "Mlocked",
    "SwapTotal",
    "SwapFree",
    "Dirty",
    "Writeback",
    "AnonPages",
    "Mapped",
    "Shmem",
    "KReclaimable",
    "Slab",
    "SReclaimable",
    "SUnreclaim",
    "KernelStack",
    "PageTables",
    "CommitLimit",
    "Committed_AS",
    "VmallocTotal",
    "VmallocUsed",
    "Hugetlb",
    "Hugepagesize",
];

/// `/proc/meminfo` fields that are counts of huge pages (mm/hugetlb.c: hugetlb_report_meminfo).
pub const MEMINFO_NUMBER_FIELDS: &[&str] = &[
    "HugePages_Total",
    "HugePages_Free",
    "HugePages_Rsvd",
    "HugePages_Surp",
];

/// `/proc/PID/status` fields printed in kB (fs/proc/task_mmu.c: task_mem).
pub const STATUS_SIZE_FIELDS: &[&str] = &[
    "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem",
    "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", "VmSwap",
];

/// `/proc/PID/status` fields that are numbers (fs/proc/array.c: task_state).
pub const STATUS_NUMBER_FIELDS: &[&str] = &["Pid", "PPid", "Threads"];

/// `/proc/PID/smaps` fields of one VMA, in kB (fs/proc/task_mmu.c: show_smap, __show_smap).
pub const SMAPS_SIZE_FIELDS: &[&str] = &[
    "Size",
    "KernelPageSize",
    "MMUPageSize",
    "Rss",
    "Pss",
    "Pss_Dirty",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "LazyFree",
    "AnonHugePages",
    "ShmemPmdMapped",
    "FilePmdMapped",
    "Shared_Hugetlb",
    "Private_Hugetlb",
    "Swap",
    "SwapPss",
    "Locked",
];

/// `/proc/PID/smaps_rollup` fields, in kB. The rollup has the smaps fields except `Size`,
/// `KernelPageSize` and `MMUPageSize` (show_smaps_rollup prints only `__show_smap`), plus the
/// `Pss_Anon`, `Pss_File` and `Pss_Shmem` split.
pub const ROLLUP_SIZE_FIELDS: &[&str] = &[
    "Rss",
    "Pss",
    "Pss_Dirty",
    "Pss_Anon",
    "Pss_File",
    "Pss_Shmem",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "LazyFree",
    "AnonHugePages",
    "ShmemPmdMapped",
    "FilePmdMapped",
    "Shared_Hugetlb",
    "Private_Hugetlb",
    "Swap",
    "SwapPss",
    "Locked",
];

/// What kind of value a query reads, and so what an `expect` must compare it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Bytes: compared with a size that has a unit (`60GiB`, `12%ram`).
    Size,
    /// A plain integer (counts, scores, sysctls).
    Number,
}

/// The kind of value `q` reads, or `None` if its field is not one the scenario language knows.
pub fn query_kind(q: &Query) -> Option<ValueKind> {
    let pick = |field: &str, sizes: &[&str], numbers: &[&str]| {
        if sizes.contains(&field) {
            Some(ValueKind::Size)
        } else if numbers.contains(&field) {
            Some(ValueKind::Number)
        } else {
            None
        }
    };
    match q {
        Query::Win(w) => {
            use crate::windows::query::{self as wq, WinQuery};
            let (structure, field, known) = match w {
                WinQuery::MemoryStatus { field, .. } => {
                    ("GlobalMemoryStatusEx", field, wq::MEMORY_STATUS_FIELDS)
                }
                WinQuery::PerformanceInfo { field, .. } => {
                    ("GetPerformanceInfo", field, wq::PERFORMANCE_FIELDS)
                }
                WinQuery::ProcessMemory { field, .. } => {
                    ("GetProcessMemoryInfo", field, wq::PROCESS_MEMORY_FIELDS)
                }
                WinQuery::VirtualQuery { field, .. } => ("VirtualQuery", field, wq::MBI_FIELDS),
                WinQuery::Job { field, .. } => ("job", field, wq::JOB_FIELDS),
            };
            known.contains(&field.as_str()).then(|| {
                if wq::is_bytes(structure, field) {
                    ValueKind::Size
                } else {
                    ValueKind::Number
                }
            })
        }
        Query::Meminfo { field } => pick(field, MEMINFO_SIZE_FIELDS, MEMINFO_NUMBER_FIELDS),
        Query::Status { field, .. } => pick(field, STATUS_SIZE_FIELDS, STATUS_NUMBER_FIELDS),
        Query::Smaps { field, .. } => pick(field, SMAPS_SIZE_FIELDS, &[]),
        Query::Piece { field, .. } => match field.as_str() {
            "start" | "end" | "pgoff" => Some(ValueKind::Size),
            _ => pick(field, SMAPS_SIZE_FIELDS, &[]),
        },
        Query::Rollup { field, .. } => pick(field, ROLLUP_SIZE_FIELDS, &[]),
        Query::VmaCount { .. }
        | Query::OomScore { .. }
        | Query::OomScoreAdj { .. }
        | Query::OomAdj { .. } => Some(ValueKind::Number),
        Query::Sysctl { name } => crate::config::Sysctl::from_name(name).map(|_| ValueKind::Number),
        Query::Cgroup { file, key, .. } => cgroup_kind(file, key.as_deref()),
        Query::WorkingSet { .. } | Query::MemoryAvailable => Some(ValueKind::Size),
    }
}

/// The kind of a cgroup file or key, in either hierarchy (the parser checks the file against
/// the machine's own hierarchy).
pub fn cgroup_kind(file: &str, key: Option<&str>) -> Option<ValueKind> {
    use crate::config::CgroupVersion;
    use crate::linux::memcg::{file_keys, file_kind, FileKind};
    let (v, (kind, _)) = [CgroupVersion::V2, CgroupVersion::V1]
        .into_iter()
        .find_map(|v| file_kind(v, file).map(|k| (v, k)))?;
    match (kind, key) {
        (FileKind::Bytes, None) => Some(ValueKind::Size),
        (FileKind::Number, None) => Some(ValueKind::Number),
        (FileKind::Keyed, Some(k)) => {
            let known = file_keys(v, file).contains(&k)
                || (file == "memory.stat" && file_keys(CgroupVersion::V1, file).contains(&k));
            if !known {
                return None;
            }
            let counts =
                file != "memory.stat" || k.ends_with("pgfault") || k.ends_with("pgmajfault");
            Some(if counts {
                ValueKind::Number
            } else {
                ValueKind::Size
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let m = |f: &str| query_kind(&Query::Meminfo { field: f.into() });
        assert_eq!(m("Committed_AS"), Some(ValueKind::Size));
        assert_eq!(m("HugePages_Total"), Some(ValueKind::Number));
        assert_eq!(m("committed_as"), None);
        let r = |f: &str| {
            query_kind(&Query::Rollup {
                proc: "p".into(),
                field: f.into(),
            })
        };
        assert_eq!(r("Pss_Anon"), Some(ValueKind::Size));
        assert_eq!(r("Size"), None);
        let s = |f: &str| {
            query_kind(&Query::Smaps {
                proc: "p".into(),
                mapping: "a".into(),
                field: f.into(),
            })
        };
        assert_eq!(s("Size"), Some(ValueKind::Size));
        assert_eq!(s("Pss_Anon"), None);
        assert_eq!(
            query_kind(&Query::Sysctl {
                name: "overcommit_memory".into()
            }),
            Some(ValueKind::Number)
        );
    }
}
