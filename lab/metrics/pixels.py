"""Pixel statistics: what the classifier's features do not single out.

A diffusion model does not reach the exact black of MNIST's background, and (as we read the pixel measurements in
docs/results/2026-11-29-measured.md) quantising its output to [0, 255] keeps only the bright side of that error; a
self-consuming loop then learns the brighter background and adds its own. The feature-space metrics
mix such a haze with everything else, so the intensity distribution itself is measured against the
held-out reference images. Keys: pixel_w1, dark_level."""

import numpy as np
import torch
from scipy.stats import wasserstein_distance

from lab.metrics.base import Metric

LEVELS = np.arange(256)
# Pixels below a quarter of full scale: the background of digit data sets (and the dark parts of photos).
DARK = 64


def intensity_histogram(images: torch.Tensor) -> np.ndarray:
    """Pixel counts at each of the 256 levels, all channels pooled."""
    return torch.bincount(images.reshape(-1).to(torch.int64), minlength=len(LEVELS)).numpy()


def pixel_statistics(images: torch.Tensor, reference_histogram: np.ndarray) -> dict:
    """uint8 images against the reference's intensity histogram, both in levels of 255.

    pixel_w1: Wasserstein-1 distance between the two intensity distributions (scipy's, exact for these
        weighted levels); images brightened by k levels without clipping score k.
    dark_level: mean level of the pixels below DARK (a background's brightness; NaN if there are none).
    """
    w1 = wasserstein_distance(LEVELS, LEVELS, intensity_histogram(images), reference_histogram)
    dark = images[images < DARK].double()
    return {"pixel_w1": float(w1), "dark_level": float(dark.mean()) if len(dark) else float("nan")}


class Pixels(Metric):
    name = "pixels"
    keys = ("pixel_w1", "dark_level")
    needs = frozenset()

    def __init__(self, evaluator):
        super().__init__(evaluator)
        self.reference_histogram = intensity_histogram(evaluator.reference_images)

    def __call__(self, generated) -> dict:
        return pixel_statistics(generated.images, self.reference_histogram)
