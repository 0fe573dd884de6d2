//! An EVA-02's hyper-parameters as timm's hub export records them: the `architecture` (one of timm's
//! `eva02_*` factory functions, whose defaults are encoded here) overridden by `model_args`.

use serde::Deserialize;

/// The EVA-02 architectures whose defaults Eyrie knows, as timm's registry names them.
pub const ARCHITECTURES: [&str; 11] = [
    "eva02_tiny_patch14_224",
    "eva02_tiny_patch14_336",
    "eva02_small_patch14_224",
    "eva02_small_patch14_336",
    "eva02_base_patch14_224",
    "eva02_base_patch14_448",
    "eva02_large_patch14_224",
    "eva02_large_patch14_448",
    "eva02_base_patch16_clip_224",
    "eva02_large_patch14_clip_224",
    "eva02_large_patch14_clip_336",
];

/// An EVA-02's hyper-parameters: its architecture's defaults, overridden by `model_args`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaSettings {
    /// Input `[height, width]` in pixels.
    pub img_size: [usize; 2],
    /// Patch `[height, width]`.
    pub patch_size: [usize; 2],
    /// Input channels.
    pub in_chans: usize,
    /// Width.
    pub embed_dim: usize,
    /// Blocks.
    pub depth: usize,
    /// Heads.
    pub num_heads: usize,
    /// Whether q and v have biases (k never has one).
    pub qkv_bias: bool,
    /// One qkv projection (tiny, small) or three (base, large).
    pub qkv_fused: bool,
    /// MLP width over the width.
    pub mlp_ratio: f64,
    /// SwiGLU MLP (else a GELU MLP).
    pub swiglu_mlp: bool,
    /// A LayerNorm inside the MLP (base, large).
    pub scale_mlp: bool,
    /// A LayerNorm on the attention output before its projection (the CLIP variants).
    pub scale_attn_inner: bool,
    /// Rounds the SwiGLU width up to a multiple of this (0: not).
    pub swiglu_align_to: usize,
    /// Layer scales, if any.
    pub init_values: Option<f64>,
    /// Learned absolute positions.
    pub use_abs_pos_emb: bool,
    /// Rotary position embeddings.
    pub use_rot_pos_emb: bool,
    /// The grid the rotary positions are rescaled to (`None`: positions are patch indices).
    pub ref_feat_shape: Option<[usize; 2]>,
    /// RoPE temperature.
    pub rope_temperature: f64,
    /// Added to the RoPE grid's indices.
    pub rope_grid_offset: f64,
    /// Whether `forward_features` ends with a LayerNorm (`global_pool` other than `avg`, unless overridden).
    pub final_norm: bool,
}

/// `[h, w]` or a single side.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum Pair {
    One(usize),
    Two([usize; 2]),
}

impl Pair {
    fn get(self) -> [usize; 2] {
        match self {
            Pair::One(s) => [s, s],
            Pair::Two(p) => p,
        }
    }
}

/// The `model_args` Eyrie reads; any other is refused by name. The fields with no effect on
/// `forward_features` in eval are accepted but never read, hence the allowance.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ModelArgs {
    img_size: Option<Pair>,
    patch_size: Option<Pair>,
    in_chans: Option<usize>,
    embed_dim: Option<usize>,
    depth: Option<usize>,
    num_heads: Option<usize>,
    qkv_bias: Option<bool>,
    qkv_fused: Option<bool>,
    mlp_ratio: Option<f64>,
    swiglu_mlp: Option<bool>,
    swiglu_align_to: Option<usize>,
    scale_mlp: Option<bool>,
    scale_attn_inner: Option<bool>,
    init_values: Option<f64>,
    use_abs_pos_emb: Option<bool>,
    use_rot_pos_emb: Option<bool>,
    /// `null` (no reference shape) is kept apart from an absent entry (the architecture's default).
    #[serde(default, deserialize_with = "present")]
    ref_feat_shape: Option<serde_json::Value>,
    rope_temperature: Option<f64>,
    rope_grid_offset: Option<f64>,
    global_pool: Option<String>,
    use_fc_norm: Option<bool>,
    use_post_transformer_norm: Option<bool>,
    // No effect on forward_features in eval.
    num_classes: Option<serde_json::Value>,
    drop_rate: Option<serde_json::Value>,
    pos_drop_rate: Option<serde_json::Value>,
    patch_drop_rate: Option<serde_json::Value>,
    proj_drop_rate: Option<serde_json::Value>,
    attn_drop_rate: Option<serde_json::Value>,
    drop_path_rate: Option<serde_json::Value>,
    head_init_scale: Option<serde_json::Value>,
    attn_pool_num_heads: Option<serde_json::Value>,
    attn_pool_mlp_ratio: Option<serde_json::Value>,
}

