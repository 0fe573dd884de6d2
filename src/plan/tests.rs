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
    // Schema 5 (POPE's balanced test split) moved them; under schema 4 this plan had the same ids as before.
    // Issue 20 moved the experts' (clip at lr 2e-3, convnext for twice the steps) and everything downstream.
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
        "610aef30709296cb",
        "b8b10e547c3d0553",
        "b7597a6069b2df9f",
        "1bacd7ceaeee7d8e",
        "bc87264565f903a0",
        "618134e4f871a527",
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

/// The architecture, data and optimisation of expert `name`'s pretraining stage in `p`.
fn expert_pretrain<'a>(p: &'a Plan, name: &str) -> (&'a ExpertConfig, &'a DataSpec, &'a Optim) {
    let stage = p.stages.values().find(|s| s.label.starts_with(&format!("expert-pretrain {name}"))).unwrap();
    match &stage.kind {
        StageKind::ExpertPretrain { expert, data, optim } => (expert, data, optim),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pix2struct_pretrains_longest_on_words_half_in_ink_with_small_position_embeddings() {
    let spec = "[experiment]\nname = \"p\"\nseeds = [0]\n[base]\nfamilies = [\"ocr\"]\n[grid]\n\
                encoders = [[\"clip\", \"pix2struct\"]]\n";
    let p = plan(&parse(Path::new("p.toml"), spec).unwrap(), Scale::Smoke);
    let pretrain = |name: &str| {
        let (expert, data, optim) = expert_pretrain(&p, name);
        (expert.clone(), data.clone(), optim.steps)
    };
    let steps = ScalePreset::of(Scale::Smoke).expert_steps;
    let (p2s, p2s_data, p2s_steps) = pretrain("pix2struct");
    assert_eq!(p2s_steps, 20 * steps);
    assert_eq!((p2s_data.families.clone(), p2s_data.text), (vec![Family::Ocr], TextColour::Mixed));
    assert_eq!(p2s.position_init_std, Some(0.02));
    // The others keep their data and architecture, and so their ids: neither new field is written.
    let (clip, clip_data, _) = pretrain("clip");
    assert_eq!((clip_data.text, clip.position_init_std), (TextColour::Scene, None));
    let json = serde_json::to_string(&(clip, clip_data)).unwrap();
    assert!(!json.contains("text") && !json.contains("position_init_std"), "{json}");
}

#[test]
fn clip_pretrains_longer_on_text_heavier_data() {
    let p = golden_plan();
    let pretrain = |name: &str| {
        let (_, data, optim) = expert_pretrain(&p, name);
        (data.families.clone(), optim.steps)
    };
    let steps = ScalePreset::of(Scale::Smoke).expert_steps;
    let (clip_families, clip_steps) = pretrain("clip");
    let (convnext_families, convnext_steps) = pretrain("convnext");
    assert_eq!((clip_steps, convnext_steps), (5 * steps, 2 * steps));
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
        vec![
            "pre-align pix2struct@64 seed 0",
            "pre-align pix2struct@64 seed 1",
            "pre-align sam@64 seed 0",
            "pre-align sam@64 seed 1"
        ],
        "one artifact per expert and seed, none for clip or convnext"
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
        // Every pre-aligned cell of the stage's seed with this expert, frozen or unlocked, reads it.
        let StageKind::PreAlign { optim, .. } = &s.kind else { unreachable!() };
        let users: Vec<&PlannedCell> = p.cells.iter().filter(|c| c.stages.contains(&s.id)).collect();
        let expected = p
            .cells
            .iter()
            .filter(|c| {
                c.seed == optim.seed
                    && c.settings.as_ref().is_some_and(|x| x.pre_align && x.encoders.contains(&model.experts[0].0.kind))
            })
            .count();
        assert_eq!((users.len(), expected), (4, 4), "2 sets × frozen/unlocked of one seed use each");
        assert!(users.iter().all(|c| c.seed == optim.seed), "a pre-align stage takes its cells' seed");
    }
    // Cells without pre-alignment never read one; their align stages read the pretrained experts.
    for c in p.cells.iter().filter(|c| c.settings.as_ref().is_some_and(|s| !s.pre_align)) {
        assert!(c.stages.iter().all(|id| !matches!(p.stages[id].kind, StageKind::PreAlign { .. })), "{}", c.label);
    }
    assert!(p.cells.iter().any(|c| c.label.ends_with("/pre-aligned")));
}

/// The golden spec with pre-alignment on a sam pair, under `pretrain-seed` = `policy` (None: unset).
fn seeded_plan(policy: Option<&str>) -> Plan {
    let line = policy.map(|p| format!("pretrain-seed = \"{p}\"\n")).unwrap_or_default();
    let text = SPEC.replace("seeds = [0, 1]\n", &format!("seeds = [0, 1]\n{line}")).replace(
        "encoders = [[\"clip\"], [\"clip\", \"convnext\"]]",
        "encoders = [[\"clip\", \"sam\"]]\npre-align = [true]",
    );
    plan(&parse(Path::new("seeded.toml"), &text).unwrap(), Scale::Smoke)
}

fn stages_of<'a>(p: &'a Plan, kind: &str) -> Vec<&'a Stage> {
    p.stages.values().filter(|s| s.kind.name() == kind).collect()
}

