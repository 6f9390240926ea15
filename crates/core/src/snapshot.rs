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
        Self::linux(m, true)
    }

    /// [`Snapshot::of_linux`] with every process's `vmas` left empty (its Pss is still the
    /// sum over its VMAs): with [`Snapshot::linux_vmas`], what a writer needs to stream a
    /// machine of 100,000 VMAs without holding their snapshots all at once.
    pub fn of_linux_without_vmas(m: &LinuxMachine) -> Snapshot {
        Self::linux(m, false)
    }

    /// The VMAs of process `pid`, one snapshot at a time, in address order (none when it has
    /// no address space): the `vmas` that [`Snapshot::of_linux`] collects.
    pub fn linux_vmas(m: &LinuxMachine, pid: u32) -> impl Iterator<Item = VmaSnapshot> + '_ {
        running_mm(m, pid)
            .map(|mm| VmaSnapshots::new(m, mm))
            .into_iter()
            .flatten()
            .map(|(_, v)| v)
    }

    fn linux(m: &LinuxMachine, with_vmas: bool) -> Snapshot {
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
                let mut roll = crate::linux::procfs::SmapsStats::default();
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

/// The VMA snapshots of one running process with an address space, each with its smaps stats.
struct VmaSnapshots<'m> {
    m: &'m LinuxMachine,
    mm: &'m crate::linux::mm::Mm,
    /// Mapping names by start address, built once per mm, so each VMA finds the names that
    /// start inside it with one range lookup (100,000 VMAs with a name each would otherwise
    /// cost 10^10 comparisons).
    names_at: BTreeMap<u64, Vec<&'m String>>,
    vmas: std::collections::btree_map::Values<'m, u64, crate::linux::vma::Vma>,
}

/// The address space of a running process (a process that exited or was killed shows none).
fn running_mm(m: &LinuxMachine, pid: u32) -> Option<&crate::linux::mm::Mm> {
    let p = m.procs.get(&pid)?;
    match (p.state, p.mm) {
        (ProcState::Running, Some(mm_id)) => Some(&m.mms[&mm_id]),
        _ => None,
    }
}

impl<'m> VmaSnapshots<'m> {
    fn new(m: &'m LinuxMachine, mm: &'m crate::linux::mm::Mm) -> Self {
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
    type Item = (crate::linux::procfs::SmapsStats, VmaSnapshot);

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
                    Pte::Present { pfn, .. } => {
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
        assert!(streamed.processes.iter().all(|p| p.vmas.is_empty()));
        for p in &mut streamed.processes {
            p.vmas = m.vma_snapshots(p.pid).collect();
        }
        assert_eq!(streamed, whole);
        assert!(whole.processes[0].vmas.len() >= 2 && whole.processes[1].pss_kb > 0);
    }
}
