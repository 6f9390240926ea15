//! The scenario parser: text in, a [`Scenario`] or line:col diagnostics out
//! (the language is documented in `docs/scenario-language.md`).
//!
//! One statement per line. The parser keeps a static table of the processes and mapping names a
//! scenario has introduced, so that a typo in a name is reported where it is written rather than
//! when the simulation reaches it. No input can make it panic: positions count characters, every
//! number is parsed with checked arithmetic, and slicing happens only at ASCII separators.

mod cgroup;
mod expect;
mod kube;
mod machine;
mod ops;
mod repeat;
#[cfg(test)]
mod tests;
mod windows;

use super::ast::{Diagnostic, Pos, Scenario, Stmt, StmtKind};
use super::lex::{lines, Line, Tok};
use super::size::{parse_size, SizeError};
use super::suggest;
use crate::config::MachineConfig;
use crate::op::{Op, Size};
use crate::units::USER_SPACE_BYTES;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

type PResult<T> = Result<T, Diagnostic>;

fn diag(pos: Pos, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        pos,
        message: message.into(),
    }
}

fn err<T>(pos: Pos, message: impl Into<String>) -> PResult<T> {
    Err(diag(pos, message))
}

/// A token quoted for a message: escaped like a Rust string and cut at 40 characters, so that a
/// pasted megabyte of garbage does not become a megabyte of message.
fn quote(s: &str) -> String {
    let mut short: String = s.chars().take(40).collect();
    if s.chars().nth(40).is_some() {
        short.push('…');
    }
    format!("{short:?}")
}

/// Words that start a statement (or a query path) and so cannot name a process.
const KEYWORDS: &[&str] = &[
    "machine", "sysctl", "spawn", "expect", "kill", "meminfo", "vm", "repeat", "end", "cgroup",
    "kube",
];

/// The words a statement can start with besides a process name.
const STATEMENTS: &[&str] = &[
    "machine", "sysctl", "spawn", "kill", "expect", "repeat", "cgroup", "kube",
];

/// `[A-Za-z_][A-Za-z0-9_-]*`: process and mapping names.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The message for a token that is not a size.
fn size_message(e: SizeError, text: &str) -> String {
    let q = quote(text);
    match e {
        SizeError::NotASize => format!("expected a size like 64MiB or 65%ram, found {q}"),
        SizeError::NoUnit => format!(
            "expected a size like 64MiB or 65%ram, found {q}: a size needs a unit (B, KiB, MiB, GiB, TiB or pages)"
        ),
        SizeError::TooLarge => format!("size {q} is too large or has too many digits (at most 2^64 - 1 bytes)"),
        SizeError::NotWhole => format!("size {q} is not a whole number of bytes"),
        SizeError::TooPrecise => {
            format!("relative size {q} is finer than per mille: write at most one decimal, as in 12.5%ram")
        }
        SizeError::RelativeTooLarge => {
            format!("relative size {q} is above 100000% (a thousand times its base)")
        }
    }
}

fn size(tok: Tok<'_>) -> PResult<Size> {
    parse_size(tok.text).map_err(|e| diag(tok.pos, size_message(e, tok.text)))
}

/// A size that must be absolute (bytes), for things fixed when the scenario is parsed.
fn abs_size(tok: Tok<'_>, what: &str) -> PResult<u64> {
    match size(tok)? {
        Size::Bytes(b) => Ok(b),
        Size::Fraction { .. } => err(
            tok.pos,
            format!("{what} must be an absolute size like 64MiB, not a relative one"),
        ),
    }
}

/// An absolute size that must lie within the user address space: an offset into a mapping, a gap
/// between two mappings. Beyond it no mapping can be met, so the scenario is wrong as written.
fn within_user_space(tok: Tok<'_>, bytes: u64, what: &str) -> PResult<u64> {
    if bytes > USER_SPACE_BYTES {
        return err(
            tok.pos,
            format!(
                "{what} {} is past the end of user space (0x7ffffffff000, 128 TiB): no mapping reaches it",
                quote(tok.text)
            ),
        );
    }
    Ok(bytes)
}

/// The tokens of one statement, read left to right.
struct Cur<'a, 't> {
    toks: &'t [Tok<'a>],
    i: usize,
}

