//! A small plain-data picture of a machine at one step, for the CLI's JSON, the web app and
//! the invariant sweeps: what every OS has (its processes) and a per-OS part for what only one
//! OS has (Linux: meminfo, status, smaps, VmFlags). Page runs are not copied here: ask the
//! machine for the runs of a range ([`crate::machine::Machine::page_runs`]).

use crate::machine::{Os, ProcState};
use serde::Serialize;

/// One Linux VMA as maps and smaps show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VmaSnapshot {
    pub start: u64,
    pub end: u64,
    /// `rw-p` as in maps.
    pub perms: String,
    /// VmFlags codes (`rd wr mr mw me ac`).
    pub flags: String,
    pub accounted: bool,
    /// The mapping's path or `[heap]`/`[stack]`, empty for anonymous memory.
    pub name: String,
    /// Scenario names of mappings that start inside this VMA.
    pub labels: Vec<String>,
    /// smaps numbers in kB.
    pub rss_kb: u64,
    pub pss_kb: u64,
    pub shared_clean_kb: u64,
    pub shared_dirty_kb: u64,
    pub private_clean_kb: u64,
    pub private_dirty_kb: u64,
    pub anonymous_kb: u64,
    pub lazyfree_kb: u64,
    pub swap_kb: u64,
}

/// A process: what every OS model has, then its OS's own part.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessSnapshot {
    pub pid: u32,
    pub name: String,
    pub ppid: Option<u32>,
    pub state: ProcState,
    pub os: OsProcessSnapshot,
}

/// The per-OS part of a [`ProcessSnapshot`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum OsProcessSnapshot {
    Linux(LinuxProcessSnapshot),
    Windows(WindowsProcessSnapshot),
}

/// What Windows reports of a process: its PROCESS_MEMORY_COUNTERS_EX and its allocations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowsProcessSnapshot {
    pub private_usage_bytes: u64,
    pub working_set_bytes: u64,
    /// Reserved + committed bytes (Process Explorer's "Virtual Size").
    pub virtual_size_bytes: u64,
    /// The allocations: (base, size, scenario name or "").
    pub regions: Vec<(u64, u64, String)>,
}

/// What Linux shows of a process: /proc/PID/status, oom_score, smaps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinuxProcessSnapshot {
    pub oom_score: i64,
    pub oom_score_adj: i32,
    /// /proc/PID/status memory fields, kB.
    pub status: Vec<(String, u64)>,
    pub pss_kb: u64,
    pub vmas: Vec<VmaSnapshot>,
}

impl ProcessSnapshot {
    /// The Linux part (every process of a Linux machine has one).
    pub fn linux(&self) -> Option<&LinuxProcessSnapshot> {
        match &self.os {
            OsProcessSnapshot::Linux(l) => Some(l),
            OsProcessSnapshot::Windows(_) => None,
        }
    }

    pub fn linux_mut(&mut self) -> Option<&mut LinuxProcessSnapshot> {
        match &mut self.os {
            OsProcessSnapshot::Linux(l) => Some(l),
            OsProcessSnapshot::Windows(_) => None,
        }
    }
}

/// A machine: its processes, then its OS's own part.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    pub processes: Vec<ProcessSnapshot>,
    pub os: OsSnapshot,
}

/// The per-OS part of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum OsSnapshot {
    Linux(LinuxSnapshot),
    Windows(WindowsSnapshot),
}

/// What Windows reports of the host system (PERFORMANCE_INFORMATION, in pages) and its page file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowsSnapshot {
    pub commit_total_pages: u64,
    pub commit_limit_pages: u64,
    pub commit_peak_pages: u64,
    pub physical_total_pages: u64,
    pub physical_available_pages: u64,
    pub pagefile_pages: u64,
    pub pagefile_max_pages: u64,
    /// Every job object, by name, with what JOBOBJECT_EXTENDED_LIMIT_INFORMATION reports of it.
    pub jobs: Vec<JobSnapshot>,
    /// Every system: the host first (the numbers above), then each Hyper-V container's
    /// utility VM, whose APIs report the VM (model-spec W5).
    pub systems: Vec<SystemSnapshot>,
    /// Every running process: what it can really still commit next to what
    /// GlobalMemoryStatusEx tells it (the Windows model's `commit_room`).
    pub commit_room: Vec<CommitRoomSnapshot>,
}

