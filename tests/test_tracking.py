"""A real W&B offline run, read back from its .wandb file with `wandb leet inspect`."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from lab.pictures import sample_grid
from lab.rundir import RunDir
from lab.tracking import Tracker, resolve_mode
from lab.wandb_runs import RunLabels

WANDB = str(Path(sys.executable).with_name("wandb"))


def leet(run_dir: Path, *flags: str):
    out = subprocess.run([WANDB, "leet", "inspect", *flags, "--json", str(run_dir)], capture_output=True, text=True, check=True)
    return out.stdout


@pytest.fixture
def offline_run(tmp_path):
    cfg = OmegaConf.create({"mode": "offline", "project": "lab-tests", "entity": None, "group": None, "tags": ["test"]})
    run = RunDir(tmp_path)
    tracker = Tracker(cfg, run, {"loop": {"name": "mixed", "real_fraction": 0.5}}, RunLabels("run-a", "sweep-42", "mixed"))
    grid = np.zeros((20, 20, 1), dtype=np.uint8)
    rows = []
    for g in range(3):
        rows.append(run.write_row(g, {"metrics/fd_classifier": 10.0 + g, "provenance/real": 100 - g}, [g, 1, 2], grid))
        tracker.log(rows[-1], grid)
    tracker.summary({"reference/classifier_heldout_accuracy": 0.97})
    tracker.finish()
    return tmp_path, rows


def test_offline_run_reads_back_with_generation_axis(offline_run):
    run_dir, rows = offline_run
    wandb_run = next((run_dir / "wandb").glob("offline-run-*"))
    summary = json.loads(leet(wandb_run, "--summary"))
    assert summary["state"] == "finished" and summary["name"] == "run-a"
    assert summary["summary"]["metrics/fd_classifier"] == {"min": 10, "max": 12, "last": 12}
    assert summary["summary"]["reference/classifier_heldout_accuracy"] == 0.97
    assert summary["config"]["loop"] == {"name": "mixed", "real_fraction": 0.5}

    records = [json.loads(line) for line in leet(wandb_run).splitlines() if line.strip()]
    run = next(r["run"] for r in records if r["type"] == "run")
    assert (run["run_group"], run["job_type"]) == ("sweep-42", "mixed")
    steps = {m["metric"].get("glob_name") or m["metric"]["name"]: m["metric"].get("step_metric") for m in records if m["type"] == "metric"}
    assert steps["metrics/*"] == steps["provenance/*"] == steps["samples"] == steps["class_histogram"] == "generation"
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    assert [(h["generation"], h["metrics/fd_classifier"]) for h in history] == [(0, 10), (1, 11), (2, 12)]
    assert history[2]["class_histogram.values"] == [2, 1, 2]
    assert history[0]["samples._type"] == "image-file"


def test_metrics_jsonl_has_the_same_keys(offline_run):
    run_dir, rows = offline_run
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert lines == rows
    assert [line["generation"] for line in lines] == [0, 1, 2]
    assert set(lines[0]) == {"generation", "metrics/fd_classifier", "provenance/real", "class_histogram", "samples"}
    assert all((run_dir / line["samples"]).is_file() for line in lines)


def test_disabled_writes_no_wandb_files(tmp_path):
    cfg = OmegaConf.create({"mode": "disabled", "project": "p", "entity": None, "group": None, "tags": []})
    run = RunDir(tmp_path)
    tracker = Tracker(cfg, run, {}, RunLabels("x", None, "mixed"))
    grid = np.zeros((4, 4, 1), dtype=np.uint8)
    tracker.log(run.write_row(0, {"metrics/fd_classifier": 1.0}, [1], grid), grid)
    tracker.finish()
    assert not (tmp_path / "wandb").exists() and (tmp_path / "metrics.jsonl").is_file()


def run_id_of(wandb_run: Path) -> str:
    """From the records file's name: the directory's name gets a suffix when two runs start in one second."""
    return next(wandb_run.glob("run-*.wandb")).stem.removeprefix("run-")


def chain_run(run_dir: Path) -> Path:
    """The chain's metrics run among a run directory's offline W&B runs (the others are its lineage runs)."""
    from lab import lineage

    run = RunDir(run_dir)
    (path,) = lineage.offline_runs(run, run.read_state()["wandb_run_id"])
    return path


def live_runs(run_dir: Path) -> Counter:
    """How often each run id is among the offline runs `wandb sync wandb/offline-run-*` would upload."""
    return Counter(run_id_of(p) for p in (run_dir / "wandb").glob("offline-run-*"))


def history_of(wandb_run: Path) -> list[dict]:
    records = [json.loads(line) for line in leet(wandb_run).splitlines() if line.strip()]
    return [r["history"]["item"] for r in records if r["type"] == "history"]


def test_a_resumed_offline_run_holds_each_generation_once(tmp_path):
    """Attempt 1 logs generations 0 and 1 and dies; attempt 2 (same run id) resumes and adds generation 2."""
    cfg = OmegaConf.create({"mode": "offline", "project": "lab-tests", "entity": None, "group": None, "tags": []})
    grid = np.zeros((8, 8, 1), dtype=np.uint8)
    run = RunDir(tmp_path)
    first = Tracker(cfg, run, {}, RunLabels("r", None, "mixed", "resume01"))
    rows = [run.write_row(g, {"metrics/fd_classifier": 10.0 + g}, [1, 2], grid, {"timing/train_seconds": 1.0}) for g in range(2)]
    for row in rows:
        first.log(row, grid)
    first.finish(exit_code=1)

    second = Tracker(cfg, run, {}, RunLabels("r", None, "mixed", "resume01"))
    second.catch_up(rows)
    second.log(run.write_row(2, {"metrics/fd_classifier": 12.0}, [1, 2], grid), grid)
    second.finish()

    live = list((tmp_path / "wandb").glob("offline-run-*"))
    assert [run_id_of(p) for p in live] == ["resume01"]  # what `wandb sync wandb/offline-run-*` uploads
    history = history_of(live[0])
    assert [(h["generation"], h["metrics/fd_classifier"]) for h in history] == [(0, 10), (1, 11), (2, 12)]
    assert history[0]["timing/train_seconds"] == 1.0  # replayed from timing.jsonl
    superseded = list((tmp_path / "wandb" / "superseded").glob("offline-run-*"))
    assert len(superseded) == 1 and [h["generation"] for h in history_of(superseded[0])] == [0, 1]  # kept, not lost


def test_auto_mode_is_offline_without_a_key(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode("auto") == "online"
    assert resolve_mode("disabled") == "disabled"


def test_grid_has_one_row_per_class():
    import torch

    images = torch.arange(30, dtype=torch.uint8).view(30, 1, 1, 1).expand(30, 1, 8, 8).contiguous()
    labels = torch.arange(30) % 3
    grid = sample_grid(images, labels, num_classes=3, per_class=10, min_side=8)
    # 3 rows × 10 columns of 8-px images with 2-px padding around each.
    assert grid.dtype == np.uint8 and grid.shape == (2 + 3 * 10, 2 + 10 * 10, 1)
    # Row 1 shows only class-1 images (values 1, 4, 7, …), in order.
    row_1 = [int(grid[2 + 10 + 4, 2 + 10 * col + 4, 0]) for col in range(10)]
    assert row_1 == [v for v in range(30) if v % 3 == 1]


def test_a_run_carries_its_condition_as_flat_wandb_config_keys(tmp_path):
    """The condition lab.report groups by, as flat keys: W&B's UI groups runs by them (seeds pooled into one band)."""
    from lab.experiment import run_experiment
    from tests.conftest import compose_cfg

    overrides = [
        "model=gaussian",
        "data=gaussian",
        "loop=mixed",
        "loop.real_fraction=0.25",
        "model.sampling_bias=0.5",
        "seed=3",
        "loop.generations=1",
        "loop.train_size=100",
        "loop.num_samples=1000",
        "tracking=offline",
        "progress=false",
        "threads=1",
    ]
    run_experiment(compose_cfg(*overrides), tmp_path / "run", overrides=overrides)
    config = json.loads(leet(chain_run(tmp_path / "run"), "--summary"))["config"]
    flat = {k: v for k, v in config.items() if k.startswith("condition")}
    assert flat == {
        "condition": "loop=mixed, real_fraction=0.25, model=gaussian, data=gaussian, model.sampling_bias=0.5, loop.train_size=100, loop.num_samples=1000",
        "condition/loop": "mixed",
        "condition/real_fraction": 0.25,
        "condition/model": "gaussian",
        "condition/data": "gaussian",
        "condition/model.sampling_bias": "0.5",
        "condition/loop.train_size": "100",
        "condition/loop.num_samples": "1000",
    }  # no seed (it is the band), no tracking, progress or threads (they do not change the science), no loop.generations
    # (how far a chain runs: a longer chain of the same condition extends a shorter one)
