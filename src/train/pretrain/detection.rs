//! `eva02` pretraining: per token, objectness, shape class and box (centre offset in the cell, half
//! side) of the object whose centre falls in that cell; metric: box recall at IoU 0.5 with the right class.

use crate::data::targets::{box_iou, boxes, BoxTarget, DET_CLASSES};
use crate::data::Pool;
use crate::model::dense::linear;
use crate::model::encoders::{Expert, ExpertConfig};
use crate::model::loss::masked_cross_entropy;
use crate::train::batches::images;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};
use burn::tensor::TensorData;

/// Outputs per token: objectness, classes, (dx, dy, half side in cells).
const OUT: usize = 1 + DET_CLASSES + 3;

/// An expert with a per-token detection head.
#[derive(Module, Debug)]
pub struct DetectionModel<B: Backend> {
    /// The expert being pretrained.
    pub expert: Expert<B>,
    head: Linear<B>,
}

impl<B: Backend> DetectionModel<B> {
    /// Builds the expert and a fresh head.
    pub fn new(cfg: &ExpertConfig, device: &B::Device) -> Self {
        Self { expert: cfg.init(device), head: LinearConfig::new(cfg.out_channels(), OUT).init(device) }
    }

    /// Raw head outputs per token and the grid side.
    ///
    /// # Shapes
    /// - `x`: `[b, 3, r, r]` → `([b, g², 1 + classes + 3], g)`
    pub fn forward(&self, x: Tensor<B, 4>) -> (Tensor<B, 3>, usize) {
        let map = self.expert.forward(x);
        let [b, c, h, w] = map.dims();
        (linear(&self.head, map.permute([0, 2, 3, 1]).reshape([b, h * w, c])), w)
    }
}

/// Dense per-cell targets of a batch.
struct Targets<B: Backend> {
    objectness: Tensor<B, 2>,
    class: Tensor<B, 2, Int>,
    boxes: Tensor<B, 3>,
    positive: Tensor<B, 2>,
}

fn cell_of(t: &BoxTarget, g: usize) -> (usize, usize) {
    (((t.y * g as f32) as usize).min(g - 1), ((t.x * g as f32) as usize).min(g - 1))
}

fn targets<B: Backend>(pool: &Pool, idx: &[usize], g: usize, device: &B::Device) -> Targets<B> {
    let n = g * g;
    let mut obj = vec![0f32; idx.len() * n];
    let mut class = vec![0i64; idx.len() * n];
    let mut bx = vec![0f32; idx.len() * n * 3];
    for (j, &i) in idx.iter().enumerate() {
        for t in boxes(&pool.samples[i].scene) {
            let (r, c) = cell_of(&t, g);
            let k = j * n + r * g + c;
            obj[k] = 1.0;
            class[k] = t.class as i64;
            bx[k * 3..k * 3 + 3].copy_from_slice(&[
                t.x * g as f32 - c as f32,
                t.y * g as f32 - r as f32,
                t.half * g as f32,
            ]);
        }
    }
    let b = idx.len();
    Targets {
        objectness: Tensor::from_data(TensorData::new(obj.clone(), [b, n]), device),
        class: Tensor::from_data(TensorData::new(class, [b, n]), device),
        boxes: Tensor::from_data(TensorData::new(bx, [b, n, 3]), device),
        positive: Tensor::from_data(TensorData::new(obj, [b, n]), device),
    }
}

/// Splits head outputs into objectness logits, class logits and decoded boxes (cell units).
fn split<B: Backend>(out: Tensor<B, 3>) -> (Tensor<B, 2>, Tensor<B, 3>, Tensor<B, 3>) {
    let [b, n, _] = out.dims();
    let obj = out.clone().slice([0..b, 0..n, 0..1]).reshape([b, n]);
    let cls = out.clone().slice([0..b, 0..n, 1..1 + DET_CLASSES]);
    let raw = out.slice([0..b, 0..n, 1 + DET_CLASSES..OUT]);
    let centre = sigmoid(raw.clone().slice([0..b, 0..n, 0..2]));
    let half = raw.slice([0..b, 0..n, 2..3]).exp();
    (obj, cls, Tensor::cat(vec![centre, half], 2))
}

