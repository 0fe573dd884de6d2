//! Evaluation on a LLaVA-style JSONL set: each question asked in the checkpoint LM's chat template
//! after its image, the answer decoded greedily until the end-of-sequence token, scored per family
//! by VQA-style normalised exact match.

use crate::data::llava::chat::{ChatError, ChatFormat};
use crate::data::llava::images::{load_square, push_chw};
use crate::data::llava::{read_eval_set, score_answers, LlavaError, LlavaFile};
use crate::eval::Scores;
use crate::model::{Mllm, MllmConfig};
use crate::spec::Family;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Longest answer decoded, in tokens.
pub const MAX_NEW_TOKENS: usize = 32;

/// Errors of evaluating on a JSONL set.
#[derive(Debug, thiserror::Error)]
pub enum EvalSetError {
    /// The set or its images are not valid.
    #[error(transparent)]
    Data(#[from] LlavaError),
    /// A prompt cannot be rendered, tokenized or decoded.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// None of the set's questions is in a family the cell evaluates.
    #[error("{}: no question of the families {families} (its questions are of: {found})", path.display())]
    NoQuestions {
        /// The set.
        path: std::path::PathBuf,
        /// The cell's families.
        families: String,
        /// The set's families.
        found: String,
    },
}

/// Greedy answers of `model` to one question about one image, as token ids (without the end token).
///
/// # Shapes
/// - `images[i]`: `[1, 3, res_i, res_i]`
fn answer<B: Backend>(
    model: &Mllm<B>,
    images: Vec<Tensor<B, 4>>,
    before: &[u32],
    after: &[u32],
    eos: u32,
    device: &B::Device,
) -> Vec<u32> {
    let visual = model.encode_images(images);
    let nv = visual.as_ref().map_or(0, |v| v.dims()[1]);
    let before_embeds = (!before.is_empty()).then(|| {
        let ids: Vec<i32> = before.iter().map(|&t| t as i32).collect();
        model.embed_text(Tensor::from_data(TensorData::new(ids, [1, before.len()]), device))
    });
    let prefix: Vec<Tensor<B, 3>> = before_embeds.into_iter().chain(visual).collect();
    let mut seq: Vec<u32> = after.to_vec();
    let mut out = Vec::new();
    for _ in 0..MAX_NEW_TOKENS {
        let ids: Vec<i32> = seq.iter().map(|&t| t as i32).collect();
        let text = model.embed_text(Tensor::from_data(TensorData::new(ids, [1, seq.len()]), device));
        let mut parts = prefix.clone();
        parts.push(text);
        let x = Tensor::cat(parts, 1);
        let n = before.len() + nv + seq.len();
        let logits = model.decode(x, Some(Tensor::ones([1, n], device)));
        let vocab = logits.dims()[2];
        let last = logits.slice([0..1, n - 1..n, 0..vocab]).argmax(2).into_data().convert::<i64>();
        let next = last.as_slice::<i64>().expect("argmax ids")[0] as u32;
        if next == eos {
            break;
        }
        out.push(next);
        seq.push(next);
    }
    out
}

/// Scores `model` on the questions of `set` whose family is among `families` (in that order).
pub fn evaluate_set<B: Backend>(
    model: &Mllm<B>,
    cfg: &MllmConfig,
    chat: &ChatFormat,
    set: &LlavaFile,
    families: &[Family],
    device: &B::Device,
) -> Result<Scores, EvalSetError> {
    let items = read_eval_set(&set.path, &set.images)?;
    let sides: Vec<usize> = cfg.experts.iter().map(|(_, r)| *r).collect();
    let mut scores = Vec::new();
    for &family in families {
        let mine: Vec<_> = items.iter().filter(|i| i.family == family).collect();
        if mine.is_empty() {
            continue;
        }
        let mut predictions = Vec::with_capacity(mine.len());
        for item in &mine {
            let prompt = chat.prompt(&item.question)?;
            let path = set.images.join(&item.image);
            let mut images = Vec::with_capacity(sides.len());
            for &side in &sides {
                let mut data = Vec::new();
                push_chw(&mut data, Some(&load_square(&path, side)?), side);
                images.push(Tensor::from_data(TensorData::new(data, [1, 3, side, side]), device));
            }
            let ids = answer(model, images, &prompt.before, &prompt.after, chat.eos_id, device);
            predictions.push(chat.decode(&ids)?);
        }
        let references: Vec<Vec<String>> =
            mine.iter().map(|i| i.answers().into_iter().map(String::from).collect()).collect();
        scores.push(score_answers(family, &predictions, &references));
    }
    if scores.is_empty() {
        let mut found: Vec<String> = items.iter().map(|i| i.family.to_string()).collect();
        found.sort();
        found.dedup();
        return Err(EvalSetError::NoQuestions {
            path: set.path.clone(),
            families: families.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", "),
            found: found.join(", "),
        });
    }
    Ok(Scores::new(scores))
}
