//! Memory-cgroup lines: `cgroup create|remove PATH`, `cgroup PATH set FILE VALUE`,
//! `PROC cgroup PATH`, `PROC bpf map N SIZE`, and `expect cgroup PATH FILE [KEY] CMP VALUE`.

use super::{err, quote, size, suggest, Cur, PResult, Parser};
use crate::config::{CgroupVersion, MachineConfig};
use crate::linux::memcg::{file_keys, file_kind, files, FileKind};
use crate::op::{Op, Size};
use crate::query::Query;
use crate::scenario::ast::Expect;
use crate::scenario::lex::Tok;
use crate::scenario::size::parse_u64;

/// A cgroup path segment: letters, digits, `_`, `-`, `.` (not `.` or `..` alone).
fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Parser {
    /// The machine's hierarchy (v2 until a `machine` line says otherwise).
    fn cgroup_version(&self) -> CgroupVersion {
        match &self.machine {
            Some(MachineConfig::Linux(c)) => c.cgroup,
            Some(MachineConfig::Windows(_)) | None => CgroupVersion::V2,
        }
    }

    /// A cgroup path as written (`/` or `a/b`, a leading `/` allowed), relative to the root.
    fn cgroup_path_syntax(tok: Tok<'_>) -> PResult<String> {
        let p = tok.text.strip_prefix('/').unwrap_or(tok.text);
        if p.is_empty() {
            return Ok(String::new());
        }
        if !p.split('/').all(is_segment) {
            return err(
                tok.pos,
                format!(
                    "expected a cgroup path like `app` or `kubepods/pod1/c1` (letters, digits, _, - and . between /), found {}",
                    quote(tok.text)
                ),
            );
        }
        Ok(p.to_string())
    }

    /// A path that an earlier `cgroup create` made (or the root).
    fn cgroup_ref(&self, tok: Tok<'_>) -> PResult<String> {
        let p = Self::cgroup_path_syntax(tok)?;
        if p.is_empty() || self.cgroups.contains(&p) {
            return Ok(p);
        }
        let hint = suggest::hint(&p, self.cgroups.iter().map(String::as_str));
        err(
            tok.pos,
            format!("no cgroup `{p}` (create it first with `cgroup create {p}`){hint}"),
        )
    }

    /// `cgroup create PATH`, `cgroup remove PATH`, `cgroup PATH set FILE VALUE`.
    pub(super) fn cgroup_line(&mut self, toks: &[Tok<'_>]) -> PResult<Op> {
        let mut cur = Cur::new(toks, 1);
        let t = cur.next("`create PATH`, `remove PATH` or `PATH set FILE VALUE`")?;
        let op = match t.text {
            "create" => {
                let pt = cur.next("a cgroup path")?;
                let p = Self::cgroup_path_syntax(pt)?;
                if p.is_empty() || self.cgroups.contains(&p) {
                    return err(pt.pos, format!("cgroup `/{p}` already exists"));
                }
                if let Some((parent, _)) = p.rsplit_once('/') {
                    if !self.cgroups.contains(parent) {
                        return err(
                            pt.pos,
                            format!(
                                "the parent cgroup `{parent}` does not exist (create it first)"
                            ),
                        );
                    }
                }
                self.cgroups.insert(p.clone());
                Op::CgroupCreate { path: p }
            }
            "remove" => {
                let pt = cur.next("a cgroup path")?;
                let p = self.cgroup_ref(pt)?;
                if p.is_empty() {
                    return err(pt.pos, "the root cgroup cannot be removed");
                }
                Op::CgroupRemove { path: p }
            }
            _ => {
                let path = self.cgroup_ref(t)?;
                let s = cur.next("`set FILE VALUE`")?;
                if s.text != "set" {
                    return err(
                        s.pos,
                        format!(
                            "expected `set FILE VALUE` after the cgroup path, found {}",
                            quote(s.text)
                        ),
                    );
                }
                let ft = cur.next("a cgroup file such as memory.max")?;
                let file = self.cgroup_file(ft, true)?;
                let vt = cur.next("a value")?;
                let value = self.cgroup_value(&file, vt)?;
                if path.is_empty() {
                    return err(t.pos, "the root cgroup has no memory limits to set");
                }
                Op::CgroupWrite { path, file, value }
            }
        };
        cur.done()?;
        Ok(op)
    }

    /// A file of the machine's hierarchy (`writable`: one root may write).
    fn cgroup_file(&self, tok: Tok<'_>, writable: bool) -> PResult<String> {
        let v = self.cgroup_version();
        match file_kind(v, tok.text) {
            Some((_, w)) if w || !writable => return Ok(tok.text.to_string()),
            Some(_) => return err(tok.pos, format!("`{}` is read-only", tok.text)),
            None => {}
        }
        let other = match v {
            CgroupVersion::V1 => CgroupVersion::V2,
            CgroupVersion::V2 => CgroupVersion::V1,
        };
        if file_kind(other, tok.text).is_some() {
            return err(
                tok.pos,
                format!(
                    "`{}` is a cgroup {} file, and this machine's memory controller is on cgroup {} (machine option `cgroup=`)",
                    tok.text,
                    other.name(),
                    v.name()
                ),
            );
        }
        let names = files(v)
            .iter()
            .filter(|(_, _, w)| *w || !writable)
            .map(|(n, _, _)| *n);
        let hint = suggest::hint(tok.text, names.clone());
        err(
            tok.pos,
            format!(
                "unknown cgroup {} file {}{hint} (files: {})",
                v.name(),
                quote(tok.text),
                names.collect::<Vec<_>>().join(" ")
            ),
        )
    }

    /// The text a `set` writes: a size (`96MiB`, `96M`) or plain bytes, `max` (v2), `-1`
    /// (v1 limits), or 0/1 for a switch.
    fn cgroup_value(&self, file: &str, tok: Tok<'_>) -> PResult<String> {
        let v = self.cgroup_version();
        let switch = matches!(file, "memory.oom.group" | "memory.oom_control");
        if switch {
            return match tok.text {
                "0" | "1" => Ok(tok.text.to_string()),
                _ => err(
                    tok.pos,
                    format!("`{file}` takes 0 or 1, found {}", quote(tok.text)),
                ),
            };
        }
        if tok.text == "max" {
            return match v {
                CgroupVersion::V2 => Ok("max".into()),
                CgroupVersion::V1 => err(
                    tok.pos,
                    format!("cgroup v1 writes an unlimited `{file}` as -1, not `max`"),
                ),
            };
        }
        if tok.text == "-1" {
            return match v {
                CgroupVersion::V1 => Ok("-1".into()),
                CgroupVersion::V2 => err(
                    tok.pos,
                    format!("`{file}` takes a size or `max`, not -1 (-1 is cgroup v1's way to write unlimited)"),
                ),
            };
        }
        if let Some(b) = parse_u64(tok.text) {
            return Ok(b.to_string());
        }
        match size(tok) {
            Ok(Size::Bytes(b)) => Ok(b.to_string()),
            Ok(Size::Fraction { .. }) => err(
                tok.pos,
                format!("`{file}` takes an absolute size like 96MiB, not a relative one"),
            ),
            Err(_) => err(
                tok.pos,
                format!(
                    "`{file}` takes a size like 96MiB, a number of bytes, or {}; found {}",
                    if v == CgroupVersion::V2 { "max" } else { "-1" },
                    quote(tok.text)
                ),
            ),
        }
    }

    /// `PROC cgroup PATH`: move the process.
    pub(super) fn cgroup_move(&mut self, proc: String, cur: &mut Cur<'_, '_>) -> PResult<Op> {
        let path = self.cgroup_ref(cur.next("a cgroup path")?)?;
        Ok(Op::CgroupMove { proc, path })
    }

    /// `PROC bpf map ENTRIES VALUE_SIZE`.
    pub(super) fn bpf_map(&mut self, proc: String, cur: &mut Cur<'_, '_>) -> PResult<Op> {
        let m = cur.next("`map ENTRIES VALUE_SIZE`")?;
        if m.text != "map" {
            return err(
                m.pos,
                format!("expected `map` after `bpf`, found {}", quote(m.text)),
            );
        }
        let n = cur.next("the number of entries")?;
        let entries = parse_u64(n.text)
            .filter(|&e| e <= u32::MAX as u64)
            .ok_or_else(|| {
                super::diag(
                    n.pos,
                    format!(
                        "expected a number of entries (max_entries, a u32), found {}",
                        quote(n.text)
                    ),
                )
            })?;
        let vt = cur.next("the value size, such as 64B")?;
        let value_size = match size(vt)? {
            Size::Bytes(b) if b <= u32::MAX as u64 => b,
            _ => {
                return err(
                    vt.pos,
                    "the value size is an absolute size of at most 4 GiB (value_size is a u32)",
                )
            }
        };
        Ok(Op::BpfMap {
            proc,
            entries,
            value_size,
        })
    }

    /// `expect cgroup PATH FILE [KEY] CMP VALUE [± TOL]`.
    pub(super) fn expect_cgroup(&self, cur: &mut Cur<'_, '_>) -> PResult<Expect> {
        let pt = cur.next("a cgroup path")?;
        let path = self.cgroup_ref(pt)?;
        let ft = cur.next("a cgroup file such as memory.current")?;
        let file = self.cgroup_file(ft, false)?;
        let v = self.cgroup_version();
        if path.is_empty()
            && !crate::linux::memcg::root_has_file(v, crate::linux::memcg::ROOT_MEMCG, &file)
        {
            return err(
                ft.pos,
                format!("the root cgroup has no `{file}` on cgroup v2 (only memory.stat)"),
            );
        }
        let (kind, _) = file_kind(v, &file).expect("checked");
        let key = if kind == FileKind::Keyed {
            let kt = cur.next("a key of the file, such as anon or oom_kill")?;
            let keys = file_keys(v, &file);
            if !keys.contains(&kt.text) {
                let hint = suggest::hint(kt.text, keys.iter().copied());
                return err(
                    kt.pos,
                    format!(
                        "`{file}` has no key {}{hint} (keys: {})",
                        quote(kt.text),
                        keys.join(" ")
                    ),
                );
            }
            Some(kt.text.to_string())
        } else {
            None
        };
        let shown = match &key {
            Some(k) => format!("{file} {k}"),
            None => file.clone(),
        };
        let query = Query::Cgroup { path, file, key };
        self.value_tail(query, &shown, ft, cur)
    }
}
