"""Vendi score of the generated set alone (the effective number of distinct items). Key: vendi."""

import torch
import torch.nn.functional as F

from lab.metrics.base import Metric


def vendi_score(features: torch.Tensor) -> float:
    """exp(entropy of the eigenvalues of K/N) with the cosine-similarity kernel K (Friedman & Dieng 2023).

    The effective number of distinct items: 1 for N copies of one vector, N for N orthogonal ones; with a
    linear kernel it cannot exceed the feature dimension d. K/N and XᵀX/N share their non-zero eigenvalues,
    so the smaller of the two matrices is decomposed.
    """
    x = F.normalize(features.double(), dim=1)
    n = len(x)
    gram = x.T @ x if x.shape[1] < n else x @ x.T
    eigenvalues = torch.linalg.eigvalsh(gram / n).clamp_min(0)
    p = eigenvalues[eigenvalues > 1e-12]
    return float(torch.exp(-(p * p.log()).sum()))


class Vendi(Metric):
    name = "vendi"
    keys = ("vendi",)

    def __call__(self, generated) -> dict:
        return {"vendi": vendi_score(generated.features)}
