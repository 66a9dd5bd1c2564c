"""Compare the runs of a sweep: python -m lab.report DIR [DIR …] [--out OUT] [--claims FILE] [--looks N,N,…] [--export PREFIX]

DIR is a multirun directory (every run below it is found) or a run directory. Runs measured against different
data, resolution, class shares, held-out N, features, k or classifier are refused in one line (--split: one report
per group). The verdicts are the claims the runs' preset declared before they ran (or --claims FILE), tested
together with Holm (lab.report_claims); every other table is exploratory. Writes into OUT (default DIR/report for
one DIR, ./report otherwise):
    claims.csv          per declared claim: verdict, estimate, interval, raw and Holm-adjusted p, the level, the
                        family's size, seeds used and seeds for 80% power at the claim's Holm share (the confirmatory family)
    runs.csv            one row per run × generation × metric, the run's overrides as columns
    floors.csv          per condition and metric: the real-vs-real floor from its runs' reference.json
    last_generation.csv per condition and metric at the last generation: mean [95% interval over seeds]
    effects.csv         exploratory: per condition, metric and quantity, the difference from the control (the
                        unscheduled real_only, or --control) paired by seed — at each generation, the 0→1 jump, the
                        drift over generations ≥ 1 — with its 95% interval, p and p adjusted within the table
    verdicts.csv        exploratory: per condition and metric, jump, drift and first departure from the control
    contrasts.csv       exploratory: per pair of conditions and metric at the last generation both reached, paired by seed
    class_effects.csv   exploratory: per condition and class, its share against the control's; seeds where it vanished
    extinction.csv      per condition and class: how often it has no copy left at the last generation (in the training
                        set's labels and in the recognised samples), beside pure resampling's prediction
    plots/*.png         each metric vs generation (one line per condition, 95% band over seeds on the metric's scale,
                        the real floor dashed), precision against recall, heat maps of real fraction × generation,
                        class shares, coverage by density, and each condition's samples generation by generation
    report.html         all of it in one self-contained page (images inlined) that opens from disk, the claims first
The loader (`load_runs`) and the plot functions are what notebooks import.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from omegaconf import OmegaConf

from lab import layout
from lab.conf import science_overrides
from lab.errors import LabError
from lab.loops import effective_real_fraction
from lab.report_claims import ALPHA, condition_of, declared, judge_claims, settings_named
from lab.report_claims import as_text as claims_text
from lab.report_export import export
from lab.report_html import write_html
from lab.report_plots import (  # noqa: F401 — the plot functions are lab.report's API for notebooks
    COVERAGE_DECILE,
    SEED,
    plot_class_shares,
    plot_coverage_by_density,
    plot_heatmap,
    plot_metric,
    plot_precision_recall,
    plot_strip,
    sample_strips,
    summarise,
)
from lab.report_power import look_level
from lab.report_stats import ADJUSTMENT_NAMES, ADJUSTMENTS, interval_text
from lab.report_verdict import (
    BASIS,
    SAMPLE_COUNT,
    TAIL_GAP,
    against_control,
    as_text,
    class_effects,
    comparable,
    contrasts,
    control_condition,
    departures,
    extinction,
    floors,
    floors_by_condition,
    share_ratio_metrics,
    with_tail_gap,
)

EXPLORATORY = "Exploratory — not a verdict"
# The metrics a paper leads with, in the page's order (images, then toys); the rest of the page folds away.
SCHEDULE = "loop.schedule"  # lab/schedule.py
HEADLINE = tuple(f"metrics/{m}" for m in ("fd_classifier", "fd_inception", "w2", "precision", "recall", "knn_coverage", "knn_coverage_tail"))
# The family the verdict tables test against the control (and adjust together): the headline metrics plus the
# early-then-late question — the core's coverage, tail − core, and the spread. --metrics names another family.
EFFECT_METRICS = (*HEADLINE, "metrics/knn_coverage_core", TAIL_GAP, "metrics/feature_variance_ratio", "metrics/variance_ratio")


def find_runs(paths) -> list[Path]:
    """Every run directory (one with config.yaml and metrics.jsonl) at or below the given paths."""
    runs = set()
    for path in map(Path, paths):
        candidates = [path] if (path / layout.METRICS).exists() else [p.parent for p in path.rglob(layout.METRICS)]
        runs.update(c for c in candidates if (c / layout.CONFIG).exists())
    return sorted(runs)


def load_runs(paths, settings=()) -> pd.DataFrame:
    """Tidy table: run, generation, metric, value, plus loop, real_fraction, seed, every override key and the
    `settings` asked for (as a command line would name their values)."""
    frames = []
    runs = find_runs(paths)
    # A setting given on one sweep's command line and left to a preset in another is still a setting of both runs:
    # each run's own config.yaml supplies the value it did not name (else one condition would read "key=nan").
    named = {key for run in runs for key in _overrides(run)} | (set(settings) - {"loop", "seed"})
    configs = {run: OmegaConf.load(run / layout.CONFIG) for run in runs}
    if any(OmegaConf.select(cfg, SCHEDULE, default=None) for cfg in configs.values()):
        named.add(SCHEDULE)  # a schedule a preset set is a setting too: a scheduled chain is never taken for the control
    for run in runs:
        cfg = configs[run]
        overrides = {key: _setting(cfg, key) for key in named} | _overrides(run)
        rows = _metric_rows(run / layout.METRICS)
        records = []
        for row in rows:
            for key, value in row.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "generation":
                    records.append({"generation": row["generation"], "metric": key, "value": float(value)})
                elif key == "class_histogram":  # recognised samples per class: what the extinction table reads
                    records += [{"generation": row["generation"], "metric": f"{SAMPLE_COUNT}{c}", "value": float(n)} for c, n in enumerate(value)]
        frame = pd.DataFrame.from_records(records, columns=["generation", "metric", "value"])
        frame.insert(0, "run", str(run))
        fraction = effective_real_fraction(cfg.loop.name, cfg.loop.real_fraction)
        for key, value in {"loop": cfg.loop.name, "real_fraction": fraction, SEED: int(cfg.seed), **overrides, **_basis(run, cfg)}.items():
            frame[key] = value
        frames.append(frame)
    if not frames:
        raise SystemExit(f"error: no run directories (with config.yaml and metrics.jsonl) under {', '.join(map(str, paths))}")
    table = pd.concat(frames, ignore_index=True)
    table["condition"] = _conditions(table)
    _one_run_per_seed(table)
    return table


def _metric_rows(path: Path) -> list[dict]:
    """metrics.jsonl's rows. A cut last line is a chain still writing or killed mid-write (resume drops it too): the
    rows before it are read and the report says so; a damaged line before the last stops it in one line."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                print(f"note: {path} ends in a cut line (a chain still running, or killed while writing): read up to the row before it", file=sys.stderr)
                break
            raise SystemExit(f"error: {path} line {number} is not a JSON row (a damaged file); restore the run, or leave it out") from None
    return rows


