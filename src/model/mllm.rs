//! The multimodal LM: experts → fusion (with projector) → visual prefix → decoder.

use super::encoders::{Expert, ExpertConfig};
use super::fusion::llava_hr::LlavaHr;
use super::fusion::{Fusion, FusionConfig};
use super::lm::{Lm, LmConfig};
use super::tiling::{stitch, thumbnail, tile, tiles_per_side};
use crate::checkpoint::llama::LlamaForCausalLm;
use crate::checkpoint::lm::LmCheckpoint;
use crate::spec::{FusionKind, Tiling};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Everything that fixes an MLLM's shape: its experts by architecture and resolution (their
/// weights come from input stages), fusion and decoder. Part of the content id of every stage that
/// trains an MLLM, so fields at their defaults are left out of the serialized form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MllmConfig {
    /// The experts, with each one's input resolution.
    pub experts: Vec<(ExpertConfig, usize)>,
    /// The fusion strategy (ignored when there are no experts: the blind baseline).
    pub fusion: FusionKind,
    /// How experts see images above their native resolution.
    #[serde(default, skip_serializing_if = "is_interpolate")]
    pub tiling: Tiling,
    /// Token grid side.
    pub grid: usize,
    /// Index of the query (low-resolution) expert of strategies with roles; its first map gives
    /// the queries, every other map is a high-resolution map.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub query: usize,
    /// The decoder (with a checkpoint LM, its shape).
    pub lm: LmConfig,
    /// A checkpoint LM in place of Eyrie's own decoder (absent from the ids of proxy-LM stages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lm_checkpoint: Option<LmCheckpoint>,
}

fn is_zero(i: &usize) -> bool {
    *i == 0
}

fn is_interpolate(t: &Tiling) -> bool {
    *t == Tiling::Interpolate
}

/// One map an expert hands to the fusion: its whole input, its stitched tiles, or its thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Index of the expert.
    pub expert: usize,
    /// Channels.
    pub channels: usize,
    /// Map side.
    pub side: usize,
    /// Tiles per side (0: not a tiled map).
    pub tiles: usize,
}

impl MllmConfig {
    /// Tiles per side of expert `i` (1: it sees its input in one pass).
    pub fn tiles(&self, i: usize) -> usize {
        let (e, r) = &self.experts[i];
        match self.tiling {
            Tiling::Tile => tiles_per_side(*r, e.native_resolution),
            Tiling::Interpolate => 1,
        }
    }

    /// The maps the fusion receives, in order: per expert, one map, or (when tiled) the stitched
    /// tiles then the thumbnail.
    pub fn views(&self) -> Vec<View> {
        let mut out = Vec::new();
        for (i, (e, r)) in self.experts.iter().enumerate() {
            let c = e.out_channels();
            let k = self.tiles(i);
            if k > 1 {
                let g = e.grid(e.native_resolution);
                out.push(View { expert: i, channels: c, side: k * g, tiles: k });
                out.push(View { expert: i, channels: c, side: g, tiles: 0 });
            } else {
                out.push(View { expert: i, channels: c, side: e.grid(*r), tiles: 0 });
            }
        }
        out
    }

    /// The fusion's shape, or None for the blind baseline.
    pub fn fusion_config(&self) -> Option<FusionConfig> {
        (!self.experts.is_empty()).then(|| {
            let views = self.views();
            let query = &self.experts[self.query.min(self.experts.len() - 1)].0;
            FusionConfig {
                kind: self.fusion,
                channels: views.iter().map(|v| v.channels).collect(),
                sides: views.iter().map(|v| v.side).collect(),
                query: views.iter().position(|v| v.expert == self.query).unwrap_or(0),
                heads: query.heads,
                adapter_blocks: (0..query.depth).collect(),
                grid: self.grid,
                lm_dim: self.lm.dim,
            }
        })
    }

    /// Forward FLOPs of expert `i` on one image: one pass at its input resolution, or (tiled) one
    /// per tile and one on the thumbnail, at its native resolution.
    pub fn expert_flops(&self, i: usize) -> f64 {
        let (e, r) = &self.experts[i];
        let k = self.tiles(i);
        if k > 1 {
            (k * k + 1) as f64 * e.flops(e.native_resolution)
        } else {
            e.flops(*r)
        }
    }

