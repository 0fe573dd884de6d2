//! Dense targets of the experts' own pretraining tasks, derived from a scene and its rendering:
//! segmentation classes per cell, detection boxes, and the text to read.

use super::render::{inside, Image, BACKGROUND, BAR};
use super::scene::{Scene, DOC_KEYS};

/// Segmentation classes: background, the four shapes, text, chart bars.
pub const SEG_CLASSES: usize = 7;
/// Class of text pixels (words, digits, axes).
pub const SEG_TEXT: u8 = 5;
/// Class of chart bars.
pub const SEG_BAR: u8 = 6;
/// Detection classes (the four shapes).
pub const DET_CLASSES: usize = 4;
/// Characters the reading task emits after the end-of-text class 0.
pub const READ_CHARS: &str = " :0123456789abcdefghijklmnopqrstuvwxyz";
/// Characters read out per image (longer text is cut).
pub const READ_LEN: usize = 12;

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    (0..3).all(|c| (a[c] as i32 - b[c] as i32).abs() <= tol)
}

fn pixel_class(scene: &Scene, img: &Image, x: usize, y: usize) -> u8 {
    let i = (y * img.width + x) * 3;
    let px = [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]];
    if close(px, BACKGROUND, 24) {
        return 0;
    }
    let side = img.width as f32;
    match scene {
        Scene::Shapes { objects } => {
            let (u, v) = ((x as f32 + 0.5) / side, (y as f32 + 0.5) / side);
            // Later objects are drawn on top.
            objects.iter().rev().find(|o| inside(o, u - o.x, v - o.y)).map(|o| 1 + o.shape as u8).unwrap_or(0)
        }
        Scene::Chart { .. } if close(px, BAR, 40) => SEG_BAR,
        _ => SEG_TEXT,
    }
}

/// Class of each cell of a `cells × cells` grid over `img`: the most frequent non-background class
/// if it covers at least a quarter of the cell, else background.
pub fn segmentation(scene: &Scene, img: &Image, cells: usize) -> Vec<u8> {
    let step = img.width / cells;
    assert!(step > 0 && img.width.is_multiple_of(cells), "label grid {cells} must divide the image side {}", img.width);
    let mut out = vec![0u8; cells * cells];
    for cy in 0..cells {
        for cx in 0..cells {
            let mut counts = [0usize; SEG_CLASSES];
            for y in cy * step..(cy + 1) * step {
                for x in cx * step..(cx + 1) * step {
                    counts[pixel_class(scene, img, x, y) as usize] += 1;
                }
            }
            let (best, n) = counts.iter().enumerate().skip(1).max_by_key(|(_, n)| **n).unwrap();
            if *n * 4 >= step * step {
                out[cy * cells + cx] = best as u8;
            }
        }
    }
    out
}

/// One object to detect, in unit image coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxTarget {
    /// Shape class.
    pub class: usize,
    /// Centre.
    pub x: f32,
    /// Centre.
    pub y: f32,
    /// Half side of the square box.
    pub half: f32,
}

/// The objects of a scene as boxes (empty for scenes without shapes).
pub fn boxes(scene: &Scene) -> Vec<BoxTarget> {
    match scene {
        Scene::Shapes { objects } => {
            objects.iter().map(|o| BoxTarget { class: o.shape, x: o.x, y: o.y, half: o.radius() }).collect()
        }
        _ => vec![],
    }
}

/// Intersection over union of two square boxes.
pub fn box_iou(a: &BoxTarget, b: &BoxTarget) -> f32 {
    let overlap = |c1: f32, h1: f32, c2: f32, h2: f32| ((c1 + h1).min(c2 + h2) - (c1 - h1).max(c2 - h2)).max(0.0);
    let inter = overlap(a.x, a.half, b.x, b.half) * overlap(a.y, a.half, b.y, b.half);
    let union = 4.0 * a.half * a.half + 4.0 * b.half * b.half - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// The text an image shows, in reading order (empty for scenes without text).
pub fn text_of(scene: &Scene) -> String {
    match scene {
        Scene::Shapes { .. } => String::new(),
        Scene::Text { word, .. } => word.clone(),
        Scene::Chart { values } => values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" "),
        Scene::Document { fields } => {
            fields.iter().map(|(k, v)| format!("{}:{v}", DOC_KEYS[*k])).collect::<Vec<_>>().join(" ")
        }
    }
}

/// Reading targets: class per position (0 = end of text, then 1 + index in [`READ_CHARS`]), cut to [`READ_LEN`].
pub fn reading_target(scene: &Scene) -> [u8; READ_LEN] {
    let mut out = [0u8; READ_LEN];
    for (slot, ch) in out.iter_mut().zip(text_of(scene).chars()) {
        *slot = 1 + READ_CHARS.find(ch).unwrap_or_else(|| panic!("`{ch}` is not a reading character")) as u8;
    }
    out
}
