//! End-to-end flows at the smoke scale: caching, resuming after SIGKILL, concurrent runs, learning.

mod common;

use burn::backend::{Autodiff, Flex};
use common::{done_stages, eyrie};
use eyrie::exec::{run_plan, RunOptions};
use eyrie::plan::plan;
use eyrie::spec::{parse, Scale};
use eyrie::store::Store;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type AD = Autodiff<Flex>;

const SMOKE: &str = include_str!("../experiments/smoke.toml");

fn opts() -> RunOptions {
    RunOptions { quiet: true, backend: "flex".into(), workers: 2, from_records: false }
}

#[test]
fn second_run_of_a_finished_experiment_trains_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = parse(Path::new("smoke.toml"), SMOKE).unwrap();
    let p = plan(&spec, Scale::Smoke);
    let store = Store::new(dir.path());
    let first = run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    assert_eq!(first.computed.len(), p.stages.len(), "a fresh run computes every stage once");
    assert_eq!(first.results.len(), p.cells.len());
    // A process killed between finishing a stage and releasing its claim left the claim behind.
    let done = p.cells[0].stages.last().unwrap();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let owner = eyrie::store::claim::Owner { pid: gone_pid, ..eyrie::store::claim::Owner::this_process() };
    std::fs::write(store.claim_path(done), serde_json::to_string(&owner).unwrap()).unwrap();
    let second = run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    assert!(second.computed.is_empty(), "second run computed {:?}", second.computed);
    assert_eq!(second.results, first.results);
    assert!(!store.claim_path(done).exists(), "the stopped process's claim on a done stage is left");
    for r in &first.results {
        assert!(r.scores.families.iter().all(|f| f.n > 0));
        assert!(r.params_total >= r.params_trainable && r.params_trainable > 0, "{}", r.label);
        if r.label != "blind" {
            assert!(!r.experts.is_empty() && r.visual_tokens > 0, "{}", r.label);
        }
    }
}

#[test]
fn pix2struct_reports_the_words_it_reads_in_ink_and_in_their_own_colours() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "[experiment]\nname = \"p\"\nseeds = [0]\n[base]\nfamilies = [\"ocr\"]\n[grid]\n\
                encoders = [[\"clip\", \"pix2struct\"]]\n";
    let p = plan(&parse(Path::new("p.toml"), spec).unwrap(), Scale::Smoke);
    let store = Store::new(dir.path());
    run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    let metrics = |name: &str| {
        let (id, _) = p.stages.iter().find(|(_, s)| s.label.starts_with(&format!("expert-pretrain {name}"))).unwrap();
        store.read_meta(id).unwrap().unwrap().metrics
    };
    let p2s = metrics("pix2struct");
    for m in ["char_accuracy", "word_accuracy", "word_accuracy_coloured"] {
        assert!(p2s.get(m).is_some_and(|v| (0.0..=100.0).contains(v)), "{m}: {p2s:?}");
    }
    // clip trains on coloured words already: no second reading of them.
    assert!(!metrics("clip").contains_key("word_accuracy_coloured"));
}

#[test]
fn committed_results_without_checkpoints_are_recomputed_and_rewritten() {
    // A fresh clone has results/<experiment>/ (committed) but no results/artifacts/.
    let dir = tempfile::tempdir().unwrap();
    let spec = parse(Path::new("smoke.toml"), SMOKE).unwrap();
    let p = plan(&spec, Scale::Smoke);
    let store = Store::new(dir.path());
    let first = run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    std::fs::remove_dir_all(dir.path().join("artifacts")).unwrap();
    let path = store.cell_dir("smoke", &p.cells[0].id).join("result.json");
    let mut stale: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    stale["train_seconds"] = serde_json::json!(-1.0);
    std::fs::write(&path, stale.to_string()).unwrap();
    let again = run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    assert_eq!(again.computed.len(), p.stages.len(), "every stage recomputed");
    assert!(again.results[0].train_seconds > 0.0, "the stale result was rewritten");
    assert_eq!(again.results.len(), first.results.len());
}

