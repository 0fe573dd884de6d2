//! Result rows: one per cell × seed, with the public column schema.

use crate::spec::{Axis, Family};
use crate::store::CellResult;

/// The public columns, in order (later issues add columns, never rename these).
pub fn columns(axes: &[Axis]) -> Vec<String> {
    let mut c: Vec<String> = vec!["cell".into(), "label".into(), "seed".into()];
    c.extend(axes.iter().map(|a| a.key().to_string()));
    c.extend(Family::ALL.iter().map(|f| f.column().to_string()));
    c.extend(
        [
            "average",
            "visual_tokens",
            "params_total",
            "params_trainable",
            "train_seconds",
            "sft_samples_per_second",
            "pope_yes_ratio",
            "experts",
            "pope_accuracy",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    c
}

/// A cell value: text, a number, or empty.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// Not evaluated / not applicable.
    Empty,
}

/// The row of one result, aligned with [`columns`].
pub fn row(r: &CellResult, axes: &[Axis]) -> Vec<Value> {
    let mut v = vec![Value::Text(r.cell.clone()), Value::Text(r.label.clone()), Value::Number(r.seed as f64)];
    for a in axes {
        v.push(match &r.settings {
            Some(s) => Value::Text(a.value_of(s)),
            None => Value::Empty,
        });
    }
    for f in Family::ALL {
        v.push(r.scores.get(*f).map(Value::Number).unwrap_or(Value::Empty));
    }
    v.push(Value::Number(r.scores.average));
    v.push(Value::Number(r.visual_tokens as f64));
    v.push(Value::Number(r.params_total as f64));
    v.push(Value::Number(r.params_trainable as f64));
    v.push(Value::Number(r.train_seconds));
    v.push(Value::Number(r.sft_samples_per_second));
    let pope = r.scores.families.iter().find(|f| f.family == Family::Pope);
    v.push(pope.and_then(|f| f.yes_ratio).map(Value::Number).unwrap_or(Value::Empty));
    v.push(Value::Text(r.geometry()));
    v.push(pope.map(|f| Value::Number(f.accuracy)).unwrap_or(Value::Empty));
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::eval::{FamilyScore, Scores};
    use crate::spec::{Axis, Family};

    /// Settings of a one-clip, channel-concat, native, frozen cell evaluated on vqa and pope.
    pub(crate) fn settings() -> crate::spec::CellSettings {
        use crate::spec::{ExpertKind, FusionKind, Resolution, Tiling, TokenGrid, Unlock};
        crate::spec::CellSettings {
            encoders: vec![ExpertKind::Clip],
            fusion: FusionKind::ChannelConcat,
            resolution: Resolution::Native,
            tiling: Tiling::Interpolate,
            unlock: Unlock::All(false),
            families: vec![Family::Vqa, Family::Pope],
            grid: TokenGrid::Side(4),
            sft_steps: None,
            lr: None,
            vision_lr_scale: 0.1,
            query_expert: None,
            pre_align: false,
            mixture: vec![],
        }
    }

    pub(crate) fn result(label: &str, vqa: f64, pope: f64) -> CellResult {
        let fam = |family, score| FamilyScore {
            family,
            score,
            accuracy: if family == Family::Pope { score - 5.0 } else { score },
            yes_ratio: (family == Family::Pope).then_some(50.0),
            n: 10,
        };
        CellResult {
            experiment: "t".into(),
            cell: format!("id-{label}"),
            label: label.into(),
            seed: 3,
            settings: None,
            scores: Scores::new(vec![fam(Family::Vqa, vqa), fam(Family::Pope, pope)]),
            visual_tokens: 16,
            params_total: 1000,
            params_trainable: 400,
            train_seconds: 12.5,
            sft_samples_per_second: 100.0,
            stage_seconds: Default::default(),
            experts: vec![],
            scale: "smoke".into(),
            backend: "flex".into(),
            schema: Some(crate::plan::ids::SCHEMA_VERSION),
            commit: Some("abc1234".into()),
        }
    }

    #[test]
    fn csv_has_the_public_columns_and_hand_computed_values() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![result("a", 50.0, 70.0), result("blind", 20.0, 66.0)];
        let mut df = crate::report::frame::frame(&rows, &[Axis::Unlock]).unwrap();
        let (csv, pq) = (dir.path().join("r.csv"), dir.path().join("r.parquet"));
        crate::report::frame::write(&mut df, &csv, &pq).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), columns(&[Axis::Unlock]).join(","));
        // average of vqa 50 and pope 70 (F1) is 60; counts are integers; unevaluated families are empty;
        // POPE's yes-ratio 50 and accuracy 65 last.
        assert_eq!(lines.next().unwrap(), r#"id-a,a,3,,50.0,,,,,70.0,60.0,16,1000,400,12.5,100.0,50.0,"",65.0"#);
        assert!(pq.metadata().unwrap().len() > 0);
    }
}
