//! The web app's entry point: Trunk builds this binary to wasm and mounts `App` on the page body.

fn main() {
    #[cfg(target_arch = "wasm32")]
    yew::Renderer::<vmlab_web::app::App>::new().render();
}
