//! Token sequences for training: question → answer, captions, and plain text, with loss masks.

use super::tasks::Sample;
use super::tokenizer::{BOS, EOS, PAD, SEP};

/// What a sequence teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTask {
    /// `BOS question SEP answer EOS`, loss on the answer and EOS.
    Answer,
    /// `BOS caption EOS`, loss on the caption and EOS.
    Caption,
    /// `BOS question SEP answer EOS`, loss on every token (language-model pretraining).
    Everything,
}

/// A right-padded batch of token sequences with next-token targets.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBatch {
    /// Rows.
    pub batch: usize,
    /// Columns (longest sequence minus one).
    pub len: usize,
    /// Input ids, `[batch * len]`.
    pub inputs: Vec<i32>,
    /// Target ids, `[batch * len]`.
    pub targets: Vec<i32>,
    /// 1.0 where the target counts in the loss, `[batch * len]`.
    pub mask: Vec<f32>,
}

/// The full token sequence of a sample and the index from which targets count.
pub fn sequence(s: &Sample, task: TextTask) -> (Vec<u32>, usize) {
    match task {
        TextTask::Caption => {
            let mut ids = vec![BOS];
            ids.extend(&s.caption_ids);
            ids.push(EOS);
            (ids, 1)
        }
        TextTask::Answer | TextTask::Everything => {
            let mut ids = vec![BOS];
            ids.extend(&s.question_ids);
            ids.push(SEP);
            let first = ids.len();
            ids.extend(&s.answer_ids);
            ids.push(EOS);
            (ids, if task == TextTask::Answer { first } else { 1 })
        }
    }
}

/// The prompt for generation: `BOS question SEP`.
pub fn prompt(s: &Sample) -> Vec<u32> {
    let mut ids = vec![BOS];
    ids.extend(&s.question_ids);
    ids.push(SEP);
    ids
}

/// Builds a padded batch of `samples` for `task`.
pub fn text_batch<'a>(samples: impl IntoIterator<Item = &'a Sample>, task: TextTask) -> TextBatch {
    let seqs: Vec<(Vec<u32>, usize)> = samples.into_iter().map(|s| sequence(s, task)).collect();
    // Rounded up to a multiple of 8: a handful of distinct shapes, so GPU backends reuse their
    // compiled kernels instead of compiling for every batch (padding is masked and, the LM being
    // causal, changes no real position).
    let len = seqs.iter().map(|(s, _)| s.len() - 1).max().unwrap_or(0).div_ceil(8) * 8;
    let batch = seqs.len();
    let mut inputs = vec![PAD as i32; batch * len];
    let mut targets = vec![PAD as i32; batch * len];
    let mut mask = vec![0f32; batch * len];
    for (b, (seq, first)) in seqs.iter().enumerate() {
        for t in 0..seq.len() - 1 {
            inputs[b * len + t] = seq[t] as i32;
            targets[b * len + t] = seq[t + 1] as i32;
            if t + 1 >= *first {
                mask[b * len + t] = 1.0;
            }
        }
    }
    TextBatch { batch, len, inputs, targets, mask }
}
