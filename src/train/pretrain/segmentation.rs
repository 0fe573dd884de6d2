//! `sam` pretraining: per-cell class masks (background, four shapes, text, bars) at twice the token
//! grid, predicted by a linear head per token and pixel-shuffled; metric: mean IoU.

use crate::data::render::Image;
use crate::data::targets::{segmentation, SEG_CLASSES};
use crate::data::Pool;
use crate::model::dense::linear;
use crate::model::encoders::{Expert, ExpertConfig};
use crate::model::loss::masked_cross_entropy;
use crate::train::batches::images;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;

/// Label cells per token side.
const UPSAMPLE: usize = 2;

/// An expert with a per-token segmentation head.
#[derive(Module, Debug)]
pub struct SegmentationModel<B: Backend> {
    /// The expert being pretrained.
    pub expert: Expert<B>,
    head: Linear<B>,
}

impl<B: Backend> SegmentationModel<B> {
    /// Builds the expert and a fresh head.
    pub fn new(cfg: &ExpertConfig, device: &B::Device) -> Self {
        Self {
            expert: cfg.init(device),
            head: LinearConfig::new(cfg.out_channels(), SEG_CLASSES * UPSAMPLE * UPSAMPLE).init(device),
        }
    }

    /// Class logits of every label cell, row-major over a `2g × 2g` grid.
    ///
    /// # Shapes
    /// - `x`: `[b, 3, r, r]` → `[b, (2g)², classes]` with `g` the expert's grid at `r`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 3> {
        let map = self.expert.forward(x);
        let [b, c, h, w] = map.dims();
        let u = UPSAMPLE;
        let logits = linear(&self.head, map.permute([0, 2, 3, 1]).reshape([b, h * w, c]));
        logits.reshape([b, h, w, u, u, SEG_CLASSES]).permute([0, 1, 3, 2, 4, 5]).reshape([
            b,
            h * u * w * u,
            SEG_CLASSES,
        ])
    }
}

/// Label grids of every sample of a pool, rendered at `side` for a token grid of `grid`.
pub struct SegmentationLabels {
    cells: usize,
    labels: Vec<Vec<u8>>,
}

impl SegmentationLabels {
    /// Computes the labels from the pool's images at `side`.
    pub fn new(pool: &Pool, side: usize, grid: usize) -> Self {
        let bytes = &pool.images[&side];
        let px = side * side * 3;
        let cells = grid * UPSAMPLE;
        let labels = (0..pool.len())
            .map(|i| {
                let img = Image { width: side, height: side, pixels: bytes[i * px..(i + 1) * px].to_vec() };
                segmentation(&pool.samples[i].scene, &img, cells)
            })
            .collect();
        Self { cells, labels }
    }

    /// Labels of `idx`.
    ///
    /// # Shapes
    /// - returns `[idx.len(), cells²]`
    pub fn batch<B: Backend>(&self, idx: &[usize], device: &B::Device) -> Tensor<B, 2, Int> {
        let n = self.cells * self.cells;
        let v: Vec<i64> = idx.iter().flat_map(|&i| self.labels[i].iter().map(|&c| c as i64)).collect();
        Tensor::from_data(TensorData::new(v, [idx.len(), n]), device)
    }
}

/// The segmentation loss of batch `idx`.
pub fn loss<B: Backend>(
    m: &SegmentationModel<B>,
    labels: &SegmentationLabels,
    pool: &Pool,
    idx: &[usize],
    side: usize,
    device: &B::Device,
) -> Tensor<B, 1> {
    let logits = m.forward(images(pool, idx, side, device));
    let [b, n, _] = logits.dims();
    masked_cross_entropy(logits, labels.batch(idx, device), Tensor::ones([b, n], device))
}

/// Mean intersection-over-union (percent) over the classes present in the pool's labels or predictions.
pub fn mean_iou<B: Backend>(
    m: &SegmentationModel<B>,
    pool: &Pool,
    labels: &SegmentationLabels,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    let mut confusion = [[0usize; SEG_CLASSES]; SEG_CLASSES];
    for start in (0..pool.len()).step_by(batch) {
        let idx: Vec<usize> = (start..(start + batch).min(pool.len())).collect();
        let pred = m.forward(images(pool, &idx, side, device)).argmax(2).into_data().convert::<i64>();
        let pred = pred.as_slice::<i64>().unwrap();
        let n = labels.cells * labels.cells;
        for (j, &i) in idx.iter().enumerate() {
            for (k, &truth) in labels.labels[i].iter().enumerate() {
                confusion[truth as usize][pred[j * n + k] as usize] += 1;
            }
        }
    }
    iou_from_confusion(&confusion)
}

/// Mean IoU (percent) of a confusion matrix `[truth][prediction]`, over classes with any support.
pub fn iou_from_confusion(c: &[[usize; SEG_CLASSES]; SEG_CLASSES]) -> f64 {
    let mut ious = Vec::new();
    for (k, row) in c.iter().enumerate() {
        let tp = row[k];
        let fn_: usize = row.iter().sum::<usize>() - tp;
        let fp: usize = (0..SEG_CLASSES).map(|t| c[t][k]).sum::<usize>() - tp;
        if tp + fn_ + fp > 0 {
            ious.push(tp as f64 / (tp + fn_ + fp) as f64);
        }
    }
    100.0 * ious.iter().sum::<f64>() / ious.len().max(1) as f64
}

/// Builds [`SegmentationModel`]s: the expert `.0` with a fresh head.
pub struct Head<'a>(pub &'a ExpertConfig);

impl crate::train::HostInit for Head<'_> {
    type Module<B: Backend> = SegmentationModel<B>;
    fn build<B: Backend>(&self, device: &B::Device) -> Self::Module<B> {
        SegmentationModel::new(self.0, device)
    }
}
