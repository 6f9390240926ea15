//! The page view: a canvas of cells coloured by page state (drawn by `render::pages` from
//! `App::rendered`), its legend, and the hovered (or keyboard-focused) cell's range and states.
//! A click or Enter zooms into a cell, down to single pages in a VMA of any size; the arrow keys
//! move between cells, Page Up/Down pan, Escape zooms out.

use crate::render::pages::PageKey;
use crate::render::palette;
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
    #[prop_or_default]
    pub on_click: Callback<(f64, f64)>,
    #[prop_or_default]
    pub on_key: Callback<PageKey>,
    /// A Windows machine: its page states' legend (reserved, committed, working set, page file).
    #[prop_or_default]
    pub windows: bool,
}

#[function_component(PageView)]
pub fn page_view(p: &Props) -> Html {
    let hover = p.on_hover.clone();
    let onmousemove = Callback::from(move |e: MouseEvent| {
        hover.emit((f64::from(e.offset_x()), f64::from(e.offset_y())))
    });
    let leave = p.on_leave.clone();
    let unzoom = p.on_unzoom.clone();
    let click = p.on_click.clone();
    let onclick = Callback::from(move |e: MouseEvent| {
        click.emit((f64::from(e.offset_x()), f64::from(e.offset_y())))
    });
    let key = p.on_key.clone();
    let onkeydown = Callback::from(move |e: KeyboardEvent| {
        if e.ctrl_key() || e.meta_key() || e.alt_key() {
            return;
        }
        if let Some(k) = PageKey::from_key(&e.key()) {
            e.prevent_default();
            key.emit(k);
        }
    });
    let (pan_back, pan_on) = (p.on_key.clone(), p.on_key.clone());
    html! {
        <section class="panel pages" aria-label="page view">
            <div class="panel-head">
                <h2>{"Pages"}</h2>
                <span class="caption">{p.caption.clone()}</span>
                <span class="spacer"></span>
                <span class="muted">{ if p.pages_per_cell <= 1 { "1 page per cell".to_string() } else { format!("{} pages per cell, bars show proportions", p.pages_per_cell) } }</span>
                if p.zoomed {
                    <button id="pages-earlier" onclick={move |_| pan_back.emit(PageKey::Pan(-1))} title="the previous window of pages (Page Up)">{"◀"}</button>
                    <button id="pages-later" onclick={move |_| pan_on.emit(PageKey::Pan(1))} title="the next window of pages (Page Down)">{"▶"}</button>
                    <button onclick={move |_| unzoom.emit(())}>{"Show all VMAs"}</button>
                }
            </div>
            <div class="canvas-wrap">
                <canvas ref={p.canvas.clone()} id="page-canvas" tabindex="0" onmousemove={onmousemove} onmouseleave={move |_| leave.emit(())}
                    onclick={onclick} onkeydown={onkeydown} role="img"
                    aria-label="page states: arrow keys move between cells, Enter or a click zooms in, Page Up and Page Down pan, Escape zooms out" />
            </div>
            <p class="hover" aria-live="polite">{ p.hover.clone().unwrap_or_else(|| "Hover a cell (or focus the grid and use the arrow keys) to see its page range and states; click a cell or a VMA above to zoom in.".into()) }</p>
            <ul class="legend">
                { for palette::legend(p.windows).map(|(_, name, colour)| html! {
                    <li><span class="swatch" style={format!("background:{colour}")}></span>{name}</li>
                }) }
            </ul>
        </section>
    }
}
