//! Depthwise convolution (stride 1, "same" padding) with a fast backward on `flex`.
//!
//! `flex` runs a depthwise convolution's forward on a dedicated fast path (3.4 ms for ConvNeXt's
//! 7×7 on `[32, 48, 16, 16]`), but autodiff takes its backward through burn's generic grouped
//! formulas: one convolution and one slice-assign per channel for the weight gradient, a grouped
//! transposed convolution for the input's — 34 ms. Here, on `Autodiff<Flex>`, the backward is two
//! more depthwise convolutions on the same fast path:
//! - input gradient: the output gradient convolved with the flipped kernel (same padding);
//! - weight gradient: each (sample, channel) plane of the input convolved with the matching plane
//!   of the output gradient as its kernel — `[1, b·c, h, w]` by `[b·c, 1, h, w]` in `b·c` groups gives
//!   `[1, b·c, k, k]` — then summed over the batch.
//! Other backends use burn's convolution unchanged. Same parameters and records as `Conv2d`.

use crate::model::layout::to_channels_last;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// `conv` (a depthwise convolution: groups = channels, odd square kernel, stride 1, padding k/2)
/// applied to `x`.
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, c, h, w]`
pub fn depthwise_conv<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let c = check_kernel(conv);
    #[cfg(feature = "flex")]
    let x = match flex::without_bias(conv, x) {
        Ok(y) => return with_bias(conv, y, [1, c, 1, 1]),
        Err(x) => x,
    };
    let _ = c;
    conv.forward(x)
}

/// [`depthwise_conv`] with its output channel-last and contiguous (as ConvNeXt's norm and MLP want
/// it); the bias is added on the last axis, a cheap broadcast.
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, h, w, c]`
pub fn depthwise_conv_channels_last<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let c = check_kernel(conv);
    #[cfg(feature = "flex")]
    let x = match flex::without_bias(conv, x) {
        Ok(y) => return with_bias(conv, to_channels_last(y), [1, 1, 1, c]),
        Err(x) => x,
    };
    let _ = c;
    to_channels_last(conv.forward(x))
}

/// The channel count of a `[c, 1, k, k]` kernel with odd `k`; panics on another kernel.
fn check_kernel<B: Backend>(conv: &Conv2d<B>) -> usize {
    let [c, per_group, k, k2] = conv.weight.dims();
    assert!(
        per_group == 1 && k == k2 && k % 2 == 1,
        "depthwise_conv: a [c, 1, k, k] kernel with odd k, got [{c}, {per_group}, {k}, {k2}]"
    );
    c
}

