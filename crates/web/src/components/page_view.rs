//! The page view: a canvas of cells coloured by page state (drawn by `render::pages` from
//! `App::rendered`), its legend, and the hovered cell's range and states.

use crate::render::palette::PAGE_STATES;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub canvas: NodeRef,
    /// What the view shows: "all VMAs of app (2 VMAs, 7.5 GiB)" or one zoomed VMA.
    pub caption: String,
    pub pages_per_cell: u64,
    pub hover: Option<String>,
    pub on_hover: Callback<(f64, f64)>,
    pub on_leave: Callback<()>,
    pub zoomed: bool,
    pub on_unzoom: Callback<()>,
}

#[function_component(PageView)]
pub fn page_view(p: &Props) -> Html {
    let hover = p.on_hover.clone();
    let onmousemove = Callback::from(move |e: MouseEvent| {
        hover.emit((f64::from(e.offset_x()), f64::from(e.offset_y())))
    });
    let leave = p.on_leave.clone();
    let unzoom = p.on_unzoom.clone();
    html! {
        <section class="panel pages" aria-label="page view">
            <div class="panel-head">
                <h2>{"Pages"}</h2>
                <span class="caption">{p.caption.clone()}</span>
                <span class="spacer"></span>
                <span class="muted">{ if p.pages_per_cell <= 1 { "1 page per cell".to_string() } else { format!("{} pages per cell, bars show proportions", p.pages_per_cell) } }</span>
                if p.zoomed { <button onclick={move |_| unzoom.emit(())}>{"Show all VMAs"}</button> }
            </div>
            <div class="canvas-wrap">
                <canvas ref={p.canvas.clone()} id="page-canvas" onmousemove={onmousemove} onmouseleave={move |_| leave.emit(())} role="img" aria-label="page states" />
            </div>
            <p class="hover" aria-live="polite">{ p.hover.clone().unwrap_or_else(|| "Hover a cell to see its page range and states; click a VMA above to zoom into it.".into()) }</p>
            <ul class="legend">
                { for PAGE_STATES.iter().map(|(name, colour)| html! {
                    <li><span class="swatch" style={format!("background:{colour}")}></span>{*name}</li>
                }) }
            </ul>
        </section>
    }
}
