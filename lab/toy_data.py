"""Toy data sets with a known true distribution: points (N, d) instead of images.

    data=gaussian   N(0, I) in data.dim dimensions: the closed-form results of Shumailov et al.,
                    Alemohammad et al. (MAD) and Kazdan et al. are stated for it
    data=gmm25      the 2-D grid of 25 Gaussians (means at {−4, −2, 0, 2, 4}², std 0.05) of the mode-
                    collapse literature (VEEGAN, PacGAN): which modes a chain keeps is plain to see; equally
                    weighted, or by data.class_shares (one relative weight per mode, column by column from
                    the left, each column bottom to top): a long tail of rare modes for pool and held-out set

The pool and the held-out set are seeded draws from the true distribution (data.split_seed); labels are
the mode a point was drawn from (0 for the Gaussian). The true distribution travels with the data, so
the toy metrics can measure distances to it exactly.
"""

from dataclasses import dataclass

import torch

from lab.real_data import RealData
from lab.seeding import generator

TOY_DATASETS = ("gaussian", "gmm25")
GRID_SPACING, GRID_SIDE, MODE_STD = 2.0, 5, 0.05


@dataclass
class Distribution:
    mean: torch.Tensor  # float64 (d,)
    cov: torch.Tensor  # float64 (d, d)
    modes: torch.Tensor | None = None  # float64 (K, d): a mixture's component means
    mode_std: float | None = None  # each component's isotropic std
    weights: torch.Tensor | None = None  # float64 (K,): the components' weights, summing to 1

    def log_density(self, points: torch.Tensor) -> torch.Tensor:
        """The true log-density of each point (N, d): what ranks the toys' reference points from tails to core."""
        x = points.double()
        if self.modes is None:
            return torch.distributions.MultivariateNormal(self.mean, self.cov).log_prob(x)
        components = torch.distributions.Normal(self.modes, self.mode_std)  # (K, d), isotropic
        per_mode = components.log_prob(x[:, None, :]).sum(-1)  # (N, K)
        return torch.logsumexp(per_mode + self.weights.log(), dim=1)

    def sample(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if self.modes is None:
            noise = torch.randn((n, len(self.mean)), generator=rng, dtype=torch.float64)
            return (self.mean + noise @ torch.linalg.cholesky(self.cov).T).float(), torch.zeros(n, dtype=torch.long)
        if bool((self.weights == self.weights[0]).all()):  # equal weights: the draw seeded runs have always made
            labels = torch.randint(len(self.modes), (n,), generator=rng)
        else:
            labels = torch.multinomial(self.weights, n, replacement=True, generator=rng)
        noise = torch.randn((n, self.modes.shape[1]), generator=rng, dtype=torch.float64)
        return (self.modes[labels] + self.mode_std * noise).float(), labels


def distribution_of(data_cfg) -> Distribution:
    if data_cfg.name == "gaussian":
        dim = int(data_cfg.dim)
        return Distribution(torch.zeros(dim, dtype=torch.float64), torch.eye(dim, dtype=torch.float64))
    axis = (torch.arange(GRID_SIDE, dtype=torch.float64) - (GRID_SIDE - 1) / 2) * GRID_SPACING
    modes = torch.cartesian_prod(axis, axis)
    shares = data_cfg.class_shares or [1.0] * len(modes)
    weights = torch.tensor(shares, dtype=torch.float64) / sum(shares)
    # The mixture's moments: the between-mode spread plus each mode's own variance.
    mean = weights @ modes
    cov = torch.cov(modes.T, correction=0, aweights=weights) + MODE_STD**2 * torch.eye(2, dtype=torch.float64)
    return Distribution(mean, cov, modes, MODE_STD, weights)


def load_toy_data(data_cfg):
    truth = distribution_of(data_cfg)
    pool, pool_labels = truth.sample(int(data_cfg.pool_size), generator(int(data_cfg.split_seed), 0, "toy_pool"))
    heldout, heldout_labels = truth.sample(int(data_cfg.heldout_size), generator(int(data_cfg.split_seed), 0, "toy_heldout"))
    num_classes = 1 if truth.modes is None else len(truth.modes)
    return RealData(data_cfg.name, pool, pool_labels, heldout, heldout_labels, num_classes, distribution=truth)
