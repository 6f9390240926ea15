//! Component tests in a real browser (wasm-bindgen-test + headless Chromium): the panels render
//! their data, report the user's verbs, and the whole app survives a damaged share link.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use vmlab_web::components::event_log::{self, EventLog};
use vmlab_web::components::timeline::{self, Timeline};
use vmlab_web::views::{EventView, StepView};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use yew::prelude::*;

wasm_bindgen_test_configure!(run_in_browser);

fn root() -> web_sys::Element {
    // The app's library (main.rs fetches it in the site; the test embeds the same file).
    vmlab_web::library::install_embedded();
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser document");
    let div = doc.create_element("div").expect("create div");
    doc.body()
        .expect("body")
        .append_child(&div)
        .expect("append");
    div
}

/// Lets Yew's scheduler render.
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(20).await;
}

fn click(root: &web_sys::Element, selector: &str) {
    let el = root
        .query_selector(selector)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no element {selector}"));
    el.dyn_into::<web_sys::HtmlElement>()
        .expect("an HTML element")
        .click();
}

fn steps() -> Vec<StepView> {
    let ev = |reason: &str, sentence: &str| EventView {
        reason: reason.into(),
        source: "kernel/fork.c: dup_mmap".into(),
        sentence: sentence.into(),
        pid: Some(1),
        span: None,
        cow_break: false,
        oom: None,
    };
    vec![
        StepView {
            step: 1,
            line: 2,
            text: "spawn app".into(),
            outcome: "ok".into(),
            ok: true,
            events: vec![ev("process.created", "spawned app (pid 1)")],
        },
        StepView {
            step: 2,
            line: 5,
            text: "app fork child".into(),
            outcome: "ENOMEM".into(),
            ok: false,
            events: vec![ev("fork.refused", "fork: VMA refused → ENOMEM")],
        },
    ]
}

#[wasm_bindgen_test]
async fn timeline_reports_verbs_and_disables_at_the_ends() {
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let cb = |name: &'static str| {
        let log = log.clone();
        Callback::from(move |_: ()| log.borrow_mut().push(name.to_string()))
    };
    let jump_log = log.clone();
    let props = timeline::Props {
        cursor: 0,
        steps: 3,
        playing: false,
        speed_ms: 400,
        on_step: cb("step"),
        on_back: cb("back"),
        on_reset: cb("reset"),
        on_play: cb("play"),
        on_jump: Callback::from(move |n: u32| jump_log.borrow_mut().push(format!("jump {n}"))),
        on_speed: Callback::from(|_: u32| ()),
        stopped: None,
    };
    let r = root();
    yew::Renderer::<Timeline>::with_root_and_props(r.clone(), props).render();
    settle().await;
    let text = r.text_content().unwrap_or_default();
    assert!(text.contains("step 0 / 3"), "{text}");
    click(&r, "#step");
    click(&r, "#play");
    click(&r, "#back"); // disabled at step 0: must not fire
    assert_eq!(*log.borrow(), vec!["step".to_string(), "play".to_string()]);
}

#[wasm_bindgen_test]
async fn event_log_shows_sentences_marks_failures_and_jumps() {
    let jumped: Rc<RefCell<Option<u32>>> = Rc::default();
    let j = jumped.clone();
    let props = event_log::Props {
        run: std::rc::Rc::new(vmlab_web::views::RunView {
            steps: steps(),
            checks: vec![],
            error: None,
            ..Default::default()
        }),
        cursor: 2,
        on_jump: Callback::from(move |n| *j.borrow_mut() = Some(n)),
    };
    let r = root();
    yew::Renderer::<EventLog>::with_root_and_props(r.clone(), props).render();
    settle().await;
    let failed = r
        .query_selector(".step.failed")
        .ok()
        .flatten()
        .expect("the ENOMEM step is marked failed");
    assert!(failed
        .text_content()
        .unwrap_or_default()
        .contains("fork: VMA refused → ENOMEM"));
    assert!(r
        .query_selector(".step.current[data-step='2']")
        .ok()
        .flatten()
        .is_some());
    assert!(
        r.inner_html()
            .contains("elixir.bootlin.com/linux/latest/source/kernel/fork.c"),
        "source is a link"
    );
    click(&r, "li[data-step='1'] .steplink");
    assert_eq!(*jumped.borrow(), Some(1));
}

#[wasm_bindgen_test]
async fn a_damaged_share_link_shows_a_message_and_the_library() {
    let w = web_sys::window().expect("window");
    w.history()
        .expect("history")
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("#s=@@@broken&t=3"))
        .expect("set hash");
    let r = root();
    yew::Renderer::<vmlab_web::app::App>::with_root(r.clone()).render();
    settle().await;
    let notice = r
        .query_selector("#notice")
        .ok()
        .flatten()
        .expect("a notice for the damaged link");
    assert!(notice
        .text_content()
        .unwrap_or_default()
        .contains("could not be opened"));
    assert!(
        r.query_selector(".library").ok().flatten().is_some(),
        "the library is shown"
    );
    assert!(
        r.query_selector("#scenario").ok().flatten().is_some(),
        "the editor is shown"
    );
}

/// A run that stops early says so on the timeline, in the log, and counts what never ran.
#[wasm_bindgen_test]
async fn a_run_that_stops_early_says_so() {
    let text = "machine linux ram=1GiB swap=0 overcommit=2\nspawn a\nexpect a running\na mmap m 900MiB rw private anon\na fork b\nexpect a running\nb write m\nexpect b running\n";
    let sim = vmlab_web::engine::load(text).expect("parses");
    let run = sim.run.clone();
    assert_eq!(
        run.stopped()
            .as_deref()
            .map(|s| s.starts_with("stopped at line 7: ")),
        Some(true),
        "{:?}",
        run.error
    );
    let r = root();
    let props = event_log::Props {
        run: run.clone(),
        cursor: 3,
        on_jump: Callback::from(|_: u32| ()),
    };
    yew::Renderer::<EventLog>::with_root_and_props(r.clone(), props).render();
    settle().await;
    let text_of = |sel: &str| {
        r.query_selector(sel)
            .ok()
            .flatten()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    };
    assert_eq!(
        text_of("#checks-summary"),
        "Expectations: 2 of 3 hold, 1 never ran"
    );
    let stopped = text_of("#log-stopped");
    assert!(stopped.contains("stopped at line 7"), "{stopped}");
}
