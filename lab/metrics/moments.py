"""A toy's samples against the truth by their first two moments.

Keys: w2_gaussian (Wasserstein-2 between Gaussians with the samples' and the truth's mean and covariance),
variance_ratio (tr(sample covariance) ÷ tr(true covariance): < 1 is a shrinking spread), mean_sq_error
(‖sample mean − true mean‖²). The same of a fitted model's own μ and Σ, without sampling noise, are
lab.metrics.points.PointEvaluator.of_fit's fit_… keys.
"""

import torch

from lab.generators.gaussian import sqrt_psd
from lab.metrics.base import Metric, On


def gaussian_w2(mean_a, cov_a, mean_b, cov_b) -> float:
    """W2(N(a), N(b))² = ‖μa − μb‖² + tr(Σa + Σb − 2 (Σb^½ Σa Σb^½)^½) (the Fréchet distance is its square)."""
    root_b = sqrt_psd(cov_b)
    cross = sqrt_psd(root_b @ cov_a @ root_b)
    squared = ((mean_a - mean_b) ** 2).sum() + torch.trace(cov_a + cov_b - 2 * cross)
    return float(squared.clamp_min(0).sqrt())


def moments(truth, mean: torch.Tensor, cov: torch.Tensor, prefix: str = "") -> dict:
    return {
        f"{prefix}w2_gaussian": gaussian_w2(mean, cov, truth.mean, truth.cov),
        f"{prefix}variance_ratio": float(torch.trace(cov) / torch.trace(truth.cov)),
        f"{prefix}mean_sq_error": float(((mean - truth.mean) ** 2).sum()),
    }


class Moments(Metric):
    name = "moments"
    keys = ("w2_gaussian", "variance_ratio", "mean_sq_error")
    on = frozenset({On.points})

    def __call__(self, generated) -> dict:
        x = generated.features
        return moments(self.evaluator.truth, x.mean(0), torch.cov(x.T, correction=0).reshape(x.shape[1], x.shape[1]))
