//! Parsers of the kernel's /proc text: `/proc/PID/maps`, `/proc/PID/smaps`, `/proc/PID/status`,
//! `/proc/PID/oom_score`, `/proc/meminfo`, and the memory cgroup files (v1's
//! `memory.usage_in_bytes`, `memory.oom_control`, `memory.stat`, …; v2's flat-keyed
//! `memory.stat` and `memory.events` share a parser). Pure functions over text (no I/O), so the
//! same code reads a real kernel's files (`vmlab-os`), the simulator's own printers (round-trip
//! tests) and, later, a file pasted into the web app. The formats are fs/proc/task_mmu.c
//! (show_map_vma, show_smap, show_smap_vma_flags), fs/proc/array.c, fs/proc/meminfo.c and
//! mm/memcontrol-v1.c (mem_cgroup_read_u64, mem_cgroup_oom_control_read, memcg1_stat_format).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Why a text is not the /proc file it was said to be: the 1-based line and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// One line of `/proc/PID/maps` (the header line of an smaps entry has the same shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapsEntry {
    pub start: u64,
    pub end: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    /// `s` in the fourth column (VM_MAYSHARE); `p` is private.
    pub shared: bool,
    pub offset: u64,
    /// `major:minor`, as printed (hexadecimal).
    pub dev: String,
    pub inode: u64,
    /// The path or pseudo-name (`[heap]`, `/dev/zero (deleted)`); empty for plain anonymous memory.
    pub name: String,
}

impl MapsEntry {
    pub fn len_bytes(&self) -> u64 {
        self.end - self.start
    }

    /// The permission column as printed: `rw-p`, `r--s`, …
    pub fn perms(&self) -> String {
        let mut s = String::with_capacity(4);
        s.push(if self.read { 'r' } else { '-' });
        s.push(if self.write { 'w' } else { '-' });
        s.push(if self.exec { 'x' } else { '-' });
        s.push(if self.shared { 's' } else { 'p' });
        s
    }
}

fn hex(s: &str, line: usize, what: &str) -> Result<u64, ParseError> {
    u64::from_str_radix(s, 16).map_err(|_| err(line, format!("{what} `{s}` is not hexadecimal")))
}

/// Parse one maps line: `start-end perms offset dev inode [name]`.
pub fn parse_maps_line(text: &str, line: usize) -> Result<MapsEntry, ParseError> {
    // The name may contain spaces (`/dev/zero (deleted)`): split off the first five fields only.
    let mut rest = text;
    let mut fields = Vec::with_capacity(5);
    for _ in 0..5 {
        let t = rest.trim_start_matches(' ');
        let end = t.find(' ').unwrap_or(t.len());
        if end == 0 {
            return Err(err(line, "a maps line has at least five fields"));
        }
        fields.push(&t[..end]);
        rest = &t[end..];
    }
    let name = rest.trim_start_matches(' ').trim_end().to_string();
    let (start, end) = fields[0]
        .split_once('-')
        .ok_or_else(|| err(line, "the address range is `start-end`"))?;
    let (start, end) = (hex(start, line, "start")?, hex(end, line, "end")?);
    if end < start {
        return Err(err(line, "the range ends before it starts"));
    }
    let p: Vec<char> = fields[1].chars().collect();
    let ok = p.len() == 4
        && matches!(p[0], 'r' | '-')
        && matches!(p[1], 'w' | '-')
        && matches!(p[2], 'x' | '-')
        && matches!(p[3], 's' | 'p');
    if !ok {
        return Err(err(
            line,
            format!("`{}` is not a permission column", fields[1]),
        ));
    }
    let inode = fields[4]
        .parse()
        .map_err(|_| err(line, format!("inode `{}` is not a number", fields[4])))?;
    Ok(MapsEntry {
        start,
        end,
        read: p[0] == 'r',
        write: p[1] == 'w',
        exec: p[2] == 'x',
        shared: p[3] == 's',
        offset: hex(fields[2], line, "offset")?,
        dev: fields[3].to_string(),
        inode,
        name,
    })
}

