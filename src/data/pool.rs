//! In-memory pools of samples with their images pre-rendered at the resolutions a stage needs.

use super::render::{render_styled, TextColour};
use super::rng::Split;
use super::tasks::{mixture_sample, Sample};
use super::tokenizer::Tokenizer;
use crate::spec::Family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The mean every channel of `[0, 1]` pixels is shifted by before the experts see them.
pub const PIXEL_MEAN: f32 = 0.5;
/// The scale every channel of `[0, 1]` pixels is divided by (after the shift) before the experts see them.
pub const PIXEL_STD: f32 = 0.25;

/// What data a stage draws: part of every stage's content id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSpec {
    /// World seed (the same world for every cell of an experiment).
    pub seed: u64,
    /// The uniform mixture of families.
    pub families: Vec<Family>,
    /// Most objects per shapes scene.
    pub max_objects: usize,
    /// The colour one-word scenes are drawn in (absent from ids when it is the scene's own colour).
    #[serde(default, skip_serializing_if = "TextColour::is_scene")]
    pub text: TextColour,
}

impl DataSpec {
    /// Scenes of `families` from world `seed`, words in their own colours.
    pub fn new(seed: u64, families: Vec<Family>, max_objects: usize) -> Self {
        Self { seed, families, max_objects, text: TextColour::Scene }
    }
}

/// Samples of one split and their images at each resolution.
pub struct Pool {
    /// The samples, in stream order.
    pub samples: Vec<Sample>,
    /// Rendered RGB bytes per resolution: `samples.len() * side * side * 3`.
    pub images: BTreeMap<usize, Vec<u8>>,
}

impl Pool {
    /// Generates `n` samples of `spec` from `split` (starting at `offset`) and renders them at `sides`.
    pub fn build(spec: &DataSpec, split: Split, offset: u64, n: usize, sides: &[usize]) -> Self {
        let t = Tokenizer::new();
        let samples: Vec<Sample> = (0..n as u64)
            .map(|i| mixture_sample(&t, spec.seed, split, &spec.families, offset + i, spec.max_objects))
            .collect();
        let mut images = BTreeMap::new();
        for &side in sides {
            images.entry(side).or_insert_with(|| render_all(&samples, side, spec.text));
        }
        Self { samples, images }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Normalised images of `indices` at `side`: flat `[B, 3, side, side]` values.
    pub fn images_chw(&self, indices: &[usize], side: usize) -> Vec<f32> {
        let src = self.images.get(&side).unwrap_or_else(|| panic!("pool has no images at {side}px"));
        let px = side * side;
        let mut out = vec![0f32; indices.len() * 3 * px];
        for (b, &i) in indices.iter().enumerate() {
            let img = &src[i * px * 3..(i + 1) * px * 3];
            for p in 0..px {
                for c in 0..3 {
                    out[b * 3 * px + c * px + p] = (img[p * 3 + c] as f32 / 255.0 - PIXEL_MEAN) / PIXEL_STD;
                }
            }
        }
        out
    }
}

fn render_all(samples: &[Sample], side: usize, text: TextColour) -> Vec<u8> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let chunk = samples.len().div_ceil(threads).max(1);
    let parts: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = samples
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                s.spawn(move || {
                    let styled =
                        |(i, smp): (usize, &Sample)| render_styled(&smp.scene, side, text.of_scene(k * chunk + i));
                    part.iter().enumerate().flat_map(|x| styled(x).pixels).collect::<Vec<u8>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("render thread")).collect()
    });
    parts.concat()
}
