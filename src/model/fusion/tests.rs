use super::deformable::DeformableConfig;
use super::{Fusion, FusionConfig};
use crate::model::bilinear::{bilinear_sample, reference_points};
use crate::model::encoders::{Expert, ExpertConfig};
use crate::model::lm::LmConfig;
use crate::model::mllm::MllmConfig;
use crate::model::ops::grad_check::without_gradient;
use crate::spec::FusionKind;
use crate::spec::{ExpertKind, Scale, Tiling};
use burn::backend::{Autodiff, Flex};
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::{Distribution, Tolerance};

type B = Flex;
type AD = Autodiff<Flex>;

fn map<Bk: Backend>(c: usize, side: usize, dev: &Bk::Device) -> Tensor<Bk, 4> {
    Tensor::random([2, c, side, side], Distribution::Normal(0.0, 1.0), dev)
}

/// Every strategy that takes a query map and one or more others.
const ROLE_FUSIONS: [FusionKind; 2] = [FusionKind::MiniGemini, FusionKind::Deformable];

#[test]
fn odd_query_grid_over_a_larger_map() {
    // A 7x7 query grid over a 12x12 map (windows of 2x2 after resampling to 14x14).
    let dev = Default::default();
    for kind in ROLE_FUSIONS {
        let cfg = FusionConfig {
            kind,
            channels: vec![8, 6],
            sides: vec![7, 12],
            query: 0,
            heads: 2,
            adapter_blocks: vec![0],
            grid: 7,
            lm_dim: 10,
        };
        let out = cfg.init::<B>(&dev).forward(vec![map::<B>(8, 7, &dev), map::<B>(6, 12, &dev)], 0);
        assert_eq!(out.dims(), [2, 49, 10], "{kind}");
        assert_eq!(cfg.num_tokens(), 49);
        assert!(cfg.flops() > 0.0);
    }
}

#[test]
fn the_query_map_may_come_second() {
    let dev = Default::default();
    for kind in ROLE_FUSIONS {
        let cfg = FusionConfig {
            kind,
            channels: vec![6, 8, 4],
            sides: vec![12, 5, 9],
            query: 1,
            heads: 4,
            adapter_blocks: vec![0],
            grid: 5,
            lm_dim: 10,
        };
        let out =
            cfg.init::<B>(&dev).forward(vec![map::<B>(6, 12, &dev), map::<B>(8, 5, &dev), map::<B>(4, 9, &dev)], 1);
        assert_eq!(out.dims(), [2, 25, 10], "{kind}");
    }
}

#[test]
fn gradients_reach_every_parameter_of_every_strategy() {
    let dev = Default::default();
    for kind in FusionKind::ALL.iter().copied().filter(|k| *k != FusionKind::LlavaHr) {
        let cfg = FusionConfig {
            kind,
            channels: vec![8, 6],
            sides: vec![5, 9],
            query: 0,
            heads: 2,
            adapter_blocks: vec![0],
            grid: 5,
            lm_dim: 10,
        };
        let f = cfg.init::<AD>(&dev);
        let loss = f.forward(vec![map::<AD>(8, 5, &dev), map::<AD>(6, 9, &dev)], 0).powf_scalar(2.0).mean();
        let grads = loss.backward();
        let (missing, total) = without_gradient(&f, &grads);
        assert!(total >= 4, "{kind}");
        assert!(missing.is_empty(), "{kind}: {} of {total} parameters got no gradient: {missing:?}", missing.len());
    }
}

#[test]
fn bilinear_sampling_matches_a_hand_computed_case() {
    let dev = Default::default();
    // One channel, 2x3: [[0, 1, 2], [3, 4, 5]].
    let m = Tensor::<B, 4>::from_floats([[[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]]], &dev);
    let points = Tensor::<B, 3>::from_floats(
        [[[0.5, 0.5], [2.0, 1.0], [1.25, 0.0], [2.5, 1.0], [-1.0, 0.0], [0.0, 0.75]]],
        &dev,
    );
    let got = bilinear_sample(m, points);
    // (0.5, 0.5): mean of 0, 1, 3, 4; (2, 1): 5; (1.25, 0): 0.75·1 + 0.25·2; (2.5, 1): half of 5,
    // the other half outside; (-1, 0): outside; (0, 0.75): 0.25·0 + 0.75·3.
    let expected = Tensor::<B, 3>::from_floats([[[2.0], [5.0], [1.25], [2.5], [0.0], [2.25]]], &dev);
    got.into_data().assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
}

#[test]
fn reference_points_are_query_centres_on_each_map() {
    let dev = Default::default();
    // One query over a 4x4 map: the map's centre; a 2x2 grid over a 4x4 map: pixel centres 0.5 and 2.5.
    let one = reference_points::<B>(1, 1, 4, 4, &dev).into_data().to_vec::<f32>().unwrap();
    assert_eq!(one, vec![1.5, 1.5]);
    let four = reference_points::<B>(2, 2, 4, 4, &dev).into_data().to_vec::<f32>().unwrap();
    assert_eq!(four, vec![0.5, 0.5, 2.5, 0.5, 0.5, 2.5, 2.5, 2.5]);
}

