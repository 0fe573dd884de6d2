//! Adaptive seeds end to end at smoke scale: rounds through the executor, the plan of what ran, the
//! report's rule and seeds per cell, and a rerun that replays every round from the cache.

use std::collections::BTreeMap;
use std::process::Command;

const SPEC: &str = r#"[experiment]
name = "adaptive"
scale = "smoke"
seeds = { min = 3, max = 4 }

[base]
fusion = "channel-concat"
families = ["vqa", "count"]
sft-steps = 30

[grid]
encoders = [["clip"], ["clip", "convnext"]]
lr = [0.0001, 0.05]

[[exclude]]
encoders = ["clip", "convnext"]
lr = 0.05

[[hypothesis]]
claim = "The learning rate changes the average by less than 60 points"
contrast = "pair"
a = { lr = 0.0001 }
b = { lr = 0.05 }
where = { encoders = ["clip"] }
metric = "average"
expect = "equivalent"
margin = 60.0

[[hypothesis]]
claim = "ConvNeXt beside CLIP raises the average"
contrast = "pair"
a = { encoders = ["clip"] }
b = { encoders = ["clip", "convnext"] }
where = { lr = 0.0001 }
metric = "average"
expect = "better"
"#;

#[test]
fn undecided_hypotheses_get_more_seeds_and_decided_ones_stop() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("adaptive.toml");
    std::fs::write(&file, SPEC).unwrap();
    let results = dir.path().join("results");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_eyrie"))
            .args(["run", file.to_str().unwrap(), "--results", results.to_str().unwrap(), "--quiet"])
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Seeds per cell, from the stored plan of what ran. The two clip cells differ only by learning
    // rate, which their labels leave out: they must still be told apart.
    let plan: eyrie::plan::Plan =
        serde_json::from_slice(&std::fs::read(results.join("adaptive/plan.json")).unwrap()).unwrap();
    let mut seeds: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for c in &plan.cells {
        let name = match &c.settings {
            Some(s) => format!("{}+{}@{}", s.encoders.len(), s.label(), s.lr.unwrap()),
            None => c.label.clone(),
        };
        seeds.entry(name).or_default().push(c.seed);
    }
    // Every cell ran seeds 0..3, none beyond 4; a cell got seed 3 only if a claim on it was still
    // open after 3 (which cells those are is the rule's business, tested with known scores in
    // `commands::adaptive`); the baseline runs the first round only.
    assert!(stdout.contains("after 3 seeds: H1 "), "{stdout}");
    let open_after_3 = !stdout.contains("0 cells still open");
    for (name, got) in &seeds {
        let expected: Vec<u64> = if name == "blind" || got.len() == 3 { vec![0, 1, 2] } else { vec![0, 1, 2, 3] };
        assert_eq!(got, &expected, "{name}: {seeds:?}");
    }
    assert_eq!(seeds.values().any(|s| s.len() == 4), open_after_3, "{stdout}\n{seeds:?}");
    let report = std::fs::read_to_string(results.join("reports/adaptive/report.md")).unwrap();
    assert!(report.contains("### Adaptive seeds") && report.contains("alpha spending"), "{report}");
    assert!(report.contains("× 3 to 4 adaptive seeds + the blind baseline)"), "the spec line: {report}");
    let rows = report.split("### Adaptive seeds").nth(1).unwrap();
    let mut counted: Vec<usize> = rows
        .lines()
        .filter(|l| l.starts_with("| clip"))
        .map(|l| l.trim_end_matches(" |").rsplit("| ").next().unwrap().parse().unwrap())
        .collect();
    let mut planned: Vec<usize> = seeds.iter().filter(|(n, _)| *n != "blind").map(|(_, s)| s.len()).collect();
    counted.sort();
    planned.sort();
    assert_eq!(counted, planned, "the report's seeds per cell: {rows}");
    // A rerun replays every round from the cache and reaches the same plan.
    let again = run();
    assert!(again.status.success());
    let replayed: eyrie::plan::Plan =
        serde_json::from_slice(&std::fs::read(results.join("adaptive/plan.json")).unwrap()).unwrap();
    assert_eq!(replayed, plan);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 stages computed"));
}
