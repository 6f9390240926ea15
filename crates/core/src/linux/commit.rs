//! The commit ledger: CommitLimit, Committed_AS and `__vm_enough_memory` in every mode and era
//! (model-spec L2, L3). Residency never enters here except through mode 0's pre-5.2 estimate.

use super::LinuxMachine;
use crate::config::OvercommitMode;
use crate::event::{ChargeFor, CommitDecision, CommitRule};
use crate::units::kb_to_pages;

impl LinuxMachine {
    pub fn totalram_pages(&self) -> u64 {
        self.cfg.ram_bytes >> crate::units::PAGE_SHIFT
    }

    pub fn total_swap_pages(&self) -> u64 {
        self.cfg.swap_bytes >> crate::units::PAGE_SHIFT
    }

    /// Persistent huge pages of all sizes, in base pages (`hugetlb_total_pages`).
    pub fn hugetlb_total_pages(&self) -> u64 {
        self.cfg.sysctls.nr_hugepages * (self.cfg.hugepage_bytes >> crate::units::PAGE_SHIFT)
    }

    /// mm/util.c: vm_commit_limit().
    pub fn commit_limit_pages(&self) -> u64 {
        let s = &self.cfg.sysctls;
        let base = if s.overcommit_kbytes != 0 && self.cfg.kernel.has_overcommit_kbytes() {
            kb_to_pages(s.overcommit_kbytes)
        } else {
            // The kernel's ratio is an int, so its product fits; vmlab's sysctl is a u64 and
            // saturates rather than wrapping.
            u64::try_from(
                self.totalram_pages()
                    .saturating_sub(self.hugetlb_total_pages()) as u128
                    * s.overcommit_ratio as u128
                    / 100,
            )
            .unwrap_or(u64::MAX)
        };
        base.saturating_add(self.total_swap_pages())
    }

    /// Committed_AS in pages (the exact sum; the per-CPU batch is not simulated, model-spec L2.2).
    pub fn committed_pages(&self) -> u64 {
        self.committed
    }

    /// mm/util.c: __vm_enough_memory(mm, pages, cap_sys_admin). Charges on success and returns
    /// the decision either way. `total_vm` is the caller's mm size (VmSize) before the request.
    pub(crate) fn vm_enough_memory(
        &mut self,
        pages: u64,
        total_vm: Option<u64>,
        cap_sys_admin: bool,
        for_what: ChargeFor,
    ) -> CommitDecision {
        let committed_before = self.committed;
        let (granted, rule) = self.enough_memory_rule(pages, total_vm, cap_sys_admin);
        if granted {
            // L2.1 step 1: the request is added first (saturating: see enough_memory_rule).
            self.committed = committed_before.saturating_add(pages);
        }
        CommitDecision {
            for_what,
            pages,
            committed_before,
            mode: self.cfg.sysctls.overcommit_memory,
            kernel: self.cfg.kernel,
            rule,
            granted,
        }
    }

    /// The test of `__vm_enough_memory` without its charge: whether `pages` more would be
    /// granted now to a task whose mm has `total_vm` pages (`None`: no mm) and which has or
    /// lacks CAP_SYS_ADMIN, and the rule with its numbers. The one implementation of the rule:
    /// the charge ([`Self::vm_enough_memory`]) and the gauge (seam.rs: commit_summary_for) both
    /// ask it.
    pub(super) fn enough_memory_rule(
        &self,
        pages: u64,
        total_vm: Option<u64>,
        cap_sys_admin: bool,
    ) -> (bool, CommitRule) {
        let mode = self.cfg.sysctls.overcommit_memory;
        let kernel = self.cfg.kernel;
        let s = &self.cfg.sysctls;
        // L2.1 step 1: the request is added first.
        // Saturating: a sum past 2^64 pages is no real memory (the kernel's s64 counter would wrap).
        let committed_now = self.committed.saturating_add(pages);
        match mode {
            OvercommitMode::Always => (true, CommitRule::Always),
            OvercommitMode::Guess if kernel.guess_is_total_ram_swap() => {
                let totalram = self.totalram_pages();
                let swap = self.total_swap_pages();
                (
                    pages <= totalram + swap,
                    CommitRule::GuessTotal { totalram, swap },
                )
            }
            OvercommitMode::Guess => self.guess_free(pages, cap_sys_admin),
            OvercommitMode::Never => {
                let limit = self.commit_limit_pages();
                let (admin_reserve, user_reserve) = if kernel.has_reserve_knobs() {
                    let admin = if cap_sys_admin {
                        0
                    } else {
                        kb_to_pages(s.admin_reserve_kbytes)
                    };
                    let user =
                        total_vm.map_or(0, |tv| (tv / 32).min(kb_to_pages(s.user_reserve_kbytes)));
                    (admin, user)
                } else {
                    // Before 3.10: allowed = ram*ratio/100, non-root −= allowed/32, + swap, − total_vm/32.
                    let ram_part = limit - self.total_swap_pages();
                    let admin = if cap_sys_admin { 0 } else { ram_part / 32 };
                    (admin, total_vm.map_or(0, |tv| tv / 32))
                };
                let allowed = limit
                    .saturating_sub(admin_reserve)
                    .saturating_sub(user_reserve);
                (
                    committed_now < allowed,
                    CommitRule::Never {
                        limit,
                        admin_reserve,
                        user_reserve,
                        allowed,
                    },
                )
            }
        }
    }

    /// Mode 0 before 5.2: an estimate of free memory (model-spec L2.3). totalreserve_pages
    /// (zone watermarks), reclaimable slab and reclaimable kernel memory are 0 in vmlab.
    pub(super) fn guess_free(&self, pages: u64, cap_sys_admin: bool) -> (bool, CommitRule) {
        let free_pages = self.free_pages();
        let file = self.stats.file + self.stats.shmem;
        let shmem = self.stats.shmem;
        let swap_free = self.total_swap_pages() - self.stats.swap_used;
        let kernel = self.cfg.kernel;
        let s = &self.cfg.sysctls;
        let (free, admin_reserve) = if kernel.has_reserve_knobs() {
            // 3.10 – 5.1: free = NR_FREE_PAGES + NR_FILE_PAGES − NR_SHMEM + free swap (+ slab);
            // non-admin −= admin_reserve; succeed iff free > pages.
            let free = free_pages + file - shmem + swap_free;
            let admin_reserve = if cap_sys_admin {
                0
            } else {
                kb_to_pages(s.admin_reserve_kbytes)
            };
            (free.saturating_sub(admin_reserve), admin_reserve)
        } else {
            // ≤ 3.9: free = file + free swap; non-root keeps back 3 %; then add free pages.
            let mut free = file - shmem + swap_free;
            if !cap_sys_admin {
                free -= free / 32;
            }
            let mut admin_reserve = 0;
            if free <= pages {
                let mut n = free_pages;
                if !cap_sys_admin {
                    admin_reserve = n / 32;
                    n -= n / 32;
                }
                free += n;
            }
            (free, admin_reserve)
        };
        (
            free > pages,
            CommitRule::GuessFree {
                free,
                file,
                shmem,
                swap_free,
                admin_reserve,
            },
        )
    }

    /// `vm_unacct_memory`.
    pub(crate) fn unacct(&mut self, pages: u64) {
        // Committed_AS is clamped at 0 when read (percpu_counter_sum_positive); a negative
        // total would mean an uncharge without a charge, a model bug.
        debug_assert!(self.committed >= pages, "uncharging more than was charged");
        self.committed = self.committed.saturating_sub(pages);
    }
}
