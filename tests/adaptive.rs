//! Adaptive seeds end to end at smoke scale: a hypothesis decided at the first look stops its cells,
//! an undecided one gets the next seed, and the report states the rule and the seeds each cell got.

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
    assert!(stdout.contains("after 3 seeds: H1 supported (3 seeds), H2 inconclusive"), "{stdout}");
    assert_eq!(seeds["1+clip/channel-concat/frozen@0.05"], vec![0, 1, 2], "H1's own cell stops: {seeds:?}");
    assert_eq!(seeds["1+clip/channel-concat/frozen@0.0001"], vec![0, 1, 2, 3], "{seeds:?}");
    assert_eq!(seeds["2+clip+convnext/channel-concat/frozen@0.0001"], vec![0, 1, 2, 3], "{seeds:?}");
    assert_eq!(seeds["blind"], vec![0, 1, 2], "{seeds:?}");
    let report = std::fs::read_to_string(results.join("reports/adaptive/report.md")).unwrap();
    assert!(report.contains("### Adaptive seeds") && report.contains("alpha spending"), "{report}");
    assert!(report.contains("| clip/channel-concat/frozen | 3 |"), "{report}");
    assert!(report.contains("| clip/channel-concat/frozen | 4 |"), "{report}");
    assert!(report.contains("| clip+convnext/channel-concat/frozen | 4 |"), "{report}");
    // A rerun replays every round from the cache and reaches the same plan.
    let again = run();
    assert!(again.status.success());
    let replayed: eyrie::plan::Plan =
        serde_json::from_slice(&std::fs::read(results.join("adaptive/plan.json")).unwrap()).unwrap();
    assert_eq!(replayed, plan);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 stages computed"));
}
