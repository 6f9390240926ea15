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

    /// From 5.11 BPF map memory is charged to the creating task's memory cgroup (Roman
    /// Gushchin's series "bpf: switch to memcg-based memory accounting": __bpf_map_area_alloc
    /// gains __GFP_ACCOUNT and bpf_map_charge_init's RLIMIT_MEMLOCK charge goes); before, only
    /// RLIMIT_MEMLOCK counted it, in either cgroup hierarchy.
    pub fn bpf_memcg_accounting(self) -> bool {
        self.at_least(5, 11)
    }

    /// From 5.9 new anonymous pages start on the inactive LRU (b518154e59aa, "mm/vmscan:
    /// protect the workingset on anonymous LRU"); before, on the active one.
    pub fn anon_starts_inactive(self) -> bool {
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

    /// MREMAP_DONTUNMAP exists from 5.7 (commit e346b3813067 "mm/mremap: add MREMAP_DONTUNMAP to
    /// mremap()"); before, it is an unknown flag (EINVAL).
    pub fn has_mremap_dontunmap(self) -> bool {
        self.at_least(5, 7)
    }

    /// From 5.13 ("mm: extend MREMAP_DONTUNMAP to non-anonymous mappings", Brian Geffon, merged
    /// 2021-04-30, the parent of 14d071134c74; man-pages mremap(2) "since Linux 5.13")
    /// MREMAP_DONTUNMAP takes any mapping without VM_DONTEXPAND or VM_PFNMAP; before, only
    /// private anonymous memory (vma_to_resize).
    pub fn mremap_dontunmap_any_mapping(self) -> bool {
        self.at_least(5, 13)
    }

    /// A shrinking mremap move (MREMAP_FIXED with new_len < old_len) is charged the pages it
    /// shrank by (`vrm->delta = abs_diff(old_len, new_len)` in vrm_calc_charge), after
    /// shrink_vma uncharged them: Committed_AS does not move, and the charge leaks. Measured on
    /// 6.18.44 (crates/os/tests/real.rs); the release that brought it (the vma_remap_struct
    /// rework of mm/mremap.c) is not pinned, so only 6.18 has it; earlier eras charge
    /// `new_len - old_len` after the shrink, 0 (vma_to_resize, v6.6).
    pub fn mremap_shrink_move_charges_delta(self) -> bool {
        self.at_least(6, 18)
    }

    /// How `__get_unmapped_area` places an anonymous private mapping with no address for THP
    /// (mm/mmap.c → mm/huge_memory.c: `thp_get_unmapped_area` / `__thp_get_unmapped_area`).
    /// Pinned from the kernel's history (docs/model.md, "Placement"):
    /// * before 6.7 there is no such rule: plain top-down first fit;
    /// * 6.7 (efa7df3e3bb5 "mm: align larger anonymous mappings on THP boundaries", merged with
    ///   mm-hotfixes-stable-2024-01-05 just before v6.7): every mapping of at least PMD_SIZE,
    ///   searched for as `len + PMD_SIZE`, its start rounded *up* from the bottom of that range to
    ///   `pgoff`'s alignment (`ret += (off - ret) & (size - 1)`; the caller's pgoff is used);
    /// * 6.8 (96204e15310c "mm: thp_get_unmapped_area must honour topdown preference", merged
    ///   with mm-hotfixes-stable-2024-01-28, v6.8-rc3): an already aligned result moves up by
    ///   PMD_SIZE (`ret + size`) so the mapping ends at the top of the range, and pgoff is zero
    ///   for anonymous memory; 4ef9ad19e176 (same merge) excludes 32-bit and compat tasks;
    /// * 6.12 (d4148aeab412 "mm, mmap: limit THP alignment of anonymous mappings to PMD-aligned
    ///   sizes", merged between v6.12-rc5 and -rc6): only lengths that are a multiple of PMD_SIZE.
    ///
    /// Stable backports (6.7.y got the 6.8 fixes, 6.11.y the 6.12 limit) are not modelled: the
    /// era is the release as tagged.
    pub fn thp_anon_alignment(self) -> ThpAnonAlign {
        if self.at_least(6, 12) {
            ThpAnonAlign::PmdMultiple
        } else if self.at_least(6, 8) {
            ThpAnonAlign::AtLeastPmdTopDown
        } else if self.at_least(6, 7) {
            ThpAnonAlign::AtLeastPmd
        } else {
            ThpAnonAlign::None
        }
    }

    /// The release that added a madvise advice; before it, `madvise_behavior_valid` does not know
    /// the value and madvise returns EINVAL (mm/madvise.c). MADV_DONTNEED is as old as madvise;
    /// MADV_DONTFORK/DOFORK came with 2.6.16 (the model cannot tell 2.6 patch levels apart, so 2.6
    /// has them); MADV_FREE with 4.5 (854e9ed09ded "mm: support madvise(MADV_FREE)");
    /// MADV_WIPEONFORK/KEEPONFORK with 4.14 (d2cd9ede6e19 "mm,fork: introduce MADV_WIPEONFORK").
    pub fn madvise_since(advice: crate::op::Advice) -> KernelVersion {
        use crate::op::Advice;
        match advice {
            Advice::DontNeed => KernelVersion::new(2, 0),
            Advice::DontFork | Advice::DoFork => KernelVersion::new(2, 6),
            Advice::Free => KernelVersion::new(4, 5),
            Advice::WipeOnFork | Advice::KeepOnFork => KernelVersion::new(4, 14),
        }
    }

    /// Does this kernel know `advice`?
    pub fn has_madvise(self, advice: crate::op::Advice) -> bool {
        self >= Self::madvise_since(advice)
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

/// The THP placement era of anonymous private mappings ([`KernelVersion::thp_anon_alignment`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThpAnonAlign {
    /// Before 6.7: no alignment.
    None,
    /// 6.7: lengths ≥ PMD_SIZE; the start is rounded up from the bottom of the padded range.
    AtLeastPmd,
    /// 6.8–6.11: lengths ≥ PMD_SIZE; an aligned result moves up to the top of the padded range.
    AtLeastPmdTopDown,
    /// 6.12 on: lengths that are a multiple of PMD_SIZE, as in 6.8–6.11.
    PmdMultiple,
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
        assert_eq!(v("6.6").thp_anon_alignment(), ThpAnonAlign::None);
        assert_eq!(v("6.7").thp_anon_alignment(), ThpAnonAlign::AtLeastPmd);
        assert_eq!(
            v("6.8").thp_anon_alignment(),
            ThpAnonAlign::AtLeastPmdTopDown
        );
        assert_eq!(
            v("6.11").thp_anon_alignment(),
            ThpAnonAlign::AtLeastPmdTopDown
        );
        assert_eq!(v("6.12").thp_anon_alignment(), ThpAnonAlign::PmdMultiple);
        assert_eq!(v("6.18").thp_anon_alignment(), ThpAnonAlign::PmdMultiple);
        use crate::op::Advice;
        assert!(!v("4.4").has_madvise(Advice::Free));
        assert!(v("4.5").has_madvise(Advice::Free));
        assert!(!v("4.13").has_madvise(Advice::WipeOnFork));
        assert!(!v("4.13").has_madvise(Advice::KeepOnFork));
        assert!(v("4.14").has_madvise(Advice::KeepOnFork));
        assert!(!v("2.4").has_madvise(Advice::DontFork));
        assert!(v("2.6").has_madvise(Advice::DoFork));
        assert!(v("2.4").has_madvise(Advice::DontNeed));

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
