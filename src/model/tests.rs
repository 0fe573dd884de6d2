use super::encoders::ExpertConfig;
use super::fusion::FusionConfig;
use super::lm::LmConfig;
use super::mllm::MllmConfig;
use crate::spec::{ExpertKind, FusionKind, Scale, Tiling};
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
    for (kind, tokens) in [
        (FusionKind::ChannelConcat, 9),
        (FusionKind::SequenceAppend, 18),
        (FusionKind::MiniGemini, 9),
        (FusionKind::Deformable, 9),
    ] {
        let cfg = FusionConfig {
            kind,
            channels: vec![18, 12],
            sides: vec![4, 3],
            query: 0,
            heads: 2,
            adapter_blocks: vec![0],
            grid: 3,
            lm_dim: 8,
        };
        assert_eq!(cfg.num_tokens(), tokens);
        let f = cfg.init::<B>(&dev);
        assert_eq!(f.forward(maps(), 0).dims(), [2, tokens, 8], "{kind}");
    }
}

#[test]
fn lm_and_mllm_logit_shapes() {
    let dev = Default::default();
    let lm = LmConfig::new(30, 16, 1, 2);
    let ids = Tensor::<B, 2, Int>::from_ints([[1, 5, 7, 3], [1, 4, 3, 0]], &dev);
    assert_eq!(lm.init::<B>(&dev).forward(ids.clone()).dims(), [2, 4, 30]);
    let cfg = MllmConfig {
        lm_checkpoint: None,
        experts: vec![
            (ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke), 32),
            (ExpertConfig::at_scale(ExpertKind::ConvNext, Scale::Smoke), 64),
        ],
        fusion: FusionKind::ChannelConcat,
        tiling: Tiling::Interpolate,
        grid: 2,
        query: 0,
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
    let dev = Default::default();
    let cfg = MllmConfig {
        lm_checkpoint: None,
        experts: vec![
            (ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke), 32),
            (ExpertConfig::at_scale(ExpertKind::ConvNext, Scale::Smoke), 64),
        ],
        fusion: FusionKind::SequenceAppend,
        tiling: Tiling::Interpolate,
        grid: 2,
        query: 0,
        lm: LmConfig::new(30, 16, 1, 2),
    };
    let m = cfg.init::<AD>(&dev);
    let ids = Tensor::<AD, 2, Int>::from_ints([[1, 5, 7, 3]], &dev);
    let loss = m.forward(vec![images::<AD>(1, 32, &dev), images::<AD>(1, 64, &dev)], ids).powf_scalar(2.0).mean();
    let grads = loss.backward();
    let (missing, total) = crate::model::ops::grad_check::without_gradient(&m, &grads);
    assert!(total > 30);
    assert!(missing.is_empty(), "{} of {total} parameters got no gradient: {missing:?}", missing.len());
}

#[test]
fn position_embedding_interpolation_is_exact_at_the_native_grid() {
    let dev = Default::default();
    let pos = Tensor::<B, 4>::random([1, 6, 4, 4], Distribution::Normal(0.0, 1.0), &dev);
    let tokens = super::encoders::clip::position_tokens(pos.clone(), 4, 4);
    let expected = pos.clone().reshape([1, 6, 16]).swap_dims(1, 2);
    assert_eq!(tokens.into_data(), expected.into_data(), "bicubic resampling to the same grid must be the identity");
    // A different grid really resamples.
    assert_eq!(super::encoders::clip::position_tokens(pos, 6, 6).dims(), [1, 36, 6]);
}

