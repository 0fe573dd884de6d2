//! Named tensors from and to safetensors files.

use super::{ForwardError, Named};
use burn::tensor::{DType, TensorData};
use std::path::Path;

/// Reads every tensor of a safetensors file (f32, f16, bf16, f64, i64, i32; other types are an error).
pub fn read_named(path: &Path) -> Result<Named, ForwardError> {
    let fail = |message: String| ForwardError::File { path: path.into(), message };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| fail(e.to_string()))?;
    let mut named = Named::new();
    for (name, view) in file.tensors() {
        use safetensors::Dtype as S;
        let dtype = match view.dtype() {
            S::F32 => DType::F32,
            S::F16 => DType::F16,
            S::BF16 => DType::BF16,
            S::F64 => DType::F64,
            S::I64 => DType::I64,
            S::I32 => DType::I32,
            other => {
                return Err(fail(format!(
                    "tensor `{name}` has type {other:?}; f32, f16, bf16, f64, i64 or i32 expected"
                )))
            }
        };
        named.insert(name, TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), dtype));
    }
    Ok(named)
}

/// Writes named f32 tensors to a safetensors file.
pub fn write_named(path: &Path, named: &Named) -> Result<(), ForwardError> {
    let fail = |message: String| ForwardError::File { path: path.into(), message };
    let views: Vec<(String, safetensors::tensor::TensorView)> = named
        .iter()
        .map(|(name, data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, data.shape.to_vec(), data.as_bytes())
                    .map_err(|e| fail(format!("tensor `{name}`: {e}")))?;
            Ok((name.clone(), view))
        })
        .collect::<Result<_, ForwardError>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| fail(e.to_string()))?;
    crate::store::write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
}
