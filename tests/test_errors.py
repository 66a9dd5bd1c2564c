"""Bad input stops before anything is written, with one line naming the setting and what is allowed."""

import os
import subprocess
import sys

import pytest
import torch

from lab.__main__ import check_job, job_overrides
from lab.errors import LabError
from tests.conftest import repo_root

CASES = [
    (["loop=foo"], "loop=foo is not an option; allowed: accumulate, accumulate_subsample, fresh, fully_synthetic, mixed, real_only"),
    (["data=nope"], "data=nope is not an option; allowed: cifar10, digits, fashion_mnist, imagefolder, mnist, mnist5k"),
    (["loop.foo=1"], "loop.foo is not a setting"),
    (["loop=mixed", "loop.real_fraction=1.5"], "loop.real_fraction=1.5 is out of range: allowed 0 ≤ value ≤ 1"),
    (["loop.real_fraction=-0.1"], "loop.real_fraction=-0.1 is out of range"),
    (["loop.generations=0"], "loop.generations=0 is out of range: allowed ≥ 1"),
    (["loop.train_size=4500", "loop.num_samples=4500"], "loop.train_size=4500 is more than the real training pool of data=mnist5k holds (4000 images"),
    (["loop=mixed", "loop.num_samples=999"], "loop.num_samples=999 is too small: loop=mixed with train_size=2000 and real_fraction=0.5 takes 1000"),
    (["data=imagefolder"], "data.root is required"),
    (["data=imagefolder", "data.root=/no/such/dir"], "data.root=/no/such/dir is not a directory"),
    (["data=mnist", "data.root=/no/such/dir"], "data=mnist: torchvision's MNIST files were not found under /no/such/dir"),
    (["metrics.num_samples=64"], "metrics.num_samples=64 is too small for the 64-dimensional classifier features: allowed > 64"),
    (["metrics.num_samples=1500", "loop.num_samples=3000"], "metrics.num_samples=1500 is more than the held-out set"),
    (["metrics.nearest_k=0"], "metrics.nearest_k=0 is out of range: allowed 1 ≤ k < metrics.num_samples (1000)"),
    (["metrics.kid.subset_size=5000"], "metrics.kid.subset_size=5000 is out of range: allowed null (N/2, at most 1000) or 2 ≤ value ≤"),
    (["metrics.kid.subsets=0"], "metrics.kid.subsets=0 is out of range: allowed ≥ 1"),
    (["data.class_shares=[1,2]"], "data.class_shares=[1, 2] is not allowed: give 10 positive weights, one per class, or null"),
    (["experiment=tails_cpu", "loop.train_size=2000"], "loop.train_size=2000 is more than the real training pool of data=mnist5k holds (1630 images"),
    (["data.resolution=10"], "data.resolution=10 does not fit model=cpu: its 3 levels need a multiple of 4"),
    (["model.conditional=false", "sampler.guidance_scale=1.0"], "sampler.guidance_scale=1.0 needs a class-conditional model"),
    (["sampler=ddim", "sampler.eta=1.5"], "sampler.eta=1.5 is out of range: allowed 0 ≤ value ≤ 1"),
    (["sampler.spacing=karras"], "sampler.spacing=karras is not allowed; allowed: trailing, log_snr"),
    (["train.snr_gamma=0"], "train.snr_gamma=0 is out of range: allowed null or > 0"),
    (["train.speed.bf16=maybe"], "train.speed.bf16=maybe is not allowed; allowed: auto, true, false"),
    (["train.speed.fused=auto"], "train.speed.fused=auto is not allowed; allowed: true, false"),
    (["tracking.mode=loud"], "tracking.mode=loud is not allowed; allowed: auto, online, offline, disabled"),
    (["device=tpu"], "device=tpu is not a device"),
]


@pytest.mark.parametrize(("overrides", "expected"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_clear_line(overrides, expected):
    with pytest.raises(LabError) as err:
        check_job(overrides)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(expected), message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_asked_for_on_a_cpu_machine():
    with pytest.raises(LabError, match="device=cuda asks for a GPU but torch sees none"):
        check_job(["device=cuda"])


def test_sweeps_expand_like_hydra():
    jobs = job_overrides(["-m", "loop=mixed,fresh", "seed=0,1", "hydra/launcher=basic", "train.images=5"])
    assert jobs == [["loop=mixed", "seed=0", "train.images=5"], ["loop=mixed", "seed=1", "train.images=5"],
                    ["loop=fresh", "seed=0", "train.images=5"], ["loop=fresh", "seed=1", "train.images=5"]]


def lab_cli(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(repo_root()))
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)


def test_cli_stops_before_writing_anything(tmp_path):
    result = lab_cli(tmp_path, "loop=mixed", "loop.real_fraction=1.5")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: loop.real_fraction=1.5 is out of range: allowed 0 ≤ value ≤ 1"
    assert "Traceback" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []  # no outputs/ directory, nothing at all


def test_cli_checks_every_job_of_a_sweep_first(tmp_path):
    result = lab_cli(tmp_path, "-m", "loop=mixed", "loop.real_fraction=0.5,2")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: loop.real_fraction=2 is out of range: allowed 0 ≤ value ≤ 1"
    assert list(tmp_path.iterdir()) == []  # the valid first job did not start either


def test_cli_unknown_option(tmp_path):
    result = lab_cli(tmp_path, "sampler=euler")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: sampler=euler is not an option; allowed: ddim, dpm_solver, dpm_solver_sde"
    assert list(tmp_path.iterdir()) == []
