"""Kernel Inception Distance in the run's feature space. Keys: kid, kid_std (mean and std over seeded subsets)."""

import warnings

import torch
from torch import nn
from torchmetrics.image.kid import KernelInceptionDistance

from lab.metrics.base import Metric
from lab.seeding import derive_seed


class KID:
    """Unbiased KID (cubic polynomial kernel) against fixed reference features, by torchmetrics.

    Mean ± std over `subsets` random subsets of `subset_size` from each set; the subsets are drawn from
    a fixed seed, so the same features always give the same value. Both sets are first standardised by the
    reference's per-dimension mean and standard deviation: the kernel (xᵀy/d + 1)³ on raw features is ruled by
    the few directions of largest variance, which made the estimate's spread hundreds of times its mean.
    """

    def __init__(self, reference: torch.Tensor, subsets: int, subset_size: int):
        reference = reference.double()
        self.mean, self.scale = reference.mean(0), reference.std(0).clamp_min(1e-12)
        # The features are computed once by the Evaluator: torchmetrics' feature module is then the identity.
        with warnings.catch_warnings():  # "will save all extracted features": that is the point here
            warnings.simplefilter("ignore", UserWarning)
            self.metric = KernelInceptionDistance(feature=nn.Identity(), subsets=subsets, subset_size=subset_size, reset_real_features=False)
        self.metric.update(self._standardise(reference), real=True)

    def _standardise(self, features: torch.Tensor) -> torch.Tensor:
        return (features.double() - self.mean) / self.scale

    def __call__(self, features: torch.Tensor) -> dict:
        self.metric.reset()
        self.metric.update(self._standardise(features), real=False)
        with torch.random.fork_rng():
            torch.manual_seed(derive_seed(0, 0, "kid_subsets"))
            mean, std = self.metric.compute()
        return {"kid": float(mean), "kid_std": float(std)}


class Kid(Metric):
    name = "kid"
    keys = ("kid", "kid_std")

    def __init__(self, evaluator):
        super().__init__(evaluator)
        settings = evaluator.settings.kid
        # null: N/2, at most 1,000 (the usual size; subsets of N would all be the same set).
        subset_size = settings.subset_size or min(1000, evaluator.num_samples // 2)
        self.kid = KID(evaluator.reference.features, int(settings.subsets), int(subset_size))

    def __call__(self, generated) -> dict:
        return self.kid(generated.features)
