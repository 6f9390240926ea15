//! VMAs: their flags (with the kernel's bit values, so VmFlags print in the kernel's order) and
//! the merge rules of mm/vma.c (model-spec L7).

use crate::event::NoMerge;
use crate::op::Prot;
use serde::Serialize;

// include/linux/mm.h
pub const VM_READ: u64 = 0x1;
pub const VM_WRITE: u64 = 0x2;
pub const VM_EXEC: u64 = 0x4;
pub const VM_SHARED: u64 = 0x8;
pub const VM_MAYREAD: u64 = 0x10;
pub const VM_MAYWRITE: u64 = 0x20;
pub const VM_MAYEXEC: u64 = 0x40;
pub const VM_MAYSHARE: u64 = 0x80;
pub const VM_GROWSDOWN: u64 = 0x100;
pub const VM_LOCKED: u64 = 0x2000;
pub const VM_DONTCOPY: u64 = 0x2_0000;
pub const VM_ACCOUNT: u64 = 0x10_0000;
pub const VM_NORESERVE: u64 = 0x20_0000;
pub const VM_HUGETLB: u64 = 0x40_0000;
pub const VM_WIPEONFORK: u64 = 0x200_0000;
pub const VM_SOFTDIRTY: u64 = 0x800_0000;

pub const VM_ACCESS_FLAGS: u64 = VM_READ | VM_WRITE | VM_EXEC;

/// `show_smap_vma_flags` mnemonics by bit number (fs/proc/task_mmu.c), for the bits vmlab models.
const MNEMONICS: [(u64, &str); 16] = [
    (VM_READ, "rd"),
    (VM_WRITE, "wr"),
    (VM_EXEC, "ex"),
    (VM_SHARED, "sh"),
    (VM_MAYREAD, "mr"),
    (VM_MAYWRITE, "mw"),
    (VM_MAYEXEC, "me"),
    (VM_MAYSHARE, "ms"),
    (VM_GROWSDOWN, "gd"),
    (VM_LOCKED, "lo"),
    (VM_DONTCOPY, "dc"),
    (VM_ACCOUNT, "ac"),
    (VM_NORESERVE, "nr"),
    (VM_HUGETLB, "ht"),
    (VM_WIPEONFORK, "wf"),
    (VM_SOFTDIRTY, "sd"),
];

/// The VmFlags codes vmlab models, in bit order: a comparison with a real kernel's VmFlags line
/// compares these and leaves the others (`mg`, `hg`, `um`, … : docs/known-differences.md).
pub fn modelled_flag_codes() -> impl Iterator<Item = &'static str> {
    MNEMONICS.iter().map(|&(_, c)| c)
}

/// The VmFlags codes, space separated, in bit order (without the kernel's trailing space).
pub fn flag_codes(flags: u64) -> String {
    let mut out = String::with_capacity(32);
    for (bit, code) in MNEMONICS {
        if flags & bit != 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(code);
        }
    }
    out
}

/// `calc_vm_prot_bits`.
pub fn prot_bits(p: Prot) -> u64 {
    (if p.read { VM_READ } else { 0 })
        | (if p.write { VM_WRITE } else { 0 })
        | (if p.exec { VM_EXEC } else { 0 })
}

/// An identity of a file or shmem object (`vm_file`).
pub type ObjId = u32;
/// An identity of an anon_vma.
pub type AnonVmaId = u64;

/// One virtual memory area. Addresses are bytes, page aligned; `pgoff` is in pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    /// The file or shmem object mapped (`vm_file`), `None` for private anonymous memory.
    pub obj: Option<ObjId>,
    pub pgoff: u64,
    pub anon_vma: Option<AnonVmaId>,
    /// Length of the anon_vma_chain: 1 for an anon_vma created here, more for a fork clone
    /// (whose chain also links the parent's anon_vmas). 0 when there is no anon_vma.
    pub anon_chain: u32,
    /// `[heap]` or `[stack]`.
    pub special: Option<Special>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Special {
    Heap,
    Stack,
}

