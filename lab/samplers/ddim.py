"""sampler=ddim: DDIM with trailing steps. eta=0 is the deterministic ODE sampler; eta=1 draws fresh noise every
step (DDPM's ancestral sampler on the few-step schedule)."""

from dataclasses import dataclass

from diffusers import DDIMScheduler
from omegaconf import MISSING

from lab.errors import require
from lab.samplers.base import Sampler, SamplerConfig


@dataclass
class DDIMConfig(SamplerConfig):
    # 0 deterministic … 1 ancestral.
    eta: float = MISSING


class DDIM(Sampler):
    name = "ddim"
    Config = DDIMConfig

    @staticmethod
    def check(cfg) -> None:
        require(0 <= cfg.eta <= 1, f"sampler.eta={cfg.eta} is out of range: allowed 0 ≤ value ≤ 1")

    @staticmethod
    def scheduler(cfg, train_scheduler):
        # "trailing" spacing starts at the last training step (pure noise): with few steps the default
        # "leading" spacing starts part-way and leaves visible noise.
        return DDIMScheduler.from_config(train_scheduler.config, timestep_spacing="trailing")

    @staticmethod
    def step_kwargs(cfg) -> dict:
        return {"eta": float(cfg.eta)}
