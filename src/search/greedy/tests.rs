use super::*;
use crate::eval::metrics::FamilyScore;
use crate::spec::Family;
use ExpertKind::*;

fn spec(min_gain: f64, max_rounds: usize) -> GreedySpec {
    GreedySpec {
        start: vec![Clip],
        candidates: vec![Sam, Eva02, ConvNext, Pix2Struct],
        metric: Metric::Average,
        max_rounds,
        min_gain,
    }
}

/// Hand-made results: a base score plus a fixed gain per expert, and a per-seed offset.
fn additive(set: &[ExpertKind], seeds: &[f64]) -> Vec<f64> {
    let gain = |e: &ExpertKind| match e {
        Clip => 30.0,
        ConvNext => 5.0,
        Pix2Struct => 3.0,
        Eva02 => 2.0,
        Sam => 0.5,
    };
    let total: f64 = set.iter().map(gain).sum();
    seeds.iter().map(|s| total + s).collect()
}

#[test]
fn picks_the_best_addition_each_round_and_evaluates_each_set_once() {
    let mut asked: Vec<Vec<ExpertKind>> = Vec::new();
    let out = search::<(), _>(&spec(0.0, 4), &mut |sets| {
        asked.extend(sets.iter().cloned());
        Ok(sets.iter().map(|s| additive(s, &[0.0, 0.2, -0.2])).collect())
    })
    .unwrap();
    let winners: Vec<ExpertKind> = out.rounds.iter().map(|r| r.winner).collect();
    assert_eq!(winners, vec![ConvNext, Pix2Struct, Eva02, Sam], "the paper's X5 order");
    assert_eq!(out.chosen, vec![Clip, ConvNext, Pix2Struct, Eva02, Sam]);
    assert_eq!(out.stop, StopReason::NoCandidates);
    assert_eq!(asked.len(), spec(0.0, 4).worst_case_sets());
    let mut distinct = asked.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), asked.len(), "a set was evaluated twice");
    let mut evaluated = out.evaluated_sets();
    evaluated.sort();
    assert_eq!(evaluated, distinct, "the outcome lists every set evaluated");
    assert!((out.rounds[1].gain - 3.0).abs() < 1e-9 && (out.rounds[1].from_mean - 35.0).abs() < 1e-9);
    let traj: Vec<f64> = out.trajectory().iter().map(|(_, m)| *m).collect();
    assert_eq!(traj.iter().map(|m| m.round() as i64).collect::<Vec<_>>(), vec![30, 35, 38, 40, 41]);
}

#[test]
fn stops_when_the_best_addition_gains_less_than_min_gain() {
    let out =
        search::<(), _>(&spec(1.0, 4), &mut |sets| Ok(sets.iter().map(|s| additive(s, &[0.0])).collect())).unwrap();
    assert_eq!(out.stop, StopReason::MinGain);
    assert_eq!(out.chosen, vec![Clip, ConvNext, Pix2Struct, Eva02], "sam gains 0.5 < 1.0");
    let last = out.rounds.last().unwrap();
    assert_eq!((last.index, last.winner, last.kept), (4, Sam, false));
    assert!(out.rounds[..3].iter().all(|r| r.kept));
}

#[test]
fn stops_after_max_rounds() {
    let out =
        search::<(), _>(&spec(0.0, 2), &mut |sets| Ok(sets.iter().map(|s| additive(s, &[0.0])).collect())).unwrap();
    assert_eq!((out.stop, out.rounds.len()), (StopReason::MaxRounds, 2));
    assert_eq!(out.chosen, vec![Clip, ConvNext, Pix2Struct]);
}

#[test]
fn errors_from_evaluation_stop_the_search() {
    let mut calls = 0;
    let r = search(&spec(0.0, 4), &mut |sets| {
        calls += 1;
        if calls == 3 {
            Err("killed")
        } else {
            Ok(sets.iter().map(|s| additive(s, &[0.0])).collect())
        }
    });
    assert_eq!(r.unwrap_err(), "killed");
}

