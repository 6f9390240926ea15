//! The Windows backend under Wine 8.0, driven from Linux: exact checks of what Wine follows from
//! Windows (region states and protections, 64 KiB granularity, page rounding, every
//! VirtualAlloc/VirtualFree argument rule of model-spec W2 with its error code, the working set),
//! one test per Wine difference listed in docs/known-differences.md (and a test that the list and
//! these tests name the same differences), and the Linux side of a reservation and a commit in
//! the Wine process's smaps.
//!
//! Every test here is `#[ignore]`d in a plain `cargo test`: it needs the exe built for
//! `x86_64-pc-windows-gnu`, Wine and a prefix. `cargo xtask test` (stage "Windows backend under
//! Wine") builds them and runs `cargo test -p vmlab-winos --test wine -- --ignored`, where a
//! missing piece is a failure, never a skip.
//!
//! Why a Linux-side test that drives `wine vmlab-win-helper.exe`, not `cargo test --target
//! x86_64-pc-windows-gnu` with `runner = "wine"`: the seed's claim is about the Wine process as
//! Linux sees it (smaps, Committed_AS), which a Windows test cannot read of itself (wineserver
//! opens files for Wine processes, so `Z:\proc\self` is the server). The model comparison
//! will drive the helper exactly this way, one helper per scenario process. And one small exe is
//! cheaper to cross-build than a windows-gnu build of every test target.
#![cfg(target_os = "linux")]

use vmlab_winos::protocol::*;
use vmlab_winos::wine::{SmapsBlock, WineHelper, WineSetup};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const PAGE: u64 = 4096;
const GRANULARITY: u64 = 64 * KIB;

const WHY: &str = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)";

/// A helper under Wine, holding vmlab-os's real-case lock (see Cargo.toml).
struct H {
    w: WineHelper,
    _lock: vmlab_os::RealLock,
}

fn start() -> H {
    let lock = vmlab_os::RealLock::acquire().expect("the real-case lock");
    let setup = WineSetup::from_env().expect("the Wine setup");
    let w = WineHelper::start(&setup).expect("the helper starts under Wine");
    H { w, _lock: lock }
}

/// A second helper (another scenario process) under the lock the first one holds.
fn start_another(_first: &H) -> WineHelper {
    let setup = WineSetup::from_env().expect("the Wine setup");
    WineHelper::start(&setup).expect("the helper starts under Wine")
}

fn at(region: &str, offset: u64) -> At {
    At::new(region, offset)
}

impl H {
    fn call(&mut self, r: Request) -> Response {
        self.w.call(&r).unwrap_or_else(|e| panic!("{e}"))
    }
    fn alloc(
        &mut self,
        name: Option<&str>,
        addr: Option<At>,
        size: u64,
        kind: AllocType,
        protect: u32,
    ) -> Response {
        self.call(Request::VirtualAlloc {
            name: name.map(str::to_string),
            addr,
            size,
            kind,
            protect,
        })
    }
    /// A successful allocation's returned address.
    fn alloc_ok(
        &mut self,
        name: Option<&str>,
        addr: Option<At>,
        size: u64,
        kind: AllocType,
        protect: u32,
    ) -> At {
        let r = self.alloc(name, addr.clone(), size, kind, protect);
        match r.value {
            Value::Addr(a) if r.ok => a,
            _ => panic!("VirtualAlloc({name:?}, {addr:?}, {size:#x}, {kind:?}) failed: {r:?}"),
        }
    }
    fn reserve(&mut self, name: &str, size: u64) -> At {
        self.alloc_ok(Some(name), None, size, AllocType::Reserve, PAGE_READWRITE)
    }
    fn free(&mut self, addr: At, size: u64, kind: FreeType) -> Response {
        self.call(Request::VirtualFree { addr, size, kind })
    }
    fn free_ok(&mut self, addr: At, size: u64, kind: FreeType) {
        let r = self.free(addr.clone(), size, kind);
        assert!(
            r.ok,
            "VirtualFree({addr:?}, {size:#x}, {kind:?}) failed: {r:?}"
        );
    }
    fn query(&mut self, addr: At) -> Region {
        match self.call(Request::VirtualQuery { addr }).value {
            Value::Region(r) => r,
            v => panic!("VirtualQuery answered {v:?}"),
        }
    }
    /// The allocation's regions as (offset, size, state, protect).
    fn regions(&mut self, region: &str) -> Vec<(u64, u64, u32, u32)> {
        match self
            .call(Request::QueryAllocation {
                region: region.into(),
            })
            .value
        {
            Value::Regions(rs) => rs
                .iter()
                .map(|r| {
                    assert_eq!(r.base_address.region, region, "{r:?}");
                    assert_eq!(r.allocation_base, Some(at(region, 0)), "{r:?}");
                    (r.base_address.offset, r.region_size, r.state, r.protect)
                })
                .collect(),
            v => panic!("QueryAllocation answered {v:?}"),
        }
    }
    fn locate(&mut self, region: &str) -> u64 {
        match self
            .call(Request::Locate {
                region: region.into(),
            })
            .value
        {
            Value::Number(a) => a,
            v => panic!("Locate answered {v:?}"),
        }
    }
    fn counters(&mut self) -> ProcessMemoryCounters {
        match self.call(Request::ProcessMemoryInfo).value {
            Value::Counters(c) => c,
            v => panic!("{v:?}"),
        }
    }
    fn perf(&mut self) -> PerformanceInformation {
        match self.call(Request::PerformanceInfo).value {
            Value::Performance(p) => p,
            v => panic!("{v:?}"),
        }
    }
    fn status(&mut self) -> MemoryStatusEx {
        match self.call(Request::MemoryStatus).value {
            Value::MemoryStatus(m) => m,
            v => panic!("{v:?}"),
        }
    }
    fn write(&mut self, addr: At, len: u64) {
        let r = self.call(Request::Write { addr, len, byte: 1 });
        assert!(r.ok, "{r:?}");
    }
    fn smaps(&self, addr: u64) -> SmapsBlock {
        self.w.smaps_at(addr).unwrap_or_else(|e| panic!("{e}"))
    }
}

