"""What every mitigation shares: its config's common settings, what it returns, and the Mitigation class a
new one subclasses (one file in lab/curate/ and one in conf/curate/; nothing else to edit).

A mitigation acts on a generation's samples before later generations train on them. The metrics of a
generation measure the generator's own samples (the first draw, before curation): curation changes what
the next generation learns from, not how the current one is scored. A filter that removes samples draws
more (new seeded draws, at most curate.max_draws × n samples in all) until n are kept, so every regime
trains on the same number of images. Each step logs curate/removed (samples rejected or not chosen),
curate/changed, curate/draws (samples drawn ÷ n), and curate/shortfall where the budget ran out first.
"""

from dataclasses import dataclass
from typing import ClassVar

import torch
from omegaconf import MISSING

from lab.loops import Samples
from lab.older_runs import added_later
from lab.registry import Option


@dataclass
class CurateConfig:
    """The settings every mitigation has; each one's own settings are in its Config subclass."""

    name: str = added_later("none", MISSING)
    # Filters draw again until loop.num_samples = n are kept: at most max_draws × n samples.
    max_draws: int = added_later(10, 10)


@dataclass
class Curated:
    samples: Samples  # what the loop feeds to later generations: n of them unless draws ran out
    removed: int  # samples the filter rejected (verifier) or did not choose (diversity)
    changed: int  # kept samples whose values were altered
    draws: float  # samples drawn ÷ n

    def scalars(self, n: int) -> dict:
        out = {"curate/removed": self.removed, "curate/changed": self.changed, "curate/draws": self.draws}
        return out | ({"curate/shortfall": n - len(self.samples.labels)} if len(self.samples.labels) < n else {})


class Mitigation(Option):
    """Subclass with `name` (curate=<name>), `Config` (a CurateConfig subclass with the option's own settings,
    stored in Hydra's ConfigStore as curate/schema_<name>: conf/curate/<name>.yaml names it first in its
    defaults, so Hydra rejects a key the option does not have), `check` and `__call__`."""

    group = "curate"
    name: ClassVar[str]
    Config = CurateConfig
    # True for a mitigation that needs the feature classifier of an image data set (not on the toys).
    needs_images: ClassVar[bool] = False

    def __init__(self, cfg, real, evaluator, seed: int):
        self.cfg, self.real, self.evaluator, self.seed = cfg, real, evaluator, seed

    @staticmethod
    def check(cfg, on_points: bool) -> None:
        """Range and cross-setting checks of the option's settings: one LabError line each (lab.errors)."""

    def __call__(self, first: Samples, model, n: int) -> Curated:
        raise NotImplementedError


def select(samples: Samples, idx: torch.Tensor) -> Samples:
    return Samples(samples.generation, samples.images[idx], samples.labels[idx])
