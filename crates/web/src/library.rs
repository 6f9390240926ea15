//! The scenario library: every file of `scenarios/`, with its title, introduction, source links
//! and topic read from its header comment.
//!
//! The texts are not in the wasm: they are content, not code, and the wasm has a 500 KB gzipped
//! budget (issue 8). Trunk's build hook (`cargo xtask library`, crates/web/library_bundle.rs)
//! writes them as one file, `library.txt`, beside the wasm; main.rs fetches it (index.html
//! preloads it beside the wasm) and `install`s it before the app mounts. Tests `install_embedded`
//! the same file, which build.rs writes into OUT_DIR.

use std::sync::OnceLock;

/// U+001E, which starts each file's record in `library.txt` (library_bundle.rs writes it).
const SEPARATOR: char = '\u{1e}';

/// The installed library: (file name, text) in file-name order.
static FILES: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();

/// Splits a `library.txt` into its (file name, text) records.
pub fn parse_bundle(bundle: &str) -> Result<Vec<(&str, &str)>, String> {
    if bundle.is_empty() {
        return Ok(Vec::new());
    }
    let rest = bundle
        .strip_prefix(SEPARATOR)
        .ok_or("library.txt does not start with a record separator (U+001E)")?;
    rest.split(SEPARATOR)
        .map(|record| {
            record
                .split_once('\n')
                .filter(|(name, _)| name.ends_with(".vmlab"))
                .ok_or_else(|| {
                    format!(
                        "library.txt: a record does not start with a `.vmlab` file name: {:?}",
                        record.chars().take(40).collect::<String>()
                    )
                })
        })
        .collect()
}

/// Installs the library the app shows (once; a second call changes nothing and says so).
pub fn install(bundle: &'static str) -> Result<usize, String> {
    let files = parse_bundle(bundle)?;
    let n = files.len();
    FILES
        .set(files)
        .map_err(|_| "the library is already installed".to_string())?;
    Ok(n)
}

/// The copy of `library.txt` that build.rs wrote, for tests and for builds without the fetched
/// file. Only what calls this links it, so the app's wasm does not carry the texts.
pub fn embedded() -> &'static str {
    include_str!(concat!(env!("OUT_DIR"), "/library.txt"))
}

/// Installs the embedded copy unless a library is installed already.
pub fn install_embedded() {
    FILES.get_or_init(|| {
        parse_bundle(embedded()).unwrap_or_else(|e| panic!("the embedded library.txt: {e}"))
    });
}

fn files() -> &'static [(&'static str, &'static str)] {
    #[cfg(test)]
    install_embedded();
    FILES.get().map_or(&[], Vec::as_slice)
}

/// The topics, in the order the library shows them.
pub const TOPICS: &[&str] = &[
    "Overcommit",
    "Fork and COW",
    "VMAs",
    "OOM",
    "cgroups",
    "Windows",
    "Other",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub file: &'static str,
    pub title: String,
    pub intro: String,
    pub links: Vec<String>,
    pub topic: &'static str,
    pub text: &'static str,
}

/// Every scenario of the installed library, in file-name order (none before `install`).
pub fn entries() -> Vec<Entry> {
    files()
        .iter()
        .map(|(file, text)| entry(file, text))
        .collect()
}