impl<'a, 't> Cur<'a, 't> {
    fn new(toks: &'t [Tok<'a>], i: usize) -> Self {
        Cur { toks, i }
    }

    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.i).copied()
    }

    /// Where a missing token would have been: just after the last one.
    fn end(&self) -> Pos {
        self.toks
            .last()
            .map_or(Pos { line: 1, col: 1 }, |t| t.end())
    }

    fn next(&mut self, what: &str) -> PResult<Tok<'a>> {
        match self.toks.get(self.i) {
            Some(t) => {
                self.i += 1;
                Ok(*t)
            }
            None => err(
                self.end(),
                format!("expected {what}, found the end of the line"),
            ),
        }
    }

    /// Every token not read yet.
    fn rest(&mut self) -> &'t [Tok<'a>] {
        let from = self.i.min(self.toks.len());
        self.i = self.toks.len();
        &self.toks[from..]
    }

    /// The statement must end here.
    fn done(&self) -> PResult<()> {
        match self.peek() {
            Some(t) => err(
                t.pos,
                format!("unexpected {} after a complete statement", quote(t.text)),
            ),
            None => Ok(()),
        }
    }
}

/// What the parser knows about the processes of a scenario, statically.
#[derive(Default)]
struct Names {
    /// Process name → index of its address space in `mms`. Names stay after exit or kill, so
    /// that an `expect` can still ask about the process, and are never reused.
    procs: BTreeMap<String, usize>,
    /// The mapping names of each address space. `clone` shares one; `fork`/`vfork` copy it
    /// (copy-on-write: 10,000 forks of a process with 1,000 mappings share one set instead of
    /// holding 10 million names); `exec` starts an empty one.
    mms: Vec<Rc<BTreeSet<String>>>,
}

impl Names {
    fn new_mm(&mut self, names: Rc<BTreeSet<String>>) -> usize {
        self.mms.push(names);
        self.mms.len() - 1
    }

    fn mappings(&self, proc: &str) -> Option<&BTreeSet<String>> {
        self.procs
            .get(proc)
            .and_then(|&mm| self.mms.get(mm))
            .map(|m| &**m)
    }

    /// The names of one address space, to change (copied first if a fork still shares them).
    fn mms_mut(&mut self, mm: usize) -> Option<&mut BTreeSet<String>> {
        self.mms.get_mut(mm).map(Rc::make_mut)
    }
}

/// A name an operation introduced, which an `expect` saying the operation failed frees again: after
/// `app fork child` and `expect app fork ENOMEM`, no `child` exists, so a later `app fork child`
/// is fine.
#[derive(Clone, Debug, Default)]
enum Intro {
    #[default]
    Nothing,
    Proc(String),
    Mapping {
        mm: usize,
        name: String,
    },
}

/// What one line parsed to: one statement (every line but `machine`), or several.
enum Parsed {
    One(Pos, StmtKind),
    Many(Vec<(Pos, StmtKind)>),
}

/// A process's most recent operation, overall and by verb (record indexes).
#[derive(Default)]
struct ProcLast {
    any: usize,
    by_verb: BTreeMap<&'static str, usize>,
}

#[derive(Default)]
struct Parser {
    machine: Option<MachineConfig>,
    /// `machine linux host`: the options to apply over the host.
    host: Option<super::ast::HostMachine>,
    /// The first statement has been seen (and a missing `machine` line reported, if it was).
    missing_machine: bool,
    /// SwapTotal as the operations so far leave it (every `swap=` is known when parsed).
    swap_bytes: u64,
    names: Names,
    /// What each operation written so far introduced, by record index. A line that fails to parse
    /// still records its process and verb (introducing nothing), so that its `expect` is not a
    /// second error.
    intros: Vec<Intro>,
    /// The most recent operation, overall, by process, and by process and verb (`Op::verb`).
    last_op: Option<usize>,
    last_by_proc: BTreeMap<String, ProcLast>,
    /// The verb of each process's most recent tmpfs operation, which `expect PROC tmpfs …` means.
    last_tmpfs: BTreeMap<String, &'static str>,
    stmts: Vec<Stmt>,
    diags: Vec<Diagnostic>,
    /// Statements made by repeat blocks so far (bounded by repeat::MAX_REPEATED_LINES).
    repeated_lines: u64,
    /// The cgroups `cgroup create` made so far (paths relative to the root).
    cgroups: BTreeSet<String>,
    /// The pods `kube pod` declared.
    pods: BTreeMap<String, kube::KubePod>,
    /// Windows: the size of each named region, (process, name) → bytes, so that `commit NAME`
    /// passes the region's whole size; and each section's size.
    win_sizes: BTreeMap<(String, String), u64>,
    win_sections: BTreeMap<String, u64>,
}

