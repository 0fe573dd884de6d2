//! Rotary position embeddings (rotate-half layout): 1D for the decoder, 2D (rows, columns) for `eva02`.

use burn::prelude::*;

/// cos and sin tables for the given (possibly fractional) positions.
///
/// # Shapes
/// - returns two of `[1, 1, positions.len(), dim]`
pub fn tables<B: Backend>(positions: &[f32], dim: usize, device: &B::Device) -> (Tensor<B, 4>, Tensor<B, 4>) {
    let half = dim / 2;
    let mut cos = Vec::with_capacity(positions.len() * dim);
    let mut sin = Vec::with_capacity(positions.len() * dim);
    for &pos in positions {
        for i in 0..dim {
            let f = 1.0 / 10000f32.powf((i % half) as f32 * 2.0 / dim as f32);
            cos.push((pos * f).cos());
            sin.push((pos * f).sin());
        }
    }
    let t = |v: Vec<f32>| Tensor::<B, 1>::from_floats(v.as_slice(), device).reshape([1, 1, positions.len(), dim]);
    (t(cos), t(sin))
}

/// Rotates q or k by position.
///
/// # Shapes
/// - `x`: `[batch, heads, seq, dim]`, tables `[1, 1, seq, dim]` → `[batch, heads, seq, dim]`
pub fn rotate<B: Backend>(x: Tensor<B, 4>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let x = match flex::rotate(x, cos, sin) {
        Ok(y) => return y,
        Err(x) => x,
    };
    rotate_with_tensor_ops(x, cos, sin)
}

/// [`rotate`] as burn tensor ops (every backend).
///
/// # Shapes
/// - `x`: `[batch, heads, seq, dim]`, tables `[1, 1, seq, dim]` → `[batch, heads, seq, dim]`
fn rotate_with_tensor_ops<B: Backend>(x: Tensor<B, 4>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, h, n, d] = x.dims();
    let x1 = x.clone().slice([0..b, 0..h, 0..n, 0..d / 2]);
    let x2 = x.clone().slice([0..b, 0..h, 0..n, d / 2..d]);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos.clone() + rotated * sin.clone()
}

/// 2D rotary tables of an `h × w` token grid (row-major): the first half of each head rotates by
/// row, the second by column. Positions are measured in units of a `native`-side grid, so a larger
/// grid interpolates between the positions seen in pretraining instead of extrapolating.
pub struct Rope2d<B: Backend> {
    rows: (Tensor<B, 4>, Tensor<B, 4>),
    cols: (Tensor<B, 4>, Tensor<B, 4>),
}

impl<B: Backend> Rope2d<B> {
    /// Tables for a grid of `h × w` tokens and heads of `head_dim`.
    pub fn new(h: usize, w: usize, native: usize, head_dim: usize, device: &B::Device) -> Self {
        let scale_h = native as f32 / h as f32;
        let scale_w = native as f32 / w as f32;
        let rows: Vec<f32> = (0..h * w).map(|i| (i / w) as f32 * scale_h).collect();
        let cols: Vec<f32> = (0..h * w).map(|i| (i % w) as f32 * scale_w).collect();
        Self { rows: tables(&rows, head_dim / 2, device), cols: tables(&cols, head_dim / 2, device) }
    }

    /// Rotates q or k.
    ///
    /// # Shapes
    /// - `x`: `[batch, heads, h·w, head_dim]` → same
    pub fn rotate(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, h, n, d] = x.dims();
        let a = x.clone().slice([0..b, 0..h, 0..n, 0..d / 2]);
        let c = x.slice([0..b, 0..h, 0..n, d / 2..d]);
        Tensor::cat(vec![rotate(a, &self.rows.0, &self.rows.1), rotate(c, &self.cols.0, &self.cols.1)], 3)
    }
}

/// The `Autodiff<Flex>` path: the rotation as one tracked op computed in one threaded pass (burn's
/// autodiff runs it as two slices, a negation, a concatenation, two products and a sum, each with its
/// own backward: 2.4 ms forward + backward on the LM's `[32, 4, 32, 16]`). The map is linear in `x`:
/// `y = x·cos + R(x)·sin` with `R(x) = [−x₂, x₁]`, so `∂x = ∂y·cos + Rᵀ(∂y·sin)`, `Rᵀ(g) = [g₂, −g₁]`.
#[cfg(feature = "flex")]
mod flex {
    use crate::model::specialize::{cast, same};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::{Autodiff, Flex};
    use burn::prelude::*;
    use burn::tensor::ops::{FloatTensor, FloatTensorOps};
    use burn::tensor::{TensorData, TensorPrimitive};
    use rayon::prelude::*;
    use std::sync::Arc;

