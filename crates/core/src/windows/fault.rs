//! Touches (Learn: "Working Set"; model-spec W2, W4): a first touch of a committed page is a
//! demand-zero fault into the working set, a touch of a page in the page file a hard fault, a
//! touch of a page that is not committed an access violation that ends the process.
//!
//! When RAM is short, pages leave working sets for the page file in the order they were faulted
//! in, oldest first, across the system (the model's deterministic stand-in for the working-set
//! manager's ageing, docs/model.md). A process above its job's MaximumWorkingSetSize loses its
//! own oldest private pages the same way.

use super::event::{TrimWhy, WinEvent, WinFault};
use super::op::{Win32Error, JOB_OBJECT_LIMIT_WORKINGSET};
use super::space::{Page, Res};
use super::system::FaultRun;
use super::{Owner, Step, WindowsMachine};
use crate::machine::ProcState;
use crate::units::PAGE_SIZE;

/// One event per kind of private fault a touch made: demand-zero, from the page file, copy on
/// write.
fn fault_events(st: &mut Step, [dz, hard, cow]: [u64; 3]) {
    for (pages, kind) in [
        (dz, WinFault::DemandZero),
        (hard, WinFault::FromPagefile),
        (cow, WinFault::CopyOnWrite),
    ] {
        if pages > 0 {
            st.ev(WinEvent::Fault { pages, kind });
        }
    }
}

impl WindowsMachine {
    pub(crate) fn touch(&mut self, pid: u32, at: u64, size: u64, write: bool, st: &mut Step) {
        let a = at / PAGE_SIZE;
        let b = at.saturating_add(size).div_ceil(PAGE_SIZE);
        let mut page = a;
        let (mut dz, mut hard, mut cow) = (0, 0, 0);
        while page < b {
            let space = &self.procs[&pid].space;
            let Some((rbase, r)) = space.region_at(page * PAGE_SIZE) else {
                return self.violation_after(pid, page, [dz, hard, cow], st);
            };
            let Some((_, left, v)) = space.pages.get(page) else {
                return self.violation_after(pid, page, [dz, hard, cow], st);
            };
            // Equal runs of neighbouring allocations coalesce: stop at this one's end. A touch
            // larger than RAM faults at most RAM's worth at a time, so that the pages it brought
            // in first can leave for the page file as the rest come in (the working-set manager
            // trims a faulting process's own oldest pages too).
            let ram = self.systems[self.procs[&pid].system].ram_pages;
            let mut n = left
                .min(b - page)
                .min((rbase + r.size) / PAGE_SIZE - page)
                .min(ram);
            match v {
                Page::Reserved => return self.violation_after(pid, page, [dz, hard, cow], st),
                Page::Committed { res, .. } | Page::Copied { res } => {
                    if !matches!(res, Res::Resident(_)) {
                        self.fault_private(pid, page, n, st);
                        if res == Res::Untouched {
                            dz += n
                        } else {
                            hard += n
                        }
                    }
                }
                Page::Mapped { .. } => {
                    let view = r.view.clone().expect("a mapped page is in a view");
                    let spage = (view.offset + page * PAGE_SIZE - rbase) / PAGE_SIZE;
                    if write && view.copy {
                        // A private copy of committed section pages, covered by the view's
                        // charge (W7); a reserved section page is an access violation.
                        let first_reserved = self.sections[&view.section]
                            .pages
                            .range(spage, spage + n)
                            .find(|(_, _, v)| *v == super::section::SPage::Reserved)
                            .map(|(s, _, _)| s - spage);
                        match first_reserved {
                            Some(0) => return self.violation_after(pid, page, [dz, hard, cow], st),
                            // Up to the reserved page; the loop meets it next.
                            Some(k) => n = k,
                            None => {}
                        }
                        let seq = self.fault_private(pid, page, n, st);
                        let p = self.procs.get_mut(&pid).expect("exists");
                        p.space.pages.set(
                            page,
                            n,
                            Page::Copied {
                                res: Res::Resident(seq),
                            },
                        );
                        cow += n;
                    } else {
                        let Some(done) = self.fault_section(pid, &view.section, spage, page, n, st)
                        else {
                            return self.violation_after(pid, page, [dz, hard, cow], st);
                        };
                        if done < n {
                            return self.violation_after(pid, page + done, [dz, hard, cow], st);
                        }
                    }
                }
            }
            page += n;
        }
        fault_events(st, [dz, hard, cow]);
        let p = self.procs.get_mut(&pid).expect("exists");
        p.peak_ws_pages = p.peak_ws_pages.max(p.ws_pages());
        self.enforce_ws_max(pid, st);
    }

