"""Metrics of a toy generator's points against the true distribution (data=gaussian, data=gmm25), all with the same N
per generation (metrics.num_samples): w2, moments, knn_coverage, tails and modes of metrics.run (each file's docstring
names its keys), and of the fitted model's own μ and Σ fit_w2_gaussian, fit_variance_ratio, fit_mean_sq_error (no
sampling noise: the quantities of the closed-form results, E[fit_variance_ratio] = ((n−1)/n)^t in the replace loop).
The density deciles of tails are ranked by the true density.
"""

import torch

from lab.errors import at_least, require
from lab.metrics.base import Evaluation, Need, On, needed, select
from lab.metrics.manifold import Manifold, compare
from lab.metrics.moments import moments
from lab.metrics.tails import DensityDeciles
from lab.pictures import point_cloud
from lab.seeding import generator


def check_point_metrics(metrics) -> None:
    """Range checks of metrics.* for a toy data set."""
    at_least("metrics.num_samples", metrics.num_samples, 2)
    require(0 < metrics.mode_min_share <= 1, f"metrics.mode_min_share={metrics.mode_min_share} is out of range: allowed 0 < value ≤ 1")


class PointEvaluator(Evaluation):
    fd_name = "w2"  # the headline distance, as fd_classifier is for images

    def __init__(self, real, settings, data_cfg):
        self.truth = real.distribution
        self.settings = settings
        self.num_samples = int(settings.num_samples)
        chosen = select(list(settings.run), On.points)
        pick = torch.randperm(len(real.heldout_labels), generator=generator(int(data_cfg.split_seed), 0, "reference"))
        self.k = int(settings.nearest_k)
        self.reference = Manifold.of(real.heldout_images[pick[: self.num_samples]].double(), self.k)
        self.density = self.truth.log_density
        if needed(chosen, Need.density):
            self.deciles = DensityDeciles.of(self.truth.log_density(self.reference.features))
        self.classifier_info = None
        self.metrics = [metric(self) for metric in chosen]
        floor = torch.randperm(len(real.train_labels), generator=generator(0, 0, "baseline"))[: self.num_samples]
        self.baseline = self._floor(real.train_images[floor], None, real.train_images)

    def of_fit(self, parameters: dict) -> dict:
        return moments(self.truth, parameters["mean"].double(), parameters["cov"].double(), prefix="fit_")

    def features_of(self, points: torch.Tensor) -> torch.Tensor:
        """Points are their own features (curate=diversity)."""
        return points.double()

    def compare(self, features: torch.Tensor):
        return compare(Manifold.of(features, self.k), self.reference)

    def picture(self, samples: torch.Tensor, labels: torch.Tensor, num_classes: int):
        """The scored points over the held-out true points."""
        return point_cloud(samples[: self.num_samples], self.reference.features)

    def headline(self, scalars: dict) -> str:
        parts = [f"w2 {scalars['metrics/w2']:.3f}"] if "metrics/w2" in scalars else []
        if "metrics/variance_ratio" in scalars:
            parts.append(f"variance ratio {scalars['metrics/variance_ratio']:.3f}")
        if "metrics/modes_covered" in scalars:
            parts.append(f"modes covered {scalars['metrics/modes_covered']}/{len(self.truth.modes)}")
        return ", ".join(parts)