    type A = Autodiff<Flex>;

    /// `Ok(rotated)` when `B` is `Autodiff<Flex>` (f32) and the tables are `[1, 1, seq, dim]`, else `Err(x)`.
    pub(super) fn rotate<B: Backend>(
        x: Tensor<B, 4>,
        cos: &Tensor<B, 4>,
        sin: &Tensor<B, 4>,
    ) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
        let [_, _, n, d] = x.dims();
        if cos.dims() != [1, 1, n, d]
            || sin.dims() != [1, 1, n, d]
            || d % 2 != 0
            || x.dtype() != burn::tensor::DType::F32
        {
            return Err(x);
        }
        let x = cast::<Tensor<B, 4>, Tensor<A, 4>>(x)?;
        let table = |t: &Tensor<B, 4>| Arc::new(t.to_data().into_vec::<f32>().expect("f32 tables"));
        let (cos, sin) = (table(cos), table(sin));
        let dims = x.dims();
        let x = x.into_primitive().tensor();
        let out = match RotateBackward.prepare::<NoCheckpointing>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = apply(x.primitive, dims, &cos, &sin, false);
                prep.finish((cos, sin, dims), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(apply(x.primitive, dims, &cos, &sin, false)),
        };
        Ok(same(Tensor::<A, 4>::from_primitive(TensorPrimitive::Float(out))))
    }

    /// The backward step; its state is the tables and the shape.
    #[derive(Debug)]
    struct RotateBackward;

    impl Backward<Flex, 1> for RotateBackward {
        type State = (Arc<Vec<f32>>, Arc<Vec<f32>>, [usize; 4]);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let [node] = ops.parents;
            let grad = grads.consume::<Flex>(&ops.node);
            let (cos, sin, dims) = ops.state;
            if let Some(node) = node {
                grads.register::<Flex>(node.id, apply(grad, dims, &cos, &sin, true));
            }
        }
    }

    /// `x·cos + R(x)·sin`, or with `transpose` the adjoint `x·cos + Rᵀ(x·sin)`, per `[seq, dim]` block.
    fn apply(x: FloatTensor<Flex>, dims: [usize; 4], cos: &[f32], sin: &[f32], transpose: bool) -> FloatTensor<Flex> {
        let x = Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(x)).into_data();
        let x = x.as_slice::<f32>().expect("an f32 tensor");
        let [_, _, n, d] = dims;
        let half = d / 2;
        let mut y = vec![0.0f32; x.len()];
        y.par_chunks_mut(n * d).zip(x.par_chunks(n * d)).for_each(|(y, x)| {
            for t in 0..n {
                let (xr, yr) = (&x[t * d..(t + 1) * d], &mut y[t * d..(t + 1) * d]);
                let (c, s) = (&cos[t * d..(t + 1) * d], &sin[t * d..(t + 1) * d]);
                for i in 0..half {
                    let j = i + half;
                    if transpose {
                        yr[i] = xr[i] * c[i] + xr[j] * s[j];
                        yr[j] = xr[j] * c[j] - xr[i] * s[i];
                    } else {
                        yr[i] = xr[i] * c[i] - xr[j] * s[i];
                        yr[j] = xr[j] * c[j] + xr[i] * s[j];
                    }
                }
            }
        });
        Flex::float_from_data(TensorData::new(y, dims), &Default::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    #[test]
    fn the_fused_rotation_matches_the_tensor_ops_with_gradients() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let positions: Vec<f32> = (0..9).map(|p| p as f32 * 0.7).collect();
        let (cos, sin) = tables::<A>(&positions, 12, &dev);
        let x0 = Tensor::<A, 4>::random([2, 3, 9, 12], Distribution::Normal(0.0, 1.0), &dev);
        let w = Tensor::<A, 4>::random([2, 3, 9, 12], Distribution::Normal(0.0, 1.0), &dev);
        let run = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
            let x = x0.clone().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * w.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("x has a gradient"))
        };
        let fast = run(&|x| rotate(x, &cos, &sin));
        let ops = run(&|x| rotate_with_tensor_ops(x, &cos, &sin));
        let dy = (fast.0 - ops.0).abs().max().into_scalar();
        let dx = (fast.1 - ops.1).abs().max().into_scalar();
        assert!(dy < 1e-5 && dx < 1e-5, "values differ by {dy}, gradients by {dx}");
    }
}
