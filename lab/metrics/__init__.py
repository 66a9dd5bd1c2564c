"""Per-generation metrics against the held-out real set, with the same N for every generation.

Each metric is a file of this package (lab.metrics.base.Metric); metrics.run lists those a run computes, in order.
`Evaluator` (images) is built once per run: the classifier, the reference's features in the run's feature space
(the classifier's, or Inception's with metrics.features=inception), its density deciles where a metric needs them,
and the real floor; it is called once per generation. Every key a metric logs is in its module's docstring and its
`keys`; lab.metrics.points.PointEvaluator does the same for a toy's points.
"""

import importlib.util
import logging

import torch

from lab.data import RealData
from lab.errors import LabError, at_least, require
from lab.metrics.base import Evaluation, Generated, Metric, Need, On, needed, registry, select
from lab.metrics.classifier import load_or_train, predict
from lab.metrics.frechet import FrechetDistance, inception_fd, to_rgb
from lab.metrics.manifold import Manifold, compare
from lab.metrics.tails import DensityDeciles, KnnDensity
from lab.pictures import sample_grid
from lab.seeding import generator

__all__ = ["Evaluator", "Generated", "Metric", "check_metrics", "reference_pick", "registry"]

log = logging.getLogger(__name__)
# Real images that estimate the density around each reference image (metrics/tails.py): more sharpen the estimate,
# the cost per generation is N × this many distances.
DENSITY_SET_SIZE = 10_000
# Bumped whenever a metric's definition changes, and written into every run's reference.json: lab.report refuses to
# pool runs of different versions (their values and floors differ). 2: KID on features standardised by the reference.
METRICS_VERSION = 2


class Evaluator(Evaluation):
    def __init__(self, real: RealData, cfg, device, progress: bool = True):
        """`cfg`: the run's settings (metrics, data and cache_dir are read)."""
        settings, data_cfg = cfg.metrics, cfg.data
        self.settings, self.device = settings, device
        self.num_samples = int(settings.num_samples)
        self.num_classes = real.num_classes
        chosen = select(list(settings.run), On.images)
        self.classifier, self.classifier_info = load_or_train(real, data_cfg, settings.classifier, cfg.cache_dir, device, progress)
        pick = reference_pick(real, self.num_samples, int(data_cfg.split_seed))
        self.reference_images = real.heldout_images[pick]
        self.reference_labels = real.heldout_labels[pick]
        # What a faithful generator reproduces is the pool it learned from.
        self.real_distribution = real.class_distribution
        self.fd_name = f"fd_{settings.features}"
        self.inception = settings.features == "inception"
        # The feature module with the reference's statistics: the Fréchet distance's, and every feature-space metric's.
        self.frechet = inception_fd(self.reference_images, device) if self.inception else FrechetDistance(self.classifier, self.reference_images, device)
        self.k = int(settings.nearest_k)
        self.reference = Manifold.of(self.embed(self.reference_images), self.k)
        baseline_pick = self._baseline_pick(real)
        if needed(chosen, Need.density):
            self.density = KnnDensity(self.embed(density_set(real, baseline_pick, self.k)), self.k)
            self.deciles = DensityDeciles.of(self.density(self.reference.features))
        self.metrics = [metric(self) for metric in chosen]
        self.baseline = {} if baseline_pick is None else self._floor(real.train_images[baseline_pick], real.train_labels[baseline_pick], real.train_images)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images → float64 features of this run's feature space (the module FD uses)."""
        module, batch = self.frechet.metric.inception, 100 if self.inception else 1000
        with torch.no_grad():
            parts = [module(self.as_input(b).to(self.device)).double().cpu() for b in images.split(batch)]
        return torch.cat(parts)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """The feature classifier's class probabilities (N, K) of uint8 images (curate=verifier)."""
        return predict(self.classifier, images, self.device)

    def features_of(self, images: torch.Tensor) -> torch.Tensor:
        """Images in this run's feature space (curate=diversity spreads samples there)."""
        return self.embed(images)

    def compare(self, features: torch.Tensor):
        return compare(Manifold.of(features, self.k), self.reference)

    def picture(self, samples: torch.Tensor, labels: torch.Tensor, num_classes: int):
        """A grid of the samples, one row per class for a conditional model."""
        return sample_grid(samples, labels, num_classes)

    def headline(self, scalars: dict) -> str:
        """The log line of a generation: what metrics.run computed of the distance, precision, recall and classes."""
        shown = {
            self.fd_name: f"{self.fd_name}={{:.3f}}",
            "precision": "precision {:.3f}",
            "recall": "recall {:.3f}",
            "classes_present": "classes present {:.2f}",
            "unrecognised_share": "unrecognised {:.3f}",
        }
        return ", ".join(line.format(scalars[f"metrics/{key}"]) for key, line in shown.items() if f"metrics/{key}" in scalars)

    def as_input(self, images: torch.Tensor) -> torch.Tensor:
        """Inception takes 3 channels; the classifier takes the data's own."""
        return to_rgb(images) if self.inception else images

    def _baseline_pick(self, real: RealData) -> torch.Tensor | None:
        """The N real training images the floor is measured on (None: the pool holds fewer than N)."""
        if len(real.train_labels) < self.num_samples:
            return None
        return torch.randperm(len(real.train_labels), generator=generator(0, 0, "baseline"))[: self.num_samples]


