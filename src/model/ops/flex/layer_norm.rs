//! LayerNorm's fused backward on `Autodiff<Flex>`.
//!
//! `flex` has a fused, threaded LayerNorm forward, but `Autodiff` does not override burn's
//! `layer_norm`, so under autodiff the norm runs as eight tracked element-wise ops (mean, subtract,
//! square, mean, add, sqrt, divide, scale, shift), single-threaded, and as many again backward:
//! 13 ms on ConvNeXt's `[32, 16, 16, 48]`. Here the module's own fused forward runs on the inner
//! backend and the backward is one threaded pass over the rows:
//! `x̂ = (x − μ)·r`, `∂x = r·(g − mean(g) − x̂·mean(g·x̂))` with `g = ∂y·γ`,
//! `∂γ = Σ ∂y·x̂`, `∂β = Σ ∂y`.

use super::{from_autodiff, from_host, on_autodiff, to_host, A};
use crate::model::ops::layer_norm::EPSILON;
use crate::model::ops::specialize::same;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::module::AutodiffModule;
use burn::nn::LayerNorm;
use burn::prelude::*;
use burn::tensor::ops::FloatTensor;
use burn::tensor::TensorPrimitive;
use rayon::prelude::*;

/// `Ok(norm(x))` when `B` is `Autodiff<Flex>` (f32) and the norm has a bias, else `Err(x)` untouched.
pub(crate) fn layer_norm<B: Backend, const D: usize>(
    norm: &LayerNorm<B>,
    x: Tensor<B, D>,
) -> Result<Tensor<B, D>, Tensor<B, D>> {
    if norm.beta.is_none() {
        return Err(x);
    }
    let x = on_autodiff(x)?;
    // `val()` first: it initialises lazily created parameters in place, so the clone below
    // shares their values (a clone of an uninitialised parameter would initialise its own).
    let gamma = same::<Tensor<B, 1>, Tensor<A, 1>>(norm.gamma.val());
    let beta = norm.beta.as_ref().expect("checked above").val();
    let beta = same::<Tensor<B, 1>, Tensor<A, 1>>(beta);
    let norm = same::<LayerNorm<B>, LayerNorm<A>>(norm.clone());
    let (gamma, beta) = (gamma.into_primitive().tensor(), beta.into_primitive().tensor());
    let x = x.into_primitive().tensor();
    let inner = norm.valid();
    let forward = |x: FloatTensor<Flex>| {
        inner.forward(Tensor::<Flex, D>::from_primitive(TensorPrimitive::Float(x))).into_primitive().tensor()
    };
    let out = match NormBackward
        .prepare::<NoCheckpointing>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let y = forward(x.primitive.clone());
            prep.finish((x.primitive, gamma.primitive), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive)),
    };
    Ok(from_autodiff(out))
}

/// The backward step; its state is the input and γ.
#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = (FloatTensor<Flex>, FloatTensor<Flex>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, gamma) = ops.state;
        let dims = super::dims(&x);
        let d = *dims.last().expect("a LayerNorm input has a last dimension");
        let (x, dy, gamma) = (to_host(x), to_host(grad), to_host(gamma));
        let (dx, dgamma, dbeta) = rows_backward(&x, &dy, &gamma, d, node_x.is_some());
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, from_host(dgamma, [d]));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, from_host(dbeta, [d]));
        }
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, from_host(dx, dims));
        }
    }
}

