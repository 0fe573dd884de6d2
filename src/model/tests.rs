use super::encoders::ExpertConfig;
use super::fusion::FusionConfig;
use super::lm::LmConfig;
use super::mllm::MllmConfig;
use crate::spec::{ExpertKind, FusionKind, Scale};
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::Distribution;

type B = Flex;
type AD = Autodiff<Flex>;

fn images<Bk: Backend>(b: usize, side: usize, dev: &Bk::Device) -> Tensor<Bk, 4> {
    Tensor::random([b, 3, side, side], Distribution::Normal(0.0, 1.0), dev)
}

#[test]
fn experts_output_shapes_at_native_and_other_resolutions() {
    let dev = Default::default();
    for kind in ExpertKind::ALL {
        let cfg = ExpertConfig::at_scale(*kind, Scale::Smoke);
        let e = cfg.init::<B>(&dev);
        for side in [cfg.native_resolution, cfg.native_resolution * 2, 48] {
            let out = e.forward(images::<B>(2, side, &dev));
            let g = cfg.grid(side);
            assert_eq!(out.dims(), [2, cfg.out_channels(), g, g], "{kind} at {side}px");
        }
    }
}

#[test]
fn clip_position_embeddings_interpolate_to_new_grids() {
    let dev = Default::default();
    let cfg = ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke);
    let e = cfg.init::<B>(&dev);
    // 40 px → a 5x5 grid from a 4x4 native grid: odd sizes work.
    let out = e.forward(images::<B>(1, 40, &dev));
    assert_eq!(out.dims(), [1, cfg.out_channels(), 5, 5]);
}

#[test]
fn fusions_token_counts_and_shapes() {
    let dev = Default::default();
    let maps = || vec![images::<B>(2, 4, &dev).repeat_dim(1, 6), images::<B>(2, 3, &dev).repeat_dim(1, 4)];
    // channels 18 and 12, grids 4x4 and 3x3
    for (kind, tokens) in [(FusionKind::ChannelConcat, 9), (FusionKind::SequenceAppend, 18)] {
        let cfg = FusionConfig { kind, channels: vec![18, 12], grid: 3, lm_dim: 8 };
        assert_eq!(cfg.num_tokens(), tokens);
        let f = cfg.init::<B>(&dev);
        assert_eq!(f.forward(maps()).dims(), [2, tokens, 8], "{kind}");
    }
}

#[test]
fn lm_and_mllm_logit_shapes() {
    let dev = Default::default();
    let lm = LmConfig::new(30, 16, 1, 2);
    let ids = Tensor::<B, 2, Int>::from_ints([[1, 5, 7, 3], [1, 4, 3, 0]], &dev);
    assert_eq!(lm.init::<B>(&dev).forward(ids.clone()).dims(), [2, 4, 30]);
    let cfg = MllmConfig {
        experts: vec![(ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke), 32), (ExpertConfig::at_scale(ExpertKind::ConvNext, Scale::Smoke), 64)],
        fusion: FusionKind::ChannelConcat,
        grid: 2,
        lm,
    };
    let m = cfg.init::<B>(&dev);
    let logits = m.forward(vec![images::<B>(2, 32, &dev), images::<B>(2, 64, &dev)], ids);
    assert_eq!(logits.dims(), [2, 4, 30]);
    assert_eq!(cfg.visual_tokens(), 4);
}

#[test]
fn lm_is_causal() {
    let dev = Default::default();
    let lm = LmConfig::new(20, 16, 2, 2).init::<B>(&dev);
    let a = lm.forward(Tensor::<B, 2, Int>::from_ints([[1, 5, 7, 3]], &dev));
    let b = lm.forward(Tensor::<B, 2, Int>::from_ints([[1, 5, 9, 9]], &dev));
    let head = |t: Tensor<B, 3>| t.slice([0..1, 0..2, 0..20]).into_data();
    head(a).assert_approx_eq::<f32>(&head(b), burn::tensor::Tolerance::default());
}

#[test]
fn gradients_reach_every_trainable_parameter() {
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::backend::AutodiffBackend;
    let dev = Default::default();
    let cfg = MllmConfig {
        experts: vec![(ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke), 32), (ExpertConfig::at_scale(ExpertKind::ConvNext, Scale::Smoke), 64)],
        fusion: FusionKind::SequenceAppend,
        grid: 2,
        lm: LmConfig::new(30, 16, 1, 2),
    };
    let m = cfg.init::<AD>(&dev);
    let ids = Tensor::<AD, 2, Int>::from_ints([[1, 5, 7, 3]], &dev);
    let loss = m.forward(vec![images::<AD>(1, 32, &dev), images::<AD>(1, 64, &dev)], ids).powf_scalar(2.0).mean();
    let grads = loss.backward();
    struct Check<'a> {
        grads: &'a <AD as AutodiffBackend>::Gradients,
        missing: usize,
        total: usize,
    }
    impl ModuleVisitor<AD> for Check<'_> {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<AD, D>>) {
            self.total += 1;
            match p.val().grad(self.grads) {
                Some(g) if g.clone().abs().sum().into_scalar() > 0.0 => {}
                _ => self.missing += 1,
            }
        }
    }
    let mut c = Check { grads: &grads, missing: 0, total: 0 };
    m.visit(&mut c);
    assert!(c.total > 30);
    assert_eq!(c.missing, 0, "{} of {} parameters got no gradient", c.missing, c.total);
}