fn fails_with(r: &Response, code: u32, what: &str) {
    assert!(
        !r.ok && r.error == Some(code),
        "{what}: want error {code}, got {r:?}"
    );
}

#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn it_runs_under_wine_8() {
    let _ = WHY;
    let mut h = start();
    let v = h.call(Request::WineVersion).value;
    assert_eq!(
        v,
        Value::Text(Some("8.0".into())),
        "these tests measure Wine 8.0"
    );
    let cmdline = std::fs::read_to_string(format!("/proc/{}/cmdline", h.w.unix_pid)).unwrap();
    assert!(
        cmdline.contains("vmlab-win-helper.exe"),
        "the child pid is the Wine process of the exe: {cmdline:?}"
    );
    let Value::SystemInfo(si) = h.call(Request::SystemInfo).value else {
        panic!()
    };
    assert_eq!(si.page_size as u64, PAGE);
    assert_eq!(si.allocation_granularity as u64, GRANULARITY);
    assert!(h.w.finish().unwrap().success());
}

/// W1: a reservation's base is 64 KiB aligned (a hint is rounded down), a size rounds up to whole
/// pages, and a range names every page it touches.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn granularity_and_page_rounding() {
    let mut h = start();
    for (name, size) in [("one", 1), ("page1", PAGE + 1), ("big", 3 * MIB + 5)] {
        h.reserve(name, size);
        assert_eq!(h.locate(name) % GRANULARITY, 0, "{name} base");
        let rounded = size.div_ceil(PAGE) * PAGE;
        assert_eq!(
            h.regions(name),
            vec![(0, rounded, MEM_RESERVE, 0)],
            "{name}: {size} bytes round up to whole pages"
        );
    }
    // A hint inside a free range is rounded down to 64 KiB; the size covers every page of
    // [hint, hint+size).
    h.reserve("x", MIB);
    h.free_ok(at("x", 0), 0, FreeType::Release);
    h.alloc_ok(
        Some("y"),
        Some(at("x", 0x1_2345)),
        0x1000,
        AllocType::Reserve,
        PAGE_READWRITE,
    );
    assert_eq!(h.locate("y"), h.locate("x") + 0x1_0000);
    assert_eq!(h.regions("y"), vec![(0, 0x4000, MEM_RESERVE, 0)]);
    // A 2-byte commit across a page boundary commits both pages.
    h.reserve("st", GRANULARITY);
    let a = h.alloc_ok(
        None,
        Some(at("st", 0xfff)),
        2,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    assert_eq!(
        a,
        at("st", 0),
        "the commit's address is rounded down to its page"
    );
    assert_eq!(
        h.regions("st"),
        vec![
            (0, 2 * PAGE, MEM_COMMIT, PAGE_READWRITE),
            (2 * PAGE, GRANULARITY - 2 * PAGE, MEM_RESERVE, 0)
        ]
    );
    // The rest of a partly used 64 KiB block is never another reservation's.
    h.reserve("small", PAGE);
    h.reserve("next", PAGE);
    let (s, n) = (h.locate("small"), h.locate("next"));
    assert!(n.abs_diff(s) >= GRANULARITY, "{s:#x} {n:#x}");
}

