//! The VmFlags codes shown on VMAs (`ac`, `nr`, `sh`, …), each with the kernel's flag name and what
//! it means (Documentation/filesystems/proc.rst, "VmFlags"): the one table every view that shows
//! a code takes its hover text from.

/// (code, kernel flag, meaning), for every code the core can print.
pub const FLAGS: [(&str, &str, &str); 16] = [
    ("rd", "VM_READ", "readable"),
    ("wr", "VM_WRITE", "writeable"),
    ("ex", "VM_EXEC", "executable"),
    (
        "sh",
        "VM_SHARED",
        "shared: writes reach the other mappers, no copy-on-write",
    ),
    ("mr", "VM_MAYREAD", "may be made readable"),
    ("mw", "VM_MAYWRITE", "may be made writeable"),
    ("me", "VM_MAYEXEC", "may be made executable"),
    ("ms", "VM_MAYSHARE", "may share"),
    ("gd", "VM_GROWSDOWN", "a stack that grows down"),
    ("lo", "VM_LOCKED", "pages are locked in memory (mlock)"),
    ("dc", "VM_DONTCOPY", "not copied on fork (MADV_DONTFORK)"),
    (
        "ac",
        "VM_ACCOUNT",
        "accountable: its size is charged to Committed_AS",
    ),
    (
        "nr",
        "VM_NORESERVE",
        "no swap space reserved: not charged to Committed_AS (MAP_NORESERVE)",
    ),
    ("ht", "VM_HUGETLB", "uses huge TLB pages (hugetlbfs)"),
    (
        "wf",
        "VM_WIPEONFORK",
        "wiped on fork: the child sees zeroes (MADV_WIPEONFORK)",
    ),
    (
        "sd",
        "VM_SOFTDIRTY",
        "soft-dirty: written since the bits were last cleared",
    ),
];

/// `ac` → `ac = VM_ACCOUNT: accountable: its size is charged to Committed_AS`; an unknown code
/// says so rather than guessing.
pub fn explain(code: &str) -> String {
    match FLAGS.iter().find(|(c, _, _)| *c == code) {
        Some((c, flag, meaning)) => format!("{c} = {flag}: {meaning}"),
        None => format!("{code}: a VmFlags code vmlab does not explain"),
    }
}

/// The hover text for a VMA's flag codes, one line per code.
pub fn explain_all(codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| explain(c))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_core_prints_is_explained() {
        let codes = crate::engine::flag_codes();
        assert!(codes.len() >= 10, "{codes:?}");
        for c in codes {
            assert!(
                FLAGS.iter().any(|(x, _, _)| *x == c),
                "the core prints VmFlags code `{c}` and flags.rs does not explain it"
            );
        }
        assert!(explain("ac").contains("VM_ACCOUNT") && explain("ac").contains("Committed_AS"));
        assert!(explain("zz").contains("does not explain"));
        assert_eq!(explain_all(&["nr".into(), "sh".into()]).lines().count(), 2);
    }
}
