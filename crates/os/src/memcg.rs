//! Memory cgroups on the real host, cgroup v1 (this host mounts the v1 memory controller at
//! /sys/fs/cgroup/memory): a machine's cgroups live under one directory of its own,
//! `/sys/fs/cgroup/memory/TOKEN/…`, made on first use. The scenario's v2 file names are written
//! as their v1 equivalents where the semantics match (`memory.max` → `memory.limit_in_bytes`)
//! and refused as unsupported where they do not; v1 names pass through. `cleanup` (run by the
//! machine's `Drop`, also on panic) kills every task still in a cgroup of ours and removes the
//! cgroups, deepest first, then the machine's directory.

use crate::BackendError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vmlab_core::procfs_parse::MemcgV1;

/// Where this host mounts the v1 memory controller.
pub const V1_ROOT: &str = "/sys/fs/cgroup/memory";

/// A v2 file name and what it is on v1: `Some(v1 name)` when the semantics match, `None` (with
/// the reason) when v1 has no such knob.
fn v1_name(file: &str) -> Result<String, String> {
    let refuse = |why: &str| Err(format!("`{file}` on a cgroup v1 host: {why}"));
    match file {
        // mm/memcontrol-v1.c: both set memcg->memory's page_counter max (mem_cgroup_resize_max);
        // v1 reclaims and returns EBUSY where v2 would OOM-kill to get under a lowered limit.
        "memory.max" => Ok("memory.limit_in_bytes".into()),
        "memory.high" | "memory.low" | "memory.min" => refuse(
            "v1 has no such protection or throttle (soft_limit_in_bytes is a reclaim preference \
             under global pressure, not the same rule)",
        ),
        "memory.oom.group" => {
            refuse("v1 has no group kill (mem_cgroup_get_oom_group returns nothing on v1)")
        }
        "memory.swap.max" | "memory.swap.high" => {
            refuse("v1 limits memory + swap together (memory.memsw.limit_in_bytes), not swap alone")
        }
        "memory.peak" => refuse(
            "v1's max_usage_in_bytes is reset by writing 0 to it, not per open file as v2's peak",
        ),
        "memory.current" | "memory.stat" | "memory.events" | "memory.events.local" => {
            refuse("the file is read-only")
        }
        "tasks" | "cgroup.procs" => refuse("a process is moved with `PROC cgroup PATH`"),
        f if f.starts_with("cgroup.") => refuse("cgroup.* control files are not scenario knobs"),
        f if f.starts_with("memory.") => Ok(f.to_string()),
        _ => refuse("not a memory cgroup file"),
    }
}

/// The value as v1 takes it: `max` is `-1` in a v1 limit file (page_counter_memparse with
/// max "-1"); anything else is written as the scenario wrote it.
fn v1_value(v1_file: &str, value: &str) -> String {
    if value == "max" && v1_file.ends_with("limit_in_bytes") {
        "-1".into()
    } else {
        value.to_string()
    }
}

/// A scenario cgroup path (`kubepods/pod1/c1`): non-empty components of `[A-Za-z0-9._-]`, none
/// `.` or `..`; the empty path is the machine's own root directory.
fn check_path(path: &str) -> Result<(), BackendError> {
    if path.is_empty() {
        return Ok(());
    }
    for c in path.split('/') {
        let ok = !c.is_empty()
            && c != "."
            && c != ".."
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'));
        if !ok {
            return Err(BackendError::Unsupported(format!(
                "cgroup path `{path}`: each component is [A-Za-z0-9._-], not `.`/`..`, not empty"
            )));
        }
    }
    Ok(())
}

/// The machine's cgroups: `/sys/fs/cgroup/memory/TOKEN` and everything made below it.
pub struct CgroupTree {
    dir: PathBuf,
    made_dir: bool,
    /// Scenario paths made (and not yet removed), in the order they were made.
    made: Vec<String>,
}

impl CgroupTree {
    pub fn new(token: &str) -> CgroupTree {
        CgroupTree {
            dir: Path::new(V1_ROOT).join(token),
            made_dir: false,
            made: Vec::new(),
        }
    }

    /// The machine's directory (a leftover check looks for it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroups made and not removed, in the order they were made.
    pub fn paths(&self) -> &[String] {
        &self.made
    }

