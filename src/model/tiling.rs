//! Tiling (LLaVA-NeXT style): an image above an expert's native resolution is padded to a whole
//! number of native tiles, each tile and a thumbnail of the whole image are encoded at the native
//! resolution, and the tile maps are stitched back into one map.

use super::resample::{resample, ResampleMode};
use crate::data::render::BACKGROUND;
use burn::prelude::*;

/// Tiles per side for an image of side `res` and an expert of native side `native` (1: no tiling).
pub fn tiles_per_side(res: usize, native: usize) -> usize {
    res.div_ceil(native).max(1)
}

/// The background colour after the pool's normalisation, per channel.
fn background_value(c: usize) -> f32 {
    (BACKGROUND[c] as f32 / 255.0 - crate::data::pool::PIXEL_MEAN) / crate::data::pool::PIXEL_STD
}

/// Pads images to `k·native` with the background colour (right and bottom) and cuts them into
/// `k × k` tiles, row-major per image.
///
/// # Shapes
/// - `x`: `[b, 3, res, res]` → `[b·k², 3, native, native]`
pub fn tile<B: Backend>(x: Tensor<B, 4>, native: usize, k: usize) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    let side = k * native;
    let device = x.device();
    let canvas = |hh: usize, ww: usize| {
        let planes: Vec<Tensor<B, 4>> =
            (0..c).map(|ch| Tensor::full([b, 1, hh, ww], background_value(ch), &device)).collect();
        Tensor::cat(planes, 1)
    };
    let mut x = x;
    if side > w {
        x = Tensor::cat(vec![x, canvas(h, side - w)], 3);
    }
    if side > h {
        x = Tensor::cat(vec![x, canvas(side - h, side)], 2);
    }
    x.reshape([b, c, k, native, k, native]).permute([0, 2, 4, 1, 3, 5]).reshape([b * k * k, c, native, native])
}

/// Stitches per-tile maps back into one map per image (the inverse layout of [`tile`]).
///
/// # Shapes
/// - `maps`: `[b·k², c, g, g]` → `[b, c, k·g, k·g]`
pub fn stitch<B: Backend>(maps: Tensor<B, 4>, b: usize, k: usize) -> Tensor<B, 4> {
    let [_, c, g, _] = maps.dims();
    maps.reshape([b, k, k, c, g, g]).permute([0, 3, 1, 4, 2, 5]).reshape([b, c, k * g, k * g])
}

/// The whole image shrunk to the native side.
///
/// # Shapes
/// - `x`: `[b, 3, res, res]` → `[b, 3, native, native]`
pub fn thumbnail<B: Backend>(x: Tensor<B, 4>, native: usize) -> Tensor<B, 4> {
    resample(x, native, native, ResampleMode::Bilinear)
}
