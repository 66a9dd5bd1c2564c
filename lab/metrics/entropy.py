"""The samples' spread as a differential entropy: the Kozachenko–Leonenko k-nearest-neighbour estimate, in the run's
feature space (a toy's points are their own). Key: knn_entropy, in nats.

    Ĥ = ψ(N) − ψ(k) + log V_d + (d/N) Σᵢ log rᵢ

with rᵢ the Euclidean distance of sample i to its k-th nearest other sample (k = metrics.nearest_k), V_d the volume
of the unit ball in d dimensions. It is consistent for any density; for N(μ, Σ) the truth is ½ log((2πe)^d |Σ|).
In the classifier's 64 dimensions at N = 1,000 it is biased (as every k-NN estimate there is), the same way for
every generation and for the real floor beside it: read it against that floor, not as an absolute entropy.
A collapsed generator emits exact copies, whose rᵢ = 0 would make Ĥ = −∞; such distances count as MIN_DISTANCE,
so copies pull the estimate down hard but keep it finite.
"""

import math

import torch

from lab.metrics.base import Metric, On
from lab.metrics.manifold import knn_radius

MIN_DISTANCE = 1e-10


def knn_entropy(points: torch.Tensor, k: int) -> float:
    """Kozachenko–Leonenko estimate (nats) of the differential entropy of the density the rows were drawn from."""
    x = points.double()
    n, d = x.shape
    radius = knn_radius(x, k).clamp_min(MIN_DISTANCE)
    log_unit_ball = (d / 2) * math.log(math.pi) - math.lgamma(d / 2 + 1)
    return float(torch.special.digamma(torch.tensor(float(n))) - torch.special.digamma(torch.tensor(float(k))) + log_unit_ball + d * radius.log().mean())


class KnnEntropy(Metric):
    name = "entropy"
    keys = ("knn_entropy",)
    on = frozenset({On.images, On.points})

    def __call__(self, generated) -> dict:
        return {"knn_entropy": knn_entropy(generated.features, self.evaluator.k)}
