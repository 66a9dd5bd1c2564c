"""python -m lab.leet [RUN_DIR]: a run's chain in W&B's terminal UI (`wandb leet`), not one of its lineage runs.

RUN_DIR is a run directory (default: the newest under outputs/ and multirun/). Its wandb/ holds the chain's run and
three lineage runs per generation (lab.lineage); the chain's is the one with state.json's W&B run id.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from lab.errors import LabError
from lab.layout import STATE, RunPaths


def chain_wandb_dir(run_dir) -> Path:
    """The local W&B directory of the run directory's chain (its newest attempt's)."""
    run = RunPaths(run_dir)
    if not run.state_file.exists():
        raise LabError(f"{run_dir} is not a run directory (no {STATE}); give one, e.g. outputs/default")
    run_id = json.loads(run.state_file.read_text())["wandb_run_id"]
    found = run.wandb_runs(run_id)
    if not found:
        raise LabError(f"{run_dir} has no local W&B run {run_id} (tracking=disabled?); its metrics are in {run.metrics.name}")
    return found[-1]


def newest_run_dir(roots=("outputs", "multirun")) -> Path:
    states = [p for root in roots if Path(root).is_dir() for p in Path(root).rglob(STATE)]
    if not states:
        raise LabError("no run directory under outputs/ or multirun/: run `make run` first, or give RUN_DIR")
    return max(states, key=lambda p: p.stat().st_mtime).parent


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.leet", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path, help="a run directory (default: the newest)")
    args = parser.parse_args(argv)
    try:
        path = chain_wandb_dir(args.run_dir or newest_run_dir())
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    wandb = str(Path(sys.executable).with_name("wandb"))
    os.execv(wandb, [wandb, "leet", str(path)])


if __name__ == "__main__":
    main()
