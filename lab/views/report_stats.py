"""The report's statistics, on plain arrays: intervals over seeds, slopes, equivalence, multiplicity.

Every test here is over seeds, the unit of replication: one number per seed (a difference from the control, a
slope, a jump), then a one-sample t-test over those numbers. With 3 seeds that test has 2 degrees of freedom, so
its intervals are wide; that is the data speaking, not the method.
"""

import math

import numpy as np
from scipy import stats

LEVEL = 0.95


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down: the i-th smallest of m p-values times (m − i + 1), made monotone, capped at 1. (statsmodels'
    multipletests has it too, but runs a full gc.collect() per call: half a second in a process that holds torch.)"""
    order = np.argsort(p)
    stepped = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1)))
    out = np.empty_like(stepped)
    out[order] = stepped
    return out


# The report's --adjust choices. Holm controls the chance of any false claim in a table (what a paper's verdicts
# need); Benjamini–Hochberg the expected share of false ones among the claims (for discovery).
ADJUSTMENTS = {"holm": holm, "bh": stats.false_discovery_control}
ADJUSTMENT_NAMES = {"holm": "Holm", "bh": "Benjamini–Hochberg"}


def t_test(values) -> dict:
    """Mean over seeds, its 95% t-interval and the two-sided p-value against 0. No interval and p = NaN, not a test,
    with fewer than 2 seeds or when every seed gives the same number: a spread of 0 over a few seeds (two runs of a
    discrete metric landing on the same value, or a difference that is 0 by construction) estimates no variance, and
    the t-test's p = 0 would be an artefact of that, not evidence."""
    values = np.asarray(values, float)
    mean = float(values.mean()) if len(values) else math.nan
    if len(values) < 2 or np.ptp(values) <= 1e-12 * (1 + abs(mean)):
        return {"seeds": len(values), "mean": mean, "low": math.nan, "high": math.nan, "p": math.nan}
    result = stats.ttest_1samp(values, 0.0)
    interval = result.confidence_interval(LEVEL)
    return {"seeds": len(values), "mean": mean, "low": float(interval.low), "high": float(interval.high), "p": float(result.pvalue)}


def equivalence_p(values, margin: float) -> float:
    """Two one-sided t-tests (TOST): the p-value for "the mean lies inside (−margin, +margin)". Below 0.05 the 90%
    interval sits inside the margin, which is what "no more than the margin" means at the 5% level."""
    values = np.asarray(values, float)
    if len(values) < 2 or not margin > 0 or np.ptp(values) <= 1e-12 * (1 + abs(values.mean())):
        return math.nan
    above = stats.ttest_1samp(values, -margin, alternative="greater").pvalue
    below = stats.ttest_1samp(values, margin, alternative="less").pvalue
    return float(max(above, below))


def slope(generations, values) -> float:
    """Least-squares change per generation."""
    return float(np.polyfit(np.asarray(generations, float), np.asarray(values, float), 1)[0])


def adjust(p_values, method: str) -> np.ndarray:
    """Adjusted p-values of one family (NaN entries are not tests and stay NaN)."""
    p = np.asarray(p_values, float)
    out = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        out[tested] = ADJUSTMENTS[method](p[tested])
    return out


def interval_text(row) -> str:
    """ "+1.2 [+0.4, +2.0]": mean [95% interval]. No star: outside the declared claims every interval is exploratory."""
    if math.isnan(row["low"]):
        return f"{row['mean']:+.3g}" + (" (1 seed)" if row["seeds"] < 2 else " (the same in every seed: not a test)")
    return f"{row['mean']:+.3g} [{row['low']:+.3g}, {row['high']:+.3g}]"


# The range a metric's values live in, where its band over seeds is cut: shares and coverages in [0, 1]; distances,
# ratios and counts of effective items ≥ 0; the rest (KID, whose unbiased estimate can be negative, and differences)
# unbounded.
UNIT_INTERVAL = (
    "precision",
    "recall",
    "knn_coverage",
    "classes_present",
    "high_quality_share",
    "class_entropy",  # normalised by log K: 1 is uniform
    "copy_share",
    "label_agreement",
    "landing_",
    "unrecognised_share",
    "tails/",
    "classes/recall_",
    "classes/knn_coverage_",
    "classes/label_agreement_",
)
NON_NEGATIVE = (
    "fd_",
    "density",
    "kid_std",
    "vendi",
    "variance_ratio",
    "feature_variance_ratio",
    "dark_level",  # a pixel level
    "w2",
    "mean_sq_error",
    "modes_covered",
    "fit_w2",
    "fit_variance_ratio",
    "fit_mean_sq_error",
    "pixel_w1",
    "class_js_divergence",
    "train_distance_ratio",
    "classes/share_ratio_",
)


def range_of(metric: str) -> tuple[float, float]:
    name = metric.removeprefix("metrics/")
    if name.endswith("_minus_core"):
        return -math.inf, math.inf
    if name.startswith(UNIT_INTERVAL):
        return 0.0, 1.0
    return (0.0, math.inf) if name.startswith(NON_NEGATIVE) else (-math.inf, math.inf)


def band(values, bounds: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float]:
    """95% t-interval for the arithmetic mean over seeds, cut at the metric's range `bounds`. The mean lies in the
    range, so cutting removes only impossible values (the coverage is the t-interval's), and the printed mean always
    lies inside its own interval. (An interval computed on a log or logit scale brackets the geometric or logit mean instead: for a
    skewed metric the arithmetic mean can fall outside it, and a value at the range's edge, a coverage of 1 or a share
    of 0, needs an arbitrary clip before the transform.)"""
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]  # as pandas' mean beside it: a missing value is no seed
    if len(values) < 2:
        return math.nan, math.nan
    mean = values.mean()
    half = stats.t.ppf(0.5 + LEVEL / 2, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))
    # A mean a rounding outside the range (a distance of -1e-9) keeps its interval around it, never inverted.
    return float(min(mean, max(bounds[0], mean - half))), float(max(mean, min(bounds[1], mean + half)))
