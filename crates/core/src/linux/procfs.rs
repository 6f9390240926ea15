//! The kernel's own views, formatted as the kernel prints them: /proc/meminfo, /proc/PID/maps,
//! smaps, smaps_rollup, status and oom_score (fs/proc/meminfo.c, fs/proc/task_mmu.c,
//! fs/proc/array.c). Fields vmlab does not model (kernel memory, slab, …) print as 0.

use super::mm::{Mm, MmId};
use super::pages::{pss_fixed, FrameKind, FrameTally, Pte, PSS_SHIFT};
use super::vma::*;
use super::{LinuxMachine, ObjKind, Pid, ProcState};
use crate::units::{pages_to_kb, PAGE_SHIFT};
use serde::Serialize;
use std::fmt::Write;

/// One smaps entry's numbers: pages, and PSS in bytes << PSS_SHIFT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SmapsStats {
    pub size: u64,
    pub rss: u64,
    pub pss: u128,
    pub pss_dirty: u128,
    pub pss_anon: u128,
    pub pss_file: u128,
    pub pss_shmem: u128,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub anonymous: u64,
    pub lazyfree: u64,
    pub swap: u64,
    pub locked: u128,
}

impl SmapsStats {
    /// Add another VMA's figures (a rollup is the sum of its VMAs).
    pub fn add(&mut self, o: &SmapsStats) {
        self.size += o.size;
        self.rss += o.rss;
        self.pss += o.pss;
        self.pss_dirty += o.pss_dirty;
        self.pss_anon += o.pss_anon;
        self.pss_file += o.pss_file;
        self.pss_shmem += o.pss_shmem;
        self.shared_clean += o.shared_clean;
        self.shared_dirty += o.shared_dirty;
        self.private_clean += o.private_clean;
        self.private_dirty += o.private_dirty;
        self.anonymous += o.anonymous;
        self.lazyfree += o.lazyfree;
        self.swap += o.swap;
        self.locked += o.locked;
    }

    /// A field by its smaps name, in bytes.
    pub fn field(&self, name: &str) -> Option<u64> {
        let kb_of_pss = |v: u128| ((v >> PSS_SHIFT) >> 10) as u64 * 1024;
        let b = |pages: u64| pages << PAGE_SHIFT;
        Some(match name {
            "Size" => b(self.size),
            "KernelPageSize" | "MMUPageSize" => 4096,
            "Rss" => b(self.rss),
            "Pss" => kb_of_pss(self.pss),
            "Pss_Dirty" => kb_of_pss(self.pss_dirty),
            "Pss_Anon" => kb_of_pss(self.pss_anon),
            "Pss_File" => kb_of_pss(self.pss_file),
            "Pss_Shmem" => kb_of_pss(self.pss_shmem),
            "Shared_Clean" => b(self.shared_clean),
            "Shared_Dirty" => b(self.shared_dirty),
            "Private_Clean" => b(self.private_clean),
            "Private_Dirty" => b(self.private_dirty),
            "Referenced" => b(self.rss),
            "Anonymous" => b(self.anonymous),
            "LazyFree" => b(self.lazyfree),
            "Swap" => b(self.swap),
            "Locked" => kb_of_pss(self.locked),
            "KSM" | "AnonHugePages" | "ShmemPmdMapped" | "FilePmdMapped" | "Shared_Hugetlb"
            | "Private_Hugetlb" | "SwapPss" => 0,
            _ => return None,
        })
    }
}

fn pad_kb(out: &mut String, label: &str, kb: u64) {
    // show_val_kb / SEQ_PUT_DEC: a 16-column label, the value right-aligned in 8, " kB".
    let _ = writeln!(out, "{label:<16}{kb:>8} kB");
}

