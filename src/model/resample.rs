//! Resampling feature maps and position grids with fixed interpolation matrices (differentiable matmuls).

use crate::model::ops::layout::batched_transpose;
use burn::prelude::*;

/// How a grid is resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResampleMode {
    /// Bilinear with aligned corners (Eagle's channel concat); exact average pooling when shrinking by an
    /// integer factor.
    Bilinear,
    /// Bicubic (a = -0.75, half-pixel centres), as ViTs interpolate position embeddings.
    Bicubic,
}

/// The `(n_out, n_in)` row-major matrix that resamples a 1-D signal of `n_in` samples to `n_out`.
pub fn weights(n_in: usize, n_out: usize, mode: ResampleMode) -> Vec<f32> {
    let mut w = vec![0f32; n_out * n_in];
    if n_in == n_out {
        (0..n_in).for_each(|i| w[i * n_in + i] = 1.0);
        return w;
    }
    match mode {
        ResampleMode::Bilinear if n_in > n_out && n_in.is_multiple_of(n_out) => {
            let k = n_in / n_out;
            for o in 0..n_out {
                for j in 0..k {
                    w[o * n_in + o * k + j] = 1.0 / k as f32;
                }
            }
        }
        ResampleMode::Bilinear => {
            for o in 0..n_out {
                let x = if n_out == 1 { 0.0 } else { o as f32 * (n_in - 1) as f32 / (n_out - 1) as f32 };
                let i0 = (x.floor() as usize).min(n_in - 1);
                let i1 = (i0 + 1).min(n_in - 1);
                let t = x - i0 as f32;
                w[o * n_in + i0] += 1.0 - t;
                w[o * n_in + i1] += t;
            }
        }
        ResampleMode::Bicubic => {
            let a = -0.75f32;
            let cubic = |x: f32| {
                let x = x.abs();
                if x <= 1.0 {
                    ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
                } else {
                    0.0
                }
            };
            let scale = n_in as f32 / n_out as f32;
            for o in 0..n_out {
                let x = (o as f32 + 0.5) * scale - 0.5;
                let base = x.floor() as i64;
                for k in -1..=2i64 {
                    let idx = (base + k).clamp(0, n_in as i64 - 1) as usize;
                    w[o * n_in + idx] += cubic(x - (base + k) as f32);
                }
            }
        }
    }
    w
}

/// Resamples a map to `(h_out, w_out)`.
///
/// # Shapes
/// - `x`: `[batch, channels, h_in, w_in]` → `[batch, channels, h_out, w_out]`
pub fn resample<B: Backend>(x: Tensor<B, 4>, h_out: usize, w_out: usize, mode: ResampleMode) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    if h == h_out && w == w_out {
        return x;
    }
    let device = x.device();
    let ww: Tensor<B, 2> = Tensor::<B, 1>::from_floats(weights(w, w_out, mode).as_slice(), &device).reshape([w_out, w]);
    let wh: Tensor<B, 2> = Tensor::<B, 1>::from_floats(weights(h, h_out, mode).as_slice(), &device).reshape([h_out, h]);
    let x = x.reshape([b * c * h, w]).matmul(ww.transpose()); // [bch, w_out]
    let x = batched_transpose(x.reshape([b * c, h, w_out, 1])).reshape([b * c * w_out, h]);
    let x = x.matmul(wh.transpose()); // [bc w_out, h_out]
    batched_transpose(x.reshape([b * c, w_out, h_out, 1])).reshape([b, c, h_out, w_out])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_align_corners_matches_hand_computed() {
        // 3 → 5 with aligned corners samples at 0, 0.5, 1, 1.5, 2.
        let w = weights(3, 5, ResampleMode::Bilinear);
        let signal = [1.0f32, 3.0, 7.0];
        let out: Vec<f32> = (0..5).map(|o| (0..3).map(|i| w[o * 3 + i] * signal[i]).sum()).collect();
        assert_eq!(out, vec![1.0, 2.0, 3.0, 5.0, 7.0]);
    }

    #[test]
    fn integer_shrink_is_average_pooling() {
        let w = weights(4, 2, ResampleMode::Bilinear);
        assert_eq!(w, vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]);
    }

    #[test]
    fn bicubic_rows_sum_to_one_and_keep_constants() {
        for (i, o) in [(4, 6), (8, 12), (8, 4), (5, 16)] {
            let w = weights(i, o, ResampleMode::Bicubic);
            for r in 0..o {
                let s: f32 = w[r * i..(r + 1) * i].iter().sum();
                assert!((s - 1.0).abs() < 1e-5, "row {r} of {i}->{o} sums to {s}");
            }
        }
    }
}
