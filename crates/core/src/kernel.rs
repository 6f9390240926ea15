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

    /// From 6.16 a VMA with an anon_vma may merge into a neighbour without one (the survivor
    /// takes it with `dup_anon_vma`), unless the VMA is a fork child: commit 879bca0a2c4f "mm/vma:
    /// fix incorrectly disallowed anonymous VMA merges" (mm/vma.c: is_mergeable_anon_vma). Before,
    /// `is_mergeable_anon_vma(anon_vma1, anon_vma2, vma)` let a side without an anon_vma through
    /// only when the *neighbour's* anon_vma_chain was singular, so a faulted VMA never merged
    /// into an unfaulted neighbour.
    pub fn merges_faulted_into_unfaulted(self) -> bool {
        self.at_least(6, 16)
    }

    /// From 6.18 (commit 61f67c230a5e "mm/vma: fix anon_vma UAF on mremap() faulted, unfaulted
    /// merge", in 6.19 and backported to 6.18.8; 6.16 and 6.17 never got it) a VMA moved by
    /// mremap is `vmg->copied_from`, and a fork child there refuses the faulted-into-unfaulted
    /// merge as an mprotect'd one does. Patch levels are not modelled: 6.18 means the measured
    /// 6.18.44.
    pub fn merge_checks_copied_from(self) -> bool {
        self.at_least(6, 18)
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

/// A version part: ASCII digits, no sign, at most 9 of them (so it fits a `u32`).
fn version_part(p: &str) -> Option<u32> {
    if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

/// `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, each part plain decimal digits without a leading zero,
/// MAJOR from 2 to 9 and MINOR below 1000. The patch level is accepted and ignored (6.12.95 behaves
/// as 6.12), and so is a `uname -r` suffix after the first `-` (`6.1.0-18-amd64`, `6.8.0-rc3`).
/// Anything else is an error, never a guess: `6` (which minor?), `6.1.2.3`, `6.`, `06.1`, `6.+1`.
impl std::str::FromStr for KernelVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let shown = || {
            let short: String = s.chars().take(40).collect();
            if s.chars().nth(40).is_some() {
                format!("{short}…")
            } else {
                short
            }
        };
        let generic = || {
            format!(
                "`{}` is not a kernel version like 6.6 or 4.19 (MAJOR.MINOR[.PATCH], 2.x to 9.x)",
                shown()
            )
        };
        let version = match s.split_once('-') {
            Some((v, suffix)) if !suffix.is_empty() && !v.is_empty() => v,
            Some(_) => return Err(generic()),
            None => s,
        };
        let parts: Vec<&str> = version.split('.').collect();
        let numbers: Vec<u32> = match parts.iter().map(|p| version_part(p)).collect() {
            Some(n) => n,
            None => return Err(generic()),
        };
        if let Some(p) = parts.iter().find(|p| p.len() > 1 && p.starts_with('0')) {
            let fixed: Vec<String> = numbers.iter().map(u32::to_string).collect();
            return Err(format!(
                "kernel version `{}` has a leading zero in `{p}`: write {}",
                shown(),
                fixed.join(".")
            ));
        }
        match numbers[..] {
            [major] => Err(format!(
                "kernel version `{}` needs a minor version, as in {major}.1: the eras differ within a major version (5.1 and 5.2 account differently)",
                shown()
            )),
            [major @ 2..=9, minor] | [major @ 2..=9, minor, _] if minor < 1000 => {
                Ok(Self { major, minor })
            }
            [_, _] | [_, _, _] => Err(format!(
                "kernel version `{}` is outside the range vmlab models (2.x to 9.x, minor below 1000)",
                shown()
            )),
            _ => Err(format!(
                "kernel version `{}` has too many parts: write MAJOR.MINOR or MAJOR.MINOR.PATCH, as in 6.6 or 6.1.2",
                shown()
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

    #[test]
    fn versions_are_exact_or_errors() {
        let v = |s: &str| s.parse::<KernelVersion>();
        assert_eq!(v("6.1.0-18-amd64"), Ok(KernelVersion::new(6, 1)));
        assert_eq!(v("6.8.0-rc3"), Ok(KernelVersion::new(6, 8)));
        assert_eq!(v("4.9.337"), Ok(KernelVersion::new(4, 9)));
        assert_eq!(v("6.0"), Ok(KernelVersion::new(6, 0)));
        assert_eq!(
            v("6"),
            Err("kernel version `6` needs a minor version, as in 6.1: the eras differ within a major version (5.1 and 5.2 account differently)".into())
        );
        assert_eq!(
            v("6.1.2.3"),
            Err("kernel version `6.1.2.3` has too many parts: write MAJOR.MINOR or MAJOR.MINOR.PATCH, as in 6.6 or 6.1.2".into())
        );
        assert_eq!(
            v("06.1"),
            Err("kernel version `06.1` has a leading zero in `06`: write 6.1".into())
        );
        assert_eq!(
            v("10.1"),
            Err("kernel version `10.1` is outside the range vmlab models (2.x to 9.x, minor below 1000)".into())
        );
        for bad in [
            "6.",
            ".6",
            "6..1",
            "6.+1",
            "+6.1",
            "6.1-",
            "-rc1",
            "6.1.x",
            "99999999999.1",
        ] {
            assert_eq!(
                v(bad),
                Err(format!("`{bad}` is not a kernel version like 6.6 or 4.19 (MAJOR.MINOR[.PATCH], 2.x to 9.x)")),
                "{bad}"
            );
        }
    }
}
