//! Half precision on the CPU backend (the GPU runs the same code): the device computes in the asked
//! type, the loss still falls, and asking the same process for another precision is refused.
//! One test in its own binary: a device's float type is fixed for the whole process.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::DType;
use eyrie::backend::{run_on, BackendError, BackendJob};
use eyrie::data::{DataSpec, Pool, Split, Tokenizer};
use eyrie::model::lm::LmConfig;
use eyrie::spec::{BackendKind, Family, Precision};
use eyrie::train::pretrain::pretrain_lm;
use eyrie::train::{FitSettings, Silent};

/// Pretrains a tiny LM; returns its parameters' dtypes and the first and last logged losses.
struct PretrainLm;

impl BackendJob for PretrainLm {
    type Output = (Vec<DType>, f64, f64);
    fn run<B: AutodiffBackend>(self, device: B::Device, _name: String) -> Self::Output {
        struct Dtypes(Vec<DType>);
        impl<B: Backend> ModuleVisitor<B> for Dtypes {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
                self.0.push(p.val().dtype());
            }
        }
        let lm = LmConfig::new(Tokenizer::new().vocab_size(), 16, 1, 2);
        let text = Pool::build(&DataSpec::new(5, Family::ALL.to_vec(), 3), Split::Train, 0, 128, &[]);
        let (model, log) = pretrain_lm::<B>(
            &lm,
            &text,
            32,
            &FitSettings { log_every: 1, ..FitSettings::new(80, 1e-2) },
            0,
            &device,
            &Silent,
        )
        .expect("the training does not diverge");
        let mut dtypes = Dtypes(Vec::new());
        model.visit(&mut dtypes);
        (dtypes.0, log[0].loss, log.last().unwrap().loss)
    }
}

#[test]
fn bf16_computes_in_bf16_learns_and_fixes_the_process_precision() {
    let (dtypes, first, last) =
        run_on(BackendKind::Flex, 0, Precision::Bf16, PretrainLm).expect("flex computes in bf16");
    assert!(!dtypes.is_empty() && dtypes.iter().all(|d| *d == DType::BF16), "parameters in {dtypes:?}");
    assert!(last.is_finite() && last < 0.5 * first, "bf16 loss went from {first:.3} to {last:.3}");
    // The same precision again is fine; another is refused, naming the flag and what the device runs.
    assert!(run_on(BackendKind::Flex, 0, Precision::Bf16, PretrainLm).is_ok());
    match run_on(BackendKind::Flex, 0, Precision::F32, PretrainLm) {
        Err(e @ BackendError::Precision(..)) => {
            let msg = e.to_string();
            assert!(msg.contains("--precision f32") && msg.contains("BF16"), "{msg}");
        }
        other => panic!("f32 after bf16 in one process should be refused, got {:?}", other.map(|o| o.0.len())),
    }
}
