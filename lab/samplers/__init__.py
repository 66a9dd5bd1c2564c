"""Samplers, one module each (a Sampler subclass; lab/samplers/base.py says what they share). The package imports
every module in it, so a new sampler is one file here and its conf/sampler/<name>.yaml."""

from lab.errors import one_of
from lab.registry import options
from lab.samplers.base import Sampler, SamplerConfig

__all__ = ["SAMPLERS", "Sampler", "SamplerConfig", "build_sampler", "sampler_of"]

REGISTRY: dict[str, type[Sampler]] = options(__name__, __path__, Sampler)
SAMPLERS = tuple(sorted(REGISTRY))


def sampler_of(sampler_cfg) -> type[Sampler]:
    one_of("sampler.name", sampler_cfg.name, SAMPLERS)
    return REGISTRY[sampler_cfg.name]


def build_sampler(sampler_cfg, train_scheduler):
    """A few-step scheduler sharing the training schedule's betas and prediction type."""
    return sampler_of(sampler_cfg).scheduler(sampler_cfg, train_scheduler)
