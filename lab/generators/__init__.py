"""The seam between the generation loop and a generator: fit on a TrainingSet, then sample n points.

The loop (lab/experiment.py) knows only this interface, so a family of generators is one class:

    model=cpu|tiny|gpu_small|gpu_large   the diffusion UNet (diffusion_model.py), on images
    model=gaussian                       N(μ, λΣ) fitted by maximum likelihood or unbiased (toys.py)
    model=gmm                            a scikit-learn Gaussian mixture (toys.py)

The toys run on the toy data sets (data=gaussian, data=gmm25): points instead of images, with a known
true distribution, so that collapse has a closed form to check the loop machinery against.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lab.loops import Samples, TrainingSet

FAMILIES = ("diffusion", "gaussian", "gmm")
# Families that fit points (N, d) of a toy data set rather than images.
POINT_FAMILIES = ("gaussian", "gmm")


@dataclass
class Fit:
    """What fitting one generation reports: scalars for metrics.jsonl and W&B, and timing (kept apart)."""

    scalars: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    # The fitted distribution's mean and covariance where the family has them in closed form: the toy
    # metrics compare them with the true distribution (the quantities of the closed-form collapse results).
    parameters: dict | None = None


class Generator(Protocol):
    def fit(self, data: TrainingSet, generation: int) -> Fit:
        """Train on `data`: from scratch, or from the previous generation where the family warm-starts."""

    def sample(self, n: int, generation: int, draw: int = 0) -> Samples:
        """n samples with the labels they were generated for (-1: none). Each `draw` is a new seeded batch."""

    def save(self, directory: Path) -> None:
        """Everything a resumed run needs to continue from this generation, into an empty directory."""

    def load(self, directory: Path) -> None:
        """Continue from what `save` wrote (a resumed warm start)."""


def build(cfg, real, device, progress: bool) -> Generator:
    family = cfg.model.family
    if family == "diffusion":
        from lab.generators.diffusion_model import DiffusionGenerator

        return DiffusionGenerator(cfg, real, device, progress)
    from lab.generators.toys import GaussianGenerator, MixtureGenerator

    return {"gaussian": GaussianGenerator, "gmm": MixtureGenerator}[family](cfg)