#[test]
fn from_records_takes_committed_results_and_runs_only_the_new_cells() {
    // Sessions that accumulate an experiment: seeds 0.. were run and their records committed; a
    // fresh clone runs one more seed with `from_records` and does not recompute the committed cells.
    let dir = tempfile::tempdir().unwrap();
    let spec = parse(Path::new("smoke.toml"), SMOKE).unwrap();
    let p = plan(&spec, Scale::Smoke);
    let store = Store::new(dir.path());
    let first = run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    std::fs::remove_dir_all(dir.path().join("artifacts")).unwrap();
    let more = eyrie::spec::Spec { seeds: vec![0, 1], ..spec.clone() };
    let wider = plan(&more, Scale::Smoke);
    let new_cells: Vec<_> = wider.cells.iter().filter(|c| p.cells.iter().all(|o| o.id != c.id)).collect();
    assert!(!new_cells.is_empty());
    let again =
        run_plan::<AD>(&wider, &store, &Default::default(), &RunOptions { from_records: true, ..opts() }).unwrap();
    assert_eq!(again.from_records.len(), p.cells.len(), "every committed cell taken from its record");
    for old in &p.cells {
        let sft = &old.stages[old.stages.len() - 2];
        let shared_with_new = new_cells.iter().any(|c| c.stages.contains(sft));
        assert!(shared_with_new || !again.computed.contains(sft), "{} retrained", old.label);
        assert!(!again.computed.contains(&old.id), "{} evaluated again", old.label);
    }
    for c in &new_cells {
        assert!(again.computed.contains(&c.id), "new cell {} not run", c.label);
    }
    let kept: Vec<_> = again.results.iter().filter(|r| p.cells.iter().any(|c| c.id == r.cell)).cloned().collect();
    assert_eq!(kept, first.results, "records taken as they are");
    assert_eq!(again.results.len(), wider.cells.len());
}

