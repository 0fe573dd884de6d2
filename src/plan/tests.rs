use super::*;
use crate::spec::parse;
use std::path::Path;

const SPEC: &str = r#"
[experiment]
name = "golden"
seeds = [0, 1]
[base]
families = ["vqa", "pope"]
[grid]
encoders = [["clip"], ["clip", "convnext"]]
unlock = [false, true]
"#;

fn golden_plan() -> Plan {
    plan(&parse(Path::new("golden.toml"), SPEC).unwrap(), Scale::Smoke)
}

#[test]
fn cells_and_shared_stages() {
    let p = golden_plan();
    // 4 settings × 2 seeds + a blind baseline per seed.
    assert_eq!(p.cells.len(), 10);
    let clip_pretrain = p.stages.values().find(|s| s.label.starts_with("expert-pretrain clip")).unwrap();
    assert_eq!(p.sharing(&clip_pretrain.id), 8, "every visual cell shares clip's pretraining");
    let lm = p.stages.values().find(|s| s.label == "lm-pretrain").unwrap();
    assert_eq!(p.sharing(&lm.id), 10);
    // frozen and unlocked share the alignment stage (it never trains the experts)
    let aligns = p.stages.values().filter(|s| matches!(s.kind, StageKind::Align { .. })).count();
    assert_eq!(aligns, 4, "2 encoder sets × 2 seeds");
    assert_eq!(p.cells.iter().filter(|c| c.label == "blind").count(), 2);
    // 2 pretrain experts + lm + 4 align + 8 sft + 8 eval + 2 blind sft + 2 blind eval
    assert_eq!(p.stages.len(), 27);
}

#[test]
fn golden_content_ids() {
    // Pinned: these change only when a stage's meaning changes (then bump SCHEMA_VERSION on purpose).
    let p = golden_plan();
    let id = |label: &str| p.stages.values().find(|s| s.label == label).map(|s| s.id.clone()).unwrap();
    let got = [
        id("expert-pretrain clip@32"),
        id("expert-pretrain convnext@64"),
        id("lm-pretrain"),
        id("align clip+convnext/channel-concat/frozen"),
        id("sft clip+convnext/channel-concat/unlocked seed 1"),
        p.cells[0].id.clone(),
    ];
    let expected = [
        "a4118d843bc4d88f",
        "64ac0d674d655b46",
        "cca845d70d930cae",
        "44bbdad0f2010dc6",
        "7b76b0c04579ba05",
        "ecf707528ff6bd97",
    ];
    assert_eq!(got, expected.map(String::from));
}

#[test]
fn each_precision_has_its_own_stages_and_f32_keeps_its_ids() {
    let spec = parse(Path::new("golden.toml"), SPEC).unwrap();
    let f32 = golden_plan();
    assert_eq!(plan_at_precision(&spec, Scale::Smoke, Precision::F32), f32, "f32 is the default plan, ids unchanged");
    for precision in [Precision::Bf16, Precision::F16] {
        let half = plan_at_precision(&spec, Scale::Smoke, precision);
        assert_eq!(half.precision, precision);
        assert_eq!(
            half.cells.iter().map(|c| &c.label).collect::<Vec<_>>(),
            f32.cells.iter().map(|c| &c.label).collect::<Vec<_>>()
        );
        assert_eq!(half.stages.len(), f32.stages.len());
        let shared: Vec<_> = half.stages.keys().filter(|k| f32.stages.contains_key(*k)).collect();
        assert!(shared.is_empty(), "{precision} shares stages with f32: {shared:?}");
    }
}

