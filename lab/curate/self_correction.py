"""self_correction: move each sample toward its nearest k-means centre of the real pool of its class,
x ← (1 − s)·x + s·c with s = curate.strength (Gillman et al.: 16 centres per digit); strength 1 replaces it."""

import math
from dataclasses import dataclass

import torch
from omegaconf import MISSING

from lab.curate.base import CurateConfig, Curated, Mitigation
from lab.errors import at_least, require
from lab.loops import Samples
from lab.seeding import derive_seed


@dataclass
class SelfCorrectionConfig(CurateConfig):
    # s in x ← (1 − s)·x + s·(nearest k-means centre of its class), and the centres per class.
    strength: float = MISSING
    centres_per_class: int = MISSING


class SelfCorrection(Mitigation):
    name = "self_correction"
    Config = SelfCorrectionConfig

    @staticmethod
    def check(cfg, on_points: bool) -> None:
        require(0 <= cfg.strength <= 1, f"curate.strength={cfg.strength} is out of range: allowed 0 ≤ value ≤ 1")
        at_least("curate.centres_per_class", cfg.centres_per_class, 1)

    def __init__(self, cfg, real, evaluator, seed: int):
        super().__init__(cfg, real, evaluator, seed)
        self.centres, self.centre_labels = class_centres(real, int(cfg.centres_per_class), seed)

    def __call__(self, first: Samples, model, n: int) -> Curated:
        x = first.images.float().flatten(1)
        distances = torch.cdist(x, self.centres)
        if bool((first.labels >= 0).all()):  # a conditional sample moves toward its own class's centres
            distances[first.labels[:, None] != self.centre_labels[None, :]] = math.inf
        target = self.centres[distances.argmin(1)]
        s = float(self.cfg.strength)
        moved = ((1 - s) * x + s * target).reshape(first.images.shape)
        if first.images.dtype == torch.uint8:
            moved = moved.round().clamp(0, 255).to(torch.uint8)
        changed = int((moved != first.images).flatten(1).any(1).sum())
        return Curated(Samples(first.generation, moved, first.labels), 0, changed, 1.0)


def class_centres(real, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means centres of each class of the real training pool (in the data's own values, flattened)."""
    from sklearn.cluster import KMeans  # only this mitigation needs scikit-learn

    centres, labels = [], []
    for c in range(real.num_classes):
        members = real.train_images[real.train_labels == c].float().flatten(1)
        if len(members) == 0:
            continue
        k = min(per_class, len(members))
        fitted = KMeans(k, n_init=3, random_state=derive_seed(seed, 0, f"centres_{c}") % 2**32).fit(members.numpy())
        centres.append(torch.from_numpy(fitted.cluster_centers_).float())
        labels.append(torch.full((k,), c))
    return torch.cat(centres), torch.cat(labels)
