"""The report's confirmatory family: the claims a sweep declared before it ran (lab/claims.py), tested together.

Each claim becomes one number per seed (its quantity, lab.claims), one test over seeds, and one verdict:
`shown`, `not shown`, `equivalent within ±m`, or `not a test` (fewer than 2 seeds, or no spread). The p-values
of the claims that are tests are adjusted together with Holm, at the level this read may spend (0.05, or less at
a planned interim read: lab.views.report_power.look_level). Each claim also gets the seeds a sweep would need for 80%
power at its Holm share (0.05 ÷ the claims declared, the final read's), reading this sweep as a pilot.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from scipy import stats

from lab import layout
from lab.claims import ClaimKind, parse_claims, same_setting, scale_of_claim
from lab.errors import LabError
from lab.views.report_plots import SEED
from lab.views.report_power import POWER, look_level, seeds_for_power
from lab.views.report_stats import equivalence_p, holm, slope, t_test
from lab.views.report_verdict import matched_settings

ALPHA = 0.05
EQUIVALENCE = (ClaimKind.equivalent, ClaimKind.levels_off)
POWER_COLUMN = f"seeds_for_{round(POWER * 100)}pct_power"


@dataclass
class Family:
    """The claims a report tests, where they come from, and the planned reads of a growing sweep."""

    claims: list = field(default_factory=list)
    source: str = "none declared"
    looks: list[int] = field(default_factory=list)
    post_hoc: bool = False


def declared(runs: list[Path], claims_file: Path | None = None, looks: list[int] | None = None, post_hoc: bool = False) -> Family:
    """The family to test: the claims (and looks) the runs' preset declared, all runs alike; or a --claims file for
    runs that declared none (named after the fact over runs that did: only with post_hoc, and the page says so)."""
    configs = {run: OmegaConf.load(run / layout.CONFIG) for run in runs}
    own = {run: OmegaConf.select(cfg, "claims", default=None) for run, cfg in configs.items()}
    with_claims = [run for run, raw in own.items() if raw]
    planned = {tuple(OmegaConf.select(cfg, "looks", default=None) or []) for cfg in configs.values()}
    if len(planned) > 1:
        raise LabError("the runs plan different reads (looks); report the runs of one plan")
    runs_looks = list(next(iter(planned), ()))
    if looks is not None and runs_looks and list(looks) != runs_looks:
        planned_text = ",".join(map(str, runs_looks))
        raise LabError(f"--looks {','.join(map(str, looks))}: the runs' preset planned reads at {planned_text}; a plan is fixed before the runs")
    looks = list(looks) if looks is not None else runs_looks
    if claims_file is not None:
        if with_claims and not post_hoc:
            raise LabError(
                f"these runs declared their claims ({with_claims[0]}/{layout.CONFIG}); --claims {claims_file} would replace them "
                "after the fact: add --post-hoc to read it so (the page then says the family is not confirmatory)"
            )
        kind = "named after the runs" if with_claims else "not declared by the runs' preset"
        return Family(parse_claims(_read(claims_file), f"--claims {claims_file}"), f"from {claims_file.name}, {kind}", looks, bool(with_claims))
    if with_claims and len(with_claims) < len(runs):
        raise LabError(
            f"{len(runs) - len(with_claims)} of {len(runs)} runs declare no claims (they ran before the claims were declared, "
            "e.g. a pilot): report only the runs that ran under them, or name a family with --claims FILE"
        )
    found = {OmegaConf.to_yaml(raw): (run, raw) for run, raw in own.items() if raw}
    if not found:
        return Family(looks=looks)
    if len(found) > 1:
        (a, _), (b, _) = list(found.values())[:2]
        raise LabError(f"the runs declare different claims ({a} and {b} differ); report them apart, or name one family with --claims FILE")
    run, raw = next(iter(found.values()))
    return Family(parse_claims(raw, f"{run}/{layout.CONFIG}"), "declared by the runs' preset", looks)


def _read(path: Path):
    try:
        raw = OmegaConf.load(path)
    except (OSError, ValueError) as exc:
        raise LabError(f"--claims {path}: {exc}") from None
    return raw.claims if OmegaConf.is_dict(raw) and "claims" in raw else raw


def settings_named(claims) -> set[str]:
    """The settings the claims pick their conditions by (load_runs adds them as columns)."""
    return {key for c in claims for part in (c.condition, c.against or {}) for key in part}


def condition_of(table: pd.DataFrame, settings, name: str, control: str | None) -> str:
    """The one condition of the table whose runs have these settings (None: the control)."""
    if settings is None:
        if control is None:
            raise LabError(
                f"claim {name} is against the control, and these runs hold no single real_only condition without a schedule; name one with --control"
            )
        return control
    picked = pd.Series(True, index=table.index)
    for key, value in settings.items():
        if key == "seed" or key not in table:
            raise LabError(f"claim {name}: {key} is not a setting that tells these runs' conditions apart (seeds are the replicates)")
        picked &= table[key].map(lambda have, want=str(value): same_setting(have, want))
    found = sorted(table[picked].condition.unique())
    text = ", ".join(f"{k}={v}" for k, v in settings.items())
    if not found:
        raise LabError(f"claim {name}: no run has {text}; the conditions are: {'; '.join(sorted(table.condition.unique()))}")
    if len(found) > 1:
        raise LabError(f"claim {name}: {text} matches {len(found)} conditions ({'; '.join(found)}); name the setting that tells them apart")
    return found[0]


def _sides(table: pd.DataFrame, a: str, b: str, metric: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generation × seed of the metric in each condition. A seed given twice (which load_runs refuses) would be
    averaged, never counted as two."""
    rows = table[table.metric == metric]
    x, y = (rows[rows.condition == c].groupby(["generation", "seed"]).value.mean().unstack("seed") for c in (a, b))
    return x, y