/// Objectness (binary cross-entropy, positive and negative cells weighted equally in total: an
/// object's cell is one in about seventy) + class cross-entropy + box L1 on positive cells.
pub fn loss<B: Backend>(
    m: &DetectionModel<B>,
    pool: &Pool,
    idx: &[usize],
    side: usize,
    device: &B::Device,
) -> Tensor<B, 1> {
    let (out, g) = m.forward(images(pool, idx, side, device));
    let t = targets::<B>(pool, idx, g, device);
    let (obj, cls, bx) = split(out);
    let y = t.objectness;
    let npos = y.clone().sum().clamp_min(1.0);
    let nneg = (y.clone().neg() + 1.0).sum().clamp_min(1.0);
    let pos = (y.clone() * log_sigmoid(obj.clone())).sum() / npos.clone();
    let neg = ((y.neg() + 1.0) * log_sigmoid(obj.neg())).sum() / nneg;
    let bce = (pos + neg).neg();
    let ce = masked_cross_entropy(cls, t.class, t.positive.clone());
    let [b, n, _] = bx.dims();
    let l1 = ((bx - t.boxes).abs() * t.positive.reshape([b, n, 1])).sum() / npos;
    bce + ce + l1 * 2.0
}

/// Counts of a detection evaluation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Found {
    /// Objects.
    pub objects: usize,
    /// Objects found: objectness logit above 0 in the object's cell, the right class, IoU ≥ 0.5.
    pub found: usize,
    /// Objects whose cell has the right class and IoU ≥ 0.5, whatever its objectness.
    pub located: usize,
    /// Cells with an objectness logit above 0.
    pub fired: usize,
}

impl Found {
    /// Percent of objects found.
    pub fn recall(&self) -> f64 {
        100.0 * self.found as f64 / self.objects.max(1) as f64
    }

    /// Percent of the cells that fired which found their object.
    pub fn precision(&self) -> f64 {
        100.0 * self.found as f64 / self.fired.max(1) as f64
    }
}

/// Percent of objects found: objectness above 0.5 in the object's cell, the right class, IoU ≥ 0.5.
pub fn box_recall<B: Backend>(
    m: &DetectionModel<B>,
    pool: &Pool,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    evaluate(m, pool, side, batch, device).recall()
}

/// Detection counts over `pool`.
pub fn evaluate<B: Backend>(
    m: &DetectionModel<B>,
    pool: &Pool,
    side: usize,
    batch: usize,
    device: &B::Device,
) -> Found {
    let mut f = Found::default();
    for start in (0..pool.len()).step_by(batch) {
        let idx: Vec<usize> = (start..(start + batch).min(pool.len())).collect();
        let (out, g) = m.forward(images(pool, &idx, side, device));
        let (obj, cls, bx) = split(out);
        let n = g * g;
        let obj = obj.into_data().convert::<f32>().to_vec::<f32>().unwrap();
        f.fired += obj.iter().filter(|&&o| o > 0.0).count();
        let cls = cls.argmax(2).into_data().convert::<i64>().to_vec::<i64>().unwrap();
        let bx = bx.into_data().convert::<f32>().to_vec::<f32>().unwrap();
        for (j, &i) in idx.iter().enumerate() {
            for t in boxes(&pool.samples[i].scene) {
                f.objects += 1;
                let (r, c) = cell_of(&t, g);
                let k = j * n + r * g + c;
                let gf = g as f32;
                let pred = BoxTarget {
                    class: cls[k] as usize,
                    x: (c as f32 + bx[k * 3]) / gf,
                    y: (r as f32 + bx[k * 3 + 1]) / gf,
                    half: bx[k * 3 + 2] / gf,
                };
                let located = pred.class == t.class && box_iou(&pred, &t) >= 0.5;
                f.located += located as usize;
                f.found += (obj[k] > 0.0 && located) as usize;
            }
        }
    }
    f
}

/// Builds [`DetectionModel`]s: the expert `.0` with a fresh head.
pub struct Head<'a>(pub &'a ExpertConfig);

impl crate::train::HostInit for Head<'_> {
    type Module<B: Backend> = DetectionModel<B>;
    fn build<B: Backend>(&self, device: &B::Device) -> Self::Module<B> {
        DetectionModel::new(self.0, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_counts_objects_and_precision_counts_firing_cells() {
        let f = Found { objects: 4, found: 3, located: 3, fired: 6 };
        assert_eq!(f.recall(), 75.0);
        assert_eq!(f.precision(), 50.0);
        // Nothing to find or nothing fired: 0, not NaN.
        assert_eq!(Found::default().recall(), 0.0);
        assert_eq!(Found::default().precision(), 0.0);
    }
}
