//! The plain data the components draw: a scenario's run and the machine at one step, copied out of
//! vmlab-core by `engine` so that the view code never depends on the core's internals.

/// One diagnostic at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagView {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// One event: the core's machine-readable reason, its rule's source and its sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventView {
    pub reason: String,
    pub source: String,
    pub sentence: String,
    pub pid: Option<u32>,
    /// The VMA or page range the event is about, as byte addresses `[start, end)`.
    pub span: Option<(u64, u64)>,
    /// A write fault that copied pages shared copy-on-write (the COW break).
    pub cow_break: bool,
    /// An OOM killer invocation: its whole candidate table, as the core's event carries it.
    pub oom: Option<std::rc::Rc<OomView>>,
}

/// One invocation of the OOM killer, copied from the core's event (global or memcg).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OomView {
    /// `global` (CONSTRAINT_NONE) or the memory cgroup's path (CONSTRAINT_MEMCG).
    pub memcg: Option<String>,
    /// The kernel's constraint name, `CONSTRAINT_NONE` or `CONSTRAINT_MEMCG`.
    pub constraint: String,
    /// The `totalpages` badness was scaled by (RAM + swap, or the cgroup's limit).
    pub totalpages: u64,
    pub rows: Vec<OomRowView>,
    /// The pid killed; None when nothing was killable (or the machine panicked first).
    pub victim: Option<u32>,
    /// How the victim was chosen, or why none was, as a short phrase.
    pub choice: String,
}

/// One row of the OOM killer's task table (mm/oom_kill.c: dump_task), in pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OomRowView {
    pub pid: u32,
    pub name: String,
    /// RssAnon + RssFile + RssShmem.
    pub rss_pages: u64,
    pub swap_pages: u64,
    pub pgtables_bytes: u64,
    pub oom_score_adj: i32,
    /// The badness oom_evaluate_task gave it; None: not eligible (adj −1000, or skipped).
    pub points: Option<i64>,
}

impl EventView {
    /// Events that change the VMA layout, highlighted in the address-space view on their step.
    pub fn is_vma_change(&self) -> bool {
        matches!(
            self.reason.as_str(),
            "vma.merged" | "vma.split" | "vma.created" | "vma.removed"
        )
    }
}

/// One step of a run: the operation, its outcome and the events it caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepView {
    /// 1-based step number; step 0 is the booted machine before any operation.
    pub step: u32,
    pub line: u32,
    pub text: String,
    pub outcome: String,
    pub ok: bool,
    pub events: Vec<EventView>,
}

/// One `expect` line's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckView {
    pub line: u32,
    pub text: String,
    pub passed: bool,
    pub detail: String,
}

/// A whole run: every step, every check, and the error that stopped it early, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunView {
    pub steps: Vec<StepView>,
    pub checks: Vec<CheckView>,
    pub error: Option<DiagView>,
    /// The scenario's operations and `expect` lines, as the core parsed them: a run that stops
    /// early applied fewer operations and checked fewer expectations than these.
    pub ops_total: u32,
    pub expects_total: u32,
    /// The steps with an OOM killer event, in order.
    pub oom_steps: Vec<u32>,
}

impl RunView {
    /// The OOM reports to show at `cursor`: the step's own (true), else those of the last step
    /// before it that had one (false); none before the first OOM. O(log steps).
    pub fn ooms_at(&self, cursor: u32) -> (Vec<(u32, std::rc::Rc<OomView>)>, bool) {
        let i = self.oom_steps.partition_point(|s| *s <= cursor);
        let Some(&step) = i.checked_sub(1).and_then(|i| self.oom_steps.get(i)) else {
            return (Vec::new(), false);
        };
        let ooms = self
            .steps
            .get(step as usize - 1)
            .map(|s| {
                s.events
                    .iter()
                    .filter_map(|e| e.oom.clone())
                    .map(|o| (step, o))
                    .collect()
            })
            .unwrap_or_default();
        (ooms, step == cursor)
    }

    /// The expectations the run never reached (it stopped early), counted from the core's numbers.
    pub fn never_ran(&self) -> u32 {
        self.expects_total - self.checks.len() as u32
    }

    /// `Expectations: 6 of 19 hold, 13 never ran`.
    pub fn checks_summary(&self) -> String {
        let held = self.checks.iter().filter(|c| c.passed).count();
        let mut s = format!("Expectations: {held} of {} hold", self.expects_total);
        let never = self.never_ran();
        if never > 0 {
            s.push_str(&format!(", {never} never ran"));
        }
        s
    }