/// Parse a scenario. On error, every diagnostic found (at most one per line), in line order.
pub fn parse(src: &str) -> Result<Scenario, Vec<Diagnostic>> {
    let mut p = Parser::default();
    // About one statement per line: one pass over the bytes saves the doubling copies of a
    // 100,000-statement vector.
    p.stmts.reserve(line_count(src));
    let mut it = lines(src);
    while let Some(line) = it.next() {
        let Some(kw) = repeat::keyword(&line) else {
            p.line(&line);
            continue;
        };
        // A `repeat` block: gathered to its `end` (or the end of the file), then parsed.
        let mut depth = usize::from(kw == "repeat");
        let mut block = vec![line];
        while depth > 0 {
            let Some(l) = it.next() else { break };
            match repeat::keyword(&l) {
                Some("repeat") => depth += 1,
                Some(_) => depth -= 1,
                None => {}
            }
            block.push(l);
        }
        p.block(&block, &[]);
    }
    p.finish()
}

fn line_count(src: &str) -> usize {
    src.bytes().filter(|&b| b == b'\n').count() + 1
}

impl Parser {
    fn finish(self) -> Result<Scenario, Vec<Diagnostic>> {
        match self.machine {
            Some(machine) if self.diags.is_empty() => Ok(Scenario {
                machine,
                host: self.host,
                stmts: self.stmts,
            }),
            None if self.diags.is_empty() => Err(vec![diag(
                Pos { line: 1, col: 1 },
                "the scenario is empty: expected a first line like `machine linux ram=8GiB`",
            )]),
            _ => Err(self.diags),
        }
    }

    fn line(&mut self, line: &Line<'_>) {
        let Some(&first) = line.toks.first() else {
            return;
        };
        // Reported once, on the first statement; a `machine` line with an error counts as a
        // machine line, so that its error is not followed by one on every later line.
        let mut reported_here = false;
        if self.machine.is_none() && !self.missing_machine {
            self.missing_machine = true;
            if first.text != "machine" {
                reported_here = true;
                self.diags.push(diag(
                    first.pos,
                    format!(
                        "expected a `machine` line first (e.g. `machine linux ram=8GiB`), found {}",
                        quote(first.text)
                    ),
                ));
            }
        }
        let one = |r: PResult<Op>| r.map(|op| Parsed::One(first.pos, StmtKind::Op(op)));
        let windows_boot = self.machine.is_none()
            && first.text == "machine"
            && line.toks.get(1).is_some_and(|t| t.text == "windows");
        let result = if windows_boot {
            self.windows_machine(&line.toks)
                .map(|()| Parsed::Many(Vec::new()))
        } else if matches!(self.machine, Some(MachineConfig::Windows(_))) {
            match first.text {
                "machine" => Err(diag(
                    first.pos,
                    "a Windows machine is configured once, on its first line",
                )),
                "expect" => self
                    .windows_expect(&line.toks)
                    .map(|e| Parsed::One(first.pos, StmtKind::Expect(e))),
                _ => self.windows_line(&line.toks).map(|op| {
                    Parsed::One(
                        first.pos,
                        StmtKind::Op(op.expect("a Windows statement other than expect is an op")),
                    )
                }),
            }
        } else {
            match first.text {
                "machine" => self.machine_line(&line.toks).map(Parsed::Many),
                "sysctl" => one(self.sysctl_line(&line.toks)),
                "spawn" => one(self.spawn_line(&line.toks)),
                "kill" => one(self.kill_line(&line.toks)),
                "cgroup" => one(self.cgroup_line(&line.toks)),
                "kube" => self.kube_line(&line.toks).map(Parsed::Many),
                "expect" => self
                    .expect_line(&line.toks)
                    .map(|e| Parsed::One(first.pos, StmtKind::Expect(e))),
                _ => one(self.proc_line(&line.toks)),
            }
        };
        match result {
            Ok(Parsed::One(pos, kind)) => self.push_stmt(pos, kind, line.text),
            Ok(Parsed::Many(kinds)) => {
                for (pos, kind) in kinds {
                    self.push_stmt(pos, kind, line.text);
                }
            }
            // One diagnostic per line.
            Err(_) if reported_here => {}
            Err(d) => self.diags.push(d),
        }
    }

    fn push_stmt(&mut self, pos: Pos, kind: StmtKind, text: &str) {
        if let StmtKind::Op(op) = &kind {
            self.note_op(op);
        }
        self.stmts.push(Stmt {
            pos,
            kind,
            text: text.to_string(),
        });
    }

