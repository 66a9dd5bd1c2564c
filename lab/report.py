"""Compare the runs of a sweep: python -m lab.report DIR [DIR …] [--out OUT]

DIR is a multirun directory (every run below it is found) or a run directory. Writes into OUT
(default DIR/report for one DIR, ./report otherwise):
    runs.csv        one row per run × generation × metric, the run's overrides as columns
    verdicts.csv    per condition and metric: change per generation with its 95% interval over seeds,
                    and the generation at which FD first exceeds k× its real floor (--floor-multiple)
    contrasts.csv   per pair of conditions and metric: the difference paired by seed at the last generation
                    both reached, with its 95% interval over the shared seeds
    departures.csv  per condition and metric: the difference from the real_only control paired by seed at every
                    generation, and the first generation at which it departs (tails against core, spread, FD)
    survival.csv    per condition and class: the generation at which the class falls below half its share
    extinction.csv  per condition and class: how often it has no copy left at the last generation (in the training
                    set's labels and in the recognised samples), beside pure resampling's prediction
    plots/*.png     each metric vs generation (one line per condition, 95% band over seeds, the real floor
                    dashed), precision against recall, heat maps of real fraction × generation, class
                    shares per generation, and each condition's samples generation by generation
    report.html     all of it in one self-contained page (images inlined) that opens from disk
The loader (`load_runs`) and the plot functions are what notebooks import.
"""

import argparse
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from PIL import Image
from scipy import stats

from lab.config import CONF_DIR
from lab.loops import effective_real_fraction
from lab.metrics.tails import DECILES
from lab.report_html import write_html
from lab.report_verdict import (
    SAMPLE_COUNT,
    SHARE_RATIO,
    TAIL_GAP,
    contrasts,
    departures,
    extinction,
    floors,
    share_ratio_metrics,
    survival,
    verdicts,
    with_tail_gap,
)

SEED = "seed"
COVERAGE_DECILE = "tails/coverage_decile_"
# The early-then-late question, read against the control generation by generation (departures.csv): the tail's and
# the core's coverage, overall coverage and recall, the spread, and the headline distances.
DEPARTURE_METRICS = tuple(f"metrics/{m}" for m in ("knn_coverage_tail", "knn_coverage_core", "knn_coverage_tail_minus_core",
                                                   "knn_coverage", "recall", "feature_variance_ratio", "variance_ratio",
                                                   "fd_classifier", "w2"))
# Settings that do not change the science (conf/config.yaml keeps them out of run names): a seed resumed with
# another tracking mode or thread count is the same condition, not a new one with a band of its own.
NOT_SCIENCE = frozenset(OmegaConf.load(CONF_DIR / "config.yaml").hydra.job.config.override_dirname.exclude_keys)


def find_runs(paths) -> list[Path]:
    """Every run directory (one with config.yaml and metrics.jsonl) at or below the given paths."""
    runs = set()
    for path in map(Path, paths):
        candidates = [path] if (path / "metrics.jsonl").exists() else [p.parent for p in path.rglob("metrics.jsonl")]
        runs.update(c for c in candidates if (c / "config.yaml").exists())
    return sorted(runs)


def load_runs(paths) -> pd.DataFrame:
    """Tidy table: run, generation, metric, value, plus loop, real_fraction, seed and every override key."""
    frames = []
    for run in find_runs(paths):
        cfg = OmegaConf.load(run / "config.yaml")
        overrides = _overrides(run)
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        records = []
        for row in rows:
            for key, value in row.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "generation":
                    records.append({"generation": row["generation"], "metric": key, "value": float(value)})
                elif key == "class_histogram":  # recognised samples per class: what the extinction table reads
                    records += [{"generation": row["generation"], "metric": f"{SAMPLE_COUNT}{c}", "value": float(n)}
                                for c, n in enumerate(value)]
        frame = pd.DataFrame.from_records(records, columns=["generation", "metric", "value"])
        frame.insert(0, "run", str(run))
        fraction = effective_real_fraction(cfg.loop.name, cfg.loop.real_fraction)
        for key, value in {"loop": cfg.loop.name, "real_fraction": fraction, SEED: int(cfg.seed), **overrides}.items():
            frame[key] = value
        frames.append(frame)
    if not frames:
        raise SystemExit(f"error: no run directories (with config.yaml and metrics.jsonl) under {', '.join(map(str, paths))}")
    table = pd.concat(frames, ignore_index=True)
    table["condition"] = _conditions(table)
    _one_run_per_seed(table)
    return table


