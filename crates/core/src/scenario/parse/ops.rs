//! Operation lines: `spawn`, `kill PROC`, and every `PROC VERB …` form.

use super::{
    abs_size, err, is_name, quote, size, suggest, within_user_space, Cur, PResult, Parser,
    KEYWORDS, STATEMENTS,
};
use crate::op::{
    Advice, Backing, BrkChange, Capability, ForkKind, Op, Placement, Prot, Size, Target,
};
use crate::scenario::lex::Tok;
use crate::scenario::size::{parse_hex, parse_i64};

/// The verbs a `PROC VERB` line may use.
pub(super) const VERBS: &[&str] = &[
    "fork",
    "vfork",
    "clone",
    "exec",
    "exit",
    "kill",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "write",
    "read",
    "brk",
    "stack",
    "shmget",
    "shmrm",
    "tmpfs",
    "file",
    "unlink",
    "oom_score_adj",
    "oom_adj",
    "drop",
    "cgroup",
    "bpf",
];

/// What may back a mapping.
pub(super) const BACKINGS: &[&str] = &["anon", "file", "tmpfs", "shm"];

/// The options after an mmap's backing; a trailing `=` marks those that take a value.
pub(super) const MMAP_OPTIONS: &[&str] = &[
    "noreserve",
    "populate",
    "locked",
    "growsdown",
    "hugetlb",
    "rdonly",
    "offset=",
    "at=",
    "below=",
    "above=",
    "gap=",
];

/// The options after an mremap's new size; a trailing `=` marks those that take a value.
pub(super) const MREMAP_OPTIONS: &[&str] = &[
    "maymove",
    "dontunmap",
    "at=",
    "below=",
    "above=",
    "gap=",
    "as=",
];

/// `KEY` or `KEY=VALUE` of an option list, refusing a key given twice.
fn option_kv<'a>(t: Tok<'a>, seen: &mut Vec<&'a str>) -> PResult<(&'a str, Option<Tok<'a>>)> {
    let (key, value) = match t.split("=") {
        Some((k, v)) => (k.text, Some(v)),
        None => (t.text, None),
    };
    if seen.contains(&key) {
        return err(t.pos, format!("`{key}` is given twice"));
    }
    seen.push(key);
    Ok((key, value))
}

/// An option not in `options`: the list, and the exact name written right (`offset` without
/// `=`, `noreserve=1` with one), a near one, or `alias`.
fn unknown_option<T>(
    t: Tok<'_>,
    key: &str,
    what: &str,
    options: &[&str],
    alias: Option<&str>,
) -> PResult<T> {
    let names = options.iter().map(|o| o.trim_end_matches('='));
    let near = names
        .clone()
        .find(|n| *n == key)
        .or_else(|| suggest::closest(key, names))
        .or(alias)
        .and_then(|n| options.iter().find(|o| o.trim_end_matches('=') == n))
        .map_or(String::new(), |n| format!("; did you mean `{n}`?"));
    err(
        t.pos,
        format!(
            "expected {what} ({}), found {}{near}",
            options.join(", "),
            quote(t.text)
        ),
    )
}

/// `gap=` sets the gap of a `below=`/`above=` placement and goes with nothing else.
fn set_gap(placement: &mut Placement, gap: Option<(Tok<'_>, u64)>) -> PResult<()> {
    if let Some((t, g)) = gap {
        match placement {
            Placement::Below { gap, .. } | Placement::Above { gap, .. } => *gap = g,
            _ => return err(t.pos, "`gap=` goes with `below=NAME` or `above=NAME`"),
        }
    }
    Ok(())
}

/// An optional trailing flag (`maymove`, `noreserve`): present, absent, or misspelled (an error
/// that names it, rather than the generic "unexpected … after a complete statement").
fn flag(cur: &mut Cur<'_, '_>, name: &str) -> PResult<bool> {
    match cur.peek() {
        Some(t) if t.text == name => {
            cur.i += 1;
            Ok(true)
        }
        Some(t) if suggest::closest(t.text, [name]).is_some() => err(
            t.pos,
            format!(
                "unexpected {} after a complete statement; did you mean `{name}`?",
                quote(t.text)
            ),
        ),
        _ => Ok(false),
    }
}

/// The hint for a misspelled advice; the kernel's names (`MADV_DONTNEED`) map to the short ones.
fn advice_hint(word: &str) -> String {
    let names = Advice::ALL.map(Advice::name);
    let short = match word.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("madv_") => word.get(5..).unwrap_or(""),
        _ => word,
    };
    if let Some(a) = Advice::parse(&short.to_ascii_lowercase()) {
        return format!("; did you mean `{}`?", a.name());
    }
    suggest::hint(short, names)
}

