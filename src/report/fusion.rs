//! The fusion table: Eagle (arXiv 2408.15998) Sec. 3.4 "Fusion strategy". Every strategy's scores over
//! seeds with 95% intervals, its visual tokens, parameters, FLOPs and step time. The claim about
//! them is judged as a hypothesis of the experiment file (see `hypotheses`).

use crate::model::fusion::FusionConfig;
use crate::plan::{Plan, StageKind};
use crate::spec::{Family, FusionKind};
use crate::stats::mean_interval;
use crate::stats::Estimate;
use crate::store::CellResult;

/// One strategy's row: scores over seeds and its costs.
#[derive(Debug, Clone)]
pub struct FusionRow {
    /// The strategy.
    pub fusion: FusionKind,
    /// Seeds, in order.
    pub seeds: Vec<u64>,
    /// Per family: (mean, half-width) over seeds.
    pub families: Vec<(Family, f64, f64)>,
    /// The average over families: per seed.
    pub average_by_seed: Vec<f64>,
    /// Visual tokens the LM receives.
    pub tokens: usize,
    /// Parameters of the fusion and its projector.
    pub params: usize,
    /// Forward FLOPs of the fusion and its projector per image.
    pub flops: f64,
    /// Mean SFT step time in milliseconds (wall, as measured during the run).
    pub step_ms: f64,
}

fn fusion_config(plan: &Plan, cell_id: &str) -> Option<(FusionConfig, usize)> {
    let cell = plan.cells.iter().find(|c| c.id == cell_id)?;
    cell.stages.iter().find_map(|s| match &plan.stages.get(s)?.kind {
        StageKind::Sft { model, optim, .. } => Some((model.fusion_config()?, optim.batch)),
        _ => None,
    })
}

/// Rows per fusion strategy, in the order the results list them (cells without settings skipped).
pub fn rows(plan: &Plan, results: &[CellResult]) -> Vec<FusionRow> {
    let mut order: Vec<FusionKind> = Vec::new();
    for r in results {
        if let Some(s) = &r.settings {
            if !order.contains(&s.fusion) {
                order.push(s.fusion);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|fusion| {
            let rs: Vec<&CellResult> =
                results.iter().filter(|r| r.settings.as_ref().is_some_and(|s| s.fusion == fusion)).collect();
            let (cfg, batch) = fusion_config(plan, &rs.first()?.cell)?;
            let families = rs[0]
                .scores
                .families
                .iter()
                .map(|f| {
                    let xs: Vec<f64> = rs
                        .iter()
                        .filter_map(|r| r.scores.families.iter().find(|g| g.family == f.family).map(|g| g.score))
                        .collect();
                    let (m, h) = mean_interval(&xs);
                    (f.family, m, h)
                })
                .collect();
            let step_ms = rs.iter().map(|r| 1000.0 * batch as f64 / r.sft_samples_per_second.max(1e-9)).sum::<f64>()
                / rs.len() as f64;
            Some(FusionRow {
                fusion,
                seeds: rs.iter().map(|r| r.seed).collect(),
                families,
                average_by_seed: rs.iter().map(|r| r.scores.average).collect(),
                tokens: cfg.num_tokens(),
                params: cfg.num_params(),
                flops: cfg.flops(),
                step_ms,
            })
        })
        .collect()
}

/// The paper's claim.
pub const CLAIM: &str = "Channel concat is as good as the complex fusions and the cheapest";

/// The markdown section: the table.
pub fn markdown(rows: &[FusionRow]) -> String {
    let Some(first) = rows.first() else { return String::new() };
    let mut head: Vec<String> = vec!["fusion".into()];
    head.extend(first.families.iter().map(|(f, _, _)| f.column().to_string()));
    head.extend([
        "average".into(),
        "visual tokens".into(),
        "fusion params".into(),
        "fusion MFLOPs".into(),
        "SFT ms/step".into(),
    ]);
    let mut out = format!("| {} |\n|{}|\n", head.join(" | "), vec!["---"; head.len()].join("|"));
    for r in rows {
        let mut cells = vec![r.fusion.to_string()];
        cells.extend(r.families.iter().map(|&(_, m, h)| Estimate { mean: m, half: h }.to_string()));
        let (m, h) = mean_interval(&r.average_by_seed);
        cells.push(Estimate { mean: m, half: h }.to_string());
        cells.extend([
            r.tokens.to_string(),
            r.params.to_string(),
            format!("{:.2}", r.flops / 1e6),
            format!("{:.0}", r.step_ms),
        ]);
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_interval_matches_a_hand_computation() {
        // 1, 2, 3: mean 2, sd 1, half-width 4.303 / √3 = 2.484.
        let (m, h) = mean_interval(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((h - 2.4843).abs() < 1e-3, "{h}");
        assert!(mean_interval(&[5.0]).1.is_nan());
    }
}
