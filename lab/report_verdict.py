"""The report's numbers beyond the curves: real floors, per-regime verdicts, minority survival.

- floors: each run's reference.json holds every metric of N real training images against the held-out
  set at the same N; a metric's floor is their mean over the runs of the table.
- verdict: per condition and metric, the least-squares change per generation fitted on each seed's
  curve, then the mean of those slopes with a 95% t-interval over seeds; and the generation at which the
  mean Fréchet distance first exceeds k × its floor.
- contrasts: per pair of conditions and metric, the difference A − B paired by seed at the last generation
  both reached, with a 95% t-interval over the seeds they share. Every loop of a seed starts from the same
  generation-0 model, held-out set and noise streams, so the seed's luck cancels in the difference: with 3
  seeds two loops can be told apart this way while their own bands (which keep that luck) still touch.
- survival: per condition and class, the first generation at which the class's mean share among the
  recognised samples falls below half of its share in the real pool.
"""

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from lab.labels import wright_fisher_extinction
from lab.tracking import scalar_key

SHARE_RATIO = "classes/share_ratio_"
LABEL_COUNT = "data/label_count_"  # copies of a class in a generation's training set (labelled chains)
SAMPLE_COUNT = "class_histogram/"  # recognised samples of a class (lab.report expands metrics.jsonl's histogram)


def floors(table: pd.DataFrame) -> dict[str, float]:
    """Metric key (as in metrics.jsonl) → mean real floor over the runs that recorded one."""
    values: dict[str, list[float]] = {}
    for run in table.run.unique():
        path = Path(run) / "reference.json"
        baseline = json.loads(path.read_text()).get("real_baseline", {}) if path.exists() else {}
        for key, value in baseline.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.setdefault(scalar_key(key), []).append(float(value))
    return {key: float(np.mean(v)) for key, v in values.items()}


