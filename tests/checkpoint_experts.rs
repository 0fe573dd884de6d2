//! Checkpoint-backed experts (`[experts.<family>] checkpoint = "DIR"`): the map an expert hands the
//! fusion is the reference model's output, the stage ids follow the folder's content, a folder that
//! cannot serve is refused when the file is read, and a grid of the five families runs end to end.

#[allow(dead_code)]
mod common;

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::DType;
use eyrie::checkpoint::encoder::CheckpointEncoder;
use eyrie::checkpoint::expert::{ExpertCheckpoint, Normalisation};
use eyrie::checkpoint::forward::read_named;
use eyrie::checkpoint::Architecture;
use eyrie::data::pool::{PIXEL_MEAN, PIXEL_STD};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoints").join(name)
}

/// The fixture's reference input in Eyrie's pixel normalisation, and its reference output.
fn reference(name: &str, input: &str, output: &str, ck: &ExpertCheckpoint) -> (Tensor<Flex, 4>, Tensor<Flex, 3>) {
    let device = Default::default();
    let inputs = read_named(&fixture(name).join("inputs.safetensors")).unwrap();
    let expected = read_named(&fixture(name).join("expected.safetensors")).unwrap();
    let x = Tensor::<Flex, 4>::from_data(inputs[input].clone().convert_dtype(DType::F32), &device);
    let Normalisation::PerChannel { mean, std } = ck.normalisation else { panic!("per-channel expected") };
    let m = Tensor::<Flex, 1>::from_floats(mean, &device).reshape([1, 3, 1, 1]);
    let s = Tensor::<Flex, 1>::from_floats(std, &device).reshape([1, 3, 1, 1]);
    // The reference input is already normalised the checkpoint's way: undo that, then apply Eyrie's.
    let eyrie = ((x * s + m) - PIXEL_MEAN) / PIXEL_STD;
    (eyrie, Tensor::from_data(expected[output].clone(), &device))
}

/// The expert's map `[b, d, g, g]` against the reference tokens `[b, skip + g·g, d]`.
fn assert_map_is_tokens(map: Tensor<Flex, 4>, tokens: Tensor<Flex, 3>, skip: usize) {
    let [b, n, d] = tokens.dims();
    let g = ((n - skip) as f64).sqrt() as usize;
    assert_eq!(map.dims(), [b, d, g, g]);
    let want = tokens.slice([0..b, skip..n, 0..d]).reshape([b, g, g, d]).permute([0, 3, 1, 2]);
    let scale = want.clone().abs().max().into_scalar();
    let worst = (map - want).abs().max().into_scalar();
    assert!(worst / scale < 1e-4, "relative error {:.2e}", worst / scale);
}

#[test]
fn a_clip_checkpoint_expert_hands_the_fusion_its_patch_tokens_as_a_map() {
    let ck = ExpertCheckpoint::open(&fixture("clip-vision"), Architecture::ClipVision, "clip").unwrap();
    let (x, tokens) = reference("clip-vision", "input.pixel_values", "output.last_hidden_state", &ck);
    let expert = CheckpointEncoder::<Flex>::load(&ck, &Default::default()).unwrap();
    assert_map_is_tokens(expert.forward(x), tokens, 1);
}

#[test]
fn an_eva02_checkpoint_expert_hands_the_fusion_its_patch_tokens_as_a_map() {
    let ck = ExpertCheckpoint::open(&fixture("eva02"), Architecture::Eva02, "eva02").unwrap();
    let (x, tokens) = reference("eva02", "input.x", "output.features", &ck);
    let expert = CheckpointEncoder::<Flex>::load(&ck, &Default::default()).unwrap();
    assert_map_is_tokens(expert.forward(x), tokens, 1);
}

#[test]
fn a_folder_of_another_family_is_refused_naming_both() {
    let err = ExpertCheckpoint::open(&fixture("convnext"), Architecture::ClipVision, "clip").unwrap_err().to_string();
    assert!(err.contains("ConvNextModel") && err.contains("CLIPVisionModel"), "{err}");
}

/// A copy of `name`'s folder (config and weights only).
fn copy(name: &str, to: &Path) -> PathBuf {
    let dir = to.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture(name).join(f), dir.join(f)).unwrap();
    }
    dir
}

