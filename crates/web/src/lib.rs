//! vmlab-web: the in-browser lab. A Yew app that runs vmlab-core compiled to wasm, with no server:
//! pick or write a scenario, step through it, and watch VMAs, pages and counters change.
//!
//! `state` holds the lab without the DOM, `engine` is the only seam to the core, `components`
//! draw panels, `render` draws canvases, and `app` ties them together (wasm32 only).

#[cfg(target_arch = "wasm32")]
pub mod app;
pub mod components;
pub mod engine;
pub mod flags;
pub mod library;
pub mod random;
pub mod render;
pub mod share;
pub mod state;
pub mod store;
pub mod views;
