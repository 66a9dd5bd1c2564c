"""The seam between the generation loop and a generator: fit on a TrainingSet, then sample n points.

The loop (lab/experiment.py) knows only this interface. A family of generators is one module of this package:
a Generator subclass with `family` (model.family), its own typed `Config` (stored in Hydra's ConfigStore as
model/schema_<family>; each conf/model/<name>.yaml of the family names it first in its defaults, so Hydra
rejects a key the family does not have), `on_points` (fits points of a toy data set rather than images) and
`check` (its settings' ranges, one line each).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from omegaconf import MISSING

from lab.loops import Samples, TrainingSet
from lab.older_runs import added_later
from lab.registry import Option


@dataclass
class ModelConfig:
    """The settings every generator family has."""

    name: str = MISSING
    # diffusion (a UNet on images) | gaussian | gmm (closed-form toys on the toy data sets): lab/generators/.
    family: str = added_later("diffusion", "diffusion")
    # Class-conditional with label dropout (train.label_dropout), so classifier-free guidance works.
    conditional: bool = True


@dataclass
class Fit:
    """What fitting one generation reports: scalars for metrics.jsonl and W&B, and timing (kept apart)."""

    scalars: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    # The fitted distribution's mean and covariance where the family has them in closed form: the toy
    # metrics compare them with the true distribution (the quantities of the closed-form collapse results).
    parameters: dict | None = None


class Generator(Option):
    group, key = "model", "family"
    family: ClassVar[str]
    Config = ModelConfig
    on_points: ClassVar[bool] = False  # fits points (N, d) of a toy data set rather than images

    @staticmethod
    def check(cfg) -> None:
        """The family's own checks on the whole config (its settings, and what it needs of the data): one line each."""

    def fit(self, data: TrainingSet, generation: int) -> Fit:
        """Train on `data`: from scratch, or from the previous generation where the family warm-starts."""
        raise NotImplementedError

    def sample(self, n: int, generation: int, draw: int = 0) -> Samples:
        """n samples with the labels they were generated for (-1: none). Each `draw` is a new seeded batch."""
        raise NotImplementedError

    def save(self, directory: Path) -> None:
        """Everything a resumed run needs to continue from this generation, into an empty directory."""
        raise NotImplementedError

    def load(self, directory: Path) -> None:
        """Continue from what `save` wrote (a resumed warm start)."""
        raise NotImplementedError

    # A merge (lab/merge/, e.g. merge=neon) edits the weights a fitted generator samples with.

    def sampling_weights(self) -> dict:
        """name → tensor of what the generator samples with (copies: changing them changes nothing)."""
        raise NotImplementedError

    def load_sampling_weights(self, weights: dict) -> None:
        """Sample with `weights` (as sampling_weights names them) from now on."""
        raise NotImplementedError

    def self_trained(self, samples: Samples, images: int, generation: int, lr_scale: float) -> dict:
        """The sampling weights of a copy of this generator trained briefly on `samples` (`images` seen, at
        `lr_scale` × train.lr), from its sampling weights; the generator itself is left as it is."""
        raise NotImplementedError
