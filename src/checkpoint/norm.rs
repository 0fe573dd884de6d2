//! The RMS norm of Llama and T5/Pix2Struct: `weight · x / √(mean(x²) + ε)`, no bias, no centring,
//! with the PyTorch parameter name (`weight`), which burn-store does not rename for burn's own RmsNorm.

use burn::module::Param;
use burn::prelude::*;

/// RMS normalisation over the last axis.
#[derive(Module, Debug)]
pub struct RmsNorm<B: Backend> {
    /// Per-channel scale.
    pub weight: Param<Tensor<B, 1>>,
    eps: f64,
}

impl<B: Backend> RmsNorm<B> {
    /// A norm of width `dim` (unit scale, to be loaded).
    pub fn new(dim: usize, eps: f64, device: &B::Device) -> Self {
        RmsNorm { weight: Param::from_tensor(Tensor::ones([dim], device)), eps }
    }

    /// Normalises each vector of the last axis.
    ///
    /// # Shapes
    /// - `x`: `[..., dim]` → the same
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let rms = (x.clone().powi_scalar(2).mean_dim(D - 1) + self.eps).sqrt();
        let mut shape = [1usize; D];
        shape[D - 1] = self.weight.dims()[0];
        x / rms * self.weight.val().reshape(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn a_vector_is_scaled_to_unit_rms_then_by_its_weight() {
        let dev = Default::default();
        let mut norm = RmsNorm::<Flex>::new(2, 0.0, &dev);
        norm.weight = Param::from_tensor(Tensor::from_floats([1.0, 2.0], &dev));
        // rms of [3, 4] = √12.5.
        let y = norm.forward(Tensor::<Flex, 2>::from_floats([[3.0, 4.0]], &dev)).into_data().to_vec::<f32>().unwrap();
        let r = 12.5f32.sqrt();
        assert!((y[0] - 3.0 / r).abs() < 1e-6 && (y[1] - 8.0 / r).abs() < 1e-6, "{y:?}");
    }
}
