"""What every metric is, and what the chain asks of a run's metrics.

A metric is one file of lab/metrics/ holding a `Metric` subclass: its name (listed in metrics.run), the keys it
logs, the data it applies to, what it needs, and its real floor. An `Evaluation` (lab.metrics.Evaluator for images,
lab.metrics.points.PointEvaluator for a toy's points) holds what metrics share — the reference, the feature space,
the density deciles, the classifier — builds the metrics of metrics.run that apply to its data, and scores a
generation by running them in that order; lab.experiment never asks which of the two it holds.
"""

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache, cached_property
from typing import ClassVar

import numpy as np
import torch

from lab import faults
from lab.errors import LabError
from lab.loops.base import Null
from lab.named import Named
from lab.registry import Option, options


class On(Named):
    """What a metric scores: an image data set's images, or a toy data set's points."""

    images = "images"
    points = "points"


class Need(Named):
    """What a metric uses beyond the samples; the evaluator prepares it only where a metric of the run needs it."""

    features = "features"  # the samples in the run's feature space: generated.features, evaluator.reference
    classifier = "classifier"  # the feature classifier's class probabilities: generated.probs (images only)
    training_set = "training_set"  # the generation's training images: generated.train_images (skipped without)
    density = "density"  # density scores and the reference's density deciles: evaluator.density, evaluator.deciles


class Metric(Option):
    """One metric, computed on every generation and on the real floor. Example (lab/metrics/mean_brightness.py):

        from lab.metrics.base import Metric

        class MeanBrightness(Metric):
            name = "mean_brightness"
            keys = ("mean_brightness",)

            def __call__(self, generated) -> dict[str, float]:
                return {"mean_brightness": float(generated.images.float().mean() / 255)}

    and `metrics.run=[...,mean_brightness]` runs it. `keys` declares every key it logs; one ending in `*` is a
    family (`classes/recall_*`). Two metrics of one run may not declare the same key. A key with a slash is logged
    as it is, the others as metrics/<key>. `self.evaluator` is the run's evaluator, built before its metrics: the
    reference (`evaluator.reference`, a lab.metrics.manifold.Manifold of its features), `evaluator.k`, the
    settings (`evaluator.settings`, metrics.*) and what `needs` names.
    """

    group = "metric"
    name: ClassVar[str]
    keys: ClassVar[tuple[str, ...]]
    on: ClassVar[frozenset[On]] = frozenset({On.images})
    needs: ClassVar[frozenset[Need]] = frozenset({Need.features})

    def __init__(self, evaluator: "Evaluation"):
        self.evaluator = evaluator

    def __call__(self, generated: "Generated") -> dict:
        raise NotImplementedError

    def floor(self, generated: "Generated") -> dict:
        """Its value where a perfect generator stands: by default the metric of N real training items (`generated`,
        whose `train_images` is the whole real pool)."""
        return self(generated)


@dataclass
class Generated:
    """The N items of one generation that every metric sees, and what is computed of them once for all metrics."""

    images: torch.Tensor  # the first N samples (images, or a toy's points)
    labels: torch.Tensor | None  # the labels they were generated for; None or -1: unconditional
    all_images: torch.Tensor  # every sample drawn (≥ N): class shares count them all
    all_labels: torch.Tensor | None
    train_images: torch.Tensor | None  # what this generation trained on (memorisation), if known
    null: Null | None  # fresh draws of that training set's sources (memorisation's null), if known
    evaluator: "Evaluation"

    @cached_property
    def features(self) -> torch.Tensor:
        return self.evaluator.features_of(self.images)

    @cached_property
    def probs(self) -> torch.Tensor:
        return self.evaluator.probabilities(self.images)

    @cached_property
    def all_probs(self) -> torch.Tensor:
        return self.probs if len(self.all_images) == len(self.images) else self.evaluator.probabilities(self.all_images)

    @cached_property
    def comparison(self):
        """The samples' k-NN manifold against the reference's (lab.metrics.manifold.ManifoldComparison)."""
        return self.evaluator.compare(self.features)


