"""What a condition cost in compute: seconds per generation of each timed step (train, sample, merge, …), read
from each run's timing.jsonl. Exploratory by nature: wall-clock seconds depend on the machine and on what ran
beside the run (jobs of one sweep side by side share the cores), so compare them within one sweep only."""

import math
from pathlib import Path

import pandas as pd

from lab import layout
from lab.views.report_load import jsonl_rows

SECONDS = "_seconds"
CORE = ("timing/train_seconds", "timing/sample_seconds")  # what every generation does; the rest is what an option adds


def compute_cost(table: pd.DataFrame) -> pd.DataFrame:
    """Per condition: the runs timed, the generations timed, the mean seconds per generation of each step (train and
    sample first), the total, and total ÷ (train + sample) of those means: how much an option's own step (Neon's
    self-training) lengthens a generation. A step a run never timed counts 0. A filter's redraws are part of its
    sampling time, not a step of their own. Empty when no run has timing.jsonl; a run without one is left out."""
    runs = table[["run", "condition"]].drop_duplicates().itertuples(index=False)
    rows = [row | {"condition": condition} for run, condition in runs for row in _timed(Path(run))]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    steps = [c for c in CORE if c in frame] + sorted(c for c in frame.columns if c.endswith(SECONDS) and c not in CORE)
    frame[steps] = frame[steps].fillna(0.0)
    grouped = frame.groupby("condition", sort=True)
    out = grouped[steps].mean()
    out["total"] = out[steps].sum(axis=1)
    core = out[[c for c in CORE if c in out]].sum(axis=1)
    out["× train + sample"] = out["total"] / core.where(core > 0)
    out.columns = [c.removeprefix("timing/").removesuffix(SECONDS) + (" (s)" if c.endswith(SECONDS) or c == "total" else "") for c in out.columns]
    out.insert(0, "generations timed", grouped.size())
    out.insert(0, "runs timed", grouped["run"].nunique())
    return out.reset_index()


def cost_text(cost: pd.DataFrame) -> pd.DataFrame:
    """The table as the page and an export print it: 3 significant digits (toy steps take fractions of a
    millisecond), whole seconds from 1,000 on (no exponent), an empty cell where a ratio has no denominator."""

    def number(v: float) -> str:
        return "" if math.isnan(v) else f"{v:.0f}" if abs(v) >= 1000 else f"{v:.3g}"

    return cost.apply(lambda column: column.map(number) if column.dtype.kind == "f" else column)


def _timed(run: Path) -> list[dict]:
    """The run's last timing row per generation (a redone generation appends its own; a cut last line is left out)."""
    path = run / layout.TIMING
    last = {row["generation"]: row for row in (jsonl_rows(path) if path.exists() else [])}
    return [{"run": str(run), **{k: float(v) for k, v in row.items() if k.endswith(SECONDS)}} for row in last.values()]
