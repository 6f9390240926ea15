//! Splitting scenario text into lines and whitespace-separated tokens, with 1-based positions
//! counted in characters (never bytes), so that a diagnostic points at what the teacher sees.

use super::ast::Pos;

/// A token: a maximal run of non-whitespace characters on one line, before any `#`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tok<'a> {
    pub text: &'a str,
    pub pos: Pos,
}

impl<'a> Tok<'a> {
    /// A piece of this token that starts `chars_before` characters after its start.
    pub fn sub(&self, chars_before: usize, text: &'a str) -> Tok<'a> {
        let add = u32::try_from(chars_before).unwrap_or(u32::MAX);
        Tok {
            text,
            pos: Pos {
                line: self.pos.line,
                col: self.pos.col.saturating_add(add),
            },
        }
    }

    /// The parts before and after the first `sep`, each positioned where it is written.
    pub fn split(&self, sep: &str) -> Option<(Tok<'a>, Tok<'a>)> {
        let (head, tail) = self.text.split_once(sep)?;
        let head_tok = Tok {
            text: head,
            pos: self.pos,
        };
        let tail_tok = self.sub(head.chars().count() + sep.chars().count(), tail);
        Some((head_tok, tail_tok))
    }

    /// The rest of the token after a leading `prefix`, positioned where it is written.
    pub fn strip(&self, prefix: &str) -> Option<Tok<'a>> {
        let rest = self.text.strip_prefix(prefix)?;
        Some(self.sub(prefix.chars().count(), rest))
    }

    /// The position just after the token's last character.
    pub fn end(&self) -> Pos {
        self.sub(self.text.chars().count(), "").pos
    }
}

/// One statement line: its tokens and its text without the comment.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    pub toks: Vec<Tok<'a>>,
    /// The text before `#`, trimmed: `Stmt.text`.
    pub text: &'a str,
}

/// The lines of `src` that hold a statement. `\n` and `\r\n` both end a line; a leading byte-order
/// mark is skipped; `#` starts a comment that runs to the end of the line.
pub(crate) fn lines(src: &str) -> impl Iterator<Item = Line<'_>> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    src.split('\n').enumerate().filter_map(|(i, raw)| {
        let line = u32::try_from(i).unwrap_or(u32::MAX - 1).saturating_add(1);
        let code = match raw.find('#') {
            Some(at) => &raw[..at],
            None => raw,
        };
        let mut toks = Vec::new();
        let mut start: Option<(usize, u32)> = None;
        let mut col: u32 = 0;
        for (at, c) in code.char_indices() {
            col = col.saturating_add(1);
            if c.is_whitespace() {
                if let Some((s, scol)) = start.take() {
                    toks.push(Tok {
                        text: &code[s..at],
                        pos: Pos { line, col: scol },
                    });
                }
            } else if start.is_none() {
                start = Some((at, col));
            }
        }
        if let Some((s, scol)) = start {
            toks.push(Tok {
                text: &code[s..],
                pos: Pos { line, col: scol },
            });
        }
        if toks.is_empty() {
            None
        } else {
            Some(Line {
                toks,
                text: code.trim(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<Vec<(String, u32, u32)>> {
        lines(src)
            .map(|l| {
                l.toks
                    .iter()
                    .map(|t| (t.text.to_string(), t.pos.line, t.pos.col))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn tokens_carry_char_columns() {
        let got = texts("  a bb\t c # x y\n\n# only comment\r\nλ  d\r\n");
        assert_eq!(
            got,
            vec![
                vec![("a".into(), 1, 3), ("bb".into(), 1, 5), ("c".into(), 1, 9)],
                vec![("λ".into(), 4, 1), ("d".into(), 4, 4)],
            ]
        );
    }

    #[test]
    fn text_drops_comment_and_whitespace() {
        let l: Vec<_> = lines("\u{feff} spawn app   # the app\r\n").collect();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].text, "spawn app");
        assert_eq!(l[0].toks[0].pos, Pos { line: 1, col: 2 });
    }

    #[test]
    fn sub_tokens_count_chars() {
        let t = Tok {
            text: "λx=1",
            pos: Pos { line: 2, col: 5 },
        };
        let (k, v) = t.split("=").unwrap();
        assert_eq!(k.text, "λx");
        assert_eq!(v.text, "1");
        assert_eq!(v.pos.col, 8);
        assert_eq!(t.end().col, 9);
        let r = Tok {
            text: "±1MiB",
            pos: Pos { line: 1, col: 1 },
        }
        .strip("±")
        .unwrap();
        assert_eq!((r.text, r.pos.col), ("1MiB", 2));
    }
}
