//! `cargo xtask tidy`: the repository rules no compiler checks. Every .rs file opens with a `//!`
//! line saying what it owns, vmlab-core depends on nothing but serde (so it stays pure, with
//! no I/O, and builds for wasm32), vmlab-web does not depend on vmlab-os, and nothing outside
//! `crates/core/src/linux/` names the Linux model's internals (everything talks to `Machine`).

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
        problems.extend(seam(&rel(root, f), &text));
        problems.extend(windows_seam(&rel(root, f), &text));
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

/// What names the Linux model's internals: its machine type, a path into `vmlab_core::linux`
/// (from any crate) or `crate::linux` / `super::linux` (inside vmlab-core, where `crate` is the
/// core; vmlab-os has a `linux` module of its own), and the white-box accessor `as_linux`.
const LINUX_INTERNALS: &[&str] = &[
    "LinuxMachine",
    "vmlab_core::linux",
    "as_linux(",
    "crate::linux",
    "super::linux",
];

/// Where the Linux model's internals may be named outside `crates/core/src/linux/`: (path, or
/// folder ending in `/`; the text the line must contain, empty for any; why).
const SEAM_ALLOW: &[(&str, &str, &str)] = &[
    (
        "crates/core/src/machine.rs",
        "",
        "the seam itself: it boots the Linux model and dispatches every call to it",
    ),
    (
        "crates/core/tests/",
        "as_linux(",
        "white-box tests of the Linux model read its own ledger, mms and indexes",
    ),
    (
        "crates/core/benches/",
        "as_linux(",
        "the benches print the Linux model's own sizes (VMAs, page-table runs)",
    ),
    (
        "crates/core/src/scenario/parse/expect.rs",
        "crate::linux::vma::flag_code_names",
        "`expect … VmFlags` codes are checked against the kernel's table of smaps codes \
         (fs/proc/task_mmu.c: show_smap_vma_flags): a kernel table, not machine state",
    ),
    (
        "crates/core/src/scenario/fields.rs",
        "crate::linux::memcg::",
        "`expect cgroup …` checks a file and key against the kernel's tables of memcg files \
         (mm/memcontrol.c, memcontrol-v1.c): kernel tables, not machine state",
    ),
    (
        "crates/core/src/scenario/parse/cgroup.rs",
        "crate::linux::memcg::",
        "cgroup lines are checked against the same tables of memcg files per hierarchy",
    ),
    (
        "crates/core/src/scenario/parse/kube.rs",
        "crate::linux::k8s::",
        "`kube` lines expand by the kubelet's pure formulas (QoS class, policy.go's \
         oom_score_adj, the cgroup layout) into cgroup and spawn operations",
    ),
    (
        "crates/web/src/engine.rs",
        "vmlab_core::linux::vma::flag_code_names",
        "the flag table's test checks it explains every smaps code of the same kernel table",
    ),
    (
        "crates/os/src/check.rs",
        "vmlab_core::linux::vma::flag_code_names",
        "the harness compares only the smaps codes the model knows: the same kernel table",
    ),
    (
        "crates/os/src/helper.rs",
        "vmlab_core::linux::mm::MMAP_BASE",
        "the helper puts its own mappings in the THP phase of the model's mmap_base, a \
         kernel layout constant",
    ),
    (
        "xtask/src/tidy.rs",
        "",
        "this check's own patterns and tests",
    ),
];

/// What names the Windows model's internals (its machine type, its state modules and the
/// white-box accessor `as_windows`); its vocabulary (`windows::op`, `windows::event`,
/// `windows::query`) is public like `crate::op`.
const WINDOWS_INTERNALS: &[&str] = &[
    "WindowsMachine",
    "as_windows(",
    "windows::space",
    "windows::system",
    "windows::alloc",
    "windows::fault",
    "windows::section",
    "windows::job",
    "windows::report",
];

/// Lines outside `crates/core/src/windows/` (and the seam, `machine.rs`, and this check) that
/// name the Windows model's internals: everything else talks to `Machine`, or reads the
/// model through `Machine::as_windows()` in the core's tests and benches.
fn windows_seam(rel: &str, text: &str) -> Vec<String> {
    if rel.starts_with("crates/core/src/windows/")
        || rel == "crates/core/src/machine.rs"
        || rel == "xtask/src/tidy.rs"
    {
        return Vec::new();
    }
    // The core's white-box tests and benches may read the model through `as_windows()`
    // (and only that way), as they read the Linux one through `as_linux()`.
    let white_box =
        rel.starts_with("crates/core/tests/") || rel.starts_with("crates/core/benches/");
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            WINDOWS_INTERNALS
                .iter()
                .filter(|p| !(white_box && **p == "as_windows("))
                .any(|p| l.contains(p))
        })
        .map(|(i, _)| {
            format!(
                "{rel}:{}: names the Windows model's internals: talk to `Machine` (ARCHITECTURE.md, \"the OS seam\")",
                i + 1
            )
        })
        .collect()
}