def _one_run_per_seed(table: pd.DataFrame) -> None:
    """Two runs of one condition with the same seed are one replicate twice (same generation 0, same noise):
    counted as two seeds they would narrow every band. Stop before anything is written."""
    runs = table[["condition", SEED, "run"]].drop_duplicates()
    twice = runs[runs.duplicated(["condition", SEED], keep=False)]
    if len(twice):
        (condition, seed), part = next(iter(twice.groupby(["condition", SEED])))
        raise SystemExit(f"error: {condition}, seed={seed} is in {len(part)} runs ({', '.join(part.run)}); a seed is one "
                         "replicate: give the report one of them, or runs that differ in an override (it splits them "
                         "into conditions)")


def _overrides(run: Path) -> dict:
    path = run / "overrides.yaml"
    items = list(OmegaConf.load(path)) if path.exists() else []
    out = {}
    for item in items:
        key, _, value = str(item).partition("=")
        key = key.lstrip("+~")
        if key != SEED and key not in NOT_SCIENCE and not key.startswith("hydra"):
            out[key] = value
    return out


def _conditions(table: pd.DataFrame) -> pd.Series:
    """A label per run: the loop, then the settings that vary across runs, seeds excepted (they form the band)."""
    fixed = {"run", "generation", "metric", "value", SEED, "real_fraction", "loop", "loop.real_fraction"}
    keys = ["loop"] + [c for c in table.columns if c not in fixed and table[c].nunique(dropna=False) > 1]
    if table.groupby("loop")["real_fraction"].nunique().max() > 1:
        keys.append("real_fraction")
    return table[keys].astype(str).apply(lambda r: ", ".join(f"{k}={v}" for k, v in zip(keys, r)), axis=1)