    /// Forward FLOPs of the fusion and its projector on one image (0 for the blind baseline).
    pub fn fusion_flops(&self) -> f64 {
        self.fusion_config().map(|f| f.flops()).unwrap_or(0.0)
    }

    /// Index among [`Self::views`] of the query expert's first map.
    pub fn query_view(&self) -> usize {
        self.fusion_config().map(|f| f.query).unwrap_or(0)
    }

    /// Forward FLOPs of the decoder on one sequence of `tokens` tokens.
    pub fn lm_flops(&self, tokens: usize) -> f64 {
        self.lm_checkpoint.as_ref().map_or_else(|| self.lm.flops(tokens), |ck| ck.flops(tokens))
    }

    /// Visual tokens the LM receives.
    pub fn visual_tokens(&self) -> usize {
        self.fusion_config().map(|f| f.num_tokens()).unwrap_or(0)
    }

    /// Builds the model with fresh weights on `device`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mllm<B> {
        Mllm {
            experts: self.experts.iter().map(|(e, _)| e.init(device)).collect(),
            tiles: (0..self.experts.len()).map(|i| self.tiles(i)).collect(),
            natives: self.experts.iter().map(|(e, _)| e.native_resolution).collect(),
            query_view: self.query_view(),
            query_expert: self.query,
            fusion: self.fusion_config().map(|f| f.init(device)),
            lm: self.lm_checkpoint.is_none().then(|| self.lm.init(device)),
            llama: self.lm_checkpoint.as_ref().map(|ck| ck.init(device)),
        }
    }
}

/// A multimodal LM (or, with no experts, the blind baseline).
#[derive(Module, Debug)]
pub struct Mllm<B: Backend> {
    /// The vision experts, in spec order.
    pub experts: Vec<Expert<B>>,
    /// Tiles per side of each expert (1: one pass).
    pub tiles: Vec<usize>,
    /// Native side of each expert (the tile size).
    pub natives: Vec<usize>,
    /// Index of the map that gives the fusion its queries.
    pub query_view: usize,
    /// Index of the query expert.
    pub query_expert: usize,
    /// Fusion and projector.
    pub fusion: Option<Fusion<B>>,
    /// Eyrie's own decoder (None when a checkpoint LM takes its place).
    pub lm: Option<Lm<B>>,
    /// A checkpoint LM in place of Eyrie's own decoder.
    pub llama: Option<LlamaForCausalLm<B>>,
}

impl<B: Backend> Mllm<B> {
    /// Visual tokens of a batch of images (one tensor per expert, each at that expert's resolution).
    ///
    /// # Shapes
    /// - `images[i]`: `[batch, 3, res_i, res_i]` → `Some([batch, visual_tokens, lm_dim])`
    pub fn encode_images(&self, images: Vec<Tensor<B, 4>>) -> Option<Tensor<B, 3>> {
        let fusion = self.fusion.as_ref()?;
        if let Fusion::LlavaHr(f) = fusion {
            return Some(self.encode_llava_hr(f, images));
        }
        let mut maps = Vec::new();
        for (i, (e, x)) in self.experts.iter().zip(images).enumerate() {
            maps.extend(self.expert_maps(i, e, x));
        }
        Some(fusion.forward(maps, self.query_view))
    }

    /// The maps expert `i` hands to the fusion: its whole input's map, or (tiled) its stitched tiles
    /// and its thumbnail.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, res_i, res_i]` → one or two `[batch, c_i, side, side]`
    fn expert_maps(&self, i: usize, e: &Expert<B>, x: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        let k = self.tiles.get(i).copied().unwrap_or(1);
        if k <= 1 {
            return vec![e.forward(x)];
        }
        // Tiles and thumbnail share the native size: one batched pass.
        let b = x.dims()[0];
        let n = self.natives[i];
        let out = e.forward(Tensor::cat(vec![tile(x.clone(), n, k), thumbnail(x, n)], 0));
        let [total, c, g, _] = out.dims();
        vec![
            stitch(out.clone().slice([0..b * k * k, 0..c, 0..g, 0..g]), b, k),
            out.slice([b * k * k..total, 0..c, 0..g, 0..g]),
        ]
    }

