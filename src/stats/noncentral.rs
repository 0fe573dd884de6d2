//! The noncentral t distribution's survival function, by integrating over the chi distribution.
//!
//! With T' = (Z + δ)/√(V/ν), Z standard normal and V ~ χ²_ν independent, and X = √V ~ χ_ν:
//! P(T' > c) = ∫₀^∞ Φ(δ − c·x/√ν) f_χν(x) dx, the complement of P(T' ≤ c) = ∫ Φ(c·√(v/ν) − δ) f_χ²ν(v) dv
//! after the change of variable v = x² (Owen 1965, "A special case of a bivariate non-central
//! t-distribution", Biometrika 52).
//! The χ_ν mass lies within √ν ± 13 up to 10⁻³⁶; the integrand's one steep place, where Φ's argument is 0,
//! is made a break point; adaptive Gauss–Kronrod holds the estimated absolute error below [`ABS_TOL`]
//! (agreement with statsmodels' power, through scipy's noncentral t, is about 1e-11).

use statrs::distribution::{Chi, Continuous, ContinuousCDF};

use super::dist::standard_normal;
use super::quadrature::integrate;

/// Absolute error tolerance of every integral here.
pub(super) const ABS_TOL: f64 = 1e-13;

/// Half-width, in chi units, of the integration range around √ν (the tails beyond hold under 10⁻³⁶).
const CHI_REACH: f64 = 13.0;

/// ∫ g(x) f_χν(x) dx over the χ_ν bulk, split at `kink` when it lies inside.
pub(super) fn chi_expectation(df: u64, kink: f64, upper: f64, g: impl Fn(f64) -> f64) -> f64 {
    let chi = Chi::new(df).expect("df is at least 1");
    let centre = (df as f64).sqrt();
    let lo = (centre - CHI_REACH).max(0.0);
    let hi = (centre + CHI_REACH).min(upper);
    let f = |x: f64| g(x) * chi.pdf(x);
    if kink > lo && kink < hi {
        integrate(f, lo, kink, 0.5 * ABS_TOL) + integrate(f, kink, hi, 0.5 * ABS_TOL)
    } else {
        integrate(f, lo, hi, ABS_TOL)
    }
}

/// P(T' > c) for the noncentral t with `df` degrees of freedom and noncentrality `ncp`.
pub(super) fn nct_sf(c: f64, df: u64, ncp: f64) -> f64 {
    let normal = standard_normal();
    let scale = (df as f64).sqrt();
    let kink = if c > 0.0 { ncp * scale / c } else { f64::NAN };
    chi_expectation(df, kink, f64::INFINITY, |x| normal.cdf(ncp - c * x / scale)).clamp(0.0, 1.0)
}
