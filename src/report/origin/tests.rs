use super::*;
use crate::report::rows::tests::result;
use crate::spec::{parse, Scale};
use std::path::Path;

fn one_cell_plan() -> Plan {
    let spec = parse(
        Path::new("o.toml"),
        "[experiment]\nname = \"o\"\nseeds = [0, 1]\nblind-baseline = false\n[base]\nfamilies = [\"vqa\"]\n",
    )
    .unwrap();
    crate::plan::plan(&spec, Scale::Smoke)
}

/// The plan with every stage's id recomputed under schema `version` (as a plan stored by that schema).
fn stored_in(plan: &Plan, version: u32) -> (Plan, Vec<String>) {
    let mut old = plan.clone();
    let mut cells = Vec::new();
    for c in &mut old.cells {
        let mut stage = plan.stages[&c.id].clone();
        stage.id = stage.id_at(version);
        c.id = stage.id.clone();
        old.stages.insert(stage.id.clone(), stage);
        cells.push(c.id.clone());
    }
    (old, cells)
}

/// A result of `cell` without a recorded schema or commit (as written before they were recorded).
fn unrecorded(cell: &str) -> CellResult {
    let mut r = result("x", 50.0, 50.0);
    r.cell = cell.into();
    r.schema = None;
    r.commit = None;
    r
}

#[test]
fn an_unrecorded_schema_is_inferred_from_the_stored_stage_ids() {
    let (old, cells) = stored_in(&one_cell_plan(), 3);
    let r = unrecorded(&cells[0]);
    assert_eq!(schema(&r, &old), Schema::Inferred(3));
    let (now, cells) = stored_in(&one_cell_plan(), SCHEMA_VERSION);
    assert_eq!(schema(&unrecorded(&cells[0]), &now), Schema::Inferred(SCHEMA_VERSION));
    // A recorded schema wins over the plan.
    let mut recorded = unrecorded(&cells[0]);
    recorded.schema = Some(2);
    assert_eq!(schema(&recorded, &now), Schema::Recorded(2));
    // A stage whose description no longer hashes to its stored id under any schema: unknown.
    let mut changed = old.clone();
    changed.stages.get_mut(&cells[0]).unwrap().inputs.push("extra".into());
    assert_eq!(schema(&unrecorded(&cells[0]), &changed), Schema::Unknown);
}

#[test]
fn the_report_counts_schemas_and_commits_and_warns_on_mixes_and_old_schemas() {
    let (old, cells) = stored_in(&one_cell_plan(), 3);
    let rows: Vec<CellResult> = cells.iter().map(|c| unrecorded(c)).collect();
    let md = markdown(&rows, &old);
    assert!(md.contains("world schema 3 (inferred from the stored plan's stage ids) (2 cells)"), "{md}");
    assert!(md.contains("commit not recorded (2 cells)"), "{md}");
    assert!(md.contains("backend `flex` (2 cells)"), "{md}");
    assert!(
        md.contains(&format!(
            "2 cells were computed in world schema 3; this binary's is {SCHEMA_VERSION}: a rerun recomputes them"
        )),
        "{md}"
    );
    assert!(!md.contains("more than one commit") && !md.contains("world schemas**"), "{md}");
    // One cell recorded in this schema at a commit, one old: both mixes are flagged.
    let mut mixed = rows.clone();
    mixed[1].schema = Some(SCHEMA_VERSION);
    mixed[1].commit = Some("abc1234".into());
    let md = markdown(&mixed, &old);
    assert!(md.contains("the cells come from 2 world schemas"), "{md}");
    assert!(md.contains("more than one commit"), "{md}");
    assert!(md.contains("commit not recorded (1 cell), `abc1234` (1 cell)"), "{md}");
    assert!(md.contains("1 cell was computed in world schema 3"), "{md}");
    // Everything recorded in this schema at one commit: no warning at all.
    let now: Vec<CellResult> = mixed.iter().map(|r| CellResult { schema: Some(SCHEMA_VERSION), ..r.clone() }).collect();
    let now: Vec<CellResult> = now.into_iter().map(|r| CellResult { commit: Some("abc1234".into()), ..r }).collect();
    let md = markdown(&now, &old);
    assert!(!md.contains("Warning"), "{md}");
    assert!(md.contains(&format!("world schema {SCHEMA_VERSION} (2 cells)")), "{md}");
}

#[test]
fn the_committed_fusion_run_is_inferred_to_be_schema_3() {
    // results/fusion was computed before cells recorded their schema; its run.json names commit
    // ad4ff5b, whose world schema was 3.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let store = crate::store::Store::new(&root);
    let plan = crate::report::stored_plan(&store, "fusion").unwrap().expect("results/fusion/plan.json");
    let results = crate::report::collect(&plan, &store).unwrap();
    assert_eq!(results.len(), plan.cells.len());
    for r in &results {
        assert_eq!((r.schema, schema(r, &plan)), (None, Schema::Inferred(3)), "{}", r.label);
    }
    let md = markdown(&results, &plan);
    assert!(md.contains("world schema 3 (inferred from the stored plan's stage ids) (18 cells)"), "{md}");
    assert!(md.contains("18 cells were computed in world schema 3"), "{md}");
}
