//! The lab's state without the DOM: the scenario text, its parsed and replayed run, the cursor, and
//! the verbs that change them. The `App` component owns one `Lab` and turns messages into these
//! calls, so everything here is testable natively and under wasm alike.

use crate::engine::{self, Sim};
use crate::share::{self, Shared};
use crate::views::DiagView;

/// A second run of the same scenario under one changed setting, shown side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareWith {
    /// overcommit 0 against 2 (or 2 against 0 if the scenario already uses 2).
    OvercommitMode,
    /// kernel 4.19 against 6.6.
    Kernel,
    /// 4 GiB more swap.
    MoreSwap,
    /// The same workload on the other OS: the scenario its header names as its pair
    /// (`pair: same-workload-windows.vmlab`), a Linux half against a Windows half.
    OtherOs,
}

impl CompareWith {
    pub const ALL: [CompareWith; 4] = [
        CompareWith::OvercommitMode,
        CompareWith::Kernel,
        CompareWith::MoreSwap,
        CompareWith::OtherOs,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CompareWith::OvercommitMode => "overcommit 0 ↔ 2",
            CompareWith::Kernel => "kernel 4.19 ↔ 6.6",
            CompareWith::MoreSwap => "+4 GiB swap",
            CompareWith::OtherOs => "Linux ↔ Windows (the pair)",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            CompareWith::OvercommitMode => "mode",
            CompareWith::Kernel => "kernel",
            CompareWith::MoreSwap => "swap",
            CompareWith::OtherOs => "os",
        }
    }

    pub fn from_key(k: &str) -> Option<CompareWith> {
        CompareWith::ALL.into_iter().find(|c| c.key() == k)
    }

    /// The other run's text: for `OtherOs` the library scenario the header names as its pair
    /// (an error if it names none or an unknown file), else the text with the setting changed on
    /// its `machine` line.
    pub fn other_text(self, text: &str) -> Result<String, String> {
        if self != CompareWith::OtherOs {
            return Ok(self.rewrite(text));
        }
        let pair = text
            .lines()
            .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            .find_map(|l| {
                let i = l.find("pair:")?;
                let name = l[i + 5..].split_whitespace().next()?;
                Some(name.trim_end_matches([')', '.', ',']).to_string())
            })
            .ok_or_else(|| {
                "this scenario names no Linux/Windows pair (a header line `pair: FILE.vmlab`, as \
                 in same-workload-linux.vmlab)"
                    .to_string()
            })?;
        let file = if pair.ends_with(".vmlab") {
            pair
        } else {
            format!("{pair}.vmlab")
        };
        crate::library::entries()
            .into_iter()
            .find(|e| e.file == file)
            .map(|e| e.text.to_string())
            .ok_or_else(|| format!("the pair {file} is not in the library"))
    }

    /// The scenario text with the setting changed on its `machine` line.
    pub fn rewrite(self, text: &str) -> String {
        if self == CompareWith::OtherOs {
            return self.other_text(text).unwrap_or_default();
        }
        let mut done = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let code = line.split('#').next().unwrap_or("");
                if done || code.split_whitespace().next() != Some("machine") {
                    return line.to_string();
                }
                done = true;
                let (key, value) = match self {
                    CompareWith::OvercommitMode => {
                        let now = setting(code, "overcommit").unwrap_or("0");
                        (
                            "overcommit",
                            if now == "2" {
                                "0".to_string()
                            } else {
                                "2".to_string()
                            },
                        )
                    }
                    CompareWith::Kernel => {
                        let now = setting(code, "kernel").unwrap_or("6.6");
                        (
                            "kernel",
                            if now.starts_with("4.") {
                                "6.6".to_string()
                            } else {
                                "4.19".to_string()
                            },
                        )
                    }
                    CompareWith::MoreSwap => {
                        let now = setting(code, "swap").unwrap_or("0");
                        ("swap", more_swap(now))
                    }
                    CompareWith::OtherOs => unreachable!("handled by other_text above"),
                };
                set_setting(line, key, &value)
            })
            .collect();
        let mut out = lines.join("\n");
        if text.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