/// What one process can really still commit, the model's answer, beside `ullAvailPageFile`,
/// the API's, which overstates it when other processes share the job (docs/windows.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitRoomSnapshot {
    pub pid: u32,
    pub room_bytes: u64,
    /// What binds it, as a sentence.
    pub bound: String,
    pub avail_page_file_bytes: u64,
}

/// One system's PERFORMANCE_INFORMATION numbers (pages) and page file: the host, or a Hyper-V
/// container's utility VM with its own RAM, page file and base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SystemSnapshot {
    /// "host", or "the Hyper-V VM of container `c`".
    pub label: String,
    /// The Hyper-V container whose VM this is (None: the host).
    pub container: Option<String>,
    pub commit_total_pages: u64,
    pub commit_limit_pages: u64,
    /// The limit with the page file at its maximum.
    pub commit_max_limit_pages: u64,
    pub commit_peak_pages: u64,
    pub physical_total_pages: u64,
    pub physical_available_pages: u64,
    pub pagefile_pages: u64,
    pub pagefile_max_pages: u64,
    /// Pages the VM itself holds, charged and resident (0 on the host).
    pub base_pages: u64,
}

/// One job object as QueryInformationJobObject(JobObjectExtendedLimitInformation) reports it
/// (Learn: JOBOBJECT_EXTENDED_LIMIT_INFORMATION; model-spec W6). Its current commit usage is
/// not here: Windows offers no query for it (the seed), only the peaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobSnapshot {
    pub name: String,
    /// The job it is nested in, if any.
    pub parent: Option<String>,
    /// JobMemoryLimit and ProcessMemoryLimit in bytes; None: the limit flag is not set.
    pub job_memory_limit_bytes: Option<u64>,
    pub process_memory_limit_bytes: Option<u64>,
    pub peak_job_memory_bytes: u64,
    pub peak_process_memory_bytes: u64,
    /// The processes directly in it, by pid.
    pub pids: Vec<u32>,
    /// The container this job is, with its isolation (`process` or `hyperv`), if it is one.
    pub container: Option<(String, String)>,
}

/// What Linux shows of the whole machine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinuxSnapshot {
    pub kernel: String,
    pub overcommit_memory: u64,
    /// /proc/meminfo, kB (HugePages_* are counts).
    pub meminfo: Vec<(String, u64)>,
    /// The memory controller's hierarchy, `v1` or `v2` (which files the numbers below are).
    pub cgroup_version: String,
    /// Every memory cgroup, the root first, each parent before its children (path order).
    pub cgroups: Vec<CgroupSnapshot>,
}

/// One memory cgroup as its files read at the step (model-spec L9): the numbers are the ones
/// `expect cgroup …` and `vmlab show … memory.* CG` read, in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupSnapshot {
    /// Relative to the root, '/'-separated; "" is the root.
    pub path: String,
    /// 0 for the root, 1 for its children, …
    pub depth: u32,
    /// memory.current (v2), memory.usage_in_bytes (v1): this cgroup and its descendants.
    pub current_bytes: u64,
    /// memory.peak (v2), memory.max_usage_in_bytes (v1).
    pub peak_bytes: u64,
    /// memory.high (v2 only); None: `max`, or a v1 hierarchy (which has no such file).
    pub high_bytes: Option<u64>,
    /// memory.max (v2), memory.limit_in_bytes (v1); None: no limit (`max`).
    pub max_bytes: Option<u64>,
    /// memory.events `oom` (v2; hierarchical); None on v1, which has no memory.events.
    pub oom_events: Option<u64>,
    /// memory.events `oom_kill` (v2), memory.oom_control `oom_kill` (v1).
    pub oom_kills: u64,
    /// Swap charged to the cgroup and its descendants: memory.swap.current (v2), or what v1's
    /// memory.memsw.usage_in_bytes holds above memory.usage_in_bytes (memory.stat total_swap).
    pub swap_bytes: u64,
    /// The running processes attached to this cgroup itself (not its descendants), by pid.
    pub pids: Vec<u32>,
    /// The Kubernetes pod (or QoS tier) this cgroup is in the kubelet's layout, if any.
    pub pod: Option<PodSnapshot>,
}