/// Reads a header (the leading `#` comment lines). The introduction is its first paragraph, without
/// a leading `NAME:`; a `topic:` line sets the topic; URLs and kernel source paths anywhere in it
/// (`mm/util.c:__vm_enough_memory`) become links; the title is the header's first line (see
/// `title_of`), and only a scenario without a header is named after its file.
pub fn entry(file: &'static str, text: &'static str) -> Entry {
    let header: Vec<&str> = text
        .lines()
        .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim_start().strip_prefix('#'))
        .map(str::trim)
        .collect();
    let stem = file.trim_end_matches(".vmlab");
    let title = header
        .iter()
        .find(|l| !l.is_empty())
        .map(|l| title_of(l, stem))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| humanize(stem));
    let mut intro: Vec<&str> = Vec::new();
    let mut links: Vec<String> = Vec::new();
    let mut topic = None;
    let mut in_first_paragraph = true;
    for l in header.iter() {
        let lower = l.to_ascii_lowercase();
        if let Some(t) = lower.strip_prefix("topic:") {
            topic = TOPICS
                .iter()
                .copied()
                .find(|x| x.to_ascii_lowercase().starts_with(t.trim()));
            continue;
        }
        // `real: yes` marks a scenario the harness runs on a real kernel
        // (docs/scenario-language.md); it is a directive, not part of the introduction.
        if lower.starts_with("real:") {
            continue;
        }
        for word in l.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
            let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | '.' | '"'));
            let link = if word.starts_with("http://") || word.starts_with("https://") {
                Some(word.to_string())
            } else {
                kernel_source_link(word)
            };
            if let Some(link) = link.filter(|l| !links.contains(l)) {
                links.push(link);
            }
        }
        if l.is_empty() {
            in_first_paragraph = intro.is_empty();
        } else if in_first_paragraph {
            intro.push(l);
        }
    }
    let mut intro = intro.join(" ");
    if let Some(rest) = intro.strip_prefix(stem).and_then(|r| r.strip_prefix(':')) {
        intro = capitalize(rest.trim());
    }
    let topic =
        topic.unwrap_or_else(|| guess_topic(&format!("{stem} {title}").to_ascii_lowercase()));
    Entry {
        file,
        title,
        intro,
        links,
        topic,
        text,
    }
}

/// `mm/util.c:__vm_enough_memory` or `kernel/fork.c` → a link to that file in the kernel's source.
fn kernel_source_link(word: &str) -> Option<String> {
    let file = word.split(':').next().unwrap_or("");
    let dir_ok = [
        "mm/",
        "kernel/",
        "fs/",
        "ipc/",
        "include/",
        "Documentation/",
    ]
    .iter()
    .any(|d| file.starts_with(d));
    let ext_ok = [".c", ".h", ".rst"].iter().any(|x| file.ends_with(x));
    (dir_ok && ext_ok).then(|| format!("https://elixir.bootlin.com/linux/latest/source/{file}"))
}

/// Titles longer than this are cut at their last `, ` or `; ` before it.
const TITLE_CHARS_MAX: usize = 64;

/// A library title from a header's first line, its words as written: `# cow-pss: copy-on-write
/// and PSS, page by page, with the numbers measured on Linux 6.18.` → `Copy-on-write and PSS, page
/// by page`. The `NAME:` prefix and a closing period go; a long line is cut at a clause boundary.
pub fn title_of(line: &str, stem: &str) -> String {
    let line = line.trim();
    let line = line
        .strip_prefix(stem)
        .and_then(|r| r.strip_prefix(':'))
        .unwrap_or(line)
        .trim();
    let mut t = line.trim_end_matches('.').trim_end();
    if t.chars().count() > TITLE_CHARS_MAX {
        let limit = t
            .char_indices()
            .nth(TITLE_CHARS_MAX)
            .map_or(t.len(), |(i, _)| i);
        if let Some(cut) = t[..limit].rfind(", ").or_else(|| t[..limit].rfind("; ")) {
            t = &t[..cut];
        }
    }
    capitalize(t)
}

/// Capitalises the first letter unless the first word is an identifier (`overcommit_memory=1`,
/// `vfork`, `/proc/PID/oom_score`), which is shown as written.
fn capitalize(s: &str) -> String {
    const CALLS: &[&str] = &[
        "vfork", "fork", "malloc", "mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
    ];
    let first = s.split_whitespace().next().unwrap_or("");
    if is_identifier(first) || CALLS.contains(&first) {
        return s.to_string();
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A word that names something in code or the kernel and is shown as written, in code style:
/// it has an `_`, `=`, `/` or an inner `.` (`vm.overcommit_memory`, `MAP_NORESERVE`,
/// `/proc/meminfo`), or a capital after a lower-case letter (`CommitLimit`, `VmRSS`).
pub fn is_identifier(word: &str) -> bool {
    let w = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';' | ':' | '"' | '`'));
    let w = w.strip_suffix('.').unwrap_or(w);
    if w.is_empty() || w.starts_with("http") {
        return false;
    }
    // `vm.swappiness`, not `e.g` or `6.18`.
    let parts: Vec<&str> = w.split('.').collect();
    let inner_dot = parts.len() > 1
        && parts.iter().all(|p| p.len() >= 2)
        && w.chars().any(|c| c.is_ascii_alphabetic());
    let camel = w
        .as_bytes()
        .windows(2)
        .any(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase());
    w.contains(['_', '=', '/']) || inner_dot || camel
}

