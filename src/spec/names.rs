//! Closed sets of names a spec or the command line may use: experts (and their pretraining tasks),
//! fusions, tilings, task families, scales, backends and precisions.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }
        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The spelling used in experiment files.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// The known spellings, comma-separated (for error hints).
            pub fn known() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} `{}`; known: {}", stringify!($name), s, Self::known()))
            }
        }
    };
}

named_enum! {
    /// A vision expert (encoder family).
    ExpertKind {
        /// ViT with learned position embeddings, image-text contrastive, low native resolution.
        Clip => "clip",
        /// ConvNeXt stages, contrastive, high native resolution.
        ConvNext => "convnext",
        /// ViT with windowed attention, a global block and a conv neck; segmentation, high resolution.
        Sam => "sam",
        /// ViT over aspect-preserving patches with row/column embeddings; text reading, high resolution.
        Pix2Struct => "pix2struct",
        /// ViT with 2D RoPE and SwiGLU; detection, high resolution.
        Eva02 => "eva02",
    }
}

named_enum! {
    /// How several experts' features are joined into visual tokens.
    FusionKind {
        /// Resample every expert's map to one grid and concatenate on channels.
        ChannelConcat => "channel-concat",
        /// Project every expert separately and concatenate on the sequence.
        SequenceAppend => "sequence-append",
        /// Mini-Gemini: low-resolution query tokens attend to the high-resolution window under them.
        MiniGemini => "mini-gemini",
        /// Deformable attention: queries sample every map at learned offsets around their reference points.
        Deformable => "deformable",
        /// LLaVA-HR: gated mixture-of-resolution adapters inside the low-resolution ViT.
        LlavaHr => "llava-hr",
    }
}

named_enum! {
    /// A task family of the proxy world (stand-in for a group of the paper's benchmarks).
    Family {
        /// Colour / shape questions about objects (GQA, VQAv2).
        Vqa => "vqa",
        /// How many objects (of a colour or shape).
        Count => "count",
        /// Read the word in the image (TextVQA, OCRBench).
        Ocr => "ocr",
        /// Read a bar's value in a bar chart (ChartQA).
        Chart => "chart",
        /// Read a field of a key: value form (DocVQA).
        Doc => "doc",
        /// Balanced yes/no existence probes (POPE), scored by F1.
        Pope => "pope",
    }
}

named_enum! {
    /// How an expert sees an image above its native resolution.
    #[derive(Default)]
    Tiling {
        /// One pass at the full resolution (ViT position embeddings interpolated).
        #[default]
        Interpolate => "interpolate",
        /// Native-resolution tiles plus a thumbnail of the whole image, each encoded (LLaVA-NeXT style).
        Tile => "tile",
    }
}

named_enum! {
    /// A named size preset for models, data and steps.
    Scale {
        /// Seconds per cell: CI and tests.
        Smoke => "smoke",
        /// Minutes per cell on a CPU; enough signal to see the paper's effects.
        Proxy => "proxy",
        /// Wider models, bigger batches and more steps: enough work per step to use a GPU.
        Gpu => "gpu",
    }
}

named_enum! {
    /// The compute backend a run uses.
    BackendKind {
        /// burn's `flex` CPU backend (default).
        Flex => "flex",
        /// burn's `ndarray` CPU backend.
        Ndarray => "ndarray",
        /// burn's `wgpu` GPU backend.
        Wgpu => "wgpu",
        /// burn's `cuda` GPU backend (with burn's kernel fusion, as burn builds it by default).
        Cuda => "cuda",
        /// burn's CUDA backend without kernel fusion: fewer kernels to compile, and no fused-reduce
        /// bug in half precision (burn issue #5292).
        CudaUnfused => "cuda-unfused",
    }
}

impl BackendKind {
    /// The cargo feature that compiles this backend in (both CUDA backends come with `cuda`).
    pub fn cargo_feature(self) -> &'static str {
        match self {
            BackendKind::CudaUnfused => "cuda",
            other => other.as_str(),
        }
    }
}

named_enum! {
    /// The floating-point type a run computes and stores its weights in.
    #[derive(Default)]
    Precision {
        /// 32-bit floats (default; the only precision the CPU backends run at full speed).
        #[default]
        F32 => "f32",
        /// bfloat16: f32's range with 8 bits of mantissa (GPUs with bf16 units).
        Bf16 => "bf16",
        /// IEEE half precision (GPUs; no loss scaling, so small gradients can underflow).
        F16 => "f16",
    }
}

