"""What the chain asks of a run's metrics: one interface for images (lab.metrics.Evaluator) and for a toy's points
(lab.metrics.points.PointEvaluator), so that lab.experiment never asks which of the two it holds."""

from abc import ABC, abstractmethod

import numpy as np
import torch

from lab.loops.base import Null


class Evaluation(ABC):
    num_samples: int  # N: every generation is scored on its first N samples, against N held-out real items
    baseline: dict  # every metric of N real training items against the same reference: the real floor
    classifier_info: dict | None  # the feature classifier (cache path, held-out accuracy); None where there is none
    fd_name: str  # the headline distance's key: fd_classifier, fd_inception, w2

    @abstractmethod
    def __call__(self, samples: torch.Tensor, labels: torch.Tensor | None = None, train: torch.Tensor | None = None, null: Null | None = None) -> dict:
        """Every metric of one generation's samples (the first N scored; class shares over all of them)."""

    def of_fit(self, parameters: dict) -> dict:
        """Metrics of a fitted model's own parameters (a toy's μ and Σ: the closed forms); none by default."""
        return {}

    @abstractmethod
    def features_of(self, samples: torch.Tensor) -> torch.Tensor:
        """Samples in the space the metrics compare them in (curate=diversity spreads samples there)."""

    @abstractmethod
    def headline(self, scalars: dict) -> str:
        """The log line of a generation."""

    @abstractmethod
    def picture(self, samples: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
        """uint8 HWC picture of a generation's samples: metrics.jsonl's grid and W&B's `samples`."""
