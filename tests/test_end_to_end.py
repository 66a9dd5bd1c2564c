"""The slow tier: real chains through `python -m lab`, single run and multirun, W&B offline."""

import json
import subprocess

import pytest

from tests.test_errors import lab_cli
from tests.test_tracking import leet

pytestmark = pytest.mark.slow


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_single_run_through_the_cli(tmp_path):
    result = lab_cli(tmp_path, "experiment=smoke", "loop=accumulate", "tracking=offline", "progress=false", "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    run = tmp_path / "run"
    data = rows(run)
    assert [r["generation"] for r in data] == [0, 1]
    assert (data[1]["provenance/real"], data[1]["provenance/gen_0"]) == (128, 128)
    wandb_run = next((run / "wandb").glob("offline-run-*"))
    summary = json.loads(leet(wandb_run, "--summary"))
    assert summary["state"] == "finished" and summary["summary"]["generation"] == 1
    assert summary["summary"]["provenance/gen_0"] == {"min": 128, "max": 128, "last": 128}
    assert summary["config"]["loop"]["name"] == "accumulate"


def test_multirun_shares_a_group_and_sets_job_type(tmp_path):
    result = lab_cli(tmp_path, "-m", "experiment=smoke", "loop=fully_synthetic,fresh", "tracking=offline",
                     "progress=false", "hydra.sweep.dir=sweep")
    assert result.returncode == 0, result.stderr[-2000:]
    groups, job_types = set(), []
    for job in ("0", "1"):
        run = tmp_path / "sweep" / job
        assert len(rows(run)) == 2
        records = [json.loads(line) for line in leet(next((run / "wandb").glob("offline-run-*"))).splitlines() if line.strip()]
        info = next(r["run"] for r in records if r["type"] == "run")
        groups.add(info["run_group"])
        job_types.append(info["job_type"])
    assert groups == {"sweep"} and job_types == ["fully_synthetic", "fresh"]
    assert rows(tmp_path / "sweep" / "0")[1]["provenance/real"] == 0
    assert rows(tmp_path / "sweep" / "1")[1]["provenance/real"] == 128
