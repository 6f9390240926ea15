//! Compare: the same scenario under one changed setting, side by side, step by step, with the first
//! step where the outcomes diverge highlighted.

use crate::state::CompareWith;
use crate::views::StepView;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub with: Option<CompareWith>,
    pub left: Vec<StepView>,
    pub right: Vec<StepView>,
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
    let rows = p.left.len().max(p.right.len());
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
                        { for (0..rows).map(|i| {
                            let l = p.left.get(i);
                            let r = p.right.get(i);
                            let n = i as u32 + 1;
                            let diverges = p.first_divergence == Some(n);
                            let cell = |s: Option<&StepView>| match s {
                                Some(s) => html! { <td class={classes!((!s.ok).then_some("bad"))}>{format!("{} → {}", s.text, s.outcome)}</td> },
                                None => html! { <td class="muted">{"(not run)"}</td> },
                            };
                            html! { <tr class={classes!(diverges.then_some("diverges"), (n == p.cursor).then_some("current"))}><td>{n}</td>{cell(l)}{cell(r)}</tr> }
                        }) }
                    </tbody>
                </table>
            }
        </section>
    }
}
