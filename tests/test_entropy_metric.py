"""The Kozachenko–Leonenko k-NN entropy against the closed form of a Gaussian, ½ log((2πe)^d |Σ|)."""

import math

import numpy as np
import pytest
import torch

from lab.metrics.entropy import knn_entropy


def gaussian_entropy(cov: torch.Tensor) -> float:
    d = cov.shape[0]
    return 0.5 * (d * math.log(2 * math.pi * math.e) + float(torch.logdet(cov)))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_the_estimate_of_a_gaussian_sits_on_its_closed_form(d):
    # A correlated covariance with unequal scales: the estimate must follow |Σ|, not only the variances.
    a = torch.tensor([[1.0, 0.0, 0.0], [0.6, 2.0, 0.0], [0.3, -0.4, 0.5]], dtype=torch.float64)[:d, :d]
    cov = a @ a.T
    g = torch.Generator().manual_seed(d)
    estimates = np.array([knn_entropy(torch.randn(2000, d, generator=g, dtype=torch.float64) @ a.T, k=5) for _ in range(10)])
    standard_error = estimates.std(ddof=1) / math.sqrt(len(estimates))
    # Within 3 standard errors of the truth, and the bias at this N (≈ 0.03 nats in 2-d) far below the effects read.
    assert abs(estimates.mean() - gaussian_entropy(cov)) < max(3 * standard_error, 0.05), (estimates.mean(), gaussian_entropy(cov))


def test_a_narrower_set_has_less_entropy_by_the_log_of_its_scale():
    x = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    # Scaling every point by s moves every k-NN distance by s: exactly d·log s.
    assert knn_entropy(0.5 * x, 5) == pytest.approx(knn_entropy(x, 5) + 2 * math.log(0.5))


def test_copies_pull_the_estimate_down_but_keep_it_finite():
    x = torch.randn(1000, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    collapsed = torch.cat([x[:500], x[:500]])  # every sample twice, as a collapsed generator emits them
    assert math.isfinite(knn_entropy(collapsed, 5)) and knn_entropy(collapsed, 5) < knn_entropy(x, 5)
    assert math.isfinite(knn_entropy(x[:1].expand(1000, -1), 5))
