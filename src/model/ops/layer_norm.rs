//! LayerNorm over the last dimension. On `Autodiff<Flex>` the module's own fused forward runs on
//! the inner backend with a fused, threaded backward (`flex::layer_norm` says how and why);
//! other backends use burn's LayerNorm unchanged.

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
    let x = match super::flex::layer_norm::layer_norm(norm, x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    norm.forward(x)
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
