"""Per-generation metrics against the held-out real set, with the same N for every generation.

`Evaluator` is built once per run (classifier, reference features and statistics) and called once per
generation. Each metric is a callable `Generated -> dict` in `Evaluator.metrics` (a new one is a Metric subclass
in a module of lab/metrics/plugins/, found there), reusing
`Generated.features` (the run's feature space: the classifier's, or Inception's with
metrics.features=inception) and `Generated.probs` (the classifier's class probabilities).

Keys (metrics.jsonl, W&B `metrics/…` and `classes/…`):
    fd_<features>               Fréchet distance to the reference
    precision, recall           Kynkäänniemi et al., k-NN balls (metrics.nearest_k)
    density, knn_coverage       Naeem et al. (knn_coverage is not class coverage)
    kid, kid_std                unbiased KID, mean and std over seeded subsets
    vendi                       Vendi score of the generated set alone (effective number of distinct items)
    pixel_w1, dark_level        intensity distribution against the reference's; background brightness (pixels.py)
    label_agreement             conditional models: share classified as the label they were generated for
    copy_share, copy_share_heldout, train_distance_ratio
                                memorisation against the generation's own training set (see manifold.py)
    copy_share_null, train_distance_ratio_null
                                the same for fresh draws of that training set's sources (held-out real images for
                                its real share, the previous generation's held-back samples for the rest)
    classes_present, class_entropy, class_js_divergence, unrecognised_share, class_histogram, label_agreement
                                over every sample drawn (loop.num_samples), not only the N above
    classes/label_agreement_<c> of the samples generated for class c, the share the classifier reads as c
    knn_coverage_tail, knn_coverage_core, landing_tail, landing_off_support
                                coverage by density (tails.py): the sparsest decile of the reference against
                                its denser half, and where samples land
    tails/coverage_decile_<j>, tails/landing_decile_<j>
                                the same per density decile j (0 = the sparsest)
    feature_variance_ratio      tr(covariance) of the samples' features ÷ that of the reference's: spread lost
    classes/share_ratio_<c>     share of class c among recognised samples ÷ its share in the real pool
    classes/recall_<c>, classes/knn_coverage_<c>
                                recall and k-NN coverage among the held-out images of class c
"""

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import torch

from lab import faults
from lab.data import RealData
from lab.errors import LabError, at_least, require
from lab.loops import Null
from lab.metrics.base import Evaluation
from lab.metrics.classifier import Classifier, load_or_train, predict
from lab.metrics.coverage import class_coverage
from lab.metrics.frechet import FrechetDistance, inception_fd, to_rgb
from lab.metrics.manifold import KID, Manifold, compare, copy_share, vendi_score
from lab.metrics.pixels import intensity_histogram, pixel_statistics
from lab.metrics.plugins import PLUGINS
from lab.metrics.tails import DensityDeciles, KnnDensity, tail_metrics
from lab.pictures import sample_grid
from lab.seeding import generator

log = logging.getLogger(__name__)
# Real images that estimate the density around each reference image (metrics/tails.py): more sharpen the estimate,
# the cost per generation is N × this many distances.
DENSITY_SET_SIZE = 10_000
# Bumped whenever a metric's definition changes, and written into every run's reference.json: lab.report refuses to
# pool runs of different versions (their values and floors differ). 2: KID on features standardised by the reference.
METRICS_VERSION = 2


@dataclass
class Generated:
    """The N images of one generation that every metric sees, with what the classifier says of them."""

    images: torch.Tensor
    labels: torch.Tensor | None  # the labels they were generated for; None or -1: unconditional
    all_images: torch.Tensor  # every sample drawn (≥ N): class shares count them all
    all_labels: torch.Tensor | None
    train_images: torch.Tensor | None  # what this generation trained on (memorisation), if known
    null: Null | None  # fresh draws of that training set's sources (memorisation's null), if known
    classifier: Classifier
    embed: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device

    @cached_property
    def probs(self) -> torch.Tensor:
        return predict(self.classifier, self.images, self.device)

    @cached_property
    def all_probs(self) -> torch.Tensor:
        return self.probs if len(self.all_images) == len(self.images) else predict(self.classifier, self.all_images, self.device)

    @cached_property
    def features(self) -> torch.Tensor:
        return self.embed(self.images)


