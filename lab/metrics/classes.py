"""Class coverage: what the classifier says the generated images are.

Named "class coverage" on purpose: it is not Naeem et al.'s k-NN "coverage". Keys, over every sample drawn
(loop.num_samples), not only the N scored: class_histogram, classes_present, class_entropy, class_js_divergence,
unrecognised_share; classes/share_ratio_<c> (class c's share among recognised samples ÷ its share in the real pool);
for a conditional model label_agreement and classes/label_agreement_<c> (of the samples generated for class c, the
share the classifier reads as c).
"""

import math

import torch

from lab.metrics.base import Metric, Need


def class_coverage(probs: torch.Tensor, real_distribution: torch.Tensor, recognised_threshold: float, min_share: float) -> dict:
    """Metrics from class probabilities (N, K) of generated images.

    A sample is *recognised* when its top probability reaches `recognised_threshold`; the histogram,
    presence, entropy and divergence describe the recognised samples only, so that illegible images
    do not count as a class they barely resemble.

    - class_histogram: recognised samples per predicted class (list of K counts)
    - classes_present: share of the K classes holding at least `min_share` of the recognised samples (and one)
    - class_entropy: entropy of the recognised histogram / log K (1 = uniform, 0 = one class)
    - class_js_divergence: Jensen–Shannon divergence (bits, in [0, 1]) from the real class distribution
    - unrecognised_share: share of samples below the threshold
    """
    num_classes = probs.shape[1]
    confidence, predicted = probs.max(dim=1)
    recognised = confidence >= recognised_threshold
    counts = torch.bincount(predicted[recognised], minlength=num_classes)
    total = int(counts.sum())
    if total == 0:
        shares = torch.zeros(num_classes, dtype=torch.float64)
        entropy, js = 0.0, 1.0
    else:
        shares = counts.double() / total
        entropy = _entropy(shares) / math.log(num_classes)
        js = js_divergence(shares, real_distribution.double())
    return {
        "class_histogram": counts.tolist(),
        "classes_present": float(((counts > 0) & (counts >= min_share * total)).double().mean()),
        "class_entropy": float(entropy),
        "class_js_divergence": float(js),
        "unrecognised_share": float(1.0 - recognised.double().mean()),
    }


def _entropy(p: torch.Tensor) -> float:
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> float:
    """Jensen–Shannon divergence in bits: 0 for equal distributions, 1 for disjoint ones."""
    m = (p + q) / 2
    return (_kl(p, m) + _kl(q, m)) / (2 * math.log(2))


def _kl(p: torch.Tensor, q: torch.Tensor) -> float:
    mask = p > 0
    return float((p[mask] * (p[mask] / q[mask]).log()).sum())


class Classes(Metric):
    name = "classes"
    keys = (
        "class_histogram",
        "classes_present",
        "class_entropy",
        "class_js_divergence",
        "unrecognised_share",
        "classes/share_ratio_*",
        "label_agreement",
        "classes/label_agreement_*",
    )
    needs = frozenset({Need.classifier})

    def __call__(self, generated) -> dict:
        settings, real_distribution = self.evaluator.settings, self.evaluator.real_distribution
        out = class_coverage(generated.all_probs, real_distribution, float(settings.recognised_threshold), float(settings.class_min_share))
        histogram = torch.tensor(out["class_histogram"], dtype=torch.float64)
        shares = histogram / histogram.sum().clamp_min(1)
        out |= {f"classes/share_ratio_{c}": float(s / r) for c, (s, r) in enumerate(zip(shares, real_distribution))}
        labels = generated.all_labels
        if labels is not None and (labels >= 0).all():
            agree = generated.all_probs.argmax(1) == labels
            out["label_agreement"] = float(agree.double().mean())
            # Per class: does the model still render class c when asked for it? (A rare class can keep its labels
            # while its samples turn into other digits.) The floor is the classifier's accuracy on real images of c.
            out |= {f"classes/label_agreement_{c}": float(agree[labels == c].double().mean()) for c in labels.unique().tolist()}
        return out
