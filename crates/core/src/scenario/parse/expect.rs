//! `expect` lines: outcomes of earlier operations, process states, and values read by query paths.

use super::machine::unknown_sysctl;
use super::ops::VERBS;
use super::{diag, err, is_name, quote, size, size_message, suggest, Cur, PResult, Parser};
use crate::config::Sysctl;
use crate::op::Errno;
use crate::op::Size;
use crate::query::Query;
use crate::query::PIECE_FIELDS;
use crate::scenario::ast::{Cmp, Expect, ExpectValue, OutcomeSpec, PieceCheck, StateSpec};
use crate::scenario::fields::{
    query_kind, ValueKind, MEMINFO_NUMBER_FIELDS, MEMINFO_SIZE_FIELDS, ROLLUP_SIZE_FIELDS,
    SMAPS_SIZE_FIELDS, STATUS_NUMBER_FIELDS, STATUS_SIZE_FIELDS,
};
use crate::scenario::lex::Tok;
use crate::scenario::size::{parse_i64, parse_size, SizeError};

const OUTCOMES: &str =
    "ok, ENOMEM, EACCES, EINVAL, EEXIST, ENOSPC, EPERM, ENOENT, EFAULT, EAGAIN, EOVERFLOW, EBUSY, killed, blocked or panic";

/// The verbs `expect PROC VERB OUTCOME` matches against [`crate::op::Op::verb`], besides [`VERBS`].
const EXTRA_EXPECT_VERBS: &[&str] = &[
    "spawn",
    "tmpfs-write",
    "tmpfs-truncate",
    "file-write",
    "file-read",
];

/// Every word `outcome` accepts.
const OUTCOME_WORDS: &[&str] = &[
    "ok", "killed", "ENOMEM", "EACCES", "EINVAL", "EEXIST", "ENOSPC", "EPERM", "ENOENT", "EFAULT",
    "EAGAIN", "EBUSY", "blocked", "panic",
];

/// The process states `expect PROC STATE` names.
const STATE_WORDS: &[&str] = &["running", "exited", "killed"];

/// What `PROC.X` may read besides a `/proc/PID/status` field.
const PROC_QUERIES: &[&str] = &[
    "vmas",
    "vma",
    "oom_score",
    "oom_score_adj",
    "oom_adj",
    "status",
    "smaps",
    "rollup",
];

/// Every verb an `expect PROC VERB` may name.
fn expect_verbs() -> impl Iterator<Item = &'static str> {
    VERBS.iter().chain(EXTRA_EXPECT_VERBS).copied()
}

fn outcome(s: &str) -> Option<OutcomeSpec> {
    match s {
        "ok" => Some(OutcomeSpec::Ok),
        "killed" => Some(OutcomeSpec::Killed),
        "blocked" => Some(OutcomeSpec::Blocked),
        "panic" => Some(OutcomeSpec::Panic),
        _ => Errno::parse(s).map(OutcomeSpec::Err),
    }
}

fn state(s: &str) -> Option<StateSpec> {
    match s {
        "running" => Some(StateSpec::Running),
        "exited" => Some(StateSpec::Exited),
        "killed" => Some(StateSpec::Killed),
        _ => None,
    }
}

fn cmp(s: &str) -> Option<Cmp> {
    match s {
        "=" | "==" => Some(Cmp::Eq),
        "!=" => Some(Cmp::Ne),
        "<" => Some(Cmp::Lt),
        "<=" => Some(Cmp::Le),
        ">" => Some(Cmp::Gt),
        ">=" => Some(Cmp::Ge),
        _ => None,
    }
}

