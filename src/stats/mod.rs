//! Statistics over seeds and questions: Student-t intervals and tests, TOST equivalence, Holm's adjustment and
//! the power of these tests.
//!
//! Methods: the one-sample t test and interval (Student 1908, "The probable error of a mean", Biometrika 6);
//! two one-sided tests for equivalence (Schuirmann 1987, J. Pharmacokinetics and Biopharmaceutics 15); Holm's
//! step-down adjustment (Holm 1979, "A simple sequentially rejective multiple test procedure", Scandinavian
//! Journal of Statistics 6); exact power through the noncentral t, and TOST's exact power at a true mean of 0,
//! both as integrals over the chi distribution (Owen 1965, Biometrika 52), by adaptive Gauss–Kronrod
//! quadrature (Piessens et al. 1983, QUADPACK). Distributions come from `statrs`. Every value is checked
//! against scipy/statsmodels in `tests/fixtures/stats_expected.json` (written by `tools/stats_expected.py`).

mod dist;
mod estimate;
mod holm;
mod noncentral;
mod power;
mod quadrature;
mod ttest;

#[cfg(test)]
mod expected;
#[cfg(test)]
mod tests;

pub use estimate::{binomial_half_width, mean_interval, paired_difference, t_quantile, Estimate, Side};
pub use holm::holm;
pub use power::{detectable_effect, detectable_margin, power, tost_power, values_needed, MAX_VALUES};
pub use ttest::TTest;