fn seed_of(s: &Stage) -> u64 {
    match &s.kind {
        StageKind::ExpertPretrain { optim, .. }
        | StageKind::LmPretrain { optim, .. }
        | StageKind::PreAlign { optim, .. }
        | StageKind::Align { optim, .. }
        | StageKind::Sft { optim, .. } => optim.seed,
        StageKind::ExpertLoad { .. } | StageKind::LmLoad { .. } | StageKind::Eval { .. } => {
            panic!("{} has no seed", s.kind.name())
        }
    }
}

#[test]
fn pre_alignment_takes_the_cells_seed() {
    let p = seeded_plan(None);
    let pre = stages_of(&p, "pre-align");
    assert_eq!(pre.len(), 2, "one sam pre-alignment per seed");
    assert_ne!(pre[0].id, pre[1].id);
    for c in p.cells.iter().filter(|c| c.settings.is_some()) {
        let mine: Vec<&String> = c.stages.iter().filter(|id| p.stages[*id].kind.name() == "pre-align").collect();
        assert_eq!(mine.len(), 1, "{}", c.label);
        assert_eq!(seed_of(&p.stages[mine[0]]), c.seed, "{}", c.label);
    }
}

#[test]
fn pretraining_is_shared_by_default_and_per_seed_on_request() {
    let shared = seeded_plan(None);
    assert_eq!(seeded_plan(Some("shared")), shared, "shared is the default");
    for kind in ["expert-pretrain", "lm-pretrain"] {
        let stages = stages_of(&shared, kind);
        let per_expert = if kind == "lm-pretrain" { 1 } else { 2 };
        assert_eq!(stages.len(), per_expert, "{kind}: one for every seed");
        assert!(stages.iter().all(|s| seed_of(s) == PRETRAIN_SEED), "{kind}");
    }
    let per_seed = seeded_plan(Some("per-seed"));
    for kind in ["expert-pretrain", "lm-pretrain"] {
        let stages = stages_of(&per_seed, kind);
        let per_expert = if kind == "lm-pretrain" { 1 } else { 2 };
        assert_eq!(stages.len(), 2 * per_expert, "{kind}: one per seed");
    }
    // Each cell's pretraining stages (the blind baseline's LM too) take the cell's seed.
    for c in &per_seed.cells {
        for id in &c.stages {
            let s = &per_seed.stages[id];
            if s.kind.name().ends_with("pretrain") {
                assert_eq!(seed_of(s), c.seed, "{} in {}", s.label, c.label);
            }
        }
    }
    // Seed 0's pretraining is the shared one (same stage ids); seed 1's are its own.
    let seed1 =
        per_seed.stages.values().filter(|s| s.label.ends_with(" seed 1") && s.kind.name().ends_with("pretrain"));
    assert_eq!(seed1.count(), 3, "sam, clip and the LM for seed 1");
    assert!(shared
        .stages
        .keys()
        .filter(|id| shared.stages[*id].kind.name().ends_with("pretrain"))
        .all(|id| per_seed.stages.contains_key(id)));
}

