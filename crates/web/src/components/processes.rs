//! Every live process's address space side by side, one column each, on one shared address axis
//! so that the same region lines up across a parent and its children; the process the step acts
//! on is marked, one can be pinned, each VMA shows its pages' states in proportion, and the VMAs
//! the step merged, split or broke copy-on-write are highlighted in place.

use super::size;
use crate::render::palette::{self, PAGE_STATES};
use crate::views::{PageState, ProcView};
use yew::prelude::*;

/// At most this many columns; past it the focus, the acting and the pinned processes come first
/// and the rest are counted in a note ("+N more"). Every live process side by side is the rule
/// (issue 8's benchmark has 10): 12 columns of about 55 CSS px still fit the picture at 1280×720,
/// each name cut short with the whole of it in the hover text; more would be slivers.
pub const MAX_COLUMNS: usize = 12;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The processes to draw, in column order (see [`columns`]).
    pub procs: Vec<ProcView>,
    /// Live processes left out for want of room.
    pub hidden: usize,
    /// Processes the current step acted on.
    pub acting: Vec<u32>,
    pub focus: Option<u32>,
    pub pinned: Option<u32>,
    /// (pid, start, end) of VMAs the step created, merged or split.
    pub changed: Vec<(u32, u64, u64)>,
    /// (pid, start, end) of pages the step copied on write.
    pub cow: Vec<(u32, u64, u64)>,
    pub zoom: Option<u64>,
    pub on_pin: Callback<Option<u32>>,
    pub on_zoom: Callback<(u32, Option<u64>)>,
}

/// Which running processes get a column: all of them in pid order if they fit, else the
/// focus, the acting and the pinned ones first, then the rest by pid, up to `max`.
pub fn columns(procs: &[ProcView], first: &[u32], max: usize) -> (Vec<ProcView>, usize) {
    let running: Vec<&ProcView> = procs.iter().filter(|p| p.state == "running").collect();
    if running.len() <= max {
        return (running.into_iter().cloned().collect(), 0);
    }
    let mut keep: Vec<u32> = Vec::new();
    for pid in first.iter().chain(running.iter().map(|p| &p.pid)) {
        if keep.len() < max && !keep.contains(pid) && running.iter().any(|p| p.pid == *pid) {
            keep.push(*pid);
        }
    }
    // `running` is in pid order, and so is what is kept of it.
    let out: Vec<ProcView> = running
        .into_iter()
        .filter(|p| keep.contains(&p.pid))
        .cloned()
        .collect();
    let hidden = procs.iter().filter(|p| p.state == "running").count() - out.len();
    (out, hidden)
}

/// One band of the shared address axis: `[start, end)`, whether any shown process maps it, and
/// its share of the height. Gaps far larger than what is mapped are drawn as a fixed break.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub start: u64,
    pub end: u64,
    pub mapped: bool,
    pub elided: bool,
    pub top: f64,
    pub height: f64,
}