def check_metrics(metrics) -> None:
    """Range checks of metrics.* for an image data set (the feature space, k-NN, KID, the classifier)."""
    require(
        metrics.features != "inception" or importlib.util.find_spec("torch_fidelity") is not None,
        "metrics.features=inception needs torch-fidelity (pip install torch-fidelity) and its Inception weights, "
        "which this machine lacks; allowed here: metrics.features=classifier",
    )
    feature_dim = 2048 if metrics.features == "inception" else metrics.classifier.feature_dim
    require(
        metrics.num_samples > feature_dim,
        f"metrics.num_samples={metrics.num_samples} is too small for the {feature_dim}-dimensional {metrics.features} "
        f"features: allowed > {feature_dim} (a Fréchet distance needs more samples than dimensions)",
    )
    require(
        isinstance(metrics.nearest_k, int) and 1 <= metrics.nearest_k < metrics.num_samples,
        f"metrics.nearest_k={metrics.nearest_k} is out of range: allowed 1 ≤ k < metrics.num_samples ({metrics.num_samples})",
    )
    at_least("metrics.kid.subsets", metrics.kid.subsets, 1)
    subset_size = metrics.kid.subset_size
    require(
        subset_size is None or (isinstance(subset_size, int) and 2 <= subset_size <= metrics.num_samples),
        f"metrics.kid.subset_size={subset_size} is out of range: allowed null (N/2, at most 1000) or 2 ≤ value ≤ metrics.num_samples ({metrics.num_samples})",
    )
    classifier = metrics.classifier
    for key in ("feature_dim", "epochs", "batch_size"):
        at_least(f"metrics.classifier.{key}", classifier[key], 1)
    require(classifier.lr > 0, f"metrics.classifier.lr={classifier.lr} is out of range: allowed > 0")
    require(0 < metrics.recognised_threshold <= 1, f"metrics.recognised_threshold={metrics.recognised_threshold} is out of range: allowed 0 < value ≤ 1")
    require(0 <= metrics.class_min_share <= 1, f"metrics.class_min_share={metrics.class_min_share} is out of range: allowed 0 ≤ value ≤ 1")


def reference_pick(real: RealData, n: int, split_seed: int) -> torch.Tensor:
    """Which n held-out images are the reference: a seeded subset, the same for every run on this data split.

    With data.class_shares the pool is long-tailed while the held-out set keeps the data set's shares; the
    reference then takes the pool's shares (largest remainders), so that a generator faithful to its pool
    scores its floor instead of being rewarded for flattening the imbalance."""
    order = torch.randperm(len(real.heldout_labels), generator=generator(split_seed, 0, "reference"))
    if real.untrimmed is None:
        return order[:n]
    wanted = real.class_distribution * n
    counts = wanted.floor().long()
    counts[(wanted - counts).argsort(descending=True)[: n - int(counts.sum())]] += 1
    labels = real.heldout_labels[order]
    pick = []
    for c, count in enumerate(counts.tolist()):
        members = order[labels == c]
        if len(members) < count:
            raise LabError(
                f"metrics.num_samples={n} needs {count} held-out images of class {c} to follow data.class_shares, "
                f"data.heldout_size={len(real.heldout_labels)} holds {len(members)}: raise data.heldout_size "
                f"or lower metrics.num_samples"
            )
        pick.append(members[:count])
    return torch.cat(pick).sort().values


def density_set(real: RealData, baseline_pick: torch.Tensor | None, k: int) -> torch.Tensor:
    """The real images that give the reference its density scores: the training pool less the floor's images
    (disjoint from the reference, which is held out, and from the floor's stand-in samples), at most
    DENSITY_SET_SIZE of them (seeded). A pool too small to spare k of them beside the floor's gives all it has."""
    rest = torch.ones(len(real.train_labels), dtype=torch.bool)
    if baseline_pick is not None and len(real.train_labels) - len(baseline_pick) >= k:
        rest[baseline_pick] = False
    index = rest.nonzero().flatten()
    index = index[torch.randperm(len(index), generator=generator(0, 0, "density_set"))[:DENSITY_SET_SIZE]]
    return real.train_images[index.sort().values]
