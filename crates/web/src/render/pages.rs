//! The page grid: the pages of a set of VMAs laid end to end (gaps between VMAs elided), one cell
//! per page or, when there are more pages than cells, one cell per group of pages drawn as
//! stacked bars in proportion to the states inside it. Cost: O(runs + cells), whatever the size.

use crate::render::palette::{self, PAGE_STATES};
use crate::views::PageRun;

/// One cell: the pages it covers (as an address range, which may span an elided gap) and how many
/// of them are in each state (indexed as `palette::PAGE_STATES`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub first_addr: u64,
    pub last_addr_end: u64,
    pub pages: u64,
    pub counts: [u64; PAGE_STATES.len()],
}

impl Cell {
    /// "3 pages: 2 resident private, 1 untouched" for the hover line.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{n} {}", PAGE_STATES[i].0))
            .collect();
        let noun = if self.pages == 1 { "page" } else { "pages" };
        format!(
            "{:x}-{:x}: {} {noun}: {}",
            self.first_addr,
            self.last_addr_end,
            self.pages,
            parts.join(", ")
        )
    }
}

/// Groups the pages of `spans` (sorted, non-overlapping `[start, end)` byte ranges) into at most
/// `max_cells` cells. `runs` must be sorted by address; pages no run covers are untouched.
pub fn aggregate(spans: &[(u64, u64)], runs: &[PageRun], max_cells: u64) -> Vec<Cell> {
    const PAGE: u64 = 4096;
    let total: u64 = spans.iter().map(|(s, e)| (e - s) / PAGE).sum();
    if total == 0 || max_cells == 0 {
        return Vec::new();
    }
    let per_cell = total.div_ceil(max_cells);
    let mut cells = Vec::with_capacity(total.div_ceil(per_cell).min(max_cells) as usize);
    let mut cur: Option<Cell> = None;
    // Virtualized: start at the first run that can overlap the first span (a bisection), so a
    // window into a huge VMA costs O(log runs + runs inside it + cells).
    let first = spans.first().map_or(0, |s| s.0);
    let mut ri = runs.partition_point(|r| r.start + r.pages * PAGE <= first);
    // Walk the spans as pieces of uniform state: a run's overlap, or the untouched gap before it.
    for &(s, e) in spans {
        let mut addr = s;
        while addr < e {
            while ri < runs.len() && runs[ri].start + runs[ri].pages * PAGE <= addr {
                ri += 1;
            }
            let (state, piece_end) = match runs.get(ri) {
                Some(r) if r.start <= addr => {
                    (palette::index(r.state), (r.start + r.pages * PAGE).min(e))
                }
                Some(r) => (0, r.start.min(e)),
                None => (0, e),
            };
            let mut left = (piece_end - addr) / PAGE;
            while left > 0 {
                let c = cur.get_or_insert(Cell {
                    first_addr: addr,
                    last_addr_end: addr,
                    pages: 0,
                    counts: [0; PAGE_STATES.len()],
                });
                let take = left.min(per_cell - c.pages);
                c.pages += take;
                c.counts[state] += take;
                addr += take * PAGE;
                c.last_addr_end = addr;
                left -= take;
                if c.pages == per_cell {
                    cells.extend(cur.take());
                }
            }
            addr = piece_end.max(addr);
        }
    }
    cells.extend(cur);
    cells
}

/// What a key does in the page view (its canvas has the focus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKey {
    /// Move the focused cell by (columns, rows).
    Move(i32, i32),
    /// Zoom into the focused cell (Enter).
    In,
    /// Back to the whole VMA (Escape).
    Out,
    /// The previous or next window of the same size (Page Up, Page Down).
    Pan(i32),
}

impl PageKey {
    /// The keys the page view takes; any other key is left to the page.
    pub fn from_key(key: &str) -> Option<PageKey> {
        Some(match key {
            "ArrowLeft" => PageKey::Move(-1, 0),
            "ArrowRight" => PageKey::Move(1, 0),
            "ArrowUp" => PageKey::Move(0, -1),
            "ArrowDown" => PageKey::Move(0, 1),
            "Enter" | "+" => PageKey::In,
            "Escape" | "-" => PageKey::Out,
            "PageUp" => PageKey::Pan(-1),
            "PageDown" => PageKey::Pan(1),
            _ => return None,
        })
    }
}

/// The window to show after zooming into a cell of a view of `within`: the cell's pages, widened
/// to `capacity_pages` (one page per cell) around them when it holds fewer, never outside
/// `within`. Repeated, it reaches single pages in O(log(pages) / log(cells)) clicks, whatever the
/// VMA's size.
pub fn zoom_into(within: (u64, u64), cell: &Cell, capacity_pages: u64) -> (u64, u64) {
    const PAGE: u64 = 4096;
    let (lo, hi) = within;
    let (mut s, mut e) = (cell.first_addr.max(lo), cell.last_addr_end.min(hi));
    let want = capacity_pages.max(1) * PAGE;
    if e - s < want {
        let grow = want - (e - s);
        s = s.saturating_sub(grow / 2 / PAGE * PAGE).max(lo);
        e = (s + want).min(hi);
        s = e.saturating_sub(want).max(lo);
    }
    (s, e)
}

