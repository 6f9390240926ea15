//! A small plain-data picture of a machine at one step, for the CLI's JSON, the web app and
//! the invariant sweeps. Page runs are not copied here: ask the machine for the runs of a range.

use crate::linux::pages::{FrameKind, PageState, Pte};
use crate::linux::vma::{flag_codes, VM_ACCOUNT, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE};
use crate::linux::{LinuxMachine, ProcState};
use serde::Serialize;
use std::collections::BTreeMap;

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

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessSnapshot {
    pub pid: u32,
    pub name: String,
    pub ppid: Option<u32>,
    pub state: ProcState,
    pub oom_score: i64,
    pub oom_score_adj: i32,
    /// /proc/PID/status memory fields, kB.
    pub status: Vec<(String, u64)>,
    pub pss_kb: u64,
    pub vmas: Vec<VmaSnapshot>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    pub os: &'static str,
    pub kernel: String,
    pub overcommit_memory: u64,
    /// /proc/meminfo, kB (HugePages_* are counts).
    pub meminfo: Vec<(String, u64)>,
    pub processes: Vec<ProcessSnapshot>,
}

impl Snapshot {
    pub fn of_linux(m: &LinuxMachine) -> Snapshot {
        let mut processes = Vec::new();
        for p in m.procs.values() {
            let mut vmas = Vec::new();
            let mut status = Vec::new();
            let mut pss_kb = 0;
            if let (ProcState::Running, Some(mm_id)) = (p.state, p.mm) {
                let mm = &m.mms[&mm_id];
                status = m
                    .status_fields(p.pid)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                // The rollup is the sum of the VMAs' own stats, gathered in the loop below.
                let mut roll = crate::linux::procfs::SmapsStats::default();
                // Mapping names by start address, built once per mm, so each VMA finds the
                // names that start inside it with one range lookup (100,000 VMAs with a name
                // each would otherwise cost 10^10 comparisons).
                let mut names_at: BTreeMap<u64, Vec<&String>> = BTreeMap::new();
                for (n, &(s, _)) in &mm.names {
                    names_at.entry(s).or_default().push(n);
                }
                for v in mm.vmas.values() {
                    let st = m.vma_stats(mm, v);
                    roll.add(&st);
                    let f = |n: &str| st.field(n).unwrap_or(0) / 1024;
                    let perm = |bit, c| if v.flags & bit != 0 { c } else { '-' };
                    let mut labels: Vec<String> = names_at
                        .range(v.start..v.end)
                        .flat_map(|(_, ns)| ns.iter().map(|n| (*n).clone()))
                        .collect();
                    // In name order, as `mm.names` iterates.
                    labels.sort();
                    vmas.push(VmaSnapshot {
                        start: v.start,
                        end: v.end,
                        perms: format!(
                            "{}{}{}{}",
                            perm(VM_READ, 'r'),
                            perm(VM_WRITE, 'w'),
                            perm(VM_EXEC, 'x'),
                            if v.flags & VM_MAYSHARE != 0 { 's' } else { 'p' }
                        ),
                        flags: flag_codes(v.flags),
                        accounted: v.flags & VM_ACCOUNT != 0,
                        name: m.maps_name(mm, v),
                        labels,
                        rss_kb: f("Rss"),
                        pss_kb: f("Pss"),
                        shared_clean_kb: f("Shared_Clean"),
                        shared_dirty_kb: f("Shared_Dirty"),
                        private_clean_kb: f("Private_Clean"),
                        private_dirty_kb: f("Private_Dirty"),
                        anonymous_kb: f("Anonymous"),
                        lazyfree_kb: f("LazyFree"),
                        swap_kb: f("Swap"),
                    });
                }
                pss_kb = roll.field("Pss").unwrap_or(0) / 1024;
            }
            processes.push(ProcessSnapshot {
                pid: p.pid,
                name: p.name.clone(),
                ppid: p.ppid,
                state: p.state,
                oom_score: if p.state == ProcState::Running {
                    m.oom_score(p.pid)
                } else {
                    0
                },
                oom_score_adj: p.oom_score_adj,
                status,
                pss_kb,
                vmas,
            });
        }
        Snapshot {
            os: "linux",
            kernel: m.cfg.kernel.to_string(),
            overcommit_memory: m.cfg.sysctls.overcommit_memory.sysctl_value(),
            meminfo: m
                .meminfo()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            processes,
        }
    }
}

impl LinuxMachine {
    /// The page states of `[start, end)` (byte addresses) of a process, as runs
    /// `(start_page, pages, state)`; pages outside any VMA are skipped.
    pub fn page_runs(&self, pid: u32, start: u64, end: u64) -> Vec<(u64, u64, PageState)> {
        let mut out: Vec<(u64, u64, PageState)> = Vec::new();
        let Some(mm) = self
            .procs
            .get(&pid)
            .and_then(|p| p.mm)
            .and_then(|id| self.mms.get(&id))
        else {
            return out;
        };
        let push = |out: &mut Vec<(u64, u64, PageState)>, s: u64, l: u64, st: PageState| {
            if let Some(last) = out.last_mut() {
                if last.0 + last.1 == s && last.2 == st {
                    last.1 += l;
                    return;
                }
            }
            out.push((s, l, st));
        };
        for (vs, ve) in mm.overlapping(start, end) {
            let (a, b) = (vs.max(start) >> 12, ve.min(end) >> 12);
            let mut cur = a;
            for (s, l, pte) in mm.pt.range(a, b) {
                if s > cur {
                    push(&mut out, cur, s - cur, PageState::Untouched);
                }
                match pte {
                    Pte::Zero => push(&mut out, s, l, PageState::Zero),
                    Pte::Swap { .. } => push(&mut out, s, l, PageState::Swapped),
                    Pte::Present { pfn } => {
                        for (fp, fl, f) in self.frames.range(pfn, pfn + l) {
                            let st = if f.lazyfree && f.kind == FrameKind::Anon {
                                PageState::LazyFree
                            } else if f.mapcount >= 2 {
                                PageState::Shared {
                                    mapcount: f.mapcount,
                                }
                            } else {
                                PageState::Private
                            };
                            push(&mut out, s + (fp - pfn), fl, st);
                        }
                    }
                }
                cur = s + l;
            }
            if cur < b {
                push(&mut out, cur, b - cur, PageState::Untouched);
            }
        }
        out
    }
}
