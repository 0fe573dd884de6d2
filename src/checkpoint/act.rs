//! The activations transformers names in `config.json` (`hidden_act`).

use burn::prelude::*;
use burn::tensor::activation;
use serde::Deserialize;

/// An activation as transformers names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HiddenAct {
    /// `x · σ(1.702 x)` (OpenAI CLIP).
    #[serde(rename = "quick_gelu")]
    QuickGelu,
    /// Exact GELU, `x · Φ(x)`.
    #[serde(rename = "gelu")]
    Gelu,
    /// GELU's tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    /// `x · σ(x)`.
    #[serde(rename = "silu", alias = "swish")]
    Silu,
    /// `max(x, 0)`.
    #[serde(rename = "relu")]
    Relu,
}

impl HiddenAct {
    /// Applies the activation elementwise.
    ///
    /// # Shapes
    /// - `x`: any → the same
    pub fn forward<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            HiddenAct::QuickGelu => x.clone() * activation::sigmoid(x * 1.702),
            HiddenAct::Gelu => activation::gelu(x),
            HiddenAct::GeluTanh => {
                let inner = (x.clone() + x.clone().powi_scalar(3) * 0.044715) * (2.0 / std::f64::consts::PI).sqrt();
                x * (inner.tanh() + 1.0) * 0.5
            }
            HiddenAct::Silu => activation::silu(x),
            HiddenAct::Relu => activation::relu(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn activations_match_their_formulas_at_known_points() {
        let dev = Default::default();
        let x = Tensor::<Flex, 1>::from_floats([-1.0, 0.0, 0.5, 2.0], &dev);
        let at = |a: HiddenAct| a.forward(x.clone()).into_data().to_vec::<f32>().unwrap();
        let close = |a: &[f32], b: &[f64]| a.iter().zip(b).all(|(a, b)| (*a as f64 - b).abs() < 1e-5);
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let xs = [-1.0f64, 0.0, 0.5, 2.0];
        let quick: Vec<f64> = xs.iter().map(|&v| v * sig(1.702 * v)).collect();
        assert!(close(&at(HiddenAct::QuickGelu), &quick));
        // Φ(-1) = 0.158655, Φ(0.5) = 0.691462, Φ(2) = 0.977250.
        assert!(close(&at(HiddenAct::Gelu), &[-0.158655, 0.0, 0.345731, 1.954500]));
        let tanh: Vec<f64> = xs
            .iter()
            .map(|&v: &f64| 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh()))
            .collect();
        assert!(close(&at(HiddenAct::GeluTanh), &tanh));
        let silu: Vec<f64> = xs.iter().map(|&v| v * sig(v)).collect();
        assert!(close(&at(HiddenAct::Silu), &silu));
        assert!(close(&at(HiddenAct::Relu), &[0.0, 0.0, 0.5, 2.0]));
    }

    #[test]
    fn config_names_parse_and_an_unknown_one_is_refused() {
        let a: HiddenAct = serde_json::from_str("\"gelu_pytorch_tanh\"").unwrap();
        assert_eq!(a, HiddenAct::GeluTanh);
        assert!(serde_json::from_str::<HiddenAct>("\"mish\"").is_err());
    }
}
