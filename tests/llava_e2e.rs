//! A real-model experiment end to end on committed tiny fixtures: a CLIP checkpoint expert, a Llama
//! checkpoint LM with its own tokenizer and chat template, and LLaVA-format data (proxy scenes saved
//! as PNG with their conversations, made by `eyrie data export-llava`): align → SFT → eval → report.

mod common;

use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn experiment(dir: &Path, lm: &Path, extra: &str) -> PathBuf {
    let data = fixture("llava/data");
    let text = format!(
        "[experiment]\nname = \"llava\"\nscale = \"smoke\"\nseeds = [0]\n\n\
         [experts.clip]\ncheckpoint = \"{clip}\"\n\n\
         [lm]\ncheckpoint = \"{lm}\"\n\n\
         [data]\ntrain = \"{d}/train.json\"\nalign = \"{d}/align.json\"\nimages = \"{d}/images\"\n\
         eval = \"{d}/eval.jsonl\"\nmax-length = 160\n\n\
         [base]\nencoders = [\"clip\"]\nfamilies = [\"vqa\", \"count\"]\nsft-steps = 40\n{extra}",
        clip = fixture("checkpoints/clip-vision").display(),
        lm = lm.display(),
        d = data.display(),
    );
    let path = dir.join("llava.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn meta(results: &Path, label: &str) -> serde_json::Value {
    let (_, text) = common::done_stages(results)
        .into_iter()
        .find(|(_, meta)| meta.contains(label))
        .unwrap_or_else(|| panic!("no done stage `{label}`"));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_checkpoint_lm_on_llava_data_aligns_fine_tunes_evaluates_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(tmp.path(), &fixture("llava/lm"), "");
    let results = tmp.path().join("results");
    let out = common::eyrie().arg("run").arg(&exp).arg("--results").arg(&results).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The LM is read from its folder once, not pretrained.
    let stages = common::done_stages(&results);
    assert!(stages.iter().any(|(_, m)| m.contains("lm-load")), "no lm-load stage");
    assert!(!stages.iter().any(|(_, m)| m.contains("lm-pretrain")), "the proxy LM was pretrained");
    // SFT on the answers lowers their loss (40 steps from the random tiny LM).
    let sft = meta(&results, "sft clip");
    let (first, last) = (sft["first_loss"].as_f64().unwrap(), sft["last_loss"].as_f64().unwrap());
    assert!(last < 0.8 * first, "SFT loss {first} → {last}");
    // Both families of the JSONL set are scored, in the cell and in the blind baseline.
    let report = std::fs::read_to_string(results.join("reports/llava/report.md")).unwrap();
    for row in ["clip/channel-concat/frozen", "blind"] {
        assert!(report.contains(row), "{report}");
    }
    let cells: Vec<String> = std::fs::read_dir(results.join("llava/cells"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path().join("result.json")).unwrap())
        .collect();
    assert_eq!(cells.len(), 2);
    for text in cells {
        assert!(text.contains("\"vqa\"") && text.contains("\"count\""), "{text}");
    }
}

#[test]
fn a_checkpoint_lm_without_llava_data_is_refused_naming_why() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.toml");
    let text = format!(
        "[experiment]\nname = \"x\"\nscale = \"smoke\"\n\n[lm]\ncheckpoint = \"{}\"\n\n[base]\nfamilies = [\"vqa\"]\n",
        fixture("llava/lm").display()
    );
    std::fs::write(&path, text).unwrap();
    let out = common::eyrie().arg("plan").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("lm.checkpoint") && err.contains("[data]"), "{err}");
}

#[test]
fn the_stage_ids_follow_the_lm_checkpoint_and_its_tokenizer() {
    let tmp = tempfile::tempdir().unwrap();
    let lm = tmp.path().join("lm");
    std::fs::create_dir_all(&lm).unwrap();
    for e in std::fs::read_dir(fixture("llava/lm")).unwrap().flatten() {
        std::fs::copy(e.path(), lm.join(e.file_name())).unwrap();
    }
    let exp = experiment(tmp.path(), &lm, "");
    let plan = || {
        let out = common::eyrie().arg("plan").arg(&exp).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let id = |plan: &str, stage: &str| {
        plan.lines().find(|l| l.contains(stage)).and_then(|l| l.split_whitespace().next()).unwrap().to_string()
    };
    let before = plan();
    // The chat template changed by one character: the LM's stage and every stage after it change id.
    let cfg = lm.join("tokenizer_config.json");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("A chat between", "A chat among");
    std::fs::write(&cfg, text).unwrap();
    let after = plan();
    for stage in ["lm-load", "align clip", "sft clip", "eval clip"] {
        assert_ne!(id(&before, stage), id(&after, stage), "{stage}");
    }
    assert_eq!(id(&before, "expert-load"), id(&after, "expert-load"));
}

#[test]
fn left_padding_masked_out_leaves_the_llama_logits_unchanged() {
    use burn::backend::Flex;
    use burn::prelude::*;
    let device = Default::default();
    let ck = eyrie::checkpoint::lm::LmCheckpoint::open(&fixture("llava/lm")).unwrap();
    let lm = ck.load::<Flex>(&device).unwrap();
    let ids = |v: &[i32]| Tensor::<Flex, 2, Int>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), &device);
    let plain = lm.forward(ids(&[1, 40, 41, 42, 43]), None);
    // The same tokens after three padding positions (any ids), masked out: rotary positions are
    // relative, so the real tokens' logits are the same.
    let mask = Tensor::<Flex, 2>::from_data(TensorData::new(vec![0f32, 0., 0., 1., 1., 1., 1., 1.], [1, 8]), &device);
    let padded = lm.forward_embeds(lm.embed(ids(&[7, 9, 3, 1, 40, 41, 42, 43])), Some(mask));
    let vocab = plain.dims()[2];
    let tail = padded.slice([0..1, 3..8, 0..vocab]);
    let diff = (tail - plain.clone()).abs().max().into_scalar();
    let scale = plain.abs().max().into_scalar();
    assert!(diff <= 1e-4 * scale, "largest difference {diff} of {scale}");
}

#[test]
fn checkpoint_models_train_in_bf16_too() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(tmp.path(), &fixture("llava/lm"), "");
    let results = tmp.path().join("results");
    let out =
        common::eyrie().args(["run", "--precision", "bf16", "--results"]).arg(&results).arg(&exp).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sft = meta(&results, "sft clip");
    assert!(sft["last_loss"].as_f64().unwrap().is_finite());
}

#[test]
fn a_max_length_that_leaves_no_answer_fails_the_stage_saying_so() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(tmp.path(), &fixture("llava/lm"), "");
    let text = std::fs::read_to_string(&exp).unwrap().replace("max-length = 160", "max-length = 16");
    std::fs::write(&exp, text).unwrap();
    let out = common::eyrie().arg("run").arg(&exp).arg("--results").arg(tmp.path().join("r")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("leaves no answer token"), "{err}");
}
