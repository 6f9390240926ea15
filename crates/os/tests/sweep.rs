//! The seeded random differential sweep: random scenarios (mmap of every shape and placement,
//! munmap, mprotect, madvise, mremap, writes, reads, fork, vfork, exec, exit, brk, SysV shm
//! get/attach/remove, tmpfs write/truncate/unlink/mmap, overcommit 0/1) run on the simulator
//! and on this host's kernel through `vmlab_os::check`, compared after every step.
//!
//! `cargo test -p vmlab-os --test sweep` runs [`CI_SEEDS`] seeds; `SEED=n` reruns one;
//! `SWEEP_SEEDS=n` (and `SWEEP_FIRST=k`) run more; `SWEEP_KNOWN=1` lets the generator make the
//! shapes of the known differences it avoids by default (see [`Shapes`]). A failing seed prints
//! its scenario text (ready for scenarios/ or a test) and the mismatch table.
//!
//! The generator is a table of operations ([`OPS`]): each entry picks a process and writes one
//! scenario line. The simulator is the generator's oracle: every line is applied to a simulated
//! machine booted like the check's, so later lines only name mappings and processes that exist
//! there. (Where the kernel disagrees, the check reports it at that step.) Adding an operation
//! is one function and one table row.

mod common;

use common::{helper, root_or_skip};
use vmlab_core::config::MachineConfig;
use vmlab_core::machine::Machine;
use vmlab_core::machine::ProcState;
use vmlab_core::op::Outcome;
use vmlab_core::scenario::{parse, Scenario};
use vmlab_os::check::{check_with, sim_config_for};
use vmlab_os::Report;

/// Seeds run by default: 0.76 to 1.4 s a seed on this shared 2-CPU VM (150 seeds took 114 s
/// idle; 300 took 418 s while other engineers built and ran real cases), so 50 to 90 s. With
/// brk, vfork, exec, SysV shm and tmpfs in [`OPS`]: 64 seeds in 48 to 50 s; comparing every
/// smaps field, 170 to 280 s while other engineers built and ran real cases (most of it
/// Committed_AS bursts rerun by `retry_noise`).
const CI_SEEDS: u64 = 64;
/// Operations per scenario after `spawn`.
const STEPS: u32 = 24;
/// At most this much is written, read or populated per scenario.
const TOUCH_BUDGET_BYTES: u64 = 16 << 20;
const PAGE: u64 = 4096;
const MIB: u64 = 1 << 20;
const MAX_PROCS: usize = 4;
/// Where the arena starts: 16 TiB, far below mmap_base and far above the heap on both sides.
const ARENA: u64 = 0x1000_0000_0000;

