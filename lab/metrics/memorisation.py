"""Memorisation against the generation's own training set.

Keys: copy_share, copy_share_heldout, train_distance_ratio, and for fresh draws of that training set's sources
(held-out real images for its real share, the previous generation's held-back samples for the rest)
copy_share_null, train_distance_ratio_null.
"""

import torch

from lab.metrics.base import Metric, Need
from lab.metrics.manifold import CHUNK, distances, knn_radius


def copy_share(queries: torch.Tensor, train: torch.Tensor) -> tuple[float, float]:
    """Authenticity test (Alaa et al. 2022): the share of queries that sit at least as close to their
    nearest training image as that image sits to its own nearest training neighbour, and the median
    distance of a query to its nearest training image.

    Run on held-out real images against the same training set, it gives what fresh, uncopied images of
    the data score; a generator that copies its training set scores above that line. Only the training
    images that are some query's nearest need their own neighbour's distance: ≤ 2 × N rows, not the
    whole training set (60,000 at MAD scale).
    """
    closest, index = [], []
    for chunk in queries.split(CHUNK):
        values, idx = distances(chunk, train).min(dim=1)
        closest.append(values)
        index.append(idx)
    closest, index = torch.cat(closest), torch.cat(index)
    needed, position = index.unique(return_inverse=True)
    radius = knn_radius(train[needed], 1, among=train)[position]
    return float((closest <= radius).double().mean()), float(closest.median())


class Memorisation(Metric):
    name = "memorisation"
    keys = ("copy_share", "copy_share_heldout", "train_distance_ratio", "copy_share_null", "train_distance_ratio_null")
    needs = frozenset({Need.features, Need.training_set})

    def __call__(self, generated) -> dict:
        evaluator = self.evaluator
        train = evaluator.features_of(generated.train_images)
        share, distance = copy_share(generated.features, train)
        heldout_share, heldout_distance = copy_share(evaluator.reference.features, train)
        out = {"copy_share": share, "copy_share_heldout": heldout_share, "train_distance_ratio": distance / heldout_distance}
        null = self._null_features(generated)
        if null is not None:
            null_share, null_distance = copy_share(null, train)
            out |= {"copy_share_null": null_share, "train_distance_ratio_null": distance / null_distance}
        return out

    def floor(self, generated) -> dict:
        """Held-out images against the whole real pool: they are the fresh images a perfect generator would draw (real
        training images would sit on themselves)."""
        share, _ = copy_share(self.evaluator.reference.features, self.evaluator.features_of(generated.train_images))
        return {"copy_share": share, "copy_share_heldout": share, "train_distance_ratio": 1.0, "copy_share_null": share, "train_distance_ratio_null": 1.0}

    def _null_features(self, generated) -> torch.Tensor | None:
        """Fresh images of the training set's sources, as many as the samples scored: held-out real images for its
        real share, the previous generation's held-back samples for the rest (None where those were not drawn)."""
        reference, null, n = self.evaluator.reference, generated.null, len(generated.images)
        if null is None:
            return None
        n_real = round(null.real_share * n)
        if n_real == n:
            return reference.features[:n]
        if null.heldback is None or len(null.heldback) < n - n_real:
            return None
        return torch.cat([reference.features[:n_real], self.evaluator.features_of(null.heldback[: n - n_real])])
