#!/usr/bin/env python3
"""Expected values for src/stats (Eyrie's t tests, TOST, Holm, power), from scipy and statsmodels.

Writes tests/fixtures/stats_expected.json, which the Rust test `stats::expected` checks value by value
(CI needs no Python: the JSON is committed). Rerun after changing a case:

    pip install scipy statsmodels
    python3 tools/stats_expected.py

Sources: scipy.stats.ttest_1samp (p-values, confidence intervals); statsmodels ttost_paired against a zero
vector (one-sample TOST, Schuirmann 1987); statsmodels multipletests(method="holm") (Holm 1979);
statsmodels TTestPower().power / solve_power (one-sided, alternative="larger"). TOST's power at a true mean
of 0 has no statsmodels routine: it is computed here by scipy quadrature of the exact integral
P(|Z| < d - c*X/sqrt(df)), X ~ chi_df (Owen 1965), checked by simulation, with the usual approximation
(t_{1-alpha,df} + t_{1-beta/2,df})*sd/sqrt(n) recorded beside it for comparison.
"""

import json
import math
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import integrate, optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stats_expected.json"


def sample(n, mean, sd, seed):
    """n values with exactly this mean and sample standard deviation (a fixed standardised draw, rescaled)."""
    z = np.random.default_rng(seed).standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return [float(v) for v in mean + sd * z]


def t_cases():
    cases = []
    specs = [(2, 1.5, 0.5), (2, -0.3, 2.0), (3, 0.8, 1.0), (3, -4.0, 10.0), (5, 0.46, 0.5), (5, -1.2, 3.0),
             (10, 2.5, 10.0), (10, -0.4, 0.7), (10, 0.05, 5.0)]
    for seed, (n, mean, sd) in enumerate(specs):
        xs = sample(n, mean, sd, seed)
        x = np.array(xs)
        case = {"xs": xs, "mean": float(x.mean()), "sd": float(x.std(ddof=1)), "tests": [], "intervals": [],
                "tost": []}
        for h0 in (0.0, 1.0, -2.0):
            case["tests"].append({
                "h0": h0,
                "p_greater": float(stats.ttest_1samp(x, h0, alternative="greater").pvalue),
                "p_less": float(stats.ttest_1samp(x, h0, alternative="less").pvalue),
                "p_two_sided": float(stats.ttest_1samp(x, h0).pvalue),
            })
        for level in (0.95, 0.90, 0.99):
            ci = stats.ttest_1samp(x, 0.0).confidence_interval(level)
            case["intervals"].append({"level": level, "low": float(ci.low), "high": float(ci.high)})
        for margin in (0.5, 2.0, 5.0, 20.0):
            p = ttost_paired(x, np.zeros_like(x), -margin, margin)[0]
            case["tost"].append({"margin": margin, "p": float(p)})
        cases.append(case)
    return cases


def holm_cases():
    families = [[0.01, 0.04, 0.03, 0.2], [0.001], [0.5, 0.5, 0.01], [0.02, 0.02, 0.02, 0.02, 0.9],
                [0.3, 0.0001, 0.04, 0.011, 0.6, 0.012]]
    return [{"ps": ps, "adjusted": [float(v) for v in multipletests(ps, method="holm")[1]]} for ps in families]


def power_cases():
    tp = TTestPower()
    cases = []
    for effect, sd, n, alpha in [(1.0, 2.0, 2, 0.025), (1.0, 2.0, 3, 0.025), (1.0, 2.0, 5, 0.025),
                                 (1.0, 2.0, 10, 0.025), (0.3, 0.5, 10, 0.05), (5.0, 10.0, 5, 0.025),
                                 (-0.5, 1.0, 10, 0.025), (2.0, 0.5, 3, 0.025), (0.1, 1.0, 200, 0.025)]:
        pw = tp.power(effect / sd, n, alpha, alternative="larger")
        cases.append({"effect": effect, "sd": sd, "n": n, "alpha": alpha, "power": float(pw)})
    return cases