    /// The real directory of a scenario path, the machine's directory made on first use.
    fn real(&mut self, path: &str) -> Result<PathBuf, BackendError> {
        check_path(path)?;
        if !self.made_dir {
            let probe = Path::new(V1_ROOT).join("memory.limit_in_bytes");
            if !probe.exists() {
                return Err(BackendError::Unsupported(format!(
                    "memory cgroups on this host: {} is not there (the backend drives the v1 \
                     memory controller)",
                    probe.display()
                )));
            }
            std::fs::create_dir(&self.dir).map_err(|e| BackendError::os("mkdir", &self.dir, e))?;
            self.made_dir = true;
        }
        Ok(if path.is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(path)
        })
    }

    /// mkdir: `Err(errno)` as the kernel answered (EEXIST, ENOENT for a missing parent).
    pub fn create(&mut self, path: &str) -> Result<Result<(), i32>, BackendError> {
        if path.is_empty() {
            return Ok(Err(libc::EEXIST));
        }
        let d = self.real(path)?;
        match std::fs::create_dir(&d) {
            Ok(()) => {
                self.made.push(path.to_string());
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e.raw_os_error().unwrap_or(libc::EINVAL))),
        }
    }

    /// Write `value` to `file` (translated to v1) in one write(2), as `echo` would.
    pub fn write(
        &mut self,
        path: &str,
        file: &str,
        value: &str,
    ) -> Result<Result<(), i32>, BackendError> {
        let v1 = v1_name(file).map_err(BackendError::Unsupported)?;
        let d = self.real(path)?;
        let f = d.join(&v1);
        if !f.exists() {
            return Err(BackendError::Unsupported(format!(
                "`{file}`: this host's v1 memory cgroup has no file {}",
                f.display()
            )));
        }
        Ok(write_once(&f, &format!("{}\n", v1_value(&v1, value))))
    }

    /// Move a process: its pid to `cgroup.procs` (the whole thread group; the helper has one).
    pub fn move_pid(&mut self, pid: i32, path: &str) -> Result<Result<(), i32>, BackendError> {
        let d = self.real(path)?;
        Ok(write_once(&d.join("cgroup.procs"), &format!("{pid}\n")))
    }

    /// rmdir: `Err(errno)` as the kernel answered (EBUSY with tasks or children in it).
    pub fn remove(&mut self, path: &str) -> Result<Result<(), i32>, BackendError> {
        if path.is_empty() {
            return Err(BackendError::Unsupported(
                "removing the root cgroup".to_string(),
            ));
        }
        let d = self.real(path)?;
        match std::fs::remove_dir(&d) {
            Ok(()) => {
                self.made.retain(|p| p != path);
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e.raw_os_error().unwrap_or(libc::EINVAL))),
        }
    }

    /// Every v1 file of the cgroup at `path`, read now.
    pub fn observe(&self, path: &str) -> Result<MemcgV1, BackendError> {
        check_path(path)?;
        let d = if path.is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(path)
        };
        read_v1(&d)
    }

    /// The pids in a cgroup now (`cgroup.procs`).
    pub fn pids(&self, path: &str) -> Result<Vec<i32>, BackendError> {
        check_path(path)?;
        let f = self.dir.join(path).join("cgroup.procs");
        let t = std::fs::read_to_string(&f).map_err(|e| BackendError::os("read", &f, e))?;
        t.lines()
            .map(|l| {
                l.trim()
                    .parse()
                    .map_err(|_| BackendError::Parse(format!("{}: `{l}`", f.display())))
            })
            .collect()
    }

    /// Kill every task left in a cgroup of ours (a helper's fork child the machine did not
    /// know of, say), remove the cgroups deepest first, then the machine's directory.
    /// Idempotent; returns one sentence per thing it could not remove.
    pub fn cleanup(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        if !self.made_dir {
            return left;
        }
        // Every directory under ours, also any made outside `made` (none should be).
        let mut dirs = Vec::new();
        collect_dirs(&self.dir, &mut dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in &dirs {
            kill_tasks(d);
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match std::fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    // EBUSY: a killed task has not left yet.
                    Err(e) if Instant::now() < deadline => {
                        let _ = e;
                        kill_tasks(d);
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => {
                        left.push(format!("cannot rmdir {}: {e}", d.display()));
                        break;
                    }
                }
            }
        }
        if left.is_empty() {
            self.made.clear();
            self.made_dir = false;
        }
        left
    }
}

/// `dir` and every directory below it (cgroups; the files are the controller's).
fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if !dir.is_dir() {
        return;
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_dirs(&e.path(), out);
            }
        }
    }
    out.push(dir.to_path_buf());
}

