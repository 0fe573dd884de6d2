//! The fault suite at the smoke scale: each fault a hostile user (or a crash, a full disk, a stray
//! process) can leave in a results folder is injected, and the run must notice it, say so, and
//! lose nothing. Diverged training fails its cells (exit 1) while the grid goes on; damaged
//! checkpoints and records are moved aside and recomputed to the same scores; claims nobody holds
//! never hang a run; kills at random moments end in the results of an uninterrupted run.

mod common;

use burn::backend::{Autodiff, Flex};
use common::{done_stages, eyrie};
use eyrie::exec::{run_plan, RunOptions, RunSummary};
use eyrie::plan::{plan, Plan, StageKind};
use eyrie::spec::{parse, ExpertKind, Scale};
use eyrie::store::claim::Owner;
use eyrie::store::integrity::hash_outputs;
use eyrie::store::{StageMeta, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

type AD = Autodiff<Flex>;

const SMOKE: &str = include_str!("../experiments/smoke.toml");

fn smoke_plan() -> Plan {
    plan(&parse(Path::new("smoke.toml"), SMOKE).unwrap(), Scale::Smoke)
}

fn run(p: &Plan, store: &Store) -> RunSummary {
    run_plan::<AD>(
        p,
        store,
        &Default::default(),
        &RunOptions { quiet: true, backend: "flex".into(), workers: 2, from_records: false },
    )
    .unwrap()
}

/// Each cell's scores by cell id: what a fault must not change.
fn scores(s: &RunSummary) -> BTreeMap<String, String> {
    s.results.iter().map(|r| (r.cell.clone(), serde_json::to_string(&r.scores).unwrap())).collect()
}

fn smoke_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("smoke.toml");
    std::fs::write(&path, SMOKE).unwrap();
    path
}

/// The id of the plan's expert-pretrain stage for `kind`.
fn pretrain_of(p: &Plan, kind: ExpertKind) -> String {
    p.stages
        .iter()
        .find(|(_, s)| matches!(&s.kind, StageKind::ExpertPretrain { expert, .. } if expert.kind == kind))
        .map(|(id, _)| id.clone())
        .unwrap()
}

/// Overwrites every f32 of a safetensors file with NaN, keeping its header.
fn fill_with_nan(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    for (name, t) in header.as_object().unwrap() {
        if name == "__metadata__" || t["dtype"] != "F32" {
            continue;
        }
        let (s, e) = (t["data_offsets"][0].as_u64().unwrap() as usize, t["data_offsets"][1].as_u64().unwrap() as usize);
        for chunk in b[8 + n + s..8 + n + e].chunks_mut(4) {
            chunk.copy_from_slice(&f32::NAN.to_le_bytes());
        }
    }
    std::fs::write(path, b).unwrap();
}

fn set_age(path: &Path, age: Duration) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn diverged_training_fails_its_cells_and_the_grid_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = smoke_file(dir.path());
    let results = dir.path().join("results");
    let p = smoke_plan();
    let store = Store::new(&results);
    run(&p, &store);
    // A pretrained expert whose weights are NaN but whose record is intact (its hashes rewritten):
    // what a broken pretraining would leave. Every stage after pretraining is computed again.
    let convnext = pretrain_of(&p, ExpertKind::ConvNext);
    fill_with_nan(&store.checkpoint(&convnext));
    let mut meta: StageMeta =
        serde_json::from_str(&std::fs::read_to_string(store.meta_path(&convnext)).unwrap()).unwrap();
    meta.files = hash_outputs(&store.artifact_dir(&convnext)).unwrap();
    std::fs::write(store.meta_path(&convnext), serde_json::to_string(&meta).unwrap()).unwrap();
    for (id, s) in &p.stages {
        if !matches!(s.kind, StageKind::ExpertPretrain { .. } | StageKind::LmPretrain { .. }) {
            std::fs::remove_dir_all(store.artifact_dir(id)).unwrap();
        }
    }
    let out = eyrie()
        .args(["run", file.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("diverged at step 0: the loss is NaN"), "{stderr}");
    let with_convnext: Vec<_> = p.cells.iter().filter(|c| c.label.contains("convnext")).collect();
    assert_eq!(with_convnext.len(), 2);
    assert!(stderr.contains(&format!("2 of {} cells failed", p.cells.len())), "{stderr}");
    // The other cells ran to the end; the failed ones have no result.
    for c in &p.cells {
        let has = store.read_result("smoke", &c.id).unwrap().is_some();
        assert_eq!(has, !c.label.contains("convnext"), "{}", c.label);
    }
    let status =
        eyrie().args(["status", file.to_str().unwrap(), "--results", results.to_str().unwrap()]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.matches("FAILED").count(), 2, "{status}");
    assert!(status.contains("2 failed"), "{status}");
    let report = std::fs::read_to_string(dir.path().join("reports/smoke/report.md")).unwrap();
    assert!(report.contains("## Failed cells") && report.contains("diverged"), "{report}");
    // Again: nothing new is computed and the failure repeats; the run is not recorded as one that
    // finished every stage.
    let again = eyrie()
        .args(["run", file.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("smoke/run.json")).unwrap()).unwrap();
    assert_eq!(record["unfinished"], serde_json::json!(true), "{record}");
    assert!(record.get("closed_by").is_none(), "{record}");
}

