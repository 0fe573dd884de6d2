//! The fusion table: Eagle (arXiv 2408.15998) Sec. 3.4 "Fusion strategy". Every strategy's scores over
//! seeds with 95% intervals, its visual tokens, parameters, the fusion's FLOPs and the whole model's
//! forward FLOPs per sample (from the plan, not wall time). The claim about them is judged as a
//! hypothesis of the experiment file (see `hypotheses`).

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
    /// Forward FLOPs of the whole model per sample (experts, fusion, LM), from the plan.
    pub sample_flops: f64,
}

fn fusion_config(plan: &Plan, cell_id: &str) -> Option<FusionConfig> {
    let cell = plan.cells.iter().find(|c| c.id == cell_id)?;
    cell.stages.iter().find_map(|s| match &plan.stages.get(s)?.kind {
        StageKind::Sft { model, .. } => model.fusion_config(),
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
            let cfg = fusion_config(plan, &rs.first()?.cell)?;
            let planned = plan.cells.iter().find(|c| c.id == rs[0].cell)?;
            let sample_flops = crate::plan::cost::cell_forward_flops(plan, planned)?;
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
            Some(FusionRow {
                fusion,
                seeds: rs.iter().map(|r| r.seed).collect(),
                families,
                average_by_seed: rs.iter().map(|r| r.scores.average).collect(),
                tokens: cfg.num_tokens(),
                params: cfg.num_params(),
                flops: cfg.flops(),
                sample_flops,
            })
        })
        .collect()
}

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
        "GFLOPs/sample".into(),
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
            crate::plan::cost::gflops_text(r.sample_flops),
        ]);
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_compares_cost_by_planned_flops_per_sample_not_wall_time() {
        let spec = crate::spec::parse(
            std::path::Path::new("f.toml"),
            "[experiment]\nname = \"f\"\nseeds = [0, 1]\n[base]\nencoders = [\"clip\", \"convnext\"]\n\
             families = [\"vqa\"]\n[grid]\nfusion = [\"channel-concat\", \"sequence-append\"]\n",
        )
        .unwrap();
        let plan = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
        let results: Vec<CellResult> = plan
            .cells
            .iter()
            .map(|c| {
                let mut r = crate::report::rows::tests::result(&c.label, 40.0, 50.0);
                (r.cell, r.seed, r.settings) = (c.id.clone(), c.seed, c.settings.clone());
                // Wall time that would rank the cells the other way round: ignored.
                r.sft_samples_per_second = if c.label.contains("sequence") { 1e6 } else { 1.0 };
                r
            })
            .collect();
        let rows = rows(&plan, &results);
        assert_eq!(rows.len(), 2);
        for r in &rows {
            let cell = plan.cells.iter().find(|c| c.settings.as_ref().is_some_and(|s| s.fusion == r.fusion)).unwrap();
            assert_eq!(Some(r.sample_flops), crate::plan::cost::cell_forward_flops(&plan, cell));
        }
        assert!(rows[1].sample_flops > rows[0].sample_flops, "sequence append gives the LM twice the tokens");
        let md = markdown(&rows);
        assert!(md.lines().next().unwrap().ends_with("| fusion MFLOPs | GFLOPs/sample |"), "{md}");
        assert!(!md.contains("ms/step"), "{md}");
        assert!(md.contains(&format!("| {} |\n", crate::plan::cost::gflops_text(rows[1].sample_flops))), "{md}");
    }

    #[test]
    fn t_interval_matches_a_hand_computation() {
        // 1, 2, 3: mean 2, sd 1, half-width 4.303 / √3 = 2.484.
        let (m, h) = mean_interval(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((h - 2.4843).abs() < 1e-3, "{h}");
        assert!(mean_interval(&[5.0]).1.is_nan());
    }
}