    /// `stopped at line 18: no process named `p3`` when the run stopped early.
    pub fn stopped(&self) -> Option<String> {
        self.error
            .as_ref()
            .map(|d| format!("stopped at line {}: {}", d.line, d.message))
    }
}

/// The states a page can be in, in legend order (model-spec L5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PageState {
    Untouched,
    ZeroPage,
    Private,
    /// Shared copy-on-write with this mapcount (2 or more).
    Shared(u32),
    Swapped,
    LazyFree,
    /// A file's page mapped from the page cache.
    PageCache,
    /// Windows (model-spec W2–W4, W7): reserved address space, not committed.
    Reserved,
    /// Windows: committed (charged) and never touched.
    Committed,
    /// Windows: committed and resident, in the working set.
    WorkingSet,
    /// Windows: committed and written to the page file.
    PageFile,
    /// Windows: a page of a mapped view of a section.
    View,
}

impl PageState {
    pub fn label(self) -> String {
        match self {
            PageState::Untouched => "untouched".into(),
            PageState::ZeroPage => "zero page".into(),
            PageState::Private => "resident private".into(),
            PageState::Shared(n) => format!("shared COW (mapcount {n})"),
            PageState::Swapped => "swapped".into(),
            PageState::LazyFree => "lazy-free".into(),
            PageState::PageCache => "page cache (file)".into(),
            PageState::Reserved => "reserved".into(),
            PageState::Committed => "committed, untouched".into(),
            PageState::WorkingSet => "resident (working set)".into(),
            PageState::PageFile => "in the page file".into(),
            PageState::View => "mapped view (section)".into(),
        }
    }
}

/// A run of consecutive pages in one state; `start` is a virtual address in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRun {
    pub start: u64,
    pub pages: u64,
    pub state: PageState,
}

/// One VMA as /proc/PID/maps and smaps describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaView {
    pub start: u64,
    pub end: u64,
    /// `rw-p` as in maps.
    pub perms: String,
    /// Short flag codes: ac (VM_ACCOUNT), nr (VM_NORESERVE), sh (shared), dc, wf, lo, gd.
    pub flags: Vec<String>,
    /// The scenario's name for the mapping (`big[16MiB..32MiB]` for a piece split out of it),
    /// or the backing file.
    pub name: String,
    pub rss_bytes: u64,
    /// How many of its pages are in each state, in `PageState` order, states with none left out.
    pub state_pages: Vec<(PageState, u64)>,
}

impl VmaView {
    pub fn size_bytes(&self) -> u64 {
        self.end - self.start
    }
}

/// One process at a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcView {
    pub pid: u32,
    pub name: String,
    pub state: String,
    pub rss_bytes: u64,
    pub pss_bytes: u64,
    pub vm_size_bytes: u64,
    pub oom_score: i64,
    pub vmas: Vec<VmaView>,
    /// The physical frames it maps, in virtual address order (the core's `frame_runs`).
    pub frames: std::rc::Rc<Vec<FrameRunView>>,
}

impl ProcView {
    /// A running process `p<pid>` with these VMAs and frames, for the views' unit tests.
    #[cfg(test)]
    pub fn for_test(pid: u32, vmas: Vec<VmaView>, frames: Vec<FrameRunView>) -> ProcView {
        ProcView {
            pid,
            name: format!("p{pid}"),
            state: "running".into(),
            rss_bytes: 0,
            pss_bytes: 0,
            vm_size_bytes: 0,
            oom_score: 0,
            vmas,
            frames: std::rc::Rc::new(frames),
        }
    }
}

/// Pages `[vpage, vpage+pages)` of a process that map frames `[pfn, pfn+pages)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRunView {
    pub vpage: u64,
    pub pages: u64,
    pub pfn: u64,
    pub mapcount: u32,
}

/// The overcommit rule in force, for the Committed_AS gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitRuleView {
    /// Mode 0: a single request fails if larger than this (RAM+swap from 5.2; the free estimate before).
    Guess { per_request_bytes: u64 },
    /// Mode 1: never refuses.
    Always,
    /// Mode 2: Committed_AS must stay below CommitLimit (less reserves).
    Never { allowed_bytes: u64 },
}

/// The machine-wide numbers (bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemView {
    pub mem_total: u64,
    pub mem_free: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    pub committed_as: u64,
    pub commit_limit: u64,
}

/// One memory cgroup at a step, as the core's snapshot gives it (bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupView {
    /// "" is the root.
    pub path: String,
    pub depth: u32,
    pub current: u64,
    pub peak: u64,
    pub high: Option<u64>,
    pub max: Option<u64>,
    pub oom_events: Option<u64>,
    pub oom_kills: u64,
    /// Swap charged to it (memory.swap.current; v1 memory.stat total_swap).
    pub swap: u64,
    /// The running processes attached to it: (pid, name).
    pub procs: Vec<(u32, String)>,
    /// (QoS class, pod, container) in the kubelet's layout.
    pub pod: Option<(String, Option<String>, Option<String>)>,
}

