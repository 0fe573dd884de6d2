//! The experts table: each expert's own pretraining task metric against an untrained copy.

use crate::plan::{Plan, StageKind};
use crate::store::{ReadError, Store};

/// One expert's pretraining outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpertRow {
    /// Expert name.
    pub expert: String,
    /// Its pretraining task.
    pub task: String,
    /// Native resolution in pixels.
    pub native_resolution: usize,
    /// Token grid side at the native resolution.
    pub grid: usize,
    /// Parameters of the expert (no task head).
    pub params: Option<f64>,
    /// Metric name.
    pub metric: String,
    /// Metric of the pretrained expert (percent).
    pub trained: Option<f64>,
    /// Metric of an untrained copy (percent).
    pub untrained: Option<f64>,
    /// Wall seconds of the stage.
    pub seconds: Option<f64>,
    /// Secondary metrics (e.g. whole words read), percent.
    pub extra: Vec<(String, f64)>,
}

/// The rows of every expert-pretraining stage of `plan` (missing values where a stage is not done).
pub fn rows(plan: &Plan, store: &Store) -> Result<Vec<ExpertRow>, ReadError> {
    let mut stages: Vec<_> = plan.stages.values().collect();
    stages.sort_by_key(|s| match &s.kind {
        StageKind::ExpertPretrain { expert, .. } => Some(expert.kind),
        _ => None,
    });
    stages
        .into_iter()
        .filter_map(|s| match &s.kind {
            StageKind::ExpertPretrain { expert, .. } => Some((s, expert)),
            _ => None,
        })
        .map(|(s, e)| {
            let task = e.kind.pretrain_task();
            let meta = store.read_meta(&s.id)?;
            let get = |k: &str| meta.as_ref().and_then(|m| m.metrics.get(k).copied());
            Ok(ExpertRow {
                expert: e.kind.to_string(),
                task: task.describe().into(),
                native_resolution: e.native_resolution,
                grid: e.grid(e.native_resolution),
                params: get("params"),
                metric: task.metric().into(),
                trained: get(task.metric()),
                untrained: get(&format!("{}_untrained", task.metric())),
                seconds: meta.as_ref().map(|m| m.seconds),
                extra: meta
                    .as_ref()
                    .map(|m| {
                        m.metrics
                            .iter()
                            .filter(|(k, _)| SECONDARY_METRICS.contains(&k.as_str()))
                            .map(|(k, v)| (k.clone(), *v))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Secondary metrics shown beside an expert's own: whole words read (`pix2struct`; also in the
/// words' own colours when it trains on ink), caption retrieval among text scenes alone (`clip`,
/// `convnext`: whether the expert reads), the share of firing cells that found their object (`eva02`: box recall alone rewards firing everywhere).
const SECONDARY_METRICS: [&str; 4] = ["word_accuracy", "word_accuracy_coloured", "ocr_retrieval", "box_precision"];

/// A markdown table of `rows`.
pub fn table(rows: &[ExpertRow]) -> String {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "–".into());
    let mut out = String::from(
        "| expert | pretraining task | native px | tokens | params | metric | trained % | \
        untrained % | gain | wall | also |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|\n");
    for r in rows {
        let gain = r.trained.zip(r.untrained).map(|(a, b)| a - b);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.expert,
            r.task,
            r.native_resolution,
            r.grid * r.grid,
            r.params.map(|p| format!("{:.0}k", p / 1000.0)).unwrap_or_else(|| "–".into()),
            r.metric.replace('_', " "),
            f(r.trained),
            f(r.untrained),
            gain.map(|g| format!("{g:+.1}")).unwrap_or_else(|| "–".into()),
            r.seconds.map(crate::plan::cost::human_duration).unwrap_or_else(|| "–".into()),
            r.extra.iter().map(|(k, v)| format!("{} {v:.1}%", k.replace('_', " "))).collect::<Vec<_>>().join(", "),
        ));
    }
    out
}
