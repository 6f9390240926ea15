//! The `App` component: owns the `Lab` (the scenario, its replayed run and the cursor), turns the
//! user's verbs into `Lab` calls, keeps the URL and localStorage in step, and draws the canvases
//! after each render.

use crate::components::{
    cgroups::{Cgroups, OomPanel},
    compare::Compare,
    counters::{Chart, Counters, ProcTable},
    editor::Editor,
    event_log::{EventLog, Now},
    library::Library,
    page_view::PageView,
    physical::{Physical, ROW_PX},
    proc_files::{ProcFiles, Tab},
    processes::{columns, Processes, MAX_COLUMNS},
    size,
    timeline::Timeline,
    windows::{CommitMeter, JobPanel},
};
use crate::library::{self as lib, Entry};
use crate::random::{self, RANDOM_OPS};
use crate::render::pages::{self, Cell, Grid, PageKey};
use crate::state::{CompareWith, Lab};
use crate::store::{self, Store};
use crate::views::{RunView, SnapshotView};
use gloo_timers::callback::{Interval, Timeout};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The chart's height in CSS pixels (its width is its panel's).
const CHART_HEIGHT_PX: u32 = 260;
/// The cgroup chart's height in CSS pixels.
const CG_CHART_HEIGHT_PX: u32 = 220;

pub enum Msg {
    Step,
    Back,
    Jump(u32),
    Reset,
    TogglePlay,
    Tick,
    SetSpeed(u32),
    /// The editor's text after a key: kept, and parsed and run once typing pauses (ApplyEdit).
    Edit(String),
    /// Typing paused for EDIT_PAUSE_MS: parse and run the typed text.
    ApplyEdit,
    Open(String),
    Random(Option<u64>),
    /// Pins a process (the views stay on it) or unpins (None).
    Pin(Option<u32>),
    Zoom(Option<u64>),
    /// A VMA clicked in the side-by-side picture: its process is pinned and the page view zooms.
    ZoomIn(u32, Option<u64>),
    Hover(f64, f64),
    Unhover,
    /// A click on the page canvas: zoom into the cell there.
    PageClick(f64, f64),
    /// A key on the focused page canvas.
    PageKey(PageKey),
    Tab(Tab),
    Compare(Option<CompareWith>),
    Import(web_sys::File),
    /// (the file's name, its text) or why it was refused.
    Imported(Result<(String, String), String>),
    OpenOwn(String),
    /// Asks to delete an own scenario (None: the question is withdrawn).
    AskDelete(Option<String>),
    Delete(String),
    UndoDelete,
    SkipToPicture,
    /// The fragment changed without a reload (a link pasted into the same tab).
    HashChanged,
    /// Another tab wrote the own scenarios (the `storage` event).
    StorageChanged,
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
    pin: Callback<Option<u32>>,
    zoom_in: Callback<(u32, Option<u64>)>,
    hover: Callback<(f64, f64)>,
    unhover: Callback<()>,
    unzoom: Callback<()>,
    page_click: Callback<(f64, f64)>,
    page_key: Callback<PageKey>,
    tab: Callback<Tab>,
    compare: Callback<Option<CompareWith>>,
    open_own: Callback<String>,
    ask_delete: Callback<Option<String>>,
    delete: Callback<String>,
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
            pin: link.callback(Msg::Pin),
            zoom_in: link.callback(|(pid, z)| Msg::ZoomIn(pid, z)),
            hover: link.callback(|(x, y)| Msg::Hover(x, y)),
            unhover: link.callback(|_| Msg::Unhover),
            unzoom: link.callback(|_| Msg::Zoom(None)),
            page_click: link.callback(|(x, y)| Msg::PageClick(x, y)),
            page_key: link.callback(Msg::PageKey),
            tab: link.callback(Msg::Tab),
            compare: link.callback(Msg::Compare),
            open_own: link.callback(Msg::OpenOwn),
            ask_delete: link.callback(Msg::AskDelete),
            delete: link.callback(Msg::Delete),
        }
    }
}

/// Where the text in the editor came from, which decides what an edit does to storage.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// An own scenario (by name): edits are saved to it.
    Own(String),
    /// A library entry (its title): the first edit makes a new own scenario.
    Library(String),
    /// A random workload from this seed: likewise.
    Random(u64),
}

