//! The charts, drawn with plotters on a canvas: Committed_AS, CommitLimit, free RAM and each
//! process's RSS over the steps, and memory.current of each memory cgroup. The canvas is sized to its CSS width times the device pixel
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
    // A Windows machine's numbers under its own names (PERFORMANCE_INFORMATION; its working set).
    let (charge, rss) = if s.windows {
        ("CommitTotal", "working set")
    } else {
        ("Committed_AS", "RSS")
    };
    let mut out = vec![
        (charge.to_string(), SERIES[0], 3),
        ("CommitLimit".to_string(), SERIES[1], 2),
        ("free RAM".to_string(), SERIES[2], 2),
    ];
    for (i, (name, _)) in s.rss.iter().enumerate() {
        out.push((
            format!("{rss} {name}"),
            SERIES[3 + i % (SERIES.len() - 3)],
            1,
        ));
    }
    out
}

/// The memory.current lines, one per cgroup of `Series::cgroups` (those without a child), in
/// path order, each in its own colour (the palette's, after black, which is CommitLimit's).
pub fn cgroup_legend(s: &Series) -> Vec<(String, (u8, u8, u8), u32)> {
    use crate::render::palette::SERIES;
    let colours: Vec<(u8, u8, u8)> = SERIES.iter().copied().filter(|c| *c != (0, 0, 0)).collect();
    s.cgroups
        .iter()
        .enumerate()
        .map(|(i, (path, _))| (path.clone(), colours[i % colours.len()], 3))
        .collect()
}

/// The y axis's unit for values up to `max` bytes: GiB from 1 GiB up, else MiB.
pub fn unit_for(max: u64) -> (u64, &'static str) {
    if max >= 1 << 30 {
        (1 << 30, "GiB")
    } else {
        (1 << 20, "MiB")
    }
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
    let values = [&s.committed_as, &s.commit_limit, &s.mem_free]
        .into_iter()
        .chain(s.rss.iter().map(|(_, v)| v));
    let lines: Vec<_> = legend(s)
        .into_iter()
        .zip(values)
        .map(|((_, c, w), v)| (c, w, v.as_slice()))
        .collect();
    let steps = s.committed_as.len();
    draw_lines(
        canvas,
        overlay,
        &lines,
        steps,
        (1 << 30, "GiB", y_max_gib(s)),
        width_css,
        height_css,
    )
}

/// The memory.current chart of the cgroup tree (`cgroup_legend`'s lines), in MiB or GiB.
#[cfg(target_arch = "wasm32")]
pub fn draw_cgroups(
    canvas: web_sys::HtmlCanvasElement,
    overlay: &web_sys::HtmlCanvasElement,
    s: &Series,
    width_css: u32,
    height_css: u32,
) -> Result<PlotArea, String> {
    let max = s
        .cgroups
        .iter()
        .flat_map(|(_, v)| v)
        .copied()
        .max()
        .unwrap_or(0);
    let (unit, name) = unit_for(max);
    let lines: Vec<_> = cgroup_legend(s)
        .into_iter()
        .zip(&s.cgroups)
        .map(|((_, c, w), (_, v))| (c, w, v.as_slice()))
        .collect();
    let steps = s.committed_as.len();
    let ymax = (max as f64 / unit as f64 * 1.1).max(0.1);
    draw_lines(
        canvas,
        overlay,
        &lines,
        steps,
        (unit, name, ymax),
        width_css,
        height_css,
    )
}

/// The tick labels' and axis names' size in CSS px (≥ 12 at any pixel density).
pub const LABEL_FONT_CSS_PX: f64 = 14.0;

/// One line to draw: its colour, its width in CSS px, a value per step (bytes).
#[cfg(target_arch = "wasm32")]
type Line<'a> = ((u8, u8, u8), u32, &'a [u64]);