/// A field name from one of the kernel's lists, with a hint for a misspelling; `extra` are other
/// words that may stand there (`vmas` after `PROC.`), offered as hints too.
fn field(seg: Tok<'_>, lists: &[&[&str]], extra: &[&str], file: &str) -> PResult<String> {
    if lists.iter().any(|l| l.contains(&seg.text)) {
        return Ok(seg.text.to_string());
    }
    let all: Vec<&str> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    let or_extra = if extra.is_empty() {
        String::new()
    } else {
        format!("; or {}", extra.join(", "))
    };
    match suggest::closest(seg.text, all.iter().chain(extra).copied()) {
        Some(near) if near.eq_ignore_ascii_case(seg.text) => err(
            seg.pos,
            format!("no {file} field {}; did you mean `{near}`? (field names are case-sensitive, as the kernel prints them)", quote(seg.text)),
        ),
        Some(near) => err(
            seg.pos,
            format!("no {file} field {}; did you mean `{near}`?", quote(seg.text)),
        ),
        None => err(
            seg.pos,
            format!(
                "no {file} field {} (fields: {}{or_extra})",
                quote(seg.text),
                all.join(" ")
            ),
        ),
    }
}

/// The right-hand side of a comparison, of the kind the query reads.
fn parse_value(kind: ValueKind, path: &str, tok: Tok<'_>) -> PResult<ExpectValue> {
    match kind {
        ValueKind::Size => match parse_size(tok.text) {
            Ok(s) => Ok(ExpectValue::Size(s)),
            Err(SizeError::NoUnit) => err(
                tok.pos,
                format!(
                    "`{path}` is a size: write a unit such as kB or MiB (found {})",
                    quote(tok.text)
                ),
            ),
            Err(e) => err(tok.pos, size_message(e, tok.text)),
        },
        ValueKind::Number => match parse_i64(tok.text) {
            Some(n) => Ok(ExpectValue::Number(n)),
            None if parse_size(tok.text).is_ok() => err(
                tok.pos,
                format!(
                    "`{path}` is a number, not a size: write a plain integer such as 3 (found {})",
                    quote(tok.text)
                ),
            ),
            None => err(
                tok.pos,
                format!(
                    "expected an integer for `{path}`, found {}",
                    quote(tok.text)
                ),
            ),
        },
    }
}

