//! Bilinear sampling of a feature map at arbitrary (learned) points, zero outside the map.
//!
//! Written with gathers rather than `grid_sample_2d` so that gradients reach both the map and the
//! points (through the interpolation weights), on every backend.

use burn::prelude::*;
use burn::tensor::Int;

/// Samples `map` at `points` given in pixel coordinates (x, y), where pixel (i, j)'s centre is at
/// x = j, y = i; corners outside the map contribute zero.
///
/// # Shapes
/// - `map`: `[batch, c, h, w]`, `points`: `[batch, n, 2]` → `[batch, n, c]`
pub fn bilinear_sample<B: Backend>(map: Tensor<B, 4>, points: Tensor<B, 3>) -> Tensor<B, 3> {
    let [b, c, h, w] = map.dims();
    let n = points.dims()[1];
    let flat = map.reshape([b, c, h * w]);
    let x = points.clone().slice([0..b, 0..n, 0..1]).reshape([b, n]);
    let y = points.slice([0..b, 0..n, 1..2]).reshape([b, n]);
    let x0 = x.clone().floor().detach();
    let y0 = y.clone().floor().detach();
    let (fx, fy) = (x - x0.clone(), y - y0.clone());
    let mut out: Option<Tensor<B, 3>> = None;
    for (dy, dx) in [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)] {
        let cx = x0.clone() + dx;
        let cy = y0.clone() + dy;
        let wx = if dx == 0.0 { fx.clone().neg() + 1.0 } else { fx.clone() };
        let wy = if dy == 0.0 { fy.clone().neg() + 1.0 } else { fy.clone() };
        let inside = cx.clone().greater_equal_elem(0.0).float()
            * cx.clone().lower_equal_elem((w - 1) as f32).float()
            * cy.clone().greater_equal_elem(0.0).float()
            * cy.clone().lower_equal_elem((h - 1) as f32).float();
        let index: Tensor<B, 2, Int> = (cy.clamp(0.0, (h - 1) as f32) * w as f32 + cx.clamp(0.0, (w - 1) as f32)).int();
        let index = index.reshape([b, 1, n]).repeat_dim(1, c);
        let values = flat.clone().gather(2, index);
        let weight = (wx * wy * inside).reshape([b, 1, n]);
        let term = values * weight;
        out = Some(match out {
            None => term,
            Some(acc) => acc + term,
        });
    }
    out.expect("four corners").swap_dims(1, 2)
}

/// Pixel coordinates on an `h × w` map of the centres of a `g_h × g_w` query grid laid over the
/// same image (align-corners false: both grids cover the whole image).
///
/// # Shapes
/// - returns `[g_h · g_w, 2]` (x, y), row-major over the query grid
pub fn reference_points<B: Backend>(g_h: usize, g_w: usize, h: usize, w: usize, device: &B::Device) -> Tensor<B, 2> {
    let mut v = Vec::with_capacity(g_h * g_w * 2);
    for i in 0..g_h {
        for j in 0..g_w {
            v.push((j as f32 + 0.5) / g_w as f32 * w as f32 - 0.5);
            v.push((i as f32 + 0.5) / g_h as f32 * h as f32 - 0.5);
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(v, [g_h * g_w, 2]), device)
}
