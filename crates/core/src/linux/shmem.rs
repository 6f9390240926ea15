//! Shmem objects: SysV segments, tmpfs files and shared anonymous memory, which are charged to
//! Committed_AS by the object (at creation, or page by page when VM_NORESERVE), not by VMAs
//! (model-spec L4; mm/shmem.c, ipc/shm.c).

use super::vma::ObjId;
use super::{LinuxMachine, ObjKind, OpError, ProcState};
use crate::config::OvercommitMode;
use crate::event::{ChargeFor, EventKind};
use crate::op::{Errno, Outcome};
use crate::units::{pages_up, PAGE_SIZE};

/// ipc/shm.c's defaults (include/uapi/linux/shm.h): `SHMMIN` 1 byte, `SHMMAX` and `SHMALL`
/// `ULONG_MAX - 2^24` (bytes and pages).
pub(crate) const SHMMAX: u64 = u64::MAX - (1 << 24);
/// `SHMALL`, in pages: the system-wide total of SysV shared memory.
pub(crate) const SHMALL: u64 = u64::MAX - (1 << 24);
/// `SHMMNI`: at most this many segments exist at once (ipc/util.c: ipc_addid → -ENOSPC).
pub(crate) const SHMMNI: u64 = 4096;

impl LinuxMachine {
    fn caller(&self, proc: &str) -> Result<(u32, Option<u64>, bool), OpError> {
        let pid = self.pid(proc)?;
        let p = &self.procs[&pid];
        let tv = p.mm.map(|m| self.mms[&m].total_vm);
        Ok((pid, tv, p.cap_sys_admin))
    }

    /// Charge `n` pages of a VM_NORESERVE shmem object one by one (shmem_acct_blocks): each page
    /// is its own __vm_enough_memory call that sees the charges before it. Returns how many were
    /// granted, and records the decision for the whole batch.
    pub(crate) fn charge_shmem_pages(&mut self, pid: u32, obj: ObjId, n: u64) -> u64 {
        let p = &self.procs[&pid];
        let tv = p.mm.map(|m| self.mms[&m].total_vm);
        let admin = p.cap_sys_admin;
        // One page at a time: modes 1 and 0 (≥ 5.2, one page ≤ RAM+swap) grant every page, and
        // the pre-5.2 estimate does not move while the pages are charged before they are
        // allocated; so the batch decides for all of them. In mode 2 page i passes iff
        // Committed_AS + i < allowed: the first `allowed − 1 − Committed_AS` pages pass.
        let granted = if self.cfg.sysctls.overcommit_memory == OvercommitMode::Never {
            let probe = self.vm_enough_memory(0, tv, admin, ChargeFor::ShmemPage);
            match probe.rule {
                crate::event::CommitRule::Never { allowed, .. } => allowed
                    .saturating_sub(1)
                    .saturating_sub(self.committed_pages())
                    .min(n),
                _ => 0,
            }
        } else {
            n
        };
        let d = self.vm_enough_memory(granted.max(1), tv, admin, ChargeFor::ShmemPage);
        let charged = if d.granted { granted.max(1).min(n) } else { 0 };
        // Undo the extra page of a zero-page probe.
        if d.granted && charged < granted.max(1) {
            self.unacct(granted.max(1) - charged);
        }
        if charged > 0 && charged < n {
            // Mode 2 ran out part-way: the first `charged` pages passed, the next one failed.
            self.emit(EventKind::Commit(crate::event::CommitDecision {
                pages: charged,
                granted: true,
                ..d
            }));
            self.emit(EventKind::Commit(crate::event::CommitDecision {
                pages: n - charged,
                committed_before: d.committed_before + charged,
                granted: false,
                ..d
            }));
        } else {
            self.emit(EventKind::Commit(crate::event::CommitDecision {
                pages: n,
                granted: charged == n,
                ..d
            }));
        }
        self.objs.get_mut(&obj).expect("obj").charged += charged;
        charged
    }

