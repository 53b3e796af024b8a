//! SVG plots for examples and reports: lines (traces, loss curves),
//! morphologies coloured by a value, and heatmaps.

#![warn(missing_docs)]

use std::path::Path;

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use ruxley_traces::Traces;

/// One line: a label, x values and y values.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// x values.
    pub x: &'a [f64],
    /// y values (as many as x).
    pub y: &'a [f64],
}

/// A figure: a title, axis labels and stacked panels of lines.
#[derive(Debug, Clone)]
pub struct Figure<'a> {
    /// Title of the whole figure.
    pub title: &'a str,
    /// x-axis label (shared).
    pub x_label: &'a str,
    /// Panels from top to bottom: (y-axis label, lines).
    pub panels: Vec<(&'a str, Vec<Series<'a>>)>,
    /// Logarithmic y axes (loss curves); non-positive values are left out.
    pub log_y: bool,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

/// Writes `figure` as an SVG file of `width` x `height` pixels.
pub fn write_svg(
    path: impl AsRef<Path>,
    figure: &Figure,
    width: u32,
    height: u32,
) -> Result<(), String> {
    let path = path.as_ref();
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(figure.title, ("sans-serif", 20))
        .map_err(|e| err(&e))?;
    let areas = root.split_evenly((figure.panels.len().max(1), 1));
    for (area, (y_label, lines)) in areas.iter().zip(&figure.panels) {
        let (x0, x1) = range(lines.iter().flat_map(|s| s.x.iter().copied()));
        let ys = lines.iter().flat_map(|s| s.y.iter().copied());
        let builder = || {
            let mut b = ChartBuilder::on(area);
            b.margin(10).x_label_area_size(35).y_label_area_size(60);
            b
        };
        if figure.log_y {
            let (y0, y1) = range(ys.filter(|y| *y > 0.0).map(f64::log10));
            let y = (10f64.powf(y0)..10f64.powf(y1)).log_scale();
            let chart = builder()
                .build_cartesian_2d(x0..x1, y)
                .map_err(|e| err(&e))?;
            draw_panel(chart, figure.x_label, y_label, lines, true).map_err(|e| err(&e))?;
        } else {
            let (y0, y1) = range(ys);
            let chart = builder()
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| err(&e))?;
            draw_panel(chart, figure.x_label, y_label, lines, false).map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))
}

/// Draws a panel's axes, lines (only positive values where `positive`) and
/// legend.
fn draw_panel<'a, Y>(
    mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    x_label: &str,
    y_label: &str,
    lines: &[Series],
    positive: bool,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let e = |e: &dyn std::fmt::Display| e.to_string();
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(|x| e(&x))?;
    for (k, s) in lines.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points = s.x.iter().copied().zip(s.y.iter().copied());
        chart
            .draw_series(LineSeries::new(
                points.filter(|p| !positive || p.1 > 0.0),
                color.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label(s.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(&x))
}

/// Writes panels of recorded traces as an SVG file: panel k shows the
/// column `panels[k].1` (e.g. `v_soma_mV`) of every run, labelled with the
/// run's name, against time, under the y-axis label `panels[k].0`.
pub fn write_traces_svg(
    path: impl AsRef<Path>,
    title: &str,
    panels: &[(&str, &str)],
    runs: &[(&str, &Traces)],
    width: u32,
    height: u32,
) -> Result<(), String> {
    let times: Vec<Vec<f64>> = runs.iter().map(|(_, t)| t.times()).collect();
    let mut figure = Figure {
        title,
        x_label: "time (ms)",
        panels: Vec::new(),
        log_y: false,
    };
    for &(y_label, column) in panels {
        let mut lines = Vec::new();
        for ((label, traces), x) in runs.iter().zip(&times) {
            let y = traces.get(column).ok_or_else(|| {
                format!(
                    "run `{label}` has no column {column} (it has {})",
                    traces.names().join(", ")
                )
            })?;
            lines.push(Series { label, x, y });
        }
        figure.panels.push((y_label, lines));
    }
    write_svg(path, &figure, width, height)
}

/// One piece of a morphology drawing: a polyline in the drawing's plane
/// (um), its radius (um) and the value that colours it.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The points, projected onto the plane.
    pub points: Vec<(f64, f64)>,
    /// The radius: lines are drawn at least a pixel wide, wider for thick
    /// pieces.
    pub radius: f64,
    /// Its value, mapped onto the colour scale.
    pub value: f64,
}

/// Blue (low) through grey to red (high).
fn colour(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let mix = |a: f64, b: f64, s: f64| (a + (b - a) * s).round() as u8;
    if t < 0.5 {
        let s = 2.0 * t;
        RGBColor(
            mix(33.0, 200.0, s),
            mix(102.0, 200.0, s),
            mix(172.0, 200.0, s),
        )
    } else {
        let s = 2.0 * t - 1.0;
        RGBColor(
            mix(200.0, 178.0, s),
            mix(200.0, 24.0, s),
            mix(200.0, 43.0, s),
        )
    }
}

