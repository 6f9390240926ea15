//! Answering [`Query`]s and checking the model's invariants.

use super::pages::{FrameKind, Pte};
use super::vma::*;
use super::{LinuxMachine, ProcState};
use crate::query::{Query, QueryError, Value, VmaPiece};
use crate::units::{KIB, PAGE_SHIFT};
use std::collections::BTreeMap;

impl LinuxMachine {
    fn running_pid(&self, proc: &str) -> Result<u32, QueryError> {
        let pid = *self
            .by_name
            .get(proc)
            .ok_or_else(|| QueryError::NoSuchProcess(proc.into()))?;
        if self.procs[&pid].state != ProcState::Running {
            return Err(QueryError::ProcessGone(proc.into()));
        }
        Ok(pid)
    }

    /// The VMA holding byte `at` of `proc`'s mapping `mapping` (`PROC.vma.MAPPING[AT]`), and its
    /// smaps statistics.
    fn piece_vma(
        &self,
        proc: &str,
        mapping: &str,
        at: u64,
    ) -> Result<(&super::mm::Mm, &Vma, u64, u64), QueryError> {
        let pid = self.running_pid(proc)?;
        let mm = &self.mms[&self.procs[&pid].mm.expect("running")];
        let &(start, len) = mm
            .names
            .get(mapping)
            .ok_or_else(|| QueryError::NoSuchMapping {
                proc: proc.into(),
                mapping: mapping.into(),
            })?;
        if at >= len {
            return Err(QueryError::OutsideMapping {
                mapping: mapping.into(),
                at,
                len,
            });
        }
        let v = mm.find(start + at).ok_or_else(|| QueryError::Unmapped {
            proc: proc.into(),
            mapping: mapping.into(),
        })?;
        Ok((mm, v, start, len))
    }

    /// `PROC.vma.MAPPING[AT]` as maps and smaps show it: the piece's range within the mapping,
    /// its file offset, permissions and VmFlags.
    pub fn vma_piece(&self, proc: &str, mapping: &str, at: u64) -> Result<VmaPiece, QueryError> {
        let (_, v, start, len) = self.piece_vma(proc, mapping, at)?;
        let f = |bit, c| if v.has(bit) { c } else { '-' };
        let perms: String = [
            f(VM_READ, 'r'),
            f(VM_WRITE, 'w'),
            f(VM_EXEC, 'x'),
            if v.has(VM_MAYSHARE) { 's' } else { 'p' },
        ]
        .into_iter()
        .collect();
        Ok(VmaPiece {
            start: v.start.max(start) - start,
            end: v.end.min(start + len) - start,
            // fs/proc/task_mmu.c: show_map_vma prints vm_pgoff << PAGE_SHIFT for a file VMA, 0 otherwise.
            pgoff_bytes: if v.obj.is_some() {
                v.pgoff << PAGE_SHIFT
            } else {
                0
            },
            perms,
            flags: flag_code_list(v.flags),
        })
    }