/// Parse `/proc/PID/maps`.
pub fn parse_maps(text: &str) -> Result<Vec<MapsEntry>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_maps_line(l, i + 1))
        .collect()
}

/// One VMA of `/proc/PID/smaps`: its maps line, its `Name: N kB` fields (in kB, as printed) and
/// its `VmFlags` mnemonics (`rd wr mr mw me ac`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmapsEntry {
    pub map: MapsEntry,
    pub fields_kb: BTreeMap<String, u64>,
    /// The fields printed as plain numbers (`THPeligible`, `ProtectionKey`).
    pub numbers: BTreeMap<String, u64>,
    pub vm_flags: Vec<String>,
    /// Every field's name in the order printed (`Size`, …, `THPeligible`, `VmFlags`): which
    /// lines a kernel prints at all depends on its version and configuration.
    pub field_names: Vec<String>,
}

impl SmapsEntry {
    /// A `kB` field (`Rss`, `Anonymous`, …), or 0 when the kernel did not print it.
    pub fn kb(&self, field: &str) -> u64 {
        self.fields_kb.get(field).copied().unwrap_or(0)
    }

    /// A plain-number field (`THPeligible`, `ProtectionKey`), or 0 when it was not printed.
    pub fn number(&self, field: &str) -> u64 {
        self.numbers.get(field).copied().unwrap_or(0)
    }

    /// Whether `VmFlags` lists this two-letter mnemonic (`ac` = VM_ACCOUNT, `nr` = VM_NORESERVE,
    /// `sh` = VM_SHARED).
    pub fn has_flag(&self, mnemonic: &str) -> bool {
        self.vm_flags.iter().any(|f| f == mnemonic)
    }
}

/// Whether a line starts an smaps entry (an address range) rather than being a `Field:` line.
fn is_maps_header(l: &str) -> bool {
    let first = l.split(' ').next().unwrap_or("");
    match first.split_once('-') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_hexdigit())
                && b.bytes().all(|c| c.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Parse `/proc/PID/smaps`. `N kB` fields go to `fields_kb`, plain numbers (`THPeligible: 0`,
/// `ProtectionKey: 0`) to `numbers`, anything else is skipped; an unknown field is kept, so a
/// newer kernel's additions do not break it.
pub fn parse_smaps(text: &str) -> Result<Vec<SmapsEntry>, ParseError> {
    let mut out: Vec<SmapsEntry> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        if l.trim().is_empty() {
            continue;
        }
        if is_maps_header(l) {
            out.push(SmapsEntry {
                map: parse_maps_line(l, line)?,
                fields_kb: BTreeMap::new(),
                numbers: BTreeMap::new(),
                vm_flags: Vec::new(),
                field_names: Vec::new(),
            });
            continue;
        }
        let entry = out
            .last_mut()
            .ok_or_else(|| err(line, "a field before the first address range"))?;
        let (key, value) = l
            .split_once(':')
            .ok_or_else(|| err(line, "a field line is `Name: value`"))?;
        entry.field_names.push(key.to_string());
        if key == "VmFlags" {
            entry.vm_flags = value.split_whitespace().map(str::to_string).collect();
            continue;
        }
        let value = value.trim();
        if let Some(n) = value.strip_suffix(" kB") {
            let n = n
                .trim()
                .parse()
                .map_err(|_| err(line, format!("`{key}` is not a number of kB")))?;
            entry.fields_kb.insert(key.to_string(), n);
        } else if let Ok(n) = value.parse() {
            entry.numbers.insert(key.to_string(), n);
        }
    }
    Ok(out)
}

/// A `Name: value` file (`/proc/meminfo`, `/proc/PID/status`): each value as printed, and the
/// number in it when it is one (kB for `… kB` fields, a plain count otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValues {
    /// In file order.
    pub entries: Vec<(String, String)>,
}

