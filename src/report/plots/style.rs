//! The plots' shared look: the embedded font, a colour-blind-safe palette, text sizes.

use plotters::style::{Color, FontStyle, RGBColor, ShapeStyle};
use std::sync::Once;

/// The font family every plot uses (DejaVu Sans, embedded in the binary).
pub const FONT: &str = "sans-serif";
/// Title size in pixels.
pub const TITLE: u32 = 22;
/// Axis description size in pixels.
pub const AXIS: u32 = 17;
/// Tick and legend label size in pixels.
pub const LABEL: u32 = 14;

/// Okabe–Ito colours (readable by colour-blind readers), grey, black and brown; their yellow, faint
/// on white, last.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
    RGBColor(170, 120, 60),
    RGBColor(240, 228, 66),
];

/// The `i`th series colour (cycles).
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Whether the `i`th series reuses a colour of an earlier one (the palette's second round): such
/// series are drawn dashed and hollow, so up to twice the palette's length of series stay apart.
pub fn repeats_colour(i: usize) -> bool {
    i / PALETTE.len() % 2 == 1
}

/// The `i`th series' swatch, marker and bar style: filled, or a 2-px outline when its colour repeats.
pub fn fill(i: usize) -> ShapeStyle {
    if repeats_colour(i) {
        colour(i).stroke_width(2)
    } else {
        colour(i).filled()
    }
}

/// Draws the `i`th series' line through `points`, `width` px wide: solid, or dashed when its
/// colour repeats (see [`repeats_colour`]).
pub fn series_line<DB, X, Y>(
    chart: &mut plotters::prelude::ChartContext<'_, DB, plotters::prelude::Cartesian2d<X, Y>>,
    points: Vec<(f64, f64)>,
    i: usize,
    width: u32,
) -> Result<(), String>
where
    DB: plotters::prelude::DrawingBackend,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    use plotters::prelude::{DashedLineSeries, LineSeries};
    let stroke = colour(i).stroke_width(width);
    if repeats_colour(i) {
        chart.draw_series(DashedLineSeries::new(points, 4 * width, 3 * width, stroke))
    } else {
        chart.draw_series(LineSeries::new(points, stroke))
    }
    .map(|_| ())
    .map_err(super::err)
}

/// Registers the embedded font under [`FONT`] (once per process).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_err() {
            panic!("the embedded DejaVu Sans font does not parse");
        }
        if plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_err() {
            panic!("the embedded DejaVu Sans Bold font does not parse");
        }
    });
}

/// Approximate width in pixels of `text` at `size` px (DejaVu Sans averages ~0.6 em per glyph).
pub fn text_width(text: &str, size: u32) -> u32 {
    (text.chars().count() as f64 * size as f64 * 0.6).ceil() as u32
}

/// `text` cut to `max` characters with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Draws a legend as rows of colour swatches and names across the top of `area`, wrapping to new
/// rows; each entry's swatch is drawn in its style. Legends live outside the data, never over it.
pub fn legend_row<DB: plotters::prelude::DrawingBackend>(
    area: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, ShapeStyle)],
    left: i32,
) -> Result<(), String> {
    use plotters::prelude::*;
    let (width, _) = area.dim_in_pixel();
    let font = (FONT, LABEL).into_font().color(&BLACK);
    let (mut x, mut y) = (left, 4i32);
    for (name, swatch) in entries {
        let w = 18 + text_width(name, LABEL) as i32 + 18;
        if x + w > width as i32 && x > left {
            x = left;
            y += LABEL as i32 + 8;
        }
        area.draw(&Rectangle::new([(x, y + 2), (x + 12, y + 2 + 12)], *swatch)).map_err(super::err)?;
        area.draw(&Text::new(name.clone(), (x + 18, y), font.clone())).map_err(super::err)?;
        x += w;
    }
    Ok(())
}

