//! `[lm] checkpoint = "DIR"` and `[data]`: a real LM (a Llama-family checkpoint folder with its
//! tokenizer and chat template) and LLaVA-format data (training conversations and a JSONL
//! evaluation set) read in place of Eyrie's own LM and the proxy world. The two come together: the
//! proxy world's text is written in Eyrie's own closed vocabulary, which only its own LM reads.

use super::error::{Locator, SpecError};
use super::names::Family;
use crate::checkpoint::lm::LmCheckpoint;
use crate::data::llava::{read_conversations, read_eval_set, LlavaFile};
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

/// Longest training sequence (text and visual tokens) when `[data]` sets none: LLaVA-1.5's.
pub const DEFAULT_MAX_LENGTH: usize = 2048;

/// `[lm]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLm {
    /// The folder, relative to the current directory.
    pub checkpoint: Spanned<String>,
}

/// `[data]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawData {
    /// Training conversations (LLaVA-1.5's JSON), for SFT and pre-alignment.
    pub train: Spanned<String>,
    /// Alignment conversations (default: `train`).
    #[serde(default)]
    pub align: Option<Spanned<String>>,
    /// The folder the records' images are relative to.
    pub images: Spanned<String>,
    /// Evaluation questions (JSONL: image, question, answer, family).
    pub eval: Spanned<String>,
    /// The folder the evaluation images are relative to (default: `images`).
    #[serde(default)]
    pub eval_images: Option<Spanned<String>>,
    /// Longest training sequence in positions.
    #[serde(default)]
    pub max_length: Option<Spanned<i64>>,
}

/// `[data]`: LLaVA-format files read in place of the proxy world's samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlavaData {
    /// Conversations of the alignment stage.
    pub align: LlavaFile,
    /// Conversations of SFT and pre-alignment.
    pub train: LlavaFile,
    /// The evaluation set.
    pub eval: LlavaFile,
    /// Longest training sequence, in positions.
    pub max_length: usize,
}

/// Reads `[lm]` and `[data]`: both or neither, each file valid, each image present.
pub(crate) fn resolve_lm_and_data(
    loc: &Locator,
    lm: Option<&RawLm>,
    data: Option<&RawData>,
    families: &[Family],
) -> Result<(Option<LmCheckpoint>, Option<LlavaData>), SpecError> {
    match (lm, data) {
        (None, None) => Ok((None, None)),
        (Some(lm), None) => Err(loc.error(
            Some(lm.checkpoint.span()),
            "lm.checkpoint",
            "a checkpoint LM needs LLaVA-format data: the proxy world's text is written in Eyrie's own \
             vocabulary, which only Eyrie's own LM reads",
            Some("add [data] with train = \"conversations.json\", images = \"DIR\", eval = \"questions.jsonl\"".into()),
        )),
        (None, Some(d)) => Err(loc.error(
            Some(d.train.span()),
            "data",
            "LLaVA-format data needs a checkpoint LM: Eyrie's own LM knows only the proxy world's vocabulary",
            Some("add [lm] with checkpoint = \"DIR\" (a Llama-family folder with tokenizer.json)".into()),
        )),
        (Some(lm), Some(d)) => {
            let ck = LmCheckpoint::open(Path::new(lm.checkpoint.get_ref())).map_err(|e| {
                loc.error(
                    Some(lm.checkpoint.span()),
                    "lm.checkpoint",
                    e.to_string(),
                    Some(
                        "a folder with config.json, model.safetensors and tokenizer.json of a LlamaForCausalLM \
                         (paths are relative to the current directory)"
                            .into(),
                    ),
                )
            })?;
            Ok((Some(ck), Some(resolve_data(loc, d, families)?)))
        }
    }
}

fn resolve_data(loc: &Locator, d: &RawData, families: &[Family]) -> Result<LlavaData, SpecError> {
    let images = Path::new(d.images.get_ref());
    if !images.is_dir() {
        return Err(loc.error(
            Some(d.images.span()),
            "data.images",
            format!("{} is not a folder", images.display()),
            None,
        ));
    }
    let eval_images = d.eval_images.as_ref().map_or(images, |e| Path::new(e.get_ref()));
    let conversations = |key: &str, raw: &Spanned<String>| -> Result<LlavaFile, SpecError> {
        let path = Path::new(raw.get_ref());
        let fail = |message: String| loc.error(Some(raw.span()), format!("data.{key}"), message, None);
        let records = read_conversations(path, images).map_err(|e| fail(e.to_string()))?;
        if records.is_empty() {
            return Err(fail(format!("{} has no records", path.display())));
        }
        LlavaFile::open(path, images).map_err(|e| fail(e.to_string()))
    };
    let train = conversations("train", &d.train)?;
    let align = match &d.align {
        Some(a) => conversations("align", a)?,
        None => train.clone(),
    };
    let eval_path = Path::new(d.eval.get_ref());
    let fail = |message: String| loc.error(Some(d.eval.span()), "data.eval", message, None);
    let items = read_eval_set(eval_path, eval_images).map_err(|e| fail(e.to_string()))?;
    if !items.iter().any(|i| families.contains(&i.family)) {
        let mut found: Vec<String> = items.iter().map(|i| i.family.to_string()).collect();
        found.sort();
        found.dedup();
        return Err(fail(format!(
            "{} has no question of the experiment's families (it has: {})",
            eval_path.display(),
            if found.is_empty() { "none".into() } else { found.join(", ") }
        )));
    }
    let eval = LlavaFile::open(eval_path, eval_images).map_err(|e| fail(e.to_string()))?;
    let max_length = match &d.max_length {
        None => DEFAULT_MAX_LENGTH,
        Some(m) if (16..=1 << 20).contains(m.get_ref()) => *m.get_ref() as usize,
        Some(m) => {
            return Err(loc.error(
                Some(m.span()),
                "data.max-length",
                format!("{} is out of range", m.get_ref()),
                Some("16 to 1048576 positions".into()),
            ))
        }
    };
    Ok(LlavaData { align, train, eval, max_length })
}