def summarise(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean and 95% t-interval over seeds per condition and generation."""
    sub = table[table.metric == metric]
    grouped = sub.groupby(["condition", "generation"])["value"]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    t = stats.t.ppf(0.975, np.maximum(out["count"] - 1, 1))
    half = np.where(out["count"] > 1, t * out["std"].fillna(0) / np.sqrt(out["count"]), 0.0)
    out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out


def plot_metric(table: pd.DataFrame, metric: str, ax=None, floor: float | None = None):
    """One line per condition (mean over seeds) with its 95% band; generation on x; the real floor dashed."""
    ax = ax or plt.subplots(figsize=(6.4, 4))[1]
    summary = summarise(table, metric)
    for condition, part in summary.groupby("condition", sort=True):
        line = ax.plot(part["generation"], part["mean"], marker="o", label=condition)[0]
        if (part["count"] > 1).any():
            ax.fill_between(part["generation"], part["low"], part["high"], color=line.get_color(), alpha=0.2)
    if floor is not None:
        ax.axhline(floor, color="k", linestyle="--", linewidth=1, label=f"real vs real ({floor:.3g})")
    ax.set(xlabel="generation", ylabel=metric, title=f"{metric} ({_seeds_text(summary)}, 95% band)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize="small")
    return ax


def _seeds_text(summary: pd.DataFrame) -> str:
    """"mean of 3 seeds", or "mean of 2–3 seeds" when conditions differ (an unfinished sweep)."""
    counts = summary.groupby("condition")["count"].max() if len(summary) else pd.Series([0])
    low, high = int(counts.min()), int(counts.max())
    return f"mean of {low if low == high else f'{low}–{high}'} seed{'s' * (high != 1)}"


def plot_precision_recall(table: pd.DataFrame, floor: tuple[float, float] | None = None, ax=None):
    """Fidelity against diversity: each condition's mean (recall, precision) per generation, joined in order."""
    ax = ax or plt.subplots(figsize=(6.4, 5))[1]
    precision, recall = summarise(table, "metrics/precision"), summarise(table, "metrics/recall")
    both = precision.merge(recall, on=["condition", "generation"], suffixes=("_p", "_r"))
    for condition, part in both.groupby("condition", sort=True):
        line = ax.plot(part["mean_r"], part["mean_p"], marker="o", label=condition)[0]
        for _, r in part.iterrows():
            ax.annotate(str(int(r["generation"])), (r["mean_r"], r["mean_p"]), textcoords="offset points", xytext=(4, 4),
                        fontsize="x-small", color=line.get_color())
    if floor is not None:
        ax.plot([floor[1]], [floor[0]], marker="*", markersize=14, color="k", linestyle="none", label="real vs real")
    ax.set(xlabel="recall (diversity)", ylabel="precision (fidelity)", xlim=(0, 1.02), ylim=(0, 1.02),
           title="precision against recall, numbers = generation")
    ax.legend(fontsize="small")
    return ax


def plot_class_shares(table: pd.DataFrame, condition: str, ax=None):
    """Each class's share among recognised samples ÷ its real share, per generation (mean over seeds)."""
    ax = ax or plt.subplots(figsize=(6.4, 4))[1]
    part = table[table.condition == condition]
    for metric in share_ratio_metrics(part):
        means = summarise(part, metric)
        ax.plot(means["generation"], means["mean"], marker=".", label=f"class {metric.removeprefix(SHARE_RATIO)}")
    ax.axhline(1.0, color="k", linewidth=1)
    ax.axhline(0.5, color="k", linestyle="--", linewidth=1)
    ax.set(xlabel="generation", ylabel="share ÷ real share", title=f"class shares: {condition}")
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
    """Mean `metric` over seeds for real fraction (rows) × generation (columns) of one loop."""
    sub = table[(table.metric == metric) & (table.loop == loop)]
    grid = sub.pivot_table(index="real_fraction", columns="generation", values="value", aggfunc="mean")
    ax = ax or plt.subplots(figsize=(6.4, 0.6 * len(grid) + 1.8))[1]
    image = ax.imshow(grid.values, aspect="auto", cmap="viridis", origin="lower")
    ax.set_xticks(range(grid.shape[1]), grid.columns)
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
    for (i, j), value in np.ndenumerate(grid.values):
        ax.text(j, i, f"{value:.3g}", ha="center", va="center", color="w", fontsize="small")
    ax.set(xlabel="generation", ylabel="real fraction", title=f"{metric}, loop={loop}")
    plt.colorbar(image, ax=ax)
    return ax


def sample_strips(table: pd.DataFrame) -> list[tuple[str, list[Path]]]:
    """(condition, sample grids of generation 0, 1, …) of each condition's first run (by seed)."""
    out = []
    for condition, part in table.groupby("condition", sort=True):
        run = Path(part.sort_values([SEED, "run"])["run"].iloc[0])
        generations = sorted(json.loads(line)["generation"] for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip())
        paths = [run / "samples" / f"gen_{g:03d}.png" for g in generations]
        if paths and all(p.exists() for p in paths):
            seed = part.loc[part.run == str(run), SEED].iloc[0]
            out.append((f"{condition}, seed {seed}", paths))
    return out


def plot_strip(title: str, paths: list[Path]):
    """One condition's samples, generation by generation, left to right."""
    fig, axes = plt.subplots(1, len(paths), figsize=(2.6 * len(paths), 3.0), squeeze=False)
    for g, (ax, path) in enumerate(zip(axes[0], paths)):
        ax.imshow(np.asarray(Image.open(path).convert("RGB")))
        ax.set_title(f"generation {g}", fontsize="small")
        ax.axis("off")
    fig.suptitle(title, fontsize="medium")
    return fig


def main_metrics(table: pd.DataFrame) -> list[str]:
    """The metrics/* keys, Fréchet distance first."""
    return sorted((m for m in table.metric.unique() if m.startswith("metrics/")), key=lambda m: ("/fd_" not in m, m))


def write_report(paths, out: Path, floor_multiple: float = 3.0) -> Path:
    table = load_runs(paths)
    out.mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(exist_ok=True)
    table.to_csv(out / "runs.csv", index=False)
    floor = floors(table)
    metrics = main_metrics(table)
    figures = []
    if {"metrics/precision", "metrics/recall"} <= set(metrics):
        point = (floor["metrics/precision"], floor["metrics/recall"]) if "metrics/precision" in floor else None
        figures.append(("precision against recall", _save(plot_precision_recall(table, point).figure, out / "plots" / "precision_recall.png")))
    for metric in metrics:
        fig = plot_metric(table, metric, floor=floor.get(metric)).figure
        figures.append((metric, _save(fig, out / "plots" / f"{metric.replace('/', '_')}.png")))
    for loop in sorted(table.loop.unique()):
        if table[table.loop == loop].real_fraction.nunique() > 1:
            for metric in metrics[:1]:
                fig = plot_heatmap(table, metric, loop).figure
                figures.append((f"{metric}: real fraction × generation, {loop}",
                                _save(fig, out / "plots" / f"heatmap_{loop}_{metric.replace('/', '_')}.png")))
    tables = [("Last generation", _final_table(table))]
    fd = next((m for m in metrics if "/fd_" in m), None)
    verdict = verdicts(table, metrics, fd, floor_multiple)
    verdict.to_csv(out / "verdicts.csv", index=False)
    tables.append(("Change per generation (mean over seeds [95% interval]; * = interval excludes 0)", verdict))
    paired = contrasts(table, metrics)
    if len(paired):
        paired.to_csv(out / "contrasts.csv", index=False)
        tables.append(("Conditions compared seed by seed at the last generation both reached: A − B, mean over "
                       "the shared seeds [95% interval]; * = interval excludes 0", paired))
    departed = departures(with_tail_gap(table), [m for m in [*metrics, TAIL_GAP] if m in DEPARTURE_METRICS])
    if len(departed):
        departed.to_csv(out / "departures.csv", index=False)
        tables.append(("Against the real_only control, paired by seed: condition − control per generation, mean [95% "
                       "interval, unadjusted]; first generation whose interval excludes 0", departed))
    if share_ratio_metrics(table):
        alive = survival(table)
        alive.to_csv(out / "survival.csv", index=False)
        tables.append(("Minority survival: generation at which a class falls below half its real share", alive))
        for i, condition in enumerate(sorted(table.condition.unique())):
            figures.append((f"class shares, {condition}", _save(plot_class_shares(table, condition).figure, out / "plots" / f"class_shares_{i}.png")))
    if f"{COVERAGE_DECILE}0" in set(table.metric):
        for i, condition in enumerate(sorted(table.condition.unique())):
            fig = plot_coverage_by_density(table, condition, floors=floor).figure
            figures.append((f"coverage by density, {condition}", _save(fig, out / "plots" / f"coverage_by_density_{i}.png")))
    lost = extinction(table)
    if len(lost):
        lost.to_csv(out / "extinction.csv", index=False)
        # The page shows the classes at risk: predicted or seen lost somewhere (every class stays in the CSV).
        at_risk = (lost.predicted_lost >= 0.01) | lost.lost_in_labels.str.match("[1-9]") | lost.lost_in_samples.str.match("[1-9]")
        lost = lost[at_risk]
    if len(lost):
        tables.append(("Extinction by the last generation: share of seeds [95% exact interval] in which a class has no copy "
                       "left, beside pure resampling's prediction from each seed's generation-0 copies (Wright–Fisher)", lost))
    for i, (title, grids) in enumerate(sample_strips(table)):
        figures.append((f"samples by generation: {title}", _save(plot_strip(title, grids), out / "plots" / f"samples_{i}.png")))
    return write_html(out / "report.html", figures, tables, runs=table.run.nunique(), sources=[str(p) for p in paths])


def _final_table(table: pd.DataFrame) -> pd.DataFrame:
    """Condition × metric at each condition's last generation: "mean [95% low, high]"."""
    cells = {}
    for metric in main_metrics(table):
        summary = summarise(table, metric)
        last = summary.loc[summary.groupby("condition")["generation"].idxmax()]
        for _, r in last.iterrows():
            band = f" [{r['low']:.3g}, {r['high']:.3g}]" if r["count"] > 1 else ""
            cells.setdefault(r["condition"], {"generation": int(r["generation"]), "seeds": int(r["count"])})
            cells[r["condition"]][metric.removeprefix("metrics/")] = f"{r['mean']:.3g}{band}"
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("condition").reset_index()


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.report", description="Compare the runs of a sweep.")
    parser.add_argument("dirs", nargs="+", type=Path, help="multirun directories or run directories")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default DIR/report for one DIR)")
    parser.add_argument("--floor-multiple", type=float, default=3.0, metavar="K",
                        help="the verdict table reports the generation at which FD first exceeds K × its real floor (default 3)")
    args = parser.parse_args(argv)
    plt.switch_backend("Agg")  # files only; a notebook importing this module keeps its inline backend
    for d in args.dirs:
        if not d.is_dir():
            print(f"error: {d} is not a directory; give multirun or run directories", file=sys.stderr)
            sys.exit(2)
    out = args.out or (args.dirs[0] / "report" if len(args.dirs) == 1 else Path("report"))
    page = write_report(args.dirs, out, args.floor_multiple)
    print(f"report: {page}")


if __name__ == "__main__":
    main()
