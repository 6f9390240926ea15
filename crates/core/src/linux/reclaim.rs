//! Reclaim: what the allocator frees before it calls the OOM killer (mm/vmscan.c:
//! shrink_folio_list), in the model's deterministic order (docs/model.md, "Reclaim"): clean
//! page cache no process maps, then MADV_FREE pages, then dirty page cache (written back
//! first), then anonymous pages to swap. Within each kind the oldest go first: the lists are
//! kept in the order pages entered them (a simplified inactive list; an access does not
//! promote a page).

use super::memcg::MemcgId;
use super::memcg::{MemcgEventKey, Protection};
use super::mm::MmId;
use super::pages::{FrameKind, Pte};
use super::vma::ObjId;
use super::{LinuxMachine, ObjKind};
use crate::event::{EventKind, ReclaimKind};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// The LRU lists as hints: each entry names a range that held candidates when it was added,
/// keyed by the order it was added. Reclaim checks what a range holds now and drops an entry
/// once its range has nothing left to take, so each entry is paid for by the operation that
/// added it.
#[derive(Clone, Debug, Default)]
pub struct Lru {
    seq: u64,
    /// Page-cache ranges of regular files: (object, first page, pages).
    pub(crate) cache: BTreeMap<u64, (ObjId, u64, u64)>,
    /// MADV_FREE'd ranges: (mm, first virtual page, pages).
    pub(crate) lazy: BTreeMap<u64, (MmId, u64, u64)>,
    /// Anonymous ranges faulted in: (mm, first virtual page, pages).
    pub(crate) anon: BTreeMap<u64, (MmId, u64, u64)>,
    /// During one reclaim: what memory.min and memory.low leave reclaimable in each protected
    /// cgroup (mem_cgroup_calculate_protection), taken down as pages are planned; whether low
    /// protection is being overridden (sc->memcg_low_reclaim) and whether a low-protected
    /// cgroup's page was passed by (sc->memcg_low_skipped).
    prot: RefCell<BTreeMap<MemcgId, Protection>>,
    low_reclaim: bool,
    low_skipped: Cell<bool>,
}

impl Lru {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

impl LinuxMachine {
    /// Pages `[off, off+n)` of object `obj` entered the page cache: regular-file pages join the
    /// file LRU (shmem pages are not reclaimed without swap of shmem, which is not modelled).
    pub(crate) fn note_cache_pages(&mut self, obj: ObjId, off: u64, n: u64) {
        if matches!(self.objs[&obj].kind, ObjKind::File { .. }) {
            let k = self.lru.next();
            self.lru.cache.insert(k, (obj, off, n));
        }
    }

    /// MADV_FREE marked `[vpn, vpn+n)` of an mm: those pages join the lazy-free list.
    pub(crate) fn note_lazyfree(&mut self, mm: MmId, vpn: u64, n: u64) {
        let k = self.lru.next();
        self.lru.lazy.insert(k, (mm, vpn, n));
    }

    /// Anonymous pages `[vpn, vpn+n)` were faulted into an mm: they join the anon LRU.
    pub(crate) fn note_anon_pages(&mut self, mm: MmId, vpn: u64, n: u64) {
        let k = self.lru.next();
        self.lru.anon.insert(k, (mm, vpn, n));
    }

    /// Direct reclaim for an allocation of `want` pages: returns the pages freed (each kind it
    /// took is an event). `scope` None is global reclaim (free pages ran short); Some(cg) is
    /// memcg reclaim (try_to_free_mem_cgroup_pages): only pages charged to `cg`'s subtree are
    /// taken. The model keeps one set of LRU lists, so a memcg reclaim walks them and skips
    /// other cgroups' pages (the kernel has per-memcg lruvecs). Either may swap anonymous pages
    /// out while swap and the page's cgroup's swap limit have room (v2 memory.swap.max; the
    /// swap charge: linux/memcg.rs, memcg_swap_charge).
    pub(crate) fn reclaim(&mut self, want: u64, scope: Option<MemcgId>) -> u64 {
        self.reclaim_with(want, scope, true)
    }

    /// [`Self::reclaim`], with `may_swap` false for a v1 charge that failed on memory+swap
    /// (try_charge_memcg drops MEMCG_RECLAIM_MAY_SWAP: swapping would not lower memsw).
    pub(crate) fn reclaim_with(
        &mut self,
        want: u64,
        scope: Option<MemcgId>,
        may_swap: bool,
    ) -> u64 {
        // memory.min and memory.low (do_try_to_free_pages → shrink_node_memcgs): a cgroup
        // below its effective min is never reclaimed; one below its effective low only when a
        // pass that passed it by reclaimed nothing (then each such cgroup counts a `low` event).
        self.lru.prot = RefCell::new(self.memcg_protection(scope));
        self.lru.low_reclaim = false;
        self.lru.low_skipped.set(false);
        let mut freed = self.reclaim_pass(want, scope, may_swap);
        if freed == 0 && self.lru.low_skipped.get() {
            self.lru.low_reclaim = true;
            let low: Vec<MemcgId> = self
                .lru
                .prot
                .borrow()
                .iter()
                .filter(|(_, p)| p.low_room < p.min_room)
                .map(|(&c, _)| c)
                .collect();
            for c in low {
                self.memcg_event(c, MemcgEventKey::Low, 1);
            }
            freed = self.reclaim_pass(want, scope, may_swap);
        }
        self.lru.prot.borrow_mut().clear();
        freed
    }

