//! Parameters initialised on the host from the seed, whatever backend trains them: every backend
//! starts a stage from the same weights, so a stored stage means the same thing whichever backend
//! computed it (GPU backends draw random numbers with their own generators, which differ from flex's).

use crate::checkpoint::llama::LlamaForCausalLm;
use crate::model::{encoders::Expert, lm::Lm, mllm::Mllm};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_flex::Flex;
use burn_store::ModuleSnapshot;
use std::sync::Mutex;

static INIT: Mutex<()> = Mutex::new(());

/// A module description that can build its module on any backend.
pub trait HostInit {
    /// The module it builds on backend `B`.
    type Module<B: Backend>: Module<B>;
    /// Builds the module with fresh (lazily drawn) weights on `device`.
    fn build<B: Backend>(&self, device: &B::Device) -> Self::Module<B>;
}

/// Touches every parameter, so that burn's lazily initialised parameters draw their random values now.
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Builds `what` with weights drawn on the host (burn's flex backend, its generator seeded to `seed`)
/// and moves them to `device`. The host draws in `device`'s float type where the host's own device
/// is still free to take it (a process running flex itself shares it), else in the host's type and
/// casts. A lock keeps concurrent stages (worker threads) from interleaving their draws, and every
/// parameter is drawn before it is released: weights depend on the seed alone. On flex this gives
/// exactly the weights flex's own seeded draws give.
pub fn seeded_init<B: Backend, I: HostInit>(device: &B::Device, seed: u64, what: &I) -> I::Module<B> {
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    let host = Default::default();
    let want = burn::tensor::get_device_settings::<B>(device).float_dtype;
    let int = int_dtype::<Flex>();
    // Already fixed (by an earlier draw or by a flex run): the draws stay in its type and are cast below.
    let _ = burn::tensor::set_default_dtypes::<Flex>(&host, want, int);
    Flex::seed(&host, seed);
    let drawn = what.build::<Flex>(&host);
    drawn.visit(&mut Materialise);
    let mut module = what.build::<B>(device);
    // Parameters are matched by path; the target's are still lazy, so it draws nothing itself.
    let result = module.apply(drawn.collect(None, None, false), None, None, false);
    assert!(
        result.missing.is_empty() && result.errors.is_empty(),
        "the host-drawn module has the target's structure (missing {:?}, errors {:?})",
        result.missing,
        result.errors
    );
    crate::store::checkpoint::to_device_float(module)
}

fn int_dtype<B: Backend>() -> burn::tensor::IntDType {
    <B::IntElem as burn::tensor::Element>::dtype().into()
}

/// Builds `what` on `device` without drawing anything: for a module whose every parameter is about to
/// be loaded from a checkpoint (burn's parameters are drawn lazily, on first use).
pub fn unseeded<B: Backend, I: HostInit>(device: &B::Device, what: &I) -> I::Module<B> {
    what.build::<B>(device)
}

/// `HostInit` for a config whose `init(device)` builds its module.
macro_rules! host_init_by_init {
    ($($config:ty => $module:ident),* $(,)?) => {$(
        impl HostInit for $config {
            type Module<B: Backend> = $module<B>;
            fn build<B: Backend>(&self, device: &B::Device) -> Self::Module<B> {
                self.init(device)
            }
        }
    )*};
}

host_init_by_init!(
    crate::model::mllm::MllmConfig => Mllm,
    crate::model::encoders::ExpertConfig => Expert,
    crate::model::lm::LmConfig => Lm,
    crate::checkpoint::lm::LmCheckpoint => LlamaForCausalLm,
);
