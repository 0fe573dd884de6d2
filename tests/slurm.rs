//! The Slurm executor on a real (one-node) cluster, `scripts/slurm-up.sh`: a grid as a job array and
//! a two-round greedy search as dependent jobs equal local runs, and an array task killed mid-stage
//! is completed by a resubmission that recomputes nothing done. Skipped, saying why, where no cluster
//! answers, unless `EYRIE_REQUIRE_SLURM=1` (CI), where that is a failure.

mod common;

use common::{done_stages, eyrie};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Whether a Slurm cluster with an idle or busy node answers here.
fn cluster_up() -> bool {
    let why = match Command::new("sinfo").args(["-h", "-o", "%T"]).output() {
        Err(e) => format!("no sinfo ({e})"),
        Ok(o) if !o.status.success() => format!("sinfo failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
        Ok(o) => {
            let states = String::from_utf8_lossy(&o.stdout).to_string();
            if states.lines().any(|s| ["idle", "mixed", "allocated", "completing"].contains(&s.trim())) {
                return true;
            }
            format!("no node is up (sinfo: {:?})", states.trim())
        }
    };
    if std::env::var("EYRIE_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
        panic!("EYRIE_REQUIRE_SLURM=1 but the Slurm cluster is not usable: {why} (scripts/slurm-up.sh starts one)");
    }
    eprintln!("skipped: {why}; scripts/slurm-up.sh starts a one-node cluster");
    false
}

/// A scratch folder with the experiment file `name.toml`.
struct Scratch {
    dir: tempfile::TempDir,
    spec: PathBuf,
}

impl Scratch {
    fn new(name: &str, text: &str) -> Self {
        // Under the package (not /tmp): the Slurm jobs must reach it as the test does.
        let dir = tempfile::Builder::new().prefix("slurm-test-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let spec = dir.path().join(format!("{name}.toml"));
        std::fs::write(&spec, text).unwrap();
        // The jobs run the binary that submitted them: a copy of its own, which a rebuild of the
        // shared target folder while the jobs wait cannot replace.
        std::fs::copy(eyrie().get_program(), dir.path().join("eyrie")).unwrap();
        Scratch { dir, spec }
    }

    fn binary(&self) -> Command {
        Command::new(self.dir.path().join("eyrie"))
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `eyrie <args> FILE --results <results> --reports <results>-reports` in the scratch folder.
    fn eyrie(&self, args: &[&str], results: &str) -> Command {
        let mut c = self.binary();
        c.current_dir(self.dir.path()).args(args).arg(&self.spec).args([
            "--results",
            results,
            "--reports",
            &format!("{results}-reports"),
        ]);
        c
    }

    fn run(&self, args: &[&str], results: &str) -> Output {
        let out = self.eyrie(args, results).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("$ eyrie {} … --results {results}\n{text}", args.join(" "));
        out
    }

    fn status(&self, results: &str) -> String {
        let out = self
            .binary()
            .current_dir(self.dir.path())
            .arg("status")
            .arg(&self.spec)
            .args(["--results", results])
            .output()
            .unwrap();
        assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Every done stage's metadata without its timings: what the stage computed (losses, metrics, the
/// hashes of its outputs), by stage id.
fn stages_without_timings(results: &Path) -> Vec<(String, serde_json::Value)> {
    done_stages(results)
        .into_iter()
        .map(|(id, meta)| {
            let mut v: serde_json::Value = serde_json::from_str(&meta).unwrap();
            for k in ["seconds", "samples_per_second"] {
                v.as_object_mut().unwrap().remove(k);
            }
            // The training log holds each step's time.
            v["files"].as_object_mut().unwrap().remove("log.jsonl");
            (id, v)
        })
        .collect()
}

/// Every cell's result without its timings, by cell folder.
fn cells_without_timings(results: &Path, experiment: &str) -> Vec<(String, serde_json::Value)> {
    let mut v: Vec<_> = std::fs::read_dir(results.join(experiment).join("cells"))
        .map(|rd| rd.map(|e| e.unwrap().path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.join("result.json").exists())
        .map(|p| {
            let mut r = json(&p.join("result.json"));
            for k in ["train_seconds", "sft_samples_per_second", "stage_seconds", "commit"] {
                r.as_object_mut().unwrap().remove(k);
            }
            (p.file_name().unwrap().to_string_lossy().to_string(), r)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The submission folders of an experiment, oldest first.
fn submissions(results: &Path, experiment: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(results.join(experiment).join("slurm"))
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Stages computed by the array tasks of a submission, from their logs ("N stages computed").
fn computed_by_tasks(submission: &Path) -> usize {
    std::fs::read_dir(submission.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("task-"))
        .map(|p| {
            let log = std::fs::read_to_string(&p).unwrap();
            log.lines()
                .filter_map(|l| l.split_once("; ").and_then(|(_, r)| r.split_once(" stages computed")))
                .map(|(n, _)| n.parse::<usize>().unwrap())
                .sum::<usize>()
        })
        .sum()
}

const GRID: &str = r#"
[experiment]
name = "sgrid"
scale = "smoke"
seeds = [0]
[base]
families = ["vqa", "pope"]
[grid]
encoders = [["clip"], ["clip", "convnext"]]
fusion = ["channel-concat", "sequence-append"]
[[exclude]]
encoders = ["clip"]
fusion = "sequence-append"
"#;

#[test]
fn a_grid_on_slurm_equals_the_local_run_and_computes_each_stage_once() {
    if !cluster_up() {
        return;
    }
    let s = Scratch::new("sgrid", GRID);
    let local = s.run(&["run", "--quiet", "--workers", "2"], "local");
    assert!(local.status.success());
    let t0 = Instant::now();
    let out = s.run(&["run", "--executor", "slurm", "--wait", "--quiet"], "slurm");
    assert!(out.status.success(), "{}", text(&out));
    eprintln!("slurm grid: {:.1} s", t0.elapsed().as_secs_f64());
    assert!(text(&out).contains("submitted sgrid (cells): array job"), "{}", text(&out));

    let (l, r) = (s.path("local"), s.path("slurm"));
    let cells = cells_without_timings(&l, "sgrid");
    assert_eq!(cells.len(), 4, "3 cells and the blind baseline");
    assert_eq!(cells_without_timings(&r, "sgrid"), cells, "the same cells with the same scores");
    let stages = stages_without_timings(&l);
    assert_eq!(stages_without_timings(&r), stages, "the same stages with the same losses, metrics and outputs");

    // The submission folder: the scripts, the tasks, one log per task; shared stages computed once.
    let subs = submissions(&r, "sgrid");
    assert_eq!(subs.len(), 1);
    let sub = &subs[0];
    for f in ["submission.json", "plan.json", "tasks.json", "spec.toml", "array.sbatch", "driver.sbatch"] {
        assert!(sub.join(f).is_file(), "{f} in {}", sub.display());
    }
    assert_eq!(json(&sub.join("tasks.json")).as_array().unwrap().len(), 4);
    let script = std::fs::read_to_string(sub.join("array.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3\n") && script.contains("slurm-task"), "{script}");
    assert_eq!(computed_by_tasks(sub), stages.len(), "every stage computed by exactly one task");
    assert!(s.path("slurm-reports/sgrid/report.md").exists(), "the driver wrote the report");

    let status = s.status("slurm");
    assert_eq!(status.matches(": done\n").count(), 4, "{status}");
    assert!(status.contains("driver: completed"), "{status}");

    // Everything done: a second submission submits nothing.
    let again = s.run(&["run", "--executor", "slurm"], "slurm");
    assert!(again.status.success() && text(&again).contains("nothing to submit"), "{}", text(&again));
    assert_eq!(submissions(&r, "sgrid").len(), 1);
}

const GREEDY: &str = r#"
[experiment]
name = "sgreedy"
scale = "smoke"
search = "greedy"
seeds = [0, 1]
[base]
families = ["vqa"]
[greedy]
start = ["clip"]
candidates = ["convnext", "sam"]
max-rounds = 1
min-gain = -100.0
"#;

#[test]
fn a_two_round_greedy_search_on_slurm_equals_the_local_search() {
    if !cluster_up() {
        return;
    }
    let s = Scratch::new("sgreedy", GREEDY);
    let local = s.run(&["run", "--quiet", "--workers", "2"], "local");
    assert!(local.status.success());
    let t0 = Instant::now();
    let out = s.run(&["run", "--executor", "slurm", "--wait", "--quiet"], "slurm");
    assert!(out.status.success(), "{}", text(&out));
    eprintln!("slurm greedy: {:.1} s", t0.elapsed().as_secs_f64());
    let (l, r) = (s.path("local"), s.path("slurm"));
    let outcome = json(&l.join("sgreedy/greedy.json"));
    assert_eq!(json(&r.join("sgreedy/greedy.json")), outcome, "the same rounds, scores and choice");
    assert_eq!(cells_without_timings(&r, "sgreedy"), cells_without_timings(&l, "sgreedy"));
    assert_eq!(stages_without_timings(&r), stages_without_timings(&l));
    // Round 0 submitted by `eyrie run`, round 1 by round 0's driver job.
    let subs = submissions(&r, "sgreedy");
    let names: Vec<String> = subs.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].ends_with("-round-0") && names[1].ends_with("-round-1"), "{names:?}");
    let driver0 = std::fs::read_to_string(subs[0].join("logs/driver.out")).unwrap();
    assert!(driver0.contains("round 0 judged; submitted"), "{driver0}");
    let driver1 = std::fs::read_to_string(subs[1].join("logs/driver.out")).unwrap();
    assert!(driver1.contains("chosen: "), "{driver1}");
    assert!(s.path("slurm-reports/sgreedy/report.md").exists());
}

const LONG: &str = r#"
[experiment]
name = "skill"
scale = "smoke"
seeds = [0]
blind-baseline = false
[base]
families = ["vqa"]
sft-steps = 1500
[grid]
encoders = [["clip"], ["convnext"]]
"#;

#[test]
fn an_array_task_killed_mid_stage_is_completed_by_a_resubmission() {
    if !cluster_up() {
        return;
    }
    let s = Scratch::new("skill", LONG);
    let r = s.path("slurm");
    let mut child = s.eyrie(&["run", "--executor", "slurm", "--wait", "--quiet"], "slurm").spawn().unwrap();
    // Kill the process of an array task while it computes an SFT stage (its claim names it).
    let t0 = Instant::now();
    let killed = loop {
        assert!(t0.elapsed() < Duration::from_secs(240), "no SFT stage was ever claimed");
        let plan = r.join("skill/plan.json");
        let claims: Vec<PathBuf> = std::fs::read_dir(r.join("artifacts"))
            .map(|rd| rd.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "claim")).collect())
            .unwrap_or_default();
        let sft = |claim: &Path| {
            let id = claim.file_stem().unwrap().to_string_lossy().to_string();
            plan.exists() && json(&plan)["stages"][&id]["label"].as_str().is_some_and(|l| l.starts_with("sft"))
        };
        let owner = claims
            .iter()
            .filter(|c| sft(c))
            .find_map(|c| {
                std::fs::read_to_string(c).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            })
            .and_then(|o| o["pid"].as_u64());
        if let Some(pid) = owner {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "eyrie" && Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success()
            {
                break pid;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("killed array task process {killed}");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the grid cannot be complete with a task killed");
    let before = done_stages(&r);
    let cells_before = cells_without_timings(&r, "skill").len();
    assert!(cells_before < 2, "the killed task's cell has no result");
    let st = s.status("slurm");
    assert!(st.contains("failed: "), "Slurm's view of the killed task: {st}");

    let out = s.run(&["run", "--executor", "slurm", "--wait", "--quiet"], "slurm");
    assert!(out.status.success(), "{}", text(&out));
    let subs = submissions(&r, "skill");
    assert_eq!(subs.len(), 2);
    assert_eq!(
        json(&subs[1].join("tasks.json")).as_array().unwrap().len(),
        2 - cells_before,
        "only the cells without a result are submitted again"
    );
    let after = done_stages(&r);
    for (id, meta) in &before {
        let again = after.iter().find(|(i, _)| i == id).map(|(_, m)| m);
        assert_eq!(again, Some(meta), "stage {id} was recomputed or lost by the resubmission");
    }
    assert_eq!(cells_without_timings(&r, "skill").len(), 2, "every cell done");
    let leftover: Vec<_> = std::fs::read_dir(r.join("artifacts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "claim"))
        .collect();
    assert!(leftover.is_empty(), "claims left behind: {leftover:?}");
}
