"""The report's pictures: one line per condition with its band over seeds, and the sample strips.

Notebooks import these (through lab.views.report) to draw the same figures the report page shows.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from lab import layout
from lab.metrics.tails import DECILES
from lab.views.report_stats import band, range_of
from lab.views.report_verdict import SHARE_RATIO, matched_settings, share_ratio_metrics, unscheduled_controls

SEED = "seed"
COVERAGE_DECILE = "tails/coverage_decile_"


def summarise(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean over seeds per condition and generation, with the 95% t-interval for that mean cut at the metric's range
    ([0, 1] for shares and coverages, ≥ 0 for distances and ratios: lab.views.report_stats.range_of)."""
    sub = table[table.metric == metric]
    grouped = sub.groupby(["condition", "generation"])["value"]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    bands = [band(v, range_of(metric)) for _, v in grouped]
    out["low"] = [low if n > 1 else m for (low, _), n, m in zip(bands, out["count"], out["mean"])]
    out["high"] = [high if n > 1 else m for (_, high), n, m in zip(bands, out["count"], out["mean"])]
    return out


def plot_metric(table: pd.DataFrame, metric: str, ax=None, floor: float | None = None):
    """One line per condition (mean over seeds) with its 95% band; generation on x; the real floor dashed."""
    own = ax is None  # a figure of its own (the report's) or a panel of the caller's (a notebook's grid)
    ax = ax or plt.subplots(figsize=(6.4, 4))[1]
    summary = summarise(table, metric)
    for condition, part in summary.groupby("condition", sort=True):
        line = ax.plot(part["generation"], part["mean"], marker="o", label=f"{condition} (n={int(part['count'].max())})")[0]
        if (part["count"] > 1).any():
            ax.fill_between(part["generation"], part["low"], part["high"], color=line.get_color(), alpha=0.2)
    if floor is not None:
        ax.axhline(floor, color="k", linestyle="--", linewidth=1, label=f"real vs real ({floor:.3g})")
    band = ", 95% band for the mean over seeds" if (summary["count"] > 1).any() else ", no band (one seed)"
    # Two lines: the details do not fit a panel's width beside the metric's name.
    ax.set(xlabel="generation", ylabel=metric)
    ax.set_title(f"{metric}\n{_seeds_text(summary)}{band}", fontsize="medium")
    ax.xaxis.get_major_locator().set_params(integer=True)
    _legend_below(ax, own)
    return ax


def _legend_below(ax, own_figure: bool) -> None:
    """The legend under the axes: condition labels are long, and inside the axes they cover the curves. In a figure
    of its own it stays out of the layout, so the axes keep their height (the report saves the picture with the
    legend's room added); in a caller's grid of panels the layout makes room for it, so it covers no other panel."""
    legend = ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)
    legend.set_in_layout(not own_figure)


def _seeds_text(summary: pd.DataFrame) -> str:
    """ "mean of 3 seeds", or "mean of 2–3 seeds" when conditions differ (an unfinished sweep)."""
    counts = summary.groupby("condition")["count"].max() if len(summary) else pd.Series([0])
    low, high = int(counts.min()), int(counts.max())
    return f"mean of {low if low == high else f'{low}–{high}'} seed{'s' * (high != 1)}"


def plot_precision_recall(table: pd.DataFrame, floor: tuple[float, float] | None = None, ax=None):
    """Fidelity against diversity: each condition's mean (recall, precision) per generation, joined in order."""
    own = ax is None
    ax = ax or plt.subplots(figsize=(6.4, 5))[1]
    precision, recall = summarise(table, "metrics/precision"), summarise(table, "metrics/recall")
    both = precision.merge(recall, on=["condition", "generation"], suffixes=("_p", "_r"))
    for condition, part in both.groupby("condition", sort=True):
        line = ax.plot(part["mean_r"], part["mean_p"], marker="o", label=condition)[0]
        for _, r in part.iterrows():
            ax.annotate(
                str(int(r["generation"])), (r["mean_r"], r["mean_p"]), textcoords="offset points", xytext=(4, 4), fontsize="x-small", color=line.get_color()
            )
    if floor is not None:
        ax.plot([floor[1]], [floor[0]], marker="*", markersize=14, color="k", linestyle="none", label="real vs real")
    title = f"precision against recall\n{_seeds_text(precision)}, numbers = generation"
    reals = [] if floor is None else [floor]
    xlim = _zoomed([*both["mean_r"], *(f[1] for f in reals)])
    ylim = _zoomed([*both["mean_p"], *(f[0] for f in reals)])
    ax.set(xlabel="recall (diversity)", ylabel="precision (fidelity)", xlim=xlim, ylim=ylim, title=title)
    _legend_below(ax, own)
    return ax


