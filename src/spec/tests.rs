use super::*;
use std::path::Path;

fn err(text: &str) -> SpecError {
    parse(Path::new("exp.toml"), text).expect_err("spec should be refused")
}

const OK: &str = r#"
[experiment]
name = "t"
scale = "smoke"
seeds = [0, 1]

[base]
fusion = "channel-concat"

[grid]
encoders = [["clip"], ["clip", "convnext"]]
unlock = [false, true]

[[exclude]]
encoders = ["clip"]
unlock = true
"#;

#[test]
fn expands_grid_minus_exclusions() {
    let s = parse(Path::new("exp.toml"), OK).unwrap();
    assert_eq!(s.cells.len(), 3);
    assert_eq!(s.seeds, vec![0, 1]);
    assert_eq!(s.axes, vec![Axis::Encoders, Axis::Unlock]);
    assert!(!s.cells.iter().any(|c| c.encoders == vec![ExpertKind::Clip] && c.unlock == Unlock::All(true)));
    assert_eq!(s.cells[2].label(), "clip+convnext/channel-concat/unlocked");
}

#[test]
fn unknown_key_names_key_line_and_column() {
    let e = err("[experiment]\nname = \"t\"\n\n[base]\nfusoin = \"channel-concat\"\n");
    let msg = e.to_string();
    assert_eq!(e.line, Some(5), "{msg}");
    assert_eq!(e.column, Some(1), "{msg}");
    assert!(msg.contains("exp.toml:5:1"), "{msg}");
    assert!(msg.contains("unknown field `fusoin`"), "{msg}");
    assert!(msg.contains("base"), "{msg}");
}

#[test]
fn unknown_encoder_lists_known_names() {
    let e = err("[experiment]\nname = \"t\"\n[grid]\nencoders = [[\"clip\"], [\"clip\", \"siglip\"]]\n");
    let msg = e.to_string();
    assert_eq!(e.key, "grid.encoders[1][1]", "{msg}");
    assert_eq!(e.line, Some(4), "{msg}");
    assert!(msg.contains("siglip"), "{msg}");
    assert!(msg.contains("known encoders: clip, convnext, sam, pix2struct, eva02"), "{msg}");
}

#[test]
fn wrong_type_is_refused_with_key() {
    let e = err("[experiment]\nname = \"t\"\n[base]\nunlock = \"yes\"\n");
    assert_eq!(e.key, "base.unlock", "{e}");
    assert_eq!(e.line, Some(4), "{e}");
}

#[test]
fn resolution_must_divide_by_patch() {
    let e = err("[experiment]\nname = \"t\"\n[grid]\nresolution = [64, 100]\n");
    let msg = e.to_string();
    assert_eq!(e.key, "grid.resolution[1]", "{msg}");
    assert!(msg.contains("not divisible"), "{msg}");
    assert!(msg.contains("try 96 or 104"), "{msg}");
    assert_eq!((e.line, e.column), (Some(4), Some(19)), "{msg}");
}

#[test]
fn empty_encoder_set_is_refused() {
    let e = err("[experiment]\nname = \"t\"\n[grid]\nencoders = [[]]\n");
    assert!(e.to_string().contains("empty encoder set"), "{e}");
    assert_eq!(e.key, "grid.encoders[0]");
}

#[test]
fn fusion_needing_two_experts_given_one_is_refused() {
    let e = err("[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\"]\nfusion = \"sequence-append\"\n");
    let msg = e.to_string();
    assert_eq!(e.key, "base.fusion", "{msg}");
    assert!(msg.contains("needs at least 2 experts"), "{msg}");
    assert_eq!(e.line, Some(5), "{msg}");
}

#[test]
fn unknown_fusion_and_scale_hint_known_names() {
    let e = err("[experiment]\nname = \"t\"\n[base]\nfusion = \"concat\"\n");
    assert!(e.to_string().contains("channel-concat, sequence-append"), "{e}");
    let e = err("[experiment]\nname = \"t\"\nscale = \"huge\"\n");
    assert!(e.to_string().contains("smoke, proxy"), "{e}");
}

