//! Pagefile-backed sections and their views (Learn: "CreateFileMapping function",
//! "MapViewOfFile function"; model-spec W7): SEC_COMMIT charges the whole section at creation,
//! once however many views; SEC_RESERVE charges pages as VirtualAlloc commits them through a
//! view; a FILE_MAP_COPY view is charged whole, to the system and to the process, when mapped.
//! Sections live as long as the machine (the model has no CloseHandle).

use super::event::{WinEvent, WinFault};
use super::op::*;
use super::space::{Page, Region, Res, ViewOf};
use super::{Owner, Step, WindowsMachine};
use crate::runmap::{RunMap, RunValue};
use crate::units::PAGE_SIZE;
use std::collections::BTreeSet;

const CFM: &str = "Learn: CreateFileMapping function; model-spec W7";
const MVF: &str = "Learn: MapViewOfFile function; model-spec W7";

/// One page of a section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SPage {
    Reserved,
    Committed(Res),
}

impl RunValue for SPage {
    fn advance(&self, _: u64) -> Self {
        *self
    }
}

#[derive(Clone, Debug)]
pub struct Section {
    pub name: String,
    pub system: usize,
    pub pages_total: u64,
    /// SEC_RESERVE (else SEC_COMMIT).
    pub reserve: bool,
    pub pages: RunMap<SPage>,
    /// Pages charged for it: all of them for SEC_COMMIT, the committed ones for SEC_RESERVE.
    pub charged: u64,
    /// Its views: (pid, view base).
    pub views: BTreeSet<(u32, u64)>,
}

