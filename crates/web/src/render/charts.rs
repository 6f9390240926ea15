//! The counters chart, drawn with plotters on a canvas: Committed_AS, CommitLimit, free RAM and
//! each process's RSS over the steps. The canvas is sized to its CSS width times the device pixel
//! ratio (crisp at 1× and 2×, text 13 CSS px and more), and the legend is HTML under the plot
//! (`legend`), so it never covers a line, a label or a tick. The series are drawn once per run; the current step is a
//! line on a transparent canvas laid over it, so stepping redraws one line, not the whole chart.

use crate::views::Series;

/// The largest value any series reaches, in GiB, for the y axis (at least a sliver, so an empty
/// run still draws axes).
pub fn y_max_gib(s: &Series) -> f64 {
    let all = s
        .committed_as
        .iter()
        .chain(&s.commit_limit)
        .chain(&s.mem_free)
        .chain(s.rss.iter().flat_map(|(_, v)| v));
    let max = all.copied().max().unwrap_or(0);
    (max as f64 / (1u64 << 30) as f64 * 1.1).max(0.1)
}

/// The chart's lines in drawing order: (label, colour as in `palette::SERIES`, width in CSS px).
pub fn legend(s: &Series) -> Vec<(String, (u8, u8, u8), u32)> {
    use crate::render::palette::SERIES;
    let mut out = vec![
        ("Committed_AS".to_string(), SERIES[0], 3),
        ("CommitLimit".to_string(), SERIES[1], 2),
        ("free RAM".to_string(), SERIES[2], 2),
    ];
    for (i, (name, _)) in s.rss.iter().enumerate() {
        out.push((format!("RSS {name}"), SERIES[3 + i % (SERIES.len() - 3)], 1));
    }
    out
}

/// Where the plot area is on the canvas, in canvas pixels: x of step 0 and of the last step, and
/// the top and bottom of the plot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotArea {
    pub x0: f64,
    pub x1: f64,
    pub top: f64,
    pub bottom: f64,
    pub steps: u32,
}

#[cfg(target_arch = "wasm32")]
pub fn draw_cursor(overlay: &web_sys::HtmlCanvasElement, area: PlotArea, cursor: u32) {
    let Some(ctx) = super::context_2d(overlay) else {
        return;
    };
    ctx.clear_rect(
        0.0,
        0.0,
        f64::from(overlay.width()),
        f64::from(overlay.height()),
    );
    let x = area.x0
        + (area.x1 - area.x0) * f64::from(cursor.min(area.steps)) / f64::from(area.steps.max(1));
    ctx.set_fill_style_str("rgba(0, 0, 0, 0.75)");
    ctx.fill_rect(x - 1.0, area.top, 2.0, area.bottom - area.top);
}

#[cfg(target_arch = "wasm32")]
pub fn draw(
    canvas: web_sys::HtmlCanvasElement,
    overlay: &web_sys::HtmlCanvasElement,
    s: &Series,
    width_css: u32,
    height_css: u32,
) -> Result<PlotArea, String> {
    use plotters::prelude::*;
    use plotters_canvas::CanvasBackend;

    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .max(1.0);
    let px = |css: f64| (css * dpr).round() as u32;
    for c in [&canvas, overlay] {
        c.set_width(px(f64::from(width_css)));
        c.set_height(px(f64::from(height_css)));
        let _ = c.style().set_property("width", &format!("{width_css}px"));
        let _ = c.style().set_property("height", &format!("{height_css}px"));
    }
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let backend =
        CanvasBackend::with_canvas_object(canvas).ok_or("no 2d context on the chart canvas")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let steps = s.committed_as.len().max(2) as u32 - 1;
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0))
        .x_label_area_size(px(40.0))
        .y_label_area_size(px(58.0))
        .build_cartesian_2d(0u32..steps, 0f64..y_max_gib(s))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("GiB")
        .label_style(("sans-serif", px(14.0)))
        .axis_desc_style(("sans-serif", px(14.0)))
        .x_labels(6)
        .y_labels(5)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())?;
    let values = [&s.committed_as, &s.commit_limit, &s.mem_free]
        .into_iter()
        .chain(s.rss.iter().map(|(_, v)| v));
    for ((_, (r, g, b), width), v) in legend(s).into_iter().zip(values) {
        chart
            .draw_series(LineSeries::new(
                v.iter().enumerate().map(|(x, y)| (x as u32, gib(*y))),
                RGBColor(r, g, b).stroke_width(px(f64::from(width))),
            ))
            .map_err(|e| e.to_string())?;
    }
    let ymax = y_max_gib(s);
    let (x0, bottom) = chart.backend_coord(&(0, 0.0));
    let (x1, top) = chart.backend_coord(&(steps, ymax));
    root.present().map_err(|e| e.to_string())?;
    Ok(PlotArea {
        x0: f64::from(x0),
        x1: f64::from(x1),
        top: f64::from(top),
        bottom: f64::from(bottom),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_axis_covers_every_series() {
        let s = Series {
            committed_as: vec![0, 2 << 30],
            commit_limit: vec![1 << 30; 2],
            mem_free: vec![0; 2],
            rss: vec![("a".into(), vec![0, 10 << 30])],
        };
        assert!(y_max_gib(&s) >= 10.0);
        assert!(y_max_gib(&Series::default()) > 0.0);
    }
}