/// Lines of `points` values each (one per step, bytes) on a canvas sized to its CSS size times
/// the device pixel ratio; the y axis in `unit` (bytes per unit, its name, the axis's top).
#[cfg(target_arch = "wasm32")]
fn draw_lines(
    canvas: web_sys::HtmlCanvasElement,
    overlay: &web_sys::HtmlCanvasElement,
    lines: &[Line<'_>],
    points: usize,
    (unit, unit_name, ymax): (u64, &str, f64),
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
    let scaled = |b: u64| b as f64 / unit as f64;
    let font_css = LABEL_FONT_CSS_PX;
    let measure = super::context_2d(&canvas);
    let backend = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or("no 2d context on the chart canvas")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let steps = points.max(2) as u32 - 1;
    let (x_area_css, y_area_css) = (40.0, 58.0);
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0))
        .x_label_area_size(px(x_area_css))
        .y_label_area_size(px(y_area_css))
        .build_cartesian_2d(0u32..steps, 0f64..ymax)
        .map_err(|e| e.to_string())?;
    // The tick labels as drawn (the formatters see each one), to write down how wide they are.
    let x_labels = std::cell::RefCell::new(Vec::<String>::new());
    let y_labels = std::cell::RefCell::new(Vec::<String>::new());
    let y_digits = if ymax < 1.0 {
        2
    } else if ymax < 10.0 {
        1
    } else {
        0
    };
    let x_fmt = |x: &u32| {
        let t = x.to_string();
        x_labels.borrow_mut().push(t.clone());
        t
    };
    let y_fmt = |y: &f64| {
        let t = format!("{y:.y_digits$}");
        y_labels.borrow_mut().push(t.clone());
        t
    };
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(unit_name)
        .label_style(("sans-serif", px(font_css)))
        .axis_desc_style(("sans-serif", px(font_css)))
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| e.to_string())?;
    // What the drawing used, in CSS px from the canvas's top left, for the e2e test to check
    // (text size, the plot and its label bands never overlapping, the labels fitting them).
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let css = |v: i32| f64::from(v) / dpr;
    let plot = (css(xr.start), css(yr.start), css(xr.end), css(yr.end));
    let widest = |labels: &[String]| -> f64 {
        measure.as_ref().map_or(0.0, |ctx| {
            ctx.set_font(&format!("{}px sans-serif", px(font_css)));
            labels
                .iter()
                .filter_map(|t| ctx.measure_text(t).ok())
                .map(|m| m.width() / dpr)
                .fold(0.0, f64::max)
        })
    };
    let boxes = [
        ("data-font-px", format!("{font_css}")),
        ("data-dpr", format!("{dpr}")),
        (
            "data-plot",
            format!("{:.1},{:.1},{:.1},{:.1}", plot.0, plot.1, plot.2, plot.3),
        ),
        // The x labels' band under the plot, the y labels' band left of it.
        (
            "data-x-labels",
            format!(
                "{:.1},{:.1},{:.1},{:.1}",
                plot.0,
                plot.3,
                plot.2,
                plot.3 + x_area_css
            ),
        ),
        (
            "data-y-labels",
            format!(
                "{:.1},{:.1},{:.1},{:.1}",
                plot.0 - y_area_css,
                plot.1,
                plot.0,
                plot.3
            ),
        ),
        (
            "data-y-label-max-w",
            format!("{:.1}", widest(&y_labels.borrow())),
        ),
        ("data-x-label-count", x_labels.borrow().len().to_string()),
    ];
    for (k, v) in boxes {
        let _ = canvas.set_attribute(k, &v);
    }
    for ((r, g, b), width, v) in lines {
        chart
            .draw_series(LineSeries::new(
                v.iter().enumerate().map(|(x, y)| (x as u32, scaled(*y))),
                RGBColor(*r, *g, *b).stroke_width(px(f64::from(*width))),
            ))
            .map_err(|e| e.to_string())?;
    }
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
            cgroups: vec![("box".into(), vec![0, 96 << 20])],
            windows: false,
        };
        assert!(y_max_gib(&s) >= 10.0);
        // A Windows machine's legend uses its own names.
        let w = Series {
            windows: true,
            ..s.clone()
        };
        assert_eq!(legend(&w)[0].0, "CommitTotal");
        assert_eq!(legend(&w)[3].0, "working set a");
        assert_eq!(legend(&s)[0].0, "Committed_AS");
        assert!(y_max_gib(&Series::default()) > 0.0);
        // A 96 MiB cgroup is drawn in MiB; two cgroups get two colours.
        assert_eq!(unit_for(96 << 20), (1 << 20, "MiB"));
        assert_eq!(unit_for(2 << 30).1, "GiB");
        let t = Series {
            cgroups: vec![("k/a".into(), vec![0]), ("k/b".into(), vec![0])],
            ..Series::default()
        };
        let l = cgroup_legend(&t);
        assert!(l.len() == 2 && l[0].1 != l[1].1, "{l:?}");
    }
}
