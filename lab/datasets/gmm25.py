"""gmm25: the 2-D grid of 25 Gaussians (means at {−4, −2, 0, 2, 4}², std 0.05) of the mode-collapse literature
(VEEGAN, PacGAN): which modes a chain keeps is plain to see. Equally weighted, or by data.class_shares (one relative
weight per mode, column by column from the left, each column bottom to top): a long tail of rare modes."""

import torch

from lab.datasets.base import PointDataSet
from lab.errors import require
from lab.toy_data import Distribution

GRID_SPACING, GRID_SIDE, MODE_STD = 2.0, 5, 0.05


class Gmm25(PointDataSet):
    name = "gmm25"

    @staticmethod
    def check(data_cfg) -> None:
        require(data_cfg.dim == 2, f"data.dim={data_cfg.dim} is not allowed for data=gmm25 (a 2-D grid); allowed: 2")
        shares = data_cfg.class_shares
        require(
            shares is None or (len(shares) == GRID_SIDE**2 and all(s > 0 for s in shares)),
            f"data.class_shares={shares} is not allowed for data=gmm25: give {GRID_SIDE**2} positive mode weights, or null",
        )

    def distribution(self, data_cfg) -> Distribution:
        axis = (torch.arange(GRID_SIDE, dtype=torch.float64) - (GRID_SIDE - 1) / 2) * GRID_SPACING
        modes = torch.cartesian_prod(axis, axis)
        shares = data_cfg.class_shares or [1.0] * len(modes)
        weights = torch.tensor(shares, dtype=torch.float64) / sum(shares)
        # The mixture's moments: the between-mode spread plus each mode's own variance.
        mean = weights @ modes
        cov = torch.cov(modes.T, correction=0, aweights=weights) + MODE_STD**2 * torch.eye(2, dtype=torch.float64)
        return Distribution(mean, cov, modes, MODE_STD, weights)
