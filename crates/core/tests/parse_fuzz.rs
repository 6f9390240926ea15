//! A seeded, deterministic no-panic sweep of the scenario parser: valid scenarios (the fuzz seed
//! corpus) mutated by deleting, inserting and replacing characters and splicing lines, ~20k cases.
//! A failure prints its seed; `SEED=<n> cargo test -p vmlab-core --test parse_fuzz` reruns that case.

use std::panic::{catch_unwind, AssertUnwindSafe};
use vmlab_core::scenario::{parse, Scenario};

/// The valid scenarios the mutations start from: the same files the cargo-fuzz target uses as seeds.
const SEEDS: &[&str] = &[
    include_str!("../../../fuzz/seeds/fork-after-merge.vmlab"),
    include_str!("../../../fuzz/seeds/mode2-limits.vmlab"),
    include_str!("../../../fuzz/seeds/cow-and-smaps.vmlab"),
    include_str!("../../../fuzz/seeds/tmpfs-shm-oom.vmlab"),
];

const CASES: u64 = 20_000;

/// Characters and fragments that sit on the parser's edges: separators, signs, units, huge numbers,
/// multi-byte characters, line endings.
const FRAGMENTS: &[&str] = &[
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "#",
    "=",
    "==",
    "!=",
    "<=",
    ">",
    ".",
    "..",
    "[",
    "]",
    "%",
    "+",
    "-",
    "±",
    "+/-",
    "0",
    "1",
    "9",
    ".5",
    "0x",
    "0xffffffffffffffffff",
    "18446744073709551616",
    "99999999999999999999999999",
    "B",
    "KiB",
    "kB",
    "MiB",
    "GiB",
    "TiB",
    "pages",
    "%ram",
    "%swap",
    "%ramswap",
    "λ",
    "é",
    "✓",
    "\u{feff}",
    "\u{0}",
    "\u{2028}",
    "machine",
    "linux",
    "measured",
    "spawn",
    "expect",
    "kill",
    "sysctl",
    "vm.",
    "meminfo.",
    ".smaps.",
    ".rollup.",
    ".status.",
    "mmap",
    "fork",
    "clone",
    "exec",
    "tmpfs",
    "shm",
    "anon",
    "file",
    "private",
    "shared",
    "below=",
    "above=",
    "at=",
    "gap=",
    "offset=",
    "ok",
    "ENOMEM",
    "killed",
    "running",
    "adj=",
    "ram=",
    "swap=",
];

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 so that neighbouring seeds give unrelated streams (and 0 is not a fixed point).
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The seeds split into lines, each keeping its `\n`.
fn seed_lines() -> Vec<Vec<&'static str>> {
    SEEDS
        .iter()
        .map(|s| s.split_inclusive('\n').collect())
        .collect()
}

/// One mutated scenario for `seed`.
fn mutate(seeds: &[Vec<&str>], seed: u64) -> String {
    let mut rng = Rng::new(seed);
    // A prefix of a valid scenario is valid. Short prefixes (the header, the machine and a few
    // statements; splicing brings in later lines) keep 20k cases fast in a debug build.
    let lines = &seeds[rng.below(seeds.len())];
    let keep = 3 + rng.below(6);
    let mut text: String = lines.iter().take(keep).copied().collect();
    for _ in 0..1 + rng.below(6) {
        // A random char boundary: String edits are memmoves, fast even unoptimised.
        let mut at = rng.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let next_boundary =
            |from: usize| (from + 1..=text.len()).find(|&b| text.is_char_boundary(b));
        match rng.below(6) {
            0 => {
                let mut end = at;
                for _ in 0..1 + rng.below(4) {
                    end = next_boundary(end).unwrap_or(end);
                }
                text.replace_range(at..end, "");
            }
            1 => text.insert_str(at, FRAGMENTS[rng.below(FRAGMENTS.len())]),
            2 => {
                if let Some(end) = next_boundary(at) {
                    let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                    text.replace_range(
                        at..end,
                        frag.get(..frag.chars().next().map_or(0, char::len_utf8))
                            .unwrap_or("x"),
                    );
                }
            }
            3 => {
                // Splice a line of another seed in at a line start.
                let other = &seeds[rng.below(seeds.len())];
                let line = other[rng.below(other.len())];
                let start = text[..at].rfind('\n').map_or(0, |p| p + 1);
                text.insert_str(start, line);
                if !line.ends_with('\n') {
                    text.insert(start + line.len(), '\n');
                }
            }
            4 => {
                // Duplicate or drop the line around `at`.
                let start = text[..at].rfind('\n').map_or(0, |p| p + 1);
                let end = text[at..].find('\n').map_or(text.len(), |p| at + p + 1);
                if rng.below(2) == 0 {
                    let line = text[start..end].to_string();
                    text.insert_str(start, &line);
                } else {
                    text.replace_range(start..end, "");
                }
            }
            _ => {
                // A random scalar value, any plane.
                let c = char::from_u32((rng.next() % 0x11_0000) as u32).unwrap_or('\u{fffd}');
                text.insert(at, c);
            }
        }
    }
    text
}