pub struct App {
    cb: Callbacks,
    lab: Lab,
    store: Store,
    /// The stored document as this tab last read or wrote it: what another tab changed since is
    /// the difference between it and the document stored now (`Store::merge`).
    synced: Store,
    source: Source,
    /// The own scenario whose delete awaits a yes.
    confirm_delete: Option<String>,
    /// The name of the scenario just deleted, while its undo is offered.
    deleted: Option<String>,
    entries: Vec<Entry>,
    snap: Option<SnapshotView>,
    playing: Option<Interval>,
    speed_ms: u32,
    tab: Tab,
    page_canvas: NodeRef,
    frame_canvas: NodeRef,
    /// The editor's textarea, scrolled to keep the current step's line in view.
    editor_text: NodeRef,
    /// The step the editor was last scrolled for (scroll again only when the step changes).
    scrolled_for: Option<(u32, u64)>,
    chart_canvas: NodeRef,
    chart_overlay: NodeRef,
    /// The memory.current chart of the cgroup panel, drawn like the counters chart.
    cg_chart_canvas: NodeRef,
    cg_chart_overlay: NodeRef,
    cg_chart_drawn: Option<(
        (u64, web_sys::HtmlCanvasElement),
        crate::render::charts::PlotArea,
    )>,
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
    /// The window of the zoomed VMA the page view shows (used only while it lies inside that VMA).
    page_range: Option<(u64, u64)>,
    /// The page cell the arrow keys are on.
    focus_cell: Option<usize>,
    /// The page canvas's width in CSS pixels, read once and again after a resize.
    canvas_width: Option<u32>,
    /// When the current step message arrived, to time step + redraw (read by the web benchmark).
    step_started_ms: Option<f64>,
    /// Text typed since the last run, and the timer that runs it when typing pauses: a key press
    /// only stores the text (the textarea already shows it), so parse and rerun stay off its
    /// critical path. Any other message runs a pending edit first.
    typed: Option<String>,
    edit_timer: Option<Timeout>,
    /// (text, its compressed form for the URL).
    shared_text: (String, String),
    _keys: Option<Closure<dyn FnMut(web_sys::KeyboardEvent)>>,
    _resize: Option<Closure<dyn FnMut()>>,
    _hash: Option<Closure<dyn FnMut()>>,
    _pagehide: Option<Closure<dyn FnMut()>>,
    _storage: Option<Closure<dyn FnMut(web_sys::StorageEvent)>>,
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

/// How long typing must pause before the text is parsed and run (Msg::Edit).
const EDIT_PAUSE_MS: u32 = 50;

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
    /// A typed text becomes the scenario: saved to its own scenario (the first edit of a library
    /// or random one makes a new own scenario), then parsed and run.
    fn apply_edit(&mut self, text: String) {
        let saved = match &self.source {
            Source::Own(name) => self.store.set_text(name, &text),
            _ => false,
        };
        if !saved {
            // The first edit of a library or random scenario (or of an own scenario
            // deleted meanwhile) is a new own scenario; the original is untouched.
            let base = match &self.source {
                Source::Own(n) => n.clone(),
                Source::Library(title) => format!("{title} (edited)"),
                Source::Random(seed) => format!("Random seed {seed} (edited)"),
            };
            let name = self.store.add(&base, &text);
            self.source = Source::Own(name.clone());
            self.store.current = Some(name);
            self.lab.seed = None;
        }
        self.save();
        self.lab.edit(text);
        // A new run (after_change cannot tell: the key press already put this text in the URL).
        self.run_generation += 1;
    }

    /// The scenario to show when the URL carries none: the own scenario open last, else the
    /// fork-after-merge scenario, else the library's first, else a random workload.
    fn default_open(entries: &[Entry], store: &Store) -> (String, Source) {
        if let Some(o) = store.current.as_deref().and_then(|n| store.get(n)) {
            return (o.text.clone(), Source::Own(o.name.clone()));
        }
        entries
            .iter()
            .find(|e| e.file.contains("fork") && e.file.contains("merge"))
            .or_else(|| entries.first())
            .map(|e| (e.text.to_string(), Source::Library(e.title.clone())))
            .unwrap_or_else(|| (random::workload(1, RANDOM_OPS), Source::Random(1)))
    }

    /// The stored document, if there is one.
    fn stored_doc() -> Option<String> {
        storage().and_then(|s| s.get_item(store::KEY).ok().flatten())
    }

    /// Reads the own scenarios, migrating the single slot of earlier builds (never losing it);
    /// and the stored document as read (the base of later merges).
    fn load_store(entries: &[Entry]) -> (Store, Store) {
        let doc = App::stored_doc();
        let legacy = storage().and_then(|s| s.get_item(store::LEGACY_KEY).ok().flatten());
        let store = Store::load(doc.as_deref(), legacy.as_deref(), |t| {
            entries.iter().any(|e| e.text == t)
        });
        let synced = doc
            .map(|d| Store::load(Some(&d), None, |_| false))
            .unwrap_or_default();
        (store, synced)
    }