/// Where a cgroup sits in the kubelet's cgroupfs layout (model-spec L10): the QoS class its
/// path gives, the pod and the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PodSnapshot {
    /// `Guaranteed`, `Burstable` or `BestEffort`.
    pub qos: String,
    /// None for a QoS tier itself (`kubepods/burstable`).
    pub pod: Option<String>,
    pub container: Option<String>,
}

impl Snapshot {
    pub fn os_kind(&self) -> Os {
        match self.os {
            OsSnapshot::Linux(_) => Os::Linux,
            OsSnapshot::Windows(_) => Os::Windows,
        }
    }

    /// The Linux part (a Linux machine's snapshot has one).
    pub fn linux(&self) -> Option<&LinuxSnapshot> {
        match &self.os {
            OsSnapshot::Linux(l) => Some(l),
            OsSnapshot::Windows(_) => None,
        }
    }
}

/// The state of a virtual page as the page view shows it (model-spec L5.1). A Windows machine's
/// page states (reserved, committed, in the page file) join these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PageState {
    /// Mapped but never touched.
    Untouched,
    /// Mapped to the shared zero page by a read fault.
    Zero,
    /// A resident page only this mapping uses.
    Private,
    /// A resident page mapped `mapcount` times (COW after fork, or a shared mapping).
    Shared {
        mapcount: u32,
    },
    Swapped,
    /// Resident but MADV_FREE'd.
    LazyFree,
    /// A page-cache page of a file mapped here (read through the mapping, not yet copied on a
    /// private write): reclaim can drop it when clean, it counts in Cached, not AnonPages.
    PageCache,
    /// Windows: reserved address space, not committed (MEM_RESERVE; model-spec W2).
    Reserved,
    /// Windows: committed (charged) but never touched: not in the working set (W2, W4).
    Committed,
    /// Windows: committed and resident, in the process's working set (W4).
    WorkingSet,
    /// Windows: committed, trimmed and written to the page file (W3, W4).
    PageFile,
    /// Windows: a page of a mapped view of a section (W7).
    View,
}

impl PageState {
    pub fn label(&self) -> &'static str {
        match self {
            PageState::Untouched => "untouched",
            PageState::Zero => "zero page",
            PageState::Private => "resident private",
            PageState::Shared { .. } => "resident shared",
            PageState::Swapped => "swapped",
            PageState::LazyFree => "lazy-free",
            PageState::PageCache => "page cache",
            PageState::Reserved => "reserved",
            PageState::Committed => "committed",
            PageState::WorkingSet => "working set",
            PageState::PageFile => "page file",
            PageState::View => "mapped view",
        }
    }
}

/// A run of a process's pages that map consecutive physical frames: what the web app's physical
/// memory strip draws, so that one frame mapped by a parent and its children is seen as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FrameRun {
    /// The first virtual page (address >> 12) and how many pages the run has.
    pub vpage: u64,
    pub pages: u64,
    /// The first physical frame: the run maps `pfn, pfn+1, …`.
    pub pfn: u64,
    /// How many page-table entries map each frame of the run (the kernel's mapcount).
    pub mapcount: u32,
}

#[cfg(test)]
mod tests {
    use crate::machine::Machine;
    use crate::scenario::parse;
    use crate::sim;

