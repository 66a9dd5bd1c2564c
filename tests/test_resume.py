"""Crash-safe resume: a real process killed by SIGKILL in each named phase, and re-running a sweep directory."""

import json
import os
import signal
import subprocess
import sys

import pytest

from lab.faults import PHASES
from lab.layout import LOCK
from tests.conftest import repo_root
from tests.test_errors import lab_cli
from tests.test_tracking import chain_run, history_of, live_runs

pytestmark = pytest.mark.slow

# Warm start and accumulate: a resume must reload both the checkpoint and every earlier generation's samples.
CHAIN = ["experiment=smoke", "loop=accumulate", "train.warm_start=true", "loop.generations=3", "tracking=offline", "progress=false"]


def metrics(run_dir):
    return (run_dir / "metrics.jsonl").read_text()


def files_and_times(run_dir):
    """Every file of a run with its modification time; the lock file is rewritten by each process that holds it."""
    return {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file() and p.name != LOCK}


def state(run_dir):
    return json.loads((run_dir / "state.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("whole")
    result = lab_cli(root, *CHAIN, "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    return root / "run"


# The generation committed when the kill lands: state.json moves past generation 1 only at "tracking".
COMMITTED_AT_KILL = dict.fromkeys(PHASES, 1) | {"tracking": 2}


@pytest.mark.parametrize("phase", PHASES)
def test_a_kill_in_each_phase_resumes_to_the_same_result(tmp_path, uninterrupted, phase):
    """SIGKILL at a named point of generation 1 (LAB_FAULT, lab/faults.py), then the same command again."""
    env = dict(os.environ, PYTHONPATH=str(repo_root()))
    command = [sys.executable, "-m", "lab", *CHAIN, "run_dir=run"]
    killed = subprocess.run(command, cwd=tmp_path, env=env | {"LAB_FAULT": f"{phase}:1"}, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    run = tmp_path / "run"
    assert state(run)["completed_generations"] == COMMITTED_AT_KILL[phase]

    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resuming after generation {COMMITTED_AT_KILL[phase] - 1}" in result.stdout
    assert metrics(run) == metrics(uninterrupted)
    assert not list(run.rglob("*.tmp"))
    # W&B: one live offline run under the run's id, holding each generation once, in order.
    live = live_runs(run)
    assert live[state(run)["wandb_run_id"]] == 1 and set(live.values()) == {1}  # the chain's run and its lineage runs, once each
    assert [h["generation"] for h in history_of(chain_run(run))] == [0, 1, 2]


def test_a_finished_chain_asked_for_more_generations_extends_to_the_longer_chain(tmp_path, uninterrupted):
    """The same command with a larger loop.generations continues after the last committed generation; every
    generation's files (samples, grid, checkpoint) are byte for byte those of the chain run at that count."""
    shorter = [*[a for a in CHAIN if not a.startswith("loop.generations=")], "loop.generations=2", "run_dir=run"]
    assert lab_cli(tmp_path, *shorter).returncode == 0
    run = tmp_path / "run"
    assert state(run)["completed_generations"] == 2
    result = lab_cli(tmp_path, *CHAIN, "run_dir=run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming after generation 1 (the chain runs to generation 2)" in result.stdout
    assert metrics(run) == metrics(uninterrupted)
    assert state(run)["checksums"] == state(uninterrupted)["checksums"]
    assert "generations: 3" in (run / "config.yaml").read_text()
    assert [h["generation"] for h in history_of(chain_run(run))] == [0, 1, 2]
    # Asked for fewer than it holds, a chain is complete and left as it is.
    before = files_and_times(run)
    assert "is complete (3 generations)" in lab_cli(tmp_path, *shorter).stdout
    assert files_and_times(run) == before


def test_the_same_command_with_more_generations_finds_the_same_run(tmp_path):
    """loop.generations stays out of the run's name, so that a longer chain is found where the shorter one ran."""
    chain = ["experiment=smoke", "tracking=disabled", "progress=false"]
    for generations in (1, 2):
        assert lab_cli(tmp_path, *chain, f"loop.generations={generations}").returncode == 0
    [run] = (tmp_path / "outputs").iterdir()
    assert state(run)["completed_generations"] == 2


def test_rerunning_a_sweep_skips_finished_jobs_and_resumes_the_others(tmp_path):
    sweep = ["-m", "experiment=smoke", "loop=fully_synthetic,fresh", "loop.generations=3", "tracking=disabled", "progress=false", "hydra.sweep.dir=sweep"]
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
    # The same sweep with a larger loop.generations extends each job's chain in its own directory.
    longer = [a if a != "loop.generations=3" else "loop.generations=4" for a in sweep]
    assert lab_cli(tmp_path, *longer).returncode == 0
    assert [state(job)["completed_generations"] for job in (job0, job1)] == [4, 4]
    assert metrics(job1).startswith(expected)