    /// `llava-hr`: the high-resolution experts' maps, then the query ViT with its adapters.
    ///
    /// # Shapes
    /// - `images[i]`: `[batch, 3, res_i, res_i]` → `[batch, grid², lm_dim]`
    fn encode_llava_hr(&self, f: &LlavaHr<B>, images: Vec<Tensor<B, 4>>) -> Tensor<B, 3> {
        let mut query = None;
        let mut high_res = Vec::new();
        for (i, (e, x)) in self.experts.iter().zip(images).enumerate() {
            if i == self.query_expert {
                query = Some((e, x));
            } else {
                high_res.extend(self.expert_maps(i, e, x));
            }
        }
        match query {
            Some((Expert::Clip(vit), x)) => f.forward(vit, x, high_res),
            _ => panic!("llava-hr needs a clip query expert (the spec check refuses other mixes)"),
        }
    }

    /// Token embeddings of the decoder.
    ///
    /// # Shapes
    /// - `ids`: `[batch, seq]` → `[batch, seq, lm_dim]`
    pub fn embed_text(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        match (&self.lm, &self.llama) {
            (_, Some(llama)) => llama.embed(ids),
            (Some(lm), None) => lm.embed(ids),
            (None, None) => panic!("an MLLM has a decoder"),
        }
    }

    /// The decoder's logits over a sequence of embeddings; `mask` (1 for tokens, 0 for padding,
    /// which is never attended to) needs a checkpoint LM: Eyrie's own decoder sees unpadded batches.
    ///
    /// # Shapes
    /// - `x`: `[batch, seq, lm_dim]`, `mask`: optional `[batch, seq]` → `[batch, seq, vocab]`
    pub fn decode(&self, x: Tensor<B, 3>, mask: Option<Tensor<B, 2>>) -> Tensor<B, 3> {
        match (&self.lm, &self.llama) {
            (_, Some(llama)) => llama.forward_embeds(x, mask),
            (Some(lm), None) => {
                assert!(mask.is_none(), "Eyrie's own decoder takes no padding mask");
                lm.forward_embeds(x)
            }
            (None, None) => panic!("an MLLM has a decoder"),
        }
    }

    /// Logits over the text positions, given visual tokens (if any).
    ///
    /// # Shapes
    /// - `visual`: `[batch, n_v, dim]`, `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward_with_visual(&self, visual: Option<Tensor<B, 3>>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let text = self.embed_text(ids);
        match visual {
            None => self.decode(text, None),
            Some(v) => {
                let [b, nv, _] = v.dims();
                let [_, n, _] = text.dims();
                let logits = self.decode(Tensor::cat(vec![v, text], 1), None);
                let vocab = logits.dims()[2];
                logits.slice([0..b, nv..nv + n, 0..vocab])
            }
        }
    }

    /// Logits of LLaVA-format sequences: per sample, the tokens before its image (left-padded),
    /// the image's visual tokens, then the tokens after it (right-padded). Rotary positions make
    /// the left padding invisible: only relative positions enter attention.
    ///
    /// # Shapes
    /// - `images[i]`: `[batch, 3, res_i, res_i]`, `before`: `[batch, n_b]`, `after`: `[batch, n_a]`,
    ///   `mask`: `[batch, n_b + visual_tokens + n_a]` → `[batch, n_b + visual_tokens + n_a, vocab]`
    pub fn forward_interleaved(
        &self,
        images: Vec<Tensor<B, 4>>,
        before: Option<Tensor<B, 2, Int>>,
        after: Tensor<B, 2, Int>,
        mask: Tensor<B, 2>,
    ) -> Tensor<B, 3> {
        let mut parts = Vec::new();
        if let Some(ids) = before {
            parts.push(self.embed_text(ids));
        }
        if let Some(v) = self.encode_images(images) {
            parts.push(v);
        }
        parts.push(self.embed_text(after));
        self.decode(Tensor::cat(parts, 1), Some(mask))
    }

    /// Logits over the text positions.
    ///
    /// # Shapes
    /// - `images[i]`: `[batch, 3, res_i, res_i]`, `ids`: `[batch, seq]` → `[batch, seq, vocab]`
    pub fn forward(&self, images: Vec<Tensor<B, 4>>, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let visual = self.encode_images(images);
        self.forward_with_visual(visual, ids)
    }
}
