//! `machine` lines (the boot configuration, then swap and sysctl changes) and `sysctl` lines.

use super::{abs_size, diag, err, quote, size, suggest, Cur, PResult, Parser};
use crate::config::{LinuxConfig, MachineConfig, Sysctl};
use crate::kernel::KernelVersion;
use crate::op::Op;
use crate::scenario::ast::{BootSetting, HostMachine, Pos, StmtKind};
use crate::scenario::lex::Tok;
use crate::scenario::size::parse_u64;
use crate::units::PAGE_SIZE;
use std::collections::BTreeSet;

/// Every `machine` option, in the order the reference lists them.
const OPTIONS: &[&str] = &[
    "ram",
    "swap",
    "kernel",
    "overcommit",
    "ratio",
    "kbytes",
    "admin_reserve_kbytes",
    "user_reserve_kbytes",
    "max_map_count",
    "hugepages",
    "panic_on_oom",
    "oom_kill_allocating_task",
    "cpus",
    "cgroup",
];

/// The words after `machine linux` that name the machine the options apply to.
const BASES: &[&str] = &["measured", "host"];

/// The simulator's ceiling for RAM and boot swap: 4 PiB, the 52-bit physical address space of
/// x86-64 with 5-level paging (arch/x86/include/asm/sparsemem.h: MAX_PHYSMEM_BITS 52).
const MAX_MEMORY_BYTES: u64 = 1 << 52;

/// The sysctl a machine option sets, for the options that are sysctls.
fn option_sysctl(key: &str) -> Option<Sysctl> {
    match key {
        "overcommit" => Some(Sysctl::OvercommitMemory),
        "ratio" => Some(Sysctl::OvercommitRatio),
        "kbytes" => Some(Sysctl::OvercommitKbytes),
        "admin_reserve_kbytes" => Some(Sysctl::AdminReserveKbytes),
        "user_reserve_kbytes" => Some(Sysctl::UserReserveKbytes),
        "max_map_count" => Some(Sysctl::MaxMapCount),
        "hugepages" => Some(Sysctl::NrHugepages),
        "panic_on_oom" => Some(Sysctl::PanicOnOom),
        "oom_kill_allocating_task" => Some(Sysctl::OomKillAllocatingTask),
        _ => None,
    }
}

/// The machine option that sets a sysctl: `overcommit_memory=2` on a `machine` line means
/// `overcommit=2`.
fn sysctl_option(sysctl: Sysctl) -> &'static str {
    match sysctl {
        Sysctl::OvercommitMemory => "overcommit",
        Sysctl::OvercommitRatio => "ratio",
        Sysctl::OvercommitKbytes => "kbytes",
        Sysctl::AdminReserveKbytes => "admin_reserve_kbytes",
        Sysctl::UserReserveKbytes => "user_reserve_kbytes",
        Sysctl::MaxMapCount => "max_map_count",
        Sysctl::NrHugepages => "hugepages",
        Sysctl::PanicOnOom => "panic_on_oom",
        Sysctl::OomKillAllocatingTask => "oom_kill_allocating_task",
    }
}

/// The hint for an unknown machine option: a sysctl's own name (`overcommit_memory`) points at its
/// option, anything else at the closest option.
fn option_hint(key: &str) -> String {
    match Sysctl::from_name(key) {
        Some(sysctl) => format!("; did you mean `{}`?", sysctl_option(sysctl)),
        None => suggest::hint(key, OPTIONS.iter().copied()),
    }
}

/// "unknown sysctl …; did you mean …? (known: …)", the hint written the way the name was (with
/// or without `vm.`).
pub(super) fn unknown_sysctl(name: &str) -> String {
    let bare = name.strip_prefix("vm.").unwrap_or(name);
    let prefix = if bare.len() == name.len() { "" } else { "vm." };
    let hint = suggest::closest(bare, Sysctl::ALL.iter().map(|s| s.name()))
        .map_or(String::new(), |n| format!("; did you mean `{prefix}{n}`?"));
    let known: Vec<String> = Sysctl::ALL
        .iter()
        .map(|s| format!("vm.{}", s.name()))
        .collect();
    format!(
        "unknown sysctl {}{hint} (known: {})",
        quote(name),
        known.join(", ")
    )
}