impl LinuxMachine {
    /// smaps_account over one VMA.
    pub fn vma_stats(&self, mm: &Mm, v: &Vma) -> SmapsStats {
        let mut st = SmapsStats {
            size: v.pages(),
            ..Default::default()
        };
        for (_, l, pte) in mm.pt.range(v.start_page(), v.end_page()) {
            match pte {
                Pte::Present {
                    pfn,
                    dirty: pte_dirty,
                } => {
                    for (_, fl, f) in self.frames.range(pfn, pfn + l) {
                        let m = f.mapcount.max(1);
                        let pss = pss_fixed(fl, m);
                        // smaps_page_accumulate: `dirty || folio_test_dirty(folio)`, the pte's
                        // bit or the folio's.
                        let dirty = pte_dirty || f.dirty;
                        st.rss += fl;
                        st.pss += pss;
                        if dirty {
                            st.pss_dirty += pss;
                        }
                        match f.kind {
                            FrameKind::Anon => {
                                st.pss_anon += pss;
                                st.anonymous += fl;
                                if f.lazyfree && !dirty {
                                    st.lazyfree += fl;
                                }
                            }
                            FrameKind::File => st.pss_file += pss,
                            FrameKind::Shmem => st.pss_shmem += pss,
                        }
                        match (m >= 2, dirty) {
                            (true, true) => st.shared_dirty += fl,
                            (true, false) => st.shared_clean += fl,
                            (false, true) => st.private_dirty += fl,
                            (false, false) => st.private_clean += fl,
                        }
                        if v.has(VM_LOCKED) {
                            st.locked += pss;
                        }
                    }
                }
                Pte::Swap { .. } => st.swap += l,
                Pte::Zero => {}
            }
        }
        st
    }

    pub fn rollup(&self, mm: &Mm) -> SmapsStats {
        let mut total = SmapsStats::default();
        for v in mm.vmas.values() {
            total.add(&self.vma_stats(mm, v));
        }
        total
    }

    /// /proc/meminfo fields in order (kB, or counts for HugePages_*), as Linux 6.18 prints them.
    pub fn meminfo(&self) -> Vec<(&'static str, u64)> {
        let kb = pages_to_kb;
        let FrameTally {
            lazyfree_anon: lazy,
            dirty_file: dirty,
            mapped_cache: mapped,
        } = *self.frames.tally();
        let free = self.free_pages();
        let file_lru = self.stats.file + lazy;
        let anon_lru = self.stats.anon - lazy + self.stats.shmem;
        // New anonymous pages start on the inactive list from 5.9 (workingset detection for anon).
        let (active_anon, inactive_anon) =
            if self.cfg.kernel >= crate::kernel::KernelVersion::new(5, 9) {
                (0, anon_lru)
            } else {
                (anon_lru, 0)
            };
        let pagetables = self.pgtable_pages_total;
        let swap_total = self.total_swap_pages();
        let huge_kb = self.cfg.hugepage_bytes / 1024;
        vec![
            ("MemTotal", kb(self.totalram_pages())),
            ("MemFree", kb(free)),
            // si_mem_available with zone watermarks and reclaimable slab at 0.
            ("MemAvailable", kb(free + file_lru)),
            ("Buffers", 0),
            ("Cached", kb(self.stats.file + self.stats.shmem)),
            ("SwapCached", 0),
            ("Active", kb(active_anon)),
            ("Inactive", kb(inactive_anon + file_lru)),
            ("Active(anon)", kb(active_anon)),
            ("Inactive(anon)", kb(inactive_anon)),
            ("Active(file)", 0),
            ("Inactive(file)", kb(file_lru)),
            ("Unevictable", 0),
            ("Mlocked", 0),
            ("SwapTotal", kb(swap_total)),
            ("SwapFree", kb(swap_total - self.stats.swap_used)),
            ("Zswap", 0),
            ("Zswapped", 0),
            ("Dirty", kb(dirty)),
            ("Writeback", 0),
            ("AnonPages", kb(self.stats.anon)),
            ("Mapped", kb(mapped)),
            ("Shmem", kb(self.stats.shmem)),
            ("KReclaimable", 0),
            ("Slab", 0),
            ("SReclaimable", 0),
            ("SUnreclaim", 0),
            ("KernelStack", 0),
            ("PageTables", kb(pagetables)),
            ("SecPageTables", 0),
            ("NFS_Unstable", 0),
            ("Bounce", 0),
            ("WritebackTmp", 0),
            ("CommitLimit", kb(self.commit_limit_pages())),
            ("Committed_AS", kb(self.committed_pages())),
            ("VmallocTotal", 34_359_738_367),
            ("VmallocUsed", 0),
            ("VmallocChunk", 0),
            ("Percpu", 0),
            ("AnonHugePages", 0),
            ("ShmemHugePages", 0),
            ("ShmemPmdMapped", 0),
            ("FileHugePages", 0),
            ("FilePmdMapped", 0),
            ("Balloon", 0),
            ("HugePages_Total", self.cfg.sysctls.nr_hugepages),
            ("HugePages_Free", self.cfg.sysctls.nr_hugepages),
            ("HugePages_Rsvd", self.huge_rsvd),
            ("HugePages_Surp", 0),
            ("Hugepagesize", huge_kb),
            ("Hugetlb", self.cfg.sysctls.nr_hugepages * huge_kb),
        ]
    }

