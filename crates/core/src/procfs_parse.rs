//! Parsers of the kernel's /proc text: `/proc/PID/maps`, `/proc/PID/smaps`, `/proc/PID/status`,
//! `/proc/PID/oom_score`, `/proc/meminfo`. Pure functions over text (no I/O), so the same code
//! reads a real kernel's files (`vmlab-os`), the simulator's own printers (round-trip tests) and,
//! later, a file pasted into the web app. The formats are fs/proc/task_mmu.c (show_map_vma,
//! show_smap, show_smap_vma_flags), fs/proc/array.c and fs/proc/meminfo.c.

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

#[cfg(test)]
mod tests {
    use super::*;

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
