//! Builds a folder's module from its config and loads its weights, with each architecture's key
//! remapping (the tensors a full model holds beyond the part Eyrie reproduces are skipped by prefix).

use super::{ForwardError, LoadedModel};
use crate::checkpoint::clip::{ClipVision, ClipVisionSettings};
use crate::checkpoint::convnext::{ConvNext, ConvNextSettings};
use crate::checkpoint::eva::Eva;
use crate::checkpoint::eva_config::EvaSettings;
use crate::checkpoint::folder::{Architecture, CheckpointFolder, FolderError};
use crate::checkpoint::llama::LlamaSettings;
use crate::checkpoint::load::{load_weights, KeyMap};
use crate::checkpoint::pix2struct::Pix2StructVisionSettings;
use crate::checkpoint::sam::SamVisionSettings;
use burn::prelude::*;

/// Builds the folder's architecture from its config and loads its weights.
pub fn load_model<B: Backend>(folder: &CheckpointFolder, device: &B::Device) -> Result<LoadedModel<B>, ForwardError> {
    let bad_config = |message: String| FolderError::Json { path: folder.dir.join("config.json"), message };
    Ok(match folder.architecture {
        Architecture::ClipVision => {
            // A full CLIPModel nests the tower's settings and also holds the text tower.
            let full = folder.config.get("vision_config").is_some();
            let settings: ClipVisionSettings =
                folder.config_as(folder.config.get("vision_config").unwrap_or(&folder.config))?;
            let mut model = settings.init::<B>(device);
            let mut keys = KeyMap {
                rewrites: ClipVision::<B>::key_rewrites(),
                skip_suffixes: vec!["position_ids".into()],
                ..KeyMap::default()
            };
            if full {
                keys.skip_prefixes =
                    ["text_model.", "visual_projection.", "text_projection.", "logit_scale"].map(String::from).to_vec();
            }
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::ClipVision(Box::new(model))
        }
        Architecture::ConvNext => {
            let settings: ConvNextSettings = folder.config_as(&folder.config)?;
            if let Some(p) = settings.problem() {
                return Err(bad_config(p).into());
            }
            let mut model = settings.init::<B>(device);
            let keys = KeyMap {
                rewrites: ConvNext::<B>::key_rewrites(),
                skip_prefixes: vec!["classifier.".into()],
                ..KeyMap::default()
            };
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::ConvNext(Box::new(model))
        }
        Architecture::Llama => {
            let settings: LlamaSettings = folder.config_as(&folder.config)?;
            if let Some(p) = settings.problem() {
                return Err(bad_config(p).into());
            }
            let mut model = settings.init::<B>(device);
            let keys = KeyMap {
                // A bare `LlamaModel` has no `model.` prefix (and no head).
                rewrites: vec![(r"^(embed_tokens|layers|norm)\.".into(), "model.$1.".into())],
                skip_suffixes: vec!["rotary_emb.inv_freq".into()],
                ..KeyMap::default()
            };
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::Llama(Box::new(model))
        }
        Architecture::Pix2StructVision => {
            // A full Pix2StructForConditionalGeneration nests the encoder's settings and keys.
            let full = folder.config.get("vision_config").is_some();
            let settings: Pix2StructVisionSettings =
                folder.config_as(folder.config.get("vision_config").unwrap_or(&folder.config))?;
            let mut model = settings.init::<B>(device);
            let keys = if full {
                KeyMap {
                    rewrites: vec![(r"^encoder\.".into(), String::new())],
                    skip_prefixes: vec!["decoder.".into()],
                    ..KeyMap::default()
                }
            } else {
                KeyMap::default()
            };
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::Pix2StructVision(Box::new(model))
        }
        Architecture::SamVision => {
            // A full SamModel nests the encoder's settings and also holds the prompt encoder and mask decoder.
            let full = folder.config.get("vision_config").is_some();
            let settings: SamVisionSettings =
                folder.config_as(folder.config.get("vision_config").unwrap_or(&folder.config))?;
            if let Some(p) = settings.problem() {
                return Err(bad_config(p).into());
            }
            let mut model = settings.init::<B>(device);
            let mut keys = KeyMap::default();
            if full {
                keys.skip_prefixes =
                    ["prompt_encoder.", "mask_decoder.", "shared_image_embedding."].map(String::from).to_vec();
            }
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::SamVision(Box::new(model))
        }
        Architecture::Eva02 => {
            let settings = EvaSettings::of_timm_config(&folder.config).map_err(bad_config)?;
            let mut model = settings.init::<B>(device);
            let keys = KeyMap { skip_prefixes: Eva::<B>::skipped_prefixes(), ..KeyMap::default() };
            load_weights(&mut model, &folder.dir, &folder.weights, &keys)?;
            LoadedModel::Eva02(Box::new(model))
        }
    })
}
