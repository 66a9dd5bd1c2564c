"""A mixture's modes (data=gmm25). Keys: modes_covered (modes holding ≥ metrics.mode_min_share of the samples within
3 std), high_quality_share (share of samples within 3 std of some mode), class_histogram (samples per mode; one
class holding every sample for a data set without modes)."""

import torch

from lab.metrics.base import Metric, On


class Modes(Metric):
    name = "modes"
    keys = ("modes_covered", "high_quality_share", "class_histogram")
    on = frozenset({On.points})

    def __call__(self, generated) -> dict:
        x, truth = generated.features, self.evaluator.truth
        if truth.modes is None:
            return {"class_histogram": [len(x)]}
        distance, nearest = torch.cdist(x, truth.modes).min(1)
        close = distance < 3 * truth.mode_std
        counts = torch.bincount(nearest[close], minlength=len(truth.modes))
        return {
            "modes_covered": int((counts >= float(self.evaluator.settings.mode_min_share) * len(x)).sum()),
            "high_quality_share": float(close.double().mean()),
            "class_histogram": counts.tolist(),
        }
