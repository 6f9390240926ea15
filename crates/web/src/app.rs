//! The `App` component: owns the `Lab` (the scenario, its replayed run and the cursor), turns the
//! user's verbs into `Lab` calls, keeps the URL and localStorage in step, and draws the canvases
//! after each render.

use crate::components::{
    address_space::AddressSpace,
    compare::Compare,
    counters::Counters,
    editor::Editor,
    event_log::{EventLog, Now},
    library::Library,
    page_view::PageView,
    proc_files::{ProcFiles, Tab},
    size,
    timeline::Timeline,
};
use crate::library::{self as lib, Entry};
use crate::random;
use crate::render::pages::{self, Cell, Grid};
use crate::state::{CompareWith, Lab};
use crate::views::{RunView, SnapshotView};
use gloo_timers::callback::Interval;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

const STORAGE_KEY: &str = "vmlab.scenario";
/// Random workloads are this many operations long.
const RANDOM_OPS: u32 = 60;

pub enum Msg {
    Step,
    Back,
    Jump(u32),
    Reset,
    TogglePlay,
    Tick,
    SetSpeed(u32),
    Edit(String),
    Open(String),
    Random(Option<u64>),
    Select(u32),
    Zoom(Option<u64>),
    Hover(f64, f64),
    Unhover,
    Tab(Tab),
    Compare(Option<CompareWith>),
    Import(web_sys::File),
    Imported(Result<String, String>),
    Export,
    DismissNotice,
    Resized,
}

/// The callbacks handed to the panels, made once: a new `Callback` on every render would make
/// every panel's props differ and re-render all of them on each step.
struct Callbacks {
    open: Callback<String>,
    random: Callback<Option<u64>>,
    step: Callback<()>,
    back: Callback<()>,
    reset: Callback<()>,
    play: Callback<()>,
    jump: Callback<u32>,
    speed: Callback<u32>,
    edit: Callback<String>,
    import: Callback<web_sys::File>,
    export: Callback<()>,
    select: Callback<u32>,
    zoom: Callback<Option<u64>>,
    hover: Callback<(f64, f64)>,
    unhover: Callback<()>,
    unzoom: Callback<()>,
    tab: Callback<Tab>,
    compare: Callback<Option<CompareWith>>,
}

impl Callbacks {
    fn new(link: &yew::html::Scope<App>) -> Callbacks {
        Callbacks {
            open: link.callback(Msg::Open),
            random: link.callback(Msg::Random),
            step: link.callback(|_| Msg::Step),
            back: link.callback(|_| Msg::Back),
            reset: link.callback(|_| Msg::Reset),
            play: link.callback(|_| Msg::TogglePlay),
            jump: link.callback(Msg::Jump),
            speed: link.callback(Msg::SetSpeed),
            edit: link.callback(Msg::Edit),
            import: link.callback(Msg::Import),
            export: link.callback(|_| Msg::Export),
            select: link.callback(Msg::Select),
            zoom: link.callback(Msg::Zoom),
            hover: link.callback(|(x, y)| Msg::Hover(x, y)),
            unhover: link.callback(|_| Msg::Unhover),
            unzoom: link.callback(|_| Msg::Zoom(None)),
            tab: link.callback(Msg::Tab),
            compare: link.callback(Msg::Compare),
        }
    }
}

pub struct App {
    cb: Callbacks,
    lab: Lab,
    entries: Vec<Entry>,
    snap: Option<SnapshotView>,
    playing: Option<Interval>,
    speed_ms: u32,
    tab: Tab,
    page_canvas: NodeRef,
    chart_canvas: NodeRef,
    chart_overlay: NodeRef,
    /// Bumped whenever the run changes, so the chart's series are redrawn only then.
    run_generation: u64,
    chart_drawn: Option<(
        (u64, web_sys::HtmlCanvasElement),
        crate::render::charts::PlotArea,
    )>,
    /// The cells last drawn and their grid, for hover hit-testing.
    cells: Vec<Cell>,
    grid: Grid,
    hover: Option<String>,
    /// The page canvas's width in CSS pixels, read once and again after a resize.
    canvas_width: Option<u32>,
    /// When the current step message arrived, to time step + redraw (read by the web benchmark).
    step_started_ms: Option<f64>,
    /// (text, its compressed form for the URL).
    shared_text: (String, String),
    _keys: Option<Closure<dyn FnMut(web_sys::KeyboardEvent)>>,
    _resize: Option<Closure<dyn FnMut()>>,
}

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn now_ms() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