#[test]
fn tiling_covers_every_pixel_exactly_once() {
    use super::tiling::{stitch, tile, tiles_per_side};
    let dev = Default::default();
    // 96 px over 64 px tiles: 2×2 tiles on a padded 128 canvas. Pixel values are their own index.
    let (res, native) = (96, 64);
    let k = tiles_per_side(res, native);
    assert_eq!(k, 2);
    let n = 2 * 3 * res * res;
    let x = Tensor::<B, 1, Int>::arange(0..n as i64, &dev).float().reshape([2, 3, res, res]) + 1000.0;
    let tiles = tile(x.clone(), native, k);
    assert_eq!(tiles.dims(), [2 * k * k, 3, native, native]);
    let values = tiles.clone().into_data().convert::<f32>().to_vec::<f32>().unwrap();
    let mut seen = vec![0u8; n];
    for v in values.iter().filter(|v| **v >= 1000.0) {
        seen[(*v - 1000.0).round() as usize] += 1;
    }
    assert!(seen.iter().all(|&c| c == 1), "every pixel appears in exactly one tile");
    assert_eq!(values.iter().filter(|v| **v < 1000.0).count(), 2 * 3 * (128 * 128 - res * res), "the rest is padding");
    // Stitching the tiles back gives the padded image.
    let back = stitch(tiles, 2, k).slice([0..2, 0..3, 0..res, 0..res]);
    assert_eq!(back.into_data(), x.into_data());
}

#[test]
fn tiled_expert_feeds_stitched_tiles_and_thumbnail() {
    let dev = Default::default();
    let clip = ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke); // native 32, grid 4
    for (fusion, tokens) in [(FusionKind::ChannelConcat, 64), (FusionKind::SequenceAppend, 128)] {
        let cfg = MllmConfig {
            lm_checkpoint: None,
            experts: vec![(clip.clone(), 64)],
            fusion,
            tiling: Tiling::Tile,
            grid: 8,
            query: 0,
            lm: LmConfig::new(30, 16, 1, 2),
        };
        let views = cfg.views();
        assert_eq!(views.len(), 2, "stitched tiles and thumbnail");
        assert_eq!((views[0].side, views[0].tiles, views[1].side), (8, 2, 4));
        assert_eq!(cfg.visual_tokens(), tokens);
        let m = cfg.init::<B>(&dev);
        let v = m.encode_images(vec![images::<B>(3, 64, &dev)]).unwrap();
        assert_eq!(v.dims(), [3, tokens, 16], "{fusion}");
    }
}

#[test]
fn pix2struct_keeps_the_aspect_ratio_within_its_patch_budget() {
    use super::encoders::pix2struct::Pix2StructVitConfig;
    let dev = Default::default();
    let cfg = Pix2StructVitConfig::new(16, 1, 2, 64);
    assert_eq!(cfg.fit(64, 128), (4, 8), "fits the budget: every patch kept");
    let (r, c) = cfg.fit(256, 512);
    assert!(r * c <= 64 && (c as f64 / r as f64 - 2.0).abs() < 0.25, "{r}x{c}");
    let e = cfg.init::<B>(&dev);
    let out = e.forward(Tensor::random([1, 3, 256, 512], Distribution::Normal(0.0, 1.0), &dev));
    assert_eq!(out.dims(), [1, 16, r, c]);
}

#[test]
fn sam_windows_round_trip_on_odd_grids() {
    use super::encoders::sam::{window_partition, window_unpartition};
    let dev = Default::default();
    let x = Tensor::<B, 3>::random([2, 5 * 7, 8], Distribution::Normal(0.0, 1.0), &dev);
    let w = window_partition(x.clone(), 5, 7, 4);
    assert_eq!(w.dims(), [2 * 2 * 2, 16, 8]);
    assert_eq!(window_unpartition(w, 2, 5, 7, 4).into_data(), x.into_data());
}

#[test]
fn rope_2d_scores_depend_on_relative_position_only() {
    use super::rope::Rope2d;
    let dev = Default::default();
    let rope = Rope2d::<B>::new(3, 3, 3, 8, &dev);
    let v = Tensor::<B, 4>::random([1, 1, 1, 8], Distribution::Normal(0.0, 1.0), &dev).repeat_dim(2, 9);
    let q = rope.rotate(v.clone());
    let k = rope.rotate(v);
    let s = q.matmul(k.swap_dims(2, 3)).into_data().convert::<f32>().to_vec::<f32>().unwrap();
    // token (0,0)·(1,1) equals token (1,1)·(2,2): same offset.
    assert!((s[4] - s[4 * 9 + 8]).abs() < 1e-4, "{} vs {}", s[4], s[44]);
    // A rotation keeps norms: q·q is the same everywhere.
    assert!((s[0] - s[40]).abs() < 1e-4);
}

