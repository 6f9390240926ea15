//! Faults and frames: write and read faults, copy-on-write, zapping ptes, and the residency
//! counters (RssAnon/RssFile/RssShmem) they move (model-spec L5).

use super::memcg::MemcgId;
use super::mm::{MmId, TASK_SIZE};
use super::oom::{GFP_ANON_FAULT, GFP_PAGECACHE};
use super::pages::{rmap_add, CachePage, Frame, FrameKind, Pte};
use super::vma::*;
use super::{LinuxMachine, OpError};
use crate::event::{EventKind, FaultKind, Span};
use crate::op::{Outcome, Signal, Target};
use crate::units::{PAGE_SHIFT, PAGE_SIZE};

fn kind_idx(k: FrameKind) -> usize {
    match k {
        FrameKind::Anon => 0,
        FrameKind::File => 1,
        FrameKind::Shmem => 2,
    }
}

/// The `(start, len)` pair a range system call receives (see [`LinuxMachine::target_args`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SysRange {
    pub start: u64,
    pub len: u64,
}

/// Counts of what one access did, for its events.
#[derive(Default)]
struct Faulted {
    anon_new: u64,
    zero: u64,
    cow_copy: u64,
    cow_reuse: u64,
    file: u64,
    shmem: u64,
    swap_in: u64,
}

impl Faulted {
    fn total(&self) -> u64 {
        self.anon_new
            + self.zero
            + self.cow_copy
            + self.cow_reuse
            + self.file
            + self.shmem
            + self.swap_in
    }
}

impl LinuxMachine {
    /// Allocate `n` new frames of `kind` with mapcount `mapcount`, charged to `memcg`. The
    /// caller has made room and charged the cgroup ([`LinuxMachine::memcg_charge_fault`]).
    pub(crate) fn new_frames(
        &mut self,
        n: u64,
        kind: FrameKind,
        mapcount: u32,
        dirty: bool,
        memcg: MemcgId,
    ) -> u64 {
        let pfn = self.alloc_pfns(n);
        self.frames.set(
            pfn,
            n,
            Frame {
                mapcount,
                kind,
                dirty,
                lazyfree: false,
                memcg,
            },
        );
        self.memcg_frames_stat(memcg, kind, n, true);
        match kind {
            FrameKind::Anon => self.stats.anon += n,
            FrameKind::File => self.stats.file += n,
            FrameKind::Shmem => self.stats.shmem += n,
        }
        pfn
    }

    /// Free frames (they must be unmapped); their cgroup is uncharged.
    pub(crate) fn free_frames(&mut self, pfn: u64, n: u64) {
        for (_, l, f) in self.frames.remove(pfn, pfn + n) {
            self.memcg_uncharge(f.memcg, l);
            self.memcg_frames_stat(f.memcg, f.kind, l, false);
            match f.kind {
                FrameKind::Anon => self.stats.anon -= l,
                FrameKind::File => self.stats.file -= l,
                FrameKind::Shmem => self.stats.shmem -= l,
            }
        }
    }

    /// Add one mapping to frames `[pfn, pfn+n)`.
    pub(crate) fn frames_map(&mut self, pfn: u64, n: u64) {
        self.frames.update(pfn, pfn + n, |_, _, f| Frame {
            mapcount: f.mapcount + 1,
            ..*f
        });
    }

    /// Remove one mapping from frames `[pfn, pfn+n)`; anonymous frames nobody maps are freed.
    /// Returns the frames as they were, for RSS bookkeeping.
    pub(crate) fn frames_unmap(&mut self, pfn: u64, n: u64) -> Vec<(u64, u64, Frame)> {
        let before: Vec<(u64, u64, Frame)> = self.frames.range(pfn, pfn + n).collect();
        self.frames.update(pfn, pfn + n, |_, _, f| Frame {
            mapcount: f.mapcount.saturating_sub(1),
            ..*f
        });
        for &(p, l, f) in &before {
            if f.kind == FrameKind::Anon && f.mapcount <= 1 {
                self.free_frames(p, l);
            }
        }
        before
    }

