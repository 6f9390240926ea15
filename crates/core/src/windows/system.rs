//! One system's memory: RAM, the page file, the commit charge and its limit (model-spec W3).
//! The host is one system; a Hyper-V container's utility VM is another, with RAM, a page file
//! and a base of its own, so the APIs inside it report the VM (W5, the seed).
//!
//! The limit is RAM + the page file's current size (Windows Internals 6th ed. ch. 10; the model
//! keeps no RAM for the kernel, docs/known-differences.md). Growth, as W3's algorithm states it:
//! a commit that would pass the limit grows the file to cover it when the maximum and the disk
//! allow, else it fails; after a granted charge above 90 % of the limit the file grows until the
//! charge is at 90 % again (capped by the maximum). How far Windows grows in one step is not
//! documented: this step is the model's choice.

use super::event::{GrowWhy, WinEvent};
use super::Owner;
use crate::config::WindowsConfig;
use crate::units::PAGE_SIZE;
use std::collections::BTreeMap;

/// A run of pages faulted in together, in the system's trim order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRun {
    pub owner: Owner,
    pub start: u64,
    pub len: u64,
}

#[derive(Clone, Debug)]
pub struct System {
    /// "host", or "Hyper-V VM of container `c`".
    pub label: String,
    pub ram_pages: u64,
    pub pagefile_pages: u64,
    pub pagefile_max_pages: u64,
    /// The system commit charge (CommitTotal), pages.
    pub charge: u64,
    /// CommitPeak.
    pub peak: u64,
    /// Pages in RAM (working sets, section pages, the VM's base).
    pub resident: u64,
    /// Pages in the page file.
    pub paged: u64,
    /// Pages the system itself holds, charged and resident (a utility VM's base).
    pub base: u64,
    /// Faulted runs, oldest first: the order working sets are trimmed in.
    pub fifo: BTreeMap<u64, FaultRun>,
}

impl System {
    pub fn host(cfg: &WindowsConfig) -> Self {
        System {
            label: "host".into(),
            ram_pages: cfg.ram_bytes / PAGE_SIZE,
            pagefile_pages: cfg.pagefile_initial_bytes() / PAGE_SIZE,
            pagefile_max_pages: cfg.pagefile_max_bytes() / PAGE_SIZE,
            charge: 0,
            peak: 0,
            resident: 0,
            paged: 0,
            base: 0,
            fifo: BTreeMap::new(),
        }
    }

    /// CommitLimit: RAM + the page file's current size.
    pub fn limit(&self) -> u64 {
        self.ram_pages + self.pagefile_pages
    }

    /// The limit with the page file at its maximum.
    pub fn max_limit(&self) -> u64 {
        self.ram_pages + self.pagefile_max_pages.max(self.pagefile_pages)
    }

    pub fn free_ram(&self) -> u64 {
        assert!(
            self.resident <= self.ram_pages,
            "more resident pages than RAM"
        );
        self.ram_pages - self.resident
    }

    /// Whether `pages` more can be charged, growing the page file on demand (W3).
    pub fn try_charge(&mut self, pages: u64, events: &mut Vec<WinEvent>) -> bool {
        let want = self.charge + pages;
        if want > self.limit() {
            if want > self.max_limit() {
                return false;
            }
            let from = self.pagefile_pages;
            self.pagefile_pages = want - self.ram_pages;
            events.push(WinEvent::PagefileGrown {
                from,
                to: self.pagefile_pages,
                why: GrowWhy::Demand,
            });
        }
        self.charge = want;
        self.peak = self.peak.max(self.charge);
        // W3: above 90 % of the limit the file grows, up to its maximum.
        if self.charge * 10 > self.limit() * 9 && self.pagefile_pages < self.pagefile_max_pages {
            let target = (self.charge * 10).div_ceil(9);
            let to = (target - self.ram_pages.min(target)).min(self.pagefile_max_pages);
            if to > self.pagefile_pages {
                events.push(WinEvent::PagefileGrown {
                    from: self.pagefile_pages,
                    to,
                    why: GrowWhy::Threshold,
                });
                self.pagefile_pages = to;
            }
        }
        true
    }

    pub fn uncharge(&mut self, pages: u64) {
        assert!(
            self.charge >= pages,
            "uncharging more than the commit charge"
        );
        self.charge -= pages;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PagefileConfig;
    use crate::units::GIB;

    fn sys(init: u64, max: u64) -> System {
        let mut c = WindowsConfig::new(4 * GIB);
        c.pagefile = PagefileConfig::Sized {
            initial_bytes: init,
            max_bytes: max,
        };
        System::host(&c)
    }

    #[test]
    fn a_commit_past_the_limit_grows_the_page_file_to_cover_it() {
        let mut s = sys(GIB, 2 * GIB);
        let mut ev = Vec::new();
        let gib = GIB / PAGE_SIZE;
        assert!(s.try_charge(4 * gib, &mut ev));
        assert!(ev.is_empty(), "80% of the limit: no growth");
        // 4.6 GiB of 5: above 90 %, the file grows to put the charge at 90 % again.
        assert!(s.try_charge(gib * 6 / 10, &mut ev));
        assert_eq!(ev.len(), 1);
        assert!(s.charge * 10 <= s.limit() * 9);
        // Past the maximum (6 GiB): refused, nothing charged.
        let before = s.charge;
        assert!(!s.try_charge(2 * gib, &mut ev));
        assert_eq!(s.charge, before);
        assert!(s.try_charge(s.max_limit() - s.charge, &mut ev));
        assert_eq!(s.pagefile_pages, 2 * gib);
    }

    #[test]
    fn system_managed_sizes_follow_w3() {
        let mut c = WindowsConfig::new(16 * GIB);
        c.pagefile = PagefileConfig::SystemManaged;
        c.disk_bytes = 1 << 40;
        assert_eq!(c.pagefile_initial_bytes(), 2 * GIB);
        assert_eq!(c.pagefile_max_bytes(), 48 * GIB);
        // Volume size ÷ 8 caps it.
        c.disk_bytes = 128 * GIB;
        assert_eq!(c.pagefile_max_bytes(), 16 * GIB);
        let small = WindowsConfig {
            pagefile: PagefileConfig::SystemManaged,
            ..WindowsConfig::new(GIB)
        };
        assert_eq!(small.pagefile_max_bytes(), 4 * GIB);
    }
}