    /// The streamed parts (a snapshot without VMAs, then each process's VMAs) are the snapshot.
    #[test]
    fn the_streamed_snapshot_is_the_whole_snapshot() {
        let s = parse(
            "machine linux ram=8GiB\nspawn a\na mmap x 8MiB rw private anon\n\
             a mmap y 1MiB r private anon below=x gap=4KiB\na write x[0..3MiB]\na fork b\n\
             b write x[1MiB..2MiB]\nspawn c\nc exit\n",
        )
        .expect("parses");
        let m: Machine = sim::run(&s).machine;
        let whole = m.snapshot();
        let mut streamed = m.snapshot_without_vmas();
        let linux = |p: &super::ProcessSnapshot| p.linux().expect("a Linux process").clone();
        assert!(streamed.processes.iter().all(|p| linux(p).vmas.is_empty()));
        for p in &mut streamed.processes {
            let pid = p.pid;
            p.linux_mut().expect("a Linux process").vmas = m.vma_snapshots(pid).collect();
        }
        assert_eq!(streamed, whole);
        let (p0, p1) = (linux(&whole.processes[0]), linux(&whole.processes[1]));
        assert!(p0.vmas.len() >= 2 && p1.pss_kb > 0);
    }
    /// A frame a parent shares with two children is one frame in all three lists (mapcount 3);
    /// a child's write moves its copy to frames of its own and leaves the others at mapcount 2.
    #[test]
    fn frame_runs_show_cow_sharing_and_its_break() {
        let s = parse(
            "machine linux ram=8GiB\nspawn p\np mmap x 4MiB rw private anon\np write x\n\
             p fork a\np fork b\na write x[0..1MiB]\n",
        )
        .expect("parses");
        let before = sim::machine_at(&s, 5);
        let after = sim::machine_at(&s, 6);
        let runs = |m: &Machine, name: &str| {
            let pid = m.pid_of(name).expect("pid");
            m.frame_runs(pid)
        };
        let p0 = runs(&before, "p");
        assert_eq!(p0.len(), 1);
        assert_eq!((p0[0].pages, p0[0].mapcount), (1024, 3));
        assert_eq!(runs(&before, "a"), p0);
        assert_eq!(runs(&before, "b"), p0);
        let (p1, a1) = (runs(&after, "p"), runs(&after, "a"));
        // The parent keeps its frames: the first MiB of them is now mapped by it and b (2), the
        // rest still by all three; a's first MiB is a frame run of its own.
        assert_eq!(p1.iter().map(|r| r.pfn).min(), Some(p0[0].pfn));
        assert_eq!(
            p1.iter().map(|r| (r.pages, r.mapcount)).collect::<Vec<_>>(),
            vec![(256, 2), (768, 3)]
        );
        assert_eq!(a1[0].pages, 256);
        assert_eq!(a1[0].mapcount, 1);
        assert!(a1[0].pfn + 256 <= p0[0].pfn || a1[0].pfn >= p0[0].pfn + 1024);
        assert_eq!(a1[1], p1[1]);
        assert_eq!(runs(&after, "b"), p1);
        let names = after.mapping_names(after.pid_of("a").expect("a"));
        assert_eq!(names.len(), 1);
        assert_eq!(
            (names[0].0.as_str(), names[0].2 - names[0].1),
            ("x", 4 << 20)
        );
    }

