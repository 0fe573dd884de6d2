//! The `flex` fast paths of the ops in [`crate::model::ops`], and the two pieces every one of them
//! shares, written once here: the dispatch shim (a generic tensor into `Flex` or `Autodiff<Flex>` when
//! that is its backend, and the result back) and the host round trip (a flex tensor's values into a
//! `Vec`, computed on, and back into a flex tensor).
//!
//! Each kernel returns `Err(input)` untouched when its backend is another one, so that the generic op
//! falls back to burn's own ops.

pub(crate) mod attention;
pub(crate) mod depthwise;
pub(crate) mod gelu;
pub(crate) mod layer_norm;
pub(crate) mod rotary;
pub(crate) mod transpose;

use super::specialize::{cast, same};
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::ops::{FloatTensor, FloatTensorOps};
use burn::tensor::{DType, Shape, TensorData, TensorMetadata, TensorPrimitive};

/// The training backend whose tracked ops these kernels implement.
pub(crate) type A = Autodiff<Flex>;

/// `x` on `Autodiff<Flex>` when `B` is that backend and `x` holds f32, else `Err(x)` untouched.
pub(crate) fn on_autodiff<B: Backend, const D: usize>(x: Tensor<B, D>) -> Result<Tensor<A, D>, Tensor<B, D>> {
    if x.dtype() != DType::F32 {
        return Err(x);
    }
    cast(x)
}

/// `x` on plain `Flex` when `B` is that backend and `x` holds f32, else `Err(x)` untouched.
pub(crate) fn on_flex<B: Backend, const D: usize>(x: Tensor<B, D>) -> Result<Tensor<Flex, D>, Tensor<B, D>> {
    if x.dtype() != DType::F32 {
        return Err(x);
    }
    cast(x)
}

/// A tracked op's output as a tensor of `B`, which is `Autodiff<Flex>` (its input came through
/// [`on_autodiff`]).
pub(crate) fn from_autodiff<B: Backend, const D: usize>(out: FloatTensor<A>) -> Tensor<B, D> {
    same(Tensor::<A, D>::from_primitive(TensorPrimitive::Float(out)))
}

/// An op's output on plain `Flex` as a tensor of `B`, which is `Flex` (its input came through
/// [`on_flex`]).
pub(crate) fn from_flex<B: Backend, const D: usize>(out: FloatTensor<Flex>) -> Tensor<B, D> {
    same(Tensor::<Flex, D>::from_primitive(TensorPrimitive::Float(out)))
}

/// The dimensions of a flex tensor.
pub(crate) fn dims(t: &FloatTensor<Flex>) -> Vec<usize> {
    t.shape().iter().copied().collect()
}

/// The values of a flex f32 tensor on the host, contiguous and row-major (whatever its rank).
pub(crate) fn to_host(t: FloatTensor<Flex>) -> Vec<f32> {
    Tensor::<Flex, 1>::from_primitive(TensorPrimitive::Float(t)).into_data().into_vec::<f32>().expect("an f32 tensor")
}

/// A flex tensor of `dims` holding `values` (row-major).
pub(crate) fn from_host(values: Vec<f32>, dims: impl Into<Shape>) -> FloatTensor<Flex> {
    Flex::float_from_data(TensorData::new(values, dims), &Default::default())
}
