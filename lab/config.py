"""Settings checks: each problem becomes one line naming the setting and what is allowed.

`check_settings` needs only the config; `check_against_data` also needs the loaded data (pool sizes).
Both run before anything is written.
"""

import importlib.util

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from lab import schedule
from lab.conf import CONF_DIR
from lab.curate import check_curate
from lab.datasets import DATASETS, TOY_DATASETS
from lab.datasets import REGISTRY as DATA_SETS
from lab.errors import LabError, at_least, one_of, require
from lab.generators import FAMILIES, REGISTRY, ModelConfig, family_of
from lab.loops import LOOPS, split_counts
from lab.metrics import reference_pick
from lab.real_data import RealData
from lab.samplers import sampler_of
from lab.schema import check_known_keys, register
from lab.tracking import check_online
from lab.train import COMPILE_MODES

TRI_STATE = ("auto", True, False)  # fused is a typed bool; these also take auto (chosen per device)

register()  # before any composition: conf/config.yaml names the schema first in its defaults

# `${min:a,b}` in the config tree (metrics.num_samples defaults to the smaller of 1000 and the held-out set).
if not OmegaConf.has_resolver("min"):
    OmegaConf.register_new_resolver("min", lambda *values: min(values))


def run_name(override_dirname: str) -> str:
    """A directory name from the overrides ("default" for none); a path in a value does not nest."""
    return override_dirname.replace("/", "_") or "default"


if not OmegaConf.has_resolver("lab_run_name"):
    OmegaConf.register_new_resolver("lab_run_name", run_name)

GROUPS = ("data", "model", "train", "sampler", "loop", "curate", "metrics", "tracking", "experiment")


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _point_models() -> list[str]:
    """The model options whose generator family fits points (the toy generators)."""
    families = {o: OmegaConf.load(CONF_DIR / "model" / f"{o}.yaml").get("family", ModelConfig.family) for o in group_options("model")}
    return [o for o, family in families.items() if REGISTRY[family].on_points]


def check_settings(cfg: DictConfig) -> None:
    check_known_keys(cfg)
    try:
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as exc:
        key = exc.full_key
        hint = " (data=imagefolder needs data.root=DIR with one sub-folder per class)" if key == "data.root" else ""
        raise LabError(f"{key} is required: set {key}=…{hint}") from None
    data, model, loop, metrics = (cfg[k] for k in ("data", "model", "loop", "metrics"))
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
    if on_points:
        _check_points(data, metrics)
    else:
        _check_images(cfg)
    DATA_SETS[data.name].check(data)
    family.check(cfg)

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

    require(
        metrics.num_samples <= loop.num_samples,
        f"metrics.num_samples={metrics.num_samples} is more than the loop.num_samples={loop.num_samples} drawn per generation; allowed ≤ {loop.num_samples}",
    )
    require(
        metrics.num_samples <= data.heldout_size,
        f"metrics.num_samples={metrics.num_samples} is more than the held-out set (data.heldout_size={data.heldout_size}); allowed ≤ {data.heldout_size}",
    )
    check_curate(cfg.curate, on_points)
    check_online(cfg.tracking.mode)
    require(cfg.threads is None or cfg.threads >= 1, f"threads={cfg.threads} is out of range: allowed null (all cores) or ≥ 1")
    resolve_device(cfg.device)


