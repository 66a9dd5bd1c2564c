"""What every sampler shares: its config's common settings and the Sampler class a new one subclasses (one file
in lab/samplers/ and one in conf/sampler/; nothing else to edit).

A sampler is a diffusers scheduler built on the training schedule (its betas and prediction type), stepped by
lab.diffusion.sample with classifier-free guidance.
"""

from dataclasses import dataclass
from typing import ClassVar

from omegaconf import MISSING

from lab.labels import LabelSource
from lab.older_runs import added_later
from lab.registry import Option


@dataclass
class SamplerConfig:
    """The settings every sampler has; each one's own settings are in its Config subclass."""

    name: str = MISSING
    steps: int = MISSING
    # Classifier-free guidance weight w. MAD's sampling bias λ = 1/(1+w): w=0 ↔ λ=1 (unbiased),
    # w=0.25 ↔ λ=0.8, w=1 ↔ λ=0.5. Needs a conditional model.
    guidance_scale: float = 0.0
    # Images per UNet forward while sampling.
    batch_size: int = 500
    # torch.compile the sampling UNet (CUDA graphs; the last batch padded to batch_size, so that one graph serves
    # every batch). auto: on CUDA only, like train.speed.compile.
    compile: bool | str = added_later("auto", "auto")
    # The UNet's forward in bfloat16 autocast (the solver's arithmetic stays fp32). auto: where train.speed.bf16=auto
    # trains in bf16 (CPUs with AMX or AVX512-BF16, CUDA GPUs); its speed and quality against fp32:
    # docs/results/2026-11-29-cpu-default.md, "Training speed".
    bf16: bool | str = added_later(False, "auto")
    # Where a conditional model's sample labels come from (lab/labels.py): training_set (its own training set's
    # class shares: the Wright–Fisher label chain, a rare class can die out) | real_pool | uniform (the rebalancing
    # remedy). real_pool by default: what every run before this setting did, and on a balanced data set the class-balanced
    # draw of the conditional MNIST chains in the literature (docs/tails.md); it pins class shares, so
    # experiment=tails_cpu sets training_set.
    labels: LabelSource = added_later("real_pool", LabelSource.real_pool)


class Sampler(Option):
    """Subclass with `name` (sampler=<name>), `Config` (a SamplerConfig subclass with its own settings, stored in
    Hydra's ConfigStore as sampler/schema_<name>), `check` and `scheduler`."""

    group = "sampler"
    name: ClassVar[str]
    Config = SamplerConfig

    @staticmethod
    def check(cfg) -> None:
        """Range checks of the sampler's own settings: one LabError line each (lab.errors)."""

    @staticmethod
    def scheduler(cfg, train_scheduler):
        """The diffusers scheduler that samples, sharing the training schedule's betas and prediction type."""
        raise NotImplementedError

    @staticmethod
    def step_kwargs(cfg) -> dict:
        """Extra arguments of the scheduler's step() (DDIM's eta)."""
        return {}
