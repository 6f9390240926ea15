//! The language's newer forms run through the simulator: `drop cap_sys_admin` (the admin reserve,
//! oom_score_adj, the pre-4.17 oom bonus, inheritance), `repeat` blocks at max_map_count, and the
//! `expect` forms on VMA pieces (flags, perms, range, pgoff) and on the kernel log. Each case
//! checks what must pass and what must fail.

use vmlab_core::scenario::parse;
use vmlab_core::sim::{run, CheckResult};

/// Run `src` and return its checks; the scenario must parse and run to its end.
fn checks(src: &str) -> Vec<CheckResult> {
    let s = parse(src).unwrap_or_else(|d| panic!("{src}\n{d:?}"));
    let r = run(&s);
    assert!(r.error.is_none(), "{:?}", r.error);
    r.checks
}

/// Every check of `src` passes, except those on the lines listed in `fail_lines`, which fail.
#[track_caller]
fn verdicts(src: &str, fail_lines: &[u32]) {
    let cs = checks(src);
    assert!(!cs.is_empty(), "no checks");
    for c in &cs {
        let should_fail = fail_lines.contains(&c.pos.line);
        assert_eq!(
            c.passed, !should_fail,
            "line {}: `{}` — {}",
            c.pos.line, c.text, c.detail
        );
    }
    for l in fail_lines {
        assert!(cs.iter().any(|c| c.pos.line == *l), "no check on line {l}");
    }
}

#[test]
fn dropping_cap_sys_admin_takes_the_admin_reserve_away_in_mode_2() {
    // 1 GiB of RAM, no swap, ratio 100: CommitLimit is 1 GiB; the admin reserve is 8 MiB, the
    // user reserve min(total_vm/32, 128 MiB) is small for these sizes.
    verdicts(
        "machine linux ram=1GiB overcommit=2 ratio=100
spawn admin admin
admin mmap a 1020MiB rw private anon
expect admin mmap ok
admin exit
spawn dropped admin
dropped drop cap_sys_admin
dropped mmap a 1020MiB rw private anon
expect dropped mmap ENOMEM
dropped mmap b 1000MiB rw private anon
expect dropped mmap ok
expect dropped mmap ENOMEM
",
        &[12],
    );
}

#[test]
fn a_dropped_capability_is_inherited_and_leaves_cap_sys_resource() {
    verdicts(
        "machine linux ram=1GiB overcommit=2 ratio=100
spawn p admin
p drop cap_sys_admin
p fork c
c mmap a 1020MiB rw private anon
expect c mmap ENOMEM
p oom_score_adj -500
expect p oom_score_adj ok
spawn user
user drop cap_sys_admin
expect user drop ok
user oom_score_adj -500
expect user oom_score_adj EACCES
expect p oom_score_adj EACCES
",
        &[14],
    );
}

#[test]
fn the_pre_4_17_oom_bonus_goes_with_the_capability() {
    // 4.16: an admin task's badness loses 3%; once dropped it does not.
    let score = |drop: bool| {
        let src = format!(
            "machine linux ram=1GiB kernel=4.16
spawn p admin
p mmap a 512MiB rw private anon
p write a
{}expect p.oom_score = 0
",
            if drop { "p drop cap_sys_admin\n" } else { "" }
        );
        let c = checks(&src).pop().expect("one check");
        c.detail
    };
    let (kept, dropped) = (score(false), score(true));
    assert_ne!(kept, dropped, "{kept} / {dropped}");
    // 512 MiB of 1 GiB is 500 points before the bonus, and 485 after it.
    assert!(kept.starts_with("found 485"), "{kept}");
    assert!(dropped.starts_with("found 500"), "{dropped}");
}

#[test]
fn a_repeat_block_fills_max_map_count() {
    // mm/mmap.c: do_mmap refuses when map_count > max_map_count, so the last VMA allowed is the
    // (max_map_count + 1)th.
    verdicts(
        "machine linux ram=8GiB max_map_count=100
spawn app
app mmap m0 4KiB rw private anon
repeat 100 as i
  app mmap m{i+1} 4KiB rw private anon below=m{i} gap=4KiB
  expect app mmap ok
  expect app.vmas = {i+2}
end
app mmap over 4KiB rw private anon below=m100 gap=4KiB
expect app mmap ENOMEM
expect app.vmas = 101
expect app.vmas = 102
",
        &[12],
    );
    let cs = checks(
        "machine linux ram=8GiB
spawn app
repeat 3 as i
  app mmap m{i} {i+1}MiB r private file /data/f{i}
  expect app.smaps.m{i}.Size = {i+1}MiB
end
",
    );
    assert_eq!(cs.len(), 3);
    assert!(cs.iter().all(|c| c.passed), "{cs:?}");
}

#[test]
fn expect_reads_the_pieces_of_a_split_mapping() {
    verdicts(
        "machine linux ram=8GiB
spawn app
app mmap a 16MiB rw private anon
app write a[0..4MiB]
app mprotect a[4MiB..8MiB] r
expect app.vmas = 3
expect app.vma.a[5MiB].perms = r--p
expect app.vma.a[5MiB].start = 4MiB
expect app.vma.a[5MiB].end = 8MiB
expect app.vma.a.VmFlags has ac rd wr
expect app.vma.a[15MiB].VmFlags has ac wr
expect app.vma.a[4MiB].VmFlags lacks wr sh
expect app.smaps.a[1MiB].Rss = 4MiB
expect app.vma.a[9MiB].Size = 8MiB
expect app.vma.a.pgoff = 0
expect app.vma.a[5MiB].perms = rw-p
expect app.vma.a[4MiB].VmFlags has wr
expect app.vma.a[16MiB].Rss = 0
app mmap f 8MiB r shared file /data/f offset=1MiB
app mprotect f[0..4MiB] none
expect app.vma.f[6MiB].pgoff = 5MiB
expect app.vma.f[6MiB].perms = r--s
expect app.vma.f.VmFlags has sh mr
expect app.vma.f.VmFlags lacks ac
",
        &[16, 17, 18],
    );
}

#[test]
fn expect_reads_the_kernel_log() {
    verdicts(
        "machine linux ram=1GiB overcommit=2 ratio=50
spawn app
expect kernel.log lacks not enough memory
app mmap a 2GiB rw private anon
expect app mmap ENOMEM
expect kernel.log has comm: app, bytes: 2147483648 not enough memory
expect kernel.log has   not   enough   memory
expect kernel.log lacks Out of memory
expect kernel.log has Out of memory
",
        &[9],
    );
}
