"""Metrics of a toy generator's points against the true distribution (data=gaussian, data=gmm25).

Keys (metrics.jsonl, W&B `metrics/…`), all with the same N per generation (metrics.num_samples):
    w2                  exact Wasserstein-2 distance between the N samples and N held-out true points
                        (an optimal one-to-one matching: both sets weigh 1/N per point)
    w2_gaussian         Wasserstein-2 between Gaussians with the samples' and the truth's mean and covariance
    variance_ratio      tr(sample covariance) ÷ tr(true covariance): < 1 is a shrinking spread
    mean_sq_error       ‖sample mean − true mean‖²
    fit_variance_ratio, fit_mean_sq_error
                        the same of the fitted model's own μ and Σ (no sampling noise): the quantities
                        of the closed-form results, E[fit_variance_ratio] = ((n−1)/n)^t in the replace loop
    modes_covered       data=gmm25: modes holding ≥ metrics.mode_min_share of the samples within 3 std
    knn_coverage        Naeem et al.'s k-NN coverage of the held-out points (metrics.nearest_k)
    knn_coverage_tail, knn_coverage_core, landing_tail, landing_off_support, tails/…
                        coverage by density (tails.py), the deciles ranked by the true density
    high_quality_share  data=gmm25: share of samples within 3 std of some mode
"""

import torch
from scipy.optimize import linear_sum_assignment

from lab.errors import at_least, require
from lab.generators.gaussian import sqrt_psd
from lab.metrics.base import Evaluation
from lab.metrics.manifold import Manifold, compare
from lab.metrics.tails import DensityDeciles, tail_metrics
from lab.pictures import point_cloud
from lab.seeding import generator


def check_point_metrics(metrics) -> None:
    """Range checks of metrics.* for a toy data set."""
    at_least("metrics.num_samples", metrics.num_samples, 2)
    require(0 < metrics.mode_min_share <= 1, f"metrics.mode_min_share={metrics.mode_min_share} is out of range: allowed 0 < value ≤ 1")


class PointEvaluator(Evaluation):
    fd_name = "w2"  # the headline distance, as fd_classifier is for images

    def __init__(self, real, metrics_cfg, data_cfg):
        self.truth = real.distribution
        self.num_samples = int(metrics_cfg.num_samples)
        self.min_share = float(metrics_cfg.mode_min_share)
        pick = torch.randperm(len(real.heldout_labels), generator=generator(int(data_cfg.split_seed), 0, "reference"))
        self.reference_points = real.heldout_images[pick[: self.num_samples]].double()
        self.k = int(metrics_cfg.nearest_k)
        self.reference_manifold = Manifold.of(self.reference_points, self.k)
        self.deciles = DensityDeciles.of(self.truth.log_density(self.reference_points))
        self.classifier_info = None
        floor = torch.randperm(len(real.train_labels), generator=generator(0, 0, "baseline"))[: self.num_samples]
        self.baseline = self(real.train_images[floor])

    def __call__(self, samples: torch.Tensor, labels=None, train=None, null=None) -> dict:
        """Distances to the truth and coverage of the first N points (a toy has no labels and no memorisation test:
        `labels`, `train` and `null` are the interface's, unused)."""
        if len(samples) < self.num_samples:
            raise ValueError(f"{len(samples)} points given, the metrics need {self.num_samples}")
        x = samples[: self.num_samples].double()
        mean, cov = x.mean(0), torch.cov(x.T, correction=0).reshape(x.shape[1], x.shape[1])
        out = {"w2": empirical_w2(x, self.reference_points)} | self._moments("", mean, cov) | self._coverage(x)
        if self.truth.modes is not None:
            out |= self._modes(x)
        else:
            out["class_histogram"] = [len(x)]
        return out

    def of_fit(self, parameters: dict) -> dict:
        return self._moments("fit_", parameters["mean"].double(), parameters["cov"].double())

    def features_of(self, points: torch.Tensor) -> torch.Tensor:
        """Points are their own features (curate=diversity)."""
        return points.double()

    def picture(self, samples: torch.Tensor, labels: torch.Tensor, num_classes: int):
        """The scored points over the held-out true points."""
        return point_cloud(samples[: self.num_samples], self.reference_points)

    def headline(self, scalars: dict) -> str:
        line = f"w2 {scalars['metrics/w2']:.3f}, variance ratio {scalars['metrics/variance_ratio']:.3f}"
        if "metrics/modes_covered" in scalars:
            line += f", modes covered {scalars['metrics/modes_covered']}/{len(self.truth.modes)}"
        return line

    def _moments(self, prefix: str, mean: torch.Tensor, cov: torch.Tensor) -> dict:
        return {
            f"{prefix}w2_gaussian": gaussian_w2(mean, cov, self.truth.mean, self.truth.cov),
            f"{prefix}variance_ratio": float(torch.trace(cov) / torch.trace(self.truth.cov)),
            f"{prefix}mean_sq_error": float(((mean - self.truth.mean) ** 2).sum()),
        }

    def _coverage(self, x: torch.Tensor) -> dict:
        covered = compare(Manifold.of(x, self.k), self.reference_manifold).real_covered
        return {"knn_coverage": float(covered.double().mean())} | tail_metrics(self.deciles, covered, self.truth.log_density(x))

    def _modes(self, x: torch.Tensor) -> dict:
        distance, nearest = torch.cdist(x, self.truth.modes).min(1)
        close = distance < 3 * self.truth.mode_std
        counts = torch.bincount(nearest[close], minlength=len(self.truth.modes))
        return {
            "modes_covered": int((counts >= self.min_share * len(x)).sum()),
            "high_quality_share": float(close.double().mean()),
            "class_histogram": counts.tolist(),
        }


def empirical_w2(a: torch.Tensor, b: torch.Tensor) -> float:
    """W2 between two equal-size point sets with equal weights: an optimal assignment is an optimal plan."""
    cost = torch.cdist(a.double(), b.double()) ** 2
    rows, cols = linear_sum_assignment(cost.numpy())
    return float(cost[rows, cols].mean().sqrt())


def gaussian_w2(mean_a, cov_a, mean_b, cov_b) -> float:
    """W2(N(a), N(b))² = ‖μa − μb‖² + tr(Σa + Σb − 2 (Σb^½ Σa Σb^½)^½) (the Fréchet distance is its square)."""
    root_b = sqrt_psd(cov_b)
    cross = sqrt_psd(root_b @ cov_a @ root_b)
    squared = ((mean_a - mean_b) ** 2).sum() + torch.trace(cov_a + cov_b - 2 * cross)
    return float(squared.clamp_min(0).sqrt())
