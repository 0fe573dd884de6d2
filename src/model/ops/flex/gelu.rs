//! GELU (the exact erf form) and its derivative in one threaded, vectorised pass on `flex`.
//!
//! `flex` evaluates GELU with a scalar `libm::erff` on one thread, forward and again in backward:
//! 26 ns per element, about a third of a proxy training step. Here GELU and its derivative come from
//! one pass over the values, split across threads — the Abramowitz–Stegun 7.1.26 erf (absolute error
//! below 1.5e-7, the formula `flex` itself used before 0.21), whose `exp(−x²/2)` is also φ's, by a
//! branch-free polynomial exponential — as one tracked op whose backward is `∂y·gelu'(x)` from the
//! stored derivative.

use super::{from_autodiff, from_flex, from_host, on_autodiff, on_flex, to_host};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::ops::FloatTensor;
use rayon::prelude::*;
use std::sync::Arc;

/// Values per parallel work item.
const CHUNK: usize = 16 * 1024;

/// `Ok(gelu(x))` when `B` is `Flex` or `Autodiff<Flex>` (f32), else `Err(x)` untouched.
pub(crate) fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Result<Tensor<B, D>, Tensor<B, D>> {
    let x = match on_flex(x) {
        Ok(x) => return Ok(from_flex(forward(x.into_primitive().tensor(), false).0)),
        Err(x) => x,
    };
    let x = on_autodiff(x)?.into_primitive().tensor();
    let out = match GeluBackward.prepare::<NoCheckpointing>([x.node.clone()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (y, slope) = forward(x.primitive, true);
            prep.finish(Arc::new(slope), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive, false).0),
    };
    Ok(from_autodiff(out))
}

/// `gelu(x)`, and `gelu'(x)` when `with_slope` (else empty), computed on the host.
fn forward(x: FloatTensor<Flex>, with_slope: bool) -> (FloatTensor<Flex>, Vec<f32>) {
    let dims = super::dims(&x);
    let values = to_host(x);
    let mut y = vec![0.0f32; values.len()];
    let mut slope = vec![0.0f32; if with_slope { values.len() } else { 0 }];
    if with_slope {
        y.par_chunks_mut(CHUNK).zip(slope.par_chunks_mut(CHUNK)).zip(values.par_chunks(CHUNK)).for_each(
            |((y, s), v)| {
                for ((y, s), &v) in y.iter_mut().zip(s.iter_mut()).zip(v) {
                    (*y, *s) = gelu_and_slope(v);
                }
            },
        );
    } else {
        y.par_chunks_mut(CHUNK).zip(values.par_chunks(CHUNK)).for_each(|(y, v)| {
            for (y, &v) in y.iter_mut().zip(v) {
                *y = gelu_and_slope(v).0;
            }
        });
    }
    (from_host(y, dims), slope)
}

/// The backward step; its state is `gelu'(x)`.
#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    type State = Arc<Vec<f32>>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node else { return };
        let dims = super::dims(&grad);
        let g = to_host(grad);
        let mut dx = vec![0.0f32; g.len()];
        dx.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)).zip(ops.state.par_chunks(CHUNK)).for_each(|((o, g), d)| {
            o.iter_mut().zip(g).zip(d).for_each(|((o, g), d)| *o = g * d);
        });
        grads.register::<Flex>(node.id, from_host(dx, dims));
    }
}

/// `(gelu(x), gelu'(x))` with `Φ(x) = ½(1 + erf(x/√2))` and `gelu' = Φ(x) + x·φ(x)`; erf by
/// Abramowitz–Stegun 7.1.26, whose `exp(−z²)` is `exp(−x²/2)`, the same exponential as `φ`.
/// Branch-free, so that loops over it vectorise.
#[inline]
pub(crate) fn gelu_and_slope(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152_1, 1.061_405_4];
    const INV_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let z = x.abs() * INV_SQRT_2;
    let t = 1.0 / (1.0 + P * z);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let e = exp_neg_half_square(x);
    let erf_abs = 1.0 - poly * e;
    let erf = erf_abs.copysign(x);
    let cdf = 0.5 * (1.0 + erf);
    (x * cdf, cdf + x * INV_SQRT_2PI * e)
}

/// `exp(−x²/2)` to about 2e-7 relative: `2^(−t)`, `t = x²/2·log₂e`, split as `2^(−n)·2^(n−t)` with
/// `n` the nearest integer (exponent bits) and a degree-6 polynomial for `2^f`, `|f| ≤ ½`.
#[inline]
pub(crate) fn exp_neg_half_square(x: f32) -> f32 {
    // Adding 1.5·2²³ rounds t to the nearest integer, which then sits in the low mantissa bits: no
    // float-to-int conversion, so the loop vectorises.
    const ROUND: f32 = 12_582_912.0;
    let t = (0.5 * std::f32::consts::LOG2_E * x * x).min(126.0);
    let shifted = t + ROUND;
    let n = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let y = ((shifted - ROUND) - t) * std::f32::consts::LN_2;
    let p = 1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0))))));
    p * f32::from_bits((127 - n) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_exponential_matches_std() {
        let worst = (0..=20000)
            .map(|i| i as f32 * 1e-3)
            .map(|x| {
                // The exponential of the argument as f32 rounds it (what `f32::exp` would get).
                let exact = ((-0.5 * std::f32::consts::LOG2_E * x * x) as f64 * std::f64::consts::LN_2).exp();
                ((exp_neg_half_square(x) as f64 - exact) / exact.max(1e-30)).abs()
            })
            .filter(|r| r.is_finite())
            .fold(0.0f64, f64::max);
        assert!(worst < 1e-6, "worst relative error {worst}");
    }

    #[test]
    fn the_fast_erf_matches_libm_to_f32_precision() {
        let worst = (-6000..=6000)
            .map(|i| i as f32 * 1e-3)
            .map(|x| {
                let exact = 0.5 * x as f64 * (1.0 + libm::erf(x as f64 / std::f64::consts::SQRT_2));
                (gelu_and_slope(x).0 as f64 - exact).abs()
            })
            .fold(0.0f64, f64::max);
        assert!(worst < 1e-6, "worst absolute error {worst}");
    }
}
