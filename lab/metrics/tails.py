"""Coverage by density: which regions of the real data a generator still reaches, from the sparse tails to the core.

Early collapse loses the low-density regions first while averages still look fine; late collapse loses
variance everywhere (Shumailov et al., Nature 2024). Overall recall and k-NN coverage fall alike for both,
so these metrics split them by how dense the real data is where it lies:

- Each reference point gets a density score, higher where the data is denser: for images, minus its
  distance to its k-th nearest point of a *density set* D of real images disjoint from the reference (a
  point's neighbours within the reference itself would include its own duplicates and bias the extreme
  deciles); for the toy data sets, the true log-density.
- The reference is cut into ten deciles of that score by rank, fixed for the run: decile 0 is the sparsest.
- coverage per decile: Naeem et al.'s k-NN coverage (a reference point is covered when its own k-NN ball
  within the reference holds a sample), averaged within the decile. For samples drawn i.i.d. from the
  reference's distribution every reference point is covered with probability 1 − ∏ᵢ₌₁ᵏ (N−i)/(N+M−i)
  (0.969 at N = M = 1,000, k = 5), whatever its density: the same value in every decile.
- landing: the share of samples whose density score falls in each decile's range of the reference (10 %
  each for a faithful generator) and `off_support`, samples sparser than the sparsest reference point
  (1/(N+1) expected for a faithful generator). Losing the tails empties decile 0; errors fill off_support.

The tail is decile 0, the core the denser half (deciles 5–9).

Keys: knn_coverage_tail, knn_coverage_core, landing_tail, landing_off_support, and per decile j (0 = the sparsest)
tails/coverage_decile_<j>, tails/landing_decile_<j>.
"""

from dataclasses import dataclass

import torch

from lab.metrics.base import Metric, Need, On
from lab.metrics.manifold import CHUNK, distances

DECILES = 10
CORE = slice(DECILES // 2, DECILES)  # the denser half


def kth_distance(points: torch.Tensor, among: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest point of `among`, a set that does not hold the points."""
    if len(among) < k:
        raise ValueError(f"{len(among)} points cannot have a {k}-th nearest neighbour")
    return torch.cat([distances(c, among).kthvalue(k, dim=1).values for c in points.double().split(CHUNK)])


class KnnDensity:
    """Density scores from a real set D: minus the distance to the k-th nearest point of D."""

    def __init__(self, density_set: torch.Tensor, k: int):
        self.density_set, self.k = density_set.double(), k

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        return -kth_distance(points, self.density_set, self.k)


@dataclass
class DensityDeciles:
    """The reference cut into density deciles by rank (decile 0 the sparsest), fixed for a run."""

    decile: torch.Tensor  # (N,) int64: each reference point's decile
    edges: torch.Tensor  # (DECILES + 1,) float64: the lowest score of each decile, then +inf

    @classmethod
    def of(cls, scores: torch.Tensor) -> "DensityDeciles":
        if len(scores) < DECILES:
            raise ValueError(f"{len(scores)} reference points cannot be cut into {DECILES} deciles")
        order = scores.double().argsort(stable=True)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(len(scores))
        decile = rank * DECILES // len(scores)
        n = len(scores)
        first_rank = [-(-j * n // DECILES) for j in range(DECILES)]  # the lowest rank r with r·DECILES // n = j
        edges = torch.cat([scores.double()[order[first_rank]], torch.tensor([float("inf")], dtype=torch.float64)])
        return cls(decile, edges)

    def coverage(self, covered: torch.Tensor) -> torch.Tensor:
        """(DECILES,) share of covered reference points in each decile."""
        return torch.stack([covered[self.decile == j].double().mean() for j in range(DECILES)])

    def landing(self, scores: torch.Tensor) -> tuple[torch.Tensor, float]:
        """((DECILES,) share of samples in each decile's score range, share sparser than every reference point)."""
        # bucketize(right=True): the number of edges ≤ score, so a score equal to a decile's lowest is in it.
        bucket = torch.bucketize(scores.double(), self.edges, right=True) - 1  # -1: below the sparsest
        counts = torch.bincount(bucket + 1, minlength=DECILES + 1).double() / len(scores)
        return counts[1:], float(counts[0])


def tail_metrics(deciles: DensityDeciles, covered: torch.Tensor, sample_scores: torch.Tensor) -> dict:
    """The keys of metrics.jsonl: per decile under tails/, the tail against the core as headline scalars."""
    coverage = deciles.coverage(covered)
    landing, off_support = deciles.landing(sample_scores)
    out = {f"tails/coverage_decile_{j}": float(c) for j, c in enumerate(coverage)}
    out |= {f"tails/landing_decile_{j}": float(s) for j, s in enumerate(landing)}
    out |= {
        "knn_coverage_tail": float(coverage[0]),
        "knn_coverage_core": float(coverage[CORE].mean()),
        "landing_tail": float(landing[0]),
        "landing_off_support": off_support,
    }
    return out


class Tails(Metric):
    name = "tails"
    keys = ("knn_coverage_tail", "knn_coverage_core", "landing_tail", "landing_off_support", "tails/*")
    on = frozenset({On.images, On.points})
    needs = frozenset({Need.features, Need.density})

    def __call__(self, generated) -> dict:
        evaluator = self.evaluator
        return tail_metrics(evaluator.deciles, generated.comparison.real_covered, evaluator.density(generated.features))


def naeem_null_coverage(n_reference: int, n_samples: int, k: int) -> float:
    """A reference point's chance of being covered when the samples are i.i.d. from the reference's distribution."""
    missed = 1.0
    for i in range(1, k + 1):
        missed *= (n_reference - i) / (n_reference + n_samples - i)
    return 1.0 - missed
