//! Builds a folder's module from its config and loads its weights, with each architecture's key
//! remapping (the tensors a full model holds beyond the part Eyrie reproduces are skipped by prefix).

use super::{ForwardError, LoadedModel};
use crate::checkpoint::clip::{ClipVision, ClipVisionSettings};
use crate::checkpoint::convnext::{ConvNext, ConvNextSettings};
use crate::checkpoint::eva_config::EvaSettings;
use crate::checkpoint::folder::{Architecture, CheckpointFolder};
use crate::checkpoint::llama::LlamaSettings;
use crate::checkpoint::load::{load_weights, KeyMap};
use crate::checkpoint::pix2struct::Pix2StructVisionSettings;
use crate::checkpoint::sam::SamVisionSettings;
use burn::prelude::*;

/// The part of `config` (a `config.json`) that configures `architecture`'s module: a full model
/// nests it under `vision_config`.
pub fn module_config(architecture: Architecture, config: &serde_json::Value) -> &serde_json::Value {
    match architecture {
        Architecture::ClipVision | Architecture::Pix2StructVision | Architecture::SamVision => {
            config.get("vision_config").unwrap_or(config)
        }
        _ => config,
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))
}

fn checked(problem: Option<String>) -> Result<(), String> {
    problem.map_or(Ok(()), Err)
}

/// The module `config` describes, with fresh weights; an error says what in the config is wrong.
pub fn init_model<B: Backend>(
    architecture: Architecture,
    config: &serde_json::Value,
    device: &B::Device,
) -> Result<LoadedModel<B>, String> {
    let c = module_config(architecture, config);
    Ok(match architecture {
        Architecture::ClipVision => LoadedModel::ClipVision(Box::new(parse::<ClipVisionSettings>(c)?.init(device))),
        Architecture::ConvNext => {
            let s: ConvNextSettings = parse(c)?;
            checked(s.problem())?;
            LoadedModel::ConvNext(Box::new(s.init(device)))
        }
        Architecture::Llama => {
            let s: LlamaSettings = parse(c)?;
            checked(s.problem())?;
            LoadedModel::Llama(Box::new(s.init(device)))
        }
        Architecture::Pix2StructVision => {
            LoadedModel::Pix2StructVision(Box::new(parse::<Pix2StructVisionSettings>(c)?.init(device)))
        }
        Architecture::SamVision => {
            let s: SamVisionSettings = parse(c)?;
            checked(s.problem())?;
            LoadedModel::SamVision(Box::new(s.init(device)))
        }
        Architecture::Eva02 => LoadedModel::Eva02(Box::new(EvaSettings::of_timm_config(c)?.init(device))),
    })
}

/// The checkpoint key prefixes of the parts of a full model that Eyrie does not reproduce.
pub fn skipped_prefixes(architecture: Architecture, config: &serde_json::Value) -> Vec<String> {
    let full = config.get("vision_config").is_some();
    let list: &[&str] = match architecture {
        Architecture::ClipVision if full => &["text_model.", "visual_projection.", "text_projection.", "logit_scale"],
        Architecture::ConvNext => &["classifier."],
        Architecture::Pix2StructVision if full => &["decoder."],
        Architecture::SamVision if full => &["prompt_encoder.", "mask_decoder.", "shared_image_embedding."],
        Architecture::Eva02 => &["head.", "fc_norm.", "attn_pool."],
        _ => &[],
    };
    list.iter().map(|p| p.to_string()).collect()
}

/// How `architecture`'s checkpoint keys map onto the module (`full`: the config nests the module's
/// under `vision_config`, so the checkpoint holds a whole model).
pub fn key_map<B: Backend>(architecture: Architecture, config: &serde_json::Value) -> KeyMap {
    let full = config.get("vision_config").is_some();
    let skip_prefixes = skipped_prefixes(architecture, config);
    match architecture {
        Architecture::ClipVision => KeyMap {
            rewrites: ClipVision::<B>::key_rewrites(),
            skip_suffixes: vec!["position_ids".into()],
            skip_prefixes,
        },
        Architecture::ConvNext => {
            KeyMap { rewrites: ConvNext::<B>::key_rewrites(), skip_prefixes, ..KeyMap::default() }
        }
        Architecture::Llama => KeyMap {
            // A bare `LlamaModel` has no `model.` prefix (and no head).
            rewrites: vec![(r"^(embed_tokens|layers|norm)\.".into(), "model.$1.".into())],
            skip_suffixes: vec!["rotary_emb.inv_freq".into()],
            ..KeyMap::default()
        },
        Architecture::Pix2StructVision if full => {
            KeyMap { rewrites: vec![(r"^encoder\.".into(), String::new())], skip_prefixes, ..KeyMap::default() }
        }
        Architecture::Pix2StructVision | Architecture::SamVision | Architecture::Eva02 => {
            KeyMap { skip_prefixes, ..KeyMap::default() }
        }
    }
}

/// Builds the folder's architecture from its config and loads its weights.
pub fn load_model<B: Backend>(folder: &CheckpointFolder, device: &B::Device) -> Result<LoadedModel<B>, ForwardError> {
    let bad_config =
        |message: String| crate::checkpoint::FolderError::Json { path: folder.dir.join("config.json"), message };
    let mut model = init_model::<B>(folder.architecture, &folder.config, device).map_err(bad_config)?;
    let keys = key_map::<B>(folder.architecture, &folder.config);
    let (dir, files) = (&folder.dir, &folder.weights);
    match &mut model {
        LoadedModel::ClipVision(m) => load_weights(&mut **m, dir, files, &keys)?,
        LoadedModel::ConvNext(m) => load_weights(&mut **m, dir, files, &keys)?,
        LoadedModel::Llama(m) => load_weights(&mut **m, dir, files, &keys)?,
        LoadedModel::Pix2StructVision(m) => load_weights(&mut **m, dir, files, &keys)?,
        LoadedModel::SamVision(m) => load_weights(&mut **m, dir, files, &keys)?,
        LoadedModel::Eva02(m) => load_weights(&mut **m, dir, files, &keys)?,
    }
    Ok(model)
}