    /// Takes in what another tab stored since this one last read or wrote: merged into this tab's
    /// scenarios, nothing of either side dropped (`Store::merge`). Returns the stored document
    /// as read, or None if it is the one this tab knows.
    fn merge_stored(&mut self) -> Option<Store> {
        let doc = App::stored_doc()?;
        if doc == self.synced.to_text() {
            return None;
        }
        let theirs = Store::load(Some(&doc), None, |_| false);
        let (merged, renames) = self.store.merge(&self.synced, &theirs);
        self.store = merged;
        for (old, new) in renames {
            if self.source == Source::Own(old.clone()) {
                self.source = Source::Own(new.clone());
            }
            if self.confirm_delete.as_deref() == Some(old.as_str()) {
                self.confirm_delete = Some(new);
            }
        }
        self.synced = theirs.clone();
        Some(theirs)
    }

    /// Writes the own scenarios, after merging what another tab stored meanwhile (two open tabs
    /// never lose each other's work); a failure (storage full or blocked) is said, not swallowed.
    fn save(&mut self) {
        self.merge_stored();
        let r = storage()
            .ok_or_else(|| "this browser gives the page no storage".to_string())
            .and_then(|s| {
                s.set_item(store::KEY, &self.store.to_text())
                    .map_err(|e| format!("{e:?}"))
            });
        match r {
            Ok(()) => self.synced = self.store.clone(),
            Err(e) => {
                self.lab.notice = Some(format!(
                    "Your scenarios could not be saved ({e}): export them with Export .vmlab."
                ))
            }
        }
    }

    /// A text from a link: the own scenario that holds it, the library entry or random workload it
    /// is, or a new own scenario (never over an existing one).
    fn source_of_shared(&mut self, text: &str, seed: Option<u64>) -> Source {
        if let Some(o) = self.store.find_text(text) {
            return Source::Own(o.name.clone());
        }
        if let Some(e) = self.entries.iter().find(|e| e.text == text) {
            return Source::Library(e.title.clone());
        }
        if let Some(seed) = seed.filter(|s| random::workload(*s, RANDOM_OPS) == text) {
            return Source::Random(seed);
        }
        let name = self.store.adopt(&store::name_of_text(text), text);
        self.store.current = Some(name.clone());
        self.save();
        Source::Own(name)
    }

    fn open_own(&mut self, name: &str) {
        let Some(text) = self.store.get(name).map(|o| o.text.clone()) else {
            return;
        };
        self.store.current = Some(name.to_string());
        self.save();
        self.source = Source::Own(name.to_string());
        self.lab.open(text, None);
    }

