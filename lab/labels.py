"""Where a conditional generation's sample labels come from (sampler.labels): the label side of self-consumption.

    training_set   the shares of the labels the generation trained on. In a self-consuming chain this is a
                   Wright–Fisher chain over classes: shares drift, and a class with few copies can die out
                   (under pure resampling, a class with c copies is lost by generation t with probability
                   ≈ q_t^c, q_t = exp(q_{t−1} − 1), q_0 = 0).
    real_pool      the real training pool's shares in every generation: class shares cannot drift (the label
                   side of collapse is switched off; real information enters every generation).
    uniform        equal shares: the "generate more of what is rare" remedy against bias amplification.

An unconditional model has no labels to choose: its class shares drift through what it learned.
"""

import torch
from scipy import stats

from lab.named import Named


class LabelSource(Named):
    """sampler.labels: the three sources above."""

    training_set = "training_set"
    real_pool = "real_pool"
    uniform = "uniform"


def label_distribution(source: str, training_labels: torch.Tensor, pool_distribution: torch.Tensor) -> torch.Tensor:
    """The class shares a generation's sample labels are drawn from (float64, sums to 1)."""
    num_classes = len(pool_distribution)
    if source == "training_set":
        counts = torch.bincount(training_labels[training_labels >= 0], minlength=num_classes).double()
        return counts / counts.sum()
    if source == "real_pool":
        return pool_distribution.double()
    if source == "uniform":
        return torch.full((num_classes,), 1.0 / num_classes, dtype=torch.float64)
    raise ValueError(f"sampler.labels={source} is not allowed; allowed: {', '.join(LabelSource.values())}")


def draw_labels(distribution: torch.Tensor, n: int, rng: torch.Generator) -> torch.Tensor:
    """n labels drawn i.i.d. from `distribution` (a multinomial draw of the class counts)."""
    return torch.multinomial(distribution.float(), n, replacement=True, generator=rng)


def wright_fisher_extinction(copies: int, n: int, generations: int) -> list[float]:
    """Exact P(a class has no copy left in the training set of generation t), t = 1…generations, under pure
    resampling: each generation's n labels are drawn from the previous training set's shares (the count becomes
    Binomial(n, count/n)); a lost class stays lost. For large n it approaches the Galton–Watson form q_t^copies."""
    counts = torch.arange(n + 1, dtype=torch.float64)
    step = torch.from_numpy(stats.binom.pmf(counts[None, :].numpy(), n, (counts[:, None] / n).numpy()))
    state = torch.zeros(n + 1, dtype=torch.float64)
    state[copies] = 1.0
    out = []
    for _ in range(generations):
        state = state @ step
        out.append(float(state[0]))
    return out
