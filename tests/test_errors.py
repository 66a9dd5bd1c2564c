"""Bad input stops before anything is written, with one line naming the setting and what is allowed."""

import os
import socket
import subprocess
import sys

import pytest
import torch

from lab.__main__ import check_job, job_overrides
from lab.errors import LabError
from tests.conftest import repo_root

CASES = [
    (["loop=foo"], "loop=foo is not an option; allowed: accumulate, accumulate_subsample, fresh, fully_synthetic, mixed, real_only"),
    (["data=nope"], "data=nope is not an option; allowed: cifar10, digits, fashion_mnist, gaussian, gmm25, imagefolder, mnist, mnist5k"),
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
    (["loop.heldback_samples=10"], "loop.heldback_samples=10 is out of range: allowed 0 (none) or ≥ metrics.num_samples="),
    (["data.class_shares=[1,2]"], "data.class_shares=[1.0, 2.0] is not allowed: give 10 positive weights, one per class, or null"),
    (["experiment=tails_cpu", "loop.train_size=2000"], "loop.train_size=2000 is more than the real training pool of data=mnist5k holds (1606 images"),
    (["data.resolution=10"], "data.resolution=10 does not fit model=cpu: its 3 levels need a multiple of 4"),
    (["model.conditional=false", "sampler.guidance_scale=1.0"], "sampler.guidance_scale=1.0 needs a class-conditional model"),
    (["sampler=ddim", "sampler.eta=1.5"], "sampler.eta=1.5 is out of range: allowed 0 ≤ value ≤ 1"),
    (["sampler.spacing=karras"], "sampler.spacing=karras is not allowed; allowed: trailing, log_snr"),
    (["train.snr_gamma=0"], "train.snr_gamma=0.0 is out of range: allowed null or > 0"),
    (["train.timesteps=lognormal"], "train.timesteps=lognormal is not allowed; allowed: uniform, logit_normal"),
    (["train.speed.bf16=maybe"], "train.speed.bf16=maybe is not allowed; allowed: auto, true, false"),
    (["train.speed.device_draws=gpu"], "train.speed.device_draws=gpu is not allowed; allowed: auto, true, false"),
    (["sampler.compile=always"], "sampler.compile=always is not allowed; allowed: auto, true, false"),
    (
        ["train.speed.compile_mode=fast"],
        "train.speed.compile_mode=fast is not allowed; allowed: default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs",
    ),
    (["train.speed.fused=auto"], "train.speed.fused=auto has the wrong type for this setting: Value 'auto' is not a valid bool"),
    (["tracking.mode=loud"], "tracking.mode=loud is not allowed; allowed: auto, online, offline, disabled"),
    (["device=tpu"], "device=tpu is not a device"),
    # Types and keys, checked against the schema (lab/schema.py): Hydra's `+` would otherwise add a typo.
    (["+foo=1"], "foo is not a setting"),
    (["tracking.projct=x"], "tracking.projct is not a setting (check the spelling"),  # a group whose options share their settings
    (["metrics.foo=1"], "metrics.foo is not a setting (check the spelling"),
    (["train.speed.foo=1"], "train.speed.foo is not a setting of train=cpu; its settings: fused, bf16, compile, compile_mode, device_draws"),
    (["+loop.real_fracton=0.5"], "loop.real_fracton is not a setting"),
    (["++loop.real_fracton=0.5"], "loop.real_fracton is not a setting"),
    (["loop.generations=2.5"], "loop.generations=2.5 has the wrong type for this setting: Value '2.5' of type 'float' could not be converted to Integer"),
    (["seed=abc"], "seed=abc has the wrong type"),
    (["progress=maybe"], "progress=maybe has the wrong type"),
    (["seed=1", "seed=x"], "seed=x has the wrong type"),
    (["data.class_shares=[1,a]"], "data.class_shares[1]=a has the wrong type"),
    (["tracking.tags=5"], "tracking.tags=5 has the wrong type"),
    (["train.speed.bf16=7"], "train.speed.bf16=7 has the wrong type"),
    (["sampler.eta=0.5"], "sampler.eta is not a setting of sampler=dpm_solver_sde; its settings: name, steps, guidance_scale"),
    (["sampler=ddim", "sampler.spacing=log_snr"], "sampler.spacing is not a setting of sampler=ddim"),
    # Every setting's edges.
    (["data.channels=2"], "data.channels=2 is not allowed; allowed: 1, 3"),
    (["data.resolution=2"], "data.resolution=2 is out of range: allowed ≥ 4"),
    (["data.heldout_size=1"], "data.heldout_size=1 is out of range: allowed ≥ 2"),
    (["model.block_out_channels=[30,64,64]"], "model.block_out_channels=[30, 64, 64]: every width must be a multiple of"),
    (["train.images=0"], "train.images=0 is out of range: allowed ≥ 1"),
    (["train.batch_size=0"], "train.batch_size=0 is out of range: allowed ≥ 1"),
    (["train.lr=0"], "train.lr=0.0 is out of range: allowed > 0"),
    (["train.label_dropout=1"], "train.label_dropout=1.0 is out of range: allowed 0 ≤ value < 1"),
    (["train.warmup_images=-1"], "train.warmup_images=-1 is out of range: allowed ≥ 0"),
    (["train.weight_decay=-0.1"], "train.weight_decay=-0.1 is out of range: allowed ≥ 0"),
    (["train.grad_clip=0"], "train.grad_clip=0.0 is out of range: allowed > 0"),
    (["train.ema.max_decay=1"], "train.ema.max_decay=1.0 is out of range: allowed 0 < value < 1"),
    (["train.ema.power=0"], "train.ema.power=0.0 is out of range: allowed > 0"),
    (["train.prediction_type=score"], "train.prediction_type=score is not allowed; allowed: epsilon, v_prediction, sample"),
    (["train.beta_schedule=cosine"], "train.beta_schedule=cosine is not allowed"),
    (["train.num_train_timesteps=1"], "train.num_train_timesteps=1 is out of range: allowed ≥ 2"),
    (["sampler.steps=0"], "sampler.steps=0 is out of range: allowed ≥ 1"),
    (["sampler.steps=1001"], "sampler.steps=1001 is more than the train.num_train_timesteps=1000"),
    (["sampler.batch_size=0"], "sampler.batch_size=0 is out of range: allowed ≥ 1"),
    (["sampler.guidance_scale=-1"], "sampler.guidance_scale=-1.0 is out of range: allowed ≥ 0"),
    (["loop.train_size=1"], "loop.train_size=1 is out of range: allowed ≥ 2 (the memorisation test needs"),
    (["loop.num_samples=0"], "loop.num_samples=0 is out of range: allowed ≥ 1"),
    (["loop.keep=none"], "loop.keep=none is not allowed; allowed: last, all"),
    (["metrics.features=lenet"], "metrics.features=lenet is not allowed"),
    (["metrics.recognised_threshold=0"], "metrics.recognised_threshold=0.0 is out of range: allowed 0 < value ≤ 1"),
    (["metrics.class_min_share=1.5"], "metrics.class_min_share=1.5 is out of range: allowed 0 ≤ value ≤ 1"),
    (["sampler.labels=balanced"], "sampler.labels=balanced is not allowed; allowed: training_set, real_pool, uniform"),
    # A long-tailed pool's reference follows its class shares: the held-out set must hold enough of the common classes.
    (
        ["experiment=tails_cpu", "data.heldout_size=1000"],
        "metrics.num_samples=1000 needs 125 held-out images of class 0 to follow data.class_shares, data.heldout_size=1000 holds 100",
    ),
    (["data=gaussian", "model=gaussian", "data.class_shares=[1]"], "data.class_shares=[1.0] is not a setting of data=gaussian"),
    (["data=gmm25", "model=gmm", "data.class_shares=[1,2]"], "data.class_shares=[1.0, 2.0] is not allowed for data=gmm25: give 25"),
    (["metrics.classifier.epochs=0"], "metrics.classifier.epochs=0 is out of range: allowed ≥ 1"),
    (["metrics.classifier.lr=0"], "metrics.classifier.lr=0.0 is out of range: allowed > 0"),
    (["threads=0"], "threads=0 is out of range: allowed null (all cores) or ≥ 1"),
    (["metrics.run=[frechet,fid]"], "metrics.run names 'fid', which no metric is called: allowed classes, entropy, feature_variance, frechet,"),
    (["metrics.run=[kid,vendi,kid]"], "metrics.run names kid twice: name each metric once"),
    # A declared claim needs the metric that logs its key: on points, w2 alone cannot give modes_covered.
    (["experiment=toy_tails", "metrics.run=[w2]"], "claims[0] (modes are lost) tests modes_covered, which metric modes logs, and metrics.run leaves it out"),
    (
        ["experiment=ratio_sweep_cpu", "metrics.run=[w2,classes]"],
        "claims[0] (mixed, 10 % real above 90 % real) tests fd_classifier, which metric frechet logs, and metrics.run leaves it out",
    ),
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
    assert jobs == [
        ["loop=mixed", "seed=0", "train.images=5"],
        ["loop=mixed", "seed=1", "train.images=5"],
        ["loop=fresh", "seed=0", "train.images=5"],
        ["loop=fresh", "seed=1", "train.images=5"],
    ]
    # A preset's hydra.sweeper.params come first; the command line replaces a key they share.
    jobs = job_overrides(["-m", "experiment=compare_regimes_cpu", "seed=7"])
    assert [job[0] for job in jobs] == ["loop=fully_synthetic", "loop=mixed", "loop=fresh", "loop=accumulate", "loop=real_only"]
    assert all(job[1:] == ["seed=7", "experiment=compare_regimes_cpu"] for job in jobs)
    assert job_overrides(["loop=mixed", "loop=fresh"]) == [["loop=mixed", "loop=fresh"]]  # one run: Hydra applies both in order


def lab_cli(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(repo_root()))
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)


