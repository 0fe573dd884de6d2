//! Layout changes that produce contiguous tensors: channel-first ↔ channel-last maps, patches, and
//! the head split/merge of attention, each built on one batched transpose. On `Autodiff<Flex>` that
//! transpose is a tiled, threaded copy (`flex::transpose` says how and why); other backends get the
//! same values through burn's own `swap_dims` and `reshape`.

use burn::prelude::*;

/// `[n, a, b, e]` → `[n, b, a, e]`, contiguous: dimensions 1 and 2 swapped, each `e`-run kept whole.
///
/// # Shapes
/// - `x`: `[n, a, b, e]` → `[n, b, a, e]`
pub fn batched_transpose<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    let x = match super::flex::transpose::batched_transpose(x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    x.swap_dims(1, 2)
}

/// A channel-first map as channel-last, contiguous.
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, h, w, c]`
pub fn to_channels_last<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    batched_transpose(x.reshape([b, c, h * w, 1])).reshape([b, h, w, c])
}

/// A channel-last map as channel-first, contiguous.
///
/// # Shapes
/// - `x`: `[batch, h, w, c]` → `[batch, c, h, w]`
pub fn to_channels_first<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, h, w, c] = x.dims();
    batched_transpose(x.reshape([b, h * w, c, 1])).reshape([b, c, h, w])
}

/// Non-overlapping `p × p` patches of a map, each flattened channel-major (`[c, p, p]`), as two
/// batched transposes instead of one six-dimensional permute.
///
/// # Shapes
/// - `x`: `[batch, c, h·p, w·p]` → `[batch, h·w, c·p·p]`
pub fn patches<B: Backend>(x: Tensor<B, 4>, p: usize) -> Tensor<B, 3> {
    let [b, c, hh, ww] = x.dims();
    let (h, w) = (hh / p, ww / p);
    // Within each row of patches: [b·c·h, p, w, p] → [b·c·h, w, p, p].
    let x = batched_transpose(x.reshape([b * c * h, p, w, p]));
    // Channels after the patch position: [b, c, h·w, p·p] → [b, h·w, c, p·p].
    batched_transpose(x.reshape([b, c, h * w, p * p])).reshape([b, h * w, c * p * p])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    type A = Autodiff<Flex>;

    #[test]
    fn transposes_equal_burns_views_with_gradients() {
        let dev = Default::default();
        for dims in [[3usize, 5, 7, 1], [2, 17, 33, 4], [1, 40, 3, 2]] {
            let x0 = Tensor::<A, 4>::random(dims, Distribution::Normal(0.0, 1.0), &dev);
            let w = Tensor::<A, 4>::random([dims[0], dims[2], dims[1], dims[3]], Distribution::Normal(0.0, 1.0), &dev);
            let run = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
                let x = x0.clone().require_grad();
                let y = f(x.clone());
                let grads = (y.clone() * w.clone()).sum().backward();
                (y.inner(), x.grad(&grads).expect("x has a gradient"))
            };
            let (y_fast, g_fast) = run(&|x| batched_transpose(x));
            let (y_view, g_view) = run(&|x| x.swap_dims(1, 2));
            assert_eq!(y_fast.dims(), [dims[0], dims[2], dims[1], dims[3]]);
            assert_eq!(y_fast.to_data(), y_view.to_data(), "{dims:?}: values");
            assert_eq!(g_fast.to_data(), g_view.to_data(), "{dims:?}: gradients");
        }
    }

    #[test]
    fn patches_equal_the_six_dimensional_permute() {
        let dev = Default::default();
        let x = Tensor::<A, 4>::random([2, 3, 12, 8], Distribution::Normal(0.0, 1.0), &dev);
        let reference = x.clone().reshape([2, 3, 3, 4, 2, 4]).permute([0, 2, 4, 1, 3, 5]).reshape([2, 6, 48]);
        assert_eq!(patches(x, 4).to_data(), reference.to_data());
    }

    #[test]
    fn channel_layouts_round_trip() {
        let dev = Default::default();
        let x = Tensor::<A, 4>::random([2, 3, 4, 5], Distribution::Normal(0.0, 1.0), &dev);
        let last = to_channels_last(x.clone());
        assert_eq!(last.dims(), [2, 4, 5, 3]);
        assert_eq!(last.to_data(), x.clone().permute([0, 2, 3, 1]).to_data());
        assert_eq!(to_channels_first(last).to_data(), x.to_data());
    }
}
