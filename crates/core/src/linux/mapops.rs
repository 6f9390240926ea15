//! Address-space operations: mmap, munmap, mprotect, mremap, madvise, brk, stack growth and fork,
//! with their VMA merges and splits (model-spec L4, L6, L7).

use super::mm::*;
use super::pages::{Frame, FrameKind, Pte};
use super::vma::*;
use super::{LinuxMachine, ObjKind, OpError, Pid, ProcState};
use crate::config::OvercommitMode;
use crate::event::{ChargeFor, EventKind, MergePath, NoMerge};
use crate::op::{
    Advice, Backing, BrkChange, Errno, ForkKind, Op, Outcome, Placement, Prot, Signal, Target,
};
use crate::units::{PAGE_SHIFT, PAGE_SIZE};

/// The kernel's `PAGE_ALIGN(len)` in unsigned long arithmetic: a length within a page of 2^64
/// rounds up to 0, which each system call's own check then refuses.
pub(crate) const fn page_align(len: u64) -> u64 {
    len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// `MAX_LFS_FILESIZE` on 64-bit: the largest file (and so file offset) a mapping may reach.
pub(crate) const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

/// Where a MAP_FIXED(_NOREPLACE) address is checked.
const FIXED_SRC: &str = "mm/mmap.c: __get_unmapped_area (MAP_FIXED)";

/// The `vma.placed` sentence and source for an address the kernel chose (`len` bytes).
fn placed_how(
    rule: AreaRule,
    len: u64,
    kernel: crate::kernel::KernelVersion,
) -> (String, &'static str) {
    use crate::units::human;
    const TOP_DOWN: &str = "mm/mmap.c: arch_get_unmapped_area_topdown";
    const THP: &str =
        "mm/huge_memory.c: __thp_get_unmapped_area (from mm/mmap.c: __get_unmapped_area)";
    match rule {
        // Shorter than a PMD: the THP rule cannot apply in any era; say nothing about it.
        AreaRule::TopDown | AreaRule::TooShortForPmd => ("top-down below mmap_base".into(), TOP_DOWN),
        AreaRule::NotPmdMultiple if len < PMD_SIZE => ("top-down below mmap_base".into(), TOP_DOWN),
        AreaRule::NotPmdMultiple => (
            format!(
                "top-down below mmap_base, not THP-aligned: {} is not a multiple of 2 MiB (Linux ≥ 6.12)",
                human(len)
            ),
            "mm/mmap.c: __get_unmapped_area (IS_ALIGNED(len, PMD_SIZE))",
        ),
        AreaRule::PaddedSearchFailed => (
            format!(
                "top-down below mmap_base, not THP-aligned: no free range of {} + 2 MiB, so searched again without the padding",
                human(len)
            ),
            THP,
        ),
        AreaRule::ThpAligned { .. } => (
            format!(
                "top-down below mmap_base, THP-aligned (Linux {kernel}): searched for {} + 2 MiB, started on a 2 MiB boundary",
                human(len)
            ),
            THP,
        ),
    }
}

impl LinuxMachine {
    pub(crate) fn proc_mm(&self, proc: &str) -> Result<(Pid, MmId), OpError> {
        let pid = self.pid(proc)?;
        let mm = self.mm_of(pid).ok_or_else(|| OpError::NoAddressSpace {
            proc: proc.to_string(),
        })?;
        Ok((pid, mm))
    }

    /// `security_vm_enough_memory_mm(mm, pages)` for a process: the check with its mm's total_vm
    /// and its capabilities, the decision as an event, and the kernel's log line on refusal.
    /// Returns whether the pages were granted (and charged).
    fn charge_for(&mut self, pid: Pid, mm_id: MmId, pages: u64, for_what: ChargeFor) -> bool {
        let tv = self.mms[&mm_id].total_vm;
        let d = self.vm_enough_memory(pages, Some(tv), self.procs[&pid].cap_sys_admin, for_what);
        self.emit(EventKind::Commit(d));
        if !d.granted {
            self.enomem_log(pid, pages);
        }
        d.granted
    }

    fn max_map_count(&self) -> u64 {
        self.cfg.sysctls.max_map_count
    }

    /// Replace a VMA keeping total_vm right.
    fn put_vma(&mut self, mm_id: MmId, old_start: u64, v: Vma) {
        let mm = self.mms.get_mut(&mm_id).expect("mm");
        mm.remove(old_start);
        mm.insert(v);
    }

    fn obj_ref(&mut self, obj: Option<u32>, delta: i64) {
        if let Some(o) = obj.and_then(|id| self.objs.get_mut(&id)) {
            o.maps = (o.maps as i64 + delta).max(0) as u64;
        }
    }

    /// Insert a new VMA for `c`, merging with its neighbours as vma_merge_new_range does (`path`
    /// says which caller: mmap and brk, or copy_vma for a VMA moved by mremap). Returns the start
    /// of the VMA that now holds the range.
    fn insert_merge(
        &mut self,
        mm_id: MmId,
        c: Candidate,
        special: Option<Special>,
        path: MergePath,
    ) -> u64 {
        let mm = &self.mms[&mm_id];
        let prev = mm.ending_at(c.start).cloned();
        let next = mm.starting_at(c.end).cloned();
        let (left, right) = self.merge_sides(&c, &prev, &next, None);
        let ok_left = matches!(left, Some(Ok(())));
        let ok_right = matches!(right, Some(Ok(())));
        let result = match (ok_left, ok_right) {
            (true, true) => {
                let p = prev.expect("left");
                let n = next.expect("right");
                let mut m = p.clone();
                m.end = n.end;
                m.anon_vma = p.anon_vma.or(n.anon_vma).or(c.anon_vma);
                m.anon_chain = if m.anon_vma.is_some() {
                    p.anon_chain.max(n.anon_chain).max(1)
                } else {
                    0
                };
                self.mms.get_mut(&mm_id).expect("mm").remove(n.start);
                self.obj_ref(n.obj, -1);
                self.put_vma(mm_id, p.start, m.clone());
                m
            }
            (true, false) => {
                let p = prev.expect("left");
                let mut m = p.clone();
                m.end = c.end;
                adopt_anon_vma(&mut m, &c);
                self.put_vma(mm_id, p.start, m.clone());
                m
            }
            (false, true) => {
                let n = next.expect("right");
                let mut m = n.clone();
                m.start = c.start;
                m.pgoff = c.pgoff;
                adopt_anon_vma(&mut m, &c);
                self.put_vma(mm_id, n.start, m.clone());
                m
            }
            (false, false) => {
                let v = Vma {
                    start: c.start,
                    end: c.end,
                    flags: c.flags,
                    obj: c.obj,
                    pgoff: c.pgoff,
                    anon_vma: c.anon_vma,
                    anon_chain: u32::from(c.anon_vma.is_some()),
                    special,
                };
                self.obj_ref(c.obj, 1);
                self.mms.get_mut(&mm_id).expect("mm").insert(v.clone());
                self.emit(EventKind::VmaCreated {
                    span: v.span(),
                    flags: flag_codes(v.flags),
                });
                return v.start;
            }
        };
        self.emit(EventKind::VmaMerged {
            span: result.span(),
            with_prev: ok_left,
            with_next: ok_right,
            path,
        });
        result.start
    }

    /// `can_merge_remove_vma` (mm/vma.c): a merge never removes a VMA with a `vm_ops->close` hook;
    /// userspace gets one from SysV shm (`shm_close`) and hugetlb (`hugetlb_vm_op_close`).
    /// Measured on 6.18: a SysV attach split by mprotect does not rejoin when the merge would
    /// remove a piece, and does when it only moves a boundary.
    pub(crate) fn can_merge_remove_vma(&self, v: &Vma) -> bool {
        let sysv = v
            .obj
            .and_then(|o| self.objs.get(&o))
            .is_some_and(|o| matches!(o.kind, ObjKind::Sysv { .. }));
        !sysv && !v.has(VM_HUGETLB)
    }

    /// The merge decision for both neighbours of the range `c` (vma_merge_new_range,
    /// vma_merge_existing_range): each side's `can_vma_merge_after/before`, then the reductions —
    /// a three-way merge needs compatible prev and next anon_vmas (`can_vma_merge_right`), and no
    /// merge removes a VMA with a close hook: `next` when both sides merge, or `removed` (the
    /// changed VMA, when the range is all of it). One `vma.not_merged` event per refusing side.
    fn merge_sides(
        &mut self,
        c: &Candidate,
        prev: &Option<Vma>,
        next: &Option<Vma>,
        removed: Option<&Vma>,
    ) -> (Option<MergeCheck>, Option<MergeCheck>) {
        let k = self.cfg.kernel;
        let mut left = prev.as_ref().map(|p| can_merge_after(k, p, c));
        let mut right = next.as_ref().map(|n| can_merge_before(k, n, c));
        if let (Some(Ok(())), Some(Ok(())), Some(p), Some(n)) = (&left, &right, prev, next) {
            if !three_way_compatible(p, n) {
                right = Some(Err(NoMerge::ThreeWayAnonVma));
            } else if !self.can_merge_remove_vma(n) {
                right = Some(Err(NoMerge::CloseHook));
            }
        }
        if removed.is_some_and(|v| !self.can_merge_remove_vma(v)) {
            for r in [&mut left, &mut right] {
                if let Some(Ok(())) = r {
                    *r = Some(Err(NoMerge::CloseHook));
                }
            }
        }
        let span = crate::event::Span {
            start: c.start,
            end: c.end,
        };
        for (nb, r) in [(prev, &left), (next, &right)] {
            if let (Some(nb), Some(Err(why))) = (nb, r) {
                self.emit(EventKind::VmaNotMerged {
                    span,
                    neighbour: nb.span(),
                    why: *why,
                });
            }
        }
        (left, right)
    }

    /// Remove a whole VMA: unmap its pages and drop its object reference. Returns its VM_ACCOUNT
    /// pages for the caller to unaccount.
    pub(crate) fn remove_vma(&mut self, mm_id: MmId, start: u64) -> u64 {
        let Some(v) = self.mms.get_mut(&mm_id).expect("mm").remove(start) else {
            return 0;
        };
        self.zap(mm_id, v.start_page(), v.end_page());
        self.release_vma_resources(&v);
        self.emit(EventKind::VmaRemoved { span: v.span() });
        if v.has(VM_ACCOUNT) {
            v.pages()
        } else {
            0
        }
    }

    /// What a removed VMA (whose ptes are gone) still holds: its huge-page reservation and its
    /// reference to a file or shmem object, which may be the last.
    pub(crate) fn release_vma_resources(&mut self, v: &Vma) {
        if v.has(VM_HUGETLB) && !v.has(VM_NORESERVE) {
            let huge = v.pages() / (self.cfg.hugepage_bytes >> PAGE_SHIFT).max(1);
            self.huge_rsvd = self.huge_rsvd.saturating_sub(huge);
        }
        self.obj_ref(v.obj, -1);
        if let Some(o) = v.obj {
            self.maybe_destroy(o);
        }
    }

    /// split_vma with its map_count check (`map_count >= max_map_count` → ENOMEM).
    fn split_checked(&mut self, mm_id: MmId, at: u64) -> Result<(), Outcome> {
        let mm = &self.mms[&mm_id];
        let Some(v) = mm.find(at) else { return Ok(()) };
        if v.start == at {
            return Ok(());
        }
        let span = v.span();
        if mm.map_count() >= self.max_map_count() {
            self.emit(EventKind::MapCountLimit {
                map_count: mm.map_count(),
                max: self.max_map_count(),
                split: true,
            });
            return Err(Outcome::Err(Errno::ENOMEM));
        }
        let obj = v.obj;
        self.mms.get_mut(&mm_id).expect("mm").split(at);
        self.obj_ref(obj, 1);
        self.emit(EventKind::VmaSplit { span, at });
        Ok(())
    }

    pub(crate) fn mmap(&mut self, op: &Op) -> Result<Outcome, OpError> {
        let Op::Mmap {
            proc,
            name,
            len,
            prot,
            shared,
            backing,
            noreserve,
            populate,
            growsdown,
            locked,
            hugetlb,
            placement,
        } = op
        else {
            unreachable!("mmap called with another op")
        };
        let (pid, mm_id) = self.proc_mm(proc)?;
        if self.mms[&mm_id].names.contains_key(name) {
            return Err(OpError::MappingExists {
                proc: proc.to_string(),
                mapping: name.to_string(),
            });
        }
        // A program opens a tmpfs file (O_RDWR | O_CREAT) before it calls mmap, so the file
        // exists even when the mmap then fails: after `unlink t`, a refused `mmap … tmpfs t`
        // leaves a new empty `t` that a later `unlink t` removes (found by the real-kernel
        // sweep, seed 361: ENOENT in the model, ok on 6.18).
        if let Backing::Tmpfs { path, .. } = backing {
            self.path_obj(path, true);
        }
        let len = len.resolve(self.cfg.ram_bytes, self.cfg.swap_bytes);
        let mode = self.cfg.sysctls.overcommit_memory;
        // Resolve the object first: a SysV attach takes the segment's size.
        let (len, obj_kind) = match backing {
            Backing::SysvShm { key } => {
                let Some(&id) = self.shm_keys.get(key) else {
                    return Ok(self.refuse(
                        Errno::EINVAL,
                        format!("no SysV segment `{key}`"),
                        "ipc/shm.c: do_shmat",
                    ));
                };
                if !shared {
                    return Ok(self.refuse(
                        Errno::EINVAL,
                        "shmat mappings are shared".into(),
                        "ipc/shm.c: do_shmat",
                    ));
                }
                (self.objs[&id].size_pages * PAGE_SIZE, Some(id))
            }
            _ => (len, None),
        };
        // ksys_mmap_pgoff rounds a MAP_HUGETLB length up to a huge page first; it can wrap to 0.
        let huge_bytes = self.cfg.hugepage_bytes.max(PAGE_SIZE);
        let len = if *hugetlb {
            // ALIGN(len, huge_page_size) wraps to 0 past 2^64.
            match len.checked_next_multiple_of(huge_bytes) {
                Some(l) => l,
                None => {
                    return Ok(self.refuse(
                        Errno::EINVAL,
                        format!("MAP_HUGETLB of {len} bytes: ALIGN(len, huge page size) wraps past 2^64 to 0, and do_mmap refuses length 0"),
                        "mm/mmap.c: ksys_mmap_pgoff → do_mmap (!len)",
                    ));
                }
            }
        } else {
            len
        };
        if len == 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                "mmap of length 0".into(),
                "mm/mmap.c: do_mmap (!len)",
            ));
        }
        // "Careful about overflows..": a length within a page of 2^64 rounds up to 0.
        let aligned = page_align(len);
        if aligned == 0 {
            return Ok(self.refuse(
                Errno::ENOMEM,
                format!("mmap of {len} bytes: PAGE_ALIGN(len) wraps past 2^64 to 0"),
                "mm/mmap.c: do_mmap (len = PAGE_ALIGN(len); if (!len))",
            ));
        }
        let huge_pages = huge_bytes >> PAGE_SHIFT;
        let pages = aligned >> PAGE_SHIFT;
        let offset = match backing {
            Backing::File { offset, .. } | Backing::Tmpfs { offset, .. } => *offset,
            _ => 0,
        };
        if offset % PAGE_SIZE != 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("offset {offset} is not page aligned"),
                "mm/mmap.c: do_mmap",
            ));
        }
        let mm = &self.mms[&mm_id];
        if mm.map_count() > self.max_map_count() {
            self.emit(EventKind::MapCountLimit {
                map_count: mm.map_count(),
                max: self.max_map_count(),
                split: false,
            });
            return Ok(Outcome::Err(Errno::ENOMEM));
        }
        // Flags: calc_vm_prot_bits | calc_vm_flag_bits | VM_MAY*.
        let mut flags = prot_bits(*prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
        if *shared {
            flags |= VM_SHARED | VM_MAYSHARE;
            if let Backing::File {
                readonly_fd: true, ..
            } = backing
            {
                if prot.write {
                    return Ok(self.refuse(
                        Errno::EACCES,
                        "MAP_SHARED with PROT_WRITE on a file opened O_RDONLY".into(),
                        "mm/mmap.c: do_mmap (FMODE_WRITE check)",
                    ));
                }
                flags &= !(VM_MAYWRITE | VM_SHARED);
            }
            if matches!(backing, Backing::SysvShm { .. }) && !prot.write {
                // shmat(SHM_RDONLY) opens the segment's file O_RDONLY (ipc/shm.c: do_shmat,
                // f_flags = O_RDONLY), so do_mmap drops VM_MAYWRITE and VM_SHARED as for any
                // file without FMODE_WRITE; measured on 6.18: the VMA's VmFlags have no `sh`.
                flags &= !(VM_MAYWRITE | VM_SHARED);
            }
        }
        if *noreserve && (mode != OvercommitMode::Never || *hugetlb) {
            // "We honor MAP_NORESERVE if allowed to overcommit" (mm/mmap.c: do_mmap).
            flags |= VM_NORESERVE;
        }
        if *growsdown {
            if !matches!(backing, Backing::Anon) || *shared {
                return Ok(self.refuse(
                    Errno::EINVAL,
                    "MAP_GROWSDOWN needs private anonymous memory".into(),
                    "mm/mmap.c: do_mmap",
                ));
            }
            flags |= VM_GROWSDOWN;
        }
        if *locked {
            flags |= VM_LOCKED;
        }
        if *hugetlb {
            if !matches!(backing, Backing::Anon) {
                return Ok(self.refuse(
                    Errno::EINVAL,
                    "MAP_HUGETLB is for anonymous memory".into(),
                    "mm/mmap.c: ksys_mmap_pgoff",
                ));
            }
            flags |= VM_HUGETLB;
        }
        // Checked before any placement: no mapping is larger than user space.
        if aligned > TASK_SIZE {
            return Ok(self.refuse(
                Errno::ENOMEM,
                format!("mmap of {aligned:#x} bytes is larger than TASK_SIZE ({TASK_SIZE:#x})"),
                "mm/mmap.c: __get_unmapped_area (len > TASK_SIZE)",
            ));
        }
        // A MAP_HUGETLB length is already a whole number of huge pages.
        let bytes = aligned;
        // Placement.
        let mut area_rule = AreaRule::TopDown;
        let addr = match placement {
            Placement::Any => {
                // Only an anonymous private mapping takes the THP path of __get_unmapped_area:
                // a file has its own get_unmapped_area, MAP_SHARED anonymous memory takes
                // shmem's, and MAP_HUGETLB is a hugetlbfs file. The pgoff of an anonymous
                // mmap is the (zero) offset argument.
                let anon_private = matches!(backing, Backing::Anon) && !*shared && !*hugetlb;
                let thp = anon_private.then(|| (self.cfg.kernel.thp_anon_alignment(), 0));
                let area = self.mms[&mm_id].get_unmapped_area(bytes, thp);
                area_rule = area.rule;
                match area.addr {
                    Some(a) => a,
                    None => {
                        return Ok(self.refuse(
                            Errno::ENOMEM,
                            "no free range of that size below mmap_base".into(),
                            "mm/mmap.c: arch_get_unmapped_area_topdown",
                        ));
                    }
                }
            }
            Placement::At(a) => *a,
            Placement::Below { of, gap } | Placement::Above { of, gap } => {
                let (s, l) = self.named_mapping(mm_id, proc, of)?;
                let a = gap.checked_next_multiple_of(PAGE_SIZE).and_then(|gap| {
                    if matches!(placement, Placement::Below { .. }) {
                        s.checked_sub(gap).and_then(|x| x.checked_sub(bytes))
                    } else {
                        (s + l).checked_add(gap)
                    }
                });
                match a {
                    Some(a) => a,
                    None => {
                        return Ok(self.refuse(
                            Errno::ENOMEM,
                            "no room there".into(),
                            "mm/mmap.c: do_mmap",
                        ))
                    }
                }
            }
        };
        // __get_unmapped_area's checks of a fixed address, in its order (bytes ≤ TASK_SIZE).
        if addr > TASK_SIZE - bytes {
            return Ok(self.refuse(
                Errno::ENOMEM,
                format!("{addr:#x} + {bytes:#x} ends past TASK_SIZE ({TASK_SIZE:#x})"),
                "mm/mmap.c: __get_unmapped_area (addr > TASK_SIZE - len)",
            ));
        }
        if addr % PAGE_SIZE != 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("address {addr:#x} is not page aligned"),
                "mm/mmap.c: __get_unmapped_area (offset_in_page(addr))",
            ));
        }
        if addr < MMAP_MIN_ADDR {
            return Ok(self.refuse(
                Errno::EPERM,
                format!(
                    "{addr:#x} is below vm.mmap_min_addr ({MMAP_MIN_ADDR:#x}) and the process lacks CAP_SYS_RAWIO"
                ),
                "security/commoncap.c: cap_mmap_addr (via security_mmap_addr)",
            ));
        }
        if !self.mms[&mm_id].is_free(addr, addr + bytes) {
            return Ok(self.refuse(
                Errno::EEXIST,
                format!(
                    "MAP_FIXED_NOREPLACE: {addr:#x}–{:#x} overlaps an existing mapping",
                    addr + bytes
                ),
                "mm/mmap.c: do_mmap (MAP_FIXED_NOREPLACE)",
            ));
        }
        // A file mapping must end inside the largest file the file system allows.
        if matches!(backing, Backing::File { .. } | Backing::Tmpfs { .. })
            && (offset >> PAGE_SHIFT) > (MAX_LFS_FILESIZE - bytes) >> PAGE_SHIFT
        {
            return Ok(self.refuse(
                Errno::EOVERFLOW,
                format!(
                    "file offset {offset:#x} + {bytes:#x} bytes passes MAX_LFS_FILESIZE ({MAX_LFS_FILESIZE:#x})"
                ),
                "mm/mmap.c: do_mmap → file_mmap_ok",
            ));
        }
        // Accounting (mm/mmap.c: accountable_mapping): private, writable, not NORESERVE, not hugetlb.
        let accountable = !*hugetlb && flags & (VM_NORESERVE | VM_SHARED | VM_WRITE) == VM_WRITE;
        if accountable {
            if !self.charge_for(pid, mm_id, pages, ChargeFor::Mmap) {
                return Ok(Outcome::Err(Errno::ENOMEM));
            }
            flags |= VM_ACCOUNT;
        }
        if *hugetlb && flags & VM_NORESERVE == 0 {
            let need = pages / huge_pages;
            let free = self.cfg.sysctls.nr_hugepages.saturating_sub(self.huge_rsvd);
            if need > free {
                return Ok(self.refuse(
                    Errno::ENOMEM,
                    format!("{need} huge pages needed, {free} free in the pool"),
                    "mm/hugetlb.c: hugetlb_reserve_pages",
                ));
            }
            self.huge_rsvd += need;
        }
        // The object behind the mapping.
        let (obj, pgoff) = match backing {
            Backing::Anon if *shared && !*hugetlb => {
                let nr = flags & VM_NORESERVE != 0;
                match self.create_shmem(
                    pid,
                    ObjKind::SharedAnon,
                    pages,
                    nr,
                    "shared anonymous mapping (/dev/zero object)".into(),
                ) {
                    Some(id) => (Some(id), 0),
                    None => return Ok(Outcome::Err(Errno::ENOMEM)),
                }
            }
            Backing::Anon => (None, addr >> PAGE_SHIFT),
            Backing::File { path, .. } | Backing::Tmpfs { path, .. } => {
                let id = self.path_obj(path, matches!(backing, Backing::Tmpfs { .. }));
                let o = self.objs.get_mut(&id).expect("obj");
                o.size_pages = o.size_pages.max(offset / PAGE_SIZE + pages);
                (Some(id), offset / PAGE_SIZE)
            }
            Backing::SysvShm { .. } => (obj_kind, 0),
        };
        // SysV attaches and shared anonymous objects get a struct file per mapping, so they never
        // merge: model that by never merging shmem VMAs of those kinds with neighbours.
        let c = Candidate {
            start: addr,
            end: addr + bytes,
            flags,
            obj,
            pgoff,
            anon_vma: None,
            src: MergeSource::New,
        };
        let (how, source) = match placement {
            Placement::Any => placed_how(area_rule, bytes, self.cfg.kernel),
            // MAP_FIXED: arch_get_unmapped_area_topdown returns the address as given, and the
            // THP path never moves it (`ret == addr`; from 6.12 it is not taken with a hint).
            Placement::At(_) => (
                "at the requested address (MAP_FIXED_NOREPLACE)".to_string(),
                FIXED_SRC,
            ),
            Placement::Below { of, gap } => {
                (format!("below `{of}` with a gap of {gap} bytes"), FIXED_SRC)
            }
            Placement::Above { of, gap } => {
                (format!("above `{of}` with a gap of {gap} bytes"), FIXED_SRC)
            }
        };
        self.emit(EventKind::Placed {
            span: crate::event::Span {
                start: addr,
                end: addr + bytes,
            },
            how,
            source,
        });
        let separate = matches!(backing, Backing::SysvShm { .. })
            || (matches!(backing, Backing::Anon) && *shared);
        if separate {
            let v = Vma {
                start: addr,
                end: addr + bytes,
                flags,
                obj,
                pgoff,
                anon_vma: None,
                anon_chain: 0,
                special: None,
            };
            self.obj_ref(obj, 1);
            self.mms.get_mut(&mm_id).expect("mm").insert(v.clone());
            self.emit(EventKind::VmaCreated {
                span: v.span(),
                flags: flag_codes(v.flags),
            });
        } else {
            self.insert_merge(mm_id, c, None, MergePath::New);
        }
        self.mms
            .get_mut(&mm_id)
            .expect("mm")
            .names
            .insert(name.clone(), (addr, bytes));
        // populate_vma_page_range faults nothing in a PROT_NONE mapping, and mm_populate's errors
        // never fail the mmap.
        if (*populate || *locked) && !*hugetlb && flags & VM_ACCESS_FLAGS != 0 {
            // MAP_POPULATE / VM_LOCKED: fault everything now; private writable mappings are
            // write-faulted (populate_vma_page_range: FOLL_WRITE).
            let write = flags & (VM_WRITE | VM_SHARED) == VM_WRITE;
            let o = self.fault_range(pid, mm_id, addr, addr + bytes, write)?;
            if let Outcome::Killed { .. } = o {
                return Ok(o);
            }
        }
        Ok(Outcome::Ok)
    }

    pub(crate) fn munmap_target(&mut self, proc: &str, t: &Target) -> Result<Outcome, OpError> {
        let (_, mm_id) = self.proc_mm(proc)?;
        let r = self.target_args(mm_id, proc, t)?;
        // mm/vma.c: do_vmi_munmap (mm/mmap.c: do_mas_munmap in 6.1) checks before any lookup.
        const SRC: &str = "mm/vma.c: do_vmi_munmap (mm/mmap.c before 6.11)";
        if r.start % PAGE_SIZE != 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("munmap start {:#x} is not page aligned", r.start),
                SRC,
            ));
        }
        if r.start > TASK_SIZE || r.len > TASK_SIZE - r.start {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!(
                    "munmap of {:#x} bytes at {:#x} runs past TASK_SIZE ({TASK_SIZE:#x})",
                    r.len, r.start
                ),
                SRC,
            ));
        }
        // len ≤ TASK_SIZE − start, and both are page multiples at the top: no wrap here.
        let (s, e) = (r.start, r.start + page_align(r.len));
        if e == s {
            return Ok(self.refuse(
                Errno::EINVAL,
                "munmap of length 0 (end == start)".into(),
                SRC,
            ));
        }
        let o = self.do_munmap(mm_id, s, e);
        if o == Outcome::Ok && t.range.is_none() {
            self.mms
                .get_mut(&mm_id)
                .expect("mm")
                .names
                .remove(&t.mapping);
        }
        Ok(o)
    }

    /// do_vmi_munmap: split the edges, remove what is inside, unaccount VM_ACCOUNT pages.
    pub(crate) fn do_munmap(&mut self, mm_id: MmId, s: u64, e: u64) -> Outcome {
        let vmas = self.mms[&mm_id].overlapping(s, e);
        let Some(&(fs, fe)) = vmas.first() else {
            return Outcome::Ok;
        };
        if s > fs {
            // Only the first split is checked, and only when the range ends inside the VMA
            // (vms_gather_munmap_vmas).
            let mm = &self.mms[&mm_id];
            if e < fe && mm.map_count() >= self.max_map_count() {
                self.emit(EventKind::MapCountLimit {
                    map_count: mm.map_count(),
                    max: self.max_map_count(),
                    split: true,
                });
                return Outcome::Err(Errno::ENOMEM);
            }
            let span = mm.find(s).expect("overlap").span();
            let obj = mm.find(s).and_then(|v| v.obj);
            self.mms.get_mut(&mm_id).expect("mm").split(s);
            self.obj_ref(obj, 1);
            self.emit(EventKind::VmaSplit { span, at: s });
        }
        if let Some(&(_, le)) = vmas.last() {
            if e < le {
                let mm = &self.mms[&mm_id];
                let span = mm.find(e).expect("overlap").span();
                let obj = mm.find(e).and_then(|v| v.obj);
                self.mms.get_mut(&mm_id).expect("mm").split(e);
                self.obj_ref(obj, 1);
                self.emit(EventKind::VmaSplit { span, at: e });
            }
        }
        let inside: Vec<u64> = self.mms[&mm_id]
            .overlapping(s, e)
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        let mut acct = 0;
        for a in inside {
            acct += self.remove_vma(mm_id, a);
        }
        if acct > 0 {
            self.unacct(acct);
            self.emit(EventKind::Uncharge {
                pages: acct,
                why: "munmap of VM_ACCOUNT pages",
                source: "mm/vma.c: vms_complete_munmap_vmas → vm_unacct_memory",
            });
        }
        Outcome::Ok
    }

    /// Change the flags of `[s, e)` inside the VMA starting at `vstart`, merging with neighbours
    /// where vma_merge_existing_range allows and splitting otherwise (vma_modify_flags).
    fn vma_modify(
        &mut self,
        mm_id: MmId,
        vstart: u64,
        s: u64,
        e: u64,
        newflags: u64,
    ) -> Result<(), Outcome> {
        let mm = &self.mms[&mm_id];
        let v = mm.vmas[&vstart].clone();
        let (left_side, right_side) = (s == v.start, e == v.end);
        let c = Candidate {
            start: s,
            end: e,
            flags: newflags,
            obj: v.obj,
            pgoff: v.pgoff_at(s),
            anon_vma: v.anon_vma,
            src: MergeSource::Existing {
                fork_child: v.is_fork_child(),
            },
        };
        // vma_merge_existing_range: only a range touching an end of the VMA can merge, and only
        // with a neighbour that touches it.
        let prev = if left_side {
            mm.ending_at(s).cloned()
        } else {
            None
        };
        let next = if right_side {
            mm.starting_at(e).cloned()
        } else {
            None
        };
        // A merge of all of the VMA removes it.
        let removed = (left_side && right_side).then_some(&v);
        let (left, right) = self.merge_sides(&c, &prev, &next, removed);
        let merge_left = matches!(left, Some(Ok(())));
        let merge_right = matches!(right, Some(Ok(())));
        if merge_left || merge_right {
            // The merged VMA: prev grown over [s, e) (and next), or next grown down to s.
            let mut m = if merge_left {
                prev.clone().expect("left")
            } else {
                next.clone().expect("right")
            };
            m.start = if merge_left { m.start } else { s };
            if !merge_left {
                m.pgoff = c.pgoff;
            }
            m.end = if merge_right {
                next.as_ref().expect("right").end
            } else {
                e
            };
            m.flags = newflags;
            if m.anon_vma.is_none() {
                m.anon_vma = v.anon_vma.or(next
                    .as_ref()
                    .filter(|_| merge_right)
                    .and_then(|n| n.anon_vma));
                m.anon_chain = if m.anon_vma.is_some() { 1 } else { 0 };
            }
            let mut initial = 1;
            let mm = self.mms.get_mut(&mm_id).expect("mm");
            if merge_left {
                mm.remove(prev.as_ref().expect("left").start);
                initial += 1;
            }
            if merge_right {
                mm.remove(next.as_ref().expect("right").start);
                initial += 1;
            }
            mm.remove(v.start);
            let mut fin = 1;
            if !(left_side && right_side) {
                // What is left of the old VMA outside [s, e).
                let mut rest = v.clone();
                if left_side {
                    rest.start = e;
                    rest.pgoff = v.pgoff_at(e);
                } else {
                    rest.end = s;
                }
                mm.insert(rest);
                fin += 1;
            }
            mm.insert(m.clone());
            self.obj_ref(v.obj, fin - initial);
            self.emit(EventKind::VmaMerged {
                span: m.span(),
                with_prev: merge_left,
                with_next: merge_right,
                path: MergePath::Existing,
            });
            return Ok(());
        }
        if !left_side {
            self.split_checked(mm_id, s)?;
        }
        if !right_side {
            if let Err(o) = self.split_checked(mm_id, e) {
                if !left_side {
                    self.mms.get_mut(&mm_id).expect("mm").left_apart.insert(s);
                }
                return Err(o);
            }
        }
        let mm = self.mms.get_mut(&mm_id).expect("mm");
        let vm = mm.vmas.get_mut(&s).expect("split piece");
        vm.flags = newflags;
        let span = vm.span();
        self.emit(EventKind::VmaFlagsChanged {
            span,
            flags: flag_codes(newflags),
        });
        Ok(())
    }

    pub(crate) fn mprotect(
        &mut self,
        proc: &str,
        t: &Target,
        prot: Prot,
    ) -> Result<Outcome, OpError> {
        let (pid, mm_id) = self.proc_mm(proc)?;
        let r = self.target_args(mm_id, proc, t)?;
        const SRC: &str = "mm/mprotect.c: do_mprotect_pkey";
        if r.start % PAGE_SIZE != 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!(
                    "mprotect start {:#x} is not page aligned (start & ~PAGE_MASK)",
                    r.start
                ),
                SRC,
            ));
        }
        if r.len == 0 {
            self.emit(EventKind::NothingToDo {
                why: "mprotect of length 0 returns 0 before looking at any VMA",
                source: SRC,
            });
            return Ok(Outcome::Ok);
        }
        let (s, e) = (r.start, r.start.wrapping_add(page_align(r.len)));
        if e <= s {
            return Ok(self.refuse(
                Errno::ENOMEM,
                format!(
                    "mprotect of {:#x} bytes at {s:#x}: start + PAGE_ALIGN(len) wraps past 2^64 (end <= start)",
                    r.len
                ),
                SRC,
            ));
        }
        let mut cur = s;
        while cur < e {
            let Some(v) = self.mms[&mm_id].find(cur).cloned() else {
                return Ok(self.refuse(Errno::ENOMEM, format!("{cur:#x} is not mapped"), SRC));
            };
            let piece_end = e.min(v.end);
            let newflags = (v.flags & !VM_ACCESS_FLAGS) | prot_bits(prot);
            // The VM_MAY* bits sit 4 bits above the access bits.
            if (newflags & !(newflags >> 4)) & VM_ACCESS_FLAGS != 0 {
                return Ok(self.refuse(
                    Errno::EACCES,
                    format!("VMA {} may not become {prot}", v.span()),
                    "mm/mprotect.c: do_mprotect_pkey (VM_MAY* check)",
                ));
            }
            if let Err(o) = self.mprotect_fixup(pid, mm_id, &v, cur, piece_end, newflags) {
                return Ok(o);
            }
            cur = piece_end;
        }
        Ok(Outcome::Ok)
    }

    /// mm/mprotect.c: mprotect_fixup — charge a private range that becomes writable, unaccount an
    /// unfaulted anonymous one that stops being writable (≥ 6.7), then split or merge.
    fn mprotect_fixup(
        &mut self,
        pid: Pid,
        mm_id: MmId,
        v: &Vma,
        s: u64,
        e: u64,
        mut newflags: u64,
    ) -> Result<(), Outcome> {
        if newflags == v.flags {
            return Ok(());
        }
        let nrpages = (e - s) >> PAGE_SHIFT;
        let mut charged = 0;
        if newflags & VM_WRITE != 0 {
            if v.flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE) == 0 {
                if !self.charge_for(pid, mm_id, nrpages, ChargeFor::Mprotect) {
                    return Err(Outcome::Err(Errno::ENOMEM));
                }
                charged = nrpages;
                newflags |= VM_ACCOUNT;
            }
        } else if self.cfg.kernel.mprotect_unaccounts_unfaulted()
            && v.has(VM_ACCOUNT)
            && v.is_anonymous()
            && v.anon_vma.is_none()
        {
            newflags &= !VM_ACCOUNT;
        }
        if let Err(o) = self.vma_modify(mm_id, v.start, s, e, newflags) {
            if charged > 0 {
                self.unacct(charged);
                self.emit(EventKind::Uncharge {
                    pages: charged,
                    why: "the split failed, so the charge for the range is given back",
                    source: "mm/mprotect.c: mprotect_fixup (fail: vm_unacct_memory)",
                });
            }
            return Err(o);
        }
        if v.has(VM_ACCOUNT) && newflags & VM_ACCOUNT == 0 {
            self.unacct(nrpages);
            self.emit(EventKind::Uncharge {
                pages: nrpages,
                why: "an unfaulted anonymous VMA stopped being writable (Linux ≥ 6.7)",
                source: "mm/mprotect.c: mprotect_fixup",
            });
        }
        Ok(())
    }

    pub(crate) fn madvise(
        &mut self,
        proc: &str,
        t: &Target,
        advice: Advice,
    ) -> Result<Outcome, OpError> {
        let (_, mm_id) = self.proc_mm(proc)?;
        let r = self.target_args(mm_id, proc, t)?;
        const SRC: &str = "mm/madvise.c: is_valid_madvise";
        // The advice is checked first (madvise_behavior_valid), before the range: a kernel
        // older than the advice does not know its value.
        let kernel = self.cfg.kernel;
        if !kernel.has_madvise(advice) {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!(
                    "{} is unknown to kernel {kernel}: it was added in {}",
                    advice.kernel_name(),
                    crate::kernel::KernelVersion::madvise_since(advice)
                ),
                "mm/madvise.c: madvise_behavior_valid (via is_valid_madvise)",
            ));
        }
        if r.start % PAGE_SIZE != 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("madvise start {:#x} is not page aligned", r.start),
                SRC,
            ));
        }
        let len = page_align(r.len);
        if r.len != 0 && len == 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!(
                    "madvise of {:#x} bytes: PAGE_ALIGN(len) rounds it to 0",
                    r.len
                ),
                SRC,
            ));
        }
        let (s, e) = (r.start, r.start.wrapping_add(len));
        if e < s {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("madvise of {len:#x} bytes at {s:#x}: start + len wraps past 2^64"),
                SRC,
            ));
        }
        if e == s {
            self.emit(EventKind::NothingToDo {
                why: "madvise of length 0 returns 0 before looking at any VMA",
                source: "mm/madvise.c: madvise_should_skip",
            });
            return Ok(Outcome::Ok);
        }
        let mut cur = s;
        let mut hole = false;
        while cur < e {
            let Some(v) = self.mms[&mm_id].find(cur).cloned() else {
                hole = true;
                match self.mms[&mm_id].vmas.range(cur..e).next() {
                    Some((&ns, _)) => {
                        cur = ns;
                        continue;
                    }
                    None => break,
                }
            };
            let pe = e.min(v.end);
            match advice {
                Advice::DontNeed => {
                    if v.has(VM_LOCKED) {
                        return Ok(self.refuse(
                            Errno::EINVAL,
                            "MADV_DONTNEED on a locked VMA".into(),
                            "mm/madvise.c: madvise_dontneed_free_valid_vma",
                        ));
                    }
                    let dropped = self.zap(mm_id, cur >> PAGE_SHIFT, pe >> PAGE_SHIFT);
                    self.emit(EventKind::PagesDropped {
                        span: crate::event::Span {
                            start: cur,
                            end: pe,
                        },
                        pages: dropped,
                        advice,
                    });
                }
                Advice::Free => {
                    if v.has(VM_LOCKED) {
                        return Ok(self.refuse(
                            Errno::EINVAL,
                            "MADV_FREE on a locked VMA".into(),
                            "mm/madvise.c: madvise_dontneed_free_valid_vma",
                        ));
                    }
                    if !v.is_anonymous() || v.has(VM_SHARED) {
                        return Ok(self.refuse(
                            Errno::EINVAL,
                            "MADV_FREE works on private anonymous memory only".into(),
                            "mm/madvise.c: madvise_free_single_vma",
                        ));
                    }
                    let runs: Vec<(u64, u64, Pte)> = self.mms[&mm_id]
                        .pt
                        .range(cur >> PAGE_SHIFT, pe >> PAGE_SHIFT)
                        .collect();
                    let mut marked = 0;
                    for (vpn, l, pte) in runs {
                        if let Pte::Present { pfn, .. } = pte {
                            let frames: Vec<(u64, u64, Frame)> =
                                self.frames.range(pfn, pfn + l).collect();
                            for (fp, fl, f) in frames {
                                // madvise_free_pte_range: only a PG_dirty (or swap-cache) folio
                                // must be mapped once; any other is marked lazy-free however
                                // many processes a fork left mapping it, and only this
                                // process's ptes are made clean (clear_young_dirty_ptes), so it
                                // is LazyFree here and still dirty where a child maps it.
                                if f.kind != FrameKind::Anon || (f.dirty && f.mapcount > 1) {
                                    continue;
                                }
                                self.frames.update(fp, fp + fl, |_, _, f| Frame {
                                    lazyfree: true,
                                    dirty: false,
                                    ..*f
                                });
                                let at = vpn + (fp - pfn);
                                self.edit_pt(mm_id, |mm| {
                                    mm.pt.set(
                                        at,
                                        fl,
                                        Pte::Present {
                                            pfn: fp,
                                            dirty: false,
                                        },
                                    )
                                });
                                marked += fl;
                            }
                            self.note_lazyfree(mm_id, vpn, l);
                        } else if let Pte::Swap { .. } = pte {
                            // madvise_free_pte_range frees swap entries outright
                            // (free_swap_and_cache_nr, then the pte is cleared).
                            self.zap(mm_id, vpn, vpn + l);
                        }
                    }
                    self.emit(EventKind::PagesLazyFree {
                        span: crate::event::Span {
                            start: cur,
                            end: pe,
                        },
                        pages: marked,
                    });
                }
                Advice::DontFork | Advice::DoFork | Advice::WipeOnFork | Advice::KeepOnFork => {
                    let newflags = match advice {
                        Advice::DontFork => v.flags | VM_DONTCOPY,
                        Advice::DoFork => v.flags & !VM_DONTCOPY,
                        Advice::WipeOnFork => {
                            if v.has(VM_SHARED) || !v.is_anonymous() {
                                return Ok(self.refuse(
                                    Errno::EINVAL,
                                    "MADV_WIPEONFORK works on private anonymous memory only".into(),
                                    "mm/madvise.c: madvise_vma_behavior",
                                ));
                            }
                            v.flags | VM_WIPEONFORK
                        }
                        _ => v.flags & !VM_WIPEONFORK,
                    };
                    if newflags != v.flags
                        && self.vma_modify(mm_id, v.start, cur, pe, newflags).is_err()
                    {
                        return Ok(self.refuse(
                                Errno::EAGAIN,
                                "madvise reports the failed split (-ENOMEM) as EAGAIN, \"kernel resources temporarily unavailable\"".into(),
                                "mm/madvise.c: madvise_vma_behavior",
                            ));
                    }
                }
            }
            cur = pe;
        }
        if hole {
            return Ok(self.refuse(
                Errno::ENOMEM,
                "part of the range is not mapped".into(),
                "mm/madvise.c: madvise_walk_vmas",
            ));
        }
        Ok(Outcome::Ok)
    }

    pub(crate) fn mremap(&mut self, op: &Op) -> Result<Outcome, OpError> {
        let Op::Mremap {
            proc,
            mapping: name,
            range,
            new_len,
            may_move,
            to,
            dontunmap,
            rename,
        } = op
        else {
            unreachable!("mremap called with another op")
        };
        let (may_move, dontunmap) = (*may_move, *dontunmap);
        let (pid, mm_id) = self.proc_mm(proc)?;
        let target = Target {
            mapping: name.clone(),
            range: *range,
        };
        let r = self.target_args(mm_id, proc, &target)?;
        let s = r.start;
        const PARAMS: &str = "mm/mremap.c: check_mremap_params";
        if dontunmap && !self.cfg.kernel.has_mremap_dontunmap() {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!(
                    "MREMAP_DONTUNMAP is an unknown flag before Linux 5.7 (this is {})",
                    self.cfg.kernel
                ),
                "mm/mremap.c: SYSCALL_DEFINE5(mremap) (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE))",
            ));
        }
        if s % PAGE_SIZE != 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("the old address {s:#x} is not page aligned"),
                PARAMS,
            ));
        }
        // PAGE_ALIGN(old_len): a length that wraps is 0, as in the kernel.
        let old_len = page_align(r.len);
        let asked = new_len.resolve(self.cfg.ram_bytes, self.cfg.swap_bytes);
        let new_len = page_align(asked);
        // "a zero new-len is nonsensical": 0, and lengths PAGE_ALIGN rounds up to 0 past 2^64.
        if new_len == 0 {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("mremap to length {asked}: PAGE_ALIGN(new_len) is 0"),
                PARAMS,
            ));
        }
        // MREMAP_FIXED's address, placed as mmap places one (below=/above= a named mapping); a
        // placement that wraps is the address a C program would compute, past TASK_SIZE.
        let fixed = match to {
            Placement::Any => None,
            Placement::At(a) => Some(*a),
            Placement::Below { of, gap } | Placement::Above { of, gap } => {
                let (os, ol) = self.named_mapping(mm_id, proc, of)?;
                let gap = gap.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
                Some(if matches!(to, Placement::Below { .. }) {
                    os.wrapping_sub(gap).wrapping_sub(new_len)
                } else {
                    os.wrapping_add(ol).wrapping_add(gap)
                })
            }
        };
        if fixed.is_some() || dontunmap {
            if let Some(na) = fixed {
                if new_len > TASK_SIZE || na > TASK_SIZE - new_len {
                    return Ok(self.refuse(
                        Errno::EINVAL,
                        format!("the new range {na:#x} + {new_len:#x} runs past TASK_SIZE ({TASK_SIZE:#x})"),
                        PARAMS,
                    ));
                }
                if na % PAGE_SIZE != 0 {
                    return Ok(self.refuse(
                        Errno::EINVAL,
                        format!("the MREMAP_FIXED address {na:#x} is not page aligned"),
                        PARAMS,
                    ));
                }
            }
            if !may_move {
                let which = if fixed.is_some() {
                    "MREMAP_FIXED"
                } else {
                    "MREMAP_DONTUNMAP"
                };
                return Ok(self.refuse(
                    Errno::EINVAL,
                    format!("{which} implies a move, and MREMAP_MAYMOVE was not given"),
                    PARAMS,
                ));
            }
            if dontunmap && old_len != new_len {
                return Ok(self.refuse(
                    Errno::EINVAL,
                    format!("MREMAP_DONTUNMAP does not resize: old_len {old_len:#x} != new_len {new_len:#x}"),
                    PARAMS,
                ));
            }
            if let Some(na) = fixed {
                // vrm_overlaps, in unsigned long arithmetic (no wrap: both ranges are below
                // TASK_SIZE, the old one because it is a scenario mapping's).
                if s.wrapping_add(old_len) > na && na + new_len > s {
                    return Ok(self.refuse(
                        Errno::EINVAL,
                        format!(
                            "the new range {na:#x}-{:#x} overlaps the old one {s:#x}-{:#x}",
                            na + new_len,
                            s.wrapping_add(old_len)
                        ),
                        "mm/mremap.c: check_mremap_params (vrm_overlaps)",
                    ));
                }
            }
            // Room for the two splits and the new VMA.
            let count = self.mms[&mm_id].map_count();
            if count + 2 >= self.max_map_count().saturating_sub(3) {
                self.emit(EventKind::MapCountLimit {
                    map_count: count,
                    max: self.max_map_count(),
                    split: true,
                });
                return Ok(Outcome::Err(Errno::ENOMEM));
            }
        }
        if self.mms[&mm_id].find(s).is_none() {
            return Ok(self.refuse(
                Errno::EFAULT,
                format!("vma_lookup finds no VMA at the old address {s:#x}: the start of `{name}` is unmapped"),
                "mm/mremap.c: do_mremap (vma_lookup)",
            ));
        }
        if old_len == 0 {
            // The "duplicate shm area" special case: a private mapping refuses it, a shared one
            // would be duplicated (not modelled).
            let v = self.mms[&mm_id].find(s).expect("looked up");
            if !v.has(VM_SHARED | VM_MAYSHARE) {
                return Ok(self.refuse(
                    Errno::EINVAL,
                    "old_len 0 asks to duplicate a private mapping, which mremap refuses".into(),
                    "mm/mremap.c: resize_is_valid (!old_len && !(vm_flags & (VM_SHARED | VM_MAYSHARE)))",
                ));
            }
            return Err(OpError::NotModelled {
                what: "mremap with old_len 0 of a shared mapping duplicates it: not modelled"
                    .into(),
            });
        }
        let res = if fixed.is_some() || dontunmap {
            self.mremap_to(pid, mm_id, name, s, old_len, new_len, fixed, dontunmap)?
        } else {
            self.mremap_at(pid, mm_id, name, s, old_len, new_len, may_move)?
        };
        let Ok(res) = res else {
            return Ok(res.unwrap_err());
        };
        // The name follows the whole mapping; `as=NAME` names the result instead.
        let names = &mut self.mms.get_mut(&mm_id).expect("mm").names;
        match rename {
            Some(n) => {
                names.insert(n.clone(), (res, new_len));
            }
            None if range.is_none() => {
                names.insert(name.clone(), (res, new_len));
            }
            None => {}
        }
        Ok(Outcome::Ok)
    }

    /// mremap without MREMAP_FIXED or MREMAP_DONTUNMAP (mremap_at): shrink, grow in place, or
    /// move when MREMAP_MAYMOVE allows. Returns the resulting address.
    #[allow(clippy::too_many_arguments)]
    fn mremap_at(
        &mut self,
        pid: Pid,
        mm_id: MmId,
        name: &str,
        s: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
    ) -> Result<Result<u64, Outcome>, OpError> {
        let v = self.mms[&mm_id].find(s).cloned().expect("looked up");
        if new_len == old_len {
            return Ok(Ok(s));
        }
        // Growing only: a shrink unmaps the tail at once (shrink_vma → do_vmi_munmap), whatever
        // lies there.
        if new_len > old_len && old_len > v.end - s {
            let beyond = match self.mms[&mm_id].starting_at(v.end) {
                Some(n) => format!("the next VMA {} starts there", n.span()),
                None => "unmapped space follows it".to_string(),
            };
            return Ok(Err(self.refuse(
                Errno::EFAULT,
                format!(
                    "the old range {s:#x}-{:#x} of `{name}` runs past the end of its VMA {} at {:#x} ({beyond}): mremap cannot remap across VMA boundaries",
                    s + old_len,
                    v.span(),
                    v.end
                ),
                "mm/mremap.c: remap_is_valid (old_len > vma->vm_end - addr)",
            )));
        }
        if new_len < old_len {
            return Ok(match self.do_munmap(mm_id, s + new_len, s + old_len) {
                Outcome::Ok => Ok(s),
                o => Err(o),
            });
        }
        let delta = (new_len - old_len) >> PAGE_SHIFT;
        let in_place = s + old_len == v.end
            && s.checked_add(new_len).is_some_and(|e| e <= TASK_SIZE)
            && self.mms[&mm_id].is_free(v.end, s + new_len);
        let mut move_rule = AreaRule::TopDown;
        let new_addr = if in_place {
            None
        } else if may_move {
            if self.mms[&mm_id].map_count() >= self.max_map_count().saturating_sub(3) {
                self.emit(EventKind::MapCountLimit {
                    map_count: self.mms[&mm_id].map_count(),
                    max: self.max_map_count(),
                    split: true,
                });
                return Ok(Err(Outcome::Err(Errno::ENOMEM)));
            }
            // mremap_to's get_unmapped_area(vma->vm_file, 0, new_len, vma->vm_pgoff + ...,
            // MAP_SHARED if VM_MAYSHARE): a private anonymous VMA takes the THP path too.
            let anon_private = v.is_anonymous() && !v.has(VM_MAYSHARE) && !v.has(VM_HUGETLB);
            let pgoff = v.pgoff + ((s - v.start) >> PAGE_SHIFT);
            let thp = anon_private.then(|| (self.cfg.kernel.thp_anon_alignment(), pgoff));
            let area = self.mms[&mm_id].get_unmapped_area(new_len, thp);
            move_rule = area.rule;
            match area.addr {
                Some(a) => Some(a),
                None => {
                    return Ok(Err(self.refuse(
                        Errno::ENOMEM,
                        "no free range for the moved mapping".into(),
                        "mm/mremap.c: mremap_to",
                    )))
                }
            }
        } else {
            return Ok(Err(self.refuse(
                Errno::ENOMEM,
                "cannot grow in place and MREMAP_MAYMOVE was not given".into(),
                "mm/mremap.c: mremap",
            )));
        };
        // vma_to_resize: an accounted VMA is charged for the growth.
        if v.has(VM_ACCOUNT) && !self.charge_for(pid, mm_id, delta, ChargeFor::MremapGrow) {
            return Ok(Err(Outcome::Err(Errno::ENOMEM)));
        }
        match new_addr {
            None => {
                // Expand in place: vma_merge_extend is vma_merge_new_range for the grown range
                // with the VMA itself as prev (always compatible) and `vmg->middle` NULL.
                let mut m = v.clone();
                m.end = s + new_len;
                let c = Candidate {
                    start: v.end,
                    end: m.end,
                    flags: v.flags,
                    obj: v.obj,
                    pgoff: v.pgoff_at(v.end),
                    anon_vma: v.anon_vma,
                    src: MergeSource::New,
                };
                let next = self.mms[&mm_id].starting_at(m.end).cloned();
                let (_, right) = self.merge_sides(&c, &Some(v.clone()), &next, None);
                let with_next = matches!(right, Some(Ok(())));
                if let (true, Some(n)) = (with_next, &next) {
                    m.end = n.end;
                    if m.anon_vma.is_none() && n.anon_vma.is_some() {
                        // dup_anon_vma(vma, next) in vma_expand.
                        m.anon_vma = n.anon_vma;
                        m.anon_chain = 1;
                    }
                    self.mms.get_mut(&mm_id).expect("mm").remove(n.start);
                    self.obj_ref(n.obj, -1);
                }
                self.put_vma(mm_id, v.start, m.clone());
                self.emit(EventKind::VmaMerged {
                    span: m.span(),
                    with_prev: true,
                    with_next,
                    path: MergePath::Extend,
                });
                Ok(Ok(s))
            }
            Some(na) => {
                let moved =
                    "moved by mremap (MREMAP_MAYMOVE); the old range's charge moves with it";
                self.move_vma(
                    mm_id,
                    s,
                    old_len,
                    na,
                    new_len,
                    Some(move_rule),
                    moved,
                    false,
                )
            }
        }
    }

    /// mremap_to: MREMAP_FIXED and/or MREMAP_DONTUNMAP (both imply MREMAP_MAYMOVE, checked).
    /// Returns the new address.
    #[allow(clippy::too_many_arguments)]
    fn mremap_to(
        &mut self,
        pid: Pid,
        mm_id: MmId,
        name: &str,
        s: u64,
        mut old_len: u64,
        new_len: u64,
        fixed: Option<u64>,
        dontunmap: bool,
    ) -> Result<Result<u64, Outcome>, OpError> {
        const TO: &str = "mm/mremap.c: mremap_to";
        // check_prep_vma: the VMA checks come before mremap_to unmaps anything (measured on
        // 6.18: an EFAULT leaves the target mapped). The range checked is the one that moves,
        // `min(old_len, new_len)`, as after the shrink below.
        let v = self.mms[&mm_id].find(s).cloned().expect("looked up");
        if dontunmap
            && !self.cfg.kernel.mremap_dontunmap_any_mapping()
            && (!v.is_anonymous() || v.has(VM_SHARED))
        {
            return Ok(Err(self.refuse(
                Errno::EINVAL,
                format!(
                    "MREMAP_DONTUNMAP takes only private anonymous memory before Linux 5.13 (this is {})",
                    self.cfg.kernel
                ),
                "mm/mremap.c: vma_to_resize (!vma_is_anonymous(vma) || VM_SHARED)",
            )));
        }
        let moving = old_len.min(new_len);
        if moving > v.end - s {
            if fixed.is_some() && !dontunmap && old_len == new_len {
                // From 6.17 a pure move may span several VMAs (remap_move).
                return Err(OpError::NotModelled {
                    what: format!(
                        "mremap of {s:#x}-{:#x} spans more than one VMA: the multi-VMA move (remap_move, Linux 6.17) is not modelled",
                        s + old_len
                    ),
                });
            }
            return Ok(Err(self.refuse(
                Errno::EFAULT,
                format!(
                    "the old range {s:#x}-{:#x} of `{name}` runs past the end of its VMA {}: mremap cannot remap across VMA boundaries",
                    s + moving,
                    v.span()
                ),
                "mm/mremap.c: check_prep_vma (old_len > vma->vm_end - addr)",
            )));
        }
        // MREMAP_FIXED unmaps the target first, as MAP_FIXED does (its charge is given back).
        if let Some(na) = fixed {
            if let o @ Outcome::Err(_) = self.do_munmap(mm_id, na, na + new_len) {
                return Ok(Err(o));
            }
        }
        // A shrinking move unmaps the old tail first, then moves the rest.
        let asked_old_len = old_len;
        if old_len > new_len {
            if let o @ Outcome::Err(_) = self.do_munmap(mm_id, s + new_len, s + old_len) {
                return Ok(Err(o));
            }
            old_len = new_len;
        }
        let v = self.mms[&mm_id].find(s).cloned().expect("still mapped");
        let (na, rule) = match fixed {
            Some(na) => (na, None),
            None => {
                // MREMAP_DONTUNMAP without MREMAP_FIXED: get_unmapped_area as for a move.
                let anon_private = v.is_anonymous() && !v.has(VM_MAYSHARE) && !v.has(VM_HUGETLB);
                let pgoff = v.pgoff + ((s - v.start) >> PAGE_SHIFT);
                let thp = anon_private.then(|| (self.cfg.kernel.thp_anon_alignment(), pgoff));
                let area = self.mms[&mm_id].get_unmapped_area(new_len, thp);
                match area.addr {
                    Some(a) => (a, Some(area.rule)),
                    None => {
                        // (The kernel charges first and undoes it here: the same ENOMEM.)
                        return Ok(Err(self.refuse(
                            Errno::ENOMEM,
                            "no free range for the moved mapping".into(),
                            TO,
                        )));
                    }
                }
            }
        };
        // vrm_calc_charge (vma_to_resize before 6.17): MREMAP_DONTUNMAP charges the whole new
        // length (the old range keeps its charge; measured on 6.18); otherwise only the growth
        // (old_len ≤ new_len here, after the shrink). 5.7–5.10 charged it after the copy without the overcommit
        // check (docs/known-differences.md).
        let leak = !dontunmap
            && asked_old_len > new_len
            && self.cfg.kernel.mremap_shrink_move_charges_delta();
        let pages = if dontunmap {
            new_len >> PAGE_SHIFT
        } else if leak {
            // vrm->delta is abs_diff(old_len, new_len): a shrinking move is charged the size
            // it shrank by, after shrink_vma gave that back (measured on 6.18: Committed_AS
            // does not move, and unmapping the result later gives back only its length).
            (asked_old_len - new_len) >> PAGE_SHIFT
        } else {
            (new_len - old_len) >> PAGE_SHIFT
        };
        if v.has(VM_ACCOUNT)
            && pages > 0
            && !self.charge_for(pid, mm_id, pages, ChargeFor::MremapGrow)
        {
            return Ok(Err(Outcome::Err(Errno::ENOMEM)));
        }
        if leak && v.has(VM_ACCOUNT) {
            self.leaked_pages += pages;
        }
        let how = match (fixed.is_some(), dontunmap) {
            (true, false) => "moved by mremap to the requested address (MREMAP_FIXED), whatever was there unmapped first; the old range's charge moves with it",
            (true, true) => "moved by mremap to the requested address (MREMAP_FIXED | MREMAP_DONTUNMAP), whatever was there unmapped first; charged its whole length, while the old range stays mapped, empty, with its charge",
            _ => "moved by mremap (MREMAP_DONTUNMAP); charged its whole length, while the old range stays mapped, empty, with its charge",
        };
        self.move_vma(mm_id, s, old_len, na, new_len, rule, how, dontunmap)
    }

    /// move_vma: isolate the old range, move its page tables to `na`, and copy_vma the VMA
    /// there (`new_len` long). Without `dontunmap` the old range is removed and its charge moves
    /// with it; with it the old VMA stays, empty, keeps VM_ACCOUNT and its charge, and loses
    /// VM_LOCKED (measured on 6.18: docs/known-differences.md). `rule` is how an unfixed
    /// address was found; `how` says why the range moved.
    #[allow(clippy::too_many_arguments)]
    fn move_vma(
        &mut self,
        mm_id: MmId,
        s: u64,
        old_len: u64,
        na: u64,
        new_len: u64,
        rule: Option<AreaRule>,
        how: &str,
        dontunmap: bool,
    ) -> Result<Result<u64, Outcome>, OpError> {
        // move_page_tables allocates the destination's tables (at most those of the new range
        // fully mapped) from free pages: room is made for them first.
        let mm = &self.mms[&mm_id];
        let tables = if mm
            .pt
            .range(s >> PAGE_SHIFT, (s + old_len) >> PAGE_SHIFT)
            .next()
            .is_some()
        {
            mm.pt_pages_for_gap(na >> PAGE_SHIFT, old_len >> PAGE_SHIFT)
        } else {
            0
        };
        let pid = self.cur_pid.expect("mremap is a process's operation");
        if let Err(o) = self.pt_room(pid, tables) {
            return Ok(Err(o));
        }
        {
            {
                // move_vma: isolate the old range, move its page tables, keep its charge.
                let old = if dontunmap {
                    // MREMAP_DONTUNMAP unmaps nothing, so nothing splits the old VMA (only
                    // do_munmap would; measured on 6.18: one VMA before and after); the whole
                    // VMA loses VM_LOCKED (dontunmap_complete, VM_LOCKED_MASK).
                    let start = self.mms[&mm_id].find(s).expect("looked up").start;
                    let mm = self.mms.get_mut(&mm_id).expect("mm");
                    let vm = mm.vmas.get_mut(&start).expect("looked up");
                    let old = vm.clone();
                    vm.flags &= !VM_LOCKED;
                    let (span, flags) = (vm.span(), vm.flags);
                    self.obj_ref(old.obj, 1);
                    if flags != old.flags {
                        self.emit(EventKind::VmaFlagsChanged {
                            span,
                            flags: flag_codes(flags),
                        });
                    }
                    old
                } else {
                    if let Err(o) = self.split_checked(mm_id, s) {
                        return Ok(Err(o));
                    }
                    if let Err(o) = self.split_checked(mm_id, s + old_len) {
                        return Ok(Err(o));
                    }
                    self.mms
                        .get_mut(&mm_id)
                        .expect("mm")
                        .remove(s)
                        .expect("isolated")
                };
                self.edit_pt(mm_id, |mm| {
                    mm.pt.shift(
                        s >> PAGE_SHIFT,
                        (s + old_len) >> PAGE_SHIFT,
                        na >> PAGE_SHIFT,
                    )
                });
                // copy_vma: an unfaulted anonymous VMA is re-based at its new address; a faulted
                // one keeps its pgoff (so it often cannot merge there).
                let pgoff = if old.is_anonymous() && old.anon_vma.is_none() {
                    na >> PAGE_SHIFT
                } else {
                    old.pgoff_at(s)
                };
                self.obj_ref(old.obj, -1);
                let c = Candidate {
                    start: na,
                    end: na + new_len,
                    flags: old.flags,
                    obj: old.obj,
                    pgoff,
                    anon_vma: old.anon_vma,
                    src: MergeSource::Copied {
                        fork_child: old.is_fork_child(),
                    },
                };
                let at = self.insert_merge(mm_id, c, old.special, MergePath::Copied);
                if let Some(vm) = self.mms.get_mut(&mm_id).expect("mm").vmas.get_mut(&at) {
                    if vm.anon_vma == old.anon_vma {
                        vm.anon_chain = vm.anon_chain.max(old.anon_chain);
                    }
                }
                let (how, source) = match rule {
                    None => (how.to_string(), "mm/mremap.c: mremap_to (MREMAP_FIXED)"),
                    Some(rule) => {
                        let (thp_how, source) = placed_how(rule, new_len, self.cfg.kernel);
                        let how = match rule {
                            AreaRule::TopDown | AreaRule::TooShortForPmd => how.to_string(),
                            AreaRule::NotPmdMultiple if new_len < PMD_SIZE => how.to_string(),
                            _ => format!("{how}; {thp_how}"),
                        };
                        (how, source)
                    }
                };
                self.emit(EventKind::Placed {
                    span: crate::event::Span {
                        start: na,
                        end: na + new_len,
                    },
                    how,
                    source,
                });
                Ok(Ok(na))
            }
        }
    }

    pub(crate) fn brk(&mut self, proc: &str, change: BrkChange) -> Result<Outcome, OpError> {
        let (pid, mm_id) = self.proc_mm(proc)?;
        let (ram, swap) = (self.cfg.ram_bytes, self.cfg.swap_bytes);
        let mm = &self.mms[&mm_id];
        let old = mm.brk;
        match change {
            BrkChange::Grow(sz) => {
                let inc = sz.resolve(ram, swap);
                if inc == 0 {
                    return Ok(Outcome::Ok);
                }
                // sbrk(inc) asks for brk(old + inc); glibc refuses an increment that wraps.
                let Some(req) = old.checked_add(inc) else {
                    return Ok(self.refuse(
                        Errno::ENOMEM,
                        format!(
                            "sbrk({inc:#x}): the break {old:#x} + the increment wraps past 2^64"
                        ),
                        "glibc misc/sbrk.c: __sbrk",
                    ));
                };
                // The break is page aligned (vmlab moves it in pages); PAGE_ALIGN may wrap to 0.
                let newbrk = page_align(req);
                if newbrk == 0 || newbrk > TASK_SIZE {
                    return Ok(self.refuse(
                        Errno::ENOMEM,
                        format!(
                            "brk({req:#x}): the heap would end past TASK_SIZE ({TASK_SIZE:#x})"
                        ),
                        "mm/mmap.c: brk → check_brk_limits → get_unmapped_area",
                    ));
                }
                let len = newbrk - old;
                // The new heap must leave a page and the stack guard gap below the next VMA.
                let blocked = mm
                    .vmas
                    .range(old..)
                    .next()
                    .map(|(_, v)| v)
                    .is_some_and(|n| {
                        let gap_start = if n.has(VM_GROWSDOWN) {
                            n.start.saturating_sub(STACK_GUARD_GAP)
                        } else {
                            n.start
                        };
                        newbrk + PAGE_SIZE > gap_start
                    });
                if blocked {
                    return Ok(self.refuse(
                        Errno::ENOMEM,
                        "the heap would run into the next mapping".into(),
                        "mm/mmap.c: brk (vm_start_gap check)",
                    ));
                }
                if mm.map_count() > self.max_map_count() {
                    self.emit(EventKind::MapCountLimit {
                        map_count: mm.map_count(),
                        max: self.max_map_count(),
                        split: false,
                    });
                    return Ok(Outcome::Err(Errno::ENOMEM));
                }
                if !self.charge_for(pid, mm_id, len >> PAGE_SHIFT, ChargeFor::Brk) {
                    return Ok(Outcome::Err(Errno::ENOMEM));
                }
                let flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;
                let c = Candidate {
                    start: old,
                    end: newbrk,
                    flags,
                    obj: None,
                    pgoff: old >> PAGE_SHIFT,
                    anon_vma: None,
                    src: MergeSource::New,
                };
                self.insert_merge(mm_id, c, Some(Special::Heap), MergePath::New);
                self.mms.get_mut(&mm_id).expect("mm").brk = newbrk;
                Ok(Outcome::Ok)
            }
            BrkChange::Shrink(sz) => {
                let dec = sz.resolve(ram, swap);
                // sbrk(-dec): glibc refuses a decrement larger than the break itself.
                let Some(req) = old.checked_sub(dec) else {
                    return Ok(self.refuse(
                        Errno::ENOMEM,
                        format!("sbrk(-{dec:#x}): the decrement is larger than the break {old:#x}"),
                        "glibc misc/sbrk.c: __sbrk",
                    ));
                };
                if req < mm.start_brk {
                    // The kernel leaves the break where it is and returns it; glibc's brk()
                    // only reports a break below the request as a failure.
                    self.emit(EventKind::NothingToDo {
                        why: "brk below start_brk is ignored: the kernel returns the old break, which glibc takes as success",
                        source: "mm/mmap.c: brk (brk < min_brk → out)",
                    });
                    return Ok(Outcome::Ok);
                }
                let newbrk = page_align(req);
                let o = self.do_munmap(mm_id, newbrk, old);
                if o == Outcome::Ok {
                    self.mms.get_mut(&mm_id).expect("mm").brk = newbrk;
                }
                Ok(o)
            }
        }
    }

    /// Grow `[stack]` to `new_size` by touching below it (mm/mmap.c: expand_downwards,
    /// acct_stack_growth), creating the exec-time 132 KiB stack first if there is none.
    pub(crate) fn stack_grow(&mut self, proc: &str, new_size: u64) -> Result<Outcome, OpError> {
        let (pid, mm_id) = self.proc_mm(proc)?;
        if self.mms[&mm_id].stack().is_none() {
            let start = STACK_TOP - INITIAL_STACK;
            if !self.mms[&mm_id].is_free(start, STACK_TOP) {
                return Ok(self.refuse(
                    Errno::ENOMEM,
                    "the stack area is taken".into(),
                    "fs/exec.c: __bprm_mm_init",
                ));
            }
            let pages = INITIAL_STACK >> PAGE_SHIFT;
            // insert_vm_struct charges a VM_ACCOUNT VMA.
            if !self.charge_for(pid, mm_id, pages, ChargeFor::StackGrowth) {
                return Ok(Outcome::Err(Errno::ENOMEM));
            }
            let v = Vma {
                start,
                end: STACK_TOP,
                flags: VM_READ
                    | VM_WRITE
                    | VM_MAYREAD
                    | VM_MAYWRITE
                    | VM_MAYEXEC
                    | VM_GROWSDOWN
                    | VM_ACCOUNT,
                obj: None,
                pgoff: start >> PAGE_SHIFT,
                anon_vma: None,
                anon_chain: 0,
                special: Some(Special::Stack),
            };
            self.mms.get_mut(&mm_id).expect("mm").insert(v.clone());
            self.emit(EventKind::VmaCreated {
                span: v.span(),
                flags: flag_codes(v.flags),
            });
            self.mms
                .get_mut(&mm_id)
                .expect("mm")
                .names
                .entry("stack".into())
                .or_insert((start, INITIAL_STACK));
        }
        let v = self.mms[&mm_id].stack().cloned().expect("stack exists");
        // Checked on the size asked for, before rounding: a size near 2^64 is over the limit
        // rather than rounded to 0.
        if new_size > RLIMIT_STACK {
            self.emit(EventKind::FatalSignal {
                signal: Signal::SIGSEGV,
                why: format!(
                    "a stack of {new_size} bytes exceeds RLIMIT_STACK ({RLIMIT_STACK}): acct_stack_growth refuses (-ENOMEM) and the fault is SEGV_MAPERR"
                ),
                source: "mm/mmap.c: acct_stack_growth",
            });
            self.end_process(pid, Some(Signal::SIGSEGV));
            return Ok(Outcome::Killed {
                signal: Signal::SIGSEGV,
            });
        }
        let new_size = page_align(new_size);
        let cur = v.end - v.start;
        if new_size <= cur {
            return Ok(Outcome::Ok);
        }
        let new_start = v.end - new_size;
        if let Some(p) = self.mms[&mm_id]
            .vmas
            .range(..v.start)
            .next_back()
            .map(|(_, p)| p.clone())
        {
            if p.end > new_start || new_start - p.end < STACK_GUARD_GAP {
                self.emit(EventKind::FatalSignal {
                    signal: Signal::SIGSEGV,
                    why: "the stack would come within stack_guard_gap of the VMA below: expand_downwards refuses (-ENOMEM)"
                        .into(),
                    source: "mm/mmap.c: expand_downwards",
                });
                self.end_process(pid, Some(Signal::SIGSEGV));
                return Ok(Outcome::Killed {
                    signal: Signal::SIGSEGV,
                });
            }
        }
        let grow = (v.start - new_start) >> PAGE_SHIFT;
        if !self.charge_for(pid, mm_id, grow, ChargeFor::StackGrowth) {
            self.emit(EventKind::FatalSignal {
                signal: Signal::SIGSEGV,
                why: "the stack growth's commit charge was refused".into(),
                source: "mm/mmap.c: acct_stack_growth",
            });
            self.end_process(pid, Some(Signal::SIGSEGV));
            return Ok(Outcome::Killed {
                signal: Signal::SIGSEGV,
            });
        }
        let mut m = v.clone();
        m.start = new_start;
        m.pgoff = v.pgoff - grow;
        self.put_vma(mm_id, v.start, m.clone());
        self.emit(EventKind::VmaFlagsChanged {
            span: m.span(),
            flags: flag_codes(m.flags),
        });
        self.mms
            .get_mut(&mm_id)
            .expect("mm")
            .names
            .insert("stack".into(), (new_start, new_size));
        self.fault_range(pid, mm_id, new_start, v.start, true)
    }

    pub(crate) fn fork(
        &mut self,
        parent: &str,
        child: &str,
        kind: ForkKind,
    ) -> Result<Outcome, OpError> {
        let (ppid, pmm) = self.proc_mm(parent)?;
        if self
            .by_name
            .get(child)
            .is_some_and(|p| self.procs[p].state == ProcState::Running)
        {
            return Err(OpError::NameInUse {
                name: child.to_string(),
            });
        }
        let admin = self.procs[&ppid].cap_sys_admin;
        let resource = self.procs[&ppid].cap_sys_resource;
        let adj = self.procs[&ppid].oom_score_adj;
        let adj_min = self.procs[&ppid].oom_score_adj_min;
        if kind != ForkKind::Fork {
            // vfork / clone(CLONE_VM): share the mm, no dup_mmap, no charge (model-spec L6).
            let mm = self.mms.get_mut(&pmm).expect("mm");
            mm.users += 1;
            if kind == ForkKind::CloneVm {
                mm.multiprocess = true;
            }
            let cpid = self.new_process(child, Some(ppid), Some(pmm), admin);
            let c = self.procs.get_mut(&cpid).expect("child");
            c.cap_sys_resource = resource;
            c.oom_score_adj = adj;
            c.oom_score_adj_min = adj_min;
            if kind == ForkKind::Vfork {
                c.vfork_parent = Some(ppid);
                self.procs.get_mut(&ppid).expect("parent").vfork_child = Some(cpid);
            }
            self.emit(EventKind::ProcessCreated {
                pid: cpid,
                name: child.to_string(),
                kind: Some(kind),
                parent: Some(ppid),
            });
            return Ok(Outcome::Ok);
        }
        // copy_page_range builds the child's page tables from free pages: at most as many as
        // the parent's (the child copies a subset of its ptes). The model makes room for them
        // before the copy (reclaim, then the OOM killer, as any GFP_PGTABLE_USER allocation).
        let tables = self.mms[&pmm].pgtable_pages() + super::PGD_PAGES;
        if let Err(o) = self.pt_room(ppid, tables) {
            return Ok(o);
        }
        // dup_mmap: per VMA, in order, a VM_ACCOUNT VMA is checked against the parent's mm.
        let vmas = self.mms[&pmm].vmas.clone();
        let parent_tv = self.mms[&pmm].total_vm;
        let mut charged = 0;
        let mut last_granted = None;
        for v in vmas
            .values()
            .filter(|v| !v.has(VM_DONTCOPY) && v.has(VM_ACCOUNT))
        {
            let d = self.vm_enough_memory(v.pages(), Some(parent_tv), admin, ChargeFor::ForkVma);
            if !d.granted {
                if let Some(g) = last_granted {
                    // The VMAs before this one passed their checks: one line for their charges,
                    // so the Uncharge below has its counterpart in the trace.
                    self.emit(EventKind::Commit(crate::event::CommitDecision {
                        pages: charged,
                        committed_before: d.committed_before - charged,
                        ..g
                    }));
                }
                self.emit(EventKind::Commit(d));
                self.emit(EventKind::ForkRefused {
                    vma: v.span(),
                    vma_pages: v.pages(),
                    acct: true,
                });
                self.enomem_log(ppid, v.pages());
                self.unacct(charged);
                if charged > 0 {
                    self.emit(EventKind::Uncharge {
                        pages: charged,
                        why: "the half-built child mm is torn down",
                        source: "kernel/fork.c: dup_mmap (fail_nomem)",
                    });
                }
                return Ok(Outcome::Err(Errno::ENOMEM));
            }
            charged += v.pages();
            last_granted = Some(d);
        }
        let acct: Vec<u64> = vmas
            .values()
            .filter(|v| !v.has(VM_DONTCOPY) && v.has(VM_ACCOUNT))
            .map(|v| v.pages())
            .collect();
        if !acct.is_empty() {
            self.emit(EventKind::ForkCharged {
                vmas: acct.len() as u64,
                total_pages: charged,
                largest_pages: acct.iter().copied().max().unwrap_or(0),
                mode: self.cfg.sysctls.overcommit_memory,
                committed_after: self.committed_pages(),
            });
        }
        // dup_mm → mm_init: the child's PGD, charged to the parent's cgroup (current's).
        let cmm = self.new_mm(self.memcg_of(ppid));
        // The child starts as a copy of the parent's mm: its VMA tree and gap index, and its
        // page table and reverse map (shared chunks, so this costs one pointer per chunk).
        // VMAs that are not copied then leave, and the others lose the ptes dup_mmap would not
        // copy; nothing changes a VMA's range, so the gap index stays right.
        let mut cm = self.mms[&pmm].fork_copy();
        for v in vmas.values() {
            // copy_page_range runs only for VMAs with an anon_vma (vma_needs_copy); the others
            // (shared or file mappings never written privately, read-only zero pages) refault.
            // A DONTCOPY VMA is not copied at all, nor its ptes.
            let dontcopy = v.has(VM_DONTCOPY);
            let copies_ptes = !dontcopy && v.anon_vma.is_some() && !v.has(VM_WIPEONFORK);
            if !copies_ptes {
                drop_ptes(
                    &self.frames,
                    &mut cm.pt,
                    &mut cm.rmap,
                    &mut cm.rss,
                    v.start_page(),
                    v.end_page(),
                );
            }
            if dontcopy {
                cm.remove(v.start).expect("copied from the parent");
                continue;
            }
            let anon = if v.has(VM_WIPEONFORK) {
                (None, 0)
            } else if v.anon_vma.is_some() {
                // anon_vma_fork: a new anon_vma whose chain also links the parent's.
                (Some(self.new_anon_vma()), v.anon_chain + 1)
            } else {
                (v.anon_vma, v.anon_chain)
            };
            // Only a VMA that changes is written, so the child keeps sharing the parent's
            // VMA tree until something differs.
            if v.has(VM_LOCKED) || anon != (v.anon_vma, v.anon_chain) {
                let cv = cm.vmas.get_mut(&v.start).expect("copied from the parent");
                cv.flags &= !VM_LOCKED;
                (cv.anon_vma, cv.anon_chain) = anon;
            }
            self.obj_ref(v.obj, 1);
        }
        // Every frame the child now maps gains its mappings (anonymous ones become COW-shared).
        let adds: Vec<(u64, u64, u32)> = cm.rmap.iter().map(|(p, l, c)| (p, l, c.0)).collect();
        for (p, l, c) in adds {
            self.frames.update(p, p + l, |_, _, f| Frame {
                mapcount: f.mapcount + c,
                ..*f
            });
        }
        // The swap entries the child kept (drop_ptes took those of the VMAs it does not copy)
        // each gain a use.
        cm.swap_ents = self.swap_dup_all(&cm.pt);
        cm.hiwater_rss = cm.rss_total();
        cm.hiwater_vm = cm.total_vm;
        self.edit_pt(cmm, |c| *c = cm);
        let cpid = self.new_process(child, Some(ppid), Some(cmm), admin);
        let c = self.procs.get_mut(&cpid).expect("child");
        c.cap_sys_resource = resource;
        c.oom_score_adj = adj;
        c.oom_score_adj_min = adj_min;
        self.emit(EventKind::ProcessCreated {
            pid: cpid,
            name: child.to_string(),
            kind: Some(kind),
            parent: Some(ppid),
        });
        Ok(Outcome::Ok)
    }
}