/// A text split into plain words and identifiers (`is_identifier`), whitespace and the punctuation
/// around an identifier kept in the plain parts, for showing identifiers in code style.
pub fn code_spans(text: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut push = |code: bool, s: &str| match out.last_mut() {
        Some((c, last)) if *c == code && !code => last.push_str(s),
        _ if s.is_empty() => {}
        _ => out.push((code, s.to_string())),
    };
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            push(false, " ");
        }
        if is_identifier(word) {
            let start = word
                .find(|c: char| !matches!(c, '(' | '"' | '`'))
                .unwrap_or(0);
            let mut end = word
                .rfind(|c: char| !matches!(c, ')' | ',' | ';' | ':' | '"' | '`' | '.'))
                .map_or(word.len(), |i| {
                    i + word[i..].chars().next().map_or(1, char::len_utf8)
                });
            // `vm.overcommit_memory.` ends a sentence: the last dot is punctuation, not the name.
            if end < start {
                end = word.len();
            }
            push(false, &word[..start]);
            push(true, &word[start..end]);
            push(false, &word[end..]);
        } else {
            push(false, word);
        }
    }
    out
}

/// `fork-after-merge` → `Fork after merge`.
fn humanize(stem: &str) -> String {
    let words = stem.replace(['-', '_'], " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => words,
    }
}