/// Forward FLOPs of `[m, k] × [k, n]`.
fn matmul(m: usize, k: usize, n: usize) -> f64 {
    2.0 * (m * k * n) as f64
}

#[test]
fn flops_by_formula_match_hand_counts_at_the_bench_shapes() {
    // The proxy bench cell: clip 64 wide, 2 blocks, at 64 px; convnext 96 wide at 128 px; LM 64 wide,
    // 2 blocks, vocabulary 86; channel concat on a 4×4 grid.
    let clip = ExpertConfig {
        kind: ExpertKind::Clip,
        dim: 64,
        depth: 2,
        heads: 4,
        native_resolution: 64,
        checkpoint: None,
        position_init_std: None,
    };
    // 8×8 patches of 8×8 px → 64 tokens; per block qkv, output, MLP (256 wide), scores and sum.
    let clip_stem = matmul(64, 3 * 8 * 8, 64);
    let clip_block = matmul(64, 64, 3 * 64)
        + matmul(64, 64, 64)
        + matmul(64, 64, 256)
        + matmul(64, 256, 64)
        + 2.0 * matmul(64, 64, 64);
    assert_eq!(clip.stem_flops(64), clip_stem);
    assert_eq!(clip.flops(64), clip_stem + 2.0 * clip_block);

    let convnext = ExpertConfig {
        kind: ExpertKind::ConvNext,
        dim: 96,
        depth: 1,
        heads: 4,
        native_resolution: 128,
        checkpoint: None,
        position_init_std: None,
    };
    // Stages 48 wide on 16×16 and 96 wide on 8×8; per block a 7×7 depthwise conv and a 4× MLP.
    let stem = matmul(48 * 16 * 16, 3 * 8 * 8, 1);
    let block = |c: usize, side: usize| matmul(c * side * side, 49, 1) + 2.0 * matmul(side * side, c, 4 * c);
    let down = matmul(96 * 8 * 8, 48 * 2 * 2, 1);
    assert_eq!(convnext.stem_flops(128), stem);
    assert_eq!(convnext.flops(128), stem + block(48, 16) + down + block(96, 8));

    // 16 visual and 16 text tokens; SwiGLU 176 wide (64·8/3 = 170 → 176).
    let lm = LmConfig::new(86, 64, 2, 4);
    let lm_block = matmul(32, 64, 3 * 64)
        + matmul(32, 64, 64)
        + 2.0 * matmul(32, 64, 176)
        + matmul(32, 176, 64)
        + 2.0 * matmul(32, 32, 64);
    assert_eq!(lm.flops(32), 2.0 * lm_block + matmul(32, 64, 86));

    let cfg = MllmConfig {
        lm_checkpoint: None,
        experts: vec![(clip, 64), (convnext, 128)],
        fusion: FusionKind::ChannelConcat,
        tiling: Tiling::Interpolate,
        grid: 4,
        query: 0,
        lm,
    };
    assert_eq!(cfg.fusion_flops(), matmul(16, 64 + 96, 64) + matmul(16, 64, 64));
}

#[test]
fn a_tiled_expert_costs_its_tiles_and_thumbnail() {
    let clip = ExpertConfig::at_scale(ExpertKind::Clip, Scale::Smoke);
    let native = clip.native_resolution;
    let cfg = |tiling| MllmConfig {
        lm_checkpoint: None,
        experts: vec![(clip.clone(), 2 * native)],
        fusion: FusionKind::ChannelConcat,
        tiling,
        grid: 4,
        query: 0,
        lm: LmConfig::new(50, 16, 1, 2),
    };
    assert_eq!(cfg(Tiling::Tile).expert_flops(0), 5.0 * clip.flops(native));
    assert_eq!(cfg(Tiling::Interpolate).expert_flops(0), clip.flops(2 * native));
}
