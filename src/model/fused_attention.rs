//! Scaled dot-product attention as one tracked op on `flex`.
//!
//! burn's autodiff backend runs attention through its generic fallback: a transposed key, two
//! matmuls, a scale, a causal mask built and filled on every call, and a NaN-safe softmax of six
//! element-wise ops — each a tracked op, single-threaded, with its own backward. On
//! `Autodiff<Flex>` this keeps the two matmuls (flex's threaded gemm) and does the softmax, its
//! mask, and its backward in one threaded pass over rows:
//! `P = softmax(s·QKᵀ)`, `O = PV`; `dV = Pᵀ dO`, `dP = dO Vᵀ`, `dS = s·P ⊙ (dP − Σⱼ dP ⊙ P)`,
//! `dQ = dS K`, `dK = dSᵀ Q`. Other backends use burn's `attention`.

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
    let (q, k, v) = match flex::attention(q, k, v, causal) {
        Ok(o) => return o,
        Err(qkv) => qkv,
    };
    attention(q, k, v, None, None, AttentionModuleOptions { is_causal: causal, ..Default::default() })
}

/// The `Autodiff<Flex>` path.
#[cfg(feature = "flex")]
mod flex {
    use crate::model::specialize::{cast, same};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::{Autodiff, Flex};
    use burn::prelude::*;
    use burn::tensor::ops::{FloatTensor, FloatTensorOps};
    use burn::tensor::{TensorData, TensorMetadata, TensorPrimitive};
    use rayon::prelude::*;

    type A = Autodiff<Flex>;
    type Qkv<B> = (Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4>);

    /// `Ok(attention)` when `B` is `Autodiff<Flex>` (f32), else `Err((q, k, v))` untouched.
    pub(super) fn attention<B: Backend>(
        q: Tensor<B, 4>,
        k: Tensor<B, 4>,
        v: Tensor<B, 4>,
        causal: bool,
    ) -> Result<Tensor<B, 4>, Qkv<B>> {
        if [&q, &k, &v].iter().any(|t| t.dtype() != burn::tensor::DType::F32) {
            return Err((q, k, v));
        }
        let (q, k, v) = match cast::<Qkv<B>, Qkv<A>>((q, k, v)) {
            Ok(t) => t,
            Err(t) => return Err(t),
        };
        let scale = 1.0 / (q.dims()[3] as f32).sqrt();
        let (q, k, v) = (q.into_primitive().tensor(), k.into_primitive().tensor(), v.into_primitive().tensor());
        let out = match AttentionBackward
            .prepare::<NoCheckpointing>([q.node.clone(), k.node.clone(), v.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let p = probabilities(q.primitive.clone(), k.primitive.clone(), scale, causal);
                let o = Flex::float_matmul(p.clone(), v.primitive.clone());
                prep.finish((q.primitive, k.primitive, v.primitive, p, scale), o)
            }
            OpsKind::UnTracked(prep) => {
                let p = probabilities(q.primitive, k.primitive, scale, causal);
                prep.finish(Flex::float_matmul(p, v.primitive))
            }
        };
        Ok(same(Tensor::<A, 4>::from_primitive(TensorPrimitive::Float(out))))
    }

    /// `softmax(scale · QKᵀ)` over the last axis, future keys masked when `causal`.
    fn probabilities(q: FloatTensor<Flex>, k: FloatTensor<Flex>, scale: f32, causal: bool) -> FloatTensor<Flex> {
        let scores = Flex::float_matmul(q, Flex::float_swap_dims(k, 2, 3));
        let dims: Vec<usize> = scores.shape().iter().copied().collect();
        let (n_q, n_k) = (dims[2], dims[3]);
        let mut s = host(scores);
        s.par_chunks_mut(n_q * n_k).for_each(|block| {
            for (i, row) in block.chunks_exact_mut(n_k).enumerate() {
                // Causal: query i sees keys 0..=i (burn's mask: column > row is masked).
                let visible = if causal { (i + 1).min(n_k) } else { n_k };
                let max = row[..visible].iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) * scale;
                let mut sum = 0.0f32;
                for x in row[..visible].iter_mut() {
                    *x = (*x * scale - max).exp();
                    sum += *x;
                }
                let inv = 1.0 / sum;
                row[..visible].iter_mut().for_each(|x| *x *= inv);
                row[visible..].iter_mut().for_each(|x| *x = 0.0);
            }
        });
        Flex::float_from_data(TensorData::new(s, dims), &Default::default())
    }

    /// The values of a tensor, contiguous, on the host.
    fn host(t: FloatTensor<Flex>) -> Vec<f32> {
        Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(t))
            .into_data()
            .into_vec::<f32>()
            .expect("an f32 tensor")
    }

    /// The backward step; its state is q, k, v, the probabilities and the scale.
    #[derive(Debug)]
    struct AttentionBackward;

    impl Backward<Flex, 3> for AttentionBackward {
        type State = (FloatTensor<Flex>, FloatTensor<Flex>, FloatTensor<Flex>, FloatTensor<Flex>, f32);

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let [node_q, node_k, node_v] = ops.parents;
            let d_out = grads.consume::<Flex>(&ops.node);
            let (q, k, v, p, scale) = ops.state;
            if let Some(node) = node_v {
                grads.register::<Flex>(
                    node.id,
                    Flex::float_matmul(Flex::float_swap_dims(p.clone(), 2, 3), d_out.clone()),
                );
            }
            if node_q.is_none() && node_k.is_none() {
                return;
            }
            let dims: Vec<usize> = p.shape().iter().copied().collect();
            let n_k = dims[3];
            let d_p = host(Flex::float_matmul(d_out, Flex::float_swap_dims(v, 2, 3)));
            let p = host(p);
            let mut d_s = d_p;
            d_s.par_chunks_mut(n_k).zip(p.par_chunks(n_k)).for_each(|(g, p)| {
                let dot: f32 = g.iter().zip(p).map(|(g, p)| g * p).sum();
                g.iter_mut().zip(p).for_each(|(g, &p)| *g = scale * p * (*g - dot));
            });
            let d_s = Flex::float_from_data(TensorData::new(d_s, dims), &Default::default());
            if let Some(node) = node_q {
                grads.register::<Flex>(node.id, Flex::float_matmul(d_s.clone(), k));
            }
            if let Some(node) = node_k {
                grads.register::<Flex>(node.id, Flex::float_matmul(Flex::float_swap_dims(d_s, 2, 3), q));
            }
        }
    }
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
