"""gaussian: points from N(0, I) in data.dim dimensions, the toy data set of the closed-form collapse results of
Shumailov et al., Alemohammad et al. (MAD) and Kazdan et al. (model=gaussian)."""

import torch

from lab.datasets.base import PointDataSet
from lab.toy_data import Distribution


class Gaussian(PointDataSet):
    name = "gaussian"

    def distribution(self, data_cfg) -> Distribution:
        dim = int(data_cfg.dim)
        return Distribution(torch.zeros(dim, dtype=torch.float64), torch.eye(dim, dtype=torch.float64))
