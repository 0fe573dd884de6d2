//! Training: the shared loop, pretraining of experts and the LM, alignment and SFT of the MLLM.

pub mod batches;
pub mod divergence;
pub mod fit;
pub mod llava;
pub mod mllm_stages;
pub mod pretrain;
pub mod schedule;

pub use divergence::Divergence;
pub use fit::{FitSettings, Progress, Silent, StepLog};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use std::sync::Mutex;

static INIT: Mutex<()> = Mutex::new(());

/// Touches every parameter, so that burn's lazily initialised parameters draw their random values now.
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Builds a module with the backend's generator seeded to `seed`, holding a lock so that concurrent
/// stages (worker threads) never interleave their random draws, and materialising every (lazily
/// initialised) parameter before the lock is released: weights depend on the seed alone.
pub fn seeded_init<B: Backend, M: Module<B>>(device: &B::Device, seed: u64, init: impl FnOnce() -> M) -> M {
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    B::seed(device, seed);
    let module = init();
    module.visit(&mut Materialise);
    module
}
