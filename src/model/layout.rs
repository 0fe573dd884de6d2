//! Layout changes that produce contiguous tensors: channel-first ↔ channel-last maps, and the
//! head split/merge of attention, as one batched transpose.
//!
//! On `flex` a permuted view is free, but the first op that needs contiguous memory copies it, and
//! flex's copy is fast only when the view collapses to two dimensions: a batched transpose such as
//! `[32, 48, 16, 16]` NCHW viewed as NHWC (three dimensions after collapsing) falls back to a
//! per-element strided walk — `perf` put such copies at about 45% of a proxy training step. On
//! `Autodiff<Flex>` this does the transpose as a tiled copy per batch item over the thread pool,
//! as a tracked op whose backward is the inverse transpose. Other backends get the same values
//! through burn's own `swap_dims` and `reshape`.

use burn::prelude::*;

/// `[n, a, b, e]` → `[n, b, a, e]`, contiguous: dimensions 1 and 2 swapped, each `e`-run kept whole.
///
/// # Shapes
/// - `x`: `[n, a, b, e]` → `[n, b, a, e]`
pub fn batched_transpose<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let x = match flex::batched_transpose(x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    x.swap_dims(1, 2)
}

/// A channel-first map as channel-last, contiguous.
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, h, w, c]`
pub fn to_channels_last<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    batched_transpose(x.reshape([b, c, h * w, 1])).reshape([b, h, w, c])
}

/// A channel-last map as channel-first, contiguous.
///
/// # Shapes
/// - `x`: `[batch, h, w, c]` → `[batch, c, h, w]`
pub fn to_channels_first<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, h, w, c] = x.dims();
    batched_transpose(x.reshape([b, h * w, c, 1])).reshape([b, c, h, w])
}

/// Non-overlapping `p × p` patches of a map, each flattened channel-major (`[c, p, p]`), as two
/// batched transposes instead of one six-dimensional permute.
///
/// # Shapes
/// - `x`: `[batch, c, h·p, w·p]` → `[batch, h·w, c·p·p]`
pub fn patches<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 3> {
    let [b, c, hh, ww] = x.dims();
    let (h, w) = (hh / p, ww / p);
    // Within each row of patches: [b·c·h, p, w, p] → [b·c·h, w, p, p].
    let x = batched_transpose(x.reshape([b * c * h, p, w, p]));
    // Channels after the patch position: [b, c, h·w, p·p] → [b, h·w, c, p·p].
    batched_transpose(x.reshape([b, c, h * w, p * p])).reshape([b, h * w, c * p * p])
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
    use burn::tensor::{TensorData, TensorPrimitive};
    use rayon::prelude::*;

    type A = Autodiff<Flex>;

    /// `Ok(transposed)` when `B` is `Autodiff<Flex>` (f32), else `Err(x)` untouched.
    pub(super) fn batched_transpose<B: Backend>(x: Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
        let x = cast::<Tensor<B, 4>, Tensor<A, 4>>(x)?;
        if x.dtype() != burn::tensor::DType::F32 {
            return Err(same(x));
        }
        let dims = x.dims();
        let x = x.into_primitive().tensor();
        let out = match TransposeBackward.prepare::<NoCheckpointing>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(dims, transpose(x.primitive, dims)),
            OpsKind::UnTracked(prep) => prep.finish(transpose(x.primitive, dims)),
        };
        Ok(same(Tensor::<A, 4>::from_primitive(TensorPrimitive::Float(out))))
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
        let data = Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(x)).into_data();
        let src = data.as_slice::<f32>().expect("an f32 tensor");
        let out = transpose_host(src, [n, a, b, e]);
        Flex::float_from_data(TensorData::new(out, [n, b, a, e]), &Default::default())
    }

    /// Tiled transpose of each of the `n` `[a, b]` matrices of `e`-runs, in parallel over `n`.
    pub(super) fn transpose_host(src: &[f32], [n, a, b, e]: [usize; 4]) -> Vec<f32> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    type A = Autodiff<Flex>;

    #[test]
    fn transposes_equal_burns_views_with_gradients() {
        let dev = Default::default();
        for dims in [[3usize, 5, 7, 1], [2, 17, 33, 4], [1, 40, 3, 2]] {
            let x0 = Tensor::<A, 4>::random(dims, Distribution::Normal(0.0, 1.0), &dev);
            let w = Tensor::<A, 4>::random([dims[0], dims[2], dims[1], dims[3]], Distribution::Normal(0.0, 1.0), &dev);
            let run = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
                let x = x0.clone().require_grad();
                let y = f(x.clone());
                let grads = (y.clone() * w.clone()).sum().backward();
                (y.inner(), x.grad(&grads).expect("x has a gradient"))
            };
            let (y_fast, g_fast) = run(&|x| batched_transpose(x));
            let (y_view, g_view) = run(&|x| x.swap_dims(1, 2));
            assert_eq!(y_fast.dims(), [dims[0], dims[2], dims[1], dims[3]]);
            assert_eq!(y_fast.to_data(), y_view.to_data(), "{dims:?}: values");
            assert_eq!(g_fast.to_data(), g_view.to_data(), "{dims:?}: gradients");
        }
    }

    #[test]
    fn patches_equal_the_six_dimensional_permute() {
        let dev = Default::default();
        let x = Tensor::<A, 4>::random([2, 3, 12, 8], Distribution::Normal(0.0, 1.0), &dev);
        let reference = x.clone().reshape([2, 3, 3, 4, 2, 4]).permute([0, 2, 4, 1, 3, 5]).reshape([2, 6, 48]);
        assert_eq!(patches(x, 4).to_data(), reference.to_data());
    }

    #[test]
    fn channel_layouts_round_trip() {
        let dev = Default::default();
        let x = Tensor::<A, 4>::random([2, 3, 4, 5], Distribution::Normal(0.0, 1.0), &dev);
        let last = to_channels_last(x.clone());
        assert_eq!(last.dims(), [2, 4, 5, 3]);
        assert_eq!(last.to_data(), x.clone().permute([0, 2, 3, 1]).to_data());
        assert_eq!(to_channels_first(last).to_data(), x.to_data());
    }
}