/// Remove the ptes of pages `[a, b)` from a child's page table under construction, keeping its
/// reverse map and RSS counters in step.
fn drop_ptes(
    frames: &crate::runmap::RunMap<Frame, super::pages::FrameTally>,
    pt: &mut crate::runmap::RunMap<Pte, super::pages::PtTally>,
    rmap: &mut crate::runmap::RunMap<super::pages::RCount>,
    rss: &mut [u64; 3],
    a: u64,
    b: u64,
) {
    for (_, l, pte) in pt.remove(a, b) {
        if let Pte::Present { pfn, .. } = pte {
            super::pages::rmap_add(rmap, pfn, l, -1);
            for (_, fl, f) in frames.range(pfn, pfn + l) {
                rss[match f.kind {
                    FrameKind::Anon => 0,
                    FrameKind::File => 1,
                    FrameKind::Shmem => 2,
                }] -= fl;
            }
        }
    }
}

/// The answer of one neighbour's merge check.
type MergeCheck = Result<(), NoMerge>;

/// A VMA without an anon_vma takes the merged candidate's (dup_anon_vma in vma_merge).
fn adopt_anon_vma(m: &mut Vma, c: &Candidate) {
    if m.anon_vma.is_none() && c.anon_vma.is_some() {
        m.anon_vma = c.anon_vma;
        m.anon_chain = 1;
    }
}