/// A sysctl value as the kernel's handler would accept it: `overcommit_memory` is 0, 1 or 2
/// (proc_dointvec_minmax with SYSCTL_ZERO..SYSCTL_TWO); `overcommit_ratio` and `max_map_count`
/// are C `int`s; the `*_kbytes` values and `nr_hugepages` are `unsigned long`.
pub(super) fn sysctl_value(sysctl: Sysctl, tok: Tok<'_>) -> PResult<u64> {
    let Some(v) = parse_u64(tok.text) else {
        return err(
            tok.pos,
            format!(
                "expected a non-negative integer for vm.{}, found {}",
                sysctl.name(),
                quote(tok.text)
            ),
        );
    };
    let max = match sysctl {
        Sysctl::OvercommitMemory | Sysctl::PanicOnOom => 2,
        Sysctl::OvercommitRatio | Sysctl::MaxMapCount | Sysctl::OomKillAllocatingTask => {
            i32::MAX as u64
        }
        Sysctl::OvercommitKbytes
        | Sysctl::AdminReserveKbytes
        | Sysctl::UserReserveKbytes
        | Sysctl::NrHugepages => u64::MAX,
    };
    if v > max {
        let range = if matches!(sysctl, Sysctl::OvercommitMemory | Sysctl::PanicOnOom) {
            "0, 1 or 2".to_string()
        } else {
            format!("0..={max}")
        };
        return err(
            tok.pos,
            format!("vm.{} must be {range}, found {v}", sysctl.name()),
        );
    }
    Ok(v)
}

/// RAM or boot swap: absolute, and below the simulator's ceiling.
fn memory_size(tok: Tok<'_>, what: &str) -> PResult<u64> {
    let b = abs_size(tok, what)?;
    if b > MAX_MEMORY_BYTES {
        return err(
            tok.pos,
            format!(
                "{what} {} is above the simulator's limit of 4 PiB",
                quote(tok.text)
            ),
        );
    }
    Ok(b)
}

