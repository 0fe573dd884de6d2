//! Edge cases of the statistics module: constant values, too few values, NaN, very many values.

use super::dist::{t_sf, t_upper};
use super::*;

/// scipy.stats.t.isf(0.025, df) for df = 1, 2, 10⁶ and norm.isf(0.025).
const T975: [(f64, f64); 3] = [(1.0, 12.706204736174705), (2.0, 4.302652729749464), (1e6, 1.9599663568141072)];
/// scipy.stats.norm.isf(0.025) and norm.isf(0.2).
const Z975: f64 = 1.9599639845400545;
const Z80: f64 = 0.8416212335729143;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn t_quantile_is_exact_and_nan_without_freedom() {
    assert!(rel(t_quantile(1), T975[0].1) < 1e-12, "{}", t_quantile(1));
    assert!(rel(t_quantile(2), T975[1].1) < 1e-12, "{}", t_quantile(2));
    assert!(t_quantile(0).is_nan());
    let (m, h) = mean_interval(&[1.0, 2.0, 3.0]);
    assert!(m == 2.0 && rel(h, T975[1].1 / 3f64.sqrt()) < 1e-12, "{h}");
}

#[test]
fn t_quantile_stays_exact_for_huge_freedom() {
    // statrs' own quantile is 6e-5 off at 10⁶ and does not return at 10⁸: both must be right here.
    assert!(rel(t_upper(0.025, T975[2].0), T975[2].1) < 1e-9, "{}", t_upper(0.025, 1e6));
    assert!(rel(t_upper(0.025, 1e12), Z975) < 1e-12);
    assert!(rel(t_upper(0.975, 1e12), -Z975) < 1e-12);
    // statrs' normal tail (through its erfc) is good to about 5e-11 relative.
    assert!(rel(t_sf(Z975, 1e12), 0.025) < 1e-9);
    assert!(t_upper(0.0, 5.0).is_nan() && t_upper(1.0, 5.0).is_nan() && t_upper(f64::NAN, 5.0).is_nan());
}

#[test]
fn constant_values_give_certain_p_values_and_a_zero_width_interval() {
    let t = TTest::of(&[2.0; 4]).expect("four values");
    assert_eq!((t.sd, t.se, t.df), (0.0, 0.0, 3.0));
    assert_eq!(t.interval(0.95), (2.0, 2.0));
    assert_eq!((t.p_greater(0.0), t.p_less(0.0)), (0.0, 1.0));
    assert_eq!((t.p_greater(5.0), t.p_less(5.0)), (1.0, 0.0));
    // The mean on h0 itself shows nothing either way.
    assert_eq!((t.p_greater(2.0), t.p_less(2.0)), (1.0, 1.0));
    assert_eq!((t.tost(3.0), t.tost(1.0)), (0.0, 1.0));
}

#[test]
fn fewer_than_two_values_or_non_finite_ones_are_refused() {
    assert_eq!(TTest::of(&[]), None);
    assert_eq!(TTest::of(&[1.0]), None);
    assert_eq!(TTest::of(&[1.0, f64::NAN, 2.0]), None);
    assert_eq!(TTest::of(&[1.0, f64::INFINITY]), None);
}

#[test]
fn nonsense_arguments_give_nan() {
    let t = TTest::of(&[1.0, 2.0, 4.0]).expect("three values");
    for level in [0.0, 1.0, 1.5, f64::NAN] {
        let (lo, hi) = t.interval(level);
        assert!(lo.is_nan() && hi.is_nan(), "level {level}");
    }
    assert!(t.p_greater(f64::NAN).is_nan() && t.p_less(f64::NAN).is_nan());
    for margin in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(t.tost(margin).is_nan(), "margin {margin}");
    }
    assert!(holm(&[0.1, f64::NAN]).iter().all(|p| p.is_nan()));
    assert!(holm(&[0.1, 1.5]).iter().all(|p| p.is_nan()));
    assert!(power(f64::NAN, 1.0, 5, 0.025).is_nan());
    assert!(power(1.0, -1.0, 5, 0.025).is_nan());
    assert!(power(1.0, 1.0, 1, 0.025).is_nan());
    assert!(power(1.0, 1.0, 5, 0.0).is_nan());
    assert!(detectable_effect(1.0, 1, 0.025, 0.8).is_nan());
    assert!(detectable_effect(f64::NAN, 5, 0.025, 0.8).is_nan());
    assert!(detectable_effect(1.0, 5, 0.025, 1.0).is_nan());
    assert!(detectable_margin(1.0, 1, 0.05, 0.8).is_nan());
    assert!(detectable_margin(1.0, 5, f64::NAN, 0.8).is_nan());
    assert!(tost_power(0.0, 1.0, 5, 0.05).is_nan());
    assert_eq!(values_needed(f64::NAN, 1.0, 0.025, 0.8), None);
    assert_eq!(values_needed(1.0, f64::NAN, 0.025, 0.8), None);
    assert_eq!(values_needed(1.0, 1.0, 0.025, 1.0), None);
}