    /// Create a shmem object sized up front: charged in full unless VM_NORESERVE
    /// (shmem_acct_size). Returns None (and emits the refusal) when the charge is refused.
    pub(crate) fn create_shmem(
        &mut self,
        pid: u32,
        kind: ObjKind,
        pages: u64,
        noreserve: bool,
        what: String,
    ) -> Option<ObjId> {
        if !noreserve {
            let p = &self.procs[&pid];
            let tv = p.mm.map(|m| self.mms[&m].total_vm);
            let d = self.vm_enough_memory(pages, tv, p.cap_sys_admin, ChargeFor::ShmemObject);
            self.emit(EventKind::Commit(d));
            if !d.granted {
                self.enomem_log(pid, pages);
                return None;
            }
        }
        let anonymous = kind == ObjKind::SharedAnon;
        let id = self.new_obj(kind, pages, noreserve);
        // A shared anonymous object has no name: it lives exactly as long as its mappings.
        self.objs.get_mut(&id).expect("obj").linked = !anonymous;
        if !noreserve {
            self.objs.get_mut(&id).expect("obj").charged = pages;
        }
        self.emit(EventKind::ShmemObjectCreated {
            what,
            pages,
            charged: !noreserve,
        });
        Some(id)
    }

    /// The kernel's rate-limited log line for a refused charge (model-spec L2.1).
    pub(crate) fn enomem_log(&mut self, pid: u32, pages: u64) {
        let comm = self
            .procs
            .get(&pid)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        if let Some(line) = self.cfg.kernel.enomem_log_line(pid, &comm, pages) {
            self.emit(EventKind::KernelLog {
                line,
                source: "mm/util.c: __vm_enough_memory (pr_warn_ratelimited)",
            });
        }
    }

    /// Destroy an object whose last reference went: free its pages and give back its charge.
    pub(crate) fn maybe_destroy(&mut self, obj: ObjId) {
        let Some(o) = self.objs.get(&obj) else { return };
        if o.maps > 0 || o.linked {
            return;
        }
        let o = self.objs.remove(&obj).expect("obj");
        let mut pages = 0;
        for (_, l, cp) in o.cache.iter() {
            self.free_frames(cp.pfn, l);
            pages += l;
        }
        if matches!(o.kind, ObjKind::File { .. }) {
            // An unlinked, unmapped regular file: its page cache goes, no commit was involved.
            return;
        }
        let what = self.obj_label(&o.kind, obj);
        if o.charged > 0 {
            self.unacct(o.charged);
            self.emit(EventKind::Uncharge {
                pages: o.charged,
                why: "the shmem object was destroyed (last reference gone)",
                source: "mm/shmem.c: shmem_evict_inode → shmem_unacct_size",
            });
        }
        self.emit(EventKind::ShmemObjectDestroyed { what, pages });
    }

    pub(crate) fn obj_label(&self, k: &ObjKind, id: ObjId) -> String {
        match k {
            ObjKind::File { path } => path.clone(),
            ObjKind::Tmpfs { path } => format!("tmpfs file {path}"),
            ObjKind::SharedAnon => format!("shared anonymous object #{id} (/dev/zero)"),
            ObjKind::Sysv { key } => format!("SysV segment `{key}`"),
        }
    }

