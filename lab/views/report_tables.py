"""The report's tables below the declared claims, each labelled exploratory: the last generation, the effects against
the control (one, or each condition's own: lab.views.report_verdict.matched_controls), every pair of conditions,
extinction and compute; each written beside its CSV and returned as (title, table) for the page."""

from pathlib import Path

import pandas as pd

from lab.views.report_cost import compute_cost, cost_text
from lab.views.report_plots import summarise
from lab.views.report_stats import ADJUSTMENT_NAMES, interval_text
from lab.views.report_verdict import (
    against_control,
    as_text,
    class_effects,
    contrasts,
    control_condition,
    departures,
    extinction,
    matched_controls,
    matched_settings,
    share_ratio_metrics,
)

EXPLORATORY = "Exploratory — not a verdict"


def exploratory_tables(table: pd.DataFrame, out: Path, control: str | None, adjust: str, effect_metrics) -> list[tuple[str, pd.DataFrame]]:
    """Against the control, every pair of conditions, and extinction: each beside its CSV, none a verdict."""
    tables = []
    family = [m for m in effect_metrics if m in set(table.metric)]
    baseline = control_condition(table, control) or matched_controls(table)
    if baseline is not None and family:
        tables += _against_control(table, out, baseline, family, adjust)
    elif baseline is None:
        tables.append(
            (
                "No control: the runs hold no single real_only condition without a schedule, nor one per value of the settings "
                "that tell the real_only conditions apart; name one with --control",
                pd.DataFrame(),
            )
        )
    paired = contrasts(table, family, adjust) if family else pd.DataFrame()
    if len(paired):
        paired.to_csv(out / "contrasts.csv", index=False)
        tables.append(
            (
                f"{EXPLORATORY}: every pair of conditions at the last generation both reached, paired by seed: A − B [95% interval] (contrasts.csv)",
                as_text(paired),
            )
        )
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
    cost = compute_cost(table)
    (out / "cost.csv").unlink(missing_ok=True)  # an earlier report's compute must not pass for this one's
    if len(cost):
        cost.to_csv(out / "cost.csv", index=False)
        tables.append(
            (
                f"{EXPLORATORY}: compute, mean seconds per generation of each timed step (timing.jsonl; the evaluation is "
                "not timed) — wall-clock seconds of runs that may have shared the cores: compare within one sweep",
                cost_text(cost),
            )
        )
    return tables


def _against_control(table: pd.DataFrame, out: Path, baseline: str | dict, family: list[str], adjust: str) -> list[tuple[str, pd.DataFrame]]:
    """The exploratory tables against the control (effects.csv, verdicts.csv, class_effects.csv) and their page tables;
    `baseline` one control, or each condition's own (matched_controls: then the tables name it in a column)."""
    method = ADJUSTMENT_NAMES[adjust]
    matched = not isinstance(baseline, str)
    against = f"the control ({baseline})"
    if matched:
        left = sorted(set(table.condition) - set(baseline) - set(baseline.values()))
        against = f"each condition's control, the real_only condition of its own {', '.join(matched_settings(table))} (column control)"
        against += f"; no control of its own for {'; '.join(left)}" if left else ""
    named = ["control"] * matched
    tables = []
    effect, verdict = against_control(table, family, baseline, adjust)
    if len(effect):
        effect.to_csv(out / "effects.csv", index=False)
        verdict.to_csv(out / "verdicts.csv", index=False)
        tables.append(
            (
                f"{EXPLORATORY}: against {against}, paired by seed: jump 0→1, drift per generation over "
                f"generations ≥ 1, and the first generation whose difference has a {method}-adjusted p < 0.05 within "
                "effects.csv; mean [95% interval]",
                verdict[["condition", *named, "metric", "seeds", "jump 0→1", "drift per generation (≥ 1)", "first_departure"]],
            )
        )
        tables.append(
            (
                f"{EXPLORATORY}: against the control per generation, condition − control [95% interval] (effects.csv has "
                "every p-value, raw and adjusted within the table)",
                departures(effect, named),
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
                    shown[["condition", *named, "class", "generation", "seeds", "share ÷ real share, minus control", "vanished", "vanished_in_control"]],
                )
            )
    return tables


def final_table(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Condition × metric at each condition's last generation: "mean [95% low, high]"."""
    cells = {}
    for metric in metrics:
        summary = summarise(table, metric)
        last = summary.loc[summary.groupby("condition")["generation"].idxmax()]
        for _, r in last.iterrows():
            band = f" [{r['low']:.3g}, {r['high']:.3g}]" if r["count"] > 1 else ""
            cells.setdefault(r["condition"], {"generation": int(r["generation"]), "seeds": int(r["count"])})
            cells[r["condition"]][metric.removeprefix("metrics/")] = f"{r['mean']:.3g}{band}"
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("condition").reset_index()
