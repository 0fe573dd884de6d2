//! LayerNorm with a fused backward on `flex`.
//!
//! `flex` has a fused, threaded LayerNorm forward, but `Autodiff` does not override burn's
//! `layer_norm`, so under autodiff the norm runs as eight tracked element-wise ops (mean, subtract,
//! square, mean, add, sqrt, divide, scale, shift), single-threaded, and as many again backward:
//! 13 ms on ConvNeXt's `[32, 16, 16, 48]`. On `Autodiff<Flex>` this runs the module's own fused
//! forward on the inner backend and computes the backward in one threaded pass over the rows:
//! `x̂ = (x − μ)·r`, `∂x = r·(g − mean(g) − x̂·mean(g·x̂))` with `g = ∂y·γ`, `∂γ = Σ ∂y·x̂`, `∂β = Σ ∂y`.
//! Other backends use burn's LayerNorm unchanged.

use burn::nn::LayerNorm;
use burn::prelude::*;

/// burn's default LayerNorm epsilon, which every LayerNorm in Eyrie uses (the fused backward
/// recomputes the rows' statistics with it; the forward is the module's own).
pub const EPSILON: f32 = 1e-5;

/// `norm` applied over the last dimension of `x`.
///
/// # Shapes
/// - `x`: `[..., d]` → `[..., d]`
pub fn layer_norm<B: Backend, const D: usize>(norm: &LayerNorm<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    let x = match flex::layer_norm(norm, x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    norm.forward(x)
}

/// The `Autodiff<Flex>` path.
#[cfg(feature = "flex")]
mod flex {
    use super::EPSILON;
    use crate::model::specialize::{cast, same};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::{Autodiff, Flex};
    use burn::module::AutodiffModule;
    use burn::nn::LayerNorm;
    use burn::prelude::*;
    use burn::tensor::ops::FloatTensor;
    use burn::tensor::{TensorData, TensorMetadata, TensorPrimitive};
    use rayon::prelude::*;

    type A = Autodiff<Flex>;

    /// `Ok(norm(x))` when `B` is `Autodiff<Flex>` (f32) and the norm has a bias, else `Err(x)` untouched.
    pub(super) fn layer_norm<B: Backend, const D: usize>(
        norm: &LayerNorm<B>,
        x: Tensor<B, D>,
    ) -> Result<Tensor<B, D>, Tensor<B, D>> {
        if norm.beta.is_none() || x.dtype() != burn::tensor::DType::F32 {
            return Err(x);
        }
        let x = cast::<Tensor<B, D>, Tensor<A, D>>(x)?;
        // `val()` first: it initialises lazily created parameters in place, so the clone below
        // shares their values (a clone of an uninitialised parameter would initialise its own).
        let gamma = same::<Tensor<B, 1>, Tensor<A, 1>>(norm.gamma.val());
        let beta = norm.beta.as_ref().expect("checked above").val();
        let beta = same::<Tensor<B, 1>, Tensor<A, 1>>(beta);
        let norm = same::<LayerNorm<B>, LayerNorm<A>>(norm.clone());
        let (gamma, beta) = (gamma.into_primitive().tensor(), beta.into_primitive().tensor());
        let x = x.into_primitive().tensor();
        let inner = norm.valid();
        let forward = |x: FloatTensor<Flex>| {
            inner.forward(Tensor::<Flex, D>::from_primitive(TensorPrimitive::Float(x))).into_primitive().tensor()
        };
        let out = match NormBackward
            .prepare::<NoCheckpointing>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = forward(x.primitive.clone());
                prep.finish((x.primitive, gamma.primitive), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive)),
        };
        Ok(same(Tensor::<A, D>::from_primitive(TensorPrimitive::Float(out))))
    }

    /// The backward step; its state is the input and γ.
    #[derive(Debug)]
    struct NormBackward;

    impl Backward<Flex, 3> for NormBackward {
        type State = (FloatTensor<Flex>, FloatTensor<Flex>);

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let [node_x, node_gamma, node_beta] = ops.parents;
            let grad = grads.consume::<Flex>(&ops.node);
            let (x, gamma) = ops.state;
            let shape = x.shape();
            let dims: Vec<usize> = shape.iter().copied().collect();
            let d = *dims.last().expect("a LayerNorm input has a last dimension");
            let host = |t: FloatTensor<Flex>| Tensor::<Flex, 1>::from_primitive(TensorPrimitive::Float(t)).into_data();
            let (x, dy, gamma) = (host(x), host(grad), host(gamma));
            let (x, dy, gamma) = (
                x.as_slice::<f32>().expect("f32"),
                dy.as_slice::<f32>().expect("f32"),
                gamma.as_slice::<f32>().expect("f32"),
            );
            let (dx, dgamma, dbeta) = rows_backward(x, dy, gamma, d, node_x.is_some());
            let device = Default::default();
            let tensor = |v: Vec<f32>, dims: Vec<usize>| Flex::float_from_data(TensorData::new(v, dims), &device);
            if let Some(node) = node_gamma {
                grads.register::<Flex>(node.id, tensor(dgamma, vec![d]));
            }
            if let Some(node) = node_beta {
                grads.register::<Flex>(node.id, tensor(dbeta, vec![d]));
            }
            if let (Some(node), Some(dx)) = (node_x, dx) {
                grads.register::<Flex>(node.id, tensor(dx, dims));
            }
        }
    }

    use burn::tensor::ops::FloatTensorOps;

    /// `(∂x if wanted, ∂γ, ∂β)` for rows of width `d`, in parallel over blocks of rows.
    pub(super) fn rows_backward(
        x: &[f32],
        dy: &[f32],
        gamma: &[f32],
        d: usize,
        want_dx: bool,
    ) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
        const ROWS: usize = 64;
        let block = ROWS * d;
        let mut dx = vec![0.0f32; if want_dx { x.len() } else { 0 }];
        let work = |(xs, gs): (&[f32], &[f32]), mut out: Option<&mut [f32]>| {
            let mut dgamma = vec![0.0f32; d];
            let mut dbeta = vec![0.0f32; d];
            let mut xhat = vec![0.0f32; d];
            for (r, (xr, gr)) in xs.chunks_exact(d).zip(gs.chunks_exact(d)).enumerate() {
                let mean = xr.iter().sum::<f32>() / d as f32;
                let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
                let rstd = 1.0 / (var + EPSILON).sqrt();
                let (mut a, mut b) = (0.0f32, 0.0f32);
                for i in 0..d {
                    xhat[i] = (xr[i] - mean) * rstd;
                    let g = gr[i] * gamma[i];
                    a += g;
                    b += g * xhat[i];
                    dgamma[i] += gr[i] * xhat[i];
                    dbeta[i] += gr[i];
                }
                if let Some(out) = out.as_deref_mut() {
                    let (a, b) = (a / d as f32, b / d as f32);
                    for (i, o) in out[r * d..(r + 1) * d].iter_mut().enumerate() {
                        *o = rstd * (gr[i] * gamma[i] - a - xhat[i] * b);
                    }
                }
            }
            (dgamma, dbeta)
        };
        let add = |(mut g1, mut b1): (Vec<f32>, Vec<f32>), (g2, b2): (Vec<f32>, Vec<f32>)| {
            g1.iter_mut().zip(g2).for_each(|(a, b)| *a += b);
            b1.iter_mut().zip(b2).for_each(|(a, b)| *a += b);
            (g1, b1)
        };
        let zero = || (vec![0.0f32; d], vec![0.0f32; d]);
        let pairs = x.par_chunks(block).zip(dy.par_chunks(block));
        let (dgamma, dbeta) = if want_dx {
            pairs.zip(dx.par_chunks_mut(block)).map(|(p, o)| work(p, Some(o))).reduce(zero, add)
        } else {
            pairs.map(|p| work(p, None)).reduce(zero, add)
        };
        (want_dx.then_some(dx), dgamma, dbeta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::module::Param;
    use burn::nn::LayerNormConfig;
    use burn::tensor::Distribution;

    #[test]
    fn values_and_gradients_match_burns_layer_norm() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let mut norm = LayerNormConfig::new(24).init::<A>(&dev);
        // γ and β away from 1 and 0, so that their roles in the gradients show.
        norm.gamma = Param::from_tensor(Tensor::random([24], Distribution::Normal(1.5, 0.3), &dev));
        norm.beta = Some(Param::from_tensor(Tensor::random([24], Distribution::Normal(0.0, 0.5), &dev)));
        let x0 = Tensor::<A, 4>::random([3, 5, 7, 24], Distribution::Normal(0.7, 2.0), &dev);
        let weights = Tensor::<A, 4>::random([3, 5, 7, 24], Distribution::Normal(0.0, 1.0), &dev);
        for permuted in [false, true] {
            let run = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
                let x = x0.clone().require_grad();
                // A permuted (non-contiguous) input, as ConvNeXt's channel norm passes.
                let input = if permuted { x.clone().permute([0, 2, 1, 3]) } else { x.clone() };
                let y = f(input);
                let w = if permuted { weights.clone().permute([0, 2, 1, 3]) } else { weights.clone() };
                let grads = (y.clone() * w).sum().backward();
                let gg = norm.gamma.grad(&grads).expect("γ has a gradient");
                let gb = norm.beta.as_ref().unwrap().grad(&grads).expect("β has a gradient");
                (y.inner(), x.grad(&grads).expect("x has a gradient"), gg, gb)
            };
            let fast = run(&|x| layer_norm(&norm, x));
            let slow = run(&|x| norm.forward(x));
            let d4 = |a: Tensor<Flex, 4>, b: Tensor<Flex, 4>| (a - b).abs().max().into_scalar();
            let d1 = |a: Tensor<Flex, 1>, b: Tensor<Flex, 1>| (a - b).abs().max().into_scalar();
            let (dy, dx, dg, db) = (d4(fast.0, slow.0), d4(fast.1, slow.1), d1(fast.2, slow.2), d1(fast.3, slow.3));
            assert!(
                dy < 1e-5 && dx < 1e-4 && dg < 1e-3 && db < 1e-3,
                "permuted {permuted}: differences y {dy}, x {dx}, γ {dg}, β {db}"
            );
        }
    }

    #[test]
    fn freshly_initialised_parameters_get_their_gradients() {
        // burn initialises parameters lazily, on first use: the fast path must train these very
        // parameters, not a copy initialised on its own.
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let norm = LayerNormConfig::new(8).init::<A>(&dev);
        let x = Tensor::<A, 2>::random([5, 8], Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let w = Tensor::<A, 2>::random([5, 8], Distribution::Normal(0.0, 1.0), &dev);
        let grads = (layer_norm(&norm, x.clone()) * w).sum().backward();
        assert!(norm.gamma.grad(&grads).is_some(), "γ got no gradient");
        assert!(norm.beta.as_ref().unwrap().grad(&grads).is_some(), "β got no gradient");
        assert!(x.grad(&grads).is_some(), "x got no gradient");
    }
}
