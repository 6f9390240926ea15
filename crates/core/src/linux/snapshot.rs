//! The Linux part of the seam's snapshot: [`Snapshot`] with its per-OS parts filled from the
//! machine (meminfo, each process's status, oom_score and smaps), and the page runs of a range.

use super::memcg::{MemcgEventKey, PAGE_COUNTER_MAX};
use super::mm::Mm;
use super::pages::{FrameKind, Pte};
use super::procfs::SmapsStats;
use super::vma::{flag_codes, Vma, VM_ACCOUNT, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE};
use super::{LinuxMachine, ProcState};
use crate::config::CgroupVersion;
use crate::snapshot::{
    CgroupSnapshot, FrameRun, LinuxProcessSnapshot, LinuxSnapshot, OsProcessSnapshot, OsSnapshot,
    PageState, PodSnapshot, ProcessSnapshot, Snapshot, VmaSnapshot,
};
use std::collections::BTreeMap;

impl LinuxMachine {
    /// The machine's snapshot; without `with_vmas` every process's `vmas` is left empty (its
    /// Pss is still the sum over its VMAs): with [`LinuxMachine::vma_snapshots`], what a writer
    /// needs to stream a machine of 100,000 VMAs without holding their snapshots all at once.
    pub fn snapshot(&self, with_vmas: bool) -> Snapshot {
        let m = self;
        let mut processes = Vec::new();
        for p in m.procs.values() {
            let mut vmas = Vec::new();
            let mut status = Vec::new();
            let mut pss_kb = 0;
            if let Some(mm) = running_mm(m, p.pid) {
                status = m
                    .status_fields(p.pid)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                // The rollup is the sum of the VMAs' own stats.
                let mut roll = SmapsStats::default();
                if with_vmas {
                    for (st, v) in VmaSnapshots::new(m, mm) {
                        roll.add(&st);
                        vmas.push(v);
                    }
                } else {
                    for v in mm.vmas.values() {
                        roll.add(&m.vma_stats(mm, v));
                    }
                }
                pss_kb = roll.field("Pss").unwrap_or(0) / 1024;
            }
            processes.push(ProcessSnapshot {
                pid: p.pid,
                name: p.name.clone(),
                ppid: p.ppid,
                state: p.state,
                os: OsProcessSnapshot::Linux(LinuxProcessSnapshot {
                    oom_score: if p.state == ProcState::Running {
                        m.oom_score(p.pid)
                    } else {
                        0
                    },
                    oom_score_adj: p.oom_score_adj,
                    status,
                    pss_kb,
                    vmas,
                }),
            });
        }
        Snapshot {
            processes,
            os: OsSnapshot::Linux(LinuxSnapshot {
                kernel: m.cfg.kernel.to_string(),
                overcommit_memory: m.cfg.sysctls.overcommit_memory.sysctl_value(),
                meminfo: m
                    .meminfo()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                cgroup_version: m.cfg.cgroup.name().to_string(),
                cgroups: m.cgroup_snapshots(),
            }),
        }
    }

    /// The VMAs of process `pid`, one snapshot at a time, in address order (none when it has
    /// no address space): the `vmas` that [`LinuxMachine::snapshot`] collects.
    pub fn vma_snapshots(&self, pid: u32) -> impl Iterator<Item = VmaSnapshot> + '_ {
        running_mm(self, pid)
            .map(|mm| VmaSnapshots::new(self, mm))
            .into_iter()
            .flatten()
            .map(|(_, v)| v)
    }
}

/// The VMA snapshots of one running process with an address space, each with its smaps stats.
struct VmaSnapshots<'m> {
    m: &'m LinuxMachine,
    mm: &'m Mm,
    /// Mapping names by start address, built once per mm, so each VMA finds the names that
    /// start inside it with one range lookup (100,000 VMAs with a name each would otherwise
    /// cost 10^10 comparisons).
    names_at: BTreeMap<u64, Vec<&'m String>>,
    vmas: std::collections::btree_map::Values<'m, u64, Vma>,
}

/// The address space of a running process (a process that exited or was killed shows none).
fn running_mm(m: &LinuxMachine, pid: u32) -> Option<&Mm> {
    let p = m.procs.get(&pid)?;
    match (p.state, p.mm) {
        (ProcState::Running, Some(mm_id)) => Some(&m.mms[&mm_id]),
        _ => None,
    }
}

impl<'m> VmaSnapshots<'m> {
    fn new(m: &'m LinuxMachine, mm: &'m Mm) -> Self {
        let mut names_at: BTreeMap<u64, Vec<&String>> = BTreeMap::new();
        for (n, &(s, _)) in &mm.names {
            names_at.entry(s).or_default().push(n);
        }
        VmaSnapshots {
            m,
            mm,
            names_at,
            vmas: mm.vmas.values(),
        }
    }
}