/// xorshift64*, as in crates/core/tests/sweep.rs: tiny, deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// The shapes the generator makes only with `SWEEP_KNOWN=1`, each a known difference the model
/// does not follow (docs/known-differences.md):
/// - `thp`: a file mapping of 2 MiB or more placed by the kernel (no `at=`, `below=` or
///   `above=`) or moved by mremap, which the kernel aligns to 2 MiB on this host's ext4 where the
///   simulator packs it (the anonymous 2 MiB multiples of mm/mmap.c `__get_unmapped_area` →
///   `thp_get_unmapped_area_vmflags` are modelled, by kernel era, and always generated): ext4's
///   `get_unmapped_area` is `thp_get_unmapped_area`
///   (mm/huge_memory.c `__thp_get_unmapped_area` pads any file range that holds an aligned
///   2 MiB of the file), which the model has no rule for. Found by this sweep (seeds 43, 49, 52
///   before the generator avoided them).
/// - `grow_past_object`: growing a shared anonymous or a file mapping with mremap. Its object
///   keeps its size (a shmem object the size it was mapped with; a file as large as the backend
///   made it for its mmaps), so the kernel answers a fault past the end with SIGBUS (mm/shmem.c
///   `shmem_fault`, mm/filemap.c `filemap_fault` past `i_size`); the simulator has no object
///   sizes and lets the fault succeed (or, past a hole, gives SIGSEGV). Found by this sweep
///   (seeds 68 and 238 before the generator avoided it); docs/known-differences.md.
/// - `truncate_under_mapping`: `tmpfs truncate` of a file below the end of a mapping of it, the
///   same missing object size seen from the other side: the kernel answers a later fault past
///   the new end with SIGBUS (mm/shmem.c `shmem_fault`), the simulator lets it succeed.
/// - `unaligned_brk`: `brk ±SIZE` of a size that is not a page multiple. The kernel keeps the
///   break to the byte (mm/mmap.c: brk sets `mm->brk = brk`, the VMA ends at `PAGE_ALIGN`), the
///   simulator moves it in pages, so a second unaligned step ends a page apart. Found by this
///   sweep (seeds 43 and 58).
/// - `brk_after_fork`: growing the heap in a process whose mm a fork copied. On the real
///   machine the scenario's heap extends the helper's own `[heap]` VMA (glibc's allocations,
///   faulted), which after a fork is a fork child, so 6.16+ refuses to expand it
///   (mm/vma.c `is_mergeable_anon_vma` → `vma_had_uncowed_parents`) and brk makes a new VMA;
///   the simulator's heap starts empty and merges. A difference of the helper's own baseline.
///   Found by this sweep (seeds 22, 38, 44).
///
/// (`write_mapped_tmpfs`, a `tmpfs write` to a mapped file, was one until the model kept the
/// folio's PG_dirty apart from the ptes' dirty bits: shmem_write_end dirties the folio, which
/// every mapping then counts dirty. Seed 54 found it; it is generated always now.)
#[derive(Clone, Copy, Debug)]
struct Shapes {
    thp: bool,
    grow_past_object: bool,
    truncate_under_mapping: bool,
    unaligned_brk: bool,
    brk_after_fork: bool,
}

impl Shapes {
    fn all(known: bool) -> Shapes {
        Shapes {
            thp: known,
            grow_past_object: known,
            truncate_under_mapping: known,
            unaligned_brk: known,
            brk_after_fork: known,
        }
    }
}

/// Seeds left out of the default run, each with the known difference it shows
/// (docs/known-differences.md, "Found by the random sweep"). The generator avoids every other
/// known shape unless `SWEEP_KNOWN=1`. Empty: seeds 145, 203 and 270 were here until the model
/// kept pte and folio dirt apart (smaps' Shared_Dirty of a shmem page a child reads; MADV_FREE
/// of pages a fork shares); they agree now (`dirty_bits_agree` in real.rs reduces them).
const KNOWN_SEEDS: &[(u64, &str)] = &[];

#[derive(Clone, Debug)]
struct Mapping {
    name: String,
    len_bytes: u64,
    /// MAP_SHARED | MAP_ANONYMOUS (a shmem object of the size it was mapped with).
    shmem: bool,
    file: bool,
    /// In the arena: placed at [`ARENA`] or below/above an arena mapping, far from anything of
    /// the helper's. A mapping the kernel placed (or mremap moved) lies just below the helper's
    /// own (its libc, its stack), which the simulator does not have, so nothing is placed
    /// `above=` it and it does not grow in place (docs/known-differences.md, "the helper's own
    /// baseline").
    arena: bool,
}

#[derive(Clone, Debug)]
struct Proc {
    name: String,
    maps: Vec<Mapping>,
    /// Its mm was copied by a fork (from a parent, or inherited through vfork) and not replaced
    /// by an exec since: its heap VMA is a fork child (the `brk_after_fork` shape).
    forked: bool,
    /// It runs on the helper's vfork stack: a vfork child, or forked from one with no exec
    /// since. The backend has one such stack, so it does not vfork.
    on_vfork_stack: bool,
}

/// A line to try, and what it changes in the generator's state when the simulator says ok.
struct Candidate {
    line: String,
    on_ok: Box<dyn FnOnce(&mut State)>,
}

/// A SysV key the scenario made, and the size of its live segment (`None` once `shmrm`'d: a new
/// `shmget` of it makes a new segment).
struct ShmKey {
    key: String,
    size_bytes: Option<u64>,
}

