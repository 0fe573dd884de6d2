//! The command line: names parsed into their types (an unknown one exits 2 listing the known ones),
//! and a corrupt record reported, not taken for a missing one.

use std::path::Path;
use std::process::Command;

/// The `eyrie` binary under test.
fn eyrie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eyrie"))
}

fn smoke() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/smoke.toml")
}

/// Runs `eyrie args`, expects exit code 2, returns stderr.
fn bad(args: &[&str]) -> String {
    let out = eyrie().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    err
}

#[test]
fn unknown_names_exit_2_listing_the_known_ones() {
    let spec = smoke();
    let spec = spec.to_str().unwrap();
    let err = bad(&["plan", spec, "--scale", "nope"]);
    assert!(err.contains("--scale") && err.contains("nope") && err.contains("smoke, proxy, gpu"), "{err}");
    let err = bad(&["run", spec, "--precision", "f64"]);
    assert!(err.contains("--precision") && err.contains("f32, bf16, f16"), "{err}");
    let err = bad(&["experts", "--expert", "sigclip"]);
    assert!(err.contains("--expert") && err.contains("clip, convnext, sam, pix2struct, eva02"), "{err}");
    let err = bad(&["data", "preview", "--family", "maths"]);
    assert!(err.contains("--family") && err.contains("vqa, count, ocr, chart, doc, pope"), "{err}");
    let err = bad(&["bench", "--backend", "cuda:x"]);
    assert!(err.contains("--backend") && err.contains("bad device index in `cuda:x`"), "{err}");
    let err = bad(&["report", spec, "--format", "md,xlsx"]);
    assert!(err.contains("--format") && err.contains("md, csv, tex, parquet"), "{err}");
}

#[test]
fn help_lists_the_known_names() {
    let out = eyrie().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("smoke, proxy, gpu") && help.contains("f32, bf16, f16"), "{help}");
}

#[test]
fn a_corrupt_result_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = eyrie::spec::load(&smoke()).unwrap();
    let p = eyrie::plan::plan(&spec, spec.scale);
    let store = eyrie::store::Store::new(dir.path());
    let cell = store.cell_dir(&p.experiment, &p.cells[0].id);
    std::fs::create_dir_all(&cell).unwrap();
    std::fs::write(cell.join("result.json"), "{\"experiment\": ").unwrap();
    let out = eyrie()
        .args(["status", smoke().to_str().unwrap(), "--results", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&cell.join("result.json").display().to_string()), "{err}");
}

/// A results folder with the smoke experiment run once (shared; tests copy it before changing it).
fn smoke_results() -> &'static Path {
    static RUN: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> = std::sync::OnceLock::new();
    &RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = eyrie().current_dir(dir.path()).args(["run", smoke().to_str().unwrap(), "-q"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let results = dir.path().join("results");
        (dir, results)
    })
    .1
}

/// A private copy of the smoke results in a fresh folder: (the folder, its results folder).
fn copy_of_smoke_results() -> (tempfile::TempDir, std::path::PathBuf) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    copy(smoke_results(), &results);
    (dir, results)
}

