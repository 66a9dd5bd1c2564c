"""Per-generation metrics against the held-out real set, with the same N for every generation.

`Evaluator` is built once per run (classifier, reference statistics) and called once per generation.
Each metric is a callable `Generated -> dict`; precision/recall, density/coverage or KID slot in as one
more entry of `Evaluator.metrics`, reusing `Generated.features` and `Evaluator.reference_features`.
"""

import logging
from dataclasses import dataclass
from functools import cached_property

import torch

from lab.data import RealData
from lab.metrics.classifier import Classifier, load_or_train, predict
from lab.metrics.coverage import class_coverage
from lab.metrics.frechet import FrechetDistance, inception_fd, to_rgb
from lab.seeding import generator

log = logging.getLogger(__name__)
FEATURES = ("classifier", "inception")


@dataclass
class Generated:
    """The N images of one generation that every metric sees, with what the classifier says of them."""

    images: torch.Tensor
    classifier: Classifier
    device: torch.device

    @cached_property
    def probs(self) -> torch.Tensor:
        return predict(self.classifier, self.images, self.device)

    @cached_property
    def features(self) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([self.classifier.features(b.to(self.device)).cpu() for b in self.images.split(1000)])


class Evaluator:
    def __init__(self, real: RealData, metrics_cfg, data_cfg, cache_dir, device, progress: bool = True):
        self.device = device
        self.num_samples = int(metrics_cfg.num_samples)
        self.classifier, self.classifier_info = load_or_train(
            real, data_cfg, metrics_cfg.classifier, cache_dir, device, progress
        )
        # A seeded subset of the held-out set, the same for every run on this data split.
        pick = torch.randperm(len(real.heldout_labels), generator=generator(int(data_cfg.split_seed), 0, "reference"))
        pick = pick[: self.num_samples]
        reference = real.heldout_images[pick]
        self.real_distribution = torch.bincount(real.heldout_labels[pick], minlength=real.num_classes).double()
        self.real_distribution /= self.real_distribution.sum()
        self.fd_name = f"fd_{metrics_cfg.features}"
        if metrics_cfg.features == "inception":
            self.frechet = inception_fd(reference, device)
        else:
            self.frechet = FrechetDistance(self.classifier, reference, device)
        self.threshold = float(metrics_cfg.recognised_threshold)
        self.metrics = [self._frechet, self._class_coverage]
        self.baseline = self._real_baseline(real)

    def __call__(self, images: torch.Tensor) -> dict:
        if len(images) < self.num_samples:
            raise ValueError(f"{len(images)} images given, the metrics need {self.num_samples}")
        generated = Generated(images[: self.num_samples], self.classifier, self.device)
        out = {}
        for metric in self.metrics:
            out.update(metric(generated))
        return out

    def _frechet(self, generated: Generated) -> dict:
        images = generated.images
        if isinstance(self.frechet.metric.inception, Classifier):
            return {self.fd_name: self.frechet(images)}
        return {self.fd_name: self.frechet(to_rgb(images))}

    def _class_coverage(self, generated: Generated) -> dict:
        return class_coverage(generated.probs, self.real_distribution, self.threshold)

    def _real_baseline(self, real: RealData) -> dict:
        """The metrics of N real training images: the floor a perfect generator would reach at this N."""
        if len(real.train_labels) < self.num_samples:
            return {}
        pick = torch.randperm(len(real.train_labels), generator=generator(0, 0, "baseline"))[: self.num_samples]
        return self(real.train_images[pick])
