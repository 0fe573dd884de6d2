//! GELU (the exact erf form), fast on the CPU backends.
//!
//! `flex` evaluates GELU with a scalar `libm::erff` on one thread, forward and again in backward:
//! 26 ns per element, about a third of a proxy training step. On the CPU backends this computes
//! GELU and its derivative in one pass over the values, split across threads, with the
//! Abramowitz–Stegun 7.1.26 erf (absolute error below 1.5e-7, the formula `flex` itself used before
//! 0.21), and hands autodiff the exact local derivative: `y = x·d + (g − x·d)` where `g = gelu(x)`
//! and `d = gelu'(x)` are constants, so `∂y/∂x = d` and `y = g` up to one rounding. GPU backends keep
//! burn's own (fused) GELU.

use burn::prelude::*;
use burn::tensor::TensorData;
use std::any::TypeId;

/// `x · Φ(x)`, element-wise.
///
/// # Shapes
/// - `x`: any shape → the same shape
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let Some(tracked) = host_kind::<B>() else {
        return burn::tensor::activation::gelu(x);
    };
    let device = x.device();
    let shape = x.shape();
    let data = x.to_data();
    let Ok(values) = data.as_slice::<f32>() else {
        return burn::tensor::activation::gelu(x);
    };
    if !tracked {
        let mut out = vec![0.0f32; values.len()];
        parallel_chunks(values, &mut out, None);
        return Tensor::from_data(TensorData::new(out, shape), &device);
    }
    let mut slope = vec![0.0f32; values.len()];
    let mut offset = vec![0.0f32; values.len()];
    parallel_chunks(values, &mut offset, Some(&mut slope));
    let slope = Tensor::<B, D>::from_data(TensorData::new(slope, shape.clone()), &device);
    let offset = Tensor::<B, D>::from_data(TensorData::new(offset, shape), &device);
    x * slope + offset
}

/// `Some(autodiff?)` when `B` is a CPU backend whose values live in host memory.
fn host_kind<B: Backend>() -> Option<bool> {
    let id = TypeId::of::<B>();
    #[cfg(feature = "flex")]
    {
        if id == TypeId::of::<burn::backend::Flex>() {
            return Some(false);
        }
        if id == TypeId::of::<burn::backend::Autodiff<burn::backend::Flex>>() {
            return Some(true);
        }
    }
    #[cfg(feature = "ndarray")]
    {
        if id == TypeId::of::<burn::backend::NdArray>() {
            return Some(false);
        }
        if id == TypeId::of::<burn::backend::Autodiff<burn::backend::NdArray>>() {
            return Some(true);
        }
    }
    let _ = id;
    None
}

/// Fills `out` with `gelu(x)` — or, when `slope` is given, `slope` with `gelu'(x)` and `out` with
/// `gelu(x) − x·gelu'(x)` — over the threads of the pool, in chunks.
fn parallel_chunks(values: &[f32], out: &mut [f32], slope: Option<&mut [f32]>) {
    use rayon::prelude::*;
    const CHUNK: usize = 16 * 1024;
    match slope {
        None => out.par_chunks_mut(CHUNK).zip(values.par_chunks(CHUNK)).for_each(|(o, v)| {
            for (o, &x) in o.iter_mut().zip(v) {
                *o = gelu_and_slope(x).0;
            }
        }),
        Some(slope) => out.par_chunks_mut(CHUNK).zip(slope.par_chunks_mut(CHUNK)).zip(values.par_chunks(CHUNK)).for_each(|((o, s), v)| {
            for ((o, s), &x) in o.iter_mut().zip(s.iter_mut()).zip(v) {
                let (g, d) = gelu_and_slope(x);
                *s = d;
                *o = g - x * d;
            }
        }),
    }
}

/// `(gelu(x), gelu'(x))` with `Φ(x) = ½(1 + erf(x/√2))` and `gelu' = Φ(x) + x·φ(x)`; erf by
/// Abramowitz–Stegun 7.1.26, whose `exp(−z²)` is `exp(−x²/2)`, the same exponential as `φ`.
#[inline]
pub(crate) fn gelu_and_slope(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152_1, 1.061_405_4];
    const INV_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let z = x.abs() * INV_SQRT_2;
    let t = 1.0 / (1.0 + P * z);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let e = (-0.5 * x * x).exp();
    let erf_abs = 1.0 - poly * e;
    let erf = if x < 0.0 { -erf_abs } else { erf_abs };
    let cdf = 0.5 * (1.0 + erf);
    (x * cdf, cdf + x * INV_SQRT_2PI * e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

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

    #[test]
    fn values_and_gradients_match_burns_gelu() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let x0 = Tensor::<A, 3>::random([3, 70, 90], Distribution::Normal(0.0, 2.0), &dev);
        let weights = Tensor::<A, 3>::random([3, 70, 90], Distribution::Normal(0.0, 1.0), &dev);
        let run = |f: &dyn Fn(Tensor<A, 3>) -> Tensor<A, 3>| {
            let x = x0.clone().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * weights.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("x has a gradient"))
        };
        let (y_fast, g_fast) = run(&|x| gelu(x));
        let (y_burn, g_burn) = run(&|x| burn::tensor::activation::gelu(x));
        assert_eq!(y_fast.dims(), [3, 70, 90]);
        let dy = (y_fast - y_burn).abs().max().into_scalar();
        let dg = (g_fast - g_burn).abs().max().into_scalar();
        assert!(dy < 5e-6, "values differ by {dy}");
        assert!(dg < 5e-6, "gradients differ by {dg}");
        let plain = gelu(Tensor::<Flex, 3>::from_data(x0.to_data(), &dev));
        let d_plain = (plain - burn::tensor::activation::gelu(x0.inner())).abs().max().into_scalar();
        assert!(d_plain < 5e-6, "untracked values differ by {d_plain}");
    }
}