/// `y` plus the convolution's bias (if any) viewed as `shape`.
#[allow(dead_code)]
fn with_bias<B: Backend>(conv: &Conv2d<B>, y: Tensor<B, 4>, shape: [usize; 4]) -> Tensor<B, 4> {
    match &conv.bias {
        Some(bias) => y + bias.val().reshape(shape),
        None => y,
    }
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
    use burn::nn::conv::Conv2d;
    use burn::prelude::*;
    use burn::tensor::ops::{ConvOptions, FloatTensor, FloatTensorOps, ModuleOps};
    use burn::tensor::{TensorMetadata, TensorPrimitive};

    /// `Ok(conv(x))` without the bias when `B` is `Autodiff<Flex>` (f32), else `Err(x)` untouched.
    pub(super) fn without_bias<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
        if x.dtype() != burn::tensor::DType::F32 {
            return Err(x);
        }
        let x = cast::<Tensor<B, 4>, Tensor<Autodiff<Flex>, 4>>(x)?;
        let weight = same::<Tensor<B, 4>, Tensor<Autodiff<Flex>, 4>>(conv.weight.val());
        Ok(same(flex_depthwise(x, weight)))
    }

    fn options(k: usize, groups: usize) -> ConvOptions<2> {
        ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], groups)
    }

    /// The tracked depthwise convolution on `Autodiff<Flex>`.
    fn flex_depthwise(x: Tensor<Autodiff<Flex>, 4>, weight: Tensor<Autodiff<Flex>, 4>) -> Tensor<Autodiff<Flex>, 4> {
        let [c, _, k, _] = weight.dims();
        let x = x.into_primitive().tensor();
        let weight = weight.into_primitive().tensor();
        let out = match DepthwiseBackward
            .prepare::<NoCheckpointing>([x.node.clone(), weight.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = Flex::conv2d(x.primitive.clone(), weight.primitive.clone(), None, options(k, c));
                prep.finish((x.primitive, weight.primitive), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::conv2d(x.primitive, weight.primitive, None, options(k, c))),
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }

    /// The backward step of [`flex_depthwise`]; its state is the input and the kernel.
    #[derive(Debug)]
    struct DepthwiseBackward;

    impl Backward<Flex, 2> for DepthwiseBackward {
        type State = (FloatTensor<Flex>, FloatTensor<Flex>);

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let [node_x, node_weight] = ops.parents;
            let grad = grads.consume::<Flex>(&ops.node);
            let (x, weight) = ops.state;
            let [c, _, k, _] = weight.shape().dims();
            if let Some(node) = node_weight {
                grads.register::<Flex>(node.id, weight_grad(x, grad.clone(), c, k));
            }
            if let Some(node) = node_x {
                let flipped = Flex::float_flip(weight, &[2, 3]);
                grads.register::<Flex>(node.id, Flex::conv2d(grad, flipped, None, options(k, c)));
            }
        }
    }

    /// `∂L/∂weight` from the input `x` and the output gradient `grad`, both `[b, c, h, w]`.
    fn weight_grad(x: FloatTensor<Flex>, grad: FloatTensor<Flex>, c: usize, k: usize) -> FloatTensor<Flex> {
        let [b, _, h, w] = x.shape().dims();
        let planes = Flex::float_reshape(x, [1, b * c, h, w].into());
        let kernels = Flex::float_reshape(grad, [b * c, 1, h, w].into());
        let per_sample = Flex::conv2d(planes, kernels, None, options(k, b * c));
        let per_sample = Flex::float_reshape(per_sample, [b, c * k * k].into());
        let summed = Flex::float_sum_dim(per_sample, 0);
        Flex::float_reshape(summed, [c, 1, k, k].into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::Distribution;

    #[test]
    fn values_and_gradients_match_burns_convolution() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        for (c, side, k) in [(6usize, 9usize, 7usize), (4, 5, 3)] {
            let conv = Conv2dConfig::new([c, c], [k, k])
                .with_groups(c)
                .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
                .init::<A>(&dev);
            let x0 = Tensor::<A, 4>::random([3, c, side, side + 2], Distribution::Normal(0.0, 1.0), &dev);
            let weights = Tensor::<A, 4>::random([3, c, side, side + 2], Distribution::Normal(0.0, 1.0), &dev);
            let run = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
                let x = x0.clone().require_grad();
                let y = f(x.clone());
                let grads = (y.clone() * weights.clone()).sum().backward();
                let gw = conv.weight.grad(&grads).expect("the kernel has a gradient");
                let gb = conv.bias.as_ref().unwrap().grad(&grads).expect("the bias has a gradient");
                (y.inner(), x.grad(&grads).expect("x has a gradient"), gw, gb)
            };
            let fast = run(&|x| depthwise_conv(&conv, x));
            let slow = run(&|x| conv.forward(x));
            assert_eq!(fast.0.dims(), [3, c, side, side + 2]);
            let close = |a: Tensor<Flex, 4>, b: Tensor<Flex, 4>, what: &str| {
                let d = (a - b).abs().max().into_scalar();
                assert!(d < 1e-4, "c {c} k {k}: {what} differ by {d}");
            };
            close(fast.0, slow.0, "outputs");
            close(fast.1, slow.1, "input gradients");
            close(fast.2, slow.2, "kernel gradients");
            let db = (fast.3 - slow.3).abs().max().into_scalar();
            assert!(db < 1e-4, "bias gradients differ by {db}");
            // The channel-last variant: the same numbers in the other layout, bias included.
            let last = run(&|x| crate::model::layout::to_channels_first(depthwise_conv_channels_last(&conv, x)));
            let slow = run(&|x| conv.forward(x));
            close(last.0, slow.0, "channel-last outputs");
            close(last.1, slow.1, "channel-last input gradients");
            close(last.2, slow.2, "channel-last kernel gradients");
            let db = (last.3 - slow.3).abs().max().into_scalar();
            assert!(db < 1e-4, "channel-last bias gradients differ by {db}");
        }
    }

    #[test]
    fn other_backends_take_burns_path_with_the_same_result() {
        let dev = Default::default();
        let conv = Conv2dConfig::new([5, 5], [3, 3])
            .with_groups(5)
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init::<Flex>(&dev);
        let x = Tensor::<Flex, 4>::random([2, 5, 6, 6], Distribution::Normal(0.0, 1.0), &dev);
        let d = (depthwise_conv(&conv, x.clone()) - conv.forward(x)).abs().max().into_scalar();
        assert!(d < 1e-6, "differs by {d}");
    }
}