fn setting<'a>(code: &'a str, key: &str) -> Option<&'a str> {
    code.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn set_setting(line: &str, key: &str, value: &str) -> String {
    let (code, comment) = match line.find('#') {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, ""),
    };
    let prefix = format!("{key}=");
    let mut found = false;
    let mut words: Vec<String> = code
        .split_whitespace()
        .map(|w| {
            if w.starts_with(&prefix) {
                found = true;
                format!("{prefix}{value}")
            } else {
                w.to_string()
            }
        })
        .collect();
    if !found {
        words.push(format!("{prefix}{value}"));
    }
    let mut s = words.join(" ");
    if !comment.is_empty() {
        s.push_str("  ");
        s.push_str(comment);
    }
    s
}

/// `swap=0` → `4GiB`; `swap=2GiB` → `6GiB`; anything else gets `+4GiB` by rewriting to GiB when it can.
fn more_swap(now: &str) -> String {
    let digits: String = now.chars().take_while(char::is_ascii_digit).collect();
    let unit = &now[digits.len()..];
    let n: u64 = digits.parse().unwrap_or(0);
    match unit {
        "" | "GiB" | "G" => format!("{}GiB", n + 4),
        "MiB" | "M" => format!("{}MiB", n + 4096),
        "TiB" | "T" => format!("{}GiB", n * 1024 + 4),
        _ => "4GiB".to_string(),
    }
}

/// A second run and the first step where its outcome differs from the main run's.
pub struct Comparison {
    pub with: CompareWith,
    pub text: String,
    pub sim: Result<Sim, Vec<DiagView>>,
    pub first_divergence: Option<u32>,
}

impl Comparison {
    /// The other run of `text` under `with`; a missing pair is its error at line 1.
    fn of(with: CompareWith, text: &str) -> Comparison {
        let (text, sim) = match with.other_text(text) {
            Ok(t) => {
                let sim = engine::load(&t);
                (t, sim)
            }
            Err(message) => (
                String::new(),
                Err(vec![DiagView {
                    line: 1,
                    col: 1,
                    message,
                }]),
            ),
        };
        Comparison {
            with,
            text,
            sim,
            first_divergence: None,
        }
    }
}

/// The lab: everything the app shows, derived from the scenario text by replay.
pub struct Lab {
    pub text: String,
    pub sim: Result<Sim, Vec<DiagView>>,
    /// 0 is the booted machine; N is after the N-th operation.
    pub cursor: u32,
    /// The process the views show (its pages, its /proc files): the pinned one, else the one the
    /// step acts on (`views::focus`).
    pub selected_pid: Option<u32>,
    /// A process the user pinned: the views stay on it whatever the step touches.
    pub pinned: Option<u32>,
    /// Zoomed into one VMA of the selected process (its start address).
    pub zoom_vma: Option<u64>,
    pub seed: Option<u64>,
    /// A message for the user that is not a scenario error (a damaged link, a failed import).
    pub notice: Option<String>,
    pub comparison: Option<Comparison>,
    /// While the text does not parse (half a word typed), the place in the last run that did: it
    /// is where the student goes back to when the text parses again.
    last_good: Option<Place>,
}

/// A place in a run: the text it ran, its step and that step's line (None at step 0).
struct Place {
    text: String,
    cursor: u32,
    line: Option<u32>,
}

impl Lab {
    pub fn new(text: String) -> Lab {
        let sim = engine::load(&text);
        Lab {
            text,
            sim,
            cursor: 0,
            selected_pid: None,
            pinned: None,
            zoom_vma: None,
            seed: None,
            notice: None,
            comparison: None,
            last_good: None,
        }
    }

