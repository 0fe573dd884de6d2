//! The rotary (rotate-half) position rotation of queries and keys: `x·cos + R(x)·sin` with
//! `R(x) = [−x₂, x₁]`. On `Autodiff<Flex>` it runs as one tracked op in one threaded pass
//! (`flex::rotary` says how and why); other backends use burn's tensor ops.

use burn::prelude::*;

/// Rotates q or k by position.
///
/// # Shapes
/// - `x`: `[batch, heads, seq, dim]`, tables `[1, 1, seq, dim]` → `[batch, heads, seq, dim]`
pub fn rotate<B: Backend>(x: Tensor<B, 4>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let x = match super::flex::rotary::rotate(x, cos, sin) {
        Ok(y) => return y,
        Err(x) => x,
    };
    rotate_with_tensor_ops(x, cos, sin)
}

/// [`rotate`] as burn tensor ops (every backend).
///
/// # Shapes
/// - `x`: `[batch, heads, seq, dim]`, tables `[1, 1, seq, dim]` → `[batch, heads, seq, dim]`
fn rotate_with_tensor_ops<B: Backend>(x: Tensor<B, 4>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, h, n, d] = x.dims();
    let x1 = x.clone().slice([0..b, 0..h, 0..n, 0..d / 2]);
    let x2 = x.clone().slice([0..b, 0..h, 0..n, d / 2..d]);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos.clone() + rotated * sin.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rope::tables;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    #[test]
    fn the_fused_rotation_matches_the_tensor_ops_with_gradients() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let positions: Vec<f32> = (0..9).map(|p| p as f32 * 0.7).collect();
        let (cos, sin) = tables::<A>(&positions, 12, &dev);
        let x0 = Tensor::<A, 4>::random([2, 3, 9, 12], Distribution::Normal(0.0, 1.0), &dev);
        let w = Tensor::<A, 4>::random([2, 3, 9, 12], Distribution::Normal(0.0, 1.0), &dev);
        let run = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
            let x = x0.clone().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * w.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("x has a gradient"))
        };
        let fast = run(&|x| rotate(x, &cos, &sin));
        let ops = run(&|x| rotate_with_tensor_ops(x, &cos, &sin));
        let dy = (fast.0 - ops.0).abs().max().into_scalar();
        let dx = (fast.1 - ops.1).abs().max().into_scalar();
        assert!(dy < 1e-5 && dx < 1e-5, "values differ by {dy}, gradients by {dx}");
    }
}