fn slow_spec(dir: &Path) -> PathBuf {
    // Long enough SFT stages that a kill lands mid-stage.
    let text = SMOKE
        .replace("name = \"smoke\"", "name = \"slow\"")
        .replace("families = [\"vqa\", \"pope\"]", "families = [\"vqa\", \"pope\"]\nsft-steps = 400");
    let path = dir.join("slow.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_killed_mid_stage_resumes_with_nothing_lost_or_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let spec = slow_spec(dir.path());
    let results = dir.path().join("results");
    let mut child = eyrie()
        .args(["run", spec.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
        .arg(dir.path().join("reports"))
        .spawn()
        .unwrap();
    // Wait until an SFT stage is being computed (its claim exists) after some stages are done.
    let t0 = Instant::now();
    loop {
        let claims = std::fs::read_dir(results.join("artifacts"))
            .map(|rd| rd.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "claim")).count())
            .unwrap_or(0);
        if claims > 0 && done_stages(&results).len() >= 3 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "run never reached an SFT stage");
        assert!(child.try_wait().unwrap().is_none(), "run finished before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = done_stages(&results);
    assert!(!before.is_empty());
    // The killed run is on record as unfinished, and `status` shows the cells still to do.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("slow/run.json")).unwrap()).unwrap();
    assert_eq!(run["unfinished"], true, "{run}");
    let status =
        eyrie().args(["status", spec.to_str().unwrap(), "--results", results.to_str().unwrap()]).output().unwrap();
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(status.contains("pending") && status.contains(" of 4 cells"), "{status}");
    let out = eyrie()
        .args(["run", spec.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = done_stages(&results);
    for (id, meta) in &before {
        let again = after.iter().find(|(i, _)| i == id).map(|(_, m)| m);
        assert_eq!(again, Some(meta), "stage {id} was recomputed or lost after the resume");
    }
    let spec_v = eyrie::spec::load(&spec).unwrap();
    let p = plan(&spec_v, Scale::Smoke);
    assert_eq!(after.len(), p.stages.len(), "every stage done exactly once");
    for c in &p.cells {
        assert!(results.join("slow/cells").join(&c.id).join("result.json").exists(), "cell {} missing", c.label);
    }
    let cells = std::fs::read_dir(results.join("slow/cells")).unwrap().count();
    assert_eq!(cells, p.cells.len(), "no duplicate or stray cells");
    let leftover: Vec<_> = std::fs::read_dir(results.join("artifacts"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "claim"))
        .collect();
    assert!(leftover.is_empty(), "claims left behind");
    // The resumed run recorded what produced the results, and the report cites it.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("slow/run.json")).unwrap()).unwrap();
    assert!(run["command"].as_str().unwrap().contains(" run "), "{run}");
    assert_eq!(run["backend"], "flex");
    assert!(run["stages_computed"].as_u64().unwrap() > 0 && run["wall_seconds"].as_f64().unwrap() > 0.0, "{run}");
    assert_eq!(run["unfinished"], false, "{run}");
    let report = std::fs::read_to_string(dir.path().join("reports/slow/report.md")).unwrap();
    assert!(report.contains("Produced by `") && report.contains("at commit `"), "{report}");
}

/// The pids owning live claims in `results` right now.
fn claim_owners(results: &Path) -> Vec<u32> {
    std::fs::read_dir(results.join("artifacts"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "claim"))
                .filter_map(|e| {
                    let owner: serde_json::Value =
                        serde_json::from_str(&std::fs::read_to_string(e.path()).ok()?).ok()?;
                    owner["pid"].as_u64().map(|p| p as u32)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn concurrent_runs_share_work_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let spec = slow_spec(dir.path());
    let results = dir.path().join("results");
    let spawn = || {
        eyrie()
            .args(["run", spec.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
            .arg(dir.path().join("reports"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The second run starts while the first is computing a stage, and both are seen computing
    // stages at the same moment (each holding a claim): the runs really overlapped.
    let mut a = spawn();
    let t0 = Instant::now();
    while !claim_owners(&results).contains(&a.id()) {
        assert!(a.try_wait().unwrap().is_none(), "the first run ended before it claimed a stage");
        assert!(t0.elapsed() < Duration::from_secs(120), "the first run never claimed a stage");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut b = spawn();
    let mut overlapped = false;
    while !overlapped && a.try_wait().unwrap().is_none() && b.try_wait().unwrap().is_none() {
        let owners = claim_owners(&results);
        overlapped = owners.contains(&a.id()) && owners.contains(&b.id());
        assert!(t0.elapsed() < Duration::from_secs(300), "runs did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert!(overlapped, "the two runs never computed stages at the same time");
    let computed = |o: &std::process::Output| {
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let line = text
            .lines()
            .find(|l| l.contains("stages computed"))
            .unwrap_or_else(|| panic!("no summary in {text}"))
            .to_string();
        line.split_whitespace().next().unwrap().parse::<usize>().unwrap()
    };
    let p = plan(&eyrie::spec::load(&spec).unwrap(), Scale::Smoke);
    let (by_a, by_b) = (computed(&a), computed(&b));
    assert!(by_a > 0 && by_b > 0, "both runs computed stages: {by_a} and {by_b}");
    assert_eq!(by_a + by_b, p.stages.len(), "each stage computed by exactly one process");
    assert_eq!(done_stages(&results).len(), p.stages.len());
}

#[test]
fn bad_spec_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[experiment]\nname = \"bad\"\n[grid]\nencoders = [[\"clip\", \"sigclip\"]]\n").unwrap();
    let out = eyrie().args(["plan", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:4:")
            && err.contains("grid.encoders[0][1]")
            && err.contains("known encoders: clip, convnext"),
        "{err}"
    );
}

#[test]
fn plan_reports_cached_stages_after_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("r");
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/smoke.toml");
    let plan_text = |r: &Path| {
        String::from_utf8(
            eyrie().args(["plan", spec.to_str().unwrap(), "--results", r.to_str().unwrap()]).output().unwrap().stdout,
        )
        .unwrap()
    };
    let before = plan_text(&results);
    let stage_lines = |t: &str, end: &str| t.lines().filter(|l| l.ends_with(end)).count();
    assert!(stage_lines(&before, "to run") == 14 && stage_lines(&before, "cached") == 0, "{before}");
    let ok = eyrie()
        .args(["run", spec.to_str().unwrap(), "--quiet", "--results", results.to_str().unwrap(), "--reports"])
        .arg(dir.path().join("rep"))
        .status()
        .unwrap();
    assert!(ok.success());
    let after = plan_text(&results);
    assert!(
        stage_lines(&after, "cached") == 14 && stage_lines(&after, "to run") == 0 && after.contains("[done]"),
        "{after}"
    );
    assert!(results.join("smoke/results.csv").exists() && results.join("smoke/results.parquet").exists());
    let csv = std::fs::read_to_string(results.join("smoke/results.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "cell",
        "label",
        "seed",
        "vqa",
        "count",
        "ocr",
        "chart",
        "doc",
        "pope",
        "average",
        "visual_tokens",
        "params_total",
        "params_trainable",
        "train_seconds",
    ] {
        assert!(header.split(',').any(|h| h == col), "column {col} missing from {header}");
    }
    assert!(csv.lines().any(|l| l.contains(",blind,")));
    // Reports come from the stored results alone, with every table and plot, byte-identical when
    // regenerated.
    let report_into = |out: &Path| {
        let o = eyrie()
            .args([
                "report",
                spec.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (a, b) = (dir.path().join("ra"), dir.path().join("rb"));
    report_into(&a);
    report_into(&b);
    let files: Vec<String> = {
        let mut f: Vec<String> = std::fs::read_dir(a.join("smoke"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        f.sort();
        f
    };
    for want in [
        "report.md",
        "table.md",
        "table.tex",
        "results.csv",
        "results.parquet",
        "scores.png",
        "scores.svg",
        "score-vs-cost.png",
        "loss-sft.png",
    ] {
        assert!(files.iter().any(|f| f == want), "{want} missing from {files:?}");
    }
    for f in &files {
        assert_eq!(
            std::fs::read(a.join("smoke").join(f)).unwrap(),
            std::fs::read(b.join("smoke").join(f)).unwrap(),
            "{f} differs between two regenerations"
        );
    }
    let md = std::fs::read_to_string(a.join("smoke/report.md")).unwrap();
    assert!(md.contains("![Scores per cell and family](scores.png)") && md.contains("## What ran"), "{md}");
    let status = String::from_utf8(
        eyrie()
            .args(["status", spec.to_str().unwrap(), "--results", results.to_str().unwrap()])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(status.contains("4 done, 0 running, 0 failed, 0 pending of 4 cells"), "{status}");
}

#[test]
fn backend_not_compiled_in_is_a_clear_error() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/smoke.toml");
    let dir = tempfile::tempdir().unwrap();
    // A backend this build lacks (features differ between builds): exit 3, naming it.
    let compiled = eyrie::backend::compiled();
    match eyrie::spec::BackendKind::ALL.iter().find(|b| !compiled.contains(b)) {
        Some(missing) => {
            let out = eyrie()
                .args(["run", spec.to_str().unwrap(), "--backend", missing.as_str(), "--results"])
                .arg(dir.path())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{err}");
            let says = format!("backend `{missing}` is not compiled into this binary");
            assert!(err.contains(&says) && !err.contains("panicked"), "{err}");
        }
        None => eprintln!("every backend is compiled in: no missing backend to ask for"),
    }
    // A backend that does not exist: a bad argument, exit 2, listing the known ones.
    let out = eyrie().args(["run", spec.to_str().unwrap(), "--backend", "tpu"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tpu") && err.contains("known: flex, ndarray, wgpu, cuda, cuda-unfused"), "{err}");
}

#[test]
fn data_preview_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ocr.png");
    let status = eyrie()
        .args(["data", "preview", "--family", "ocr", "--resolution", "64", "--count", "4", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let img = image::open(&out).unwrap();
    assert_eq!(img.width(), 4 * (200 + 16));
    let bad = eyrie().args(["data", "preview", "--family", "maths"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn every_expert_trains_alone_and_in_a_set_with_both_fusions() {
    // Each expert alone (channel concat), each beside clip with both fusions, and all five together,
    // with one expert unlocked and the others frozen, through every stage at the smoke scale.
    let spec = r#"
[experiment]
name = "zoo"
scale = "smoke"
blind-baseline = false

[base]
families = ["vqa", "ocr"]
sft-steps = 4

[grid]
encoders = [
    ["sam"], ["pix2struct"], ["eva02"], ["convnext"],
    ["clip", "sam"], ["clip", "pix2struct"], ["clip", "eva02"],
    ["clip", "convnext", "sam", "pix2struct", "eva02"],
]
fusion = ["channel-concat", "sequence-append"]

[base.unlock]
clip = false
sam = true
pix2struct = true
eva02 = true
convnext = true

[[exclude]]
encoders = ["sam"]
fusion = "sequence-append"
[[exclude]]
encoders = ["pix2struct"]
fusion = "sequence-append"
[[exclude]]
encoders = ["eva02"]
fusion = "sequence-append"
[[exclude]]
encoders = ["convnext"]
fusion = "sequence-append"
"#;
    let dir = tempfile::tempdir().unwrap();
    let spec = parse(Path::new("zoo.toml"), spec).unwrap();
    assert_eq!(spec.cells.len(), 4 + 4 * 2);
    let p = plan(&spec, Scale::Smoke);
    let store = Store::new(dir.path());
    let summary = run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    assert_eq!(summary.results.len(), p.cells.len());
    for (cell, r) in p.cells.iter().zip(&summary.results) {
        let settings = cell.settings.as_ref().unwrap();
        assert_eq!(r.experts.len(), settings.encoders.len(), "{}", r.label);
        assert!(r.scores.families.iter().all(|f| f.n > 0), "{}", r.label);
        // The frozen clip does not count as trainable; every other expert does.
        assert!(
            r.params_trainable < r.params_total || !settings.encoders.contains(&eyrie::spec::ExpertKind::Clip),
            "{}",
            r.label
        );
    }
    // Every expert's pretraining stage ran once and recorded its own task metric.
    for kind in eyrie::spec::ExpertKind::ALL {
        let meta = store.read_meta(&eyrie::plan::expert_stage_id(*kind, Scale::Smoke)).unwrap().unwrap();
        let metric = kind.pretrain_task().metric();
        assert!(
            meta.metrics.contains_key(metric) && meta.metrics.contains_key(&format!("{metric}_untrained")),
            "{kind}: {:?}",
            meta.metrics
        );
    }
}

#[test]
fn every_fusion_trains_with_every_valid_expert_mix() {
    // Every strategy over a ViT + conv pair, a ViT + ViT pair, three experts, and (where the strategy
    // allows it) a conv query expert and a tiled expert, through every stage at the smoke scale.
    let fusions: Vec<&str> = eyrie::spec::FusionKind::ALL.iter().map(|f| f.as_str()).collect();
    let spec = format!(
        r#"
[experiment]
name = "fusions"
scale = "smoke"
blind-baseline = false

[base]
families = ["vqa"]
sft-steps = 3
unlock = {{ clip = true }}

[grid]
encoders = [["clip", "convnext"], ["clip", "sam"], ["clip", "eva02", "pix2struct"], ["convnext", "clip"]]
fusion = {fusions:?}

[[exclude]]
encoders = ["convnext", "clip"]
fusion = "llava-hr"
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = parse(Path::new("fusions.toml"), &spec).unwrap();
    assert_eq!(spec.cells.len(), 4 * fusions.len() - 1);
    let p = plan(&spec, Scale::Smoke);
    let summary = run_plan::<AD>(&p, &Store::new(dir.path()), &Default::default(), &opts()).unwrap();
    assert_eq!(summary.results.len(), p.cells.len());
    for r in &summary.results {
        assert!(r.scores.families.iter().all(|f| f.n > 0), "{}", r.label);
        assert!(r.visual_tokens > 0, "{}", r.label);
    }
}

#[test]
fn pre_aligned_cells_train_their_non_text_aligned_experts_first() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[experiment]\nname = \"pa\"\nscale = \"smoke\"\n[base]\nencoders = [\"clip\", \"sam\"]\nfamilies = \
        [\"vqa\", \"pope\"]\n[grid]\npre-align = [false, true]\n";
    let spec = parse(Path::new("pa.toml"), text).unwrap();
    let p = plan(&spec, Scale::Smoke);
    let store = Store::new(dir.path());
    let run = run_plan::<AD>(&p, &store, &Default::default(), &opts()).unwrap();
    assert_eq!(run.results.len(), p.cells.len());
    let pre: Vec<_> = p.stages.values().filter(|s| matches!(s.kind, eyrie::plan::StageKind::PreAlign { .. })).collect();
    assert_eq!(pre.len(), 1, "sam alone is pre-aligned: {:?}", pre.iter().map(|s| &s.label).collect::<Vec<_>>());
    // The pre-aligned sam computes something else than the pretrained one: its weights trained.
    let eyrie::plan::StageKind::PreAlign { model, .. } = &pre[0].kind else { unreachable!() };
    let cfg = &model.experts[0].0;
    let device = Default::default();
    let image = burn::tensor::Tensor::<Flex, 4>::ones([1, 3, cfg.native_resolution, cfg.native_resolution], &device);
    let features = |id: &str| {
        let expert = eyrie::store::checkpoint::load(cfg.init::<Flex>(&device), &store.checkpoint(id)).unwrap();
        expert.forward(image.clone()).into_data().to_vec::<f32>().unwrap()
    };
    let (before, after) = (features(&pre[0].inputs[0]), features(&pre[0].id));
    let moved = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(moved > 1e-4, "pre-alignment left sam unchanged (max feature change {moved})");
    assert!(run.results.iter().any(|r| r.label.contains("/pre-aligned")));
}

#[test]
fn every_committed_experiment_file_parses_and_plans() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    for f in &files {
        let spec = eyrie::spec::load(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let p = plan(&spec, spec.scale);
        assert!(!p.cells.is_empty() && !p.stages.is_empty(), "{}", f.display());
        if let Some(g) = &spec.greedy {
            assert!(g.worst_case_sets() > 1, "{}", f.display());
        }
    }
}