/// W2: the states and protections VirtualQuery reports through reserve, commit, decommit and
/// release.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn region_states_through_reserve_commit_decommit_release() {
    let mut h = start();
    // Reserved read-write: see wine_difference_a_decommitted_page_stays_a_region_of_its_own for
    // a reservation whose protection is not its commits'.
    h.alloc_ok(Some("r"), None, MIB, AllocType::Reserve, PAGE_READWRITE);
    assert_eq!(h.regions("r"), vec![(0, MIB, MEM_RESERVE, 0)]);
    // BaseAddress is the queried page (rounded down), RegionSize runs from it to the end of the
    // run of like pages (Learn, MEMORY_BASIC_INFORMATION).
    let q = h.query(at("r", 0x5123));
    assert_eq!(
        (q.base_address, q.region_size),
        (at("r", 0x5000), MIB - 0x5000)
    );
    assert_eq!(q.allocation_base, Some(at("r", 0)));
    assert_eq!(
        (q.allocation_protect, q.kind),
        (PAGE_READWRITE, MEM_PRIVATE)
    );
    // Commit two pages in the middle.
    h.alloc_ok(
        None,
        Some(at("r", 0x4000)),
        0x2000,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    assert_eq!(
        h.regions("r"),
        vec![
            (0, 0x4000, MEM_RESERVE, 0),
            (0x4000, 0x2000, MEM_COMMIT, PAGE_READWRITE),
            (0x6000, MIB - 0x6000, MEM_RESERVE, 0)
        ]
    );
    assert_eq!(h.query(at("r", 0x5000)).allocation_protect, PAGE_READWRITE);
    // Committing again is not an error and changes nothing; MEM_RESERVE|MEM_COMMIT at NULL
    // commits at once; a commit at NULL reserves too.
    h.alloc_ok(
        None,
        Some(at("r", 0x4000)),
        0x2000,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    assert_eq!(h.regions("r").len(), 3);
    h.alloc_ok(
        Some("rc"),
        None,
        0x1800,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    assert_eq!(
        h.regions("rc"),
        vec![(0, 0x2000, MEM_COMMIT, PAGE_READWRITE)]
    );
    h.alloc_ok(Some("c0"), None, PAGE, AllocType::Commit, PAGE_NOACCESS);
    assert_eq!(h.regions("c0"), vec![(0, PAGE, MEM_COMMIT, PAGE_NOACCESS)]);
    // Decommit one committed page and some reserved ones: only the committed page changes.
    h.free_ok(at("r", 0x3000), 0x2000, FreeType::Decommit);
    assert_eq!(
        h.regions("r"),
        vec![
            (0, 0x5000, MEM_RESERVE, 0),
            (0x5000, 0x1000, MEM_COMMIT, PAGE_READWRITE),
            (0x6000, MIB - 0x6000, MEM_RESERVE, 0)
        ]
    );
    // Decommit with size 0 at the base: the whole region.
    h.free_ok(at("r", 0), 0, FreeType::Decommit);
    assert_eq!(h.regions("r"), vec![(0, MIB, MEM_RESERVE, 0)]);
    // Release with mixed states, then the pages are free.
    h.alloc_ok(
        None,
        Some(at("r", 0)),
        PAGE,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    h.free_ok(at("r", 0), 0, FreeType::Release);
    let q = h.query(at("r", 0));
    assert_eq!((q.state, q.allocation_base, q.kind), (MEM_FREE, None, 0));
    // Committed memory reads as zero; decommit and commit again gives zero pages back.
    h.alloc_ok(
        Some("z"),
        None,
        GRANULARITY,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    h.write(at("z", 0), 2 * PAGE);
    let read = |h: &mut H| {
        h.call(Request::Read {
            addr: at("z", 0),
            len: 2 * PAGE,
        })
        .value
    };
    assert_eq!(read(&mut h), Value::Number(2 * PAGE));
    h.free_ok(at("z", 0), 2 * PAGE, FreeType::Decommit);
    h.alloc_ok(
        None,
        Some(at("z", 0)),
        2 * PAGE,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    assert_eq!(read(&mut h), Value::Number(0));
}

/// W2's VirtualAlloc rules, each failure with the code GetLastError gives.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn virtualalloc_argument_rules() {
    let mut h = start();
    h.reserve("x", MIB);
    h.free_ok(at("x", 0), 0, FreeType::Release);
    h.alloc_ok(
        Some("y"),
        Some(at("x", 0)),
        4 * PAGE,
        AllocType::Reserve,
        PAGE_READWRITE,
    );
    let rw = PAGE_READWRITE;
    let r = h.alloc(None, Some(at("x", 0x8_0000)), PAGE, AllocType::Commit, rw);
    fails_with(&r, ERROR_INVALID_ADDRESS, "MEM_COMMIT of free pages");
    let r = h.alloc(
        None,
        Some(at("y", 3 * PAGE)),
        2 * PAGE,
        AllocType::Commit,
        rw,
    );
    fails_with(
        &r,
        ERROR_INVALID_ADDRESS,
        "MEM_COMMIT past the reservation's end",
    );
    assert_eq!(
        h.regions("y"),
        vec![(0, 4 * PAGE, MEM_RESERVE, 0)],
        "nothing committed"
    );
    let r = h.alloc(None, Some(at("y", 0)), PAGE, AllocType::Reserve, rw);
    fails_with(&r, ERROR_INVALID_ADDRESS, "MEM_RESERVE of reserved pages");
    let r = h.alloc(None, Some(at("y", 0)), PAGE, AllocType::ReserveCommit, rw);
    fails_with(
        &r,
        ERROR_INVALID_ADDRESS,
        "MEM_RESERVE|MEM_COMMIT over a reservation",
    );
    let r = h.alloc(None, None, 0, AllocType::Reserve, rw);
    fails_with(&r, ERROR_INVALID_PARAMETER, "size 0");
    let r = h.alloc(None, None, PAGE, AllocType::Reserve, 0);
    fails_with(&r, ERROR_INVALID_PARAMETER, "protection 0");
    let r = h.alloc(None, None, PAGE, AllocType::Raw(0), rw);
    fails_with(&r, ERROR_INVALID_PARAMETER, "allocation type 0");
    // Two reservations side by side: a commit across both fails, nothing changes.
    h.reserve("w", MIB);
    h.free_ok(at("w", 0), 0, FreeType::Release);
    h.alloc_ok(
        Some("a"),
        Some(at("w", 0)),
        GRANULARITY,
        AllocType::Reserve,
        rw,
    );
    h.alloc_ok(
        Some("b"),
        Some(at("w", GRANULARITY)),
        GRANULARITY,
        AllocType::Reserve,
        rw,
    );
    let r = h.alloc(
        None,
        Some(at("a", GRANULARITY / 2)),
        GRANULARITY,
        AllocType::Commit,
        rw,
    );
    fails_with(
        &r,
        ERROR_INVALID_ADDRESS,
        "MEM_COMMIT across two reservations",
    );
    assert_eq!(h.regions("a"), vec![(0, GRANULARITY, MEM_RESERVE, 0)]);
    // MEM_RESET keeps the pages committed.
    h.alloc_ok(None, Some(at("a", 0)), PAGE, AllocType::Commit, rw);
    h.alloc_ok(None, Some(at("a", 0)), PAGE, AllocType::Reset, rw);
    assert_eq!(h.query(at("a", 0)).state, MEM_COMMIT);
}

/// W2's VirtualFree rules, each failure with the code GetLastError gives.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn virtualfree_argument_rules() {
    let mut h = start();
    h.alloc_ok(
        Some("y"),
        None,
        4 * PAGE,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    let r = h.free(at("y", 0), PAGE, FreeType::Release);
    fails_with(&r, ERROR_INVALID_PARAMETER, "MEM_RELEASE with a size");
    let r = h.free(at("y", PAGE), 0, FreeType::Release);
    fails_with(&r, ERROR_INVALID_ADDRESS, "MEM_RELEASE not at the base");
    let r = h.free(at("y", 0), 0, FreeType::Raw(MEM_DECOMMIT | MEM_RELEASE));
    fails_with(&r, ERROR_INVALID_PARAMETER, "MEM_DECOMMIT|MEM_RELEASE");
    let r = h.free(at("y", 0), 0, FreeType::Raw(0));
    fails_with(&r, ERROR_INVALID_PARAMETER, "free type 0");
    let r = h.free(at("y", 2 * PAGE), 4 * PAGE, FreeType::Decommit);
    fails_with(
        &r,
        ERROR_INVALID_PARAMETER,
        "MEM_DECOMMIT past the reservation's end",
    );
    assert_eq!(
        h.regions("y"),
        vec![(0, 4 * PAGE, MEM_COMMIT, PAGE_READWRITE)],
        "failed calls change nothing"
    );
    // Decommit across two reservations fails and changes neither.
    h.reserve("w", MIB);
    h.free_ok(at("w", 0), 0, FreeType::Release);
    let rw = PAGE_READWRITE;
    h.alloc_ok(
        Some("a"),
        Some(at("w", 0)),
        GRANULARITY,
        AllocType::ReserveCommit,
        rw,
    );
    h.alloc_ok(
        Some("b"),
        Some(at("w", GRANULARITY)),
        GRANULARITY,
        AllocType::ReserveCommit,
        rw,
    );
    let r = h.free(at("a", GRANULARITY / 2), GRANULARITY, FreeType::Decommit);
    fails_with(
        &r,
        ERROR_INVALID_PARAMETER,
        "MEM_DECOMMIT across two reservations",
    );
    assert_eq!(h.regions("a"), vec![(0, GRANULARITY, MEM_COMMIT, rw)]);
    assert_eq!(h.regions("b"), vec![(0, GRANULARITY, MEM_COMMIT, rw)]);
    // Decommitting reserved pages is not an error.
    h.reserve("r", GRANULARITY);
    h.free_ok(at("r", 0), PAGE, FreeType::Decommit);
    // A released reservation cannot be released again.
    h.free_ok(at("r", 0), 0, FreeType::Release);
    let r = h.free(at("r", 0), 0, FreeType::Release);
    fails_with(
        &r,
        ERROR_INVALID_PARAMETER,
        "MEM_RELEASE of free pages (Wine's code)",
    );
    // Wine's code for any VirtualFree of free pages (docs/known-differences.md: Windows's is
    // not confirmed).
    let r = h.free(at("r", 0), PAGE, FreeType::Decommit);
    fails_with(
        &r,
        ERROR_INVALID_PARAMETER,
        "MEM_DECOMMIT of free pages (Wine's code)",
    );
    // Size 0 decommits a whole region only from its base.
    h.reserve("q", GRANULARITY);
    let r = h.free(at("q", PAGE), 0, FreeType::Decommit);
    fails_with(
        &r,
        ERROR_INVALID_ADDRESS,
        "MEM_DECOMMIT with size 0 not at the base",
    );
}

/// W4: a first touch of a committed page adds exactly that page to the working set.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn working_set_grows_by_exactly_the_touched_bytes() {
    // Wine's WorkingSetSize is the process's Rss: with THP `always` a first write could fault a
    // whole 2 MiB page, and the page-exact figures below would not hold.
    let thp =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    assert!(
        !thp.contains("[always]"),
        "THP is `always` on this host ({}): WorkingSetSize would grow by huge pages",
        thp.trim()
    );
    let mut h = start();
    h.alloc_ok(
        Some("w"),
        None,
        64 * MIB,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    // The helper's own heap settles after its first few replies.
    for _ in 0..3 {
        h.counters();
    }
    let mut offset = 0;
    for pages in [1, 7, 256, 1000] {
        let before = h.counters().working_set_size;
        h.write(at("w", offset), pages * PAGE);
        let after = h.counters().working_set_size;
        assert_eq!(after - before, pages * PAGE, "{pages} pages written");
        // Touching them again adds nothing; a read touch of new pages adds them too.
        h.write(at("w", offset), pages * PAGE);
        assert_eq!(h.counters().working_set_size, after);
        offset += pages * PAGE;
    }
    // Decommit gives them back.
    let before = h.counters().working_set_size;
    h.free_ok(at("w", 0), PAGE, FreeType::Decommit);
    assert_eq!(before - h.counters().working_set_size, PAGE);
}

/// W2: reserved pages are not accessible; a touch is an access violation that ends the process.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn a_touch_of_reserved_memory_is_an_access_violation() {
    let mut h = start();
    h.reserve("r", GRANULARITY);
    let r =
        h.w.call(&Request::Touch {
            addr: at("r", 0),
            len: 1,
        })
        .unwrap();
    assert_eq!(r.error, Some(STATUS_ACCESS_VIOLATION), "{r:?}");
    let H { w, _lock } = h;
    let status = w.wait().unwrap();
    // ExitProcess(0xC0000005): a Linux exit status keeps the low 8 bits.
    assert_eq!(status.code(), Some((ACCESS_VIOLATION_EXIT & 0xff) as i32));
}

/// W7: pagefile-backed sections and their views as VirtualQuery shows them.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn sections_and_views() {
    let mut h = start();
    let ok = |r: Response| assert!(r.ok, "{r:?}");
    ok(h.call(Request::CreateSection {
        name: "s".into(),
        size: 16 * MIB,
        kind: SectionKind::Commit,
        protect: PAGE_READWRITE,
        os_name: None,
    }));
    ok(h.call(Request::MapView {
        section: "s".into(),
        name: "cow".into(),
        access: MapAccess::Copy,
        offset: 0,
        size: 0,
    }));
    assert_eq!(
        h.regions("cow"),
        vec![(0, 16 * MIB, MEM_COMMIT, PAGE_WRITECOPY)]
    );
    assert_eq!(h.query(at("cow", 0)).kind, MEM_MAPPED);
    ok(h.call(Request::MapView {
        section: "s".into(),
        name: "rw".into(),
        access: MapAccess::Write,
        offset: 0,
        size: 4 * MIB,
    }));
    assert_eq!(
        h.regions("rw"),
        vec![(0, 4 * MIB, MEM_COMMIT, PAGE_READWRITE)]
    );
    // A SEC_RESERVE view is reserved until VirtualAlloc commits its pages, which VirtualFree
    // cannot decommit; VirtualFree cannot release a view either.
    ok(h.call(Request::CreateSection {
        name: "sr".into(),
        size: 16 * MIB,
        kind: SectionKind::Reserve,
        protect: PAGE_READWRITE,
        os_name: None,
    }));
    ok(h.call(Request::MapView {
        section: "sr".into(),
        name: "v".into(),
        access: MapAccess::Write,
        offset: 0,
        size: 0,
    }));
    assert_eq!(h.regions("v"), vec![(0, 16 * MIB, MEM_RESERVE, 0)]);
    h.alloc_ok(
        None,
        Some(at("v", 0)),
        PAGE,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    assert_eq!(
        h.regions("v"),
        vec![
            (0, PAGE, MEM_COMMIT, PAGE_READWRITE),
            (PAGE, 16 * MIB - PAGE, MEM_RESERVE, 0)
        ]
    );
    let r = h.free(at("v", 0), PAGE, FreeType::Decommit);
    fails_with(&r, ERROR_INVALID_PARAMETER, "MEM_DECOMMIT in a view");
    let r = h.free(at("v", 0), 0, FreeType::Release);
    fails_with(&r, ERROR_INVALID_PARAMETER, "MEM_RELEASE of a view");
    ok(h.call(Request::UnmapView { region: "v".into() }));
    assert_eq!(h.query(at("v", 0)).state, MEM_FREE);
    ok(h.call(Request::Close {
        handle: "sr".into(),
    }));
    ok(h.call(Request::Close { handle: "s".into() }));
}

/// Objects named in the Windows namespace span processes: a second helper that creates a job or
/// a section of the same name opens the first one's (ERROR_ALREADY_EXISTS), and a page written
/// through one process's view reads back through the other's.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn named_jobs_and_sections_span_processes() {
    let mut a = start();
    let mut b = start_another(&a);
    let os_name = Some(format!("vmlab-winos-test-{}", std::process::id()));
    let job = |os_name: &Option<String>| Request::CreateJob {
        name: "j".into(),
        os_name: os_name.clone(),
    };
    let r = a.call(job(&os_name));
    assert!(r.ok && r.error.is_none(), "{r:?}");
    let r = b.call(&job(&os_name)).unwrap();
    assert!(r.ok && r.error == Some(ERROR_ALREADY_EXISTS), "{r:?}");
    for h in [&mut a.w, &mut b] {
        let r = h.call(&Request::AssignToJob { job: "j".into() }).unwrap();
        assert!(r.ok, "{r:?}");
    }
    let section = |os_name: &Option<String>| Request::CreateSection {
        name: "s".into(),
        size: MIB,
        kind: SectionKind::Commit,
        protect: PAGE_READWRITE,
        os_name: os_name.as_ref().map(|n| format!("{n}-s")),
    };
    let view = Request::MapView {
        section: "s".into(),
        name: "v".into(),
        access: MapAccess::Write,
        offset: 0,
        size: 0,
    };
    assert!(a.call(section(&os_name)).ok);
    assert!(a.call(view.clone()).ok);
    let r = b.call(&section(&os_name)).unwrap();
    assert_eq!(r.error, Some(ERROR_ALREADY_EXISTS), "{r:?}");
    assert!(b.call(&view).unwrap().ok);
    a.write(at("v", 0), 3 * PAGE);
    let r = b
        .call(&Request::Read {
            addr: at("v", 0),
            len: 4 * PAGE,
        })
        .unwrap();
    assert_eq!(r.value, Value::Number(3 * PAGE));
    assert!(b.finish().unwrap().success());
}

/// The seed's claim, from the Linux side: under Wine a MEM_RESERVE is a PROT_NONE mapping the
/// kernel does not account (no `ac` in VmFlags), and a commit makes its pages an accountable
/// read-write mapping of their own; a decommit makes them PROT_NONE and unaccounted again.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_maps_a_reserve_prot_none_unaccounted_and_a_commit_accountable() {
    let mut h = start();
    h.reserve("r", 64 * MIB);
    let base = h.locate("r");
    let b = h.smaps(base);
    assert_eq!(b.perms, "---p", "{b:?}");
    assert!(!b.has_flag("ac") && !b.has_flag("nr"), "{b:?}");
    assert!(
        b.start <= base && base + 64 * MIB <= b.end,
        "one mapping covers it: {b:?}"
    );
    h.alloc_ok(
        None,
        Some(at("r", MIB)),
        MIB,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    let c = h.smaps(base + MIB);
    assert_eq!((c.start, c.end), (base + MIB, base + 2 * MIB), "{c:?}");
    assert_eq!(c.perms, "rw-p");
    assert!(c.has_flag("ac"), "a commit is accountable: {c:?}");
    assert_eq!(c.rss_kb, 0, "untouched");
    let rest = h.smaps(base + 2 * MIB);
    assert_eq!(rest.perms, "---p");
    assert!(!rest.has_flag("ac"));
    h.write(at("r", MIB), 16 * PAGE);
    assert_eq!(h.smaps(base + MIB).rss_kb, 16 * PAGE / KIB);
    h.free_ok(at("r", MIB), MIB, FreeType::Decommit);
    let d = h.smaps(base + MIB);
    assert_eq!(d.perms, "---p", "{d:?}");
    assert!(!d.has_flag("ac") && d.rss_kb == 0, "{d:?}");
    // The same in Linux's commit ledger: reserving 4 GiB leaves Committed_AS where it was,
    // committing it raises it by 4 GiB, decommitting gives it back (measured: +2 to 4 MiB,
    // exactly +4 GiB, −4 GiB to 2 MiB; host noise allowed: 256 MiB, and the real-case lock keeps
    // vmlab-os's cases away meanwhile).
    let committed_as = || -> i64 {
        let m = std::fs::read_to_string("/proc/meminfo").unwrap();
        m.lines()
            .find_map(|l| l.strip_prefix("Committed_AS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<i64>().ok())
            .expect("Committed_AS in /proc/meminfo")
            * KIB as i64
    };
    let near = |delta: i64, want: i64, what: &str| {
        assert!(
            (delta - want).unsigned_abs() < 256 * MIB,
            "{what}: Committed_AS moved by {delta} bytes, want about {want}"
        );
    };
    let c0 = committed_as();
    h.reserve("big", 4 * GIB);
    let c1 = committed_as();
    near(c1 - c0, 0, "MEM_RESERVE of 4 GiB");
    h.alloc_ok(
        None,
        Some(at("big", 0)),
        4 * GIB,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    let c2 = committed_as();
    near(c2 - c1, 4 * GIB as i64, "MEM_COMMIT of 4 GiB");
    h.free_ok(at("big", 0), 0, FreeType::Decommit);
    let c3 = committed_as();
    near(c3 - c2, -(4 * GIB as i64), "MEM_DECOMMIT of 4 GiB");
    // A copy-on-write view is an accountable private mapping of the whole view; a SEC_RESERVE
    // view is a shared mapping (Wine keeps the reserved state itself).
    h.call(Request::CreateSection {
        name: "s".into(),
        size: 16 * MIB,
        kind: SectionKind::Commit,
        protect: PAGE_READWRITE,
        os_name: None,
    });
    h.call(Request::MapView {
        section: "s".into(),
        name: "cow".into(),
        access: MapAccess::Copy,
        offset: 0,
        size: 0,
    });
    let cow = h.locate("cow");
    let v = h.smaps(cow);
    assert_eq!(
        (v.start, v.end - v.start, v.perms.as_str()),
        (cow, 16 * MIB, "rw-p")
    );
    assert!(v.has_flag("ac"), "{v:?}");
    h.call(Request::CreateSection {
        name: "sr".into(),
        size: 16 * MIB,
        kind: SectionKind::Reserve,
        protect: PAGE_READWRITE,
        os_name: None,
    });
    h.call(Request::MapView {
        section: "sr".into(),
        name: "v".into(),
        access: MapAccess::Write,
        offset: 0,
        size: 0,
    });
    let sr = h.locate("v");
    let v = h.smaps(sr);
    assert_eq!(v.perms, "rw-s", "{v:?}");
    assert!(v.has_flag("sh") && !v.has_flag("ac"), "{v:?}");
}

// ---- Wine 8.0's differences from Windows (docs/known-differences.md lists each by name) ----

/// The names of the `wine_difference_*` tests in this file.
fn difference_tests() -> Vec<String> {
    let me = include_str!("wine.rs");
    me.lines()
        .filter_map(|l| l.trim().strip_prefix("fn wine_difference_"))
        .filter_map(|rest| rest.split('(').next())
        .map(|n| format!("wine_difference_{n}"))
        .collect()
}

/// docs/known-differences.md's Wine section and these tests name the same differences, so that
/// neither list can drift from the other (and each listed one is asserted below).
#[test]
fn the_documented_wine_differences_are_the_tested_ones() {
    let doc = include_str!("../../../docs/known-differences.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Windows backend under Wine 8.0"))
        .expect("docs/known-differences.md has a section `Windows backend under Wine 8.0`");
    let mut documented: Vec<String> = section
        .split('`')
        .filter(|w| {
            w.starts_with("wine_difference_")
                && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(str::to_string)
        .collect();
    documented.sort();
    documented.dedup();
    let mut tested = difference_tests();
    tested.sort();
    assert!(tested.len() >= 8, "{tested:?}");
    assert_eq!(documented, tested);
}

/// Windows: PrivateUsage (= PagefileUsage) is the process's commit charge (W4). Wine: 0 however
/// much is committed and touched; PagefileUsage is the Linux process's anonymous Rss + swap, and
/// WorkingSetSize its Rss, so neither follows commit.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_private_usage_stays_zero() {
    let mut h = start();
    let before = h.counters();
    h.alloc_ok(
        Some("c"),
        None,
        GIB,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    h.write(at("c", 0), 16 * MIB);
    let after = h.counters();
    assert_eq!((before.private_usage, after.private_usage), (0, 0));
    assert!(
        after.pagefile_usage - before.pagefile_usage < 64 * MIB,
        "a 1 GiB commit raised PagefileUsage by {} bytes",
        after.pagefile_usage - before.pagefile_usage
    );
    // What Wine reports instead: PagefileUsage is the Wine process's RssAnon + VmSwap, and
    // WorkingSetSize its VmRSS (/proc/PID/status, read while the helper waits for a request).
    let status = std::fs::read_to_string(format!("/proc/{}/status", h.w.unix_pid)).unwrap();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/PID/status"))
    };
    assert_eq!(
        after.pagefile_usage,
        (kb("RssAnon:") + kb("VmSwap:")) * KIB,
        "{after:?}"
    );
    assert_eq!(after.working_set_size, kb("VmRSS:") * KIB, "{after:?}");
}

/// Windows: CommitTotal rises by the committed pages at MEM_COMMIT (W5). Wine: CommitTotal
/// follows the Linux host's RAM use, so a 4 GiB untouched commit moves it by host noise only.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_commit_does_not_raise_commit_total() {
    let mut h = start();
    let before = h.perf();
    h.alloc_ok(
        Some("c"),
        None,
        4 * GIB,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    let after = h.perf();
    let delta = after.commit_total as i64 - before.commit_total as i64;
    assert!(
        delta.unsigned_abs() * PAGE < 2 * GIB,
        "CommitTotal moved by {delta} pages for a 4 GiB commit"
    );
}

/// Windows: CommitLimit is RAM + the page files (W3). Wine: the host's RAM (+ 2 pages, and at
/// most the host's swap besides), whatever the prefix's page file.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_commit_limit_is_host_ram_plus_swap() {
    let mut h = start();
    let p = h.perf();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb = |key: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    let swap_pages = kb("SwapTotal:") * KIB / PAGE;
    // Measured on a host without swap: PhysicalTotal + 2. With swap, Wine may add it (not
    // measured), so the swap pages are allowed, never a page file of the prefix's.
    assert!(
        p.commit_limit >= p.physical_total && p.commit_limit <= p.physical_total + swap_pages + 2,
        "CommitLimit {} PhysicalTotal {} host swap pages {swap_pages}",
        p.commit_limit,
        p.physical_total
    );
    assert!(p.physical_total.abs_diff(kb("MemTotal:") * KIB / PAGE) <= 256);
    let m = h.status();
    assert!(
        (m.total_page_file / PAGE).abs_diff(p.commit_limit) <= 2,
        "{m:?}"
    );
}

/// Windows: ullAvailPageFile is what the process can still commit, ≤ CommitLimit − CommitTotal
/// (W5). Wine: it equals ullAvailPhys.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_avail_page_file_is_avail_phys() {
    let mut h = start();
    let m = h.status();
    assert_eq!(m.avail_page_file, m.avail_phys, "{m:?}");
}

/// Windows: CommitPeak is the peak commit charge since boot, ≥ CommitTotal; SystemCache and the
/// Kernel* fields are non-zero (W5). Wine: all 0.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_commit_peak_and_kernel_fields_are_zero() {
    let mut h = start();
    let p = h.perf();
    assert!(p.commit_total > 0);
    assert_eq!(
        (
            p.commit_peak,
            p.system_cache,
            p.kernel_total,
            p.kernel_paged,
            p.kernel_nonpaged
        ),
        (0, 0, 0, 0, 0),
        "{p:?}"
    );
}

/// Windows: PageFaultCount counts every fault, demand-zero ones too (W4). Wine: 0 after touching
/// thousands of new pages.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_page_fault_count_is_zero() {
    let mut h = start();
    h.alloc_ok(
        Some("c"),
        None,
        16 * MIB,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    h.write(at("c", 0), 16 * MIB);
    assert_eq!(h.counters().page_fault_count, 0);
}

/// Windows: a job's limits read back as set, and a commit past JOB_OBJECT_LIMIT_PROCESS_MEMORY
/// fails (W6). Wine: SetInformationJobObject succeeds, QueryInformationJobObject reads back 0,
/// and a 256 MiB commit under a 128 MiB process limit succeeds.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_job_memory_limits_are_not_enforced() {
    let mut h = start();
    assert!(
        h.call(Request::CreateJob {
            name: "j".into(),
            os_name: None
        })
        .ok
    );
    let limits = JobLimits {
        limit_flags: JOB_OBJECT_LIMIT_PROCESS_MEMORY | JOB_OBJECT_LIMIT_JOB_MEMORY,
        process_memory_limit: 128 * MIB,
        job_memory_limit: 192 * MIB,
        ..JobLimits::default()
    };
    let r = h.call(Request::SetJobLimits {
        job: "j".into(),
        limits,
    });
    assert!(r.ok, "{r:?}");
    assert!(h.call(Request::AssignToJob { job: "j".into() }).ok);
    let Value::Job(read) = h.call(Request::QueryJob { job: "j".into() }).value else {
        panic!()
    };
    assert_eq!(read, JobLimits::default(), "read back as 0");
    let r = h.alloc(
        Some("c"),
        None,
        256 * MIB,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    assert!(r.ok, "the commit past the limit succeeds: {r:?}");
    // After the 256 MiB commit the peaks are still 0: Wine does not count the job's commit
    // (on Windows PeakProcessMemoryUsed and PeakJobMemoryUsed follow every commit, W6).
    let Value::Job(after) = h.call(Request::QueryJob { job: "j".into() }).value else {
        panic!()
    };
    assert_eq!(
        (after.peak_process_memory_used, after.peak_job_memory_used),
        (0, 0),
        "{after:?}"
    );
    assert_eq!(after, JobLimits::default(), "still all 0");
}

/// Windows: JOB_OBJECT_LIMIT_WORKINGSET caps each process's working set: writing 32 MiB
/// under an 8 MiB MaximumWorkingSetSize leaves at most 8 MiB of it in the working set, the
/// rest trimmed (W6; Learn, JOBOBJECT_BASIC_LIMIT_INFORMATION). Wine: SetInformationJobObject
/// succeeds, the limits read back as 0, and all 32 MiB stay in the working set (Linux's Rss).
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_job_working_set_limit_is_not_enforced() {
    let mut h = start();
    assert!(
        h.call(Request::CreateJob {
            name: "j".into(),
            os_name: None
        })
        .ok
    );
    let limits = JobLimits {
        limit_flags: JOB_OBJECT_LIMIT_WORKINGSET,
        minimum_working_set_size: MIB,
        maximum_working_set_size: 8 * MIB,
        ..JobLimits::default()
    };
    let r = h.call(Request::SetJobLimits {
        job: "j".into(),
        limits,
    });
    assert!(r.ok, "{r:?}");
    assert!(h.call(Request::AssignToJob { job: "j".into() }).ok);
    let Value::Job(read) = h.call(Request::QueryJob { job: "j".into() }).value else {
        panic!()
    };
    assert_eq!(read, JobLimits::default(), "read back as 0: {read:?}");
    h.alloc_ok(
        Some("w"),
        None,
        32 * MIB,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    // The helper's own heap settles after its first few replies.
    for _ in 0..3 {
        h.counters();
    }
    let before = h.counters().working_set_size;
    h.write(at("w", 0), 32 * MIB);
    let grew = h.counters().working_set_size - before;
    assert!(
        (32 * MIB..40 * MIB).contains(&grew),
        "all 32 MiB stay in the working set: it grew by {grew} bytes"
    );
}

/// Windows: inside a job with a commit limit, GlobalMemoryStatusEx's ullTotalPageFile is the
/// smaller of the system's and the job's limit (W5, W6). Wine: the job changes nothing.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_total_page_file_ignores_the_job_limit() {
    let mut h = start();
    let before = h.status();
    h.call(Request::CreateJob {
        name: "j".into(),
        os_name: None,
    });
    h.call(Request::SetJobLimits {
        job: "j".into(),
        limits: JobLimits {
            limit_flags: JOB_OBJECT_LIMIT_PROCESS_MEMORY,
            process_memory_limit: 128 * MIB,
            ..JobLimits::default()
        },
    });
    assert!(h.call(Request::AssignToJob { job: "j".into() }).ok);
    let after = h.status();
    assert!(after.total_page_file > 128 * MIB);
    assert_eq!(after.total_page_file, before.total_page_file);
}

/// Windows: a SEC_COMMIT section is charged for its size when created, and a FILE_MAP_COPY view
/// for the whole view when mapped (W7). Wine: neither moves PrivateUsage or CommitTotal by more
/// than host noise.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_sections_and_copy_views_are_not_charged() {
    let mut h = start();
    let before = h.perf();
    h.call(Request::CreateSection {
        name: "s".into(),
        size: 2 * GIB,
        kind: SectionKind::Commit,
        protect: PAGE_READWRITE,
        os_name: None,
    });
    let r = h.call(Request::MapView {
        section: "s".into(),
        name: "cow".into(),
        access: MapAccess::Copy,
        offset: 0,
        size: 0,
    });
    assert!(r.ok, "{r:?}");
    let after = h.perf();
    let delta = after.commit_total as i64 - before.commit_total as i64;
    assert!(
        delta.unsigned_abs() * PAGE < GIB,
        "CommitTotal moved by {delta} pages for 4 GiB of charges"
    );
    assert_eq!(h.counters().private_usage, 0);
}

/// Windows: the first read of a committed page is a demand-zero fault that puts a zeroed page in
/// the working set, as a write does (W2, W4). Wine: a read maps Linux's shared zero page, which
/// is not in RSS, so WorkingSetSize does not move until the page is written.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_a_read_touch_adds_nothing_to_the_working_set() {
    let mut h = start();
    h.alloc_ok(
        Some("w"),
        None,
        16 * MIB,
        AllocType::ReserveCommit,
        PAGE_READWRITE,
    );
    for _ in 0..3 {
        h.counters();
    }
    let before = h.counters().working_set_size;
    assert!(
        h.call(Request::Touch {
            addr: at("w", 0),
            len: 256 * PAGE
        })
        .ok
    );
    assert_eq!(h.counters().working_set_size, before);
    h.write(at("w", 0), 256 * PAGE);
    assert_eq!(h.counters().working_set_size - before, 256 * PAGE);
}

