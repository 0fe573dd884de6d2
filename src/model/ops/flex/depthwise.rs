//! The depthwise convolution's backward as two more depthwise convolutions on `Autodiff<Flex>`.
//!
//! `flex` runs a depthwise convolution's forward on a dedicated fast path (3.4 ms for ConvNeXt's
//! 7×7 on `[32, 48, 16, 16]`), but autodiff takes its backward through burn's generic grouped
//! formulas: one convolution and one slice-assign per channel for the weight gradient, a grouped
//! transposed convolution for the input's — 34 ms. Here the backward is two more depthwise
//! convolutions on the same fast path:
//! - input gradient: the output gradient convolved with the flipped kernel (same padding);
//! - weight gradient: each (sample, channel) plane of the input convolved with the matching plane
//!   of the output gradient as its kernel — `[1, b·c, h, w]` by `[b·c, 1, h, w]` in `b·c` groups gives
//!   `[1, b·c, k, k]` — then summed over the batch.

use super::{from_autodiff, on_autodiff, A};
use crate::model::ops::specialize::same;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::ops::{ConvOptions, FloatTensor, FloatTensorOps, ModuleOps};
use burn::tensor::TensorMetadata;

/// `Ok(conv(x))` without the bias when `B` is `Autodiff<Flex>` (f32), else `Err(x)` untouched.
pub(crate) fn without_bias<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let x = on_autodiff(x)?.into_primitive().tensor();
    let weight = same::<Tensor<B, 4>, Tensor<A, 4>>(conv.weight.val()).into_primitive().tensor();
    let [c, _, k, _] = weight.primitive.shape().dims();
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
    Ok(from_autodiff(out))
}

/// Stride 1, padding `k/2` ("same"), in `groups` groups.
fn options(k: usize, groups: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [k / 2, k / 2], [1, 1], groups)
}

/// The backward step of [`without_bias`]; its state is the input and the kernel.
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