#[test]
fn deformable_with_zero_offsets_samples_exactly_the_reference_points() {
    let dev = Default::default();
    let f = DeformableConfig::new(8, vec![8, 6], 3, 10, 2).init::<B>(&dev);
    let q = f.queries(map::<B>(8, 3, &dev));
    let sides = [(3, 3), (7, 5)];
    let points = f.sampling_points(q, &sides);
    assert_eq!(points.dims(), [2, 9, 2, 2, 4, 2]);
    for (l, &(h, w)) in sides.iter().enumerate() {
        let refs = reference_points::<B>(3, 3, h, w, &dev)
            .reshape([1, 9, 1, 1, 1, 2])
            .repeat_dim(0, 2)
            .repeat_dim(2, 2)
            .repeat_dim(4, 4);
        let got = points.clone().slice([0..2, 0..9, 0..2, l..l + 1, 0..4, 0..2]);
        assert_eq!(got.into_data(), refs.into_data(), "level {l}");
    }
    // On a map the same size as the query grid, the reference points are the pixel centres:
    // sampling there returns the map itself.
    let m = map::<B>(3, 3, &dev);
    let refs = reference_points::<B>(3, 3, 3, 3, &dev).reshape([1, 9, 2]).repeat_dim(0, 2);
    let sampled = bilinear_sample(m.clone(), refs);
    sampled
        .into_data()
        .assert_approx_eq::<f32>(&m.reshape([2, 3, 9]).swap_dims(1, 2).into_data(), Tolerance::default());
}

fn llava_hr_config() -> MllmConfig {
    MllmConfig {
        lm_checkpoint: None,
        experts: vec![
            (ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke), 32),
            (ExpertConfig::at_scale(ExpertKind::ConvNext, Scale::Smoke), 64),
        ],
        fusion: FusionKind::LlavaHr,
        tiling: Tiling::Interpolate,
        grid: 4,
        query: 0,
        lm: LmConfig::new(30, 16, 1, 2),
    }
}

#[test]
fn llava_hr_at_initialisation_equals_its_vit_alone() {
    let dev = Default::default();
    let m = llava_hr_config().init::<B>(&dev);
    let (Some(Fusion::LlavaHr(f)), Expert::Clip(vit)) = (&m.fusion, &m.experts[0]) else {
        panic!("llava-hr over clip")
    };
    let x = map::<B>(3, 32, &dev);
    let high_res = m.experts[1].forward(map::<B>(3, 64, &dev));
    let adapted = f.adapted_vit(vit, x.clone(), &high_res);
    adapted.into_data().assert_approx_eq::<f32>(&vit.forward(x.clone()).into_data(), Tolerance::default());
    // And its tokens are the ViT's, projected: the high-resolution read-out starts at zero too.
    let tokens = m.encode_images(vec![x.clone(), map::<B>(3, 64, &dev)]).unwrap();
    assert_eq!(tokens.dims(), [2, 16, 16]);
    let vit_alone = f.vit_tokens(vit.forward(x));
    tokens.into_data().assert_approx_eq::<f32>(&vit_alone.into_data(), Tolerance::default());
}

#[test]
fn llava_hr_trains_every_parameter_after_its_first_step() {
    use burn::optim::{GradientsParams, Optimizer, SgdConfig};
    let dev = Default::default();
    let mut m = llava_hr_config().init::<AD>(&dev);
    let mut optim = SgdConfig::new().init();
    let loss = |m: &crate::model::mllm::Mllm<AD>| {
        m.encode_images(vec![map::<AD>(3, 32, &Default::default()), map::<AD>(3, 64, &Default::default())])
            .unwrap()
            .powf_scalar(2.0)
            .mean()
    };
    // Step 0: the zero-initialised outputs hide the convolutions behind them (as in LLaVA-HR);
    // after one step every parameter of the fusion learns.
    let grads = loss(&m).backward();
    m = optim.step(0.5, m.clone(), GradientsParams::from_grads(grads, &m));
    let grads = loss(&m).backward();
    let (missing, total) = without_gradient(m.fusion.as_ref().unwrap(), &grads);
    assert!(total > 10);
    assert!(missing.is_empty(), "{} of {total} parameters got no gradient: {missing:?}", missing.len());
}

#[test]
fn parameter_counts_by_formula_match_the_built_modules() {
    let dev = Default::default();
    for kind in FusionKind::ALL.iter().copied() {
        let cfg = FusionConfig {
            kind,
            channels: vec![16, 24, 12],
            sides: vec![4, 8, 6],
            query: 0,
            heads: 2,
            adapter_blocks: vec![0, 1],
            grid: 4,
            lm_dim: 20,
        };
        assert_eq!(cfg.num_params(), cfg.init::<B>(&dev).num_params(), "{kind}");
    }
}
