"""The real data of a run: the training pool loops may draw from and the held-out reference they never see.

Its own module so that the image data sets (lab/data.py) and the toy data sets (lab/toy_data.py) both build it
without importing each other; a toy's true distribution lives here with it.
"""

from dataclasses import dataclass

import torch


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
    distribution: Distribution | None = None

    @property
    def class_distribution(self) -> torch.Tensor:
        """Share of each class in the training pool (what the samples' labels are drawn from)."""
        counts = torch.bincount(self.train_labels, minlength=self.num_classes).double()
        return counts / counts.sum()