def _effect(x: pd.DataFrame, y: pd.DataFrame, names: tuple[str, str], metric: str, log: bool) -> pd.DataFrame:
    """x − y, or log(x / y); a log-ratio meeting a value ≤ 0 where the claim reads stops in one line."""
    if log:
        for side, name in ((x, names[0]), (y, names[1])):
            bad = side.stack()[lambda v: v <= 0]
            if len(bad):
                (generation, seed), value = next(iter(bad.items()))
                raise LabError(
                    f"{metric.removeprefix('metrics/')} is {value:g} in {name}, seed {seed}, generation {generation}: a log-ratio needs "
                    "values > 0; declare scale: difference"
                )
        return np.log(x) - np.log(y)
    return x - y


def quantity(table: pd.DataFrame, claim, a: str, b: str) -> tuple[np.ndarray, str, str]:
    """(one value per seed, where it was read, the seeds it could not use) for a claim. Every seed of either side
    counts: one without a value where the claim reads is named, never dropped in silence."""
    logged = set(table.metric)
    metrics = [m if m in logged else f"metrics/{m}" for m in (claim.metric, claim.versus_metric) if m]  # as logged, or without metrics/
    for metric in metrics:
        if metric not in logged:
            known = ", ".join(sorted(m.removeprefix("metrics/") for m in logged if m.startswith("metrics/")))
            raise LabError(f"claim {claim.name}: {metric.removeprefix('metrics/')} is not logged by these runs; they log {known}")
    last = int(min(table[table.condition == a].generation.max(), table[table.condition == b].generation.max()))
    sides = [_sides(table, a, b, metric) for metric in metrics]
    generations = sorted(set(sides[0][0].index) & set(sides[0][1].index))
    if claim.kind == ClaimKind.levels_off or claim.slope_from is not None:
        start = claim.slope_from if claim.slope_from is not None else max(2, math.ceil(last / 2))
        read = [g for g in generations if start <= g <= last]
        if len(read) < 2:
            raise LabError(f"claim {claim.name}: a slope over generations ≥ {start} needs 2 generations up to the last both reached ({last})")
        where = f"slope over generations {read[0]}–{read[-1]}"
    else:
        generation = last if claim.generation is None else claim.generation
        if generation not in generations or generation > last:
            raise LabError(f"claim {claim.name}: generation {generation} is not in both conditions' runs; both reach generation {last}")
        read, where = [generation], f"generation {generation}"
    log = scale_of_claim(claim) == "log_ratio"
    try:  # only the generations the claim reads: a value ≤ 0 elsewhere does not stop a log-ratio
        effects = [_effect(x.reindex(read), y.reindex(read), (a, b), metric, log) for (x, y), metric in zip(sides, metrics)]
    except LabError as exc:
        raise LabError(f"claim {claim.name}: {exc}") from None
    d = effects[0] - effects[1] if claim.versus_metric else effects[0]
    seeds = sorted(set(table[table.condition.isin([a, b])].seed))
    part = d.reindex(columns=seeds).dropna(axis=1)  # seeds with a value at every generation read
    if len(read) > 1:
        values = np.array([slope(read, part[s]) for s in part.columns])
    else:
        values = part.loc[read[0]].to_numpy()
    return values, where, _dropped(seeds, part.columns, where)


def _dropped(seeds: list, used, where: str) -> str:
    """The seeds of either side that the test could not use (a chain that stopped early, a seed one side lacks)."""
    missing = [s for s in seeds if s not in set(used)]
    return f"seed{'s' * (len(missing) > 1)} {', '.join(map(str, missing))}: no pair at {where}" if missing else ""