impl WindowsMachine {
    pub(crate) fn create_section(
        &mut self,
        pid: u32,
        name: &str,
        size: u64,
        _protect: u32,
        attributes: u32,
        st: &mut Step,
    ) {
        // Learn, CreateFileMappingW: "If the object exists before the function call, the
        // function returns a handle to the existing object (with its current size, not the
        // specified size), and GetLastError returns ERROR_ALREADY_EXISTS."
        if self.sections.contains_key(name) {
            return st.ev(WinEvent::OpenedExisting {
                what: "section",
                name: name.to_string(),
                source: "Learn: CreateFileMappingW function (\"returns a handle to the existing \
                         object\"); Wine 8.0 does the same",
            });
        }
        if size == 0 || (attributes != SEC_COMMIT && attributes != SEC_RESERVE) {
            return st.refuse(
                Win32Error::InvalidParameter,
                "a pagefile-backed section needs a size and SEC_COMMIT or SEC_RESERVE",
                CFM,
            );
        }
        let pages_total = size.div_ceil(PAGE_SIZE);
        let reserve = attributes == SEC_RESERVE;
        let sys = self.procs[&pid].system;
        let charged = if reserve { 0 } else { pages_total };
        // SEC_COMMIT: "the system must have enough committable pages to hold the entire
        // mapping. Otherwise, CreateFileMapping fails."
        if charged > 0 && !self.charge_system(sys, charged, st) {
            return;
        }
        let mut pages = RunMap::new();
        pages.set(
            0,
            pages_total,
            if reserve {
                SPage::Reserved
            } else {
                SPage::Committed(Res::Untouched)
            },
        );
        self.sections.insert(
            name.into(),
            Section {
                name: name.into(),
                system: sys,
                pages_total,
                reserve,
                pages,
                charged,
                views: BTreeSet::new(),
            },
        );
        st.ev(WinEvent::SectionCreated {
            name: name.into(),
            pages: pages_total,
            charged,
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn map_view(
        &mut self,
        pid: u32,
        name: &str,
        section: &str,
        access: u32,
        offset: u64,
        size: u64,
        st: &mut Step,
    ) {
        let sec = &self.sections[section];
        let total = sec.pages_total * PAGE_SIZE;
        if !offset.is_multiple_of(super::space::GRANULARITY) || offset >= total {
            return st.refuse(
                Win32Error::InvalidParameter,
                "the view's offset must be a multiple of 64 KiB inside the section",
                MVF,
            );
        }
        let len = if size == 0 { total - offset } else { size };
        if len > total - offset {
            return st.refuse(
                Win32Error::AccessDenied,
                "the view runs past the end of the section",
                MVF,
            );
        }
        if sec.system != self.procs[&pid].system {
            return st.refuse(
                Win32Error::AccessDenied,
                "the section lives on another system (a Hyper-V container's VM has its own)",
                MVF,
            );
        }
        let copy = access & FILE_MAP_COPY != 0;
        let pages = len.div_ceil(PAGE_SIZE);
        let Some(base) = self.procs[&pid].space.find_free(pages * PAGE_SIZE) else {
            return st.refuse(
                Win32Error::NotEnoughMemory,
                "no free range of the user address space is large enough for the view",
                MVF,
            );
        };
        // W7: "the system and process commit charge taken is for the entire view".
        let charged = if copy { pages } else { 0 };
        if copy && !self.charge_private(pid, charged, st) {
            return;
        }
        let p = self.procs.get_mut(&pid).expect("exists");
        p.space.insert(
            base,
            Region {
                size: pages * PAGE_SIZE,
                protect: if copy { PAGE_WRITECOPY } else { PAGE_READWRITE },
                view: Some(ViewOf {
                    section: section.into(),
                    offset,
                    copy,
                }),
                name: Some(name.into()),
            },
            Page::Mapped { in_ws: false },
        );
        p.space.names.insert(name.into(), base);
        self.sections
            .get_mut(section)
            .expect("exists")
            .views
            .insert((pid, base));
        st.ev(WinEvent::ViewMapped {
            base,
            pages,
            charged,
        });
        st.outcome = crate::op::Outcome::Base(base);
    }

    pub(crate) fn unmap_view(&mut self, pid: u32, at: u64, st: &mut Step) {
        let is_view = self.procs[&pid]
            .space
            .regions
            .get(&at)
            .is_some_and(|r| r.view.is_some());
        if !is_view {
            return st.refuse(
                Win32Error::InvalidAddress,
                "UnmapViewOfFile needs the base address MapViewOfFile returned",
                "Learn: UnmapViewOfFile function",
            );
        }
        let uncharged = self.drop_view(pid, at);
        st.ev(WinEvent::ViewUnmapped {
            base: at,
            uncharged,
        });
    }

    /// Remove a view; a copy-on-write view's charge and private copies go with it.
    pub(crate) fn drop_view(&mut self, pid: u32, base: u64) -> u64 {
        let sys = self.procs[&pid].system;
        let p = self.procs.get_mut(&pid).expect("exists");
        let (r, runs) = p.space.remove(base);
        let view = r.view.expect("a view");
        let (mut res, mut paged) = (0, 0);
        for (_, l, v) in runs {
            if let Page::Copied { res: x } = v {
                match x {
                    Res::Resident(_) => res += l,
                    Res::PagedOut => paged += l,
                    Res::Untouched => {}
                }
            }
        }
        let s = &mut self.systems[sys];
        s.resident -= res;
        s.paged -= paged;
        let charged = if view.copy { r.size / PAGE_SIZE } else { 0 };
        s.uncharge(charged);
        self.private_delta(pid, 0, charged);
        if let Some(sec) = self.sections.get_mut(&view.section) {
            sec.views.remove(&(pid, base));
        }
        charged
    }

    /// MEM_COMMIT inside a view: a SEC_RESERVE section's pages are committed and charged to
    /// the section; anything else is committed already.
    pub(crate) fn commit_view(
        &mut self,
        pid: u32,
        base: u64,
        start: u64,
        end: u64,
        st: &mut Step,
    ) -> bool {
        let view = self.procs[&pid].space.regions[&base]
            .view
            .clone()
            .expect("a view");
        let sec = &self.sections[&view.section];
        let sys = sec.system;
        let a = (view.offset + start - base) / PAGE_SIZE;
        let b = a + (end - start) / PAGE_SIZE;
        let new: u64 = sec
            .pages
            .range(a, b)
            .filter(|(_, _, v)| *v == SPage::Reserved)
            .map(|(_, l, _)| l)
            .sum();
        let before = self.systems[sys].charge;
        if view.copy || new == 0 {
            st.ev(WinEvent::Committed {
                base: start,
                new_pages: 0,
                already: b - a,
                charge_before: before,
                limit: self.systems[sys].limit(),
                shared: true,
            });
            return true;
        }
        if !self.charge_system(sys, new, st) {
            return false;
        }
        let sec = self.sections.get_mut(&view.section).expect("exists");
        sec.pages.update(a, b, |_, _, v| match v {
            SPage::Reserved => SPage::Committed(Res::Untouched),
            other => *other,
        });
        sec.charged += new;
        st.ev(WinEvent::Committed {
            base: start,
            new_pages: new,
            already: (b - a) - new,
            charge_before: before,
            limit: self.systems[sys].limit(),
            shared: true,
        });
        true
    }

    /// Touch `n` pages of a view (process page `vpage`, section page `spage`): committed
    /// section pages are faulted in and join this working set. Returns how many pages were
    /// committed in the section (a reserved one stops the touch), or None for none.
    pub(crate) fn fault_section(
        &mut self,
        pid: u32,
        section: &str,
        spage: u64,
        vpage: u64,
        n: u64,
        st: &mut Step,
    ) -> Option<u64> {
        let sys = self.sections[section].system;
        let runs: Vec<(u64, u64, SPage)> = self.sections[section]
            .pages
            .range(spage, spage + n)
            .collect();
        let mut done = 0;
        let (mut dz, mut hard, mut soft) = (0, 0, 0);
        for (s, l, v) in runs {
            if s != spage + done {
                break;
            }
            match v {
                SPage::Reserved => break,
                SPage::Committed(Res::Resident(_)) => soft += l,
                SPage::Committed(res) => {
                    self.frames(sys, l, st);
                    let seq = self.new_seq();
                    let sec = self.sections.get_mut(section).expect("exists");
                    sec.pages.set(s, l, SPage::Committed(Res::Resident(seq)));
                    let sy = &mut self.systems[sys];
                    sy.resident += l;
                    if res == Res::PagedOut {
                        sy.paged -= l;
                        hard += l;
                    } else {
                        dz += l;
                    }
                    self.log_fault(sys, Owner::Section(section.into()), s, l, seq);
                }
            }
            let p = self.procs.get_mut(&pid).expect("exists");
            p.space
                .pages
                .set(vpage + done, l, Page::Mapped { in_ws: true });
            p.page_faults += l;
            p.peak_ws_pages = p.peak_ws_pages.max(p.ws_pages());
            done += l;
        }
        for (pages, kind) in [
            (dz, WinFault::DemandZero),
            (hard, WinFault::FromPagefile),
            (soft, WinFault::SharedSoft),
        ] {
            if pages > 0 {
                st.ev(WinEvent::Fault { pages, kind });
            }
        }
        (done > 0).then_some(done)
    }

    /// Section pages `[s, s + k)` went to the page file: they leave every view's working set.
    pub(crate) fn leave_working_sets(&mut self, views: &BTreeSet<(u32, u64)>, s: u64, k: u64) {
        for &(pid, base) in views {
            let p = self.procs.get_mut(&pid).expect("a view's process exists");
            let r = &p.space.regions[&base];
            let view = r.view.as_ref().expect("a view");
            let first = view.offset / PAGE_SIZE;
            let last = first + r.size / PAGE_SIZE;
            let (a, b) = (s.max(first), (s + k).min(last));
            if a >= b {
                continue;
            }
            let va = base / PAGE_SIZE + (a - first);
            let vb = va + (b - a);
            p.space.pages.update(va, vb, |_, _, v| match v {
                Page::Mapped { .. } => Page::Mapped { in_ws: false },
                other => *other,
            });
        }
    }
}
