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
