//! The timeline: reset, back, play/pause, step, speed, and a slider over every step. Keys ← → and
//! space do the same (the App listens for them).

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub cursor: u32,
    pub steps: u32,
    pub playing: bool,
    pub speed_ms: u32,
    pub on_step: Callback<()>,
    pub on_back: Callback<()>,
    pub on_reset: Callback<()>,
    pub on_play: Callback<()>,
    pub on_jump: Callback<u32>,
    pub on_speed: Callback<u32>,
    /// `stopped at line 18: …` when the run stopped early (the core's error).
    #[prop_or_default]
    pub stopped: Option<String>,
}

pub const SPEEDS_MS: [(u32, &str); 4] = [
    (1000, "1 step/s"),
    (400, "2.5 steps/s"),
    (150, "7 steps/s"),
    (40, "25 steps/s"),
];

#[function_component(Timeline)]
pub fn timeline(p: &Props) -> Html {
    let (step, back, reset, play) = (
        p.on_step.clone(),
        p.on_back.clone(),
        p.on_reset.clone(),
        p.on_play.clone(),
    );
    let jump = p.on_jump.clone();
    let speed = p.on_speed.clone();
    let on_slider = Callback::from(move |e: InputEvent| {
        if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
            if let Ok(v) = input.value().parse::<u32>() {
                jump.emit(v);
            }
        }
    });
    let on_speed = Callback::from(move |e: Event| {
        if let Some(sel) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
            if let Ok(v) = sel.value().parse::<u32>() {
                speed.emit(v);
            }
        }
    });
    html! {
        <div class="timeline" role="toolbar" aria-label="timeline">
            <button id="reset" onclick={move |_| reset.emit(())} disabled={p.cursor == 0} title="Reset to step 0" aria-label="Reset">{"↺"}<span class="blabel">{" Reset"}</span></button>
            <button id="back" onclick={move |_| back.emit(())} disabled={p.cursor == 0} title="Step back (←)" aria-label="Back">{"◀"}<span class="blabel">{" Back"}</span></button>
            <button id="play" onclick={move |_| play.emit(())} disabled={p.steps == 0} title="Play or pause (space)" aria-label="Play" aria-pressed={p.playing.to_string()}>
                { if p.playing { "⏸" } else { "▶" } }<span class="blabel">{ if p.playing { " Pause" } else { " Play" } }</span>
            </button>
            <button id="step" onclick={move |_| step.emit(())} disabled={p.cursor >= p.steps} title="Step forward (→)" aria-label="Step"><span class="blabel">{"Step "}</span>{"▶"}</button>
            <label class="speed">
                <select onchange={on_speed} aria-label="play speed">
                    { for SPEEDS_MS.iter().map(|(ms, label)| html! { <option value={ms.to_string()} selected={*ms == p.speed_ms}>{*label}</option> }) }
                </select>
            </label>
            <input type="range" class="scrub" min="0" max={p.steps.to_string()} value={p.cursor.to_string()} oninput={on_slider} aria-label="step" />
            <span class="stepno" id="stepno" data-step={p.cursor.to_string()}>{format!("step {} / {}", p.cursor, p.steps)}</span>
            if let Some(why) = &p.stopped {
                <span class="stopped-mark" id="timeline-stopped" role="status" title={why.clone()}>{format!("■ {why}")}</span>
            }
        </div>
    }
}
