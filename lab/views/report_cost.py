"""What a condition cost in compute: seconds per generation of each timed step (train, sample, merge, …), read
from each run's timing.jsonl. Exploratory by nature: wall-clock seconds depend on the machine and on what ran
beside the run (jobs of one sweep side by side share the cores), so compare them within one sweep only."""

import json
from pathlib import Path

import pandas as pd

from lab import layout

SECONDS = "_seconds"
CORE = ("timing/train_seconds", "timing/sample_seconds")  # what every generation does; the rest is what an option adds


def compute_cost(table: pd.DataFrame) -> pd.DataFrame:
    """Per condition: runs, generations timed, the mean seconds per generation of each step, the total, and the
    total ÷ (train + sample): how much an option's own step (Neon's self-training, a filter's redraws) lengthens a
    generation. A step a run never timed counts 0 in its total. Empty when no run has timing.jsonl."""
    runs = table[["run", "condition"]].drop_duplicates().itertuples(index=False)
    rows = [row | {"condition": condition} for run, condition in runs for row in _timed(Path(run))]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    steps = sorted(c for c in frame.columns if c.endswith(SECONDS))
    frame[steps] = frame[steps].fillna(0.0)
    frame["total"] = frame[steps].sum(axis=1)
    core = frame[[c for c in CORE if c in frame]].sum(axis=1)
    frame["× train + sample"] = frame["total"] / core.where(core > 0)
    grouped = frame.groupby("condition", sort=True)
    out = grouped[[*steps, "total", "× train + sample"]].mean()
    out.columns = [c.removeprefix("timing/").removesuffix(SECONDS) + (" (s)" if c.endswith(SECONDS) or c == "total" else "") for c in out.columns]
    out.insert(0, "generations timed", grouped.size())
    out.insert(0, "runs", grouped["run"].nunique())
    return out.reset_index()


def cost_text(cost: pd.DataFrame) -> pd.DataFrame:
    """The table as the page and an export print it: every number to 3 significant digits (toy steps take
    fractions of a millisecond, a diffusion generation minutes)."""
    return cost.apply(lambda column: column.map(lambda v: f"{v:.3g}") if column.dtype.kind == "f" else column)


def _timed(run: Path) -> list[dict]:
    """The run's last timing row per generation (a redone generation appends its own): a cut last line is skipped."""
    path = run / layout.TIMING
    if not path.exists():
        return []
    last = {}
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a chain killed mid-write; resume redoes that generation
        last[row["generation"]] = {"run": str(run), **{k: float(v) for k, v in row.items() if k.endswith(SECONDS)}}
    return list(last.values())
