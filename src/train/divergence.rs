//! Divergence: a stage whose loss or gradient norm stops being finite, or whose loss explodes far
//! past where it started, fails with the step and the reason instead of saving a broken model.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};

/// How far a logged loss may rise above its start before the stage counts as diverged: past
/// `DIVERGENCE_FACTOR × max(first logged loss, 1)`. A cross-entropy over Eyrie's vocabulary starts
/// near ln(vocab) ≈ 4.5 and only falls when training works; ten times that is a blow-up, not noise.
pub const DIVERGENCE_FACTOR: f64 = 10.0;

/// Why a stage stopped: the training diverged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Divergence {
    /// The loss became NaN or infinite.
    #[error("{stage} diverged at step {step}: the loss is {loss}")]
    NonFiniteLoss {
        /// Stage name.
        stage: String,
        /// 0-based step.
        step: usize,
        /// The loss.
        loss: f64,
    },
    /// The gradient norm became NaN or infinite.
    #[error("{stage} diverged at step {step}: the gradient norm is {norm}")]
    NonFiniteGradient {
        /// Stage name.
        stage: String,
        /// 0-based step.
        step: usize,
        /// The global gradient norm (before clipping).
        norm: f64,
    },
    /// The loss rose past [`DIVERGENCE_FACTOR`] times its start.
    #[error("{stage} diverged at step {step}: the loss {loss:.3} is past {bound:.3} ({DIVERGENCE_FACTOR}x its first logged loss {first:.3})")]
    Exploded {
        /// Stage name.
        stage: String,
        /// 0-based step.
        step: usize,
        /// The loss.
        loss: f64,
        /// The first logged loss.
        first: f64,
        /// The bound it passed.
        bound: f64,
    },
}

/// Watches one stage's logged losses and gradient norms.
#[derive(Debug, Clone)]
pub struct DivergenceCheck {
    stage: String,
    first: Option<f64>,
}

impl DivergenceCheck {
    /// A check for stage `stage` (its name appears in the error).
    pub fn new(stage: &str) -> Self {
        Self { stage: stage.to_string(), first: None }
    }

    /// Checks the loss and gradient norm logged at `step`.
    pub fn check(&mut self, step: usize, loss: f64, grad_norm: f64) -> Result<(), Divergence> {
        let stage = self.stage.clone();
        if !loss.is_finite() {
            return Err(Divergence::NonFiniteLoss { stage, step, loss });
        }
        if !grad_norm.is_finite() {
            return Err(Divergence::NonFiniteGradient { stage, step, norm: grad_norm });
        }
        let first = *self.first.get_or_insert(loss);
        let bound = DIVERGENCE_FACTOR * first.max(1.0);
        if loss > bound {
            return Err(Divergence::Exploded { stage, step, loss, first, bound });
        }
        Ok(())
    }
}

/// Sums the squares of every parameter's gradient on the device (one read at the end).
struct SquaredGradients<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    sum: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredGradients<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            let s = g.powi_scalar(2).sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
}

/// The global L2 norm of `module`'s gradients in `grads` (0 when nothing has a gradient).
pub fn gradient_norm<B: AutodiffBackend, M: Module<B>>(module: &M, grads: &B::Gradients) -> f64 {
    let mut v = SquaredGradients::<B> { grads, sum: None };
    module.visit(&mut v);
    v.sum.map(|s| s.into_scalar().elem::<f64>().sqrt()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finite_falling_loss_passes_and_each_fault_names_its_step() {
        let mut c = DivergenceCheck::new("sft");
        assert_eq!(c.check(0, 4.5, 2.0), Ok(()));
        assert_eq!(c.check(10, 3.0, 1.0), Ok(()));
        assert_eq!(c.check(20, 44.0, 1.0), Ok(()), "below 10x the first loss");
        let e = c.check(30, f64::NAN, 1.0).unwrap_err();
        assert!(matches!(e, Divergence::NonFiniteLoss { step: 30, .. }), "{e:?}");
        assert!(e.to_string().contains("sft diverged at step 30"), "{e}");
        let e = c.check(40, 3.0, f64::INFINITY).unwrap_err();
        assert!(matches!(e, Divergence::NonFiniteGradient { step: 40, .. }), "{e:?}");
        let e = c.check(50, 46.0, 1.0).unwrap_err();
        assert!(matches!(e, Divergence::Exploded { step: 50, bound, .. } if bound == 45.0), "{e:?}");
        // A loss that starts below 1 may rise to 10 before it counts as a blow-up.
        let mut small = DivergenceCheck::new("align");
        assert_eq!(small.check(0, 0.01, 0.0), Ok(()));
        assert_eq!(small.check(10, 9.0, 0.0), Ok(()));
        assert!(small.check(20, 11.0, 0.0).is_err());
    }

    #[test]
    fn the_gradient_norm_is_the_l2_norm_over_every_parameter() {
        type AD = burn::backend::Autodiff<burn::backend::Flex>;
        let device = Default::default();
        let lin = burn::nn::LinearConfig::new(3, 2).init::<AD>(&device);
        let x = Tensor::<AD, 2>::ones([1, 3], &device);
        // d(sum(xW + b))/dW = 1 for each of 6 weights, /db = 1 for each of 2 biases: norm sqrt(8).
        let grads = lin.forward(x).sum().backward();
        let norm = gradient_norm(&lin, &grads);
        assert!((norm - 8f64.sqrt()).abs() < 1e-6, "{norm}");
    }
}