    /// A dirty pte leaving a page-cache frame makes the frame dirty (mm/memory.c:
    /// `zap_present_folio_ptes` → `folio_mark_dirty` for a folio that is not anonymous), so a
    /// shmem page written through a pte and then unmapped stays dirty for its next reader.
    pub(crate) fn dirty_pte_leaves(&mut self, pfn: u64, n: u64) {
        self.frames.update(pfn, pfn + n, |_, _, f| Frame {
            dirty: f.dirty || f.kind != FrameKind::Anon,
            ..*f
        });
    }

    /// Clear the ptes of `[a, b)` (pages) in an mm: RSS falls, mapcounts drop, lonely anon pages
    /// are freed. Page-cache pages stay in their file. Returns the resident pages unmapped.
    pub(crate) fn zap(&mut self, mm_id: MmId, a: u64, b: u64) -> u64 {
        let runs = self.edit_pt(mm_id, |mm| mm.pt.remove(a, b));
        let mut dropped = 0;
        for (_, l, pte) in runs {
            if let Pte::Swap { slot } = pte {
                self.swap_ref(slot, l, -1);
                self.mms.get_mut(&mm_id).expect("mm exists").swap_ents -= l;
            }
            if let Pte::Present { pfn, dirty } = pte {
                if dirty {
                    self.dirty_pte_leaves(pfn, l);
                }
                rmap_add(
                    &mut self.mms.get_mut(&mm_id).expect("mm exists").rmap,
                    pfn,
                    l,
                    -1,
                );
                for (_, fl, f) in self.frames_unmap(pfn, l) {
                    let mm = self.mms.get_mut(&mm_id).expect("mm exists");
                    mm.rss[kind_idx(f.kind)] -= fl;
                    dropped += fl;
                }
            }
        }
        dropped
    }

    /// Map frames into an mm's page table (the frames' mapcount has been set by the caller);
    /// `dirty` is the new ptes' dirty bit (a write fault sets it).
    fn set_ptes(&mut self, mm_id: MmId, vpn: u64, n: u64, pfn: u64, kind: FrameKind, dirty: bool) {
        self.edit_pt(mm_id, |mm| mm.pt.set(vpn, n, Pte::Present { pfn, dirty }));
        let mm = self.mms.get_mut(&mm_id).expect("mm exists");
        rmap_add(&mut mm.rmap, pfn, n, 1);
        mm.rss[kind_idx(kind)] += n;
        mm.hiwater_rss = mm.hiwater_rss.max(mm.rss_total());
    }

    /// `(start, length)` of the mapping `name` of `proc`'s mm, or the scenario error.
    pub(crate) fn named_mapping(
        &self,
        mm_id: MmId,
        proc: &str,
        name: &str,
    ) -> Result<(u64, u64), OpError> {
        self.mms[&mm_id]
            .names
            .get(name)
            .copied()
            .ok_or_else(|| OpError::NoSuchMapping {
                proc: proc.to_string(),
                mapping: name.to_string(),
            })
    }

    /// A target as the system call receives it: `start` is the mapping's address plus the range
    /// start and `len` is the range end minus its start, both computed as a C program computes
    /// them (unsigned long arithmetic wraps), so a range that ends below its start or past 2^64
    /// reaches the kernel's own checks. Whole mappings are page aligned by construction.
    pub(crate) fn target_args(
        &self,
        mm_id: MmId,
        proc: &str,
        t: &Target,
    ) -> Result<SysRange, OpError> {
        let (start, len) = self.named_mapping(mm_id, proc, &t.mapping)?;
        match &t.range {
            None => Ok(SysRange { start, len }),
            Some((a, b)) => {
                let (ram, swap) = (self.cfg.ram_bytes, self.cfg.swap_bytes);
                let a = a.resolve(ram, swap);
                let b = b.resolve(ram, swap);
                Ok(SysRange {
                    start: start.wrapping_add(a),
                    len: b.wrapping_sub(a),
                })
            }
        }
    }