impl Parser {
    pub(super) fn expect_line(&mut self, toks: &[Tok<'_>]) -> PResult<Expect> {
        let mut cur = Cur::new(toks, 1);
        let a0 = cur.next("an outcome, a process state or a query after `expect`")?;
        if a0.text == "cgroup" {
            return self.expect_cgroup(&mut cur);
        }
        if a0.text == "kube" {
            return self.expect_kube(&mut cur);
        }
        let is_value = a0.text.contains('.') || cur.peek().is_some_and(|t| cmp(t.text).is_some());
        if is_value {
            return self.expect_value(a0, &mut cur);
        }
        let Some(a1) = cur.peek() else {
            let Some(o) = outcome(a0.text) else {
                return if self.names.procs.contains_key(a0.text) {
                    err(a0.end(), "expected `running`, `exited`, `killed` or an outcome after the process name")
                } else {
                    err(a0.pos, format!("expected an outcome ({OUTCOMES}), a process state or a query, found {}{}", quote(a0.text), suggest::hint(a0.text, OUTCOME_WORDS.iter().copied())))
                };
            };
            let Some(at) = self.last_op else {
                return err(a0.pos, "no earlier operation for this expect to check");
            };
            self.release_if_failed(at, o);
            return Ok(Expect::Outcome {
                proc: None,
                verb: None,
                outcome: o,
            });
        };
        cur.i += 1;
        let proc = self.proc_ref(a0)?;
        let Some(a2) = cur.peek() else {
            // Two words: a state (`killed` is a state here), or the outcome of the process's last operation.
            if let Some(state) = state(a1.text) {
                return Ok(Expect::State { proc, state });
            }
            if a1.text == "tmpfs" || expect_verbs().any(|v| v == a1.text) {
                return err(
                    a1.end(),
                    format!(
                        "`expect {proc} {}` needs an outcome: ok, an errno such as ENOMEM, or killed",
                        a1.text
                    ),
                );
            }
            let Some(o) = outcome(a1.text) else {
                let words = STATE_WORDS
                    .iter()
                    .chain(OUTCOME_WORDS)
                    .copied()
                    .chain(expect_verbs());
                return err(
                    a1.pos,
                    format!("expected running, exited, killed, an outcome ({OUTCOMES}) or a verb, found {}{}", quote(a1.text), suggest::hint(a1.text, words)),
                );
            };
            let Some(at) = self.last_by_proc.get(&proc).map(|l| l.any) else {
                return err(
                    a0.pos,
                    format!("no earlier operation by `{proc}` for this expect to check"),
                );
            };
            self.release_if_failed(at, o);
            return Ok(Expect::Outcome {
                proc: Some(proc),
                verb: None,
                outcome: o,
            });
        };
        cur.i += 1;
        let (verb, at) = self.expect_verb(&proc, a1)?;
        let Some(o) = outcome(a2.text) else {
            return err(
                a2.pos,
                format!(
                    "expected an outcome ({OUTCOMES}), found {}{}",
                    quote(a2.text),
                    suggest::hint(a2.text, OUTCOME_WORDS.iter().copied())
                ),
            );
        };
        cur.done()?;
        self.release_if_failed(at, o);
        Ok(Expect::Outcome {
            proc: Some(proc),
            verb: Some(verb.to_string()),
            outcome: o,
        })
    }

    /// The `Op::verb` an `expect PROC VERB` names. `tmpfs` means the process's most recent tmpfs
    /// operation (`tmpfs-write` or `tmpfs-truncate`), and `oom_adj` is `oom_score_adj`.
    fn expect_verb(&self, proc: &str, tok: Tok<'_>) -> PResult<(&'static str, usize)> {
        let verb = match tok.text {
            "tmpfs" => match self.last_tmpfs.get(proc) {
                Some(v) => *v,
                None => {
                    return err(
                        tok.pos,
                        format!(
                            "no earlier `tmpfs` operation by `{proc}` for this expect to check"
                        ),
                    )
                }
            },
            "oom_adj" => "oom_score_adj",
            other => match expect_verbs().find(|v| *v == other) {
                Some(v) => v,
                None => {
                    return err(
                        tok.pos,
                        format!(
                            "expected a verb ({}, spawn) or an outcome ({OUTCOMES}), found {}{}",
                            VERBS.join(", "),
                            quote(other),
                            suggest::hint(
                                other,
                                expect_verbs().chain(OUTCOME_WORDS.iter().copied())
                            )
                        ),
                    )
                }
            },
        };
        match self
            .last_by_proc
            .get(proc)
            .and_then(|l| l.by_verb.get(verb))
        {
            Some(&at) => Ok((verb, at)),
            None => err(
                tok.pos,
                format!(
                    "no earlier `{}` by `{proc}` for this expect to check",
                    tok.text
                ),
            ),
        }
    }

    /// An expected failure means the operation introduced nothing (see [`super::Intro`]).
    fn release_if_failed(&mut self, at: usize, o: OutcomeSpec) {
        if o != OutcomeSpec::Ok {
            self.release(at);
        }
    }

    /// `expect QUERY CMP VALUE [± TOLERANCE]`.
    fn expect_value(&self, qtok: Tok<'_>, cur: &mut Cur<'_, '_>) -> PResult<Expect> {
        if qtok.text.split('.').next() == Some("kernel") {
            return expect_log(qtok, cur);
        }
        let query = self.query(qtok)?;
        if let Query::Piece {
            proc,
            mapping,
            at,
            field,
        } = &query
        {
            if field == "VmFlags" || field == "perms" {
                let check = piece_check(field, qtok, cur)?;
                return Ok(Expect::Piece {
                    proc: proc.clone(),
                    mapping: mapping.clone(),
                    at: *at,
                    check,
                });
            }
        }
        self.value_tail(query, qtok.text, qtok, cur)
    }

    /// `CMP VALUE [± TOLERANCE]` after a query.
    pub(super) fn value_tail(
        &self,
        query: Query,
        path: &str,
        qtok: Tok<'_>,
        cur: &mut Cur<'_, '_>,
    ) -> PResult<Expect> {
        // query() only returns queries whose field it found in fields.rs, so the kind is known.
        let kind = query_kind(&query)
            .ok_or_else(|| diag(qtok.pos, format!("no field {}", quote(path))))?;
        let ctok = cur.next("a comparison (=, !=, <, <=, >, >=)")?;
        let Some(cmp) = cmp(ctok.text) else {
            return err(
                ctok.pos,
                format!(
                    "expected a comparison (=, !=, <, <=, >, >=), found {}",
                    quote(ctok.text)
                ),
            );
        };
        let value = parse_value(kind, path, cur.next("a value to compare with")?)?;
        let tolerance = match cur.peek() {
            None => None,
            Some(t) => {
                cur.i += 1;
                let Some(rest) = ["±", "+/-", "+-"].iter().find_map(|p| t.strip(p)) else {
                    return err(
                        t.pos,
                        format!(
                            "expected `± TOLERANCE` or the end of the line, found {}",
                            quote(t.text)
                        ),
                    );
                };
                let tol = if rest.text.is_empty() {
                    cur.next("a tolerance after `±`")?
                } else {
                    rest
                };
                match parse_value(kind, path, tol)? {
                    ExpectValue::Number(n) if n < 0 => {
                        return err(tol.pos, "a tolerance cannot be negative")
                    }
                    v => Some(v),
                }
            }
        };
        cur.done()?;
        Ok(Expect::Value {
            query,
            cmp,
            value,
            tolerance,
        })
    }

    /// A query path: `meminfo.FIELD`, `sysctl.vm.NAME`, `vm.NAME`, `PROC.FIELD`, `PROC.status.FIELD`,
    /// `PROC.smaps.MAPPING.FIELD`, `PROC.rollup.FIELD`, `PROC.vmas`, `PROC.oom_score`,
    /// `PROC.oom_score_adj`, `PROC.oom_adj`.
    fn query(&self, tok: Tok<'_>) -> PResult<Query> {
        if let Some(at) = tok.text.find(['=', '<', '>', '!']) {
            let before = tok.text.get(..at).unwrap_or("");
            return err(
                tok.sub(before.chars().count(), "").pos,
                format!("put spaces around the comparison, as in `expect {before} = …`"),
            );
        }
        let mut segs = Vec::new();
        let mut offset = 0usize;
        for part in split_path(tok.text) {
            let seg = tok.sub(offset, part);
            if part.is_empty() {
                return err(
                    seg.pos,
                    format!("expected a name between the dots of {}", quote(tok.text)),
                );
            }
            segs.push(seg);
            offset += part.chars().count() + 1;
        }
        let unexpected = |seg: &Tok<'_>| {
            err(
                seg.pos,
                format!("unexpected {} in the query path", quote(seg.text)),
            )
        };
        let sysctl = |seg: Tok<'_>| match Sysctl::from_name(seg.text) {
            Some(s) => Ok(Query::Sysctl {
                name: s.name().to_string(),
            }),
            None => err(seg.pos, unknown_sysctl(&format!("vm.{}", seg.text))),
        };
        let need = |i: usize, what: &str| -> PResult<Tok<'_>> {
            segs.get(i).copied().ok_or_else(|| {
                diag(
                    tok.end(),
                    format!("expected {what} after {}", quote(tok.text)),
                )
            })
        };
        let Some(&head) = segs.first() else {
            return err(tok.pos, "expected a query path");
        };
        let (q, used) = match head.text {
            "meminfo" => {
                let f = need(1, "`.FIELD`, as in meminfo.Committed_AS")?;
                let field = field(
                    f,
                    &[MEMINFO_SIZE_FIELDS, MEMINFO_NUMBER_FIELDS],
                    &[],
                    "/proc/meminfo",
                )?;
                (Query::Meminfo { field }, 2)
            }
            "vm" => (
                sysctl(need(1, "a sysctl name, as in vm.overcommit_memory")?)?,
                2,
            ),
            "sysctl" => {
                let vm = need(1, "`.vm.NAME`")?;
                if vm.text != "vm" {
                    return err(
                        vm.pos,
                        format!(
                            "expected `vm` (as in sysctl.vm.overcommit_memory), found {}",
                            quote(vm.text)
                        ),
                    );
                }
                (
                    sysctl(need(2, "a sysctl name, as in sysctl.vm.overcommit_memory")?)?,
                    3,
                )
            }
            p if !is_name(p) => {
                return err(
                    head.pos,
                    format!(
                        "expected a query like meminfo.Committed_AS or app.VmRSS, found {}",
                        quote(tok.text)
                    ),
                )
            }
            _ => {
                if !self.names.procs.contains_key(head.text) {
                    return err(
                        head.pos,
                        self.no_proc_message(head.text, &["meminfo", "vm", "sysctl"]),
                    );
                }
                let proc = self.proc_ref(head)?;
                let f = need(1, "a field, as in app.VmRSS")?;
                match f.text {
                    "vmas" => (Query::VmaCount { proc }, 2),
                    "oom_score" => (Query::OomScore { proc }, 2),
                    "oom_score_adj" => (Query::OomScoreAdj { proc }, 2),
                    "oom_adj" => (Query::OomAdj { proc }, 2),
                    "status" => {
                        let f = need(2, "`.FIELD`, as in app.status.VmRSS")?;
                        let field = field(
                            f,
                            &[STATUS_SIZE_FIELDS, STATUS_NUMBER_FIELDS],
                            &[],
                            "/proc/PID/status",
                        )?;
                        (Query::Status { proc, field }, 3)
                    }
                    "rollup" => {
                        let f = need(2, "`.FIELD`, as in app.rollup.Pss")?;
                        let field = field(f, &[ROLLUP_SIZE_FIELDS], &[], "/proc/PID/smaps_rollup")?;
                        (Query::Rollup { proc, field }, 3)
                    }
                    // `PROC.vma.MAPPING[AT].FIELD`, and `PROC.smaps.MAPPING[AT].FIELD` the same.
                    // `app.vma` alone is more likely `app.vmas` misspelt: the status branch hints it.
                    "vma" | "smaps"
                        if segs.len() > 2 && (f.text == "vma" || segs[2].text.contains('[')) =>
                    {
                        let (mapping, at) = self.piece_target(&proc, segs[2])?;
                        let f = need(3, "`.FIELD`, as in app.vma.a[16MiB].perms")?;
                        let field = field(f, &[SMAPS_SIZE_FIELDS, PIECE_FIELDS], &[], "VMA")?;
                        (
                            Query::Piece {
                                proc,
                                mapping,
                                at,
                                field,
                            },
                            4,
                        )
                    }
                    "smaps" => {
                        let m = need(2, "`.MAPPING.FIELD`, as in app.smaps.a.Rss")?;
                        let mapping = self.mapping_ref(&proc, m)?;
                        let f = need(3, "`.FIELD`, as in app.smaps.a.Rss")?;
                        let field = field(f, &[SMAPS_SIZE_FIELDS], &[], "/proc/PID/smaps")?;
                        (
                            Query::Smaps {
                                proc,
                                mapping,
                                field,
                            },
                            4,
                        )
                    }
                    _ => {
                        let lists: &[&[&str]] = &[STATUS_SIZE_FIELDS, STATUS_NUMBER_FIELDS];
                        let field = field(f, lists, PROC_QUERIES, "/proc/PID/status")?;
                        (Query::Status { proc, field }, 2)
                    }
                }
            }
        };
        if let Some(extra) = segs.get(used) {
            return unexpected(extra);
        }
        Ok(q)
    }

    /// `MAPPING` (its first byte) or `MAPPING[AT]` (byte AT of it) in a piece query.
    fn piece_target(&self, proc: &str, seg: Tok<'_>) -> PResult<(String, Size)> {
        let Some((name, rest)) = seg.split("[") else {
            return Ok((self.mapping_ref(proc, seg)?, Size::Bytes(0)));
        };
        let mapping = self.mapping_ref(proc, name)?;
        let Some(inner) = rest.text.strip_suffix(']') else {
            return err(
                seg.end(),
                format!("expected `]` to close {}", quote(seg.text)),
            );
        };
        if inner.contains("..") {
            return err(
                rest.pos,
                "a VMA query names one byte of the mapping, as in `a[16MiB]`, not a range: the VMA holding that byte is read",
            );
        }
        let at = size(Tok {
            text: inner,
            pos: rest.pos,
        })?;
        Ok((mapping, at))
    }
}