/// Runs `eyrie args` in `cwd`: (exit code, stdout, stderr).
fn in_dir(cwd: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = eyrie().current_dir(cwd).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_run_with_its_own_results_folder_writes_its_report_beside_them_not_into_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = in_dir(dir.path(), &["run", smoke().to_str().unwrap(), "-q", "--results", "elsewhere"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("elsewhere/reports/smoke/report.md").exists());
    assert!(!dir.path().join("reports").exists(), "a run with --results wrote into ./reports");
    // `eyrie report` follows the same rule; --reports still wins.
    let (code, out, err) = in_dir(dir.path(), &["report", smoke().to_str().unwrap(), "--results", "elsewhere"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("elsewhere/reports/smoke/report.md"), "{out}");
    let (code, _, err) =
        in_dir(dir.path(), &["report", smoke().to_str().unwrap(), "--results", "elsewhere", "--reports", "mine"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("mine/smoke/report.md").exists());
    assert!(!dir.path().join("reports").exists());
}

#[test]
fn the_default_results_folder_keeps_its_reports_in_reports() {
    let (dir, _) = copy_of_smoke_results();
    let (code, out, err) = in_dir(dir.path(), &["report", smoke().to_str().unwrap(), "--format", "md", "--plots", ""]);
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("reports/smoke/report.md").exists(), "{out}");
    assert!(!dir.path().join("results/reports").exists());
}

#[test]
fn a_truncated_result_is_named_in_the_report_and_on_stderr_and_status_fails_naming_it() {
    let (dir, results) = copy_of_smoke_results();
    let spec = eyrie::spec::load(&smoke()).unwrap();
    let p = eyrie::plan::plan(&spec, spec.scale);
    let file = eyrie::store::Store::new(&results).cell_dir("smoke", &p.cells[1].id).join("result.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, &text[..text.len() / 2]).unwrap();
    let shown = file.strip_prefix(dir.path()).unwrap().display().to_string();
    let (code, _, err) = in_dir(dir.path(), &["report", smoke().to_str().unwrap(), "--plots", ""]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning") && err.contains(&shown) && err.contains("eyrie run"), "{err}");
    let report = std::fs::read_to_string(dir.path().join("reports/smoke/report.md")).unwrap();
    assert!(report.contains("**Warning: the stored result of 1 cell is corrupt"), "{report}");
    assert!(report.contains(&shown) && report.contains(&p.cells[1].label), "{report}");
    assert!(report.contains(&format!("{} of {} cells done", p.cells.len() - 1, p.cells.len())), "{report}");
    let (code, _, err) = in_dir(dir.path(), &["status", smoke().to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&shown) && err.contains("hint: rerun `eyrie run"), "{err}");
}

#[test]
fn a_garbage_record_is_an_error_naming_it_with_a_way_out() {
    for (name, hint) in [("plan.json", "writes it anew"), ("run.json", "move it aside"), ("greedy.json", "replays")] {
        let (dir, results) = copy_of_smoke_results();
        let file = results.join("smoke").join(name);
        std::fs::write(&file, "garbage").unwrap();
        let commands: &[&str] = if name == "run.json" { &["report"] } else { &["report", "status"] };
        for command in commands {
            let (code, _, err) = in_dir(dir.path(), &[command, smoke().to_str().unwrap()]);
            assert_eq!(code, Some(1), "{command} with a garbage {name}: {err}");
            assert!(err.contains(&format!("results/smoke/{name}")), "{command}, {name}: {err}");
            assert!(err.contains("hint: ") && err.contains(hint), "{command}, {name}: {err}");
        }
    }
}

#[test]
fn a_run_stopped_after_its_last_stage_reads_as_finished_and_a_cached_rerun_closes_its_record() {
    let (dir, results) = copy_of_smoke_results();
    let record = results.join("smoke/run.json");
    let mut run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    run["unfinished"] = true.into();
    let spec = smoke();
    // A record of another plan (another scale, other cells) is not taken for this plan's run.
    let mut other = run.clone();
    other["plan"] = "0123456789abcdef".into();
    std::fs::write(&record, other.to_string()).unwrap();
    let (code, _, err) = in_dir(dir.path(), &["report", spec.to_str().unwrap(), "--plots", ""]);
    assert_eq!(code, Some(0), "{err}");
    let report = std::fs::read_to_string(dir.path().join("reports/smoke/report.md")).unwrap();
    assert!(report.contains("did not finish"), "{report}");
    std::fs::write(&record, run.to_string()).unwrap();
    let (code, _, err) = in_dir(dir.path(), &["report", spec.to_str().unwrap(), "--plots", ""]);
    assert_eq!(code, Some(0), "{err}");
    let report = std::fs::read_to_string(dir.path().join("reports/smoke/report.md")).unwrap();
    assert!(report.contains("it finished") && report.contains("its record was not closed"), "{report}");
    assert!(!report.contains("did not finish"), "{report}");
    let (code, _, err) = in_dir(dir.path(), &["run", spec.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("closed "), "{err}");
    let closed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(closed["unfinished"], false);
    assert_eq!(closed["command"], run["command"], "the record still says what produced the results");
    assert!(closed["closed_by"].as_str().is_some_and(|c| c.contains(" run ")), "{closed}");
}

#[test]
fn a_results_folder_that_cannot_be_created_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain"), "x").unwrap();
    let (code, _, err) = in_dir(dir.path(), &["run", smoke().to_str().unwrap(), "-q", "--results", "plain/results"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.matches("plain/results").count(), 1, "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn report_all_skips_an_experiment_whose_run_started_but_has_no_result_yet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("experiments")).unwrap();
    std::fs::copy(smoke(), dir.path().join("experiments/smoke.toml")).unwrap();
    let spec = eyrie::spec::load(&smoke()).unwrap();
    let p = eyrie::plan::plan(&spec, spec.scale);
    let exp = dir.path().join("results").join(&p.experiment);
    std::fs::create_dir_all(&exp).unwrap();
    std::fs::write(exp.join("plan.json"), serde_json::to_string(&p).unwrap()).unwrap();
    let (code, _, err) = in_dir(dir.path(), &["report", "--all"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("`smoke` has no results yet"), "{err}");
    // Naming the file still says there is nothing to report.
    let (code, _, err) = in_dir(dir.path(), &["report", "experiments/smoke.toml"]);
    assert_ne!(code, Some(0), "{err}");
}