    /// The processes the current step acted on, in the order their events name them.
    fn touched(&self) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        if let Ok(sim) = &self.lab.sim {
            if let Some(step) = sim.run.steps.get(self.lab.cursor.wrapping_sub(1) as usize) {
                for pid in step.events.iter().filter_map(|e| e.pid) {
                    if !out.contains(&pid) {
                        out.push(pid);
                    }
                }
            }
        }
        out
    }

    fn after_change(&mut self) {
        let touched = self.touched();
        let (pinned, previous) = (self.lab.pinned, self.lab.selected_pid);
        self.snap = self.lab.sim.as_ref().ok().and_then(|s| {
            s.snapshot(self.lab.cursor, |running| {
                crate::views::focus(pinned, &touched, previous, running)
            })
        });
        let owner = self.snap.as_ref().and_then(|s| s.page_owner);
        if owner != self.lab.selected_pid {
            self.lab.selected_pid = owner;
            self.lab.zoom_vma = None;
        }
        if self.shared_text.0 != self.lab.text {
            self.run_generation += 1;
        }
        let text = self.lab.text.clone();
        self.write_url(&text);
    }

    /// Puts `text` (with the step, seed and compare setting) in the URL's fragment. A key press
    /// does it too, before its text runs: a reload reads the URL as it was when it started, so
    /// the fragment must already hold what was typed.
    fn write_url(&mut self, text: &str) {
        // Compressing the text is the expensive part of the link: redo it only when the text changes.
        if self.shared_text.0 != text {
            self.shared_text = (text.to_string(), crate::share::encode_text(text));
        }
        let fragment = format!(
            "#{}",
            crate::share::with_compare(
                &crate::share::with_position(&self.shared_text.1, self.lab.cursor, self.lab.seed),
                self.lab.comparison.as_ref().map(|c| c.with.key()),
            )
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
            let (s, e) = self
                .page_range
                .filter(|(s, e)| *s >= v.start && *e <= v.end && s < e)
                .unwrap_or((v.start, v.end));
            let window = if (s, e) == (v.start, v.end) {
                String::new()
            } else {
                format!(", showing {s:x}-{e:x} ({})", size(e - s))
            };
            return (
                vec![(s, e)],
                format!(
                    "{} of {}: {:x}-{:x} ({}){window}",
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

    /// The zoomed VMA's bounds, if the page view is zoomed into one.
    fn zoomed_vma(&self) -> Option<(u64, u64)> {
        let z = self.lab.zoom_vma?;
        let p = self.selected()?;
        let i = p.vmas.binary_search_by_key(&z, |v| v.start).ok()?;
        Some((p.vmas[i].start, p.vmas[i].end))
    }

    /// Zooms into a drawn cell: first into the VMA it lies in, then ever closer, to single pages.
    fn zoom_cell(&mut self, i: usize) {
        let Some(cell) = self.cells.get(i).cloned() else {
            return;
        };
        let vma = match self.zoomed_vma() {
            Some(v) => v,
            None => {
                let Some(v) = self.selected().and_then(|p| {
                    p.vmas
                        .iter()
                        .find(|v| v.start <= cell.first_addr && cell.first_addr < v.end)
                        .map(|v| (v.start, v.end))
                }) else {
                    return;
                };
                self.lab.zoom_vma = Some(v.0);
                v
            }
        };
        if cell.pages > 1 {
            self.page_range = Some(pages::zoom_into(vma, &cell, self.grid.cells()));
        }
        self.refresh_focus();
    }

    /// The cells the page view shows on `grid`: O(log runs + runs in view + cells).
    fn cells_for(&self, grid: Grid) -> Vec<Cell> {
        let (spans, _) = self.page_spans();
        match &self.snap {
            Some(snap) if snap.page_owner == self.lab.selected_pid => {
                pages::aggregate(&spans, &snap.pages, grid.cells())
            }
            _ => Vec::new(),
        }
    }

    /// After a zoom or pan: the new cells, and the focused cell's hover text from them.
    fn refresh_focus(&mut self) {
        self.cells = self.cells_for(self.grid);
        if let Some(i) = self.focus_cell {
            self.focus_cell = Some(i.min(self.cells.len().saturating_sub(1)));
            self.hover = self.cells.get(i).map(Cell::describe);
        }
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
        let cells = self.cells_for(grid);
        // The keyboard's ring only while the grid has the focus.
        let focused = window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|e| e.id() == "page-canvas");
        pages::draw(&canvas, grid, &cells, self.focus_cell.filter(|_| focused));
        self.cells = cells;
        self.grid = grid;
        record("redraws", now_ms() - t0);
    }

    /// The physical strip of the processes shown side by side (the same columns, in order).
    fn draw_frames(&mut self) {
        let (Some(canvas), Some(snap)) = (
            self.frame_canvas.cast::<web_sys::HtmlCanvasElement>(),
            &self.snap,
        ) else {
            return;
        };
        let first: Vec<u32> = self
            .lab
            .pinned
            .iter()
            .chain(self.lab.selected_pid.iter())
            .chain(self.touched().iter())
            .copied()
            .collect();
        let (shown, _) = columns(&snap.processes, &first, MAX_COLUMNS);
        let refs: Vec<&crate::views::ProcView> = shown.iter().collect();
        let width = canvas
            .parent_element()
            .map(|p| p.client_width())
            .unwrap_or(600)
            .max(60) as u32;
        crate::render::frames::draw(&canvas, &refs, width, ROW_PX);
    }

    /// Scrolls the editor so that the current step's line is in view, once per step (the student
    /// may scroll elsewhere between steps).
    fn scroll_editor(&mut self) {
        let key = (self.lab.cursor, self.run_generation);
        if self.scrolled_for == Some(key) {
            return;
        }
        self.scrolled_for = Some(key);
        let Some(line) = self
            .lab
            .sim
            .as_ref()
            .ok()
            .and_then(|s| s.run.steps.get(self.lab.cursor.checked_sub(1)? as usize))
            .map(|s| s.line)
        else {
            return;
        };
        let Some(ta) = self.editor_text.cast::<web_sys::HtmlElement>() else {
            return;
        };
        use crate::components::editor::{LINE_PX, PAD_PX};
        let top = PAD_PX + f64::from(line - 1) * LINE_PX;
        let (scroll, height) = (f64::from(ta.scroll_top()), f64::from(ta.client_height()));
        if top < scroll || top + LINE_PX > scroll + height {
            ta.set_scroll_top((top - height / 3.0).max(0.0) as i32);
        }
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
            _ => match crate::render::charts::draw(
                canvas.clone(),
                &overlay,
                &sim.series,
                canvas
                    .parent_element()
                    .map(|p| p.client_width())
                    .unwrap_or(600)
                    .max(200) as u32,
                CHART_HEIGHT_PX,
            ) {
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

    /// The cgroup panel's memory.current chart: its lines once per run, the cursor every step.
    fn draw_cg_chart(&mut self) {
        let (Some(canvas), Some(overlay), Ok(sim)) = (
            self.cg_chart_canvas.cast::<web_sys::HtmlCanvasElement>(),
            self.cg_chart_overlay.cast::<web_sys::HtmlCanvasElement>(),
            &self.lab.sim,
        ) else {
            self.cg_chart_drawn = None;
            return;
        };
        let key = (self.run_generation, canvas.clone());
        let area = match &self.cg_chart_drawn {
            Some((k, area)) if *k == key => *area,
            _ => match crate::render::charts::draw_cgroups(
                canvas.clone(),
                &overlay,
                &sim.series,
                canvas
                    .parent_element()
                    .map(|p| p.client_width())
                    .unwrap_or(600)
                    .max(200) as u32,
                CG_CHART_HEIGHT_PX,
            ) {
                Ok(area) => {
                    self.cg_chart_drawn = Some((key, area));
                    area
                }
                Err(e) => {
                    web_sys::console::warn_1(&format!("vmlab: cgroup chart not drawn: {e}").into());
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
        let (store, synced) = App::load_store(&entries);
        let (fallback, fallback_source) = App::default_open(&entries, &store);
        let shared = crate::share::decode(&fragment).ok().flatten();
        let lab = Lab::from_fragment(&fragment, &fallback);
        let link = ctx.link().clone();
        // ← → step, space plays; not while focus is in a text field, the editor, a list, or on a
        // button or link (there space and the arrows keep their own meaning).
        let keys =
            Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |e: web_sys::KeyboardEvent| {
                let own_keys = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
                    .map(|el| {
                        el.is_content_editable()
                            || matches!(
                                el.tag_name().as_str(),
                                "TEXTAREA"
                                    | "CANVAS"
                                    | "INPUT"
                                    | "SELECT"
                                    | "BUTTON"
                                    | "A"
                                    | "SUMMARY"
                                    | "LABEL"
                            )
                    })
                    .unwrap_or(false);
                if own_keys || e.ctrl_key() || e.meta_key() || e.alt_key() {
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
        // replace_state (after every change) fires no hashchange: only a link typed or pasted does.
        let hash_link = ctx.link().clone();
        let hash = Closure::<dyn FnMut()>::new(move || hash_link.send_message(Msg::HashChanged));
        if let Some(w) = window() {
            let _ = w.add_event_listener_with_callback("hashchange", hash.as_ref().unchecked_ref());
        }
        // Another tab saved its scenarios: merge them in, so the library lists them too.
        let storage_link = ctx.link().clone();
        let storage_changed =
            Closure::<dyn FnMut(web_sys::StorageEvent)>::new(move |e: web_sys::StorageEvent| {
                if e.key().as_deref() == Some(store::KEY) {
                    storage_link.send_message(Msg::StorageChanged);
                }
            });
        if let Some(w) = window() {
            let _ = w.add_event_listener_with_callback(
                "storage",
                storage_changed.as_ref().unchecked_ref(),
            );
        }
        // Leaving the page stores what was typed in the last EDIT_PAUSE_MS (the message runs in
        // the microtask after this handler, before the page goes).
        let hide_link = ctx.link().clone();
        let pagehide = Closure::<dyn FnMut()>::new(move || hide_link.send_message(Msg::ApplyEdit));
        if let Some(w) = window() {
            let _ =
                w.add_event_listener_with_callback("pagehide", pagehide.as_ref().unchecked_ref());
        }
        let mut app = App {
            cb: Callbacks::new(ctx.link()),
            lab,
            store,
            synced,
            source: fallback_source,
            confirm_delete: None,
            deleted: None,
            entries,
            snap: None,
            playing: None,
            speed_ms: 400,
            tab: Tab::Meminfo,
            page_canvas: NodeRef::default(),
            frame_canvas: NodeRef::default(),
            editor_text: NodeRef::default(),
            scrolled_for: None,
            chart_canvas: NodeRef::default(),
            chart_overlay: NodeRef::default(),
            cg_chart_canvas: NodeRef::default(),
            cg_chart_overlay: NodeRef::default(),
            cg_chart_drawn: None,
            run_generation: 0,
            chart_drawn: None,
            cells: Vec::new(),
            grid: Grid::for_width(720, 16),
            hover: None,
            page_range: None,
            focus_cell: None,
            canvas_width: None,
            step_started_ms: None,
            typed: None,
            edit_timer: None,
            shared_text: (String::new(), String::new()),
            _keys: Some(keys),
            _resize: Some(resize),
            _hash: Some(hash),
            _pagehide: Some(pagehide),
            _storage: Some(storage_changed),
        };
        if let Some(sh) = shared {
            app.source = app.source_of_shared(&sh.text, sh.seed);
        }
        if let Source::Random(seed) = app.source {
            app.lab.seed = Some(seed);
        }
        app.after_change();
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        // Whatever comes next sees the typed text run (a step, an open, a share link, …).
        if !matches!(msg, Msg::Edit(_) | Msg::ApplyEdit) {
            if let Some(text) = self.typed.take() {
                self.edit_timer = None;
                self.apply_edit(text);
            }
        }
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
                self.write_url(&text);
                self.typed = Some(text);
                let link = ctx.link().clone();
                self.edit_timer = Some(Timeout::new(EDIT_PAUSE_MS, move || {
                    link.send_message(Msg::ApplyEdit)
                }));
                return false;
            }
            Msg::ApplyEdit => {
                let Some(text) = self.typed.take() else {
                    return false;
                };
                let t0 = now_ms();
                self.apply_edit(text);
                record("rerun", now_ms() - t0);
            }
            Msg::Open(text) => {
                self.stop();
                let title = self
                    .entries
                    .iter()
                    .find(|e| e.text == text)
                    .map(|e| e.title.clone())
                    .unwrap_or_default();
                self.source = Source::Library(title);
                self.lab.open(text, None);
            }
            Msg::OpenOwn(name) => {
                self.stop();
                self.open_own(&name);
            }
            Msg::AskDelete(name) => self.confirm_delete = name,
            Msg::Delete(name) => {
                self.confirm_delete = None;
                if self.store.delete(&name) {
                    self.deleted = Some(name);
                    self.save();
                }
            }
            Msg::UndoDelete => {
                if let Some(name) = self.store.undo_delete() {
                    self.save();
                    self.deleted = None;
                    if matches!(&self.source, Source::Own(n) if *n == name) {
                        self.store.current = Some(name);
                    }
                }
            }
            Msg::SkipToPicture => {
                if let Some(el) = window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("picture"))
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                    el.scroll_into_view();
                }
                return false;
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
                self.source = Source::Random(seed);
                self.lab
                    .open(random::workload(seed, RANDOM_OPS), Some(seed));
            }
            Msg::Pin(pid) => {
                self.lab.pinned = pid;
                if pid.is_some() && pid != self.lab.selected_pid {
                    self.lab.selected_pid = pid;
                    self.lab.zoom_vma = None;
                }
            }
            Msg::Zoom(z) => {
                self.lab.zoom_vma = z;
                self.page_range = None;
                self.focus_cell = None;
            }
            Msg::ZoomIn(pid, z) => {
                if Some(pid) != self.lab.selected_pid {
                    self.lab.pinned = Some(pid);
                    self.lab.selected_pid = Some(pid);
                }
                self.lab.zoom_vma = z;
                self.page_range = None;
                self.focus_cell = None;
            }
            Msg::Hover(x, y) => {
                self.hover = self
                    .grid
                    .hit(x, y)
                    .and_then(|i| self.cells.get(i))
                    .map(Cell::describe);
                return true;
            }
            Msg::Unhover => self.hover = None,
            Msg::PageClick(x, y) => {
                if let Some(i) = self.grid.hit(x, y) {
                    self.zoom_cell(i);
                }
            }
            Msg::PageKey(k) => match k {
                PageKey::Move(dx, dy) => {
                    self.focus_cell = pages::move_focus(
                        self.focus_cell,
                        dx,
                        dy,
                        self.grid.cols,
                        self.cells.len(),
                    );
                    self.hover = self
                        .focus_cell
                        .and_then(|i| self.cells.get(i))
                        .map(Cell::describe);
                }
                PageKey::In => {
                    if let Some(i) = self.focus_cell {
                        self.zoom_cell(i);
                    }
                }
                PageKey::Out => {
                    if self.page_range.is_some() {
                        self.page_range = None;
                    } else {
                        self.lab.zoom_vma = None;
                    }
                    self.refresh_focus();
                }
                PageKey::Pan(dir) => {
                    if let Some(vma) = self.zoomed_vma() {
                        let range = self
                            .page_range
                            .filter(|(s, e)| *s >= vma.0 && *e <= vma.1)
                            .unwrap_or(vma);
                        self.page_range = Some(pages::pan(vma, range, dir));
                        self.refresh_focus();
                    }
                }
            },
            Msg::Tab(t) => self.tab = t,
            Msg::Compare(w) => self.lab.compare(w),
            Msg::Import(file) => {
                let link = ctx.link().clone();
                let name = file.name();
                wasm_bindgen_futures::spawn_local(async move {
                    // The bytes, not `text()`: that would turn a binary file into U+FFFD soup.
                    let r = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
                    let r = match r {
                        Ok(buf) => store::file_text(&name, &js_sys::Uint8Array::new(&buf).to_vec())
                            .map(|t| (name, t)),
                        Err(_) => Err(format!("“{name}” could not be read")),
                    };
                    link.send_message(Msg::Imported(r));
                });
                return false;
            }
            Msg::Imported(Ok((file, text))) => {
                self.stop();
                let name = self.store.adopt(&store::name_of_file(&file), &text);
                self.open_own(&name);
            }
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
                self.cg_chart_drawn = None;
            }
            Msg::StorageChanged => {
                match self.merge_stored() {
                    // This tab holds changes the stored document lacks: write them back.
                    Some(theirs) if theirs.own != self.store.own => self.save(),
                    Some(_) => {}
                    None => return false,
                }
            }
            Msg::HashChanged => {
                let fragment = window()
                    .and_then(|w| w.location().hash().ok())
                    .unwrap_or_default();
                match crate::share::decode(&fragment) {
                    Ok(Some(sh)) if sh.text != self.lab.text => {
                        self.stop();
                        self.source = self.source_of_shared(&sh.text, sh.seed);
                        let seed = match self.source {
                            Source::Random(seed) => Some(seed),
                            _ => None,
                        };
                        self.lab.open(sh.text, seed);
                        self.lab.jump(sh.step);
                        self.lab.compare(
                            crate::share::compare_key(&fragment).and_then(CompareWith::from_key),
                        );
                    }
                    Ok(Some(sh)) => self.lab.jump(sh.step),
                    Ok(None) => return false,
                    Err(why) => {
                        self.lab.notice = Some(format!("This link could not be opened: {why}."))
                    }
                }
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
        // Each process's own VMA changes and COW breaks: a child's munmap must not light up its
        // parent, even where their addresses are the same.
        let spans_of = |pick: fn(&crate::views::EventView) -> bool| -> Vec<(u32, u64, u64)> {
            current
                .map(|s| {
                    s.events
                        .iter()
                        .filter(|e| pick(e))
                        .filter_map(|e| Some((e.pid?, e.span?.0, e.span?.1)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let changed = spans_of(|e| e.is_vma_change());
        let cow = spans_of(|e| e.cow_break);
        let acting = self.touched();
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
        // The other machine at the step (a replay from its cache: one operation per step).
        let cmp_snap = lab.comparison.as_ref().and_then(|c| {
            c.sim
                .as_ref()
                .ok()?
                .snapshot(lab.cursor, |_| lab.selected_pid)
        });
        let (cmp_right, cmp_err, cmp_div) = match &lab.comparison {
            Some(c) => match &c.sim {
                Ok(s) => (Some(s.run.clone()), s.run.stopped(), c.first_divergence),
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
        let (shown, hidden) = match &self.snap {
            Some(snap) => {
                let first: Vec<u32> = lab
                    .pinned
                    .iter()
                    .chain(lab.selected_pid.iter())
                    .chain(acting.iter())
                    .copied()
                    .collect();
                columns(&snap.processes, &first, MAX_COLUMNS)
            }
            None => (Vec::new(), 0),
        };
        let strip_rows: Vec<(u32, String, bool)> = shown
            .iter()
            .map(|p| (p.pid, p.name.clone(), acting.contains(&p.pid)))
            .collect();
        let frames_shown: u64 = {
            let refs: Vec<&crate::views::ProcView> = shown.iter().collect();
            crate::render::frames::FrameAxis::of(&refs)
                .ranges
                .iter()
                .map(|(s, e, _)| e - s)
                .sum()
        };
        let current_line = current.map(|s| s.line);
        let out = html! {
            <div class="app" data-ready="1">
                <a class="skip-link" href="#picture" id="skip-picture" onclick={link.callback(|e: MouseEvent| { e.prevent_default(); Msg::SkipToPicture })}>{"Skip to the picture"}</a>
                <header class="top">
                    <h1 title="vmlab: step through Linux memory accounting">{"vmlab"}</h1>
                    <Timeline cursor={lab.cursor} steps={lab.steps()} playing={self.playing.is_some()} speed_ms={self.speed_ms}
                        on_step={cb.step.clone()} on_back={cb.back.clone()} on_reset={cb.reset.clone()}
                        on_play={cb.play.clone()} on_jump={cb.jump.clone()} on_speed={cb.speed.clone()}
                        stopped={run.stopped()} />
                    if let Some(seed) = lab.seed { <span class="seed-badge" id="seed-badge">{format!("seed {seed}")}</span> }
                    <a class="to-more" href="#more" title="The library, the event log, /proc, the chart and compare">{"Library & more ↓"}</a>
                </header>
                <div class="toasts">
                    if let Some(n) = &lab.notice {
                        <div class="notice" role="alert" id="notice">{n.clone()}<button onclick={link.callback(|_| Msg::DismissNotice)} aria-label="dismiss">{"✕"}</button></div>
                    }
                    if let Some(name) = &self.deleted {
                        <div class="notice" role="status" id="undo-notice">{format!("Deleted “{name}”.")}
                            <button id="undo-delete" onclick={link.callback(|_| Msg::UndoDelete)}>{"Undo"}</button></div>
                    }
                </div>
                <main class="screen" id="screen">
                    <div class="screen-left">
                        <Editor text={lab.text.clone()} diagnostics={lab.diagnostics().to_vec()} run_error={run.error.clone()}
                            on_edit={cb.edit.clone()} on_import={cb.import.clone()} on_export={cb.export.clone()}
                            current_line={current_line} textarea={self.editor_text.clone()} />
                        <Now step={current.cloned()} stopped={lab.at_end().then(|| run.stopped()).flatten()}
                            never_ran={(run.ops_total - run.steps.len() as u32, run.never_ran())} />
                    </div>
                    <div class="screen-right">
                        if let Some(snap) = &self.snap {
                            if let Some(win) = &snap.windows {
                                <CommitMeter win={win.clone()} cursor={lab.cursor}
                                    totals={Rc::new(lab.sim.as_ref().map(|s| s.series.committed_as.clone()).unwrap_or_default())}
                                    limits={Rc::new(lab.sim.as_ref().map(|s| s.series.commit_limit.clone()).unwrap_or_default())} />
                            } else {
                                <Counters snap={snap.clone()} />
                            }
                            <Processes procs={shown.clone()} hidden={hidden} acting={acting.clone()} focus={lab.selected_pid} pinned={lab.pinned}
                                changed={changed} cow={cow} zoom={lab.zoom_vma} on_pin={cb.pin.clone()} on_zoom={cb.zoom_in.clone()} />
                            <Physical canvas={self.frame_canvas.clone()} rows={strip_rows} frames_shown={frames_shown} windows={snap.windows.is_some()} />
                        } else {
                            <section class="panel empty" id="picture" tabindex="-1">
                                <h2>{"Machine"}</h2>
                                <p>{ if lab.diagnostics().is_empty() { "The machine cannot be shown: see the message under the scenario." } else { "Fix the errors in the scenario to run it." } }</p>
                            </section>
                        }
                    </div>
                </main>
                <div class="more" id="more">
                    <Library entries={self.entries.clone()} current_text={lab.text.clone()} seed={lab.seed}
                        on_open={cb.open.clone()} on_random={cb.random.clone()}
                        own={Rc::new(self.store.own.clone())} current_own={match &self.source { Source::Own(n) => Some(n.clone()), _ => None }}
                        confirm_delete={self.confirm_delete.clone()} on_open_own={cb.open_own.clone()}
                        on_ask_delete={cb.ask_delete.clone()} on_delete={cb.delete.clone()} />
                    <div class="more-col">
                        <EventLog run={run.clone()} cursor={lab.cursor} on_jump={cb.jump.clone()} />
                        { { let (shown, at_cursor) = run.ooms_at(lab.cursor);
                            html! { <OomPanel shown={shown} at_cursor={at_cursor} oom_steps={run.oom_steps.clone()} on_jump={cb.jump.clone()} /> } } }
                        if let Some(win) = self.snap.as_ref().and_then(|s| s.windows.clone()) {
                            <JobPanel win={win} />
                        } else if let Some(snap) = &self.snap {
                            <Cgroups cgroups={snap.cgroups.clone()} version={snap.cgroup_version.clone()} mem_total={snap.mem.mem_total}
                                chart={self.cg_chart_canvas.clone()} chart_overlay={self.cg_chart_overlay.clone()}
                                legend={lab.sim.as_ref().map(|s| crate::render::charts::cgroup_legend(&s.series)).unwrap_or_default()} />
                        }
                    </div>
                    <div class="more-col">
                        if let Some(snap) = &self.snap {
                            <PageView canvas={self.page_canvas.clone()} caption={caption} pages_per_cell={pages_per_cell} hover={self.hover.clone()}
                                on_hover={cb.hover.clone()} on_leave={cb.unhover.clone()}
                                zoomed={lab.zoom_vma.is_some()} on_unzoom={cb.unzoom.clone()}
                                on_click={cb.page_click.clone()} on_key={cb.page_key.clone()} windows={snap.windows.is_some()} />
                            <ProcFiles tab={self.tab} pid={lab.selected_pid} text={proc_text} on_tab={cb.tab.clone()} />
                            <ProcTable snap={snap.clone()} pinned={lab.pinned} on_pin={cb.pin.clone()} />
                            <Chart chart={self.chart_canvas.clone()} chart_overlay={self.chart_overlay.clone()}
                                legend={lab.sim.as_ref().map(|s| crate::render::charts::legend(&s.series)).unwrap_or_default()} />
                        }
                        <Compare with={lab.comparison.as_ref().map(|c| c.with)} left={run.clone()} right={cmp_right} right_error={cmp_err}
                            first_divergence={cmp_div} cursor={lab.cursor} on_compare={cb.compare.clone()}
                            left_snap={lab.comparison.is_some().then(|| self.snap.clone()).flatten()} right_snap={cmp_snap} />
                    </div>
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
        let ta = now_ms();
        record("pages", ta - t);
        self.draw_frames();
        let tb = now_ms();
        record("frames", tb - ta);
        self.scroll_editor();
        let t1 = now_ms();
        record("editor", t1 - tb);
        self.draw_chart();
        self.draw_cg_chart();
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
