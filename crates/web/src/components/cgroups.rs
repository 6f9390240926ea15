//! Memory cgroups and the OOM killer at the current step: the cgroup tree with a bar per cgroup
//! (memory.current against memory.high and memory.max, the pod's QoS class for a kube cgroup),
//! a chart of memory.current per cgroup (those without a child) over the steps, and each OOM kill's whole candidate
//! table with the constraint and the victim highlighted. Every number is the core's.

use super::size;
use crate::views::{CgroupView, OomView};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TreeProps {
    pub cgroups: Rc<Vec<CgroupView>>,
    /// `v1` or `v2`: which file names the numbers are shown under.
    pub version: String,
    /// The machine's RAM: the scale of a cgroup without a limit.
    pub mem_total: u64,
    pub chart: NodeRef,
    pub chart_overlay: NodeRef,
    /// (label, colour, line width) of each memory.current line, as `render::charts` draws them.
    pub legend: Vec<(String, (u8, u8, u8), u32)>,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
    }
}

/// The file names of the numbers on each hierarchy: (current, high, max, peak, oom_kill,
/// swap).
fn file_names(version: &str) -> [&'static str; 6] {
    if version == "v1" {
        [
            "memory.usage_in_bytes",
            "",
            "memory.limit_in_bytes",
            "memory.max_usage_in_bytes",
            "memory.oom_control oom_kill",
            "memory.stat total_swap",
        ]
    } else {
        [
            "memory.current",
            "memory.high",
            "memory.max",
            "memory.peak",
            "memory.events oom_kill",
            "memory.swap.current",
        ]
    }
}

fn limit_text(v: Option<u64>) -> String {
    v.map(size).unwrap_or_else(|| "max".into())
}

fn qos_badge(pod: &(String, Option<String>, Option<String>)) -> Html {
    let (qos, name, container) = pod;
    let what = match (name, container) {
        (Some(p), Some(c)) => format!("pod {p}, container {c}"),
        (Some(p), None) => format!("pod {p}"),
        _ => "QoS tier".to_string(),
    };
    html! {
        <span class={classes!("qos", format!("qos-{}", qos.to_lowercase()))} data-qos={qos.clone()}
            title={format!("Kubernetes {what}: QoS class {qos} (from the kubelet's cgroup layout)")}>
            {format!("{qos} · {what}")}
        </span>
    }
}