#[test]
fn ids_ignore_paths_but_follow_settings() {
    let a = plan(&parse(Path::new("a.toml"), SPEC).unwrap(), Scale::Smoke);
    let b = plan(&parse(Path::new("elsewhere/b.toml"), SPEC).unwrap(), Scale::Smoke);
    assert_eq!(a.stages.keys().collect::<Vec<_>>(), b.stages.keys().collect::<Vec<_>>());
    let changed = SPEC.replace("seeds = [0, 1]", "seeds = [0, 2]");
    let c = plan(&parse(Path::new("a.toml"), &changed).unwrap(), Scale::Smoke);
    let shared = a.stages.keys().filter(|k| c.stages.contains_key(*k)).count();
    // pretraining and seed-0 stages are shared; seed-2 stages are new
    assert!(shared > 3 && shared < a.stages.len(), "{shared}");
}

#[test]
fn clip_pretrains_longer_on_text_heavier_data() {
    let p = golden_plan();
    let pretrain = |name: &str| match &p
        .stages
        .values()
        .find(|s| s.label.starts_with(&format!("expert-pretrain {name}")))
        .unwrap()
        .kind
    {
        StageKind::ExpertPretrain { data, optim, .. } => (data.families.clone(), optim.steps),
        other => panic!("{other:?}"),
    };
    let steps = ScalePreset::of(Scale::Smoke).expert_steps;
    let (clip_families, clip_steps) = pretrain("clip");
    let (convnext_families, convnext_steps) = pretrain("convnext");
    assert_eq!((clip_steps, convnext_steps), (5 * steps, steps));
    let share = |fs: &[Family]| fs.iter().filter(|&&f| f == Family::Ocr).count() as f64 / fs.len() as f64;
    assert_eq!(share(&clip_families), 3.0 / 8.0, "3 of every 8 of clip's samples are text scenes");
    assert_eq!(convnext_families, Family::ALL.to_vec());
}

#[test]
fn pre_alignment_trains_each_non_text_aligned_expert_once_for_every_cell() {
    let text = r#"
[experiment]
name = "pa"
seeds = [0, 1]
[base]
families = ["vqa", "ocr"]
[grid]
encoders = [["clip", "sam"], ["clip", "sam", "pix2struct"], ["convnext", "pix2struct"]]
unlock = [false, true]
pre-align = [false, true]
"#;
    let p = plan(&parse(Path::new("pa.toml"), text).unwrap(), Scale::Smoke);
    let pre: Vec<&Stage> = p.stages.values().filter(|s| matches!(s.kind, StageKind::PreAlign { .. })).collect();
    let mut labels: Vec<&str> = pre.iter().map(|s| s.label.as_str()).collect();
    labels.sort();
    assert_eq!(
        labels,
        vec!["pre-align pix2struct@64", "pre-align sam@64"],
        "one artifact per expert, none for clip or convnext"
    );
    for s in &pre {
        let StageKind::PreAlign { model, .. } = &s.kind else { unreachable!() };
        assert_eq!(model.experts.len(), 1);
        let pretrain = &p.stages[&s.inputs[0]];
        assert!(
            pretrain.label.starts_with(&format!("expert-pretrain {}", model.experts[0].0.kind)),
            "{}",
            pretrain.label
        );
        assert_eq!(p.stages[&s.inputs[1]].label, "lm-pretrain");
        // Every pre-aligned cell with this expert, frozen or unlocked, either seed, reads the same stage.
        let users = p.cells.iter().filter(|c| c.stages.contains(&s.id)).count();
        let expected = p
            .cells
            .iter()
            .filter(|c| {
                c.settings.as_ref().is_some_and(|x| x.pre_align && x.encoders.contains(&model.experts[0].0.kind))
            })
            .count();
        assert_eq!((users, expected), (8, 8), "2 sets × frozen/unlocked × 2 seeds use each");
    }
    // Cells without pre-alignment never read one; their align stages read the pretrained experts.
    for c in p.cells.iter().filter(|c| c.settings.as_ref().is_some_and(|s| !s.pre_align)) {
        assert!(c.stages.iter().all(|id| !matches!(p.stages[id].kind, StageKind::PreAlign { .. })), "{}", c.label);
    }
    assert!(p.cells.iter().any(|c| c.label.ends_with("/pre-aligned")));
}
