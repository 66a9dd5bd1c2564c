"""The report's exploratory tables: what a sweep looks like against its control, beyond the declared claims.

The verdicts a paper may state are the declared claims (lab.views.report_claims); every table here is exploratory, its
p-values adjusted within the table only as a guard against reading noise.
- floors: each run's reference.json holds every metric of N real training images against the held-out set at the
  same N; a condition's floor is the mean over its runs (`floors_by_condition`), and the plots draw the mean over
  the table, which `comparable` has made one basis (same data, resolution, N, classifier, k).
- effects: for each condition and metric, the difference from a control condition (the real_only one without a
  schedule, unless named; where a sweep runs it at several sizes, the one of the condition's own: matched_controls),
  paired by seed — every loop of a seed starts from the same generation-0 model, held-out
  set and noise streams, so the seed's luck cancels — at every generation; the generation-0→1 jump; the drift per
  generation fitted over generations ≥ 1 (apart from the jump). One t-test over seeds each.
- verdicts: per condition and metric, read from the effects: the jump, the drift, the first generation that
  departs from the control.
- contrasts: every pair of conditions at the last generation both reached, paired by seed.
- class_effects: per class, its share (÷ its real share) against the control's at the last generation, paired by
  seed, and the share of seeds in which no sample of it was recognised.
- extinction: labelled chains' classes with no copy left, beside the Wright–Fisher prediction.
"""

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from lab import layout, loops
from lab.conf import is_scale
from lab.errors import LabError
from lab.labels import wright_fisher_extinction
from lab.tracking import scalar_key
from lab.views.report_stats import ADJUSTMENT_NAMES, adjust, interval_text, slope, t_test

SHARE_RATIO = "classes/share_ratio_"
LABEL_COUNT = "data/label_count_"  # copies of a class in a generation's training set (labelled chains)
SAMPLE_COUNT = "class_histogram/"  # recognised samples of a class (lab.report expands metrics.jsonl's histogram)
BASIS = "basis/"  # columns of load_runs' table that say what a run's metrics are measured against
TAIL_GAP = "metrics/knn_coverage_tail_minus_core"
JUMP, DRIFT = "jump 0→1", "drift per generation (≥ 1)"
ALPHA = 0.05


def comparable(table: pd.DataFrame) -> str | None:
    """None when every run's metrics are measured against the same basis; otherwise one line naming what differs."""
    for column in sorted(c for c in table.columns if c.startswith(BASIS)):
        counts = table.drop_duplicates("run")[column].astype(str).value_counts()
        if len(counts) > 1:
            values = "; ".join(f"{value}: {n} run{'s' * (n != 1)}" for value, n in counts.items())
            return f"the runs differ in {column.removeprefix(BASIS)} ({values}), so their floors and metrics are not comparable"
    return None