    pub fn meminfo_text(&self) -> String {
        let mut out = String::new();
        for (name, v) in self.meminfo() {
            match name {
                "HugePages_Total" | "HugePages_Free" | "HugePages_Rsvd" | "HugePages_Surp" => {
                    let _ = writeln!(out, "{:<19}{v:>5}", format!("{name}:"));
                }
                _ => pad_kb(&mut out, &format!("{name}:"), v),
            }
        }
        out
    }

    /// The name column of a maps line (empty for plain anonymous memory).
    pub fn maps_name(&self, mm: &Mm, v: &Vma) -> String {
        self.vma_name(mm, v).unwrap_or_default()
    }

    fn vma_name(&self, mm: &Mm, v: &Vma) -> Option<String> {
        if let Some(o) = v.obj.and_then(|id| self.objs.get(&id).map(|o| (id, o))) {
            return Some(match &o.1.kind {
                ObjKind::File { path } | ObjKind::Tmpfs { path } => {
                    if o.1.linked {
                        path.clone()
                    } else {
                        format!("{path} (deleted)")
                    }
                }
                ObjKind::SharedAnon => "/dev/zero (deleted)".into(),
                ObjKind::Sysv { .. } => format!("/SYSV{:08x} (deleted)", o.0),
            });
        }
        // fs/proc/task_mmu.c: [heap] spans start_brk..brk; [stack] holds the initial stack.
        if v.start <= mm.brk && v.end >= mm.start_brk && mm.brk > mm.start_brk {
            return Some("[heap]".into());
        }
        if v.special == Some(Special::Stack) {
            return Some("[stack]".into());
        }
        None
    }

    fn vma_header(&self, mm: &Mm, v: &Vma, out: &mut String) {
        let f = |bit, c| if v.has(bit) { c } else { '-' };
        let (pgoff, dev, ino) = match v.obj.and_then(|id| self.objs.get(&id)) {
            Some(o) => {
                let dev = match o.kind {
                    ObjKind::File { .. } => "08:01",
                    ObjKind::Tmpfs { .. } => "00:19",
                    ObjKind::SharedAnon | ObjKind::Sysv { .. } => "00:01",
                };
                (v.pgoff << PAGE_SHIFT, dev, o.ino)
            }
            None => (0, "00:00", 0),
        };
        let start = out.len();
        let _ = write!(
            out,
            "{:08x}-{:08x} {}{}{}{} {:08x} {} {} ",
            v.start,
            v.end,
            f(VM_READ, 'r'),
            f(VM_WRITE, 'w'),
            f(VM_EXEC, 'x'),
            if v.has(VM_MAYSHARE) { 's' } else { 'p' },
            pgoff,
            dev,
            ino
        );
        if let Some(name) = self.vma_name(mm, v) {
            // seq_pad to 25 + sizeof(void *) * 6 − 1 = 72 columns, then a space.
            while out.len() - start < 72 {
                out.push(' ');
            }
            out.push(' ');
            out.push_str(&name);
        }
        out.push('\n');
    }

    fn view_mm(&self, pid: Pid) -> Option<(MmId, &Mm)> {
        let p = self.procs.get(&pid)?;
        if p.state != ProcState::Running {
            return None;
        }
        let id = p.mm?;
        Some((id, &self.mms[&id]))
    }

