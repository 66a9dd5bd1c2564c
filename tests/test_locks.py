"""One writer per run directory: real processes, a held lock, a dead holder."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from lab.errors import LabError
from lab.layout import LOCK
from lab.locks import exclusive
from lab.rundir import RunDir
from tests.conftest import SMOKE, repo_root

HOLD_FOREVER = (
    "import sys, time; from pathlib import Path; from lab.locks import exclusive\n"
    "with exclusive(Path(sys.argv[1]), 'x'):\n    print('held', flush=True); time.sleep(600)"
)


def holder_process(path):
    env = dict(os.environ, PYTHONPATH=str(repo_root()))
    process = subprocess.Popen([sys.executable, "-c", HOLD_FOREVER, str(path)], env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_held_lock_names_its_holder(tmp_path):
    process = holder_process(tmp_path / LOCK)
    try:
        with pytest.raises(LabError) as err:
            with exclusive(tmp_path / LOCK, "run_dir=R"):
                pass
        message = str(err.value)
        assert message.startswith(f"run_dir=R is in use by pid {process.pid} on {socket.gethostname()} since ")
        assert "\n" not in message
    finally:
        process.kill()
        process.wait()


def test_a_dead_holder_never_blocks(tmp_path):
    process = holder_process(tmp_path / LOCK)
    os.kill(process.pid, signal.SIGKILL)  # no clean-up runs: the kernel drops the lock
    process.wait()
    with exclusive(tmp_path / LOCK, "run_dir=R"):
        assert (tmp_path / LOCK).read_text().startswith(f"pid {os.getpid()} ")


def test_the_lock_file_alone_is_not_foreign(tmp_path):
    (tmp_path / LOCK).write_text("")
    assert not RunDir(tmp_path).holds_foreign_files()  # a run killed before its config was written resumes
    (tmp_path / "notes.txt").write_text("mine")
    assert RunDir(tmp_path).holds_foreign_files()


def test_a_lock_on_an_empty_directory_leaves_it_empty(tmp_path):
    with exclusive(tmp_path / LOCK, "run_dir=R"):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_two_processes_on_one_run_directory(tmp_path):
    """The second start stops at once with one line; the first finishes with each generation once."""
    env = dict(os.environ, PYTHONPATH=str(repo_root()))
    # Long enough (≈ 30 s) that the first still runs when the second has imported torch.
    command = [sys.executable, "-m", "lab", *SMOKE, "loop.generations=3", "train.images=8000", "run_dir=run"]
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "run" / LOCK
    deadline = time.time() + 120
    while not (lock.exists() and lock.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read()[-2000:]
    started = time.time()
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 2 and time.time() - started < 60
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: run_dir=run is in use by pid {first.pid} on "), second.stderr
    assert first.wait(timeout=600) == 0
    rows = [json.loads(line)["generation"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows == [0, 1, 2]


def test_a_run_dir_under_a_file_is_one_line_and_leaves_it_alone(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for where in (notes / "run", notes):
        with pytest.raises(LabError, match=rf"run_dir={where}: {notes} is a file, not a directory; choose another run_dir"):
            with RunDir(where).writing():
                pass
    assert notes.read_text() == "mine"
