//! Linear layers applied as one 2-D matrix multiply. burn's `Linear` on a rank-3 or rank-4 input
//! broadcasts its weight across the leading dimensions (a batched matmul whose backward reduces
//! the weight's gradient over the batch): measured on 2 cores with `flex`, a 48→192→48 MLP on
//! `[32, 16, 16, 48]` takes 120 ms forward + backward, against 41 ms on the same numbers viewed as
//! `[8192, 48]`. Same parameters, same record layout: only the call changes.

use burn::nn::Linear;
use burn::prelude::*;

/// `layer` applied to the last dimension of `x`, the leading dimensions flattened into one.
///
/// # Shapes
/// - `x`: `[..., in]` → `[..., out]`
pub fn linear<B: Backend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    if D <= 2 {
        return layer.forward(x);
    }
    let dims = x.dims();
    let rows: usize = dims[..D - 1].iter().product();
    let y = layer.forward(x.reshape([rows, dims[D - 1]]));
    let mut out = dims;
    out[D - 1] = y.dims()[1];
    y.reshape(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::LinearConfig;
    use burn::tensor::Distribution;

    #[test]
    fn flattened_linear_equals_the_broadcast_one() {
        let dev = Default::default();
        let layer = LinearConfig::new(6, 5).init::<Flex>(&dev);
        let x = Tensor::<Flex, 4>::random([2, 3, 4, 6], Distribution::Normal(0.0, 1.0), &dev);
        let a = linear(&layer, x.clone());
        assert_eq!(a.dims(), [2, 3, 4, 5]);
        let diff = (a - layer.forward(x)).abs().max().into_scalar();
        assert!(diff < 1e-5, "max difference {diff}");
    }
}
