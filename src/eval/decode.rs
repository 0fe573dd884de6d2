//! Batched greedy decoding of answers after `BOS question SEP`, with the visual prefix computed once.

use crate::data::text::prompt;
use crate::data::tokenizer::{EOS, PAD};
use crate::data::Pool;
use crate::model::Mllm;
use crate::train::batches::images;
use burn::prelude::*;
use burn::tensor::TensorData;

/// Longest answer generated (tokens, EOS excluded).
pub const MAX_ANSWER: usize = 5;

/// Greedy answers for every sample of `pool` (token ids, EOS excluded).
pub fn greedy_answers<B: Backend>(
    model: &Mllm<B>,
    sides: &[usize],
    pool: &Pool,
    batch: usize,
    device: &B::Device,
) -> Vec<Vec<u32>> {
    let mut out = Vec::with_capacity(pool.len());
    for start in (0..pool.len()).step_by(batch.max(1)) {
        let idx: Vec<usize> = (start..(start + batch).min(pool.len())).collect();
        let imgs: Vec<Tensor<B, 4>> = sides.iter().map(|&s| images(pool, &idx, s, device)).collect();
        let visual = model.encode_images(imgs);
        let mut seqs: Vec<Vec<u32>> = idx.iter().map(|&i| prompt(&pool.samples[i])).collect();
        let prompt_lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let mut done = vec![false; idx.len()];
        for _ in 0..=MAX_ANSWER {
            if done.iter().all(|d| *d) {
                break;
            }
            let len = seqs.iter().map(|s| s.len()).max().unwrap();
            let mut ids = vec![PAD as i32; idx.len() * len];
            for (b, s) in seqs.iter().enumerate() {
                for (t, &id) in s.iter().enumerate() {
                    ids[b * len + t] = id as i32;
                }
            }
            let ids = Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [idx.len(), len]), device);
            let logits = model.forward_with_visual(visual.clone(), ids);
            let next = logits.argmax(2).into_data().convert::<i64>();
            let next = next.as_slice::<i64>().unwrap();
            for (b, s) in seqs.iter_mut().enumerate() {
                if done[b] {
                    continue;
                }
                let tok = next[b * len + s.len() - 1] as u32;
                if tok == EOS || s.len() - prompt_lens[b] >= MAX_ANSWER {
                    done[b] = true;
                } else {
                    s.push(tok);
                }
            }
        }
        out.extend(seqs.into_iter().zip(prompt_lens).map(|(s, p)| s[p..].to_vec()));
    }
    out
}