    /// Touch every page of a target: write or read faults (model-spec L5.2).
    pub(crate) fn access(
        &mut self,
        proc: &str,
        t: &Target,
        write: bool,
    ) -> Result<Outcome, OpError> {
        let pid = self.pid(proc)?;
        let mm_id = self.mm_of(pid).expect("running process has an mm");
        let r = self.target_args(mm_id, proc, t)?;
        if r.len == 0 {
            // Touching no byte takes no fault.
            return Ok(Outcome::Ok);
        }
        // The pages holding bytes [start, start + len). Nothing is mapped at or above TASK_SIZE,
        // so a range running past it (or past 2^64) faults at the first page it reaches there.
        let first = r.start & !(PAGE_SIZE - 1);
        let beyond = TASK_SIZE + PAGE_SIZE;
        let end = r
            .start
            .checked_add(r.len)
            .and_then(|e| e.checked_next_multiple_of(PAGE_SIZE))
            .map_or(beyond, |e| e.min(beyond))
            .max(first.saturating_add(PAGE_SIZE));
        self.fault_range(pid, mm_id, first, end, write)
    }

    /// Fault `[start, end)` page by page in address order; the first page with no VMA or without
    /// the needed permission ends it with SIGSEGV.
    pub(crate) fn fault_range(
        &mut self,
        pid: u32,
        mm_id: MmId,
        start: u64,
        end: u64,
        write: bool,
    ) -> Result<Outcome, OpError> {
        let mut addr = start;
        let mut done = Faulted::default();
        let mut outcome = Outcome::Ok;
        while addr < end {
            let Some(v) = self.mms[&mm_id].find(addr).cloned() else {
                self.emit(EventKind::FatalSignal {
                    signal: Signal::SIGSEGV,
                    why: format!(
                        "{} at {addr:x}: no VMA maps it (SEGV_MAPERR)",
                        if write { "write" } else { "read" }
                    ),
                    source: "arch/x86/mm/fault.c: do_user_addr_fault → bad_area",
                });
                outcome = Self::killed(Signal::SIGSEGV);
                break;
            };
            let allowed = if write {
                v.has(VM_WRITE)
            } else {
                v.flags & (VM_READ | VM_WRITE | VM_EXEC) != 0
            };
            if !allowed {
                self.emit(EventKind::FatalSignal {
                    signal: Signal::SIGSEGV,
                    why: format!(
                        "{} at {addr:x}: VMA {} does not allow it (SEGV_ACCERR)",
                        if write { "write" } else { "read" },
                        v.span()
                    ),
                    source: "arch/x86/mm/fault.c: do_user_addr_fault → access_error",
                });
                outcome = Self::killed(Signal::SIGSEGV);
                break;
            }
            let seg_end = end.min(v.end);
            if v.has(VM_HUGETLB) {
                // Hugetlb pages are taken from the reserved pool; they are not in Rss (not modelled further).
                addr = seg_end;
                continue;
            }
            if let Err(o) = self.fault_vma(
                pid,
                mm_id,
                &v,
                addr >> PAGE_SHIFT,
                seg_end >> PAGE_SHIFT,
                write,
                &mut done,
            ) {
                if o == Outcome::Blocked {
                    // Asleep in the memcg charge: the rest of the access is retried on wake-up
                    // (pages already faulted stay; a retry of them takes no new fault).
                    let (memcg, reason) = self
                        .pending_wait
                        .take()
                        .expect("a blocked charge names its cgroup");
                    self.procs.get_mut(&pid).expect("pid").memcg_wait =
                        Some(super::memcg::MemcgWait {
                            memcg,
                            reason,
                            start: addr,
                            end,
                            write,
                        });
                }
                if o == Self::killed(Signal::SIGBUS) {
                    self.emit(EventKind::FatalSignal {
                        signal: Signal::SIGBUS,
                        why: format!(
                            "{} in {addr:x}-{seg_end:x}: a shmem page's commit charge was refused (VM_FAULT_SIGBUS)",
                            if write { "write" } else { "read" }
                        ),
                        source: "mm/shmem.c: shmem_fault → shmem_get_folio_gfp",
                    });
                }
                outcome = o;
                break;
            }
            addr = seg_end;
        }
        let span = Span { start, end };
        let faults = done.total();
        if faults > 0 {
            let cg = self.memcg_of(pid);
            let st = &mut self.memcgs.groups.get_mut(&cg).expect("memcg").stat;
            st.pgfault += faults;
            // A page read back from swap is a major fault (do_swap_page returns
            // VM_FAULT_MAJOR; mm_account_fault counts PGMAJFAULT to the memcg). A page-cache
            // miss of a file fault would be one too; the model does not tell misses apart.
            st.pgmajfault += done.swap_in;
        }
        for (n, kind) in [
            (done.anon_new, FaultKind::AnonNew),
            (done.zero, FaultKind::ZeroPage),
            (done.cow_copy, FaultKind::CowCopy),
            (done.cow_reuse, FaultKind::CowReuse),
            (done.file, FaultKind::FileMap),
            (done.shmem, FaultKind::Shmem),
            (done.swap_in, FaultKind::SwapIn),
        ] {
            if n > 0 {
                self.emit(EventKind::Fault {
                    span,
                    pages: n,
                    kind,
                });
            }
        }
        if let Outcome::Killed { signal } = outcome {
            if self.procs[&pid].state == super::ProcState::Running {
                self.end_process(pid, Some(signal));
            }
        }
        Ok(outcome)
    }

