//! Masked next-token cross-entropy and the symmetric contrastive (InfoNCE) loss.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Mean cross-entropy over the positions where `mask` is 1.
///
/// # Shapes
/// - `logits`: `[batch, seq, vocab]`, `targets`: `[batch, seq]`, `mask`: `[batch, seq]` → `[1]`
pub fn masked_cross_entropy<B: Backend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 2, Int>,
    mask: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let [b, n, _] = logits.dims();
    let logp = log_softmax(logits, 2);
    let picked = logp.gather(2, targets.reshape([b, n, 1])).reshape([b, n]);
    let total = mask.clone().sum().clamp_min(1.0);
    (picked * mask).sum().neg() / total
}

/// Symmetric InfoNCE between matched rows of two embedding sets (cosine similarity / temperature).
///
/// # Shapes
/// - `a`, `b`: `[batch, dim]` → `[1]`
pub fn contrastive<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>, temperature: f32) -> Tensor<B, 1> {
    let n = a.dims()[0];
    let norm = |x: Tensor<B, 2>| x.clone() / (x.powf_scalar(2.0).sum_dim(1).sqrt() + 1e-6);
    let sim = norm(a).matmul(norm(b).transpose()) / temperature; // [n, n]
    let eye = Tensor::<B, 2>::eye(n, &sim.device());
    let rows = (log_softmax(sim.clone(), 1) * eye.clone()).sum().neg();
    let cols = (log_softmax(sim, 0) * eye).sum().neg();
    (rows + cols) / (2.0 * n as f32)
}