@pytest.mark.slow  # the real command, in an interpreter of its own
def test_cli_stops_before_writing_anything(tmp_path):
    result = lab_cli(tmp_path, "loop=mixed", "loop.real_fraction=1.5")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: loop.real_fraction=1.5 is out of range: allowed 0 ≤ value ≤ 1"
    assert "Traceback" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []  # no outputs/ directory, nothing at all


def test_cli_checks_every_job_of_a_sweep_first(tmp_path, lab_here):
    result = lab_here(tmp_path, "-m", "loop=mixed", "loop.real_fraction=0.5,2")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: loop.real_fraction=2.0 is out of range: allowed 0 ≤ value ≤ 1"
    assert list(tmp_path.iterdir()) == []  # the valid first job did not start either


def test_a_sweep_launched_again_checks_every_earlier_job_first(tmp_path, lab_here):
    import json

    # Job 1 of the sweep directory holds a chain of other settings, job 2 a chain begun by other code: both would
    # be refused when the launcher reached them, after job 0 had run. The sweep stops before any job runs.
    from omegaconf import OmegaConf

    from tests.conftest import compose_cfg

    sweep = tmp_path / "sweep"
    (sweep / "1").mkdir(parents=True)
    OmegaConf.save(compose_cfg("experiment=smoke", "loop=fresh"), sweep / "1" / "config.yaml")
    args = ("-m", "experiment=smoke", "loop=fully_synthetic,mixed,accumulate", "tracking=disabled", "hydra.sweep.dir=sweep")
    result = lab_here(tmp_path, *args)
    assert result.returncode == 2
    assert lab_here(tmp_path, *args, "--cfg", "job").stderr == result.stderr  # the preview says so too
    assert result.stderr.strip().startswith(
        "error: job 1 of the sweep (numbered in the order of its grid): run_dir=sweep/1 holds a run with other settings (loop.name: fresh there, mixed now)"
    )
    (sweep / "1" / "config.yaml").unlink()
    (sweep / "2").mkdir()
    OmegaConf.save(compose_cfg("experiment=smoke", "loop=accumulate"), sweep / "2" / "config.yaml")
    older = {"version": "0.1.0", "git_commit": None, "source_sha256": "f" * 64, "from_generation": 0}
    (sweep / "2" / "state.json").write_text(json.dumps({"completed_generations": 1, "code": [older]}))
    result = lab_here(tmp_path, *args)
    assert result.returncode == 2
    assert "error: job 2 of the sweep (numbered in the order of its grid): run_dir=sweep/2 was run by other code (lab 0.1.0, source fff" in result.stderr
    assert sorted(p.name for p in sweep.iterdir()) == ["1", "2"] and list((sweep / "1").iterdir()) == []  # job 0 never ran


