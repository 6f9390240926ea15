//! `repeat N [as VAR]` … `end` blocks: the body is parsed N times, with `{EXPR}` in its tokens
//! replaced by a number computed from the iteration index (`{i}`, `{i+1}`, `{i*4}KiB`). Positions
//! stay those of the file as written, and a diagnostic says which iteration it came from.

use super::{diag, err, is_name, quote, suggest, PResult, Parser, KEYWORDS};
use crate::scenario::ast::{Diagnostic, Pos};
use crate::scenario::lex::{Line, Tok};
use crate::scenario::size::parse_u64;

/// The most statements the repeat blocks of one scenario may produce, all iterations of all
/// blocks (nested ones multiply) together: a million, ten times the largest scenario the scale
/// bench runs, so that a typo in a count is an error rather than an hour of parsing.
pub(super) const MAX_REPEATED_LINES: u64 = 1_000_000;

/// A loop variable and its value in the current iteration.
#[derive(Clone, Copy)]
pub(super) struct Var<'a> {
    name: &'a str,
    value: u64,
}

/// What a block's header says: how many times, and the variable's name.
struct Header<'a> {
    count: u64,
    var: Option<&'a str>,
}

/// Whether a line opens a block or closes one.
pub(super) fn keyword(line: &Line<'_>) -> Option<&'static str> {
    match line.toks.first().map(|t| t.text) {
        Some("repeat") => Some("repeat"),
        Some("end") => Some("end"),
        _ => None,
    }
}

/// The body of the block opened by `lines[0]`: the lines up to its `end` (nested blocks
/// included), or None when the block is never closed.
fn body_len(lines: &[Line<'_>]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, l) in lines.iter().enumerate() {
        match keyword(l) {
            Some("repeat") => depth += 1,
            Some("end") => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// How many statements `lines` make, every nested block expanded (a count that does not parse
/// counts as 0: its header is an error of its own).
fn statements(lines: &[Line<'_>]) -> u64 {
    let mut total: u64 = 0;
    let mut i = 0;
    while let Some(l) = lines.get(i) {
        match keyword(l) {
            Some("repeat") => {
                let len = body_len(&lines[i..]).unwrap_or(lines.len() - i);
                let count = l.toks.get(1).and_then(|t| parse_u64(t.text)).unwrap_or(0);
                let inner = statements(lines.get(i + 1..i + len).unwrap_or(&[]));
                total = total.saturating_add(count.saturating_mul(inner));
                i += len + 1;
            }
            Some(_) => i += 1,
            None => {
                total = total.saturating_add(1);
                i += 1;
            }
        }
    }
    total
}

/// The value of `{EXPR}`: `TERM (("+"|"-") TERM)*`, `TERM := ATOM (("*"|"/"|"%") ATOM)*`,
/// `ATOM := DIGITS | VAR`, in u64 arithmetic that must not wrap, go below 0 or divide by 0.
/// `at` is the position of the expression's first character.
fn eval(expr: &str, at: Tok<'_>, vars: &[Var<'_>]) -> PResult<u64> {
    let whole = format!("{{{expr}}}");
    let bad = |m: &str| -> Diagnostic { diag(at.pos, format!("in {}: {m}", quote(&whole))) };
    if expr.is_empty() {
        return Err(bad("expected an expression such as i, i+1 or i*4"));
    }
    let atom = |s: &str| -> PResult<u64> {
        if let Some(n) = parse_u64(s) {
            return Ok(n);
        }
        if s.is_empty() {
            return Err(bad("an operator needs a number or a variable on each side"));
        }
        if let Some(v) = vars
            .iter()
            .rev()
            .find(|v| !v.name.is_empty() && v.name == s)
        {
            return Ok(v.value);
        }
        let names: Vec<&str> = vars
            .iter()
            .map(|v| v.name)
            .filter(|n| !n.is_empty())
            .collect();
        let hint = suggest::hint(s, names.iter().copied());
        let known = if names.is_empty() {
            "no `repeat … as VAR` names a variable here".to_string()
        } else {
            format!("the variables here: {}", names.join(", "))
        };
        Err(bad(&format!(
            "unknown variable {}{hint} ({known})",
            quote(s)
        )))
    };
    let overflow = || bad("the value does not fit in 64 bits");
    let mut sum: u64 = 0;
    // Each additive term, with the sign before it.
    for (minus, term) in split_keep(expr, &['+', '-']) {
        let mut product: Option<u64> = None;
        for (op, a) in split_keep(term, &['*', '/', '%']) {
            let v = atom(a)?;
            product = Some(match (product, op) {
                (None, _) => v,
                (Some(p), '*') => p.checked_mul(v).ok_or_else(overflow)?,
                (Some(_), _) if v == 0 => return Err(bad("division by zero")),
                (Some(p), '/') => p / v,
                (Some(p), _) => p % v,
            });
        }
        let v = product.unwrap_or(0);
        sum = if minus == '-' {
            sum.checked_sub(v)
                .ok_or_else(|| bad("the value comes out below 0"))?
        } else {
            sum.checked_add(v).ok_or_else(overflow)?
        };
    }
    Ok(sum)
}

/// `s` cut at each of `ops`, each piece with the operator before it (`+` for the first).
fn split_keep<'s>(s: &'s str, ops: &[char]) -> Vec<(char, &'s str)> {
    let mut out = Vec::new();
    let mut op = '+';
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if ops.contains(&c) {
            out.push((op, &s[start..i]));
            op = c;
            start = i + c.len_utf8();
        }
    }
    out.push((op, &s[start..]));
    out
}

/// `text` with every `{EXPR}` replaced by its value; `tok` positions the errors (at the `{`).
fn substitute(tok: Tok<'_>, vars: &[Var<'_>]) -> PResult<String> {
    let text = tok.text;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut chars_before = 0usize;
    while let Some(open) = rest.find(['{', '}']) {
        let here = tok.sub(chars_before + rest[..open].chars().count(), "");
        if rest[open..].starts_with('}') {
            return err(here.pos, format!("unmatched `}}` in {}", quote(text)));
        }
        let Some(close) = rest[open + 1..].find(['{', '}']).map(|c| c + open + 1) else {
            return err(
                here.pos,
                format!(
                    "unclosed `{{` in {} (an expression has no spaces: write {{i+1}})",
                    quote(text)
                ),
            );
        };
        if rest[close..].starts_with('{') {
            return err(here.pos, format!("`{{` inside `{{…}}` in {}", quote(text)));
        }
        out.push_str(&rest[..open]);
        let value = eval(&rest[open + 1..close], here, vars)?;
        out.push_str(&value.to_string());
        chars_before += rest[..=close].chars().count();
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Parser {
    /// Parse `lines` in order; each `repeat` block among them is parsed once per iteration.
    /// Returns false when the scenario has run past [`MAX_REPEATED_LINES`] (reported once).
    pub(super) fn block(&mut self, lines: &[Line<'_>], vars: &[Var<'_>]) -> bool {
        let mut i = 0;
        while let Some(line) = lines.get(i) {
            match keyword(line) {
                Some("repeat") => {
                    let Some(len) = body_len(&lines[i..]) else {
                        self.diags.push(diag(
                            line.toks[0].pos,
                            "this `repeat` has no `end`: close the block with a line `end`",
                        ));
                        return true;
                    };
                    if let Some(extra) = lines[i + len].toks.get(1) {
                        self.diags.push(diag(
                            extra.pos,
                            format!("unexpected {} after `end`", quote(extra.text)),
                        ));
                    }
                    if !self.repeat(line, &lines[i + 1..i + len], vars) {
                        return false;
                    }
                    i += len + 1;
                }
                Some(_) => {
                    self.diags
                        .push(diag(line.toks[0].pos, "`end` without a `repeat` to close"));
                    i += 1;
                }
                None => {
                    if !vars.is_empty() {
                        self.repeated_lines += 1;
                    }
                    if vars.is_empty() {
                        self.line(line);
                    } else {
                        self.substituted_line(line, vars);
                    }
                    i += 1;
                }
            }
        }
        true
    }

    /// One line of a repeat body in one iteration: its tokens and text with `{…}` replaced.
    fn substituted_line(&mut self, line: &Line<'_>, vars: &[Var<'_>]) {
        let mut texts = Vec::with_capacity(line.toks.len());
        for &t in &line.toks {
            match substitute(t, vars) {
                Ok(s) => texts.push(s),
                Err(d) => {
                    // The line still records its process and verb, so that its `expect` is
                    // not a second error.
                    self.diags.push(d);
                    return;
                }
            }
        }
        let toks: Vec<Tok<'_>> = line
            .toks
            .iter()
            .zip(&texts)
            .map(|(t, s)| Tok {
                text: s,
                pos: t.pos,
            })
            .collect();
        let text = texts.join(" ");
        self.line(&Line { toks, text: &text });
    }

    /// `repeat N [as VAR]` with its body: parsed N times with VAR = 0, 1, …, N−1. Stops at the
    /// first iteration that has an error (the later ones would repeat it), and marks each of its
    /// diagnostics with the iteration.
    fn repeat(&mut self, header: &Line<'_>, body: &[Line<'_>], vars: &[Var<'_>]) -> bool {
        let at = header.toks[0].pos;
        let h = match self.repeat_header(header, vars) {
            Ok(h) => h,
            Err(d) => {
                self.diags.push(d);
                return true;
            }
        };
        let statements = statements(body);
        let room = MAX_REPEATED_LINES.saturating_sub(self.repeated_lines);
        if h.count.saturating_mul(statements) > room {
            self.diags.push(diag(
                at,
                format!(
                    "this `repeat` makes {} × {statements} statements, more than the {MAX_REPEATED_LINES} all the repeat blocks of a scenario may make",
                    h.count
                ),
            ));
            return false;
        }
        let mut inner: Vec<Var<'_>> = vars.to_vec();
        inner.push(Var {
            name: h.var.unwrap_or(""),
            value: 0,
        });
        for k in 0..h.count {
            if let Some(v) = inner.last_mut() {
                v.value = k;
            }
            let before = self.diags.len();
            let go_on = self.block(body, &inner);
            if self.diags.len() > before {
                let which = match h.var {
                    Some(name) => format!("{name}={k}"),
                    None => format!("{}", k + 1),
                };
                for d in &mut self.diags[before..] {
                    d.message.push_str(&format!(
                        " (in iteration {which} of the `repeat` at {}:{})",
                        at.line, at.col
                    ));
                }
                return go_on;
            }
            if !go_on {
                return false;
            }
        }
        true
    }

    fn repeat_header<'a>(&self, header: &Line<'a>, vars: &[Var<'_>]) -> PResult<Header<'a>> {
        let toks = &header.toks;
        let end = toks.last().map_or(Pos { line: 1, col: 1 }, |t| t.end());
        let Some(&n) = toks.get(1) else {
            return err(
                end,
                "expected a count after `repeat`, as in `repeat 500 as i`",
            );
        };
        let Some(count) = parse_u64(n.text) else {
            return err(
                n.pos,
                format!(
                    "expected a count (a plain number such as 500) after `repeat`, found {}",
                    quote(n.text)
                ),
            );
        };
        if count > MAX_REPEATED_LINES {
            return err(
                n.pos,
                format!("a `repeat` runs at most {MAX_REPEATED_LINES} times, found {count}"),
            );
        }
        let var = match toks.get(2) {
            None => None,
            Some(t) if t.text == "as" => {
                let Some(&v) = toks.get(3) else {
                    return err(t.end(), "expected a variable name after `as`, as in `as i`");
                };
                if !is_name(v.text) || KEYWORDS.contains(&v.text) {
                    return err(
                        v.pos,
                        format!(
                            "expected a variable name (a letter or _, then letters, digits, _ or -), found {}",
                            quote(v.text)
                        ),
                    );
                }
                if vars.iter().any(|o| !o.name.is_empty() && o.name == v.text) {
                    return err(
                        v.pos,
                        format!(
                            "`{}` already names the variable of an outer `repeat`: pick another",
                            v.text
                        ),
                    );
                }
                if let Some(extra) = toks.get(4) {
                    return err(
                        extra.pos,
                        format!(
                            "unexpected {} after a complete statement",
                            quote(extra.text)
                        ),
                    );
                }
                Some(v.text)
            }
            Some(t) => {
                return err(
                    t.pos,
                    format!(
                        "expected `as VAR` or the end of the line after the count, found {}{}",
                        quote(t.text),
                        suggest::hint(t.text, ["as"])
                    ),
                )
            }
        };
        Ok(Header { count, var })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str) -> Tok<'_> {
        Tok {
            text,
            pos: Pos { line: 3, col: 5 },
        }
    }

    fn vars() -> Vec<Var<'static>> {
        vec![
            Var {
                name: "i",
                value: 7,
            },
            Var {
                name: "j",
                value: 2,
            },
        ]
    }

    #[test]
    fn expressions_follow_precedence_and_refuse_what_wraps() {
        let v = vars();
        let s = |t: &str| substitute(tok(t), &v);
        assert_eq!(s("m{i}").unwrap(), "m7");
        assert_eq!(s("{i+1}").unwrap(), "8");
        assert_eq!(s("{i*4}KiB").unwrap(), "28KiB");
        assert_eq!(s("{1+i*4-j}").unwrap(), "27");
        assert_eq!(s("{i/2}_{i%2}").unwrap(), "3_1");
        assert_eq!(s("a[{i*4}KiB..{i*4+4}KiB]").unwrap(), "a[28KiB..32KiB]");
        assert_eq!(s("plain").unwrap(), "plain");
        let e = s("{j-i}").unwrap_err();
        assert!(e.message.contains("below 0"), "{e}");
        assert_eq!(e.pos.col, 5);
        let e = s("ab{i/0}").unwrap_err();
        assert!(e.message.contains("division by zero"), "{e}");
        assert_eq!(e.pos.col, 7, "at the `{{`");
        let e = s("{18446744073709551615+1}").unwrap_err();
        assert!(e.message.contains("64 bits"), "{e}");
        let e = s("{k}").unwrap_err();
        assert!(e.message.contains("unknown variable \"k\""), "{e}");
        let w = [Var {
            name: "idx",
            value: 1,
        }];
        let e = substitute(tok("{idz}"), &w).unwrap_err();
        assert!(e.message.contains("did you mean `idx`?"), "{e}");
        assert!(s("{i+}").unwrap_err().message.contains("each side"));
        assert!(s("{}")
            .unwrap_err()
            .message
            .contains("expected an expression"));
        assert!(s("x{i").unwrap_err().message.contains("unclosed"));
        assert!(s("x}").unwrap_err().message.contains("unmatched"));
        assert!(s("{i{j}}").unwrap_err().message.contains("inside"));
    }
}