def _baselines(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for run, condition in table[["run", "condition"]].drop_duplicates().itertuples(index=False):
        path = Path(run) / layout.REFERENCE
        baseline = json.loads(path.read_text()).get("real_baseline", {}) if path.exists() else {}
        rows += [
            {"condition": condition, "run": run, "metric": scalar_key(key), "value": float(value)}
            for key, value in baseline.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        ]
    return pd.DataFrame(rows, columns=["condition", "run", "metric", "value"])


def floors(table: pd.DataFrame) -> dict[str, float]:
    """Metric key (as in metrics.jsonl) → mean real floor over the runs of a comparable table."""
    return _baselines(table).groupby("metric")["value"].mean().to_dict()


def floors_by_condition(table: pd.DataFrame) -> pd.DataFrame:
    """Condition × metric: the real floor from the condition's own runs, mean and 95% interval over them."""
    rows = []
    for (condition, metric), part in _baselines(table).groupby(["condition", "metric"]):
        row = {"condition": condition, "metric": metric} | t_test(part.value) | {"mean": float(part.value.mean())}
        if len(part) >= 2 and math.isnan(row["low"]):  # the same floor in every run (one fixed real draw): exact
            row |= {"low": row["mean"], "high": row["mean"]}
        rows.append(row)
    return pd.DataFrame(rows).drop(columns="p", errors="ignore")


# Columns of load_runs' table that are not a run's settings (the seed forms the band; the real share is read per loop).
NOT_SETTINGS = {"run", "generation", "metric", "value", "seed", "real_fraction", "loop", "loop.real_fraction", "condition"}


def setting_columns(table: pd.DataFrame) -> list[str]:
    """The settings a condition may be told apart by, besides the loop and its real share."""
    return [c for c in table.columns if c not in NOT_SETTINGS and not c.startswith(BASIS)]


def control_condition(table: pd.DataFrame, named: str | None = None) -> str | None:
    """The condition effects are measured against: the one named, else the table's one real_only condition that no
    schedule changes (loop.schedule, lab/schedule.py)."""
    conditions = sorted(table.condition.unique())
    if named is not None:
        if named not in conditions:
            raise LabError(f"--control {named!r} is not a condition of these runs; they are: {'; '.join(conditions)}")
        return named
    controls = unscheduled_controls(table)
    return controls[0] if len(controls) == 1 else None


def unscheduled_controls(table: pd.DataFrame) -> list[str]:
    unscheduled = table["loop.schedule"].isin(["[]"]) | table["loop.schedule"].isna() if "loop.schedule" in table else True
    return sorted(table[(table.loop == "real_only") & unscheduled].condition.unique())


def matched_settings(table: pd.DataFrame) -> list[str] | None:
    """The settings the unscheduled real_only conditions differ in, where there are several and those settings are
    all scales of the experiment (SCALE_SETTINGS); else None."""
    controls = unscheduled_controls(table)
    if len(controls) < 2:
        return None
    settings = table.drop_duplicates("condition").set_index("condition").loc[controls, setting_columns(table)].astype(str)
    differ = [s for s in settings.columns if settings[s].nunique() > 1]
    return differ if differ and all(map(is_scale, differ)) else None


def matched_controls(table: pd.DataFrame) -> dict[str, str] | None:
    """condition → its control, where the runs hold the control at several values of a scale of the experiment (a
    sweep of loop.train_size runs it at each size): each other condition meets the one with its own values of those
    settings (matched_settings). A condition no control matches is left out (a sweep whose control at that size has
    not run yet); None where nothing matches."""
    differ = matched_settings(table)
    if differ is None:
        return None
    controls = unscheduled_controls(table)
    settings = table.drop_duplicates("condition").set_index("condition")[differ].astype(str)
    out = {}
    for condition in sorted(set(settings.index) - set(controls)):
        match = [c for c in controls if (settings.loc[c] == settings.loc[condition]).all()]
        if len(match) == 1:
            out[condition] = match[0]
    return out or None


def _pairs(table: pd.DataFrame, control: str | dict[str, str]) -> list[tuple[str, str]]:
    """(condition, its control) for every condition measured: against the one control, or each against its match."""
    if isinstance(control, str):
        return [(condition, control) for condition in sorted(set(table.condition) - {control})]
    return sorted(control.items())


def _by_seed(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One value per condition, generation, seed (rows) and metric (columns), for differences paired by seed.
    load_runs refuses a seed given twice; a table built otherwise gets its repeats averaged, never counted as more seeds."""
    return table[table.metric.isin(metrics)].pivot_table(index=["condition", "generation", "seed"], columns="metric", values="value", aggfunc="mean")


def _paired(wide: pd.DataFrame, condition: str, control: str, metric: str) -> pd.DataFrame:
    """Generation (rows) × seed (columns): condition − control, on the seeds and generations both have."""
    if metric not in wide or condition not in wide.index.get_level_values(0) or control not in wide.index.get_level_values(0):
        return pd.DataFrame()
    a, b = wide.loc[condition][metric].unstack("seed"), wide.loc[control][metric].unstack("seed")
    return (a - b).dropna(how="all").dropna(axis=1, how="all")


def _slopes(differences: pd.DataFrame, generations: list[int]) -> np.ndarray:
    part = differences.loc[generations].dropna(axis=1)  # seeds with a value at every generation of the window
    return np.array([slope(generations, part[seed]) for seed in part.columns])


def against_control(table: pd.DataFrame, metrics: list[str], control: str | dict[str, str], method: str = "holm") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Condition − control, paired by seed: exploratory (the declared claims are the verdicts, lab.views.report_claims).
    `control`: one condition, or each condition's own (matched_controls).

    effects: one row per condition, metric and quantity — each generation, the 0→1 jump, the drift per generation
      fitted over generations ≥ 1 — with mean, 95% interval, p and p adjusted within the table;
    verdicts: one row per condition and metric — jump, drift and the first generation whose adjusted p is below 0.05."""
    wide = _by_seed(table, metrics)
    rows, verdict_rows = [], []
    same = {}  # row → the row it repeats (the jump is generation 1 when generation 0 is shared): one test, counted once
    for condition, its_control in _pairs(table, control):
        for metric in metrics:
            d = _paired(wide, condition, its_control, metric)
            if d.empty:
                continue
            key = {"condition": condition, "control": its_control, "metric": metric.removeprefix("metrics/")}
            first = len(rows)
            generations = [int(g) for g in d.index]
            at = {}
            for g in generations:
                at[g] = len(rows)
                rows.append(key | {"quantity": f"generation {g}", "generation": g} | t_test(d.loc[g].dropna()))
            if {0, 1} <= set(generations):
                if math.isnan(rows[at[0]]["p"]) and (d.loc[0].dropna().abs() < 1e-12).all():
                    same[len(rows)] = at[1]
                rows.append(key | {"quantity": JUMP, "generation": 1} | t_test((d.loc[1] - d.loc[0]).dropna()))
            after = [g for g in generations if g >= 1]
            if len(after) >= 2:
                rows.append(key | {"quantity": DRIFT, "generation": after[-1]} | t_test(_slopes(d, after)))
            verdict_rows.append(key | {"rows": (first, len(rows))})
    effect = pd.DataFrame(rows)
    if effect.empty:
        return effect, pd.DataFrame()
    family = effect.p.copy()
    family.iloc[list(same)] = math.nan
    effect["p_adjusted"] = adjust(family, method)
    for row, original in same.items():
        effect.loc[row, "p_adjusted"] = effect.loc[original, "p_adjusted"]
    effect["adjustment"] = f"{ADJUSTMENT_NAMES[method]} within effects.csv (exploratory)"
    verdict = pd.DataFrame([_verdict(v, effect.iloc[slice(*v.pop("rows"))]) for v in verdict_rows])
    verdict["adjustment"] = effect["adjustment"].iloc[0]
    return effect, verdict[["condition", "metric", "control", "seeds", JUMP, DRIFT, "first_departure", "adjustment"]]


def _verdict(row: dict, part: pd.DataFrame) -> dict:
    by = part.set_index("quantity")
    departed = part[part.quantity.str.startswith("generation") & (part.p_adjusted < ALPHA)]
    return row | {
        "seeds": int(part.seeds.max()),
        JUMP: interval_text(by.loc[JUMP]) if JUMP in by.index else "",
        DRIFT: interval_text(by.loc[DRIFT]) if DRIFT in by.index else "",
        "first_departure": int(departed.generation.min()) if len(departed) else "not shown",
    }


def departures(effect: pd.DataFrame, named: list[str] = ()) -> pd.DataFrame:
    """The effects per generation as one row per condition and metric (generation columns), for the page; `named`:
    columns shown beside the condition (its control, where each condition has its own)."""
    part = effect[effect.quantity.str.startswith("generation")].copy()
    if part.empty:
        return pd.DataFrame()
    part = part[~((part.generation == 0) & part.p.isna() & (part["mean"].abs() < 1e-12))]  # a generation 0 both share: 0 by construction
    part["text"] = [interval_text(r) for r in part.to_dict("records")]
    wide = part.pivot_table(index=["condition", *named, "metric"], columns="quantity", values="text", aggfunc="first", sort=False)
    columns = sorted(wide.columns, key=lambda q: int(q.removeprefix("generation ")))  # 0, 1, …, 10 in order
    return wide[columns].reset_index().rename_axis(columns=None)


def with_tail_gap(table: pd.DataFrame) -> pd.DataFrame:
    """The table plus tail − core coverage per run and generation: its departure from the control (a difference in
    differences, paired by seed) says whether the sparsest decile falls *more* than the core, beyond retraining noise."""
    parts = table[table.metric.isin(["metrics/knn_coverage_tail", "metrics/knn_coverage_core"])]
    if parts.metric.nunique() < 2:
        return table
    keys = [c for c in table.columns if c not in ("metric", "value")]
    wide = parts.pivot_table(index=keys, columns="metric", values="value", aggfunc="mean", dropna=False).dropna()
    gap = (wide["metrics/knn_coverage_tail"] - wide["metrics/knn_coverage_core"]).rename("value").reset_index()
    gap["metric"] = TAIL_GAP
    return pd.concat([table, gap[table.columns]], ignore_index=True)


def contrasts(table: pd.DataFrame, metrics: list[str], method: str = "holm") -> pd.DataFrame:
    """Every pair of conditions × metric: A − B paired by seed at the last generation both reached."""
    last = table.groupby("condition")["generation"].max()
    wide = _by_seed(table, metrics)
    rows = []
    for a, b in itertools.combinations(sorted(last.index), 2):
        generation = min(last[a], last[b])
        for metric in metrics:
            d = _paired(wide, a, b, metric)
            if generation in d.index and d.loc[generation].notna().any():
                rows.append(
                    {"contrast": f"{a} − {b}", "metric": metric.removeprefix("metrics/"), "generation": int(generation)} | t_test(d.loc[generation].dropna())
                )
    return _adjusted(pd.DataFrame(rows), method)


def _adjusted(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """The table with its p-values adjusted as one family, and the method named in a column."""
    if len(table):
        table["p_adjusted"] = adjust(table.p, method)
        table["adjustment"] = ADJUSTMENT_NAMES[method]
    return table


def as_text(long: pd.DataFrame) -> pd.DataFrame:
    """A long table of estimates with "mean [95%] *" in place of its numbers (for the page)."""
    if long.empty:
        return long
    numbers = ["mean", "low", "high", "p", "p_adjusted", "adjustment"]
    return long.assign(estimate=[interval_text(r) for r in long.to_dict("records")]).drop(columns=numbers)


def share_ratio_metrics(table: pd.DataFrame) -> list[str]:
    keys = [m for m in table.metric.unique() if m.startswith(SHARE_RATIO)]
    return sorted(keys, key=lambda m: int(m.removeprefix(SHARE_RATIO)))


def class_effects(table: pd.DataFrame, control: str | dict[str, str], method: str = "holm") -> pd.DataFrame:
    """Condition × class at the last generation both reached: the class's share ÷ its real share, minus the control's,
    paired by seed; and in how many seeds no sample was recognised as the class (condition and control)."""
    metrics = share_ratio_metrics(table)
    wide = _by_seed(table, metrics + sorted(m for m in table.metric.unique() if m.startswith(SAMPLE_COUNT)))
    last = table.groupby("condition")["generation"].max()
    rows = []
    for condition, its_control in _pairs(table, control):
        generation = min(last[condition], last[its_control])
        for metric in metrics:
            c = metric.removeprefix(SHARE_RATIO)
            d = _paired(wide, condition, its_control, metric)
            if generation not in d.index:
                continue
            vanished = {}
            for who in (condition, its_control):
                counts = wide.loc[(who, generation)].get(f"{SAMPLE_COUNT}{c}") if (who, generation) in wide.index else None
                vanished[who] = f"{int((counts == 0).sum())}/{int(counts.notna().sum())}" if counts is not None else "—"
            rows.append(
                {"condition": condition, "control": its_control, "class": int(c), "generation": int(generation)}
                | t_test(d.loc[generation].dropna())
                | {"vanished": vanished[condition], "vanished_in_control": vanished[its_control]}
            )
    return _adjusted(pd.DataFrame(rows), method)


def extinction(table: pd.DataFrame) -> pd.DataFrame:
    """Condition × class at each run's last generation T: how often the class has no copy left, beside the rate that
    pure resampling predicts for the fully synthetic loop (the exact Wright–Fisher chain over T generations of
    train_size labels, started from the copies that seed's generation 0 trained on, averaged over seeds).

    lost_in_labels: the training set of generation T holds no label of the class (labelled chains only);
    lost_in_samples: no sample of generation T is recognised as the class. Intervals: exact (Clopper–Pearson) 95%."""
    rows = []
    for condition, part in table.groupby("condition"):
        runs = part.groupby("run")
        last = runs.generation.max()
        classes = sorted(int(m.removeprefix(LABEL_COUNT)) for m in part.metric.unique() if m.startswith(LABEL_COUNT))
        for c in classes:
            predicted, labels, samples = [], [], []
            for run, generation in last.items():
                values = part[part.run == run].set_index(["metric", "generation"]).value
                copies = values.get((f"{LABEL_COUNT}{c}", 0))
                size = values.get(("data/train_size", generation))
                resampled = getattr(loops.REGISTRY.get(part.loop.iloc[0]), "pure_resampling", False)  # an old run's unknown loop: no
                if resampled and copies is not None and size is not None and generation > 0:
                    predicted.append(wright_fisher_extinction(int(copies), int(size), int(generation))[-1])
                if (f"{LABEL_COUNT}{c}", generation) in values.index:
                    labels.append(values[(f"{LABEL_COUNT}{c}", generation)] == 0)
                if (f"{SAMPLE_COUNT}{c}", generation) in values.index:
                    samples.append(values[(f"{SAMPLE_COUNT}{c}", generation)] == 0)
            generation0 = part[(part.metric == f"{LABEL_COUNT}{c}") & (part.generation == 0)].value
            rows.append(
                {
                    "condition": condition,
                    "class": c,
                    "seeds": len(last),
                    "last_generation": int(last.max()),
                    "copies_at_generation_0": float(generation0.mean()),
                    "predicted_lost": float(np.mean(predicted)) if predicted else float("nan"),
                    "lost_in_labels": _share_text(labels),
                    "lost_in_samples": _share_text(samples),
                }
            )
    return pd.DataFrame(rows)


def _share_text(flags: list[bool]) -> str:
    if not flags:
        return "—"
    k, n = int(sum(flags)), len(flags)
    interval = stats.binomtest(k, n).proportion_ci(method="exact")
    return f"{k}/{n} [{interval.low:.2f}, {interval.high:.2f}]"
