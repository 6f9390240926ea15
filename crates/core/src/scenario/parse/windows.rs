//! The statements of a `machine windows` scenario (docs/scenario-language.md, "Windows"):
//! the machine line, processes, VirtualAlloc/VirtualFree, touches, sections and views, jobs and
//! containers, and `expect` on outcomes and on any field of a reported structure.

use super::{abs_size, diag, err, quote, Cur, PResult, Parser};
use crate::config::{MachineConfig, PagefileConfig, WindowsConfig, WINDOWS_VA_32_BYTES};
use crate::op::Op;
use crate::query::Query;
use crate::scenario::ast::{Expect, OutcomeSpec, StateSpec};
use crate::scenario::lex::Tok;
use crate::units::{GIB, PAGE_SIZE, TIB};
use crate::windows::op::*;
use crate::windows::query::WinQuery;
use std::rc::Rc;

/// The verbs a Windows process line can have.
const VERBS: &[&str] = &[
    "reserve", "commit", "alloc", "reset", "decommit", "release", "write", "read", "section",
    "map", "unmap", "exit",
];

fn protect(t: Tok<'_>) -> PResult<u32> {
    Ok(match t.text {
        "PAGE_NOACCESS" | "noaccess" => PAGE_NOACCESS,
        "PAGE_READONLY" | "r" => PAGE_READONLY,
        "PAGE_READWRITE" | "rw" => PAGE_READWRITE,
        "PAGE_EXECUTE_READWRITE" | "rwx" => PAGE_EXECUTE_READWRITE,
        _ => {
            return err(
                t.pos,
                format!(
                    "expected a protection (rw, r, rwx, noaccess or a PAGE_* name), found {}",
                    quote(t.text)
                ),
            )
        }
    })
}

/// The value of a winnt.h constant an `expect` may name, as decimal text.
fn constant(name: &str) -> Option<&'static str> {
    Some(match name {
        "MEM_COMMIT" => "4096",
        "MEM_RESERVE" => "8192",
        "MEM_FREE" => "65536",
        "MEM_PRIVATE" => "131072",
        "MEM_MAPPED" => "262144",
        "PAGE_NOACCESS" => "1",
        "PAGE_READONLY" => "2",
        "PAGE_READWRITE" => "4",
        "PAGE_WRITECOPY" => "8",
        "PAGE_EXECUTE_READWRITE" => "64",
        _ => return None,
    })
}

/// `A..B` of two sizes.
fn size_pair(t: Tok<'_>, what: &str) -> PResult<(u64, u64)> {
    let Some((a, b)) = t.split("..") else {
        return err(
            t.pos,
            format!("expected {what} as MIN..MAX, found {}", quote(t.text)),
        );
    };
    let (a, b) = (abs_size(a, what)?, abs_size(b, what)?);
    if a > b {
        return err(
            t.pos,
            format!("{what}: the first size is larger than the second"),
        );
    }
    Ok((a, b))
}