impl KeyValues {
    /// The raw text of a field (`S (sleeping)`, `  2097160 kB`, trimmed).
    pub fn text(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A field's number: `VmRSS:  8 kB` → 8, `HugePages_Total: 0` → 0, `Threads: 1` → 1.
    pub fn number(&self, key: &str) -> Option<u64> {
        let v = self.text(key)?;
        let v = v.strip_suffix(" kB").unwrap_or(v).trim();
        v.parse().ok()
    }
}

/// Parse a `Name: value` file. Every non-empty line must have a colon.
pub fn parse_key_values(text: &str) -> Result<KeyValues, ParseError> {
    let mut kv = KeyValues::default();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| err(i + 1, "a line is `Name: value`"))?;
        kv.entries
            .push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(kv)
}

/// Parse `/proc/meminfo`; every field the kernel prints in kB must be a number.
pub fn parse_meminfo(text: &str) -> Result<KeyValues, ParseError> {
    let kv = parse_key_values(text)?;
    for (i, (k, v)) in kv.entries.iter().enumerate() {
        if kv.number(k).is_none() {
            return Err(err(i + 1, format!("`{k}: {v}` is not a number")));
        }
    }
    Ok(kv)
}

/// Parse `/proc/PID/status` (values are kept as text; [`KeyValues::number`] reads the kB ones).
pub fn parse_status(text: &str) -> Result<KeyValues, ParseError> {
    parse_key_values(text)
}

/// Parse `/proc/PID/oom_score`: one integer (negative from 5.9 with a negative `oom_score_adj`).
pub fn parse_oom_score(text: &str) -> Result<i64, ParseError> {
    let t = text.trim();
    t.parse()
        .map_err(|_| err(1, format!("oom_score `{t}` is not an integer")))
}

/// One line of `/proc/sysvipc/shm` (ipc/shm.c: sysvipc_shm_proc_show).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShmSegment {
    /// The key as the kernel prints it (`%10d`: signed; 0 once IPC_RMID made it private).
    pub key: i64,
    pub shmid: i64,
    pub size_bytes: u64,
    pub nattch: u64,
}

/// Parse `/proc/sysvipc/shm`: a header line, then one line per segment whose first columns are
/// key, shmid, perms, size, cpid, lpid, nattch.
pub fn parse_sysvipc_shm(text: &str) -> Result<Vec<ShmSegment>, ParseError> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if i == 0 && f.first() == Some(&"key") || f.is_empty() {
            continue;
        }
        let num = |k: usize, what: &str| -> Result<i64, ParseError> {
            f.get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| err(i + 1, format!("the {what} column is not a number")))
        };
        let size = f
            .get(3)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| err(i + 1, "the size column is not a number"))?;
        out.push(ShmSegment {
            key: num(0, "key")?,
            shmid: num(1, "shmid")?,
            size_bytes: size,
            nattch: num(6, "nattch")? as u64,
        });
    }
    Ok(out)
}

/// A cgroup file that holds one unsigned number (`memory.usage_in_bytes`, `memory.failcnt`,
/// `memory.limit_in_bytes`, v2's `memory.current`). v1 prints "unlimited" as the number
/// 9223372036854771712 (PAGE_COUNTER_MAX pages in bytes); v2 prints `max`, read as `u64::MAX`.
pub fn parse_cgroup_u64(text: &str) -> Result<u64, ParseError> {
    let t = text.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse()
        .map_err(|_| err(1, format!("`{t}` is not an unsigned number")))
}

/// A cgroup "flat keyed" file: one `key value` pair per line, the value an unsigned number
/// (v1 `memory.stat` and `memory.oom_control`, v2 `memory.stat` and `memory.events`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlatKeyed {
    /// In file order.
    pub entries: Vec<(String, u64)>,
}

impl FlatKeyed {
    pub fn get(&self, key: &str) -> Option<u64> {
        self.entries.iter().find(|(k, _)| k == key).map(|&(_, v)| v)
    }
}

/// Parse a flat-keyed cgroup file (Documentation/admin-guide/cgroup-v2.rst, "Interface Files").
pub fn parse_flat_keyed(text: &str) -> Result<FlatKeyed, ParseError> {
    let mut out = FlatKeyed::default();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let (k, v) = l
            .trim()
            .split_once(' ')
            .ok_or_else(|| err(i + 1, format!("`{l}` is not `key value`")))?;
        let v = v.trim().parse().map_err(|_| {
            err(
                i + 1,
                format!("the value of `{k}` is not an unsigned number"),
            )
        })?;
        out.entries.push((k.to_string(), v));
    }
    Ok(out)
}

