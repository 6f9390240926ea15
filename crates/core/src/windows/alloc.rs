//! VirtualAlloc and VirtualFree (Learn: "VirtualAlloc function", "VirtualFree function";
//! model-spec W1, W2): every argument rule with the error it returns, reservation placement,
//! the commit charge with its job limits and the system limit (W3, W6), decommit and release.

use super::event::{CommitBlock, WinEvent};
use super::op::*;
use super::space::{Page, Region, Res, GRANULARITY};
use super::{Step, WindowsMachine};
use crate::units::PAGE_SIZE;

const VA: &str = "Learn: VirtualAlloc function; model-spec W2";
const VF: &str = "Learn: VirtualFree function; model-spec W2";

/// The protections VirtualAlloc accepts (PAGE_WRITECOPY is for views only).
fn valid_protect(p: u32) -> bool {
    matches!(
        p,
        PAGE_NOACCESS | PAGE_READONLY | PAGE_READWRITE | PAGE_EXECUTE_READWRITE
    )
}

fn page_down(x: u64) -> u64 {
    x / PAGE_SIZE * PAGE_SIZE
}

/// The end of the pages `[addr, addr + size)` touches, if it does not overflow (W1).
fn page_end(addr: u64, size: u64) -> Option<u64> {
    addr.checked_add(size)?.checked_next_multiple_of(PAGE_SIZE)
}