impl Vma {
    pub fn pages(&self) -> u64 {
        (self.end - self.start) >> crate::units::PAGE_SHIFT
    }
    pub fn start_page(&self) -> u64 {
        self.start >> crate::units::PAGE_SHIFT
    }
    pub fn end_page(&self) -> u64 {
        self.end >> crate::units::PAGE_SHIFT
    }
    pub fn is_anonymous(&self) -> bool {
        self.obj.is_none()
    }
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }
    pub fn span(&self) -> crate::event::Span {
        crate::event::Span {
            start: self.start,
            end: self.end,
        }
    }
    /// The pgoff the page at byte address `addr` has.
    pub fn pgoff_at(&self, addr: u64) -> u64 {
        self.pgoff + ((addr - self.start) >> crate::units::PAGE_SHIFT)
    }
}

/// What a VMA being created or changed looks like, for the merge checks.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    pub obj: Option<ObjId>,
    pub pgoff: u64,
    pub anon_vma: Option<AnonVmaId>,
}

/// `is_mergeable_vma`: flags (ignoring VM_SOFTDIRTY) and file must match.
fn mergeable_vma(v: &Vma, c: &Candidate) -> Result<(), NoMerge> {
    if (v.flags ^ c.flags) & !VM_SOFTDIRTY != 0 {
        return Err(NoMerge::Flags);
    }
    if v.obj != c.obj {
        return Err(NoMerge::File);
    }
    Ok(())
}

/// `is_mergeable_anon_vma(anon_vma1, anon_vma2, vma)`: if either side has none, the existing
/// neighbour `vma` must not be a fork clone (its anon_vma_chain must be singular); otherwise the
/// anon_vmas must be the same.
fn mergeable_anon_vma(c: Option<AnonVmaId>, neighbour: &Vma) -> bool {
    if (c.is_none() || neighbour.anon_vma.is_none()) && neighbour.anon_chain == 1 {
        return true;
    }
    c == neighbour.anon_vma
}

/// `can_vma_merge_after`: may `c` be merged onto the end of `prev`?
pub fn can_merge_after(prev: &Vma, c: &Candidate) -> Result<(), NoMerge> {
    mergeable_vma(prev, c)?;
    if !mergeable_anon_vma(c.anon_vma, prev) {
        return Err(NoMerge::AnonVma);
    }
    if prev.pgoff + prev.pages() != c.pgoff {
        return Err(NoMerge::Pgoff);
    }
    Ok(())
}

/// `can_vma_merge_before`: may `c` be merged onto the start of `next`?
pub fn can_merge_before(next: &Vma, c: &Candidate) -> Result<(), NoMerge> {
    mergeable_vma(next, c)?;
    if !mergeable_anon_vma(c.anon_vma, next) {
        return Err(NoMerge::AnonVma);
    }
    let pages = (c.end - c.start) >> crate::units::PAGE_SHIFT;
    if c.pgoff + pages != next.pgoff {
        return Err(NoMerge::Pgoff);
    }
    Ok(())
}

/// `are_anon_vmas_compatible(prev, next)` for a three-way merge: `is_mergeable_anon_vma(a, b, NULL)`.
pub fn three_way_compatible(prev: &Vma, next: &Vma) -> bool {
    prev.anon_vma.is_none() || next.anon_vma.is_none() || prev.anon_vma == next.anon_vma
}

/// `anon_vma_compatible(a, b)` (mm/rmap.c via find_mergeable_anon_vma): adjacent, same file,
/// flags equal except access flags and soft-dirty, contiguous pgoff.
pub fn anon_vma_compatible(a: &Vma, b: &Vma) -> bool {
    a.end == b.start
        && a.obj == b.obj
        && (a.flags ^ b.flags) & !(VM_ACCESS_FLAGS | VM_SOFTDIRTY) == 0
        && b.pgoff == a.pgoff + a.pages()
}

/// Would the kernel merge these two adjacent VMAs if one of them were (re)created? Used by the
/// invariant checks: no such pair may be left apart.
pub fn would_merge(prev: &Vma, next: &Vma) -> bool {
    if prev.end != next.start {
        return false;
    }
    let c = Candidate {
        start: next.start,
        end: next.end,
        flags: next.flags,
        obj: next.obj,
        pgoff: next.pgoff,
        anon_vma: next.anon_vma,
    };
    // Either side taking the other must be allowed, with the anon_vma rule applied from both ends.
    can_merge_after(prev, &c).is_ok() && {
        let p = Candidate {
            start: prev.start,
            end: prev.end,
            flags: prev.flags,
            obj: prev.obj,
            pgoff: prev.pgoff,
            anon_vma: prev.anon_vma,
        };
        can_merge_before(next, &p).is_ok()
    }
}
