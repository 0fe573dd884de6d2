//! Scaled dot-product attention as one tracked op on `Autodiff<Flex>`.
//!
//! burn's autodiff backend runs attention through its generic fallback: a transposed key, two
//! matmuls, a scale, a causal mask built and filled on every call, and a NaN-safe softmax of six
//! element-wise ops — each a tracked op, single-threaded, with its own backward. Here the two
//! matmuls stay (flex's threaded gemm) and the softmax, its mask, and its backward are one threaded
//! pass over rows:
//! `P = softmax(s·QKᵀ)`, `O = PV`; `dV = Pᵀ dO`, `dP = dO Vᵀ`, `dS = s·P ⊙ (dP − Σⱼ dP ⊙ P)`,
//! `dQ = dS K`, `dK = dSᵀ Q`.

use super::{from_autodiff, from_host, on_autodiff, to_host, A};
use crate::model::ops::specialize::same;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::ops::{FloatTensor, FloatTensorOps};
use rayon::prelude::*;

/// Queries, keys and values.
type Qkv<B> = (Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4>);

/// `Ok(attention)` when `B` is `Autodiff<Flex>` (f32), else `Err((q, k, v))` untouched.
pub(crate) fn attention<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    causal: bool,
) -> Result<Tensor<B, 4>, Qkv<B>> {
    if [&k, &v].iter().any(|t| t.dtype() != burn::tensor::DType::F32) {
        return Err((q, k, v));
    }
    let q = match on_autodiff(q) {
        Ok(q) => q,
        Err(q) => return Err((q, k, v)),
    };
    let (k, v) = (same::<Tensor<B, 4>, Tensor<A, 4>>(k), same::<Tensor<B, 4>, Tensor<A, 4>>(v));
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
    Ok(from_autodiff(out))
}

/// `softmax(scale · QKᵀ)` over the last axis, future keys masked when `causal`.
fn probabilities(q: FloatTensor<Flex>, k: FloatTensor<Flex>, scale: f32, causal: bool) -> FloatTensor<Flex> {
    let scores = Flex::float_matmul(q, Flex::float_swap_dims(k, 2, 3));
    let dims = super::dims(&scores);
    let (n_q, n_k) = (dims[2], dims[3]);
    let mut s = to_host(scores);
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
    from_host(s, dims)
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
            grads.register::<Flex>(node.id, Flex::float_matmul(Flex::float_swap_dims(p.clone(), 2, 3), d_out.clone()));
        }
        if node_q.is_none() && node_k.is_none() {
            return;
        }
        let dims = super::dims(&p);
        let n_k = dims[3];
        let d_p = to_host(Flex::float_matmul(d_out, Flex::float_swap_dims(v, 2, 3)));
        let p = to_host(p);
        let mut d_s = d_p;
        d_s.par_chunks_mut(n_k).zip(p.par_chunks(n_k)).for_each(|(g, p)| {
            let dot: f32 = g.iter().zip(p).map(|(g, p)| g * p).sum();
            g.iter_mut().zip(p).for_each(|(g, &p)| *g = scale * p * (*g - dot));
        });
        let d_s = from_host(d_s, dims);
        if let Some(node) = node_q {
            grads.register::<Flex>(node.id, Flex::float_matmul(d_s.clone(), k));
        }
        if let Some(node) = node_k {
            grads.register::<Flex>(node.id, Flex::float_matmul(Flex::float_swap_dims(d_s, 2, 3), q));
        }
    }
}