impl WindowsMachine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn virtual_alloc(
        &mut self,
        pid: u32,
        name: Option<&str>,
        at: Option<u64>,
        size: u64,
        t: u32,
        protect: u32,
        st: &mut Step,
    ) {
        if size == 0 {
            return st.refuse(
                Win32Error::InvalidParameter,
                "VirtualAlloc with dwSize 0",
                VA,
            );
        }
        if t & MEM_RESET != 0 {
            if t != MEM_RESET {
                return st.refuse(
                    Win32Error::InvalidParameter,
                    "MEM_RESET cannot be used with any other value",
                    VA,
                );
            }
            return self.reset(pid, at, size, st);
        }
        if t & !(MEM_COMMIT | MEM_RESERVE) != 0 || t & (MEM_COMMIT | MEM_RESERVE) == 0 {
            return st.refuse(
                Win32Error::InvalidParameter,
                "flAllocationType must be MEM_COMMIT, MEM_RESERVE or both (or MEM_RESET alone)",
                VA,
            );
        }
        if !valid_protect(protect) {
            return st.refuse(
                Win32Error::InvalidParameter,
                "flProtect is not a protection VirtualAlloc accepts",
                VA,
            );
        }
        let reserve = t & MEM_RESERVE != 0 || at.is_none();
        let commit = t & MEM_COMMIT != 0;
        if !reserve {
            // MEM_COMMIT alone at an address: the whole range must be reserved already.
            let Some(at) = at else {
                unreachable!("no address means a reservation")
            };
            let Some(end) = page_end(at, size) else {
                return st.refuse(
                    Win32Error::InvalidParameter,
                    "lpAddress + dwSize overflows",
                    VA,
                );
            };
            let start = page_down(at);
            let space = &self.procs[&pid].space;
            let Some((base, r)) = space.region_at(start) else {
                return st.refuse(
                    Win32Error::InvalidAddress,
                    "MEM_COMMIT without MEM_RESERVE outside any reservation",
                    VA,
                );
            };
            if end > base + r.size {
                return st.refuse(
                    Win32Error::InvalidAddress,
                    "MEM_COMMIT of a range that runs past its reservation",
                    VA,
                );
            }
            if self.commit_range(pid, base, start, end, protect, st) {
                st.outcome = crate::op::Outcome::Base(start);
            }
            return;
        }
        let space = &self.procs[&pid].space;
        let (base, len) = match at {
            Some(a) => {
                // W1: a reservation's address is rounded down to 64 KiB; the size covers every
                // page the byte range touches.
                let base = a / GRANULARITY * GRANULARITY;
                let Some(end) = page_end(a, size) else {
                    return st.refuse(
                        Win32Error::InvalidParameter,
                        "lpAddress + dwSize overflows",
                        VA,
                    );
                };
                if !space.is_free(base, end - base) {
                    return st.refuse(
                        Win32Error::InvalidAddress,
                        "MEM_RESERVE of pages that are not all free (\"cannot reserve a reserved page\")",
                        VA,
                    );
                }
                (base, end - base)
            }
            None => {
                let Some(len) = size.checked_next_multiple_of(PAGE_SIZE) else {
                    return st.refuse(Win32Error::InvalidParameter, "dwSize overflows", VA);
                };
                match space.find_free(len) {
                    Some(b) => (b, len),
                    None => {
                        return st.refuse(
                            Win32Error::NotEnoughMemory,
                            "no free range of the user address space is large enough (W8)",
                            "Learn: VirtualAlloc function; Memory Limits for Windows and Windows Server Releases; model-spec W2 (c), W8",
                        )
                    }
                }
            }
        };
        let p = self.procs.get_mut(&pid).expect("the process exists");
        p.space.insert(
            base,
            Region {
                size: len,
                protect,
                view: None,
                name: name.map(str::to_string),
            },
            Page::Reserved,
        );
        if let Some(n) = name {
            p.space.names.insert(n.to_string(), base);
        }
        st.ev(WinEvent::Reserved {
            base,
            size_bytes: len,
        });
        if commit && !self.commit_range(pid, base, base, base + len, protect, st) {
            // "The whole range must be compatible or nothing is allocated."
            let p = self.procs.get_mut(&pid).expect("the process exists");
            p.space.remove(base);
            st.ev(WinEvent::ReserveUndone { base });
            return;
        }
        st.outcome = crate::op::Outcome::Base(base);
    }

    /// The job limit a charge of `pages` more to process `pid` would pass, if any (W6: each
    /// job of the chain is checked, so the most restrictive wins).
    pub(crate) fn job_block(&self, pid: u32, pages: u64) -> Option<CommitBlock> {
        let usage = self.procs[&pid].private_pages;
        for j in self.job_chain(pid) {
            if j.limit_flags & JOB_OBJECT_LIMIT_PROCESS_MEMORY != 0
                && (usage + pages).saturating_mul(PAGE_SIZE) > j.process_memory_limit
            {
                return Some(CommitBlock::ProcessLimit {
                    job: j.name.clone(),
                    usage,
                    limit_bytes: j.process_memory_limit,
                });
            }
            if j.limit_flags & JOB_OBJECT_LIMIT_JOB_MEMORY != 0
                && (j.usage_pages + pages).saturating_mul(PAGE_SIZE) > j.job_memory_limit
            {
                return Some(CommitBlock::JobLimit {
                    job: j.name.clone(),
                    usage: j.usage_pages,
                    limit_bytes: j.job_memory_limit,
                });
            }
        }
        None
    }

    /// Charge `pages` to process `pid` (PrivateUsage, its jobs, its system): the job limits
    /// first, then the system commit limit with page-file growth. False (with the refusal's
    /// event and ERROR_COMMITMENT_LIMIT) when a limit says no; nothing is charged then.
    pub(crate) fn charge_private(&mut self, pid: u32, pages: u64, st: &mut Step) -> bool {
        let sys = self.procs[&pid].system;
        let before = self.systems[sys].charge;
        if pages == 0 {
            return true;
        }
        if let Some(block) = self.job_block(pid, pages) {
            st.ev(WinEvent::CommitRefused {
                pages,
                charge_before: before,
                block,
            });
            st.outcome = crate::op::Outcome::Win32(Win32Error::CommitmentLimit);
            return false;
        }
        if !self.charge_system(sys, pages, st) {
            return false;
        }
        self.private_delta(pid, pages, 0);
        true
    }

    /// Charge `pages` to system `sys` alone (a section's pages), growing its page file.
    pub(crate) fn charge_system(&mut self, sys: usize, pages: u64, st: &mut Step) -> bool {
        let s = &mut self.systems[sys];
        let before = s.charge;
        let mut ev = Vec::new();
        let ok = s.try_charge(pages, &mut ev);
        for e in ev {
            st.ev(e);
        }
        if !ok {
            let s = &self.systems[sys];
            st.ev(WinEvent::CommitRefused {
                pages,
                charge_before: before,
                block: CommitBlock::System {
                    limit: s.limit(),
                    max_limit: s.max_limit(),
                },
            });
            st.outcome = crate::op::Outcome::Win32(Win32Error::CommitmentLimit);
        }
        ok
    }

    /// Commit `[start, end)` of the allocation at `base`: its reserved pages are charged and
    /// become committed (idempotent: committed pages are not charged again).
    pub(crate) fn commit_range(
        &mut self,
        pid: u32,
        base: u64,
        start: u64,
        end: u64,
        protect: u32,
        st: &mut Step,
    ) -> bool {
        if self.procs[&pid].space.regions[&base].view.is_some() {
            return self.commit_view(pid, base, start, end, st);
        }
        let (a, b) = (start / PAGE_SIZE, end / PAGE_SIZE);
        let space = &self.procs[&pid].space;
        let new: u64 = space
            .pages
            .range(a, b)
            .filter(|(_, _, v)| *v == Page::Reserved)
            .map(|(_, l, _)| l)
            .sum();
        let sys = self.procs[&pid].system;
        let before = self.systems[sys].charge;
        if !self.charge_private(pid, new, st) {
            return false;
        }
        let p = self.procs.get_mut(&pid).expect("the process exists");
        p.space.pages.update(a, b, |_, _, v| match v {
            Page::Reserved => Page::Committed {
                res: Res::Untouched,
                protect,
            },
            other => *other,
        });
        st.ev(WinEvent::Committed {
            base: start,
            new_pages: new,
            already: (b - a) - new,
            charge_before: before,
            limit: self.systems[sys].limit(),
            shared: false,
        });
        true
    }

    /// MEM_RESET: committed pages keep their charge and lose their contents (W2).
    fn reset(&mut self, pid: u32, at: Option<u64>, size: u64, st: &mut Step) {
        let Some(at) = at else {
            return st.refuse(
                Win32Error::InvalidParameter,
                "MEM_RESET needs lpAddress",
                VA,
            );
        };
        let Some(end) = page_end(at, size) else {
            return st.refuse(
                Win32Error::InvalidParameter,
                "lpAddress + dwSize overflows",
                VA,
            );
        };
        let start = page_down(at);
        let Some((base, r)) = self.procs[&pid].space.region_at(start) else {
            return st.refuse(
                Win32Error::InvalidAddress,
                "MEM_RESET outside any allocation",
                VA,
            );
        };
        if end > base + r.size || r.view.is_some() {
            return st.refuse(
                Win32Error::InvalidAddress,
                "MEM_RESET of a range that is not inside one private allocation",
                VA,
            );
        }
        let sys = self.procs[&pid].system;
        let mut freed = (0, 0);
        let p = self.procs.get_mut(&pid).expect("the process exists");
        p.space
            .pages
            .update(start / PAGE_SIZE, end / PAGE_SIZE, |_, l, v| match *v {
                Page::Committed { res, protect } => {
                    match res {
                        Res::Resident(_) => freed.0 += l,
                        Res::PagedOut => freed.1 += l,
                        Res::Untouched => {}
                    }
                    Page::Committed {
                        res: Res::Untouched,
                        protect,
                    }
                }
                other => other,
            });
        let s = &mut self.systems[sys];
        s.resident -= freed.0;
        s.paged -= freed.1;
        st.ev(WinEvent::Reset {
            pages: freed.0 + freed.1,
        });
        st.outcome = crate::op::Outcome::Base(start);
    }

    pub(crate) fn virtual_free(&mut self, pid: u32, at: u64, size: u64, t: u32, st: &mut Step) {
        if t != MEM_DECOMMIT && t != MEM_RELEASE {
            return st.refuse(
                Win32Error::InvalidParameter,
                "dwFreeType must be MEM_DECOMMIT or MEM_RELEASE, not both",
                VF,
            );
        }
        if t == MEM_RELEASE {
            if size != 0 {
                return st.refuse(
                    Win32Error::InvalidParameter,
                    "MEM_RELEASE needs dwSize 0: a reservation is released whole",
                    VF,
                );
            }
            let Some(r) = self.procs[&pid].space.regions.get(&at) else {
                return st.refuse(
                    Win32Error::InvalidAddress,
                    "MEM_RELEASE needs the base address VirtualAlloc returned",
                    VF,
                );
            };
            if r.view.is_some() {
                return st.refuse(
                    Win32Error::InvalidParameter,
                    "a view is unmapped with UnmapViewOfFile, not released",
                    "Learn: VirtualFree function; MapViewOfFile function; model-spec W7",
                );
            }
            let size_bytes = r.size;
            let uncharged = self.drop_region(pid, at);
            st.ev(WinEvent::Released {
                base: at,
                size_bytes,
                uncharged,
            });
            return;
        }
        let space = &self.procs[&pid].space;
        let (start, end) = if size == 0 {
            match space.regions.get(&at) {
                Some(r) => (at, at + r.size),
                None => {
                    return st.refuse(
                        Win32Error::InvalidAddress,
                        "MEM_DECOMMIT with dwSize 0 needs the base of an allocation",
                        VF,
                    )
                }
            }
        } else {
            let Some(end) = page_end(at, size) else {
                return st.refuse(
                    Win32Error::InvalidParameter,
                    "lpAddress + dwSize overflows",
                    VF,
                );
            };
            (page_down(at), end)
        };
        let Some((base, r)) = space.region_at(start) else {
            return st.refuse(
                Win32Error::InvalidAddress,
                "MEM_DECOMMIT outside any allocation",
                VF,
            );
        };
        // A range that runs past its allocation is STATUS_UNABLE_TO_FREE_VM, which
        // RtlNtStatusToDosError maps to ERROR_INVALID_PARAMETER (87): ReactOS's
        // NtFreeVirtualMemory apitest, written against Windows, expects that status for a free
        // range over two allocations, and Wine 8.0 returns 87 for a decommit past the end
        // (docs/known-differences.md, "Windows backend under Wine 8.0").
        if end > base + r.size {
            return st.refuse(
                Win32Error::InvalidParameter,
                "MEM_DECOMMIT of a range that runs past its allocation (STATUS_UNABLE_TO_FREE_VM)",
                "ReactOS modules/rostests/apitests/ntdll/NtFreeVirtualMemory.c and \
                 NtAllocateVirtualMemory.c (STATUS_UNABLE_TO_FREE_VM for a range over two \
                 allocations); Learn: VirtualFree function; model-spec W2",
            );
        }
        if r.view.is_some() {
            return st.refuse(
                Win32Error::InvalidParameter,
                "pages of a view cannot be decommitted with VirtualFree",
                "Learn: CreateFileMapping function (SEC_RESERVE); model-spec W7",
            );
        }
        let (pages, uncharged) = self.decommit_pages(pid, start / PAGE_SIZE, end / PAGE_SIZE);
        st.ev(WinEvent::Decommitted {
            base: start,
            pages,
            uncharged,
        });
    }

    /// Committed private pages of `[a, b)` become reserved; their RAM, page-file slots and
    /// charge are released. Returns (pages in the range, pages uncharged).
    fn decommit_pages(&mut self, pid: u32, a: u64, b: u64) -> (u64, u64) {
        let sys = self.procs[&pid].system;
        let mut n = 0;
        let (mut res, mut paged) = (0, 0);
        let p = self.procs.get_mut(&pid).expect("the process exists");
        p.space.pages.update(a, b, |_, l, v| match *v {
            Page::Committed { res: r, .. } => {
                n += l;
                match r {
                    Res::Resident(_) => res += l,
                    Res::PagedOut => paged += l,
                    Res::Untouched => {}
                }
                Page::Reserved
            }
            other => other,
        });
        let s = &mut self.systems[sys];
        s.resident -= res;
        s.paged -= paged;
        s.uncharge(n);
        self.private_delta(pid, 0, n);
        (b - a, n)
    }

    /// Remove a private allocation whole; returns the pages uncharged.
    pub(crate) fn drop_region(&mut self, pid: u32, base: u64) -> u64 {
        let size = self.procs[&pid].space.regions[&base].size;
        let (_, n) = self.decommit_pages(pid, base / PAGE_SIZE, (base + size) / PAGE_SIZE);
        let p = self.procs.get_mut(&pid).expect("the process exists");
        p.space.remove(base);
        n
    }
}
