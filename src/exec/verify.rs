//! Before a run reuses anything: every stored stage of the plan is checked against the hashes its
//! metadata recorded, and every cell record against its evaluation's scores; what is damaged is
//! moved aside with a line naming it, so the run computes it again. Each stage is checked once per
//! process (a greedy search's rounds share their stages).

use super::ui::Ui;
use crate::eval::Scores;
use crate::plan::Plan;
use crate::store::integrity::{check_stage, quarantine, quarantine_file, Check};
use crate::store::{read_json, CellResult, ReadError, Store};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

static CHECKED: Mutex<BTreeSet<(PathBuf, String)>> = Mutex::new(BTreeSet::new());

/// What was found damaged and moved aside.
#[derive(Debug, Clone, PartialEq)]
pub struct Damaged {
    /// The stage's label or the record's path.
    pub what: String,
    /// What was wrong.
    pub why: String,
    /// Where it was moved.
    pub moved_to: PathBuf,
}

/// Checks the plan's stored stages and cell records, moving damaged ones aside.
pub fn verify_plan(plan: &Plan, store: &Store, ui: &Ui) -> Result<Vec<Damaged>, super::RunError> {
    let mut damaged = Vec::new();
    for id in super::stage_order(plan) {
        let key = (store.root.clone(), id.clone());
        if CHECKED.lock().unwrap_or_else(|e| e.into_inner()).contains(&key) {
            continue;
        }
        match check_stage(store, &id) {
            Check::Absent => continue,
            Check::Intact | Check::Unhashed => {}
            Check::Damaged(d) => {
                let why = d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; ");
                let moved_to = match quarantine(store, &id, &why) {
                    Ok(p) => p,
                    // Another process moved it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(super::at(&store.artifact_dir(&id))(e)),
                };
                let what = format!("stage {} ({id})", plan.stages[&id].label);
                ui.warn(&format!("damaged {what}: {why}; moved to {}, computing it again", moved_to.display()));
                damaged.push(Damaged { what, why, moved_to });
                continue;
            }
        }
        CHECKED.lock().unwrap_or_else(|e| e.into_inner()).insert(key);
    }
    for cell in &plan.cells {
        let Some((path, why)) = record_damage(plan, store, cell) else { continue };
        let moved_to = match quarantine_file(&path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(super::at(&path)(e)),
        };
        let what = format!("cell record {}", path.display());
        ui.warn(&format!("damaged {what}: {why}; moved to {}, writing it again", moved_to.display()));
        damaged.push(Damaged { what, why, moved_to });
    }
    Ok(damaged)
}

/// What `eyrie status --verify` finds: each damaged stage and cell record of the plan (what, why),
/// checked like a run checks them, but nothing is moved.
pub fn find_damage(plan: &Plan, store: &Store) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for id in super::stage_order(plan) {
        if let Check::Damaged(d) = check_stage(store, &id) {
            let why = d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; ");
            found.push((format!("stage {} ({})", plan.stages[&id].label, store.artifact_dir(&id).display()), why));
        }
    }
    for cell in &plan.cells {
        if let Some((path, why)) = record_damage(plan, store, cell) {
            found.push((format!("cell record {}", path.display()), why));
        }
    }
    found
}

/// A cell's stored record and why it cannot be used (corrupt, unreadable, or not its own), if so.
fn record_damage(plan: &Plan, store: &Store, cell: &crate::plan::PlannedCell) -> Option<(PathBuf, String)> {
    let path = store.cell_dir(&plan.experiment, &cell.id).join("result.json");
    let why = match read_json::<CellResult>(&path) {
        Ok(None) => None,
        Ok(Some(r)) => disagreement(&r, plan, store, &cell.id, cell.seed),
        Err(ReadError::Parse { source, .. }) => Some(format!("corrupt JSON ({source})")),
        Err(ReadError::Io { source, .. }) => Some(format!("unreadable ({source})")),
    }?;
    Some((path, why))
}

/// Why a cell's stored result cannot be its own (another cell's or seed's, or scores that are not
/// its evaluation's), if it cannot.
fn disagreement(r: &CellResult, plan: &Plan, store: &Store, cell: &str, seed: u64) -> Option<String> {
    if r.experiment != plan.experiment || r.cell != cell || r.seed != seed {
        return Some(format!("it names experiment {}, cell {}, seed {}", r.experiment, r.cell, r.seed));
    }
    // The evaluation's scores are checked by their hash above; without the stage cached (a fresh
    // clone's committed records) there is nothing to compare with.
    let scores: Scores = read_json(&store.artifact_dir(cell).join("scores.json")).ok().flatten()?;
    (scores != r.scores).then(|| "its scores differ from its evaluation's scores.json".to_string())
}
