//! The real-runnable marker: a scenario whose header has the line `# real: yes` promises to run
//! on any Linux host as well as on its reference machine, and [`real_runnable`] refuses one
//! that asks for what a host cannot be made to be. Pure (text and a parsed scenario in,
//! diagnostics out), so it is tested without root.
//!
//! The marker is a comment, so the parser, the CLI and the web app read a marked scenario as
//! any other; only the harness (crates/os/tests/scenarios.rs, `vmlab check --real`) acts on it.

use vmlab_core::config::Sysctl;
use vmlab_core::op::Op;
use vmlab_core::scenario::{Diagnostic, Pos, Scenario};

/// The marker line, exactly (surrounding whitespace aside).
pub const MARKER: &str = "# real: yes";

/// Whether `text` is marked: the marker is one of the comment lines before the first statement.
pub fn is_marked(text: &str) -> bool {
    for line in text.lines() {
        let l = line.trim();
        if l == MARKER {
            return true;
        }
        if !(l.is_empty() || l.starts_with('#')) {
            return false;
        }
    }
    false
}

/// Machine options a host cannot be set to: the real side runs with the host's RAM, swap, kernel,
/// CPUs, reserves and huge pages (`check::sim_config_for`), so a scenario that depends on these
/// would be checked against a machine other than the one it describes.
const HOST_OWNED: [(&str, &str); 6] = [
    ("kernel=", "a kernel version: the host runs its own kernel"),
    (
        "swap=",
        "a swap size: the host has its own swap (write sizes as %ram or %swap)",
    ),
    (
        "hugepages=",
        "huge pages: reserving them takes the host's RAM from everyone",
    ),
    ("cpus=", "a CPU count: the host has its own"),
    (
        "admin_reserve_kbytes=",
        "a reserve: the harness writes only the overcommit sysctls and max_map_count",
    ),
    (
        "user_reserve_kbytes=",
        "a reserve: the harness writes only the overcommit sysctls and max_map_count",
    ),
];

/// Every reason a marked scenario cannot run on a real host, each at its line:col; empty when it
/// can. `text` is the scenario's source, `s` its parse.
pub fn real_runnable(text: &str, s: &Scenario) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        let mut words = code.split_whitespace();
        if words.next() != Some("machine") {
            continue;
        }
        for (key, why) in HOST_OWNED {
            let Some(col) = code.find(&format!(" {key}")).map(|b| b + 1) else {
                continue;
            };
            let value = code[col + key.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("");
            if key == "swap=" && value == "0" {
                continue;
            }
            out.push(Diagnostic {
                pos: Pos {
                    line: i as u32 + 1,
                    col: code[..col].chars().count() as u32 + 1,
                },
                message: format!("a `{MARKER}` scenario cannot ask for {why}"),
            });
        }
    }
    for (stmt, op) in s.ops() {
        let why = match op {
            Op::Spawn { oom_score_adj, .. } if *oom_score_adj < 0 => {
                Some("a negative oom_score_adj: it needs CAP_SYS_RESOURCE, which real cases do not have")
            }
            Op::OomScoreAdj { value, .. } if *value < 0 => {
                Some("a negative oom_score_adj: it needs CAP_SYS_RESOURCE, which real cases do not have")
            }
            Op::Sysctl { sysctl, .. }
                if !matches!(
                    sysctl,
                    Sysctl::OvercommitMemory
                        | Sysctl::OvercommitRatio
                        | Sysctl::OvercommitKbytes
                        | Sysctl::MaxMapCount
                ) =>
            {
                Some("a sysctl other than vm.overcommit_* and vm.max_map_count: it would change the host for everyone")
            }
            _ => None,
        };
        if let Some(why) = why {
            // Machine-line options were reported above, at their own column.
            if !stmt.text.starts_with("machine") {
                out.push(Diagnostic {
                    pos: stmt.pos,
                    message: format!("a `{MARKER}` scenario cannot ask for {why}"),
                });
            }
        }
    }
    out.sort_by_key(|d| d.pos);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmlab_core::scenario::parse;

    fn errors(text: &str) -> Vec<String> {
        let s = parse(text).unwrap();
        real_runnable(text, &s)
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn the_marker_is_a_header_comment() {
        assert!(is_marked(
            "# A title\n#\n# real: yes\nmachine linux ram=1GiB\n"
        ));
        assert!(is_marked("  # real: yes  \nmachine linux ram=1GiB\n"));
        assert!(!is_marked("machine linux ram=1GiB\n# real: yes\n"));
        assert!(!is_marked("# real: no\nmachine linux ram=1GiB\n"));
        assert!(!is_marked(""));
    }

    #[test]
    fn what_a_host_can_be_passes() {
        let text = "# real: yes\nmachine linux measured overcommit=2 ratio=80 swap=0\n\
                    spawn a adj=500\na mmap x 30%ram rw private anon\n\
                    sysctl vm.max_map_count=1000\na oom_score_adj 0\n";
        assert_eq!(errors(text), Vec::<String>::new());
    }

    #[test]
    fn what_a_host_cannot_be_is_refused_at_its_column() {
        let e = errors(
            "# real: yes\nmachine linux measured kernel=4.19 swap=4GiB\n\
             spawn a adj=-100\na oom_score_adj -5\nsysctl vm.nr_hugepages=16\n\
             machine hugepages=2\n",
        );
        assert_eq!(e.len(), 6, "{e:?}");
        assert!(
            e[0].starts_with("2:24: ") && e[0].contains("kernel version"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("2:36: ") && e[1].contains("swap size"),
            "{e:?}"
        );
        assert!(
            e[2].starts_with("3:1: ") && e[2].contains("CAP_SYS_RESOURCE"),
            "{e:?}"
        );
        assert!(
            e[3].starts_with("4:1: ") && e[3].contains("CAP_SYS_RESOURCE"),
            "{e:?}"
        );
        assert!(
            e[4].starts_with("5:1: ") && e[4].contains("sysctl"),
            "{e:?}"
        );
        assert!(
            e[5].starts_with("6:9: ") && e[5].contains("huge pages"),
            "{e:?}"
        );
    }
}
