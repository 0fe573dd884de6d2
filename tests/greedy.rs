//! The greedy round-robin search end to end at the smoke scale: killed mid-round, resumed with no
//! stage computed twice, recorded, reported and planned.

mod common;

use common::{done_stages, eyrie};
use eyrie::plan::plan;
use eyrie::search::greedy::StopReason;
use eyrie::search::rounds::{read_outcome, round_spec};
use eyrie::spec::{parse, Scale};
use eyrie::store::Store;
use std::path::Path;
use std::time::{Duration, Instant};

const GREEDY: &str = r#"
[experiment]
name = "rr"
scale = "smoke"
search = "greedy"
seeds = [0, 1]
[base]
families = ["vqa", "ocr"]
sft-steps = 400
[greedy]
start = ["clip"]
candidates = ["convnext", "sam"]
max-rounds = 2
min-gain = -100.0
"#;

fn count(dir: &Path, pred: impl Fn(&Path) -> bool) -> usize {
    std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok()).filter(|e| pred(&e.path())).count()).unwrap_or(0)
}

#[test]
fn greedy_search_killed_mid_round_resumes_without_training_a_cell_twice() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("rr.toml");
    std::fs::write(&spec_path, GREEDY).unwrap();
    let results = dir.path().join("results");
    let reports = dir.path().join("reports");
    let run = || {
        eyrie()
            .args([
                "run",
                spec_path.to_str().unwrap(),
                "--quiet",
                "--results",
                results.to_str().unwrap(),
                "--reports",
                reports.to_str().unwrap(),
            ])
            .arg("--workers")
            .arg("2")
            .spawn()
            .unwrap()
    };
    let mut child = run();
    // Round 0 (the start set and the blind baseline, 2 seeds each) is done and round 1 is computing.
    let t0 = Instant::now();
    loop {
        let cells = count(&results.join("rr/cells"), |p| p.join("result.json").exists());
        let claims = count(&results.join("artifacts"), |p| p.extension().is_some_and(|x| x == "claim"));
        if cells >= 4 && claims > 0 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "the search never reached round 1");
        assert!(child.try_wait().unwrap().is_none(), "the search finished before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = done_stages(&results);
    assert!(read_outcome(&Store::new(&results), "rr").unwrap().is_none(), "no record before the search ends");

    let status = run().wait().unwrap();
    assert!(status.success());
    let after = done_stages(&results);
    for (id, meta) in &before {
        let again = after.iter().find(|(i, _)| i == id).map(|(_, m)| m);
        assert_eq!(again, Some(meta), "stage {id} was recomputed or lost after the resume");
    }
    let outcome = read_outcome(&Store::new(&results), "rr").unwrap().expect("greedy.json written");
    assert_eq!(outcome.rounds.len(), 2);
    assert_eq!(outcome.stop, StopReason::NoCandidates);
    assert_eq!(outcome.chosen.len(), 3);
    assert_eq!(outcome.rounds[0].candidates.len(), 2);
    assert!(outcome.rounds.iter().all(|r| r.candidates.iter().all(|c| c.per_seed.len() == 2)));
    // Exactly the stages of the sets the search evaluated, each once.
    let spec = parse(&spec_path, GREEDY).unwrap();
    let full = plan(&round_spec(&spec, &outcome.evaluated_sets()), Scale::Smoke);
    assert_eq!(after.len(), full.stages.len(), "every stage of the evaluated sets done exactly once");
    assert_eq!(
        count(&results.join("rr/cells"), |p| p.join("result.json").exists()),
        full.cells.len(),
        "4 sets × 2 seeds + 2 blind"
    );
    let report = std::fs::read_to_string(reports.join("rr/report.md")).unwrap();
    assert!(
        report.contains("## Greedy round-robin") && report.contains("**winner**") && report.contains("Trajectory"),
        "{report}"
    );

    // `plan` states the worst case.
    let out =
        eyrie().args(["plan", spec_path.to_str().unwrap(), "--results", results.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("4 sets × 2 seed(s) = 8 cells"), "{text}");
}
