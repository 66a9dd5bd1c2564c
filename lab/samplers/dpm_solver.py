"""sampler=dpm_solver: DPM-Solver++ (2nd order, multistep), the deterministic ODE sampler."""

from dataclasses import dataclass
from typing import ClassVar

from diffusers import DPMSolverMultistepScheduler
from omegaconf import MISSING

from lab.named import Named
from lab.samplers.base import Sampler, SamplerConfig


class Spacing(Named):
    """sampler.spacing: trailing, steps evenly spaced in t from pure noise; log_snr, evenly spaced in log-SNR."""

    trailing = "trailing"
    log_snr = "log_snr"


@dataclass
class DPMSolverConfig(SamplerConfig):
    spacing: Spacing = MISSING


class DPMSolver(Sampler):
    name = "dpm_solver"
    Config = DPMSolverConfig
    algorithm: ClassVar[str] = "dpmsolver++"

    @classmethod
    def scheduler(cls, cfg, train_scheduler):
        if cfg.spacing == "log_snr":
            # Steps uniform in log-SNR put several steps at low noise, where the last step's jump to its
            # x0 estimate otherwise smooths fine detail away (tests/test_sampler_known_score.py).
            spacing = {"use_lu_lambdas": True}
        else:
            # The cosine schedule needs λ(t) clipped near t = T (diffusers' docs) with evenly spaced steps.
            spacing = {"timestep_spacing": "trailing", "lambda_min_clipped": -5.1}
        # x0 predictions kept in [-1, 1], as DDIM does with clip_sample.
        return DPMSolverMultistepScheduler.from_config(train_scheduler.config, algorithm_type=cls.algorithm, thresholding=True, sample_max_value=1.0, **spacing)
