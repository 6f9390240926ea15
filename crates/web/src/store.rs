//! The student's own scenarios ("My scenarios"), kept in localStorage as one versioned JSON
//! document. Pure data and rules here (testable natively); `app` reads and writes the storage.
//!
//! Rules: opening a library entry never touches an own scenario; the first edit of a library (or
//! random) scenario makes a new own scenario named `<title> (edited)`, unique; imports and share
//! links become own scenarios too, except that a text identical to an existing own scenario opens
//! that one (so a reload, whose URL carries the text, or the same link twice, makes no duplicate).
//! Delete keeps the scenario in `trash` until the next delete, so it can be undone.
//!
//! The document is a few lines of text, not JSON: serde_json's parser would add about 40 KB
//! (gzipped) to the wasm, and the schema is flat. Line 1 is `vmlab-store VERSION`; then one
//! record per line, fields separated by tabs, each field escaped (`\\`, `\n`, `\t`, `\r`):
//! `own NAME TEXT`, `current NAME`, `trash INDEX NAME TEXT`.

/// The localStorage key of the document, and the version of its schema.
pub const KEY: &str = "vmlab.store";
pub const VERSION: u32 = 1;
/// The single-slot storage of earlier builds: its text becomes an own scenario on first load.
pub const LEGACY_KEY: &str = "vmlab.scenario";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Own {
    pub name: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    pub version: u32,
    pub own: Vec<Own>,
    /// The own scenario open last (its name), reopened on a visit without a link.
    pub current: Option<String>,
    /// The last deleted scenario and where it was, for undo.
    pub trash: Option<(usize, Own)>,
}

impl Store {
    /// Reads the stored document, migrating older storage: a version-less single text (`legacy`)
    /// becomes the own scenario "My scenario" unless it is empty or a library text (`is_library`).
    /// A document that does not parse is never overwritten blindly: it is kept as an own scenario.
    pub fn load(
        doc: Option<&str>,
        legacy: Option<&str>,
        is_library: impl Fn(&str) -> bool,
    ) -> Store {
        let mut store = match doc {
            Some(d) => match Store::from_text(d) {
                Some(s) if s.version <= VERSION => s,
                // A newer or damaged document: keep its raw text so nothing is lost.
                _ => {
                    let mut s = Store::default();
                    s.add("Recovered storage", d);
                    s
                }
            },
            None => {
                let mut s = Store::default();
                if let Some(t) = legacy.filter(|t| !t.trim().is_empty() && !is_library(t)) {
                    let name = s.add("My scenario", t);
                    s.current = Some(name);
                }
                s
            }
        };
        store.version = VERSION;
        store
    }

    /// The stored form (see the module comment).
    pub fn to_text(&self) -> String {
        let mut out = format!("vmlab-store {}\n", self.version);
        for o in &self.own {
            out.push_str(&format!("own\t{}\t{}\n", escape(&o.name), escape(&o.text)));
        }
        if let Some(c) = &self.current {
            out.push_str(&format!("current\t{}\n", escape(c)));
        }
        if let Some((i, o)) = &self.trash {
            out.push_str(&format!(
                "trash\t{i}\t{}\t{}\n",
                escape(&o.name),
                escape(&o.text)
            ));
        }
        out
    }