def effect_cases():
    tp = TTestPower()
    cases = []
    for sd, n, alpha, power in [(2.0, 2, 0.025, 0.8), (2.0, 3, 0.025, 0.8), (2.0, 5, 0.025, 0.8), (2.0, 10, 0.025, 0.8),
                                (0.5, 10, 0.05, 0.9), (10.0, 5, 0.025, 0.5)]:
        d = tp.solve_power(effect_size=None, nobs=n, alpha=alpha, power=power, alternative="larger")
        # solve_power stops its root search early (about 1e-7 relative off); the same root to full precision:
        exact = optimize.brentq(lambda e: tp.power(e, n, alpha, alternative="larger") - power, 1e-6, 1e3,
                                xtol=1e-15, rtol=1e-15)
        cases.append({"sd": sd, "n": n, "alpha": alpha, "power": power, "effect": float(d * sd),
                      "effect_exact": float(exact * sd)})
    return cases


def needed_cases():
    tp = TTestPower()
    cases = []
    for effect, sd, alpha, power in [(1.0, 2.0, 0.025, 0.8), (1.0, 1.0, 0.025, 0.8), (3.0, 1.0, 0.025, 0.8),
                                     (0.5, 10.0, 0.025, 0.8), (2.0, 5.0, 0.05, 0.9), (1.0, 0.5, 0.025, 0.99)]:
        nobs = tp.solve_power(effect_size=effect / sd, nobs=None, alpha=alpha, power=power, alternative="larger")
        needed = max(2, math.ceil(nobs))
        # The integer answer brackets the target: checked with scipy's noncentral t directly.
        def pw(m):
            return tp.power(effect / sd, m, alpha, alternative="larger")
        assert pw(needed) >= power and (needed == 2 or pw(needed - 1) < power), (effect, sd, nobs)
        cases.append({"effect": effect, "sd": sd, "alpha": alpha, "power": power, "nobs": float(nobs),
                      "needed": needed if needed <= 1000 else None})
    return cases


def tost_power(margin, sd, n, alpha):
    """Exact TOST power at a true mean of 0 (see the module doc)."""
    df = n - 1
    d = margin * math.sqrt(n) / sd
    c = stats.t.isf(alpha, df)
    reach = d * math.sqrt(df) / c
    f = lambda x: math.erf((d - c * x / math.sqrt(df)) / math.sqrt(2)) * stats.chi.pdf(x, df)
    centre = math.sqrt(df)
    lo, hi = max(0.0, centre - 13), min(reach, centre + 13)
    if hi <= lo:
        return 0.0
    return integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-12, limit=500)[0]


def simulated_tost_power(margin, sd, n, alpha, draws=200_000, seed=7):
    x = np.random.default_rng(seed).normal(0.0, sd, size=(draws, n))
    m, se = x.mean(axis=1), x.std(axis=1, ddof=1) / math.sqrt(n)
    c = stats.t.isf(alpha, n - 1)
    return float(np.mean(((m + margin) / se > c) & ((m - margin) / se < -c)))


def margin_cases():
    cases = []
    for sd, n, alpha, power in [(2.0, 2, 0.05, 0.8), (2.0, 3, 0.05, 0.8), (2.0, 5, 0.05, 0.8), (2.0, 10, 0.05, 0.8),
                                (0.5, 10, 0.025, 0.9), (10.0, 5, 0.05, 0.5)]:
        d = optimize.brentq(lambda m: tost_power(m, sd, n, alpha) - power, 1e-9, 1e4, xtol=1e-14, rtol=1e-14)
        sim = simulated_tost_power(d, sd, n, alpha)
        assert abs(sim - power) < 5 * math.sqrt(power * (1 - power) / 200_000), (sd, n, sim, power)
        df = n - 1
        beta = 1 - power
        approx = (stats.t.isf(alpha, df) + stats.t.isf(beta / 2, df)) * sd / math.sqrt(n)
        cases.append({"sd": sd, "n": n, "alpha": alpha, "power": power, "margin": d, "simulated_power": sim,
                      "approximate_margin": float(approx)})
    tost = []
    for margin, sd, n, alpha in [(1.0, 2.0, 5, 0.05), (3.0, 2.0, 10, 0.05), (0.5, 0.5, 3, 0.025)]:
        tost.append({"margin": margin, "sd": sd, "n": n, "alpha": alpha, "power": tost_power(margin, sd, n, alpha)})
    return cases, tost


def main():
    margins, tost = margin_cases()
    out = {
        "generated_by": "tools/stats_expected.py",
        "versions": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__, "numpy": np.__version__},
        "t_tests": t_cases(),
        "holm": holm_cases(),
        "power": power_cases(),
        "detectable_effect": effect_cases(),
        "values_needed": needed_cases(),
        "detectable_margin": margins,
        "tost_power": tost,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
