//! Runs a loaded module on named inputs; outputs are named as the reference library names them.

use super::inputs::{attention_mask, fixed_side, flattened_patches, pixels, token_ids, PIXEL_VALUES, TIMM_X};
use super::{ForwardError, LoadedModel, Named};
use crate::checkpoint::folder::Architecture;
use burn::prelude::*;
use burn::tensor::DType;

/// Runs `model` on `inputs`; the outputs are named as transformers (or timm) names them, in f32.
pub fn forward<B: Backend>(model: &LoadedModel<B>, inputs: &Named, device: &B::Device) -> Result<Named, ForwardError> {
    let mut out = Named::new();
    match model {
        LoadedModel::ClipVision(m) => {
            let x = pixels::<B>(inputs, Architecture::ClipVision, PIXEL_VALUES, device)?;
            fixed_side(&x, PIXEL_VALUES, [m.image_size(); 2], "CLIP's position table is")?;
            let o = m.forward(x);
            out.insert("output.last_hidden_state".into(), o.last_hidden_state.into_data());
            out.insert("output.pooler_output".into(), o.pooler_output.into_data());
        }
        LoadedModel::ConvNext(m) => {
            let o = m.forward(pixels::<B>(inputs, Architecture::ConvNext, PIXEL_VALUES, device)?);
            out.insert("output.last_hidden_state".into(), o.last_hidden_state.into_data());
            out.insert("output.pooler_output".into(), o.pooler_output.into_data());
        }
        LoadedModel::Llama(m) => {
            let ids = token_ids::<B>(inputs, m.vocab(), device)?;
            let mask = attention_mask(inputs, ids.dims(), "token", device)?;
            out.insert("output.logits".into(), m.forward(ids, mask).into_data());
        }
        LoadedModel::Pix2StructVision(m) => {
            let patches = flattened_patches::<B>(inputs, m.patch_width(), m.max_id(), device)?;
            let [b, n, _] = patches.dims();
            let mask = attention_mask(inputs, [b, n], "patch", device)?;
            out.insert("output.last_hidden_state".into(), m.forward(patches, mask).into_data());
        }
        LoadedModel::SamVision(m) => {
            let x = pixels::<B>(inputs, Architecture::SamVision, PIXEL_VALUES, device)?;
            fixed_side(&x, PIXEL_VALUES, [m.image_size(); 2], "SAM's position map and relative position tables are")?;
            out.insert("output.last_hidden_state".into(), m.forward(x).into_data());
        }
        LoadedModel::Eva02(m) => {
            let x = pixels::<B>(inputs, Architecture::Eva02, TIMM_X, device)?;
            fixed_side(&x, TIMM_X, m.image_size(), "EVA-02's position table is")?;
            out.insert("output.features".into(), m.forward_features(x).into_data());
        }
    }
    Ok(out.into_iter().map(|(k, v)| (k, v.convert_dtype(DType::F32))).collect())
}