/// The shared axis: every VMA boundary of every shown process cuts it, so each VMA covers whole
/// bands and the same address is at the same height in every column. A band's height is half
/// equal share, half proportional to its size (small VMAs stay readable, large ones look large);
/// an unmapped gap is proportional when it is small, a fixed break when it is larger than a
/// tenth of everything mapped (a 64 MiB hole between two 64 MiB VMAs is drawn, a 40 TiB one
/// elided). Heights are fractions of 1. O(B log B) for B boundaries.
pub fn axis(procs: &[ProcView]) -> Vec<Band> {
    let mut cuts: Vec<u64> = procs
        .iter()
        .flat_map(|p| p.vmas.iter().flat_map(|v| [v.start, v.end]))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut bands: Vec<Band> = cuts
        .windows(2)
        .map(|w| {
            let (start, end) = (w[0], w[1]);
            // VMAs are in address order: the last one starting at or before `start` is the only
            // one that can cover the band.
            let mapped = procs.iter().any(|p| {
                let i = p.vmas.partition_point(|v| v.start <= start);
                i > 0 && p.vmas[i - 1].end >= end
            });
            Band {
                start,
                end,
                mapped,
                elided: false,
                top: 0.0,
                height: 0.0,
            }
        })
        .collect();
    let mapped_total: u64 = bands
        .iter()
        .filter(|b| b.mapped)
        .map(|b| b.end - b.start)
        .sum::<u64>()
        .max(1);
    let mapped_n = bands.iter().filter(|b| b.mapped).count().max(1) as f64;
    let weights: Vec<f64> = bands
        .iter_mut()
        .map(|b| {
            let share = (b.end - b.start) as f64 / mapped_total as f64;
            if b.mapped {
                1.0 / mapped_n + share
            } else if b.end - b.start > mapped_total / 10 {
                b.elided = true;
                0.35 / mapped_n
            } else {
                share.max(0.15 / mapped_n)
            }
        })
        .collect();
    let sum: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let mut top = 0.0;
    for (b, w) in bands.iter_mut().zip(weights) {
        b.top = top / sum;
        b.height = w / sum;
        top += w;
    }
    bands
}

/// The top and height (fractions) of `[start, end)` on the axis; both ends are band cuts.
fn place(bands: &[Band], start: u64, end: u64) -> (f64, f64) {
    let i = bands.partition_point(|b| b.start < start);
    let j = bands.partition_point(|b| b.end <= end);
    match (bands.get(i), j.checked_sub(1).and_then(|j| bands.get(j))) {
        (Some(a), Some(z)) => (a.top, z.top + z.height - a.top),
        _ => (0.0, 0.0),
    }
}

fn pct(f: f64) -> String {
    format!("{:.3}%", f * 100.0)
}

/// The page-state bar of one VMA: flex segments in proportion, coloured as the page view's legend.
fn state_bar(states: &[(PageState, u64)]) -> Html {
    let total: u64 = states.iter().map(|(_, n)| n).sum();
    let title: Vec<String> = states
        .iter()
        .map(|(s, n)| format!("{n} {}", PAGE_STATES[palette::index(*s)].0))
        .collect();
    html! {
        <span class="states" title={title.join(", ")} aria-hidden="true">
            { for states.iter().map(|(s, n)| html! {
                <span style={format!("flex-grow:{};background:{}", *n as f64 / total.max(1) as f64, PAGE_STATES[palette::index(*s)].1)}></span>
            }) }
        </span>
    }
}

