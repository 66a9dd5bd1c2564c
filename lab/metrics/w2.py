"""Exact Wasserstein-2 distance between a toy's N samples and N held-out true points (an optimal one-to-one matching:
both sets weigh 1/N per point). Key: w2."""

import torch
from scipy.optimize import linear_sum_assignment

from lab.metrics.base import Metric, On


def empirical_w2(a: torch.Tensor, b: torch.Tensor) -> float:
    """W2 between two equal-size point sets with equal weights: an optimal assignment is an optimal plan."""
    cost = torch.cdist(a.double(), b.double()) ** 2
    rows, cols = linear_sum_assignment(cost.numpy())
    return float(cost[rows, cols].mean().sqrt())


class W2(Metric):
    name = "w2"
    keys = ("w2",)
    on = frozenset({On.points})

    def __call__(self, generated) -> dict:
        return {"w2": empirical_w2(generated.features, self.evaluator.reference.features)}
