//! The scenario library, grouped by topic, with each scenario's introduction and source links,
//! and the random-workload generator (its seed shown and editable).

use crate::library::{code_spans, Entry, TOPICS};
use crate::store::Own;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub entries: Vec<Entry>,
    pub current_text: String,
    pub seed: Option<u64>,
    pub on_open: Callback<String>,
    /// None: pick a fresh seed.
    pub on_random: Callback<Option<u64>>,
    /// The student's own scenarios ("My scenarios"), and the one open.
    #[prop_or_default]
    pub own: Rc<Vec<Own>>,
    #[prop_or_default]
    pub current_own: Option<String>,
    /// The own scenario whose delete awaits a yes.
    #[prop_or_default]
    pub confirm_delete: Option<String>,
    #[prop_or_default]
    pub on_open_own: Callback<String>,
    #[prop_or_default]
    pub on_ask_delete: Callback<Option<String>>,
    #[prop_or_default]
    pub on_delete: Callback<String>,
}

/// A title or introduction with its identifiers (`Committed_AS`, `MAP_NORESERVE`) as written, in
/// code style.
pub fn with_code(text: &str) -> Html {
    html! {
        { for code_spans(text).into_iter().map(|(code, s)| if code { html! { <code>{s}</code> } } else { html! { {s} } }) }
    }
}

#[function_component(Library)]
pub fn library(p: &Props) -> Html {
    let seed_input = use_node_ref();
    let random = p.on_random.clone();
    let again = {
        let random = p.on_random.clone();
        let seed_input = seed_input.clone();
        Callback::from(move |_| {
            let v = seed_input
                .cast::<web_sys::HtmlInputElement>()
                .and_then(|i| i.value().trim().parse::<u64>().ok());
            random.emit(v);
        })
    };
    html! {
        <nav class="panel library" aria-label="scenario library">
            <h2>{"Library"}</h2>
            <details open=true class="topic own" id="own">
                <summary>{"My scenarios"}</summary>
                if p.own.is_empty() {
                    <p class="muted">{"Your edits and imports are kept here, in this browser."}</p>
                }
                <ul>
                    { for p.own.iter().map(|o| {
                        let name = o.name.clone();
                        let current = p.current_own.as_deref() == Some(o.name.as_str());
                        let asking = p.confirm_delete.as_deref() == Some(o.name.as_str());
                        let (open, ask, del, cancel) = (p.on_open_own.clone(), p.on_ask_delete.clone(), p.on_delete.clone(), p.on_ask_delete.clone());
                        let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
                        html! {
                            <li class={classes!("entry", "own-entry", current.then_some("current"))} data-name={name.clone()}>
                                <button class="own-open" onclick={move |_| open.emit(n1.clone())}>{name.clone()}</button>
                                if asking {
                                    <span class="confirm" role="group" aria-label={format!("delete {name}?")}>
                                        {"Delete? "}
                                        <button class="own-delete-yes" onclick={move |_| del.emit(n3.clone())}>{"Delete"}</button>
                                        <button class="own-delete-no" onclick={move |_| cancel.emit(None)}>{"Keep"}</button>
                                    </span>
                                } else {
                                    <button class="own-delete" aria-label={format!("delete {name}")} title="Delete (asks first; can be undone)"
                                        onclick={move |_| ask.emit(Some(n2.clone()))}>{"✕"}</button>
                                }
                            </li>
                        }
                    }) }
                </ul>
            </details>
            if p.entries.is_empty() {
                <p class="muted">{"No scenarios are bundled in this build; write one in the editor or generate a random workload."}</p>
            }
            { for TOPICS.iter().map(|topic| {
                let items: Vec<&Entry> = p.entries.iter().filter(|e| e.topic == *topic).collect();
                if items.is_empty() { return html! {}; }
                // Only the open scenario's topic is expanded: fewer Tab stops before the controls.
                let open_topic = items.iter().any(|e| p.current_text == e.text);
                html! {
                    <details open={open_topic} class="topic" data-topic={*topic}>
                        <summary>{*topic}</summary>
                        <ul>
                            { for items.into_iter().map(|e| {
                                let open = p.on_open.clone();
                                let text = e.text.to_string();
                                let current = p.current_text == e.text;
                                html! {
                                    <li class={classes!("entry", current.then_some("current"))}>
                                        <button class="entry-open" data-file={e.file} onclick={move |_| open.emit(text.clone())} title={e.intro.clone()}>{with_code(&e.title)}</button>
                                        if current && !e.intro.is_empty() {
                                            <p class="intro">{with_code(&e.intro)}</p>
                                        }
                                        if current {
                                            { for e.links.iter().map(|l| {
                                                let label = l.split("/source/").nth(1).unwrap_or(l).to_string();
                                                html! { <a class="source" href={l.clone()} target="_blank" rel="noopener">{label}</a> }
                                            }) }
                                        }
                                    </li>
                                }
                            }) }
                        </ul>
                    </details>
                }
            }) }
            <div class="random">
                <h3>{"Random workload"}</h3>
                <button id="random" onclick={move |_| random.emit(None)}>{"New random seed"}</button>
                <label>{"seed "}<input ref={seed_input} id="seed" type="text" inputmode="numeric" size="11" value={p.seed.map(|s| s.to_string()).unwrap_or_default()} aria-label="random seed" /></label>
                <button onclick={again}>{"Run seed"}</button>
            </div>
        </nav>
    }
}