def _one_run_per_seed(table: pd.DataFrame) -> None:
    """Two runs of one condition with the same seed are one replicate twice (same generation 0, same noise):
    counted as two seeds they would narrow every band. Stop before anything is written."""
    runs = table[["condition", SEED, "run"]].drop_duplicates()
    twice = runs[runs.duplicated(["condition", SEED], keep=False)]
    if len(twice):
        (condition, seed), part = next(iter(twice.groupby(["condition", SEED])))
        raise SystemExit(
            f"error: {condition}, seed={seed} is in {len(part)} runs ({', '.join(part.run)}); a seed is one "
            "replicate: give the report one of them, or runs that differ in an override (it splits them "
            "into conditions)"
        )


def _setting(cfg, key: str) -> str:
    """A run's value of a setting as a command line would name it: a group (`model`, `loop`) by its option's name."""
    value = OmegaConf.select(cfg, key, default=[] if key == SCHEDULE else None)  # runs from before schedules had none
    if OmegaConf.is_list(value) or isinstance(value, list):  # as Hydra's command line writes a list: loop.schedule=[fully_synthetic@1-3]
        return f"[{','.join(map(str, value))}]"
    return str(value.get("name") if OmegaConf.is_dict(value) else value)


def _basis(run: Path, cfg) -> dict:
    """What a run's metrics are measured against: runs that differ in any of these cannot share a floor or a table."""
    path = run / layout.REFERENCE
    reference = json.loads(path.read_text()) if path.exists() else {}
    classifier = (reference.get("classifier") or {}).get("path")
    basis = {
        "data": "data.name",
        "resolution": "data.resolution",
        "class shares": "data.class_shares",
        "features": "metrics.features",
        "k": "metrics.nearest_k",
        "recognition threshold": "metrics.recognised_threshold",
    }
    values = {name: OmegaConf.select(cfg, key, default=None) for name, key in basis.items()}
    values |= {
        "N": reference.get("num_samples"),
        "classifier": Path(classifier).name if classifier else None,
        "metric definitions (version)": reference.get("metrics_version", 1),
    }
    return {f"{BASIS}{name}": str(OmegaConf.to_container(v) if OmegaConf.is_config(v) else v) for name, v in values.items()}