/// Writes a morphology as an SVG file: every segment drawn in its colour on
/// equal axes, with the value range (`label`, e.g. "v (mV)") in the title.
/// Segments without points are skipped; an error if none has any.
pub fn write_morphology_svg(
    path: impl AsRef<Path>,
    title: &str,
    label: &str,
    segments: &[Segment],
    size: u32,
) -> Result<(), String> {
    let path = path.as_ref();
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let drawn: Vec<&Segment> = segments.iter().filter(|s| !s.points.is_empty()).collect();
    if drawn.is_empty() {
        return Err(format!(
            "plot {}: no segment has points (cells built from branches have no positions)",
            path.display()
        ));
    }
    let finite = drawn.iter().map(|s| s.value).filter(|v| v.is_finite());
    let (v0, v1) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let span = if v1 > v0 { v1 - v0 } else { 1.0 };
    let (x0, x1) = range(drawn.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = range(drawn.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    // Equal scales: widen the narrower axis.
    let half = 0.5 * (x1 - x0).max(y1 - y0);
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    let root = SVGBackend::new(path, (size, size)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let number = |v: f64| {
        if v != 0.0 && !(1e-2..1e4).contains(&v.abs()) {
            format!("{v:.3e}")
        } else {
            format!("{v:.4}")
        }
    };
    let caption = format!(
        "{title}: {label} from {} (blue) to {} (red)",
        number(v0),
        number(v1)
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(cx - half..cx + half, cy - half..cy + half)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("um")
        .y_desc("um")
        .draw()
        .map_err(|e| err(&e))?;
    let px_per_um = f64::from(size) / (2.0 * half);
    for s in drawn {
        let style = colour((s.value - v0) / span)
            .stroke_width((2.0 * s.radius * px_per_um).clamp(1.0, 12.0) as u32);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

/// A grid of values drawn as coloured cells: `values[i][j]` fills the cell
/// centred at (x_j, y_i), the x_j and y_i spaced evenly over the ranges
/// (a decision surface, a loss landscape).
#[derive(Debug, Clone, Copy)]
pub struct Heatmap<'a> {
    /// The panel's title.
    pub title: &'a str,
    /// The first and last x.
    pub x_range: (f64, f64),
    /// The first and last y.
    pub y_range: (f64, f64),
    /// Rows of values (equal lengths), from y_range.0 to y_range.1.
    pub values: &'a [Vec<f64>],
}

/// Writes heatmaps side by side as an SVG file, on one colour scale (blue
/// low, red high; the range and `label` in the title) with shared axis
/// labels. An error if a grid is empty or ragged.
pub fn write_heatmaps_svg(
    path: impl AsRef<Path>,
    label: &str,
    axes: (&str, &str),
    maps: &[Heatmap],
    width: u32,
    height: u32,
) -> Result<(), String> {
    let path = path.as_ref();
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    for m in maps {
        let cols = m.values.first().map_or(0, Vec::len);
        if cols == 0 || m.values.iter().any(|r| r.len() != cols) {
            return Err(err(&format!(
                "heatmap `{}` is empty or has rows of different lengths",
                m.title
            )));
        }
    }
    let (v0, v1) = maps
        .iter()
        .flat_map(|m| m.values.iter().flatten())
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = if v1 > v0 { v1 - v0 } else { 1.0 };
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(
            &format!("{label} from {v0:.4} (blue) to {v1:.4} (red)"),
            ("sans-serif", 16),
        )
        .map_err(|e| err(&e))?;
    for (area, m) in root.split_evenly((1, maps.len().max(1))).iter().zip(maps) {
        let (rows, cols) = (m.values.len(), m.values[0].len());
        // Cell k spans half a spacing either side of its centre.
        let edges = |(a, b): (f64, f64), n: usize| {
            let h = if n > 1 { (b - a) / (n - 1) as f64 } else { 1.0 };
            (a - 0.5 * h, h)
        };
        let (x0, dx) = edges(m.x_range, cols);
        let (y0, dy) = edges(m.y_range, rows);
        let mut chart = ChartBuilder::on(area)
            .caption(m.title, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x0 + dx * cols as f64, y0..y0 + dy * rows as f64)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(axes.0)
            .y_desc(axes.1)
            .draw()
            .map_err(|e| err(&e))?;
        let cells = m.values.iter().enumerate().flat_map(|(i, row)| {
            row.iter().enumerate().map(move |(j, &v)| {
                let (x, y) = (x0 + dx * j as f64, y0 + dy * i as f64);
                Rectangle::new([(x, y), (x + dx, y + dy)], colour((v - v0) / span).filled())
            })
        });
        chart.draw_series(cells).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_plot_by_column_and_a_missing_one_is_named() {
        let mut a = Traces::zeros(vec!["v_soma_mV".into()], 0.1, 11);
        a.trace_mut(0)
            .iter_mut()
            .enumerate()
            .for_each(|(k, x)| *x = -65.0 + k as f64);
        let b = a.clone();
        let dir = std::env::temp_dir();
        let path = dir.join(format!("ruxley_plot_{}.svg", std::process::id()));
        let runs = [("target", &a), ("fit", &b)];
        write_traces_svg(&path, "t", &[("soma (mV)", "v_soma_mV")], &runs, 400, 300).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert!(svg.contains("soma (mV)") && svg.contains("target") && svg.contains("fit"));
        let e = write_traces_svg(&path, "t", &[("x", "v_axon_mV")], &runs, 400, 300).unwrap_err();
        assert!(
            e.contains("run `target` has no column v_axon_mV (it has v_soma_mV)"),
            "{e}"
        );
    }

    #[test]
    fn a_log_axis_spans_the_decades_and_leaves_out_non_positive_values() {
        let x: Vec<f64> = (0..9).map(f64::from).collect();
        // 100 down to 1e-5, then a zero a log axis cannot show.
        let y: Vec<f64> = (0..9)
            .map(|k| if k < 8 { 10f64.powi(2 - k) } else { 0.0 })
            .collect();
        let figure = Figure {
            title: "loss",
            x_label: "step",
            panels: vec![(
                "loss",
                vec![Series {
                    label: "mse",
                    x: &x,
                    y: &y,
                }],
            )],
            log_y: true,
        };
        let path = std::env::temp_dir().join(format!("ruxley_log_{}.svg", std::process::id()));
        write_svg(&path, &figure, 400, 300).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        // Every decade from 1e-5 to 100 is labelled.
        let labels: Vec<&str> = svg.lines().filter(|l| !l.starts_with('<')).collect();
        for decade in [
            "1e-5", "0.0001", "0.001", "0.01", "0.1", "1.0", "10.0", "100.0",
        ] {
            assert!(labels.contains(&decade), "{decade}: {labels:?}");
        }
    }

    #[test]
    fn a_morphology_is_drawn_in_its_values_colours() {
        let segments: Vec<Segment> = (0..5)
            .map(|k| Segment {
                points: vec![(10.0 * k as f64, 0.0), (10.0 * k as f64 + 10.0, 5.0)],
                radius: 1.0,
                value: -70.0 + 10.0 * k as f64,
            })
            .collect();
        let path = std::env::temp_dir().join(format!("ruxley_morph_{}.svg", std::process::id()));
        write_morphology_svg(&path, "cell", "v (mV)", &segments, 400).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert!(
            svg.contains("from -70.0000 (blue) to -30.0000 (red)"),
            "{svg}"
        );
        // The lowest value blue, the highest red.
        assert!(svg.contains("#2166AC") && svg.contains("#B2182B"), "{svg}");
        let empty = [Segment {
            points: Vec::new(),
            radius: 1.0,
            value: 0.0,
        }];
        let e = write_morphology_svg(&path, "cell", "v", &empty, 400).unwrap_err();
        assert!(e.contains("no segment has points"), "{e}");
    }

    #[test]
    fn heatmaps_draw_every_cell_and_refuse_ragged_grids() {
        let grid = vec![vec![0.0, 1.0, 2.0], vec![3.0, 4.0, 5.0]];
        let maps = [
            Heatmap {
                title: "before",
                x_range: (0.0, 1.0),
                y_range: (0.0, 1.0),
                values: &grid,
            },
            Heatmap {
                title: "after",
                x_range: (0.0, 1.0),
                y_range: (0.0, 1.0),
                values: &grid,
            },
        ];
        let path = std::env::temp_dir().join(format!("ruxley_heat_{}.svg", std::process::id()));
        write_heatmaps_svg(&path, "spikes", ("a", "b"), &maps, 600, 300).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        // Six cells per panel, the lowest value blue and the highest red.
        assert_eq!(svg.matches("<rect").count() - 1, 12, "{svg}");
        assert!(svg.contains("#2166AC") && svg.contains("#B2182B"), "{svg}");
        assert!(svg.contains("before") && svg.contains("after") && svg.contains("from 0.0000"));
        let ragged = vec![vec![0.0, 1.0], vec![2.0]];
        let e = write_heatmaps_svg(
            &path,
            "x",
            ("a", "b"),
            &[Heatmap {
                values: &ragged,
                ..maps[0]
            }],
            300,
            300,
        )
        .unwrap_err();
        assert!(e.contains("rows of different lengths"), "{e}");
    }
}
