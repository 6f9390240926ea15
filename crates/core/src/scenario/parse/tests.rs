//! Tests of the scenario parser: every statement form, every error path (exact line:col and a key
//! phrase), sizes, comments, line endings, tabs and unicode.

use super::parse;
use crate::config::{LinuxConfig, MachineConfig, OvercommitMode, Sysctl};
use crate::kernel::KernelVersion;
use crate::op::{
    Advice, Backing, BrkChange, ForkKind, Op, Placement, Prot, Size, SizeBase, Target,
};
use crate::query::Query;
use crate::scenario::ast::{
    Cmp, Expect, ExpectValue, OutcomeSpec, Pos, Scenario, StateSpec, StmtKind,
};
use crate::units::{GIB, KIB, MIB};
use std::collections::BTreeSet;

const M: &str = "machine linux ram=8GiB\n";

fn ok(src: &str) -> Scenario {
    match parse(src) {
        Ok(s) => s,
        Err(d) => panic!(
            "expected {src:?} to parse, got:\n{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn linux(s: &Scenario) -> &LinuxConfig {
    match &s.machine {
        MachineConfig::Linux(c) => c,
        MachineConfig::Windows(_) => panic!("a Linux scenario"),
    }
}

/// The operations of `M` + `body`.
fn ops(body: &str) -> Vec<Op> {
    ok(&format!("{M}{body}"))
        .ops()
        .map(|(_, op)| op.clone())
        .collect()
}

/// The last operation of `M` + `body`.
fn last_op(body: &str) -> Op {
    ops(body).pop().expect("an operation")
}

fn expects(body: &str) -> Vec<Expect> {
    ok(&format!("{M}{body}"))
        .stmts
        .into_iter()
        .filter_map(|s| match s.kind {
            StmtKind::Expect(e) => Some(e),
            StmtKind::Op(_) => None,
        })
        .collect()
}

/// `src` fails, and its first diagnostic is at `at` ("line:col") and contains `phrase`.
#[track_caller]
fn fails(src: &str, at: &str, phrase: &str) {
    let diags = match parse(src) {
        Ok(s) => panic!("expected {src:?} to fail, it parsed as {s:?}"),
        Err(d) => d,
    };
    let first = &diags[0];
    let pos = format!("{}:{}", first.pos.line, first.pos.col);
    assert!(
        pos == at && first.message.contains(phrase),
        "for {src:?}\n expected {at}: …{phrase}…\n      got {first}"
    );
}

/// `M` + `body` fails at `at` (counting `M` as line 1) with `phrase`.
#[track_caller]
fn body_fails(body: &str, at: &str, phrase: &str) {
    fails(&format!("{M}{body}"), at, phrase);
}

fn anon(proc: &str, name: &str, len: u64) -> Op {
    Op::Mmap {
        proc: proc.into(),
        name: name.into(),
        len: Size::Bytes(len),
        prot: Prot::RW,
        shared: false,
        backing: Backing::Anon,
        noreserve: false,
        populate: false,
        growsdown: false,
        locked: false,
        hugetlb: false,
        placement: Placement::Any,
    }
}

// ---------------------------------------------------------------------------------------------
// The machine

#[test]
fn machine_defaults_and_options() {
    let s = ok("machine linux ram=24GiB");
    assert_eq!(s.machine, MachineConfig::Linux(LinuxConfig::new(24 * GIB)));
    assert!(s.stmts.is_empty());

    let s = ok("machine linux ram=24GiB swap=2GiB kernel=5.4.0 overcommit=2 ratio=80 admin_reserve_kbytes=0 \
                user_reserve_kbytes=1024 max_map_count=100 hugepages=16 cpus=8");
    let c = linux(&s);
    assert_eq!(c.ram_bytes, 24 * GIB);
    assert_eq!(c.swap_bytes, 2 * GIB);
    assert_eq!(c.kernel, KernelVersion::new(5, 4));
    assert_eq!(c.cpus, 8);
    assert_eq!(c.sysctls.overcommit_memory, OvercommitMode::Never);
    assert_eq!(c.sysctls.overcommit_ratio, 80);
    assert_eq!(c.sysctls.admin_reserve_kbytes, 0);
    assert_eq!(c.sysctls.user_reserve_kbytes, 1024);
    assert_eq!(c.sysctls.max_map_count, 100);
    assert_eq!(c.sysctls.nr_hugepages, 16);

    let s = ok("machine linux ram=1GiB kbytes=1000001");
    assert_eq!(linux(&s).sysctls.overcommit_kbytes, 1_000_001);
    // RAM is rounded up to whole pages, as LinuxConfig::new does.
    assert_eq!(linux(&ok("machine linux ram=4097B")).ram_bytes, 8192);
}

#[test]
fn machine_measured() {
    assert_eq!(
        ok("machine linux measured").machine,
        MachineConfig::Linux(LinuxConfig::measured())
    );
    let s = ok("machine linux measured overcommit=2 swap=1GiB");
    let c = linux(&s);
    assert_eq!(c.sysctls.overcommit_memory, OvercommitMode::Never);
    assert_eq!(c.sysctls.user_reserve_kbytes, 100_407);
    assert_eq!(c.swap_bytes, GIB);
    let s = ok("machine linux measured ram=4GiB");
    assert_eq!(linux(&s).ram_bytes, 4 * GIB);
    assert_eq!(linux(&s).sysctls.user_reserve_kbytes, 100_407);
}

#[test]
fn machine_errors() {
    fails("", "1:1", "the scenario is empty");
    fails("# only a comment\n\n", "1:1", "the scenario is empty");
    fails(
        "spawn app\nmachine linux ram=1GiB",
        "1:1",
        "expected a `machine` line first",
    );
    fails("machine", "1:8", "expected `linux ram=SIZE`");
    fails(
        "machine macos ram=1GiB",
        "1:9",
        "expected `linux` or `windows`",
    );
    fails("machine linux", "1:1", "needs `ram=SIZE`");
    fails(
        "machine linux ram=15Gb",
        "1:19",
        "expected a size like 64MiB or 65%ram, found \"15Gb\"",
    );
    fails(
        "machine linux ram=50%ram",
        "1:19",
        "RAM must be an absolute size",
    );
    fails("machine linux ram=0", "1:19", "RAM must be more than 0");
    fails("machine linux ram=5PB", "1:19", "expected a size");
    fails(
        "machine linux ram=8192TiB",
        "1:19",
        "above the simulator's limit",
    );
    fails(
        "machine linux ram=1GiB ram=2GiB",
        "1:24",
        "`ram=` is given twice",
    );
    fails(
        "machine linux ram=1GiB swappiness=60",
        "1:24",
        "unknown machine option \"swappiness\"",
    );
    fails(
        "machine linux ram=1GiB swap",
        "1:24",
        "expected an option like `ram=24GiB`",
    );
    fails(
        "machine linux ram=1GiB swap=",
        "1:29",
        "expected a value after `swap=`",
    );
    fails(
        "machine linux ram=1GiB kernel=6.x",
        "1:31",
        "not a kernel version",
    );
    fails(
        "machine linux ram=1GiB overcommit=3",
        "1:35",
        "vm.overcommit_memory must be 0, 1 or 2",
    );
    fails(
        "machine linux ram=1GiB overcommit=-1",
        "1:35",
        "expected a non-negative integer",
    );
    fails(
        "machine linux ram=1GiB ratio=2147483648",
        "1:30",
        "must be 0..=2147483647",
    );
    fails(
        "machine linux ram=1GiB ratio=50 kbytes=10",
        "1:33",
        "either `ratio=` or `kbytes=`",
    );
    fails(
        "machine linux ram=1GiB cpus=0",
        "1:29",
        "expected a CPU count",
    );
    fails(
        "machine linux ram=1GiB cpus=4294967296",
        "1:29",
        "expected a CPU count",
    );
    fails(
        "machine linux ram=1GiB swap=1%ram",
        "1:29",
        "swap must be an absolute size",
    );
}

#[test]
fn later_machine_lines_are_operations() {
    let s = ok(&format!("{M}machine swap=4GiB overcommit=2 ratio=80\nmachine linux hugepages=4 max_map_count=9 \
                         admin_reserve_kbytes=1 user_reserve_kbytes=2 kbytes=7\nmachine swap=50%ram\n"));
    let got: Vec<(Pos, Op)> = s.ops().map(|(st, op)| (st.pos, op.clone())).collect();
    let p = |line, col| Pos { line, col };
    assert_eq!(
        got,
        vec![
            (
                p(2, 9),
                Op::SetSwap {
                    bytes: Size::Bytes(4 * GIB)
                }
            ),
            (
                p(2, 19),
                Op::Sysctl {
                    sysctl: Sysctl::OvercommitMemory,
                    value: 2
                }
            ),
            (
                p(2, 32),
                Op::Sysctl {
                    sysctl: Sysctl::OvercommitRatio,
                    value: 80
                }
            ),
            (
                p(3, 15),
                Op::Sysctl {
                    sysctl: Sysctl::NrHugepages,
                    value: 4
                }
            ),
            (
                p(3, 27),
                Op::Sysctl {
                    sysctl: Sysctl::MaxMapCount,
                    value: 9
                }
            ),
            (
                p(3, 43),
                Op::Sysctl {
                    sysctl: Sysctl::AdminReserveKbytes,
                    value: 1
                }
            ),
            (
                p(3, 66),
                Op::Sysctl {
                    sysctl: Sysctl::UserReserveKbytes,
                    value: 2
                }
            ),
            (
                p(3, 88),
                Op::Sysctl {
                    sysctl: Sysctl::OvercommitKbytes,
                    value: 7
                }
            ),
            (
                p(4, 9),
                Op::SetSwap {
                    bytes: Size::Fraction {
                        per_mille: 500,
                        of: SizeBase::Ram
                    }
                }
            ),
        ]
    );
    assert_eq!(s.stmts[0].text, "machine swap=4GiB overcommit=2 ratio=80");
    body_fails(
        "machine ram=16GiB\n",
        "2:9",
        "RAM/kernel cannot change after boot",
    );
    body_fails(
        "machine linux kernel=6.1\n",
        "2:15",
        "RAM/kernel cannot change after boot",
    );
    body_fails("machine cpus=4\n", "2:9", "CPU count cannot change");
    body_fails(
        "machine linux measured\n",
        "2:15",
        "only goes on the first `machine` line",
    );
    body_fails("machine\n", "2:8", "expected an option such as `swap=SIZE`");
    body_fails("machine overcommit=1 overcommit=2\n", "2:22", "given twice");
}

// ---------------------------------------------------------------------------------------------
// sysctl, spawn, processes

#[test]
fn sysctl_forms() {
    let want = Op::Sysctl {
        sysctl: Sysctl::OvercommitMemory,
        value: 1,
    };
    for form in [
        "sysctl vm.overcommit_memory=1",
        "sysctl overcommit_memory=1",
        "sysctl vm.overcommit_memory = 1",
        "sysctl vm.overcommit_memory= 1",
        "sysctl vm.overcommit_memory =1",
    ] {
        assert_eq!(last_op(form), want, "{form}");
    }
    assert_eq!(
        last_op("sysctl vm.overcommit_kbytes=18446744073709551615"),
        Op::Sysctl {
            sysctl: Sysctl::OvercommitKbytes,
            value: u64::MAX
        }
    );
    body_fails("sysctl\n", "2:7", "expected `vm.NAME=VALUE`");
    body_fails(
        "sysctl vm.swappiness=60\n",
        "2:8",
        "unknown sysctl \"vm.swappiness\"",
    );
    body_fails(
        "sysctl vm.overcommit_memory=3\n",
        "2:29",
        "must be 0, 1 or 2",
    );
    body_fails(
        "sysctl vm.overcommit_memory = x\n",
        "2:31",
        "expected a non-negative integer",
    );
    body_fails("sysctl vm.overcommit_memory 1\n", "2:29", "expected `=`");
    body_fails(
        "sysctl vm.overcommit_memory =\n",
        "2:30",
        "expected a value after `=`",
    );
    body_fails(
        "sysctl vm.overcommit_memory=1 2\n",
        "2:31",
        "unexpected \"2\"",
    );
    body_fails(
        "sysctl vm.overcommit_ratio=18446744073709551616\n",
        "2:28",
        "expected a non-negative integer",
    );
}

#[test]
fn spawn_forms_and_errors() {
    assert_eq!(
        last_op("spawn app"),
        Op::Spawn {
            name: "app".into(),
            cap_sys_admin: false,
            oom_score_adj: 0
        }
    );
    assert_eq!(
        last_op("spawn db admin adj=-1000"),
        Op::Spawn {
            name: "db".into(),
            cap_sys_admin: true,
            oom_score_adj: -1000
        }
    );
    assert_eq!(
        last_op("spawn _x-1 adj=1000 admin"),
        Op::Spawn {
            name: "_x-1".into(),
            cap_sys_admin: true,
            oom_score_adj: 1000
        }
    );
    body_fails(
        "spawn\n",
        "2:6",
        "expected a process name, found the end of the line",
    );
    body_fails("spawn 1app\n", "2:7", "expected a process name");
    body_fails("spawn kill\n", "2:7", "`kill` is a keyword");
    body_fails("spawn meminfo\n", "2:7", "keyword");
    body_fails(
        "spawn app\nspawn app\n",
        "3:7",
        "a process named `app` already exists",
    );
    body_fails(
        "spawn app adj=1001\n",
        "2:15",
        "an integer from -1000 to 1000",
    );
    body_fails("spawn app admin admin\n", "2:17", "given twice");
    body_fails("spawn app adj=1 adj=2\n", "2:17", "given twice");
    body_fails("spawn app root\n", "2:11", "expected `admin` or `adj=N`");
}

#[test]
fn process_lifecycle() {
    let got = ops("spawn p\np fork c\np vfork v\np clone t\nc exec\nc exit\nkill v\nt kill\n");
    assert_eq!(
        &got[1..],
        &[
            Op::Fork {
                parent: "p".into(),
                child: "c".into(),
                kind: ForkKind::Fork
            },
            Op::Fork {
                parent: "p".into(),
                child: "v".into(),
                kind: ForkKind::Vfork
            },
            Op::Fork {
                parent: "p".into(),
                child: "t".into(),
                kind: ForkKind::CloneVm
            },
            Op::Exec { proc: "c".into() },
            Op::Exit { proc: "c".into() },
            Op::Kill { proc: "v".into() },
            Op::Kill { proc: "t".into() },
        ]
    );
    body_fails(
        "app fork c\n",
        "2:1",
        "no process named `app` (spawn it first)",
    );
    body_fails("kill app\n", "2:6", "no process named `app`");
    body_fails("spawn p\np fork p\n", "3:8", "already exists");
    body_fails("spawn p\np fork\n", "3:7", "expected the child's name");
    body_fails("spawn p\np exec now\n", "3:8", "unexpected \"now\"");
    body_fails("spawn p\np exit 0\n", "3:8", "unexpected \"0\"");
    body_fails("spawn p\nkill p p\n", "3:8", "unexpected");
    body_fails("spawn p\np\n", "3:2", "expected a verb such as mmap");
    body_fails("spawn p\np jump\n", "3:3", "expected a verb (fork, vfork");
    body_fails(
        "mmap a 1GiB rw private anon\n",
        "2:1",
        "expected a process before `mmap`",
    );
    body_fails("hello world\n", "2:1", "expected a statement");
    body_fails(
        "λ\n",
        "2:1",
        "expected a statement (machine, sysctl, spawn, kill, expect, repeat, or PROC VERB …), found \"λ\"",
    );
}

// ---------------------------------------------------------------------------------------------
// Mappings

#[test]
fn mmap_forms() {
    assert_eq!(
        last_op("spawn p\np mmap a 15GiB rw private anon"),
        anon("p", "a", 15 * GIB)
    );
    let op = last_op("spawn p\np mmap a 1GiB rw private anon\np mmap b 1GiB rwx shared anon below=a gap=2MiB noreserve populate locked growsdown hugetlb");
    assert_eq!(
        op,
        Op::Mmap {
            proc: "p".into(),
            name: "b".into(),
            len: Size::Bytes(GIB),
            prot: Prot {
                read: true,
                write: true,
                exec: true
            },
            shared: true,
            backing: Backing::Anon,
            noreserve: true,
            populate: true,
            growsdown: true,
            locked: true,
            hugetlb: true,
            placement: Placement::Below {
                of: "a".into(),
                gap: 2 * MIB
            },
        }
    );
    let op =
        last_op("spawn p\np mmap a 1GiB rw private anon\np mmap b 4KiB none private anon above=a");
    assert!(matches!(
        op,
        Op::Mmap {
            prot: Prot::NONE,
            placement: Placement::Above { gap: 0, .. },
            ..
        }
    ));
    let op = last_op("spawn p\np mmap a 2MiB r private anon at=0x7f0000000000");
    assert!(matches!(
        op,
        Op::Mmap {
            placement: Placement::At(0x7f00_0000_0000),
            ..
        }
    ));
    let op = last_op("spawn p\np mmap f 10MiB r shared file /data/λ.bin offset=1MiB rdonly");
    assert!(
        matches!(op, Op::Mmap { backing: Backing::File { ref path, offset, readonly_fd: true }, .. }
        if path == "/data/λ.bin" && offset == MIB)
    );
    let op = last_op("spawn p\np mmap f 10MiB rw private file /x");
    assert!(matches!(
        op,
        Op::Mmap {
            backing: Backing::File {
                offset: 0,
                readonly_fd: false,
                ..
            },
            ..
        }
    ));
    let op = last_op("spawn p\np mmap t 10MiB rw shared tmpfs /dev/shm/x offset=4KiB");
    assert!(
        matches!(op, Op::Mmap { backing: Backing::Tmpfs { ref path, offset: 4096 }, .. } if path == "/dev/shm/x")
    );
    let op = last_op("spawn p\np mmap s 10MiB rw shared shm 1234");
    assert!(
        matches!(op, Op::Mmap { backing: Backing::SysvShm { ref key }, shared: true, .. } if key == "1234")
    );
    let op = last_op("spawn p\np mmap r 65%ram rw private anon");
    assert!(matches!(
        op,
        Op::Mmap {
            len: Size::Fraction {
                per_mille: 650,
                of: SizeBase::Ram
            },
            ..
        }
    ));
}

#[test]
fn mmap_errors() {
    let p = "spawn p\np mmap a 1GiB rw private anon\n";
    body_fails(
        "spawn p\np mmap\n",
        "3:7",
        "expected a name for the mapping",
    );
    body_fails(
        "spawn p\np mmap 9a 1GiB rw private anon\n",
        "3:8",
        "expected a mapping name",
    );
    body_fails(
        &format!("{p}p mmap a 1GiB rw private anon\n"),
        "4:8",
        "already has a mapping named `a`",
    );
    body_fails(
        "spawn p\np mmap a 1Gib rw private anon\n",
        "3:10",
        "expected a size like 64MiB or 65%ram, found \"1Gib\"",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rq private anon\n",
        "3:15",
        "expected a protection",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw public anon\n",
        "3:18",
        "expected `private` or `shared`",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private\n",
        "3:25",
        "expected a backing",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private heap\n",
        "3:26",
        "expected a backing",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private shm 1\n",
        "3:18",
        "always shared",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw shared shm k/1\n",
        "3:29",
        "expected a SysV key",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private file\n",
        "3:30",
        "expected a file path",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private anon rdonly\n",
        "3:31",
        "`rdonly` is for `file` mappings",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private anon offset=0\n",
        "3:31",
        "`offset=` is for `file` and `tmpfs`",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private file /f offset=1%ram\n",
        "3:41",
        "must be an absolute size",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private anon populate populate\n",
        "3:40",
        "`populate` is given twice",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private anon fixed\n",
        "3:31",
        "expected an mmap option",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private anon at=7f00\n",
        "3:34",
        "expected a hex address",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private anon at=0x10000000000000000\n",
        "3:34",
        "expected a hex address",
    );
    body_fails(
        &format!("{p}p mmap b 1GiB rw private anon below=zz\n"),
        "4:37",
        "has no mapping named `zz`",
    );
    body_fails(
        "spawn p\np mmap b 1GiB rw private anon below=b\n",
        "3:37",
        "next to itself",
    );
    body_fails(
        &format!("{p}p mmap b 1GiB rw private anon below=a above=a\n"),
        "4:39",
        "conflicts with `below=`",
    );
    body_fails(
        &format!("{p}p mmap b 1GiB rw private anon at=0x1000 below=a\n"),
        "4:41",
        "conflicts with `at=`",
    );
    body_fails(
        "spawn p\np mmap b 1GiB rw private anon gap=1MiB\n",
        "3:31",
        "`gap=` goes with `below=NAME`",
    );
    body_fails(
        "spawn p\np mmap b 1GiB rw private anon noreserve=1\n",
        "3:31",
        "expected an mmap option",
    );
}

#[test]
fn mapping_names_follow_fork_clone_and_exec() {
    // fork and vfork copy the names; clone shares them; exec clears them.
    let base = "spawn p\np mmap a 1GiB rw private anon\n";
    ok(&format!(
        "{M}{base}p fork c\nc write a\np vfork v\nv read a\n"
    ));
    body_fails(
        &format!("{base}p fork c\nc mmap b 1GiB rw private anon\np write b\n"),
        "6:9",
        "process `p` has no mapping named `b`",
    );
    ok(&format!(
        "{M}{base}p clone t\nt mmap b 1GiB rw private anon\np write b\n"
    ));
    body_fails(
        &format!("{base}p clone t\nt mmap a 1GiB rw private anon\n"),
        "5:8",
        "already has a mapping named `a`",
    );
    body_fails(
        &format!("{base}p exec\np write a\n"),
        "5:9",
        "no mapping named `a`",
    );
    ok(&format!("{M}{base}p exec\np mmap a 1GiB rw private anon\n"));
    // A clone child that execs gets its own empty address space; the parent keeps its names.
    ok(&format!(
        "{M}{base}p clone t\nt exec\np write a\nt mmap a 4KiB rw private anon\n"
    ));
    // Each process has its own names.
    body_fails(
        &format!("{base}spawn q\nq write a\n"),
        "5:9",
        "process `q` has no mapping named `a`",
    );
}

#[test]
fn targets() {
    let base = "spawn p\np mmap a 64MiB rw private anon\n";
    let op = last_op(&format!("{base}p munmap a[16MiB..32MiB]"));
    assert_eq!(
        op,
        Op::Munmap {
            proc: "p".into(),
            target: Target {
                mapping: "a".into(),
                range: Some((Size::Bytes(16 * MIB), Size::Bytes(32 * MIB)))
            }
        }
    );
    assert_eq!(
        last_op(&format!("{base}p munmap a")),
        Op::Munmap {
            proc: "p".into(),
            target: Target::whole("a")
        }
    );
    assert!(matches!(
        last_op(&format!("{base}p write a[0..1page]")),
        Op::Access { write: true, .. }
    ));
    body_fails(
        &format!("{base}p munmap a[32MiB..16MiB]\n"),
        "4:12",
        "must not be above its end",
    );
    // An empty range is the kernel's to judge (munmap of length 0 is EINVAL, mprotect is 0).
    assert!(matches!(
        last_op(&format!("{base}p munmap a[1MiB..1MiB]")),
        Op::Munmap { .. }
    ));
    body_fails(
        &format!("{base}p munmap a[0..1MiB\n"),
        "4:19",
        "expected `]`",
    );
    body_fails(
        &format!("{base}p munmap a[]\n"),
        "4:12",
        "expected a range like `a[16MiB..32MiB]`",
    );
    body_fails(
        &format!("{base}p munmap a[1MiB-2MiB]\n"),
        "4:12",
        "expected a range",
    );
    body_fails(
        &format!("{base}p munmap a[0..2Mb]\n"),
        "4:15",
        "expected a size",
    );
    body_fails(
        &format!("{base}p munmap b[0..1MiB]\n"),
        "4:10",
        "no mapping named `b`",
    );
    body_fails(&format!("{base}p munmap\n"), "4:9", "expected a mapping");
}

#[test]
fn other_memory_operations() {
    let base = "spawn p\np mmap a 64MiB rw private anon\n";
    let op = |s: &str| last_op(&format!("{base}{s}"));
    assert_eq!(
        op("p mprotect a[0..4KiB] r"),
        Op::Mprotect {
            proc: "p".into(),
            target: Target {
                mapping: "a".into(),
                range: Some((Size::Bytes(0), Size::Bytes(4096)))
            },
            prot: Prot::R
        }
    );
    assert_eq!(
        op("p mremap a 128MiB maymove"),
        Op::Mremap {
            proc: "p".into(),
            mapping: "a".into(),
            new_len: Size::Bytes(128 * MIB),
            may_move: true,
            range: None,
            to: Default::default(),
            dontunmap: false,
            rename: None,
        }
    );
    assert_eq!(
        op("p mremap a[1MiB..2MiB] 1MiB maymove dontunmap below=a gap=8KiB as=moved"),
        Op::Mremap {
            proc: "p".into(),
            mapping: "a".into(),
            range: Some((Size::Bytes(MIB), Size::Bytes(2 * MIB))),
            new_len: Size::Bytes(MIB),
            may_move: true,
            to: Placement::Below {
                of: "a".into(),
                gap: 8192
            },
            dontunmap: true,
            rename: Some("moved".into()),
        }
    );
    assert_eq!(
        op("p mremap a 1MiB at=0x7f0000000000 maymove"),
        Op::Mremap {
            proc: "p".into(),
            mapping: "a".into(),
            new_len: Size::Bytes(MIB),
            may_move: true,
            range: None,
            to: Placement::At(0x7f00_0000_0000),
            dontunmap: false,
            rename: None,
        }
    );
    assert_eq!(
        op("p mremap a 1MiB"),
        Op::Mremap {
            proc: "p".into(),
            mapping: "a".into(),
            new_len: Size::Bytes(MIB),
            may_move: false,
            range: None,
            to: Default::default(),
            dontunmap: false,
            rename: None,
        }
    );
    for (word, advice) in [
        ("dontneed", Advice::DontNeed),
        ("free", Advice::Free),
        ("dontfork", Advice::DontFork),
        ("dofork", Advice::DoFork),
        ("wipeonfork", Advice::WipeOnFork),
        ("keeponfork", Advice::KeepOnFork),
    ] {
        assert_eq!(
            op(&format!("p madvise a {word}")),
            Op::Madvise {
                proc: "p".into(),
                target: Target::whole("a"),
                advice
            }
        );
    }
    assert_eq!(
        op("p read a"),
        Op::Access {
            proc: "p".into(),
            target: Target::whole("a"),
            write: false
        }
    );
    assert_eq!(
        op("p brk +64MiB"),
        Op::Brk {
            proc: "p".into(),
            change: BrkChange::Grow(Size::Bytes(64 * MIB))
        }
    );
    assert_eq!(
        op("p brk -4KiB"),
        Op::Brk {
            proc: "p".into(),
            change: BrkChange::Shrink(Size::Bytes(4 * KIB))
        }
    );
    assert_eq!(
        op("p stack 8MiB"),
        Op::StackGrow {
            proc: "p".into(),
            new_size: Size::Bytes(8 * MIB)
        }
    );
    assert_eq!(
        op("p shmget k1 1GiB noreserve"),
        Op::Shmget {
            proc: "p".into(),
            key: "k1".into(),
            len: Size::Bytes(GIB),
            noreserve: true
        }
    );
    assert_eq!(
        op("p shmget 42 1GiB"),
        Op::Shmget {
            proc: "p".into(),
            key: "42".into(),
            len: Size::Bytes(GIB),
            noreserve: false
        }
    );
    assert_eq!(
        op("p shmrm 42"),
        Op::ShmRm {
            proc: "p".into(),
            key: "42".into()
        }
    );
    assert_eq!(
        op("p tmpfs write /dev/shm/f 8MiB offset=1MiB"),
        Op::TmpfsWrite {
            proc: "p".into(),
            path: "/dev/shm/f".into(),
            offset: Size::Bytes(MIB),
            len: Size::Bytes(8 * MIB)
        }
    );
    assert_eq!(
        op("p tmpfs write /dev/shm/f 8MiB"),
        Op::TmpfsWrite {
            proc: "p".into(),
            path: "/dev/shm/f".into(),
            offset: Size::Bytes(0),
            len: Size::Bytes(8 * MIB)
        }
    );
    assert_eq!(
        op("p tmpfs truncate /dev/shm/f 0"),
        Op::TmpfsTruncate {
            proc: "p".into(),
            path: "/dev/shm/f".into(),
            len: Size::Bytes(0)
        }
    );
    assert_eq!(
        op("p unlink /dev/shm/f"),
        Op::Unlink {
            proc: "p".into(),
            path: "/dev/shm/f".into()
        }
    );
    assert_eq!(
        op("p oom_score_adj -500"),
        Op::OomScoreAdj {
            proc: "p".into(),
            value: -500,
            legacy: false
        }
    );
    assert_eq!(
        op("p oom_adj -17"),
        Op::OomScoreAdj {
            proc: "p".into(),
            value: -17,
            legacy: true
        }
    );
}

#[test]
fn other_memory_operation_errors() {
    let base = "spawn p\np mmap a 64MiB rw private anon\n";
    let f = |s: &str, at: &str, phrase: &str| body_fails(&format!("{base}{s}\n"), at, phrase);
    f("p mprotect a", "4:13", "expected a protection");
    f("p mprotect a rwxx", "4:14", "expected a protection");
    f(
        "p mremap a 2MiB move",
        "4:17",
        "expected an mremap option (maymove, dontunmap, at=, below=, above=, gap=, as=), found \"move\"",
    );
    f(
        "p mremap a 2MiB dontunmp",
        "4:17",
        "did you mean `dontunmap`?",
    );
    f("p mremap a 2MiB to=0x1000", "4:17", "did you mean `at=`?");
    f(
        "p mremap a 2MiB maymove maymove",
        "4:25",
        "`maymove` is given twice",
    );
    f("p mremap a 2MiB at=12", "4:20", "expected a hex address");
    f("p mremap a 2MiB below=zz", "4:23", "no mapping named `zz`");
    f(
        "p mremap a 2MiB at=0x1000 above=a",
        "4:27",
        "`above=` conflicts with `at=`",
    );
    f(
        "p mremap a 2MiB gap=4KiB",
        "4:17",
        "`gap=` goes with `below=NAME`",
    );
    f(
        "p mremap a 2MiB as=a",
        "4:20",
        "already has a mapping named `a`",
    );
    f("p mremap a 2MiB as=9x", "4:20", "expected a mapping name");
    f(
        "p mremap a[2MiB..1MiB] 2MiB",
        "4:12",
        "must not be above its end",
    );
    f("p mremap a[0..1MiB 2MiB", "4:19", "expected `]`");
    f("p madvise a cold", "4:13", "expected advice");
    f("p brk 64MiB", "4:7", "expected +SIZE or -SIZE");
    f("p brk +64", "4:8", "needs a unit");
    f("p stack", "4:8", "expected the new stack size");
    f("p shmget k", "4:11", "expected the segment size");
    f("p shmget k 1GiB lazy", "4:17", "unexpected \"lazy\"");
    f("p shmrm", "4:8", "expected a SysV key");
    f("p tmpfs rm /x", "4:9", "expected `write` or `truncate`");
    f(
        "p tmpfs write /x",
        "4:17",
        "expected the number of bytes to write",
    );
    f("p tmpfs write /x 1MiB at=1", "4:23", "unexpected \"at=1\"");
    f("p tmpfs truncate /x 1MiB offset=0", "4:26", "unexpected");
    f("p unlink", "4:9", "expected a path");
    f("p oom_score_adj 1001", "4:17", "from -1000 to 1000");
    f("p oom_score_adj x", "4:17", "an oom_score_adj");
    f("p oom_adj 16", "4:11", "from -17 to 15");
    f("p oom_adj -18", "4:11", "legacy oom_adj");
}

// ---------------------------------------------------------------------------------------------
// Sizes

#[test]
fn sizes_in_statements() {
    let len = |s: &str| match last_op(&format!("spawn p\np mmap a {s} rw private anon")) {
        Op::Mmap { len, .. } => len,
        other => panic!("{other:?}"),
    };
    assert_eq!(len("1.5GiB"), Size::Bytes(3 * GIB / 2));
    assert_eq!(len("0"), Size::Bytes(0));
    assert_eq!(len("3pages"), Size::Bytes(3 * 4096));
    assert_eq!(len("4kB"), Size::Bytes(4096));
    assert_eq!(
        len("12.5%swap"),
        Size::Fraction {
            per_mille: 125,
            of: SizeBase::Swap
        }
    );
    assert_eq!(
        len("50%ramswap"),
        Size::Fraction {
            per_mille: 500,
            of: SizeBase::RamSwap
        }
    );
    let f = |s: &str, phrase: &str| {
        body_fails(
            &format!("spawn p\np mmap a {s} rw private anon\n"),
            "3:10",
            phrase,
        )
    };
    f("16777216TiB", "too large");
    f("99999999999999999999999999999GiB", "too large");
    f("1.5B", "not a whole number of bytes");
    f("12.55%ram", "finer than per mille");
    f("4096", "a size needs a unit");
    f(
        "15Gb",
        "expected a size like 64MiB or 65%ram, found \"15Gb\"",
    );
    f("-1MiB", "expected a size");
    f("1 MiB", "expected a size");
}

// ---------------------------------------------------------------------------------------------
// expect

#[test]
fn expect_outcomes_and_states() {
    let body = "spawn app\napp mmap a 15GiB rw private anon\nexpect ok\nexpect ENOMEM\nexpect app mmap ENOMEM\nexpect app ok\n\
                app fork child\nexpect app fork ok\nexpect child running\nexpect child exited\nexpect child killed\n\
                expect app mmap killed\n";
    let got = expects(body);
    let o = |proc: Option<&str>, verb: Option<&str>, outcome| Expect::Outcome {
        proc: proc.map(Into::into),
        verb: verb.map(Into::into),
        outcome,
    };
    assert_eq!(
        got,
        vec![
            o(None, None, OutcomeSpec::Ok),
            o(None, None, OutcomeSpec::Err(crate::op::Errno::ENOMEM)),
            o(
                Some("app"),
                Some("mmap"),
                OutcomeSpec::Err(crate::op::Errno::ENOMEM)
            ),
            o(Some("app"), None, OutcomeSpec::Ok),
            o(Some("app"), Some("fork"), OutcomeSpec::Ok),
            Expect::State {
                proc: "child".into(),
                state: StateSpec::Running
            },
            Expect::State {
                proc: "child".into(),
                state: StateSpec::Exited
            },
            Expect::State {
                proc: "child".into(),
                state: StateSpec::Killed
            },
            o(Some("app"), Some("mmap"), OutcomeSpec::Killed),
        ]
    );
    for errno in [
        "ENOMEM", "EACCES", "EINVAL", "EEXIST", "ENOSPC", "EPERM", "ENOENT", "EFAULT",
    ] {
        assert_eq!(expects(&format!("spawn p\nexpect {errno}")).len(), 1);
    }
}

#[test]
fn expect_verbs_match_op_verbs() {
    // Each verb an `expect PROC VERB` accepts is stored as the Op::verb() of the operation it checks.
    let s = ok(&format!(
        "{M}spawn p\np mmap a 1MiB rw private anon\np tmpfs write /f 1MiB\np oom_adj 3\np tmpfs truncate /f 0\n\
         expect p spawn ok\nexpect p tmpfs ok\nexpect p tmpfs-write ok\nexpect p oom_adj ok\nexpect p oom_score_adj ok\n"
    ));
    let verbs: Vec<String> = s
        .stmts
        .iter()
        .filter_map(|st| match &st.kind {
            StmtKind::Expect(Expect::Outcome { verb, .. }) => verb.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        verbs,
        [
            "spawn",
            "tmpfs-truncate",
            "tmpfs-write",
            "oom_score_adj",
            "oom_score_adj"
        ]
    );
    let op_verbs: Vec<&str> = s.ops().map(|(_, op)| op.verb()).collect();
    for v in &verbs {
        assert!(op_verbs.contains(&v.as_str()), "{v} is no operation's verb");
    }
    ok(&format!("{M}spawn p\np mmap a 1MiB rw private anon\np write a\np read a\np kill\nexpect p write ok\nexpect p read ok\nexpect p kill ok\n"));
}

#[test]
fn expect_outcome_errors() {
    fails(&format!("{M}expect ok\n"), "2:8", "no earlier operation");
    body_fails(
        "spawn p\nexpect\n",
        "3:7",
        "expected an outcome, a process state or a query",
    );
    body_fails(
        "spawn p\nexpect fine\n",
        "3:8",
        "expected an outcome (ok, ENOMEM",
    );
    body_fails(
        "spawn p\nexpect p\n",
        "3:9",
        "expected `running`, `exited`, `killed` or an outcome",
    );
    body_fails("spawn p\nexpect q running\n", "3:8", "no process named `q`");
    body_fails(
        "spawn p\nexpect p sleeping\n",
        "3:10",
        "expected running, exited, killed",
    );
    body_fails(
        "spawn p\nexpect p fork ok\n",
        "3:10",
        "no earlier `fork` by `p`",
    );
    body_fails("spawn p\nexpect p jump ok\n", "3:10", "expected a verb");
    body_fails(
        "spawn p\nexpect p tmpfs ok\n",
        "3:10",
        "no earlier `tmpfs` operation by `p`",
    );
    body_fails(
        "spawn p\np exit\nexpect p exit done\n",
        "4:15",
        "expected an outcome",
    );
    body_fails(
        "spawn p\np exit\nexpect p exit ok now\n",
        "4:18",
        "unexpected \"now\"",
    );
    body_fails(
        "spawn p\np fork q\nexpect q ok\n",
        "4:8",
        "no earlier operation by `q`",
    );
}

#[test]
fn expect_values() {
    let body = "spawn p\np mmap a 1GiB rw private anon\n\
        expect meminfo.Committed_AS = 60GiB\n\
        expect meminfo.Committed_AS == 60GiB ± 4KiB\n\
        expect meminfo.MemFree >= 50%ram +- 1MiB\n\
        expect meminfo.Active(anon) < 1GiB +/- 0\n\
        expect meminfo.HugePages_Total != 0\n\
        expect p.VmRSS <= 0\n\
        expect p.status.Threads > 0 ±1\n\
        expect p.smaps.a.Rss = 1GiB\n\
        expect p.rollup.Pss_Anon = 1GiB\n\
        expect p.vmas = 1\n\
        expect p.oom_score = 0\n\
        expect p.oom_score_adj = -1000\n\
        expect p.oom_adj = -17\n\
        expect sysctl.vm.overcommit_memory = 2\n\
        expect vm.max_map_count = 65530\n";
    let got = expects(body);
    let sz = |b| ExpectValue::Size(Size::Bytes(b));
    let n = ExpectValue::Number;
    let q_meminfo = |f: &str| Query::Meminfo { field: f.into() };
    let v = |query, cmp, value, tolerance| Expect::Value {
        query,
        cmp,
        value,
        tolerance,
    };
    assert_eq!(
        got,
        vec![
            v(q_meminfo("Committed_AS"), Cmp::Eq, sz(60 * GIB), None),
            v(
                q_meminfo("Committed_AS"),
                Cmp::Eq,
                sz(60 * GIB),
                Some(sz(4096))
            ),
            v(
                q_meminfo("MemFree"),
                Cmp::Ge,
                ExpectValue::Size(Size::Fraction {
                    per_mille: 500,
                    of: SizeBase::Ram
                }),
                Some(sz(MIB))
            ),
            v(q_meminfo("Active(anon)"), Cmp::Lt, sz(GIB), Some(sz(0))),
            v(q_meminfo("HugePages_Total"), Cmp::Ne, n(0), None),
            v(
                Query::Status {
                    proc: "p".into(),
                    field: "VmRSS".into()
                },
                Cmp::Le,
                sz(0),
                None
            ),
            v(
                Query::Status {
                    proc: "p".into(),
                    field: "Threads".into()
                },
                Cmp::Gt,
                n(0),
                Some(n(1))
            ),
            v(
                Query::Smaps {
                    proc: "p".into(),
                    mapping: "a".into(),
                    field: "Rss".into()
                },
                Cmp::Eq,
                sz(GIB),
                None
            ),
            v(
                Query::Rollup {
                    proc: "p".into(),
                    field: "Pss_Anon".into()
                },
                Cmp::Eq,
                sz(GIB),
                None
            ),
            v(Query::VmaCount { proc: "p".into() }, Cmp::Eq, n(1), None),
            v(Query::OomScore { proc: "p".into() }, Cmp::Eq, n(0), None),
            v(
                Query::OomScoreAdj { proc: "p".into() },
                Cmp::Eq,
                n(-1000),
                None
            ),
            v(Query::OomAdj { proc: "p".into() }, Cmp::Eq, n(-17), None),
            v(
                Query::Sysctl {
                    name: "overcommit_memory".into()
                },
                Cmp::Eq,
                n(2),
                None
            ),
            v(
                Query::Sysctl {
                    name: "max_map_count".into()
                },
                Cmp::Eq,
                n(65530),
                None
            ),
        ]
    );
}

#[test]
fn expect_value_errors() {
    let base = "spawn p\np mmap a 1GiB rw private anon\n";
    let f = |s: &str, at: &str, phrase: &str| body_fails(&format!("{base}{s}\n"), at, phrase);
    f(
        "expect meminfo.Committed_AS = 64424509440",
        "4:31",
        "`meminfo.Committed_AS` is a size: write a unit such as kB or MiB",
    );
    f(
        "expect meminfo.Committed_as = 1GiB",
        "4:16",
        "did you mean `Committed_AS`?",
    );
    f(
        "expect meminfo.Bogus = 1GiB",
        "4:16",
        "no /proc/meminfo field \"Bogus\"",
    );
    f("expect meminfo = 1GiB", "4:15", "expected `.FIELD`");
    f(
        "expect meminfo.Committed_AS.x = 1GiB",
        "4:29",
        "unexpected \"x\" in the query path",
    );
    f(
        "expect meminfo..Committed_AS = 1GiB",
        "4:16",
        "expected a name between the dots",
    );
    f(
        "expect meminfo.Committed_AS=1GiB",
        "4:28",
        "put spaces around the comparison",
    );
    f(
        "expect meminfo.Committed_AS ~ 1GiB",
        "4:29",
        "expected a comparison",
    );
    f(
        "expect meminfo.Committed_AS =",
        "4:30",
        "expected a value to compare with",
    );
    f(
        "expect meminfo.Committed_AS = 1GiB 2",
        "4:36",
        "expected `± TOLERANCE`",
    );
    f(
        "expect meminfo.Committed_AS = 1GiB ±",
        "4:37",
        "expected a tolerance",
    );
    f(
        "expect meminfo.Committed_AS = 1GiB ± 5",
        "4:38",
        "is a size: write a unit",
    );
    f(
        "expect meminfo.Committed_AS = 1GiB ± 1MiB x",
        "4:43",
        "unexpected \"x\"",
    );
    f(
        "expect meminfo.HugePages_Free = 1GiB",
        "4:33",
        "is a number, not a size",
    );
    f(
        "expect meminfo.HugePages_Free = x",
        "4:33",
        "expected an integer",
    );
    f("expect p.vmas = 2 ± -1", "4:21", "cannot be negative");
    f(
        "expect p.VmBogus = 1GiB",
        "4:10",
        "no /proc/PID/status field",
    );
    f("expect p.status = 1GiB", "4:16", "expected `.FIELD`");
    f(
        "expect p.status.Pss = 1GiB",
        "4:17",
        "no /proc/PID/status field",
    );
    f(
        "expect p.smaps.b.Rss = 1GiB",
        "4:16",
        "no mapping named `b`",
    );
    f("expect p.smaps.a = 1GiB", "4:17", "expected `.FIELD`");
    f(
        "expect p.smaps.a.Pss_Anon = 1GiB",
        "4:18",
        "no /proc/PID/smaps field",
    );
    f(
        "expect p.rollup.Size = 1GiB",
        "4:17",
        "no /proc/PID/smaps_rollup field",
    );
    f("expect q.VmRSS = 1GiB", "4:8", "no process named `q`");
    f(
        "expect 9.VmRSS = 1GiB",
        "4:8",
        "expected a query like meminfo.Committed_AS",
    );
    f(
        "expect vm.swappiness = 60",
        "4:11",
        "unknown sysctl \"vm.swappiness\" (known: vm.overcommit_memory,",
    );
    f("expect sysctl.kernel.x = 1", "4:15", "expected `vm`");
    f(
        "expect sysctl.vm.overcommit_memory = 1MiB",
        "4:38",
        "is a number, not a size",
    );
}

// ---------------------------------------------------------------------------------------------
// Text: comments, positions, line endings

#[test]
fn comments_blank_lines_and_text() {
    let s = ok("# a header\n\n   machine linux ram=8GiB   # the machine\n\t\nspawn app # the app\n  # indented comment\napp exit#no space\n");
    assert_eq!(s.stmts.len(), 2);
    assert_eq!(s.stmts[0].text, "spawn app");
    assert_eq!(s.stmts[0].pos, Pos { line: 5, col: 1 });
    assert_eq!(s.stmts[1].text, "app exit");
    assert_eq!(s.stmts[1].pos, Pos { line: 7, col: 1 });
}

#[test]
fn crlf_tabs_and_unicode() {
    let s = ok("machine linux ram=8GiB\r\nspawn app\r\n\tapp\tmmap a\t1GiB rw private file /données/λ.bin # commentaire é ✓\r\n");
    assert_eq!(s.stmts.len(), 2);
    assert_eq!(s.stmts[1].pos, Pos { line: 3, col: 2 });
    assert_eq!(
        s.stmts[1].text,
        "app\tmmap a\t1GiB rw private file /données/λ.bin"
    );
    assert!(
        matches!(&s.stmts[1].kind, StmtKind::Op(Op::Mmap { backing: Backing::File { path, .. }, .. }) if path == "/données/λ.bin")
    );
    // Columns count characters: the λ and é before the error are one column each.
    body_fails(
        "spawn app\r\napp mmap λé 1GiB rw private anon\r\n",
        "3:10",
        "expected a mapping name",
    );
    body_fails(
        "spawn app\napp mmap a 1GiB rw private file /é x\n",
        "3:36",
        "expected an mmap option",
    );
    body_fails(
        "spawn app\n\tapp\tmmap a\t1Gb rw private anon\n",
        "3:13",
        "found \"1Gb\"",
    );
}

#[test]
fn several_errors_one_per_line() {
    let src = format!("{M}spawn app\napp mmap a 1Gb rw private anon\napp mmap b 1GiB rq private anon\nspawn app\napp write b\n");
    let d = parse(&src).unwrap_err();
    let got: Vec<String> = d
        .iter()
        .map(|d| format!("{}:{}", d.pos.line, d.pos.col))
        .collect();
    // Line 3's mapping `a` and line 4's `b` are still registered, so line 6 is not an error.
    assert_eq!(got, ["3:12", "4:17", "5:7"]);
    assert!(d[0]
        .to_string()
        .starts_with("3:12: expected a size like 64MiB or 65%ram, found \"1Gb\""));
}

#[test]
fn a_broken_machine_line_does_not_cascade() {
    let d = parse("machine linux ram=8Gb\nspawn app\napp exit\n").unwrap_err();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].pos, Pos { line: 1, col: 19 });
    // Without any machine line: one error for the first statement, whatever else is wrong on it.
    let d = parse("hello\nspawn app\napp exit\n").unwrap_err();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].message.contains("expected a `machine` line first"));
}

