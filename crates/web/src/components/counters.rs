//! Counters at the current step: RAM (used, cache, free), Committed_AS against CommitLimit with the
//! overcommit mode's real rule drawn, and swap, side by side so they stay on the main screen; the
//! per-process table and the chart canvas, which live in the second pane.

use super::size;
use crate::views::{CommitRuleView, SnapshotView};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub snap: SnapshotView,
}

#[derive(Properties, PartialEq)]
pub struct TableProps {
    pub snap: SnapshotView,
    pub pinned: Option<u32>,
    /// Pins a process (the views stay on it) or, with its pid again, unpins.
    pub on_pin: Callback<Option<u32>>,
}

#[derive(Properties, PartialEq)]
pub struct ChartProps {
    pub chart: NodeRef,
    pub chart_overlay: NodeRef,
    /// (label, colour, line width) of each line, as `render::charts::legend` gives them.
    pub legend: Vec<(String, (u8, u8, u8), u32)>,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
    }
}

/// The commit gauge's scale and the rule's line: (scale, marker position, marker label).
pub fn commit_gauge(snap: &SnapshotView) -> (u64, Option<(u64, String)>) {
    let m = &snap.mem;
    match snap.rule {
        CommitRuleView::Never { allowed_bytes } => {
            let scale = m.commit_limit.max(m.committed_as).max(1);
            (
                scale,
                Some((
                    allowed_bytes,
                    format!(
                        "mode 2: Committed_AS must stay below {} (CommitLimit less reserves)",
                        size(allowed_bytes)
                    ),
                )),
            )
        }
        CommitRuleView::Guess { per_request_bytes } => {
            let scale = m
                .commit_limit
                .max(m.committed_as)
                .max(per_request_bytes)
                .max(1);
            (
                scale,
                Some((
                    per_request_bytes,
                    format!(
                        "mode 0: any single request larger than {} fails",
                        size(per_request_bytes)
                    ),
                )),
            )
        }
        CommitRuleView::Always => (m.commit_limit.max(m.committed_as).max(1), None),
    }
}

#[function_component(Counters)]
pub fn counters(p: &Props) -> Html {
    let m = &p.snap.mem;
    let used = m
        .mem_total
        .saturating_sub(m.mem_free)
        .saturating_sub(m.cached);
    let (scale, marker) = commit_gauge(&p.snap);
    let over = matches!(p.snap.rule, CommitRuleView::Never { allowed_bytes } if m.committed_as >= allowed_bytes);
    html! {
        <section class="panel counters" aria-label="counters" id="counters">
            <div class="gauge">
                <div class="glabel"><strong>{"RAM "}</strong>{size(m.mem_total)}</div>
                <div class="bar">
                    <span class="fill used" style={format!("width:{:.2}%", pct(used, m.mem_total))}></span>
                    <span class="fill cache" style={format!("width:{:.2}%", pct(m.cached, m.mem_total))}></span>
                </div>
                <div class="gnote" title={format!("used {}, page cache {}, free {}", size(used), size(m.cached), size(m.mem_free))}>{format!("used {} · cache {} · free {}", size(used), size(m.cached), size(m.mem_free))}</div>
            </div>
            <div class="gauge">
                <div class="glabel" title={format!("Committed_AS {} of CommitLimit {}", size(m.committed_as), size(m.commit_limit))}><strong><code>{"Committed_AS"}</code></strong>{format!(" {} of ", size(m.committed_as))}<code>{"CommitLimit"}</code>{format!(" {}", size(m.commit_limit))}</div>
                <div class="bar">
                    <span class={classes!("fill", "commit", over.then_some("over"))} style={format!("width:{:.2}%", pct(m.committed_as, scale))}></span>
                    <span class="limit" style={format!("left:{:.2}%", pct(m.commit_limit, scale))} title="CommitLimit"></span>
                    if let Some((at, _)) = &marker {
                        <span class="rule" style={format!("left:{:.2}%", pct(*at, scale))}></span>
                    }
                </div>
                { { let note = marker.map(|(_, l)| l).unwrap_or_else(|| "mode 1: the kernel never refuses; Committed_AS is only reported".into());
                    html! { <div class="gnote" title={note.clone()}>{note}</div> } } }
            </div>
            <div class="gauge">
                <div class="glabel"><strong>{"Swap "}</strong>{size(m.swap_total)}</div>
                <div class="bar"><span class="fill swap" style={format!("width:{:.2}%", pct(m.swap_total.saturating_sub(m.swap_free), m.swap_total))}></span></div>
                <div class="gnote">{format!("{} used", size(m.swap_total.saturating_sub(m.swap_free)))}</div>
            </div>
        </section>
    }
}

/// Every process (running or not) with its RSS, PSS, VmSize and oom_score; a name pins it.
#[function_component(ProcTable)]
pub fn proc_table(p: &TableProps) -> Html {
    html! {
        <section class="panel proc-table" aria-label="processes">
            <h2>{"Processes"}</h2>
            <table class="procs">
                <thead><tr><th>{"pid"}</th><th>{"process"}</th><th>{"state"}</th><th>{"RSS"}</th><th>{"PSS"}</th><th>{"VmSize"}</th><th>{"oom_score"}</th></tr></thead>
                <tbody>
                    { for p.snap.processes.iter().map(|pr| {
                        let pin = p.on_pin.clone();
                        let pid = pr.pid;
                        let selected = p.pinned == Some(pid);
                        html! {
                            <tr class={classes!(selected.then_some("selected"))}>
                                <td>{pr.pid}</td>
                                <td><button class="linkish" onclick={move |_| pin.emit((!selected).then_some(pid))} title={if selected { "Unpin" } else { "Pin: the views stay on this process" }} aria-pressed={selected.to_string()}>{pr.name.clone()}</button></td>
                                <td>{pr.state.clone()}</td>
                                <td>{size(pr.rss_bytes)}</td><td>{size(pr.pss_bytes)}</td><td>{size(pr.vm_size_bytes)}</td><td>{pr.oom_score}</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </section>
    }
}

/// The chart's two canvases: the series, and the cursor line laid over them.
#[function_component(Chart)]
pub fn chart(p: &ChartProps) -> Html {
    html! {
        <section class="panel chart-panel" aria-label="chart">
            <h2>{"Over the steps"}</h2>
            <div class="chart-wrap">
                <canvas ref={p.chart.clone()} id="chart" role="img" aria-label="Committed_AS, CommitLimit, free RAM and RSS over the steps" />
                <canvas ref={p.chart_overlay.clone()} class="chart-cursor" aria-hidden="true" />
            </div>
            <ul class="legend chart-legend" id="chart-legend">
                { for p.legend.iter().map(|(name, (r, g, b), w)| html! {
                    <li><span class="line-key" style={format!("border-top:{}px solid rgb({r},{g},{b})", w + 2)}></span>{name.clone()}</li>
                }) }
            </ul>
        </section>
    }
}