class Evaluation(ABC):
    num_samples: int  # N: every generation is scored on its first N samples, against N held-out real items
    baseline: dict  # every metric of N real training items against the same reference: the real floor
    classifier_info: dict | None  # the feature classifier (cache path, held-out accuracy); None where there is none
    fd_name: str  # the headline distance's key: fd_classifier, fd_inception, w2
    metrics: list[Metric]  # those of metrics.run that apply to this data, in its order

    def __call__(self, samples: torch.Tensor, labels: torch.Tensor | None = None, train: torch.Tensor | None = None, null: Null | None = None) -> dict:
        """Every metric of one generation's samples (the first N scored; class shares over all of them)."""
        if len(samples) < self.num_samples:
            raise ValueError(f"{len(samples)} samples given, the metrics need {self.num_samples}")
        n = self.num_samples
        return self._score(Generated(samples[:n], None if labels is None else labels[:n], samples, labels, train, null, self))

    def of_fit(self, parameters: dict) -> dict:
        """Metrics of a fitted model's own parameters (a toy's μ and Σ: the closed forms); none by default."""
        return {}

    def probabilities(self, samples: torch.Tensor) -> torch.Tensor:
        raise LabError("this data set has no classifier: a metric that needs one applies to images only")

    @abstractmethod
    def features_of(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples in the space the metrics compare them in (curate=diversity spreads samples there)."""

    @abstractmethod
    def compare(self, features: torch.Tensor):
        """Features' k-NN manifold against the reference's (lab.metrics.manifold.ManifoldComparison)."""

    @abstractmethod
    def headline(self, scalars: dict) -> str:
        """The log line of a generation."""

    @abstractmethod
    def picture(self, samples: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
        """uint8 HWC picture of a generation's samples: metrics.jsonl's grid and W&B's `samples`."""

    def _floor(self, samples: torch.Tensor, labels: torch.Tensor | None, pool: torch.Tensor) -> dict:
        """Every metric's floor, from N real training items and the whole real pool."""
        return self._score(Generated(samples, labels, samples, labels, pool, None, self), floor=True)

    def _score(self, generated: Generated, floor: bool = False) -> dict:
        out = {}
        for i, metric in enumerate(self.metrics):
            if Need.training_set in metric.needs and generated.train_images is None:
                continue
            values = metric.floor(generated) if floor else metric(generated)
            undeclared = [key for key in values if not declares(metric, key)]
            if undeclared:
                raise LabError(
                    f"metric {metric.name} logged {undeclared[0]!r}, which its keys {metric.keys} do not declare: add it to {type(metric).__name__}.keys"
                )
            out.update(values)
            if i == 0:
                faults.point("metrics")
        return out


def needed(metrics, need: Need) -> bool:
    """Whether any of `metrics` (classes or instances) needs `need`: the evaluator prepares it only then."""
    return any(need in metric.needs for metric in metrics)


def declares(metric: type[Metric] | Metric, key: str) -> bool:
    return any(key == k or (k.endswith("*") and key.startswith(k[:-1])) for k in metric.keys)


def overlap(a: str, b: str) -> bool:
    """Whether two declared keys (a `*` at the end: a family) can name the same key."""
    if a.endswith("*") or b.endswith("*"):
        pa, pb = a.rstrip("*"), b.rstrip("*")
        return (a.endswith("*") and b.startswith(pa)) or (b.endswith("*") and a.startswith(pb))
    return a == b


@cache
def registry() -> dict[str, type[Metric]]:
    """Every metric by name: each Metric subclass of a module of lab/metrics/ that names itself."""
    package = importlib.import_module("lab.metrics")
    return options(package.__name__, package.__path__, Metric)


def select(names, on: On) -> list[type[Metric]]:
    """The metrics of `names` (metrics.run) that apply to `on`, in that order; one line for an unknown name or two
    metrics that would log the same key."""
    registry_ = registry()
    unknown = [name for name in names if name not in registry_]
    if unknown:
        raise LabError(f"metrics.run names {unknown[0]!r}, which no metric is called: allowed {', '.join(sorted(registry_))}")
    twice = sorted({name for name in names if list(names).count(name) > 1})
    if twice:
        raise LabError(f"metrics.run names {twice[0]} twice: name each metric once")
    chosen = [registry_[name] for name in names if on in registry_[name].on]
    for i, first in enumerate(chosen):
        for second in chosen[i + 1 :]:
            clash = next(((a, b) for a in first.keys for b in second.keys if overlap(a, b)), None)
            if clash:
                raise LabError(
                    f"metrics {first.name} and {second.name} both log {clash[0] if clash[0] == clash[1] else f'{clash[0]} / {clash[1]}'}: "
                    f"take one of them out of metrics.run or rename its key"
                )
    return chosen


def check_run(settings, on: On, claims=()) -> None:
    """metrics.run names known metrics that log no key twice, and every claim's metric is among those it runs."""
    chosen = select(list(settings.run), on)
    for i, claim in enumerate(claims):
        for name in (claim.metric, claim.versus_metric):
            key = str(name).removeprefix("metrics/") if name is not None else None
            owners = [metric for metric in registry().values() if key is not None and declares(metric, key)]
            if owners and not any(metric in chosen for metric in owners):
                where = "leaves it out" if on in owners[0].on else f"cannot give it: {owners[0].name} does not apply to {on}"
                raise LabError(f"claims[{i}] ({claim.name}) tests {key}, which metric {owners[0].name} logs, and metrics.run {where}")