    /// Reads the stored form; None if it is not one (a line it does not know included).
    pub fn from_text(doc: &str) -> Option<Store> {
        let mut lines = doc.lines();
        let version = lines.next()?.strip_prefix("vmlab-store ")?.parse().ok()?;
        let mut s = Store {
            version,
            ..Store::default()
        };
        for line in lines.filter(|l| !l.is_empty()) {
            let f: Vec<String> = line.split('\t').map(unescape).collect::<Option<_>>()?;
            match f.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["own", name, text] => s.own.push(Own {
                    name: name.into(),
                    text: text.into(),
                }),
                ["current", name] => s.current = Some(name.into()),
                ["trash", i, name, text] => {
                    s.trash = Some((
                        i.parse().ok()?,
                        Own {
                            name: name.into(),
                            text: text.into(),
                        },
                    ))
                }
                _ => return None,
            }
        }
        Some(s)
    }

    pub fn get(&self, name: &str) -> Option<&Own> {
        self.own.iter().find(|o| o.name == name)
    }

    /// The own scenario whose text is exactly `text`.
    pub fn find_text(&self, text: &str) -> Option<&Own> {
        self.own.iter().find(|o| o.text == text)
    }

    /// `base`, or `base 2`, `base 3`, … whichever is free.
    pub fn unique_name(&self, base: &str) -> String {
        let base = if base.trim().is_empty() {
            "Untitled"
        } else {
            base.trim()
        };
        if self.get(base).is_none() {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base} {n}"))
            .find(|n| self.get(n).is_none())
            .unwrap_or_default()
    }

    /// Adds a new own scenario under a unique name made from `base`; returns the name.
    pub fn add(&mut self, base: &str, text: &str) -> String {
        let name = self.unique_name(base);
        self.own.push(Own {
            name: name.clone(),
            text: text.to_string(),
        });
        name
    }

    /// A text from outside (an import, a share link): the own scenario that already holds it, or
    /// a new one named from `base`. Returns its name.
    pub fn adopt(&mut self, base: &str, text: &str) -> String {
        match self.find_text(text) {
            Some(o) => o.name.clone(),
            None => self.add(base, text),
        }
    }

    /// Saves an edit of the own scenario `name`; false if it does not exist.
    pub fn set_text(&mut self, name: &str, text: &str) -> bool {
        match self.own.iter_mut().find(|o| o.name == name) {
            Some(o) => {
                o.text = text.to_string();
                true
            }
            None => false,
        }
    }

    pub fn delete(&mut self, name: &str) -> bool {
        let Some(i) = self.own.iter().position(|o| o.name == name) else {
            return false;
        };
        let o = self.own.remove(i);
        if self.current.as_deref() == Some(name) {
            self.current = None;
        }
        self.trash = Some((i, o));
        true
    }

    /// Restores the last deleted scenario (under a fresh name if its name was taken since).
    pub fn undo_delete(&mut self) -> Option<String> {
        let (i, mut o) = self.trash.take()?;
        o.name = self.unique_name(&o.name);
        let name = o.name.clone();
        self.own.insert(i.min(self.own.len()), o);
        Some(name)
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

/// The text of an imported file, or why it is refused: a scenario is UTF-8 text with no NUL byte.
pub fn file_text(file_name: &str, bytes: &[u8]) -> Result<String, String> {
    if let Some(i) = bytes.iter().position(|b| *b == 0) {
        return Err(format!(
            "“{file_name}” is not a text file (byte {} is NUL); nothing was changed",
            i + 1
        ));
    }
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        format!(
            "“{file_name}” is not UTF-8 text (byte {} is invalid); nothing was changed",
            e.utf8_error().valid_up_to() + 1
        )
    })
}

/// A name for an imported file: its name without `.vmlab` / `.txt`.
pub fn name_of_file(file_name: &str) -> String {
    let stem = file_name
        .strip_suffix(".vmlab")
        .or_else(|| file_name.strip_suffix(".txt"))
        .unwrap_or(file_name);
    stem.to_string()
}