#[test]
fn winner_over_runner_up_is_paired_by_seed() {
    // Round 1 sets (start + each candidate in written order: sam, eva02, convnext, pix2struct).
    let table = |set: &[ExpertKind]| -> Vec<f64> {
        match set.last().unwrap() {
            ConvNext => vec![41.0, 43.0, 42.0],
            Pix2Struct => vec![39.5, 44.5, 42.0], // convnext − pix2struct = [1.5, −1.5, 0]
            Eva02 => vec![30.0, 30.0, 30.0],
            _ => vec![20.0, 20.0, 20.0],
        }
    };
    let out = search::<(), _>(&spec(100.0, 4), &mut |sets| {
        Ok(sets.iter().map(|s| if s.len() == 1 { vec![35.0; 3] } else { table(s) }).collect())
    })
    .unwrap();
    let r = &out.rounds[0];
    assert_eq!(r.winner, ConvNext);
    let (d, h) = r.over_runner_up.unwrap();
    // Hand: mean 0, sd 1.5, se 1.5/√3, t(2) = 4.303 → half-width 3.7265.
    assert!(d.abs() < 1e-9 && (h - 4.302_652_729_749_464 * 1.5 / 3f64.sqrt()).abs() < 1e-9, "{d} ± {h}");
    assert_eq!(r.beats_runner_up(), Some(false));
    assert!(
        (r.candidates[0].half_width - 4.302_652_729_749_464 * 1.0 / 3f64.sqrt()).abs() < 1e-9,
        "sd of [41, 43, 42] is 1"
    );
    // The same winner with a consistent lead is beyond noise.
    let out = search::<(), _>(&spec(100.0, 4), &mut |sets| {
        Ok(sets
            .iter()
            .map(|s| {
                if s.len() == 1 {
                    vec![35.0; 3]
                } else if s.last() == Some(&Pix2Struct) {
                    vec![40.0, 42.2, 40.8]
                } else {
                    table(s)
                }
            })
            .collect())
    })
    .unwrap();
    assert_eq!(out.rounds[0].beats_runner_up(), Some(true));
    assert_eq!(out.stop, StopReason::MinGain);
}

#[test]
fn metrics_read_the_right_scores() {
    let fam = |family, score| FamilyScore { family, score, accuracy: score, yes_ratio: None, n: 10 };
    let s = Scores::new(vec![fam(Family::Ocr, 40.0), fam(Family::Vqa, 70.0)]);
    assert_eq!(metric_value(&Metric::Average, &s), 55.0);
    assert_eq!(metric_value(&Metric::Family(Family::Ocr), &s), 40.0);
    assert_eq!(metric_value(&Metric::Weighted(vec![(Family::Ocr, 3.0), (Family::Vqa, 1.0)]), &s), 47.5);
}

#[test]
fn worst_case_sets_count_and_sizes_match_a_full_search() {
    let g = spec(0.0, 3);
    let sets = crate::search::rounds::worst_case_sets(&g);
    assert_eq!(sets.len(), g.worst_case_sets());
    assert_eq!(sets.len(), 1 + 4 + 3 + 2);
    let sizes: Vec<usize> = sets.iter().map(|s| s.len()).collect();
    assert_eq!(sizes, vec![1, 2, 2, 2, 2, 3, 3, 3, 4, 4]);
    let mut distinct = sets.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), sets.len());
}

#[test]
fn a_one_seed_score_reads_back_after_json_stores_its_nan_interval_as_null() {
    let one = SetScore::new(None, vec![ExpertKind::Clip], vec![50.0]);
    assert!(one.half_width.is_nan());
    let text = serde_json::to_string(&one).unwrap();
    assert!(text.contains("\"half_width\":null"), "{text}");
    let back: SetScore = serde_json::from_str(&text).unwrap();
    assert!(back.half_width.is_nan() && back.mean == 50.0 && back.per_seed == vec![50.0]);
}

#[test]
fn a_one_seed_round_reads_back_after_json_stores_its_nan_margin_as_null() {
    let round = Round {
        index: 1,
        from: vec![ExpertKind::Clip],
        from_mean: 10.0,
        candidates: vec![SetScore::new(Some(ExpertKind::Sam), vec![ExpertKind::Clip, ExpertKind::Sam], vec![12.0])],
        winner: ExpertKind::Sam,
        gain: 2.0,
        over_runner_up: Some((1.5, f64::NAN)),
        kept: true,
    };
    let text = serde_json::to_string(&round).unwrap();
    assert!(text.contains("\"over_runner_up\":[1.5,null]"), "{text}");
    let back: Round = serde_json::from_str(&text).unwrap();
    let (mean, half) = back.over_runner_up.unwrap();
    assert!(mean == 1.5 && half.is_nan());
    let none: Round = serde_json::from_str(&text.replace("[1.5,null]", "null")).unwrap();
    assert_eq!(none.over_runner_up, None);
}
