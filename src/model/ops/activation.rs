//! GELU (the exact erf form). On `flex` (plain and autodiff) it runs as one threaded, vectorised
//! pass that also keeps the derivative for the backward (`flex::gelu` says how and why);
//! other backends keep burn's GELU.

use burn::prelude::*;

/// `x · Φ(x)`, element-wise.
///
/// # Shapes
/// - `x`: any shape → the same shape
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    let x = match super::flex::gelu::gelu(x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    burn::tensor::activation::gelu(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::Distribution;

    #[test]
    fn values_and_gradients_match_burns_gelu() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let x0 = Tensor::<A, 3>::random([3, 70, 90], Distribution::Normal(0.0, 2.0), &dev);
        let weights = Tensor::<A, 3>::random([3, 70, 90], Distribution::Normal(0.0, 1.0), &dev);
        let run = |f: &dyn Fn(Tensor<A, 3>) -> Tensor<A, 3>| {
            let x = x0.clone().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * weights.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("x has a gradient"))
        };
        let (y_fast, g_fast) = run(&|x| gelu(x));
        let (y_burn, g_burn) = run(&|x| burn::tensor::activation::gelu(x));
        assert_eq!(y_fast.dims(), [3, 70, 90]);
        let dy = (y_fast - y_burn).abs().max().into_scalar();
        let dg = (g_fast - g_burn).abs().max().into_scalar();
        assert!(dy < 5e-6, "values differ by {dy}");
        assert!(dg < 5e-6, "gradients differ by {dg}");
        let plain = gelu(Tensor::<Flex, 3>::from_data(x0.to_data(), &dev));
        let d_plain = (plain - burn::tensor::activation::gelu(x0.inner())).abs().max().into_scalar();
        assert!(d_plain < 5e-6, "untracked values differ by {d_plain}");
    }
}