/// A name for a shared text: its first header comment line made a title as the library makes
/// one (a `file-name:` prefix dropped: `# cow-pss: copy-on-write …` is "Copy-on-write …"),
/// shortened, else "Shared scenario".
pub fn name_of_text(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.strip_prefix('#'))
        .map(str::trim)
        .unwrap_or("");
    // A leading `word:` naming a file (lower case, digits, `-`, `_`, `.`) is the file's name.
    let slug = line.split_once(':').map(|(s, _)| s).filter(|s| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            })
    });
    let first = crate::library::title_of(line, slug.unwrap_or(""));
    if first.is_empty() {
        return "Shared scenario".into();
    }
    let mut s: String = first.chars().take(48).collect();
    if first.chars().count() > 48 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_text_becomes_an_own_scenario() {
        let s = Store::load(None, Some("machine linux ram=1GiB\n"), |_| false);
        assert_eq!(s.own.len(), 1);
        assert_eq!(s.own[0].text, "machine linux ram=1GiB\n");
        assert_eq!(s.current.as_deref(), Some("My scenario"));
        assert_eq!(s.version, VERSION);
        // A library text or an empty slot is not an own scenario.
        assert!(Store::load(None, Some("lib"), |t| t == "lib")
            .own
            .is_empty());
        assert!(Store::load(None, Some("  \n"), |_| false).own.is_empty());
        // Once the document exists the legacy slot is not read again.
        let doc = Store::default().to_text();
        assert!(Store::load(Some(&doc), Some("x"), |_| false).own.is_empty());
    }

    #[test]
    fn a_damaged_document_is_kept_not_dropped() {
        let s = Store::load(Some("{not a store"), None, |_| false);
        assert_eq!(s.own[0].text, "{not a store");
        // A newer version is not read as this one, and not dropped either.
        let newer = "vmlab-store 9\nown\ta\tb\n";
        assert_eq!(Store::load(Some(newer), None, |_| false).own[0].text, newer);
        assert_eq!(
            Store::from_text("vmlab-store 1\nown\ta\\q\tb\n"),
            None,
            "a bad escape"
        );
    }

    #[test]
    fn round_trips_names_are_unique_and_adopt_does_not_duplicate() {
        let mut s = Store::load(None, None, |_| false);
        assert_eq!(s.add("Fork (edited)", "a"), "Fork (edited)");
        assert_eq!(s.add("Fork (edited)", "b"), "Fork (edited) 2");
        assert_eq!(s.adopt("Shared", "a"), "Fork (edited)");
        assert_eq!(s.adopt("Shared", "c"), "Shared");
        assert_eq!(s.own.len(), 3);
        assert!(s.set_text("Shared", "d\\n\ttab\r\n\\ new\nline"));
        assert!(!s.set_text("missing", "d"));
        s.current = Some("we\tird\nname".into());
        s.trash = Some((
            1,
            Own {
                name: "x".into(),
                text: "y\n".into(),
            },
        ));
        assert_eq!(
            s.to_text().lines().count(),
            6,
            "one line per record: {}",
            s.to_text()
        );
        let back = Store::load(Some(&s.to_text()), None, |_| false);
        assert_eq!(back, s);
    }

    #[test]
    fn delete_can_be_undone() {
        let mut s = Store::default();
        s.add("a", "1");
        s.add("b", "2");
        s.current = Some("a".into());
        assert!(s.delete("a"));
        assert_eq!(s.own.len(), 1);
        assert_eq!(s.current, None);
        assert_eq!(s.undo_delete().as_deref(), Some("a"));
        assert_eq!(
            s.own[0],
            Own {
                name: "a".into(),
                text: "1".into()
            }
        );
        assert_eq!(s.undo_delete(), None);
    }

    #[test]
    fn binary_files_are_refused() {
        assert_eq!(
            file_text("a.vmlab", b"spawn p\n").as_deref(),
            Ok("spawn p\n")
        );
        assert!(file_text("a.png", b"\x89PNG\r\n\x1a\n\0\0")
            .unwrap_err()
            .contains("byte 9 is NUL"));
        assert!(file_text("a.bin", b"ok\xff\xfe")
            .unwrap_err()
            .contains("not UTF-8"));
        assert_eq!(name_of_file("fork.vmlab"), "fork");
        assert_eq!(name_of_text("# Fork fails\nmachine linux"), "Fork fails");
        assert_eq!(name_of_text("machine linux"), "Shared scenario");
        // A shared library scenario is named by its header, without the file-name prefix.
        assert_eq!(
            name_of_text("# cow-pss: copy-on-write and PSS, page by page, with the numbers.\n"),
            "Copy-on-write and PSS, page by page, with the nu…"
        );
        assert_eq!(
            name_of_text("# fork-after-merge: a process that cannot fork.\n"),
            "A process that cannot fork"
        );
        assert_eq!(name_of_text("# note: mine\n"), "Mine");
    }
}