def claim_sides(table: pd.DataFrame, claim, control: str | dict[str, str] | None) -> tuple[str, str]:
    """(the claim's condition, what it is against): `against: null` is the control — the one control, or the condition's
    own where each has its own (lab.views.report_verdict.matched_controls)."""
    a = condition_of(table, claim.condition, claim.name, None)
    if not isinstance(control, dict) or claim.against is not None:
        return a, condition_of(table, claim.against, claim.name, control)
    if a in control.values():  # a control itself: against itself, which judge_claims refuses in one line
        return a, a
    if a not in control:
        raise LabError(f"claim {claim.name} is against the control, and no real_only condition has the {', '.join(matched_settings(table))} of {a}")
    return a, control[a]


def judge_claims(table: pd.DataFrame, claims, control: str | dict[str, str] | None, level: float = ALPHA, final_level: float = ALPHA) -> pd.DataFrame:
    """One row per claim: its test, the Holm-adjusted p over the claims that are tests at `level` (this read's), its
    verdict, and the seeds 80% power needs at `final_level` (the plan's final read) ÷ the claims declared."""
    rows = []
    for claim in claims:
        a, b = claim_sides(table, claim, control)
        if a == b:
            raise LabError(f"claim {claim.name}: its condition and what it is against are the same runs ({a})")
        values, where, dropped = quantity(table, claim, a, b)
        kind, margin = ClaimKind(claim.kind), claim.margin or 0.0
        summary = t_test(values)
        if kind in EQUIVALENCE:
            p = equivalence_p(values, margin)
            low, high = _interval(values, 1 - 2 * ALPHA)  # TOST at 5% is the 90% interval inside ±margin
        else:
            shifted = values - margin if kind == ClaimKind.increase else values + margin
            p = t_test(shifted)["p"]
            low, high = summary["low"], summary["high"]
        metric = claim.metric + (f" − {claim.versus_metric}" if claim.versus_metric else "")
        rows.append(
            {
                "claim": claim.name,
                "kind": kind.value,
                "metric": metric,
                "contrast": f"{a} − {b}",
                "where": where,
                "scale": scale_of_claim(claim),
                "margin": claim.margin if claim.margin is not None else (0.0 if kind not in EQUIVALENCE else math.nan),
                "seeds": len(values),
                "seeds_dropped": dropped,
                "estimate": summary["mean"],
                "low": low,
                "high": high,
                "interval": "90%, unadjusted" if kind in EQUIVALENCE else "95%, unadjusted",
                "p_raw": p,
                "values": values,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    tested = out.p_raw.notna()
    out["family"] = int(tested.sum())
    out["level"] = level
    out["p_adjusted"] = math.nan
    if tested.any():
        out.loc[tested, "p_adjusted"] = holm(out.p_raw[tested].to_numpy())
    out["verdict"] = [_verdict(r) for r in out.to_dict("records")]
    # Power for the plan's final read at Holm's first step, α ÷ the claims declared: a claim whose p clears it passes
    # Holm whatever the others do (conservative; the family's count of tests can be smaller, "not a test" aside).
    share = final_level / len(out)
    out[POWER_COLUMN] = [seeds_for_power(r["values"], r["kind"], r["margin"], share) for r in out.to_dict("records")]
    out["power_level"] = share
    return out.drop(columns="values")[COLUMNS]


COLUMNS = [
    "claim",
    "verdict",
    "estimate",
    "low",
    "high",
    "interval",
    "p_raw",
    "p_adjusted",
    "level",
    "family",
    "seeds",
    "seeds_dropped",
    POWER_COLUMN,
    "power_level",
    "kind",
    "metric",
    "contrast",
    "where",
    "scale",
    "margin",
]


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if len(values) < 2 or np.ptp(values) <= 1e-12 * (1 + abs(values.mean())):  # no spread: not a test
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def _verdict(row: dict) -> str:
    if math.isnan(row["p_raw"]):
        return "not a test"
    passed = row["p_adjusted"] < row["level"]
    if row["kind"] in EQUIVALENCE:
        return f"equivalent within ±{row['margin']:g}" if passed else "not shown"
    sign = 1 if row["kind"] == ClaimKind.increase else -1
    if passed and sign * row["estimate"] <= row["margin"]:  # significant, but on the wrong side of the stated bound
        return "not shown (short of the margin)" if sign * row["estimate"] > 0 else "not shown (the opposite direction)"
    return "shown" if passed else "not shown"


def _kind_text(kind: str, margin: float) -> str:
    if kind in EQUIVALENCE:
        return f"{kind} (±{margin:g})"
    return f"{kind} (beyond {margin:g})" if margin else kind


def as_text(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims table for the page: estimates on the claim's scale (a log-ratio also as a ratio ×r)."""
    if claims.empty:
        return claims

    def estimate(r) -> str:
        if math.isnan(r["low"]):
            return f"{r['estimate']:+.3g} ({r['seeds']} seed{'s' * (r['seeds'] != 1)}{'' if r['seeds'] < 2 else ', the same in every seed'})"
        text = f"{r['estimate']:+.3g} [{r['low']:+.3g}, {r['high']:+.3g}] ({r['interval']})"
        if r["scale"] == "log_ratio":
            text += f" = ×{math.exp(r['estimate']):.3g} [×{math.exp(r['low']):.3g}, ×{math.exp(r['high']):.3g}]"
        return text

    def p_text(p) -> str:
        return "" if math.isnan(p) else f"{p:.2g}"

    return pd.DataFrame(
        {
            "claim": claims.claim,
            "verdict": claims.verdict,
            "kind": [_kind_text(k, m) for k, m in zip(claims.kind, claims.margin)],
            "metric (scale)": [f"{m} ({s})" for m, s in zip(claims.metric, claims.scale)],
            "contrast, paired by seed": claims.contrast,
            "where": claims["where"],
            "estimate [interval]": [estimate(r) for r in claims.to_dict("records")],
            "p raw": claims.p_raw.map(p_text),
            "p Holm": claims.p_adjusted.map(p_text),
            "seeds": [f"{n} ({d})" if isinstance(d, str) and d else str(n) for n, d in zip(claims.seeds, claims.get("seeds_dropped", [""] * len(claims)))],
            f"seeds for {round(POWER * 100)}% power": claims[POWER_COLUMN].map(lambda n: "—" if math.isnan(n) else ("∞" if math.isinf(n) else f"{n:.0f}")),
        }
    )


def levels(table: pd.DataFrame, family, control: str | dict[str, str] | None) -> tuple[float, float]:
    """(the level this read may spend, the plan's final read's): 0.05 for one read; at a planned read of a sweep that
    grows by seeds, the shares that Lan–DeMets' O'Brien–Fleming spending gives them (lab.views.report_power). Every
    condition a claim names must hold the same, planned number of finished seeds: a read waits for the missing ones."""
    if not family.looks:
        return ALPHA, ALPHA
    if not family.claims:
        raise LabError("--looks spends the level of the declared claims, and these runs declare none; name them with --claims FILE")
    named = sorted({side for c in family.claims for side in claim_sides(table, c, control)})
    last = table[table.condition.isin(named)].generation.max()
    finished = table[table.condition.isin(named) & (table.generation == last)].groupby("condition")[SEED].nunique()
    counts = {condition: int(finished.get(condition, 0)) for condition in named}
    plan = ",".join(map(str, family.looks))
    if len(set(counts.values())) > 1:
        held = "; ".join(f"{c}: {n}" for c, n in counts.items())
        raise LabError(f"looks {plan}: the claims' conditions hold different numbers of seeds finished to generation {last} ({held}); a read waits for them")
    seeds = next(iter(counts.values()))
    if seeds not in family.looks:
        raise LabError(f"looks {plan}: these runs hold {seeds} seeds finished to generation {last}; read a growing sweep only at a planned seed count")
    return look_level(ALPHA, family.looks, seeds), look_level(ALPHA, family.looks, family.looks[-1])


def claims_section(claimed: pd.DataFrame, family) -> tuple[str, pd.DataFrame]:
    """The page's first table: the declared claims, the confirmatory family."""
    if claimed.empty:
        return (
            "Declared claims: none. Nothing below is a verdict: declare the claims a sweep exists to test in its preset "
            "(claims:) before it runs, or name them with --claims FILE",
            pd.DataFrame(),
        )
    level, tests = claimed.level.iloc[0], int(claimed.family.iloc[0])
    spent = "" if level == ALPHA else f" (this planned read of a growing sweep spends {level:.3g} of the 0.05)"
    if family.post_hoc:
        what = "POST HOC — named after the runs, not a confirmatory family"
    elif family.source.startswith("from "):  # a --claims file over runs that declared none
        what = "a family named in a file: confirmatory only if it was fixed before the runs"
    else:
        what = "the confirmatory family"
    return (
        f"Declared claims ({family.source}): {what}, {tests} test{'s' * (tests != 1)} with Holm's adjustment at "
        f"level {level:.3g}{spent}; paired by seed; intervals unadjusted, 95% (90% for equivalence); seeds for 80% power "
        f"at each claim's Holm share ({claimed.power_level.iloc[0]:.3g}), reading this sweep as a pilot (claims.csv)",
        as_text(claimed),
    )