    /// `shmget(key, size, IPC_CREAT [| SHM_NORESERVE])` (ipc/shm.c: newseg). SHM_NORESERVE is
    /// honoured only outside mode 2.
    pub(crate) fn shmget(
        &mut self,
        proc: &str,
        key: &str,
        len: u64,
        noreserve: bool,
    ) -> Result<Outcome, OpError> {
        let (pid, _, _) = self.caller(proc)?;
        if let Some(&id) = self.shm_keys.get(key) {
            if pages_up(len) > self.objs[&id].size_pages {
                return Ok(self.refuse(
                    Errno::EINVAL,
                    format!("segment `{key}` exists and is smaller"),
                    "ipc/shm.c: shm_more_checks",
                ));
            }
            return Ok(Outcome::Ok);
        }
        // newseg: size < SHMMIN || size > shm_ctlmax → EINVAL; the object's file then refuses a
        // size past MAX_LFS_FILESIZE with EINVAL too (__shmem_file_setup), before any charge.
        // numpages cannot wrap below SHMMAX; the totals are checked next (SHMALL, then SHMMNI).
        if len == 0 || len > SHMMAX {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("shmget of {len} bytes is outside SHMMIN (1) ..= SHMMAX ({SHMMAX})"),
                "ipc/shm.c: newseg (size < SHMMIN || size > ns->shm_ctlmax)",
            ));
        }
        if len > super::mapops::MAX_LFS_FILESIZE {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!(
                    "shmget of {len:#x} bytes: the segment's shmem file may not pass MAX_LFS_FILESIZE ({:#x})",
                    super::mapops::MAX_LFS_FILESIZE
                ),
                "mm/shmem.c: __shmem_file_setup (size > MAX_LFS_FILESIZE)",
            ));
        }
        let pages = pages_up(len);
        let (segments, shm_tot) = self
            .objs
            .values()
            .filter(|o| matches!(o.kind, ObjKind::Sysv { .. }))
            .fold((0u64, 0u64), |(n, t), o| {
                (n + 1, t.saturating_add(o.size_pages))
            });
        if shm_tot.checked_add(pages).is_none_or(|t| t > SHMALL) {
            return Ok(self.refuse(
                Errno::ENOSPC,
                format!("{shm_tot} pages of SysV segments + {pages} would pass SHMALL ({SHMALL})"),
                "ipc/shm.c: newseg (shm_tot + numpages > shm_ctlall)",
            ));
        }
        if segments >= SHMMNI {
            return Ok(self.refuse(
                Errno::ENOSPC,
                format!("{segments} SysV segments exist, SHMMNI is {SHMMNI}"),
                "ipc/util.c: ipc_addid (via ipc/shm.c: newseg)",
            ));
        }
        let nr = noreserve && self.cfg.sysctls.overcommit_memory != OvercommitMode::Never;
        match self.create_shmem(
            pid,
            ObjKind::Sysv {
                key: key.to_string(),
            },
            pages,
            nr,
            format!("SysV segment `{key}`"),
        ) {
            Some(id) => {
                self.shm_keys.insert(key.to_string(), id);
                Ok(Outcome::Ok)
            }
            None => Ok(Outcome::Err(Errno::ENOMEM)),
        }
    }

    /// `shmctl(IPC_RMID)`: destroyed once nothing is attached.
    pub(crate) fn shmrm(&mut self, key: &str) -> Result<Outcome, OpError> {
        let Some(id) = self.shm_keys.remove(key) else {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("no SysV segment `{key}`"),
                "ipc/shm.c: shmctl_down",
            ));
        };
        self.objs.get_mut(&id).expect("obj").linked = false;
        self.maybe_destroy(id);
        Ok(Outcome::Ok)
    }

    /// The file at `path`, opened (created) on first use. tmpfs inodes are VM_NORESERVE shmem:
    /// their pages are charged as they are allocated; regular files cost no commit.
    pub(crate) fn path_obj(&mut self, path: &str, tmpfs: bool) -> ObjId {
        if let Some(&id) = self.paths.get(path) {
            return id;
        }
        let kind = if tmpfs {
            ObjKind::Tmpfs {
                path: path.to_string(),
            }
        } else {
            ObjKind::File {
                path: path.to_string(),
            }
        };
        let id = self.new_obj(kind, 0, tmpfs);
        self.paths.insert(path.to_string(), id);
        id
    }

    /// Pages a tmpfs mount holds at most: the default `size=` is half of RAM
    /// (mm/shmem.c: shmem_default_max_blocks).
    fn tmpfs_max_pages(&self) -> u64 {
        self.totalram_pages() / 2
    }

    fn tmpfs_used_pages(&self) -> u64 {
        self.objs
            .values()
            .filter(|o| matches!(o.kind, ObjKind::Tmpfs { .. }))
            .map(|o| o.cache.covered(0, u64::MAX))
            .sum()
    }

    /// `write(fd, buf, len)` at `offset` of a tmpfs file: each newly allocated page is charged
    /// (shmem_acct_blocks) and counted against the mount's size; failure is ENOSPC, not ENOMEM.
    pub(crate) fn tmpfs_write(
        &mut self,
        proc: &str,
        path: &str,
        offset: u64,
        len: u64,
    ) -> Result<Outcome, OpError> {
        let (pid, _, _) = self.caller(proc)?;
        // tmpfs's s_maxbytes is MAX_LFS_FILESIZE (2^63 − 1), so its EFBIG check cannot fire
        // after these.
        if let Some(o) = self.rw_verify(offset, len, true) {
            return Ok(o);
        }
        if len == 0 {
            return Ok(Outcome::Ok);
        }
        // One write(2) moves at most MAX_RW_COUNT bytes; `tmpfs write` is the whole write a
        // program loops over, so every byte is written (docs/model.md).
        let obj = self.path_obj(path, true);
        let a = offset / PAGE_SIZE;
        let b = (offset + len).div_ceil(PAGE_SIZE);
        let present = self.objs[&obj].cache.covered(a, b);
        let missing = (b - a) - present;
        if self.tmpfs_used_pages() + missing > self.tmpfs_max_pages() {
            return Ok(self.refuse(
                Errno::ENOSPC,
                format!(
                    "tmpfs mount full: its size is half of RAM ({} pages)",
                    self.tmpfs_max_pages()
                ),
                "mm/shmem.c: shmem_inode_acct_blocks",
            ));
        }
        let r = self.ensure_cache(pid, obj, a, b - a, true, 0);
        // shmem_write_end → folio_mark_dirty: every written page is dirty, also one a mapping
        // had faulted in clean, so its mappers' smaps count it dirty.
        let written: Vec<(u64, u64, super::pages::CachePage)> =
            self.objs[&obj].cache.range(a, b).collect();
        for (_, l, cp) in written {
            self.frames
                .update(cp.pfn, cp.pfn + l, |_, _, f| super::pages::Frame {
                    dirty: true,
                    ..*f
                });
        }
        let o = self.objs.get_mut(&obj).expect("obj");
        o.size_pages = o
            .size_pages
            .max(o.cache.iter().map(|(s, l, _)| s + l).max().unwrap_or(0));
        self.emit(EventKind::Fault {
            span: crate::event::Span {
                start: a * PAGE_SIZE,
                end: b * PAGE_SIZE,
            },
            pages: missing,
            kind: crate::event::FaultKind::Shmem,
        });
        match r {
            Ok(()) => Ok(Outcome::Ok),
            // The kernel panicked while the writer's pages were allocated.
            Err(Outcome::Panic) => Ok(Outcome::Panic),
            Err(o @ Outcome::Killed { .. }) if o != Self::killed(crate::op::Signal::SIGBUS) => {
                // The writer was an OOM victim (global or memcg).
                Ok(o)
            }
            Err(Outcome::Blocked) => {
                // Not a fault: a write(2) whose memcg charge fails gets -ENOMEM.
                self.pending_wait = None;
                Ok(self.refuse(
                    Errno::ENOMEM,
                    format!("tmpfs write to {path}: the memory cgroup charge failed"),
                    "mm/memcontrol.c: try_charge_memcg → -ENOMEM",
                ))
            }
            Err(_) => Ok(self.refuse(
                Errno::ENOSPC,
                format!("tmpfs write to {path}: the page charge was refused"),
                "mm/shmem.c: shmem_inode_acct_blocks → shmem_acct_blocks",
            )),
        }
    }

    /// pwrite64/pread64(fd, buf, len, offset): loff_t and ssize_t are signed, so an offset, a
    /// count or their sum at or past 2^63 is EINVAL before the file system sees it.
    fn rw_verify(&mut self, offset: u64, len: u64, write: bool) -> Option<Outcome> {
        let lim = super::mapops::MAX_LFS_FILESIZE;
        (offset > lim || len > lim || offset + len > lim).then(|| {
            self.refuse(
                Errno::EINVAL,
                format!(
                    "{} of {len:#x} bytes at offset {offset:#x}: the offset, the count or their end is negative as loff_t/ssize_t",
                    if write { "pwrite" } else { "pread" }
                ),
                if write {
                    "fs/read_write.c: ksys_pwrite64 (pos < 0), rw_verify_area"
                } else {
                    "fs/read_write.c: ksys_pread64 (pos < 0), rw_verify_area"
                },
            )
        })
    }

    /// write(2) or read(2) of a regular file through the page cache (mm/filemap.c): the pages
    /// of `[offset, offset+len)` are brought into the cache (each allocation may reclaim or
    /// OOM-kill), written ones marked dirty. The file is taken to exist on disk, as `mmap file`
    /// takes it.
    pub(crate) fn file_io(
        &mut self,
        proc: &str,
        path: &str,
        offset: u64,
        len: u64,
        write: bool,
    ) -> Result<Outcome, OpError> {
        let (pid, _, _) = self.caller(proc)?;
        if let Some(o) = self.rw_verify(offset, len, write) {
            return Ok(o);
        }
        if len == 0 {
            return Ok(Outcome::Ok);
        }
        if let Some(o) = self.paths.get(path).map(|id| &self.objs[id]) {
            if o.kind.is_shmem() {
                return Err(OpError::TmpfsPath {
                    path: path.to_string(),
                });
            }
        }
        let obj = self.path_obj(path, false);
        let b = (offset + len).div_ceil(PAGE_SIZE);
        // A transfer larger than RAM streams through the cache: by its end only its last RAM's
        // worth of pages can be cached (the earlier ones were reclaimed on the way), so the model
        // brings in that tail and costs O(RAM), not O(len).
        let a = (offset / PAGE_SIZE).max(b.saturating_sub(self.totalram_pages()));
        let present = self.objs[&obj].cache.covered(a, b);
        let r = self.ensure_cache(pid, obj, a, b - a, write, 0);
        if write {
            let runs: Vec<(u64, u64, super::pages::CachePage)> =
                self.objs[&obj].cache.range(a, b).collect();
            for (_, l, cp) in runs {
                self.frames
                    .update(cp.pfn, cp.pfn + l, |_, _, f| super::pages::Frame {
                        dirty: true,
                        ..*f
                    });
            }
        }
        let now = self.objs[&obj].cache.covered(a, b);
        let o = self.objs.get_mut(&obj).expect("obj");
        o.size_pages = o.size_pages.max(b);
        self.emit(EventKind::FileIo {
            path: path.to_string(),
            span: crate::event::Span {
                start: a * PAGE_SIZE,
                end: b * PAGE_SIZE,
            },
            new_pages: now - present,
            write,
        });
        Ok(match r {
            Ok(()) => Outcome::Ok,
            Err(Outcome::Blocked) => {
                // Not a fault: the page cache's memcg charge fails and write(2)/read(2) gets
                // -ENOMEM (filemap_add_folio → mem_cgroup_charge).
                self.pending_wait = None;
                self.refuse(
                    Errno::ENOMEM,
                    format!(
                        "{} of {path}: the memory cgroup charge failed",
                        if write { "write" } else { "read" }
                    ),
                    "mm/filemap.c: filemap_add_folio → mem_cgroup_charge (-ENOMEM)",
                )
            }
            Err(o) => o,
        })
    }

    /// `ftruncate` a tmpfs file: growing is free (sparse); shrinking frees pages, unmaps them
    /// from every process and gives back their charge.
    pub(crate) fn tmpfs_truncate(&mut self, path: &str, len: u64) -> Result<Outcome, OpError> {
        // loff_t is signed: a length past 2^63 − 1 (= tmpfs's s_maxbytes) is negative.
        if len > super::mapops::MAX_LFS_FILESIZE {
            return Ok(self.refuse(
                Errno::EINVAL,
                format!("ftruncate to {len:#x} bytes: the length is negative as loff_t"),
                "fs/open.c: do_sys_ftruncate (length < 0)",
            ));
        }
        let obj = self.path_obj(path, true);
        let keep = pages_up(len);
        self.objs.get_mut(&obj).expect("obj").size_pages = keep;
        self.drop_object_pages(obj, keep, u64::MAX);
        Ok(Outcome::Ok)
    }

    /// Remove object pages `[a, b)` from its cache and from every mapping (unmap_mapping_range).
    fn drop_object_pages(&mut self, obj: ObjId, a: u64, b: u64) {
        // Unmap from every mm that maps this object.
        let mms: Vec<u32> = self.mms.keys().copied().collect();
        for mm_id in mms {
            let ranges: Vec<(u64, u64)> = self.mms[&mm_id]
                .vmas
                .values()
                .filter(|v| v.obj == Some(obj) && !v.is_anonymous())
                .filter_map(|v| {
                    let lo = v.pgoff.max(a);
                    let hi = (v.pgoff + v.pages()).min(b);
                    (lo < hi).then(|| {
                        (
                            v.start_page() + (lo - v.pgoff),
                            v.start_page() + (hi - v.pgoff),
                        )
                    })
                })
                .collect();
            for (s, e) in ranges {
                // Only the ptes that map this object's pages (private COW copies stay).
                let runs: Vec<(u64, u64, super::pages::Pte)> =
                    self.mms[&mm_id].pt.range(s, e).collect();
                for (rs, rl, pte) in runs {
                    if let super::pages::Pte::Present { pfn, .. } = pte {
                        let is_obj = self
                            .frames
                            .get(pfn)
                            .is_some_and(|(_, _, f)| f.kind != super::pages::FrameKind::Anon);
                        if is_obj {
                            self.zap(mm_id, rs, rs + rl);
                        }
                    }
                }
            }
        }
        let removed = self.objs.get_mut(&obj).expect("obj").cache.remove(a, b);
        let mut freed = 0;
        for (_, l, cp) in removed {
            self.free_frames(cp.pfn, l);
            freed += l;
        }
        let o = self.objs.get_mut(&obj).expect("obj");
        if o.noreserve && freed > 0 {
            o.charged -= freed;
            self.unacct(freed);
            self.emit(EventKind::Uncharge {
                pages: freed,
                why: "tmpfs pages freed",
                source: "mm/shmem.c: shmem_inode_unacct_blocks",
            });
        }
    }

    /// `unlink(path)` of a tmpfs file: gone when no mapping holds it.
    pub(crate) fn unlink(&mut self, path: &str) -> Result<Outcome, OpError> {
        let Some(id) = self.paths.remove(path) else {
            return Ok(self.refuse(
                Errno::ENOENT,
                format!("no file {path}"),
                "fs/namei.c: do_unlinkat",
            ));
        };
        self.objs.get_mut(&id).expect("obj").linked = false;
        self.maybe_destroy(id);
        Ok(Outcome::Ok)
    }

    pub(crate) fn refuse(&mut self, errno: Errno, why: String, source: &'static str) -> Outcome {
        self.emit(EventKind::Refused { errno, why, source });
        Outcome::Err(errno)
    }

    /// Is any process still running?
    pub fn any_running(&self) -> bool {
        self.procs.values().any(|p| p.state == ProcState::Running)
    }
}
