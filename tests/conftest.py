import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from lab.config import CONF_DIR

# Tests never touch the network and never write outside their temporary directories.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["WANDB_SILENT"] = "true"
os.environ.pop("WANDB_API_KEY", None)
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session", autouse=True)
def wandb_data(tmp_path_factory):
    """W&B stages the files of offline artifacts (lab.lineage) in its data directory until they are synced."""
    os.environ["WANDB_DATA_DIR"] = str(tmp_path_factory.mktemp("wandb-data"))


@pytest.fixture(scope="session", autouse=True)
def lab_cache(tmp_path_factory):
    """One classifier cache for the whole session: each data set/size trains its classifier once."""
    path = tmp_path_factory.mktemp("lab-cache")
    os.environ["LAB_CACHE_DIR"] = str(path)
    return path


def compose_cfg(*overrides: str):
    """Compose the real config tree with overrides, as `python -m lab` would (without HydraConfig)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.fixture
def make_cfg():
    return compose_cfg


# The smallest real setting that exercises everything: tiny UNet, 8×8 digits, no progress bars.
SMOKE = ("experiment=smoke", "data=digits", "data.heldout_size=200", "tracking=disabled", "progress=false")


@pytest.fixture
def real():
    """A real pool of 1,000 4×4 images in which every image carries its own index in its pixels (tests.test_loops'
    identity), so that which pool image a training set took can be checked after any reshuffle."""
    from lab.data import split_real

    n = 1000
    index = torch.arange(n)
    images = torch.stack([index % 256, index // 256], 1).to(torch.uint8)[:, :, None, None].expand(-1, -1, 4, 4)
    return split_real("indexed", images.contiguous(), index % 10, heldout_size=200, split_seed=0)


def repo_root() -> Path:
    return CONF_DIR.parent


@pytest.fixture(scope="session")
def digits_evaluator():
    """The real Evaluator on scikit-learn's digits (classifier trained for five epochs, once per session)."""
    from hydra import compose, initialize_config_dir

    from lab.config import CONF_DIR
    from lab.data import load_real_data
    from lab.metrics import Evaluator

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["data=digits", "metrics.classifier.epochs=5", "metrics.kid.subsets=20"])
    real = load_real_data(cfg.data)
    return Evaluator(real, cfg, "cpu", progress=False), real


@pytest.fixture
def lab_here(monkeypatch, capsys):
    """`python -m lab ARGS` run in this process, for commands that stop before a job runs (the checks, a preview,
    --help): an interpreter each would spend seconds importing torch. test_errors.lab_cli runs the real command."""
    from lab.__main__ import main

    def run(cwd, *args) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["lab", *args])
        monkeypatch.setenv("LAB_SWEEP_REPEATS", "{}")  # main sets it: restored after the test
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run