/// v1 `memory.oom_control` (mm/memcontrol-v1.c: mem_cgroup_oom_control_read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomControlV1 {
    /// 1 written: the memcg OOM killer is off; a task at the limit sleeps until usage drops or
    /// the limit rises.
    pub oom_kill_disable: bool,
    /// Some task of the cgroup is waiting in the memcg OOM path now (`memcg->under_oom`).
    pub under_oom: bool,
    /// Processes of this cgroup killed by an OOM killer (`MEMCG_OOM_KILL`, printed since 4.13).
    pub oom_kill: Option<u64>,
}

/// Parse `memory.oom_control`: `oom_kill_disable` and `under_oom` must be there and be 0 or 1.
pub fn parse_oom_control(text: &str) -> Result<OomControlV1, ParseError> {
    let kv = parse_flat_keyed(text)?;
    let flag = |k: &str| -> Result<bool, ParseError> {
        match kv.get(k) {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(err(1, format!("`{k}` is {v}, not 0 or 1"))),
            None => Err(err(1, format!("memory.oom_control has no `{k}` line"))),
        }
    };
    Ok(OomControlV1 {
        oom_kill_disable: flag("oom_kill_disable")?,
        under_oom: flag("under_oom")?,
        oom_kill: kv.get("oom_kill"),
    })
}

/// The four page_counter files of one counter (`memory.*` or `memory.memsw.*` or
/// `memory.kmem.*`): usage, its high-water mark, the limit and the failed-charge count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCounterV1 {
    pub usage_in_bytes: u64,
    pub max_usage_in_bytes: u64,
    pub limit_in_bytes: u64,
    pub failcnt: u64,
}

/// Every v1 file of one memory cgroup, as read at one step: what the harness compares with the
/// simulator's v1 view. `memsw` and `kmem` are `None` where the kernel has no such files
/// (no swap accounting; `cgroup.memory=nokmem`, or a kernel after kmem's v1 files went).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemcgV1 {
    pub memory: PageCounterV1,
    pub memsw: Option<PageCounterV1>,
    pub kmem: Option<PageCounterV1>,
    pub oom_control: OomControlV1,
    /// `memory.stat`: the local keys, `hierarchical_*`, then the `total_*` keys.
    pub stat: FlatKeyed,
}

impl MemcgV1 {
    /// Read a cgroup's files through `read(file name)` (`None`: the file does not exist) and
    /// parse them. An error names the file.
    pub fn from_files(mut read: impl FnMut(&str) -> Option<String>) -> Result<MemcgV1, ParseError> {
        let mut need = |f: &str| -> Result<String, ParseError> {
            read(f).ok_or_else(|| err(0, format!("{f} is missing")))
        };
        let in_file = |f: &str, e: ParseError| ParseError {
            line: e.line,
            message: format!("{f}: {}", e.message),
        };
        let counter = |prefix: &str,
                       read: &mut dyn FnMut(&str) -> Option<String>|
         -> Result<Option<PageCounterV1>, ParseError> {
            let mut one = |name: &str| -> Result<Option<u64>, ParseError> {
                let f = format!("{prefix}.{name}");
                match read(&f) {
                    None => Ok(None),
                    Some(t) => parse_cgroup_u64(&t).map(Some).map_err(|e| in_file(&f, e)),
                }
            };
            let (Some(usage), Some(max), Some(limit), Some(failcnt)) = (
                one("usage_in_bytes")?,
                one("max_usage_in_bytes")?,
                one("limit_in_bytes")?,
                one("failcnt")?,
            ) else {
                return Ok(None);
            };
            Ok(Some(PageCounterV1 {
                usage_in_bytes: usage,
                max_usage_in_bytes: max,
                limit_in_bytes: limit,
                failcnt,
            }))
        };
        let oom = need("memory.oom_control")?;
        let stat = need("memory.stat")?;
        let memory = counter("memory", &mut read)?
            .ok_or_else(|| err(0, "memory.usage_in_bytes (or a sibling) is missing"))?;
        Ok(MemcgV1 {
            memory,
            memsw: counter("memory.memsw", &mut read)?,
            kmem: counter("memory.kmem", &mut read)?,
            oom_control: parse_oom_control(&oom).map_err(|e| in_file("memory.oom_control", e))?,
            stat: parse_flat_keyed(&stat).map_err(|e| in_file("memory.stat", e))?,
        })
    }
}

