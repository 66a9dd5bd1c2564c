"""model=gmm: a scikit-learn Gaussian mixture fitted to each generation (data=gmm25): modes lost and kept.
It fits from scratch every generation and draws from seeded torch generators, so a resumed chain reproduces
an uninterrupted one exactly."""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from omegaconf import MISSING

from lab.errors import at_least, require
from lab.generators.base import Fit, Generator, ModelConfig
from lab.generators.gaussian import check_sampling_bias, sqrt_psd
from lab.loops import Samples, TrainingSet
from lab.seeding import derive_seed, draw_purpose, generator


@dataclass
class MixtureConfig(ModelConfig):
    # Mixture components.
    components: int = MISSING
    # MAD's sampling bias λ ∈ (0, 1]: each component's covariance is scaled by λ when sampling.
    sampling_bias: float = MISSING


class MixtureGenerator(Generator):
    """A scikit-learn Gaussian mixture (model.components, full covariances), fitted by EM from k-means++ starts.

    Sampling goes through a seeded torch generator (not scikit-learn's global-state sampler): pick a
    component by its weight, then draw from its Gaussian, with covariances scaled by model.sampling_bias."""

    family = "gmm"
    Config = MixtureConfig
    on_points = True

    @staticmethod
    def check(cfg) -> None:
        model = cfg.model
        at_least("model.components", model.components, 1)
        check_sampling_bias(model.sampling_bias)
        # At least one point per component.
        smallest = max(2, int(model.components))
        require(cfg.loop.train_size >= smallest, f"loop.train_size={cfg.loop.train_size} is too small for model={model.name}: allowed ≥ {smallest}")
        weight = cfg.train.synthetic_weight
        require(weight == 1, f"train.synthetic_weight={weight} is not allowed for model={model.name} (its EM fit takes no weights); allowed: 1")

    def __init__(self, cfg, real=None, device=None, progress: bool = False):
        self.seed = int(cfg.seed)
        self.components = int(cfg.model.components)
        self.sampling_bias = float(cfg.model.sampling_bias)
        self.weights = self.means = self.covs = None

    def fit(self, data: TrainingSet, generation: int) -> Fit:
        start = time.perf_counter()
        from sklearn.mixture import GaussianMixture  # only this family needs scikit-learn

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
