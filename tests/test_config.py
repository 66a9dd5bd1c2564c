"""Every option of every group composes, and the composed configs are the ones the lab accepts."""

import importlib.util

import pytest

from lab.config import GROUPS, check_settings, group_options
from lab.errors import LabError

OPTIONS = [(group, option) for group in GROUPS for option in group_options(group)]


def test_every_group_has_options():
    for group in GROUPS:
        assert group_options(group), f"conf/{group} holds no option"


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes(make_cfg, group, option, tmp_path):
    overrides = [f"{group}={option}"]
    if (group, option) == ("data", "imagefolder"):
        overrides.append(f"data.root={tmp_path}")
    cfg = make_cfg(*overrides)
    if group == "experiment":
        assert cfg.loop.generations >= 1
    else:
        # The group's option was really selected (its files name themselves).
        assert cfg[group].get("name", cfg[group].get("mode", cfg[group].get("features"))) == option
    if (group, option) == ("metrics", "inception") and importlib.util.find_spec("torch_fidelity") is None:
        with pytest.raises(LabError, match="metrics.features=inception needs torch-fidelity"):
            check_settings(cfg)
        return
    check_settings(cfg)


def test_default_is_the_cpu_experiment(make_cfg):
    cfg = make_cfg()
    assert (cfg.data.name, cfg.model.name, cfg.loop.name) == ("mnist5k", "cpu", "fully_synthetic")
    assert cfg.metrics.num_samples == min(1000, cfg.data.heldout_size)


def test_experiment_overrides_groups(make_cfg):
    cfg = make_cfg("experiment=mad_mnist_gpu")
    assert (cfg.data.name, cfg.model.name, cfg.loop.train_size, cfg.loop.generations) == ("mnist", "gpu_small", 60000, 10)
