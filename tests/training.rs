//! Training behaviour at the smoke scale: freezing is exact, unlocked parts move, loss falls.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use eyrie::data::{DataSpec, Pool, Split, TextTask, Tokenizer};
use eyrie::model::encoders::ExpertConfig;
use eyrie::model::lm::LmConfig;
use eyrie::model::MllmConfig;
use eyrie::spec::{ExpertKind, Family, FusionKind, Scale, Tiling, Unlock};
use eyrie::train::mllm_stages::{train_mllm, Trainable};
use eyrie::train::pretrain::pretrain_lm;
use eyrie::train::{FitSettings, Silent};

type AD = Autodiff<Flex>;

fn config() -> MllmConfig {
    MllmConfig {
        lm_checkpoint: None,
        experts: vec![
            (ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke), 32),
            (ExpertConfig::at_scale(ExpertKind::ConvNext, Scale::Smoke), 64),
        ],
        fusion: FusionKind::ChannelConcat,
        tiling: Tiling::Interpolate,
        grid: 2,
        query: 0,
        lm: LmConfig::new(Tokenizer::new().vocab_size(), 16, 1, 2),
    }
}

fn pool(n: usize) -> Pool {
    Pool::build(&DataSpec::new(5, vec![Family::Vqa, Family::Pope], 3), Split::Train, 0, n, &[32, 64])
}

/// Every float parameter's values, in visiting order.
fn values<M: Module<AD>>(m: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor<AD> for Collect {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<AD, D>>) {
            self.0.push(p.val().into_data().convert::<f32>().to_vec().unwrap());
        }
    }
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    c.0
}

#[test]
fn frozen_experts_are_bit_identical_after_sft_while_unlocked_ones_change() {
    let dev = Default::default();
    let cfg = config();
    let data = pool(16);
    let settings = FitSettings::new(2, 1e-2);
    let kinds = [ExpertKind::Clip, ExpertKind::ConvNext];
    for unlock in [Unlock::All(false), Unlock::All(true), Unlock::Only(vec![ExpertKind::ConvNext])] {
        let model = eyrie::train::seeded_init::<AD, _>(&dev, 3, &cfg);
        let experts_before: Vec<_> = model.experts.iter().map(values).collect();
        let lm_before = values(&model.lm);
        let trainable = Trainable::sft(&unlock, &kinds);
        let (trained, _) =
            train_mllm(model, &cfg, &data, TextTask::Answer, trainable, 8, &settings, 1, "sft", &dev, &Silent)
                .expect("the training does not diverge");
        let experts_after: Vec<_> = trained.experts.iter().map(values).collect();
        for (i, (b, a)) in experts_before.iter().zip(&experts_after).enumerate() {
            if unlock.unlocks(kinds[i]) {
                let changed = b.iter().zip(a).filter(|(x, y)| x != y).count();
                assert!(
                    changed * 10 >= b.len() * 9,
                    "{unlock}: unlocked {} moved only {changed} of {} tensors",
                    kinds[i],
                    b.len()
                );
            } else {
                assert_eq!(b, a, "{unlock}: frozen {} changed", kinds[i]);
            }
        }
        assert_ne!(lm_before, values(&trained.lm), "the LM must train in SFT");
    }
}

#[test]
fn alignment_trains_the_projector_only() {
    let dev = Default::default();
    let cfg = config();
    let model = eyrie::train::seeded_init::<AD, _>(&dev, 3, &cfg);
    let (experts, lm, fusion) = (
        model.experts.iter().map(values).collect::<Vec<_>>(),
        values(&model.lm),
        values(model.fusion.as_ref().unwrap()),
    );
    let (m, _) = train_mllm(
        model,
        &cfg,
        &pool(16),
        TextTask::Caption,
        Trainable::align(),
        8,
        &FitSettings::new(2, 1e-2),
        1,
        "align",
        &dev,
        &Silent,
    )
    .expect("the training does not diverge");
    assert_eq!(experts, m.experts.iter().map(values).collect::<Vec<_>>());
    assert_eq!(lm, values(&m.lm));
    assert_ne!(fusion, values(m.fusion.as_ref().unwrap()));
}