/// A tmpfs path the scenario used, and the furthest end of any mapping of it (a truncate below
/// it is the `truncate_under_mapping` shape).
struct TmpfsFile {
    path: String,
    mapped_end_bytes: u64,
}

struct State {
    procs: Vec<Proc>,
    /// While a vfork child lives: (child, parent). The parent is suspended until the child execs
    /// or exits, so only the child is picked.
    vfork: Option<(String, String)>,
    keys: Vec<ShmKey>,
    tmpfs: Vec<TmpfsFile>,
    /// Names are never reused: one counter for mappings and processes alike.
    next_name: u32,
    touched_bytes: u64,
    ram_bytes: u64,
    shapes: Shapes,
}

impl State {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next_name += 1;
        format!("{prefix}{}", self.next_name)
    }
    fn proc_mut(&mut self, name: &str) -> &mut Proc {
        self.procs.iter_mut().find(|p| p.name == name).unwrap()
    }
    /// The record of tmpfs `path`, made on first use.
    fn tmpfs_used(&mut self, path: &str) -> &mut TmpfsFile {
        if let Some(i) = self.tmpfs.iter().position(|f| f.path == path) {
            return &mut self.tmpfs[i];
        }
        self.tmpfs.push(TmpfsFile {
            path: path.to_string(),
            mapped_end_bytes: 0,
        });
        self.tmpfs.last_mut().unwrap()
    }
}

/// A tmpfs path used before (one time in two when there is one) or a new one.
fn tmpfs_path(r: &mut Rng, s: &mut State) -> String {
    if !s.tmpfs.is_empty() && r.chance(2) {
        return r.pick(&s.tmpfs).path.clone();
    }
    s.fresh("t")
}

/// A SysV key made before (two times in three when there is one) or a new one.
fn shm_key(r: &mut Rng, s: &mut State) -> String {
    if !s.keys.is_empty() && r.below(3) != 0 {
        return r.pick(&s.keys).key.clone();
    }
    s.fresh("k")
}

/// A random page-aligned sub-range `[a..b]` of a mapping of `len` bytes, at most `max` long, or
/// the whole mapping (one time in three, or when it has one page).
fn range(r: &mut Rng, m: &Mapping, max_bytes: u64) -> (String, u64) {
    let pages = m.len_bytes / PAGE;
    if (r.chance(3) || pages < 2) && m.len_bytes <= max_bytes {
        return (m.name.clone(), m.len_bytes);
    }
    let a = r.below(pages);
    let most = (pages - a).min(max_bytes / PAGE).max(1);
    let n = 1 + r.below(most);
    (
        format!("{}[{}KiB..{}KiB]", m.name, a * 4, (a + n) * 4),
        n * PAGE,
    )
}

fn pick_mapping<'a>(r: &mut Rng, p: &'a Proc) -> Option<&'a Mapping> {
    (!p.maps.is_empty()).then(|| r.pick(&p.maps))
}

const PROTS: [&str; 5] = ["rw", "rw", "r", "none", "rx"];

