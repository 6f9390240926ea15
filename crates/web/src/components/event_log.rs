//! The event log: every step with its outcome and events, each event with the core's sentence,
//! its reason code and the kernel source of its rule. Clicking a step jumps to it.

use crate::views::{RunView, StepView};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub run: Rc<RunView>,
    pub cursor: u32,
    pub on_jump: Callback<u32>,
}

/// A link for a kernel source reference such as `mm/util.c: __vm_enough_memory`.
fn source_link(source: &str) -> Html {
    let file = source.split([':', ' ', ';']).next().unwrap_or("");
    if file.contains('/') && file.ends_with(".c") {
        let href = format!("https://elixir.bootlin.com/linux/latest/source/{file}");
        html! { <a href={href} target="_blank" rel="noopener">{source.to_string()}</a> }
    } else {
        html! { <span>{source.to_string()}</span> }
    }
}

/// The log shows this many steps either side of the cursor: a 1,000-step run stays a light page
/// (patching a 121-step window cost about 35 ms per step in the web benchmark, 21 steps about 10; 11 steps keep a step plus its redraw near 16 ms on the 2-core CI machine).
pub const WINDOW: u32 = 5;

#[function_component(EventLog)]
pub fn event_log(p: &Props) -> Html {
    let total = p.run.steps.len() as u32;
    let first = p.cursor.saturating_sub(WINDOW).max(1);
    let last = (p.cursor + WINDOW).min(total).max(first - 1);
    let jump_to = |n: u32| {
        let jump = p.on_jump.clone();
        Callback::from(move |_: MouseEvent| jump.emit(n))
    };
    let step0 = {
        let jump = p.on_jump.clone();
        html! {
            <li class={classes!("step", (p.cursor == 0).then_some("current"))}>
                <button class="steplink" onclick={move |_| jump.emit(0)}>{"0 · boot: the machine before any operation"}</button>
            </li>
        }
    };
    html! {
        <section class="panel log" aria-label="event log">
            <h2>{"Event log"}</h2>
            <ol class="steps">
                { step0 }
                if first > 1 {
                    <li class="step elided"><button class="steplink" onclick={jump_to(first - 1)}>{format!("… {} earlier steps (go to step {})", first - 1, first - 1)}</button></li>
                }
                { for p.run.steps[first as usize - 1..last as usize].iter().map(|s| {
                    let jump = p.on_jump.clone();
                    let n = s.step;
                    let current = s.step == p.cursor;
                    let future = s.step > p.cursor;
                    html! {
                        <li key={n} class={classes!("step", current.then_some("current"), future.then_some("future"), (!s.ok).then_some("failed"))} data-step={n.to_string()}>
                            <button class="steplink" onclick={move |_| jump.emit(n)} aria-current={current.then_some("step")}>
                                {format!("{} · line {} · {}", s.step, s.line, s.text)}
                                <span class={classes!("outcome", (!s.ok).then_some("bad"))}>{format!(" → {}", s.outcome)}</span>
                            </button>
                            if !future {
                                <ul class="events">
                                    { for s.events.iter().map(|e| html! {
                                        <li class="event" data-reason={e.reason.clone()}>
                                            <span class="sentence">{e.sentence.clone()}</span>
                                            <span class="why"><code>{e.reason.clone()}</code>{" · "}{source_link(&e.source)}</span>
                                        </li>
                                    }) }
                                </ul>
                            }
                        </li>
                    }
                }) }
            </ol>
            if (last as usize) < p.run.steps.len() {
                <p class="step elided"><button class="steplink" onclick={jump_to(last + 1)}>{format!("… {} later steps (go to step {})", p.run.steps.len() - last as usize, last + 1)}</button></p>
            }
            if (last as usize) == p.run.steps.len() {
                if let Some(why) = p.run.stopped() {
                    <p class="step stopped" id="log-stopped">{format!("■ The run {why}.")}</p>
                }
            }
            if p.run.expects_total > 0 {
                <details class="checks-wrap" open={p.run.checks.iter().any(|c| !c.passed) || p.run.never_ran() > 0}>
                    <summary id="checks-summary" class={classes!((p.run.never_ran() > 0).then_some("bad"))}>{p.run.checks_summary()}</summary>
                    <ul class="checks">
                        { for p.run.checks.iter().map(|c| html! {
                            <li class={if c.passed { "pass" } else { "fail" }}>
                                {if c.passed { "✓ " } else { "✗ " }}{format!("line {}: {}", c.line, c.text)}
                                if !c.detail.is_empty() { <span class="detail">{format!(" — {}", c.detail)}</span> }
                            </li>
                        }) }
                    </ul>
                </details>
            }
        </section>
    }
}