def _overrides(run: Path) -> dict:
    path = run / layout.OVERRIDES
    return science_overrides(OmegaConf.load(path) if path.exists() else [])


def _conditions(table: pd.DataFrame) -> pd.Series:
    """A label per run: the loop, then the settings that vary across runs, seeds excepted (they form the band)."""
    fixed = {"run", "generation", "metric", "value", SEED, "real_fraction", "loop", "loop.real_fraction", "condition"}
    keys = ["loop"] + [c for c in table.columns if c not in fixed and not c.startswith(BASIS) and table[c].nunique(dropna=False) > 1]
    if table.groupby("loop")["real_fraction"].nunique().max() > 1:
        keys.append("real_fraction")
    return table[keys].astype(str).apply(lambda r: ", ".join(f"{k}={v}" for k, v in zip(keys, r)), axis=1)


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
    try:
        declared_family = declared(find_runs(paths), reading.claims_file, reading.looks, reading.post_hoc)
    except LabError as exc:
        raise SystemExit(f"error: {exc}") from None
    claims = declared_family.claims
    table = load_runs(paths, settings_named(claims))
    problem = comparable(table)
    if problem and not reading.split:
        raise SystemExit(f"error: {problem}; give the report runs of one basis, or pass --split for one report per group")
    effect_metrics = reading.effect_metrics
    if effect_metrics:
        logged = set(table.metric) | {TAIL_GAP}
        named = {m: m if m in logged else f"metrics/{m}" for m in effect_metrics}
        unknown = [m for m, key in named.items() if key not in logged]
        if unknown:
            raise SystemExit(f"error: --metrics {' '.join(unknown)}: not logged by these runs; they log {', '.join(main_metrics(table))}")
        effect_metrics = list(named.values())
    basis = sorted(c for c in table.columns if c.startswith(BASIS))
    groups = [(out, table)] if not problem else [(out / f"group_{i}", g) for i, (_, g) in enumerate(table.groupby(basis, sort=True))]
    tested = []
    for _, group in groups:
        group = with_tail_gap(group.assign(condition=_conditions(group)))  # within a group, only what varies there names a condition
        baseline = control_condition(group, reading.control)  # an unknown --control stops here
        try:
            level, final = _levels(group, declared_family, baseline)
            claimed = judge_claims(group, claims, baseline, level, final) if claims else pd.DataFrame()
            if len(claimed):  # where the family comes from travels with claims.csv (and with an exported copy)
                claimed = claimed.assign(source=declared_family.source, post_hoc=declared_family.post_hoc)
            tested.append(claimed)
        except LabError as exc:
            raise SystemExit(f"error: {exc}") from None
    return [_write_group(group, where, paths, reading, effect_metrics, claimed, declared_family) for (where, group), claimed in zip(groups, tested)]