/// A query path cut at its dots, except the dots inside `[…]` (`a[1.5MiB]`).
fn split_path(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

/// `has CODE…` / `lacks CODE…` after `VmFlags`; `= PERMS` / `!= PERMS` after `perms`.
fn piece_check(field: &str, qtok: Tok<'_>, cur: &mut Cur<'_, '_>) -> PResult<PieceCheck> {
    if field == "perms" {
        let c = cur.next("`=` or `!=` and permissions such as rw-p")?;
        let equal = match c.text {
            "=" | "==" => true,
            "!=" => false,
            _ => {
                return err(
                    c.pos,
                    format!(
                        "`{}` compares with `=` or `!=`, found {}",
                        qtok.text,
                        quote(c.text)
                    ),
                )
            }
        };
        let p = cur.next("permissions as maps prints them, such as rw-p or r--s")?;
        let b = p.text.as_bytes();
        let well_formed = b.len() == 4
            && matches!(b[0], b'r' | b'-')
            && matches!(b[1], b'w' | b'-')
            && matches!(b[2], b'x' | b'-')
            && matches!(b[3], b'p' | b's');
        if !well_formed {
            return err(
                p.pos,
                format!(
                    "expected permissions as /proc/PID/maps prints them (r or -, w or -, x or -, then p or s: rw-p, r-xp, rw-s), found {}",
                    quote(p.text)
                ),
            );
        }
        cur.done()?;
        return Ok(PieceCheck::Perms {
            perms: p.text.to_string(),
            equal,
        });
    }
    let present = has_or_lacks(cur, qtok.text)?;
    let mut codes = Vec::new();
    for &t in cur.rest() {
        if !crate::linux::vma::flag_code_names().any(|c| c == t.text) {
            let all: Vec<&str> = crate::linux::vma::flag_code_names().collect();
            return err(
                t.pos,
                format!(
                    "unknown VmFlags code {}{} (codes vmlab models: {})",
                    quote(t.text),
                    suggest::hint(t.text, all.iter().copied()),
                    all.join(" ")
                ),
            );
        }
        codes.push(t.text.to_string());
    }
    if codes.is_empty() {
        return err(
            cur.end(),
            "expected one or more VmFlags codes, such as `ac` or `nr`",
        );
    }
    Ok(PieceCheck::Flags { codes, present })
}

/// `has` (true) or `lacks` (false), with a hint for a misspelling.
fn has_or_lacks(cur: &mut Cur<'_, '_>, what: &str) -> PResult<bool> {
    let t = cur.next("`has` or `lacks`")?;
    match t.text {
        "has" => Ok(true),
        "lacks" => Ok(false),
        other => err(
            t.pos,
            format!(
                "`{what}` is checked with `has` or `lacks`, found {}{}",
                quote(other),
                suggest::hint(other, ["has", "lacks"])
            ),
        ),
    }
}

/// `expect kernel.log has|lacks TEXT…`.
fn expect_log(qtok: Tok<'_>, cur: &mut Cur<'_, '_>) -> PResult<Expect> {
    if qtok.text != "kernel.log" {
        let tail = qtok.strip("kernel.").unwrap_or(qtok);
        return err(
            tail.pos,
            format!(
                "expected `kernel.log` (the kernel's log, as dmesg prints it), found {}{}",
                quote(qtok.text),
                suggest::hint(tail.text, ["log"])
            ),
        );
    }
    let present = has_or_lacks(cur, "kernel.log")?;
    let words: Vec<&str> = cur.rest().iter().map(|t| t.text).collect();
    if words.is_empty() {
        return err(
            cur.end(),
            "expected the text to look for, as in `expect kernel.log has Out of memory`",
        );
    }
    Ok(Expect::KernelLog {
        text: words.join(" "),
        present,
    })
}