impl CgroupView {
    /// The last component of the path, `/` for the root.
    pub fn name(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            self.path.rsplit('/').next().unwrap_or(&self.path)
        }
    }
}

/// Everything drawn for one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotView {
    pub step: u32,
    pub mem: MemView,
    pub rule: CommitRuleView,
    pub processes: Vec<ProcView>,
    pub meminfo_text: String,
    /// The page runs of one process (`page_owner`), sorted by address; shared so that passing a
    /// snapshot to a component does not copy them.
    pub page_owner: Option<u32>,
    pub pages: std::rc::Rc<Vec<PageRun>>,
    /// `v1` or `v2`: which files the cgroup numbers are.
    pub cgroup_version: String,
    /// Every memory cgroup, parent before children.
    pub cgroups: std::rc::Rc<Vec<CgroupView>>,
    /// A Windows machine's commit numbers and jobs (None on Linux).
    pub windows: Option<std::rc::Rc<WindowsView>>,
}

/// What a Windows machine reports at a step, copied from the core's snapshot (PERFORMANCE_INFORMATION
/// and the page file, in bytes; model-spec W3) and its job objects (W6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowsView {
    pub commit_total: u64,
    pub commit_limit: u64,
    pub commit_peak: u64,
    /// The limit the page file can still grow to: RAM plus the page file's maximum.
    pub commit_max_limit: u64,
    pub pagefile: u64,
    pub pagefile_max: u64,
    pub physical_total: u64,
    pub physical_available: u64,
    pub jobs: Vec<JobView>,
    /// Every system, the host first, then each Hyper-V container's utility VM (the core's
    /// `WindowsSnapshot::systems`): a VM has its own RAM, page file, base and commit limit.
    pub systems: Vec<SystemView>,
    /// Every running process in a job: what it can really still commit (the model's answer)
    /// beside ullAvailPageFile (the API's).
    pub commit_room: Vec<CommitRoomView>,
}

/// What one process can really still commit, bytes, beside what GlobalMemoryStatusEx tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRoomView {
    pub pid: u32,
    pub name: String,
    pub room: u64,
    /// What binds it, as a sentence.
    pub bound: String,
    pub avail_page_file: u64,
}

/// One system's commit numbers in bytes: the host, or a Hyper-V container's utility VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemView {
    pub label: String,
    /// The Hyper-V container whose VM this is (None: the host).
    pub container: Option<String>,
    pub commit_total: u64,
    pub commit_limit: u64,
    pub commit_max_limit: u64,
    pub physical_total: u64,
    pub physical_available: u64,
    pub pagefile: u64,
    /// What the VM itself holds (charged and resident).
    pub base: u64,
}

/// One job object as JOBOBJECT_EXTENDED_LIMIT_INFORMATION reports it; its current usage is not
/// queryable on Windows, so it is not here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobView {
    pub name: String,
    pub parent: Option<String>,
    pub job_memory_limit: Option<u64>,
    pub process_memory_limit: Option<u64>,
    pub peak_job_memory: u64,
    pub peak_process_memory: u64,
    /// (pid, name) of the processes directly in it.
    pub procs: Vec<(u32, String)>,
    /// (container name, isolation) if the job is a container's.
    pub container: Option<(String, String)>,
}

/// The series the charts draw, one point per step (step 0 included).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub committed_as: Vec<u64>,
    pub commit_limit: Vec<u64>,
    pub mem_free: Vec<u64>,
    /// (process name, RSS per step; 0 before it exists and after it exits).
    pub rss: Vec<(String, Vec<u64>)>,
    /// (cgroup path, memory.current per step; 0 before it exists and after it is removed), for
    /// the cgroups without a child (a parent's usage is its children's and its own processes',
    /// shown in the tree), sorted by path.
    pub cgroups: Vec<(String, Vec<u64>)>,
    /// A Windows machine's series (the legend names them CommitTotal and working set).
    pub windows: bool,
}

/// The real tools' views of one process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcTexts {
    pub maps: String,
    pub smaps: String,
    pub status: String,
}

