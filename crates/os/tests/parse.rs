//! The pure /proc parsers (vmlab_core::procfs_parse) against the real kernel's files (fixtures
//! captured from Linux 6.18: a bash process and /proc/meminfo) and against the simulator's own
//! printers (round trip: what the simulator prints parses back to the numbers it holds).

use vmlab_core::machine::Machine;
use vmlab_core::procfs_parse::{
    parse_maps, parse_meminfo, parse_oom_score, parse_smaps, parse_status,
};
use vmlab_core::scenario::parse;
use vmlab_core::sim;

const SMAPS: &str = include_str!("fixtures/smaps-6.18-bash.txt");
const MAPS: &str = include_str!("fixtures/maps-6.18-bash.txt");
const STATUS: &str = include_str!("fixtures/status-6.18-bash.txt");
const MEMINFO: &str = include_str!("fixtures/meminfo-6.18.txt");
const OOM_SCORE: &str = include_str!("fixtures/oom_score-6.18.txt");

#[test]
fn real_smaps_agrees_with_real_maps_and_status() {
    let smaps = parse_smaps(SMAPS).unwrap();
    let maps = parse_maps(MAPS).unwrap();
    assert_eq!(smaps.len(), 43);
    assert_eq!(maps.len(), smaps.len());
    for (s, m) in smaps.iter().zip(&maps) {
        assert_eq!(
            (s.map.start, s.map.end, s.map.perms()),
            (m.start, m.end, m.perms())
        );
        assert_eq!(s.kb("Size") * 1024, m.len_bytes());
        assert!(!s.vm_flags.is_empty(), "every entry has VmFlags");
    }
    assert_eq!(smaps[0].map.name, "/usr/bin/bash");
    assert_eq!(smaps[0].kb("Size"), 188);
    // THPeligible and ProtectionKey are not kB fields: they are kept as plain numbers.
    assert!(!smaps[0].fields_kb.contains_key("THPeligible"));
    assert_eq!(smaps[0].numbers.get("THPeligible"), Some(&0));
    assert_eq!(smaps[0].numbers.get("ProtectionKey"), Some(&0));
    let status = parse_status(STATUS).unwrap();
    // [vsyscall] is the gate area, not a VMA of the mm: VmSize (total_vm) leaves it out.
    let size: u64 = smaps
        .iter()
        .filter(|e| e.map.name != "[vsyscall]")
        .map(|e| e.kb("Size"))
        .sum();
    assert_eq!(status.number("VmSize"), Some(size));
    assert_eq!(status.number("VmSize"), Some(4668));
    let anon: u64 = smaps.iter().map(|e| e.kb("Anonymous")).sum();
    assert_eq!(status.number("RssAnon"), Some(anon));
    assert_eq!(status.text("State"), Some("S (sleeping)"));
    // The stack has VM_GROWSDOWN (`gd`) and VM_ACCOUNT (`ac`).
    let stack = smaps.iter().find(|e| e.map.name == "[stack]").unwrap();
    assert!(stack.has_flag("gd") && stack.has_flag("ac") && !stack.has_flag("sh"));
    assert_eq!(parse_oom_score(OOM_SCORE), Ok(666));
}

#[test]
fn real_meminfo() {
    let m = parse_meminfo(MEMINFO).unwrap();
    assert_eq!(m.number("MemTotal"), Some(24_683_584));
    assert_eq!(m.number("SwapTotal"), Some(0));
    assert_eq!(m.number("Hugepagesize"), Some(2048));
    assert!(m.number("Committed_AS").is_some() && m.number("HugePages_Total").is_some());
    assert_eq!(m.number("NoSuchField"), None);
}

#[test]
fn truncated_or_foreign_text_is_an_error() {
    // An smaps cut in the middle of a value, a status line without a colon.
    let cut = &SMAPS[..SMAPS.find("Rss:").unwrap() + 10];
    let bad = format!("{cut}x kB\n");
    assert!(parse_smaps(&bad).is_err());
    assert!(parse_meminfo("MemTotal 5 kB\n").is_err());
    assert!(parse_maps("hello world\n").is_err());
}

/// The simulator's printers, parsed, give back the simulator's own numbers.
#[test]
fn simulator_views_round_trip() {
    let s = parse(
        "machine linux ram=4GiB\n\
         spawn app\n\
         app mmap a 64MiB rw private anon\n\
         app mmap b 64MiB rw private anon below=a\n\
         app mmap s 1MiB rw shared anon\n\
         app mmap f 1MiB r private file /data/x noreserve\n\
         app write a[0..1MiB]\n\
         app write s[0..64KiB]\n\
         app mprotect b[0..4KiB] r\n\
         app fork kid\n",
    )
    .unwrap();
    let run = sim::run(&s);
    assert!(run.error.is_none());
    let m: &Machine = &run.machine;
    let smaps = parse_smaps(&m.proc_view("app", "smaps").unwrap()).unwrap();
    let maps = parse_maps(&m.proc_view("app", "maps").unwrap()).unwrap();
    assert_eq!(smaps.len(), maps.len());
    // b[0..4KiB] split off; a and the rest of b merged; s; f.
    assert_eq!(smaps.len(), 4);
    let status = parse_status(&m.proc_view("app", "status").unwrap()).unwrap();
    let size: u64 = smaps.iter().map(|e| e.kb("Size")).sum();
    assert_eq!(status.number("VmSize"), Some(size));
    let anon: u64 = smaps.iter().map(|e| e.kb("Anonymous")).sum();
    assert_eq!(status.number("RssAnon"), Some(anon));
    assert_eq!(anon, 1024);
    let shared = smaps.iter().find(|e| e.map.shared).unwrap();
    assert!(shared.has_flag("sh") && shared.map.name == "/dev/zero (deleted)");
    let file = smaps.iter().find(|e| e.map.name == "/data/x").unwrap();
    assert!(!file.has_flag("ac"));
    // The 4 KiB that lost PROT_WRITE stays `ac`: the VMA it was split from has an anon_vma (a was
    // written), so 6.7's unaccounting of unfaulted VMAs does not apply.
    let ro = smaps.iter().find(|e| e.kb("Size") == 4).unwrap();
    assert!(ro.has_flag("ac") && !ro.map.write);
    let ac: u64 = smaps
        .iter()
        .filter(|e| e.has_flag("ac"))
        .map(|e| e.kb("Size"))
        .sum();
    let meminfo = parse_meminfo(&m.meminfo_text()).unwrap();
    // app and kid hold the same accountable VMAs; shared anon is charged once as shmem.
    assert_eq!(
        meminfo.number("Committed_AS"),
        Some(m.commit_summary().committed_as_kb)
    );
    assert_eq!(m.commit_summary().committed_as_kb, 2 * ac + 1024);
    let score = parse_oom_score(&m.proc_view("app", "oom_score").unwrap()).unwrap();
    assert!((0..=1000).contains(&score));
}