/// `name` if it has at most `max` characters, else its start and its end around an ellipsis
/// (`long-worker-10` → `long…-10`), so names that differ at the end stay apart.
pub fn short_name(name: &str, max: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= max || max < 4 {
        return name.to_string();
    }
    let tail = (max - 1) / 2;
    let head = max - 1 - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[function_component(Processes)]
pub fn processes(p: &Props) -> Html {
    let bands = axis(&p.procs);
    let hits = |list: &[(u32, u64, u64)], pid: u32, s: u64, e: u64| {
        list.iter()
            .any(|(lp, ls, le)| *lp == pid && *ls < e && *le > s)
    };
    // Many narrow columns: each name shortened in its middle, so that `worker8` and `worker9`
    // stay told apart where an ellipsis at the end would make both `work…`.
    let many = p.procs.len() > 6;
    html! {
        <section class="panel gallery" aria-label="address spaces of every live process" id="picture" tabindex="-1">
            <div class="panel-head">
                <h2>{"Address spaces"}</h2>
                <span class="muted">{"same address, same height; ▶ acts in this step"}</span>
                if p.hidden > 0 { <span class="muted" id="hidden-procs">{format!("+{} more (table below)", p.hidden)}</span> }
            </div>
            <div class={classes!("gallery-cols", many.then_some("many"))} data-columns={p.procs.len().to_string()}>
                if bands.iter().any(|b| b.elided) {
                    <div class="axis" aria-hidden="true">
                        <div class="proc-head"></div>
                        <div class="proc-band">
                            { for bands.iter().filter(|b| b.elided).map(|b| html! {
                                <span class="axis-gap" style={format!("top:{};height:{}", pct(b.top), pct(b.height))} title={format!("an unmapped gap of {}, not to scale", size(b.end - b.start))}>{format!("⋯{}⋯", size(b.end - b.start))}</span>
                            }) }
                        </div>
                    </div>
                }
                { for p.procs.iter().map(|pr| {
                    let pid = pr.pid;
                    let acting = p.acting.contains(&pid);
                    let pinned = p.pinned == Some(pid);
                    let focus = p.focus == Some(pid);
                    let pin = p.on_pin.clone();
                    html! {
                        <div class={classes!("proc-col", acting.then_some("acting"), focus.then_some("focus"))} data-pid={pid.to_string()} data-name={pr.name.clone()}>
                            <div class="proc-head">
                                <span class="proc-name" title={format!("{} (pid {pid}), RSS {}", pr.name, size(pr.rss_bytes))}>{ if acting && !many { "▶ " } else { "" } }{ if many { short_name(&pr.name, 8) } else { pr.name.clone() } }<span class="muted proc-pid">{format!(" {pid}")}</span></span>
                                <span class="proc-sub">
                                    // Narrow columns keep the whole name on its line: the mark goes here.
                                    if acting && many { <span class="acting-mark" aria-label="acts in this step">{"▶"}</span> }
                                    <button class={classes!("pin", pinned.then_some("pinned"))} aria-pressed={pinned.to_string()}
                                        title={if pinned { "Unpin: the views follow the step again" } else { "Pin: the views stay on this process" }}
                                        onclick={move |_| pin.emit(if pinned { None } else { Some(pid) })}>{ if pinned { "pinned" } else { "pin" } }</button>
                                    <span class="proc-rss">{format!("RSS {}", size(pr.rss_bytes))}</span>
                                </span>
                            </div>
                            <div class="proc-band">
                                { for bands.iter().filter(|b| b.elided).map(|b| html! {
                                    <span class="band-gap" style={format!("top:{};height:{}", pct(b.top), pct(b.height))}></span>
                                }) }
                                { for pr.vmas.iter().map(|v| {
                                    let (top, height) = place(&bands, v.start, v.end);
                                    let changed = hits(&p.changed, pid, v.start, v.end);
                                    let cow = hits(&p.cow, pid, v.start, v.end);
                                    let zoomed = focus && p.zoom == Some(v.start);
                                    let zoom = p.on_zoom.clone();
                                    let start = v.start;
                                    let title = format!("{} of {}: {:x}-{:x} {} ({}) [{}]{}{}\n{}", v.name, pr.name, v.start, v.end, v.perms, size(v.size_bytes()), v.flags.join(" "),
                                        if changed { " — created, merged or split by this step" } else { "" },
                                        if cow { " — copy-on-write broken by this step" } else { "" },
                                        crate::flags::explain_all(&v.flags));
                                    html! {
                                        <button class={classes!("gvma", changed.then_some("changed"), cow.then_some("cow"), zoomed.then_some("zoomed"), v.flags.iter().any(|f| f == "sh").then_some("shared"))}
                                            style={format!("top:{};height:{}", pct(top), pct(height))} title={title.clone()} aria-label={title}
                                            onclick={move |_| zoom.emit((pid, if zoomed { None } else { Some(start) }))}>
                                            { state_bar(&v.state_pages) }
                                            <span class="gname">{v.name.clone()}</span>
                                            <span class="gsize">{size(v.size_bytes())}</span>
                                            if cow { <span class="badge">{"COW"}</span> }
                                        </button>
                                    }
                                }) }
                            </div>
                        </div>
                    }
                }) }
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::VmaView;

    fn vma(start: u64, end: u64) -> VmaView {
        VmaView {
            start,
            end,
            perms: "rw-p".into(),
            flags: vec![],
            name: "a".into(),
            rss_bytes: 0,
            state_pages: vec![],
        }
    }

    fn proc_(pid: u32, vmas: Vec<VmaView>) -> ProcView {
        ProcView::for_test(pid, vmas, vec![])
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn the_same_address_is_at_the_same_height_in_every_column() {
        let base = 0x7f00_0000_0000;
        // The parent has one 64 MiB VMA; the child split its copy in three (an mprotect).
        let parent = proc_(1, vec![vma(base, base + 64 * MIB)]);
        let child = proc_(
            2,
            vec![
                vma(base, base + 16 * MIB),
                vma(base + 16 * MIB, base + 48 * MIB),
                vma(base + 48 * MIB, base + 64 * MIB),
            ],
        );
        let bands = axis(&[parent.clone(), child.clone()]);
        assert_eq!(bands.len(), 3);
        let (pt, ph) = place(&bands, base, base + 64 * MIB);
        let (c0, _) = place(&bands, base, base + 16 * MIB);
        let (c2, c2h) = place(&bands, base + 48 * MIB, base + 64 * MIB);
        assert!((pt - c0).abs() < 1e-9 && (pt + ph - (c2 + c2h)).abs() < 1e-9);
        assert!((bands.iter().map(|b| b.height).sum::<f64>() - 1.0).abs() < 1e-9);
        // The middle piece is larger than the outer ones, and each is readable.
        assert!(bands[1].height > bands[0].height && bands[0].height > 0.2);
    }

    #[test]
    fn small_gaps_are_drawn_and_huge_ones_elided() {
        let p = proc_(
            1,
            vec![
                vma(0x1000_0000, 0x1000_0000 + 64 * MIB),
                vma(0x1000_0000 + 65 * MIB, 0x1000_0000 + 129 * MIB),
                vma(0x7f00_0000_0000, 0x7f00_0000_0000 + 64 * MIB),
            ],
        );
        let bands = axis(&[p]);
        let gaps: Vec<&Band> = bands.iter().filter(|b| !b.mapped).collect();
        assert_eq!(gaps.len(), 2);
        assert!(!gaps[0].elided && gaps[1].elided);
        assert!(gaps[0].height < bands[0].height && gaps[1].height < bands[0].height);
    }

    #[test]
    fn long_names_are_shortened_in_the_middle() {
        assert_eq!(short_name("worker9", 8), "worker9");
        assert_eq!(short_name("long-worker-10", 8), "long…-10");
        assert_eq!(short_name("ab", 2), "ab");
        assert_eq!(short_name("λλλλλλλλλλ", 8).chars().count(), 8);
    }

    #[test]
    fn twelve_processes_all_get_a_column() {
        let procs: Vec<ProcView> = (1..=12).map(|i| proc_(i, vec![])).collect();
        assert_eq!(columns(&procs, &[3], MAX_COLUMNS).1, 0);
        let procs: Vec<ProcView> = (1..=13).map(|i| proc_(i, vec![])).collect();
        assert_eq!(columns(&procs, &[3], MAX_COLUMNS).1, 1);
    }

    #[test]
    fn too_many_processes_keep_the_acting_ones() {
        let procs: Vec<ProcView> = (1..=12).map(|i| proc_(i, vec![])).collect();
        let (shown, hidden) = columns(&procs, &[11, 12], 8);
        assert_eq!((shown.len(), hidden), (8, 4));
        assert!(shown.iter().any(|p| p.pid == 11) && shown.iter().any(|p| p.pid == 12));
        assert!(shown.windows(2).all(|w| w[0].pid < w[1].pid));
        let (all, none) = columns(&procs[..5], &[3], 8);
        assert_eq!((all.len(), none), (5, 0));
    }
}