    /// The state a URL fragment describes; a damaged link gives the library's first scenario (or
    /// `fallback`) with a notice saying what was wrong, never a blank page.
    pub fn from_fragment(fragment: &str, fallback: &str) -> Lab {
        match share::decode(fragment) {
            Ok(Some(s)) => {
                let mut lab = Lab::new(s.text);
                lab.seed = s.seed;
                lab.jump(s.step);
                lab.compare(share::compare_key(fragment).and_then(CompareWith::from_key));
                lab
            }
            Ok(None) => Lab::new(fallback.to_string()),
            Err(why) => {
                let mut lab = Lab::new(fallback.to_string());
                lab.notice = Some(format!(
                    "This link could not be opened: {why}. Showing the library instead."
                ));
                lab
            }
        }
    }

    pub fn fragment(&self) -> String {
        share::with_compare(
            &share::encode(&Shared {
                text: self.text.clone(),
                step: self.cursor,
                seed: self.seed,
            }),
            self.comparison.as_ref().map(|c| c.with.key()),
        )
    }

    pub fn steps(&self) -> u32 {
        self.sim.as_ref().map(Sim::steps).unwrap_or(0)
    }

    pub fn diagnostics(&self) -> &[DiagView] {
        match &self.sim {
            Ok(_) => &[],
            Err(d) => d,
        }
    }

    /// Replaces the text (typing) and replays, keeping the student's place: an edit after the
    /// current step's line keeps the step; an edit at or before it moves to the last step before
    /// the first step whose line is at or after the first changed line (step 0 if there is none).
    /// The first changed line is the first line (1-based) where the old and the new text differ.
    ///
    /// Typing passes through texts that do not parse (`s`, `sp`, … of `spawn c`): such a text has
    /// no steps, so the place is kept aside (`last_good`) and, once the text parses again, the rule
    /// is applied between the last text that parsed and the new one.
    pub fn edit(&mut self, text: String) {
        let sim = engine::load(&text);
        let old_text = std::mem::replace(&mut self.text, text);
        let place = match std::mem::replace(&mut self.sim, sim) {
            Ok(old) => Some(Place {
                line: old
                    .run
                    .steps
                    .get(
                        self.cursor
                            .checked_sub(1)
                            .map_or(usize::MAX, |i| i as usize),
                    )
                    .map(|s| s.line),
                cursor: self.cursor,
                text: old_text,
            }),
            Err(_) => self.last_good.take(),
        };
        match &self.sim {
            Err(_) => self.last_good = place,
            Ok(sim) => {
                if let Some(p) = place {
                    self.cursor = p.cursor;
                    if let (Some(edited), Some(line)) =
                        (first_changed_line(&p.text, &self.text), p.line)
                    {
                        if edited <= line {
                            // The steps before the first one whose line is at or after the edit
                            // (a `repeat` block's steps revisit lines, so they are not sorted by
                            // line: scan, don't bisect).
                            self.cursor = sim
                                .run
                                .steps
                                .iter()
                                .position(|s| s.line >= edited)
                                .unwrap_or(sim.run.steps.len())
                                as u32;
                        }
                    }
                }
            }
        }
        self.cursor = self.cursor.min(self.steps());
        self.refresh_comparison();
    }

    /// Loads a new scenario from the start.
    pub fn open(&mut self, text: String, seed: Option<u64>) {
        self.seed = seed;
        self.cursor = 0;
        self.zoom_vma = None;
        self.selected_pid = None;
        self.pinned = None;
        self.notice = None;
        self.last_good = None;
        self.text = text;
        self.sim = engine::load(&self.text);
        self.refresh_comparison();
    }

    pub fn step(&mut self) -> bool {
        if self.cursor < self.steps() {
            self.cursor += 1;
            true
        } else {
            false
        }
    }

    pub fn back(&mut self) -> bool {
        if self.cursor > 0 {
            self.cursor -= 1;
            true
        } else {
            false
        }
    }

    pub fn jump(&mut self, step: u32) {
        self.cursor = step.min(self.steps());
    }

