"""Spread lost: tr(covariance) of the samples' features ÷ that of the reference's. Key: feature_variance_ratio."""

import torch

from lab.metrics.base import Metric


def trace_of_covariance(features: torch.Tensor) -> float:
    return float(torch.trace(torch.cov(features.T)))


class FeatureVariance(Metric):
    name = "feature_variance"
    keys = ("feature_variance_ratio",)

    def __init__(self, evaluator):
        super().__init__(evaluator)
        self.reference_trace = trace_of_covariance(evaluator.reference.features)

    def __call__(self, generated) -> dict:
        return {"feature_variance_ratio": trace_of_covariance(generated.features) / self.reference_trace}
