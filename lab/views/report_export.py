"""A sweep's verdicts and numbers beside its results page, so that anyone can re-derive each verdict without the run
directories: python -m lab.report DIR --export docs/results/<date>-<preset>

    <prefix>-claims.csv     the report's claims.csv as it is
    <prefix>-runs.csv.gz    one row per run and generation: run (its path below the sweep), condition, seed, generation
                            and every metrics/*, tails/* and classes/* value
    <prefix>-cost.csv       the report's cost.csv (seconds per generation of each timed step, per condition)
and prints the claims table, and the compute table where the runs were timed, as Markdown for the page.
"""

import math
import os
from pathlib import Path

import pandas as pd

from lab.views.report_claims import as_text
from lab.views.report_cost import cost_text


def export(report: Path, prefix: Path) -> str:
    """Writes the two files next to `prefix` and returns the claims table in Markdown."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    claims_file = report / "claims.csv"
    claims = pd.read_csv(claims_file) if claims_file.exists() else pd.DataFrame()
    if len(claims):
        claims.to_csv(f"{prefix}-claims.csv", index=False)
    runs = pd.read_csv(report / "runs.csv")
    runs = runs[runs.metric.str.startswith(("metrics/", "tails/", "classes/"))]
    wide = runs.pivot_table(index=["run", "condition", "seed", "generation"], columns="metric", values="value", aggfunc="first").reset_index()
    root = os.path.commonpath(list(wide.run.unique())) if wide.run.nunique() > 1 else str(Path(wide.run.iloc[0]).parent)
    wide["run"] = [str(Path(r).relative_to(root)) for r in wide.run]  # no machine path leaves the machine
    wide.rename_axis(columns=None).to_csv(f"{prefix}-runs.csv.gz", index=False, compression="gzip", float_format="%.6g")
    return _claims_text(claims) + _cost_text(report / "cost.csv", prefix)


def _claims_text(claims: pd.DataFrame) -> str:
    if not len(claims):
        return "(no declared claims)"
    origin = str(claims.source.iloc[0]) if "source" in claims else "declared by the runs' preset"
    post_hoc = bool(claims.post_hoc.iloc[0]) if "post_hoc" in claims else False
    heading = f"Claims {origin}" + (": POST HOC, not a confirmatory family" if post_hoc else "")
    return heading + "\n\n" + markdown(as_text(claims))


def _cost_text(path: Path, prefix: Path) -> str:
    """The compute table (exploratory: seconds of runs that may have shared the cores), to 3 significant digits."""
    if not path.exists():
        return ""
    cost = pd.read_csv(path)
    cost.to_csv(f"{prefix}-cost.csv", index=False)
    return "\n\nCompute, mean seconds per generation of each timed step (exploratory)\n\n" + markdown(cost_text(cost))


def markdown(table: pd.DataFrame) -> str:
    def cell(value) -> str:
        text = "" if isinstance(value, float) and math.isnan(value) else str(value)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)
