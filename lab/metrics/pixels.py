"""Pixel statistics: what the classifier's features do not single out.

A diffusion model does not reach the exact black of MNIST's background, and (as we read the README's
measurements) quantising its output to [0, 255] keeps only the bright side of that error; a
self-consuming loop then learns the brighter background and adds its own. The feature-space metrics
mix such a haze with everything else, so the intensity distribution itself is measured against the
held-out reference images."""

import torch

LEVELS = 256
# Pixels below a quarter of full scale: the background of digit data sets (and the dark parts of photos).
DARK = 64


def intensity_cdf(images: torch.Tensor) -> torch.Tensor:
    """Cumulative share of pixels at or below each of the 256 levels (all channels pooled), float64."""
    counts = torch.bincount(images.reshape(-1).to(torch.int64), minlength=LEVELS).double()
    return counts.cumsum(0) / counts.sum()


def pixel_statistics(images: torch.Tensor, reference_cdf: torch.Tensor) -> dict:
    """uint8 images against the reference's intensity CDF, both in levels of 255.

    pixel_w1: Wasserstein-1 distance between the two intensity distributions (exact on the integer grid:
        the area between the CDFs); images brightened by k levels without clipping score k.
    dark_level: mean level of the pixels below DARK (a background's brightness; NaN if there are none).
    """
    w1 = float((intensity_cdf(images)[:-1] - reference_cdf[:-1]).abs().sum())
    dark = images[images < DARK].double()
    return {"pixel_w1": w1, "dark_level": float(dark.mean()) if len(dark) else float("nan")}
