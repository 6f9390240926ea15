//! `cargo xtask tidy`: the repository rules no compiler checks. Every .rs file opens with a `//!`
//! line saying what it owns, vmlab-core depends on nothing but serde (so it stays pure, with
//! no I/O, and builds for wasm32), and vmlab-web does not depend on vmlab-os.

use std::path::{Path, PathBuf};

/// Directories that hold no project source.
const SKIP: &[&str] = &[
    "target",
    ".git",
    ".tools",
    "node_modules",
    "dist",
    "fuzz/target",
    "fuzz/corpus",
];

pub fn tidy(root: &Path) -> Result<usize, String> {
    let mut files = Vec::new();
    walk(root, root, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for f in &files {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("reading {}: {e}", f.display()))?;
        if !text.starts_with("//!") {
            problems.push(format!(
                "{}: does not open with a `//!` line saying what it owns",
                rel(root, f)
            ));
        }
    }
    problems.extend(core_deps(root)?);
    problems.extend(web_never_os(root)?);
    if problems.is_empty() {
        Ok(files.len())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

fn rel(root: &Path, f: &Path) -> String {
    f.strip_prefix(root).unwrap_or(f).display().to_string()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let r = rel(root, &p);
        if SKIP
            .iter()
            .any(|s| r == *s || r.ends_with(&format!("/{s}")))
        {
            continue;
        }
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// vmlab-web never depends on vmlab-os, in any table (ARCHITECTURE.md: the web app runs the
/// simulator only; the real backend is syscalls).
fn web_never_os(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join("crates/web/Cargo.toml");
    // A tree without the web crate has nothing to check.
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| {
            let l = l.trim();
            l.starts_with("vmlab-os") || l.contains("crates/os")
        })
        .map(|l| {
            format!(
                "crates/web/Cargo.toml: `{}`: web never depends on vmlab-os",
                l.trim()
            )
        })
        .collect())
}

/// The dependency tables of crates/core/Cargo.toml may name serde only (dev-dependencies are free).
fn core_deps(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join("crates/core/Cargo.toml");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut problems = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
            // `[dependencies.foo]` names a dependency in its header.
            if let Some(name) = section.strip_prefix("dependencies.") {
                if name != "serde" {
                    problems.push(format!("crates/core/Cargo.toml: dependency `{name}`: vmlab-core may depend on serde only"));
                }
            }
            continue;
        }
        let is_deps = section == "dependencies"
            || section == "build-dependencies"
            || (section.starts_with("target.") && section.ends_with(".dependencies"));
        if !is_deps || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split(['=', ' ', '.']).next().unwrap_or("").trim();
        if name != "serde" {
            problems.push(format!(
                "crates/core/Cargo.toml [{section}]: `{name}`: vmlab-core may depend on serde only"
            ));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, core_toml: &str, rs: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vmlab-tidy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("crates/core/src")).unwrap();
        std::fs::write(dir.join("crates/core/Cargo.toml"), core_toml).unwrap();
        std::fs::write(dir.join("crates/core/src/lib.rs"), rs).unwrap();
        dir
    }

    #[test]
    fn accepts_a_tidy_tree() {
        let dir = tmp("ok", "[package]\nname = \"x\"\n[dependencies]\nserde = { workspace = true }\n[dev-dependencies]\nserde_json = \"1\"\n", "//! ok\n");
        assert_eq!(tidy(&dir), Ok(1));
    }

    #[test]
    fn rejects_a_missing_doc_line_and_an_io_dependency() {
        let dir = tmp("bad", "[dependencies]\nserde = \"1\"\nrand = \"0.8\"\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n", "fn main() {}\n");
        let err = tidy(&dir).unwrap_err();
        assert!(err.contains("3 problem(s)"), "{err}");
        assert!(err.contains("lib.rs: does not open"), "{err}");
        assert!(err.contains("`rand`"), "{err}");
        assert!(err.contains("`libc`"), "{err}");
    }

    #[test]
    fn rejects_web_depending_on_os() {
        let dir = tmp("web-os", "[dependencies]\nserde = \"1\"\n", "//! ok\n");
        std::fs::create_dir_all(dir.join("crates/web")).unwrap();
        std::fs::write(
            dir.join("crates/web/Cargo.toml"),
            "[dependencies]\nvmlab-os = { path = \"../os\" }\n",
        )
        .unwrap();
        let err = tidy(&dir).unwrap_err();
        assert!(err.contains("web never depends on vmlab-os"), "{err}");
    }
}