#[test]
fn syntax_error_has_position() {
    let e = err("[experiment]\nname = \n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn vision_lr_scale_is_an_axis_with_a_default() {
    let s = parse(Path::new("e.toml"), "[experiment]\nname = \"v\"\n[grid]\nvision-lr-scale = [0.1, 1.0]\n").unwrap();
    assert_eq!(s.axes, vec![Axis::VisionLrScale]);
    assert_eq!(s.cells.iter().map(|c| c.vision_lr_scale).collect::<Vec<_>>(), vec![0.1, 1.0]);
    let d = parse(Path::new("e.toml"), "[experiment]\nname = \"v\"\n").unwrap();
    assert_eq!(d.cells[0].vision_lr_scale, DEFAULT_VISION_LR_SCALE);
    let e = err("[experiment]\nname = \"v\"\n[base]\nvision-lr-scale = -1.0\n");
    assert_eq!(e.key, "base.vision-lr-scale", "{e}");
}

#[test]
fn unlock_per_expert_resolves_against_the_set() {
    let s = parse(
        Path::new("exp.toml"),
        "[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\", \"sam\"]\nunlock = { clip = true, sam = false }\n",
    )
    .unwrap();
    assert_eq!(s.cells[0].unlock, Unlock::Only(vec![ExpertKind::Clip]));
    assert!(s.cells[0].unlock.unlocks(ExpertKind::Clip) && !s.cells[0].unlock.unlocks(ExpertKind::Sam));
    assert_eq!(s.cells[0].label(), "clip+sam/channel-concat/unlocked[clip]");
    // Every expert named true is the same as `unlock = true`.
    let all = parse(
        Path::new("exp.toml"),
        "[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\", \"sam\"]\nunlock = { clip = true, sam = true }\n",
    )
    .unwrap();
    assert_eq!(all.cells[0].unlock, Unlock::All(true));
}

#[test]
fn unlock_table_refuses_unknown_and_absent_experts() {
    let e = err("[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\"]\nunlock = { clipp = true }\n");
    assert_eq!(e.key, "base.unlock");
    assert!(e.to_string().contains("clipp") && e.hint.as_deref().unwrap().contains("pix2struct"), "{e}");
    let e = err("[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\"]\nunlock = { sam = true }\n");
    assert_eq!(e.key, "base.unlock");
    assert!(e.to_string().contains("not in any encoder set"), "{e}");
}

#[test]
fn tiling_and_grid_axes() {
    let s = parse(
        Path::new("exp.toml"),
        "[experiment]\nname = \"t\"\n[base]\ngrid = \"auto\"\n[grid]\nresolution = [\"native\", 128]\ntiling = \
            [\"interpolate\", \"tile\"]\n[[exclude]]\nresolution = \"native\"\ntiling = \"tile\"\n",
    )
    .unwrap();
    assert_eq!(s.cells.len(), 3);
    assert_eq!(s.axes, vec![Axis::Resolution, Axis::Tiling]);
    assert!(s.cells.iter().all(|c| c.grid == TokenGrid::Auto));
    assert_eq!(s.cells[2].label(), "clip/channel-concat/frozen/128px/tile");
    // Tiling at the native resolution changes nothing: refused, naming the key.
    let e = err("[experiment]\nname = \"t\"\n[base]\ntiling = \"tile\"\n");
    assert_eq!(e.key, "base.tiling");
    let e = err("[experiment]\nname = \"t\"\n[base]\ngrid = \"big\"\n");
    assert_eq!(e.key, "base.grid");
    let e = err("[experiment]\nname = \"t\"\n[base]\ntiling = \"mosaic\"\n");
    assert!(e.to_string().contains("mosaic"), "{e}");
}

#[test]
fn llava_hr_needs_clip_first_and_no_tiling() {
    let e = err("[experiment]\nname = \"t\"\n[base]\nencoders = [\"convnext\", \"clip\"]\nfusion = \"llava-hr\"\n");
    assert_eq!(e.key, "base.fusion", "{e}");
    assert!(e.to_string().contains("needs `clip` as its low-resolution query expert"), "{e}");
    let e = err("[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\", \"convnext\"]\nfusion = \
        \"llava-hr\"\nresolution = 128\ntiling = \"tile\"\n");
    assert_eq!(e.key, "base.tiling", "{e}");
    let ok = "[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\", \"convnext\"]\n[grid]\nfusion = \
        [\"mini-gemini\", \"deformable\", \"llava-hr\"]\n";
    assert_eq!(parse(Path::new("t.toml"), ok).unwrap().cells.len(), 3);
}

#[test]
fn query_expert_picks_the_role_and_must_be_in_the_set() {
    let ok = "[experiment]\nname = \"t\"\n[base]\nencoders = [\"convnext\", \"clip\"]\nfusion = \
        \"mini-gemini\"\nquery-expert = \"clip\"\n";
    let spec = parse(Path::new("t.toml"), ok).unwrap();
    assert_eq!(spec.cells[0].query_index(), 1);
    assert!(spec.cells[0].label().ends_with("/query=clip"), "{}", spec.cells[0].label());
    // llava-hr accepts clip as the query when it is named, wherever it is listed.
    let ok = "[experiment]\nname = \"t\"\n[base]\nencoders = [\"convnext\", \"clip\"]\nfusion = \
        \"llava-hr\"\nquery-expert = \"clip\"\n";
    assert!(parse(Path::new("t.toml"), ok).is_ok());
    let e = err("[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\", \"convnext\"]\nfusion = \
        \"deformable\"\nquery-expert = \"sam\"\n");
    assert_eq!(e.key, "base.query-expert", "{e}");
    assert_eq!(e.line, Some(6), "{e}");
}

const GREEDY: &str = r#"
[experiment]
name = "rr"
search = "greedy"
seeds = [0, 1, 2]
[base]
families = ["vqa", "ocr"]
[greedy]
start = ["clip"]
candidates = ["convnext", "sam", "pix2struct", "eva02"]
metric = "average"
max-rounds = 3
min-gain = 0.5
"#;

#[test]
fn greedy_search_parses_into_the_start_cell_and_its_settings() {
    let s = parse(Path::new("rr.toml"), GREEDY).unwrap();
    let g = s.greedy.clone().unwrap();
    assert_eq!(s.cells.len(), 1);
    assert_eq!(s.cells[0].encoders, vec![ExpertKind::Clip]);
    assert_eq!((g.max_rounds, g.min_gain, g.metric.clone()), (3, 0.5, Metric::Average));
    assert_eq!(g.worst_case_sets(), 1 + 4 + 3 + 2);
    let weighted =
        parse(Path::new("rr.toml"), &GREEDY.replace("metric = \"average\"", "metric = { ocr = 2, vqa = 1 }")).unwrap();
    assert_eq!(weighted.greedy.unwrap().metric, Metric::Weighted(vec![(Family::Ocr, 2.0), (Family::Vqa, 1.0)]));
    let one = parse(
        Path::new("rr.toml"),
        &GREEDY.replace("metric = \"average\"", "metric = \"ocr\"").replace("max-rounds = 3\n", ""),
    )
    .unwrap();
    assert_eq!(one.greedy.as_ref().unwrap().metric, Metric::Family(Family::Ocr));
    assert_eq!(one.greedy.unwrap().max_rounds, 4, "default: one round per candidate");
    assert!(parse(Path::new("a.toml"), OK).unwrap().greedy.is_none());
}

#[test]
fn bad_greedy_specs_are_refused_naming_the_key() {
    let cases = [
        (
            GREEDY.replace("candidates = [\"convnext\",", "candidates = [\"clip\", \"convnext\","),
            "greedy.candidates",
            "named twice",
        ),
        (GREEDY.replace("start = [\"clip\"]", "start = []"), "greedy.start", "empty"),
        (GREEDY.replace("metric = \"average\"", "metric = \"chart\""), "greedy.metric", "not evaluated"),
        (GREEDY.replace("metric = \"average\"", "metric = \"best\""), "greedy.metric", "unknown metric"),
        (GREEDY.replace("metric = \"average\"", "metric = { ocr = -1 }"), "greedy.metric", "positive"),
        (GREEDY.replace("max-rounds = 3", "max-rounds = 0"), "greedy.max-rounds", "at least 1"),
        (GREEDY.replace("[base]", "[base]\nencoders = [\"clip\"]"), "base.encoders", "chooses the encoders"),
        (format!("{GREEDY}\n[grid]\nunlock = [false, true]\n"), "grid.unlock", "varies only the encoder set"),
        (GREEDY.replace("search = \"greedy\"\n", ""), "experiment.search", "without search"),
        (GREEDY[..GREEDY.find("[greedy]").unwrap()].to_string(), "greedy", "needs a [greedy] table"),
        (GREEDY.replace("min-gain = 0.5", "min-gian = 0.5"), "greedy.min-gian", "unknown field"),
        (
            GREEDY.replace("candidates = [\"convnext\",", "candidates = [\"dino\","),
            "greedy.candidates",
            "unknown variant",
        ),
    ];
    for (text, key, words) in cases {
        let e = err(&text);
        assert!(e.key.starts_with(key), "expected key {key}, got {} ({e})", e.key);
        assert!(e.to_string().contains(words), "expected `{words}` in: {e}");
    }
}

/// A grid over `axis` (its two examples) and the next axis of `Axis::ALL`, on two experts at 128 pixels.
fn two_axis_grid(axis: Axis) -> String {
    let next = Axis::ALL[(Axis::ALL.iter().position(|a| *a == axis).unwrap() + 1) % Axis::ALL.len()];
    let list = |a: Axis| format!("{} = [{}]", a.key(), a.examples().join(", "));
    format!(
        "[experiment]\nname = \"t\"\n[base]\nencoders = [\"clip\", \"convnext\"]\nresolution = 128\n[grid]\n{}\n{}\n",
        list(axis),
        list(next)
    )
}

#[test]
fn an_exclude_rule_over_any_axis_removes_exactly_its_cells() {
    for &axis in Axis::ALL {
        let grid = two_axis_grid(axis);
        let all = parse(Path::new("t.toml"), &grid).unwrap_or_else(|e| panic!("{}: {e}", axis.key())).cells;
        assert_eq!(all.len(), 4, "{}", axis.key());
        let named = axis.value_of(&all[0]);
        let rule = format!("{grid}[[exclude]]\n{} = {}\n", axis.key(), axis.examples()[0]);
        let kept = parse(Path::new("t.toml"), &rule).unwrap_or_else(|e| panic!("{}: {e}", axis.key())).cells;
        let expected: Vec<CellSettings> = all.iter().filter(|c| axis.value_of(c) != named).cloned().collect();
        assert_eq!(expected.len(), 2, "{}: the examples must differ", axis.key());
        assert_eq!(kept, expected, "[[exclude]] {} = {}", axis.key(), axis.examples()[0]);
    }
}

#[test]
fn a_greedy_search_refuses_every_grid_axis_by_key() {
    for &axis in Axis::ALL {
        let text = format!("{GREEDY}\n[grid]\n{} = [{}]\n", axis.key(), axis.examples().join(", "));
        let e = err(&text);
        assert_eq!(e.key, format!("grid.{}", axis.key()), "{e}");
        assert!(e.to_string().contains("varies only the encoder set"), "{e}");
    }
}

#[test]
fn each_backend_names_the_cargo_feature_that_compiles_it() {
    use crate::spec::BackendKind;
    assert_eq!(BackendKind::CudaUnfused.cargo_feature(), "cuda");
    assert_eq!(BackendKind::Cuda.cargo_feature(), "cuda");
    assert_eq!(BackendKind::Wgpu.cargo_feature(), "wgpu");
    assert_eq!(BackendKind::Flex.cargo_feature(), "flex");
}

const HYPO_GRID: &str = "[experiment]\nname = \"t\"\nscale = \"smoke\"\n[base]\nfamilies = [\"vqa\"]\n[grid]\n\
                         encoders = [[\"clip\"], [\"clip\", \"convnext\"]]\nresolution = [\"native\", 64]\n\
                         unlock = [false, true]\n";

#[test]
fn hypotheses_parse_into_contrasts_over_the_grid() {
    let text = format!(
        "{HYPO_GRID}[[hypothesis]]\nclaim = \"c\"\ncontrast = \"interaction\"\na = {{ unlock = false }}\n\
         b = {{ unlock = true }}\nby = \"resolution\"\nwhere = {{ encoders = [\"clip\"] }}\nmetric = \"vqa\"\n\
         expect = \"increasing\"\n[[hypothesis]]\nclaim = \"d\"\ncontrast = \"best\"\nlevel = {{ resolution = 64 }}\n\
         expect = \"equivalent\"\nmargin = 1.5\n"
    );
    let s = parse(Path::new("exp.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.hypotheses.len(), 2);
    let h = &s.hypotheses[0];
    let sel = |axis, t: &str| Selector { levels: vec![(axis, t.to_string())] };
    assert_eq!(
        h.contrast,
        Contrast::Interaction { a: sel(Axis::Unlock, "false"), b: sel(Axis::Unlock, "true"), by: Axis::Resolution }
    );
    assert_eq!(h.within, sel(Axis::Encoders, "clip"));
    assert_eq!((h.metric.clone(), h.expect), (Metric::Family(Family::Vqa), Expectation::Above));
    let h = &s.hypotheses[1];
    assert_eq!(h.contrast, Contrast::Best { level: sel(Axis::Resolution, "64") });
    assert_eq!((h.metric.clone(), h.expect), (Metric::Average, Expectation::Equivalent(1.5)));
}

#[test]
fn bad_hypotheses_are_refused_naming_the_key() {
    let cases = [
        ("contrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\nexpect = \"sideways\"", "hypothesis[0].expect", "sideways"),
        ("contrast = \"pair\"\na = { resolution = 96 }\nb = { resolution = 64 }\nexpect = \"better\"", "hypothesis[0].a.resolution", "no cell has resolution = 96"),
        ("contrast = \"pair\"\nb = { unlock = true }\nexpect = \"better\"", "hypothesis[0].a", "needs `a`"),
        ("contrast = \"pair\"\na = { unlock = true }\nb = { unlock = true }\nexpect = \"better\"", "hypothesis[0].b", "do not differ"),
        ("contrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\nexpect = \"increasing\"", "hypothesis[0].expect", "does not fit"),
        ("contrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\nexpect = \"equivalent\"", "hypothesis[0].margin", "needs a margin"),
        ("contrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\nexpect = \"better\"\nmargin = 2.0", "hypothesis[0].margin", "used only with"),
        ("contrast = \"pair\"\na = { unlock = false }\nb = { unlock = true }\nexpect = \"better\"\nmetric = \"ocr\"", "hypothesis[0].metric", "not evaluated"),
        ("contrast = \"trend\"\naxis = \"encoders\"\nexpect = \"increasing\"", "hypothesis[0].axis", "no order"),
        ("contrast = \"trend\"\naxis = \"grid\"\nexpect = \"increasing\"", "hypothesis[0].axis", "takes 1 level"),
        ("contrast = \"best\"\nlevel = { unlock = true, resolution = 64 }\nexpect = \"better\"", "hypothesis[0].level", "more than one axis"),
        ("contrast = \"trend\"\naxis = \"resolution\"\nlevel = { unlock = true }\nexpect = \"increasing\"", "hypothesis[0].level", "does not use"),
        ("contrast = \"interaction\"\na = { unlock = false }\nb = { unlock = true }\nby = \"unlock\"\nexpect = \"increasing\"", "hypothesis[0].by", "no order"),
        ("contrast = \"pair\"\na = {}\nb = { unlock = true }\nexpect = \"better\"", "hypothesis[0].a", "names no axis"),
    ];
    for (body, key, message) in cases {
        let e = err(&format!("{HYPO_GRID}[[hypothesis]]\nclaim = \"c\"\n{body}\n"));
        assert_eq!(e.key, key, "{body}: {e}");
        assert!(e.to_string().contains(message), "{body}: {e}");
        assert!(e.line.is_some(), "{body}: {e}");
    }
}

#[test]
fn a_greedy_hypothesis_names_sets_the_search_can_reach() {
    let greedy = "[experiment]\nname = \"g\"\nsearch = \"greedy\"\n[base]\nfamilies = [\"vqa\"]\n[greedy]\n\
                  start = [\"clip\"]\ncandidates = [\"convnext\", \"sam\"]\n[[hypothesis]]\nclaim = \"c\"\n\
                  contrast = \"pair\"\na = { encoders = [\"clip\"] }\nexpect = \"better\"\n";
    let ok = format!("{greedy}b = {{ encoders = [\"sam\", \"clip\", \"convnext\"] }}\n");
    let s = parse(Path::new("g.toml"), &ok).unwrap_or_else(|e| panic!("{e}"));
    let Contrast::Pair { b, .. } = &s.hypotheses[0].contrast else { panic!() };
    assert_eq!(b.levels, vec![(Axis::Encoders, "clip+convnext+sam".to_string())], "compared as a set");
    let e = err(&format!("{greedy}b = {{ encoders = [\"clip\", \"eva02\"] }}\n"));
    assert_eq!(e.key, "hypothesis[0].b.encoders", "{e}");
    assert!(e.to_string().contains("the search can reach"), "{e}");
}

#[test]
fn a_resolution_per_expert_sets_the_named_experts_and_leaves_the_others_native() {
    let text = |res: &str| {
        format!(
            "[experiment]\nname = \"r\"\nscale = \"proxy\"\n[base]\nfusion = \"mini-gemini\"\nresolution = {res}\n\
             [grid]\nencoders = [[\"clip\", \"convnext\"], [\"clip\", \"sam\"]]\n"
        )
    };
    let s = parse(Path::new("r.toml"), &text("{ convnext = 256 }")).unwrap();
    assert_eq!(s.cells[0].resolution, Resolution::PerExpert(vec![(ExpertKind::ConvNext, 256)]));
    // The cell without convnext is the native cell.
    assert_eq!(s.cells[1].resolution, Resolution::Native);
    assert_eq!(s.cells[0].label(), "clip+convnext/mini-gemini/frozen/convnext@256px");
    let p = crate::plan::plan(&s, Scale::Proxy);
    let geo: Vec<(ExpertKind, usize, usize)> =
        p.cells[0].experts.iter().map(|g| (g.expert, g.resolution, g.native_resolution)).collect();
    assert_eq!(geo, vec![(ExpertKind::Clip, 64, 64), (ExpertKind::ConvNext, 256, 128)]);
    for (bad, words) in [
        ("{ convnext = 250 }", "not divisible"),
        ("{ pix2struct = 256 }", "not in any encoder set"),
        ("{ convnxt = 256 }", "unknown expert"),
        ("{ convnext = 2048 }", "bad resolution"),
        ("{}", "bad resolution"),
    ] {
        let e = err(&text(bad));
        assert_eq!(e.key, "base.resolution", "{bad}: {e}");
        assert!(e.message.contains(words), "{bad}: {e}");
    }
}
