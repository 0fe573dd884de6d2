//! One cell's settings (before seeds).

use super::names::{ExpertKind, Family, FusionKind, Scale, Tiling};
use super::DEFAULT_VISION_LR_SCALE;
use serde::{Deserialize, Serialize};

fn default_vision_lr_scale() -> f64 {
    DEFAULT_VISION_LR_SCALE
}

/// The input resolution of a cell's experts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// Each expert at its own pretraining resolution.
    Native,
    /// Every expert at this many pixels a side.
    Pixels(usize),
    /// The experts named at these sides, the others native (`{ convnext = 256 }`), in
    /// [`ExpertKind::ALL`] order, each of the cell's set ([`Resolution::normalised`]).
    PerExpert(Vec<(ExpertKind, usize)>),
}

impl Resolution {
    /// The side in pixels that `expert` receives at `scale`.
    pub fn for_expert(&self, expert: ExpertKind, scale: Scale) -> usize {
        self.pixels_for(expert).unwrap_or_else(|| expert.native_resolution(scale))
    }

    /// The side `expert` is given explicitly (None: its native side, which depends on the scale).
    pub fn pixels_for(&self, expert: ExpertKind) -> Option<usize> {
        match self {
            Resolution::Native => None,
            Resolution::Pixels(p) => Some(*p),
            Resolution::PerExpert(list) => list.iter().find(|(e, _)| *e == expert).map(|(_, p)| *p),
        }
    }

    /// The canonical form for `experts`: entries for experts outside the set dropped, `Native`
    /// when none is left.
    pub fn normalised(self, experts: &[ExpertKind]) -> Resolution {
        match self {
            Resolution::PerExpert(list) => {
                let kept: Vec<(ExpertKind, usize)> = list.into_iter().filter(|(e, _)| experts.contains(e)).collect();
                if kept.is_empty() {
                    Resolution::Native
                } else {
                    Resolution::PerExpert(kept)
                }
            }
            other => other,
        }
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resolution::Native => f.write_str("native"),
            Resolution::Pixels(p) => write!(f, "{p}"),
            Resolution::PerExpert(list) => {
                let parts: Vec<String> = list.iter().map(|(e, p)| format!("{e}@{p}")).collect();
                f.write_str(&parts.join("+"))
            }
        }
    }
}

/// Which experts train during SFT (stage 1, alignment, always trains the projector only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Unlock {
    /// Every expert (true) or none (false).
    All(bool),
    /// Exactly these experts (a strict, non-empty subset of the cell's set).
    Only(Vec<ExpertKind>),
}

impl Unlock {
    /// Whether `expert` trains.
    pub fn unlocks(&self, expert: ExpertKind) -> bool {
        match self {
            Unlock::All(b) => *b,
            Unlock::Only(list) => list.contains(&expert),
        }
    }

    /// Whether any expert trains.
    pub fn any(&self) -> bool {
        !matches!(self, Unlock::All(false))
    }

    /// The canonical form for `experts`: `All` when every expert is treated alike.
    pub fn normalised(self, experts: &[ExpertKind]) -> Unlock {
        match self {
            Unlock::Only(list) => {
                let n = experts.iter().filter(|e| list.contains(e)).count();
                if n == 0 {
                    Unlock::All(false)
                } else if n == experts.len() {
                    Unlock::All(true)
                } else {
                    Unlock::Only(experts.iter().copied().filter(|e| list.contains(e)).collect())
                }
            }
            all => all,
        }
    }
}

impl std::fmt::Display for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unlock::All(true) => f.write_str("unlocked"),
            Unlock::All(false) => f.write_str("frozen"),
            Unlock::Only(list) => {
                write!(f, "unlocked[{}]", list.iter().map(|e| e.as_str()).collect::<Vec<_>>().join("+"))
            }
        }
    }
}

/// Side of the token grid the fusion resamples every expert's map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenGrid {
    /// The largest map of the cell's experts at their input resolutions (tokens grow with resolution).
    Auto,
    /// A fixed side.
    Side(usize),
}

impl std::fmt::Display for TokenGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenGrid::Auto => f.write_str("auto"),
            TokenGrid::Side(s) => write!(f, "{s}"),
        }
    }
}

/// The settings of one cell (one MLLM trained and evaluated), before seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CellSettings {
    /// The experts, in order.
    pub encoders: Vec<ExpertKind>,
    /// How the experts are fused.
    pub fusion: FusionKind,
    /// The experts' input resolution.
    pub resolution: Resolution,
    /// How an expert sees an image above its native resolution.
    #[serde(default)]
    pub tiling: Tiling,
    /// Which experts train during SFT.
    pub unlock: Unlock,
    /// The SFT data mixture (uniform over these families) and the evaluated families.
    pub families: Vec<Family>,
    /// Side of the fused visual token grid.
    pub grid: TokenGrid,
    /// SFT steps (None: the scale's preset).
    pub sft_steps: Option<usize>,
    /// Peak SFT learning rate (None: the default 2e-3).
    pub lr: Option<f64>,
    /// Learning-rate multiplier of unlocked experts in SFT (default 0.1).
    #[serde(default = "default_vision_lr_scale")]
    pub vision_lr_scale: f64,
    /// The low-resolution query expert of fusions with roles (None: the first of the set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_expert: Option<ExpertKind>,
    /// Eagle's pre-alignment: every expert that is not text-aligned is first trained with its own
    /// projector on SFT data against the frozen LM.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pre_align: bool,
    /// Shares of the training mixture (alignment, pre-alignment, SFT) of the families given one
    /// other than 1 (`[base] mixture = { ocr = 3 }`); evaluation is per family, unweighted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mixture: Vec<(Family, usize)>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl CellSettings {
    /// A readable label, e.g. `clip+convnext/channel-concat/unlocked/128px/tile`.
    pub fn label(&self) -> String {
        let enc: Vec<&str> = self.encoders.iter().map(|e| e.as_str()).collect();
        let mut s = format!("{}/{}/{}", enc.join("+"), self.fusion, self.unlock);
        if self.resolution != Resolution::Native {
            s.push_str(&format!("/{}px", self.resolution));
        }
        if self.tiling == Tiling::Tile {
            s.push_str("/tile");
        }
        if self.pre_align {
            s.push_str("/pre-aligned");
        }
        if self.fusion.has_roles() && self.query_index() != 0 {
            s.push_str(&format!("/query={}", self.encoders[self.query_index()]));
        }
        s
    }

    /// A key no other cell's settings share (its canonical JSON): labels leave out the settings
    /// that rarely vary (grid, families, SFT steps, learning rates, mixture), so cells that differ
    /// only there share a label, and whatever pairs cells (hypotheses, adaptive seeds) keys them by this.
    pub fn key(&self) -> String {
        serde_json::to_string(self).expect("cell settings serialise")
    }

    /// The families training draws from, round-robin, a family of share k listed k times
    /// (interleaved: `[vqa, ocr]` with `ocr = 2` gives `[vqa, ocr, ocr]`).
    pub fn training_families(&self) -> Vec<Family> {
        let share = |f: Family| self.mixture.iter().find(|(g, _)| *g == f).map_or(1, |(_, k)| *k);
        let most = self.families.iter().map(|&f| share(f)).max().unwrap_or(1);
        (0..most).flat_map(|round| self.families.iter().copied().filter(move |&f| share(f) > round)).collect()
    }

    /// Index in `encoders` of the query expert of fusions with roles (the first unless named).
    pub fn query_index(&self) -> usize {
        self.query_expert.and_then(|q| self.encoders.iter().position(|e| *e == q)).unwrap_or(0)
    }
}
