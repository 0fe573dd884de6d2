//! Plain scaled dot-product attention with an optional additive bias, as the references compute it.

use burn::prelude::*;
use burn::tensor::activation::softmax;

/// `softmax(q kᵀ · scale + bias) v`.
///
/// # Shapes
/// - `q`: `[batch, heads, n_q, head_dim]`, `k`, `v`: `[batch, heads, n_k, head_dim]`
/// - `bias`: broadcastable to `[batch, heads, n_q, n_k]` (masks as large negatives)
/// - returns `[batch, heads, n_q, head_dim]`
pub fn attend<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    scale: f64,
    bias: Option<Tensor<B, 4>>,
) -> Tensor<B, 4> {
    let scores = q.matmul(k.swap_dims(2, 3)) * scale;
    let scores = match bias {
        Some(b) => scores + b,
        None => scores,
    };
    softmax(scores, 3).matmul(v)
}

/// Splits `[batch, seq, heads · head_dim]` into `[batch, heads, seq, head_dim]`.
///
/// # Shapes
/// - `x`: `[batch, seq, heads * head_dim]` → `[batch, heads, seq, head_dim]`
pub fn split_heads<B: Backend>(x: Tensor<B, 3>, heads: usize) -> Tensor<B, 4> {
    let [b, n, d] = x.dims();
    x.reshape([b, n, heads, d / heads]).swap_dims(1, 2)
}

/// Joins heads back: the inverse of [`split_heads`].
///
/// # Shapes
/// - `x`: `[batch, heads, seq, head_dim]` → `[batch, seq, heads * head_dim]`
pub fn merge_heads<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [b, h, n, hd] = x.dims();
    x.swap_dims(1, 2).reshape([b, n, h * hd])
}
