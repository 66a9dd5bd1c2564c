"""Closed-form toy generators on points (N, d): a Gaussian and a Gaussian mixture.

Both fit from scratch every generation (there is nothing to warm-start) and draw from seeded torch
generators, so a resumed chain reproduces an uninterrupted one exactly.
"""

import time
from pathlib import Path

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from lab.generators import Fit
from lab.loops import Samples, TrainingSet
from lab.seeding import derive_seed, draw_purpose, generator

ESTIMATORS = ("ml", "unbiased")


class GaussianGenerator:
    """N(μ, λΣ): μ and Σ fitted to the training set, λ = model.sampling_bias (MAD's sampling bias; 1 = unbiased).

    model.estimator=ml divides the scatter by n (maximum likelihood: E[Σ̂] = (n−1)/n Σ, the variance shrinks
    by that factor per generation in the replace loop); unbiased divides by n − 1 (MAD's estimator: the
    mean variance holds while its median decays)."""

    def __init__(self, cfg):
        self.seed = int(cfg.seed)
        self.estimator = cfg.model.estimator
        self.sampling_bias = float(cfg.model.sampling_bias)
        self.mean: torch.Tensor | None = None
        self.cov: torch.Tensor | None = None

    def fit(self, data: TrainingSet, generation: int) -> Fit:
        start = time.perf_counter()
        x = data.images.double()
        self.mean = x.mean(0)
        centred = x - self.mean
        self.cov = centred.T @ centred / (len(x) - (self.estimator == "unbiased"))
        return Fit(parameters={"mean": self.mean, "cov": self.cov}, timing={"timing/train_seconds": time.perf_counter() - start})

    def sample(self, n: int, generation: int, draw: int = 0) -> Samples:
        noise = torch.randn((n, len(self.mean)), generator=generator(self.seed, generation, draw_purpose("sample", draw)), dtype=torch.float64)
        points = self.mean + noise @ sqrt_psd(self.sampling_bias * self.cov).T
        return Samples(generation, points.float(), torch.full((n,), -1, dtype=torch.long))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        torch.save({"mean": self.mean, "cov": self.cov}, directory / "parameters.pt")

    def load(self, directory: Path) -> None:
        saved = torch.load(directory / "parameters.pt", weights_only=True)
        self.mean, self.cov = saved["mean"], saved["cov"]


class MixtureGenerator:
    """A scikit-learn Gaussian mixture (model.components, full covariances), fitted by EM from k-means++ starts.

    Sampling goes through a seeded torch generator (not scikit-learn's global-state sampler): pick a
    component by its weight, then draw from its Gaussian, with covariances scaled by model.sampling_bias."""

    def __init__(self, cfg):
        self.seed = int(cfg.seed)
        self.components = int(cfg.model.components)
        self.sampling_bias = float(cfg.model.sampling_bias)
        self.weights = self.means = self.covs = None

    def fit(self, data: TrainingSet, generation: int) -> Fit:
        start = time.perf_counter()
        mixture = GaussianMixture(
            self.components, covariance_type="full", reg_covar=1e-6, random_state=derive_seed(self.seed, generation, "mixture_init") % 2**32
        )
        mixture.fit(data.images.double().numpy())
        self.weights, self.means, self.covs = (
            torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in (mixture.weights_, mixture.means_, mixture.covariances_)
        )
        mean = self.weights @ self.means
        spread = self.means - mean
        cov = torch.einsum("k,kij->ij", self.weights, self.covs) + spread.T @ (self.weights[:, None] * spread)
        return Fit(
            parameters={"mean": mean, "cov": cov},
            scalars={"fit/em_iterations": int(mixture.n_iter_), "fit/converged": bool(mixture.converged_)},
            timing={"timing/train_seconds": time.perf_counter() - start},
        )

    def sample(self, n: int, generation: int, draw: int = 0) -> Samples:
        rng = generator(self.seed, generation, draw_purpose("sample", draw))
        component = torch.multinomial(self.weights, n, replacement=True, generator=rng)
        noise = torch.randn((n, self.means.shape[1]), generator=rng, dtype=torch.float64)
        roots = torch.stack([sqrt_psd(self.sampling_bias * c) for c in self.covs])
        points = self.means[component] + torch.einsum("nij,nj->ni", roots[component], noise)
        return Samples(generation, points.float(), torch.full((n,), -1, dtype=torch.long))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        torch.save({"weights": self.weights, "means": self.means, "covs": self.covs}, directory / "parameters.pt")

    def load(self, directory: Path) -> None:
        saved = torch.load(directory / "parameters.pt", weights_only=True)
        self.weights, self.means, self.covs = saved["weights"], saved["means"], saved["covs"]


def sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """A symmetric square root (eigendecomposition: Cholesky fails on the singular Σ of a collapsed fit)."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
