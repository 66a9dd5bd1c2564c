"""diversity: draw curate.candidates × n samples and keep n chosen for spread in the run's feature space by greedy
farthest-point selection (the entropy-based selection of Shi et al. 2025). A filter that rewards spread also
rewards outliers."""

import math
from dataclasses import dataclass

import torch
from omegaconf import MISSING

from lab.curate.base import CurateConfig, Curated, Mitigation, select
from lab.errors import at_least, require
from lab.loops import Samples
from lab.seeding import generator


@dataclass
class DiversityConfig(CurateConfig):
    # Samples drawn per sample kept (≥ 1); the kept ones are chosen for spread.
    candidates: float = MISSING


class Diversity(Mitigation):
    name = "diversity"
    Config = DiversityConfig

    @staticmethod
    def check(cfg, on_points: bool) -> None:
        at_least("curate.candidates", cfg.candidates, 1)
        require(
            cfg.candidates <= cfg.max_draws,
            f"curate.candidates={cfg.candidates} needs more draws than curate.max_draws={cfg.max_draws}; allowed ≤ {cfg.max_draws}",
        )

    def __call__(self, first: Samples, model, n: int) -> Curated:
        draws = math.ceil(float(self.cfg.candidates))
        batches = [first] + [model.sample(n, first.generation, draw=d) for d in range(1, draws)]
        pool = Samples(first.generation, torch.cat([b.images for b in batches]), torch.cat([b.labels for b in batches]))
        pool = select(pool, torch.arange(min(len(pool.labels), math.ceil(float(self.cfg.candidates) * n))))
        start = int(torch.randint(len(pool.labels), (1,), generator=generator(self.seed, first.generation, "diversity")))
        keep = farthest_points(self.evaluator.features_of(pool.images), n, start)
        # Back in draw order: a loop takes the front of a generation's samples as a random subset, and the
        # selection order would put the most extreme samples first.
        return Curated(select(pool, keep.sort().values), len(pool.labels) - n, 0, len(pool.labels) / n)


def farthest_points(features: torch.Tensor, k: int, start: int) -> torch.Tensor:
    """Greedy farthest-point selection: each pick is the point farthest from every earlier pick (indices, in order)."""
    chosen = [start]
    nearest = torch.cdist(features, features[start : start + 1])[:, 0]
    nearest[start] = -math.inf  # never picked twice, even among exact duplicates (a collapsed generator's)
    for _ in range(k - 1):
        pick = int(nearest.argmax())
        chosen.append(pick)
        nearest = torch.minimum(nearest, torch.cdist(features, features[pick : pick + 1])[:, 0])
        nearest[pick] = -math.inf
    return torch.tensor(chosen)