/// A SysV key: letters, digits, `_` and `-` (`1234`, `db_cache`).
fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn shm_key(tok: Tok<'_>) -> PResult<String> {
    if is_key(tok.text) {
        Ok(tok.text.to_string())
    } else {
        err(
            tok.pos,
            format!(
                "expected a SysV key (letters, digits, _ or -), found {}",
                quote(tok.text)
            ),
        )
    }
}

fn prot(tok: Tok<'_>) -> PResult<Prot> {
    Prot::parse(tok.text).ok_or_else(|| {
        super::diag(
            tok.pos,
            format!(
                "expected a protection like r, rw, rx, rwx or none, found {}",
                quote(tok.text)
            ),
        )
    })
}

/// An integer in `lo..=hi`.
fn int_in(tok: Tok<'_>, lo: i64, hi: i64, what: &str) -> PResult<i32> {
    match parse_i64(tok.text)
        .filter(|v| (lo..=hi).contains(v))
        .and_then(|v| i32::try_from(v).ok())
    {
        Some(v) => Ok(v),
        None => err(
            tok.pos,
            format!(
                "expected {what} (an integer from {lo} to {hi}), found {}",
                quote(tok.text)
            ),
        ),
    }
}

/// `a <= b` when the two sizes can be compared without knowing the machine.
fn known_above(a: Size, b: Size) -> bool {
    match (a, b) {
        (Size::Bytes(x), Size::Bytes(y)) => x > y,
        (
            Size::Fraction {
                per_mille: x,
                of: o1,
            },
            Size::Fraction {
                per_mille: y,
                of: o2,
            },
        ) if o1 == o2 => x > y,
        _ => false,
    }
}

