//! Power of the one-sided one-sample t test and of TOST, and the effects, margins and sample sizes they imply.
//!
//! Exact: the t test's power is the noncentral t survival function at the critical value (as statsmodels
//! `TTestPower(alternative="larger")`); TOST's power at a true mean of 0 is, with δ = margin·√n/sd,
//! c = t_{1−α,ν} and X ~ χ_ν, P(|Z| < δ − c·X/√ν) = ∫₀^{δ√ν/c} erf((δ − c·x/√ν)/√2) f_χν(x) dx
//! (Owen 1965), not the usual approximation (t_{1−α,ν} + t_{1−β/2,ν})·sd/√n.

use statrs::function::erf::erf;

use super::dist::t_upper;
use super::noncentral::{chi_expectation, nct_sf};

/// The most values [`values_needed`] considers.
pub const MAX_VALUES: usize = 1000;

/// Whether `p` is a probability strictly between 0 and 1.
fn is_probability(p: f64) -> bool {
    p > 0.0 && p < 1.0
}

/// Whether `x` is finite and above 0.
fn is_positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Whether `sd` is a usable standard deviation (finite, non-negative).
fn is_sd(sd: f64) -> bool {
    sd.is_finite() && sd >= 0.0
}

/// The `x` with `f(x)` = `target` for `f` increasing, by bracketing outward from `lo`..`hi` and bisecting.
fn solve_increasing(f: impl Fn(f64) -> f64, target: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..60 {
        if f(hi) >= target {
            break;
        }
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..60 {
        if f(lo) <= target {
            break;
        }
        hi = lo;
        lo = if lo > 0.0 { 0.0 } else { 2.0 * lo - 1.0 };
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if hi - lo <= 1e-13 * mid.abs().max(1.0) {
            break;
        }
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Power of the one-sided t test with `n` values at `alpha` for noncentrality `ncp` (n ≥ 2).
fn power_at(ncp: f64, n: usize, alpha: f64) -> f64 {
    let df = n - 1;
    nct_sf(t_upper(alpha, df as f64), df as u64, ncp)
}

/// Power of the one-sided one-sample t test of H1: mu > 0 at level `alpha` (e.g. 0.025) with true mean
/// `effect`, standard deviation `sd`, `n` values: exact, through the noncentral t distribution.
/// At sd = 0 it is 1 for a positive effect, else 0; NaN for n < 2 or a NaN, infinite or out-of-range input.
pub fn power(effect: f64, sd: f64, n: usize, alpha: f64) -> f64 {
    if n < 2 || !effect.is_finite() || !is_sd(sd) || !is_probability(alpha) {
        f64::NAN
    } else if sd == 0.0 {
        if effect > 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        power_at(effect / sd * (n as f64).sqrt(), n, alpha)
    }
}

/// Smallest true effect detectable with probability `power` (e.g. 0.8) at `alpha` with n values
/// (0 at sd = 0; NaN for n < 2 or a NaN, infinite or out-of-range input).
pub fn detectable_effect(sd: f64, n: usize, alpha: f64, power: f64) -> f64 {
    if n < 2 || !is_sd(sd) || !is_probability(alpha) || !is_probability(power) {
        return f64::NAN;
    }
    if sd == 0.0 {
        return 0.0;
    }
    let ncp = solve_increasing(|d| power_at(d, n, alpha), power, 0.0, 1.0);
    ncp * sd / (n as f64).sqrt()
}

/// Fewest values (n >= 2) for which `effect` is detected with probability `power`; None above a cap
/// ([`MAX_VALUES`]), for a non-positive effect, or a NaN, infinite or out-of-range input.
pub fn values_needed(effect: f64, sd: f64, alpha: f64, power: f64) -> Option<usize> {
    if !is_positive(effect) || !is_sd(sd) || !is_probability(alpha) || !is_probability(power) {
        return None;
    }
    let reaches = |n: usize| self::power(effect, sd, n, alpha) >= power;
    if !reaches(MAX_VALUES) {
        return None;
    }
    // Power grows with n for a positive effect: the first n that reaches it, by bisection over [2, MAX_VALUES].
    let (mut lo, mut hi) = (1, MAX_VALUES);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if mid >= 2 && reaches(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Probability that TOST (each side at `alpha` < 0.5) shows equivalence within ±`margin` with `n` values of
/// standard deviation `sd` whose true mean is 0: exact (see the module doc). 1 at sd = 0; NaN for n < 2, a
/// non-positive margin or a NaN, infinite or out-of-range input.
pub fn tost_power(margin: f64, sd: f64, n: usize, alpha: f64) -> f64 {
    if n < 2 || !is_positive(margin) || !is_sd(sd) || !is_probability(alpha) || alpha >= 0.5 {
        return f64::NAN;
    }
    if sd == 0.0 {
        return 1.0;
    }
    tost_power_at(margin * (n as f64).sqrt() / sd, n, alpha)
}

/// TOST power at a true mean of 0 for the standardised margin `delta` = margin·√n/sd (n ≥ 2, alpha < 0.5).
fn tost_power_at(delta: f64, n: usize, alpha: f64) -> f64 {
    let df = n - 1;
    let scale = (df as f64).sqrt();
    let c = t_upper(alpha, df as f64);
    let reach = delta * scale / c;
    let p = chi_expectation(df as u64, f64::NAN, reach, |x| erf((delta - c * x / scale) / std::f64::consts::SQRT_2));
    p.clamp(0.0, 1.0)
}

/// Smallest equivalence margin TOST (each side at `alpha` < 0.5) shows with probability `power` when the true
/// mean is 0: exact, by solving [`tost_power`] (0 at sd = 0; NaN for n < 2 or a NaN, infinite or out-of-range
/// input).
pub fn detectable_margin(sd: f64, n: usize, alpha: f64, power: f64) -> f64 {
    if n < 2 || !is_sd(sd) || !is_probability(alpha) || alpha >= 0.5 || !is_probability(power) {
        return f64::NAN;
    }
    if sd == 0.0 {
        return 0.0;
    }
    let delta = solve_increasing(|d| tost_power_at(d, n, alpha), power, 0.0, 1.0);
    delta * sd / (n as f64).sqrt()
}