#[test]
fn holm_keeps_order_and_bounds() {
    assert!(holm(&[]).is_empty());
    assert_eq!(holm(&[0.3]), vec![0.3]);
    // Sorted 0.01·3, 0.02·2 = 0.04, max(0.04, 0.9) = 0.9; given back in the input order.
    assert_eq!(holm(&[0.9, 0.01, 0.02]), vec![0.9, 0.03, 0.04]);
    assert_eq!(holm(&[0.5, 0.5]), vec![1.0, 1.0]);
}

#[test]
fn power_at_zero_effect_is_alpha_and_sd_zero_is_certain() {
    // The noncentral integral at ncp 0 is the central t tail at its own critical value.
    for n in [2, 3, 10, 50] {
        assert!(rel(power(0.0, 1.0, n, 0.025), 0.025) < 1e-9, "n {n}: {}", power(0.0, 1.0, n, 0.025));
    }
    assert_eq!((power(0.1, 0.0, 3, 0.025), power(-0.1, 0.0, 3, 0.025), power(0.0, 0.0, 3, 0.025)), (1.0, 0.0, 0.0));
    assert_eq!(detectable_effect(0.0, 5, 0.025, 0.8), 0.0);
    assert_eq!(detectable_margin(0.0, 5, 0.05, 0.8), 0.0);
    assert_eq!(tost_power(1.0, 0.0, 5, 0.05), 1.0);
    assert_eq!(values_needed(0.1, 0.0, 0.025, 0.8), Some(2));
}

#[test]
fn values_needed_refuses_non_positive_effects_and_stops_at_the_cap() {
    assert_eq!(values_needed(0.0, 1.0, 0.025, 0.8), None);
    assert_eq!(values_needed(-1.0, 1.0, 0.025, 0.8), None);
    // 0.05 sd needs about 3 100 values: beyond the cap.
    assert_eq!(values_needed(0.05, 1.0, 0.025, 0.8), None);
    let n = values_needed(0.1, 1.0, 0.025, 0.8).expect("about 787 values");
    assert!(power(0.1, 1.0, n, 0.025) >= 0.8 && power(0.1, 1.0, n - 1, 0.025) < 0.8, "{n}");
    assert!(n <= MAX_VALUES);
}

#[test]
fn very_many_values_reach_the_normal_limit() {
    // One million values ±1 around 0.001: mean 0.001, sd ≈ 1.
    let xs: Vec<f64> = (0..1_000_000).map(|i| 0.001 + if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let t = TTest::of(&xs).expect("many values");
    let z = t.mean / t.se;
    let (lo, hi) = t.interval(0.95);
    assert!(rel(hi - lo, 2.0 * T975[2].1 * t.se) < 1e-9, "{lo} {hi}");
    // P(T > z) with 999 999 df: within 1e-6 of the normal tail (they differ by ~1e-7 there).
    let normal = 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
    assert!(rel(t.p_greater(0.0), normal) < 1e-6, "{} vs {normal}", t.p_greater(0.0));
    // Power and detectable effect at n = 10⁶ follow the normal formulas (z_{1−α} + z_{power})·sd/√n.
    let effect = detectable_effect(2.0, 1_000_000, 0.025, 0.8);
    assert!(rel(effect, (Z975 + Z80) * 2.0 / 1000.0) < 1e-5, "{effect}");
    assert!((power(effect, 2.0, 1_000_000, 0.025) - 0.8).abs() < 1e-8);
    let margin = detectable_margin(2.0, 1_000_000, 0.05, 0.8);
    assert!((tost_power(margin, 2.0, 1_000_000, 0.05) - 0.8).abs() < 1e-8, "{margin}");
}