/// SIGKILL every task in the cgroup at `dir`. A task waiting in a memcg OOM with
/// oom_kill_disable sleeps killably (memcg1_oom_synchronize), so SIGKILL ends it too.
fn kill_tasks(dir: &Path) {
    let Ok(t) = std::fs::read_to_string(dir.join("cgroup.procs")) else {
        return;
    };
    for pid in t.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        // SAFETY: kill(2) has no memory preconditions; the pid is one listed in our cgroup.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// One write(2) of `text`, the kernel's errno on failure.
fn write_once(f: &Path, text: &str) -> Result<(), i32> {
    let mut h = std::fs::OpenOptions::new()
        .write(true)
        .open(f)
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))?;
    h.write_all(text.as_bytes())
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EINVAL))
}

/// Read and parse every v1 file of the cgroup directory `d`.
pub fn read_v1(d: &Path) -> Result<MemcgV1, BackendError> {
    let mut failed: Option<BackendError> = None;
    let v = MemcgV1::from_files(|f| {
        let p = d.join(f);
        match std::fs::read_to_string(&p) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                failed.get_or_insert(BackendError::os("read", &p, e));
                None
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    v.map_err(|e| BackendError::Parse(format!("{}: {e}", d.display())))
}

/// A reader of the kernel log (/dev/kmsg) from the moment it was opened: the OOM killer's
/// report says which task it chose, in which order, and from which candidate table.
pub struct Kmsg {
    file: std::fs::File,
}

impl Kmsg {
    /// Open /dev/kmsg and skip what is already there (SEEK_END).
    pub fn open_at_end() -> Result<Kmsg, BackendError> {
        use std::os::unix::fs::OpenOptionsExt;
        let p = Path::new("/dev/kmsg");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p)
            .map_err(|e| BackendError::os("open", p, e))?;
        use std::os::fd::AsRawFd;
        // SAFETY: lseek on an fd this function owns.
        if unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_END) } < 0 {
            return Err(BackendError::os(
                "lseek",
                p,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(Kmsg { file })
    }

    /// The messages logged since the last call (one per record, without the
    /// `prio,seq,time,flags;` prefix or continuation lines).
    pub fn read_new(&mut self) -> Vec<String> {
        use std::io::Read;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            // Each read returns one record.
            match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let first = rec.lines().next().unwrap_or("");
                    if let Some((_, msg)) = first.split_once(';') {
                        out.push(msg.to_string());
                    }
                }
                // EPIPE: records were overwritten before we read them; go on from the next.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        out
    }
}

/// The cgroup directories under the v1 root whose names start with `prefix` (machines' roots
/// left behind).
pub fn leftover_cgroups(prefix: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(V1_ROOT) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Parse the cgroup a process is in on the v1 memory hierarchy, from `/proc/PID/cgroup` text
/// (`4:memory:/vmlab-os-1-0/a`): the path below the root.
pub fn memory_cgroup_of(proc_cgroup: &str) -> Option<String> {
    proc_cgroup.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        ctrls
            .split(',')
            .any(|c| c == "memory")
            .then(|| path.trim_start_matches('/').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_names_translate_where_v1_means_the_same() {
        assert_eq!(v1_name("memory.max").unwrap(), "memory.limit_in_bytes");
        assert_eq!(v1_name("memory.oom_control").unwrap(), "memory.oom_control");
        for f in [
            "memory.high",
            "memory.oom.group",
            "memory.swap.max",
            "memory.peak",
        ] {
            assert!(v1_name(f).unwrap_err().contains(f));
        }
        assert!(v1_name("cgroup.procs").is_err());
        assert!(v1_name("cpu.max").is_err());
        assert_eq!(v1_value("memory.limit_in_bytes", "max"), "-1");
        assert_eq!(v1_value("memory.oom_control", "1"), "1");
        assert_eq!(v1_value("memory.limit_in_bytes", "100663296"), "100663296");
    }

    #[test]
    fn paths_stay_inside_the_machines_directory() {
        assert!(check_path("kubepods/pod1/c1").is_ok());
        assert!(check_path("").is_ok());
        for bad in ["../x", "a//b", "/a", "a/./b", "a b", "a/"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_memory_line_of_proc_pid_cgroup() {
        let t = "9:name=systemd:/\n4:memory:/vmlab-os-7-0/a/b\n0::/\n";
        assert_eq!(memory_cgroup_of(t).as_deref(), Some("vmlab-os-7-0/a/b"));
        assert_eq!(memory_cgroup_of("0::/\n"), None);
        assert_eq!(memory_cgroup_of("3:cpu,memory:/\n").as_deref(), Some(""));
    }
}
