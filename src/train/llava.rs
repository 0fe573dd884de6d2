//! Training an MLLM on LLaVA-format conversations: each record rendered with the checkpoint LM's chat
//! template, its image's visual tokens in place of `<image>`, the loss on the answers only.

use super::batches::batch_indices;
use super::fit::{fit_groups, FitSettings, Progress, StepLog};
use super::mllm_stages::{apply_freeze, expert_group, Trainable};
use super::Divergence;
use crate::data::llava::chat::{ChatFormat, Tokenized};
use crate::data::llava::images::{load_square, push_chw};
use crate::data::llava::{read_conversations, LlavaError, LlavaFile};
use crate::model::loss::masked_cross_entropy;
use crate::model::{Mllm, MllmConfig};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::TensorData;
use std::path::PathBuf;

/// A conversation file, tokenized: one example per record, with its image's path.
pub struct ConversationSet {
    /// The records as tokens.
    pub examples: Vec<Tokenized>,
    /// Each record's image (None: a text-only record, whose visual tokens are masked out).
    pub images: Vec<Option<PathBuf>>,
}

/// Errors of preparing LLaVA-format training data.
#[derive(Debug, thiserror::Error)]
pub enum ConversationSetError {
    /// The file or its images are not valid LLaVA data.
    #[error(transparent)]
    Data(#[from] LlavaError),
    /// A record cannot be rendered or tokenized.
    #[error("{}: record {index} (id {id:?}): {source}", path.display())]
    Chat {
        /// The data file.
        path: PathBuf,
        /// The record's position.
        index: usize,
        /// The record's id.
        id: String,
        /// Why.
        #[source]
        source: crate::data::llava::chat::ChatError,
    },
    /// The file has no records.
    #[error("{}: no records", path.display())]
    Empty {
        /// The data file.
        path: PathBuf,
    },
}

impl ConversationSet {
    /// Reads and tokenizes every record of `file` with `chat`.
    pub fn read(file: &LlavaFile, chat: &ChatFormat) -> Result<Self, ConversationSetError> {
        let records = read_conversations(&file.path, &file.images)?;
        if records.is_empty() {
            return Err(ConversationSetError::Empty { path: file.path.clone() });
        }
        let mut examples = Vec::with_capacity(records.len());
        for (index, r) in records.iter().enumerate() {
            let t = chat.conversation(r).map_err(|source| ConversationSetError::Chat {
                path: file.path.clone(),
                index,
                id: r.id.clone(),
                source,
            })?;
            examples.push(t);
        }
        let images = records.iter().map(|r| r.image.as_ref().map(|i| file.images.join(i))).collect();
        Ok(Self { examples, images })
    }
}

/// One training batch of interleaved sequences, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// Samples.
    pub batch: usize,
    /// Tokens before the image, left-padded (0 columns when no sample has any).
    pub before: Vec<i32>,
    /// Width of `before`.
    pub before_len: usize,
    /// Tokens after the image, right-padded.
    pub after: Vec<i32>,
    /// Width of `after`.
    pub after_len: usize,
    /// Visual tokens per sample.
    pub visual: usize,
    /// 1 for every position attended to (tokens; visual tokens of samples with an image).
    pub mask: Vec<f32>,
    /// Next-token target of every position.
    pub targets: Vec<i32>,
    /// 1 where the target is an answer token.
    pub loss_mask: Vec<f32>,
}

impl HostBatch {
    /// Positions per sample.
    pub fn len(&self) -> usize {
        self.before_len + self.visual + self.after_len
    }

