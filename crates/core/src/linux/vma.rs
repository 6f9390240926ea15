//! VMAs: their flags (with the kernel's bit values, so VmFlags print in the kernel's order) and
//! the merge rules of mm/vma.c (model-spec L7).

use crate::event::NoMerge;
use crate::kernel::KernelVersion;
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

/// Every VmFlags code vmlab models, in bit order: what `expect … VmFlags has CODE` accepts, and
/// what a comparison with a real kernel's VmFlags line compares (it leaves the others, `mg`,
/// `hg`, `um`, …: docs/known-differences.md).
pub fn flag_code_names() -> impl Iterator<Item = &'static str> {
    MNEMONICS.iter().map(|&(_, c)| c)
}

/// The VmFlags codes of `flags`, in bit order.
pub fn flag_code_list(flags: u64) -> Vec<&'static str> {
    MNEMONICS
        .iter()
        .filter(|&&(bit, _)| flags & bit != 0)
        .map(|&(_, c)| c)
        .collect()
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

/// What a VMA being created or changed looks like, for the merge checks (`struct
/// vma_merge_struct`: its flags, file, pgoff and `anon_vma`, and where that anon_vma comes from).
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    pub obj: Option<ObjId>,
    pub pgoff: u64,
    pub anon_vma: Option<AnonVmaId>,
    pub src: MergeSource,
}

/// Which VMA a candidate stands for, as `is_mergeable_anon_vma` sees it: only `vmg->middle`
/// (and, from 6.18, `vmg->copied_from`) is asked whether it is a fork child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeSource {
    /// A new range: mmap, brk, or a VMA grown in place by mremap (vma_merge_new_range,
    /// vma_merge_extend: `vmg->middle` is NULL).
    New,
    /// A range of an existing VMA whose flags change: mprotect, madvise
    /// (vma_merge_existing_range, `vmg->middle`).
    Existing { fork_child: bool },
    /// A VMA moved by mremap (copy_vma → vma_merge_copied_range, `vmg->copied_from`).
    Copied { fork_child: bool },
}

impl Vma {
    /// `vma_is_fork_child` (mm/vma.c; `vma_had_uncowed_parents` in 6.16–6.18.7): the VMA has an
    /// anon_vma and its anon_vma_chain also links a parent's, i.e. it may hold CoW pages.
    pub fn is_fork_child(&self) -> bool {
        self.anon_vma.is_some() && self.anon_chain > 1
    }
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

/// `is_mergeable_anon_vma`: may the candidate's anon_vma and the neighbour `tgt`'s live in one
/// VMA? Every era and both directions are decided here.
fn mergeable_anon_vma(k: KernelVersion, c: &Candidate, tgt: &Vma) -> Result<(), NoMerge> {
    if !k.merges_faulted_into_unfaulted() {
        // Before 6.16: `(!anon_vma1 || !anon_vma2) && list_is_singular(&vma->anon_vma_chain)`
        // with `vma` the neighbour, else `anon_vma1 == anon_vma2`. A neighbour without an
        // anon_vma has an empty chain, so a faulted candidate never merges into it.
        if (c.anon_vma.is_none() || tgt.anon_vma.is_none()) && tgt.anon_chain == 1 {
            return Ok(());
        }
        return match (c.anon_vma, tgt.anon_vma) {
            (a, b) if a == b => Ok(()),
            (Some(_), None) => Err(NoMerge::UnfaultedNeighbour),
            (None, Some(_)) => Err(NoMerge::ForkChild),
            _ => Err(NoMerge::AnonVma),
        };
    }
    match (c.anon_vma, tgt.anon_vma) {
        // Case 1: tgt takes the candidate's anon_vma (dup_anon_vma), unless the VMA it comes
        // from is a fork child.
        (Some(_), None) => {
            let fork_child = match c.src {
                MergeSource::New => false,
                MergeSource::Existing { fork_child } => fork_child,
                MergeSource::Copied { fork_child } => fork_child && k.merge_checks_copied_from(),
            };
            if fork_child {
                Err(NoMerge::ForkChild)
            } else {
                Ok(())
            }
        }
        // Case 2: the candidate uses tgt's anon_vma, unless tgt is a fork child.
        (None, Some(_)) if tgt.is_fork_child() => Err(NoMerge::ForkChild),
        (None, Some(_)) => Ok(()),
        // Case 3: both or neither have one: they must be the same.
        (a, b) if a == b => Ok(()),
        _ => Err(NoMerge::AnonVma),
    }
}

/// `can_vma_merge_after`: may `c` be merged onto the end of `prev`?
pub fn can_merge_after(k: KernelVersion, prev: &Vma, c: &Candidate) -> Result<(), NoMerge> {
    mergeable_vma(prev, c)?;
    mergeable_anon_vma(k, c, prev)?;
    if prev.pgoff + prev.pages() != c.pgoff {
        return Err(NoMerge::Pgoff);
    }
    Ok(())
}

/// `can_vma_merge_before`: may `c` be merged onto the start of `next`?
pub fn can_merge_before(k: KernelVersion, next: &Vma, c: &Candidate) -> Result<(), NoMerge> {
    mergeable_vma(next, c)?;
    mergeable_anon_vma(k, c, next)?;
    let pages = (c.end - c.start) >> crate::units::PAGE_SHIFT;
    if c.pgoff + pages != next.pgoff {
        return Err(NoMerge::Pgoff);
    }
    Ok(())
}

/// `can_vma_merge_right`'s extra test when both sides merge: `!prev->anon_vma ||
/// !next->anon_vma || prev->anon_vma == next->anon_vma` (the same in every era; before 6.16
/// spelt `are_anon_vmas_compatible`).
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

/// Would the kernel merge these two adjacent VMAs if one of them were changed to what it is
/// (vma_merge_existing_range with the other as neighbour)? Used by mremap's in-place growth and
/// the invariant check: no such pair may be left apart.
pub fn would_merge(k: KernelVersion, prev: &Vma, next: &Vma) -> bool {
    prev.end == next.start
        && can_merge_after(k, prev, &Candidate::existing(next)).is_ok()
        && can_merge_before(k, next, &Candidate::existing(prev)).is_ok()
}

impl Candidate {
    /// The candidate an existing VMA is when its flags are set to what they are
    /// (`VMG_VMA_STATE` with `vmg->middle` = the VMA).
    pub fn existing(v: &Vma) -> Candidate {
        Candidate {
            start: v.start,
            end: v.end,
            flags: v.flags,
            obj: v.obj,
            pgoff: v.pgoff,
            anon_vma: v.anon_vma,
            src: MergeSource::Existing {
                fork_child: v.is_fork_child(),
            },
        }
    }
}