impl Iterator for VmaSnapshots<'_> {
    type Item = (SmapsStats, VmaSnapshot);

    fn next(&mut self) -> Option<Self::Item> {
        let (m, mm) = (self.m, self.mm);
        let v = self.vmas.next()?;
        let st = m.vma_stats(mm, v);
        let f = |n: &str| st.field(n).unwrap_or(0) / 1024;
        let perm = |bit, c| if v.flags & bit != 0 { c } else { '-' };
        let mut labels: Vec<String> = self
            .names_at
            .range(v.start..v.end)
            .flat_map(|(_, ns)| ns.iter().map(|n| (*n).clone()))
            .collect();
        // In name order, as `mm.names` iterates.
        labels.sort();
        let snap = VmaSnapshot {
            start: v.start,
            end: v.end,
            perms: [
                perm(VM_READ, 'r'),
                perm(VM_WRITE, 'w'),
                perm(VM_EXEC, 'x'),
                if v.flags & VM_MAYSHARE != 0 { 's' } else { 'p' },
            ]
            .iter()
            .collect(),
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
        };
        Some((st, snap))
    }
}

impl LinuxMachine {
    /// Every memory cgroup with the numbers its files show (memcg.rs: `cgroup_query` reads the
    /// same fields), in path order, so a parent comes before its children; each with the
    /// running processes attached to it and its place in the kubelet's layout (k8s.rs).
    /// O(cgroups + processes).
    pub fn cgroup_snapshots(&self) -> Vec<CgroupSnapshot> {
        let v2 = self.cfg.cgroup == CgroupVersion::V2;
        let mut pids: BTreeMap<super::memcg::MemcgId, Vec<u32>> = BTreeMap::new();
        for p in self.procs.values() {
            if p.state == ProcState::Running {
                pids.entry(p.memcg).or_default().push(p.pid);
            }
        }
        let bytes = |pages: u64| pages * crate::units::PAGE_SIZE;
        let limit = |pages: u64| (pages != PAGE_COUNTER_MAX).then(|| bytes(pages));
        self.memcgs
            .by_path
            .iter()
            .map(|(path, id)| {
                let g = &self.memcgs.groups[id];
                CgroupSnapshot {
                    path: path.clone(),
                    depth: if path.is_empty() {
                        0
                    } else {
                        path.matches('/').count() as u32 + 1
                    },
                    current_bytes: bytes(g.memory.usage),
                    peak_bytes: bytes(g.memory.watermark),
                    high_bytes: if v2 { limit(g.high) } else { None },
                    max_bytes: limit(g.memory.max),
                    oom_events: v2.then(|| g.events[MemcgEventKey::Oom as usize]),
                    oom_kills: if v2 {
                        g.events[MemcgEventKey::OomKill as usize]
                    } else {
                        g.v1_oom_kill
                    },
                    swap_bytes: bytes(if v2 {
                        g.swap.usage
                    } else {
                        g.memsw.usage - g.memory.usage
                    }),
                    pids: pids.remove(id).unwrap_or_default(),
                    pod: super::k8s::place_of(path).map(|(qos, pod, container)| PodSnapshot {
                        qos: qos.name().to_string(),
                        pod: pod.map(str::to_string),
                        container: container.map(str::to_string),
                    }),
                }
            })
            .collect()
    }

    /// The physical frames process `pid` maps, as runs in virtual address order; pages that map
    /// no frame (untouched, the zero page, swapped) are left out. O(pte runs + frame runs).
    pub fn frame_runs(&self, pid: u32) -> Vec<FrameRun> {
        let mut out: Vec<FrameRun> = Vec::new();
        let Some(mm) = running_mm(self, pid) else {
            return out;
        };
        for (s, l, pte) in mm.pt.range(0, u64::MAX >> 12) {
            let Pte::Present { pfn, .. } = pte else {
                continue;
            };
            for (fp, fl, f) in self.frames.range(pfn, pfn + l) {
                let run = FrameRun {
                    vpage: s + (fp - pfn),
                    pages: fl,
                    pfn: fp,
                    mapcount: f.mapcount,
                };
                match out.last_mut() {
                    Some(last)
                        if last.vpage + last.pages == run.vpage
                            && last.pfn + last.pages == run.pfn
                            && last.mapcount == run.mapcount =>
                    {
                        last.pages += run.pages;
                    }
                    _ => out.push(run),
                }
            }
        }
        out
    }

    /// The names a scenario gave process `pid`'s mappings, each with the byte range it was
    /// created with (moved by mremap), in order of start address: a VMA split out of a mapping is
    /// named after it with the part it holds (`big[16MiB..32MiB]`). O(names).
    pub fn mapping_names(&self, pid: u32) -> Vec<(String, u64, u64)> {
        let Some(mm) = running_mm(self, pid) else {
            return Vec::new();
        };
        // By start through the same index the VMA snapshots use (no sort: a generic sort is
        // kilobytes of wasm per element type); names that start together stay in name order.
        let mut at: BTreeMap<u64, Vec<&String>> = BTreeMap::new();
        for (n, &(s, _)) in &mm.names {
            at.entry(s).or_default().push(n);
        }
        at.into_iter()
            .flat_map(|(s, ns)| ns.into_iter().map(move |n| (n, s)))
            .map(|(n, s)| (n.clone(), s, s + mm.names[n].1))
            .collect()
    }

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
                    Pte::Present { pfn, dirty } => {
                        for (fp, fl, f) in self.frames.range(pfn, pfn + l) {
                            // Lazy-free as smaps counts it: through a clean pte only.
                            let st =
                                if f.lazyfree && f.kind == FrameKind::Anon && !dirty && !f.dirty {
                                    PageState::LazyFree
                                } else if f.kind == FrameKind::File {
                                    // A file's page mapped from the page cache (a private
                                    // write would have copied it to an anonymous frame).
                                    PageState::PageCache
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
