//! Reclaim: what the allocator frees before it calls the OOM killer (mm/vmscan.c), in the
//! model's deterministic order (docs/model.md, "Reclaim").

use super::LinuxMachine;

impl LinuxMachine {
    /// Pages `[off, off+n)` of object `obj` entered the page cache: they join the LRU.
    pub(crate) fn note_cache_pages(&mut self, obj: super::vma::ObjId, off: u64, n: u64) {
        let _ = (obj, off, n);
    }

    /// Direct reclaim for an allocation of `want` pages: returns the pages freed.
    pub(crate) fn reclaim(&mut self, want: u64) -> u64 {
        let _ = want;
        0
    }
}
