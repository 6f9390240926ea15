//! Compare: the same scenario under one changed setting, side by side, step by step, with the first
//! step where the outcomes diverge highlighted.

use crate::state::CompareWith;
use crate::views::{RunView, StepView};
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
            if p.with.is_some() {
                if let Some(e) = &p.right_error { <p class="diag">{e.clone()}</p> }
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