#[test]
fn long_tokens_are_cut_in_messages() {
    let long = "x".repeat(10_000);
    let d = parse(&format!("{M}{long}\n")).unwrap_err();
    assert!(d[0].message.len() < 200, "{}", d[0].message);
}

#[test]
fn tutorial_example_parses() {
    let s = ok("machine linux ram=24GiB swap=0 overcommit=0 kernel=6.6\n\
        spawn app\n\
        app mmap a 15GiB rw private anon\n\
        app mmap b 15GiB rw private anon below=a   # adjacent to a: merges into one 30 GiB VMA\n\
        app fork child                              # one VMA larger than RAM+swap\n\
        expect app fork ENOMEM\n\
        sysctl vm.overcommit_memory=1\n\
        app fork child\n\
        expect child running\n\
        expect meminfo.Committed_AS = 60GiB\n");
    assert_eq!(linux(&s).kernel, KernelVersion::new(6, 6));
    assert_eq!(s.ops().count(), 6);
    assert_eq!(s.stmts.len(), 9);
}

#[test]
fn an_expected_failure_frees_the_names_it_introduced() {
    // The fork failed, so `child` does not exist and may be forked again (the tutorial does this).
    ok(&format!(
        "{M}spawn p\np fork c\nexpect p fork ENOMEM\np fork c\n"
    ));
    ok(&format!("{M}spawn p\np fork c\nexpect ENOMEM\np fork c\n"));
    ok(&format!("{M}spawn p\np mmap a 99GiB rw private anon\nexpect p ENOMEM\np mmap a 1GiB rw private anon\n"));
    // An `ok` (or no expect at all) keeps the name.
    body_fails(
        "spawn p\np fork c\nexpect p fork ok\np fork c\n",
        "5:8",
        "already exists",
    );
    body_fails(
        "spawn p\np mmap a 1GiB rw private anon\np mmap a 1GiB rw private anon\n",
        "4:8",
        "already has a mapping",
    );
    // A name freed this way is unknown afterwards.
    body_fails(
        "spawn p\np fork c\nexpect p fork ENOMEM\nc exit\n",
        "5:1",
        "no process named `c`",
    );
}

