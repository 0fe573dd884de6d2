//! Where every cell's result came from: the world schema its stages were computed in, the commit
//! that wrote it and the backend, with counts, and warnings when they are mixed or when the schema
//! is not this binary's (a rerun would recompute those cells).

use crate::plan::ids::SCHEMA_VERSION;
use crate::plan::Plan;
use crate::store::CellResult;

/// A cell's world schema: recorded in its result, inferred from the stored plan, or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Recorded in the cell's result.
    Recorded(u32),
    /// Not recorded: the version whose id of the cell's stored evaluation stage matches its stored id.
    Inferred(u32),
    /// Not recorded, and no version's id matches (the stage description's JSON changed since).
    Unknown,
}

impl Schema {
    /// The version, when known.
    pub fn version(self) -> Option<u32> {
        match self {
            Schema::Recorded(v) | Schema::Inferred(v) => Some(v),
            Schema::Unknown => None,
        }
    }
}

/// The schema of `r`: its record's, else the one its stage ids in `plan` (the stored plan) were
/// computed in.
pub fn schema(r: &CellResult, plan: &Plan) -> Schema {
    if let Some(v) = r.schema {
        return Schema::Recorded(v);
    }
    match plan.stages.get(&r.cell).and_then(|s| s.schema()) {
        Some(v) => Schema::Inferred(v),
        None => Schema::Unknown,
    }
}

/// Each distinct value and how many results have it, in first-appearance order.
fn counts(values: impl Iterator<Item = String>) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for v in values {
        match out.iter_mut().find(|(w, _)| *w == v) {
            Some((_, n)) => *n += 1,
            None => out.push((v, 1)),
        }
    }
    out
}

fn listed(counts: &[(String, usize)]) -> String {
    let part = |(v, n): &(String, usize)| format!("{v} ({n} cell{})", if *n == 1 { "" } else { "s" });
    counts.iter().map(part).collect::<Vec<_>>().join(", ")
}

/// The report's lines on where the cells came from: every schema, commit and backend with its count
/// of cell × seed rows, then a warning for each mix and for cells of another schema than this
/// binary's. `plan` is the stored plan (it infers the schema of records that did not record it).
pub fn markdown(results: &[CellResult], plan: &Plan) -> String {
    let schemas: Vec<Schema> = results.iter().map(|r| schema(r, plan)).collect();
    let schema_counts = counts(schemas.iter().map(|s| match s {
        Schema::Recorded(v) => format!("{v}"),
        Schema::Inferred(v) => format!("{v} (inferred from the stored plan's stage ids)"),
        Schema::Unknown => "unknown (not recorded; no schema's ids match the stored plan's)".into(),
    }));
    let commit_counts =
        counts(results.iter().map(|r| r.commit.as_ref().map_or("not recorded".into(), |c| format!("`{c}`"))));
    let backend_counts = counts(results.iter().map(|r| format!("`{}`", r.backend)));
    let mut out = format!(
        "Where the {} cell × seed rows came from: world schema {}; commit {}; backend {}.\n\n",
        results.len(),
        listed(&schema_counts),
        listed(&commit_counts),
        listed(&backend_counts)
    );
    let versions = counts(schemas.iter().map(|s| s.version().map_or("unknown".into(), |v| v.to_string())));
    if versions.len() > 1 {
        out.push_str(&format!(
            "**Warning: the cells come from {} world schemas** ({}): their scores were computed on different \
             worlds or code and do not compare.\n\n",
            versions.len(),
            listed(&versions)
        ));
    }
    if commit_counts.len() > 1 {
        out.push_str(&format!(
            "**Warning: the cells come from more than one commit, or some did not record theirs** ({}).\n\n",
            listed(&commit_counts)
        ));
    }
    for (v, n) in &versions {
        let was = if *n == 1 { " was" } else { "s were" };
        let text = match v.as_str() {
            "unknown" => format!("{n} cell{was} computed in an unknown world schema"),
            v if *v != SCHEMA_VERSION.to_string() => format!("{n} cell{was} computed in world schema {v}"),
            _ => continue,
        };
        out.push_str(&format!("**Warning: {text}; this binary's is {SCHEMA_VERSION}: a rerun recomputes them.**\n\n"));
    }
    out
}

#[cfg(test)]
mod tests;
