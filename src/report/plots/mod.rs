//! Plots with plotters, as PNG and SVG, text in an embedded DejaVu Sans so they render the same on
//! any machine: grouped bars with interval whiskers, score against cost with the Pareto front, lines
//! over an ordered axis, and training-loss curves.

pub mod bars;
pub mod curves;
pub mod lines;
pub mod pareto;
pub mod style;

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// An image format a plot is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    /// Raster, for markdown and slides.
    Png,
    /// Vector, for papers.
    Svg,
}

impl PlotFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            PlotFormat::Png => "png",
            PlotFormat::Svg => "svg",
        }
    }
}

impl FromStr for PlotFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "png" => Ok(PlotFormat::Png),
            "svg" => Ok(PlotFormat::Svg),
            other => Err(format!("unknown plot format `{other}`; known: png, svg")),
        }
    }
}

/// Plot errors.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters failed to draw.
    #[error("drawing {0}: {1}")]
    Draw(String, String),
    /// A plot with nothing to show.
    #[error("nothing to plot in {0}")]
    Empty(String),
    /// Writing the file failed.
    #[error("writing {0}: {1}")]
    Write(String, String),
}

pub use crate::stats::Estimate;

/// Something that draws itself on any plotters backend.
pub trait Figure {
    /// Draws the whole figure on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
    /// Whether there is anything to draw.
    fn is_empty(&self) -> bool;
}

/// Writes `figure` as `<stem>.png` / `<stem>.svg` at `size` pixels; returns the files written.
pub fn save<F: Figure>(
    figure: &F,
    stem: &Path,
    size: (u32, u32),
    formats: &[PlotFormat],
) -> Result<Vec<PathBuf>, PlotError> {
    let name = stem.display().to_string();
    if figure.is_empty() {
        return Err(PlotError::Empty(name));
    }
    style::register_fonts();
    let mut written = Vec::new();
    for &format in formats {
        let path = stem.with_extension(format.extension());
        let shown = path.display().to_string();
        match format {
            PlotFormat::Png => {
                let mut buf = vec![0u8; size.0 as usize * size.1 as usize * 3];
                paint(figure, BitMapBackend::with_buffer(&mut buf, size).into_drawing_area(), &shown)?;
                let img = image::RgbImage::from_raw(size.0, size.1, buf).expect("buffer holds w*h*3 bytes");
                img.save(&path).map_err(|e| PlotError::Write(shown.clone(), e.to_string()))?;
            }
            PlotFormat::Svg => {
                let mut svg = String::new();
                paint(figure, SVGBackend::with_string(&mut svg, size).into_drawing_area(), &shown)?;
                std::fs::write(&path, svg).map_err(|e| PlotError::Write(shown.clone(), e.to_string()))?;
            }
        }
        written.push(path);
    }
    Ok(written)
}

/// Fills `root` white, draws `figure` on it and flushes it.
fn paint<F: Figure, DB: DrawingBackend>(
    figure: &F,
    root: DrawingArea<DB, Shift>,
    shown: &str,
) -> Result<(), PlotError> {
    let fail = |e: String| PlotError::Draw(shown.to_string(), e);
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    figure.draw(&root).map_err(fail)?;
    root.present().map_err(|e| fail(e.to_string()))
}

/// Turns any plotters error into the message `save` reports.
pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Width and height of a PNG file, read from its header.
    pub fn png_size(path: &Path) -> (u32, u32) {
        image::image_dimensions(path).expect("a readable PNG")
    }

    /// Width and height an SVG file declares.
    pub fn svg_size(path: &Path) -> (u32, u32) {
        let text = std::fs::read_to_string(path).unwrap();
        let num = |key: &str| -> u32 {
            let at = text.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
            text[at..].split('"').next().unwrap().parse().unwrap()
        };
        (num("width"), num("height"))
    }

    /// Saves `figure` in both formats under a temp folder and checks each file's size and content.
    pub fn check_both<F: Figure>(figure: &F, size: (u32, u32)) {
        let dir = tempfile::tempdir().unwrap();
        let files = save(figure, &dir.path().join("plot"), size, &[PlotFormat::Png, PlotFormat::Svg]).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(png_size(&files[0]), size);
        assert_eq!(svg_size(&files[1]), size);
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        assert!(svg.contains("<text"), "the SVG has text (axis labels)");
        // More than a blank canvas: the PNG has dark (text/axes) and coloured pixels.
        let img = image::open(&files[0]).unwrap().to_rgb8();
        let dark = img.pixels().filter(|p| p.0.iter().all(|&c| c < 80)).count();
        let coloured = img.pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60).count();
        assert!(dark > 200, "axes and text drawn ({dark} dark pixels)");
        assert!(coloured > 200, "data drawn in colour ({coloured} coloured pixels)");
    }

    #[test]
    fn formats_parse_and_refuse_unknown_names() {
        assert_eq!("png".parse::<PlotFormat>().unwrap(), PlotFormat::Png);
        assert_eq!("svg".parse::<PlotFormat>().unwrap(), PlotFormat::Svg);
        assert!("jpg".parse::<PlotFormat>().unwrap_err().contains("png, svg"));
    }
}