    /// Whether the batch has no positions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Lays out `examples` as one batch: `before` left-padded, `visual` visual tokens, `after` right-padded;
/// each record's own positions (its prompt, its visual tokens when it has an image, its text) cut
/// to `max_length` by dropping the end of its text. Targets are the next token, counted where it
/// is an answer's. (The padded width may exceed `max_length` when records of different prompt
/// lengths or with and without images share a batch.)
pub fn host_batch(examples: &[&Tokenized], visual: usize, max_length: usize, pad: u32) -> HostBatch {
    let b = examples.len();
    let before_len = examples.iter().map(|e| e.before.len()).max().unwrap_or(0);
    let kept: Vec<usize> = examples.iter().map(|e| kept_after(e, visual, max_length)).collect();
    let after_len = kept.iter().copied().max().unwrap_or(0).max(1);
    let len = before_len + visual + after_len;
    let mut hb = HostBatch {
        batch: b,
        before: vec![pad as i32; b * before_len],
        before_len,
        after: vec![pad as i32; b * after_len],
        after_len,
        visual,
        mask: vec![0.0; b * len],
        targets: vec![pad as i32; b * len],
        loss_mask: vec![0.0; b * len],
    };
    for (i, e) in examples.iter().enumerate() {
        let off = before_len - e.before.len();
        for (t, &id) in e.before.iter().enumerate() {
            hb.before[i * before_len + off + t] = id as i32;
            hb.mask[i * len + off + t] = 1.0;
        }
        if e.image {
            for p in before_len..before_len + visual {
                hb.mask[i * len + p] = 1.0;
            }
        }
        let start = before_len + visual;
        for (t, (&id, &answer)) in e.after.iter().zip(&e.answer).take(kept[i]).enumerate() {
            hb.after[i * after_len + t] = id as i32;
            hb.mask[i * len + start + t] = 1.0;
            // Position `start + t - 1` predicts this token (the first token of a sequence has no predecessor).
            if let Some(p) = (start + t).checked_sub(1) {
                hb.targets[i * len + p] = id as i32;
                hb.loss_mask[i * len + p] = if answer { 1.0 } else { 0.0 };
            }
        }
    }
    hb
}

/// How many of `e`'s tokens after the image fit in `max_length` positions with its prompt and (when
/// it has an image) `visual` visual tokens.
pub fn kept_after(e: &Tokenized, visual: usize, max_length: usize) -> usize {
    let used = e.before.len() + if e.image { visual } else { 0 };
    e.after.len().min(max_length.saturating_sub(used))
}

/// Answer tokens of `set` left after cutting each record to `max_length` positions, and how many
/// records lost some.
pub fn answers_kept(set: &ConversationSet, visual: usize, max_length: usize) -> (usize, usize) {
    let mut kept = 0;
    let mut cut = 0;
    for e in &set.examples {
        let k = kept_after(e, visual, max_length);
        kept += e.answer[..k].iter().filter(|a| **a).count();
        cut += usize::from(k < e.after.len());
    }
    (kept, cut)
}

/// Images of `set`'s records `indices` at `side`, normalised (a text-only record's all grey).
///
/// # Shapes
/// - returns `[indices.len(), 3, side, side]`
pub fn set_images<B: Backend>(
    set: &ConversationSet,
    indices: &[usize],
    side: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    let mut data = Vec::with_capacity(indices.len() * 3 * side * side);
    for &i in indices {
        let rgb = set.images[i].as_ref().map(|p| {
            // Checked to exist when read; a file that cannot be decoded fails the stage here.
            load_square(p, side).unwrap_or_else(|e| panic!("{e}"))
        });
        push_chw(&mut data, rgb.as_deref(), side);
    }
    Tensor::from_data(TensorData::new(data, [indices.len(), 3, side, side]), device)
}

/// Trains the MLLM on `set` with the parts in `trainable` unlocked; an error if it diverged.
#[allow(clippy::too_many_arguments)]
pub fn train_on_conversations<B: AutodiffBackend>(
    model: Mllm<B>,
    cfg: &MllmConfig,
    set: &ConversationSet,
    trainable: Trainable,
    batch: usize,
    max_length: usize,
    settings: &FitSettings,
    seed: u64,
    stage: &str,
    device: &B::Device,
    progress: &dyn Progress,
) -> Result<(Mllm<B>, Vec<StepLog>), Divergence> {
    let model = apply_freeze(model, &trainable);
    let sides: Vec<usize> = cfg.experts.iter().map(|(_, r)| *r).collect();
    let visual = cfg.visual_tokens();
    let split = expert_group::<B>(&trainable);
    fit_groups(model, settings, stage, progress, &split, |m: &Mllm<B>, step| {
        let idx = batch_indices(set.examples.len(), batch, step, seed);
        let examples: Vec<&Tokenized> = idx.iter().map(|&i| &set.examples[i]).collect();
        let hb = host_batch(&examples, visual, max_length, 0);
        let imgs = sides.iter().map(|&s| set_images(set, &idx, s, device)).collect();
        let (b, len) = (hb.batch, hb.len());
        let int = |v: Vec<i32>, w: usize| Tensor::<B, 2, Int>::from_data(TensorData::new(v, [b, w]), device);
        let float = |v: Vec<f32>| Tensor::<B, 2>::from_data(TensorData::new(v, [b, len]), device);
        let before = (hb.before_len > 0).then(|| int(hb.before.clone(), hb.before_len));
        let logits = m.forward_interleaved(imgs, before, int(hb.after.clone(), hb.after_len), float(hb.mask.clone()));
        masked_cross_entropy(logits, int(hb.targets.clone(), len), float(hb.loss_mask.clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(before: &[u32], after: &[u32], answer: &[bool], image: bool) -> Tokenized {
        Tokenized { before: before.to_vec(), after: after.to_vec(), answer: answer.to_vec(), image }
    }

    #[test]
    fn a_batch_left_pads_the_prompt_masks_missing_images_and_targets_only_answers() {
        // Sample 0: two tokens before its image, then a prompt token and a two-token answer.
        let a = example(&[10, 11], &[12, 13, 14], &[false, true, true], true);
        // Sample 1: a text-only record (its visual positions are masked), one prompt and one answer token.
        let b = example(&[], &[20, 21], &[false, true], false);
        let hb = host_batch(&[&a, &b], 2, 64, 0);
        assert_eq!((hb.before_len, hb.visual, hb.after_len, hb.len()), (2, 2, 3, 7));
        assert_eq!(hb.before, vec![10, 11, 0, 0]);
        assert_eq!(hb.after, vec![12, 13, 14, 20, 21, 0]);
        assert_eq!(hb.mask[..7], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(hb.mask[7..], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
        // Position p predicts the token at p + 1: the answer tokens 13 and 14 sit at 5 and 6.
        assert_eq!(hb.targets[..7], [0, 0, 0, 12, 13, 14, 0]);
        assert_eq!(hb.loss_mask[..7], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
        assert_eq!(hb.targets[7..], [0, 0, 0, 20, 21, 0, 0]);
        assert_eq!(hb.loss_mask[7..], [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_record_longer_than_the_limit_loses_its_end() {
        let a = example(&[1, 2], &[3, 4, 5, 6, 7, 8], &[true; 6], true);
        let hb = host_batch(&[&a], 4, 9, 0);
        assert_eq!(hb.len(), 9);
        assert_eq!(hb.after, vec![3, 4, 5]);
        assert_eq!(hb.loss_mask.iter().sum::<f32>(), 3.0);
        // A text-only record in the same batch keeps its text up to the limit: it has no prompt
        // before an image and no visual tokens.
        let text = example(&[], &[9, 10, 11, 12, 13, 14, 15, 16, 17, 18], &[true; 10], false);
        let hb = host_batch(&[&a, &text], 4, 9, 0);
        assert_eq!(hb.after_len, 9);
        assert_eq!(hb.after[..9], [3, 4, 5, 0, 0, 0, 0, 0, 0]);
        assert_eq!(hb.after[9..], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
    }
}
