//! The batched transpose `[n, a, b, e]` → `[n, b, a, e]` as a tiled copy per batch item over the
//! thread pool, a tracked op on `Autodiff<Flex>` whose backward is the inverse transpose.
//!
//! On `flex` a permuted view is free, but the first op that needs contiguous memory copies it, and
//! flex's copy is fast only when the view collapses to two dimensions: a batched transpose such as
//! `[32, 48, 16, 16]` NCHW viewed as NHWC (three dimensions after collapsing) falls back to a
//! per-element strided walk — `perf` put such copies at about 45% of a proxy training step.

use super::{from_autodiff, from_host, on_autodiff, to_host};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::ops::FloatTensor;
use rayon::prelude::*;

/// `Ok(transposed)` when `B` is `Autodiff<Flex>` (f32), else `Err(x)` untouched.
pub(crate) fn batched_transpose<B: Backend>(x: Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let x = on_autodiff(x)?;
    let dims = x.dims();
    let x = x.into_primitive().tensor();
    let out = match TransposeBackward.prepare::<NoCheckpointing>([x.node.clone()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(dims, transpose(x.primitive, dims)),
        OpsKind::UnTracked(prep) => prep.finish(transpose(x.primitive, dims)),
    };
    Ok(from_autodiff(out))
}

/// The backward step: the inverse transpose of the gradient; its state is the input's dims.
#[derive(Debug)]
struct TransposeBackward;

impl Backward<Flex, 1> for TransposeBackward {
    type State = [usize; 4];

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let [n, a, b, e] = ops.state;
        if let Some(node) = node {
            grads.register::<Flex>(node.id, transpose(grad, [n, b, a, e]));
        }
    }
}

/// `[n, a, b, e]` → `[n, b, a, e]` on the host.
fn transpose(x: FloatTensor<Flex>, [n, a, b, e]: [usize; 4]) -> FloatTensor<Flex> {
    from_host(transpose_host(&to_host(x), [n, a, b, e]), [n, b, a, e])
}

/// Tiled transpose of each of the `n` `[a, b]` matrices of `e`-runs, in parallel over `n`.
fn transpose_host(src: &[f32], [n, a, b, e]: [usize; 4]) -> Vec<f32> {
    const TILE: usize = 16;
    let block = a * b * e;
    let mut dst = vec![0.0f32; n * block];
    if block == 0 {
        return dst;
    }
    dst.par_chunks_mut(block).zip(src.par_chunks(block)).for_each(|(d, s)| {
        for i0 in (0..a).step_by(TILE) {
            for j0 in (0..b).step_by(TILE) {
                for i in i0..(i0 + TILE).min(a) {
                    for j in j0..(j0 + TILE).min(b) {
                        if e == 1 {
                            d[j * a + i] = s[i * b + j];
                        } else {
                            d[(j * a + i) * e..(j * a + i + 1) * e]
                                .copy_from_slice(&s[(i * b + j) * e..(i * b + j + 1) * e]);
                        }
                    }
                }
            }
        }
    });
    dst
}