fn storage() -> Option<web_sys::Storage> {
    window().and_then(|w| w.local_storage().ok().flatten())
}

/// Appends a number to a global array (`window.vmlabPerf.steps` or `.redraws`) for the benchmark.
fn record(kind: &str, ms: f64) {
    let Some(w) = window() else { return };
    let perf = js_sys::Reflect::get(&w, &"vmlabPerf".into())
        .ok()
        .filter(|v| v.is_object())
        .unwrap_or_else(|| {
            let o = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&o, &"steps".into(), &js_sys::Array::new());
            let _ = js_sys::Reflect::set(&o, &"redraws".into(), &js_sys::Array::new());
            let _ = js_sys::Reflect::set(&w, &"vmlabPerf".into(), &o);
            o.into()
        });
    let arr = match js_sys::Reflect::get(&perf, &kind.into())
        .ok()
        .and_then(|a| a.dyn_into::<js_sys::Array>().ok())
    {
        Some(a) => a,
        None => {
            let a = js_sys::Array::new();
            let _ = js_sys::Reflect::set(&perf, &kind.into(), &a);
            a
        }
    };
    arr.push(&ms.into());
}

impl App {
    /// The scenario to show when the URL carries none: the last edit, else the fork-after-merge
    /// scenario, else the library's first, else a random workload.
    fn default_text(entries: &[Entry]) -> String {
        if let Some(saved) = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) {
            if !saved.trim().is_empty() {
                return saved;
            }
        }
        entries
            .iter()
            .find(|e| e.file.contains("fork") && e.file.contains("merge"))
            .or_else(|| entries.first())
            .map(|e| e.text.to_string())
            .unwrap_or_else(|| random::workload(1, RANDOM_OPS))
    }

    fn after_change(&mut self) {
        self.snap = self
            .lab
            .sim
            .as_ref()
            .ok()
            .and_then(|s| s.snapshot(self.lab.cursor, self.lab.selected_pid));
        if let Some(snap) = &self.snap {
            // The same rule the engine used to pick whose pages the snapshot carries.
            let procs: Vec<(u32, bool)> = snap
                .processes
                .iter()
                .map(|p| (p.pid, p.state == "running"))
                .collect();
            let owner = crate::engine::page_owner(&procs, self.lab.selected_pid);
            if owner != self.lab.selected_pid {
                self.lab.selected_pid = owner;
                self.lab.zoom_vma = None;
            }
        }
        if self.shared_text.0 != self.lab.text {
            self.run_generation += 1;
        }
        // Compressing the text is the expensive part of the link: redo it only when the text changes.
        if self.shared_text.0 != self.lab.text {
            self.shared_text = (
                self.lab.text.clone(),
                crate::share::encode_text(&self.lab.text),
            );
        }
        let fragment = format!(
            "#{}",
            crate::share::with_position(&self.shared_text.1, self.lab.cursor, self.lab.seed)
        );
        if let Some(h) = window().and_then(|w| w.history().ok()) {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&fragment));
        }
    }

    fn stop(&mut self) {
        self.playing = None;
    }

    fn selected(&self) -> Option<&crate::views::ProcView> {
        let pid = self.lab.selected_pid?;
        // The view's processes are in pid order (the machine keeps them by pid).
        let procs = &self.snap.as_ref()?.processes;
        procs
            .binary_search_by_key(&pid, |p| p.pid)
            .ok()
            .map(|i| &procs[i])
    }

    /// The spans the page view shows: the zoomed VMA, or every VMA of the selected process.
    fn page_spans(&self) -> (Vec<(u64, u64)>, String) {
        let Some(p) = self.selected() else {
            return (Vec::new(), "no process selected".into());
        };
        if let Some(v) = self.lab.zoom_vma.and_then(|z| {
            // VMAs are in address order, as /proc/PID/maps lists them.
            p.vmas
                .binary_search_by_key(&z, |v| v.start)
                .ok()
                .map(|i| &p.vmas[i])
        }) {
            return (
                vec![(v.start, v.end)],
                format!(
                    "{} of {}: {:x}-{:x} ({})",
                    v.name,
                    p.name,
                    v.start,
                    v.end,
                    size(v.size_bytes())
                ),
            );
        }
        let spans: Vec<(u64, u64)> = p.vmas.iter().map(|v| (v.start, v.end)).collect();
        let total: u64 = spans.iter().map(|(s, e)| e - s).sum();
        (
            spans,
            format!(
                "all {} VMAs of {} ({}), gaps elided",
                p.vmas.len(),
                p.name,
                size(total)
            ),
        )
    }

    fn draw_pages(&mut self) {
        let Some(canvas) = self.page_canvas.cast::<web_sys::HtmlCanvasElement>() else {
            return;
        };
        let t0 = now_ms();
        // Reading a width forces a layout: do it once, and again only after a resize.
        let width = match self.canvas_width {
            Some(w) => w,
            None => {
                let w = canvas
                    .parent_element()
                    .map(|p| p.client_width())
                    .unwrap_or(720)
                    .max(120) as u32;
                self.canvas_width = Some(w);
                w
            }
        };
        let grid = Grid::for_width(width, 16);
        let (spans, _) = self.page_spans();
        let cells = match &self.snap {
            Some(snap) if snap.page_owner == self.lab.selected_pid => {
                pages::aggregate(&spans, &snap.pages, grid.cells())
            }
            _ => Vec::new(),
        };
        pages::draw(&canvas, grid, &cells);
        self.cells = cells;
        self.grid = grid;
        record("redraws", now_ms() - t0);
    }

    /// Keeps the current step visible inside the event log (scrolling the log, not the page).
    fn scroll_log(&self) {
        let Some(doc) = window().and_then(|w| w.document()) else {
            return;
        };
        let (Some(list), Some(cur)) = (
            doc.query_selector(".log .steps")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
            doc.query_selector(".log .step.current")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
        ) else {
            return;
        };
        let top = cur.offset_top() - list.offset_top();
        if top < list.scroll_top()
            || top + cur.offset_height() > list.scroll_top() + list.client_height()
        {
            list.set_scroll_top((top - 8).max(0));
        }
    }

    /// Draws the series when the run changed (or the canvas is new), then the cursor line.
    fn draw_chart(&mut self) {
        let (Some(canvas), Some(overlay), Ok(sim)) = (
            self.chart_canvas.cast::<web_sys::HtmlCanvasElement>(),
            self.chart_overlay.cast::<web_sys::HtmlCanvasElement>(),
            &self.lab.sim,
        ) else {
            self.chart_drawn = None;
            return;
        };
        let key = (self.run_generation, canvas.clone());
        let area = match &self.chart_drawn {
            Some((k, area)) if *k == key => *area,
            _ => match crate::render::charts::draw(canvas, &sim.series) {
                Ok(area) => {
                    self.chart_drawn = Some((key, area));
                    area
                }
                Err(e) => {
                    web_sys::console::warn_1(&format!("vmlab: chart not drawn: {e}").into());
                    return;
                }
            },
        };
        crate::render::charts::draw_cursor(&overlay, area, self.lab.cursor);
    }

    fn download(&self) -> Result<(), JsValue> {
        let parts = js_sys::Array::of1(&JsValue::from_str(&self.lab.text));
        let opts = web_sys::BlobPropertyBag::new();
        opts.set_type("text/plain");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
        let url = web_sys::Url::create_object_url_with_blob(&blob)?;
        let doc = window().and_then(|w| w.document()).ok_or("no document")?;
        let a: web_sys::HtmlAnchorElement = doc.create_element("a")?.dyn_into()?;
        a.set_href(&url);
        a.set_download("scenario.vmlab");
        a.click();
        web_sys::Url::revoke_object_url(&url)
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let entries = lib::entries();
        let fragment = window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        let lab = Lab::from_fragment(&fragment, &App::default_text(&entries));
        let link = ctx.link().clone();
        // ← → step, space plays; not while typing in the editor or a field.
        let keys =
            Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |e: web_sys::KeyboardEvent| {
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .map(|el| matches!(el.tag_name().as_str(), "TEXTAREA" | "INPUT" | "SELECT"))
                    .unwrap_or(false);
                if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let msg = match e.key().as_str() {
                    "ArrowRight" => Msg::Step,
                    "ArrowLeft" => Msg::Back,
                    " " => Msg::TogglePlay,
                    _ => return,
                };
                e.prevent_default();
                link.send_message(msg);
            });
        if let Some(doc) = window().and_then(|w| w.document()) {
            let _ = doc.add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
        }
        let resize_link = ctx.link().clone();
        let resize = Closure::<dyn FnMut()>::new(move || resize_link.send_message(Msg::Resized));
        if let Some(w) = window() {
            let _ = w.add_event_listener_with_callback("resize", resize.as_ref().unchecked_ref());
        }
        let mut app = App {
            cb: Callbacks::new(ctx.link()),
            lab,
            entries,
            snap: None,
            playing: None,
            speed_ms: 400,
            tab: Tab::Meminfo,
            page_canvas: NodeRef::default(),
            chart_canvas: NodeRef::default(),
            chart_overlay: NodeRef::default(),
            run_generation: 0,
            chart_drawn: None,
            cells: Vec::new(),
            grid: Grid::for_width(720, 16),
            hover: None,
            canvas_width: None,
            step_started_ms: None,
            shared_text: (String::new(), String::new()),
            _keys: Some(keys),
            _resize: Some(resize),
        };
        app.after_change();
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Step => {
                self.step_started_ms = Some(now_ms());
                if !self.lab.step() {
                    return false;
                }
            }
            Msg::Back => {
                self.step_started_ms = Some(now_ms());
                if !self.lab.back() {
                    return false;
                }
            }
            Msg::Jump(n) => self.lab.jump(n),
            Msg::Reset => {
                self.stop();
                self.lab.reset();
            }
            Msg::TogglePlay => {
                if self.playing.is_some() {
                    self.stop();
                } else {
                    if self.lab.at_end() {
                        self.lab.reset();
                    }
                    let link = ctx.link().clone();
                    self.playing = Some(Interval::new(self.speed_ms, move || {
                        link.send_message(Msg::Tick)
                    }));
                }
            }
            Msg::Tick => {
                if !self.lab.step() {
                    self.stop();
                }
            }
            Msg::SetSpeed(ms) => {
                self.speed_ms = ms;
                if self.playing.is_some() {
                    let link = ctx.link().clone();
                    self.playing = Some(Interval::new(ms, move || link.send_message(Msg::Tick)));
                }
            }
            Msg::Edit(text) => {
                if let Some(s) = storage() {
                    let _ = s.set_item(STORAGE_KEY, &text);
                }
                self.lab.edit(text);
            }
            Msg::Open(text) => {
                self.stop();
                if let Some(s) = storage() {
                    let _ = s.set_item(STORAGE_KEY, &text);
                }
                self.lab.open(text, None);
            }
            Msg::Random(seed) => {
                self.stop();
                let seed = match seed.map(Ok).unwrap_or_else(random::fresh_seed) {
                    Ok(s) => s,
                    Err(e) => {
                        self.lab.notice = Some(e);
                        return true;
                    }
                };
                self.lab
                    .open(random::workload(seed, RANDOM_OPS), Some(seed));
            }
            Msg::Select(pid) => {
                self.lab.selected_pid = Some(pid);
                self.lab.zoom_vma = None;
            }
            Msg::Zoom(z) => self.lab.zoom_vma = z,
            Msg::Hover(x, y) => {
                self.hover = self
                    .grid
                    .hit(x, y)
                    .and_then(|i| self.cells.get(i))
                    .map(Cell::describe);
                return true;
            }
            Msg::Unhover => self.hover = None,
            Msg::Tab(t) => self.tab = t,
            Msg::Compare(w) => self.lab.compare(w),
            Msg::Import(file) => {
                let link = ctx.link().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let r = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                    let r = r
                        .ok()
                        .and_then(|v| v.as_string())
                        .ok_or_else(|| "the file could not be read as text".to_string());
                    link.send_message(Msg::Imported(r));
                });
                return false;
            }
            Msg::Imported(Ok(text)) => self.lab.open(text, None),
            Msg::Imported(Err(e)) => self.lab.notice = Some(format!("Import failed: {e}")),
            Msg::Export => {
                if let Err(e) = self.download() {
                    self.lab.notice = Some(format!("Export failed: {e:?}"));
                }
            }
            Msg::DismissNotice => self.lab.notice = None,
            Msg::Resized => {
                self.canvas_width = None;
                self.chart_drawn = None;
            }
        }
        let t = now_ms();
        self.after_change();
        record("after_change", now_ms() - t);
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let t_view = now_ms();
        let link = ctx.link();
        let cb = &self.cb;
        let lab = &self.lab;
        let run: Rc<RunView> = match &lab.sim {
            Ok(s) => s.run.clone(),
            Err(_) => Rc::default(),
        };
        let current = run.steps.get(lab.cursor.wrapping_sub(1) as usize);
        // Only the selected process's own VMA changes: a child's munmap must not light up its parent.
        let changed: Vec<(u64, u64)> = current
            .map(|s| {
                s.events
                    .iter()
                    .filter(|e| e.is_vma_change() && e.pid == lab.selected_pid)
                    .filter_map(|e| e.span)
                    .collect()
            })
            .unwrap_or_default();
        let (_, caption) = self.page_spans();
        let (spans, _) = self.page_spans();
        let total_pages: u64 = spans.iter().map(|(s, e)| (e - s) / 4096).sum();
        let pages_per_cell = total_pages.div_ceil(self.grid.cells()).max(1);
        let proc_text = match self.tab {
            Tab::Meminfo => self.snap.as_ref().map(|s| s.meminfo_text.clone()),
            t => lab
                .selected_pid
                .and_then(|pid| lab.sim.as_ref().ok()?.proc_texts(lab.cursor, pid))
                .map(|x| match t {
                    Tab::Maps => x.maps,
                    Tab::Smaps => x.smaps,
                    _ => x.status,
                }),
        }
        .unwrap_or_else(|| "(nothing to show at this step)".into());
        let (cmp_right, cmp_err, cmp_div) = match &lab.comparison {
            Some(c) => match &c.sim {
                Ok(s) => (
                    Some(s.run.clone()),
                    s.run.error.as_ref().map(|d| d.message.clone()),
                    c.first_divergence,
                ),
                Err(d) => (
                    None,
                    Some(format!(
                        "the changed scenario does not parse: {}",
                        d.first().map(|d| d.message.clone()).unwrap_or_default()
                    )),
                    None,
                ),
            },
            None => (None, None, None),
        };
        let out = html! {
            <div class="app" data-ready="1">
                <header class="top">
                    <h1>{"vmlab"}<span class="sub">{" — step through Linux memory accounting"}</span></h1>
                    if let Some(seed) = lab.seed { <span class="seed-badge" id="seed-badge">{format!("random seed {seed}")}</span> }
                </header>
                if let Some(n) = &lab.notice {
                    <div class="notice" role="alert" id="notice">{n.clone()}<button onclick={link.callback(|_| Msg::DismissNotice)} aria-label="dismiss">{"✕"}</button></div>
                }
                <div class="layout">
                    <Library entries={self.entries.clone()} current_text={lab.text.clone()} seed={lab.seed}
                        on_open={cb.open.clone()} on_random={cb.random.clone()} />
                    <main class="main">
                        <Timeline cursor={lab.cursor} steps={lab.steps()} playing={self.playing.is_some()} speed_ms={self.speed_ms}
                            on_step={cb.step.clone()} on_back={cb.back.clone()} on_reset={cb.reset.clone()}
                            on_play={cb.play.clone()} on_jump={cb.jump.clone()} on_speed={cb.speed.clone()} />
                        <Now step={current.cloned()} />
                        <div class="columns">
                            <div class="col">
                                <Editor text={lab.text.clone()} diagnostics={lab.diagnostics().to_vec()} run_error={run.error.clone()}
                                    on_edit={cb.edit.clone()} on_import={cb.import.clone()} on_export={cb.export.clone()} />
                                <EventLog run={run.clone()} cursor={lab.cursor} on_jump={cb.jump.clone()} />
                            </div>
                            <div class="col">
                                if let Some(snap) = &self.snap {
                                    <Counters snap={snap.clone()} chart={self.chart_canvas.clone()} chart_overlay={self.chart_overlay.clone()} selected_pid={lab.selected_pid} on_select={cb.select.clone()} />
                                    <section class="panel" aria-label="address space">
                                        <h2>{"Address space"}</h2>
                                        { for snap.processes.iter().filter(|p| Some(p.pid) == lab.selected_pid).map(|p| html! {
                                            <AddressSpace proc_={p.clone()} changed={changed.clone()} zoom={lab.zoom_vma} on_zoom={cb.zoom.clone()} />
                                        }) }
                                    </section>
                                    <PageView canvas={self.page_canvas.clone()} caption={caption} pages_per_cell={pages_per_cell} hover={self.hover.clone()}
                                        on_hover={cb.hover.clone()} on_leave={cb.unhover.clone()}
                                        zoomed={lab.zoom_vma.is_some()} on_unzoom={cb.unzoom.clone()} />
                                    <ProcFiles tab={self.tab} pid={lab.selected_pid} text={proc_text} on_tab={cb.tab.clone()} />
                                } else {
                                    <section class="panel empty">
                                        <h2>{"Machine"}</h2>
                                        <p>{ if lab.diagnostics().is_empty() { "The machine cannot be shown: see the message under the scenario." } else { "Fix the errors in the scenario to run it." } }</p>
                                    </section>
                                }
                                <Compare with={lab.comparison.as_ref().map(|c| c.with)} left={run.clone()} right={cmp_right} right_error={cmp_err}
                                    first_divergence={cmp_div} cursor={lab.cursor} on_compare={cb.compare.clone()} />
                            </div>
                        </div>
                    </main>
                </div>
            </div>
        };
        record("view", now_ms() - t_view);
        out
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first_render: bool) {
        let t = now_ms();
        if let Some(t0) = self.step_started_ms {
            record("to_rendered", t - t0);
        }
        self.draw_pages();
        let t1 = now_ms();
        self.draw_chart();
        let t2 = now_ms();
        record("chart", t2 - t1);
        self.scroll_log();
        record("scroll", now_ms() - t2);
        if let Some(t0) = self.step_started_ms.take() {
            record("steps", now_ms() - t0);
        }
        if first_render {
            if let Some(w) = window() {
                let _ = js_sys::Reflect::set(&w, &"vmlabReady".into(), &true.into());
            }
        }
    }
}