fn gen_mmap(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    // Sizes of every shape: one page, odd page counts, unaligned bytes, 2 MiB multiples, and
    // large relative ones that are never touched.
    let (size, len_bytes) = match r.below(10) {
        0 => ("4KiB".to_string(), PAGE),
        1 => ("4097B".to_string(), 2 * PAGE),
        2..=4 => {
            let pages = *r.pick(&[2u64, 3, 7, 16, 33, 255, 256, 257, 511, 513]);
            (format!("{}KiB", pages * 4), pages * PAGE)
        }
        5..=6 => {
            let mib = 2 * (1 + r.below(3));
            (format!("{mib}MiB"), mib * MIB)
        }
        7 => {
            let mib = *r.pick(&[1u64, 3, 5]);
            (format!("{mib}MiB"), mib * MIB)
        }
        _ => {
            let pct = *r.pick(&[5u64, 10, 30]);
            let bytes = s.ram_bytes / 1000 * pct * 10 / PAGE * PAGE;
            (format!("{pct}%ram"), bytes)
        }
    };
    let prot = *r.pick(&PROTS);
    // A tmpfs mapping: (path, the end of the file it covers).
    let mut tmpfs = None;
    let (shared, backing, anon) = match r.below(8) {
        0 => ("shared", "anon".to_string(), true),
        2 => {
            let off = r.below(3) * 4;
            let path = tmpfs_path(r, s);
            let backing = format!("tmpfs {path} offset={off}KiB");
            tmpfs = Some((path, off * 1024 + len_bytes));
            (*r.pick(&["private", "shared"]), backing, false)
        }
        1 => {
            let off = r.below(3) * 4;
            (
                *r.pick(&["private", "shared"]),
                format!("file f{}.bin offset={off}KiB", r.below(2)),
                false,
            )
        }
        _ => ("private", "anon".to_string(), true),
    };
    // Files are created as large as the mapping: keep them small.
    if !anon && len_bytes > 64 * MIB {
        return None;
    }
    let mut opts = String::new();
    if r.chance(6) {
        opts.push_str(" noreserve");
    }
    let populate = len_bytes <= 4 * MIB && s.touched_bytes + len_bytes <= TOUCH_BUDGET_BYTES;
    if populate && r.chance(6) {
        opts.push_str(" populate");
    }
    let mut placed = false;
    let mut arena = false;
    if !p.maps.iter().any(|m| m.arena) && r.chance(3) {
        opts.push_str(&format!(" at={ARENA:#x}"));
        placed = true;
        arena = true;
    } else if let Some(of) = pick_mapping(r, p) {
        if r.below(3) != 0 {
            arena = of.arena;
            // Addresses differ (ASLR; the simulator's mmap_base is higher), so a large mapping
            // placed above another may pass TASK_SIZE on one side only: `above=` is for small
            // ones.
            let side = if r.chance(2) || !of.arena || len_bytes > 64 * MIB {
                "below"
            } else {
                "above"
            };
            opts.push_str(&format!(" {side}={}", of.name));
            placed = true;
            match r.below(3) {
                0 => opts.push_str(" gap=4KiB"),
                1 => opts.push_str(" gap=64KiB"),
                _ => {}
            }
        }
    }
    // Anonymous 2 MiB multiples placed by the kernel are THP-aligned on both sides (the model
    // has the rule, by kernel era); file ones are not modelled.
    if !anon && len_bytes >= 2 * MIB && !placed && !s.shapes.thp {
        return None;
    }
    let name = s.fresh("m");
    let proc = p.name.clone();
    let touched = if opts.contains("populate") {
        len_bytes
    } else {
        0
    };
    Some(Candidate {
        line: format!("{proc} mmap {name} {size} {prot} {shared} {backing}{opts}"),
        on_ok: Box::new(move |s| {
            s.touched_bytes += touched;
            if let Some((path, end)) = tmpfs {
                s.tmpfs_used(&path).mapped_end_bytes =
                    end.max(s.tmpfs_used(&path).mapped_end_bytes);
            }
            s.proc_mut(&proc).maps.push(Mapping {
                name,
                len_bytes,
                shmem: anon && shared == "shared",
                file: !anon,
                arena,
            });
        }),
    })
}

fn gen_munmap(r: &mut Rng, _s: &mut State, p: &Proc) -> Option<Candidate> {
    let m = pick_mapping(r, p)?;
    let (target, _) = range(r, m, u64::MAX);
    let whole = target == m.name;
    let (proc, name) = (p.name.clone(), m.name.clone());
    Some(Candidate {
        line: format!("{proc} munmap {target}"),
        on_ok: Box::new(move |s| {
            if whole {
                s.proc_mut(&proc).maps.retain(|m| m.name != name);
            }
        }),
    })
}