// ---------------------------------------------------------------------------------------------
// The reference's examples

/// The fenced blocks of docs/scenario-language.md, in order.
fn doc_blocks() -> Vec<String> {
    let doc = include_str!("../../../../../docs/scenario-language.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) => current = Some(String::new()),
            (Some(b), true) => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), false) => {
                b.push_str(line.trim_start());
                b.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

#[test]
fn doc_examples_parse_and_errors_are_as_documented() {
    let blocks = doc_blocks();
    // A complete scenario starts with a real machine line (the synopsis has `ram=SIZE`).
    let is_scenario = |b: &str| {
        b.strip_prefix("machine linux ram=")
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    };
    let whole: Vec<&String> = blocks.iter().filter(|b| is_scenario(b)).collect();
    assert!(whole.len() >= 2, "the reference has complete scenarios");
    let mut checked_errors = false;
    for (i, b) in blocks.iter().enumerate() {
        if !is_scenario(b) {
            continue;
        }
        match parse(b) {
            Ok(_) => {}
            Err(d) => {
                // A scenario with errors is followed by its exact diagnostics.
                let got: Vec<String> = d.iter().map(|d| d.to_string()).collect();
                let want: Vec<&str> = blocks
                    .get(i + 1)
                    .map(|n| n.lines().collect())
                    .unwrap_or_default();
                assert_eq!(
                    got, want,
                    "the diagnostics of block {i} differ from the reference"
                );
                checked_errors = true;
            }
        }
    }
    assert!(checked_errors, "the reference shows an example with errors");
    // Statement examples that are not whole scenarios parse after a machine and the names they use.
    let prelude = "machine linux ram=24GiB\nspawn app\napp mmap buf 64MiB rw private anon\napp mmap a 1MiB rw private anon\n";
    for b in &blocks {
        if b.starts_with("expect meminfo") {
            ok(&format!("{prelude}{b}"));
        }
        if b.starts_with("machine swap")
            || b.starts_with("app mprotect")
            || b.starts_with("expect kernel.log")
        {
            ok(&format!("{prelude}{b}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile and mistyped input: exact messages

/// `src` fails, and its first diagnostic is exactly `want` ("line:col: message").
#[track_caller]
fn fails_exactly(src: &str, want: &str) {
    let diags = match parse(src) {
        Ok(s) => panic!("expected {src:?} to fail, it parsed as {s:?}"),
        Err(d) => d,
    };
    assert_eq!(diags[0].to_string(), want, "for {src:?}");
}

/// The program with a process `app` that has mappings `buf` and `a`, then `body`.
fn with_app(body: &str) -> String {
    format!(
        "{M}spawn app\napp mmap buf 64MiB rw private anon\napp mmap a 1MiB rw private anon\n{body}"
    )
}

const OPTION_LIST: &str = "ram, swap, kernel, overcommit, ratio, kbytes, admin_reserve_kbytes, user_reserve_kbytes, max_map_count, hugepages, panic_on_oom, oom_kill_allocating_task, cpus, cgroup";
const SYSCTL_LIST: &str = "vm.overcommit_memory, vm.overcommit_ratio, vm.overcommit_kbytes, vm.admin_reserve_kbytes, vm.user_reserve_kbytes, vm.max_map_count, vm.nr_hugepages, vm.panic_on_oom, vm.oom_kill_allocating_task";

#[test]
fn misspelled_names_get_did_you_mean() {
    // Processes and mappings.
    fails_exactly(
        &with_app("apps fork child\n"),
        "5:1: no process named `apps`; did you mean `app`?",
    );
    fails_exactly(
        &with_app("zzz fork child\n"),
        "5:1: no process named `zzz` (spawn it first)",
    );
    fails_exactly(
        &with_app("kill ap\n"),
        "5:6: no process named `ap`; did you mean `app`?",
    );
    fails_exactly(
        &with_app("expect apps.VmRSS = 1GiB\n"),
        "5:8: no process named `apps`; did you mean `app`?",
    );
    fails_exactly(
        &with_app("expect meminf.MemFree = 1GiB\n"),
        "5:8: no process named `meminf`; did you mean `meminfo`?",
    );
    fails_exactly(
        &with_app("app write bf\n"),
        "5:11: process `app` has no mapping named `bf`; did you mean `buf`?",
    );
    fails_exactly(
        &with_app("app munmap xyz\n"),
        "5:12: process `app` has no mapping named `xyz` (mmap it first)",
    );
    fails_exactly(
        &with_app("expect app.smaps.bfu.Rss = 0\n"),
        "5:18: process `app` has no mapping named `bfu`; did you mean `buf`?",
    );
    // Statements and verbs.
    fails_exactly(
        &format!("{M}spwan app\n"),
        "2:1: expected a statement (machine, sysctl, spawn, kill, expect, repeat, or PROC VERB …), found \"spwan\"; did you mean `spawn`?",
    );
    fails_exactly(
        &with_app("expcet app running\n"),
        "5:1: expected a statement (machine, sysctl, spawn, kill, expect, repeat, or PROC VERB …), found \"expcet\"; did you mean `expect`?",
    );
    let verbs = "fork, vfork, clone, exec, exit, kill, mmap, munmap, mprotect, mremap, madvise, write, read, brk, stack, shmget, shmrm, tmpfs, file, unlink, oom_score_adj, oom_adj, drop, cgroup, bpf";
    fails_exactly(
        &with_app("app mmpa b 1GiB rw private anon\n"),
        &format!("5:5: expected a verb ({verbs}), found \"mmpa\"; did you mean `mmap`?"),
    );
    fails_exactly(
        &with_app("app frok child\n"),
        &format!("5:5: expected a verb ({verbs}), found \"frok\"; did you mean `fork`?"),
    );
    fails_exactly(
        &with_app("app tmpfs wirte /dev/shm/x 1MiB\n"),
        "5:11: expected `write` or `truncate` after `tmpfs`, found \"wirte\"; did you mean `write`?",
    );
    fails_exactly(
        &with_app("app mremap a 2MiB maymov\n"),
        "5:19: expected an mremap option (maymove, dontunmap, at=, below=, above=, gap=, as=), found \"maymov\"; did you mean `maymove`?",
    );
    fails_exactly(
        &with_app("app shmget k 2MiB noreserv\n"),
        "5:19: unexpected \"noreserv\" after a complete statement; did you mean `noreserve`?",
    );
    fails_exactly(
        &format!("{M}spawn app amdin\n"),
        "2:11: expected `admin` or `adj=N` after the process name, found \"amdin\"; did you mean `admin`?",
    );
    fails_exactly(
        &format!("{M}spawn app ajd=5\n"),
        "2:11: expected `admin` or `adj=N` after the process name, found \"ajd=5\"; did you mean `adj=N`?",
    );
    // Machine options, `linux`, sysctl names.
    fails_exactly(
        "machine linux rma=8GiB\n",
        &format!(
            "1:15: unknown machine option \"rma\"; did you mean `ram`? (options: {OPTION_LIST})"
        ),
    );
    fails_exactly(
        "machine linux ram=8GiB hugepage=1\n",
        &format!("1:24: unknown machine option \"hugepage\"; did you mean `hugepages`? (options: {OPTION_LIST})"),
    );
    fails_exactly(
        "machine linux ram=8GiB overcommit_memory=2\n",
        &format!("1:24: unknown machine option \"overcommit_memory\"; did you mean `overcommit`? (options: {OPTION_LIST})"),
    );
    fails_exactly(
        "machine linux ram=8GiB vm.overcommit_ratio=2\n",
        &format!("1:24: unknown machine option \"vm.overcommit_ratio\"; did you mean `ratio`? (options: {OPTION_LIST})"),
    );
    fails_exactly(
        "machine linux ram=8GiB swp=1GiB\n",
        &format!(
            "1:24: unknown machine option \"swp\"; did you mean `swap`? (options: {OPTION_LIST})"
        ),
    );
    fails_exactly(
        "machine linx ram=8GiB\n",
        "1:9: expected `linux` or `windows` after `machine` (the OS to simulate), found \"linx\"; did you mean `linux`?",
    );
    fails_exactly(
        "machine linux ram=8GiB mesured\n",
        "1:24: expected an option like `ram=24GiB` or `overcommit=2`, found \"mesured\"; did you mean `measured`?",
    );
    fails_exactly(
        "machine linux ram=8GiB swap\n",
        "1:24: expected an option like `ram=24GiB` or `overcommit=2`, found \"swap\"; did you mean `swap=`?",
    );
    fails_exactly(
        "machine linux ram=8GiB cpu\n",
        "1:24: expected an option like `ram=24GiB` or `overcommit=2`, found \"cpu\"; did you mean `cpus=`?",
    );
    fails_exactly(
        &format!("{M}sysctl vm.overcommit_memroy=1\n"),
        &format!("2:8: unknown sysctl \"vm.overcommit_memroy\"; did you mean `vm.overcommit_memory`? (known: {SYSCTL_LIST})"),
    );
    fails_exactly(
        &format!("{M}sysctl overcommit_ration=5\n"),
        &format!("2:8: unknown sysctl \"overcommit_ration\"; did you mean `overcommit_ratio`? (known: {SYSCTL_LIST})"),
    );
    fails_exactly(
        &format!("{M}expect vm.max_map_cnt = 1\n"),
        &format!("2:11: unknown sysctl \"vm.max_map_cnt\"; did you mean `vm.max_map_count`? (known: {SYSCTL_LIST})"),
    );
    fails_exactly(
        &format!("{M}sysctl vm.swappiness=60\n"),
        &format!("2:8: unknown sysctl \"vm.swappiness\" (known: {SYSCTL_LIST})"),
    );
    // Fields of every file.
    fails_exactly(
        &with_app("expect meminfo.Comitted_AS = 1GiB\n"),
        "5:16: no /proc/meminfo field \"Comitted_AS\"; did you mean `Committed_AS`?",
    );
    fails_exactly(
        &with_app("expect meminfo.hugepages_total = 1\n"),
        "5:16: no /proc/meminfo field \"hugepages_total\"; did you mean `HugePages_Total`? (field names are case-sensitive, as the kernel prints them)",
    );
    fails_exactly(
        &with_app("expect app.VmRss = 1GiB\n"),
        "5:12: no /proc/PID/status field \"VmRss\"; did you mean `VmRSS`? (field names are case-sensitive, as the kernel prints them)",
    );
    fails_exactly(
        &with_app("expect app.status.VmSzie = 1GiB\n"),
        "5:19: no /proc/PID/status field \"VmSzie\"; did you mean `VmSize`?",
    );
    fails_exactly(
        &with_app("expect app.vma = 1\n"),
        "5:12: no /proc/PID/status field \"vma\"; did you mean `vmas`?",
    );
    fails_exactly(
        &with_app("expect app.smaps.buf.Psss = 1GiB\n"),
        "5:22: no /proc/PID/smaps field \"Psss\"; did you mean `Pss`?",
    );
    fails_exactly(
        &with_app("expect app.rollup.Pss_anon = 1GiB\n"),
        "5:19: no /proc/PID/smaps_rollup field \"Pss_anon\"; did you mean `Pss_Anon`? (field names are case-sensitive, as the kernel prints them)",
    );
    // Outcomes, states, expect verbs.
    let outcomes = "ok, ENOMEM, EACCES, EINVAL, EEXIST, ENOSPC, EPERM, ENOENT, EFAULT, EAGAIN, EOVERFLOW, EBUSY, killed, blocked or panic";
    fails_exactly(
        &with_app("expect app mmap ENOMEN\n"),
        &format!(
            "5:17: expected an outcome ({outcomes}), found \"ENOMEN\"; did you mean `ENOMEM`?"
        ),
    );
    fails_exactly(
        &with_app("expect app mmap enomem\n"),
        &format!(
            "5:17: expected an outcome ({outcomes}), found \"enomem\"; did you mean `ENOMEM`?"
        ),
    );
    fails_exactly(
        &with_app("expect EINVL\n"),
        &format!("5:8: expected an outcome ({outcomes}), a process state or a query, found \"EINVL\"; did you mean `EINVAL`?"),
    );
    fails_exactly(
        &with_app("expect app runing\n"),
        &format!("5:12: expected running, exited, killed, an outcome ({outcomes}) or a verb, found \"runing\"; did you mean `running`?"),
    );
    assert!(parse(&with_app("expect app mmpa ok\n")).unwrap_err()[0]
        .to_string()
        .ends_with("found \"mmpa\"; did you mean `mmap`?"));
    // mmap's words, madvise advice.
    fails_exactly(
        &with_app("app mmap b 1GiB rw privte anon\n"),
        "5:20: expected `private` or `shared`, found \"privte\"; did you mean `private`?",
    );
    fails_exactly(
        &with_app("app mmap b 1GiB rw private anno\n"),
        "5:28: expected a backing (anon, file PATH, tmpfs PATH or shm KEY), found \"anno\"; did you mean `anon`?",
    );
    let options = "noreserve, populate, locked, growsdown, hugetlb, rdonly, offset=, at=, below=, above=, gap=";
    fails_exactly(
        &with_app("app mmap b 1GiB rw private anon noreserv\n"),
        &format!("5:33: expected an mmap option ({options}), found \"noreserv\"; did you mean `noreserve`?"),
    );
    fails_exactly(
        &with_app("app mmap b 1GiB rw private file /f offst=4096B\n"),
        &format!("5:36: expected an mmap option ({options}), found \"offst=4096B\"; did you mean `offset=`?"),
    );
    fails_exactly(
        &with_app("app mmap b 1GiB rw private file /f offset\n"),
        &format!(
            "5:36: expected an mmap option ({options}), found \"offset\"; did you mean `offset=`?"
        ),
    );
    fails_exactly(
        &with_app("app mmap b 1GiB rw private anon noreserve=1\n"),
        &format!("5:33: expected an mmap option ({options}), found \"noreserve=1\"; did you mean `noreserve`?"),
    );
    fails_exactly(
        &format!("{M}spawn app adj\n"),
        "2:11: expected `admin` or `adj=N` after the process name, found \"adj\"; did you mean `adj=N`?",
    );
    fails_exactly(
        &with_app("app mmap b 1GiB rw private anon bellow=a\n"),
        &format!(
            "5:33: expected an mmap option ({options}), found \"bellow=a\"; did you mean `below=`?"
        ),
    );
    let advice = "dontneed, free, dontfork, dofork, wipeonfork or keeponfork";
    fails_exactly(
        &with_app("app madvise buf dontned\n"),
        &format!("5:17: expected advice ({advice}), found \"dontned\"; did you mean `dontneed`?"),
    );
    fails_exactly(
        &with_app("app madvise buf MADV_DONTNEED\n"),
        &format!(
            "5:17: expected advice ({advice}), found \"MADV_DONTNEED\"; did you mean `dontneed`?"
        ),
    );
    fails_exactly(
        &with_app("app madvise buf wipeonfrok\n"),
        &format!(
            "5:17: expected advice ({advice}), found \"wipeonfrok\"; did you mean `wipeonfork`?"
        ),
    );
    fails_exactly(
        &with_app("app madvise buf sequential\n"),
        &format!("5:17: expected advice ({advice}), found \"sequential\""),
    );
}

#[test]
fn expect_verb_without_an_outcome_says_so() {
    fails_exactly(
        &with_app("app fork child\nexpect app fork\n"),
        "6:16: `expect app fork` needs an outcome: ok, an errno such as ENOMEM, or killed",
    );
    fails_exactly(
        &with_app("expect app mmap   # the mmap of a\n"),
        "5:16: `expect app mmap` needs an outcome: ok, an errno such as ENOMEM, or killed",
    );
    fails_exactly(
        &with_app("app tmpfs write /dev/shm/x 1MiB\nexpect app tmpfs\n"),
        "6:17: `expect app tmpfs` needs an outcome: ok, an errno such as ENOMEM, or killed",
    );
    fails_exactly(
        &with_app("app kill\nexpect app kill\n"),
        "6:16: `expect app kill` needs an outcome: ok, an errno such as ENOMEM, or killed",
    );
    // The state `killed` and an outcome after the verb still work.
    ok(&with_app(
        "app fork child\nexpect app fork ok\napp kill\nexpect app killed\n",
    ));
}

#[test]
fn sysctl_accepts_the_sysctl_8_form() {
    let want = Op::Sysctl {
        sysctl: Sysctl::OvercommitMemory,
        value: 1,
    };
    for line in [
        "sysctl -w vm.overcommit_memory=1",
        "sysctl -w vm.overcommit_memory = 1",
        "sysctl -w overcommit_memory=1",
        "sysctl vm.overcommit_memory=1",
    ] {
        assert_eq!(last_op(&format!("{line}\n")), want, "{line}");
    }
    fails_exactly(
        &format!("{M}sysctl -w\n"),
        "2:10: expected `vm.NAME=VALUE` after `-w`, found the end of the line",
    );
    fails_exactly(
        &format!("{M}sysctl -p /etc/sysctl.conf\n"),
        "2:8: sysctl(8)'s option \"-p\" is not supported: only `-w` is accepted, as in `sysctl -w vm.overcommit_memory=1`",
    );
}

#[test]
fn kernel_versions_are_exact() {
    let kernel = |v: &str| linux(&ok(&format!("machine linux ram=8GiB kernel={v}\n"))).kernel;
    assert_eq!(kernel("6.1"), KernelVersion::new(6, 1));
    assert_eq!(kernel("6.1.2"), KernelVersion::new(6, 1));
    assert_eq!(kernel("6.1.0-18-amd64"), KernelVersion::new(6, 1));
    let bad = |v: &str, message: &str| {
        fails_exactly(
            &format!("machine linux ram=8GiB kernel={v}\n"),
            &format!("1:31: {message}"),
        )
    };
    bad("6", "kernel version `6` needs a minor version, as in 6.1: the eras differ within a major version (5.1 and 5.2 account differently)");
    bad("6.1.2.3", "kernel version `6.1.2.3` has too many parts: write MAJOR.MINOR or MAJOR.MINOR.PATCH, as in 6.6 or 6.1.2");
    bad(
        "06.1",
        "kernel version `06.1` has a leading zero in `06`: write 6.1",
    );
    bad(
        "6.01",
        "kernel version `6.01` has a leading zero in `01`: write 6.1",
    );
    bad(
        "10.1",
        "kernel version `10.1` is outside the range vmlab models (2.x to 9.x, minor below 1000)",
    );
    for v in ["6.", ".6", "6.+1", "6.1-", "v6.1"] {
        bad(
            v,
            &format!(
                "`{v}` is not a kernel version like 6.6 or 4.19 (MAJOR.MINOR[.PATCH], 2.x to 9.x)"
            ),
        );
    }
}

/// Runs `src` and returns each expectation's (text, passed, detail).
fn checks(src: &str) -> Vec<(String, bool, String)> {
    let run = crate::sim::run(&ok(src));
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.machine.check_invariants(), Ok(()));
    run.checks
        .into_iter()
        .map(|c| (c.text, c.passed, c.detail))
        .collect()
}

#[test]
fn boot_hugepages_are_capped_like_the_sysctl() {
    // 8 GiB holds 4096 huge pages of 2 MiB: the pool takes all of RAM, and no more.
    for n in [
        "4096",
        "4097",
        "9223372036854775808",
        "18446744073709551615",
    ] {
        let s = ok(&format!("machine linux ram=8GiB hugepages={n}\n"));
        assert_eq!(
            linux(&s).sysctls.nr_hugepages.to_string(),
            n,
            "the parser keeps N"
        );
        let got = checks(&format!(
            "machine linux ram=8GiB hugepages={n}\n\
             expect meminfo.HugePages_Total = 4096\n\
             expect meminfo.Hugetlb = 8GiB\n\
             expect meminfo.MemFree = 0\n\
             expect meminfo.CommitLimit = 0\n\
             expect vm.nr_hugepages = 4096\n\
             sysctl vm.nr_hugepages={n}\n\
             expect vm.nr_hugepages = 4096\n"
        ));
        for (text, passed, detail) in got {
            assert!(passed, "hugepages={n}: {text}: {detail}");
        }
    }
    // Fewer than fit are kept as asked.
    let got = checks(
        "machine linux ram=8GiB hugepages=1024\n\
         expect meminfo.HugePages_Total = 1024\n\
         expect meminfo.MemFree = 6GiB\n",
    );
    assert!(got.iter().all(|c| c.1), "{got:?}");
}

#[test]
fn sizes_and_addresses_near_2_64_are_errors_or_handled() {
    let m = "app mmap b 1GiB rw private anon";
    // Range bounds past user space parse: the call gets the kernel's answer when it runs
    // (tests/hostile.rs checks each errno and the SIGSEGV).
    for t in [
        "app write a[0..18446744073709551615B]\n",
        "app madvise a[18446744073709551614B..18446744073709551615B] dontneed\n",
    ] {
        assert!(parse(&with_app(t)).is_ok(), "{t}");
    }
    fails_exactly(
        &with_app(&format!("{m} below=a gap=18446744073709551615B\n")),
        "5:45: the gap \"18446744073709551615B\" is past the end of user space (0x7ffffffff000, 128 TiB): no mapping reaches it",
    );
    fails_exactly(
        &with_app(&format!("{m} above=a gap=128TiB\n")),
        "5:45: the gap \"128TiB\" is past the end of user space (0x7ffffffff000, 128 TiB): no mapping reaches it",
    );
    fails_exactly(
        &with_app("app write a[0..100000.1%ram]\n"),
        "5:16: relative size \"100000.1%ram\" is above 100000% (a thousand times its base)",
    );
    fails_exactly(
        &with_app("app mmap b 99999999%ramswap rw private anon\n"),
        "5:12: relative size \"99999999%ramswap\" is above 100000% (a thousand times its base)",
    );
    fails_exactly(
        &with_app("machine swap=4097TiB\n"),
        "5:14: swap \"4097TiB\" comes to 4504699138998272 bytes, above the simulator's limit of 4 PiB",
    );
    fails_exactly(
        &with_app("machine swap=4096TiB\nmachine swap=100%swap\nmachine swap=200%swap\n"),
        "7:14: swap \"200%swap\" comes to 9007199254740992 bytes, above the simulator's limit of 4 PiB",
    );
    fails_exactly(
        &with_app("app mmap b 18446744073709551616B rw private anon\n"),
        "5:12: size \"18446744073709551616B\" is too large or has too many digits (at most 2^64 - 1 bytes)",
    );
    fails_exactly(
        &with_app("app mmap b 1GiB rw private anon at=0x10000000000000000\n"),
        "5:36: expected a hex address like 0x7f0000000000, found \"0x10000000000000000\"",
    );
    fails_exactly(
        "machine linux ram=8GiB max_map_count=2147483648\n",
        "1:38: vm.max_map_count must be 0..=2147483647, found 2147483648",
    );
    fails_exactly(
        "machine linux ram=8GiB ratio=18446744073709551616\n",
        "1:30: expected a non-negative integer for vm.overcommit_ratio, found \"18446744073709551616\"",
    );
    // At the edges, these parse; what the kernel answers is the simulator's business.
    let edge = [
        "app write a[0..127TiB]",
        "app write a[4095B..4097B]",
        "app munmap a[0..100000%ramswap]",
        "app mmap b 1GiB rw private anon below=a gap=140737488351232B",
        "app mmap b 1GiB rw private anon at=0xffffffffffffffff",
        "app mmap b 1GiB rw private anon at=0x7ffffffff000",
        "machine swap=4096TiB",
    ];
    for line in edge {
        ok(&with_app(&format!("{line}\n")));
    }
}

#[test]
fn the_fuzz_dictionary_names_every_word() {
    let dict = include_str!("../../../../../fuzz/parse.dict");
    let entries: BTreeSet<String> = dict
        .lines()
        .filter_map(|l| l.strip_prefix('"').and_then(|l| l.strip_suffix('"')))
        .map(|l| l.replace("\\x2e", "."))
        .collect();
    let fields = [
        crate::scenario::fields::MEMINFO_SIZE_FIELDS,
        crate::scenario::fields::MEMINFO_NUMBER_FIELDS,
        crate::scenario::fields::STATUS_SIZE_FIELDS,
        crate::scenario::fields::STATUS_NUMBER_FIELDS,
        crate::scenario::fields::SMAPS_SIZE_FIELDS,
        crate::scenario::fields::ROLLUP_SIZE_FIELDS,
    ];
    let sysctls: Vec<&str> = Sysctl::ALL.iter().map(|s| s.name()).collect();
    let words = super::ops::VERBS
        .iter()
        .chain(super::STATEMENTS)
        .chain(fields.iter().flat_map(|f| f.iter()))
        .copied()
        .chain(sysctls.iter().copied())
        .chain(crate::op::Advice::ALL.map(crate::op::Advice::name))
        .chain(super::ops::BACKINGS.iter().copied())
        .chain(super::ops::MMAP_OPTIONS.iter().copied())
        .chain(crate::op::Capability::ALL.map(crate::op::Capability::name))
        .chain(crate::query::PIECE_FIELDS.iter().copied())
        .chain([
            "host",
            "end",
            "as",
            "has",
            "lacks",
            "kernel.log",
            "vma",
            "ENOMEM",
            "EACCES",
            "EINVAL",
            "EEXIST",
            "ENOSPC",
            "EPERM",
            "ENOENT",
            "EFAULT",
            "EAGAIN",
            "ok",
            "killed",
            "running",
            "exited",
            "%ram",
            "%swap",
            "%ramswap",
            "[",
            "..",
            "]",
            "-w",
            // The extremes.
            "0",
            "1B",
            "4095B",
            "4097B",
            "0x7ffffffff000",
            "0x7ffffffff001",
            "18446744073709551615",
            "18446744073709551615B",
            "18446744073709551616B",
            "9223372036854775808",
            "16777216TiB",
            "4097TiB",
            "100000.1%ram",
        ]);
    let missing: Vec<&str> = words.filter(|w| !entries.contains(*w)).collect();
    assert!(missing.is_empty(), "fuzz/parse.dict lacks {missing:?}");
}

// ---- machine linux host ----------------------------------------------------------------------

#[test]
fn machine_host_is_measured_until_booted_on_a_host() {
    use crate::scenario::ast::BootSetting;
    let s = ok("machine linux host\n");
    assert_eq!(linux(&s), &LinuxConfig::measured());
    assert_eq!(s.host.as_ref().map(|h| h.settings.len()), Some(0));
    assert!(ok(M).host.is_none(), "a plain machine is not the host");
    assert!(ok("machine linux measured\n").host.is_none());

    let mut s = ok("machine linux host overcommit=2 ram=4GiB kernel=6.1\n");
    // Without a host: the measured machine with the options over it.
    assert_eq!(linux(&s).ram_bytes, 4 * GIB);
    assert_eq!(linux(&s).sysctls.user_reserve_kbytes, 100_407);
    let settings = s.host.clone().expect("host").settings;
    assert_eq!(
        settings,
        vec![
            BootSetting::Sysctl(Sysctl::OvercommitMemory, 2),
            BootSetting::Ram(4 * GIB),
            BootSetting::Kernel(KernelVersion::new(6, 1)),
        ]
    );
    // On a host: the host's values, then the options over them (its reserves are kept).
    let mut host = LinuxConfig::new(16 * GIB);
    host.swap_bytes = GIB;
    host.sysctls.user_reserve_kbytes = 4242;
    host.sysctls.overcommit_ratio = 80;
    assert!(s.boot_on_host(&MachineConfig::Linux(host)));
    let c = linux(&s);
    assert_eq!(c.ram_bytes, 4 * GIB, "ram= overrides the host's RAM");
    assert_eq!(c.swap_bytes, GIB, "the host's swap");
    assert_eq!(c.sysctls.user_reserve_kbytes, 4242, "the host's reserve");
    assert_eq!(c.sysctls.overcommit_ratio, 80, "the host's ratio");
    assert_eq!(c.sysctls.overcommit_memory, OvercommitMode::Never);
    assert_eq!(c.kernel, KernelVersion::new(6, 1));
    // Only a `host` scenario is moved.
    let mut plain = ok(M);
    assert!(!plain.boot_on_host(&MachineConfig::Linux(LinuxConfig::new(GIB))));
    assert_eq!(linux(&plain).ram_bytes, 8 * GIB);
}

#[test]
fn machine_host_errors() {
    fails(
        "machine linux host measured\n",
        "1:20",
        "either `measured` or `host`",
    );
    fails(
        "machine linux measured host\n",
        "1:24",
        "either `measured` or `host`",
    );
    fails("machine linux hots\n", "1:15", "did you mean `host`?");
    body_fails(
        "machine host\n",
        "2:9",
        "only goes on the first `machine` line",
    );
    fails(
        "machine linux host ram=0\n",
        "1:24",
        "RAM must be more than 0",
    );
    fails("machine linux host overcommit=3\n", "1:31", "0, 1 or 2");
}

// ---- drop cap_sys_admin ------------------------------------------------------------------------

#[test]
fn drop_capability() {
    use crate::op::Capability;
    assert_eq!(
        last_op("spawn app admin\napp drop cap_sys_admin\n"),
        Op::DropCap {
            proc: "app".into(),
            cap: Capability::SysAdmin
        }
    );
    assert_eq!(
        expects("spawn app admin\napp drop cap_sys_admin\nexpect app drop ok\n").len(),
        1
    );
    body_fails(
        "spawn app\napp drop\n",
        "3:9",
        "expected a capability (cap_sys_admin)",
    );
    body_fails(
        "spawn app\napp drop CAP_SYS_ADMIN\n",
        "3:10",
        "did you mean `cap_sys_admin`?",
    );
    body_fails(
        "spawn app\napp drop cap_sys_admn\n",
        "3:10",
        "did you mean `cap_sys_admin`?",
    );
    body_fails(
        "spawn app\napp drop cap_sys_admin now\n",
        "3:24",
        "unexpected \"now\"",
    );
    body_fails(
        "spawn app\napp dorp cap_sys_admin\n",
        "3:5",
        "did you mean `drop`?",
    );
}

// ---- repeat blocks -----------------------------------------------------------------------------

#[test]
fn repeat_expands_its_body_with_the_index() {
    let s = ok(&format!(
        "{M}spawn app\nrepeat 3 as i\n  app mmap m{{i}} {{i+1}}pages rw private anon\n  expect app.vmas >= {{i}}\nend\napp munmap m2\n"
    ));
    let all: Vec<&Op> = s.ops().map(|(_, op)| op).collect();
    assert_eq!(all.len(), 5);
    for (k, op) in all[1..4].iter().enumerate() {
        let k = k as u64;
        match op {
            Op::Mmap { name, len, .. } => {
                assert_eq!(name, &format!("m{k}"));
                assert_eq!(*len, Size::Bytes((k + 1) * 4096));
            }
            other => panic!("expected an mmap, got {other:?}"),
        }
    }
    // Positions are the file's; the text is the substituted line.
    let stmts: Vec<_> = s.stmts.iter().filter(|st| st.pos.line == 4).collect();
    assert_eq!(stmts.len(), 3);
    assert_eq!(stmts[2].text, "app mmap m2 3pages rw private anon");
    assert_eq!(stmts[2].pos, Pos { line: 4, col: 3 });
    let ex: Vec<_> = s
        .stmts
        .iter()
        .filter_map(|st| match &st.kind {
            StmtKind::Expect(Expect::Value { value, .. }) => Some(*value),
            _ => None,
        })
        .collect();
    assert_eq!(
        ex,
        vec![
            ExpectValue::Number(0),
            ExpectValue::Number(1),
            ExpectValue::Number(2)
        ]
    );
    // Nested blocks, sizes and ranges computed from both indexes; a block with no variable.
    let s = ok(&format!(
        "{M}spawn app\napp mmap big 64MiB rw private anon\nrepeat 2 as i\n  repeat 3 as j\n    app write big[{{i*3+j}}MiB..{{i*3+j+1}}MiB]\n  end\nend\nrepeat 2\n  app read big\nend\n"
    ));
    let writes: Vec<String> = s
        .stmts
        .iter()
        .filter(|st| st.text.starts_with("app write"))
        .map(|st| st.text.clone())
        .collect();
    assert_eq!(writes.len(), 6);
    assert_eq!(writes[5], "app write big[5MiB..6MiB]");
    assert_eq!(
        s.stmts
            .iter()
            .filter(|st| st.text == "app read big")
            .count(),
        2
    );
    // `repeat 0` parses its body never; braces outside a block are left alone.
    assert_eq!(
        ops("spawn app\nrepeat 0 as i\n  app mmap m{i} 1MiB rw private anon\nend\n").len(),
        1
    );
    assert_eq!(
        ops("spawn app\napp tmpfs write /dev/shm/{x} 1MiB\n").len(),
        2,
        "a path outside a block may hold braces"
    );
}

#[test]
fn repeat_errors_point_at_the_file_and_name_the_iteration() {
    // An error in one iteration only: reported once, with the iteration.
    body_fails(
        "spawn app\nrepeat 3 as i\n  app mmap m{i/2} 4KiB rw private anon\nend\n",
        "4:12",
        "already has a mapping named `m0` (names are never reused) (in iteration i=1 of the `repeat` at 3:1)",
    );
    let d = parse(&format!(
        "{M}spawn app\nrepeat 5 as i\n  app mmap m{{i}} 1GiB rq private anon\nend\n"
    ))
    .unwrap_err();
    assert_eq!(d.len(), 1, "one iteration's errors, not five: {d:?}");
    body_fails(
        "spawn app\nrepeat 2 as i\n  app mmap m{i-1} 4KiB rw private anon\nend\n",
        "4:13",
        "below 0",
    );
    body_fails(
        "spawn app\nrepeat 2 as idx\n  app mmap m{idz} 4KiB rw private anon\nend\n",
        "4:13",
        "did you mean `idx`?",
    );
    body_fails(
        "spawn app\nrepeat 2\n  app mmap m{i} 4KiB rw private anon\nend\n",
        "4:13",
        "no `repeat … as VAR` names a variable here",
    );
    body_fails(
        "spawn app\nrepeat 2 as i\n  app mmap m{i 4KiB rw private anon\nend\n",
        "4:13",
        "unclosed `{`",
    );
    body_fails("repeat 2 as i\n", "2:1", "has no `end`");
    body_fails("end\n", "2:1", "`end` without a `repeat`");
    body_fails(
        "repeat 2 as i\nend now\n",
        "3:5",
        "unexpected \"now\" after `end`",
    );
    body_fails("repeat\nend\n", "2:7", "expected a count");
    body_fails(
        "repeat many\nend\n",
        "2:8",
        "expected a count (a plain number",
    );
    body_fails("repeat 2 sa i\nend\n", "2:10", "did you mean `as`?");
    body_fails("repeat 2 as\nend\n", "2:12", "expected a variable name");
    body_fails("repeat 2 as 9\nend\n", "2:13", "expected a variable name");
    body_fails("repeat 2 as i x\nend\n", "2:15", "unexpected \"x\"");
    body_fails(
        "repeat 2 as i\n  repeat 2 as i\n  end\nend\n",
        "3:15",
        "already names the variable of an outer `repeat`",
    );
    body_fails("repeat 1000001\nend\n", "2:8", "at most 1000000 times");
    // Nested blocks multiply: 1000 × 1001 statements is past the bound, found before any
    // iteration runs.
    body_fails(
        "spawn app\nrepeat 1000 as i\n  repeat 1001 as j\n    app exit\n  end\nend\n",
        "3:1",
        "makes 1000 × 1001 statements, more than the 1000000",
    );
    // `repeat` and `end` are keywords.
    body_fails("spawn end\n", "2:7", "keyword");
    body_fails("rpeat 2\n", "2:1", "did you mean `repeat`?");
}

// ---- expect on VMA pieces and the kernel log ---------------------------------------------------

#[test]
fn expect_vma_pieces_and_the_kernel_log() {
    use crate::scenario::ast::PieceCheck;
    let body = "spawn app\napp mmap a 16MiB rw private anon\n";
    let e = expects(&format!(
        "{body}expect app.vma.a[4MiB].VmFlags has ac wr\nexpect app.vma.a.VmFlags lacks nr\nexpect app.vma.a[1.5MiB].perms = rw-p\nexpect app.vma.a[8MiB].perms != r--s\nexpect app.vma.a[4MiB].start = 4MiB\nexpect app.smaps.a[1MiB].Rss = 0\nexpect kernel.log has Out of   memory: Killed\nexpect kernel.log lacks oom\n"
    ));
    assert_eq!(
        e[0],
        Expect::Piece {
            proc: "app".into(),
            mapping: "a".into(),
            at: Size::Bytes(4 * MIB),
            check: PieceCheck::Flags {
                codes: vec!["ac".into(), "wr".into()],
                present: true
            }
        }
    );
    assert_eq!(
        e[1],
        Expect::Piece {
            proc: "app".into(),
            mapping: "a".into(),
            at: Size::Bytes(0),
            check: PieceCheck::Flags {
                codes: vec!["nr".into()],
                present: false
            }
        }
    );
    assert!(matches!(
        &e[2],
        Expect::Piece { at: Size::Bytes(b), check: PieceCheck::Perms { perms, equal: true }, .. }
            if *b == 3 * MIB / 2 && perms == "rw-p"
    ));
    assert!(matches!(
        &e[3],
        Expect::Piece {
            check: PieceCheck::Perms { equal: false, .. },
            ..
        }
    ));
    assert!(matches!(
        &e[4],
        Expect::Value { query: Query::Piece { field, at: Size::Bytes(b), .. }, .. }
            if field == "start" && *b == 4 * MIB
    ));
    assert!(matches!(
        &e[5],
        Expect::Value { query: Query::Piece { field, .. }, .. } if field == "Rss"
    ));
    assert_eq!(
        e[6],
        Expect::KernelLog {
            text: "Out of memory: Killed".into(),
            present: true
        }
    );
    assert_eq!(
        e[7],
        Expect::KernelLog {
            text: "oom".into(),
            present: false
        }
    );
}

#[test]
fn expect_vma_piece_and_kernel_log_errors() {
    let body = "spawn app\napp mmap a 16MiB rw private anon\n";
    let f = |line: &str, at: &str, phrase: &str| body_fails(&format!("{body}{line}\n"), at, phrase);
    f(
        "expect app.vma.a.VmFlags has acc",
        "4:30",
        "did you mean `ac`?",
    );
    f(
        "expect app.vma.a.VmFlags hs ac",
        "4:26",
        "did you mean `has`?",
    );
    f(
        "expect app.vma.a.VmFlags has",
        "4:29",
        "one or more VmFlags codes",
    );
    f(
        "expect app.vma.a.perms = rwp",
        "4:26",
        "as /proc/PID/maps prints them",
    );
    f("expect app.vma.a.perms < rw-p", "4:24", "`=` or `!=`");
    f(
        "expect app.vma.a[1MiB..2MiB].perms = rw-p",
        "4:18",
        "not a range",
    );
    f("expect app.vma.a[1MiB.perms = rw-p", "4:28", "expected `]`");
    f(
        "expect app.vma.b[1MiB].perms = rw-p",
        "4:16",
        "no mapping named `b`",
    );
    f(
        "expect app.vma.a[1MiB].Perms = rw-p",
        "4:24",
        "did you mean `perms`?",
    );
    f("expect app.vma.a[1Mb].Rss = 0", "4:18", "expected a size");
    f("expect app.vma.a[1MiB].Rss = 4", "4:30", "is a size");
    f("expect app.vmaa.a.Rss = 0", "4:12", "did you mean `vma`?");
    f("expect kernel.lgo has x", "4:15", "did you mean `log`?");
    f("expect kernel.log includes x", "4:19", "`has` or `lacks`");
    f("expect kernel.log has", "4:22", "the text to look for");
}