fn spec(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("exp.toml");
    let text = format!(
        "[experiment]\nname = \"ck\"\nscale = \"smoke\"\nseeds = [0]\nblind-baseline = false\n\n\
         [experts.clip]\ncheckpoint = \"{}\"\n\n{body}",
        dir.join("clip-vision").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn plan_ids(spec: &Path) -> String {
    let out = common::eyrie().arg("plan").arg(spec).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_stage_ids_follow_the_checkpoints_content() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = copy("clip-vision", tmp.path());
    let exp = spec(tmp.path(), "[base]\nencoders = [\"clip\"]\nfamilies = [\"vqa\"]\n");
    let before = plan_ids(&exp);
    assert!(before.contains("expert-load clip@32"), "{before}");
    assert_eq!(plan_ids(&exp), before);
    // One weight changed by one bit: every stage that depends on the expert changes id.
    let weights = folder.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&weights, bytes).unwrap();
    let after = plan_ids(&exp);
    let id = |plan: &str, stage: &str| {
        plan.lines().find(|l| l.contains(stage)).and_then(|l| l.split_whitespace().next()).unwrap().to_string()
    };
    for stage in ["expert-load clip", "align clip", "sft clip", "eval clip"] {
        assert_ne!(id(&before, stage), id(&after, stage), "{stage}");
    }
    assert_eq!(id(&before, "lm-pretrain"), id(&after, "lm-pretrain"));
}

#[test]
fn a_side_a_fixed_size_checkpoint_cannot_take_is_refused_when_the_file_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    copy("clip-vision", tmp.path());
    let exp = spec(tmp.path(), "[base]\nencoders = [\"clip\"]\nresolution = 64\n");
    let out = common::eyrie().arg("plan").arg(&exp).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("takes only 32x32") && err.contains("clip"), "{err}");
    // Tiled at its native side, it can.
    let exp = spec(tmp.path(), "[base]\nencoders = [\"clip\"]\nresolution = 64\ntiling = \"tile\"\n");
    plan_ids(&exp);
}

#[test]
fn a_table_not_named_by_a_family_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    copy("clip-vision", tmp.path());
    let exp = spec(tmp.path(), "[experts.clip-l336]\nkind = \"clip\"\ncheckpoint = \"x\"\n");
    let out = common::eyrie().arg("plan").arg(&exp).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("clip-l336") && err.contains("pix2struct"), "{err}");
}

#[test]
fn a_grid_of_all_five_checkpoint_families_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["clip-vision", "convnext", "sam-vision", "pix2struct", "eva02"] {
        copy(name, tmp.path());
    }
    let others: String =
        [("convnext", "convnext"), ("sam", "sam-vision"), ("pix2struct", "pix2struct"), ("eva02", "eva02")]
            .iter()
            .map(|(family, dir)| format!("[experts.{family}]\ncheckpoint = \"{}\"\n\n", tmp.path().join(dir).display()))
            .collect();
    let body = format!(
        "{others}[base]\nfusion = \"channel-concat\"\nfamilies = [\"vqa\", \"count\"]\n\n[grid]\n\
         encoders = [[\"clip\"], [\"clip\", \"convnext\", \"sam\", \"pix2struct\", \"eva02\"]]\nunlock = [false, true]\n"
    );
    let exp = spec(tmp.path(), &body);
    let results = tmp.path().join("results");
    let out = common::eyrie().arg("run").arg(&exp).arg("--results").arg(&results).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = std::fs::read_to_string(results.join("reports/ck/report.md")).unwrap();
    assert!(report.contains("clip+convnext+sam+pix2struct+eva02/channel-concat/unlocked"), "{report}");
    let loads = common::done_stages(&results).iter().filter(|(_, meta)| meta.contains("expert-load")).count();
    assert_eq!(loads, 5);
}

#[test]
fn a_checkpoints_parameter_count_is_the_part_eyrie_loads() {
    // A full CLIPModel, sharded: its text tower and projections are in the files but not counted.
    for (name, architecture) in
        [("clip-full-sharded-f16", Architecture::ClipVision), ("sam-full", Architecture::SamVision)]
    {
        let ck = ExpertCheckpoint::open(&fixture(name), architecture, name).unwrap();
        let loaded = CheckpointEncoder::<Flex>::load(&ck, &Default::default()).unwrap();
        assert_eq!(ck.params, burn::module::Module::num_params(&loaded) as u64, "{name}");
    }
}

#[test]
fn plan_memory_lists_each_training_stage_and_the_largest() {
    let tmp = tempfile::tempdir().unwrap();
    copy("clip-vision", tmp.path());
    let exp = spec(tmp.path(), "[base]\nencoders = [\"clip\"]\nfamilies = [\"vqa\"]\nunlock = true\n");
    let out = common::eyrie().arg("plan").arg(&exp).arg("--memory").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("memory per stage")).collect();
    let load = table.iter().find(|l| l.contains("expert-load clip@32")).unwrap_or_else(|| panic!("{text}"));
    let ck = ExpertCheckpoint::open(&tmp.path().join("clip-vision"), Architecture::ClipVision, "clip").unwrap();
    assert!(load.split_whitespace().any(|w| w == ck.params.to_string()), "{load}");
    assert!(table.iter().any(|l| l.contains("sft clip") && l.contains("KiB")), "{text}");
    assert!(text.contains("the largest stage needs about"), "{text}");
}
