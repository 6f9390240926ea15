//! The physical memory strip: one row per process, the x axis the physical frames that any shown
//! process maps (unused frames between them squeezed to a thin break), a mark where a process
//! maps a frame, coloured by the frame's mapcount. A frame a parent shares with two children is
//! one column marked in three rows; when a child writes, its mark moves to frames of its own.
//! Cost: O(R log R) for R frame runs, whatever the memory size.

use crate::views::{FrameRunView, ProcView};

/// Frames used by the shown processes, as sorted disjoint `[start, end)` pfn ranges, each with
/// where it begins on the axis (in frame units, breaks included) and the axis length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameAxis {
    pub ranges: Vec<(u64, u64, f64)>,
    pub length: f64,
}

impl FrameAxis {
    /// The union of every shown process's frame runs; a break between two ranges is a fixed
    /// share of the used frames, so a 2 GiB hole costs as little width as a 4 KiB one.
    pub fn of(procs: &[&ProcView]) -> FrameAxis {
        // Each run's start and end as one sortable number (pfn × 2, +1 for an end; pfns are far
        // below 2^63), swept for the depth of overlap: a u64 sort is already in the binary.
        let mut edges: Vec<u64> = procs
            .iter()
            .flat_map(|p| {
                p.frames
                    .iter()
                    .flat_map(|f| [f.pfn * 2, (f.pfn + f.pages) * 2 + 1])
            })
            .collect();
        edges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        let mut depth = 0u32;
        for e in edges {
            let (pfn, end) = (e / 2, e % 2 == 1);
            if end {
                depth -= 1;
                if depth == 0 {
                    if let Some(last) = merged.last_mut() {
                        last.1 = pfn;
                    }
                }
            } else {
                if depth == 0 {
                    match merged.last_mut() {
                        // Touching the previous range: one range.
                        Some(last) if last.1 == pfn => {}
                        _ => merged.push((pfn, pfn)),
                    }
                }
                depth += 1;
            }
        }
        let used: u64 = merged.iter().map(|(s, e)| e - s).sum();
        let gap = (used as f64 / 40.0).max(1.0);
        let mut at = 0.0;
        let mut ranges = Vec::with_capacity(merged.len());
        for (i, (s, e)) in merged.into_iter().enumerate() {
            if i > 0 {
                at += gap;
            }
            ranges.push((s, e, at));
            at += (e - s) as f64;
        }
        FrameAxis { ranges, length: at }
    }

    /// Where frame `pfn` is on the axis (in frame units); frames outside every range map to 0.
    pub fn x(&self, pfn: u64) -> f64 {
        let i = self.ranges.partition_point(|(s, _, _)| *s <= pfn);
        match i.checked_sub(1).map(|i| self.ranges[i]) {
            Some((s, e, at)) if pfn <= e => at + (pfn - s) as f64,
            _ => 0.0,
        }
    }

    /// The span of a run on an axis `width` pixels wide: (left, width), at least one pixel.
    pub fn span(&self, f: &FrameRunView, width: f64) -> (f64, f64) {
        let scale = width / self.length.max(1.0);
        let left = self.x(f.pfn) * scale;
        let right = self.x(f.pfn + f.pages) * scale;
        (left, (right - left).max(1.0))
    }
}

/// The colour of a frame mapped `mapcount` times: the page view's private / shared-2 / shared-≥3.
pub fn colour(mapcount: u32) -> &'static str {
    use crate::render::palette::PAGE_STATES;
    match mapcount {
        0 | 1 => PAGE_STATES[2].1,
        2 => PAGE_STATES[3].1,
        _ => PAGE_STATES[4].1,
    }
}

/// Draws the strip: `rows` processes, each `row_css` CSS pixels tall, on a canvas `width_css`
/// wide, at the device pixel ratio so that it is crisp at 1× and 2×.
#[cfg(target_arch = "wasm32")]
pub fn draw(
    canvas: &web_sys::HtmlCanvasElement,
    procs: &[&ProcView],
    width_css: u32,
    row_css: u32,
) {
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .max(1.0);
    let height_css = row_css * procs.len().max(1) as u32;
    let (w, h) = (
        (f64::from(width_css) * dpr).round() as u32,
        (f64::from(height_css) * dpr).round() as u32,
    );
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    let style = canvas.style();
    let _ = style.set_property("width", &format!("{width_css}px"));
    let _ = style.set_property("height", &format!("{height_css}px"));
    let Some(ctx) = super::context_2d(canvas) else {
        return;
    };
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, f64::from(width_css), f64::from(height_css));
    let axis = FrameAxis::of(procs);
    let width = f64::from(width_css);
    let row = f64::from(row_css);
    // The breaks between used ranges, hatched faintly across every row.
    ctx.set_fill_style_str("#eceff2");
    ctx.fill_rect(0.0, 0.0, width, f64::from(height_css));
    let scale = width / axis.length.max(1.0);
    ctx.set_fill_style_str("#ffffff");
    for (s, e, at) in &axis.ranges {
        ctx.fill_rect(
            at * scale,
            0.0,
            ((e - s) as f64 * scale).max(1.0),
            f64::from(height_css),
        );
    }
    for (i, p) in procs.iter().enumerate() {
        let y = i as f64 * row;
        ctx.set_fill_style_str("#d5dae0");
        ctx.fill_rect(0.0, y + row - 1.0, width, 1.0);
        for f in p.frames.iter() {
            let (x, wd) = axis.span(f, width);
            ctx.set_fill_style_str(colour(f.mapcount));
            ctx.fill_rect(x.floor(), y + 3.0, wd.ceil(), row - 7.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_(pid: u32, frames: Vec<(u64, u64, u32)>) -> ProcView {
        let frames = frames
            .into_iter()
            .map(|(pfn, pages, mapcount)| FrameRunView {
                vpage: 0,
                pages,
                pfn,
                mapcount,
            })
            .collect();
        ProcView::for_test(pid, vec![], frames)
    }

    #[test]
    fn shared_frames_line_up_and_a_copy_moves_away() {
        // Parent and child share frames 100..356; the child copied its first 64 to 5000..5064.
        let parent = proc_(1, vec![(100, 256, 2)]);
        let child = proc_(2, vec![(5000, 64, 1), (164, 192, 2)]);
        let axis = FrameAxis::of(&[&parent, &child]);
        assert_eq!(axis.ranges.len(), 2);
        let (px, _) = axis.span(&parent.frames[0], 1000.0);
        let (cx, cw) = axis.span(&child.frames[1], 1000.0);
        let (copy_x, _) = axis.span(&child.frames[0], 1000.0);
        // The still-shared part is at the same place in both rows, the copy to the right of all.
        assert!((cx - (px + 64.0 * 1000.0 / axis.length)).abs() < 1e-6);
        assert!(copy_x >= cx + cw);
        // The hole between frame 356 and 5000 costs a fixed sliver, not 4644 frames.
        assert!(axis.length < 400.0);
        assert_eq!(colour(1), colour(0));
        assert_ne!(colour(2), colour(3));
    }
}