def slopes(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Change per generation of each run (least squares over its generations)."""
    rows = []
    for (condition, run), part in table[table.metric == metric].groupby(["condition", "run"]):
        if part.generation.nunique() >= 2:
            values = part.value.to_numpy(float)
            slope = np.polyfit(part.generation.to_numpy(float), values, 1)[0]
            slope = 0.0 if abs(slope) < 1e-9 * (1 + np.abs(values).max()) else slope  # a flat curve, not 1e-16
            rows.append({"condition": condition, "run": run, "slope": slope})
    return pd.DataFrame(rows, columns=["condition", "run", "slope"])


def first_generation(table: pd.DataFrame, metric: str, test) -> dict[str, int | None]:
    """Condition → first generation whose mean over seeds passes `test` (None: none does)."""
    means = table[table.metric == metric].groupby(["condition", "generation"])["value"].mean().reset_index()
    out = {}
    for condition, part in means.groupby("condition"):
        hits = part[test(part.value)].generation
        out[condition] = int(hits.min()) if len(hits) else None
    return out


def verdicts(table: pd.DataFrame, metrics: list[str], fd_metric: str | None, floor_multiple: float) -> pd.DataFrame:
    """Condition × metric: "slope [95% low, high]" per generation; plus the FD-exceeds-k×floor generation."""
    cells: dict[str, dict] = {}
    for metric in metrics:
        per_run = slopes(table, metric)
        for condition, part in per_run.groupby("condition"):
            cells.setdefault(condition, {})[metric.removeprefix("metrics/")] = _interval_text(part.slope.to_numpy())
    floor = floors(table).get(fd_metric) if fd_metric else None
    if floor is not None:
        column = f"{fd_metric.removeprefix('metrics/')} > {floor_multiple:g}× floor ({floor_multiple * floor:.3g}) at generation"
        for condition, generation in first_generation(table, fd_metric, lambda v: v > floor_multiple * floor).items():
            cells.setdefault(condition, {})[column] = "never" if generation is None else str(generation)
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("condition").reset_index()


def contrasts(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Pair of conditions × metric: "A − B" paired by seed at the last generation both reached, "mean [95%]"."""
    if not metrics:
        return pd.DataFrame()
    last = table.groupby("condition")["generation"].max()
    wide = _by_seed(table, metrics)
    rows = []
    for a, b in itertools.combinations(sorted(last.index), 2):
        generation = min(last[a], last[b])
        if (a, generation) not in wide.index or (b, generation) not in wide.index:
            continue
        differences = wide.loc[(a, generation)] - wide.loc[(b, generation)]  # aligned by seed: shared seeds only
        seeds = int(differences.notna().sum().max())
        if seeds:
            rows.append({"contrast": f"{a} − {b}", "generation": int(generation), "seeds": seeds}
                        | {m.removeprefix("metrics/"): _interval_text(differences[m].dropna().to_numpy())
                           for m in metrics if m in differences and differences[m].notna().any()})
    return pd.DataFrame(rows)


TAIL_GAP = "metrics/knn_coverage_tail_minus_core"


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


def departures(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Condition × metric: the difference from the real_only control paired by seed at every generation, "mean [95%]",
    and the first generation whose interval excludes 0 ("not shown" where none does). Unadjusted 95% t-intervals:
    read a departure at one generation among many with that in mind. Needs one real_only condition in the table."""
    controls = sorted(table[table.loop == "real_only"].condition.unique())
    if len(controls) != 1 or not metrics:
        return pd.DataFrame()
    control = controls[0]
    wide = _by_seed(table, metrics)
    rows = []
    for condition in sorted(set(table.condition) - {control}):
        for metric in metrics:
            cells, first = {}, None
            for generation in sorted(table[table.condition == condition].generation.unique()):
                if (condition, generation) not in wide.index or (control, generation) not in wide.index:
                    continue
                differences = (wide.loc[(condition, generation)][metric] - wide.loc[(control, generation)][metric]).dropna()
                if len(differences) >= 2:
                    cells[f"generation {generation}"] = text = _interval_text(differences.to_numpy())
                    first = generation if first is None and text.endswith("*") else first
            if cells:
                rows.append({"condition": condition, "metric": metric.removeprefix("metrics/"), "control": control,
                             "first_departure": "not shown" if first is None else int(first)} | cells)
    return pd.DataFrame(rows)


def _by_seed(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One value per condition, generation, seed (rows) and metric (columns), for differences paired by seed.
    load_runs refuses a seed given twice; a table built otherwise gets its repeats averaged, never counted as more seeds."""
    return table[table.metric.isin(metrics)].pivot_table(index=["condition", "generation", "seed"], columns="metric",
                                                         values="value", aggfunc="mean")


def _interval_text(values: np.ndarray) -> str:
    mean = float(np.mean(values))
    if len(values) < 2:
        return f"{mean:+.3g} (1 seed)"
    half = stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    # A change whose interval excludes 0 is marked: it is the regime's drift, not seed noise.
    mark = " *" if mean - half > 0 or mean + half < 0 else ""
    return f"{mean:+.3g} [{mean - half:+.3g}, {mean + half:+.3g}]{mark}"


def share_ratio_metrics(table: pd.DataFrame) -> list[str]:
    keys = [m for m in table.metric.unique() if m.startswith(SHARE_RATIO)]
    return sorted(keys, key=lambda m: int(m.removeprefix(SHARE_RATIO)))


def survival(table: pd.DataFrame, below: float = 0.5) -> pd.DataFrame:
    """Condition × class: the first generation at which the class's mean share ratio falls below `below`."""
    cells: dict[str, dict] = {}
    for metric in share_ratio_metrics(table):
        label = f"class {metric.removeprefix(SHARE_RATIO)}"
        for condition, generation in first_generation(table, metric, lambda v: v < below).items():
            cells.setdefault(condition, {})[label] = "survives" if generation is None else str(generation)
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("condition").reset_index()


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
                resampled = part.loop.iloc[0] == "fully_synthetic"  # the one loop whose labels are pure resampling
                if resampled and copies is not None and size is not None and generation > 0:
                    predicted.append(wright_fisher_extinction(int(copies), int(size), int(generation))[-1])
                if (f"{LABEL_COUNT}{c}", generation) in values.index:
                    labels.append(values[(f"{LABEL_COUNT}{c}", generation)] == 0)
                if (f"{SAMPLE_COUNT}{c}", generation) in values.index:
                    samples.append(values[(f"{SAMPLE_COUNT}{c}", generation)] == 0)
            generation0 = part[(part.metric == f"{LABEL_COUNT}{c}") & (part.generation == 0)].value
            rows.append({"condition": condition, "class": c, "seeds": len(last), "last_generation": int(last.max()),
                         "copies_at_generation_0": float(generation0.mean()),
                         "predicted_lost": float(np.mean(predicted)) if predicted else float("nan"),
                         "lost_in_labels": _share_text(labels), "lost_in_samples": _share_text(samples)})
    return pd.DataFrame(rows)


def _share_text(flags: list[bool]) -> str:
    if not flags:
        return "—"
    k, n = int(sum(flags)), len(flags)
    interval = stats.binomtest(k, n).proportion_ci(method="exact")
    return f"{k}/{n} [{interval.low:.2f}, {interval.high:.2f}]"
