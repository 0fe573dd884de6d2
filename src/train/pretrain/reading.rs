//! `pix2struct` pretraining: read out the image's text (words, chart values, form fields) as
//! characters, with a small decoder of learned position queries over the expert's tokens;
//! metric: character accuracy on images that show text.

use crate::data::targets::{reading_target, READ_CHARS, READ_LEN};
use crate::data::Pool;
use crate::model::attention::{CrossAttention, CrossAttentionConfig, SelfAttention, SelfAttentionConfig};
use crate::model::dense::linear;
use crate::model::encoders::{Expert, ExpertConfig};
use crate::model::loss::masked_cross_entropy;
use crate::model::ops::activation::gelu;
use crate::model::ops::layer_norm::layer_norm;
use crate::train::batches::images;
use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};

/// Output classes: end of text, then each reading character.
fn classes() -> usize {
    1 + READ_CHARS.len()
}

/// Decoder layers (one to find the text and its size, more to read each letter at its place).
const READ_LAYERS: usize = 2;

/// One decoder layer: queries attend to each other, then to the image tokens, then an MLP.
#[derive(Module, Debug)]
pub struct ReadingLayer<B: Backend> {
    norm1: LayerNorm<B>,
    self_attn: SelfAttention<B>,
    norm2: LayerNorm<B>,
    cross: CrossAttention<B>,
    norm3: LayerNorm<B>,
    fc1: Linear<B>,
    fc2: Linear<B>,
}

impl<B: Backend> ReadingLayer<B> {
    fn new(d: usize, heads: usize, device: &B::Device) -> Self {
        Self {
            norm1: LayerNormConfig::new(d).init(device),
            self_attn: SelfAttentionConfig::new(d, heads).init(device),
            norm2: LayerNormConfig::new(d).init(device),
            cross: CrossAttentionConfig::new(d, d, heads).init(device),
            norm3: LayerNormConfig::new(d).init(device),
            fc1: LinearConfig::new(d, 2 * d).init(device),
            fc2: LinearConfig::new(2 * d, d).init(device),
        }
    }

    /// # Shapes
    /// - `q`: `[b, READ_LEN, d]`, `tokens`: `[b, n, d]` → `[b, READ_LEN, d]`
    pub fn forward(&self, q: Tensor<B, 3>, tokens: Tensor<B, 3>) -> Tensor<B, 3> {
        let q = q.clone() + self.self_attn.forward(layer_norm(&self.norm1, q));
        let q = q.clone() + self.cross.forward(layer_norm(&self.norm2, q), tokens);
        q.clone() + linear(&self.fc2, gelu(linear(&self.fc1, layer_norm(&self.norm3, q))))
    }
}

/// An expert with a text-reading decoder.
#[derive(Module, Debug)]
pub struct ReadingModel<B: Backend> {
    /// The expert being pretrained.
    pub expert: Expert<B>,
    queries: Param<Tensor<B, 2>>,
    layers: Vec<ReadingLayer<B>>,
    norm: LayerNorm<B>,
    head: Linear<B>,
}

impl<B: Backend> ReadingModel<B> {
    /// Builds the expert and a fresh decoder of [`READ_LAYERS`] layers.
    pub fn new(cfg: &ExpertConfig, device: &B::Device) -> Self {
        let d = cfg.out_channels();
        Self {
            expert: cfg.init(device),
            queries: Param::from_tensor(Tensor::random([READ_LEN, d], Distribution::Normal(0.0, 0.5), device)),
            layers: (0..READ_LAYERS).map(|_| ReadingLayer::new(d, cfg.heads, device)).collect(),
            norm: LayerNormConfig::new(d).init(device),
            head: LinearConfig::new(d, classes()).init(device),
        }
    }

    /// Character logits per output position.
    ///
    /// # Shapes
    /// - `x`: `[b, 3, r, r]` → `[b, READ_LEN, classes]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 3> {
        let map = self.expert.forward(x);
        let [b, c, h, w] = map.dims();
        let tokens = map.reshape([b, c, h * w]).swap_dims(1, 2);
        let mut q = self.queries.val().reshape([1, READ_LEN, c]).repeat_dim(0, b);
        for layer in &self.layers {
            q = layer.forward(q, tokens.clone());
        }
        linear(&self.head, layer_norm(&self.norm, q))
    }
}

/// Target classes of `idx`, row-major `[idx.len(), READ_LEN]`, and the mask of the positions
/// scored: the text's characters and its end marker (nothing for images without text).
fn targets(pool: &Pool, idx: &[usize]) -> (Vec<i64>, Vec<f32>) {
    let mut t = Vec::with_capacity(idx.len() * READ_LEN);
    let mut mask = Vec::with_capacity(idx.len() * READ_LEN);
    for &i in idx {
        let target = reading_target(&pool.samples[i].scene);
        let len = target.iter().take_while(|&&c| c != 0).count();
        for (k, &c) in target.iter().enumerate() {
            t.push(c as i64);
            mask.push(if len > 0 && k <= len { 1.0 } else { 0.0 });
        }
    }
    (t, mask)
}