#[test]
fn damaged_checkpoints_are_moved_aside_and_computed_again() {
    let dir = tempfile::tempdir().unwrap();
    let p = smoke_plan();
    let store = Store::new(dir.path());
    let first = run(&p, &store);
    let kinds = |k: &str| p.stages.iter().filter(|(_, s)| s.kind.name() == k).map(|(id, _)| id.clone()).next();
    let (truncated, flipped, lost) =
        (kinds("expert-pretrain").unwrap(), kinds("sft").unwrap(), kinds("align").unwrap());
    let bytes = std::fs::read(store.checkpoint(&truncated)).unwrap();
    std::fs::write(store.checkpoint(&truncated), &bytes[..bytes.len() / 2]).unwrap();
    let mut bytes = std::fs::read(store.checkpoint(&flipped)).unwrap();
    let at = bytes.len() - 7;
    bytes[at] ^= 0x10;
    std::fs::write(store.checkpoint(&flipped), &bytes).unwrap();
    std::fs::write(store.meta_path(&lost), "{\"id\": \"").unwrap();
    // `status --verify` finds all three and moves nothing.
    let spec_dir = tempfile::tempdir().unwrap();
    let file = smoke_file(spec_dir.path());
    let out = eyrie()
        .args(["status", file.to_str().unwrap(), "--verify", "--results", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.matches("DAMAGED stage").count(), 3, "{stdout}");
    assert!(
        stdout.contains("model.safetensors is not a whole safetensors file") || stdout.contains("differs"),
        "{stdout}"
    );
    assert!(store.checkpoint(&flipped).exists(), "status moves nothing");
    let again = run(&p, &store);
    for id in [&truncated, &flipped, &lost] {
        assert!(again.computed.contains(id), "{} was not computed again", p.stages[id].label);
    }
    assert_eq!(scores(&again), scores(&first), "the same scores as before the damage");
    let aside = std::fs::read_dir(dir.path().join("artifacts/.damaged")).unwrap().count();
    assert_eq!(aside, 3, "each damaged stage kept aside");
    // Nothing is damaged now: a third run computes nothing.
    assert!(run(&p, &store).computed.is_empty());
}

#[test]
fn damaged_cell_records_are_written_again_from_their_stages() {
    let dir = tempfile::tempdir().unwrap();
    let p = smoke_plan();
    let store = Store::new(dir.path());
    let first = run(&p, &store);
    let record = |i: usize| store.cell_dir("smoke", &p.cells[i].id).join("result.json");
    let text = std::fs::read_to_string(record(0)).unwrap();
    std::fs::write(record(0), &text[..text.len() / 3]).unwrap();
    let mut edited: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(record(1)).unwrap()).unwrap();
    edited["scores"]["average"] = serde_json::json!(99.5);
    std::fs::write(record(1), edited.to_string()).unwrap();
    let again = run(&p, &store);
    assert!(again.computed.is_empty(), "records are rewritten from cached stages");
    assert_eq!(again.results, first.results.iter().map(|r| again_with_time(r, &again)).collect::<Vec<_>>());
    for i in [0, 1] {
        let kept: Vec<_> = std::fs::read_dir(record(i).parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("result.json.damaged-"))
            .collect();
        assert_eq!(kept.len(), 1, "the damaged record of cell {i} is kept aside");
    }
}

