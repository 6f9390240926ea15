//! Running commands from xtask: the repository root, a PATH that includes the project's tools, no
//! standard input (CI has none), and errors that name the command that failed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Ctx {
    pub root: PathBuf,
    /// PATH with `.tools/node_modules/.bin` (wasm-opt) and cargo's bin directory (trunk,
    /// wasm-bindgen) in front, so that a fresh shell's PATH is enough.
    pub path: OsString,
}

impl Ctx {
    pub fn new() -> Ctx {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or(manifest);
        let mut dirs = vec![root.join(".tools/node_modules/.bin"), cargo_bin()];
        if let Some(p) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        let path = std::env::join_paths(dirs).unwrap_or_default();
        Ctx { root, path }
    }

    /// A command in the repository root with the project's PATH and no standard input.
    pub fn cmd(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .current_dir(&self.root)
            .env("PATH", &self.path)
            .stdin(Stdio::null());
        c
    }

    /// Runs a command to completion, its output going to ours.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        run_cmd(&mut self.cmd(program, args))
    }

    /// The first line a command prints on stdout, or None if it cannot be run or fails.
    pub fn first_line(&self, program: &str, args: &[&str]) -> Option<String> {
        let out = self
            .cmd(program, args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(|l| l.trim().to_string())
    }
}

pub fn run_cmd(c: &mut Command) -> Result<(), String> {
    let mut shown = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        shown.push(' ');
        shown.push_str(&a.to_string_lossy());
    }
    eprintln!("$ {shown}");
    match c.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{shown}` failed: {s}")),
        Err(e) => Err(format!("could not start `{shown}`: {e}")),
    }
}

fn cargo_bin() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home).join("bin");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cargo/bin")
}

/// The version of a package pinned in Cargo.lock.
pub fn locked_version(root: &Path, package: &str) -> Result<String, String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let want = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == want {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err(format!("Cargo.lock has no package {package}"))
}
