//! `eyrie plan --memory`: per distinct training stage, its parameters, what it must hold in memory
//! and its forward FLOPs per sample.

use anyhow::Result;
use eyrie::backend::{run_on, BackendJob};
use eyrie::model::encoders::ExpertConfig;
use eyrie::model::lm::LmConfig;
use eyrie::plan::memory::{bytes_text, footprint, Footprint, ParamCounter};
use eyrie::plan::{cost, Plan, StageKind};
use eyrie::spec::{BackendKind, Precision};
use std::cell::RefCell;
use std::collections::HashMap;

/// Counts the parameters of Eyrie's own modules by building them once each on a CPU device.
struct Built<B: burn::tensor::backend::Backend> {
    device: B::Device,
    seen: RefCell<HashMap<String, u64>>,
}

impl<B: burn::tensor::backend::Backend> ParamCounter for Built<B> {
    fn expert(&self, e: &ExpertConfig) -> u64 {
        let key = serde_json::to_string(e).unwrap_or_default();
        *self
            .seen
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| burn::module::Module::num_params(&e.init::<B>(&self.device)) as u64)
    }
    fn lm(&self, lm: &LmConfig) -> u64 {
        let key = serde_json::to_string(lm).unwrap_or_default();
        *self
            .seen
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| burn::module::Module::num_params(&lm.init::<B>(&self.device)) as u64)
    }
}

struct MemoryJob<'a> {
    plan: &'a Plan,
}

impl BackendJob for MemoryJob<'_> {
    type Output = String;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, _backend: String) -> String {
        let counter = Built::<B::InnerBackend> { device, seen: RefCell::new(HashMap::new()) };
        table(self.plan, &counter)
    }
}

/// Forward FLOPs of one sample of a training stage's model.
fn forward_flops(kind: &StageKind) -> Option<f64> {
    Some(match kind {
        StageKind::ExpertPretrain { expert, .. } => expert.flops(expert.native_resolution),
        StageKind::LmPretrain { lm, .. } => lm.flops(cost::TEXT_TOKENS),
        StageKind::PreAlign { model, conversations, .. }
        | StageKind::Align { model, conversations, .. }
        | StageKind::Sft { model, conversations, .. } => cost::forward_flops_of(model, conversations.as_ref()),
        StageKind::ExpertLoad { .. } | StageKind::LmLoad { .. } | StageKind::Eval { .. } => return None,
    })
}

fn table(plan: &Plan, counter: &dyn ParamCounter) -> String {
    let mut out = format!(
        "memory per stage at {} (estimates: weights of every part; gradients and AdamW's two moments of the \
         parts that train; activations kept for the backward pass at the stage's batch size):\n",
        plan.precision
    );
    out += &format!(
        "  {:<58} {:>5} {:>14} {:>14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}\n",
        "stage", "batch", "params", "trainable", "weights", "grads", "AdamW", "activ.", "total", "GFLOP/s."
    );
    let mut worst = Footprint::default();
    let order = eyrie::exec::stage_order(plan);
    for s in order.iter().map(|id| &plan.stages[id]).filter(|s| !matches!(s.kind, StageKind::Eval { .. })) {
        let f = footprint(&s.kind, plan.precision, counter);
        if f.total() > worst.total() {
            worst = f;
        }
        let batch = match &s.kind {
            StageKind::ExpertLoad { .. } | StageKind::LmLoad { .. } | StageKind::Eval { .. } => "-".to_string(),
            k => k.batch().to_string(),
        };
        let label: String = s.label.chars().take(58).collect();
        out += &format!(
            "  {label:<58} {batch:>5} {:>14} {:>14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}\n",
            f.params,
            f.trainable,
            bytes_text(f.weights),
            bytes_text(f.gradients),
            bytes_text(f.optimiser),
            bytes_text(f.activations),
            bytes_text(f.total()),
            forward_flops(&s.kind).map_or("-".into(), cost::gflops_text),
        );
    }
    out += &format!("the largest stage needs about {} of accelerator memory\n", bytes_text(worst.total()));
    out
}

/// The memory table of `plan`, counting Eyrie's own modules' parameters on the CPU.
pub fn memory_lines(plan: &Plan) -> Result<String> {
    let cpu = eyrie::backend::compiled().into_iter().find(|k| matches!(k, BackendKind::Flex | BackendKind::Ndarray));
    let kind = cpu.unwrap_or(BackendKind::Flex);
    Ok(run_on(kind, 0, Precision::F32, MemoryJob { plan })?)
}
