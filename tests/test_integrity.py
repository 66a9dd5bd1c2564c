"""What a resume trusts: checksummed files, the same code, and a disk-full stop that loses nothing."""

import errno
import json
import logging
import shutil

import pytest
import torch

from lab import integrity, rundir
from lab.errors import LabError
from lab.experiment import run_experiment
from tests.conftest import SMOKE, compose_cfg

CHAIN = (*SMOKE, "loop=mixed", "loop.generations=2", "loop.keep=all")


def metrics_of(run):
    return (run / "metrics.jsonl").read_text()


def state_of(run):
    return json.loads((run / "state.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An uninterrupted chain: what every interrupted or repaired one must end equal to."""
    run = tmp_path_factory.mktemp("reference") / "run"
    run_experiment(compose_cfg(*CHAIN), run)
    return run


def copy_of(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    return run


def test_state_records_each_generations_files(finished):
    sums = state_of(finished)["checksums"]
    assert set(sums) == {"generations/gen_000.pt", "generations/gen_001.pt", "checkpoints/gen_000", "checkpoints/gen_001"}
    assert all(sums[name] == integrity.sha256_of(finished / name) for name in sums)
    code = state_of(finished)["code"]
    assert code == [{"from_generation": 0, **integrity.code_identity()}]


@pytest.mark.parametrize("damage", ["truncate", "replace", "delete"])
def test_a_damaged_sample_file_is_named_and_its_generation_redone(make_cfg, finished, tmp_path, caplog, damage):
    run = copy_of(finished, tmp_path)
    target = run / "generations" / "gen_000.pt"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "replace":
        torch.save({"images": torch.zeros(1, 1, 8, 8, dtype=torch.uint8)}, target)
    else:
        target.unlink()
    with caplog.at_level(logging.WARNING, logger="lab"):
        rows = run_experiment(make_cfg(*CHAIN), run)
    lines = [r.getMessage() for r in caplog.records if "checksum" in r.getMessage()]
    assert len(lines) == 1 and "generations/gen_000.pt" in lines[0] and "generation 0 and every later one are redone" in lines[0]
    assert [r["generation"] for r in rows] == [0, 1]
    assert metrics_of(run) == metrics_of(finished)  # the same seed redoes the same chain
    assert state_of(run)["checksums"] == state_of(finished)["checksums"]


def test_a_damaged_checkpoint_redoes_its_generation_only(make_cfg, finished, tmp_path, caplog):
    run = copy_of(finished, tmp_path)
    weights = next((run / "checkpoints" / "gen_001" / "unet_ema").glob("*.safetensors"))
    weights.write_bytes(b"\0" * weights.stat().st_size)  # same size, other bytes
    with caplog.at_level(logging.INFO, logger="lab"):
        run_experiment(make_cfg(*CHAIN), run)
    assert any("checkpoints/gen_001 is missing or does not match" in r.getMessage() for r in caplog.records)
    assert [m for m in caplog.messages if m.startswith("generation ") and "/" in m] == ["generation 1/1"]
    assert metrics_of(run) == metrics_of(finished)


def test_a_warm_start_that_cannot_be_redone_stops_with_one_line(make_cfg, tmp_path):
    chain = (*SMOKE, "loop.generations=2", "train.warm_start=true")  # loop.keep=last: gen_000 is gone
    run = tmp_path / "run"
    run_experiment(make_cfg(*chain), run)
    before = (run / "state.json").read_text()
    next((run / "checkpoints" / "gen_001" / "unet").glob("*.safetensors")).write_bytes(b"broken")
    with pytest.raises(
        LabError,
        match=r"checkpoints/gen_001 does not match its checksum .* needs checkpoints/gen_000, which "
        r"loop.keep=last removed",
    ) as err:
        run_experiment(make_cfg(*chain), run)
    assert "\n" not in str(err.value)
    assert (run / "state.json").read_text() == before


@pytest.fixture
def stopped_by_a_full_disk(make_cfg, tmp_path, monkeypatch):
    """The chain stops while saving generation 1's sample file: ENOSPC from the write itself."""
    real_save = torch.save

    def save(obj, path, *args, **kwargs):
        if str(path).endswith("gen_001.pt.tmp"):
            with open(path, "wb") as f:
                f.write(b"partial")  # a full disk leaves part of the file behind
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(rundir.torch, "save", save)
    run = tmp_path / "run"
    with pytest.raises(LabError) as err:
        run_experiment(make_cfg(*CHAIN), run)
    monkeypatch.setattr(rundir.torch, "save", real_save)
    return run, str(err.value)


def test_a_full_disk_stops_with_one_line_and_the_same_command_resumes(make_cfg, finished, stopped_by_a_full_disk):
    run, message = stopped_by_a_full_disk
    assert message == (
        f"run_dir={run}: the disk is full (saving generation 1 failed: No space left on device); "
        "generations 0–0 are intact: free some space and run the same command to resume"
    )
    assert state_of(run)["completed_generations"] == 1
    assert not list(run.rglob("*.tmp"))  # the partial file gave its space back
    assert state_of(run)["checksums"]["generations/gen_000.pt"] == integrity.sha256_of(run / "generations" / "gen_000.pt")
    run_experiment(make_cfg(*CHAIN), run)
    assert metrics_of(run) == metrics_of(finished)


def test_a_resume_under_other_code_is_refused_unless_confirmed(make_cfg, finished, stopped_by_a_full_disk, monkeypatch):
    run, _ = stopped_by_a_full_disk
    before = (run / "state.json").read_text()
    other = dict(integrity.code_identity(), source_sha256="f" * 64, git_commit="0123456789abcdef")
    monkeypatch.setattr(integrity, "code_identity", lambda: other)
    with pytest.raises(
        LabError,
        match=r"was run by other code \(lab 0.1.0, .*; now lab 0.1.0, commit 0123456789ab, source "
        r"ffffffffffff\): .* set resume_other_code=true to continue from generation 1",
    ) as err:
        run_experiment(make_cfg(*CHAIN), run)
    assert "\n" not in str(err.value)
    assert (run / "state.json").read_text() == before  # refused before anything was rewritten
    run_experiment(make_cfg(*CHAIN, "resume_other_code=true"), run)
    code = state_of(run)["code"]
    assert [c["from_generation"] for c in code] == [0, 1] and code[1] == {"from_generation": 1, **other}
    assert metrics_of(run) == metrics_of(finished)


def test_the_code_hash_leaves_the_views_out_by_where_they_live(tmp_path, monkeypatch):
    copy = tmp_path / "lab"
    shutil.copytree(integrity.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(integrity, "PACKAGE_DIR", copy)
    monkeypatch.setattr(integrity, "VIEWS", copy / "views")
    before = integrity.code_identity()["source_sha256"]
    (copy / "views" / "report.py").write_text((copy / "views" / "report.py").read_text() + "\n# a view changed\n")
    (copy / "views" / "new_view.py").write_text('"""a new view"""\n')
    assert integrity.code_identity()["source_sha256"] == before
    (copy / "loops" / "mixed.py").write_text((copy / "loops" / "mixed.py").read_text() + "\n# the chain changed\n")
    assert integrity.code_identity()["source_sha256"] != before
