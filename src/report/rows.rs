//! Result rows: one per cell × seed, with the public column schema.

use crate::spec::{Axis, Family};
use crate::store::CellResult;

/// The public columns, in order (later issues add columns, never rename these).
pub fn columns(axes: &[Axis]) -> Vec<String> {
    let mut c: Vec<String> = vec!["cell".into(), "label".into(), "seed".into()];
    c.extend(axes.iter().map(|a| a.key().to_string()));
    c.extend(Family::ALL.iter().map(|f| f.column().to_string()));
    c.extend(
        ["average", "visual_tokens", "params_total", "params_trainable", "train_seconds", "sft_samples_per_second", "pope_yes_ratio", "experts"]
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
    let yes = r.scores.families.iter().find(|f| f.family == Family::Pope).and_then(|f| f.yes_ratio);
    v.push(yes.map(Value::Number).unwrap_or(Value::Empty));
    v.push(Value::Text(r.geometry()));
    v
}