    /// The pages faulted before a touch met a page it may not access, then the violation.
    fn violation_after(&mut self, pid: u32, page: u64, faulted: [u64; 3], st: &mut Step) {
        fault_events(st, faulted);
        self.violation(pid, page, st);
    }

    fn violation(&mut self, pid: u32, page: u64, st: &mut Step) {
        let address = page * PAGE_SIZE;
        st.ev(WinEvent::AccessViolation { address });
        st.outcome = crate::op::Outcome::Win32(Win32Error::AccessViolation);
        st.ev(WinEvent::ProcessCrashed { address });
        self.exit(pid, ProcState::Killed, st);
    }

    /// `n` frames of system `sys`, trimming the oldest faulted runs to the page file if RAM is
    /// short. The commit limit guarantees the page file has room (resident + paged ≤ charge ≤
    /// RAM + page file), so this cannot fail.
    pub(crate) fn frames(&mut self, sys: usize, n: u64, st: &mut Step) {
        let short = n.saturating_sub(self.systems[sys].free_ram());
        if short == 0 {
            return;
        }
        let mut trimmed = 0;
        while trimmed < short {
            let (seq, run) = {
                let f = &self.systems[sys].fifo;
                let (&seq, run) = f.iter().next().expect(
                    "RAM is short but nothing is trimmable: resident + paged exceeds the commit limit",
                );
                (seq, run.clone())
            };
            trimmed += self.trim_run(sys, seq, run, short - trimmed);
        }
        st.ev(WinEvent::Trimmed {
            pages: trimmed,
            why: TrimWhy::RamShort,
        });
    }

    /// Trim up to `want` resident pages of one faulted run; the rest of the run keeps its
    /// place. Returns the pages trimmed.
    fn trim_run(&mut self, sys: usize, seq: u64, run: FaultRun, want: u64) -> u64 {
        self.systems[sys].fifo.remove(&seq);
        self.owner_runs.remove(&(run.owner.clone(), seq));
        let (start, end) = (run.start, run.start + run.len);
        let mut done = 0;
        let mut stop = end;
        match &run.owner {
            Owner::Proc(pid) => {
                let p = self.procs.get_mut(pid).expect("a run's process exists");
                let runs: Vec<(u64, u64, Page)> = p.space.pages.range(start, end).collect();
                for (s, l, v) in runs {
                    if done == want {
                        stop = s;
                        break;
                    }
                    let k = l.min(want - done);
                    // Only pages this fault brought in: a page decommitted and faulted again
                    // since belongs to its later run.
                    let new = match v {
                        Page::Committed {
                            res: Res::Resident(s),
                            protect,
                        } if s == seq => Page::Committed {
                            res: Res::PagedOut,
                            protect,
                        },
                        Page::Copied {
                            res: Res::Resident(s),
                        } if s == seq => Page::Copied { res: Res::PagedOut },
                        _ => continue,
                    };
                    p.space.pages.set(s, k, new);
                    done += k;
                    if k < l {
                        stop = s + k;
                        break;
                    }
                }
            }
            Owner::Section(name) => {
                let runs: Vec<(u64, u64, super::section::SPage)> =
                    self.sections[name].pages.range(start, end).collect();
                let views = self.sections[name].views.clone();
                for (s, l, v) in runs {
                    if done == want {
                        stop = s;
                        break;
                    }
                    if v != super::section::SPage::Committed(Res::Resident(seq)) {
                        continue;
                    }
                    let k = l.min(want - done);
                    let sec = self.sections.get_mut(name).expect("a run's section exists");
                    sec.pages
                        .set(s, k, super::section::SPage::Committed(Res::PagedOut));
                    done += k;
                    self.leave_working_sets(&views, s, k);
                    if k < l {
                        stop = s + k;
                        break;
                    }
                }
            }
        }
        let s = &mut self.systems[sys];
        s.resident -= done;
        s.paged += done;
        if stop < end {
            // The untrimmed rest keeps its age.
            s.fifo.insert(
                seq,
                FaultRun {
                    owner: run.owner.clone(),
                    start: stop,
                    len: end - stop,
                },
            );
            self.owner_runs.insert((run.owner, seq));
        }
        done
    }