def _zoomed(values, step: float = 0.1) -> tuple[float, float]:
    """An axis from the step below the smallest value (a quarter step of room under it) to just above 1, or above
    the largest value: points that all sit near 1 (a CPU run's precision and recall) spread out instead of crowding
    one corner of the unit square, and the tick at the lower end says where the axis starts."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    low, high = min(finite, default=0.0), max(finite, default=0.0)
    start = np.floor(round((low - step / 4) / step, 9)) * step  # rounded first: 0.925 starts at 0.9, as 0.825 at 0.8
    return max(0.0, round(start, 9)), max(1.02, high + step / 4)


def plot_class_shares(table: pd.DataFrame, condition: str, ax=None):
    """Each class's share among recognised samples ÷ its real share, per generation (mean over seeds)."""
    ax = ax or plt.subplots(figsize=(6.4, 4))[1]
    part = table[table.condition == condition]
    means = pd.DataFrame()
    for metric in share_ratio_metrics(part):
        means = summarise(part, metric)
        ax.plot(means["generation"], means["mean"], marker=".", label=f"class {metric.removeprefix(SHARE_RATIO)}")
    ax.axhline(1.0, color="k", linewidth=1, label="as in the real data")
    ax.axhline(0.5, color="k", linestyle="--", linewidth=1, label="half its real share")
    ax.set(xlabel="generation", ylabel="share ÷ real share", title=f"class shares: {condition} ({_seeds_text(means)})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def plot_coverage_by_density(table: pd.DataFrame, condition: str, ax=None, floors: dict | None = None):
    """k-NN coverage of each density decile of the reference per generation (mean over seeds): decile 0, the
    sparsest, falling before the rest is the early stage of collapse (the tails lost); all falling, the late one."""
    ax = ax or plt.subplots(figsize=(6.4, 4))[1]
    part = table[table.condition == condition]
    colours = plt.get_cmap("viridis")
    for j in range(DECILES):
        means = summarise(part, f"{COVERAGE_DECILE}{j}")
        label = {0: "decile 0 (sparsest)", DECILES - 1: f"decile {j} (densest)"}.get(j, f"decile {j}")
        ax.plot(means["generation"], means["mean"], marker=".", color=colours(j / (DECILES - 1)), label=label)
    floor = (floors or {}).get(f"{COVERAGE_DECILE}0")
    if floor is not None:
        ax.axhline(floor, color="k", linestyle="--", linewidth=1, label=f"real vs real, decile 0 ({floor:.3g})")
    ax.set(xlabel="generation", ylabel="k-NN coverage", title=f"coverage by density: {condition}")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the lines, not over them
    return ax


def plot_heatmap(table: pd.DataFrame, metric: str, loop: str, ax=None):
    """Mean `metric` over seeds for each condition of one loop (rows, by real fraction) × generation (columns). One
    row per condition, never per real fraction alone: a sweep that also moves another setting (loop.train_size,
    train.synthetic_weight, …) would otherwise pool its conditions into one cell."""
    sub = table[(table.metric == metric) & (table.loop == loop)]
    grid = sub.pivot_table(index=["real_fraction", "condition"], columns="generation", values="value", aggfunc="mean")
    labels = [condition.replace(f"loop={loop}, ", "").replace(f"loop={loop}", "") or f"real_fraction={share:g}" for share, condition in grid.index]
    ax = ax or plt.subplots(figsize=(6.4 + 0.06 * max(map(len, labels)), 0.6 * len(grid) + 1.8))[1]
    image = ax.imshow(grid.values, aspect="auto", cmap="viridis", origin="lower")
    step = max(1, grid.shape[1] // 12)  # at most a dozen generation ticks, and values written only where they fit
    ax.set_xticks(range(0, grid.shape[1], step), grid.columns[::step])
    ax.set_yticks(range(grid.shape[0]), labels, fontsize="small" if max(map(len, labels)) > 20 else None)
    if grid.shape[1] <= 12:
        for (i, j), value in np.ndenumerate(grid.values):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", color="w", fontsize="small")
    ax.set(xlabel="generation", ylabel="condition", title=f"{metric}, loop={loop}")
    plt.colorbar(image, ax=ax)
    return ax


REAL_COUNT = "provenance/real"  # real images in a generation's training set


def real_counts(table: pd.DataFrame, loop: str) -> pd.DataFrame:
    """Per condition of `loop`: the real images its generations ≥ 1 train on, and its real share (in the accumulate
    loop, generation 1's: later sets hold more samples). Empty unless the loop's conditions are told apart by these
    two alone and some number of real images was run at two shares: the sweep crossed the count with the share
    (Kazdan et al.'s question)."""
    sub = table[(table.loop == loop) & (table.metric == REAL_COUNT) & (table.generation >= 1)]
    counts = sub.groupby("condition").agg(real=("value", "max"), real_fraction=("real_fraction", "first"))
    counts = counts[counts.real > 0]  # a loop with no real image left has no place on a log axis
    crossed = counts.real.nunique() > 1 and counts.groupby("real").real_fraction.nunique().max() > 1
    return counts if crossed and not counts.duplicated(["real", "real_fraction"]).any() else counts.iloc[:0]


def plot_against_real_count(table: pd.DataFrame, metric: str, loop: str, ax=None):
    """`metric` at the last generation every condition of `loop` reached against the real images each trains on (log
    x), one line per real share, mean over seeds with its 95% band; the control at each of its sizes beside them
    (where the controls differ in size alone). Lines of two shares that meet at one count say the count is what
    matters; lines that part, the share."""
    own = ax is None
    ax = ax or plt.subplots(figsize=(6.4, 4))[1]
    counts = real_counts(table, loop)
    controls = unscheduled_controls(table)
    controls = controls if len(controls) == 1 or matched_settings(table) else []  # controls apart in size alone
    control_counts = table[table.condition.isin(controls) & (table.metric == REAL_COUNT) & (table.generation >= 1)].groupby("condition").value.max()
    parts = [(f"real share {share:g}", part.real) for share, part in counts.groupby("real_fraction")] + [("real_only (control)", control_counts)]
    summary = summarise(table[table.condition.isin([*counts.index, *control_counts.index])], metric)
    if summary.empty:
        ax.set_title(f"{metric}: not logged by these conditions")
        return ax
    generation = summary.groupby("condition").generation.max().min()  # a partial sweep: where every condition is
    at = summary[summary.generation == generation].set_index("condition")
    for label, real in parts:
        points = at.loc[at.index.intersection(real.index)].assign(real=real).sort_values("real")
        if points.empty:
            continue
        seeds = sorted({int(points["count"].min()), int(points["count"].max())})
        line = ax.plot(points.real, points["mean"], marker="o", label=f"{label} (n={'–'.join(map(str, seeds))})")[0]
        if (points["count"] > 1).any():
            ax.fill_between(points.real, points.low, points.high, color=line.get_color(), alpha=0.2)
    ticks = sorted(set(counts.real) | set(control_counts))
    ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{t:,.0f}" for t in ticks])
    ax.minorticks_off()
    title = f"{metric} at generation {generation}, loop={loop}\nagainst the real images kept, by real share"
    ax.set(xlabel="real images in the training set", ylabel=metric, title=title)
    _legend_below(ax, own)
    return ax


def sample_strips(table: pd.DataFrame) -> list[tuple[str, list[Path]]]:
    """(condition, sample grids of generation 0, 1, …) of each condition's first run (by seed)."""
    out = []
    for condition, part in table.groupby("condition", sort=True):
        run = Path(part.sort_values([SEED, "run"])["run"].iloc[0])
        generations = sorted(int(g) for g in part.loc[part.run == str(run), "generation"].unique())  # the rows load_runs read
        paths = [run / layout.grid(g) for g in generations]
        if paths and all(p.exists() for p in paths):
            seed = part.loc[part.run == str(run), SEED].iloc[0]
            out.append((f"{condition}, seed {seed}", paths))
    return out


def plot_strip(title: str, paths: list[Path]):
    """One condition's samples, generation by generation, left to right."""
    # Constrained layout keeps room for the suptitle (tight_layout lays the panels over it).
    fig, axes = plt.subplots(1, len(paths), figsize=(2.6 * len(paths), 3.0), squeeze=False, layout="constrained")
    for g, (ax, path) in enumerate(zip(axes[0], paths)):
        ax.imshow(np.asarray(Image.open(path).convert("RGB")))
        ax.set_title(f"generation {g}", fontsize="small")
        ax.axis("off")
    fig.suptitle(title, fontsize="medium")
    return fig
