//! The MLP projector into the LM's embedding space: Linear → GELU → Linear.

use crate::model::dense::linear;
use crate::model::ops::activation::gelu;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`Projector`].
#[derive(Config, Debug)]
pub struct ProjectorConfig {
    /// Input width (sum of expert channels for channel concat).
    pub input: usize,
    /// LM width.
    pub output: usize,
}

/// Two-layer MLP projector (LLaVA-1.5 style).
#[derive(Module, Debug)]
pub struct Projector<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
}

impl ProjectorConfig {
    /// Forward FLOPs on `tokens` tokens (multiply-adds counted twice, the GELU not counted).
    pub fn flops(&self, tokens: usize) -> f64 {
        let (c, d) = (self.input as f64, self.output as f64);
        2.0 * tokens as f64 * (c * d + d * d)
    }

    /// Builds the projector on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Projector<B> {
        Projector {
            fc1: LinearConfig::new(self.input, self.output).init(device),
            fc2: LinearConfig::new(self.output, self.output).init(device),
        }
    }
}

impl<B: Backend> Projector<B> {
    /// # Shapes
    /// - `x`: `[batch, tokens, input]` → `[batch, tokens, output]`
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        linear(&self.fc2, gelu(linear(&self.fc1, x)))
    }
}
