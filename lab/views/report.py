"""Compare the runs of a sweep: python -m lab.report DIR [DIR …] [--out OUT] [--claims FILE] [--looks N,N,…] [--export PREFIX]

DIR is a multirun directory (every run below it is found) or a run directory. Runs measured against different
data, resolution, class shares, held-out N, features, k or classifier are refused in one line (--split: one report
per group). The verdicts are the claims the runs' preset declared before they ran (or --claims FILE), tested
together with Holm (lab.views.report_claims); every other table is exploratory. Writes into OUT (default DIR/report for
one DIR, ./report otherwise):
    claims.csv          per declared claim: verdict, estimate, interval, raw and Holm-adjusted p, the level, the
                        family's size, seeds used and seeds for 80% power at the claim's Holm share (the confirmatory family)
    runs.csv            one row per run × generation × metric, the run's overrides as columns
    floors.csv          per condition and metric: the real-vs-real floor from its runs' reference.json
    last_generation.csv per condition and metric at the last generation: mean [95% interval over seeds]
    effects.csv         exploratory: per condition, metric and quantity, the difference from the control (the
                        unscheduled real_only, the one of the condition's own size where a sweep runs several, or
                        --control) paired by seed — at each generation, the 0→1 jump, the
                        drift over generations ≥ 1 — with its 95% interval, p and p adjusted within the table
    verdicts.csv        exploratory: per condition and metric, jump, drift and first departure from the control
    contrasts.csv       exploratory: per pair of conditions and metric at the last generation both reached, paired by seed
    class_effects.csv   exploratory: per condition and class, its share against the control's; seeds where it vanished
    cost.csv            exploratory: per condition, mean seconds per generation of each timed step (train, sample,
                        merge, …), the total, and the total ÷ (train + sample): an option's own compute
    extinction.csv      per condition and class: how often it has no copy left at the last generation (in the training
                        set's labels and in the recognised samples), beside pure resampling's prediction
    plots/*.png         each metric vs generation (one line per condition, 95% band for the mean over seeds, cut at the metric's range,
                        the real floor dashed), precision against recall, heat maps of real fraction × generation, the
                        last generation against the real images kept (where a sweep runs one count at two shares),
                        class shares, coverage by density, and each condition's samples generation by generation
    report.html         all of it in one self-contained page (images inlined) that opens from disk, the claims first
The loader (`load_runs`) and the plot functions are what notebooks import.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from lab.errors import LabError, require
from lab.views.report_claims import claims_section, declared, judge_claims, levels, settings_named
from lab.views.report_export import export
from lab.views.report_html import write_html
from lab.views.report_load import condition_labels, find_runs, load_runs, newest_sweep  # noqa: F401 — find_runs and load_runs: the API notebooks import
from lab.views.report_plots import (  # noqa: F401 — the plot functions are lab.views.report's API for notebooks
    COVERAGE_DECILE,
    SEED,
    plot_against_real_count,
    plot_class_shares,
    plot_coverage_by_density,
    plot_heatmap,
    plot_metric,
    plot_precision_recall,
    plot_strip,
    real_counts,
    sample_strips,
    summarise,
)
from lab.views.report_stats import ADJUSTMENTS
from lab.views.report_tables import EXPLORATORY, exploratory_tables, final_table
from lab.views.report_verdict import (
    BASIS,
    TAIL_GAP,
    comparable,
    control_condition,
    floors,
    floors_by_condition,
    matched_controls,
    share_ratio_metrics,
    with_tail_gap,
)

# The metrics a paper leads with, in the page's order (images, then toys); the rest of the page folds away.
HEADLINE = tuple(f"metrics/{m}" for m in ("fd_classifier", "fd_inception", "w2", "precision", "recall", "knn_coverage", "knn_coverage_tail"))
# The family the verdict tables test against the control (and adjust together): the headline metrics plus the
# early-then-late question — the core's coverage, tail − core, and the spread. --metrics names another family.
EFFECT_METRICS = (*HEADLINE, "metrics/knn_coverage_core", TAIL_GAP, "metrics/feature_variance_ratio", "metrics/variance_ratio")


def main_metrics(table: pd.DataFrame) -> list[str]:
    """The metrics/* keys: the headline ones in HEADLINE's order, then the rest alphabetically."""
    order = {m: i for i, m in enumerate(HEADLINE)}
    return sorted((m for m in table.metric.unique() if m.startswith("metrics/")), key=lambda m: (order.get(m, len(order)), m))


@dataclass
class Reading:
    """How a sweep is read: the control, the exploratory tables' adjustment and metrics, and the declared claims
    (with the level this read may spend when the sweep is read at planned seed counts)."""

    control: str | None = None
    adjust: str = "holm"
    effect_metrics: list[str] | None = None
    claims_file: Path | None = None
    looks: list[int] | None = None
    split: bool = False
    post_hoc: bool = False


def write_report(paths, out: Path, reading: Reading | None = None, **settings) -> list[Path]:
    """The report of the runs under `paths` in `out` (one per comparable group in out/group_<i> with `split`).
    `settings` are Reading's fields, for a call that names one or two. Every check runs before anything is written."""
    reading = reading or Reading(**settings)
    declared_family = declared(find_runs(paths), reading.claims_file, reading.looks, reading.post_hoc)
    claims = declared_family.claims
    table = load_runs(paths, settings_named(claims))
    problem = comparable(table)
    if problem and not reading.split:
        raise LabError(f"{problem}; give the report runs of one basis, or pass --split for one report per group")
    effect_metrics = reading.effect_metrics
    if effect_metrics:
        logged = set(table.metric) | {TAIL_GAP}
        named = {m: m if m in logged else f"metrics/{m}" for m in effect_metrics}
        unknown = [m for m, key in named.items() if key not in logged]
        if unknown:
            raise LabError(f"--metrics {' '.join(unknown)}: not logged by these runs; they log {', '.join(main_metrics(table))}")
        effect_metrics = list(named.values())
    basis = sorted(c for c in table.columns if c.startswith(BASIS))
    groups = [(out, table)] if not problem else [(out / f"group_{i}", g) for i, (_, g) in enumerate(table.groupby(basis, sort=True))]
    tested = []
    for _, group in groups:
        group = with_tail_gap(group.assign(condition=condition_labels(group)))  # within a group, only what varies there names a condition
        baseline = control_condition(group, reading.control) or matched_controls(group)  # an unknown --control stops here
        level, final = levels(group, declared_family, baseline)
        claimed = judge_claims(group, claims, baseline, level, final) if claims else pd.DataFrame()
        if len(claimed):  # where the family comes from travels with claims.csv (and with an exported copy)
            claimed = claimed.assign(source=declared_family.source, post_hoc=declared_family.post_hoc)
        tested.append(claimed)
    return [_write_group(group, where, paths, reading, effect_metrics, claimed, declared_family) for (where, group), claimed in zip(groups, tested)]


def _write_group(table, out: Path, paths, reading: Reading, effect_metrics, claimed: pd.DataFrame, declared_family) -> Path:
    table = table.assign(condition=condition_labels(table))  # within a group, only what varies there names a condition
    out.mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(exist_ok=True)
    table.to_csv(out / "runs.csv", index=False)
    floor = floors(table)
    floors_by_condition(table).to_csv(out / "floors.csv", index=False)
    metrics = main_metrics(table)
    headline = [m for m in metrics if m in HEADLINE]
    figures, more = _figures(table, out / "plots", floor, metrics, headline)
    last = final_table(table, metrics)
    last.to_csv(out / "last_generation.csv", index=False)
    shown = ["condition", "generation", "seeds", *(m.removeprefix("metrics/") for m in headline)]
    tables = [claims_section(claimed, declared_family)]
    tables.append(
        (f"{EXPLORATORY}: last generation, mean over seeds [95% interval]; every metric in last_generation.csv", last[[c for c in shown if c in last]])
    )
    if len(claimed):
        claimed.to_csv(out / "claims.csv", index=False)
    else:
        (out / "claims.csv").unlink(missing_ok=True)  # an earlier report's claims must not pass for this one's
    table = with_tail_gap(table)
    tables += exploratory_tables(table, out, reading.control, reading.adjust, effect_metrics or EFFECT_METRICS)
    return write_html(out / "report.html", figures, tables, runs=table.run.nunique(), sources=[str(p) for p in paths], more=more)


def _figures(table: pd.DataFrame, plots: Path, floor: dict, metrics: list[str], headline: list[str]):
    """(figures, more): the curves, then what the samples look like, then the finer figures; `more` holds what the
    page folds away (the other metrics, the class shares)."""
    figures, more = [], []
    for metric in metrics:
        fig = plot_metric(table, metric, floor=floor.get(metric)).figure
        (figures if metric in headline else more).append((metric, _save(fig, plots / f"{metric.replace('/', '_')}.png")))
    if {"metrics/precision", "metrics/recall"} <= set(metrics):
        point = (floor["metrics/precision"], floor["metrics/recall"]) if "metrics/precision" in floor else None
        figures.append(("precision against recall", _save(plot_precision_recall(table, point).figure, plots / "precision_recall.png")))
    for loop in sorted(table.loop.unique()):
        if table[table.loop == loop].real_fraction.nunique() > 1:
            for metric in metrics[:1]:
                fig = plot_heatmap(table, metric, loop).figure
                figures.append((f"{metric}: real fraction × generation, {loop}", _save(fig, plots / f"heatmap_{loop}_{metric.replace('/', '_')}.png")))
    for loop in sorted(set(table.loop) - {"real_only"}):
        for metric in metrics[:1] if len(real_counts(table, loop)) else []:  # the count of real images crossed with their share
            fig = plot_against_real_count(table, metric, loop).figure
            figures.append((f"{metric}: against the real images kept, {loop}", _save(fig, plots / f"real_count_{loop}.png")))
    for i, (title, grids) in enumerate(sample_strips(table)):
        figures.append((f"samples by generation: {title}", _save(plot_strip(title, grids), plots / f"samples_{i}.png")))
    conditions = sorted(table.condition.unique())
    if share_ratio_metrics(table):
        for i, condition in enumerate(conditions):
            more.append((f"class shares, {condition}", _save(plot_class_shares(table, condition).figure, plots / f"class_shares_{i}.png")))
    if f"{COVERAGE_DECILE}0" in set(table.metric):
        for i, condition in enumerate(conditions):
            fig = plot_coverage_by_density(table, condition, floors=floor).figure
            figures.append((f"coverage by density, {condition}", _save(fig, plots / f"coverage_by_density_{i}.png")))
    return figures, more


def _save(fig, path: Path) -> Path:
    if fig.get_layout_engine() is None:  # a figure that chose its layout keeps it
        fig.tight_layout()
    # A legend below the axes (out of the layout) stays in the picture; the other artists (a suptitle) as by default.
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    fig.savefig(path, dpi=110, bbox_inches="tight", bbox_extra_artists=fig.get_default_bbox_extra_artists() + legends)
    plt.close(fig)
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab.report", description="Compare the runs of a sweep.")
    parser.add_argument("dirs", nargs="*", type=Path, help="multirun directories or run directories (default: the newest sweep under multirun/)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default DIR/report for one DIR)")
    parser.add_argument(
        "--control",
        default=None,
        metavar="CONDITION",
        help="the condition effects are measured against, as the report names it (default: the one real_only condition without "
        "a loop.schedule, or, where a sweep runs it at several sizes, each condition's own)",
    )
    parser.add_argument(
        "--adjust",
        choices=sorted(ADJUSTMENTS),
        default="holm",
        help="p-value adjustment within each table: holm (family-wise error, default) or bh (false discovery rate)",
    )
    parser.add_argument(
        "--claims",
        type=Path,
        default=None,
        metavar="FILE",
        help="a YAML file of claims (claims: [...], as a preset declares them) for runs that declared none; the confirmatory family",
    )
    parser.add_argument(
        "--post-hoc",
        action="store_true",
        help="with --claims, over runs that declared claims of their own: test the file's family anyway, labelled post hoc",
    )
    parser.add_argument(
        "--looks",
        default=None,
        metavar="N,N,…",
        help="for runs whose preset planned none (looks:): the seed counts at which this sweep is read as it grows (e.g. 5,10,20)",
    )
    parser.add_argument(
        "--metrics", nargs="+", default=None, metavar="KEY", help="the metrics tested against the control, as logged (default: the headline and tail metrics)"
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="PREFIX",
        help="also write PREFIX-claims.csv and PREFIX-runs.csv.gz for a results page, and print the claims table in Markdown",
    )
    parser.add_argument(
        "--split", action="store_true", help="runs measured against different data, resolution, N or classifier: one report per group instead of refusing"
    )
    return parser


def main(argv=None) -> None:
    args = _parser().parse_args(argv)
    plt.switch_backend("Agg")  # files only; a notebook importing this module keeps its inline backend
    try:
        looks = _looks(args.looks)
        require(args.claims is not None or not args.post_hoc, "--post-hoc reads a --claims FILE over runs that declared their own; name the file with --claims")
        require(args.export is None or not args.split, "--export takes one report, and --split may write several; export one group's runs at a time")
        dirs = args.dirs or [newest_sweep()]
        out = args.out or (dirs[0] / "report" if len(dirs) == 1 else Path("report"))
        reading = Reading(args.control, args.adjust, args.metrics, args.claims, looks, args.split, args.post_hoc)
        pages = write_report(dirs, out, reading)
    except LabError as exc:  # one line and exit 2, like every entry point's usage errors
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    for page in pages:
        print(f"report: {page}")
    if args.export is not None:
        print(export(pages[0].parent, args.export))


def _looks(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        looks = [int(n) for n in text.split(",")]
    except ValueError:
        looks = []
    require(bool(looks) and looks == sorted(set(looks)) and looks[0] >= 2, f"--looks {text}: allowed increasing seed counts ≥ 2, e.g. 5,10,20")
    return looks


if __name__ == "__main__":
    main()
