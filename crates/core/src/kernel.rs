//! Kernel versions and the behaviour eras they select (model-spec L2.3, L4, L8.4).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Linux kernel version, `major.minor`. Only the eras matter; patch levels are not modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// The kernel the spec's measurements were taken on (model-spec §L13).
    pub const MEASURED: KernelVersion = KernelVersion::new(6, 18);

    fn at_least(self, major: u32, minor: u32) -> bool {
        self >= KernelVersion::new(major, minor)
    }

    /// Mode 0 compares the request with `totalram + swap` only from 5.2 on (commit 8c7829b04c52,
    /// "mm: fix false-positive OVERCOMMIT_GUESS failures"); before, it estimated free memory.
    pub fn guess_is_total_ram_swap(self) -> bool {
        self.at_least(5, 2)
    }

    /// Before 3.10 the reserves were a hard-coded 3 % (model-spec L2.3); from 3.10 the
    /// `admin_reserve_kbytes` / `user_reserve_kbytes` knobs exist.
    pub fn has_reserve_knobs(self) -> bool {
        self.at_least(3, 10)
    }

    /// `vm.overcommit_kbytes` exists from 3.14.
    pub fn has_overcommit_kbytes(self) -> bool {
        self.at_least(3, 14)
    }

    /// `oom_score = (1000 + badness*1000/totalpages) * 2 / 3` from 5.9 (commit 9066e5cfb73c);
    /// before, `badness*1000/totalpages` with badness clamped to ≥ 1.
    pub fn oom_score_signed(self) -> bool {
        self.at_least(5, 9)
    }

    /// Up to 4.16 CAP_SYS_ADMIN tasks got a 3 % badness bonus (removed in 4.17).
    pub fn oom_admin_bonus(self) -> bool {
        !self.at_least(4, 17)
    }

    /// From 6.7 an unfaulted anonymous VMA that loses PROT_WRITE is unaccounted
    /// ("mm/mprotect: allow unfaulted VMAs to be unaccounted on mprotect()").
    pub fn mprotect_unaccounts_unfaulted(self) -> bool {
        self.at_least(6, 7)
    }

    /// From 6.12 `mmap(MAP_FIXED)` over accounted pages charges only the difference and leaves
    /// the old mapping intact on failure; before, the old range is unmapped first.
    pub fn mmap_fixed_charges_difference(self) -> bool {
        self.at_least(6, 12)
    }

    /// The `__vm_enough_memory` failure log line: none before 6.1, a "no enough memory" text in
    /// 6.1, and a text with the byte count from 6.12 (model-spec L2.1).
    pub fn enomem_log_line(self, pid: u32, comm: &str, pages: u64) -> Option<String> {
        if self.at_least(6, 12) {
            Some(format!(
                "__vm_enough_memory: pid: {pid}, comm: {comm}, bytes: {} not enough memory for the allocation",
                pages.saturating_mul(crate::units::PAGE_SIZE)
            ))
        } else if self.at_least(6, 1) {
            Some(format!(
                "__vm_enough_memory: pid: {pid}, comm: {comm}, no enough memory for the allocation"
            ))
        } else {
            None
        }
    }
}

impl Default for KernelVersion {
    fn default() -> Self {
        Self::MEASURED
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl std::str::FromStr for KernelVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split('.');
        let major = parts.next().and_then(|p| p.parse::<u32>().ok());
        let minor = parts
            .next()
            .map(|p| p.parse::<u32>().ok())
            .unwrap_or(Some(0));
        // A patch level is accepted and ignored: 6.12.95 behaves as 6.12.
        let patch_ok = parts.all(|p| p.parse::<u32>().is_ok());
        match (major, minor, patch_ok) {
            (Some(major @ 2..=9), Some(minor), true) if minor < 1000 => Ok(Self { major, minor }),
            _ => Err(format!(
                "`{s}` is not a kernel version like 6.6 or 4.19 (2.x to 9.x)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras() {
        let v = |s: &str| s.parse::<KernelVersion>().unwrap();
        assert!(!v("5.1").guess_is_total_ram_swap());
        assert!(v("5.2").guess_is_total_ram_swap());
        assert!(!v("5.8").oom_score_signed());
        assert!(v("5.9").oom_score_signed());
        assert!(!v("6.6").mprotect_unaccounts_unfaulted());
        assert!(v("6.7").mprotect_unaccounts_unfaulted());
        assert_eq!(v("6.12.95"), KernelVersion::new(6, 12));
        assert!("6.x".parse::<KernelVersion>().is_err());
        assert!("".parse::<KernelVersion>().is_err());
    }
}