def _levels(table: pd.DataFrame, family, control: str | None) -> tuple[float, float]:
    """(the level this read may spend, the plan's final read's): 0.05 for one read; at a planned read of a sweep that
    grows by seeds, the shares that Lan–DeMets' O'Brien–Fleming spending gives them (lab.report_power). Every
    condition a claim names must hold the same, planned number of finished seeds: a read waits for the missing ones."""
    if not family.looks:
        return ALPHA, ALPHA
    if not family.claims:
        raise LabError("--looks spends the level of the declared claims, and these runs declare none; name them with --claims FILE")
    named = sorted({condition_of(table, side, c.name, control) for c in family.claims for side in (c.condition, c.against)})
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


def _write_group(table, out: Path, paths, reading: Reading, effect_metrics, claimed: pd.DataFrame, declared_family) -> Path:
    adjust, control = reading.adjust, reading.control
    table = table.assign(condition=_conditions(table))  # within a group, only what varies there names a condition
    out.mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(exist_ok=True)
    table.to_csv(out / "runs.csv", index=False)
    floor = floors(table)
    floors_by_condition(table).to_csv(out / "floors.csv", index=False)
    metrics = main_metrics(table)
    headline = [m for m in metrics if m in HEADLINE]
    figures, more = [], []  # the page shows the headline figures, and folds the rest away
    if {"metrics/precision", "metrics/recall"} <= set(metrics):
        point = (floor["metrics/precision"], floor["metrics/recall"]) if "metrics/precision" in floor else None
        figures.append(("precision against recall", _save(plot_precision_recall(table, point).figure, out / "plots" / "precision_recall.png")))
    for metric in metrics:
        fig = plot_metric(table, metric, floor=floor.get(metric)).figure
        (figures if metric in headline else more).append((metric, _save(fig, out / "plots" / f"{metric.replace('/', '_')}.png")))
    for loop in sorted(table.loop.unique()):
        if table[table.loop == loop].real_fraction.nunique() > 1:
            for metric in metrics[:1]:
                fig = plot_heatmap(table, metric, loop).figure
                figures.append((f"{metric}: real fraction × generation, {loop}", _save(fig, out / "plots" / f"heatmap_{loop}_{metric.replace('/', '_')}.png")))
    last = _final_table(table)
    last.to_csv(out / "last_generation.csv", index=False)
    shown = ["condition", "generation", "seeds", *(m.removeprefix("metrics/") for m in headline)]
    tables = [_claims_section(claimed, declared_family)]
    tables.append(
        (f"{EXPLORATORY}: last generation, mean over seeds [95% interval]; every metric in last_generation.csv", last[[c for c in shown if c in last]])
    )
    if len(claimed):
        claimed.to_csv(out / "claims.csv", index=False)
    else:
        (out / "claims.csv").unlink(missing_ok=True)  # an earlier report's claims must not pass for this one's
    table = with_tail_gap(table)
    method = ADJUSTMENT_NAMES[adjust]
    family = [m for m in (effect_metrics or EFFECT_METRICS) if m in set(table.metric)]
    baseline = control_condition(table, control)
    if baseline is not None and family:
        effect, verdict = against_control(table, family, baseline, adjust)
        if len(effect):
            effect.to_csv(out / "effects.csv", index=False)
            verdict.to_csv(out / "verdicts.csv", index=False)
            tables.append(
                (
                    f"{EXPLORATORY}: against the control ({baseline}), paired by seed: jump 0→1, drift per generation over "
                    f"generations ≥ 1, and the first generation whose difference has a {method}-adjusted p < 0.05 within "
                    "effects.csv; mean [95% interval]",
                    verdict[["condition", "metric", "seeds", "jump 0→1", "drift per generation (≥ 1)", "first_departure"]],
                )
            )
            tables.append(
                (
                    f"{EXPLORATORY}: against the control per generation, condition − control [95% interval] (effects.csv has "
                    "every p-value, raw and adjusted within the table)",
                    departures(effect),
                )
            )
        if share_ratio_metrics(table):
            classes = class_effects(table, baseline, adjust)
            if len(classes):
                classes.to_csv(out / "class_effects.csv", index=False)
                shown = classes.assign(**{"share ÷ real share, minus control": [interval_text(r) for r in classes.to_dict("records")]})
                tables.append(
                    (
                        f"{EXPLORATORY}: classes against the control at the last generation, paired by seed; vanished = "
                        "seeds with no sample recognised as the class",
                        shown[["condition", "class", "generation", "seeds", "share ÷ real share, minus control", "vanished", "vanished_in_control"]],
                    )
                )
    elif baseline is None:
        tables.append(("No control: the runs hold no single real_only condition without a schedule; name one with --control", pd.DataFrame()))
    paired = contrasts(table, family, adjust) if family else pd.DataFrame()
    if len(paired):
        paired.to_csv(out / "contrasts.csv", index=False)
        tables.append(
            (
                f"{EXPLORATORY}: every pair of conditions at the last generation both reached, paired by seed: A − B [95% interval] (contrasts.csv)",
                as_text(paired),
            )
        )
    if share_ratio_metrics(table):
        for i, condition in enumerate(sorted(table.condition.unique())):
            more.append((f"class shares, {condition}", _save(plot_class_shares(table, condition).figure, out / "plots" / f"class_shares_{i}.png")))
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
        tables.append(
            (
                f"{EXPLORATORY}: extinction by the last generation, share of seeds [95% exact interval] in which a class has no copy "
                "left, beside pure resampling's prediction from each seed's generation-0 copies (Wright–Fisher)",
                lost,
            )
        )
    for i, (title, grids) in enumerate(sample_strips(table)):
        figures.append((f"samples by generation: {title}", _save(plot_strip(title, grids), out / "plots" / f"samples_{i}.png")))
    return write_html(out / "report.html", figures, tables, runs=table.run.nunique(), sources=[str(p) for p in paths], more=more)