fn gen_mprotect(r: &mut Rng, _s: &mut State, p: &Proc) -> Option<Candidate> {
    let m = pick_mapping(r, p)?;
    let (target, _) = range(r, m, u64::MAX);
    Some(Candidate {
        line: format!("{} mprotect {target} {}", p.name, r.pick(&PROTS)),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_madvise(r: &mut Rng, _s: &mut State, p: &Proc) -> Option<Candidate> {
    let m = pick_mapping(r, p)?;
    let (target, _) = range(r, m, u64::MAX);
    let advice = r.pick(&vmlab_core::op::Advice::ALL).name();
    Some(Candidate {
        line: format!("{} madvise {target} {advice}", p.name),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_access(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    let m = pick_mapping(r, p)?;
    let left = TOUCH_BUDGET_BYTES.saturating_sub(s.touched_bytes);
    if left < PAGE {
        return None;
    }
    let most = *r.pick(&[16 * PAGE, MIB, 4 * MIB]);
    let (target, bytes) = range(r, m, left.min(most));
    let verb = if r.below(3) == 0 { "read" } else { "write" };
    s.touched_bytes += bytes;
    Some(Candidate {
        line: format!("{} {verb} {target}", p.name),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_mremap(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    let m = pick_mapping(r, p)?;
    let pages = m.len_bytes / PAGE;
    let new_bytes = match r.below(4) {
        0 => pages.div_ceil(2).max(1) * PAGE,
        1 => (pages + 1 + r.below(64)) * PAGE,
        2 => (pages * 2).clamp(1, 64 * MIB / PAGE) * PAGE,
        _ => (m.len_bytes / (2 * MIB) + 1) * 2 * MIB,
    };
    let may_move = r.chance(2);
    // Growing a mapping the kernel placed runs into what is above it, the helper's own on the
    // kernel and nothing in the simulator (Mapping::arena).
    if !m.arena && new_bytes > m.len_bytes {
        return None;
    }
    if (m.shmem || m.file) && new_bytes > m.len_bytes && !s.shapes.grow_past_object {
        return None;
    }
    // A moved mapping is placed like a new one (the thp shape: files only).
    let aligned = m.file && new_bytes >= 2 * MIB;
    if may_move && aligned && !s.shapes.thp {
        return None;
    }
    let (proc, name) = (p.name.clone(), m.name.clone());
    Some(Candidate {
        line: format!(
            "{proc} mremap {name} {}KiB{}",
            new_bytes / 1024,
            if may_move { " maymove" } else { "" }
        ),
        on_ok: Box::new(move |s| {
            let p = s.proc_mut(&proc);
            if let Some(m) = p.maps.iter_mut().find(|m| m.name == name) {
                m.len_bytes = new_bytes;
                m.arena &= !may_move;
            }
        }),
    })
}

fn gen_fork(_r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    if s.procs.len() >= MAX_PROCS {
        return None;
    }
    let child = s.fresh("p");
    let maps = p.maps.clone();
    let on_vfork_stack = p.on_vfork_stack;
    Some(Candidate {
        line: format!("{} fork {child}", p.name),
        on_ok: Box::new(move |s| {
            s.procs.push(Proc {
                name: child,
                maps,
                forked: true,
                on_vfork_stack,
            })
        }),
    })
}

fn gen_exit(_r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    if s.procs.len() < 2 {
        return None;
    }
    Some(Candidate {
        line: format!("{} exit", p.name),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_vfork(_r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    // The backend has one vfork stack: no vfork from a vfork child (the only one picked then)
    // or from a fork of one (whose stack is a copy of that one).
    if s.procs.len() >= MAX_PROCS || s.vfork.is_some() || p.on_vfork_stack {
        return None;
    }
    let child = s.fresh("p");
    let (parent, maps, forked) = (p.name.clone(), p.maps.clone(), p.forked);
    Some(Candidate {
        line: format!("{parent} vfork {child}"),
        on_ok: Box::new(move |s| {
            s.procs.push(Proc {
                name: child.clone(),
                maps,
                forked,
                on_vfork_stack: true,
            });
            s.vfork = Some((child, parent));
        }),
    })
}

fn gen_exec(_r: &mut Rng, _s: &mut State, p: &Proc) -> Option<Candidate> {
    let proc = p.name.clone();
    Some(Candidate {
        line: format!("{proc} exec"),
        on_ok: Box::new(move |s| {
            let p = s.proc_mut(&proc);
            p.maps.clear();
            p.forked = false;
            p.on_vfork_stack = false;
            if s.vfork.as_ref().is_some_and(|v| v.0 == proc) {
                s.vfork = None;
            }
        }),
    })
}

fn gen_brk(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    // Page multiples, unaligned bytes, and more than the heap holds (a shrink past the start
    // leaves the break: the backend's start of the heap is the model's start_brk).
    let size = *r.pick(&["4KiB", "5000B", "12KiB", "132KiB", "1MiB", "3MiB", "8MiB"]);
    if size.ends_with("00B") && !s.shapes.unaligned_brk {
        return None;
    }
    let sign = if r.below(3) == 0 { "-" } else { "+" };
    if sign == "+" && p.forked && !s.shapes.brk_after_fork {
        return None;
    }
    Some(Candidate {
        line: format!("{} brk {sign}{size}", p.name),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_shmget(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    let key = shm_key(r, s);
    let (size, bytes) = match r.below(8) {
        0 => ("4KiB".to_string(), PAGE),
        1 => ("4097B".to_string(), 4097),
        2 => ("64KiB".to_string(), 64 << 10),
        3 | 4 => {
            let mib = *r.pick(&[1u64, 2, 3, 6]);
            (format!("{mib}MiB"), mib * MIB)
        }
        5 => ("16MiB".to_string(), 16 * MIB),
        _ => {
            let pct = *r.pick(&[5u64, 10]);
            (format!("{pct}%ram"), s.ram_bytes / 100 * pct)
        }
    };
    let noreserve = if r.chance(4) { " noreserve" } else { "" };
    Some(Candidate {
        line: format!("{} shmget {key} {size}{noreserve}", p.name),
        on_ok: Box::new(move |s| {
            // An existing key's segment keeps its size (a smaller size is ok, a larger EINVAL).
            match s.keys.iter_mut().find(|k| k.key == key) {
                Some(k) => {
                    k.size_bytes.get_or_insert(bytes);
                }
                None => s.keys.push(ShmKey {
                    key,
                    size_bytes: Some(bytes),
                }),
            }
        }),
    })
}

fn gen_shmat(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    if s.keys.is_empty() {
        return None;
    }
    // A removed key is attached too: EINVAL on both sides.
    let k = r.pick(&s.keys);
    let (key, len_bytes) = (
        k.key.clone(),
        k.size_bytes.unwrap_or(PAGE).next_multiple_of(PAGE),
    );
    let prot = if r.below(3) == 0 { "r" } else { "rw" };
    let name = s.fresh("m");
    let proc = p.name.clone();
    Some(Candidate {
        line: format!("{proc} mmap {name} 0 {prot} shared shm {key}"),
        on_ok: Box::new(move |s| {
            s.proc_mut(&proc).maps.push(Mapping {
                name,
                len_bytes,
                shmem: true,
                file: false,
                arena: false,
            })
        }),
    })
}

fn gen_shmrm(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    if s.keys.is_empty() {
        return None;
    }
    let key = r.pick(&s.keys).key.clone();
    Some(Candidate {
        line: format!("{} shmrm {key}", p.name),
        on_ok: Box::new(move |s| {
            s.keys.iter_mut().find(|k| k.key == key).unwrap().size_bytes = None;
        }),
    })
}

fn gen_tmpfs_write(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    let bytes = *r.pick(&[PAGE, 3 * PAGE, 100_000, 64 << 10, MIB]);
    let offset = *r.pick(&[0, 0, PAGE, 6000, MIB, 8 * MIB]);
    if s.touched_bytes + bytes > TOUCH_BUDGET_BYTES {
        return None;
    }
    let path = tmpfs_path(r, s);
    s.touched_bytes += bytes;
    let at = if offset == 0 && r.chance(2) {
        String::new()
    } else {
        format!(" offset={offset}B")
    };
    Some(Candidate {
        line: format!("{} tmpfs write {path} {bytes}B{at}", p.name),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_tmpfs_truncate(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    if s.tmpfs.is_empty() {
        return None;
    }
    let f = r.pick(&s.tmpfs);
    let bytes = *r.pick(&[0, PAGE, 5000, 256 << 10, MIB, 4 * MIB, 32 * MIB]);
    if bytes < f.mapped_end_bytes && !s.shapes.truncate_under_mapping {
        return None;
    }
    Some(Candidate {
        line: format!("{} tmpfs truncate {} {bytes}B", p.name, f.path),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_unlink(r: &mut Rng, s: &mut State, p: &Proc) -> Option<Candidate> {
    if s.tmpfs.is_empty() {
        return None;
    }
    // Unlinked twice now and then: ENOENT on both sides.
    Some(Candidate {
        line: format!("{} unlink {}", p.name, r.pick(&s.tmpfs).path),
        on_ok: Box::new(|_| {}),
    })
}

fn gen_overcommit(r: &mut Rng, _s: &mut State, _p: &Proc) -> Option<Candidate> {
    // Modes 0 and 1 only: mode 2 on a shared host makes other processes' allocations fail, so
    // real cases hold it for single operations at most (crates/os/tests/real_cases.rs).
    Some(Candidate {
        line: format!("sysctl vm.overcommit_memory={}", r.below(2)),
        on_ok: Box::new(|_| {}),
    })
}

type Gen = fn(&mut Rng, &mut State, &Proc) -> Option<Candidate>;

/// The operations and their weights (tmpfs mappings are among gen_mmap's backings).
const OPS: &[(u64, Gen)] = &[
    (6, gen_mmap),
    (2, gen_munmap),
    (3, gen_mprotect),
    (3, gen_madvise),
    (5, gen_access),
    (2, gen_mremap),
    (2, gen_fork),
    (1, gen_exit),
    (1, gen_vfork),
    (1, gen_exec),
    (2, gen_brk),
    (1, gen_shmget),
    (2, gen_shmat),
    (1, gen_shmrm),
    (1, gen_tmpfs_write),
    (1, gen_tmpfs_truncate),
    (1, gen_unlink),
    (1, gen_overcommit),
];

/// The scenario of `seed`: its text, generated against a simulator booted as the check boots its
/// own (the host's machine, with the scenario's sysctls).
fn scenario_text(seed: u64, host: &MachineConfig, shapes: Shapes) -> String {
    let mut r = Rng::new(seed);
    let mode = r.below(2);
    let mut text =
        format!("machine linux ram=1GiB overcommit={mode}   # sweep seed {seed}\nspawn app\n");
    let boot = parse(&text).unwrap();
    let MachineConfig::Linux(h) = host else {
        unreachable!("a Linux machine")
    };
    let mut m = Machine::boot(&sim_config_for(&boot, host));
    for (_, op) in boot.ops() {
        m.apply(op).unwrap();
    }
    let mut s = State {
        procs: vec![Proc {
            name: "app".into(),
            maps: Vec::new(),
            forked: false,
            on_vfork_stack: false,
        }],
        vfork: None,
        keys: Vec::new(),
        tmpfs: Vec::new(),
        next_name: 0,
        touched_bytes: 0,
        ram_bytes: h.ram_bytes,
        shapes,
    };
    let total: u64 = OPS.iter().map(|o| o.0).sum();
    let mut steps = 0;
    let mut tries = 0;
    while steps < STEPS && tries < STEPS * 20 {
        tries += 1;
        let p = match &s.vfork {
            Some((child, _)) => s.procs.iter().find(|p| &p.name == child).unwrap().clone(),
            None => r.pick(&s.procs).clone(),
        };
        let mut w = r.below(total);
        let gen = OPS
            .iter()
            .find(|(weight, _)| {
                let hit = w < *weight;
                w = w.saturating_sub(*weight);
                hit
            })
            .unwrap()
            .1;
        let Some(c) = gen(&mut r, &mut s, &p) else {
            continue;
        };
        let next = format!("{text}{}\n", c.line);
        let parsed = parse(&next).unwrap_or_else(|e| {
            panic!("the sweep wrote a line that does not parse: {e:?}\n{next}")
        });
        let (_, op) = parsed.ops().last().unwrap();
        let Ok((outcome, _)) = m.apply(op) else {
            continue;
        };
        text = next;
        steps += 1;
        if outcome == Outcome::Ok {
            (c.on_ok)(&mut s);
        }
        // A process that exited or was killed (a write to a PROT_NONE page) is gone.
        s.procs
            .retain(|p| m.proc_state(&p.name) == Some(ProcState::Running));
        if let Some((child, parent)) = s.vfork.clone() {
            match s
                .procs
                .iter()
                .find(|p| p.name == child)
                .map(|c| c.maps.clone())
            {
                // The child shares its parent's mm: what it unmapped or moved of the parent's
                // mappings, the parent's names no longer describe.
                Some(kept) => s.proc_mut(&parent).maps.retain(|m| {
                    kept.iter().any(|k| {
                        k.name == m.name && k.len_bytes == m.len_bytes && k.arena == m.arena
                    })
                }),
                None => s.vfork = None,
            }
        }
        if s.procs.is_empty() {
            break;
        }
    }
    text
}

/// Check one seed's scenario, with Committed_AS noise retried as every real case does.
fn check_seed(s: &Scenario, host: &MachineConfig) -> Report {
    common::retry_noise(|| {
        check_with(s, sim_config_for(s, host), &helper()).expect("the check runs")
    })
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v}: expected a number"))
    })
}

#[test]
fn random_scenarios_agree_with_the_kernel() {
    let Some(_serial) = root_or_skip("random_scenarios_agree_with_the_kernel") else {
        return;
    };
    let host = vmlab_os::host::host_config().unwrap();
    let known = std::env::var("SWEEP_KNOWN").is_ok_and(|v| v == "1");
    let shapes = Shapes::all(known);
    let seeds: Vec<u64> = match env_u64("SEED") {
        Some(seed) => vec![seed],
        None => {
            let first = env_u64("SWEEP_FIRST").unwrap_or(0);
            (first..first + env_u64("SWEEP_SEEDS").unwrap_or(CI_SEEDS))
                .filter(|s| known || !KNOWN_SEEDS.iter().any(|k| k.0 == *s))
                .collect()
        }
    };
    let started = std::time::Instant::now();
    let mut failed = Vec::new();
    for &seed in &seeds {
        let text = scenario_text(seed, &host, shapes);
        let s = parse(&text).unwrap();
        let r = check_seed(&s, &host);
        if !r.agrees() {
            println!(
                "── seed {seed} disagrees (SEED={seed} reruns it) ──\n{text}\n{}",
                r.render()
            );
            failed.push(seed);
        }
    }
    println!(
        "{} seeds in {:.1} s; {} disagree: {failed:?}",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        failed.len()
    );
    assert!(failed.is_empty(), "seeds that disagree: {failed:?}");
}

/// The generator is deterministic and writes scenarios that parse, without root.
#[test]
fn the_generator_is_deterministic_and_parses() {
    let host = MachineConfig::Linux(vmlab_core::config::LinuxConfig::new(8 << 30));
    let shapes = Shapes::all(false);
    let mut ops = 0;
    for seed in 0..50 {
        let a = scenario_text(seed, &host, shapes);
        assert_eq!(a, scenario_text(seed, &host, shapes));
        ops += parse(&a).unwrap().ops().count();
    }
    // A scenario ends early only when its last process dies (a write to a PROT_NONE page).
    assert!(
        ops > 50 * STEPS as usize / 2,
        "{ops} operations in 50 seeds"
    );
    // Different seeds give different scenarios, with every kind of operation among them.
    let all: String = (0..50).map(|s| scenario_text(s, &host, shapes)).collect();
    for verb in [
        " mmap ",
        " munmap ",
        " mprotect ",
        " madvise ",
        " write ",
        " read ",
        " mremap ",
        " fork ",
        " exit",
        " vfork ",
        " exec",
        " brk +",
        " brk -",
        " shmget ",
        " shared shm ",
        " shmrm ",
        " tmpfs write ",
        " tmpfs truncate ",
        " unlink ",
        " tmpfs t",
        "sysctl ",
        " below=",
        " above=",
        " gap=",
        " file ",
        " shared ",
        " at=",
        "MiB rw private anon below",
        "populate",
        "noreserve",
    ] {
        assert!(all.contains(verb), "no `{verb}` in 50 seeds");
    }
}