    /// Give a VMA an anon_vma on its first anonymous page (mm/rmap.c: __anon_vma_prepare), reusing
    /// an adjacent compatible VMA's anon_vma when its chain is singular (find_mergeable_anon_vma).
    fn anon_vma_prepare(&mut self, mm_id: MmId, vstart: u64) {
        let mm = &self.mms[&mm_id];
        let v = &mm.vmas[&vstart];
        if v.anon_vma.is_some() {
            return;
        }
        let next = mm.starting_at(v.end);
        let prev = mm.ending_at(v.start);
        let reuse = next
            .filter(|n| anon_vma_compatible(v, n) && n.anon_vma.is_some() && n.anon_chain == 1)
            .or_else(|| {
                prev.filter(|p| {
                    anon_vma_compatible(p, v) && p.anon_vma.is_some() && p.anon_chain == 1
                })
            })
            .and_then(|n| n.anon_vma);
        let id = match reuse {
            Some(id) => id,
            None => self.new_anon_vma(),
        };
        let v = self
            .mms
            .get_mut(&mm_id)
            .expect("mm")
            .vmas
            .get_mut(&vstart)
            .expect("vma");
        v.anon_vma = Some(id);
        v.anon_chain = 1;
    }

    /// Fault pages `[a, b)` of one VMA.
    #[allow(clippy::too_many_arguments)]
    fn fault_vma(
        &mut self,
        pid: u32,
        mm_id: MmId,
        v: &Vma,
        a: u64,
        b: u64,
        write: bool,
        done: &mut Faulted,
    ) -> Result<(), Outcome> {
        let private = !v.has(VM_SHARED);
        // Walk the page table: gaps (never touched) and runs.
        let runs: Vec<(u64, u64, Pte)> = self.mms[&mm_id].pt.range(a, b).collect();
        let mut segs: Vec<(u64, u64, Option<Pte>)> = Vec::new();
        let mut cur = a;
        for (s, l, p) in runs {
            if s > cur {
                segs.push((cur, s - cur, None));
            }
            segs.push((s, l, Some(p)));
            cur = s + l;
        }
        if cur < b {
            segs.push((cur, b - cur, None));
        }
        for (s, n, pte) in segs {
            match pte {
                None => self.fault_untouched(pid, mm_id, v, s, n, write, private, done)?,
                Some(Pte::Zero) => {
                    if write {
                        self.anon_fault_new(pid, mm_id, v, s, n, done)?;
                        done.anon_new -= n;
                        done.cow_copy += n;
                    }
                }
                Some(Pte::Present { pfn, .. }) => {
                    if write {
                        self.write_present(pid, mm_id, v, s, n, pfn, private, done)?;
                    }
                }
                Some(Pte::Swap { slot }) => {
                    // do_swap_page: a major fault reads each page back.
                    let r = self.swap_in(pid, mm_id, s, n, slot, write);
                    let (read, err) = match r {
                        Ok(k) => (k, None),
                        Err((k, o)) => (k, Some(o)),
                    };
                    done.swap_in += read;
                    if let Some(o) = err {
                        return Err(o);
                    }
                }
            }
        }
        Ok(())
    }