    pub fn query(&self, q: &Query) -> Result<Value, QueryError> {
        match q {
            Query::Piece {
                proc,
                mapping,
                at,
                field,
            } => {
                let at = at.resolve(self.cfg.ram_bytes, self.cfg.swap_bytes);
                match field.as_str() {
                    "start" | "end" | "pgoff" => {
                        let p = self.vma_piece(proc, mapping, at)?;
                        Ok(Value::Bytes(match field.as_str() {
                            "start" => p.start,
                            "end" => p.end,
                            _ => p.pgoff_bytes,
                        }))
                    }
                    _ => {
                        let (mm, v, _, _) = self.piece_vma(proc, mapping, at)?;
                        self.vma_stats(mm, v)
                            .field(field)
                            .map(Value::Bytes)
                            .ok_or_else(|| QueryError::NoSuchField(format!("vma.{field}")))
                    }
                }
            }
            Query::Meminfo { field } => {
                let (_, v) = self
                    .meminfo()
                    .into_iter()
                    .find(|(n, _)| n == field)
                    .ok_or_else(|| QueryError::NoSuchField(format!("meminfo.{field}")))?;
                Ok(if field.starts_with("HugePages_") {
                    Value::Number(v as i64)
                } else {
                    // Committed_AS can pass 2^54 kB in mode 1 (huge SysV segments); bytes saturate.
                    Value::Bytes(v.saturating_mul(KIB))
                })
            }
            Query::Status { proc, field } => {
                let pid = self.running_pid(proc)?;
                match field.as_str() {
                    "Pid" => return Ok(Value::Number(pid as i64)),
                    "PPid" => return Ok(Value::Number(self.procs[&pid].ppid.unwrap_or(1) as i64)),
                    "Threads" => return Ok(Value::Number(1)),
                    _ => {}
                }
                let fields = self
                    .status_fields(pid)
                    .ok_or_else(|| QueryError::ProcessGone(proc.into()))?;
                let (_, v) = fields
                    .into_iter()
                    .find(|(n, _)| n == field)
                    .ok_or_else(|| QueryError::NoSuchField(format!("status.{field}")))?;
                Ok(Value::Bytes(v * KIB))
            }
            Query::Smaps {
                proc,
                mapping,
                field,
            } => {
                let pid = self.running_pid(proc)?;
                let mm = &self.mms[&self.procs[&pid].mm.expect("running")];
                let &(start, _) =
                    mm.names
                        .get(mapping)
                        .ok_or_else(|| QueryError::NoSuchMapping {
                            proc: proc.clone(),
                            mapping: mapping.clone(),
                        })?;
                let v = mm.find(start).ok_or_else(|| QueryError::Unmapped {
                    proc: proc.clone(),
                    mapping: mapping.clone(),
                })?;
                let st = self.vma_stats(mm, v);
                st.field(field)
                    .map(Value::Bytes)
                    .ok_or_else(|| QueryError::NoSuchField(format!("smaps.{field}")))
            }
            Query::Rollup { proc, field } => {
                let pid = self.running_pid(proc)?;
                let mm = &self.mms[&self.procs[&pid].mm.expect("running")];
                self.rollup(mm)
                    .field(field)
                    .map(Value::Bytes)
                    .ok_or_else(|| QueryError::NoSuchField(format!("rollup.{field}")))
            }
            Query::VmaCount { proc } => {
                let pid = self.running_pid(proc)?;
                Ok(Value::Number(
                    self.mms[&self.procs[&pid].mm.expect("running")].map_count() as i64,
                ))
            }
            Query::OomScore { proc } => Ok(Value::Number(self.oom_score(self.running_pid(proc)?))),
            Query::OomScoreAdj { proc } => Ok(Value::Number(
                self.procs[&self.running_pid(proc)?].oom_score_adj as i64,
            )),
            Query::OomAdj { proc } => Ok(Value::Number(self.oom_adj(self.running_pid(proc)?))),
            Query::Sysctl { name } => {
                let s = crate::config::Sysctl::from_name(name)
                    .ok_or_else(|| QueryError::NoSuchField(name.clone()))?;
                let c = &self.cfg.sysctls;
                Ok(Value::Number(match s {
                    crate::config::Sysctl::OvercommitMemory => c.overcommit_memory.sysctl_value(),
                    crate::config::Sysctl::OvercommitRatio => c.overcommit_ratio,
                    crate::config::Sysctl::OvercommitKbytes => c.overcommit_kbytes,
                    crate::config::Sysctl::AdminReserveKbytes => c.admin_reserve_kbytes,
                    crate::config::Sysctl::UserReserveKbytes => c.user_reserve_kbytes,
                    crate::config::Sysctl::MaxMapCount => c.max_map_count,
                    crate::config::Sysctl::NrHugepages => c.nr_hugepages,
                    crate::config::Sysctl::PanicOnOom => c.panic_on_oom,
                    crate::config::Sysctl::OomKillAllocatingTask => c.oom_kill_allocating_task,
                } as i64))
            }
            Query::Cgroup { path, file, key } => self.cgroup_query(path, file, key.as_deref()),
            Query::WorkingSet { path } => self.working_set_bytes(path).map(Value::Bytes),
            Query::MemoryAvailable => Ok(Value::Bytes(self.memory_available_bytes())),
            Query::Win(_) => Err(QueryError::NoSuchField(
                "a Windows structure on a Linux machine".into(),
            )),
        }
    }

