"""Fréchet distance against known answers, class coverage on hand-made predictions."""

import math

import pytest
import torch
from torch import nn

from lab.metrics.classes import class_coverage, js_divergence
from lab.metrics.frechet import FrechetDistance


class Flatten(nn.Module):
    """Feature 'extractor' that returns its input: the FD is then the FD of the inputs themselves."""

    num_features = 4

    def forward(self, x):
        return x.flatten(1).double()


def gaussian(n, mean, std, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, 1, 1, generator=g, dtype=torch.float64) * std + mean


def test_identical_sets_give_zero():
    x = gaussian(2000, 0.0, 1.0, seed=0)
    assert FrechetDistance(Flatten(), x, "cpu")(x) == pytest.approx(0.0, abs=1e-8)


def test_mean_shift_gives_the_closed_form():
    # Same covariance, means 0 and μ: FD = ‖μ‖² (4 dims × 1.5² = 9), up to sampling noise.
    reference = gaussian(20000, 0.0, 1.0, seed=0)
    shifted = gaussian(20000, 1.5, 1.0, seed=1)
    assert FrechetDistance(Flatten(), reference, "cpu")(shifted) == pytest.approx(9.0, rel=0.03)


def test_scale_change_gives_the_closed_form():
    # N(0, I) vs N(0, s²I) in d dims: FD = d (1 − s)² = 4 · 1 = 4 for s = 2.
    reference = gaussian(20000, 0.0, 1.0, seed=0)
    wider = gaussian(20000, 0.0, 2.0, seed=1)
    assert FrechetDistance(Flatten(), reference, "cpu")(wider) == pytest.approx(4.0, rel=0.03)


def test_reference_statistics_survive_between_generations():
    reference = gaussian(5000, 0.0, 1.0, seed=0)
    fd = FrechetDistance(Flatten(), reference, "cpu")
    first = fd(gaussian(5000, 1.0, 1.0, seed=1))
    fd(gaussian(5000, 3.0, 1.0, seed=2))
    assert fd(gaussian(5000, 1.0, 1.0, seed=1)) == pytest.approx(first, rel=1e-9)


def one_hot(labels, k=10, confidence=0.9):
    probs = torch.full((len(labels), k), (1 - confidence) / (k - 1))
    probs[torch.arange(len(labels)), torch.as_tensor(labels)] = confidence
    return probs


UNIFORM = torch.full((10,), 0.1, dtype=torch.float64)


def test_balanced_samples_cover_every_class():
    out = class_coverage(one_hot(list(range(10)) * 10), UNIFORM, 0.5, 0.0)
    assert out["class_histogram"] == [10] * 10
    assert out["classes_present"] == 1.0
    assert out["class_entropy"] == pytest.approx(1.0)
    assert out["class_js_divergence"] == pytest.approx(0.0, abs=1e-12)
    assert out["unrecognised_share"] == 0.0


def test_a_class_counts_present_only_above_the_minimum_share():
    # 99 recognised 3s and one misread sample called 7: one sample keeps 7 "present" only without a minimum share.
    probs = one_hot([3] * 99 + [7])
    assert class_coverage(probs, UNIFORM, 0.5, 0.0)["classes_present"] == pytest.approx(0.2)
    assert class_coverage(probs, UNIFORM, 0.5, 0.01)["classes_present"] == pytest.approx(0.2)  # 1 % is enough
    assert class_coverage(probs, UNIFORM, 0.5, 0.02)["classes_present"] == pytest.approx(0.1)


def test_collapsed_samples():
    out = class_coverage(one_hot([3] * 50), UNIFORM, 0.5, 0.0)
    assert out["class_histogram"] == [0, 0, 0, 50, 0, 0, 0, 0, 0, 0]
    assert out["classes_present"] == pytest.approx(0.1)
    assert out["class_entropy"] == pytest.approx(0.0)
    # JS(δ_3 ‖ uniform) in bits, by hand: ½[log2(2/1.1)] + ½[0.1·log2(2·0.1/0.55)·… ] — computed directly:
    m = 0.5 * (torch.eye(10)[3].double() + UNIFORM)
    expected = 0.5 * (math.log2(1 / m[3]) + sum(0.1 * math.log2(0.1 / m[i]) for i in range(10)))
    assert out["class_js_divergence"] == pytest.approx(expected)


