"""What a metric added as one file subclasses. Example (lab/metrics/plugins/mean_brightness.py):

    from lab.metrics.plugins.base import Metric

    class MeanBrightness(Metric):
        name = "mean_brightness"

        def __call__(self, generated) -> dict[str, float]:
            return {"mean_brightness": float(generated.images.float().mean() / 255)}

`generated` is the generation's lab.metrics.Generated: its N images and labels, every sample drawn, the training
images, and (computed once, shared by every metric) `features` in the run's feature space and the classifier's
`probs`. `self.evaluator` is the run's Evaluator, built once per run: the reference's features
(`evaluator.reference.features`), its labels, `embed`, `k`, the classifier. Keys are logged as metrics/<key>; a
key with a slash (e.g. classes/<x>) is logged as it is. The real-data floor in reference.json gets the same keys.
"""

from typing import ClassVar

from lab.registry import Option


class Metric(Option):
    group = "metric"
    name: ClassVar[str]

    def __init__(self, evaluator):
        self.evaluator = evaluator  # built before the metric: reference statistics, classifier, embed

    def __call__(self, generated) -> dict[str, float]:
        raise NotImplementedError