def reading_file(family) -> bool:
    return family.source.startswith("from ")


def _claims_section(claimed: pd.DataFrame, family) -> tuple[str, pd.DataFrame]:
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
    elif reading_file(family):
        what = "a family named in a file: confirmatory only if it was fixed before the runs"
    else:
        what = "the confirmatory family"
    return (
        f"Declared claims ({family.source}): {what}, {tests} test{'s' * (tests != 1)} with Holm's adjustment at "
        f"level {level:.3g}{spent}; paired by seed; intervals unadjusted, 95% (90% for equivalence); seeds for 80% power "
        f"at each claim's Holm share ({claimed.power_level.iloc[0]:.3g}), reading this sweep as a pilot (claims.csv)",
        claims_text(claimed),
    )


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
    parser.add_argument(
        "--control",
        default=None,
        metavar="CONDITION",
        help="the condition effects are measured against, as the report names it (default: the one real_only condition without a loop.schedule)",
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
    args = parser.parse_args(argv)
    plt.switch_backend("Agg")  # files only; a notebook importing this module keeps its inline backend
    for d in args.dirs:
        if not d.is_dir():
            print(f"error: {d} is not a directory; give multirun or run directories", file=sys.stderr)
            sys.exit(2)
    looks = _looks(args.looks)
    if args.post_hoc and args.claims is None:
        print("error: --post-hoc reads a --claims FILE over runs that declared their own; name the file with --claims", file=sys.stderr)
        sys.exit(2)
    if args.export is not None and args.split:
        print("error: --export takes one report, and --split may write several; export one group's runs at a time", file=sys.stderr)
        sys.exit(2)
    out = args.out or (args.dirs[0] / "report" if len(args.dirs) == 1 else Path("report"))
    reading = Reading(args.control, args.adjust, args.metrics, args.claims, looks, args.split, args.post_hoc)
    pages = write_report(args.dirs, out, reading)
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
    if not looks or looks != sorted(set(looks)) or looks[0] < 2:
        print(f"error: --looks {text}: allowed increasing seed counts ≥ 2, e.g. 5,10,20", file=sys.stderr)
        sys.exit(2)
    return looks


if __name__ == "__main__":
    main()
