//! Choosing the burn backend at run time among those compiled in.

use crate::spec::BackendKind;
use burn::tensor::backend::AutodiffBackend;

/// The chosen backend could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Not compiled into this binary.
    #[error("backend `{0}` is not compiled into this binary; rebuild with `--features {0}` (compiled in: {1})")]
    NotCompiled(BackendKind, String),
    /// Compiled in, but no usable device.
    #[error("no {0} device found: {1}")]
    NoDevice(&'static str, String),
}

/// Work that runs on whichever backend is chosen.
pub trait BackendJob {
    /// What the job returns.
    type Output;
    /// Runs on backend `B` with `device`.
    fn run<B: AutodiffBackend>(self, device: B::Device, backend_name: String) -> Self::Output;
}

/// Backends compiled into this binary.
pub fn compiled() -> Vec<BackendKind> {
    let mut v = Vec::new();
    if cfg!(feature = "flex") {
        v.push(BackendKind::Flex);
    }
    if cfg!(feature = "ndarray") {
        v.push(BackendKind::Ndarray);
    }
    if cfg!(feature = "wgpu") {
        v.push(BackendKind::Wgpu);
    }
    if cfg!(feature = "cuda") {
        v.push(BackendKind::Cuda);
    }
    v
}

/// The default backend: the first compiled-in CPU backend, else the first compiled in.
pub fn default_backend() -> BackendKind {
    let c = compiled();
    c.iter().copied().find(|b| matches!(b, BackendKind::Flex | BackendKind::Ndarray)).or(c.first().copied()).unwrap_or(BackendKind::Flex)
}

#[allow(dead_code)]
fn probe<B: AutodiffBackend>(device: &B::Device, what: &'static str) -> Result<(), BackendError> {
    let d = device.clone();
    // The backend reports a missing device by panicking: silence the panic message, keep the reason.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let t = burn::tensor::Tensor::<B, 1>::from_floats([1.0, 2.0], &d);
        t.sum().into_data();
    }));
    std::panic::set_hook(hook);
    outcome.map_err(|e| {
        let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "device initialisation panicked".into());
        BackendError::NoDevice(what, msg)
    })
}

/// Runs `job` on backend `kind` (device `index` for GPUs).
pub fn run_on<J: BackendJob>(kind: BackendKind, #[allow(unused)] index: usize, job: J) -> Result<J::Output, BackendError> {
    let names = || compiled().iter().map(|b| b.as_str()).collect::<Vec<_>>().join(", ");
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Flex => Ok(job.run::<burn::backend::Autodiff<burn::backend::Flex>>(Default::default(), "flex".into())),
        #[cfg(feature = "ndarray")]
        BackendKind::Ndarray => Ok(job.run::<burn::backend::Autodiff<burn::backend::NdArray>>(Default::default(), "ndarray".into())),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => {
            type B = burn::backend::Autodiff<burn::backend::Wgpu>;
            let device = burn::backend::wgpu::WgpuDevice::DefaultDevice;
            probe::<B>(&device, "wgpu")?;
            Ok(job.run::<B>(device, "wgpu".into()))
        }
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => {
            type B = burn::backend::Autodiff<burn::backend::Cuda>;
            let device = burn::backend::cuda::CudaDevice::new(index);
            probe::<B>(&device, "CUDA")?;
            Ok(job.run::<B>(device, format!("cuda:{index}")))
        }
        #[allow(unreachable_patterns)]
        other => Err(BackendError::NotCompiled(other, names())),
    }
}