    /// Each cgroup's numbers in the snapshot are what its files read (the CLI's `show … memory.*
    /// CG` and `expect cgroup`), at every step of the memcg, OOM and kube scenarios; a kube
    /// container's cgroup names its pod and QoS class.
    #[test]
    fn cgroup_snapshots_read_what_the_files_read() {
        let read = |m: &Machine, path: &str, file: &str, key: Option<&str>| -> Option<u64> {
            let text = m.cgroup_view(path, file).ok()?;
            let v = match key {
                None => text.trim().to_string(),
                Some(k) => text
                    .lines()
                    .find_map(|l| l.strip_prefix(k)?.strip_prefix(' ').map(str::to_string))?,
            };
            match v.as_str() {
                "max" | "9223372036854771712" => None,
                n => Some(n.parse().expect("a number")),
            }
        };
        let mut compared = 0;
        for file in [
            "memcg-victim-choice",
            "kube-node-pressure",
            "memcg-high-throttle",
            "memcg-oom-group",
            "memcg-swap-limits",
        ] {
            let path = format!(
                "{}/../../scenarios/{file}.vmlab",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("the scenario");
            let s = parse(&text).expect("parses");
            let steps = sim::run(&s).steps.len() as u32;
            let v2 = !text.contains("cgroup=v1");
            for step in [steps / 2, steps] {
                let m = sim::machine_at(&s, step);
                let cgs = m.cgroups();
                assert_eq!(cgs[0].path, "", "{file}: the root comes first");
                for c in cgs.iter().skip(1) {
                    let p = c.path.as_str();
                    let (cur, max, peak) = if v2 {
                        ("memory.current", "memory.max", "memory.peak")
                    } else {
                        (
                            "memory.usage_in_bytes",
                            "memory.limit_in_bytes",
                            "memory.max_usage_in_bytes",
                        )
                    };
                    assert_eq!(Some(c.current_bytes), read(&m, p, cur, None), "{file} {p}");
                    assert_eq!(c.max_bytes, read(&m, p, max, None), "{file} {p}");
                    assert_eq!(Some(c.peak_bytes), read(&m, p, peak, None), "{file} {p}");
                    if v2 {
                        assert_eq!(c.high_bytes, read(&m, p, "memory.high", None));
                        let ev = |k| read(&m, p, "memory.events", Some(k));
                        assert_eq!(c.oom_events, ev("oom"), "{file} {p}");
                        assert_eq!(Some(c.oom_kills), ev("oom_kill"), "{file} {p}");
                    } else {
                        let k = read(&m, p, "memory.oom_control", Some("oom_kill"));
                        assert_eq!(Some(c.oom_kills), k, "{file} {p}");
                    }
                    let swap = if v2 {
                        read(&m, p, "memory.swap.current", None)
                    } else {
                        read(&m, p, "memory.stat", Some("total_swap"))
                    };
                    assert_eq!(Some(c.swap_bytes), swap, "{file} {p}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 20, "{compared}");
        // The kube node: the pods' QoS classes from the kubelet's layout, the processes in them.
        let text = include_str!("../../../scenarios/kube-node-pressure.vmlab");
        let s = parse(text).expect("parses");
        let m = sim::machine_at(&s, 19);
        let cgs = m.cgroups();
        let at = |p: &str| cgs.iter().find(|c| c.path == p).expect(p);
        let app = at("kubepods/burstable/podapi/app");
        let pod = app.pod.as_ref().expect("a pod");
        assert_eq!(
            (
                pod.qos.as_str(),
                pod.pod.as_deref(),
                pod.container.as_deref()
            ),
            ("Burstable", Some("api"), Some("app"))
        );
        assert_eq!(app.pids, vec![m.pid_of("app").expect("app")]);
        assert_eq!(app.depth, 4);
        let db = at("kubepods/poddb").pod.as_ref().expect("db");
        assert_eq!(
            (db.qos.as_str(), db.container.as_deref()),
            ("Guaranteed", None)
        );
        assert_eq!(at("kubepods").pod, None);
        assert_eq!(at("kubepods/besteffort/podbatch/job").max_bytes, None);
        assert_eq!(at("kubepods/poddb/pg").max_bytes, Some(1 << 30));
    }

    /// A file's pages mapped from the page cache are their own page state, swapped pages theirs.
    #[test]
    fn page_cache_and_swapped_pages_have_their_states() {
        use super::PageState;
        let s = parse(
            "machine linux ram=64MiB swap=64MiB\nspawn a\na mmap f 8MiB r private file /srv/data.bin\n\
             a read f[0..4MiB]\na mmap x 80MiB rw private anon\na write x\n",
        )
        .expect("parses");
        let m = sim::machine_at(&s, 4);
        let pid = m.pid_of("a").expect("a");
        let (fs, fl) = m.mapping("a", "f").expect("f");
        let runs = m.page_runs(pid, fs, fs + fl);
        assert_eq!(runs[0].2, PageState::PageCache, "{runs:?}");
        assert_eq!(runs[0].1, 1024);
        let m = sim::machine_at(&s, 6);
        let (xs, xl) = m.mapping("a", "x").expect("x");
        let runs = m.page_runs(pid, xs, xs + xl);
        assert!(runs.iter().any(|r| r.2 == PageState::Swapped), "{runs:?}");
        assert!(runs.iter().any(|r| r.2 == PageState::Private), "{runs:?}");
    }
}