def test_cli_rejects_a_key_that_plus_would_add(tmp_path, lab_here):
    result = lab_here(tmp_path, "+loop.real_fracton=0.5")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: loop.real_fracton is not a setting")
    assert list(tmp_path.iterdir()) == []


def test_imagefolder_without_images_is_one_line(tmp_path):
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(LabError, match=r"^data.root=\S+ holds no PNG/JPEG images in class sub-folders") as err:
        check_job(["data=imagefolder", f"data.root={tmp_path}"])
    assert "\n" not in str(err.value)


def test_imagefolder_with_an_unreadable_image_names_it(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(LabError, match=r"broken.png is not a readable image"):
        check_job(["data=imagefolder", f"data.root={tmp_path}"])


def test_cli_unknown_option(tmp_path, lab_here):
    result = lab_here(tmp_path, "sampler=euler")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: sampler=euler is not an option; allowed: ddim, dpm_solver, dpm_solver_sde"
    assert list(tmp_path.iterdir()) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_online_tracking_without_a_key_stops_before_writing(tmp_path, monkeypatch, lab_here):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc from `wandb login`
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    (tmp_path / "work").mkdir()
    result = lab_here(tmp_path / "work", "tracking=online")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: tracking.mode=online needs a W&B API key"), result.stderr[-2000:]
    assert list((tmp_path / "work").iterdir()) == []


def test_online_tracking_with_an_unreachable_server_is_one_line(monkeypatch):
    # A local port nobody listens on: refused at once, and no packet leaves the machine.
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(LabError, match=r"^tracking.mode=online: the W&B server http://127.0.0.1:\d+ cannot be reached") as err:
        check_job(["tracking=online"])
    assert "\n" not in str(err.value)


def test_a_chain_does_not_join_a_w_and_b_service_it_inherited(tmp_path, lab_here, monkeypatch):
    """A W&B service of the parent process (a notebook, this test run) would keep a killed chain's run id in use and
    refuse its resume: python -m lab starts without it."""
    monkeypatch.setenv("WANDB_SERVICE", "2-12345-tcp-localhost-1")
    result = lab_here(tmp_path, "loop=mixed", "--cfg", "job")
    assert result.returncode == 0 and "WANDB_SERVICE" not in os.environ
