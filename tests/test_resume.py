"""Crash-safe resume with a real process killed by SIGKILL, and re-running a sweep directory."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lab.rundir import LOCK
from tests.conftest import repo_root
from tests.test_errors import lab_cli

pytestmark = pytest.mark.slow

# Long enough per generation (training, then sampling) that a kill lands inside a generation.
CHAIN = ["experiment=smoke", "loop=accumulate", "train.warm_start=true", "loop.generations=3", "train.images=12000",
         "loop.num_samples=3000", "sampler.steps=40", "sampler.batch_size=500", "tracking=offline", "progress=false"]


def metrics(run_dir):
    return (run_dir / "metrics.jsonl").read_text()


def files_and_times(run_dir):
    """Every file of a run with its modification time; the lock file is rewritten by each process that holds it."""
    return {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file() and p.name != LOCK}


def state(run_dir):
    try:
        return json.loads((run_dir / "state.json").read_text())["completed_generations"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("whole")
    result = lab_cli(root, *CHAIN, "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    return metrics(root / "run")


@pytest.mark.parametrize("delay", [0.2, 2.0, 4.0])
def test_sigkill_then_same_command_resumes_to_the_same_result(tmp_path, uninterrupted, delay):
    env = dict(os.environ, PYTHONPATH=str(repo_root()))
    command = [sys.executable, "-m", "lab", *CHAIN, "run_dir=run"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    run = tmp_path / "run"
    deadline = time.time() + 300
    while state(run) < 1 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(delay)  # into generation 1: training, sampling or writing, depending on the delay
    assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = state(run)
    assert killed_at < 3

    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resuming after generation {killed_at - 1}" in result.stdout
    assert metrics(run) == uninterrupted
    assert not list(run.rglob("*.tmp"))
    # The W&B run continued under the same id.
    run_ids = {p.name.rsplit("-", 1)[-1] for p in (run / "wandb").glob("offline-run-*")}
    assert run_ids == {json.loads((run / "state.json").read_text())["wandb_run_id"]}


def test_rerunning_a_sweep_skips_finished_jobs_and_resumes_the_others(tmp_path):
    sweep = ["-m", "experiment=smoke", "loop=fully_synthetic,fresh", "loop.generations=3", "tracking=disabled",
             "progress=false", "hydra.sweep.dir=sweep"]
    assert lab_cli(tmp_path, *sweep).returncode == 0
    job0, job1 = tmp_path / "sweep" / "0", tmp_path / "sweep" / "1"
    finished = files_and_times(job0)
    expected = metrics(job1)
    # Job 1 as a crash inside generation 2 leaves it: state says 2 done, later files half-written.
    (job1 / "state.json").write_text(json.dumps({"completed_generations": 2, "wandb_run_id": "abcd1234"}))
    (job1 / "metrics.jsonl").write_text("".join(metrics(job1).splitlines(keepends=True)[:2]) + '{"generation": 2, "met')
    (job1 / "generations" / "gen_002.pt").write_bytes(b"half")

    result = lab_cli(tmp_path, *sweep)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "is complete (3 generations): nothing to do" in result.stdout
    assert files_and_times(job0) == finished
    assert metrics(job1) == expected