    fn anon_fault_new(
        &mut self,
        pid: u32,
        mm_id: MmId,
        v: &Vma,
        s: u64,
        n: u64,
        done: &mut Faulted,
    ) -> Result<(), Outcome> {
        // Granted in part: each run of pages the allocator and the cgroup's limits let through
        // is faulted before the next is asked for, so a shortage half way keeps the first half.
        let gap = self.mms[&mm_id].pt.range(s, s + n).next().is_none();
        let mut off = 0;
        while off < n {
            let at = s + off;
            let pt_for = move |m: &LinuxMachine, k: u64| {
                if gap {
                    m.mms[&mm_id].pt_pages_for_gap(at, k)
                } else {
                    0
                }
            };
            let (cg, k) = self.alloc_grant(pid, n - off, GFP_ANON_FAULT, &pt_for)?;
            self.anon_vma_prepare(mm_id, v.start);
            // do_anonymous_page: the pte is made dirty (pte_mkdirty), the folio is not PG_dirty.
            let pfn = self.new_frames(k, FrameKind::Anon, 1, false, cg);
            self.set_ptes(mm_id, at, k, pfn, FrameKind::Anon, true);
            self.note_anon_pages(mm_id, at, k);
            done.anon_new += k;
            off += k;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn fault_untouched(
        &mut self,
        pid: u32,
        mm_id: MmId,
        v: &Vma,
        s: u64,
        n: u64,
        write: bool,
        private: bool,
        done: &mut Faulted,
    ) -> Result<(), Outcome> {
        match v.obj {
            None => {
                if write {
                    self.anon_fault_new(pid, mm_id, v, s, n, done)?;
                } else {
                    // do_anonymous_page: a read maps the shared zero page (no anon_vma, no RSS),
                    // in page tables it may have to allocate first.
                    let tables = self.mms[&mm_id].pt_pages_for_gap(s, n);
                    self.pt_room(pid, tables)?;
                    self.edit_pt(mm_id, |mm| mm.pt.set(s, n, Pte::Zero));
                    done.zero += n;
                }
            }
            Some(obj) => {
                let off = v.pgoff + (s - v.start_page());
                // Bring the object's pages into the page cache (a read or shmem allocation),
                // leaving room for the page tables that will map them (__do_fault preallocates
                // the pte table before the folio).
                let tables = self.mms[&mm_id].pt_pages_for_gap(s, n);
                self.pt_room(pid, tables)?;
                self.ensure_cache(pid, obj, off, n, write && !private, tables)?;
                let shmem = self.objs[&obj].kind.is_shmem();
                if write && private {
                    // do_cow_fault: copy the file page into a new anonymous page.
                    self.anon_fault_new(pid, mm_id, v, s, n, done)?;
                    done.anon_new -= n;
                    done.cow_copy += n;
                } else {
                    let cache: Vec<(u64, u64, CachePage)> =
                        self.objs[&obj].cache.range(off, off + n).collect();
                    let kind = if shmem {
                        FrameKind::Shmem
                    } else {
                        FrameKind::File
                    };
                    for (co, cl, cp) in cache {
                        self.frames_map(cp.pfn, cl);
                        if write {
                            // do_shared_fault → fault_dirty_shared_page: the folio is dirtied;
                            // a read fault maps it clean.
                            self.frames
                                .update(cp.pfn, cp.pfn + cl, |_, _, f| Frame { dirty: true, ..*f });
                        }
                        self.set_ptes(mm_id, s + (co - off), cl, cp.pfn, kind, write);
                    }
                    if shmem {
                        done.shmem += n;
                    } else {
                        done.file += n;
                    }
                }
            }
        }
        Ok(())
    }

    /// Make pages `[off, off+n)` of an object resident in its page cache. Shmem pages of a
    /// VM_NORESERVE object are charged one by one (mm/shmem.c: shmem_acct_blocks); a refused
    /// charge is SIGBUS for a fault. Each allocation leaves `tables` pages free (and uncharged)
    /// for the page tables a fault will map the pages with (0 for a read or write syscall).
    pub(crate) fn ensure_cache(
        &mut self,
        pid: u32,
        obj: u32,
        off: u64,
        n: u64,
        dirty: bool,
        tables: u64,
    ) -> Result<(), Outcome> {
        let missing: Vec<(u64, u64)> = {
            let o = &self.objs[&obj];
            let mut v = Vec::new();
            let mut cur = off;
            for (s, l, _) in o.cache.range(off, off + n) {
                if s > cur {
                    v.push((cur, s - cur));
                }
                cur = s + l;
            }
            if cur < off + n {
                v.push((cur, off + n - cur));
            }
            v
        };
        let shmem = self.objs[&obj].kind.is_shmem();
        let kind = if shmem {
            FrameKind::Shmem
        } else {
            FrameKind::File
        };
        for (s, l) in missing {
            let mut at = s;
            while at < s + l {
                // A page-cache page is charged to the cgroup of the task that brings it in.
                let (cg, g) = self.alloc_grant(pid, s + l - at, GFP_PAGECACHE, &|_, _| tables)?;
                if shmem && self.objs[&obj].noreserve {
                    let granted = self.charge_shmem_pages(pid, obj, g);
                    if granted < g {
                        self.memcg_uncharge(cg, g);
                        return Err(Self::killed(Signal::SIGBUS));
                    }
                }
                let pfn = self.new_frames(g, kind, 0, dirty, cg);
                self.objs
                    .get_mut(&obj)
                    .expect("obj")
                    .cache
                    .set(at, g, CachePage { pfn });
                self.note_cache_pages(obj, at, g);
                at += g;
            }
        }
        Ok(())
    }

    /// A write to resident pages: reuse exclusive anonymous pages, copy shared ones (do_wp_page),
    /// dirty shared-mapping pages in place. The ptes become dirty. A regular file's frame
    /// becomes dirty too (its mapping wants write notifies: ext4's `page_mkwrite` makes the first
    /// write a fault, `fault_dirty_shared_page`); a shmem frame does not: tmpfs has no
    /// writeback, so a read fault mapped the pte writable already (mm/mmap.c:
    /// `vma_wants_writenotify` is false without `mapping_can_writeback`) and the CPU sets only
    /// the pte's dirty bit.
    #[allow(clippy::too_many_arguments)]
    fn write_present(
        &mut self,
        pid: u32,
        mm_id: MmId,
        v: &Vma,
        s: u64,
        _n: u64,
        pfn: u64,
        private: bool,
        done: &mut Faulted,
    ) -> Result<(), Outcome> {
        let frames: Vec<(u64, u64, Frame)> = self.frames.range(pfn, pfn + _n).collect();
        for (fp, fl, f) in frames {
            let vpn = s + (fp - pfn);
            let exclusive_anon = f.kind == FrameKind::Anon && f.mapcount <= 1;
            if exclusive_anon || !private {
                let frame_dirty = f.dirty || f.kind == FrameKind::File;
                if frame_dirty != f.dirty || f.lazyfree {
                    self.frames.update(fp, fp + fl, |_, _, f| Frame {
                        dirty: frame_dirty,
                        lazyfree: false,
                        ..*f
                    });
                }
                if exclusive_anon && f.lazyfree {
                    done.cow_reuse += fl;
                }
                self.edit_pt(mm_id, |mm| {
                    mm.pt.set(
                        vpn,
                        fl,
                        Pte::Present {
                            pfn: fp,
                            dirty: true,
                        },
                    )
                });
                continue;
            }
            // Copy-on-write: a new private page for this process; the original loses a mapping.
            let mut off = 0;
            while off < fl {
                let (cg, k) = self.alloc_grant(pid, fl - off, GFP_ANON_FAULT, &|_, _| 0)?;
                self.anon_vma_prepare(mm_id, v.start);
                let before = self.frames_unmap(fp + off, k);
                {
                    let mm = self.mms.get_mut(&mm_id).expect("mm");
                    rmap_add(&mut mm.rmap, fp + off, k, -1);
                    for (_, bl, bf) in &before {
                        mm.rss[kind_idx(bf.kind)] -= bl;
                    }
                }
                let np = self.new_frames(k, FrameKind::Anon, 1, false, cg);
                self.set_ptes(mm_id, vpn + off, k, np, FrameKind::Anon, true);
                self.note_anon_pages(mm_id, vpn + off, k);
                done.cow_copy += k;
                off += k;
            }
        }
        Ok(())
    }
}
