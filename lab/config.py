"""Settings checks: each problem becomes one line naming the setting and what is allowed.

`check_settings` needs only the config; `check_against_data` also needs the loaded data (pool sizes).
Both run before anything is written. Types, named values and unknown keys are the schema's (lab/schema.py);
each option's ranges are checked next to it (lab.datasets.check_data, the generator family's check,
lab.train.check_train, lab.samplers.check_sampler, lab.metrics.check_metrics, lab.curate.check_curate); here:
whether the data are toy points or images (decided once, by the generator family), the chain's settings
(loop.*, its schedule) and those that span groups.
"""

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from lab import schedule
from lab.claims import check_claims, check_looks
from lab.conf import CONF_DIR
from lab.curate import check_curate
from lab.datasets import DATASETS, TOY_DATASETS, check_data
from lab.errors import LabError, at_least, one_of, require
from lab.generators import FAMILIES, REGISTRY, ModelConfig, family_of
from lab.loops import LOOPS, split_counts
from lab.loops import REGISTRY as LOOP_REGISTRY
from lab.merge import check_merge
from lab.metrics import check_metrics, reference_pick
from lab.metrics.base import On, check_run
from lab.metrics.points import check_point_metrics
from lab.real_data import RealData
from lab.samplers import check_sampler
from lab.schema import check_known_keys, register
from lab.tracking import check_online
from lab.train import check_synthetic_weight, check_train

register()  # before any composition: conf/config.yaml names the schema first in its defaults

# `${min:a,b}` in the config tree (metrics.num_samples defaults to the smaller of 1000 and the held-out set).
if not OmegaConf.has_resolver("min"):
    OmegaConf.register_new_resolver("min", lambda *values: min(values))
# `${fixed_share:real_only}`: the real share a loop fixes by definition, read from its class (lab/loops/), the one
# place it is said.
if not OmegaConf.has_resolver("fixed_share"):
    OmegaConf.register_new_resolver("fixed_share", lambda loop: LOOP_REGISTRY[loop].real_fraction)


def run_name(override_dirname: str) -> str:
    """A directory name from the overrides ("default" for none); a path in a value does not nest."""
    return override_dirname.replace("/", "_") or "default"


if not OmegaConf.has_resolver("lab_run_name"):
    OmegaConf.register_new_resolver("lab_run_name", run_name)

GROUPS = ("data", "model", "train", "sampler", "loop", "curate", "merge", "metrics", "tracking", "experiment")


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _point_models() -> list[str]:
    """The model options whose generator family fits points (the toy generators)."""
    families = {o: OmegaConf.load(CONF_DIR / "model" / f"{o}.yaml").get("family", ModelConfig.family) for o in group_options("model")}
    return [o for o, family in families.items() if REGISTRY[family].on_points]


def check_settings(cfg: DictConfig) -> None:
    """Every setting, in the order a user reads them: one LabError line for the first problem."""
    check_known_keys(cfg)
    _check_complete(cfg)
    on_points = _check_data_and_model(cfg)
    if on_points:  # a toy generator's fit is closed-form: of the training and sampler settings it reads one
        check_point_metrics(cfg.metrics)
        check_synthetic_weight(cfg.train.synthetic_weight)
    else:
        check_train(cfg.train)
        check_sampler(cfg)
        check_metrics(cfg.metrics)
    _check_loop(cfg.loop, cfg.metrics)
    _check_scored_samples(cfg.metrics, cfg.loop, cfg.data)
    check_curate(cfg.curate, on_points)
    check_merge(cfg)
    check_online(cfg.tracking.mode)
    check_claims(cfg.claims)
    check_run(cfg.metrics, On.points if on_points else On.images, cfg.claims)
    check_looks(cfg.looks)
    require(cfg.threads is None or cfg.threads >= 1, f"threads={cfg.threads} is out of range: allowed null (all cores) or ≥ 1")
    resolve_device(cfg.device)


def _check_complete(cfg: DictConfig) -> None:
    try:
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as exc:
        key = exc.full_key
        hint = " (data=imagefolder needs data.root=DIR with one sub-folder per class)" if key == "data.root" else ""
        raise LabError(f"{key} is required: set {key}=…{hint}") from None


