//! Turns pools into device tensors: shuffled index streams, image batches, token batches.

use crate::data::{text_batch, Pool, TextTask};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Indices of batch `step`: epochs over the pool, each in a seeded shuffled order.
pub fn batch_indices(pool_len: usize, batch: usize, step: usize, seed: u64) -> Vec<usize> {
    let per_epoch = (pool_len / batch).max(1);
    let epoch = step / per_epoch;
    let within = step % per_epoch;
    let mut order: Vec<usize> = (0..pool_len).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)));
    (0..batch).map(|j| order[(within * batch + j) % pool_len]).collect()
}

/// Images of `indices` at `side`.
///
/// # Shapes
/// - returns `[indices.len(), 3, side, side]`
pub fn images<B: Backend>(pool: &Pool, indices: &[usize], side: usize, device: &B::Device) -> Tensor<B, 4> {
    let data = TensorData::new(pool.images_chw(indices, side), [indices.len(), 3, side, side]);
    Tensor::from_data(data, device)
}

/// Token inputs, targets and loss mask of `indices` for `task`.
///
/// # Shapes
/// - returns `([b, t] Int, [b, t] Int, [b, t])`
pub fn tokens<B: Backend>(
    pool: &Pool,
    indices: &[usize],
    task: TextTask,
    device: &B::Device,
) -> (Tensor<B, 2, Int>, Tensor<B, 2, Int>, Tensor<B, 2>) {
    let tb = text_batch(indices.iter().map(|&i| &pool.samples[i]), task);
    let shape = [tb.batch, tb.len];
    (
        Tensor::from_data(TensorData::new(tb.inputs, shape), device),
        Tensor::from_data(TensorData::new(tb.targets, shape), device),
        Tensor::from_data(TensorData::new(tb.mask, shape), device),
    )
}
