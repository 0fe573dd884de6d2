//! Horizontal grouped bars: one group per cell, one bar per family, 95% whiskers, the families'
//! legend above the chart.

use super::style::{self, FONT};
use super::{err, Estimate, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One group of bars (a cell).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// Shown on the left of the group.
    pub label: String,
    /// One value per series (None: not evaluated).
    pub values: Vec<Option<Estimate>>,
}

/// Grouped bars with interval whiskers.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedBars {
    /// Figure title.
    pub title: String,
    /// A grey line under the title saying how to read the figure (may be empty).
    pub note: String,
    /// The value axis' description with its unit.
    pub value_desc: String,
    /// Series names (the legend), aligned with each group's values.
    pub series: Vec<String>,
    /// Groups, drawn top to bottom.
    pub groups: Vec<BarGroup>,
}

const BAR_PX: u32 = 13;

impl GroupedBars {
    /// A size that fits every bar and label: 900 px wide, tall enough for the groups.
    pub fn natural_size(&self) -> (u32, u32) {
        let per_group = self.series.len() as u32 * BAR_PX + 14;
        (900, (130 + self.groups.len() as u32 * per_group).max(260))
    }

    fn label_width(&self) -> u32 {
        self.groups.iter().map(|g| style::text_width(&g.label, style::LABEL)).max().unwrap_or(40) + 16
    }

    fn x_max(&self) -> f64 {
        let top = self.groups.iter().flat_map(|g| g.values.iter().flatten().map(|e| e.high())).fold(0.0f64, f64::max);
        if top <= 100.0 {
            100.0
        } else {
            top * 1.05
        }
    }
}

impl Figure for GroupedBars {
    fn is_empty(&self) -> bool {
        self.groups.iter().all(|g| g.values.iter().all(Option::is_none))
    }

    /// # Shapes
    /// `groups[i].values.len() == series.len()` for every group.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (width, _) = root.dim_in_pixel();
        let entries: Vec<(String, ShapeStyle)> =
            self.series.iter().enumerate().map(|(i, s)| (s.clone(), style::fill(i))).collect();
        let label_w = self.label_width().min(width / 2);
        let title_h = style::header_height(&self.note);
        let legend_h = style::legend_height(&entries, width, label_w as i32);
        let (head, body) = root.split_vertically(title_h + legend_h);
        style::header(&head, &self.title, &self.note)?;
        let (_, legend) = head.split_vertically(title_h);
        style::legend_row(&legend, &entries, label_w as i32)?;

        let n = self.groups.len() as f64;
        let centres: Vec<f64> = (0..self.groups.len()).map(|i| i as f64 + 0.5).collect();
        let labels: Vec<String> = self.groups.iter().map(|g| g.label.clone()).collect();
        let label_of = move |y: &f64| -> String {
            let row = (n - y).floor() as usize;
            labels.get(row).cloned().unwrap_or_default()
        };
        let mut chart = ChartBuilder::on(&body)
            .margin_right(30)
            .margin_bottom(8)
            .x_label_area_size(48)
            .y_label_area_size(label_w)
            .build_cartesian_2d(0f64..self.x_max(), style::KeyedAxis::new(0f64..n, centres))
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(style::GRID)
            .disable_y_mesh()
            .x_desc(self.value_desc.clone())
            .x_label_style((FONT, style::LABEL))
            .y_label_style((FONT, style::LABEL))
            .axis_desc_style((FONT, style::AXIS))
            .y_label_formatter(&label_of)
            .x_label_formatter(&|v| style::tick(*v))
            .draw()
            .map_err(err)?;
        let k = self.series.len().max(1) as f64;
        let band = 0.8 / k;
        for (gi, g) in self.groups.iter().enumerate() {
            let top = n - gi as f64 - 0.1;
            for (si, v) in g.values.iter().enumerate() {
                let Some(e) = v else { continue };
                let y1 = top - si as f64 * band;
                let y0 = y1 - band * 0.9;
                chart
                    .draw_series(std::iter::once(Rectangle::new([(0.0, y0), (e.mean.max(0.0), y1)], style::fill(si))))
                    .map_err(err)?;
                let mid = (y0 + y1) / 2.0;
                if e.half.is_finite() && e.half > 0.0 {
                    let cap = band * 0.25;
                    let black = BLACK.stroke_width(1);
                    chart
                        .draw_series([
                            PathElement::new(vec![(e.low().max(0.0), mid), (e.high(), mid)], black),
                            PathElement::new(vec![(e.low().max(0.0), mid - cap), (e.low().max(0.0), mid + cap)], black),
                            PathElement::new(vec![(e.high(), mid - cap), (e.high(), mid + cap)], black),
                        ])
                        .map_err(err)?;
                }
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((e.high(), mid))
                            + Text::new(
                                format!("{:.1}", e.mean),
                                (5, 0),
                                style::anchored(11, HPos::Left, VPos::Center),
                            ),
                    ))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(mean: f64, half: f64) -> Option<Estimate> {
        Some(Estimate { mean, half })
    }

    #[test]
    fn bars_write_png_and_svg_of_the_requested_size() {
        let fig = GroupedBars {
            title: "scores".into(),
            note: "whiskers: 95% interval".into(),
            value_desc: "score (%)".into(),
            series: vec!["vqa".into(), "ocr".into()],
            groups: vec![
                BarGroup {
                    label: "clip/channel-concat/frozen".into(),
                    values: vec![est(52.0, 4.0), est(30.0, f64::NAN)],
                },
                BarGroup { label: "blind".into(), values: vec![est(24.0, 2.0), None] },
            ],
        };
        super::super::tests::check_both(&fig, (640, 300));
        assert_eq!(fig.natural_size().0, 900);
    }

    #[test]
    fn nothing_evaluated_is_refused() {
        let fig = GroupedBars {
            title: "t".into(),
            note: String::new(),
            value_desc: "v".into(),
            series: vec!["vqa".into()],
            groups: vec![BarGroup { label: "a".into(), values: vec![None] }],
        };
        let dir = tempfile::tempdir().unwrap();
        assert!(super::super::save(&fig, &dir.path().join("x"), (300, 200), &[super::super::PlotFormat::Png]).is_err());
    }
}
