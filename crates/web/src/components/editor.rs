//! The scenario editor: the text with line numbers, the current step's line highlighted and the
//! lines with errors marked in the gutter, its diagnostics at line:col as you type, and
//! import/export of `.vmlab` files.

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
    /// The line of the current step (1-based), highlighted.
    #[prop_or_default]
    pub current_line: Option<u32>,
    /// The textarea, which `App::rendered` scrolls to keep the current line in view.
    #[prop_or_default]
    pub textarea: NodeRef,
}

/// The code's line height and top padding in CSS pixels (style.css `.code` uses the same), so that
/// a line's band is at `PAD + (line - 1) * LINE`.
pub const LINE_PX: f64 = 21.0;
pub const PAD_PX: f64 = 6.0;
/// How many line numbers the gutter holds, from `window_start`: more than any screen shows.
pub const GUTTER_WINDOW: usize = 200;
/// The gutter's window moves in steps of this many lines, so scrolling re-renders it rarely.
pub const GUTTER_STEP: usize = 50;

/// The first line (0-based) of the gutter's window for a textarea scrolled `scroll_top` pixels:
/// the window starts at least a step above the first visible line.
pub fn window_start(scroll_top: f64) -> usize {
    let visible = ((scroll_top - PAD_PX).max(0.0) / LINE_PX) as usize;
    visible.saturating_sub(GUTTER_STEP) / GUTTER_STEP * GUTTER_STEP
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
    // The label is the Import button's one Tab stop (the file input is hidden and out of the Tab
    // order): Enter and Space on it open the file chooser, as they would on a button.
    let file_input = use_node_ref();
    let onkeydown = {
        let file_input = file_input.clone();
        Callback::from(move |e: KeyboardEvent| {
            if matches!(e.key().as_str(), "Enter" | " ") {
                e.prevent_default();
                if let Some(input) = file_input.cast::<web_sys::HtmlInputElement>() {
                    input.click();
                }
            }
        })
    };
    let export = p.on_export.clone();
    let lines = p.text.lines().count().max(1);
    let bad = !p.diagnostics.is_empty();
    let gutter = use_node_ref();
    let layer = use_node_ref();
    // The gutter holds only the line numbers near the scroll position (a window of
    // GUTTER_WINDOW lines, moved in steps of GUTTER_STEP), inside a spacer as tall as every line:
    // a 1,000-line scenario's numbers cost the page's layout 3 ms a step when all were laid out.
    let first = use_state(|| 0usize);
    let onscroll = {
        let (gutter, layer, first) = (gutter.clone(), layer.clone(), first.clone());
        Callback::from(move |e: Event| {
            let Some(t) = e.target_dyn_into::<web_sys::HtmlTextAreaElement>() else {
                return;
            };
            if let Some(g) = gutter.cast::<web_sys::HtmlElement>() {
                g.set_scroll_top(t.scroll_top());
            }
            if let Some(l) = layer.cast::<web_sys::HtmlElement>() {
                let _ = l.style().set_property(
                    "transform",
                    &format!("translate({}px, {}px)", -t.scroll_left(), -t.scroll_top()),
                );
            }
            let at = window_start(f64::from(t.scroll_top()));
            if *first != at {
                first.set(at);
            }
        })
    };
    let shown = (*first).min(lines.saturating_sub(1))..(*first + GUTTER_WINDOW).min(lines);
    let numbers: String = shown.clone().map(|n| format!("{}\n", n + 1)).collect();
    let digits = lines.to_string().len();
    let spacer = format!("height:{}px;width:{digits}ch", lines as f64 * LINE_PX);
    let window_top = format!("top:{}px", shown.start as f64 * LINE_PX);
    // The diagnostics come sorted by position (engine::load); a run error comes alone.
    let mut error_lines: Vec<u32> = p
        .diagnostics
        .iter()
        .chain(p.run_error.iter())
        .map(|d| d.line)
        .collect();
    error_lines.dedup();
    let band = |line: u32| {
        format!(
            "top:{}px;height:{LINE_PX}px",
            PAD_PX + f64::from(line.saturating_sub(1)) * LINE_PX
        )
    };
    html! {
        <section class="panel editor" aria-label="scenario editor">
            <div class="panel-head">
                <h2>{"Scenario"}</h2>
                <span class="spacer"></span>
                <label class="button" id="import" tabindex="0" role="button" title="Import a .vmlab file as one of your scenarios" onkeydown={onkeydown}>{"Import"}
                    <input type="file" accept=".vmlab,text/plain" class="visually-hidden" tabindex="-1" aria-hidden="true" ref={file_input} onchange={onchange} />
                </label>
                <button onclick={move |_| export.emit(())} title="Export this scenario as a .vmlab file">{"Export"}</button>
            </div>
            <div class={classes!("code", bad.then_some("invalid"))}>
                <pre class="gutter" ref={gutter} aria-hidden="true">
                    <div class="gutter-lines" style={spacer}><div class="gutter-window" style={window_top}>{numbers}</div></div>
                    { for error_lines.iter().map(|l| html! { <span class="gutter-error" data-line={l.to_string()} style={band(*l)} title="an error on this line">{"●"}</span> }) }
                </pre>
                <div class="code-text">
                    <div class="hls" aria-hidden="true"><div class="hls-inner" ref={layer}>
                        if let Some(line) = p.current_line {
                            <div class="hl current-line" id="current-line" data-line={line.to_string()} style={band(line)}></div>
                        }
                        { for error_lines.iter().map(|l| html! { <div class="hl error-line" data-line={l.to_string()} style={band(*l)}></div> }) }
                    </div></div>
                    <textarea id="scenario" wrap="off" spellcheck="false" ref={p.textarea.clone()}
                        value={p.text.clone()} oninput={oninput} onscroll={onscroll} aria-label="scenario text" aria-invalid={bad.to_string()} />
                </div>
            </div>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gutter_window_covers_the_visible_lines() {
        // Whatever the scroll position, the window holds the first visible line and the next
        // GUTTER_WINDOW - 2 × GUTTER_STEP lines (more than a 4K screen's 100).
        for scroll in (0..200_000).step_by(7) {
            let top = f64::from(scroll);
            let first_visible = ((top - PAD_PX).max(0.0) / LINE_PX) as usize;
            let start = window_start(top);
            assert!(
                start <= first_visible,
                "{scroll}: {start} > {first_visible}"
            );
            assert!(
                first_visible + (GUTTER_WINDOW - 2 * GUTTER_STEP) <= start + GUTTER_WINDOW,
                "{scroll}: the window {start}.. ends before {first_visible} + 100"
            );
            assert_eq!(start % GUTTER_STEP, 0);
        }
    }
}
