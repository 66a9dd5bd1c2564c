"""Toy data sets with a known true distribution: points (N, d) instead of images (the data sets themselves:
lab/datasets/gaussian.py, gmm25.py).

The pool and the held-out set are seeded draws from the true distribution (data.split_seed); labels are
the mode a point was drawn from (0 for the Gaussian). The true distribution travels with the data, so
the toy metrics can measure distances to it exactly.
"""

from lab.real_data import Distribution, RealData
from lab.seeding import generator


def draw_toy_data(data_cfg, truth: Distribution) -> RealData:
    """The pool and the held-out set: seeded draws (data.split_seed) from the data set's true distribution."""
    pool, pool_labels = truth.sample(int(data_cfg.pool_size), generator(int(data_cfg.split_seed), 0, "toy_pool"))
    heldout, heldout_labels = truth.sample(int(data_cfg.heldout_size), generator(int(data_cfg.split_seed), 0, "toy_heldout"))
    num_classes = 1 if truth.modes is None else len(truth.modes)
    return RealData(data_cfg.name, pool, pool_labels, heldout, heldout_labels, num_classes, distribution=truth)
