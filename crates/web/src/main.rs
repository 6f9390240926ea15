//! The web app's entry point: Trunk builds this binary to wasm. It fetches the scenario library
//! (`library.txt` beside the wasm; see library.rs), mounts `App` on the page body, then removes
//! the loading message of web/index.html.

fn main() {
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_futures::spawn_local(start());
}

#[cfg(target_arch = "wasm32")]
async fn start() {
    let loaded = fetch_library()
        .await
        .and_then(|text| vmlab_web::library::install(Box::leak(text.into_boxed_str())).map(drop));
    yew::Renderer::<vmlab_web::app::App>::new().render();
    // The first render has run (Yew renders a new app synchronously): the page is ready. Without
    // the library the app still runs the student's own scenarios; the message says what failed.
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("loading"))
    else {
        return;
    };
    match loaded {
        Ok(()) => el.remove(),
        Err(e) => {
            el.set_text_content(Some(&format!(
                "The scenario library could not be loaded ({e}); your own scenarios still work."
            )));
            let _ = el.set_attribute("class", "loading-failed");
        }
    }
}

/// `library.txt`, next to the page (the site is served from any folder: Trunk.toml's public_url).
#[cfg(target_arch = "wasm32")]
async fn fetch_library() -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let js = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let window = web_sys::window().ok_or("no window")?;
    let resp = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str("library.txt"))
        .await
        .map_err(js)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(js)?;
    if !resp.ok() {
        return Err(format!("library.txt: HTTP {}", resp.status()));
    }
    let text = wasm_bindgen_futures::JsFuture::from(resp.text().map_err(js)?)
        .await
        .map_err(js)?;
    text.as_string()
        .ok_or_else(|| "library.txt is not text".into())
}