/// `r` as the rerun recorded it (only the commit may differ between the two runs of this binary).
fn again_with_time(r: &eyrie::store::CellResult, again: &RunSummary) -> eyrie::store::CellResult {
    let new = again.results.iter().find(|x| x.cell == r.cell).unwrap();
    eyrie::store::CellResult { commit: new.commit.clone(), ..r.clone() }
}

#[test]
fn claims_nobody_holds_are_taken_over_and_never_hang_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = smoke_file(dir.path());
    let results = dir.path().join("results");
    let store = Store::new(&results);
    let p = smoke_plan();
    std::fs::create_dir_all(results.join("artifacts")).unwrap();
    let ids: Vec<&String> = p.stages.keys().collect();
    // Empty (a kill between creating and writing), a pid now another process's (this test's own
    // pid with another start time), and an owner on another host with no heartbeat for 10 s.
    let mut reused = Owner::this_process();
    reused.start = reused.start.map(|s| s + 1);
    let remote = Owner { host: "node-that-died".into(), pid: 4242, start: None, nonce: 1 };
    for (i, id) in ids.iter().enumerate() {
        let path = store.claim_path(id);
        match i % 3 {
            0 => std::fs::write(&path, "").unwrap(),
            1 => std::fs::write(&path, serde_json::to_string(&reused).unwrap()).unwrap(),
            _ => std::fs::write(&path, serde_json::to_string(&remote).unwrap()).unwrap(),
        }
        set_age(&path, Duration::from_secs(10));
    }
    let mut child = eyrie()
        .args(["run", file.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
        .arg(dir.path().join("reports"))
        .env("EYRIE_CLAIM_TIMEOUT", "5")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("the run hung on claims nobody holds");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("its claim file was empty or unreadable"), "{stderr}");
    assert!(stderr.contains("its pid belongs to another process"), "{stderr}");
    assert!(stderr.contains("pid 4242 on node-that-died) gave no heartbeat"), "{stderr}");
    assert_eq!(stderr.matches("taking over").count(), ids.len(), "{stderr}");
    assert!(p.cells.iter().all(|c| store.read_result("smoke", &c.id).unwrap().is_some()));
    assert!(!ids.iter().any(|id| store.claim_path(id).exists()), "every claim released");
}

#[test]
fn kills_at_random_moments_end_in_the_results_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    // Longer SFT stages than the smoke file's, so that most kills land mid-run.
    let text = SMOKE.replace("families = [\"vqa\", \"pope\"]", "families = [\"vqa\", \"pope\"]\nsft-steps = 300");
    let file = dir.path().join("smoke.toml");
    std::fs::write(&file, &text).unwrap();
    let p = plan(&parse(&file, &text).unwrap(), Scale::Smoke);
    let reference = run(&p, &Store::new(dir.path().join("reference")));
    let results = dir.path().join("results");
    let run_cmd = || {
        let mut c = eyrie();
        c.args(["run", file.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
            .arg(dir.path().join("reports"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    // Kill moments drawn from a fixed seed (a splitmix sequence), spread over a smoke run's length.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut kills = 0;
    for _ in 0..6 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let after = Duration::from_millis(50 + (z ^ (z >> 31)) % 1500);
        let mut child = run_cmd().spawn().unwrap();
        std::thread::sleep(after);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 2, "only {kills} runs were still going when killed");
    // What a writer killed between writing and renaming leaves (kills above may leave more).
    let leftover = eyrie::store::atomic::temp_path(&results.join("smoke").join("result.json"), 999_999_999);
    std::fs::create_dir_all(leftover.parent().unwrap()).unwrap();
    std::fs::write(&leftover, "partial").unwrap();
    assert!(run_cmd().status().unwrap().success());
    assert!(!leftover.exists(), "the next run cleans temporary files of dead writers");
    let temps: Vec<_> = walk(&results).into_iter().filter(|p| p.to_string_lossy().contains(".tmp-")).collect();
    assert!(temps.is_empty(), "{temps:?}");
    let store = Store::new(&results);
    let got: BTreeMap<String, String> = p
        .cells
        .iter()
        .map(|c| {
            (c.id.clone(), serde_json::to_string(&store.read_result("smoke", &c.id).unwrap().unwrap().scores).unwrap())
        })
        .collect();
    assert_eq!(got, scores(&reference), "the killed and resumed run's scores equal an uninterrupted run's");
    assert_eq!(done_stages(&results).len(), p.stages.len(), "every stage stored once");
    assert!(run(&p, &store).computed.is_empty(), "nothing left to compute");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
