//! A Windows machine's panels: the commit meter (the system commit charge against the commit
//! limit, the limit the page file can still grow to and each job's limit, with both numbers over
//! the steps, so page-file growth shows as the limit moving) and the job panel (each job's limits,
//! peaks and processes). A Hyper-V container's utility VM gets a gauge of its own: its commit
//! charge against its own limit, with its base. Every number is the core's (model-spec W3, W5,
//! W6); nothing is recomputed.

use super::size;
use crate::views::{SystemView, WindowsView};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct MeterProps {
    pub win: Rc<WindowsView>,
    /// The commit charge and the commit limit at every step (the core's, step 0 first).
    pub totals: Rc<Vec<u64>>,
    pub limits: Rc<Vec<u64>>,
    pub cursor: u32,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
    }
}

/// An SVG polyline's points for `v` on a 0..`scale` axis of `w` × `h` user units.
fn points(v: &[u64], scale: u64, w: f64, h: f64) -> String {
    let n = v.len().max(2) - 1;
    v.iter()
        .enumerate()
        .map(|(i, x)| {
            let px = i as f64 * w / n as f64;
            let py = h - pct(*x, scale) / 100.0 * h;
            format!("{px:.1},{py:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The commit meter, in place of the Linux counters on a Windows machine's main screen.
#[function_component(CommitMeter)]
pub fn commit_meter(p: &MeterProps) -> Html {
    let w = &p.win;
    let job_limits: Vec<(String, u64)> = w
        .jobs
        .iter()
        .filter_map(|j| j.job_memory_limit.map(|l| (j.name.clone(), l)))
        .collect();
    let top = p
        .totals
        .iter()
        .chain(p.limits.iter())
        .copied()
        .max()
        .unwrap_or(0);
    let scale = w
        .commit_max_limit
        .max(w.commit_limit)
        .max(w.commit_total)
        .max(top)
        .max(1);
    let over = w.commit_total >= w.commit_limit;
    let (cw, ch) = (300.0, 36.0);
    let cursor_x = p.cursor as f64 * cw / (p.totals.len().max(2) - 1) as f64;
    let grew = p
        .limits
        .first()
        .is_some_and(|f| p.limits.iter().any(|l| l != f));
    html! {
        <section class="panel counters win-meter" aria-label="commit meter" id="commit-meter"
            data-commit-total={w.commit_total.to_string()} data-commit-limit={w.commit_limit.to_string()}
            data-commit-max={w.commit_max_limit.to_string()} data-pagefile={w.pagefile.to_string()}>
            <div class="gauge">
                <div class="glabel"><strong>{"RAM "}</strong>{size(w.physical_total)}</div>
                <div class="bar">
                    <span class="fill used" style={format!("width:{:.2}%", pct(w.physical_total.saturating_sub(w.physical_available), w.physical_total))}></span>
                </div>
                <div class="gnote" title={format!("PhysicalAvailable {}; the page file is {} and may grow to {}", size(w.physical_available), size(w.pagefile), size(w.pagefile_max))}>{format!("free {} · page file {}", size(w.physical_available), size(w.pagefile))}</div>
            </div>
            <div class="gauge">
                <div class="glabel" title="PERFORMANCE_INFORMATION.CommitTotal against CommitLimit (RAM + the page file's current size)">
                    <strong><code>{"CommitTotal"}</code></strong>{format!(" {} of ", size(w.commit_total))}<code>{"CommitLimit"}</code>{format!(" {}", size(w.commit_limit))}</div>
                <div class="bar">
                    <span class={classes!("fill", "commit", over.then_some("over"))} style={format!("width:{:.2}%", pct(w.commit_total, scale))}></span>
                    <span class="limit" style={format!("left:{:.2}%", pct(w.commit_limit, scale))} title="CommitLimit"></span>
                    <span class="rule" style={format!("left:{:.2}%", pct(w.commit_max_limit, scale))} title="the limit at the page file's maximum"></span>
                    { for job_limits.iter().map(|(n, l)| html! {
                        <span class="rule job" style={format!("left:{:.2}%", pct(*l, scale))} title={format!("job {n}: JobMemoryLimit {}", size(*l))}></span>
                    }) }
                </div>
                { { let note = format!("limit at the page file's maximum {}{}", size(w.commit_max_limit),
                    job_limits.iter().map(|(n, l)| format!(" · job {n} {}", size(*l))).collect::<String>());
                    html! { <div class="gnote" title={note.clone()}>{note}</div> } } }
            </div>
            { for w.systems.iter().filter(|s| s.container.is_some()).map(|s| vm_gauge(s, w)) }
            if !w.commit_room.is_empty() {
                <div class="gauge commit-room" id="commit-room" title="What each process in a job can really still commit: the least of its system's room, each job's JobMemoryLimit less the job's usage, each ProcessMemoryLimit less its PrivateUsage. No API reports it; ullAvailPageFile counts only the process's own usage.">
                    <div class="glabel"><strong>{"Can really still commit"}</strong></div>
                    { for w.commit_room.iter().map(|r| html! {
                        <div class="gnote" data-proc={r.name.clone()} data-room={r.room.to_string()} data-avail={r.avail_page_file.to_string()}
                            title={r.bound.clone()}>
                            {format!("{} {}", r.name, size(r.room))}
                            { if r.room < r.avail_page_file { html! { <>{" · "}<code>{"ullAvailPageFile"}</code>{format!(" says {}", size(r.avail_page_file))}</> } } else { html! {} } }
                        </div>
                    }) }
                </div>
            }
            <div class="gauge">
                <div class="glabel" title="CommitTotal (orange) and CommitLimit (black) at every step"><strong>{"Over the steps"}</strong></div>
                <svg class="commit-spark" viewBox={format!("0 0 {cw} {ch}")} preserveAspectRatio="none" role="img"
                    aria-label="CommitTotal (orange) and CommitLimit (black) at every step">
                    <polyline class="spark-limit" points={points(&p.limits, scale, cw, ch)} />
                    <polyline class="spark-total" points={points(&p.totals, scale, cw, ch)} />
                    <line class="spark-cursor" x1={format!("{cursor_x:.1}")} x2={format!("{cursor_x:.1}")} y1="0" y2={ch.to_string()} />
                </svg>
                { { let note = format!("peak {}{}", size(w.commit_peak), if grew { " · limit grew" } else { "" });
                    html! { <div class="gnote" id="commit-growth" title={if grew { "the commit limit moved: the page file grew" } else { "the commit limit never moved" }}>{note}</div> } } }
            </div>
        </section>
    }
}

/// A Hyper-V container's utility VM: its own CommitTotal against its own CommitLimit (its RAM
/// and page file), with its base (what the VM itself holds) and its container's JobMemoryLimit;
/// the numbers a process inside it gets from GetPerformanceInfo (model-spec W5).
fn vm_gauge(s: &SystemView, w: &WindowsView) -> Html {
    let c = s.container.clone().unwrap_or_default();
    let job = w
        .jobs
        .iter()
        .find(|j| j.container.as_ref().is_some_and(|(n, _)| *n == c))
        .and_then(|j| j.job_memory_limit);
    let scale = s
        .commit_max_limit
        .max(s.commit_limit)
        .max(s.commit_total)
        .max(job.unwrap_or(0))
        .max(1);
    let over = s.commit_total >= s.commit_limit;
    let note = format!(
        "RAM {} · base {} · page file {}{}",
        size(s.physical_total),
        size(s.base),
        size(s.pagefile),
        job.map(|l| format!(" · job {c} {}", size(l)))
            .unwrap_or_default()
    );
    html! {
        <div class="gauge vm-gauge" data-vm={c.clone()} data-commit-total={s.commit_total.to_string()}
            data-commit-limit={s.commit_limit.to_string()} data-ram={s.physical_total.to_string()}
            data-base={s.base.to_string()}>
            <div class="glabel" title={format!("{}: its own PERFORMANCE_INFORMATION.CommitTotal against CommitLimit (the VM's RAM + its page file), what a process in the Hyper-V container reads", s.label)}>
                <strong>{format!("VM of {c} ")}</strong>{format!("{} of {}", size(s.commit_total), size(s.commit_limit))}</div>
            <div class="bar">
                <span class="fill base" style={format!("width:{:.2}%", pct(s.base.min(s.commit_total), scale))} title={format!("the VM's base {}", size(s.base))}></span>
                <span class={classes!("fill", "commit", "vm", over.then_some("over"))} style={format!("width:{:.2}%", pct(s.commit_total - s.base.min(s.commit_total), scale))}></span>
                <span class="limit" style={format!("left:{:.2}%", pct(s.commit_limit, scale))} title="the VM's CommitLimit"></span>
                { job.map(|l| html! {
                    <span class="rule job" style={format!("left:{:.2}%", pct(l, scale))} title={format!("job {c}: JobMemoryLimit {}", size(l))}></span>
                }).unwrap_or_default() }
            </div>
            <div class="gnote" title={note.clone()}>{note}</div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct JobProps {
    pub win: Rc<WindowsView>,
}

/// Every job: its name, container and processes, its limits, its peaks. Its current usage is missing on purpose.
#[function_component(JobPanel)]
pub fn job_panel(p: &JobProps) -> Html {
    let limit = |l: Option<u64>| l.map(size).unwrap_or_else(|| "none".into());
    html! {
        <section class="panel jobs" aria-label="jobs" id="jobs">
            <h2>{"Jobs"}</h2>
            if p.win.jobs.is_empty() {
                <p class="muted">{"No job objects: every process is charged only against the system's commit limit."}</p>
            } else {
                <table class="job-table">
                    <thead><tr><th>{"job"}</th>
                        <th title="JobMemoryLimit and ProcessMemoryLimit (JOBOBJECT_EXTENDED_LIMIT_INFORMATION)">{"limits"}</th>
                        <th title="PeakJobMemoryUsed and PeakProcessMemoryUsed">{"peaks"}</th></tr></thead>
                    <tbody>
                        { for p.win.jobs.iter().map(|j| html! {
                            <tr data-job={j.name.clone()}>
                                <td><strong>{j.name.clone()}</strong>
                                    { j.parent.as_ref().map(|pa| html! { <div class="muted">{format!("in {pa}")}</div> }).unwrap_or_default() }
                                    { j.container.as_ref().map(|(c, iso)| html! { <div class="muted">{format!("container {c}, {iso} isolation")}</div> }).unwrap_or_default() }
                                    <div class="job-procs">{ if j.procs.is_empty() { "no processes".to_string() } else { j.procs.iter().map(|(pid, n)| format!("{n} ({pid})")).collect::<Vec<_>>().join(", ") } }</div></td>
                                <td><div>{"JobMemoryLimit "}{limit(j.job_memory_limit)}</div><div>{"ProcessMemoryLimit "}{limit(j.process_memory_limit)}</div></td>
                                <td><div>{"PeakJobMemoryUsed "}{size(j.peak_job_memory)}</div><div>{"PeakProcessMemoryUsed "}{size(j.peak_process_memory)}</div></td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
            <p class="muted job-note" id="job-usage-note">{"The job's current commit usage is not shown: Windows has no query for it (JOBOBJECT_EXTENDED_LIMIT_INFORMATION reports only the peaks), so a program cannot tell how close it is to JobMemoryLimit."}</p>
        </section>
    }
}