/// One row of the OOM killer's task table (mm/oom_kill.c: dump_task), memory in pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomTask {
    pub pid: u64,
    pub uid: u64,
    pub tgid: u64,
    pub total_vm: u64,
    pub rss: u64,
    pub rss_anon: u64,
    pub rss_file: u64,
    pub rss_shmem: u64,
    pub pgtables_bytes: u64,
    pub swapents: u64,
    pub oom_score_adj: i64,
    pub name: String,
}

/// One OOM kill as the kernel logs it: the task table before it, the constraint line and the
/// `Killed process` line (mm/oom_kill.c: dump_header, dump_oom_victim, __oom_kill_process).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomKill {
    /// `Memory cgroup out of memory:` rather than `Out of memory:`.
    pub memcg: bool,
    /// `CONSTRAINT_MEMCG`, `CONSTRAINT_NONE`, … from the `oom-kill:` line, if it was seen.
    pub constraint: Option<String>,
    /// `oom_memcg=` of that line: the cgroup that hit its limit.
    pub oom_memcg: Option<String>,
    pub pid: u64,
    pub comm: String,
    pub anon_rss_kb: u64,
    pub file_rss_kb: u64,
    pub shmem_rss_kb: u64,
    pub pgtables_kb: u64,
    pub oom_score_adj: i64,
    /// The candidate table printed before the kill (empty with vm.oom_dump_tasks=0).
    pub tasks: Vec<OomTask>,
}

