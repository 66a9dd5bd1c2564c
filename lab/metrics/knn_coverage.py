"""Naeem et al.'s k-NN coverage of a toy's held-out points (metrics.nearest_k). Key: knn_coverage (on images the
manifold metric logs it, beside precision and recall)."""

from lab.metrics.base import Metric, On


class KnnCoverage(Metric):
    name = "knn_coverage"
    keys = ("knn_coverage",)
    on = frozenset({On.points})

    def __call__(self, generated) -> dict:
        return {"knn_coverage": float(generated.comparison.real_covered.double().mean())}
