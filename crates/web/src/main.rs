//! The web app's entry point: Trunk builds this binary to wasm and mounts `App` on the page body,
//! then removes the loading message of web/index.html.

fn main() {
    #[cfg(target_arch = "wasm32")]
    {
        yew::Renderer::<vmlab_web::app::App>::new().render();
        // The first render has run (Yew renders a new app synchronously): the page is ready.
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("loading"))
        {
            el.remove();
        }
    }
}
