"""Samplers, one module each (a Sampler subclass; lab/samplers/base.py says what they share). The package imports
every module in it, so a new sampler is one file here and its conf/sampler/<name>.yaml."""

from lab.errors import at_least, auto_or_bool, one_of, require
from lab.registry import options
from lab.samplers.base import Sampler, SamplerConfig

__all__ = ["SAMPLERS", "Sampler", "SamplerConfig", "build_sampler", "check_sampler", "sampler_of"]

REGISTRY: dict[str, type[Sampler]] = options(__name__, __path__, Sampler)
SAMPLERS = tuple(sorted(REGISTRY))


def sampler_of(sampler_cfg) -> type[Sampler]:
    one_of("sampler.name", sampler_cfg.name, SAMPLERS)
    return REGISTRY[sampler_cfg.name]


def check_sampler(cfg) -> None:
    """The settings every sampler shares, against the training schedule and the model, then the sampler's own."""
    sampler, train = cfg.sampler, cfg.train
    at_least("sampler.steps", sampler.steps, 1)
    require(
        sampler.steps <= train.num_train_timesteps,
        f"sampler.steps={sampler.steps} is more than the "
        f"train.num_train_timesteps={train.num_train_timesteps} the model was trained on; allowed ≤ {train.num_train_timesteps}",
    )
    at_least("sampler.batch_size", sampler.batch_size, 1)
    at_least("sampler.guidance_scale", sampler.guidance_scale, 0)
    require(
        sampler.guidance_scale == 0 or cfg.model.conditional,
        f"sampler.guidance_scale={sampler.guidance_scale} needs a class-conditional model: set model.conditional=true",
    )
    auto_or_bool("sampler.compile", sampler.compile)
    auto_or_bool("sampler.bf16", sampler.bf16)
    sampler_of(sampler).check(sampler)


def build_sampler(sampler_cfg, train_scheduler):
    """A few-step scheduler sharing the training schedule's betas and prediction type."""
    return sampler_of(sampler_cfg).scheduler(sampler_cfg, train_scheduler)
