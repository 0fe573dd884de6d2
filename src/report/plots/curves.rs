//! Curves over a numeric x (training loss against step), one line per series, optional log y.

use super::style;
use super::{err, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The legend entry.
    pub name: String,
    /// (x, y) points in x order.
    pub points: Vec<(f64, f64)>,
}

/// Curves on numeric axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    /// Figure title.
    pub title: String,
    /// The x axis' description with its unit.
    pub x_desc: String,
    /// The y axis' description with its unit.
    pub y_desc: String,
    /// The curves.
    pub curves: Vec<Curve>,
}

impl Curves {
    /// 900 × 540 pixels plus room for a long legend.
    pub fn natural_size(&self) -> (u32, u32) {
        let entries: Vec<(String, ShapeStyle)> = self.curves.iter().map(|c| (c.name.clone(), BLACK.filled())).collect();
        (900, 480 + style::legend_height(&entries, 900, 70))
    }

    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let pts = || self.curves.iter().flat_map(|c| c.points.iter()).filter(|p| p.1.is_finite());
        let x0 = pts().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let x1 = pts().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let y0 = pts().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let y1 = pts().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((y1 - y0) * 0.05).max(1e-3);
        ((x0, if x1 > x0 { x1 } else { x0 + 1.0 }), ((y0 - pad).max(0.0), y1 + pad))
    }
}

impl Figure for Curves {
    fn is_empty(&self) -> bool {
        self.curves.iter().all(|c| c.points.is_empty())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (width, _) = root.dim_in_pixel();
        let entries: Vec<(String, ShapeStyle)> =
            self.curves.iter().enumerate().map(|(i, c)| (c.name.clone(), style::fill(i))).collect();
        let title_h = style::header_height("");
        let legend_h = style::legend_height(&entries, width, 70);
        let (head, body) = root.split_vertically(title_h + legend_h);
        style::header(&head, &self.title, "")?;
        let (_, legend) = head.split_vertically(title_h);
        style::legend_row(&legend, &entries, 70)?;
        let ((x0, x1), (y0, y1)) = self.ranges();
        let mut chart = ChartBuilder::on(&body)
            .margin_right(30)
            .margin_bottom(8)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        style::numeric_mesh(&mut chart, &self.x_desc, &self.y_desc)?;
        for (i, c) in self.curves.iter().enumerate() {
            let pts: Vec<(f64, f64)> = c.points.iter().copied().filter(|p| p.1.is_finite()).collect();
            style::series_line(&mut chart, pts, i, 2)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_write_png_and_svg_of_the_requested_size() {
        let fig = Curves {
            title: "sft loss".into(),
            x_desc: "step".into(),
            y_desc: "loss (nats per token)".into(),
            curves: vec![
                Curve {
                    name: "clip/frozen".into(),
                    points: (0..50).map(|s| (s as f64 * 10.0, 3.0 / (1.0 + s as f64 * 0.1))).collect(),
                },
                Curve {
                    name: "blind".into(),
                    points: (0..50).map(|s| (s as f64 * 10.0, 2.5 - s as f64 * 0.01)).collect(),
                },
            ],
        };
        super::super::tests::check_both(&fig, (640, 400));
        let ((x0, x1), (y0, _)) = fig.ranges();
        assert_eq!((x0, x1), (0.0, 490.0));
        assert!(y0 >= 0.0);
    }
}
