"""Fidelity, diversity and memorisation in a feature space: k-NN manifolds, KID, Vendi score, copies.

Precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020) come from one
distance matrix between the generated and the real features and the k-NN radii of each set.

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

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.image.kid import KernelInceptionDistance

from lab.seeding import derive_seed

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


class KID:
    """Unbiased KID (cubic polynomial kernel) against fixed reference features, by torchmetrics.

    Mean ± std over `subsets` random subsets of `subset_size` from each set; the subsets are drawn from
    a fixed seed, so the same features always give the same value. Both sets are first standardised by the
    reference's per-dimension mean and standard deviation: the kernel (xᵀy/d + 1)³ on raw features is ruled by
    the few directions of largest variance, which made the estimate's spread hundreds of times its mean.
    """

    def __init__(self, reference: torch.Tensor, subsets: int, subset_size: int):
        reference = reference.double()
        self.mean, self.scale = reference.mean(0), reference.std(0).clamp_min(1e-12)
        # The features are computed once by the Evaluator: torchmetrics' feature module is then the identity.
        with warnings.catch_warnings():  # "will save all extracted features": that is the point here
            warnings.simplefilter("ignore", UserWarning)
            self.metric = KernelInceptionDistance(feature=nn.Identity(), subsets=subsets, subset_size=subset_size, reset_real_features=False)
        self.metric.update(self._standardise(reference), real=True)

    def _standardise(self, features: torch.Tensor) -> torch.Tensor:
        return (features.double() - self.mean) / self.scale

    def __call__(self, features: torch.Tensor) -> dict:
        self.metric.reset()
        self.metric.update(self._standardise(features), real=False)
        with torch.random.fork_rng():
            torch.manual_seed(derive_seed(0, 0, "kid_subsets"))
            mean, std = self.metric.compute()
        return {"kid": float(mean), "kid_std": float(std)}


def vendi_score(features: torch.Tensor) -> float:
    """exp(entropy of the eigenvalues of K/N) with the cosine-similarity kernel K (Friedman & Dieng 2023).

    The effective number of distinct items: 1 for N copies of one vector, N for N orthogonal ones; with a
    linear kernel it cannot exceed the feature dimension d. K/N and XᵀX/N share their non-zero eigenvalues,
    so the smaller of the two matrices is decomposed.
    """
    x = F.normalize(features.double(), dim=1)
    n = len(x)
    gram = x.T @ x if x.shape[1] < n else x @ x.T
    eigenvalues = torch.linalg.eigvalsh(gram / n).clamp_min(0)
    p = eigenvalues[eigenvalues > 1e-12]
    return float(torch.exp(-(p * p.log()).sum()))


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