/// The window `dir` windows before (−1) or after (+1) `range`, of the same size, kept inside
/// `within`.
pub fn pan(within: (u64, u64), range: (u64, u64), dir: i32) -> (u64, u64) {
    let (lo, hi) = within;
    let len = range.1 - range.0;
    let s = if dir < 0 {
        range.0.saturating_sub(len).max(lo)
    } else {
        (range.0 + len).min(hi.saturating_sub(len)).max(lo)
    };
    (s, (s + len).min(hi))
}

/// The focused cell after a move, clamped to the cells drawn.
pub fn move_focus(
    focus: Option<usize>,
    dx: i32,
    dy: i32,
    cols: u32,
    cells: usize,
) -> Option<usize> {
    if cells == 0 {
        return None;
    }
    let cur = focus.unwrap_or(0).min(cells - 1) as i64;
    let next = cur + i64::from(dx) + i64::from(dy) * i64::from(cols);
    Some(next.clamp(0, cells as i64 - 1) as usize)
}

/// Grid geometry for a canvas of `width` CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub cols: u32,
    pub rows: u32,
    pub cell_px: u32,
}

impl Grid {
    pub fn for_width(width: u32, rows: u32) -> Grid {
        let cell_px = 12;
        Grid {
            cols: (width / cell_px).max(1),
            rows,
            cell_px,
        }
    }
    pub fn cells(&self) -> u64 {
        u64::from(self.cols) * u64::from(self.rows)
    }
    /// The cell under a point, if any.
    pub fn hit(&self, x: f64, y: f64) -> Option<usize> {
        if x < 0.0 || y < 0.0 {
            return None;
        }
        let (c, r) = ((x as u32) / self.cell_px, (y as u32) / self.cell_px);
        (c < self.cols && r < self.rows).then_some((r * self.cols + c) as usize)
    }
}