/// `key:value` out of a comma- or space-separated kernel log line.
fn log_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let i = line.find(key)? + key.len();
    let rest = &line[i..];
    let end = rest.find([',', ' ']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn task_row(l: &str) -> Option<OomTask> {
    // `[  18448]     0 18448    20526     9781     8128     1653         0   122880        0             0 python3`
    let rest = l.trim_start().strip_prefix('[')?;
    let (pid, rest) = rest.split_once(']')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.len() < 11 {
        return None;
    }
    let n = |i: usize| f[i].parse::<u64>().ok();
    Some(OomTask {
        pid: pid.trim().parse().ok()?,
        uid: n(0)?,
        tgid: n(1)?,
        total_vm: n(2)?,
        rss: n(3)?,
        rss_anon: n(4)?,
        rss_file: n(5)?,
        rss_shmem: n(6)?,
        pgtables_bytes: n(7)?,
        swapents: n(8)?,
        oom_score_adj: f[9].parse().ok()?,
        name: f[10..].join(" "),
    })
}

/// Every OOM kill in kernel log messages (one message per item, without the `[ time]` or
/// /dev/kmsg prefix), in order. Lines that are no part of an OOM report are skipped.
pub fn parse_oom_kills<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<OomKill> {
    let mut out = Vec::new();
    let mut tasks = Vec::new();
    let mut in_table = false;
    let (mut constraint, mut oom_memcg) = (None, None);
    for l in lines {
        let l = l.trim_end();
        if l.starts_with("Tasks state (memory values in pages):") {
            tasks.clear();
            in_table = true;
            continue;
        }
        if in_table {
            if l.trim_start().starts_with("[  pid  ]") {
                continue;
            }
            if let Some(t) = task_row(l) {
                tasks.push(t);
                continue;
            }
            in_table = false;
        }
        if let Some(r) = l.strip_prefix("oom-kill:") {
            constraint = log_field(r, "constraint=").map(str::to_string);
            oom_memcg = log_field(r, "oom_memcg=").map(str::to_string);
            continue;
        }
        let (memcg, rest) =
            if let Some(r) = l.strip_prefix("Memory cgroup out of memory: Killed process ") {
                (true, r)
            } else if let Some(r) = l.strip_prefix("Out of memory: Killed process ") {
                (false, r)
            } else {
                continue;
            };
        let Some((pid, rest)) = rest.split_once(" (") else {
            continue;
        };
        let Some((comm, rest)) = rest.rsplit_once(") ") else {
            continue;
        };
        let kb = |k: &str| {
            log_field(rest, k)
                .and_then(|v| v.strip_suffix("kB"))
                .and_then(|v| v.parse().ok())
        };
        let (Ok(pid), Some(anon), Some(file), Some(shmem), Some(pt)) = (
            pid.parse(),
            kb("anon-rss:"),
            kb("file-rss:"),
            kb("shmem-rss:"),
            kb("pgtables:"),
        ) else {
            continue;
        };
        out.push(OomKill {
            memcg,
            constraint: constraint.take(),
            oom_memcg: oom_memcg.take(),
            pid,
            comm: comm.to_string(),
            anon_rss_kb: anon,
            file_rss_kb: file,
            shmem_rss_kb: shmem,
            pgtables_kb: pt,
            oom_score_adj: log_field(rest, "oom_score_adj:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            tasks: std::mem::take(&mut tasks),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oom_report_from_this_hosts_log() {
        // Lines this 6.18 host logged for a memcg OOM (a 32 MiB v1 limit, python3 touching 64 MiB).
        let log = "memory: usage 32768kB, limit 32768kB, failcnt 72
Tasks state (memory values in pages):
[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
[  18448]     0 18448    20526     9781     8128     1653         0   122880        0             0 python3
oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/vmlab-probe-18443,task_memcg=/vmlab-probe-18443,task=python3,pid=18448,uid=0
Memory cgroup out of memory: Killed process 18448 (python3) total-vm:82104kB, anon-rss:32512kB, file-rss:6612kB, shmem-rss:0kB, UID:0 pgtables:120kB oom_score_adj:0
unrelated line";
        let k = parse_oom_kills(log.lines());
        assert_eq!(k.len(), 1);
        let k = &k[0];
        assert!(k.memcg);
        assert_eq!(k.constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
        assert_eq!(k.oom_memcg.as_deref(), Some("/vmlab-probe-18443"));
        assert_eq!((k.pid, k.comm.as_str()), (18448, "python3"));
        assert_eq!(
            (k.anon_rss_kb, k.file_rss_kb, k.pgtables_kb),
            (32512, 6612, 120)
        );
        assert_eq!(k.tasks.len(), 1);
        assert_eq!(k.tasks[0].rss, 9781);
        assert_eq!(k.tasks[0].pgtables_bytes, 122880);
        assert_eq!(k.tasks[0].name, "python3");
        assert!(parse_oom_kills(["Out of memory: Killed process x (y) z"]).is_empty());
    }

    #[test]
    fn memcg_v1_files_of_one_cgroup() {
        // The files as this 6.18 host prints them; the numbers are model-spec L9.2's (a 64 MiB
        // limit after an OOM kill), the kmem ones made up.
        let files = [
            ("memory.usage_in_bytes", "0\n"),
            ("memory.max_usage_in_bytes", "67108864\n"),
            ("memory.limit_in_bytes", "67108864\n"),
            ("memory.failcnt", "62\n"),
            ("memory.kmem.usage_in_bytes", "0\n"),
            ("memory.kmem.max_usage_in_bytes", "1212416\n"),
            ("memory.kmem.limit_in_bytes", "9223372036854771712\n"),
            ("memory.kmem.failcnt", "0\n"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
            ),
            (
                "memory.stat",
                "cache 0\nrss 0\nhierarchical_memory_limit 67108864\ntotal_rss 0\n",
            ),
        ];
        let v = MemcgV1::from_files(|f| {
            files
                .iter()
                .find(|(n, _)| *n == f)
                .map(|(_, t)| t.to_string())
        })
        .unwrap();
        assert_eq!(v.memory.failcnt, 62);
        assert_eq!(v.memory.max_usage_in_bytes, 64 << 20);
        assert_eq!(v.memsw, None);
        assert_eq!(v.kmem.unwrap().limit_in_bytes, 9223372036854771712);
        assert_eq!(v.oom_control.oom_kill, Some(1));
        assert!(!v.oom_control.under_oom);
        assert_eq!(v.stat.get("hierarchical_memory_limit"), Some(64 << 20));
        assert_eq!(v.stat.get("total_cache"), None);
        // A missing file, and a bad one, name themselves.
        let e = MemcgV1::from_files(|f| (f != "memory.stat").then(|| "0".to_string())).unwrap_err();
        assert!(e.message.contains("memory.stat"), "{e}");
        let e = MemcgV1::from_files(|f| {
            files.iter().find(|(n, _)| *n == f).map(|(_, t)| {
                if f == "memory.failcnt" {
                    "x".into()
                } else {
                    t.to_string()
                }
            })
        })
        .unwrap_err();
        assert!(e.message.starts_with("memory.failcnt:"), "{e}");
    }

    #[test]
    fn cgroup_single_values_and_flat_keyed_files() {
        assert_eq!(
            parse_cgroup_u64("9223372036854771712\n"),
            Ok(9223372036854771712)
        );
        assert_eq!(parse_cgroup_u64("max\n"), Ok(u64::MAX));
        assert!(parse_cgroup_u64("-1").is_err());
        assert_eq!(
            parse_oom_control("oom_kill_disable 1\nunder_oom 1\n"),
            Ok(OomControlV1 {
                oom_kill_disable: true,
                under_oom: true,
                oom_kill: None
            })
        );
        assert_eq!(
            parse_oom_control("oom_kill_disable 2\nunder_oom 0\n")
                .unwrap_err()
                .line,
            1
        );
        assert!(parse_oom_control("under_oom 0\n").is_err());
        let ev = parse_flat_keyed("low 0\nhigh 3\nmax 17\noom 1\noom_kill 1\n").unwrap();
        assert_eq!(ev.get("max"), Some(17));
        assert_eq!(ev.entries.len(), 5);
        assert_eq!(parse_flat_keyed("cache 1\nrss\n").unwrap_err().line, 2);
        assert_eq!(parse_flat_keyed("rss -4\n").unwrap_err().line, 1);
    }

    #[test]
    fn sysvipc_shm_lines() {
        let t = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                 1073742080          3  1600              67108864  1234  1234      1     0     0     0     0 1764626000          0 1764626000               1048576                     0\n\
                          0          4  1600                  4096  1234     0      0     0     0     0     0          0          0 1764626000                     0                     0\n";
        let v = parse_sysvipc_shm(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            v[0],
            ShmSegment {
                key: 0x4000_0100,
                shmid: 3,
                size_bytes: 64 << 20,
                nattch: 1
            }
        );
        assert_eq!(v[1].key, 0);
        assert_eq!(parse_sysvipc_shm("key\nx 1 2 3").unwrap_err().line, 2);
    }

    #[test]
    fn maps_line_with_a_spaced_name() {
        let e = parse_maps_line(
            "7fff77ffd000-7fff77fff000 r--s 00000000 00:01 1001                       /dev/zero (deleted)",
            1,
        )
        .unwrap();
        assert_eq!(e.len_bytes(), 8192);
        assert!(e.read && !e.write && e.shared);
        assert_eq!(e.name, "/dev/zero (deleted)");
        assert_eq!(e.perms(), "r--s");
    }

    #[test]
    fn bad_lines_are_errors_with_their_line() {
        assert_eq!(parse_maps("0-1000 rw-p 0 00:00 0\nzz").unwrap_err().line, 2);
        assert!(parse_maps_line("2000-1000 rw-p 0 00:00 0", 1).is_err());
        assert!(parse_maps_line("1000-2000 rwzp 0 00:00 0", 1).is_err());
        assert!(parse_smaps("Rss: 4 kB\n").is_err());
        assert!(parse_meminfo("MemTotal: lots kB\n").is_err());
        assert!(parse_oom_score("x").is_err());
        assert_eq!(parse_oom_score("-3\n"), Ok(-3));
    }
}