    /// One pass over the kinds, in the model's order.
    fn reclaim_pass(&mut self, want: u64, scope: Option<MemcgId>, may_swap: bool) -> u64 {
        let mut freed = 0;
        for kind in [
            ReclaimKind::CleanCache,
            ReclaimKind::LazyFree,
            ReclaimKind::DirtyCache,
            ReclaimKind::SwapOut,
        ] {
            if freed >= want {
                break;
            }
            let need = want - freed;
            let got = match kind {
                ReclaimKind::CleanCache => self.reclaim_cache(need, false, scope),
                ReclaimKind::DirtyCache => self.reclaim_cache(need, true, scope),
                ReclaimKind::LazyFree => self.reclaim_lazy(need, scope),
                ReclaimKind::SwapOut if !may_swap => 0,
                ReclaimKind::SwapOut => self.reclaim_swap(need, scope),
            };
            if got > 0 {
                let memcg = scope.map(|c| self.memcgs.groups[&c].path.clone());
                self.emit(EventKind::Reclaimed {
                    what: kind,
                    pages: got,
                    wanted: want,
                    memcg,
                    over_high: self.memcgs.reclaiming_high,
                });
                freed += got;
            }
        }
        freed
    }

    /// Drop up to `need` unmapped page-cache pages of regular files, clean ones (`dirty` false)
    /// or dirty ones, which are written back first (pageout, then the flusher's writeback).
    /// How many of `n` pages charged to `cg` a reclaim of `scope` may take, and takes them
    /// from the cgroup's protection budget: none outside the scope; for a protected cgroup no
    /// more than its usage above the effective min, and above the effective low too unless the
    /// reclaim overrides low protection (the kernel's proportional scan, mem_cgroup_protection,
    /// reclaims a protected cgroup towards its protection and no further; below it
    /// mem_cgroup_below_min / _low pass the cgroup by).
    fn reclaim_take(&self, cg: MemcgId, scope: Option<MemcgId>, n: u64) -> u64 {
        if !scope.is_none_or(|s| self.memcg_in_subtree(cg, s)) {
            return 0;
        }
        let mut prot = self.lru.prot.borrow_mut();
        let Some(p) = prot.get_mut(&cg) else {
            return n;
        };
        let room = if self.lru.low_reclaim {
            p.min_room
        } else {
            p.low_room
        };
        if room < n && p.low_room < p.min_room && !self.lru.low_reclaim {
            self.lru.low_skipped.set(true);
        }
        let t = n.min(room);
        if !self.lru.low_reclaim {
            p.low_room -= t;
        }
        p.min_room -= t;
        p.low_room = p.low_room.min(p.min_room);
        t
    }

    /// Whether a pass may drop an LRU entry it found nothing more to take in: only a global
    /// reclaim that protects nothing saw every candidate of the entry.
    fn sees_everything(&self, scope: Option<MemcgId>) -> bool {
        scope.is_none() && self.lru.prot.borrow().is_empty()
    }

    fn reclaim_cache(&mut self, need: u64, dirty: bool, scope: Option<MemcgId>) -> u64 {
        let mut got = 0;
        let mut cursor = 0;
        while got < need {
            let Some((&k, &(obj, off, len))) = self.lru.cache.range(cursor..).next() else {
                break;
            };
            cursor = k + 1;
            let Some(o) = self.objs.get(&obj) else {
                self.lru.cache.remove(&k);
                continue;
            };
            // The candidate runs: (object page, pfn, pages).
            let mut take: Vec<(u64, u64, u64)> = Vec::new();
            let mut planned = 0;
            'runs: for (co, cl, cp) in o.cache.range(off, off + len) {
                for (fp, fl, f) in self.frames.range(cp.pfn, cp.pfn + cl) {
                    if f.kind == FrameKind::File && f.mapcount == 0 && f.dirty == dirty {
                        let t = self.reclaim_take(f.memcg, scope, fl.min(need - got - planned));
                        if t == 0 {
                            continue;
                        }
                        take.push((co + (fp - cp.pfn), fp, t));
                        planned += t;
                        if got + planned == need {
                            break 'runs;
                        }
                    }
                }
            }
            for (at, pfn, n) in take {
                self.objs
                    .get_mut(&obj)
                    .expect("obj")
                    .cache
                    .remove(at, at + n);
                self.free_frames(pfn, n);
                got += n;
            }
            if self.objs[&obj].cache.covered(off, off + len) == 0 {
                self.lru.cache.remove(&k);
            }
        }
        got
    }