impl Parser {
    /// `machine linux ram=SIZE [options]` boots the machine; a later `machine [linux] options`
    /// changes swap and sysctls, one operation per option.
    pub(super) fn machine_line(&mut self, toks: &[Tok<'_>]) -> PResult<Vec<(Pos, StmtKind)>> {
        let boot = self.machine.is_none();
        let mut cur = Cur::new(toks, 1);
        match cur.peek() {
            Some(t) if t.text == "linux" => {
                cur.i += 1;
            }
            Some(t) if boot => {
                let near = if t.text.contains('=') {
                    String::new()
                } else {
                    suggest::hint(t.text, ["linux", "windows"])
                };
                return err(
                    t.pos,
                    format!(
                        "expected `linux` or `windows` after `machine` (the OS to simulate), found {}{near}",
                        quote(t.text)
                    ),
                );
            }
            None if boot => return err(cur.end(), "expected `linux ram=SIZE` after `machine`"),
            _ => {}
        }
        // `measured` (the spec's reference machine) or `host` (this host): the machine the
        // options apply to; at most one of them, and only at boot.
        let mut base: Option<Tok<'_>> = None;
        while let Some(t) = cur.peek().filter(|t| BASES.contains(&t.text)) {
            if !boot {
                return err(
                    t.pos,
                    format!(
                        "`{}` only goes on the first `machine` line: the machine is already booted",
                        t.text
                    ),
                );
            }
            if let Some(b) = base {
                return err(
                    t.pos,
                    format!(
                        "give either `measured` or `host`, not both (`{}` is already given)",
                        b.text
                    ),
                );
            }
            base = Some(t);
            cur.i += 1;
        }
        let mut seen = BTreeSet::new();
        let mut opts = Vec::new();
        for &t in cur.rest() {
            let Some((key, value)) = t.split("=") else {
                let near = OPTIONS
                    .iter()
                    .copied()
                    .find(|o| *o == t.text)
                    .or_else(|| suggest::closest(t.text, OPTIONS.iter().copied()))
                    .map(|o| format!("; did you mean `{o}=`?"))
                    .unwrap_or_else(|| suggest::hint(t.text, ["linux", "measured", "host"]));
                return err(
                    t.pos,
                    format!(
                        "expected an option like `ram=24GiB` or `overcommit=2`, found {}{near}",
                        quote(t.text)
                    ),
                );
            };
            if !OPTIONS.contains(&key.text) {
                return err(
                    key.pos,
                    format!(
                        "unknown machine option {}{} (options: {})",
                        quote(key.text),
                        option_hint(key.text),
                        OPTIONS.join(", ")
                    ),
                );
            }
            if !seen.insert(key.text) {
                return err(key.pos, format!("`{}=` is given twice", key.text));
            }
            if value.text.is_empty() {
                return err(value.pos, format!("expected a value after `{}=`", key.text));
            }
            opts.push((key, value));
        }
        if let Some((key, _)) = opts
            .iter()
            .find(|(k, _)| k.text == "kbytes")
            .filter(|_| seen.contains("ratio"))
        {
            return err(
                key.pos,
                "give either `ratio=` or `kbytes=`, not both (writing one zeroes the other)",
            );
        }
        if boot {
            self.boot(toks[0], base, &opts).map(|()| Vec::new())
        } else {
            if opts.is_empty() {
                return err(
                    cur.end(),
                    "expected an option such as `swap=SIZE` or `overcommit=2` after `machine`",
                );
            }
            opts.iter()
                .map(|&(key, value)| Ok((key.pos, StmtKind::Op(self.later_option(key, value)?))))
                .collect()
        }
    }

    fn boot(
        &mut self,
        machine: Tok<'_>,
        base: Option<Tok<'_>>,
        opts: &[(Tok<'_>, Tok<'_>)],
    ) -> PResult<()> {
        let mut settings = Vec::with_capacity(opts.len());
        for &(key, value) in opts {
            settings.push(match key.text {
                "ram" => BootSetting::Ram(ram_bytes(value)?),
                "swap" => BootSetting::Swap(memory_size(value, "swap")?),
                "kernel" => BootSetting::Kernel(
                    value
                        .text
                        .parse::<KernelVersion>()
                        .map_err(|m| diag(value.pos, m))?,
                ),
                "cpus" => BootSetting::Cpus(
                    parse_u64(value.text)
                        .filter(|&n| n >= 1)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            diag(
                                value.pos,
                                format!("expected a CPU count like 2, found {}", quote(value.text)),
                            )
                        })?,
                ),
                "cgroup" => BootSetting::Cgroup(match value.text {
                    "v1" => crate::config::CgroupVersion::V1,
                    "v2" => crate::config::CgroupVersion::V2,
                    _ => {
                        return err(
                            value.pos,
                            format!(
                                "expected the memory cgroup hierarchy, v1 or v2, found {}",
                                quote(value.text)
                            ),
                        )
                    }
                }),
                other => {
                    // OPTIONS holds only ram, swap, kernel, cpus, cgroup and sysctl options.
                    let Some(sysctl) = option_sysctl(other) else {
                        continue;
                    };
                    BootSetting::Sysctl(sysctl, sysctl_value(sysctl, value)?)
                }
            });
        }
        let ram = settings.iter().find_map(|s| match s {
            BootSetting::Ram(b) => Some(*b),
            _ => None,
        });
        // The machine the options apply to. `measured` or `host` with `ram=` keeps that machine's
        // reserves and changes only the RAM; `host` is the measured machine until a front end
        // that can read the host boots on it (Scenario::boot_on_host).
        let mut config = match (base, ram) {
            (Some(_), _) => LinuxConfig::measured(),
            (None, Some(b)) => LinuxConfig::new(b),
            (None, None) => {
                return err(
                    machine.pos,
                    "`machine linux` needs `ram=SIZE` (or `measured` for the spec's 24 GiB VM, or `host` for this machine)",
                )
            }
        };
        for s in &settings {
            s.apply(&mut config);
        }
        if base.is_some_and(|t| t.text == "host") {
            self.host = Some(HostMachine { settings });
        }
        self.swap_bytes = config.swap_bytes;
        self.machine = Some(MachineConfig::Linux(config));
        Ok(())
    }

    /// `sysctl vm.NAME=VALUE`, also `sysctl NAME=VALUE`, with spaces around `=`, and
    /// `sysctl -w vm.NAME=VALUE` as sysctl(8) is written (`-w` changes nothing: the statement
    /// always writes).
    pub(super) fn sysctl_line(&mut self, toks: &[Tok<'_>]) -> PResult<Op> {
        let mut cur = Cur::new(toks, 1);
        let mut first = cur.next("`vm.NAME=VALUE`")?;
        if first.text == "-w" {
            first = cur.next("`vm.NAME=VALUE` after `-w`")?;
        } else if first.text.starts_with('-') {
            return err(
                first.pos,
                format!(
                    "sysctl(8)'s option {} is not supported: only `-w` is accepted, as in `sysctl -w vm.overcommit_memory=1`",
                    quote(first.text)
                ),
            );
        }
        let (name, value) = match first.split("=") {
            Some((name, value)) if !value.text.is_empty() => (name, value),
            Some((name, _)) => (name, cur.next("a value after `=`")?),
            None => {
                let eq = cur.next("`=VALUE`")?;
                match eq.strip("=") {
                    Some(v) if v.text.is_empty() => (first, cur.next("a value after `=`")?),
                    Some(v) => (first, v),
                    None => return err(eq.pos, format!("expected `=`, found {}", quote(eq.text))),
                }
            }
        };
        cur.done()?;
        let Some(sysctl) = Sysctl::from_name(name.text) else {
            return err(name.pos, unknown_sysctl(name.text));
        };
        let value = sysctl_value(sysctl, value)?;
        Ok(Op::Sysctl { sysctl, value })
    }
}