/// Height [`legend_row`] needs for `entries` across `width` pixels.
pub fn legend_height(entries: &[(String, ShapeStyle)], width: u32, left: i32) -> u32 {
    let (mut x, mut rows) = (left, 1u32);
    for (name, _) in entries {
        let w = 18 + text_width(name, LABEL) as i32 + 18;
        if x + w > width as i32 && x > left {
            x = left;
            rows += 1;
        }
        x += w;
    }
    rows * (LABEL + 8) + 8
}

/// A numeric axis whose ticks sit exactly at given positions (category centres), so a label
/// formatter can name them.
#[derive(Debug, Clone)]
pub struct KeyedAxis {
    range: std::ops::Range<f64>,
    keys: Vec<f64>,
}

impl KeyedAxis {
    /// The axis over `range` with ticks at `keys`.
    pub fn new(range: std::ops::Range<f64>, keys: Vec<f64>) -> Self {
        KeyedAxis { range, keys }
    }
}

impl plotters::coord::ranged1d::Ranged for KeyedAxis {
    type FormatOption = plotters::coord::ranged1d::NoDefaultFormatting;
    type ValueType = f64;
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let t = if span == 0.0 { 0.0 } else { (value - self.range.start) / span };
        limit.0 + (t * (limit.1 - limit.0) as f64).round() as i32
    }
    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.keys.clone()
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

impl plotters::coord::ranged1d::ValueFormatter<f64> for KeyedAxis {
    fn format(value: &f64) -> String {
        format!("{value}")
    }
}

/// A text style anchored at `h`/`v` of the text.
pub fn anchored(
    size: u32,
    h: plotters::style::text_anchor::HPos,
    v: plotters::style::text_anchor::VPos,
) -> plotters::style::TextStyle<'static> {
    use plotters::style::{IntoFont, TextStyle};
    TextStyle::from((FONT, size).into_font()).pos(plotters::style::text_anchor::Pos::new(h, v))
}

/// A tick label: integers without decimals, other values with at most two.
pub fn tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v)
    } else {
        let t = format!("{v:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The colour of the grid's major lines (minor lines are not drawn).
pub const GRID: RGBColor = RGBColor(225, 225, 225);

/// Draws the title and, below it in grey, an optional note (how to read the figure); returns the
/// height used.
pub fn header<DB: plotters::prelude::DrawingBackend>(
    area: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    note: &str,
) -> Result<(), String> {
    use plotters::prelude::*;
    area.draw(&Text::new(title.to_string(), (10, 6), (FONT, TITLE).into_font())).map_err(super::err)?;
    if !note.is_empty() {
        let grey = (FONT, LABEL).into_font().color(&RGBColor(90, 90, 90));
        area.draw(&Text::new(note.to_string(), (10, TITLE as i32 + 12), grey)).map_err(super::err)?;
    }
    Ok(())
}

/// Height [`header`] needs.
pub fn header_height(note: &str) -> u32 {
    TITLE + 16 + if note.is_empty() { 0 } else { LABEL + 8 }
}

/// The numeric axes every plot with two numeric axes shares: major grid lines only, ticks as
/// [`tick`], the embedded font.
pub fn numeric_mesh<DB, X, Y>(
    chart: &mut plotters::prelude::ChartContext<'_, DB, plotters::prelude::Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), String>
where
    DB: plotters::prelude::DrawingBackend,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    use plotters::style::TRANSPARENT;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .x_label_style((FONT, LABEL))
        .y_label_style((FONT, LABEL))
        .axis_desc_style((FONT, AXIS))
        .draw()
        .map_err(super::err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_that_share_a_colour_are_drawn_differently_up_to_twice_the_palette() {
        let look = |i: usize| (colour(i), fill(i).filled, repeats_colour(i));
        let n = 2 * PALETTE.len();
        for i in 0..n {
            for j in i + 1..n {
                assert_ne!(look(i), look(j), "series {i} and {j} look the same");
            }
        }
        assert!(fill(0).filled && !repeats_colour(0));
        assert!(!fill(PALETTE.len()).filled && repeats_colour(PALETTE.len()));
    }
}
