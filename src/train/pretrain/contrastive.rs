//! `clip` and `convnext` pretraining: image-caption contrastive (text side: a bag of caption words).

use crate::data::Pool;
use crate::model::encoders::{Expert, ExpertConfig};
use crate::model::loss::contrastive;
use crate::spec::Family;
use crate::train::batches::images;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;

/// An expert with the image-text contrastive head it pretrains with (text side: bag of caption words).
#[derive(Module, Debug)]
pub struct ContrastiveModel<B: Backend> {
    /// The expert being pretrained.
    pub expert: Expert<B>,
    image_proj: Linear<B>,
    text_embed: Embedding<B>,
    text_proj: Linear<B>,
}

impl<B: Backend> ContrastiveModel<B> {
    /// Builds the expert and a fresh head.
    pub fn new(cfg: &ExpertConfig, vocab: usize, embed_dim: usize, device: &B::Device) -> Self {
        Self {
            expert: cfg.init(device),
            image_proj: LinearConfig::new(cfg.out_channels(), embed_dim).init(device),
            text_embed: EmbeddingConfig::new(vocab, embed_dim).init(device),
            text_proj: LinearConfig::new(embed_dim, embed_dim).init(device),
        }
    }

    /// Image and caption embeddings.
    ///
    /// # Shapes
    /// - `x`: `[b, 3, r, r]`, `ids`/`mask`: `[b, t]` → two of `[b, embed_dim]`
    pub fn forward(&self, x: Tensor<B, 4>, ids: Tensor<B, 2, Int>, mask: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let map = self.expert.forward(x);
        let [b, c, h, w] = map.dims();
        // Max over positions, not mean: a small word covers two of 64 patches and a mean drowns it in
        // background (a mean-pooled ViT stays at chance on reading for thousands of steps; max learns).
        let pooled = map.reshape([b, c, h * w]).max_dim(2).reshape([b, c]);
        let img = self.image_proj.forward(pooled);
        let [_, t] = ids.dims();
        let words = self.text_embed.forward(ids) * mask.clone().reshape([b, t, 1]);
        let e = words.dims()[2];
        let bag = words.sum_dim(1).reshape([b, e]) / mask.sum_dim(1).clamp_min(1.0);
        (img, self.text_proj.forward(bag))
    }
}

/// Caption ids (no BOS/EOS) padded, with a mask.
fn caption_bag<B: Backend>(pool: &Pool, idx: &[usize], device: &B::Device) -> (Tensor<B, 2, Int>, Tensor<B, 2>) {
    let len = idx.iter().map(|&i| pool.samples[i].caption_ids.len()).max().unwrap_or(1).max(1);
    let mut ids = vec![0i32; idx.len() * len];
    let mut mask = vec![0f32; idx.len() * len];
    for (b, &i) in idx.iter().enumerate() {
        for (t, &id) in pool.samples[i].caption_ids.iter().enumerate() {
            ids[b * len + t] = id as i32;
            mask[b * len + t] = 1.0;
        }
    }
    (
        Tensor::from_data(TensorData::new(ids, [idx.len(), len]), device),
        Tensor::from_data(TensorData::new(mask, [idx.len(), len]), device),
    )
}

/// Image-caption retrieval accuracy (image → caption, top-1) over `pool`, in percent.
pub fn retrieval_accuracy<B: Backend>(
    model: &ContrastiveModel<B>,
    pool: &Pool,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    let all: Vec<usize> = (0..pool.len()).collect();
    retrieval_accuracy_among(model, pool, &all, side, batch, device)
}

/// Retrieval accuracy among the `family` scenes of `pool` alone (each image against the captions of
/// its own batch of that family), in percent: for text scenes, whether the expert reads the word.
pub fn family_retrieval_accuracy<B: Backend>(
    model: &ContrastiveModel<B>,
    pool: &Pool,
    family: Family,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    let chosen: Vec<usize> = (0..pool.len()).filter(|&i| pool.samples[i].family == Some(family)).collect();
    retrieval_accuracy_among(model, pool, &chosen, side, batch, device)
}

/// Retrieval accuracy over the images `chosen` of `pool`, in batches of `batch`, in percent.
fn retrieval_accuracy_among<B: Backend>(
    model: &ContrastiveModel<B>,
    pool: &Pool,
    chosen: &[usize],
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    let mut hits = 0usize;
    let mut total = 0usize;
    for idx in chosen.chunks(batch) {
        let idx = idx.to_vec();
        if idx.len() < 2 {
            break;
        }
        let (ids, mask) = caption_bag(pool, &idx, device);
        let (a, b) = model.forward(images(pool, &idx, side, device), ids, mask);
        let sim = a.matmul(b.transpose());
        let best = sim.argmax(1).into_data().convert::<i64>();
        let best = best.as_slice::<i64>().unwrap();
        for (j, &k) in best.iter().enumerate() {
            // A caption identical to the true one counts as a hit (scenes can share captions).
            hits += (pool.samples[idx[j]].caption_ids == pool.samples[idx[k as usize]].caption_ids) as usize;
        }
        total += idx.len();
    }
    100.0 * hits as f64 / total.max(1) as f64
}

/// The contrastive loss of batch `idx` at `side` pixels.
pub fn loss<B: Backend>(
    m: &ContrastiveModel<B>,
    pool: &Pool,
    idx: &[usize],
    side: usize,
    device: &B::Device,
) -> Tensor<B, 1> {
    let (ids, mask) = caption_bag(pool, idx, device);
    let (a, b) = m.forward(images(pool, idx, side, device), ids, mask);
    contrastive(a, b, 0.1)
}

/// Builds [`ContrastiveModel`]s: the expert with a fresh text tower and projections.
pub struct Head<'a> {
    /// The expert.
    pub cfg: &'a ExpertConfig,
    /// Text vocabulary size.
    pub vocab: usize,
    /// Width of the shared embedding.
    pub embed_dim: usize,
}

impl crate::train::HostInit for Head<'_> {
    type Module<B: Backend> = ContrastiveModel<B>;
    fn build<B: Backend>(&self, device: &B::Device) -> Self::Module<B> {
        ContrastiveModel::new(self.cfg, self.vocab, self.embed_dim, device)
    }
}
