//! Student-t tail probabilities and quantiles (through `statrs`), accurate for every degree of freedom.
//!
//! `statrs`' own t quantile is 6·10⁻⁵ relative off at 10⁶ degrees of freedom and does not return at 10⁸,
//! and its t CDF (a continued fraction capped at 140 terms) drifts past about 10⁸: the quantile here is
//! polished by Newton steps on the t survival function, and beyond [`NORMAL_BEYOND`] degrees of freedom the
//! normal distribution stands in (the two then differ by about 10⁻⁷ relative or less, e.g. 6·10⁻⁸ in P(T > 2)).

use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

/// Degrees of freedom beyond which the standard normal replaces Student's t.
pub(super) const NORMAL_BEYOND: f64 = 1e8;

/// Degrees of freedom up to which `statrs`' t quantile is an accurate starting point.
const STATRS_QUANTILE_UP_TO: f64 = 1e4;

/// The standard normal distribution.
pub(super) fn standard_normal() -> Normal {
    Normal::standard()
}

/// Student's t with `df` degrees of freedom (`df` > 0, finite, at most [`NORMAL_BEYOND`]).
fn student(df: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, df).expect("df is positive and finite")
}

/// P(T > t) for Student's t with `df` degrees of freedom (NaN for a NaN `t` or `df` ≤ 0).
pub(super) fn t_sf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        f64::NAN
    } else if df > NORMAL_BEYOND {
        standard_normal().sf(t)
    } else {
        student(df).sf(t)
    }
}

/// The `t` with P(T > t) = `p` for Student's t with `df` degrees of freedom (NaN unless 0 < `p` < 1, `df` > 0).
pub(super) fn t_upper(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || p <= 0.0 || p >= 1.0 || df <= 0.0 {
        return f64::NAN;
    }
    if p > 0.5 {
        return -t_upper(1.0 - p, df);
    }
    if df > NORMAL_BEYOND {
        return standard_normal().inverse_cdf(1.0 - p);
    }
    let dist = student(df);
    let mut t =
        if df <= STATRS_QUANTILE_UP_TO { dist.inverse_cdf(1.0 - p) } else { standard_normal().inverse_cdf(1.0 - p) };
    // Newton on sf(t) − p; sf is convex for t ≥ 0, so the steps approach the root from below once there.
    for _ in 0..100 {
        let step = (dist.sf(t) - p) / dist.pdf(t);
        if !step.is_finite() {
            break;
        }
        t += step;
        if step.abs() <= 1e-15 * t.abs().max(1.0) {
            break;
        }
    }
    t
}
