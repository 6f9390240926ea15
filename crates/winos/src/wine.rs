//! The Linux side: start `vmlab-win-helper.exe` under Wine, drive it one request at a time, and
//! read the Wine process's `/proc/PID/smaps` (a Wine process is a Linux process, so the kernel
//! shows what Wine made of a reservation or a commit).
//!
//! Where things are comes from the environment `cargo xtask test` sets (xtask/src/setup.rs makes
//! them): `VMLAB_WIN_HELPER` (the exe), `WINEPREFIX` (a prefix under target/, made once by
//! wineboot), `VMLAB_WINE_DLLS` (the directory holding the bcryptprimitives.dll stub, put on
//! `WINEPATH`).

use crate::protocol::{Request, Response, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// How long one request may take before the helper is declared hung.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct WineSetup {
    pub exe: PathBuf,
    pub prefix: PathBuf,
    pub dll_dir: PathBuf,
}

impl WineSetup {
    /// From `VMLAB_WIN_HELPER`, `WINEPREFIX` and `VMLAB_WINE_DLLS`; an error names what is
    /// missing and how to get it.
    pub fn from_env() -> Result<WineSetup, String> {
        let var = |k: &str| {
            std::env::var_os(k).map(PathBuf::from).ok_or_else(|| {
                format!(
                    "{k} is not set: the Wine tests run from `cargo xtask test` (its stage \
                     \"Windows backend under Wine\"), which builds the exe and the prefix"
                )
            })
        };
        let s = WineSetup {
            exe: var("VMLAB_WIN_HELPER")?,
            prefix: var("WINEPREFIX")?,
            dll_dir: var("VMLAB_WINE_DLLS")?,
        };
        for p in [&s.exe, &s.prefix, &s.dll_dir] {
            if !p.exists() {
                return Err(format!("{} does not exist", p.display()));
            }
        }
        Ok(s)
    }

    /// `Z:\dir\…`: how a Wine process names a Linux path (Wine maps `Z:` to `/`).
    pub fn wine_path(p: &std::path::Path) -> String {
        format!("Z:{}", p.display()).replace('/', "\\")
    }

    /// The environment every Wine command of the project runs with.
    pub fn apply_env(&self, c: &mut Command) {
        c.env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko install prompts (shared/toolchain.md).
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("WINEPATH", Self::wine_path(&self.dll_dir));
    }
}

/// A running helper under Wine.
pub struct WineHelper {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// The Wine process's Linux pid: `wine` execs its loader and the program in the process it
    /// was started as, so it is the child's pid. (A helper cannot read it from
    /// `Z:\proc\self\stat`: wineserver opens files for Wine processes, so `self` is the
    /// server.)
    pub unix_pid: u32,
}

impl WineHelper {
    pub fn start(setup: &WineSetup) -> Result<WineHelper, String> {
        let mut c = Command::new("wine");
        c.arg(&setup.exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        setup.apply_env(&mut c);
        let mut child = c
            .spawn()
            .map_err(|e| format!("starting `wine {}`: {e}", setup.exe.display()))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let unix_pid = child.id();
        let mut h = WineHelper {
            child,
            stdin,
            lines,
            unix_pid,
        };
        // The first reply says the exe started (a missing bcryptprimitives.dll stub shows here
        // as a helper that exits with 53 before reading anything).
        match h.call(&Request::WineVersion)?.value {
            Value::Text(_) => Ok(h),
            v => Err(format!("WineVersion answered {v:?}")),
        }
    }

    /// Send one request and wait for its response. A helper-side error (an unknown name, bad
    /// JSON) or a dead helper is an `Err`; a Win32 failure is an `Ok` response with `ok: false`.
    pub fn call(&mut self, req: &Request) -> Result<Response, String> {
        let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("writing to the helper: {e}"))?;
        let reply = self.lines.recv_timeout(REPLY_TIMEOUT).map_err(|e| {
            let status = self.child.try_wait().ok().flatten();
            format!("no reply to {req:?} ({e}); helper exit status {status:?}")
        })?;
        let resp: Response = serde_json::from_str(&reply)
            .map_err(|e| format!("bad reply `{reply}` to {req:?}: {e}"))?;
        match &resp.helper_error {
            Some(m) if resp.error.is_none() => Err(format!("helper: {m} (request {req:?})")),
            _ => Ok(resp),
        }
    }

    /// The helper's exit status once its stdin is closed (or it died).
    pub fn finish(mut self) -> Result<std::process::ExitStatus, String> {
        let _ = self.call(&Request::Exit);
        self.child.wait().map_err(|e| e.to_string())
    }

    /// Wait for the helper to exit by itself (after a fatal access violation).
    pub fn wait(mut self) -> Result<std::process::ExitStatus, String> {
        self.child.wait().map_err(|e| e.to_string())
    }

    /// The helper's smaps block covering `addr` (absolute, from `Request::Locate`).
    pub fn smaps_at(&self, addr: u64) -> Result<SmapsBlock, String> {
        let path = format!("/proc/{}/smaps", self.unix_pid);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        parse_smaps(&text)
            .into_iter()
            .find(|b| b.start <= addr && addr < b.end)
            .ok_or_else(|| format!("{path}: no mapping covers {addr:#x}"))
    }
}

impl Drop for WineHelper {
    fn drop(&mut self) {
        // A helper still running (a failed test) must not outlive it.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One smaps block: the header's range and permissions, the sizes in kB, the VmFlags codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmapsBlock {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub rss_kb: u64,
    pub vm_flags: Vec<String>,
}

impl SmapsBlock {
    pub fn has_flag(&self, code: &str) -> bool {
        self.vm_flags.iter().any(|f| f == code)
    }
}

/// The blocks of a smaps file (Documentation/filesystems/proc.rst: a header line
/// `start-end perms offset dev inode [path]`, then `Key: value` lines, `VmFlags:` last).
pub fn parse_smaps(text: &str) -> Vec<SmapsBlock> {
    let mut out: Vec<SmapsBlock> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if let Some((s, e)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16)) {
                out.push(SmapsBlock {
                    start,
                    end,
                    perms: words.next().unwrap_or("").to_string(),
                    rss_kb: 0,
                    vm_flags: Vec::new(),
                });
                continue;
            }
        }
        let Some(b) = out.last_mut() else { continue };
        match first {
            "Rss:" => b.rss_kb = words.next().and_then(|v| v.parse().ok()).unwrap_or(0),
            "VmFlags:" => b.vm_flags = words.map(str::to_string).collect(),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_blocks_are_parsed() {
        let text = "7f0000000000-7f0000010000 ---p 00000000 00:00 0 \n\
                    Size:                 64 kB\n\
                    Rss:                   0 kB\n\
                    VmFlags: mr mw me nr \n\
                    7f0000010000-7f0000011000 rw-p 00000000 00:00 0 \n\
                    Rss:                   4 kB\n\
                    VmFlags: rd wr mr mw me ac \n";
        let b = parse_smaps(text);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].start, b[0].end, b[0].perms.as_str()),
            (0x7f00_0000_0000, 0x7f00_0001_0000, "---p")
        );
        assert!(b[0].has_flag("nr") && !b[0].has_flag("ac"));
        assert_eq!(b[1].rss_kb, 4);
        assert!(b[1].has_flag("ac"));
    }

    #[test]
    fn linux_paths_become_z_drive_paths() {
        assert_eq!(
            WineSetup::wine_path(std::path::Path::new("/work/t/wine")),
            "Z:\\work\\t\\wine"
        );
    }
}