fn guess_topic(s: &str) -> &'static str {
    if s.contains("windows") {
        "Windows"
    } else if s.contains("cgroup") {
        "cgroups"
    } else if s.contains("oom") {
        "OOM"
    } else if s.contains("fork") || s.contains("cow") || s.contains("pss") || s.contains("redis") {
        "Fork and COW"
    } else if s.contains("vma") || s.contains("merge") || s.contains("map_count") {
        "VMAs"
    } else if s.contains("commit") || s.contains("mode") || s.contains("malloc") {
        "Overcommit"
    } else {
        "Other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_every_scenario_file_in_name_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("scenarios/")
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".vmlab"))
            .collect();
        names.sort();
        let files = parse_bundle(embedded()).expect("build.rs writes a well-formed bundle");
        let got: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(got, names);
        for (name, text) in files {
            let on_disk = std::fs::read_to_string(format!("{dir}/{name}")).expect("readable");
            assert_eq!(
                text, on_disk,
                "{name}: the bundle's text differs from the file"
            );
        }
        assert!(entries().len() == names.len());
    }

    #[test]
    fn a_malformed_bundle_is_refused() {
        assert_eq!(parse_bundle(""), Ok(Vec::new()));
        assert!(parse_bundle("machine linux\n").is_err());
        assert!(parse_bundle("\u{1e}notes.txt\nhello").is_err());
        assert!(parse_bundle("\u{1e}a.vmlab").is_err());
        assert_eq!(
            parse_bundle("\u{1e}a.vmlab\nspawn a\n\u{1e}b.vmlab\n"),
            Ok(vec![("a.vmlab", "spawn a\n"), ("b.vmlab", "")])
        );
    }

    #[test]
    fn reads_a_header() {
        let e = entry(
            "fork-after-merge.vmlab",
            "# Fork fails after two VMAs merge\n# topic: fork\n# Two adjacent mmaps merge.\n# source: https://example.org/can-it-fork.\nmachine linux\n",
        );
        assert_eq!(e.title, "Fork fails after two VMAs merge");
        assert_eq!(e.topic, "Fork and COW");
        assert_eq!(e.links, vec!["https://example.org/can-it-fork".to_string()]);
        assert!(
            e.intro
                .starts_with("Fork fails after two VMAs merge Two adjacent mmaps merge."),
            "{}",
            e.intro
        );
    }

    #[test]
    fn the_real_marker_is_not_part_of_the_introduction() {
        let e = entry(
            "fork-after-merge.vmlab",
            "# fork-after-merge: a process that cannot fork.\n# real: yes\n#\n# More.\nmachine linux\n",
        );
        assert_eq!(e.intro, "A process that cannot fork.");
        assert_eq!(e.title, "A process that cannot fork");
    }

    #[test]
    fn titles_come_from_the_header_line_with_identifiers_as_written() {
        let t = |line: &str, stem: &str| title_of(line, stem);
        assert_eq!(
            t(
                "cow-pss: copy-on-write and PSS, page by page, with the numbers measured on Linux 6.18.",
                "cow-pss"
            ),
            "Copy-on-write and PSS, page by page"
        );
        assert_eq!(
            t(
                "fork-escape-mode1: overcommit_memory=1 lets the big merged VMA fork.",
                "fork-escape-mode1"
            ),
            "overcommit_memory=1 lets the big merged VMA fork"
        );
        assert_eq!(
            t("fork-vfork: vfork works where fork fails, because it copies (and charges) nothing.", "fork-vfork"),
            "vfork works where fork fails"
        );
        assert_eq!(
            t(
                "commit-costs: what raises Committed_AS, row by row (the model-spec L4 table).",
                "commit-costs"
            ),
            "What raises Committed_AS, row by row (the model-spec L4 table)"
        );
        // An intro keeps its identifiers as written (it read "Committed AS" and "MAP NORESERVE").
        let e = entry(
            "fork-escape-noreserve.vmlab",
            "# fork-escape-noreserve: MAP_NORESERVE memory is not charged to Committed_AS.\nmachine linux\n",
        );
        assert_eq!(
            e.intro,
            "MAP_NORESERVE memory is not charged to Committed_AS."
        );
        assert_eq!(
            e.title,
            "MAP_NORESERVE memory is not charged to Committed_AS"
        );
    }

    #[test]
    fn every_library_title_is_from_its_header() {
        for e in entries() {
            let stem = e.file.trim_end_matches(".vmlab");
            assert_ne!(
                e.title,
                humanize(stem),
                "{}: a title made from the file name",
                e.file
            );
            assert!(
                !e.title.contains(&format!("{stem}:")),
                "{}: {}",
                e.file,
                e.title
            );
        }
    }

    #[test]
    fn identifiers_are_told_from_words() {
        for w in [
            "Committed_AS",
            "MAP_NORESERVE",
            "vm.overcommit_memory",
            "/proc/PID/oom_score",
            "CommitLimit",
            "VmRSS",
            "overcommit_memory=1",
            "(Committed_AS),",
        ] {
            assert!(is_identifier(w), "{w}");
        }
        for w in [
            "RAM",
            "PSS",
            "fork",
            "free.",
            "6.18",
            "Copy-on-write",
            "e.g",
            "https://example.org/a_b",
        ] {
            assert!(!is_identifier(w), "{w}");
        }
        assert_eq!(
            code_spans("charged to Committed_AS, not (MAP_NORESERVE)."),
            vec![
                (false, "charged to ".to_string()),
                (true, "Committed_AS".to_string()),
                (false, ", not (".to_string()),
                (true, "MAP_NORESERVE".to_string()),
                (false, ").".to_string()),
            ]
        );
    }

    #[test]
    fn guesses_a_topic_from_the_name() {
        assert_eq!(entry("vma-gallery.vmlab", "machine linux\n").topic, "VMAs");
        // Only a scenario without a header is named after its file.
        assert_eq!(entry("mode2-malloc.vmlab", "").title, "Mode2 malloc");
    }
}
