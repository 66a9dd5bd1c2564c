"""model=gaussian: N(μ, λΣ) fitted to each generation's training set (data=gaussian): collapse in closed form.
It fits from scratch every generation (there is nothing to warm-start) and draws from seeded torch generators,
so a resumed chain reproduces an uninterrupted one exactly."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import MISSING

from lab.errors import require
from lab.generators.base import Fit, Generator, ModelConfig
from lab.loops import Samples, TrainingSet
from lab.named import Named
from lab.seeding import draw_purpose, generator

log = logging.getLogger(__name__)


class Estimator(Named):
    """model.estimator: ml divides the scatter by n (maximum likelihood), unbiased by n − 1 (MAD's estimator)."""

    ml = "ml"
    unbiased = "unbiased"


@dataclass
class GaussianConfig(ModelConfig):
    estimator: Estimator = MISSING
    # MAD's sampling bias λ ∈ (0, 1]: sample N(μ, λΣ).
    sampling_bias: float = MISSING


class GaussianGenerator(Generator):
    """N(μ, λΣ): μ and Σ fitted to the training set, λ = model.sampling_bias (MAD's sampling bias; 1 = unbiased).

    model.estimator=ml divides the scatter by n (maximum likelihood: E[Σ̂] = (n−1)/n Σ, the variance shrinks
    by that factor per generation in the replace loop); unbiased divides by n − 1 (MAD's estimator: the
    mean variance holds while its median decays). train.synthetic_weight weighs the samples of the training set
    against its real points in both."""

    family = "gaussian"
    Config = GaussianConfig
    on_points = True

    @staticmethod
    def check(cfg) -> None:
        model = cfg.model
        check_sampling_bias(model.sampling_bias)
        # A covariance needs two points.
        require(cfg.loop.train_size >= 2, f"loop.train_size={cfg.loop.train_size} is too small for model={model.name}: allowed ≥ 2")

    def __init__(self, cfg, real=None, device=None, progress: bool = False):
        self.seed = int(cfg.seed)
        self.estimator = cfg.model.estimator
        self.sampling_bias = float(cfg.model.sampling_bias)
        self.synthetic_weight = float(cfg.train.synthetic_weight)
        self.mean: torch.Tensor | None = None
        self.cov: torch.Tensor | None = None

    def fit(self, data: TrainingSet, generation: int) -> Fit:
        start = time.perf_counter()
        x, w = data.images.double(), data.weights(self.synthetic_weight)
        if w is None:
            self.mean = x.mean(0)
            centred = x - self.mean
            self.cov = centred.T @ centred / (len(x) - (self.estimator == "unbiased"))
        else:  # train.synthetic_weight: the weighted ML fit; unbiased divides by V₁ − V₂/V₁ (reliability weights)
            w = w.double()
            self.mean = (w[:, None] * x).sum(0) / w.sum()
            centred = x - self.mean
            self.cov = (w[:, None] * centred).T @ centred / (w.sum() - (self.estimator == "unbiased") * (w**2).sum() / w.sum())
        return Fit(parameters={"mean": self.mean, "cov": self.cov}, timing={"timing/train_seconds": time.perf_counter() - start})

    def sample(self, n: int, generation: int, draw: int = 0) -> Samples:
        noise = torch.randn((n, len(self.mean)), generator=generator(self.seed, generation, draw_purpose("sample", draw)), dtype=torch.float64)
        points = self.mean + noise @ sqrt_psd(self.sampling_bias * self.cov).T
        return Samples(generation, points.float(), torch.full((n,), -1, dtype=torch.long))

    def sampling_weights(self) -> dict:
        return {"mean": self.mean.clone(), "cov": self.cov.clone()}

    def load_sampling_weights(self, weights: dict) -> None:
        """A merged covariance can leave the PSD cone (Neon's (1+w)Σ − wΣ_self with a large w or few self-samples): it
        is projected back (negative eigenvalues to 0), with a warning, as sampling would have done silently."""
        cov = weights["cov"]
        values, vectors = torch.linalg.eigh(cov)
        if bool((values < 0).any()):
            log.warning("the merged covariance has %d negative eigenvalue(s) (down to %.3g): set to 0", int((values < 0).sum()), float(values.min()))
            cov = vectors @ torch.diag(values.clamp_min(0)) @ vectors.T
        self.mean, self.cov = weights["mean"], cov

    def self_trained(self, samples: Samples, images: int, generation: int, lr_scale: float) -> dict:
        """Refitted on its own samples, with the run's estimator (a closed form: `images` and `lr_scale` do not apply)."""
        own = TrainingSet(samples.images, samples.labels, torch.zeros(len(samples.labels), dtype=torch.long), torch.full((len(samples.labels),), -1))
        copy = GaussianGenerator.__new__(GaussianGenerator)
        copy.estimator, copy.synthetic_weight = self.estimator, 1.0
        copy.fit(own, generation)
        return {"mean": copy.mean, "cov": copy.cov}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        torch.save({"mean": self.mean, "cov": self.cov}, directory / "parameters.pt")

    def load(self, directory: Path) -> None:
        saved = torch.load(directory / "parameters.pt", weights_only=True)
        self.mean, self.cov = saved["mean"], saved["cov"]


def check_sampling_bias(value) -> None:
    """MAD's sampling bias λ of the toy generators: their covariance is scaled by λ when sampling."""
    require(isinstance(value, (int, float)) and 0 < value <= 1, f"model.sampling_bias={value} is out of range: allowed 0 < λ ≤ 1 (1: unbiased)")


def sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """A symmetric square root (eigendecomposition: Cholesky fails on the singular Σ of a collapsed fit)."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
