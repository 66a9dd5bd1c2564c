"""The real data of a run: the training pool loops may draw from and the held-out reference they never see.

Its own module so that the image data sets (lab/data.py) and the toy data sets (lab/toy_data.py) both build it
without importing each other.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from lab.toy_data import Distribution


@dataclass
class RealData:
    """The real training pool (what loops may train on) and the held-out reference (what they never see)."""

    name: str
    train_images: torch.Tensor  # uint8 (N, C, H, W)
    train_labels: torch.Tensor  # int64 (N,)
    heldout_images: torch.Tensor
    heldout_labels: torch.Tensor
    num_classes: int
    # With data.class_shares: the pool before trimming. The feature classifier learns from it, so that it is
    # the same, unbiased extractor for every run on this data set (its cache key ignores class_shares).
    untrimmed: "RealData | None" = None
    # Toy data sets (lab/toy_data.py) hold float points (N, d) in the `images` fields and their true distribution.
    distribution: "Distribution | None" = None

    @property
    def class_distribution(self) -> torch.Tensor:
        """Share of each class in the training pool (what the samples' labels are drawn from)."""
        counts = torch.bincount(self.train_labels, minlength=self.num_classes).double()
        return counts / counts.sum()