impl Parser {
    /// `spawn NAME [admin] [adj=N]`.
    pub(super) fn spawn_line(&mut self, toks: &[Tok<'_>]) -> PResult<Op> {
        let mut cur = Cur::new(toks, 1);
        let name = self.new_proc_name(cur.next("a process name")?)?;
        // Registered before its options are checked, so that one typo does not make every later
        // line that uses the process an error too.
        let mm = self.names.new_mm(Default::default());
        self.add_proc(&name, mm);
        let (mut admin, mut adj) = (false, None);
        for &t in cur.rest() {
            if t.text == "admin" && !admin {
                admin = true;
            } else if let (Some(v), None) = (t.strip("adj="), adj) {
                adj = Some(int_in(v, -1000, 1000, "an oom_score_adj")?);
            } else if t.text == "admin" || t.text.starts_with("adj=") {
                return err(t.pos, format!("{} is given twice", quote(t.text)));
            } else {
                let key = t.text.split_once('=').map_or(t.text, |(k, _)| k);
                let words = ["admin", "adj"];
                let exact = words.iter().copied().find(|w| *w == key);
                let near =
                    exact
                        .or_else(|| suggest::closest(key, words))
                        .map_or(String::new(), |n| {
                            let shown = if n == "adj" { "adj=N" } else { n };
                            format!("; did you mean `{shown}`?")
                        });
                return err(
                    t.pos,
                    format!(
                        "expected `admin` or `adj=N` after the process name, found {}{near}",
                        quote(t.text)
                    ),
                );
            }
        }
        Ok(Op::Spawn {
            name,
            cap_sys_admin: admin,
            oom_score_adj: adj.unwrap_or(0),
        })
    }

    /// `kill PROC`.
    pub(super) fn kill_line(&mut self, toks: &[Tok<'_>]) -> PResult<Op> {
        let mut cur = Cur::new(toks, 1);
        let proc = self.proc_ref(cur.next("a process name")?)?;
        cur.done()?;
        Ok(Op::Kill { proc })
    }

    /// `PROC VERB …`.
    pub(super) fn proc_line(&mut self, toks: &[Tok<'_>]) -> PResult<Op> {
        let mut cur = Cur::new(toks, 0);
        let first = cur.next("a statement")?;
        if !self.names.procs.contains_key(first.text) {
            // A second word that is (or is close to) a verb says the first was meant as a process.
            let second_is_verb = cur.peek().is_some_and(|t| {
                VERBS.contains(&t.text) || suggest::closest(t.text, VERBS.iter().copied()).is_some()
            });
            let statement = suggest::closest(first.text, STATEMENTS.iter().copied());
            return if VERBS.contains(&first.text) {
                err(
                    first.pos,
                    format!(
                        "expected a process before `{}`: operations are written `PROC {} …`",
                        first.text, first.text
                    ),
                )
            } else if let Some(near) = statement.filter(|_| !second_is_verb) {
                err(
                    first.pos,
                    format!(
                        "expected a statement (machine, sysctl, spawn, kill, expect, repeat, or PROC VERB …), found {}; did you mean `{near}`?",
                        quote(first.text)
                    ),
                )
            } else if is_name(first.text) && !KEYWORDS.contains(&first.text) && second_is_verb {
                err(first.pos, self.no_proc_message(first.text, &[]))
            } else {
                let near = self
                    .names
                    .procs
                    .keys()
                    .map(String::as_str)
                    .chain(STATEMENTS.iter().copied());
                err(
                    first.pos,
                    format!(
                        "expected a statement (machine, sysctl, spawn, kill, expect, repeat, or PROC VERB …), found {}{}",
                        quote(first.text),
                        suggest::hint(first.text, near)
                    ),
                )
            };
        }
        let proc = first.text.to_string();
        let verb = cur.next("a verb such as mmap, fork, write or exit")?;
        // Noted even if the rest of the line is wrong, so that its `expect` is not a second error.
        let attempted = match verb.text {
            "oom_adj" => Some("oom_score_adj"),
            "tmpfs" | "file" => None,
            v => VERBS.iter().copied().find(|known| *known == v),
        };
        self.record(Some(&proc), attempted, super::Intro::Nothing);
        let op = match verb.text {
            "fork" | "vfork" | "clone" => {
                let kind = match verb.text {
                    "fork" => ForkKind::Fork,
                    "vfork" => ForkKind::Vfork,
                    _ => ForkKind::CloneVm,
                };
                let child = self.new_proc_name(cur.next("the child's name")?)?;
                let parent_mm = self.names.procs.get(&proc).copied().unwrap_or(0);
                let mm = match kind {
                    ForkKind::CloneVm => parent_mm,
                    ForkKind::Fork | ForkKind::Vfork => {
                        let names = self.names.mms.get(parent_mm).cloned().unwrap_or_default();
                        self.names.new_mm(names)
                    }
                };
                self.add_proc(&child, mm);
                Op::Fork {
                    parent: proc,
                    child,
                    kind,
                }
            }
            "exec" => {
                cur.done()?;
                let mm = self.names.new_mm(Default::default());
                self.add_proc(&proc, mm);
                Op::Exec { proc }
            }
            "exit" => Op::Exit { proc },
            "kill" => Op::Kill { proc },
            "mmap" => self.mmap(proc, &mut cur)?,
            "munmap" => {
                let target =
                    self.target(&proc, cur.next("a mapping such as `a` or `a[0..4MiB]`")?)?;
                Op::Munmap { proc, target }
            }
            "mprotect" => {
                let target =
                    self.target(&proc, cur.next("a mapping such as `a` or `a[0..4MiB]`")?)?;
                let prot = prot(cur.next("a protection like rw or none")?)?;
                Op::Mprotect { proc, target, prot }
            }
            "mremap" => self.mremap(proc, &mut cur)?,
            "madvise" => {
                let target =
                    self.target(&proc, cur.next("a mapping such as `a` or `a[0..4MiB]`")?)?;
                let t = cur
                    .next("advice (dontneed, free, dontfork, dofork, wipeonfork or keeponfork)")?;
                let Some(advice) = Advice::parse(t.text) else {
                    return err(
                        t.pos,
                        format!(
                            "expected advice (dontneed, free, dontfork, dofork, wipeonfork or keeponfork), found {}{}",
                            quote(t.text),
                            advice_hint(t.text)
                        ),
                    );
                };
                Op::Madvise {
                    proc,
                    target,
                    advice,
                }
            }
            "write" | "read" => {
                let target =
                    self.target(&proc, cur.next("a mapping such as `a` or `a[0..4MiB]`")?)?;
                Op::Access {
                    proc,
                    target,
                    write: verb.text == "write",
                }
            }
            "brk" => {
                let t = cur.next("+SIZE or -SIZE")?;
                let change = if let Some(s) = t.strip("+") {
                    BrkChange::Grow(size(s)?)
                } else if let Some(s) = t.strip("-") {
                    BrkChange::Shrink(size(s)?)
                } else {
                    return err(
                        t.pos,
                        format!(
                            "expected +SIZE or -SIZE (such as +64MiB), found {}",
                            quote(t.text)
                        ),
                    );
                };
                Op::Brk { proc, change }
            }
            "stack" => Op::StackGrow {
                proc,
                new_size: size(cur.next("the new stack size")?)?,
            },
            "shmget" => {
                let key = shm_key(cur.next("a SysV key")?)?;
                let len = size(cur.next("the segment size")?)?;
                let noreserve = flag(&mut cur, "noreserve")?;
                Op::Shmget {
                    proc,
                    key,
                    len,
                    noreserve,
                }
            }
            "shmrm" => Op::ShmRm {
                proc,
                key: shm_key(cur.next("a SysV key")?)?,
            },
            "tmpfs" => self.tmpfs(proc, &mut cur)?,
            "file" => file_io(proc, &mut cur)?,
            "unlink" => Op::Unlink {
                proc,
                path: cur.next("a path")?.text.to_string(),
            },
            "oom_score_adj" => Op::OomScoreAdj {
                proc,
                value: int_in(
                    cur.next("an oom_score_adj")?,
                    -1000,
                    1000,
                    "an oom_score_adj",
                )?,
                legacy: false,
            },
            "oom_adj" => Op::OomScoreAdj {
                proc,
                value: int_in(cur.next("an oom_adj")?, -17, 15, "a legacy oom_adj")?,
                legacy: true,
            },
            "drop" => {
                let t = cur.next("a capability (cap_sys_admin)")?;
                let Some(cap) = Capability::parse(t.text) else {
                    let names = Capability::ALL.map(Capability::name);
                    let hint = suggest::hint(t.text, names);
                    return err(
                        t.pos,
                        format!(
                            "expected a capability to drop ({}), found {}{hint}",
                            names.join(", "),
                            quote(t.text)
                        ),
                    );
                };
                Op::DropCap { proc, cap }
            }
            "cgroup" => self.cgroup_move(proc, &mut cur)?,
            "bpf" => self.bpf_map(proc, &mut cur)?,
            other => {
                return err(
                    verb.pos,
                    format!(
                        "expected a verb ({}), found {}{}",
                        VERBS.join(", "),
                        quote(other),
                        suggest::hint(other, VERBS.iter().copied())
                    ),
                )
            }
        };
        cur.done()?;
        Ok(op)
    }

    /// `tmpfs write PATH SIZE [offset=SIZE]` and `tmpfs truncate PATH SIZE`.
    fn tmpfs(&mut self, proc: String, cur: &mut Cur<'_, '_>) -> PResult<Op> {
        let what = cur.next("`write` or `truncate`")?;
        match what.text {
            "write" => {
                self.last_tmpfs.insert(proc.clone(), "tmpfs-write");
                let path = cur.next("a path")?.text.to_string();
                let len = size(cur.next("the number of bytes to write")?)?;
                let offset = offset_option(cur)?;
                Ok(Op::TmpfsWrite {
                    proc,
                    path,
                    offset,
                    len,
                })
            }
            "truncate" => {
                self.last_tmpfs.insert(proc.clone(), "tmpfs-truncate");
                let path = cur.next("a path")?.text.to_string();
                let len = size(cur.next("the new file size")?)?;
                Ok(Op::TmpfsTruncate { proc, path, len })
            }
            other => err(
                what.pos,
                format!(
                    "expected `write` or `truncate` after `tmpfs`, found {}{}",
                    quote(other),
                    suggest::hint(other, ["write", "truncate"])
                ),
            ),
        }
    }

    /// `NAME` or `NAME[START..END]`.
    fn target(&self, proc: &str, tok: Tok<'_>) -> PResult<Target> {
        let Some((name, rest)) = tok.split("[") else {
            return Ok(Target {
                mapping: self.mapping_ref(proc, tok)?,
                range: None,
            });
        };
        let mapping = self.mapping_ref(proc, name)?;
        let Some(inner) = rest.text.strip_suffix(']') else {
            return err(
                tok.end(),
                format!("expected `]` to close the range of {}", quote(tok.text)),
            );
        };
        let inner = rest.sub(0, inner);
        let Some((start, end)) = inner.split("..") else {
            return err(
                inner.pos,
                format!(
                    "expected a range like `{}[16MiB..32MiB]`, found {}",
                    name.text,
                    quote(tok.text)
                ),
            );
        };
        // A bound past user space, or an empty range, is passed on: the call then gets the
        // kernel's own answer (EINVAL, ENOMEM, SIGSEGV or success), as a C program would.
        let (start_size, end_size) = (size(start)?, size(end)?);
        if known_above(start_size, end_size) {
            return err(
                start.pos,
                format!(
                    "the range start {} must not be above its end {}",
                    start.text, end.text
                ),
            );
        }
        Ok(Target {
            mapping,
            range: Some((start_size, end_size)),
        })
    }

    /// `mmap NAME SIZE PROT private|shared BACKING [options]`.
    fn mmap(&mut self, proc: String, cur: &mut Cur<'_, '_>) -> PResult<Op> {
        let name = self.new_mapping_name(&proc, cur.next("a name for the mapping")?)?;
        let len = size(cur.next("the mapping's size")?)?;
        let prot = prot(cur.next("a protection like rw or none")?)?;
        let share = cur.next("`private` or `shared`")?;
        let shared = match share.text {
            "private" => false,
            "shared" => true,
            other => {
                return err(
                    share.pos,
                    format!(
                        "expected `private` or `shared`, found {}{}",
                        quote(other),
                        suggest::hint(other, ["private", "shared"])
                    ),
                )
            }
        };
        let kind = cur.next("a backing (anon, file PATH, tmpfs PATH or shm KEY)")?;
        let mut backing = match kind.text {
            "anon" => Backing::Anon,
            "file" => Backing::File {
                path: cur.next("a file path")?.text.to_string(),
                offset: 0,
                readonly_fd: false,
            },
            "tmpfs" => Backing::Tmpfs {
                path: cur.next("a tmpfs path")?.text.to_string(),
                offset: 0,
            },
            "shm" => {
                if !shared {
                    return err(
                        share.pos,
                        "a SysV shm segment is always shared: write `shared`, not `private`",
                    );
                }
                Backing::SysvShm {
                    key: shm_key(cur.next("a SysV key")?)?,
                }
            }
            other => {
                return err(
                    kind.pos,
                    format!(
                        "expected a backing (anon, file PATH, tmpfs PATH or shm KEY), found {}{}",
                        quote(other),
                        suggest::hint(other, BACKINGS.iter().copied())
                    ),
                )
            }
        };
        // A handful of options at most: a list is cheaper than a set.
        let mut seen: Vec<&str> = Vec::new();
        let (mut noreserve, mut populate, mut locked, mut growsdown, mut hugetlb) =
            (false, false, false, false, false);
        let mut placement = Placement::Any;
        let mut placement_tok = None;
        let mut gap = None;
        for &t in cur.rest() {
            let (key, value) = option_kv(t, &mut seen)?;
            match (key, value) {
                ("noreserve", None) => noreserve = true,
                ("populate", None) => populate = true,
                ("locked", None) => locked = true,
                ("growsdown", None) => growsdown = true,
                ("hugetlb", None) => hugetlb = true,
                ("rdonly", None) => match &mut backing {
                    Backing::File { readonly_fd, .. } => *readonly_fd = true,
                    _ => {
                        return err(
                            t.pos,
                            "`rdonly` is for `file` mappings (an fd opened O_RDONLY)",
                        )
                    }
                },
                ("offset", Some(v)) => {
                    let off = abs_size(v, "a file offset")?;
                    match &mut backing {
                        Backing::File { offset, .. } | Backing::Tmpfs { offset, .. } => {
                            *offset = off
                        }
                        _ => return err(t.pos, "`offset=` is for `file` and `tmpfs` mappings"),
                    }
                }
                ("at" | "below" | "above", Some(v)) => {
                    let key = match key {
                        "at" => "at",
                        "below" => "below",
                        _ => "above",
                    };
                    placement = self.placement(&proc, &name, t, key, v, &mut placement_tok)?;
                }
                ("gap", Some(v)) => {
                    let g = within_user_space(v, abs_size(v, "a gap")?, "the gap")?;
                    gap = Some((t, g));
                }
                _ => {
                    // `offset` without `=`, `noreserve=1` with one: the exact name, written right.
                    return unknown_option(t, key, "an mmap option", MMAP_OPTIONS, None);
                }
            }
        }
        set_gap(&mut placement, gap)?;
        Ok(Op::Mmap {
            proc,
            name,
            len,
            prot,
            shared,
            backing,
            noreserve,
            populate,
            growsdown,
            locked,
            hugetlb,
            placement,
        })
    }

    /// One of `at=ADDR`, `below=NAME`, `above=NAME` (mmap's placement, and mremap's
    /// MREMAP_FIXED target); `prev` is the one already given, if any.
    fn placement(
        &self,
        proc: &str,
        name: &str,
        t: Tok<'_>,
        key: &'static str,
        v: Tok<'_>,
        prev: &mut Option<&'static str>,
    ) -> PResult<Placement> {
        if let Some(prev) = prev {
            return err(
                t.pos,
                format!("`{key}=` conflicts with `{prev}=`: give one of at=, below=, above="),
            );
        }
        *prev = Some(key);
        Ok(match key {
            "at" => match parse_hex(v.text) {
                Some(addr) => Placement::At(addr),
                None => {
                    return err(
                        v.pos,
                        format!(
                            "expected a hex address like 0x7f0000000000, found {}",
                            quote(v.text)
                        ),
                    )
                }
            },
            _ => {
                if v.text == name {
                    return err(v.pos, "a mapping cannot be placed next to itself");
                }
                let of = self.mapping_ref(proc, v)?;
                if key == "below" {
                    Placement::Below { of, gap: 0 }
                } else {
                    Placement::Above { of, gap: 0 }
                }
            }
        })
    }

    /// `mremap TARGET SIZE [maymove] [dontunmap] [at=ADDR|below=NAME|above=NAME [gap=SIZE]]
    /// [as=NAME]`.
    fn mremap(&mut self, proc: String, cur: &mut Cur<'_, '_>) -> PResult<Op> {
        let target = self.target(&proc, cur.next("a mapping such as `a` or `a[0..4MiB]`")?)?;
        let new_len = size(cur.next("the new size")?)?;
        let mut seen: Vec<&str> = Vec::new();
        let (mut may_move, mut dontunmap) = (false, false);
        let (mut to, mut to_tok, mut gap, mut rename) = (Placement::Any, None, None, None);
        for &t in cur.rest() {
            let (key, value) = option_kv(t, &mut seen)?;
            match (key, value) {
                ("maymove", None) => may_move = true,
                ("dontunmap", None) => dontunmap = true,
                ("at", Some(v)) => to = self.placement(&proc, "", t, "at", v, &mut to_tok)?,
                // A range may move next to its own mapping: no "next to itself" check.
                ("below", Some(v)) => to = self.placement(&proc, "", t, "below", v, &mut to_tok)?,
                ("above", Some(v)) => to = self.placement(&proc, "", t, "above", v, &mut to_tok)?,
                ("gap", Some(v)) => {
                    let g = within_user_space(v, abs_size(v, "a gap")?, "the gap")?;
                    gap = Some((t, g));
                }
                ("as", Some(v)) => rename = Some(v),
                _ => {
                    // MREMAP_FIXED's target is mmap's `at=`, whatever the man page calls it.
                    let alias = matches!(key, "to" | "fixed" | "new_address").then_some("at");
                    return unknown_option(t, key, "an mremap option", MREMAP_OPTIONS, alias);
                }
            }
        }
        set_gap(&mut to, gap)?;
        // The new name is declared last: `below=`/`above=` name mappings that exist already.
        let rename = match rename {
            None => None,
            Some(v) => Some(self.new_mapping_name(&proc, v)?),
        };
        Ok(Op::Mremap {
            proc,
            mapping: target.mapping,
            range: target.range,
            new_len,
            may_move,
            to,
            dontunmap,
            rename,
        })
    }

    /// A new mapping name for `proc` (mmap's NAME, mremap's `as=NAME`), declared here.
    fn new_mapping_name(&mut self, proc: &str, name_tok: Tok<'_>) -> PResult<String> {
        if !is_name(name_tok.text) {
            return err(
                name_tok.pos,
                format!(
                    "expected a mapping name (a letter or _, then letters, digits, _ or -), found {}",
                    quote(name_tok.text)
                ),
            );
        }
        let mm = self.names.procs.get(proc).copied().unwrap_or(0);
        let Some(names) = self.names.mms_mut(mm) else {
            return err(name_tok.pos, format!("no process named `{proc}`"));
        };
        if !names.insert(name_tok.text.to_string()) {
            return err(
                name_tok.pos,
                format!(
                    "process `{proc}` already has a mapping named `{}` (names are never reused)",
                    name_tok.text
                ),
            );
        }
        Ok(name_tok.text.to_string())
    }
}

/// `file write PATH SIZE [offset=SIZE]` and `file read PATH SIZE [offset=SIZE]`: write(2) or
/// read(2) of a regular file through the page cache.
fn file_io(proc: String, cur: &mut Cur<'_, '_>) -> PResult<Op> {
    let what = cur.next("`write` or `read`")?;
    let write = match what.text {
        "write" => true,
        "read" => false,
        other => {
            return err(
                what.pos,
                format!(
                    "expected `write` or `read` after `file`, found {}{}",
                    quote(other),
                    suggest::hint(other, ["write", "read"])
                ),
            )
        }
    };
    let path = cur.next("a path")?.text.to_string();
    let len = size(cur.next(if write {
        "the number of bytes to write"
    } else {
        "the number of bytes to read"
    })?)?;
    let offset = offset_option(cur)?;
    Ok(Op::FileIo {
        proc,
        path,
        offset,
        len,
        write,
    })
}

/// An optional `offset=SIZE` after a file operation's size (default 0).
fn offset_option(cur: &mut Cur<'_, '_>) -> PResult<Size> {
    match cur.peek().and_then(|t| t.strip("offset=")) {
        Some(v) => {
            cur.i += 1;
            size(v)
        }
        None => Ok(Size::Bytes(0)),
    }
}