/// Lines of one file (path relative to the root) that name the Linux model's internals
/// outside `crates/core/src/linux/` and are not in [`SEAM_ALLOW`].
fn seam(rel: &str, text: &str) -> Vec<String> {
    if rel.starts_with("crates/core/src/linux/") {
        return Vec::new();
    }
    let in_core = rel.starts_with("crates/core/");
    let allowed = |line: &str| {
        SEAM_ALLOW.iter().any(|(path, needle, _)| {
            let path_ok = if path.ends_with('/') {
                rel.starts_with(path)
            } else {
                rel == *path
            };
            path_ok && line.contains(needle)
        })
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut hits: Vec<&str> = LINUX_INTERNALS
            .iter()
            .copied()
            .filter(|p| in_core || !(p.starts_with("crate::") || p.starts_with("super::")))
            .filter(|p| line.contains(p))
            .collect();
        // `use vmlab_core::{linux, …}` and, in the core, `use crate::{linux::…, …}`.
        let groups: &[&str] = if in_core {
            &["vmlab_core::{", "crate::{"]
        } else {
            &["vmlab_core::{"]
        };
        for g in groups {
            if line.contains(g) && group_names_linux(text, i, g) {
                hits.push("a `{…}` import of `linux`");
            }
        }
        if hits.is_empty() || allowed(line) {
            continue;
        }
        out.push(format!(
            "{rel}:{}: names the Linux model's internals ({}): talk to `Machine` \
             (ARCHITECTURE.md, \"the OS seam\"), or allow it in xtask/src/tidy.rs: SEAM_ALLOW with a reason",
            i + 1,
            hits.join(", ")
        ));
    }
    out
}

/// Whether the brace group that opens after `group` on line `line` names `linux` at its top level
/// (the group may span lines).
fn group_names_linux(text: &str, line: usize, group: &str) -> bool {
    let offset: usize = text.lines().take(line).map(|l| l.len() + 1).sum();
    let Some(at) = text[offset..].find(group) else {
        return false;
    };
    let body = &text[offset + at + group.len()..];
    let (mut depth, mut word) = (0u32, String::new());
    for c in body.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if depth == 0 && word == "linux" {
            return true;
        }
        word.clear();
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return false,
            '}' => depth -= 1,
            _ => {}
        }
    }
    false
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
    fn the_windows_seam_check_finds_the_windows_model_named_outside_windows() {
        let bad = |rel: &str, text: &str| windows_seam(rel, text).len();
        assert_eq!(
            bad("crates/web/src/x.rs", "fn f(m: &WindowsMachine) {}\n"),
            1
        );
        assert_eq!(
            bad(
                "crates/core/src/sim.rs",
                "use crate::windows::space::Page;\n"
            ),
            1
        );
        assert_eq!(
            bad(
                "crates/core/src/windows/mod.rs",
                "pub struct WindowsMachine;\n"
            ),
            0
        );
        assert_eq!(
            bad(
                "crates/core/src/machine.rs",
                "Windows(Box<WindowsMachine>),\n"
            ),
            0
        );
        // The vocabulary is public.
        assert_eq!(
            bad(
                "crates/cli/src/x.rs",
                "use vmlab_core::windows::op::WinOp;\n"
            ),
            0
        );
        // The white-box accessor: in the core's tests and benches only.
        let peek = "let w = m.as_windows().expect(\"windows\");\n";
        assert_eq!(bad("crates/web/src/engine.rs", peek), 1);
        assert_eq!(bad("crates/cli/src/main.rs", peek), 1);
        assert_eq!(bad("crates/core/src/sim.rs", peek), 1);
        assert_eq!(bad("crates/core/tests/spec_w.rs", peek), 0);
        assert_eq!(bad("crates/core/benches/win.rs", peek), 0);
        assert_eq!(
            bad(
                "crates/core/tests/spec_w.rs",
                "fn f(m: &WindowsMachine) {}\n"
            ),
            1
        );
    }

    #[test]
    fn the_seam_check_finds_the_linux_model_named_outside_linux() {
        let bad = |rel: &str, text: &str| seam(rel, text).len();
        assert_eq!(
            bad("crates/core/src/sim.rs", "use crate::linux::pages::Pte;\n"),
            1
        );
        assert_eq!(
            bad(
                "crates/core/src/linux/mod.rs",
                "use crate::linux::pages::Pte;\n"
            ),
            0
        );
        assert_eq!(bad("crates/web/src/x.rs", "fn f(m: &LinuxMachine) {}\n"), 1);
        assert_eq!(
            bad(
                "crates/cli/src/x.rs",
                "let p = vmlab_core::linux::FIRST_PID;\n"
            ),
            1
        );
        assert_eq!(bad("crates/cli/src/x.rs", "let l = m.as_linux();\n"), 1);
        assert_eq!(
            bad(
                "crates/os/src/x.rs",
                "use vmlab_core::{\n    linux::ProcState,\n    op::Op,\n};\n"
            ),
            1
        );
        assert_eq!(
            bad(
                "crates/os/src/x.rs",
                "use vmlab_core::{op::{Op, linux}, sim};\n"
            ),
            0
        );
        assert_eq!(
            bad("crates/core/src/x.rs", "use crate::{config, linux};\n"),
            1
        );
        // vmlab-os's own `linux` module is not the model.
        assert_eq!(
            bad("crates/os/src/lib.rs", "use crate::linux::RealLock;\n"),
            0
        );
        // An allowed line is allowed in its own file only, and only that use of the model.
        let table = "let k = crate::linux::vma::flag_code_names();\n";
        assert_eq!(bad("crates/core/src/scenario/parse/expect.rs", table), 0);
        assert_eq!(bad("crates/core/src/scenario/parse/ops.rs", table), 1);
        assert_eq!(
            bad(
                "crates/core/src/scenario/parse/expect.rs",
                "use crate::linux::ProcState;\n"
            ),
            1
        );
        assert_eq!(
            bad("crates/core/tests/sweep.rs", "m.as_linux().unwrap()\n"),
            0
        );
        assert_eq!(
            bad(
                "crates/core/tests/sweep.rs",
                "vmlab_core::linux::ProcState\n"
            ),
            1
        );
        let found = seam(
            "crates/web/src/engine.rs",
            "\n\nuse vmlab_core::linux::ProcState;\n",
        );
        assert!(
            found[0].starts_with("crates/web/src/engine.rs:3: names"),
            "{found:?}"
        );
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