/// An entry that is present, `null` included (serde reads a `null` into an `Option` as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl EvaSettings {
    /// The settings of timm's hub `config.json` (`architecture`, `model_args`).
    pub fn of_timm_config(config: &serde_json::Value) -> Result<Self, String> {
        let name = config.get("architecture").and_then(|a| a.as_str()).unwrap_or_default();
        let name = name.split('.').next().unwrap_or_default(); // a pretrained tag, if any
        let mut s = Self::defaults(name).ok_or_else(|| {
            format!("timm architecture {name:?} is not one Eyrie reproduces (known: {})", ARCHITECTURES.join(", "))
        })?;
        let args: ModelArgs = match config.get("model_args") {
            Some(v) => serde_path_to_error::deserialize(v).map_err(|e| {
                format!("model_args.{}: {} (Eyrie reproduces EVA-02's own options only)", e.path(), e.inner())
            })?,
            None => ModelArgs::default(),
        };
        s.apply(args)?;
        s.problem().map_or(Ok(s), Err)
    }

    /// The defaults of timm's factory function `name`.
    pub fn defaults(name: &str) -> Option<Self> {
        if !ARCHITECTURES.contains(&name) {
            return None;
        }
        let size = name.split('_').nth(1)?;
        let (embed_dim, depth, num_heads) = match size {
            "tiny" => (192, 12, 3),
            "small" => (384, 12, 6),
            "base" => (768, 12, 12),
            _ => (1024, 24, 16),
        };
        let big = matches!(size, "base" | "large");
        let clip = name.contains("_clip_");
        let patch = if name.contains("patch16") { 16 } else { 14 };
        let img: usize = name.rsplit('_').next()?.parse().ok()?;
        Some(EvaSettings {
            img_size: [img, img],
            patch_size: [patch, patch],
            in_chans: 3,
            embed_dim,
            depth,
            num_heads,
            qkv_bias: true,
            qkv_fused: !big,
            mlp_ratio: 4.0 * 2.0 / 3.0,
            swiglu_mlp: true,
            scale_mlp: big,
            scale_attn_inner: clip,
            swiglu_align_to: 0,
            init_values: None,
            use_abs_pos_emb: true,
            use_rot_pos_emb: true,
            ref_feat_shape: Some([16, 16]),
            rope_temperature: 10000.0,
            rope_grid_offset: 0.0,
            // The CLIP variants pool the class token (final norm); the others average (fc_norm instead).
            final_norm: clip,
        })
    }

    fn apply(&mut self, a: ModelArgs) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = a.$f { self.$f = v; })* };
        }
        set!(in_chans, embed_dim, depth, num_heads, qkv_bias, qkv_fused, mlp_ratio, swiglu_mlp, swiglu_align_to);
        set!(scale_mlp, scale_attn_inner, use_abs_pos_emb, use_rot_pos_emb, rope_temperature, rope_grid_offset);
        if let Some(p) = a.img_size {
            self.img_size = p.get();
        }
        if let Some(p) = a.patch_size {
            self.patch_size = p.get();
        }
        if a.init_values.is_some() {
            self.init_values = a.init_values;
        }
        match a.ref_feat_shape {
            None => {}
            Some(serde_json::Value::Null) => self.ref_feat_shape = None,
            Some(v) => {
                let p: Pair = serde_json::from_value(v).map_err(|e| format!("model_args.ref_feat_shape: {e}"))?;
                self.ref_feat_shape = Some(p.get());
            }
        }
        // timm: fc_norm by default when average pooling, and the final norm when no fc_norm.
        let fc_norm = match (a.use_fc_norm, a.global_pool) {
            (Some(f), _) => f,
            (None, Some(pool)) => pool == "avg",
            (None, None) => !self.final_norm,
        };
        self.final_norm = a.use_post_transformer_norm.unwrap_or(!fc_norm);
        Ok(())
    }

    /// A description of what is inconsistent, if anything.
    pub fn problem(&self) -> Option<String> {
        let [gh, gw] = self.grid();
        if gh == 0 || gw == 0 {
            return Some(format!("img_size {:?} holds no patch of {:?}", self.img_size, self.patch_size));
        }
        if self.num_heads == 0 || !self.embed_dim.is_multiple_of(self.num_heads) {
            return Some(format!("embed_dim {} is not a multiple of num_heads {}", self.embed_dim, self.num_heads));
        }
        if self.use_rot_pos_emb && !(self.embed_dim / self.num_heads).is_multiple_of(4) {
            return Some(format!(
                "the head width {} is not a multiple of 4 (2-D RoPE)",
                self.embed_dim / self.num_heads
            ));
        }
        None
    }

    /// Patches per `[height, width]`.
    pub fn grid(&self) -> [usize; 2] {
        [self.img_size[0] / self.patch_size[0].max(1), self.img_size[1] / self.patch_size[1].max(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_defaults_follow_timms_factories() {
        let tiny = EvaSettings::defaults("eva02_tiny_patch14_336").unwrap();
        assert_eq!((tiny.embed_dim, tiny.depth, tiny.num_heads, tiny.img_size), (192, 12, 3, [336, 336]));
        assert!(tiny.qkv_fused && !tiny.scale_mlp && !tiny.final_norm);
        let large = EvaSettings::defaults("eva02_large_patch14_clip_224").unwrap();
        assert_eq!((large.embed_dim, large.depth, large.num_heads), (1024, 24, 16));
        assert!(!large.qkv_fused && large.scale_mlp && large.scale_attn_inner && large.final_norm);
        assert_eq!(EvaSettings::defaults("eva02_base_patch16_clip_224").unwrap().patch_size, [16, 16]);
        assert!(EvaSettings::defaults("eva02_enormous_patch14_clip_224").is_none());
    }

    #[test]
    fn model_args_override_and_unknown_ones_are_refused() {
        let config = serde_json::json!({
            "architecture": "eva02_base_patch14_448",
            "model_args": {"img_size": [28, 42], "embed_dim": 32, "num_heads": 2, "global_pool": "token",
                           "ref_feat_shape": null, "num_classes": 0}
        });
        let s = EvaSettings::of_timm_config(&config).unwrap();
        assert_eq!((s.img_size, s.embed_dim, s.grid(), s.ref_feat_shape), ([28, 42], 32, [2, 3], None));
        assert!(s.final_norm && !s.qkv_fused);
        let bad = serde_json::json!({"architecture": "eva02_tiny_patch14_224", "model_args": {"num_reg_tokens": 4}});
        let err = EvaSettings::of_timm_config(&bad).unwrap_err();
        assert!(err.contains("num_reg_tokens"), "{err}");
        let unknown = serde_json::json!({"architecture": "eva02_enormous_patch14_clip_224"});
        assert!(EvaSettings::of_timm_config(&unknown).unwrap_err().contains("eva02_tiny_patch14_224"));
    }
}
