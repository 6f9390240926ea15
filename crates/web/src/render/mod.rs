//! Canvas drawing: the page grid (hand-drawn cells) and the charts (plotters). Called from a
//! component's `rendered` with a `NodeRef`'s canvas, never as thousands of DOM nodes.

pub mod charts;
pub mod frames;
pub mod pages;
pub mod palette;

/// The 2D context of a canvas (None if the browser gives none: the drawing is skipped).
#[cfg(target_arch = "wasm32")]
pub fn context_2d(
    canvas: &web_sys::HtmlCanvasElement,
) -> Option<web_sys::CanvasRenderingContext2d> {
    use wasm_bindgen::JsCast;
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
}