impl Precision {
    /// Whether this is the default, f32 (kept out of stage ids so f32 ids never change).
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }

    /// burn's float dtype for this precision.
    pub fn dtype(self) -> burn::tensor::FloatDType {
        match self {
            Precision::F32 => burn::tensor::FloatDType::F32,
            Precision::Bf16 => burn::tensor::FloatDType::BF16,
            Precision::F16 => burn::tensor::FloatDType::F16,
        }
    }
}

impl FusionKind {
    /// Whether the strategy gives one expert the query (low-resolution) role and the others the
    /// high-resolution role.
    pub fn has_roles(self) -> bool {
        matches!(self, FusionKind::MiniGemini | FusionKind::Deformable | FusionKind::LlavaHr)
    }

    /// The smallest number of experts the strategy accepts.
    pub fn min_experts(self) -> usize {
        match self {
            FusionKind::ChannelConcat => 1,
            // With one expert, sequence append is the same model as channel concat.
            FusionKind::SequenceAppend => 2,
            // A query expert and at least one high-resolution expert.
            FusionKind::MiniGemini | FusionKind::Deformable | FusionKind::LlavaHr => 2,
        }
    }
}

impl Family {
    /// The family's column name in result tables.
    pub fn column(self) -> &'static str {
        self.as_str()
    }
}

impl ExpertKind {
    /// The resolution the expert is pretrained at, per scale: `clip` low, every other expert high.
    pub fn native_resolution(self, scale: Scale) -> usize {
        let low = self == ExpertKind::Clip;
        match (low, scale) {
            (true, Scale::Smoke) => 32,
            (true, Scale::Proxy | Scale::Gpu) => 64,
            (false, Scale::Smoke) => 64,
            (false, Scale::Proxy | Scale::Gpu) => 128,
        }
    }

    /// Input sides must be a multiple of this (ViT patch size; ConvNeXt total stride).
    pub fn stride(self) -> usize {
        match self {
            ExpertKind::Clip => 8,
            _ => 16,
        }
    }

    /// Whether its pretraining already aligned it with text (image-caption contrastive): Eagle's
    /// pre-alignment trains only the experts that are not.
    pub fn text_aligned(self) -> bool {
        self.pretrain_task() == PretrainTask::Contrastive
    }

    /// The task the expert is pretrained on.
    pub fn pretrain_task(self) -> PretrainTask {
        match self {
            ExpertKind::Clip | ExpertKind::ConvNext => PretrainTask::Contrastive,
            ExpertKind::Sam => PretrainTask::Segmentation,
            ExpertKind::Pix2Struct => PretrainTask::Reading,
            ExpertKind::Eva02 => PretrainTask::Detection,
        }
    }
}

/// An expert's own pretraining task on the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PretrainTask {
    /// Image-caption contrastive; metric: top-1 retrieval accuracy.
    Contrastive,
    /// Per-pixel class masks (shape classes, text, bars); metric: mean IoU.
    Segmentation,
    /// Read out the word of a one-word scene (every other one drawn in ink); metric: character
    /// accuracy (and whole words).
    Reading,
    /// Objectness, class and box per patch; metric: box recall at IoU 0.5 with the right class.
    Detection,
}

impl PretrainTask {
    /// The metric's key in stage metrics (`<key>` and `<key>_untrained`), in percent.
    pub fn metric(self) -> &'static str {
        match self {
            PretrainTask::Contrastive => "retrieval_accuracy",
            PretrainTask::Segmentation => "miou",
            PretrainTask::Reading => "char_accuracy",
            PretrainTask::Detection => "box_recall",
        }
    }

    /// A short description for tables.
    pub fn describe(self) -> &'static str {
        match self {
            PretrainTask::Contrastive => "image-caption contrastive",
            PretrainTask::Segmentation => "segmentation (7 classes)",
            PretrainTask::Reading => "reading words (half in ink)",
            PretrainTask::Detection => "detection (4 shape classes)",
        }
    }
}

named_enum! {
    /// Which seed expert and LM pretraining take (`pretrain-seed` under `[experiment]`).
    #[derive(Default)]
    PretrainSeed {
        /// One pretraining per expert and one LM, shared by every seed, like a public checkpoint (default).
        #[default]
        Shared => "shared",
        /// Each seed pretrains its own experts and LM with the cell's seed.
        PerSeed => "per-seed",
    }
}
