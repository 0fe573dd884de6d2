//! Choosing the burn backend at run time among those compiled in.

use crate::spec::{BackendKind, Precision};
use burn::tensor::backend::{AutodiffBackend, Backend};

/// The chosen backend could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Not compiled into this binary.
    #[error(
        "backend `{0}` is not compiled into this binary; rebuild with `--features {feature}` (compiled in: {compiled})",
        feature = .0.cargo_feature(),
        compiled = .1
    )]
    NotCompiled(BackendKind, String),
    /// Compiled in, but no usable device.
    #[error("no {0} device found: {1}")]
    NoDevice(&'static str, String),
    /// The device cannot compute in the asked precision, or already computes in another.
    #[error("--precision {0} on {1}: {2}")]
    Precision(Precision, String, String),
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
        v.push(BackendKind::CudaUnfused);
    }
    v
}

/// The default backend: the first compiled-in CPU backend, else the first compiled in.
pub fn default_backend() -> BackendKind {
    let c = compiled();
    c.iter()
        .copied()
        .find(|b| matches!(b, BackendKind::Flex | BackendKind::Ndarray))
        .or(c.first().copied())
        .unwrap_or(BackendKind::Flex)
}

/// Checks that `device` answers (and fixes its precision before the first tensor): GPU backends
/// report a missing device by panicking at first use.
#[allow(dead_code)]
fn probe<B: AutodiffBackend>(device: &B::Device, what: &'static str, precision: Precision) -> Result<(), BackendError> {
    let d = device.clone();
    // The backend reports a missing device by panicking: silence the panic message, keep the reason.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        set_precision::<B>(&d, precision)?;
        let t = burn::tensor::Tensor::<B, 1>::from_floats([1.0, 2.0], &d);
        t.sum().into_data();
        Ok(())
    }));
    std::panic::set_hook(hook);
    outcome.map_err(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "device initialisation panicked".into());
        BackendError::NoDevice(what, msg)
    })?
}

/// Makes `precision` the float type of every tensor created on `device` from now on. A device's
/// float type is fixed once its first tensor exists (burn's device settings), so asking again for
/// the same precision is fine and asking for another is refused.
pub fn set_precision<B: Backend>(device: &B::Device, precision: Precision) -> Result<(), BackendError> {
    let refuse = |why: String| BackendError::Precision(precision, B::name(device), why);
    let dtype = precision.dtype();
    if !B::supports_dtype(device, dtype.into()) {
        return Err(refuse("this backend does not compute in this type".into()));
    }
    // The backend's own integer default: reading the device's settings would fix them.
    let int: burn::tensor::IntDType = <B::IntElem as burn::tensor::Element>::dtype().into();
    if burn::tensor::set_default_dtypes::<B>(device, dtype, int).is_ok() {
        return Ok(());
    }
    let current = burn::tensor::get_device_settings::<B>(device).float_dtype;
    if current == dtype {
        Ok(())
    } else {
        Err(refuse(format!("this process already computes in {current:?} on this device")))
    }
}

/// Runs `job` on backend `kind` (device `index` for GPUs) with float type `precision`.
pub fn run_on<J: BackendJob>(
    kind: BackendKind,
    #[allow(unused)] index: usize,
    precision: Precision,
    job: J,
) -> Result<J::Output, BackendError> {
    let names = || compiled().iter().map(|b| b.as_str()).collect::<Vec<_>>().join(", ");
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Flex => {
            type B = burn::backend::Autodiff<burn::backend::Flex>;
            let device = Default::default();
            set_precision::<B>(&device, precision)?;
            Ok(job.run::<B>(device, "flex".into()))
        }
        #[cfg(feature = "ndarray")]
        BackendKind::Ndarray => {
            type B = burn::backend::Autodiff<burn::backend::NdArray>;
            let device = Default::default();
            set_precision::<B>(&device, precision)?;
            Ok(job.run::<B>(device, "ndarray".into()))
        }
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => {
            type B = burn::backend::Autodiff<burn::backend::Wgpu>;
            let device = burn::backend::wgpu::WgpuDevice::DefaultDevice;
            crate::kernels::configure_gpu();
            probe::<B>(&device, "wgpu", precision)?;
            Ok(job.run::<B>(device, "wgpu".into()))
        }
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => {
            type B = burn::backend::Autodiff<burn::backend::Cuda>;
            let device = burn::backend::cuda::CudaDevice::new(index);
            crate::kernels::configure_gpu();
            probe::<B>(&device, "CUDA", precision)?;
            Ok(job.run::<B>(device, format!("cuda:{index}")))
        }
        #[cfg(feature = "cuda")]
        BackendKind::CudaUnfused => {
            type B = burn::backend::Autodiff<burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8>>;
            let device = burn::backend::cuda::CudaDevice::new(index);
            crate::kernels::configure_gpu();
            probe::<B>(&device, "CUDA", precision)?;
            Ok(job.run::<B>(device, format!("cuda-unfused:{index}")))
        }
        #[allow(unreachable_patterns)]
        other => Err(BackendError::NotCompiled(other, names())),
    }
}
