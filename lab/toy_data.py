"""Toy data sets with a known true distribution: points (N, d) instead of images (the data sets themselves:
lab/datasets/gaussian.py, gmm25.py).

The pool and the held-out set are seeded draws from the true distribution (data.split_seed); labels are
the mode a point was drawn from (0 for the Gaussian). The true distribution travels with the data, so
the toy metrics can measure distances to it exactly.
"""

from dataclasses import dataclass

import torch

from lab.real_data import RealData
from lab.seeding import generator


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


def draw_toy_data(data_cfg, truth: Distribution) -> RealData:
    """The pool and the held-out set: seeded draws (data.split_seed) from the data set's true distribution."""
    pool, pool_labels = truth.sample(int(data_cfg.pool_size), generator(int(data_cfg.split_seed), 0, "toy_pool"))
    heldout, heldout_labels = truth.sample(int(data_cfg.heldout_size), generator(int(data_cfg.split_seed), 0, "toy_heldout"))
    num_classes = 1 if truth.modes is None else len(truth.modes)
    return RealData(data_cfg.name, pool, pool_labels, heldout, heldout_labels, num_classes, distribution=truth)