    pub fn maps_text(&self, pid: Pid) -> Option<String> {
        let (_, mm) = self.view_mm(pid)?;
        let mut out = String::new();
        for v in mm.vmas.values() {
            self.vma_header(mm, v, &mut out);
        }
        Some(out)
    }

    fn smap_fields(out: &mut String, st: &SmapsStats, rollup: bool) {
        let kb = |p: u64| pages_to_kb(p);
        let pss = |v: u128| ((v >> PSS_SHIFT) >> 10) as u64;
        pad_kb(out, "Rss:", kb(st.rss));
        pad_kb(out, "Pss:", pss(st.pss));
        pad_kb(out, "Pss_Dirty:", pss(st.pss_dirty));
        if rollup {
            pad_kb(out, "Pss_Anon:", pss(st.pss_anon));
            pad_kb(out, "Pss_File:", pss(st.pss_file));
            pad_kb(out, "Pss_Shmem:", pss(st.pss_shmem));
        }
        pad_kb(out, "Shared_Clean:", kb(st.shared_clean));
        pad_kb(out, "Shared_Dirty:", kb(st.shared_dirty));
        pad_kb(out, "Private_Clean:", kb(st.private_clean));
        pad_kb(out, "Private_Dirty:", kb(st.private_dirty));
        pad_kb(out, "Referenced:", kb(st.rss));
        pad_kb(out, "Anonymous:", kb(st.anonymous));
        pad_kb(out, "KSM:", 0);
        pad_kb(out, "LazyFree:", kb(st.lazyfree));
        pad_kb(out, "AnonHugePages:", 0);
        pad_kb(out, "ShmemPmdMapped:", 0);
        pad_kb(out, "FilePmdMapped:", 0);
        pad_kb(out, "Shared_Hugetlb:", 0);
        let _ = writeln!(out, "Private_Hugetlb: {:>7} kB", 0);
        pad_kb(out, "Swap:", kb(st.swap));
        pad_kb(out, "SwapPss:", 0);
        pad_kb(out, "Locked:", pss(st.locked));
    }

    pub fn smaps_text(&self, pid: Pid) -> Option<String> {
        let (_, mm) = self.view_mm(pid)?;
        let mut out = String::new();
        for v in mm.vmas.values() {
            self.vma_header(mm, v, &mut out);
            let st = self.vma_stats(mm, v);
            pad_kb(&mut out, "Size:", pages_to_kb(v.pages()));
            pad_kb(&mut out, "KernelPageSize:", 4);
            pad_kb(&mut out, "MMUPageSize:", 4);
            Self::smap_fields(&mut out, &st, false);
            let _ = writeln!(out, "THPeligible:    {:>8}", 0);
            if self.cfg.protection_keys {
                let _ = writeln!(out, "ProtectionKey:  {:>8}", 0);
            }
            let mut flags = String::from("VmFlags: ");
            for code in flag_codes(v.flags).split(' ').filter(|c| !c.is_empty()) {
                flags.push_str(code);
                flags.push(' ');
            }
            out.push_str(&flags);
            out.push('\n');
        }
        Some(out)
    }

    pub fn smaps_rollup_text(&self, pid: Pid) -> Option<String> {
        let (_, mm) = self.view_mm(pid)?;
        let mut out = String::new();
        let (s, e) = match (mm.vmas.values().next(), mm.vmas.values().next_back()) {
            (Some(a), Some(b)) => (a.start, b.end),
            _ => (0, 0),
        };
        let head = format!("{s:08x}-{e:08x} ---p 00000000 00:00 0 ");
        let _ = writeln!(out, "{head:<72} [rollup]");
        Self::smap_fields(&mut out, &self.rollup(mm), true);
        Some(out)
    }

    /// VmRSS in kB, in O(1) (the RSS counters are kept as ptes change).
    pub fn vm_rss_kb(&self, pid: Pid) -> Option<u64> {
        let (_, mm) = self.view_mm(pid)?;
        Some(pages_to_kb(mm.rss_total()))
    }

