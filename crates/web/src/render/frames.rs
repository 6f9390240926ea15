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

/// The shade of a frame mapped `mapcount` times: 0 private, 1 shared by 2, 2 shared by ≥ 3.
fn shade(mapcount: u32) -> usize {
    match mapcount {
        0 | 1 => 0,
        2 => 1,
        _ => 2,
    }
}

/// The colour of a frame mapped `mapcount` times: the page view's private / shared-2 / shared-≥3.
pub fn colour(mapcount: u32) -> &'static str {
    crate::render::palette::PAGE_STATES[2 + shade(mapcount)].1
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
        for (c, spans) in row_spans(&axis, &p.frames, width_css).iter().enumerate() {
            if spans.is_empty() {
                continue;
            }
            ctx.set_fill_style_str(crate::render::palette::PAGE_STATES[2 + c].1);
            for (x0, x1) in spans {
                ctx.fill_rect(f64::from(*x0), y + 3.0, f64::from(x1 - x0), row - 7.0);
            }
        }
    }
}

/// Which whole pixels of a row `width` pixels wide each shade (`shade`: private, shared by 2, by
/// ≥ 3) covers, as sorted disjoint `[x0, x1)` spans: a run covers every pixel it touches (at least
/// one), so a strip costs one rectangle per span, not one per frame run, and O(R + width).
pub fn row_spans(axis: &FrameAxis, frames: &[FrameRunView], width: u32) -> [Vec<(u32, u32)>; 3] {
    let w = width.max(1);
    let mut covered = vec![0u8; w as usize];
    for f in frames {
        let (x, wd) = axis.span(f, f64::from(w));
        let x0 = (x.floor().max(0.0) as u32).min(w - 1);
        let x1 = ((x + wd).ceil() as u32).clamp(x0 + 1, w);
        let bit = 1u8 << shade(f.mapcount);
        for px in &mut covered[x0 as usize..x1 as usize] {
            *px |= bit;
        }
    }
    let mut out: [Vec<(u32, u32)>; 3] = Default::default();
    for (c, spans) in out.iter_mut().enumerate() {
        let bit = 1u8 << c;
        let mut start = None;
        for (px, m) in covered.iter().enumerate() {
            match (m & bit != 0, start) {
                (true, None) => start = Some(px as u32),
                (false, Some(s)) => {
                    spans.push((s, px as u32));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            spans.push((s, w));
        }
    }
    out
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
    }

    #[test]
    fn a_row_is_drawn_as_pixel_spans_whatever_its_run_count() {
        // 10,000 one-frame runs, every other frame, private: one span across the axis's pixels.
        let frames: Vec<(u64, u64, u32)> = (0..10_000).map(|i| (i * 2, 1, 1)).collect();
        let p = proc_(1, frames);
        let axis = FrameAxis::of(&[&p]);
        let [private, two, three] = row_spans(&axis, &p.frames, 600);
        assert!(two.is_empty() && three.is_empty());
        // The runs are separate ranges with breaks between them, narrower than a pixel: the
        // whole row is covered, in one span.
        assert_eq!(private, vec![(0, 600)]);
        // One shared run in the middle shows as its own colour, over the private ones.
        let mut mixed: Vec<FrameRunView> = p.frames.to_vec();
        mixed[5_000].mapcount = 2;
        let [_, two, _] = row_spans(&axis, &mixed, 600);
        assert_eq!(two.len(), 1);
        assert!(two[0].0 >= 290 && two[0].1 <= 310, "{two:?}");
        // A run always covers at least one pixel, at the axis's end too.
        let last = proc_(2, vec![(0, 1_000_000, 1), (2_000_000, 1, 3)]);
        let axis = FrameAxis::of(&[&last]);
        let [_, _, three] = row_spans(&axis, &last.frames, 100);
        assert_eq!(three, vec![(99, 100)]);
        assert_ne!(colour(2), colour(3));
    }
}