/// `(∂x if wanted, ∂γ, ∂β)` for rows of width `d`, in parallel over blocks of rows.
fn rows_backward(
    x: &[f32],
    dy: &[f32],
    gamma: &[f32],
    d: usize,
    want_dx: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    const ROWS: usize = 64;
    let block = ROWS * d;
    let mut dx = vec![0.0f32; if want_dx { x.len() } else { 0 }];
    let work = |(xs, gs): (&[f32], &[f32]), mut out: Option<&mut [f32]>| {
        let mut dgamma = vec![0.0f32; d];
        let mut dbeta = vec![0.0f32; d];
        let mut xhat = vec![0.0f32; d];
        for (r, (xr, gr)) in xs.chunks_exact(d).zip(gs.chunks_exact(d)).enumerate() {
            let mean = xr.iter().sum::<f32>() / d as f32;
            let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let rstd = 1.0 / (var + EPSILON).sqrt();
            let (mut a, mut b) = (0.0f32, 0.0f32);
            for i in 0..d {
                xhat[i] = (xr[i] - mean) * rstd;
                let g = gr[i] * gamma[i];
                a += g;
                b += g * xhat[i];
                dgamma[i] += gr[i] * xhat[i];
                dbeta[i] += gr[i];
            }
            if let Some(out) = out.as_deref_mut() {
                let (a, b) = (a / d as f32, b / d as f32);
                for (i, o) in out[r * d..(r + 1) * d].iter_mut().enumerate() {
                    *o = rstd * (gr[i] * gamma[i] - a - xhat[i] * b);
                }
            }
        }
        (dgamma, dbeta)
    };
    let pairs = x.par_chunks(block).zip(dy.par_chunks(block));
    // Each block's partial sums, in block order: summing them in that order below (not with rayon's
    // `reduce`, whose tree follows work stealing) makes ∂γ and ∂β the same bits on every run,
    // whatever the thread count or the machine's load.
    let partials: Vec<(Vec<f32>, Vec<f32>)> = if want_dx {
        pairs.zip(dx.par_chunks_mut(block)).map(|(p, o)| work(p, Some(o))).collect()
    } else {
        pairs.map(|p| work(p, None)).collect()
    };
    let (dgamma, dbeta) = sum_in_order(partials, d);
    (want_dx.then_some(dx), dgamma, dbeta)
}

/// The element-wise sum of `partials` (pairs of width-`d` vectors), added in their order.
fn sum_in_order(partials: Vec<(Vec<f32>, Vec<f32>)>, d: usize) -> (Vec<f32>, Vec<f32>) {
    partials.into_iter().fold((vec![0.0f32; d], vec![0.0f32; d]), |(mut g1, mut b1), (g2, b2)| {
        g1.iter_mut().zip(g2).for_each(|(a, b)| *a += b);
        b1.iter_mut().zip(b2).for_each(|(a, b)| *a += b);
        (g1, b1)
    })
}

#[cfg(test)]
mod tests {
    use super::rows_backward;

    /// `rows_backward` inside a rayon pool of `threads` threads.
    fn on_threads(threads: usize, x: &[f32], dy: &[f32], gamma: &[f32], d: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (dx, dgamma, dbeta) = pool.install(|| rows_backward(x, dy, gamma, d, true));
        (dx.unwrap(), dgamma, dbeta)
    }

    #[test]
    fn the_backward_gives_the_same_bits_on_any_number_of_threads() {
        // 2048 rows of 48: 32 blocks, whose partial sums rayon's `reduce` would add in a tree
        // shaped by the thread count (and by work stealing, so by the machine's load).
        let d = 48;
        let value =
            |i: usize, k: u32| (((i as u32).wrapping_mul(2_654_435_761).wrapping_add(k) >> 8) as f32 / 1e6).sin();
        let x: Vec<f32> = (0..2048 * d).map(|i| 3.0 * value(i, 1)).collect();
        let dy: Vec<f32> = (0..2048 * d).map(|i| value(i, 7)).collect();
        let gamma: Vec<f32> = (0..d).map(|i| 1.0 + value(i, 3)).collect();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let one = on_threads(1, &x, &dy, &gamma, d);
        for threads in [2, 3, 8] {
            let many = on_threads(threads, &x, &dy, &gamma, d);
            assert_eq!(bits(&one.0), bits(&many.0), "∂x on {threads} threads");
            assert_eq!(bits(&one.1), bits(&many.1), "∂γ on {threads} threads");
            assert_eq!(bits(&one.2), bits(&many.2), "∂β on {threads} threads");
        }
    }
}
