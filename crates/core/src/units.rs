//! Sizes and pages: every size is a `u64` (never `usize`, which is 32-bit on wasm32).

/// The base page size of every simulated machine (x86-64, arm64 with 4K pages, and Windows).
pub const PAGE_SIZE: u64 = 4096;
/// `PAGE_SHIFT` as in the kernel.
pub const PAGE_SHIFT: u32 = 12;

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;
pub const TIB: u64 = 1 << 40;

/// The top of user space, `TASK_SIZE` on x86-64 with 4-level paging (128 TiB less a guard page;
/// Windows x64 gives user space 128 TiB too). No mapping is larger, so an offset into a mapping or
/// a gap between two mappings beyond it can never be met.
pub const USER_SPACE_BYTES: u64 = 0x7fff_ffff_f000;

/// Bytes to pages, rounding up (the kernel's `PAGE_ALIGN(len) >> PAGE_SHIFT`).
pub const fn pages_up(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE_SIZE)
}

/// kB (as in sysctls and /proc) to pages, truncating like `kB >> (PAGE_SHIFT - 10)`.
pub const fn kb_to_pages(kb: u64) -> u64 {
    kb >> (PAGE_SHIFT - 10)
}

/// Pages to kB, as `/proc/meminfo` prints them (`pages << (PAGE_SHIFT - 10)`).
pub const fn pages_to_kb(pages: u64) -> u64 {
    pages << (PAGE_SHIFT - 10)
}

/// A human-readable size in the largest binary unit it reaches: whole when exact, else one decimal.
pub fn human(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            if bytes.is_multiple_of(unit) {
                return format!("{} {}", bytes / unit, name);
            }
            // One decimal, computed in integers so wasm and native agree to the byte.
            let tenths = (bytes as u128 * 10 + unit as u128 / 2) / unit as u128;
            return format!("{}.{} {}", tenths / 10, tenths % 10, name);
        }
    }
    format!("{bytes} B")
}

/// Pages as a human-readable size.
pub fn human_pages(pages: u64) -> String {
    human(pages.saturating_mul(PAGE_SIZE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_truncate_like_the_kernel() {
        // overcommit_kbytes=1000001 becomes 250000 pages = 1,000,000 kB (model-spec L3).
        assert_eq!(kb_to_pages(1_000_001), 250_000);
        assert_eq!(pages_to_kb(250_000), 1_000_000);
        assert_eq!(pages_up(1), 1);
        assert_eq!(pages_up(4096), 1);
        assert_eq!(pages_up(4097), 2);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(15 * GIB), "15 GiB");
        assert_eq!(human(1536 * MIB), "1.5 GiB");
        assert_eq!(human(384 * KIB), "384 KiB");
        assert_eq!(human(100), "100 B");
        assert_eq!(human(24_684_092 * KIB), "23.5 GiB");
    }
}