    /// Remember that an operation was written, for the static checks of later `expect` lines.
    fn note_op(&mut self, op: &Op) {
        let intro = match op {
            Op::Fork { child, .. } => Intro::Proc(child.clone()),
            Op::Win(
                crate::windows::op::WinOp::VirtualAlloc {
                    proc,
                    name: Some(name),
                    ..
                }
                | crate::windows::op::WinOp::MapViewOfFile { proc, name, .. },
            )
            | Op::Mmap { proc, name, .. } => match self.names.procs.get(proc) {
                Some(&mm) => Intro::Mapping {
                    mm,
                    name: name.clone(),
                },
                None => Intro::Nothing,
            },
            _ => Intro::Nothing,
        };
        let verb = op.verb();
        if verb.starts_with("tmpfs-") {
            if let Some(proc) = op.proc() {
                self.last_tmpfs.insert(proc.to_string(), verb);
            }
        }
        self.record(op.proc(), Some(verb), intro);
    }

    fn record(&mut self, proc: Option<&str>, verb: Option<&'static str>, intro: Intro) {
        let at = self.intros.len();
        self.intros.push(intro);
        self.last_op = Some(at);
        if let Some(proc) = proc {
            // Looked up before inserting: a 100,000-line scenario by one process allocates its
            // name once, not once per line.
            let last = match self.last_by_proc.get_mut(proc) {
                Some(last) => last,
                None => self.last_by_proc.entry(proc.to_string()).or_default(),
            };
            last.any = at;
            if let Some(verb) = verb {
                last.by_verb.insert(verb, at);
            }
        }
    }

    /// An `expect` says operation `at` failed: whatever name it introduced does not exist.
    fn release(&mut self, at: usize) {
        match self.intros.get_mut(at).map(std::mem::take) {
            Some(Intro::Proc(name)) => {
                self.names.procs.remove(&name);
            }
            Some(Intro::Mapping { mm, name }) => {
                if let Some(names) = self.names.mms_mut(mm) {
                    names.remove(&name);
                }
            }
            Some(Intro::Nothing) | None => {}
        }
    }

    /// "no process named `apps`; did you mean `app`?", or "(spawn it first)" when no known
    /// process is close; `extra` are other words that may stand where the process does.
    fn no_proc_message(&self, word: &str, extra: &[&str]) -> String {
        let known = self
            .names
            .procs
            .keys()
            .map(String::as_str)
            .chain(extra.iter().copied());
        match suggest::closest(word, known) {
            Some(near) => format!("no process named `{word}`; did you mean `{near}`?"),
            None => format!("no process named `{word}` (spawn it first)"),
        }
    }

    /// A process that must already exist.
    fn proc_ref(&self, tok: Tok<'_>) -> PResult<String> {
        if self.names.procs.contains_key(tok.text) {
            Ok(tok.text.to_string())
        } else if is_name(tok.text) {
            err(tok.pos, self.no_proc_message(tok.text, &[]))
        } else {
            err(
                tok.pos,
                format!("expected a process name, found {}", quote(tok.text)),
            )
        }
    }

    /// A name for a new process: well formed, not a keyword, not in use.
    fn new_proc_name(&self, tok: Tok<'_>) -> PResult<String> {
        if !is_name(tok.text) {
            err(
                tok.pos,
                format!(
                    "expected a process name (a letter or _, then letters, digits, _ or -), found {}",
                    quote(tok.text)
                ),
            )
        } else if KEYWORDS.contains(&tok.text) {
            err(
                tok.pos,
                format!("`{}` is a keyword and cannot name a process", tok.text),
            )
        } else if self.names.procs.contains_key(tok.text) {
            err(
                tok.pos,
                format!(
                    "a process named `{}` already exists (names are never reused)",
                    tok.text
                ),
            )
        } else {
            Ok(tok.text.to_string())
        }
    }

    /// A mapping of `proc` that must already exist.
    fn mapping_ref(&self, proc: &str, tok: Tok<'_>) -> PResult<String> {
        let known = self
            .names
            .mappings(proc)
            .is_some_and(|m| m.contains(tok.text));
        if known {
            Ok(tok.text.to_string())
        } else if is_name(tok.text) {
            let near = self
                .names
                .mappings(proc)
                .and_then(|m| suggest::closest(tok.text, m.iter().map(String::as_str)));
            let message = match near {
                Some(near) => format!(
                    "process `{proc}` has no mapping named `{}`; did you mean `{near}`?",
                    tok.text
                ),
                None => format!(
                    "process `{proc}` has no mapping named `{}` (mmap it first)",
                    tok.text
                ),
            };
            err(tok.pos, message)
        } else {
            err(
                tok.pos,
                format!("expected a mapping name, found {}", quote(tok.text)),
            )
        }
    }

    /// Register a process with the given mapping names.
    fn add_proc(&mut self, name: &str, mm: usize) {
        self.names.procs.insert(name.to_string(), mm);
    }
}
