"""The slow tier: real chains through `python -m lab`, single run and multirun, W&B offline."""

import json
import os
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from omegaconf import OmegaConf

from tests.conftest import repo_root
from tests.test_errors import lab_cli
from tests.test_tracking import chain_run, leet, run_id_of

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
    wandb_run = chain_run(run)
    summary = json.loads(leet(wandb_run, "--summary"))
    assert summary["state"] == "finished" and summary["summary"]["generation"] == 1
    assert summary["summary"]["provenance/gen_0"] == {"min": 128, "max": 128, "last": 128}
    assert summary["config"]["loop"]["name"] == "accumulate"


def test_multirun_shares_a_group_and_sets_job_type(tmp_path):
    result = lab_cli(tmp_path, "-m", "experiment=smoke", "loop=fully_synthetic,fresh", "tracking=offline", "progress=false", "hydra.sweep.dir=sweep")
    assert result.returncode == 0, result.stderr[-2000:]
    groups, job_types = set(), []
    for job in ("0", "1"):
        run = tmp_path / "sweep" / job
        assert len(rows(run)) == 2
        records = [json.loads(line) for line in leet(chain_run(run)).splitlines() if line.strip()]
        info = next(r["run"] for r in records if r["type"] == "run")
        groups.add(info["run_group"])
        job_types.append(info["job_type"])
    assert groups == {"sweep"} and job_types == ["fully_synthetic", "fresh"]
    assert rows(tmp_path / "sweep" / "0")[1]["provenance/real"] == 0
    assert rows(tmp_path / "sweep" / "1")[1]["provenance/real"] == 128
    # The same sweep extended by a generation: Hydra writes its record again, the first launch's is kept.
    first = (tmp_path / "sweep" / "multirun.yaml").read_text()
    sweep = ("-m", "experiment=smoke", "loop=fully_synthetic,fresh", "tracking=offline", "progress=false", "hydra.sweep.dir=sweep")
    more = lab_cli(tmp_path, *sweep, "loop.generations=3")
    assert more.returncode == 0, more.stderr[-2000:]
    assert (tmp_path / "sweep" / "multirun.1.yaml").read_text() == first and "loop.generations=3" in (tmp_path / "sweep" / "multirun.yaml").read_text()
    assert [len(rows(tmp_path / "sweep" / job)) for job in ("0", "1")] == [3, 3]


def test_joblib_workers_leak_nothing_between_jobs(tmp_path):
    common = ["-m", "experiment=smoke", "loop=fully_synthetic,fresh,mixed", "tracking=offline", "progress=false"]
    assert lab_cli(tmp_path, *common, "hydra.sweep.dir=basic").returncode == 0
    # One reused worker runs all three jobs one after the other.
    result = lab_cli(tmp_path, *common, "hydra.sweep.dir=joblib", "hydra/launcher=joblib", "hydra.launcher.n_jobs=1")
    assert result.returncode == 0, result.stderr[-2000:]
    ids = set()
    for job in ("0", "1", "2"):
        assert (tmp_path / "joblib" / job / "metrics.jsonl").read_text() == (tmp_path / "basic" / job / "metrics.jsonl").read_text()
        ids.add(run_id_of(chain_run(tmp_path / "joblib" / job)))
    assert len(ids) == 3  # one W&B run per job, none absorbed by a run left open in the worker


def test_joblib_splits_the_cores(tmp_path):
    result = lab_cli(
        tmp_path,
        "-m",
        "experiment=smoke",
        "loop.generations=1",
        "seed=0,1",
        "tracking=disabled",
        "progress=false",
        "hydra.sweep.dir=s",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    threads = {OmegaConf.load(tmp_path / "s" / j / "config.yaml").threads for j in ("0", "1")}
    assert threads == {max(1, (os.cpu_count() or 1) // 2)}


def test_submitit_local_sweep_report_and_notebook(tmp_path):
    """The cluster path (submitit, run locally), then the report and the notebook on that sweep."""
    result = lab_cli(
        tmp_path,
        "-m",
        "experiment=smoke",
        "loop=fully_synthetic,fresh",
        "seed=0,1",
        "tracking=offline",
        "progress=false",
        "hydra.sweep.dir=sweep",
        "hydra/launcher=submitit_local",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    runs = sorted(p.parent.name for p in (tmp_path / "sweep").glob("*/metrics.jsonl"))
    assert runs == ["0", "1", "2", "3"]

    report = subprocess.run([sys.executable, "-m", "lab.report", "sweep"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (tmp_path / "sweep" / "report" / "report.html").is_file()

    notebook = nbformat.read(repo_root() / "notebooks" / "compare_regimes.ipynb", as_version=4)
    os.environ["LAB_SWEEP_DIR"] = str(tmp_path / "sweep")
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(repo_root() / "notebooks")}}).execute()
    finally:
        del os.environ["LAB_SWEEP_DIR"]
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum(1 for o in outputs if "image/png" in o.get("data", {})) >= 2  # the metric plots and the grids
    assert any("4 runs" in "".join(o.get("text", "")) for o in outputs)


def test_a_toy_sweep_through_the_cli_and_its_report(tmp_path):
    """The toy generators use the same entry point, sweep and report as the diffusion model."""
    result = lab_cli(
        tmp_path,
        "-m",
        "experiment=toy_modes",
        "curate=none,diversity,self_correction",
        "loop=fully_synthetic",
        "seed=0",
        "loop.generations=3",
        "tracking=offline",
        "progress=false",
        "hydra.sweep.dir=sweep",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for job in ("0", "1", "2"):
        data = rows(tmp_path / "sweep" / job)
        assert [r["generation"] for r in data] == [0, 1, 2] and all(0 <= r["metrics/modes_covered"] <= 25 for r in data)
    assert rows(tmp_path / "sweep" / "1")[1]["curate/draws"] == 2.0
    # The preset's declared claims need self-correction's runs: without them the report stops in one line.
    part = subprocess.run([sys.executable, "-m", "lab.report", "sweep/0", "sweep/1", "--out", "part"], cwd=tmp_path, capture_output=True, text=True)
    assert part.returncode == 2 and part.stderr.strip().startswith("error: claim self-correction keeps modes: no run has curate=self_correction")
    assert not (tmp_path / "part").exists()
    report = subprocess.run([sys.executable, "-m", "lab.report", "sweep"], cwd=tmp_path, capture_output=True, text=True)
    assert report.returncode == 0, report.stderr[-2000:]
    # no real_only run in the sweep: the page says so instead of measuring effects against nothing
    assert "No control" in (tmp_path / "sweep" / "report" / "report.html").read_text()
    assert not (tmp_path / "sweep" / "report" / "verdicts.csv").exists()
    assert "modes_covered" in (tmp_path / "sweep" / "report" / "last_generation.csv").read_text()
    control = "loop=fully_synthetic, curate=none"
    report = subprocess.run([sys.executable, "-m", "lab.report", "sweep", "--control", control], cwd=tmp_path, capture_output=True, text=True)
    assert report.returncode == 0, report.stderr[-2000:]
    verdicts = pd.read_csv(tmp_path / "sweep" / "report" / "verdicts.csv")
    assert set(verdicts.condition) == {"loop=fully_synthetic, curate=diversity", "loop=fully_synthetic, curate=self_correction"}
    assert set(verdicts.control) == {control}
    assert len(pd.read_csv(tmp_path / "sweep" / "report" / "claims.csv")) == 2  # the preset's two claims, tested
    assert set(verdicts.first_departure) == {"not shown"}  # one seed cannot decide a departure