/// A size as a scenario writes it (`16MiB`, `4KiB`, `3000B`): the largest unit it is a whole
/// number of, for the names of split pieces.
pub fn compact_size(bytes: u64) -> String {
    for (unit, name) in [
        (1u64 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    if bytes == 0 {
        "0".into()
    } else {
        format!("{bytes}B")
    }
}

/// The name of the VMA `[start, end)` from the scenario's mapping names that overlap it (each
/// `(name, start, end)`): a whole mapping by its name, part of one as `name[from..to]` (offsets
/// in the mapping), several joined by `+`. None when no name overlaps.
pub fn piece_name(start: u64, end: u64, names: &[&(String, u64, u64)]) -> Option<String> {
    let parts: Vec<String> = names
        .iter()
        .filter(|(_, s, e)| *s < end && *e > start)
        .map(|(n, s, e)| {
            if *s >= start && *e <= end {
                n.clone()
            } else {
                let from = start.max(*s) - s;
                let to = end.min(*e) - s;
                format!("{n}[{}..{}]", compact_size(from), compact_size(to))
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("+"))
}

/// The processes the views show at a step (pids, in order): `pinned` if it is running, else the
/// first running process the step touched, else `previous` if still running, else the first
/// running process.
pub fn focus(
    pinned: Option<u32>,
    touched: &[u32],
    previous: Option<u32>,
    running: &[u32],
) -> Option<u32> {
    let live = |p: &u32| running.contains(p);
    pinned
        .filter(live)
        .or_else(|| touched.iter().copied().find(live))
        .or_else(|| previous.filter(live))
        .or_else(|| running.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_pieces_keep_their_mapping_name() {
        let big = ("big".to_string(), 0x1000_0000, 0x1000_0000 + (64 << 20));
        let x = ("x".to_string(), 0x2000_0000, 0x2000_1000);
        let names = [&big, &x];
        let mib = 1u64 << 20;
        assert_eq!(
            piece_name(big.1, big.1 + 16 * mib, &names).as_deref(),
            Some("big[0..16MiB]")
        );
        assert_eq!(
            piece_name(big.1 + 16 * mib, big.1 + 48 * mib, &names).as_deref(),
            Some("big[16MiB..48MiB]")
        );
        assert_eq!(piece_name(big.1, big.2, &names).as_deref(), Some("big"));
        // A VMA that two mappings merged into names both.
        assert_eq!(piece_name(big.1, x.2, &names).as_deref(), Some("big+x"));
        assert_eq!(piece_name(0, 0x1000, &names), None);
        assert_eq!(compact_size(4096), "4KiB");
        assert_eq!(compact_size(1536 << 10), "1536KiB");
    }

    #[test]
    fn the_views_follow_the_step_unless_pinned() {
        let running = [1, 2, 3];
        assert_eq!(focus(None, &[2], Some(1), &running), Some(2));
        assert_eq!(focus(Some(3), &[2], Some(1), &running), Some(3));
        // A pinned process that exited no longer holds the view.
        assert_eq!(focus(Some(9), &[2], None, &running), Some(2));
        // A step that touches no process (a sysctl) keeps the view where it was.
        assert_eq!(focus(None, &[], Some(3), &running), Some(3));
        assert_eq!(focus(None, &[7], None, &running), Some(1));
        assert_eq!(focus(None, &[], None, &[]), None);
    }

    #[test]
    fn the_oom_panel_shows_the_steps_own_ooms_else_the_last_before() {
        let oom = |victim| {
            std::rc::Rc::new(OomView {
                memcg: Some("box".into()),
                constraint: "CONSTRAINT_MEMCG".into(),
                totalpages: 24576,
                rows: Vec::new(),
                victim: Some(victim),
                choice: String::new(),
            })
        };
        let ev = |o: Option<std::rc::Rc<OomView>>| EventView {
            reason: "memcg.oom_kill".into(),
            source: String::new(),
            sentence: String::new(),
            pid: None,
            span: None,
            cow_break: false,
            oom: o,
        };
        let step = |n: u32, events: Vec<EventView>| StepView {
            step: n,
            line: n,
            text: String::new(),
            outcome: "ok".into(),
            ok: true,
            events,
        };
        let run = RunView {
            steps: vec![
                step(1, vec![ev(None)]),
                step(2, vec![ev(Some(oom(7))), ev(None), ev(Some(oom(8)))]),
                step(3, vec![]),
            ],
            oom_steps: vec![2],
            ..RunView::default()
        };
        assert_eq!(run.ooms_at(1), (Vec::new(), false));
        let (at2, own) = run.ooms_at(2);
        assert!(own);
        assert_eq!(
            at2.iter().map(|(s, o)| (*s, o.victim)).collect::<Vec<_>>(),
            vec![(2, Some(7)), (2, Some(8))]
        );
        let (at3, own) = run.ooms_at(3);
        assert!(!own && at3.len() == 2 && at3[0].0 == 2);
    }
}