#[test]
fn a_bad_pretrain_seed_is_refused_naming_the_key() {
    let text = SPEC.replace("seeds = [0, 1]\n", "seeds = [0, 1]\npretrain-seed = \"each\"\n");
    let err = parse(Path::new("bad.toml"), &text).unwrap_err().to_string();
    assert!(err.contains("experiment.pretrain-seed"), "{err}");
    assert!(err.contains("shared") && err.contains("per-seed"), "{err}");
}

#[test]
fn sharing_counts_agree_with_sharing_for_every_stage() {
    let p = golden_plan();
    let counts = p.sharing_counts();
    for id in p.stages.keys() {
        assert_eq!(counts.get(id.as_str()).copied().unwrap_or(0), p.sharing(id), "{}", p.stages[id].label);
    }
    assert_eq!(counts.len(), p.stages.len(), "every stage is some cell's");
}

#[test]
fn one_blind_row_per_mixture_with_its_longest_sft_and_cells_deduplicated() {
    // At the smoke scale clip's native side is 32: tiling 32 pixels is interpolation, the same cell.
    let text = "[experiment]\nname = \"b\"\nseeds = [0, 1]\n[grid]\nfamilies = [[\"vqa\"], [\"pope\"]]\n\
                sft-steps = [5, 9]\nresolution = [32, 64]\ntiling = [\"interpolate\", \"tile\"]\n";
    let p = plan(&parse(Path::new("b.toml"), text).unwrap(), Scale::Smoke);
    assert_eq!(p.cells.len(), 2 * 2 * 3 * 2 + 2 * 2, "(32, tile) runs once as (32, interpolate); 2 blind × 2 seeds");
    let blind: Vec<_> = p.cells.iter().filter(|c| c.label == "blind").collect();
    let rows: Vec<(Vec<Family>, u64, usize)> =
        blind.iter().map(|c| (c.families.clone(), c.seed, p.stages[&c.stages[1]].kind.steps())).collect();
    let (v, o) = (vec![Family::Vqa], vec![Family::Pope]);
    assert_eq!(rows, vec![(v.clone(), 0, 9), (v, 1, 9), (o.clone(), 0, 9), (o, 1, 9)]);
}

#[test]
fn cells_that_train_the_same_model_are_planned_once_and_named() {
    let spec = crate::spec::parse(
        std::path::Path::new("m.toml"),
        "[experiment]\nname = \"m\"\nscale = \"smoke\"\nblind-baseline = false\n[base]\nencoders = [\"clip\"]\n\
         families = [\"vqa\"]\nunlock = false\n[grid]\nvision-lr-scale = [0.1, 0.2]\n",
    )
    .unwrap();
    let p = crate::plan::plan(&spec, crate::spec::Scale::Smoke);
    assert_eq!(p.cells.len(), 1, "frozen experts: the learning-rate scale changes nothing");
    assert_eq!(p.merged.len(), 1);
    assert!(
        p.merged[0].0.contains("vision-lr-scale = 0.2") && p.merged[0].1.contains("vision-lr-scale = 0.1"),
        "{:?}",
        p.merged
    );
    let text = serde_json::to_string(&p).unwrap();
    let back: crate::plan::Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back.merged, p.merged);
}

#[test]
fn cells_whose_labels_leave_their_difference_out_get_it_appended() {
    let s = crate::spec::parse(
        std::path::Path::new("l.toml"),
        "[experiment]\nname = \"l\"\nscale = \"smoke\"\nblind-baseline = false\n[base]\nencoders = [\"clip\"]\n\
         [grid]\nsft-steps = [6, 12]\nunlock = [false, true]\n",
    )
    .unwrap();
    let p = plan(&s, Scale::Smoke);
    let labels: Vec<&str> = p.cells.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "clip/channel-concat/frozen [sft-steps = 6]",
            "clip/channel-concat/frozen [sft-steps = 12]",
            "clip/channel-concat/unlocked [sft-steps = 6]",
            "clip/channel-concat/unlocked [sft-steps = 12]"
        ]
    );
    // Labels that already differ stay as they are.
    let q = plan(
        &crate::spec::parse(
            std::path::Path::new("q.toml"),
            "[experiment]\nname = \"q\"\n[grid]\nunlock = [false, true]\n",
        )
        .unwrap(),
        Scale::Smoke,
    );
    assert_eq!(q.cells[0].label, "clip/channel-concat/frozen");
}
