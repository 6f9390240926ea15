//! Canvas drawing: the page grid (hand-drawn cells) and the charts (plotters). Called from a
//! component's `rendered` with a `NodeRef`'s canvas, never as thousands of DOM nodes.

pub mod charts;
pub mod pages;
pub mod palette;