    /// The memory lines of /proc/PID/status, in kB (fs/proc/task_mmu.c: task_mem).
    pub fn status_fields(&self, pid: Pid) -> Option<Vec<(&'static str, u64)>> {
        let (mm_id, mm) = self.view_mm(pid)?;
        let kb = pages_to_kb;
        let rss = mm.rss_total();
        Some(vec![
            ("VmPeak", kb(mm.hiwater_vm.max(mm.total_vm))),
            ("VmSize", kb(mm.total_vm)),
            ("VmLck", kb(mm.locked_vm())),
            ("VmPin", 0),
            ("VmHWM", kb(mm.hiwater_rss.max(rss))),
            ("VmRSS", kb(rss)),
            ("RssAnon", kb(mm.rss[0])),
            ("RssFile", kb(mm.rss[1])),
            ("RssShmem", kb(mm.rss[2])),
            ("VmData", kb(mm.data_vm())),
            ("VmStk", kb(mm.stack_vm())),
            ("VmExe", kb(mm.exec_vm())),
            ("VmLib", 0),
            ("VmPTE", kb(mm.pgtable_pages())),
            ("VmSwap", kb(self.swap_entries(mm_id))),
            ("HugetlbPages", 0),
        ])
    }

    pub fn status_text(&self, pid: Pid) -> Option<String> {
        let p = self.procs.get(&pid)?;
        let fields = self.status_fields(pid)?;
        let mut out = String::new();
        let _ = writeln!(out, "Name:\t{}", p.name);
        let _ = writeln!(out, "State:\tS (sleeping)");
        let _ = writeln!(out, "Tgid:\t{pid}");
        let _ = writeln!(out, "Pid:\t{pid}");
        let _ = writeln!(out, "PPid:\t{}", p.ppid.unwrap_or(1));
        for (k, v) in fields {
            let _ = writeln!(out, "{k}:\t{v:>8} kB");
        }
        let _ = writeln!(out, "Threads:\t1");
        Some(out)
    }
}

impl LinuxMachine {
    /// A `top`-like table of the processes alive now, the largest resident set first (ties by
    /// pid): each one's /proc/PID/status sizes (VmSize, VmRSS, VmSwap, VmPTE, in kB), its share
    /// of MemTotal (top's %MEM: RES / total physical memory), its oom_score and oom_score_adj,
    /// and its memory cgroup. Numbers are the views' own, read from the same functions.
    pub fn top_text(&self) -> String {
        let total_kb = pages_to_kb(self.totalram_pages());
        let mut rows: Vec<(u64, Pid, String)> = Vec::new();
        for (&pid, p) in &self.procs {
            if p.state != ProcState::Running {
                continue;
            }
            let Some(fields) = self.status_fields(pid) else {
                continue;
            };
            let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map_or(0, |(_, v)| *v);
            let rss = get("VmRSS");
            // %MEM in tenths, rounded down, as top's integer arithmetic prints one decimal.
            let tenths = (rss as u128 * 1000 / total_kb.max(1) as u128) as u64;
            let cg = &self.memcgs.groups[&p.memcg].path;
            let line = format!(
                "{pid:>7} {:<12} {:>10} {:>10} {:>9} {:>7} {:>3}.{} {:>6} {:>5} /{cg}\n",
                p.name,
                get("VmSize"),
                rss,
                get("VmSwap"),
                get("VmPTE"),
                tenths / 10,
                tenths % 10,
                self.oom_score(pid),
                p.oom_score_adj,
            );
            rows.push((rss, pid, line));
        }
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        // top's summary in MiB with one decimal (rounded down).
        let mib = |kb: u64| format!("{}.{}", kb / 1024, kb * 10 / 1024 % 10);
        let mut out = format!(
            "MiB Mem : {} total, {} free    MiB Swap: {} total, {} free\n\n",
            mib(total_kb),
            mib(pages_to_kb(self.free_pages())),
            mib(pages_to_kb(self.total_swap_pages())),
            mib(pages_to_kb(self.swap_free_pages())),
        );
        out.push_str(
            "    PID NAME               VIRT        RES      SWAP     PTE  %MEM  SCORE   ADJ CGROUP\n",
        );
        for (_, _, line) in rows {
            out.push_str(&line);
        }
        out
    }
}
