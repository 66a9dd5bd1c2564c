"""Fréchet distance with torchmetrics, in any feature space; the reference statistics are computed once.

Key: fd_<features> (fd_classifier, fd_inception), the distance of the N samples to the reference."""

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

from lab.errors import LabError
from lab.metrics.base import Metric


class FrechetDistance:
    """FD between a fixed reference set and any number of later sets (one per generation).

    The feature module maps uint8 (N, C, H, W) images to (N, d) and has a `num_features` attribute.
    Statistics are accumulated in float64: with d of a few dozen and N of a few hundred the float32
    covariance loses digits that the small FDs of good generations need.
    """

    def __init__(self, feature: nn.Module | int, reference: torch.Tensor, device, batch_size: int = 1000):
        self.batch_size = batch_size
        self.device = device
        self.metric = FrechetInceptionDistance(feature=feature, reset_real_features=False, normalize=False)
        self.metric.set_dtype(torch.float64)
        self.metric.to(device)
        # torchmetrics does not put a custom feature module in eval mode (dropout would add noise).
        self.metric.inception.eval()
        self._update(reference, real=True)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> float:
        self.metric.reset()  # keeps the reference statistics (reset_real_features=False)
        self._update(images, real=False)
        return float(self.metric.compute())

    def _update(self, images: torch.Tensor, real: bool) -> None:
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                self.metric.update(images[start : start + self.batch_size].to(self.device), real=real)


def inception_fd(reference: torch.Tensor, device) -> FrechetDistance:
    """Standard FID with torch-fidelity's Inception (2048-d pool features); 3-channel uint8 input."""
    try:
        return FrechetDistance(2048, to_rgb(reference), device, batch_size=100)
    except Exception as exc:  # the weights are downloaded on first use
        raise LabError(
            f"metrics.features=inception: the Inception weights could not be loaded ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); use metrics.features=classifier"
        ) from None


def to_rgb(images: torch.Tensor) -> torch.Tensor:
    """Inception takes 3 channels: grey images are repeated."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class Frechet(Metric):
    """The run's feature module with the reference's statistics is the evaluator's (`evaluator.frechet`): every
    feature-space metric embeds with it."""

    name = "frechet"
    keys = ("fd_*",)

    def __call__(self, generated) -> dict:
        evaluator = self.evaluator
        return {evaluator.fd_name: evaluator.frechet(evaluator.as_input(generated.images))}