impl Parser {
    /// `machine windows ram=SIZE [pagefile=none|system|INIT..MAX] [disk=SIZE] [va=SIZE] [bits=32|64]`.
    pub(super) fn windows_machine(&mut self, toks: &[Tok<'_>]) -> PResult<()> {
        let mut c = WindowsConfig::new(0);
        let mut ram = None;
        let mut va = None;
        let mut seen = Vec::new();
        for &t in &toks[2..] {
            let Some((k, v)) = t.split("=") else {
                return err(
                    t.pos,
                    format!(
                        "expected an option like `ram=16GiB` or `pagefile=4GiB..12GiB`, found {}",
                        quote(t.text)
                    ),
                );
            };
            if seen.contains(&k.text) {
                return err(k.pos, format!("`{}=` is given twice", k.text));
            }
            seen.push(k.text);
            match k.text {
                "ram" => {
                    let b = abs_size(v, "ram")?;
                    if !(16 * 1024 * 1024..=1 << 52).contains(&b) {
                        return err(v.pos, "ram must be between 16 MiB and 4 PiB");
                    }
                    ram = Some(b);
                }
                "pagefile" => {
                    c.pagefile = match v.text {
                        "none" => PagefileConfig::None,
                        "system" => PagefileConfig::SystemManaged,
                        _ => {
                            let (a, b) = size_pair(v, "pagefile")?;
                            PagefileConfig::Sized {
                                initial_bytes: a,
                                max_bytes: b,
                            }
                        }
                    }
                }
                "disk" => c.disk_bytes = abs_size(v, "disk")?.min(1 << 60),
                "va" => va = Some((v, abs_size(v, "va")?)),
                "bits" => {
                    c.bits = match v.text {
                        "32" => 32,
                        "64" => 64,
                        _ => return err(v.pos, format!("expected bits=32 or bits=64, found {}", quote(v.text))),
                    }
                }
                _ => {
                    return err(
                        k.pos,
                        format!(
                            "unknown Windows machine option {} (options: ram, pagefile, disk, va, bits)",
                            quote(k.text)
                        ),
                    )
                }
            }
        }
        let Some(ram) = ram else {
            return err(toks[0].pos, "`machine windows` needs `ram=SIZE`");
        };
        c.ram_bytes = ram.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        c.va_bytes = if c.bits == 32 {
            WINDOWS_VA_32_BYTES
        } else {
            c.va_bytes
        };
        if let Some((t, b)) = va {
            // W8: a 32-bit process gets 2, 3 or 4 GiB; a 64-bit one up to 128 TiB.
            let ok = if c.bits == 32 {
                [2 * GIB, 3 * GIB, 4 * GIB].contains(&b)
            } else {
                b.is_multiple_of(64 * 1024) && (GIB..=128 * TIB).contains(&b)
            };
            if !ok {
                return err(
                    t.pos,
                    "va= must be 2GiB, 3GiB or 4GiB for bits=32 (W8), or a multiple of 64 KiB from 1 GiB to 128 TiB for bits=64",
                );
            }
            c.va_bytes = b;
        }
        self.machine = Some(MachineConfig::Windows(c));
        Ok(())
    }

    fn is_windows(&self) -> bool {
        matches!(self.machine, Some(MachineConfig::Windows(_)))
    }

    /// Any statement of a Windows scenario but `machine`.
    pub(super) fn windows_line(&mut self, toks: &[Tok<'_>]) -> PResult<Option<Op>> {
        debug_assert!(self.is_windows());
        let first = toks[0];
        let mut cur = Cur::new(toks, 1);
        let op = match first.text {
            "spawn" => {
                let name = self.new_proc_name(cur.next("a process name")?)?;
                let container = match cur.peek() {
                    Some(t) if t.text == "in" => {
                        cur.i += 1;
                        Some(cur.next("a container name")?.text.to_string())
                    }
                    _ => None,
                };
                cur.done()?;
                let mm = self.names.new_mm(Rc::default());
                self.add_proc(&name, mm);
                WinOp::Spawn { name, container }
            }
            "job" => {
                let a = cur.next("`create JOB`, or JOB then `limits …` or `assign PROC`")?;
                if a.text == "create" {
                    let job = cur.next("a job name")?.text.to_string();
                    cur.done()?;
                    WinOp::CreateJobObject { job }
                } else {
                    let job = a.text.to_string();
                    let verb = cur.next("`limits` or `assign`")?;
                    match verb.text {
                        "assign" => {
                            let proc = self.proc_ref(cur.next("a process")?)?;
                            cur.done()?;
                            WinOp::AssignProcessToJobObject { job, proc }
                        }
                        "limits" => {
                            let (mut flags, mut pm, mut jm, mut min, mut max) = (0, 0, 0, 0, 0);
                            for &t in cur.rest() {
                                let Some((k, v)) = t.split("=") else {
                                    return err(t.pos, format!("expected process=SIZE, job=SIZE or workingset=MIN..MAX, found {}", quote(t.text)));
                                };
                                match k.text {
                                    "process" => {
                                        flags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
                                        pm = abs_size(v, "process")?;
                                    }
                                    "job" => {
                                        flags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
                                        jm = abs_size(v, "job")?;
                                    }
                                    "workingset" => {
                                        flags |= JOB_OBJECT_LIMIT_WORKINGSET;
                                        (min, max) = size_pair(v, "workingset")?;
                                    }
                                    _ => {
                                        return err(
                                            k.pos,
                                            format!(
                                                "unknown job limit {} (process, job, workingset)",
                                                quote(k.text)
                                            ),
                                        )
                                    }
                                }
                            }
                            WinOp::SetJobLimits {
                                job,
                                limit_flags: flags,
                                process_memory_limit: pm,
                                job_memory_limit: jm,
                                min_working_set: min,
                                max_working_set: max,
                            }
                        }
                        _ => {
                            return err(
                                verb.pos,
                                format!(
                                    "expected `limits` or `assign`, found {}",
                                    quote(verb.text)
                                ),
                            )
                        }
                    }
                }
            }
            "container" => {
                let name = cur.next("a container name")?.text.to_string();
                let (mut iso, mut mem, mut base, mut pf) = (None, None, 0, 0);
                for &t in cur.rest() {
                    let Some((k, v)) = t.split("=") else {
                        return err(
                            t.pos,
                            format!(
                                "expected isolation=, memory=, base= or pagefile=, found {}",
                                quote(t.text)
                            ),
                        );
                    };
                    match k.text {
                        "isolation" => {
                            iso = Some(match v.text {
                                "process" => Isolation::Process,
                                "hyperv" => Isolation::HyperV,
                                _ => {
                                    return err(
                                        v.pos,
                                        format!(
                                        "expected isolation=process or isolation=hyperv, found {}",
                                        quote(v.text)
                                    ),
                                    )
                                }
                            })
                        }
                        "memory" => mem = Some(abs_size(v, "memory")?),
                        "base" => base = abs_size(v, "base")?,
                        "pagefile" => pf = abs_size(v, "pagefile")?,
                        _ => {
                            return err(
                                k.pos,
                                format!("unknown container option {}", quote(k.text)),
                            )
                        }
                    }
                }
                let (Some(isolation), Some(memory_bytes)) = (iso, mem) else {
                    return err(
                        first.pos,
                        "`container` needs isolation=process|hyperv and memory=SIZE",
                    );
                };
                if isolation == Isolation::HyperV
                    && (base == 0
                        || memory_bytes < 16 * 1024 * 1024
                        || base.div_ceil(PAGE_SIZE) >= memory_bytes / PAGE_SIZE)
                {
                    // No documented default: the scenario says how much its VM's system uses.
                    return err(
                        first.pos,
                        "a Hyper-V container needs memory= of at least 16 MiB and base=SIZE (the memory its utility VM's own system uses), above 0 and below memory=",
                    );
                }
                WinOp::CreateContainer {
                    name,
                    isolation,
                    memory_bytes,
                    base_bytes: base,
                    pagefile_bytes: pf,
                }
            }
            "expect" => return Ok(None),
            _ => self.windows_proc_line(first, &mut cur)?,
        };
        Ok(Some(Op::Win(op)))
    }

    /// `NAME` or `NAME[A..B]`: (region, offset, size or None for the whole region).
    fn region_range(&self, proc: &str, t: Tok<'_>) -> PResult<(String, u64, Option<u64>)> {
        let (name, range) = match t.text.find('[') {
            Some(i) if t.text.ends_with(']') => {
                (&t.text[..i], Some(&t.text[i + 1..t.text.len() - 1]))
            }
            _ => (t.text, None),
        };
        let name_tok = t.sub(0, name);
        let name = self.mapping_ref(proc, name_tok)?;
        let Some(r) = range else {
            return Ok((name, 0, None));
        };
        let inner = t.sub(name.chars().count() + 1, r);
        let Some((a, b)) = inner.split("..") else {
            return err(
                inner.pos,
                format!("expected a range A..B, found {}", quote(r)),
            );
        };
        let (a, b) = (abs_size(a, "a range start")?, abs_size(b, "a range end")?);
        if b <= a {
            return err(inner.pos, "the range's end must be above its start");
        }
        Ok((name, a, Some(b - a)))
    }

    fn windows_proc_line(&mut self, first: Tok<'_>, cur: &mut Cur<'_, '_>) -> PResult<WinOp> {
        let proc = self.proc_ref(first)?;
        let verb = cur.next("a verb (reserve, commit, alloc, write, …)")?;
        let prot_opt = |cur: &mut Cur<'_, '_>| -> PResult<u32> {
            match cur.peek() {
                Some(t) => {
                    cur.i += 1;
                    protect(t)
                }
                None => Ok(PAGE_READWRITE),
            }
        };
        let op = match verb.text {
            "reserve" | "alloc" => {
                let name_tok = cur.next("a name for the region")?;
                let name = self.new_region(&proc, name_tok)?;
                let size = abs_size(cur.next("a size")?, "the size")?;
                self.win_sizes.insert((proc.clone(), name.clone()), size);
                let mut address = WinAddr::Null;
                if let Some(t) = cur.peek().filter(|t| t.text.starts_with("at=")) {
                    cur.i += 1;
                    let v = t.strip("at=").expect("checked");
                    address = WinAddr::At(abs_size(v, "at")?);
                }
                let protect = prot_opt(cur)?;
                WinOp::VirtualAlloc {
                    proc: proc.clone(),
                    name: Some(name),
                    address,
                    size,
                    allocation_type: if verb.text == "alloc" {
                        MEM_RESERVE | MEM_COMMIT
                    } else {
                        MEM_RESERVE
                    },
                    protect,
                }
            }
            "commit" | "reset" => {
                let (region, offset, size) = self.region_range(&proc, cur.next("a region")?)?;
                let size = size.unwrap_or_else(|| self.region_size(&proc, &region));
                let protect = prot_opt(cur)?;
                WinOp::VirtualAlloc {
                    proc: proc.clone(),
                    name: None,
                    address: WinAddr::In { region, offset },
                    size,
                    allocation_type: if verb.text == "commit" {
                        MEM_COMMIT
                    } else {
                        MEM_RESET
                    },
                    protect,
                }
            }
            "decommit" => {
                let (region, offset, size) = self.region_range(&proc, cur.next("a region")?)?;
                WinOp::VirtualFree {
                    proc: proc.clone(),
                    address: WinAddr::In { region, offset },
                    size: size.unwrap_or(0),
                    free_type: MEM_DECOMMIT,
                }
            }
            "release" => {
                let (region, offset, size) = self.region_range(&proc, cur.next("a region")?)?;
                WinOp::VirtualFree {
                    proc: proc.clone(),
                    address: WinAddr::In { region, offset },
                    size: size.unwrap_or(0),
                    free_type: MEM_RELEASE,
                }
            }
            "write" | "read" => {
                let (region, offset, size) = self.region_range(&proc, cur.next("a region")?)?;
                let size = size.unwrap_or_else(|| self.region_size(&proc, &region));
                WinOp::Touch {
                    proc: proc.clone(),
                    address: WinAddr::In { region, offset },
                    size,
                    write: verb.text == "write",
                }
            }
            "section" => {
                let c = cur.next("`create`")?;
                if c.text != "create" {
                    return err(
                        c.pos,
                        format!(
                            "expected `section create NAME SIZE commit|reserve`, found {}",
                            quote(c.text)
                        ),
                    );
                }
                let section = cur.next("a section name")?.text.to_string();
                let size = abs_size(cur.next("a size")?, "the size")?;
                self.win_sections.insert(section.clone(), size);
                let kind = cur.next("commit or reserve")?;
                let attributes = match kind.text {
                    "commit" => SEC_COMMIT,
                    "reserve" => SEC_RESERVE,
                    _ => {
                        return err(
                            kind.pos,
                            format!("expected commit or reserve, found {}", quote(kind.text)),
                        )
                    }
                };
                WinOp::CreateFileMapping {
                    proc: proc.clone(),
                    section,
                    size,
                    protect: PAGE_READWRITE,
                    attributes,
                }
            }
            "map" => {
                let name_tok = cur.next("a name for the view")?;
                let name = self.new_region(&proc, name_tok)?;
                let section = cur.next("a section")?.text.to_string();
                let (mut copy, mut offset, mut size) = (false, 0, 0);
                for &t in cur.rest() {
                    if t.text == "copy" {
                        copy = true;
                    } else if let Some(v) = t.strip("offset=") {
                        offset = abs_size(v, "offset")?;
                    } else if let Some(v) = t.strip("size=") {
                        size = abs_size(v, "size")?;
                    } else {
                        return err(
                            t.pos,
                            format!(
                                "expected copy, offset=SIZE or size=SIZE, found {}",
                                quote(t.text)
                            ),
                        );
                    }
                }
                let whole = self.win_sections.get(&section).copied().unwrap_or(0);
                let view = if size == 0 {
                    whole.saturating_sub(offset)
                } else {
                    size
                };
                self.win_sizes.insert((proc.clone(), name.clone()), view);
                WinOp::MapViewOfFile {
                    proc: proc.clone(),
                    name,
                    section,
                    desired_access: if copy { FILE_MAP_COPY } else { FILE_MAP_WRITE },
                    offset,
                    size,
                }
            }
            "unmap" => {
                let region = self.mapping_ref(&proc, cur.next("a view")?)?;
                WinOp::UnmapViewOfFile {
                    proc: proc.clone(),
                    address: WinAddr::In { region, offset: 0 },
                }
            }
            "exit" => WinOp::Exit { proc: proc.clone() },
            _ => {
                return err(
                    verb.pos,
                    format!(
                        "unknown Windows verb {} (verbs: {})",
                        quote(verb.text),
                        VERBS.join(", ")
                    ),
                )
            }
        };
        cur.done()?;
        Ok(op)
    }

    /// The size a region was written with (reserve, alloc or map).
    fn region_size(&self, proc: &str, region: &str) -> u64 {
        self.win_sizes
            .get(&(proc.to_string(), region.to_string()))
            .copied()
            .unwrap_or(0)
    }

    fn new_region(&mut self, proc: &str, t: Tok<'_>) -> PResult<String> {
        if !super::is_name(t.text) {
            return err(
                t.pos,
                format!("expected a region name, found {}", quote(t.text)),
            );
        }
        let mm = self.names.procs[proc];
        let names = self.names.mms_mut(mm).expect("a process's names exist");
        if !names.insert(t.text.to_string()) {
            return err(
                t.pos,
                format!("process `{proc}` already has a region named `{}`", t.text),
            );
        }
        Ok(t.text.to_string())
    }

    /// `expect …` on a Windows machine.
    pub(super) fn windows_expect(&mut self, toks: &[Tok<'_>]) -> PResult<Expect> {
        let mut cur = Cur::new(toks, 1);
        let t = cur.next("what to expect")?;
        if t.text.contains('.') {
            let q = self.windows_query(t)?;
            // A MEM_* or PAGE_* name stands for its value (`State = MEM_COMMIT`).
            let toks: Vec<Tok<'_>> = toks
                .iter()
                .map(|t| match constant(t.text) {
                    Some(v) => Tok {
                        text: v,
                        pos: t.pos,
                    },
                    None => *t,
                })
                .collect();
            let mut cur = Cur::new(&toks, 2);
            return self.value_tail(Query::Win(q), t.text, t, &mut cur);
        }
        let mut proc = None;
        let mut verb = None;
        let mut t = t;
        if self.names.procs.contains_key(t.text) {
            proc = Some(t.text.to_string());
            t = cur.next("an outcome, a verb or a state")?;
            let state = match t.text {
                "running" => Some(StateSpec::Running),
                "exited" => Some(StateSpec::Exited),
                "killed" => Some(StateSpec::Killed),
                _ => None,
            };
            if let Some(state) = state {
                cur.done()?;
                return Ok(Expect::State {
                    proc: proc.expect("set"),
                    state,
                });
            }
        }
        if VERBS.contains(&t.text) || ["spawn", "job", "container"].contains(&t.text) {
            verb = Some(t.text.to_string());
            t = cur.next("an outcome (ok, or fails ERROR_…)")?;
        }
        if t.text == "fails" {
            t = cur.next("an error such as ERROR_COMMITMENT_LIMIT")?;
        }
        let outcome = if t.text == "ok" {
            OutcomeSpec::Ok
        } else {
            match Win32Error::parse(t.text) {
                Some(e) => OutcomeSpec::Win32(e),
                None => {
                    let names: Vec<&str> = Win32Error::ALL.iter().map(|e| e.name()).collect();
                    return err(
                        t.pos,
                        format!(
                            "expected ok or an error ({}), found {}",
                            names.join(", "),
                            quote(t.text)
                        ),
                    );
                }
            }
        };
        cur.done()?;
        // The call this expect checks; an expected failure means it introduced no name.
        let at = match (&proc, &verb) {
            (None, _) => self.last_op,
            (Some(p), None) => self.last_by_proc.get(p).map(|l| l.any),
            (Some(p), Some(v)) => self
                .last_by_proc
                .get(p)
                .and_then(|l| l.by_verb.iter().find(|(k, _)| **k == v.as_str()))
                .map(|(_, &at)| at),
        };
        let Some(at) = at else {
            return err(
                toks[0].pos,
                "no earlier call (by that process, with that verb) for this expect to check",
            );
        };
        if outcome != OutcomeSpec::Ok {
            self.release(at);
        }
        Ok(Expect::Outcome {
            proc,
            verb,
            outcome,
        })
    }

    fn windows_query(&self, t: Tok<'_>) -> PResult<WinQuery> {
        let parts: Vec<&str> = t.text.split('.').collect();
        let bad = || {
            diag(
                t.pos,
                format!(
                    "expected [PROC.]GlobalMemoryStatusEx.FIELD, [PROC.]GetPerformanceInfo.FIELD, PROC.GetProcessMemoryInfo.FIELD, PROC.VirtualQuery.REGION[OFFSET].FIELD or job.JOB.FIELD, found {}",
                    quote(t.text)
                ),
            )
        };
        let (proc, rest) = match parts.first() {
            Some(&p) if self.names.procs.contains_key(p) => (Some(p.to_string()), &parts[1..]),
            _ => (None, &parts[..]),
        };
        let check = |field: &str, known: &[&str]| -> PResult<String> {
            if known.contains(&field) {
                Ok(field.to_string())
            } else {
                err(
                    t.pos,
                    format!("no field {} (fields: {})", quote(field), known.join(", ")),
                )
            }
        };
        use crate::windows::query as wq;
        Ok(match rest {
            ["GlobalMemoryStatusEx", f] => WinQuery::MemoryStatus {
                proc,
                field: check(f, wq::MEMORY_STATUS_FIELDS)?,
            },
            ["GetPerformanceInfo", f] => WinQuery::PerformanceInfo {
                proc,
                field: check(f, wq::PERFORMANCE_FIELDS)?,
            },
            ["GetProcessMemoryInfo", f] => WinQuery::ProcessMemory {
                proc: proc.ok_or_else(bad)?,
                field: check(f, wq::PROCESS_MEMORY_FIELDS)?,
            },
            ["VirtualQuery", region, f] => {
                let proc = proc.ok_or_else(bad)?;
                let (name, off) = match region.find('[') {
                    Some(i) if region.ends_with(']') => {
                        let o = &region[i + 1..region.len() - 1];
                        let sub = t.sub(0, o);
                        (&region[..i], abs_size(sub, "the offset")?)
                    }
                    _ => (*region, 0),
                };
                if !self.names.mappings(&proc).is_some_and(|m| m.contains(name)) {
                    return err(
                        t.pos,
                        format!("process `{proc}` has no region named `{name}`"),
                    );
                }
                WinQuery::VirtualQuery {
                    proc,
                    region: name.to_string(),
                    offset: off,
                    field: check(f, wq::MBI_FIELDS)?,
                }
            }
            ["job", job, f] if proc.is_none() => WinQuery::Job {
                job: job.to_string(),
                field: check(f, wq::JOB_FIELDS)?,
            },
            _ => return Err(bad()),
        })
    }
}
