"""Fidelity and diversity in a feature space by k-NN manifolds: precision/recall (Kynkäänniemi et al. 2019) and
density/coverage (Naeem et al. 2020) come from one distance matrix between the generated and the real features and
the k-NN radii of each set.

Keys: precision, recall, density, knn_coverage (not class coverage), and per class c of the reference
classes/recall_<c>, classes/knn_coverage_<c> (recall and k-NN coverage among the held-out images of class c).

Tie rule: a point is inside a ball when its distance is **≤** the radius (as NVIDIA's reference code and
torch-fidelity ≥ 0.4 do; prdc uses `<`). A collapsed generator emits exact duplicates, whose k-NN radius
is 0: with `<` a set compared with itself would then score 0 instead of 1, and a real point that a
sample reproduces exactly would count as missed. With `≤` identical sets score 1 whatever they hold.
Distances are computed exactly (no matrix-product shortcut) in float64, so duplicates are at distance 0
and the rule sees real ties instead of rounding noise.

torch-fidelity's `prc_features_to_metric` computes the same precision and recall (tests hold the two
equal); the lab computes its own because density, coverage and per-class recall need the per-point
masks, which torch-fidelity does not return.
"""

from dataclasses import dataclass

import torch

from lab.metrics.base import Metric

EXACT = "donot_use_mm_for_euclid_dist"  # exact differences: duplicates are at distance 0, not ~1e-7
CHUNK = 2048  # rows per distance block: memory stays O(CHUNK × N) at any N


def distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a.double(), b.double(), compute_mode=EXACT)


def knn_radius(features: torch.Tensor, k: int, among: torch.Tensor | None = None) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in `among` (default: its own set), a set that
    holds the point itself, which is not counted."""
    among = features if among is None else among
    if len(among) <= k:
        raise ValueError(f"{len(among)} points cannot have a {k}-th nearest neighbour")
    # The (k+1)-th smallest distance of a row: the first is the point itself (0).
    return torch.cat([distances(c, among).kthvalue(k + 1, dim=1).values for c in features.split(CHUNK)])


@dataclass
class Manifold:
    """A set of feature vectors with the k-NN radius of each; the real reference one is built once per run."""

    features: torch.Tensor  # float64 (N, d)
    radii: torch.Tensor  # float64 (N,)
    k: int

    @classmethod
    def of(cls, features: torch.Tensor, k: int) -> "Manifold":
        features = features.double()
        return cls(features, knn_radius(features, k), k)


@dataclass
class ManifoldComparison:
    """Per-point results of comparing generated features with the real reference."""

    real_balls_holding: torch.Tensor  # (M,) how many real balls contain each generated point
    real_in_generated: torch.Tensor  # (N,) bool: the real point lies in some generated ball (recall)
    real_covered: torch.Tensor  # (N,) bool: the real point's own ball holds a generated point (coverage)
    k: int

    def scalars(self) -> dict:
        return {
            "precision": float((self.real_balls_holding > 0).double().mean()),
            "recall": float(self.real_in_generated.double().mean()),
            # Named apart from class coverage (classes present): these are Naeem et al.'s k-NN metrics.
            "density": float(self.real_balls_holding.double().mean() / self.k),
            "knn_coverage": float(self.real_covered.double().mean()),
        }

    def per_class(self, real_labels: torch.Tensor, num_classes: int) -> dict:
        """Recall and k-NN coverage among the real points of each class (NaN for a class the reference lacks).

        Recall counts a real point inside *some* generated ball, so a few outlying samples with wide balls
        inflate it; coverage asks whether the real point's own ball holds a sample (Naeem et al.)."""
        out = {}
        for c in range(num_classes):
            mask = real_labels == c
            for name, hits in (("recall", self.real_in_generated), ("knn_coverage", self.real_covered)):
                out[f"classes/{name}_{c}"] = float(hits[mask].double().mean()) if mask.any() else float("nan")
        return out


def compare(generated: Manifold, real: Manifold) -> ManifoldComparison:
    holding, inside = [], torch.zeros(len(real.features), dtype=torch.bool)
    nearest = torch.full((len(real.features),), float("inf"), dtype=torch.float64)
    for start in range(0, len(generated.features), CHUNK):
        block = distances(generated.features[start : start + CHUNK], real.features)  # (m, N)
        holding.append((block <= real.radii).sum(dim=1))
        nearest = torch.minimum(nearest, block.min(dim=0).values)
        radii = generated.radii[start : start + CHUNK, None]
        inside |= (block <= radii).any(dim=0)
    return ManifoldComparison(torch.cat(holding), inside, nearest <= real.radii, real.k)


class PrecisionRecall(Metric):
    name = "manifold"
    keys = ("precision", "recall", "density", "knn_coverage", "classes/recall_*", "classes/knn_coverage_*")

    def __call__(self, generated) -> dict:
        evaluator = self.evaluator
        return generated.comparison.scalars() | generated.comparison.per_class(evaluator.reference_labels, evaluator.num_classes)