def _check_images(cfg: DictConfig) -> None:
    """The diffusion model on an image data set: its data, UNet, training, sampler and feature metrics."""
    data, model, train, sampler, metrics = (cfg[k] for k in ("data", "model", "train", "sampler", "metrics"))
    one_of("data.channels", data.channels, (1, 3))
    at_least("data.resolution", data.resolution, 4)
    at_least("data.heldout_size", data.heldout_size, 2)

    at_least("train.images", train.images, 1)
    if train.finetune_images is not None:
        at_least("train.finetune_images", train.finetune_images, 1)
    at_least("train.batch_size", train.batch_size, 1)
    require(train.lr > 0, f"train.lr={train.lr} is out of range: allowed > 0")
    require(
        train.snr_gamma is None or (isinstance(train.snr_gamma, (int, float)) and train.snr_gamma > 0),
        f"train.snr_gamma={train.snr_gamma} is out of range: allowed null or > 0",
    )
    require(0 <= train.label_dropout < 1, f"train.label_dropout={train.label_dropout} is out of range: allowed 0 ≤ value < 1")
    at_least("train.warmup_images", train.warmup_images, 0)
    at_least("train.weight_decay", train.weight_decay, 0)
    require(train.grad_clip > 0, f"train.grad_clip={train.grad_clip} is out of range: allowed > 0")
    at_least("train.num_train_timesteps", train.num_train_timesteps, 2)
    require(0 < train.ema.max_decay < 1, f"train.ema.max_decay={train.ema.max_decay} is out of range: allowed 0 < value < 1")
    require(train.ema.power > 0, f"train.ema.power={train.ema.power} is out of range: allowed > 0")

    at_least("sampler.steps", sampler.steps, 1)
    require(
        sampler.steps <= train.num_train_timesteps,
        f"sampler.steps={sampler.steps} is more than the "
        f"train.num_train_timesteps={train.num_train_timesteps} the model was trained on; allowed ≤ {train.num_train_timesteps}",
    )
    at_least("sampler.batch_size", sampler.batch_size, 1)
    at_least("sampler.guidance_scale", sampler.guidance_scale, 0)
    sampler_of(sampler).check(sampler)
    for key, value in (
        ("train.speed.bf16", train.speed.bf16),
        ("train.speed.compile", train.speed.compile),
        ("train.speed.device_draws", train.speed.device_draws),
        ("sampler.compile", sampler.compile),
        ("sampler.bf16", sampler.bf16),
    ):
        require(value in TRI_STATE, f"{key}={value} is not allowed; allowed: {', '.join(str(a).lower() for a in TRI_STATE)}")
    one_of("train.speed.compile_mode", train.speed.compile_mode, COMPILE_MODES)
    require(
        sampler.guidance_scale == 0 or model.conditional,
        f"sampler.guidance_scale={sampler.guidance_scale} needs a class-conditional model: set model.conditional=true",
    )

    require(
        metrics.features != "inception" or importlib.util.find_spec("torch_fidelity") is not None,
        "metrics.features=inception needs torch-fidelity (pip install torch-fidelity) and its Inception weights, "
        "which this machine lacks; allowed here: metrics.features=classifier",
    )
    feature_dim = 2048 if metrics.features == "inception" else metrics.classifier.feature_dim
    require(
        metrics.num_samples > feature_dim,
        f"metrics.num_samples={metrics.num_samples} is too small for the {feature_dim}-dimensional {metrics.features} "
        f"features: allowed > {feature_dim} (a Fréchet distance needs more samples than dimensions)",
    )
    require(
        isinstance(metrics.nearest_k, int) and 1 <= metrics.nearest_k < metrics.num_samples,
        f"metrics.nearest_k={metrics.nearest_k} is out of range: allowed 1 ≤ k < metrics.num_samples ({metrics.num_samples})",
    )
    at_least("metrics.kid.subsets", metrics.kid.subsets, 1)
    subset_size = metrics.kid.subset_size
    require(
        subset_size is None or (isinstance(subset_size, int) and 2 <= subset_size <= metrics.num_samples),
        f"metrics.kid.subset_size={subset_size} is out of range: allowed null (N/2, at most 1000) or 2 ≤ value ≤ metrics.num_samples ({metrics.num_samples})",
    )
    classifier = metrics.classifier
    for key in ("feature_dim", "epochs", "batch_size"):
        at_least(f"metrics.classifier.{key}", classifier[key], 1)
    require(classifier.lr > 0, f"metrics.classifier.lr={classifier.lr} is out of range: allowed > 0")
    require(0 < metrics.recognised_threshold <= 1, f"metrics.recognised_threshold={metrics.recognised_threshold} is out of range: allowed 0 < value ≤ 1")
    require(0 <= metrics.class_min_share <= 1, f"metrics.class_min_share={metrics.class_min_share} is out of range: allowed 0 ≤ value ≤ 1")


def _check_points(data, metrics) -> None:
    """A toy generator on a toy data set. Its training and sampler settings are not used (closed-form fits)."""
    at_least("data.dim", data.dim, 1)
    at_least("data.pool_size", data.pool_size, 2)
    at_least("data.heldout_size", data.heldout_size, 2)
    at_least("metrics.num_samples", metrics.num_samples, 2)
    require(0 < metrics.mode_min_share <= 1, f"metrics.mode_min_share={metrics.mode_min_share} is out of range: allowed 0 < value ≤ 1")


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