    pub fn reset(&mut self) {
        self.cursor = 0;
    }

    pub fn at_end(&self) -> bool {
        self.cursor >= self.steps()
    }

    pub fn compare(&mut self, with: Option<CompareWith>) {
        self.comparison = with.map(|w| Comparison::of(w, &self.text));
        self.refresh_comparison();
    }

    fn refresh_comparison(&mut self) {
        let Some(c) = self.comparison.take() else {
            return;
        };
        let mut c = if c.text == c.with.rewrite(&self.text) {
            c
        } else {
            Comparison::of(c.with, &self.text)
        };
        c.first_divergence = match (&self.sim, &c.sim) {
            // Across OSes the outcomes are written differently (an mmap returns its address, an
            // alloc does not): the first step one side refuses and the other does not.
            (Ok(a), Ok(b)) if c.with == CompareWith::OtherOs => {
                first_divergence_by(a, b, |x, y| x.ok != y.ok)
            }
            (Ok(a), Ok(b)) => first_divergence(a, b),
            _ => None,
        };
        self.comparison = Some(c);
    }
}

/// The first line (1-based) where two texts differ, or None if they are equal.
pub fn first_changed_line(old: &str, new: &str) -> Option<u32> {
    if old == new {
        return None;
    }
    let common = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    Some(
        old.as_bytes()[..common]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32
            + 1,
    )
}

/// The first step whose outcome differs between two runs, or where one run stops before the other.
pub fn first_divergence(a: &Sim, b: &Sim) -> Option<u32> {
    first_divergence_by(a, b, |x, y| x.outcome != y.outcome)
}