def test_two_classes_half_half():
    out = class_coverage(one_hot([0, 1] * 20), UNIFORM, 0.5, 0.0)
    assert out["classes_present"] == pytest.approx(0.2)
    assert out["class_entropy"] == pytest.approx(math.log(2) / math.log(10))


def test_unrecognised_samples_are_left_out_of_the_histogram():
    probs = torch.cat([one_hot([1] * 6), one_hot([2] * 4, confidence=0.3)])
    out = class_coverage(probs, UNIFORM, 0.5, 0.0)
    assert out["unrecognised_share"] == pytest.approx(0.4)
    assert out["class_histogram"][1] == 6 and sum(out["class_histogram"]) == 6


def test_nothing_recognised():
    out = class_coverage(one_hot([1] * 5, confidence=0.2), UNIFORM, 0.5, 0.0)
    assert (out["classes_present"], out["class_entropy"], out["class_js_divergence"], out["unrecognised_share"]) == (0.0, 0.0, 1.0, 1.0)


def test_js_divergence_bounds():
    p, q = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert js_divergence(p, q) == pytest.approx(1.0)
    assert js_divergence(p, p) == pytest.approx(0.0)


def test_the_classifier_is_the_same_on_every_machine(make_cfg, tmp_path):
    """Trained twice from different global random states into two caches: identical weights."""
    from lab.data import load_real_data
    from lab.metrics.classifier import load_or_train

    cfg = make_cfg("data=digits", "metrics.classifier.epochs=1")
    real = load_real_data(cfg.data)
    models = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model, info = load_or_train(real, cfg.data, cfg.metrics.classifier, tmp_path / f"cache{seed}", "cpu", progress=False)
        assert not info["cached"]
        models.append(model.state_dict())
    assert all(torch.equal(models[0][k], models[1][k]) for k in models[0])
    # … and training it leaves the caller's random stream where it was.
    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    load_or_train(real, cfg.data, cfg.metrics.classifier, tmp_path / "cache3", "cpu", progress=False)
    assert torch.equal(torch.rand(1), expected)


def test_every_metric_has_a_real_floor(digits_evaluator):
    """reference.json's real_baseline holds a value for every key a generation logs (issue: floors)."""
    evaluator, real = digits_evaluator
    n = evaluator.num_samples
    from lab.loops import Null

    row = evaluator(real.train_images[:n], real.train_labels[:n], real.train_images[:600], Null(None, 1.0))
    assert set(row) == set(evaluator.baseline)
    for key in (
        "precision",
        "recall",
        "density",
        "knn_coverage",
        "kid",
        "kid_std",
        "vendi",
        "label_agreement",
        "pixel_w1",
        "dark_level",
        "copy_share",
        "copy_share_heldout",
        "train_distance_ratio",
        "classes/recall_9",
        "classes/share_ratio_0",
    ):
        assert key in row
    # Real images against real images: high fidelity and diversity; held-out images are not copies.
    floor = evaluator.baseline
    assert floor["precision"] > 0.6 and floor["recall"] > 0.6
    assert abs(floor["kid"]) < 3 * floor["kid_std"] + 1e-6
    assert floor["copy_share"] == floor["copy_share_heldout"] < 0.8


def test_a_brighter_background_shows_in_the_pixel_metrics(digits_evaluator):
    """Real digits with their dark pixels lifted by 8 levels: a haze these two keys name (FD moves only 0.4 → 1.0)."""
    evaluator, real = digits_evaluator
    images = real.train_images[: evaluator.num_samples]
    hazy = torch.where(images < 64, images + 8, images)
    floor, row = evaluator.baseline, evaluator(hazy)
    assert floor["pixel_w1"] < 1.0
    assert row["dark_level"] > floor["dark_level"] + 7
    assert row["pixel_w1"] > 4.0


