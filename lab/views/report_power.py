"""Power before compute, and reading a sweep more than once: on plain numbers.

- seeds_for_power: the seeds a paired t-test (or TOST) needs for 80% power at a given level, when the per-seed
  values are normal with the pilot's spread. Exact under that model (the noncentral t for a difference, a
  one-dimensional integral over the sample SD for TOST), not the normal approximation.
- look_level: the level a read of a sweep may spend when the sweep is read at planned seed counts (an interim read,
  then more seeds): Lan–DeMets' O'Brien–Fleming-type spending, α(t) = 2 − 2Φ(z_{1−α/2} / √t) at information
  fraction t = seeds now ÷ seeds planned last, each read spending α(t_k) − α(t_{k−1}). The reads' levels add up to
  α, so by the union bound the chance of any false claim over all reads stays ≤ α (conservative: exact
  group-sequential boundaries, which use the reads' correlation, are a little less strict).
"""

import math

import numpy as np
from scipy import integrate, stats

POWER = 0.8
MAX_SEEDS = 10_000  # beyond this a claim is not worth powering: reported as infinite


def power_difference(n: int, standardised_effect: float, level: float) -> float:
    """Power of the two-sided one-sample t-test at `level` with n seeds, when mean ÷ SD = standardised_effect."""
    df = n - 1
    critical = stats.t.ppf(1 - level / 2, df)
    noncentrality = abs(standardised_effect) * math.sqrt(n)
    # P(T > c) + P(T < −c); the lower tail as the upper tail of −T (scipy's nct.cdf far in the tail returns NaN).
    power = stats.nct.sf(critical, df, noncentrality) + stats.nct.sf(critical, df, -noncentrality)
    return float(power) if math.isfinite(power) else math.nan


def power_equivalence(n: int, sd: float, margin: float, level: float) -> float:
    """Power of TOST at `level` (each one-sided test) within ±margin with n seeds, when the true mean is 0.

    TOST rejects when |mean| < margin − t_{1−level, n−1}·s/√n; mean ~ N(0, sd²/n) and s² ~ sd²·χ²_{n−1}/(n−1) are
    independent, so the power is the expectation over s of 2Φ((margin − t·s/√n)·√n/sd) − 1 where positive."""
    df = n - 1
    critical = stats.t.ppf(1 - level, df)
    root = math.sqrt(n)
    upper = df * (margin * root / (critical * sd)) ** 2  # χ² values beyond this leave no room inside the margin

    def inside(u: float) -> float:
        s = sd * math.sqrt(u / df)
        return stats.chi2.pdf(u, df) * (2 * stats.norm.cdf((margin - critical * s / root) * root / sd) - 1)

    # The χ² mass sits within a few SDs of df: integrating [0, upper] blindly misses it when upper ≫ df.
    spread = 40 * math.sqrt(2 * df)
    low, high = max(0.0, df - spread), min(upper, df + spread)
    if high <= low:
        return 0.0
    value, _ = integrate.quad(inside, low, high, points=[df] if low < df < high else None, limit=200)
    return float(min(1.0, max(0.0, value)))


def seeds_for_power(values, kind: str, margin: float, level: float, power: float = POWER) -> float:
    """Seeds needed for `power` at `level`, reading the per-seed `values` as a pilot: their SD as the spread and, for
    a difference, their mean beyond the margin as the true effect (for an equivalence, the true difference is 0).
    NaN with fewer than 2 values or no spread; infinite where the pilot shows no effect in the stated direction or
    more than MAX_SEEDS would be needed."""
    values = np.asarray(values, float)
    if len(values) < 2 or np.ptp(values) <= 1e-12 * (1 + abs(values.mean())):  # no spread: not a test (report_stats.t_test)
        return math.nan
    sd = float(values.std(ddof=1))
    if kind in ("equivalent", "levels_off"):
        guess = ((stats.norm.ppf(1 - level) + stats.norm.ppf(1 - (1 - power) / 2)) * sd / margin) ** 2
        return _smallest(lambda n: power_equivalence(n, sd, margin, level), power, guess)
    beyond = values.mean() - margin if kind == "increase" else -values.mean() - margin
    if beyond <= 0:
        return math.inf
    guess = ((stats.norm.ppf(1 - level / 2) + stats.norm.ppf(power)) * sd / beyond) ** 2
    return _smallest(lambda n: power_difference(n, beyond / sd, level), power, guess)


def _smallest(power_at, target: float, guess: float) -> float:
    """The smallest n ≥ 2 with power_at(n) ≥ target, walked to from the normal approximation's guess (power grows
    with n; the t-test's n lies a few seeds above the guess)."""
    if not guess < MAX_SEEDS:
        return math.inf
    n = max(2, math.floor(guess))
    enough = lambda k: power_at(k) >= target  # noqa: E731 — a power that is not a number is never enough
    while n > 2 and enough(n - 1):
        n -= 1
    while not enough(n):
        n += 1
        if n > MAX_SEEDS:
            return math.inf
    return float(n)


def spent(alpha: float, fraction: float) -> float:
    """α spent by information fraction t (Lan–DeMets, O'Brien–Fleming type): 2 − 2Φ(z_{1−α/2}/√t)."""
    return float(2 * (1 - stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / math.sqrt(fraction))))


def look_level(alpha: float, looks: list[int], seeds: int) -> float:
    """The level this read may spend: `looks` are the seed counts at which the sweep is planned to be read (the
    last is the final read), `seeds` is the one read now and must be one of them."""
    k = looks.index(seeds)
    before = spent(alpha, looks[k - 1] / looks[-1]) if k else 0.0
    return spent(alpha, looks[k] / looks[-1]) - before