/// What must hold for any input: no panic; an `Err` has at least one diagnostic, each inside the
/// text; an `Ok` has its statements in source order.
fn check(src: &str) -> Result<(), String> {
    let result =
        catch_unwind(AssertUnwindSafe(|| parse(src))).map_err(|_| "parse panicked".to_string())?;
    let line_count = src.split('\n').count() as u32;
    match result {
        Ok(Scenario { stmts, .. }) => {
            for pair in stmts.windows(2) {
                if pair[0].pos >= pair[1].pos {
                    return Err(format!(
                        "statements out of order: {:?} then {:?}",
                        pair[0].pos, pair[1].pos
                    ));
                }
            }
            Ok(())
        }
        Err(diags) if diags.is_empty() => Err("an Err without diagnostics".into()),
        Err(diags) => match diags
            .iter()
            .find(|d| d.pos.line == 0 || d.pos.col == 0 || d.pos.line > line_count)
        {
            Some(d) => Err(format!("diagnostic outside the text: {d}")),
            None => Ok(()),
        },
    }
}

#[test]
fn seeds_parse() {
    for (i, s) in SEEDS.iter().enumerate() {
        if let Err(d) = parse(s) {
            panic!("seed {i} does not parse: {}", d[0]);
        }
    }
}

#[test]
fn mutated_scenarios_never_panic() {
    let seeds: Vec<u64> = match std::env::var("SEED") {
        Ok(s) => vec![s.trim().parse().expect("SEED must be an integer")],
        Err(_) => (0..CASES).collect(),
    };
    let lines = seed_lines();
    // Two workers (the machines have two cores), each taking every other case; the result does
    // not depend on the split, since each case depends only on its seed.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (seeds, lines) = (&seeds, &lines);
                scope.spawn(move || {
                    seeds.iter().skip(w).step_by(2).find_map(|&seed| {
                        let src = mutate(lines, seed);
                        check(&src)
                            .err()
                            .map(|why| format!("{why}\nrerun with SEED={seed}\ninput: {src:?}"))
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .filter_map(|w| w.join().unwrap_or_else(|_| Some("worker panicked".into())))
            .collect()
    });
    if let Some(first) = failures.first() {
        panic!("{first}");
    }
}

/// Hand-picked extremes: 2^64 - 1 bytes, TASK_SIZE and one past it, the last page below 2^64,
/// relative sizes on a 4 PiB machine, the sysctls at their types' limits. Each is a `line:col`
/// error or a scenario the simulator runs to the end with its invariants intact.
#[test]
fn extreme_values_are_errors_or_run() {
    const MAX: &str = "18446744073709551615B";
    let m = "machine linux ram=8GiB swap=1GiB\nspawn p\np mmap a 1GiB rw private anon\n";
    let big = "machine linux ram=4096TiB swap=4096TiB\nspawn p\n";
    let mut cases: Vec<String> = vec![
        format!("{m}p mmap b 16777215TiB rw private anon\n"),
        format!("{m}sysctl vm.overcommit_memory=1\np mmap b 16TiB rw private anon populate\n"),
        format!("{m}p mmap b 1GiB rw private file /f offset={MAX}\n"),
        format!("{m}p mmap b 1GiB rw private file /f offset=18446744073709547520B\np write b\n"),
        format!("{m}p mmap b 1GiB rw shared tmpfs /t offset=9223372036854775808B\np write b\n"),
        format!("{m}p tmpfs write /t {MAX}\np tmpfs truncate /t {MAX}\n"),
        format!("{m}p tmpfs write /t 1MiB offset=9223372036854771712B\n"),
        format!("{m}p shmget k {MAX}\np mmap s 1GiB rw shared shm k\n"),
        format!("{m}p brk +100000%ramswap\np mremap a 100000%ramswap maymove\n"),
        format!("{m}p stack 128TiB\n"),
        format!("{m}expect meminfo.Committed_AS = {MAX} ± {MAX}\nexpect p.vmas > -9223372036854775808 ± 9223372036854775807\n"),
        format!("{m}machine swap=4096TiB\nmachine swap=100%swap\np mmap b 100000%ramswap rw private anon\n"),
        format!("{big}p mmap a 100%ram rw private anon\np mmap b 100%ramswap rw shared anon\n"),
        format!("{big}p shmget k 100%ram\np mmap s 100%ram rw shared shm k\n"),
        format!("machine linux ram=4096TiB overcommit=1\nspawn p\np mmap a 100%ram rw private anon\np fork c\n"),
        "machine linux ram=8GiB admin_reserve_kbytes=18446744073709551615 user_reserve_kbytes=18446744073709551615\nspawn p\nsysctl vm.overcommit_memory=2\np mmap b 1GiB rw private anon\n".into(),
        "machine linux ram=8GiB max_map_count=2147483647 overcommit=2 ratio=2147483647\nspawn p\np mmap a 1GiB rw private anon\n".into(),
        "machine linux ram=8GiB max_map_count=0\nspawn p\np mmap a 1GiB rw private anon\n".into(),
    ];
    for at in [
        "0xffffffffffffffff",
        "0xfffffffffffff000",
        "0x7ffffffff000",
        "0x7ffffffff001",
        "0x7fffffffe000",
        "0x0",
    ] {
        cases.push(format!("{m}p mmap b 8KiB rw private anon at={at}\n"));
        cases.push(format!("{m}p mmap b 16777215TiB rw private anon at={at}\n"));
    }
    for gap in [MAX, "140737488351232B", "140737488351233B", "128TiB"] {
        cases.push(format!(
            "{m}p mmap b 1GiB rw private anon below=a gap={gap}\n"
        ));
        cases.push(format!(
            "{m}p mmap b 1GiB rw private anon above=a gap={gap}\n"
        ));
    }
    for (verb, tail) in [
        ("write", ""),
        ("read", ""),
        ("munmap", ""),
        ("madvise", " dontneed"),
        ("mprotect", " r"),
    ] {
        for range in [
            format!("0..{MAX}"),
            format!("18446744073709551614B..{MAX}"),
            "0..140737488351232B".into(),
            "1GiB..2GiB".into(),
            "0..100000%ramswap".into(),
            "0..100000.1%ram".into(),
            "4095B..4097B".into(),
        ] {
            cases.push(format!("{m}p {verb} a[{range}]{tail}\n"));
        }
    }
    for n in ["9223372036854775808", "18446744073709551615"] {
        cases.push(format!(
            "machine linux ram=8GiB hugepages={n}\nspawn p\np mmap a 4MiB rw private anon hugetlb\nsysctl vm.nr_hugepages={n}\nmachine hugepages={n}\n"
        ));
        cases.push(format!("{big}machine hugepages={n}\n"));
    }
    for src in &cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| match parse(src) {
            Ok(s) => {
                let run = vmlab_core::sim::run(&s);
                run.machine.check_invariants()
            }
            Err(d) => {
                assert!(d.iter().all(|d| d.pos.line >= 1 && d.pos.col >= 1));
                Ok(())
            }
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(why)) => panic!("invariant broken: {why}\ninput: {src:?}"),
            Err(_) => panic!("panicked\ninput: {src:?}"),
        }
    }
}

/// The fuzzer's seed of extremes parses and runs to the end with the invariants intact (it is
/// only useful next to the edges if it is valid itself).
#[test]
fn extremes_seed_runs() {
    let src = include_str!("../../../fuzz/seeds/extremes.vmlab");
    let s = match parse(src) {
        Ok(s) => s,
        Err(d) => panic!("fuzz/seeds/extremes.vmlab does not parse: {}", d[0]),
    };
    let run = vmlab_core::sim::run(&s);
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.machine.check_invariants(), Ok(()));
    for c in &run.checks {
        assert!(c.passed, "{}: {}", c.text, c.detail);
    }
}