fn row(c: &CgroupView, files: &[&'static str; 6], mem_total: u64) -> Html {
    let [f_cur, f_high, f_max, f_peak, f_kill, f_swap] = *files;
    // The bar's scale: the limit, else the machine's RAM (whichever holds every mark).
    let scale = c
        .max
        .unwrap_or(mem_total)
        .max(c.current)
        .max(c.high.unwrap_or(0))
        .max(1);
    let title = format!(
        "/{}: {f_cur} {} B, {f_max} {}{}, {f_peak} {} B",
        c.path,
        c.current,
        c.max
            .map(|m| format!("{m} B"))
            .unwrap_or_else(|| "max".into()),
        if f_high.is_empty() {
            String::new()
        } else {
            format!(
                ", {f_high} {}",
                c.high
                    .map(|m| format!("{m} B"))
                    .unwrap_or_else(|| "max".into())
            )
        },
        c.peak
    );
    let at_max = c.max.is_some_and(|m| c.current >= m);
    html! {
        <li class="cg" data-path={c.path.clone()} data-current={c.current.to_string()}
            data-max={c.max.map(|m| m.to_string()).unwrap_or_else(|| "max".into())}
            data-high={c.high.map(|m| m.to_string()).unwrap_or_else(|| "max".into())}
            data-oom-kill={c.oom_kills.to_string()}
            style={format!("padding-left:{}rem", f64::from(c.depth) * 0.9)}>
            <div class="cg-head">
                <code class="cg-name" title={format!("/{}", c.path)}>{c.name().to_string()}</code>
                if let Some(p) = &c.pod { { qos_badge(p) } }
                if c.oom_kills > 0 {
                    <span class="cg-kills" title={f_kill}>{format!("oom_kill {}", c.oom_kills)}</span>
                }
            </div>
            <div class="cg-bar" role="img" aria-label={title.clone()} title={title}>
                <span class={classes!("cg-fill", at_max.then_some("at-max"))} style={format!("width:{:.2}%", pct(c.current, scale))}></span>
                if let Some(h) = c.high {
                    <span class="cg-high" style={format!("left:{:.2}%", pct(h, scale))}></span>
                }
                if let Some(m) = c.max {
                    <span class="cg-max" style={format!("left:{:.2}%", pct(m, scale))}></span>
                }
            </div>
            <div class="cg-nums">
                if c.path.is_empty() {
                    // The root has no limit files (v2 has only memory.stat there): its page
                    // counter holds everything charged on the machine.
                    <span>{format!("charged in all {}", size(c.current))}</span>
                } else {
                    <span><code>{f_cur}</code>{format!(" {}", size(c.current))}</span>
                    if c.peak > c.current { <span><code>{f_peak}</code>{format!(" {}", size(c.peak))}</span> }
                    if !f_high.is_empty() && c.high.is_some() { <span><code>{f_high}</code>{format!(" {}", limit_text(c.high))}</span> }
                    <span><code>{f_max}</code>{format!(" {}", limit_text(c.max))}</span>
                    if c.swap > 0 { <span><code>{f_swap}</code>{format!(" {}", size(c.swap))}</span> }
                    if let Some(n) = c.oom_events.filter(|n| *n > 0) { <span><code>{"memory.events oom"}</code>{format!(" {n}")}</span> }
                }
                if !c.procs.is_empty() {
                    <span class="cg-procs">{"procs "}{ c.procs.iter().map(|(pid, n)| format!("{n} ({pid})")).collect::<Vec<_>>().join(", ") }</span>
                }
            </div>
        </li>
    }
}

/// The cgroup tree and the memory.current chart.
#[function_component(Cgroups)]
pub fn cgroups(p: &TreeProps) -> Html {
    let files = file_names(&p.version);
    let only_root = p.cgroups.len() <= 1;
    html! {
        <section class="panel cgroups" id="cgroups" aria-label="memory cgroups">
            <div class="panel-head">
                <h2>{"Memory cgroups"}</h2>
                <span class="muted">{format!("cgroup {}", p.version)}</span>
                <span class="cg-key"><span class="cg-key-fill"></span>{"current"}</span>
                if p.version != "v1" { <span class="cg-key"><span class="cg-key-high"></span>{"high"}</span> }
                <span class="cg-key"><span class="cg-key-max"></span>{"max"}</span>
            </div>
            if only_root {
                <p class="muted" id="cgroups-none">{"Every process is in the root cgroup: this scenario creates no cgroup (`cgroup create PATH`, or `kube pod …`)."}</p>
            } else {
                <ul class="cgtree" id="cgtree">
                    { for p.cgroups.iter().map(|c| row(c, &files, p.mem_total)) }
                </ul>
                <h3>{format!("{} over the steps, of each cgroup without a child", files[0])}</h3>
                <div class="chart-wrap">
                    <canvas ref={p.chart.clone()} id="cg-chart" role="img" aria-label={format!("{} of each cgroup over the steps", files[0])} />
                    <canvas ref={p.chart_overlay.clone()} class="chart-cursor" aria-hidden="true" />
                </div>
                <ul class="legend chart-legend" id="cg-chart-legend">
                    { for p.legend.iter().map(|(name, (r, g, b), w)| html! {
                        <li><span class="line-key" style={format!("border-top:{}px solid rgb({r},{g},{b})", w + 2)}></span><code>{name.clone()}</code></li>
                    }) }
                </ul>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct OomProps {
    /// The OOMs shown: the current step's, else the last one before it, with their step.
    pub shown: Vec<(u32, Rc<OomView>)>,
    /// Whether they are the current step's own (else an earlier step's).
    pub at_cursor: bool,
    /// Every step of the run with an OOM, for the jump buttons.
    pub oom_steps: Vec<u32>,
    pub on_jump: Callback<u32>,
}

fn oom_table(step: u32, i: usize, o: &OomView) -> Html {
    let heading = match &o.memcg {
        Some(cg) => format!("Memory cgroup out of memory in /{cg}"),
        None => "Out of memory (the whole machine)".to_string(),
    };
    let scaled_by = match &o.memcg {
        Some(_) => "the cgroup's limit, in pages",
        None => "RAM + swap, in pages",
    };
    let victim = o
        .victim
        .and_then(|v| o.rows.iter().find(|r| r.pid == v))
        .map(|r| format!("killed {} ({})", r.name, r.pid))
        .unwrap_or_else(|| "no victim".into());
    html! {
        <div class="oom" data-step={step.to_string()} data-constraint={o.constraint.clone()}
            data-totalpages={o.totalpages.to_string()} data-victim={o.victim.map(|v| v.to_string()).unwrap_or_default()}>
            <h3>{format!("Step {step}, OOM {}: {heading}", i + 1)}</h3>
            <p class="oom-constraint">
                <code>{o.constraint.clone()}</code>{format!(", totalpages {} ({scaled_by}) · {victim}: {}", o.totalpages, o.choice)}
            </p>
            <div class="oom-scroll">
            <table class="oom-table">
                <thead><tr>
                    <th>{"pid"}</th><th>{"name"}</th><th><abbr title="RssAnon + RssFile + RssShmem, pages">{"rss"}</abbr></th>
                    <th><abbr title="swap entries, pages">{"swap"}</abbr></th>
                    <th><abbr title="page tables: pgtables_bytes / 4096, pages">{"pt"}</abbr></th>
                    <th><abbr title="oom_score_adj">{"adj"}</abbr></th><th>{"points"}</th>
                </tr></thead>
                <tbody>
                    { for o.rows.iter().map(|r| {
                        let is_victim = o.victim == Some(r.pid);
                        html! {
                            <tr class={classes!(is_victim.then_some("victim"))} data-pid={r.pid.to_string()}
                                data-points={r.points.map(|p| p.to_string()).unwrap_or_default()}
                                aria-label={is_victim.then(|| format!("victim: {} ({})", r.name, r.pid))}>
                                <td>{r.pid}</td>
                                <td class="oom-name">{r.name.clone()}{ if is_victim { html! { <strong class="victim-mark">{" ✗ killed"}</strong> } } else { html! {} } }</td>
                                <td>{r.rss_pages}</td><td>{r.swap_pages}</td><td>{r.pgtables_bytes / 4096}</td>
                                <td>{r.oom_score_adj}</td>
                                <td class="points">{ r.points.map(|p| p.to_string()).unwrap_or_else(|| "not eligible".into()) }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            </div>
        </div>
    }
}

/// The OOM killer's reports: the whole task table of each kill, the victim highlighted.
#[function_component(OomPanel)]
pub fn oom_panel(p: &OomProps) -> Html {
    html! {
        <section class="panel oom-panel" id="oom" tabindex="-1" aria-label="OOM killer">
            <div class="panel-head">
                <h2>{"OOM killer"}</h2>
                { for p.oom_steps.iter().map(|&s| {
                    let jump = p.on_jump.clone();
                    let here = p.shown.first().map(|(st, _)| *st) == Some(s);
                    html! { <button class={classes!("oom-jump", here.then_some("active"))} aria-pressed={here.to_string()}
                        onclick={move |_| jump.emit(s)} title={format!("go to step {s}")}>{format!("step {s}")}</button> }
                }) }
            </div>
            if p.shown.is_empty() {
                <p class="muted" id="oom-none">{ if p.oom_steps.is_empty() { "The OOM killer never runs in this scenario." } else { "No OOM yet at this step: the buttons go to the steps where the OOM killer runs." } }</p>
            } else {
                if !p.at_cursor {
                    <p class="muted oom-earlier">{format!("The last OOM before this step (step {}):", p.shown[0].0)}</p>
                }
                <p class="oom-rule">{"points = rss + swap + pt (page tables) + adj × (totalpages / 1000), in pages, adj being "}<code>{"oom_score_adj"}</code>{" (mm/oom_kill.c: oom_badness); the highest is killed."}</p>
                { for p.shown.iter().enumerate().map(|(i, (s, o))| oom_table(*s, i, o)) }
            }
        </section>
    }
}
