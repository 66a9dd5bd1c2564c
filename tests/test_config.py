"""Every option of every group composes, and the composed configs are the ones the lab accepts."""

import importlib.util
import socket

import pytest

from lab.config import GROUPS, check_settings, group_options
from lab.errors import LabError

OPTIONS = [(group, option) for group in GROUPS for option in group_options(group)]


def test_every_group_has_options():
    for group in GROUPS:
        assert group_options(group), f"conf/{group} holds no option"


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes(make_cfg, group, option, tmp_path, monkeypatch):
    overrides = [f"{group}={option}"]
    if (group, option) == ("data", "imagefolder"):
        overrides.append(f"data.root={tmp_path}")
    # A toy generator goes with a toy data set, and the other way round.
    partner = {
        ("data", "gaussian"): "model=gaussian",
        ("data", "gmm25"): "model=gmm",
        ("model", "gaussian"): "data=gaussian",
        ("model", "gmm"): "data=gmm25",
    }.get((group, option))
    overrides += [partner] if partner else []
    if (group, option) == ("metrics", "inception"):
        # 10,000 samples for standard FID: only a large data set with as many drawn per generation allows that.
        overrides += ["data=cifar10", "loop.num_samples=10000"]
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
    if (group, option) == ("tracking", "online"):
        # Online tracking checks its key and its server first: a local listening socket stands in for W&B's.
        with socket.create_server(("127.0.0.1", 0)) as server:
            monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
            monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
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


@pytest.mark.parametrize("launcher", ["slurm", "slurm_shared", "joblib", "submitit_local"])
def test_launcher_presets_compose(launcher):
    from hydra import compose, initialize_config_dir

    from lab.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    target = cfg.hydra.launcher._target_
    if launcher == "slurm":
        assert target.endswith("SlurmLauncher")
        assert (cfg.hydra.launcher.gpus_per_node, cfg.hydra.launcher.timeout_min, cfg.hydra.launcher.mem_gb) == (1, 720, 32)
    elif launcher == "slurm_shared":  # a shard of a GPU per job instead of a whole GPU; the rest as slurm
        assert target.endswith("SlurmLauncher")
        assert (cfg.hydra.launcher.gpus_per_node, cfg.hydra.launcher.gres, cfg.hydra.launcher.timeout_min) == (None, "shard:1", 720)
    else:
        assert launcher.split("_")[0] in target.lower()


@pytest.mark.parametrize(
    ("job_num", "gpus", "device"), [(0, 0, "auto"), (5, 1, "auto"), (0, 4, "cuda:0"), (5, 4, "cuda:1"), (7, 4, "cuda:3"), (8, 4, "cuda:0")]
)
def test_sweep_jobs_spread_over_the_visible_gpus(job_num, gpus, device):
    from lab.config import device_for_job

    assert device_for_job(job_num, gpus) == device


@pytest.mark.parametrize(("preset", "jobs"), [("compare_regimes_cpu", 15), ("ratio_sweep_cpu", 18), ("compare_regimes", 15), ("ratio_sweep", 60)])
def test_sweep_presets_expand_to_their_jobs(preset, jobs):
    from lab.__main__ import job_overrides

    expanded = job_overrides(["-m", f"experiment={preset}"])
    assert len(expanded) == jobs
    assert len({tuple(sorted(j)) for j in expanded}) == jobs
    assert all(f"experiment={preset}" in j for j in expanded)


def test_each_chain_setting_is_written_once():
    """The chain's settings live in the schema; a loop's file holds only what makes that loop."""
    from omegaconf import OmegaConf

    from lab.config import CONF_DIR

    for option in group_options("loop"):
        keys = set(OmegaConf.load(CONF_DIR / "loop" / f"{option}.yaml"))
        assert keys <= {"name", "real_fraction"}, f"conf/loop/{option}.yaml repeats {keys - {'name', 'real_fraction'}}"
    for option in group_options("tracking"):
        assert set(OmegaConf.load(CONF_DIR / "tracking" / f"{option}.yaml")) == {"mode"}


def test_composed_config_is_typed(make_cfg):
    from omegaconf import OmegaConf

    from lab.schema import LabConfig

    cfg = make_cfg()
    assert OmegaConf.get_type(cfg) is LabConfig
    cfg.loop.generations = "7"  # converted on assignment, as from the command line
    assert cfg.loop.generations == 7


def test_named_values_are_their_names():
    # OmegaConf reads and writes an enum setting by its member's name, the code compares and prints its value: the
    # two must be the same string for every setting with named values.
    import lab.config  # noqa: F401  (imports every option, so every Named enum exists)
    from lab.named import Named

    def every(cls):
        return [c for sub in cls.__subclasses__() for c in (sub, *every(sub))]

    enums = every(Named)
    assert len(enums) >= 9
    for enum in enums:
        assert [m.name for m in enum] == [m.value for m in enum], enum
