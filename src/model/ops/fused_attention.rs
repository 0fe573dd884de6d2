//! Scaled dot-product attention. On `Autodiff<Flex>` it runs as one tracked op whose softmax, mask
//! and backward are one threaded pass over rows (`flex::attention` says how and why); other backends
//! use burn's `attention`.

use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

/// `softmax(QKᵀ/√d) V`, causal (future keys masked) when asked.
///
/// # Shapes
/// - `q`, `k`, `v`: `[batch, heads, seq, head_dim]` (k and v may have another `seq`) →
///   `[batch, heads, seq, head_dim]`
pub fn scaled_dot_product<B: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>, causal: bool) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let (q, k, v) = match super::flex::attention::attention(q, k, v, causal) {
        Ok(o) => return o,
        Err(qkv) => qkv,
    };
    attention(q, k, v, None, None, AttentionModuleOptions { is_causal: causal, ..Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    #[test]
    fn values_and_gradients_match_burns_attention() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        for (causal, n_q, n_k) in [(false, 7, 7), (true, 9, 9), (false, 5, 11)] {
            let make = |n: usize| Tensor::<A, 4>::random([2, 3, n, 8], Distribution::Normal(0.0, 1.5), &dev);
            let (q0, k0, v0) = (make(n_q), make(n_k), make(n_k));
            let w = Tensor::<A, 4>::random([2, 3, n_q, 8], Distribution::Normal(0.0, 1.0), &dev);
            let run = |f: &dyn Fn(Tensor<A, 4>, Tensor<A, 4>, Tensor<A, 4>) -> Tensor<A, 4>| {
                let (q, k, v) = (q0.clone().require_grad(), k0.clone().require_grad(), v0.clone().require_grad());
                let o = f(q.clone(), k.clone(), v.clone());
                let grads = (o.clone() * w.clone()).sum().backward();
                [
                    o.inner(),
                    q.grad(&grads).expect("q grad"),
                    k.grad(&grads).expect("k grad"),
                    v.grad(&grads).expect("v grad"),
                ]
            };
            let fast = run(&|q, k, v| scaled_dot_product(q, k, v, causal));
            let slow = run(&|q, k, v| {
                attention(q, k, v, None, None, AttentionModuleOptions { is_causal: causal, ..Default::default() })
            });
            for (what, (a, b)) in ["output", "dq", "dk", "dv"].iter().zip(fast.into_iter().zip(slow)) {
                let d = (a - b).abs().max().into_scalar();
                assert!(d < 1e-4, "causal {causal}, {n_q}x{n_k}: {what} differs by {d}");
            }
        }
    }
}