    /// The invariants of model-spec Part S, recomputed from scratch.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_memcg_invariants()?;
        // Committed_AS = Σ VM_ACCOUNT pages of every live mm + shmem object charges.
        let vma_acct: u64 = self
            .mms
            .values()
            .flat_map(|m| m.vmas.values())
            .filter(|v| v.has(VM_ACCOUNT))
            .map(|v| v.pages())
            .sum();
        let obj_acct: u64 = self.objs.values().map(|o| o.charged).sum();
        if self.committed_pages() != vma_acct + obj_acct + self.leaked_pages {
            return Err(format!(
                "Committed_AS {} pages != VM_ACCOUNT VMAs {} + shmem charges {} + leaked {}",
                self.committed_pages(),
                vma_acct,
                obj_acct,
                self.leaked_pages
            ));
        }
        let mut pte_pfns: Vec<(u64, u64)> = Vec::new();
        for (id, mm) in &self.mms {
            // VMAs sorted, not overlapping, page aligned, inside user space.
            let mut last_end = 0;
            let mut prev: Option<&Vma> = None;
            let mut total = 0;
            for (&k, v) in mm.vmas.iter() {
                if k != v.start
                    || v.start >= v.end
                    || v.start < last_end
                    || v.start % 4096 != 0
                    || v.end % 4096 != 0
                {
                    return Err(format!(
                        "mm {id}: VMA {} out of order or overlapping",
                        v.span()
                    ));
                }
                if v.end > super::mm::TASK_SIZE {
                    return Err(format!("mm {id}: VMA {} beyond TASK_SIZE", v.span()));
                }
                if let Some(p) = prev {
                    if p.end == v.start
                        && !mm.left_apart.contains(&v.start)
                        && would_merge(self.cfg.kernel, p, v)
                        && self.can_merge_remove_vma(p)
                        && self.can_merge_remove_vma(v)
                        && !matches!(
                            v.obj.and_then(|o| self.objs.get(&o)).map(|o| &o.kind),
                            Some(super::ObjKind::SharedAnon | super::ObjKind::Sysv { .. })
                        )
                    {
                        return Err(format!(
                            "mm {id}: VMAs {} and {} would have been merged",
                            p.span(),
                            v.span()
                        ));
                    }
                }
                if (v.anon_vma.is_some()) != (v.anon_chain > 0) {
                    return Err(format!("mm {id}: VMA {} anon_vma/chain mismatch", v.span()));
                }
                total += v.pages();
                last_end = v.end;
                prev = Some(v);
            }
            if total != mm.total_vm {
                return Err(format!(
                    "mm {id}: total_vm {} != Σ VMA pages {}",
                    mm.total_vm, total
                ));
            }
            // Every pte lies inside a VMA; RSS counters match the ptes.
            let mut rss = [0u64; 3];
            for (s, l, pte) in mm.pt.iter() {
                let pte = *pte;
                let a = s << PAGE_SHIFT;
                let b = (s + l) << PAGE_SHIFT;
                let covered: u64 = mm
                    .overlapping(a, b)
                    .iter()
                    .map(|&(x, y)| y.min(b) - x.max(a))
                    .sum();
                if covered != b - a {
                    return Err(format!("mm {id}: ptes at {a:x}-{b:x} outside any VMA"));
                }
                if let Pte::Present { pfn, .. } = pte {
                    let mut seen = 0;
                    for (_, fl, f) in self.frames.range(pfn, pfn + l) {
                        rss[match f.kind {
                            FrameKind::Anon => 0,
                            FrameKind::File => 1,
                            FrameKind::Shmem => 2,
                        }] += fl;
                        seen += fl;
                    }
                    if seen != l {
                        return Err(format!("mm {id}: ptes at {a:x} point at freed frames"));
                    }
                    pte_pfns.push((pfn, l));
                }
            }
            let mut rmap = crate::runmap::RunMap::new();
            for (s, l, pte) in mm.pt.iter() {
                if let Pte::Present { pfn, .. } = pte {
                    super::pages::rmap_add(&mut rmap, *pfn, l, 1);
                    let _ = s;
                }
            }
            if rmap != mm.rmap {
                return Err(format!(
                    "mm {id}: reverse map out of step with the page table"
                ));
            }
            if rss != mm.rss {
                return Err(format!(
                    "mm {id}: RSS counters {:?} != page table {:?}",
                    mm.rss, rss
                ));
            }
        }
        // Frame mapcounts equal the number of ptes mapping them: sweep the pte coverage of
        // physical frames against the frame runs.
        let mut delta: BTreeMap<u64, i64> = BTreeMap::new();
        for (pfn, l) in pte_pfns {
            *delta.entry(pfn).or_default() += 1;
            *delta.entry(pfn + l).or_default() -= 1;
        }
        let mut cover: Vec<(u64, u64, i64)> = Vec::new();
        let mut level = 0i64;
        let mut at = 0u64;
        for (&k, &d) in &delta {
            if level != 0 && k > at {
                cover.push((at, k, level));
            }
            level += d;
            at = k;
        }
        let mut ci = 0;
        for (fp, fl, f) in self.frames.iter() {
            if f.kind == FrameKind::Anon && f.mapcount == 0 {
                return Err(format!(
                    "anonymous frame {fp} with mapcount 0 was not freed"
                ));
            }
            let end = fp + fl;
            let mut cur = fp;
            while ci < cover.len() && cover[ci].1 <= fp {
                ci += 1;
            }
            let mut j = ci;
            while cur < end {
                let (cs, ce, c) = cover.get(j).copied().unwrap_or((u64::MAX, u64::MAX, 0));
                let (seg_end, count) = if cs > cur {
                    (cs.min(end), 0)
                } else {
                    (ce.min(end), c)
                };
                if count != f.mapcount as i64 {
                    return Err(format!(
                        "frames {cur}..{seg_end}: mapped {count} times but mapcount is {}",
                        f.mapcount
                    ));
                }
                cur = seg_end;
                if cs <= cur && ce <= cur {
                    j += 1;
                }
            }
        }
        // Frame counters.
        let mut by_kind = [0u64; 3];
        for (_, l, f) in self.frames.iter() {
            by_kind[match f.kind {
                FrameKind::Anon => 0,
                FrameKind::File => 1,
                FrameKind::Shmem => 2,
            }] += l;
        }
        if by_kind != [self.stats.anon, self.stats.file, self.stats.shmem] {
            return Err(format!(
                "frame counters {:?} != frames {:?}",
                [self.stats.anon, self.stats.file, self.stats.shmem],
                by_kind
            ));
        }
        if self.stats.anon + self.stats.file + self.stats.shmem + self.hugetlb_total_pages()
            > self.totalram_pages()
        {
            return Err("more pages resident than RAM".into());
        }
        // Counters kept incrementally equal a fresh count.
        if *self.frames.tally() != self.frames.recount() {
            return Err(format!(
                "frame tally {:?} != recount {:?}",
                self.frames.tally(),
                self.frames.recount()
            ));
        }
        let mut pgtables = 0;
        for (id, mm) in &self.mms {
            if *mm.pt.tally() != mm.pt.recount() || mm.pgtable_pages() != mm.pgtable_pages_walked()
            {
                return Err(format!(
                    "mm {id}: page-table pages {} (tally {:?}) != walked {} (recount {:?})",
                    mm.pgtable_pages(),
                    mm.pt.tally(),
                    mm.pgtable_pages_walked(),
                    mm.pt.recount()
                ));
            }
            pgtables += mm.pgtable_pages() + super::PGD_PAGES;
            mm.check_gaps().map_err(|e| format!("mm {id}: {e}"))?;
        }
        for p in self.procs.values() {
            if let Some(c) = p.vfork_child {
                if self.procs[&c].vfork_parent != Some(p.pid)
                    || self.procs[&c].state != ProcState::Running
                {
                    return Err(format!(
                        "pid {}: vfork child {c} does not wait on it",
                        p.pid
                    ));
                }
            }
            if let Some(pp) = p.vfork_parent {
                if self.procs[&pp].vfork_child != Some(p.pid) {
                    return Err(format!(
                        "pid {}: vfork parent {pp} does not wait for it",
                        p.pid
                    ));
                }
            }
        }
        if pgtables != self.pgtable_pages_total {
            return Err(format!(
                "PageTables total {} != Σ of every mm's tables and PGD {}",
                self.pgtable_pages_total, pgtables
            ));
        }
        // free + used = RAM, every used page recounted from where it lives: frames by kind
        // (anon, file, shmem), the BPF maps' kernel pages, each mm's page tables walked, and
        // the persistent huge pages. MemFree is what is left (free_pages).
        let bpf: u64 = self.bpf_maps.values().flatten().map(|&(_, n)| n).sum();
        let used = by_kind.iter().sum::<u64>() + bpf + pgtables + self.hugetlb_total_pages();
        if self.free_pages() + used != self.totalram_pages() {
            return Err(format!(
                "free {} + used {used} (frames {by_kind:?}, kernel {bpf}, page tables {pgtables}, \
                 hugetlb {}) != RAM {}",
                self.free_pages(),
                self.hugetlb_total_pages(),
                self.totalram_pages()
            ));
        }
        self.check_swap()?;
        // Object VMA reference counts.
        let mut refs: BTreeMap<u32, u64> = BTreeMap::new();
        for mm in self.mms.values() {
            for v in mm.vmas.values() {
                if let Some(o) = v.obj {
                    *refs.entry(o).or_default() += 1;
                }
            }
        }
        for (id, o) in &self.objs {
            let r = refs.get(id).copied().unwrap_or(0);
            if r != o.maps {
                return Err(format!(
                    "object {id}: {r} VMAs map it but maps = {}",
                    o.maps
                ));
            }
        }
        Ok(())
    }
}