#[test]
fn sft_loss_falls_at_smoke_scale() {
    let dev = Default::default();
    let cfg = config();
    let (_, log) = train_mllm(
        eyrie::train::seeded_init::<AD, _>(&dev, 3, &cfg),
        &cfg,
        &pool(64),
        TextTask::Answer,
        Trainable::sft(&Unlock::All(true), &[ExpertKind::Clip, ExpertKind::ConvNext]),
        16,
        &FitSettings { log_every: 1, ..FitSettings::new(60, 3e-3) },
        2,
        "sft",
        &dev,
        &Silent,
    )
    .expect("the training does not diverge");
    let first: f64 = log[..5].iter().map(|l| l.loss).sum::<f64>() / 5.0;
    let last: f64 = log[log.len() - 5..].iter().map(|l| l.loss).sum::<f64>() / 5.0;
    assert!(last < 0.6 * first, "loss went from {first:.3} to {last:.3}");
}

#[test]
fn lm_pretraining_loss_falls() {
    let dev = Default::default();
    let lm = LmConfig::new(Tokenizer::new().vocab_size(), 16, 1, 2);
    let text = Pool::build(&DataSpec::new(5, Family::ALL.to_vec(), 3), Split::Train, 0, 128, &[]);
    let (_, log) = pretrain_lm::<AD>(
        &lm,
        &text,
        32,
        &FitSettings { log_every: 1, ..FitSettings::new(80, 1e-2) },
        0,
        &dev,
        &Silent,
    )
    .expect("the training does not diverge");
    let (first, last) = (log[0].loss, log.last().unwrap().loss);
    assert!(last < 0.5 * first, "loss went from {first:.3} to {last:.3}");
}

// Every test of this file initialises through `seeded_init`, as the executor does, so the check below
// holds while the other tests run on concurrent threads.
#[test]
fn weights_depend_on_the_seed_alone_even_with_concurrent_stages() {
    use eyrie::train::seeded_init;
    let dev = Default::default();
    let lm = LmConfig::new(Tokenizer::new().vocab_size(), 16, 1, 2);
    let init = |seed: u64| values(&seeded_init::<AD, _>(&dev, seed, &lm));
    let (a, b) = (init(1), init(2));
    assert_ne!(a, b);
    std::thread::scope(|s| {
        let t1 = s.spawn(|| (0..5).map(|_| init(1)).collect::<Vec<_>>());
        let t2 = s.spawn(|| (0..5).map(|_| init(2)).collect::<Vec<_>>());
        assert!(t1.join().unwrap().iter().all(|v| *v == a));
        assert!(t2.join().unwrap().iter().all(|v| *v == b));
    });
}

#[test]
fn vision_lr_scale_slows_only_the_experts() {
    let dev = Default::default();
    let cfg = config();
    let data = pool(16);
    let moved = |scale: f64| {
        let model = eyrie::train::seeded_init::<AD, _>(&dev, 3, &cfg);
        let (e0, l0) = (values(&model.experts[0]), values(&model.lm));
        let settings = FitSettings { group_lr_scale: scale, ..FitSettings::new(1, 1e-2) };
        let (m, _) = train_mllm(
            model,
            &cfg,
            &data,
            TextTask::Answer,
            Trainable::sft(&Unlock::All(true), &[ExpertKind::Clip, ExpertKind::ConvNext]),
            8,
            &settings,
            1,
            "sft",
            &dev,
            &Silent,
        )
        .expect("the training does not diverge");
        let delta = |a: &[Vec<f32>], b: &[Vec<f32>]| {
            a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
        };
        (delta(&e0, &values(&m.experts[0])), delta(&l0, &values(&m.lm)))
    };
    let (expert_full, lm_full) = moved(1.0);
    let (expert_slow, lm_slow) = moved(0.01);
    assert!(expert_slow > 0.0 && expert_slow < 0.05 * expert_full, "expert step {expert_slow} vs {expert_full}");
    assert!((lm_slow - lm_full).abs() < 1e-6, "the LM's step must not depend on the vision scale");
}
