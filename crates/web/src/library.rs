//! The scenario library: every file of `scenarios/`, embedded at build time, with its title,
//! introduction, source links and topic read from its header comment.

mod files {
    include!(concat!(env!("OUT_DIR"), "/library_files.rs"));
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

/// Every scenario, in file-name order.
pub fn entries() -> Vec<Entry> {
    files::FILES
        .iter()
        .map(|(file, text)| entry(file, text))
        .collect()
}

/// Reads a header (the leading `#` comment lines). The introduction is its first paragraph, without
/// a leading `NAME:`; a `topic:` line sets the topic; URLs and kernel source paths anywhere in it
/// (`mm/util.c:__vm_enough_memory`) become links; the title comes from the file name.
pub fn entry(file: &'static str, text: &'static str) -> Entry {
    let header: Vec<&str> = text
        .lines()
        .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim_start().strip_prefix('#'))
        .map(str::trim)
        .collect();
    let stem = file.trim_end_matches(".vmlab");
    let title = humanize(stem);
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
        intro = humanize(rest.trim());
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
    fn reads_a_header() {
        let e = entry(
            "fork-after-merge.vmlab",
            "# Fork fails after two VMAs merge\n# topic: fork\n# Two adjacent mmaps merge.\n# source: https://example.org/can-it-fork.\nmachine linux\n",
        );
        assert_eq!(e.title, "Fork after merge");
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
    }

    #[test]
    fn guesses_a_topic_from_the_name() {
        assert_eq!(entry("vma-gallery.vmlab", "machine linux\n").topic, "VMAs");
        assert_eq!(entry("mode2-malloc.vmlab", "").title, "Mode2 malloc");
    }
}