def test_memorised_samples_are_copies(digits_evaluator):
    """Samples that are the generation's own training images: every one a copy, distance ratio 0."""
    evaluator, real = digits_evaluator
    n = evaluator.num_samples
    train = real.train_images[:n]
    row = evaluator(train, None, train)
    assert row["copy_share"] == 1.0 and row["train_distance_ratio"] == 0.0
    assert row["copy_share_heldout"] < 0.8
    assert "label_agreement" not in row  # unconditional samples carry no label to agree with


def test_the_memorisation_null_is_fresh_draws_of_the_training_sets_source(digits_evaluator):
    """A synthetic source that differs from the real data (here: digits with their strokes dimmed to 60%). Samples
    drawn from it, not copied, sit as close to the training set as the held-back draws of the same source do — while
    held-out *real* images, the old null, sit farther away: against them, drift alone looked like copying."""
    from lab.loops import Null

    evaluator, real = digits_evaluator
    n = evaluator.num_samples
    source = (real.train_images.float() * 0.6).to(torch.uint8)  # the "previous generation's" image distribution
    train, samples, held = source[:290], source[290 : 290 + n], source[290 + n : 290 + 2 * n]
    assert len(held) == n
    fresh = evaluator(samples, None, train, Null(held, 0.0))
    assert abs(fresh["copy_share"] - fresh["copy_share_null"]) < 0.1
    assert abs(fresh["train_distance_ratio_null"] - 1.0) < 0.15
    assert fresh["copy_share"] - fresh["copy_share_heldout"] > 0.2  # the held-out real null calls this copying
    # Copies of the training set stand out against the right null too.
    copies = evaluator(train.repeat(2, 1, 1, 1)[:n], None, train, Null(held, 0.0))
    assert copies["copy_share"] == 1.0 and copies["copy_share_null"] < 0.8
    # Half real, half synthetic: the null takes held-out real images for the real half; without held-back draws
    # there is no null for the synthetic half, and no key.
    assert "copy_share_null" in evaluator(samples, None, train, Null(held, 0.5))
    assert "copy_share_null" not in evaluator(samples, None, train, Null(None, 0.5))


def test_label_agreement(digits_evaluator):
    evaluator, real = digits_evaluator
    images = real.train_images[: evaluator.num_samples]
    predicted = predict_labels(evaluator, images)
    assert evaluator(images, predicted)["label_agreement"] == 1.0
    assert evaluator(images, (predicted + 1) % 10)["label_agreement"] == 0.0
    # Per class: relabel half of class 3's samples as class 4; class 3 keeps full agreement, class 4 gets the
    # share of its samples that really are 4s.
    mixed = predicted.clone()
    threes = (predicted == 3).nonzero().flatten()
    mixed[threes[: len(threes) // 2]] = 4
    scores = evaluator(images, mixed)
    fours = int((predicted == 4).sum())
    assert scores["classes/label_agreement_3"] == 1.0
    assert scores["classes/label_agreement_4"] == pytest.approx(fours / (fours + len(threes) // 2))


def test_class_share_ratio_of_a_one_class_generator(digits_evaluator):
    from lab.metrics.classifier import predict

    evaluator, real = digits_evaluator
    images = real.train_images[: evaluator.num_samples]
    confidence, predicted = predict(evaluator.classifier, images, "cpu").max(1)
    recognised = confidence >= evaluator.settings.recognised_threshold
    c = int(predicted[recognised].mode().values)  # the class the classifier recognises most often
    picked = images[recognised & (predicted == c)]
    row = evaluator(picked.repeat(-(-len(images) // len(picked)), 1, 1, 1))
    shares = [row[f"classes/share_ratio_{k}"] for k in range(10)]
    assert shares[c] == pytest.approx(1 / float(real.class_distribution[c]))
    assert all(s == 0 for k, s in enumerate(shares) if k != c)


def predict_labels(evaluator, images):
    from lab.metrics.classifier import predict

    return predict(evaluator.classifier, images, "cpu").argmax(1)