/// Brings the OOM panel (which shows the current step's OOMs) into view and gives it the focus.
/// Not a `#oom` link: the URL's fragment is the share link.
fn show_oom_panel() {
    use wasm_bindgen::JsCast;
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("oom"))
    else {
        return;
    };
    el.scroll_into_view();
    if let Ok(h) = el.dyn_into::<web_sys::HtmlElement>() {
        let _ = h.focus();
    }
}

/// At a step where the OOM killer ran, a line at the top of the explanation box: who it killed
/// (from the core's reports), and a button to the whole table.
fn oom_summary(s: &StepView) -> Html {
    let ooms: Vec<&crate::views::OomView> =
        s.events.iter().filter_map(|e| e.oom.as_deref()).collect();
    if ooms.is_empty() {
        return Html::default();
    }
    let killed: Vec<String> = ooms
        .iter()
        .map(|o| {
            o.victim
                .and_then(|v| o.rows.iter().find(|r| r.pid == v))
                .map(|r| format!("{} ({})", r.name, r.pid))
                .unwrap_or_else(|| "no one".into())
        })
        .collect();
    html! {
        <p class="now-oom" id="now-oom">
            <strong>{ if ooms.len() == 1 { "OOM killer: killed ".to_string() } else { format!("OOM killer, {} times: killed ", ooms.len()) } }</strong>
            {killed.join(", then ")}
            <button class="linkish oom-link" id="now-oom-link" onclick={Callback::from(|_: MouseEvent| show_oom_panel())}
                title="the OOM killer's whole task table, the victim highlighted">{"see the table ↓"}</button>
        </p>
    }
}

#[derive(Properties, PartialEq)]
pub struct NowProps {
    /// None at step 0.
    pub step: Option<StepView>,
    /// At the last step of a run that stopped early: `stopped at line 18: …`.
    #[prop_or_default]
    pub stopped: Option<String>,
    /// (operations, expectations) the stopped run never reached.
    #[prop_or_default]
    pub never_ran: (u32, u32),
}

/// The current step in large type under the timeline: the operation, its outcome, and why.
#[function_component(Now)]
pub fn now(p: &NowProps) -> Html {
    let stopped = p.stopped.as_ref().map(|why| {
        let (ops, expects) = p.never_ran;
        let plural = |n: u32, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
        html! {
            <p class="stopped" id="now-stopped">
                <strong>{format!("The run {why}.")}</strong>
                {format!(" {} and {} never ran.", plural(ops, "operation"), plural(expects, "expectation"))}
            </p>
        }
    });
    match &p.step {
        None => html! {
            <section class={classes!("now", stopped.is_some().then_some("failed"))} id="now" aria-live="polite">
                <div class="now-op">{"Step 0: the machine has booted; press → or Step to apply the first operation."}</div>
                { stopped.unwrap_or_default() }
            </section>
        },
        Some(s) => html! {
            <section class={classes!("now", (!s.ok || stopped.is_some()).then_some("failed"))} id="now" aria-live="polite">
                <div class="now-op">
                    {format!("Step {} · line {} · ", s.step, s.line)}<code>{s.text.clone()}</code>
                    // In the red box of a run that stopped early, a success is not shown in green.
                    <span class={classes!("outcome", (!s.ok).then_some("bad"), (s.ok && stopped.is_some()).then_some("neutral"))}>{format!(" → {}", s.outcome)}</span>
                </div>
                { oom_summary(s) }
                <ul class="now-events">
                    { for s.events.iter().map(|e| html! {
                        <li><span class="sentence">{e.sentence.clone()}</span>
                            <span class="why"><code>{e.reason.clone()}</code>{" · "}{source_link(&e.source)}</span></li>
                    }) }
                </ul>
                { stopped.unwrap_or_default() }
            </section>
        },
    }
}