    /// Drop up to `need` MADV_FREE'd pages that were not written since and that one pte maps
    /// (try_to_unmap_one discards a clean lazy-free folio). A page a fork shares would need
    /// every mapping unmapped; the model leaves it (docs/known-differences.md).
    fn reclaim_lazy(&mut self, need: u64, scope: Option<MemcgId>) -> u64 {
        let mut got = 0;
        let mut cursor = 0;
        while got < need {
            let Some((&k, &(mm, vpn, len))) = self.lru.lazy.range(cursor..).next() else {
                break;
            };
            cursor = k + 1;
            let Some(m) = self.mms.get(&mm) else {
                self.lru.lazy.remove(&k);
                continue;
            };
            let mut take: Vec<(u64, u64)> = Vec::new();
            let mut planned = 0;
            'runs: for (s, l, pte) in m.pt.range(vpn, vpn + len) {
                if let Pte::Present { pfn, dirty } = pte {
                    for (fp, fl, f) in self.frames.range(pfn, pfn + l) {
                        // The only pte and the folio are clean (MADV_FREE cleaned them, nothing
                        // wrote since): try_to_unmap_one discards it.
                        if f.kind == FrameKind::Anon
                            && f.lazyfree
                            && !f.dirty
                            && !dirty
                            && f.mapcount == 1
                        {
                            let t = self.reclaim_take(f.memcg, scope, fl.min(need - got - planned));
                            if t == 0 {
                                continue;
                            }
                            take.push((s + (fp - pfn), t));
                            planned += t;
                            if got + planned == need {
                                break 'runs;
                            }
                        }
                    }
                }
            }
            // A memcg reclaim leaves the entry: what it skipped may be another cgroup's.
            let whole = got + planned < need && self.sees_everything(scope);
            for (a, n) in take {
                got += self.zap(mm, a, a + n);
            }
            if whole {
                self.lru.lazy.remove(&k);
            }
        }
        got
    }

    /// Write up to `need` anonymous pages to swap, while swap has room, oldest first. Only a
    /// page one pte maps is written (a page a fork shares would need every pte changed; the
    /// model leaves it), and not a MADV_FREE page (it is dropped instead, above). A memcg
    /// reclaim (`scope`) takes only its subtree's pages, and no page goes out past its
    /// cgroup's swap limit (folio_alloc_swap fails when mem_cgroup_try_charge_swap does, and
    /// the folio stays).
    fn reclaim_swap(&mut self, need: u64, scope: Option<MemcgId>) -> u64 {
        let need = need.min(self.swap_free_pages());
        let mut got = 0;
        let mut cursor = 0;
        while got < need {
            let Some((&k, &(mm, vpn, len))) = self.lru.anon.range(cursor..).next() else {
                break;
            };
            cursor = k + 1;
            let Some(m) = self.mms.get(&mm) else {
                self.lru.anon.remove(&k);
                continue;
            };
            let mut take: Vec<(u64, u64, u64)> = Vec::new();
            let mut planned = 0;
            'runs: for (s, l, pte) in m.pt.range(vpn, vpn + len) {
                if let Pte::Present { pfn, .. } = pte {
                    for (fp, fl, f) in self.frames.range(pfn, pfn + l) {
                        if f.kind == FrameKind::Anon
                            && f.mapcount == 1
                            && !f.lazyfree
                            && self.memcg_swap_margin(f.memcg) > 0
                        {
                            let t = self.reclaim_take(f.memcg, scope, fl.min(need - got - planned));
                            if t == 0 {
                                continue;
                            }
                            take.push((s + (fp - pfn), fp, t));
                            planned += t;
                            if got + planned == need {
                                break 'runs;
                            }
                        }
                    }
                }
            }
            // A memcg reclaim leaves the entry (what it skipped may be another cgroup's), and
            // so does a run a swap limit stopped.
            let mut whole = got + planned < need && self.sees_everything(scope);
            for (v, pfn, n) in take {
                // Each frame run as far as its cgroup's swap limit lets it (runs of one take
                // may belong to different cgroups; a limit may be met within the take).
                let owners: Vec<(u64, u64, MemcgId)> = self
                    .frames
                    .range(pfn, pfn + n)
                    .map(|(fp, l, f)| (fp, l, f.memcg))
                    .collect();
                for (fp, l, cg) in owners {
                    let t = l.min(self.memcg_swap_margin(cg));
                    if t < l {
                        whole = false;
                    }
                    if t > 0 {
                        self.swap_out(mm, v + (fp - pfn), fp, t);
                        got += t;
                    }
                }
            }
            if whole {
                self.lru.anon.remove(&k);
            }
        }
        got
    }
}