def _check_data_and_model(cfg: DictConfig) -> bool:
    """The data set and the generator family, and whether they agree on images or toy points: True for points."""
    data, model = cfg.data, cfg.model
    one_of("data.name", data.name, DATASETS)
    one_of("model.family", model.family, FAMILIES)
    family = family_of(model)
    require(
        OmegaConf.get_type(model) is family.Config,
        f"model.family={model.family} is not the family of model={model.name}; choose the family by its options: model={'|'.join(group_options('model'))}",
    )
    on_points = family.on_points  # toy or image: decided here, by the generator family, once
    if on_points != (data.name in TOY_DATASETS):
        raise LabError(
            f"model={model.name} fits points of a toy data set; allowed with it: data={'|'.join(TOY_DATASETS)}"
            if on_points
            else f"data={data.name} holds points, not images; allowed with it: the toy generators, model={'|'.join(_point_models())}"
        )
    check_data(data)
    family.check(cfg)
    return on_points


def _check_loop(loop, metrics) -> None:
    one_of("loop.name", loop.name, LOOPS)
    at_least("loop.generations", loop.generations, 1)
    # The memorisation test measures each training image's distance to its nearest other training image.
    require(
        loop.train_size >= 2, f"loop.train_size={loop.train_size} is out of range: allowed ≥ 2 (the memorisation test needs a nearest other training image)"
    )
    at_least("loop.num_samples", loop.num_samples, 1)
    require(
        loop.heldback_samples == 0 or loop.heldback_samples >= metrics.num_samples,
        f"loop.heldback_samples={loop.heldback_samples} is out of range: allowed 0 (none) or ≥ metrics.num_samples="
        f"{metrics.num_samples} (the memorisation null needs that many)",
    )
    require(
        isinstance(loop.real_fraction, (int, float)) and 0 <= loop.real_fraction <= 1,
        f"loop.real_fraction={loop.real_fraction} is out of range: allowed 0 ≤ value ≤ 1",
    )
    for gen, regime in enumerate(schedule.regimes(loop)[1:], start=1):  # one line for a bad schedule (lab/schedule.py)
        _, n_synthetic = split_counts(regime.loop, loop.train_size, regime.real_fraction)
        where = f" (loop.schedule at generation {gen})" if regime.scheduled else ""
        require(
            loop.num_samples >= n_synthetic,
            f"loop.num_samples={loop.num_samples} is too small: loop={regime.loop}{where} with train_size={loop.train_size} and "
            f"real_fraction={regime.real_fraction:g} takes {n_synthetic} samples per generation; allowed ≥ {n_synthetic}",
        )


def _check_scored_samples(metrics, loop, data) -> None:
    """The metrics score the same N samples and held-out images every generation: both must exist."""
    require(
        metrics.num_samples <= loop.num_samples,
        f"metrics.num_samples={metrics.num_samples} is more than the loop.num_samples={loop.num_samples} drawn per generation; allowed ≤ {loop.num_samples}",
    )
    require(
        metrics.num_samples <= data.heldout_size,
        f"metrics.num_samples={metrics.num_samples} is more than the held-out set (data.heldout_size={data.heldout_size}); allowed ≤ {data.heldout_size}",
    )


def check_against_data(cfg: DictConfig, real: RealData) -> None:
    """The checks that need the pool size: no loop may ask for more real images than the pool holds."""
    pool = len(real.train_labels)
    require(
        cfg.loop.train_size <= pool,
        f"loop.train_size={cfg.loop.train_size} is more than the real training pool of data={cfg.data.name} holds "
        f"({pool} images after holding out {cfg.data.heldout_size}); allowed ≤ {pool}",
    )
    if real.untrimmed is not None:  # a long-tailed pool: the reference takes its class shares from the held-out set
        reference_pick(real, int(cfg.metrics.num_samples), int(cfg.data.split_seed))


def device_for_job(job_num: int, gpus: int) -> str:
    """device=auto in a sweep: job k takes GPU k mod (GPUs visible), so that the parallel jobs of a local launcher
    (joblib, n_jobs = GPUs × chains per GPU) spread evenly; a job that sees one GPU (Slurm sets what it sees) uses it."""
    return f"cuda:{job_num % gpus}" if gpus > 1 else "auto"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise LabError(f"device={name} is not a device; allowed: auto, cpu, cuda, cuda:N, mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LabError(f"device={name} asks for a GPU but torch sees none; allowed here: auto, cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise LabError(f"device={name} asks for Apple's MPS but torch sees none; allowed here: auto, cpu")
    return device
