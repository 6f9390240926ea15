//! Compare: the same scenario under one changed setting, side by side: both machines' counters,
//! processes and VMAs at the current step, what the step did on each (its events, so the other
//! side's outcome is explained), the other run's error in an error box, and the outcomes step by
//! step with the first divergence highlighted. "Linux ↔ Windows" runs the scenario's pair (the
//! same workload written for the other OS) instead of a changed setting.

use super::size;
use crate::state::CompareWith;
use crate::views::{RunView, SnapshotView, StepView};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub with: Option<CompareWith>,
    pub left: Rc<RunView>,
    pub right: Option<Rc<RunView>>,
    pub right_error: Option<String>,
    pub first_divergence: Option<u32>,
    pub cursor: u32,
    pub on_compare: Callback<Option<CompareWith>>,
    /// Both machines at the current step (None where a side cannot be shown).
    #[prop_or_default]
    pub left_snap: Option<SnapshotView>,
    #[prop_or_default]
    pub right_snap: Option<SnapshotView>,
}

/// One side at the step: the operation's outcome and its events, the counters, and every process
/// with its VMAs (flag codes explained on hover).
fn side(
    title: &str,
    id: &str,
    run: Option<&RunView>,
    snap: Option<&SnapshotView>,
    cursor: u32,
    other: Option<&SnapshotView>,
) -> Html {
    let step = run.and_then(|r| r.steps.get(cursor.wrapping_sub(1) as usize));
    let win = snap.is_some_and(|s| s.windows.is_some());
    let counter = |name: &'static str, get: fn(&SnapshotView) -> u64| {
        let v = snap.map(get);
        let differs = v.is_some() && other.map(get) != v && other.is_some();
        html! {
            <tr class={classes!(differs.then_some("differs"))}><th scope="row"><code>{name}</code></th>
                <td>{v.map(size).unwrap_or_else(|| "—".into())}</td></tr>
        }
    };
    html! {
        <div class="cmp-side" id={id.to_string()}>
            <h3>{title.to_string()}{ match snap { Some(s) if s.windows.is_some() => " · Windows", Some(_) => " · Linux", None => "" } }</h3>
            { match (cursor, step) {
                (0, _) => html! { <p class="muted">{"Step 0: the booted machine."}</p> },
                (_, Some(s)) => html! {
                    <div class="cmp-step">
                        <div><code>{s.text.clone()}</code>
                            <span class={classes!("outcome", (!s.ok).then_some("bad"))}>{format!(" → {}", s.outcome)}</span></div>
                        <ul class="cmp-events">{ for s.events.iter().map(|e| html! { <li>{e.sentence.clone()}</li> }) }</ul>
                    </div>
                },
                (_, None) => html! { <p class="muted">{"This run never reached this step."}</p> },
            } }
            if let Some(sn) = snap {
                <table class="cmp-counters">
                    // The same four numbers under each OS's own names (a Windows machine's
                    // are PERFORMANCE_INFORMATION's, its page file in the swap slot).
                    { counter(if win { "CommitTotal" } else { "Committed_AS" }, |s| s.mem.committed_as) }
                    { counter("CommitLimit", |s| s.mem.commit_limit) }
                    { counter(if win { "PhysicalAvailable" } else { "MemFree" }, |s| s.mem.mem_free) }
                    { counter(if win { "page file" } else { "SwapFree" }, |s| s.mem.swap_free) }
                </table>
                <ul class="cmp-procs">
                    { for sn.processes.iter().map(|p| html! {
                        <li>
                            <strong>{format!("{} ({})", p.name, p.pid)}</strong>{format!(" {} · RSS {}", p.state, size(p.rss_bytes))}
                            <ul class="cmp-vmas">
                                { for p.vmas.iter().map(|v| html! {
                                    <li title={crate::flags::explain_all(&v.flags)}>
                                        <code>{v.name.clone()}</code>{format!(" {} {} ", size(v.size_bytes()), v.perms)}
                                        { for v.flags.iter().map(|f| html! { <abbr class="flag" title={crate::flags::explain(f)}>{f.clone()}{" "}</abbr> }) }
                                    </li>
                                }) }
                            </ul>
                        </li>
                    }) }
                </ul>
            }
        </div>
    }
}

#[function_component(Compare)]
pub fn compare(p: &Props) -> Html {
    let on_compare = p.on_compare.clone();
    let onchange = Callback::from(move |e: Event| {
        if let Some(sel) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
            on_compare.emit(CompareWith::from_key(&sel.value()));
        }
    });
    let no_steps: Vec<StepView> = Vec::new();
    let (left, right) = (
        &p.left.steps,
        p.right.as_ref().map(|r| &r.steps).unwrap_or(&no_steps),
    );
    let rows = left.len().max(right.len()) as u32;
    // Rows around the cursor and the first divergence; a 1,000-step run stays a light table.
    let near = |n: u32| {
        n.abs_diff(p.cursor) <= 20 || p.first_divergence.is_some_and(|d| n.abs_diff(d) <= 3)
    };
    html! {
        <section class="panel compare" aria-label="compare">
            <div class="panel-head">
                <h2>{"Compare"}</h2>
                <select onchange={onchange} aria-label="compare with">
                    <option value="" selected={p.with.is_none()}>{"off"}</option>
                    { for CompareWith::ALL.iter().map(|c| html! { <option value={c.key()} selected={p.with == Some(*c)}>{c.label()}</option> }) }
                </select>
                if let Some(d) = p.first_divergence { <span class="diverge-note">{format!("first divergence at step {d}")}</span> }
                else if p.with.is_some() && p.right_error.is_none() { <span class="muted">{"no divergence: every outcome is the same"}</span> }
            </div>
            if let Some(w) = p.with {
                if let Some(e) = &p.right_error {
                    <p class="stopped cmp-error" id="cmp-error" role="alert"><strong>{format!("With {}: ", w.label())}</strong>{e.clone()}</p>
                }
                <div class="cmp-sides">
                    { side("this scenario", "cmp-left", Some(&p.left), p.left_snap.as_ref(), p.cursor, p.right_snap.as_ref()) }
                    { side(w.label(), "cmp-right", p.right.as_deref(), p.right_snap.as_ref(), p.cursor, p.left_snap.as_ref()) }
                </div>
                <table class="cmp">
                    <thead><tr><th>{"step"}</th><th>{"this scenario"}</th><th>{p.with.map(|w| w.label()).unwrap_or("")}</th></tr></thead>
                    <tbody>
                        { for (1..=rows).filter(|n| near(*n)).map(|n| {
                            let l = left.get(n as usize - 1);
                            let r = right.get(n as usize - 1);
                            let diverges = p.first_divergence == Some(n);
                            let cell = |s: Option<&StepView>| match s {
                                Some(s) => html! { <td class={classes!((!s.ok).then_some("bad"))}>{format!("{} → {}", s.text, s.outcome)}</td> },
                                None => html! { <td class="muted">{"(not run)"}</td> },
                            };
                            html! { <tr key={n} class={classes!(diverges.then_some("diverges"), (n == p.cursor).then_some("current"))}><td>{n}</td>{cell(l)}{cell(r)}</tr> }
                        }) }
                    </tbody>
                </table>
            }
        </section>
    }
}
