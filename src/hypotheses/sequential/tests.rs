use super::*;
use crate::hypotheses::calibration;
use crate::hypotheses::judge::ALPHA;
use crate::stats::TTest;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RULE: SequentialRule = SequentialRule { min: 3, max: 10 };

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

#[test]
fn the_shares_spend_alpha_once_over_the_looks() {
    let total: f64 = (0..=12).map(|n| RULE.share(n)).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    assert_eq!((RULE.share(2), RULE.share(11)), (0.0, 0.0));
    assert!((RULE.share(3) - 0.09).abs() < 1e-12 && (RULE.share(10) - 0.19).abs() < 1e-12);
    // min = max is the fixed design: one look at the full level.
    let fixed = SequentialRule { min: 5, max: 5 };
    assert_eq!(fixed.share(5), 1.0);
    let xs = [1.0, 2.0, 3.0, 2.5, 1.5];
    assert_eq!(fixed.p_value(&xs, |d| Some(d.len() as f64 / 100.0)), 0.05);
    // Before the first look nothing is tested; each look's p-value is divided by its share.
    assert_eq!(RULE.p_value(&xs[..2], |_| Some(0.0)), 1.0);
    let p = RULE.p_value(&xs, |d| Some(if d.len() == 4 { 0.001 } else { 0.5 }));
    assert!((p - 0.001 / RULE.share(4)).abs() < 1e-12, "{p}");
    assert!(RULE.words(ALPHA).contains("3: 0.45, 4: 0.35"), "{}", RULE.words(ALPHA));
}

#[test]
fn identical_arms_are_called_different_at_most_at_the_nominal_rate() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let trials = 20_000;
    let (fp, n) = aa_false_positives(&RULE, ALPHA, trials, || normal(&mut rng));
    let rate = fp as f64 / n as f64;
    assert!(rate <= ALPHA, "sequential rule on normal A/A data: {rate}");
    // The same harness catches a rule that is not honest: testing every look at the full level.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let naive = SequentialRule { min: 3, max: 10 };
    let mut naive_fp = 0;
    for _ in 0..trials {
        let xs: Vec<f64> = (0..naive.max).map(|_| normal(&mut rng)).collect();
        let any = (naive.min..=naive.max).any(|k| {
            let t = TTest::of(&xs[..k]).unwrap();
            2.0 * t.p_greater(0.0).min(t.p_less(0.0)) < ALPHA
        });
        naive_fp += any as usize;
    }
    eprintln!(
        "A/A, normal differences, looks {}..{}: alpha spending {fp} of {n} ({:.2}%); every look at {ALPHA}: \
         {naive_fp} of {trials} ({:.2}%)",
        RULE.min,
        RULE.max,
        100.0 * rate,
        100.0 * naive_fp as f64 / trials as f64
    );
    assert!(naive_fp as f64 / trials as f64 > 1.3 * ALPHA, "naive repeated testing: {naive_fp} of {trials}");
}

#[test]
fn the_committed_aa_calibration_seeds_keep_the_rate_at_or_below_nominal() {
    // Two identical arms drawn from the ten seeds of the committed quickstart calibration (one cell
    // under seeds 0–9): each seed's difference is one seed's score minus another's.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/quickstart-calibration/calibration.json");
    let cal = calibration::read(&path).unwrap().expect("the committed calibration");
    let values: Vec<f64> = cal.seeds.iter().map(|(_, s)| s.average).collect();
    assert_eq!(values.len(), 10);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (fp, n) = aa_false_positives(&RULE, ALPHA, 20_000, || {
        let i = rng.random_range(0..values.len());
        let j = (i + rng.random_range(1..values.len())) % values.len();
        values[i] - values[j]
    });
    eprintln!(
        "A/A, differences of the committed calibration's seeds, looks {}..{}: {fp} of {n} ({:.2}%)",
        RULE.min,
        RULE.max,
        100.0 * fp as f64 / n as f64
    );
    assert!((fp as f64 / n as f64) <= ALPHA, "{fp} of {n}");
}

#[test]
fn a_large_effect_stops_early_and_a_null_one_runs_to_the_maximum() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // Seeds needed until the claim's sequential p is below α (the support side only).
    let mut stop_at = |shift: f64| -> usize {
        let xs: Vec<f64> = (0..RULE.max).map(|_| shift + normal(&mut rng)).collect();
        (RULE.min..=RULE.max)
            .find(|&n| RULE.p_value(&xs[..n], |d| TTest::of(d).map(|t| (2.0 * t.p_greater(0.0)).min(1.0))) < ALPHA)
            .unwrap_or(RULE.max + 1)
    };
    let big: Vec<usize> = (0..200).map(|_| stop_at(4.0)).collect();
    let mean = big.iter().sum::<usize>() as f64 / big.len() as f64;
    assert!(mean < 6.0, "an effect of 4 SD decides after {mean} seeds on average");
    let none: Vec<usize> = (0..200).map(|_| stop_at(0.0)).collect();
    assert!(none.iter().filter(|&&n| n > RULE.max).count() > 190, "{none:?}");
}