fn ram_bytes(v: Tok<'_>) -> PResult<u64> {
    let b = memory_size(v, "RAM")?;
    if b == 0 {
        return err(v.pos, "RAM must be more than 0");
    }
    Ok(b)
}

impl Parser {
    /// One option of a `machine` line after boot, as an operation.
    fn later_option(&mut self, key: Tok<'_>, value: Tok<'_>) -> PResult<Op> {
        if key.text == "swap" {
            // The new SwapTotal is known now (RAM is fixed and every earlier swap change is too),
            // so the 4 PiB ceiling of boot swap holds for relative sizes as well.
            let bytes = size(value)?;
            let ram = self.machine.as_ref().map_or(0, MachineConfig::ram_bytes);
            let swap = bytes.resolve(ram, self.swap_bytes);
            if swap > MAX_MEMORY_BYTES {
                return err(
                    value.pos,
                    format!(
                        "swap {} comes to {swap} bytes, above the simulator's limit of 4 PiB",
                        quote(value.text)
                    ),
                );
            }
            self.swap_bytes = swap / PAGE_SIZE * PAGE_SIZE;
            return Ok(Op::SetSwap { bytes });
        }
        later_option(key, value)
    }
}

/// One option of a `machine` line after boot other than `swap=`, as an operation.
fn later_option(key: Tok<'_>, value: Tok<'_>) -> PResult<Op> {
    match key.text {
        "ram" | "kernel" => err(
            key.pos,
            format!(
                "RAM/kernel cannot change after boot (`{}=` is only for the first `machine` line)",
                key.text
            ),
        ),
        "cpus" => err(
            key.pos,
            "the CPU count cannot change after boot (`cpus=` is only for the first `machine` line)",
        ),
        "cgroup" => err(
            key.pos,
            "the cgroup hierarchy cannot change after boot (`cgroup=` is only for the first `machine` line)",
        ),
        other => match option_sysctl(other) {
            Some(sysctl) => Ok(Op::Sysctl {
                sysctl,
                value: sysctl_value(sysctl, value)?,
            }),
            // OPTIONS was checked by the caller; this is only reached for a name added there but not here.
            None => err(key.pos, format!("unknown machine option {}", quote(other))),
        },
    }
}