class Evaluator(Evaluation):
    def __init__(self, real: RealData, cfg, device, progress: bool = True):
        """`cfg`: the run's settings (metrics, data and cache_dir are read)."""
        metrics_cfg, data_cfg, cache_dir = cfg.metrics, cfg.data, cfg.cache_dir
        self.device = device
        self.num_samples = int(metrics_cfg.num_samples)
        self.num_classes = real.num_classes
        self.classifier, self.classifier_info = load_or_train(real, data_cfg, metrics_cfg.classifier, cache_dir, device, progress)
        pick = reference_pick(real, self.num_samples, int(data_cfg.split_seed))
        reference = real.heldout_images[pick]
        self.reference_labels = real.heldout_labels[pick]
        # What a faithful generator reproduces is the pool it learned from.
        self.real_distribution = real.class_distribution
        self.fd_name = f"fd_{metrics_cfg.features}"
        self.inception = metrics_cfg.features == "inception"
        if self.inception:
            self.frechet = inception_fd(reference, device)
        else:
            self.frechet = FrechetDistance(self.classifier, reference, device)
        self.threshold = float(metrics_cfg.recognised_threshold)
        self.class_min_share = float(metrics_cfg.class_min_share)
        self.k = int(metrics_cfg.nearest_k)
        reference_features = self.embed(reference)
        self.reference = Manifold.of(reference_features, self.k)
        self.reference_trace = float(torch.trace(torch.cov(reference_features.T)))
        baseline_pick = self._baseline_pick(real)
        self.density = KnnDensity(self.embed(density_set(real, baseline_pick, self.k)), self.k)
        self.deciles = DensityDeciles.of(self.density(reference_features))
        # null: N/2, at most 1,000 (the usual size; subsets of N would all be the same set).
        subset_size = metrics_cfg.kid.subset_size or min(1000, self.num_samples // 2)
        self.kid = KID(reference_features, int(metrics_cfg.kid.subsets), int(subset_size))
        self.reference_histogram = intensity_histogram(reference)
        self.metrics = [self._frechet, self._manifold, self._kid, self._vendi, self._pixels, self._classes, self._memorisation]
        self.metrics += [plugin(self) for _, plugin in sorted(PLUGINS.items())]  # metrics added as one file each
        self.baseline = self._real_baseline(real)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images → float64 features of this run's feature space (the module FD uses)."""
        module, batch = self.frechet.metric.inception, 100 if self.inception else 1000
        with torch.no_grad():
            parts = [module(self._as_input(b).to(self.device)).double().cpu() for b in images.split(batch)]
        return torch.cat(parts)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None, train_images: torch.Tensor | None = None, null: Null | None = None) -> dict:
        if len(images) < self.num_samples:
            raise ValueError(f"{len(images)} images given, the metrics need {self.num_samples}")
        n = self.num_samples
        generated = Generated(images[:n], None if labels is None else labels[:n], images, labels, train_images, null, self.classifier, self.embed, self.device)
        out = {}
        for i, metric in enumerate(self.metrics):
            out.update(metric(generated))
            if i == 0:
                faults.point("metrics")
        return out

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """The feature classifier's class probabilities (N, K) of uint8 images (curate=verifier)."""
        return predict(self.classifier, images, self.device)

    def features_of(self, images: torch.Tensor) -> torch.Tensor:
        """Images in this run's feature space (curate=diversity spreads samples there)."""
        return self.embed(images)

    def picture(self, samples: torch.Tensor, labels: torch.Tensor, num_classes: int):
        """A grid of the samples, one row per class for a conditional model."""
        return sample_grid(samples, labels, num_classes)

    def headline(self, scalars: dict) -> str:
        """The log line of a generation."""
        return (
            f"{self.fd_name}={scalars[f'metrics/{self.fd_name}']:.3f}, precision {scalars['metrics/precision']:.3f}, "
            f"recall {scalars['metrics/recall']:.3f}, classes present {scalars['metrics/classes_present']:.2f}, "
            f"unrecognised {scalars['metrics/unrecognised_share']:.3f}"
        )

    def _as_input(self, images: torch.Tensor) -> torch.Tensor:
        """Inception takes 3 channels; the classifier takes the data's own."""
        return to_rgb(images) if self.inception else images

    def _frechet(self, generated: Generated) -> dict:
        return {self.fd_name: self.frechet(self._as_input(generated.images))}

    def _manifold(self, generated: Generated) -> dict:
        comparison = compare(Manifold.of(generated.features, self.k), self.reference)
        spread = float(torch.trace(torch.cov(generated.features.T))) / self.reference_trace
        return (
            comparison.scalars()
            | comparison.per_class(self.reference_labels, self.num_classes)
            | tail_metrics(self.deciles, comparison.real_covered, self.density(generated.features))
            | {"feature_variance_ratio": spread}
        )

    def _kid(self, generated: Generated) -> dict:
        return self.kid(generated.features)

    def _vendi(self, generated: Generated) -> dict:
        return {"vendi": vendi_score(generated.features)}

    def _pixels(self, generated: Generated) -> dict:
        return pixel_statistics(generated.images, self.reference_histogram)

    def _classes(self, generated: Generated) -> dict:
        out = class_coverage(generated.all_probs, self.real_distribution, self.threshold, self.class_min_share)
        histogram = torch.tensor(out["class_histogram"], dtype=torch.float64)
        shares = histogram / histogram.sum().clamp_min(1)
        out |= {f"classes/share_ratio_{c}": float(s / r) for c, (s, r) in enumerate(zip(shares, self.real_distribution))}
        labels = generated.all_labels
        if labels is not None and (labels >= 0).all():
            agree = generated.all_probs.argmax(1) == labels
            out["label_agreement"] = float(agree.double().mean())
            # Per class: does the model still render class c when asked for it? (A rare class can keep its labels
            # while its samples turn into other digits.) The floor is the classifier's accuracy on real images of c.
            out |= {f"classes/label_agreement_{c}": float(agree[labels == c].double().mean()) for c in labels.unique().tolist()}
        return out

    def _memorisation(self, generated: Generated) -> dict:
        if generated.train_images is None:
            return {}
        train = self.embed(generated.train_images)
        share, distance = copy_share(generated.features, train)
        heldout_share, heldout_distance = copy_share(self.reference.features, train)
        out = {"copy_share": share, "copy_share_heldout": heldout_share, "train_distance_ratio": distance / heldout_distance}
        null = self._null_features(generated)
        if null is not None:
            null_share, null_distance = copy_share(null, train)
            out |= {"copy_share_null": null_share, "train_distance_ratio_null": distance / null_distance}
        return out

    def _null_features(self, generated: Generated) -> torch.Tensor | None:
        """Fresh images of the training set's sources, as many as the samples scored: held-out real images for its
        real share, the previous generation's held-back samples for the rest (None where those were not drawn)."""
        null, n = generated.null, len(generated.images)
        if null is None:
            return None
        n_real = round(null.real_share * n)
        if n_real == n:
            return self.reference.features[:n]
        if null.heldback is None or len(null.heldback) < n - n_real:
            return None
        return torch.cat([self.reference.features[:n_real], self.embed(null.heldback[: n - n_real])])

    def _real_baseline(self, real: RealData) -> dict:
        """Every metric of N real training images: the floor a perfect generator would reach at this N.

        The memorisation floor is that of held-out images against the whole real pool (they are the fresh
        images a perfect generator would draw); real training images would sit on themselves.
        """
        pick = self._baseline_pick(real)
        if pick is None:
            return {}
        out = self(real.train_images[pick], real.train_labels[pick])
        share, _ = copy_share(self.reference.features, self.embed(real.train_images))
        return out | {"copy_share": share, "copy_share_heldout": share, "train_distance_ratio": 1.0, "copy_share_null": share, "train_distance_ratio_null": 1.0}

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
