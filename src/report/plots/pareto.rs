//! Score against cost, one numbered point per cell (the legend names the numbers, so long labels
//! never overlap the data), the Pareto front (cheapest for its score) joined by a dashed line.

use super::style::{self, colour};
use super::{err, Estimate, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One cell on the plane.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPoint {
    /// The cell's label.
    pub label: String,
    /// Its cost (x).
    pub cost: f64,
    /// Its score (y) with interval.
    pub score: Estimate,
}

/// Score against cost with the Pareto front.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreVsCost {
    /// Figure title.
    pub title: String,
    /// The cost axis' description with its unit.
    pub x_desc: String,
    /// The score axis' description with its unit.
    pub y_desc: String,
    /// The cells.
    pub points: Vec<CostPoint>,
    /// Log-scaled cost axis (when costs span more than a factor of ten).
    pub log_x: bool,
}

/// Indices of the points no other point beats (as cheap or cheaper and as good or better, one
/// strictly), sorted by cost.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let dominated = |i: usize| {
        let (ci, si) = points[i];
        points.iter().any(|&(c, s)| c <= ci && s >= si && (c < ci || s > si))
    };
    let mut front: Vec<usize> = (0..points.len()).filter(|&i| !dominated(i)).collect();
    front.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0));
    front
}

impl ScoreVsCost {
    /// 900 px wide, tall enough for the legend.
    pub fn natural_size(&self) -> (u32, u32) {
        (900, 500 + style::legend_height(&self.entries(), 900, 70))
    }

    fn entries(&self) -> Vec<(String, ShapeStyle)> {
        self.points.iter().enumerate().map(|(i, p)| (format!("{} {}", i + 1, p.label), style::fill(i))).collect()
    }

    fn front(&self) -> Vec<usize> {
        pareto_front(&self.points.iter().map(|p| (p.cost, p.score.mean)).collect::<Vec<_>>())
    }

    fn y_range(&self) -> (f64, f64) {
        let lo = self.points.iter().map(|p| p.score.low()).fold(f64::INFINITY, f64::min);
        let hi = self.points.iter().map(|p| p.score.high()).fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.1).max(2.0);
        ((lo - pad).max(0.0), hi + pad)
    }

    /// Where each point is drawn: points with the same cost are spread sideways by `step` (data
    /// units, or a factor on a log axis) so neither they nor their whiskers hide each other.
    fn drawn_costs(&self, step: f64) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.points.len());
        for (i, p) in self.points.iter().enumerate() {
            let ties = self.points[..i].iter().filter(|q| q.cost == p.cost).count() as f64;
            out.push(if self.log_x { p.cost * (1.0 + step).powf(ties) } else { p.cost + step * ties });
        }
        out
    }

    fn draw_on<DB: DrawingBackend, X: Ranged<ValueType = f64>>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
        step: f64,
    ) -> Result<(), String> {
        let front = self.front();
        let xs = self.drawn_costs(step);
        let line: Vec<(f64, f64)> = front.iter().map(|&i| (xs[i], self.points[i].score.mean)).collect();
        chart.draw_series(DashedLineSeries::new(line, 8, 5, BLACK.stroke_width(2))).map_err(err)?;
        for (i, p) in self.points.iter().enumerate() {
            let c = colour(i);
            let e = p.score;
            let p = CostPoint { cost: xs[i], ..p.clone() };
            if e.half.is_finite() && e.half > 0.0 {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(p.cost, e.low()), (p.cost, e.high())],
                        c.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            chart.draw_series(std::iter::once(Circle::new((p.cost, e.mean), 6, style::fill(i)))).map_err(err)?;
            if front.contains(&i) {
                chart
                    .draw_series(std::iter::once(Circle::new((p.cost, e.mean), 10, BLACK.stroke_width(2))))
                    .map_err(err)?;
            }
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((p.cost, e.mean))
                        + Text::new(
                            format!("{}", i + 1),
                            (9, -9),
                            style::anchored(style::LABEL, HPos::Left, VPos::Bottom),
                        ),
                ))
                .map_err(err)?;
        }
        Ok(())
    }
}

impl Figure for ScoreVsCost {
    fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (width, _) = root.dim_in_pixel();
        let entries = self.entries();
        let title_h = style::header_height("points of equal cost are spread sideways; whiskers: 95% interval");
        let legend_h = style::legend_height(&entries, width, 70);
        let (head, body) = root.split_vertically(title_h + legend_h);
        style::header(
            &head,
            &format!("{} (ringed: Pareto front)", self.title),
            "points of equal cost are spread sideways; whiskers: 95% interval",
        )?;
        let (_, legend) = head.split_vertically(title_h);
        style::legend_row(&legend, &entries, 70)?;
        let c0 = self.points.iter().map(|p| p.cost).fold(f64::INFINITY, f64::min);
        let c1 = self.points.iter().map(|p| p.cost).fold(f64::NEG_INFINITY, f64::max);
        let (y0, y1) = self.y_range();
        let builder = || {
            let mut b = ChartBuilder::on(&body);
            b.margin_right(40).margin_top(16).margin_bottom(8).x_label_area_size(48).y_label_area_size(70);
            b
        };
        if self.log_x {
            let mut chart = builder().build_cartesian_2d((c0 / 1.3..c1 * 1.6).log_scale(), y0..y1).map_err(err)?;
            style::numeric_mesh(&mut chart, &format!("{} (log scale)", self.x_desc), &self.y_desc)?;
            self.draw_on(&mut chart, 0.03)
        } else {
            let pad = ((c1 - c0) * 0.08).max(c1.abs() * 0.05).max(1.0);
            let mut chart = builder().build_cartesian_2d((c0 - pad).max(0.0)..c1 + pad, y0..y1).map_err(err)?;
            style::numeric_mesh(&mut chart, &self.x_desc, &self.y_desc)?;
            self.draw_on(&mut chart, ((c1 - c0) + 2.0 * pad) * 0.02)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_keeps_exactly_the_undominated_points_by_cost() {
        // (cost, score): b beats a (cheaper, better); c is dearer but best; d ties c's score at more cost.
        let pts = [(10.0, 50.0), (5.0, 55.0), (20.0, 70.0), (30.0, 70.0), (1.0, 20.0)];
        assert_eq!(pareto_front(&pts), vec![4, 1, 2]);
    }

    #[test]
    fn score_vs_cost_writes_png_and_svg_of_the_requested_size() {
        let e = |mean, half| Estimate { mean, half };
        for log_x in [false, true] {
            let fig = ScoreVsCost {
                title: "score vs visual tokens".into(),
                x_desc: "visual tokens per image".into(),
                y_desc: "average (%)".into(),
                points: vec![
                    CostPoint { label: "clip native".into(), cost: 64.0, score: e(59.0, 6.0) },
                    CostPoint { label: "clip 2x".into(), cost: 256.0, score: e(62.0, f64::NAN) },
                    CostPoint { label: "clip 3x".into(), cost: 576.0, score: e(55.0, 6.0) },
                ],
                log_x,
            };
            super::super::tests::check_both(&fig, (700, 450));
        }
    }
}