/// The first step (1-based) where `differ` says the two runs' steps differ, or where one run
/// stops before the other.
fn first_divergence_by(
    a: &Sim,
    b: &Sim,
    differ: impl Fn(&crate::views::StepView, &crate::views::StepView) -> bool,
) -> Option<u32> {
    let (sa, sb) = (&a.run.steps, &b.run.steps);
    for (x, y) in sa.iter().zip(sb.iter()) {
        if differ(x, y) {
            return Some(x.step);
        }
    }
    (sa.len() != sb.len()).then(|| sa.len().min(sb.len()) as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str =
        "# intro\nmachine linux ram=24GiB swap=0 overcommit=0 kernel=6.6  # the box\nspawn app\n";

    /// The Linux half of the same workload compares with its Windows half: the first
    /// divergence is the second allocation (mode 0 lets it through, Windows fails the commit),
    /// and the Linux run kills a later, when the pages are touched.
    #[test]
    fn the_linux_windows_pair_diverges_at_the_second_allocation() {
        let text = include_str!("../../../scenarios/same-workload-linux.vmlab");
        let mut lab = Lab::new(text.to_string());
        lab.compare(Some(CompareWith::OtherOs));
        let c = lab.comparison.as_ref().expect("a comparison");
        assert!(c.text.contains("machine windows"));
        let (Ok(l), Ok(w)) = (&lab.sim, &c.sim) else {
            panic!("both halves load");
        };
        let o = |s: &Sim| {
            s.run
                .steps
                .iter()
                .map(|x| (x.outcome.clone(), x.ok))
                .collect::<Vec<_>>()
        };
        assert_eq!(c.first_divergence, Some(4), "{:?} {:?}", o(l), o(w));
        assert!(w.run.steps[3].outcome.starts_with("ERROR_COMMITMENT_LIMIT"));
        assert!(
            w.run.steps[2].ok,
            "a successful alloc is ok: {}",
            w.run.steps[2].outcome
        );
        assert!(l.run.steps[3].ok && !w.run.steps[3].ok);
        assert!(l
            .run
            .steps
            .iter()
            .any(|s| s.events.iter().any(|e| e.oom.is_some())));
        // A scenario without a pair says so instead of comparing with nothing.
        lab.edit("machine linux ram=1GiB\nspawn a\n".to_string());
        let c = lab.comparison.as_ref().expect("a comparison");
        assert!(matches!(&c.sim, Err(d) if d[0].message.contains("no Linux/Windows pair")));
    }

    /// Wine's mapping: the Linux half (the mmap and mprotect calls Wine makes) and the Windows
    /// half refuse nothing, and their charges move together; the runs differ only where the
    /// Linux half spells MEM_DECOMMIT's MAP_FIXED remap as a second call (step 7).
    #[test]
    fn the_wine_mapping_pair_agrees_until_the_decommit_s_second_call() {
        let text = include_str!("../../../scenarios/wine-mapping-linux.vmlab");
        let mut lab = Lab::new(text.to_string());
        lab.compare(Some(CompareWith::OtherOs));
        let c = lab.comparison.as_ref().expect("a comparison");
        assert!(c.text.contains("machine windows"));
        let (Ok(l), Ok(w)) = (&lab.sim, &c.sim) else {
            panic!("both halves load");
        };
        assert_eq!(c.first_divergence, Some(7));
        assert_eq!((l.run.steps.len(), w.run.steps.len()), (7, 6));
        assert!(l.run.steps.iter().chain(&w.run.steps).all(|s| s.ok));
        assert!(l.run.checks.iter().chain(&w.run.checks).all(|c| c.passed));
        // Step by step the Linux commit ledger follows the Windows one: 0, 0, +16 MiB at the
        // commit, unchanged by the write, 0 after the decommit.
        let (lc, wc) = (&l.series.committed_as, &w.series.committed_as);
        for step in 0..=6 {
            assert_eq!(lc[step], wc[step], "step {step}");
        }
        assert_eq!(wc[4], 16 << 20);
        assert_eq!(lc[7], 0);
    }

    #[test]
    fn compare_rewrites_the_machine_line_only() {
        let t = CompareWith::OvercommitMode.rewrite(M);
        assert_eq!(t, "# intro\nmachine linux ram=24GiB swap=0 overcommit=2 kernel=6.6  # the box\nspawn app\n");
        assert!(CompareWith::Kernel.rewrite(M).contains("kernel=4.19"));
        assert!(CompareWith::MoreSwap.rewrite(M).contains("swap=4GiB"));
        assert!(CompareWith::MoreSwap
            .rewrite("machine linux swap=2GiB")
            .contains("swap=6GiB"));
        assert!(CompareWith::Kernel
            .rewrite("machine linux ram=1GiB")
            .ends_with("kernel=4.19"));
    }

    #[test]
    fn a_damaged_link_shows_a_notice_and_the_fallback() {
        let lab = Lab::from_fragment("#s=AAA!&t=2", "machine linux\n");
        assert_eq!(lab.text, "machine linux\n");
        assert!(lab
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("could not be opened")));
    }

    #[test]
    fn a_link_round_trips_text_and_seed() {
        let mut lab = Lab::new(M.to_string());
        lab.seed = Some(99);
        let back = Lab::from_fragment(&lab.fragment(), "");
        assert_eq!(back.text, M);
        assert_eq!(back.seed, Some(99));
        assert!(back.notice.is_none());
    }

    #[test]
    fn a_link_keeps_the_compare_setting() {
        let mut lab = Lab::new(M.to_string());
        lab.jump(1);
        lab.compare(Some(CompareWith::Kernel));
        let f = lab.fragment();
        assert!(f.ends_with("&cmp=kernel"), "{f}");
        let back = Lab::from_fragment(&f, "");
        assert_eq!(
            back.comparison.as_ref().map(|c| c.with),
            Some(CompareWith::Kernel)
        );
        assert!(back.comparison.as_ref().is_some_and(|c| c.sim.is_ok()));
        assert_eq!(back.cursor, 1);
        lab.compare(None);
        assert!(Lab::from_fragment(&lab.fragment(), "").comparison.is_none());
    }

    const FOUR: &str =
        "machine linux ram=4GiB\nspawn a\na mmap x 1MiB rw private anon\na write x\nspawn b\n";

    #[test]
    fn an_edit_after_the_step_keeps_it_and_one_before_moves_back() {
        assert_eq!(first_changed_line("a\nb\nc", "a\nb\nc"), None);
        assert_eq!(first_changed_line("a\nb\nc", "a\nB\nc"), Some(2));
        assert_eq!(first_changed_line("a\nb", "a\nb\nc"), Some(2));
        assert_eq!(first_changed_line("x", "y"), Some(1));
        let mut lab = Lab::new(FOUR.to_string());
        assert_eq!(lab.steps(), 4);
        lab.jump(3); // `a write x`, line 4
        lab.edit(format!("{FOUR}spawn c\n"));
        assert_eq!(lab.cursor, 3, "a line added after the step keeps it");
        lab.edit(FOUR.replace("spawn b", "spawn bb"));
        assert_eq!(lab.cursor, 3, "an edit of a later line keeps the step");
        lab.edit(FOUR.replace("a write x", "a write  x"));
        assert_eq!(
            lab.cursor, 2,
            "an edit of the step's own line moves to the step before it"
        );
        lab.jump(4);
        lab.edit(FOUR.replace("1MiB", "2MiB"));
        assert_eq!(
            lab.cursor, 1,
            "an edit of line 3 leaves steps 1 (line 2) standing"
        );
        lab.jump(4);
        lab.edit(FOUR.replace("ram=4GiB", "ram=8GiB"));
        assert_eq!(
            lab.cursor, 0,
            "an edit of the machine line goes back to the boot"
        );
    }

    /// Typing a line character by character passes through texts that do not parse (`s`, `sp`,
    /// …): the step is kept through them, not reset to 0 (issue 8).
    #[test]
    fn typing_through_parse_errors_keeps_the_step() {
        let type_in = |lab: &mut Lab, at: usize, what: &str| {
            let mut text = lab.text.clone();
            for (i, c) in what.chars().enumerate() {
                text.insert(at + i, c);
                lab.edit(text.clone());
            }
        };
        let mut lab = Lab::new(FOUR.to_string());
        lab.jump(3); // `a write x`, line 4
        let end = lab.text.len();
        type_in(&mut lab, end, "spawn c\n");
        assert!(lab.sim.is_ok(), "{:?}", lab.diagnostics());
        assert_eq!(lab.steps(), 5);
        assert_eq!(lab.cursor, 3, "a line typed after the step keeps it");
        // Half-way through a word the text does not parse, and the step shows 0 meanwhile …
        let end = lab.text.len();
        type_in(&mut lab, end, "sp");
        assert!(lab.sim.is_err() && lab.cursor == 0);
        // … until it parses again.
        type_in(&mut lab, end + 2, "awn d\n");
        assert_eq!(lab.cursor, 3);
        // Typing before the step's line (a new line 3, through errors) moves before it.
        let at = FOUR.find("a mmap").unwrap();
        type_in(&mut lab, at, "spawn e\n");
        assert!(lab.sim.is_ok(), "{:?}", lab.diagnostics());
        assert_eq!(
            lab.cursor, 1,
            "an edit of line 3 leaves step 1 (line 2) standing"
        );
        // Opening another scenario forgets the place.
        lab.jump(4);
        lab.edit("spawn".to_string());
        lab.open(FOUR.to_string(), None);
        lab.edit(format!("{FOUR}spawn z\n"));
        assert_eq!(lab.cursor, 0);
    }

    #[test]
    fn the_cursor_stays_in_range() {
        let mut lab = Lab::new(M.to_string());
        lab.jump(1000);
        assert_eq!(lab.cursor, lab.steps());
        assert!(!lab.step() || lab.cursor <= lab.steps());
        lab.reset();
        assert!(!lab.back());
    }
}
