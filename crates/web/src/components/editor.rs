//! The scenario editor: the text, its diagnostics at line:col as you type, and import/export of
//! `.vmlab` files.

use crate::views::DiagView;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub text: String,
    pub diagnostics: Vec<DiagView>,
    /// An error that stopped the run (not a parse error).
    pub run_error: Option<DiagView>,
    pub on_edit: Callback<String>,
    pub on_import: Callback<web_sys::File>,
    pub on_export: Callback<()>,
}

#[function_component(Editor)]
pub fn editor(p: &Props) -> Html {
    let edit = p.on_edit.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        if let Some(t) = e.target_dyn_into::<web_sys::HtmlTextAreaElement>() {
            edit.emit(t.value());
        }
    });
    let import = p.on_import.clone();
    let onchange = Callback::from(move |e: Event| {
        if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
            if let Some(f) = input.files().and_then(|fs| fs.get(0)) {
                import.emit(f);
            }
            input.set_value("");
        }
    });
    let export = p.on_export.clone();
    let lines = p.text.lines().count().max(1);
    let bad = !p.diagnostics.is_empty();
    html! {
        <section class="panel editor" aria-label="scenario editor">
            <div class="panel-head">
                <h2>{"Scenario"}</h2>
                <span class="spacer"></span>
                <label class="button" tabindex="0">{"Import .vmlab"}
                    <input type="file" accept=".vmlab,text/plain" class="visually-hidden" onchange={onchange} />
                </label>
                <button onclick={move |_| export.emit(())}>{"Export .vmlab"}</button>
            </div>
            <textarea id="scenario" wrap="off" class={classes!(bad.then_some("invalid"))} spellcheck="false" rows={(lines + 1).clamp(8, 28).to_string()}
                value={p.text.clone()} oninput={oninput} aria-label="scenario text" aria-invalid={bad.to_string()} />
            <ul class="diagnostics" id="diagnostics" aria-live="polite">
                { for p.diagnostics.iter().map(|d| html! {
                    <li class="diag"><code>{format!("{}:{}", d.line, d.col)}</code>{" "}{d.message.clone()}
                        <div class="diag-line"><code>{source_line(&p.text, d)}</code></div>
                    </li>
                }) }
                if let Some(d) = &p.run_error {
                    <li class="diag run-error"><code>{format!("{}:{}", d.line, d.col)}</code>{" "}{d.message.clone()}</li>
                }
            </ul>
        </section>
    }
}

/// The offending line with a caret under the column.
fn source_line(text: &str, d: &DiagView) -> String {
    let line = text
        .lines()
        .nth(d.line.saturating_sub(1) as usize)
        .unwrap_or("");
    format!("{line}\n{}^", " ".repeat(d.col.saturating_sub(1) as usize))
}
