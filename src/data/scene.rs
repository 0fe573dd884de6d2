//! Scene descriptions: vector content that renders at any resolution.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Object colours, with their RGB values.
pub const COLOURS: [(&str, [u8; 3]); 6] = [
    ("red", [220, 40, 40]),
    ("green", [40, 170, 60]),
    ("blue", [40, 80, 220]),
    ("yellow", [235, 200, 30]),
    ("purple", [140, 60, 190]),
    ("orange", [245, 130, 20]),
];

/// Object shapes.
pub const SHAPES: [&str; 4] = ["circle", "square", "triangle", "diamond"];

/// Words that text scenes show.
pub const OCR_WORDS: [&str; 16] =
    ["cat", "dog", "sun", "box", "map", "pen", "cup", "hat", "key", "bus", "owl", "fox", "egg", "ink", "jam", "net"];

/// Left margin of text scenes, as a fraction of the side.
pub const TEXT_MARGIN: f32 = 0.06;

/// Field names of document scenes.
pub const DOC_KEYS: [&str; 4] = ["id", "age", "room", "code"];

/// Bar labels of chart scenes.
pub const BAR_LABELS: [char; 4] = ['a', 'b', 'c', 'd'];

/// One coloured shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// Index into [`SHAPES`].
    pub shape: usize,
    /// Index into [`COLOURS`].
    pub colour: usize,
    /// Whether it is large (else small).
    pub large: bool,
    /// Centre, in [0, 1] image coordinates.
    pub x: f32,
    /// Centre, in [0, 1] image coordinates.
    pub y: f32,
}

impl Object {
    /// Radius as a fraction of the image side.
    pub fn radius(&self) -> f32 {
        if self.large {
            0.17
        } else {
            0.11
        }
    }
}

/// A scene, in unit coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scene {
    /// Coloured shapes on a plain background.
    Shapes {
        /// The objects, in drawing order (later ones may occlude earlier).
        objects: Vec<Object>,
    },
    /// One word in large letters.
    Text {
        /// The word (from [`OCR_WORDS`]).
        word: String,
        /// Text colour index into [`COLOURS`].
        colour: usize,
        /// Letter height as a fraction of the image side.
        size: f32,
        /// Top-left corner.
        x: f32,
        /// Top-left corner.
        y: f32,
    },
    /// A bar chart with labelled bars and their values printed on top.
    Chart {
        /// Values (1–9), one per bar, labelled a, b, c, …
        values: Vec<u32>,
    },
    /// A key: value form.
    Document {
        /// (key index into [`DOC_KEYS`], two-digit value) lines.
        fields: Vec<(usize, u32)>,
    },
}

/// Difficulty knobs of the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldConfig {
    /// Most objects in a shapes scene.
    pub max_objects: usize,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self { max_objects: 3 }
    }
}

/// A shapes scene with `n` objects placed with little overlap.
pub fn shapes_scene(rng: &mut ChaCha8Rng, n: usize) -> Scene {
    let mut objects: Vec<Object> = Vec::with_capacity(n);
    for _ in 0..n {
        let large = rng.random_bool(0.5);
        let mut obj = Object {
            shape: rng.random_range(0..SHAPES.len()),
            colour: rng.random_range(0..COLOURS.len()),
            large,
            x: 0.5,
            y: 0.5,
        };
        let r = obj.radius();
        for _attempt in 0..30 {
            obj.x = rng.random_range(r..1.0 - r);
            obj.y = rng.random_range(r..1.0 - r);
            let clear = objects.iter().all(|o| {
                let d = ((o.x - obj.x).powi(2) + (o.y - obj.y).powi(2)).sqrt();
                d > 0.8 * (o.radius() + r)
            });
            if clear {
                break;
            }
        }
        objects.push(obj);
    }
    Scene::Shapes { objects }
}

/// A text scene showing one word.
pub fn text_scene(rng: &mut ChaCha8Rng) -> Scene {
    let word = OCR_WORDS[rng.random_range(0..OCR_WORDS.len())].to_string();
    // Letter heights from 6% to 30% of the side, log-uniform: small words need resolution to be read.
    // Words start at the left margin, like a line of text (a random horizontal position on top of a
    // random size keeps a proxy-sized ViT at chance for thousands of steps); the line is anywhere.
    let size = (rng.random_range(0.06f32.ln()..0.30f32.ln())).exp();
    Scene::Text {
        word,
        colour: rng.random_range(0..COLOURS.len()),
        size,
        x: TEXT_MARGIN,
        y: rng.random_range(0.02..(0.98 - size)),
    }
}

/// A bar chart of 3 or 4 bars.
pub fn chart_scene(rng: &mut ChaCha8Rng) -> Scene {
    let n = rng.random_range(3..=4);
    Scene::Chart { values: (0..n).map(|_| rng.random_range(1..=9)).collect() }
}

/// A form of 2 or 3 distinct fields.
pub fn document_scene(rng: &mut ChaCha8Rng) -> Scene {
    let n = rng.random_range(2..=3);
    let mut keys: Vec<usize> = (0..DOC_KEYS.len()).collect();
    for i in 0..n {
        let j = rng.random_range(i..keys.len());
        keys.swap(i, j);
    }
    Scene::Document { fields: keys[..n].iter().map(|&k| (k, rng.random_range(10..100))).collect() }
}