/// Windows: MEM_RESET "cannot be used with any other value" (Learn, VirtualAlloc), so
/// MEM_RESET|MEM_RESERVE fails with ERROR_INVALID_PARAMETER. Wine: it succeeds and reserves.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_mem_reset_with_another_flag_is_accepted() {
    let mut h = start();
    let kind = AllocType::Raw(MEM_RESET | MEM_RESERVE);
    let r = h.alloc(Some("x"), None, GRANULARITY, kind, PAGE_READWRITE);
    assert!(r.ok, "{r:?}");
    assert_eq!(h.regions("x"), vec![(0, GRANULARITY, MEM_RESERVE, 0)]);
}

/// Windows: VirtualQuery's region is the run of consecutive pages with the same state, the same
/// allocation and the same access (Learn, VirtualQuery remarks), so a decommitted page (reserved,
/// Protect 0) joins the reserved pages beside it. Wine: a page decommitted from a commit with
/// another protection than the reservation's stays a region of its own.
#[test]
#[ignore = "needs Wine and the exe: run by `cargo xtask test` (Windows backend under Wine)"]
fn wine_difference_a_decommitted_page_stays_a_region_of_its_own() {
    let mut h = start();
    h.alloc_ok(
        Some("r"),
        None,
        GRANULARITY,
        AllocType::Reserve,
        PAGE_READONLY,
    );
    h.alloc_ok(
        None,
        Some(at("r", PAGE)),
        PAGE,
        AllocType::Commit,
        PAGE_READWRITE,
    );
    h.free_ok(at("r", PAGE), PAGE, FreeType::Decommit);
    assert_eq!(
        h.regions("r"),
        vec![
            (0, PAGE, MEM_RESERVE, 0),
            (PAGE, PAGE, MEM_RESERVE, 0),
            (2 * PAGE, GRANULARITY - 2 * PAGE, MEM_RESERVE, 0)
        ]
    );
}
