"""Claims: what an experiment preset exists to test, declared before it runs (the `claims:` list of a preset).

Each claim is one test of one quantity, computed per seed and tested over seeds (lab.views.report_claims):

    effect_s = metric(condition) − metric(against), paired by seed s   (scale=difference)
             = log(metric(condition) / metric(against))                (scale=log_ratio: FD, W2)
    with versus_metric, the effect of `metric` minus the effect of `versus_metric` (an ordering: "the tail's
    coverage falls more than the core's")
    quantity_s = effect_s at `generation` (null: the last generation both reached), or its least-squares slope
    over generations ≥ `slope_from` up to the last

and its kind says what would make it `shown`: `increase` / `decrease` (the mean beyond `margin`, default 0, in
that direction, two-sided t-test), `equivalent` (inside ±margin by two one-sided tests), or `levels_off` (the
slope over the later generations inside ±margin; the window starts at generation max(2, ⌈T/2⌉) of a chain of
T + 1 generations unless slope_from names it, so generation 1 is never in it and the window grows with the chain).
The report adjusts the declared claims together (Holm) and calls everything else exploratory.
"""

import math
from dataclasses import dataclass, field

from omegaconf import MISSING, ListConfig, OmegaConf

from lab.errors import LabError, require
from lab.named import Named

MAX_CLAIMS = 4  # few claims and more seeds buy more than many claims (docs/statistics.md)


def same_setting(have, want) -> bool:
    """A setting's value as a run recorded it against a claim's: the same text, the same truth value (YAML's true,
    Python's True), or the same number (0 and 0.0)."""
    have, want = str(have), str(want)
    if have == want or (have.lower() in ("true", "false") and have.lower() == want.lower()):
        return True
    try:
        return float(have) == float(want)
    except (TypeError, ValueError):
        return False


def check_looks(looks, source: str = "looks") -> None:
    """The seed counts at which a growing sweep is read (alpha spending): increasing, each ≥ 2."""
    looks = list(looks)
    require(
        looks == sorted(set(looks)) and all(isinstance(n, int) and n >= 2 for n in looks),
        f"{source}={looks} is not allowed: allowed increasing seed counts ≥ 2, e.g. [5, 10, 20] (or [] for one read)",
    )


class ClaimKind(Named):
    """claims[i].kind: what the claim says of its quantity."""

    increase = "increase"
    decrease = "decrease"
    equivalent = "equivalent"
    levels_off = "levels_off"


class ClaimScale(Named):
    """claims[i].scale: log_ratio for distances (FD, W2: effects multiply across seeds), difference for shares,
    coverages and KID; auto chooses by the metric's name."""

    auto = "auto"
    log_ratio = "log_ratio"
    difference = "difference"


# FD and W2 are distances (> 0) whose effects multiply across seeds; KID's unbiased estimate can be negative, so it
# takes the difference unless a claim names log_ratio (and then every value must be > 0).
LOG_RATIO_METRICS = ("fd_", "w2")


@dataclass
class ClaimConfig:
    # A short name, unique in the preset: the claims table's first column.
    name: str = MISSING
    # A metric as logged, without the metrics/ prefix: fd_classifier, recall, knn_coverage_tail, …
    metric: str = MISSING
    # The settings that pick the condition among the sweep's runs, e.g. {loop: fully_synthetic}.
    condition: dict[str, str] = MISSING
    # The settings of the condition it is compared with, paired by seed; null: the sweep's control (the real_only
    # chain without a loop.schedule, the one of the condition's own size where a sweep runs several, or --control).
    against: dict[str, str] | None = None
    kind: ClaimKind = MISSING
    scale: ClaimScale = ClaimScale.auto
    # Where: one generation (null: the last generation both conditions reached) …
    generation: int | None = None
    # … or the slope of the effect over generations ≥ slope_from (levels_off: null = max(2, ⌈T/2⌉)).
    slope_from: int | None = None
    # equivalent, levels_off: the stated ±margin (required); increase/decrease: the effect must exceed it (default 0).
    # On the claim's scale: a log-ratio margin of 0.1 is about ±10 %.
    margin: float | None = None
    # An ordering: the claim is about the effect of `metric` minus the effect of this metric.
    versus_metric: str | None = None


def scale_of_claim(claim) -> str:
    if claim.scale != ClaimScale.auto:
        return str(claim.scale)
    name = str(claim.metric).removeprefix("metrics/")
    return ClaimScale.log_ratio.value if name.startswith(LOG_RATIO_METRICS) else ClaimScale.difference.value


def check_claims(claims, source: str = "claims") -> None:
    """One line for the first problem in a claims list (types and named values are the schema's)."""
    require(
        len(claims) <= MAX_CLAIMS,
        f"{source} declares {len(claims)} claims; allowed at most {MAX_CLAIMS} (each claim more raises the bar for every one: few claims, more seeds)",
    )
    names = [c.name for c in claims]
    twice = sorted({n for n in names if names.count(n) > 1})
    require(not twice, f"{source}: the name {twice[0] if twice else ''} is given to two claims; each claim needs its own name")
    for i, claim in enumerate(claims):
        at = f"{source}[{i}] ({claim.name})"
        require(len(claim.condition) > 0, f"{at}.condition is empty; name the settings that pick the condition, e.g. {{loop: fully_synthetic}}")
        require(claim.against is None or len(claim.against) > 0, f"{at}.against is empty; null means the control")
        margin = claim.margin
        if claim.kind in (ClaimKind.equivalent, ClaimKind.levels_off):
            require(
                margin is not None and margin > 0 and math.isfinite(margin),
                f"{at}.margin={margin} is required for kind={claim.kind}: allowed > 0, stated before the run",
            )
        else:
            require(margin is None or margin >= 0, f"{at}.margin={margin} is out of range for kind={claim.kind}: allowed ≥ 0 (the effect must exceed it)")
        require(claim.generation is None or claim.generation >= 0, f"{at}.generation={claim.generation} is out of range: allowed ≥ 0 or null (the last)")
        require(claim.slope_from is None or claim.slope_from >= 1, f"{at}.slope_from={claim.slope_from} is out of range: allowed ≥ 1")
        require(
            claim.generation is None or claim.slope_from is None,
            f"{at} names both generation={claim.generation} and slope_from={claim.slope_from}; a claim tests one quantity: choose one",
        )
        require(
            not (claim.kind == ClaimKind.levels_off and claim.generation is not None),
            f"{at}.generation={claim.generation} does not apply to kind=levels_off, which tests a slope (set slope_from, or leave it null)",
        )
        require(claim.versus_metric != claim.metric, f"{at}.versus_metric={claim.versus_metric} is the claim's own metric; an ordering compares two")
        require(claim.against is None or dict(claim.against) != dict(claim.condition), f"{at}.against names the condition itself; a claim compares two")


@dataclass
class _ClaimsFile:
    claims: list[ClaimConfig] = field(default_factory=list)


def parse_claims(raw, source: str) -> ListConfig:
    """A claims list read from a file or an older run's config.yaml, typed and checked like a preset's (one line)."""
    try:
        claims = OmegaConf.merge(OmegaConf.structured(_ClaimsFile), {"claims": raw}).claims
        OmegaConf.to_container(claims, throw_on_missing=True)
    except Exception as exc:  # OmegaConf's typed errors: a wrong type, an unknown kind or key, a missing value
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise LabError(f"{source}: {first}") from None
    check_claims(claims, source)
    return claims