    /// The next fault's number in the trim order.
    pub(crate) fn new_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Record a faulted run (fault `seq`) in its system's trim order.
    pub(crate) fn log_fault(&mut self, sys: usize, owner: Owner, start: u64, len: u64, seq: u64) {
        self.systems[sys].fifo.insert(
            seq,
            FaultRun {
                owner: owner.clone(),
                start,
                len,
            },
        );
        self.owner_runs.insert((owner, seq));
    }

    /// Fault `n` private pages of `pid` from `page` into RAM (demand-zero or from the page
    /// file); returns the fault's number in the trim order.
    fn fault_private(&mut self, pid: u32, page: u64, n: u64, st: &mut Step) -> u64 {
        let sys = self.procs[&pid].system;
        self.frames(sys, n, st);
        let seq = self.new_seq();
        let p = self.procs.get_mut(&pid).expect("exists");
        let mut from_pf = 0;
        p.space.pages.update(page, page + n, |_, l, v| match *v {
            Page::Committed { res, protect } => {
                if res == Res::PagedOut {
                    from_pf += l;
                }
                Page::Committed {
                    res: Res::Resident(seq),
                    protect,
                }
            }
            Page::Copied { res } => {
                if res == Res::PagedOut {
                    from_pf += l;
                }
                Page::Copied {
                    res: Res::Resident(seq),
                }
            }
            other => other,
        });
        p.page_faults += n;
        let s = &mut self.systems[sys];
        s.resident += n;
        s.paged -= from_pf;
        self.log_fault(sys, Owner::Proc(pid), page, n, seq);
        let p = self.procs.get_mut(&pid).expect("exists");
        p.peak_ws_pages = p.peak_ws_pages.max(p.ws_pages());
        seq
    }

    /// A process above its jobs' MaximumWorkingSetSize trims its own oldest private pages.
    fn enforce_ws_max(&mut self, pid: u32, st: &mut Step) {
        if self.procs[&pid].state != ProcState::Running {
            return;
        }
        let max = self
            .job_chain(pid)
            .iter()
            .filter(|j| j.limit_flags & JOB_OBJECT_LIMIT_WORKINGSET != 0)
            .map(|j| j.max_working_set / PAGE_SIZE)
            .min();
        let Some(max) = max else { return };
        let sys = self.procs[&pid].system;
        let mut trimmed = 0;
        let room_before = self.systems[sys].pagefile_pages - self.systems[sys].paged;
        let mut kept = 0;
        while self.procs[&pid].ws_pages() > max {
            // A trimmed private page goes to the page file: only as many as it has room for.
            // The rest stays in the working set (docs/windows.md "The working-set limit
            // without page-file room"): the model has no modified list to hold them.
            let room = self.systems[sys].pagefile_pages - self.systems[sys].paged;
            let over = self.procs[&pid].ws_pages() - max;
            if room == 0 {
                kept = over;
                break;
            }
            let over = over.min(room);
            let Some((_, seq)) = self
                .owner_runs
                .range((Owner::Proc(pid), 0)..=(Owner::Proc(pid), u64::MAX))
                .next()
                .cloned()
            else {
                break;
            };
            let run = self.systems[sys].fifo[&seq].clone();
            trimmed += self.trim_run(sys, seq, run, over);
        }
        if trimmed > 0 {
            st.ev(WinEvent::Trimmed {
                pages: trimmed,
                why: TrimWhy::WorkingSetMax,
            });
        }
        if kept > 0 {
            st.ev(WinEvent::WorkingSetKept {
                pages: kept,
                room: room_before,
            });
        }
    }
}
