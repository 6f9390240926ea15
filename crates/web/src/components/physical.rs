//! The physical memory strip's panel: a row per shown process (its name at the left), the canvas
//! that `render::frames` draws from `App::rendered`, and what the colours mean.

use crate::render::frames;
use yew::prelude::*;

/// Each process's row, in CSS pixels (the canvas is drawn to match).
pub const ROW_PX: u32 = 22;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub canvas: NodeRef,
    /// (pid, name, acting) per row, top to bottom.
    pub rows: Vec<(u32, String, bool)>,
    /// Frames in use machine-wide and how many of them the rows map.
    pub frames_shown: u64,
    /// A Windows machine: its model keeps working sets and page-file pages, not frame numbers,
    /// so the panel says so instead of drawing empty rows.
    #[prop_or_default]
    pub windows: bool,
}

#[function_component(Physical)]
pub fn physical(p: &Props) -> Html {
    if p.windows {
        return html! {
            <section class="panel physical" aria-label="physical memory">
                <div class="panel-head"><h2>{"Physical frames"}</h2></div>
                <p class="muted" id="physical-windows">{"The Windows model keeps each process's working set and its pages in the page file, not which frame holds a page: the address-space columns above show what is resident."}</p>
            </section>
        };
    }
    html! {
        <section class="panel physical" aria-label="physical memory">
            <div class="panel-head">
                <h2>{"Physical frames"}</h2>
                <span class="muted">{format!("{} frames mapped; one column is one frame, unused frames squeezed", p.frames_shown)}</span>
                <span class="spacer"></span>
                { for [(1, "own"), (2, "shared by 2"), (3, "by 3+")].into_iter().map(|(n, what)| html! {
                    <span class="key"><span class="swatch" style={format!("background:{}", frames::colour(n))}></span>{what}</span>
                }) }
            </div>
            <div class="strip">
                <ul class="strip-names" aria-hidden="true">
                    { for p.rows.iter().map(|(pid, name, acting)| html! {
                        <li class={classes!(acting.then_some("acting"))} style={format!("height:{ROW_PX}px")} title={format!("{name} (pid {pid})")}>{ if *acting { "▶ " } else { "" } }{name.clone()}</li>
                    }) }
                </ul>
                <div class="strip-canvas">
                    <canvas ref={p.canvas.clone()} id="frame-canvas" role="img"
                        aria-label="which physical frames each process maps: one frame shared copy-on-write is marked in every row that maps it" />
                </div>
            </div>
        </section>
    }
}
