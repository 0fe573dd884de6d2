//! Reads and checks the named inputs an architecture needs; an error names the input, its expected
//! shape and the inputs present.

use super::{ForwardError, Named};
use crate::checkpoint::folder::Architecture;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

/// transformers' name of the image argument.
pub(super) const PIXEL_VALUES: &str = "input.pixel_values";
/// timm's name of the image argument of `forward_features(x)`.
pub(super) const TIMM_X: &str = "input.x";
/// transformers' name of the padding mask.
const ATTENTION_MASK: &str = "input.attention_mask";

/// The input `name`, or an error naming it, its shape and the inputs present.
fn required<'a>(
    inputs: &'a Named,
    name: &'static str,
    architecture: Architecture,
    shape: &'static str,
) -> Result<&'a TensorData, ForwardError> {
    inputs.get(name).ok_or_else(|| ForwardError::MissingInput {
        architecture: architecture.name(),
        name,
        shape,
        have: inputs.keys().cloned().collect::<Vec<_>>().join(", "),
    })
}

/// A batch of images `[batch, channels, height, width]` under `name`.
pub(super) fn pixels<B: Backend>(
    inputs: &Named,
    architecture: Architecture,
    name: &'static str,
    device: &B::Device,
) -> Result<Tensor<B, 4>, ForwardError> {
    let data = required(inputs, name, architecture, "batch, channels, height, width")?;
    let dims = data.shape.to_vec();
    if dims.len() != 4 {
        return Err(ForwardError::InputShape {
            name,
            found: dims,
            expected: "[batch, channels, height, width] expected".into(),
        });
    }
    Ok(Tensor::from_data(data.clone().convert_dtype(DType::F32), device))
}

/// Refuses images under `name` that are not `side` (height, width); `what` says which tables fix it.
pub(super) fn fixed_side<B: Backend>(
    x: &Tensor<B, 4>,
    name: &'static str,
    side: [usize; 2],
    what: &str,
) -> Result<(), ForwardError> {
    let [_, _, h, w] = x.dims();
    if [h, w] != side {
        return Err(ForwardError::InputShape {
            name,
            found: x.dims().to_vec(),
            expected: format!("{what} for {}x{} images", side[0], side[1]),
        });
    }
    Ok(())
}

/// Token ids `[batch, seq]`, each below `vocab`.
pub(super) fn token_ids<B: Backend>(
    inputs: &Named,
    vocab: usize,
    device: &B::Device,
) -> Result<Tensor<B, 2, Int>, ForwardError> {
    let name = "input.input_ids";
    let data = required(inputs, name, Architecture::Llama, "batch, seq")?;
    let dims = data.shape.to_vec();
    let ids: Vec<i64> = data.clone().convert_dtype(DType::I64).to_vec().unwrap_or_default();
    if dims.len() != 2 || ids.iter().any(|&i| i < 0 || i as usize >= vocab) {
        return Err(ForwardError::InputShape {
            name,
            found: dims,
            expected: format!("[batch, seq] of token ids below the vocabulary size {vocab} expected"),
        });
    }
    Ok(Tensor::from_data(TensorData::new(ids, data.shape.clone()), device))
}

/// Pix2Struct's patches `[batch, seq, width]` (row id, column id, patch values), ids below `max_id`.
pub(super) fn flattened_patches<B: Backend>(
    inputs: &Named,
    width: usize,
    max_id: usize,
    device: &B::Device,
) -> Result<Tensor<B, 3>, ForwardError> {
    let name = "input.flattened_patches";
    let data = required(inputs, name, Architecture::Pix2StructVision, "batch, seq, 2 + patch values")?;
    let dims = data.shape.to_vec();
    if dims.len() != 3 || dims[2] != width {
        return Err(ForwardError::InputShape {
            name,
            found: dims,
            expected: format!("[batch, seq, {width}] expected (row id, column id, patch values)"),
        });
    }
    let patches = Tensor::<B, 3>::from_data(data.clone().convert_dtype(DType::F32), device);
    let [b, n, _] = patches.dims();
    let ids =
        patches.clone().slice([0..b, 0..n, 0..2]).into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
    if ids.iter().any(|&i| i < 0.0 || i as usize >= max_id) {
        return Err(ForwardError::InputShape {
            name,
            found: vec![b, n, width],
            expected: format!("row and column ids in 0..{max_id} expected"),
        });
    }
    Ok(patches)
}

/// The optional padding mask, which must have shape `dims` (`of` says what it masks).
pub(super) fn attention_mask<B: Backend>(
    inputs: &Named,
    dims: [usize; 2],
    of: &str,
    device: &B::Device,
) -> Result<Option<Tensor<B, 2>>, ForwardError> {
    let Some(data) = inputs.get(ATTENTION_MASK) else { return Ok(None) };
    if data.shape.to_vec() != dims {
        return Err(ForwardError::InputShape {
            name: ATTENTION_MASK,
            found: data.shape.to_vec(),
            expected: format!("{dims:?} expected (one per {of})"),
        });
    }
    Ok(Some(Tensor::from_data(data.clone().convert_dtype(DType::F32), device)))
}
