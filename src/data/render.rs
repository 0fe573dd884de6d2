//! Anti-aliased rasterisation of scenes at any resolution (RGB, 8 bits per channel).

use super::scene::{Object, Scene, BAR_LABELS, COLOURS, DOC_KEYS};
use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use std::sync::OnceLock;

/// Colour of the empty canvas.
pub const BACKGROUND: [u8; 3] = [240, 240, 236];
/// Colour of text and axes.
pub const INK: [u8; 3] = [20, 20, 20];
/// Colour of chart bars.
pub const BAR: [u8; 3] = [70, 110, 190];

fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(dejavu::sans_mono::bold()).expect("embedded DejaVu font parses"))
}

/// An RGB image, row-major, `width * height * 3` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Interleaved RGB bytes.
    pub pixels: Vec<u8>,
}

impl Image {
    /// A blank image of the world's background colour.
    pub fn new(width: usize, height: usize) -> Self {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&BACKGROUND);
        }
        Self { width, height, pixels }
    }

    /// Mixes `colour` into pixel (x, y) with opacity `alpha`; outside pixels are ignored.
    pub fn blend(&mut self, x: i64, y: i64, colour: [u8; 3], alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 || alpha <= 0.0 {
            return;
        }
        let a = alpha.min(1.0);
        let i = (y as usize * self.width + x as usize) * 3;
        for (pixel, &target) in self.pixels[i..i + 3].iter_mut().zip(&colour) {
            let old = *pixel as f32;
            *pixel = (old + (target as f32 - old) * a).round() as u8;
        }
    }

    /// Fills the axis-aligned box [x0, x1) × [y0, y1) in pixel units, with partial coverage at the edges.
    pub fn fill_rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, colour: [u8; 3]) {
        for py in y0.floor() as i64..y1.ceil() as i64 {
            let cy = (y1.min(py as f32 + 1.0) - y0.max(py as f32)).clamp(0.0, 1.0);
            for px in x0.floor() as i64..x1.ceil() as i64 {
                let cx = (x1.min(px as f32 + 1.0) - x0.max(px as f32)).clamp(0.0, 1.0);
                self.blend(px, py, colour, cx * cy);
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y) pixels and letters `height` pixels tall.
    pub fn text(&mut self, text: &str, x: f32, y: f32, height: f32, colour: [u8; 3]) {
        let f = font();
        let scale = PxScale::from(height * 1.3);
        let sf = f.as_scaled(scale);
        let mut caret = point(x, y + sf.ascent() - height * 0.2);
        for ch in text.chars() {
            let id = f.glyph_id(ch);
            let glyph = id.with_scale_and_position(scale, caret);
            caret.x += sf.h_advance(id);
            if let Some(outline) = f.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, cov| {
                    self.blend(b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64, colour, cov)
                });
            }
        }
    }
}

pub(crate) fn inside(o: &Object, dx: f32, dy: f32) -> bool {
    let r = o.radius();
    match o.shape {
        0 => dx * dx + dy * dy <= r * r,
        1 => dx.abs() <= 0.85 * r && dy.abs() <= 0.85 * r,
        2 => {
            // Upward triangle: apex (0, -r), base at y = 0.8 r, half-width 0.95 r.
            let t = (dy + r) / (1.8 * r);
            (0.0..=1.0).contains(&t) && dx.abs() <= 0.95 * r * t
        }
        _ => dx.abs() + dy.abs() <= r,
    }
}

fn draw_object(img: &mut Image, o: &Object) {
    const SS: usize = 3;
    let side = img.width as f32;
    let r = o.radius() * side;
    let (cx, cy) = (o.x * side, o.y * side);
    for py in (cy - r - 1.0).floor() as i64..=(cy + r + 1.0).ceil() as i64 {
        for px in (cx - r - 1.0).floor() as i64..=(cx + r + 1.0).ceil() as i64 {
            let mut hits = 0;
            for sy in 0..SS {
                for sx in 0..SS {
                    let x = (px as f32 + (sx as f32 + 0.5) / SS as f32) / side - o.x;
                    let y = (py as f32 + (sy as f32 + 0.5) / SS as f32) / side - o.y;
                    hits += inside(o, x, y) as usize;
                }
            }
            img.blend(px, py, COLOURS[o.colour].1, hits as f32 / (SS * SS) as f32);
        }
    }
}

/// The colour a one-word scene's word is drawn in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextColour {
    /// The word's own colour (one of the world's six; questions may ask for it).
    #[default]
    Scene,
    /// [`INK`], as documents and charts draw their text (the `pix2struct` expert's screenshot-like
    /// pretraining data).
    Ink,
    /// Every other scene of a pool in ink (the odd ones), the rest in their own colours.
    Mixed,
}

impl TextColour {
    /// The colour the `index`-th scene of a pool is drawn in: `Mixed` alternates.
    pub fn of_scene(self, index: usize) -> TextColour {
        match self {
            TextColour::Mixed if index % 2 == 1 => TextColour::Ink,
            TextColour::Mixed => TextColour::Scene,
            other => other,
        }
    }

    /// Whether this is the scene's own colour (the default).
    pub fn is_scene(&self) -> bool {
        *self == TextColour::Scene
    }
}

/// Renders a scene at `side` × `side` pixels.
pub fn render(scene: &Scene, side: usize) -> Image {
    render_styled(scene, side, TextColour::Scene)
}

/// Renders a scene at `side` × `side` pixels, its word (if it is a one-word scene) in `text`'s colour
/// (`Mixed` is a pool's choice per scene: here it draws the scene's own colour).
pub fn render_styled(scene: &Scene, side: usize, text: TextColour) -> Image {
    let mut img = Image::new(side, side);
    let s = side as f32;
    match scene {
        Scene::Shapes { objects } => objects.iter().for_each(|o| draw_object(&mut img, o)),
        Scene::Text { word, colour, size, x, y } => {
            let ink = match text {
                TextColour::Scene | TextColour::Mixed => COLOURS[*colour].1,
                TextColour::Ink => INK,
            };
            img.text(word, x * s, y * s, size * s, ink)
        }
        Scene::Chart { values } => {
            let n = values.len() as f32;
            let (left, right, top, base) = (0.08 * s, 0.95 * s, 0.2 * s, 0.8 * s);
            let slot = (right - left) / n;
            let text_h = 0.12 * s;
            img.fill_rect(left - 0.02 * s, base, right, base + (0.012 * s).max(1.0), INK);
            for (i, &v) in values.iter().enumerate() {
                let x0 = left + slot * i as f32 + slot * 0.2;
                let x1 = x0 + slot * 0.6;
                let h = (base - top) * v as f32 / 9.0;
                img.fill_rect(x0, base - h, x1, base, BAR);
                let cx = (x0 + x1) / 2.0 - text_h * 0.3;
                img.text(&v.to_string(), cx, base - h - text_h * 1.1, text_h, INK);
                img.text(&BAR_LABELS[i].to_string(), cx, base + 0.03 * s, text_h, INK);
            }
        }
        Scene::Document { fields } => {
            let h = 0.13 * s;
            for (i, (k, v)) in fields.iter().enumerate() {
                img.text(&format!("{}: {v}", DOC_KEYS[*k]), 0.06 * s, 0.1 * s + i as f32 * 0.28 * s, h, INK);
            }
        }
    }
    img
}