/// Cross-entropy over every position (images without text learn to emit the end marker at once).
pub fn loss<B: Backend>(
    m: &ReadingModel<B>,
    pool: &Pool,
    idx: &[usize],
    side: usize,
    device: &B::Device,
) -> Tensor<B, 1> {
    let logits = m.forward(images(pool, idx, side, device));
    let (t, _) = targets(pool, idx);
    let t = Tensor::from_data(TensorData::new(t, [idx.len(), READ_LEN]), device);
    masked_cross_entropy(logits, t, Tensor::ones([idx.len(), READ_LEN], device))
}

/// Percent of characters (and end markers) read right, over images that show text.
pub fn char_accuracy<B: Backend>(
    m: &ReadingModel<B>,
    pool: &Pool,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    let (mut right, mut total) = (0.0f64, 0.0f64);
    for start in (0..pool.len()).step_by(batch) {
        let idx: Vec<usize> = (start..(start + batch).min(pool.len())).collect();
        let pred =
            m.forward(images(pool, &idx, side, device)).argmax(2).into_data().convert::<i64>().to_vec::<i64>().unwrap();
        let (truth, mask) = targets(pool, &idx);
        for k in 0..truth.len() {
            total += mask[k] as f64;
            right += mask[k] as f64 * (pred[k] == truth[k]) as u8 as f64;
        }
    }
    100.0 * right / total.max(1.0)
}

/// Whether `pred` reads `truth` (both one image's `READ_LEN` classes): every character of the text
/// and the end marker right. What follows the end marker is not read, so it is not compared.
pub fn read_right(pred: &[i64], truth: &[i64]) -> bool {
    let end = truth.iter().position(|&c| c == 0).map_or(truth.len(), |k| k + 1);
    pred[..end] == truth[..end]
}

/// Percent of one-word images (the `ocr` family's scenes) whose word is read exactly ([`read_right`]).
pub fn word_accuracy<B: Backend>(
    m: &ReadingModel<B>,
    pool: &Pool,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    word_accuracy_among(m, pool, pool.len(), side, batch, device)
}

/// [`word_accuracy`] over the one-word images among the first `limit` images of `pool`.
pub fn word_accuracy_among<B: Backend>(
    m: &ReadingModel<B>,
    pool: &Pool,
    limit: usize,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    let words: Vec<usize> = (0..pool.len().min(limit))
        .filter(|&i| matches!(pool.samples[i].scene, crate::data::scene::Scene::Text { .. }))
        .collect();
    let (mut right, mut total) = (0usize, 0usize);
    for chunk in words.chunks(batch.max(1)) {
        let pred = m
            .forward(images(pool, chunk, side, device))
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap();
        let (truth, _) = targets(pool, chunk);
        for j in 0..chunk.len() {
            total += 1;
            let span = j * READ_LEN..(j + 1) * READ_LEN;
            right += read_right(&pred[span.clone()], &truth[span]) as usize;
        }
    }
    100.0 * right as f64 / total.max(1) as f64
}

/// Builds [`ReadingModel`]s: the expert `.0` with a fresh head.
pub struct Head<'a>(pub &'a ExpertConfig);

impl crate::train::HostInit for Head<'_> {
    type Module<B: Backend> = ReadingModel<B>;
    fn build<B: Backend>(&self, device: &B::Device) -> Self::Module<B> {
        ReadingModel::new(self.0, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_read_right_when_its_characters_and_end_marker_are() {
        // "cat" then the end marker then padding.
        let truth = [4, 2, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let right = truth;
        assert!(read_right(&right, &truth));
        // Whatever follows the end marker is not read.
        let trailing = [4, 2, 21, 0, 7, 7, 0, 0, 0, 0, 0, 9];
        assert!(read_right(&trailing, &truth));
        // A wrong character, a missing end marker, or a word cut short is wrong.
        assert!(!read_right(&[4, 2, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0], &truth));
        assert!(!read_right(&[4, 2, 21, 5, 0, 0, 0, 0, 0, 0, 0, 0], &truth));
        assert!(!read_right(&[4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &truth));
        // A text as long as the output has no end marker: all of it is compared.
        let full = [4; READ_LEN];
        assert!(read_right(&full, &full));
        let mut last_wrong = full;
        last_wrong[READ_LEN - 1] = 5;
        assert!(!read_right(&last_wrong, &full));
    }
}
