//! Lines over an ordered axis (resolution, greedy rounds): one line per series, a point with a 95%
//! whisker at every position the series was measured.

use super::style::{self, colour, FONT};
use super::{err, Estimate, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    /// The legend entry.
    pub name: String,
    /// (position index into `x_labels`, value), in position order.
    pub points: Vec<(usize, Estimate)>,
}

/// Lines over ordered, labelled positions.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedLines {
    /// Figure title.
    pub title: String,
    /// A grey line under the title saying how to read the figure (may be empty).
    pub note: String,
    /// The x axis' description.
    pub x_desc: String,
    /// The y axis' description with its unit.
    pub y_desc: String,
    /// Tick label of each position, in order.
    pub x_labels: Vec<String>,
    /// The lines.
    pub series: Vec<LineSeries>,
    /// A horizontal reference line (e.g. the blind baseline) with its name.
    pub reference: Option<(String, f64)>,
}

impl OrderedLines {
    /// 900 × 540 pixels.
    pub fn natural_size(&self) -> (u32, u32) {
        (900, 540)
    }

    fn y_range(&self) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for e in self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)) {
            lo = lo.min(e.low());
            hi = hi.max(e.high());
        }
        if let Some((_, r)) = self.reference {
            lo = lo.min(r);
            hi = hi.max(r);
        }
        let pad = ((hi - lo) * 0.1).max(2.0);
        ((lo - pad).max(0.0), (hi + pad).min(if hi <= 100.0 { 100.0 } else { hi + pad }))
    }
}

impl Figure for OrderedLines {
    fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (width, _) = root.dim_in_pixel();
        let mut entries: Vec<(String, ShapeStyle)> =
            self.series.iter().enumerate().map(|(i, s)| (s.name.clone(), style::fill(i))).collect();
        if let Some((name, _)) = &self.reference {
            entries.push((name.clone(), RGBColor(150, 150, 150).filled()));
        }
        let title_h = style::header_height(&self.note);
        let legend_h = style::legend_height(&entries, width, 70);
        let (head, body) = root.split_vertically(title_h + legend_h);
        style::header(&head, &self.title, &self.note)?;
        let (_, legend) = head.split_vertically(title_h);
        style::legend_row(&legend, &entries, 70)?;

        let n = self.x_labels.len().max(1);
        let labels = self.x_labels.clone();
        let label_of = move |x: &f64| -> String { labels.get(x.round() as usize).cloned().unwrap_or_default() };
        let (lo, hi) = self.y_range();
        let mut chart = ChartBuilder::on(&body)
            .margin_right(30)
            .margin_bottom(8)
            .x_label_area_size(52)
            .y_label_area_size(70)
            .build_cartesian_2d(
                style::KeyedAxis::new(-0.4f64..(n as f64 - 0.6), (0..n).map(|i| i as f64).collect()),
                lo..hi,
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(style::GRID)
            .disable_x_mesh()
            .x_desc(self.x_desc.clone())
            .y_desc(self.y_desc.clone())
            .y_label_formatter(&|v| style::tick(*v))
            .x_label_style((FONT, style::LABEL))
            .y_label_style((FONT, style::LABEL))
            .axis_desc_style((FONT, style::AXIS))
            .x_label_formatter(&label_of)
            .draw()
            .map_err(err)?;
        if let Some((_, r)) = self.reference {
            let grey = RGBColor(150, 150, 150).stroke_width(2);
            chart.draw_series(DashedLineSeries::new(vec![(-0.4, r), (n as f64 - 0.6, r)], 8, 6, grey)).map_err(err)?;
        }
        // Series side by side around each position so their whiskers do not hide each other.
        let k = self.series.len().max(1) as f64;
        for (si, s) in self.series.iter().enumerate() {
            let c = colour(si);
            let dx = if k > 1.0 { (si as f64 - (k - 1.0) / 2.0) * 0.06 } else { 0.0 };
            let pts: Vec<(f64, f64)> = s.points.iter().map(|(x, e)| (*x as f64 + dx, e.mean)).collect();
            style::series_line(&mut chart, pts.clone(), si, 3)?;
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 5, style::fill(si)))).map_err(err)?;
            for (x, e) in &s.points {
                if e.half.is_finite() && e.half > 0.0 {
                    let xx = *x as f64 + dx;
                    chart
                        .draw_series([
                            PathElement::new(vec![(xx, e.low()), (xx, e.high())], c.stroke_width(2)),
                            PathElement::new(vec![(xx - 0.03, e.low()), (xx + 0.03, e.low())], c.stroke_width(2)),
                            PathElement::new(vec![(xx - 0.03, e.high()), (xx + 0.03, e.high())], c.stroke_width(2)),
                        ])
                        .map_err(err)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_write_png_and_svg_of_the_requested_size() {
        let e = |mean, half| Estimate { mean, half };
        let fig = OrderedLines {
            title: "ocr over resolution".into(),
            note: String::new(),
            x_desc: "resolution".into(),
            y_desc: "ocr (%)".into(),
            x_labels: vec!["native".into(), "96px".into(), "128px".into()],
            series: vec![
                LineSeries {
                    name: "frozen".into(),
                    points: vec![(0, e(59.0, 6.8)), (1, e(56.0, 6.9)), (2, e(50.0, 7.0))],
                },
                LineSeries { name: "unlocked".into(), points: vec![(0, e(52.5, 6.9)), (2, e(60.0, f64::NAN))] },
            ],
            reference: Some(("blind".into(), 5.5)),
        };
        super::super::tests::check_both(&fig, (700, 420));
        let (lo, hi) = fig.y_range();
        assert!(lo <= 5.5 && (66.9..=100.0).contains(&hi));
    }
}