#[cfg(target_arch = "wasm32")]
pub fn draw(canvas: &web_sys::HtmlCanvasElement, grid: Grid, cells: &[Cell], focus: Option<usize>) {
    use wasm_bindgen::JsCast;
    let ratio = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .max(1.0);
    let (w, h) = (grid.cols * grid.cell_px, grid.rows * grid.cell_px);
    let (pw, ph) = ((f64::from(w) * ratio) as u32, (f64::from(h) * ratio) as u32);
    // Resizing a canvas reallocates and clears it: only when the size really changes.
    if canvas.width() != pw || canvas.height() != ph {
        canvas.set_width(pw);
        canvas.set_height(ph);
        let _ = canvas.style().set_property("width", &format!("{w}px"));
        let _ = canvas.style().set_property("height", &format!("{h}px"));
    }
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let _ = ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
    let size = f64::from(grid.cell_px) - 2.0;
    for (i, cell) in cells.iter().enumerate() {
        let (c, r) = (i as u32 % grid.cols, i as u32 / grid.cols);
        let (x, y) = (
            f64::from(c * grid.cell_px) + 1.0,
            f64::from(r * grid.cell_px) + 1.0,
        );
        // Stacked proportions, bottom up in legend order; a single-state cell is one block.
        let mut top = y + size;
        for (si, n) in cell.counts.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let hgt = size * (*n as f64) / (cell.pages as f64);
            ctx.set_fill_style_str(PAGE_STATES[si].1);
            ctx.fill_rect(x, top - hgt, size, hgt);
            top -= hgt;
        }
    }
    // The keyboard's cell: a dark ring with a light one inside, visible on every state's colour.
    if let Some(i) = focus.filter(|i| *i < cells.len()) {
        let (c, r) = (i as u32 % grid.cols, i as u32 / grid.cols);
        let (x, y) = (f64::from(c * grid.cell_px), f64::from(r * grid.cell_px));
        let px = f64::from(grid.cell_px);
        ctx.set_line_width(2.0);
        ctx.set_stroke_style_str("#000");
        ctx.stroke_rect(x + 1.0, y + 1.0, px - 2.0, px - 2.0);
        ctx.set_line_width(1.0);
        ctx.set_stroke_style_str("#fff");
        ctx.stroke_rect(x + 2.5, y + 2.5, px - 5.0, px - 5.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::PageState;

    const P: u64 = 4096;

    #[test]
    fn one_page_per_cell_when_it_fits() {
        let runs = [PageRun {
            start: 0x1000 + P,
            pages: 2,
            state: PageState::Private,
        }];
        let cells = aggregate(&[(0x1000, 0x1000 + 4 * P)], &runs, 100);
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].counts[0], 1);
        assert_eq!(cells[1].counts[2], 1);
        assert_eq!(cells[2].counts[2], 1);
        assert_eq!(cells[3].counts[0], 1);
    }

    #[test]
    fn aggregates_with_proportions_across_elided_gaps() {
        // Two VMAs of 1M pages each, far apart; half of the first is resident.
        let a = (0x10_0000_0000u64, 0x10_0000_0000 + (1 << 20) * P);
        let b = (0x7f00_0000_0000u64, 0x7f00_0000_0000 + (1 << 20) * P);
        let runs = [PageRun {
            start: a.0,
            pages: 1 << 19,
            state: PageState::Shared(3),
        }];
        let cells = aggregate(&[a, b], &runs, 1000);
        assert!(cells.len() <= 1000);
        let total: u64 = cells.iter().map(|c| c.pages).sum();
        assert_eq!(total, 2 << 20);
        let shared: u64 = cells.iter().map(|c| c.counts[4]).sum();
        assert_eq!(shared, 1 << 19);
        assert!(cells[0].describe().contains("shared COW, mapcount ≥ 3"));
    }

    #[test]
    fn a_window_far_into_the_runs_is_aggregated_from_its_own_runs() {
        // 100,000 runs; a window over the last four pages sees exactly their states.
        let runs: Vec<PageRun> = (0..100_000u64)
            .map(|i| PageRun {
                start: 0x1000_0000 + i * 2 * P,
                pages: 1,
                state: PageState::Private,
            })
            .collect();
        let end = 0x1000_0000 + 200_000 * P;
        let cells = aggregate(&[(end - 4 * P, end)], &runs, 100);
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].counts[2], 1, "{:?}", cells[0]);
        assert_eq!(cells[1].counts[0], 1);
        assert_eq!(cells[2].counts[2], 1);
        assert_eq!(cells[3].counts[0], 1);
    }

    #[test]
    fn zooming_reaches_single_pages_in_any_vma() {
        // A 64 TiB VMA (2^34 pages) on a grid of 960 cells: each zoom divides the window by about
        // 960 until one page per cell.
        let vma = (0x1000_0000u64, 0x1000_0000 + (1u64 << 46));
        let mut range = vma;
        let mut clicks = 0;
        loop {
            let cells = aggregate(&[range], &[], 960);
            let per_cell = cells[0].pages;
            if per_cell == 1 {
                break;
            }
            // Zoom into the middle cell.
            range = zoom_into(vma, &cells[cells.len() / 2], 960);
            assert!(range.0 >= vma.0 && range.1 <= vma.1 && range.0 < range.1);
            clicks += 1;
            assert!(clicks < 10, "still {per_cell} pages per cell");
        }
        assert_eq!((range.1 - range.0) / P, 960);
        assert!(clicks <= 4, "{clicks}");
        // Panning keeps the size and stays inside the VMA, at both ends.
        let next = pan(vma, range, 1);
        assert_eq!(next.0, range.1);
        assert_eq!(
            pan(vma, (vma.0, vma.0 + 960 * P), -1),
            (vma.0, vma.0 + 960 * P)
        );
        assert_eq!(
            pan(vma, (vma.1 - 960 * P, vma.1), 1),
            (vma.1 - 960 * P, vma.1)
        );
        // A cell at the VMA's edge is widened inwards.
        let small = (0x1000u64, 0x1000 + 100 * P);
        let edge = Cell {
            first_addr: small.0,
            last_addr_end: small.0 + P,
            pages: 1,
            counts: [0; PAGE_STATES.len()],
        };
        assert_eq!(zoom_into(small, &edge, 960), small);
    }

    #[test]
    fn focus_moves_and_stays_on_the_grid() {
        assert_eq!(move_focus(None, 1, 0, 10, 25), Some(1));
        assert_eq!(move_focus(Some(5), 0, 1, 10, 25), Some(15));
        assert_eq!(move_focus(Some(15), 0, 1, 10, 25), Some(24));
        assert_eq!(move_focus(Some(0), -1, 0, 10, 25), Some(0));
        assert_eq!(move_focus(Some(3), 0, 0, 10, 0), None);
        assert_eq!(PageKey::from_key("PageDown"), Some(PageKey::Pan(1)));
        assert_eq!(PageKey::from_key("a"), None);
    }

    #[test]
    fn hit_testing() {
        let g = Grid::for_width(120, 2);
        assert_eq!(g.cols, 10);
        assert_eq!(g.hit(13.0, 1.0), Some(1));
        assert_eq!(g.hit(1.0, 13.0), Some(10));
        assert_eq!(g.hit(1.0, 25.0), None);
    }
}
