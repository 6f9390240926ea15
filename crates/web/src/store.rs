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

impl Store {
    /// Another tab may have written the document since this one read it: `self` is this tab's
    /// store, `base` the document as this tab last read or wrote it, `theirs` the document as it
    /// is stored now. The result keeps every change of both sides, by scenario name:
    /// - a scenario only one side added is kept (the other tab's new scenario is never dropped);
    ///   if both added the same name with different texts, this tab's is renamed (`base 2`);
    /// - a text only one side changed takes that side's text; both changed: this tab's (the last
    ///   writer, as typing in the scenario here is what made this save);
    /// - a deletion holds only if the other side did not change the scenario meanwhile (a changed
    ///   scenario is never lost to a delete made elsewhere).
    ///
    /// `current` and `trash` are this tab's (its own place), the other's trash if this has none.
    /// Returns the merged store and the renames of this tab's scenarios (old name, new name).
    /// O(n²) in the number of own scenarios, a few dozen at most.
    pub fn merge(&self, base: &Store, theirs: &Store) -> (Store, Vec<(String, String)>) {
        let mut out = Store {
            version: VERSION,
            own: Vec::new(),
            current: self.current.clone(),
            trash: self.trash.clone().or_else(|| theirs.trash.clone()),
        };
        let mut renames = Vec::new();
        // Theirs, in their order, with this tab's changes and deletions applied.
        for t in &theirs.own {
            let b = base.get(&t.name);
            match (self.get(&t.name), b) {
                // Both have it: whoever changed it since the base wins; both changed: this tab.
                (Some(o), Some(b)) => out.own.push(if o.text == b.text {
                    t.clone()
                } else {
                    o.clone()
                }),
                // This tab deleted it: gone, unless the other tab changed it meanwhile.
                (None, Some(b)) => {
                    if t.text != b.text {
                        out.own.push(t.clone());
                    }
                }
                // Both added the same name: theirs stays; this tab's follows (renamed if it differs).
                (Some(_), None) | (None, None) => out.own.push(t.clone()),
            }
        }
        // This tab's scenarios the stored document lacks: new here, or deleted by the other tab.
        for o in &self.own {
            if theirs.get(&o.name).is_some() {
                let (Some(t), None) = (theirs.get(&o.name), base.get(&o.name)) else {
                    continue;
                };
                if t.text != o.text {
                    let name = out.unique_name(&o.name);
                    renames.push((o.name.clone(), name.clone()));
                    out.own.push(Own {
                        name,
                        text: o.text.clone(),
                    });
                }
                continue;
            }
            match base.get(&o.name) {
                // Deleted by the other tab, and not changed here since: the delete holds.
                Some(b) if b.text == o.text => {}
                _ => out.own.push(o.clone()),
            }
        }
        for (old, new) in &renames {
            if out.current.as_deref() == Some(old.as_str()) {
                out.current = Some(new.clone());
            }
        }
        (out, renames)
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

    fn store(own: &[(&str, &str)]) -> Store {
        let mut s = Store {
            version: VERSION,
            ..Store::default()
        };
        for (n, t) in own {
            s.own.push(Own {
                name: n.to_string(),
                text: t.to_string(),
            });
        }
        s
    }

    fn names(s: &Store) -> Vec<(&str, &str)> {
        s.own
            .iter()
            .map(|o| (o.name.as_str(), o.text.as_str()))
            .collect()
    }

    /// Two tabs each add a scenario: whichever saves last keeps the other's too (issue 8).
    #[test]
    fn two_tabs_keep_each_others_new_scenarios() {
        let base = store(&[("a", "1")]);
        let mine = store(&[("a", "1"), ("mine", "m")]);
        let theirs = store(&[("a", "1"), ("theirs", "t")]);
        let (m, renames) = mine.merge(&base, &theirs);
        assert_eq!(names(&m), [("a", "1"), ("theirs", "t"), ("mine", "m")]);
        assert!(renames.is_empty());
        // The same name added on both sides with different texts: both kept, this tab's renamed.
        let mut mine = store(&[("a", "1"), ("X (edited)", "m")]);
        mine.current = Some("X (edited)".into());
        let theirs = store(&[("a", "1"), ("X (edited)", "t")]);
        let (m, renames) = mine.merge(&base, &theirs);
        assert_eq!(
            names(&m),
            [("a", "1"), ("X (edited)", "t"), ("X (edited) 2", "m")]
        );
        assert_eq!(
            renames,
            [("X (edited)".to_string(), "X (edited) 2".to_string())]
        );
        assert_eq!(m.current.as_deref(), Some("X (edited) 2"));
        // … and with the same text, one.
        let (m, _) = store(&[("n", "s")]).merge(&Store::default(), &store(&[("n", "s")]));
        assert_eq!(names(&m), [("n", "s")]);
    }

    #[test]
    fn edits_and_deletes_merge_by_who_changed_what() {
        let base = store(&[("a", "1"), ("b", "2"), ("c", "3")]);
        // Here: a edited, c deleted. There: b edited, c edited, a untouched.
        let mine = store(&[("a", "1 mine"), ("b", "2")]);
        let theirs = store(&[("a", "1"), ("b", "2 theirs"), ("c", "3 theirs")]);
        let (m, _) = mine.merge(&base, &theirs);
        assert_eq!(
            names(&m),
            [("a", "1 mine"), ("b", "2 theirs"), ("c", "3 theirs")],
            "a deletion never drops what the other tab changed"
        );
        // There: b deleted. Here b untouched: the delete holds; here b edited: it is kept.
        let theirs = store(&[("a", "1"), ("c", "3")]);
        let (m, _) = store(&[("a", "1"), ("b", "2"), ("c", "3")]).merge(&base, &theirs);
        assert_eq!(names(&m), [("a", "1"), ("c", "3")]);
        let (m, _) = store(&[("a", "1"), ("b", "2 mine"), ("c", "3")]).merge(&base, &theirs);
        assert_eq!(names(&m), [("a", "1"), ("c", "3"), ("b", "2 mine")]);
        // Nothing changed anywhere: the same store.
        assert_eq!(base.merge(&base, &base).0, base);
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
